//! Command-line subcommands.

pub mod audit;
pub mod connect;
pub mod sandbox;
pub mod users;

//! Command-line subcommands.

pub mod connect;
pub mod sandbox;
pub mod users;

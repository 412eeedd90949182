//! Command-line subcommands.

pub mod admin;
pub mod connect;
pub mod sandbox;
pub mod users;

//! Command-line subcommands.

pub mod connect;
pub mod users;

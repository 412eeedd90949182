//! Command-line subcommands.

pub mod connect;
pub mod offboard;
pub mod sandbox;
pub mod users;

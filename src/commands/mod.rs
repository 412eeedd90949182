//! Command-line subcommands.

pub mod admin;
pub mod audit;
pub mod connect;
pub mod import;
pub mod offboard;
pub mod offboarding;
pub mod sandbox;
pub mod undo;
pub mod users;

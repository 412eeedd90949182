//! The console: an IO-free `App` (`tui`) and the worker that does its
//! requests through the operations layer. It drives `rollcall_client`; it
//! cannot reach the scripted commands.

pub mod tui;
pub mod worker;

// The crates below, under the names the modules here use for them.
use rollcall_client::{api, bulk, config, journal, ops};
use rollcall_domain as domain;

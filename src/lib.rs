//! rollcall: a keyboard-driven terminal console and scriptable CLI for
//! ThreatConnect user administration.
//!
//! The workspace's layers, each a crate so the compiler keeps them apart:
//! `rollcall-domain` (rules, no IO) ← `rollcall-client` (the API client and
//! the operations layer) ← `rollcall-console` (the console) and
//! `rollcall-sandbox` (the embedded server); this crate holds the scripted
//! commands and the binary, and re-exports the rest under their old names.

pub use rollcall_client::{api, bulk, config, journal, ops};
pub use rollcall_console::{limit_malloc_arenas, tui, worker};
pub use rollcall_domain as domain;
pub use rollcall_sandbox as sandbox;

pub mod commands;
pub mod report;

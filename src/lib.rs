//! rollcall: a keyboard-driven terminal console for ThreatConnect user
//! administration.

pub mod api;
pub mod bulk;
pub mod commands;
pub mod config;
pub mod domain;
pub mod journal;
pub mod ops;
pub mod report;
pub mod sandbox;
pub mod tui;
pub mod worker;

//! rollcall's client of a ThreatConnect instance (`api`: auth, paging, wire
//! types, the read-only guard), its configuration, and the operations layer
//! every face drives (`ops`, with the bulk engine and the journal). No
//! terminal here.

pub mod api;
pub mod bulk;
pub mod config;
pub mod journal;
pub mod ops;

// The rules crate, under the name the modules here use for it.
use rollcall_domain as domain;

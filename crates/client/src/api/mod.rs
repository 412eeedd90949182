//! The ThreatConnect v3 REST client: auth, paging, wire types.

pub mod auth;
pub mod client;
pub mod error;
pub mod membership;
pub mod net;
pub mod wire;

pub use auth::{Credentials, Secret};
pub use client::{Capabilities, Client, Connection, Mapped, Page, RecordedRequest, UserQuery};
pub use error::ApiError;
pub use membership::Membership;
pub use net::{CaFile, ClientOptions, Limits, ProxySetting};

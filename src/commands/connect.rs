//! The connection options every command shares; the session itself lives
//! in the operations layer (`ops::session`).

use crate::config::{self, Selection};
use crate::ops::ahead::ListingAhead;
use crate::ops::session::{self, Session};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConnectArgs {
    /// Profile from the config file (overrides TC_* environment variables).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Config file to read instead of the default location.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Send no write request at all (GET and OPTIONS only).
    #[arg(long)]
    pub read_only: bool,
}

/// Resolves the profile and opens a session.
pub async fn connect(args: &ConnectArgs) -> anyhow::Result<Session> {
    connect_with(args, false).await
}

/// As [`connect`]; with `record`, every request the session sends is
/// recorded from the first (an evidence bundle lists them).
pub async fn connect_with(args: &ConnectArgs, record: bool) -> anyhow::Result<Session> {
    connect_ahead(args, record, None).await
}

/// As [`connect_with`], for a command that lists `ahead` right after
/// connecting (its pages go out with the opening's requests).
pub async fn connect_ahead(
    args: &ConnectArgs,
    record: bool,
    ahead: Option<&ListingAhead>,
) -> anyhow::Result<Session> {
    let profile = config::resolve(&Selection {
        profile: args.profile.clone(),
        config: args.config.clone(),
        read_only: args.read_only,
    })?;
    session::open_ahead(profile, record, ahead).await
}

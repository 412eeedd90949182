//! Command-line subcommands.

pub mod admin;
pub mod audit;
pub mod connect;
pub mod import;
pub mod offboard;
pub mod offboarding;
pub mod review;
pub mod sandbox;
pub mod undo;
pub mod users;
pub mod verify;

/// Ends rollcall with this exit status and nothing more said (what there
/// was to say is already written): `audit --check` (0, 1, 2), `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("exit status {0}")]
pub struct ExitStatus(pub u8);

/// The `[policy]` of the config file the connection options name (or the
/// default one); `None` when there is no file or no table.
pub fn policy_of(
    connect: &connect::ConnectArgs,
) -> anyhow::Result<Option<crate::domain::audit_policy::AuditPolicy>> {
    match connect
        .config
        .clone()
        .or_else(crate::config::default_config_path)
    {
        Some(path) => crate::config::load_policy(&path),
        None => Ok(None),
    }
}

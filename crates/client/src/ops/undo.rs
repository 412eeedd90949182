//! Undo: putting back what a run changed. The plan reads the journal and
//! the accounts' state on the server now; running it is an ordinary run
//! (`ops::run`) of the inverse action, journaled with `undo_of`.

use crate::api::{Client, UserQuery};
use crate::bulk;
use crate::domain::preflight::BulkAction;
use crate::domain::text::sanitize;
use crate::domain::User;
use crate::journal::{self, RowState, RunSummary};
use anyhow::{anyhow, bail, Context};
use std::collections::HashMap;
use std::path::Path;

/// Where an undo looks: the instance, the fields worth asking for, and how
/// many read-backs at once.
pub struct Source<'a> {
    pub client: &'a Client,
    /// The base URL the session is connected to: a run made elsewhere is
    /// not undone here.
    pub instance: &'a str,
    pub fields: Vec<String>,
    pub concurrency: usize,
}

/// Finds a run by exact id or unique prefix.
pub fn find_run<'a>(runs: &'a [RunSummary], wanted: &str) -> anyhow::Result<&'a RunSummary> {
    let wanted = wanted.trim();
    if let Some(run) = runs.iter().find(|r| r.run_id == wanted) {
        return Ok(run);
    }
    let matching: Vec<&RunSummary> = runs
        .iter()
        .filter(|r| !wanted.is_empty() && r.run_id.starts_with(wanted))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => bail!("no run {} in the journal", sanitize(wanted)),
        many => bail!(
            "{} runs start with {}; give more of the id",
            many.len(),
            sanitize(wanted)
        ),
    }
}

/// What undoing a run would do.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoPlan {
    /// The run being undone.
    pub original: RunSummary,
    /// The inverse of the run's action.
    pub action: BulkAction,
    /// The accounts to put back, as the server has them now (to be
    /// assessed for `action` by the caller's preflight).
    pub users: Vec<User>,
    /// Accounts of the run the server no longer shows (deleted, or out of
    /// the caller's sight): (id, name).
    pub missing: Vec<(i64, String)>,
    /// Of the accounts considered, those whose outcome the journal does not
    /// know (the process died with the request in flight).
    pub unfinished: usize,
    /// Accounts whose outcome was unknown or unfinished, read back one by
    /// one before deciding.
    pub read_back: usize,
    /// Of those, the ones the server shows with the run's change: applied,
    /// so they are put back like the rows journaled ok.
    pub applied: usize,
    /// Of those, the ones the server shows without the run's change: it was
    /// not applied, so there is nothing to put back. (id, name)
    pub not_applied: Vec<(i64, String)>,
    /// Of those, the ones that could not be read back: left alone. (id,
    /// name, why)
    pub unreadable: Vec<(i64, String, String)>,
}

/// Why a run's action has no inverse.
fn cannot_undo(action: BulkAction) -> &'static str {
    match action {
        BulkAction::Delete => "a deleted account is gone",
        BulkAction::Unlock => "only the instance locks accounts",
        _ => "a reset flag clears itself when the user complies",
    }
}

/// The newest run made on `instance` that can be undone.
pub fn latest_undoable<'a>(runs: &'a [RunSummary], instance: &str) -> Option<&'a RunSummary> {
    runs.iter()
        .filter(|r| r.instance == instance)
        .filter(|r| BulkAction::from_name(&r.action).is_some_and(|a| a.inverse().is_some()))
        .max_by_key(|r| r.started)
}

/// Plans putting back the state before `run_id` (the newest undoable run
/// on this instance when `None`): the inverse action for every account the
/// run changed (and those whose outcome is unknown and that the server
/// shows changed).
pub async fn plan(
    source: &Source<'_>,
    journal_path: &Path,
    run_id: Option<&str>,
) -> anyhow::Result<UndoPlan> {
    let path = journal_path.to_path_buf();
    let contents = tokio::task::spawn_blocking(move || journal::read(&path))
        .await
        .map_err(|e| anyhow!("reading the journal: {e}"))?
        .with_context(|| format!("cannot read the journal {}", journal_path.display()))?;
    let runs = journal::runs_of(&contents);
    let original = match run_id {
        Some(run_id) => find_run(&runs, run_id)?.clone(),
        None => latest_undoable(&runs, source.instance)
            .ok_or_else(|| anyhow!("no run on this instance in the journal can be undone"))?
            .clone(),
    };
    let action = BulkAction::from_name(&original.action).ok_or_else(|| {
        anyhow!(
            "run {} has an unknown action '{}'",
            sanitize(&original.run_id),
            sanitize(&original.action)
        )
    })?;
    let Some(inverse) = action.inverse() else {
        bail!(
            "run {} was a {} run, which cannot be undone: {}",
            sanitize(&original.run_id),
            action.name(),
            cannot_undo(action)
        );
    };
    if original.instance != source.instance {
        bail!(
            "run {} was made on {}, but this session is connected to {}",
            sanitize(&original.run_id),
            sanitize(&original.instance),
            sanitize(source.instance)
        );
    }
    let rows: Vec<journal::RunRow> = journal::run_rows(&contents.entries, &original.run_id)
        .into_iter()
        .filter(|r| r.state == RowState::Ok || r.state.needs_read_back())
        .collect();
    let unfinished = rows
        .iter()
        .filter(|r| r.state == RowState::Unfinished)
        .count();
    let client = source.client;
    let current: HashMap<i64, User> = if rows.iter().any(|r| r.state == RowState::Ok) {
        let query = UserQuery {
            fields: source.fields.clone(),
            ..Default::default()
        };
        client
            .list_users(&query)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect()
    } else {
        HashMap::new()
    };
    // Rows whose outcome the journal does not know: the server's state
    // now, compared with the run's change, says whether it was applied.
    let unsure: Vec<i64> = rows
        .iter()
        .filter(|r| r.state.needs_read_back())
        .map(|r| r.account_id)
        .collect();
    let read = bulk::read_back(client, action, &unsure, &source.fields, source.concurrency).await;
    let applied: HashMap<i64, User> = read
        .applied
        .into_iter()
        .filter_map(|(id, user)| user.map(|u| (id, u)))
        .collect();
    let not_applied: HashMap<i64, ()> = read.not_applied.iter().map(|u| (u.id, ())).collect();
    let gone: Vec<i64> = read.gone;
    let unreadable: HashMap<i64, String> = read.unreadable.into_iter().collect();
    let mut plan = UndoPlan {
        original,
        action: inverse,
        users: Vec::new(),
        missing: Vec::new(),
        unfinished,
        read_back: unsure.len(),
        applied: applied.len(),
        not_applied: Vec::new(),
        unreadable: Vec::new(),
    };
    for row in &rows {
        let id = row.account_id;
        let name = row.account_name.clone();
        if row.state == RowState::Ok {
            match current.get(&id) {
                Some(user) => plan.users.push(user.clone()),
                None => plan.missing.push((id, name)),
            }
        } else if let Some(user) = applied.get(&id) {
            plan.users.push(user.clone());
        } else if not_applied.contains_key(&id) {
            plan.not_applied.push((id, name));
        } else if gone.contains(&id) {
            plan.missing.push((id, name));
        } else if let Some(why) = unreadable.get(&id) {
            plan.unreadable.push((id, name, why.clone()));
        }
    }
    Ok(plan)
}

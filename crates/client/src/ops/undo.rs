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

/// A run is undone only through the instance it was made on.
fn made_here(original: &RunSummary, source: &Source<'_>) -> anyhow::Result<()> {
    if original.instance != source.instance {
        bail!(
            "run {} was made on {}, but this session is connected to {}",
            sanitize(&original.run_id),
            sanitize(&original.instance),
            sanitize(source.instance)
        );
    }
    Ok(())
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
    if original.action == crate::ops::import::IMPORT_ACTION {
        // Deleting what an import created asks for its own typed count.
        bail!(
            "run {} was an import: undo it with `rollcall undo {}`",
            sanitize(&original.run_id),
            sanitize(&original.run_id)
        );
    }
    if original.action == crate::ops::offboard::OFFBOARD_ACTION {
        bail!(
            "run {} was an offboarding run: undo it with `rollcall undo {}`",
            sanitize(&original.run_id),
            sanitize(&original.run_id)
        );
    }
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
    made_here(&original, source)?;
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

/// Reads the journal at `journal_path` and finds `run_id` in it (an exact
/// id or a unique prefix).
pub async fn read_run(
    journal_path: &Path,
    run_id: &str,
) -> anyhow::Result<(journal::Contents, RunSummary)> {
    let path = journal_path.to_path_buf();
    let contents = tokio::task::spawn_blocking(move || journal::read(&path))
        .await
        .map_err(|e| anyhow!("reading the journal: {e}"))?
        .with_context(|| format!("cannot read the journal {}", journal_path.display()))?;
    let original = find_run(&journal::runs_of(&contents), run_id)?.clone();
    Ok((contents, original))
}

/// What undoing an import would do: delete what it created, put back the
/// fields it changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportUndoPlan {
    pub original: Option<RunSummary>,
    /// Accounts the run created, as the server has them now.
    pub deletes: Vec<User>,
    /// Accounts the run changed: the account now, and the update that puts
    /// its fields back (the journal's `before`), and what the run set.
    pub restores: Vec<Restore>,
    /// Accounts of the run the server no longer shows: (id, name).
    pub missing: Vec<(i64, String)>,
    /// Rows whose outcome the journal does not know, and whose change the
    /// server does not show: nothing to put back. (id or stand-in, name)
    pub not_applied: Vec<(i64, String)>,
    /// Could not be read back: left alone. (id, name, why)
    pub unreadable: Vec<(i64, String, String)>,
    /// Updates whose old values the account never showed: nothing to put
    /// back them with. (id, name)
    pub unknown_before: Vec<(i64, String)>,
    /// Refused by the policy for this actor: (id, name, why).
    pub not_allowed: Vec<(i64, String, String)>,
}

/// One update of an import to put back.
#[derive(Debug, Clone, PartialEq)]
pub struct Restore {
    pub user: User,
    /// The fields' values before the import: the body that restores them.
    pub body: serde_json::Value,
    /// What the import set: the account's state now, journaled as `before`.
    pub set: serde_json::Value,
}

/// One row of an import as its journal lines tell it.
struct ImportRowLines {
    action: String,
    account_id: i64,
    account_name: String,
    change: serde_json::Value,
    before: serde_json::Value,
    created_id: Option<i64>,
    state: RowState,
}

fn import_rows(contents: &journal::Contents, run_id: &str) -> Vec<ImportRowLines> {
    let mut latest: HashMap<i64, (&journal::Entry, Option<i64>)> = HashMap::new();
    for e in contents.entries.iter().filter(|e| e.run_id == run_id) {
        let slot = latest.entry(e.account_id).or_insert((e, None));
        if e.phase == journal::Phase::Intent {
            slot.0 = e;
        }
        if e.created_id.is_some() {
            slot.1 = e.created_id;
        }
    }
    journal::run_rows(&contents.entries, run_id)
        .into_iter()
        .filter_map(|row| {
            let (intent, created_id) = latest.get(&row.account_id)?;
            Some(ImportRowLines {
                action: intent.action.clone(),
                account_id: row.account_id,
                account_name: row.account_name,
                change: intent.change.clone(),
                before: intent.before.clone(),
                created_id: *created_id,
                state: row.state,
            })
        })
        .collect()
}

/// Plans undoing the import run `original`: every account it created (or
/// may have: looked up by its name, which was free before the run) is
/// deleted; every account it changed (or may have: read back) gets its
/// old values back. Checked with the policy as `actor`.
pub async fn plan_import(
    source: &Source<'_>,
    actor: &crate::domain::Actor,
    settings: &crate::domain::InstanceSettings,
    contents: &journal::Contents,
    original: RunSummary,
) -> anyhow::Result<ImportUndoPlan> {
    use crate::domain::policy::{may, may_update, Action};
    use crate::domain::preflight::target_of;
    use crate::ops::import::{CREATE_ACTION, IMPORT_ACTION};
    use futures::StreamExt;
    if original.action != IMPORT_ACTION {
        bail!(
            "run {} was a {} run, not an import",
            sanitize(&original.run_id),
            sanitize(&original.action)
        );
    }
    made_here(&original, source)?;
    let rows: Vec<ImportRowLines> = import_rows(contents, &original.run_id)
        .into_iter()
        .filter(|r| r.state == RowState::Ok || r.state.needs_read_back())
        .collect();
    let client = source.client;
    // Each row's account as the server has it now: by id, or for a create
    // whose id is not known, by its name.
    let now: Vec<(usize, Result<Option<User>, crate::api::ApiError>)> =
        futures::stream::iter(rows.iter().enumerate())
            .map(|(index, row)| async move {
                let id = match (row.action == CREATE_ACTION, row.created_id) {
                    (false, _) => Some(row.account_id),
                    (true, id) => id,
                };
                let found = match id {
                    Some(id) => match client.get_user(id, &source.fields).await {
                        Ok(user) => Ok(Some(user)),
                        Err(e) if e.status() == Some(404) => Ok(None),
                        Err(e) => Err(e),
                    },
                    None => client.find_user_by_name(&row.account_name).await,
                };
                (index, found)
            })
            .buffered(source.concurrency.max(1))
            .collect()
            .await;
    let mut plan = ImportUndoPlan {
        original: Some(original),
        ..Default::default()
    };
    for (index, found) in now {
        let row = &rows[index];
        let (id, name) = (row.account_id, row.account_name.clone());
        let user = match found {
            Ok(Some(user)) => user,
            // A create whose outcome is unknown and whose name is free: not created.
            Ok(None) if row.state != RowState::Ok && row.action == CREATE_ACTION => {
                plan.not_applied.push((id, name));
                continue;
            }
            Ok(None) => {
                plan.missing.push((row.created_id.unwrap_or(id), name));
                continue;
            }
            Err(e) => {
                plan.unreadable.push((id, name, e.to_string()));
                continue;
            }
        };
        let target = target_of(&user, actor);
        if row.action == CREATE_ACTION {
            match may(actor, settings, Action::Delete, &target) {
                Ok(()) => plan.deletes.push(user),
                Err(refusal) => plan.not_allowed.push((user.id, name, refusal.0)),
            }
            continue;
        }
        if row.state != RowState::Ok {
            match bulk::shows(&row.change, &user) {
                Some(true) => {}
                Some(false) => {
                    plan.not_applied.push((id, name));
                    continue;
                }
                None => {
                    plan.unreadable.push((
                        id,
                        name,
                        "the answer does not show the changed fields".to_string(),
                    ));
                    continue;
                }
            }
        }
        if row.before.as_object().is_none_or(|m| m.is_empty()) {
            plan.unknown_before.push((id, name));
            continue;
        }
        let kind = user
            .account_type()
            .unwrap_or(crate::domain::AccountType::User);
        match may_update(actor, settings, &target, kind, &row.before) {
            Ok(()) => plan.restores.push(Restore {
                user,
                body: row.before.clone(),
                set: row.change.clone(),
            }),
            Err(refusal) => plan.not_allowed.push((id, name, refusal.0)),
        }
    }
    Ok(plan)
}

/// Plans undoing import run `run_id` of the journal at `journal_path` as
/// `session`'s actor (see [`plan_import`]).
pub async fn plan_import_run(
    session: &crate::ops::session::Session,
    journal_path: &Path,
    run_id: &str,
    concurrency: usize,
) -> anyhow::Result<ImportUndoPlan> {
    let (contents, original) = read_run(journal_path, run_id).await?;
    let source = Source {
        client: &session.client,
        instance: &session.instance,
        fields: crate::ops::account::edit_fields(&session.capabilities),
        concurrency,
    };
    plan_import(
        &source,
        &session.actor,
        &session.settings,
        &contents,
        original,
    )
    .await
}

/// What an import's undo will do and what it leaves alone, the same for
/// both faces: a heading, then each list that has rows.
pub fn import_undo_lines(plan: &ImportUndoPlan) -> Vec<String> {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut out = Vec::new();
    if let Some(original) = &plan.original {
        out.push(format!(
            "Undo of import run {} ({} succeeded): delete {} account{} it created, put back the fields of {} it changed",
            sanitize(&original.run_id),
            original.succeeded,
            plan.deletes.len(),
            plural(plan.deletes.len()),
            plan.restores.len()
        ));
    }
    let named = |rows: &[(i64, String)]| -> Vec<String> {
        rows.iter()
            .map(|(id, name)| format!("{} ({id})", sanitize(name)))
            .collect()
    };
    let with_why = |rows: &[(i64, String, String)]| -> Vec<String> {
        rows.iter()
            .map(|(id, name, why)| format!("{} ({id}): {}", sanitize(name), sanitize(why)))
            .collect()
    };
    let lists = [
        (
            "Will delete",
            plan.deletes
                .iter()
                .map(|u| format!("{} ({})", sanitize(&u.user_name), u.id))
                .collect(),
        ),
        (
            "Will put back",
            plan.restores
                .iter()
                .map(|r| {
                    let fields: Vec<&str> = r
                        .body
                        .as_object()
                        .map(|m| m.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    format!(
                        "{} ({}): {}",
                        sanitize(&r.user.user_name),
                        r.user.id,
                        fields.join(", ")
                    )
                })
                .collect(),
        ),
        ("No longer on the server (left alone)", named(&plan.missing)),
        (
            "Outcome unknown, and the server shows no change (nothing to put back)",
            named(&plan.not_applied),
        ),
        (
            "Old values never shown by the account (cannot be put back)",
            named(&plan.unknown_before),
        ),
        ("Not allowed (left alone)", with_why(&plan.not_allowed)),
        (
            "Could not be read back (left alone)",
            with_why(&plan.unreadable),
        ),
    ];
    for (title, rows) in lists {
        let rows: Vec<String> = rows;
        if !rows.is_empty() {
            out.push(format!("{title}:"));
            out.extend(rows.into_iter().map(|r| format!("  {r}")));
        }
    }
    out
}

/// The journal header of an import's undo.
pub fn import_undo_header(
    meta: &bulk::RunMeta,
    plan: &ImportUndoPlan,
    activity_log: bool,
) -> journal::RunHeader {
    crate::ops::run::header(
        meta,
        crate::ops::import::UNDO_IMPORT_ACTION,
        crate::ops::run::Counts {
            planned: plan.deletes.len() + plan.restores.len(),
            already: plan.not_applied.len(),
            not_allowed: plan.not_allowed.len(),
        },
        crate::ops::run::Chosen {
            undo_of: plan.original.as_ref().map(|o| o.run_id.clone()),
            ..Default::default()
        },
        activity_log,
    )
}

/// Runs an import's undo (journaled in `journal`, opened with its header):
/// the deletes (confirmed by reading back when their answer is lost) and
/// the restores (read back before any resend), `concurrency` at a time.
pub async fn execute_import_undo(
    client: &Client,
    journal: journal::Journal,
    meta: &bulk::RunMeta,
    plan: &ImportUndoPlan,
    concurrency: usize,
    cancel: &bulk::Cancel,
    on_result: &mut (dyn FnMut(&bulk::RowResult) + Send),
) -> Vec<bulk::RowResult> {
    use futures::StreamExt;
    let journal = std::sync::Arc::new(std::sync::Mutex::new(journal));
    let entry = |action: &str, user: &User, change, before| {
        bulk::intent(meta, action, user.id, &user.user_name, change, before)
    };
    let mut writes: Vec<(&User, journal::Entry, bulk::AccountWrite)> = Vec::new();
    for user in &plan.deletes {
        let before = bulk::state_before(BulkAction::Delete, user);
        let write = bulk::AccountWrite::Delete {
            id: user.id,
            reassign: bulk::Reassign::default(),
        };
        writes.push((
            user,
            entry("delete", user, serde_json::json!({}), before),
            write,
        ));
    }
    for restore in &plan.restores {
        let write = bulk::AccountWrite::Update {
            id: restore.user.id,
            change: restore.body.clone(),
        };
        let line = entry(
            crate::ops::import::UPDATE_ACTION,
            &restore.user,
            restore.body.clone(),
            restore.set.clone(),
        );
        writes.push((&restore.user, line, write));
    }
    let journal = &journal;
    let mut stream = futures::stream::iter(writes.into_iter().enumerate())
        .map(|(index, (user, line, write))| async move {
            let outcome = if cancel.is_cancelled() {
                bulk::RowOutcome::NotSent
            } else {
                bulk::send_journaled(client, Some(journal), line, &write, cancel).await
            };
            let row = bulk::RowResult {
                id: user.id,
                user_name: user.user_name.clone(),
                outcome,
            };
            (index, row)
        })
        .buffer_unordered(concurrency.max(1));
    let mut results = Vec::new();
    while let Some((index, row)) = stream.next().await {
        on_result(&row);
        results.push((index, row));
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, row)| row).collect()
}

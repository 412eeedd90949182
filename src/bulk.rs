//! Bulk execution: many single-account requests with bounded concurrency,
//! cancellation, and the journal written before and after each one. Used by
//! the console's worker and by the scripted commands alike.

use crate::api::Client;
use crate::domain::preflight::BulkAction;
use crate::domain::User;
use crate::journal::{Entry, Journal, Phase};
use chrono::Utc;
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Who is acting where, for the journal.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub run_id: String,
    pub instance: String,
    pub actor: String,
}

/// One bulk run: what to do, and how.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub meta: RunMeta,
    pub action: BulkAction,
    pub reassign: Reassign,
    /// Requests in flight at once (at least 1).
    pub concurrency: usize,
}

impl RunMeta {
    /// A new run id: time-ordered and unique enough for one admin's journal.
    pub fn new_run_id() -> String {
        let now = Utc::now();
        format!(
            "{}-{:04x}",
            now.format("%Y%m%dT%H%M%S"),
            rand::random::<u16>()
        )
    }
}

/// One account's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RowResult {
    pub id: i64,
    pub user_name: String,
    pub outcome: RowOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    Ok,
    /// The server (or the network) refused it, with its message.
    Failed(String),
    /// Cancelled before it was sent.
    NotSent,
}

/// Reassignment for deletes (rule 8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reassign {
    pub playbooks_to: Option<i64>,
    pub jobs_to: Option<i64>,
}

/// A shared cancel switch: requests in flight finish, nothing new starts.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The state of the fields an action changes, before it changes them.
pub fn state_before(action: BulkAction, user: &User) -> serde_json::Value {
    let value = serde_json::to_value(user).unwrap_or_default();
    let mut before = serde_json::Map::new();
    if let serde_json::Value::Object(change) = action.change() {
        for key in change.keys() {
            before.insert(
                key.clone(),
                value.get(key).cloned().unwrap_or(serde_json::Value::Null),
            );
        }
    }
    if action == BulkAction::Delete {
        // A delete cannot be undone; keep enough to recognise the account.
        for key in ["userName", "owner", "systemRole"] {
            if let Some(v) = value.get(key) {
                before.insert(key.to_string(), v.clone());
            }
        }
    }
    serde_json::Value::Object(before)
}

/// Runs `action` on each of `targets`, at most `concurrency` at a time,
/// reporting each result to `on_result` as it arrives. Returns every row's
/// result in input order (cancelled rows as `NotSent`). An account listed
/// twice is run once: its first row stands for both, so no run ever sends
/// two writes to one account.
pub async fn execute(
    client: &Client,
    journal: Option<Arc<Mutex<Journal>>>,
    plan: &RunPlan,
    targets: &[User],
    cancel: &Cancel,
    on_result: &mut (dyn FnMut(&RowResult) + Send),
) -> Vec<RowResult> {
    let concurrency = plan.concurrency.max(1);
    let mut seen = HashSet::new();
    let targets: Vec<&User> = targets.iter().filter(|u| seen.insert(u.id)).collect();
    let mut results: Vec<Option<RowResult>> = vec![None; targets.len()];
    let mut stream = futures::stream::iter(targets.iter().copied().enumerate())
        .map(|(index, user)| {
            let journal = journal.clone();
            async move {
                let outcome = if cancel.is_cancelled() {
                    RowOutcome::NotSent
                } else {
                    run_one(client, journal, plan, user).await
                };
                (
                    index,
                    RowResult {
                        id: user.id,
                        user_name: user.user_name.clone(),
                        outcome,
                    },
                )
            }
        })
        .buffer_unordered(concurrency);
    while let Some((index, row)) = stream.next().await {
        on_result(&row);
        results[index] = Some(row);
    }
    results.into_iter().flatten().collect()
}

async fn run_one(
    client: &Client,
    journal: Option<Arc<Mutex<Journal>>>,
    plan: &RunPlan,
    user: &User,
) -> RowOutcome {
    let (meta, action, reassign) = (&plan.meta, plan.action, plan.reassign);
    let change = action.change();
    let mut entry = Entry {
        time: Utc::now(),
        instance: meta.instance.clone(),
        actor: meta.actor.clone(),
        run_id: meta.run_id.clone(),
        phase: Phase::Intent,
        action: action.name().to_string(),
        account_id: user.id,
        account_name: user.user_name.clone(),
        change: change.clone(),
        before: state_before(action, user),
        ok: None,
        message: None,
    };
    // The intent is on disk before the request leaves; if it cannot be
    // written, nothing is sent.
    if let Some(journal) = &journal {
        if let Err(e) = write_entry(journal, entry.clone()).await {
            return RowOutcome::Failed(format!("not sent: cannot write the journal: {e}"));
        }
    }
    let result: Result<(), String> = match action {
        BulkAction::Delete => client
            .delete_user(user.id, reassign.playbooks_to, reassign.jobs_to)
            .await
            .map_err(|e| e.to_string()),
        // A 200 whose account does not carry the change was not applied.
        _ => match client.update_user(user.id, &change).await {
            Ok(after) => match after.not_applied(&change) {
                fields if fields.is_empty() => Ok(()),
                fields => Err(format!("not applied: {}", fields.join(", "))),
            },
            Err(e) => Err(e.to_string()),
        },
    };
    let outcome = match &result {
        Ok(()) => RowOutcome::Ok,
        Err(e) => RowOutcome::Failed(e.clone()),
    };
    if let Some(journal) = &journal {
        entry.time = Utc::now();
        entry.phase = Phase::Outcome;
        entry.ok = Some(result.is_ok());
        entry.message = result.err();
        if let Err(e) = write_entry(journal, entry).await {
            return RowOutcome::Failed(format!(
                "sent, but the outcome could not be journalled: {e}"
            ));
        }
    }
    outcome
}

async fn write_entry(journal: &Arc<Mutex<Journal>>, entry: Entry) -> std::io::Result<()> {
    let journal = journal.clone();
    tokio::task::spawn_blocking(move || {
        let mut journal = journal
            .lock()
            .map_err(|_| std::io::Error::other("journal lock poisoned"))?;
        journal.append(&entry)
    })
    .await
    .map_err(std::io::Error::other)?
}

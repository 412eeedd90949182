//! Bulk execution: many single-account requests with bounded concurrency,
//! cancellation, and the journal written before and after each one. Used by
//! the console's worker and by the scripted commands alike.

use crate::api::{ApiError, Client};
use crate::domain::preflight::BulkAction;
use crate::domain::User;
use crate::journal::{Entry, Journal, OutcomeState, Phase};
use chrono::Utc;
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// A new run on `instance` by `actor`, with a new run id.
    pub fn start(instance: &str, actor: &str) -> Self {
        RunMeta {
            run_id: Self::new_run_id(),
            instance: instance.to_string(),
            actor: actor.to_string(),
        }
    }

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
    /// Sent, but no answer says whether it was applied (the connection
    /// dropped, or no answer came in time): the account must be read back
    /// before anyone acts on it again. The reason reads after "unknown: ".
    Unknown(String),
    /// Sent, but its outcome could not be written to the journal (a full
    /// disk): the journal shows an intent without outcome. The text reads
    /// after "sent, " and says what the server answered and why the
    /// journal refused.
    Unjournaled(String),
    /// Cancelled before it was sent.
    NotSent,
}

impl RowOutcome {
    /// Whether the server's state must be read back before this account is
    /// retried or undone: the run cannot tell whether the change landed.
    pub fn needs_read_back(&self) -> bool {
        matches!(self, RowOutcome::Unknown(_) | RowOutcome::Unjournaled(_))
    }

    /// One word for the outcome, without its message (for the log).
    pub fn kind(&self) -> &'static str {
        match self {
            RowOutcome::Ok => "ok",
            RowOutcome::Failed(_) => "failed",
            RowOutcome::Unknown(_) => "unknown",
            RowOutcome::Unjournaled(_) => "unjournaled",
            RowOutcome::NotSent => "not sent",
        }
    }
}

/// The tail of every unknown outcome: what to do about it.
pub const READ_BACK: &str = "read back before acting again";

/// The reason of an unknown outcome, for an error that may have left the
/// request applied (`ApiError::may_have_applied`).
pub fn unknown_reason(error: &crate::api::ApiError) -> String {
    use crate::api::ApiError as E;
    let what = match error {
        E::Timeout { .. } => "no answer came in time after the request was sent",
        E::Decode { .. } => "the answer to the request could not be read",
        E::Http { .. } => "the server failed while handling the request",
        _ => "the connection dropped after the request was sent",
    };
    format!("{what}; {READ_BACK} ({error})")
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
    tracing::info!(
        run_id = %plan.meta.run_id,
        action = plan.action.name(),
        accounts = targets.len(),
        concurrency,
        "bulk run started"
    );
    let mut results: Vec<Option<RowResult>> = vec![None; targets.len()];
    let mut stream = futures::stream::iter(targets.iter().copied().enumerate())
        .map(|(index, user)| {
            let journal = journal.clone();
            async move {
                let outcome = if cancel.is_cancelled() {
                    RowOutcome::NotSent
                } else {
                    run_one(client, journal, plan, user, cancel).await
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
        tracing::debug!(
            run_id = %plan.meta.run_id,
            account_id = row.id,
            outcome = row.outcome.kind(),
            "bulk row"
        );
        on_result(&row);
        results[index] = Some(row);
    }
    let results: Vec<RowResult> = results.into_iter().flatten().collect();
    let count = |kind: &str| results.iter().filter(|r| r.outcome.kind() == kind).count();
    tracing::info!(
        run_id = %plan.meta.run_id,
        ok = count("ok"),
        failed = count("failed"),
        unknown = count("unknown") + count("unjournaled"),
        not_sent = count("not sent"),
        cancelled = cancel.is_cancelled(),
        "bulk run ended"
    );
    results
}

/// Sends of one account's write, at most: a send whose answer left it open
/// and that reading the account back showed did not land is sent again, up
/// to this many in all. A 429 is not sent again here: the client already
/// did, after the server's `Retry-After`, as often as one call allows.
pub const MAX_SENDS: u32 = 8;
/// Wait before a row's second send; doubled for each further one, up to
/// [`MAX_RESEND_DELAY`].
const RESEND_DELAY: Duration = Duration::from_millis(200);
const MAX_RESEND_DELAY: Duration = Duration::from_secs(2);
/// Reads of an account whose write's answer left it open, before its
/// outcome is called unknown (each read already retries transient failures).
const READ_BACK_TRIES: u32 = 3;

/// One write to one account, as a run sends it.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountWrite {
    /// Set the fields of `change` (a JSON object) on account `id`.
    Update { id: i64, change: serde_json::Value },
    /// Delete account `id`, moving what runs as it (rule 8).
    Delete { id: i64, reassign: Reassign },
    /// Put account `id` in exactly these user groups (extension
    /// `groupMembership`).
    Groups { id: i64, group_ids: Vec<i64> },
    /// Move what runs as account `id` to the heirs (extension `moveRunAs`).
    MoveRunAs { id: i64, to: Reassign },
}

impl AccountWrite {
    /// `action` on `id`, as a bulk run sends it.
    pub fn of_action(action: BulkAction, id: i64, reassign: Reassign) -> AccountWrite {
        match action {
            BulkAction::Delete => AccountWrite::Delete { id, reassign },
            _ => AccountWrite::Update {
                id,
                change: action.change(),
            },
        }
    }

    fn id(&self) -> i64 {
        match self {
            AccountWrite::Update { id, .. }
            | AccountWrite::Delete { id, .. }
            | AccountWrite::Groups { id, .. }
            | AccountWrite::MoveRunAs { id, .. } => *id,
        }
    }

    /// Whether the server's state now shows this write: `None` when reading
    /// it back does not tell (or failed: the error).
    async fn shown(&self, client: &Client) -> Result<Option<bool>, ApiError> {
        use crate::api::wire::ext::USER_GROUPS_FIELD;
        match self {
            AccountWrite::Update { id, change } => match client.get_user(*id, &[]).await {
                Ok(user) => Ok(shows(change, &user)),
                Err(e) => Err(e),
            },
            AccountWrite::Delete { id, .. } => match client.get_user(*id, &[]).await {
                // Still there: not deleted.
                Ok(_) => Ok(Some(false)),
                Err(e) if e.status() == Some(404) => Ok(Some(true)),
                Err(e) => Err(e),
            },
            AccountWrite::Groups { id, group_ids } => {
                let user = client
                    .get_user(*id, &[USER_GROUPS_FIELD.to_string()])
                    .await?;
                Ok(user.user_groups.map(|groups| {
                    let mut now: Vec<i64> = groups.iter().map(|g| g.id).collect();
                    let mut wanted = group_ids.clone();
                    now.sort_unstable();
                    wanted.sort_unstable();
                    now == wanted
                }))
            }
            AccountWrite::MoveRunAs { id, to } => {
                let run_as = client.run_as(*id).await?;
                Ok(Some(
                    (to.playbooks_to.is_none() || run_as.active_playbooks.is_empty())
                        && (to.jobs_to.is_none() || run_as.job_apps.is_empty()),
                ))
            }
        }
    }
}

/// What one send of a write came to: its answer, and when the answer left
/// it open, what reading the account back showed.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// Applied. `note` says how that is known when the answer did not say so.
    Applied { note: Option<String> },
    /// Not applied, and safe to send again (why).
    NotApplied(String),
    /// Refused, or not applied for a reason sending again will not change.
    Failed(String),
    /// Maybe applied: the answer left it open and the account could not be
    /// read back (why).
    Unknown(String),
}

/// Sends `write` once and judges the answer. A write whose answer leaves
/// its fate open (a 5xx, a dropped connection, no answer in time) is never
/// called failed or sent again blindly: the account is read back first.
pub async fn send_once(client: &Client, write: &AccountWrite) -> Sent {
    let answer = match write {
        AccountWrite::Update { id, change } => client.update_user(*id, change).await.map(Some),
        AccountWrite::Delete { id, reassign } => client
            .delete_user(*id, reassign.playbooks_to, reassign.jobs_to)
            .await
            .map(|()| None),
        AccountWrite::Groups { id, group_ids } => {
            client.set_groups(*id, group_ids).await.map(|()| None)
        }
        AccountWrite::MoveRunAs { id, to } => {
            let body = crate::api::wire::RunAsMove {
                playbooks_to: to.playbooks_to,
                jobs_to: to.jobs_to,
            };
            match client.move_run_as(*id, body).await {
                // What the answer says still runs as it, for the heirs named.
                Ok(left) => {
                    let stuck: Vec<String> = [
                        (to.playbooks_to, &left.active_playbooks, "active playbooks"),
                        (to.jobs_to, &left.job_apps, "job apps"),
                    ]
                    .into_iter()
                    .filter(|(heir, items, _)| heir.is_some() && !items.is_empty())
                    .map(|(_, items, what)| format!("{} {what}", items.len()))
                    .collect();
                    if !stuck.is_empty() {
                        return Sent::Failed(format!(
                            "not applied: {} still run as it",
                            stuck.join(" and ")
                        ));
                    }
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        }
    };
    match (answer, write) {
        // A 200 whose account does not carry the change was not applied.
        (Ok(Some(after)), AccountWrite::Update { change, .. }) => match after.not_applied(change) {
            fields if fields.is_empty() => Sent::Applied { note: None },
            fields => Sent::Failed(format!("not applied: {}", fields.join(", "))),
        },
        (Ok(_), _) => Sent::Applied { note: None },
        (Err(e), _) if e.may_have_applied() => confirm(client, write, &e).await,
        (Err(e), _) => Sent::Failed(e.to_string()),
    }
}

/// Whether the account now shows `write`, after `error` left it open.
async fn confirm(client: &Client, write: &AccountWrite, error: &ApiError) -> Sent {
    let mut why = String::new();
    for attempt in 1..=READ_BACK_TRIES {
        let shown = match write.shown(client).await {
            Ok(shown) => shown,
            Err(e) if e.status() == Some(404) => {
                return Sent::Failed(format!("the account is no longer on the server ({error})"));
            }
            Err(e) => {
                why = e.to_string();
                // Another read helps only after a failure that may pass.
                if !e.is_transient() {
                    break;
                }
                if attempt < READ_BACK_TRIES {
                    tokio::time::sleep(RESEND_DELAY * attempt).await;
                }
                continue;
            }
        };
        let how = if error.status().is_some() {
            "the server answered an error"
        } else {
            "the answer was lost"
        };
        return match shown {
            Some(true) => {
                let note =
                    format!("applied; {how} ({error}), and the account read back shows the change");
                tracing::info!(
                    account_id = write.id(),
                    "{}",
                    crate::domain::text::sanitize(&note)
                );
                Sent::Applied { note: Some(note) }
            }
            Some(false) => Sent::NotApplied(format!(
                "not applied; {how} ({error}), and the account read back does not show the change"
            )),
            None => Sent::Unknown(format!(
                "{}; the account read back does not show the changed field",
                unknown_reason(error)
            )),
        };
    }
    Sent::Unknown(format!(
        "{}; reading the account back failed: {why}",
        unknown_reason(error)
    ))
}

/// Sends `write` until it ends applied, failed or unknown (at most
/// [`MAX_SENDS`] sends), each send journaled as intent then outcome: the
/// intent on disk before the request leaves, the outcome after. `entry` is
/// the row's journal line (its phase and outcome fields are set here).
/// Without a journal nothing is written (tests of the engine alone).
pub async fn send_journaled(
    client: &Client,
    journal: Option<&Arc<Mutex<Journal>>>,
    mut entry: Entry,
    write: &AccountWrite,
    cancel: &Cancel,
) -> RowOutcome {
    let mut sends = 1;
    loop {
        entry.time = Utc::now();
        entry.phase = Phase::Intent;
        (entry.ok, entry.message, entry.state) = (None, None, None);
        // If the intent cannot be written, nothing is sent.
        if let Some(journal) = journal {
            if let Err(e) = write_entry(journal, entry.clone()).await {
                return RowOutcome::Failed(match sends {
                    1 => format!("not sent: cannot write the journal: {e}"),
                    _ => format!("not applied, and not sent again: cannot write the journal: {e}"),
                });
            }
        }
        let sent = send_once(client, write).await;
        let again =
            matches!(sent, Sent::NotApplied(_)) && sends < MAX_SENDS && !cancel.is_cancelled();
        let (outcome, note) = match sent {
            Sent::Applied { note } => (RowOutcome::Ok, note),
            Sent::Failed(why) => (RowOutcome::Failed(why), None),
            Sent::Unknown(why) => (RowOutcome::Unknown(why), None),
            Sent::NotApplied(why) if again => (
                RowOutcome::Failed(format!(
                    "{why}; sending again (send {} of {MAX_SENDS})",
                    sends + 1
                )),
                None,
            ),
            Sent::NotApplied(why) if cancel.is_cancelled() => (
                RowOutcome::Failed(format!("{why}; not sent again: the run was cancelled")),
                None,
            ),
            Sent::NotApplied(why) => (
                RowOutcome::Failed(format!("{why}; not applied after {sends} sends")),
                None,
            ),
        };
        if let Some(journal) = journal {
            entry.time = Utc::now();
            entry.phase = Phase::Outcome;
            match &outcome {
                RowOutcome::Ok => {
                    entry.ok = Some(true);
                    entry.message = note;
                }
                RowOutcome::Failed(message) => {
                    entry.ok = Some(false);
                    entry.message = Some(message.clone());
                }
                // `ok` stays absent: neither true nor false is known.
                RowOutcome::Unknown(reason) => {
                    entry.state = Some(OutcomeState::Unknown);
                    entry.message = Some(reason.clone());
                }
                RowOutcome::Unjournaled(_) | RowOutcome::NotSent => {}
            }
            if let Err(e) = write_entry(journal, entry.clone()).await {
                // The request went out: this is not a failure of the account,
                // and the journal's intent without outcome says "read back".
                let answer = match &outcome {
                    RowOutcome::Ok => "the server applied it".to_string(),
                    RowOutcome::Failed(m) => format!("the server refused it: {m}"),
                    RowOutcome::Unknown(r) => format!("unknown: {r}"),
                    _ => String::new(),
                };
                return RowOutcome::Unjournaled(format!(
                    "outcome not journaled ({answer}); cannot write the journal: {e}"
                ));
            }
        }
        if !again {
            return outcome;
        }
        tokio::time::sleep((RESEND_DELAY * 2u32.pow(sends - 1)).min(MAX_RESEND_DELAY)).await;
        sends += 1;
    }
}

async fn run_one(
    client: &Client,
    journal: Option<Arc<Mutex<Journal>>>,
    plan: &RunPlan,
    user: &User,
    cancel: &Cancel,
) -> RowOutcome {
    let action = plan.action;
    let entry = intent(
        &plan.meta,
        action.name(),
        user.id,
        &user.user_name,
        action.change(),
        state_before(action, user),
    );
    let write = AccountWrite::of_action(action, user.id, plan.reassign);
    send_journaled(client, journal.as_ref(), entry, &write, cancel).await
}

/// The journal's intent line for one account of a run: what is about to be
/// sent, and the state it replaces (what undo puts back).
pub fn intent(
    meta: &RunMeta,
    action: &str,
    account_id: i64,
    account_name: &str,
    change: serde_json::Value,
    before: serde_json::Value,
) -> Entry {
    Entry {
        time: Utc::now(),
        instance: meta.instance.clone(),
        actor: meta.actor.clone(),
        run_id: meta.run_id.clone(),
        phase: Phase::Intent,
        action: action.to_string(),
        account_id,
        account_name: account_name.to_string(),
        change,
        before,
        ok: None,
        message: None,
        state: None,
        created_id: None,
    }
}

/// Appends `entry` off the async threads (a write and an fsync).
pub async fn write_entry(journal: &Arc<Mutex<Journal>>, entry: Entry) -> std::io::Result<()> {
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

/// What reading accounts back found, judged against the change an action
/// makes: the one rule undo and retry share for rows whose outcome is not
/// known (unknown, unfinished, not journaled).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReadBack {
    /// The account carries the change, so it was applied: the account as it
    /// is now (for a delete, the account is gone: `None`).
    pub applied: Vec<(i64, Option<User>)>,
    /// The account does not carry the change: it was not applied.
    pub not_applied: Vec<User>,
    /// No longer on the server (or out of the caller's sight).
    pub gone: Vec<i64>,
    /// Could not be read (or judged): (id, why). Nobody may act on these yet.
    pub unreadable: Vec<(i64, String)>,
}

/// Whether `user` as the server has it now carries `action`'s change;
/// `None` when the answer does not show a field the change sets.
pub fn carries(action: BulkAction, user: &User) -> Option<bool> {
    match action {
        // A delete: an account that still reads back was not deleted.
        BulkAction::Delete => Some(false),
        _ => shows(&action.change(), user),
    }
}

/// Whether `user` carries every field of `change` (a JSON object); `None`
/// when the answer does not show one of them.
pub fn shows(change: &serde_json::Value, user: &User) -> Option<bool> {
    let fields = change.as_object()?;
    let value = serde_json::to_value(user).ok()?;
    if fields
        .keys()
        .any(|k| value.get(k).is_none_or(|v| v.is_null()))
    {
        return None;
    }
    Some(user.not_applied(change).is_empty())
}

/// GETs each of `ids` (at most `concurrency` at a time) and sorts them by
/// whether `action`'s change is on the server now.
pub async fn read_back(
    client: &Client,
    action: BulkAction,
    ids: &[i64],
    fields: &[String],
    concurrency: usize,
) -> ReadBack {
    let answers: Vec<(i64, Result<User, crate::api::ApiError>)> =
        futures::stream::iter(ids.iter().copied())
            .map(|id| async move { (id, client.get_user(id, fields).await) })
            .buffered(concurrency.max(1))
            .collect()
            .await;
    let mut found = ReadBack::default();
    for (id, answer) in answers {
        match answer {
            Ok(user) => match carries(action, &user) {
                Some(true) => found.applied.push((id, Some(user))),
                Some(false) => found.not_applied.push(user),
                None => found
                    .unreadable
                    .push((id, "the answer does not show the changed field".into())),
            },
            // Gone: for a delete, that is the change itself.
            Err(e) if e.status() == Some(404) && action == BulkAction::Delete => {
                found.applied.push((id, None))
            }
            Err(e) if e.status() == Some(404) => found.gone.push(id),
            Err(e) => found.unreadable.push((id, e.to_string())),
        }
    }
    found
}

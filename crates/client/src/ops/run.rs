//! A bulk run's lifecycle, once for both faces: the run id, the journal
//! (opened first, with the same header for every run: no journal, no
//! writes), the requests, cancellation, and the tallies. The console's
//! worker and the scripted commands only choose the accounts, ask, and show.

use crate::api::Client;
use crate::bulk::{self, Cancel, Reassign, RowOutcome, RowResult, RunMeta, RunPlan};
use crate::domain::preflight::{BulkAction, Preflight};
use crate::domain::User;
use crate::journal::{HeaderKind, Journal, RunHeader};
use chrono::Utc;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Overrides the journal's default location.
pub const JOURNAL_ENV: &str = "ROLLCALL_JOURNAL";
/// Why there is no journal to write or read, when no path was given and
/// there is no data directory.
pub const NO_JOURNAL: &str =
    "cannot open the journal: no data directory (pass --journal PATH or set ROLLCALL_JOURNAL)";
/// Requests in flight at once when neither the command nor the profile says.
pub const DEFAULT_BULK_CONCURRENCY: usize = 8;
/// The most requests in flight a run may ask for.
pub const MAX_CONCURRENCY: usize = 256;

/// The journal to use: the given path, else the default location.
pub fn journal_path(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(path) => Ok(path.to_path_buf()),
        None => Journal::default_path().ok_or_else(|| {
            anyhow::anyhow!(
                "cannot find a data directory for the journal; pass --journal PATH or set {JOURNAL_ENV}"
            )
        }),
    }
}

/// Requests in flight: the one asked for, else the profile's, else 8.
pub fn concurrency(explicit: Option<usize>, profile: Option<usize>) -> usize {
    explicit
        .or(profile)
        .unwrap_or(DEFAULT_BULK_CONCURRENCY)
        .clamp(1, MAX_CONCURRENCY)
}

/// Everything a run is, whichever face started it.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Run id, instance and actor.
    pub meta: RunMeta,
    pub action: BulkAction,
    /// The accounts the preflight said will change, in selection order.
    pub targets: Vec<User>,
    /// What the preflight left out, for the header.
    pub already: usize,
    pub not_allowed: usize,
    /// The filter that chose the accounts, if one did.
    pub filter: Option<String>,
    /// The Organization the accounts were chosen in, if one was.
    pub org: Option<String>,
    /// The run this one undoes.
    pub undo_of: Option<String>,
    /// The access review whose decisions it carries out (its directory).
    pub review: Option<String>,
    /// A delete's new owners of Run As playbooks and job apps (rule 8).
    pub reassign: Reassign,
    /// Requests in flight at once (at least 1).
    pub concurrency: usize,
}

impl RunRequest {
    /// A new run of `action` on the preflight's will-change accounts
    /// (`users` holds them by id), with a fresh run id.
    pub fn new(
        instance: &str,
        actor: &str,
        action: BulkAction,
        preflight: &Preflight,
        users: &HashMap<i64, &User>,
    ) -> RunRequest {
        let targets = preflight
            .will_change
            .iter()
            .filter_map(|id| users.get(id).map(|u| (*u).clone()))
            .collect();
        RunRequest {
            meta: RunMeta::start(instance, actor),
            action,
            targets,
            already: preflight.already.len(),
            not_allowed: preflight.not_allowed.len(),
            filter: None,
            org: None,
            undo_of: None,
            review: None,
            reassign: Reassign::default(),
            concurrency: DEFAULT_BULK_CONCURRENCY,
        }
    }

    pub fn run_id(&self) -> &str {
        &self.meta.run_id
    }

    /// The journal's first line for this run.
    pub fn header(&self, activity_log: bool) -> RunHeader {
        header(
            &self.meta,
            self.action.name(),
            Counts {
                planned: self.targets.len(),
                already: self.already,
                not_allowed: self.not_allowed,
            },
            Chosen {
                filter: self.filter.clone(),
                org: self.org.clone(),
                undo_of: self.undo_of.clone(),
                review: self.review.clone(),
            },
            activity_log,
        )
    }

    fn plan(&self) -> RunPlan {
        RunPlan {
            meta: self.meta.clone(),
            action: self.action,
            reassign: self.reassign,
            concurrency: self.concurrency.max(1),
        }
    }

    /// Every target as not sent, for `why` (a run refused before it began).
    pub fn refused_rows(&self, why: &str) -> Vec<RowResult> {
        self.targets
            .iter()
            .map(|user| RowResult {
                id: user.id,
                user_name: user.user_name.clone(),
                outcome: RowOutcome::Failed(format!("not sent: {why}")),
            })
            .collect()
    }
}

/// A run's size as its preflight saw it: to send, already so, refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub planned: usize,
    pub already: usize,
    pub not_allowed: usize,
}

/// How a run's accounts were chosen.
#[derive(Debug, Clone, Default)]
pub struct Chosen {
    pub filter: Option<String>,
    pub org: Option<String>,
    pub undo_of: Option<String>,
    /// The access review whose decisions the run carries out.
    pub review: Option<String>,
}

/// The journal's header line of a run, the same fields for every kind of
/// run (bulk actions, undo, import).
pub fn header(
    meta: &RunMeta,
    action: &str,
    counts: Counts,
    chosen: Chosen,
    activity_log: bool,
) -> RunHeader {
    RunHeader {
        kind: HeaderKind::Run,
        time: Utc::now(),
        instance: meta.instance.clone(),
        actor: meta.actor.clone(),
        run_id: meta.run_id.clone(),
        action: action.to_string(),
        filter: chosen.filter,
        org: chosen.org,
        undo_of: chosen.undo_of,
        review: chosen.review,
        planned: counts.planned,
        already: counts.already,
        not_allowed: counts.not_allowed,
        activity_log: Some(activity_log),
        offboard: None,
    }
}

/// Why a run sent nothing at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(
        "this session is read-only: nothing was sent (use --dry-run to see what would change)"
    )]
    ReadOnly,
    /// The journal is what makes a run undoable: no journal, no writes.
    #[error("{0}")]
    Journal(String),
}

/// Opens the journal at `path` and writes the run's header line; the first
/// step of every run, before any request. Blocking (a file and an fsync).
pub fn begin(
    client: &Client,
    path: Option<&Path>,
    request: &RunRequest,
) -> Result<Journal, Refused> {
    begin_with(client, path, &request.header(client.activity_log()))
}

/// As [`begin`], for a run described by its header alone (an import).
pub fn begin_with(
    client: &Client,
    path: Option<&Path>,
    header: &RunHeader,
) -> Result<Journal, Refused> {
    if client.is_read_only() {
        return Err(Refused::ReadOnly);
    }
    let Some(path) = path else {
        return Err(Refused::Journal(NO_JOURNAL.to_string()));
    };
    let opened = Journal::open(path).and_then(|mut journal| {
        journal.append_header(header)?;
        Ok(journal)
    });
    opened.map_err(|e| Refused::Journal(format!("cannot open the journal {}: {e}", path.display())))
}

/// Sends the run's requests, journaled in `journal` (opened by [`begin`]),
/// `concurrency` at a time; `on_result` sees each row as it finishes.
/// Cancelling sends nothing new; requests in flight finish and are
/// recorded.
pub async fn execute(
    client: &Client,
    journal: Journal,
    request: &RunRequest,
    cancel: &Cancel,
    on_result: &mut (dyn FnMut(&RowResult) + Send),
) -> RunReport {
    let plan = request.plan();
    let journal = Some(Arc::new(Mutex::new(journal)));
    let results = bulk::execute(client, journal, &plan, &request.targets, cancel, on_result).await;
    RunReport {
        run_id: request.meta.run_id.clone(),
        action: request.action,
        results,
    }
}

/// [`begin`], then [`execute`]: the whole run.
pub async fn run(
    client: &Client,
    journal_path: Option<&Path>,
    request: &RunRequest,
    cancel: &Cancel,
    on_result: &mut (dyn FnMut(&RowResult) + Send),
) -> Result<RunReport, Refused> {
    let journal = begin(client, journal_path, request)?;
    Ok(execute(client, journal, request, cancel, on_result).await)
}

/// What a run did, row by row in selection order.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: String,
    pub action: BulkAction,
    pub results: Vec<RowResult>,
}

impl RunReport {
    fn count(&self, wanted: fn(&RowOutcome) -> bool) -> usize {
        self.results.iter().filter(|r| wanted(&r.outcome)).count()
    }
    pub fn ok(&self) -> usize {
        self.count(|o| *o == RowOutcome::Ok)
    }
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Failed(_)))
    }
    /// Sent, applied or not: only a read-back tells.
    pub fn unknown(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Unknown(_)))
    }
    /// Sent, but the outcome could not be journaled (a full disk).
    pub fn unjournaled(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Unjournaled(_)))
    }
    pub fn not_sent(&self) -> usize {
        self.count(|o| *o == RowOutcome::NotSent)
    }

    /// One line for the end of a run, the same in the console and scripts.
    pub fn summary(&self) -> String {
        tally(&self.results)
    }
}

/// "12 ok, 1 failed, 0 unknown, 2 not sent, of 15": the tally of `results`
/// (a run's rows so far, or all of them).
pub fn tally(results: &[RowResult]) -> String {
    let count =
        |wanted: fn(&RowOutcome) -> bool| results.iter().filter(|r| wanted(&r.outcome)).count();
    let ok = count(|o| *o == RowOutcome::Ok);
    let failed = count(|o| matches!(o, RowOutcome::Failed(_)));
    let unknown = count(|o| matches!(o, RowOutcome::Unknown(_)));
    let unjournaled = count(|o| matches!(o, RowOutcome::Unjournaled(_)));
    let not_sent = count(|o| *o == RowOutcome::NotSent);
    // Rare (a full disk), so named only when it happened.
    let unjournaled_part = if unjournaled > 0 {
        format!("{unjournaled} sent but not journaled, ")
    } else {
        String::new()
    };
    format!(
        "{ok} ok, {failed} failed, {unknown} unknown, {unjournaled_part}{not_sent} not sent, of {}",
        results.len()
    )
}

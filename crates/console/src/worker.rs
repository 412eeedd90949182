//! The one task that owns the client.
//!
//! The console never awaits the network itself: it sends a [`Command`]
//! tagged with a [`RequestId`] and later receives [`Event`]s tagged with the
//! same id. Each command runs in its own task, so a long listing never holds
//! up a short request, and any command can be cancelled by id. The App keeps
//! the latest id per kind of request and drops events for older ones.

use crate::api::wire::{OrgLimits, Owner, RunAs, TokenRequest};
use crate::api::{ApiError, Client, Membership, Page, Secret, UserQuery};
use crate::bulk::{self, Cancel, Reassign, RowResult};
use crate::domain::preflight::BulkAction;
use crate::domain::review::Sheet;
use crate::domain::{GroupRef, User};
use crate::journal::{self, RunRow, RunSummary};
use crate::ops::account::{self, SaveRequest};
use crate::ops::{self, run::RunRequest, run::NO_JOURNAL, undo::UndoPlan};
use std::collections::HashMap;
use std::path::PathBuf;

use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, JoinHandle};

/// Tags a command and every event it produces.
pub type RequestId = u64;

/// What the console asks of the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// List accounts page by page. A new listing cancels the previous one.
    /// `org`: keep only accounts of this Organization.
    /// `groups_from_user_groups`: fill each account's groups from
    /// `GET /v3/security/userGroups?fields=users` (a plain instance, where
    /// the listing does not carry them).
    LoadUsers {
        id: RequestId,
        org: Option<String>,
        query: UserQuery,
        groups_from_user_groups: bool,
    },
    /// The Organizations the caller may see (`owners` of kind Organization).
    LoadOrganizations { id: RequestId },
    /// Seat limits, from the `limits` extension.
    LoadLimits { id: RequestId },
    /// Stop the work started by request `id`, if it is still running.
    Cancel { id: RequestId },
    /// Stop everything and end the worker: listings and account requests
    /// are aborted; bulk runs are cancelled and their requests in flight
    /// get [`SHUTDOWN_GRACE`] to finish.
    Shutdown,
    /// One account with the extra fields the edit form needs.
    LoadAccount {
        id: RequestId,
        account_id: i64,
        fields: Vec<String>,
    },
    /// The user groups (`GET /v3/security/userGroups`).
    LoadUserGroups { id: RequestId },
    /// Create (`account_id` None) or update an account, then set its
    /// groups, then (API users) generate a token with this lifetime.
    SaveAccount {
        id: RequestId,
        account_id: Option<i64>,
        body: RequestBody,
        groups: Option<Vec<i64>>,
        generate_token: Option<Option<i64>>,
    },
    /// What runs as an account (the `runAs` extension).
    LoadRunAs { id: RequestId, account_id: i64 },
    DeleteUser {
        id: RequestId,
        account_id: i64,
        reassign_playbooks_to: Option<i64>,
        reassign_jobs_to: Option<i64>,
    },
    /// Run a bulk action through `bulk::execute`, one `BulkRow` event per
    /// account as it finishes, then `BulkDone`. Stopped with the job's
    /// `Cancel`, not `Command::Cancel`, so requests in flight finish.
    RunBulk { id: RequestId, job: BulkJob },
    /// The journal's runs, newest first (`:journal`), answered by `Journal`.
    LoadJournal {
        id: RequestId,
        journal: Option<PathBuf>,
    },
    /// One run's accounts as the journal records them, answered by
    /// `JournalRun`.
    LoadJournalRun {
        id: RequestId,
        journal: Option<PathBuf>,
        run_id: String,
    },
    /// Plan undoing a run (the newest undoable one on this instance when
    /// `run_id` is `None`), answered by `UndoPlanned`.
    PlanUndo {
        id: RequestId,
        journal: Option<PathBuf>,
        run_id: Option<String>,
        /// The extra fields the listing asks for.
        fields: Vec<String>,
        concurrency: usize,
        /// Who asks: an import's undo is judged by the policy as them
        /// (answered by `ImportUndoPlanned`).
        asker: Box<Asker>,
    },
    /// GET each account and judge whether `action`'s change is on it (the
    /// rows of a run whose outcome is unknown), answered by `ReadBack`.
    ReadBack {
        id: RequestId,
        action: BulkAction,
        ids: Vec<i64>,
    },
    /// An access review's sheets (`ops::review::load`), answered by `Review`.
    LoadReview { id: RequestId, dir: PathBuf },
    /// Writes one sheet of a review back (atomically), answered by
    /// `ReviewSaved`.
    SaveReviewSheet {
        id: RequestId,
        dir: PathBuf,
        file: String,
        sheet: Sheet,
    },
    /// Read the accounts and what runs as them and plan each one's
    /// offboarding checklist (`ops::offboard::plan`), answered by
    /// `OffboardPlanned`.
    PlanOffboard {
        id: RequestId,
        ask: Box<OffboardAsk>,
    },
    /// Run an offboarding plan (`ops::offboard::execute`): one
    /// `OffboardStep` per step as it ends, then `OffboardDone`. Stopped
    /// with the job's `Cancel`.
    RunOffboard {
        id: RequestId,
        job: Box<OffboardJob>,
    },
    /// Read a CSV file and the accounts and plan the import
    /// (`ops::import::plan_file`), answered by `ImportPlanned`.
    PlanImport { id: RequestId, ask: Box<ImportAsk> },
    /// Run an import plan (`ops::import::execute`): a `BulkRow` per row as
    /// it ends, then `BulkDone`, as a bulk run.
    RunImport { id: RequestId, job: Box<ImportJob> },
    /// Run an import's undo (`ops::undo::execute_import_undo`): `BulkRow`s,
    /// then `BulkDone`.
    RunImportUndo {
        id: RequestId,
        job: Box<ImportUndoJob>,
    },
}

/// Who asks for a plan the policy judges, as the console knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker {
    pub actor: crate::domain::Actor,
    pub settings: crate::domain::InstanceSettings,
    pub capabilities: crate::api::Capabilities,
    pub concurrency: usize,
}

impl Asker {
    /// A session for the operations layer, on the worker's client.
    fn session(&self, client: &Client) -> ops::session::Session {
        ops::session::Session {
            client: client.clone(),
            actor: self.actor.clone(),
            capabilities: self.capabilities.clone(),
            settings: self.settings.clone(),
            instance: client.api_path().to_string(),
            read_only: client.is_read_only(),
            concurrency: Some(self.concurrency),
        }
    }
}

/// A CSV file to import, into an Organization (default: the actor's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportAsk {
    pub path: PathBuf,
    pub org: Option<String>,
    pub asker: Asker,
}

/// An import run for the worker (no API tokens: the console generates
/// none for an import).
#[derive(Debug, Clone)]
pub struct ImportJob {
    pub meta: bulk::RunMeta,
    pub org: String,
    pub plan: ops::import::ImportPlan,
    pub concurrency: usize,
    pub journal: Option<PathBuf>,
    pub cancel: Cancel,
}

/// An import's undo for the worker.
#[derive(Debug, Clone)]
pub struct ImportUndoJob {
    pub meta: bulk::RunMeta,
    pub plan: ops::undo::ImportUndoPlan,
    pub concurrency: usize,
    pub journal: Option<PathBuf>,
    pub cancel: Cancel,
}

/// Two jobs are the same run of the same plan (for command assertions).
impl PartialEq for ImportJob {
    fn eq(&self, other: &ImportJob) -> bool {
        self.meta.run_id == other.meta.run_id
            && self.journal == other.journal
            && self.plan == other.plan
    }
}

impl Eq for ImportJob {}

impl PartialEq for ImportUndoJob {
    fn eq(&self, other: &ImportUndoJob) -> bool {
        self.meta.run_id == other.meta.run_id
            && self.journal == other.journal
            && self.plan == other.plan
    }
}

impl Eq for ImportUndoJob {}

/// What an offboarding plan is asked for: the accounts, the heirs as the
/// person named them, the delete, and who is asking (the plan judges each
/// step by the actor's rights).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffboardAsk {
    pub ids: Vec<i64>,
    /// Id or user name.
    pub playbooks_to: Option<String>,
    pub jobs_to: Option<String>,
    pub delete: bool,
    pub actor: crate::domain::Actor,
    pub settings: crate::domain::InstanceSettings,
    pub capabilities: crate::api::Capabilities,
    pub concurrency: usize,
}

/// An offboarding run for the worker: the run, its journal, its stop.
#[derive(Debug, Clone)]
pub struct OffboardJob {
    pub run: ops::offboard::OffboardRun,
    /// Where the journal goes; `None` refuses the run (no journal, no writes).
    pub journal: Option<PathBuf>,
    pub cancel: Cancel,
}

/// Two jobs are the same run of the same accounts (for command assertions).
impl PartialEq for OffboardJob {
    fn eq(&self, other: &OffboardJob) -> bool {
        let ids = |job: &OffboardJob| {
            job.run
                .plan
                .accounts
                .iter()
                .map(|p| p.account.id)
                .collect::<Vec<_>>()
        };
        self.run.meta.run_id == other.run.meta.run_id
            && self.journal == other.journal
            && ids(self) == ids(other)
    }
}

impl Eq for OffboardJob {}

/// A bulk run for the worker: the run (ops' one description of it), where
/// it is journaled, and how it is stopped.
#[derive(Debug, Clone)]
pub struct BulkJob {
    pub request: RunRequest,
    /// Where the journal goes; `None` refuses the run (no journal, no writes).
    pub journal: Option<PathBuf>,
    pub cancel: Cancel,
}

/// Two jobs are the same run on the same accounts (for command assertions).
impl PartialEq for BulkJob {
    fn eq(&self, other: &BulkJob) -> bool {
        let ids = |job: &BulkJob| job.request.targets.iter().map(|u| u.id).collect::<Vec<_>>();
        self.request.meta.run_id == other.request.meta.run_id
            && self.request.action == other.request.action
            && self.request.concurrency == other.request.concurrency
            && self.journal == other.journal
            && ids(self) == ids(other)
    }
}

impl Eq for BulkJob {}

pub use crate::ops::account::RequestBody;

impl Command {
    pub fn id(&self) -> Option<RequestId> {
        match self {
            Command::LoadUsers { id, .. }
            | Command::LoadOrganizations { id }
            | Command::LoadLimits { id }
            | Command::Cancel { id }
            | Command::LoadAccount { id, .. }
            | Command::LoadUserGroups { id }
            | Command::SaveAccount { id, .. }
            | Command::LoadRunAs { id, .. }
            | Command::DeleteUser { id, .. }
            | Command::RunBulk { id, .. }
            | Command::ReadBack { id, .. }
            | Command::LoadJournal { id, .. }
            | Command::LoadJournalRun { id, .. }
            | Command::PlanUndo { id, .. }
            | Command::LoadReview { id, .. }
            | Command::SaveReviewSheet { id, .. }
            | Command::PlanOffboard { id, .. }
            | Command::RunOffboard { id, .. }
            | Command::PlanImport { id, .. }
            | Command::RunImport { id, .. }
            | Command::RunImportUndo { id, .. } => Some(*id),
            Command::Shutdown => None,
        }
    }
}

/// What the worker reports back.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// One page of accounts (already narrowed to the requested Organization).
    UsersPage {
        id: RequestId,
        users: Vec<User>,
        /// Total the server reported for the whole listing, if any.
        total: Option<u64>,
    },
    /// The listing is complete.
    UsersDone {
        id: RequestId,
    },
    /// Something the user should know about a listing (fields the instance
    /// sent in a form rollcall cannot read), for the status line.
    Note {
        id: RequestId,
        text: String,
    },
    Organizations {
        id: RequestId,
        names: Vec<String>,
    },
    Limits {
        id: RequestId,
        limits: Vec<OrgLimits>,
    },
    /// The request failed; `what` names it for the status line.
    Failed {
        id: RequestId,
        what: &'static str,
        error: ApiError,
    },
    /// The account asked for with `LoadAccount`.
    Account {
        id: RequestId,
        user: Box<User>,
    },
    UserGroups {
        id: RequestId,
        groups: Vec<GroupRef>,
    },
    /// `SaveAccount` wrote the account; `problem` says what of the rest
    /// did not happen (fields not applied, groups, token), worded by
    /// `ops::account`. A token generated follows as `TokenGenerated`.
    AccountSaved {
        id: RequestId,
        user: Box<User>,
        created: bool,
        problem: Option<String>,
        /// A new API account's secret key, when the instance returns it
        /// (extension `apiSecretKey`): shown once, never stored.
        secret_key: Option<Secret>,
    },
    /// Shown once; never stored, logged or journalled.
    TokenGenerated {
        id: RequestId,
        account_id: i64,
        token: Secret,
        expires: Option<chrono::DateTime<chrono::Utc>>,
    },
    RunAs {
        id: RequestId,
        account_id: i64,
        run_as: RunAs,
    },
    UserDeleted {
        id: RequestId,
        account_id: i64,
    },
    /// One account of a bulk run finished (or was not sent).
    BulkRow {
        id: RequestId,
        result: RowResult,
    },
    /// The bulk run is over: every account's result, in target order.
    BulkDone {
        id: RequestId,
        results: Vec<RowResult>,
    },
    /// What `Command::ReadBack` found.
    ReadBack {
        id: RequestId,
        found: bulk::ReadBack,
    },
    /// The journal's runs, newest first, and how many lines were
    /// unreadable; or why the journal could not be read.
    Journal {
        id: RequestId,
        runs: Result<Vec<RunSummary>, String>,
        bad_lines: usize,
    },
    JournalRun {
        id: RequestId,
        run_id: String,
        rows: Result<Vec<RunRow>, String>,
    },
    UndoPlanned {
        id: RequestId,
        plan: Result<Box<UndoPlan>, String>,
    },
    /// A review's sheets by file name, as read from `dir`.
    Review {
        id: RequestId,
        dir: PathBuf,
        sheets: Result<Vec<(String, Sheet)>, String>,
    },
    ReviewSaved {
        id: RequestId,
        file: String,
        result: Result<(), String>,
    },
    /// An import's plan (the file's name for the preview, the
    /// Organization it creates in), or why there is none.
    ImportPlanned {
        id: RequestId,
        file: String,
        org: String,
        plan: Result<Box<ops::import::ImportPlan>, String>,
    },
    /// The plan of an import run's undo (`PlanUndo` of an import run).
    ImportUndoPlanned {
        id: RequestId,
        plan: Result<Box<ops::undo::ImportUndoPlan>, String>,
    },
    /// An offboarding plan, or why there is none.
    OffboardPlanned {
        id: RequestId,
        plan: Result<Box<ops::offboard::OffboardPlan>, String>,
    },
    /// One step of one account ended (or was planned not to send).
    OffboardStep {
        id: RequestId,
        event: ops::offboard::StepEvent,
    },
    /// The offboarding run is over: each account's checklist as it ended,
    /// or why it did not start.
    OffboardDone {
        id: RequestId,
        lists: Result<Vec<crate::domain::offboard::Checklist>, String>,
    },
}

impl Event {
    pub fn id(&self) -> RequestId {
        match self {
            Event::UsersPage { id, .. }
            | Event::UsersDone { id }
            | Event::Note { id, .. }
            | Event::Organizations { id, .. }
            | Event::Limits { id, .. }
            | Event::Failed { id, .. }
            | Event::Account { id, .. }
            | Event::UserGroups { id, .. }
            | Event::AccountSaved { id, .. }
            | Event::TokenGenerated { id, .. }
            | Event::RunAs { id, .. }
            | Event::UserDeleted { id, .. }
            | Event::BulkRow { id, .. }
            | Event::BulkDone { id, .. }
            | Event::ReadBack { id, .. }
            | Event::Journal { id, .. }
            | Event::JournalRun { id, .. }
            | Event::UndoPlanned { id, .. }
            | Event::Review { id, .. }
            | Event::ReviewSaved { id, .. }
            | Event::OffboardPlanned { id, .. }
            | Event::ImportPlanned { id, .. }
            | Event::ImportUndoPlanned { id, .. }
            | Event::OffboardStep { id, .. }
            | Event::OffboardDone { id, .. } => *id,
        }
    }
}

/// The console's handle on the worker task.
pub struct Worker {
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Starts the worker on the current tokio runtime.
    pub fn spawn(client: Client) -> (Worker, mpsc::UnboundedReceiver<Event>) {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(client, command_rx, events));
        (Worker { commands, task }, event_rx)
    }

    /// Queues a command; false when the worker has stopped.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// Stops everything and returns once nothing the worker started still
    /// runs, so the runtime can be dropped: a request polled while the
    /// runtime shuts down panics inside tokio. Bulk runs are cancelled and
    /// their requests in flight get `grace` to finish (their outcomes are
    /// journalled); then they are dropped, and their intents stay in the
    /// journal as unfinished.
    pub async fn shutdown(self) {
        let _ = self.commands.send(Command::Shutdown);
        // The worker's own wait is bounded by the grace; this bound only
        // guards against a worker that cannot stop at all.
        let _ = tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(2), self.task).await;
    }
}

/// A bulk run on its own thread: how to stop it gently and at once.
struct BulkTask {
    cancel: Cancel,
    /// Sending (or dropping) makes the run drop its requests in flight.
    abort: oneshot::Sender<()>,
    done: JoinHandle<()>,
}

impl BulkTask {
    /// Runs the future `run` makes on a blocking thread driving the same
    /// runtime: the runs' futures (`bulk::execute`'s stream closure, an
    /// import undo's account stream) are not provably Send, a rustc
    /// limitation. A run is stopped through `cancel`, never aborted
    /// mid-request; only shutting down out of time drops it, and with it
    /// its requests in flight.
    fn spawn<F, Fut>(cancel: Cancel, run: F) -> BulkTask
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        let handle = tokio::runtime::Handle::current();
        let (abort, aborted) = oneshot::channel::<()>();
        let done = tokio::task::spawn_blocking(move || {
            handle.block_on(async move {
                tokio::select! {
                    () = run() => {}
                    _ = aborted => {}
                }
            });
        });
        BulkTask {
            cancel,
            abort,
            done,
        }
    }
}

/// How long `Command::Shutdown` lets the requests in flight of a bulk run
/// finish: long enough for a healthy answer, short enough to wait for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

async fn run(
    client: Client,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut running: HashMap<RequestId, AbortHandle> = HashMap::new();
    let mut bulks: Vec<BulkTask> = Vec::new();
    let mut listing: Option<RequestId> = None;
    // A review's sheets are read and written one at a time, in the order
    // asked: a later decision's save never lands before an earlier one's.
    let (review_tx, mut review_rx) = mpsc::unbounded_channel::<Command>();
    let review_events = events.clone();
    let instance = client.api_path().to_string();
    let reviews = tokio::spawn(async move {
        while let Some(command) = review_rx.recv().await {
            review_work(command, &instance, review_events.clone()).await;
        }
    });
    while let Some(command) = commands.recv().await {
        running.retain(|_, task| !task.is_finished());
        bulks.retain(|bulk| !bulk.done.is_finished());
        match command {
            Command::LoadUsers {
                id,
                org,
                query,
                groups_from_user_groups,
            } => {
                // The latest listing wins: the old one would only be dropped.
                if let Some(old) = listing.take().and_then(|old| running.remove(&old)) {
                    old.abort();
                }
                listing = Some(id);
                let listing = Listing {
                    org,
                    query,
                    groups_from_user_groups,
                };
                let task = tokio::spawn(load_users(client.clone(), id, listing, events.clone()));
                running.insert(id, task.abort_handle());
            }
            Command::LoadOrganizations { id } => {
                let (client, events) = (client.clone(), events.clone());
                let task = tokio::spawn(async move {
                    let event = match client.owners().await {
                        Ok(owners) => Event::Organizations {
                            id,
                            names: organization_names(owners),
                        },
                        Err(error) => Event::Failed {
                            id,
                            what: "loading Organizations",
                            error,
                        },
                    };
                    let _ = events.send(event);
                });
                running.insert(id, task.abort_handle());
            }
            Command::LoadLimits { id } => {
                let (client, events) = (client.clone(), events.clone());
                let task = tokio::spawn(async move {
                    let event = match client.org_limits().await {
                        Ok(limits) => Event::Limits { id, limits },
                        Err(error) => Event::Failed {
                            id,
                            what: "loading seat limits",
                            error,
                        },
                    };
                    let _ = events.send(event);
                });
                running.insert(id, task.abort_handle());
            }
            Command::Cancel { id } => {
                if let Some(task) = running.remove(&id) {
                    task.abort();
                }
            }
            Command::RunBulk { id, job } => {
                let (client, events) = (client.clone(), events.clone());
                let cancel = job.cancel.clone();
                bulks.push(BulkTask::spawn(cancel, move || {
                    run_bulk(client, id, job, events)
                }));
            }
            Command::LoadReview { .. } | Command::SaveReviewSheet { .. } => {
                let _ = review_tx.send(command);
            }
            Command::RunOffboard { id, job } => {
                let (client, events) = (client.clone(), events.clone());
                let cancel = job.cancel.clone();
                bulks.push(BulkTask::spawn(cancel, move || {
                    run_offboard(client, id, *job, events)
                }));
            }
            Command::PlanImport { id, ask } => {
                let task = tokio::spawn(plan_import(client.clone(), id, *ask, events.clone()));
                running.insert(id, task.abort_handle());
            }
            Command::RunImport { .. } | Command::RunImportUndo { .. } => {
                let Some(id) = command.id() else { continue };
                let (client, events) = (client.clone(), events.clone());
                let cancel = match &command {
                    Command::RunImport { job, .. } => job.cancel.clone(),
                    Command::RunImportUndo { job, .. } => job.cancel.clone(),
                    _ => continue,
                };
                bulks.push(BulkTask::spawn(cancel, move || {
                    run_import(client, id, command, events)
                }));
            }
            Command::PlanOffboard { id, ask } => {
                let task = tokio::spawn(plan_offboard(client.clone(), id, *ask, events.clone()));
                running.insert(id, task.abort_handle());
            }
            Command::Shutdown => break,
            Command::PlanUndo { .. } => {
                // An import's undo plan reads accounts through a stream
                // whose future is not provably Send: run like a run, and
                // dropped at shutdown like one.
                let (client, events) = (client.clone(), events.clone());
                bulks.push(BulkTask::spawn(Cancel::default(), move || {
                    plan_undo(client, command, events)
                }));
            }
            Command::LoadJournal { .. } | Command::LoadJournalRun { .. } => {
                let Some(id) = command.id() else { continue };
                let task = tokio::spawn(journal_work(command, events.clone()));
                running.insert(id, task.abort_handle());
            }
            other => {
                let Some(id) = other.id() else { continue };
                let task = tokio::spawn(account_work(client.clone(), other, events.clone()));
                running.insert(id, task.abort_handle());
            }
        }
    }
    for task in running.values() {
        task.abort();
    }
    // Saves already asked for finish: a decision on screen is on disk.
    drop(review_tx);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, reviews).await;
    stop_bulks(bulks, SHUTDOWN_GRACE).await;
}

/// Cancels every bulk run, waits up to `grace` for the requests in flight,
/// then drops what is left and waits for the threads to let go of them.
async fn stop_bulks(bulks: Vec<BulkTask>, grace: Duration) {
    if bulks.is_empty() {
        return;
    }
    tracing::info!(
        runs = bulks.len(),
        grace_ms = grace.as_millis() as u64,
        "console closing: cancelling bulk runs, requests in flight may finish"
    );
    for bulk in &bulks {
        bulk.cancel.cancel();
    }
    let deadline = tokio::time::Instant::now() + grace;
    let mut aborts = Vec::new();
    for bulk in bulks {
        let BulkTask {
            abort, mut done, ..
        } = bulk;
        if tokio::time::timeout_at(deadline, &mut done).await.is_err() {
            tracing::info!(
                "bulk run still busy after the grace: its requests in flight are dropped"
            );
            let _ = abort.send(());
            aborts.push(done);
        } else {
            drop(abort);
        }
    }
    for done in aborts {
        // Dropping a future takes no time; this only waits for the thread.
        let _ = tokio::time::timeout(Duration::from_secs(1), done).await;
    }
}

/// The account-administration commands: one request (or a short chain)
/// each, answered by one event or `Failed`.
async fn account_work(client: Client, command: Command, events: mpsc::UnboundedSender<Event>) {
    let failed = |id, what, error| Event::Failed { id, what, error };
    let event = match command {
        Command::LoadAccount {
            id,
            account_id,
            fields,
        } => match client.get_user(account_id, &fields).await {
            Ok(user) => Event::Account {
                id,
                user: Box::new(user),
            },
            Err(e) => failed(id, "reading the account", e),
        },
        Command::LoadUserGroups { id } => match account::group_options(&client).await {
            Ok(groups) => Event::UserGroups { id, groups },
            Err(e) => failed(id, "loading the user groups", e),
        },
        Command::SaveAccount {
            id,
            account_id,
            body,
            groups,
            generate_token,
        } => {
            let request = SaveRequest {
                account: account_id,
                body,
                groups,
                token: generate_token.map(|expiration_days| TokenRequest { expiration_days }),
            };
            let saved = match account::save(&client, &request).await {
                Ok(saved) => saved,
                Err(failure) => {
                    let _ = events.send(failed(id, failure.step.doing(), failure.error));
                    return;
                }
            };
            let problem = saved.problem();
            let account_id = saved.user.id;
            let _ = events.send(Event::AccountSaved {
                id,
                user: Box::new(saved.user),
                created: saved.created,
                problem,
                secret_key: saved.secret_key,
            });
            // The token follows the account it belongs to; a failure to
            // generate one is in `problem`.
            match saved.token {
                Some(token) => Event::TokenGenerated {
                    id,
                    account_id,
                    token: token.token,
                    expires: token.expires,
                },
                None => return,
            }
        }
        Command::LoadRunAs { id, account_id } => match client.run_as(account_id).await {
            Ok(run_as) => Event::RunAs {
                id,
                account_id,
                run_as,
            },
            Err(e) => failed(id, "reading what runs as the account", e),
        },
        Command::ReadBack { id, action, ids } => Event::ReadBack {
            id,
            found: bulk::read_back(&client, action, &ids, &[], 8).await,
        },
        Command::DeleteUser {
            id,
            account_id,
            reassign_playbooks_to,
            reassign_jobs_to,
        } => {
            let reassign = Reassign {
                playbooks_to: reassign_playbooks_to,
                jobs_to: reassign_jobs_to,
            };
            match account::delete(&client, account_id, reassign).await {
                Ok(()) => Event::UserDeleted { id, account_id },
                Err(failure) => failed(id, failure.step.doing(), failure.error),
            }
        }
        _ => return,
    };
    let _ = events.send(event);
}

/// What `Command::LoadUsers` asks for.
struct Listing {
    org: Option<String>,
    query: UserQuery,
    groups_from_user_groups: bool,
}

async fn load_users(
    client: Client,
    id: RequestId,
    listing: Listing,
    events: mpsc::UnboundedSender<Event>,
) {
    let Listing {
        org,
        query,
        groups_from_user_groups,
    } = listing;
    // Read before the pages, so every page arrives with its groups. A
    // failed read leaves groups unknown ("?"), never wrongly empty.
    let membership = if groups_from_user_groups {
        Membership::load(&client).await.ok().flatten()
    } else {
        None
    };
    let page_events = events.clone();
    let mut on_page = move |page: Page<User>| {
        let mut users = keep_org(page.items, org.as_deref());
        if let Some(m) = &membership {
            m.fill(&mut users);
        }
        let _ = page_events.send(Event::UsersPage {
            id,
            users,
            total: page.total,
        });
    };
    let result = client.list_users_with(&query, &mut on_page).await;
    // Pages sent ahead at the opening were for the first listing; whatever
    // it did not take (it asked for another Organization) serves nothing.
    client.drop_prefetched();
    let odd: Vec<String> = crate::domain::lenient::take_odd_fields()
        .iter()
        .map(ToString::to_string)
        .collect();
    if !odd.is_empty() {
        let _ = events.send(Event::Note {
            id,
            text: odd.join("; "),
        });
    }
    let event = match result {
        Ok(_) => Event::UsersDone { id },
        Err(error) => Event::Failed {
            id,
            what: "loading accounts",
            error,
        },
    };
    let _ = events.send(event);
}

async fn plan_import(
    client: Client,
    id: RequestId,
    ask: ImportAsk,
    events: mpsc::UnboundedSender<Event>,
) {
    let session = ask.asker.session(&client);
    let org = ask
        .org
        .clone()
        .unwrap_or_else(|| session.actor.home_org.clone());
    let plan = ops::import::plan_file(&session, &ask.path, ask.org.as_deref(), false)
        .await
        .map(Box::new)
        .map_err(|e| format!("{e:#}"));
    let _ = events.send(Event::ImportPlanned {
        id,
        file: ask.path.display().to_string(),
        org,
        plan,
    });
}

/// An import or an import's undo, journaled like every run: a `BulkRow` per
/// row, then `BulkDone`.
async fn run_import(
    client: Client,
    id: RequestId,
    command: Command,
    events: mpsc::UnboundedSender<Event>,
) {
    enum Work {
        Import(Box<ops::import::ImportRun>, Cancel),
        Undo(Box<ImportUndoJob>),
    }
    let (work, journal_path) = match command {
        Command::RunImport { job, .. } => {
            let job = *job;
            let run = ops::import::ImportRun {
                meta: job.meta,
                org: job.org,
                plan: job.plan,
                concurrency: job.concurrency,
                tokens: None,
            };
            (Work::Import(Box::new(run), job.cancel), job.journal)
        }
        Command::RunImportUndo { job, .. } => {
            let journal = job.journal.clone();
            (Work::Undo(job), journal)
        }
        _ => return,
    };
    let (header, meta) = match &work {
        Work::Import(run, _) => (run.header(client.activity_log()), run.meta.clone()),
        Work::Undo(job) => (
            ops::undo::import_undo_header(&job.meta, &job.plan, client.activity_log()),
            job.meta.clone(),
        ),
    };
    let begun = {
        let client = client.clone();
        begin_off_thread(move || ops::run::begin_with(&client, journal_path.as_deref(), &header))
            .await
    };
    let journal = match begun {
        Ok(journal) => journal,
        Err(refused) => {
            tracing::warn!(run_id = %meta.run_id, reason = %refused, "import run not started");
            let results = vec![RowResult {
                id: 0,
                user_name: "the run".to_string(),
                outcome: bulk::RowOutcome::Failed(format!("not sent: {refused}")),
            }];
            let _ = events.send(Event::BulkDone { id, results });
            return;
        }
    };
    let row_events = events.clone();
    let mut on_row = move |row: &RowResult| {
        let _ = row_events.send(Event::BulkRow {
            id,
            result: row.clone(),
        });
    };
    let results = match work {
        Work::Import(run, cancel) => {
            let mut on_result = |row: &ops::import::ImportRowResult| on_row(&row.as_row());
            ops::import::execute(&client, journal, &run, &cancel, &mut on_result)
                .await
                .iter()
                .map(ops::import::ImportRowResult::as_row)
                .collect()
        }
        Work::Undo(job) => {
            ops::undo::execute_import_undo(
                &client,
                journal,
                &job.meta,
                &job.plan,
                job.concurrency,
                &job.cancel,
                &mut on_row,
            )
            .await
        }
    };
    let _ = events.send(Event::BulkDone { id, results });
}

/// A session for the operations layer from the worker's client and what
/// the console knows of the actor and the instance.
fn session_of(client: &Client, ask: &OffboardAsk) -> ops::session::Session {
    ops::session::Session {
        client: client.clone(),
        actor: ask.actor.clone(),
        capabilities: ask.capabilities.clone(),
        settings: ask.settings.clone(),
        instance: client.api_path().to_string(),
        read_only: client.is_read_only(),
        concurrency: Some(ask.concurrency),
    }
}

/// How the console names an heir (rule 8's sentence).
fn console_heir(what: crate::domain::run_as::Inheritance) -> String {
    match what {
        crate::domain::run_as::Inheritance::Playbooks => {
            "with :offboard playbooks=ACCOUNT".to_string()
        }
        crate::domain::run_as::Inheritance::JobApps => {
            "with :offboard jobs=API_ACCOUNT".to_string()
        }
    }
}

async fn plan_offboard(
    client: Client,
    id: RequestId,
    ask: OffboardAsk,
    events: mpsc::UnboundedSender<Event>,
) {
    let session = session_of(&client, &ask);
    let heirs = ops::offboard::resolve_heirs(
        &session,
        ask.playbooks_to.as_deref(),
        ask.jobs_to.as_deref(),
        ("playbooks=", "jobs="),
    )
    .await;
    let plan = match heirs {
        Ok(heirs) => Ok(Box::new(
            ops::offboard::plan(
                &session,
                &ask.ids,
                heirs,
                ask.delete,
                console_heir,
                ask.concurrency,
            )
            .await,
        )),
        Err(e) => Err(format!("{e:#}")),
    };
    let _ = events.send(Event::OffboardPlanned { id, plan });
}

/// Opens a run's journal (a file and an fsync) off the async threads.
async fn begin_off_thread<T: Send + 'static>(
    begin: impl FnOnce() -> Result<T, ops::run::Refused> + Send + 'static,
) -> Result<T, ops::run::Refused> {
    tokio::task::spawn_blocking(begin)
        .await
        .unwrap_or_else(|e| Err(ops::run::Refused::Journal(e.to_string())))
}

async fn run_offboard(
    client: Client,
    id: RequestId,
    job: OffboardJob,
    events: mpsc::UnboundedSender<Event>,
) {
    let begun = {
        let (client, journal, run) = (client.clone(), job.journal.clone(), job.run.clone());
        begin_off_thread(move || ops::offboard::begin(&client, journal.as_deref(), &run)).await
    };
    let lists = match begun {
        Ok(journal) => {
            let step_events = events.clone();
            let mut on_step = move |event: &ops::offboard::StepEvent| {
                let _ = step_events.send(Event::OffboardStep {
                    id,
                    event: event.clone(),
                });
            };
            Ok(ops::offboard::execute(&client, journal, &job.run, &job.cancel, &mut on_step).await)
        }
        Err(refused) => {
            tracing::warn!(run_id = %job.run.meta.run_id, reason = %refused, "offboarding run not started");
            Err(refused.to_string())
        }
    };
    let _ = events.send(Event::OffboardDone { id, lists });
}

async fn run_bulk(
    client: Client,
    id: RequestId,
    job: BulkJob,
    events: mpsc::UnboundedSender<Event>,
) {
    // The journal (and its header line) first, off the async threads: a
    // file and an fsync. No journal, no writes.
    let begun = {
        let (client, journal, request) = (client.clone(), job.journal.clone(), job.request.clone());
        begin_off_thread(move || ops::run::begin(&client, journal.as_deref(), &request)).await
    };
    let results = match begun {
        Ok(journal) => {
            let row_events = events.clone();
            let mut on_result = move |row: &RowResult| {
                let _ = row_events.send(Event::BulkRow {
                    id,
                    result: row.clone(),
                });
            };
            ops::run::execute(&client, journal, &job.request, &job.cancel, &mut on_result)
                .await
                .results
        }
        Err(refused) => {
            tracing::warn!(run_id = %job.request.meta.run_id, reason = %refused, "bulk run not started");
            let rows = job.request.refused_rows(&refused.to_string());
            for result in &rows {
                let _ = events.send(Event::BulkRow {
                    id,
                    result: result.clone(),
                });
            }
            rows
        }
    };
    let _ = events.send(Event::BulkDone { id, results });
}

/// An access review's sheets, read and written off the async threads
/// through `ops::review`.
async fn review_work(command: Command, instance: &str, events: mpsc::UnboundedSender<Event>) {
    let event = match command {
        Command::LoadReview { id, dir } => {
            let at = dir.clone();
            let sheets = tokio::task::spawn_blocking(move || ops::review::load(&at))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| format!("{e:#}")))
                .and_then(|review| {
                    // Its sheets name accounts by their ids on the instance
                    // it was started on; decided here, they would be
                    // judged against other people.
                    if review.snapshot.instance == instance {
                        Ok(review.sheets)
                    } else {
                        Err(format!(
                            "{} was started on {}, and this console is on {}: decide it in a console on that instance",
                            crate::domain::text::sanitize(&dir.display().to_string()),
                            crate::domain::text::sanitize(&review.snapshot.instance),
                            instance
                        ))
                    }
                });
            Event::Review { id, dir, sheets }
        }
        Command::SaveReviewSheet {
            id,
            dir,
            file,
            mut sheet,
        } => {
            let name = file.clone();
            let result = tokio::task::spawn_blocking(move || {
                ops::review::save_sheet(&dir, &name, &mut sheet)
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| format!("{e:#}")));
            Event::ReviewSaved { id, file, result }
        }
        _ => return,
    };
    let _ = events.send(event);
}

/// The journal's view and undo planning: the file is read off the async
/// threads, undo planning is `ops::undo`'s.
/// `PlanUndo`: an import run's own plan, else the inverse action's.
async fn plan_undo(client: Client, command: Command, events: mpsc::UnboundedSender<Event>) {
    let Command::PlanUndo {
        id,
        journal,
        run_id,
        fields,
        concurrency,
        asker,
    } = command
    else {
        return;
    };
    // An import's undo deletes what it created: its own plan.
    if let (Some(path), Some(run_id)) = (journal.as_ref(), run_id.as_deref()) {
        let is_import = ops::undo::read_run(path, run_id)
            .await
            .is_ok_and(|(_, run)| run.action == ops::import::IMPORT_ACTION);
        if is_import {
            let session = asker.session(&client);
            let plan = ops::undo::plan_import_run(&session, path, run_id, concurrency)
                .await
                .map(Box::new)
                .map_err(|e| format!("{e:#}"));
            let _ = events.send(Event::ImportUndoPlanned { id, plan });
            return;
        }
    }
    let plan = match journal {
        None => Err(NO_JOURNAL.to_string()),
        Some(path) => {
            let source = ops::undo::Source {
                client: &client,
                instance: client.api_path(),
                fields,
                concurrency,
            };
            ops::undo::plan(&source, &path, run_id.as_deref())
                .await
                .map(Box::new)
                .map_err(|e| format!("{e:#}"))
        }
    };
    let _ = events.send(Event::UndoPlanned { id, plan });
}

async fn journal_work(command: Command, events: mpsc::UnboundedSender<Event>) {
    let read = |path: Option<PathBuf>| async move {
        let path = path.ok_or_else(|| NO_JOURNAL.to_string())?;
        let shown = path.display().to_string();
        tokio::task::spawn_blocking(move || journal::read(&path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot read the journal {shown}: {e}"))
    };
    let event = match command {
        Command::LoadJournal { id, journal } => match read(journal).await {
            Ok(contents) => {
                let mut runs = journal::runs_of(&contents);
                runs.sort_by_key(|run| std::cmp::Reverse(run.started));
                Event::Journal {
                    id,
                    runs: Ok(runs),
                    bad_lines: contents.bad_lines.len(),
                }
            }
            Err(why) => Event::Journal {
                id,
                runs: Err(why),
                bad_lines: 0,
            },
        },
        Command::LoadJournalRun {
            id,
            journal,
            run_id,
        } => {
            let rows = read(journal)
                .await
                .map(|contents| journal::run_rows(&contents.entries, &run_id));
            Event::JournalRun { id, run_id, rows }
        }
        _ => return,
    };
    let _ = events.send(event);
}

/// Accounts of `org` only; an account without an owner is kept, since the
/// server already limits what the caller may list.
fn keep_org(users: Vec<User>, org: Option<&str>) -> Vec<User> {
    match org {
        None => users,
        Some(org) => users
            .into_iter()
            .filter(|u| u.owner.as_deref().is_none_or(|o| o == org))
            .collect(),
    }
}

fn organization_names(owners: Vec<Owner>) -> Vec<String> {
    let mut names: Vec<String> = owners
        .into_iter()
        .filter(|o| o.kind.eq_ignore_ascii_case("Organization"))
        .map(|o| o.name)
        .collect();
    names.sort_by_key(|n| n.to_lowercase());
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, owner: Option<&str>) -> User {
        User {
            id,
            user_name: format!("u{id}"),
            owner: owner.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn keep_org_drops_other_organizations_only() {
        let users = vec![user(1, Some("A")), user(2, Some("B")), user(3, None)];
        let kept: Vec<i64> = keep_org(users.clone(), Some("A"))
            .iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(kept, vec![1, 3]);
        assert_eq!(keep_org(users, None).len(), 3);
    }

    #[test]
    fn organization_names_are_organizations_sorted() {
        let owner = |name: &str, kind: &str| Owner {
            id: 1,
            name: name.into(),
            kind: kind.into(),
            owner_role: None,
            perm_users: None,
            perm_members: None,
            other: Default::default(),
        };
        let names = organization_names(vec![
            owner("zeta", "Organization"),
            owner("Comm", "Community"),
            owner("Alpha", "Organization"),
        ]);
        assert_eq!(names, vec!["Alpha".to_string(), "zeta".to_string()]);
    }
}

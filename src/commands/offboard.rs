//! Bulk offboarding from scripts: `users disable|enable|unlock|reset-password|
//! reset-mfa`, `journal` and `undo`.
//!
//! The logic (select, assess, run, plan an undo) is separate from the
//! printing and prompting, so tests drive it directly.

use super::users::fetch_listing;
use crate::bulk::{Cancel, Reassign, RowOutcome, RowResult, RunMeta};
use crate::domain::filter::Filter;
use crate::domain::preflight::{preflight, BulkAction, Preflight};
use crate::domain::text::sanitize;
use crate::domain::User;
use crate::journal::{self, Journal, RowState, RunSummary};
use crate::ops::session::Session;
use anyhow::{anyhow, bail, Context};
use chrono::Utc;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::ops::run::{self as ops_run, RunRequest, MAX_CONCURRENCY};
pub use crate::ops::run::{journal_path, RunReport, JOURNAL_ENV};
use crate::ops::undo;

/// `--concurrency N`: 1 to MAX_CONCURRENCY (every command that takes it).
pub(crate) fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(format!("expected a number from 1 to {MAX_CONCURRENCY}")),
    }
}

/// `users disable|enable|unlock|reset-password|reset-mfa`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BulkArgs {
    /// Which accounts, e.g. 'login>6m status:ok -type:api' (see --help).
    #[arg(long, value_name = "EXPR", long_help = crate::domain::filter::HELP)]
    pub filter: String,
    /// Only the accounts of this Organization.
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,
    /// Show what would change, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Requests in flight at once [default: the profile's concurrency, else 8].
    #[arg(long, value_name = "N", value_parser = parse_concurrency)]
    pub concurrency: Option<usize>,
    /// The journal file [default: journal.jsonl in rollcall's data directory].
    #[arg(long, value_name = "PATH", env = JOURNAL_ENV)]
    pub journal: Option<PathBuf>,
}

/// `journal`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct JournalArgs {
    /// The journal file [default: journal.jsonl in rollcall's data directory].
    #[arg(long, value_name = "PATH", env = JOURNAL_ENV)]
    pub journal: Option<PathBuf>,
    /// Show one run's accounts (a unique prefix of the id is enough).
    #[arg(long = "run", value_name = "RUN_ID")]
    pub run: Option<String>,
    /// text for people; csv or json (with --run): one row per account and
    /// action with its outcome and message, for tools.
    #[arg(long, value_enum, default_value_t = JournalFormat::Text)]
    pub format: JournalFormat,
}

/// `journal --format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JournalFormat {
    #[default]
    Text,
    Csv,
    Json,
}

/// `undo RUN_ID`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct UndoArgs {
    /// The run to put back (a unique prefix of the id is enough).
    #[arg(value_name = "RUN_ID")]
    pub run_id: String,
    /// Show what would change, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Requests in flight at once [default: the profile's concurrency, else 8].
    #[arg(long, value_name = "N", value_parser = parse_concurrency)]
    pub concurrency: Option<usize>,
    /// The journal file [default: journal.jsonl in rollcall's data directory].
    #[arg(long, value_name = "PATH", env = JOURNAL_ENV)]
    pub journal: Option<PathBuf>,
}

/// `--concurrency`, else the profile's `concurrency`, else 8.
pub fn effective_concurrency(session: &Session, explicit: Option<usize>) -> usize {
    ops_run::concurrency(explicit, session.concurrency)
}

// ---------------------------------------------------------------------------
// Logic
// ---------------------------------------------------------------------------

/// A bulk selection and what the action would do to each account.
#[derive(Debug, Clone)]
pub struct Selection {
    pub action: BulkAction,
    /// Every selected account, in selection order.
    pub users: Vec<User>,
    pub preflight: Preflight,
}

impl Selection {
    /// The accounts that will be sent, in selection order.
    pub fn targets(&self) -> Vec<User> {
        let by_id: HashMap<i64, &User> = self.users.iter().map(|u| (u.id, u)).collect();
        self.preflight
            .will_change
            .iter()
            .filter_map(|id| by_id.get(id).map(|u| (*u).clone()))
            .collect()
    }
}

/// Sorts `users` by verdict for `action`, as the session's actor.
pub fn assess(session: &Session, action: BulkAction, users: Vec<User>) -> Selection {
    let refs: Vec<&User> = users.iter().collect();
    let preflight = preflight(&session.actor, &session.settings, action, &refs);
    Selection {
        action,
        users,
        preflight,
    }
}

/// Lists the accounts matching `filter` (and `org`) and assesses them.
pub async fn select(
    session: &Session,
    action: BulkAction,
    org: Option<&str>,
    filter: &str,
) -> anyhow::Result<Selection> {
    if filter.trim().is_empty() && org.is_none() {
        bail!("--filter is empty: that selects every account you can see; narrow it (e.g. 'login>180d') or name an --org");
    }
    let parsed = Filter::parse(filter).map_err(|e| anyhow!("--filter: {e}"))?;
    let mut notes = Vec::new();
    let listing = fetch_listing(session, org, &parsed, Utc::now(), &mut |n| notes.push(n)).await?;
    // An account the filter cannot decide might belong in the run or not:
    // acting on the rest would be a guess, so nothing is sent.
    if !listing.undecided.is_empty() {
        let why: Vec<String> = listing.undecided.iter().map(ToString::to_string).collect();
        bail!(
            "--filter cannot be decided for every account, so nothing was sent: {}; narrow it with terms the instance shows you",
            why.join("; ")
        );
    }
    for n in notes {
        eprintln!("note: {n}");
    }
    Ok(assess(session, action, listing.users))
}

/// How a run is recorded and executed.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_id: String,
    pub concurrency: usize,
    pub filter: Option<String>,
    pub org: Option<String>,
    pub undo_of: Option<String>,
    /// The access review whose decisions the run carries out.
    pub review: Option<String>,
    /// A delete's new owners of Run As playbooks and job apps (rule 8).
    pub reassign: Reassign,
}

/// Whether a run goes on to its question: a dry run and an empty run end
/// here with one line each, and a read-only session is refused.
pub fn ready_to_send(
    session: &Session,
    dry_run: bool,
    count: usize,
    out: &mut dyn Write,
) -> anyhow::Result<bool> {
    if dry_run {
        writeln!(out, "Dry run: nothing sent.")?;
        return Ok(false);
    }
    if count == 0 {
        writeln!(out, "Nothing to do.")?;
        return Ok(false);
    }
    refuse_read_only(session)?;
    Ok(true)
}

/// A read-only session sends no write: said before anything is opened.
pub(crate) fn refuse_read_only(session: &Session) -> anyhow::Result<()> {
    if session.read_only {
        bail!(
            "this session is read-only: nothing was sent (use --dry-run to see what would change)"
        );
    }
    Ok(())
}

/// The run a selection and its options make (ops' one description of a run).
pub fn run_request(session: &Session, selection: &Selection, options: &RunOptions) -> RunRequest {
    let users: HashMap<i64, &User> = selection.users.iter().map(|u| (u.id, u)).collect();
    let mut request = RunRequest::new(
        &session.instance,
        &session.actor.user_name,
        selection.action,
        &selection.preflight,
        &users,
    );
    request.meta.run_id = options.run_id.clone();
    request.filter = options.filter.clone();
    request.org = options.org.clone();
    request.undo_of = options.undo_of.clone();
    request.review = options.review.clone();
    request.reassign = options.reassign;
    request.concurrency = options.concurrency.max(1);
    request
}

/// Runs the selection's will-change accounts, journalled at `journal_path`
/// (a header line first, then intent and outcome per account).
pub async fn execute_run(
    session: &Session,
    journal_path: &Path,
    selection: &Selection,
    options: &RunOptions,
    cancel: &Cancel,
    on_result: &mut (dyn FnMut(&RowResult) + Send),
) -> anyhow::Result<RunReport> {
    let request = run_request(session, selection, options);
    Ok(ops_run::run(
        &session.client,
        Some(journal_path),
        &request,
        cancel,
        on_result,
    )
    .await?)
}

/// As `execute_run`, journalled to an open `journal` (tests give one whose
/// device fills up midway).
pub async fn execute_run_in(
    session: &Session,
    mut journal: Journal,
    selection: &Selection,
    options: &RunOptions,
    cancel: &Cancel,
    on_result: &mut (dyn FnMut(&RowResult) + Send),
) -> anyhow::Result<RunReport> {
    refuse_read_only(session)?;
    let request = run_request(session, selection, options);
    journal
        .append_header(&request.header(session.client.activity_log()))
        .with_context(|| format!("cannot write the journal {}", journal.path().display()))?;
    Ok(ops_run::execute(&session.client, journal, &request, cancel, on_result).await)
}

pub use crate::ops::undo::find_run;

/// What undoing a run would do: the operations layer's plan, with the
/// accounts assessed for the inverse action as this session's actor.
#[derive(Debug, Clone)]
pub struct UndoPlan {
    pub plan: undo::UndoPlan,
    pub selection: Selection,
}

impl std::ops::Deref for UndoPlan {
    type Target = undo::UndoPlan;
    fn deref(&self) -> &undo::UndoPlan {
        &self.plan
    }
}

/// Plans putting back the state before `run_id` (see `ops::undo::plan`),
/// assessed as the session's actor.
pub async fn plan_undo(
    session: &Session,
    journal_path: &Path,
    run_id: &str,
) -> anyhow::Result<UndoPlan> {
    let source = undo::Source {
        client: &session.client,
        instance: &session.instance,
        fields: session.extension_fields(),
        concurrency: effective_concurrency(session, None),
    };
    let plan = undo::plan(&source, journal_path, Some(run_id)).await?;
    let selection = assess(session, plan.action, plan.users.clone());
    Ok(UndoPlan { plan, selection })
}

// ---------------------------------------------------------------------------
// Prompting
// ---------------------------------------------------------------------------

/// Asks a yes/no question before a run.
pub trait Confirm {
    fn confirm(&mut self, question: &str, out: &mut dyn Write) -> anyhow::Result<bool>;

    /// For what cannot be undone: the answer must be exactly `expected`
    /// (the number of accounts), not a reflexive "y".
    fn confirm_typed(
        &mut self,
        question: &str,
        expected: &str,
        out: &mut dyn Write,
    ) -> anyhow::Result<bool>;
}

/// Reads the answer from a line of input; refuses when that input is not a
/// terminal (a script must say --yes).
pub struct LinePrompt<R> {
    pub input: R,
    pub interactive: bool,
}

impl LinePrompt<std::io::StdinLock<'static>> {
    pub fn stdin() -> Self {
        let stdin = std::io::stdin();
        LinePrompt {
            interactive: stdin.is_terminal(),
            input: stdin.lock(),
        }
    }
}

impl<R: BufRead> Confirm for LinePrompt<R> {
    fn confirm(&mut self, question: &str, out: &mut dyn Write) -> anyhow::Result<bool> {
        if !self.interactive {
            bail!("stdin is not a terminal, so there is no one to confirm: pass --yes to run without asking, or --dry-run to only look");
        }
        write!(out, "{question} [y/N] ")?;
        out.flush()?;
        let mut answer = String::new();
        self.input.read_line(&mut answer)?;
        Ok(matches!(
            answer.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        ))
    }

    fn confirm_typed(
        &mut self,
        question: &str,
        expected: &str,
        out: &mut dyn Write,
    ) -> anyhow::Result<bool> {
        if !self.interactive {
            bail!("stdin is not a terminal, so there is no one to confirm: pass --yes to run without asking, or --dry-run to only look");
        }
        write!(out, "{question} ")?;
        out.flush()?;
        let mut answer = String::new();
        self.input.read_line(&mut answer)?;
        Ok(answer.trim() == expected)
    }
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/// `rollcall users ACTION --filter EXPR ...`
pub async fn run_bulk(
    session: &Session,
    action: BulkAction,
    args: &BulkArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    run_bulk_with(session, action, args, out, &mut LinePrompt::stdin()).await
}

/// As `run_bulk`, with the confirmation supplied.
pub async fn run_bulk_with(
    session: &Session,
    action: BulkAction,
    args: &BulkArgs,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    run_selected(session, action, args, Reassign::default(), out, confirm).await
}

/// The one way a filter's accounts are run: select, preflight, confirm,
/// journal; `reassign` is a delete's new owners (rule 8).
async fn run_selected(
    session: &Session,
    action: BulkAction,
    args: &BulkArgs,
    reassign: Reassign,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    let selection = select(session, action, args.org.as_deref(), &args.filter).await?;
    write_preflight(&selection, out)?;
    let options = RunOptions {
        run_id: RunMeta::new_run_id(),
        concurrency: effective_concurrency(session, args.concurrency),
        filter: Some(args.filter.clone()),
        org: args.org.clone(),
        undo_of: None,
        review: None,
        reassign,
    };
    let path = journal_path(args.journal.as_deref())?;
    confirm_and_run(
        session,
        &selection,
        &options,
        &path,
        args.dry_run,
        args.yes,
        out,
        confirm,
    )
    .await
}

/// `rollcall users delete --filter EXPR [--reassign-playbooks-to ACCOUNT]
/// [--reassign-jobs-to API_ACCOUNT]`: the console's bulk delete, the count typed to
/// confirm on a terminal, `--yes` for scripts.
pub async fn run_bulk_delete_with(
    session: &Session,
    args: &crate::commands::admin::DeleteArgs,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    let Some(filter) = &args.filter else {
        bail!("--filter chooses the accounts of a bulk delete");
    };
    let reassign = crate::commands::admin::resolve_heirs(session, args).await?;
    let bulk = BulkArgs {
        filter: filter.clone(),
        org: args.org.clone(),
        dry_run: args.dry_run,
        yes: args.yes,
        concurrency: args.concurrency,
        journal: args.journal.clone(),
    };
    run_selected(session, BulkAction::Delete, &bulk, reassign, out, confirm).await
}

/// The undo of a bulk run (`rollcall undo` hands an import's to
/// `commands::import`): the inverse action, through the same preflight.
pub async fn undo_with(
    session: &Session,
    args: &UndoArgs,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    let path = journal_path(args.journal.as_deref())?;
    let plan = plan_undo(session, &path, &args.run_id).await?;
    writeln!(
        out,
        "Undo of run {} ({}, {} succeeded): {} the accounts it changed",
        sanitize(&plan.original.run_id),
        sanitize(&plan.original.action),
        plan.original.succeeded,
        plan.selection.action.name()
    )?;
    if plan.read_back > 0 {
        writeln!(
            out,
            "  {} account{} with an unknown or unrecorded outcome read back: {} applied (included), {} not applied (nothing to put back), {} unreadable (left alone)",
            plan.read_back,
            plural(plan.read_back),
            plan.applied,
            plan.not_applied.len(),
            plan.unreadable.len()
        )?;
        for (id, name, why) in &plan.unreadable {
            writeln!(out, "    {} ({id}): {}", sanitize(name), sanitize(why))?;
        }
    }
    if !plan.missing.is_empty() {
        writeln!(
            out,
            "  {} account{} no longer found on the server (deleted, or out of your sight):",
            plan.missing.len(),
            plural(plan.missing.len())
        )?;
        for (id, name) in &plan.missing {
            writeln!(out, "    {} ({id})", sanitize(name))?;
        }
    }
    write_preflight(&plan.selection, out)?;
    let options = RunOptions {
        run_id: RunMeta::new_run_id(),
        concurrency: effective_concurrency(session, args.concurrency),
        filter: None,
        org: None,
        undo_of: Some(plan.original.run_id.clone()),
        review: None,
        reassign: Reassign::default(),
    };
    confirm_and_run(
        session,
        &plan.selection,
        &options,
        &path,
        args.dry_run,
        args.yes,
        out,
        confirm,
    )
    .await?;
    if !plan.unreadable.is_empty() && !args.dry_run {
        bail!(
            "{} account{} could not be read back and {} left alone: run the undo again when the instance answers",
            plan.unreadable.len(),
            plural(plan.unreadable.len()),
            if plan.unreadable.len() == 1 { "was" } else { "were" }
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn confirm_and_run(
    session: &Session,
    selection: &Selection,
    options: &RunOptions,
    journal_path: &Path,
    dry_run: bool,
    yes: bool,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    let count = selection.preflight.will_change.len();
    if !ready_to_send(session, dry_run, count, out)? {
        return Ok(());
    }
    let asked = if yes {
        true
    } else if selection.action == BulkAction::Delete {
        let question = format!(
            "Delete {count} account{} for good (this cannot be undone)? Type {count} to confirm:",
            plural(count)
        );
        confirm.confirm_typed(&question, &count.to_string(), out)?
    } else {
        let question = format!(
            "{} {count} account{}?",
            selection.action.verb(),
            plural(count)
        );
        confirm.confirm(&question, out)?
    };
    if !asked {
        writeln!(out, "Nothing sent.")?;
        return Ok(());
    }
    // Heard from here on, before the run is announced: a signal after this
    // line cancels the run (and finds nothing sent, if it has not begun)
    // instead of ending the process with requests in flight.
    let stop_signals = listen_for_stop_signals();
    writeln!(
        out,
        "Run {} ({} at a time), journal {}",
        options.run_id,
        options.concurrency,
        journal_path.display()
    )?;
    out.flush()?;
    let (report, signal) =
        execute_printing(session, journal_path, selection, options, stop_signals, out).await?;
    let (failed, not_sent) = (report.failed(), report.not_sent());
    let (unknown, unjournaled) = (report.unknown(), report.unjournaled());
    writeln!(out, "Run {}: {}", report.run_id, report.summary())?;
    out.flush()?;
    let unanswered = unknown + unjournaled;
    let read_back_note = format!(
        "{unanswered} of {count} accounts were sent without a recorded answer: read back before acting again (`rollcall undo {}` reads them back first; so does re-running the command)",
        report.run_id
    );
    let cancelled_note = format!(
        "cancelled: {not_sent} of {count} accounts not sent (run {})",
        report.run_id
    );
    // Stopped by a signal before the end: the exit status says which, as a
    // shell reports a process the signal ended (130 for SIGINT, 143 for SIGTERM).
    if let Some(signal) = signal.filter(|_| not_sent > 0) {
        let note = if unanswered > 0 {
            format!("{cancelled_note}; {read_back_note}")
        } else {
            cancelled_note
        };
        return Err(interrupted_by(signal, note));
    }
    if unanswered > 0 {
        bail!("{read_back_note}");
    }
    if failed > 0 {
        bail!(
            "{failed} of {count} accounts failed (see `rollcall journal --run {}`)",
            report.run_id
        );
    }
    if not_sent > 0 {
        bail!("{cancelled_note}");
    }
    Ok(())
}

/// The error that makes the process exit with 128 + `signal`.
fn interrupted_by(signal: i32, note: String) -> anyhow::Error {
    crate::tui::Interrupted {
        code: u8::try_from(128 + signal).unwrap_or(1),
        note: Some(note),
    }
    .into()
}

/// Runs while printing each result as it arrives. The first SIGINT
/// (Ctrl-C) or SIGTERM cancels: requests in flight finish and are
/// journaled, nothing new starts; the report comes back with the signal.
/// A second one stops at once (the journal then shows the in-flight ones
/// as unfinished).
async fn execute_printing(
    session: &Session,
    journal_path: &Path,
    selection: &Selection,
    options: &RunOptions,
    stop_signals: StopSignals,
    out: &mut dyn Write,
) -> anyhow::Result<(RunReport, Option<i32>)> {
    let cancel = Cancel::default();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<RowResult>();
    let mut forward = move |row: &RowResult| {
        let _ = sender.send(row.clone());
    };
    let run = execute_run(
        session,
        journal_path,
        selection,
        options,
        &cancel,
        &mut forward,
    );
    print_while_running(
        &options.run_id,
        run,
        &cancel,
        receiver,
        write_row,
        stop_signals,
        out,
    )
    .await
}

/// A journaled run that is not a bulk run (an import's undo, an
/// offboarding's undo): opens the journal at `path` with `header`, says
/// the run began (`what`: how it runs), runs `execute` while printing each
/// row as it ends, and prints the tally. Returns the rows and the stop
/// signal that came, if one did.
pub(crate) async fn drive_run(
    session: &Session,
    path: &Path,
    run_id: &str,
    header: &journal::RunHeader,
    what: &str,
    out: &mut dyn Write,
    execute: impl AsyncFnOnce(Journal, &Cancel, &mut (dyn FnMut(&RowResult) + Send)) -> Vec<RowResult>,
) -> anyhow::Result<(Vec<RowResult>, Option<i32>)> {
    let journal = crate::ops::run::begin_with(&session.client, Some(path), header)?;
    let stop_signals = listen_for_stop_signals();
    writeln!(out, "Run {run_id} ({what}), journal {}", path.display())?;
    out.flush()?;
    let cancel = Cancel::default();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<RowResult>();
    let mut forward = move |row: &RowResult| {
        let _ = sender.send(row.clone());
    };
    let running = async { Ok(execute(journal, &cancel, &mut forward).await) };
    let (rows, signal) = print_while_running(
        run_id,
        running,
        &cancel,
        receiver,
        write_row,
        stop_signals,
        out,
    )
    .await?;
    writeln!(out, "Run {run_id}: {}", crate::ops::run::tally(&rows))?;
    out.flush()?;
    Ok((rows, signal))
}

/// Drives `run` while printing each row `rows` brings with `write_row`:
/// the first SIGINT or SIGTERM cancels `cancel` (requests in flight
/// finish, nothing new starts) and comes back with the result; a second
/// stops at once. Output that goes away mid-run cancels too.
pub(crate) async fn print_while_running<T, R>(
    run_id: &str,
    run: impl std::future::Future<Output = anyhow::Result<T>>,
    cancel: &Cancel,
    mut rows: tokio::sync::mpsc::UnboundedReceiver<R>,
    write_row: fn(&R, &mut dyn Write) -> std::io::Result<()>,
    stop_signals: StopSignals,
    out: &mut dyn Write,
) -> anyhow::Result<(T, Option<i32>)> {
    tokio::pin!(run);
    let (mut interrupts, _listeners) = stop_signals;
    let mut received: Option<i32> = None;
    // A reader that goes away mid-run (`... | head`) must not drop the
    // requests in flight: the run is cancelled like on Ctrl-C and ends
    // with an error of its own, never the quiet exit of a closed pipe.
    let mut output_lost: Option<std::io::Error> = None;
    let mut print = |printing: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>| {
        if output_lost.is_none() {
            if let Err(e) = printing(out) {
                cancel.cancel();
                output_lost = Some(e);
            }
        }
    };
    let outcome: anyhow::Result<T> = loop {
        tokio::select! {
            // Signals first: one that is already waiting stops what has
            // not started before anything more is sent.
            biased;
            Some(signal) = interrupts.recv() => {
                tracing::info!(run_id = %run_id, signal, "signal received during a bulk run");
                if received.is_some() {
                    return Err(interrupted_by(signal, format!(
                        "stopped at once; requests in flight show as unfinished in `rollcall journal --run {run_id}`"
                    )));
                }
                received = Some(signal);
                cancel.cancel();
                print(&mut |out| {
                    writeln!(out, "Cancelling: requests in flight finish, nothing new starts (Ctrl-C again to stop at once).")?;
                    out.flush()
                });
            }
            Some(row) = rows.recv() => print(&mut |out| write_row(&row, out)),
            report = &mut run => break report,
        }
    };
    let report = outcome?;
    while let Ok(row) = rows.try_recv() {
        print(&mut |out| write_row(&row, out));
    }
    if let Some(error) = output_lost {
        bail!(
            "the output was closed during run {run_id} ({error}): the run was cancelled after its requests in flight; `rollcall journal --run {run_id}` lists its accounts"
        );
    }
    Ok((report, received))
}

/// Signal numbers as they arrive, and the tasks that listen for them.
pub(crate) type StopSignals = (tokio::sync::mpsc::UnboundedReceiver<i32>, Vec<AbortOnDrop>);

/// SIGINT and SIGTERM as messages carrying the signal's number, for as
/// long as the returned listeners live. A handler that cannot be installed
/// leaves its signal to its default action.
pub(crate) fn listen_for_stop_signals() -> StopSignals {
    use tokio::signal::unix::{signal, SignalKind};
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<i32>();
    let mut listeners = Vec::new();
    for (kind, number) in [
        (SignalKind::interrupt(), signal_hook::consts::SIGINT),
        (SignalKind::terminate(), signal_hook::consts::SIGTERM),
    ] {
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        let sender = sender.clone();
        listeners.push(AbortOnDrop(tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if sender.send(number).is_err() {
                    break;
                }
            }
        })));
    }
    (receiver, listeners)
}

/// Stops a spawned task when its owner goes away, on every path out.
pub(crate) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) fn write_row(row: &RowResult, out: &mut dyn Write) -> std::io::Result<()> {
    let name = sanitize(&row.user_name);
    match &row.outcome {
        RowOutcome::Ok => writeln!(out, "ok        {name} ({})", row.id),
        RowOutcome::Failed(message) => {
            writeln!(out, "failed    {name} ({}): {}", row.id, sanitize(message))
        }
        RowOutcome::Unknown(reason) => {
            writeln!(out, "unknown   {name} ({}): {}", row.id, sanitize(reason))
        }
        RowOutcome::Unjournaled(message) => {
            writeln!(out, "sent      {name} ({}): {}", row.id, sanitize(message))
        }
        RowOutcome::NotSent => writeln!(out, "not sent  {name} ({})", row.id),
    }?;
    out.flush()
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn account_line(by_id: &HashMap<i64, &User>, id: i64) -> String {
    match by_id.get(&id) {
        Some(user) => format!("{} ({id})", sanitize(&user.user_name)),
        None => format!("({id})"),
    }
}

/// The preflight: counts per group, then the accounts of each group.
pub fn write_preflight(selection: &Selection, out: &mut dyn Write) -> anyhow::Result<()> {
    let p = &selection.preflight;
    let action = selection.action;
    let by_id: HashMap<i64, &User> = selection.users.iter().map(|u| (u.id, u)).collect();
    writeln!(
        out,
        "{}: {} account{} selected",
        action.verb(),
        p.total(),
        plural(p.total())
    )?;
    writeln!(out, "  will change: {}", p.will_change.len())?;
    let role_unseen = p
        .will_change
        .iter()
        .filter(|id| by_id.get(id).is_some_and(|u| u.system_role.is_none()))
        .count();
    if role_unseen > 0 {
        // Rules by System role cannot be checked here; the server has the last word.
        writeln!(
            out,
            "    of which {role_unseen} with a System role you cannot see: the server decides"
        )?;
    }
    writeln!(out, "  {}: {}", action.already_phrase(), p.already.len())?;
    writeln!(out, "  not allowed: {}", p.not_allowed.len())?;
    let mut reasons: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (id, reason) in &p.not_allowed {
        reasons.entry(reason.as_str()).or_default().push(*id);
    }
    for (reason, ids) in &reasons {
        writeln!(out, "    {}: {}", sanitize(reason), ids.len())?;
    }
    if !p.will_change.is_empty() {
        writeln!(out, "Will change:")?;
        for id in &p.will_change {
            writeln!(out, "  {}", account_line(&by_id, *id))?;
        }
    }
    if !p.already.is_empty() {
        writeln!(out, "{}:", action.already_title())?;
        for id in &p.already {
            writeln!(out, "  {}", account_line(&by_id, *id))?;
        }
    }
    for (reason, ids) in &reasons {
        writeln!(out, "Not allowed, {}:", sanitize(reason))?;
        for id in ids {
            writeln!(out, "  {}", account_line(&by_id, *id))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `rollcall journal`: the runs, or one run's accounts.
pub fn journal(args: &JournalArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if args.format != JournalFormat::Text && args.run.is_none() {
        bail!("--format csv|json lists one run's accounts: name it with --run RUN_ID");
    }
    let path = journal_path(args.journal.as_deref())?;
    let contents = journal::read(&path)
        .with_context(|| format!("cannot read the journal {}", path.display()))?;
    if !contents.bad_lines.is_empty() {
        let lines: Vec<String> = contents.bad_lines.iter().map(|n| n.to_string()).collect();
        let warning = format!(
            "warning: {} unreadable line{} in {} (line {}); a torn last line is what a crash mid-write leaves",
            contents.bad_lines.len(),
            plural(contents.bad_lines.len()),
            sanitize(&path.display().to_string()),
            lines.join(", ")
        );
        // CSV and JSON stay parseable: the warning goes to stderr.
        match args.format {
            JournalFormat::Text => writeln!(out, "{warning}")?,
            JournalFormat::Csv | JournalFormat::Json => eprintln!("{warning}"),
        }
    }
    let runs = journal::runs_of(&contents);
    match &args.run {
        Some(wanted) if args.format != JournalFormat::Text => {
            let run = find_run(&runs, wanted)?;
            let rows = journal::action_results(&contents.entries, &run.run_id);
            match args.format {
                JournalFormat::Csv => crate::ops::results::write_csv(&rows, out)?,
                _ => crate::ops::results::write_json(&rows, out)?,
            }
        }
        Some(wanted) => {
            let run = find_run(&runs, wanted)?;
            write_run(run, &journal::run_rows(&contents.entries, &run.run_id), out)?;
        }
        None if runs.is_empty() => writeln!(out, "No runs in {}", path.display())?,
        None => write_runs(&runs, out)?,
    }
    out.flush()?;
    Ok(())
}

fn write_runs(runs: &[RunSummary], out: &mut dyn Write) -> anyhow::Result<()> {
    let header = [
        "Run",
        "Started (UTC)",
        "Instance",
        "Actor",
        "Action",
        "Intended",
        "Ok",
        "Failed",
        "Unknown",
        "Unfinished",
        "Not sent",
        "Note",
    ];
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let note = match r.header.as_ref() {
                Some(h) => match (&h.undo_of, &h.review, &h.filter) {
                    (Some(undone), _, _) => format!("undoes {}", sanitize(undone)),
                    (None, Some(review), _) => format!("review {}", sanitize(review)),
                    (None, None, Some(filter)) => format!("filter {}", sanitize(filter)),
                    (None, None, None) => String::new(),
                },
                None => String::new(),
            };
            vec![
                sanitize(&r.run_id).into_owned(),
                r.started.format("%Y-%m-%d %H:%M:%S").to_string(),
                sanitize(&r.instance).into_owned(),
                sanitize(&r.actor).into_owned(),
                sanitize(&r.action).into_owned(),
                r.intended.to_string(),
                r.succeeded.to_string(),
                r.failed.to_string(),
                r.unknown.to_string(),
                r.unfinished.to_string(),
                r.not_sent().map_or("?".to_string(), |n| n.to_string()),
                note,
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
            text.extend(std::iter::repeat_n(' ', pad));
        }
        text.trim_end().to_string()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

fn write_run(
    run: &RunSummary,
    rows: &[journal::RunRow],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "Run {}: {} by {} on {}, started {}",
        sanitize(&run.run_id),
        sanitize(&run.action),
        sanitize(&run.actor),
        sanitize(&run.instance),
        run.started.format("%Y-%m-%d %H:%M:%S UTC")
    )?;
    if let Some(h) = &run.header {
        if let Some(filter) = &h.filter {
            writeln!(out, "  filter: {}", sanitize(filter))?;
        }
        if let Some(org) = &h.org {
            writeln!(out, "  organization: {}", sanitize(org))?;
        }
        if let Some(undone) = &h.undo_of {
            writeln!(out, "  undoes run {}", sanitize(undone))?;
        }
        if let Some(review) = &h.review {
            writeln!(out, "  carries out the access review {}", sanitize(review))?;
        }
        writeln!(
            out,
            "  planned {}, already {}, not allowed {}",
            h.planned, h.already, h.not_allowed
        )?;
    }
    writeln!(
        out,
        "  intended {}, ok {}, failed {}, unknown {}, unfinished {}, not sent {}",
        run.intended,
        run.succeeded,
        run.failed,
        run.unknown,
        run.unfinished,
        run.not_sent().map_or("?".to_string(), |n| n.to_string())
    )?;
    for row in rows {
        let name = sanitize(&row.account_name);
        match &row.state {
            RowState::Ok => writeln!(out, "ok          {name} ({})", row.account_id)?,
            RowState::Failed(message) => writeln!(
                out,
                "failed      {name} ({}): {}",
                row.account_id,
                sanitize(message)
            )?,
            RowState::Unknown(reason) => writeln!(
                out,
                "unknown     {name} ({}): {}",
                row.account_id,
                sanitize(reason)
            )?,
            RowState::Unfinished => writeln!(
                out,
                "unfinished  {name} ({}): sent or not, the server knows",
                row.account_id
            )?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_is_bounded() {
        assert_eq!(parse_concurrency("8"), Ok(8));
        assert!(parse_concurrency("0").is_err());
        assert!(parse_concurrency("257").is_err());
        assert!(parse_concurrency("many").is_err());
    }

    #[test]
    fn a_non_terminal_prompt_refuses_and_a_terminal_one_reads_the_answer() {
        let mut out = Vec::new();
        let mut scripted = LinePrompt {
            input: "y\n".as_bytes(),
            interactive: false,
        };
        let refusal = scripted.confirm("Disable 3 accounts?", &mut out);
        assert!(refusal.unwrap_err().to_string().contains("--yes"));
        assert!(out.is_empty());
        for (answer, expected) in [
            ("y\n", true),
            ("YES\n", true),
            ("\n", false),
            ("n\n", false),
            ("", false),
        ] {
            let mut prompt = LinePrompt {
                input: answer.as_bytes(),
                interactive: true,
            };
            let mut out = Vec::new();
            assert_eq!(
                prompt.confirm("Disable 3 accounts?", &mut out).unwrap(),
                expected
            );
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "Disable 3 accounts? [y/N] "
            );
        }
    }

    #[test]
    fn questions_name_the_action() {
        assert_eq!(BulkAction::Disable.verb(), "Disable");
        assert_eq!(BulkAction::ResetMfa.verb(), "Reset MFA of");
    }

    fn summary(id: &str) -> RunSummary {
        RunSummary {
            run_id: id.into(),
            started: Utc::now(),
            instance: "i".into(),
            actor: "a".into(),
            action: "disable".into(),
            intended: 0,
            succeeded: 0,
            failed: 0,
            unknown: 0,
            unfinished: 0,
            header: None,
        }
    }

    #[test]
    fn runs_are_found_by_id_or_unique_prefix() {
        let runs = [
            summary("20261125T1200-aaaa"),
            summary("20261125T1200-aabb"),
            summary("20261125T1300-cccc"),
        ];
        assert_eq!(
            find_run(&runs, "20261125T1300").unwrap().run_id,
            "20261125T1300-cccc"
        );
        assert_eq!(
            find_run(&runs, "20261125T1200-aabb").unwrap().run_id,
            "20261125T1200-aabb"
        );
        assert!(find_run(&runs, "20261125T1200-aa")
            .unwrap_err()
            .to_string()
            .contains("2 runs"));
        assert!(find_run(&runs, "nope").is_err());
        assert!(find_run(&runs, "").is_err());
    }

    #[test]
    fn the_journal_listing_names_runs_and_unreadable_lines() {
        use crate::journal::{Entry, Phase};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut journal_file = Journal::open(&path).unwrap();
        let entry = |phase: Phase, ok: Option<bool>| Entry {
            time: Utc::now(),
            instance: "http://127.0.0.1:1/api".into(),
            actor: "admin\u{1b}[31m".into(),
            run_id: "20261125T120000-abcd".into(),
            phase,
            action: "disable".into(),
            account_id: 5,
            account_name: "evil\u{1b}[2Jname".into(),
            change: serde_json::json!({"disabled": true}),
            before: serde_json::json!({"disabled": false}),
            ok,
            message: None,
            state: None,
            created_id: None,
        };
        journal_file.append(&entry(Phase::Intent, None)).unwrap();
        journal_file
            .append(&entry(Phase::Outcome, Some(true)))
            .unwrap();
        drop(journal_file);
        let mut raw = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        raw.write_all(b"{\"time\":\"2026").unwrap();

        let args = |run: Option<&str>| JournalArgs {
            journal: Some(path.clone()),
            run: run.map(String::from),
            ..Default::default()
        };
        let mut out = Vec::new();
        journal(&args(None), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("warning: 1 unreadable line in "),
            "{text}"
        );
        assert!(lines[0].contains("(line 3)"));
        assert!(lines[1].starts_with("Run "));
        assert!(lines[2].starts_with("20261125T120000-abcd "));
        assert!(lines[2].contains("admin\\e[31m"), "{text}");
        assert!(!text.contains('\u{1b}'));

        let mut out = Vec::new();
        journal(&args(Some("20261125T12")), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("ok          evil\\e[2Jname (5)"), "{text}");
        assert!(text.contains("intended 1, ok 1, failed 0, unknown 0, unfinished 0, not sent ?"));

        let mut out = Vec::new();
        journal(
            &JournalArgs {
                journal: Some(dir.path().join("none.jsonl")),
                run: None,
                ..Default::default()
            },
            &mut out,
        )
        .unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with("No runs in "));

        // For tools: one row per account, the warning kept out of the data,
        // and nothing a terminal would act on.
        let formatted = |format: JournalFormat| {
            let mut out = Vec::new();
            journal(
                &JournalArgs {
                    format,
                    ..args(Some("20261125T12"))
                },
                &mut out,
            )
            .unwrap();
            String::from_utf8(out).unwrap()
        };
        let csv_text = formatted(JournalFormat::Csv);
        let lines: Vec<&str> = csv_text.lines().collect();
        assert_eq!(
            lines[0],
            "run_id,time,instance,actor,action,account_id,account_name,outcome,message"
        );
        assert_eq!(lines.len(), 2, "{csv_text}");
        assert!(lines[1].starts_with("20261125T120000-abcd,"), "{csv_text}");
        assert!(
            lines[1].ends_with(",http://127.0.0.1:1/api,admin\\e[31m,disable,5,evil\\e[2Jname,ok,"),
            "{csv_text}"
        );
        let json_text = formatted(JournalFormat::Json);
        assert!(!csv_text.contains('\u{1b}') && !json_text.contains('\u{1b}'));
        let rows: Vec<serde_json::Value> = serde_json::from_str(&json_text).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["account_name"], "evil\u{1b}[2Jname");
        assert_eq!(rows[0]["account_id"], 5);
        assert_eq!(rows[0]["outcome"], "ok");
        let refused = journal(
            &JournalArgs {
                format: JournalFormat::Csv,
                ..args(None)
            },
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(refused.to_string().contains("--run RUN_ID"), "{refused}");
    }
}

//! Bulk offboarding from scripts: `users disable|enable|unlock|reset-password|
//! reset-mfa`, `journal` and `undo`.
//!
//! The logic (select, assess, run, plan an undo) is separate from the
//! printing and prompting, so tests drive it directly.

use super::users::fetch_listing;
use crate::api::UserQuery;
use crate::bulk::{self, Cancel, Reassign, RowOutcome, RowResult, RunMeta, RunPlan};
use crate::domain::filter::Filter;
use crate::domain::preflight::{preflight, BulkAction, Preflight};
use crate::domain::text::sanitize;
use crate::domain::User;
use crate::journal::{self, HeaderKind, Journal, RowState, RunHeader, RunSummary};
use crate::ops::session::Session;
use anyhow::{anyhow, bail, Context};
use chrono::Utc;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Overrides the journal's default location.
pub const JOURNAL_ENV: &str = "ROLLCALL_JOURNAL";
/// Requests in flight at once when neither `--concurrency` nor the profile says.
pub const DEFAULT_BULK_CONCURRENCY: usize = 8;
const MAX_CONCURRENCY: usize = 256;

fn parse_concurrency(text: &str) -> Result<usize, String> {
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

/// The journal to use: the given path, else the default location.
pub fn journal_path(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(path) => Ok(path.to_path_buf()),
        None => Journal::default_path().ok_or_else(|| {
            anyhow!("cannot find a data directory for the journal; pass --journal PATH or set {JOURNAL_ENV}")
        }),
    }
}

/// `--concurrency`, else the profile's `concurrency`, else 8.
pub fn effective_concurrency(session: &Session, explicit: Option<usize>) -> usize {
    explicit
        .or(session.concurrency)
        .unwrap_or(DEFAULT_BULK_CONCURRENCY)
        .clamp(1, MAX_CONCURRENCY)
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
    /// A delete's new owners of Run As playbooks and job apps (rule 8).
    pub reassign: Reassign,
}

/// What a run did, row by row in selection order.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: String,
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
}

/// A read-only session sends no write: said before anything is opened.
fn refuse_read_only(session: &Session) -> anyhow::Result<()> {
    if session.read_only {
        bail!(
            "this session is read-only: nothing was sent (use --dry-run to see what would change)"
        );
    }
    Ok(())
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
    refuse_read_only(session)?;
    let journal = Journal::open(journal_path)
        .with_context(|| format!("cannot open the journal {}", journal_path.display()))?;
    execute_run_in(session, journal, selection, options, cancel, on_result).await
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
    let journal_path = journal.path().to_path_buf();
    let meta = RunMeta {
        run_id: options.run_id.clone(),
        instance: session.instance.clone(),
        actor: session.actor.user_name.clone(),
    };
    let header = RunHeader {
        kind: HeaderKind::Run,
        time: Utc::now(),
        instance: meta.instance.clone(),
        actor: meta.actor.clone(),
        run_id: meta.run_id.clone(),
        action: selection.action.name().to_string(),
        filter: options.filter.clone(),
        org: options.org.clone(),
        undo_of: options.undo_of.clone(),
        planned: selection.preflight.will_change.len(),
        already: selection.preflight.already.len(),
        not_allowed: selection.preflight.not_allowed.len(),
        activity_log: Some(session.client.activity_log()),
    };
    journal
        .append_header(&header)
        .with_context(|| format!("cannot write the journal {}", journal_path.display()))?;
    let plan = RunPlan {
        meta,
        action: selection.action,
        reassign: options.reassign,
        concurrency: options.concurrency.max(1),
    };
    let targets = selection.targets();
    let journal = Some(Arc::new(Mutex::new(journal)));
    let results = bulk::execute(&session.client, journal, &plan, &targets, cancel, on_result).await;
    Ok(RunReport {
        run_id: options.run_id.clone(),
        results,
    })
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
#[derive(Debug, Clone)]
pub struct UndoPlan {
    /// The run being undone.
    pub original: RunSummary,
    /// The accounts as they are now, assessed for the inverse action.
    pub selection: Selection,
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

/// Plans putting back the state before `run_id`: the inverse action for
/// every account the run changed (and those whose outcome is unknown),
/// assessed against their state on the server now.
pub async fn plan_undo(
    session: &Session,
    journal_path: &Path,
    run_id: &str,
) -> anyhow::Result<UndoPlan> {
    let contents = journal::read(journal_path)
        .with_context(|| format!("cannot read the journal {}", journal_path.display()))?;
    let runs = journal::runs_of(&contents);
    let original = find_run(&runs, run_id)?.clone();
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
            match action {
                BulkAction::Delete => "a deleted account is gone",
                BulkAction::Unlock => "only the instance locks accounts",
                _ => "a reset flag clears itself when the user complies",
            }
        );
    };
    if original.instance != session.instance {
        bail!(
            "run {} was made on {}, but this session is connected to {}",
            sanitize(&original.run_id),
            sanitize(&original.instance),
            sanitize(&session.instance)
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
    let fields = session.extension_fields();
    let current: HashMap<i64, User> = if rows.iter().any(|r| r.state == RowState::Ok) {
        let query = UserQuery {
            fields: fields.clone(),
            ..Default::default()
        };
        session
            .client
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
    let concurrency = effective_concurrency(session, None);
    let read = bulk::read_back(&session.client, action, &unsure, &fields, concurrency).await;
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
        selection: assess(session, inverse, Vec::new()),
        missing: Vec::new(),
        unfinished,
        read_back: unsure.len(),
        applied: applied.len(),
        not_applied: Vec::new(),
        unreadable: Vec::new(),
    };
    let mut users = Vec::new();
    for row in &rows {
        let id = row.account_id;
        let name = row.account_name.clone();
        if row.state == RowState::Ok {
            match current.get(&id) {
                Some(user) => users.push(user.clone()),
                None => plan.missing.push((id, name)),
            }
        } else if let Some(user) = applied.get(&id) {
            users.push(user.clone());
        } else if not_applied.contains_key(&id) {
            plan.not_applied.push((id, name));
        } else if gone.contains(&id) {
            plan.missing.push((id, name));
        } else if let Some(why) = unreadable.get(&id) {
            plan.unreadable.push((id, name, why.clone()));
        }
    }
    plan.selection = assess(session, inverse, users);
    Ok(plan)
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

/// `rollcall undo RUN_ID`
pub async fn undo(session: &Session, args: &UndoArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    undo_with(session, args, out, &mut LinePrompt::stdin()).await
}

/// As `undo`, with the confirmation supplied.
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
async fn confirm_and_run(
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
    if dry_run {
        writeln!(out, "Dry run: nothing sent.")?;
        return Ok(());
    }
    if count == 0 {
        writeln!(out, "Nothing to do.")?;
        return Ok(());
    }
    refuse_read_only(session)?;
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
            capitalized(selection.action),
            plural(count)
        );
        confirm.confirm(&question, out)?
    };
    if !asked {
        writeln!(out, "Nothing sent.")?;
        return Ok(());
    }
    writeln!(
        out,
        "Run {} ({} at a time), journal {}",
        options.run_id,
        options.concurrency,
        journal_path.display()
    )?;
    out.flush()?;
    let report = execute_printing(session, journal_path, selection, options, out).await?;
    let (ok, failed, not_sent) = (report.ok(), report.failed(), report.not_sent());
    let (unknown, unjournaled) = (report.unknown(), report.unjournaled());
    // Rare (a full disk), so named only when it happened.
    let unjournaled_part = if unjournaled > 0 {
        format!("{unjournaled} sent but not journaled, ")
    } else {
        String::new()
    };
    writeln!(
        out,
        "Run {}: {ok} ok, {failed} failed, {unknown} unknown, {unjournaled_part}{not_sent} not sent, of {count}",
        report.run_id
    )?;
    out.flush()?;
    if unknown + unjournaled > 0 {
        bail!(
            "{} of {count} accounts were sent without a recorded answer: read back before acting again (`rollcall undo {}` reads them back first; so does re-running the command)",
            unknown + unjournaled,
            report.run_id
        );
    }
    if failed > 0 {
        bail!(
            "{failed} of {count} accounts failed (see `rollcall journal --run {}`)",
            report.run_id
        );
    }
    if not_sent > 0 {
        bail!(
            "cancelled: {not_sent} of {count} accounts not sent (run {})",
            report.run_id
        );
    }
    Ok(())
}

/// Runs while printing each result as it arrives; the first Ctrl-C
/// cancels (requests in flight finish, nothing new starts), a second stops
/// at once (the journal then shows the in-flight ones as unfinished).
async fn execute_printing(
    session: &Session,
    journal_path: &Path,
    selection: &Selection,
    options: &RunOptions,
    out: &mut dyn Write,
) -> anyhow::Result<RunReport> {
    let cancel = Cancel::default();
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<RowResult>();
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
    tokio::pin!(run);
    // Ctrl-C arrives as messages; if no handler can be installed the
    // listener ends and the branch is simply never taken.
    let (interrupt_sender, mut interrupts) = tokio::sync::mpsc::unbounded_channel::<()>();
    let _listener = AbortOnDrop(tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if interrupt_sender.send(()).is_err() {
                break;
            }
        }
    }));
    let outcome: anyhow::Result<RunReport> = loop {
        tokio::select! {
            report = &mut run => break report,
            Some(row) = receiver.recv() => write_row(&row, out)?,
            Some(()) = interrupts.recv() => {
                if cancel.is_cancelled() {
                    break Err(anyhow!(
                        "stopped at once; requests in flight show as unfinished in `rollcall journal --run {}`",
                        options.run_id
                    ));
                }
                cancel.cancel();
                writeln!(out, "Cancelling: requests in flight finish, nothing new starts (Ctrl-C again to stop at once).")?;
                out.flush()?;
            }
        }
    };
    let report = outcome?;
    while let Ok(row) = receiver.try_recv() {
        write_row(&row, out)?;
    }
    Ok(report)
}

/// Stops a spawned task when its owner goes away, on every path out.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn write_row(row: &RowResult, out: &mut dyn Write) -> std::io::Result<()> {
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

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn capitalized(action: BulkAction) -> String {
    let verb = match action {
        BulkAction::ResetPassword => "reset the password of",
        BulkAction::ResetMfa => "reset MFA of",
        other => other.name(),
    };
    let mut chars = verb.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What "already" means for each action, for the preflight.
fn already_phrase(action: BulkAction) -> &'static str {
    match action {
        BulkAction::Disable => "already disabled",
        BulkAction::Enable => "already enabled",
        BulkAction::Unlock => "not locked",
        BulkAction::ResetPassword => "password reset already required",
        BulkAction::ResetMfa => "MFA reset already required",
        BulkAction::Delete => "already gone",
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
        capitalized(action),
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
    writeln!(out, "  {}: {}", already_phrase(action), p.already.len())?;
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
        writeln!(out, "{}:", capitalize_first(already_phrase(action)))?;
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

fn capitalize_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `rollcall journal`: the runs, or one run's accounts.
pub fn journal(args: &JournalArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let path = journal_path(args.journal.as_deref())?;
    let contents = journal::read(&path)
        .with_context(|| format!("cannot read the journal {}", path.display()))?;
    if !contents.bad_lines.is_empty() {
        let lines: Vec<String> = contents.bad_lines.iter().map(|n| n.to_string()).collect();
        writeln!(
            out,
            "warning: {} unreadable line{} in {} (line {}); a torn last line is what a crash mid-write leaves",
            contents.bad_lines.len(),
            plural(contents.bad_lines.len()),
            path.display(),
            lines.join(", ")
        )?;
    }
    let runs = journal::runs_of(&contents);
    match &args.run {
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
                Some(h) => match (&h.undo_of, &h.filter) {
                    (Some(undone), _) => format!("undoes {}", sanitize(undone)),
                    (None, Some(filter)) => format!("filter {}", sanitize(filter)),
                    (None, None) => String::new(),
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
        assert_eq!(capitalized(BulkAction::Disable), "Disable");
        assert_eq!(capitalized(BulkAction::ResetMfa), "Reset MFA of");
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
            },
            &mut out,
        )
        .unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with("No runs in "));
    }
}

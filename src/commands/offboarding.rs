//! `rollcall offboard`, `rollcall resume RUN_ID` and the undo of an
//! offboarding run: thin drivers over `ops::offboard` that choose the
//! accounts, print the preview and the progress, ask, and write the report.

use super::offboard::{
    drive_run, effective_concurrency, journal_path, listen_for_stop_signals, parse_concurrency,
    plural, print_while_running, ready_to_send, select, Confirm, LinePrompt, UndoArgs, JOURNAL_ENV,
};
use crate::bulk::{Cancel, RowOutcome, RunMeta};
use crate::domain::offboard::{Checklist, StepState};
use crate::domain::preflight::BulkAction;
use crate::domain::run_as::Inheritance;
use crate::domain::text::sanitize;
use crate::ops::offboard::{self, OffboardPlan, OffboardRun, OffboardUndoPlan, StepEvent};
use crate::ops::session::Session;
use crate::ops::undo;
use anyhow::{anyhow, bail, Context};
use std::io::Write;
use std::path::{Path, PathBuf};

const PLAYBOOKS_FLAG: &str = "--playbooks-to";
const JOBS_FLAG: &str = "--jobs-to";

/// How a person names an heir on the command line (rule 8's sentence).
pub fn name_an_heir(what: Inheritance) -> String {
    match what {
        Inheritance::Playbooks => format!("with {PLAYBOOKS_FLAG} ACCOUNT"),
        Inheritance::JobApps => format!("with {JOBS_FLAG} API_ACCOUNT"),
    }
}

/// Where the report goes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReportArgs {
    /// Write the Markdown report to FILE instead of printing it.
    #[arg(long, value_name = "FILE.md")]
    pub report: Option<PathBuf>,
    /// Also write the report as CSV (one row per account, a column per step).
    #[arg(long, value_name = "FILE.csv")]
    pub csv: Option<PathBuf>,
}

/// `rollcall offboard`.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(group(clap::ArgGroup::new("accounts_from").required(true).args(["filter", "accounts"])))]
pub struct OffboardArgs {
    /// The accounts to offboard, as a filter (see `users list --help`).
    #[arg(long, value_name = "EXPR", long_help = crate::domain::filter::HELP)]
    pub filter: Option<String>,
    /// The accounts to offboard: a file with one id or user name a line
    /// (blank lines and lines starting with # are skipped).
    #[arg(long, value_name = "FILE")]
    pub accounts: Option<PathBuf>,
    /// With --filter: only accounts of this Organization.
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,
    /// Who takes over the active playbooks that run as the accounts (id or user name).
    #[arg(long, value_name = "ACCOUNT")]
    pub playbooks_to: Option<String>,
    /// Which API user takes over their job apps (id or user name).
    #[arg(long, value_name = "API_ACCOUNT")]
    pub jobs_to: Option<String>,
    /// Delete each account at the end, once every earlier step succeeded
    /// (without it, the accounts are kept, disabled).
    #[arg(long)]
    pub delete: bool,
    /// Show every step for every account, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Accounts worked on at once [default: the profile's concurrency, else 8].
    #[arg(long, value_name = "N", value_parser = parse_concurrency)]
    pub concurrency: Option<usize>,
    /// The journal file [default: journal.jsonl in rollcall's data directory].
    #[arg(long, value_name = "PATH", env = JOURNAL_ENV)]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub output: ReportArgs,
}

/// `rollcall resume RUN_ID`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ResumeArgs {
    /// The offboarding run to finish (its id, or a unique prefix).
    #[arg(value_name = "RUN_ID")]
    pub run_id: String,
    /// Show what is left, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Accounts worked on at once [default: the profile's concurrency, else 8].
    #[arg(long, value_name = "N", value_parser = parse_concurrency)]
    pub concurrency: Option<usize>,
    /// The journal file [default: journal.jsonl in rollcall's data directory].
    #[arg(long, value_name = "PATH", env = JOURNAL_ENV)]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub output: ReportArgs,
}

/// The account ids a `--accounts` file names, each looked up; a line that
/// names no account stops everything (nothing is sent) with its number.
async fn accounts_in(session: &Session, path: &Path) -> anyhow::Result<Vec<i64>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    // A file saved by a spreadsheet or Notepad may start with a BOM.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut ids = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let user = offboard::find_account(session, line)
            .await
            .map_err(|e| anyhow!("{} line {}: {e:#}", path.display(), index + 1))?;
        ids.push(user.id);
    }
    if ids.is_empty() {
        bail!("{} names no account", path.display());
    }
    Ok(ids)
}

/// Every step of every account, and what is not possible and why.
pub fn write_preview(plan: &OffboardPlan, out: &mut dyn Write) -> anyhow::Result<()> {
    let n = plan.accounts.len();
    writeln!(
        out,
        "Offboard {n} account{}: {} request{} to send, {} delete{}.",
        plural(n),
        plan.to_send(),
        plural(plan.to_send()),
        plan.deletes(),
        plural(plan.deletes())
    )?;
    for planned in &plan.accounts {
        write_checklist(&planned.checklist, out)?;
    }
    for (id, why) in &plan.missing {
        writeln!(out, "Left out: account {id}: {}", sanitize(why))?;
    }
    Ok(())
}

fn write_checklist(list: &Checklist, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "{} ({})", sanitize(&list.user_name), list.id)?;
    for (step, state) in &list.steps {
        writeln!(out, "  {:<11} {}", step.title(), sanitize(&state.line()))?;
    }
    Ok(())
}

fn write_event(event: &StepEvent, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{}", event.line())?;
    out.flush()
}

/// `rollcall offboard ...`
pub async fn offboard(
    session: &Session,
    args: &OffboardArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    offboard_with(session, args, out, &mut LinePrompt::stdin()).await
}

/// As `offboard`, with the confirmation supplied.
pub async fn offboard_with(
    session: &Session,
    args: &OffboardArgs,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    let ids = match (&args.filter, &args.accounts) {
        (Some(filter), None) => {
            let selection =
                select(session, BulkAction::Disable, args.org.as_deref(), filter).await?;
            selection.users.iter().map(|u| u.id).collect()
        }
        (None, Some(path)) => {
            if args.org.is_some() {
                bail!("--org goes with --filter");
            }
            accounts_in(session, path).await?
        }
        _ => bail!("choose the accounts with --filter EXPR or --accounts FILE (one of them)"),
    };
    let heirs = offboard::resolve_heirs(
        session,
        args.playbooks_to.as_deref(),
        args.jobs_to.as_deref(),
        (PLAYBOOKS_FLAG, JOBS_FLAG),
    )
    .await?;
    let concurrency = effective_concurrency(session, args.concurrency);
    let plan = offboard::plan(session, &ids, heirs, args.delete, name_an_heir, concurrency).await;
    write_preview(&plan, out)?;
    let mut run = OffboardRun::new(session, plan, concurrency);
    run.filter = args.filter.clone();
    let path = journal_path(args.journal.as_deref())?;
    // An account asked for that could not be read is not offboarded: the
    // exit says so, whatever becomes of the others.
    let left_out = run.plan.missing.len();
    if !ready_to_send(session, args.dry_run, run.plan.to_send(), out)? {
        return match left_out {
            n if n > 0 && !args.dry_run => Err(left_out_error(n)),
            _ => Ok(()),
        };
    }
    if !asked(&run.plan, args.yes, out, confirm)? {
        writeln!(out, "Nothing sent.")?;
        return Ok(());
    }
    let journal = offboard::begin(&session.client, Some(&path), &run)?;
    execute(session, journal, &run, &path, &args.output, out).await?;
    if left_out > 0 {
        return Err(left_out_error(left_out));
    }
    Ok(())
}

fn left_out_error(n: usize) -> anyhow::Error {
    anyhow!(
        "{n} account{} left out, not offboarded: {} could not be read (each named above as 'Left out'); offboard {} again",
        plural(n),
        if n == 1 { "it" } else { "they" },
        if n == 1 { "it" } else { "them" }
    )
}

fn asked(
    plan: &OffboardPlan,
    yes: bool,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    let n = plan.accounts.len();
    let deletes = plan.deletes();
    if deletes > 0 {
        let question = format!(
            "Offboard {n} account{} and delete {deletes} of them for good (this cannot be undone)? Type {deletes} to confirm:",
            plural(n)
        );
        confirm.confirm_typed(&question, &deletes.to_string(), out)
    } else {
        confirm.confirm(&format!("Offboard {n} account{}?", plural(n)), out)
    }
}

/// Runs `run`, printing each step as it ends, then the report; the exit
/// says what is left.
async fn execute(
    session: &Session,
    journal: crate::journal::Journal,
    run: &OffboardRun,
    path: &Path,
    output: &ReportArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let stop_signals = listen_for_stop_signals();
    let run_id = run.meta.run_id.clone();
    writeln!(
        out,
        "Run {run_id} ({} account{} at a time), journal {}",
        run.concurrency,
        plural(run.concurrency),
        path.display()
    )?;
    out.flush()?;
    let cancel = Cancel::default();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<StepEvent>();
    let mut forward = move |event: &StepEvent| {
        let _ = sender.send(event.clone());
    };
    let running =
        async { Ok(offboard::execute(&session.client, journal, run, &cancel, &mut forward).await) };
    let (lists, signal) = print_while_running(
        &run_id,
        running,
        &cancel,
        receiver,
        write_event,
        stop_signals,
        out,
    )
    .await?;
    report(&run_id, &lists, output, out)?;
    writeln!(out, "Run {run_id}: {}", offboard::summary(&lists))?;
    out.flush()?;
    let left = offboard::unfinished(&lists);
    if let Some(signal) = signal.filter(|_| left > 0) {
        return Err(crate::tui::Interrupted {
            code: u8::try_from(128 + signal).unwrap_or(1),
            note: Some(format!(
                "stopped: {left} account{} not finished; `rollcall resume {run_id}` finishes them",
                plural(left)
            )),
        }
        .into());
    }
    if left > 0 {
        bail!(
            "{left} account{} not finished (a step's outcome is unknown or it was not run): `rollcall resume {run_id}` reads them back and finishes them",
            plural(left)
        );
    }
    let failed = lists
        .iter()
        .filter(|l| {
            l.steps.iter().any(|(_, s)| {
                matches!(
                    s,
                    StepState::Failed(_) | StepState::Held(_) | StepState::Blocked(_)
                )
            })
        })
        .count();
    if failed > 0 {
        bail!(
            "{failed} account{} not fully offboarded (see the report, or `rollcall journal --run {run_id}`)",
            plural(failed)
        );
    }
    Ok(())
}

/// The report: Markdown to `--report` (else printed) and CSV to `--csv`.
fn report(
    run_id: &str,
    lists: &[Checklist],
    output: &ReportArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match &output.report {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .with_context(|| format!("cannot write the report {}", path.display()))?;
            offboard::write_markdown(run_id, lists, &mut file)?;
            writeln!(out, "Report: {}", path.display())?;
        }
        None => {
            writeln!(out)?;
            offboard::write_markdown(run_id, lists, out)?;
            writeln!(out)?;
        }
    }
    if let Some(path) = &output.csv {
        let mut file = std::fs::File::create(path)
            .with_context(|| format!("cannot write the CSV report {}", path.display()))?;
        offboard::write_csv(lists, &mut file)?;
        writeln!(out, "CSV report: {}", path.display())?;
    }
    Ok(())
}

/// `rollcall resume RUN_ID`
pub async fn resume(
    session: &Session,
    args: &ResumeArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    resume_with(session, args, out, &mut LinePrompt::stdin()).await
}

/// As `resume`, with the confirmation supplied.
pub async fn resume_with(
    session: &Session,
    args: &ResumeArgs,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    let path = journal_path(args.journal.as_deref())?;
    let (contents, original) = undo::read_run(&path, &args.run_id).await?;
    let concurrency = effective_concurrency(session, args.concurrency);
    let resumed =
        offboard::plan_resume(session, &contents, &original, name_an_heir, concurrency).await?;
    let run = resumed.run;
    writeln!(
        out,
        "Run {}: {} of {} account{} already finished.",
        run.meta.run_id,
        resumed.finished,
        run.plan.accounts.len(),
        plural(run.plan.accounts.len())
    )?;
    write_preview(&run.plan, out)?;
    let left_out = run.plan.missing.len();
    if !ready_to_send(session, args.dry_run, run.plan.to_send(), out)? {
        if !args.dry_run {
            report(&run.meta.run_id, &run.plan.checklists(), &args.output, out)?;
            if left_out > 0 {
                return Err(left_out_error(left_out));
            }
        }
        return Ok(());
    }
    if !asked(&run.plan, args.yes, out, confirm)? {
        writeln!(out, "Nothing sent.")?;
        return Ok(());
    }
    let journal = offboard::reopen(&session.client, &path)?;
    execute(session, journal, &run, &path, &args.output, out).await?;
    if left_out > 0 {
        return Err(left_out_error(left_out));
    }
    Ok(())
}

/// The undo of an offboarding run (`rollcall undo` hands it here): groups
/// put back and accounts enabled; what cannot be undone, listed.
pub async fn undo_with(
    session: &Session,
    args: &UndoArgs,
    path: &Path,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    let (contents, original) = undo::read_run(path, &args.run_id).await?;
    let plan = offboard::plan_undo(session, &contents, original).await?;
    write_undo_plan(&plan, out)?;
    let count = plan.to_send();
    if !ready_to_send(session, args.dry_run, count, out)? {
        return Ok(());
    }
    if !args.yes {
        let question = format!(
            "Put back {} account{}' groups and enable {}?",
            plan.regroup.len(),
            plural(plan.regroup.len()),
            plan.enable.len()
        );
        if !confirm.confirm(&question, out)? {
            writeln!(out, "Nothing sent.")?;
            return Ok(());
        }
    }
    let meta = RunMeta::start(&session.instance, &session.actor.user_name);
    let header = offboard::undo_header(&meta, &plan, session.client.activity_log());
    let concurrency = effective_concurrency(session, args.concurrency);
    let (rows, signal) = drive_run(
        session,
        path,
        &meta.run_id,
        &header,
        "undo",
        out,
        async |journal, cancel, forward| {
            offboard::execute_undo(
                &session.client,
                journal,
                &meta,
                &plan,
                concurrency,
                cancel,
                forward,
            )
            .await
        },
    )
    .await?;
    let not_ok = rows.iter().filter(|r| r.outcome != RowOutcome::Ok).count();
    if let Some(signal) = signal.filter(|_| not_ok > 0) {
        return Err(crate::tui::Interrupted {
            code: u8::try_from(128 + signal).unwrap_or(1),
            note: Some(format!(
                "cancelled: {not_ok} not put back (run {})",
                meta.run_id
            )),
        }
        .into());
    }
    if not_ok > 0 {
        bail!(
            "{not_ok} of {} not put back (see `rollcall journal --run {}`)",
            rows.len(),
            meta.run_id
        );
    }
    Ok(())
}

fn write_undo_plan(plan: &OffboardUndoPlan, out: &mut dyn Write) -> anyhow::Result<()> {
    let list = |out: &mut dyn Write, title: &str, lines: Vec<String>| -> anyhow::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        writeln!(out, "{title} ({}):", lines.len())?;
        for line in lines {
            writeln!(out, "  {line}")?;
        }
        Ok(())
    };
    let named = |rows: &[(i64, String, String)]| -> Vec<String> {
        rows.iter()
            .map(|(id, name, why)| format!("{} ({id}): {}", sanitize(name), sanitize(why)))
            .collect()
    };
    if let Some(original) = &plan.original {
        writeln!(
            out,
            "Undo of offboarding run {}:",
            sanitize(&original.run_id)
        )?;
    }
    list(
        out,
        "Will put back in their groups",
        plan.regroup
            .iter()
            .map(|r| {
                let groups = if r.names.is_empty() {
                    format!("{} group{}", r.group_ids.len(), plural(r.group_ids.len()))
                } else {
                    r.names
                        .iter()
                        .map(|n| sanitize(n).into_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!("{} ({}): {groups}", sanitize(&r.user.user_name), r.user.id)
            })
            .collect(),
    )?;
    list(
        out,
        "Will enable",
        plan.enable
            .iter()
            .map(|u| format!("{} ({})", sanitize(&u.user_name), u.id))
            .collect(),
    )?;
    list(
        out,
        "Cannot be undone",
        plan.irreversible
            .iter()
            .map(|(id, name, what, why)| {
                format!(
                    "{} ({id}): {}: {}",
                    sanitize(name),
                    sanitize(what),
                    sanitize(why)
                )
            })
            .collect(),
    )?;
    list(
        out,
        "No longer on the server (left alone)",
        plan.missing
            .iter()
            .map(|(id, name)| format!("{} ({id})", sanitize(name)))
            .collect(),
    )?;
    list(
        out,
        "Outcome unknown, and the server shows no change (nothing to put back)",
        named(&plan.not_applied),
    )?;
    list(out, "Not allowed (left alone)", named(&plan.not_allowed))?;
    list(
        out,
        "Could not be read back (left alone)",
        named(&plan.unreadable),
    )?;
    Ok(())
}

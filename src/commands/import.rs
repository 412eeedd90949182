//! `users template` and `users import`, and the undo of an import: thin
//! drivers over `ops::import` and `ops::undo` that read the file, print
//! the preview and the progress, and ask.

use super::offboard::{
    drive_run, effective_concurrency, journal_path, listen_for_stop_signals, parse_concurrency,
    plural, print_while_running, ready_to_send, Confirm, LinePrompt, UndoArgs, JOURNAL_ENV,
};
use crate::bulk::{Cancel, RowOutcome, RowResult, RunMeta};
use crate::domain::text::sanitize;
use crate::domain::AccountType;
use crate::ops::import::{self, ImportContext, ImportPlan, ImportRowResult, ImportRun, TokenFile};
use crate::ops::session::Session;
use crate::ops::undo::{self, ImportUndoPlan};
use anyhow::{bail, Context};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

fn parse_kind(text: &str) -> Result<AccountType, String> {
    AccountType::from_key(text)
        .ok_or_else(|| format!("unknown account type {text:?}; use user, api, readonly or taxii"))
}

/// `users template`.
#[derive(clap::Args, Debug, Clone)]
pub struct TemplateArgs {
    /// The kind of account: user, api, readonly, taxii.
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_kind)]
    pub kind: AccountType,
    /// The Organization the accounts will be created in (default: your home Organization).
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,
}

/// `users import`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ImportArgs {
    /// The CSV file: a header of `--set` keys (see `users template`), one
    /// account a row; lines starting with # are skipped.
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// The Organization new accounts are created in (default: your home Organization).
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
    /// Generate an API token for each API account created, written to FILE
    /// (mode 0600; never to the journal or the terminal).
    #[arg(long, value_name = "FILE")]
    pub generate_tokens: Option<PathBuf>,
}

fn context(session: &Session, org: Option<&str>, generate_tokens: bool) -> ImportContext {
    import::context(session, org, generate_tokens)
}

/// `rollcall users template --type TYPE`
pub fn template(session: &Session, args: &TemplateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let context = context(session, args.org.as_deref(), false);
    let template = import::template(&context, args.kind);
    if let Some(note) = &template.note {
        eprintln!("note: {note}");
    }
    import::write_template(&template, out)
}

/// Reads `args.file` and plans every row against the accounts on the
/// server now. Nothing is sent.
pub async fn plan(session: &Session, args: &ImportArgs) -> anyhow::Result<ImportPlan> {
    import::plan_file(
        session,
        &args.file,
        args.org.as_deref(),
        args.generate_tokens.is_some(),
    )
    .await
}

/// The preview: the counts, then each invalid and refused row by line, then
/// what will be created and updated.
pub fn write_preview(plan: &ImportPlan, file: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    for line in import::preview_lines(plan, &file.display().to_string()) {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

/// `rollcall users import FILE.csv`
pub async fn run(session: &Session, args: &ImportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    run_with(session, args, out, &mut LinePrompt::stdin()).await
}

/// As `run`, with the confirmation supplied.
pub async fn run_with(
    session: &Session,
    args: &ImportArgs,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    if args.generate_tokens.is_some()
        && !session.capabilities.has(crate::api::wire::ext::API_TOKENS)
    {
        bail!(
            "this instance does not support generating API tokens (rollcall extension {})",
            crate::api::wire::ext::API_TOKENS
        );
    }
    let plan = plan(session, args).await?;
    write_preview(&plan, &args.file, out)?;
    let count = plan.to_send();
    if !ready_to_send(session, args.dry_run, count, out)? {
        return Ok(());
    }
    let question = format!(
        "Create {} and update {} account{}?",
        plan.creates(),
        plan.updates(),
        plural(plan.updates())
    );
    if !args.yes && !confirm.confirm(&question, out)? {
        writeln!(out, "Nothing sent.")?;
        return Ok(());
    }
    let tokens = args
        .generate_tokens
        .as_deref()
        .map(|path| {
            TokenFile::create(path)
                .map(Mutex::new)
                .with_context(|| format!("cannot create the token file {}", path.display()))
        })
        .transpose()?;
    let run = ImportRun {
        meta: RunMeta::start(&session.instance, &session.actor.user_name),
        org: context(session, args.org.as_deref(), false).org,
        plan,
        concurrency: effective_concurrency(session, args.concurrency),
        tokens,
    };
    let path = journal_path(args.journal.as_deref())?;
    let header = run.header(session.client.activity_log());
    let journal = crate::ops::run::begin_with(&session.client, Some(&path), &header)?;
    let stop_signals = listen_for_stop_signals();
    writeln!(
        out,
        "Run {} ({} at a time), journal {}",
        run.meta.run_id,
        run.concurrency,
        path.display()
    )?;
    out.flush()?;
    let cancel = Cancel::default();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<ImportRowResult>();
    let mut forward = move |row: &ImportRowResult| {
        let _ = sender.send(row.clone());
    };
    let running =
        async { Ok(import::execute(&session.client, journal, &run, &cancel, &mut forward).await) };
    let (results, signal) = print_while_running(
        &run.meta.run_id,
        running,
        &cancel,
        receiver,
        write_import_row,
        stop_signals,
        out,
    )
    .await?;
    let as_rows: Vec<RowResult> = results
        .iter()
        .map(|r| RowResult {
            id: r.account_id.unwrap_or(0),
            user_name: r.user_name.clone(),
            outcome: r.outcome.clone(),
        })
        .collect();
    writeln!(
        out,
        "Run {}: {}",
        run.meta.run_id,
        crate::ops::run::tally(&as_rows)
    )?;
    out.flush()?;
    finish(&run.meta.run_id, &as_rows, signal)
}

/// The exit of a run: an error when any row did not end ok.
fn finish(run_id: &str, rows: &[RowResult], signal: Option<i32>) -> anyhow::Result<()> {
    let count =
        |wanted: fn(&RowOutcome) -> bool| rows.iter().filter(|r| wanted(&r.outcome)).count();
    let unanswered = count(RowOutcome::needs_read_back);
    let failed = count(|o| matches!(o, RowOutcome::Failed(_)));
    let not_sent = count(|o| *o == RowOutcome::NotSent);
    if let Some(signal) = signal.filter(|_| not_sent > 0) {
        return Err(crate::tui::Interrupted {
            code: u8::try_from(128 + signal).unwrap_or(1),
            note: Some(format!(
                "cancelled: {not_sent} of {} rows not sent (run {run_id})",
                rows.len()
            )),
        }
        .into());
    }
    if unanswered > 0 {
        bail!("{unanswered} of {} rows were sent without a recorded answer: read back before acting again (`rollcall journal --run {run_id}`)", rows.len());
    }
    if failed > 0 {
        bail!(
            "{failed} of {} rows failed (see `rollcall journal --run {run_id}`)",
            rows.len()
        );
    }
    if not_sent > 0 {
        bail!(
            "cancelled: {not_sent} of {} rows not sent (run {run_id})",
            rows.len()
        );
    }
    Ok(())
}

fn write_import_row(row: &ImportRowResult, out: &mut dyn Write) -> std::io::Result<()> {
    let name = sanitize(&row.user_name);
    let what = match row.action {
        import::RowAction::Create => "create",
        import::RowAction::Update => "update",
    };
    let id = row
        .account_id
        .map_or_else(String::new, |id| format!(" (id {id})"));
    let line = row.line;
    match &row.outcome {
        RowOutcome::Ok => writeln!(out, "ok        line {line}, {what} {name}{id}"),
        RowOutcome::Failed(why) => writeln!(
            out,
            "failed    line {line}, {what} {name}{id}: {}",
            sanitize(why)
        ),
        RowOutcome::Unknown(why) => writeln!(
            out,
            "unknown   line {line}, {what} {name}{id}: {}",
            sanitize(why)
        ),
        RowOutcome::Unjournaled(why) => writeln!(
            out,
            "sent      line {line}, {what} {name}{id}: {}",
            sanitize(why)
        ),
        RowOutcome::NotSent => writeln!(out, "not sent  line {line}, {what} {name}"),
    }?;
    out.flush()
}

// ---------------------------------------------------------------------------
// Undo
// ---------------------------------------------------------------------------

/// Plans undoing import run `run_id` (see `ops::undo::plan_import`).
pub async fn plan_undo(
    session: &Session,
    journal_path: &Path,
    run_id: &str,
) -> anyhow::Result<ImportUndoPlan> {
    let concurrency = effective_concurrency(session, None);
    undo::plan_import_run(session, journal_path, run_id, concurrency).await
}

/// `rollcall undo RUN_ID` of an import: delete what it created (after the
/// count is typed: a deletion cannot be undone), put back what it changed.
pub async fn undo_with(
    session: &Session,
    args: &UndoArgs,
    path: &Path,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    let plan = plan_undo(session, path, &args.run_id).await?;
    if plan.original.is_none() {
        bail!("the undo plan names no run");
    }
    for line in undo::import_undo_lines(&plan) {
        writeln!(out, "{line}")?;
    }
    let count = plan.deletes.len() + plan.restores.len();
    if !ready_to_send(session, args.dry_run, count, out)? {
        return Ok(());
    }
    if !args.yes {
        let asked = if plan.deletes.is_empty() {
            confirm.confirm(
                &format!(
                    "Put back the fields of {} account{}?",
                    plan.restores.len(),
                    plural(plan.restores.len())
                ),
                out,
            )?
        } else {
            let deletes = plan.deletes.len();
            confirm.confirm_typed(
                &format!(
                    "Delete {deletes} account{} for good (this cannot be undone) and put back the fields of {}? Type {deletes} to confirm:",
                    plural(deletes),
                    plan.restores.len()
                ),
                &deletes.to_string(),
                out,
            )?
        };
        if !asked {
            writeln!(out, "Nothing sent.")?;
            return Ok(());
        }
    }
    let meta = RunMeta::start(&session.instance, &session.actor.user_name);
    let header = undo::import_undo_header(&meta, &plan, session.client.activity_log());
    let concurrency = effective_concurrency(session, args.concurrency);
    let (rows, signal) = drive_run(
        session,
        path,
        &meta.run_id,
        &header,
        &format!("{concurrency} at a time"),
        out,
        async |journal, cancel, forward| {
            undo::execute_import_undo(
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
    finish(&meta.run_id, &rows, signal)?;
    if !plan.unreadable.is_empty() {
        bail!(
            "{} account{} could not be read back and {} left alone: run the undo again when the instance answers",
            plan.unreadable.len(),
            plural(plan.unreadable.len()),
            if plan.unreadable.len() == 1 { "was" } else { "were" }
        );
    }
    Ok(())
}

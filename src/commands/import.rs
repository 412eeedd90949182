//! `users template` and `users import`, and the undo of an import: thin
//! drivers over `ops::import` and `ops::undo` that read the file, print
//! the preview and the progress, and ask.

use super::offboard::{
    effective_concurrency, journal_path, listen_for_stop_signals, plural, print_while_running,
    ready_to_send, write_row, Confirm, LinePrompt, UndoArgs, JOURNAL_ENV,
};
use crate::bulk::{Cancel, RowOutcome, RowResult, RunMeta};
use crate::domain::text::sanitize;
use crate::domain::AccountType;
use crate::journal::{HeaderKind, RunHeader};
use crate::ops::account::edit_fields;
use crate::ops::import::{
    self, ImportContext, ImportPlan, ImportRowResult, ImportRun, RowPlan, TokenFile,
    UNDO_IMPORT_ACTION,
};
use crate::ops::run::MAX_CONCURRENCY;
use crate::ops::session::Session;
use crate::ops::undo::{self, ImportUndoPlan};
use anyhow::{anyhow, bail, Context};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

fn parse_kind(text: &str) -> Result<AccountType, String> {
    AccountType::from_key(text)
        .ok_or_else(|| format!("unknown account type {text:?}; use user, api, readonly or taxii"))
}

fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(format!("expected a number from 1 to {MAX_CONCURRENCY}")),
    }
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
    ImportContext {
        actor: session.actor.clone(),
        settings: session.settings.clone(),
        extensions: session.capabilities.extensions.clone(),
        not_updatable: session.capabilities.not_updatable.clone(),
        org: org.map_or_else(|| session.actor.home_org.clone(), str::to_string),
        generate_tokens,
    }
}

/// `rollcall users template --type TYPE`
pub fn template(session: &Session, args: &TemplateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let context = context(session, args.org.as_deref(), false);
    import::write_template(&import::template(&context, args.kind), out)
}

/// Reads `args.file` and plans every row against the accounts on the
/// server now. Nothing is sent.
pub async fn plan(session: &Session, args: &ImportArgs) -> anyhow::Result<ImportPlan> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let context = context(session, args.org.as_deref(), args.generate_tokens.is_some());
    let query = crate::api::UserQuery {
        fields: edit_fields(&session.capabilities),
        ..Default::default()
    };
    let existing = session
        .client
        .list_users(&query)
        .await
        .context("reading the accounts to match the rows against")?;
    import::plan(&context, &text, &existing).map_err(|problem| {
        anyhow!(
            "{}: {}",
            sanitize(&args.file.display().to_string()),
            sanitize(&problem.0)
        )
    })
}

/// The preview: the counts, then each invalid and refused row by line, then
/// what will be created and updated.
pub fn write_preview(plan: &ImportPlan, file: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "Import of {}: {} row{}",
        sanitize(&file.display().to_string()),
        plan.rows.len(),
        plural(plan.rows.len())
    )?;
    writeln!(out, "  create: {}", plan.creates())?;
    writeln!(out, "  update: {}", plan.updates())?;
    writeln!(out, "  unchanged: {}", plan.unchanged())?;
    writeln!(out, "  invalid: {}", plan.invalid())?;
    writeln!(out, "  not allowed: {}", plan.not_allowed())?;
    let section = |out: &mut dyn Write, title: &str, lines: Vec<String>| -> std::io::Result<()> {
        if !lines.is_empty() {
            writeln!(out, "{title}:")?;
            for line in lines {
                writeln!(out, "  {line}")?;
            }
        }
        Ok(())
    };
    let mut invalid = Vec::new();
    let mut refused = Vec::new();
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    for row in &plan.rows {
        match row {
            RowPlan::Invalid { line, problems } => {
                for (column, why) in problems {
                    invalid.push(format!(
                        "line {line}, {}: {}",
                        sanitize(column),
                        sanitize(why)
                    ));
                }
            }
            RowPlan::NotAllowed {
                line,
                user_name,
                reason,
            } => refused.push(format!(
                "line {line}, {}: {}",
                sanitize(user_name),
                sanitize(reason)
            )),
            RowPlan::Create(create) => {
                let password = if create.password_made_up {
                    "; no password given: a random one nobody is told, reset required at first login"
                } else {
                    ""
                };
                creates.push(format!(
                    "line {}, {} ({}){password}",
                    create.line,
                    sanitize(&create.user_name),
                    create.kind.name()
                ))
            }
            RowPlan::Update(update) => {
                let fields: Vec<&str> = update
                    .change
                    .as_object()
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                updates.push(format!(
                    "line {}, {} (id {}): {}",
                    update.line,
                    sanitize(&update.user.user_name),
                    update.user.id,
                    fields.join(", ")
                ))
            }
            RowPlan::Unchanged { .. } => {}
        }
    }
    section(out, "Invalid (not sent)", invalid)?;
    section(out, "Not allowed (not sent)", refused)?;
    section(out, "Will create", creates)?;
    section(out, "Will update", updates)?;
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
        meta: RunMeta {
            run_id: RunMeta::new_run_id(),
            instance: session.instance.clone(),
            actor: session.actor.user_name.clone(),
        },
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
    let (contents, original) = undo::read_run(journal_path, run_id).await?;
    let source = undo::Source {
        client: &session.client,
        instance: &session.instance,
        fields: edit_fields(&session.capabilities),
        concurrency: effective_concurrency(session, None),
    };
    undo::plan_import(
        &source,
        &session.actor,
        &session.settings,
        &contents,
        original,
    )
    .await
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
    let original = plan
        .original
        .as_ref()
        .ok_or_else(|| anyhow!("the undo plan names no run"))?;
    writeln!(
        out,
        "Undo of import run {} ({} succeeded): delete {} account{} it created, put back the fields of {} it changed",
        sanitize(&original.run_id),
        original.succeeded,
        plan.deletes.len(),
        plural(plan.deletes.len()),
        plan.restores.len()
    )?;
    let list = |out: &mut dyn Write, title: &str, rows: Vec<String>| -> std::io::Result<()> {
        if !rows.is_empty() {
            writeln!(out, "{title}:")?;
            for row in rows {
                writeln!(out, "  {row}")?;
            }
        }
        Ok(())
    };
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
    list(
        out,
        "Will delete",
        plan.deletes
            .iter()
            .map(|u| format!("{} ({})", sanitize(&u.user_name), u.id))
            .collect(),
    )?;
    list(
        out,
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
    )?;
    list(
        out,
        "No longer on the server (left alone)",
        named(&plan.missing),
    )?;
    list(
        out,
        "Outcome unknown, and the server shows no change (nothing to put back)",
        named(&plan.not_applied),
    )?;
    list(
        out,
        "Old values never shown by the account (cannot be put back)",
        named(&plan.unknown_before),
    )?;
    list(out, "Not allowed (left alone)", with_why(&plan.not_allowed))?;
    list(
        out,
        "Could not be read back (left alone)",
        with_why(&plan.unreadable),
    )?;
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
    let meta = RunMeta {
        run_id: RunMeta::new_run_id(),
        instance: session.instance.clone(),
        actor: session.actor.user_name.clone(),
    };
    let header = RunHeader {
        kind: HeaderKind::Run,
        time: chrono::Utc::now(),
        instance: meta.instance.clone(),
        actor: meta.actor.clone(),
        run_id: meta.run_id.clone(),
        action: UNDO_IMPORT_ACTION.to_string(),
        filter: None,
        org: None,
        undo_of: Some(original.run_id.clone()),
        planned: count,
        already: plan.not_applied.len(),
        not_allowed: plan.not_allowed.len(),
        activity_log: Some(session.client.activity_log()),
        offboard: None,
    };
    let journal = crate::ops::run::begin_with(&session.client, Some(path), &header)?;
    let concurrency = effective_concurrency(session, args.concurrency);
    let stop_signals = listen_for_stop_signals();
    writeln!(
        out,
        "Run {} ({concurrency} at a time), journal {}",
        meta.run_id,
        path.display()
    )?;
    out.flush()?;
    let cancel = Cancel::default();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<RowResult>();
    let mut forward = move |row: &RowResult| {
        let _ = sender.send(row.clone());
    };
    let running = async {
        Ok(undo::execute_import_undo(
            &session.client,
            journal,
            &meta,
            &plan,
            concurrency,
            &cancel,
            &mut forward,
        )
        .await)
    };
    let (rows, signal) = print_while_running(
        &meta.run_id,
        running,
        &cancel,
        receiver,
        write_row,
        stop_signals,
        out,
    )
    .await?;
    writeln!(
        out,
        "Run {}: {}",
        meta.run_id,
        crate::ops::run::tally(&rows)
    )?;
    out.flush()?;
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

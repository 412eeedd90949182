//! `rollcall review start|apply|report`: thin drivers over `ops::review`.
//! The decisions run through the same preflight, confirmation, journal
//! and undo as every bulk run (`commands::offboard`).

use super::admin::{resolve_heirs_of, AccountArg};
use super::offboard::{self, effective_concurrency, journal_path, Confirm, RunOptions};
use crate::bulk::{Reassign, RunMeta};
use crate::domain::audit::{DEFAULT_EXPIRING_DAYS, DEFAULT_STALE_DAYS};
use crate::domain::audit_policy::AuditPolicy;
use crate::domain::preflight::BulkAction;
use crate::domain::review::{Decision, Scope};
use crate::domain::text::sanitize;
use crate::journal;
use crate::ops::evidence::{self, BundleInfo};
use crate::ops::review::{self as ops_review, AppliedRun, StartOptions};
use crate::ops::session::Session;
use anyhow::{bail, Context};
use chrono::Utc;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug, Clone)]
pub enum ReviewCommand {
    /// Freeze a snapshot and write one CSV (and a Markdown summary) per
    /// reviewer scope, with empty decision and reason columns.
    Start(StartArgs),
    /// Carry out the decided files: disable and delete runs (preflight,
    /// confirm, journal, undo); accounts changed since the snapshot are skipped.
    Apply(ApplyArgs),
    /// Write the signed-off record (review-report.md and .json in DIR).
    Report(ReportArgs),
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeArg {
    /// One sheet per Organization.
    Org,
    /// One sheet per user group (an account in several groups is in each).
    Group,
}

#[derive(clap::Args, Debug, Clone)]
pub struct StartArgs {
    /// How accounts are split among reviewers.
    #[arg(long, value_enum)]
    pub by: ScopeArg,
    /// The review's directory, new or empty [default: review-YYYYMMDD-HHMMSS].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only the accounts of this Organization.
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,
    /// No login for more than N days counts as stale (where [policy] sets no threshold).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_STALE_DAYS,
          value_parser = clap::value_parser!(i64).range(0..=36_500))]
    pub stale_days: i64,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ApplyArgs {
    /// The review's directory (from `review start`).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Show what would be done, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Carry out decisions on accounts that changed since the snapshot too.
    #[arg(long)]
    pub force: bool,
    /// Requests in flight at once [default: the profile's concurrency, else 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// The journal file [default: journal.jsonl in rollcall's data directory].
    #[arg(long, value_name = "PATH", env = offboard::JOURNAL_ENV)]
    pub journal: Option<PathBuf>,
    /// Deletes: the account that takes over the active playbooks of those
    /// that run any (an id or a user name).
    #[arg(long, value_name = "ACCOUNT")]
    pub reassign_playbooks_to: Option<AccountArg>,
    /// Deletes: the API user that takes over the job apps of those that run any.
    #[arg(long, value_name = "API_ACCOUNT")]
    pub reassign_jobs_to: Option<AccountArg>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// The review's directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The journal the review's runs were written to.
    #[arg(long, value_name = "PATH", env = offboard::JOURNAL_ENV)]
    pub journal: Option<PathBuf>,
    /// Also write an evidence bundle into DIR (new or empty): the record,
    /// the snapshot, the decided sheets and the runs, with a manifest.
    #[arg(long, value_name = "BUNDLE_DIR")]
    pub bundle: Option<PathBuf>,
    /// With --bundle: record the previous bundle's manifest hash.
    #[arg(long, value_name = "PREVIOUS_DIR", requires = "bundle")]
    pub chain: Option<PathBuf>,
}

/// `review start`.
pub async fn start(
    session: &Session,
    args: &StartArgs,
    policy: Option<AuditPolicy>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("review-{}", now.format("%Y%m%d-%H%M%S"))));
    let options = StartOptions {
        by: match args.by {
            ScopeArg::Org => Scope::Org,
            ScopeArg::Group => Scope::Group,
        },
        dir: dir.clone(),
        org: args.org.clone(),
        policy,
        stale_days: args.stale_days,
        expiring_days: DEFAULT_EXPIRING_DAYS,
    };
    let snapshot = ops_review::start(session, &options, now).await?;
    writeln!(
        out,
        "Review started in {}: {} accounts, {} sheet{}",
        dir.display(),
        snapshot.users.len(),
        snapshot.sheets.len(),
        if snapshot.sheets.len() == 1 { "" } else { "s" }
    )?;
    for sheet in &snapshot.sheets {
        writeln!(
            out,
            "  {}  {} ({} account{})",
            sanitize(&sheet.file),
            sanitize(&sheet.scope),
            sheet.accounts,
            if sheet.accounts == 1 { "" } else { "s" }
        )?;
    }
    writeln!(
        out,
        "Fill decision (keep, disable, delete), reason (required for disable and delete) and reviewer; then `rollcall review apply {}`.",
        dir.display()
    )?;
    Ok(())
}

/// A review's sheets and their decisions, read before any connection:
/// every problem is written to `out` by file, line and column, and then
/// refused in one line.
pub fn read_decisions(
    dir: &std::path::Path,
    out: &mut dyn Write,
) -> anyhow::Result<(ops_review::Review, Vec<crate::domain::review::Decided>)> {
    let review = ops_review::load(dir)?;
    match ops_review::decisions(&review) {
        Ok(decided) => Ok((review, decided)),
        Err(problems) => {
            for p in &problems {
                writeln!(out, "{}", sanitize(&p.to_string()))?;
            }
            out.flush()?;
            bail!(
                "{} problem{} in the decisions: nothing was sent; correct the sheets and apply again",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
        }
    }
}

/// `review apply`, with the confirmation supplied.
pub async fn apply(
    session: &Session,
    args: &ApplyArgs,
    out: &mut dyn Write,
    confirm: &mut dyn Confirm,
) -> anyhow::Result<()> {
    let (review, decided) = read_decisions(&args.dir, out)?;
    let count = |d: Decision| decided.iter().filter(|x| x.decision == d).count();
    writeln!(
        out,
        "Review {}: {} decisions: {} keep, {} disable, {} delete",
        args.dir.display(),
        decided.len(),
        count(Decision::Keep),
        count(Decision::Disable),
        count(Decision::Delete)
    )?;
    let plan = ops_review::plan(session, &review, &decided, args.force).await?;
    if !plan.done.is_empty() {
        writeln!(
            out,
            "{} decision{} carried out already by this review's runs (left alone): {}",
            plan.done.len(),
            if plan.done.len() == 1 { "" } else { "s" },
            plan.done
                .iter()
                .map(|(id, run)| format!("{id} (run {run})"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    if !plan.changed.is_empty() {
        let skipped = if args.force {
            "sent as decided (--force), except those gone"
        } else {
            "skipped (--force carries them out as decided)"
        };
        writeln!(
            out,
            "{} account{} changed on the server since the snapshot, {skipped}:",
            plan.changed.len(),
            if plan.changed.len() == 1 { "" } else { "s" }
        )?;
        for c in &plan.changed {
            let what = if c.gone {
                "no longer on the server".to_string()
            } else {
                format!("{} changed", c.fields.join(", "))
            };
            writeln!(
                out,
                "  {} ({}), decided {}: {what}",
                sanitize(&c.account),
                c.account_id,
                c.decision.name()
            )?;
        }
    }
    let path = journal_path(args.journal.as_deref())?;
    // A delete's new owners of Run As playbooks and job apps (rule 8),
    // checked before anything is sent.
    let heirs = if plan.delete.is_empty() {
        Reassign::default()
    } else {
        resolve_heirs_of(
            session,
            args.reassign_playbooks_to.as_ref(),
            args.reassign_jobs_to.as_ref(),
        )
        .await?
    };
    for (action, decision, users) in [
        (BulkAction::Disable, Decision::Disable, plan.disable.clone()),
        (BulkAction::Delete, Decision::Delete, plan.delete.clone()),
    ] {
        if users.is_empty() {
            continue;
        }
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let selection = offboard::assess(session, action, users);
        offboard::write_preflight(&selection, out)?;
        let options = RunOptions {
            run_id: RunMeta::new_run_id(),
            concurrency: effective_concurrency(session, args.concurrency),
            filter: None,
            org: None,
            undo_of: None,
            // Absolute: the journal names the review wherever it is read.
            review: Some(
                std::path::absolute(&args.dir)
                    .unwrap_or_else(|_| args.dir.clone())
                    .display()
                    .to_string(),
            ),
            reassign: if action == BulkAction::Delete {
                heirs
            } else {
                Reassign::default()
            },
        };
        let sends =
            !args.dry_run && !selection.preflight.will_change.is_empty() && !session.read_only;
        if sends {
            // Linked before anything is sent: a run that dies midway is
            // still the review's.
            ops_review::record_run(
                &args.dir,
                AppliedRun {
                    run_id: options.run_id.clone(),
                    decision,
                    time: Utc::now(),
                    actor: session.actor.user_name.clone(),
                    // Absolute: the report may be written from elsewhere.
                    journal: std::path::absolute(&path)
                        .unwrap_or_else(|_| path.clone())
                        .display()
                        .to_string(),
                    account_ids: ids,
                    skipped: plan
                        .changed
                        .iter()
                        .filter(|c| c.decision == decision && (c.gone || !args.force))
                        .cloned()
                        .collect(),
                    forced: args.force,
                },
            )?;
        }
        offboard::confirm_and_run(
            session,
            &selection,
            &options,
            &path,
            args.dry_run,
            args.yes,
            out,
            confirm,
        )
        .await?;
    }
    if plan.disable.is_empty() && plan.delete.is_empty() {
        writeln!(out, "Nothing to send.")?;
    }
    // A decision not carried out is not a success, for a script either.
    let left = plan
        .changed
        .iter()
        .filter(|c| c.gone || !args.force)
        .count();
    if left > 0 && !args.dry_run {
        bail!(
            "{left} decided account{} not carried out (changed since the snapshot, or gone): look at {} again, or apply with --force",
            if left == 1 { " was" } else { "s were" },
            if left == 1 { "it" } else { "them" }
        );
    }
    Ok(())
}

/// `review report`: the record into the review's directory, and with
/// `--bundle` an evidence bundle of it.
pub fn report(args: &ReportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let review = ops_review::load(&args.dir)?;
    let runs = ops_review::applied(&args.dir)?;
    // The journal each run names, else the one given or the default.
    let mut entries = Vec::new();
    let mut read = Vec::new();
    let fallback = journal_path(args.journal.as_deref()).ok();
    let mut paths: Vec<PathBuf> = runs.iter().map(|r| PathBuf::from(&r.journal)).collect();
    paths.extend(fallback);
    for p in paths {
        if read.contains(&p) {
            continue;
        }
        let contents =
            journal::read(&p).with_context(|| format!("reading the journal {}", p.display()))?;
        entries.extend(contents.entries);
        read.push(p);
    }
    let record = match ops_review::record(&review, &entries) {
        Ok(record) => record,
        Err(problems) => {
            for p in &problems {
                writeln!(out, "{}", sanitize(&p.to_string()))?;
            }
            bail!("the decisions have problems: no record written");
        }
    };
    let markdown = ops_review::record_markdown(&record);
    let mut json = serde_json::to_vec_pretty(&record)?;
    json.push(b'\n');
    for (name, bytes) in [
        (ops_review::REPORT_MD, markdown.as_bytes()),
        (ops_review::REPORT_JSON, json.as_slice()),
    ] {
        let path = args.dir.join(name);
        evidence::write_atomically(&path, bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    writeln!(
        out,
        "Record written: {} and {} in {} ({} decisions, {} run{})",
        ops_review::REPORT_MD,
        ops_review::REPORT_JSON,
        args.dir.display(),
        record.rows.len(),
        record.runs.len(),
        if record.runs.len() == 1 { "" } else { "s" }
    )?;
    if let Some(bundle) = &args.bundle {
        let previous = args
            .chain
            .as_deref()
            .map(evidence::chain_link)
            .transpose()?;
        let mut files = vec![
            (ops_review::REPORT_MD.to_string(), markdown.into_bytes()),
            (ops_review::REPORT_JSON.to_string(), json),
        ];
        let mut copy = |name: &str| -> anyhow::Result<()> {
            let path = args.dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => files.push((name.to_string(), bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => bail!("cannot read {}: {e}", path.display()),
            }
            Ok(())
        };
        copy(ops_review::SNAPSHOT)?;
        copy(ops_review::APPLIED)?;
        for sheet in &review.snapshot.sheets {
            copy(&sheet.file)?;
        }
        let snapshot = &review.snapshot;
        let info = BundleInfo {
            contents: "review-report".into(),
            instance: snapshot.instance.clone(),
            actor: runs
                .last()
                .map(|r| r.actor.clone())
                .unwrap_or_else(|| snapshot.actor.clone()),
            generated: Utc::now(),
            policy: snapshot.policy.clone(),
            thresholds: [(
                "staleDays".to_string(),
                serde_json::json!(snapshot.stale_days),
            )]
            .into_iter()
            .collect(),
            // Made from the review's files and the journal: no request.
            requests: Vec::new(),
        };
        let hash = evidence::write_bundle(bundle, info, &files, previous)?;
        writeln!(
            out,
            "Bundle {}: {} files, manifest SHA-256 {hash}",
            bundle.display(),
            files.len()
        )?;
    }
    Ok(())
}

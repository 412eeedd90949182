//! Access reviews, once for both faces: `start` freezes a snapshot and
//! writes one sheet (CSV) and one summary (Markdown) per reviewer scope;
//! `load` and `save_sheet` read and write the sheets (the console's
//! `:review` decides in the same files); `plan` reads the decisions back,
//! compares each account with the server and says what runs; `record_run`
//! links a run to the review before it is sent; `record` is the signed-off
//! record of who decided what, why, and what became of it.
//!
//! The decisions run as ordinary runs (`ops::run`): preflight, journal,
//! `rollcall undo`.

use super::evidence::write_atomically;
use super::session::Session;
use crate::domain::audit::{self, AuditInput};
use crate::domain::audit_policy::AuditPolicy;
use crate::domain::review::{
    self, changed_since, file_stem, scopes_of, sheet_row, Decided, Decision, Problem, Scope, Sheet,
};
use crate::domain::text::sanitize;
use crate::domain::{LastLoginReported, User};
use crate::journal::{self, Entry};
use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub const SNAPSHOT: &str = "snapshot.json";
pub const APPLIED: &str = "applied.json";
pub const REPORT_MD: &str = "review-report.md";
pub const REPORT_JSON: &str = "review-report.json";
/// Identifies a review's snapshot.
pub const SNAPSHOT_KIND: &str = "rollcall-review";

/// What `start` froze: the accounts as the instance returned them, and
/// how they were split into sheets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub kind: String,
    pub version: u32,
    pub instance: String,
    pub actor: String,
    pub started: DateTime<Utc>,
    pub by: Scope,
    pub organization: Option<String>,
    pub policy: Option<AuditPolicy>,
    pub stale_days: i64,
    pub sheets: Vec<SheetInfo>,
    pub users: Vec<User>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SheetInfo {
    /// The CSV's file name; the summary is the same stem with `.md`.
    pub file: String,
    pub scope: String,
    pub accounts: usize,
}

impl Snapshot {
    /// Account id to user name, for every account of the snapshot.
    pub fn known(&self) -> BTreeMap<i64, String> {
        self.users
            .iter()
            .map(|u| (u.id, u.user_name.clone()))
            .collect()
    }
}

/// How to start a review.
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub by: Scope,
    pub dir: PathBuf,
    pub org: Option<String>,
    pub policy: Option<AuditPolicy>,
    pub stale_days: i64,
    pub expiring_days: i64,
}

/// Refuses a directory that holds anything: a review (or a bundle) is
/// never written over another.
pub fn empty_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .next()
        .is_some()
    {
        bail!(
            "{} is not empty: a review starts in a new or empty directory, so none is overwritten",
            dir.display()
        );
    }
    Ok(())
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Reads every account, computes the findings, and writes the snapshot,
/// one sheet and one summary per scope into `options.dir`.
pub async fn start(
    session: &Session,
    options: &StartOptions,
    now: DateTime<Utc>,
) -> anyhow::Result<Snapshot> {
    empty_dir(&options.dir)?;
    let users = session.read_accounts(options.org.as_deref()).await?;
    if users.is_empty() {
        bail!(
            "no account returned{}: nothing to review (is the name right?)",
            options
                .org
                .as_deref()
                .map(|org| format!(" in Organization {}", sanitize(org)))
                .unwrap_or_default()
        );
    }
    let reported = session
        .capabilities
        .last_login_advertised()
        .or(LastLoginReported::seen_in(&users));
    let input = AuditInput {
        users: &users,
        limits: &[],
        now,
        stale_days: options.stale_days,
        expiring_days: options.expiring_days,
        password_max_age_days: session.settings.password_max_age_days,
        last_login: reported,
        stale_by_type: options
            .policy
            .as_ref()
            .map(|p| p.stale_days)
            .unwrap_or_default(),
    };
    let found = audit::audit(&input);
    let mut findings: HashMap<i64, Vec<String>> = HashMap::new();
    for f in &found.findings {
        for id in &f.account_ids {
            findings
                .entry(*id)
                .or_default()
                .push(f.kind.key().to_string());
        }
    }
    // The policy's exemptions, with their reasons, for the reviewer to see.
    if let Some(policy) = &options.policy {
        for user in &users {
            if let Some(e) = policy.exemption(&user.user_name) {
                findings
                    .entry(user.id)
                    .or_default()
                    .push(format!("exempt: {}", e.reason.trim()));
            }
        }
    }
    let mut by_scope: BTreeMap<String, Vec<&User>> = BTreeMap::new();
    for user in &users {
        for scope in scopes_of(user, options.by) {
            by_scope.entry(scope).or_default().push(user);
        }
    }
    let mut taken = Vec::new();
    let mut sheets = Vec::new();
    for (scope, members) in &by_scope {
        let stem = file_stem(scope, &mut taken);
        let rows = members
            .iter()
            .map(|u| {
                let f: Vec<&str> = findings
                    .get(&u.id)
                    .map(|f| f.iter().map(String::as_str).collect())
                    .unwrap_or_default();
                sheet_row(u, &f, now, reported)
            })
            .collect();
        let mut sheet = Sheet::new(rows);
        let file = format!("{stem}.csv");
        let path = options.dir.join(&file);
        write_atomically(&path, sheet.to_csv().as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        let summary = summary_markdown(session, options, now, scope, &file, members, &findings);
        let path = options.dir.join(format!("{stem}.md"));
        write_atomically(&path, summary.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        sheets.push(SheetInfo {
            file,
            scope: scope.clone(),
            accounts: members.len(),
        });
    }
    let snapshot = Snapshot {
        kind: SNAPSHOT_KIND.into(),
        version: 1,
        instance: session.instance.clone(),
        actor: session.actor.user_name.clone(),
        started: now,
        by: options.by,
        organization: options.org.clone(),
        policy: options.policy.clone(),
        stale_days: options.stale_days,
        sheets,
        users,
    };
    let path = options.dir.join(SNAPSHOT);
    let mut text = serde_json::to_vec_pretty(&snapshot)?;
    text.push(b'\n');
    write_atomically(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    Ok(snapshot)
}

/// A Markdown cell: sanitized, `|` and backquotes kept from the table.
fn cell(text: &str) -> String {
    sanitize(text).replace('|', "\\|").replace('`', "'")
}

fn summary_markdown(
    session: &Session,
    options: &StartOptions,
    now: DateTime<Utc>,
    scope: &str,
    file: &str,
    members: &[&User],
    findings: &HashMap<i64, Vec<String>>,
) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for u in members {
        for f in findings.get(&u.id).into_iter().flatten() {
            let key = if f.starts_with("exempt: ") {
                "exempt"
            } else {
                f
            };
            *counts.entry(key).or_default() += 1;
        }
    }
    let mut out = format!(
        "# Access review: {}\n\n- Instance: {}\n- Snapshot: {} by {}\n- Scope: {} ({})\n- Accounts: {}\n\n",
        cell(scope),
        cell(&session.instance),
        timestamp(now),
        cell(&session.actor.user_name),
        match options.by {
            Scope::Org => "Organization",
            Scope::Group => "user group",
        },
        cell(scope),
        members.len()
    );
    out.push_str(&format!(
        "Decide each account in `{file}`: `decision` is keep, disable or delete; \
         `reason` is required for disable and delete; `reviewer` names you. Then \
         `rollcall review apply DIR`.\n\n## Findings\n\n"
    ));
    if counts.is_empty() {
        out.push_str("None.\n");
    }
    for (key, n) in &counts {
        out.push_str(&format!("- {key}: {n}\n"));
    }
    out.push_str("\n## Accounts with findings\n\n| account | findings |\n|---|---|\n");
    for u in members {
        if let Some(f) = findings.get(&u.id).filter(|f| !f.is_empty()) {
            out.push_str(&format!(
                "| {} | {} |\n",
                cell(&u.user_name),
                cell(&f.join(", "))
            ));
        }
    }
    out
}

/// A review directory as read from disk.
#[derive(Debug, Clone)]
pub struct Review {
    pub dir: PathBuf,
    pub snapshot: Snapshot,
    /// Each sheet of the snapshot, by file name, as it is now.
    pub sheets: Vec<(String, Sheet)>,
}

/// Reads the snapshot and every sheet it lists.
pub fn load(dir: &Path) -> anyhow::Result<Review> {
    let path = dir.join(SNAPSHOT);
    let text = std::fs::read(&path).with_context(|| {
        format!(
            "reading {} (is {} a review started with `rollcall review start`?)",
            path.display(),
            dir.display()
        )
    })?;
    let snapshot: Snapshot = serde_json::from_slice(&text)
        .map_err(|e| anyhow!("{} is not a review snapshot: {e}", path.display()))?;
    if snapshot.kind != SNAPSHOT_KIND {
        bail!("{} is not a review snapshot", path.display());
    }
    let mut sheets = Vec::new();
    for info in &snapshot.sheets {
        if info.file.contains(['/', '\\']) {
            bail!(
                "{}: sheet name {:?} is not a plain file name",
                path.display(),
                info.file
            );
        }
        let path = dir.join(&info.file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let sheet = Sheet::parse(&text)
            .map_err(|(line, why)| anyhow!("{}: line {line}: {why}", info.file))?;
        sheets.push((info.file.clone(), sheet));
    }
    Ok(Review {
        dir: dir.to_path_buf(),
        snapshot,
        sheets,
    })
}

/// Writes one sheet back (atomically), as the console saves decisions.
pub fn save_sheet(dir: &Path, file: &str, sheet: &mut Sheet) -> anyhow::Result<()> {
    let path = dir.join(file);
    write_atomically(&path, sheet.to_csv().as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Every sheet's decisions, joined; or every problem, each named by file,
/// line and column.
pub fn decisions(review: &Review) -> Result<Vec<Decided>, Vec<Problem>> {
    let known = review.snapshot.known();
    let mut all = Vec::new();
    let mut problems = Vec::new();
    let mut rowed = std::collections::BTreeSet::new();
    for (file, sheet) in &review.sheets {
        let (decided, mut found) = review::decisions(file, sheet, &known);
        all.extend(decided);
        problems.append(&mut found);
        rowed.extend(sheet.account_ids());
    }
    let (merged, mut found) = review::merge(all, &known, &rowed);
    problems.append(&mut found);
    if problems.is_empty() {
        Ok(merged)
    } else {
        Err(problems)
    }
}

/// An account whose decision is not carried out as decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Changed {
    pub account_id: i64,
    pub account: String,
    pub decision: Decision,
    /// The fields that changed since the snapshot (wire names); empty when
    /// the account is gone from the server.
    pub fields: Vec<String>,
    /// Gone from the server (or out of the actor's sight).
    pub gone: bool,
}

/// What applying a review will do.
#[derive(Debug, Clone)]
pub struct ApplyPlan {
    pub keep: usize,
    /// The accounts to disable and to delete, as the server has them now.
    pub disable: Vec<User>,
    pub delete: Vec<User>,
    /// Changed since the snapshot: skipped, unless forced (then also in
    /// `disable` / `delete`).
    pub changed: Vec<Changed>,
    pub forced: bool,
    /// Carried out already, by an earlier run of this review (the account
    /// is now as decided: disabled, or gone): (account id, that run's id).
    pub done: Vec<(i64, String)>,
}

/// Reads every account afresh and sorts the decisions: keep (nothing to
/// send), disable and delete of accounts as they are now; an account that
/// changed since the snapshot is listed in `changed` and left out unless
/// `force`; one that is gone is left out.
pub async fn plan(
    session: &Session,
    review: &Review,
    decided: &[Decided],
    force: bool,
) -> anyhow::Result<ApplyPlan> {
    // The decisions name accounts by their ids on the instance the review
    // was started on; on another, the same ids are other people.
    if review.snapshot.instance != session.instance {
        anyhow::bail!(
            "{} was started on {}, and you are connected to {}: a review is applied only to the instance it was started on",
            review.dir.display(),
            sanitize(&review.snapshot.instance),
            sanitize(&session.instance)
        );
    }
    let current: HashMap<i64, User> = session
        .read_accounts(review.snapshot.organization.as_deref())
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let then: HashMap<i64, &User> = review.snapshot.users.iter().map(|u| (u.id, u)).collect();
    let runs = applied(&review.dir)?;
    let mut plan = ApplyPlan {
        keep: 0,
        disable: Vec::new(),
        delete: Vec::new(),
        changed: Vec::new(),
        forced: force,
        done: Vec::new(),
    };
    for d in decided {
        if d.decision == Decision::Keep {
            plan.keep += 1;
            continue;
        }
        // Applied again: what this review's own runs already did is not a
        // change since the snapshot, nor anything left to do.
        let now = current.get(&d.account_id);
        let as_decided = match d.decision {
            Decision::Delete => now.is_none(),
            Decision::Disable => now.is_some_and(|u| u.disabled == Some(true)),
            Decision::Keep => false,
        };
        let by = runs
            .iter()
            .rev()
            .find(|r| r.decision == d.decision && r.account_ids.contains(&d.account_id));
        if let (true, Some(run)) = (as_decided, by) {
            plan.done.push((d.account_id, run.run_id.clone()));
            continue;
        }
        let Some(now) = now else {
            plan.changed.push(Changed {
                account_id: d.account_id,
                account: d.account.clone(),
                decision: d.decision,
                fields: Vec::new(),
                gone: true,
            });
            continue;
        };
        let fields: Vec<String> = then
            .get(&d.account_id)
            .map(|t| changed_since(t, now))
            .unwrap_or_default()
            .into_iter()
            .map(String::from)
            .collect();
        if !fields.is_empty() {
            plan.changed.push(Changed {
                account_id: d.account_id,
                account: d.account.clone(),
                decision: d.decision,
                fields,
                gone: false,
            });
            if !force {
                continue;
            }
        }
        match d.decision {
            Decision::Disable => plan.disable.push(now.clone()),
            Decision::Delete => plan.delete.push(now.clone()),
            Decision::Keep => {}
        }
    }
    Ok(plan)
}

/// A run a review started, recorded in the review before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedRun {
    pub run_id: String,
    pub decision: Decision,
    pub time: DateTime<Utc>,
    pub actor: String,
    pub journal: String,
    /// The accounts handed to the run (its preflight may leave some out).
    pub account_ids: Vec<i64>,
    /// Changed since the snapshot and not sent (no `--force`), or gone.
    pub skipped: Vec<Changed>,
    pub forced: bool,
}

/// The runs recorded so far (none when the review was never applied).
pub fn applied(dir: &Path) -> anyhow::Result<Vec<AppliedRun>> {
    let path = dir.join(APPLIED);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| anyhow!("{} cannot be read: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// Adds `run` to the review's `applied.json` (atomically).
pub fn record_run(dir: &Path, run: AppliedRun) -> anyhow::Result<()> {
    let mut runs = applied(dir)?;
    runs.push(run);
    let mut text = serde_json::to_vec_pretty(&runs)?;
    text.push(b'\n');
    let path = dir.join(APPLIED);
    write_atomically(&path, &text).with_context(|| format!("writing {}", path.display()))
}

/// One account of the signed-off record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordRow {
    pub account_id: i64,
    pub account: String,
    pub decision: Decision,
    pub reason: String,
    /// As the sheet names them; empty when it does not.
    pub reviewer: String,
    /// Where the decision is written: `file line N`.
    pub decided_in: String,
    /// When: the sheet's `decided_at` (the console writes it), else when
    /// the sheet was last saved.
    pub decided_at: Option<DateTime<Utc>>,
    pub run_id: Option<String>,
    /// ok, failed, unknown, unfinished, not sent, skipped, not applied,
    /// or "no action" for a keep.
    pub outcome: String,
    pub message: Option<String>,
    /// When the outcome was journaled.
    pub at: Option<DateTime<Utc>>,
}

/// The signed-off record of a review.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub instance: String,
    pub started_by: String,
    pub started: DateTime<Utc>,
    pub by: Scope,
    pub runs: Vec<AppliedRun>,
    pub rows: Vec<RecordRow>,
}

/// Builds the record from the review's decisions, its recorded runs and
/// the journal's entries (what each run did to each account).
pub fn record(review: &Review, entries: &[Entry]) -> Result<Record, Vec<Problem>> {
    let decided = decisions(review)?;
    let runs = applied(&review.dir).map_err(|e| {
        vec![Problem {
            file: APPLIED.into(),
            line: 0,
            column: None,
            message: e.to_string(),
        }]
    })?;
    let saved: HashMap<&str, Option<DateTime<Utc>>> = review
        .sheets
        .iter()
        .map(|(file, _)| {
            let modified = std::fs::metadata(review.dir.join(file))
                .and_then(|m| m.modified())
                .ok()
                .map(DateTime::<Utc>::from);
            (file.as_str(), modified)
        })
        .collect();
    let mut results: HashMap<(String, i64), journal::ActionResult> = HashMap::new();
    for run in &runs {
        for r in journal::action_results(entries, &run.run_id) {
            results.insert((run.run_id.clone(), r.account_id), r);
        }
    }
    let rows = decided
        .into_iter()
        .map(|d| {
            let mut row = RecordRow {
                account_id: d.account_id,
                account: d.account.clone(),
                decision: d.decision,
                reason: d.reason.clone(),
                reviewer: d.reviewer.clone(),
                decided_in: format!("{} line {}", d.file, d.line),
                decided_at: DateTime::parse_from_rfc3339(&d.decided_at)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
                    .or_else(|| saved.get(d.file.as_str()).copied().flatten()),
                run_id: None,
                outcome: "not applied".into(),
                message: None,
                at: None,
            };
            if d.decision == Decision::Keep {
                row.outcome = "no action".into();
                return row;
            }
            // The latest run that handled the account decides.
            for run in runs.iter().rev().filter(|r| r.decision == d.decision) {
                if let Some(result) = results.get(&(run.run_id.clone(), d.account_id)) {
                    row.run_id = Some(run.run_id.clone());
                    row.outcome = result.outcome.name().into();
                    row.message = result.message.clone();
                    row.at = Some(result.time);
                    return row;
                }
                if run.account_ids.contains(&d.account_id) {
                    row.run_id = Some(run.run_id.clone());
                    row.outcome = "not sent".into();
                    row.message = Some(
                        "the run's preflight left it out (already so, or not allowed), or the run stopped first"
                            .into(),
                    );
                    return row;
                }
                if let Some(skip) = run.skipped.iter().find(|s| s.account_id == d.account_id) {
                    row.run_id = Some(run.run_id.clone());
                    row.outcome = "skipped".into();
                    row.message = Some(if skip.gone {
                        "no longer on the server".into()
                    } else {
                        format!("changed since the snapshot: {}", skip.fields.join(", "))
                    });
                    return row;
                }
            }
            // No run of this review handled it: say what that can mean
            // rather than leave "not applied" bare.
            row.message = Some(
                "no run of this review sent it: not applied yet, or when applied it had changed since the snapshot (skipped) or was already so, with nothing else of its decision to send"
                    .into(),
            );
            row
        })
        .collect();
    Ok(Record {
        instance: review.snapshot.instance.clone(),
        started_by: review.snapshot.actor.clone(),
        started: review.snapshot.started,
        by: review.snapshot.by,
        runs,
        rows,
    })
}

/// The record as Markdown, for people.
pub fn record_markdown(record: &Record) -> String {
    let mut out = format!(
        "# Access review record\n\n- Instance: {}\n- Snapshot: {} by {}\n",
        cell(&record.instance),
        timestamp(record.started),
        cell(&record.started_by)
    );
    for run in &record.runs {
        out.push_str(&format!(
            "- Run {} ({}): {} by {}, {} account{} handed to it, {} skipped{}\n",
            cell(&run.run_id),
            run.decision.name(),
            timestamp(run.time),
            cell(&run.actor),
            run.account_ids.len(),
            if run.account_ids.len() == 1 { "" } else { "s" },
            run.skipped.len(),
            if run.forced { " (--force)" } else { "" }
        ));
    }
    if record.runs.is_empty() {
        out.push_str("- Not applied yet\n");
    }
    let mut tally: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in &record.rows {
        *tally
            .entry((r.decision.name(), r.outcome.as_str()))
            .or_default() += 1;
    }
    out.push_str("\n## Summary\n\n");
    for ((decision, outcome), n) in &tally {
        out.push_str(&format!("- {decision}, {outcome}: {n}\n"));
    }
    out.push_str(
        "\n## Decisions\n\n| account | decision | reason | reviewer | decided in | decided | outcome | when | run |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &record.rows {
        let outcome = match &r.message {
            Some(m) => format!("{}: {}", r.outcome, m),
            None => r.outcome.clone(),
        };
        out.push_str(&format!(
            "| {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(&r.account),
            r.account_id,
            r.decision.name(),
            cell(&r.reason),
            if r.reviewer.is_empty() {
                "not named".to_string()
            } else {
                cell(&r.reviewer)
            },
            cell(&r.decided_in),
            r.decided_at.map(timestamp).unwrap_or_default(),
            cell(&outcome),
            r.at.map(timestamp).unwrap_or_default(),
            r.run_id.as_deref().map(cell).unwrap_or_default()
        ));
    }
    out
}

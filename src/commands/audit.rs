//! `rollcall audit`: read-only findings over every account the caller may
//! see, as Markdown, CSV or JSON; `--diff OLD.json NEW.json` compares two
//! JSON reports without contacting any instance.
//!
//! `--check` holds the instance to the config file's `[policy]` (one line
//! per broken rule; exit 0, 1 or 2), and `--bundle DIR` writes the reports
//! with an evidence manifest (`ops::evidence`).
//!
//! An audit runs only on a read-only session, so the client's guard refuses
//! any write before it is built: nothing in or below this command can turn
//! an audit into a change.

use crate::api::wire::ext;
use crate::api::RecordedRequest;
use crate::domain::audit::{
    self, AuditInput, AuditSnapshot, DEFAULT_EXPIRING_DAYS, DEFAULT_STALE_DAYS,
};
use crate::domain::audit_policy::{self, AuditPolicy, PolicyCheck};
use crate::domain::text::{json_export, sanitize};
use crate::domain::{LastLoginReported, User};
use crate::ops::evidence::{self, BundleInfo};
use crate::ops::session::Session;
use crate::report::{self, ReportActor, ReportHeader};
use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuditFormat {
    #[default]
    Markdown,
    Csv,
    Json,
}

#[derive(clap::Args, Debug, Clone)]
pub struct AuditArgs {
    /// Audit only the accounts of this Organization.
    #[arg(long, value_name = "NAME", conflicts_with = "diff")]
    pub org: Option<String>,
    #[arg(long, value_enum, default_value_t = AuditFormat::Markdown)]
    pub format: AuditFormat,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// No login for more than N days counts as stale.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_STALE_DAYS,
          value_parser = clap::value_parser!(i64).range(0..=36_500), conflicts_with = "diff")]
    pub stale_days: i64,
    /// Passwords expiring within N days are reported.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_EXPIRING_DAYS,
          value_parser = clap::value_parser!(i64).range(0..=36_500), conflicts_with = "diff")]
    pub expiring_days: i64,
    /// Compare two JSON reports (from `--format json`); contacts no instance.
    #[arg(long, num_args = 2, value_names = ["OLD.json", "NEW.json"])]
    pub diff: Option<Vec<PathBuf>>,
    /// Check the instance against the config file's [policy]: one line per
    /// broken rule with its count; exit 0 (meets it), 1 (does not) or 2
    /// (could not tell: unreachable, or data a rule needs not returned).
    #[arg(long, conflicts_with_all = ["diff", "out"])]
    pub check: bool,
    /// Write the reports (Markdown, CSV, JSON) into DIR, a new or empty
    /// directory, with a manifest: instance, actor, time, version, policy,
    /// the requests made and the SHA-256 of every file (`rollcall verify DIR`).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["diff", "out"])]
    pub bundle: Option<PathBuf>,
    /// With --bundle: record the previous bundle's manifest hash (it must verify intact).
    #[arg(long, value_name = "PREVIOUS_DIR", requires = "bundle")]
    pub chain: Option<PathBuf>,
    /// The config file's [policy], filled in by the caller.
    #[arg(skip)]
    pub policy: Option<AuditPolicy>,
}

impl Default for AuditArgs {
    fn default() -> Self {
        AuditArgs {
            org: None,
            format: AuditFormat::Markdown,
            out: None,
            stale_days: DEFAULT_STALE_DAYS,
            expiring_days: DEFAULT_EXPIRING_DAYS,
            diff: None,
            check: false,
            bundle: None,
            chain: None,
            policy: None,
        }
    }
}

/// What one audit read from the instance, and what it found.
#[derive(Debug, Clone)]
pub struct Collected {
    pub header: ReportHeader,
    pub users: Vec<User>,
    pub audit: audit::Audit,
    /// The policy in force and what checking it found.
    pub policy: Option<(AuditPolicy, PolicyCheck)>,
    /// Every request the audit sent, in order.
    pub requests: Vec<RecordedRequest>,
}

/// Runs the audit (or the diff) and writes the report to `--out` or `out`.
/// `session` may be `None` only with `--diff`.
pub async fn run(
    session: Option<&Session>,
    args: &AuditArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let text = match &args.diff {
        Some(paths) => diff_report(paths, args.format)?,
        None => {
            let session = session.context(
                "an audit needs a connection to an instance (only --diff works offline)",
            )?;
            let collected = collect(session, args, Utc::now()).await?;
            if let Some(dir) = &args.bundle {
                let hash = write_bundle(&collected, dir, args.chain.as_deref())?;
                writeln!(
                    out,
                    "Bundle {}: {} files, manifest SHA-256 {hash}",
                    dir.display(),
                    BUNDLE_FILES.len()
                )?;
                return Ok(());
            }
            render(&collected, args.format)?
        }
    };
    match &args.out {
        Some(path) => write_atomically(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?,
        None => {
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

/// `--check` (with `--bundle`, the bundle too): the exit status of
/// [`write_check`].
pub async fn check(
    session: &Session,
    args: &AuditArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let collected = collect(session, args, Utc::now()).await?;
    if let Some(dir) = &args.bundle {
        write_bundle(&collected, dir, args.chain.as_deref())?;
    }
    write_check(&collected, out, err)
}

/// Reads every account (and the limits, where advertised) and computes the
/// findings as of `now`. Refuses a session that could write.
pub async fn collect(
    session: &Session,
    args: &AuditArgs,
    now: DateTime<Utc>,
) -> anyhow::Result<Collected> {
    if !session.read_only || !session.client.is_read_only() {
        bail!("an audit runs only on a read-only connection (connect with --read-only)");
    }
    session.client.record_requests();
    let users = session.read_accounts(args.org.as_deref()).await?;
    let mut limits = if session.capabilities.has(ext::LIMITS) {
        session
            .client
            .org_limits()
            .await
            .context("reading Organization limits")?
    } else {
        Vec::new()
    };
    if let Some(org) = &args.org {
        limits.retain(|l| l.organization == *org);
    }
    let input = AuditInput {
        users: &users,
        limits: &limits,
        now,
        stale_days: args.stale_days,
        expiring_days: args.expiring_days,
        password_max_age_days: session.settings.password_max_age_days,
        last_login: session
            .capabilities
            .last_login_advertised()
            .or(LastLoginReported::seen_in(&users)),
        stale_by_type: args
            .policy
            .as_ref()
            .map(|p| p.stale_days)
            .unwrap_or_default(),
    };
    let audit = audit::audit(&input);
    let policy = args.policy.clone().map(|policy| {
        let check = audit_policy::check(&policy, &audit, &users, input.last_login.is_returned());
        (policy, check)
    });
    let header = ReportHeader {
        instance: session.instance.clone(),
        actor: ReportActor::from(&session.actor),
        organization: args.org.clone(),
        generated: now,
        stale_days: args.stale_days,
        expiring_days: args.expiring_days,
        stale_by_type: input.stale_by_type,
    };
    Ok(Collected {
        header,
        users,
        audit,
        policy,
        requests: session.client.recorded_requests(),
    })
}

/// `--check`: one line per broken rule on `out`, nothing when the
/// instance meets the policy; what could not be decided goes to `err`.
/// Returns the exit status: 0 meets it, 1 does not, 2 could not tell.
pub fn write_check(
    collected: &Collected,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let Some((_, check)) = &collected.policy else {
        writeln!(
            err,
            "rollcall: cannot check: the config file has no [policy] with a rule (see config.example.toml)"
        )?;
        return Ok(2);
    };
    // No account at all (a misspelt --org, or a scope the actor cannot
    // see): nothing was held to the policy, which is not meeting it.
    if collected.users.is_empty() {
        let scope = match &collected.header.organization {
            Some(org) => format!(" in Organization {}", sanitize(org)),
            None => String::new(),
        };
        writeln!(
            err,
            "rollcall: cannot check: no account returned{scope}, so nothing was held to the policy (is the name right?)"
        )?;
        return Ok(2);
    }
    for v in &check.violations {
        writeln!(out, "{}: {}", v.rule, sanitize(&v.text))?;
    }
    for u in &check.undecided {
        writeln!(err, "rollcall: cannot check: {}", sanitize(&u.text()))?;
    }
    out.flush()?;
    Ok(check.exit_code())
}

/// The policy section of the Markdown report: the rules in force, what
/// breaks them, what could not be decided, and the exemptions.
fn policy_markdown(policy: &AuditPolicy, check: &PolicyCheck, users: &[User]) -> String {
    let mut out = String::from("\n## Policy\n\n");
    let days = |d: Option<i64>| d.map_or("not checked".to_string(), |d| format!("{d} days"));
    let s = &policy.stale_days;
    out.push_str(&format!(
        "- Stale after: User {}, API {}, TAXII {}, Read Only {}\n",
        days(s.user),
        days(s.api),
        days(s.taxii),
        days(s.readonly.or(s.user))
    ));
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    out.push_str(&format!(
        "- Privileged accounts must have MFA: {}\n- Most privileged accounts per Organization: {}\n- API accounts must have been used: {}\n\n",
        yes_no(policy.privileged_require_mfa),
        policy
            .max_privileged_per_org
            .map_or("no limit".to_string(), |n| n.to_string()),
        yes_no(policy.api_must_be_used)
    ));
    if check.violations.is_empty() && check.undecided.is_empty() {
        out.push_str("The instance meets the policy.\n");
    }
    for v in &check.violations {
        out.push_str(&format!("- **{}**: {}\n", v.rule, report::md(&v.text)));
    }
    for u in &check.undecided {
        out.push_str(&format!("- undecided: {}\n", report::md(&u.text())));
    }
    if !check.exempted.is_empty() {
        out.push_str("\nExempt:\n\n");
        for (id, reason) in &check.exempted {
            let name = users
                .iter()
                .find(|u| u.id == *id)
                .map_or(String::new(), |u| report::md(&u.user_name));
            out.push_str(&format!("- {name} ({id}): {}\n", report::md(reason)));
        }
    }
    out
}

/// The files an audit bundle holds besides its manifest.
pub const BUNDLE_FILES: [(&str, AuditFormat); 3] = [
    ("audit.md", AuditFormat::Markdown),
    ("audit.csv", AuditFormat::Csv),
    ("audit.json", AuditFormat::Json),
];

/// Writes the three reports and the manifest into `dir`; returns the
/// manifest's SHA-256.
pub fn write_bundle(
    collected: &Collected,
    dir: &Path,
    chain: Option<&Path>,
) -> anyhow::Result<String> {
    let previous = chain.map(evidence::chain_link).transpose()?;
    let mut files = Vec::new();
    for (name, format) in BUNDLE_FILES {
        files.push((name.to_string(), render(collected, format)?.into_bytes()));
    }
    let header = &collected.header;
    let info = BundleInfo {
        contents: "audit".into(),
        instance: header.instance.clone(),
        actor: header.actor.user_name.clone(),
        generated: header.generated,
        policy: collected.policy.as_ref().map(|(p, _)| p.clone()),
        thresholds: [
            ("staleDays", serde_json::json!(header.stale_days)),
            ("expiringDays", serde_json::json!(header.expiring_days)),
            ("organization", serde_json::json!(header.organization)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        requests: collected.requests.clone(),
    };
    evidence::write_bundle(dir, info, &files, previous)
}

pub fn render(collected: &Collected, format: AuditFormat) -> anyhow::Result<String> {
    let Collected {
        header,
        users,
        audit,
        policy,
        ..
    } = collected;
    Ok(match format {
        AuditFormat::Markdown => {
            let mut text = report::markdown(header, audit, users);
            if let Some((policy, check)) = policy {
                text.push_str(&policy_markdown(policy, check, users));
            }
            text
        }
        AuditFormat::Csv => report::csv(header, audit, users),
        AuditFormat::Json => {
            let mut value = report::json(header, audit, users);
            if let (Some((policy, check)), Some(map)) = (policy, value.as_object_mut()) {
                map.insert("policy".into(), serde_json::to_value(policy)?);
                map.insert("policyCheck".into(), serde_json::to_value(check)?);
            }
            json_export(&value)?
        }
    })
}

fn read_snapshot(path: &Path) -> anyhow::Result<AuditSnapshot> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", sanitize(&path.display().to_string())))?;
    report::snapshot_from_json(&text)
        .with_context(|| format!("{}", sanitize(&path.display().to_string())))
}

fn diff_report(paths: &[PathBuf], format: AuditFormat) -> anyhow::Result<String> {
    let [old_path, new_path] = paths else {
        bail!("--diff takes two JSON reports: OLD.json NEW.json");
    };
    let old = read_snapshot(old_path)?;
    let new = read_snapshot(new_path)?;
    let diff = audit::diff(&old, &new);
    Ok(match format {
        AuditFormat::Markdown => report::diff_markdown(&diff, &old, &new),
        AuditFormat::Csv => report::diff_csv(&diff, &old, &new),
        AuditFormat::Json => json_export(&diff)?,
    })
}

/// Reports are written through a temporary file and a rename (one
/// implementation, with the evidence bundles').
pub use crate::ops::evidence::write_atomically;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        audit: AuditArgs,
    }

    fn parse(args: &[&str]) -> Result<AuditArgs, clap::Error> {
        let mut all = vec!["audit"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|c| c.audit)
    }

    #[test]
    fn arguments_and_defaults() {
        let a = parse(&[]).unwrap();
        assert_eq!((a.stale_days, a.expiring_days), (90, 14));
        assert_eq!(a.format, AuditFormat::Markdown);
        let d = AuditArgs::default();
        assert_eq!(
            (d.stale_days, d.expiring_days, d.format),
            (90, 14, AuditFormat::Markdown)
        );
        let a = parse(&[
            "--org",
            "Demo Organization",
            "--format",
            "csv",
            "--stale-days",
            "30",
            "--out",
            "r.csv",
        ])
        .unwrap();
        assert_eq!(a.org.as_deref(), Some("Demo Organization"));
        assert_eq!((a.format, a.stale_days), (AuditFormat::Csv, 30));
        let a = parse(&["--diff", "old.json", "new.json", "--format", "json"]).unwrap();
        assert_eq!(a.diff.unwrap().len(), 2);
        assert!(parse(&["--diff", "old.json"]).is_err());
        assert!(parse(&["--diff", "a.json", "b.json", "--org", "X"]).is_err());
        assert!(parse(&["--stale-days", "-1"]).is_err());
        assert!(parse(&["--format", "xml"]).is_err());
    }

    #[tokio::test]
    async fn an_audit_without_a_session_or_diff_is_refused() {
        let mut out = Vec::new();
        let err = run(None, &AuditArgs::default(), &mut out)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("only --diff works offline"),
            "{err}"
        );
        assert!(out.is_empty());
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.md");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new report").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new report");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.md")]);
        // A missing directory fails and creates nothing.
        assert!(write_atomically(&dir.path().join("no/such/dir/r.md"), b"x").is_err());
    }

    #[tokio::test]
    async fn diff_of_reports_on_disk_needs_no_session() {
        use crate::domain::audit::AccountSnapshot;
        let dir = tempfile::tempdir().unwrap();
        let account = |id: i64, status: &str| AccountSnapshot {
            id,
            user_name: format!("u{id}@example.com"),
            system_role: Some("User".into()),
            org_role: Some("Standard User".into()),
            status: Some(status.into()),
            last_login: None,
            stale: Some(false),
        };
        let doc = |accounts: Vec<AccountSnapshot>| {
            serde_json::json!({"report": report::JSON_REPORT_KIND, "version": 1, "accounts": accounts})
                .to_string()
        };
        let old = dir.path().join("old.json");
        let new = dir.path().join("new.json");
        std::fs::write(&old, doc(vec![account(1, "OK"), account(2, "OK")])).unwrap();
        std::fs::write(&new, doc(vec![account(1, "Disabled"), account(2, "OK")])).unwrap();
        let args = AuditArgs {
            diff: Some(vec![old.clone(), new.clone()]),
            format: AuditFormat::Json,
            ..Default::default()
        };
        let mut out = Vec::new();
        run(None, &args, &mut out).await.unwrap();
        let diff: audit::AuditDiff = serde_json::from_slice(&out).unwrap();
        assert_eq!(diff.newly_disabled, vec![1]);
        // Something that is not a report is refused with the file named.
        std::fs::write(&new, "{\"accounts\":[]}").unwrap();
        let err = run(None, &args, &mut Vec::new()).await.unwrap_err();
        assert!(format!("{err:#}").contains("new.json"), "{err:#}");
    }
}

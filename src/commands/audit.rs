//! `rollcall audit`: read-only findings over every account the caller may
//! see, as Markdown, CSV or JSON; `--diff OLD.json NEW.json` compares two
//! JSON reports without contacting any instance.
//!
//! An audit runs only on a read-only session, so the client's guard refuses
//! any write before it is built: nothing in or below this command can turn
//! an audit into a change.

use crate::api::wire::ext;
use crate::api::UserQuery;
use crate::domain::audit::{
    self, AuditInput, AuditSnapshot, DEFAULT_EXPIRING_DAYS, DEFAULT_STALE_DAYS,
};
use crate::domain::text::{json_export, sanitize};
use crate::domain::{LastLoginReported, User};
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
        }
    }
}

/// What one audit read from the instance, and what it found.
#[derive(Debug, Clone)]
pub struct Collected {
    pub header: ReportHeader,
    pub users: Vec<User>,
    pub audit: audit::Audit,
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
    let query = UserQuery {
        fields: extension_fields(session),
        owner: args.org.clone(),
        ..Default::default()
    };
    // On a plain instance the groups come from the user groups.
    let membership = session.membership(&query.fields).await?;
    let mut users = session
        .client
        .list_users(&query)
        .await
        .context("listing accounts")?;
    if let Some(m) = &membership {
        m.fill(&mut users);
    }
    users.sort_by_cached_key(|u| (u.user_name.to_lowercase(), u.id));
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
    };
    let audit = audit::audit(&input);
    let header = ReportHeader {
        instance: session.instance.clone(),
        actor: ReportActor::from(&session.actor),
        organization: args.org.clone(),
        generated: now,
        stale_days: args.stale_days,
        expiring_days: args.expiring_days,
    };
    Ok(Collected {
        header,
        users,
        audit,
    })
}

/// The extension fields the findings use, where the instance offers them.
fn extension_fields(session: &Session) -> Vec<String> {
    [ext::USER_GROUPS_FIELD, ext::MFA_FIELD]
        .into_iter()
        .filter(|f| session.capabilities.has(f) || session.capabilities.extra_fields.contains(*f))
        .map(String::from)
        .collect()
}

pub fn render(collected: &Collected, format: AuditFormat) -> anyhow::Result<String> {
    let Collected {
        header,
        users,
        audit,
    } = collected;
    Ok(match format {
        AuditFormat::Markdown => report::markdown(header, audit, users),
        AuditFormat::Csv => report::csv(header, audit, users),
        AuditFormat::Json => json_export(&report::json(header, audit, users))?,
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

/// Writes a temporary file beside `path`, then renames it over `path`, so
/// a reader never sees half a report and a failure leaves the old one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("--out must name a file"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(
        ".tmp-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let temp = dir.join(temp_name);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

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

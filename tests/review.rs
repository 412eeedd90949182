//! The audit policy, access reviews and evidence bundles through the real
//! binary against the embedded sandbox on a loopback port: `audit --check`
//! exit codes 0/1/2, a whole review cycle (start, decide by editing the
//! CSV, apply, report) with the journal and the server agreeing, and
//! bundles that `verify` finds intact, or names what changed.

use chrono::Utc;
use rollcall::api::{ApiError, Client, UserQuery};
use rollcall::domain::User;
use rollcall::journal;
use rollcall::sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SECRET: &str = "secret";

async fn sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).await.expect("sandbox starts")
}

/// A home for the binary: its config directory, its journal.
struct Home {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Home {
    fn new(policy: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("rollcall")).unwrap();
        std::fs::write(root.join("rollcall/config.toml"), policy).unwrap();
        Home { _dir: dir, root }
    }

    fn journal(&self) -> PathBuf {
        self.root.join("journal.jsonl")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The real binary, connected to `api_path` as the administrator.
async fn rollcall(home: &Home, api_path: &str, args: &[&str]) -> Run {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(args)
        .current_dir(&home.root)
        .env("TC_API_PATH", api_path)
        .env("TC_API_ACCESS_ID", "administrator")
        .env("TC_API_SECRET_KEY", SECRET)
        .env_remove("TC_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("ROLLCALL_LOG")
        .env("ROLLCALL_JOURNAL", home.journal())
        .env("XDG_CONFIG_HOME", &home.root)
        .env("HOME", &home.root)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("the binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn admin(sb: &Sandbox) -> Client {
    Client::new(sb.connection("administrator")).unwrap()
}

async fn all_users(sb: &Sandbox) -> Vec<User> {
    admin(sb)
        .list_users(&UserQuery::default())
        .await
        .expect("listing as administrator")
}

/// Account type by System role, as ThreatConnect's forms split them.
fn is_user_type(u: &User) -> bool {
    !matches!(
        u.system_role.as_deref(),
        Some("Api User" | "Exchange Admin" | "Taxii User" | "Read Only User") | None
    )
}

/// Enabled accounts of a type (`is_type`) with a known last login more
/// than `days` ago, computed from the listing, not through the policy code.
fn stale_users(users: &[User], is_type: fn(&User) -> bool, days: i64) -> Vec<&User> {
    let now = Utc::now();
    users
        .iter()
        .filter(|u| is_type(u) && u.disabled == Some(false))
        .filter(|u| u.last_login.is_some_and(|t| (now - t).num_days() > days))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_exits_1_on_violations_0_once_met_and_2_when_it_cannot_tell() {
    let sb = sandbox(SandboxConfig::loopback(300, SECRET)).await;
    let users = all_users(&sb).await;
    let stale = stale_users(&users, is_user_type, 90);
    assert!(
        stale.len() >= 3,
        "the seed has stale accounts: {}",
        stale.len()
    );
    // Read Only Users take the user threshold unless the policy sets one.
    let read_only = stale_users(
        &users,
        |u| u.system_role.as_deref() == Some("Read Only User"),
        90,
    );
    assert!(!read_only.is_empty());
    let exempt = stale[0];
    let home = Home::new(&format!(
        "[policy.stale_days]\nuser = 90\n[[policy.exempt]]\naccount = \"{}\"\nreason = \"break-glass\"\n",
        exempt.user_name
    ));
    let run = rollcall(&home, &sb.base_url(), &["audit", "--check"]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    // One line per rule, with its count (the exempt account left out).
    assert_eq!(
        run.stdout,
        format!(
            "stale.user: {} User accounts with no login for more than 90 days\n\
             stale.readonly: {} Read Only account{} with no login for more than 90 days\n",
            stale.len() - 1,
            read_only.len(),
            if read_only.len() == 1 { "" } else { "s" }
        )
    );
    assert_eq!(run.stderr, "");

    // The stale accounts are disabled: the instance meets the policy, and
    // the check says nothing.
    let client = admin(&sb);
    for u in stale[1..].iter().chain(&read_only) {
        client
            .update_user(u.id, &json!({"disabled": true}))
            .await
            .expect("disabled");
    }
    let run = rollcall(&home, &sb.base_url(), &["audit", "--check"]).await;
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
    // Nor is there anything to review there.
    let run = rollcall(
        &home,
        &sb.base_url(),
        &[
            "review",
            "start",
            "--by",
            "org",
            "--org",
            "Demo Organisation",
            "--out",
            "nobody",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("no account returned in Organization Demo Organisation: nothing to review"),
        "{}",
        run.stderr
    );
    // A misspelt Organization returns no account: that is not compliance.
    let run = rollcall(
        &home,
        &sb.base_url(),
        &["audit", "--check", "--org", "Demo Organisation"],
    )
    .await;
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("no account returned in Organization Demo Organisation"),
        "{}",
        run.stderr
    );

    // A rule that needs MFA on an instance that does not return it: 2, and
    // the missing field is named.
    let plain = sandbox(SandboxConfig::loopback(50, SECRET).plain()).await;
    let mfa = Home::new("[policy]\nprivileged_require_mfa = true\n");
    let run = rollcall(&mfa, &plain.base_url(), &["audit", "--check"]).await;
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("privileged_without_mfa")
            && run.stderr.contains("mfaEnabled not returned"),
        "{}",
        run.stderr
    );
    // An instance that leaves lastLogin out: staleness cannot be told.
    let no_login = sandbox(SandboxConfig::loopback(30, SECRET).omit_last_login()).await;
    let stale_only = Home::new("[policy.stale_days]\nuser = 90\n");
    let run = rollcall(&stale_only, &no_login.base_url(), &["audit", "--check"]).await;
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("stale.user: cannot be decided for ")
            && run.stderr.contains("lastLogin not returned"),
        "{}",
        run.stderr
    );
    no_login.shutdown().await;
    // Unreachable: 2, one line.
    let run = rollcall(&mfa, "http://127.0.0.1:1/api", &["audit", "--check"]).await;
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.starts_with("rollcall: cannot check: "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    // No policy: 2.
    let none = Home::new("");
    let run = rollcall(&none, &sb.base_url(), &["audit", "--check"]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no [policy]"), "{}", run.stderr);
    // A policy with a problem: 2, the key named.
    let bad = Home::new("[policy.stale_days]\nuser = 0\n");
    let run = rollcall(&bad, &sb.base_url(), &["audit", "--check"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("policy.stale_days.user = 0"),
        "{}",
        run.stderr
    );
    sb.shutdown().await;
    plain.shutdown().await;
}

/// Sets `decision`, `reason` and `reviewer` of the row of `account_id`
/// in the CSV at `path`, through a CSV reader and writer.
fn decide_all(path: &Path, decide: &dyn Fn(i64) -> (&'static str, &'static str)) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).unwrap();
    for record in reader.records() {
        let mut cells: Vec<String> = record.unwrap().iter().map(String::from).collect();
        let id: i64 = cells[col("account_id")].parse().unwrap();
        let (decision, reason) = decide(id);
        cells[col("decision")] = decision.into();
        cells[col("reason")] = reason.into();
        cells[col("reviewer")] = "carol@example.com".into();
        writer.write_record(&cells).unwrap();
    }
    std::fs::write(path, writer.into_inner().unwrap()).unwrap();
}

fn writes(sb: &Sandbox) -> u64 {
    let r = sb.requests();
    r.post + r.put + r.delete + r.other
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_cycle_the_journal_and_the_server_agree_and_bundles_verify() {
    let sb = sandbox(SandboxConfig::loopback(60, SECRET)).await;
    let home = Home::new(
        "[policy.stale_days]\nuser = 90\n[[policy.exempt]]\naccount = \"administrator\"\nreason = \"the sandbox's own administrator\"\n",
    );
    let api = sb.base_url();

    // Evidence of the audit first: the bundle the review's record chains to.
    let run = rollcall(&home, &api, &["audit", "--bundle", "audit-1"]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(home.path("audit-1/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["actor"], "administrator");
    assert_eq!(manifest["instance"], api.as_str());
    assert_eq!(manifest["policy"]["stale_days"]["user"], 90);
    let requests = manifest["requests"].as_array().unwrap();
    assert!(
        requests.iter().any(|r| r["method"] == "GET"
            && r["path"] == "/api/v3/security/users"
            && r["status"] == 200),
        "{requests:?}"
    );
    // From the session's first request (who the actor is) on.
    assert!(
        requests.iter().any(|r| r["path"] == "/api/v2/whoami"),
        "{requests:?}"
    );
    // Only reads, and never a credential.
    assert!(requests
        .iter()
        .all(|r| r["method"] == "GET" || r["method"] == "OPTIONS"));
    assert!(!manifest.to_string().contains(SECRET));
    for name in ["audit.md", "audit.csv", "audit.json"] {
        let bytes = std::fs::read(home.path(&format!("audit-1/{name}"))).unwrap();
        assert_eq!(
            manifest["files"][name],
            rollcall::ops::evidence::sha256_hex(&bytes)
        );
    }

    // The report applies the policy: its rules, what breaks them, the exemption.
    let audit_md = std::fs::read_to_string(home.path("audit-1/audit.md")).unwrap();
    assert!(
        audit_md.contains("## Policy")
            && audit_md.contains("- Stale after: User 90 days, API not checked")
            && audit_md.contains("(1): the sandbox's own administrator"),
        "{audit_md}"
    );

    // Start: one sheet per Organization.
    let run = rollcall(
        &home,
        &api,
        &["review", "start", "--by", "org", "--out", "rv"],
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let sheet = home.path("rv/demo-organization.csv");
    let text = std::fs::read_to_string(&sheet).unwrap();
    // The policy's exemption is shown to the reviewer, with its reason.
    let admin_row = text
        .lines()
        .find(|l| l.contains(",administrator,"))
        .expect("the administrator's row");
    assert!(
        admin_row.contains("exempt: the sandbox's own administrator"),
        "{admin_row}"
    );
    assert!(text.starts_with(
        "account_id,account,name,type,roles,status,last_login,password_age_days,groups,findings,decision,reason,reviewer\n"
    ));
    assert!(home.path("rv/demo-organization.md").exists());

    // Three ordinary enabled Users of the home Organization.
    let users = all_users(&sb).await;
    let plain_users: Vec<&User> = users
        .iter()
        .filter(|u| {
            u.system_role.as_deref() == Some("User")
                && u.disabled == Some(false)
                && u.owner.as_deref() == Some("Demo Organization")
                && text.contains(&format!("\n{},", u.id))
        })
        .collect();
    assert!(plain_users.len() >= 3);
    let (to_disable, to_delete, changed) =
        (plain_users[0].id, plain_users[1].id, plain_users[2].id);

    // A disable without a reason: named by file, line and column; nothing sent.
    let sheets: Vec<PathBuf> = std::fs::read_dir(home.path("rv"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    assert!(sheets.len() >= 2, "one sheet per Organization: {sheets:?}");
    for s in &sheets {
        decide_all(s, &|id| {
            if id == to_disable {
                ("disable", "")
            } else {
                ("keep", "")
            }
        });
    }
    let before = writes(&sb);
    let run = rollcall(&home, &api, &["review", "apply", "rv", "--yes"]).await;
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains("demo-organization.csv: line ")
            && run.stdout.contains(", column 12 (reason): a disable of "),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("nothing was sent"), "{}", run.stderr);
    assert_eq!(writes(&sb), before);

    // Decided properly.
    for s in &sheets {
        decide_all(s, &|id| match id {
            id if id == to_disable => ("disable", "left the company"),
            id if id == to_delete => ("delete", "duplicate account"),
            id if id == changed => ("disable", "contract ended"),
            _ => ("keep", ""),
        });
    }
    // Someone changes one of them on the server after the snapshot.
    admin(&sb)
        .update_user(changed, &json!({"locked": true}))
        .await
        .expect("locked");
    let run = rollcall(&home, &api, &["review", "apply", "rv", "--yes"]).await;
    // The runs went through, but a decision was not carried out: exit 1.
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("1 decided account was not carried out"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("1 account changed on the server since the snapshot, skipped")
            && run.stdout.contains("locked changed"),
        "{}",
        run.stdout
    );

    // The server: disabled, deleted, and the changed one left as it was.
    let client = admin(&sb);
    let d = client.get_user(to_disable, &[]).await.unwrap();
    assert_eq!(d.disabled, Some(true));
    assert!(matches!(
        client.get_user(to_delete, &[]).await,
        Err(ApiError::Http { status: 404, .. })
    ));
    let c = client.get_user(changed, &[]).await.unwrap();
    assert_eq!(c.disabled, Some(false));

    // Another instance (the same seed, so the same ids for other people):
    // refused before anything is read or sent.
    let other = sandbox(SandboxConfig::loopback(60, SECRET)).await;
    let other_writes = writes(&other);
    let elsewhere = rollcall(
        &home,
        &other.base_url(),
        &["review", "apply", "rv", "--yes"],
    )
    .await;
    assert_ne!(elsewhere.code, 0);
    assert!(
        elsewhere
            .stderr
            .contains("a review is applied only to the instance it was started on")
            && elsewhere.stderr.lines().count() == 1,
        "{}",
        elsewhere.stderr
    );
    assert_eq!(writes(&other), other_writes);
    other.shutdown().await;

    // Applied again: what the review's own runs did is neither a change
    // since the snapshot nor sent again; only the changed one is left.
    let before = writes(&sb);
    let again = rollcall(&home, &api, &["review", "apply", "rv", "--yes"]).await;
    assert_eq!(again.code, 1, "{}{}", again.stdout, again.stderr);
    assert!(
        again
            .stdout
            .contains("2 decisions carried out already by this review's runs")
            && again
                .stdout
                .contains("1 account changed on the server since the snapshot")
            && again
                .stderr
                .contains("1 decided account was not carried out"),
        "{}{}",
        again.stdout,
        again.stderr
    );
    assert_eq!(writes(&sb), before);

    // The journal: the review's two runs, each account ok, nothing else.
    let applied: Vec<Value> =
        serde_json::from_slice(&std::fs::read(home.path("rv/applied.json")).unwrap()).unwrap();
    assert_eq!(applied.len(), 2);
    let entries = journal::read(&home.journal()).unwrap().entries;
    let mut by_run: BTreeMap<String, Vec<(i64, &'static str)>> = BTreeMap::new();
    for run in &applied {
        let id = run["runId"].as_str().unwrap().to_string();
        for r in journal::action_results(&entries, &id) {
            by_run
                .entry(id.clone())
                .or_default()
                .push((r.account_id, r.outcome.name()));
        }
    }
    let all: Vec<(i64, &str)> = by_run.values().flatten().copied().collect();
    assert_eq!(all.len(), 2, "{by_run:?}");
    assert!(all.contains(&(to_disable, "ok")) && all.contains(&(to_delete, "ok")));
    assert!(!entries.iter().any(|e| e.account_id == changed));
    // The runs are ordinary runs: `rollcall journal` lists them, each
    // naming the review it carries out.
    let run = rollcall(&home, &api, &["journal"]).await;
    for r in &applied {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(r["runId"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("{}", run.stdout));
        assert!(
            line.ends_with(&format!("review {}", home.path("rv").display())),
            "{line}"
        );
    }

    // The record, and its bundle chained to the audit's.
    let run = rollcall(
        &home,
        &api,
        &[
            "review", "report", "rv", "--bundle", "record-1", "--chain", "audit-1",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let record: Value =
        serde_json::from_slice(&std::fs::read(home.path("rv/review-report.json")).unwrap())
            .unwrap();
    let row = |id: i64| {
        record["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["accountId"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(row(to_disable)["outcome"], "ok");
    assert_eq!(row(to_disable)["reason"], "left the company");
    assert_eq!(row(to_disable)["reviewer"], "carol@example.com");
    assert_eq!(row(to_delete)["outcome"], "ok");
    assert_eq!(row(to_delete)["decision"], "delete");
    assert_eq!(row(changed)["outcome"], "skipped");
    assert!(row(changed)["message"].as_str().unwrap().contains("locked"));
    let kept = users
        .iter()
        .find(|u| {
            ![to_disable, to_delete, changed].contains(&u.id)
                && text.contains(&format!("\n{},", u.id))
        })
        .unwrap();
    assert_eq!(row(kept.id)["outcome"], "no action");
    let markdown = std::fs::read_to_string(home.path("rv/review-report.md")).unwrap();
    assert!(markdown.contains("left the company") && markdown.contains("carol@example.com"));

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(home.path("record-1/manifest.json")).unwrap())
            .unwrap();
    let audit_hash = rollcall::ops::evidence::sha256_hex(
        &std::fs::read(home.path("audit-1/manifest.json")).unwrap(),
    );
    assert_eq!(manifest["previous"]["manifestSha256"], audit_hash.as_str());
    assert!(manifest["files"]["demo-organization.csv"].is_string());

    let run = rollcall(&home, &api, &["verify", "record-1"]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("record-1: intact") && run.stdout.contains("chained to audit-1"),
        "{}",
        run.stdout
    );

    // Tampering: a decision's reason quietly edited in the bundle.
    let copy = home.path("record-1/demo-organization.csv");
    let edited = std::fs::read_to_string(&copy)
        .unwrap()
        .replace("left the company", "asked to be removed");
    std::fs::write(&copy, edited).unwrap();
    let run = rollcall(&home, &api, &["verify", "record-1"]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("record-1/demo-organization.csv: changed"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("NOT intact"));
    assert!(!run.stdout.contains("review-report.md"), "{}", run.stdout);

    // A report of the previous bundle edited, its manifest left alone:
    // the link matches, but the chain is broken there, and verify says so.
    let report = home.path("audit-1/audit.md");
    let edited = std::fs::read_to_string(&report).unwrap() + "\nnothing to see\n";
    std::fs::write(&report, edited).unwrap();
    let run = rollcall(&home, &api, &["verify", "record-1"]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("its manifest matches, but that bundle is NOT intact")
            && run
                .stdout
                .contains("audit-1/audit.md: changed (in the previous bundle of the chain)"),
        "{}",
        run.stdout
    );

    // The previous bundle's manifest rewritten: the chain notices.
    let path = home.path("audit-1/manifest.json");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("administrator", "someone-else");
    std::fs::write(&path, text).unwrap();
    let run = rollcall(&home, &api, &["verify", "record-1"]).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("audit-1/manifest.json: the previous bundle's manifest changed"),
        "{}",
        run.stdout
    );
    // The review's disable is an ordinary run: `rollcall undo` puts it back.
    let disable_run = applied.iter().find(|r| r["decision"] == "disable").unwrap()["runId"]
        .as_str()
        .unwrap()
        .to_string();
    let run = rollcall(&home, &api, &["undo", &disable_run, "--yes"]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let d = admin(&sb).get_user(to_disable, &[]).await.unwrap();
    assert_eq!(d.disabled, Some(false));

    // Not a bundle: one line, non-zero.
    let run = rollcall(&home, &api, &["verify", "rv"]).await;
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("manifest.json"), "{}", run.stderr);
    sb.shutdown().await;
}

/// The console's `:review` through the real entry point (keys into the App,
/// commands to the worker, events back), saving to the files that
/// `review apply` reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_decides_in_the_files_apply_reads() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use rollcall::domain::review::{Decision, Scope};
    use rollcall::ops::review::{self as ops_review, StartOptions};
    use rollcall::tui::{Action, App, ConsoleContext};
    use rollcall::worker::{Command, Event, Worker};
    use std::time::Duration;

    let sb = sandbox(SandboxConfig::loopback(30, SECRET)).await;
    let session = rollcall::ops::session::session_for(sb.connection("administrator"))
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rv");
    let snapshot = ops_review::start(
        &session,
        &StartOptions {
            by: Scope::Org,
            dir: dir.clone(),
            org: None,
            policy: None,
            stale_days: 90,
            expiring_days: 14,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let rows: usize = snapshot.sheets.iter().map(|s| s.accounts).sum();

    let (worker, mut events) = Worker::spawn(session.client.clone());
    let mut app = App::new(ConsoleContext::from_session(&session));
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("an event within 20 s")
            .expect("the worker runs")
    };
    let key = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
    let send_keys = |app: &mut App, keys: &[KeyCode]| -> Vec<Command> {
        keys.iter().flat_map(|k| app.handle_key(key(*k))).collect()
    };
    let typed = |text: &str| text.chars().map(KeyCode::Char).collect::<Vec<_>>();

    // `:review DIR` asks the worker for the sheets; its answer opens them.
    let mut keys = typed(&format!(":review {}", dir.display()));
    keys.push(KeyCode::Enter);
    for command in send_keys(&mut app, &keys) {
        assert!(worker.send(command));
    }
    loop {
        let event = next().await;
        let done = matches!(event, Event::Review { .. });
        app.update(Action::Worker(event));
        if done {
            break;
        }
    }
    // d with a reason on the first row, then k on every other.
    let mut keys = vec![KeyCode::Char('d')];
    keys.extend(typed("left the company"));
    keys.push(KeyCode::Enter);
    keys.extend(std::iter::repeat_n(KeyCode::Char('k'), rows - 1));
    let mut saves = 0;
    for command in send_keys(&mut app, &keys) {
        if matches!(command, Command::SaveReviewSheet { .. }) {
            saves += 1;
        }
        assert!(worker.send(command));
    }
    assert_eq!(saves, rows);
    let mut saved = 0;
    while saved < saves {
        let event = next().await;
        if let Event::ReviewSaved { result, file, .. } = &event {
            assert!(result.is_ok(), "{file}: {result:?}");
            saved += 1;
        }
        app.update(Action::Worker(event));
    }
    assert!(
        app.status().is_none_or(|s| !s.is_error),
        "{:?}",
        app.status()
    );

    // What `review apply` reads: every row decided, the first a disable.
    let review = ops_review::load(&dir).unwrap();
    let decided = ops_review::decisions(&review).expect("every row decided");
    assert_eq!(decided.len(), rows);
    let disabled: Vec<_> = decided
        .iter()
        .filter(|d| d.decision == Decision::Disable)
        .collect();
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].reason, "left the company");
    assert_eq!(disabled[0].reviewer, "administrator");
    assert!(!disabled[0].decided_at.is_empty());
    worker.send(Command::Shutdown);

    // A console on another instance does not open it: the sheets' ids
    // are this instance's accounts.
    let other = sandbox(SandboxConfig::loopback(30, SECRET)).await;
    let elsewhere = rollcall::ops::session::session_for(other.connection("administrator"))
        .await
        .unwrap();
    let (worker, mut events) = Worker::spawn(elsewhere.client.clone());
    let id: rollcall::worker::RequestId = 1;
    assert!(worker.send(Command::LoadReview {
        id,
        dir: dir.clone()
    }));
    let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .expect("an answer")
        .expect("the worker runs");
    match event {
        Event::Review {
            sheets: Err(why), ..
        } => {
            assert!(why.contains("was started on"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    worker.send(Command::Shutdown);
    other.shutdown().await;
    sb.shutdown().await;
}

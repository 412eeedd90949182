//! Bulk offboarding, the journal and undo, over real HTTP against the
//! embedded sandbox (and, for a kill -9, the real binary).

#[path = "common/server_state.rs"]
mod server_state;
use rollcall::bulk::{Cancel, RowOutcome, RowResult, RunMeta};
use rollcall::commands::offboard::{
    assess, execute_run, journal, plan_undo, run_bulk_with, select, undo_with, BulkArgs,
    JournalArgs, LinePrompt, RunOptions, UndoArgs,
};
use rollcall::domain::preflight::BulkAction;
use rollcall::domain::User;
use rollcall::journal::{self as jl, Phase, RowState};
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{Faults, Sandbox, SandboxConfig, SEEDED_ACCESS_IDS};
use serde_json::json;
use server_state::server_state;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

const SECRET: &str = "secret";
const HOME: &str = "Demo Organization";

async fn sandbox(n_users: usize) -> Sandbox {
    Sandbox::start(SandboxConfig::loopback(n_users, SECRET))
        .await
        .expect("sandbox starts")
}

async fn session(sb: &Sandbox, access_id: &str) -> Session {
    session_for(sb.connection(access_id))
        .await
        .expect("session opens")
}

fn options(concurrency: usize, filter: Option<&str>) -> RunOptions {
    RunOptions {
        run_id: RunMeta::new_run_id(),
        concurrency,
        filter: filter.map(String::from),
        org: None,
        undo_of: None,
        review: None,
        reassign: Default::default(),
    }
}

fn ids_with(results: &[RowResult], outcome: &RowOutcome) -> BTreeSet<i64> {
    results
        .iter()
        .filter(|r| r.outcome == *outcome)
        .map(|r| r.id)
        .collect()
}

/// A prompt that answers as a person at a terminal would.
fn answering(answer: &'static str) -> LinePrompt<&'static [u8]> {
    LinePrompt {
        input: answer.as_bytes(),
        interactive: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_account_disable_matches_an_independent_count() {
    let sb = sandbox(1000).await;
    let before = server_state(&sb).await;
    let aa = session(&sb, "accounts-administrator").await;
    let own_id = aa.actor.id.expect("own id");
    // 999 seeded accounts of every Organization, plus the actor itself.
    let mut targets: Vec<User> = before
        .values()
        .filter(|u| !SEEDED_ACCESS_IDS.contains(&u.user_name.as_str()))
        .take(999)
        .cloned()
        .collect();
    targets.push(before[&own_id].clone());
    assert_eq!(targets.len(), 1000);

    // The rules, written out independently of the policy module: an
    // Accounts Administrator (on premises) disables only User, Read Only,
    // API and TAXII accounts of its home Organization, never itself.
    let manageable = [
        "User",
        "Read Only User",
        "Api User",
        "Exchange Admin",
        "Taxii User",
    ];
    let (mut will, mut already, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    for u in &targets {
        let role = u.system_role.as_deref().unwrap_or("");
        if u.id == own_id || u.owner.as_deref() != Some(HOME) || !manageable.contains(&role) {
            refused.push(u.id);
        } else if u.disabled == Some(true) {
            already.push(u.id);
        } else {
            will.push(u.id);
        }
    }
    assert!(will.len() > 300 && !already.is_empty() && refused.len() > 300);
    let other_orgs = targets
        .iter()
        .filter(|u| u.owner.as_deref() != Some(HOME))
        .count();
    let high_roles = targets
        .iter()
        .filter(|u| {
            u.owner.as_deref() == Some(HOME)
                && matches!(
                    u.system_role.as_deref(),
                    Some("Administrator" | "Operations Administrator" | "Super User")
                )
        })
        .count();
    assert!(other_orgs > 0 && high_roles > 0);

    let selection = assess(&aa, BulkAction::Disable, targets.clone());
    assert_eq!(selection.preflight.will_change, will);
    assert_eq!(selection.preflight.already, already);
    let refused_by_preflight: Vec<i64> = selection
        .preflight
        .not_allowed
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(refused_by_preflight, refused);
    let reasons: BTreeSet<&str> = selection
        .preflight
        .not_allowed
        .iter()
        .map(|(_, r)| r.as_str())
        .collect();
    assert!(reasons.contains("you cannot disable your own account"));
    assert!(reasons.iter().any(|r| r.contains("another Organization")));
    assert!(reasons
        .iter()
        .any(|r| r.contains("cannot disable a Super User")));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let puts_before = sb.requests().put;
    let mut seen = 0usize;
    let report = execute_run(
        &aa,
        &path,
        &selection,
        &options(8, Some("test selection")),
        &Cancel::default(),
        &mut |_| seen += 1,
    )
    .await
    .unwrap();
    assert_eq!(seen, will.len());
    assert_eq!(
        (report.ok(), report.failed(), report.not_sent()),
        (will.len(), 0, 0)
    );
    assert_eq!(sb.requests().put - puts_before, will.len() as u64);

    let after = server_state(&sb).await;
    let will_set: BTreeSet<i64> = will.iter().copied().collect();
    for (id, user) in &before {
        let expected = if will_set.contains(id) {
            Some(true)
        } else {
            user.disabled
        };
        assert_eq!(after[id].disabled, expected, "account {id}");
    }

    let contents = jl::read(&path).unwrap();
    assert!(contents.bad_lines.is_empty());
    let runs = jl::runs_of(&contents);
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let header = run.header.as_ref().expect("header");
    assert_eq!(
        (
            header.planned,
            header.already,
            header.not_allowed,
            run.intended,
            run.succeeded,
            run.failed,
            run.unfinished
        ),
        (
            will.len(),
            already.len(),
            refused.len(),
            will.len(),
            will.len(),
            0,
            0
        )
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_midway_leaves_the_journal_agreeing_with_the_server() {
    let sb = sandbox(300).await;
    let admin = session(&sb, "administrator").await;
    let selection = select(&admin, BulkAction::Disable, None, "type:user")
        .await
        .unwrap();
    let planned: BTreeSet<i64> = selection.preflight.will_change.iter().copied().collect();
    assert!(planned.len() > 60);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");

    sb.set_faults(Faults {
        latency: Duration::from_millis(30),
        ..Default::default()
    });
    let cancel = Cancel::default();
    let mut seen = 0;
    let canceller = cancel.clone();
    let report = execute_run(
        &admin,
        &path,
        &selection,
        &options(4, Some("type:user")),
        &cancel,
        &mut |_| {
            seen += 1;
            if seen == 10 {
                canceller.cancel();
            }
        },
    )
    .await
    .unwrap();
    sb.set_faults(Faults::default());
    let ok = ids_with(&report.results, &RowOutcome::Ok);
    let not_sent = ids_with(&report.results, &RowOutcome::NotSent);
    assert!(ok.len() >= 10 && ok.len() <= 14, "{} ok", ok.len());
    assert_eq!(report.failed(), 0);
    assert_eq!(ok.len() + not_sent.len(), planned.len());

    let after = server_state(&sb).await;
    for id in &ok {
        assert_eq!(after[id].disabled, Some(true), "ok {id} is disabled");
    }
    for id in &not_sent {
        assert_eq!(after[id].disabled, Some(false), "not sent {id} untouched");
    }

    let contents = jl::read(&path).unwrap();
    let run = jl::runs_of(&contents)
        .into_iter()
        .find(|r| r.run_id == report.run_id)
        .unwrap();
    assert_eq!(
        (run.intended, run.succeeded, run.unfinished, run.not_sent()),
        (ok.len(), ok.len(), 0, Some(not_sent.len()))
    );
    let rows = jl::run_rows(&contents.entries, &report.run_id);
    let journalled_ok: BTreeSet<i64> = rows
        .iter()
        .filter(|r| r.state == RowState::Ok)
        .map(|r| r.account_id)
        .collect();
    assert_eq!(journalled_ok, ok);

    // Stopping at once (a second Ctrl-C, or a dropped task) leaves intents
    // without outcomes: reported as unfinished, never as done.
    let rest = select(&admin, BulkAction::Disable, None, "type:user")
        .await
        .unwrap();
    assert_eq!(rest.preflight.will_change.len(), not_sent.len());
    sb.set_faults(Faults {
        latency: Duration::from_millis(200),
        ..Default::default()
    });
    let abrupt = options(4, Some("type:user"));
    let stopped = tokio::time::timeout(
        Duration::from_millis(300),
        execute_run(
            &admin,
            &path,
            &rest,
            &abrupt,
            &Cancel::default(),
            &mut |_| {},
        ),
    )
    .await;
    assert!(stopped.is_err(), "the run was stopped mid-flight");
    // Journal writes already handed to the blocking pool still land.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sb.set_faults(Faults::default());
    let contents = jl::read(&path).unwrap();
    assert!(contents.bad_lines.is_empty());
    let run = jl::runs_of(&contents)
        .into_iter()
        .find(|r| r.run_id == abrupt.run_id)
        .unwrap();
    assert!(run.unfinished > 0, "{run:?}");
    assert_eq!(run.intended, run.succeeded + run.failed + run.unfinished);
    let mut out = Vec::new();
    journal(
        &JournalArgs {
            journal: Some(path.clone()),
            run: Some(abrupt.run_id.clone()),
            ..Default::default()
        },
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("unfinished "))
            .count(),
        run.unfinished,
        "{text}"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_restores_the_server_state_and_counts_hand_fixes_as_already() {
    let sb = sandbox(200).await;
    let admin = session(&sb, "administrator").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let before = server_state(&sb).await;
    let selection = select(&admin, BulkAction::Disable, None, "type:api")
        .await
        .unwrap();
    assert!(selection.preflight.will_change.len() >= 10);
    let report = execute_run(
        &admin,
        &path,
        &selection,
        &options(8, Some("type:api")),
        &Cancel::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    let changed = ids_with(&report.results, &RowOutcome::Ok);
    assert_eq!(changed.len(), selection.preflight.will_change.len());

    // Someone re-enables one account by hand in between.
    let by_hand = *changed.iter().next().unwrap();
    admin
        .client
        .update_user(by_hand, &json!({"disabled": false}))
        .await
        .unwrap();

    let plan = plan_undo(&admin, &path, &report.run_id).await.unwrap();
    assert_eq!(plan.selection.action, BulkAction::Enable);
    assert_eq!(plan.selection.preflight.already, vec![by_hand]);
    let will: BTreeSet<i64> = plan
        .selection
        .preflight
        .will_change
        .iter()
        .copied()
        .collect();
    let expected: BTreeSet<i64> = changed
        .iter()
        .copied()
        .filter(|id| *id != by_hand)
        .collect();
    assert_eq!(will, expected);
    assert!(plan.missing.is_empty() && plan.unfinished == 0);

    let undo_args = |dry_run: bool| UndoArgs {
        run_id: report.run_id.clone(),
        dry_run,
        yes: true,
        concurrency: Some(4),
        journal: Some(path.clone()),
    };
    let puts = sb.requests().put;
    let mut out = Vec::new();
    undo_with(&admin, &undo_args(true), &mut out, &mut answering(""))
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("already enabled: 1"), "{text}");
    assert!(text.contains(&format!("will change: {}", expected.len())));
    assert_eq!(sb.requests().put, puts, "a dry run sends nothing");

    let mut out = Vec::new();
    undo_with(&admin, &undo_args(false), &mut out, &mut answering(""))
        .await
        .unwrap();
    assert_eq!(sb.requests().put - puts, expected.len() as u64);
    let after = server_state(&sb).await;
    for (id, user) in &before {
        assert_eq!(after[id].disabled, user.disabled, "account {id} as before");
    }
    let runs = jl::runs_of(&jl::read(&path).unwrap());
    let undo_run = runs.last().unwrap();
    assert_eq!(undo_run.action, "enable");
    assert_eq!(
        undo_run.header.as_ref().and_then(|h| h.undo_of.clone()),
        Some(report.run_id.clone())
    );
    assert_eq!((undo_run.succeeded, undo_run.failed), (expected.len(), 0));

    // Resets have no inverse: refused, nothing sent.
    let resets = BulkArgs {
        filter: "type:readonly".into(),
        yes: true,
        journal: Some(path.clone()),
        ..Default::default()
    };
    let mut out = Vec::new();
    run_bulk_with(
        &admin,
        BulkAction::ResetPassword,
        &resets,
        &mut out,
        &mut answering(""),
    )
    .await
    .unwrap();
    let reset_run = jl::runs_of(&jl::read(&path).unwrap())
        .last()
        .unwrap()
        .run_id
        .clone();
    let puts = sb.requests().put;
    let refusal = undo_with(
        &admin,
        &UndoArgs {
            run_id: reset_run,
            yes: true,
            journal: Some(path.clone()),
            ..Default::default()
        },
        &mut Vec::new(),
        &mut answering(""),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(refusal.contains("cannot be undone"), "{refusal}");
    assert_eq!(sb.requests().put, puts);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_previews_asks_and_reports_each_result() {
    let sb = sandbox(150).await;
    let oa = session(&sb, "operations-administrator").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let expected = select(&oa, BulkAction::Disable, None, "example.com")
        .await
        .unwrap()
        .preflight;
    assert!(
        expected.will_change.len() > 20 && !expected.not_allowed.is_empty(),
        "{expected:?}"
    );
    let args = |dry_run: bool, yes: bool| BulkArgs {
        filter: "example.com".into(),
        dry_run,
        yes,
        concurrency: Some(8),
        journal: Some(path.clone()),
        ..Default::default()
    };
    let puts = sb.requests().put;

    let mut out = Vec::new();
    run_bulk_with(
        &oa,
        BulkAction::Disable,
        &args(true, false),
        &mut out,
        &mut answering(""),
    )
    .await
    .unwrap();
    let preview = String::from_utf8(out).unwrap();
    assert!(preview.contains(&format!("will change: {}", expected.will_change.len())));
    assert!(preview.contains(&format!("already disabled: {}", expected.already.len())));
    assert!(preview.contains(&format!("not allowed: {}", expected.not_allowed.len())));
    assert!(preview.contains("Dry run: nothing sent."));

    let mut out = Vec::new();
    run_bulk_with(
        &oa,
        BulkAction::Disable,
        &args(false, false),
        &mut out,
        &mut answering("n\n"),
    )
    .await
    .unwrap();
    let declined = String::from_utf8(out).unwrap();
    assert!(declined.contains(&format!(
        "Disable {} accounts? [y/N] Nothing sent.",
        expected.will_change.len()
    )));

    let mut scripted = LinePrompt {
        input: "y\n".as_bytes(),
        interactive: false,
    };
    let refusal = run_bulk_with(
        &oa,
        BulkAction::Disable,
        &args(false, false),
        &mut Vec::new(),
        &mut scripted,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(refusal.contains("not a terminal") && refusal.contains("--yes"));
    assert_eq!(sb.requests().put, puts, "nothing sent so far");
    assert!(!path.exists(), "no run, no journal");

    let mut out = Vec::new();
    run_bulk_with(
        &oa,
        BulkAction::Disable,
        &args(false, false),
        &mut out,
        &mut answering("y\n"),
    )
    .await
    .unwrap();
    let ran = String::from_utf8(out).unwrap();
    assert_eq!(
        ran.lines().filter(|l| l.starts_with("ok ")).count(),
        expected.will_change.len()
    );
    assert!(ran.contains(&format!(
        "ok, 0 failed, 0 unknown, 0 not sent, of {}",
        expected.will_change.len()
    )));
    assert_eq!(sb.requests().put - puts, expected.will_change.len() as u64);

    // Failures: some enables refused with 429s (after the client's own
    // retries); the command says how many.
    let to_enable = select(&oa, BulkAction::Enable, None, "example.com")
        .await
        .unwrap()
        .preflight
        .will_change
        .len();
    sb.set_faults(Faults {
        rate_limit_rate: 0.6,
        seed: 7,
        ..Default::default()
    });
    let mut out = Vec::new();
    let error = run_bulk_with(
        &oa,
        BulkAction::Enable,
        &args(false, true),
        &mut out,
        &mut answering(""),
    )
    .await
    .unwrap_err()
    .to_string();
    sb.set_faults(Faults::default());
    let text = String::from_utf8(out).unwrap();
    let failed = text.lines().filter(|l| l.starts_with("failed ")).count();
    assert!(failed > 0, "{text}");
    assert!(
        error.starts_with(&format!("{failed} of {to_enable} accounts failed")),
        "{error}"
    );

    let mut out = Vec::new();
    journal(
        &JournalArgs {
            journal: Some(path.clone()),
            run: None,
            ..Default::default()
        },
        &mut out,
    )
    .unwrap();
    let listing = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(lines[0].starts_with("Run ") && lines[0].contains("Unfinished"));
    assert!(lines[1].contains(" disable ") && lines[2].contains(" enable "));
    assert!(lines[2].contains(&format!(" {failed} ")));
    sb.shutdown().await;
}

/// Reads a journal's raw lines: every line parses except at most a torn
/// last one, and every outcome follows its intent.
fn check_journal_lines(path: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut intents: HashMap<(String, i64), usize> = HashMap::new();
    let (mut n_intents, mut n_outcomes) = (0, 0);
    for (i, line) in lines.iter().enumerate() {
        let complete = line.ends_with('\n');
        let parsed_entry = serde_json::from_str::<jl::Entry>(line.trim_end());
        let parsed_header = serde_json::from_str::<jl::RunHeader>(line.trim_end());
        match (parsed_entry, parsed_header) {
            (Ok(entry), _) => {
                assert!(complete, "line {} has no newline", i + 1);
                let key = (entry.run_id.clone(), entry.account_id);
                match entry.phase {
                    Phase::Intent => {
                        n_intents += 1;
                        *intents.entry(key).or_default() += 1;
                    }
                    Phase::Outcome => {
                        n_outcomes += 1;
                        assert!(
                            intents.contains_key(&key),
                            "outcome before intent, line {}",
                            i + 1
                        );
                    }
                }
            }
            (Err(_), Ok(_)) => assert!(complete),
            (Err(e), Err(_)) => assert!(
                i + 1 == lines.len() && !complete,
                "line {} is corrupt: {e}",
                i + 1
            ),
        }
    }
    (n_intents, n_outcomes)
}

/// Starts the real binary on `sb`: `users disable --filter type:user --yes`.
fn spawn_disable(sb: &Sandbox, journal: &Path, home: &Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args([
            "users",
            "disable",
            "--filter",
            "type:user",
            "--yes",
            "--concurrency",
            "3",
        ])
        .env("TC_API_PATH", sb.base_url())
        .env("TC_API_ACCESS_ID", "administrator")
        .env("TC_API_SECRET_KEY", SECRET)
        .env_remove("TC_TOKEN")
        .env("ROLLCALL_JOURNAL", journal)
        .env("XDG_CONFIG_HOME", home)
        .env("HOME", home)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Reads the child's stdout until `ok_lines` results were printed; returns
/// the lines read and the rest of the reader.
async fn read_until_results(
    child: &mut std::process::Child,
    ok_lines: usize,
) -> (
    Vec<String>,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    use std::io::BufRead;
    let stdout = child.stdout.take().unwrap();
    let reader = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            let ok = line.starts_with("ok ");
            seen.push(line);
            if ok && seen.iter().filter(|l| l.starts_with("ok ")).count() >= ok_lines {
                break;
            }
        }
        (seen, lines)
    });
    tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("results within a minute")
        .unwrap()
}

fn stderr_of(child: &mut std::process::Child) -> String {
    use std::io::Read;
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_in_the_binary_lets_requests_in_flight_finish_and_sends_nothing_more() {
    let sb = sandbox(200).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    sb.set_faults(Faults {
        latency: Duration::from_millis(60),
        ..Default::default()
    });
    let mut child = spawn_disable(&sb, &path, dir.path());
    let (seen, rest) = read_until_results(&mut child, 5).await;
    assert!(
        seen.iter().filter(|l| l.starts_with("ok ")).count() >= 5,
        "{seen:?} {}",
        stderr_of(&mut child)
    );
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let rest: Vec<String> =
        tokio::task::spawn_blocking(move || rest.map_while(Result::ok).collect())
            .await
            .unwrap();
    let status = child.wait().unwrap();
    let stderr = stderr_of(&mut child);
    sb.set_faults(Faults::default());
    assert!(!status.success());
    assert!(stderr.contains("cancelled: "), "{stderr}");
    assert!(
        rest.iter().any(|l| l.starts_with("Cancelling:")),
        "{rest:?}"
    );
    let not_sent = rest.iter().filter(|l| l.starts_with("not sent ")).count();
    assert!(not_sent > 0);

    let contents = jl::read(&path).unwrap();
    assert!(contents.bad_lines.is_empty());
    let runs = jl::runs_of(&contents);
    let run = &runs[0];
    assert_eq!(run.unfinished, 0, "requests in flight finished");
    assert_eq!(run.not_sent(), Some(not_sent));
    let printed_ok = seen
        .iter()
        .chain(&rest)
        .filter(|l| l.starts_with("ok "))
        .count();
    assert_eq!(run.succeeded, printed_ok);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_process_mid_run_leaves_a_valid_journal() {
    let sb = sandbox(200).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let before = server_state(&sb).await;
    sb.set_faults(Faults {
        latency: Duration::from_millis(60),
        ..Default::default()
    });
    let mut child = spawn_disable(&sb, &path, dir.path());
    let (seen, _rest) = read_until_results(&mut child, 6).await;
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    let stderr = stderr_of(&mut child);
    assert!(
        seen.iter().filter(|l| l.starts_with("ok ")).count() >= 6,
        "the run printed results before the kill: {seen:?} {stderr}"
    );
    assert!(!status.success());
    sb.set_faults(Faults::default());

    let (intents, outcomes) = check_journal_lines(&path);
    assert!(outcomes >= 6 && intents >= outcomes);
    let contents = jl::read(&path).unwrap();
    assert!(contents.bad_lines.len() <= 1);
    let runs = jl::runs_of(&contents);
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.unfinished, run.intended - run.succeeded - run.failed);
    let planned = run.header.as_ref().unwrap().planned;
    assert!(run.intended < planned, "killed before the end");
    // Every journalled success is on the server; nothing beyond the intents was touched.
    let after = server_state(&sb).await;
    let rows = jl::run_rows(&contents.entries, &run.run_id);
    let intended: BTreeSet<i64> = rows.iter().map(|r| r.account_id).collect();
    for row in &rows {
        if row.state == RowState::Ok {
            assert_eq!(after[&row.account_id].disabled, Some(true));
        }
    }
    for (id, user) in &before {
        if !intended.contains(id) {
            assert_eq!(after[id].disabled, user.disabled, "account {id} untouched");
        }
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_filter_the_actor_cannot_decide_is_refused_and_sends_nothing() {
    let sb = sandbox(150).await;
    // An Accounts Administrator is not shown System roles: `type:user`
    // would silently match nothing (or guess), so the command refuses.
    let aa = session(&sb, "accounts-administrator").await;
    assert!(!aa.actor.sees_system_roles());
    let dir = tempfile::tempdir().unwrap();
    let args = BulkArgs {
        filter: "type:user".into(),
        yes: true,
        journal: Some(dir.path().join("j.jsonl")),
        ..Default::default()
    };
    let puts = sb.requests().put;
    let mut out = Vec::new();
    let refusal = run_bulk_with(
        &aa,
        BulkAction::Disable,
        &args,
        &mut out,
        &mut answering("y\n"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        refusal.contains("cannot be decided") && refusal.contains("nothing was sent"),
        "{refusal}"
    );
    assert!(
        refusal.contains("type: unknown for ")
            && refusal.contains("accounts: the instance does not show you System roles"),
        "{refusal}"
    );
    assert_eq!(sb.requests().put, puts, "no PUT sent");
    assert!(!dir.path().join("j.jsonl").exists(), "no run journalled");
    // A listing answers, and says the same in one note (stderr in the CLI).
    let mut notes = Vec::new();
    let listed = rollcall::commands::users::fetch_filtered_noting(
        &aa,
        None,
        &rollcall::domain::filter::Filter::parse("type:user").unwrap(),
        chrono::Utc::now(),
        &mut |n| notes.push(n),
    )
    .await
    .unwrap();
    assert!(listed.is_empty());
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.starts_with("type: unknown for "))
            .count(),
        1,
        "{notes:?}"
    );
    // A decidable filter from the same actor still runs (dry run here).
    let fine = BulkArgs {
        filter: "status:locked".into(),
        dry_run: true,
        journal: Some(dir.path().join("j.jsonl")),
        ..Default::default()
    };
    run_bulk_with(
        &aa,
        BulkAction::Disable,
        &fine,
        &mut Vec::new(),
        &mut answering(""),
    )
    .await
    .unwrap();
    sb.shutdown().await;
}

/// `users delete --filter`: the console's bulk delete from a script. On a
/// terminal the count must be typed (a "y" deletes nothing); the run is
/// journaled like every run and the server agrees with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_delete_needs_the_count_typed_and_agrees_with_the_server() {
    use rollcall::commands::admin::DeleteArgs;
    use rollcall::commands::offboard::run_bulk_delete_with;
    let sb = sandbox(300).await;
    let admin = session(&sb, "administrator").await;
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.jsonl");
    let args = DeleteArgs {
        id: None,
        filter: Some("type:taxii status:disabled".into()),
        org: None,
        dry_run: false,
        concurrency: Some(4),
        journal: Some(journal_path.clone()),
        reassign_playbooks_to: None,
        reassign_jobs_to: None,
        yes: false,
    };
    let before = server_state(&sb).await;
    let chosen: Vec<i64> = before
        .values()
        .filter(|u| u.account_type() == Some(rollcall::domain::AccountType::Taxii))
        .filter(|u| u.disabled == Some(true))
        .map(|u| u.id)
        .collect();
    assert!(!chosen.is_empty(), "the seed has disabled TAXII accounts");
    let deletes = sb.requests().delete;

    // A reflexive "y" is not the count: nothing is sent.
    let mut out = Vec::new();
    run_bulk_delete_with(&admin, &args, &mut out, &mut answering("y\n"))
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(&format!("Type {} to confirm", chosen.len())),
        "{text}"
    );
    assert!(text.contains("Nothing sent."), "{text}");
    assert_eq!(sb.requests().delete, deletes);

    // The count typed: every chosen account is deleted, and only those.
    let typed: &'static str = Box::leak(format!("{}\n", chosen.len()).into_boxed_str());
    let mut out = Vec::new();
    run_bulk_delete_with(&admin, &args, &mut out, &mut answering(typed))
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(&format!("{} ok", chosen.len())), "{text}");
    let after = server_state(&sb).await;
    for id in before.keys() {
        assert_eq!(after.contains_key(id), !chosen.contains(id), "account {id}");
    }
    let contents = jl::read(&journal_path).unwrap();
    let runs = jl::runs_of(&contents);
    assert_eq!(runs.len(), 1, "one run journaled");
    assert_eq!(runs[0].action, "delete");
    sb.shutdown().await;
}

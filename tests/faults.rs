//! Runs that survive faults (issue 14, item 3), over real HTTP against the
//! sandbox: under 5xx answers, dropped connections, answers lost after the
//! change was applied and a rate limit, every row ends ok, failed or
//! unknown, and the journal matches the server account by account.

#[path = "common/server_state.rs"]
mod server_state;
use rollcall::bulk::{Cancel, RowOutcome, RunMeta};
use rollcall::commands::offboard::{
    assess, execute_run, journal, JournalArgs, JournalFormat, RunOptions,
};
use rollcall::domain::preflight::BulkAction;
use rollcall::domain::User;
use rollcall::journal::{self as jl, RowState};
use rollcall::ops::account::{self, RequestBody, SaveRequest, Step};
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{Faults, Sandbox, SandboxConfig, SEEDED_ACCESS_IDS};
use server_state::server_state;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

const KEY: &str = "secret";

/// The faults of the issue: 10% 5xx, 5% dropped connections, 5% answers
/// lost after the change was applied, and a rate limit answered with 429
/// and `Retry-After`.
fn hostile(seed: u64) -> Faults {
    Faults {
        error_rate: 0.10,
        drop_rate: 0.05,
        lost_answer_rate: 0.05,
        rate_limit_per_second: 300,
        seed,
        ..Default::default()
    }
}

async fn admin(sb: &Sandbox) -> Session {
    session_for(sb.connection("administrator"))
        .await
        .expect("session opens")
}

fn options(concurrency: usize) -> RunOptions {
    RunOptions {
        run_id: RunMeta::new_run_id(),
        concurrency,
        filter: None,
        org: None,
        undo_of: None,
        review: None,
        reassign: Default::default(),
    }
}

/// Every account of the sandbox but the seeded actors (whose sessions other
/// tests of the same sandbox would need).
fn seeded_users(state: &BTreeMap<i64, User>) -> Vec<User> {
    state
        .values()
        .filter(|u| !SEEDED_ACCESS_IDS.contains(&u.user_name.as_str()))
        .cloned()
        .collect()
}

/// What the journal says of each account of `run_id`, by id.
fn journaled(path: &Path, run_id: &str) -> BTreeMap<i64, RowState> {
    let contents = jl::read(path).unwrap();
    assert!(contents.bad_lines.is_empty(), "{:?}", contents.bad_lines);
    jl::run_rows(&contents.entries, run_id)
        .into_iter()
        .map(|r| (r.account_id, r.state))
        .collect()
}

fn results_json(path: &Path, run_id: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    journal(
        &JournalArgs {
            journal: Some(path.to_path_buf()),
            run: Some(run_id.to_string()),
            format: JournalFormat::Json,
        },
        &mut out,
    )
    .expect("the journal exports");
    serde_json::from_slice(&out).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_disables_under_faults_end_as_the_server_says() {
    let sb = Sandbox::start(SandboxConfig::loopback(2000, KEY))
        .await
        .unwrap();
    let admin = admin(&sb).await;
    let before = server_state(&sb).await;
    let selection = assess(&admin, BulkAction::Disable, seeded_users(&before));
    let targets: BTreeSet<i64> = selection.preflight.will_change.iter().copied().collect();
    assert!(targets.len() > 1500, "{}", targets.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let puts_before = sb.requests().put;

    sb.set_faults(hostile(14));
    let started = Instant::now();
    let report = execute_run(
        &admin,
        &path,
        &selection,
        &options(16),
        &Cancel::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    let took = started.elapsed();
    sb.set_faults(Faults::default());
    let after = server_state(&sb).await;

    // Every row ends with an outcome; the retries leave none failed or unknown.
    assert_eq!(report.results.len(), targets.len());
    let not_ok: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.outcome != RowOutcome::Ok)
        .collect();
    assert!(not_ok.is_empty(), "{not_ok:?}");

    // The journal against the server, account by account.
    let rows = journaled(&path, &report.run_id);
    assert_eq!(rows.keys().copied().collect::<BTreeSet<_>>(), targets);
    let mut differences = Vec::new();
    for (id, user) in &after {
        let disabled = user.disabled == Some(true);
        match (rows.get(id), disabled) {
            (Some(RowState::Ok), true) | (Some(RowState::Unknown(_)), _) => {}
            (Some(state), _) => {
                differences.push(format!("{id}: journal {state:?}, disabled {disabled}"))
            }
            // Not in the run: as it was.
            (None, _) if user.disabled == before[id].disabled => {}
            (None, _) => differences.push(format!("{id}: not targeted, yet changed")),
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");

    // Each send is an intent then its outcome, a resend a new pair.
    let entries = jl::read(&path).unwrap().entries;
    let mut open: BTreeMap<i64, bool> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.run_id == report.run_id) {
        let was_open = open.insert(e.account_id, e.phase == jl::Phase::Intent);
        match e.phase {
            jl::Phase::Intent => assert_ne!(was_open, Some(true), "{}: two intents", e.account_id),
            jl::Phase::Outcome => assert_eq!(was_open, Some(true), "{}: no intent", e.account_id),
        }
    }
    assert!(open.values().all(|o| !o), "an intent without its outcome");

    // The faults did happen and were survived, not avoided.
    let contents = std::fs::read_to_string(&path).unwrap();
    let lost = contents
        .lines()
        .filter(|l| l.contains("applied; the answer was lost"))
        .count();
    let resent = contents
        .lines()
        .filter(|l| l.contains("sending again"))
        .count();
    let puts = sb.requests().put - puts_before;
    assert!(lost > 20, "{lost} answers lost and confirmed");
    assert!(resent > 100, "{resent} sends not applied and sent again");
    assert!(puts > targets.len() as u64 + 100, "{puts} PUTs");
    // The rate limit held the run back: 300 requests a second at most.
    assert!(took.as_secs_f64() > puts as f64 / 300.0 - 1.0, "{took:?}");

    // The tools' view says the same, with the lost answers explained.
    let exported = results_json(&path, &report.run_id);
    assert_eq!(exported.len(), targets.len());
    assert!(exported.iter().all(|r| r["outcome"] == "ok"));
    let explained = exported
        .iter()
        .filter(|r| {
            r["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("applied; the answer was lost"))
        })
        .count();
    assert!(explained > 20, "{explained}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletes_that_may_have_happened_are_confirmed_by_reading_back() {
    let sb = Sandbox::start(SandboxConfig::loopback(300, KEY))
        .await
        .unwrap();
    let admin = admin(&sb).await;
    let before = server_state(&sb).await;
    let selection = assess(&admin, BulkAction::Delete, seeded_users(&before));
    let targets: BTreeSet<i64> = selection.preflight.will_change.iter().copied().collect();
    assert!(targets.len() > 200, "{}", targets.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");

    sb.set_faults(hostile(3));
    let report = execute_run(
        &admin,
        &path,
        &selection,
        &options(8),
        &Cancel::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    sb.set_faults(Faults::default());
    let after = server_state(&sb).await;

    let rows = journaled(&path, &report.run_id);
    let mut ok = 0;
    for id in &targets {
        match (&rows[id], after.contains_key(id)) {
            (RowState::Ok, false) => ok += 1,
            // Refused by the instance itself (say, rule 8), never by a fault.
            (RowState::Failed(why), true) => {
                assert!(
                    !why.contains("injected") && !why.contains("no answer"),
                    "{id}: {why}"
                )
            }
            (state, present) => panic!("{id}: journal {state:?}, still on the server: {present}"),
        }
    }
    assert!(ok + 5 >= targets.len(), "{ok} of {}", targets.len());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("applied; the answer was lost"),
        "no lost answer confirmed"
    );
    // Nothing else went.
    for id in before.keys().filter(|id| !targets.contains(id)) {
        assert!(after.contains_key(id), "{id} was not targeted");
    }
    sb.shutdown().await;
}

fn create_request(user_name: &str) -> SaveRequest {
    SaveRequest {
        account: None,
        body: RequestBody(serde_json::json!({
            "userName": user_name,
            "firstName": "Pat",
            "lastName": "Lost",
            "password": "Lost-Answer-42",
            "owner": "Demo Organization",
            "systemRole": "User",
            "ownerRoles": {"Demo Organization": "Standard User"},
        })),
        groups: None,
        token: None,
    }
}

async fn accounts_named(sb: &Sandbox, user_name: &str) -> usize {
    server_state(sb)
        .await
        .values()
        .filter(|u| u.user_name.eq_ignore_ascii_case(user_name))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_is_looked_up_not_sent_twice() {
    let sb = Sandbox::start(SandboxConfig::loopback(20, KEY))
        .await
        .unwrap();
    let admin = admin(&sb).await;

    // Applied, answer lost: found by its user name, created once.
    sb.set_faults(Faults {
        lost_answer_rate: 1.0,
        ..Default::default()
    });
    let posts = sb.requests().post;
    let saved = account::save(&admin.client, &create_request("lost.answer@example.com"))
        .await
        .expect("created");
    sb.set_faults(Faults::default());
    assert_eq!(sb.requests().post - posts, 1, "sent once");
    assert!(saved.created);
    assert_eq!(saved.user.user_name, "lost.answer@example.com");
    let problem = saved.problem().expect("the lost answer is told");
    assert!(
        problem.starts_with("the answer to the create was lost"),
        "{problem}"
    );
    assert_eq!(accounts_named(&sb, "lost.answer@example.com").await, 1);

    // Mixed faults, one create after another: each ends created exactly
    // once, or not created, or "may have been created" (then at most once);
    // never "already exists", which a blind second send would earn.
    sb.set_faults(Faults {
        error_rate: 0.2,
        drop_rate: 0.2,
        lost_answer_rate: 0.3,
        seed: 9,
        ..Default::default()
    });
    let posts = sb.requests().post;
    let mut outcomes = Vec::new();
    for n in 0..30 {
        let name = format!("mixed.{n}@example.com");
        outcomes.push((
            name.clone(),
            account::save(&admin.client, &create_request(&name)).await,
        ));
    }
    sb.set_faults(Faults::default());
    let sent = sb.requests().post - posts;
    let (mut created, mut found_by_name) = (0, 0);
    for (name, outcome) in &outcomes {
        let on_server = accounts_named(&sb, name).await;
        match outcome {
            Ok(saved) => {
                assert_eq!(on_server, 1, "{name}");
                assert_eq!(&saved.user.user_name, name);
                created += 1;
                found_by_name += usize::from(saved.answer_lost.is_some());
            }
            Err(failure) if failure.step == Step::Create => {
                assert_eq!(on_server, 0, "{name}: {failure}");
                assert!(!failure.to_string().contains("already exists"), "{failure}");
            }
            Err(failure) => {
                assert_eq!(failure.step, Step::ConfirmCreate, "{name}: {failure}");
                assert!(on_server <= 1, "{name}");
            }
        }
    }
    assert!(created >= 25, "{created} of 30 created");
    assert!(found_by_name > 0, "no lost answer was found by name");
    assert!(
        sent > 30,
        "no create was sent again after a look-up found nothing"
    );
    assert!(sent <= 30 * u64::from(account::MAX_CREATE_SENDS));

    // Applied, answer lost, and the look-up fails too: "may have been created".
    sb.set_faults(Faults {
        lost_answer_rate: 1.0,
        read_error_rate: 1.0,
        ..Default::default()
    });
    let posts = sb.requests().post;
    let failure = account::save(&admin.client, &create_request("maybe.created@example.com"))
        .await
        .expect_err("unconfirmed");
    sb.set_faults(Faults::default());
    assert_eq!(failure.step, Step::ConfirmCreate);
    assert!(
        failure
            .to_string()
            .starts_with("the account may have been created"),
        "{failure}"
    );
    assert_eq!(sb.requests().post - posts, 1, "not sent again blindly");
    assert_eq!(accounts_named(&sb, "maybe.created@example.com").await, 1);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_delete_whose_answer_is_lost_is_confirmed_by_reading_back() {
    let sb = Sandbox::start(SandboxConfig::loopback(20, KEY))
        .await
        .unwrap();
    let admin = admin(&sb).await;
    let before = server_state(&sb).await;
    let mut victims = seeded_users(&before)
        .into_iter()
        .filter(|u| u.user_name.ends_with("@example.com"));
    let (gone, unsure) = (victims.next().unwrap().id, victims.next().unwrap().id);

    // Applied, answer lost: the read-back finds it gone, so it is deleted.
    sb.set_faults(Faults {
        lost_answer_rate: 1.0,
        ..Default::default()
    });
    account::delete(&admin.client, gone, Default::default())
        .await
        .expect("deleted, as the read-back shows");
    // Applied, answer lost, and the read-back fails: not called done or not done.
    sb.set_faults(Faults {
        lost_answer_rate: 1.0,
        read_error_rate: 1.0,
        ..Default::default()
    });
    let failure = account::delete(&admin.client, unsure, Default::default())
        .await
        .expect_err("unconfirmed");
    sb.set_faults(Faults::default());
    assert_eq!(failure.step, Step::ConfirmDelete);
    assert!(
        failure
            .to_string()
            .starts_with("the account may have been deleted"),
        "{failure}"
    );
    let after = server_state(&sb).await;
    assert!(!after.contains_key(&gone) && !after.contains_key(&unsure));
    assert_eq!(after.len(), before.len() - 2);
    sb.shutdown().await;
}

//! Offboarding as one workflow (issue 14, item 2), over real HTTP against
//! the embedded sandbox: the preview, the run journaled step by step, the
//! report, --delete only after every earlier step, resume after a run cut
//! short, undo, and what a plain instance cannot do.

use rollcall::api::wire::ext::USER_GROUPS_FIELD;
use rollcall::api::Client;
use rollcall::bulk::Cancel;
use rollcall::commands::offboard::{LinePrompt, UndoArgs};
use rollcall::commands::offboarding::{
    name_an_heir, offboard_with, resume_with, OffboardArgs, ReportArgs, ResumeArgs,
};
use rollcall::commands::undo::undo_with;
use rollcall::domain::offboard::{Step, StepState};
use rollcall::domain::User;
use rollcall::journal::{self as jl, Phase};
use rollcall::ops::offboard::{self, Heirs, OffboardRun};
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{Sandbox, SandboxConfig, SEEDED_ACCESS_IDS};
use std::path::{Path, PathBuf};

const SECRET: &str = "secret";
const HOME: &str = "Demo Organization";

async fn sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).await.expect("sandbox starts")
}

async fn session(sb: &Sandbox) -> Session {
    session_for(sb.connection("administrator"))
        .await
        .expect("session opens")
}

fn admin(sb: &Sandbox) -> Client {
    Client::new(sb.connection("administrator")).unwrap()
}

/// A prompt that answers as a person at a terminal would.
fn answering(answer: &'static str) -> LinePrompt<&'static [u8]> {
    LinePrompt {
        input: answer.as_bytes(),
        interactive: true,
    }
}

async fn read(client: &Client, id: i64) -> Option<User> {
    match client.get_user(id, &[USER_GROUPS_FIELD.to_string()]).await {
        Ok(user) => Some(user),
        Err(e) if e.status() == Some(404) => None,
        Err(e) => panic!("reading {id}: {e}"),
    }
}

/// The seeded accounts of the home Organization, not the actors, with
/// their groups.
async fn home_accounts(client: &Client, role: &str) -> Vec<User> {
    home_accounts_with(client, role, vec![USER_GROUPS_FIELD.to_string()]).await
}

async fn home_accounts_with(client: &Client, role: &str, fields: Vec<String>) -> Vec<User> {
    let query = rollcall::api::UserQuery {
        fields,
        ..Default::default()
    };
    client
        .list_users(&query)
        .await
        .unwrap()
        .into_iter()
        .filter(|u| {
            !SEEDED_ACCESS_IDS.contains(&u.user_name.as_str())
                && u.owner.as_deref() == Some(HOME)
                && u.system_role.as_deref() == Some(role)
                && u.disabled == Some(false)
        })
        .collect()
}

/// A home User in at least one group that nothing runs as, other than `not`.
async fn grouped_idle_user(client: &Client, not: &[i64]) -> User {
    for user in home_accounts(client, "User").await {
        let run_as = client.run_as(user.id).await.unwrap();
        if !not.contains(&user.id)
            && user.user_groups.as_ref().is_some_and(|g| !g.is_empty())
            && run_as.active_playbooks.is_empty()
            && run_as.inactive_playbooks.is_empty()
            && run_as.job_apps.is_empty()
        {
            return user;
        }
    }
    panic!("no grouped idle user seeded");
}

/// The home account of `role` that runs something (active playbooks or
/// job apps).
async fn running_as(client: &Client, role: &str) -> User {
    for user in home_accounts(client, role).await {
        let run_as = client.run_as(user.id).await.unwrap();
        if !run_as.active_playbooks.is_empty() || !run_as.job_apps.is_empty() {
            return user;
        }
    }
    panic!("no {role} runs anything");
}

fn accounts_file(dir: &Path, accounts: &[&User]) -> PathBuf {
    let path = dir.join("leavers.txt");
    // As Notepad or a spreadsheet saves it: a BOM before the first
    // account, CRLF line ends, a comment and a blank line after it.
    let mut text = String::from("\u{feff}");
    for (i, user) in accounts.iter().enumerate() {
        // By user name and by id, both accepted.
        if i % 2 == 0 {
            text.push_str(&format!("{}\r\n", user.user_name));
        } else {
            text.push_str(&format!("{}\r\n", user.id));
        }
        if i == 0 {
            text.push_str("# leavers\r\n\r\n");
        }
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn args(file: &Path, journal: &Path, dir: &Path) -> OffboardArgs {
    OffboardArgs {
        accounts: Some(file.to_path_buf()),
        journal: Some(journal.to_path_buf()),
        yes: true,
        output: ReportArgs {
            report: Some(dir.join("report.md")),
            csv: Some(dir.join("report.csv")),
        },
        ..Default::default()
    }
}

async fn offboard_text(session: &Session, args: &OffboardArgs) -> (anyhow::Result<()>, String) {
    let mut out = Vec::new();
    let result = offboard_with(session, args, &mut out, &mut answering("")).await;
    (result, String::from_utf8(out).unwrap())
}

fn run_id_in(text: &str) -> String {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("Run ")
                .and_then(|r| r.split_whitespace().next())
        })
        .expect("a run line")
        .trim_end_matches(':')
        .to_string()
}

fn entries(journal: &Path, run_id: &str) -> Vec<jl::Entry> {
    jl::read(journal)
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.run_id == run_id)
        .collect()
}

#[tokio::test]
async fn a_full_run_moves_removes_disables_and_journals_each_step_in_order() {
    let sb = sandbox(SandboxConfig::loopback(60, SECRET)).await;
    let session = session(&sb).await;
    let client = admin(&sb);
    let runner = running_as(&client, "User").await;
    let jobs = running_as(&client, "Api User").await;
    let idle = grouped_idle_user(&client, &[runner.id]).await;
    let heir = grouped_idle_user(&client, &[runner.id, idle.id]).await;
    let api_heir = home_accounts(&client, "Api User")
        .await
        .into_iter()
        .find(|u| u.id != jobs.id)
        .expect("a second API user");
    let runner_before = client.run_as(runner.id).await.unwrap();
    let jobs_before = client.run_as(jobs.id).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let file = accounts_file(dir.path(), &[&runner, &jobs, &idle]);
    let mut args = args(&file, &journal, dir.path());
    args.playbooks_to = Some(heir.user_name.clone());
    args.jobs_to = Some(api_heir.id.to_string());

    // The preview first: every step of every account, sending nothing.
    args.dry_run = true;
    let (result, preview) = offboard_text(&session, &args).await;
    result.unwrap();
    assert!(preview.starts_with("Offboard 3 accounts:"), "{preview}");
    assert!(preview.contains("Dry run: nothing sent."), "{preview}");
    assert!(
        preview.contains(&format!(
            "  Run As      to do: move {} active playbooks",
            runner_before.active_playbooks.len()
        )),
        "{preview}"
    );
    assert!(
        preview.contains(&format!(
            "  API tokens  not possible: {}",
            rollcall::domain::offboard::NO_TOKEN_REVOCATION
        )),
        "{preview}"
    );
    assert!(
        preview.contains("  Delete      kept: deleting was not asked for"),
        "{preview}"
    );
    assert!(!journal.exists() || jl::read(&journal).unwrap().entries.is_empty());

    args.dry_run = false;
    let (result, text) = offboard_text(&session, &args).await;
    result.unwrap_or_else(|e| panic!("{e:#}\n{text}"));
    let run_id = run_id_in(&text);

    // The server: what ran as them moved, out of every group, disabled, kept.
    let moved = client.run_as(runner.id).await.unwrap();
    assert!(moved.active_playbooks.is_empty(), "{moved:?}");
    assert_eq!(
        moved.inactive_playbooks, runner_before.inactive_playbooks,
        "inactive playbooks stay until a delete"
    );
    let heir_now = client.run_as(heir.id).await.unwrap();
    for item in &runner_before.active_playbooks {
        assert!(heir_now.active_playbooks.contains(item), "{item:?} moved");
    }
    assert!(client.run_as(jobs.id).await.unwrap().job_apps.is_empty());
    let api_heir_now = client.run_as(api_heir.id).await.unwrap();
    for item in &jobs_before.job_apps {
        assert!(api_heir_now.job_apps.contains(item));
    }
    for user in [&runner, &jobs, &idle] {
        let now = read(&client, user.id).await.expect("kept without --delete");
        assert_eq!(now.disabled, Some(true), "{}", user.user_name);
        assert_eq!(now.user_groups, Some(vec![]), "{}", user.user_name);
    }

    // The journal: step by step, in checklist order, intent before outcome.
    let lines = entries(&journal, &run_id);
    let idle_steps: Vec<(String, Phase)> = lines
        .iter()
        .filter(|e| e.account_id == idle.id)
        .map(|e| (e.action.clone(), e.phase))
        .collect();
    assert_eq!(
        idle_steps,
        [
            ("remove-groups".to_string(), Phase::Intent),
            ("remove-groups".to_string(), Phase::Outcome),
            ("disable".to_string(), Phase::Intent),
            ("disable".to_string(), Phase::Outcome),
        ]
    );
    let runner_actions: Vec<&str> = lines
        .iter()
        .filter(|e| e.account_id == runner.id && e.phase == Phase::Outcome)
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(runner_actions, ["move-run-as", "remove-groups", "disable"]);
    assert!(lines
        .iter()
        .filter(|e| e.phase == Phase::Outcome)
        .all(|e| e.ok == Some(true)));
    // What the undo needs: the groups it was in.
    let groups_before = lines
        .iter()
        .find(|e| e.account_id == idle.id && e.action == "remove-groups")
        .unwrap()
        .before
        .clone();
    let ids: Vec<i64> = idle
        .user_groups
        .as_ref()
        .unwrap()
        .iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(groups_before["groupIds"], serde_json::json!(ids));

    // The report: a row per account, a column per step.
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("| Account | ID | Run As | Groups | API tokens | Disable | Delete |"));
    assert!(
        md.contains(&format!(
            "| {} | {} | done | done | nothing to do | done | kept |",
            runner.user_name, runner.id
        )),
        "{md}"
    );
    let jobs_groups = match jobs.user_groups.as_deref() {
        Some([]) => "nothing to do",
        _ => "done",
    };
    assert!(
        md.contains(&format!(
            "| {} | {} | done | {jobs_groups} | not possible | done | kept |",
            jobs.user_name, jobs.id
        )),
        "{md}"
    );
    let csv = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .starts_with("account_id,account_name,run_as,run_as_detail,groups,"));
    assert!(
        text.contains(&format!("Run {run_id}: 3 accounts: 3 with every step done")),
        "{text}"
    );

    // The same leavers again: nothing left to send.
    let (result, again) = offboard_text(&session, &args).await;
    result.unwrap();
    assert!(again.contains("Nothing to do."), "{again}");
}

#[tokio::test]
async fn delete_comes_last_only_when_asked_and_only_after_every_step() {
    let sb = sandbox(SandboxConfig::loopback(60, SECRET)).await;
    let session = session(&sb).await;
    let client = admin(&sb);
    let runner = running_as(&client, "User").await;
    let idle = grouped_idle_user(&client, &[runner.id]).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let file = accounts_file(dir.path(), &[&runner, &idle]);
    let mut args = args(&file, &journal, dir.path());
    args.delete = true;

    // A typed count, not a reflexive y.
    args.yes = false;
    let mut out = Vec::new();
    offboard_with(&session, &args, &mut out, &mut answering("y\n"))
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("Offboard 2 accounts and delete 1 of them for good (this cannot be undone)? Type 1 to confirm:"),
        "{text}"
    );
    assert!(text.contains("Nothing sent."), "{text}");
    assert!(read(&client, idle.id).await.is_some());

    // No heir for the runner's playbooks: its delete is blocked (rule 8),
    // the rest of its checklist still runs; the idle account is deleted.
    let mut out = Vec::new();
    let result = offboard_with(&session, &args, &mut out, &mut answering("1\n")).await;
    let text = String::from_utf8(out).unwrap();
    let error = format!(
        "{:#}",
        result.expect_err("one account is not fully offboarded")
    );
    assert!(error.contains("1 account not fully offboarded"), "{error}");
    assert!(read(&client, idle.id).await.is_none(), "deleted\n{text}");
    let kept = read(&client, runner.id).await.expect("not deleted");
    assert_eq!(kept.disabled, Some(true));
    let run_id = run_id_in(&text);
    let lines = entries(&journal, &run_id);
    let idle_actions: Vec<&str> = lines
        .iter()
        .filter(|e| e.account_id == idle.id && e.phase == Phase::Outcome)
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(idle_actions, ["remove-groups", "disable", "delete"]);
    assert!(!lines
        .iter()
        .any(|e| e.account_id == runner.id && e.action == "delete"));
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        md.contains(&format!(
            "| {} | {} | blocked | done | nothing to do | done | blocked |",
            runner.user_name, runner.id
        )),
        "{md}"
    );
    assert!(
        md.contains("choose another account with --playbooks-to ACCOUNT"),
        "{md}"
    );
}

#[tokio::test]
async fn resume_finishes_what_a_stopped_run_left_and_reads_back_what_it_lost() {
    let sb = sandbox(SandboxConfig::loopback(60, SECRET)).await;
    let session = session(&sb).await;
    let client = admin(&sb);
    let mut leavers = Vec::new();
    for _ in 0..3 {
        let not: Vec<i64> = leavers.iter().map(|u: &User| u.id).collect();
        leavers.push(grouped_idle_user(&client, &not).await);
    }
    let ids: Vec<i64> = leavers.iter().map(|u| u.id).collect();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");

    // Stopped once the first step has ended (as Ctrl-C does): requests in
    // flight finish, nothing new starts. One account at a time.
    let plan = offboard::plan(&session, &ids, Heirs::default(), false, name_an_heir, 1).await;
    let run = OffboardRun::new(&session, plan, 1);
    let run_id = run.meta.run_id.clone();
    let opened = offboard::begin(&session.client, Some(&journal), &run).unwrap();
    let cancel = Cancel::default();
    let stopper = cancel.clone();
    let mut stop_at_first = move |event: &offboard::StepEvent| {
        if matches!(event.state, StepState::Done(_)) {
            stopper.cancel();
        }
    };
    let lists = offboard::execute(&session.client, opened, &run, &cancel, &mut stop_at_first).await;
    assert!(offboard::unfinished(&lists) >= 2, "{lists:?}");
    assert_eq!(lists[0].state(Step::Groups).unwrap().word(), "done");
    assert_eq!(lists[2].state(Step::Groups), Some(&StepState::NotRun));
    assert_eq!(read(&client, ids[2]).await.unwrap().disabled, Some(false));

    // Cut the journal short as a crash would: the first account's groups
    // outcome is lost although the server applied it.
    let text = std::fs::read_to_string(&journal).unwrap();
    let first = format!("\"accountId\":{},", ids[0]);
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            !(l.contains("\"phase\":\"outcome\"")
                && l.contains("remove-groups")
                && l.contains(&first))
        })
        .collect();
    assert_eq!(kept.len() + 1, text.lines().count(), "one outcome cut");
    std::fs::write(&journal, kept.join("\n") + "\n").unwrap();
    let before_resume = entries(&journal, &run_id).len();

    let resume_args = ResumeArgs {
        run_id: run_id.clone(),
        journal: Some(journal.clone()),
        yes: true,
        output: ReportArgs {
            report: Some(dir.path().join("resumed.md")),
            csv: None,
        },
        ..Default::default()
    };
    let mut out = Vec::new();
    let result = resume_with(&session, &resume_args, &mut out, &mut answering("")).await;
    let text = String::from_utf8(out).unwrap();
    result.unwrap_or_else(|e| panic!("{e:#}\n{text}"));
    for id in &ids {
        let now = read(&client, *id).await.unwrap();
        assert_eq!(now.disabled, Some(true));
        assert_eq!(now.user_groups, Some(vec![]));
    }
    // The lost outcome was read back from the server, not sent again.
    let after: Vec<jl::Entry> = entries(&journal, &run_id)
        .into_iter()
        .skip(before_resume)
        .collect();
    assert!(
        !after
            .iter()
            .any(|e| e.account_id == ids[0] && e.action == "remove-groups"),
        "{after:?}"
    );
    let all = entries(&journal, &run_id);
    for id in &ids {
        assert!(all
            .iter()
            .any(|e| e.account_id == *id && e.action == "disable" && e.ok == Some(true)));
    }
    assert!(after
        .iter()
        .any(|e| e.account_id == ids[2] && e.action == "remove-groups" && e.ok == Some(true)));
    let md = std::fs::read_to_string(dir.path().join("resumed.md")).unwrap();
    assert!(
        md.contains(&format!(
            "| {} | {} | nothing to do | nothing to do | nothing to do | done | kept |",
            leavers[0].user_name, ids[0]
        )),
        "{md}"
    );

    // Resuming a finished run sends nothing.
    let mut out = Vec::new();
    resume_with(&session, &resume_args, &mut out, &mut answering(""))
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("3 of 3 accounts already finished."), "{text}");
    assert!(text.contains("Nothing to do."), "{text}");
}

#[tokio::test]
async fn undo_puts_back_groups_and_enables_and_lists_what_it_cannot() {
    let sb = sandbox(SandboxConfig::loopback(60, SECRET)).await;
    let session = session(&sb).await;
    let client = admin(&sb);
    let runner = running_as(&client, "User").await;
    let idle = grouped_idle_user(&client, &[runner.id]).await;
    let gone = grouped_idle_user(&client, &[runner.id, idle.id]).await;
    let heir = grouped_idle_user(&client, &[runner.id, idle.id, gone.id]).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");

    let file = accounts_file(dir.path(), &[&runner, &idle]);
    let mut args = args(&file, &journal, dir.path());
    args.playbooks_to = Some(heir.user_name.clone());
    let (result, text) = offboard_text(&session, &args).await;
    result.unwrap_or_else(|e| panic!("{e:#}\n{text}"));
    let kept_run = run_id_in(&text);

    let file = accounts_file(dir.path(), &[&gone]);
    let mut args = self::args(&file, &journal, dir.path());
    args.delete = true;
    let (result, text) = offboard_text(&session, &args).await;
    result.unwrap_or_else(|e| panic!("{e:#}\n{text}"));
    let deleted_run = run_id_in(&text);
    assert!(read(&client, gone.id).await.is_none());

    let undo = |run_id: &str| UndoArgs {
        run_id: run_id.to_string(),
        journal: Some(journal.clone()),
        yes: false,
        dry_run: false,
        concurrency: None,
    };
    let mut out = Vec::new();
    undo_with(&session, &undo(&kept_run), &mut out, &mut answering("y\n"))
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("Will put back in their groups (2):"),
        "{text}"
    );
    assert!(text.contains("Will enable (2):"), "{text}");
    assert!(text.contains("Cannot be undone (1):"), "{text}");
    assert!(
        text.contains(&format!(
            "{} ({}): Run As done: what was moved is not moved back",
            runner.user_name, runner.id
        )),
        "{text}"
    );
    for user in [&runner, &idle] {
        let now = read(&client, user.id).await.unwrap();
        assert_eq!(now.disabled, Some(false));
        let mut wanted: Vec<i64> = user
            .user_groups
            .as_ref()
            .unwrap()
            .iter()
            .map(|g| g.id)
            .collect();
        let mut got: Vec<i64> = now.user_groups.unwrap().iter().map(|g| g.id).collect();
        wanted.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, wanted, "{}", user.user_name);
    }

    let mut out = Vec::new();
    let result = undo_with(
        &session,
        &undo(&deleted_run),
        &mut out,
        &mut answering("y\n"),
    )
    .await;
    let text = String::from_utf8(out).unwrap();
    result.unwrap();
    assert!(
        text.contains(&format!(
            "{} ({}): Delete done: a deleted account is gone",
            gone.user_name, gone.id
        )),
        "{text}"
    );
    assert!(text.contains("Nothing to do."), "{text}");
    // Listed once: as deleted, not again as gone.
    assert!(!text.contains("No longer on the server"), "{text}");
}

#[tokio::test]
async fn a_plain_instance_shows_what_is_not_possible_and_why() {
    let sb = sandbox(SandboxConfig::loopback(30, SECRET).plain()).await;
    let session = session(&sb).await;
    let client = admin(&sb);
    let api = home_accounts_with(&client, "Api User", vec![])
        .await
        .remove(0);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let file = accounts_file(dir.path(), &[&api]);
    let mut args = args(&file, &journal, dir.path());
    args.dry_run = true;
    let (result, text) = offboard_text(&session, &args).await;
    result.unwrap();
    assert!(
        text.contains(
            "  Run As      not possible: this instance does not say what runs as an account"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "  Groups      not possible: this instance offers no way to change group membership"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "  API tokens  not possible: this instance offers no way to revoke an API token"
        ),
        "{text}"
    );
    assert!(
        text.contains("  Disable     to do: disable the account"),
        "{text}"
    );

    args.dry_run = false;
    let (result, text) = offboard_text(&session, &args).await;
    result.unwrap_or_else(|e| panic!("{e:#}\n{text}"));
    assert_eq!(
        client.get_user(api.id, &[]).await.unwrap().disabled,
        Some(true)
    );
}

#[tokio::test]
async fn bad_input_is_one_clear_line_and_nothing_is_sent() {
    let sb = sandbox(SandboxConfig::loopback(30, SECRET)).await;
    let session = session(&sb).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let file = dir.path().join("leavers.txt");
    std::fs::write(&file, "# who\nnobody-such@example.com\n").unwrap();
    let (result, _) = offboard_text(&session, &args(&file, &journal, dir.path())).await;
    let error = format!("{:#}", result.unwrap_err());
    assert!(
        error.contains("leavers.txt line 2: no account named nobody-such@example.com"),
        "{error}"
    );
    assert!(!journal.exists());
}

/// The console's worker is a thin driver of the same workflow: its plan and
/// its run, over real HTTP, journaled like the command line's.
#[tokio::test]
async fn the_console_worker_plans_and_runs_the_same_checklist() {
    use rollcall::worker::{Command, Event, OffboardAsk, OffboardJob, Worker};
    use std::time::Duration;
    let sb = sandbox(SandboxConfig::loopback(60, SECRET)).await;
    let session = session(&sb).await;
    let client = admin(&sb);
    let idle = grouped_idle_user(&client, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let (worker, mut events) = Worker::spawn(session.client.clone());
    async fn next(events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Event {
        tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("an event within 20 s")
            .expect("the worker is running")
    }
    worker.send(Command::PlanOffboard {
        id: 1,
        ask: Box::new(OffboardAsk {
            ids: vec![idle.id],
            playbooks_to: None,
            jobs_to: None,
            delete: false,
            actor: session.actor.clone(),
            settings: session.settings.clone(),
            capabilities: session.capabilities.clone(),
            concurrency: 2,
        }),
    });
    let Event::OffboardPlanned { id: 1, plan } = next(&mut events).await else {
        panic!("the plan first");
    };
    let plan = plan.unwrap();
    assert_eq!(plan.to_send(), 2, "{plan:?}");
    let run = OffboardRun::new(&session, *plan, 2);
    let run_id = run.meta.run_id.clone();
    worker.send(Command::RunOffboard {
        id: 2,
        job: Box::new(OffboardJob {
            run,
            journal: Some(journal.clone()),
            cancel: Cancel::default(),
        }),
    });
    let mut steps = 0;
    let lists = loop {
        match next(&mut events).await {
            Event::OffboardStep { id: 2, .. } => steps += 1,
            Event::OffboardDone { id: 2, lists } => break lists.unwrap(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(steps, 5, "every step of the one account");
    assert_eq!(lists[0].state(Step::Disable).unwrap().word(), "done");
    let now = read(&client, idle.id).await.unwrap();
    assert_eq!(now.disabled, Some(true));
    assert_eq!(now.user_groups, Some(vec![]));
    let actions: Vec<String> = entries(&journal, &run_id)
        .iter()
        .filter(|e| e.phase == Phase::Outcome)
        .map(|e| e.action.clone())
        .collect();
    assert_eq!(actions, ["remove-groups", "disable"]);
    worker.send(Command::Shutdown);
}

/// Ctrl-C during `rollcall offboard` (the real binary): the steps in flight
/// finish and are journaled, nothing new starts, the exit is 130 and names
/// `rollcall resume`; resuming then finishes every account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_an_offboarding_run_and_resume_finishes_it() {
    use rollcall::sandbox::Faults;
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::time::Duration;
    let sb = sandbox(SandboxConfig::loopback(60, SECRET)).await;
    let session = session(&sb).await;
    let client = admin(&sb);
    let mut leavers: Vec<User> = Vec::new();
    for _ in 0..8 {
        let not: Vec<i64> = leavers.iter().map(|u| u.id).collect();
        leavers.push(grouped_idle_user(&client, &not).await);
    }
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let refs: Vec<&User> = leavers.iter().collect();
    let file = accounts_file(dir.path(), &refs);
    sb.set_faults(Faults {
        latency: Duration::from_millis(80),
        ..Default::default()
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["offboard", "--yes", "--concurrency", "1", "--accounts"])
        .arg(&file)
        .arg("--journal")
        .arg(&journal)
        .env("TC_API_PATH", sb.base_url())
        .env("TC_API_ACCESS_ID", "administrator")
        .env("TC_API_SECRET_KEY", SECRET)
        .env_remove("TC_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("ROLLCALL_LOG")
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let pid = child.id() as libc::pid_t;
    // Signal once the first step has ended (a step line names a step).
    let reader = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            let stepped = line.contains(" Groups: done");
            seen.push(line);
            if stepped {
                break;
            }
        }
        // SAFETY: kill(2) on our own child, not yet reaped (the wait
        // comes after this task), so the pid is still its.
        let sent = unsafe { libc::kill(pid, libc::SIGINT) };
        seen.extend(lines.map_while(Result::ok));
        (sent, seen)
    });
    let (sent, seen) = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("the run ends within a minute")
        .unwrap();
    assert_eq!(sent, 0);
    let output = child.wait_with_output().expect("the binary ends");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let shown = format!("stdout:\n{}\nstderr:\n{stderr}", seen.join("\n"));
    sb.set_faults(Faults::default());
    assert_eq!(output.status.code(), Some(130), "{shown}");
    assert!(stderr.contains("rollcall resume"), "{shown}");
    assert!(!stderr.contains("panicked"), "{shown}");
    let run_id = run_id_in(&seen.join("\n"));
    // Cut short: some account is not yet disabled.
    let mut left = 0;
    for user in &leavers {
        if read(&client, user.id).await.unwrap().disabled != Some(true) {
            left += 1;
        }
    }
    assert!(left > 0, "the run was stopped before its end: {shown}");
    // Nothing in flight was left without an outcome.
    let lines = entries(&journal, &run_id);
    let intents = lines.iter().filter(|e| e.phase == Phase::Intent).count();
    let outcomes = lines.iter().filter(|e| e.phase == Phase::Outcome).count();
    assert_eq!(intents, outcomes, "{shown}");

    let resume_args = ResumeArgs {
        run_id: run_id.clone(),
        journal: Some(journal.clone()),
        yes: true,
        output: ReportArgs {
            report: Some(dir.path().join("report.md")),
            csv: Some(dir.path().join("report.csv")),
        },
        ..Default::default()
    };
    let mut out = Vec::new();
    let result = resume_with(&session, &resume_args, &mut out, &mut answering("")).await;
    let text = String::from_utf8(out).unwrap();
    result.unwrap_or_else(|e| panic!("{e:#}\n{text}"));
    for user in &leavers {
        let now = read(&client, user.id).await.unwrap();
        assert_eq!(now.disabled, Some(true), "{}", user.user_name);
        assert_eq!(now.user_groups, Some(vec![]), "{}", user.user_name);
    }
    let csv = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + leavers.len(), "{csv}");
    assert!(!csv.contains("not run"), "{csv}");
}

/// Home Users in a group that nothing runs as, at most `n`.
async fn grouped_idle_users(client: &Client, n: usize) -> Vec<User> {
    let mut found = Vec::new();
    for user in home_accounts(client, "User").await {
        if found.len() == n {
            break;
        }
        let run_as = client.run_as(user.id).await.unwrap();
        if user.user_groups.as_ref().is_some_and(|g| !g.is_empty())
            && run_as.active_playbooks.is_empty()
            && run_as.job_apps.is_empty()
        {
            found.push(user);
        }
    }
    found
}

/// Under 500s, dropped connections, answers lost after the change was
/// applied and a rate limit, every step ends done, failed or unknown, and
/// no step is done in the journal that the server does not show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_no_step_is_done_in_the_journal_that_is_not_so() {
    use rollcall::sandbox::Faults;
    let sb = sandbox(SandboxConfig::loopback(120, SECRET)).await;
    let session = session(&sb).await;
    let client = admin(&sb);
    let leavers = grouped_idle_users(&client, 20).await;
    assert!(leavers.len() >= 10, "only {} seeded", leavers.len());
    let ids: Vec<i64> = leavers.iter().map(|u| u.id).collect();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let plan = offboard::plan(&session, &ids, Heirs::default(), true, name_an_heir, 4).await;
    assert_eq!(plan.accounts.len(), ids.len());
    let run = OffboardRun::new(&session, plan, 4);
    let run_id = run.meta.run_id.clone();
    let opened = offboard::begin(&session.client, Some(&journal), &run).unwrap();
    sb.set_faults(Faults {
        error_rate: 0.10,
        drop_rate: 0.05,
        lost_answer_rate: 0.05,
        rate_limit_per_second: 300,
        seed: 14,
        ..Default::default()
    });
    let lists = offboard::execute(
        &session.client,
        opened,
        &run,
        &Cancel::default(),
        &mut |_| {},
    )
    .await;
    sb.set_faults(Faults::default());
    let contents = jl::read(&journal).unwrap();
    let results = jl::action_results(&contents.entries, &run_id);
    // The faults were met: some write's answer was lost or refused, and
    // read back or sent again.
    let intents = contents
        .entries
        .iter()
        .filter(|e| e.run_id == run_id && e.phase == Phase::Intent)
        .count();
    let met = contents.entries.iter().any(|e| {
        e.run_id == run_id
            && e.message
                .as_deref()
                .is_some_and(|m| m.contains("the answer was lost") || m.contains("sending again"))
    });
    assert!(
        met || intents > results.len(),
        "no fault was met: {results:?}"
    );
    for list in &lists {
        for (step, state) in &list.steps {
            assert!(
                !matches!(state, StepState::Do(_) | StepState::NotRun),
                "{} {step:?} left {state:?}",
                list.user_name
            );
        }
        let now = read(&client, list.id).await;
        let journaled = |step: Step| {
            results
                .iter()
                .find(|r| r.account_id == list.id && r.action == step.action())
                .map(|r| r.outcome)
        };
        let ok = Some(jl::ResultOutcome::Ok);
        if journaled(Step::Delete) == ok {
            assert!(
                now.is_none(),
                "{} deleted in the journal only",
                list.user_name
            );
            continue;
        }
        // Held or failed deletes: the account is still there.
        let Some(now) = now else {
            assert_eq!(
                journaled(Step::Delete),
                Some(jl::ResultOutcome::Unknown),
                "{} gone without a journaled delete",
                list.user_name
            );
            continue;
        };
        if journaled(Step::Groups) == ok {
            assert_eq!(now.user_groups, Some(vec![]), "{}", list.user_name);
        }
        if journaled(Step::Disable) == ok {
            assert_eq!(now.disabled, Some(true), "{}", list.user_name);
        }
        // And the other way: a change on the server is journaled ok or unknown.
        if now.disabled == Some(true) {
            assert!(
                matches!(
                    journaled(Step::Disable),
                    Some(jl::ResultOutcome::Ok | jl::ResultOutcome::Unknown)
                ),
                "{} disabled but journaled {:?}",
                list.user_name,
                journaled(Step::Disable)
            );
        }
        // A delete went only after every earlier step succeeded.
        assert_ne!(
            list.state(Step::Delete).map(StepState::word),
            Some("done"),
            "{} still there though its delete is done",
            list.user_name
        );
    }
}

/// The sandbox's `moveRunAs` extension checks rule 8 as a delete does, and
/// a plain instance has no such endpoint.
#[tokio::test]
async fn the_sandbox_moves_run_as_only_to_a_qualified_heir() {
    use rollcall::api::wire::RunAsMove;
    let sb = sandbox(SandboxConfig::loopback(60, SECRET)).await;
    let client = admin(&sb);
    let jobs = running_as(&client, "Api User").await;
    let user = grouped_idle_user(&client, &[]).await;
    let refused = client
        .move_run_as(
            jobs.id,
            RunAsMove {
                jobs_to: Some(user.id),
                playbooks_to: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(400));
    assert!(
        refused
            .to_string()
            .contains("job apps must run as an API user"),
        "{refused}"
    );
    let itself = client
        .move_run_as(
            jobs.id,
            RunAsMove {
                jobs_to: Some(jobs.id),
                playbooks_to: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(itself.status(), Some(400));
    assert!(
        itself
            .to_string()
            .contains("job apps cannot move to the account they run as"),
        "{itself}"
    );
    assert!(
        !client.run_as(jobs.id).await.unwrap().job_apps.is_empty(),
        "nothing moved"
    );
    let plain = sandbox(SandboxConfig::loopback(20, SECRET).plain()).await;
    let missing = admin(&plain)
        .move_run_as(
            1,
            RunAsMove {
                jobs_to: Some(2),
                playbooks_to: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(missing.status(), Some(404));
}

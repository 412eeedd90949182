//! Console bulk offboarding end to end over real HTTP: the App driven by
//! keys, the Worker running `bulk::execute` against the sandbox, the
//! journal on disk, and the server's state checked afterwards.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rollcall::api::Client;
use rollcall::bulk::{RowOutcome, RowResult};
use rollcall::journal::{self, Phase};
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{Faults, Sandbox, SandboxConfig};
use rollcall::tui::{Action, App, ConsoleContext, LoadState, Mode};
use rollcall::worker::{Command, Event, Worker};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

const KEY: &str = "secret";

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

async fn next_event(events: &mut UnboundedReceiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("an event within 30 s")
        .expect("the worker is running")
}

/// The console's loop without a terminal: keys in, commands to the worker.
struct Console {
    app: App,
    worker: Worker,
    events: UnboundedReceiver<Event>,
}

impl Console {
    async fn start(app: App, client: Client) -> Console {
        let (worker, events) = Worker::spawn(client);
        let mut console = Console {
            app,
            worker,
            events,
        };
        let commands = console.app.start();
        console.send(commands);
        while matches!(console.app.load_state(), LoadState::Loading { .. }) {
            let event = next_event(&mut console.events).await;
            console.app.update(Action::Worker(event));
        }
        assert_eq!(console.app.load_state(), &LoadState::Done);
        console
    }

    fn send(&self, commands: Vec<Command>) {
        for command in commands {
            assert!(self.worker.send(command));
        }
    }

    fn press(&mut self, code: KeyCode) {
        let commands = self.app.handle_key(key(code));
        self.send(commands);
    }

    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    fn filter(&mut self, text: &str) {
        self.press(KeyCode::Esc);
        self.keys("/");
        self.keys(text);
        self.press(KeyCode::Enter);
    }

    /// Feeds worker events until the bulk run is over.
    async fn finish_run(&mut self) {
        while self.app.bulk_running() {
            let event = next_event(&mut self.events).await;
            self.app.update(Action::Worker(event));
        }
        assert_eq!(
            self.app.mode(),
            Mode::BulkResults,
            "{:?}",
            self.app.status()
        );
    }

    fn results(&self) -> Vec<RowResult> {
        self.app
            .bulk_results()
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    fn marked_loaded(&self) -> usize {
        self.app.marked().len()
    }
}

/// The journal's last outcome per account of one run, and the accounts
/// with an intent.
fn journal_run(path: &Path, run_id: &str) -> (BTreeSet<i64>, BTreeMap<i64, bool>) {
    let contents = journal::read(path).expect("the journal reads");
    assert!(contents.bad_lines.is_empty());
    let mut intents = BTreeSet::new();
    let mut outcomes = BTreeMap::new();
    for entry in contents.entries.iter().filter(|e| e.run_id == run_id) {
        match entry.phase {
            Phase::Intent => {
                intents.insert(entry.account_id);
            }
            Phase::Outcome => {
                outcomes.insert(entry.account_id, entry.ok == Some(true));
            }
        }
    }
    (intents, outcomes)
}

fn run_ids(path: &Path) -> Vec<String> {
    let contents = journal::read(path).expect("the journal reads");
    let mut ids: Vec<String> = Vec::new();
    for entry in contents.entries {
        if !ids.contains(&entry.run_id) {
            ids.push(entry.run_id);
        }
    }
    ids
}

/// A console on `sandbox` as `role`, journaling into a fresh directory
/// (kept alive by the returned guard): the console, its session, the journal.
async fn console_as(
    sandbox: &Sandbox,
    role: &str,
) -> (Console, Session, std::path::PathBuf, tempfile::TempDir) {
    let session = session_for(sandbox.connection(role)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.jsonl");
    let app =
        App::new(ConsoleContext::from_session(&session)).with_journal(Some(journal_path.clone()));
    let console = Console::start(app, session.client.clone()).await;
    (console, session, journal_path, dir)
}

async fn disabled_on_server(client: &Client, id: i64) -> Option<bool> {
    client.get_user(id, &[]).await.ok().and_then(|u| u.disabled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_disable_retry_and_cancel_against_the_sandbox() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(300, KEY))
        .await
        .unwrap();
    let session = session_for(sandbox.connection("accounts-administrator"))
        .await
        .unwrap();
    let own_id = session.actor.id;
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.jsonl");
    let app = App::new(ConsoleContext::from_session(&session))
        .with_journal(Some(journal_path.clone()))
        .with_concurrency(4);
    let client = session.client.clone();
    let mut console = Console::start(app, client.clone()).await;

    // 1. The seeded admin accounts ("Sandbox ..."), our own among them.
    console.filter("sandbox");
    console.keys("*");
    let marked = console.marked_loaded();
    assert!(marked >= 4, "only {marked} sandbox accounts");
    let own = own_id.expect("the actor's id");
    assert!(console.app.marked().contains(&own));
    console.press(KeyCode::Esc);
    console.keys("d");
    assert_eq!(console.app.mode(), Mode::BulkConfirm);
    let preflight = console.app.preflight().cloned().expect("a preflight");
    assert!(
        preflight
            .not_allowed
            .iter()
            .any(|(id, why)| *id == own && why.contains("your own account")),
        "{preflight:?}"
    );
    assert!(!preflight.will_change.is_empty(), "{preflight:?}");
    console.keys("y");
    console.finish_run().await;
    let results = console.results();
    let sent: BTreeSet<i64> = results.iter().map(|r| r.id).collect();
    assert_eq!(
        sent,
        preflight.will_change.iter().copied().collect(),
        "only the accounts that will change are sent"
    );
    let runs = run_ids(&journal_path);
    assert_eq!(runs.len(), 1);
    let (intents, outcomes) = journal_run(&journal_path, &runs[0]);
    assert_eq!(intents, sent);
    for result in &results {
        let ok = result.outcome == RowOutcome::Ok;
        assert_eq!(outcomes.get(&result.id), Some(&ok), "{result:?}");
        let on_server = disabled_on_server(&client, result.id).await;
        assert_eq!(on_server, Some(ok), "{result:?}");
        // Refused ones keep their state on the server.
    }
    for (id, _) in &preflight.not_allowed {
        assert_ne!(disabled_on_server(&client, *id).await, Some(true));
    }
    console.press(KeyCode::Esc);

    // 2. Every request is refused (HTTP 429); r retries them once the server heals.
    console.keys("c");
    // This actor sees no System roles: status and login narrow instead.
    console.filter("status:ok login<365d");
    // By account name, as the run's first rows were chosen before the
    // default sort became Name (which puts the Administrator on top).
    console.keys(":sort account");
    console.press(KeyCode::Enter);
    console.press(KeyCode::Char('g'));
    console.keys("   ");
    sandbox.set_faults(Faults {
        rate_limit_rate: 1.0,
        ..Default::default()
    });
    console.keys("d");
    let will_change = console.app.preflight().map_or(0, |p| p.will_change.len());
    assert!(will_change >= 2, "{:?}", console.app.preflight());
    console.keys("y");
    console.finish_run().await;
    let failed = console.results();
    assert_eq!(failed.len(), will_change);
    assert!(
        failed
            .iter()
            .all(|r| matches!(&r.outcome, RowOutcome::Failed(m) if !m.is_empty())),
        "{failed:?}"
    );
    sandbox.set_faults(Faults::default());
    console.keys("r");
    assert_eq!(console.app.mode(), Mode::BulkConfirm);
    assert_eq!(
        console.app.preflight().map(|p| p.will_change.len()),
        Some(will_change),
        "retry preflights the failed ones again"
    );
    console.keys("y");
    console.finish_run().await;
    let retried = console.results();
    assert_eq!(retried.len(), will_change);
    assert!(
        retried.iter().all(|r| r.outcome == RowOutcome::Ok),
        "{retried:?}"
    );
    for result in &retried {
        assert_eq!(disabled_on_server(&client, result.id).await, Some(true));
    }
    console.press(KeyCode::Esc);
    // The table shows them disabled without a reload.
    console.filter("status:disabled");
    let disabled_shown: BTreeSet<i64> = (0..console.app.counts().1)
        .filter_map(|_| {
            let id = console.app.selected_user().map(|u| u.id);
            console.press(KeyCode::Char('j'));
            id
        })
        .collect();
    assert!(retried.iter().all(|r| disabled_shown.contains(&r.id)));

    // 3. Cancel midway: slow answers, Esc after the first result.
    console.filter("status:ok");
    console.keys("c*");
    let marked = console.marked_loaded();
    assert!(marked >= 20, "only {marked} enabled accounts");
    sandbox.set_faults(Faults {
        latency: Duration::from_millis(250),
        ..Default::default()
    });
    let mut app_commands = console.app.handle_key(key(KeyCode::Char('d')));
    let shown_before = console.app.preflight().map_or(0, |p| p.will_change.len());
    app_commands.extend(console.app.handle_key(key(KeyCode::Char('y'))));
    let run_ids_before = run_ids(&journal_path).len();
    console.send(app_commands);
    // Wait for the first result, then stop.
    loop {
        let event = next_event(&mut console.events).await;
        let row = matches!(event, Event::BulkRow { .. });
        console.app.update(Action::Worker(event));
        if row {
            break;
        }
    }
    console.press(KeyCode::Esc);
    console.finish_run().await;
    sandbox.set_faults(Faults::default());
    let results = console.results();
    assert_eq!(results.len(), shown_before);
    let ok: Vec<&RowResult> = results
        .iter()
        .filter(|r| r.outcome == RowOutcome::Ok)
        .collect();
    let not_sent: Vec<&RowResult> = results
        .iter()
        .filter(|r| r.outcome == RowOutcome::NotSent)
        .collect();
    assert!(!ok.is_empty());
    assert!(
        not_sent.len() >= shown_before / 2,
        "cancel stops the rest: {} of {shown_before} not sent",
        not_sent.len()
    );
    let runs = run_ids(&journal_path);
    assert_eq!(runs.len(), run_ids_before + 1);
    let (intents, outcomes) = journal_run(&journal_path, runs.last().unwrap());
    for result in &ok {
        assert_eq!(outcomes.get(&result.id), Some(&true));
        assert_eq!(disabled_on_server(&client, result.id).await, Some(true));
    }
    for result in &not_sent {
        assert!(!intents.contains(&result.id), "not sent, not journalled");
        assert_eq!(disabled_on_server(&client, result.id).await, Some(false));
    }
    // The results view names the unsent ones.
    let text = screen(&mut console.app);
    assert!(text.contains("not sent"), "{text}");

    console.worker.send(Command::Shutdown);
    sandbox.shutdown().await;
}

fn screen(app: &mut App) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    let mut geometry = rollcall::tui::Geometry::default();
    terminal
        .draw(|frame| geometry = rollcall::tui::draw(app, frame))
        .unwrap();
    app.update(Action::Geometry(geometry));
    terminal.backend().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_without_reassignment_shows_the_servers_refusal_per_row() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(120, KEY))
        .await
        .unwrap();
    let (mut console, session, journal_path, _dir) = console_as(&sandbox, "administrator").await;
    let client = session.client.clone();

    // A Run As user of active playbooks, and a plain account beside it.
    let mut ids: Vec<i64> = Vec::new();
    console.filter("status:ok login<365d");
    for _ in 0..console.app.counts().1 {
        if let Some(user) = console.app.selected_user() {
            ids.push(user.id);
        }
        console.press(KeyCode::Char('j'));
    }
    ids.sort();
    // Not our own account: that one preflight refuses.
    ids.retain(|id| Some(*id) != session.actor.id);
    let mut run_as_user = None;
    let mut plain = None;
    for id in ids {
        let run_as = client.run_as(id).await.expect("run-as of an account");
        if !run_as.active_playbooks.is_empty() {
            run_as_user = run_as_user.or(Some(id));
        } else if run_as.job_apps.is_empty() && run_as.inactive_playbooks.is_empty() {
            plain = plain.or(Some(id));
        }
        if run_as_user.is_some() && plain.is_some() {
            break;
        }
    }
    let (run_as_user, plain) = (
        run_as_user.expect("a seeded Run As user"),
        plain.expect("a plain account"),
    );
    // Mark exactly those two.
    for _ in 0..console.app.counts().1 {
        if console
            .app
            .selected_user()
            .is_some_and(|u| u.id == run_as_user || u.id == plain)
        {
            console.keys(" ");
            console.press(KeyCode::Char('k'));
        }
        console.press(KeyCode::Char('k'));
    }
    assert_eq!(console.marked_loaded(), 2, "{:?}", console.app.marked());
    console.keys(":delete");
    console.press(KeyCode::Enter);
    assert_eq!(console.app.mode(), Mode::BulkConfirm);
    console.press(KeyCode::Enter);
    assert_eq!(
        console.app.mode(),
        Mode::BulkConfirm,
        "Enter alone does not delete"
    );
    console.keys("2");
    console.press(KeyCode::Enter);
    console.finish_run().await;
    let results = console.results();
    let outcome = |id: i64| {
        results
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.outcome.clone())
    };
    assert_eq!(outcome(plain), Some(RowOutcome::Ok));
    match outcome(run_as_user) {
        Some(RowOutcome::Failed(message)) => {
            assert!(message.contains("Run As user"), "{message}")
        }
        other => panic!("the Run As user was not refused: {other:?}"),
    }
    let text = screen(&mut console.app);
    assert!(text.contains("FAILED"), "{text}");
    assert!(text.contains("is the Run"), "{text}");
    // The deleted account leaves the table; the refused one stays.
    console.press(KeyCode::Esc);
    console.press(KeyCode::Esc);
    let mut shown = Vec::new();
    for _ in 0..console.app.counts().1 {
        shown.extend(console.app.selected_user().map(|u| u.id));
        console.press(KeyCode::Char('j'));
    }
    assert!(!shown.contains(&plain));
    assert!(shown.contains(&run_as_user));
    assert!(
        client.get_user(plain, &[]).await.is_err(),
        "gone on the server"
    );
    let runs = run_ids(&journal_path);
    let (intents, outcomes) = journal_run(&journal_path, &runs[0]);
    assert_eq!(intents, BTreeSet::from([plain, run_as_user]));
    assert_eq!(outcomes.get(&plain), Some(&true));
    assert_eq!(outcomes.get(&run_as_user), Some(&false));
    // The console's run has its header line, as the scripted runs do.
    let contents = rollcall::journal::read(&journal_path).unwrap();
    let header = contents
        .headers
        .iter()
        .find(|h| h.run_id == runs[0])
        .expect("a run header");
    assert_eq!((header.action.as_str(), header.planned), ("delete", 2));

    // Again with `:delete playbooks=A jobs=B`: what runs as the account
    // moves (job apps to an API user), and the delete goes through.
    assert_eq!(
        console.app.marked().iter().copied().collect::<Vec<_>>(),
        vec![run_as_user],
        "the failed account stays marked"
    );
    let admin_id = session.actor.id.expect("the actor's id");
    let playbooks_before = client
        .run_as(admin_id)
        .await
        .unwrap()
        .active_playbooks
        .len();
    console.keys(":delete playbooks=administrator jobs=organization-administrator");
    console.press(KeyCode::Enter);
    assert_eq!(console.app.mode(), Mode::BulkConfirm);
    assert!(screen(&mut console.app).contains("playbooks to administrator"));
    console.keys("1");
    console.press(KeyCode::Enter);
    console.finish_run().await;
    let results = console.results();
    assert_eq!(
        results
            .iter()
            .find(|r| r.id == run_as_user)
            .map(|r| r.outcome.clone()),
        Some(RowOutcome::Ok),
        "{results:?}"
    );
    assert!(client.get_user(run_as_user, &[]).await.is_err(), "deleted");
    let playbooks_after = client
        .run_as(admin_id)
        .await
        .unwrap()
        .active_playbooks
        .len();
    assert!(
        playbooks_after > playbooks_before,
        "the playbooks moved to administrator"
    );
    // A job-app owner that is not an API user is refused before anything is sent.
    console.press(KeyCode::Esc);
    console.keys(" ");
    console.keys(":delete jobs=administrator");
    console.press(KeyCode::Enter);
    assert_ne!(console.app.mode(), Mode::BulkConfirm);
    assert!(console
        .app
        .status()
        .is_some_and(|s| s.text.contains("job apps must run as an API user")));
    console.worker.send(Command::Shutdown);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_journal_no_writes() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(60, KEY))
        .await
        .unwrap();
    let session = session_for(sandbox.connection("administrator"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A file where the journal's directory should be.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let app = App::new(ConsoleContext::from_session(&session))
        .with_journal(Some(blocker.join("journal.jsonl")));
    let client = session.client.clone();
    let mut console = Console::start(app, client.clone()).await;
    console.filter("status:ok login<365d");
    let target = console
        .app
        .selected_user()
        .map(|u| u.id)
        .expect("an account");
    console.keys("dy");
    console.finish_run().await;
    let results = console.results();
    assert_eq!(results.len(), 1);
    assert!(
        matches!(&results[0].outcome, RowOutcome::Failed(m) if m.starts_with("not sent: cannot open the journal")),
        "{results:?}"
    );
    assert_eq!(disabled_on_server(&client, target).await, Some(false));
    console.worker.send(Command::Shutdown);
    sandbox.shutdown().await;
}

/// Answers lost after the server applied a write: the results say
/// "unknown", and `r` reads those accounts back before its preflight, so
/// an applied change is not sent again and one that never landed is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_reads_unknown_rows_back_before_sending_again() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(200, KEY))
        .await
        .unwrap();
    let session = session_for(sandbox.connection("administrator"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.jsonl");
    let app = App::new(ConsoleContext::from_session(&session))
        .with_journal(Some(journal_path.clone()))
        .with_concurrency(4);
    let client = session.client.clone();
    let mut console = Console::start(app, client.clone()).await;

    console.filter("status:ok");
    console.keys("*");
    assert!(console.marked_loaded() >= 20);
    console.press(KeyCode::Esc);
    // Reading the accounts back fails too, so the run cannot settle them.
    sandbox.set_faults(Faults {
        lost_answer_rate: 0.4,
        drop_rate: 0.2,
        read_error_rate: 1.0,
        seed: 5,
        ..Default::default()
    });
    console.keys("d");
    console.keys("y");
    console.finish_run().await;
    sandbox.set_faults(Faults::default());
    let results = console.results();
    let unknown: Vec<i64> = results
        .iter()
        .filter(|r| matches!(&r.outcome, RowOutcome::Unknown(m) if m.contains("read back before acting again")))
        .map(|r| r.id)
        .collect();
    assert!(
        results
            .iter()
            .all(|r| r.outcome == RowOutcome::Ok || unknown.contains(&r.id)),
        "{results:?}"
    );
    let mut applied = BTreeSet::new();
    for id in &unknown {
        if disabled_on_server(&client, *id).await == Some(true) {
            applied.insert(*id);
        }
    }
    assert!(!applied.is_empty() && applied.len() < unknown.len());

    // r reads back first: nothing is preflighted until the answers are in.
    let gets = sandbox.requests().get;
    console.keys("r");
    assert_ne!(console.app.mode(), Mode::BulkConfirm);
    while console.app.mode() != Mode::BulkConfirm {
        let event = next_event(&mut console.events).await;
        console.app.update(Action::Worker(event));
    }
    assert!(sandbox.requests().get - gets >= unknown.len() as u64);
    let preflight = console.app.preflight().cloned().expect("a preflight");
    let will: BTreeSet<i64> = preflight.will_change.iter().copied().collect();
    let already: BTreeSet<i64> = preflight.already.iter().copied().collect();
    let not_applied: BTreeSet<i64> = unknown
        .iter()
        .copied()
        .filter(|id| !applied.contains(id))
        .collect();
    assert_eq!(will, not_applied);
    assert_eq!(already, applied);

    let puts = sandbox.requests().put;
    console.keys("y");
    console.finish_run().await;
    assert_eq!(sandbox.requests().put - puts, not_applied.len() as u64);
    assert!(console
        .results()
        .iter()
        .all(|r| r.outcome == RowOutcome::Ok));
    for id in &unknown {
        assert_eq!(disabled_on_server(&client, *id).await, Some(true));
    }
    sandbox.shutdown().await;
}

impl Console {
    /// Feeds worker events until `done` holds.
    async fn pump_until(&mut self, done: impl Fn(&App) -> bool) {
        while !done(&self.app) {
            let event = next_event(&mut self.events).await;
            self.app.update(Action::Worker(event));
        }
    }

    fn command(&mut self, text: &str) {
        self.keys(":");
        self.keys(text);
        self.press(KeyCode::Enter);
    }
}

/// `:journal` lists the console's runs; Enter shows one run's accounts;
/// `u` plans its undo (read from the server), which is an ordinary run:
/// preflight, confirm, journaled with `undo_of`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_view_and_undo_from_the_console() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(60, KEY))
        .await
        .unwrap();
    let (mut console, session, journal_path, _dir) = console_as(&sandbox, "administrator").await;
    let client = session.client.clone();

    // A disable of one account.
    console.filter("status:ok login<365d");
    let target = console
        .app
        .selected_user()
        .map(|u| u.id)
        .expect("an account");
    console.keys("dy");
    console.finish_run().await;
    assert_eq!(disabled_on_server(&client, target).await, Some(true));
    console.press(KeyCode::Esc);
    let first_run = run_ids(&journal_path).pop().expect("the run is journaled");

    // Its journal: the run, then its account.
    console.command("journal");
    assert_eq!(console.app.mode(), Mode::Journal);
    console.pump_until(|app| app.journal_runs().is_some()).await;
    let runs = console.app.journal_runs().unwrap().to_vec();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run_id, first_run);
    assert_eq!((runs[0].action.as_str(), runs[0].succeeded), ("disable", 1));
    console.press(KeyCode::Enter);
    assert_eq!(console.app.mode(), Mode::JournalRun);
    console.pump_until(|app| app.journal_rows().is_some()).await;
    let rows = console.app.journal_rows().unwrap().to_vec();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].account_id, target);
    assert_eq!(rows[0].state, journal::RowState::Ok);

    // `u`: the undo's preflight (enable, this account), then the run.
    console.keys("u");
    console
        .pump_until(|app| app.mode() == Mode::BulkConfirm)
        .await;
    let preflight = console.app.preflight().cloned().expect("a preflight");
    assert_eq!(preflight.will_change, vec![target]);
    console.keys("y");
    console.finish_run().await;
    assert_eq!(disabled_on_server(&client, target).await, Some(false));
    let contents = journal::read(&journal_path).unwrap();
    let undo = contents
        .headers
        .iter()
        .find(|h| h.run_id != first_run)
        .expect("the undo's header");
    assert_eq!(undo.action, "enable");
    assert_eq!(undo.undo_of.as_deref(), Some(first_run.as_str()));
    assert_eq!(undo.planned, 1);
    console.press(KeyCode::Esc);

    // `:undo RUN_ID` of a run that is not there: one clear line.
    console.command("undo no-such-run");
    console
        .pump_until(|app| app.status().is_some_and(|s| s.is_error))
        .await;
    let status = console.app.status().unwrap().text.clone();
    assert!(status.contains("no run no-such-run"), "{status}");
    assert_eq!(console.app.mode(), Mode::Table);
    console.worker.send(Command::Shutdown);
    sandbox.shutdown().await;
}

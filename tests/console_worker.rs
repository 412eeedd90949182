//! The console's worker against the real sandbox over HTTP: commands go
//! in, id-tagged events come out, and the App fills in from them exactly as
//! the event loop feeds it.

use rollcall::api::{Client, Connection, Credentials, Secret};
use rollcall::ops::session::session_for;
use rollcall::sandbox::{Faults, Sandbox, SandboxConfig};
use rollcall::tui::{Action, App, ConsoleContext, LoadState};
use rollcall::worker::{Command, Event, Worker};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

const KEY: &str = "console-worker-test-key";

async fn next_event(events: &mut UnboundedReceiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .expect("an event within 20 s")
        .expect("the worker is running")
}

/// Feeds events to the App until the listing ends; returns how many pages came.
async fn load(app: &mut App, worker: &Worker, events: &mut UnboundedReceiver<Event>) -> usize {
    for command in app.start() {
        assert!(worker.send(command));
    }
    let mut pages = 0;
    while matches!(app.load_state(), LoadState::Loading { .. }) || app.organizations().is_empty() {
        let event = next_event(events).await;
        if matches!(event, Event::UsersPage { .. }) {
            pages += 1;
        }
        app.update(Action::Worker(event));
    }
    pages
}

#[tokio::test]
async fn administrator_loads_the_home_organization_with_limits_and_organizations() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(300, KEY))
        .await
        .unwrap();
    let session = session_for(sandbox.connection("administrator"))
        .await
        .unwrap();
    let ctx = ConsoleContext::from_session(&session);
    let home = ctx.actor.home_org.clone();
    let (worker, mut events) = Worker::spawn(session.client.clone());
    let mut app = App::new(ctx);
    let pages = load(&mut app, &worker, &mut events).await;
    // The limits answer races the listing; wait for it (or time out).
    while app.current_limits().is_none() {
        app.update(Action::Worker(next_event(&mut events).await));
    }
    assert_eq!(app.load_state(), &LoadState::Done, "{:?}", app.status());
    assert!(pages >= 1);
    let (loaded, shown) = app.counts();
    assert!(loaded > 50, "only {loaded} accounts");
    assert_eq!(loaded, shown);
    assert!(app.organizations().contains(&home));
    assert!(app.current_limits().is_some(), "limits extension not used");
    let user = app.selected_user().expect("a selected account");
    assert_eq!(user.owner.as_deref(), Some(home.as_str()));
    worker.send(Command::Shutdown);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn organization_administrator_gets_no_organization_list() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(120, KEY))
        .await
        .unwrap();
    let session = session_for(sandbox.connection("organization-administrator"))
        .await
        .unwrap();
    let ctx = ConsoleContext::from_session(&session);
    assert!(!ctx.actor.sees_all_orgs());
    let (worker, mut events) = Worker::spawn(session.client.clone());
    let mut app = App::new(ctx);
    let commands = app.start();
    assert!(!commands
        .iter()
        .any(|c| matches!(c, Command::LoadOrganizations { .. })));
    for command in commands {
        worker.send(command);
    }
    while matches!(app.load_state(), LoadState::Loading { .. }) {
        app.update(Action::Worker(next_event(&mut events).await));
    }
    assert_eq!(app.load_state(), &LoadState::Done, "{:?}", app.status());
    assert!(app.counts().0 > 10);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn cancel_stops_a_slow_request_and_later_ones_still_answer() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(50, KEY))
        .await
        .unwrap();
    let client = Client::new(sandbox.connection("administrator")).unwrap();
    sandbox.set_faults(Faults {
        latency: Duration::from_millis(400),
        ..Default::default()
    });
    let (worker, mut events) = Worker::spawn(client);
    worker.send(Command::LoadUsers {
        id: 1,
        org: None,
        query: Default::default(),
        groups_from_user_groups: false,
    });
    worker.send(Command::Cancel { id: 1 });
    worker.send(Command::LoadLimits { id: 2 });
    match next_event(&mut events).await {
        Event::Limits { id: 2, .. } => {}
        other => panic!("expected the limits, got {other:?}"),
    }
    // Nothing more comes from the cancelled listing.
    let late = tokio::time::timeout(Duration::from_millis(1500), events.recv()).await;
    assert!(late.is_err(), "cancelled request answered: {late:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_network_error_becomes_a_failed_event() {
    let connection = Connection {
        // Port 9 on loopback: nothing listens there.
        api_path: "http://127.0.0.1:9/api".into(),
        credentials: Credentials::Hmac {
            access_id: "nobody".into(),
            secret_key: Secret::new(KEY),
        },
        read_only: true,
        concurrency: 1,
    };
    let client = Client::new(connection).unwrap();
    let (worker, mut events) = Worker::spawn(client);
    worker.send(Command::LoadUsers {
        id: 7,
        org: None,
        query: Default::default(),
        groups_from_user_groups: false,
    });
    let event = next_event(&mut events).await;
    assert!(
        matches!(&event, Event::Failed { id: 7, .. }),
        "expected a failure, got {event:?}"
    );
}

/// Quitting mid-run: `shutdown` cancels the bulk run, gives its requests
/// in flight a bounded grace, then drops them, and returns only once
/// nothing of the worker runs, so the runtime can go without a request
/// being polled as it shuts down (tokio panics then). Intents whose answer
/// never came stay in the journal as unfinished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_mid_run_stops_the_run_within_the_grace_and_leaves_nothing_running() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let sandbox = Sandbox::start(SandboxConfig::loopback(40, KEY))
        .await
        .unwrap();
    let session = session_for(sandbox.connection("administrator"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let mut app = App::new(ConsoleContext::from_session(&session))
        .with_journal(Some(journal.clone()))
        .with_concurrency(2);
    let (worker, mut events) = Worker::spawn(session.client.clone());
    load(&mut app, &worker, &mut events).await;
    // Every answer now takes far longer than the grace.
    sandbox.set_faults(Faults {
        latency: Duration::from_secs(10),
        ..Default::default()
    });
    for c in ['*', 'd', 'y'] {
        for command in app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)) {
            assert!(worker.send(command));
        }
    }
    assert!(app.bulk_running(), "{:?}", app.status());
    // Wait until requests are in flight: their intents are on disk.
    let intents = || {
        std::fs::read_to_string(&journal)
            .unwrap_or_default()
            .matches("\"phase\":\"intent\"")
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while intents() < 2 {
        assert!(std::time::Instant::now() < deadline, "no request went out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = std::time::Instant::now();
    worker.shutdown().await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(4),
        "shutdown took {took:?}"
    );
    // Every sender is gone: the worker and the run's thread have ended.
    let mut rows = 0;
    loop {
        match tokio::time::timeout(Duration::from_millis(500), events.recv()).await {
            Ok(Some(Event::BulkRow { .. })) => rows += 1,
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => panic!("the worker still runs after shutdown returned"),
        }
    }
    // Rows not started were not sent; the two in flight gave no row.
    assert!(rows <= 40, "{rows}");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(intents(), 2, "nothing new went out while stopping:\n{text}");
    assert!(!text.contains("\"phase\":\"outcome\""), "{text}");
    sandbox.shutdown().await;
}

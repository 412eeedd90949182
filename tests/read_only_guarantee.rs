//! The read-only guarantee: with `--read-only`, every mutating path (scripted
//! commands, bulk runs, undo, the bulk engine itself, and the console's
//! worker) is driven against a sandbox that counts requests by method, and
//! not one write arrives. The guard lives in the client's single send path,
//! beneath every caller.

use clap::Parser;
use rollcall::api::Connection;
use rollcall::bulk::{self, Cancel, Reassign, RunMeta, RunPlan};
use rollcall::commands::admin::{CreateArgs, DeleteArgs, EditArgs};
use rollcall::commands::offboard::{BulkArgs, UndoArgs};
use rollcall::domain::preflight::BulkAction;
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{RequestCounts, Sandbox, SandboxConfig};
use std::sync::{Arc, Mutex};

const SECRET: &str = "read-only-secret";

async fn session(sandbox: &Sandbox, read_only: bool) -> Session {
    session_for(Connection {
        read_only,
        ..sandbox.connection("administrator")
    })
    .await
    .expect("session")
}

fn writes(counts: &RequestCounts) -> u64 {
    counts.post + counts.put + counts.delete + counts.other
}

#[derive(Parser)]
struct Wrap<T: clap::Args> {
    #[command(flatten)]
    args: T,
}

fn parse<T: clap::Args>(argv: &[&str]) -> T {
    Wrap::<T>::try_parse_from(std::iter::once("rollcall").chain(argv.iter().copied()))
        .expect("arguments parse")
        .args
}

#[tokio::test]
async fn no_write_leaves_the_machine_in_read_only_mode() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(300, SECRET))
        .await
        .expect("sandbox");
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = dir.path().join("journal.jsonl");
    let journal_arg = journal.to_str().expect("utf-8 path");

    // A real run to undo later, made with a writable session.
    let writer = session(&sandbox, false).await;
    let bulk_args: BulkArgs = parse(&[
        "--filter",
        "status:ok type:api",
        "--org",
        "Demo Organization",
        "--yes",
        "--journal",
        journal_arg,
    ]);
    let mut sink = Vec::new();
    rollcall::commands::offboard::run_bulk(&writer, BulkAction::Disable, &bulk_args, &mut sink)
        .await
        .expect("writable disable run");
    let run_id = rollcall::journal::runs(&rollcall::journal::read(&journal).unwrap().entries)
        .last()
        .expect("a run")
        .run_id
        .clone();
    let writes_before = writes(&sandbox.requests());
    assert!(writes_before > 0, "the writable run did write");

    let reader = session(&sandbox, true).await;
    let mut out = Vec::new();

    // Scripted account commands.
    let create: CreateArgs = parse(&[
        "--type",
        "user",
        "--set",
        "userName=new.person@example.com",
        "--set",
        "password=Passw0rd!x",
        "--set",
        "firstName=New",
        "--set",
        "lastName=Person",
    ]);
    assert!(
        rollcall::commands::admin::create(&reader, &create, &mut out)
            .await
            .is_err()
    );
    let edit: EditArgs = parse(&["51", "--set", "disabled=true"]);
    assert!(rollcall::commands::admin::edit(&reader, &edit, &mut out)
        .await
        .is_err());
    let delete: DeleteArgs = parse(&["52", "--yes"]);
    assert!(
        rollcall::commands::admin::delete(&reader, &delete, &mut out)
            .await
            .is_err()
    );

    // Bulk commands, each action.
    for action in BulkAction::ALL {
        let args: BulkArgs = parse(&["--filter", "login>30d", "--yes", "--journal", journal_arg]);
        let result = rollcall::commands::offboard::run_bulk(&reader, action, &args, &mut out).await;
        assert!(
            result.is_err(),
            "{action:?} must be refused in read-only mode"
        );
    }

    // Undo of the real run.
    let undo: UndoArgs = parse(&[&run_id, "--yes", "--journal", journal_arg]);
    assert!(rollcall::commands::undo::undo(&reader, &undo, &mut out)
        .await
        .is_err());

    // The bulk engine directly, beneath the commands.
    let targets = reader
        .client
        .list_users(&rollcall::api::UserQuery {
            tql: Some("disabled = false".into()),
            page_size: 20,
            ..Default::default()
        })
        .await
        .expect("reads still work");
    let targets: Vec<_> = targets.into_iter().take(20).collect();
    for action in BulkAction::ALL {
        let plan = RunPlan {
            meta: RunMeta {
                run_id: RunMeta::new_run_id(),
                instance: sandbox.base_url(),
                actor: "administrator".into(),
            },
            action,
            reassign: Reassign::default(),
            concurrency: 8,
        };
        let journal = Arc::new(Mutex::new(
            rollcall::journal::Journal::open(&dir.path().join("engine.jsonl")).unwrap(),
        ));
        let rows = bulk::execute(
            &reader.client,
            Some(journal),
            &plan,
            &targets,
            &Cancel::default(),
            &mut |_| {},
        )
        .await;
        assert!(rows
            .iter()
            .all(|r| matches!(&r.outcome, bulk::RowOutcome::Failed(m) if m.contains("read-only"))));
    }

    // The console's worker: the extension calls that write.
    assert!(reader.client.set_groups(51, &[1]).await.is_err());
    assert!(reader.client.generate_token(19, Some(30)).await.is_err());

    assert_eq!(
        writes(&sandbox.requests()),
        writes_before,
        "no write request arrived while read-only"
    );
    sandbox.shutdown().await;
}

/// The console: every write key and command in read-only mode, and the
/// worker's write commands sent directly (as a bug in the App would), reach
/// the server as zero writes.
#[tokio::test]
async fn the_console_sends_no_write_in_read_only_mode() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use rollcall::ops::run::RunRequest;
    use rollcall::tui::{Action, App, ConsoleContext};
    use rollcall::worker::{BulkJob, Command, Event, RequestBody, Worker};
    use std::time::Duration;

    let sandbox = Sandbox::start(SandboxConfig::loopback(300, SECRET))
        .await
        .expect("sandbox");
    let reader = session(&sandbox, true).await;
    let before = sandbox.requests();
    let ctx = ConsoleContext::from_session(&reader);
    let (worker, mut events) = Worker::spawn(reader.client.clone());
    let mut app = App::new(ctx);
    for command in app.start() {
        worker.send(command);
    }
    // Let the listing arrive so there are accounts to act on.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.counts().0 == 0
        || matches!(app.load_state(), rollcall::tui::LoadState::Loading { .. })
    {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the listing arrives")
            .expect("worker running");
        for command in app.update(Action::Worker(event)) {
            worker.send(command);
        }
    }
    let key = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
    let mut sent = Vec::new();
    let mut press = |app: &mut App, codes: &[KeyCode]| {
        for code in codes {
            sent.extend(app.handle_key(key(*code)));
        }
    };
    let chars = |text: &str| text.chars().map(KeyCode::Char).collect::<Vec<_>>();
    press(&mut app, &chars("*"));
    for keys in ["d", "E", "u", "x", "a", "e", "p", "M"] {
        press(&mut app, &chars(keys));
        press(
            &mut app,
            &[KeyCode::Enter, KeyCode::Char('y'), KeyCode::Esc],
        );
    }
    for command in [
        ":disable",
        ":enable",
        ":unlock",
        ":reset-password",
        ":reset-mfa",
        ":delete",
        ":new user",
    ] {
        press(&mut app, &chars(command));
        press(
            &mut app,
            &[
                KeyCode::Enter,
                KeyCode::Char('y'),
                KeyCode::Enter,
                KeyCode::Esc,
            ],
        );
    }
    let writes_asked = sent.iter().filter(|c| {
        matches!(
            c,
            Command::DeleteUser { .. } | Command::SaveAccount { .. } | Command::RunBulk { .. }
        )
    });
    assert_eq!(
        writes_asked.count(),
        0,
        "the read-only console asked for a write"
    );
    for command in sent {
        worker.send(command);
    }

    // Beneath the App: the worker's write commands, sent directly.
    let target = app.selected_user().expect("an account").clone();
    let dir = tempfile::tempdir().unwrap();
    let direct = vec![
        Command::DeleteUser {
            id: 9002,
            account_id: target.id,
            reassign_playbooks_to: None,
            reassign_jobs_to: None,
        },
        Command::SaveAccount {
            id: 9003,
            account_id: None,
            body: RequestBody(serde_json::json!({"userName": "x@example.com"})),
            groups: Some(vec![1]),
            generate_token: Some(Some(30)),
        },
        Command::RunBulk {
            id: 9004,
            job: BulkJob {
                request: RunRequest {
                    meta: RunMeta {
                        run_id: RunMeta::new_run_id(),
                        instance: sandbox.base_url(),
                        actor: "administrator".into(),
                    },
                    action: BulkAction::Disable,
                    targets: vec![target.clone()],
                    already: 0,
                    not_allowed: 0,
                    filter: None,
                    org: None,
                    undo_of: None,
                    review: None,
                    reassign: Reassign::default(),
                    concurrency: 8,
                },
                journal: Some(dir.path().join("journal.jsonl")),
                cancel: Cancel::default(),
            },
        },
    ];
    for command in direct {
        worker.send(command);
    }
    let mut answered = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while answered.len() < 3 {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("every write command is answered")
            .expect("worker running");
        match event {
            Event::Failed { id, .. } if (9002..=9003).contains(&id) => {
                answered.insert(id);
            }
            Event::BulkDone { id: 9004, results } => {
                assert!(results
                    .iter()
                    .all(|r| !matches!(r.outcome, bulk::RowOutcome::Ok)));
                answered.insert(9004);
            }
            Event::AccountSaved { .. } | Event::UserDeleted { .. } => {
                panic!("a write succeeded in read-only mode: {event:?}")
            }
            _ => {}
        }
    }
    worker.send(Command::Shutdown);
    assert_eq!(
        writes(&sandbox.requests()),
        writes(&before),
        "no write request arrived from the console"
    );
    sandbox.shutdown().await;
}

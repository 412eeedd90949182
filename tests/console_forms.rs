//! The console's account forms end to end over real HTTP: keys go into the
//! App, its commands to the Worker, the Worker's events back into the App,
//! exactly as the event loop does, against the sandbox.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rollcall::api::Client;
use rollcall::domain::Field;
use rollcall::ops::session::session_for;
use rollcall::sandbox::{Sandbox, SandboxConfig};
use rollcall::tui::{Action, App, ConsoleContext, LoadState, Mode};
use rollcall::worker::{Command, Event, Worker};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

const KEY: &str = "secret";

/// App, Worker and event channel wired as the event loop wires them.
struct Console {
    app: App,
    worker: Worker,
    events: UnboundedReceiver<Event>,
    client: Client,
}

impl Console {
    async fn open(sandbox: &Sandbox, access_id: &str) -> Console {
        let session = session_for(sandbox.connection(access_id)).await.unwrap();
        let ctx = ConsoleContext::from_session(&session);
        let (worker, events) = Worker::spawn(session.client.clone());
        // One-key actions run as journaled runs: a journal of its own.
        let journal = std::env::temp_dir().join(format!(
            "rollcall-console-forms-{}-{access_id}.jsonl",
            std::process::id()
        ));
        let mut console = Console {
            app: App::new(ctx).with_journal(Some(journal)),
            worker,
            events,
            client: session.client.clone(),
        };
        let commands = console.app.start();
        console.send(commands);
        console
            .pump("the listing", |app| {
                !matches!(app.load_state(), LoadState::Loading { .. })
            })
            .await;
        assert_eq!(console.app.load_state(), &LoadState::Done);
        console
    }

    fn send(&self, commands: Vec<Command>) {
        for command in commands {
            assert!(self.worker.send(command));
        }
    }

    /// Feeds worker events to the App until `done` holds.
    async fn pump(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        while !done(&self.app) {
            let event = tokio::time::timeout(Duration::from_secs(20), self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}: {:?}", self.app.status()))
                .expect("the worker is running");
            let commands = self.app.update(Action::Worker(event));
            self.send(commands);
        }
    }

    fn key(&mut self, code: KeyCode) {
        let commands = self.app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
        self.send(commands);
    }

    fn ctrl(&mut self, c: char) {
        let commands = self
            .app
            .handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
        self.send(commands);
    }

    fn text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn focus(&mut self, field: Field) {
        for _ in 0..40 {
            if self.app.focused_field() == Some(field) {
                return;
            }
            self.key(KeyCode::Tab);
        }
        panic!("{field:?} is not on the form");
    }

    fn select(&mut self, id: i64) {
        self.key(KeyCode::Home);
        for _ in 0..self.app.counts().1 {
            if self.app.selected_user().map(|u| u.id) == Some(id) {
                return;
            }
            self.key(KeyCode::Down);
        }
        panic!("account {id} is not in the table");
    }

    fn status(&self) -> String {
        self.app
            .status()
            .map(|s| s.text.clone())
            .unwrap_or_default()
    }

    /// Deletes the selected account, taking the first offered new owner
    /// at each step, and waits for the row to go.
    async fn delete_selected(&mut self) -> (Vec<i64>, String) {
        let user = self.app.selected_user().cloned().unwrap();
        self.key(KeyCode::Char('x'));
        self.pump("what runs as the account", |app| {
            matches!(app.mode(), Mode::Pick | Mode::Confirm)
        })
        .await;
        let mut picks = Vec::new();
        while self.app.mode() == Mode::Pick {
            let (options, at) = self.app.pick_list().expect("a pick list");
            picks.push(options[at].value.parse::<i64>().unwrap());
            self.key(KeyCode::Enter);
        }
        assert_eq!(self.app.mode(), Mode::Confirm, "{}", self.status());
        self.text(&user.user_name);
        self.key(KeyCode::Enter);
        self.pump("the delete", move |app| {
            app.status()
                .is_some_and(|s| s.is_error || s.text.contains("deleted"))
        })
        .await;
        (picks, self.status())
    }
}

#[tokio::test]
async fn administrator_creates_edits_disables_and_deletes_through_the_console() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(300, KEY))
        .await
        .unwrap();
    let mut console = Console::open(&sandbox, "administrator").await;
    let (before, _) = console.app.counts();

    // Create a User from the keyboard.
    console.key(KeyCode::Char(':'));
    console.text("new user");
    console.key(KeyCode::Enter);
    assert_eq!(console.app.mode(), Mode::Form, "{}", console.status());
    console.text("console.forms@example.com");
    console.key(KeyCode::Tab);
    console.text("Str0ng!Passw0rd#2026-forms");
    console.key(KeyCode::Tab);
    console.text("Console");
    console.key(KeyCode::Tab);
    console.text("Forms");
    console.ctrl('s');
    console
        .pump("the create", |app| {
            app.mode() == Mode::Table || app.form_errors().1.is_some()
        })
        .await;
    assert_eq!(
        console.app.mode(),
        Mode::Table,
        "{:?}",
        console.app.form_errors()
    );
    assert!(console.status().contains("created"), "{}", console.status());
    assert_eq!(console.app.counts().0, before + 1);
    let created = console
        .client
        .find_user_by_name("console.forms@example.com")
        .await
        .unwrap()
        .expect("the account exists on the server");
    assert_eq!(created.first_name.as_deref(), Some("Console"));

    // Edit it: a new first name.
    console.select(created.id);
    console.key(KeyCode::Char('e'));
    console
        .pump("the account for editing", |app| app.mode() == Mode::Form)
        .await;
    console.focus(Field::FirstName);
    console.ctrl('u');
    console.text("Renamed");
    console.ctrl('s');
    console
        .pump("the save", |app| app.mode() == Mode::Table)
        .await;
    assert!(console.status().contains("saved"), "{}", console.status());
    assert_eq!(
        console.app.selected_user().unwrap().first_name.as_deref(),
        Some("Renamed"),
        "the row changed in place"
    );
    let server = console.client.get_user(created.id, &[]).await.unwrap();
    assert_eq!(server.first_name.as_deref(), Some("Renamed"));

    // Disable it with the form's checkbox.
    console.key(KeyCode::Char('e'));
    console
        .pump("the account for editing", |app| app.mode() == Mode::Form)
        .await;
    console.focus(Field::Disabled);
    console.key(KeyCode::Char(' '));
    console.ctrl('s');
    console
        .pump("the save", |app| app.mode() == Mode::Table)
        .await;
    let server = console.client.get_user(created.id, &[]).await.unwrap();
    assert_eq!(server.disabled, Some(true));
    assert_eq!(console.app.selected_user().unwrap().disabled, Some(true));

    // Require a password reset with one key: the preflight sees the one a
    // new account has by default, and nothing is sent.
    let puts = sandbox.requests().put;
    console.key(KeyCode::Char('p'));
    assert_eq!(console.app.mode(), Mode::BulkConfirm);
    console.key(KeyCode::Char('y'));
    assert!(
        console
            .app
            .status()
            .is_some_and(|s| s.text.contains("nothing to change")),
        "{:?}",
        console.app.status()
    );
    assert_eq!(sandbox.requests().put, puts, "already pending: not sent");
    let server = console.client.get_user(created.id, &[]).await.unwrap();
    assert_eq!(server.password_reset_required, Some(true));

    // Delete it (nothing runs as it: straight to the typed confirmation).
    let (picks, status) = console.delete_selected().await;
    assert!(picks.is_empty());
    assert!(status.contains("deleted"), "{status}");
    assert!(console.client.get_user(created.id, &[]).await.is_err());
    assert_eq!(console.app.counts().0, before);

    console.worker.send(Command::Shutdown);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn deleting_a_run_as_user_reassigns_its_playbooks_and_job_apps() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(300, KEY))
        .await
        .unwrap();
    let mut console = Console::open(&sandbox, "administrator").await;

    // Account 26 runs two active playbooks: one new owner is asked for.
    let run_as = console.client.run_as(26).await.unwrap();
    assert_eq!(run_as.active_playbooks.len(), 2);
    console.select(26);
    let (picks, status) = console.delete_selected().await;
    assert!(status.contains("deleted"), "{status}");
    assert!(console.client.get_user(26, &[]).await.is_err());
    let heir = *picks.first().expect("a new owner was asked for");
    let moved = console.client.run_as(heir).await.unwrap();
    for playbook in &run_as.active_playbooks {
        assert!(
            moved.active_playbooks.iter().any(|p| p.id == playbook.id),
            "{} did not move to {heir}",
            playbook.name
        );
    }

    // Account 19 is an API user running job apps: the new owner is an API user.
    let run_as = console.client.run_as(19).await.unwrap();
    assert!(!run_as.job_apps.is_empty());
    console.select(19);
    let (picks, status) = console.delete_selected().await;
    assert!(status.contains("deleted"), "{status}");
    assert!(console.client.get_user(19, &[]).await.is_err());
    let heir = *picks.last().expect("an API user was asked for");
    let heir_user = console.client.get_user(heir, &[]).await.unwrap();
    assert_eq!(
        heir_user.account_type(),
        Some(rollcall::domain::AccountType::Api)
    );
    let moved = console.client.run_as(heir).await.unwrap();
    for job in &run_as.job_apps {
        assert!(
            moved.job_apps.iter().any(|j| j.id == job.id),
            "{} did not move",
            job.name
        );
    }

    console.worker.send(Command::Shutdown);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn api_user_save_and_generate_token_shows_the_token_once() {
    let sandbox = Sandbox::start(SandboxConfig::loopback(300, KEY))
        .await
        .unwrap();
    let mut console = Console::open(&sandbox, "administrator").await;
    console.key(KeyCode::Char(':'));
    console.text("new api");
    console.key(KeyCode::Enter);
    assert_eq!(console.app.mode(), Mode::Form, "{}", console.status());
    console.focus(Field::FirstName);
    console.text("Feed");
    console.key(KeyCode::Tab);
    console.text("Robot");
    console.ctrl('g');
    console
        .pump("the token", |app| {
            app.token_shown() || app.status().is_some_and(|s| s.is_error)
        })
        .await;
    assert!(console.app.token_shown(), "{}", console.status());
    assert_eq!(console.app.mode(), Mode::Token);
    console.key(KeyCode::Char('c'));
    let osc = console
        .app
        .take_terminal_output()
        .expect("OSC 52 for the clipboard");
    assert!(osc.starts_with("\x1b]52;c;"));
    console.key(KeyCode::Esc);
    assert!(!console.app.token_shown());
    assert!(console.app.take_terminal_output().is_none());
    console.worker.send(Command::Shutdown);
    sandbox.shutdown().await;
}

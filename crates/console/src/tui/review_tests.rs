//! Console tests of the access review view (`:review DIR`): keys through
//! `App::handle_key`, the worker's answers injected, snapshots of the real
//! drawing code at 80x24 and 40x10. The clock is fixed.

use super::*;
use crate::domain::review::{sheet_row, Sheet};
use crate::domain::{LastLoginReported, OrgRole, SystemRole, User};
use crate::worker::Event;
use chrono::{DateTime, Duration, TimeZone};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::PathBuf;

const ORG: &str = "Demo Organization";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn admin() -> ConsoleContext {
    ConsoleContext {
        actor: Actor {
            id: Some(1),
            user_name: "reviewer@demo.example".into(),
            system_role: Some(SystemRole::Administrator),
            org_role: Some(OrgRole::OrganizationAdministrator),
            home_org: ORG.into(),
            ..Default::default()
        },
        settings: InstanceSettings {
            password_max_age_days: Some(90),
            ..Default::default()
        },
        capabilities: Capabilities::default(),
        instance: "sandbox 127.0.0.1:8443".into(),
        // Deciding writes files, not the instance: a read-only console decides too.
        read_only: true,
    }
}

fn account(id: i64, name: &str, role: &str, login: Option<i64>) -> User {
    User {
        id,
        user_name: format!("{name}@demo.example"),
        first_name: Some(name.to_string()),
        last_name: Some("Tester".into()),
        owner: Some(ORG.into()),
        system_role: Some(role.into()),
        owner_roles: Some(crate::domain::OwnerRoles::from([(ORG, "Standard User")])),
        disabled: Some(false),
        locked: Some(false),
        last_login: login.map(|d| now() - Duration::days(d)),
        last_password_change: Some(now() - Duration::days(id * 10)),
        user_groups: Some(Vec::new()),
        ..Default::default()
    }
}

/// Two sheets; dave is on both (a review by group).
fn sheets() -> Vec<(String, Sheet)> {
    let row = |u: &User, f: &[&str]| sheet_row(u, f, now(), LastLoginReported::Returned);
    let alice = account(2, "alice", "Administrator", Some(1));
    let bob = account(3, "bob", "User", Some(200));
    let carol = account(4, "carol", "Api User", None);
    let dave = account(5, "dave", "User", Some(120));
    vec![
        (
            "soc-team.csv".to_string(),
            Sheet::new(vec![
                row(&alice, &["privileged"]),
                row(&bob, &["stale_login"]),
                row(&dave, &["stale_login"]),
            ]),
        ),
        (
            "automation.csv".to_string(),
            Sheet::new(vec![
                row(&carol, &["api_never_used"]),
                row(&dave, &["stale_login"]),
            ]),
        ),
    ]
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn type_keys(app: &mut App, keys: &str) -> Vec<Command> {
    keys.chars()
        .flat_map(|c| app.handle_key(key(KeyCode::Char(c))))
        .collect()
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let mut geometry = Geometry::default();
    terminal.draw(|frame| geometry = draw(app, frame)).unwrap();
    app.update(Action::Geometry(geometry));
    terminal.backend().to_string()
}

/// The App with its accounts loaded.
fn started() -> App {
    let mut app = App::new(admin()).with_now(now());
    let commands = app.start();
    let id = commands
        .iter()
        .find_map(|c| match c {
            Command::LoadUsers { id, .. } => Some(*id),
            _ => None,
        })
        .expect("a LoadUsers command");
    let users = vec![
        account(2, "alice", "Administrator", Some(1)),
        account(3, "bob", "User", Some(200)),
        account(4, "carol", "Api User", None),
        account(5, "dave", "User", Some(120)),
    ];
    app.update(Action::Worker(Event::UsersPage {
        id,
        users,
        total: None,
    }));
    app.update(Action::Worker(Event::UsersDone { id }));
    app
}

/// The App with the review open and its sheets read.
fn opened() -> App {
    let mut app = started();
    let mut commands = type_keys(&mut app, ":review /reviews/q4");
    commands.extend(app.handle_key(key(KeyCode::Enter)));
    let Some(Command::LoadReview { id, dir }) = commands.first().cloned() else {
        panic!("{commands:?}");
    };
    assert_eq!(dir, PathBuf::from("/reviews/q4"));
    assert_eq!(app.mode(), Mode::Review);
    app.update(Action::Worker(Event::Review {
        id,
        dir,
        sheets: Ok(sheets()),
    }));
    app
}

/// The saves among `commands`: file name and sheet.
fn saves(commands: &[Command]) -> Vec<(u64, String, Sheet)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::SaveReviewSheet {
                id,
                file,
                sheet,
                dir,
            } => {
                assert_eq!(dir, &PathBuf::from("/reviews/q4"));
                Some((*id, file.clone(), sheet.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn review_view_80x24_and_40x10() {
    let mut app = opened();
    insta::assert_snapshot!("review_80x24", screen(&mut app, 80, 24));
    insta::assert_snapshot!("review_40x10", screen(&mut app, 40, 10));
}

#[test]
fn k_keeps_d_and_x_ask_the_reason_and_every_decision_is_saved() {
    let mut app = opened();
    // k on alice: keep, saved at once, the cursor moves on.
    let commands = type_keys(&mut app, "k");
    let saved = saves(&commands);
    assert_eq!(saved.len(), 1);
    let (_, file, sheet) = &saved[0];
    assert_eq!(file, "soc-team.csv");
    assert_eq!(sheet.get(0, "decision"), "keep");
    assert_eq!(sheet.get(0, "reviewer"), "reviewer@demo.example");
    assert_eq!(sheet.get(0, "decided_at"), "2026-11-25T12:00:00Z");
    assert_eq!(app.review.cursor.selected, 1);

    // d on bob: the reason prompt; Enter with no reason is refused.
    assert!(type_keys(&mut app, "d").is_empty());
    assert_eq!(app.mode(), Mode::ReviewReason);
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
    assert_eq!(app.mode(), Mode::ReviewReason);
    assert!(app
        .status()
        .is_some_and(|s| s.is_error && s.text.contains("needs a reason")));
    // Letters are typed, not keys: "d", "k" and "x" go into the reason.
    assert!(type_keys(&mut app, "left the company, desk cleared").is_empty());
    insta::assert_snapshot!("review_reason_80x24", screen(&mut app, 80, 24));
    insta::assert_snapshot!("review_reason_40x10", screen(&mut app, 40, 10));
    let commands = app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Review);
    let saved = saves(&commands);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].2.get(1, "decision"), "disable");
    assert_eq!(
        saved[0].2.get(1, "reason"),
        "left the company, desk cleared"
    );

    // x on dave, on both sheets: both are saved, the same decision.
    let mut commands = type_keys(&mut app, "x");
    commands.extend(type_keys(&mut app, "duplicate"));
    commands.extend(app.handle_key(key(KeyCode::Enter)));
    let saved = saves(&commands);
    let files: Vec<&str> = saved.iter().map(|(_, f, _)| f.as_str()).collect();
    assert_eq!(files, ["soc-team.csv", "automation.csv"]);
    assert_eq!(saved[0].2.get(2, "decision"), "delete");
    assert_eq!(saved[1].2.get(1, "decision"), "delete");
    assert_eq!(saved[1].2.get(1, "reason"), "duplicate");

    // Esc in the prompt changes nothing.
    let mut commands = type_keys(&mut app, "d");
    commands.extend(type_keys(&mut app, "oops"));
    commands.extend(app.handle_key(key(KeyCode::Esc)));
    assert!(saves(&commands).is_empty());
    assert_eq!(app.mode(), Mode::Review);

    // A save that fails is said, naming the file.
    let id = saved[0].0;
    app.update(Action::Worker(Event::ReviewSaved {
        id,
        file: "soc-team.csv".into(),
        result: Err("disk full".into()),
    }));
    let status = app.status().expect("an error");
    assert!(status.is_error && status.text.contains("soc-team.csv was not saved"));
    assert_eq!(app.review.decided(), (4, 5));

    // Esc closes the review.
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::Table);
}

#[test]
fn a_review_that_cannot_be_read_says_why() {
    let mut app = started();
    let mut commands = type_keys(&mut app, ":review nowhere");
    commands.extend(app.handle_key(key(KeyCode::Enter)));
    let Some(Command::LoadReview { id, dir }) = commands.first().cloned() else {
        panic!("{commands:?}");
    };
    app.update(Action::Worker(Event::Review {
        id,
        dir,
        sheets: Err("reading nowhere/snapshot.json: No such file or directory".into()),
    }));
    assert!(app
        .status()
        .is_some_and(|s| s.is_error && s.text.starts_with("review: reading nowhere")));
    // k on nothing does nothing.
    assert!(type_keys(&mut app, "k").is_empty());
    // Without a directory: one line.
    app.handle_key(key(KeyCode::Esc));
    let mut commands = type_keys(&mut app, ":review");
    commands.extend(app.handle_key(key(KeyCode::Enter)));
    assert!(commands.is_empty());
}

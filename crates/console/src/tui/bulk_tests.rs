//! Console tests of marking, bulk actions and the audit view: keys through
//! `App::handle_key`, worker events injected, snapshots of the real drawing
//! code on a TestBackend. The clock is fixed.

use super::*;
use crate::bulk::{RowOutcome, RowResult};
use crate::domain::preflight::BulkAction;
use crate::domain::{OrgRole, SystemRole, User};
use crate::worker::{BulkJob, Event};
use chrono::{DateTime, Duration, TimeZone};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::PathBuf;

const ORG: &str = "Demo Organization";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn context(system_role: SystemRole, org_role: OrgRole, read_only: bool) -> ConsoleContext {
    ConsoleContext {
        actor: Actor {
            id: Some(1),
            user_name: "admin@demo.example".into(),
            system_role: Some(system_role),
            org_role: Some(org_role),
            home_org: ORG.into(),
            ..Default::default()
        },
        settings: InstanceSettings {
            password_max_age_days: Some(90),
            ..Default::default()
        },
        capabilities: Capabilities::default(),
        instance: "sandbox 127.0.0.1:8443".into(),
        read_only,
    }
}

fn admin() -> ConsoleContext {
    context(
        SystemRole::Administrator,
        OrgRole::OrganizationAdministrator,
        false,
    )
}

/// An Organization Administrator: may not touch an Administrator.
fn org_admin() -> ConsoleContext {
    context(SystemRole::User, OrgRole::OrganizationAdministrator, false)
}

fn account(
    id: i64,
    name: &str,
    role: &str,
    disabled: bool,
    locked: bool,
    login: Option<i64>,
) -> User {
    User {
        id,
        user_name: format!("{name}@demo.example"),
        first_name: Some(name.to_string()),
        last_name: Some("Tester".into()),
        owner: Some(ORG.into()),
        system_role: Some(role.into()),
        owner_roles: Some(crate::domain::OwnerRoles::from([(ORG, "Standard User")])),
        disabled: Some(disabled),
        locked: Some(locked),
        password_reset_required: Some(false),
        two_factor_reset_required: Some(false),
        last_login: login.map(|d| now() - Duration::days(d)),
        last_password_change: Some(now() - Duration::days(id * 20)),
        ..Default::default()
    }
}

fn accounts() -> Vec<User> {
    vec![
        account(2, "alice", "Administrator", false, false, Some(1)),
        account(3, "bob", "User", false, true, Some(3)),
        account(4, "carol", "User", true, false, Some(200)),
        account(5, "dave", "User", false, false, None),
        account(6, "erin", "User", false, false, Some(120)),
        account(7, "frank", "User", false, false, Some(10)),
        account(8, "gina\u{1b}[31m", "User", false, false, Some(95)),
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

fn command(app: &mut App, text: &str) -> Vec<Command> {
    let mut commands = type_keys(app, ":");
    commands.extend(type_keys(app, text));
    commands.extend(app.handle_key(key(KeyCode::Enter)));
    commands
}

fn load(app: &mut App, commands: &[Command], users: Vec<User>) {
    let id = commands
        .iter()
        .find_map(|c| match c {
            Command::LoadUsers { id, .. } => Some(*id),
            _ => None,
        })
        .expect("a LoadUsers command");
    app.update(Action::Worker(Event::UsersPage {
        id,
        users,
        total: None,
    }));
    app.update(Action::Worker(Event::UsersDone { id }));
}

fn journal() -> Option<PathBuf> {
    Some(PathBuf::from("/nonexistent-test-dir/journal.jsonl"))
}

fn loaded(ctx: ConsoleContext) -> App {
    let mut app = App::new(ctx).with_now(now()).with_journal(journal());
    let commands = app.start();
    load(&mut app, &commands, accounts());
    app
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let mut geometry = Geometry::default();
    terminal.draw(|frame| geometry = draw(app, frame)).unwrap();
    app.update(Action::Geometry(geometry));
    terminal.backend().to_string()
}

fn marked_names(app: &App) -> Vec<String> {
    app.rows
        .iter()
        .filter(|r| app.marked().contains(&r.user.id))
        .map(|r| r.user.first_name.clone().unwrap_or_default())
        .collect()
}

fn run_job(commands: &[Command]) -> (u64, BulkJob) {
    commands
        .iter()
        .find_map(|c| match c {
            Command::RunBulk { id, job } => Some((*id, job.clone())),
            _ => None,
        })
        .expect("a RunBulk command")
}

fn row(id: i64, name: &str, outcome: RowOutcome) -> RowResult {
    RowResult {
        id,
        user_name: format!("{name}@demo.example"),
        outcome,
    }
}

// ---- marking ----

#[test]
fn space_marks_and_moves_down_and_unmarks() {
    let mut app = loaded(admin());
    type_keys(&mut app, "  ");
    assert_eq!(marked_names(&app), ["alice", "bob"]);
    assert_eq!(app.selected_user().map(|u| u.id), Some(4));
    type_keys(&mut app, "k ");
    assert_eq!(marked_names(&app), ["alice"]);
}

#[test]
fn v_marks_from_the_anchor_to_the_cursor_either_way() {
    let mut app = loaded(admin());
    type_keys(&mut app, "j j");
    // Anchor at carol (marked with Space), cursor moved on to dave.
    type_keys(&mut app, "jjV");
    assert_eq!(
        marked_names(&app),
        ["bob", "carol", "dave", "erin", "frank"]
    );
    let mut app = loaded(admin());
    // Anchor at erin, cursor back up at carol.
    type_keys(&mut app, "jjjj kkkV");
    assert_eq!(marked_names(&app), ["carol", "dave", "erin"]);
    // No anchor yet: V starts the range at the cursor.
    let mut app = loaded(admin());
    type_keys(&mut app, "jVjjV");
    assert_eq!(marked_names(&app), ["bob", "carol", "dave"]);
}

#[test]
fn star_marks_what_the_filter_shows_and_bang_inverts_the_view() {
    let mut app = loaded(admin());
    type_keys(&mut app, "/status:disabled");
    app.handle_key(key(KeyCode::Enter));
    type_keys(&mut app, "*");
    assert_eq!(marked_names(&app), ["carol"]);
    app.handle_key(key(KeyCode::Esc));
    type_keys(&mut app, "g ");
    assert_eq!(marked_names(&app), ["alice", "carol"]);
    type_keys(&mut app, "!");
    assert_eq!(
        marked_names(&app),
        ["bob", "dave", "erin", "frank", "gina\u{1b}[31m"]
    );
    // Invert acts only on the accounts shown.
    type_keys(&mut app, "/status:locked");
    app.handle_key(key(KeyCode::Enter));
    type_keys(&mut app, "!");
    assert_eq!(
        marked_names(&app),
        ["dave", "erin", "frank", "gina\u{1b}[31m"]
    );
    type_keys(&mut app, "c");
    assert!(app.marked().is_empty());
    type_keys(&mut app, "*");
    command(&mut app, "clear");
    assert!(app.marked().is_empty());
}

#[test]
fn marks_survive_filter_sort_and_refresh() {
    let mut app = loaded(admin());
    type_keys(&mut app, "j j ");
    assert_eq!(marked_names(&app), ["bob", "dave"]);
    type_keys(&mut app, "/alice");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::Esc));
    type_keys(&mut app, "sS");
    let commands = type_keys(&mut app, "r");
    assert!(app.marked().contains(&3) && app.marked().contains(&5));
    load(&mut app, &commands, accounts());
    assert_eq!(marked_names(&app), ["bob", "dave"]);
    // The header count stays visible.
    assert!(screen(&mut app, 80, 24).contains("2 marked"));
}

// ---- snapshots ----

#[test]
fn marked_rows_80x24_and_40x10() {
    let mut app = loaded(admin()).with_no_color(true);
    type_keys(&mut app, "j j ");
    let text = screen(&mut app, 80, 24);
    // NO_COLOR: the mark is a character, not a colour.
    assert!(text.contains(" *bob") || text.contains(">*bob"), "{text}");
    insta::assert_snapshot!("marked_rows_80x24", text);
    insta::assert_snapshot!("marked_rows_40x10", screen(&mut app, 40, 10));
}

#[test]
fn preflight_confirmation_80x24_and_40x10() {
    let mut app = loaded(org_admin());
    type_keys(&mut app, "*");
    let commands = type_keys(&mut app, "d");
    assert!(commands.is_empty(), "preflight sends nothing");
    assert_eq!(app.mode(), Mode::BulkConfirm);
    insta::assert_snapshot!("preflight_80x24", screen(&mut app, 80, 24));
    insta::assert_snapshot!("preflight_40x10", screen(&mut app, 40, 10));
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Tab));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("> Not allowed"), "{text}");
    insta::assert_snapshot!("preflight_not_allowed_80x24", text);
}

#[test]
fn progress_80x24_and_40x10() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjjj   ");
    let commands = type_keys(&mut app, "dy");
    let (id, job) = run_job(&commands);
    assert_eq!(job.request.targets.len(), 3);
    app.update(Action::Worker(Event::BulkRow {
        id,
        result: row(5, "dave", RowOutcome::Ok),
    }));
    app.update(Action::Tick(now() + Duration::seconds(2)));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("1 of 3"), "{text}");
    assert!(text.contains("0.5/s, about 4s left"), "{text}");
    insta::assert_snapshot!("progress_80x24", text);
    insta::assert_snapshot!("progress_40x10", screen(&mut app, 40, 10));
}

#[test]
fn a_long_refusal_is_wrapped_whole_and_enter_shows_it() {
    let mut app = loaded(org_admin());
    type_keys(&mut app, "*");
    let commands = type_keys(&mut app, "dy");
    let (id, _) = run_job(&commands);
    let reason = "an Accounts Administrator cannot disable an Administrator; ask an Administrator of the instance to do it (HTTP 401 not authorized) END";
    let results = vec![
        row(3, "bob", RowOutcome::Failed(reason.into())),
        row(5, "dave", RowOutcome::Ok),
    ];
    app.update(Action::Worker(Event::BulkDone { id, results }));
    assert_eq!(app.mode(), Mode::BulkResults);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("END"), "cut\n{text}");
    insta::assert_snapshot!("results_wrapped_80x24", text);
    insta::assert_snapshot!("results_wrapped_40x10", screen(&mut app, 40, 10));
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::ResultDetail);
    for (w, h) in [(80, 24), (40, 10)] {
        let text = screen(&mut app, w, h);
        insta::assert_snapshot!(format!("result_detail_{w}x{h}"), text);
    }
    assert!(screen(&mut app, 80, 24).contains("END"));
    // On a small screen the whole message is a scroll away.
    screen(&mut app, 40, 10);
    for _ in 0..20 {
        type_keys(&mut app, "j");
    }
    assert!(screen(&mut app, 40, 10).contains("END"));
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::BulkResults);
    app.handle_key(key(KeyCode::Down));
    app.handle_key(key(KeyCode::Enter));
    assert!(screen(&mut app, 80, 24).contains("ok: dave"));
    app.handle_key(key(KeyCode::Esc));
    app.handle_key(key(KeyCode::End));
    app.handle_key(key(KeyCode::Enter));
    assert!(screen(&mut app, 80, 24).contains("refused: alice"));
}

#[test]
fn results_with_failures_80x24_and_40x10() {
    let mut app = loaded(org_admin());
    type_keys(&mut app, "*");
    let commands = type_keys(&mut app, "dy");
    let (id, job) = run_job(&commands);
    let ids: Vec<i64> = job.request.targets.iter().map(|u| u.id).collect();
    assert_eq!(
        ids,
        [3, 5, 6, 7, 8],
        "alice (Administrator) refused, carol already"
    );
    let results = vec![
        row(3, "bob", RowOutcome::Ok),
        row(
            5,
            "dave",
            RowOutcome::Failed("HTTP 403: not allowed\u{1b}[2J".into()),
        ),
        row(6, "erin", RowOutcome::Ok),
        row(7, "frank", RowOutcome::NotSent),
        row(8, "gina", RowOutcome::Ok),
    ];
    for result in &results {
        app.update(Action::Worker(Event::BulkRow {
            id,
            result: result.clone(),
        }));
    }
    app.update(Action::Worker(Event::BulkDone { id, results }));
    assert_eq!(app.mode(), Mode::BulkResults);
    let text = screen(&mut app, 80, 24);
    assert!(!text.contains('\u{1b}'));
    insta::assert_snapshot!("results_80x24", text);
    insta::assert_snapshot!("results_40x10", screen(&mut app, 40, 10));
}

#[test]
fn audit_80x24_and_40x10() {
    let mut app = loaded(admin());
    type_keys(&mut app, "A");
    assert_eq!(app.mode(), Mode::Audit);
    insta::assert_snapshot!("audit_80x24", screen(&mut app, 80, 24));
    insta::assert_snapshot!("audit_40x10", screen(&mut app, 40, 10));
}

// ---- bulk flow ----

#[test]
fn confirming_sends_only_the_accounts_that_will_change_with_the_journal() {
    let mut app = loaded(org_admin()).with_concurrency(3);
    type_keys(&mut app, "*");
    let commands = type_keys(&mut app, "d");
    assert!(commands.is_empty());
    let commands = app.handle_key(key(KeyCode::Enter));
    let (_, job) = run_job(&commands);
    assert_eq!(job.request.action, BulkAction::Disable);
    assert_eq!(job.request.concurrency, 3);
    assert_eq!(job.journal, journal());
    assert!(job.request.targets.iter().all(|u| u.id != 2 && u.id != 4));
    assert_eq!(app.mode(), Mode::BulkProgress);
}

#[test]
fn escape_in_the_preflight_sends_nothing() {
    let mut app = loaded(admin());
    let mut commands = type_keys(&mut app, "u");
    commands.extend(app.handle_key(key(KeyCode::Esc)));
    assert!(commands.is_empty());
    assert_eq!(app.mode(), Mode::Table);
}

#[test]
fn nothing_marked_acts_on_the_selected_account() {
    let mut app = loaded(admin());
    type_keys(&mut app, "j");
    let commands = type_keys(&mut app, "uy");
    let (_, job) = run_job(&commands);
    let ids: Vec<i64> = job.request.targets.iter().map(|u| u.id).collect();
    assert_eq!(ids, [3]);
    assert_eq!(job.request.action, BulkAction::Unlock);
}

#[test]
fn nothing_to_change_closes_without_sending() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jj");
    // carol is already disabled.
    let commands = type_keys(&mut app, "dy");
    assert!(commands.is_empty());
    assert_eq!(app.mode(), Mode::Table);
}

#[test]
fn delete_is_confirmed_by_typing_the_count() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjj  ");
    command(&mut app, "delete");
    assert_eq!(app.mode(), Mode::BulkConfirm);
    assert!(type_keys(&mut app, "y").is_empty(), "y does not delete");
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
    assert!(app.status().is_some_and(|s| s.text.contains("type 2")));
    type_keys(&mut app, "3");
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
    app.handle_key(key(KeyCode::Backspace));
    type_keys(&mut app, "2");
    let commands = app.handle_key(key(KeyCode::Enter));
    let (id, job) = run_job(&commands);
    assert_eq!(job.request.action, BulkAction::Delete);
    assert_eq!(job.request.reassign, crate::bulk::Reassign::default());
    let results = vec![
        row(5, "dave", RowOutcome::Ok),
        row(
            6,
            "erin",
            RowOutcome::Failed("reassignment required".into()),
        ),
    ];
    app.update(Action::Worker(Event::BulkDone { id, results }));
    assert!(app.rows.iter().all(|r| r.user.id != 5), "deleted row gone");
    assert!(app.rows.iter().any(|r| r.user.id == 6));
    assert!(screen(&mut app, 80, 24).contains("reassignment required"));
}

#[test]
fn every_bulk_command_opens_its_preflight() {
    for action in BulkAction::ALL {
        let mut app = loaded(admin());
        assert!(command(&mut app, action.name()).is_empty());
        assert_eq!(app.mode(), Mode::BulkConfirm, "{}", action.name());
        assert_eq!(app.bulk.pending.as_ref().map(|p| p.action), Some(action));
    }
}

#[test]
fn escape_during_the_run_cancels_and_results_follow() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjj   ");
    let commands = type_keys(&mut app, "dy");
    let (id, job) = run_job(&commands);
    assert!(!job.cancel.is_cancelled());
    assert!(app.handle_key(key(KeyCode::Esc)).is_empty());
    assert!(job.cancel.is_cancelled(), "the shared switch is flipped");
    assert!(screen(&mut app, 80, 24).contains("stopping"));
    let results = vec![
        row(5, "dave", RowOutcome::Ok),
        row(6, "erin", RowOutcome::NotSent),
        row(7, "frank", RowOutcome::NotSent),
    ];
    app.update(Action::Worker(Event::BulkDone { id, results }));
    assert_eq!(app.mode(), Mode::BulkResults);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("not sent  erin"), "{text}");
}

#[test]
fn success_updates_the_table_and_unmarks_and_r_retries_the_rest() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjj   ");
    let (id, _) = run_job(&type_keys(&mut app, "dy"));
    let results = vec![
        row(5, "dave", RowOutcome::Ok),
        row(6, "erin", RowOutcome::Failed("HTTP 500".into())),
        row(7, "frank", RowOutcome::NotSent),
    ];
    app.update(Action::Worker(Event::BulkDone { id, results }));
    let dave = app.rows.iter().find(|r| r.user.id == 5).map(|r| &r.user);
    assert_eq!(dave.and_then(|u| u.disabled), Some(true));
    assert_eq!(marked_names(&app), ["erin", "frank"]);
    // Stale events of a finished run change nothing.
    app.update(Action::Worker(Event::BulkRow {
        id,
        result: row(9, "x", RowOutcome::Ok),
    }));
    let commands = type_keys(&mut app, "r");
    assert!(commands.is_empty(), "retry goes through preflight again");
    assert_eq!(app.mode(), Mode::BulkConfirm);
    let (_, job) = run_job(&type_keys(&mut app, "y"));
    let ids: Vec<i64> = job.request.targets.iter().map(|u| u.id).collect();
    assert_eq!(ids, [6, 7]);
}

#[test]
fn a_later_filter_shows_the_updated_state() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjj ");
    let (id, _) = run_job(&type_keys(&mut app, "dy"));
    app.update(Action::Worker(Event::BulkDone {
        id,
        results: vec![row(5, "dave", RowOutcome::Ok)],
    }));
    app.handle_key(key(KeyCode::Esc));
    command(&mut app, "filter status:disabled");
    let names: Vec<i64> = app
        .view
        .iter()
        .map(|&i| app.rows[i as usize].user.id)
        .collect();
    assert_eq!(names, [4, 5]);
}

// ---- help over the bulk views ----

#[test]
fn help_from_the_preflight_opens_at_its_keys_and_esc_returns_to_it() {
    let mut app = loaded(org_admin());
    type_keys(&mut app, "*");
    type_keys(&mut app, "d");
    app.handle_key(key(KeyCode::Tab));
    let before = screen(&mut app, 80, 24);
    type_keys(&mut app, "?");
    assert_eq!(app.mode(), Mode::Help);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("│Bulk preflight "), "{text}");
    insta::assert_snapshot!("help_from_preflight_80x24", text);
    // Esc: the same preflight, the same group, nothing sent.
    assert!(app.handle_key(key(KeyCode::Esc)).is_empty());
    assert_eq!(app.mode(), Mode::BulkConfirm);
    assert_eq!(screen(&mut app, 80, 24), before);
}

#[test]
fn help_during_a_run_keeps_it_going_and_a_stop_question_takes_it_as_no() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjjj   ");
    let (id, job) = run_job(&type_keys(&mut app, "dy"));
    type_keys(&mut app, "?");
    assert_eq!(app.mode(), Mode::Help);
    assert!(screen(&mut app, 80, 24).contains("│Bulk run "));
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::BulkProgress);
    // A question is never answered by accident: ? says no, opens nothing.
    type_keys(&mut app, "q?");
    assert!(!app.bulk.stop_asked && !job.cancel.is_cancelled());
    assert_eq!(app.mode(), Mode::BulkProgress);
    // The run ends while help is open: Esc shows its results.
    type_keys(&mut app, "?");
    let results = vec![row(5, "dave", RowOutcome::Ok)];
    app.update(Action::Worker(Event::BulkDone { id, results }));
    assert_eq!(app.mode(), Mode::Help);
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::BulkResults);
    // And from the results and one result, help comes and goes.
    for mode in [Mode::BulkResults, Mode::ResultDetail] {
        if mode == Mode::ResultDetail {
            app.handle_key(key(KeyCode::Enter));
        }
        assert_eq!(app.mode(), mode);
        type_keys(&mut app, "?");
        assert_eq!(app.mode(), Mode::Help);
        app.handle_key(key(KeyCode::Esc));
        assert_eq!(app.mode(), mode);
    }
}

#[test]
fn popup_hints_show_the_keys_in_force() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjj  ");
    command(&mut app, "delete");
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains(" type 2, Enter: []  Tab group  Esc cancel "),
        "{text}"
    );
    let table: toml::Table = "[preflight]\nclose = \"x\"\n\"next-group\" = []\n"
        .parse()
        .unwrap();
    let keymap = crate::tui::keymap::Keymap::with_overrides(&table).unwrap();
    let mut app = loaded(admin()).with_keymap(keymap);
    type_keys(&mut app, "jjj  d");
    let text = screen(&mut app, 80, 24);
    assert!(text.contains(" y run  x cancel "), "{text}");
    type_keys(&mut app, "x");
    assert_eq!(app.mode(), Mode::Table);
}

// ---- read-only ----

#[test]
fn read_only_sends_nothing_and_says_why() {
    for ctx in [
        context(
            SystemRole::Administrator,
            OrgRole::OrganizationAdministrator,
            true,
        ),
        // No role of this actor writes: the same view without --read-only.
        context(SystemRole::ReadOnlyUser, OrgRole::ReadOnlyUser, false),
    ] {
        let mut app = loaded(ctx);
        assert!(app.read_only());
        type_keys(&mut app, "*");
        for keys in ["d", "E", "u"] {
            assert!(type_keys(&mut app, keys).is_empty(), "{keys}");
            assert_eq!(app.mode(), Mode::Table);
            let status = app.status().expect("a status");
            assert!(status.text.starts_with("read-only: "), "{}", status.text);
        }
        for action in BulkAction::ALL {
            assert!(command(&mut app, action.name()).is_empty());
            assert_eq!(app.mode(), Mode::Table);
        }
        let text = screen(&mut app, 80, 24);
        assert!(text.contains("READ-ONLY"));
        type_keys(&mut app, "?");
        let help = screen(&mut app, 100, 120);
        assert!(!help.contains("Disable the marked"), "{help}");
        assert!(!help.contains(":delete"), "{help}");
        assert!(help.contains("Audit findings"));
    }
}

// ---- audit ----

#[test]
fn audit_enter_filters_by_expression_or_by_ids() {
    let mut app = loaded(admin());
    type_keys(&mut app, "A");
    let findings: Vec<_> = app
        .bulk
        .audit
        .as_ref()
        .map(|a| a.audit.findings.clone())
        .unwrap_or_default();
    let stale = findings
        .iter()
        .position(|f| f.kind == crate::domain::audit::FindingKind::StaleLogin)
        .expect("stale finding");
    for _ in 0..stale {
        type_keys(&mut app, "j");
    }
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Table);
    assert_eq!(app.active_filter(), Some("login>90d"));
    let shown: Vec<i64> = app
        .view
        .iter()
        .map(|&i| app.rows[i as usize].user.id)
        .collect();
    assert_eq!(shown, [4, 6, 8]);

    // Password expired has no expression: the App filters by its ids.
    let expired = findings
        .iter()
        .find(|f| f.kind == crate::domain::audit::FindingKind::PasswordExpired)
        .expect("expired finding");
    let at = findings
        .iter()
        .position(|f| f.kind == expired.kind)
        .unwrap_or(0);
    type_keys(&mut app, "A");
    for _ in 0..at {
        type_keys(&mut app, "j");
    }
    app.handle_key(key(KeyCode::Enter));
    let mut shown: Vec<i64> = app
        .view
        .iter()
        .map(|&i| app.rows[i as usize].user.id)
        .collect();
    shown.sort();
    assert!(!expired.account_ids.is_empty());
    assert_eq!(shown, expired.account_ids);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("finding: Password expired"), "{text}");
    // `*` marks exactly the finding's accounts; Esc clears the id filter.
    type_keys(&mut app, "*");
    assert_eq!(
        app.marked().iter().copied().collect::<Vec<_>>(),
        expired.account_ids
    );
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.view.len(), app.rows.len());
    command(&mut app, "audit");
    assert_eq!(app.mode(), Mode::Audit);
}

#[test]
fn quitting_during_a_run_stops_new_requests() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjj  ");
    let (_, job) = run_job(&type_keys(&mut app, "dy"));
    app.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.should_quit());
    assert!(job.cancel.is_cancelled());
}

#[test]
fn q_during_a_run_asks_and_y_stops_it_then_quits_once_it_has_stopped() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjjj   ");
    let commands = type_keys(&mut app, "dy");
    let (id, job) = run_job(&commands);
    assert_eq!(app.mode(), Mode::BulkProgress);

    // q asks; n (or any other key) keeps the run going.
    type_keys(&mut app, "q");
    assert_eq!(
        app.status().map(|s| s.text.as_str()),
        Some(crate::tui::bulk::STOP_QUESTION)
    );
    assert!(screen(&mut app, 80, 24).contains("Stop the run? unfinished accounts are not sent"));
    type_keys(&mut app, "n");
    assert!(!job.cancel.is_cancelled() && !app.should_quit());
    type_keys(&mut app, "q");
    app.handle_key(key(KeyCode::Esc));
    assert!(!job.cancel.is_cancelled(), "Esc answers the question, no");
    assert!(!app.bulk.stop_asked);

    // y stops it like Esc; rollcall quits once the run has stopped.
    type_keys(&mut app, "qy");
    assert!(job.cancel.is_cancelled());
    assert!(!app.should_quit(), "requests in flight finish first");
    let results = vec![
        row(5, "dave", RowOutcome::Ok),
        row(6, "erin", RowOutcome::NotSent),
        row(7, "frank", RowOutcome::NotSent),
    ];
    app.update(Action::Worker(Event::BulkDone { id, results }));
    assert!(app.should_quit());
}

#[test]
fn q_after_the_run_is_over_only_shows_the_results() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjjj ");
    let commands = type_keys(&mut app, "dy");
    let (id, _) = run_job(&commands);
    let results = vec![row(5, "dave", RowOutcome::Ok)];
    app.update(Action::Worker(Event::BulkDone { id, results }));
    assert_eq!(app.mode(), Mode::BulkResults);
    type_keys(&mut app, "q");
    assert_eq!(app.mode(), Mode::Table);
    assert!(!app.should_quit());
}

fn summary(
    run_id: &str,
    action: &str,
    succeeded: usize,
    failed: usize,
) -> crate::journal::RunSummary {
    crate::journal::RunSummary {
        run_id: run_id.into(),
        started: now(),
        instance: "http://127.0.0.1/api".into(),
        actor: "admin@demo.example".into(),
        action: action.into(),
        intended: succeeded + failed,
        succeeded,
        failed,
        unknown: 0,
        unfinished: 0,
        header: None,
    }
}

#[test]
fn journal_view_80x24_and_40x10() {
    let mut app = loaded(admin());
    let commands = command(&mut app, "journal");
    let Some(Command::LoadJournal { id, journal: path }) = commands.first().cloned() else {
        panic!("{commands:?}");
    };
    assert_eq!(path, journal());
    assert_eq!(app.mode(), Mode::Journal);
    app.update(Action::Worker(Event::Journal {
        id,
        runs: Ok(vec![
            summary("20261205T101500-00b2", "enable", 2, 0),
            summary("20261205T100000-00a1", "disable", 2, 1),
        ]),
        bad_lines: 0,
    }));
    insta::assert_snapshot!("journal_runs_80x24", screen(&mut app, 80, 24));
    insta::assert_snapshot!("journal_runs_40x10", screen(&mut app, 40, 10));

    // j then Enter opens the older run's accounts; Esc comes back.
    type_keys(&mut app, "j");
    let commands = app.handle_key(key(KeyCode::Enter));
    let Some(Command::LoadJournalRun { id, run_id, .. }) = commands.first().cloned() else {
        panic!("{commands:?}");
    };
    assert_eq!(run_id, "20261205T100000-00a1");
    let row = |id: i64, name: &str, state| crate::journal::RunRow {
        account_id: id,
        account_name: name.into(),
        before: serde_json::Value::Null,
        state,
    };
    app.update(Action::Worker(Event::JournalRun {
        id,
        run_id,
        rows: Ok(vec![
            row(2, "bob@demo.example", crate::journal::RowState::Ok),
            row(3, "carol@demo.example", crate::journal::RowState::Ok),
            row(
                4,
                "dave@demo.example",
                crate::journal::RowState::Failed("HTTP 403: not permitted".into()),
            ),
        ]),
    }));
    assert_eq!(app.mode(), Mode::JournalRun);
    insta::assert_snapshot!("journal_run_80x24", screen(&mut app, 80, 24));
    insta::assert_snapshot!("journal_run_40x10", screen(&mut app, 40, 10));

    // u plans the undo of that run.
    let commands = type_keys(&mut app, "u");
    assert!(
        matches!(commands.first(), Some(Command::PlanUndo { run_id: Some(run), .. }) if run == "20261205T100000-00a1"),
        "{commands:?}"
    );
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::Journal);
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::Table);
}

// ---- offboarding ----

fn offboard_plan(ids: &[i64], delete: bool) -> crate::ops::offboard::OffboardPlan {
    use crate::domain::offboard::{self as rules, Abilities, Asked, Facts};
    use crate::domain::run_as::{RunAs, RunAsItem};
    use crate::ops::offboard::{Heirs, OffboardPlan, Planned};
    let abilities = Abilities {
        run_as_visible: true,
        move_run_as: true,
        reassign_on_delete: true,
        group_membership: true,
    };
    let ctx = admin();
    let mut planned = Vec::new();
    for id in ids {
        let mut user = accounts().into_iter().find(|u| u.id == *id).unwrap();
        user.user_groups = Some(vec![crate::domain::GroupRef {
            id: 1,
            name: "SOC Analysts".into(),
        }]);
        // Dave runs a playbook and nobody was named to take it over.
        let run_as: Option<Result<RunAs, String>> = Some(Ok(if *id == 5 {
            RunAs {
                active_playbooks: vec![RunAsItem {
                    id: 1,
                    name: "Phishing Triage".into(),
                }],
                ..RunAs::default()
            }
        } else {
            RunAs::default()
        }));
        let checklist = rules::plan(
            &ctx.actor,
            &ctx.settings,
            abilities,
            Facts {
                account: &user,
                run_as: run_as.as_ref(),
            },
            Asked {
                playbooks_to: None,
                jobs_to: None,
                delete,
            },
            &|what| match what {
                crate::domain::run_as::Inheritance::Playbooks => {
                    "with :offboard playbooks=ACCOUNT".into()
                }
                crate::domain::run_as::Inheritance::JobApps => {
                    "with :offboard jobs=API_ACCOUNT".into()
                }
            },
        );
        planned.push(Planned {
            account: user,
            run_as,
            checklist,
        });
    }
    OffboardPlan {
        accounts: planned,
        missing: Vec::new(),
        heirs: Heirs::default(),
        delete,
        abilities,
    }
}

/// `O` (or `:offboard ARGS`) on dave and erin, answered with their plan.
fn offboard_preview(app: &mut App, args: Option<&str>, delete: bool) -> u64 {
    type_keys(app, "jjj  ");
    let commands = match args {
        None => type_keys(app, "O"),
        Some(args) => command(app, &format!("offboard {args}")),
    };
    let Some(Command::PlanOffboard { id, ask }) = commands.first().cloned() else {
        panic!("a PlanOffboard command: {commands:?}");
    };
    assert_eq!(ask.ids, [5, 6], "the marked accounts, in table order");
    assert_eq!(ask.delete, delete);
    assert_eq!(app.mode(), Mode::Offboard);
    app.update(Action::Worker(Event::OffboardPlanned {
        id,
        plan: Ok(Box::new(offboard_plan(&[5, 6], delete))),
    }));
    id
}

fn offboard_job(commands: &[Command]) -> (u64, crate::worker::OffboardJob) {
    commands
        .iter()
        .find_map(|c| match c {
            Command::RunOffboard { id, job } => Some((*id, (**job).clone())),
            _ => None,
        })
        .expect("a RunOffboard command")
}

#[test]
fn offboard_preview_80x24_and_40x10() {
    let mut app = loaded(admin()).with_no_color(true);
    offboard_preview(&mut app, None, false);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("Offboard 2 accounts"), "{text}");
    assert!(
        text.contains("blocked: dave@demo.example is the Run As"),
        "{text}"
    );
    assert!(
        text.contains("to do: remove from 1 group: SOC Analysts"),
        "{text}"
    );
    insta::assert_snapshot!("offboard_preview_80x24", text);
    insta::assert_snapshot!("offboard_preview_40x10", screen(&mut app, 40, 10));
    // Scrolling reaches the last step of the last account.
    app.handle_key(key(KeyCode::End));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("kept: deleting was not asked for"), "{text}");
}

#[test]
fn offboard_runs_on_yes_and_follows_each_step_to_its_end() {
    let mut app = loaded(admin());
    offboard_preview(&mut app, None, false);
    let commands = type_keys(&mut app, "y");
    let (id, job) = offboard_job(&commands);
    assert_eq!(job.journal, journal());
    let ids: Vec<i64> = job.run.plan.accounts.iter().map(|p| p.account.id).collect();
    assert_eq!(ids, [5, 6]);
    // Quitting now would interrupt a run (the exit says so).
    assert!(app.bulk_running());
    let step = |account_id: i64, step, state| Event::OffboardStep {
        id,
        event: crate::ops::offboard::StepEvent {
            account_id,
            user_name: format!("{account_id}"),
            step,
            state,
        },
    };
    use crate::domain::offboard::{Step, StepState};
    app.update(Action::Worker(step(
        6,
        Step::Disable,
        StepState::Done("disabled".into()),
    )));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("running: each step ends below"), "{text}");
    assert!(text.contains("Disable     done: disabled"), "{text}");
    let mut lists = job.run.plan.checklists();
    for list in &mut lists {
        list.set(Step::Groups, StepState::Done("removed".into()));
        list.set(Step::Disable, StepState::Done("disabled".into()));
    }
    let lists_done = lists.clone();
    app.update(Action::Worker(Event::OffboardDone {
        id,
        lists: Ok(lists),
    }));
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains("2 accounts: 1 with every step done"),
        "{text}"
    );
    // The table follows: both disabled now.
    for id in [5, 6] {
        let row = app.rows.iter().find(|r| r.user.id == id).unwrap();
        assert_eq!(row.user.disabled, Some(true));
    }
    // The run's results, as `rollcall journal --run RUN_ID --format csv`.
    command(&mut app, "export /tmp/offboard-results.csv");
    let effects = app.take_effects();
    match effects.as_slice() {
        [super::effects::Effect::ExportResults { run_id, .. }] => {
            assert_eq!(run_id, &job.run.meta.run_id)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(app.mode(), Mode::Offboard);
    // FILE.md: the run's report, as `rollcall offboard --report` writes it.
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.md");
    command(&mut app, &format!("export {}", report.display()));
    let effects = app.take_effects();
    let said = super::effects::perform(&effects[0], None).unwrap();
    assert!(said.starts_with("wrote the report of run"), "{said}");
    let mut wanted = Vec::new();
    crate::ops::offboard::write_markdown(&job.run.meta.run_id, &lists_done, &mut wanted).unwrap();
    assert_eq!(std::fs::read(&report).unwrap(), wanted);
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::Table);
}

#[test]
fn offboard_with_delete_needs_the_count_typed() {
    let mut app = loaded(admin());
    offboard_preview(&mut app, Some("delete"), true);
    // Erin's delete is to do; dave's is blocked by what runs as him.
    assert!(type_keys(&mut app, "y").is_empty());
    let status = app.status().expect("a status");
    assert!(
        status.is_error && status.text.starts_with("type 1 and Enter"),
        "{}",
        status.text
    );
    type_keys(&mut app, "1");
    assert!(screen(&mut app, 80, 24).contains("Type 1 to delete for good, then Enter: 1_"));
    let commands = app.handle_key(key(KeyCode::Enter));
    let (_, job) = offboard_job(&commands);
    assert!(job.run.plan.delete);
}

#[test]
fn offboard_escape_sends_nothing_and_bad_words_are_refused() {
    let mut app = loaded(admin());
    offboard_preview(&mut app, None, false);
    // Nothing to export before the run.
    command(&mut app, "export /tmp/nothing.csv");
    assert!(app.take_effects().is_empty());
    assert!(app
        .status()
        .unwrap()
        .text
        .contains("once the run has ended"));
    // The view takes the whole height, yet the answer to a `:` command is
    // in sight, at 80x24 and at 40x10 ...
    for (width, height) in [(80, 24), (40, 10)] {
        let text = screen(&mut app, width, height);
        assert!(text.contains("Error: "), "{width}x{height}:\n{text}");
    }
    // ... and so is the command as it is typed.
    type_keys(&mut app, ":export /tmp/x.md");
    for (width, height) in [(80, 24), (40, 10)] {
        let text = screen(&mut app, width, height);
        assert!(
            text.contains(":export /tmp/x.md"),
            "{width}x{height}:\n{text}"
        );
    }
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::Offboard);
    assert!(app.handle_key(key(KeyCode::Esc)).is_empty());
    assert_eq!(app.mode(), Mode::Table);
    // Esc while the plan is read cancels the reading.
    let commands = type_keys(&mut app, "O");
    let Some(Command::PlanOffboard { id, .. }) = commands.first().cloned() else {
        panic!("{commands:?}");
    };
    assert_eq!(app.handle_key(key(KeyCode::Esc)), [Command::Cancel { id }]);
    assert!(command(&mut app, "offboard purge").is_empty());
    assert!(app
        .status()
        .unwrap()
        .text
        .contains("expected playbooks=ACCOUNT"));
    let mut app = loaded(context(
        SystemRole::Administrator,
        OrgRole::OrganizationAdministrator,
        true,
    ));
    assert!(type_keys(&mut app, "O").is_empty());
    assert!(app
        .status()
        .unwrap()
        .text
        .starts_with("read-only: offboarding"));
}

// ---- :export of a run's results ----

/// Writes what a run of `action` on `ids` leaves in the journal: each
/// account's intent and outcome (the last one failed).
fn journal_of_run(path: &std::path::Path, run_id: &str, action: &str, ids: &[i64]) {
    use crate::journal::{Entry, Journal, Phase};
    let mut journal = Journal::open(path).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let mut entry = Entry {
            time: now(),
            instance: "http://127.0.0.1:1/api".into(),
            actor: "admin@demo.example".into(),
            run_id: run_id.into(),
            phase: Phase::Intent,
            action: action.into(),
            account_id: *id,
            account_name: format!("=user{id}"),
            change: serde_json::json!({"disabled": true}),
            before: serde_json::json!({"disabled": false}),
            ok: None,
            message: None,
            state: None,
            created_id: None,
        };
        journal.append(&entry).unwrap();
        entry.phase = Phase::Outcome;
        let last = i + 1 == ids.len();
        entry.ok = Some(!last);
        entry.message = last.then(|| "refused, \"no\"".to_string());
        journal.append(&entry).unwrap();
    }
}

/// What `rollcall journal --run RUN_ID --format csv|json` writes.
fn journal_format(path: &std::path::Path, run_id: &str, csv: bool) -> String {
    let contents = crate::journal::read(path).unwrap();
    let rows = crate::journal::action_results(&contents.entries, run_id);
    let mut out = Vec::new();
    if csv {
        crate::ops::results::write_csv(&rows, &mut out).unwrap();
    } else {
        crate::ops::results::write_json(&rows, &mut out).unwrap();
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn export_in_the_results_writes_the_runs_results_as_the_journal_command_does() {
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.jsonl");
    let mut app = App::new(admin())
        .with_now(now())
        .with_journal(Some(journal_path.clone()));
    let commands = app.start();
    load(&mut app, &commands, accounts());
    type_keys(&mut app, "jjjj  ");
    let commands = type_keys(&mut app, "dy");
    let (id, job) = run_job(&commands);
    let run_id = job.request.meta.run_id.clone();
    // The worker's run, as the journal has it.
    journal_of_run(&journal_path, &run_id, "disable", &[6, 7]);
    app.update(Action::Worker(Event::BulkDone {
        id,
        results: vec![
            row(6, "erin", RowOutcome::Ok),
            row(7, "frank", RowOutcome::Failed("refused".into())),
        ],
    }));
    assert_eq!(app.mode(), Mode::BulkResults);
    for (file, csv) in [("results.csv", true), ("results.json", false)] {
        let out = dir.path().join(file);
        let commands = command(&mut app, &format!("export {}", out.display()));
        assert!(commands.is_empty());
        assert_eq!(app.mode(), Mode::BulkResults, "the results stay open");
        let effects = app.take_effects();
        assert_eq!(effects.len(), 1);
        let said = super::effects::perform(&effects[0], None).unwrap();
        assert_eq!(
            said,
            format!("exported 2 results of run {run_id} to {}", out.display())
        );
        let written = std::fs::read_to_string(&out).unwrap();
        assert_eq!(written, journal_format(&journal_path, &run_id, csv));
    }
    let csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    assert!(csv.contains(",disable,6,'=user6,ok,"), "{csv}");
    assert!(csv.contains(",failed,\"refused, \"\"no\"\"\""), "{csv}");
    // Only :export is taken over the results.
    assert!(command(&mut app, "filter bob").is_empty());
    assert!(app
        .status()
        .unwrap()
        .text
        .starts_with(":filter works from the accounts table"));
    assert_eq!(app.mode(), Mode::BulkResults);
    // A run the journal does not have says so.
    app.handle_key(key(KeyCode::Esc));
    let mut app = App::new(admin())
        .with_now(now())
        .with_journal(Some(dir.path().join("empty.jsonl")));
    let commands = app.start();
    load(&mut app, &commands, accounts());
    let commands = type_keys(&mut app, "jjjjdy");
    let (id, _) = run_job(&commands);
    app.update(Action::Worker(Event::BulkDone {
        id,
        results: vec![row(6, "erin", RowOutcome::Ok)],
    }));
    command(
        &mut app,
        &format!("export {}", dir.path().join("x.csv").display()),
    );
    let effects = app.take_effects();
    let error = super::effects::perform(&effects[0], None).unwrap_err();
    assert!(error.contains("has no results of run"), "{error}");
}

// ---- :import and the undo of an import ----

fn import_plan() -> crate::ops::import::ImportPlan {
    let ctx = admin();
    let context = crate::ops::import::ImportContext {
        actor: ctx.actor.clone(),
        settings: ctx.settings.clone(),
        extensions: Default::default(),
        not_updatable: Default::default(),
        org: ORG.into(),
        generate_tokens: false,
    };
    let csv = "type,userName,password,firstName,lastName,disabled\n\
               user,new.one@demo.example,,New,One,\n\
               ,erin@demo.example,,Erin,Renamed,\n\
               ,frank@demo.example,,frank,Tester,false\n\
               user,not-an-address,,Bad,Mail,\n";
    crate::ops::import::plan(&context, csv, &accounts()).unwrap()
}

#[test]
fn import_previews_as_the_command_line_then_runs_as_a_bulk_run() {
    let mut app = loaded(admin()).with_no_color(true);
    let commands = command(&mut app, "import ~/people.csv");
    let Some(Command::PlanImport { id, ask }) = commands.first().cloned() else {
        panic!("{commands:?}");
    };
    assert!(ask.path.ends_with("people.csv"), "{:?}", ask.path);
    assert_eq!(ask.org.as_deref(), Some(ORG));
    let plan = import_plan();
    let lines = crate::ops::import::preview_lines(&plan, "people.csv");
    app.update(Action::Worker(Event::ImportPlanned {
        id,
        file: "people.csv".into(),
        org: ORG.into(),
        plan: Ok(Box::new(plan.clone())),
    }));
    assert_eq!(app.mode(), Mode::ImportConfirm);
    let text = screen(&mut app, 80, 24);
    // The command line's own lines.
    for line in &lines[..6] {
        assert!(text.contains(line.as_str()), "{line}\n{text}");
    }
    assert!(
        text.contains("line 5, userName: E-Mail must look like"),
        "{text}"
    );
    insta::assert_snapshot!("import_preview_80x24", text);
    insta::assert_snapshot!("import_preview_40x10", screen(&mut app, 40, 10));
    let commands = type_keys(&mut app, "y");
    let Some(Command::RunImport { id, job }) = commands.first().cloned() else {
        panic!("{commands:?}");
    };
    assert_eq!(job.plan, plan);
    assert_eq!(job.journal, journal());
    assert_eq!(app.mode(), Mode::BulkProgress);
    app.update(Action::Worker(Event::BulkRow {
        id,
        result: row(-2, "line 2, create new.one", RowOutcome::Ok),
    }));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("Import 2 accounts: 1 of 2"), "{text}");
    app.update(Action::Worker(Event::BulkDone {
        id,
        results: vec![
            row(-2, "line 2, create new.one", RowOutcome::Ok),
            row(
                6,
                "line 3, update erin",
                RowOutcome::Failed("refused".into()),
            ),
        ],
    }));
    assert_eq!(app.mode(), Mode::BulkResults);
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains("import: 1 ok, 1 failed, 0 not sent"),
        "{text}"
    );
    assert!(
        text.contains("Unchanged: 1; invalid or not allowed: 1 (not sent)"),
        "{text}"
    );
    insta::assert_snapshot!("import_results_80x24", text);
    // A retry of an import is the same file again.
    assert!(type_keys(&mut app, "r").is_empty());
    assert!(app
        .status()
        .unwrap()
        .text
        .contains(":import FILE.csv again"));
}

#[test]
fn import_undo_is_previewed_and_its_deletions_are_typed() {
    let mut app = loaded(admin()).with_no_color(true);
    let commands = command(&mut app, "undo 20261205T100000-00a1");
    let Some(Command::PlanUndo { id, asker, .. }) = commands.first().cloned() else {
        panic!("{commands:?}");
    };
    assert_eq!(asker.actor, admin().actor);
    let original = summary("20261205T100000-00a1", "import", 3, 0);
    let plan = crate::ops::undo::ImportUndoPlan {
        original: Some(original),
        deletes: vec![accounts()[4].clone(), accounts()[5].clone()],
        restores: vec![crate::ops::undo::Restore {
            user: accounts()[3].clone(),
            body: serde_json::json!({"lastName": "Tester"}),
            set: serde_json::json!({"lastName": "Renamed"}),
        }],
        missing: vec![(9, "gone@demo.example".into())],
        ..Default::default()
    };
    app.update(Action::Worker(Event::ImportUndoPlanned {
        id,
        plan: Ok(Box::new(plan.clone())),
    }));
    assert_eq!(app.mode(), Mode::ImportConfirm);
    let text = screen(&mut app, 80, 24);
    for line in crate::ops::undo::import_undo_lines(&plan) {
        assert!(
            text.contains(line.trim()) || line.len() > 76,
            "{line}\n{text}"
        );
    }
    insta::assert_snapshot!("import_undo_preview_80x24", text);
    insta::assert_snapshot!("import_undo_preview_40x10", screen(&mut app, 40, 10));
    // A y is not enough to delete: the count is typed.
    assert!(type_keys(&mut app, "y").is_empty());
    assert!(app.status().unwrap().text.starts_with("type 2 and Enter"));
    type_keys(&mut app, "2");
    let commands = app.handle_key(key(KeyCode::Enter));
    let Some(Command::RunImportUndo { job, .. }) = commands.first().cloned() else {
        panic!("{commands:?}");
    };
    assert_eq!(job.plan, plan);
    assert_eq!(app.mode(), Mode::BulkProgress);
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains("Undo the import of 3 accounts: 0 of 3"),
        "{text}"
    );
}

#[test]
fn import_needs_a_file_and_esc_sends_nothing() {
    let mut app = loaded(admin());
    assert!(command(&mut app, "import").is_empty());
    let commands = command(&mut app, "import people.csv");
    let Some(Command::PlanImport { id, .. }) = commands.first().cloned() else {
        panic!("{commands:?}");
    };
    app.update(Action::Worker(Event::ImportPlanned {
        id,
        file: "people.csv".into(),
        org: ORG.into(),
        plan: Err("cannot read people.csv: No such file".into()),
    }));
    assert_eq!(app.mode(), Mode::Table);
    assert!(app
        .status()
        .unwrap()
        .text
        .contains("cannot read people.csv"));
    let commands = command(&mut app, "import people.csv");
    let Some(Command::PlanImport { id, .. }) = commands.first().cloned() else {
        panic!("{commands:?}");
    };
    app.update(Action::Worker(Event::ImportPlanned {
        id,
        file: "people.csv".into(),
        org: ORG.into(),
        plan: Ok(Box::new(import_plan())),
    }));
    assert!(app.handle_key(key(KeyCode::Esc)).is_empty());
    assert_eq!(app.mode(), Mode::Table);
    let mut app = loaded(context(
        SystemRole::Administrator,
        OrgRole::OrganizationAdministrator,
        true,
    ));
    assert!(command(&mut app, "import people.csv").is_empty());
}

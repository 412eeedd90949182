//! Console tests: snapshots of the real drawing code on a TestBackend, key
//! sequences through `App::handle_key` (the function the event loop calls),
//! and worker events injected as messages. The clock is fixed.

use super::registry::Cmd;
use super::*;
use crate::api::wire::{ext, OrgLimits};
use crate::api::ApiError;
use crate::domain::{GroupRef, OrgRole, SystemRole, User};
use crate::worker::Event;
use chrono::{DateTime, Duration, TimeZone};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const ORG: &str = "Demo Organization";

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn actor(system_role: SystemRole, org_role: Option<OrgRole>) -> Actor {
    Actor {
        id: Some(1),
        user_name: "admin@demo.example".into(),
        system_role: Some(system_role),
        org_role,
        home_org: ORG.into(),
        ..Default::default()
    }
}

fn capabilities() -> Capabilities {
    let mut caps = Capabilities::default();
    for name in [ext::USER_GROUPS_FIELD, ext::MFA_FIELD, ext::LIMITS] {
        caps.extensions.insert(name.to_string());
    }
    caps.extra_fields.insert(ext::USER_GROUPS_FIELD.to_string());
    caps.extra_fields.insert(ext::MFA_FIELD.to_string());
    caps
}

fn context(actor: Actor) -> ConsoleContext {
    ConsoleContext {
        actor,
        settings: InstanceSettings {
            password_max_age_days: Some(90),
            ..Default::default()
        },
        capabilities: capabilities(),
        instance: "sandbox 127.0.0.1:8443".into(),
        read_only: false,
    }
}

pub(super) fn admin() -> ConsoleContext {
    context(actor(
        SystemRole::Administrator,
        Some(OrgRole::OrganizationAdministrator),
    ))
}

pub(super) fn org_admin() -> ConsoleContext {
    context(actor(
        SystemRole::User,
        Some(OrgRole::OrganizationAdministrator),
    ))
}

fn groups(names: &[&str]) -> Option<Vec<GroupRef>> {
    Some(
        names
            .iter()
            .enumerate()
            .map(|(i, n)| GroupRef {
                id: i as i64 + 1,
                name: n.to_string(),
            })
            .collect(),
    )
}

#[allow(clippy::too_many_arguments)]
fn account(
    id: i64,
    user_name: &str,
    first: &str,
    last: &str,
    system_role: &str,
    org_role: &str,
    (disabled, locked, mfa): (bool, bool, bool),
    last_login_days: Option<i64>,
    password_changed_days: i64,
    group_names: &[&str],
) -> User {
    User {
        id,
        user_name: user_name.into(),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        owner: Some(ORG.into()),
        system_role: Some(system_role.into()),
        owner_roles: Some(crate::domain::OwnerRoles::from([
            (ORG.to_string(), org_role.to_string()),
            ("Demo Community".to_string(), "Contributor".to_string()),
        ])),
        disabled: Some(disabled),
        locked: Some(locked),
        password_reset_required: Some(false),
        two_factor_reset_required: Some(false),
        terms_accepted: Some(true),
        last_login: last_login_days.map(|d| now() - Duration::days(d) - Duration::hours(2)),
        last_password_change: Some(now() - Duration::days(password_changed_days)),
        user_groups: groups(group_names),
        mfa_enabled: Some(mfa),
        ..Default::default()
    }
}

/// A small Organization covering every state the table shows.
pub(super) fn accounts() -> Vec<User> {
    vec![
        account(
            2,
            "alice@demo.example",
            "Alice",
            "Anders",
            "Administrator",
            "Organization Administrator",
            (false, false, true),
            Some(0),
            10,
            &["Admins"],
        ),
        account(
            3,
            "bob@demo.example",
            "Bob",
            "Brown",
            "User",
            "Standard User",
            (false, true, false),
            Some(3),
            100,
            &["Analysts", "SOC"],
        ),
        account(
            4,
            "carol@demo.example",
            "Carol",
            "Chen",
            "Read Only User",
            "Read Only User",
            (true, false, false),
            Some(800),
            30,
            &[],
        ),
        account(
            5,
            "dave-api",
            "Dave",
            "Automation",
            "Api User",
            "Standard User",
            (false, false, false),
            None,
            5,
            &[],
        ),
        account(
            6,
            "eve\u{1b}[31m@demo.example",
            "Eve\u{7}",
            "Evil\u{1b}]0;pwned\u{7}",
            "Taxii User",
            "Standard User",
            (false, false, false),
            Some(40),
            89,
            &["Feeds"],
        ),
        User {
            id: 7,
            user_name: "frank@demo.example".into(),
            first_name: Some("Frank".into()),
            owner: Some(ORG.into()),
            ..Default::default()
        },
        account(
            8,
            "gina@demo.example",
            "Gina",
            "Garcia",
            "Super User",
            "Organization Administrator",
            (false, true, true),
            Some(130),
            45,
            &["Admins", "SOC"],
        ),
    ]
}

pub(super) fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// Feeds every character as a key press; returns the commands.
pub(super) fn type_keys(app: &mut App, keys: &str) -> Vec<Command> {
    keys.chars()
        .flat_map(|c| app.handle_key(key(KeyCode::Char(c))))
        .collect()
}

fn users_request(commands: &[Command]) -> u64 {
    commands
        .iter()
        .find_map(|c| match c {
            Command::LoadUsers { id, .. } => Some(*id),
            _ => None,
        })
        .expect("a LoadUsers command")
}

fn page(id: u64, users: Vec<User>, total: Option<u64>) -> Action {
    Action::Worker(Event::UsersPage { id, users, total })
}

/// An App with all accounts loaded and the listing finished.
pub(super) fn loaded(ctx: ConsoleContext) -> App {
    let mut app = App::new(ctx).with_now(now());
    let commands = app.start();
    let id = users_request(&commands);
    app.update(page(id, accounts(), Some(7)));
    app.update(Action::Worker(Event::UsersDone { id }));
    let limits_request = commands.iter().find_map(|c| match c {
        Command::LoadLimits { id } => Some(*id),
        _ => None,
    });
    if let Some(limits_id) = limits_request {
        app.update(Action::Worker(Event::Limits {
            id: limits_id,
            limits: vec![OrgLimits {
                organization: ORG.into(),
                user_limit: Some(10),
                api_limit: Some(2),
                taxii_limit: None,
                users: 4,
                api_users: 1,
                taxii_users: 1,
                read_only_users: 1,
            }],
        }));
    }
    app
}

pub(super) fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let mut geometry = Geometry::default();
    terminal.draw(|frame| geometry = draw(app, frame)).unwrap();
    app.update(Action::Geometry(geometry));
    terminal.backend().to_string()
}

pub(super) fn shown_names(app: &App) -> Vec<String> {
    app.view
        .iter()
        .map(|&i| app.rows[i as usize].user.user_name.clone())
        .collect()
}

// ---- snapshots ----

#[test]
fn main_view_admin_80x24() {
    let mut app = loaded(admin());
    let text = screen(&mut app, 80, 24);
    // The Membership tab's everyday columns, the rest one Right away.
    for title in [
        "Account",
        "Type",
        "Status",
        "Last Login",
        "Pw Expires",
        "Groups",
        "›",
    ] {
        assert!(text.contains(title), "{title}");
    }
    assert!(!text.contains("System Role"));
    assert!(!text.contains('\u{1b}'), "escape reached the screen");
    insta::assert_snapshot!(text);
}

#[test]
fn main_view_admin_40x10() {
    let mut app = loaded(admin());
    insta::assert_snapshot!(screen(&mut app, 40, 10));
}

#[test]
fn main_view_org_admin_has_no_system_role_column_80x24() {
    let mut app = loaded(org_admin());
    let text = screen(&mut app, 80, 24);
    assert!(!text.contains("System Role"));
    insta::assert_snapshot!(text);
}

#[test]
fn main_view_org_admin_40x10() {
    let mut app = loaded(org_admin());
    insta::assert_snapshot!(screen(&mut app, 40, 10));
}

#[test]
fn wide_view_shows_every_column() {
    let mut app = loaded(admin());
    insta::assert_snapshot!(screen(&mut app, 140, 16));
}

#[test]
fn filtered_view_80x24() {
    let mut app = loaded(admin());
    type_keys(&mut app, "/status:locked");
    assert_eq!(app.counts(), (7, 2));
    insta::assert_snapshot!("filter_prompt_80x24", screen(&mut app, 80, 24));
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Table);
    insta::assert_snapshot!("filter_kept_80x24", screen(&mut app, 80, 24));
}

#[test]
fn filtered_view_40x10() {
    let mut app = loaded(admin());
    type_keys(&mut app, "/bob");
    insta::assert_snapshot!(screen(&mut app, 40, 10));
}

#[test]
fn help_80x24_and_40x10() {
    let mut app = loaded(admin());
    type_keys(&mut app, "?");
    assert_eq!(app.mode(), Mode::Help);
    insta::assert_snapshot!("help_80x24", screen(&mut app, 80, 24));
    insta::assert_snapshot!("help_40x10", screen(&mut app, 40, 10));
}

#[test]
fn detail_80x24_and_40x10() {
    let mut app = loaded(admin());
    // Sorted by account: alice, bob, carol, dave-api, eve...
    type_keys(&mut app, "jj");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Detail);
    insta::assert_snapshot!("detail_80x24", screen(&mut app, 80, 24));
    insta::assert_snapshot!("detail_40x10", screen(&mut app, 40, 10));
}

#[test]
fn detail_of_a_basic_fields_account_says_not_returned() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjjjj");
    assert_eq!(
        app.selected_user().map(|u| u.user_name.as_str()),
        Some("frank@demo.example")
    );
    app.handle_key(key(KeyCode::Enter));
    let text = screen(&mut app, 80, 40);
    assert!(text.contains("not returned"));
    insta::assert_snapshot!(text);
}

#[test]
fn detail_sanitizes_escape_sequences() {
    let mut app = loaded(admin());
    type_keys(&mut app, "jjjj");
    app.handle_key(key(KeyCode::Enter));
    let text = screen(&mut app, 100, 40);
    assert!(text.contains("eve\\e[31m@demo.example"));
    assert!(text.contains("Evil\\e]0;pwned\\x07"));
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
}

#[test]
fn loading_80x24_and_40x10() {
    let mut app = App::new(admin()).with_now(now());
    let id = users_request(&app.start());
    insta::assert_snapshot!("loading_empty_40x10", screen(&mut app, 40, 10));
    app.update(page(id, accounts()[..3].to_vec(), Some(500)));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("loading 3 of 500"));
    insta::assert_snapshot!("loading_first_page_80x24", text);
}

#[test]
fn error_80x24_and_40x10() {
    let mut ctx = admin();
    ctx.read_only = true;
    let mut app = App::new(ctx).with_now(now());
    let id = users_request(&app.start());
    app.update(Action::Worker(Event::Failed {
        id,
        what: "loading accounts",
        error: ApiError::Network {
            url: "https://tc.example/api/v3/security/users".into(),
            reason: "connection refused".into(),
        },
    }));
    assert_eq!(app.status().map(|s| s.is_error), Some(true));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("READ-ONLY"));
    insta::assert_snapshot!("error_80x24", text);
    insta::assert_snapshot!("error_40x10", screen(&mut app, 40, 10));
}

#[test]
fn org_picker_80x24() {
    let mut app = loaded(admin());
    let id = 2; // start(): users 1, Organizations 2, limits 3
    app.update(Action::Worker(Event::Organizations {
        id,
        names: vec!["Acme Corp".into(), ORG.into(), "Zeta\u{1b}[2J".into()],
    }));
    type_keys(&mut app, "o");
    assert_eq!(app.mode(), Mode::OrgPicker);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn no_size_panics_from_80x24_down_to_tiny() {
    for mode_keys in ["", "?", "\n", "/bo", ":so"] {
        for (w, h) in [(80, 24), (60, 15), (40, 10), (20, 5), (10, 3), (1, 1)] {
            let mut app = loaded(admin());
            for c in mode_keys.chars() {
                let code = if c == '\n' {
                    KeyCode::Enter
                } else {
                    KeyCode::Char(c)
                };
                app.handle_key(key(code));
            }
            screen(&mut app, w, h);
        }
    }
}

#[test]
fn no_color_still_marks_the_selection() {
    let app = loaded(admin()).with_no_color(true);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| {
            draw(&app, frame);
        })
        .unwrap();
    let buffer = terminal.backend().buffer();
    // Header 3 lines, then the column titles, then the first (selected) row.
    let row = 4;
    assert_eq!(buffer[(0, row)].symbol(), ">");
    assert!(buffer[(5, row)]
        .modifier
        .contains(ratatui::style::Modifier::REVERSED));
    for y in 0..24 {
        for x in 0..80 {
            let cell = &buffer[(x, y)];
            assert_eq!(cell.fg, ratatui::style::Color::Reset, "colour at {x},{y}");
            assert_eq!(cell.bg, ratatui::style::Color::Reset, "colour at {x},{y}");
        }
    }
}

#[test]
fn help_lists_every_binding_and_command() {
    let mut app = loaded(admin());
    type_keys(&mut app, "?");
    let text = screen(&mut app, 100, 400);
    for section in app.keymap.sections() {
        for binding in &section.bindings {
            assert!(text.contains(binding.doc), "{}", binding.doc);
            for key in &binding.keys {
                assert!(text.contains(&key.label()), "{}", key.label());
            }
        }
    }
    for cmd in Cmd::ALL {
        if cmd.spec().prompt {
            assert!(text.contains(cmd.doc()), "{}", cmd.doc());
        }
        // Every name the config file's [keys] takes.
        assert!(text.contains(cmd.name()), "{}", cmd.name());
    }
    for column in Column::ALL {
        assert!(text.contains(column.key()), "{}", column.key());
    }
}

// ---- keys and events ----

#[test]
fn accounts_request_asks_for_extension_fields_when_listed() {
    let mut app = App::new(admin());
    let commands = app.start();
    let Some(Command::LoadUsers { org, query, .. }) = commands.first() else {
        panic!("no listing: {commands:?}");
    };
    assert_eq!(org.as_deref(), Some(ORG));
    assert_eq!(query.fields, vec!["userGroups", "mfaEnabled"]);
    assert!(commands
        .iter()
        .any(|c| matches!(c, Command::LoadOrganizations { .. })));
    assert!(commands
        .iter()
        .any(|c| matches!(c, Command::LoadLimits { .. })));

    let mut bare = org_admin();
    bare.capabilities = Capabilities::default();
    let commands = App::new(bare).start();
    assert_eq!(commands.len(), 1, "{commands:?}");
    let Some(Command::LoadUsers { query, .. }) = commands.first() else {
        panic!("no listing");
    };
    assert!(query.fields.is_empty());
}

#[test]
fn an_actor_who_sees_only_itself_lists_without_an_organization() {
    let mut app = App::new(context(actor(
        SystemRole::ReadOnlyUser,
        Some(OrgRole::ReadOnlyUser),
    )));
    let commands = app.start();
    let Some(Command::LoadUsers { org, query, .. }) = commands.first() else {
        panic!("no listing: {commands:?}");
    };
    assert_eq!((org, &query.owner), (&None, &None));
    assert!(app.read_only());
}

#[test]
fn stale_pages_are_dropped() {
    let mut app = App::new(admin()).with_now(now());
    let first = users_request(&app.start());
    app.update(page(first, accounts()[..2].to_vec(), None));
    let commands = app.handle_key(key(KeyCode::Char('r')));
    assert!(commands.contains(&Command::Cancel { id: first }));
    let second = users_request(&commands);
    assert_ne!(first, second);
    assert_eq!(app.counts(), (0, 0));
    app.update(page(first, accounts(), None));
    app.update(Action::Worker(Event::Failed {
        id: first,
        what: "loading accounts",
        error: ApiError::Config("late".into()),
    }));
    assert_eq!(app.counts(), (0, 0));
    assert!(app.status().is_none());
    app.update(page(second, accounts()[..3].to_vec(), None));
    assert_eq!(app.counts(), (3, 3));
}

#[test]
fn table_is_usable_while_loading_and_pages_merge_in_order() {
    let mut app = App::new(admin()).with_now(now());
    let id = users_request(&app.start());
    app.set_sort(Column::Account, true);
    let mut all = accounts();
    let tail = all.split_off(3);
    app.update(page(id, tail, None));
    type_keys(&mut app, "G");
    let last = app.selected_user().map(|u| u.user_name.clone());
    app.update(page(id, all, None));
    // The cursor stays on the same account while rows arrive around it.
    assert_eq!(app.selected_user().map(|u| u.user_name.clone()), last);
    let names = shown_names(&app);
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);
    assert!(matches!(app.load, LoadState::Loading { .. }));
}

#[test]
fn network_error_shows_and_keys_still_work() {
    let mut app = loaded(admin());
    let commands = app.handle_key(key(KeyCode::Char('r')));
    let id = users_request(&commands);
    app.update(Action::Worker(Event::Failed {
        id,
        what: "loading accounts",
        error: ApiError::Http {
            status: 503,
            message: "API not licensed\u{1b}[5m".into(),
            err_code: None,
        },
    }));
    assert_eq!(app.load, LoadState::Failed);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("Error: loading accounts failed: API not licensed\\e[5m"));
    type_keys(&mut app, "?");
    assert_eq!(app.mode(), Mode::Help);
    app.handle_key(key(KeyCode::Esc));
    let retry = app.handle_key(key(KeyCode::F(5)));
    assert!(users_request(&retry) > id);
}

#[test]
fn navigation_keys() {
    let mut app = loaded(admin());
    let name = |app: &App| app.selected_user().map(|u| u.id);
    type_keys(&mut app, "G");
    assert_eq!(app.table.selected, 6);
    type_keys(&mut app, "g");
    assert_eq!(app.table.selected, 0);
    app.handle_key(key(KeyCode::End));
    assert_eq!(app.table.selected, 6);
    app.handle_key(key(KeyCode::Home));
    type_keys(&mut app, "jjk");
    assert_eq!(app.table.selected, 1);
    app.handle_key(key(KeyCode::Down));
    app.handle_key(key(KeyCode::Up));
    // Sorted by last name: Anders, Automation, ...
    assert_eq!(name(&app), Some(5));
    screen(&mut app, 80, 8); // 4 rows on a page
    assert_eq!(app.table.page(), 4);
    app.handle_key(ctrl('d'));
    assert_eq!(app.table.selected, 1 + app.table.page());
    app.handle_key(key(KeyCode::PageDown));
    assert_eq!(app.table.selected, 6);
    app.handle_key(ctrl('u'));
    app.handle_key(key(KeyCode::PageUp));
    assert_eq!(app.table.selected, 0);
    type_keys(&mut app, "k");
    assert_eq!(app.table.selected, 0);
}

#[test]
fn sorting_by_any_column_both_ways() {
    let mut app = loaded(admin());
    // People first, by last name (a lone first name stands in for it).
    assert_eq!(app.sort, Column::Name);
    assert_eq!(shown_names(&app)[0], "alice@demo.example");
    assert_eq!(shown_names(&app)[1], "dave-api");
    assert_eq!(shown_names(&app)[5], "frank@demo.example");
    type_keys(&mut app, ":sort PW EXPIRES desc");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!((app.sort, app.ascending), (Column::PasswordExpires, false));
    type_keys(&mut app, ":sort Type");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.sort, Column::Type);
    type_keys(&mut app, ":sort last login desc");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!((app.sort, app.ascending), (Column::LastLogin, false));
    assert_eq!(shown_names(&app)[0], "alice@demo.example");
    type_keys(&mut app, "S");
    assert!(app.ascending);
    // Never and unknown sort before any date; the cursor stays on alice.
    assert_eq!(shown_names(&app)[..2], ["dave-api", "frank@demo.example"]);
    assert_eq!(app.selected_user().map(|u| u.id), Some(2));
    type_keys(&mut app, ":sort status");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.sort, Column::Status);
    type_keys(&mut app, ":sort nonsense");
    app.handle_key(key(KeyCode::Enter));
    assert!(app.status().is_some_and(|s| s.is_error));
    // Every column an actor sees is reachable with s and wraps around.
    let mut app = loaded(org_admin());
    let mut seen = vec![app.sort];
    for _ in 0..app.available_columns().len() {
        type_keys(&mut app, "s");
        seen.push(app.sort);
    }
    assert!(!seen.contains(&Column::SystemRole));
    assert_eq!(seen.first(), seen.last());
    app.handle_key(key(KeyCode::BackTab));
    assert_eq!(app.sort, Column::Groups);
}

#[test]
fn filter_applies_as_you_type_and_esc_clears() {
    let mut app = loaded(admin());
    type_keys(&mut app, "/b");
    assert_eq!(app.mode(), Mode::Filter);
    let broad = app.counts().1;
    type_keys(&mut app, "ob");
    assert_eq!(app.counts(), (7, 1));
    assert!(broad >= 1);
    // Esc in the prompt clears the filter.
    app.handle_key(key(KeyCode::Esc));
    assert_eq!((app.mode(), app.counts()), (Mode::Table, (7, 7)));
    // Enter keeps it; Esc in the table clears it.
    type_keys(&mut app, "/status:disabled");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!((app.mode(), app.counts()), (Mode::Table, (7, 1)));
    assert_eq!(app.active_filter(), Some("status:disabled"));
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.counts(), (7, 7));
    assert_eq!(app.active_filter(), None);
    // Backspace and Ctrl-w edit the prompt and re-filter.
    type_keys(&mut app, "/bob");
    app.handle_key(key(KeyCode::Backspace));
    assert_eq!(app.filter_input, "bo");
    app.handle_key(ctrl('w'));
    assert_eq!((app.filter_input.as_str(), app.counts().1), ("", 7));
}

#[test]
fn filter_applies_to_pages_arriving_later() {
    let mut app = App::new(admin()).with_now(now());
    let id = users_request(&app.start());
    let mut all = accounts();
    let rest = all.split_off(2);
    app.update(page(id, all, None));
    type_keys(&mut app, "/status:locked");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.counts(), (2, 1));
    app.update(page(id, rest, None));
    assert_eq!(app.counts(), (7, 2));
}

#[test]
fn a_bad_filter_keeps_the_last_view_and_says_why() {
    let mut app = loaded(admin());
    type_keys(&mut app, "/status:");
    // Whatever the parser thinks of the prefix, the screen must not break.
    screen(&mut app, 80, 24);
    type_keys(&mut app, "nonsense");
    assert!(app.filter_error.is_some());
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("bad filter"));
}

#[test]
fn org_command_and_picker_reload_another_organization() {
    let mut app = loaded(admin());
    app.update(Action::Worker(Event::Organizations {
        id: 2,
        names: vec!["Acme Corp".into(), ORG.into()],
    }));
    type_keys(&mut app, ":org acme corp");
    let commands = app.handle_key(key(KeyCode::Enter));
    let Some(Command::LoadUsers { org, .. }) = commands
        .iter()
        .find(|c| matches!(c, Command::LoadUsers { .. }))
    else {
        panic!("no reload: {commands:?}");
    };
    assert_eq!(org.as_deref(), Some("Acme Corp"));
    assert_eq!(app.current_org(), "Acme Corp");
    type_keys(&mut app, "o");
    assert_eq!(
        (app.mode(), app.picker.selected_item()),
        (Mode::OrgPicker, Some(0))
    );
    app.handle_key(key(KeyCode::Down));
    let commands = app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.current_org(), ORG);
    assert!(commands
        .iter()
        .any(|c| matches!(c, Command::LoadUsers { org: Some(o), .. } if o == ORG)));
    type_keys(&mut app, ":org Nowhere");
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
    assert!(app.status().is_some_and(|s| s.is_error));
}

#[test]
fn org_admin_gets_no_picker() {
    let mut app = loaded(org_admin());
    type_keys(&mut app, "o");
    assert_eq!(app.mode(), Mode::Table);
    assert!(app.status().is_some_and(|s| s.is_error));
    type_keys(&mut app, ":org Acme Corp");
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
}

#[test]
fn quitting() {
    let mut app = loaded(admin());
    type_keys(&mut app, "q");
    assert!(app.should_quit());
    let mut app = loaded(admin());
    type_keys(&mut app, ":q");
    app.handle_key(key(KeyCode::Enter));
    assert!(app.should_quit());
    let mut app = loaded(admin());
    type_keys(&mut app, "/");
    type_keys(&mut app, "q");
    assert!(!app.should_quit(), "q is text in the filter prompt");
    app.handle_key(ctrl('c'));
    assert!(app.should_quit());
}

#[test]
fn help_returns_to_the_mode_it_came_from() {
    let mut app = loaded(admin());
    type_keys(&mut app, "/");
    app.handle_key(key(KeyCode::F(1)));
    assert_eq!(app.mode(), Mode::Help);
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::Filter);
    app.handle_key(key(KeyCode::Esc));
    app.handle_key(key(KeyCode::Enter));
    type_keys(&mut app, "?");
    type_keys(&mut app, "?");
    assert_eq!(app.mode(), Mode::Detail);
}

#[test]
fn unknown_command_is_an_error_not_a_crash() {
    let mut app = loaded(admin());
    type_keys(&mut app, ":frobnicate now");
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
    assert!(app
        .status()
        .is_some_and(|s| s.is_error && s.text.contains("frobnicate")));
}

#[test]
fn tab_completes_command_names_at_the_prompt() {
    let mut app = loaded(admin());
    type_keys(&mut app, ":ref");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command_input, "refresh");
    // Several: what they share, and the names under the prompt.
    app.handle_key(ctrl('u'));
    type_keys(&mut app, "res");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command_input, "reset-");
    let text = screen(&mut app, 80, 24);
    assert!(text.contains(":reset-"), "{text}");
    assert!(text.contains(" reset-mfa, reset-password "), "{text}");
    // Tab again takes each in turn, round and round.
    for expected in ["reset-mfa", "reset-password", "reset-mfa"] {
        app.handle_key(key(KeyCode::Tab));
        assert_eq!(app.command_input, expected);
    }
    // Typing on ends the turn: the names go, Tab completes afresh.
    app.handle_key(key(KeyCode::Backspace));
    assert!(!screen(&mut app, 80, 24).contains("reset-password"));
    app.handle_key(ctrl('u'));
    type_keys(&mut app, "zz");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command_input, "zz");
    assert!(screen(&mut app, 80, 24).contains("no command starts with \"zz\""));
    // Past the name, Tab leaves the arguments alone.
    app.handle_key(ctrl('u'));
    type_keys(&mut app, "sort st");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command_input, "sort st");
    // The completed name runs.
    app.handle_key(ctrl('u'));
    type_keys(&mut app, "aud");
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Audit);
}

#[test]
fn tab_leaves_out_write_commands_when_read_only() {
    let mut ctx = admin();
    ctx.read_only = true;
    let mut app = loaded(ctx);
    type_keys(&mut app, ":re");
    // refresh and review read; reset-password and reset-mfa are left out.
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command_input, "re");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command_input, "refresh");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command_input, "review");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command_input, "refresh");
}

#[test]
fn help_opens_at_the_section_of_the_mode_it_came_from() {
    let mut app = loaded(admin());
    // Help from help stays where it is.
    for mode in Mode::ALL.into_iter().filter(|m| *m != Mode::Help) {
        app.layers.over_table(mode);
        // F1 works in every mode, text modes included.
        app.handle_key(key(KeyCode::F(1)));
        assert_eq!(app.mode(), Mode::Help, "{mode:?}");
        let title = app.keymap.title(keymap::Scope::In(mode));
        let text = screen(&mut app, 80, 24);
        let top = text.lines().nth(2).unwrap_or_default();
        if mode == Mode::Table {
            // The table's keys follow the few of every mode: help's top.
            assert!(top.contains("│Everywhere "), "{text}");
            assert!(text.contains(&format!("│{title} ")), "{text}");
        } else {
            assert!(top.contains(&format!("│{title} ")), "{mode:?}\n{text}");
        }
        app.handle_key(key(KeyCode::Esc));
        assert_eq!(app.mode(), mode, "Esc goes back exactly");
    }
    app.layers.close_all();
    // ? wherever it is not text: every mode but the prompts and fields.
    let text_modes = [Mode::Find, Mode::Form, Mode::Confirm, Mode::ReviewReason];
    for mode in Mode::ALL {
        let opens = app.keymap.lookup(mode, &key(KeyCode::Char('?'))) == Some(Cmd::Help);
        let closes = mode == Mode::Help;
        assert_eq!(opens || closes, !text_modes.contains(&mode), "{mode:?}");
    }
}

/// The keys in force for a config file holding `text`, read the way the
/// console reads it at start.
fn keys_from(text: &str) -> anyhow::Result<keymap::Keymap> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text)?;
    Ok(super::Settings::read(Some(&path))?.keymap)
}

#[test]
fn a_rebound_key_changes_dispatch_hints_and_help() {
    let keymap = keys_from(
        "[keys]\ndisable = \"D\"\n\n[keys.table]\nhelp = [\"F2\", \"?\"]\n\"edit-filter\" = \"F\"\n",
    )
    .expect("accepted");
    let mut app = loaded(admin()).with_keymap(keymap);
    type_keys(&mut app, "d");
    assert_eq!(app.mode(), Mode::Table, "d is free now");
    assert!(type_keys(&mut app, "D").is_empty());
    assert_eq!(app.mode(), Mode::BulkConfirm);
    app.handle_key(key(KeyCode::Esc));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains(" F2 help  F filter  : command"), "{text}");
    app.handle_key(key(KeyCode::F(2)));
    assert_eq!(app.mode(), Mode::Help);
    let help = screen(&mut app, 100, 400);
    assert!(
        help.contains("  D                   Disable the marked accounts"),
        "{help}"
    );
    assert!(!help.contains("  d                   Disable"), "{help}");
    assert!(help.contains("  F2, ?               Help"), "{help}");
    assert!(help.contains("Filter prompt (F)"), "{help}");
}

#[test]
fn a_refused_keys_table_stops_the_console_naming_the_file_and_each_problem() {
    let error =
        keys_from("[keys]\nfrobnicate = \"x\"\ndisable = \"ctrl+d\"\n\"delete-account\" = \"d\"\n")
            .expect_err("refused")
            .to_string();
    assert!(error.contains("config.toml: the console's keys"), "{error}");
    assert!(error.contains("[keys] frobnicate: no command"), "{error}");
    assert!(
        error.contains("[keys] disable: \"ctrl+d\" is not a key"),
        "{error}"
    );
    // A file that is not TOML at all keeps the defaults, and says so.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "not = [valid").unwrap();
    let settings = super::Settings::read(Some(&path)).unwrap();
    assert_eq!(settings.keymap, keymap::Keymap::default());
    assert!(settings.note.is_some_and(|n| n.contains("keys not read")));
}

#[test]
fn the_example_keys_table_is_accepted() {
    // config.example.toml shows `[keys]` commented out: `#[keys]` and the
    // lines after it that start with `#` and no space.
    let text = include_str!("../../../../config.example.toml");
    let example: String = text
        .lines()
        .skip_while(|l| *l != "#[keys]")
        .take_while(|l| l.starts_with('#'))
        .filter(|l| !l.starts_with("# ") && *l != "#")
        .map(|l| format!("{}\n", &l[1..]))
        .collect();
    assert!(example.contains("[keys]"), "no example");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &example).unwrap();
    let keymap = super::Settings::read(Some(&path)).expect(&example).keymap;
    assert_ne!(keymap, keymap::Keymap::default());
}

#[test]
fn refresh_command_reloads() {
    let mut app = loaded(admin());
    type_keys(&mut app, ":refresh");
    let commands = app.handle_key(key(KeyCode::Enter));
    assert!(commands
        .iter()
        .any(|c| matches!(c, Command::LoadUsers { .. })));
}

#[test]
fn mouse_wheel_and_click_move_the_selection() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = loaded(admin());
    screen(&mut app, 80, 24);
    let mouse = |kind, row| {
        Action::Mouse(MouseEvent {
            kind,
            column: 10,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(mouse(MouseEventKind::ScrollDown, 0));
    assert_eq!(app.table.selected, 3);
    app.update(mouse(MouseEventKind::ScrollUp, 0));
    assert_eq!(app.table.selected, 0);
    // Header 3 lines, titles on line 3: line 6 is the third account.
    app.update(mouse(MouseEventKind::Down(MouseButton::Left), 6));
    assert_eq!(app.table.selected, 2);
    // A click below the last account changes nothing.
    app.update(mouse(MouseEventKind::Down(MouseButton::Left), 20));
    assert_eq!(app.table.selected, 2);
}

// ---- speed ----

fn generated(count: usize) -> Vec<User> {
    let base = accounts();
    (0..count)
        .map(|i| {
            let mut user = base[i % base.len()].clone();
            user.id = i as i64 + 100;
            user.user_name = format!("user{i:06}@demo.example");
            user.first_name = Some(format!("First{}", i % 977));
            user
        })
        .collect()
}

/// 100,000 accounts load, draw and filter correctly. How fast is measured
/// by `cargo bench --bench console`, not here.
#[test]
fn hundred_thousand_accounts_load_draw_and_filter() {
    let mut app = App::new(admin()).with_now(now());
    let id = users_request(&app.start());
    for chunk in generated(100_000).chunks(1000) {
        app.update(page(id, chunk.to_vec(), Some(100_000)));
    }
    assert_eq!(app.counts(), (100_000, 100_000));
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| {
            draw(&app, frame);
        })
        .unwrap();
    type_keys(&mut app, "/user001");
    assert_eq!(app.counts().1, 1000);
}

// ---- session warnings ----

/// `verify_tls = false` is on screen for the whole session (a header
/// badge); the start's warnings show once on the status line.
#[test]
fn session_warnings_show_at_start_and_tls_off_stays_in_the_header() {
    let notices = ["TLS certificate checks are OFF (TC_VERIFY=0), for labs only".to_string()];
    let mut app = App::new(admin())
        .with_now(now())
        .with_notices(&notices, true);
    let id = users_request(&app.start());
    app.update(page(id, accounts(), Some(accounts().len() as u64)));
    let text = screen(&mut app, 100, 24);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("TLS NOT VERIFIED"), "{}", lines[0]);
    assert!(
        text.contains("warning: TLS certificate checks are OFF (TC_VERIFY=0)"),
        "{text}"
    );
    // the status line moves on at the next key; the badge does not
    type_keys(&mut app, "j");
    let text = screen(&mut app, 100, 24);
    assert!(!text.contains("warning: TLS"));
    assert!(text.lines().next().unwrap().contains("TLS NOT VERIFIED"));

    let mut plain = App::new(admin()).with_now(now());
    plain.start();
    assert!(!screen(&mut plain, 100, 24).contains("TLS NOT VERIFIED"));
}

/// Server text in every place the console shows it (here: Community names,
/// the labels of the detail view, and zero-width and joined characters in
/// names) never reaches the terminal as an escape, and never shifts a cell.
#[test]
fn hostile_names_neither_escape_nor_shift_the_layout() {
    let mut app = App::new(admin()).with_now(now());
    let commands = app.start();
    let id = users_request(&commands);
    let mut hostile = account(
        90,
        "zero\u{200b}width\u{feff}@demo.example",
        "Fam\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}ily",
        "Bidi\u{202e}txt",
        "User",
        "Standard User",
        (false, false, false),
        Some(3),
        10,
        &["SOC\u{1b}]52;c;UFdORUQ=\u{7}"],
    );
    let mut roles = hostile.owner_roles.clone().unwrap_or_default();
    roles.insert("Demo \u{1b}]0;PWNTITLE\u{7} Community", "Director");
    roles.insert("Clip \u{9b}2J\u{1b}[5n\u{7f}", "User");
    hostile.owner_roles = Some(roles);
    app.update(page(id, vec![hostile], Some(1)));
    app.update(Action::Worker(Event::UsersDone { id }));
    let table = screen(&mut app, 80, 24);
    app.handle_key(key(KeyCode::Enter));
    for (width, height) in [(80, 24), (40, 10), (120, 40)] {
        for text in [table.clone(), screen(&mut app, width, height)] {
            assert!(
                !text
                    .chars()
                    .any(|c| c != '\n' && crate::domain::text::needs_escape(c)),
                "{text}"
            );
        }
    }
    let detail = screen(&mut app, 120, 40);
    assert!(
        detail.contains("Role in Demo \\e]0;PWNTITLE\\x07"),
        "{detail}"
    );
    assert!(detail.contains("\\u{200d}"), "{detail}");
}

/// The last line of defence: whatever a view writes, no cell holds a
/// control character when the frame reaches the terminal.
#[test]
fn no_cell_holds_a_control_character_whatever_a_view_writes() {
    let mut buffer = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, 8, 1));
    buffer.set_string(
        0,
        0,
        "a\u{1b}b\u{9b}c\u{200d}",
        ratatui::style::Style::default(),
    );
    super::views::guard_cells(&mut buffer);
    let shown: String = buffer.content.iter().map(|c| c.symbol()).collect();
    assert!(
        !shown.chars().any(crate::domain::text::needs_escape),
        "{shown:?}"
    );
    assert!(shown.starts_with('a'), "{shown:?}");
}

// ---- a failed load, long input ----

/// The listing failed after some pages: the header says how many of how
/// many were loaded, never the partial count alone.
fn failed_after(loaded: usize, total: Option<u64>) -> App {
    let mut app = App::new(admin()).with_now(now());
    let id = users_request(&app.start());
    let users: Vec<User> = (0..loaded as i64)
        .map(|i| {
            let mut user = accounts()[(i % 7) as usize].clone();
            user.id = 1000 + i;
            user.user_name = format!("user{i:05}@demo.example");
            user
        })
        .collect();
    for chunk in users.chunks(1000) {
        app.update(page(id, chunk.to_vec(), total));
    }
    app.update(Action::Worker(Event::Failed {
        id,
        what: "loading accounts",
        error: ApiError::Network {
            url: "https://tc.example/api/v3/security/users".into(),
            reason: "connection reset".into(),
        },
    }));
    app
}

#[test]
fn a_failed_load_shows_the_partial_count_against_the_total() {
    let mut app = failed_after(4000, Some(10_000));
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains("4,000 of 10,000 accounts (loading failed)"),
        "{text}"
    );
    assert!(!text.contains("| 4000 accounts"), "{text}");
    insta::assert_snapshot!("failed_partial_80x24", text);
    let narrow = screen(&mut app, 40, 10);
    assert!(narrow.contains("4,000 of 10,000 (load failed)"), "{narrow}");
    insta::assert_snapshot!("failed_partial_40x10", narrow);
}

#[test]
fn a_failed_load_without_a_total_says_so_far() {
    let mut app = failed_after(4000, None);
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains("4,000 accounts so far (loading failed)"),
        "{text}"
    );
    assert!(screen(&mut app, 30, 10).contains("4,000 so far (load failed)"));
    // A reload that completes shows the plain count again.
    let commands = app.handle_key(key(KeyCode::Char('r')));
    let id = users_request(&commands);
    app.update(page(id, accounts(), Some(7)));
    app.update(Action::Worker(Event::UsersDone { id }));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("| 7 accounts (User"), "{text}");
    assert!(!text.contains("failed"), "{text}");
}

#[test]
fn a_paste_into_the_filter_is_cut_at_the_limit_and_says_so() {
    let mut app = loaded(admin());
    type_keys(&mut app, "/");
    app.update(Action::Paste("Z".repeat(200_000)));
    assert_eq!(app.filter_input.chars().count(), MAX_INPUT);
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains("cut to 1,000 characters (the limit)"),
        "{text}"
    );
    // Typing on at the limit adds nothing and says so again.
    type_keys(&mut app, "abc");
    assert_eq!(app.filter_input.chars().count(), MAX_INPUT);
    assert!(app.prompt_note.is_some());
    // Backspace makes room; the note goes.
    app.handle_key(key(KeyCode::Backspace));
    assert!(app.prompt_note.is_none());
    assert_eq!(app.filter_input.chars().count(), MAX_INPUT - 1);
    // Esc clears the filter: every account is shown again.
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::Table);
    assert_eq!(app.counts(), (7, 7));
}

#[test]
fn a_pasted_filter_applies_once_with_line_breaks_as_spaces() {
    let mut app = loaded(admin());
    type_keys(&mut app, "/");
    app.update(Action::Paste("status:locked\r\n".into()));
    assert_eq!(app.filter_input, "status:locked  ");
    assert_eq!(app.counts(), (7, 2));
    assert_eq!(app.mode(), Mode::Filter, "a pasted newline is not Enter");
}

#[test]
fn the_command_prompt_and_form_fields_are_bounded_too() {
    let mut app = loaded(admin());
    type_keys(&mut app, ":");
    app.update(Action::Paste("x".repeat(5_000)));
    assert_eq!(app.command_input.chars().count(), MAX_INPUT);
    assert!(screen(&mut app, 80, 24).contains("cut to 1,000 characters"));
    app.handle_key(key(KeyCode::Esc));

    // A paste in the table does nothing: pasted text never acts as keys.
    app.update(Action::Paste("qqq".into()));
    assert!(!app.should_quit());
    assert_eq!(app.mode(), Mode::Table);
}

#[test]
fn typed_characters_are_told_apart_from_keys_for_batching() {
    let mut app = loaded(admin());
    let plain = key(KeyCode::Char('q'));
    assert_eq!(app.typed_char(&plain), None, "q quits in the table");
    type_keys(&mut app, "/");
    assert_eq!(app.typed_char(&plain), Some('q'));
    assert_eq!(app.typed_char(&ctrl('u')), None);
    assert_eq!(app.typed_char(&key(KeyCode::Enter)), None);
}

/// The Organization picker narrows as one types, like every pick list;
/// Esc clears the typed text first, then closes.
#[test]
fn org_picker_types_ahead() {
    let mut app = loaded(admin());
    let mut names: Vec<String> = (0..200).map(|i| format!("Tenant {i:03}")).collect();
    names.push("Acme Corp".into());
    names.push(ORG.into());
    app.update(Action::Worker(Event::Organizations { id: 2, names }));
    type_keys(&mut app, "o");
    type_keys(&mut app, "acme");
    assert_eq!(app.picker.shown().len(), 1);
    insta::assert_snapshot!("org_picker_typed_40x10", screen(&mut app, 40, 10));
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::OrgPicker, "Esc cleared the text first");
    assert_eq!(app.picker.shown().len(), 202);
    type_keys(&mut app, "tenant 19");
    assert_eq!(app.picker.shown().len(), 12, "019, 119 and 190 to 199");
    app.handle_key(key(KeyCode::Down));
    let commands = app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.current_org(), "Tenant 119");
    assert!(commands
        .iter()
        .any(|c| matches!(c, Command::LoadUsers { org: Some(o), .. } if o == "Tenant 119")));
}

#[test]
fn prompts_edit_at_the_cursor_and_show_it_there() {
    let mut app = loaded(admin());
    type_keys(&mut app, "/status:lockd");
    app.handle_key(key(KeyCode::Left));
    type_keys(&mut app, "e");
    assert_eq!(app.filter_input, "status:locked");
    assert_eq!(app.counts().1, 2, "the inserted letter re-filtered");
    app.handle_key(key(KeyCode::Home));
    app.handle_key(key(KeyCode::Delete));
    assert_eq!(app.filter_input, "tatus:locked");
    // The terminal cursor stands where the next letter goes: after "/t".
    app.handle_key(key(KeyCode::Right));
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| {
            draw(&app, frame);
        })
        .unwrap();
    let position = terminal.get_cursor_position().unwrap();
    let row: String = (0..7)
        .map(|x| {
            terminal.backend().buffer()[(x, position.y)]
                .symbol()
                .to_string()
        })
        .collect();
    assert_eq!((position.x, row.as_str()), (2, "/tatus:"));
    // A pasted text goes in at the cursor too, and so does the `:` prompt.
    app.handle_key(key(KeyCode::Esc));
    type_keys(&mut app, ":sort");
    app.handle_key(ctrl('a'));
    app.update(Action::Paste("x".into()));
    app.handle_key(ctrl('e'));
    type_keys(&mut app, " y");
    assert_eq!(app.command_input, "xsort y");
}

#[test]
fn the_mouse_wheel_scrolls_the_list_or_text_in_front() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let wheel = |kind| {
        Action::Mouse(MouseEvent {
            kind,
            column: 10,
            row: 10,
            modifiers: KeyModifiers::NONE,
        })
    };
    let mut app = loaded(admin());
    app.handle_key(key(KeyCode::Char('?')));
    screen(&mut app, 80, 24);
    app.update(wheel(MouseEventKind::ScrollDown));
    assert_eq!((app.help.selected, app.table.selected), (3, 0));
    app.handle_key(key(KeyCode::Esc));
    app.update(Action::Worker(Event::Organizations {
        id: 2, // start(): users 1, Organizations 2, limits 3
        names: vec!["Acme Corp".into(), ORG.into(), "Zeta".into()],
    }));
    app.handle_key(key(KeyCode::Char('o')));
    app.update(wheel(MouseEventKind::ScrollDown));
    assert_eq!(app.picker.selected_item(), Some(2), "the last of three");
}

#[test]
fn a_draw_reads_the_app_and_reports_the_layout_the_keys_need() {
    let mut app = loaded(admin());
    let mut terminal = Terminal::new(TestBackend::new(80, 12)).unwrap();
    let mut geometry = Geometry::default();
    terminal.draw(|frame| geometry = draw(&app, frame)).unwrap();
    // Header 2 lines, titles 1, status 1, no hints: 8 rows of accounts.
    assert_eq!((geometry.table_rows.y, geometry.table_rows.height), (3, 8));
    assert!(geometry.more_right && geometry.text.is_none());
    // Until the App hears of it, a page is what it last knew.
    app.handle_key(key(KeyCode::PageDown));
    assert_eq!(app.table.selected, 6, "the default page, 10, clamped");
    app.handle_key(key(KeyCode::Home));
    app.update(Action::Geometry(Geometry {
        table_rows: ratatui::layout::Rect::new(0, 3, 80, 2),
        ..geometry
    }));
    app.handle_key(key(KeyCode::PageDown));
    assert_eq!(app.table.selected, 2);
}

//! The account forms in the console: snapshots of the chooser and every
//! form per admin role, and the flows (validation, server refusal, rule 7,
//! token, delete with reassignment, one-key actions) driven through
//! `App::handle_key` with worker events injected.

use super::form::osc52;
use super::*;
use crate::api::wire::{ext, OrgLimits, RunAs, RunAsItem};
use crate::api::{ApiError, Secret};
use crate::domain::preflight::BulkAction;
use crate::domain::{AccountType, Field, GroupRef, OrgRole, SystemRole, User};
use crate::worker::{Event, RequestId};
use chrono::{DateTime, TimeZone};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const ORG: &str = "Demo Organization";
const TOKEN: &str = "tok_3f9a2c7e1b5d4a6f8e0c2b4d6f8a1c3e";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn context(system_role: SystemRole, org_role: OrgRole) -> ConsoleContext {
    let mut caps = Capabilities::default();
    for name in ext::ALL {
        caps.extensions.insert(name.to_string());
    }
    caps.extra_fields.insert(ext::USER_GROUPS_FIELD.to_string());
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
            terms_of_service_required: true,
            ..Default::default()
        },
        capabilities: caps,
        instance: "sandbox".into(),
        read_only: false,
    }
}

fn administrator() -> ConsoleContext {
    context(SystemRole::Administrator, OrgRole::StandardUser)
}

fn org_administrator() -> ConsoleContext {
    context(SystemRole::User, OrgRole::OrganizationAdministrator)
}

fn accounts_administrator() -> ConsoleContext {
    context(SystemRole::AccountsAdministrator, OrgRole::StandardUser)
}

fn account(id: i64, user_name: &str, system_role: &str, org_role: &str) -> User {
    User {
        id,
        user_name: user_name.into(),
        first_name: Some("First".into()),
        last_name: Some(format!("Last{id}")),
        owner: Some(ORG.into()),
        system_role: Some(system_role.into()),
        owner_roles: Some(crate::domain::OwnerRoles::from([(ORG, org_role)])),
        disabled: Some(false),
        locked: Some(false),
        password_reset_required: Some(false),
        two_factor_reset_required: Some(false),
        terms_accepted: Some(true),
        user_groups: Some(vec![GroupRef {
            id: 1,
            name: "SOC Team".into(),
        }]),
        ..Default::default()
    }
}

fn accounts() -> Vec<User> {
    vec![
        account(2, "alice@demo.example", "User", "Standard User"),
        account(3, "bob@demo.example", "User", "Sharing User"),
        account(5, "feed-api", "Api User", "Standard User"),
        account(6, "reader@demo.example", "Read Only User", "Read Only User"),
    ]
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.handle_key(key(code))
}

fn type_text(app: &mut App, text: &str) -> Vec<Command> {
    text.chars()
        .flat_map(|c| app.handle_key(key(KeyCode::Char(c))))
        .collect()
}

fn command(app: &mut App, text: &str) -> Vec<Command> {
    press(app, KeyCode::Char(':'));
    type_text(app, text);
    press(app, KeyCode::Enter)
}

/// An App with the accounts loaded and seat limits: 1 API seat left, no
/// TAXII seat left.
fn loaded(ctx: ConsoleContext) -> App {
    let mut app = App::new(ctx).with_now(now());
    let commands = app.start();
    for c in commands {
        match c {
            Command::LoadUsers { id, .. } => {
                app.update(Action::Worker(Event::UsersPage {
                    id,
                    users: accounts(),
                    total: Some(4),
                }));
                app.update(Action::Worker(Event::UsersDone { id }));
            }
            Command::LoadLimits { id } => {
                app.update(Action::Worker(Event::Limits {
                    id,
                    limits: vec![OrgLimits {
                        organization: ORG.into(),
                        user_limit: Some(10),
                        api_limit: Some(2),
                        taxii_limit: Some(1),
                        users: 4,
                        api_users: 1,
                        taxii_users: 1,
                        read_only_users: 1,
                    }],
                }));
            }
            _ => {}
        }
    }
    app
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let mut geometry = Geometry::default();
    terminal.draw(|frame| geometry = draw(app, frame)).unwrap();
    app.update(Action::Geometry(geometry));
    terminal.backend().to_string()
}

/// Answers a `LoadUserGroups` among `commands`.
fn answer_groups(app: &mut App, commands: &[Command]) {
    for c in commands {
        if let Command::LoadUserGroups { id } = c {
            app.update(Action::Worker(Event::UserGroups {
                id: *id,
                groups: vec![
                    GroupRef {
                        id: 1,
                        name: "SOC Team".into(),
                    },
                    GroupRef {
                        id: 2,
                        name: "IR Team".into(),
                    },
                ],
            }));
        }
    }
}

/// Selects the account with `user_name` in the table.
fn select(app: &mut App, user_name: &str) {
    press(app, KeyCode::Home);
    for _ in 0..10 {
        if app.selected_user().map(|u| u.user_name.as_str()) == Some(user_name) {
            return;
        }
        press(app, KeyCode::Down);
    }
    panic!("{user_name} not in the table");
}

/// `e` on `user_name`, answering the worker's read with the account.
fn open_edit(app: &mut App, user_name: &str) {
    select(app, user_name);
    let commands = press(app, KeyCode::Char('e'));
    let user = app.selected_user().cloned().unwrap();
    let id = commands
        .iter()
        .find_map(|c| match c {
            Command::LoadAccount { id, account_id, .. } if *account_id == user.id => Some(*id),
            _ => None,
        })
        .expect("LoadAccount");
    answer_groups(app, &commands);
    app.update(Action::Worker(Event::Account {
        id,
        user: Box::new(user),
    }));
    assert_eq!(app.mode(), Mode::Form);
}

fn save_request(commands: &[Command]) -> (RequestId, &Command) {
    commands
        .iter()
        .find_map(|c| match c {
            Command::SaveAccount { id, .. } => Some((*id, c)),
            _ => None,
        })
        .expect("a SaveAccount command")
}

/// Tabs to `field` in the open form.
fn focus(app: &mut App, field: Field) {
    for _ in 0..40 {
        let at = app.forms.form.as_ref().and_then(|s| s.focused());
        if at.map(|f| f.field) == Some(field) {
            return;
        }
        press(app, KeyCode::Tab);
    }
    panic!("{field:?} not on the form");
}

// ---- snapshots ----

fn roles() -> [(&'static str, ConsoleContext); 3] {
    [
        ("administrator", administrator()),
        ("org_administrator", org_administrator()),
        ("accounts_administrator", accounts_administrator()),
    ]
}

#[test]
fn chooser_per_role() {
    for (name, ctx) in roles() {
        let mut app = loaded(ctx);
        press(&mut app, KeyCode::Char('a'));
        assert_eq!(app.mode(), Mode::Chooser, "{name}");
        let text = screen(&mut app, 80, 24);
        assert!(text.contains("1 remaining"), "{name}: API seats\n{text}");
        assert!(text.contains("TAXII User"), "{name}");
        insta::assert_snapshot!(format!("chooser_{name}_80x24"), text);
        insta::assert_snapshot!(format!("chooser_{name}_40x10"), screen(&mut app, 40, 10));
    }
}

#[test]
fn chooser_refuses_a_full_type_and_opens_the_others() {
    let mut app = loaded(administrator());
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Table, "TAXII has no seat left");
    assert!(app
        .status()
        .unwrap()
        .text
        .contains("no TAXII User seats left"));
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Form);
    assert_eq!(app.account_form().unwrap().kind(), AccountType::Api);
}

#[test]
fn every_create_form_per_role() {
    for (name, ctx) in roles() {
        for kind in ["user", "api", "readonly", "taxii"] {
            let mut app = loaded(ctx.clone());
            // TAXII is full in the fixture: give it a seat to see its form.
            app.limits[0].taxii_limit = None;
            let commands = command(&mut app, &format!("new {kind}"));
            answer_groups(&mut app, &commands);
            assert_eq!(app.mode(), Mode::Form, "{name} {kind}: {:?}", app.status());
            let text = screen(&mut app, 80, 24);
            assert!(!text.contains("Send Account Info") || kind != "api");
            insta::assert_snapshot!(format!("create_{kind}_{name}_80x24"), text);
            insta::assert_snapshot!(
                format!("create_{kind}_{name}_40x10"),
                screen(&mut app, 40, 10)
            );
        }
    }
}

#[test]
fn edit_form_per_role_has_no_account_info_email() {
    for (name, ctx) in roles() {
        let mut app = loaded(ctx);
        open_edit(&mut app, "bob@demo.example");
        let form = app.account_form().unwrap();
        assert!(!form
            .layout()
            .iter()
            .any(|(f, _)| *f == Field::SendAccountInfoEmail));
        let text = screen(&mut app, 80, 24);
        assert!(text.contains("Edit bob@demo.example"), "{text}");
        insta::assert_snapshot!(format!("edit_user_{name}_80x24"), text);
        insta::assert_snapshot!(format!("edit_user_{name}_40x10"), screen(&mut app, 40, 10));
    }
}

#[test]
fn the_form_scrolls_to_the_focused_field_on_a_small_screen() {
    let mut app = loaded(administrator());
    command(&mut app, "new user");
    focus(&mut app, Field::SummaryEmailTime);
    let text = screen(&mut app, 80, 16);
    assert!(text.contains(">Summary E-mail Time"), "{text}");
    assert!(!text.contains("E-Mail "), "scrolled past the top\n{text}");
    screen(&mut app, 40, 10);
    screen(&mut app, 3, 2);
}

// ---- flows ----

#[test]
fn validation_messages_show_beside_their_fields() {
    let mut app = loaded(administrator());
    command(&mut app, "new user");
    type_text(&mut app, "not-an-email");
    let commands = app.handle_key(ctrl('s'));
    assert!(commands.is_empty(), "nothing is sent with problems");
    let (errors, _) = app.form_errors();
    let fields: Vec<Field> = errors.iter().map(|(f, _)| *f).collect();
    assert!(fields.contains(&Field::Email));
    assert!(fields.contains(&Field::Password));
    assert!(fields.contains(&Field::FirstName));
    let text = screen(&mut app, 80, 40);
    let email_line = text.lines().position(|l| l.contains(">E-Mail")).unwrap();
    let next = text.lines().nth(email_line + 1).unwrap();
    assert!(
        next.contains("! E-Mail must look like name@example.com"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

/// Fills a valid User form from the keyboard.
fn fill_user(app: &mut App) {
    type_text(app, "new.person@demo.example");
    press(app, KeyCode::Tab);
    type_text(app, "Str0ng!Passw0rd#2026");
    press(app, KeyCode::Tab);
    type_text(app, "New");
    press(app, KeyCode::Tab);
    type_text(app, "Person");
}

#[test]
fn a_server_refusal_keeps_everything_typed() {
    let mut app = loaded(administrator());
    let commands = command(&mut app, "new user");
    answer_groups(&mut app, &commands);
    fill_user(&mut app);
    let commands = app.handle_key(ctrl('s'));
    let (id, save) = save_request(&commands);
    let Command::SaveAccount {
        account_id, body, ..
    } = save
    else {
        unreachable!()
    };
    assert_eq!(*account_id, None);
    assert_eq!(body.0["userName"], "new.person@demo.example");
    assert!(!format!("{save:?}").contains("Str0ng"), "password in Debug");
    app.update(Action::Worker(Event::Failed {
        id,
        what: "creating the account",
        error: ApiError::Http {
            status: 400,
            message: "User name already in use".into(),
            err_code: None,
        },
    }));
    assert_eq!(app.mode(), Mode::Form);
    let (_, server) = app.form_errors();
    assert!(server.unwrap().contains("User name already in use"));
    let form = app.account_form().unwrap();
    assert_eq!(
        form.value(Field::Email),
        crate::domain::form::FieldValue::Text("new.person@demo.example".into())
    );
    assert_eq!(
        form.value(Field::LastName),
        crate::domain::form::FieldValue::Text("Person".into())
    );
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("User name already in use"), "{text}");
    insta::assert_snapshot!(text);
    // It can be sent again.
    assert!(!app.handle_key(ctrl('s')).is_empty());
}

#[test]
fn created_account_joins_the_table_and_counts_a_seat() {
    let mut app = loaded(administrator());
    command(&mut app, "new user");
    fill_user(&mut app);
    let commands = app.handle_key(ctrl('s'));
    let (id, _) = save_request(&commands);
    let mut user = account(40, "new.person@demo.example", "User", "Standard User");
    user.first_name = Some("New".into());
    app.update(Action::Worker(Event::AccountSaved {
        id,
        user: Box::new(user),
        created: true,
        problem: None,
        secret_key: None,
    }));
    assert_eq!(app.mode(), Mode::Table);
    assert_eq!(app.counts(), (5, 5));
    assert_eq!(app.current_limits().unwrap().users, 5);
    assert!(app.status().unwrap().text.contains("created"));
}

#[test]
fn a_save_ending_under_help_and_a_question_closes_the_form_beneath_them() {
    let mut app = loaded(administrator());
    command(&mut app, "new user");
    fill_user(&mut app);
    let (id, _) = save_request(&app.handle_key(ctrl('s')));
    // While it saves: Esc asks whether to leave, and help opens over that.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::F(1));
    assert_eq!(app.mode(), Mode::Help);
    let user = account(40, "new.person@demo.example", "User", "Standard User");
    app.update(Action::Worker(Event::AccountSaved {
        id,
        user: Box::new(user),
        created: true,
        problem: None,
        secret_key: None,
    }));
    assert_eq!(app.mode(), Mode::Help, "help stays in front");
    screen(&mut app, 40, 10);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), Mode::Confirm);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), Mode::Table, "the saved form is gone beneath");
    assert!(app.account_form().is_none());
}

#[test]
fn leaving_a_changed_form_asks_first() {
    let mut app = loaded(administrator());
    command(&mut app, "new user");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), Mode::Table, "an untouched form just closes");
    command(&mut app, "new user");
    type_text(&mut app, "x");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), Mode::Confirm);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), Mode::Form, "Esc goes back to the form");
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Table);
    assert!(app.account_form().is_none());
}

#[test]
fn checkboxes_toggle_with_space_and_pick_lists_choose() {
    let mut app = loaded(administrator());
    let commands = command(&mut app, "new user");
    answer_groups(&mut app, &commands);
    focus(&mut app, Field::Disabled);
    press(&mut app, KeyCode::Char(' '));
    let form = app.account_form().unwrap();
    assert_eq!(
        form.value(Field::Disabled),
        crate::domain::form::FieldValue::Checkbox(true)
    );
    focus(&mut app, Field::Groups);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Pick);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char(' '));
    insta::assert_snapshot!(screen(&mut app, 80, 24));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Form);
    assert_eq!(
        app.account_form().unwrap().value(Field::Groups),
        crate::domain::form::FieldValue::Multi(vec![1, 2])
    );
    focus(&mut app, Field::TimeZone);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.account_form().unwrap().value(Field::TimeZone),
        crate::domain::form::FieldValue::Choice(Some("Pacific/Honolulu".into()))
    );
}

#[test]
fn changing_the_system_role_warns_and_asks_before_saving() {
    let mut app = loaded(administrator());
    open_edit(&mut app, "bob@demo.example");
    focus(&mut app, Field::SystemRole);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Pick);
    let options = app.forms.pick.as_ref().unwrap().options.clone();
    let target = options
        .iter()
        .position(|o| o.value == "Read Only User")
        .expect("Read Only User offered");
    let at = app.forms.pick.as_ref().unwrap().selected().unwrap();
    for _ in at..target {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.account_form().unwrap().system_role(),
        SystemRole::ReadOnlyUser
    );
    let commands = app.handle_key(ctrl('s'));
    assert!(commands.is_empty(), "asks before saving");
    assert_eq!(app.mode(), Mode::Confirm);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("Community roles"), "{text}");
    insta::assert_snapshot!(text);
    let commands = press(&mut app, KeyCode::Enter);
    let (_, save) = save_request(&commands);
    let Command::SaveAccount {
        account_id, body, ..
    } = save
    else {
        unreachable!()
    };
    assert_eq!(*account_id, Some(3));
    assert_eq!(body.0["systemRole"], "Read Only User");
}

#[test]
fn the_token_shows_once_and_is_gone_after_closing() {
    let mut app = loaded(administrator());
    let commands = command(&mut app, "new api");
    answer_groups(&mut app, &commands);
    focus(&mut app, Field::FirstName);
    type_text(&mut app, "Feed");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "Robot");
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("Ctrl-g save+token"), "{text}");
    let commands = app.handle_key(ctrl('g'));
    let (id, save) = save_request(&commands);
    assert!(matches!(
        save,
        Command::SaveAccount {
            generate_token: Some(_),
            ..
        }
    ));
    app.update(Action::Worker(Event::AccountSaved {
        id,
        user: Box::new(account(41, "feed-robot-41", "Api User", "Standard User")),
        created: true,
        problem: None,
        secret_key: None,
    }));
    app.update(Action::Worker(Event::TokenGenerated {
        id,
        account_id: 41,
        token: Secret::new(TOKEN),
        expires: None,
    }));
    assert_eq!(app.mode(), Mode::Token);
    assert!(app.token_shown());
    let text = screen(&mut app, 80, 24);
    assert!(text.contains(TOKEN), "{text}");
    insta::assert_snapshot!(text);
    press(&mut app, KeyCode::Char('c'));
    let osc = app.take_terminal_output().expect("OSC 52");
    assert_eq!(osc, osc52(TOKEN));
    assert!(osc.starts_with("\x1b]52;c;") && osc.ends_with('\x07'));
    assert!(app.take_terminal_output().is_none(), "written once");
    press(&mut app, KeyCode::Esc);
    assert!(!app.token_shown());
    assert_eq!(app.mode(), Mode::Table);
    assert!(!screen(&mut app, 80, 24).contains(TOKEN));
    assert!(app.take_terminal_output().is_none());
    assert!(app
        .rows
        .iter()
        .all(|r| !format!("{:?}", r.user).contains(TOKEN)));
    assert!(app.status().is_none_or(|s| !s.text.contains(TOKEN)));
}

#[test]
fn token_is_only_for_api_users() {
    let mut app = loaded(administrator());
    command(&mut app, "new user");
    fill_user(&mut app);
    assert!(app.handle_key(ctrl('g')).is_empty());
    assert!(app.status().unwrap().text.contains("API users only"));
}

fn run_as_item(id: i64, name: &str) -> RunAsItem {
    RunAsItem {
        id,
        name: name.into(),
    }
}

#[test]
fn delete_asks_for_new_owners_then_the_typed_name() {
    let mut app = loaded(administrator());
    select(&mut app, "bob@demo.example");
    let commands = press(&mut app, KeyCode::Char('x'));
    let id = commands
        .iter()
        .find_map(|c| match c {
            Command::LoadRunAs { id, account_id: 3 } => Some(*id),
            _ => None,
        })
        .expect("LoadRunAs");
    app.update(Action::Worker(Event::RunAs {
        id,
        account_id: 3,
        run_as: RunAs {
            active_playbooks: vec![run_as_item(1, "Phishing Triage")],
            inactive_playbooks: vec![],
            job_apps: vec![run_as_item(5, "Feed Sync")],
        },
    }));
    assert_eq!(app.mode(), Mode::Pick);
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains("alice@demo.example · User · OK") && !text.contains("· bob@demo.example"),
        "{text}"
    );
    insta::assert_snapshot!("delete_pick_playbook_owner", text);
    // Type-ahead narrows the list (letters type, arrows move); Esc first
    // clears the typed text, keeping the list open.
    type_text(&mut app, "feed");
    let pick = app.forms.pick.as_ref().unwrap();
    assert_eq!(pick.visible().len(), 1);
    assert_eq!(pick.options[pick.selected().unwrap()].value, "5");
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains("1 of 2: feed") && !text.contains("· alice@"),
        "{text}"
    );
    insta::assert_snapshot!("delete_pick_type_ahead_80x24", text);
    insta::assert_snapshot!("delete_pick_type_ahead_40x10", screen(&mut app, 40, 10));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), Mode::Pick);
    assert!(app.forms.pick.as_ref().unwrap().list.query.is_empty());
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Pick, "then the job apps' API user");
    let options = app.forms.pick.as_ref().unwrap().options.clone();
    assert_eq!(options.len(), 1, "API users only: {options:?}");
    assert_eq!(options[0].value, "5");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Confirm);
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "the name is needed"
    );
    type_text(&mut app, "bob@demo.example");
    insta::assert_snapshot!("delete_confirm", screen(&mut app, 80, 24));
    let commands = press(&mut app, KeyCode::Enter);
    let id = commands
        .iter()
        .find_map(|c| match c {
            Command::DeleteUser {
                id,
                account_id: 3,
                reassign_playbooks_to: Some(2),
                reassign_jobs_to: Some(5),
            } => Some(*id),
            _ => None,
        })
        .unwrap_or_else(|| panic!("DeleteUser with reassignment: {commands:?}"));
    app.update(Action::Worker(Event::UserDeleted { id, account_id: 3 }));
    assert_eq!(app.counts(), (3, 3));
    assert!(app.rows.iter().all(|r| r.user.id != 3));
    assert!(app.status().unwrap().text.contains("deleted"));
}

#[test]
fn delete_of_ones_own_account_is_refused() {
    let mut ctx = administrator();
    ctx.actor.id = Some(2);
    ctx.actor.user_name = "alice@demo.example".into();
    let mut app = loaded(ctx);
    select(&mut app, "alice@demo.example");
    assert!(press(&mut app, KeyCode::Char('x')).is_empty());
    assert_eq!(app.mode(), Mode::Table);
    assert!(app.status().unwrap().is_error);
}

/// `p` and `M` go through the bulk preflight for the selected account
/// alone (whatever is marked): confirmed, "already" told apart, and run as
/// a journaled run of one.
#[test]
fn password_and_mfa_reset_keys_preflight_the_selected_account() {
    let mut app = loaded(administrator());
    select(&mut app, "bob@demo.example");
    press(&mut app, KeyCode::Char(' ')); // marks bob, moves on
    select(&mut app, "bob@demo.example");
    assert!(press(&mut app, KeyCode::Char('p')).is_empty(), "asks first");
    assert_eq!(app.mode(), Mode::BulkConfirm);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("Will change"), "{text}");
    let commands = press(&mut app, KeyCode::Char('y'));
    let job = commands
        .iter()
        .find_map(|c| match c {
            Command::RunBulk { job, .. } => Some(job),
            _ => None,
        })
        .expect("the run starts");
    assert_eq!(job.request.action, BulkAction::ResetPassword);
    let ids: Vec<i64> = job.request.targets.iter().map(|u| u.id).collect();
    assert_eq!(ids, [3]);

    // An MFA reset already pending is said, not sent.
    let mut app = loaded(administrator());
    let mut pending = account(3, "bob@demo.example", "User", "Sharing User");
    pending.two_factor_reset_required = Some(true);
    app.replace_user(pending);
    select(&mut app, "bob@demo.example");
    press(&mut app, KeyCode::Char('M'));
    assert_eq!(app.mode(), Mode::BulkConfirm);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("MFA reset already required"), "{text}");
}

#[test]
fn a_read_only_console_offers_no_writes() {
    let mut ctx = administrator();
    ctx.read_only = true;
    let mut app = loaded(ctx);
    for k in ['a', 'e', 'x', 'p', 'M'] {
        assert!(press(&mut app, KeyCode::Char(k)).is_empty(), "{k}");
        assert_eq!(app.mode(), Mode::Table, "{k}");
        assert!(app.status().unwrap().text.contains("read-only"), "{k}");
    }
    assert!(command(&mut app, "new user").is_empty());
    assert_eq!(app.mode(), Mode::Table);
}

#[test]
fn edit_from_the_detail_view() {
    let mut app = loaded(org_administrator());
    select(&mut app, "bob@demo.example");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Detail);
    let commands = press(&mut app, KeyCode::Char('e'));
    assert!(commands
        .iter()
        .any(|c| matches!(c, Command::LoadAccount { account_id: 3, .. })));
}

#[test]
fn help_lists_the_new_keys() {
    let mut app = loaded(administrator());
    press(&mut app, KeyCode::Char('?'));
    let text = screen(&mut app, 100, 200);
    for needle in [
        "Create an account",
        "API users: save and generate token",
        "OSC 52",
    ] {
        assert!(text.contains(needle), "{needle} missing from help");
    }
}

#[test]
fn fields_the_instance_cannot_save_say_so() {
    let mut ctx = administrator();
    ctx.capabilities.extensions.remove(ext::TIME_ZONE_FIELD);
    ctx.capabilities.extensions.remove(ext::GROUP_MEMBERSHIP);
    let mut app = loaded(ctx);
    let commands = command(&mut app, "new user");
    assert!(
        !commands
            .iter()
            .any(|c| matches!(c, Command::LoadUserGroups { .. })),
        "no groups asked of an instance without groupMembership"
    );
    let text = screen(&mut app, 80, 40);
    assert!(
        text.contains("Time Zone cannot be saved: this instance does not offer it"),
        "{text}"
    );
    focus(&mut app, Field::TimeZone);
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.mode(),
        Mode::Form,
        "no pick list for an unsupported field"
    );
}

#[test]
fn every_popup_survives_tiny_screens() {
    let mut app = loaded(administrator());
    let commands = command(&mut app, "new user");
    answer_groups(&mut app, &commands);
    focus(&mut app, Field::Groups);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Pick);
    for (w, h) in [(40, 10), (20, 5), (1, 1)] {
        screen(&mut app, w, h);
    }
    press(&mut app, KeyCode::Esc);
    type_text(&mut app, "");
    focus(&mut app, Field::FirstName);
    type_text(&mut app, "x");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), Mode::Confirm);
    for (w, h) in [(40, 10), (20, 5), (1, 1)] {
        screen(&mut app, w, h);
    }
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('a'));
    for (w, h) in [(40, 10), (20, 5), (1, 1)] {
        screen(&mut app, w, h);
    }
}

/// Text fields edit at a cursor (tui-input): Left/Right/Home/End move it,
/// typing inserts there, Backspace and Delete remove around it, and the
/// screen shows where it is.
#[test]
fn text_fields_edit_at_the_cursor() {
    let mut app = loaded(administrator());
    command(&mut app, "new user");
    let email = |app: &App| match app.account_form().unwrap().value(Field::Email) {
        crate::domain::form::FieldValue::Text(t) => t,
        other => panic!("{other:?}"),
    };
    type_text(&mut app, "abc");
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Left);
    type_text(&mut app, "X");
    assert_eq!(email(&app), "aXbc");
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("aXbc"), "{text}");
    assert!(
        !text.contains("aXbc_"),
        "the cursor is inside, not at the end: {text}"
    );
    press(&mut app, KeyCode::Home);
    press(&mut app, KeyCode::Delete);
    assert_eq!(email(&app), "Xbc");
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Backspace);
    assert_eq!(email(&app), "Xb");
    assert!(screen(&mut app, 80, 24).contains("Xb_"));
    // A new field starts with the cursor at its end.
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "pw");
    press(&mut app, KeyCode::Left);
    type_text(&mut app, "1");
    match app.account_form().unwrap().value(Field::Password) {
        crate::domain::form::FieldValue::Password(p) => assert_eq!(p.expose(), "p1w"),
        other => panic!("{other:?}"),
    }
}

/// A disabled account is never offered as the new Run As user.
#[test]
fn disabled_accounts_are_not_offered_as_new_owners() {
    let mut app = loaded(administrator());
    let mut alice = account(2, "alice@demo.example", "User", "Standard User");
    alice.disabled = Some(true);
    app.replace_user(alice);
    select(&mut app, "bob@demo.example");
    let commands = press(&mut app, KeyCode::Char('x'));
    let id = commands
        .iter()
        .find_map(|c| match c {
            Command::LoadRunAs { id, account_id: 3 } => Some(*id),
            _ => None,
        })
        .expect("LoadRunAs");
    app.update(Action::Worker(Event::RunAs {
        id,
        account_id: 3,
        run_as: RunAs {
            active_playbooks: vec![run_as_item(1, "Phishing Triage")],
            inactive_playbooks: vec![],
            job_apps: vec![],
        },
    }));
    let options = app.forms.pick.as_ref().unwrap().options.clone();
    assert!(!options.iter().any(|o| o.value == "2"), "{options:?}");
    // Playbooks cannot run as a Read Only user.
    assert!(!options.iter().any(|o| o.value == "6"), "{options:?}");
    assert!(options.iter().any(|o| o.value == "5"), "{options:?}");
}

const SECRET_KEY: &str = "Sk7x2PqW9mZt4LbN8vRc1YhD5gFj3KsA6eUo0iTw";

/// Saves a new API account named Feed Robot and answers the save.
fn create_api_account(app: &mut App, secret_key: Option<&str>) {
    let commands = command(app, "new api");
    answer_groups(app, &commands);
    if app
        .forms
        .form
        .as_ref()
        .is_some_and(|s| s.form.asks_credentials())
    {
        focus(app, Field::Email);
        type_text(app, "feed-robot");
        focus(app, Field::Password);
        type_text(app, "Secr3tpassword");
    }
    focus(app, Field::FirstName);
    type_text(app, "Feed");
    press(app, KeyCode::Tab);
    type_text(app, "Robot");
    let commands = app.handle_key(ctrl('s'));
    let (id, _) = save_request(&commands);
    app.update(Action::Worker(Event::AccountSaved {
        id,
        user: Box::new(account(
            42,
            "11112222333344449999",
            "Api User",
            "Standard User",
        )),
        created: true,
        problem: None,
        secret_key: secret_key.map(Secret::new),
    }));
}

#[test]
fn a_new_api_account_shows_its_access_id_and_secret_key_once() {
    let mut app = loaded(administrator());
    create_api_account(&mut app, Some(SECRET_KEY));
    assert_eq!(app.mode(), Mode::Token);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("Access ID: 11112222333344449999"), "{text}");
    assert!(text.contains(SECRET_KEY), "{text}");
    insta::assert_snapshot!("api_account_created_80x24", text);
    let small = screen(&mut app, 40, 10);
    insta::assert_snapshot!("api_account_created_40x10", small);
    press(&mut app, KeyCode::Char('c'));
    assert_eq!(app.take_terminal_output(), Some(osc52(SECRET_KEY)));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), Mode::Table);
    assert!(!screen(&mut app, 80, 24).contains(SECRET_KEY));
    assert!(app
        .rows
        .iter()
        .all(|r| !format!("{:?}", r.user).contains(SECRET_KEY)));
}

/// On an instance that does not generate API user names (a plain
/// ThreatConnect), the form asks for the User Name and Password the docs
/// require, and says plainly that the Secret Key is not returned.
#[test]
fn a_plain_instance_asks_for_api_credentials_and_says_the_key_is_not_returned() {
    let mut ctx = administrator();
    ctx.capabilities
        .extensions
        .remove(ext::GENERATED_USER_NAMES);
    ctx.capabilities.extensions.remove(ext::API_SECRET_KEY);
    let mut app = loaded(ctx);
    let commands = command(&mut app, "new api");
    answer_groups(&mut app, &commands);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("User Name"), "{text}");
    assert!(text.contains("Password"), "{text}");
    // Saving without them names what is missing and sends nothing.
    focus(&mut app, Field::FirstName);
    type_text(&mut app, "Feed");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "Robot");
    assert!(app.handle_key(ctrl('s')).is_empty());
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("User Name is required"), "{text}");
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('y'));
    let mut app = loaded({
        let mut ctx = administrator();
        ctx.capabilities
            .extensions
            .remove(ext::GENERATED_USER_NAMES);
        ctx.capabilities.extensions.remove(ext::API_SECRET_KEY);
        ctx
    });
    let commands = command(&mut app, "new api");
    answer_groups(&mut app, &commands);
    focus(&mut app, Field::Email);
    type_text(&mut app, "feed-robot");
    focus(&mut app, Field::Password);
    type_text(&mut app, "Secr3tpassword");
    focus(&mut app, Field::FirstName);
    type_text(&mut app, "Feed");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "Robot");
    let commands = app.handle_key(ctrl('s'));
    let (id, save) = save_request(&commands);
    let Command::SaveAccount { body, .. } = save else {
        unreachable!()
    };
    assert_eq!(body.0["userName"], "feed-robot");
    assert_eq!(body.0["password"], "Secr3tpassword");
    app.update(Action::Worker(Event::AccountSaved {
        id,
        user: Box::new(account(42, "feed-robot", "Api User", "Standard User")),
        created: true,
        problem: None,
        secret_key: None,
    }));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("Access ID: feed-robot"), "{text}");
    assert!(
        text.contains("does not return it through the API"),
        "{text}"
    );
}

//! Console tests of columns, horizontal scroll, finding, copying, export
//! and saved views: keys through `App::handle_key`, the effects performed
//! on a temporary directory, snapshots of the real drawing code.

use super::effects::{self, Effect};
use super::tests::{accounts, admin, key, loaded, now, screen, shown_names, type_keys};
use super::*;
use crossterm::event::KeyCode;

fn command(app: &mut App, text: &str) {
    type_keys(app, ":");
    app.update(Action::Paste(text.to_string()));
    app.handle_key(key(KeyCode::Enter));
}

fn selected(app: &App) -> Option<String> {
    app.selected_user().map(|u| u.user_name.clone())
}

fn status_text(app: &App) -> String {
    app.status().map(|s| s.text.clone()).unwrap_or_default()
}

#[test]
fn right_scrolls_the_columns_and_the_account_stays() {
    let mut app = loaded(admin());
    let first = screen(&mut app, 80, 24);
    assert!(first.contains("Groups") && first.contains('›') && !first.contains('‹'));
    app.handle_key(key(KeyCode::Right));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("Account") && text.contains('‹'), "{text}");
    assert!(!text.contains("  Type "), "Type scrolled off\n{text}");
    for _ in 0..10 {
        app.handle_key(key(KeyCode::Right));
        screen(&mut app, 80, 24);
    }
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains("Org Role") && text.contains("Name") && !text.contains('›'),
        "{text}"
    );
    insta::assert_snapshot!("scrolled_right_80x24", text);
    insta::assert_snapshot!("scrolled_right_40x10", screen(&mut app, 40, 10));
    for _ in 0..20 {
        app.handle_key(key(KeyCode::Left));
    }
    assert_eq!(screen(&mut app, 80, 24), first);
}

#[test]
fn columns_command_shows_hides_orders_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "# keep me\ndefault_profile = \"lab\"\n").unwrap();
    let mut app = loaded(admin());
    command(&mut app, "columns");
    assert!(status_text(&app).contains("columns shown: account, type"));
    command(&mut app, "columns -groups -name +Name");
    assert!(!app.shown_columns().contains(&Column::Groups));
    assert_eq!(app.shown_columns().last(), Some(&Column::Name));
    let saved = app.take_effects();
    assert!(matches!(&saved[..], [Effect::SaveConfig(_)]));
    for effect in &saved {
        effects::perform(effect, Some(&path)).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# keep me\ndefault_profile = \"lab\""),
        "{text}"
    );
    assert!(text.contains("columns = ["), "{text}");
    command(&mut app, "columns order account, name, status");
    assert_eq!(
        app.shown_columns(),
        vec![Column::Account, Column::Name, Column::Status]
    );
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("Name") && !text.contains("Groups"), "{text}");
    insta::assert_snapshot!("columns_ordered_80x24", text);
    command(&mut app, "columns -account");
    assert!(app.status().is_some_and(|s| s.is_error));
    command(&mut app, "columns +nonsense");
    assert!(status_text(&app).contains("the columns are account, type"));
    // A new session reads them back.
    for effect in app.take_effects() {
        effects::perform(&effect, Some(&path)).unwrap();
    }
    let config = crate::config::ConsoleConfig::load(&path).unwrap();
    let again = App::new(admin()).with_console_config(config);
    assert_eq!(
        again.shown_columns(),
        vec![Column::Account, Column::Name, Column::Status]
    );
    command(&mut app, "columns reset");
    assert_eq!(app.shown_columns().len(), Column::ALL.len());
}

#[test]
fn find_jumps_as_you_type_without_filtering_and_n_goes_on() {
    let mut app = loaded(admin());
    type_keys(&mut app, "f");
    assert_eq!(app.mode(), Mode::Find);
    app.update(Action::Paste("ca".into()));
    assert_eq!(selected(&app).as_deref(), Some("carol@demo.example"));
    assert_eq!(app.counts(), (7, 7), "nothing filtered out");
    insta::assert_snapshot!("find_prompt_80x24", screen(&mut app, 80, 24));
    insta::assert_snapshot!("find_prompt_40x10", screen(&mut app, 40, 10));
    // Esc goes back to where the search started.
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(selected(&app).as_deref(), Some("alice@demo.example"));
    type_keys(&mut app, "f");
    app.update(Action::Paste("demo.example".into()));
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Table);
    let first = selected(&app);
    type_keys(&mut app, "n");
    assert_ne!(selected(&app), first);
    type_keys(&mut app, "N");
    assert_eq!(selected(&app), first);
    // n never creates an account any more; a does.
    assert_eq!(app.mode(), Mode::Table);
    command(&mut app, "find GINA");
    assert_eq!(selected(&app).as_deref(), Some("gina@demo.example"));
    command(&mut app, "find nobody-at-all");
    assert!(app.status().is_some_and(|s| s.is_error));
}

#[test]
fn goto_jumps_to_an_account_by_id_or_name_keeping_the_filter() {
    let mut app = loaded(admin());
    command(&mut app, "goto 8");
    assert_eq!(selected(&app).as_deref(), Some("gina@demo.example"));
    command(&mut app, "goto BOB@demo.example");
    assert_eq!(selected(&app).as_deref(), Some("bob@demo.example"));
    command(&mut app, "goto dave");
    assert_eq!(selected(&app).as_deref(), Some("dave-api"));
    command(&mut app, "filter status:locked");
    command(&mut app, "goto alice@demo.example");
    assert!(
        status_text(&app).contains("filter hides it"),
        "{}",
        status_text(&app)
    );
    command(&mut app, "goto nobody");
    assert!(status_text(&app).contains("no account"));
}

#[test]
fn y_copies_the_user_name_with_osc52() {
    let mut app = loaded(admin());
    type_keys(&mut app, "y");
    let out = app.take_terminal_output().unwrap();
    assert_eq!(out, crate::tui::form::osc52("alice@demo.example"));
    assert!(status_text(&app).contains("copied alice@demo.example"));
}

#[test]
fn export_writes_the_rows_shown_or_the_marked_ones_like_users_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = loaded(admin());
    command(&mut app, "filter status:locked");
    let csv = dir.path().join("locked.csv");
    command(&mut app, &format!("export {}", csv.display()));
    for effect in app.take_effects() {
        let outcome = effects::perform(&effect, None);
        app.effect_done(outcome);
    }
    assert!(status_text(&app).contains("exported 2 accounts"));
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("id,userName,firstName,lastName"));
    assert_eq!(lines.count(), 2);
    // Marks win over the filter.
    type_keys(&mut app, " ");
    let json = dir.path().join("marked.JSON");
    command(&mut app, &format!("export {}", json.display()));
    for effect in app.take_effects() {
        effects::perform(&effect, None).unwrap();
    }
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(value.as_array().map(Vec::len), Some(1));
    command(&mut app, "export accounts.xlsx");
    assert!(status_text(&app).contains(".csv or .json"));
    assert!(app.take_effects().is_empty());
}

#[test]
fn a_saved_view_keeps_filter_sort_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut app = loaded(admin());
    command(&mut app, "filter status:locked");
    command(&mut app, "sort login desc");
    command(&mut app, "columns order account,status,login");
    command(&mut app, "view save locked");
    for effect in app.take_effects() {
        effects::perform(&effect, Some(&path)).unwrap();
    }
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("[locked]"), "{text}");
    command(&mut app, "sort name");
    assert!(screen(&mut app, 80, 24).contains("[locked*]"));
    // Another session opens it (as --view does).
    let config = crate::config::ConsoleConfig::load(&path).unwrap();
    assert!(config.views.contains_key("locked"));
    let mut other = loaded(admin()).with_console_config(config);
    assert!(other.open_view("locked"));
    assert_eq!(other.active_filter(), Some("status:locked"));
    assert_eq!((other.sort, other.ascending), (Column::LastLogin, false));
    assert_eq!(
        other.shown_columns(),
        vec![Column::Account, Column::Status, Column::LastLogin]
    );
    assert_eq!(
        shown_names(&other),
        ["bob@demo.example", "gina@demo.example"]
    );
    let text = screen(&mut other, 80, 24);
    assert!(text.contains("[locked]"), "{text}");
    insta::assert_snapshot!("saved_view_80x24", text);
    insta::assert_snapshot!("saved_view_40x10", screen(&mut other, 40, 10));
    assert!(!other.open_view("nope"));
    assert!(status_text(&other).contains("saved: locked"));
    command(&mut other, "view");
    assert!(status_text(&other).contains("saved views: locked"));
}

#[test]
fn a_long_message_wraps_on_the_status_line() {
    let mut app = loaded(admin());
    let long = "creating the account failed: a user named \"omar.smith201@example.com\" already exists (HTTP 400 bad request) END";
    app.set_error(long);
    for (w, h) in [(80, 24), (40, 10)] {
        let text = screen(&mut app, w, h);
        assert!(text.contains("END"), "{w}x{h}\n{text}");
        insta::assert_snapshot!(format!("status_wrapped_{w}x{h}"), text);
    }
    // A bad filter's reason too, under the prompt.
    type_keys(&mut app, "/");
    app.update(Action::Paste("foo:bar".into()));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("bad filter: "), "{text}");
}

#[test]
fn default_sort_is_by_last_name_and_sort_takes_every_title() {
    let app = loaded(admin());
    assert_eq!(app.sort, Column::Name);
    let names = shown_names(&app);
    assert_eq!(
        names[..3],
        ["alice@demo.example", "dave-api", "bob@demo.example"]
    );
    let mut app = loaded(admin());
    for column in app.available_columns() {
        for text in [
            column.title().to_string(),
            column.title().to_uppercase(),
            column.key().to_string(),
        ] {
            command(&mut app, &format!("sort {text} desc"));
            assert_eq!((app.sort, app.ascending), (column, false), "{text}");
        }
    }
    let _ = (accounts(), now());
}

#[test]
fn nothing_panics_from_80x24_down_to_tiny_in_the_new_modes() {
    let mut app = loaded(admin());
    type_keys(&mut app, "f");
    app.update(Action::Paste("e".into()));
    for (w, h) in [(80, 24), (40, 10), (20, 5), (5, 2), (1, 1)] {
        screen(&mut app, w, h);
    }
    app.handle_key(key(KeyCode::Enter));
    for _ in 0..5 {
        app.handle_key(key(KeyCode::Right));
        for (w, h) in [(80, 24), (40, 10), (20, 5), (5, 2), (1, 1)] {
            screen(&mut app, w, h);
        }
    }
}

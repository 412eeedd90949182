//! The main scenarios, each run against both worlds over real HTTP: the
//! extended sandbox (rollcall's advertised extensions) and the plain one
//! (only what ThreatConnect documents), and where last logins matter also
//! with `lastLogin` left out of every answer. On the plain instance, what
//! needs an extension must say so plainly; nothing may crash or answer
//! wrongly. Expected answers come from raw signed requests, not from the
//! client under test.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rollcall::api::auth::{Credentials, Secret};
use rollcall::api::Connection;
use rollcall::commands::admin::{
    create, delete_confirmed_by, edit, Confirm, CreateArgs, DeleteArgs, EditArgs,
};
use rollcall::commands::audit::{collect, render, AuditArgs, AuditFormat};
use rollcall::commands::offboard::{run_bulk_with, undo_with, BulkArgs, LinePrompt, UndoArgs};
use rollcall::commands::users::{list, Format, ListArgs};
use rollcall::domain::audit::FindingKind;
use rollcall::domain::preflight::BulkAction;
use rollcall::domain::{AccountType, User};
use rollcall::journal::{self as jl, RowState};
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{Sandbox, SandboxConfig};
use rollcall::tui::{Action, App, ConsoleContext, LoadState, Mode};
use rollcall::worker::{Command, Event, Worker};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

const KEY: &str = "both-worlds-key";
const HOME: &str = "Demo Organization";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum World {
    /// The default sandbox, with rollcall's extensions advertised.
    Extended,
    /// `SandboxConfig::plain()`: a documented ThreatConnect instance.
    Plain,
}

const WORLDS: [World; 2] = [World::Extended, World::Plain];

/// A world, and whether its answers leave `lastLogin` out.
#[derive(Clone, Copy, Debug)]
struct Setup {
    world: World,
    omit_last_login: bool,
}

impl Setup {
    /// Both worlds, each with and without `lastLogin` in its answers.
    fn all() -> Vec<Setup> {
        WORLDS
            .into_iter()
            .flat_map(|world| {
                [false, true].map(|omit_last_login| Setup {
                    world,
                    omit_last_login,
                })
            })
            .collect()
    }

    fn of(world: World) -> Setup {
        Setup {
            world,
            omit_last_login: false,
        }
    }

    fn plain(self) -> bool {
        self.world == World::Plain
    }

    async fn start(self, seed_users: usize) -> Sandbox {
        let mut config = SandboxConfig::loopback(seed_users, KEY);
        if self.plain() {
            config = config.plain();
        }
        if self.omit_last_login {
            config = config.omit_last_login();
        }
        Sandbox::start(config).await.expect("sandbox starts")
    }
}

async fn session(sb: &Sandbox, access_id: &str) -> Session {
    session_for(sb.connection(access_id))
        .await
        .expect("session opens")
}

async fn read_only_session(sb: &Sandbox, access_id: &str) -> Session {
    session_for(Connection {
        read_only: true,
        ..sb.connection(access_id)
    })
    .await
    .expect("session opens")
}

// ------------------------------------------------------------ the truth

/// A raw, signed caller: what the instance answers, without the client.
struct Raw {
    http: reqwest::Client,
    base: String,
    creds: Credentials,
}

impl Raw {
    fn new(sb: &Sandbox, access_id: &str, secret: &str) -> Raw {
        Raw {
            http: reqwest::Client::new(),
            base: sb.base_url(),
            creds: Credentials::Hmac {
                access_id: access_id.into(),
                secret_key: Secret::new(secret),
            },
        }
    }

    fn admin(sb: &Sandbox) -> Raw {
        Raw::new(sb, "administrator", KEY)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let url = url::Url::parse(&format!("{}{}", self.base, path)).expect("a url");
        let target = match url.query() {
            Some(q) => format!("{}?{}", url.path(), q),
            None => url.path().to_string(),
        };
        let ts = chrono::Utc::now().timestamp();
        let resp = self
            .http
            .get(url)
            .header(
                "Authorization",
                self.creds.authorization(&target, "GET", ts),
            )
            .header("Timestamp", ts.to_string())
            .send()
            .await
            .expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn user(&self, id: i64) -> (u16, Value) {
        let (status, body) = self.get(&format!("/v3/security/users/{id}")).await;
        (status, body["data"].clone())
    }
}

/// One account as the instance returns it to an administrator, with its
/// groups from `userGroups?fields=users` (served by both worlds).
#[derive(Debug, Clone)]
struct Truth {
    id: i64,
    json: Value,
    groups: Vec<String>,
}

impl Truth {
    fn user_name(&self) -> &str {
        self.json["userName"].as_str().unwrap()
    }
    fn text(&self, key: &str) -> Option<&str> {
        self.json[key].as_str()
    }
    fn flag(&self, key: &str) -> Option<bool> {
        self.json[key].as_bool()
    }
    fn owner(&self) -> &str {
        self.text("owner").unwrap()
    }
    fn org_role(&self) -> Option<&str> {
        self.json["ownerRoles"][self.owner()].as_str()
    }
    fn system_role(&self) -> &str {
        self.text("systemRole").unwrap()
    }
    /// Days since the last login, when the answer carried one.
    fn login_days(&self, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
        let at = self.text("lastLogin")?;
        let at = chrono::DateTime::parse_from_rfc3339(at).expect("an ISO-8601 lastLogin");
        Some((now - at.with_timezone(&chrono::Utc)).num_days())
    }
    fn status(&self) -> &'static str {
        match (self.flag("disabled"), self.flag("locked")) {
            (Some(true), _) => "disabled",
            (_, Some(true)) => "locked",
            _ => "ok",
        }
    }
    /// The account type, from the System role as the docs name them.
    fn kind(&self) -> &'static str {
        match self.system_role() {
            "Api User" | "Exchange Admin" => "api",
            "Taxii User" => "taxii",
            "Read Only User" => "readonly",
            _ => "user",
        }
    }
}

/// Every account, as raw JSON, with `extra` fields asked for.
async fn truth_with(sb: &Sandbox, extra: &[&str]) -> Vec<Truth> {
    let raw = Raw::admin(sb);
    let fields: String = extra.iter().map(|f| format!("&fields={f}")).collect();
    let (status, body) = raw
        .get(&format!("/v3/security/users?resultLimit=10000{fields}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, groups) = raw.get("/v3/security/userGroups?fields=users").await;
    assert_eq!(status, 200, "{groups}");
    let mut member_of: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for group in groups["data"].as_array().unwrap() {
        for member in group["users"]["data"].as_array().unwrap() {
            member_of
                .entry(member["id"].as_i64().unwrap())
                .or_default()
                .push(group["name"].as_str().unwrap().to_string());
        }
    }
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let id = u["id"].as_i64().unwrap();
            let mut groups = member_of.remove(&id).unwrap_or_default();
            groups.sort();
            Truth {
                id,
                json: u.clone(),
                groups,
            }
        })
        .collect()
}

async fn truth(sb: &Sandbox) -> Vec<Truth> {
    truth_with(sb, &[]).await
}

fn names_where(truth: &[Truth], pred: impl Fn(&Truth) -> bool) -> BTreeSet<String> {
    truth
        .iter()
        .filter(|t| pred(t))
        .map(|t| t.user_name().to_string())
        .collect()
}

/// The group with the most members in the home Organization.
fn busiest_group(truth: &[Truth]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in truth.iter().filter(|t| t.owner() == HOME) {
        for g in &t.groups {
            *counts.entry(g).or_default() += 1;
        }
    }
    let (name, count) = counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .expect("the seed has groups");
    assert!(count >= 2, "{name} has {count} members");
    name.to_string()
}

// ------------------------------------------------------------ 1. the console

/// App, Worker and event channel wired as the console's event loop wires
/// them (`rollcall::tui::run` minus the terminal), drawn on a TestBackend.
struct Console {
    app: App,
    worker: Worker,
    events: UnboundedReceiver<Event>,
}

impl Console {
    async fn open(session: &Session) -> Console {
        let (worker, events) = Worker::spawn(session.client.clone());
        let mut console = Console {
            app: App::new(ConsoleContext::from_session(session)),
            worker,
            events,
        };
        let commands = console.app.start();
        console.send(commands);
        while matches!(console.app.load_state(), LoadState::Loading { .. }) {
            let event = tokio::time::timeout(Duration::from_secs(20), console.events.recv())
                .await
                .expect("the listing within 20 s")
                .expect("the worker runs");
            let commands = console.app.update(Action::Worker(event));
            console.send(commands);
        }
        assert_eq!(
            console.app.load_state(),
            &LoadState::Done,
            "{:?}",
            console.app.status()
        );
        console
    }

    fn send(&self, commands: Vec<Command>) {
        for command in commands {
            assert!(self.worker.send(command));
        }
    }

    fn key(&mut self, code: KeyCode) {
        let commands = self.app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
        self.send(commands);
    }

    /// `/`, the text, and Enter (keeps the filter), as a person types it.
    fn filter(&mut self, text: &str) {
        self.key(KeyCode::Char('/'));
        // Start from an empty filter line.
        for _ in 0..80 {
            self.key(KeyCode::Backspace);
        }
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn keep_filter(&mut self) {
        self.key(KeyCode::Enter);
        assert_eq!(self.app.mode(), Mode::Table);
    }

    /// The accounts shown, walking the table with the arrow keys.
    fn shown(&mut self) -> Vec<User> {
        self.key(KeyCode::Home);
        let mut users = Vec::new();
        for _ in 0..self.app.counts().1 {
            users.push(self.app.selected_user().cloned().expect("a selected row"));
            self.key(KeyCode::Down);
        }
        users
    }

    fn shown_names(&mut self) -> BTreeSet<String> {
        self.shown().into_iter().map(|u| u.user_name).collect()
    }

    fn select(&mut self, id: i64) {
        self.key(KeyCode::Home);
        for _ in 0..self.app.counts().1 {
            if self.app.selected_user().map(|u| u.id) == Some(id) {
                return;
            }
            self.key(KeyCode::Down);
        }
        panic!("account {id} is not shown");
    }

    /// The screen as text, drawn by the console's own drawing code.
    fn screen(&mut self, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let mut geometry = rollcall::tui::Geometry::default();
        terminal
            .draw(|frame| geometry = rollcall::tui::draw(&self.app, frame))
            .unwrap();
        self.app.update(Action::Geometry(geometry));
        let buffer = terminal.backend().buffer().clone();
        buffer
            .content()
            .chunks(usize::from(width))
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The value on the detail view's line `label`.
    fn detail(&mut self, label: &str) -> String {
        let screen = self.screen(100, 60);
        let line = screen
            .lines()
            .find_map(|l| {
                // A line of the popup starts at its border (the table's
                // header behind it has the same words).
                let start = format!("│{label} ");
                let at = l.find(&start)?;
                let rest = &l[at + start.len()..];
                Some(rest.split('│').next().unwrap_or(rest).trim())
            })
            .unwrap_or_else(|| panic!("no {label} line in\n{screen}"));
        line.to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_browses_filters_and_shows_details_in_both_worlds() {
    for setup in Setup::all() {
        let sb = setup.start(150).await;
        let now = chrono::Utc::now();
        let truth = truth(&sb).await;
        let home: Vec<&Truth> = truth.iter().filter(|t| t.owner() == HOME).collect();
        let admin = session(&sb, "administrator").await;
        let mut console = Console::open(&admin).await;

        // Browse: the home Organization's accounts, each with its groups
        // (on plain from userGroups?fields=users) in the Groups column.
        let shown = console.shown();
        let want: BTreeMap<i64, Vec<String>> =
            home.iter().map(|t| (t.id, t.groups.clone())).collect();
        let got: BTreeMap<i64, Vec<String>> = shown
            .iter()
            .map(|u| {
                let groups = u
                    .group_names()
                    .unwrap_or_else(|| panic!("{setup:?}: groups of {} unknown", u.user_name));
                (u.id, groups.iter().map(|g| g.to_string()).collect())
            })
            .collect();
        assert_eq!(got, want, "{setup:?}");
        let group = busiest_group(&truth);
        let screen = console.screen(220, 60);
        assert!(screen.contains("Groups"), "{setup:?}\n{screen}");
        assert!(screen.contains(&group), "{setup:?}\n{screen}");

        // Filter with `/`: a group, and a status, as computed from the truth.
        console.filter(&format!("group:\"{group}\""));
        console.keep_filter();
        let want = names_where(&truth, |t| t.owner() == HOME && t.groups.contains(&group));
        assert_eq!(console.shown_names(), want, "{setup:?}");
        console.filter("status:locked");
        console.keep_filter();
        let locked = names_where(&truth, |t| t.owner() == HOME && t.status() == "locked");
        assert!(!locked.is_empty());
        assert_eq!(console.shown_names(), locked, "{setup:?}");

        // Last logins: "never" only where the instance returns lastLogin;
        // otherwise unknown, and neither login:never nor login>Nd matches.
        let never = names_where(&truth, |t| {
            t.owner() == HOME && !setup.omit_last_login && t.text("lastLogin").is_none()
        });
        let stale = names_where(&truth, |t| {
            t.owner() == HOME && t.login_days(now).is_some_and(|d| d > 30)
        });
        console.filter("login:never");
        console.keep_filter();
        assert_eq!(console.shown_names(), never, "{setup:?}");
        console.filter("login>30d");
        console.keep_filter();
        assert_eq!(console.shown_names(), stale, "{setup:?}");
        if setup.omit_last_login {
            assert!(never.is_empty() && stale.is_empty());
            console.filter("");
            console.keep_filter();
            let screen = console.screen(220, 60);
            assert!(screen.contains("unknown"), "{setup:?}\n{screen}");
            assert!(!screen.contains("never"), "{setup:?}\n{screen}");
        } else {
            assert!(!never.is_empty() && !stale.is_empty(), "{setup:?}");
        }

        // MFA needs the extension: on plain the filter line says so
        // instead of claiming that no account matches.
        console.filter("mfa:off");
        let screen = console.screen(120, 30);
        if setup.plain() {
            assert!(
                screen.contains("bad filter: this instance does not report MFA status"),
                "{setup:?}\n{screen}"
            );
            let status_line = screen.lines().last().unwrap();
            assert!(!status_line.contains("match"), "{setup:?}\n{screen}");
        } else {
            let mfa = truth_with(&sb, &["mfaEnabled"]).await;
            let off = names_where(&mfa, |t| {
                t.owner() == HOME && t.flag("mfaEnabled") == Some(false)
            });
            assert!(!off.is_empty());
            console.keep_filter();
            assert_eq!(console.shown_names(), off, "{setup:?}");
        }
        console.key(KeyCode::Esc);
        console.filter("");
        console.keep_filter();

        // Details: last login and groups, as the instance said them.
        let member = home
            .iter()
            .find(|t| t.groups.contains(&group))
            .expect("a member of the group");
        console.select(member.id);
        console.key(KeyCode::Enter);
        assert_eq!(console.app.mode(), Mode::Detail);
        assert_eq!(
            console.detail("Groups"),
            member.groups.join(", "),
            "{setup:?}"
        );
        let last_login = console.detail("Last Login");
        if setup.omit_last_login {
            assert_eq!(last_login, "not returned", "{setup:?}");
        } else {
            let at = member.text("lastLogin").unwrap_or("never");
            assert!(
                last_login.starts_with(&at[..at.len().min(10)]),
                "{setup:?}: {last_login} vs {at}"
            );
        }
        console.key(KeyCode::Esc);
        let first_never = home.iter().find(|t| t.text("lastLogin").is_none());
        if let (false, Some(fresh)) = (setup.omit_last_login, first_never) {
            console.select(fresh.id);
            console.key(KeyCode::Enter);
            assert_eq!(console.detail("Last Login"), "never", "{setup:?}");
            console.key(KeyCode::Esc);
        }
        console.worker.send(Command::Shutdown);
        sb.shutdown().await;
    }
}

// ------------------------------------------------------------ 2. users list

/// The names `users list --filter` prints as JSON, or its error (all causes).
async fn listed(session: &Session, filter: &str) -> Result<BTreeSet<String>, String> {
    let mut out = Vec::new();
    let args = ListArgs {
        filter: Some(filter.to_string()),
        format: Format::Json,
        ..Default::default()
    };
    match list(session, &args, &mut out).await {
        Ok(()) => {
            let users: Vec<User> = serde_json::from_slice(&out).expect("JSON output");
            Ok(users.into_iter().map(|u| u.user_name).collect())
        }
        Err(e) => Err(format!("{e:#}")),
    }
}

/// `rollcall users list --filter FILTER` as a process: exit status and stderr.
async fn users_list_binary(sb: &Sandbox, filter: &str) -> (bool, String) {
    let home = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["users", "list", "--format", "csv", "--filter", filter])
        .env("TC_API_PATH", sb.base_url())
        .env("TC_API_ACCESS_ID", "administrator")
        .env("TC_API_SECRET_KEY", KEY)
        .env_remove("TC_TOKEN")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_list_answers_every_filter_key_or_says_it_needs_an_extension() {
    for setup in Setup::all() {
        let sb = setup.start(150).await;
        let admin = session(&sb, "administrator").await;
        let now = chrono::Utc::now();
        // mfaEnabled is itself an extension field: only the extended world has it.
        let truth = if setup.plain() {
            truth(&sb).await
        } else {
            truth_with(&sb, &["mfaEnabled"]).await
        };
        let group = busiest_group(&truth);
        let word = truth
            .iter()
            .find_map(|t| t.text("lastName"))
            .expect("a last name")
            .to_lowercase();
        let returned = !setup.omit_last_login;
        type Want = Box<dyn Fn(&Truth) -> bool>;
        let cases: Vec<(String, Want)> = vec![
            ("status:ok".into(), Box::new(|t| t.status() == "ok")),
            ("status:locked".into(), Box::new(|t| t.status() == "locked")),
            (
                "status:disabled".into(),
                Box::new(|t| t.status() == "disabled"),
            ),
            (
                "role:\"Read Only User\"".into(),
                Box::new(|t| t.system_role() == "Read Only User"),
            ),
            ("role:User".into(), Box::new(|t| t.system_role() == "User")),
            (
                "orgrole:\"Organization Administrator\"".into(),
                Box::new(|t| t.org_role() == Some("Organization Administrator")),
            ),
            (
                "orgrole:\"Standard User\"".into(),
                Box::new(|t| t.org_role() == Some("Standard User")),
            ),
            ("type:user".into(), Box::new(|t| t.kind() == "user")),
            ("type:api".into(), Box::new(|t| t.kind() == "api")),
            ("type:taxii".into(), Box::new(|t| t.kind() == "taxii")),
            ("type:readonly".into(), Box::new(|t| t.kind() == "readonly")),
            (format!("group:\"{group}\""), {
                let group = group.clone();
                Box::new(move |t| t.groups.contains(&group))
            }),
            // Only known last logins older than N days: never is not stale.
            (
                "login>30d".into(),
                Box::new(move |t| t.login_days(now).is_some_and(|d| d > 30)),
            ),
            (
                "login<30d".into(),
                Box::new(move |t| t.login_days(now).is_some_and(|d| d < 30)),
            ),
            (
                "login:never".into(),
                Box::new(move |t| returned && t.text("lastLogin").is_none()),
            ),
            (
                "mfa:on".into(),
                Box::new(|t| t.flag("mfaEnabled") == Some(true)),
            ),
            (
                "mfa:off".into(),
                Box::new(|t| t.flag("mfaEnabled") == Some(false)),
            ),
            (word.clone(), {
                let word = word.clone();
                Box::new(move |t| {
                    ["userName", "firstName", "lastName", "pseudonym"]
                        .iter()
                        .any(|k| t.text(k).is_some_and(|v| v.to_lowercase().contains(&word)))
                })
            }),
            (
                "status:ok type:api".into(),
                Box::new(|t| t.status() == "ok" && t.kind() == "api"),
            ),
        ];
        for (filter, want) in &cases {
            let expected = names_where(&truth, want);
            let needs_extension = filter.starts_with("mfa:");
            match listed(&admin, filter).await {
                Ok(got) => {
                    assert!(
                        !(needs_extension && setup.plain()),
                        "{setup:?} {filter}: answered {} accounts without the MFA field",
                        got.len()
                    );
                    assert_eq!(got, expected, "{setup:?} {filter}");
                    // The seed exercises every key where the world returns its data.
                    let data_withheld = setup.omit_last_login && filter.starts_with("login");
                    assert_eq!(expected.is_empty(), data_withheld, "{setup:?} {filter}");
                }
                Err(error) => {
                    assert!(
                        needs_extension && setup.plain(),
                        "{setup:?} {filter}: {error}"
                    );
                    assert_eq!(
                        error,
                        "this instance does not report MFA status, so mfa: cannot be used"
                    );
                }
            }
        }
        // The binary: one line and a failure status where the instance
        // lacks the field, an answer where it has it.
        let (ok, stderr) = users_list_binary(&sb, "mfa:off").await;
        if setup.plain() {
            assert!(!ok, "{setup:?}");
            assert_eq!(
                stderr,
                "rollcall: this instance does not report MFA status, so mfa: cannot be used\n"
            );
        } else {
            assert!(ok, "{setup:?}: {stderr}");
        }
        sb.shutdown().await;
    }
}

// ------------------------------------------------------------ 3. create, edit, delete

fn create_args(kind: AccountType, sets: &[&str], generate_token: bool) -> CreateArgs {
    CreateArgs {
        kind,
        org: None,
        set: sets.iter().map(|s| s.to_string()).collect(),
        password_stdin: false,
        generate_token,
    }
}

/// Runs a command: its output, or its error (all causes).
fn finish(result: anyhow::Result<()>, out: Vec<u8>) -> Result<String, String> {
    let text = String::from_utf8(out).expect("utf-8 output");
    result.map(|()| text).map_err(|e| format!("{e:#}"))
}

async fn run_create(s: &Session, args: &CreateArgs) -> Result<String, String> {
    let mut out = Vec::new();
    let result = create(s, args, &mut out).await;
    finish(result, out)
}

async fn run_edit(s: &Session, id: i64, sets: &[&str]) -> Result<String, String> {
    let args = EditArgs {
        id: id.into(),
        set: sets.iter().map(|s| s.to_string()).collect(),
        password_stdin: false,
    };
    let mut out = Vec::new();
    let result = edit(s, &args, &mut out).await;
    finish(result, out)
}

/// Nobody at a terminal: deletes here pass `--yes`.
struct NoTerminal;

impl Confirm for NoTerminal {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

async fn run_delete(s: &Session, id: i64, playbooks_to: Option<i64>) -> Result<String, String> {
    let args = DeleteArgs {
        id: Some(id.into()),
        filter: None,
        org: None,
        dry_run: false,
        concurrency: None,
        journal: None,
        reassign_playbooks_to: playbooks_to.map(Into::into),
        reassign_jobs_to: None,
        yes: true,
    };
    let mut out = Vec::new();
    let result = delete_confirmed_by(s, &args, &mut out, &mut NoTerminal).await;
    finish(result, out)
}

fn created_id(output: &str) -> i64 {
    let start = output.find("(id ").expect("an id in the output") + 4;
    output[start..]
        .split(')')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a numeric id")
}

/// The value printed on the output line starting with `label: `.
fn printed<'a>(output: &'a str, label: &str) -> Option<&'a str> {
    output
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label}: ")))
}

/// Writes sent so far (POST, PUT, DELETE).
fn writes(sb: &Sandbox) -> u64 {
    let r = sb.requests();
    r.post + r.put + r.delete
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_edit_and_delete_send_what_each_world_takes_and_say_what_it_lacks() {
    for world in WORLDS {
        let setup = Setup::of(world);
        let sb = setup.start(60).await;
        let admin = session(&sb, "administrator").await;
        let raw = Raw::admin(&sb);

        // A User with the docs' required fields (the plain instance refuses
        // a creation that lacks any), checked in the instance's own answer.
        let out = run_create(
            &admin,
            &create_args(
                AccountType::User,
                &[
                    "email=pat.both@example.com",
                    "password=Secr3tpass",
                    "first-name=Pat",
                    "last-name=Both",
                    "orgRole=Sharing User",
                ],
                false,
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("{world:?}: {e}"));
        let pat = created_id(&out);
        let (status, user) = raw.user(pat).await;
        assert_eq!(status, 200, "{user}");
        assert_eq!(user["userName"], "pat.both@example.com");
        assert_eq!(
            (&user["firstName"], &user["lastName"]),
            (&"Pat".into(), &"Both".into())
        );
        assert_eq!(user["owner"], HOME);
        assert_eq!(user["ownerRoles"][HOME], "Sharing User");
        assert_eq!(user["systemRole"], "User");
        // The account-info e-mail is an extension: queued only where offered.
        let mailed = out.contains("Account information e-mail queued");
        assert_eq!(mailed, world == World::Extended, "{world:?}: {out}");
        assert_eq!(sb.outbox().unwrap().len(), usize::from(mailed));

        // API and TAXII accounts: the docs require userName and password for
        // them too; on plain rollcall makes them up and shows them once.
        for (kind, name_label) in [
            (AccountType::Api, "Access ID"),
            (AccountType::Taxii, "User name"),
        ] {
            let out = run_create(
                &admin,
                &create_args(kind, &["first-name=Feed", "last-name=Account"], false),
            )
            .await
            .unwrap_or_else(|e| panic!("{world:?} {kind:?}: {e}"));
            let (status, user) = raw.user(created_id(&out)).await;
            assert_eq!(status, 200);
            let role = if kind == AccountType::Api {
                "Api User"
            } else {
                "Taxii User"
            };
            assert_eq!(user["systemRole"], role);
            let user_name = user["userName"].as_str().unwrap();
            match world {
                World::Extended => assert_eq!(printed(&out, "Password"), None, "{out}"),
                World::Plain => {
                    assert_eq!(printed(&out, name_label), Some(user_name), "{out}");
                    let password = printed(&out, "Password").expect("the password, once");
                    assert!(password.len() >= 8, "{out}");
                    assert!(out.contains("shown once and is not stored anywhere"));
                }
            }
        }

        // Extension-only fields: offered where advertised, and on plain a
        // plain refusal before anything is sent.
        for (sets, kind, token, refusal) in [
            (
                vec!["time-zone=Europe/Berlin"],
                AccountType::User,
                false,
                "Time Zone cannot be saved: this instance does not offer it (rollcall extension timeZone)",
            ),
            (
                vec!["groups=SOC Team"],
                AccountType::User,
                false,
                "Groups cannot be saved: this instance does not offer it (rollcall extension groupMembership)",
            ),
            (
                vec![],
                AccountType::Api,
                true,
                "this instance does not support generating API tokens (rollcall extension apiTokens)",
            ),
        ] {
            let mut all: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            all.extend(["first-name=Ext".into(), "last-name=Field".into()]);
            if kind == AccountType::User {
                let email = format!("ext.field.{}@example.com", writes(&sb));
                all.extend([format!("email={email}"), "password=Secr3tpass".into()]);
            }
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            let before = writes(&sb);
            let result = run_create(&admin, &create_args(kind, &all, token)).await;
            match world {
                World::Extended => {
                    let out = result.unwrap_or_else(|e| panic!("{all:?}: {e}"));
                    assert!(out.starts_with("Created "), "{out}");
                }
                World::Plain => {
                    assert_eq!(result, Err(refusal.to_string()), "{all:?}");
                    assert_eq!(writes(&sb), before, "{all:?}: nothing sent");
                }
            }
            let edit = run_edit(&admin, pat, &sets).await;
            if world == World::Plain && !token {
                assert_eq!(edit, Err(refusal.to_string()));
                assert_eq!(writes(&sb), before, "{sets:?}: nothing sent");
            } else if !token {
                edit.unwrap_or_else(|e| panic!("{sets:?}: {e}"));
            }
        }

        // Edit: a documented updatable field in both worlds.
        let out = run_edit(&admin, pat, &["first-name=Renamed"])
            .await
            .unwrap_or_else(|e| panic!("{world:?}: {e}"));
        assert!(out.contains("Updated pat.both@example.com"), "{out}");
        assert_eq!(raw.user(pat).await.1["firstName"], "Renamed");
        // systemRole: updatable only through the extension; on plain the
        // instance marks it not updatable, so it is refused before sending.
        let before = writes(&sb);
        let changed = run_edit(&admin, pat, &["system-role=Read Only User"]).await;
        let role_now = raw.user(pat).await.1["systemRole"].clone();
        match world {
            World::Extended => {
                changed.unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(role_now, "Read Only User");
            }
            World::Plain => {
                assert_eq!(
                    changed,
                    Err("System Role cannot be changed: this instance marks systemRole as not updatable".into())
                );
                assert_eq!(writes(&sb), before, "nothing sent");
                assert_eq!(role_now, "User");
            }
        }

        // Delete: reassignment needs an extension; a plain delete works and
        // says the instance does not report what runs as the account.
        if world == World::Plain {
            let before = writes(&sb);
            let reassigning = run_delete(&admin, pat, Some(1)).await;
            assert_eq!(
                reassigning,
                Err("this instance does not support reassigning playbooks or job apps on delete (rollcall extension reassignOnDelete)".into())
            );
            assert_eq!(writes(&sb), before, "nothing sent");
            let out = run_delete(&admin, pat, None).await.unwrap();
            assert!(
                out.starts_with("note: this instance does not report playbooks or job apps"),
                "{out}"
            );
            assert!(out.contains("Deleted pat.both@example.com"), "{out}");
        } else {
            let out = run_delete(&admin, pat, None).await.unwrap();
            assert!(out.contains("Deleted pat.both@example.com"), "{out}");
        }
        assert_eq!(raw.user(pat).await.0, 404, "{world:?}");
        sb.shutdown().await;
    }
}

// ------------------------------------------------------------ 4. bulk disable and undo

/// A prompt nobody answers: runs here pass `--yes`.
fn unattended() -> LinePrompt<&'static [u8]> {
    LinePrompt {
        input: b"",
        interactive: false,
    }
}

/// Each account's `disabled`, as the instance returns it.
fn disabled_by_id(truth: &[Truth]) -> BTreeMap<i64, Option<bool>> {
    truth.iter().map(|t| (t.id, t.flag("disabled"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_disable_and_its_undo_agree_with_the_server_in_both_worlds() {
    for world in WORLDS {
        let sb = Setup::of(world).start(200).await;
        let admin = session(&sb, "administrator").await;
        let before = truth(&sb).await;
        let group = busiest_group(&before);
        // A group filter: on plain its membership comes from userGroups.
        let filter = format!("group:\"{group}\" status:ok");
        let selected: BTreeSet<i64> = before
            .iter()
            .filter(|t| t.groups.contains(&group) && t.status() == "ok")
            .map(|t| t.id)
            .collect();
        assert!(selected.len() >= 2, "{world:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let args = BulkArgs {
            filter: filter.clone(),
            yes: true,
            concurrency: Some(4),
            journal: Some(path.clone()),
            ..Default::default()
        };
        let mut out = Vec::new();
        run_bulk_with(
            &admin,
            BulkAction::Disable,
            &args,
            &mut out,
            &mut unattended(),
        )
        .await
        .unwrap_or_else(|e| panic!("{world:?}: {e:#}\n{}", String::from_utf8_lossy(&out)));

        // The server: exactly the accounts the journal says it disabled.
        let after = truth(&sb).await;
        let (was, now) = (disabled_by_id(&before), disabled_by_id(&after));
        let changed: BTreeSet<i64> = was
            .iter()
            .filter(|(id, d)| now[*id] != **d)
            .map(|(id, _)| *id)
            .collect();
        assert!(changed.iter().all(|id| now[id] == Some(true)));
        let contents = jl::read(&path).unwrap();
        assert!(contents.bad_lines.is_empty());
        let run = jl::runs_of(&contents).pop().expect("the run");
        assert_eq!(
            run.header.as_ref().unwrap().filter.as_deref(),
            Some(filter.as_str())
        );
        let rows = jl::run_rows(&contents.entries, &run.run_id);
        let ok: BTreeSet<i64> = rows
            .iter()
            .filter(|r| r.state == RowState::Ok)
            .map(|r| r.account_id)
            .collect();
        assert_eq!(rows.len(), ok.len(), "{world:?}: {rows:?}");
        assert_eq!(ok, changed, "{world:?}");
        // Everything selected was changed or refused by the preflight (the
        // administrator's own account, higher roles): never anything else.
        let header = run.header.as_ref().unwrap();
        assert!(changed.is_subset(&selected));
        assert_eq!(
            header.planned + header.already + header.not_allowed,
            selected.len(),
            "{world:?}"
        );
        assert!(!changed.is_empty());

        // Undo: the server is as before, and the undo run says so.
        let mut out = Vec::new();
        undo_with(
            &admin,
            &UndoArgs {
                run_id: run.run_id.clone(),
                yes: true,
                concurrency: Some(4),
                journal: Some(path.clone()),
                ..Default::default()
            },
            &mut out,
            &mut unattended(),
        )
        .await
        .unwrap_or_else(|e| panic!("{world:?}: {e:#}"));
        let restored = truth(&sb).await;
        assert_eq!(disabled_by_id(&restored), was, "{world:?}");
        let undo = jl::runs_of(&jl::read(&path).unwrap()).pop().unwrap();
        assert_eq!(undo.action, "enable");
        assert_eq!(
            undo.header.as_ref().and_then(|h| h.undo_of.clone()),
            Some(run.run_id.clone())
        );
        assert_eq!(
            (undo.succeeded, undo.failed),
            (changed.len(), 0),
            "{world:?}"
        );
        sb.shutdown().await;
    }
}

// ------------------------------------------------------------ 5. the audit

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_runs_in_both_worlds_and_leaves_what_is_not_returned_unknown() {
    for setup in Setup::all() {
        let sb = setup.start(200).await;
        let truth = truth(&sb).await;
        let all: Vec<i64> = truth.iter().map(|t| t.id).collect();
        let auditor = read_only_session(&sb, "administrator").await;
        let now = chrono::Utc::now();
        let collected = collect(&auditor, &AuditArgs::default(), now)
            .await
            .unwrap_or_else(|e| panic!("{setup:?}: {e:#}"));
        let mut seen: Vec<i64> = collected.users.iter().map(|u| u.id).collect();
        seen.sort_unstable();
        assert_eq!(seen, all, "{setup:?}");
        let ids = |pred: &dyn Fn(&Truth) -> bool| -> Vec<i64> {
            truth.iter().filter(|t| pred(t)).map(|t| t.id).collect()
        };
        let read_only_org_role =
            |t: &Truth| matches!(t.org_role(), Some("Read Only User" | "Read Only Commenter"));
        let privileged = [
            "Administrator",
            "Operations Administrator",
            "Accounts Administrator",
            "Community Leader",
            "Super User",
            "Exchange Admin",
        ];
        // Findings computed from the raw answers: in both worlds the same,
        // groups included (on plain from userGroups?fields=users).
        let expected = [
            (
                FindingKind::NeverLoggedIn,
                ids(&|t| t.text("lastLogin").is_none()),
            ),
            (
                FindingKind::StaleLogin,
                ids(&|t| t.login_days(now).is_some_and(|d| d > 90)),
            ),
            (FindingKind::Locked, ids(&|t| t.status() == "locked")),
            (
                FindingKind::DisabledWithAccess,
                ids(&|t| {
                    t.status() == "disabled"
                        && (t.system_role() != "Read Only User"
                            || !read_only_org_role(t)
                            || !t.groups.is_empty())
                }),
            ),
            (
                FindingKind::Privileged,
                ids(&|t| {
                    privileged.contains(&t.system_role())
                        || t.org_role() == Some("Organization Administrator")
                }),
            ),
            (FindingKind::ApiUsers, ids(&|t| t.kind() == "api")),
            (
                FindingKind::PendingPasswordReset,
                ids(&|t| t.flag("passwordResetRequired") == Some(true)),
            ),
            (
                FindingKind::PendingMfaReset,
                ids(&|t| t.flag("twoFactorResetRequired") == Some(true)),
            ),
        ];
        for (kind, want) in expected {
            let finding = collected.audit.finding(kind).expect("every kind");
            let mut got = finding.account_ids.clone();
            got.sort_unstable();
            let mut unknown = finding.unknown_ids.clone();
            unknown.sort_unstable();
            let login_finding =
                matches!(kind, FindingKind::NeverLoggedIn | FindingKind::StaleLogin);
            if setup.omit_last_login && login_finding {
                // Not returned: unknown for everyone, never zero or "never".
                assert!(got.is_empty(), "{setup:?} {kind:?}");
                assert_eq!(unknown, all, "{setup:?} {kind:?}");
            } else {
                assert!(!want.is_empty(), "{setup:?} {kind:?} is exercised");
                assert_eq!(got, want, "{setup:?} {kind:?}");
                assert!(unknown.is_empty(), "{setup:?} {kind:?}");
            }
        }
        let markdown = render(&collected, AuditFormat::Markdown).unwrap();
        let json = render(&collected, AuditFormat::Json).unwrap();
        if setup.omit_last_login {
            let line = format!("| Never logged in | 0 | {} |", all.len());
            assert!(markdown.contains(&line), "{setup:?}\n{markdown}");
            // Details of privileged and API accounts say unknown, not never.
            let privileged = collected.audit.finding(FindingKind::Privileged).unwrap();
            assert!(privileged
                .detail
                .values()
                .all(|d| d == "last login unknown"));
            assert!(!json.contains("last login never"));
        }
        // Seat limits are an extension: reported where offered, and on
        // plain said to be unknown rather than shown as zero.
        let unreported = markdown.contains("The instance did not report seat limits.");
        assert_eq!(unreported, setup.plain(), "{setup:?}\n{markdown}");
        assert_eq!(collected.audit.seats.is_empty(), setup.plain());
        sb.shutdown().await;
    }
}

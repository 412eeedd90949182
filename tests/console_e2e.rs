//! The real binary in a real terminal (tmux): `rollcall --demo` shows rows,
//! filters, opens the detail view, and leaves the terminal as it found it on
//! `q`, on SIGTERM, SIGINT and SIGQUIT, and when the terminal goes away
//! (SIGHUP). Where it matters the tests read the raw bytes rollcall wrote
//! (`tmux pipe-pane`) and the tty settings the shell finds afterwards.
//!
//! Skipped, with a note, only where tmux is not installed.

#[path = "common/server_state.rs"]
mod server_state;
use rollcall::journal::{self as jl, RowState};
use rollcall::sandbox::{Faults, Sandbox, SandboxConfig};
use server_state::server_state;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rollcall");

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A detached tmux session running `rollcall --demo`, killed on drop.
struct Pane {
    name: String,
}

impl Pane {
    fn start(tag: &str) -> Pane {
        Pane::start_with(tag, "")
    }

    fn start_with(tag: &str, args: &str) -> Pane {
        // The shell prints RESTORED once rollcall has exited, then lingers so
        // the pane can be read.
        let script = format!("'{BIN}' --demo {args}; echo RESTORED status=$?; sleep 30");
        Pane::start_script(tag, &script)
    }

    fn start_script(tag: &str, script: &str) -> Pane {
        Pane::start_sized(tag, script, 100, 30)
    }

    fn start_sized(tag: &str, script: &str, width: u16, height: u16) -> Pane {
        let (width, height) = (width.to_string(), height.to_string());
        let name = format!("rollcall-e2e-{tag}-{}", std::process::id());
        // Tests start panes in parallel; when no tmux server runs yet, two
        // at once race to start one and the loser fails: try again.
        let started = (0..5).any(|attempt| {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Command::new("tmux")
                .args([
                    "new-session",
                    "-d",
                    "-s",
                    &name,
                    "-x",
                    &width,
                    "-y",
                    &height,
                ])
                .args(["sh", "-c", script])
                .env_remove("NO_COLOR")
                .status()
                .expect("tmux runs")
                .success()
        });
        assert!(started, "tmux new-session failed");
        Pane { name }
    }

    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    fn text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.name, "-l", text])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Waits until `ready` holds for the pane's text; panics with the pane
    /// on timeout.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.capture();
            if ready(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the pane shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The rollcall process (the shell's child).
    fn rollcall_pid(&self) -> u32 {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, "#{pane_pid}"])
            .output()
            .expect("tmux display-message");
        let shell: u32 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a pane pid");
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .expect("the shell's children");
        children
            .split_whitespace()
            .next()
            .and_then(|pid| pid.parse().ok())
            .expect("rollcall runs under the shell")
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

fn loaded(screen: &str) -> bool {
    screen.contains("Org: ") && screen.contains("> ") && !screen.contains("loading")
}

fn restored(screen: &str) -> bool {
    screen.contains("RESTORED status=0")
        && !screen.contains("Account ")
        && !screen.contains("Org: ")
}

#[test]
fn demo_filter_detail_and_quit_restore_the_terminal() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let pane = Pane::start("quit");
    let screen = pane.wait_for("the accounts", loaded);
    assert!(screen.contains("Account"), "{screen}");
    assert!(screen.contains("System Role"), "{screen}");

    pane.keys(&["/"]);
    pane.text("status:locked");
    let screen = pane.wait_for("the filter prompt", |s| {
        s.contains("/status:locked") && s.contains(" match")
    });
    assert!(!screen.contains("bad filter"), "{screen}");
    pane.keys(&["Enter"]);
    pane.wait_for("the kept filter", |s| s.contains("filter status:locked ("));

    pane.keys(&["Enter"]);
    let screen = pane.wait_for("the detail view", |s| s.contains("User Name"));
    assert!(
        screen.contains("Status") && screen.contains("Locked"),
        "{screen}"
    );
    pane.keys(&["Escape"]);
    pane.wait_for("the table again", |s| !s.contains("User Name"));

    pane.keys(&["q"]);
    pane.wait_for("the shell after q", restored);
}

#[test]
fn demo_as_an_organization_administrator_hides_the_system_role_column() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let pane = Pane::start_with("orgadmin", "--as organization-administrator");
    let screen = pane.wait_for("the accounts", loaded);
    assert!(screen.contains("Organization Administrator") || screen.contains("Org Admin"));
    assert!(!screen.contains("System Role"), "{screen}");
    pane.keys(&["C-c"]);
    pane.wait_for("the shell after Ctrl-C", restored);
}

#[test]
fn demo_as_a_read_only_user_shows_its_own_account_and_the_badge() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let pane = Pane::start_with("readonly", "--as read-only");
    let screen = pane.wait_for("the own account", |s| s.contains("1/1"));
    assert!(screen.contains("READ-ONLY"), "{screen}");
    assert!(!screen.contains("Error"), "{screen}");
    pane.keys(&["q"]);
    pane.wait_for("the shell after q", restored);
}

#[test]
fn sigterm_restores_the_terminal() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let pane = Pane::start("term");
    pane.wait_for("the accounts", loaded);
    let pid = pane.rollcall_pid();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    // 128 + 15, as a shell reports a process SIGTERM ended.
    pane.wait_for("the shell after SIGTERM", |s| {
        s.contains("RESTORED status=143") && !s.contains("Org: ")
    });
}

#[test]
fn a_dropped_terminal_ends_the_console() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let pane = Pane::start("hup");
    pane.wait_for("the accounts", loaded);
    let pid = pane.rollcall_pid();
    // Closing the session hangs up its terminal, as a dropped SSH link does.
    drop(pane);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // A zombie has exited; only its parent has yet to reap it.
        if state.contains(") Z") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rollcall ({pid}) still runs after its terminal went away"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A pane whose every output byte is logged (`tmux pipe-pane`) from
/// before rollcall starts: the shell waits for a gate file that the test
/// creates once the pipe is on. After rollcall exits the shell prints its
/// exit status and the tty's canonical-mode and echo settings (a terminal
/// left raw shows `-icanon -echo`); `sh -c` repairs nothing itself.
struct Logged {
    pane: Pane,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl Logged {
    fn start(tag: &str, command: &str) -> Logged {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let gate = dir.path().join("gate");
        let log = dir.path().join("raw.log");
        let script = format!(
            "while [ ! -e '{gate}' ]; do sleep 0.05; done; {command}; echo RESTORED status=$?; \
             echo TTY $(stty -a | tr ' ;' '\\n\\n' | grep -x -e '-*icanon' -e '-*echo'); sleep 30",
            gate = gate.display()
        );
        let pane = Pane::start_script(tag, &script);
        let status = Command::new("tmux")
            .args(["pipe-pane", "-t", &pane.name])
            .arg(format!("cat >> '{}'", log.display()))
            .status()
            .expect("tmux pipe-pane");
        assert!(status.success());
        std::fs::write(&gate, "").expect("the gate file");
        Logged { pane, log, dir }
    }

    /// Everything rollcall and the shell wrote to the terminal so far.
    fn raw(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Waits for the shell's lines after rollcall exited; returns the
    /// exit status.
    fn wait_exit(&self, what: &str) -> (i32, String) {
        let mut screen = self.pane.wait_for(what, |s| s.contains("RESTORED status="));
        // The tty line follows at once; a terminal left raw may garble it.
        let deadline = Instant::now() + Duration::from_secs(3);
        while !screen.contains("TTY") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            screen = self.pane.capture();
        }
        let status = screen
            .split("RESTORED status=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|code| code.parse().ok())
            .expect("an exit status");
        (status, screen)
    }
}

/// The terminal was handed back: the last switch to the alternate screen is
/// followed by the switch back, a hidden cursor by a shown one, bracketed
/// paste by its end; and the tty is cooked again.
fn assert_handed_back(logged: &Logged, screen: &str) {
    let raw = logged.raw();
    for (on, off, what) in [
        ("\x1b[?1049h", "\x1b[?1049l", "the alternate screen"),
        ("\x1b[?25l", "\x1b[?25h", "the hidden cursor"),
        ("\x1b[?2004h", "\x1b[?2004l", "bracketed paste"),
    ] {
        if let Some(entered) = raw.rfind(on) {
            assert!(
                raw.rfind(off).is_some_and(|left| left > entered),
                "{what} was not left; the raw output ends with {:?}",
                &raw[raw.len().saturating_sub(300)..]
            );
        }
    }
    assert!(raw.contains("\x1b[?1049h"), "the console never started");
    assert!(
        screen.contains("TTY icanon echo"),
        "the tty is still raw:\n{screen}"
    );
}

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn sigint_and_sigquit_restore_the_terminal_and_exit_as_shells_expect() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let panes: Vec<(&str, i32, Logged)> = [("INT", 130), ("QUIT", 131)]
        .into_iter()
        .map(|(signal, code)| {
            let tag = format!("sig{signal}");
            (
                signal,
                code,
                Logged::start(&tag, &format!("'{BIN}' --demo")),
            )
        })
        .collect();
    for (signal, code, logged) in &panes {
        logged.pane.wait_for("the accounts", loaded);
        kill(signal, logged.pane.rollcall_pid());
        let (status, screen) = logged.wait_exit(&format!("the shell after SIG{signal}"));
        assert_eq!(status, *code, "SIG{signal}:\n{screen}");
        assert_handed_back(logged, &screen);
        assert!(!logged.raw().contains("panicked"), "{}", logged.raw());
    }
}

#[test]
fn a_200k_character_paste_leaves_the_console_responsive() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let logged = Logged::start("paste", &format!("'{BIN}' --demo"));
    let pane = &logged.pane;
    pane.wait_for("the accounts", loaded);
    pane.keys(&["/"]);
    pane.wait_for("the filter prompt", |s| s.contains(" match"));
    let text = logged.dir.path().join("paste.txt");
    std::fs::write(&text, "Z".repeat(200_000)).expect("the paste");
    let buffer = format!("{}-paste", pane.name);
    let tmux = |args: &[&str]| {
        let status = Command::new("tmux").args(args).status().expect("tmux");
        assert!(status.success(), "tmux {args:?}");
    };
    tmux(&["load-buffer", "-b", &buffer, &text.display().to_string()]);
    let pasted = Instant::now();
    // -p: bracketed, as a terminal pastes into an application that asked.
    tmux(&["paste-buffer", "-p", "-d", "-b", &buffer, "-t", &pane.name]);
    let screen = pane.wait_for("the cut paste", |s| s.contains("cut to 1,000 characters"));
    assert!(screen.contains("/ZZZZ"), "{screen}");
    pane.keys(&["Escape"]);
    pane.wait_for("Esc to clear the filter", |s| {
        !s.contains("/ZZZZ") && s.contains("Org: ")
    });
    assert!(
        pasted.elapsed() < Duration::from_secs(8),
        "the console took {:?} to answer Esc after the paste",
        pasted.elapsed()
    );
    kill("TERM", pane.rollcall_pid());
    let (status, screen) = logged.wait_exit("the shell after SIGTERM");
    assert_eq!(status, 143, "{screen}");
    assert_handed_back(&logged, &screen);
}

const KEY: &str = "e2e-console-secret-0123456789abcdef";

/// A title change (OSC 0) and a device-status query (DSR) whose answer
/// would land in the console's input.
const HOSTILE_COMMUNITY: &str = "Demo \x1b]0;PWNTITLE\x07 \x1b[5n Community";
/// A clipboard write (OSC 52), a C1 CSI screen clear, a zero-width joiner.
const HOSTILE_GROUP: &str = "SOC\x1b]52;c;UFdORUQ=\x07 \u{9b}2J \u{200d}Team";
/// A cursor move, a bidirectional override, DEL.
const HOSTILE_NAME: &str = "Evil\x1b[3;77H\u{202e}gnp.exe\x7f";

/// A sandbox in this process, so its latency can be set mid-test; the
/// console runs against it as `rollcall` with the TC_API_* variables.
struct Instance {
    sandbox: Option<Sandbox>,
    runtime: tokio::runtime::Runtime,
    home: tempfile::TempDir,
}

impl Instance {
    fn start(users: usize) -> Instance {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let sandbox = runtime
            .block_on(Sandbox::start(SandboxConfig::loopback(users, KEY)))
            .expect("the sandbox starts");
        Instance {
            sandbox: Some(sandbox),
            runtime,
            home: tempfile::tempdir().expect("a home"),
        }
    }

    /// As `start`, with hostile names written into its database behind its
    /// back: a Community (shown as a "Role in ..." label in the detail
    /// view), a group and an account's names, each holding escape sequences
    /// a fake server sent in the adversarial run.
    fn start_hostile(users: usize) -> Instance {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let home = tempfile::tempdir().expect("a home");
        let mut config = SandboxConfig::loopback(users, KEY);
        config.db = Some(home.path().join("sandbox.sqlite"));
        runtime.block_on(async {
            Sandbox::start(config.clone())
                .await
                .expect("seeds")
                .shutdown()
                .await
        });
        let conn = rusqlite::Connection::open(home.path().join("sandbox.sqlite")).expect("db");
        conn.execute(
            "UPDATE owners SET name = ?1 WHERE id = (SELECT min(id) FROM owners WHERE kind = 'Community')",
            [HOSTILE_COMMUNITY],
        )
        .expect("a Community renamed");
        conn.execute("UPDATE groups SET name = ?1", [HOSTILE_GROUP])
            .expect("groups renamed");
        conn.execute(
            "UPDATE users SET first_name = 'Hostile', last_name = ?1 \
             WHERE id = (SELECT min(id) FROM users WHERE system_role = 'User')",
            [HOSTILE_NAME],
        )
        .expect("an account renamed");
        conn.execute(
            "INSERT OR IGNORE INTO user_groups(user_id, group_id) \
             SELECT id, (SELECT min(id) FROM groups) FROM users WHERE first_name = 'Hostile'",
            [],
        )
        .expect("a group membership");
        drop(conn);
        let sandbox = runtime
            .block_on(Sandbox::start(config))
            .expect("the sandbox restarts");
        Instance {
            sandbox: Some(sandbox),
            runtime,
            home,
        }
    }

    fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("the sandbox runs")
    }

    fn journal(&self) -> PathBuf {
        self.home.path().join("journal.jsonl")
    }

    /// The console on this sandbox as its administrator, two requests in
    /// flight at a time.
    fn console(&self) -> String {
        let home = self.home.path().display();
        format!(
            "env -u TC_TOKEN TC_API_PATH='{url}' TC_API_ACCESS_ID=administrator \
             TC_API_SECRET_KEY='{KEY}' HOME='{home}' XDG_CONFIG_HOME='{home}' \
             XDG_DATA_HOME='{home}' '{BIN}' --journal '{journal}' --concurrency 2",
            url = self.sandbox().base_url(),
            journal = self.journal().display(),
        )
    }

    /// Every answer takes `latency` from now on.
    fn slow(&self, latency: Duration) {
        self.sandbox().set_faults(Faults {
            latency,
            ..Default::default()
        });
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.shutdown());
        }
    }
}

/// Marks every account shown, asks to disable them and confirms: the run
/// starts, slowly.
fn start_slow_run(instance: &Instance, pane: &Pane) {
    pane.wait_for("the accounts", loaded);
    instance.slow(Duration::from_secs(4));
    pane.keys(&["*", "d"]);
    pane.wait_for("the preflight", |s| s.contains("Will change"));
    pane.keys(&["y"]);
    pane.wait_for("the run", |s| s.contains("ok 0  failed 0"));
    // Begun, not only shown: its first intent is in the journal.
    wait_for_journal_lines(&instance.journal(), 2);
}

/// Waits (up to 20 s) until the journal holds at least `lines` lines.
fn wait_for_journal_lines(path: &Path, lines: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let count = std::fs::read_to_string(path).map_or(0, |t| t.lines().count());
        if count >= lines {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the journal {} never reached {lines} lines", path.display());
}

/// Every line of the journal is JSON: nothing torn by the way out.
fn assert_journal_whole(path: &Path) {
    let text = std::fs::read_to_string(path).expect("the journal");
    assert!(text.lines().count() > 1, "{text}");
    for line in text.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "a torn journal line: {line}"
        );
    }
}

#[test]
fn ctrl_c_and_sigterm_during_a_bulk_run_stop_it_without_a_panic() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let ways: [(&str, i32); 2] = [("C-c", 130), ("TERM", 143)];
    let runs: Vec<(&str, i32, Instance, Logged)> = ways
        .into_iter()
        .map(|(way, code)| {
            let instance = Instance::start(60);
            let logged = Logged::start(&format!("run{way}"), &instance.console());
            (way, code, instance, logged)
        })
        .collect();
    for (way, _, instance, logged) in &runs {
        start_slow_run(instance, &logged.pane);
        match *way {
            "C-c" => logged.pane.keys(&["C-c"]),
            signal => kill(signal, logged.pane.rollcall_pid()),
        }
    }
    for (way, code, instance, logged) in &runs {
        let stopped = Instant::now();
        let (status, screen) = logged.wait_exit(&format!("the shell after {way}"));
        let raw = logged.raw();
        for bad in ["panicked", "Tokio", "backtrace"] {
            assert!(!raw.contains(bad), "{way}: {bad} in\n{raw}");
        }
        // The grace for requests in flight is 2 s; the answers take 4.
        assert!(stopped.elapsed() < Duration::from_secs(6), "{way}");
        assert_eq!(status, *code, "{way}:\n{screen}");
        assert!(raw.contains("the bulk run was interrupted"), "{way}: {raw}");
        assert_handed_back(logged, &screen);
        assert_journal_whole(&instance.journal());
    }
}

/// Ctrl-C pressed at different moments of a console bulk run whose answers
/// come soon enough for the requests in flight to finish within the grace:
/// every time the console exits 130 without a panic, hands the terminal
/// back, and leaves a journal that agrees with the server account by
/// account (a change on the server is journaled ok or unknown, a journaled
/// success is on the server).
#[test]
fn ctrl_c_at_any_moment_of_a_console_bulk_run_leaves_a_journal_that_agrees_with_the_server() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let running = |s: &str| s.contains(" ok ") && s.contains("  failed ") && s.contains("not sent");
    for (attempt, delay_ms) in [0u64, 150, 400, 900].into_iter().enumerate() {
        let what = format!("try {attempt}: Ctrl-C {delay_ms} ms into the run");
        let instance = Instance::start(60);
        let before = instance.runtime.block_on(server_state(instance.sandbox()));
        let logged = Logged::start(&format!("cc{attempt}"), &instance.console());
        let pane = &logged.pane;
        pane.wait_for("the accounts", loaded);
        // Slow enough that the run (60 accounts, 2 at a time) outlasts the
        // key's way through a loaded machine: about 12 s.
        instance.slow(Duration::from_millis(400));
        pane.keys(&["*", "d"]);
        pane.wait_for("the preflight", |s| s.contains("Will change"));
        pane.keys(&["y"]);
        pane.wait_for("the run", running);
        // The screen shows the run before the worker has begun it: the
        // delays count from its first request, journaled before it is sent.
        wait_for_journal_lines(&instance.journal(), 2);
        std::thread::sleep(Duration::from_millis(delay_ms));
        pane.keys(&["C-c"]);
        let (status, screen) = logged.wait_exit(&format!("the shell after Ctrl-C ({what})"));
        instance.slow(Duration::ZERO);
        let raw = logged.raw();
        for bad in ["panicked", "Tokio", "backtrace", "being shut"] {
            assert!(!raw.contains(bad), "{what}: {bad} in\n{raw}");
        }
        assert_eq!(status, 130, "{what}:\n{screen}");
        assert_handed_back(&logged, &screen);
        assert_journal_whole(&instance.journal());

        let contents = jl::read(&instance.journal()).expect("the journal reads");
        let runs = jl::runs_of(&contents);
        assert_eq!(runs.len(), 1, "{what}");
        let planned = runs[0].header.as_ref().expect("a run header").planned;
        assert!(runs[0].intended < planned, "{what}: cut short");
        assert_eq!(runs[0].unfinished, 0, "{what}: requests in flight finished");
        let rows = jl::run_rows(&contents.entries, &runs[0].run_id);
        let after = instance.runtime.block_on(server_state(instance.sandbox()));
        let state_of = |id: i64| rows.iter().find(|r| r.account_id == id).map(|r| &r.state);
        for (id, now) in &after {
            let was = before.get(id).and_then(|u| u.disabled);
            if now.disabled == Some(true) && was != Some(true) {
                assert!(
                    matches!(state_of(*id), Some(RowState::Ok | RowState::Unknown(_))),
                    "{what}: account {id} is disabled on the server but journaled as {:?}",
                    state_of(*id)
                );
            }
        }
        for row in rows.iter().filter(|r| r.state == RowState::Ok) {
            assert_eq!(
                after.get(&row.account_id).and_then(|u| u.disabled),
                Some(true),
                "{what}: account {} journaled ok but not disabled",
                row.account_id
            );
        }
    }
}

#[test]
fn q_during_a_bulk_run_asks_then_stops_it_and_quits() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let instance = Instance::start(60);
    let logged = Logged::start("runq", &instance.console());
    let pane = &logged.pane;
    start_slow_run(&instance, pane);
    pane.keys(&["q"]);
    pane.wait_for("the question", |s| {
        s.contains("Stop the run? unfinished accounts are not sent (y/n)")
    });
    pane.keys(&["n"]);
    pane.wait_for("the run going on", |s| s.contains("the run goes on"));
    pane.keys(&["q"]);
    pane.wait_for("the question again", |s| s.contains("Stop the run?"));
    // Answers come fast again: the requests in flight finish, then rollcall quits.
    instance.slow(Duration::ZERO);
    pane.keys(&["y"]);
    let (status, screen) = logged.wait_exit("the shell after y");
    // Stopped before every account was sent: the run did not finish, and
    // the exit status says so.
    assert_eq!(status, 1, "{screen}");
    assert!(
        logged.raw().contains("the bulk run was stopped:"),
        "{}",
        logged.raw()
    );
    assert_handed_back(&logged, &screen);
    assert!(!logged.raw().contains("panicked"));
    assert_journal_whole(&instance.journal());
}

/// The attack suite's console part: hostile names from the instance, the
/// table and the detail view drawn by the real binary, and the raw bytes it
/// wrote read back: not one escape sequence from the data, the pane's title
/// untouched.
#[test]
fn hostile_names_reach_the_terminal_only_escaped() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let instance = Instance::start_hostile(40);
    let logged = Logged::start("hostile", &instance.console());
    logged.pane.wait_for("the accounts", loaded);
    logged.pane.keys(&["/"]);
    logged.pane.text("hostile");
    logged
        .pane
        .wait_for("the hostile account", |s| s.contains("Hostile Evi"));
    logged.pane.keys(&["Enter", "Enter"]);
    let detail = logged.pane.wait_for("the detail view", |s| {
        s.contains("User Name") && s.contains("Role in")
    });
    assert!(detail.contains("\\e]0;PWNTITLE"), "{detail}");
    // Esc and q apart: together a terminal reads them as Alt-q.
    logged.pane.keys(&["Escape"]);
    logged
        .pane
        .wait_for("the table again", |s| !s.contains("User Name"));
    logged.pane.keys(&["q"]);
    let (status, screen) = logged.wait_exit("the shell after q");
    assert_eq!(status, 0, "{screen}");
    let raw = logged.raw();
    for (needle, what) in [
        ("\x1b]0;PWNTITLE", "a title change"),
        ("\x1b]52;", "a clipboard write"),
        ("\x1b[5n", "a device-status query"),
        ("\x1b[3;77H", "the data's cursor move"),
        ("\u{9b}", "a C1 control"),
        ("\u{202e}", "a bidirectional override"),
        ("\u{200d}", "a zero-width joiner"),
        ("\x7f", "DEL"),
    ] {
        assert!(!raw.contains(needle), "{what} reached the terminal");
    }
    let title = Command::new("tmux")
        .args(["display", "-p", "-t", &logged.pane.name, "#{pane_title}"])
        .output()
        .expect("tmux display");
    assert!(
        !String::from_utf8_lossy(&title.stdout).contains("PWNTITLE"),
        "the pane was retitled"
    );
}

// ---- the table at 80x24: columns, scrolling, finding, export, views ----

/// `rollcall --demo --config CONFIG ARGS` in an 80x24 pane.
fn demo_80x24(tag: &str, config: &Path, args: &str) -> Pane {
    let script = format!(
        "'{BIN}' --demo --config '{}' {args}; echo RESTORED status=$?; sleep 30",
        config.display()
    );
    Pane::start_sized(tag, &script, 80, 24)
}

/// The header row of the table (the line holding "Account").
fn header_row(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains("Account"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn columns_at_80x24_scroll_and_columns_command_keeps_them() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "# mine\ndefault_profile = \"lab\"\n").unwrap();
    let pane = demo_80x24("columns", &config, "");
    let screen = pane.wait_for("the accounts", loaded);
    let header = header_row(&screen);
    for title in [
        "Account",
        "Type",
        "Status",
        "Last Login",
        "Pw Expires",
        "Groups",
        "›",
    ] {
        assert!(header.contains(title), "{title}: {screen}");
    }
    // People first: no numeric access id on the first row.
    let first_row = screen
        .lines()
        .find(|l| l.starts_with("> "))
        .unwrap_or_default();
    assert!(
        !first_row[2..].starts_with(|c: char| c.is_ascii_digit()),
        "{screen}"
    );

    pane.keys(&["Right", "Right"]);
    let screen = pane.wait_for("columns scrolled", |s| header_row(s).contains('‹'));
    let header = header_row(&screen);
    assert!(
        header.contains("Account") && !header.contains("Type"),
        "{screen}"
    );
    pane.keys(&["Left", "Left"]);
    pane.wait_for("columns back", |s| !header_row(s).contains('‹'));

    pane.keys(&[":"]);
    pane.text("columns -groups +name");
    pane.keys(&["Enter"]);
    pane.wait_for("the columns listed", |s| s.contains("columns shown:"));
    let screen = pane.wait_for("no Groups", |s| !header_row(s).contains("Groups"));
    assert!(header_row(&screen).contains("Name"), "{screen}");
    pane.wait_for("saved", |_| {
        std::fs::read_to_string(&config).is_ok_and(|t| t.contains("[console]"))
    });
    pane.keys(&["q"]);
    pane.wait_for("the shell after q", restored);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.starts_with("# mine\ndefault_profile = \"lab\"") && !text.contains("\"groups\""),
        "{text}"
    );

    // The next session shows the same columns.
    let again = demo_80x24("columns-again", &config, "");
    let screen = again.wait_for("the accounts", loaded);
    assert!(!header_row(&screen).contains("Groups"), "{screen}");
    again.keys(&["q"]);
    again.wait_for("the shell after q", restored);
}

#[test]
fn goto_jumps_and_export_writes_the_rows_shown() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let out = dir.path().join("locked.csv");
    let pane = demo_80x24("goto", &config, "");
    pane.wait_for("the accounts", loaded);
    pane.keys(&[":"]);
    pane.text("goto administrator");
    pane.keys(&["Enter"]);
    pane.wait_for("the jump", |s| {
        s.lines().any(|l| l.starts_with("> administrator "))
    });

    pane.keys(&["/"]);
    pane.text("status:locked");
    pane.keys(&["Enter"]);
    pane.wait_for("the filter", |s| s.contains("filter status:locked ("));
    pane.keys(&[":"]);
    pane.text(&format!("export {}", out.display()));
    pane.keys(&["Enter"]);
    let screen = pane.wait_for("the export", |s| s.contains("exported "));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap_or_default()
            .starts_with("id,userName,firstName,lastName"),
        "{text}"
    );
    assert!(lines.all(|l| l.contains(",Locked,")), "{text}\n{screen}");
    pane.keys(&["q"]);
    pane.wait_for("the shell after q", restored);
}

#[test]
fn a_saved_view_opens_with_dash_dash_view() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let pane = demo_80x24("view", &config, "");
    pane.wait_for("the accounts", loaded);
    pane.keys(&["/"]);
    pane.text("status:locked");
    pane.keys(&["Enter", ":"]);
    pane.text("sort login desc");
    pane.keys(&["Enter", ":"]);
    pane.text("view save locked");
    pane.keys(&["Enter"]);
    pane.wait_for("the view's name", |s| s.contains("[locked]"));
    pane.wait_for("saved", |_| {
        std::fs::read_to_string(&config).is_ok_and(|t| t.contains("[console.views.locked]"))
    });
    pane.keys(&["q"]);
    pane.wait_for("the shell after q", restored);

    let again = demo_80x24("view-again", &config, "--view locked");
    let screen = again.wait_for("the view", |s| loaded(s) && s.contains("[locked]"));
    assert!(header_row(&screen).contains("Last Lo… ↓"), "{screen}");
    again.keys(&[":"]);
    again.text("view");
    again.keys(&["Enter"]);
    again.wait_for("the list of views", |s| s.contains("saved views: locked"));
    again.keys(&["q"]);
    again.wait_for("the shell after q", restored);
}

/// A disable, its journal and its undo in the real binary: `:journal`
/// lists the run, Enter shows its account, `u` plans the undo and its
/// preflight asks first; after `y` the account is enabled again on the
/// server and the journal holds the undo with its link.
#[test]
fn the_journal_view_and_undo_in_the_real_console() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let instance = Instance::start(60);
    let pane = Pane::start_script("journal", &instance.console());
    pane.wait_for("the accounts", loaded);
    pane.keys(&["/"]);
    pane.text("status:ok login<365d");
    pane.keys(&["Enter", "d"]);
    pane.wait_for("the preflight", |s| s.contains("Will change"));
    pane.keys(&["y"]);
    pane.wait_for("the results", |s| s.contains("disable: 1 ok"));
    // Esc alone, then the prompt: Esc and a key sent together read as Alt.
    pane.keys(&["Escape"]);
    pane.wait_for("the table", |s| !s.contains("retry failed"));
    pane.keys(&[":"]);
    pane.text("journal");
    pane.keys(&["Enter"]);
    let screen = pane.wait_for("the runs", |s| s.contains("Journal: 1 run"));
    assert!(screen.contains("disable"), "{screen}");
    pane.keys(&["Enter"]);
    pane.wait_for("the run's account", |s| {
        s.contains("ok ") && s.contains("u undo")
    });
    pane.keys(&["u"]);
    let screen = pane.wait_for("the undo's preflight", |s| s.contains("Enable 1 account"));
    assert!(screen.contains("undo of run"), "{screen}");
    pane.keys(&["y"]);
    pane.wait_for("the undo's results", |s| s.contains("enable: 1 ok"));
    let contents = rollcall::journal::read(&instance.journal()).expect("the journal");
    let runs = rollcall::journal::runs_of(&contents);
    assert_eq!(runs.len(), 2, "{runs:?}");
    let undo = runs
        .iter()
        .find(|r| r.action == "enable")
        .expect("the undo run");
    let original = runs
        .iter()
        .find(|r| r.action == "disable")
        .expect("the run");
    let link = undo.header.as_ref().and_then(|h| h.undo_of.clone());
    assert_eq!(link.as_deref(), Some(original.run_id.as_str()));
    assert_eq!(undo.succeeded, 1);
}

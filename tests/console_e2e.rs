//! The real binary in a real terminal (tmux): `rollcall --demo` shows rows,
//! filters, opens the detail view, and leaves the terminal as it found it on
//! `q`, on SIGTERM, and when the terminal goes away (SIGHUP).
//!
//! Skipped, with a note, only where tmux is not installed.

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
        let name = format!("rollcall-e2e-{tag}-{}", std::process::id());
        // The shell prints RESTORED once rollcall has exited, then lingers so
        // the pane can be read.
        let script = format!("'{BIN}' --demo {args}; echo RESTORED status=$?; sleep 30");
        // Tests start panes in parallel; when no tmux server runs yet, two
        // at once race to start one and the loser fails: try again.
        let started = (0..5).any(|attempt| {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Command::new("tmux")
                .args(["new-session", "-d", "-s", &name, "-x", "100", "-y", "30"])
                .args(["sh", "-c", &script])
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
    pane.wait_for("the shell after SIGTERM", restored);
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

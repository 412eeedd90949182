//! SIGINT and SIGTERM during a scripted bulk run, tried again and again at
//! different moments: the real binary cancels what has not started, lets
//! the requests in flight finish and journals them, exits 130 or 143, and
//! never panics. The journal then agrees with the server account by account.

#[path = "common/server_state.rs"]
mod server_state;
use rollcall::journal::{self as jl, RowState};
use rollcall::sandbox::{Faults, Sandbox, SandboxConfig};
use server_state::server_state;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SECRET: &str = "secret";

fn spawn_disable(sb: &Sandbox, journal: &Path, home: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args([
            "users",
            "disable",
            "--filter",
            "type:user",
            "--yes",
            "--concurrency",
            "3",
            "--journal",
        ])
        .arg(journal)
        .env("TC_API_PATH", sb.base_url())
        .env("TC_API_ACCESS_ID", "administrator")
        .env("TC_API_SECRET_KEY", SECRET)
        .env_remove("TC_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("ROLLCALL_LOG")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// `rollcall journal ARGS` on `journal`: it must read the file (exit 0).
fn journal_listing(journal: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .arg("journal")
        .arg("--journal")
        .arg(journal)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("rollcall journal runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "rollcall journal {args:?}: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Delays before the signal, in milliseconds: the first try signals right
/// after the run is announced (before its first request, perhaps), the
/// others somewhere in the middle, shifted by the clock so that repeated
/// test runs try other moments.
fn delays(tries: usize) -> Vec<u64> {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_millis()));
    (0..tries as u64)
        .map(|i| {
            if i == 0 {
                0
            } else {
                (i * 97 + jitter * (i + 3)) % 600
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_and_sigterm_mid_run_cancel_cleanly_every_time() {
    let tries = delays(6);
    for (attempt, delay_ms) in tries.iter().copied().enumerate() {
        let (signal, expected_code) = if attempt % 3 == 1 {
            (libc::SIGTERM, 143)
        } else {
            (libc::SIGINT, 130)
        };
        let what = format!("try {attempt}: signal {signal} after {delay_ms} ms");
        let sb = Sandbox::start(SandboxConfig::loopback(150, SECRET))
            .await
            .expect("sandbox starts");
        let before = server_state(&sb).await;
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("journal.jsonl");
        sb.set_faults(Faults {
            latency: Duration::from_millis(60),
            ..Default::default()
        });
        let mut child = spawn_disable(&sb, &journal, dir.path());
        let stdout = child.stdout.take().expect("stdout piped");
        let pid = child.id() as libc::pid_t;
        // Read until the run is announced, signal after the delay, then
        // read the rest; the reading happens off the async threads.
        let reader = tokio::task::spawn_blocking(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            let mut seen = Vec::new();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                let announced = line.starts_with("Run ") && line.contains("journal");
                seen.push(line);
                if announced {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(delay_ms));
            // SAFETY: kill(2) on our own child, which has not been reaped
            // (the wait comes after this task), so the pid is still its.
            let sent = unsafe { libc::kill(pid, signal) };
            seen.extend(lines.map_while(Result::ok));
            (sent, seen)
        });
        let (sent, stdout) = tokio::time::timeout(Duration::from_secs(60), reader)
            .await
            .unwrap_or_else(|_| panic!("{what}: the run ended within a minute"))
            .unwrap();
        assert_eq!(sent, 0, "{what}: kill");
        let output = child.wait_with_output().expect("the binary ends");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        sb.set_faults(Faults::default());
        let shown = format!("{what}\nstdout:\n{}\nstderr:\n{stderr}", stdout.join("\n"));

        assert_eq!(output.status.code(), Some(expected_code), "{shown}");
        for noise in [
            "panicked",
            "context is being shut down",
            "being shutdown",
            "stack backtrace",
            "RUST_BACKTRACE",
        ] {
            assert!(!stderr.contains(noise), "{noise:?}: {shown}");
        }
        assert!(stderr.contains("cancelled: "), "{shown}");
        assert!(
            stdout.iter().any(|l| l.starts_with("Cancelling:")),
            "{shown}"
        );

        // `rollcall journal` reads it, and so does its run listing.
        let listing = journal_listing(&journal, &[]);
        let contents = jl::read(&journal).expect("the journal reads");
        assert!(contents.bad_lines.is_empty(), "{shown}");
        let runs = jl::runs_of(&contents);
        assert_eq!(runs.len(), 1, "{shown}\n{listing}");
        let run = &runs[0];
        assert!(listing.contains(&run.run_id), "{listing}");
        journal_listing(&journal, &["--run", &run.run_id]);
        // Requests in flight finished and were journaled.
        assert_eq!(run.unfinished, 0, "{shown}\n{listing}");
        let planned = run.header.as_ref().expect("a run header").planned;
        assert!(run.intended < planned, "cut short: {shown}");

        // Account by account: every change on the server is journaled as
        // ok or unknown, and no journaled success is missing there.
        let after = server_state(&sb).await;
        let rows = jl::run_rows(&contents.entries, &run.run_id);
        let state_of = |id: i64| rows.iter().find(|r| r.account_id == id).map(|r| &r.state);
        for (id, now) in &after {
            let was = before.get(id).and_then(|u| u.disabled);
            if now.disabled == Some(true) && was != Some(true) {
                assert!(
                    matches!(state_of(*id), Some(RowState::Ok | RowState::Unknown(_))),
                    "account {id} is disabled on the server but journaled as {:?}: {shown}",
                    state_of(*id)
                );
            }
        }
        for row in &rows {
            if row.state == RowState::Ok {
                assert_eq!(
                    after.get(&row.account_id).and_then(|u| u.disabled),
                    Some(true),
                    "account {} journaled ok but not disabled: {shown}",
                    row.account_id
                );
            }
        }
        sb.shutdown().await;
    }
}

/// `rollcall users disable ... | head -3`: the reader goes away mid-run.
/// The run is cancelled as on Ctrl-C (requests in flight finish and are
/// journaled) and the exit says it did not finish: not the quiet status 0
/// a closed pipe gets when only a listing was cut short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_mid_run_cancels_it_and_the_exit_says_so() {
    let sb = Sandbox::start(SandboxConfig::loopback(150, SECRET))
        .await
        .expect("sandbox starts");
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    sb.set_faults(Faults {
        latency: Duration::from_millis(60),
        ..Default::default()
    });
    let mut child = spawn_disable(&sb, &journal, dir.path());
    let stdout = child.stdout.take().expect("stdout piped");
    let first_rows = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let ok = line.starts_with("ok ");
            seen.push(line);
            if ok {
                break;
            }
        }
        // The reader is dropped here: the pipe closes.
        seen
    });
    let seen = tokio::time::timeout(Duration::from_secs(60), first_rows)
        .await
        .expect("a first result within a minute")
        .unwrap();
    let output = child.wait_with_output().expect("the binary ends");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    sb.set_faults(Faults::default());
    let shown = format!("stdout:\n{}\nstderr:\n{stderr}", seen.join("\n"));
    assert_eq!(output.status.code(), Some(1), "{shown}");
    assert!(
        stderr.contains("the output was closed during run"),
        "{shown}"
    );
    assert!(!stderr.contains("panicked"), "{shown}");

    let contents = jl::read(&journal).expect("the journal reads");
    let runs = jl::runs_of(&contents);
    assert_eq!(runs.len(), 1, "{shown}");
    assert_eq!(
        runs[0].unfinished, 0,
        "requests in flight finished: {shown}"
    );
    let planned = runs[0].header.as_ref().expect("a run header").planned;
    assert!(runs[0].intended < planned, "cut short: {shown}");
    sb.shutdown().await;
}

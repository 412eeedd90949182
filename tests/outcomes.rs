//! Outcomes that tell the truth (issue 10, item 5), over real HTTP against
//! the sandbox: answers lost after the server applied a write are read
//! back by the run; those it cannot read back are "unknown" and read back
//! again before undo decides; a journal whose device fills up mid-run
//! counts sent rows apart and the next run starts on a fresh line; a line
//! of invalid UTF-8 hides only itself.

#[path = "common/server_state.rs"]
mod server_state;
use rollcall::bulk::{Cancel, RowOutcome, RowResult, RunMeta};
use rollcall::commands::offboard::{
    execute_run, execute_run_in, journal, plan_undo, select, undo_with, JournalArgs, LinePrompt,
    RunOptions, UndoArgs,
};
use rollcall::domain::preflight::BulkAction;
use rollcall::journal::{self as jl, Journal, Phase, RowState, Sink};
use rollcall::ops::session::{session_for, Session};
use rollcall::sandbox::{Faults, Sandbox, SandboxConfig};
use server_state::server_state;
use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::Path;

const SECRET: &str = "secret";
const UNKNOWN_WORDS: &str =
    "the connection dropped after the request was sent; read back before acting again";

async fn sandbox(n_users: usize) -> Sandbox {
    Sandbox::start(SandboxConfig::loopback(n_users, SECRET))
        .await
        .expect("sandbox starts")
}

async fn session(sb: &Sandbox) -> Session {
    session_for(sb.connection("administrator"))
        .await
        .expect("session opens")
}

fn options(concurrency: usize, filter: &str) -> RunOptions {
    RunOptions {
        run_id: RunMeta::new_run_id(),
        concurrency,
        filter: Some(filter.into()),
        org: None,
        undo_of: None,
        review: None,
        reassign: Default::default(),
    }
}

fn ids(results: &[RowResult], wanted: fn(&RowOutcome) -> bool) -> BTreeSet<i64> {
    results
        .iter()
        .filter(|r| wanted(&r.outcome))
        .map(|r| r.id)
        .collect()
}

fn yes() -> LinePrompt<&'static [u8]> {
    LinePrompt {
        input: b"",
        interactive: true,
    }
}

fn undo_args(run_id: &str, path: &Path) -> UndoArgs {
    UndoArgs {
        run_id: run_id.into(),
        yes: true,
        concurrency: Some(4),
        journal: Some(path.to_path_buf()),
        ..Default::default()
    }
}

fn journal_text(path: &Path, run: Option<&str>) -> String {
    let mut out = Vec::new();
    journal(
        &JournalArgs {
            journal: Some(path.to_path_buf()),
            run: run.map(String::from),
            ..Default::default()
        },
        &mut out,
    )
    .expect("the journal lists");
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_are_unknown_and_undo_reads_them_back() {
    let sb = sandbox(300).await;
    let admin = session(&sb).await;
    let before = server_state(&sb).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let selection = select(&admin, BulkAction::Disable, None, "type:user")
        .await
        .unwrap();
    let planned: BTreeSet<i64> = selection.preflight.will_change.iter().copied().collect();
    assert!(planned.len() > 60, "{}", planned.len());

    // Some writes are applied and their answer lost; some connections drop
    // before the server applies anything; and reading an account back
    // fails. The client cannot tell the two apart, and must not call
    // either "failed".
    sb.set_faults(Faults {
        lost_answer_rate: 0.2,
        drop_rate: 0.1,
        read_error_rate: 1.0,
        seed: 11,
        ..Default::default()
    });
    let report = execute_run(
        &admin,
        &path,
        &selection,
        &options(4, "type:user"),
        &Cancel::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    sb.set_faults(Faults::default());

    let ok = ids(&report.results, |o| *o == RowOutcome::Ok);
    let unknown = ids(&report.results, |o| matches!(o, RowOutcome::Unknown(_)));
    assert_eq!(report.failed(), 0, "{:?}", report.results);
    assert_eq!(ok.len() + unknown.len(), planned.len());
    for row in &report.results {
        if let RowOutcome::Unknown(reason) = &row.outcome {
            assert!(reason.starts_with(UNKNOWN_WORDS), "{reason}");
        }
    }
    let during = server_state(&sb).await;
    let applied_unknown: BTreeSet<i64> = unknown
        .iter()
        .copied()
        .filter(|id| during[id].disabled == Some(true))
        .collect();
    // Both kinds happened: applied-then-lost, and dropped before applying.
    assert!(!applied_unknown.is_empty(), "no lost answers");
    assert!(applied_unknown.len() < unknown.len(), "no early drops");
    for id in &ok {
        assert_eq!(during[id].disabled, Some(true), "ok {id} is applied");
    }

    // The journal says unknown, account by account, with `ok` absent.
    let contents = jl::read(&path).unwrap();
    assert!(contents.bad_lines.is_empty());
    let run = jl::runs_of(&contents)
        .into_iter()
        .find(|r| r.run_id == report.run_id)
        .unwrap();
    assert_eq!(
        (run.succeeded, run.failed, run.unknown, run.unfinished),
        (ok.len(), 0, unknown.len(), 0)
    );
    for row in jl::run_rows(&contents.entries, &report.run_id) {
        match row.state {
            RowState::Ok => assert!(ok.contains(&row.account_id)),
            RowState::Unknown(reason) => {
                assert!(unknown.contains(&row.account_id));
                assert!(reason.starts_with(UNKNOWN_WORDS), "{reason}");
            }
            other => panic!("account {}: {other:?}", row.account_id),
        }
    }
    let raw = std::fs::read_to_string(&path).unwrap();
    let unknown_lines: Vec<serde_json::Value> = raw
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["phase"] == "outcome" && v["state"] == "unknown")
        .collect();
    assert_eq!(unknown_lines.len(), unknown.len());
    assert!(unknown_lines.iter().all(|v| v.get("ok").is_none()));
    let listing = journal_text(&path, None);
    assert!(
        listing.lines().next().unwrap().contains("Unknown"),
        "{listing}"
    );
    let shown = journal_text(&path, Some(&report.run_id));
    assert!(
        shown.contains(&format!(
            "failed 0, unknown {}, unfinished 0",
            unknown.len()
        )),
        "{shown}"
    );
    assert_eq!(
        shown.lines().filter(|l| l.starts_with("unknown ")).count(),
        unknown.len()
    );

    // Undo reads each unknown account back: the applied ones are put back,
    // the others have nothing to undo.
    let plan = plan_undo(&admin, &path, &report.run_id).await.unwrap();
    assert_eq!(plan.read_back, unknown.len());
    assert_eq!(plan.applied, applied_unknown.len());
    assert_eq!(
        plan.not_applied.len(),
        unknown.len() - applied_unknown.len()
    );
    let will: BTreeSet<i64> = plan
        .selection
        .preflight
        .will_change
        .iter()
        .copied()
        .collect();
    let expected: BTreeSet<i64> = ok.union(&applied_unknown).copied().collect();
    assert_eq!(will, expected);
    let mut out = Vec::new();
    undo_with(
        &admin,
        &undo_args(&report.run_id, &path),
        &mut out,
        &mut yes(),
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("read back"), "{text}");
    let after = server_state(&sb).await;
    for (id, user) in &before {
        assert_eq!(
            after[id].disabled, user.disabled,
            "account {id} is as before the run"
        );
    }
    sb.shutdown().await;
}

/// A device that takes `whole` writes, then half of the next one, then
/// refuses everything: a disk filling up mid-record.
struct FillsUp {
    file: std::fs::File,
    whole: usize,
    full: bool,
}

impl Write for FillsUp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.full {
            return Err(io::Error::other("No space left on device"));
        }
        if self.whole == 0 {
            self.full = true;
            return self.file.write(&buf[..buf.len() / 2]);
        }
        self.whole -= 1;
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Sink for FillsUp {
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_after_sending_is_counted_apart_and_the_next_run_starts_a_fresh_line() {
    let sb = sandbox(120).await;
    let admin = session(&sb).await;
    let before = server_state(&sb).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let selection = select(&admin, BulkAction::Disable, None, "type:api")
        .await
        .unwrap();
    let planned = selection.preflight.will_change.clone();
    assert!(planned.len() >= 8, "{}", planned.len());

    // One at a time: the header, three rows whole, the fourth row's intent;
    // the fourth row's outcome is torn and everything after refused.
    let device = FillsUp {
        file: std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap(),
        whole: 1 + 2 * 3 + 1,
        full: false,
    };
    let first = options(1, "type:api");
    let report = execute_run_in(
        &admin,
        Journal::with_sink(&path, Box::new(device), true),
        &selection,
        &first,
        &Cancel::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.ok(),
            report.unjournaled(),
            report.unknown(),
            report.failed()
        ),
        (3, 1, 0, planned.len() - 4),
        "{:?}",
        report.results
    );
    let sent_row = &report.results[3];
    match &sent_row.outcome {
        RowOutcome::Unjournaled(m) => assert!(
            m.starts_with("outcome not journaled (the server applied it)"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    for row in &report.results[4..] {
        assert!(
            matches!(&row.outcome, RowOutcome::Failed(m) if m.starts_with("not sent: cannot write the journal")),
            "{row:?}"
        );
    }
    let during = server_state(&sb).await;
    for (i, id) in planned.iter().enumerate() {
        let disabled = during[id].disabled == Some(true);
        assert_eq!(disabled, i < 4, "account {id}: sent only the first four");
    }
    let torn = std::fs::read(&path).unwrap();
    assert_ne!(torn.last(), Some(&b'\n'), "the device left a torn line");

    // The next run (the disk has room again) starts on a fresh line: its
    // header parses, and only the torn line is unreadable.
    let rest = select(&admin, BulkAction::Disable, None, "type:readonly")
        .await
        .unwrap();
    let second = options(2, "type:readonly");
    execute_run(
        &admin,
        &path,
        &rest,
        &second,
        &Cancel::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    let contents = jl::read(&path).unwrap();
    assert_eq!(contents.bad_lines, vec![9], "only the torn outcome");
    assert!(contents.headers.iter().any(|h| h.run_id == second.run_id));
    let runs = jl::runs_of(&contents);
    let run = runs.iter().find(|r| r.run_id == first.run_id).unwrap();
    assert_eq!(
        (run.intended, run.succeeded, run.failed, run.unfinished),
        (4, 3, 0, 1)
    );
    let run = runs.iter().find(|r| r.run_id == second.run_id).unwrap();
    assert_eq!(run.succeeded, rest.preflight.will_change.len());
    assert!(run.header.is_some());
    let listing = journal_text(&path, None);
    assert!(listing.contains("warning: 1 unreadable line"), "{listing}");

    // Undo of the first run reads the unjournaled row back and puts all
    // four back.
    let mut out = Vec::new();
    undo_with(
        &admin,
        &undo_args(&first.run_id, &path),
        &mut out,
        &mut yes(),
    )
    .await
    .unwrap();
    let after = server_state(&sb).await;
    for id in &planned {
        assert_eq!(after[id].disabled, before[id].disabled, "account {id}");
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_of_invalid_utf8_is_skipped_and_undo_still_works() {
    let sb = sandbox(80).await;
    let admin = session(&sb).await;
    let before = server_state(&sb).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let selection = select(&admin, BulkAction::Disable, None, "type:api")
        .await
        .unwrap();
    let run = options(4, "type:api");
    let report = execute_run(
        &admin,
        &path,
        &selection,
        &run,
        &Cancel::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.ok(), selection.preflight.will_change.len());

    // A line that is not UTF-8 between two runs' worth of lines.
    let mut bytes = std::fs::read(&path).unwrap();
    let second_line = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    bytes.splice(
        second_line..second_line,
        b"{\"time\":\"\xff\xfe\"}\n".iter().copied(),
    );
    std::fs::write(&path, &bytes).unwrap();

    let contents = jl::read(&path).unwrap();
    assert_eq!(contents.bad_lines, vec![2]);
    assert_eq!(
        contents
            .entries
            .iter()
            .filter(|e| e.phase == Phase::Outcome)
            .count(),
        report.ok()
    );
    let listing = journal_text(&path, None);
    assert!(
        listing.starts_with("warning: 1 unreadable line in "),
        "{listing}"
    );
    assert!(listing.contains("(line 2)"), "{listing}");
    assert!(listing.contains(&run.run_id), "{listing}");

    let mut out = Vec::new();
    undo_with(&admin, &undo_args(&run.run_id, &path), &mut out, &mut yes())
        .await
        .unwrap();
    let after = server_state(&sb).await;
    for (id, user) in &before {
        assert_eq!(after[id].disabled, user.disabled, "account {id}");
    }
    sb.shutdown().await;
}

/// The real binaries: `rollcall sandbox --lost-answer-rate 1` applies every
/// write and loses its answer; `rollcall users disable` reads each account
/// back, reports it ok and exits zero; `rollcall journal --format csv` says
/// how each was known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_confirms_lost_answers_by_reading_back() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args([
            "sandbox",
            "--seed-users",
            "30",
            "--secret-key",
            SECRET,
            "--lost-answer-rate",
            "1",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            let done = line.starts_with("faults:");
            banner.push(line);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), read)
        .await
        .expect("the banner within 30 s");
    let text = banner.join("\n");
    assert!(text.contains("their answer is lost"), "{text}");
    let api_path = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("TC_API_PATH="))
        .unwrap()
        .to_string();
    let journal_path = dir.path().join("journal.jsonl");
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["users", "disable", "--filter", "type:api", "--yes"])
        .env("TC_API_PATH", &api_path)
        .env("TC_API_ACCESS_ID", "administrator")
        .env("TC_API_SECRET_KEY", SECRET)
        .env_remove("TC_TOKEN")
        .env("ROLLCALL_JOURNAL", &journal_path)
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(run.status.success(), "{stdout}\n{stderr}");
    let ok = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert!(ok > 0, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{ok} ok, 0 failed, 0 unknown, 0 not sent, of {ok}"
        )),
        "{stdout}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let run = jl::runs_of(&jl::read(&journal_path).unwrap())
        .pop()
        .unwrap();
    assert_eq!((run.succeeded, run.unknown, run.failed), (ok, 0, 0));

    let export = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["journal", "--run", &run.run_id, "--format", "csv"])
        .env("ROLLCALL_JOURNAL", &journal_path)
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .await
        .unwrap();
    assert!(export.status.success());
    let csv_text = String::from_utf8(export.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(header.get(7), Some("outcome"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), ok, "{csv_text}");
    for row in &rows {
        assert_eq!(
            (&row[0], &row[4], &row[7]),
            (run.run_id.as_str(), "disable", "ok")
        );
        assert!(
            row[8].starts_with("applied; the answer was lost (no answer from "),
            "{csv_text}"
        );
    }
    server.kill().await.unwrap();
}

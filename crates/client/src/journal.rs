//! The action journal: one JSON object per line, appended before a change is
//! sent (intent) and after (outcome), and flushed to disk each time so that a
//! crash or a dropped SSH session loses nothing already written.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Intent,
    Outcome,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub time: DateTime<Utc>,
    pub instance: String,
    pub actor: String,
    pub run_id: String,
    pub phase: Phase,
    /// The bulk action's name, e.g. "disable".
    pub action: String,
    pub account_id: i64,
    pub account_name: String,
    /// The request body sent (never a password or token).
    pub change: serde_json::Value,
    /// The account's state before the change, as far as it was known.
    pub before: serde_json::Value,
    /// Outcome lines only: whether it worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    /// Outcome lines only: the server's message on failure, or why the
    /// outcome is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Outcome lines only: set (with `ok` absent) when the request may have
    /// been applied but no answer said so. Absent in older journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<OutcomeState>,
    /// Outcome lines of an import's creates: the new account's id (their
    /// `accountId` is a stand-in, minus the file's line number, since no
    /// id exists before the create). Absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_id: Option<i64>,
}

/// An outcome that is neither ok nor failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeState {
    /// Sent; whether it was applied is known only to the server.
    Unknown,
}

/// The line that opens a run: what was asked, of how many accounts, and
/// (for an undo) which run it puts back. Written before the first intent,
/// so a run that changed nothing, or was killed at once, is still listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunHeader {
    /// Always `"run"`: tells a header from an account line.
    pub kind: HeaderKind,
    pub time: DateTime<Utc>,
    pub instance: String,
    pub actor: String,
    pub run_id: String,
    /// The bulk action's name, e.g. "disable".
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The run this one undoes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo_of: Option<String>,
    /// The access review (its directory) whose decisions this run carries out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    /// Accounts the preflight said will change (the run's intended size).
    pub planned: usize,
    /// Accounts already in the state the action sets (not sent).
    pub already: usize,
    /// Accounts the caller may not change (not sent).
    pub not_allowed: usize,
    /// Whether the writes asked ThreatConnect to record them on its
    /// Activity tab (`createActivityLog=true`); `None` in journals written
    /// before rollcall asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_log: Option<bool>,
    /// An offboarding run's accounts and options, so that `rollcall resume`
    /// can finish it. Absent on other runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offboard: Option<OffboardSpec>,
}

/// What an offboarding run was asked to do, as its header records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OffboardSpec {
    /// The accounts, in the run's order.
    pub accounts: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbooks_to: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs_to: Option<i64>,
    pub delete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderKind {
    Run,
}

/// Where journal lines go: a file, or (tests) a device that fills up.
pub trait Sink: Write + Send {
    /// Makes what was written durable.
    fn sync(&mut self) -> io::Result<()>;
}

impl Sink for File {
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

/// An append-only journal file.
pub struct Journal {
    path: PathBuf,
    sink: Box<dyn Sink>,
    /// Whether the next byte starts a line. False after a failed or partial
    /// write (a full disk) or on a file whose last line is torn, so that the
    /// next record never glues onto half of an earlier one.
    at_line_start: bool,
}

impl Journal {
    /// The default location: `journal.jsonl` in rollcall's data directory.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "rollcall")
            .map(|dirs| dirs.data_dir().join("journal.jsonl"))
    }

    pub fn open(path: &Path) -> io::Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        // A file it cannot read back gets a leading newline: a blank line
        // costs nothing, a glued one costs a record.
        let at_line_start = ends_a_line(path).unwrap_or(false);
        tracing::info!(path = %path.display(), "journal opened");
        Ok(Journal {
            path: path.to_path_buf(),
            sink: Box::new(file),
            at_line_start,
        })
    }

    /// A journal writing to `sink` instead of a file: for tests of a device
    /// that refuses writes midway. `at_line_start` as for a file's end.
    #[doc(hidden)]
    pub fn with_sink(path: &Path, sink: Box<dyn Sink>, at_line_start: bool) -> Journal {
        Journal {
            path: path.to_path_buf(),
            sink,
            at_line_start,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry as a single write of a whole line, then syncs, so a
    /// reader never sees half of an entry unless the machine itself died.
    pub fn append(&mut self, entry: &Entry) -> io::Result<()> {
        let record = serde_json::to_vec(entry).map_err(io::Error::other)?;
        self.write_record(record)
    }

    /// Appends a run's opening line, as `append` does.
    pub fn append_header(&mut self, header: &RunHeader) -> io::Result<()> {
        let record = serde_json::to_vec(header).map_err(io::Error::other)?;
        self.write_record(record)
    }

    /// One record on a line of its own: after a torn write it starts with a
    /// newline, which ends the torn line (readers skip blank lines).
    fn write_record(&mut self, record: Vec<u8>) -> io::Result<()> {
        let mut line = Vec::with_capacity(record.len() + 2);
        if !self.at_line_start {
            line.push(b'\n');
        }
        line.extend_from_slice(&record);
        line.push(b'\n');
        // Until this write is known whole, the file may end mid-line.
        self.at_line_start = false;
        self.sink.write_all(&line)?;
        self.at_line_start = true;
        self.sink.sync()
    }
}

/// Whether the file at `path` is empty or ends with a newline.
fn ends_a_line(path: &Path) -> io::Result<bool> {
    let mut file = File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// What reading a journal found: the entries, and the line numbers that did
/// not parse (a torn last line after a power cut, a hand edit, bytes that
/// are not UTF-8).
#[derive(Debug, Default)]
pub struct Contents {
    pub entries: Vec<Entry>,
    pub headers: Vec<RunHeader>,
    pub bad_lines: Vec<usize>,
}

pub fn read(path: &Path) -> io::Result<Contents> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Contents::default()),
        Err(e) => return Err(e),
    };
    let mut contents = Contents::default();
    // Line by line from bytes: one line that is not UTF-8 is one bad line,
    // not a reason to hide the whole journal.
    for (index, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let Ok(line) = std::str::from_utf8(raw) else {
            contents.bad_lines.push(index + 1);
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        if let Ok(entry) = serde_json::from_str::<Entry>(line) {
            contents.entries.push(entry);
        } else if let Ok(header) = serde_json::from_str::<RunHeader>(line) {
            contents.headers.push(header);
        } else {
            contents.bad_lines.push(index + 1);
        }
    }
    Ok(contents)
}

/// One run as `rollcall journal` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub run_id: String,
    pub started: DateTime<Utc>,
    pub instance: String,
    pub actor: String,
    pub action: String,
    pub intended: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Sent, but no answer said whether it was applied: read back first.
    pub unknown: usize,
    /// Intents with no outcome: the run was cancelled or the process died
    /// while they were in flight; their real state is on the server.
    pub unfinished: usize,
    /// From the run's header, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<RunHeader>,
}

impl RunSummary {
    /// Planned accounts never sent (cancelled, or the process died first);
    /// `None` for runs without a header.
    pub fn not_sent(&self) -> Option<usize> {
        self.header
            .as_ref()
            .map(|h| h.planned.saturating_sub(self.intended))
    }
}

/// Summarises the runs of a whole journal, headers included, in the order
/// they started.
pub fn runs_of(contents: &Contents) -> Vec<RunSummary> {
    let mut summaries = runs(&contents.entries);
    for header in &contents.headers {
        match summaries.iter_mut().find(|s| s.run_id == header.run_id) {
            Some(summary) => {
                summary.started = summary.started.min(header.time);
                // The run's action, not its first row's (an import's rows
                // are creates and updates).
                summary.action = header.action.clone();
                summary.header = Some(header.clone());
            }
            None => summaries.push(RunSummary {
                run_id: header.run_id.clone(),
                started: header.time,
                instance: header.instance.clone(),
                actor: header.actor.clone(),
                action: header.action.clone(),
                intended: 0,
                succeeded: 0,
                failed: 0,
                unknown: 0,
                unfinished: 0,
                header: Some(header.clone()),
            }),
        }
    }
    summaries.sort_by_key(|s| s.started);
    summaries
}

/// What the journal says became of each account of one run, in the order
/// their intents were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    pub account_id: i64,
    pub account_name: String,
    pub before: serde_json::Value,
    pub state: RowState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowState {
    Ok,
    Failed(String),
    /// Sent, but whether it was applied is unknown (the reason).
    Unknown(String),
    /// An intent without an outcome: the request may or may not have landed.
    Unfinished,
}

impl RowState {
    /// Whether only the server can say if this row's change was applied.
    pub fn needs_read_back(&self) -> bool {
        matches!(self, RowState::Unknown(_) | RowState::Unfinished)
    }
}

pub fn run_rows(entries: &[Entry], run_id: &str) -> Vec<RunRow> {
    let mut rows: Vec<RunRow> = Vec::new();
    let mut index: BTreeMap<i64, usize> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.run_id == run_id) {
        match e.phase {
            Phase::Intent => {
                if let Some(&i) = index.get(&e.account_id) {
                    // A retry within the run: the latest attempt decides.
                    rows[i].state = RowState::Unfinished;
                } else {
                    index.insert(e.account_id, rows.len());
                    rows.push(RunRow {
                        account_id: e.account_id,
                        account_name: e.account_name.clone(),
                        before: e.before.clone(),
                        state: RowState::Unfinished,
                    });
                }
            }
            Phase::Outcome => {
                if let Some(&i) = index.get(&e.account_id) {
                    rows[i].state = match outcome_of(e) {
                        Outcome::Ok => RowState::Ok,
                        Outcome::Failed => RowState::Failed(e.message.clone().unwrap_or_default()),
                        Outcome::Unknown => {
                            RowState::Unknown(e.message.clone().unwrap_or_default())
                        }
                    };
                }
            }
        }
    }
    rows
}

/// One account and action of a run as tools read it (`rollcall journal
/// --format csv|json`, GAM's action CSV): the latest attempt's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionResult {
    pub run_id: String,
    /// When the latest line about it was written (its outcome, or for an
    /// unfinished one its intent).
    #[serde(serialize_with = "serialize_time")]
    pub time: DateTime<Utc>,
    pub instance: String,
    pub actor: String,
    pub action: String,
    /// The account's id; for a create that made no account (failed,
    /// unknown, unfinished), the journal's stand-in, below zero, which the
    /// exports leave empty (`null`): no id exists.
    #[serde(serialize_with = "serialize_account_id")]
    pub account_id: i64,
    pub account_name: String,
    pub outcome: ResultOutcome,
    /// Why it failed or is unknown; for an ok, how that is known when the
    /// answer was lost.
    pub message: Option<String>,
}

/// The outcome column of [`ActionResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultOutcome {
    Ok,
    Failed,
    /// Sent, but no answer said whether it was applied.
    Unknown,
    /// An intent without an outcome (the process stopped mid-request).
    Unfinished,
}

impl ResultOutcome {
    pub fn name(self) -> &'static str {
        match self {
            ResultOutcome::Ok => "ok",
            ResultOutcome::Failed => "failed",
            ResultOutcome::Unknown => "unknown",
            ResultOutcome::Unfinished => "unfinished",
        }
    }
}

/// The time as both CSV and JSON give it: RFC 3339, UTC, milliseconds.
pub fn result_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn serialize_account_id<S: serde::Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
    match *id {
        id if id > 0 => s.serialize_i64(id),
        _ => s.serialize_none(),
    }
}

fn serialize_time<S: serde::Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&result_time(time))
}

/// The message of an unfinished row.
pub const UNFINISHED_MESSAGE: &str =
    "no outcome recorded: read the account back before acting again";

/// One row per account and action of `run_id`, in the order their first
/// intents were written; a retry within the run (a second intent) makes
/// the row unfinished again until its own outcome.
pub fn action_results(entries: &[Entry], run_id: &str) -> Vec<ActionResult> {
    let mut rows: Vec<ActionResult> = Vec::new();
    let mut index: BTreeMap<(i64, &str), usize> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.run_id == run_id) {
        let (outcome, message) = match e.phase {
            Phase::Intent => (
                ResultOutcome::Unfinished,
                Some(UNFINISHED_MESSAGE.to_string()),
            ),
            Phase::Outcome => {
                let outcome = match outcome_of(e) {
                    Outcome::Ok => ResultOutcome::Ok,
                    Outcome::Failed => ResultOutcome::Failed,
                    Outcome::Unknown => ResultOutcome::Unknown,
                };
                (outcome, e.message.clone().filter(|m| !m.is_empty()))
            }
        };
        let key = (e.account_id, e.action.as_str());
        let i = match index.get(&key) {
            Some(&i) => i,
            // An outcome without its intent (a hand edit): nothing to attach it to.
            None if e.phase == Phase::Outcome => continue,
            None => {
                index.insert(key, rows.len());
                rows.push(ActionResult {
                    run_id: e.run_id.clone(),
                    time: e.time,
                    instance: e.instance.clone(),
                    actor: e.actor.clone(),
                    action: e.action.clone(),
                    account_id: e.account_id,
                    account_name: e.account_name.clone(),
                    outcome,
                    message: None,
                });
                rows.len() - 1
            }
        };
        let row = &mut rows[i];
        (row.time, row.outcome, row.message) = (e.time, outcome, message);
        // A create is journaled under a stand-in (no id exists before it);
        // once made, the row names the account by its new id.
        if let Some(id) = e.created_id.filter(|_| e.phase == Phase::Outcome) {
            row.account_id = id;
        }
    }
    rows
}

/// Summarises runs in the order they started.
pub fn runs(entries: &[Entry]) -> Vec<RunSummary> {
    let mut order: Vec<String> = Vec::new();
    let mut by_run: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        if !by_run.contains_key(&e.run_id) {
            order.push(e.run_id.clone());
        }
        by_run.entry(e.run_id.clone()).or_default().push(e);
    }
    order
        .into_iter()
        .filter_map(|run_id| {
            let list = by_run.get(&run_id)?;
            let first = list.first()?;
            let last_outcome = last_outcomes(list);
            let intended: std::collections::BTreeSet<i64> = list
                .iter()
                .filter(|e| e.phase == Phase::Intent)
                .map(|e| e.account_id)
                .collect();
            let count = |wanted: Outcome| last_outcome.values().filter(|o| **o == wanted).count();
            let (succeeded, failed, unknown) = (
                count(Outcome::Ok),
                count(Outcome::Failed),
                count(Outcome::Unknown),
            );
            Some(RunSummary {
                run_id: run_id.clone(),
                started: first.time,
                instance: first.instance.clone(),
                actor: first.actor.clone(),
                action: first.action.clone(),
                intended: intended.len(),
                succeeded,
                failed,
                unknown,
                unfinished: intended
                    .iter()
                    .filter(|id| !last_outcome.contains_key(id))
                    .count(),
                header: None,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Failed,
    Unknown,
}

/// What an outcome line says. `state: unknown` decides over `ok`; a line of
/// an older journal has only `ok`.
fn outcome_of(entry: &Entry) -> Outcome {
    match (entry.state, entry.ok) {
        (Some(OutcomeState::Unknown), _) => Outcome::Unknown,
        (None, Some(true)) => Outcome::Ok,
        (None, _) => Outcome::Failed,
    }
}

/// The latest outcome per account (a retry overrides an earlier failure).
fn last_outcomes(entries: &[&Entry]) -> BTreeMap<i64, Outcome> {
    entries
        .iter()
        .filter(|e| e.phase == Phase::Outcome)
        .map(|e| (e.account_id, outcome_of(e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(run: &str, id: i64, phase: Phase, ok: Option<bool>) -> Entry {
        Entry {
            time: DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            instance: "http://127.0.0.1:1/api".into(),
            actor: "administrator".into(),
            run_id: run.into(),
            phase,
            action: "disable".into(),
            account_id: id,
            account_name: format!("user{id}"),
            change: serde_json::json!({"disabled": true}),
            before: serde_json::json!({"disabled": false}),
            ok,
            message: None,
            state: None,
            created_id: None,
        }
    }

    #[test]
    fn appends_and_summarises_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/journal.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        for e in [
            entry("r1", 1, Phase::Intent, None),
            entry("r1", 1, Phase::Outcome, Some(true)),
            entry("r1", 2, Phase::Intent, None),
            entry("r1", 2, Phase::Outcome, Some(false)),
            entry("r1", 3, Phase::Intent, None),
            entry("r2", 2, Phase::Intent, None),
            entry("r2", 2, Phase::Outcome, Some(true)),
        ] {
            journal.append(&e).unwrap();
        }
        let contents = read(&path).unwrap();
        assert_eq!(contents.entries.len(), 7);
        let runs = runs(&contents.entries);
        assert_eq!(runs.len(), 2);
        assert_eq!(
            (
                runs[0].intended,
                runs[0].succeeded,
                runs[0].failed,
                runs[0].unfinished
            ),
            (3, 1, 1, 1)
        );
        assert_eq!((runs[1].intended, runs[1].succeeded), (1, 1));
    }

    #[test]
    fn a_torn_last_line_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        journal
            .append(&entry("r1", 1, Phase::Intent, None))
            .unwrap();
        drop(journal);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"time":"2026-11-25T12:0"#).unwrap();
        let contents = read(&path).unwrap();
        assert_eq!(contents.entries.len(), 1);
        assert_eq!(contents.bad_lines, vec![2]);
    }

    #[test]
    fn a_line_of_invalid_utf8_is_one_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        journal
            .append(&entry("r1", 1, Phase::Intent, None))
            .unwrap();
        drop(journal);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"\xff\xfe not text\n").unwrap();
        drop(f);
        let mut journal = Journal::open(&path).unwrap();
        journal
            .append(&entry("r1", 1, Phase::Outcome, Some(true)))
            .unwrap();
        let contents = read(&path).unwrap();
        assert_eq!(contents.entries.len(), 2);
        assert_eq!(contents.bad_lines, vec![2]);
    }

    #[test]
    fn a_record_after_a_torn_line_starts_a_line_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"time":"2026-11-25T12:0"#).unwrap();
        drop(f);
        let mut journal = Journal::open(&path).unwrap();
        journal.append_header(&header("r2", 1, None)).unwrap();
        journal
            .append(&entry("r2", 1, Phase::Intent, None))
            .unwrap();
        let contents = read(&path).unwrap();
        assert_eq!(contents.bad_lines, vec![1]);
        assert_eq!((contents.headers.len(), contents.entries.len()), (1, 1));
        // A file that ends a line gets no blank line.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("\n\n"), "{text}");
    }

    #[test]
    fn unknown_outcomes_are_counted_apart_and_old_lines_still_read() {
        let mut unknown = entry("r1", 2, Phase::Outcome, None);
        unknown.state = Some(OutcomeState::Unknown);
        unknown.message = Some("the connection dropped".into());
        let line = serde_json::to_string(&unknown).unwrap();
        assert!(line.contains(r#""state":"unknown""#) && !line.contains(r#""ok""#));
        // A line written before `state` existed.
        let old: Entry = serde_json::from_str(
            r#"{"time":"2026-11-25T12:00:00Z","instance":"i","actor":"a","runId":"r1","phase":"outcome","action":"disable","accountId":3,"accountName":"c","change":{},"before":{},"ok":false,"message":"denied"}"#,
        )
        .unwrap();
        let entries = vec![
            entry("r1", 1, Phase::Intent, None),
            entry("r1", 1, Phase::Outcome, Some(true)),
            entry("r1", 2, Phase::Intent, None),
            serde_json::from_str(&line).unwrap(),
            entry("r1", 3, Phase::Intent, None),
            old,
        ];
        let run = &runs(&entries)[0];
        assert_eq!(
            (run.succeeded, run.failed, run.unknown, run.unfinished),
            (1, 1, 1, 0)
        );
        let rows = run_rows(&entries, "r1");
        assert_eq!(
            rows[1].state,
            RowState::Unknown("the connection dropped".into())
        );
        assert!(rows[1].state.needs_read_back());
        assert_eq!(rows[2].state, RowState::Failed("denied".into()));
    }

    #[test]
    fn action_results_follow_each_account_to_its_latest_attempt() {
        let at = |seconds: i64, mut e: Entry| {
            e.time += chrono::Duration::seconds(seconds);
            e
        };
        let mut resend = entry("r1", 1, Phase::Outcome, Some(false));
        resend.message = Some("not applied; sending again (send 2 of 5)".into());
        let mut confirmed = entry("r1", 1, Phase::Outcome, Some(true));
        confirmed.message = Some("applied; the answer was lost (no answer)".into());
        let mut unknown = entry("r1", 3, Phase::Outcome, None);
        unknown.state = Some(OutcomeState::Unknown);
        unknown.message = Some("the connection dropped".into());
        let entries = vec![
            at(0, entry("r1", 1, Phase::Intent, None)),
            at(1, entry("r1", 2, Phase::Intent, None)),
            at(2, resend),
            at(3, entry("r2", 1, Phase::Intent, None)),
            at(4, entry("r1", 1, Phase::Intent, None)),
            at(5, confirmed),
            at(6, entry("r1", 3, Phase::Intent, None)),
            at(7, unknown),
        ];
        let rows = action_results(&entries, "r1");
        let seen: Vec<(i64, ResultOutcome, Option<&str>, i64)> = rows
            .iter()
            .map(|r| {
                let offset = (r.time - entries[0].time).num_seconds();
                (r.account_id, r.outcome, r.message.as_deref(), offset)
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    1,
                    ResultOutcome::Ok,
                    Some("applied; the answer was lost (no answer)"),
                    5
                ),
                (2, ResultOutcome::Unfinished, Some(UNFINISHED_MESSAGE), 1),
                (3, ResultOutcome::Unknown, Some("the connection dropped"), 7),
            ]
        );
        assert!(rows
            .iter()
            .all(|r| r.run_id == "r1" && r.action == "disable"));
        // Before the retry's outcome, the account is unfinished again.
        assert_eq!(
            action_results(&entries[..5], "r1")[0].outcome,
            ResultOutcome::Unfinished
        );
        assert_eq!(
            action_results(&entries[..3], "r1")[0].outcome,
            ResultOutcome::Failed
        );
    }

    #[test]
    fn a_create_is_named_by_the_id_it_made_and_none_when_it_made_none() {
        let create = |id: i64, phase, ok| Entry {
            action: "create".into(),
            ..entry("r1", id, phase, ok)
        };
        let mut made = create(-2, Phase::Outcome, Some(true));
        made.created_id = Some(308);
        let entries = vec![
            create(-2, Phase::Intent, None),
            create(-3, Phase::Intent, None),
            made,
        ];
        let rows = action_results(&entries, "r1");
        let ids: Vec<(i64, ResultOutcome)> =
            rows.iter().map(|r| (r.account_id, r.outcome)).collect();
        assert_eq!(
            ids,
            [(308, ResultOutcome::Ok), (-3, ResultOutcome::Unfinished)]
        );
        // For tools: the id made, and no made-up id for the other.
        let mut csv_out = Vec::new();
        crate::ops::results::write_csv(&rows, &mut csv_out).unwrap();
        let text = String::from_utf8(csv_out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].contains(",create,308,user-2,ok,"), "{text}");
        assert!(lines[2].contains(",create,,user-3,unfinished,"), "{text}");
        let json: serde_json::Value =
            serde_json::from_str(&crate::domain::text::json_export(&rows).unwrap()).unwrap();
        assert_eq!(json[0]["account_id"], 308);
        assert!(json[1]["account_id"].is_null(), "{json}");
    }

    #[test]
    fn a_missing_journal_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let contents = read(&dir.path().join("none.jsonl")).unwrap();
        assert!(contents.entries.is_empty() && contents.bad_lines.is_empty());
    }

    fn header(run: &str, planned: usize, undo_of: Option<&str>) -> RunHeader {
        RunHeader {
            kind: HeaderKind::Run,
            time: DateTime::parse_from_rfc3339("2026-11-25T11:59:59Z")
                .unwrap()
                .with_timezone(&Utc),
            instance: "http://127.0.0.1:1/api".into(),
            actor: "administrator".into(),
            run_id: run.into(),
            action: "enable".into(),
            filter: Some("status:disabled".into()),
            org: None,
            undo_of: undo_of.map(String::from),
            review: None,
            planned,
            already: 2,
            not_allowed: 1,
            activity_log: Some(true),
            offboard: None,
        }
    }

    #[test]
    fn headers_name_the_run_and_count_what_was_never_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        journal.append_header(&header("r1", 3, None)).unwrap();
        journal
            .append(&entry("r1", 1, Phase::Intent, None))
            .unwrap();
        journal
            .append(&entry("r1", 1, Phase::Outcome, Some(true)))
            .unwrap();
        // A run that was killed before its first intent is still listed.
        journal.append_header(&header("r2", 5, Some("r1"))).unwrap();
        let contents = read(&path).unwrap();
        assert!(contents.bad_lines.is_empty());
        assert_eq!((contents.entries.len(), contents.headers.len()), (2, 2));
        let runs = runs_of(&contents);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].run_id, "r1");
        assert_eq!(runs[0].started, header("r1", 3, None).time);
        assert_eq!((runs[0].succeeded, runs[0].not_sent()), (1, Some(2)));
        assert_eq!(runs[1].intended, 0);
        assert_eq!(runs[1].not_sent(), Some(5));
        assert_eq!(
            runs[1].header.as_ref().and_then(|h| h.undo_of.as_deref()),
            Some("r1")
        );
        // Without a header, nothing is known about what was never sent.
        assert_eq!(super::runs(&contents.entries)[0].not_sent(), None);
    }

    #[test]
    fn run_rows_follow_the_latest_attempt() {
        let mut failed = entry("r1", 2, Phase::Outcome, Some(false));
        failed.message = Some("denied".into());
        let entries = vec![
            entry("r1", 1, Phase::Intent, None),
            entry("r1", 2, Phase::Intent, None),
            entry("r2", 1, Phase::Intent, None),
            entry("r1", 1, Phase::Outcome, Some(true)),
            failed,
            entry("r1", 3, Phase::Intent, None),
            // A retry of 2 that never finished.
            entry("r1", 2, Phase::Intent, None),
        ];
        let rows = run_rows(&entries, "r1");
        let states: Vec<(i64, RowState)> = rows
            .iter()
            .map(|r| (r.account_id, r.state.clone()))
            .collect();
        assert_eq!(
            states,
            vec![
                (1, RowState::Ok),
                (2, RowState::Unfinished),
                (3, RowState::Unfinished)
            ]
        );
        assert_eq!(
            run_rows(&entries[..5], "r1")[1].state,
            RowState::Failed("denied".into())
        );
        assert!(run_rows(&entries, "none").is_empty());
    }
}

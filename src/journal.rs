//! The action journal: one JSON object per line, appended before a change is
//! sent (intent) and after (outcome), and flushed to disk each time so that a
//! crash or a dropped SSH session loses nothing already written.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
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
    /// Outcome lines only: the server's message on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// An append-only journal file.
pub struct Journal {
    path: PathBuf,
    file: File,
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
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry as a single write of a whole line, then syncs, so a
    /// reader never sees half of an entry unless the machine itself died.
    pub fn append(&mut self, entry: &Entry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }
}

/// What reading a journal found: the entries, and the line numbers that did
/// not parse (a torn last line after a power cut, or a hand edit).
#[derive(Debug, Default)]
pub struct Contents {
    pub entries: Vec<Entry>,
    pub bad_lines: Vec<usize>,
}

pub fn read(path: &Path) -> io::Result<Contents> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Contents::default()),
        Err(e) => return Err(e),
    };
    let mut contents = Contents::default();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Entry>(&line) {
            Ok(entry) => contents.entries.push(entry),
            Err(_) => contents.bad_lines.push(index + 1),
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
    /// Intents with no outcome: the run was cancelled or the process died
    /// while they were in flight; their real state is on the server.
    pub unfinished: usize,
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
            let succeeded = last_outcome.values().filter(|ok| **ok).count();
            let failed = last_outcome.values().filter(|ok| !**ok).count();
            Some(RunSummary {
                run_id: run_id.clone(),
                started: first.time,
                instance: first.instance.clone(),
                actor: first.actor.clone(),
                action: first.action.clone(),
                intended: intended.len(),
                succeeded,
                failed,
                unfinished: intended
                    .iter()
                    .filter(|id| !last_outcome.contains_key(id))
                    .count(),
            })
        })
        .collect()
}

/// The latest outcome per account (a retry overrides an earlier failure).
fn last_outcomes(entries: &[&Entry]) -> BTreeMap<i64, bool> {
    entries
        .iter()
        .filter(|e| e.phase == Phase::Outcome)
        .map(|e| (e.account_id, e.ok.unwrap_or(false)))
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
    fn a_missing_journal_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let contents = read(&dir.path().join("none.jsonl")).unwrap();
        assert!(contents.entries.is_empty() && contents.bad_lines.is_empty());
    }
}

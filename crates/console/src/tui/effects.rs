//! The console's file writes: the config file's `[console]` table and
//! `:export`. The App stays free of IO: it queues an [`Effect`], the event
//! loop (or a test) performs it and hands the outcome back.

use crate::config::ConsoleConfig;
use crate::domain::User;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// A write the App asked for.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Keep the columns and views in the config file.
    SaveConfig(ConsoleConfig),
    /// Write accounts to a CSV or JSON file.
    Export {
        path: PathBuf,
        format: ExportFormat,
        users: Vec<User>,
        password_max_age_days: Option<i64>,
        now: DateTime<Utc>,
    },
    /// Write one run's results, as `rollcall journal --run RUN_ID --format
    /// csv|json` gives them (`ops::results`), read from the journal.
    ExportResults {
        path: PathBuf,
        format: ExportFormat,
        /// The journal the run was written to.
        journal: Option<PathBuf>,
        run_id: String,
    },
    /// Write an offboarding run's report as Markdown (one row per account,
    /// a column per step), as `rollcall offboard --report` does.
    OffboardReport {
        path: PathBuf,
        run_id: String,
        lists: Vec<crate::domain::offboard::Checklist>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

impl ExportFormat {
    /// By the file's extension.
    pub fn of(path: &Path) -> Option<ExportFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(ExportFormat::Csv),
            "json" => Some(ExportFormat::Json),
            _ => None,
        }
    }
}

/// Performs `effect`; the text for the status line, or why it failed.
pub fn perform(effect: &Effect, config_path: Option<&Path>) -> Result<String, String> {
    match effect {
        Effect::SaveConfig(config) => {
            let Some(path) = config_path else {
                return Err("no config file location; start with --config PATH".into());
            };
            config
                .save(path)
                .map(|()| format!("kept in {}", path.display()))
                .map_err(|e| e.to_string())
        }
        Effect::Export {
            path,
            format,
            users,
            password_max_age_days,
            now,
        } => export(path, *format, users, *password_max_age_days, *now)
            .map(|()| {
                let noun = if users.len() == 1 {
                    "account"
                } else {
                    "accounts"
                };
                format!("exported {} {noun} to {}", users.len(), path.display())
            })
            .map_err(|e| format!("cannot export to {}: {e}", path.display())),
        Effect::ExportResults {
            path,
            format,
            journal,
            run_id,
        } => export_results(path, *format, journal.as_deref(), run_id),
        Effect::OffboardReport {
            path,
            run_id,
            lists,
        } => {
            let mut bytes: Vec<u8> = Vec::new();
            crate::ops::offboard::write_markdown(run_id, lists, &mut bytes)
                .map_err(|e| e.to_string())
                .and_then(|()| std::fs::write(path, bytes).map_err(|e| e.to_string()))
                .map(|()| format!("wrote the report of run {run_id} to {}", path.display()))
                .map_err(|e| format!("cannot write the report to {}: {e}", path.display()))
        }
    }
}

/// One run's results (one row per account and action, its outcome and
/// message), read from `journal`, written as `rollcall journal --format`.
fn export_results(
    path: &Path,
    format: ExportFormat,
    journal: Option<&Path>,
    run_id: &str,
) -> Result<String, String> {
    let Some(journal) = journal else {
        return Err(crate::ops::run::NO_JOURNAL.to_string());
    };
    let contents = crate::journal::read(journal)
        .map_err(|e| format!("cannot read the journal {}: {e}", journal.display()))?;
    let rows = crate::journal::action_results(&contents.entries, run_id);
    if rows.is_empty() {
        return Err(format!(
            "the journal {} has no results of run {run_id}",
            journal.display()
        ));
    }
    let mut bytes: Vec<u8> = Vec::new();
    let written = match format {
        ExportFormat::Csv => crate::ops::results::write_csv(&rows, &mut bytes),
        ExportFormat::Json => crate::ops::results::write_json(&rows, &mut bytes),
    };
    written
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::write(path, bytes).map_err(|e| e.to_string()))
        .map_err(|e| format!("cannot export to {}: {e}", path.display()))?;
    Ok(format!(
        "exported {} result{} of run {run_id} to {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        path.display()
    ))
}

/// The same columns and names as `users list --format csv|json`. This is
/// the console's one use of `commands`: the writers belong in the domain,
/// and should move there rather than be copied here.
fn export(
    path: &Path,
    format: ExportFormat,
    users: &[User],
    max_age: Option<i64>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut bytes: Vec<u8> = Vec::new();
    match format {
        ExportFormat::Csv => crate::ops::export::write_csv_with(users, max_age, now, &mut bytes)?,
        ExportFormat::Json => crate::ops::export::write_json(users, &mut bytes)?,
    }
    std::fs::write(path, bytes)?;
    Ok(())
}

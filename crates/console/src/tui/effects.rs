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
    }
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

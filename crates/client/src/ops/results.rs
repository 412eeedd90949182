//! A run's results for tools, as CSV or JSON (GAM's action CSV): one row per
//! account and action with its outcome and message, the same columns in
//! both, and nothing a terminal would act on.

use crate::domain::text::{csv_cell, json_export};
use crate::journal::{result_time, ActionResult};
use std::io::Write;

/// The CSV columns, in order; the JSON objects' keys are the same.
pub const RESULTS_HEADER: [&str; 9] = [
    "run_id",
    "time",
    "instance",
    "actor",
    "action",
    "account_id",
    "account_name",
    "outcome",
    "message",
];

/// CSV with a header; a row without a message has an empty cell.
pub fn write_csv(rows: &[ActionResult], out: &mut dyn Write) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(RESULTS_HEADER)?;
    for row in rows {
        writer.write_record([
            csv_cell(&row.run_id),
            result_time(&row.time),
            csv_cell(&row.instance),
            csv_cell(&row.actor),
            csv_cell(&row.action),
            // A create that made no account has no id (see ActionResult).
            if row.account_id > 0 {
                row.account_id.to_string()
            } else {
                String::new()
            },
            csv_cell(&row.account_name),
            row.outcome.name().to_string(),
            row.message.as_deref().map(csv_cell).unwrap_or_default(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// A JSON array of objects keyed as [`RESULTS_HEADER`]; a row without a
/// message has `"message": null`.
pub fn write_json(rows: &[ActionResult], out: &mut dyn Write) -> anyhow::Result<()> {
    out.write_all(json_export(rows)?.as_bytes())?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::ResultOutcome;
    use chrono::{DateTime, Utc};

    fn row(name: &str, outcome: ResultOutcome, message: Option<&str>) -> ActionResult {
        ActionResult {
            run_id: "20261125T120000-00ab".into(),
            time: DateTime::parse_from_rfc3339("2026-11-25T12:00:01.5Z")
                .unwrap()
                .with_timezone(&Utc),
            instance: "http://127.0.0.1:1/api".into(),
            actor: "administrator".into(),
            action: "disable".into(),
            account_id: 7,
            account_name: name.into(),
            outcome,
            message: message.map(String::from),
        }
    }

    #[test]
    fn csv_and_json_carry_the_same_columns_safely() {
        let rows = vec![
            row("pat@example.com", ResultOutcome::Ok, None),
            row(
                "=cmd|' /C calc'!A0",
                ResultOutcome::Failed,
                Some("denied \u{1b}[2J"),
            ),
        ];
        let mut csv_out = Vec::new();
        write_csv(&rows, &mut csv_out).unwrap();
        let csv_text = String::from_utf8(csv_out).unwrap();
        let lines: Vec<&str> = csv_text.lines().collect();
        assert_eq!(lines[0], RESULTS_HEADER.join(","));
        assert_eq!(
            lines[1],
            "20261125T120000-00ab,2026-11-25T12:00:01.500Z,http://127.0.0.1:1/api,administrator,disable,7,pat@example.com,ok,"
        );
        assert!(
            lines[2].contains(",'=cmd|' /C calc'!A0,failed,denied \\e[2J"),
            "{}",
            lines[2]
        );
        assert!(!csv_text.contains('\u{1b}'));

        let mut json_out = Vec::new();
        write_json(&rows, &mut json_out).unwrap();
        let json_text = String::from_utf8(json_out).unwrap();
        assert!(!json_text.contains('\u{1b}'));
        let parsed: serde_json::Value = serde_json::from_str(&json_text).unwrap();
        let first = parsed[0].as_object().unwrap();
        let keys: Vec<&str> = first.keys().map(String::as_str).collect();
        let mut expected = RESULTS_HEADER.to_vec();
        expected.sort_unstable();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, expected);
        assert_eq!(first["time"], "2026-11-25T12:00:01.500Z");
        assert_eq!(first["outcome"], "ok");
        assert!(first["message"].is_null());
        // The data is the same, only escaped for the terminal.
        assert_eq!(parsed[1]["message"], "denied \u{1b}[2J");
        assert_eq!(parsed[1]["account_name"], "=cmd|' /C calc'!A0");
    }
}

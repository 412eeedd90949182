//! Accounts as CSV and JSON, the same bytes from `users list` and the
//! console's `:export`: ThreatConnect's field names, unknown values as empty
//! cells (CSV) or absent keys (JSON), and nothing a terminal would act on.

use crate::domain::text::csv_cell;
use crate::domain::{PasswordExpiry, User};
use chrono::{DateTime, Utc};
use std::io::Write;

/// JSON with ThreatConnect's field names, safe on a terminal and still the
/// same data (see [`crate::domain::text::json_export`]).
pub fn write_json(users: &[User], out: &mut dyn Write) -> anyhow::Result<()> {
    let mut json = JsonArray::new(out);
    json.write_all(users)?;
    json.finish()
}

/// What comes before the first element of a JSON array, and before each
/// of the others.
const FIRST_ELEMENT: &[u8] = b"[\n  ";
const NEXT_ELEMENT: &[u8] = b",\n  ";

/// One account as an element of the exported array: the one export
/// formatter, one level in.
fn write_json_element<W: Write>(out: &mut W, user: &User) -> anyhow::Result<()> {
    use serde::Serialize;
    let mut serializer =
        serde_json::Serializer::with_formatter(out, crate::domain::text::SafePretty::at_depth(1));
    user.serialize(&mut serializer)?;
    Ok(())
}

/// A page of accounts written as CSV on its own task, ahead of its turn
/// (`users list` streams pages in order as they come): each account's
/// bytes by id, so that accounts an earlier page already gave are still
/// left out when it is written.
pub struct RenderedPage {
    bytes: Vec<u8>,
    /// Each account's id and where its bytes end.
    rows: Vec<(i64, usize)>,
}

impl RenderedPage {
    /// CSV rows without the header, as [`write_csv_rows`] writes them.
    pub fn csv(
        users: &[User],
        password_max_age_days: Option<i64>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let mut writer = csv::Writer::from_writer(Vec::with_capacity(users.len() * 200));
        let mut rows = Vec::with_capacity(users.len());
        for user in users {
            write_csv_rows(
                &mut writer,
                std::slice::from_ref(user),
                password_max_age_days,
                now,
            )?;
            writer.flush()?;
            rows.push((user.id, writer.get_ref().len()));
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
        Ok(RenderedPage { bytes, rows })
    }

    /// Each account's bytes, in order, for the accounts `seen` does not
    /// hold yet; `seen` gains them.
    pub fn fresh<'a>(
        &'a self,
        seen: &'a mut std::collections::HashSet<i64>,
    ) -> impl Iterator<Item = &'a [u8]> + 'a {
        let starts = std::iter::once(0).chain(self.rows.iter().map(|(_, end)| *end));
        self.rows
            .iter()
            .zip(starts)
            .filter(move |((id, _), _)| seen.insert(*id))
            .map(|((_, end), start)| &self.bytes[start..*end])
    }
}

/// The CSV header line, as [`write_csv`] writes it.
pub fn csv_header() -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_HEADER)?;
    writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("{}", e.error()))
}

/// A JSON array written element by element, byte for byte what
/// [`write_json`] writes for the same accounts: each element goes straight
/// to the output through the one export formatter, one level in.
pub struct JsonArray<W: Write> {
    out: W,
    written: usize,
}

impl<W: Write> JsonArray<W> {
    pub fn new(out: W) -> Self {
        JsonArray { out, written: 0 }
    }

    pub fn write_all(&mut self, users: &[User]) -> anyhow::Result<()> {
        for user in users {
            self.out.write_all(if self.written == 0 {
                FIRST_ELEMENT
            } else {
                NEXT_ELEMENT
            })?;
            write_json_element(&mut self.out, user)?;
            self.written += 1;
        }
        Ok(())
    }

    pub fn finish(mut self) -> anyhow::Result<()> {
        self.out
            .write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
        self.out.flush()?;
        Ok(())
    }
}
fn password_days(user: &User, max_age: Option<i64>, now: DateTime<Utc>) -> String {
    match user.password_expiry(max_age, now) {
        PasswordExpiry::DaysLeft(n) => n.to_string(),
        PasswordExpiry::Expired => "expired".to_string(),
        PasswordExpiry::Unknown => String::new(),
    }
}

fn opt_bool(value: Option<bool>) -> String {
    value.map(|b| b.to_string()).unwrap_or_default()
}

fn opt_time(value: Option<DateTime<Utc>>) -> String {
    value
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 16] = [
    "id",
    "userName",
    "firstName",
    "lastName",
    "pseudonym",
    "owner",
    "systemRole",
    "orgRole",
    "status",
    "disabled",
    "locked",
    "lastLogin",
    "lastPasswordChange",
    "passwordExpiresInDays",
    "userGroups",
    "mfaEnabled",
];
/// CSV with a header; unknown values are empty cells. The password max
/// age is the instance's, for the expiry column.
pub fn write_csv_with(
    users: &[User],
    password_max_age_days: Option<i64>,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(CSV_HEADER)?;
    write_csv_rows(&mut writer, users, password_max_age_days, now)?;
    writer.flush()?;
    Ok(())
}

/// The CSV rows of `users`, without the header.
pub fn write_csv_rows<W: Write>(
    writer: &mut csv::Writer<W>,
    users: &[User],
    password_max_age_days: Option<i64>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for user in users {
        let status = user.status().map(|s| s.name()).unwrap_or("");
        let groups = user.group_names().map(|g| g.join("; ")).unwrap_or_default();
        let cell = |v: Option<&str>| v.map(csv_cell).unwrap_or_default();
        writer.write_record([
            user.id.to_string(),
            csv_cell(&user.user_name),
            cell(user.first_name.as_deref()),
            cell(user.last_name.as_deref()),
            cell(user.pseudonym.as_deref()),
            cell(user.owner.as_deref()),
            cell(user.system_role.as_deref()),
            user.org_role_name().map(csv_cell).unwrap_or_default(),
            status.to_string(),
            opt_bool(user.disabled),
            opt_bool(user.locked),
            opt_time(user.last_login),
            opt_time(user.last_password_change),
            password_days(user, password_max_age_days, now),
            csv_cell(&groups),
            opt_bool(user.mfa_enabled),
        ])?;
    }
    Ok(())
}

//! Accounts as CSV and JSON, the same bytes from `users list` and the
//! console's `:export`: ThreatConnect's field names, unknown values as empty
//! cells (CSV) or absent keys (JSON), and nothing a terminal would act on.

use crate::domain::text::csv_cell_borrowed;
use crate::domain::{PasswordExpiry, User};
use chrono::{DateTime, Utc};
use std::borrow::Cow;
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

/// How much of a JSON page is built before it is written out.
const JSON_CHUNK: usize = 256 * 1024;

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
        let mut scratch = String::new();
        for user in users {
            write_csv_row(&mut writer, user, password_max_age_days, now, &mut scratch)?;
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
/// [`write_json`] writes for the same accounts and what serializing them
/// through the export formatter writes: each element by
/// `User::write_export_json`, one level in.
pub struct JsonArray<W: Write> {
    out: W,
    written: usize,
}

impl<W: Write> JsonArray<W> {
    pub fn new(out: W) -> Self {
        JsonArray { out, written: 0 }
    }

    /// Each account through `User::write_export_json` (the export
    /// formatter's bytes, held to serde's by its test), built in chunks.
    pub fn write_all(&mut self, users: &[User]) -> anyhow::Result<()> {
        let mut chunk = Vec::with_capacity(JSON_CHUNK + 4096);
        for user in users {
            chunk.extend_from_slice(if self.written == 0 {
                FIRST_ELEMENT
            } else {
                NEXT_ELEMENT
            });
            user.write_export_json(&mut chunk, 1);
            self.written += 1;
            if chunk.len() >= JSON_CHUNK {
                self.out.write_all(&chunk)?;
                chunk.clear();
            }
        }
        self.out.write_all(&chunk)?;
        Ok(())
    }

    pub fn finish(mut self) -> anyhow::Result<()> {
        self.out
            .write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
        self.out.flush()?;
        Ok(())
    }
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
    let mut scratch = String::new();
    for user in users {
        write_csv_row(writer, user, password_max_age_days, now, &mut scratch)?;
    }
    Ok(())
}

/// One account's CSV row, its cells borrowed where they need no change:
/// numbers, times and the joined groups are written through `scratch`, so
/// a row allocates only for a cell that does change.
fn write_csv_row<W: Write>(
    writer: &mut csv::Writer<W>,
    user: &User,
    password_max_age_days: Option<i64>,
    now: DateTime<Utc>,
    scratch: &mut String,
) -> csv::Result<()> {
    use std::fmt::Write as _;
    fn cell(v: Option<&str>) -> Cow<'_, str> {
        v.map_or(Cow::Borrowed(""), csv_cell_borrowed)
    }
    scratch.clear();
    let _ = write!(scratch, "{}", user.id);
    writer.write_field(scratch.as_bytes())?;
    writer.write_field(csv_cell_borrowed(&user.user_name).as_bytes())?;
    writer.write_field(cell(user.first_name.as_deref()).as_bytes())?;
    writer.write_field(cell(user.last_name.as_deref()).as_bytes())?;
    writer.write_field(cell(user.pseudonym.as_deref()).as_bytes())?;
    writer.write_field(cell(user.owner.as_deref()).as_bytes())?;
    writer.write_field(cell(user.system_role.as_deref()).as_bytes())?;
    writer.write_field(cell(user.org_role_name()).as_bytes())?;
    writer.write_field(user.status().map_or("", |s| s.name()))?;
    writer.write_field(bool_text(user.disabled))?;
    writer.write_field(bool_text(user.locked))?;
    for time in [user.last_login, user.last_password_change] {
        scratch.clear();
        if let Some(time) = time {
            write_time(scratch, time);
        }
        writer.write_field(scratch.as_bytes())?;
    }
    match user.password_expiry(password_max_age_days, now) {
        PasswordExpiry::DaysLeft(n) => {
            scratch.clear();
            let _ = write!(scratch, "{n}");
            writer.write_field(scratch.as_bytes())?;
        }
        PasswordExpiry::Expired => writer.write_field("expired")?,
        PasswordExpiry::Unknown => writer.write_field("")?,
    }
    scratch.clear();
    for (i, group) in user.user_groups.iter().flatten().enumerate() {
        if i > 0 {
            scratch.push_str("; ");
        }
        scratch.push_str(&group.name);
    }
    writer.write_field(csv_cell_borrowed(scratch).as_bytes())?;
    writer.write_field(bool_text(user.mfa_enabled))?;
    writer.write_record(None::<&[u8]>)
}

fn bool_text(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    }
}

/// `time` as `to_rfc3339_opts(Secs, true)` writes it; a time with a
/// fraction or a year of other than four digits goes through chrono.
fn write_time(out: &mut String, time: DateTime<Utc>) {
    match crate::domain::account::plain_time(&time) {
        // Only ASCII digits and separators.
        Some(plain) => out.push_str(std::str::from_utf8(&plain).unwrap_or_default()),
        None => out.push_str(&time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    }
}

#[cfg(test)]
mod fast_csv_tests {
    use super::*;
    use crate::domain::text::csv_cell;
    use crate::domain::GroupRef;

    /// The rows as they were written before `write_csv_row`: a `String` per cell.
    fn reference_rows<W: Write>(
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

    /// Accounts with every cell set and unset, odd text of every kind
    /// (quotes, separators, line breaks, formulas, controls, bidi, wide
    /// and combining characters), times at the ends of the calendar.
    fn odd_accounts() -> Vec<User> {
        let now = Utc::now();
        let texts = [
            "plain",
            "",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "cr\rhere",
            "=SUM(A1)",
            "+1",
            "-x",
            "@me",
            "tab\there",
            "evil\u{1b}[2J",
            "rtl\u{202e}txt",
            "zw\u{200b}j",
            "wide 表",
            "e\u{301}",
            "'quoted",
            "  spaced  ",
            "semi; colon",
        ];
        let times = [
            None,
            Some(now),
            Some(now - chrono::Duration::days(400)),
            chrono::DateTime::from_timestamp(0, 0),
            chrono::DateTime::from_timestamp(253_402_300_799, 999_999_999),
            chrono::DateTime::from_timestamp(253_402_300_800, 0),
            chrono::DateTime::from_timestamp(-62_167_219_201, 0),
        ];
        let mut users = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let some = |t: &str| (i % 3 != 1).then(|| t.to_string());
            let flag = |k: usize| match (i + k) % 3 {
                0 => None,
                1 => Some(true),
                _ => Some(false),
            };
            users.push(User {
                id: i as i64 * 7919 - 3,
                user_name: format!("{text}{i}"),
                first_name: some(text),
                last_name: some(&text.repeat(2)),
                pseudonym: some(text).map(Into::into),
                owner: (i % 4 != 0).then(|| format!("Org {text}")),
                system_role: some("User"),
                owner_roles: (i % 2 == 0).then(|| {
                    [(format!("Org {text}"), text.to_string())]
                        .into_iter()
                        .collect()
                }),
                disabled: flag(0),
                locked: flag(1),
                mfa_enabled: flag(2),
                last_login: times[i % times.len()],
                last_password_change: times[(i + 3) % times.len()],
                user_groups: match i % 3 {
                    0 => None,
                    1 => Some(Vec::new()),
                    _ => Some(vec![
                        GroupRef {
                            id: 1,
                            name: text.to_string(),
                        },
                        GroupRef {
                            id: 2,
                            name: "=cmd".into(),
                        },
                    ]),
                },
                ..Default::default()
            });
        }
        users
    }

    #[test]
    fn rows_are_written_as_one_string_per_cell_wrote_them() {
        let now = Utc::now();
        let users = odd_accounts();
        for max_age in [None, Some(0), Some(90), Some(100_000)] {
            let mut want = csv::Writer::from_writer(Vec::new());
            reference_rows(&mut want, &users, max_age, now).unwrap();
            let mut got = csv::Writer::from_writer(Vec::new());
            write_csv_rows(&mut got, &users, max_age, now).unwrap();
            let (want, got) = (want.into_inner().unwrap(), got.into_inner().unwrap());
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want)
            );
            let page = RenderedPage::csv(&users, max_age, now).unwrap();
            assert_eq!(page.bytes, want);
        }
    }
}

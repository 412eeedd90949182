//! A users page written straight from SQLite rows into the answer's bytes:
//! no `UserRow`, no `User`, no JSON tree in between. Every value goes
//! through `serde_json` (strings, numbers, times), and the fields come in
//! `User`'s order under the same [`View`] rules as `db::into_wire`, so the
//! bytes are those `Json(ListEnvelope<User>)` gives; the paging test holds
//! the two to that, byte for byte.

use super::db::{View, COMMUNITY_ROLES_COLUMN, GROUP_IDS_COLUMN, USER_COLS, USER_FROM};
use crate::api::client::MAX_PAGE_SIZE;
use crate::domain::roles::{AccountType, SystemRole};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection, Row};
use std::collections::HashMap;

/// `USER_COLS` positions.
mod col {
    pub const ID: usize = 0;
    pub const USER_NAME: usize = 1;
    pub const FIRST_NAME: usize = 2;
    pub const LAST_NAME: usize = 3;
    pub const PSEUDONYM: usize = 4;
    pub const ORG_ID: usize = 5;
    pub const ORG_NAME: usize = 6;
    pub const SYSTEM_ROLE: usize = 7;
    pub const ORG_ROLE: usize = 8;
    pub const DISABLED: usize = 9;
    pub const LOCKED: usize = 10;
    pub const PASSWORD_RESET_REQUIRED: usize = 11;
    pub const TWO_FACTOR_RESET_REQUIRED: usize = 12;
    pub const TERMS_ACCEPTED: usize = 13;
    pub const TERMS_ACCEPTED_DATE: usize = 14;
    pub const LOGOUT_INTERVAL_MINUTES: usize = 15;
    pub const CUSTOM_TQL_TIMEOUT: usize = 16;
    pub const TQL_TIMEOUT: usize = 17;
    pub const UI_THEME: usize = 18;
    pub const JOB_FUNCTION: usize = 19;
    pub const JOB_ROLE: usize = 20;
    pub const LAST_LOGIN: usize = 21;
    pub const LAST_PASSWORD_CHANGE: usize = 22;
    pub const MFA_ENABLED: usize = 23;
    pub const TIME_ZONE: usize = 24;
    pub const SUMMARY_EMAIL_TIME: usize = 25;
    pub const TOKEN_EXPIRATION_DAYS: usize = 26;
    pub const INCLUDE_IN_OBSERVATIONS: usize = 27;
    pub const ALLOW_EXCEED_API_LINK_LIMIT: usize = 28;
    /// The row's Community roles (`db::COMMUNITY_ROLES_COLUMN`).
    pub const COMMUNITY: usize = 29;
    /// The row's group ids (`db::GROUP_IDS_COLUMN`).
    pub const GROUPS: usize = 30;
}

/// The start of a list envelope, before its `data` array's elements.
pub const ENVELOPE_START: &[u8] = b"{\"data\":[";

/// Ends a list envelope begun with [`ENVELOPE_START`] and the array's
/// elements, in place: `ListEnvelope`'s field order and omissions.
pub fn end_envelope(
    out: &mut Vec<u8>,
    count: Option<i64>,
    next: Option<&str>,
    prev: Option<&str>,
    status: &str,
) {
    out.push(b']');
    int_field(out, "count", count);
    text_field(out, "next", next);
    text_field(out, "prev", prev);
    text_field(out, "status", Some(status));
    out.push(b'}');
}

/// Names of the owners and groups (small tables, read once per page) for a
/// page's Community roles and groups, which each row carries as its own
/// columns ([`col::COMMUNITY`], [`col::GROUPS`]).
#[derive(Default)]
struct Extras {
    owners: HashMap<i64, String>,
    groups: HashMap<i64, String>,
}

/// A row's Community roles: `[[owner id, role], ...]` as SQLite's
/// `json_group_array` writes them.
type CommunityRoles<'a> = Vec<(i64, std::borrow::Cow<'a, str>)>;

impl Extras {
    fn fetch(conn: &Connection, view: View) -> rusqlite::Result<Extras> {
        let mut extras = Extras::default();
        // Owners are few: every name at once, for the Community roles and
        // for the home Organization when the page was read without a join.
        let mut owners = conn.prepare_cached("SELECT id, name FROM owners")?;
        let mut rows = owners.query([])?;
        while let Some(r) = rows.next()? {
            extras.owners.insert(r.get(0)?, r.get(1)?);
        }
        if view.groups {
            let mut groups = conn.prepare_cached("SELECT id, name FROM groups")?;
            let mut rows = groups.query([])?;
            while let Some(r) = rows.next()? {
                extras.groups.insert(r.get(0)?, r.get(1)?);
            }
        }
        Ok(extras)
    }

    /// `ownerRoles`: the home Organization, then the community roles, by
    /// name (owners' names are unique, so their order does not matter).
    fn owner_roles<'a>(
        &'a self,
        community: &'a CommunityRoles<'a>,
        home: &'a str,
        home_role: &'a str,
    ) -> Vec<(&'a str, &'a str)> {
        let mut roles: Vec<(&str, &str)> = vec![(home, home_role)];
        for (owner, role) in community {
            // An owner without a name would have been dropped by the join.
            let Some(owner) = self.owners.get(owner) else {
                continue;
            };
            match roles.binary_search_by(|(name, _)| (*name).cmp(owner.as_str())) {
                Ok(i) => roles[i].1 = role,
                Err(i) => roles.insert(i, (owner.as_str(), role)),
            }
        }
        roles
    }

    /// `userGroups` by name (then id), as `PageExtras` reads them, from
    /// the row's group ids (`group_concat`, comma separated).
    fn groups_of(&self, ids: &str) -> Vec<(i64, &str)> {
        let mut groups: Vec<(i64, &str)> = ids
            .split(',')
            .filter_map(|id| id.parse::<i64>().ok())
            .filter_map(|g| self.groups.get(&g).map(|name| (g, name.as_str())))
            .collect();
        groups.sort_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)));
        groups
    }
}

/// A row's values by column, as `write_user` reads them: straight from
/// SQLite, or from a page copied out of it ([`PageRows`]).
trait Cells {
    fn text(&self, i: usize) -> rusqlite::Result<Option<&str>>;
    fn int(&self, i: usize) -> rusqlite::Result<Option<i64>>;
    fn flag(&self, i: usize) -> rusqlite::Result<bool>;
}

/// One value of a copied row: text is a span of the page's bytes.
#[derive(Clone, Copy)]
enum Cell {
    Null,
    Int(i64),
    Text {
        start: usize,
        len: usize,
    },
    /// A real or a blob: no column of a user is one.
    Other,
}

/// A page's rows copied out of SQLite (values only, text in one buffer),
/// so that writing them as JSON needs no database and no lock.
#[derive(Default)]
pub struct PageRows {
    bytes: Vec<u8>,
    cells: Vec<Cell>,
    width: usize,
}

impl PageRows {
    fn push(&mut self, row: &Row) -> rusqlite::Result<()> {
        for i in 0..self.width {
            let cell = match row.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(n) => Cell::Int(n),
                ValueRef::Text(text) => {
                    let start = self.bytes.len();
                    self.bytes.extend_from_slice(text);
                    Cell::Text {
                        start,
                        len: text.len(),
                    }
                }
                ValueRef::Real(_) | ValueRef::Blob(_) => Cell::Other,
            };
            self.cells.push(cell);
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.cells.len().checked_div(self.width).unwrap_or(0)
    }
}

struct CopiedRow<'a> {
    page: &'a PageRows,
    row: usize,
}

impl CopiedRow<'_> {
    fn cell(&self, i: usize) -> Cell {
        self.page.cells[self.row * self.page.width + i]
    }

    fn wrong_type(i: usize) -> rusqlite::Error {
        rusqlite::Error::InvalidColumnType(i, String::new(), rusqlite::types::Type::Null)
    }
}

impl Cells for CopiedRow<'_> {
    fn text(&self, i: usize) -> rusqlite::Result<Option<&str>> {
        match self.cell(i) {
            Cell::Null => Ok(None),
            Cell::Text { start, len } => std::str::from_utf8(&self.page.bytes[start..start + len])
                .map(Some)
                .map_err(rusqlite::Error::Utf8Error),
            _ => Err(Self::wrong_type(i)),
        }
    }

    fn int(&self, i: usize) -> rusqlite::Result<Option<i64>> {
        match self.cell(i) {
            Cell::Null => Ok(None),
            Cell::Int(n) => Ok(Some(n)),
            _ => Err(Self::wrong_type(i)),
        }
    }

    fn flag(&self, i: usize) -> rusqlite::Result<bool> {
        match self.cell(i) {
            Cell::Int(n) => Ok(n != 0),
            _ => Err(Self::wrong_type(i)),
        }
    }
}

/// Writes one JSON value with `serde_json`, so its text is exactly what
/// serializing a `User` would give.
fn value<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Writing to a Vec cannot fail, and these values always serialize.
    let _ = serde_json::to_writer(&mut *out, v);
}

fn key(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

fn text_field(out: &mut Vec<u8>, name: &str, v: Option<&str>) {
    if let Some(v) = v {
        key(out, name);
        value(out, v);
    }
}

/// As `db::parse_time`, without copying the text first. A stored time
/// already in the form serializing gives (whole seconds, UTC, `Z`) is
/// written as it is; any other is parsed and written by `serde_json`.
fn time_field(out: &mut Vec<u8>, name: &str, v: Option<&str>) {
    let Some(text) = v else {
        return;
    };
    let Ok(parsed) = chrono::DateTime::parse_from_rfc3339(text) else {
        return;
    };
    key(out, name);
    let canonical = text.len() == 20
        && text.ends_with('Z')
        && parsed.offset().local_minus_utc() == 0
        && parsed.timestamp_subsec_nanos() == 0;
    if canonical {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        value(out, &parsed.with_timezone(&chrono::Utc));
    }
}

fn bool_field(out: &mut Vec<u8>, name: &str, v: bool) {
    key(out, name);
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

fn int_field(out: &mut Vec<u8>, name: &str, v: Option<i64>) {
    if let Some(v) = v {
        key(out, name);
        value(out, &v);
    }
}

fn write_user<C: Cells>(
    out: &mut Vec<u8>,
    row: &C,
    extras: &Extras,
    view: View,
) -> rusqlite::Result<()> {
    let id: i64 = row.int(col::ID)?.unwrap_or_default();
    let user_name = row.text(col::USER_NAME)?.unwrap_or_default();
    let org_name = match row.text(col::ORG_NAME)? {
        Some(name) => name,
        None => {
            let org_id: i64 = row.int(col::ORG_ID)?.unwrap_or_default();
            extras.owners.get(&org_id).map_or("", String::as_str)
        }
    };
    let system_role = row.text(col::SYSTEM_ROLE)?.unwrap_or_default();
    out.extend_from_slice(b"{\"id\":");
    value(out, &id);
    key(out, "userName");
    value(out, user_name);
    text_field(out, "firstName", row.text(col::FIRST_NAME)?);
    text_field(out, "lastName", row.text(col::LAST_NAME)?);
    text_field(out, "pseudonym", row.text(col::PSEUDONYM)?);
    text_field(out, "owner", Some(org_name));
    if view.system_role {
        text_field(out, "systemRole", Some(system_role));
    }
    if view.detail {
        let org_role = row.text(col::ORG_ROLE)?.unwrap_or_default();
        let community: CommunityRoles = match row.text(col::COMMUNITY)? {
            None | Some("[]") => Vec::new(),
            Some(json) => serde_json::from_str(json)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
        };
        key(out, "ownerRoles");
        out.push(b'{');
        for (i, (owner, role)) in extras
            .owner_roles(&community, org_name, org_role)
            .iter()
            .enumerate()
        {
            if i > 0 {
                out.push(b',');
            }
            value(out, *owner);
            out.push(b':');
            value(out, *role);
        }
        out.push(b'}');
        bool_field(out, "disabled", row.flag(col::DISABLED)?);
        bool_field(out, "locked", row.flag(col::LOCKED)?);
        bool_field(
            out,
            "passwordResetRequired",
            row.flag(col::PASSWORD_RESET_REQUIRED)?,
        );
        bool_field(
            out,
            "twoFactorResetRequired",
            row.flag(col::TWO_FACTOR_RESET_REQUIRED)?,
        );
        bool_field(out, "termsAccepted", row.flag(col::TERMS_ACCEPTED)?);
        time_field(
            out,
            "termsAcceptedDate",
            row.text(col::TERMS_ACCEPTED_DATE)?,
        );
        int_field(
            out,
            "logoutIntervalMinutes",
            row.int(col::LOGOUT_INTERVAL_MINUTES)?,
        );
        let custom: Option<i64> = row.int(col::CUSTOM_TQL_TIMEOUT)?;
        int_field(out, "customTqlTimeout", Some(custom.unwrap_or(0)));
        int_field(out, "tqlTimeout", row.int(col::TQL_TIMEOUT)?);
        text_field(out, "uiTheme", row.text(col::UI_THEME)?);
        text_field(out, "jobFunction", row.text(col::JOB_FUNCTION)?);
        text_field(out, "jobRole", row.text(col::JOB_ROLE)?);
        if !view.omit_last_login {
            time_field(out, "lastLogin", row.text(col::LAST_LOGIN)?);
        }
        time_field(
            out,
            "lastPasswordChange",
            row.text(col::LAST_PASSWORD_CHANGE)?,
        );
    }
    if view.groups {
        key(out, "userGroups");
        out.push(b'[');
        let ids = row.text(col::GROUPS)?.unwrap_or_default();
        for (i, (group, name)) in extras.groups_of(ids).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"id\":");
            value(out, group);
            out.extend_from_slice(b",\"name\":");
            value(out, *name);
            out.push(b'}');
        }
        out.push(b']');
    }
    if view.mfa {
        bool_field(out, "mfaEnabled", row.flag(col::MFA_ENABLED)?);
    }
    // Each setting belongs to the account types whose form offers it.
    let kind = AccountType::of(SystemRole::parse(system_role).unwrap_or(SystemRole::User));
    match kind {
        AccountType::User | AccountType::ReadOnly => {
            if view.time_zone {
                text_field(out, "timeZone", row.text(col::TIME_ZONE)?);
            }
            if view.summary_email_time {
                text_field(out, "summaryEmailTime", row.text(col::SUMMARY_EMAIL_TIME)?);
            }
        }
        AccountType::Api => {
            if view.token_expiration {
                int_field(
                    out,
                    "tokenExpirationDays",
                    row.int(col::TOKEN_EXPIRATION_DAYS)?,
                );
            }
            if view.include_in_observations {
                bool_field(
                    out,
                    "includeInObservations",
                    row.flag(col::INCLUDE_IN_OBSERVATIONS)?,
                );
            }
            if view.allow_exceed_api_link_limit {
                bool_field(
                    out,
                    "allowExceedApiLinkLimit",
                    row.flag(col::ALLOW_EXCEED_API_LINK_LIMIT)?,
                );
            }
        }
        AccountType::Taxii => {}
    }
    out.push(b'}');
    Ok(())
}

/// What a users query reads from: the owners joined only where the query
/// chooses or orders by the owner (its SQL names `o.`); otherwise every row
/// would pay a lookup of a name the few owners' table gives at once (every
/// account's Organization exists: owners are never deleted).
pub fn users_from(clauses: &[&str]) -> &'static str {
    if clauses.iter().any(|c| c.contains("o.")) {
        USER_FROM
    } else {
        "users u"
    }
}

/// A page read out of the database: its rows, their roles and groups, and
/// where it ends; written as JSON by [`PageData::write`] after the lock.
pub struct PageData {
    rows: PageRows,
    extras: Extras,
    /// Accounts on the page (at most the limit).
    pub written: usize,
    /// A row past the limit exists.
    pub more: bool,
    /// The last account's id and user name (the next cursor).
    pub last: Option<(i64, String)>,
}

impl PageData {
    /// The accounts as JSON array elements (comma separated, no brackets),
    /// a large page's rows written in parts on the machine's cores at once.
    pub fn write(&self, view: View, out: &mut Vec<u8>) -> rusqlite::Result<()> {
        let rows = self.rows.len();
        let parts = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(rows / MIN_ROWS_PER_PART)
            .max(1);
        if parts == 1 {
            return self.write_rows(0..rows, view, out);
        }
        let per_part = rows.div_ceil(parts);
        let (first, rest): (_, Vec<rusqlite::Result<Vec<u8>>>) = std::thread::scope(|scope| {
            let handles: Vec<_> = (per_part..rows)
                .step_by(per_part)
                .map(|at| {
                    let range = at..(at + per_part).min(rows);
                    scope.spawn(move || {
                        let mut bytes = Vec::with_capacity(range.len() * 720);
                        self.write_rows(range, view, &mut bytes).map(|()| bytes)
                    })
                })
                .collect();
            // The first part on this thread while the others run.
            let first = self.write_rows(0..per_part, view, out);
            let rest = handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(rusqlite::Error::ToSqlConversionFailure(
                            "a page writer failed".into(),
                        ))
                    })
                })
                .collect();
            (first, rest)
        });
        first?;
        for part in rest {
            out.push(b',');
            out.extend_from_slice(&part?);
        }
        Ok(())
    }

    fn write_rows(
        &self,
        rows: std::ops::Range<usize>,
        view: View,
        out: &mut Vec<u8>,
    ) -> rusqlite::Result<()> {
        let first = rows.start;
        for row in rows {
            if row > first {
                out.push(b',');
            }
            let row = CopiedRow {
                page: &self.rows,
                row,
            };
            write_user(out, &row, &self.extras, view)?;
        }
        Ok(())
    }
}

/// Below this many accounts a page is written on one thread (lower in
/// tests, so that their pages are split too).
#[cfg(not(test))]
const MIN_ROWS_PER_PART: usize = 1_000;
#[cfg(test)]
const MIN_ROWS_PER_PART: usize = 40;

/// The statement of a page: the accounts under `conditions` (a `WHERE`
/// clause or nothing) in `order`, each with its Community roles and group
/// ids as the row keeps them; its last two parameters are the limit and
/// the offset.
pub fn page_sql(conditions: &str, order: &str, view: View) -> String {
    let from = users_from(&[conditions, order]);
    let cols = if from == USER_FROM {
        USER_COLS.to_string()
    } else {
        USER_COLS.replacen("o.name", "NULL", 1)
    };
    let community = match view.detail {
        true => format!("u.{COMMUNITY_ROLES_COLUMN}"),
        false => "NULL".into(),
    };
    let groups = match view.groups {
        true => format!("u.{GROUP_IDS_COLUMN}"),
        false => "NULL".into(),
    };
    format!(
        "SELECT {cols}, {community}, {groups} FROM {from} {conditions}
         ORDER BY {order} LIMIT ? OFFSET ?"
    )
}

/// Reads up to `limit` accounts of `SELECT … WHERE conditions ORDER BY
/// order LIMIT limit+1 OFFSET skip` in one pass, each row with its roles
/// and groups, copied out as they are stepped.
#[allow(clippy::too_many_arguments)]
pub fn read_users(
    conn: &Connection,
    conditions: &str,
    params: &[SqlValue],
    order: &str,
    limit: i64,
    skip: i64,
    view: View,
) -> rusqlite::Result<PageData> {
    let mut page_params = params.to_vec();
    page_params.push(SqlValue::Integer(limit + 1));
    page_params.push(SqlValue::Integer(skip));
    let extras = Extras::fetch(conn, view)?;
    let sql = page_sql(conditions, order, view);
    let mut stmt = conn.prepare_cached(&sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query(params_from_iter(page_params.iter()))?;
    // Sized for the whole page at once (about 220 bytes of text a row):
    // growing by doubling would copy what was read so far each time.
    let rows_expected = limit.clamp(0, i64::from(MAX_PAGE_SIZE)) as usize;
    let mut page = PageData {
        rows: PageRows {
            width,
            cells: Vec::with_capacity(width * rows_expected),
            bytes: Vec::with_capacity(rows_expected * 256),
        },
        extras,
        written: 0,
        more: false,
        last: None,
    };
    let mut last_name = String::new();
    let mut last_id = 0;
    while let Some(row) = rows.next()? {
        if page.written as i64 >= limit {
            page.more = true;
            break;
        }
        page.rows.push(row)?;
        page.written += 1;
        last_id = row.get(col::ID)?;
        last_name.clear();
        last_name.push_str(row.get_ref(col::USER_NAME)?.as_str().unwrap_or_default());
    }
    if page.written > 0 {
        page.last = Some((last_id, last_name));
    }
    Ok(page)
}

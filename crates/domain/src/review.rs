//! Access reviews, the rules without IO: the reviewer's sheet (one CSV per
//! scope, one row per account, `decision` and `reason` to fill), reading
//! the decisions back with each problem named by file, line and column,
//! and what changed on an account since the snapshot was frozen.

use super::account::{LastLoginReported, User};
use super::text::csv_cell;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A sheet's columns, in order. Reviewers fill `decision`, `reason` and,
/// optionally, `reviewer`; the rest describes the account as frozen.
pub const COLUMNS: [&str; 13] = [
    "account_id",
    "account",
    "name",
    "type",
    "roles",
    "status",
    "last_login",
    "password_age_days",
    "groups",
    "findings",
    "decision",
    "reason",
    "reviewer",
];

/// The columns a decided sheet must still have.
const REQUIRED: [&str; 3] = ["account_id", "decision", "reason"];

/// What a reviewer decided for one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Keep,
    Disable,
    Delete,
}

impl Decision {
    pub const ALL: [Decision; 3] = [Decision::Keep, Decision::Disable, Decision::Delete];

    pub fn name(self) -> &'static str {
        match self {
            Decision::Keep => "keep",
            Decision::Disable => "disable",
            Decision::Delete => "delete",
        }
    }

    /// `keep`, `disable` or `delete`, in any case.
    pub fn parse(text: &str) -> Option<Decision> {
        Self::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(text.trim()))
    }

    /// Disable and delete take something away: they need a reason.
    pub fn needs_reason(self) -> bool {
        self != Decision::Keep
    }
}

/// How accounts are split among reviewers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One sheet per Organization (the account's home Organization).
    Org,
    /// One sheet per user group; an account in several is in each, and an
    /// account in none in `no-group`.
    Group,
}

/// The sheet's name for accounts of no group (`--by group`).
pub const NO_GROUP: &str = "no-group";
/// The sheet's name for accounts whose scope was not returned.
pub const UNKNOWN_SCOPE: &str = "scope-not-returned";

/// The scopes an account belongs to.
pub fn scopes_of(user: &User, scope: Scope) -> Vec<String> {
    match scope {
        Scope::Org => vec![user
            .owner
            .clone()
            .unwrap_or_else(|| UNKNOWN_SCOPE.to_string())],
        Scope::Group => match &user.user_groups {
            None => vec![UNKNOWN_SCOPE.to_string()],
            Some(groups) if groups.is_empty() => vec![NO_GROUP.to_string()],
            Some(groups) => groups.iter().map(|g| g.name.clone()).collect(),
        },
    }
}

/// A file name for a scope: letters, digits, `-` and `_` kept, the rest
/// `-`, never empty; `taken` keeps two scopes from one name.
pub fn file_stem(scope: &str, taken: &mut Vec<String>) -> String {
    let mut stem: String = scope
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    stem = stem.trim_matches('-').to_string();
    if stem.is_empty() {
        stem = "scope".into();
    }
    let base = stem.clone();
    let mut n = 2;
    while taken.contains(&stem) {
        stem = format!("{base}-{n}");
        n += 1;
    }
    taken.push(stem.clone());
    stem
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One account's row of a fresh sheet: what was returned, "unknown" for
/// what was not, the findings that apply, and empty decision columns.
pub fn sheet_row(
    user: &User,
    findings: &[&str],
    now: DateTime<Utc>,
    reported: LastLoginReported,
) -> Vec<String> {
    let unknown = || "unknown".to_string();
    let kind = user
        .account_type()
        .map(|t| t.to_string())
        .or_else(|| user.system_role.clone())
        .unwrap_or_else(unknown);
    let roles = match (user.system_role.as_deref(), user.org_role_name()) {
        (None, None) => unknown(),
        (system, org) => format!(
            "System: {}; Organization: {}",
            system.unwrap_or("unknown"),
            org.unwrap_or("unknown")
        ),
    };
    let last_login = match user.days_since_login(now, reported) {
        Some(Some(_)) => user.last_login.map(timestamp).unwrap_or_else(unknown),
        Some(None) => "never".into(),
        None => unknown(),
    };
    let password_age = user
        .last_password_change
        .map(|t| (now - t).num_days().to_string())
        .unwrap_or_else(unknown);
    let groups = user
        .group_names()
        .map(|g| g.join("; "))
        .unwrap_or_else(unknown);
    vec![
        user.id.to_string(),
        csv_cell(&user.user_name),
        csv_cell(&user.full_name()),
        kind,
        csv_cell(&roles),
        user.status()
            .map(|s| s.name().to_string())
            .unwrap_or_else(unknown),
        last_login,
        password_age,
        csv_cell(&groups),
        csv_cell(&findings.join("; ")),
        String::new(),
        String::new(),
        String::new(),
    ]
}

/// A sheet as read: its header and rows, each with the line it starts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sheet {
    pub header: Vec<String>,
    pub rows: Vec<SheetRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    /// 1-based line of the file the row starts on.
    pub line: u64,
    pub cells: Vec<String>,
}

impl Sheet {
    /// A new sheet with [`COLUMNS`] and `rows`.
    pub fn new(rows: Vec<Vec<String>>) -> Sheet {
        Sheet {
            header: COLUMNS.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .into_iter()
                .enumerate()
                .map(|(i, cells)| SheetRow {
                    line: i as u64 + 2,
                    cells,
                })
                .collect(),
        }
    }

    /// Reads CSV text; a row that cannot be read is `Err` with its line.
    pub fn parse(text: &str) -> Result<Sheet, (u64, String)> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| (1, format!("cannot read the header line: {e}")))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                (line, format!("cannot read the row: {e}"))
            })?;
            let line = record.position().map_or(0, |p| p.line());
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            rows.push(SheetRow {
                line,
                cells: record.iter().map(str::to_string).collect(),
            });
        }
        Ok(Sheet { header, rows })
    }

    /// The CSV text, header first; lines are renumbered as written. Every
    /// row is written, each with at least the header's cells (a column
    /// `set` added to one row, or a row a spreadsheet saved short, is
    /// padded with empty cells), so no row is ever lost on a save.
    pub fn to_csv(&mut self) -> String {
        let mut writer = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        let width = self.header.len();
        // A flexible writer into memory does not fail.
        let _ = writer.write_record(&self.header);
        for (i, row) in self.rows.iter_mut().enumerate() {
            if row.cells.len() < width {
                row.cells.resize(width, String::new());
            }
            let _ = writer.write_record(&row.cells);
            row.line = i as u64 + 2;
        }
        let bytes = writer.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// The account ids its rows name (rows whose id does not read as one
    /// are left out).
    pub fn account_ids(&self) -> BTreeSet<i64> {
        (0..self.rows.len())
            .filter_map(|r| self.get(r, "account_id").trim().parse().ok())
            .collect()
    }

    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    /// Row `row`'s cell in column `name` ("" when absent).
    pub fn get(&self, row: usize, name: &str) -> &str {
        match (self.rows.get(row), self.column(name)) {
            (Some(r), Some(c)) => r.cells.get(c).map(String::as_str).unwrap_or(""),
            _ => "",
        }
    }

    /// Sets row `row`'s cell in column `name`, adding the column if the
    /// sheet has none by that name.
    pub fn set(&mut self, row: usize, name: &str, value: &str) {
        let column = match self.column(name) {
            Some(c) => c,
            None => {
                self.header.push(name.to_string());
                self.header.len() - 1
            }
        };
        if let Some(r) = self.rows.get_mut(row) {
            if r.cells.len() <= column {
                r.cells.resize(column + 1, String::new());
            }
            r.cells[column] = value.to_string();
        }
    }
}

/// A problem of a decided sheet, where a person finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: u64,
    /// 1-based column number and its name; `None` for the whole row.
    pub column: Option<(usize, String)>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some((n, name)) => write!(
                f,
                "{}: line {}, column {n} ({name}): {}",
                self.file, self.line, self.message
            ),
            // Not on one line of one file (an account no sheet has).
            None if self.line == 0 => write!(f, "{}: {}", self.file, self.message),
            None => write!(f, "{}: line {}: {}", self.file, self.line, self.message),
        }
    }
}

/// One decided row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decided {
    pub file: String,
    pub line: u64,
    pub account_id: i64,
    pub account: String,
    pub decision: Decision,
    pub reason: String,
    /// Who decided, as the sheet names them (empty: not named).
    pub reviewer: String,
    /// When, as the sheet says it (`decided_at`, written by the console;
    /// empty when the sheet does not say).
    #[serde(default)]
    pub decided_at: String,
}

/// The optional column the console writes with each decision.
pub const DECIDED_AT: &str = "decided_at";

/// Reads the decisions of one sheet. `known` maps the snapshot's account
/// ids to their user names: a row for any other account is a problem.
/// Every row needs a decision, and every disable and delete a reason.
pub fn decisions(
    file: &str,
    sheet: &Sheet,
    known: &BTreeMap<i64, String>,
) -> (Vec<Decided>, Vec<Problem>) {
    let mut problems = Vec::new();
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|c| sheet.column(c).is_none())
        .collect();
    if !missing.is_empty() {
        problems.push(Problem {
            file: file.to_string(),
            line: 1,
            column: None,
            message: format!(
                "the header has no {} column (the sheet's columns: {})",
                missing.join(", "),
                COLUMNS.join(",")
            ),
        });
        return (Vec::new(), problems);
    }
    let at = |name: &str| {
        let c = sheet.column(name).unwrap_or(0);
        Some((c + 1, name.to_string()))
    };
    let mut decided = Vec::new();
    for (i, row) in sheet.rows.iter().enumerate() {
        let problem = |column: Option<(usize, String)>, message: String| Problem {
            file: file.to_string(),
            line: row.line,
            column,
            message,
        };
        let id_text = sheet.get(i, "account_id").trim();
        let Ok(account_id) = id_text.parse::<i64>() else {
            problems.push(problem(
                at("account_id"),
                format!("{id_text:?} is not an account id"),
            ));
            continue;
        };
        let Some(account) = known.get(&account_id) else {
            problems.push(problem(
                at("account_id"),
                format!("account {account_id} is not in this review's snapshot"),
            ));
            continue;
        };
        let decision_text = sheet.get(i, "decision").trim();
        let decision = if decision_text.is_empty() {
            problems.push(problem(
                at("decision"),
                format!("no decision for {account} (keep, disable or delete)"),
            ));
            continue;
        } else if let Some(d) = Decision::parse(decision_text) {
            d
        } else {
            problems.push(problem(
                at("decision"),
                format!("{decision_text:?} is not a decision (keep, disable or delete)"),
            ));
            continue;
        };
        let reason = sheet.get(i, "reason").trim().to_string();
        if decision.needs_reason() && reason.is_empty() {
            problems.push(problem(
                at("reason"),
                format!(
                    "{} of {account} needs a reason",
                    if decision == Decision::Delete {
                        "a delete"
                    } else {
                        "a disable"
                    }
                ),
            ));
            continue;
        }
        decided.push(Decided {
            file: file.to_string(),
            line: row.line,
            account_id,
            account: account.clone(),
            decision,
            reason,
            reviewer: sheet.get(i, "reviewer").trim().to_string(),
            decided_at: sheet.get(i, DECIDED_AT).trim().to_string(),
        });
    }
    (decided, problems)
}

/// Joins the decisions of every sheet: an account decided in several
/// sheets (`--by group`) must be decided the same way; a snapshot account
/// with no row in any sheet is a problem too. `rowed` holds the accounts
/// that have a row somewhere (decided or not): a row whose decision is
/// missing or wrong is already named where it is, not again here.
pub fn merge(
    all: Vec<Decided>,
    known: &BTreeMap<i64, String>,
    rowed: &BTreeSet<i64>,
) -> (Vec<Decided>, Vec<Problem>) {
    let mut by_id: BTreeMap<i64, Decided> = BTreeMap::new();
    let mut problems = Vec::new();
    for d in all {
        match by_id.get(&d.account_id) {
            Some(first) if first.decision != d.decision => problems.push(Problem {
                file: d.file.clone(),
                line: d.line,
                column: None,
                message: format!(
                    "{} is decided {} here and {} in {} line {}",
                    d.account,
                    d.decision.name(),
                    first.decision.name(),
                    first.file,
                    first.line
                ),
            }),
            Some(_) => {}
            None => {
                by_id.insert(d.account_id, d);
            }
        }
    }
    for (id, name) in known {
        if !by_id.contains_key(id) && !rowed.contains(id) {
            problems.push(Problem {
                file: "(every sheet)".into(),
                line: 0,
                column: None,
                message: format!("{name} ({id}) has no row in any sheet"),
            });
        }
    }
    (by_id.into_values().collect(), problems)
}

/// What changed on an account between the snapshot and now, by wire field
/// name; a field returned on only one side is not compared.
pub fn changed_since(then: &User, now: &User) -> Vec<&'static str> {
    let mut changed = Vec::new();
    fn differs<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
        matches!((a, b), (Some(a), Some(b)) if a != b)
    }
    if then.user_name != now.user_name {
        changed.push("userName");
    }
    if differs(&then.system_role, &now.system_role) {
        changed.push("systemRole");
    }
    if differs(&then.owner, &now.owner) {
        changed.push("owner");
    }
    if differs(
        &then.org_role_name().map(str::to_string),
        &now.org_role_name().map(str::to_string),
    ) {
        changed.push("ownerRoles");
    }
    if differs(&then.disabled, &now.disabled) {
        changed.push("disabled");
    }
    if differs(&then.locked, &now.locked) {
        changed.push("locked");
    }
    if then.last_login != now.last_login && now.last_login.is_some() {
        changed.push("lastLogin");
    }
    let ids = |u: &User| {
        u.user_groups.as_ref().map(|g| {
            let mut ids: Vec<i64> = g.iter().map(|g| g.id).collect();
            ids.sort_unstable();
            ids
        })
    };
    if differs(&ids(then), &ids(now)) {
        changed.push("userGroups");
    }
    if differs(&then.mfa_enabled, &now.mfa_enabled) {
        changed.push("mfaEnabled");
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn known() -> BTreeMap<i64, String> {
        BTreeMap::from([
            (1, "ann@example.com".to_string()),
            (2, "bob@example.com".to_string()),
            (3, "cat@example.com".to_string()),
        ])
    }

    fn sheet(rows: &[&str]) -> Sheet {
        let mut text = COLUMNS.join(",");
        for r in rows {
            text.push('\n');
            text.push_str(r);
        }
        Sheet::parse(&text).unwrap()
    }

    #[test]
    fn decisions_are_read_and_each_problem_named_by_line_and_column() {
        let s = sheet(&[
            "1,ann@example.com,,User,,OK,,,,,keep,,",
            "2,bob@example.com,,User,,OK,,,,,Disable,left the company,alice",
            "3,cat@example.com,,User,,OK,,,,,delete,,",
            "9,who@example.com,,User,,OK,,,,,keep,,",
            "x,,,,,,,,,,keep,,",
            "1,ann@example.com,,User,,OK,,,,,remove,,",
            "2,bob@example.com,,User,,OK,,,,,,,",
        ]);
        let (decided, problems) = decisions("soc.csv", &s, &known());
        assert_eq!(decided.len(), 2);
        assert_eq!(decided[1].decision, Decision::Disable);
        assert_eq!(decided[1].reason, "left the company");
        assert_eq!(decided[1].reviewer, "alice");
        assert_eq!(decided[1].line, 3);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "soc.csv: line 4, column 12 (reason): a delete of cat@example.com needs a reason",
                "soc.csv: line 5, column 1 (account_id): account 9 is not in this review's snapshot",
                "soc.csv: line 6, column 1 (account_id): \"x\" is not an account id",
                "soc.csv: line 7, column 11 (decision): \"remove\" is not a decision (keep, disable or delete)",
                "soc.csv: line 8, column 11 (decision): no decision for bob@example.com (keep, disable or delete)",
            ]
        );
    }

    #[test]
    fn a_sheet_without_the_decision_columns_is_refused_whole() {
        let s = Sheet::parse("account_id,account\n1,ann@example.com\n").unwrap();
        let (decided, problems) = decisions("a.csv", &s, &known());
        assert!(decided.is_empty());
        assert_eq!(problems.len(), 1);
        assert!(problems[0]
            .to_string()
            .starts_with("a.csv: line 1: the header has no decision, reason column"));
    }

    #[test]
    fn merged_decisions_must_agree_and_cover_every_account() {
        let d = |file: &str, id: i64, decision| Decided {
            file: file.into(),
            line: 2,
            account_id: id,
            account: known()[&id].clone(),
            decision,
            reason: "r".into(),
            reviewer: String::new(),
            decided_at: String::new(),
        };
        let (merged, problems) = merge(
            vec![
                d("soc.csv", 1, Decision::Keep),
                d("ir.csv", 1, Decision::Delete),
                d("soc.csv", 2, Decision::Disable),
                d("ir.csv", 2, Decision::Disable),
            ],
            &known(),
            &BTreeSet::from([1, 2]),
        );
        assert_eq!(merged.len(), 2);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "ir.csv: line 2: ann@example.com is decided delete here and keep in soc.csv line 2",
                "(every sheet): cat@example.com (3) has no row in any sheet",
            ]
        );
        // An account with a row whose decision is missing is named there
        // (by `decisions`), not a second time as having no row.
        let (_, problems) = merge(
            vec![d("soc.csv", 1, Decision::Keep)],
            &known(),
            &BTreeSet::from([1, 2, 3]),
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_sheet_round_trips_and_set_adds_a_missing_column() {
        let mut s = Sheet::new(vec![vec!["1".into(); COLUMNS.len()]]);
        s.set(0, "decision", "keep");
        s.set(0, "decided_at", "2026-11-25T12:00:00Z");
        let text = s.to_csv();
        let back = Sheet::parse(&text).unwrap();
        assert_eq!(back.get(0, "decision"), "keep");
        assert_eq!(back.get(0, "decided_at"), "2026-11-25T12:00:00Z");
        assert_eq!(back.rows[0].line, 2);
    }

    #[test]
    fn a_column_added_to_one_row_keeps_every_other_row_on_save() {
        // The console adds decided_at to the row it decides: the rows
        // around it (shorter now than the header) are written whole.
        let mut s = sheet(&[
            "1,ann@example.com,,User,,OK,,,,,,,",
            "2,bob@example.com,,User,,OK,,,,,,,",
            "3,cat@example.com,,User,,OK,,,,,,,",
        ]);
        s.set(1, "decision", "keep");
        s.set(1, DECIDED_AT, "2026-11-25T12:00:00Z");
        let back = Sheet::parse(&s.to_csv()).unwrap();
        assert_eq!(back.rows.len(), 3);
        let ids: Vec<&str> = (0..3).map(|r| back.get(r, "account_id")).collect();
        assert_eq!(ids, ["1", "2", "3"]);
        assert_eq!(back.get(1, DECIDED_AT), "2026-11-25T12:00:00Z");
        assert_eq!(back.get(2, "decision"), "");
        assert!(back.rows.iter().all(|r| r.cells.len() == back.header.len()));
        // A row saved short by a spreadsheet is padded, not dropped.
        let mut short = sheet(&[
            "1,ann@example.com",
            "2,bob@example.com,,User,,OK,,,,,keep,,",
        ]);
        let back = Sheet::parse(&short.to_csv()).unwrap();
        assert_eq!(back.rows.len(), 2);
        assert_eq!(back.get(1, "decision"), "keep");
    }

    #[test]
    fn changes_since_the_snapshot_compare_only_what_both_sides_returned() {
        let then = User {
            id: 1,
            user_name: "ann".into(),
            system_role: Some("User".into()),
            disabled: Some(false),
            last_login: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
            ..Default::default()
        };
        let mut now = then.clone();
        assert!(changed_since(&then, &now).is_empty());
        now.system_role = Some("Administrator".into());
        now.last_login = Some(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
        now.locked = Some(true); // not returned before: not compared
        assert_eq!(changed_since(&then, &now), vec!["systemRole", "lastLogin"]);
    }

    #[test]
    fn scopes_and_file_names() {
        let mut u = User {
            id: 1,
            user_name: "a".into(),
            owner: Some("Demo Org".into()),
            ..Default::default()
        };
        assert_eq!(scopes_of(&u, Scope::Org), vec!["Demo Org"]);
        assert_eq!(scopes_of(&u, Scope::Group), vec![UNKNOWN_SCOPE]);
        u.user_groups = Some(vec![]);
        assert_eq!(scopes_of(&u, Scope::Group), vec![NO_GROUP]);
        let mut taken = Vec::new();
        assert_eq!(file_stem("Demo Org", &mut taken), "demo-org");
        assert_eq!(file_stem("demo/org", &mut taken), "demo-org-2");
        assert_eq!(file_stem("../", &mut taken), "scope");
        assert_eq!(Decision::parse(" DELETE "), Some(Decision::Delete));
        assert!(!Decision::Keep.needs_reason());
    }
}

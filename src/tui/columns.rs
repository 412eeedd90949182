//! The Membership table's columns: titles, cell text, sort order, and which
//! columns fit a given width.

use super::text::{relative, short_org_role, short_system_role};
use crate::domain::{LastLoginReported, PasswordExpiry, User};
use chrono::{DateTime, Utc};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Account,
    Name,
    SystemRole,
    OrgRole,
    Status,
    LastLogin,
    PasswordExpires,
    Groups,
}

/// Width of the selection marker in front of every row.
pub const MARKER: &str = "> ";
const SPACING: u16 = 1;

impl Column {
    /// Display order.
    pub const ALL: [Column; 8] = [
        Column::Account,
        Column::Name,
        Column::SystemRole,
        Column::OrgRole,
        Column::Status,
        Column::LastLogin,
        Column::PasswordExpires,
        Column::Groups,
    ];

    /// Which columns survive when the terminal is narrow, most important first.
    const PRIORITY: [Column; 8] = [
        Column::Account,
        Column::Status,
        Column::Name,
        Column::SystemRole,
        Column::OrgRole,
        Column::LastLogin,
        Column::PasswordExpires,
        Column::Groups,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Account => "Account",
            Column::Name => "Name",
            Column::SystemRole => "System Role",
            Column::OrgRole => "Org Role",
            Column::Status => "Status",
            Column::LastLogin => "Last Login",
            Column::PasswordExpires => "Pw Expires",
            Column::Groups => "Groups",
        }
    }

    /// The name `:sort` accepts.
    pub fn key(self) -> &'static str {
        match self {
            Column::Account => "account",
            Column::Name => "name",
            Column::SystemRole => "systemrole",
            Column::OrgRole => "orgrole",
            Column::Status => "status",
            Column::LastLogin => "login",
            Column::PasswordExpires => "expires",
            Column::Groups => "groups",
        }
    }

    pub fn parse(text: &str) -> Option<Column> {
        let wanted: String = text
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        Column::ALL.into_iter().find(|c| {
            c.key() == wanted
                || c.title().replace(' ', "").eq_ignore_ascii_case(&wanted)
                || matches!(
                    (c, wanted.as_str()),
                    (Column::Account, "username" | "user")
                        | (Column::SystemRole, "role" | "sysrole")
                        | (Column::LastLogin, "lastlogin")
                        | (Column::PasswordExpires, "password" | "passwordexpires")
                )
        })
    }

    fn min_width(self) -> u16 {
        match self {
            Column::Account => 12,
            Column::Name => 12,
            Column::SystemRole => 11,
            Column::OrgRole => 12,
            Column::Status => 12,
            Column::LastLogin => 10,
            Column::PasswordExpires => 10,
            Column::Groups => 8,
        }
    }

    /// How much wider than its minimum a column usefully grows.
    fn max_extra(self) -> u16 {
        match self {
            Column::Account => 16,
            Column::Name => 12,
            Column::Groups => u16::MAX,
            _ => 0,
        }
    }

    /// The cell text, unsanitized (the view sanitizes).
    pub fn cell<'a>(
        self,
        user: &'a User,
        now: DateTime<Utc>,
        max_age: Option<i64>,
        last_login: LastLoginReported,
    ) -> CellText<'a> {
        use CellText::*;
        match self {
            Column::Account => Borrowed(&user.user_name),
            Column::Name => Owned(user.full_name()),
            Column::SystemRole => match user.system_role.as_deref() {
                Some(role) => Borrowed(short_system_role(role)),
                None => Borrowed(UNKNOWN),
            },
            Column::OrgRole => match user.org_role_name() {
                Some(role) => Borrowed(short_org_role(role)),
                None => Borrowed(UNKNOWN),
            },
            Column::Status => match (user.status(), user.mfa_enabled) {
                (Some(status), Some(true)) => Owned(format!("{} MFA", status.name())),
                (Some(status), _) => Borrowed(status.name()),
                (None, Some(true)) => Borrowed("? MFA"),
                (None, _) => Borrowed(UNKNOWN),
            },
            Column::LastLogin => match (user.days_since_login(now, last_login), user.last_login) {
                (Some(Some(_)), Some(at)) => Owned(relative(at, now)),
                (Some(_), _) => Borrowed("never"),
                (None, _) => Borrowed("unknown"),
            },
            Column::PasswordExpires => match user.password_expiry(max_age, now) {
                PasswordExpiry::DaysLeft(0) => Borrowed("today"),
                PasswordExpiry::DaysLeft(days) => Owned(format!("{days}d")),
                PasswordExpiry::Expired => Borrowed("expired"),
                PasswordExpiry::Unknown => Borrowed("unknown"),
            },
            Column::Groups => match user.group_names() {
                Some(names) if names.is_empty() => Borrowed("-"),
                Some(names) => Owned(names.join(", ")),
                None => Borrowed(UNKNOWN),
            },
        }
    }
}

/// Shown where the instance did not return a value.
pub const UNKNOWN: &str = "?";

pub enum CellText<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl CellText<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            CellText::Borrowed(s) => s,
            CellText::Owned(s) => s,
        }
    }
}

/// Columns that fit `width`, in display order with their widths. Columns
/// are taken by priority until the next one does not fit; what is left over
/// widens the flexible columns.
pub fn layout(available: &[Column], width: u16) -> Vec<(Column, u16)> {
    let mut used = MARKER.len() as u16;
    let mut chosen: Vec<Column> = Vec::new();
    for column in Column::PRIORITY {
        if !available.contains(&column) {
            continue;
        }
        let gap = if chosen.is_empty() { 0 } else { SPACING };
        let need = column.min_width() + gap;
        if used + need > width && !chosen.is_empty() {
            break;
        }
        used += need;
        chosen.push(column);
    }
    let mut widths: Vec<(Column, u16)> = Column::ALL
        .into_iter()
        .filter(|c| chosen.contains(c))
        .map(|c| (c, c.min_width()))
        .collect();
    let mut spare = width.saturating_sub(used);
    for (column, w) in widths.iter_mut() {
        let extra = column.max_extra().min(spare);
        *w += extra;
        spare -= extra;
    }
    widths
}

/// Compares two texts ignoring case, without allocating: sorting 100,000
/// accounts compares in place instead of keeping lowercased copies of every
/// name in memory.
fn caseless<'a, I>(a: I, b: I) -> Ordering
where
    I: Iterator<Item = &'a str> + Clone,
{
    // Nearly every name is ASCII: compare bytes, no Unicode case tables.
    if a.clone().all(str::is_ascii) && b.clone().all(str::is_ascii) {
        let a = a.flat_map(str::bytes).map(|c| c.to_ascii_lowercase());
        let b = b.flat_map(str::bytes).map(|c| c.to_ascii_lowercase());
        return a.cmp(b);
    }
    let a = a.flat_map(|part| part.chars().flat_map(char::to_lowercase));
    let b = b.flat_map(|part| part.chars().flat_map(char::to_lowercase));
    a.cmp(b)
}

/// "First Last", as `User::full_name` shows it, in parts.
fn name_parts(user: &User) -> impl Iterator<Item = &str> + Clone {
    let first = user.first_name.as_deref();
    let last = user.last_name.as_deref();
    let gap = (first.is_some() && last.is_some()).then_some(" ");
    first.into_iter().chain(gap).chain(last)
}

/// Group names joined by ", ", as the Groups column shows them, in parts.
fn group_parts(user: &User) -> impl Iterator<Item = &str> + Clone {
    user.user_groups
        .iter()
        .flatten()
        .enumerate()
        .flat_map(|(i, g)| [if i == 0 { "" } else { ", " }, g.name.as_str()])
}

/// Orders two accounts by `column`, ties broken by account name then id.
pub fn compare(column: Column, a: &User, b: &User) -> Ordering {
    primary(column, a, b)
        .then_with(|| {
            caseless(
                [a.user_name.as_str()].into_iter(),
                [b.user_name.as_str()].into_iter(),
            )
        })
        .then_with(|| a.id.cmp(&b.id))
}

/// The text key of a text column: comparing two keys as strings orders
/// exactly as `primary` does (lowercased chars; UTF-8 byte order is code
/// point order), so a sort computes each once instead of per comparison.
/// `None` for the other columns.
pub fn sort_text(column: Column, user: &User) -> Option<String> {
    match column {
        Column::Name => Some(caseless_key(name_parts(user))),
        Column::Groups => Some(caseless_key(group_parts(user))),
        _ => None,
    }
}

/// The account name as the tie-break compares it.
pub fn account_key(user: &User) -> String {
    caseless_key([user.user_name.as_str()].into_iter())
}

fn caseless_key<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    parts
        .flat_map(|part| part.chars().flat_map(char::to_lowercase))
        .collect()
}

/// `compare` without the tie-break.
pub fn primary(column: Column, a: &User, b: &User) -> Ordering {
    match column {
        Column::Account => Ordering::Equal,
        Column::Name => caseless(name_parts(a), name_parts(b)),
        Column::SystemRole => {
            let rank = |u: &User| u.system_role_parsed().map(|r| r.rank());
            rank(a)
                .cmp(&rank(b))
                .then_with(|| a.system_role.cmp(&b.system_role))
        }
        Column::OrgRole => a.org_role_name().cmp(&b.org_role_name()),
        Column::Status => a
            .status()
            .cmp(&b.status())
            .then_with(|| a.mfa_enabled.cmp(&b.mfa_enabled)),
        Column::LastLogin => a.last_login.cmp(&b.last_login),
        // With one max age for everyone, the order of the last change is
        // the order of expiry.
        Column::PasswordExpires => a.last_password_change.cmp(&b.last_password_change),
        Column::Groups => caseless(group_parts(a), group_parts(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(cols: &[(Column, u16)]) -> Vec<Column> {
        cols.iter().map(|c| c.0).collect()
    }

    #[test]
    fn narrow_terminals_drop_columns_by_priority() {
        let all = Column::ALL;
        let wide = layout(&all, 140);
        assert_eq!(names(&wide), all.to_vec());
        let at80 = layout(&all, 80);
        assert_eq!(
            names(&at80),
            vec![
                Column::Account,
                Column::Name,
                Column::SystemRole,
                Column::OrgRole,
                Column::Status,
                Column::LastLogin
            ]
        );
        let total: u16 = at80.iter().map(|c| c.1).sum::<u16>() + 2 + at80.len() as u16 - 1;
        assert!(total <= 80, "{total}");
        let at40 = layout(&all, 40);
        assert_eq!(
            names(&at40),
            vec![Column::Account, Column::Name, Column::Status]
        );
        let tiny = layout(&all, 10);
        assert_eq!(names(&tiny), vec![Column::Account]);
    }

    #[test]
    fn columns_parse_by_key_or_title() {
        assert_eq!(Column::parse("Last Login"), Some(Column::LastLogin));
        assert_eq!(Column::parse("orgrole"), Some(Column::OrgRole));
        assert_eq!(Column::parse("role"), Some(Column::SystemRole));
        assert_eq!(Column::parse("nope"), None);
    }
}

//! The Membership table's columns: titles, cell text, sort order, and which
//! columns fit a given width.

use super::text::{relative, short_org_role, short_system_role};
use crate::domain::text::fit;
use crate::domain::{AccountType, LastLoginReported, PasswordExpiry, User};
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Account,
    /// User, API, TAXII or Read Only (`RO`), from the System role.
    Type,
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
/// Shown in the header when columns lie off-screen to the left / right.
pub const MORE_LEFT: &str = "‹";
pub const MORE_RIGHT: &str = "›";

impl Column {
    /// The default columns in their default order, which is also the order
    /// of priority: at any width the first ones that fit are on screen and
    /// the rest lie to the right (Right scrolls to them). At 80 columns
    /// that is the account, Type, Status, Last Login, Password Expires and
    /// Groups, the Membership tab's everyday columns; Name and the roles
    /// join as the width allows. The one place this order is decided.
    pub const ALL: [Column; 9] = [
        Column::Account,
        Column::Type,
        Column::Status,
        Column::LastLogin,
        Column::PasswordExpires,
        Column::Groups,
        Column::Name,
        Column::SystemRole,
        Column::OrgRole,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Account => "Account",
            Column::Type => "Type",
            Column::Name => "Name",
            Column::SystemRole => "System Role",
            Column::OrgRole => "Org Role",
            Column::Status => "Status",
            Column::LastLogin => "Last Login",
            Column::PasswordExpires => "Pw Expires",
            Column::Groups => "Groups",
        }
    }

    /// The name `:sort`, `:columns` and the config file use.
    pub fn key(self) -> &'static str {
        match self {
            Column::Account => "account",
            Column::Type => "type",
            Column::Name => "name",
            Column::SystemRole => "systemrole",
            Column::OrgRole => "orgrole",
            Column::Status => "status",
            Column::LastLogin => "login",
            Column::PasswordExpires => "expires",
            Column::Groups => "groups",
        }
    }

    /// A column by its key, its header title or a common abbreviation,
    /// ignoring case, spaces and punctuation.
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
                    (Column::Account, "username" | "user" | "acct" | "id")
                        | (Column::Type, "kind" | "accounttype")
                        | (Column::Name, "lastname" | "surname" | "fullname")
                        | (Column::SystemRole, "role" | "sysrole" | "system")
                        | (
                            Column::OrgRole,
                            "org" | "organizationrole" | "organisationrole"
                        )
                        | (Column::Status, "mfa" | "state")
                        | (Column::LastLogin, "lastlogin" | "last")
                        | (
                            Column::PasswordExpires,
                            "password" | "passwordexpires" | "expiry" | "pw"
                        )
                        | (Column::Groups, "group" | "usergroups")
                )
        })
    }

    fn min_width(self) -> u16 {
        match self {
            Column::Account => 16,
            Column::Type => 5,
            Column::Name => 12,
            Column::SystemRole => 11,
            Column::OrgRole => 12,
            Column::Status => 12,
            Column::LastLogin => 10,
            Column::PasswordExpires => 10,
            Column::Groups => 8,
        }
    }

    /// How much wider than its minimum a column usefully grows (24 columns
    /// hold a 20-digit API access id and most e-mail addresses).
    fn max_extra(self) -> u16 {
        match self {
            Column::Account => 8,
            Column::Name => 12,
            Column::Groups => u16::MAX,
            _ => 0,
        }
    }

    /// Order of the account types in a Type sort.
    pub(crate) fn type_rank(user: &User) -> u8 {
        match user.account_type() {
            Some(AccountType::User) => 0,
            Some(AccountType::Api) => 1,
            Some(AccountType::Taxii) => 2,
            Some(AccountType::ReadOnly) => 3,
            None => 4,
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
            Column::Type => Borrowed(type_label(user.account_type())),
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

/// The Type column's text ("RO" is Read Only: five columns hold every type).
pub fn type_label(kind: Option<AccountType>) -> &'static str {
    match kind {
        Some(AccountType::User) => "User",
        Some(AccountType::Api) => "API",
        Some(AccountType::Taxii) => "TAXII",
        Some(AccountType::ReadOnly) => "RO",
        None => UNKNOWN,
    }
}

/// `text` cut to `width` columns, ending in `…`. A long numeric id (an API
/// or TAXII access id) keeps its end instead, `…33334444`: access ids
/// share their leading digits, so a cut that kept the start would make
/// two different ids look the same.
pub fn fit_cell(column: Column, text: &str, width: usize) -> Cow<'_, str> {
    let numeric = text.len() > 1 && text.bytes().all(|b| b.is_ascii_digit());
    if column != Column::Account || !numeric || text.len() <= width {
        return fit(text, width);
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    // Digits are one column each.
    Cow::Owned(format!("…{}", &text[text.len() - (width - 1)..]))
}

/// The columns on screen at one width and scroll position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// In display order, with their widths.
    pub columns: Vec<(Column, u16)>,
    /// Columns lie off-screen to the left (scrolled past) or to the right.
    pub more_left: bool,
    pub more_right: bool,
}

/// Lays out `shown` (in order; the account column, when first, stays put)
/// in `width`, the columns after the account scrolled by `scroll`: columns
/// are taken in order until the next one does not fit, and what is left
/// widens the flexible columns. The last terminal column is kept free for
/// the `›` marker.
pub fn layout(shown: &[Column], scroll: usize, width: u16) -> Layout {
    let width = width.saturating_sub(1);
    let (pinned, rest) = match shown.split_first() {
        Some((Column::Account, rest)) => (Some(Column::Account), rest),
        _ => (None, shown),
    };
    let scroll = scroll.min(rest.len().saturating_sub(1));
    let mut used = MARKER.len() as u16;
    let mut chosen: Vec<Column> = pinned.into_iter().collect();
    if let Some(column) = pinned {
        used += column.min_width();
    }
    let mut taken = 0;
    for &column in &rest[scroll..] {
        let gap = if chosen.is_empty() { 0 } else { SPACING };
        let need = column.min_width() + gap;
        if used + need > width && !chosen.is_empty() {
            break;
        }
        used += need;
        chosen.push(column);
        taken += 1;
    }
    let mut columns: Vec<(Column, u16)> = chosen.iter().map(|c| (*c, c.min_width())).collect();
    let mut spare = width.saturating_sub(used);
    for (column, w) in columns.iter_mut() {
        let extra = column.max_extra().min(spare);
        *w += extra;
        spare -= extra;
    }
    Layout {
        columns,
        more_left: scroll > 0,
        more_right: scroll + taken < rest.len(),
    }
}

/// The columns named in the config file, in order, the account first:
/// unknown names are left out, as are repeats.
pub fn from_keys(keys: &[String]) -> Vec<Column> {
    let mut out = vec![Column::Account];
    for key in keys {
        if let Some(column) = Column::parse(key) {
            if !out.contains(&column) {
                out.push(column);
            }
        }
    }
    out
}

/// The config file's names of `columns`.
pub fn to_keys(columns: &[Column]) -> Vec<String> {
    columns.iter().map(|c| c.key().to_string()).collect()
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

/// Group names joined by ", ", as the Groups column shows them, in parts.
fn group_parts(user: &User) -> impl Iterator<Item = &str> + Clone {
    user.user_groups
        .iter()
        .flatten()
        .enumerate()
        .flat_map(|(i, g)| [if i == 0 { "" } else { ", " }, g.name.as_str()])
}

/// One name part, for `caseless`.
fn part(value: &Option<String>) -> std::array::IntoIter<&str, 1> {
    [value.as_deref().unwrap_or("")].into_iter()
}

/// The last name, or the first name when there is no other.
fn surname(user: &User) -> std::array::IntoIter<&str, 1> {
    part(if user.last_name.is_some() {
        &user.last_name
    } else {
        &user.first_name
    })
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
        // As `primary`: accounts without a name last, then the last name
        // (or the lone first name), then the first name; '\0' separates the
        // parts so a shorter last name sorts first, as comparing parts does.
        Column::Name => {
            let nameless = user.first_name.is_none() && user.last_name.is_none();
            let mut key = String::from(if nameless { "1" } else { "0" });
            key.push_str(&caseless_key(surname(user)));
            key.push('\0');
            key.push_str(&caseless_key(part(&user.first_name)));
            Some(key)
        }
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
        // Last name (the first name when there is no other), then first
        // name; accounts without a name after the rest.
        Column::Name => {
            let nameless = |u: &User| u.first_name.is_none() && u.last_name.is_none();
            nameless(a)
                .cmp(&nameless(b))
                .then_with(|| caseless(surname(a), surname(b)))
                .then_with(|| caseless(part(&a.first_name), part(&b.first_name)))
        }
        Column::Type => Column::type_rank(a).cmp(&Column::type_rank(b)),
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
    fn narrow_terminals_keep_the_columns_of_priority_and_scroll_to_the_rest() {
        let all = Column::ALL;
        let wide = layout(&all, 0, 160);
        assert_eq!(names(&wide.columns), all.to_vec());
        assert!(!wide.more_left && !wide.more_right);
        let at80 = layout(&all, 0, 80);
        assert_eq!(
            names(&at80.columns),
            vec![
                Column::Account,
                Column::Type,
                Column::Status,
                Column::LastLogin,
                Column::PasswordExpires,
                Column::Groups,
            ]
        );
        assert!(at80.more_right && !at80.more_left);
        let total: u16 = at80.columns.iter().map(|c| c.1).sum::<u16>() + 2 + 5;
        assert!(total < 80, "{total}");
        // A 20-digit access id fits whole at 80 columns.
        assert!(at80.columns[0].1 >= 20);
        // Scrolled: the account stays, the others move.
        let scrolled = layout(&all, 4, 80);
        assert_eq!(scrolled.columns[0].0, Column::Account);
        assert_eq!(scrolled.columns[1].0, Column::Groups);
        assert!(scrolled.more_left);
        assert!(names(&scrolled.columns).contains(&Column::OrgRole));
        assert!(!scrolled.more_right);
        let at40 = layout(&all, 0, 40);
        assert_eq!(
            names(&at40.columns),
            vec![Column::Account, Column::Type, Column::Status]
        );
        let tiny = layout(&all, 0, 10);
        assert_eq!(names(&tiny.columns), vec![Column::Account]);
        assert!(layout(&all, 99, 0).columns.len() <= 2);
    }

    #[test]
    fn long_ids_keep_their_end_and_text_ends_in_an_ellipsis() {
        let a = fit_cell(Column::Account, "10000000000012000915", 12);
        let b = fit_cell(Column::Account, "10000000000026000915", 12);
        assert_eq!(a, "…00012000915");
        assert_ne!(a, b);
        assert_eq!(
            fit_cell(Column::Account, "yuki.walsh126@example.com", 12),
            "yuki.walsh1…"
        );
        assert_eq!(fit_cell(Column::Name, "12345678901234", 5), "1234…");
        assert_eq!(fit_cell(Column::Account, "123", 5), "123");
        assert_eq!(fit_cell(Column::Account, "123456", 0), "");
    }

    #[test]
    fn config_names_round_trip_with_the_account_first() {
        let columns = from_keys(&[
            "status".into(),
            "Pw Expires".into(),
            "nope".into(),
            "status".into(),
        ]);
        assert_eq!(
            columns,
            vec![Column::Account, Column::Status, Column::PasswordExpires]
        );
        assert_eq!(from_keys(&to_keys(&Column::ALL)), Column::ALL.to_vec());
    }

    #[test]
    fn columns_parse_by_key_or_title() {
        assert_eq!(Column::parse("Last Login"), Some(Column::LastLogin));
        assert_eq!(Column::parse("orgrole"), Some(Column::OrgRole));
        assert_eq!(Column::parse("role"), Some(Column::SystemRole));
        assert_eq!(Column::parse("nope"), None);
        for column in Column::ALL {
            assert_eq!(Column::parse(column.title()), Some(column));
            assert_eq!(Column::parse(&column.title().to_uppercase()), Some(column));
            assert_eq!(Column::parse(column.key()), Some(column));
        }
        assert_eq!(Column::parse("pw"), Some(Column::PasswordExpires));
        assert_eq!(Column::parse("TYPE"), Some(Column::Type));
    }
}

//! The filter language of `users list --filter` and the console's `/`,
//! parsed once here. Sent as TQL where the instance supports it, evaluated
//! locally otherwise, with the same answer either way.
//!
//! Syntax: whitespace-separated terms, all of which must match.
//! - free words (or "quoted phrases") match user name, first and last name, pseudonym
//! - `status:ok|locked|disabled`, `role:"Read Only User"` (System role),
//!   `orgrole:NAME`, `group:NAME`, `type:user|api|taxii|readonly`,
//!   `login>90d` (a known last login more than 90 days ago; never is not
//!   stale), `login<7d`, `login:never`, `mfa:on|off`

use super::account::{LastLoginReported, Status, User};
use super::roles::{AccountType, OrgRole, SystemRole};
use super::tql::quote;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// What local evaluation needs besides the account.
#[derive(Debug, Clone, Copy)]
pub struct MatchContext {
    pub now: DateTime<Utc>,
    /// Whether an absent last login means "never" for this listing.
    pub last_login: LastLoginReported,
}

/// What the instance supports for translating to TQL.
#[derive(Debug, Clone, Default)]
pub struct TqlSupport {
    /// TQL keywords the instance lists (`OPTIONS /v3/security/users/tql`).
    pub keywords: BTreeSet<String>,
    /// Group name (lowercase) to id, for `group:NAME` -> `groupId = ID`.
    pub group_ids: BTreeMap<String, i64>,
}

/// One parsed term of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A free word or phrase, lowercased; matched against `search_text`.
    Word(String),
    Status(Status),
    Role(SystemRole),
    OrgRole(OrgRole),
    /// A user group name, lowercased.
    Group(String),
    Type(AccountType),
    /// `login>Nd`: a known last login more than N days ago (never-logged-in
    /// accounts match only `login:never`).
    NoLoginFor(i64),
    /// `login<Nd`: logged in within the last N days.
    LoginWithin(i64),
    /// `login:never`.
    NeverLoggedIn,
    /// `mfa:on` / `mfa:off`.
    Mfa(bool),
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    terms: Vec<Term>,
    /// One searcher per `Term::Word`, in the order the words appear in
    /// `terms`, built once at parse (the hot path only runs them).
    word_finders: Vec<memchr::memmem::Finder<'static>>,
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        self.terms == other.terms
    }
}

const KNOWN_KEYS: &str = "status, role, orgrole, group, type, login, mfa";

/// Separates free-word fields in `search_text`, so a phrase never matches
/// across two fields.
const FIELD_SEPARATOR: char = '\u{1f}';

/// One whitespace-separated token, with quotes removed.
struct Token {
    text: String,
    /// Position and character of the first unquoted `:`, `<` or `>` that
    /// precedes any quote: the key/value separator.
    separator: Option<(usize, char)>,
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(tokens);
        }
        let mut token = Token {
            text: String::new(),
            separator: None,
        };
        let mut seen_quote = false;
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            if c == '"' {
                seen_quote = true;
                let mut closed = false;
                for q in chars.by_ref() {
                    if q == '"' {
                        closed = true;
                        break;
                    }
                    token.text.push(q);
                }
                if !closed {
                    return Err(FilterError("unterminated quote in filter".into()));
                }
                continue;
            }
            if !seen_quote && token.separator.is_none() && matches!(c, ':' | '<' | '>') {
                token.separator = Some((token.text.len(), c));
            }
            token.text.push(c);
        }
        tokens.push(token);
    }
}

fn bad_value(key: &str, value: &str, expected: &str) -> FilterError {
    FilterError(format!(
        "bad value '{value}' for {key} (expected {expected})"
    ))
}

fn parse_days(value: &str) -> Option<i64> {
    let digits = value
        .strip_suffix('d')
        .or_else(|| value.strip_suffix('D'))
        .unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn names_of<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> String {
    all.iter()
        .map(|r| format!("\"{}\"", name(*r)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_term(token: Token) -> Result<Term, FilterError> {
    let Some((at, sep)) = token.separator else {
        if token.text.is_empty() {
            return Err(FilterError("empty quoted phrase in filter".into()));
        }
        // Control characters never reach a word, so a word can match
        // neither the field separators nor the role codes.
        let word: String = token
            .text
            .to_lowercase()
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        if word.is_empty() {
            return Err(FilterError("empty word in filter".into()));
        }
        return Ok(Term::Word(word));
    };
    let key = token.text[..at].to_ascii_lowercase();
    let value = token.text[at + sep.len_utf8()..].trim();
    if key.is_empty() {
        return Err(FilterError(format!(
            "missing filter key before '{sep}' in '{}'",
            token.text
        )));
    }
    let login_forms = "login>Nd, login<Nd or login:never";
    if sep != ':' {
        if key != "login" {
            if !KNOWN_KEYS.split(", ").any(|k| k == key) {
                return Err(FilterError(format!(
                    "unknown filter key '{key}' (known: {KNOWN_KEYS})"
                )));
            }
            return Err(FilterError(format!(
                "'{sep}' works only with login ({login_forms}); use {key}:VALUE"
            )));
        }
        let days = parse_days(value).ok_or_else(|| bad_value("login", value, login_forms))?;
        return Ok(if sep == '>' {
            Term::NoLoginFor(days)
        } else {
            Term::LoginWithin(days)
        });
    }
    if value.is_empty() && key != "login" && KNOWN_KEYS.split(", ").any(|k| k == key) {
        return Err(FilterError(format!("missing value after '{key}:'")));
    }
    match key.as_str() {
        "status" => match value.to_ascii_lowercase().as_str() {
            "ok" => Ok(Term::Status(Status::Ok)),
            "locked" => Ok(Term::Status(Status::Locked)),
            "disabled" => Ok(Term::Status(Status::Disabled)),
            _ => Err(bad_value("status", value, "ok, locked or disabled")),
        },
        "role" => SystemRole::parse(value).map(Term::Role).ok_or_else(|| {
            bad_value(
                "role",
                value,
                &format!(
                    "a System role: {}",
                    names_of(SystemRole::ALL, SystemRole::name)
                ),
            )
        }),
        "orgrole" => OrgRole::parse(value).map(Term::OrgRole).ok_or_else(|| {
            bad_value(
                "orgrole",
                value,
                &format!(
                    "an Organization role: {}",
                    names_of(OrgRole::ALL, OrgRole::name)
                ),
            )
        }),
        "group" => Ok(Term::Group(value.to_lowercase())),
        "type" => AccountType::from_key(value)
            .map(Term::Type)
            .ok_or_else(|| bad_value("type", value, "user, api, taxii or readonly")),
        "login" => {
            if value.eq_ignore_ascii_case("never") {
                Ok(Term::NeverLoggedIn)
            } else {
                Err(bad_value("login", value, login_forms))
            }
        }
        "mfa" => match value.to_ascii_lowercase().as_str() {
            "on" | "yes" | "true" => Ok(Term::Mfa(true)),
            "off" | "no" | "false" => Ok(Term::Mfa(false)),
            _ => Err(bad_value("mfa", value, "on or off")),
        },
        _ => Err(FilterError(format!(
            "unknown filter key '{key}' (known: {KNOWN_KEYS})"
        ))),
    }
}

/// `search_text` ends with this marker and two code characters: the
/// parsed System role and Organization role, so the hot path compares
/// bytes instead of parsing role names for every account.
const ROLE_CODES_MARKER: u8 = 0x1e;
/// The code of an absent or unfamiliar role.
const UNKNOWN_ROLE_CODE: u8 = 0x0f;

/// A control character (never in a filter word) standing for a role.
fn code_of<T: PartialEq + Copy>(all: &[T], role: Option<T>) -> u8 {
    role.and_then(|r| all.iter().position(|x| *x == r))
        .map_or(UNKNOWN_ROLE_CODE, |i| i as u8 + 1)
}

fn role_of_code(code: u8) -> Option<SystemRole> {
    SystemRole::ALL
        .get(usize::from(code).checked_sub(1)?)
        .copied()
}

/// The role codes at the end of a `search_text`, if it has them.
fn role_codes(search_text: &str) -> Option<(u8, u8)> {
    match search_text.as_bytes() {
        [.., ROLE_CODES_MARKER, system, org] => Some((*system, *org)),
        _ => None,
    }
}

/// `a` (any case) equals `lower` (already lowercase), without allocating.
fn eq_lowercased(a: &str, lower: &str) -> bool {
    let mut folded = a.chars().flat_map(char::to_lowercase);
    let mut expected = lower.chars();
    loop {
        match (folded.next(), expected.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y => continue,
            _ => return false,
        }
    }
}

/// A TQL date literal as tcex writes it (`user_filter.py`:
/// `strftime('%Y-%m-%d %H:%M:%S')`), in UTC; the docs show no `T...Z` form.
fn tql_date(at: DateTime<Utc>) -> String {
    format!("\"{}\"", at.format("%Y-%m-%d %H:%M:%S"))
}

impl Term {
    fn matches(&self, user: &User, search_text: &str, ctx: &MatchContext) -> bool {
        match self {
            Term::Word(word) => search_text.contains(word.as_str()),
            Term::Status(status) => user.status() == Some(*status),
            Term::Role(role) => match role_codes(search_text) {
                Some((system, _)) => system == code_of(SystemRole::ALL, Some(*role)),
                None => user.system_role_parsed() == Some(*role),
            },
            Term::OrgRole(role) => match role_codes(search_text) {
                Some((_, org)) => org == code_of(OrgRole::ALL, Some(*role)),
                None => user.org_role() == Some(*role),
            },
            Term::Group(name) => user
                .user_groups
                .as_ref()
                .is_some_and(|groups| groups.iter().any(|g| eq_lowercased(&g.name, name))),
            Term::Type(kind) => match role_codes(search_text) {
                Some((system, _)) => {
                    role_of_code(system).is_some_and(|r| AccountType::of(r) == *kind)
                }
                None => user.account_type() == Some(*kind),
            },
            Term::NoLoginFor(days) => {
                user.no_login_for(*days, ctx.now, ctx.last_login) == Some(true)
            }
            Term::LoginWithin(days) => matches!(
                user.days_since_login(ctx.now, ctx.last_login),
                Some(Some(since)) if since < *days
            ),
            Term::NeverLoggedIn => user.days_since_login(ctx.now, ctx.last_login) == Some(None),
            Term::Mfa(on) => user.mfa_enabled == Some(*on),
        }
    }

    /// Relative cost of evaluating the term on one account.
    fn cost(&self) -> u8 {
        match self {
            Term::Status(_) | Term::Mfa(_) => 0,
            Term::Role(_) | Term::Type(_) => 1,
            Term::NoLoginFor(_) | Term::LoginWithin(_) | Term::NeverLoggedIn => 2,
            Term::OrgRole(_) => 3,
            Term::Group(_) => 4,
            Term::Word(_) => 5,
        }
    }

    fn needs_search_text(&self) -> bool {
        matches!(self, Term::Word(_))
    }

    /// The TQL whose matches include every account this term matches
    /// locally, or `None` when the instance cannot express that.
    fn to_tql(&self, support: &TqlSupport, ctx: &MatchContext) -> Option<String> {
        let has = |k: &str| support.keywords.contains(k);
        match self {
            // TQL here has only `and`; a word matches any of four fields.
            Term::Word(_) => None,
            Term::Status(Status::Disabled) if has("disabled") => Some("disabled = true".into()),
            Term::Status(Status::Locked) if has("disabled") && has("locked") => {
                Some("locked = true and disabled = false".into())
            }
            Term::Status(Status::Ok) if has("disabled") && has("locked") => {
                Some("disabled = false and locked = false".into())
            }
            Term::Status(_) => None,
            Term::Role(role) if has("systemRole") => {
                Some(format!("systemRole = {}", quote(role.name())))
            }
            Term::Type(kind) if has("systemRole") => {
                let roles: Vec<SystemRole> = SystemRole::ALL
                    .iter()
                    .copied()
                    .filter(|r| AccountType::of(*r) == *kind)
                    .collect();
                if let [only] = roles.as_slice() {
                    Some(format!("systemRole = {}", quote(only.name())))
                } else {
                    let list: Vec<String> = roles.iter().map(|r| quote(r.name())).collect();
                    Some(format!("systemRole IN ({})", list.join(",")))
                }
            }
            Term::OrgRole(role) if has("orgRole") => {
                Some(format!("orgRole = {}", quote(role.name())))
            }
            Term::Group(name) if has("groupId") => support
                .group_ids
                .get(name)
                .map(|id| format!("groupId = {id}")),
            // A null lastLogin never matches `lastLogin > X`, and never
            // matches locally either.
            Term::LoginWithin(days) if has("lastLogin") => {
                let since = ctx.now - chrono::Duration::days(*days);
                Some(format!("lastLogin > {}", tql_date(since)))
            }
            // `login>Nd` and `login:never` stay local: only the whole
            // answer shows whether an absent lastLogin means "never" or
            // "not returned".
            Term::Mfa(on) if has("mfaEnabled") => Some(format!("mfaEnabled = {on}")),
            _ => None,
        }
    }
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let mut terms = tokenize(text)?
            .into_iter()
            .map(parse_term)
            .collect::<Result<Vec<_>, _>>()?;
        // Cheap tests first: `matches` stops at the first term that fails.
        terms.sort_by_key(Term::cost);
        let word_finders = terms
            .iter()
            .filter_map(|t| match t {
                Term::Word(word) => Some(memchr::memmem::Finder::new(word.as_bytes()).into_owned()),
                _ => None,
            })
            .collect();
        Ok(Filter {
            terms,
            word_finders,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// True when every account this filter matches is also matched by
    /// `previous` (at the same moment), so a caller may narrow the previous
    /// result instead of scanning everything again: typing one more letter
    /// of a word, or adding a term.
    pub fn narrows(&self, previous: &Filter) -> bool {
        previous.terms.iter().all(|old| {
            self.terms.iter().any(|new| match (new, old) {
                // A text containing the longer word contains the shorter.
                (Term::Word(new), Term::Word(old)) => new.contains(old.as_str()),
                _ => new == old,
            })
        })
    }

    /// True when a term needs the `userGroups` extension field.
    pub fn needs_groups(&self) -> bool {
        self.terms.iter().any(|t| matches!(t, Term::Group(_)))
    }

    /// True when a term depends on last logins.
    pub fn needs_last_login(&self) -> bool {
        self.terms.iter().any(|t| {
            matches!(
                t,
                Term::NoLoginFor(_) | Term::LoginWithin(_) | Term::NeverLoggedIn
            )
        })
    }

    /// True when a term needs the `mfaEnabled` extension field.
    pub fn needs_mfa(&self) -> bool {
        self.terms.iter().any(|t| matches!(t, Term::Mfa(_)))
    }

    /// Why this filter cannot be answered on an instance that does not
    /// report MFA status or group membership: a term over a field nobody
    /// returned would match no account, a wrong answer ("none") where the
    /// truth is "unknown". `None` when every term can be answered.
    pub fn unanswerable(&self, mfa_reported: bool, groups_reported: bool) -> Option<&'static str> {
        if self.needs_groups() && !groups_reported {
            return Some("this instance does not report user groups, so group: cannot be used");
        }
        if self.needs_mfa() && !mfa_reported {
            return Some("this instance does not report MFA status, so mfa: cannot be used");
        }
        None
    }

    /// Lowercased text that free words are matched against (user name,
    /// full name, pseudonym), ending in codes for the account's System and
    /// Organization roles; callers that filter the same accounts many
    /// times compute it once per account (and again when it changes).
    pub fn search_text(user: &User) -> String {
        // First and last name share one field so "john smith" matches.
        let mut text = user.user_name.to_lowercase();
        text.push(FIELD_SEPARATOR);
        text.push_str(&user.full_name().to_lowercase());
        if let Some(pseudonym) = &user.pseudonym {
            text.push(FIELD_SEPARATOR);
            text.push_str(&pseudonym.to_lowercase());
        }
        text.push(char::from(ROLE_CODES_MARKER));
        text.push(char::from(code_of(
            SystemRole::ALL,
            user.system_role_parsed(),
        )));
        text.push(char::from(code_of(OrgRole::ALL, user.org_role())));
        text
    }

    pub fn matches(&self, user: &User, ctx: &MatchContext) -> bool {
        if self.terms.iter().any(Term::needs_search_text) {
            self.matches_indexed(user, &Filter::search_text(user), ctx)
        } else {
            self.matches_indexed(user, "", ctx)
        }
    }

    /// As `matches`, with `search_text` precomputed (the hot path).
    pub fn matches_indexed(&self, user: &User, search_text: &str, ctx: &MatchContext) -> bool {
        let mut finders = self.word_finders.iter();
        self.terms.iter().all(|term| match term {
            Term::Word(_) => finders
                .next()
                .is_some_and(|finder| finder.find(search_text.as_bytes()).is_some()),
            other => other.matches(user, search_text, ctx),
        })
    }

    /// The part of the filter expressible as TQL on this instance (terms
    /// joined by `and`), or `None`. The caller still applies `matches`
    /// locally, so a partial translation never changes the answer.
    pub fn to_tql(&self, support: &TqlSupport, ctx: &MatchContext) -> Option<String> {
        let parts: Vec<String> = self
            .terms
            .iter()
            .filter_map(|t| t.to_tql(support, ctx))
            .collect();
        if parts.is_empty() {
            None
        } else {
            Some(parts.join(" and "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::account::GroupRef;
    use chrono::TimeZone;

    fn ctx() -> MatchContext {
        MatchContext {
            now: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap(),
            last_login: LastLoginReported::Returned,
        }
    }

    fn days_ago(days: i64) -> DateTime<Utc> {
        ctx().now - chrono::Duration::days(days) - chrono::Duration::hours(1)
    }

    struct Spec {
        name: &'static str,
        first: &'static str,
        role: &'static str,
        org_role: &'static str,
        disabled: bool,
        locked: bool,
        login_days: Option<i64>,
        groups: &'static [&'static str],
        mfa: bool,
    }

    fn full(spec: Spec) -> User {
        User {
            id: spec.name.len() as i64,
            user_name: spec.name.into(),
            first_name: Some(spec.first.into()),
            last_name: Some("Smith".into()),
            pseudonym: Some(format!("{}-p", spec.first)),
            owner: Some("Demo Organization".into()),
            system_role: Some(spec.role.into()),
            owner_roles: Some(
                [("Demo Organization".to_string(), spec.org_role.to_string())]
                    .into_iter()
                    .collect(),
            ),
            disabled: Some(spec.disabled),
            locked: Some(spec.locked),
            last_login: spec.login_days.map(days_ago),
            user_groups: Some(
                spec.groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| GroupRef {
                        id: group_id(g).unwrap_or(100 + i as i64),
                        name: g.to_string(),
                    })
                    .collect(),
            ),
            mfa_enabled: Some(spec.mfa),
            ..Default::default()
        }
    }

    fn group_id(name: &str) -> Option<i64> {
        match name.to_lowercase().as_str() {
            "soc team" => Some(1),
            "ir team" => Some(2),
            _ => None,
        }
    }

    fn basic(name: &str, first: &str) -> User {
        User {
            id: 999,
            user_name: name.into(),
            first_name: Some(first.into()),
            owner: Some("Demo Organization".into()),
            ..Default::default()
        }
    }

    fn users() -> Vec<User> {
        vec![
            full(Spec {
                name: "smithj@example.com",
                first: "John",
                role: "Administrator",
                org_role: "Organization Administrator",
                disabled: false,
                locked: false,
                login_days: Some(2),
                groups: &["SOC Team"],
                mfa: true,
            }),
            full(Spec {
                name: "jonesp@example.com",
                first: "Pat",
                role: "User",
                org_role: "Standard User",
                disabled: false,
                locked: true,
                login_days: Some(120),
                groups: &["IR Team", "SOC Team"],
                mfa: false,
            }),
            full(Spec {
                name: "11112222333344445555",
                first: "Api",
                role: "Api User",
                org_role: "Organization Administrator",
                disabled: false,
                locked: false,
                login_days: None,
                groups: &[],
                mfa: false,
            }),
            full(Spec {
                name: "exchange",
                first: "Ex",
                role: "Exchange Admin",
                org_role: "Standard User",
                disabled: true,
                locked: true,
                login_days: Some(91),
                groups: &[],
                mfa: false,
            }),
            full(Spec {
                name: "taxii-feed",
                first: "Feed",
                role: "Taxii User",
                org_role: "Standard User",
                disabled: true,
                locked: false,
                login_days: Some(90),
                groups: &["Ünïcode Group"],
                mfa: true,
            }),
            full(Spec {
                name: "auditor@example.com",
                first: "Ann",
                role: "Read Only User",
                org_role: "Read Only Commenter",
                disabled: false,
                locked: false,
                login_days: Some(6),
                groups: &["IR Team"],
                mfa: true,
            }),
            full(Spec {
                name: "o'brien\"x\\y",
                first: "Quote",
                role: "Super User",
                org_role: "Organization Administrator",
                disabled: false,
                locked: false,
                login_days: Some(7),
                groups: &[],
                mfa: false,
            }),
            basic("basic@example.com", "Basil"),
        ]
    }

    fn names(filter: &str) -> Vec<String> {
        let f = Filter::parse(filter).unwrap();
        users()
            .iter()
            .filter(|u| f.matches(u, &ctx()))
            .map(|u| u.user_name.clone())
            .collect()
    }

    #[test]
    fn empty_filter_matches_everything() {
        let f = Filter::parse("   ").unwrap();
        assert!(f.is_empty());
        assert_eq!(names("").len(), users().len());
        assert_eq!(f.to_tql(&all_support(), &ctx()), None);
    }

    #[test]
    fn free_words_and_phrases_match_name_fields_case_insensitively() {
        assert_eq!(names("JOHN"), ["smithj@example.com"]);
        assert_eq!(names("basil"), ["basic@example.com"]);
        assert_eq!(names("feed-p"), ["taxii-feed"]);
        assert_eq!(names("\"john smith\""), ["smithj@example.com"]);
        assert_eq!(
            names("example smith"),
            [
                "smithj@example.com",
                "jonesp@example.com",
                "auditor@example.com"
            ]
        );
        // a phrase never spans two fields
        assert!(names("\"example.comjohn\"").is_empty());
    }

    #[test]
    fn status_terms_and_unknown_data() {
        assert_eq!(names("status:disabled"), ["exchange", "taxii-feed"]);
        assert_eq!(names("status:locked"), ["jonesp@example.com"]);
        assert_eq!(names("STATUS:OK").len(), 4);
        // the basic-fields account matches no status at all
        for s in ["ok", "locked", "disabled"] {
            assert!(!names(&format!("status:{s}")).contains(&"basic@example.com".to_string()));
        }
    }

    #[test]
    fn role_type_orgrole_group_mfa() {
        assert_eq!(names("role:\"read only user\""), ["auditor@example.com"]);
        assert_eq!(names("type:api"), ["11112222333344445555", "exchange"]);
        assert_eq!(names("type:taxii"), ["taxii-feed"]);
        assert_eq!(names("type:readonly"), ["auditor@example.com"]);
        assert_eq!(
            names("type:user"),
            ["smithj@example.com", "jonesp@example.com", "o'brien\"x\\y"]
        );
        assert_eq!(
            names("orgrole:\"organization administrator\""),
            [
                "smithj@example.com",
                "11112222333344445555",
                "o'brien\"x\\y"
            ]
        );
        assert_eq!(
            names("group:\"soc team\""),
            ["smithj@example.com", "jonesp@example.com"]
        );
        assert_eq!(names("group:\"ÜNÏCODE GROUP\""), ["taxii-feed"]);
        assert_eq!(names("mfa:off").len(), 4);
        assert_eq!(names("mfa:on group:\"ir team\""), ["auditor@example.com"]);
    }

    #[test]
    fn login_terms() {
        // a known last login more than 90 whole days ago; never logged in
        // and unknown (basic fields) do not match
        assert_eq!(names("login>90d"), ["jonesp@example.com", "exchange"]);
        assert_eq!(
            names("login<7d"),
            ["smithj@example.com", "auditor@example.com"]
        );
        assert_eq!(names("login:never"), ["11112222333344445555"]);
        assert_eq!(names("login>90"), names("login>90d"));
    }

    #[test]
    fn parse_errors_are_one_clear_line() {
        let err = |s: &str| Filter::parse(s).unwrap_err().0;
        assert_eq!(
            err("foo:bar"),
            "unknown filter key 'foo' (known: status, role, orgrole, group, type, login, mfa)"
        );
        assert_eq!(
            err("status:gone"),
            "bad value 'gone' for status (expected ok, locked or disabled)"
        );
        assert!(err("role:Boss")
            .starts_with("bad value 'Boss' for role (expected a System role: \"Administrator\""));
        assert!(err("type:robot").contains("user, api, taxii or readonly"));
        assert!(err("login>soon").contains("login>Nd, login<Nd or login:never"));
        assert!(err("login:yesterday").contains("login:never"));
        assert!(err("status>3").contains("works only with login"));
        assert_eq!(err("\"open"), "unterminated quote in filter");
        assert_eq!(err("mfa:"), "missing value after 'mfa:'");
        for e in [err("foo:bar"), err("role:Boss"), err("\"open")] {
            assert!(!e.contains('\n'));
        }
    }

    fn all_support() -> TqlSupport {
        TqlSupport {
            keywords: [
                "userName",
                "systemRole",
                "disabled",
                "locked",
                "lastLogin",
                "groupId",
                "orgRole",
                "mfaEnabled",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            group_ids: [("soc team".to_string(), 1), ("ir team".to_string(), 2)]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn tql_translation() {
        let tql = |f: &str, support: &TqlSupport| Filter::parse(f).unwrap().to_tql(support, &ctx());
        let s = all_support();
        assert_eq!(
            tql("status:disabled", &s).as_deref(),
            Some("disabled = true")
        );
        assert_eq!(
            tql("status:locked", &s).as_deref(),
            Some("locked = true and disabled = false")
        );
        assert_eq!(
            tql("status:ok", &s).as_deref(),
            Some("disabled = false and locked = false")
        );
        assert_eq!(
            tql("role:\"read only user\"", &s).as_deref(),
            Some("systemRole = \"Read Only User\"")
        );
        assert_eq!(
            tql("type:api", &s).as_deref(),
            Some("systemRole IN (\"Api User\",\"Exchange Admin\")")
        );
        assert_eq!(
            tql("type:taxii", &s).as_deref(),
            Some("systemRole = \"Taxii User\"")
        );
        assert_eq!(
            tql("type:readonly", &s).as_deref(),
            Some("systemRole = \"Read Only User\"")
        );
        assert_eq!(
            tql("type:user", &s).as_deref(),
            Some(concat!(
                "systemRole IN (\"Administrator\",\"Operations Administrator\",",
                "\"Accounts Administrator\",\"Community Leader\",\"Super User\",\"User\")"
            ))
        );
        assert_eq!(
            tql("orgrole:\"sharing user\"", &s).as_deref(),
            Some("orgRole = \"Sharing User\"")
        );
        assert_eq!(
            tql("group:\"SOC Team\"", &s).as_deref(),
            Some("groupId = 1")
        );
        assert_eq!(tql("group:nowhere", &s), None);
        assert_eq!(
            tql("login<7d", &s).as_deref(),
            Some("lastLogin > \"2026-11-18 12:00:00\"")
        );
        assert_eq!(tql("mfa:off", &s).as_deref(), Some("mfaEnabled = false"));
        // never sent: free words, login>Nd (includes never), login:never
        assert_eq!(tql("john \"pat jones\" login>90d login:never", &s), None);
        assert_eq!(
            tql("john status:disabled type:taxii", &s).as_deref(),
            Some("disabled = true and systemRole = \"Taxii User\"")
        );
        // an instance without the keywords gets nothing
        let bare = TqlSupport::default();
        for f in [
            "status:ok",
            "role:user",
            "type:api",
            "group:\"soc team\"",
            "mfa:on",
            "orgrole:\"standard user\"",
            "login<3d",
        ] {
            assert_eq!(tql(f, &bare), None, "{f}");
        }
        // a real ThreatConnect instance: no orgRole or mfaEnabled keyword
        let mut real = all_support();
        real.keywords.remove("orgRole");
        real.keywords.remove("mfaEnabled");
        assert_eq!(tql("orgrole:\"sharing user\" mfa:on", &real), None);
    }

    /// A minimal evaluator of the TQL `to_tql` emits, with a server's
    /// semantics: a clause on a null field never matches.
    fn tql_matches(tql: &str, user: &User) -> bool {
        tql.split(" and ").all(|clause| {
            let (key, rest) = clause.split_once(' ').unwrap();
            let (op, value) = rest.split_once(' ').unwrap();
            let unquote = |v: &str| v.trim_matches('"').replace("\\\"", "\"");
            match (key, op) {
                ("disabled", "=") => user.disabled == Some(value == "true"),
                ("locked", "=") => user.locked == Some(value == "true"),
                ("mfaEnabled", "=") => user.mfa_enabled == Some(value == "true"),
                ("systemRole", "=") => user.system_role.as_deref() == Some(&unquote(value)),
                ("systemRole", "IN") => {
                    let list = value.trim_start_matches('(').trim_end_matches(')');
                    list.split(',')
                        .any(|v| user.system_role.as_deref() == Some(&unquote(v)))
                }
                ("orgRole", "=") => user.org_role_name() == Some(&unquote(value)),
                ("groupId", "=") => {
                    let id: i64 = value.parse().unwrap();
                    user.user_groups
                        .as_ref()
                        .is_some_and(|g| g.iter().any(|g| g.id == id))
                }
                ("lastLogin", ">") => {
                    let at =
                        chrono::NaiveDateTime::parse_from_str(&unquote(value), "%Y-%m-%d %H:%M:%S")
                            .unwrap()
                            .and_utc();
                    user.last_login.is_some_and(|t| t > at)
                }
                other => panic!("unexpected TQL clause {other:?}"),
            }
        })
    }

    #[test]
    fn tql_prefilter_then_local_equals_local_only() {
        let filters = [
            "status:ok",
            "status:locked",
            "status:disabled",
            "role:administrator",
            "role:\"api user\"",
            "type:api",
            "type:user",
            "type:taxii status:disabled",
            "type:readonly mfa:on",
            "orgrole:\"organization administrator\" type:api",
            "group:\"soc team\"",
            "group:\"ir team\" login<7d",
            "group:\"Ünïcode Group\"",
            "login<7d",
            "login<8d",
            "login>90d status:ok",
            "login:never",
            "mfa:off status:locked",
            "smith status:ok",
            "example type:user login<200d",
        ];
        let support = all_support();
        let everyone = users();
        for text in filters {
            let filter = Filter::parse(text).unwrap();
            let local: Vec<&str> = everyone
                .iter()
                .filter(|u| filter.matches(u, &ctx()))
                .map(|u| u.user_name.as_str())
                .collect();
            let prefiltered: Vec<&str> = everyone
                .iter()
                .filter(|u| match filter.to_tql(&support, &ctx()) {
                    Some(tql) => tql_matches(&tql, u),
                    None => true,
                })
                .filter(|u| filter.matches(u, &ctx()))
                .map(|u| u.user_name.as_str())
                .collect();
            assert_eq!(local, prefiltered, "filter {text}");
            // each translated term alone also keeps every local match
            for term in filter.terms() {
                if let Some(tql) = term.to_tql(&support, &ctx()) {
                    for u in &everyone {
                        if term.matches(u, &Filter::search_text(u), &ctx()) {
                            assert!(tql_matches(&tql, u), "{text}: {tql} drops {}", u.user_name);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn role_codes_and_plain_evaluation_agree() {
        let filters = [
            "role:administrator",
            "role:\"read only user\"",
            "type:user",
            "type:api",
            "type:readonly",
            "type:taxii",
            "orgrole:\"organization administrator\"",
            "orgrole:\"standard user\" status:disabled",
        ];
        let mut odd = basic("odd", "Odd");
        odd.system_role = Some("  super USER ".into());
        odd.owner_roles = Some(
            [("Demo Organization".to_string(), "sharing user".to_string())]
                .into_iter()
                .collect(),
        );
        let mut unfamiliar = basic("new", "New");
        unfamiliar.system_role = Some("Galactic Overlord".into());
        let mut everyone = users();
        everyone.extend([odd.clone(), unfamiliar]);
        for text in filters {
            let filter = Filter::parse(text).unwrap();
            for u in &everyone {
                let indexed = filter.matches_indexed(u, &Filter::search_text(u), &ctx());
                // a caller without precomputed text gets the same answer
                assert_eq!(
                    indexed,
                    filter.matches_indexed(u, "", &ctx()),
                    "{text} {}",
                    u.user_name
                );
                assert_eq!(indexed, filter.matches(u, &ctx()));
            }
        }
        let super_user =
            Filter::parse("type:user role:\"super user\" orgrole:\"sharing user\"").unwrap();
        assert!(super_user.matches(&odd, &ctx()));
    }

    #[test]
    fn words_never_match_separators_or_role_codes() {
        assert_eq!(
            Filter::parse("\"\u{1e}\"").unwrap_err().0,
            "empty word in filter"
        );
        let f = Filter::parse("\"john\u{1}\"").unwrap();
        assert_eq!(f.terms(), [Term::Word("john".into())]);
        for u in users() {
            let text = Filter::search_text(&u);
            assert!(text.ends_with(|c: char| c.is_control()));
            assert_eq!(text.matches('\u{1e}').count(), 1);
        }
    }

    #[test]
    fn narrowing_is_recognised_only_when_sound() {
        let f = |t: &str| Filter::parse(t).unwrap();
        assert!(f("smit").narrows(&f("smi")));
        assert!(f("smith status:locked").narrows(&f("smith")));
        assert!(f("status:locked smith").narrows(&f("smi")));
        assert!(!f("smi").narrows(&f("smith")));
        assert!(!f("status:ok").narrows(&f("status:locked")));
        assert!(!f("login>30d").narrows(&f("login>90d")));
        assert!(f("login>90d x").narrows(&f("login>90d")));
        // Narrowing agrees with scanning everything again.
        let all = users();
        for (old, new) in [("e", "ex"), ("a", "a status:ok"), ("o", "on type:user")] {
            let (old, new) = (f(old), f(new));
            assert!(new.narrows(&old));
            let scanned: Vec<i64> = all
                .iter()
                .filter(|u| new.matches(u, &ctx()))
                .map(|u| u.id)
                .collect();
            let narrowed: Vec<i64> = all
                .iter()
                .filter(|u| old.matches(u, &ctx()))
                .filter(|u| new.matches(u, &ctx()))
                .map(|u| u.id)
                .collect();
            assert_eq!(scanned, narrowed);
        }
    }
}

//! The filter language of `users list --filter`, the bulk commands and the
//! console's `/`, parsed once here. Sent as TQL where the instance supports
//! it (only what TQL says exactly), always also evaluated locally, so the
//! answer is the same either way. See [`HELP`] for the language.
//!
//! Evaluation is three-valued: a term over a field this actor is not shown
//! is unknown, never false, and a negated unknown stays unknown. Only a
//! "yes" matches; [`Filter::undecided`] says which terms left accounts
//! unknown, and why.

use super::account::{LastLoginReported, PasswordExpiry, Status, User};
use super::roles::{AccountType, OrgRole, SystemRole};
use super::text::thousands;
use super::tql::quote;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The language in brief, for `--help`, the console's help and the README.
pub const HELP: &str = "\
Terms are separated by spaces and all must match; `or` joins alternatives \
(and binds tighter than or; there are no parentheses). `-term` or \
`not term` negates a term. Free words (or \"quoted phrases\") match user \
name, first and last name and pseudonym. Keys: status:ok|locked|disabled, \
role:NAME (System role, full or as the table shows it: role:Admin), \
orgrole:NAME (orgrole:Sharing, orgrole:\"Org Admin\"), \
type:user|api|taxii|readonly, group:NAME (a name's start when no group has \
that exact name), login>90d (a known last login longer ago; never-logged-in \
accounts match only login:never), login<7d, login:never, expires<14d \
(password expires within; expired ones match only expires:expired), \
expires>30d, expires:expired, mfa:on|off, id:42. Lists: status:locked,disabled. \
Durations take d, w, m (30 days) or y (365 days). A term the instance does \
not show you is unknown, and said so.";

/// Every key, in the order errors list them.
pub const KNOWN_KEYS: &str = "status, role, orgrole, type, group, login, expires, mfa, id";

/// The longest duration a filter takes: 100 years (and no overflow).
const MAX_DAYS: i64 = 36_500;

/// A filter that does not parse: one sentence, then the known keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

impl FilterError {
    fn new(sentence: impl fmt::Display) -> Self {
        FilterError(format!("{sentence}; known keys: {KNOWN_KEYS}"))
    }
}

/// What local evaluation needs besides the account.
#[derive(Debug, Clone, Copy)]
pub struct MatchContext {
    pub now: DateTime<Utc>,
    /// Whether an absent last login means "never" for this listing.
    pub last_login: LastLoginReported,
    /// The instance's password max age (for `expires`); `None` = unknown.
    pub password_max_age_days: Option<i64>,
}

/// What the instance supports for translating to TQL.
#[derive(Debug, Clone, Default)]
pub struct TqlSupport {
    /// TQL keywords the instance lists (`OPTIONS /v3/security/users/tql`).
    pub keywords: BTreeSet<String>,
    /// Group name (lowercase) to id, for `group:NAME` -> `groupId = ID`.
    pub group_ids: BTreeMap<String, i64>,
}

/// A free word or phrase, lowercased, with its searcher built once at parse
/// (the hot path only runs it).
#[derive(Clone)]
pub struct Word {
    text: String,
    /// Boxed: a finder is large, and a term should stay small.
    finder: Box<memchr::memmem::Finder<'static>>,
}

impl Word {
    fn new(text: String) -> Self {
        let finder = Box::new(memchr::memmem::Finder::new(text.as_bytes()).into_owned());
        Word { text, finder }
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Word({:?})", self.text)
    }
}

impl PartialEq for Word {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Word {}

/// One term of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Matched against `search_text`.
    Word(Word),
    Status(Status),
    Role(SystemRole),
    OrgRole(OrgRole),
    /// A user group's name, lowercased (exact; see [`Filter::resolve_groups`]).
    Group(String),
    Type(AccountType),
    /// `login>N`: a known last login more than N days ago (never-logged-in
    /// accounts match only `login:never`).
    NoLoginFor(i64),
    /// `login<N`: logged in within the last N days.
    LoginWithin(i64),
    /// `login:never`.
    NeverLoggedIn,
    /// `expires<N`: a password that has not expired and expires in fewer
    /// than N days.
    ExpiresWithin(i64),
    /// `expires>N`: more than N days left.
    ExpiresAfter(i64),
    /// `expires:expired`.
    PasswordExpired,
    /// `mfa:on` / `mfa:off`.
    Mfa(bool),
    Id(i64),
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Term(Term),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// Kleene's three values, ordered so `and` is `min` and `or` is `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Truth {
    No,
    Unknown,
    Yes,
}

impl Truth {
    fn of(known: Option<bool>) -> Truth {
        match known {
            Some(true) => Truth::Yes,
            Some(false) => Truth::No,
            None => Truth::Unknown,
        }
    }

    fn not(self) -> Truth {
        match self {
            Truth::Yes => Truth::No,
            Truth::No => Truth::Yes,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

/// Why a term cannot be decided for an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    SystemRoleHidden,
    SystemRoleUnfamiliar,
    OrgRoleHidden,
    StatusHidden,
    LastLoginHidden,
    NoMaxAge,
    NoPasswordChange,
    NoMfa,
    NoGroups,
}

impl Cause {
    pub fn reason(self) -> &'static str {
        match self {
            Cause::SystemRoleHidden => "the instance does not show you System roles",
            Cause::SystemRoleUnfamiliar => "their System role is not one rollcall knows",
            Cause::OrgRoleHidden => "the instance does not show you Organization roles",
            Cause::StatusHidden => "the instance does not show you their status",
            Cause::LastLoginHidden => "the instance does not return last logins to you",
            Cause::NoMaxAge => "the password max age is not known (set password_max_age_days)",
            Cause::NoPasswordChange => "the instance does not return their last password change",
            Cause::NoMfa => "this instance does not report MFA status",
            Cause::NoGroups => "this instance does not report user groups",
        }
    }
}

/// Accounts a filter cannot decide because of one key, and why: "type:
/// unknown for 1,211 accounts: the instance does not show you System roles".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    pub key: &'static str,
    pub cause: Cause,
    pub accounts: usize,
}

impl fmt::Display for Undecided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.accounts == 1 { "" } else { "s" };
        write!(
            f,
            "{}: unknown for {} account{plural}: {}",
            self.key,
            thousands(self.accounts as u64),
            self.cause.reason()
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// All of these must hold; sorted cheap first (`matches` stops at the
    /// first that fails).
    conjuncts: Vec<Expr>,
    needs_text: bool,
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        self.conjuncts == other.conjuncts
    }
}

/// Separates free-word fields in `search_text`, so a phrase never matches
/// across two fields.
const FIELD_SEPARATOR: char = '\u{1f}';

/// One whitespace-separated token, with quotes removed.
struct Token {
    text: String,
    /// Any part was quoted (so `"or"` is a word, not the keyword).
    quoted: bool,
    /// Began with an unquoted `-`.
    negated: bool,
    /// Position and character of the first unquoted `:`, `<` or `>` that
    /// precedes any quote: the key/value separator.
    separator: Option<(usize, char)>,
    /// Positions of unquoted commas after the separator: list separators.
    commas: Vec<usize>,
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
            quoted: false,
            negated: false,
            separator: None,
            commas: Vec::new(),
        };
        if chars.peek() == Some(&'-') {
            chars.next();
            if chars.peek().is_none_or(|c| c.is_whitespace()) {
                return Err(FilterError::new(
                    "'-' must be followed by a term, as in -status:ok",
                ));
            }
            token.negated = true;
        }
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            if c == '"' {
                token.quoted = true;
                let mut closed = false;
                for q in chars.by_ref() {
                    if q == '"' {
                        closed = true;
                        break;
                    }
                    token.text.push(q);
                }
                if !closed {
                    return Err(FilterError::new("unterminated quote in filter"));
                }
                continue;
            }
            if !token.quoted && token.separator.is_none() && matches!(c, ':' | '<' | '>') {
                token.separator = Some((token.text.len(), c));
            } else if c == ',' && token.separator.is_some() {
                token.commas.push(token.text.len());
            }
            token.text.push(c);
        }
        tokens.push(token);
    }
}

fn bad_value(key: &str, value: &str, expected: &str) -> FilterError {
    FilterError::new(format!(
        "bad value '{value}' for {key} (expected {expected})"
    ))
}

/// Days in `30d`, `2w`, `3m` (30 days), `1y` (365 days) or `90` (days).
fn parse_days(value: &str) -> Option<i64> {
    let value = value.trim();
    let (digits, unit) = match value.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&value[..at], c.to_ascii_lowercase()),
        _ => (value, 'd'),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let per = match unit {
        'd' => 1,
        'w' => 7,
        'm' => 30,
        'y' => 365,
        _ => return None,
    };
    let days = digits.parse::<i64>().ok()?.checked_mul(per)?;
    (days <= MAX_DAYS).then_some(days)
}

fn names_of<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    short: fn(T) -> &'static str,
) -> String {
    all.iter()
        .map(|r| {
            let (n, s) = (name(*r), short(*r));
            if n == s {
                format!("\"{n}\"")
            } else {
                format!("\"{n}\" ({s})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One of the items of a key's value list, as a term.
fn value_term(key: &str, value: &str) -> Result<Term, FilterError> {
    match key {
        "status" => match value.to_ascii_lowercase().as_str() {
            "ok" => Ok(Term::Status(Status::Ok)),
            "locked" => Ok(Term::Status(Status::Locked)),
            "disabled" => Ok(Term::Status(Status::Disabled)),
            _ => Err(bad_value("status", value, "ok, locked or disabled")),
        },
        "role" => SystemRole::parse_any(value).map(Term::Role).ok_or_else(|| {
            let all = names_of(SystemRole::ALL, SystemRole::name, SystemRole::short_name);
            bad_value("role", value, &format!("a System role: {all}"))
        }),
        "orgrole" => OrgRole::parse_any(value).map(Term::OrgRole).ok_or_else(|| {
            let all = names_of(OrgRole::ALL, OrgRole::name, OrgRole::short_name);
            bad_value("orgrole", value, &format!("an Organization role: {all}"))
        }),
        "group" => Ok(Term::Group(value.to_lowercase())),
        "type" => AccountType::from_key(value)
            .map(Term::Type)
            .ok_or_else(|| bad_value("type", value, "user, api, taxii or readonly")),
        "mfa" => match value.to_ascii_lowercase().as_str() {
            "on" | "yes" | "true" => Ok(Term::Mfa(true)),
            "off" | "no" | "false" => Ok(Term::Mfa(false)),
            _ => Err(bad_value("mfa", value, "on or off")),
        },
        "id" => value
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Term::Id)
            .ok_or_else(|| bad_value("id", value, "an account id, as in id:42 or id:42,43")),
        "login" if value.eq_ignore_ascii_case("never") => Ok(Term::NeverLoggedIn),
        "login" => Err(bad_value("login", value, LOGIN_FORMS)),
        "expires" if value.eq_ignore_ascii_case("expired") => Ok(Term::PasswordExpired),
        "expires" => Err(bad_value("expires", value, EXPIRES_FORMS)),
        _ => Err(FilterError::new(format!("unknown filter key '{key}'"))),
    }
}

const LOGIN_FORMS: &str = "login>90d, login<7d or login:never";
const EXPIRES_FORMS: &str = "expires<14d, expires>30d or expires:expired";

fn is_key(key: &str) -> bool {
    KNOWN_KEYS.split(", ").any(|k| k == key)
}

fn parse_term(token: Token) -> Result<Expr, FilterError> {
    let Some((at, sep)) = token.separator else {
        if token.text.is_empty() {
            return Err(FilterError::new("empty quoted phrase in filter"));
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
            return Err(FilterError::new("empty word in filter"));
        }
        return Ok(Expr::Term(Term::Word(Word::new(word))));
    };
    let key = token.text[..at].to_ascii_lowercase();
    let rest = &token.text[at + sep.len_utf8()..];
    if key.is_empty() {
        return Err(FilterError::new(format!(
            "missing filter key before '{sep}' in '{}'",
            token.text
        )));
    }
    if !is_key(&key) {
        return Err(FilterError::new(format!("unknown filter key '{key}'")));
    }
    if sep != ':' {
        let forms = match key.as_str() {
            "login" => LOGIN_FORMS,
            "expires" => EXPIRES_FORMS,
            _ => {
                return Err(FilterError::new(format!(
                    "'{sep}' works only with login and expires; use {key}:VALUE"
                )))
            }
        };
        let value = rest.trim();
        let days = parse_days(value)
            .ok_or_else(|| bad_value(&key, value, &format!("{forms}; d, w, m or y, up to 100y")))?;
        return Ok(Expr::Term(match (key.as_str(), sep) {
            ("login", '>') => Term::NoLoginFor(days),
            ("login", _) => Term::LoginWithin(days),
            (_, '>') => Term::ExpiresAfter(days),
            _ => Term::ExpiresWithin(days),
        }));
    }
    // Split the value at its unquoted commas: a list means any of them.
    let start = at + sep.len_utf8();
    let mut items = Vec::new();
    let mut from = start;
    for &comma in &token.commas {
        items.push(token.text[from..comma].trim());
        from = comma + 1;
    }
    items.push(token.text[from..].trim());
    if items.iter().all(|v| v.is_empty()) {
        return Err(FilterError::new(format!("missing value after '{key}:'")));
    }
    if items.iter().any(|v| v.is_empty()) {
        return Err(FilterError::new(format!(
            "empty item in the list after '{key}:'"
        )));
    }
    if items.len() > 1 && matches!(key.as_str(), "login" | "expires") {
        return Err(FilterError::new(format!(
            "{key}: takes one value, not a list"
        )));
    }
    let mut terms = items
        .into_iter()
        .map(|v| value_term(&key, v).map(Expr::Term))
        .collect::<Result<Vec<_>, _>>()?;
    terms.dedup();
    Ok(if terms.len() == 1 {
        terms.remove(0)
    } else {
        Expr::Or(terms)
    })
}

/// A token read as the parser sees it.
enum Item {
    Or,
    And,
    Not,
    Term(Expr),
}

fn negate(expr: Expr) -> Expr {
    match expr {
        // `not -x` is x.
        Expr::Not(inner) => *inner,
        other => Expr::Not(Box::new(other)),
    }
}

fn item(token: Token) -> Result<Item, FilterError> {
    if !token.quoted && !token.negated && token.separator.is_none() {
        match token.text.to_ascii_lowercase().as_str() {
            "or" => return Ok(Item::Or),
            "and" => return Ok(Item::And),
            "not" => return Ok(Item::Not),
            _ => {}
        }
    }
    let negated = token.negated;
    let term = parse_term(token)?;
    Ok(Item::Term(if negated { negate(term) } else { term }))
}

/// `a b or c -d` -> Or[And[a, b], And[c, Not d]]: `and` binds tighter.
fn build(items: Vec<Item>) -> Result<Vec<Expr>, FilterError> {
    let mut alternatives: Vec<Vec<Expr>> = vec![Vec::new()];
    let mut nots = 0usize;
    let lonely = |word: &str| {
        FilterError::new(format!(
            "'{word}' needs a term on each side, as in status:locked {word} status:disabled"
        ))
    };
    let mut last_was_and = false;
    for item in items {
        let current = alternatives.last_mut().expect("never empty");
        match item {
            Item::Term(expr) => {
                let expr = (0..nots).fold(expr, |e, _| negate(e));
                nots = 0;
                last_was_and = false;
                current.push(expr);
            }
            Item::Not => nots += 1,
            Item::And | Item::Or if nots > 0 => {
                return Err(FilterError::new(
                    "'not' must be followed by a term, as in not status:ok",
                ))
            }
            Item::And => {
                if current.is_empty() || last_was_and {
                    return Err(lonely("and"));
                }
                last_was_and = true;
            }
            Item::Or => {
                if current.is_empty() || last_was_and {
                    return Err(lonely("or"));
                }
                alternatives.push(Vec::new());
            }
        }
    }
    if nots > 0 {
        return Err(FilterError::new(
            "'not' must be followed by a term, as in not status:ok",
        ));
    }
    if last_was_and {
        return Err(lonely("and"));
    }
    if alternatives.len() > 1 && alternatives.last().is_some_and(Vec::is_empty) {
        return Err(lonely("or"));
    }
    if alternatives.len() == 1 {
        return Ok(alternatives.remove(0));
    }
    let branches = alternatives
        .into_iter()
        .map(|mut all| {
            if all.len() == 1 {
                all.remove(0)
            } else {
                Expr::And(all)
            }
        })
        .collect();
    Ok(vec![Expr::Or(branches)])
}

/// `search_text` ends with this marker and two code characters: the
/// parsed System role and Organization role, so the hot path compares
/// bytes instead of parsing role names for every account.
const ROLE_CODES_MARKER: u8 = 0x1e;
/// The code of a role the instance returned but rollcall does not know.
const UNFAMILIAR_ROLE_CODE: u8 = 0x0f;
/// The code of a role the instance did not return (unknown, not "other").
const ABSENT_ROLE_CODE: u8 = 0x0e;

/// A control character (never in a filter word) standing for a role.
fn code_of<T: PartialEq + Copy>(all: &[T], role: Option<T>, returned: bool) -> u8 {
    if !returned {
        return ABSENT_ROLE_CODE;
    }
    role.and_then(|r| all.iter().position(|x| *x == r))
        .map_or(UNFAMILIAR_ROLE_CODE, |i| i as u8 + 1)
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

/// API and TAXII accounts have no password to expire (as the audit says).
fn has_no_password(user: &User) -> bool {
    matches!(
        user.account_type(),
        Some(AccountType::Api | AccountType::Taxii)
    )
}

fn system_roles_of(kind: AccountType) -> Vec<SystemRole> {
    SystemRole::ALL
        .iter()
        .copied()
        .filter(|r| AccountType::of(*r) == kind)
        .collect()
}

fn role_list(roles: &[SystemRole]) -> String {
    let list: Vec<String> = roles.iter().map(|r| quote(r.name())).collect();
    list.join(",")
}

impl Term {
    fn truth(&self, user: &User, search_text: &str, ctx: &MatchContext) -> Truth {
        match self {
            Term::Word(word) => Truth::of(Some(word.finder.find(search_text.as_bytes()).is_some())),
            Term::Status(status) => Truth::of(user.status().map(|s| s == *status)),
            Term::Role(role) => match role_codes(search_text) {
                Some((ABSENT_ROLE_CODE, _)) => Truth::Unknown,
                Some((system, _)) => {
                    Truth::of(Some(system == code_of(SystemRole::ALL, Some(*role), true)))
                }
                None => Truth::of(
                    user.system_role
                        .as_ref()
                        .map(|_| user.system_role_parsed() == Some(*role)),
                ),
            },
            Term::OrgRole(role) => match role_codes(search_text) {
                Some((_, ABSENT_ROLE_CODE)) => Truth::Unknown,
                Some((_, org)) => Truth::of(Some(org == code_of(OrgRole::ALL, Some(*role), true))),
                None => Truth::of(user.org_role_name().map(|_| user.org_role() == Some(*role))),
            },
            Term::Group(name) => Truth::of(
                user.user_groups
                    .as_ref()
                    .map(|groups| groups.iter().any(|g| eq_lowercased(&g.name, name))),
            ),
            // An unfamiliar System role leaves the type unknown.
            Term::Type(kind) => match role_codes(search_text) {
                Some((system, _)) => {
                    Truth::of(role_of_code(system).map(|r| AccountType::of(r) == *kind))
                }
                None => Truth::of(user.account_type().map(|t| t == *kind)),
            },
            Term::NoLoginFor(days) => Truth::of(user.no_login_for(*days, ctx.now, ctx.last_login)),
            Term::LoginWithin(days) => Truth::of(
                user.days_since_login(ctx.now, ctx.last_login)
                    .map(|since| since.is_some_and(|since| since < *days)),
            ),
            Term::NeverLoggedIn => Truth::of(
                user.days_since_login(ctx.now, ctx.last_login)
                    .map(|since| since.is_none()),
            ),
            Term::ExpiresWithin(_) | Term::ExpiresAfter(_) | Term::PasswordExpired => {
                if has_no_password(user) {
                    return Truth::No;
                }
                let expiry = user.password_expiry(ctx.password_max_age_days, ctx.now);
                Truth::of(match (self, expiry) {
                    (_, PasswordExpiry::Unknown) => None,
                    (Term::PasswordExpired, e) => Some(e == PasswordExpiry::Expired),
                    (_, PasswordExpiry::Expired) => Some(false),
                    (Term::ExpiresWithin(days), PasswordExpiry::DaysLeft(left)) => {
                        Some(left < *days)
                    }
                    (Term::ExpiresAfter(days), PasswordExpiry::DaysLeft(left)) => {
                        Some(left > *days)
                    }
                    _ => None,
                })
            }
            Term::Mfa(on) => Truth::of(user.mfa_enabled.map(|m| m == *on)),
            Term::Id(id) => Truth::of(Some(user.id == *id)),
        }
    }

    /// The filter key this term was written with.
    pub fn key(&self) -> &'static str {
        match self {
            Term::Word(_) => "word",
            Term::Status(_) => "status",
            Term::Role(_) => "role",
            Term::OrgRole(_) => "orgrole",
            Term::Group(_) => "group",
            Term::Type(_) => "type",
            Term::NoLoginFor(_) | Term::LoginWithin(_) | Term::NeverLoggedIn => "login",
            Term::ExpiresWithin(_) | Term::ExpiresAfter(_) | Term::PasswordExpired => "expires",
            Term::Mfa(_) => "mfa",
            Term::Id(_) => "id",
        }
    }

    /// Why this term is unknown for `user` (call only when it is).
    fn cause(&self, user: &User, ctx: &MatchContext) -> Option<Cause> {
        match self {
            Term::Role(_) | Term::Type(_) if user.system_role.is_none() => {
                Some(Cause::SystemRoleHidden)
            }
            Term::Type(_) => Some(Cause::SystemRoleUnfamiliar),
            Term::OrgRole(_) => Some(Cause::OrgRoleHidden),
            Term::Status(_) => Some(Cause::StatusHidden),
            Term::Group(_) => Some(Cause::NoGroups),
            Term::Mfa(_) => Some(Cause::NoMfa),
            Term::NoLoginFor(_) | Term::LoginWithin(_) | Term::NeverLoggedIn => {
                Some(Cause::LastLoginHidden)
            }
            Term::ExpiresWithin(_) | Term::ExpiresAfter(_) | Term::PasswordExpired => {
                Some(match ctx.password_max_age_days {
                    Some(max) if max > 0 => Cause::NoPasswordChange,
                    _ => Cause::NoMaxAge,
                })
            }
            Term::Role(_) | Term::Word(_) | Term::Id(_) => None,
        }
    }

    /// Relative cost of evaluating the term on one account.
    fn cost(&self) -> u8 {
        match self {
            Term::Status(_) | Term::Mfa(_) | Term::Id(_) => 0,
            Term::Role(_) | Term::Type(_) => 1,
            Term::NoLoginFor(_)
            | Term::LoginWithin(_)
            | Term::NeverLoggedIn
            | Term::ExpiresWithin(_)
            | Term::ExpiresAfter(_)
            | Term::PasswordExpired => 2,
            Term::OrgRole(_) => 3,
            Term::Group(_) => 4,
            Term::Word(_) => 5,
        }
    }

    /// TQL whose matches include every account this term matches locally,
    /// or `None` when the instance cannot say it.
    fn to_tql(&self, support: &TqlSupport, ctx: &MatchContext) -> Option<String> {
        let has = |k: &str| support.keywords.contains(k);
        match self {
            // A word matches any of four fields, case-folded.
            Term::Word(_) => None,
            Term::Status(Status::Disabled) if has("disabled") => Some("disabled = true".into()),
            Term::Status(Status::Locked) if has("disabled") && has("locked") => {
                Some("locked = true and disabled = false".into())
            }
            Term::Status(Status::Ok) if has("disabled") && has("locked") => {
                Some("disabled = false and locked = false".into())
            }
            Term::Role(role) if has("systemRole") => {
                Some(format!("systemRole = {}", quote(role.name())))
            }
            Term::Type(kind) if has("systemRole") => match system_roles_of(*kind).as_slice() {
                [only] => Some(format!("systemRole = {}", quote(only.name()))),
                roles => Some(format!("systemRole IN ({})", role_list(roles))),
            },
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
            Term::Mfa(on) if has("mfaEnabled") => Some(format!("mfaEnabled = {on}")),
            Term::Id(id) if has("id") => Some(format!("id = {id}")),
            // `login>N` and `login:never` need the whole answer to tell
            // "never" from "not returned"; `expires` depends on the max age
            // and on whole days, which TQL cannot say exactly.
            _ => None,
        }
    }

    /// TQL including every account for which this term is known false, or
    /// `None`. Only with operators the docs list (`!=`, `NOT IN`); whether
    /// the server counts a null as "not equal" does not matter, because
    /// locally an unknown never matches.
    fn negated_tql(&self, support: &TqlSupport) -> Option<String> {
        let has = |k: &str| support.keywords.contains(k);
        match self {
            Term::Status(Status::Disabled) if has("disabled") => Some("disabled = false".into()),
            Term::Status(Status::Locked) if has("disabled") && has("locked") => {
                Some("(disabled = true or locked = false)".into())
            }
            Term::Status(Status::Ok) if has("disabled") && has("locked") => {
                Some("(disabled = true or locked = true)".into())
            }
            Term::Role(role) if has("systemRole") => {
                Some(format!("systemRole != {}", quote(role.name())))
            }
            Term::Type(kind) if has("systemRole") => match system_roles_of(*kind).as_slice() {
                [only] => Some(format!("systemRole != {}", quote(only.name()))),
                roles => Some(format!("systemRole NOT IN ({})", role_list(roles))),
            },
            Term::OrgRole(role) if has("orgRole") => {
                Some(format!("orgRole != {}", quote(role.name())))
            }
            Term::Group(name) if has("groupId") => support
                .group_ids
                .get(name)
                .map(|id| format!("groupId != {id}")),
            Term::Mfa(on) if has("mfaEnabled") => Some(format!("mfaEnabled = {}", !on)),
            Term::Id(id) if has("id") => Some(format!("id != {id}")),
            _ => None,
        }
    }
}

impl Expr {
    fn truth(&self, user: &User, search_text: &str, ctx: &MatchContext) -> Truth {
        match self {
            Expr::Term(term) => term.truth(user, search_text, ctx),
            Expr::Not(inner) => inner.truth(user, search_text, ctx).not(),
            Expr::And(all) => {
                let mut truth = Truth::Yes;
                for e in all {
                    truth = truth.min(e.truth(user, search_text, ctx));
                    if truth == Truth::No {
                        break;
                    }
                }
                truth
            }
            Expr::Or(any) => {
                let mut truth = Truth::No;
                for e in any {
                    truth = truth.max(e.truth(user, search_text, ctx));
                    if truth == Truth::Yes {
                        break;
                    }
                }
                truth
            }
        }
    }

    fn cost(&self) -> u8 {
        match self {
            Expr::Term(t) => t.cost(),
            Expr::Not(inner) => inner.cost(),
            Expr::And(all) | Expr::Or(all) => all.iter().map(Expr::cost).max().unwrap_or(0),
        }
    }

    /// Cheap tests first, at every level (`and`/`or` are commutative).
    fn sort(&mut self) {
        match self {
            Expr::Term(_) => {}
            Expr::Not(inner) => inner.sort(),
            Expr::And(all) | Expr::Or(all) => {
                all.iter_mut().for_each(Expr::sort);
                all.sort_by_key(Expr::cost);
            }
        }
    }

    fn terms<'a>(&'a self, out: &mut Vec<&'a Term>) {
        match self {
            Expr::Term(t) => out.push(t),
            Expr::Not(inner) => inner.terms(out),
            Expr::And(all) | Expr::Or(all) => all.iter().for_each(|e| e.terms(out)),
        }
    }

    fn any_term(&self, wanted: &dyn Fn(&Term) -> bool) -> bool {
        match self {
            Expr::Term(t) => wanted(t),
            Expr::Not(inner) => inner.any_term(wanted),
            Expr::And(all) | Expr::Or(all) => all.iter().any(|e| e.any_term(wanted)),
        }
    }

    /// The truth values this expression can take when the terms `hidden`
    /// picks are unknown for every account and the rest may go either way.
    fn possible(&self, hidden: &dyn Fn(&Term) -> bool) -> BTreeSet<Truth> {
        match self {
            Expr::Term(t) if hidden(t) => [Truth::Unknown].into(),
            Expr::Term(_) => [Truth::No, Truth::Yes].into(),
            Expr::Not(inner) => inner.possible(hidden).into_iter().map(Truth::not).collect(),
            Expr::And(all) | Expr::Or(all) => {
                let and = matches!(self, Expr::And(_));
                let mut acc: BTreeSet<Truth> = [if and { Truth::Yes } else { Truth::No }].into();
                for e in all {
                    let next = e.possible(hidden);
                    acc = acc
                        .iter()
                        .flat_map(|a| {
                            next.iter()
                                .map(move |b| if and { (*a).min(*b) } else { (*a).max(*b) })
                        })
                        .collect();
                }
                acc
            }
        }
    }

    /// A TQL superset of this expression's local matches, or `None`.
    fn to_tql(&self, support: &TqlSupport, ctx: &MatchContext) -> Option<String> {
        match self {
            Expr::Term(t) => t.to_tql(support, ctx),
            Expr::Not(inner) => match inner.as_ref() {
                Expr::Term(t) => t.negated_tql(support),
                _ => None,
            },
            // Untranslated conjuncts only widen the answer.
            Expr::And(all) => {
                let parts: Vec<String> =
                    all.iter().filter_map(|e| e.to_tql(support, ctx)).collect();
                (!parts.is_empty()).then(|| parts.join(" and "))
            }
            // Every alternative must be said, or the answer would shrink.
            Expr::Or(any) => {
                if let Some(merged) = merged_in(any, support) {
                    return Some(merged);
                }
                let parts = any
                    .iter()
                    .map(|e| e.to_tql(support, ctx))
                    .collect::<Option<Vec<String>>>()?;
                let parts: Vec<String> = parts
                    .into_iter()
                    .map(|p| {
                        if p.contains(" and ") {
                            format!("({p})")
                        } else {
                            p
                        }
                    })
                    .collect();
                Some(format!("({})", parts.join(" or ")))
            }
        }
    }
}

/// `type:api,taxii` or `role:a,b` as one `systemRole IN (...)`, `id:1,2`
/// as `id IN (1,2)`.
fn merged_in(any: &[Expr], support: &TqlSupport) -> Option<String> {
    let mut roles = Vec::new();
    let mut ids = Vec::new();
    for e in any {
        match e {
            Expr::Term(Term::Role(r)) => roles.push(*r),
            Expr::Term(Term::Type(k)) => roles.extend(system_roles_of(*k)),
            Expr::Term(Term::Id(id)) => ids.push(*id),
            _ => return None,
        }
    }
    if !roles.is_empty() && ids.is_empty() && support.keywords.contains("systemRole") {
        let mut seen = BTreeSet::new();
        roles.retain(|r| seen.insert(*r));
        return Some(format!("systemRole IN ({})", role_list(&roles)));
    }
    if roles.is_empty() && !ids.is_empty() && support.keywords.contains("id") {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        return Some(format!("id IN ({})", list.join(",")));
    }
    None
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let items = tokenize(text)?
            .into_iter()
            .map(item)
            .collect::<Result<Vec<_>, _>>()?;
        let mut conjuncts = build(items)?;
        conjuncts.iter_mut().for_each(Expr::sort);
        conjuncts.sort_by_key(Expr::cost);
        Ok(Filter::of(conjuncts))
    }

    fn of(conjuncts: Vec<Expr>) -> Filter {
        let needs_text = conjuncts
            .iter()
            .any(|e| e.any_term(&|t| matches!(t, Term::Word(_))));
        Filter {
            conjuncts,
            needs_text,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.conjuncts.is_empty()
    }

    /// The top-level expressions, all of which must hold.
    pub fn conjuncts(&self) -> &[Expr] {
        &self.conjuncts
    }

    /// Every term, wherever it stands.
    pub fn terms(&self) -> Vec<&Term> {
        let mut out = Vec::new();
        self.conjuncts.iter().for_each(|e| e.terms(&mut out));
        out
    }

    fn any_term(&self, wanted: &dyn Fn(&Term) -> bool) -> bool {
        self.conjuncts.iter().any(|e| e.any_term(wanted))
    }

    /// True when every account this filter matches is also matched by
    /// `previous` (at the same moment), so a caller may narrow the previous
    /// result instead of scanning everything again: typing one more letter
    /// of a word, or adding a term.
    pub fn narrows(&self, previous: &Filter) -> bool {
        previous.conjuncts.iter().all(|old| {
            self.conjuncts.iter().any(|new| match (new, old) {
                // A text containing the longer word contains the shorter.
                (Expr::Term(Term::Word(new)), Expr::Term(Term::Word(old))) => {
                    new.text.contains(old.text.as_str())
                }
                _ => new == old,
            })
        })
    }

    /// True when a term needs the `userGroups` extension field.
    pub fn needs_groups(&self) -> bool {
        self.any_term(&|t| matches!(t, Term::Group(_)))
    }

    /// True when a term depends on last logins.
    pub fn needs_last_login(&self) -> bool {
        self.any_term(&|t| t.key() == "login")
    }

    /// True when a term needs the `mfaEnabled` extension field.
    pub fn needs_mfa(&self) -> bool {
        self.any_term(&|t| matches!(t, Term::Mfa(_)))
    }

    /// Why this filter cannot match any account on an instance that does
    /// not report MFA status or group membership at all: every account
    /// would be unknown, so refuse before listing. A filter that could
    /// still match (`mfa:on or status:locked`) is answered, and
    /// [`Filter::undecided`] says what stayed unknown.
    pub fn unanswerable(&self, mfa_reported: bool, groups_reported: bool) -> Option<&'static str> {
        let hidden = |t: &Term| match t {
            Term::Group(_) => !groups_reported,
            Term::Mfa(_) => !mfa_reported,
            _ => false,
        };
        let can_match = self
            .conjuncts
            .iter()
            .all(|e| e.possible(&hidden).contains(&Truth::Yes));
        if can_match {
            return None;
        }
        if self.needs_groups() && !groups_reported {
            return Some("this instance does not report user groups, so group: cannot be used");
        }
        Some("this instance does not report MFA status, so mfa: cannot be used")
    }

    /// Makes `group:NAME` mean the groups whose name starts with NAME when
    /// no group in `names` is named NAME exactly, and says which it
    /// matched (one note per such term). With no names known, nothing
    /// changes.
    pub fn resolve_groups<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        if !self.needs_groups() {
            return Vec::new();
        }
        let known: BTreeMap<String, &str> =
            names.into_iter().map(|n| (n.to_lowercase(), n)).collect();
        if known.is_empty() {
            return Vec::new();
        }
        let mut notes = Vec::new();
        for e in &mut self.conjuncts {
            resolve_in(e, &known, &mut notes);
        }
        self.conjuncts.iter_mut().for_each(Expr::sort);
        notes
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
            user.system_role.is_some(),
        )));
        text.push(char::from(code_of(
            OrgRole::ALL,
            user.org_role(),
            user.org_role_name().is_some(),
        )));
        text
    }

    pub fn matches(&self, user: &User, ctx: &MatchContext) -> bool {
        self.truth(user, None, ctx) == Truth::Yes
    }

    /// As `matches`, with `search_text` precomputed (the hot path).
    pub fn matches_indexed(&self, user: &User, search_text: &str, ctx: &MatchContext) -> bool {
        self.truth(user, Some(search_text), ctx) == Truth::Yes
    }

    fn truth(&self, user: &User, search_text: Option<&str>, ctx: &MatchContext) -> Truth {
        let computed;
        let text = match search_text {
            Some(text) => text,
            None if self.needs_text => {
                computed = Filter::search_text(user);
                &computed
            }
            None => "",
        };
        let mut truth = Truth::Yes;
        for e in &self.conjuncts {
            truth = truth.min(e.truth(user, text, ctx));
            if truth == Truth::No {
                break;
            }
        }
        truth
    }

    /// The accounts this filter cannot decide, by key and cause: those it
    /// would match or not depending on a field the instance does not show
    /// this actor. A listing says each; a bulk command refuses when there
    /// is any. In the order the keys were first met.
    pub fn undecided<'a>(
        &self,
        users: impl IntoIterator<Item = &'a User>,
        ctx: &MatchContext,
    ) -> Vec<Undecided> {
        self.undecided_in(users.into_iter().map(|u| (u, None)), ctx)
    }

    /// As [`Filter::undecided`], with each account's `search_text`.
    pub fn undecided_indexed<'a>(
        &self,
        rows: impl IntoIterator<Item = (&'a User, &'a str)>,
        ctx: &MatchContext,
    ) -> Vec<Undecided> {
        self.undecided_in(rows.into_iter().map(|(u, t)| (u, Some(t))), ctx)
    }

    fn undecided_in<'a>(
        &self,
        rows: impl Iterator<Item = (&'a User, Option<&'a str>)>,
        ctx: &MatchContext,
    ) -> Vec<Undecided> {
        let mut found: Vec<Undecided> = Vec::new();
        if !self.may_be_undecided() {
            return found;
        }
        let terms = self.terms();
        for (user, text) in rows {
            if self.truth(user, text, ctx) == Truth::Unknown {
                tally_undecided(&terms, user, ctx, &mut found);
            }
        }
        found
    }

    /// Whether some account could be undecided: words and ids are always
    /// decided, so a filter of only those has nothing to look for.
    pub fn may_be_undecided(&self) -> bool {
        self.any_term(&|t| !matches!(t, Term::Word(_) | Term::Id(_)))
    }

    /// In one pass over the rows: whether each matches (as
    /// [`Filter::matches_indexed`]) and what the filter cannot decide (as
    /// [`Filter::undecided_indexed`]).
    pub fn judge_indexed<'a>(
        &self,
        rows: impl IntoIterator<Item = (&'a User, &'a str)>,
        ctx: &MatchContext,
    ) -> (Vec<bool>, Vec<Undecided>) {
        let mut found: Vec<Undecided> = Vec::new();
        let terms = self.terms();
        let matched = rows
            .into_iter()
            .map(|(user, text)| match self.truth(user, Some(text), ctx) {
                Truth::Yes => true,
                Truth::No => false,
                Truth::Unknown => {
                    tally_undecided(&terms, user, ctx, &mut found);
                    false
                }
            })
            .collect();
        (matched, found)
    }
}

/// Counts an account the filter cannot decide under each (key, cause) of
/// its unknown terms, once per pair.
fn tally_undecided(terms: &[&Term], user: &User, ctx: &MatchContext, found: &mut Vec<Undecided>) {
    // Unknown terms never involve words, so no text is needed.
    let mut seen: Vec<(&'static str, Cause)> = Vec::new();
    for term in terms {
        if term.truth(user, "", ctx) != Truth::Unknown {
            continue;
        }
        if let Some(cause) = term.cause(user, ctx) {
            if !seen.contains(&(term.key(), cause)) {
                seen.push((term.key(), cause));
            }
        }
    }
    for (key, cause) in seen {
        match found.iter_mut().find(|u| u.key == key && u.cause == cause) {
            Some(entry) => entry.accounts += 1,
            None => found.push(Undecided {
                key,
                cause,
                accounts: 1,
            }),
        }
    }
}

impl Filter {
    /// The part of the filter expressible as TQL on this instance, or
    /// `None`. Its matches include every account `matches` takes, and the
    /// caller still applies `matches` locally, so the answer never changes.
    pub fn to_tql(&self, support: &TqlSupport, ctx: &MatchContext) -> Option<String> {
        Expr::And(self.conjuncts.clone()).to_tql(support, ctx)
    }
}

fn resolve_in(expr: &mut Expr, known: &BTreeMap<String, &str>, notes: &mut Vec<String>) {
    match expr {
        Expr::Term(Term::Group(name)) if !known.contains_key(name.as_str()) => {
            let matched: Vec<(&String, &&str)> = known
                .range(name.clone()..)
                .take_while(|(lower, _)| lower.starts_with(name.as_str()))
                .collect();
            if matched.is_empty() {
                notes.push(format!("group:\"{name}\" matches no group"));
                return;
            }
            const SHOWN: usize = 5;
            let listed: Vec<&str> = matched.iter().take(SHOWN).map(|(_, n)| **n).collect();
            let more = matched.len().saturating_sub(SHOWN);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            notes.push(format!(
                "group:\"{name}\" matches {}{more} (no group has that exact name)",
                listed.join(", ")
            ));
            let mut groups: Vec<Expr> = matched
                .into_iter()
                .map(|(lower, _)| Expr::Term(Term::Group(lower.clone())))
                .collect();
            *expr = if groups.len() == 1 {
                groups.remove(0)
            } else {
                Expr::Or(groups)
            };
        }
        Expr::Term(_) => {}
        Expr::Not(inner) => resolve_in(inner, known, notes),
        Expr::And(all) | Expr::Or(all) => all.iter_mut().for_each(|e| resolve_in(e, known, notes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::GroupRef;
    use chrono::TimeZone;

    fn ctx() -> MatchContext {
        MatchContext {
            now: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap(),
            last_login: LastLoginReported::Returned,
            password_max_age_days: Some(90),
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
        changed_days: Option<i64>,
    }

    fn full(spec: Spec) -> User {
        User {
            id: spec.name.len() as i64,
            user_name: spec.name.into(),
            first_name: Some(spec.first.into()),
            last_name: Some("Smith".into()),
            pseudonym: Some(format!("{}-p", spec.first).into()),
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
            last_password_change: spec.changed_days.map(days_ago),
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
                changed_days: Some(10),
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
                changed_days: Some(85),
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
                changed_days: None,
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
                changed_days: None,
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
                changed_days: Some(80),
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
                changed_days: Some(100),
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
                changed_days: Some(40),
            }),
            basic("basic@example.com", "Basil"),
        ]
    }

    fn names_with(filter: &str, ctx: &MatchContext) -> Vec<String> {
        let f = Filter::parse(filter).unwrap();
        users()
            .iter()
            .filter(|u| f.matches(u, ctx))
            .map(|u| u.user_name.clone())
            .collect()
    }

    fn names(filter: &str) -> Vec<String> {
        names_with(filter, &ctx())
    }

    fn err(text: &str) -> String {
        Filter::parse(text).unwrap_err().0
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
        // quoted keywords are words
        assert_eq!(
            Filter::parse("\"or\"").unwrap().terms(),
            [&Term::Word(Word::new("or".into()))]
        );
        assert_eq!(names("\"-p\"").len(), 7);
    }

    #[test]
    fn status_terms_and_unknown_data() {
        assert_eq!(names("status:disabled"), ["exchange", "taxii-feed"]);
        assert_eq!(names("status:locked"), ["jonesp@example.com"]);
        assert_eq!(names("STATUS:OK").len(), 4);
        // the basic-fields account matches no status at all, nor its negation
        for s in ["ok", "locked", "disabled"] {
            assert!(!names(&format!("status:{s}")).contains(&"basic@example.com".to_string()));
            assert!(!names(&format!("-status:{s}")).contains(&"basic@example.com".to_string()));
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
    fn table_abbreviations_are_accepted() {
        assert_eq!(names("role:Admin"), names("role:administrator"));
        assert_eq!(names("role:\"exch admin\""), ["exchange"]);
        assert_eq!(names("role:\"Read Only\""), ["auditor@example.com"]);
        assert_eq!(names("orgrole:Sharing"), names("orgrole:\"sharing user\""));
        assert_eq!(
            names("orgrole:\"Org Admin\""),
            names("orgrole:\"organization administrator\"")
        );
        assert_eq!(names("orgrole:standard").len(), 3);
        assert_eq!(names("orgrole:\"RO Commenter\""), ["auditor@example.com"]);
        // the one table the console shows
        use crate::roles::{short_org_role, short_system_role};
        assert_eq!(short_system_role("Administrator"), "Admin");
        assert_eq!(short_org_role("Sharing User"), "Sharing");
        assert_eq!(short_system_role("Galactic Overlord"), "Galactic Overlord");
        // the error offers both forms
        assert!(err("role:Boss").contains("\"Administrator\" (Admin)"));
        assert!(err("orgrole:boss").contains("\"Sharing User\" (Sharing)"));
    }

    #[test]
    fn login_terms_and_durations() {
        // a known last login more than 90 whole days ago; never logged in
        // and unknown (basic fields) do not match
        assert_eq!(names("login>90d"), ["jonesp@example.com", "exchange"]);
        assert_eq!(
            names("login<7d"),
            ["smithj@example.com", "auditor@example.com"]
        );
        assert_eq!(names("login:never"), ["11112222333344445555"]);
        assert_eq!(names("login>90"), names("login>90d"));
        assert_eq!(names("login>3m"), names("login>90d"));
        assert_eq!(names("login<1w"), names("login<7d"));
        assert_eq!(names("login>13W"), names("login>91d"));
        assert!(names("login>1y").is_empty());
        let f = |t: &str| Filter::parse(t).unwrap();
        assert_eq!(f("login>2y"), f("login>730d"));
        assert_eq!(f("expires<2w"), f("expires<14d"));
        assert_eq!(f("login<1m"), f("login<30"));
    }

    #[test]
    fn password_expiry_terms() {
        // max age 90: smithj 80 days left, jonesp 5, o'brien 50, auditor
        // expired; API and TAXII accounts have no password; basic unknown
        assert_eq!(names("expires<14d"), ["jonesp@example.com"]);
        assert_eq!(
            names("expires>30d"),
            ["smithj@example.com", "o'brien\"x\\y"]
        );
        assert_eq!(names("expires:expired"), ["auditor@example.com"]);
        assert_eq!(names("expires:EXPIRED"), names("expires:expired"));
        assert_eq!(
            names("expires<14d or expires:expired"),
            ["jonesp@example.com", "auditor@example.com"]
        );
        assert_eq!(names("expires<3m").len(), 3);
        // without a max age nothing matches, negated or not
        let no_max = MatchContext {
            password_max_age_days: None,
            ..ctx()
        };
        assert!(names_with("expires:expired", &no_max).is_empty());
        assert!(names_with("expires<14d", &no_max).is_empty());
        assert_eq!(
            names_with("-expires<14d", &no_max),
            ["11112222333344445555", "exchange", "taxii-feed"]
        );
    }

    #[test]
    fn ids_one_or_a_list() {
        let everyone = users();
        let (a, b) = (everyone[3].id, everyone[4].id);
        assert_eq!(names(&format!("id:{a}")), ["exchange"]);
        assert_eq!(names(&format!("id:{a},{b}")), ["exchange", "taxii-feed"]);
        assert_eq!(names(&format!("-id:{a}")).len(), everyone.len() - 1);
        assert!(names("id:123456").is_empty());
        assert!(err("id:abc").contains("bad value 'abc' for id"));
        assert!(err("id:-3").contains("for id"));
    }

    #[test]
    fn value_lists_mean_any_of_them() {
        assert_eq!(
            names("status:locked,disabled"),
            ["jonesp@example.com", "exchange", "taxii-feed"]
        );
        assert_eq!(
            names("type:api,taxii"),
            ["11112222333344445555", "exchange", "taxii-feed"]
        );
        assert_eq!(
            names("role:admin,\"super user\""),
            ["smithj@example.com", "o'brien\"x\\y"]
        );
        assert_eq!(
            names("group:\"soc team\",\"ir team\""),
            [
                "smithj@example.com",
                "jonesp@example.com",
                "auditor@example.com"
            ]
        );
        // a comma inside quotes is part of the name
        assert_eq!(
            Filter::parse("group:\"a, b\"").unwrap().terms(),
            [&Term::Group("a, b".into())]
        );
        assert!(err("status:ok,").contains("empty item in the list after 'status:'"));
        assert!(err("status:,ok").contains("empty item"));
        assert!(err("status:ok,gone").contains("bad value 'gone' for status"));
        assert!(err("login:never,never").contains("takes one value"));
    }

    #[test]
    fn negation_with_dash_and_not() {
        let not_ok = ["jonesp@example.com", "exchange", "taxii-feed"];
        assert_eq!(names("-status:ok"), not_ok);
        assert_eq!(names("not status:ok"), not_ok);
        assert_eq!(names("NOT status:ok"), not_ok);
        assert_eq!(names("not not status:ok"), names("status:ok"));
        assert_eq!(names("not -status:ok"), names("status:ok"));
        assert_eq!(
            names("-type:user -type:api"),
            ["taxii-feed", "auditor@example.com"]
        );
        // a negated word: everyone but the match (words are always known)
        assert_eq!(names("-john").len(), users().len() - 1);
        assert_eq!(names("-\"john smith\"").len(), users().len() - 1);
        assert_eq!(names("-status:locked,disabled"), names("status:ok"));
        assert!(err("-").contains("'-' must be followed by a term"));
        assert!(err("status:ok -").contains("'-' must be followed by a term"));
        assert!(err("not").contains("'not' must be followed by a term"));
        assert!(err("not or status:ok").contains("'not' must be followed"));
    }

    #[test]
    fn or_binds_looser_than_and() {
        assert_eq!(
            names("status:locked or status:disabled"),
            names("status:locked,disabled")
        );
        assert_eq!(names("status:locked OR status:disabled").len(), 3);
        // (type:api and status:disabled) or (type:readonly)
        assert_eq!(
            names("type:api status:disabled or type:readonly"),
            ["exchange", "auditor@example.com"]
        );
        assert_eq!(
            names("type:api and status:disabled or type:readonly"),
            names("type:api status:disabled or type:readonly")
        );
        assert_eq!(
            names("john or basil"),
            ["smithj@example.com", "basic@example.com"]
        );
        for bad in [
            "or",
            "or john",
            "john or",
            "john or or basil",
            "and john",
            "john and",
            "john and or basil",
        ] {
            assert!(err(bad).contains("needs a term on each side"), "{bad}");
        }
    }

    #[test]
    fn errors_are_one_sentence_then_the_known_keys() {
        let keys = "known keys: status, role, orgrole, type, group, login, expires, mfa, id";
        assert_eq!(err("foo:bar"), format!("unknown filter key 'foo'; {keys}"));
        assert_eq!(
            err("status:gone"),
            format!("bad value 'gone' for status (expected ok, locked or disabled); {keys}")
        );
        assert!(err("role:Boss")
            .starts_with("bad value 'Boss' for role (expected a System role: \"Administrator\""));
        assert!(err("type:robot").contains("user, api, taxii or readonly"));
        assert!(err("login>soon").contains("login>90d, login<7d or login:never"));
        assert!(err("login>5x").contains("d, w, m or y"));
        assert!(err("login>101y").contains("up to 100y"));
        assert!(err("expires<99999999999999999999d").contains("bad value"));
        assert!(err("login:yesterday").contains("login:never"));
        assert!(err("expires:soon").contains("expires<14d, expires>30d or expires:expired"));
        assert!(err("status>3").contains("works only with login and expires"));
        assert!(err("colour>3").starts_with("unknown filter key 'colour'"));
        assert!(err("\"open").starts_with("unterminated quote in filter"));
        assert!(err("mfa:").starts_with("missing value after 'mfa:'"));
        assert!(err(":x").starts_with("missing filter key"));
        for text in ["foo:bar", "role:Boss", "\"open", "status:ok,", "-", "or"] {
            let e = err(text);
            assert!(!e.contains('\n'), "{e}");
            assert!(e.ends_with(keys), "{e}");
            // readable wrapped at 80 and 40 columns: nothing lost
            for width in [80, 40] {
                let lines = crate::text::wrap(&e, width);
                assert!(lines.iter().all(|l| l.chars().count() <= width));
                assert_eq!(
                    lines.join(" "),
                    e.split_whitespace().collect::<Vec<_>>().join(" ")
                );
            }
        }
        // a huge duration is refused, never a panic in the date arithmetic
        assert!(err("login<9223372036854775807d").contains("bad value"));
    }

    #[test]
    fn group_prefix_when_no_exact_name_and_says_which() {
        let groups = ["SOC Team", "IR Team", "IR Leads", "Ünïcode Group", "IR"];
        let mut f = Filter::parse("group:ir").unwrap();
        // an exact name wins: nothing to say
        assert!(f.resolve_groups(groups).is_empty());
        assert_eq!(f, Filter::parse("group:ir").unwrap());
        let mut f = Filter::parse("group:ir").unwrap();
        let notes = f.resolve_groups(groups.into_iter().filter(|g| *g != "IR"));
        assert_eq!(
            notes,
            ["group:\"ir\" matches IR Leads, IR Team (no group has that exact name)"]
        );
        let ir_team: Vec<String> = users()
            .iter()
            .filter(|u| f.matches(u, &ctx()))
            .map(|u| u.user_name.clone())
            .collect();
        assert_eq!(ir_team, names("group:\"ir team\""));
        let mut f = Filter::parse("-group:so").unwrap();
        assert_eq!(
            f.resolve_groups(groups),
            ["group:\"so\" matches SOC Team (no group has that exact name)"]
        );
        assert_eq!(f, Filter::parse("-group:\"soc team\"").unwrap());
        let mut f = Filter::parse("group:nothing").unwrap();
        assert_eq!(
            f.resolve_groups(groups),
            ["group:\"nothing\" matches no group"]
        );
        // with no group names known, nothing changes and nothing is said
        let mut f = Filter::parse("group:so").unwrap();
        assert!(f.resolve_groups([]).is_empty());
        let many: Vec<String> = (0..8).map(|i| format!("Team {i}")).collect();
        let mut f = Filter::parse("group:team").unwrap();
        let notes = f.resolve_groups(many.iter().map(String::as_str));
        assert!(notes[0].contains("Team 4 and 3 more"), "{notes:?}");
    }

    /// Accounts an Accounts Administrator sees: no System role, the rest.
    fn hidden_roles(n: usize) -> Vec<User> {
        let mut out = users();
        for u in &mut out {
            u.system_role = None;
        }
        out.truncate(n);
        out
    }

    #[test]
    fn judging_in_one_pass_agrees_with_matching_and_undecided() {
        let mut rows = users();
        rows.extend(hidden_roles(5));
        for u in rows.iter_mut().step_by(3) {
            u.last_login = None;
            u.mfa_enabled = None;
        }
        let texts: Vec<String> = rows.iter().map(Filter::search_text).collect();
        let no_logins = MatchContext {
            last_login: LastLoginReported::NotSeen,
            ..ctx()
        };
        for ctx in [ctx(), no_logins] {
            for text in [
                "john",
                "type:user",
                "role:admin status:locked",
                "role:admin or status:locked",
                "-type:api login>90d",
                "mfa:off john",
                "status:ok -mfa:on",
            ] {
                let filter = Filter::parse(text).unwrap();
                let indexed = || rows.iter().zip(texts.iter().map(String::as_str));
                let (matched, undecided) = filter.judge_indexed(indexed(), &ctx);
                let want: Vec<bool> = indexed()
                    .map(|(u, t)| filter.matches_indexed(u, t, &ctx))
                    .collect();
                assert_eq!(matched, want, "{text}");
                assert_eq!(
                    undecided,
                    filter.undecided_indexed(indexed(), &ctx),
                    "{text}"
                );
                if !filter.may_be_undecided() {
                    assert!(undecided.is_empty(), "{text}");
                }
            }
        }
    }

    #[test]
    fn undecided_terms_say_why_with_counts() {
        let said = |filter: &str, users: &[User], ctx: &MatchContext| -> Vec<String> {
            Filter::parse(filter)
                .unwrap()
                .undecided(users, ctx)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        let seven = hidden_roles(7);
        assert_eq!(
            said("type:user", &seven, &ctx()),
            ["type: unknown for 7 accounts: the instance does not show you System roles"]
        );
        // the wording from the issue, with thousands separated
        let many: Vec<User> = (0..1211).map(|_| seven[0].clone()).collect();
        assert_eq!(
            said("type:user", &many, &ctx()),
            ["type: unknown for 1,211 accounts: the instance does not show you System roles"]
        );
        // only accounts the filter could otherwise match are counted
        assert_eq!(
            said("role:admin status:locked", &seven, &ctx()),
            ["role: unknown for 1 account: the instance does not show you System roles"]
        );
        // a term decided elsewhere leaves nothing to say
        assert!(said("role:admin or status:locked", &seven, &ctx()).len() == 1);
        assert!(said("type:user", &users()[..7], &ctx()).is_empty());
        assert!(said("john -basil id:3", &users(), &ctx()).is_empty());
        // negation does not make an unknown known
        assert_eq!(said("-type:api", &seven, &ctx()).len(), 1);
        // login without last logins; mfa without MFA data; expires without a max age
        let no_logins = MatchContext {
            last_login: LastLoginReported::NotSeen,
            ..ctx()
        };
        let mut plain = users();
        for u in &mut plain {
            u.last_login = None;
            u.mfa_enabled = None;
        }
        assert_eq!(
            said("login>90d", &plain, &no_logins),
            ["login: unknown for 8 accounts: the instance does not return last logins to you"]
        );
        assert_eq!(
            said("mfa:off", &plain, &ctx()),
            ["mfa: unknown for 8 accounts: this instance does not report MFA status"]
        );
        let no_max = MatchContext {
            password_max_age_days: None,
            ..ctx()
        };
        assert_eq!(
            said("expires<14d", &users(), &no_max),
            ["expires: unknown for 5 accounts: the password max age is not known (set password_max_age_days)"]
        );
        // the basic-fields account: several keys, each said once
        assert_eq!(
            said("status:ok orgrole:standard expires:expired", &users()[7..], &ctx()),
            [
                "status: unknown for 1 account: the instance does not show you their status",
                "expires: unknown for 1 account: the instance does not return their last password change",
                "orgrole: unknown for 1 account: the instance does not show you Organization roles",
            ]
        );
        let mut odd = users()[0].clone();
        odd.system_role = Some("Galactic Overlord".into());
        assert_eq!(
            said("type:api", &[odd.clone()], &ctx()),
            ["type: unknown for 1 account: their System role is not one rollcall knows"]
        );
        // an unfamiliar role is known not to be Administrator
        assert!(said("-role:admin", &[odd], &ctx()).is_empty());
    }

    #[test]
    fn unanswerable_refuses_only_what_can_never_match() {
        let f = |t: &str| Filter::parse(t).unwrap();
        assert!(f("mfa:on")
            .unanswerable(false, true)
            .unwrap()
            .contains("MFA"));
        assert!(f("-mfa:on").unanswerable(false, true).is_some());
        assert!(f("group:x")
            .unanswerable(true, false)
            .unwrap()
            .contains("groups"));
        assert!(f("mfa:on or status:locked")
            .unanswerable(false, true)
            .is_none());
        assert!(f("mfa:on").unanswerable(true, false).is_none());
        assert!(f("status:ok").unanswerable(false, false).is_none());
    }

    fn all_support() -> TqlSupport {
        TqlSupport {
            keywords: [
                "id",
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
        let same = |f: &str, want: &str| assert_eq!(tql(f, &s).as_deref(), Some(want), "{f}");
        same("status:disabled", "disabled = true");
        same("status:locked", "locked = true and disabled = false");
        same("status:ok", "disabled = false and locked = false");
        same("role:\"read only user\"", "systemRole = \"Read Only User\"");
        same("role:Admin", "systemRole = \"Administrator\"");
        same(
            "type:api",
            "systemRole IN (\"Api User\",\"Exchange Admin\")",
        );
        same("type:taxii", "systemRole = \"Taxii User\"");
        same(
            "type:user",
            concat!(
                "systemRole IN (\"Administrator\",\"Operations Administrator\",",
                "\"Accounts Administrator\",\"Community Leader\",\"Super User\",\"User\")"
            ),
        );
        same("orgrole:Sharing", "orgRole = \"Sharing User\"");
        same("group:\"SOC Team\"", "groupId = 1");
        assert_eq!(tql("group:nowhere", &s), None);
        same("login<7d", "lastLogin > \"2026-11-18 12:00:00\"");
        same("login<1w", "lastLogin > \"2026-11-18 12:00:00\"");
        same("mfa:off", "mfaEnabled = false");
        same("id:7", "id = 7");
        same("id:7,8", "id IN (7,8)");
        // lists and or
        same(
            "type:api,taxii",
            "systemRole IN (\"Api User\",\"Exchange Admin\",\"Taxii User\")",
        );
        same(
            "role:admin,user type:user",
            "systemRole IN (\"Administrator\",\"User\") and systemRole IN (\"Administrator\",\"Operations Administrator\",\"Accounts Administrator\",\"Community Leader\",\"Super User\",\"User\")",
        );
        same(
            "status:locked,disabled",
            "((locked = true and disabled = false) or disabled = true)",
        );
        same(
            "mfa:off status:ok or type:taxii",
            "((mfaEnabled = false and disabled = false and locked = false) or systemRole = \"Taxii User\")",
        );
        // an or with one untranslatable side cannot be sent
        assert_eq!(tql("status:locked or smith", &s), None);
        assert_eq!(tql("status:ok type:api or smith", &s), None);
        same(
            "smith status:ok or type:api status:ok",
            concat!(
                "((disabled = false and locked = false and systemRole IN (\"Api User\",\"Exchange Admin\"))",
                " or (disabled = false and locked = false))"
            ),
        );
        // negations: != and NOT IN only
        same("-status:disabled", "disabled = false");
        same("-status:locked", "(disabled = true or locked = false)");
        same("not status:ok", "(disabled = true or locked = true)");
        same("-role:admin", "systemRole != \"Administrator\"");
        same(
            "-type:api",
            "systemRole NOT IN (\"Api User\",\"Exchange Admin\")",
        );
        same("-type:taxii", "systemRole != \"Taxii User\"");
        same("-orgrole:sharing", "orgRole != \"Sharing User\"");
        same("-group:\"ir team\"", "groupId != 2");
        same("-mfa:on", "mfaEnabled = false");
        same("-id:7", "id != 7");
        // never sent: words, login>N, login:never, expires, negated lists,
        // negated logins and words
        for f in [
            "john \"pat jones\" login>90d login:never",
            "expires<14d expires:expired expires>30d",
            "-status:locked,disabled",
            "-login<7d -john -group:nowhere",
        ] {
            assert_eq!(tql(f, &s), None, "{f}");
        }
        same(
            "john status:disabled type:taxii",
            "disabled = true and systemRole = \"Taxii User\"",
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
            "id:4,5",
            "-role:user",
            "status:ok or status:locked",
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
    /// semantics: a clause on a null field never matches (also `!=`).
    fn tql_matches(tql: &str, user: &User) -> bool {
        let tql = tql.trim();
        if let Some(inner) = tql.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
            if balanced(inner) {
                return tql_matches(inner, user);
            }
        }
        if let Some(parts) = split_top(tql, " or ") {
            return parts.iter().any(|p| tql_matches(p, user));
        }
        if let Some(parts) = split_top(tql, " and ") {
            return parts.iter().all(|p| tql_matches(p, user));
        }
        clause_matches(tql, user)
    }

    fn balanced(text: &str) -> bool {
        let mut depth = 0i32;
        let mut quoted = false;
        let mut prev = ' ';
        for c in text.chars() {
            match c {
                '"' if prev != '\\' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => {
                    depth -= 1;
                    if depth < 0 {
                        return false;
                    }
                }
                _ => {}
            }
            prev = c;
        }
        depth == 0
    }

    /// `text` split at `sep` outside parentheses and quotes, when it occurs.
    fn split_top<'a>(text: &'a str, sep: &str) -> Option<Vec<&'a str>> {
        let (mut depth, mut quoted, mut prev) = (0, false, ' ');
        let mut parts = Vec::new();
        let mut start = 0;
        for (i, c) in text.char_indices() {
            match c {
                '"' if prev != '\\' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => depth -= 1,
                _ if depth == 0 && !quoted && text[i..].starts_with(sep) && i >= start => {
                    parts.push(&text[start..i]);
                    start = i + sep.len();
                }
                _ => {}
            }
            prev = c;
        }
        (!parts.is_empty()).then(|| {
            parts.push(&text[start..]);
            parts
        })
    }

    fn clause_matches(clause: &str, user: &User) -> bool {
        let (key, rest) = clause.split_once(' ').unwrap();
        let (op, value) = if let Some(v) = rest.strip_prefix("NOT IN ") {
            ("NOT IN", v)
        } else {
            rest.split_once(' ').unwrap()
        };
        let unquote = |v: &str| v.trim_matches('"').replace("\\\"", "\"");
        let list = |v: &str| -> Vec<String> {
            v.trim_start_matches('(')
                .trim_end_matches(')')
                .split(',')
                .map(unquote)
                .collect()
        };
        let text_field = |field: Option<&str>| -> Option<bool> {
            let field = field?;
            Some(match op {
                "=" => field == unquote(value),
                "!=" => field != unquote(value),
                "IN" => list(value).iter().any(|v| v == field),
                "NOT IN" => !list(value).iter().any(|v| v == field),
                other => panic!("op {other}"),
            })
        };
        let flag = |field: Option<bool>| -> Option<bool> {
            let field = field?;
            Some(match op {
                "=" => field == (value == "true"),
                "!=" => field != (value == "true"),
                other => panic!("op {other}"),
            })
        };
        let id_in = |id: i64| -> bool {
            match op {
                "=" => id == value.parse::<i64>().unwrap(),
                "!=" => id != value.parse::<i64>().unwrap(),
                "IN" => list(value).iter().any(|v| v.parse::<i64>().unwrap() == id),
                other => panic!("op {other}"),
            }
        };
        let answer = match key {
            "disabled" => flag(user.disabled),
            "locked" => flag(user.locked),
            "mfaEnabled" => flag(user.mfa_enabled),
            "systemRole" => text_field(user.system_role.as_deref()),
            "orgRole" => text_field(user.org_role_name()),
            "id" => Some(id_in(user.id)),
            "groupId" => user.user_groups.as_ref().map(|g| match op {
                "=" => g.iter().any(|g| id_in(g.id)),
                "!=" => !g.iter().any(|g| g.id == value.parse::<i64>().unwrap()),
                other => panic!("op {other}"),
            }),
            "lastLogin" => {
                assert_eq!(op, ">");
                let at =
                    chrono::NaiveDateTime::parse_from_str(&unquote(value), "%Y-%m-%d %H:%M:%S")
                        .unwrap()
                        .and_utc();
                user.last_login.map(|t| t > at)
            }
            other => panic!("unexpected TQL clause {other:?}"),
        };
        answer == Some(true)
    }

    /// Every construct, for the TQL and the narrowing checks.
    const FILTERS: &[&str] = &[
        "status:ok",
        "status:locked",
        "status:disabled",
        "status:locked,disabled",
        "-status:ok",
        "-status:locked",
        "not status:disabled",
        "role:administrator",
        "role:Admin,\"super user\"",
        "-role:admin",
        "role:\"api user\"",
        "type:api",
        "type:api,taxii",
        "-type:api",
        "not type:taxii",
        "type:user",
        "type:taxii status:disabled",
        "type:readonly mfa:on",
        "orgrole:\"organization administrator\" type:api",
        "orgrole:Sharing or orgrole:Standard",
        "-orgrole:\"Org Admin\"",
        "group:\"soc team\"",
        "-group:\"soc team\"",
        "group:\"ir team\" login<7d",
        "group:\"Ünïcode Group\"",
        "group:\"soc team\",\"ir team\"",
        "login<7d",
        "login<8d",
        "login<1w or status:locked",
        "login>90d status:ok",
        "login>3m",
        "-login>3m",
        "login:never",
        "mfa:off status:locked",
        "-mfa:off",
        "smith status:ok",
        "example type:user login<200d",
        "expires<14d",
        "expires<2w or expires:expired",
        "expires>30d type:user",
        "id:7",
        "id:7,8,20",
        "-id:7",
        "type:api status:disabled or type:readonly",
        "status:ok mfa:off or group:\"ir team\" -status:locked",
        "smith or status:locked",
    ];

    #[test]
    fn tql_prefilter_then_local_equals_local_only() {
        let support = all_support();
        let mut everyone = users();
        // an account with a System role rollcall does not know
        let mut odd = everyone[0].clone();
        odd.id = 77;
        odd.system_role = Some("Galactic Overlord".into());
        everyone.push(odd);
        let mut translated = 0;
        for text in FILTERS {
            let filter = Filter::parse(text).unwrap();
            let tql = filter.to_tql(&support, &ctx());
            translated += usize::from(tql.is_some());
            let local: Vec<&str> = everyone
                .iter()
                .filter(|u| filter.matches(u, &ctx()))
                .map(|u| u.user_name.as_str())
                .collect();
            let prefiltered: Vec<&str> = everyone
                .iter()
                .filter(|u| tql.as_deref().is_none_or(|t| tql_matches(t, u)))
                .filter(|u| filter.matches(u, &ctx()))
                .map(|u| u.user_name.as_str())
                .collect();
            assert_eq!(local, prefiltered, "filter {text}: TQL {tql:?}");
            // each translated conjunct alone also keeps every local match
            for e in filter.conjuncts() {
                if let Some(part) = e.to_tql(&support, &ctx()) {
                    for u in &everyone {
                        if e.truth(u, &Filter::search_text(u), &ctx()) == Truth::Yes {
                            assert!(
                                tql_matches(&part, u),
                                "{text}: {part} drops {}",
                                u.user_name
                            );
                        }
                    }
                }
            }
        }
        assert!(translated > 30, "{translated}");
    }

    #[test]
    fn role_codes_and_plain_evaluation_agree() {
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
        everyone.extend(hidden_roles(7));
        for text in FILTERS {
            let filter = Filter::parse(text).unwrap();
            for u in &everyone {
                let text_of = Filter::search_text(u);
                let indexed = filter.truth(u, Some(&text_of), &ctx());
                // a caller without precomputed text gets the same answer
                assert_eq!(
                    indexed,
                    filter.truth(u, None, &ctx()),
                    "{text} {}",
                    u.user_name
                );
                if !filter.needs_text {
                    assert_eq!(
                        indexed,
                        filter.truth(u, Some(""), &ctx()),
                        "{text} {}",
                        u.user_name
                    );
                }
                assert_eq!(indexed == Truth::Yes, filter.matches(u, &ctx()));
            }
        }
        let super_user =
            Filter::parse("type:user role:\"super user\" orgrole:\"sharing user\"").unwrap();
        assert!(super_user.matches(&odd, &ctx()));
    }

    #[test]
    fn words_never_match_separators_or_role_codes() {
        assert!(Filter::parse("\"\u{1e}\"")
            .unwrap_err()
            .0
            .starts_with("empty word in filter"));
        let f = Filter::parse("\"john\u{1}\"").unwrap();
        assert_eq!(f.terms(), [&Term::Word(Word::new("john".into()))]);
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
        // a negated or alternative word is not narrowed by a longer one
        assert!(!f("-smith").narrows(&f("-smi")));
        assert!(!f("smith or x").narrows(&f("smi or x")));
        assert!(!f("smi or status:ok").narrows(&f("smi")));
        assert!(f("-smi status:ok").narrows(&f("-smi")));
        // Narrowing agrees with scanning everything again.
        let all = users();
        for (old, new) in [
            ("e", "ex"),
            ("a", "a status:ok"),
            ("o", "on type:user"),
            ("-smi", "-smi status:ok"),
        ] {
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

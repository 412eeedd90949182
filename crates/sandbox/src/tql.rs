//! The TQL the sandbox understands for users, compiled to parameterised
//! SQL: user input only ever becomes a bound parameter.
//!
//! Vocabulary: the keywords of tcex's user filter (`user_filter.py`), plus
//! `orgRole` and `mfaEnabled` as advertised rollcall extensions when the
//! sandbox runs with its extensions. Grammar (tcex `tql_operator.py` and the
//! docs' "Filter Results" page):
//!
//! ```text
//! expr   := and ( OR and )*
//! and    := factor ( AND factor )*
//! factor := '(' expr ')' | keyword op value | keyword [NOT] IN '(' value, ... ')'
//!         | keyword IS [NOT] NULL
//! op     := = != > < >= <= | EQ NE GT GEQ LT LEQ
//!         | [NOT] CONTAINS | [NOT] STARTSWITH | [NOT] ENDSWITH | [NOT] LIKE
//! ```
//! Values are double-quoted strings (backslash escapes), integers,
//! `true`/`false`; dates are quoted, as tcex writes them
//! (`"YYYY-MM-DD HH:MM:SS"`, UTC), as `"YYYY-MM-DD"` or RFC 3339.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rusqlite::types::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Integer,
    Date,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "String",
            Kind::Boolean => "Boolean",
            Kind::Integer => "Integer",
            Kind::Date => "Date",
        }
    }
}

/// Who may filter on a keyword: filtering on a field reveals it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Basic,
    Detail,
    SystemRole,
}

#[derive(Debug)]
pub struct Keyword {
    pub keyword: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    /// SQL expression over `u` (users) and `o` (home org).
    column: &'static str,
    pub visibility: Visibility,
    pub extension: bool,
}

const fn kw(
    keyword: &'static str,
    name: &'static str,
    kind: Kind,
    column: &'static str,
    visibility: Visibility,
    extension: bool,
) -> Keyword {
    Keyword {
        keyword,
        name,
        kind,
        column,
        visibility,
        extension,
    }
}

use Kind::{Boolean, Date, Integer, String as Str};
use Visibility::{Basic, Detail, SystemRole};

/// tcex's user keywords (alphabetical, as `user_filter.py` lists them),
/// then the rollcall extensions.
pub const KEYWORDS: &[Keyword] = &[
    kw("disabled", "Disabled", Boolean, "u.disabled", Detail, false),
    kw("firstName", "First Name", Str, "u.first_name", Basic, false),
    kw("groupId", "User Group ID", Integer, "", Detail, false),
    kw("id", "ID", Integer, "u.id", Basic, false),
    kw(
        "jobFunction",
        "Job Function",
        Str,
        "u.job_function",
        Detail,
        false,
    ),
    kw("jobRole", "Job Role", Str, "u.job_role", Detail, false),
    kw(
        "lastLogin",
        "Last Login",
        Date,
        "u.last_login",
        Detail,
        false,
    ),
    kw("lastName", "Last Name", Str, "u.last_name", Basic, false),
    kw(
        "lastPasswordChange",
        "Last Password Change",
        Date,
        "u.last_password_change",
        Detail,
        false,
    ),
    kw("locked", "Locked", Boolean, "u.locked", Detail, false),
    kw(
        "passwordResetRequired",
        "Password Reset Required",
        Boolean,
        "u.password_reset_required",
        Detail,
        false,
    ),
    kw("pseudonym", "Pseudonym", Str, "u.pseudonym", Basic, false),
    kw(
        "systemRole",
        "System Role",
        Str,
        "u.system_role",
        SystemRole,
        false,
    ),
    kw(
        "termsAccepted",
        "Terms Accepted",
        Boolean,
        "u.terms_accepted",
        Detail,
        false,
    ),
    kw(
        "termsAcceptedDate",
        "Terms Accepted Date",
        Date,
        "u.terms_accepted_date",
        Detail,
        false,
    ),
    kw(
        "tqlTimeout",
        "TQL Timeout",
        Integer,
        "u.tql_timeout",
        Detail,
        false,
    ),
    kw("userName", "User Name", Str, "u.user_name", Basic, false),
    kw(
        "orgRole",
        "Organization Role",
        Str,
        "u.org_role",
        Detail,
        true,
    ),
    kw(
        "mfaEnabled",
        "MFA Enabled",
        Boolean,
        "u.mfa_enabled",
        Detail,
        true,
    ),
];

impl Keyword {
    /// The SQL expression the keyword stands for (empty for `groupId`).
    pub fn sql_column(&self) -> &'static str {
        self.column
    }
}

/// The keywords served: extensions only when the sandbox offers them.
pub fn keywords(extensions: bool) -> impl Iterator<Item = &'static Keyword> {
    KEYWORDS.iter().filter(move |k| extensions || !k.extension)
}

pub fn keyword(name: &str, extensions: bool) -> Option<&'static Keyword> {
    keywords(extensions).find(|k| k.keyword.eq_ignore_ascii_case(name))
}

/// A compiled filter: `sql` uses `?` placeholders bound to `params` in order.
#[derive(Debug, Default)]
pub struct Compiled {
    pub sql: String,
    pub params: Vec<Value>,
    pub keywords: Vec<&'static Keyword>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(i64),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::LParen);
            }
            ')' => {
                chars.next();
                out.push(Token::RParen);
            }
            ',' => {
                chars.next();
                out.push(Token::Comma);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string (missing closing \")".into()),
                        Some('\\') => match chars.next() {
                            Some(e) => s.push(e),
                            None => return Err("a string ends with a lone backslash".into()),
                        },
                        Some('"') => break,
                        Some(ch) => s.push(ch),
                    }
                }
                out.push(Token::Str(s));
            }
            '=' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                }
                out.push(Token::Op("="));
            }
            '!' => {
                chars.next();
                if chars.next() != Some('=') {
                    return Err("'!' must be followed by '='".into());
                }
                out.push(Token::Op("!="));
            }
            '<' | '>' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                    out.push(Token::Op(if c == '<' { "<=" } else { ">=" }));
                } else {
                    out.push(Token::Op(if c == '<' { "<" } else { ">" }));
                }
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut s = String::new();
                s.push(c);
                chars.next();
                while let Some(&d) = chars.peek() {
                    if d.is_ascii_digit() {
                        s.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                let n = s.parse::<i64>().map_err(|_| format!("bad number {s:?}"))?;
                out.push(Token::Num(n));
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut s = String::new();
                while let Some(&d) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' {
                        s.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(s));
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `=`, `!=`, `<`, `>`, `<=`, `>=` (the word forms map here).
    Cmp(&'static str),
    Contains,
    StartsWith,
    EndsWith,
    Like,
    In,
}

fn word_op(word: &str) -> Option<Op> {
    Some(match word.to_ascii_uppercase().as_str() {
        "EQ" => Op::Cmp("="),
        "NE" => Op::Cmp("!="),
        "GT" => Op::Cmp(">"),
        "GEQ" => Op::Cmp(">="),
        "LT" => Op::Cmp("<"),
        "LEQ" => Op::Cmp("<="),
        "CONTAINS" => Op::Contains,
        "STARTSWITH" => Op::StartsWith,
        "ENDSWITH" => Op::EndsWith,
        "LIKE" => Op::Like,
        "IN" => Op::In,
        _ => return None,
    })
}

/// Dates as tcex sends them (`%Y-%m-%d %H:%M:%S`, UTC), as a day, or RFC
/// 3339; stored and compared as RFC 3339 UTC text.
fn parse_date(text: &str) -> Option<String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(super::db::fmt_time(t.with_timezone(&Utc)));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Some(super::db::fmt_time(t.and_utc()));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let t = day.and_hms_opt(0, 0, 0)?.and_utc();
    Some(super::db::fmt_time(t))
}

fn literal(k: &Keyword, tok: &Token) -> Result<Value, String> {
    match (k.kind, tok) {
        (Kind::String, Token::Str(s)) => Ok(Value::Text(s.clone())),
        (Kind::Integer, Token::Num(n)) => Ok(Value::Integer(*n)),
        (Kind::Integer, Token::Str(s)) => s
            .trim()
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("{} expects an integer, not {s:?}", k.keyword)),
        (Kind::Boolean, Token::Word(w)) if w.eq_ignore_ascii_case("true") => Ok(Value::Integer(1)),
        (Kind::Boolean, Token::Word(w)) if w.eq_ignore_ascii_case("false") => Ok(Value::Integer(0)),
        (Kind::Date, Token::Str(s)) => parse_date(s).map(Value::Text).ok_or_else(|| {
            format!(
                "{} expects a date (\"YYYY-MM-DD HH:MM:SS\", \"YYYY-MM-DD\" or ISO-8601), not {s:?}",
                k.keyword
            )
        }),
        (kind, other) => Err(format!(
            "{} expects a {} value, not {}",
            k.keyword,
            kind.name(),
            describe(other)
        )),
    }
}

fn describe(tok: &Token) -> String {
    match tok {
        Token::Word(w) => format!("'{w}'"),
        Token::Str(s) => format!("\"{s}\""),
        Token::Num(n) => n.to_string(),
        Token::Op(o) => format!("'{o}'"),
        Token::LParen => "'('".into(),
        Token::RParen => "')'".into(),
        Token::Comma => "','".into(),
    }
}

/// Nesting deeper than this is refused (no stack exhaustion on hostile input).
const MAX_DEPTH: usize = 64;
/// More conditions than this are refused with a 400: SQLite would refuse the
/// expression tree ("too large") with a 500 that clients retry.
pub const MAX_CONDITIONS: usize = 250;

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    conditions: usize,
    extensions: bool,
    out: Compiled,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn expr(&mut self, depth: usize) -> Result<String, String> {
        if depth > MAX_DEPTH {
            return Err("the query nests parentheses too deeply".into());
        }
        let mut ors = vec![self.and(depth)?];
        while self.peek_word("or") {
            self.pos += 1;
            ors.push(self.and(depth)?);
        }
        Ok(if ors.len() == 1 {
            ors.remove(0)
        } else {
            format!("({})", ors.join(" OR "))
        })
    }

    fn and(&mut self, depth: usize) -> Result<String, String> {
        let mut ands = vec![self.factor(depth)?];
        while self.peek_word("and") {
            self.pos += 1;
            ands.push(self.factor(depth)?);
        }
        Ok(if ands.len() == 1 {
            ands.remove(0)
        } else {
            format!("({})", ands.join(" AND "))
        })
    }

    fn factor(&mut self, depth: usize) -> Result<String, String> {
        match self.peek() {
            Some(Token::LParen) => {
                self.pos += 1;
                let inner = self.expr(depth + 1)?;
                if self.peek() != Some(&Token::RParen) {
                    return Err("missing ')'".into());
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Token::Word(w)) => {
                let k = keyword(w, self.extensions)
                    .ok_or_else(|| format!("unknown TQL keyword '{w}'"))?;
                self.pos += 1;
                self.condition(k)
            }
            Some(other) => Err(format!("expected a keyword, found {}", describe(other))),
            None => Err("expected a keyword at the end".into()),
        }
    }

    fn condition(&mut self, k: &'static Keyword) -> Result<String, String> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(format!(
                "the query has more than {MAX_CONDITIONS} conditions; narrow it"
            ));
        }
        if !self.out.keywords.iter().any(|seen| std::ptr::eq(*seen, k)) {
            self.out.keywords.push(k);
        }
        let (negated, op) = match self.peek().cloned() {
            Some(Token::Op(o)) => (false, Op::Cmp(o)),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("is") => {
                self.pos += 1;
                let negated = self.peek_word("not");
                if negated {
                    self.pos += 1;
                }
                if !self.peek_word("null") {
                    return Err(format!("expected NULL after {} IS", k.keyword));
                }
                self.pos += 1;
                return Ok(null_test(k, negated));
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") => {
                self.pos += 1;
                match self.peek() {
                    Some(Token::Word(w)) => match word_op(w) {
                        Some(
                            op @ (Op::In | Op::Contains | Op::StartsWith | Op::EndsWith | Op::Like),
                        ) => (true, op),
                        _ => return Err(format!("NOT cannot precede '{w}'")),
                    },
                    _ => return Err(format!("expected an operator after {} NOT", k.keyword)),
                }
            }
            Some(Token::Word(w)) => match word_op(&w) {
                Some(op) => (false, op),
                None => {
                    return Err(format!(
                        "expected an operator after {}, found '{w}'",
                        k.keyword
                    ))
                }
            },
            Some(other) => {
                return Err(format!(
                    "expected an operator after {}, found {}",
                    k.keyword,
                    describe(&other)
                ))
            }
            None => return Err(format!("expected an operator after {}", k.keyword)),
        };
        self.pos += 1;
        let mut values = Vec::new();
        if op == Op::In {
            if self.peek() != Some(&Token::LParen) {
                return Err("IN must be followed by a list in parentheses".into());
            }
            self.pos += 1;
            loop {
                let tok = self.peek().ok_or("unterminated IN list (missing ')')")?;
                values.push(literal(k, tok)?);
                self.pos += 1;
                match self.peek() {
                    Some(Token::Comma) => self.pos += 1,
                    Some(Token::RParen) => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err("expected ',' or ')' in an IN list".into()),
                }
            }
        } else {
            let tok = self
                .peek()
                .ok_or_else(|| format!("expected a value after {}", k.keyword))?;
            values.push(literal(k, tok)?);
            self.pos += 1;
        }
        clause(k, op, negated, values, &mut self.out.params)
    }
}

#[cfg(test)]
mod limits_tests {
    use super::*;

    #[test]
    fn a_huge_query_is_refused_before_sqlite_sees_it() {
        let many = vec!["userName = \"a\""; MAX_CONDITIONS + 1].join(" and ");
        let error = compile(&many, true).unwrap_err();
        assert!(error.contains("more than 250 conditions"), "{error}");
        let fine = vec!["userName = \"a\""; MAX_CONDITIONS].join(" and ");
        assert!(compile(&fine, true).is_ok());
    }
}

/// Compiles `text` to a SQL boolean expression with `?` placeholders;
/// `extensions` admits the rollcall extension keywords.
pub fn compile(text: &str, extensions: bool) -> Result<Compiled, String> {
    let tokens = lex(text)?;
    if tokens.is_empty() {
        return Err("empty TQL".into());
    }
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
        conditions: 0,
        extensions,
        out: Compiled::default(),
    };
    let sql = parser.expr(0)?;
    if let Some(extra) = parser.peek() {
        return Err(format!("expected AND or OR, found {}", describe(extra)));
    }
    let mut out = parser.out;
    out.sql = sql;
    Ok(out)
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

const GROUP_MEMBERS: &str = "SELECT ug.user_id FROM user_groups ug WHERE ug.group_id";

fn null_test(k: &Keyword, negated: bool) -> String {
    let not = if negated { "NOT " } else { "" };
    if k.keyword == "groupId" {
        // "in no group" / "in some group".
        let has = "u.id IN (SELECT ug.user_id FROM user_groups ug)".to_string();
        return if negated { has } else { format!("NOT {has}") };
    }
    format!("{} IS {not}NULL", k.column)
}

/// `%`, `_` and `\` taken literally inside a LIKE pattern (ESCAPE '\').
fn like_literal(v: &Value) -> Value {
    match v {
        Value::Text(s) => {
            let mut out = String::with_capacity(s.len());
            for c in s.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            Value::Text(out)
        }
        other => other.clone(),
    }
}

fn clause(
    k: &Keyword,
    op: Op,
    negated: bool,
    values: Vec<Value>,
    params: &mut Vec<Value>,
) -> Result<String, String> {
    if k.keyword == "groupId" {
        let n = values.len();
        params.extend(values);
        let sub = format!("{GROUP_MEMBERS} IN ({})", placeholders(n));
        return match (op, negated) {
            (Op::Cmp("="), _) | (Op::In, false) => Ok(format!("u.id IN ({sub})")),
            (Op::Cmp("!="), _) | (Op::In, true) => Ok(format!("u.id NOT IN ({sub})")),
            _ => Err("groupId supports only =, !=, IN and NOT IN".into()),
        };
    }
    let text = k.kind == Kind::String;
    let col = if text {
        format!("{} COLLATE NOCASE", k.column)
    } else {
        k.column.to_string()
    };
    // A negated test also matches NULL (unknown, never): "not equal".
    let negate = |positive: String| format!("({} IS NULL OR NOT ({positive}))", k.column);
    match op {
        Op::Cmp(o) => {
            if k.kind == Kind::Boolean && !matches!(o, "=" | "!=") {
                return Err(format!(
                    "{} is Boolean and supports only = and !=",
                    k.keyword
                ));
            }
            params.extend(values);
            if o == "!=" {
                Ok(negate(format!("{col} = ?")))
            } else {
                Ok(format!("{col} {o} ?"))
            }
        }
        Op::In => {
            let n = values.len();
            params.extend(values);
            let positive = format!("{col} IN ({})", placeholders(n));
            Ok(if negated { negate(positive) } else { positive })
        }
        Op::Contains | Op::StartsWith | Op::EndsWith | Op::Like => {
            if !text {
                return Err(format!(
                    "CONTAINS, STARTSWITH, ENDSWITH and LIKE need a String keyword, not {}",
                    k.keyword
                ));
            }
            let positive = match op {
                Op::Contains => {
                    params.extend(values);
                    format!("instr(lower({}), lower(?)) > 0", k.column)
                }
                Op::StartsWith => {
                    params.extend(values);
                    format!("instr(lower({}), lower(?)) = 1", k.column)
                }
                Op::EndsWith => {
                    params.extend(values.iter().map(like_literal));
                    format!("lower({}) LIKE '%' || lower(?) ESCAPE '\\'", k.column)
                }
                // TQL's LIKE takes `%` wildcards, as SQL's does.
                _ => {
                    params.extend(values);
                    format!("lower({}) LIKE lower(?)", k.column)
                }
            };
            Ok(if negated { negate(positive) } else { positive })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_to_placeholders_only() {
        let c = compile(r#"userName = "a\"b' OR 1=1" and disabled = TRUE"#, false).unwrap();
        assert!(!c.sql.contains("OR 1=1"));
        assert_eq!(c.params.len(), 2);
        assert_eq!(c.params[0], Value::Text("a\"b' OR 1=1".into()));
        assert_eq!(c.params[1], Value::Integer(1));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(compile("nope = 1", true)
            .unwrap_err()
            .contains("unknown TQL keyword 'nope'"));
        // tcex's user filter has no owner keyword
        assert!(compile("owner = \"Demo Organization\"", true)
            .unwrap_err()
            .contains("unknown TQL keyword 'owner'"));
        assert!(compile("disabled = \"x\"", true)
            .unwrap_err()
            .contains("Boolean"));
        assert!(compile("userName = \"x", true)
            .unwrap_err()
            .contains("unterminated"));
        assert!(compile("lastLogin > \"yesterday\"", true)
            .unwrap_err()
            .contains("expects a date"));
        assert!(compile("groupId IN (1, 2", true).is_err());
        assert!(compile("disabled > true", true).is_err());
        assert!(compile("(userName = \"x\"", true)
            .unwrap_err()
            .contains("')'"));
        assert!(compile("userName = \"x\" userName = \"y\"", true).is_err());
        assert!(compile("userName NOT = \"x\"", true).is_err());
        let deep = format!("{}id = 1{}", "(".repeat(100), ")".repeat(100));
        assert!(compile(&deep, true).unwrap_err().contains("deeply"));
    }

    #[test]
    fn extension_keywords_only_with_extensions() {
        assert!(compile("orgRole = \"Standard User\"", true).is_ok());
        assert!(compile("mfaEnabled = true", true).is_ok());
        assert!(compile("orgRole = \"Standard User\"", false)
            .unwrap_err()
            .contains("unknown TQL keyword 'orgRole'"));
        assert!(compile("mfaEnabled = true", false).is_err());
        assert_eq!(keywords(false).count(), 17);
        assert_eq!(keywords(true).count(), 19);
    }

    #[test]
    fn in_lists_and_dates() {
        let c = compile(r#"groupId in (1,2,3) AND lastLogin >= "2024-01-01""#, false).unwrap();
        assert_eq!(c.params.len(), 4);
        assert_eq!(c.params[3], Value::Text("2024-01-01T00:00:00Z".into()));
        let c = compile(r#"lastLogin GT "2024-01-02 03:04:05""#, false).unwrap();
        assert_eq!(c.params[0], Value::Text("2024-01-02T03:04:05Z".into()));
        let c = compile(r#"lastLogin < "2024-01-02T03:04:05+01:00""#, false).unwrap();
        assert_eq!(c.params[0], Value::Text("2024-01-02T02:04:05Z".into()));
    }

    #[test]
    fn or_binds_looser_than_and() {
        let c = compile(
            r#"id = 1 or id = 2 and (userName ENDSWITH "x" or userName NOT IN ("a","b"))"#,
            false,
        )
        .unwrap();
        assert!(
            c.sql.starts_with("(u.id = ? OR (u.id = ? AND ("),
            "{}",
            c.sql
        );
        assert_eq!(c.params.len(), 5);
        let c = compile("pseudonym is null or jobRole IS NOT NULL", false).unwrap();
        assert_eq!(c.sql, "(u.pseudonym IS NULL OR u.job_role IS NOT NULL)");
        assert!(c.params.is_empty());
    }
}

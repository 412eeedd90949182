//! The TQL subset the sandbox understands for users, compiled to
//! parameterised SQL: user input only ever becomes a bound parameter.
//!
//! Grammar: `cond (AND cond)*`, where `cond` is `keyword op value` or
//! `keyword IN (value, ...)`; ops `= != < > <= >= CONTAINS STARTSWITH`;
//! values are double-quoted strings (backslash escapes), numbers,
//! `true`/`false`; dates are quoted ISO-8601.

use chrono::{DateTime, NaiveDate, Utc};
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

pub const KEYWORDS: &[Keyword] = &[
    kw("id", "ID", Kind::Integer, "u.id", Visibility::Basic, false),
    kw(
        "userName",
        "User Name",
        Kind::String,
        "u.user_name",
        Visibility::Basic,
        false,
    ),
    kw(
        "firstName",
        "First Name",
        Kind::String,
        "u.first_name",
        Visibility::Basic,
        false,
    ),
    kw(
        "lastName",
        "Last Name",
        Kind::String,
        "u.last_name",
        Visibility::Basic,
        false,
    ),
    kw(
        "pseudonym",
        "Pseudonym",
        Kind::String,
        "u.pseudonym",
        Visibility::Basic,
        false,
    ),
    kw(
        "owner",
        "Organization",
        Kind::String,
        "o.name",
        Visibility::Basic,
        false,
    ),
    kw(
        "systemRole",
        "System Role",
        Kind::String,
        "u.system_role",
        Visibility::SystemRole,
        false,
    ),
    kw(
        "disabled",
        "Disabled",
        Kind::Boolean,
        "u.disabled",
        Visibility::Detail,
        false,
    ),
    kw(
        "locked",
        "Locked",
        Kind::Boolean,
        "u.locked",
        Visibility::Detail,
        false,
    ),
    kw(
        "passwordResetRequired",
        "Password Reset Required",
        Kind::Boolean,
        "u.password_reset_required",
        Visibility::Detail,
        false,
    ),
    kw(
        "lastLogin",
        "Last Login",
        Kind::Date,
        "u.last_login",
        Visibility::Detail,
        false,
    ),
    kw(
        "lastPasswordChange",
        "Last Password Change",
        Kind::Date,
        "u.last_password_change",
        Visibility::Detail,
        false,
    ),
    kw(
        "groupId",
        "User Group ID",
        Kind::Integer,
        "",
        Visibility::Detail,
        false,
    ),
    kw(
        "orgRole",
        "Organization Role",
        Kind::String,
        "u.org_role",
        Visibility::Detail,
        true,
    ),
    kw(
        "mfaEnabled",
        "MFA Enabled",
        Kind::Boolean,
        "u.mfa_enabled",
        Visibility::Detail,
        true,
    ),
];

impl Keyword {
    /// The SQL expression the keyword stands for (empty for `groupId`).
    pub fn sql_column(&self) -> &'static str {
        self.column
    }
}

pub fn keyword(name: &str) -> Option<&'static Keyword> {
    KEYWORDS
        .iter()
        .find(|k| k.keyword.eq_ignore_ascii_case(name))
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
    Cmp(&'static str),
    Contains,
    StartsWith,
    In,
}

fn parse_date(text: &str) -> Option<String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(super::db::fmt_time(t.with_timezone(&Utc)));
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
        (Kind::Date, Token::Str(s)) => parse_date(s)
            .map(Value::Text)
            .ok_or_else(|| format!("{} expects an ISO-8601 date, not {s:?}", k.keyword)),
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

/// Compiles `text` to a SQL boolean expression with `?` placeholders.
pub fn compile(text: &str) -> Result<Compiled, String> {
    let tokens = lex(text)?;
    let mut pos = 0;
    let mut out = Compiled::default();
    let mut clauses = Vec::new();
    if tokens.is_empty() {
        return Err("empty TQL".into());
    }
    loop {
        let k = match tokens.get(pos) {
            Some(Token::Word(w)) => {
                keyword(w).ok_or_else(|| format!("unknown TQL keyword '{w}'"))?
            }
            Some(other) => return Err(format!("expected a keyword, found {}", describe(other))),
            None => return Err("expected a keyword at the end".into()),
        };
        pos += 1;
        let op = match tokens.get(pos) {
            Some(Token::Op(o)) => Op::Cmp(o),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("in") => Op::In,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("contains") => Op::Contains,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("startswith") => Op::StartsWith,
            Some(other) => {
                return Err(format!(
                    "expected an operator after {}, found {}",
                    k.keyword,
                    describe(other)
                ))
            }
            None => return Err(format!("expected an operator after {}", k.keyword)),
        };
        pos += 1;
        let mut values = Vec::new();
        if op == Op::In {
            if tokens.get(pos) != Some(&Token::LParen) {
                return Err("IN must be followed by a list in parentheses".into());
            }
            pos += 1;
            loop {
                let tok = tokens
                    .get(pos)
                    .ok_or("unterminated IN list (missing ')')")?;
                values.push(literal(k, tok)?);
                pos += 1;
                match tokens.get(pos) {
                    Some(Token::Comma) => pos += 1,
                    Some(Token::RParen) => {
                        pos += 1;
                        break;
                    }
                    _ => return Err("expected ',' or ')' in an IN list".into()),
                }
            }
        } else {
            let tok = tokens
                .get(pos)
                .ok_or_else(|| format!("expected a value after {}", k.keyword))?;
            values.push(literal(k, tok)?);
            pos += 1;
        }
        clauses.push(clause(k, op, values, &mut out.params)?);
        if !out.keywords.iter().any(|seen| std::ptr::eq(*seen, k)) {
            out.keywords.push(k);
        }
        match tokens.get(pos) {
            None => break,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("and") => pos += 1,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("or") => {
                return Err("OR is not supported by this instance; use IN (...)".into())
            }
            Some(other) => return Err(format!("expected AND, found {}", describe(other))),
        }
    }
    out.sql = clauses.join(" AND ");
    Ok(out)
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn clause(
    k: &Keyword,
    op: Op,
    values: Vec<Value>,
    params: &mut Vec<Value>,
) -> Result<String, String> {
    if k.keyword == "groupId" {
        let n = values.len();
        params.extend(values);
        let sub = format!(
            "SELECT ug.user_id FROM user_groups ug WHERE ug.group_id IN ({})",
            placeholders(n)
        );
        return match op {
            Op::Cmp("=") | Op::In => Ok(format!("u.id IN ({sub})")),
            Op::Cmp("!=") => Ok(format!("u.id NOT IN ({sub})")),
            _ => Err("groupId supports only =, != and IN".into()),
        };
    }
    let text = k.kind == Kind::String;
    let col = if text {
        format!("{} COLLATE NOCASE", k.column)
    } else {
        k.column.to_string()
    };
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
                // NULL (unknown, never) counts as "not equal".
                Ok(format!("({} IS NULL OR {col} != ?)", k.column))
            } else {
                Ok(format!("{col} {o} ?"))
            }
        }
        Op::In => {
            let n = values.len();
            params.extend(values);
            Ok(format!("{col} IN ({})", placeholders(n)))
        }
        Op::Contains | Op::StartsWith => {
            if !text {
                return Err(format!(
                    "CONTAINS and STARTSWITH need a String keyword, not {}",
                    k.keyword
                ));
            }
            params.extend(values);
            let cmp = if op == Op::Contains { "> 0" } else { "= 1" };
            Ok(format!("instr(lower({}), lower(?)) {cmp}", k.column))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_to_placeholders_only() {
        let c = compile(r#"userName = "a\"b' OR 1=1" and disabled = TRUE"#).unwrap();
        assert!(!c.sql.contains("OR 1=1"));
        assert_eq!(c.params.len(), 2);
        assert_eq!(c.params[0], Value::Text("a\"b' OR 1=1".into()));
        assert_eq!(c.params[1], Value::Integer(1));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(compile("nope = 1")
            .unwrap_err()
            .contains("unknown TQL keyword 'nope'"));
        assert!(compile("disabled = \"x\"").unwrap_err().contains("Boolean"));
        assert!(compile("userName = \"x")
            .unwrap_err()
            .contains("unterminated"));
        assert!(compile("lastLogin > \"yesterday\"")
            .unwrap_err()
            .contains("ISO-8601"));
        assert!(compile("groupId IN (1, 2").is_err());
        assert!(compile("disabled > true").is_err());
    }

    #[test]
    fn in_lists_and_dates() {
        let c = compile(r#"groupId in (1,2,3) AND lastLogin >= "2024-01-01""#).unwrap();
        assert_eq!(c.params.len(), 4);
        assert_eq!(c.params[3], Value::Text("2024-01-01T00:00:00Z".into()));
    }
}

//! Building blocks for ThreatConnect Query Language (TQL) text. Everything
//! that builds TQL quotes strings through here.

/// Escapes `'`, `"`, `` ` `` and `\` with a backslash (SPEC section 4), for
/// use inside a double-quoted TQL string.
pub fn escape_tql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '\'' | '"' | '`' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A complete double-quoted TQL string literal.
pub fn quote(s: &str) -> String {
    format!("\"{}\"", escape_tql_string(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(escape_tql_string("plain"), "plain");
        assert_eq!(escape_tql_string(r#"a"b"#), r#"a\"b"#);
        assert_eq!(escape_tql_string(r"a\b"), r"a\\b");
        assert_eq!(escape_tql_string("o'brien"), r"o\'brien");
        assert_eq!(escape_tql_string("a`b"), r"a\`b");
        assert_eq!(quote(r#"x" or "1"#), r#""x\" or \"1""#);
    }
}

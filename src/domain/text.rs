//! Making server-supplied text safe to write to a terminal.

use std::borrow::Cow;

/// Shows control characters and escape sequences escaped, never emitted:
/// ESC as `\e`, other C0/C1 controls and DEL as `\xNN`, and bidirectional
/// overrides (which reorder what follows them) as `\u{NNNN}`.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if c == '\u{1b}' {
            out.push_str("\\e");
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

/// A CSV cell: sanitized, and kept from being read as a spreadsheet
/// formula (a leading `=`, `+`, `-` or `@` gets a `'`).
pub fn csv_cell(text: &str) -> String {
    let clean = sanitize(text);
    if clean.starts_with(['=', '+', '-', '@']) {
        format!("'{clean}")
    } else {
        clean.into_owned()
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            sanitize("Jöhn Smith"),
            Cow::Borrowed("Jöhn Smith")
        ));
    }

    #[test]
    fn escape_sequences_are_shown_not_emitted() {
        assert_eq!(sanitize("a\u{1b}[31mred"), "a\\e[31mred");
        assert_eq!(sanitize("bell\u{7}"), "bell\\x07");
        assert_eq!(
            sanitize("line\nbreak\ttab\r"),
            "line\\x0abreak\\x09tab\\x0d"
        );
        assert_eq!(sanitize("c1\u{9b}2J"), "c1\\x9b2J");
        assert_eq!(sanitize("del\u{7f}"), "del\\x7f");
        assert_eq!(sanitize("evil\u{202e}txt"), "evil\\u{202e}txt");
        let out = sanitize("\u{1b}]0;title\u{7}\u{1b}[2J");
        assert!(!out.chars().any(|c| c.is_control()));
    }
}

//! Making server-supplied text safe to write to a terminal, and measuring
//! it: [`sanitize`] is the one rule for what may reach a terminal, and
//! [`display_width`] / [`fit`] the one width every view uses, so the
//! table, forms and popups agree with each other and with the terminal.

use std::borrow::Cow;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Shows control characters and escape sequences escaped, never emitted:
/// ESC as `\e`, other C0/C1 controls and DEL as `\xNN`, and bidirectional
/// overrides (which reorder what follows them), zero-width and joining
/// characters and variation selectors (which terminals and width tables
/// disagree on, shifting every cell after them) as `\u{NNNN}`.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    // Printable ASCII (most text) needs no look at each char's class.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(needs_escape) {
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

/// As [`sanitize`], keeping line breaks: for messages of several lines
/// (the CLI's error output goes through this, whatever the message holds).
pub fn sanitize_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && needs_escape(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.split('\n')
            .map(|line| sanitize(line))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// A CSV cell: sanitized, and kept from being read as a spreadsheet
/// formula (a leading `=`, `+`, `-` or `@` gets a `'`).
pub fn csv_cell(text: &str) -> String {
    csv_cell_borrowed(text).into_owned()
}

/// As [`csv_cell`], borrowing `text` when it needs no change (most cells).
pub fn csv_cell_borrowed(text: &str) -> Cow<'_, str> {
    let clean = sanitize(text);
    if clean.starts_with(['=', '+', '-', '@']) {
        Cow::Owned(format!("'{clean}"))
    } else {
        clean
    }
}

/// True when `c` must not reach a terminal as it is (see [`sanitize`]).
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_invisible_format(c)
}

/// Zero-width and joining characters, variation selectors and other
/// invisible format characters: a ZWJ emoji sequence is one cell pair to
/// one terminal and three to another, so they are shown escaped.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{034f}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}'
        | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}'
        | '\u{1d173}'..='\u{1d17a}' | '\u{e0000}'..='\u{e007f}' | '\u{e0100}'..='\u{e01ef}')
}

/// Columns `text` takes once sanitized: the one width rule of the table,
/// the forms and the popups.
pub fn display_width(text: &str) -> usize {
    sanitize(text).width()
}

/// `text` sanitized and cut to at most `width` columns, ending in `…` when
/// cut. A wide character that would straddle the edge is left out whole.
pub fn fit(text: &str, width: usize) -> Cow<'_, str> {
    let clean = sanitize(text);
    if clean.width() <= width {
        return clean;
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::with_capacity(width * 2);
    let mut used = 0;
    for c in clean.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    Cow::Owned(out)
}

/// The indexes of the `labels` that hold every word of `query`, ignoring
/// case: type-ahead in every pick list.
pub fn type_ahead<'a>(labels: impl Iterator<Item = &'a str>, query: &str) -> Vec<usize> {
    let query = query.to_lowercase();
    let words: Vec<&str> = query.split_whitespace().collect();
    labels
        .enumerate()
        .filter(|(_, label)| {
            let label = label.to_lowercase();
            words.iter().all(|w| label.contains(w))
        })
        .map(|(i, _)| i)
        .collect()
}

/// A count with thousands separated: "10,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `text` sanitized and split into lines of at most `width` columns, at
/// spaces; a word longer than a line is broken, so nothing is ever cut off
/// (refusals and server messages are shown whole).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let clean = sanitize(text);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in clean.split_whitespace() {
        let word_width = word.width();
        let gap = usize::from(!line.is_empty());
        if used + gap + word_width <= width {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(word);
            used += gap + word_width;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        for c in word.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += w;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A JSON export (pretty, ending in a newline) that is safe on a terminal:
/// the one way every command writes JSON for people and tools.
pub fn json_export<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, SafePretty::at_depth(0));
    value.serialize(&mut serializer)?;
    out.push(b'\n');
    String::from_utf8(out).map_err(serde::ser::Error::custom)
}

/// A line break and the indentation of up to 31 levels.
const NEW_LINE: &[u8; 63] = b"\n                                                              ";

/// serde_json's pretty layout (two spaces per level) starting `depth`
/// levels in, with every string made safe to print as
/// [`json_terminal_safe`] does: the one JSON writer of exports, so an
/// array written element by element (a streamed listing) is byte for byte
/// the array written whole, with no second pass over the text.
pub struct SafePretty {
    depth: usize,
    has_value: bool,
}

impl SafePretty {
    pub fn at_depth(depth: usize) -> Self {
        SafePretty {
            depth,
            has_value: false,
        }
    }

    /// A line break and this depth's indentation, in one write.
    fn new_line<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(&new_line_bytes(self.depth))
    }
}

impl SafePretty {
    fn open<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        bracket: &[u8],
    ) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        bracket: &[u8],
    ) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.new_line(w)?;
        }
        w.write_all(bracket)
    }

    fn next_line<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.new_line(w)
    }
}

impl serde_json::ser::Formatter for SafePretty {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next_line(w, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.next_line(w, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    /// serde_json has escaped C0 controls, quotes and backslashes; what
    /// it leaves (DEL, C1 controls, bidirectional and invisible format
    /// characters) is escaped here.
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // A fragment holds no C0 control (serde escaped them): ASCII below
        // DEL needs nothing, the common case.
        // (`is_ascii` and `memchr` look at many bytes at once.)
        if fragment.is_ascii() && memchr::memchr(0x7f, fragment.as_bytes()).is_none() {
            return w.write_all(fragment.as_bytes());
        }
        w.write_all(json_terminal_safe(fragment).as_bytes())
    }
}

/// Whether eight bytes are all printable ASCII other than `"` and `\`
/// (what a JSON string holds as it is), tested as one word.
fn eight_plain(eight: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut word = [0u8; 8];
    word.copy_from_slice(eight);
    let w = u64::from_le_bytes(word);
    // The high bit of each byte of `v` that is zero.
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    let special = below_space
        | (w & HIGHS)
        | zero(w ^ (ONES * 0x7f))
        | zero(w ^ (ONES * u64::from(b'"')))
        | zero(w ^ (ONES * u64::from(b'\\')));
    special == 0
}

/// `text` as a quoted JSON string, byte for byte as serde_json and
/// [`SafePretty`] write it together: serde's escapes for quotes,
/// backslashes and C0 controls, then `\uNNNN` for what [`SafePretty`]
/// escapes (DEL, C1 controls, bidirectional and invisible format
/// characters). For export writers that do not go through serde; runs of
/// printable ASCII are copied whole.
pub fn write_json_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.push(b'"');
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight plain bytes at a time, the common case.
        if let Some(eight) = bytes.get(i..i + 8) {
            if eight_plain(eight) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        if b < 0x80 {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                _ => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]),
            }
            i += 1;
        } else {
            let c = text[i..].chars().next().unwrap_or('\u{fffd}');
            let len = c.len_utf8();
            if c.is_control() || is_bidi_control(c) || is_invisible_format(c) {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
                }
            } else {
                out.extend_from_slice(&bytes[i..i + len]);
            }
            i += len;
        }
        run = i;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// `,`, a line break, `depth` levels of indentation and a key's opening
/// quote, by depth: how a member after the first starts (the first, the
/// same without the comma).
const MEMBER_STARTS: [&str; 6] = [
    ",\n\"",
    ",\n  \"",
    ",\n    \"",
    ",\n      \"",
    ",\n        \"",
    ",\n          \"",
];

/// An object written in [`SafePretty`]'s layout without serde: members
/// one per line, `depth` levels in. Keys are the caller's own names
/// (plain ASCII, written as they are); values are written by the caller
/// after [`JsonObject::key`].
pub struct JsonObject<'a> {
    pub out: &'a mut Vec<u8>,
    depth: usize,
    members: usize,
}

impl<'a> JsonObject<'a> {
    /// Opens an object whose closing brace sits `depth` levels in.
    pub fn open(out: &'a mut Vec<u8>, depth: usize) -> Self {
        out.push(b'{');
        JsonObject {
            out,
            depth,
            members: 0,
        }
    }

    /// Starts a member: its line, its indentation, its key.
    pub fn key(&mut self, key: &str) {
        // The separator, line, indentation and opening quote in one piece
        // where the depth is a usual one (a listing writes 25 a record).
        let depth = self.depth + 1;
        match MEMBER_STARTS.get(depth) {
            Some(start) => {
                let first = usize::from(self.members == 0);
                self.members += 1;
                self.out.extend_from_slice(&start.as_bytes()[first..]);
            }
            None => {
                self.next_member();
                self.out.push(b'"');
            }
        }
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\": ");
    }

    /// Starts a member whose key is any text (a map's), escaped as a
    /// string is.
    pub fn key_text(&mut self, key: &str) {
        self.next_member();
        write_json_string(self.out, key);
        self.out.extend_from_slice(b": ");
    }

    /// The separator after the member before, and the member's line.
    fn next_member(&mut self) {
        if self.members > 0 {
            self.out.push(b',');
        }
        self.members += 1;
        json_new_line(self.out, self.depth + 1);
    }

    /// The depth of this object's members (for values that nest).
    pub fn member_depth(&self) -> usize {
        self.depth + 1
    }

    pub fn close(self) {
        if self.members > 0 {
            json_new_line(self.out, self.depth);
        }
        self.out.push(b'}');
    }
}

/// A line break and `depth` levels of [`SafePretty`]'s indentation.
pub fn json_new_line(out: &mut Vec<u8>, depth: usize) {
    out.extend_from_slice(&new_line_bytes(depth));
}

/// A line break and `depth` levels of indentation: a slice of
/// [`NEW_LINE`], built only past its 31 levels.
fn new_line_bytes(depth: usize) -> Cow<'static, [u8]> {
    match NEW_LINE.get(..1 + 2 * depth) {
        Some(line) => Cow::Borrowed(line),
        None => {
            let mut line = vec![b' '; 1 + 2 * depth];
            line[0] = b'\n';
            Cow::Owned(line)
        }
    }
}

/// JSON text safe to print: serde_json escapes C0 controls; C1 controls,
/// DEL, bidirectional overrides and invisible format characters are
/// escaped too (`\u00NN`), so every JSON export is the same data and
/// never moves a terminal.
pub fn json_terminal_safe(json: &str) -> Cow<'_, str> {
    let escape =
        |c: char| (c.is_control() && c != '\n') || is_bidi_control(c) || is_invisible_format(c);
    // Printable ASCII and newlines need nothing: a byte scan, the common case.
    let plain_ascii = json.bytes().all(|b| matches!(b, b' '..=b'~' | b'\n'));
    if plain_ascii || !json.chars().any(escape) {
        return Cow::Borrowed(json);
    }
    let mut safe = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                safe.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            safe.push(c);
        }
    }
    Cow::Owned(safe)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `write_json_string` as it was before it skipped plain bytes eight
    /// at a time: the reference below.
    fn one_byte_at_a_time(text: &str) -> Vec<u8> {
        let mut out = vec![b'"'];
        for c in text.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                }
                c if c.is_control() || is_bidi_control(c) || is_invisible_format(c) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
                    }
                }
                c => out.extend_from_slice(c.to_string().as_bytes()),
            }
        }
        out.push(b'"');
        out
    }

    #[test]
    fn strings_are_escaped_at_every_place_in_every_length() {
        let specials = [
            "\"",
            "\\",
            "\n",
            "\t",
            "\u{1}",
            "\u{1f}",
            "\u{7f}",
            " ",
            "~",
            "\u{e9}",
            "\u{85}",
            "\u{202e}",
            "\u{200b}",
            "\u{1F600}",
            "\u{ff}",
        ];
        for len in 0..24 {
            for at in 0..=len {
                for special in specials {
                    let mut text = "ab".repeat(len).chars().take(len).collect::<String>();
                    text.insert_str(at, special);
                    let mut out = Vec::new();
                    write_json_string(&mut out, &text);
                    assert_eq!(
                        String::from_utf8_lossy(&out),
                        String::from_utf8_lossy(&one_byte_at_a_time(&text)),
                        "{text:?}"
                    );
                }
            }
        }
    }

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

    #[test]
    fn invisible_characters_are_shown_and_widths_agree() {
        // A family emoji joined by ZWJ, a zero-width space, a BOM.
        let joined = "a\u{1f468}\u{200d}\u{1f469}b\u{200b}c\u{feff}";
        let shown = sanitize(joined);
        assert_eq!(shown, "a\u{1f468}\\u{200d}\u{1f469}b\\u{200b}c\\u{feff}");
        assert_eq!(display_width(joined), shown.width());
        assert_eq!(display_width("ab"), 2);
        assert_eq!(display_width("日本"), 4);
    }

    #[test]
    fn fit_cuts_with_an_ellipsis_by_width() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("exactly10!", 10), "exactly10!");
        assert_eq!(fit("longer than ten", 10), "longer th…");
        assert_eq!(fit("日本語テキスト", 6), "日本…");
        assert_eq!(display_width(&fit("日本語テキスト", 6)), 5);
        assert_eq!(fit("x\u{1b}[2J", 3), "x\\…");
        assert_eq!(fit("anything", 0), "");
    }

    #[test]
    fn wrap_keeps_every_character_within_the_width() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("0123456789abc", 5), ["01234", "56789", "abc"]);
        assert_eq!(wrap("a 日本語です", 4), ["a", "日本", "語で", "す"]);
        let text = "refused: \u{1b}[31m a very long server message";
        let lines = wrap(text, 12);
        assert!(lines.iter().all(|l| display_width(l) <= 12), "{lines:?}");
        assert_eq!(
            lines.concat().replace(' ', ""),
            sanitize(text).replace(' ', "")
        );
    }

    #[test]
    fn the_export_formatter_writes_what_pretty_printing_then_escaping_wrote() {
        let value = serde_json::json!({
            "a": ["x\u{9b}31m", {"b\u{202e}": "c\u{7f}d\u{200b}", "e": []}, {}],
            "f": "plain ö \u{1b}[2J",
            "g": [1, 2.5, null, true],
        });
        let before = format!(
            "{}\n",
            json_terminal_safe(&serde_json::to_string_pretty(&value).unwrap())
        );
        assert_eq!(json_export(&value).unwrap(), before);
        assert!(!before.contains('\u{202e}') && before.contains("\\u202e"));
        // Deeper than one write of indentation covers.
        let mut deep = serde_json::json!({"leaf": ["x", 1]});
        for depth in 0..40 {
            deep = serde_json::json!({ format!("level{depth}"): [deep, depth] });
        }
        let pretty = format!("{}\n", serde_json::to_string_pretty(&deep).unwrap());
        assert_eq!(json_export(&deep).unwrap(), pretty);
    }

    #[test]
    fn json_exports_escape_what_serde_leaves() {
        let json = serde_json::to_string("c1\u{9b}del\u{7f}rtl\u{202e}zw\u{200b}").unwrap();
        let safe = json_terminal_safe(&json);
        assert!(!safe.chars().any(needs_escape), "{safe}");
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "c1\u{9b}del\u{7f}rtl\u{202e}zw\u{200b}");
    }
}

//! One line of text being typed, the same everywhere: the prompts (`/`,
//! `:`, find), the type-ahead of the pick lists, the typed confirmations
//! and the form's text fields. tui-input keeps the text and the cursor;
//! this adds the length limit and the console's editing commands.

use super::registry::Cmd;
use tui_input::{Input, InputRequest};

/// The most characters a prompt (`/`, `:`) or a form text field takes: far
/// beyond any real filter or name, and small enough that each keystroke
/// stays cheap (a 200,000-character paste once kept the console busy for
/// minutes).
pub const MAX_INPUT: usize = 1_000;

/// What typing or pasting took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Typed {
    /// Characters inserted.
    pub taken: usize,
    /// Some were left out: the line was full.
    pub cut: bool,
}

/// A line of text with a cursor and a length limit. It reads as the text
/// it holds (`Deref<Target = str>`).
#[derive(Debug, Clone)]
pub struct LineEditor {
    input: Input,
    max: usize,
}

impl Default for LineEditor {
    fn default() -> LineEditor {
        LineEditor::new(MAX_INPUT)
    }
}

impl LineEditor {
    /// An empty line taking at most `max` characters.
    pub fn new(max: usize) -> LineEditor {
        LineEditor {
            input: Input::default(),
            max,
        }
    }

    /// `text` (cut to `max`) with the cursor at `cursor`, or at the end.
    pub fn with_text(text: &str, cursor: Option<usize>, max: usize) -> LineEditor {
        let mut line = LineEditor::new(max);
        line.set(text);
        if let Some(at) = cursor {
            let at = at.min(line.input.value().chars().count());
            line.input = std::mem::take(&mut line.input).with_cursor(at);
        }
        line
    }

    pub fn as_str(&self) -> &str {
        self.input.value()
    }

    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.input.cursor()
    }

    /// The text left of the cursor (its width places the terminal cursor).
    pub fn before_cursor(&self) -> &str {
        let end = self
            .as_str()
            .char_indices()
            .nth(self.cursor())
            .map_or(self.as_str().len(), |(at, _)| at);
        &self.as_str()[..end]
    }

    /// Replaces the text (cut to the limit), the cursor at its end.
    pub fn set(&mut self, text: &str) {
        let text: String = text.chars().take(self.max).collect();
        self.input = Input::new(text);
    }

    /// Inserts one character at the cursor; `false` when the line is full.
    pub fn insert_char(&mut self, c: char) -> bool {
        self.insert(c.encode_utf8(&mut [0; 4])).taken > 0
    }

    pub fn clear(&mut self) {
        self.input.reset();
    }

    /// Inserts at the cursor what fits; a control character (a pasted line
    /// break or tab) becomes a space, as words in one line are separated.
    pub fn insert(&mut self, text: &str) -> Typed {
        let room = self.max.saturating_sub(self.input.value().chars().count());
        let mut chars = text.chars();
        let mut taken = 0;
        for c in chars.by_ref().take(room) {
            let c = if c.is_control() { ' ' } else { c };
            self.input.handle(InputRequest::InsertChar(c));
            taken += 1;
        }
        Typed {
            taken,
            cut: chars.next().is_some(),
        }
    }

    /// Runs an editing command; `false` when `cmd` is not one.
    pub fn edit(&mut self, cmd: Cmd) -> bool {
        let request = match cmd {
            Cmd::DeleteChar => InputRequest::DeletePrevChar,
            Cmd::DeleteNextChar => InputRequest::DeleteNextChar,
            Cmd::DeleteWord => {
                self.delete_word();
                return true;
            }
            Cmd::ClearInput => InputRequest::DeleteLine,
            Cmd::CursorLeft => InputRequest::GoToPrevChar,
            Cmd::CursorRight => InputRequest::GoToNextChar,
            Cmd::CursorStart => InputRequest::GoToStart,
            Cmd::CursorEnd => InputRequest::GoToEnd,
            _ => return false,
        };
        self.input.handle(request);
        true
    }

    /// Deletes the word left of the cursor and the spaces after it, as a
    /// shell's Ctrl-w does: words are what spaces separate, so a filter
    /// term like `status:locked` goes in one.
    fn delete_word(&mut self) {
        let before = self.before_cursor();
        let kept = before.trim_end();
        let cut = kept.rfind(char::is_whitespace).map_or(0, |i| {
            i + kept[i..].chars().next().map_or(1, char::len_utf8)
        });
        let removed = before[cut..].chars().count();
        let text = format!("{}{}", &before[..cut], &self.as_str()[before.len()..]);
        let cursor = self.cursor() - removed;
        self.input = Input::new(text).with_cursor(cursor);
    }
}

impl std::ops::Deref for LineEditor {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<&str> for LineEditor {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for LineEditor {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, cursor: usize) -> LineEditor {
        LineEditor::with_text(text, Some(cursor), MAX_INPUT)
    }

    #[test]
    fn typing_inserts_at_the_cursor_up_to_the_limit() {
        let mut editor = LineEditor::new(5);
        assert_eq!(editor.insert("ac").taken, 2);
        editor.edit(Cmd::CursorLeft);
        editor.insert("b");
        assert_eq!((editor.as_str(), editor.cursor()), ("abc", 2));
        let typed = editor.insert("x\ny");
        assert_eq!(
            typed,
            Typed {
                taken: 2,
                cut: true
            }
        );
        assert_eq!(editor, "abx c");
        assert_eq!(
            editor.insert("z"),
            Typed {
                taken: 0,
                cut: true
            }
        );
    }

    #[test]
    fn ctrl_w_deletes_the_space_separated_word_before_the_cursor() {
        let mut editor = line("status:locked bob  ", 19);
        editor.edit(Cmd::DeleteWord);
        assert_eq!((editor.as_str(), editor.cursor()), ("status:locked ", 14));
        editor.edit(Cmd::DeleteWord);
        assert_eq!(editor, "");
        let mut editor = line("añb cd", 3);
        editor.edit(Cmd::DeleteWord);
        assert_eq!((editor.as_str(), editor.cursor()), (" cd", 0));
        let mut editor = line("a\u{a0}é x", 3);
        editor.edit(Cmd::DeleteWord);
        assert_eq!((editor.as_str(), editor.cursor()), ("a\u{a0} x", 2));
    }

    #[test]
    fn the_editing_commands_move_and_delete() {
        let mut editor = line("abcd", 4);
        editor.edit(Cmd::CursorStart);
        editor.edit(Cmd::DeleteNextChar);
        assert_eq!((editor.as_str(), editor.cursor()), ("bcd", 0));
        editor.edit(Cmd::CursorEnd);
        editor.edit(Cmd::DeleteChar);
        assert_eq!(editor.before_cursor(), "bc");
        editor.edit(Cmd::CursorLeft);
        assert_eq!(editor.before_cursor(), "b");
        editor.edit(Cmd::CursorRight);
        editor.edit(Cmd::ClearInput);
        assert_eq!(editor, "");
        assert!(!editor.edit(Cmd::Quit));
    }
}

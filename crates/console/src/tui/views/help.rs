//! Help, rendered from the keys in force and the command registry, so it
//! always matches the keys that work. Each section takes a title line and
//! a line per binding: `Keymap::help_line` counts on that to open help at
//! the section of the mode it came from.

use super::{popup, popup_room, Theme};
use crate::tui::app::App;
use crate::tui::columns::Column;
use crate::tui::keymap::{Keymap, Mode, Scope};
use crate::tui::registry::Cmd;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// Draws help; returns its lines and the lines showing.
pub(super) fn render(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
) -> Option<(usize, usize)> {
    let lines = lines(theme, &app.keymap, app.read_only());
    let outer = popup(popup_room(area), 72, lines.len() as u16 + 2);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Help ", theme.title))
        .title_bottom(Line::from(scroll_hints(&app.keymap, Mode::Help, "close")).right_aligned());
    let inner = block.inner(outer);
    let text = (lines.len(), usize::from(inner.height));
    frame.render_widget(Clear, outer);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((super::text_scroll(&app.help, text.0, text.1), 0)),
        outer,
    );
    Some(text)
}

/// " Esc close  j/k scroll " of a scrolled popup, from the keys in force.
pub(super) fn scroll_hints(keymap: &Keymap, mode: Mode, close: &str) -> String {
    super::key_hints(
        keymap,
        mode,
        &[(&[Cmd::Close], close), (&[Cmd::Down, Cmd::Up], "scroll")],
    )
}

const KEY_WIDTH: usize = 20;

/// Read-only: the write keys and commands are left out.
fn lines(theme: &Theme, keymap: &Keymap, read_only: bool) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for section in keymap.sections() {
        out.push(Line::styled(keymap.title(section.scope), theme.header));
        for binding in section.bindings.iter().filter(|b| b.shown(read_only)) {
            let keys: Vec<String> = binding.keys.iter().map(|k| k.label()).collect();
            out.push(Line::from(vec![
                Span::styled(format!("  {:<KEY_WIDTH$}", keys.join(", ")), theme.key),
                Span::raw(binding.doc),
            ]));
        }
    }
    let shown = |cmd: &&Cmd| !(read_only && cmd.is_write());
    out.push(Line::styled("Commands", theme.header));
    for cmd in Cmd::ALL.iter().filter(|c| c.spec().prompt).filter(shown) {
        let usage = cmd.usage();
        // A long usage gets its own line: it never runs into the text.
        if usage.len() >= KEY_WIDTH {
            out.push(Line::styled(format!("  {usage}"), theme.key));
            out.push(Line::from(vec![
                Span::raw(format!("  {:<KEY_WIDTH$}", "")),
                Span::raw(cmd.doc()),
            ]));
        } else {
            out.push(Line::from(vec![
                Span::styled(format!("  {usage:<KEY_WIDTH$}"), theme.key),
                Span::raw(cmd.doc()),
            ]));
        }
    }
    let columns: Vec<&str> = Column::ALL.iter().map(|c| c.key()).collect();
    for (i, chunk) in columns.chunks(4).enumerate() {
        let label = if i == 0 { "COLUMN" } else { "" };
        out.push(Line::from(vec![
            Span::styled(format!("  {label:<KEY_WIDTH$}"), theme.key),
            Span::raw(chunk.join(", ")),
        ]));
    }
    out.push(Line::styled("In the table", theme.header));
    for (mark, meaning) in [
        ("?", "not returned by the instance"),
        ("MFA", "after the status: MFA enabled"),
        ("unknown", "the instance does not say"),
        ("User API TAXII RO", "Type: User, API, TAXII, Read Only"),
        ("…1234", "a long id cut: its end kept"),
        ("‹ ›", "more columns left / right (Left, Right)"),
    ] {
        out.push(Line::from(vec![
            Span::styled(format!("  {mark:<KEY_WIDTH$}"), theme.key),
            Span::raw(meaning),
        ]));
    }
    out.push(Line::styled(
        "Your own keys: [keys] in the config file",
        theme.header,
    ));
    let modes: Vec<&str> = Scope::ALL.iter().map(|s| s.name()).collect();
    let mut names = vec!["the : commands"];
    names.extend(
        Cmd::ALL
            .iter()
            .filter(|c| !c.spec().prompt)
            .filter(shown)
            .map(|c| c.name()),
    );
    for (label, names) in [("[keys.MODE]", modes), ("NAME = KEYS", names)] {
        for (i, line) in wrap_names(&names, HELP_TEXT_WIDTH).into_iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            out.push(Line::from(vec![
                Span::styled(format!("  {label:<KEY_WIDTH$}"), theme.key),
                Span::raw(line),
            ]));
        }
    }
    out
}

/// Room for text after the keys in the 72-column popup.
const HELP_TEXT_WIDTH: usize = 72 - 2 - 2 - KEY_WIDTH;

/// `names` joined by commas, in lines of at most `width`.
fn wrap_names(names: &[&str], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for name in names {
        if !line.is_empty() && line.len() + 2 + name.len() > width {
            lines.push(std::mem::take(&mut line) + ",");
        }
        if !line.is_empty() {
            line.push_str(", ");
        }
        line.push_str(name);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

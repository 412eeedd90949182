//! Help, rendered from the keymap tables and the command table, so it
//! always matches the keys that work.

use super::{popup, popup_room, Theme};
use crate::tui::app::App;
use crate::tui::columns::Column;
use crate::tui::keymap;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub(super) fn render(app: &mut App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let lines = lines(theme, app.read_only());
    let outer = popup(popup_room(area), 72, lines.len() as u16 + 2);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Help ", theme.title))
        .title_bottom(Line::from(" Esc close  j/k scroll ").right_aligned());
    let inner = block.inner(outer);
    app.popup_height = inner.height;
    app.popup_lines = lines.len() as u16;
    app.help_scroll = app
        .help_scroll
        .min(app.popup_lines.saturating_sub(app.popup_height));
    frame.render_widget(Clear, outer);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((app.help_scroll, 0)),
        outer,
    );
}

const KEY_WIDTH: usize = 20;

/// Read-only: the write keys and commands are left out.
fn lines(theme: &Theme, read_only: bool) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (title, bindings) in keymap::sections() {
        out.push(Line::styled(title, theme.header));
        for binding in bindings {
            if read_only && binding.action.is_write() {
                continue;
            }
            let keys: Vec<String> = binding.keys.iter().map(|k| k.label()).collect();
            out.push(Line::from(vec![
                Span::styled(format!("  {:<KEY_WIDTH$}", keys.join(", ")), theme.key),
                Span::raw(binding.description),
            ]));
        }
    }
    out.push(Line::styled("Commands", theme.header));
    for command in keymap::COMMANDS {
        if read_only && command.kind.is_write() {
            continue;
        }
        let usage = format!(":{} {}", command.names.join(", :"), command.args);
        let usage = usage.trim_end();
        // A long usage gets its own line: it never runs into the text.
        if usage.len() >= KEY_WIDTH {
            out.push(Line::styled(format!("  {usage}"), theme.key));
            out.push(Line::from(vec![
                Span::raw(format!("  {:<KEY_WIDTH$}", "")),
                Span::raw(command.description),
            ]));
        } else {
            out.push(Line::from(vec![
                Span::styled(format!("  {usage:<KEY_WIDTH$}"), theme.key),
                Span::raw(command.description),
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
    out
}

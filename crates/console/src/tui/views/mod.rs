//! Drawing: one function per part of the screen. Everything from the
//! server passes through `sanitize` on its way to the terminal.

mod bulk;
mod detail;
mod form;
mod header;
mod help;
mod journal;
mod offboard;
mod picker;
mod review;
mod status;
mod table;

use super::app::{App, Geometry};
use super::keymap::{Keymap, Mode};
use super::list::ListCursor;
use super::registry::Cmd;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::Frame;

/// Styles; with NO_COLOR only modifiers, so nothing depends on colour.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    pub title: Style,
    pub header: Style,
    pub selected: Style,
    pub error: Style,
    pub badge: Style,
    pub dim: Style,
    pub key: Style,
}

impl Theme {
    pub fn new(no_color: bool) -> Theme {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        if no_color {
            Theme {
                title: bold,
                header: bold.add_modifier(Modifier::UNDERLINED),
                selected: Style::default().add_modifier(Modifier::REVERSED),
                error: bold,
                badge: bold.add_modifier(Modifier::REVERSED),
                dim: Style::default(),
                key: bold,
            }
        } else {
            Theme {
                title: bold.fg(Color::Cyan),
                header: bold.fg(Color::Yellow),
                selected: Style::default().add_modifier(Modifier::REVERSED),
                error: bold.fg(Color::Red),
                badge: bold.fg(Color::Black).bg(Color::Yellow),
                dim: Style::default().fg(Color::DarkGray),
                key: bold.fg(Color::Cyan),
            }
        }
    }
}

/// Draws the whole console from the App as it is, and returns the layout
/// it arrived at (for `Action::Geometry`). Renders only the rows on
/// screen, so the cost does not grow with the number of accounts.
pub fn draw(app: &App, frame: &mut Frame) -> Geometry {
    let mut geometry = Geometry::default();
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return geometry;
    }
    let theme = Theme::new(app.no_color);
    let header_lines = header::height(app, area);
    let hints = u16::from(area.height >= 16);
    // A long message may take all but the header, the table's titles and
    // one row: it is never cut where there is room to show it.
    let status_room = area.height.saturating_sub(header_lines + hints + 2);
    let status_lines = status::height(app, area, status_room, &theme);
    let [top, body, bottom, keys] = Layout::vertical([
        Constraint::Length(header_lines),
        Constraint::Min(1),
        Constraint::Length(status_lines),
        Constraint::Length(hints),
    ])
    .areas(area);
    header::render(app, frame, top, &theme);
    table::render(app, frame, body, &theme, &mut geometry);
    status::render(app, frame, bottom, &theme);
    if hints > 0 {
        status::render_hints(app, frame, keys, &theme);
    }
    // Each layer over the one it was opened from: help over the preflight,
    // a pick list over the form.
    for layer in app.layers.bottom_up() {
        match layer {
            Mode::Detail => geometry.text = detail::render(app, frame, area, &theme),
            Mode::Help => geometry.text = help::render(app, frame, area, &theme),
            Mode::OrgPicker => picker::render(app, frame, area, &theme),
            Mode::Chooser => form::render_chooser(app, frame, area, &theme),
            Mode::Form => geometry.form_scroll = form::render_form(app, frame, area, &theme),
            Mode::Pick => form::render_pick(app, frame, area, &theme),
            Mode::Confirm => form::render_confirm(app, frame, area, &theme),
            Mode::Token => form::render_token(app, frame, area, &theme),
            Mode::BulkConfirm => bulk::render_confirm(app, frame, area, &theme),
            Mode::BulkProgress => bulk::render_progress(app, frame, area, &theme),
            Mode::BulkResults => bulk::render_results(app, frame, area, &theme),
            Mode::Audit => bulk::render_audit(app, frame, area, &theme),
            Mode::Journal => geometry.list_page = journal::render_runs(app, frame, area, &theme),
            Mode::JournalRun => geometry.list_page = journal::render_run(app, frame, area, &theme),
            Mode::Review => geometry.list_page = review::render(app, frame, area, &theme),
            Mode::ReviewReason => review::render_reason(app, frame, area, &theme),
            Mode::ResultDetail => {
                geometry.text = bulk::render_result_detail(app, frame, area, &theme)
            }
            Mode::Offboard => geometry.text = offboard::render(app, frame, area, &theme),
            Mode::ImportConfirm => {
                geometry.text = bulk::render_import_confirm(app, frame, area, &theme)
            }
            Mode::Table | Mode::Filter | Mode::Command | Mode::Find => {}
        }
    }
    // A `:` typed over a view (`:export` in the results, the offboarding
    // view) is drawn over it, so nothing is typed blind.
    let over_a_view = app
        .layers
        .bottom_up()
        .any(|m| !matches!(m, Mode::Table | Mode::Filter | Mode::Command | Mode::Find));
    if over_a_view && status::prompt_is_open(app) {
        frame.render_widget(ratatui::widgets::Clear, bottom);
        status::render(app, frame, bottom, &theme);
    }
    guard_cells(frame.buffer_mut());
    geometry
}

/// The first line to show of a text of `lines` lines in `height` lines,
/// from where it is scrolled to (kept short of a blank last page).
pub(crate) fn text_scroll(scrolled: &ListCursor, lines: usize, height: usize) -> u16 {
    let top = scrolled.selected.min(lines.saturating_sub(height));
    u16::try_from(top).unwrap_or(u16::MAX)
}

/// The last line of defence, whatever a view forgot: no cell reaches the
/// terminal holding a control character, an escape sequence, a
/// bidirectional override or an invisible joiner. Views sanitize what they
/// draw (so the text reads `\e[2J`); a cell that still holds one shows `�`.
pub(crate) fn guard_cells(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        if cell.symbol().chars().any(crate::domain::text::needs_escape) {
            cell.set_symbol("\u{fffd}");
        }
    }
}

/// A popup's hints, " Esc close  j/k scroll ": each label after the first
/// key in force of each of its commands, joined by "/"; a label whose
/// commands have no key is left out, so a rebinding never shows a stale key.
pub(crate) fn key_hints(keymap: &Keymap, mode: Mode, wanted: &[(&[Cmd], &str)]) -> String {
    let mut out = String::from(" ");
    for (cmds, label) in wanted {
        let keys: Vec<String> = cmds
            .iter()
            .filter_map(|c| keymap.first_key(mode, *c))
            .map(|k| k.label())
            .collect();
        if !keys.is_empty() {
            out.push_str(&format!("{} {label}  ", keys.join("/")));
        }
    }
    out.trim_end().to_string() + " "
}

/// The room popups may take: everything but the first and last line (the
/// instance and the status stay visible) when the screen is tall enough.
pub(crate) fn popup_room(area: Rect) -> Rect {
    if area.height >= 8 {
        Rect {
            y: area.y + 1,
            height: area.height - 2,
            ..area
        }
    } else {
        area
    }
}

/// A centred popup of at most `width` x `height`, clamped to `area`. On
/// screens not much wider than the popup it takes the full width, so no
/// stray column of the table shows beside it.
pub(crate) fn popup(area: Rect, width: u16, height: u16) -> Rect {
    let width = if area.width < width.saturating_add(6) {
        area.width
    } else {
        width
    };
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

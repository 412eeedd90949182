//! The status line (prompts, progress, errors) and the key hints.

use super::Theme;
use crate::domain::text::wrap;
use crate::tui::app::{App, LoadState};
use crate::tui::keymap::Mode;
use crate::tui::line::LineEditor;
use crate::tui::registry::Cmd;
use crate::tui::text::sanitize;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

const FILTER_PROMPT: &str = "/";

/// The prompt open on the status line, with what is typed in it.
fn open_prompt(app: &App) -> Option<(&'static str, &LineEditor)> {
    match app.mode() {
        Mode::Filter => Some((FILTER_PROMPT, &app.filter_input)),
        Mode::Find => Some(("find: ", &app.find_input)),
        Mode::Command => Some((":", &app.command_input)),
        _ => None,
    }
}

/// Whether a prompt (`/`, `:` or find) is open on the status line.
pub(super) fn prompt_is_open(app: &App) -> bool {
    open_prompt(app).is_some()
}

/// The status line, and under it as many lines as a long message needs
/// (wrapped, never cut), at most `max`.
pub(super) fn height(app: &App, area: Rect, max: u16, theme: &Theme) -> u16 {
    let (_, _, below) = parts(app, area.width, theme);
    (1 + below.len() as u16).min(max.max(1))
}

/// The first row's left and right parts, and the wrapped lines under it.
fn parts<'a>(app: &'a App, width: u16, theme: &Theme) -> (Line<'a>, Span<'a>, Vec<Line<'a>>) {
    let width = usize::from(width.max(2));
    let wrapped = |text: String, style: Style| -> Vec<Line<'a>> {
        wrap(&text, width - 1)
            .into_iter()
            .map(|l| Line::styled(format!(" {l}"), style))
            .collect()
    };
    match app.mode() {
        Mode::Filter => {
            let right = match &app.prompt_note {
                // Text cut at the prompt's limit is said where the eye is.
                Some(note) => Span::styled(note.clone(), theme.error),
                None if app.filter_error.is_some() => Span::styled("bad filter", theme.error),
                None => Span::raw(format!("{} of {} match", app.view.len(), app.rows.len())),
            };
            let left = Line::from(vec![
                Span::styled(FILTER_PROMPT, theme.key),
                Span::raw(sanitize(&app.filter_input).into_owned()),
            ]);
            // The whole error, or what the filter cannot decide, wrapped.
            let below = match (&app.filter_error, &app.filter_note) {
                (Some(error), _) => wrapped(format!("bad filter: {error}"), theme.error),
                (None, Some(note)) => wrapped(note.clone(), theme.dim),
                (None, None) => Vec::new(),
            };
            (left, right, below)
        }
        Mode::Command | Mode::Find => {
            let Some((prompt, input)) = open_prompt(app) else {
                return (Line::raw(""), Span::raw(""), Vec::new());
            };
            let right = match &app.prompt_note {
                Some(note) => Span::styled(note.clone(), theme.error),
                None if app.mode() == Mode::Find && !app.view.is_empty() => {
                    Span::raw(format!("{}/{} ", app.table.selected + 1, app.view.len()))
                }
                None => Span::raw(""),
            };
            let left = Line::from(vec![
                Span::styled(prompt, theme.key),
                Span::raw(sanitize(input).into_owned()),
            ]);
            // The names Tab offered, while the prompt still holds its pick.
            let below = match &app.completion {
                Some(c) if app.mode() == Mode::Command && c.input == app.command_input.as_str() => {
                    wrapped(c.names.join(", "), theme.dim)
                }
                _ => Vec::new(),
            };
            (left, right, below)
        }
        _ => {
            let right = progress(app);
            let right_width = right.width();
            match &app.status {
                Some(status) => {
                    let (text, style) = if status.is_error {
                        (format!("Error: {}", status.text), theme.error)
                    } else {
                        (status.text.clone(), Style::default())
                    };
                    // Beside the position when that leaves half the line,
                    // else the whole width.
                    let room = if width.saturating_sub(right_width + 1) >= width / 2 {
                        width - right_width - 1
                    } else {
                        width
                    };
                    let mut lines = wrap(&text, room.saturating_sub(1).max(1))
                        .into_iter()
                        .map(|l| Line::styled(format!(" {l}"), style));
                    let first = lines.next().unwrap_or_default();
                    (first, Span::raw(right), lines.collect())
                }
                None => (message(app, theme), Span::raw(right), Vec::new()),
            }
        }
    }
}

pub(super) fn render(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    let (left, right, below) = parts(app, area.width, theme);
    let first = Rect { height: 1, ..area };
    let right_width = (right.content.width() as u16).min(area.width / 2);
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(first);
    frame.render_widget(Paragraph::new(left.clone()), left_area);
    frame.render_widget(Paragraph::new(right).right_aligned(), right_area);
    for (i, line) in below
        .into_iter()
        .enumerate()
        .take(usize::from(area.height - 1))
    {
        let row = Rect {
            y: area.y + 1 + i as u16,
            height: 1,
            ..area
        };
        frame.render_widget(Paragraph::new(line), row);
    }
    if let Some((prompt, input)) = open_prompt(app) {
        let at = prompt.width() + sanitize(input.before_cursor()).width();
        let x = left_area.x + (at as u16).min(left_area.width.saturating_sub(1));
        frame.set_cursor_position(Position { x, y: area.y });
    }
}

fn message<'a>(app: &'a App, theme: &Theme) -> Line<'a> {
    if let (None, Some((label, _))) = (app.active_filter(), &app.id_filter) {
        return Line::from(vec![
            Span::styled(" filter ", theme.key),
            Span::raw(sanitize(label).into_owned()),
            Span::raw(format!(" ({} of {})", app.view.len(), app.rows.len())),
        ]);
    }
    match app.active_filter() {
        Some(filter) => {
            let mut spans = vec![
                Span::styled(" filter ", theme.key),
                Span::raw(sanitize(filter).into_owned()),
                Span::raw(format!(" ({} of {})", app.view.len(), app.rows.len())),
            ];
            if let Some(note) = &app.filter_note {
                spans.push(Span::styled(format!("  {}", sanitize(note)), theme.dim));
            }
            Line::from(spans)
        }
        None => Line::raw(""),
    }
}

fn progress(app: &App) -> String {
    let mut position = if app.view.is_empty() {
        String::new()
    } else {
        format!("{}/{}", app.table.selected + 1, app.view.len())
    };
    let marked = app.bulk.marks.len();
    if marked > 0 {
        position = format!(" {marked} marked  {position}");
    }
    match app.load {
        LoadState::Loading { total } => {
            let spin = SPINNER[(app.ticks % 4) as usize];
            let loaded = app.rows.len();
            let so_far = match total {
                Some(total) => format!("{spin} loading {loaded} of {total}"),
                None => format!("{spin} loading {loaded}"),
            };
            format!("{so_far}  {position} ")
        }
        _ => format!("{position} "),
    }
}

/// The main keys, labelled from the keymap itself.
pub(super) fn render_hints(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let mode = match app.mode() {
        Mode::Filter | Mode::Command | Mode::Find => app.mode(),
        _ => Mode::Table,
    };
    let wanted: &[(Cmd, &str)] = match mode {
        Mode::Filter => &[
            (Cmd::Accept, "keep"),
            (Cmd::Close, "clear"),
            (Cmd::Help, "help"),
        ],
        Mode::Find => &[(Cmd::Accept, "stay here"), (Cmd::Close, "go back")],
        Mode::Command => &[
            (Cmd::Accept, "run"),
            (Cmd::Close, "cancel"),
            (Cmd::Help, "help"),
        ],
        _ => &[
            (Cmd::Help, "help"),
            (Cmd::EditFilter, "filter"),
            (Cmd::CommandPrompt, "command"),
            (Cmd::Details, "details"),
            (Cmd::SortNext, "sort"),
            (Cmd::Refresh, "refresh"),
            (Cmd::Org, "org"),
            (Cmd::Quit, "quit"),
        ],
    };
    let mut spans = vec![Span::raw(" ")];
    for (cmd, label) in wanted {
        if *cmd == Cmd::Org && !app.ctx.actor.sees_all_orgs() {
            continue;
        }
        if let Some(key) = app.keymap.first_key(mode, *cmd) {
            spans.push(Span::styled(key.label(), theme.key));
            spans.push(Span::styled(format!(" {label}  "), theme.dim));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

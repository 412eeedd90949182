//! The status line (prompts, progress, errors) and the key hints.

use super::Theme;
use crate::tui::app::{App, LoadState};
use crate::tui::keymap::{self, KeyAction, Mode};
use crate::tui::text::sanitize;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

pub(super) fn render(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let (left, right) = match app.mode {
        Mode::Filter => {
            // The whole error or note is drawn wrapped above the prompt.
            let right = match &app.filter_error {
                Some(_) => Span::styled("bad filter", theme.error),
                None => Span::raw(format!("{} of {} match", app.view.len(), app.rows.len())),
            };
            render_filter_text(app, frame, area, theme);
            // Text cut at the prompt's limit is said where the eye is.
            let right = match &app.prompt_note {
                Some(note) => Span::styled(note.clone(), theme.error),
                None => right,
            };
            let left = Line::from(vec![
                Span::styled("/", theme.key),
                Span::raw(sanitize(&app.filter_input).into_owned()),
            ]);
            (left, right)
        }
        Mode::Command => (
            Line::from(vec![
                Span::styled(":", theme.key),
                Span::raw(sanitize(&app.command_input).into_owned()),
            ]),
            match &app.prompt_note {
                Some(note) => Span::styled(note.clone(), theme.error),
                None => Span::raw(""),
            },
        ),
        _ => (message(app, theme), Span::raw(progress(app))),
    };
    let right_width = (right.content.width() as u16).min(area.width / 2);
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(area);
    frame.render_widget(Paragraph::new(left.clone()), left_area);
    frame.render_widget(Paragraph::new(right).right_aligned(), right_area);
    if matches!(app.mode, Mode::Filter | Mode::Command) {
        let x = left_area.x + (left.width() as u16).min(left_area.width.saturating_sub(1));
        frame.set_cursor_position(Position { x, y: area.y });
    }
}

/// A filter error or note, whole: wrapped to the width (readable at 40
/// columns too) on the rows just above the prompt.
fn render_filter_text(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let (text, style) = match (&app.filter_error, &app.filter_note) {
        (Some(error), _) => (format!("bad filter: {error}"), theme.error),
        (None, Some(note)) => (note.clone(), theme.dim),
        (None, None) => return,
    };
    let lines = crate::domain::text::wrap(&text, usize::from(area.width.max(1)));
    let height = (lines.len() as u16).min(area.y);
    if height == 0 {
        return;
    }
    let above = Rect {
        x: area.x,
        y: area.y - height,
        width: area.width,
        height,
    };
    let lines: Vec<Line> = lines.into_iter().map(|l| Line::styled(l, style)).collect();
    frame.render_widget(ratatui::widgets::Clear, above);
    frame.render_widget(Paragraph::new(lines), above);
}

fn message<'a>(app: &'a App, theme: &Theme) -> Line<'a> {
    if let Some(status) = &app.status {
        let text = sanitize(&status.text).into_owned();
        return if status.is_error {
            Line::styled(format!(" Error: {text}"), theme.error)
        } else {
            Line::raw(format!(" {text}"))
        };
    }
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
        format!("{}/{}", app.selected + 1, app.view.len())
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
    let mode = match app.mode {
        Mode::Filter | Mode::Command => app.mode,
        _ => Mode::Table,
    };
    let wanted: &[(KeyAction, &str)] = match mode {
        Mode::Filter => &[
            (KeyAction::Accept, "keep"),
            (KeyAction::Close, "clear"),
            (KeyAction::Help, "help"),
        ],
        Mode::Command => &[
            (KeyAction::Accept, "run"),
            (KeyAction::Close, "cancel"),
            (KeyAction::Help, "help"),
        ],
        _ => &[
            (KeyAction::Help, "help"),
            (KeyAction::OpenFilter, "filter"),
            (KeyAction::OpenCommand, "command"),
            (KeyAction::OpenDetail, "details"),
            (KeyAction::SortNextColumn, "sort"),
            (KeyAction::Refresh, "refresh"),
            (KeyAction::OpenOrgPicker, "org"),
            (KeyAction::Quit, "quit"),
        ],
    };
    let mut spans = vec![Span::raw(" ")];
    for (action, label) in wanted {
        if *action == KeyAction::OpenOrgPicker && !app.ctx.actor.sees_all_orgs() {
            continue;
        }
        let key = keymap::bindings(mode)
            .iter()
            .chain(keymap::GLOBAL)
            .find(|b| b.action == *action)
            .and_then(|b| b.keys.first());
        if let Some(key) = key {
            spans.push(Span::styled(key.label(), theme.key));
            spans.push(Span::styled(format!(" {label}  "), theme.dim));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

//! The bulk popups (preflight confirmation, progress, results), the audit
//! view, and the marks in the table. Every state is spelled out in text, so
//! nothing depends on colour.

use super::{key_hints, popup, popup_room, Theme};
use crate::bulk::RowOutcome;
use crate::domain::preflight::BulkAction;
use crate::domain::text::wrap;
use crate::tui::app::App;
use crate::tui::bulk::Group;
use crate::tui::keymap::{Keymap, Mode};
use crate::tui::registry::Cmd;
use crate::tui::text::sanitize;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// The mark drawn in the second column of the selection gutter.
pub(crate) const MARK: &str = "*";

/// Draws the mark of every marked row on screen into the gutter the
/// selection marker leaves free (`> ` becomes `>*`).
pub(super) fn render_marks(app: &App, frame: &mut Frame, rows_area: Rect, first: usize) {
    if app.bulk.marks.is_empty() || rows_area.width < 2 {
        return;
    }
    let end = (first + usize::from(rows_area.height)).min(app.view.len());
    for (line, index) in (first..end).enumerate() {
        let Some(row) = app.view.get(index).and_then(|&i| app.rows.get(i as usize)) else {
            continue;
        };
        if app.bulk.marks.contains(&row.user.id) {
            let y = rows_area.y + line as u16;
            frame.buffer_mut().set_string(
                rows_area.x + 1,
                y,
                MARK,
                Style::default().add_modifier(Modifier::BOLD),
            );
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "account"
    } else {
        "accounts"
    }
}

fn group_title(action: BulkAction, group: Group) -> String {
    match group {
        Group::WillChange => "Will change".to_string(),
        Group::Already => action.already_title(),
        Group::NotAllowed => "Not allowed".to_string(),
    }
}

pub(super) fn render_confirm(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let Some(pending) = app.bulk.pending.as_ref() else {
        return;
    };
    let action = pending.action;
    let total = pending.preflight.total();
    let count = pending.preflight.will_change.len();
    let entries = pending.group_lines(pending.group);
    let delete_warning = u16::from(action == BulkAction::Delete);
    // Counts, warning, group title, the list (at least one line), borders.
    let wanted = 3 + delete_warning + 1 + (entries.len().clamp(1, 200) as u16) + 2;
    let outer = popup(popup_room(area), 64, wanted);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(
            format!(" {} {total} {}? ", action.verb(), plural(total)),
            theme.title,
        ))
        .title_bottom(
            Line::from(bottom_hint(&app.keymap, action, count, &pending.typed)).right_aligned(),
        );
    let inner = block.inner(outer);
    let mut lines: Vec<Line> = Vec::new();
    for group in Group::ALL {
        let chosen = group == pending.group;
        let text = format!(
            "{}{:<28}{:>6}",
            if chosen { "> " } else { "  " },
            group_title(action, group),
            pending.group_len(group)
        );
        lines.push(if chosen {
            Line::styled(text, theme.selected)
        } else {
            Line::raw(text)
        });
    }
    if action == BulkAction::Delete {
        let name = |id: Option<i64>| {
            id.and_then(|id| app.rows.iter().find(|r| r.user.id == id))
                .map(|r| sanitize(&r.user.user_name).into_owned())
        };
        let warning = match (
            name(pending.reassign.playbooks_to),
            name(pending.reassign.jobs_to),
        ) {
            (None, None) => {
                " Cannot be undone; no reassignment (:delete playbooks=A jobs=B)".to_string()
            }
            (p, j) => format!(
                " Cannot be undone; playbooks to {}, job apps to {}",
                p.as_deref().unwrap_or("-"),
                j.as_deref().unwrap_or("-")
            ),
        };
        lines.push(Line::styled(warning, theme.error));
    }
    lines.push(Line::styled(
        format!(" {}:", group_title(action, pending.group)),
        theme.header,
    ));
    let room_for_list = usize::from(inner.height).saturating_sub(lines.len());
    if entries.is_empty() {
        lines.push(Line::styled("   (none)", theme.dim));
    }
    let scroll = pending
        .scroll
        .selected
        .min(entries.len().saturating_sub(room_for_list.max(1)));
    for (name, reason) in entries.iter().skip(scroll).take(room_for_list) {
        let text = match reason {
            Some(reason) => format!("   {}: {}", sanitize(name), sanitize(reason)),
            None => format!("   {}", sanitize(name)),
        };
        lines.push(Line::raw(text));
    }
    frame.render_widget(Clear, outer);
    frame.render_widget(Paragraph::new(lines).block(block), outer);
}

fn bottom_hint(keymap: &Keymap, action: BulkAction, count: usize, typed: &str) -> String {
    let group = (&[Cmd::NextGroup][..], "group");
    let cancel = (&[Cmd::Close][..], "cancel");
    // After typing digits, Enter is the key that comes to mind.
    if count == 0 {
        " nothing to change  Enter close ".to_string()
    } else if action == BulkAction::Delete {
        let rest = key_hints(keymap, Mode::BulkConfirm, &[group, cancel]);
        format!(" type {count}, Enter: [{typed}] {rest}")
    } else {
        let run = (&[Cmd::Confirm][..], "run");
        key_hints(keymap, Mode::BulkConfirm, &[run, group, cancel])
    }
}

fn progress_bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width)
        .checked_div(total)
        .unwrap_or(width)
        .min(width);
    format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled))
}

pub(super) fn render_progress(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let Some(run) = app.bulk.run.as_ref() else {
        return;
    };
    let outer = popup(popup_room(area), 60, 8);
    let done = run.results.len();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(
            format!(
                " {} {} {}: {done} of {} ",
                run.kind.verb(),
                run.total,
                plural(run.total),
                run.total
            ),
            theme.title,
        ))
        .title_bottom(
            Line::from(key_hints(
                &app.keymap,
                Mode::BulkProgress,
                &[(&[Cmd::StopRun], "stop")],
            ))
            .right_aligned(),
        );
    let inner = block.inner(outer);
    let width = usize::from(inner.width).saturating_sub(8).max(1);
    let percent = (done * 100).checked_div(run.total).unwrap_or(100);
    let ok = run.count(|o| *o == RowOutcome::Ok);
    let failed = run.count(|o| matches!(o, RowOutcome::Failed(_)));
    let not_sent = run.count(|o| *o == RowOutcome::NotSent);
    let unknown = unknown_part(run, |n, what| format!("  {what} {n}"));
    let speed = match (run.rate(app.now), run.seconds_left(app.now)) {
        (Some(rate), Some(left)) => format!(" {rate:.1}/s, about {left}s left"),
        _ => " rate: waiting for the first answers".to_string(),
    };
    let mut lines = vec![
        Line::raw(format!(
            " {} {percent:>3}%",
            progress_bar(done, run.total, width)
        )),
        Line::raw(format!(
            " ok {ok}  failed {failed}{unknown}  not sent {not_sent}"
        )),
        Line::raw(speed),
    ];
    if run.cancel.is_cancelled() {
        lines.push(Line::styled(
            " stopping: requests in flight finish, nothing new starts",
            theme.error,
        ));
    }
    if app.bulk.stop_asked {
        lines.push(Line::styled(
            format!(" {}", crate::tui::bulk::STOP_QUESTION),
            theme.error,
        ));
    }
    frame.render_widget(Clear, outer);
    frame.render_widget(Paragraph::new(lines).block(block), outer);
}

pub(super) fn render_results(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let Some(run) = app.bulk.run.as_ref() else {
        return;
    };
    let ok = run.count(|o| *o == RowOutcome::Ok);
    let failed = run.count(|o| matches!(o, RowOutcome::Failed(_)));
    let not_sent = run.count(|o| *o == RowOutcome::NotSent);
    let unknown = unknown_part(run, |n, what| format!(", {n} {what}"));
    let listed = run.results.len() + run.not_allowed.len();
    // Server messages can be long: as wide as the screen allows, wrapped
    // whole (a refusal is never cut).
    let room = popup_room(area);
    let wanted_width = room.width.saturating_sub(8).max(72);
    let text_width = usize::from(popup(room, wanted_width, 1).width)
        .saturating_sub(4)
        .max(1);
    let cursor = run.cursor.selected.min(listed.saturating_sub(1));
    // Only the results that can be on screen around the cursor are wrapped,
    // so a 100,000-account run draws as fast as a small one.
    let span = usize::from(room.height);
    let first = cursor.saturating_sub(span);
    let all = result_entries(run);
    let mut entries: Vec<Vec<Line>> = Vec::new();
    for (index, (label, text, error)) in all.into_iter().enumerate().skip(first).take(2 * span + 1)
    {
        let selected = index == cursor;
        let style = if selected {
            theme.selected
        } else if error {
            theme.error
        } else {
            Style::default()
        };
        let mark = if selected { ">" } else { " " };
        // The label's column stays clear: continuation lines are indented.
        let lines = wrap(&text, text_width.saturating_sub(LABEL_WIDTH).max(1))
            .into_iter()
            .enumerate()
            .map(|(i, line)| {
                let head = if i == 0 {
                    format!("{mark} {label:<w$}", w = LABEL_WIDTH)
                } else {
                    " ".repeat(LABEL_WIDTH + 2)
                };
                Line::styled(format!("{head}{line}"), style)
            })
            .collect();
        entries.push(lines);
    }
    let total_lines = if first == 0 && first + entries.len() == listed {
        entries.iter().map(Vec::len).sum::<usize>()
    } else {
        usize::from(room.height)
    };
    let outer = popup(
        room,
        wanted_width,
        (total_lines.min(500) as u16).saturating_add(3),
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(
            format!(
                " {}: {ok} ok, {failed} failed{unknown}, {not_sent} not sent ",
                run.kind.name()
            ),
            theme.title,
        ))
        .title_bottom(
            Line::from(key_hints(
                &app.keymap,
                Mode::BulkResults,
                &[
                    (&[Cmd::Details], "whole message"),
                    (&[Cmd::RetryFailed], "retry failed"),
                    (&[Cmd::Close], "close"),
                ],
            ))
            .right_aligned(),
        );
    let inner = block.inner(outer);
    let summary = Line::styled(
        format!(
            " {}: {}; {}: {} (not sent)",
            run.kind.already_title(),
            run.already,
            run.kind.refused_title(),
            run.not_allowed.len()
        ),
        theme.dim,
    );
    let room = usize::from(inner.height).saturating_sub(1).max(1);
    let local = cursor - first;
    let start_of = |i: usize| entries[..i].iter().map(Vec::len).sum::<usize>();
    let (cursor_start, cursor_end) = if entries.is_empty() {
        (0, 0)
    } else {
        (start_of(local), start_of(local) + entries[local].len())
    };
    let top = cursor_end.saturating_sub(room).min(cursor_start);
    let mut lines = vec![summary];
    lines.extend(entries.into_iter().flatten().skip(top).take(room));
    frame.render_widget(Clear, outer);
    frame.render_widget(Paragraph::new(lines).block(block), outer);
}

/// The width of a result's label ("not sent  ").
const LABEL_WIDTH: usize = 10;

/// Each result as its label, its text ("name: message") and whether it
/// is a failure; results first, then the accounts refused before sending.
pub(crate) fn result_entries(
    run: &crate::tui::bulk::RunState,
) -> Vec<(&'static str, String, bool)> {
    let mut entries: Vec<(&'static str, String, bool)> = run
        .results
        .iter()
        .map(|row| {
            let name = sanitize(&row.user_name);
            match &row.outcome {
                RowOutcome::Ok => ("ok", name.into_owned(), false),
                RowOutcome::Failed(message) => {
                    ("FAILED", format!("{name}: {}", sanitize(message)), true)
                }
                RowOutcome::Unknown(reason) => {
                    ("UNKNOWN", format!("{name}: {}", sanitize(reason)), true)
                }
                RowOutcome::Unjournaled(message) => {
                    ("SENT", format!("{name}: {}", sanitize(message)), true)
                }
                RowOutcome::NotSent => ("not sent", name.into_owned(), false),
            }
        })
        .collect();
    entries.extend(run.not_allowed.iter().map(|(name, reason)| {
        (
            "refused",
            format!("{}: {}", sanitize(name), sanitize(reason)),
            false,
        )
    }));
    entries
}

/// Enter on a result: the whole of it, wrapped, in its own popup.
/// Draws one result whole; returns its lines and the lines showing.
pub(super) fn render_result_detail(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
) -> Option<(usize, usize)> {
    let run = app.bulk.run.as_ref()?;
    let entries = result_entries(run);
    let (label, text, _) = entries.get(run.cursor.selected.min(entries.len().saturating_sub(1)))?;
    let text = format!("{label}: {text}");
    let room = popup_room(area);
    let width = 70u16.min(room.width);
    let lines: Vec<Line> = wrap(&text, usize::from(width.saturating_sub(2)).max(1))
        .into_iter()
        .map(Line::from)
        .collect();
    let height = (lines.len() as u16).saturating_add(2);
    let outer = popup(room, width, height);
    let visible = outer.height.saturating_sub(2);
    let shown = (lines.len(), usize::from(visible));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Result ", theme.title))
        .title_bottom(
            Line::from(key_hints(
                &app.keymap,
                Mode::ResultDetail,
                &[(&[Cmd::Close], "back")],
            ))
            .right_aligned(),
        );
    frame.render_widget(Clear, outer);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((super::text_scroll(&app.detail, shown.0, shown.1), 0)),
        outer,
    );
    Some(shown)
}

pub(super) fn render_audit(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let Some(state) = app.bulk.audit.as_ref() else {
        return;
    };
    let findings = &state.audit.findings;
    let outer = popup(popup_room(area), 64, findings.len() as u16 + 3);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(
            format!(" Audit of {} accounts ", app.rows.len()),
            theme.title,
        ))
        .title_bottom(
            Line::from(key_hints(
                &app.keymap,
                Mode::Audit,
                &[(&[Cmd::Accept], "show"), (&[Cmd::Close], "close")],
            ))
            .right_aligned(),
        );
    let inner = block.inner(outer);
    let mut lines = vec![Line::styled(
        format!("  {:<36}{:>7}{:>9}", "Finding", "count", "unknown"),
        theme.header,
    )];
    let room_for_list = usize::from(inner.height).saturating_sub(1).max(1);
    let first = state.cursor.first_visible(room_for_list);
    for (index, finding) in findings.iter().enumerate().skip(first).take(room_for_list) {
        let chosen = index == state.cursor.selected;
        let text = format!(
            "{}{:<36}{:>7}{:>9}",
            if chosen { "> " } else { "  " },
            finding.kind.title(),
            finding.account_ids.len(),
            finding.unknown_ids.len()
        );
        lines.push(if chosen {
            Line::styled(text, theme.selected)
        } else {
            Line::raw(text)
        });
    }
    frame.render_widget(Clear, outer);
    frame.render_widget(Paragraph::new(lines).block(block), outer);
}

/// The rows sent without a recorded answer, when there are any (rare, so
/// the usual counts keep their place otherwise): `label(count, what)`
/// words each count.
fn unknown_part(run: &crate::tui::bulk::RunState, label: fn(usize, &str) -> String) -> String {
    let unknown = run.count(|o| matches!(o, RowOutcome::Unknown(_)));
    let unjournaled = run.count(|o| matches!(o, RowOutcome::Unjournaled(_)));
    let mut text = String::new();
    if unknown > 0 {
        text.push_str(&label(unknown, "unknown"));
    }
    if unjournaled > 0 {
        text.push_str(&label(unjournaled, "sent but not journaled"));
    }
    text
}

/// The preview of an import or of an import's undo: the lines the command
/// line prints, scrolled; returns its lines and the lines a page holds.
pub(super) fn render_import_confirm(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
) -> Option<(usize, usize)> {
    let pending = app.bulk.import.as_ref()?;
    let room = popup_room(area);
    let outer = popup(room, 78, (pending.lines.len() as u16).saturating_add(4));
    let width = usize::from(outer.width.saturating_sub(2)).max(8);
    let mut lines: Vec<Line> = Vec::new();
    if pending.deletes > 0 {
        let ask = format!(
            "Type {} to delete for good, then Enter: {}_",
            pending.deletes,
            pending.typed.as_str()
        );
        for part in wrap(&ask, width) {
            lines.push(Line::styled(part, theme.error));
        }
    } else if pending.to_send == 0 {
        lines.push(Line::raw("Nothing to send."));
    }
    for line in &pending.lines {
        let indent = line.len() - line.trim_start().len();
        for (i, part) in wrap(line, width.saturating_sub(indent + 2).max(8))
            .into_iter()
            .enumerate()
        {
            let pad = if i == 0 { indent } else { indent + 2 };
            lines.push(Line::raw(format!("{}{part}", " ".repeat(pad))));
        }
    }
    let height = usize::from(outer.height.saturating_sub(2));
    let top = super::text_scroll(&pending.scroll, lines.len(), height);
    let hint = key_hints(
        &app.keymap,
        Mode::ImportConfirm,
        &[
            (&[Cmd::Confirm], "run"),
            (&[Cmd::Close], "cancel"),
            (&[Cmd::Down], "scroll"),
        ],
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(pending.title.clone(), theme.title))
        .title_bottom(Line::from(hint).right_aligned());
    let count = lines.len();
    frame.render_widget(Clear, outer);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((top, 0)), outer);
    Some((count, height))
}

//! The bulk popups (preflight confirmation, progress, results), the audit
//! view, and the marks in the table. Every state is spelled out in text, so
//! nothing depends on colour.

use super::{popup, popup_room, Theme};
use crate::bulk::RowOutcome;
use crate::domain::preflight::BulkAction;
use crate::tui::app::App;
use crate::tui::bulk::{already_label, verb, Group};
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
pub(super) fn render_marks(app: &App, frame: &mut Frame, rows_area: Rect) {
    if app.bulk.marks.is_empty() || rows_area.width < 2 {
        return;
    }
    let end = (app.offset + usize::from(rows_area.height)).min(app.view.len());
    for (line, index) in (app.offset..end).enumerate() {
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

fn group_title(action: BulkAction, group: Group) -> &'static str {
    match group {
        Group::WillChange => "Will change",
        Group::Already => already_label(action),
        Group::NotAllowed => "Not allowed",
    }
}

pub(super) fn render_confirm(app: &mut App, frame: &mut Frame, area: Rect, theme: &Theme) {
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
            format!(" {} {total} {}? ", verb(action), plural(total)),
            theme.title,
        ))
        .title_bottom(Line::from(bottom_hint(action, count, &pending.typed)).right_aligned());
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

fn bottom_hint(action: BulkAction, count: usize, typed: &str) -> String {
    if count == 0 {
        " nothing to change  Enter close ".to_string()
    } else if action == BulkAction::Delete {
        format!(" type {count}, Enter: [{typed}]  Tab group  Esc cancel ")
    } else {
        " y run  Tab group  Esc cancel ".to_string()
    }
}

fn progress_bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width)
        .checked_div(total)
        .unwrap_or(width)
        .min(width);
    format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled))
}

pub(super) fn render_progress(app: &mut App, frame: &mut Frame, area: Rect, theme: &Theme) {
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
                verb(run.action),
                run.total,
                plural(run.total),
                run.total
            ),
            theme.title,
        ))
        .title_bottom(Line::from(" Esc stop ").right_aligned());
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

pub(super) fn render_results(app: &mut App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let Some(run) = app.bulk.run.as_ref() else {
        return;
    };
    let ok = run.count(|o| *o == RowOutcome::Ok);
    let failed = run.count(|o| matches!(o, RowOutcome::Failed(_)));
    let not_sent = run.count(|o| *o == RowOutcome::NotSent);
    let unknown = unknown_part(run, |n, what| format!(", {n} {what}"));
    let listed = run.results.len() + run.not_allowed.len();
    // Server messages can be long: as wide as the screen allows, wrapped.
    let room = popup_room(area);
    let outer = popup(
        room,
        room.width.saturating_sub(8).max(72),
        (listed.min(200) as u16) + 3,
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(
            format!(
                " {}: {ok} ok, {failed} failed{unknown}, {not_sent} not sent ",
                run.action.name()
            ),
            theme.title,
        ))
        .title_bottom(Line::from(" r retry failed  Esc close ").right_aligned());
    let inner = block.inner(outer);
    let mut lines = vec![Line::styled(
        format!(
            " {}: {}; not allowed: {} (not sent)",
            already_label(run.action),
            run.already,
            run.not_allowed.len()
        ),
        theme.dim,
    )];
    let mut entries: Vec<Line> = run
        .results
        .iter()
        .map(|row| {
            let name = sanitize(&row.user_name);
            match &row.outcome {
                RowOutcome::Ok => Line::raw(format!(" ok        {name}")),
                RowOutcome::Failed(message) => Line::styled(
                    format!(" FAILED    {name}: {}", sanitize(message)),
                    theme.error,
                ),
                RowOutcome::Unknown(reason) => Line::styled(
                    format!(" UNKNOWN   {name}: {}", sanitize(reason)),
                    theme.error,
                ),
                RowOutcome::Unjournaled(message) => Line::styled(
                    format!(" SENT      {name}: {}", sanitize(message)),
                    theme.error,
                ),
                RowOutcome::NotSent => Line::raw(format!(" not sent  {name}")),
            }
        })
        .collect();
    entries.extend(run.not_allowed.iter().map(|(name, reason)| {
        Line::styled(
            format!(" refused   {}: {}", sanitize(name), sanitize(reason)),
            theme.dim,
        )
    }));
    let room_for_list = usize::from(inner.height).saturating_sub(lines.len()).max(1);
    let scroll = run.scroll.min(entries.len().saturating_sub(room_for_list));
    lines.extend(entries.into_iter().skip(scroll).take(room_for_list));
    frame.render_widget(Clear, outer);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(ratatui::widgets::Wrap { trim: false }),
        outer,
    );
}

pub(super) fn render_audit(app: &mut App, frame: &mut Frame, area: Rect, theme: &Theme) {
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
        .title_bottom(Line::from(" Enter show  Esc close ").right_aligned());
    let inner = block.inner(outer);
    let mut lines = vec![Line::styled(
        format!("  {:<36}{:>7}{:>9}", "Finding", "count", "unknown"),
        theme.header,
    )];
    let room_for_list = usize::from(inner.height).saturating_sub(1).max(1);
    let first = (state.selected + 1).saturating_sub(room_for_list);
    for (index, finding) in findings.iter().enumerate().skip(first).take(room_for_list) {
        let chosen = index == state.selected;
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

//! The access review view: each account of the review's sheets with its
//! decision (words, never colour alone), and the reason prompt of a
//! disable or delete.

use super::{key_hints, popup, popup_room, Theme};
use crate::domain::review::Decision;
use crate::domain::text::fit;
use crate::tui::app::App;
use crate::tui::keymap::Mode;
use crate::tui::registry::Cmd;
use crate::tui::text::sanitize;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// Draws the accounts; returns the rows a page of them holds.
pub(super) fn render(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) -> Option<usize> {
    let view = &app.review;
    let (decided, total) = view.decided();
    let room = popup_room(area);
    let outer = popup(room, 78, (total.clamp(1, 400) as u16).saturating_add(3));
    let dir = sanitize(&view.dir.display().to_string()).into_owned();
    let title = match view.sheets {
        Some(_) => format!(" Review {dir}: {decided} of {total} decided "),
        None => format!(" Review {dir} "),
    };
    let decide: [(&[Cmd], &str); 3] = [
        (&[Cmd::DecideKeep], "keep"),
        (&[Cmd::DecideDisable], "disable"),
        (&[Cmd::DecideDelete], "delete"),
    ];
    let mut hints = key_hints(
        &app.keymap,
        Mode::Review,
        &[decide[0], decide[1], decide[2], (&[Cmd::Close], "close")],
    );
    // Where the border cannot hold them all, the three decisions keep
    // their keys (a hint cut at the left lost `k`); help lists Esc.
    if hints.chars().count() + 2 > usize::from(outer.width) {
        hints = key_hints(&app.keymap, Mode::Review, &decide);
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .title_bottom(Line::from(hints).right_aligned());
    frame.render_widget(Clear, outer);
    let inner = block.inner(outer);
    let width = usize::from(inner.width).saturating_sub(2);
    let height = usize::from(inner.height).saturating_sub(1);
    let heading = format!(
        "  {:<8} {:<26} {:<8} {:<8} {:<10} Findings / reason",
        "Decision", "Account", "Type", "Status", "Last login"
    );
    let mut lines = vec![Line::styled(
        fit(&heading, width + 2).into_owned(),
        theme.header,
    )];
    match &view.sheets {
        None => lines.push(Line::raw("  reading the review…")),
        Some(_) if view.rows.is_empty() => lines.push(Line::raw("  no accounts in this review")),
        Some(_) => {
            let first = view.cursor.first_visible(height);
            for (index, at) in view.rows.iter().enumerate().skip(first).take(height) {
                let cell = |c: &str| sanitize(view.cell(*at, c)).into_owned();
                let decision = match Decision::parse(view.cell(*at, "decision")) {
                    Some(d) => d.name().to_string(),
                    None => "-".to_string(),
                };
                let reason = cell("reason");
                let tail = if reason.is_empty() {
                    cell("findings")
                } else {
                    format!("\"{reason}\"")
                };
                // The date is enough here; the sheet keeps the time.
                let login = cell("last_login");
                let login = match login.get(..10) {
                    Some(date) if login.starts_with(|c: char| c.is_ascii_digit()) => {
                        date.to_string()
                    }
                    _ => login,
                };
                let text = format!(
                    "{decision:<8} {:<26} {:<8} {:<8} {:<10} {tail}",
                    fit(&cell("account"), 26),
                    fit(&cell("type"), 8),
                    fit(&cell("status"), 8),
                    fit(&login, 10),
                );
                let text = fit(&text, width).into_owned();
                lines.push(if index == view.cursor.selected {
                    Line::styled(format!("> {text}"), theme.selected)
                } else {
                    Line::raw(format!("  {text}"))
                });
            }
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block), outer);
    Some(height)
}

/// Draws the reason prompt over the accounts.
pub(super) fn render_reason(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let view = &app.review;
    let Some(decision) = view.pending else {
        return;
    };
    let account = view
        .current()
        .map(|at| sanitize(view.cell(at, "account")).into_owned())
        .unwrap_or_default();
    let room = popup_room(area);
    let outer = popup(room, 64, 4);
    let inner_width = usize::from(outer.width.saturating_sub(2));
    let hints = key_hints(
        &app.keymap,
        Mode::ReviewReason,
        &[(&[Cmd::Accept], "save"), (&[Cmd::Close], "cancel")],
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(
            fit(
                &format!(" Reason to {} {account} ", decision.name()),
                inner_width,
            )
            .into_owned(),
            theme.title,
        ))
        .title_bottom(Line::from(hints).right_aligned());
    let input = &view.reason;
    let before = sanitize(input.before_cursor()).into_owned();
    let after = sanitize(&input[input.before_cursor().len()..]).into_owned();
    // The end of what is typed stays in sight.
    let room_for = inner_width.saturating_sub(1);
    let shown_before: String = {
        let chars: Vec<char> = before.chars().collect();
        let skip = chars.len().saturating_sub(room_for);
        chars[skip..].iter().collect()
    };
    let mut spans = vec![Span::raw(shown_before)];
    match after.chars().next() {
        None => spans.push(Span::raw("_")),
        Some(under) => {
            let rest: String = after.chars().skip(1).collect();
            spans.push(Span::styled(
                under.to_string(),
                Style::new().add_modifier(Modifier::REVERSED),
            ));
            spans.push(Span::raw(rest));
        }
    }
    frame.render_widget(Clear, outer);
    frame.render_widget(Paragraph::new(Line::from(spans)).block(block), outer);
}

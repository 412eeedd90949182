//! The offboarding view: every step of every account (the preview), then
//! the same checklists as their steps end. Outcomes are words, never colour
//! alone, and every reason is shown whole (wrapped).

use super::{key_hints, popup, popup_room, text_scroll, Theme};
use crate::domain::offboard::Checklist;
use crate::domain::text::wrap;
use crate::tui::app::App;
use crate::tui::keymap::Mode;
use crate::tui::offboarding::Stage;
use crate::tui::registry::Cmd;
use crate::tui::text::sanitize;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// Width of a step's title column, and where its wrapped lines go on.
const TITLE: usize = 11;

fn checklist_lines<'a>(lists: &[Checklist], width: usize, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    for list in lists {
        lines.push(Line::styled(
            format!("{} ({})", sanitize(&list.user_name), list.id),
            theme.header,
        ));
        for (step, state) in &list.steps {
            let text = state.line();
            let room = width.saturating_sub(TITLE + 2).max(8);
            for (i, part) in wrap(&text, room).into_iter().enumerate() {
                let title = if i == 0 { step.title() } else { "" };
                lines.push(Line::raw(format!(" {title:<TITLE$} {part}")));
            }
        }
    }
    lines
}

/// Draws the view; returns its lines and the lines a page holds.
pub(super) fn render(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
) -> Option<(usize, usize)> {
    let view = &app.offboarding;
    let keymap = &app.keymap;
    let hints = |wanted: &[(&[Cmd], &str)]| key_hints(keymap, Mode::Offboard, wanted);
    let room = popup_room(area);
    // The view takes the whole height, but for the status line when it
    // holds a message (the answer to `:export`, an error), kept in sight.
    let height = if app.status.is_some() {
        // As `draw` lays the status lines out, above the key hints.
        let hints = u16::from(area.height >= 16);
        let max = area
            .height
            .saturating_sub(super::header::height(app, area) + hints + 2);
        let status = super::status::height(app, area, max, theme);
        area.height
            .saturating_sub(hints + status + room.y.saturating_sub(area.y))
            .clamp(3, room.height)
    } else {
        room.height
    };
    // At the top, so the status lines below stay clear.
    let outer = Rect {
        y: room.y,
        ..popup(room, 78, height)
    };
    let inner_width = usize::from(outer.width.saturating_sub(2));
    let (title, summary, hint, lists) = match &view.stage {
        Stage::Closed => return None,
        Stage::Planning { accounts, .. } => (
            format!(
                " Offboard {accounts} account{} ",
                if *accounts == 1 { "" } else { "s" }
            ),
            vec!["reading the accounts and what runs as them…".to_string()],
            hints(&[(&[Cmd::Close], "cancel")]),
            Vec::new(),
        ),
        Stage::Preview { plan } => {
            let n = plan.accounts.len();
            let deletes = plan.deletes();
            let mut summary = vec![format!(
                "{} request{} to send, {deletes} delete{}. Nothing is sent before you answer.",
                plan.to_send(),
                if plan.to_send() == 1 { "" } else { "s" },
                if deletes == 1 { "" } else { "s" }
            )];
            for (id, why) in &plan.missing {
                summary.push(format!("left out: account {id}: {}", sanitize(why)));
            }
            let hint = if deletes > 0 {
                let typed = view.typed.as_str();
                summary.push(format!(
                    "Type {deletes} to delete for good, then Enter: {typed}_"
                ));
                hints(&[(&[Cmd::Confirm], "run"), (&[Cmd::Close], "cancel")])
            } else {
                hints(&[
                    (&[Cmd::Confirm], "run"),
                    (&[Cmd::Close], "cancel"),
                    (&[Cmd::Down], "scroll"),
                ])
            };
            (
                format!(" Offboard {n} account{} ", if n == 1 { "" } else { "s" }),
                summary,
                hint,
                plan.checklists(),
            )
        }
        Stage::Running {
            run_id,
            lists,
            ended,
            ..
        } => {
            let (summary, hint) = match ended {
                None => (
                    "running: each step ends below".to_string(),
                    hints(&[(&[Cmd::Close], "stop"), (&[Cmd::Down], "scroll")]),
                ),
                Some(Ok(())) => (
                    crate::ops::offboard::summary(lists),
                    hints(&[(&[Cmd::Close], "close"), (&[Cmd::Down], "scroll")]),
                ),
                Some(Err(why)) => (
                    format!("not started: {}", sanitize(why)),
                    hints(&[(&[Cmd::Close], "close")]),
                ),
            };
            (
                format!(" Offboarding run {} ", sanitize(run_id)),
                vec![summary],
                hint,
                lists.clone(),
            )
        }
    };
    let mut lines: Vec<Line> = summary
        .iter()
        .flat_map(|s| wrap(s, inner_width.max(8)))
        .map(Line::raw)
        .collect();
    lines.extend(checklist_lines(&lists, inner_width, theme));
    let height = usize::from(outer.height.saturating_sub(2));
    let top = text_scroll(&view.cursor, lines.len(), height);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .title_bottom(Line::from(hint).right_aligned());
    frame.render_widget(Clear, outer);
    let count = lines.len();
    frame.render_widget(Paragraph::new(lines).block(block).scroll((top, 0)), outer);
    Some((count, height))
}

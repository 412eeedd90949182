//! The journal views: the runs (newest first), then one run's accounts.
//! Outcomes are words, never colour alone.

use super::{popup, popup_room, Theme};
use crate::domain::text::fit;
use crate::journal::RowState;
use crate::tui::app::App;
use crate::tui::list::ListCursor;
use crate::tui::text::sanitize;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// Lines of a list with the cursor's line reversed, scrolled so it shows.
fn list_lines<'a>(
    items: Vec<String>,
    cursor: &ListCursor,
    height: usize,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let first = cursor.first_visible(height);
    items
        .into_iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(index, text)| {
            let text = fit(&text, width).into_owned();
            if index == cursor.selected {
                Line::styled(format!("> {text}"), theme.selected)
            } else {
                Line::raw(format!("  {text}"))
            }
        })
        .collect()
}

fn frame_popup(
    frame: &mut Frame,
    area: Rect,
    title: String,
    hint: &'static str,
    rows: usize,
) -> (Rect, Block<'static>) {
    let room = popup_room(area);
    let outer = popup(room, 76, (rows.min(400) as u16).saturating_add(3));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::raw(title))
        .title_bottom(Line::from(hint).right_aligned());
    frame.render_widget(Clear, outer);
    (outer, block)
}

/// Draws the runs; returns the rows a page of them holds.
pub(super) fn render_runs(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
) -> Option<usize> {
    let view = &app.journal;
    let runs = view.runs.as_deref();
    let count = runs.map_or(0, <[_]>::len);
    let (outer, block) = frame_popup(
        frame,
        area,
        format!(
            " Journal: {count} run{} ",
            if count == 1 { "" } else { "s" }
        ),
        " Enter accounts  u undo  Esc close ",
        count.max(1) + 1,
    );
    let block = block.title_style(theme.title);
    let inner = block.inner(outer);
    let width = usize::from(inner.width).saturating_sub(2);
    let height = usize::from(inner.height).saturating_sub(1);
    let heading = format!(
        "  {:<16}  {:<14} {:>4}  {:>6}  {:>7}  Run",
        "Started (UTC)", "Action", "Ok", "Failed", "Unknown"
    );
    let mut lines = vec![Line::styled(
        fit(&heading, width + 2).into_owned(),
        theme.header,
    )];
    match runs {
        None => lines.push(Line::raw("  reading the journal…")),
        Some([]) => lines.push(Line::raw("  no runs in the journal yet")),
        Some(runs) => {
            let items = runs
                .iter()
                .map(|run| {
                    let note = match run.header.as_ref().and_then(|h| h.undo_of.as_ref()) {
                        Some(undone) => format!("  undoes {}", sanitize(undone)),
                        None => String::new(),
                    };
                    let unknown = run.unknown + run.unfinished;
                    format!(
                        "{}  {:<14} {:>4}  {:>6}  {:>7}  {}{note}",
                        run.started.format("%Y-%m-%d %H:%M"),
                        fit(&sanitize(&run.action), 14),
                        run.succeeded,
                        run.failed,
                        unknown,
                        sanitize(&run.run_id),
                    )
                })
                .collect();
            lines.extend(list_lines(items, &view.cursor, height, width, theme));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block), outer);
    Some(height)
}

/// Draws one run's accounts; returns the rows a page of them holds.
pub(super) fn render_run(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) -> Option<usize> {
    let open = app.journal.open.as_ref()?;
    let rows = open.rows.as_deref();
    let run = &open.run;
    let (outer, block) = frame_popup(
        frame,
        area,
        format!(
            " Run {}: {} by {} ",
            sanitize(&run.run_id),
            sanitize(&run.action),
            sanitize(&run.actor)
        ),
        " u undo this run  Esc back ",
        rows.map_or(1, <[_]>::len).max(1) + 1,
    );
    let block = block.title_style(theme.title);
    let inner = block.inner(outer);
    let width = usize::from(inner.width).saturating_sub(2);
    let height = usize::from(inner.height).saturating_sub(1);
    let summary = format!(
        "{} ok, {} failed, {} unknown, {} unfinished, started {}",
        run.succeeded,
        run.failed,
        run.unknown,
        run.unfinished,
        run.started.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let mut lines = vec![Line::styled(
        fit(&summary, width + 2).into_owned(),
        theme.dim,
    )];
    match rows {
        None => lines.push(Line::raw("  reading the journal…")),
        Some([]) => lines.push(Line::raw("  no account lines for this run")),
        Some(rows) => {
            let items = rows
                .iter()
                .map(|row| {
                    let (label, why) = match &row.state {
                        RowState::Ok => ("ok", String::new()),
                        RowState::Failed(message) => ("FAILED", format!(": {}", sanitize(message))),
                        RowState::Unknown(reason) => ("UNKNOWN", format!(": {}", sanitize(reason))),
                        RowState::Unfinished => ("UNFINISHED", String::new()),
                    };
                    format!(
                        "{label:<10} {} ({}){why}",
                        sanitize(&row.account_name),
                        row.account_id
                    )
                })
                .collect();
            lines.extend(list_lines(items, &open.cursor, height, width, theme));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block), outer);
    Some(height)
}

//! The Membership table. Only the rows on screen are built.

use super::Theme;
use crate::domain::text::fit;
use crate::tui::app::{App, Geometry, LoadState};
use crate::tui::columns::{self, MARKER, MORE_LEFT, MORE_RIGHT};
use crate::tui::text::sanitize;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

/// Draws the table; notes in `geometry` where its rows are and whether
/// columns lie off-screen.
pub(super) fn render(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    geometry: &mut Geometry,
) {
    let shown = app.shown_columns();
    // Scrolled past what the columns need (a wider terminal, fewer columns).
    geometry.col_scroll_max = shown.len().saturating_sub(2);
    let col_scroll = app.col_scroll.min(geometry.col_scroll_max);
    let placed = columns::layout(&shown, col_scroll, area.width);
    geometry.more_right = placed.more_right;
    let layout = &placed.columns;
    let arrow = if app.ascending { "↑" } else { "↓" };
    let header = Row::new(layout.iter().map(|(column, width)| {
        // The arrow always shows: the title gives way to it.
        let width = usize::from(*width);
        let title = if *column == app.sort {
            format!("{} {arrow}", fit(column.title(), width.saturating_sub(2)))
        } else {
            fit(column.title(), width).into_owned()
        };
        Cell::from(title)
    }))
    .style(theme.header);
    let widths: Vec<Constraint> = layout.iter().map(|(_, w)| Constraint::Length(*w)).collect();

    let height = usize::from(area.height.saturating_sub(1));
    let rows_area = Rect {
        y: area.y.saturating_add(1),
        height: area.height.saturating_sub(1),
        ..area
    };
    geometry.table_rows = rows_area;
    let first = app.table.first_visible(height);

    let end = (first + height).min(app.view.len());
    let max_age = app.ctx.settings.password_max_age_days;
    let rows: Vec<Row> = app.view[first..end]
        .iter()
        .map(|&index| {
            let user = &app.rows[index as usize].user;
            Row::new(layout.iter().map(|(column, width)| {
                let text = column.cell(user, app.now, max_age, app.last_login);
                // Cut by the one width rule, with an ellipsis: a cut value
                // never passes for a whole one.
                Cell::from(
                    columns::fit_cell(*column, text.as_str(), usize::from(*width)).into_owned(),
                )
            }))
        })
        .collect();
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .highlight_symbol(MARKER)
        .highlight_spacing(HighlightSpacing::Always)
        .row_highlight_style(theme.selected);
    let mut state = TableState::default();
    if !app.view.is_empty() {
        state.select(Some(app.table.selected - first));
    }
    frame.render_stateful_widget(table, area, &mut state);
    super::bulk::render_marks(app, frame, rows_area, first);
    // Columns off-screen: `‹` after the account column (which stays put),
    // `›` at the right edge, both in the header row.
    if area.height > 0 {
        if placed.more_left {
            let x = MARKER.len() as u16 + layout.first().map_or(0, |c| c.1);
            if x < area.width {
                frame
                    .buffer_mut()
                    .set_string(area.x + x, area.y, MORE_LEFT, theme.header);
            }
        }
        if placed.more_right && area.width > 0 {
            frame.buffer_mut().set_string(
                area.x + area.width - 1,
                area.y,
                MORE_RIGHT,
                theme.header,
            );
        }
    }

    if app.view.is_empty() && area.height > 1 {
        let message = match app.load {
            LoadState::Loading { .. } => "Loading accounts...".to_string(),
            LoadState::Failed => {
                let reason = app.status.as_ref().map_or("", |s| s.text.as_str());
                format!("{}\n\nr retries.", sanitize(reason))
            }
            _ if app.active_filter().is_some() => {
                "No account matches the filter; Esc clears it.".to_string()
            }
            _ => "No accounts.".to_string(),
        };
        let lines = message.lines().count() as u16;
        let room = area.height - 1;
        let body = Rect {
            y: area.y + 1 + room.saturating_sub(lines + 1) / 2,
            height: room.min(lines + 2),
            ..area
        };
        frame.render_widget(
            Paragraph::new(message)
                .style(theme.dim)
                .centered()
                .wrap(Wrap { trim: true }),
            body,
        );
    }
}

//! The Organization picker.

use super::{popup, popup_room, Theme};
use crate::tui::app::App;
use crate::tui::text::sanitize;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Clear, HighlightSpacing, List, ListItem, ListState};
use ratatui::Frame;

pub(super) fn render(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let visible = app.picker.shown();
    let height = (visible.len().max(1) as u16).saturating_add(2);
    let outer = popup(popup_room(area), 50, height);
    let items: Vec<ListItem> = visible
        .iter()
        .map(|&i| {
            let org = &app.orgs[i];
            let mark = if *org == app.org { " (shown)" } else { "" };
            ListItem::new(format!("{}{mark}", sanitize(org)))
        })
        .collect();
    let title = if app.picker.query.is_empty() {
        " Organization (type to narrow) ".to_string()
    } else {
        format!(" Organization: {} ", sanitize(&app.picker.query))
    };
    let list = List::new(items)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, theme.title)),
        )
        .highlight_symbol("> ")
        .highlight_spacing(HighlightSpacing::Always)
        .highlight_style(theme.selected);
    let selected = (!visible.is_empty()).then_some(app.picker.cursor.selected);
    let mut state = ListState::default().with_selected(selected);
    frame.render_widget(Clear, outer);
    frame.render_stateful_widget(list, outer, &mut state);
}

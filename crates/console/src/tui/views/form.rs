//! The Create chooser, the account form, its pick lists, the
//! confirmations and the API token popup.

use super::{popup, popup_room, Theme};
use crate::domain::form::{FieldValue, FormField};
use crate::domain::policy::{FieldAccess, FormMode};
use crate::domain::text::wrap;
use crate::domain::AccountType;
use crate::tui::app::App;
use crate::tui::form::{ConfirmFor, Offer};
use crate::tui::keymap::{Keymap, Mode};
use crate::tui::registry::Cmd;
use crate::tui::text::sanitize;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Clear, HighlightSpacing, List, ListItem, ListState, Paragraph, Wrap,
};
use ratatui::Frame;

/// "Tab next  Ctrl-s save": the first key of each command, from the keymap.
fn footer(keymap: &Keymap, mode: Mode, wanted: &[(Cmd, &str)]) -> String {
    let wanted: Vec<(&[Cmd], &str)> = wanted
        .iter()
        .map(|(cmd, label)| (std::slice::from_ref(cmd), *label))
        .collect();
    super::key_hints(keymap, mode, &wanted)
}

fn offer_text(offer: &Offer) -> (String, Option<String>) {
    let name = offer.kind.name().to_string();
    match &offer.verdict {
        Ok(Some(n)) => (format!("{name:<16} {n} remaining"), None),
        Ok(None) => (format!("{name:<16} no limit"), None),
        Err(why) => (
            format!("{name:<16} not offered"),
            Some(sanitize(why).into_owned()),
        ),
    }
}

pub(super) fn render_chooser(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let room = popup_room(area);
    let width = 60u16.min(room.width);
    let inner_width = usize::from(width.saturating_sub(6));
    let mut items = Vec::new();
    for offer in &app.forms.offers {
        let (text, why) = offer_text(offer);
        let mut lines = vec![Line::from(text)];
        if let Some(why) = why {
            for part in wrap(&why, inner_width) {
                lines.push(Line::from(Span::styled(format!("  {part}"), theme.dim)));
            }
        }
        items.push(ListItem::new(lines));
    }
    let height = items.iter().map(|i| i.height() as u16).sum::<u16>() + 2;
    let outer = popup(room, width, height);
    let list = List::new(items)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(
                    format!(" Create in {} ", sanitize(&app.org)),
                    theme.title,
                ))
                .title_bottom(
                    Line::from(footer(
                        &app.keymap,
                        Mode::Chooser,
                        &[(Cmd::Accept, "create"), (Cmd::Close, "cancel")],
                    ))
                    .right_aligned(),
                ),
        )
        .highlight_symbol("> ")
        .highlight_spacing(HighlightSpacing::Always)
        .highlight_style(theme.selected);
    let mut state = ListState::default().with_selected(Some(app.forms.chooser.selected));
    frame.render_widget(Clear, outer);
    frame.render_stateful_widget(list, outer, &mut state);
}

fn value_text(field: &FormField) -> String {
    if field.unknown {
        return "unknown".to_string();
    }
    let label_of = |value: &str| {
        field
            .options
            .iter()
            .find(|o| o.value == value)
            .map_or_else(|| value.to_string(), |o| o.label.clone())
    };
    match &field.value {
        FieldValue::Text(t) => t.clone(),
        FieldValue::Password(p) => "*".repeat(p.expose().chars().count()),
        FieldValue::Checkbox(on) => if *on { "[x]" } else { "[ ]" }.to_string(),
        FieldValue::Choice(Some(c)) => format!("{} v", label_of(c)),
        FieldValue::Choice(None) => "(none) v".to_string(),
        FieldValue::Multi(ids) if ids.is_empty() => "(none) v".to_string(),
        FieldValue::Multi(ids) => format!(
            "{} v",
            ids.iter()
                .map(|id| label_of(&id.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        FieldValue::Number(Some(n)) => n.to_string(),
        FieldValue::Number(None) => String::new(),
    }
}

/// Draws the form; returns its first line on screen (the focused field
/// kept in view).
pub(super) fn render_form(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) -> Option<u16> {
    let room = popup_room(area);
    let state = app.forms.form.as_ref()?;
    let form = &state.form;
    let fields = form.fields();
    let width = 76u16.min(room.width);
    let inner_width = usize::from(width.saturating_sub(2));
    let label_width = fields
        .iter()
        .map(|f| f.label.len())
        .max()
        .unwrap_or(0)
        .min(inner_width / 2);
    let note_width = inner_width.saturating_sub(4);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(error) = &state.server_error {
        for part in wrap(&format!("Refused: {}", sanitize(error)), inner_width) {
            lines.push(Line::from(Span::styled(part, theme.error)));
        }
    }
    let mut focus_span = (0u16, 0u16);
    for (index, field) in fields.iter().enumerate() {
        let focused = index == state.focus;
        let start = lines.len() as u16;
        let marker = if focused { ">" } else { " " };
        let mut value = sanitize(&value_text(field)).into_owned();
        let typing = matches!(
            field.value,
            FieldValue::Text(_) | FieldValue::Password(_) | FieldValue::Number(_)
        );
        let label_style = if focused { theme.selected } else { theme.key };
        let mut spans = vec![Span::styled(
            format!("{marker}{:<label_width$} ", field.label),
            label_style,
        )];
        if focused && typing && matches!(field.access, FieldAccess::Editable) {
            let at = state.cursor.map_or(value.len(), |at| {
                value.char_indices().nth(at).map_or(value.len(), |(i, _)| i)
            });
            let after = value.split_off(at);
            spans.extend(cursor_spans(value, after));
        } else {
            spans.push(Span::raw(value));
        }
        lines.push(Line::from(spans));
        let mut notes: Vec<(String, ratatui::style::Style)> = Vec::new();
        if let FieldAccess::Locked(why) = &field.access {
            notes.push((format!("locked: {why}"), theme.dim));
        }
        if let Some(why) = &field.unsupported {
            notes.push((why.clone(), theme.dim));
        }
        for (f, problem) in &state.errors {
            if *f == field.field {
                notes.push((format!("! {problem}"), theme.error));
            }
        }
        for (note, style) in notes {
            for part in wrap(&sanitize(&note), note_width) {
                lines.push(Line::from(Span::styled(format!("    {part}"), style)));
            }
        }
        if focused {
            focus_span = (start, lines.len() as u16);
        }
    }
    let height = (lines.len() as u16).saturating_add(2);
    let outer = popup(room, width, height);
    let visible = outer.height.saturating_sub(2).max(1);
    // Keep the focused field (and its notes) on screen.
    let mut scroll = state.scroll;
    if focus_span.1 > scroll + visible {
        scroll = focus_span.1 - visible;
    }
    if focus_span.0 < scroll {
        scroll = focus_span.0;
    }
    let scroll = scroll.min((lines.len() as u16).saturating_sub(visible));
    let title = match form.mode() {
        FormMode::Create => format!(
            " Create {} in {} ",
            form.kind().name(),
            sanitize(form.org())
        ),
        FormMode::Edit => format!(
            " Edit {} ({}{}) ",
            state
                .original
                .as_ref()
                .map(|u| sanitize(&u.user_name).into_owned())
                .unwrap_or_default(),
            form.kind().name(),
            // The System role is hidden from this admin: the type is a guess.
            if form.kind_is_inferred() {
                ", inferred"
            } else {
                ""
            }
        ),
    };
    let mut keys = vec![(Cmd::NextField, "next"), (Cmd::Save, "save")];
    if form.kind() == AccountType::Api {
        keys.push((Cmd::SaveWithToken, "save+token"));
    }
    keys.push((Cmd::Close, "leave"));
    let saving = if state.saving { " saving... " } else { "" };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .title_bottom(
            Line::from(format!(
                "{saving}{}",
                footer(&app.keymap, Mode::Form, &keys)
            ))
            .right_aligned(),
        );
    frame.render_widget(Clear, outer);
    frame.render_widget(
        Paragraph::new(lines).block(block).scroll((scroll, 0)),
        outer,
    );
    Some(scroll)
}

pub(super) fn render_pick(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let Some(pick) = app.forms.pick.as_ref() else {
        return;
    };
    let room = popup_room(area);
    let visible = pick.visible();
    let items: Vec<ListItem> = visible
        .iter()
        .map(|&i| &pick.options[i])
        .map(|o| {
            let label = sanitize(&o.label).into_owned();
            if pick.multi {
                let mark = if pick.chosen.contains(&o.value) {
                    "[x]"
                } else {
                    "[ ]"
                };
                ListItem::new(format!("{mark} {label}"))
            } else {
                ListItem::new(label)
            }
        })
        .collect();
    let height = (items.len() as u16).saturating_add(2);
    let outer = popup(room, 64, height.max(3));
    let keys: &[(Cmd, &str)] = if pick.multi {
        &[
            (Cmd::Toggle, "mark"),
            (Cmd::Accept, "done"),
            (Cmd::Close, "cancel"),
        ]
    } else {
        &[(Cmd::Accept, "pick"), (Cmd::Close, "cancel")]
    };
    let list = List::new(items)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(
                    format!(" {} ", sanitize(&pick.title)),
                    theme.title,
                ))
                .title_bottom(Line::from(footer(&app.keymap, Mode::Pick, keys)).right_aligned()),
        )
        .highlight_symbol("> ")
        .highlight_spacing(HighlightSpacing::Always)
        .highlight_style(theme.selected);
    let at = (!visible.is_empty()).then_some(pick.list.cursor.selected);
    let mut state = ListState::default().with_selected(at);
    frame.render_widget(Clear, outer);
    frame.render_stateful_widget(list, outer, &mut state);
    // The typed-ahead text, or the hint that typing narrows the list.
    let typed = if pick.list.query.is_empty() {
        Span::styled(" type to narrow ", theme.dim)
    } else {
        Span::styled(
            format!(
                " {} of {}: {} ",
                visible.len(),
                pick.options.len(),
                sanitize(&pick.list.query)
            ),
            theme.key,
        )
    };
    let bottom = Rect {
        x: outer.x + 1,
        y: outer.y + outer.height.saturating_sub(1),
        width: outer.width.saturating_sub(2).min(typed.width() as u16),
        height: 1,
    };
    if outer.height >= 2 {
        frame.render_widget(Paragraph::new(Line::from(typed)), bottom);
    }
}

/// Typed text with its cursor: `_` at the end, the character under it
/// reversed elsewhere (reverse video, so it shows without colour).
fn cursor_spans(before: String, mut after: String) -> Vec<Span<'static>> {
    let Some(under) = after.chars().next() else {
        return vec![Span::raw(before + "_")];
    };
    let rest = after.split_off(under.len_utf8());
    let reversed = ratatui::style::Style::new().add_modifier(ratatui::style::Modifier::REVERSED);
    vec![
        Span::raw(before),
        Span::styled(after, reversed),
        Span::raw(rest),
    ]
}

pub(super) fn render_confirm(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let Some(confirm) = app.forms.confirm.as_ref() else {
        return;
    };
    let room = popup_room(area);
    let width = 64u16.min(room.width);
    let inner_width = usize::from(width.saturating_sub(2));
    let mut lines: Vec<Line> = wrap(&confirm.message, inner_width)
        .into_iter()
        .map(Line::from)
        .collect();
    if confirm.purpose == ConfirmFor::Delete {
        lines.push(Line::from(""));
        lines.push(Line::from(vec![Span::styled("Name: ", theme.key)]));
        let input = &confirm.input;
        let after = &input[input.before_cursor().len()..];
        if let Some(line) = lines.last_mut() {
            line.spans.extend(cursor_spans(
                sanitize(input.before_cursor()).into_owned(),
                sanitize(after).into_owned(),
            ));
        }
    }
    let outer = popup(room, width, lines.len() as u16 + 2);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" {} ", confirm.title), theme.error))
        .title_bottom(
            Line::from(footer(
                &app.keymap,
                Mode::Confirm,
                &[(Cmd::Accept, "go ahead"), (Cmd::Close, "cancel")],
            ))
            .right_aligned(),
        );
    frame.render_widget(Clear, outer);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        outer,
    );
}

pub(super) fn render_token(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let Some(popup_state) = app.forms.token.as_ref() else {
        return;
    };
    let room = popup_room(area);
    let width = 72u16.min(room.width);
    let inner_width = usize::from(width.saturating_sub(2)).max(1);
    let mut lines: Vec<Line> = Vec::new();
    for line in &popup_state.lines {
        for part in wrap(&sanitize(line), inner_width) {
            lines.push(Line::from(part));
        }
    }
    // A secret is long: break it anywhere so all of it shows.
    if let Some(secret) = &popup_state.secret {
        let secret: Vec<char> = sanitize(secret.expose()).chars().collect();
        for chunk in secret.chunks(inner_width) {
            lines.push(Line::from(Span::styled(
                chunk.iter().collect::<String>(),
                theme.key,
            )));
        }
    }
    for line in &popup_state.after {
        for part in wrap(&sanitize(line), inner_width) {
            lines.push(Line::from(part));
        }
    }
    let note = match (popup_state.copied, &popup_state.secret) {
        (true, _) => "Copied to the clipboard (if the terminal allows OSC 52).".to_string(),
        (false, Some(_)) => "Shown once and stored nowhere: copy it now.".to_string(),
        (false, None) => "Shown once.".to_string(),
    };
    for part in wrap(&note, inner_width) {
        lines.push(Line::from(Span::styled(part, theme.dim)));
    }
    let outer = popup(room, width, lines.len() as u16 + 2);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(popup_state.title, theme.title))
        .title_bottom(
            Line::from(footer(
                &app.keymap,
                Mode::Token,
                &[(Cmd::CopyToken, "copy"), (Cmd::Close, "close")],
            ))
            .right_aligned(),
        );
    frame.render_widget(Clear, outer);
    frame.render_widget(Paragraph::new(lines).block(block), outer);
}

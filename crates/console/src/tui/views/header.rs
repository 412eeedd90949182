//! The header: instance, actor, Organization, account counts, seats.

use super::Theme;
use crate::domain::AccountType;
use crate::tui::app::{App, LoadState};
use crate::tui::text::{sanitize, short_org_role, thousands};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

const BADGE: &str = " READ-ONLY ";
/// Standing, because `verify_tls = false` must never be forgotten.
const TLS_BADGE: &str = " TLS NOT VERIFIED ";

pub(super) fn height(app: &App, area: Rect) -> u16 {
    if area.height < 8 {
        1
    } else if area.height >= 16 && app.current_limits().is_some() {
        3
    } else {
        2
    }
}

pub(super) fn render(app: &App, frame: &mut Frame, area: Rect, theme: &Theme) {
    let actor = &app.ctx.actor;
    let mut roles = actor.system_role_name().to_string();
    if let Some(org_role) = actor.org_role_name() {
        roles.push_str(", ");
        roles.push_str(short_org_role(org_role));
    }
    let first = Line::from(vec![
        Span::styled(format!(" {}", sanitize(&app.ctx.instance)), theme.title),
        Span::raw(format!(
            " | {} ({})",
            sanitize(&actor.user_name),
            sanitize(&roles)
        )),
    ]);
    let rows: Vec<Rect> = (0..area.height)
        .map(|i| Rect {
            y: area.y + i,
            height: 1,
            ..area
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let mut badges = String::new();
    if app.tls_unverified {
        badges.push_str(TLS_BADGE);
    }
    if app.read_only() {
        badges.push_str(BADGE);
    }
    if badges.is_empty() {
        frame.render_widget(Paragraph::new(first), rows[0]);
    } else {
        let badge_width = (badges.len() as u16).min(area.width);
        let [left, right] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(badge_width)])
                .areas(rows[0]);
        frame.render_widget(Paragraph::new(first), left);
        frame.render_widget(Paragraph::new(Span::styled(badges, theme.badge)), right);
    }
    if area.height < 2 {
        return;
    }
    let second = match failed_count_text(app, area.width) {
        // A partial count never passes for the whole: after a failed load
        // it comes first, where even a narrow screen shows it.
        Some(count) => Line::from(vec![
            Span::styled(count, theme.error),
            Span::raw(" | Org: "),
            Span::styled(sanitize(&app.org).into_owned(), theme.title),
        ]),
        None => Line::from(vec![
            Span::raw(" Org: "),
            Span::styled(sanitize(&app.org).into_owned(), theme.title),
            Span::raw(format!(" | {}", count_text(app))),
        ]),
    };
    // The saved view shown, first on the line so a narrow screen keeps it;
    // `*` once the filter, sort or columns differ from it.
    let second = match &app.view_name {
        Some(name) => {
            let changed = if app.view_changed() { "*" } else { "" };
            let mut spans = vec![Span::styled(
                format!(" [{}{changed}]", sanitize(name)),
                theme.key,
            )];
            spans.extend(second.spans);
            Line::from(spans)
        }
        None => second,
    };
    frame.render_widget(Paragraph::new(second), rows[1]);
    if area.height < 3 {
        return;
    }
    if let Some(limits) = app.current_limits() {
        let seat = |kind: AccountType, limit: Option<i64>| match (limit, limits.remaining(kind)) {
            (Some(limit), Some(left)) => format!("{} {left} of {limit}", kind_label(kind)),
            _ => format!("{} no limit", kind_label(kind)),
        };
        let text = format!(
            " Seats left: {} | {} | {}",
            seat(AccountType::User, limits.user_limit),
            seat(AccountType::Api, limits.api_limit),
            seat(AccountType::Taxii, limits.taxii_limit)
        );
        frame.render_widget(Paragraph::new(text), rows[2]);
    }
}

fn kind_label(kind: AccountType) -> &'static str {
    match kind {
        AccountType::User => "User",
        AccountType::Api => "API",
        AccountType::Taxii => "TAXII",
        AccountType::ReadOnly => "Read Only",
    }
}

/// After a failed load: what was loaded, against the server's total when
/// it reported one ("4,000 of 10,000 accounts (loading failed)"), in
/// fewer words when `width` is too narrow for that.
fn failed_count_text(app: &App, width: u16) -> Option<String> {
    if app.load != LoadState::Failed {
        return None;
    }
    let loaded = app.rows.len() as u64;
    let (long, short) = match app.listed_total.filter(|total| *total > loaded) {
        Some(total) => {
            let (loaded, total) = (thousands(loaded), thousands(total));
            (
                format!(" {loaded} of {total} accounts (loading failed)"),
                format!(" {loaded} of {total} (load failed)"),
            )
        }
        None if loaded == 0 => (
            " no accounts loaded (loading failed)".to_string(),
            " none loaded (load failed)".to_string(),
        ),
        None => {
            let loaded = thousands(loaded);
            (
                format!(" {loaded} accounts so far (loading failed)"),
                format!(" {loaded} so far (load failed)"),
            )
        }
    };
    Some(if long.len() <= usize::from(width) {
        long
    } else {
        short
    })
}

fn count_text(app: &App) -> String {
    let c = &app.counts;
    let total = app.rows.len();
    let noun = if total == 1 { "account" } else { "accounts" };
    let known = [
        (c.user, AccountType::User),
        (c.api, AccountType::Api),
        (c.taxii, AccountType::Taxii),
        (c.read_only, AccountType::ReadOnly),
    ];
    if c.unknown == total {
        // The instance returned no System roles: types are unknown.
        return format!("{total} {noun}");
    }
    let mut parts: Vec<String> = known
        .iter()
        .map(|(n, kind)| format!("{} {n}", kind_label(*kind)))
        .collect();
    if c.unknown > 0 {
        parts.push(format!("? {}", c.unknown));
    }
    format!("{total} {noun} ({})", parts.join(", "))
}

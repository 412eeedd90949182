//! The detail view: every field the instance returned for the account,
//! and "not returned" for the rest.

use super::{popup, popup_room, Theme};
use crate::domain::text::{display_width, fit};
use crate::domain::{LastLoginReported, PasswordExpiry, User};
use crate::tui::app::App;
use crate::tui::keymap::Mode;
use crate::tui::text::{absolute, relative, sanitize};
use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

const NOT_RETURNED: &str = "not returned";

/// Draws the account's details; returns their lines and the lines showing.
pub(super) fn render(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
) -> Option<(usize, usize)> {
    let user = app.selected_user()?;
    let fields = fields(
        user,
        app.now,
        app.ctx.settings.password_max_age_days,
        app.last_login,
    );
    let title = format!(" {} ", sanitize(&user.user_name));
    let room = popup_room(area);
    let outer = popup(room, 78, fields.len() as u16 + 2);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title))
        .title_bottom(
            Line::from(super::help::scroll_hints(&app.keymap, Mode::Detail, "back"))
                .right_aligned(),
        );
    let inner = block.inner(outer);
    // Labels name Organizations and Communities ("Role in NAME"): server
    // text, sanitized and measured like every other cell.
    let label_width = fields
        .iter()
        .map(|(label, _)| display_width(label))
        .max()
        .unwrap_or(0)
        .min(usize::from(inner.width / 2));
    let lines: Vec<Line> = fields
        .into_iter()
        .map(|(label, value)| {
            let label = fit(&label, label_width);
            let pad = label_width.saturating_sub(display_width(&label));
            Line::from(vec![
                Span::styled(format!("{label}{} ", " ".repeat(pad)), theme.key),
                Span::raw(sanitize(&value).into_owned()),
            ])
        })
        .collect();
    let text = (lines.len(), usize::from(inner.height));
    frame.render_widget(Clear, outer);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((super::text_scroll(&app.detail, text.0, text.1), 0)),
        outer,
    );
    Some(text)
}

fn text(value: Option<&str>) -> String {
    value.map_or_else(|| NOT_RETURNED.to_string(), str::to_string)
}

fn flag(value: Option<bool>) -> String {
    match value {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => NOT_RETURNED.into(),
    }
}

fn number(value: Option<i64>, unit: &str) -> String {
    value.map_or_else(|| NOT_RETURNED.to_string(), |n| format!("{n}{unit}"))
}

fn time(value: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    value.map_or_else(
        || NOT_RETURNED.to_string(),
        |t| format!("{} ({})", absolute(t), relative(t, now)),
    )
}

/// Label and value of every field, unsanitized.
fn fields(
    user: &User,
    now: DateTime<Utc>,
    max_age: Option<i64>,
    last_login: LastLoginReported,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![
        ("Id".into(), user.id.to_string()),
        ("User Name".into(), user.user_name.clone()),
        ("First Name".into(), text(user.first_name.as_deref())),
        ("Last Name".into(), text(user.last_name.as_deref())),
        ("Pseudonym".into(), text(user.pseudonym.as_deref())),
        ("Organization".into(), text(user.owner.as_deref())),
        ("System Role".into(), text(user.system_role.as_deref())),
        ("Organization Role".into(), text(user.org_role_name())),
    ];
    if let Some(roles) = &user.owner_roles {
        for (owner, role) in roles.iter() {
            if Some(owner) != user.owner.as_deref() {
                out.push((format!("Role in {owner}"), role.to_string()));
            }
        }
    }
    let status = user
        .status()
        .map_or_else(|| NOT_RETURNED.to_string(), |s| s.name().to_string());
    let last_login = match (user.last_login, user.days_since_login(now, last_login)) {
        (Some(t), _) => time(Some(t), now),
        (None, Some(None)) => "never".to_string(),
        _ => NOT_RETURNED.to_string(),
    };
    let expiry = match user.password_expiry(max_age, now) {
        PasswordExpiry::DaysLeft(0) => "today".to_string(),
        PasswordExpiry::DaysLeft(1) => "in 1 day".to_string(),
        PasswordExpiry::DaysLeft(days) => format!("in {days} days"),
        PasswordExpiry::Expired => "expired".to_string(),
        PasswordExpiry::Unknown if max_age.is_none() => {
            "unknown (the instance states no maximum age)".to_string()
        }
        PasswordExpiry::Unknown => "unknown (no last password change)".to_string(),
    };
    let groups = match user.group_names() {
        Some(names) if names.is_empty() => "none".to_string(),
        Some(names) => names.join(", "),
        None => NOT_RETURNED.to_string(),
    };
    out.extend([
        ("Status".into(), status),
        ("Disabled".into(), flag(user.disabled)),
        ("Locked".into(), flag(user.locked)),
        ("MFA Enabled".into(), flag(user.mfa_enabled)),
        (
            "Password Reset Required".into(),
            flag(user.password_reset_required),
        ),
        (
            "MFA Reset Required".into(),
            flag(user.two_factor_reset_required),
        ),
        ("Terms Accepted".into(), flag(user.terms_accepted)),
        (
            "Terms Accepted Date".into(),
            time(user.terms_accepted_date, now),
        ),
        ("Last Login".into(), last_login),
        (
            "Last Password Change".into(),
            time(user.last_password_change, now),
        ),
        ("Password Expires".into(), expiry),
        ("Groups".into(), groups),
        (
            "Log Out After".into(),
            number(user.logout_interval_minutes, " min"),
        ),
        (
            "Custom TQL Timeout".into(),
            match user.custom_tql_timeout.map(|t| t.millis(user.tql_timeout)) {
                Some(Some(Some(ms))) => format!("{ms} ms"),
                Some(Some(None)) => "none".into(),
                Some(None) | None => NOT_RETURNED.into(),
            },
        ),
        ("UI Theme".into(), text(user.ui_theme.as_deref())),
        ("Job Function".into(), text(user.job_function.as_deref())),
        ("Job Role".into(), text(user.job_role.as_deref())),
    ]);
    out
}

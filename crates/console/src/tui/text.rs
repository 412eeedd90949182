//! Turning server values into terminal text: sanitizing, relative times,
//! short role names for narrow columns (the table lives in the domain).

use chrono::{DateTime, Utc};

pub(crate) use crate::domain::roles::{short_org_role, short_system_role};
pub(crate) use crate::domain::text::{sanitize, thousands};

/// "5m ago", "3h ago", "3d ago", "4mo ago", "2y ago"; "in the future" for
/// clock skew.
pub(crate) fn relative(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let elapsed = now - time;
    let minutes = elapsed.num_minutes();
    if minutes < 0 {
        return "future".to_string();
    }
    let days = elapsed.num_days();
    if minutes < 60 {
        format!("{minutes}m ago")
    } else if days < 1 {
        format!("{}h ago", elapsed.num_hours())
    } else if days < 60 {
        format!("{days}d ago")
    } else if days < 365 {
        format!("{}mo ago", days / 30)
    } else {
        format!("{}y ago", days / 365)
    }
}

/// Full date and time for the detail view.
pub(crate) fn absolute(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(4_000), "4,000");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn relative_times() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        assert_eq!(relative(now - Duration::minutes(5), now), "5m ago");
        assert_eq!(relative(now - Duration::hours(3), now), "3h ago");
        assert_eq!(relative(now - Duration::days(3), now), "3d ago");
        assert_eq!(relative(now - Duration::days(130), now), "4mo ago");
        assert_eq!(relative(now - Duration::days(800), now), "2y ago");
        assert_eq!(relative(now + Duration::days(1), now), "future");
    }
}

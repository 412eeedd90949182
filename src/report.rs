//! Audit exports: Markdown for people, CSV for spreadsheets, JSON for
//! machines and for `rollcall audit --diff` (its `accounts` array is an
//! [`AuditSnapshot`]).
//!
//! Server-supplied text is sanitized in Markdown and CSV (it may be shown in
//! a terminal or opened in a spreadsheet); JSON keeps it as returned, since
//! its escaping already makes control characters harmless.

use crate::domain::audit::{
    Audit, AuditDiff, AuditSnapshot, Finding, FindingKind, RoleKind, StaleDays,
};
use crate::domain::text::{csv_cell, sanitize};
use crate::domain::{Actor, User};
use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Identifies a JSON audit report, so `--diff` refuses other JSON files.
pub const JSON_REPORT_KIND: &str = "rollcall-audit";
pub const JSON_REPORT_VERSION: u32 = 1;

/// Who ran the audit, with which roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportActor {
    pub user_name: String,
    pub system_role: String,
    /// `None` when the instance did not say.
    pub org_role: Option<String>,
    pub home_org: String,
}

impl From<&Actor> for ReportActor {
    fn from(actor: &Actor) -> Self {
        ReportActor {
            user_name: actor.user_name.clone(),
            system_role: actor.system_role_name().to_string(),
            org_role: actor.org_role_name().map(str::to_string),
            home_org: actor.home_org.clone(),
        }
    }
}

/// What every export states about how the audit was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportHeader {
    /// The instance's API base URL.
    pub instance: String,
    pub actor: ReportActor,
    /// `None`: every account the actor may see.
    pub organization: Option<String>,
    pub generated: DateTime<Utc>,
    pub stale_days: i64,
    pub expiring_days: i64,
    /// The `[policy.stale_days]` in force: "No recent login" then uses
    /// each type's own threshold (`stale_days` for a type it leaves out).
    #[serde(skip_serializing_if = "StaleDays::is_empty")]
    pub stale_by_type: StaleDays,
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Sanitized, then with Markdown's inline syntax escaped, for a table cell.
pub(crate) fn md(text: &str) -> String {
    let mut out = String::new();
    for c in sanitize(text).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

struct Directory<'a> {
    by_id: BTreeMap<i64, &'a User>,
}

impl<'a> Directory<'a> {
    fn new(users: &'a [User]) -> Self {
        Directory {
            by_id: users.iter().map(|u| (u.id, u)).collect(),
        }
    }

    fn user_name(&self, id: i64) -> String {
        match self.by_id.get(&id) {
            Some(u) => u.user_name.clone(),
            None => format!("#{id}"),
        }
    }

    fn full_name(&self, id: i64) -> String {
        self.by_id
            .get(&id)
            .map(|u| u.full_name())
            .unwrap_or_default()
    }
}

fn actor_line(actor: &ReportActor) -> String {
    let mut roles = format!("System role {}", actor.system_role);
    match &actor.org_role {
        Some(r) => roles.push_str(&format!(", Organization role {r}")),
        None => roles.push_str(", Organization role unknown"),
    }
    format!(
        "{} ({roles}, {})",
        md(&actor.user_name),
        md(&actor.home_org)
    )
}

fn scope_line(header: &ReportHeader) -> String {
    match &header.organization {
        Some(org) => format!("Organization {}", md(org)),
        None => "every account the actor may see".to_string(),
    }
}

fn limit_text(value: Option<i64>) -> String {
    value.map_or_else(|| "no limit".to_string(), |v| v.to_string())
}

fn accounts_word(n: usize) -> &'static str {
    if n == 1 {
        "account"
    } else {
        "accounts"
    }
}

/// The report for people.
pub fn markdown(header: &ReportHeader, audit: &Audit, users: &[User]) -> String {
    let dir = Directory::new(users);
    let mut out = String::new();
    out.push_str("# Account audit\n\n");
    out.push_str(&format!("- Instance: {}\n", md(&header.instance)));
    out.push_str(&format!("- Audited by: {}\n", actor_line(&header.actor)));
    out.push_str(&format!("- Scope: {}\n", scope_line(header)));
    out.push_str(&format!("- Accounts returned: {}\n", users.len()));
    out.push_str(&format!("- Generated: {}\n", timestamp(header.generated)));
    let stale = header
        .stale_by_type
        .describe(header.stale_days)
        .map_or_else(
            || format!("{} days", header.stale_days),
            |per_type| format!("{per_type} (the policy)"),
        );
    out.push_str(&format!(
        "- Thresholds: no login for more than {stale}; passwords expiring within {} days\n",
        header.expiring_days
    ));
    out.push_str(
        "\nRead only: nothing was changed. \"Unknown\" counts accounts whose data the \
         instance did not return to this actor, so the finding could not be decided for them.\n",
    );

    out.push_str("\n## Summary\n\n| Finding | Accounts | Unknown |\n| --- | ---: | ---: |\n");
    for f in &audit.findings {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            f.kind.title(),
            f.account_ids.len(),
            f.unknown_ids.len()
        ));
    }

    out.push_str("\n## Seats\n\n");
    if audit.seats.is_empty() {
        out.push_str("The instance did not report seat limits.\n");
    } else {
        out.push_str(
            "| Organization | Type | Used | Limit | Remaining |\n| --- | --- | ---: | ---: | ---: |\n",
        );
        for s in &audit.seats {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                md(&s.organization),
                s.kind,
                s.used,
                limit_text(s.limit),
                s.remaining
                    .map_or_else(|| "-".to_string(), |r| r.to_string())
            ));
        }
        let not_counted: Vec<String> = audit
            .read_only_not_counted
            .iter()
            .map(|(org, n)| format!("{} {n}", md(org)))
            .collect();
        if !not_counted.is_empty() {
            out.push_str(&format!(
                "\nRead Only Users, not counted against the User Limit: {}.\n",
                not_counted.join(", ")
            ));
        }
    }

    for f in &audit.findings {
        markdown_finding(&mut out, f, &dir, header);
    }
    out
}

/// The console filter that selects a finding's accounts, as the audit
/// judged them (per account type where the policy sets stale days).
fn finding_filter(kind: FindingKind, header: &ReportHeader) -> Option<String> {
    match kind {
        FindingKind::StaleLogin => Some(header.stale_by_type.filter(header.stale_days)),
        other => other.filter(header.stale_days),
    }
}

fn markdown_finding(out: &mut String, f: &Finding, dir: &Directory, header: &ReportHeader) {
    out.push_str(&format!(
        "\n## {} ({})\n\n",
        f.kind.title(),
        f.account_ids.len()
    ));
    if let Some(filter) = finding_filter(f.kind, header) {
        out.push_str(&format!("Console filter: `{filter}`\n\n"));
    }
    if f.account_ids.is_empty() {
        out.push_str("No accounts.\n");
    } else {
        out.push_str("| User name | Name | Detail |\n| --- | --- | --- |\n");
        for id in &f.account_ids {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                md(&dir.user_name(*id)),
                md(&dir.full_name(*id)),
                md(f.detail.get(id).map(String::as_str).unwrap_or(""))
            ));
        }
    }
    if !f.unknown_ids.is_empty() {
        let n = f.unknown_ids.len();
        out.push_str(&format!(
            "\nUnknown for {n} {} (the instance did not return the data needed; \
             they are listed in the CSV and JSON exports).\n",
            accounts_word(n)
        ));
    }
}

/// One row per (finding, account), then one per (finding, unknown account).
/// The header is in the Markdown and JSON exports; CSV stays one plain table.
pub fn csv(_header: &ReportHeader, audit: &Audit, users: &[User]) -> String {
    let dir = Directory::new(users);
    let mut rows: Vec<[String; 5]> = vec![[
        "finding".into(),
        "account_id".into(),
        "user_name".into(),
        "result".into(),
        "detail".into(),
    ]];
    for f in &audit.findings {
        for id in &f.account_ids {
            rows.push([
                f.kind.key().into(),
                id.to_string(),
                csv_cell(&dir.user_name(*id)),
                "yes".into(),
                csv_cell(f.detail.get(id).map(String::as_str).unwrap_or("")),
            ]);
        }
        for id in &f.unknown_ids {
            rows.push([
                f.kind.key().into(),
                id.to_string(),
                csv_cell(&dir.user_name(*id)),
                "unknown".into(),
                String::new(),
            ]);
        }
    }
    write_rows(&rows)
}

fn finding_json(f: &Finding, header: &ReportHeader) -> serde_json::Value {
    json!({
        "kind": f.kind,
        "title": f.kind.title(),
        "filter": finding_filter(f.kind, header),
        "count": f.account_ids.len(),
        "unknownCount": f.unknown_ids.len(),
        "accountIds": f.account_ids,
        "unknownIds": f.unknown_ids,
        "detail": f.detail,
    })
}

/// The machine-readable report; `accounts` is what `--diff` compares.
pub fn json(header: &ReportHeader, audit: &Audit, users: &[User]) -> serde_json::Value {
    let snapshot = AuditSnapshot::from_users(users, header.generated, header.stale_days);
    json!({
        "report": JSON_REPORT_KIND,
        "version": JSON_REPORT_VERSION,
        "header": header,
        "findings": audit
            .findings
            .iter()
            .map(|f| finding_json(f, header))
            .collect::<Vec<_>>(),
        "seats": audit.seats,
        "readOnlyNotCounted": audit.read_only_not_counted,
        "accounts": snapshot.accounts,
    })
}

/// The account snapshot of a JSON report written by [`json`].
pub fn snapshot_from_json(text: &str) -> anyhow::Result<AuditSnapshot> {
    let value: serde_json::Value = serde_json::from_str(text).context("not a JSON document")?;
    if value.get("report").and_then(|v| v.as_str()) != Some(JSON_REPORT_KIND) {
        anyhow::bail!(
            "not a rollcall audit report (write one with `rollcall audit --format json`)"
        );
    }
    let accounts = value
        .get("accounts")
        .cloned()
        .context("the report has no accounts")?;
    let accounts =
        serde_json::from_value(accounts).context("the report's accounts are malformed")?;
    Ok(AuditSnapshot { accounts })
}

/// What changed between two audits, for people; user names come from the
/// newer audit, else the older one.
pub fn diff_markdown(diff: &AuditDiff, old: &AuditSnapshot, new: &AuditSnapshot) -> String {
    let names: BTreeMap<i64, &str> = old
        .accounts
        .iter()
        .chain(new.accounts.iter())
        .map(|a| (a.id, a.user_name.as_str()))
        .collect();
    let mut out = String::from("# Audit changes\n\n");
    if diff.is_empty() {
        out.push_str("No changes between the two audits.\n");
        if !diff.unknown_ids.is_empty() {
            out.push_str(&not_compared(&diff.unknown_ids));
        }
        return out;
    } else {
        out.push_str(&format!(
            "| Change | Accounts |\n| --- | ---: |\n| Added | {} |\n| Removed | {} |\n\
             | Role changes | {} |\n| Newly without a recent login | {} |\n| Newly disabled | {} |\n",
            diff.added.len(),
            diff.removed.len(),
            diff.role_changes.len(),
            diff.newly_stale.len(),
            diff.newly_disabled.len()
        ));
    }
    let snapshot_rows = |title: &str, accounts: &[crate::domain::audit::AccountSnapshot]| {
        let mut s = format!("\n## {title} ({})\n\n", accounts.len());
        if accounts.is_empty() {
            s.push_str("None.\n");
            return s;
        }
        s.push_str("| Id | User name | System role | Organization role | Status |\n| ---: | --- | --- | --- | --- |\n");
        for a in accounts {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                a.id,
                md(&a.user_name),
                md(a.system_role.as_deref().unwrap_or("unknown")),
                md(a.org_role.as_deref().unwrap_or("unknown")),
                md(a.status.as_deref().unwrap_or("unknown")),
            ));
        }
        s
    };
    out.push_str(&snapshot_rows("Added", &diff.added));
    out.push_str(&snapshot_rows("Removed", &diff.removed));

    out.push_str(&format!(
        "\n## Role changes ({})\n\n",
        diff.role_changes.len()
    ));
    if diff.role_changes.is_empty() {
        out.push_str("None.\n");
    } else {
        out.push_str(
            "| Id | User name | Role | Before | After |\n| ---: | --- | --- | --- | --- |\n",
        );
        for c in &diff.role_changes {
            let role = match c.role {
                RoleKind::System => "System",
                RoleKind::Organization => "Organization",
            };
            out.push_str(&format!(
                "| {} | {} | {role} | {} | {} |\n",
                c.id,
                md(&c.user_name),
                md(&c.old),
                md(&c.new)
            ));
        }
    }
    for (title, ids) in [
        ("Newly without a recent login", &diff.newly_stale),
        ("Newly disabled", &diff.newly_disabled),
    ] {
        out.push_str(&format!("\n## {title} ({})\n\n", ids.len()));
        if ids.is_empty() {
            out.push_str("None.\n");
        } else {
            out.push_str("| Id | User name |\n| ---: | --- |\n");
            for id in ids.iter() {
                let name = names.get(id).copied().unwrap_or("");
                out.push_str(&format!("| {id} | {} |\n", md(name)));
            }
        }
    }
    if !diff.unknown_ids.is_empty() {
        out.push_str(&not_compared(&diff.unknown_ids));
    }
    out
}

fn not_compared(ids: &[i64]) -> String {
    let n = ids.len();
    format!(
        "\nNot compared for {n} {} (one of the audits lacked the data): ids {}.\n",
        accounts_word(n),
        join_ids(ids)
    )
}

/// One row per change: change, account id, user name, detail.
pub fn diff_csv(diff: &AuditDiff, old: &AuditSnapshot, new: &AuditSnapshot) -> String {
    let names: BTreeMap<i64, &str> = old
        .accounts
        .iter()
        .chain(new.accounts.iter())
        .map(|a| (a.id, a.user_name.as_str()))
        .collect();
    let name = |id: i64| csv_cell(names.get(&id).copied().unwrap_or(""));
    let mut rows: Vec<[String; 4]> = vec![[
        "change".into(),
        "account_id".into(),
        "user_name".into(),
        "detail".into(),
    ]];
    for (change, accounts) in [("added", &diff.added), ("removed", &diff.removed)] {
        for a in accounts {
            rows.push([change.into(), a.id.to_string(), name(a.id), String::new()]);
        }
    }
    for c in &diff.role_changes {
        let role = match c.role {
            RoleKind::System => "System",
            RoleKind::Organization => "Organization",
        };
        rows.push([
            "role_changed".into(),
            c.id.to_string(),
            name(c.id),
            csv_cell(&format!("{role} role: {} -> {}", c.old, c.new)),
        ]);
    }
    for (change, ids) in [
        ("newly_stale", &diff.newly_stale),
        ("newly_disabled", &diff.newly_disabled),
        ("not_compared", &diff.unknown_ids),
    ] {
        for id in ids {
            rows.push([change.into(), id.to_string(), name(*id), String::new()]);
        }
    }
    write_rows(&rows)
}

fn write_rows<const N: usize>(rows: &[[String; N]]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        // Writing to memory cannot fail short of allocation failure.
        if writer.write_record(row).is_err() {
            break;
        }
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::account::GroupRef;
    use crate::domain::audit::{audit, diff, AuditInput};
    use crate::domain::limits::OrgLimits;
    use chrono::{Duration, TimeZone};

    const ORG: &str = "Demo Organization";

    fn generated() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn days_ago(days: i64) -> Option<DateTime<Utc>> {
        Some(generated() - Duration::days(days))
    }

    fn account(
        id: i64,
        user_name: &str,
        first: &str,
        last: &str,
        system_role: &str,
        org_role: &str,
    ) -> User {
        User {
            id,
            user_name: user_name.into(),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            owner: Some(ORG.into()),
            system_role: Some(system_role.into()),
            owner_roles: Some(crate::domain::OwnerRoles::from([(
                ORG.to_string(),
                org_role.to_string(),
            )])),
            disabled: Some(false),
            locked: Some(false),
            password_reset_required: Some(false),
            two_factor_reset_required: Some(false),
            last_login: days_ago(1),
            last_password_change: days_ago(10),
            user_groups: Some(Vec::new()),
            ..Default::default()
        }
    }

    /// A small population touching every finding, with hostile text.
    fn users() -> Vec<User> {
        let mut out = vec![account(
            1,
            "jsmith@example.com",
            "John",
            "Smith",
            "User",
            "Standard User",
        )];
        let mut u = account(
            2,
            "new_hire@example.com",
            "Pat",
            "Jones",
            "User",
            "Standard User",
        );
        u.last_login = None;
        u.password_reset_required = Some(true);
        out.push(u);
        // A terminal escape and a Markdown table breaker in the names.
        let mut u = account(
            3,
            "evil|name@example.com",
            "\u{1b}[31mEvil",
            "Escape",
            "User",
            "Sharing User",
        );
        u.last_login = days_ago(200);
        u.last_password_change = days_ago(120);
        out.push(u);
        // A name a spreadsheet would run as a formula.
        let mut u = account(
            4,
            "=HYPERLINK(\"x\")",
            "Robert \"Bobby\"",
            "Tables\\",
            "Read Only User",
            "Read Only User",
        );
        u.locked = Some(true);
        u.last_password_change = days_ago(85);
        u.two_factor_reset_required = Some(true);
        out.push(u);
        let mut u = account(
            5,
            "gone@example.com",
            "Zoë",
            "Ångström",
            "User",
            "Standard User",
        );
        u.disabled = Some(true);
        u.user_groups = Some(vec![GroupRef {
            id: 1,
            name: "SOC".into(),
        }]);
        out.push(u);
        let mut u = account(
            7,
            "admin@example.com",
            "Ada",
            "Admin",
            "Administrator",
            "Organization Administrator",
        );
        u.last_login = days_ago(30);
        out.push(u);
        let mut u = account(
            9,
            "10000000000000000001",
            "Feed",
            "Bot",
            "Api User",
            "Standard User",
        );
        u.last_login = None;
        u.last_password_change = None;
        out.push(u);
        // Only basic fields returned: unknown for everything.
        out.push(User {
            id: 10,
            user_name: "basic@example.com".into(),
            first_name: Some("Tab\tName".into()),
            ..Default::default()
        });
        out
    }

    fn limits() -> Vec<OrgLimits> {
        vec![OrgLimits {
            organization: ORG.into(),
            user_limit: Some(10),
            api_limit: Some(2),
            taxii_limit: None,
            users: 6,
            api_users: 1,
            taxii_users: 0,
            read_only_users: 1,
        }]
    }

    fn header() -> ReportHeader {
        ReportHeader {
            instance: "http://127.0.0.1:8080/api".into(),
            actor: ReportActor {
                user_name: "administrator".into(),
                system_role: "Administrator".into(),
                org_role: Some("Standard User".into()),
                home_org: ORG.into(),
            },
            organization: None,
            generated: generated(),
            stale_days: 90,
            expiring_days: 14,
            stale_by_type: StaleDays::default(),
        }
    }

    fn computed(users: &[User], limits: &[OrgLimits]) -> Audit {
        audit(&AuditInput {
            limits,
            password_max_age_days: Some(90),
            ..AuditInput::new(users, generated())
        })
    }

    #[test]
    fn per_type_stale_days_are_stated_and_filtered_as_judged() {
        let users = users();
        let stale_by_type = StaleDays {
            user: Some(90),
            api: Some(30),
            ..StaleDays::default()
        };
        let header = ReportHeader {
            stale_by_type,
            ..header()
        };
        let audit = audit(&AuditInput {
            stale_by_type,
            ..AuditInput::new(&users, generated())
        });
        let text = markdown(&header, &audit, &users);
        assert!(
            text.contains("- Thresholds: no login for more than User 90, API 30, TAXII 90, Read Only 90 days (the policy);"),
            "{text}"
        );
        assert!(
            text.contains("Console filter: `type:user login>90d or type:api login>30d or type:taxii login>90d or type:readonly login>90d`"),
            "{text}"
        );
        let value = json(&header, &audit, &users);
        assert_eq!(value["header"]["staleByType"]["api"], 30);
        // Without a policy, the header reads as before.
        let value = json(&self::header(), &audit, &users);
        assert!(value["header"].get("staleByType").is_none());
    }

    #[test]
    fn markdown_report() {
        let users = users();
        let text = markdown(&header(), &computed(&users, &limits()), &users);
        assert!(!text.contains('\u{1b}') && !text.contains('\t'));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn markdown_without_limits_says_so() {
        let users = users();
        let mut h = header();
        h.organization = Some("Demo Organization".into());
        h.actor.org_role = None;
        let text = markdown(&h, &computed(&users, &[]), &users);
        assert!(text.contains("The instance did not report seat limits."));
        assert!(text.contains("- Scope: Organization Demo Organization\n"));
        assert!(text.contains("Organization role unknown"));
    }

    #[test]
    fn csv_report() {
        let users = users();
        let text = csv(&header(), &computed(&users, &limits()), &users);
        assert!(!text.contains('\u{1b}'));
        insta::assert_snapshot!(text);
        // Every row parses back with five columns; unknowns are flagged.
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert!(rows.iter().all(|r| r.len() == 5));
        let unknown = rows.iter().filter(|r| &r[3] == "unknown").count();
        let expected: usize = computed(&users, &[])
            .findings
            .iter()
            .map(|f| f.unknown_ids.len())
            .sum();
        assert_eq!(unknown, expected);
        assert!(rows.iter().any(|r| &r[2] == "'=HYPERLINK(\"x\")"));
    }

    #[test]
    fn json_report() {
        let users = users();
        let value = json(&header(), &computed(&users, &limits()), &users);
        insta::assert_snapshot!(serde_json::to_string_pretty(&value).unwrap());
        // The accounts array is what --diff reads back.
        let text = value.to_string();
        let snapshot = snapshot_from_json(&text).unwrap();
        assert_eq!(snapshot, AuditSnapshot::from_users(&users, generated(), 90));
        let locked = &value["findings"][4];
        assert_eq!(locked["kind"], "locked");
        assert_eq!(locked["count"], 1);
        assert_eq!(locked["unknownIds"], json!([10]));
    }

    #[test]
    fn other_json_is_not_taken_for_a_report() {
        assert!(snapshot_from_json("{\"accounts\":[]}").is_err());
        assert!(snapshot_from_json("not json").is_err());
        assert!(snapshot_from_json("{\"report\":\"rollcall-audit\",\"accounts\":5}").is_err());
        assert!(snapshot_from_json("[]").is_err());
    }

    #[test]
    fn diff_report() {
        let before = users();
        let mut after = users();
        after[0].system_role = Some("Accounts Administrator".into());
        after[1].last_login = days_ago(2);
        after[5].disabled = Some(true);
        after[5].last_login = days_ago(120);
        after.retain(|u| u.id != 9);
        after.push(account(
            11,
            "hire|two@example.com",
            "Nora",
            "Costa",
            "User",
            "Standard User",
        ));
        let old = AuditSnapshot::from_users(&before, generated(), 90);
        let new = AuditSnapshot::from_users(&after, generated(), 90);
        let d = diff(&old, &new);
        assert_eq!(d.newly_disabled, vec![7]);
        insta::assert_snapshot!(diff_markdown(&d, &old, &new));
        insta::assert_snapshot!("diff_csv", diff_csv(&d, &old, &new));
        let same = diff_markdown(&diff(&old, &old), &old, &old);
        assert_eq!(
            same,
            "# Audit changes\n\nNo changes between the two audits.\n\n\
             Not compared for 1 account (one of the audits lacked the data): ids 10.\n"
        );
    }

    #[test]
    fn every_finding_has_a_section() {
        let users = users();
        let text = markdown(&header(), &computed(&users, &limits()), &users);
        for kind in FindingKind::ALL {
            assert!(
                text.contains(&format!("\n## {} (", kind.title())),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn cells_are_sanitized_and_escaped() {
        assert_eq!(md("a\u{1b}[2J|b"), "a\\\\e\\[2J\\|b");
        assert_eq!(md("a|b*c_d\\"), "a\\|b\\*c\\_d\\\\");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("10000000000000000001"), "10000000000000000001");
    }
}

//! Read-only audit findings, computed only from what the instance returned.
//! An account whose data needed for a finding was not returned is listed as
//! unknown for that finding, never as passing or failing it.

use super::account::{LastLoginReported, PasswordExpiry, Status, User};
use super::limits::OrgLimits;
use super::roles::{AccountType, OrgRole, SystemRole};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

pub const DEFAULT_STALE_DAYS: i64 = 90;
pub const DEFAULT_EXPIRING_DAYS: i64 = 14;

#[derive(Debug, Clone, Copy)]
pub struct AuditInput<'a> {
    pub users: &'a [User],
    /// Empty when the instance does not report limits.
    pub limits: &'a [OrgLimits],
    pub now: DateTime<Utc>,
    pub stale_days: i64,
    pub expiring_days: i64,
    /// `None` when the instance did not say (password findings are unknown).
    pub password_max_age_days: Option<i64>,
    /// Whether an absent last login means "never" (see [`LastLoginReported`]).
    pub last_login: LastLoginReported,
    /// A policy's stale thresholds per account type; a type it leaves out
    /// uses `stale_days`.
    pub stale_by_type: StaleDays,
}

/// Days without a login before an account is stale, per account type
/// (`[policy.stale_days]`); `None`: the audit's `--stale-days`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of days per account type ([policy.stale_days] user = 90, api = 30, ...)"
)]
pub struct StaleDays {
    #[serde(default)]
    pub user: Option<i64>,
    #[serde(default)]
    pub api: Option<i64>,
    #[serde(default)]
    pub taxii: Option<i64>,
    /// Read Only Users; absent: the `user` threshold.
    #[serde(default)]
    pub readonly: Option<i64>,
}

impl StaleDays {
    /// The threshold a policy sets for `kind`, if it sets one.
    pub fn get(&self, kind: AccountType) -> Option<i64> {
        match kind {
            AccountType::User => self.user,
            AccountType::Api => self.api,
            AccountType::Taxii => self.taxii,
            AccountType::ReadOnly => self.readonly.or(self.user),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == StaleDays::default()
    }

    /// The days the "No recent login" finding uses per account type, in
    /// words ("User 90, API 30, TAXII 180, Read Only 90 days"); `None`
    /// when no type has its own (then `default` holds for all).
    pub fn describe(&self, default: i64) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let parts: Vec<String> = AccountType::ALL
            .iter()
            .map(|&kind| {
                let label = match kind {
                    AccountType::User => "User",
                    AccountType::Api => "API",
                    AccountType::Taxii => "TAXII",
                    AccountType::ReadOnly => "Read Only",
                };
                format!("{label} {}", self.get(kind).unwrap_or(default))
            })
            .collect();
        Some(format!("{} days", parts.join(", ")))
    }

    /// The console filter that selects what the "No recent login" finding
    /// does: `login>Nd`, or one `type:T login>Nd` per type, joined by `or`.
    pub fn filter(&self, default: i64) -> String {
        if self.is_empty() {
            return format!("login>{default}d");
        }
        AccountType::ALL
            .iter()
            .map(|&kind| {
                format!(
                    "type:{} login>{}d",
                    kind.key(),
                    self.get(kind).unwrap_or(default)
                )
            })
            .collect::<Vec<_>>()
            .join(" or ")
    }

    /// The threshold for an account of type `kind` (`None`: the type was
    /// not returned), with `default` where the policy sets none; `None`
    /// when it depends on a type that is unknown.
    pub fn threshold(&self, kind: Option<AccountType>, default: i64) -> Option<i64> {
        match kind {
            Some(kind) => Some(self.get(kind).unwrap_or(default)),
            None if self.is_empty() => Some(default),
            None => None,
        }
    }
}

impl<'a> AuditInput<'a> {
    /// Default thresholds (90 days stale, 14 days expiring), no limits and
    /// no known password max age.
    pub fn new(users: &'a [User], now: DateTime<Utc>) -> Self {
        AuditInput {
            users,
            limits: &[],
            now,
            stale_days: DEFAULT_STALE_DAYS,
            expiring_days: DEFAULT_EXPIRING_DAYS,
            password_max_age_days: None,
            last_login: LastLoginReported::seen_in(users),
            stale_by_type: StaleDays::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    NeverLoggedIn,
    /// A known last login more than `stale_days` ago (as `login>Nd`);
    /// never logged in is its own finding, not stale.
    StaleLogin,
    PasswordExpired,
    PasswordExpiring,
    Locked,
    /// Disabled but holding roles above Read Only or group memberships.
    DisabledWithAccess,
    /// Administrative System roles or Organization Administrators.
    Privileged,
    ApiUsers,
    PendingPasswordReset,
    PendingMfaReset,
    /// Privileged (as [`FindingKind::Privileged`]), enabled, and without MFA.
    PrivilegedWithoutMfa,
    /// API accounts that have never logged in: a token nobody uses.
    ApiNeverUsed,
}

impl FindingKind {
    pub const ALL: [FindingKind; 12] = [
        FindingKind::NeverLoggedIn,
        FindingKind::StaleLogin,
        FindingKind::PasswordExpired,
        FindingKind::PasswordExpiring,
        FindingKind::Locked,
        FindingKind::DisabledWithAccess,
        FindingKind::Privileged,
        FindingKind::ApiUsers,
        FindingKind::PendingPasswordReset,
        FindingKind::PendingMfaReset,
        FindingKind::PrivilegedWithoutMfa,
        FindingKind::ApiNeverUsed,
    ];

    pub fn title(self) -> &'static str {
        match self {
            FindingKind::NeverLoggedIn => "Never logged in",
            FindingKind::StaleLogin => "No recent login",
            FindingKind::PasswordExpired => "Password expired",
            FindingKind::PasswordExpiring => "Password expiring soon",
            FindingKind::Locked => "Locked",
            FindingKind::DisabledWithAccess => "Disabled but still holding access",
            FindingKind::Privileged => "Privileged accounts",
            FindingKind::ApiUsers => "API users",
            FindingKind::PendingPasswordReset => "Password reset pending",
            FindingKind::PendingMfaReset => "MFA reset pending",
            FindingKind::PrivilegedWithoutMfa => "Privileged without MFA",
            FindingKind::ApiNeverUsed => "API accounts never used",
        }
    }

    /// Stable snake_case name for CSV and JSON.
    pub fn key(self) -> &'static str {
        match self {
            FindingKind::NeverLoggedIn => "never_logged_in",
            FindingKind::StaleLogin => "stale_login",
            FindingKind::PasswordExpired => "password_expired",
            FindingKind::PasswordExpiring => "password_expiring",
            FindingKind::Locked => "locked",
            FindingKind::DisabledWithAccess => "disabled_with_access",
            FindingKind::Privileged => "privileged",
            FindingKind::ApiUsers => "api_users",
            FindingKind::PendingPasswordReset => "pending_password_reset",
            FindingKind::PendingMfaReset => "pending_mfa_reset",
            FindingKind::PrivilegedWithoutMfa => "privileged_without_mfa",
            FindingKind::ApiNeverUsed => "api_never_used",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key.trim())
    }

    /// The filter-language expression that shows exactly these accounts in
    /// the console, where the language can say it.
    pub fn filter(self, stale_days: i64) -> Option<String> {
        match self {
            FindingKind::NeverLoggedIn => Some("login:never".into()),
            FindingKind::StaleLogin => Some(format!("login>{stale_days}d")),
            FindingKind::Locked => Some("status:locked".into()),
            FindingKind::ApiUsers => Some("type:api".into()),
            FindingKind::PasswordExpired
            | FindingKind::PasswordExpiring
            | FindingKind::DisabledWithAccess
            | FindingKind::Privileged
            | FindingKind::PendingPasswordReset
            | FindingKind::PendingMfaReset
            | FindingKind::PrivilegedWithoutMfa
            | FindingKind::ApiNeverUsed => None,
        }
    }
}

impl Serialize for FindingKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub kind: FindingKind,
    pub account_ids: Vec<i64>,
    /// Accounts whose data was not returned, so the finding cannot be decided.
    pub unknown_ids: Vec<i64>,
    /// Per account: last login, days left, what a disabled account holds.
    pub detail: BTreeMap<i64, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeatUsage {
    pub organization: String,
    pub kind: AccountType,
    pub used: i64,
    /// `None`: no limit.
    pub limit: Option<i64>,
    pub remaining: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    /// One per `FindingKind`, in `FindingKind::ALL` order, empty ones included.
    pub findings: Vec<Finding>,
    /// Empty when the instance did not report limits.
    pub seats: Vec<SeatUsage>,
    /// Read Only Users per Organization, which do not count against limits.
    pub read_only_not_counted: BTreeMap<String, i64>,
}

impl Audit {
    pub fn finding(&self, kind: FindingKind) -> Option<&Finding> {
        self.findings.iter().find(|f| f.kind == kind)
    }
}

/// Whether one account has a finding: yes (with optional detail), no, or unknown.
enum Judgement {
    Yes(Option<String>),
    No,
    Unknown,
}

fn yes_if(flag: Option<bool>) -> Judgement {
    match flag {
        Some(true) => Judgement::Yes(None),
        Some(false) => Judgement::No,
        None => Judgement::Unknown,
    }
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn last_login_text(user: &User, now: DateTime<Utc>, reported: LastLoginReported) -> String {
    match user.days_since_login(now, reported) {
        Some(Some(_)) => user
            .last_login
            .map(timestamp)
            .unwrap_or_else(|| "unknown".into()),
        Some(None) => "never".into(),
        None => "unknown".into(),
    }
}

/// The System role, `Err(())` when it was returned but is unfamiliar.
fn system_role(user: &User) -> Option<Result<SystemRole, ()>> {
    user.system_role
        .as_deref()
        .map(|r| SystemRole::parse(r).ok_or(()))
}

fn org_role(user: &User) -> Option<Result<OrgRole, ()>> {
    user.org_role_name().map(|r| OrgRole::parse(r).ok_or(()))
}

/// API and TAXII accounts have no password (their forms have none).
fn has_no_password(user: &User) -> bool {
    matches!(
        user.account_type(),
        Some(AccountType::Api | AccountType::Taxii)
    )
}

fn judge(kind: FindingKind, user: &User, input: &AuditInput) -> Judgement {
    let now = input.now;
    match kind {
        FindingKind::NeverLoggedIn => match user.days_since_login(now, input.last_login) {
            Some(None) => Judgement::Yes(None),
            Some(Some(_)) => Judgement::No,
            None => Judgement::Unknown,
        },
        FindingKind::StaleLogin => {
            let since = user.days_since_login(now, input.last_login);
            let threshold = input
                .stale_by_type
                .threshold(user.account_type(), input.stale_days);
            match (since, threshold) {
                (Some(None), _) => Judgement::No,
                (Some(Some(days)), Some(limit)) if days > limit => Judgement::Yes(Some(format!(
                    "{days} days ({})",
                    last_login_text(user, now, input.last_login)
                ))),
                (Some(Some(_)), Some(_)) => Judgement::No,
                _ => Judgement::Unknown,
            }
        }
        FindingKind::PasswordExpired | FindingKind::PasswordExpiring => {
            if has_no_password(user) {
                return Judgement::No;
            }
            match user.password_expiry(input.password_max_age_days, now) {
                PasswordExpiry::Expired if kind == FindingKind::PasswordExpired => {
                    let changed = user.last_password_change.map(timestamp);
                    Judgement::Yes(changed.map(|c| format!("last changed {c}")))
                }
                PasswordExpiry::DaysLeft(left)
                    if kind == FindingKind::PasswordExpiring && left <= input.expiring_days =>
                {
                    Judgement::Yes(Some(format!("{left} days left")))
                }
                PasswordExpiry::Unknown => Judgement::Unknown,
                _ => Judgement::No,
            }
        }
        FindingKind::Locked => match user.status() {
            Some(Status::Locked) => Judgement::Yes(None),
            Some(_) => Judgement::No,
            None => Judgement::Unknown,
        },
        FindingKind::DisabledWithAccess => disabled_with_access(user),
        FindingKind::Privileged => match is_privileged(user) {
            Some(true) => Judgement::Yes(Some(format!(
                "last login {}",
                last_login_text(user, now, input.last_login)
            ))),
            Some(false) => Judgement::No,
            None => Judgement::Unknown,
        },
        FindingKind::PrivilegedWithoutMfa => match (is_privileged(user), user.disabled) {
            (Some(false), _) | (_, Some(true)) => Judgement::No,
            (None, _) | (_, None) => Judgement::Unknown,
            (Some(true), Some(false)) => match user.mfa_enabled {
                Some(false) => Judgement::Yes(Some(format!(
                    "last login {}",
                    last_login_text(user, now, input.last_login)
                ))),
                Some(true) => Judgement::No,
                None => Judgement::Unknown,
            },
        },
        FindingKind::ApiNeverUsed => match system_role(user) {
            Some(Ok(role)) if AccountType::of(role) == AccountType::Api => {
                match user.days_since_login(now, input.last_login) {
                    Some(None) => Judgement::Yes(None),
                    Some(Some(_)) => Judgement::No,
                    None => Judgement::Unknown,
                }
            }
            Some(Ok(_)) => Judgement::No,
            Some(Err(())) | None => Judgement::Unknown,
        },
        FindingKind::ApiUsers => match system_role(user) {
            Some(Ok(role)) if AccountType::of(role) == AccountType::Api => {
                Judgement::Yes(Some(format!(
                    "last login {}",
                    last_login_text(user, now, input.last_login)
                )))
            }
            Some(Ok(_)) => Judgement::No,
            Some(Err(())) | None => Judgement::Unknown,
        },
        FindingKind::PendingPasswordReset => yes_if(user.password_reset_required),
        FindingKind::PendingMfaReset => yes_if(user.two_factor_reset_required),
    }
}

/// Privileged: an administrative System role, or Organization
/// Administrator of its home Organization; `None` when the roles returned
/// cannot say.
pub fn is_privileged(user: &User) -> Option<bool> {
    let by_system = system_role(user).map(|r| r.map(|r| r.is_administrative()));
    let by_org = org_role(user).map(|r| r.map(|r| r == OrgRole::OrganizationAdministrator));
    match (by_system, by_org) {
        (Some(Ok(true)), _) | (_, Some(Ok(true))) => Some(true),
        (Some(Ok(false)), Some(Ok(false))) => Some(false),
        _ => None,
    }
}

/// Disabled, and still a System role above Read Only User, an Organization
/// role above the read-only ones, or group memberships.
fn disabled_with_access(user: &User) -> Judgement {
    match user.disabled {
        Some(true) => {}
        Some(false) => return Judgement::No,
        None => return Judgement::Unknown,
    }
    let mut held = Vec::new();
    let mut undecided = false;
    match system_role(user) {
        Some(Ok(role)) if role.outranks(SystemRole::ReadOnlyUser) => {
            held.push(format!("System role {role}"))
        }
        Some(Ok(_)) => {}
        Some(Err(())) | None => undecided = true,
    }
    match org_role(user) {
        Some(Ok(OrgRole::ReadOnlyUser | OrgRole::ReadOnlyCommenter)) => {}
        Some(Ok(role)) => held.push(format!("Organization role {role}")),
        Some(Err(())) | None => undecided = true,
    }
    match user.user_groups.as_ref().map(Vec::len) {
        Some(0) => {}
        Some(1) => held.push("1 group".into()),
        Some(n) => held.push(format!("{n} groups")),
        None => undecided = true,
    }
    if !held.is_empty() {
        Judgement::Yes(Some(held.join("; ")))
    } else if undecided {
        Judgement::Unknown
    } else {
        Judgement::No
    }
}

pub fn audit(input: &AuditInput) -> Audit {
    let findings = FindingKind::ALL
        .into_iter()
        .map(|kind| {
            let mut finding = Finding {
                kind,
                account_ids: Vec::new(),
                unknown_ids: Vec::new(),
                detail: BTreeMap::new(),
            };
            for user in input.users {
                match judge(kind, user, input) {
                    Judgement::Yes(detail) => {
                        finding.account_ids.push(user.id);
                        if let Some(d) = detail {
                            finding.detail.insert(user.id, d);
                        }
                    }
                    Judgement::No => {}
                    Judgement::Unknown => finding.unknown_ids.push(user.id),
                }
            }
            finding
        })
        .collect();
    let mut seats = Vec::new();
    let mut read_only_not_counted = BTreeMap::new();
    for limits in input.limits {
        for (kind, used, limit) in [
            (AccountType::User, limits.users, limits.user_limit),
            (AccountType::Api, limits.api_users, limits.api_limit),
            (AccountType::Taxii, limits.taxii_users, limits.taxii_limit),
        ] {
            seats.push(SeatUsage {
                organization: limits.organization.clone(),
                kind,
                used,
                limit,
                remaining: limits.remaining(kind),
            });
        }
        *read_only_not_counted
            .entry(limits.organization.clone())
            .or_insert(0) += limits.read_only_users;
    }
    Audit {
        findings,
        seats,
        read_only_not_counted,
    }
}

// ------------------------------------------------------------------ diff

/// What a JSON audit report records about one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSnapshot {
    pub id: i64,
    pub user_name: String,
    #[serde(default)]
    pub system_role: Option<String>,
    #[serde(default)]
    pub org_role: Option<String>,
    /// "OK", "Locked" or "Disabled".
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub last_login: Option<DateTime<Utc>>,
    /// A known last login older than the stale threshold.
    #[serde(default)]
    pub stale: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditSnapshot {
    pub accounts: Vec<AccountSnapshot>,
}

impl AuditSnapshot {
    pub fn from_users(users: &[User], now: DateTime<Utc>, stale_days: i64) -> Self {
        let reported = LastLoginReported::seen_in(users);
        let accounts = users
            .iter()
            .map(|u| AccountSnapshot {
                id: u.id,
                user_name: u.user_name.clone(),
                system_role: u.system_role.clone(),
                org_role: u.org_role_name().map(str::to_string),
                status: u.status().map(|s| s.name().to_string()),
                last_login: u.last_login,
                stale: u.no_login_for(stale_days, now, reported),
            })
            .collect();
        AuditSnapshot { accounts }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RoleKind {
    System,
    Organization,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleChange {
    pub id: i64,
    pub user_name: String,
    pub role: RoleKind,
    pub old: String,
    pub new: String,
}

/// What changed between two audits. Only changes both audits could see are
/// reported; accounts where one side lacked the data are in `unknown_ids`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditDiff {
    pub added: Vec<AccountSnapshot>,
    pub removed: Vec<AccountSnapshot>,
    pub role_changes: Vec<RoleChange>,
    pub newly_stale: Vec<i64>,
    pub newly_disabled: Vec<i64>,
    pub unknown_ids: Vec<i64>,
}

impl AuditDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.role_changes.is_empty()
            && self.newly_stale.is_empty()
            && self.newly_disabled.is_empty()
    }
}

/// Compares two audits by account id; every list is in id order.
pub fn diff(old: &AuditSnapshot, new: &AuditSnapshot) -> AuditDiff {
    let old_by_id: BTreeMap<i64, &AccountSnapshot> =
        old.accounts.iter().map(|a| (a.id, a)).collect();
    let new_by_id: BTreeMap<i64, &AccountSnapshot> =
        new.accounts.iter().map(|a| (a.id, a)).collect();
    let mut out = AuditDiff::default();
    for (id, was) in &old_by_id {
        if !new_by_id.contains_key(id) {
            out.removed.push((*was).clone());
        }
    }
    for (id, now) in &new_by_id {
        let Some(was) = old_by_id.get(id) else {
            out.added.push((*now).clone());
            continue;
        };
        let mut unknown = false;
        for (role, before, after) in [
            (RoleKind::System, &was.system_role, &now.system_role),
            (RoleKind::Organization, &was.org_role, &now.org_role),
        ] {
            match (before, after) {
                (Some(b), Some(a)) if b != a => out.role_changes.push(RoleChange {
                    id: *id,
                    user_name: now.user_name.clone(),
                    role,
                    old: b.clone(),
                    new: a.clone(),
                }),
                (Some(_), Some(_)) | (None, None) => {}
                _ => unknown = true,
            }
        }
        match (was.stale, now.stale) {
            (Some(false), Some(true)) => out.newly_stale.push(*id),
            (Some(_), Some(_)) => {}
            _ => unknown = true,
        }
        let disabled = Status::Disabled.name();
        match (was.status.as_deref(), now.status.as_deref()) {
            (Some(b), Some(a)) if b != disabled && a == disabled => out.newly_disabled.push(*id),
            (Some(_), Some(_)) => {}
            _ => unknown = true,
        }
        if unknown {
            out.unknown_ids.push(*id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::GroupRef;
    use chrono::{Duration, TimeZone};

    const ORG: &str = "Demo Organization";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn days_ago(days: i64) -> Option<DateTime<Utc>> {
        Some(now() - Duration::days(days))
    }

    /// An account with every administrative field returned.
    fn full(id: i64, system_role: &str, org_role: &str) -> User {
        User {
            id,
            user_name: format!("user{id}@example.com"),
            owner: Some(ORG.into()),
            system_role: Some(system_role.into()),
            owner_roles: Some(crate::OwnerRoles::from([(
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

    /// What a non-administrator receives: id and userName, nothing more.
    fn basic(id: i64) -> User {
        User {
            id,
            user_name: format!("basic{id}@example.com"),
            ..Default::default()
        }
    }

    fn input<'a>(users: &'a [User], limits: &'a [OrgLimits]) -> AuditInput<'a> {
        AuditInput {
            limits,
            password_max_age_days: Some(90),
            ..AuditInput::new(users, now())
        }
    }

    fn fixture() -> Vec<User> {
        let mut users = Vec::new();
        // 1: a healthy standard user.
        users.push(full(1, "User", "Standard User"));
        // 2: never logged in, reset pending (a fresh account).
        let mut u = full(2, "User", "Standard User");
        u.last_login = None;
        u.password_reset_required = Some(true);
        users.push(u);
        // 3: stale for 200 days, password expired.
        let mut u = full(3, "User", "Sharing User");
        u.last_login = days_ago(200);
        u.last_password_change = days_ago(120);
        users.push(u);
        // 4: locked, password expiring in 5 days, MFA reset pending.
        let mut u = full(4, "Read Only User", "Read Only User");
        u.locked = Some(true);
        u.last_password_change = days_ago(85);
        u.two_factor_reset_required = Some(true);
        users.push(u);
        // 5: disabled, still Standard User in two groups.
        let mut u = full(5, "User", "Standard User");
        u.disabled = Some(true);
        u.locked = Some(true);
        u.user_groups = Some(vec![
            GroupRef {
                id: 1,
                name: "SOC".into(),
            },
            GroupRef {
                id: 2,
                name: "IR".into(),
            },
        ]);
        users.push(u);
        // 6: disabled, reduced to read only with no groups: cleanly offboarded.
        let mut u = full(6, "Read Only User", "Read Only Commenter");
        u.disabled = Some(true);
        users.push(u);
        // 7: an Administrator, last login 30 days ago.
        let mut u = full(7, "Administrator", "Organization Administrator");
        u.last_login = days_ago(30);
        users.push(u);
        // 8: a User who is Organization Administrator.
        users.push(full(8, "User", "Organization Administrator"));
        // 9: an API user: no password, never logged in through the UI.
        let mut u = full(9, "Api User", "Standard User");
        u.last_login = None;
        u.last_password_change = None;
        users.push(u);
        // 10: basic fields only.
        users.push(basic(10));
        users
    }

    fn ids(audit: &Audit, kind: FindingKind) -> (Vec<i64>, Vec<i64>) {
        let f = audit.finding(kind).expect("every kind is reported");
        (f.account_ids.clone(), f.unknown_ids.clone())
    }

    #[test]
    fn findings_over_a_mixed_population() {
        let users = fixture();
        let a = audit(&input(&users, &[]));
        assert_eq!(a.findings.len(), FindingKind::ALL.len());
        use FindingKind::*;
        assert_eq!(ids(&a, NeverLoggedIn), (vec![2, 9], vec![10]));
        // Never logged in (2, 9) is its own finding: a new hire is not stale.
        assert_eq!(ids(&a, StaleLogin), (vec![3], vec![10]));
        assert_eq!(ids(&a, PasswordExpired), (vec![3], vec![10]));
        assert_eq!(ids(&a, PasswordExpiring), (vec![4], vec![10]));
        // 5 is locked too, but Disabled wins, as on the Membership tab.
        assert_eq!(ids(&a, Locked), (vec![4], vec![10]));
        assert_eq!(ids(&a, DisabledWithAccess), (vec![5], vec![10]));
        assert_eq!(ids(&a, Privileged), (vec![7, 8], vec![10]));
        assert_eq!(ids(&a, ApiUsers), (vec![9], vec![10]));
        assert_eq!(ids(&a, PendingPasswordReset), (vec![2], vec![10]));
        assert_eq!(ids(&a, PendingMfaReset), (vec![4], vec![10]));

        let detail = |kind| &a.finding(kind).unwrap().detail;
        assert_eq!(
            detail(Privileged).get(&7).map(String::as_str),
            Some("last login 2026-10-26T12:00:00Z")
        );
        assert_eq!(
            detail(PasswordExpiring).get(&4).map(String::as_str),
            Some("5 days left")
        );
        assert_eq!(
            detail(DisabledWithAccess).get(&5).map(String::as_str),
            Some("System role User; Organization role Standard User; 2 groups")
        );
        assert_eq!(detail(StaleLogin).get(&2), None, "never is not stale");
        assert_eq!(
            detail(StaleLogin).get(&3).map(String::as_str),
            Some("200 days (2026-05-09T12:00:00Z)")
        );
        assert_eq!(
            detail(ApiUsers).get(&9).map(String::as_str),
            Some("last login never")
        );
    }

    #[test]
    fn basic_fields_users_are_unknown_for_every_finding() {
        let users = vec![basic(1), basic(2)];
        let a = audit(&input(&users, &[]));
        for f in &a.findings {
            assert!(f.account_ids.is_empty(), "{:?}", f.kind);
            assert_eq!(f.unknown_ids, vec![1, 2], "{:?}", f.kind);
        }
    }

    #[test]
    fn no_password_max_age_makes_password_findings_unknown() {
        let users = fixture();
        let mut i = input(&users, &[]);
        i.password_max_age_days = None;
        let a = audit(&i);
        // Every account with a password is undecidable; the API user has none.
        let expected_unknown: Vec<i64> = vec![1, 2, 3, 4, 5, 6, 7, 8, 10];
        for kind in [FindingKind::PasswordExpired, FindingKind::PasswordExpiring] {
            assert_eq!(
                ids(&a, kind),
                (vec![], expected_unknown.clone()),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn thresholds_follow_the_input() {
        let users = fixture();
        let mut i = input(&users, &[]);
        i.stale_days = 20;
        i.expiring_days = 80;
        let a = audit(&i);
        assert_eq!(ids(&a, FindingKind::StaleLogin).0, vec![3, 7]);
        // 85 days since change leaves 5; 10 days leaves 80.
        assert_eq!(
            ids(&a, FindingKind::PasswordExpiring).0,
            vec![1, 2, 4, 5, 6, 7, 8]
        );
    }

    #[test]
    fn partly_returned_data_is_undecided_not_guessed() {
        // Disabled, read-only roles, but groups not returned: cannot say.
        let mut u = full(1, "Read Only User", "Read Only User");
        u.disabled = Some(true);
        u.user_groups = None;
        // Disabled with an unfamiliar System role but in a group: holds access.
        let mut v = full(2, "Galactic Overlord", "Read Only User");
        v.disabled = Some(true);
        v.user_groups = Some(vec![GroupRef {
            id: 3,
            name: "x".into(),
        }]);
        // Unfamiliar System role, not Organization Administrator: undecided.
        let w = full(3, "Galactic Overlord", "Standard User");
        // Unfamiliar System role but Organization Administrator: privileged.
        let x = full(4, "Galactic Overlord", "Organization Administrator");
        // Locked returned, disabled not: Locked, as the status column says.
        let mut y = basic(5);
        y.locked = Some(true);
        let users = vec![u, v, w, x, y];
        let a = audit(&input(&users, &[]));
        assert_eq!(
            ids(&a, FindingKind::DisabledWithAccess),
            (vec![2], vec![1, 5])
        );
        assert_eq!(
            a.finding(FindingKind::DisabledWithAccess)
                .unwrap()
                .detail
                .get(&2)
                .map(String::as_str),
            Some("1 group")
        );
        assert_eq!(ids(&a, FindingKind::Privileged), (vec![4], vec![2, 3, 5]));
        assert_eq!(ids(&a, FindingKind::Locked), (vec![5], vec![]));
        assert_eq!(ids(&a, FindingKind::ApiUsers), (vec![], vec![2, 3, 4, 5]));
    }

    #[test]
    fn seats_come_from_reported_limits_only() {
        let users = fixture();
        let limits = [
            OrgLimits {
                organization: ORG.into(),
                user_limit: Some(10),
                api_limit: Some(2),
                taxii_limit: None,
                users: 10,
                api_users: 1,
                taxii_users: 0,
                read_only_users: 4,
            },
            OrgLimits {
                organization: "Second Org".into(),
                user_limit: Some(5),
                users: 2,
                ..Default::default()
            },
        ];
        let a = audit(&input(&users, &limits));
        assert_eq!(a.seats.len(), 6);
        assert_eq!(
            a.seats[0],
            SeatUsage {
                organization: ORG.into(),
                kind: AccountType::User,
                used: 10,
                limit: Some(10),
                remaining: Some(0),
            }
        );
        assert_eq!(a.seats[1].remaining, Some(1));
        assert_eq!(a.seats[2].limit, None);
        assert_eq!(a.seats[2].remaining, None);
        assert_eq!(a.seats[3].organization, "Second Org");
        assert_eq!(a.seats[3].remaining, Some(3));
        assert_eq!(
            a.read_only_not_counted,
            BTreeMap::from([(ORG.to_string(), 4), ("Second Org".to_string(), 0)])
        );
        let none = audit(&input(&users, &[]));
        assert!(none.seats.is_empty() && none.read_only_not_counted.is_empty());
    }

    #[test]
    fn kinds_have_stable_keys_filters_and_json() {
        for k in FindingKind::ALL {
            assert_eq!(FindingKind::from_key(k.key()), Some(k));
            assert!(!k.title().is_empty());
        }
        assert_eq!(
            FindingKind::NeverLoggedIn.filter(90).as_deref(),
            Some("login:never")
        );
        assert_eq!(
            FindingKind::StaleLogin.filter(30).as_deref(),
            Some("login>30d")
        );
        assert_eq!(
            FindingKind::Locked.filter(90).as_deref(),
            Some("status:locked")
        );
        assert_eq!(
            FindingKind::ApiUsers.filter(90).as_deref(),
            Some("type:api")
        );
        assert_eq!(FindingKind::Privileged.filter(90), None);
        let users = vec![full(1, "Api User", "Standard User")];
        let json = serde_json::to_value(audit(&input(&users, &[]))).unwrap();
        assert_eq!(json["findings"][7]["kind"], "api_users");
        assert_eq!(json["findings"][7]["accountIds"][0], 1);
        assert!(json["findings"][7]["detail"]["1"].is_string());
        assert!(json["readOnlyNotCounted"].is_object());
    }

    #[test]
    fn snapshots_record_what_was_returned() {
        let users = fixture();
        let s = AuditSnapshot::from_users(&users, now(), 90);
        assert_eq!(s.accounts.len(), 10);
        let one = &s.accounts[0];
        assert_eq!(one.system_role.as_deref(), Some("User"));
        assert_eq!(one.org_role.as_deref(), Some("Standard User"));
        assert_eq!(one.status.as_deref(), Some("OK"));
        assert_eq!(one.stale, Some(false));
        assert_eq!(s.accounts[1].stale, Some(false)); // never logged in: not stale
        assert_eq!(s.accounts[4].status.as_deref(), Some("Disabled"));
        let b = &s.accounts[9];
        assert_eq!(
            (
                &b.system_role,
                &b.org_role,
                &b.status,
                &b.last_login,
                &b.stale
            ),
            (&None, &None, &None, &None, &None)
        );
        // A report's JSON reads back as the same snapshot.
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"userName\":\"user1@example.com\""));
        let back: AuditSnapshot = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn diff_between_two_audits() {
        let before = fixture();
        let mut after = fixture();
        // 1: promoted to Accounts Administrator and Organization Administrator.
        after[0].system_role = Some("Accounts Administrator".into());
        after[0].owner_roles = Some(crate::OwnerRoles::from([(
            ORG.to_string(),
            "Organization Administrator".to_string(),
        )]));
        // 7: has not logged in for 100 days now, and was disabled.
        after[6].last_login = days_ago(100);
        after[6].disabled = Some(true);
        // 3: removed; 11 added.
        after.retain(|u| u.id != 3);
        after.push(full(11, "User", "Standard User"));
        // 8: this time only basic fields were returned.
        after[6] = User {
            id: 8,
            user_name: "user8@example.com".into(),
            ..Default::default()
        };
        let d = diff(
            &AuditSnapshot::from_users(&before, now(), 90),
            &AuditSnapshot::from_users(&after, now(), 90),
        );
        assert_eq!(d.added.iter().map(|a| a.id).collect::<Vec<_>>(), vec![11]);
        assert_eq!(d.removed.iter().map(|a| a.id).collect::<Vec<_>>(), vec![3]);
        assert_eq!(
            d.role_changes,
            vec![
                RoleChange {
                    id: 1,
                    user_name: "user1@example.com".into(),
                    role: RoleKind::System,
                    old: "User".into(),
                    new: "Accounts Administrator".into(),
                },
                RoleChange {
                    id: 1,
                    user_name: "user1@example.com".into(),
                    role: RoleKind::Organization,
                    old: "Standard User".into(),
                    new: "Organization Administrator".into(),
                },
            ]
        );
        assert_eq!(d.newly_stale, vec![7]);
        assert_eq!(d.newly_disabled, vec![7]);
        // 8 lost its detail fields (10 never had them): nothing claimed.
        assert_eq!(d.unknown_ids, vec![8, 10]);
        assert!(!d.is_empty());
        let same = AuditSnapshot::from_users(&before, now(), 90);
        assert!(diff(&same, &same).is_empty());
    }
}

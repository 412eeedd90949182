//! The sandbox's SQLite store: schema, deterministic seeding, and the
//! row-to-wire conversion with per-caller field visibility.

use crate::api::wire::ext;
use crate::domain::form::TIME_ZONES;
use crate::domain::policy::Actor;
use crate::domain::roles::{AccountType, CommunityRole, OrgRole, SystemRole};
use crate::domain::{GroupRef, User};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection, OptionalExtension, Row};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const ORGANIZATIONS: &[&str] = &["Demo Organization", "Northwind Security", "Contoso Intel"];
/// Communities and Sources: (name, kind).
pub const COMMUNITIES: &[(&str, &str)] = &[
    ("Demo Community", "Community"),
    ("Partner Sharing Community", "Community"),
    ("Demo Source", "Source"),
];
pub const GROUPS: &[(&str, &str)] = &[
    ("SOC Team", "Main SOC users"),
    ("IR Team", "IR Team members, Levels 1-3"),
    ("Threat Intel", "Intelligence analysts"),
    ("Hunt Team", "Threat hunters"),
    ("Vulnerability Management", "Patch and scan owners"),
    ("Red Team", "Offensive testing"),
    ("Executives", "Read-only dashboards"),
    ("Auditors", "Quarterly access reviews"),
    ("Contractors", "Time-limited access"),
    ("Automation", "Service and integration accounts"),
    ("Night Shift", "Follow-the-sun SOC"),
    ("Platform Admins", "ThreatConnect administrators"),
];

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS owners(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
  user_limit INTEGER, api_limit INTEGER, taxii_limit INTEGER);
CREATE TABLE IF NOT EXISTS users(
  id INTEGER PRIMARY KEY, user_name TEXT NOT NULL UNIQUE, first_name TEXT, last_name TEXT,
  pseudonym TEXT, org_id INTEGER NOT NULL, system_role TEXT NOT NULL, org_role TEXT NOT NULL,
  disabled INTEGER NOT NULL, locked INTEGER NOT NULL, password_reset_required INTEGER NOT NULL,
  two_factor_reset_required INTEGER NOT NULL, terms_accepted INTEGER NOT NULL,
  terms_accepted_date TEXT, logout_interval_minutes INTEGER, custom_tql_timeout INTEGER,
  tql_timeout INTEGER, ui_theme TEXT, job_function TEXT, job_role TEXT, last_login TEXT,
  last_password_change TEXT, mfa_enabled INTEGER NOT NULL, password_hash TEXT, api_secret TEXT,
  time_zone TEXT, summary_email_time TEXT, token_expiration_days INTEGER,
  include_in_observations INTEGER NOT NULL DEFAULT 0,
  allow_exceed_api_link_limit INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS users_org ON users(org_id, user_name);
-- An Organization's accounts in id order (the order a listing with an
-- owner pages in, the console's): users_org holds them by name, so each
-- page sorted every account of the Organization first.
CREATE INDEX IF NOT EXISTS users_org_id ON users(org_id);
CREATE INDEX IF NOT EXISTS users_first ON users(first_name);
CREATE INDEX IF NOT EXISTS users_last ON users(last_name);
CREATE INDEX IF NOT EXISTS users_login ON users(last_login);
CREATE TABLE IF NOT EXISTS owner_roles(
  user_id INTEGER NOT NULL, owner_id INTEGER NOT NULL, role TEXT NOT NULL,
  PRIMARY KEY(user_id, owner_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS community_defaults(
  org_id INTEGER NOT NULL, owner_id INTEGER NOT NULL, role TEXT NOT NULL,
  PRIMARY KEY(org_id, owner_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS groups(id INTEGER PRIMARY KEY, name TEXT NOT NULL, description TEXT);
CREATE TABLE IF NOT EXISTS user_groups(
  user_id INTEGER NOT NULL, group_id INTEGER NOT NULL,
  PRIMARY KEY(user_id, group_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS user_groups_group ON user_groups(group_id, user_id);
CREATE TABLE IF NOT EXISTS run_as(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, active INTEGER NOT NULL,
  user_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS run_as_user ON run_as(user_id);
CREATE TABLE IF NOT EXISTS tokens(hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL, expires TEXT);
CREATE TABLE IF NOT EXISTS outbox(
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, recipient TEXT NOT NULL, subject TEXT NOT NULL,
  body TEXT NOT NULL, queued TEXT NOT NULL);
";

pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(text: Option<String>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A salted hash: the sandbox never keeps a password in the clear.
pub fn password_hash(user_name: &str, password: &str) -> String {
    sha256_hex(&format!("rollcall-sandbox:{user_name}:{password}"))
}

/// The columns every user query selects, in `UserRow::from_row` order.
pub const USER_COLS: &str =
    "u.id, u.user_name, u.first_name, u.last_name, u.pseudonym, u.org_id, o.name,
  u.system_role, u.org_role, u.disabled, u.locked, u.password_reset_required,
  u.two_factor_reset_required, u.terms_accepted, u.terms_accepted_date, u.logout_interval_minutes,
  u.custom_tql_timeout, u.tql_timeout, u.ui_theme, u.job_function, u.job_role, u.last_login,
  u.last_password_change, u.mfa_enabled, u.time_zone, u.summary_email_time,
  u.token_expiration_days, u.include_in_observations, u.allow_exceed_api_link_limit";
pub const USER_FROM: &str = "users u JOIN owners o ON o.id = u.org_id";

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub user_name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub pseudonym: Option<String>,
    pub org_id: i64,
    pub org_name: String,
    pub system_role: String,
    pub org_role: String,
    pub disabled: bool,
    pub locked: bool,
    pub password_reset_required: bool,
    pub two_factor_reset_required: bool,
    pub terms_accepted: bool,
    pub terms_accepted_date: Option<String>,
    pub logout_interval_minutes: Option<i64>,
    /// Milliseconds; 0 or NULL: no custom timeout.
    pub custom_tql_timeout: Option<i64>,
    pub tql_timeout: Option<i64>,
    pub ui_theme: Option<String>,
    pub job_function: Option<String>,
    pub job_role: Option<String>,
    pub last_login: Option<String>,
    pub last_password_change: Option<String>,
    pub mfa_enabled: bool,
    pub time_zone: Option<String>,
    pub summary_email_time: Option<String>,
    pub token_expiration_days: Option<i64>,
    pub include_in_observations: bool,
    pub allow_exceed_api_link_limit: bool,
}

impl UserRow {
    pub fn from_row(r: &Row) -> rusqlite::Result<UserRow> {
        Ok(UserRow {
            id: r.get(0)?,
            user_name: r.get(1)?,
            first_name: r.get(2)?,
            last_name: r.get(3)?,
            pseudonym: r.get(4)?,
            org_id: r.get(5)?,
            org_name: r.get(6)?,
            system_role: r.get(7)?,
            org_role: r.get(8)?,
            disabled: r.get(9)?,
            locked: r.get(10)?,
            password_reset_required: r.get(11)?,
            two_factor_reset_required: r.get(12)?,
            terms_accepted: r.get(13)?,
            terms_accepted_date: r.get(14)?,
            logout_interval_minutes: r.get(15)?,
            custom_tql_timeout: r.get(16)?,
            tql_timeout: r.get(17)?,
            ui_theme: r.get(18)?,
            job_function: r.get(19)?,
            job_role: r.get(20)?,
            last_login: r.get(21)?,
            last_password_change: r.get(22)?,
            mfa_enabled: r.get(23)?,
            time_zone: r.get(24)?,
            summary_email_time: r.get(25)?,
            token_expiration_days: r.get(26)?,
            include_in_observations: r.get(27)?,
            allow_exceed_api_link_limit: r.get(28)?,
        })
    }

    pub fn role(&self) -> SystemRole {
        // Stored values are written only from parsed roles; User is a safe floor.
        SystemRole::parse(&self.system_role).unwrap_or(SystemRole::User)
    }

    pub fn kind(&self) -> AccountType {
        AccountType::of(self.role())
    }

    pub fn actor(&self) -> Actor {
        Actor::new(
            Some(self.id),
            self.user_name.clone(),
            self.role(),
            OrgRole::parse(&self.org_role),
            self.org_name.clone(),
        )
    }
}

pub fn load_user(conn: &Connection, id: i64) -> rusqlite::Result<Option<UserRow>> {
    conn.query_row(
        &format!("SELECT {USER_COLS} FROM {USER_FROM} WHERE u.id = ?1"),
        [id],
        UserRow::from_row,
    )
    .optional()
}

pub fn load_user_by_name(conn: &Connection, name: &str) -> rusqlite::Result<Option<UserRow>> {
    conn.query_row(
        &format!("SELECT {USER_COLS} FROM {USER_FROM} WHERE u.user_name = ?1"),
        [name],
        UserRow::from_row,
    )
    .optional()
}

/// What one caller may see of a user object.
#[derive(Debug, Clone, Copy, Default)]
pub struct View {
    pub detail: bool,
    pub system_role: bool,
    pub groups: bool,
    pub mfa: bool,
    /// The web-UI-only settings extensions (`wire::ext::SETTINGS_FIELDS`).
    pub time_zone: bool,
    pub summary_email_time: bool,
    pub token_expiration: bool,
    pub include_in_observations: bool,
    pub allow_exceed_api_link_limit: bool,
    /// Leave `lastLogin` out (`SandboxConfig::omit_last_login`).
    pub omit_last_login: bool,
}

impl View {
    pub fn for_actor(actor: &Actor, fields: &[String]) -> View {
        let detail = actor.sees_home_org();
        let asked = |name: &str| fields.iter().any(|f| f == name);
        View {
            detail,
            system_role: actor.sees_system_roles(),
            groups: detail && asked(crate::api::wire::ext::USER_GROUPS_FIELD),
            mfa: detail && asked(crate::api::wire::ext::MFA_FIELD),
            time_zone: detail && asked(ext::TIME_ZONE_FIELD),
            summary_email_time: detail && asked(ext::SUMMARY_EMAIL_TIME_FIELD),
            token_expiration: detail && asked(ext::TOKEN_EXPIRATION_FIELD),
            include_in_observations: detail && asked(ext::INCLUDE_IN_OBSERVATIONS_FIELD),
            allow_exceed_api_link_limit: detail && asked(ext::ALLOW_EXCEED_API_LINK_LIMIT_FIELD),
            omit_last_login: false,
        }
    }
}

/// Extra per-user data fetched for a whole page at once.
#[derive(Debug, Default)]
pub struct PageExtras {
    pub community_roles: BTreeMap<i64, Vec<(String, String)>>,
    pub groups: BTreeMap<i64, Vec<GroupRef>>,
}

impl PageExtras {
    /// One query per table for the whole page (ids passed as a JSON array).
    pub fn fetch(conn: &Connection, ids: &[i64], view: View) -> rusqlite::Result<PageExtras> {
        let mut extras = PageExtras::default();
        if ids.is_empty() || !view.detail {
            return Ok(extras);
        }
        let ids_json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        let mut stmt = conn.prepare_cached(
            "SELECT r.user_id, o.name, r.role FROM owner_roles r JOIN owners o ON o.id = r.owner_id
             WHERE r.user_id IN (SELECT value FROM json_each(?1)) ORDER BY r.user_id, o.id",
        )?;
        let rows = stmt.query_map([&ids_json], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (uid, owner, role) = row?;
            extras
                .community_roles
                .entry(uid)
                .or_default()
                .push((owner, role));
        }
        if view.groups {
            let mut stmt = conn.prepare_cached(
                "SELECT ug.user_id, g.id, g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id
                 WHERE ug.user_id IN (SELECT value FROM json_each(?1)) ORDER BY ug.user_id, g.name",
            )?;
            let rows = stmt.query_map([&ids_json], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (uid, id, name) = row?;
                extras
                    .groups
                    .entry(uid)
                    .or_default()
                    .push(GroupRef { id, name });
            }
        }
        Ok(extras)
    }
}

/// The wire object for `row` as `view` allows, built by copying: the
/// reference the paging test holds [`into_wire`] to, byte for byte.
#[cfg(test)]
pub fn to_wire(row: &UserRow, extras: &PageExtras, view: View) -> User {
    let mut user = User {
        id: row.id,
        user_name: row.user_name.clone(),
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        pseudonym: row.pseudonym.as_deref().map(Into::into),
        owner: Some(row.org_name.clone()),
        ..Default::default()
    };
    if view.system_role {
        user.system_role = Some(row.system_role.clone());
    }
    if view.detail {
        let mut roles = crate::domain::OwnerRoles::default();
        roles.insert(&row.org_name, &row.org_role);
        for (owner, role) in extras.community_roles.get(&row.id).into_iter().flatten() {
            roles.insert(owner, role);
        }
        user.owner_roles = Some(roles);
        user.disabled = Some(row.disabled);
        user.locked = Some(row.locked);
        user.password_reset_required = Some(row.password_reset_required);
        user.two_factor_reset_required = Some(row.two_factor_reset_required);
        user.terms_accepted = Some(row.terms_accepted);
        user.terms_accepted_date = parse_time(row.terms_accepted_date.clone());
        user.logout_interval_minutes = row.logout_interval_minutes;
        user.custom_tql_timeout = Some(crate::domain::TqlTimeoutWire::Millis(
            row.custom_tql_timeout.unwrap_or(0),
        ));
        user.tql_timeout = row.tql_timeout;
        user.ui_theme = row.ui_theme.as_deref().map(Into::into);
        user.job_function = row.job_function.as_deref().map(Into::into);
        user.job_role = row.job_role.as_deref().map(Into::into);
        if !view.omit_last_login {
            user.last_login = parse_time(row.last_login.clone());
        }
        user.last_password_change = parse_time(row.last_password_change.clone());
    }
    if view.groups {
        user.user_groups = Some(extras.groups.get(&row.id).cloned().unwrap_or_default());
    }
    if view.mfa {
        user.mfa_enabled = Some(row.mfa_enabled);
    }
    // Each setting belongs to the account types whose form offers it.
    match row.kind() {
        AccountType::User | AccountType::ReadOnly => {
            if view.time_zone {
                user.time_zone = row.time_zone.clone();
            }
            if view.summary_email_time {
                user.summary_email_time = row.summary_email_time.clone();
            }
        }
        AccountType::Api => {
            if view.token_expiration {
                user.token_expiration_days = row.token_expiration_days;
            }
            if view.include_in_observations {
                user.include_in_observations = Some(row.include_in_observations);
            }
            if view.allow_exceed_api_link_limit {
                user.allow_exceed_api_link_limit = Some(row.allow_exceed_api_link_limit);
            }
        }
        AccountType::Taxii => {}
    }
    user
}

/// As [`to_wire`], moving the row's text and the page's extras into the
/// answer instead of copying them (a page of 10,000 is mostly text).
pub fn into_wire(row: UserRow, extras: &mut PageExtras, view: View) -> User {
    let kind = row.kind();
    // Built before the Organization's name moves into `owner`.
    let roles = view.detail.then(|| {
        let mut roles = crate::domain::OwnerRoles::default();
        roles.insert(&row.org_name, &row.org_role);
        for (owner, role) in extras.community_roles.remove(&row.id).into_iter().flatten() {
            roles.insert(&owner, &role);
        }
        roles
    });
    let mut user = User {
        id: row.id,
        user_name: row.user_name,
        first_name: row.first_name,
        last_name: row.last_name,
        pseudonym: row.pseudonym.map(Into::into),
        owner: Some(row.org_name),
        ..Default::default()
    };
    if view.system_role {
        user.system_role = Some(row.system_role);
    }
    if view.detail {
        user.owner_roles = roles;
        user.disabled = Some(row.disabled);
        user.locked = Some(row.locked);
        user.password_reset_required = Some(row.password_reset_required);
        user.two_factor_reset_required = Some(row.two_factor_reset_required);
        user.terms_accepted = Some(row.terms_accepted);
        user.terms_accepted_date = parse_time(row.terms_accepted_date);
        user.logout_interval_minutes = row.logout_interval_minutes;
        user.custom_tql_timeout = Some(crate::domain::TqlTimeoutWire::Millis(
            row.custom_tql_timeout.unwrap_or(0),
        ));
        user.tql_timeout = row.tql_timeout;
        user.ui_theme = row.ui_theme.map(Into::into);
        user.job_function = row.job_function.map(Into::into);
        user.job_role = row.job_role.map(Into::into);
        if !view.omit_last_login {
            user.last_login = parse_time(row.last_login);
        }
        user.last_password_change = parse_time(row.last_password_change);
    }
    if view.groups {
        user.user_groups = Some(extras.groups.remove(&row.id).unwrap_or_default());
    }
    if view.mfa {
        user.mfa_enabled = Some(row.mfa_enabled);
    }
    // Each setting belongs to the account types whose form offers it.
    match kind {
        AccountType::User | AccountType::ReadOnly => {
            if view.time_zone {
                user.time_zone = row.time_zone;
            }
            if view.summary_email_time {
                user.summary_email_time = row.summary_email_time;
            }
        }
        AccountType::Api => {
            if view.token_expiration {
                user.token_expiration_days = row.token_expiration_days;
            }
            if view.include_in_observations {
                user.include_in_observations = Some(row.include_in_observations);
            }
            if view.allow_exceed_api_link_limit {
                user.allow_exceed_api_link_limit = Some(row.allow_exceed_api_link_limit);
            }
        }
        AccountType::Taxii => {}
    }
    user
}

pub fn owner_id(conn: &Connection, name: &str) -> rusqlite::Result<Option<(i64, String)>> {
    conn.query_row("SELECT id, kind FROM owners WHERE name = ?1", [name], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .optional()
}

/// Community roles after a System role change (rule 7), from the stored
/// per-(Organization, Community) defaults.
pub fn reset_community_roles(
    conn: &Connection,
    user_id: i64,
    org_id: i64,
    role: SystemRole,
) -> rusqlite::Result<()> {
    let defaults: Vec<(i64, String)> = {
        let mut stmt =
            conn.prepare_cached("SELECT owner_id, role FROM community_defaults WHERE org_id = ?1")?;
        let rows = stmt.query_map([org_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut upsert = conn.prepare_cached(
        "INSERT INTO owner_roles(user_id, owner_id, role) VALUES (?1, ?2, ?3)
         ON CONFLICT(user_id, owner_id) DO UPDATE SET role = excluded.role",
    )?;
    for (owner, default) in defaults {
        let default = CommunityRole::parse(&default).unwrap_or(CommunityRole::User);
        let role = CommunityRole::after_system_role_change(role, default);
        upsert.execute(params![user_id, owner, role.name()])?;
    }
    Ok(())
}

/// Seat use and limits of one Organization.
pub fn org_limits(
    conn: &Connection,
    org_id: i64,
) -> rusqlite::Result<crate::domain::limits::OrgLimits> {
    let (name, user_limit, api_limit, taxii_limit) = conn.query_row(
        "SELECT name, user_limit, api_limit, taxii_limit FROM owners WHERE id = ?1",
        [org_id],
        |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let mut limits = crate::domain::limits::OrgLimits {
        organization: name,
        user_limit,
        api_limit,
        taxii_limit,
        ..Default::default()
    };
    let mut stmt = conn.prepare_cached(
        "SELECT system_role, count(*) FROM users WHERE org_id = ?1 GROUP BY system_role",
    )?;
    let rows = stmt.query_map([org_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (role, n) = row?;
        if let Some(role) = SystemRole::parse(&role) {
            limits.count(AccountType::of(role), n);
        }
    }
    Ok(limits)
}

/// Seeds the accounts the sandbox exposes to tests and demos.
pub struct SeedSummary {
    pub users: usize,
}

/// The API actors of `SEEDED_ACCESS_IDS`: (access id, System role, Organization role, first, last).
const ACTORS: &[(&str, SystemRole, OrgRole, &str, &str)] = &[
    (
        "administrator",
        SystemRole::Administrator,
        OrgRole::StandardUser,
        "Sandbox",
        "Administrator",
    ),
    (
        "operations-administrator",
        SystemRole::OperationsAdministrator,
        OrgRole::StandardUser,
        "Sandbox",
        "Operations",
    ),
    (
        "accounts-administrator",
        SystemRole::AccountsAdministrator,
        OrgRole::StandardUser,
        "Sandbox",
        "Accounts",
    ),
    (
        "super-user",
        SystemRole::SuperUser,
        OrgRole::OrganizationAdministrator,
        "Sandbox",
        "Super",
    ),
    (
        "organization-administrator",
        SystemRole::ApiUser,
        OrgRole::OrganizationAdministrator,
        "Sandbox",
        "OrgAdmin",
    ),
    (
        "read-only",
        SystemRole::ReadOnlyUser,
        OrgRole::ReadOnlyUser,
        "Sandbox",
        "ReadOnly",
    ),
];

/// Accounts seeded first, in Demo Organization, so every System and
/// Organization role exists whatever the RNG draws.
const SPECIAL: &[(SystemRole, OrgRole)] = &[
    (SystemRole::Administrator, OrgRole::StandardUser),
    (SystemRole::OperationsAdministrator, OrgRole::StandardUser),
    (SystemRole::AccountsAdministrator, OrgRole::StandardUser),
    (SystemRole::CommunityLeader, OrgRole::SharingUser),
    (SystemRole::SuperUser, OrgRole::OrganizationAdministrator),
    (SystemRole::User, OrgRole::OrganizationAdministrator),
    (SystemRole::User, OrgRole::SharingUser),
    (SystemRole::User, OrgRole::AppDeveloper),
    (SystemRole::User, OrgRole::StandardUser),
    (SystemRole::User, OrgRole::StandardUser),
    (SystemRole::ReadOnlyUser, OrgRole::ReadOnlyCommenter),
    (SystemRole::ReadOnlyUser, OrgRole::ReadOnlyUser),
    (SystemRole::ApiUser, OrgRole::StandardUser),
    (SystemRole::ExchangeAdmin, OrgRole::StandardUser),
    (SystemRole::TaxiiUser, OrgRole::StandardUser),
];

const FIRST: &[&str] = &[
    "John", "Pat", "Maria", "Wei", "Aisha", "Liam", "Sofia", "Noah", "Emma", "Raj", "Chen", "Olga",
    "Kwame", "Ines", "Mateo", "Hana", "Omar", "Grace", "Ivan", "Lucia", "Tomas", "Yuki", "Amir",
    "Nora",
];
const LAST: &[&str] = &[
    "Smith", "Jones", "Garcia", "Zhang", "Khan", "Murphy", "Rossi", "Kim", "Müller", "Patel",
    "Nakamura", "Silva", "Okafor", "Dubois", "Novak", "Larsen", "Haddad", "Walsh", "Ivanova",
    "Moreno", "Fischer", "Tanaka", "Hughes", "Costa",
];
/// Awkward names that must survive every screen: a terminal escape,
/// quotes, non-ASCII letters, a tab.
const AWKWARD: &[(&str, &str)] = &[
    ("\u{1b}[31mEvil", "Escape"),
    ("Siobhan", "O'Brien"),
    ("Zoë", "Ångström"),
    ("Robert \"Bobby\"", "Tables\\"),
    ("Tab\tName", "Nguyễn"),
];

fn ascii_key(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Which (kind, active) run-as items seed accounts get, by position.
pub const PLAYBOOKS: &[(&str, &str, bool)] = &[
    ("Phishing Triage", "playbook", true),
    ("Malware Enrichment", "playbook", true),
    ("Old Feed Import", "playbook", false),
    ("Legacy Weekly Report", "playbook", false),
    ("Feed Sync", "job", true),
    ("Indicator Export", "job", true),
];

/// Columns added after the first release, for database files made before them.
const ADDED_USER_COLUMNS: &[(&str, &str)] = &[
    ("time_zone", "TEXT"),
    ("summary_email_time", "TEXT"),
    ("token_expiration_days", "INTEGER"),
    ("include_in_observations", "INTEGER NOT NULL DEFAULT 0"),
    ("allow_exceed_api_link_limit", "INTEGER NOT NULL DEFAULT 0"),
    (COMMUNITY_ROLES_COLUMN, "TEXT"),
    (GROUP_IDS_COLUMN, "TEXT"),
];

/// Each account's Community roles, `[[owner id, role], ...]`, kept on its
/// own row by [`keep_on_the_row`] so that a page reads them in the row's
/// own step instead of seeking `owner_roles` once per account.
pub const COMMUNITY_ROLES_COLUMN: &str = "community_roles";
/// Each account's group ids, comma separated (NULL for none), kept alike.
pub const GROUP_IDS_COLUMN: &str = "group_ids";

/// What a user's row keeps of its roles and groups, recomputed whole from
/// the tables they live in. `users` names the row (`users.id`).
const COMMUNITY_ROLES_OF_ROW: &str = "(SELECT json_group_array(json_array(r.owner_id, r.role))
   FROM owner_roles r WHERE r.user_id = users.id)";
const GROUP_IDS_OF_ROW: &str =
    "(SELECT group_concat(g.group_id) FROM user_groups g WHERE g.user_id = users.id)";

/// The web-UI-only settings of seeded accounts, derived from the id (no
/// random draws, so the rest of the seed stays as it was).
fn seed_settings(tx: &Connection) -> rusqlite::Result<()> {
    let zones = serde_json::to_string(TIME_ZONES).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "UPDATE users SET
           time_zone = (SELECT value FROM json_each(?1) WHERE key = users.id % json_array_length(?1)),
           summary_email_time = printf('%02d:00', 6 + users.id % 4)
         WHERE system_role NOT IN ('Api User', 'Exchange Admin', 'Taxii User')",
        [&zones],
    )?;
    tx.execute(
        "UPDATE users SET token_expiration_days = 90 * (1 + id % 4),
           include_in_observations = id % 2, allow_exceed_api_link_limit = (id % 5 = 0)
         WHERE system_role IN ('Api User', 'Exchange Admin')",
        [],
    )?;
    Ok(())
}

/// The tables whose rows a user's row keeps, and where it keeps them.
const KEPT: [(&str, &str, &str); 2] = [
    (
        "owner_roles",
        COMMUNITY_ROLES_COLUMN,
        COMMUNITY_ROLES_OF_ROW,
    ),
    ("user_groups", GROUP_IDS_COLUMN, GROUP_IDS_OF_ROW),
];
/// Each write to a kept table, and the user rows it changes.
const KEPT_EVENTS: [(&str, &str); 3] = [
    ("INSERT", "NEW.user_id"),
    ("DELETE", "OLD.user_id"),
    ("UPDATE", "OLD.user_id, NEW.user_id"),
];

/// Triggers that keep [`COMMUNITY_ROLES_COLUMN`] and [`GROUP_IDS_COLUMN`]
/// equal to their tables on every write, whoever makes it: the database
/// holds the rule, not each handler.
fn keep_on_the_row(conn: &Connection) -> rusqlite::Result<()> {
    let mut sql = format!(
        "CREATE TRIGGER IF NOT EXISTS users_insert AFTER INSERT ON users BEGIN
           UPDATE users SET {COMMUNITY_ROLES_COLUMN} = {COMMUNITY_ROLES_OF_ROW},
             {GROUP_IDS_COLUMN} = {GROUP_IDS_OF_ROW} WHERE id = NEW.id;
         END;\n"
    );
    for (table, column, value) in KEPT {
        for (event, ids) in KEPT_EVENTS {
            sql.push_str(&format!(
                "CREATE TRIGGER IF NOT EXISTS {table}_{event} AFTER {event} ON {table} BEGIN
                   UPDATE users SET {column} = {value} WHERE id IN ({ids});
                 END;\n"
            ));
        }
    }
    conn.execute_batch(&sql)
}

/// Stops keeping roles and groups on the rows, for a bulk load (a seed)
/// that then calls [`keep_on_the_row_again`]: one pass over the users
/// instead of one update per role and membership.
fn stop_keeping_on_the_row(conn: &Connection) -> rusqlite::Result<()> {
    let mut sql = String::from("DROP TRIGGER IF EXISTS users_insert;\n");
    for (table, _, _) in KEPT {
        for (event, _) in KEPT_EVENTS {
            sql.push_str(&format!("DROP TRIGGER IF EXISTS {table}_{event};\n"));
        }
    }
    conn.execute_batch(&sql)
}

/// Every row learns what it keeps, then the triggers keep it.
fn keep_on_the_row_again(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "UPDATE users SET {COMMUNITY_ROLES_COLUMN} = {COMMUNITY_ROLES_OF_ROW},
           {GROUP_IDS_COLUMN} = {GROUP_IDS_OF_ROW}"
    ))?;
    keep_on_the_row(conn)
}

pub fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    let existing: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('users')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (column, kind) in ADDED_USER_COLUMNS {
        if !existing.iter().any(|c| c == column) {
            conn.execute_batch(&format!("ALTER TABLE users ADD COLUMN {column} {kind}"))?;
        }
    }
    match existing.iter().any(|c| c == COMMUNITY_ROLES_COLUMN) {
        true => keep_on_the_row(conn),
        // A file from before the triggers: its rows learn what they keep.
        false => keep_on_the_row_again(conn),
    }
}

/// An account-info e-mail the sandbox queued instead of sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEmail {
    pub user_id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub queued: String,
}

/// Queues the account-info e-mail of a new account. It names the account
/// and its Organization and never carries the password.
pub fn queue_account_info_email(
    conn: &Connection,
    user_id: i64,
    user_name: &str,
    org: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let body = format!(
        "A ThreatConnect account was created for you in {org}.\n\
         Account: {user_name}\n\
         Your administrator will give you your initial password; you will be asked to change it when you first log in."
    );
    conn.execute(
        "INSERT INTO outbox(user_id, recipient, subject, body, queued) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            user_id,
            user_name,
            "Your ThreatConnect account",
            body,
            fmt_time(now)
        ],
    )?;
    Ok(())
}

pub fn outbox(conn: &Connection) -> rusqlite::Result<Vec<QueuedEmail>> {
    let mut stmt =
        conn.prepare("SELECT user_id, recipient, subject, body, queued FROM outbox ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok(QueuedEmail {
            user_id: r.get(0)?,
            recipient: r.get(1)?,
            subject: r.get(2)?,
            body: r.get(3)?,
            queued: r.get(4)?,
        })
    })?;
    rows.collect()
}

pub fn is_seeded(conn: &Connection) -> rusqlite::Result<bool> {
    let n: i64 = conn.query_row("SELECT count(*) FROM owners", [], |r| r.get(0))?;
    Ok(n > 0)
}

/// A new API account's secret key: 40 random letters and digits.
pub fn random_secret_key() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
}

/// Gives the seeded actors `secret_key` (also for a reused database file).
pub fn set_actor_secrets(conn: &Connection, secret_key: &str) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("UPDATE users SET api_secret = ?1 WHERE user_name = ?2")?;
    for (access_id, ..) in ACTORS {
        stmt.execute(params![secret_key, access_id])?;
    }
    Ok(())
}

/// Seeds everything in one transaction with prepared statements.
pub fn seed(
    conn: &mut Connection,
    n_users: usize,
    seed: u64,
    secret_key: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<SeedSummary> {
    let mut rng = StdRng::seed_from_u64(seed);
    let tx = conn.transaction()?;
    stop_keeping_on_the_row(&tx)?;
    {
        let mut owner = tx.prepare(
            "INSERT INTO owners(id, name, kind, user_limit, api_limit, taxii_limit) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let room = (n_users as i64) * 2 + 50;
        owner.execute(params![
            1,
            ORGANIZATIONS[0],
            "Organization",
            room,
            room,
            room
        ])?;
        owner.execute(params![
            2,
            ORGANIZATIONS[1],
            "Organization",
            None::<i64>,
            None::<i64>,
            None::<i64>
        ])?;
        // The third Organization's User Limit is set to its use below.
        owner.execute(params![
            3,
            ORGANIZATIONS[2],
            "Organization",
            0,
            None::<i64>,
            5
        ])?;
        for (i, (name, kind)) in COMMUNITIES.iter().enumerate() {
            owner.execute(params![
                10 + i as i64,
                name,
                kind,
                None::<i64>,
                None::<i64>,
                None::<i64>
            ])?;
        }
        let mut default = tx.prepare(
            "INSERT INTO community_defaults(org_id, owner_id, role) VALUES (?1, ?2, ?3)",
        )?;
        let defaults: [[CommunityRole; 3]; 3] = [
            [
                CommunityRole::Contributor,
                CommunityRole::Subscriber,
                CommunityRole::User,
            ],
            [
                CommunityRole::Editor,
                CommunityRole::Commenter,
                CommunityRole::User,
            ],
            [
                CommunityRole::User,
                CommunityRole::User,
                CommunityRole::Subscriber,
            ],
        ];
        for (org, row) in defaults.iter().enumerate() {
            for (c, role) in row.iter().enumerate() {
                default.execute(params![org as i64 + 1, 10 + c as i64, role.name()])?;
            }
        }
        let mut group =
            tx.prepare("INSERT INTO groups(id, name, description) VALUES (?1, ?2, ?3)")?;
        for (i, (name, description)) in GROUPS.iter().enumerate() {
            group.execute(params![i as i64 + 1, name, description])?;
        }

        let mut user = tx.prepare(
            "INSERT INTO users(id, user_name, first_name, last_name, pseudonym, org_id, system_role,
               org_role, disabled, locked, password_reset_required, two_factor_reset_required,
               terms_accepted, terms_accepted_date, logout_interval_minutes, custom_tql_timeout,
               tql_timeout, ui_theme, job_function, job_role, last_login, last_password_change,
               mfa_enabled, password_hash, api_secret)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
               ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
        )?;
        let mut role_stmt =
            tx.prepare("INSERT INTO owner_roles(user_id, owner_id, role) VALUES (?1, ?2, ?3)")?;
        let mut member =
            tx.prepare("INSERT INTO user_groups(user_id, group_id) VALUES (?1, ?2)")?;
        let insert_roles = |stmt: &mut rusqlite::Statement, id: i64, org: i64, role: SystemRole| {
            for (c, default) in defaults[(org - 1) as usize].iter().enumerate() {
                let r = CommunityRole::after_system_role_change(role, *default);
                stmt.execute(params![id, 10 + c as i64, r.name()])?;
            }
            Ok::<(), rusqlite::Error>(())
        };

        let mut id: i64 = 0;
        let recent = fmt_time(now - Duration::hours(2));
        let changed = fmt_time(now - Duration::days(10));
        for (access_id, role, org_role, first, last) in ACTORS {
            id += 1;
            user.execute(params![
                id,
                access_id,
                first,
                last,
                access_id,
                1,
                role.name(),
                org_role.name(),
                false,
                false,
                false,
                false,
                true,
                recent,
                0,
                false,
                None::<i64>,
                "Light",
                None::<String>,
                None::<String>,
                recent,
                changed,
                false,
                None::<String>,
                secret_key
            ])?;
            insert_roles(&mut role_stmt, id, 1, *role)?;
        }

        let mut contoso_users = 0i64;
        let mut contoso_taxii = 0i64;
        let mut demo_plain_users = Vec::new();
        let mut demo_api_users = Vec::new();
        let mut northwind_users = Vec::new();
        for i in 0..n_users {
            id += 1;
            let (role, org_role, org) = if let Some((r, o)) = SPECIAL.get(i) {
                (*r, *o, 1i64)
            } else {
                let org = match rng.gen_range(0..100) {
                    0..=59 => 1,
                    60..=84 => 2,
                    _ => 3,
                };
                let (role, org_role) = match rng.gen_range(0..1000) {
                    0..=559 => (SystemRole::User, OrgRole::StandardUser),
                    560..=619 => (SystemRole::User, OrgRole::SharingUser),
                    620..=649 => (SystemRole::User, OrgRole::AppDeveloper),
                    650..=679 => (SystemRole::User, OrgRole::OrganizationAdministrator),
                    680..=739 => (SystemRole::ReadOnlyUser, OrgRole::ReadOnlyUser),
                    740..=779 => (SystemRole::ReadOnlyUser, OrgRole::ReadOnlyCommenter),
                    780..=899 => (SystemRole::ApiUser, OrgRole::StandardUser),
                    900..=909 => (SystemRole::ExchangeAdmin, OrgRole::StandardUser),
                    910..=959 => (SystemRole::TaxiiUser, OrgRole::StandardUser),
                    960..=969 => (SystemRole::CommunityLeader, OrgRole::StandardUser),
                    970..=979 => (SystemRole::AccountsAdministrator, OrgRole::StandardUser),
                    980..=989 => (SystemRole::SuperUser, OrgRole::OrganizationAdministrator),
                    990..=994 => (SystemRole::OperationsAdministrator, OrgRole::StandardUser),
                    _ => (SystemRole::Administrator, OrgRole::StandardUser),
                };
                (role, org_role, org)
            };
            let kind = AccountType::of(role);
            let (first, last) = match AWKWARD.get(i % 97) {
                Some(pair) if i >= SPECIAL.len() => (pair.0.to_string(), pair.1.to_string()),
                _ => (
                    FIRST[rng.gen_range(0..FIRST.len())].to_string(),
                    LAST[rng.gen_range(0..LAST.len())].to_string(),
                ),
            };
            let user_name = match kind {
                AccountType::Api | AccountType::Taxii => {
                    format!(
                        "{:020}",
                        10_000_000_000_000_000_000u64
                            + (i as u64) * 1_000_003
                            + rng.gen_range(0..1000u64)
                    )
                }
                _ => format!(
                    "{}.{}{}@example.com",
                    ascii_key(&first),
                    ascii_key(&last),
                    i + 1
                ),
            };
            let pseudonym = format!(
                "{}{}",
                first.chars().next().unwrap_or('x'),
                ascii_key(&last)
            );
            let disabled = rng.gen_bool(0.08);
            let locked = rng.gen_bool(0.05);
            let ui = matches!(kind, AccountType::User | AccountType::ReadOnly);
            let mfa = ui && rng.gen_bool(0.4);
            let last_login = match rng.gen_range(0..100) {
                0..=9 => None,
                10..=39 => Some(now - Duration::minutes(rng.gen_range(0..480))),
                40..=74 => Some(now - Duration::days(rng.gen_range(1..90))),
                _ => Some(now - Duration::days(rng.gen_range(400..2000))),
            };
            // Mostly current passwords, some about to expire, some long expired.
            let last_pw = now
                - Duration::days(match rng.gen_range(0..100) {
                    0..=69 => rng.gen_range(0..80),
                    70..=84 => rng.gen_range(80..100),
                    _ => rng.gen_range(100..400),
                });
            let terms = rng.gen_bool(0.85);
            let terms_date = terms.then(|| fmt_time(last_pw + Duration::hours(1)));
            user.execute(params![
                id,
                user_name,
                first,
                last,
                pseudonym,
                org,
                role.name(),
                org_role.name(),
                disabled,
                locked,
                rng.gen_bool(0.1),
                rng.gen_bool(0.03),
                terms,
                terms_date,
                [0i64, 30, 60][rng.gen_range(0..3)],
                false,
                None::<i64>,
                if rng.gen_bool(0.7) { "Light" } else { "Dark" },
                [
                    "Threat Intelligence",
                    "Security Operations",
                    "Incident Response"
                ][rng.gen_range(0..3)],
                ["Analyst", "Manager", "Engineer"][rng.gen_range(0..3)],
                last_login.map(fmt_time),
                fmt_time(last_pw),
                mfa,
                ui.then(|| password_hash(&user_name, "Passw0rd!")),
                None::<String>,
            ])?;
            if kind != AccountType::Taxii {
                insert_roles(&mut role_stmt, id, org, role)?;
            }
            if ui {
                let n_groups = rng.gen_range(0..4);
                let mut chosen = Vec::new();
                for _ in 0..n_groups {
                    let g = rng.gen_range(1..=GROUPS.len() as i64);
                    if !chosen.contains(&g) {
                        chosen.push(g);
                        member.execute(params![id, g])?;
                    }
                }
            }
            if org == 3 && kind == AccountType::User {
                contoso_users += 1;
            }
            if org == 3 && kind == AccountType::Taxii {
                contoso_taxii += 1;
            }
            if org == 1 && role == SystemRole::User && i >= SPECIAL.len() {
                demo_plain_users.push(id);
            }
            if org == 1 && role == SystemRole::ApiUser {
                demo_api_users.push(id);
            }
            if org == 2 && role == SystemRole::User {
                northwind_users.push(id);
            }
        }
        tx.execute(
            "UPDATE owners SET user_limit = ?1, taxii_limit = ?2 WHERE id = 3",
            [contoso_users, contoso_taxii + 5],
        )?;

        let mut run_as =
            tx.prepare("INSERT INTO run_as(name, kind, active, user_id) VALUES (?1, ?2, ?3, ?4)")?;
        // First plain Demo user: two active and one inactive playbook;
        // second: one inactive playbook; first Demo API user: two job apps;
        // first Northwind user: one active playbook.
        let owners_of: [Option<&i64>; 6] = [
            demo_plain_users.first(),
            demo_plain_users.first(),
            demo_plain_users.first(),
            demo_plain_users.get(1),
            demo_api_users.first(),
            demo_api_users.first(),
        ];
        for ((name, kind, active), owner) in PLAYBOOKS.iter().zip(owners_of) {
            if let Some(owner) = owner {
                run_as.execute(params![name, kind, active, owner])?;
            }
        }
        if let Some(owner) = northwind_users.first() {
            run_as.execute(params!["Northwind Alerts", "playbook", true, owner])?;
        }
    }
    seed_settings(&tx)?;
    keep_on_the_row_again(&tx)?;
    tx.commit()?;
    Ok(SeedSummary {
        users: n_users + ACTORS.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_database_file_gains_the_settings_columns() {
        let conn = Connection::open_in_memory().unwrap();
        // The users table as the first release made it.
        conn.execute_batch(
            "CREATE TABLE users(
               id INTEGER PRIMARY KEY, user_name TEXT NOT NULL UNIQUE, first_name TEXT, last_name TEXT,
               pseudonym TEXT, org_id INTEGER NOT NULL, system_role TEXT NOT NULL, org_role TEXT NOT NULL,
               disabled INTEGER NOT NULL, locked INTEGER NOT NULL, password_reset_required INTEGER NOT NULL,
               two_factor_reset_required INTEGER NOT NULL, terms_accepted INTEGER NOT NULL,
               terms_accepted_date TEXT, logout_interval_minutes INTEGER, custom_tql_timeout INTEGER,
               tql_timeout INTEGER, ui_theme TEXT, job_function TEXT, job_role TEXT, last_login TEXT,
               last_password_change TEXT, mfa_enabled INTEGER NOT NULL, password_hash TEXT, api_secret TEXT);
             INSERT INTO users VALUES (1, 'old@example.com', 'O', 'Ld', NULL, 1, 'User', 'Standard User',
               0, 0, 0, 0, 1, NULL, 0, 0, NULL, 'Light', NULL, NULL, NULL, NULL, 0, NULL, NULL);",
        )
        .unwrap();
        create_schema(&conn).unwrap();
        create_schema(&conn).unwrap(); // twice: nothing left to add
        conn.execute(
            "INSERT INTO owners(id, name, kind) VALUES (1, 'Demo Organization', 'Organization')",
            [],
        )
        .unwrap();
        let row = load_user(&conn, 1).unwrap().unwrap();
        assert_eq!(row.time_zone, None);
        assert!(!row.include_in_observations && !row.allow_exceed_api_link_limit);
    }

    /// A file written before rows kept their roles and groups: opening it
    /// fills them in, and later writes keep them.
    #[test]
    fn an_older_database_file_learns_the_roles_and_groups_its_rows_keep() {
        let kept = |conn: &Connection| -> Vec<(i64, Option<String>, Option<String>)> {
            conn.prepare(&format!(
                "SELECT id, {COMMUNITY_ROLES_COLUMN}, {GROUP_IDS_COLUMN} FROM users ORDER BY id"
            ))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        let mut conn = Connection::open_in_memory().unwrap();
        create_schema(&conn).unwrap();
        seed(&mut conn, 40, 7, "k", Utc::now()).unwrap();
        let seeded = kept(&conn);
        assert!(seeded
            .iter()
            .any(|(_, roles, _)| roles.as_deref().is_some_and(|r| r.len() > 2)));
        assert!(seeded.iter().any(|(_, _, groups)| groups.is_some()));
        stop_keeping_on_the_row(&conn).unwrap();
        conn.execute_batch(&format!(
            "ALTER TABLE users DROP COLUMN {COMMUNITY_ROLES_COLUMN};
             ALTER TABLE users DROP COLUMN {GROUP_IDS_COLUMN};"
        ))
        .unwrap();
        create_schema(&conn).unwrap();
        assert_eq!(kept(&conn), seeded);
        conn.execute("DELETE FROM user_groups WHERE user_id = 1", [])
            .unwrap();
        conn.execute(
            "INSERT INTO user_groups(user_id, group_id) VALUES (1, 2)",
            [],
        )
        .unwrap();
        assert_eq!(kept(&conn)[0].2.as_deref(), Some("2"));
    }

    /// A page in either order a listing resumes from (id, user name), of
    /// every account or of one Organization's (by its name, as `owner=`
    /// asks, or by its id, as an Organization's admin sees them), from a
    /// cursor or not, is read in an index's order: no page sorts all the
    /// accounts it chooses from first (the console's listing, one
    /// Organization by id, took 130-400 ms a page of 10,000 that way).
    #[test]
    fn every_page_a_listing_resumes_reads_in_an_index_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        create_schema(&conn).unwrap();
        seed(&mut conn, 200, 7, "k", Utc::now()).unwrap();
        let view = View {
            detail: true,
            groups: true,
            ..Default::default()
        };
        for (order, cursor) in [
            ("u.id ASC", "u.id > ?"),
            ("u.user_name ASC, u.id ASC", "u.user_name > ?"),
        ] {
            for filter in [None, Some("o.name = ?"), Some("u.org_id = ?")] {
                for from_cursor in [false, true] {
                    let clauses: Vec<&str> = filter
                        .into_iter()
                        .chain(from_cursor.then_some(cursor))
                        .collect();
                    let conditions = match clauses.is_empty() {
                        true => String::new(),
                        false => format!("WHERE {}", clauses.join(" AND ")),
                    };
                    let sql = crate::page::page_sql(&conditions, order, view);
                    let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                    let mut rows = plan.raw_query();
                    let mut steps = Vec::new();
                    while let Some(row) = rows.next().unwrap() {
                        steps.push(row.get::<_, String>(3).unwrap());
                    }
                    assert!(
                        !steps.iter().any(|step| step.contains("TEMP B-TREE")),
                        "{conditions} ORDER BY {order}: {steps:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn seeded_accounts_get_settings_of_their_type() {
        let mut conn = Connection::open_in_memory().unwrap();
        create_schema(&conn).unwrap();
        seed(&mut conn, 60, 42, "k", Utc::now()).unwrap();
        let mut stmt = conn
            .prepare(&format!("SELECT {USER_COLS} FROM {USER_FROM}"))
            .unwrap();
        let rows: Vec<UserRow> = stmt
            .query_map([], UserRow::from_row)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for row in rows {
            let ui = matches!(row.kind(), AccountType::User | AccountType::ReadOnly);
            assert_eq!(row.time_zone.is_some(), ui, "{}", row.user_name);
            if let Some(zone) = &row.time_zone {
                assert!(TIME_ZONES.contains(&zone.as_str()));
            }
            assert_eq!(
                row.token_expiration_days.is_some(),
                row.kind() == AccountType::Api
            );
        }
        let outbox = outbox(&conn).unwrap();
        assert!(outbox.is_empty());
        queue_account_info_email(&conn, 7, "new@example.com", "Demo Organization", Utc::now())
            .unwrap();
        let outbox = super::outbox(&conn).unwrap();
        assert_eq!(outbox[0].recipient, "new@example.com");
        assert!(outbox[0].body.contains("Account: new@example.com"));
    }
}

//! The User and API User Administration forms as data (SPEC section 3):
//! which fields an admin gets (from [`policy::form_fields`]), their typed
//! values and pick lists, defaults, validation, and the request bodies.
//! Pure: the console draws it, the CLI fills it from `--set`, and the
//! sandbox checks incoming bodies with the same rules ([`check_email`],
//! [`PasswordPolicy`](super::policy::PasswordPolicy), the ranges and lists here).

use super::account::{GroupRef, User};
use super::policy::{
    check_org_role, forced_org_role, form_fields, may_assign_system_role, Actor, Field,
    FieldAccess, FormMode, InstanceSettings,
};
use super::roles::{AccountType, OrgRole, SystemRole};
use crate::ext;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;

/// Custom TQL Timeout, in milliseconds (up to an hour).
pub const TQL_TIMEOUT_MS: RangeInclusive<i64> = 1..=3_600_000;
/// Token Expiration, in days (up to ten years).
pub const TOKEN_EXPIRATION_DAYS: RangeInclusive<i64> = 1..=3650;
/// Log Out After choices in minutes; [`NEVER_LOG_OUT`] is offered too.
pub const LOG_OUT_AFTER_MINUTES: &[i64] = &[15, 30, 60, 120, 240, 480, 1440];
/// `logoutIntervalMinutes` meaning "never log out for inactivity".
pub const NEVER_LOG_OUT: i64 = 0;
/// The Time Zone pick list: IANA names, UTC first, then west to east.
pub const TIME_ZONES: &[&str] = &[
    "UTC",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Phoenix",
    "America/Chicago",
    "America/Mexico_City",
    "America/New_York",
    "America/Toronto",
    "America/Bogota",
    "America/Halifax",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Atlantic/Reykjavik",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Africa/Lagos",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Africa/Johannesburg",
    "Africa/Cairo",
    "Europe/Athens",
    "Europe/Helsinki",
    "Europe/Kyiv",
    "Asia/Jerusalem",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Asia/Riyadh",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Australia/Perth",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Brisbane",
    "Australia/Sydney",
    "Pacific/Auckland",
];

/// The Summary E-mail Time pick list: every hour, "00:00" to "23:00".
pub fn summary_email_times() -> Vec<String> {
    (0..24).map(|h| format!("{h:02}:00")).collect()
}

/// "name@example.com" shape: one `@`, a local part, a dotted domain, no
/// spaces or control characters.
pub fn check_email(text: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "{} must look like name@example.com",
            Field::Email.label()
        ))
    };
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad();
    }
    let Some((local, domain)) = text.split_once('@') else {
        return bad();
    };
    let labels: Vec<&str> = domain.split('.').collect();
    if local.is_empty()
        || domain.contains('@')
        || labels.len() < 2
        || labels.iter().any(|l| l.is_empty())
    {
        return bad();
    }
    Ok(())
}

/// Everything wrong with a form (or a request), one problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormErrors(pub Vec<String>);

impl fmt::Display for FormErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for FormErrors {}

/// A value that must not show up in logs: `Debug` prints `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(text: impl Into<String>) -> Self {
        Password(text.into())
    }

    /// The clear text, for the request body only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("Password(<empty>)")
        } else {
            f.write_str("Password(<redacted>)")
        }
    }
}

/// A field's value, typed by how the web UI offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Password(Password),
    Checkbox(bool),
    /// The selected option's `value`; `None` when nothing is chosen.
    Choice(Option<String>),
    /// Group ids.
    Multi(Vec<i64>),
    /// `None` is an empty box (for Custom TQL Timeout: the checkbox cleared).
    Number(Option<i64>),
}

impl FieldValue {
    fn kind_name(&self) -> &'static str {
        match self {
            FieldValue::Text(_) => "a text",
            FieldValue::Password(_) => "a password",
            FieldValue::Checkbox(_) => "a checkbox",
            FieldValue::Choice(_) => "a single choice",
            FieldValue::Multi(_) => "a multiple choice",
            FieldValue::Number(_) => "a number",
        }
    }
}

/// One entry of a pick list: `value` goes on the wire, `label` is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

impl Choice {
    fn same(text: &str) -> Choice {
        Choice {
            value: text.to_string(),
            label: text.to_string(),
        }
    }
}

/// One row of the form as the console draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    pub field: Field,
    /// The label on this form (see [`AccountForm::label`]).
    pub label: &'static str,
    pub access: FieldAccess,
    pub value: FieldValue,
    /// The pick list of a choice field (empty for others).
    pub options: Vec<Choice>,
    /// Editing: the instance did not return this value and nobody set it;
    /// show "unknown", and it is not sent unless set.
    pub unknown: bool,
    /// Why the instance cannot save this field, when it cannot.
    pub unsupported: Option<String>,
}

/// The form's values, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Values {
    email: String,
    password: Password,
    first_name: String,
    last_name: String,
    system_role: SystemRole,
    org_role: Option<OrgRole>,
    groups: Vec<i64>,
    locked: bool,
    disabled: bool,
    password_reset_required: bool,
    mfa_reset_required: bool,
    terms_required: bool,
    send_account_info_email: bool,
    token_expiration_days: Option<i64>,
    include_in_observations: bool,
    allow_exceed_api_link_limit: bool,
    tql_timeout: Option<i64>,
    time_zone: Option<String>,
    log_out_after: Option<i64>,
    summary_email_time: Option<String>,
}

impl Values {
    /// The defaults of a new account (seed: Create User, Create API User,
    /// Create Read Only User).
    fn defaults(kind: AccountType) -> Values {
        let system_role = kind.default_system_role();
        let org_role = forced_org_role(kind, system_role).unwrap_or(match kind {
            AccountType::ReadOnly => OrgRole::ReadOnlyUser,
            _ => OrgRole::StandardUser,
        });
        let ui = is_ui(kind);
        Values {
            email: String::new(),
            password: Password::default(),
            first_name: String::new(),
            last_name: String::new(),
            system_role,
            org_role: Some(org_role),
            groups: Vec::new(),
            locked: false,
            disabled: false,
            password_reset_required: ui,
            mfa_reset_required: false,
            terms_required: ui,
            send_account_info_email: ui,
            token_expiration_days: None,
            include_in_observations: false,
            allow_exceed_api_link_limit: false,
            tql_timeout: None,
            time_zone: None,
            log_out_after: None,
            summary_email_time: None,
        }
    }

    /// The values an existing account has, and which of them it did not say.
    fn of_user(user: &User, kind: AccountType) -> (Values, BTreeSet<FieldKey>) {
        let mut unknown = BTreeSet::new();
        let mut note = |known: bool, field: Field| {
            if !known {
                unknown.insert(FieldKey(field));
            }
        };
        note(user.first_name.is_some(), Field::FirstName);
        note(user.last_name.is_some(), Field::LastName);
        note(user.system_role_parsed().is_some(), Field::SystemRole);
        note(user.org_role().is_some(), Field::OrgRole);
        note(user.user_groups.is_some(), Field::Groups);
        note(user.locked.is_some(), Field::Locked);
        note(user.disabled.is_some(), Field::Disabled);
        note(
            user.password_reset_required.is_some(),
            Field::PasswordResetRequired,
        );
        note(
            user.two_factor_reset_required.is_some(),
            Field::MfaResetRequired,
        );
        note(user.terms_accepted.is_some(), Field::TermsRequired);
        note(
            user.token_expiration_days.is_some(),
            Field::TokenExpirationDays,
        );
        note(
            user.include_in_observations.is_some(),
            Field::IncludeInObservations,
        );
        note(
            user.allow_exceed_api_link_limit.is_some(),
            Field::AllowExceedApiLinkLimit,
        );
        note(user.custom_tql_timeout.is_some(), Field::CustomTqlTimeout);
        note(user.time_zone.is_some(), Field::TimeZone);
        note(user.logout_interval_minutes.is_some(), Field::LogOutAfter);
        note(user.summary_email_time.is_some(), Field::SummaryEmailTime);
        let values = Values {
            email: user.user_name.clone(),
            password: Password::default(),
            first_name: user.first_name.clone().unwrap_or_default(),
            last_name: user.last_name.clone().unwrap_or_default(),
            system_role: user
                .system_role_parsed()
                .unwrap_or(kind.default_system_role()),
            org_role: user.org_role(),
            groups: user.user_groups.iter().flatten().map(|g| g.id).collect(),
            locked: user.locked.unwrap_or(false),
            disabled: user.disabled.unwrap_or(false),
            password_reset_required: user.password_reset_required.unwrap_or(false),
            mfa_reset_required: user.two_factor_reset_required.unwrap_or(false),
            terms_required: user.terms_accepted.map(|a| !a).unwrap_or(false),
            send_account_info_email: false,
            token_expiration_days: user.token_expiration_days,
            include_in_observations: user.include_in_observations.unwrap_or(false),
            allow_exceed_api_link_limit: user.allow_exceed_api_link_limit.unwrap_or(false),
            tql_timeout: user
                .custom_tql_timeout
                .and_then(|t| t.millis(user.tql_timeout))
                .flatten(),
            time_zone: user.time_zone.clone(),
            log_out_after: user.logout_interval_minutes,
            summary_email_time: user.summary_email_time.clone(),
        };
        (values, unknown)
    }
}

/// `Field` in ordered sets (it is only `Hash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldKey(Field);

impl PartialOrd for FieldKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FieldKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        field_index(self.0).cmp(&field_index(other.0))
    }
}

/// Every field, in the web UI's order (for sorting and key listings only;
/// which fields a form shows comes from `policy::form_fields`).
const ALL_FIELDS: &[Field] = &[
    Field::Email,
    Field::Password,
    Field::FirstName,
    Field::LastName,
    Field::SystemRole,
    Field::OrgRole,
    Field::Groups,
    Field::Locked,
    Field::Disabled,
    Field::PasswordResetRequired,
    Field::MfaResetRequired,
    Field::TermsRequired,
    Field::SendAccountInfoEmail,
    Field::TokenExpirationDays,
    Field::IncludeInObservations,
    Field::AllowExceedApiLinkLimit,
    Field::CustomTqlTimeout,
    Field::TimeZone,
    Field::LogOutAfter,
    Field::SummaryEmailTime,
];

fn field_index(field: Field) -> usize {
    ALL_FIELDS
        .iter()
        .position(|f| *f == field)
        .unwrap_or(usize::MAX)
}

fn is_ui(kind: AccountType) -> bool {
    matches!(kind, AccountType::User | AccountType::ReadOnly)
}

/// The `--set` key of a field (its ThreatConnect JSON name where it has
/// one), and the other names it answers to besides its kebab-case label.
pub fn field_key(field: Field) -> &'static str {
    keys(field)[0]
}

fn keys(field: Field) -> &'static [&'static str] {
    match field {
        Field::Email => &["userName", "email", "e-mail"],
        Field::Password => &["password"],
        Field::FirstName => &["firstName"],
        Field::LastName => &["lastName"],
        Field::SystemRole => &["systemRole"],
        Field::OrgRole => &["orgRole", "organizationRole", "ownerRoles"],
        Field::Groups => &["groups", "userGroups"],
        Field::Locked => &["locked"],
        Field::Disabled => &["disabled"],
        Field::PasswordResetRequired => &["passwordResetRequired"],
        Field::MfaResetRequired => &[
            "twoFactorResetRequired",
            "mfaResetRequired",
            "mfa-reset-required",
        ],
        // `termsAccepted` is the inverse on the wire; see `set_from_text`.
        Field::TermsRequired => &["termsRequired", "terms-required", "termsAccepted"],
        Field::SendAccountInfoEmail => &[ext::SEND_ACCOUNT_INFO_EMAIL, "send-account-info-email"],
        Field::TokenExpirationDays => &[ext::TOKEN_EXPIRATION_FIELD, "token-expiration"],
        Field::IncludeInObservations => &[
            ext::INCLUDE_IN_OBSERVATIONS_FIELD,
            "include-in-observations",
        ],
        Field::AllowExceedApiLinkLimit => &[
            ext::ALLOW_EXCEED_API_LINK_LIMIT_FIELD,
            "allow-exceed-api-link-limit",
        ],
        Field::CustomTqlTimeout => &["tqlTimeout", "customTqlTimeout", "custom-tql-timeout"],
        Field::TimeZone => &[ext::TIME_ZONE_FIELD],
        Field::LogOutAfter => &["logoutIntervalMinutes", "logOutAfter"],
        Field::SummaryEmailTime => &[ext::SUMMARY_EMAIL_TIME_FIELD, "summary-email-time"],
    }
}

/// "Custom TQL Timeout (ms)" -> "custom-tql-timeout-ms".
fn kebab(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Which field a `--set` key names, if any.
pub fn field_for_key(key: &str) -> Option<Field> {
    let key = key.trim();
    ALL_FIELDS.iter().copied().find(|f| {
        keys(*f).iter().any(|k| k.eq_ignore_ascii_case(key))
            || kebab(f.label()).eq_ignore_ascii_case(key)
    })
}

/// The rollcall extension a field needs to be saved, if any.
pub fn extension_for(field: Field) -> Option<&'static str> {
    match field {
        Field::Groups => Some(ext::GROUP_MEMBERSHIP),
        Field::TimeZone => Some(ext::TIME_ZONE_FIELD),
        Field::SummaryEmailTime => Some(ext::SUMMARY_EMAIL_TIME_FIELD),
        Field::SendAccountInfoEmail => Some(ext::SEND_ACCOUNT_INFO_EMAIL),
        Field::TokenExpirationDays => Some(ext::TOKEN_EXPIRATION_FIELD),
        Field::IncludeInObservations => Some(ext::INCLUDE_IN_OBSERVATIONS_FIELD),
        Field::AllowExceedApiLinkLimit => Some(ext::ALLOW_EXCEED_API_LINK_LIMIT_FIELD),
        _ => None,
    }
}

/// The documented user field a form field is written to, where there is
/// one (extensions are handled by [`extension_for`]).
pub fn wire_name(field: Field) -> Option<&'static str> {
    Some(match field {
        Field::Email => "userName",
        Field::Password => "password",
        Field::FirstName => "firstName",
        Field::LastName => "lastName",
        Field::SystemRole => "systemRole",
        Field::OrgRole => "ownerRoles",
        Field::Locked => "locked",
        Field::Disabled => "disabled",
        Field::PasswordResetRequired => "passwordResetRequired",
        Field::MfaResetRequired => "twoFactorResetRequired",
        Field::TermsRequired => "termsAccepted",
        Field::CustomTqlTimeout => "customTqlTimeout",
        Field::LogOutAfter => "logoutIntervalMinutes",
        _ => return None,
    })
}

/// "30 minutes", "1 hour", "1 day".
fn interval_label(minutes: i64) -> String {
    match minutes {
        NEVER_LOG_OUT => "Never".to_string(),
        m if m % 1440 == 0 => plural(m / 1440, "day"),
        m if m % 60 == 0 => plural(m / 60, "hour"),
        m => plural(m, "minute"),
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// The type whose System-role rules apply to `role` on a form of `kind`:
/// the Read Only form is the User form with another preset.
fn assign_kind(kind: AccountType, role: SystemRole) -> AccountType {
    if is_ui(kind) {
        if role == SystemRole::ReadOnlyUser {
            AccountType::ReadOnly
        } else {
            AccountType::User
        }
    } else {
        kind
    }
}

/// A User or API User Administration form being filled in.
#[derive(Debug, Clone)]
pub struct AccountForm {
    actor: Actor,
    settings: InstanceSettings,
    mode: FormMode,
    /// The button pressed (create) or the account's type (edit).
    kind: AccountType,
    /// Edit: the type was guessed because the System role is hidden.
    kind_inferred: bool,
    org: String,
    values: Values,
    /// What the form started with: dirtiness and edits are measured from here.
    initial: Values,
    /// Edit: fields the instance did not return and nobody has set.
    unknown: BTreeSet<FieldKey>,
    /// Edit: fields the instance did not return but that were set since.
    set_unknown: BTreeSet<FieldKey>,
    groups_known: Vec<GroupRef>,
    /// The instance's extensions; `None` = not known, assume all.
    extensions: Option<BTreeSet<String>>,
    /// User fields the instance marks as not updatable (`OPTIONS
    /// /v3/security/users?show=readonly`): not offered for change on edit.
    not_updatable: BTreeSet<String>,
}

impl AccountForm {
    /// A new account of `kind` in `org`, with the seed's defaults.
    pub fn create(
        actor: &Actor,
        settings: &InstanceSettings,
        kind: AccountType,
        org: &str,
    ) -> AccountForm {
        let values = Values::defaults(kind);
        AccountForm {
            actor: actor.clone(),
            settings: settings.clone(),
            mode: FormMode::Create,
            kind,
            kind_inferred: false,
            org: org.to_string(),
            initial: values.clone(),
            values,
            unknown: BTreeSet::new(),
            set_unknown: BTreeSet::new(),
            groups_known: Vec::new(),
            extensions: None,
            not_updatable: BTreeSet::new(),
        }
    }

    /// The form for editing `user`, filled from it. When the caller cannot
    /// see the System role, the type is inferred (an e-mail name is a User,
    /// a Read Only User when its Organization role is a read-only one;
    /// anything else an API user) and [`kind_is_inferred`](Self::kind_is_inferred) says so.
    pub fn edit(actor: &Actor, settings: &InstanceSettings, user: &User) -> AccountForm {
        let (kind, kind_inferred) = match user.account_type() {
            Some(kind) => (kind, false),
            None => {
                let read_only_role = matches!(
                    user.org_role(),
                    Some(OrgRole::ReadOnlyUser | OrgRole::ReadOnlyCommenter)
                );
                let kind = if check_email(&user.user_name).is_err() {
                    AccountType::Api
                } else if read_only_role {
                    AccountType::ReadOnly
                } else {
                    AccountType::User
                };
                (kind, true)
            }
        };
        let (values, unknown) = Values::of_user(user, kind);
        AccountForm {
            actor: actor.clone(),
            settings: settings.clone(),
            mode: FormMode::Edit,
            kind,
            kind_inferred,
            org: user.owner.clone().unwrap_or_else(|| actor.home_org.clone()),
            initial: values.clone(),
            values,
            unknown,
            set_unknown: BTreeSet::new(),
            groups_known: user.user_groups.clone().unwrap_or_default(),
            extensions: None,
            not_updatable: BTreeSet::new(),
        }
    }

    /// The user groups offered in Groups (from `GET /v3/security/userGroups`).
    pub fn set_group_options(&mut self, groups: Vec<GroupRef>) {
        for g in groups {
            if !self.groups_known.iter().any(|k| k.id == g.id) {
                self.groups_known.push(g);
            }
        }
    }

    /// The rollcall extensions the instance advertises: fields that need a
    /// missing one are marked unsupported, refuse `set`, and stay out of bodies.
    pub fn with_extensions(mut self, extensions: &BTreeSet<String>) -> AccountForm {
        self.extensions = Some(extensions.clone());
        self
    }

    /// The user fields the instance says cannot be updated: on an edit
    /// form, fields written under those names are shown but refuse `set`
    /// and stay out of the PUT body, with a message saying why.
    pub fn with_not_updatable(mut self, fields: &BTreeSet<String>) -> AccountForm {
        self.not_updatable = fields.clone();
        self
    }

    pub fn mode(&self) -> FormMode {
        self.mode
    }

    pub fn kind(&self) -> AccountType {
        self.kind
    }

    /// The type the account will have, judged by the chosen System role.
    pub fn account_type(&self) -> AccountType {
        AccountType::of(self.values.system_role)
    }

    pub fn kind_is_inferred(&self) -> bool {
        self.kind_inferred
    }

    pub fn org(&self) -> &str {
        &self.org
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn system_role(&self) -> SystemRole {
        self.values.system_role
    }

    pub fn org_role(&self) -> Option<OrgRole> {
        self.values.org_role
    }

    /// Create: whether the admin asked for the account-info e-mail.
    pub fn sends_account_info_email(&self) -> bool {
        self.offered(Field::SendAccountInfoEmail).is_some()
            && self.supported(Field::SendAccountInfoEmail)
            && self.values.send_account_info_email
    }

    /// API users: the token lifetime to ask for with "save and generate token".
    pub fn token_expiration_days(&self) -> Option<i64> {
        self.values.token_expiration_days
    }

    /// The offered fields and their access, in the web UI's order.
    pub fn layout(&self) -> Vec<(Field, FieldAccess)> {
        let mut layout = form_fields(
            &self.actor,
            &self.settings,
            self.kind,
            self.mode,
            self.values.system_role,
        );
        if self.asks_credentials() {
            let mut first = vec![(Field::Email, FieldAccess::Editable)];
            if !self.settings.saml_enabled {
                first.push((Field::Password, FieldAccess::Editable));
            }
            layout.splice(0..0, first);
        }
        layout
    }

    /// Creating an API or TAXII account where the instance does not
    /// generate its name: the docs require `userName` and `password` for
    /// every account, so the form asks for them.
    pub fn asks_credentials(&self) -> bool {
        self.mode == FormMode::Create
            && !is_ui(self.kind)
            && self
                .extensions
                .as_ref()
                .is_some_and(|have| !have.contains(ext::GENERATED_USER_NAMES))
    }

    /// A field's label on this form: an API or TAXII account's name is a
    /// User Name, not an e-mail address.
    pub fn label(&self, field: Field) -> &'static str {
        match field {
            Field::Email if !is_ui(self.kind) => "User Name",
            other => other.label(),
        }
    }

    fn offered(&self, field: Field) -> Option<FieldAccess> {
        self.layout()
            .into_iter()
            .find(|(f, _)| *f == field)
            .map(|(_, a)| a)
    }

    fn supported(&self, field: Field) -> bool {
        let extension_ok = match (&self.extensions, extension_for(field)) {
            (Some(have), Some(needed)) => have.contains(needed),
            _ => true,
        };
        extension_ok && !self.refused_by_instance(field)
    }

    /// An edit of a field the instance marks as not updatable.
    fn refused_by_instance(&self, field: Field) -> bool {
        self.mode == FormMode::Edit
            && wire_name(field).is_some_and(|name| self.not_updatable.contains(name))
    }

    /// Every offered field with its value, options and state.
    pub fn fields(&self) -> Vec<FormField> {
        self.layout()
            .into_iter()
            .map(|(field, access)| FormField {
                field,
                label: self.label(field),
                access,
                value: self.value(field),
                options: self.options(field),
                unknown: self.unknown.contains(&FieldKey(field)),
                unsupported: self.unsupported_reason(field),
            })
            .collect()
    }

    /// A field's current value (whether offered or not).
    pub fn value(&self, field: Field) -> FieldValue {
        value_in(&self.values, field)
    }

    /// The pick list of a choice field; empty for the others.
    pub fn options(&self, field: Field) -> Vec<Choice> {
        match field {
            Field::SystemRole => self.system_role_options(),
            Field::OrgRole => self.org_role_options(),
            Field::Groups => self
                .groups_known
                .iter()
                .map(|g| Choice {
                    value: g.id.to_string(),
                    label: g.name.clone(),
                })
                .collect(),
            Field::TimeZone => {
                let mut list: Vec<Choice> = TIME_ZONES.iter().map(|z| Choice::same(z)).collect();
                keep_current(&mut list, self.initial.time_zone.as_deref());
                list
            }
            Field::LogOutAfter => {
                let mut list: Vec<Choice> = std::iter::once(NEVER_LOG_OUT)
                    .chain(LOG_OUT_AFTER_MINUTES.iter().copied())
                    .map(|m| Choice {
                        value: m.to_string(),
                        label: interval_label(m),
                    })
                    .collect();
                if let Some(m) = self.initial.log_out_after {
                    if !list.iter().any(|c| c.value == m.to_string()) {
                        list.push(Choice {
                            value: m.to_string(),
                            label: interval_label(m),
                        });
                    }
                }
                list
            }
            Field::SummaryEmailTime => {
                let mut list: Vec<Choice> = summary_email_times()
                    .iter()
                    .map(|t| Choice::same(t))
                    .collect();
                keep_current(&mut list, self.initial.summary_email_time.as_deref());
                list
            }
            _ => Vec::new(),
        }
    }

    /// System roles this actor may give an account on this form, plus the
    /// account's current one when editing (so it still shows).
    fn system_role_options(&self) -> Vec<Choice> {
        let roles: &[SystemRole] = if is_ui(self.kind) {
            AccountType::User.system_roles()
        } else {
            self.kind.system_roles()
        };
        roles
            .iter()
            .copied()
            .filter(|r| {
                (self.mode == FormMode::Edit && *r == self.initial.system_role)
                    || may_assign_system_role(&self.actor, assign_kind(self.kind, *r), *r).is_ok()
            })
            .map(|r| Choice::same(r.name()))
            .collect()
    }

    fn org_role_options(&self) -> Vec<Choice> {
        let role = self.values.system_role;
        OrgRole::ALL
            .iter()
            .copied()
            .filter(|r| check_org_role(AccountType::of(role), role, *r).is_ok())
            .map(|r| Choice::same(r.name()))
            .collect()
    }

    fn unsupported_reason(&self, field: Field) -> Option<String> {
        if self.supported(field) {
            return None;
        }
        if self.refused_by_instance(field) {
            return wire_name(field).map(|name| {
                format!(
                    "{} cannot be changed: this instance marks {name} as not updatable",
                    field.label()
                )
            });
        }
        extension_for(field).map(|e| unsupported_message(field, e))
    }

    /// Offered fields this instance cannot save, with why (it lacks the
    /// rollcall extension they need).
    pub fn unsupported(&self, extensions: &BTreeSet<String>) -> Vec<(Field, String)> {
        self.layout()
            .into_iter()
            .filter_map(|(field, _)| {
                let needed = extension_for(field)?;
                (!extensions.contains(needed)).then(|| (field, unsupported_message(field, needed)))
            })
            .collect()
    }

    /// Why `field` is not on this form for this actor.
    fn not_offered(&self, field: Field) -> String {
        let label = field.label();
        let has = |actor: &Actor, settings: &InstanceSettings, mode: FormMode| {
            form_fields(actor, settings, self.kind, mode, self.values.system_role)
                .iter()
                .any(|(f, _)| *f == field)
        };
        let mut chooser = self.actor.clone();
        chooser.system_role = Some(SystemRole::Administrator);
        let mut open = self.settings.clone();
        open.saml_enabled = false;
        open.terms_of_service_required = true;
        if !has(&chooser, &open, FormMode::Create) && !has(&chooser, &open, FormMode::Edit) {
            return format!("{label} is not on the {} form", self.kind.name());
        }
        if !has(&chooser, &open, self.mode) {
            return match self.mode {
                FormMode::Edit => format!("{label} is offered only when creating an account"),
                FormMode::Create => format!("{label} is offered only when editing an account"),
            };
        }
        let mut with_saml = open.clone();
        with_saml.saml_enabled = self.settings.saml_enabled;
        if !has(&chooser, &with_saml, self.mode) {
            return format!("{label} is not offered on SAML-enabled instances");
        }
        if !has(&chooser, &self.settings, self.mode) {
            return format!(
                "{label} is not offered: this instance does not require new users to accept the Terms of Service"
            );
        }
        format!("{label} is not offered to {}", self.actor.who())
    }

    /// Whether `field` can be set at all here: offered to this actor,
    /// editable, and saveable on this instance; `Err` says why not.
    pub fn check_settable(&self, field: Field) -> Result<(), String> {
        match self.offered(field) {
            None => return Err(self.not_offered(field)),
            Some(FieldAccess::Locked(why)) => {
                return Err(format!("{} is locked: {why}", field.label()))
            }
            Some(FieldAccess::Editable) => {}
        }
        match self.unsupported_reason(field) {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }

    /// Sets a field, checking that it is offered, editable, supported, of
    /// the right type and (for pick lists) one of its options. Choosing
    /// Super User locks the Organization role to Organization Administrator
    /// (rule 5). Free values (names, numbers) are checked by `validate`.
    pub fn set(&mut self, field: Field, value: FieldValue) -> Result<(), String> {
        let label = field.label();
        self.check_settable(field)?;
        let expected = self.value(field);
        if std::mem::discriminant(&expected) != std::mem::discriminant(&value) {
            return Err(format!("{label} is {} field", expected.kind_name()));
        }
        let pick = |options: Vec<Choice>, chosen: &Option<String>| -> Result<(), String> {
            match chosen {
                Some(c) if !options.iter().any(|o| &o.value == c) => Err(format!(
                    "{label} cannot be {c:?}; choose one of: {}",
                    options
                        .iter()
                        .map(|o| o.label.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                _ => Ok(()),
            }
        };
        let v = &mut self.values;
        match (field, value) {
            (Field::Email, FieldValue::Text(t)) => v.email = t,
            (Field::Password, FieldValue::Password(p)) => v.password = p,
            (Field::FirstName, FieldValue::Text(t)) => v.first_name = t,
            (Field::LastName, FieldValue::Text(t)) => v.last_name = t,
            (Field::SystemRole, FieldValue::Choice(choice)) => {
                let Some(name) = choice else {
                    return Err(format!("{label} is required"));
                };
                let role = SystemRole::parse(&name)
                    .ok_or_else(|| format!("{label}: unknown System role {name:?}"))?;
                let kind = assign_kind(self.kind, role);
                let allowed = (self.mode == FormMode::Edit && role == self.initial.system_role)
                    || self
                        .system_role_options()
                        .iter()
                        .any(|c| c.value == role.name());
                if !allowed {
                    return Err(match may_assign_system_role(&self.actor, kind, role) {
                        Err(refusal) => refusal.0,
                        Ok(()) => format!("{label} cannot be {role} on this form"),
                    });
                }
                self.apply_system_role(role);
            }
            (Field::OrgRole, FieldValue::Choice(choice)) => {
                let Some(name) = choice else {
                    return Err(format!("{label} is required"));
                };
                let role = OrgRole::parse(&name)
                    .ok_or_else(|| format!("{label}: unknown Organization role {name:?}"))?;
                let system_role = self.values.system_role;
                check_org_role(AccountType::of(system_role), system_role, role).map_err(|r| r.0)?;
                self.values.org_role = Some(role);
            }
            (Field::Groups, FieldValue::Multi(ids)) => {
                if let Some(bad) = ids
                    .iter()
                    .find(|id| !self.groups_known.iter().any(|g| g.id == **id))
                {
                    return Err(format!("{label}: no user group with id {bad}"));
                }
                let mut ids = ids;
                ids.sort_unstable();
                ids.dedup();
                v.groups = ids;
            }
            (Field::Locked, FieldValue::Checkbox(b)) => v.locked = b,
            (Field::Disabled, FieldValue::Checkbox(b)) => v.disabled = b,
            (Field::PasswordResetRequired, FieldValue::Checkbox(b)) => {
                v.password_reset_required = b
            }
            (Field::MfaResetRequired, FieldValue::Checkbox(b)) => v.mfa_reset_required = b,
            (Field::TermsRequired, FieldValue::Checkbox(b)) => v.terms_required = b,
            (Field::SendAccountInfoEmail, FieldValue::Checkbox(b)) => v.send_account_info_email = b,
            (Field::TokenExpirationDays, FieldValue::Number(n)) => v.token_expiration_days = n,
            (Field::IncludeInObservations, FieldValue::Checkbox(b)) => {
                v.include_in_observations = b
            }
            (Field::AllowExceedApiLinkLimit, FieldValue::Checkbox(b)) => {
                v.allow_exceed_api_link_limit = b
            }
            (Field::CustomTqlTimeout, FieldValue::Number(n)) => v.tql_timeout = n,
            (Field::TimeZone, FieldValue::Choice(choice)) => {
                pick(self.options(field), &choice)?;
                self.values.time_zone = choice;
            }
            (Field::LogOutAfter, FieldValue::Choice(choice)) => {
                pick(self.options(field), &choice)?;
                self.values.log_out_after = choice.and_then(|c| c.parse().ok());
            }
            (Field::SummaryEmailTime, FieldValue::Choice(choice)) => {
                pick(self.options(field), &choice)?;
                self.values.summary_email_time = choice;
            }
            (_, value) => {
                return Err(format!(
                    "{label} is {} field, not {}",
                    expected.kind_name(),
                    value.kind_name()
                ))
            }
        }
        if self.unknown.remove(&FieldKey(field)) {
            self.set_unknown.insert(FieldKey(field));
        }
        Ok(())
    }

    /// A new System role, and what it forces on the Organization role.
    fn apply_system_role(&mut self, role: SystemRole) {
        self.values.system_role = role;
        let kind = AccountType::of(role);
        if let Some(forced) = forced_org_role(kind, role) {
            self.values.org_role = Some(forced);
        } else if let Some(current) = self.values.org_role {
            if check_org_role(kind, role, current).is_err() {
                // e.g. User -> Read Only User: the closest allowed role.
                self.values.org_role = Some(if role == SystemRole::ReadOnlyUser {
                    OrgRole::ReadOnlyUser
                } else {
                    OrgRole::StandardUser
                });
            }
        }
        if self.values.org_role != self.initial.org_role
            && self.unknown.remove(&FieldKey(Field::OrgRole))
        {
            self.set_unknown.insert(FieldKey(Field::OrgRole));
        }
    }

    /// Sets a field from `--set KEY=VALUE` text. Keys are ThreatConnect JSON
    /// names or kebab-case labels (`firstName`, `first-name`); `termsAccepted`
    /// is the inverse of Terms of Service Acceptance Required.
    pub fn set_from_text(&mut self, key: &str, text: &str) -> Result<(), String> {
        let Some(field) = field_for_key(key) else {
            return Err(format!(
                "unknown field {key:?}; this form offers: {}",
                self.layout()
                    .iter()
                    .map(|(f, _)| field_key(*f))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        // Whether it can be set at all comes before whether the text parses.
        self.check_settable(field)?;
        let label = field.label();
        let inverse = key.trim().eq_ignore_ascii_case("termsAccepted");
        let value = match self.value(field) {
            FieldValue::Text(_) => FieldValue::Text(if field == Field::Email {
                text.trim().to_string()
            } else {
                text.to_string()
            }),
            FieldValue::Password(_) => FieldValue::Password(Password::new(text)),
            FieldValue::Checkbox(_) => {
                let b = parse_bool(text)
                    .ok_or_else(|| format!("{label} must be true or false, not {text:?}"))?;
                FieldValue::Checkbox(b != inverse)
            }
            FieldValue::Number(_) => {
                FieldValue::Number(parse_optional_number(text).ok_or_else(|| {
                    format!("{label} must be a whole number (or \"none\"), not {text:?}")
                })?)
            }
            FieldValue::Choice(_) => FieldValue::Choice(self.choice_from_text(field, text)?),
            FieldValue::Multi(_) => FieldValue::Multi(self.groups_from_text(text)?),
        };
        self.set(field, value)
    }

    fn choice_from_text(&self, field: Field, text: &str) -> Result<Option<String>, String> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        match field {
            // Roles by name, also kebab- or snake-cased ("read-only-user").
            Field::SystemRole | Field::OrgRole => {
                let spaced = text.replace(['-', '_'], " ");
                let name = if field == Field::SystemRole {
                    SystemRole::parse(&spaced).map(|r| r.name())
                } else {
                    OrgRole::parse(&spaced).map(|r| r.name())
                };
                return name.map(|n| Some(n.to_string())).ok_or_else(|| {
                    format!(
                        "{} cannot be {text:?}; choose one of: {}",
                        field.label(),
                        self.option_labels(field)
                    )
                });
            }
            Field::SummaryEmailTime => {
                // "8", "8:00", "08:00" all mean 08:00.
                let hour = text.split(':').next().unwrap_or_default();
                let minutes_ok = text.split(':').nth(1).is_none_or(|m| m == "00");
                if let (Ok(h), true) = (hour.parse::<u32>(), minutes_ok) {
                    if h < 24 {
                        return Ok(Some(format!("{h:02}:00")));
                    }
                }
            }
            _ => {}
        }
        self.options(field)
            .into_iter()
            .find(|o| o.value.eq_ignore_ascii_case(text) || o.label.eq_ignore_ascii_case(text))
            .map(|o| Some(o.value))
            .ok_or_else(|| {
                format!(
                    "{} cannot be {text:?}; choose one of: {}",
                    field.label(),
                    self.option_labels(field)
                )
            })
    }

    fn option_labels(&self, field: Field) -> String {
        let options = match field {
            // Every role the type knows, not only the assignable ones: the
            // refusal of a known role says why.
            Field::SystemRole => self.system_role_options(),
            _ => self.options(field),
        };
        options
            .iter()
            .map(|o| o.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// "SOC Team,IR Team" or ids ("3,5") to group ids.
    fn groups_from_text(&self, text: &str) -> Result<Vec<i64>, String> {
        let mut ids = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let found = self
                .groups_known
                .iter()
                .find(|g| g.name.eq_ignore_ascii_case(name) || g.id.to_string() == name);
            match found {
                Some(g) => ids.push(g.id),
                None if self.groups_known.is_empty() => {
                    return Err(format!(
                        "Groups: no user groups are known, so {name:?} cannot be found"
                    ))
                }
                None => {
                    return Err(format!(
                        "Groups: no user group named {name:?}; known groups: {}",
                        self.groups_known
                            .iter()
                            .map(|g| g.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
            }
        }
        Ok(ids)
    }

    fn changed(&self, field: Field) -> bool {
        let key = FieldKey(field);
        if self.unknown.contains(&key) {
            return false;
        }
        self.set_unknown.contains(&key) || value_in(&self.initial, field) != self.value(field)
    }

    /// Changed since the form opened: Esc then asks before discarding.
    pub fn is_dirty(&self) -> bool {
        ALL_FIELDS.iter().any(|f| self.changed(*f))
    }

    /// Rule 7: editing, with a System role other than the account's.
    pub fn system_role_change_warning(&self) -> Option<String> {
        let changed = self.mode == FormMode::Edit
            && !self.unknown.contains(&FieldKey(Field::SystemRole))
            && self.values.system_role != self.initial.system_role;
        changed.then(|| {
            "Changing the System role resets this account's Community roles to its Organization's defaults (Read Only User: at most Commenter; Super User: always Director)".to_string()
        })
    }

    /// Everything that stops a save, per field, in form order. Editing,
    /// only changed fields are checked (an old name with a tab in it does
    /// not block disabling the account).
    pub fn validate(&self) -> Vec<(Field, String)> {
        let mut problems = Vec::new();
        let create = self.mode == FormMode::Create;
        let layout = self.layout();
        let v = &self.values;
        for (field, _) in &layout {
            let field = *field;
            if !create && !self.changed(field) {
                continue;
            }
            let label = self.label(field);
            let mut problem = |text: String| problems.push((field, text));
            match field {
                Field::Email => {
                    if v.email.trim().is_empty() {
                        problem(format!("{label} is required"));
                    } else if is_ui(self.kind) {
                        if let Err(e) = check_email(&v.email) {
                            problem(e);
                        }
                    } else if v.email.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        problem(format!(
                            "{label} must not contain spaces or control characters"
                        ));
                    }
                }
                Field::Password => {
                    if v.password.is_empty() {
                        if create && (is_ui(self.kind) || self.asks_credentials()) {
                            problem(format!("{label} is required"));
                        }
                    } else if let Err(missing) =
                        self.settings.password_policy.check(v.password.expose())
                    {
                        problem(format!("{label} must have {missing}"));
                    }
                }
                Field::FirstName | Field::LastName => {
                    let text = if field == Field::FirstName {
                        &v.first_name
                    } else {
                        &v.last_name
                    };
                    if text.trim().is_empty() {
                        problem(format!("{label} is required"));
                    } else if text.chars().any(char::is_control) {
                        problem(format!("{label} must not contain control characters"));
                    }
                }
                Field::TokenExpirationDays => {
                    if let Some(n) = v.token_expiration_days {
                        if !TOKEN_EXPIRATION_DAYS.contains(&n) {
                            problem(out_of_range(label, &TOKEN_EXPIRATION_DAYS));
                        }
                    }
                }
                Field::CustomTqlTimeout => {
                    if let Some(n) = v.tql_timeout {
                        if !TQL_TIMEOUT_MS.contains(&n) {
                            problem(out_of_range(label, &TQL_TIMEOUT_MS));
                        }
                    }
                }
                _ => {}
            }
        }
        // The roles: checked whenever they are new (create) or either changed.
        let roles_changed = self.changed(Field::SystemRole) || self.changed(Field::OrgRole);
        if create || roles_changed {
            let role = v.system_role;
            let role_is_new = create || self.changed(Field::SystemRole);
            if role_is_new {
                if let Err(r) =
                    may_assign_system_role(&self.actor, assign_kind(self.kind, role), role)
                {
                    problems.push((Field::SystemRole, r.0));
                }
            }
            match v.org_role {
                None => problems.push((
                    Field::OrgRole,
                    format!("{} is required", Field::OrgRole.label()),
                )),
                Some(org_role) => {
                    if let Err(r) = check_org_role(AccountType::of(role), role, org_role) {
                        problems.push((Field::OrgRole, r.0));
                    }
                }
            }
        }
        problems.sort_by_key(|(f, _)| field_index(*f));
        problems
    }

    /// Whether a field goes into a body: offered, and saveable here.
    fn sendable(&self, field: Field) -> bool {
        self.offered(field).is_some() && self.supported(field)
    }

    /// The `POST /v3/security/users` body, with ThreatConnect's field names
    /// plus the supported rollcall extensions. Groups are set afterwards
    /// (see [`group_ids`](Self::group_ids)).
    pub fn create_body(&self) -> Value {
        let mut body = Map::new();
        let v = &self.values;
        if is_ui(self.kind) || self.asks_credentials() {
            body.insert("userName".into(), json!(v.email.trim()));
        }
        body.insert("owner".into(), json!(self.org));
        body.insert("systemRole".into(), json!(v.system_role.name()));
        for field in ALL_FIELDS {
            if *field == Field::Email || *field == Field::SystemRole || !self.sendable(*field) {
                continue;
            }
            if *field == Field::CustomTqlTimeout && v.tql_timeout.is_none() {
                continue;
            }
            self.put(&mut body, *field);
        }
        // An empty optional field is left to the instance's default.
        body.retain(|_, v| !v.is_null());
        Value::Object(body)
    }

    /// The `PUT /v3/security/users/{id}` body: only what changed from
    /// `original` (and what was set where `original` said nothing).
    pub fn update_body(&self, original: &User) -> Value {
        let (was, unknown) = Values::of_user(original, self.kind);
        let mut body = Map::new();
        for field in ALL_FIELDS {
            let field = *field;
            if field == Field::Email || field == Field::Groups || !self.sendable(field) {
                continue;
            }
            let set_where_unknown =
                unknown.contains(&FieldKey(field)) && self.set_unknown.contains(&FieldKey(field));
            let differs =
                !unknown.contains(&FieldKey(field)) && value_in(&was, field) != self.value(field);
            if field == Field::Password && self.values.password.is_empty() {
                continue;
            }
            if differs || set_where_unknown {
                self.put(&mut body, field);
            }
        }
        Value::Object(body)
    }

    /// The `--set` keys of the offered fields, in the form's order: the
    /// columns of an import template.
    pub fn set_keys(&self) -> Vec<&'static str> {
        self.layout()
            .into_iter()
            .map(|(field, _)| field_key(field))
            .collect()
    }

    /// A field's current value as `set_from_text` reads it back ("" for
    /// nothing chosen and for a password, which is never shown).
    pub fn value_text(&self, field: Field) -> String {
        match self.value(field) {
            FieldValue::Text(text) => text,
            FieldValue::Password(_) | FieldValue::Choice(None) | FieldValue::Number(None) => {
                String::new()
            }
            FieldValue::Checkbox(b) => b.to_string(),
            FieldValue::Choice(Some(value)) => value,
            FieldValue::Number(Some(n)) => n.to_string(),
            FieldValue::Multi(ids) => {
                let names: Vec<String> = ids
                    .iter()
                    .map(|id| {
                        self.groups_known
                            .iter()
                            .find(|g| g.id == *id)
                            .map_or_else(|| id.to_string(), |g| g.name.clone())
                    })
                    .collect();
                names.join(",")
            }
        }
    }

    /// Whether `text` under `key`, read as `set_from_text` reads it, is
    /// what the field holds now (and the account said so): such a cell
    /// asks for no change, even of a field that cannot be set here.
    pub fn text_matches(&self, key: &str, text: &str) -> bool {
        let Some(field) = field_for_key(key) else {
            return false;
        };
        if self.unknown.contains(&FieldKey(field)) {
            return false;
        }
        let inverse = key.trim().eq_ignore_ascii_case("termsAccepted");
        let current = self.value(field);
        let read = match &current {
            FieldValue::Text(now) if field == Field::Email => {
                return now.trim().eq_ignore_ascii_case(text.trim())
            }
            FieldValue::Text(now) => return now == text,
            FieldValue::Password(_) => return false,
            FieldValue::Checkbox(_) => parse_bool(text).map(|b| FieldValue::Checkbox(b != inverse)),
            FieldValue::Number(_) => parse_optional_number(text).map(FieldValue::Number),
            FieldValue::Choice(_) => self
                .choice_from_text(field, text)
                .ok()
                .map(FieldValue::Choice),
            FieldValue::Multi(_) => self.groups_from_text(text).ok().map(|mut ids| {
                ids.sort_unstable();
                ids.dedup();
                FieldValue::Multi(ids)
            }),
        };
        read.is_some_and(|read| read == current)
    }

    /// The form's values of the fields written under the keys of `body`
    /// (an update body), as a body of their own: saved before an update,
    /// it is the update that puts the fields back. A field the account did
    /// not show is left out (its old value is not known).
    pub fn values_under(&self, body: &Value) -> Value {
        let wanted = body.as_object();
        let mut all = Map::new();
        for field in ALL_FIELDS {
            if !self.unknown.contains(&FieldKey(*field)) {
                self.put(&mut all, *field);
            }
        }
        all.retain(|key, _| wanted.is_some_and(|w| w.contains_key(key)));
        Value::Object(all)
    }

    /// Writes one field under its wire name(s).
    fn put(&self, body: &mut Map<String, Value>, field: Field) {
        let v = &self.values;
        let mut put = |key: &str, value: Value| {
            body.insert(key.to_string(), value);
        };
        match field {
            Field::Email => put("userName", json!(v.email.trim())),
            Field::Password => {
                if !v.password.is_empty() {
                    put("password", json!(v.password.expose()))
                }
            }
            Field::FirstName => put("firstName", json!(v.first_name)),
            Field::LastName => put("lastName", json!(v.last_name)),
            Field::SystemRole => put("systemRole", json!(v.system_role.name())),
            Field::OrgRole => {
                if let Some(role) = v.org_role {
                    put("ownerRoles", json!({ self.org.clone(): role.name() }))
                }
            }
            Field::Groups => {}
            Field::Locked => put("locked", json!(v.locked)),
            Field::Disabled => put("disabled", json!(v.disabled)),
            Field::PasswordResetRequired => {
                put("passwordResetRequired", json!(v.password_reset_required))
            }
            Field::MfaResetRequired => put("twoFactorResetRequired", json!(v.mfa_reset_required)),
            // The wire says whether the terms were accepted: the inverse.
            Field::TermsRequired => put("termsAccepted", json!(!v.terms_required)),
            Field::SendAccountInfoEmail => put(
                ext::SEND_ACCOUNT_INFO_EMAIL,
                json!(v.send_account_info_email),
            ),
            Field::TokenExpirationDays => {
                put(ext::TOKEN_EXPIRATION_FIELD, json!(v.token_expiration_days))
            }
            Field::IncludeInObservations => put(
                ext::INCLUDE_IN_OBSERVATIONS_FIELD,
                json!(v.include_in_observations),
            ),
            Field::AllowExceedApiLinkLimit => put(
                ext::ALLOW_EXCEED_API_LINK_LIMIT_FIELD,
                json!(v.allow_exceed_api_link_limit),
            ),
            // The docs define an Integer of milliseconds; 0 clears it.
            Field::CustomTqlTimeout => put("customTqlTimeout", json!(v.tql_timeout.unwrap_or(0))),
            Field::TimeZone => put(ext::TIME_ZONE_FIELD, json!(v.time_zone)),
            Field::LogOutAfter => put("logoutIntervalMinutes", json!(v.log_out_after)),
            Field::SummaryEmailTime => {
                put(ext::SUMMARY_EMAIL_TIME_FIELD, json!(v.summary_email_time))
            }
        }
    }

    /// The groups to save with the group-membership extension, when they
    /// changed (create: when any were chosen).
    pub fn group_ids(&self) -> Option<Vec<i64>> {
        (self.sendable(Field::Groups) && self.changed(Field::Groups))
            .then(|| self.values.groups.clone())
    }
}

/// A field's value in `v`, typed.
fn value_in(v: &Values, field: Field) -> FieldValue {
    match field {
        Field::Email => FieldValue::Text(v.email.clone()),
        Field::Password => FieldValue::Password(v.password.clone()),
        Field::FirstName => FieldValue::Text(v.first_name.clone()),
        Field::LastName => FieldValue::Text(v.last_name.clone()),
        Field::SystemRole => FieldValue::Choice(Some(v.system_role.name().to_string())),
        Field::OrgRole => FieldValue::Choice(v.org_role.map(|r| r.name().to_string())),
        Field::Groups => FieldValue::Multi(v.groups.clone()),
        Field::Locked => FieldValue::Checkbox(v.locked),
        Field::Disabled => FieldValue::Checkbox(v.disabled),
        Field::PasswordResetRequired => FieldValue::Checkbox(v.password_reset_required),
        Field::MfaResetRequired => FieldValue::Checkbox(v.mfa_reset_required),
        Field::TermsRequired => FieldValue::Checkbox(v.terms_required),
        Field::SendAccountInfoEmail => FieldValue::Checkbox(v.send_account_info_email),
        Field::TokenExpirationDays => FieldValue::Number(v.token_expiration_days),
        Field::IncludeInObservations => FieldValue::Checkbox(v.include_in_observations),
        Field::AllowExceedApiLinkLimit => FieldValue::Checkbox(v.allow_exceed_api_link_limit),
        Field::CustomTqlTimeout => FieldValue::Number(v.tql_timeout),
        Field::TimeZone => FieldValue::Choice(v.time_zone.clone()),
        Field::LogOutAfter => FieldValue::Choice(v.log_out_after.map(|m| m.to_string())),
        Field::SummaryEmailTime => FieldValue::Choice(v.summary_email_time.clone()),
    }
}

fn keep_current(list: &mut Vec<Choice>, current: Option<&str>) {
    if let Some(c) = current {
        if !list.iter().any(|o| o.value == c) {
            list.push(Choice::same(c));
        }
    }
}

fn unsupported_message(field: Field, extension: &str) -> String {
    format!(
        "{} cannot be saved: this instance does not offer it (rollcall extension {extension})",
        field.label()
    )
}

fn out_of_range(label: &str, range: &RangeInclusive<i64>) -> String {
    format!(
        "{label} must be between {} and {}",
        range.start(),
        range.end()
    )
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// A whole number, or `None` for "", "none", "off".
fn parse_optional_number(text: &str) -> Option<Option<i64>> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") || text.eq_ignore_ascii_case("off") {
        return Some(None);
    }
    text.replace('_', "").parse::<i64>().ok().map(Some)
}

#[cfg(test)]
#[path = "form_tests.rs"]
mod tests;

//! Who may do what: the one policy both the console and the sandbox consult
//! (SPEC section 2, rules 1 to 6, and the public-API rule of section 4).

use super::roles::{article, AccountType, OrgRole, SystemRole};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the instance is hosted; Accounts Administrators administer accounts
/// only on On Premises and Dedicated Cloud instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Deployment {
    #[default]
    OnPremises,
    DedicatedCloud,
    SharedCloud,
}

/// Instance settings that change what the policy and the forms allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct InstanceSettings {
    pub deployment: Deployment,
    /// SAML-enabled: no Password and no Log Out After fields.
    pub saml_enabled: bool,
    /// `termsOfServiceRequireNewUserToAccept`.
    pub terms_of_service_required: bool,
    /// `twoFactorAuthenticationRequired`.
    pub mfa_required: bool,
    /// Password max age in days; `None` when passwords do not expire.
    pub password_max_age_days: Option<i64>,
    /// What a new password must contain (ThreatConnect's system settings).
    #[serde(default)]
    pub password_policy: PasswordPolicy,
}

/// The instance's password policy; the form and the sandbox both check
/// passwords with [`PasswordPolicy::check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PasswordPolicy {
    pub min_length: usize,
    /// At least one letter of any case (the default policy's rule).
    pub require_letter: bool,
    pub require_upper: bool,
    pub require_lower: bool,
    pub require_digit: bool,
    /// At least one character that is neither a letter, a digit nor a space.
    pub require_special: bool,
}

impl Default for PasswordPolicy {
    /// At least 8 characters, with a letter and a digit.
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            require_letter: true,
            require_upper: false,
            require_lower: false,
            require_digit: true,
            require_special: false,
        }
    }
}

impl PasswordPolicy {
    /// Each requirement `password` misses, as a phrase ("a digit").
    pub fn missing(&self, password: &str) -> Vec<String> {
        let mut missing = Vec::new();
        if password.chars().count() < self.min_length {
            missing.push(format!("at least {} characters", self.min_length));
        }
        let has = |test: CharTest| password.chars().any(|c| test(&c));
        let rules: [(bool, CharTest, &str); 5] = [
            (self.require_letter, |c| c.is_alphabetic(), "a letter"),
            (
                self.require_upper,
                |c| c.is_uppercase(),
                "an upper-case letter",
            ),
            (
                self.require_lower,
                |c| c.is_lowercase(),
                "a lower-case letter",
            ),
            (self.require_digit, |c| c.is_ascii_digit(), "a digit"),
            (
                self.require_special,
                |c| !c.is_alphanumeric() && !c.is_whitespace(),
                "a special character",
            ),
        ];
        for (required, test, phrase) in rules {
            if required && !has(test) {
                missing.push(phrase.to_string());
            }
        }
        missing
    }

    /// `Err` names what the password lacks: "at least 8 characters and a digit".
    pub fn check(&self, password: &str) -> Result<(), String> {
        let missing = self.missing(password);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(join_and(&missing))
        }
    }

    /// The whole policy in words, for hints: "at least 8 characters, a letter and a digit".
    pub fn describe(&self) -> String {
        join_and(&self.missing(""))
    }
}

type CharTest = fn(&char) -> bool;

/// "a", "a and b", "a, b and c".
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The admin performing an action.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub id: Option<i64>,
    pub user_name: String,
    /// `None` when the instance names a System role rollcall does not know
    /// (kept in `custom_system_role`): the policy cannot decide, the server does.
    pub system_role: Option<SystemRole>,
    /// `None` when the instance did not say (treated as no Organization
    /// role), or named a custom role (kept in `custom_org_role`).
    pub org_role: Option<OrgRole>,
    pub home_org: String,
    /// A System role as the instance names it, when rollcall does not know it.
    pub custom_system_role: Option<String>,
    /// A custom Organization role, as the instance names it.
    pub custom_org_role: Option<String>,
}

/// What is known about the account an action targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    pub id: Option<i64>,
    pub user_name: &'a str,
    /// `None` when the caller cannot see it: the server then decides.
    pub system_role: Option<SystemRole>,
    pub org: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    View,
    Edit,
    Delete,
    Disable,
    Enable,
    Unlock,
    ResetPassword,
    ResetMfa,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Edit => "edit",
            Action::Delete => "delete",
            Action::Disable => "disable",
            Action::Enable => "enable",
            Action::Unlock => "unlock",
            Action::ResetPassword => "require a password reset for",
            Action::ResetMfa => "require an MFA reset for",
        }
    }

    pub fn is_write(self) -> bool {
        self != Action::View
    }
}

/// A refusal with a reason a person can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

pub type Verdict = Result<(), Refusal>;

fn refuse(reason: impl Into<String>) -> Verdict {
    Err(Refusal(reason.into()))
}

/// System roles that see every account of their home Organization.
const SEE_HOME_ORG: &[SystemRole] = &[
    SystemRole::Administrator,
    SystemRole::OperationsAdministrator,
    SystemRole::AccountsAdministrator,
    SystemRole::CommunityLeader,
    SystemRole::SuperUser,
];
/// System roles that act in every Organization.
const ALL_ORGS: &[SystemRole] = &[
    SystemRole::Administrator,
    SystemRole::OperationsAdministrator,
    SystemRole::SuperUser,
];
/// System roles that choose System roles, see them, set TQL timeouts.
const ROLE_CHOOSERS: &[SystemRole] = &[
    SystemRole::Administrator,
    SystemRole::OperationsAdministrator,
];
/// Targets an API user may never write through the public API.
const API_PROTECTED: &[SystemRole] = &[
    SystemRole::Administrator,
    SystemRole::CommunityLeader,
    SystemRole::OperationsAdministrator,
    SystemRole::SuperUser,
];

impl Actor {
    /// An actor with roles rollcall knows.
    pub fn new(
        id: Option<i64>,
        user_name: impl Into<String>,
        system_role: SystemRole,
        org_role: Option<OrgRole>,
        home_org: impl Into<String>,
    ) -> Actor {
        Actor {
            id,
            user_name: user_name.into(),
            system_role: Some(system_role),
            org_role,
            home_org: home_org.into(),
            custom_system_role: None,
            custom_org_role: None,
        }
    }

    /// True when a role of this actor is one rollcall does not know, so
    /// the policy cannot decide what it may do: writes are left to the
    /// server (never refused, never promised), and views show what the
    /// server returns.
    pub fn roles_undecided(&self) -> bool {
        self.system_role.is_none() || self.custom_org_role.is_some()
    }

    /// One line for a session whose roles the policy cannot judge.
    pub fn undecided_note(&self) -> Option<String> {
        let role = match (&self.custom_system_role, &self.custom_org_role) {
            (Some(system), _) if self.system_role.is_none() => format!("System role {system}"),
            (_, Some(org)) => format!("Organization role {org}"),
            _ => return None,
        };
        Some(format!(
            "your {role} is not one rollcall knows: the instance decides what you may do, and refusals come from it"
        ))
    }

    fn has_system_role(&self, roles: &[SystemRole]) -> bool {
        self.system_role.is_some_and(|r| roles.contains(&r))
    }

    fn is_org_admin(&self) -> bool {
        self.org_role == Some(OrgRole::OrganizationAdministrator)
    }

    fn is_api_actor(&self) -> bool {
        self.system_role.map(AccountType::of) == Some(AccountType::Api)
    }

    /// The System role as the instance names it.
    pub fn system_role_name(&self) -> &str {
        match (self.system_role, self.custom_system_role.as_deref()) {
            (Some(role), _) => role.name(),
            (None, Some(name)) => name,
            (None, None) => "unknown",
        }
    }

    /// "an Administrator"; "an account with System role X" for a role
    /// rollcall does not know.
    pub fn system_role_with_article(&self) -> String {
        match self.system_role {
            Some(role) => role.with_article(),
            None => format!("an account with System role {}", self.system_role_name()),
        }
    }

    /// The Organization role as the instance names it, if it said.
    pub fn org_role_name(&self) -> Option<&str> {
        match (self.org_role, self.custom_org_role.as_deref()) {
            (Some(role), _) => Some(role.name()),
            (None, custom) => custom,
        }
    }

    /// How messages name this actor: "an Organization Administrator", "an Administrator".
    pub fn who(&self) -> String {
        let Some(system_role) = self.system_role else {
            return self.system_role_with_article();
        };
        if self.is_api_actor() {
            match self.org_role {
                Some(r) => format!("an API user with Organization role {r}"),
                None => "an API user".to_string(),
            }
        } else if self.is_org_admin() && !ALL_ORGS.contains(&system_role) {
            "an Organization Administrator".to_string()
        } else {
            system_role.with_article()
        }
    }

    fn accounts_admin_applies(&self, instance: &InstanceSettings) -> bool {
        self.system_role == Some(SystemRole::AccountsAdministrator)
            && instance.deployment != Deployment::SharedCloud
    }

    /// Rule 1: sees every account of its home Organization.
    pub fn sees_home_org(&self) -> bool {
        self.is_org_admin() || self.has_system_role(SEE_HOME_ORG)
    }

    /// Rule 1: sees every Organization (and gets the Organization picker).
    pub fn sees_all_orgs(&self) -> bool {
        self.has_system_role(ALL_ORGS)
    }

    /// Rule 1: sees the System role column.
    pub fn sees_system_roles(&self) -> bool {
        self.has_system_role(ROLE_CHOOSERS)
    }

    /// Rule 4: may choose a System role, and set Custom TQL Timeout.
    pub fn chooses_system_roles(&self) -> bool {
        self.has_system_role(ROLE_CHOOSERS)
    }

    /// True when no role of this actor allows any write at all.
    pub fn can_write_anything(&self, instance: &InstanceSettings) -> bool {
        AccountType::ALL
            .iter()
            .any(|t| may_create(self, instance, &self.home_org, *t).is_ok())
    }

    /// Which Organizations' accounts this actor may list.
    pub fn may_list_org(&self, org: &str) -> bool {
        self.sees_all_orgs() || (org == self.home_org && self.sees_home_org())
    }
}

/// May `actor` see `target`? (Rule 1.)
pub fn may_view(actor: &Actor, target: &Target) -> Verdict {
    if is_self(actor, target) || actor.may_list_org(target.org) || actor.roles_undecided() {
        return Ok(());
    }
    if target.org == actor.home_org {
        refuse(format!("{} sees only its own account", actor.who()))
    } else {
        refuse(format!(
            "{} cannot see accounts of another Organization ({})",
            actor.who(),
            target.org
        ))
    }
}

/// May `actor` administer accounts in `org` at all? (Rule 2.)
fn may_administer_org(actor: &Actor, instance: &InstanceSettings, org: &str) -> Verdict {
    if actor.roles_undecided() {
        return Ok(()); // the server decides
    }
    if actor.is_api_actor() && !actor.is_org_admin() {
        return refuse(format!(
            "{} cannot create, edit or delete users through the API; only an Organization Administrator API user can",
            actor.who()
        ));
    }
    if actor.sees_all_orgs() && !actor.is_api_actor() {
        return Ok(());
    }
    let home = org == actor.home_org;
    if home && (actor.is_org_admin() || actor.accounts_admin_applies(instance)) {
        return Ok(());
    }
    if !home && (actor.is_org_admin() || actor.accounts_admin_applies(instance)) {
        return refuse(format!(
            "{} administers accounts only in its home Organization ({}), not in {org}",
            actor.who(),
            actor.home_org
        ));
    }
    if actor.system_role == Some(SystemRole::AccountsAdministrator) {
        return refuse(
            "an Accounts Administrator administers accounts only on On Premises and Dedicated Cloud instances",
        );
    }
    refuse(format!("{} cannot administer user accounts", actor.who()))
}

/// May `actor` create an account of type `kind` in `org`? (Rules 2 and 4.)
/// Organization limits are checked separately (see `limits`).
pub fn may_create(
    actor: &Actor,
    instance: &InstanceSettings,
    org: &str,
    kind: AccountType,
) -> Verdict {
    may_administer_org(actor, instance, org)?;
    let _ = kind; // every type is creatable by whoever administers the Organization
    Ok(())
}

/// May `actor` give a new or edited account the System role `role`?
pub fn may_assign_system_role(actor: &Actor, kind: AccountType, role: SystemRole) -> Verdict {
    if !kind.system_roles().contains(&role) {
        return refuse(format!(
            "{} cannot have the System role {role}",
            article(kind.name())
        ));
    }
    if role == kind.default_system_role() {
        return Ok(());
    }
    if !actor.chooses_system_roles() {
        return refuse(format!(
            "{} cannot choose a System role; a new {} gets {}",
            actor.who(),
            kind.name(),
            kind.default_system_role()
        ));
    }
    if actor.system_role.is_none_or(|own| role.outranks(own)) {
        return refuse(format!(
            "{} cannot grant the System role {role}",
            actor.who()
        ));
    }
    Ok(())
}

/// May `actor` perform `action` on the existing account `target`?
/// (Rules 1 to 3, and the public-API rule.)
pub fn may(actor: &Actor, instance: &InstanceSettings, action: Action, target: &Target) -> Verdict {
    may_view(actor, target)?;
    if action == Action::View {
        return Ok(());
    }
    if is_self(actor, target) && matches!(action, Action::Delete | Action::Disable) {
        return refuse(format!("you cannot {} your own account", action.verb()));
    }
    // Editing one's own account needs no administrative role, except through
    // the public API, where only an Organization Administrator API user writes.
    let own_edit = is_self(actor, target) && action == Action::Edit && !actor.is_api_actor();
    if !own_edit {
        may_administer_org(actor, instance, target.org)?;
    }
    let (Some(role), Some(own_role)) = (target.system_role, actor.system_role) else {
        // The caller cannot see the target's System role, or has one
        // rollcall does not know: the server has the last word.
        return Ok(());
    };
    // The public-API rule first: every protected role also outranks an API
    // user, so checked after the hierarchy it would never give its reason.
    if actor.is_api_actor() && API_PROTECTED.contains(&role) {
        return refuse(format!(
            "an API user cannot {} {} through the API",
            action.verb(),
            role.with_article()
        ));
    }
    if role.outranks(own_role) {
        return refuse(format!(
            "{} cannot {} {}",
            own_role.with_article(),
            action.verb(),
            role.with_article()
        ));
    }
    // Accounts Administrators manage only User, Read Only, API and TAXII accounts.
    let accounts_admin_only = actor.accounts_admin_applies(instance) && !actor.is_org_admin();
    if accounts_admin_only && AccountType::of(role) == AccountType::User && role != SystemRole::User
    {
        return refuse(format!(
            "an Accounts Administrator cannot {} {}; only User, Read Only User, API and TAXII accounts",
            action.verb(),
            role.with_article()
        ));
    }
    Ok(())
}

/// The account flags a PUT body may set, each of which is an action of its
/// own (checked as that action, not as an edit).
pub const FLAG_KEYS: [&str; 4] = [
    "disabled",
    "locked",
    "passwordResetRequired",
    "twoFactorResetRequired",
];

/// The actions a PUT body asks for, each to be checked with [`may`]: a flag
/// set to what a bulk action sets is that action (disable, enable, unlock,
/// require a reset); any other field, or a flag set otherwise (locking,
/// clearing a reset), is an edit; so is an empty body. Flags come first, so a
/// refusal names the most specific reason. The client and the sandbox both
/// judge a change with this.
pub fn implied_actions(body: &serde_json::Map<String, serde_json::Value>) -> Vec<Action> {
    let mut flagged = Vec::new();
    let mut edit = body.is_empty();
    for (key, value) in body {
        match (key.as_str(), value.as_bool()) {
            ("disabled", Some(true)) => flagged.push(Action::Disable),
            ("disabled", Some(false)) => flagged.push(Action::Enable),
            ("locked", Some(false)) => flagged.push(Action::Unlock),
            ("passwordResetRequired", Some(true)) => flagged.push(Action::ResetPassword),
            ("twoFactorResetRequired", Some(true)) => flagged.push(Action::ResetMfa),
            _ => edit = true,
        }
    }
    // In this order whatever the body's key order.
    let mut actions: Vec<Action> = [
        Action::Disable,
        Action::Enable,
        Action::Unlock,
        Action::ResetPassword,
        Action::ResetMfa,
    ]
    .into_iter()
    .filter(|a| flagged.contains(a))
    .collect();
    if edit {
        actions.push(Action::Edit);
    }
    actions
}

/// May `actor` send the PUT `body` for `target`, an account of type `kind`?
/// Every action the body implies is checked, and a role change is
/// administration even on one's own account (the sandbox's rule too). The
/// console and `users edit` both ask before sending.
pub fn may_update(
    actor: &Actor,
    instance: &InstanceSettings,
    target: &Target,
    kind: AccountType,
    body: &serde_json::Value,
) -> Verdict {
    let empty = serde_json::Map::new();
    let body = body.as_object().unwrap_or(&empty);
    for action in implied_actions(body) {
        may(actor, instance, action, target)?;
    }
    if body.contains_key("ownerRoles") || body.contains_key("systemRole") {
        may_create(actor, instance, target.org, kind)?;
    }
    Ok(())
}

fn is_self(actor: &Actor, target: &Target) -> bool {
    match (actor.id, target.id) {
        (Some(a), Some(t)) => a == t,
        _ => actor.user_name == target.user_name,
    }
}

/// The fields of the User and API User Administration windows (SPEC section 3),
/// in the web UI's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Email,
    Password,
    FirstName,
    LastName,
    SystemRole,
    OrgRole,
    Groups,
    Locked,
    Disabled,
    PasswordResetRequired,
    MfaResetRequired,
    TermsRequired,
    SendAccountInfoEmail,
    TokenExpirationDays,
    IncludeInObservations,
    AllowExceedApiLinkLimit,
    CustomTqlTimeout,
    TimeZone,
    LogOutAfter,
    SummaryEmailTime,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::Email => "E-Mail",
            Field::Password => "Password",
            Field::FirstName => "First Name",
            Field::LastName => "Last Name",
            Field::SystemRole => "System Role",
            Field::OrgRole => "Organization Role",
            Field::Groups => "Groups",
            Field::Locked => "Locked",
            Field::Disabled => "Disabled",
            Field::PasswordResetRequired => "Password Reset Required",
            Field::MfaResetRequired => "Multi-Factor Authentication Reset Required",
            Field::TermsRequired => "Terms of Service Acceptance Required",
            Field::SendAccountInfoEmail => "Send Account Info E-mail",
            Field::TokenExpirationDays => "Token Expiration (days)",
            Field::IncludeInObservations => "Include in Observations and False Positives",
            Field::AllowExceedApiLinkLimit => "Allow User to Exceed API Link Limit",
            Field::CustomTqlTimeout => "Custom TQL Timeout (ms)",
            Field::TimeZone => "Time Zone",
            Field::LogOutAfter => "Log Out After",
            Field::SummaryEmailTime => "Summary E-mail Time",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormMode {
    Create,
    Edit,
}

/// How a field is offered to the actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldAccess {
    Editable,
    /// Shown with its value but not changeable, and why.
    Locked(String),
}

/// The fields `actor` is offered on the form for an account of type `kind`,
/// in the web UI's order (rules 4 and 5, SPEC section 3). `system_role` is the
/// role the account has (or is being given), which locks the Organization
/// role of a Super User.
pub fn form_fields(
    actor: &Actor,
    instance: &InstanceSettings,
    kind: AccountType,
    mode: FormMode,
    system_role: SystemRole,
) -> Vec<(Field, FieldAccess)> {
    use Field::*;
    let chooser = actor.chooses_system_roles();
    let order: &[Field] = match kind {
        AccountType::User | AccountType::ReadOnly => &[
            Email,
            Password,
            FirstName,
            LastName,
            SystemRole,
            OrgRole,
            Groups,
            Locked,
            Disabled,
            PasswordResetRequired,
            MfaResetRequired,
            TermsRequired,
            SendAccountInfoEmail,
            CustomTqlTimeout,
            TimeZone,
            LogOutAfter,
            SummaryEmailTime,
        ],
        AccountType::Api => &[
            FirstName,
            LastName,
            SystemRole,
            OrgRole,
            TokenExpirationDays,
            Disabled,
            IncludeInObservations,
            AllowExceedApiLinkLimit,
            CustomTqlTimeout,
        ],
        AccountType::Taxii => &[FirstName, LastName, OrgRole, Disabled],
    };
    order
        .iter()
        .filter_map(|&field| {
            let offered = match field {
                SystemRole | CustomTqlTimeout => chooser,
                TermsRequired => chooser && instance.terms_of_service_required,
                Password | LogOutAfter => !instance.saml_enabled,
                SendAccountInfoEmail => mode == FormMode::Create,
                _ => true,
            };
            if !offered {
                return None;
            }
            let access = match field {
                OrgRole if system_role == super::roles::SystemRole::SuperUser => {
                    FieldAccess::Locked("a Super User is always Organization Administrator".into())
                }
                OrgRole if kind == AccountType::Taxii => {
                    FieldAccess::Locked("a TAXII User is always Standard User".into())
                }
                Email if mode == FormMode::Edit => {
                    FieldAccess::Locked("the account name cannot be changed".into())
                }
                _ => FieldAccess::Editable,
            };
            Some((field, access))
        })
        .collect()
}

/// The Organization role an account must have, if its System role or type
/// forces one (rule 5).
pub fn forced_org_role(kind: AccountType, system_role: SystemRole) -> Option<OrgRole> {
    if system_role == SystemRole::SuperUser {
        Some(OrgRole::OrganizationAdministrator)
    } else if kind == AccountType::Taxii {
        Some(OrgRole::StandardUser)
    } else {
        None
    }
}

/// Checks an Organization role against the account's type and System role.
pub fn check_org_role(kind: AccountType, system_role: SystemRole, role: OrgRole) -> Verdict {
    if let Some(forced) = forced_org_role(kind, system_role) {
        if forced != role {
            let who = if system_role == SystemRole::SuperUser {
                "a Super User".to_string()
            } else {
                article(kind.name())
            };
            return refuse(format!("{who} is always {forced}"));
        }
        return Ok(());
    }
    let allowed = if system_role == SystemRole::ReadOnlyUser {
        AccountType::ReadOnly.org_roles()
    } else {
        kind.org_roles()
    };
    if !allowed.contains(&role) {
        return refuse(format!(
            "{} cannot have the Organization role {role}",
            article(system_role.name())
        ));
    }
    Ok(())
}

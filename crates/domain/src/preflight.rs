//! Bulk preflight: before a bulk action runs, sort the selected accounts into
//! those it will change, those already in the target state, and those the
//! policy refuses (with its reason). The server still has the last word.

use super::account::User;
use super::policy::{self, Action, Actor, InstanceSettings, Target};
use serde::Serialize;
use serde_json::{json, Value};

/// The actions that run over many selected accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BulkAction {
    Disable,
    Enable,
    Unlock,
    ResetPassword,
    ResetMfa,
    Delete,
}

impl BulkAction {
    pub const ALL: [BulkAction; 6] = [
        BulkAction::Disable,
        BulkAction::Enable,
        BulkAction::Unlock,
        BulkAction::ResetPassword,
        BulkAction::ResetMfa,
        BulkAction::Delete,
    ];

    pub fn policy_action(self) -> Action {
        match self {
            BulkAction::Disable => Action::Disable,
            BulkAction::Enable => Action::Enable,
            BulkAction::Unlock => Action::Unlock,
            BulkAction::ResetPassword => Action::ResetPassword,
            BulkAction::ResetMfa => Action::ResetMfa,
            BulkAction::Delete => Action::Delete,
        }
    }

    /// Stable lowercase name for the command line, logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            BulkAction::Disable => "disable",
            BulkAction::Enable => "enable",
            BulkAction::Unlock => "unlock",
            BulkAction::ResetPassword => "reset-password",
            BulkAction::ResetMfa => "reset-mfa",
            BulkAction::Delete => "delete",
        }
    }

    /// The verb for titles and questions: "Disable", "Reset the password
    /// of", ... (the console and the scripts word a run alike).
    pub fn verb(self) -> &'static str {
        match self {
            BulkAction::Disable => "Disable",
            BulkAction::Enable => "Enable",
            BulkAction::Unlock => "Unlock",
            BulkAction::ResetPassword => "Reset the password of",
            BulkAction::ResetMfa => "Reset MFA of",
            BulkAction::Delete => "Delete",
        }
    }

    /// What "already" means for this action, for the preflight counts
    /// (lower case; a title capitalises the first letter).
    pub fn already_phrase(self) -> &'static str {
        match self {
            BulkAction::Disable => "already disabled",
            BulkAction::Enable => "already enabled",
            BulkAction::Unlock => "not locked",
            BulkAction::ResetPassword => "password reset already required",
            BulkAction::ResetMfa => "MFA reset already required",
            BulkAction::Delete => "already gone",
        }
    }

    /// [`Self::already_phrase`] as a title: "Already disabled".
    pub fn already_title(self) -> String {
        let phrase = self.already_phrase();
        let mut chars = phrase.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// `Some(true)` when `user` is already in the state this action sets,
    /// `Some(false)` when it is not, `None` when the instance did not return
    /// the flag. Delete is never already done.
    pub fn already(self, user: &User) -> Option<bool> {
        match self {
            BulkAction::Disable => user.disabled,
            BulkAction::Enable => user.disabled.map(|d| !d),
            BulkAction::Unlock => user.locked.map(|l| !l),
            BulkAction::ResetPassword => user.password_reset_required,
            BulkAction::ResetMfa => user.two_factor_reset_required,
            BulkAction::Delete => Some(false),
        }
    }

    /// The `PUT /v3/security/users/{id}` body; `Value::Null` for Delete,
    /// which sends none.
    pub fn change(self) -> Value {
        match self {
            BulkAction::Disable => json!({ "disabled": true }),
            BulkAction::Enable => json!({ "disabled": false }),
            BulkAction::Unlock => json!({ "locked": false }),
            BulkAction::ResetPassword => json!({ "passwordResetRequired": true }),
            BulkAction::ResetMfa => json!({ "twoFactorResetRequired": true }),
            BulkAction::Delete => Value::Null,
        }
    }

    /// The action that undoes this one, where one exists: only the
    /// instance locks accounts, a reset flag clears itself when the user
    /// complies, and Delete is irreversible.
    pub fn inverse(self) -> Option<BulkAction> {
        match self {
            BulkAction::Disable => Some(BulkAction::Enable),
            BulkAction::Enable => Some(BulkAction::Disable),
            BulkAction::Unlock
            | BulkAction::ResetPassword
            | BulkAction::ResetMfa
            | BulkAction::Delete => None,
        }
    }
}

/// What a bulk action will do to one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    WillChange,
    AlreadyDone,
    NotAllowed(String),
}

/// The accounts of a bulk selection sorted by verdict, each list in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preflight {
    pub will_change: Vec<i64>,
    pub already: Vec<i64>,
    pub not_allowed: Vec<(i64, String)>,
}

impl Preflight {
    pub fn total(&self) -> usize {
        self.will_change.len() + self.already.len() + self.not_allowed.len()
    }
}

/// The policy's view of an account. An account whose Organization the
/// instance did not return is judged as one of the actor's home
/// Organization; the server decides the rest.
pub fn target_of<'a>(user: &'a User, actor: &'a Actor) -> Target<'a> {
    Target {
        id: Some(user.id),
        user_name: &user.user_name,
        system_role: user.system_role_parsed(),
        org: user.owner.as_deref().unwrap_or(&actor.home_org),
    }
}

/// The verdict for one account. A refusal wins over "already done"; an
/// unknown state counts as a change (the server decides).
pub fn verdict(
    actor: &Actor,
    settings: &InstanceSettings,
    action: BulkAction,
    user: &User,
) -> Verdict {
    let target = target_of(user, actor);
    if let Err(refusal) = policy::may(actor, settings, action.policy_action(), &target) {
        return Verdict::NotAllowed(refusal.0);
    }
    match action.already(user) {
        Some(true) => Verdict::AlreadyDone,
        Some(false) | None => Verdict::WillChange,
    }
}

pub fn preflight(
    actor: &Actor,
    settings: &InstanceSettings,
    action: BulkAction,
    accounts: &[&User],
) -> Preflight {
    let mut out = Preflight::default();
    // A listing that repeats an account (offset pages of shifting data)
    // must not plan it twice.
    let mut seen = std::collections::HashSet::new();
    for user in accounts.iter().filter(|u| seen.insert(u.id)) {
        match verdict(actor, settings, action, user) {
            Verdict::WillChange => out.will_change.push(user.id),
            Verdict::AlreadyDone => out.already.push(user.id),
            Verdict::NotAllowed(reason) => out.not_allowed.push((user.id, reason)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Deployment;
    use crate::roles::{OrgRole, SystemRole};

    const HOME: &str = "Home Org";

    fn actor(system_role: SystemRole, org_role: OrgRole) -> Actor {
        Actor {
            id: Some(1),
            user_name: "admin@example.com".into(),
            system_role: Some(system_role),
            org_role: Some(org_role),
            home_org: HOME.into(),
            ..Default::default()
        }
    }

    fn org_admin() -> Actor {
        actor(SystemRole::User, OrgRole::OrganizationAdministrator)
    }

    fn account(id: i64, org: &str, role: &str) -> User {
        User {
            id,
            user_name: format!("user{id}@example.com"),
            owner: Some(org.into()),
            system_role: Some(role.into()),
            owner_roles: Some(crate::OwnerRoles::from([(
                org.to_string(),
                "Standard User".to_string(),
            )])),
            disabled: Some(false),
            locked: Some(false),
            password_reset_required: Some(false),
            two_factor_reset_required: Some(false),
            ..Default::default()
        }
    }

    fn basic(id: i64, org: &str) -> User {
        User {
            id,
            user_name: format!("basic{id}@example.com"),
            owner: Some(org.into()),
            ..Default::default()
        }
    }

    #[test]
    fn names_round_trip_and_changes_are_put_bodies() {
        for a in BulkAction::ALL {
            assert_eq!(BulkAction::from_name(a.name()), Some(a));
        }
        assert_eq!(
            BulkAction::from_name(" Disable "),
            Some(BulkAction::Disable)
        );
        assert_eq!(BulkAction::from_name("lock"), None);
        assert_eq!(BulkAction::Disable.name(), "disable");
        assert_eq!(
            BulkAction::Disable.change().to_string(),
            r#"{"disabled":true}"#
        );
        assert_eq!(
            BulkAction::Enable.change().to_string(),
            r#"{"disabled":false}"#
        );
        assert_eq!(
            BulkAction::Unlock.change().to_string(),
            r#"{"locked":false}"#
        );
        assert_eq!(
            BulkAction::ResetPassword.change().to_string(),
            r#"{"passwordResetRequired":true}"#
        );
        assert_eq!(
            BulkAction::ResetMfa.change().to_string(),
            r#"{"twoFactorResetRequired":true}"#
        );
        assert_eq!(BulkAction::Delete.change(), Value::Null);
        // Applying a change to a user makes `already` true.
        for a in BulkAction::ALL {
            if a == BulkAction::Delete {
                continue;
            }
            let mut body = serde_json::to_value(account(7, HOME, "User")).unwrap_or_default();
            if let (Some(obj), Some(change)) = (body.as_object_mut(), a.change().as_object()) {
                obj.extend(change.clone());
            }
            let changed: User = serde_json::from_value(body).unwrap_or_default();
            assert_eq!(a.already(&changed), Some(true), "{a:?}");
        }
    }

    #[test]
    fn inverses() {
        assert_eq!(BulkAction::Disable.inverse(), Some(BulkAction::Enable));
        assert_eq!(BulkAction::Enable.inverse(), Some(BulkAction::Disable));
        for a in [
            BulkAction::Unlock,
            BulkAction::ResetPassword,
            BulkAction::ResetMfa,
            BulkAction::Delete,
        ] {
            assert_eq!(a.inverse(), None, "{a:?}");
        }
        assert_eq!(BulkAction::Delete.policy_action(), Action::Delete);
        assert_eq!(BulkAction::ResetMfa.policy_action(), Action::ResetMfa);
    }

    #[test]
    fn already_per_action() {
        let mut u = account(1, HOME, "User");
        assert_eq!(BulkAction::Disable.already(&u), Some(false));
        assert_eq!(BulkAction::Enable.already(&u), Some(true));
        assert_eq!(BulkAction::Unlock.already(&u), Some(true));
        u.disabled = Some(true);
        u.locked = Some(true);
        u.password_reset_required = Some(true);
        assert_eq!(BulkAction::Disable.already(&u), Some(true));
        assert_eq!(BulkAction::Enable.already(&u), Some(false));
        assert_eq!(BulkAction::Unlock.already(&u), Some(false));
        assert_eq!(BulkAction::ResetPassword.already(&u), Some(true));
        assert_eq!(BulkAction::ResetMfa.already(&u), Some(false));
        assert_eq!(BulkAction::Delete.already(&u), Some(false));
        let b = basic(2, HOME);
        for a in BulkAction::ALL {
            if a != BulkAction::Delete {
                assert_eq!(a.already(&b), None, "{a:?}");
            }
        }
    }

    #[test]
    fn a_mixed_selection_is_sorted_in_input_order() {
        let oa = org_admin();
        let mut disabled = account(12, HOME, "User");
        disabled.disabled = Some(true);
        let users = [
            account(10, HOME, "User"),
            account(11, HOME, "Read Only User"),
            disabled,
            account(13, HOME, "Super User"),
            account(14, "Other Org", "User"),
            basic(15, HOME),
            account(1, HOME, "User"), // the actor itself
            account(16, HOME, "Api User"),
            account(17, HOME, "Administrator"),
        ];
        let refs: Vec<&User> = users.iter().collect();
        let p = preflight(
            &oa,
            &InstanceSettings::default(),
            BulkAction::Disable,
            &refs,
        );
        assert_eq!(p.will_change, vec![10, 11, 15, 16]);
        assert_eq!(p.already, vec![12]);
        assert_eq!(
            p.not_allowed,
            vec![
                (13, "a User cannot disable a Super User".to_string()),
                (
                    14,
                    "an Organization Administrator cannot see accounts of another Organization (Other Org)"
                        .to_string()
                ),
                (1, "you cannot disable your own account".to_string()),
                (17, "a User cannot disable an Administrator".to_string()),
            ]
        );
        assert_eq!(p.total(), users.len());

        // The same selection, enabled: the disabled one changes, the rest are
        // already enabled, the basic-fields account is unknown so it changes,
        // and the actor may enable itself (only Delete and Disable of one's
        // own account are refused).
        let p = preflight(&oa, &InstanceSettings::default(), BulkAction::Enable, &refs);
        assert_eq!(p.will_change, vec![12, 15]);
        assert_eq!(p.already, vec![10, 11, 1, 16]);
        assert_eq!(p.not_allowed.len(), 3);
        assert_eq!(
            p.not_allowed.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            vec![13, 14, 17]
        );
    }

    #[test]
    fn an_administrator_reaches_every_organization_but_not_itself() {
        let admin = actor(SystemRole::Administrator, OrgRole::StandardUser);
        let mut locked = account(21, "Other Org", "Operations Administrator");
        locked.locked = Some(true);
        let users = [
            account(20, "Other Org", "Administrator"),
            locked,
            account(22, HOME, "User"),
            account(1, HOME, "Administrator"),
            basic(23, "Third Org"),
        ];
        let refs: Vec<&User> = users.iter().collect();
        let p = preflight(
            &admin,
            &InstanceSettings::default(),
            BulkAction::Unlock,
            &refs,
        );
        assert_eq!(p.will_change, vec![21, 23]);
        assert_eq!(p.already, vec![20, 22, 1]);
        assert!(p.not_allowed.is_empty());
        let p = preflight(
            &admin,
            &InstanceSettings::default(),
            BulkAction::Delete,
            &refs,
        );
        assert_eq!(p.will_change, vec![20, 21, 22, 23]);
        assert_eq!(
            p.not_allowed,
            vec![(1, "you cannot delete your own account".to_string())]
        );
    }

    #[test]
    fn an_accounts_administrator_on_shared_cloud_changes_nothing() {
        let aa = actor(SystemRole::AccountsAdministrator, OrgRole::StandardUser);
        let shared = InstanceSettings {
            deployment: Deployment::SharedCloud,
            ..Default::default()
        };
        let users = [account(30, HOME, "User"), account(31, HOME, "Taxii User")];
        let refs: Vec<&User> = users.iter().collect();
        let p = preflight(&aa, &shared, BulkAction::ResetPassword, &refs);
        assert!(p.will_change.is_empty() && p.already.is_empty());
        assert_eq!(p.not_allowed.len(), 2);
        let p = preflight(
            &aa,
            &InstanceSettings::default(),
            BulkAction::ResetPassword,
            &refs,
        );
        assert_eq!(p.will_change, vec![30, 31]);
    }

    #[test]
    fn an_unknown_organization_is_judged_as_the_home_organization() {
        let oa = org_admin();
        let mut u = basic(40, HOME);
        u.owner = None;
        assert_eq!(target_of(&u, &oa).org, HOME);
        assert_eq!(
            verdict(&oa, &InstanceSettings::default(), BulkAction::ResetMfa, &u),
            Verdict::WillChange
        );
        // An unfamiliar System role is unknown too: the server decides.
        let mut odd = account(41, HOME, "Galactic Overlord");
        odd.two_factor_reset_required = Some(true);
        assert_eq!(target_of(&odd, &oa).system_role, None);
        assert_eq!(
            verdict(
                &oa,
                &InstanceSettings::default(),
                BulkAction::ResetMfa,
                &odd
            ),
            Verdict::AlreadyDone
        );
    }
}

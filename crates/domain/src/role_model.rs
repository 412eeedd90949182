//! One question asked of either role model: ThreatConnect's (an actor on an
//! instance, see `policy`) and Risk Quantifier's fixed matrix (`rq`).

use super::policy::{Actor, InstanceSettings};
use super::roles::{OrgRole, SystemRole};
use super::rq::{self, Capability, RqRole};

pub trait RoleModel {
    /// May create, edit or deactivate user accounts somewhere.
    fn may_manage_users(&self) -> bool;
    /// Sees, but changes nothing.
    fn is_read_only(&self) -> bool;
}

/// A ThreatConnect actor is judged on an instance: whether an Accounts
/// Administrator administers depends on the deployment.
impl RoleModel for (&Actor, &InstanceSettings) {
    fn may_manage_users(&self) -> bool {
        self.0.can_write_anything(self.1)
    }

    /// A Read Only User, by System role or Organization role. A Read Only
    /// Commenter is not: it writes comments.
    fn is_read_only(&self) -> bool {
        self.0.system_role == Some(SystemRole::ReadOnlyUser)
            || self.0.org_role == Some(OrgRole::ReadOnlyUser)
    }
}

impl RoleModel for RqRole {
    fn may_manage_users(&self) -> bool {
        self.scopes().iter().any(|&scope| {
            rq::capabilities(*self, scope)
                .into_iter()
                .any(Capability::is_user_management)
        })
    }

    fn is_read_only(&self) -> bool {
        self.scopes().iter().all(|&scope| {
            !rq::capabilities(*self, scope)
                .into_iter()
                .any(Capability::is_write)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Deployment;

    fn actor(system_role: SystemRole, org_role: OrgRole) -> Actor {
        Actor {
            id: Some(1),
            user_name: "a@example.com".into(),
            system_role: Some(system_role),
            org_role: Some(org_role),
            home_org: "Home".into(),
            ..Default::default()
        }
    }

    /// Counts the holders of each answer, whichever model they come from.
    fn tally(models: &[&dyn RoleModel]) -> (usize, usize) {
        (
            models.iter().filter(|m| m.may_manage_users()).count(),
            models.iter().filter(|m| m.is_read_only()).count(),
        )
    }

    #[test]
    fn both_models_answer_the_same_questions() {
        let on_premises = InstanceSettings::default();
        let shared = InstanceSettings {
            deployment: Deployment::SharedCloud,
            ..Default::default()
        };
        let admin = actor(SystemRole::Administrator, OrgRole::StandardUser);
        let org_admin = actor(SystemRole::User, OrgRole::OrganizationAdministrator);
        let accounts_admin = actor(SystemRole::AccountsAdministrator, OrgRole::StandardUser);
        let leader = actor(SystemRole::CommunityLeader, OrgRole::StandardUser);
        let read_only = actor(SystemRole::ReadOnlyUser, OrgRole::ReadOnlyUser);
        let commenter = actor(SystemRole::ReadOnlyUser, OrgRole::ReadOnlyCommenter);
        let analyst = actor(SystemRole::User, OrgRole::StandardUser);

        let tc: [(&dyn RoleModel, bool, bool); 8] = [
            (&(&admin, &on_premises), true, false),
            (&(&org_admin, &on_premises), true, false),
            (&(&accounts_admin, &on_premises), true, false),
            (&(&accounts_admin, &shared), false, false),
            (&(&leader, &on_premises), false, false),
            (&(&read_only, &on_premises), false, true),
            (&(&commenter, &on_premises), false, true),
            (&(&analyst, &on_premises), false, false),
        ];
        for (i, (model, manages, read_only)) in tc.iter().enumerate() {
            assert_eq!(model.may_manage_users(), *manages, "case {i}");
            assert_eq!(model.is_read_only(), *read_only, "case {i}");
        }

        use RqRole::*;
        for (role, manages, read_only) in [
            (EnterpriseAdministrator, true, false),
            (EnterpriseReadOnly, false, true),
            (ProAdministrator, true, false),
            (ProEditor, false, false),
            (ProReadOnly, false, true),
            (FairOnly, false, false),
            (ExportApi, false, true),
        ] {
            assert_eq!(role.may_manage_users(), manages, "{role:?}");
            assert_eq!(role.is_read_only(), read_only, "{role:?}");
        }

        let mixed: [&dyn RoleModel; 4] = [
            &(&admin, &on_premises),
            &(&read_only, &on_premises),
            &ProAdministrator,
            &ProReadOnly,
        ];
        assert_eq!(tally(&mixed), (2, 2));
    }
}

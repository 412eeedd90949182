//! The seed's examples and SPEC section 2 (rules 1 to 6) and the public-API
//! rule of section 4, each as a test of `policy`, plus a table over every
//! combination of actor, target, action and Organization that checks the
//! invariants no rule may break.

use super::limits::OrgLimits;
use super::policy::*;
use super::roles::{AccountType, OrgRole, SystemRole};

const HOME: &str = "Home Org";
const OTHER: &str = "Other Org";

fn actor(system_role: SystemRole, org_role: Option<OrgRole>) -> Actor {
    Actor {
        id: Some(1),
        user_name: "actor@example.com".into(),
        system_role: Some(system_role),
        org_role,
        home_org: HOME.into(),
        ..Default::default()
    }
}

/// An actor whose Organization role is Standard User, so only its System
/// role grants anything.
fn sys(role: SystemRole) -> Actor {
    actor(role, Some(OrgRole::StandardUser))
}

fn org_admin() -> Actor {
    actor(SystemRole::User, Some(OrgRole::OrganizationAdministrator))
}

fn api_actor(org_role: OrgRole) -> Actor {
    actor(SystemRole::ApiUser, Some(org_role))
}

fn target(role: SystemRole, org: &str) -> Target<'_> {
    Target {
        id: Some(2),
        user_name: "target@example.com",
        system_role: Some(role),
        org,
    }
}

fn own(actor: &Actor) -> Target<'_> {
    Target {
        id: actor.id,
        user_name: &actor.user_name,
        system_role: actor.system_role,
        org: &actor.home_org,
    }
}

fn on_premises() -> InstanceSettings {
    InstanceSettings::default()
}

fn deployed(deployment: Deployment) -> InstanceSettings {
    InstanceSettings {
        deployment,
        ..Default::default()
    }
}

fn refusal(verdict: Verdict) -> String {
    match verdict {
        Ok(()) => panic!("expected a refusal, got Ok"),
        Err(Refusal(reason)) => reason,
    }
}

const WRITES: [Action; 7] = [
    Action::Edit,
    Action::Delete,
    Action::Disable,
    Action::Enable,
    Action::Unlock,
    Action::ResetPassword,
    Action::ResetMfa,
];

const ALL_ACTIONS: [Action; 8] = [
    Action::View,
    Action::Edit,
    Action::Delete,
    Action::Disable,
    Action::Enable,
    Action::Unlock,
    Action::ResetPassword,
    Action::ResetMfa,
];

fn org_role_options() -> Vec<Option<OrgRole>> {
    std::iter::once(None)
        .chain(OrgRole::ALL.iter().copied().map(Some))
        .collect()
}

fn fields(
    actor: &Actor,
    instance: &InstanceSettings,
    kind: AccountType,
    mode: FormMode,
    role: SystemRole,
) -> Vec<Field> {
    form_fields(actor, instance, kind, mode, role)
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

fn access(
    actor: &Actor,
    kind: AccountType,
    mode: FormMode,
    role: SystemRole,
    field: Field,
) -> Option<FieldAccess> {
    form_fields(actor, &on_premises(), kind, mode, role)
        .into_iter()
        .find(|(f, _)| *f == field)
        .map(|(_, a)| a)
}

// ---------------------------------------------------------------- rule 1

#[test]
fn anyone_sees_own_account() {
    for &role in SystemRole::ALL {
        for org_role in org_role_options() {
            let a = actor(role, org_role);
            assert_eq!(may_view(&a, &own(&a)), Ok(()), "{role} {org_role:?}");
            assert_eq!(
                may(&a, &on_premises(), Action::View, &own(&a)),
                Ok(()),
                "{role} {org_role:?}"
            );
        }
    }
}

#[test]
fn home_organization_viewers_per_seed() {
    use SystemRole::*;
    let other_account = target(User, HOME);
    for role in [
        Administrator,
        OperationsAdministrator,
        AccountsAdministrator,
        CommunityLeader,
        SuperUser,
    ] {
        assert_eq!(may_view(&sys(role), &other_account), Ok(()), "{role}");
        assert!(sys(role).sees_home_org());
    }
    assert_eq!(may_view(&org_admin(), &other_account), Ok(()));
    assert!(org_admin().sees_home_org());
    for role in [User, ReadOnlyUser, TaxiiUser] {
        assert!(!sys(role).sees_home_org(), "{role}");
        assert!(may_view(&sys(role), &other_account).is_err(), "{role}");
    }
}

#[test]
fn a_plain_user_sees_only_itself() {
    let user = sys(SystemRole::User);
    assert_eq!(may_view(&user, &own(&user)), Ok(()));
    assert_eq!(
        refusal(may_view(&user, &target(SystemRole::User, HOME))),
        "a User sees only its own account"
    );
    assert_eq!(
        refusal(may(
            &user,
            &on_premises(),
            Action::Disable,
            &target(SystemRole::ReadOnlyUser, HOME)
        )),
        "a User sees only its own account"
    );
    assert!(!user.may_list_org(HOME));
    assert!(!user.may_list_org(OTHER));
    // An actor whose Organization role the instance did not return is
    // treated as having none.
    let unknown = actor(SystemRole::User, None);
    assert_eq!(
        refusal(may_view(&unknown, &target(SystemRole::User, HOME))),
        "a User sees only its own account"
    );
}

#[test]
fn all_organization_viewers_per_seed() {
    use SystemRole::*;
    for role in [Administrator, OperationsAdministrator, SuperUser] {
        assert!(sys(role).sees_all_orgs(), "{role}");
        assert!(sys(role).may_list_org(OTHER), "{role}");
        assert_eq!(may_view(&sys(role), &target(User, OTHER)), Ok(()), "{role}");
    }
    assert_eq!(
        refusal(may_view(&sys(AccountsAdministrator), &target(User, OTHER))),
        "an Accounts Administrator cannot see accounts of another Organization (Other Org)"
    );
    assert_eq!(
        refusal(may_view(&sys(CommunityLeader), &target(User, OTHER))),
        "a Community Leader cannot see accounts of another Organization (Other Org)"
    );
    assert_eq!(
        refusal(may_view(&org_admin(), &target(User, OTHER))),
        "an Organization Administrator cannot see accounts of another Organization (Other Org)"
    );
    for role in [AccountsAdministrator, CommunityLeader, User, ApiUser] {
        assert!(!sys(role).sees_all_orgs(), "{role}");
        assert!(!sys(role).may_list_org(OTHER), "{role}");
    }
    assert!(!org_admin().sees_all_orgs());
    assert!(org_admin().may_list_org(HOME));
}

#[test]
fn only_administrators_and_operations_administrators_see_the_system_role_column() {
    for &role in SystemRole::ALL {
        for org_role in org_role_options() {
            let expected = matches!(
                role,
                SystemRole::Administrator | SystemRole::OperationsAdministrator
            );
            assert_eq!(
                actor(role, org_role).sees_system_roles(),
                expected,
                "{role} {org_role:?}"
            );
        }
    }
}

// ---------------------------------------------------------------- rule 2

#[test]
fn home_organization_creators_per_seed() {
    use SystemRole::*;
    for a in [
        sys(Administrator),
        sys(OperationsAdministrator),
        sys(SuperUser),
        org_admin(),
    ] {
        for &kind in AccountType::ALL {
            assert_eq!(
                may_create(&a, &on_premises(), HOME, kind),
                Ok(()),
                "{} {kind}",
                a.system_role_name()
            );
        }
        assert!(a.can_write_anything(&on_premises()));
    }
}

#[test]
fn any_organization_creators_per_seed() {
    use SystemRole::*;
    for role in [Administrator, OperationsAdministrator, SuperUser] {
        for deployment in [
            Deployment::OnPremises,
            Deployment::DedicatedCloud,
            Deployment::SharedCloud,
        ] {
            assert_eq!(
                may_create(&sys(role), &deployed(deployment), OTHER, AccountType::User),
                Ok(()),
                "{role} {deployment:?}"
            );
        }
    }
}

#[test]
fn an_organization_administrator_administers_only_its_home_organization() {
    let oa = org_admin();
    assert_eq!(
        may_create(&oa, &on_premises(), HOME, AccountType::Api),
        Ok(())
    );
    assert_eq!(
        refusal(may_create(&oa, &on_premises(), OTHER, AccountType::User)),
        "an Organization Administrator administers accounts only in its home Organization (Home Org), not in Other Org"
    );
    for action in WRITES {
        assert_eq!(
            may(&oa, &on_premises(), action, &target(SystemRole::User, HOME)),
            Ok(()),
            "{action:?}"
        );
        assert_eq!(
            refusal(may(
                &oa,
                &on_premises(),
                action,
                &target(SystemRole::User, OTHER)
            )),
            "an Organization Administrator cannot see accounts of another Organization (Other Org)"
        );
    }
}

#[test]
fn an_accounts_administrator_creates_the_four_plain_types_in_its_home_organization() {
    let aa = sys(SystemRole::AccountsAdministrator);
    for deployment in [Deployment::OnPremises, Deployment::DedicatedCloud] {
        let instance = deployed(deployment);
        for &kind in AccountType::ALL {
            assert_eq!(
                may_create(&aa, &instance, HOME, kind),
                Ok(()),
                "{kind} {deployment:?}"
            );
        }
        assert_eq!(
            refusal(may_create(&aa, &instance, OTHER, AccountType::User)),
            "an Accounts Administrator administers accounts only in its home Organization (Home Org), not in Other Org"
        );
    }
    // Only the default System role of each type: User, Read Only User, API
    // and TAXII accounts.
    assert_eq!(
        may_assign_system_role(&aa, AccountType::User, SystemRole::User),
        Ok(())
    );
    assert_eq!(
        may_assign_system_role(&aa, AccountType::ReadOnly, SystemRole::ReadOnlyUser),
        Ok(())
    );
    assert_eq!(
        may_assign_system_role(&aa, AccountType::Api, SystemRole::ApiUser),
        Ok(())
    );
    assert_eq!(
        may_assign_system_role(&aa, AccountType::Taxii, SystemRole::TaxiiUser),
        Ok(())
    );
    assert_eq!(
        refusal(may_assign_system_role(
            &aa,
            AccountType::User,
            SystemRole::SuperUser
        )),
        "an Accounts Administrator cannot choose a System role; a new User gets User"
    );
    assert_eq!(
        refusal(may_assign_system_role(
            &aa,
            AccountType::Api,
            SystemRole::ExchangeAdmin
        )),
        "an Accounts Administrator cannot choose a System role; a new API User gets Api User"
    );
}

#[test]
fn an_accounts_administrator_administers_nothing_on_shared_cloud() {
    let aa = sys(SystemRole::AccountsAdministrator);
    let shared = deployed(Deployment::SharedCloud);
    let reason = "an Accounts Administrator administers accounts only on On Premises and Dedicated Cloud instances";
    for &kind in AccountType::ALL {
        assert_eq!(refusal(may_create(&aa, &shared, HOME, kind)), reason);
    }
    for action in WRITES {
        assert_eq!(
            refusal(may(&aa, &shared, action, &target(SystemRole::User, HOME))),
            reason
        );
    }
    // It still sees its home Organization there.
    assert_eq!(
        may(&aa, &shared, Action::View, &target(SystemRole::User, HOME)),
        Ok(())
    );
    assert!(!aa.can_write_anything(&shared));
    assert!(aa.can_write_anything(&on_premises()));
}

#[test]
fn an_accounts_administrator_edits_and_deletes_only_plain_accounts() {
    let aa = sys(SystemRole::AccountsAdministrator);
    for deployment in [Deployment::OnPremises, Deployment::DedicatedCloud] {
        let instance = deployed(deployment);
        for role in [
            SystemRole::User,
            SystemRole::ReadOnlyUser,
            SystemRole::ApiUser,
            SystemRole::ExchangeAdmin,
            SystemRole::TaxiiUser,
        ] {
            for action in WRITES {
                assert_eq!(
                    may(&aa, &instance, action, &target(role, HOME)),
                    Ok(()),
                    "{role} {action:?}"
                );
            }
        }
    }
    assert_eq!(
        refusal(may(
            &aa,
            &on_premises(),
            Action::Edit,
            &target(SystemRole::CommunityLeader, HOME)
        )),
        "an Accounts Administrator cannot edit a Community Leader; only User, Read Only User, API and TAXII accounts"
    );
    assert_eq!(
        refusal(may(
            &aa,
            &on_premises(),
            Action::Delete,
            &target(SystemRole::AccountsAdministrator, HOME)
        )),
        "an Accounts Administrator cannot delete an Accounts Administrator; only User, Read Only User, API and TAXII accounts"
    );
    // As an Organization Administrator too, the Organization role governs.
    let both = actor(
        SystemRole::AccountsAdministrator,
        Some(OrgRole::OrganizationAdministrator),
    );
    assert_eq!(
        may(
            &both,
            &on_premises(),
            Action::Edit,
            &target(SystemRole::CommunityLeader, HOME)
        ),
        Ok(())
    );
}

#[test]
fn an_accounts_administrator_cannot_edit_or_delete_higher_administrators() {
    let aa = sys(SystemRole::AccountsAdministrator);
    for (role, text) in [
        (SystemRole::Administrator, "an Administrator"),
        (
            SystemRole::OperationsAdministrator,
            "an Operations Administrator",
        ),
    ] {
        for (action, verb) in [(Action::Edit, "edit"), (Action::Delete, "delete")] {
            assert_eq!(
                refusal(may(&aa, &on_premises(), action, &target(role, HOME))),
                format!("an Accounts Administrator cannot {verb} {text}")
            );
        }
    }
}

#[test]
fn a_community_leader_sees_but_cannot_create() {
    let cl = sys(SystemRole::CommunityLeader);
    assert_eq!(may_view(&cl, &target(SystemRole::User, HOME)), Ok(()));
    for &kind in AccountType::ALL {
        assert_eq!(
            refusal(may_create(&cl, &on_premises(), HOME, kind)),
            "a Community Leader cannot administer user accounts"
        );
    }
    for action in WRITES {
        assert_eq!(
            refusal(may(
                &cl,
                &on_premises(),
                action,
                &target(SystemRole::User, HOME)
            )),
            "a Community Leader cannot administer user accounts"
        );
    }
    assert!(!cl.can_write_anything(&on_premises()));
}

#[test]
fn plain_roles_administer_nothing() {
    for role in [
        SystemRole::User,
        SystemRole::ReadOnlyUser,
        SystemRole::TaxiiUser,
    ] {
        for org_role in [
            Some(OrgRole::SharingUser),
            Some(OrgRole::StandardUser),
            Some(OrgRole::AppDeveloper),
            Some(OrgRole::ReadOnlyCommenter),
            Some(OrgRole::ReadOnlyUser),
            None,
        ] {
            let a = actor(role, org_role);
            assert_eq!(
                refusal(may_create(&a, &on_premises(), HOME, AccountType::User)),
                format!("{} cannot administer user accounts", role.with_article())
            );
            assert!(!a.can_write_anything(&on_premises()));
        }
    }
}

// ------------------------------------------------- one's own account

#[test]
fn nobody_deletes_or_disables_its_own_account() {
    for role in [
        SystemRole::Administrator,
        SystemRole::OperationsAdministrator,
        SystemRole::SuperUser,
    ] {
        let a = sys(role);
        assert_eq!(
            refusal(may(&a, &on_premises(), Action::Delete, &own(&a))),
            "you cannot delete your own account"
        );
        assert_eq!(
            refusal(may(&a, &on_premises(), Action::Disable, &own(&a))),
            "you cannot disable your own account"
        );
        assert_eq!(may(&a, &on_premises(), Action::Edit, &own(&a)), Ok(()));
    }
}

#[test]
fn a_user_edits_its_own_account_but_administers_nothing_else_on_it() {
    let user = sys(SystemRole::User);
    assert_eq!(
        may(&user, &on_premises(), Action::Edit, &own(&user)),
        Ok(())
    );
    assert_eq!(
        refusal(may(&user, &on_premises(), Action::Unlock, &own(&user))),
        "a User cannot administer user accounts"
    );
}

#[test]
fn self_is_recognised_by_name_when_ids_are_missing() {
    let mut a = sys(SystemRole::Administrator);
    a.id = None;
    let me = Target {
        id: Some(99),
        user_name: "actor@example.com",
        system_role: Some(SystemRole::Administrator),
        org: HOME,
    };
    assert_eq!(
        refusal(may(&a, &on_premises(), Action::Delete, &me)),
        "you cannot delete your own account"
    );
}

// ---------------------------------------------------------------- rule 3

#[test]
fn an_operations_administrator_cannot_edit_an_administrator() {
    let ops = sys(SystemRole::OperationsAdministrator);
    assert_eq!(
        refusal(may(
            &ops,
            &on_premises(),
            Action::Edit,
            &target(SystemRole::Administrator, HOME)
        )),
        "an Operations Administrator cannot edit an Administrator"
    );
    assert_eq!(
        refusal(may(
            &ops,
            &on_premises(),
            Action::Delete,
            &target(SystemRole::Administrator, OTHER)
        )),
        "an Operations Administrator cannot delete an Administrator"
    );
    // It can still see the Administrator.
    assert_eq!(
        may(
            &ops,
            &on_premises(),
            Action::View,
            &target(SystemRole::Administrator, OTHER)
        ),
        Ok(())
    );
}

#[test]
fn equal_and_lower_roles_are_editable() {
    let ops = sys(SystemRole::OperationsAdministrator);
    for role in [
        SystemRole::OperationsAdministrator,
        SystemRole::SuperUser,
        SystemRole::AccountsAdministrator,
        SystemRole::CommunityLeader,
        SystemRole::User,
    ] {
        assert_eq!(
            may(&ops, &on_premises(), Action::Delete, &target(role, OTHER)),
            Ok(()),
            "{role}"
        );
    }
    let admin = sys(SystemRole::Administrator);
    for &role in SystemRole::ALL {
        assert_eq!(
            may(&admin, &on_premises(), Action::Edit, &target(role, OTHER)),
            Ok(()),
            "{role}"
        );
    }
    assert_eq!(
        refusal(may(
            &sys(SystemRole::SuperUser),
            &on_premises(),
            Action::Edit,
            &target(SystemRole::OperationsAdministrator, HOME)
        )),
        "a Super User cannot edit an Operations Administrator"
    );
    assert_eq!(
        refusal(may(
            &org_admin(),
            &on_premises(),
            Action::ResetPassword,
            &target(SystemRole::SuperUser, HOME)
        )),
        "a User cannot require a password reset for a Super User"
    );
}

#[test]
fn an_unseen_target_role_leaves_the_decision_to_the_server() {
    let oa = org_admin();
    let unseen = Target {
        id: Some(5),
        user_name: "who@example.com",
        system_role: None,
        org: HOME,
    };
    assert_eq!(may(&oa, &on_premises(), Action::Disable, &unseen), Ok(()));
}

#[test]
fn nobody_grants_a_role_above_its_own() {
    let ops = sys(SystemRole::OperationsAdministrator);
    assert_eq!(
        refusal(may_assign_system_role(
            &ops,
            AccountType::User,
            SystemRole::Administrator
        )),
        "an Operations Administrator cannot grant the System role Administrator"
    );
    assert_eq!(
        may_assign_system_role(&ops, AccountType::User, SystemRole::SuperUser),
        Ok(())
    );
    let admin = sys(SystemRole::Administrator);
    for &kind in AccountType::ALL {
        for &role in kind.system_roles() {
            assert_eq!(
                may_assign_system_role(&admin, kind, role),
                Ok(()),
                "{kind} {role}"
            );
        }
    }
}

#[test]
fn a_type_holds_only_its_own_system_roles() {
    let admin = sys(SystemRole::Administrator);
    assert_eq!(
        refusal(may_assign_system_role(
            &admin,
            AccountType::Api,
            SystemRole::Administrator
        )),
        "an API User cannot have the System role Administrator"
    );
    assert_eq!(
        refusal(may_assign_system_role(
            &admin,
            AccountType::Taxii,
            SystemRole::User
        )),
        "a TAXII User cannot have the System role User"
    );
}

// ---------------------------------------------------------------- rule 4

#[test]
fn system_role_and_custom_tql_timeout_only_for_administrator_and_operations_administrator() {
    for &role in SystemRole::ALL {
        let a = sys(role);
        let chooser = matches!(
            role,
            SystemRole::Administrator | SystemRole::OperationsAdministrator
        );
        assert_eq!(a.chooses_system_roles(), chooser, "{role}");
        for kind in [AccountType::User, AccountType::ReadOnly, AccountType::Api] {
            for mode in [FormMode::Create, FormMode::Edit] {
                let f = fields(&a, &on_premises(), kind, mode, kind.default_system_role());
                assert_eq!(f.contains(&Field::SystemRole), chooser, "{role} {kind}");
                assert_eq!(
                    f.contains(&Field::CustomTqlTimeout),
                    chooser,
                    "{role} {kind}"
                );
            }
        }
    }
    // An Organization Administrator does not choose either.
    let f = fields(
        &org_admin(),
        &on_premises(),
        AccountType::User,
        FormMode::Create,
        SystemRole::User,
    );
    assert!(!f.contains(&Field::SystemRole) && !f.contains(&Field::CustomTqlTimeout));
}

#[test]
fn a_non_chooser_gets_the_default_system_role() {
    let oa = org_admin();
    assert_eq!(
        refusal(may_assign_system_role(
            &oa,
            AccountType::User,
            SystemRole::AccountsAdministrator
        )),
        "an Organization Administrator cannot choose a System role; a new User gets User"
    );
    for &kind in AccountType::ALL {
        assert_eq!(
            may_assign_system_role(&oa, kind, kind.default_system_role()),
            Ok(()),
            "{kind}"
        );
    }
}

#[test]
fn terms_of_service_only_for_choosers_and_only_when_the_instance_requires_it() {
    let terms = InstanceSettings {
        terms_of_service_required: true,
        ..Default::default()
    };
    for &role in SystemRole::ALL {
        let chooser = sys(role).chooses_system_roles();
        for (instance, required) in [(&terms, true), (&on_premises(), false)] {
            let f = fields(
                &sys(role),
                instance,
                AccountType::User,
                FormMode::Create,
                SystemRole::User,
            );
            assert_eq!(
                f.contains(&Field::TermsRequired),
                chooser && required,
                "{role} required={required}"
            );
        }
    }
}

#[test]
fn no_password_and_no_log_out_after_on_saml() {
    let saml = InstanceSettings {
        saml_enabled: true,
        ..Default::default()
    };
    let admin = sys(SystemRole::Administrator);
    for mode in [FormMode::Create, FormMode::Edit] {
        for kind in [AccountType::User, AccountType::ReadOnly] {
            let f = fields(&admin, &saml, kind, mode, kind.default_system_role());
            assert!(!f.contains(&Field::Password), "{kind} {mode:?}");
            assert!(!f.contains(&Field::LogOutAfter), "{kind} {mode:?}");
            let f = fields(
                &admin,
                &on_premises(),
                kind,
                mode,
                kind.default_system_role(),
            );
            assert!(f.contains(&Field::Password), "{kind} {mode:?}");
            assert!(f.contains(&Field::LogOutAfter), "{kind} {mode:?}");
        }
    }
}

#[test]
fn send_account_info_email_only_at_create() {
    for a in [sys(SystemRole::Administrator), org_admin()] {
        let create = fields(
            &a,
            &on_premises(),
            AccountType::User,
            FormMode::Create,
            SystemRole::User,
        );
        let edit = fields(
            &a,
            &on_premises(),
            AccountType::User,
            FormMode::Edit,
            SystemRole::User,
        );
        assert!(create.contains(&Field::SendAccountInfoEmail));
        assert!(!edit.contains(&Field::SendAccountInfoEmail));
        // Otherwise the edit window is the create window.
        let without: Vec<Field> = create
            .into_iter()
            .filter(|f| *f != Field::SendAccountInfoEmail)
            .collect();
        assert_eq!(without, edit);
    }
}

#[test]
fn the_user_form_in_the_web_ui_order() {
    use Field::*;
    let terms = InstanceSettings {
        terms_of_service_required: true,
        ..Default::default()
    };
    assert_eq!(
        fields(
            &sys(super::roles::SystemRole::Administrator),
            &terms,
            AccountType::User,
            FormMode::Create,
            super::roles::SystemRole::User
        ),
        vec![
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
        ]
    );
    assert_eq!(
        fields(
            &org_admin(),
            &InstanceSettings {
                saml_enabled: true,
                ..Default::default()
            },
            AccountType::User,
            FormMode::Edit,
            super::roles::SystemRole::User
        ),
        vec![
            Email,
            FirstName,
            LastName,
            OrgRole,
            Groups,
            Locked,
            Disabled,
            PasswordResetRequired,
            MfaResetRequired,
            TimeZone,
            SummaryEmailTime,
        ]
    );
}

#[test]
fn the_api_and_taxii_forms() {
    use Field::*;
    assert_eq!(
        fields(
            &sys(super::roles::SystemRole::Administrator),
            &on_premises(),
            AccountType::Api,
            FormMode::Create,
            super::roles::SystemRole::ApiUser
        ),
        vec![
            FirstName,
            LastName,
            SystemRole,
            OrgRole,
            TokenExpirationDays,
            Disabled,
            IncludeInObservations,
            AllowExceedApiLinkLimit,
            CustomTqlTimeout,
        ]
    );
    assert_eq!(
        fields(
            &org_admin(),
            &on_premises(),
            AccountType::Api,
            FormMode::Edit,
            super::roles::SystemRole::ApiUser
        ),
        vec![
            FirstName,
            LastName,
            OrgRole,
            TokenExpirationDays,
            Disabled,
            IncludeInObservations,
            AllowExceedApiLinkLimit,
        ]
    );
    assert_eq!(
        fields(
            &sys(super::roles::SystemRole::Administrator),
            &on_premises(),
            AccountType::Taxii,
            FormMode::Create,
            super::roles::SystemRole::TaxiiUser
        ),
        vec![FirstName, LastName, OrgRole, Disabled]
    );
    assert_eq!(
        access(
            &org_admin(),
            AccountType::Taxii,
            FormMode::Create,
            super::roles::SystemRole::TaxiiUser,
            Field::OrgRole
        ),
        Some(FieldAccess::Locked(
            "a TAXII User is always Standard User".into()
        ))
    );
}

#[test]
fn the_account_name_is_fixed_once_created() {
    assert_eq!(
        access(
            &org_admin(),
            AccountType::User,
            FormMode::Create,
            SystemRole::User,
            Field::Email
        ),
        Some(FieldAccess::Editable)
    );
    assert_eq!(
        access(
            &org_admin(),
            AccountType::User,
            FormMode::Edit,
            SystemRole::User,
            Field::Email
        ),
        Some(FieldAccess::Locked(
            "the account name cannot be changed".into()
        ))
    );
}

// ---------------------------------------------------------------- rule 5

#[test]
fn a_super_user_is_always_organization_administrator() {
    for a in [
        sys(SystemRole::Administrator),
        sys(SystemRole::OperationsAdministrator),
    ] {
        for mode in [FormMode::Create, FormMode::Edit] {
            assert_eq!(
                access(
                    &a,
                    AccountType::User,
                    mode,
                    SystemRole::SuperUser,
                    Field::OrgRole
                ),
                Some(FieldAccess::Locked(
                    "a Super User is always Organization Administrator".into()
                ))
            );
            assert_eq!(
                access(
                    &a,
                    AccountType::User,
                    mode,
                    SystemRole::User,
                    Field::OrgRole
                ),
                Some(FieldAccess::Editable)
            );
        }
    }
    assert_eq!(
        forced_org_role(AccountType::User, SystemRole::SuperUser),
        Some(OrgRole::OrganizationAdministrator)
    );
    assert_eq!(
        check_org_role(
            AccountType::User,
            SystemRole::SuperUser,
            OrgRole::OrganizationAdministrator
        ),
        Ok(())
    );
    for &role in OrgRole::ALL {
        if role != OrgRole::OrganizationAdministrator {
            assert_eq!(
                refusal(check_org_role(
                    AccountType::User,
                    SystemRole::SuperUser,
                    role
                )),
                "a Super User is always Organization Administrator"
            );
        }
    }
}

#[test]
fn organization_roles_per_account_type() {
    assert_eq!(
        refusal(check_org_role(
            AccountType::Taxii,
            SystemRole::TaxiiUser,
            OrgRole::OrganizationAdministrator
        )),
        "a TAXII User is always Standard User"
    );
    assert_eq!(
        check_org_role(
            AccountType::Taxii,
            SystemRole::TaxiiUser,
            OrgRole::StandardUser
        ),
        Ok(())
    );
    // Read Only User: Read Only User or Read Only Commenter, whichever button
    // created it.
    for kind in [AccountType::ReadOnly, AccountType::User] {
        for role in [OrgRole::ReadOnlyUser, OrgRole::ReadOnlyCommenter] {
            assert_eq!(
                check_org_role(kind, SystemRole::ReadOnlyUser, role),
                Ok(()),
                "{kind} {role}"
            );
        }
        assert_eq!(
            refusal(check_org_role(
                kind,
                SystemRole::ReadOnlyUser,
                OrgRole::StandardUser
            )),
            "a Read Only User cannot have the Organization role Standard User"
        );
    }
    for &role in OrgRole::ALL {
        assert_eq!(
            check_org_role(AccountType::User, SystemRole::User, role),
            Ok(()),
            "{role}"
        );
        assert_eq!(
            check_org_role(AccountType::Api, SystemRole::ApiUser, role),
            Ok(()),
            "{role}"
        );
    }
}

// ---------------------------------------------------------------- rule 6

#[test]
fn create_is_offered_only_while_seats_remain() {
    let oa = org_admin();
    let limits = OrgLimits {
        organization: HOME.into(),
        user_limit: Some(10),
        api_limit: Some(2),
        taxii_limit: None,
        users: 10,
        api_users: 1,
        taxii_users: 4,
        read_only_users: 30,
    };
    let offered =
        |kind| may_create(&oa, &on_premises(), HOME, kind).is_ok() && limits.allows_create(kind);
    assert!(!offered(AccountType::User));
    assert!(offered(AccountType::Api));
    assert!(offered(AccountType::Taxii));
    // Read Only Users do not count against the User Limit.
    assert!(offered(AccountType::ReadOnly));
    assert_eq!(limits.remaining(AccountType::User), Some(0));
    assert_eq!(limits.remaining(AccountType::Api), Some(1));
    assert_eq!(limits.remaining(AccountType::Taxii), None);
}

// ---------------------------------------------------- public-API rule

#[test]
fn only_an_organization_administrator_api_user_writes() {
    for org_role in [
        OrgRole::SharingUser,
        OrgRole::StandardUser,
        OrgRole::AppDeveloper,
        OrgRole::ReadOnlyCommenter,
        OrgRole::ReadOnlyUser,
    ] {
        let api = api_actor(org_role);
        assert_eq!(
            refusal(may_create(&api, &on_premises(), HOME, AccountType::User)),
            format!(
                "an API user with Organization role {org_role} cannot create, edit or delete users through the API; only an Organization Administrator API user can"
            )
        );
        assert!(!api.can_write_anything(&on_premises()));
        // Not even its own account: through the API only an Organization
        // Administrator API user updates users.
        assert!(may(&api, &on_premises(), Action::Edit, &own(&api)).is_err());
        assert_eq!(may(&api, &on_premises(), Action::View, &own(&api)), Ok(()));
    }
    let api = actor(SystemRole::ApiUser, None);
    assert_eq!(
        refusal(may_create(&api, &on_premises(), HOME, AccountType::Api)),
        "an API user cannot create, edit or delete users through the API; only an Organization Administrator API user can"
    );
}

#[test]
fn an_api_organization_administrator_writes_plain_accounts_in_its_home_organization() {
    for api in [
        api_actor(OrgRole::OrganizationAdministrator),
        actor(
            SystemRole::ExchangeAdmin,
            Some(OrgRole::OrganizationAdministrator),
        ),
    ] {
        for &kind in AccountType::ALL {
            assert_eq!(may_create(&api, &on_premises(), HOME, kind), Ok(()));
        }
        for role in [
            SystemRole::User,
            SystemRole::ReadOnlyUser,
            SystemRole::ApiUser,
            SystemRole::TaxiiUser,
        ] {
            for action in WRITES {
                assert_eq!(
                    may(&api, &on_premises(), action, &target(role, HOME)),
                    Ok(()),
                    "{role} {action:?}"
                );
            }
        }
        assert_eq!(may(&api, &on_premises(), Action::Edit, &own(&api)), Ok(()));
        assert!(may(
            &api,
            &on_premises(),
            Action::Edit,
            &target(SystemRole::User, OTHER)
        )
        .is_err());
    }
}

#[test]
fn an_api_user_never_writes_the_protected_roles() {
    let api = api_actor(OrgRole::OrganizationAdministrator);
    for role in [
        SystemRole::Administrator,
        SystemRole::CommunityLeader,
        SystemRole::OperationsAdministrator,
        SystemRole::SuperUser,
    ] {
        for action in WRITES {
            assert_eq!(
                refusal(may(&api, &on_premises(), action, &target(role, HOME))),
                format!(
                    "an API user cannot {} {} through the API",
                    action.verb(),
                    role.with_article()
                )
            );
        }
        assert_eq!(
            may(&api, &on_premises(), Action::View, &target(role, HOME)),
            Ok(())
        );
    }
    assert_eq!(
        refusal(may(
            &api,
            &on_premises(),
            Action::Edit,
            &target(SystemRole::Administrator, HOME)
        )),
        "an API user cannot edit an Administrator through the API"
    );
    // The hierarchy still covers the Accounts Administrator.
    assert_eq!(
        refusal(may(
            &api,
            &on_premises(),
            Action::Delete,
            &target(SystemRole::AccountsAdministrator, HOME)
        )),
        "an Api User cannot delete an Accounts Administrator"
    );
}

// ------------------------------------------- every combination at once

#[test]
fn invariants_hold_for_every_combination() {
    let mut cases = 0usize;
    let mut allowed_writes = 0usize;
    for deployment in [
        Deployment::OnPremises,
        Deployment::DedicatedCloud,
        Deployment::SharedCloud,
    ] {
        let instance = deployed(deployment);
        for &actor_role in SystemRole::ALL {
            for actor_org_role in org_role_options() {
                let a = actor(actor_role, actor_org_role);
                let targets =
                    std::iter::once(None).chain(SystemRole::ALL.iter().copied().map(Some));
                for target_role in targets {
                    for action in ALL_ACTIONS {
                        for org in [HOME, OTHER] {
                            cases += 1;
                            let t = Target {
                                id: Some(2),
                                user_name: "target@example.com",
                                system_role: target_role,
                                org,
                            };
                            let verdict = may(&a, &instance, action, &t);
                            let case = format!(
                                "{actor_role} / {actor_org_role:?} -> {action:?} {target_role:?} in {org} ({deployment:?})"
                            );
                            check_refusal_text(&verdict, &case);
                            if verdict.is_err() || !action.is_write() {
                                continue;
                            }
                            allowed_writes += 1;
                            if let Some(role) = target_role {
                                assert!(!role.outranks(actor_role), "higher-ranked target: {case}");
                            }
                            if org == OTHER {
                                assert!(
                                    matches!(
                                        actor_role,
                                        SystemRole::Administrator
                                            | SystemRole::OperationsAdministrator
                                            | SystemRole::SuperUser
                                    ),
                                    "write in another Organization: {case}"
                                );
                            }
                            let org_admin =
                                actor_org_role == Some(OrgRole::OrganizationAdministrator);
                            if AccountType::of(actor_role) == AccountType::Api {
                                assert!(
                                    org_admin,
                                    "API user without Organization Administrator: {case}"
                                );
                                assert!(
                                    !matches!(
                                        target_role,
                                        Some(
                                            SystemRole::Administrator
                                                | SystemRole::CommunityLeader
                                                | SystemRole::OperationsAdministrator
                                                | SystemRole::SuperUser
                                        )
                                    ),
                                    "API user writing a protected role: {case}"
                                );
                            }
                            if actor_role == SystemRole::AccountsAdministrator && !org_admin {
                                assert_ne!(deployment, Deployment::SharedCloud, "{case}");
                            }
                            if !org_admin
                                && matches!(
                                    actor_role,
                                    SystemRole::CommunityLeader
                                        | SystemRole::User
                                        | SystemRole::ReadOnlyUser
                                        | SystemRole::TaxiiUser
                                )
                            {
                                panic!("writes without an administrative role: {case}");
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cases, 3 * 10 * 7 * 11 * 8 * 2);
    assert!(allowed_writes > 0);

    // The other entry points keep the same wording rules.
    for &actor_role in SystemRole::ALL {
        for actor_org_role in org_role_options() {
            let a = actor(actor_role, actor_org_role);
            for &kind in AccountType::ALL {
                for org in [HOME, OTHER] {
                    for deployment in [Deployment::OnPremises, Deployment::SharedCloud] {
                        let verdict = may_create(&a, &deployed(deployment), org, kind);
                        check_refusal_text(&verdict, &format!("create {kind} in {org}"));
                    }
                }
                for &role in SystemRole::ALL {
                    let verdict = may_assign_system_role(&a, kind, role);
                    check_refusal_text(&verdict, &format!("assign {role} to {kind}"));
                    if verdict.is_ok() {
                        assert!(!role.outranks(actor_role) || role == kind.default_system_role());
                    }
                }
                for &role in OrgRole::ALL {
                    let verdict = check_org_role(kind, kind.default_system_role(), role);
                    check_refusal_text(&verdict, &format!("org role {role} for {kind}"));
                }
            }
        }
    }
}

fn check_refusal_text(verdict: &Verdict, case: &str) {
    if let Err(Refusal(reason)) = verdict {
        assert!(!reason.is_empty(), "empty refusal: {case}");
        assert!(
            reason.starts_with("a ") || reason.starts_with("an ") || reason.starts_with("you "),
            "refusal {reason:?} does not start with an article or \"you\": {case}"
        );
        // Articles go by sound: never "an User" or "a Administrator".
        for (name, right) in [
            ("Administrator", "an"),
            ("Operations Administrator", "an"),
            ("Accounts Administrator", "an"),
            ("Community Leader", "a"),
            ("Super User", "a"),
            ("User", "a"),
            ("Read Only User", "a"),
            ("Api User", "an"),
            ("Exchange Admin", "an"),
            ("Taxii User", "a"),
        ] {
            let wrong = if right == "an" { "a" } else { "an" };
            let wrong = format!("{wrong} {name}");
            assert!(
                !reason.contains(&wrong),
                "{reason:?} says {wrong:?}: {case}"
            );
        }
    }
}

/// A role rollcall does not know (a newer System role, a custom
/// Organization role) is neither a refusal nor a permission: the policy
/// leaves the decision to the server, and names the role as the instance does.
#[test]
fn unknown_roles_leave_the_decision_to_the_server() {
    let newer = Actor {
        system_role: None,
        custom_system_role: Some("Galactic Overlord".into()),
        org_role: Some(OrgRole::StandardUser),
        ..actor(SystemRole::User, None)
    };
    let custom_org = Actor {
        org_role: None,
        custom_org_role: Some("Example Org Custom Role".into()),
        ..actor(SystemRole::User, None)
    };
    let plain_user = sys(SystemRole::User);
    let settings = on_premises();
    for undecided in [&newer, &custom_org] {
        assert!(undecided.roles_undecided());
        let known_hierarchy_applies = undecided.system_role.is_some();
        for role in [SystemRole::Administrator, SystemRole::User] {
            if known_hierarchy_applies && role == SystemRole::Administrator {
                // Rule 3 is about System roles, which are known here.
                assert_eq!(
                    may(undecided, &settings, Action::Edit, &target(role, HOME)),
                    Err(Refusal("a User cannot edit an Administrator".into()))
                );
                continue;
            }
            for org in [HOME, OTHER] {
                for action in [Action::View, Action::Edit, Action::Delete, Action::Disable] {
                    assert_eq!(
                        may(undecided, &settings, action, &target(role, org)),
                        Ok(()),
                        "{action:?} {role} in {org}"
                    );
                }
            }
        }
        assert_eq!(
            may_create(undecided, &settings, OTHER, AccountType::User),
            Ok(())
        );
        // Choices that need a known privileged role are not offered.
        assert!(!undecided.chooses_system_roles());
    }
    // A known role is still judged: the same target is refused to a User.
    assert!(may(
        &plain_user,
        &settings,
        Action::Edit,
        &target(SystemRole::User, HOME)
    )
    .is_err());
    assert!(!plain_user.roles_undecided());
    assert_eq!(newer.system_role_name(), "Galactic Overlord");
    assert_eq!(newer.who(), "an account with System role Galactic Overlord");
    assert_eq!(custom_org.org_role_name(), Some("Example Org Custom Role"));
}

fn body(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// A flag is its own action, anything else an edit; flags first, in one
/// order whatever the body's.
#[test]
fn implied_actions_follow_the_body() {
    use serde_json::json;
    assert_eq!(
        implied_actions(&body(
            json!({"passwordResetRequired": true, "locked": false, "disabled": true})
        )),
        vec![Action::Disable, Action::Unlock, Action::ResetPassword]
    );
    assert_eq!(
        implied_actions(&body(
            json!({"disabled": false, "twoFactorResetRequired": true})
        )),
        vec![Action::Enable, Action::ResetMfa]
    );
    assert_eq!(
        implied_actions(&body(json!({"firstName": "Pat", "disabled": true}))),
        vec![Action::Disable, Action::Edit]
    );
    // Locking, clearing a reset and a flag that is not a boolean are edits.
    for flag in [
        json!({"locked": true}),
        json!({"passwordResetRequired": false}),
        json!({"twoFactorResetRequired": false}),
        json!({"disabled": "yes"}),
    ] {
        assert_eq!(implied_actions(&body(flag)), vec![Action::Edit]);
    }
    // An empty update is still an edit, not a free one.
    assert_eq!(implied_actions(&body(json!({}))), vec![Action::Edit]);
}

/// The refusal names the flag, not the edit: the wording the server uses.
#[test]
fn an_update_is_judged_by_what_it_implies() {
    use serde_json::json;
    let settings = InstanceSettings::default();
    let accounts = sys(SystemRole::AccountsAdministrator);
    let boss = target(SystemRole::Administrator, HOME);
    let refused = |change: serde_json::Value| {
        may_update(&accounts, &settings, &boss, AccountType::User, &change).map_err(|r| r.0)
    };
    assert_eq!(
        refused(json!({"disabled": true})),
        Err("an Accounts Administrator cannot disable an Administrator".to_string())
    );
    assert_eq!(
        refused(json!({"firstName": "X"})),
        Err("an Accounts Administrator cannot edit an Administrator".to_string())
    );
    // One's own account: an edit is allowed, a disable or a role change not.
    let me = sys(SystemRole::User);
    let own_change = |change: serde_json::Value| {
        may_update(&me, &settings, &own(&me), AccountType::User, &change).map_err(|r| r.0)
    };
    assert_eq!(own_change(json!({"firstName": "Me"})), Ok(()));
    assert_eq!(
        own_change(json!({"disabled": true})),
        Err("you cannot disable your own account".to_string())
    );
    assert!(own_change(json!({"systemRole": "Administrator"})).is_err());
}

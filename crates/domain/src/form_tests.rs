//! The form model: fields and defaults per admin and type, pick lists,
//! rule 5, rule 7, validation messages, `--set` keys, bodies.

use super::*;
use crate::policy::PasswordPolicy;
use Field as F;
use Field::{
    AllowExceedApiLinkLimit, CustomTqlTimeout, Disabled, Email, FirstName, Groups,
    IncludeInObservations, LastName, Locked, LogOutAfter, MfaResetRequired, PasswordResetRequired,
    SendAccountInfoEmail, SummaryEmailTime, TermsRequired, TimeZone, TokenExpirationDays,
};

const DEMO: &str = "Demo Organization";

fn actor(system_role: SystemRole, org_role: OrgRole) -> Actor {
    Actor {
        id: Some(1),
        user_name: "me".into(),
        system_role: Some(system_role),
        org_role: Some(org_role),
        home_org: DEMO.into(),
        ..Default::default()
    }
}

fn administrator() -> Actor {
    actor(SystemRole::Administrator, OrgRole::StandardUser)
}

fn operations_administrator() -> Actor {
    actor(SystemRole::OperationsAdministrator, OrgRole::StandardUser)
}

fn org_admin() -> Actor {
    actor(SystemRole::User, OrgRole::OrganizationAdministrator)
}

fn accounts_admin() -> Actor {
    actor(SystemRole::AccountsAdministrator, OrgRole::StandardUser)
}

/// The sandbox's defaults: On Premises, Terms of Service required, no SAML.
fn settings() -> InstanceSettings {
    InstanceSettings {
        terms_of_service_required: true,
        password_max_age_days: Some(90),
        ..Default::default()
    }
}

fn saml() -> InstanceSettings {
    InstanceSettings {
        saml_enabled: true,
        ..settings()
    }
}

fn fields_of(form: &AccountForm) -> Vec<Field> {
    form.layout().into_iter().map(|(f, _)| f).collect()
}

fn groups() -> Vec<GroupRef> {
    ["SOC Team", "IR Team", "Threat Intel"]
        .iter()
        .enumerate()
        .map(|(i, n)| GroupRef {
            id: i as i64 + 1,
            name: n.to_string(),
        })
        .collect()
}

/// A complete, valid create form.
fn filled(actor: &Actor, kind: AccountType) -> AccountForm {
    let mut form = AccountForm::create(actor, &settings(), kind, DEMO);
    form.set_group_options(groups());
    if matches!(kind, AccountType::User | AccountType::ReadOnly) {
        form.set_from_text("email", "pat.jones@example.com")
            .unwrap();
        form.set_from_text("password", "Secr3tpass").unwrap();
    }
    form.set_from_text("firstName", "Pat").unwrap();
    form.set_from_text("lastName", "Jones").unwrap();
    form
}

fn existing_user() -> User {
    User {
        id: 42,
        user_name: "pat.jones@example.com".into(),
        first_name: Some("Pat".into()),
        last_name: Some("Jones".into()),
        owner: Some(DEMO.into()),
        system_role: Some("User".into()),
        owner_roles: Some(crate::OwnerRoles::from([
            (DEMO.to_string(), "Standard User".to_string()),
            ("Demo Community".to_string(), "Director".to_string()),
        ])),
        disabled: Some(false),
        locked: Some(false),
        password_reset_required: Some(false),
        two_factor_reset_required: Some(false),
        terms_accepted: Some(true),
        logout_interval_minutes: Some(30),
        custom_tql_timeout: Some(crate::TqlTimeoutWire::Millis(0)),
        user_groups: Some(vec![GroupRef {
            id: 1,
            name: "SOC Team".into(),
        }]),
        time_zone: Some("Europe/Berlin".into()),
        summary_email_time: Some("08:00".into()),
        ..Default::default()
    }
}

fn api_user() -> User {
    User {
        id: 19,
        user_name: "10000000000000000019".into(),
        first_name: Some("Feed".into()),
        last_name: Some("Bot".into()),
        owner: Some(DEMO.into()),
        system_role: Some("Api User".into()),
        owner_roles: Some(crate::OwnerRoles::from([(
            DEMO.to_string(),
            "Standard User".to_string(),
        )])),
        disabled: Some(false),
        token_expiration_days: Some(30),
        include_in_observations: Some(false),
        allow_exceed_api_link_limit: Some(false),
        ..Default::default()
    }
}

// ------------------------------------------------------------ fields and defaults

const USER_FORM_CHOOSER: &[Field] = &[
    Email,
    F::Password,
    FirstName,
    LastName,
    F::SystemRole,
    F::OrgRole,
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
];
const USER_FORM_OTHERS: &[Field] = &[
    Email,
    F::Password,
    FirstName,
    LastName,
    F::OrgRole,
    Groups,
    Locked,
    Disabled,
    PasswordResetRequired,
    MfaResetRequired,
    SendAccountInfoEmail,
    TimeZone,
    LogOutAfter,
    SummaryEmailTime,
];
const API_FORM_CHOOSER: &[Field] = &[
    FirstName,
    LastName,
    F::SystemRole,
    F::OrgRole,
    TokenExpirationDays,
    Disabled,
    IncludeInObservations,
    AllowExceedApiLinkLimit,
    CustomTqlTimeout,
];
const API_FORM_OTHERS: &[Field] = &[
    FirstName,
    LastName,
    F::OrgRole,
    TokenExpirationDays,
    Disabled,
    IncludeInObservations,
    AllowExceedApiLinkLimit,
];
const TAXII_FORM: &[Field] = &[FirstName, LastName, F::OrgRole, Disabled];

#[test]
fn each_admin_gets_the_web_ui_fields_for_each_type() {
    let admins: [(&str, Actor, bool); 3] = [
        ("Administrator", administrator(), true),
        ("Organization Administrator", org_admin(), false),
        ("Accounts Administrator", accounts_admin(), false),
    ];
    for (name, admin, chooser) in admins {
        for kind in AccountType::ALL.iter().copied() {
            let form = AccountForm::create(&admin, &settings(), kind, DEMO);
            let expected = match (kind, chooser) {
                (AccountType::User | AccountType::ReadOnly, true) => USER_FORM_CHOOSER,
                (AccountType::User | AccountType::ReadOnly, false) => USER_FORM_OTHERS,
                (AccountType::Api, true) => API_FORM_CHOOSER,
                (AccountType::Api, false) => API_FORM_OTHERS,
                (AccountType::Taxii, _) => TAXII_FORM,
            };
            assert_eq!(fields_of(&form), expected, "{name} creating {kind}");
            // Editing: the same fields without Send Account Info E-mail,
            // and the account name locked.
            let user = match kind {
                AccountType::Api => api_user(),
                AccountType::Taxii => User {
                    system_role: Some("Taxii User".into()),
                    ..api_user()
                },
                AccountType::ReadOnly => User {
                    system_role: Some("Read Only User".into()),
                    ..existing_user()
                },
                AccountType::User => existing_user(),
            };
            let edit = AccountForm::edit(&admin, &settings(), &user);
            let without_send: Vec<Field> = expected
                .iter()
                .copied()
                .filter(|f| *f != SendAccountInfoEmail)
                .collect();
            assert_eq!(fields_of(&edit), without_send, "{name} editing {kind}");
            if let Some((_, access)) = edit.layout().into_iter().find(|(f, _)| *f == Email) {
                assert_eq!(
                    access,
                    FieldAccess::Locked("the account name cannot be changed".into())
                );
            }
        }
    }
}

#[test]
fn create_defaults_follow_the_seed() {
    for admin in [administrator(), org_admin(), accounts_admin()] {
        for kind in AccountType::ALL.iter().copied() {
            let form = AccountForm::create(&admin, &settings(), kind, DEMO);
            let ui = matches!(kind, AccountType::User | AccountType::ReadOnly);
            assert_eq!(form.system_role(), kind.default_system_role(), "{kind}");
            let org_role = match kind {
                AccountType::ReadOnly => OrgRole::ReadOnlyUser,
                _ => OrgRole::StandardUser,
            };
            assert_eq!(form.org_role(), Some(org_role), "{kind}");
            assert_eq!(form.value(PasswordResetRequired), FieldValue::Checkbox(ui));
            assert_eq!(form.value(TermsRequired), FieldValue::Checkbox(ui));
            assert_eq!(form.value(SendAccountInfoEmail), FieldValue::Checkbox(ui));
            assert_eq!(form.value(Locked), FieldValue::Checkbox(false));
            assert_eq!(form.value(Disabled), FieldValue::Checkbox(false));
            assert_eq!(form.value(CustomTqlTimeout), FieldValue::Number(None));
            assert_eq!(form.value(TokenExpirationDays), FieldValue::Number(None));
            assert_eq!(form.value(TimeZone), FieldValue::Choice(None));
            assert_eq!(form.value(Groups), FieldValue::Multi(vec![]));
            assert_eq!(form.org(), DEMO);
            assert_eq!(form.mode(), FormMode::Create);
            assert!(!form.is_dirty());
            assert_eq!(form.system_role_change_warning(), None);
        }
    }
}

#[test]
fn edit_fills_from_the_account_without_send_account_info() {
    let form = AccountForm::edit(&administrator(), &settings(), &existing_user());
    assert_eq!(form.kind(), AccountType::User);
    assert!(!form.kind_is_inferred());
    assert_eq!(
        form.value(Email),
        FieldValue::Text("pat.jones@example.com".into())
    );
    assert_eq!(
        form.value(F::Password),
        FieldValue::Password(Password::default())
    );
    assert_eq!(form.value(FirstName), FieldValue::Text("Pat".into()));
    assert_eq!(
        form.value(F::SystemRole),
        FieldValue::Choice(Some("User".into()))
    );
    assert_eq!(
        form.value(F::OrgRole),
        FieldValue::Choice(Some("Standard User".into()))
    );
    assert_eq!(form.value(Groups), FieldValue::Multi(vec![1]));
    // Terms accepted, so not required.
    assert_eq!(form.value(TermsRequired), FieldValue::Checkbox(false));
    assert_eq!(
        form.value(LogOutAfter),
        FieldValue::Choice(Some("30".into()))
    );
    assert_eq!(
        form.value(TimeZone),
        FieldValue::Choice(Some("Europe/Berlin".into()))
    );
    assert!(!form
        .fields()
        .iter()
        .any(|f| f.field == SendAccountInfoEmail));
    assert!(form.fields().iter().all(|f| !f.unknown));
    assert!(!form.is_dirty());
    assert!(form.validate().is_empty());
    assert_eq!(form.update_body(&existing_user()), json!({}));
    assert_eq!(form.group_ids(), None);
}

#[test]
fn edit_marks_what_the_instance_did_not_say_as_unknown() {
    // An Organization Administrator gets no System role: the type is inferred.
    let user = User {
        system_role: None,
        locked: None,
        time_zone: None,
        user_groups: None,
        ..existing_user()
    };
    let mut form = AccountForm::edit(&org_admin(), &settings(), &user);
    assert_eq!(form.kind(), AccountType::User);
    assert!(form.kind_is_inferred());
    let unknown: Vec<Field> = form
        .fields()
        .iter()
        .filter(|f| f.unknown)
        .map(|f| f.field)
        .collect();
    assert_eq!(unknown, vec![Groups, Locked, TimeZone]);
    // Setting an unknown value to the placeholder still sends it.
    form.set(Locked, FieldValue::Checkbox(false)).unwrap();
    assert!(form.is_dirty());
    assert_eq!(form.update_body(&user), json!({"locked": false}));

    let api = User {
        system_role: None,
        ..api_user()
    };
    let form = AccountForm::edit(&org_admin(), &settings(), &api);
    assert_eq!(form.kind(), AccountType::Api);
    assert!(form.kind_is_inferred());
    let ro = User {
        system_role: None,
        owner_roles: Some(crate::OwnerRoles::from([(
            DEMO.to_string(),
            "Read Only Commenter".to_string(),
        )])),
        ..existing_user()
    };
    assert_eq!(
        AccountForm::edit(&org_admin(), &settings(), &ro).kind(),
        AccountType::ReadOnly
    );
}

#[test]
fn saml_instances_offer_no_password_and_no_log_out_after() {
    let form = AccountForm::create(&administrator(), &saml(), AccountType::User, DEMO);
    let fields = fields_of(&form);
    assert!(!fields.contains(&F::Password) && !fields.contains(&LogOutAfter));
    let mut form = form;
    assert_eq!(
        form.set_from_text("password", "Secr3tpass"),
        Err("Password is not offered on SAML-enabled instances".into())
    );
    form.set_from_text("email", "a@example.com").unwrap();
    form.set_from_text("first-name", "A").unwrap();
    form.set_from_text("last-name", "B").unwrap();
    // No password needed.
    assert!(form.validate().is_empty(), "{:?}", form.validate());
    assert!(form.create_body().get("password").is_none());
}

#[test]
fn terms_checkbox_only_when_the_instance_requires_acceptance() {
    let off = InstanceSettings::default();
    let mut form = AccountForm::create(&administrator(), &off, AccountType::User, DEMO);
    assert!(!fields_of(&form).contains(&TermsRequired));
    assert_eq!(
        form.set_from_text("termsRequired", "false"),
        Err("Terms of Service Acceptance Required is not offered: this instance does not require new users to accept the Terms of Service".into())
    );
    assert!(form.create_body().get("termsAccepted").is_none());
}

// ------------------------------------------------------------ pick lists

fn labels(options: &[Choice]) -> Vec<&str> {
    options.iter().map(|c| c.label.as_str()).collect()
}

#[test]
fn system_role_options_are_what_the_actor_may_assign() {
    let form = AccountForm::create(&administrator(), &settings(), AccountType::User, DEMO);
    assert_eq!(
        labels(&form.options(F::SystemRole)),
        vec![
            "Administrator",
            "Operations Administrator",
            "Accounts Administrator",
            "Community Leader",
            "Super User",
            "User",
            "Read Only User"
        ]
    );
    let form = AccountForm::create(
        &operations_administrator(),
        &settings(),
        AccountType::ReadOnly,
        DEMO,
    );
    // The Read Only form is the User form with another preset.
    assert_eq!(
        labels(&form.options(F::SystemRole)),
        vec![
            "Operations Administrator",
            "Accounts Administrator",
            "Community Leader",
            "Super User",
            "User",
            "Read Only User"
        ]
    );
    let form = AccountForm::create(&administrator(), &settings(), AccountType::Api, DEMO);
    assert_eq!(
        labels(&form.options(F::SystemRole)),
        vec!["Api User", "Exchange Admin"]
    );
    // Editing keeps the account's own role in the list.
    let admin_account = User {
        system_role: Some("Administrator".into()),
        ..existing_user()
    };
    let form = AccountForm::edit(&operations_administrator(), &settings(), &admin_account);
    assert!(labels(&form.options(F::SystemRole)).contains(&"Administrator"));
}

#[test]
fn org_role_options_follow_the_system_role() {
    let form = AccountForm::create(&org_admin(), &settings(), AccountType::ReadOnly, DEMO);
    assert_eq!(
        labels(&form.options(F::OrgRole)),
        vec!["Read Only Commenter", "Read Only User"]
    );
    let form = AccountForm::create(&org_admin(), &settings(), AccountType::User, DEMO);
    assert_eq!(form.options(F::OrgRole).len(), OrgRole::ALL.len());
    let form = AccountForm::create(&org_admin(), &settings(), AccountType::Taxii, DEMO);
    assert_eq!(labels(&form.options(F::OrgRole)), vec!["Standard User"]);
    assert_eq!(
        form.layout()[2],
        (
            F::OrgRole,
            FieldAccess::Locked("a TAXII User is always Standard User".into())
        )
    );
}

#[test]
fn fixed_pick_lists() {
    let form = AccountForm::create(&administrator(), &settings(), AccountType::User, DEMO);
    let log_out = form.options(LogOutAfter);
    assert_eq!(
        labels(&log_out),
        vec![
            "Never",
            "15 minutes",
            "30 minutes",
            "1 hour",
            "2 hours",
            "4 hours",
            "8 hours",
            "1 day"
        ]
    );
    assert_eq!(log_out[3].value, "60");
    let times = form.options(SummaryEmailTime);
    assert_eq!(times.len(), 24);
    assert_eq!(
        (times[0].value.as_str(), times[23].value.as_str()),
        ("00:00", "23:00")
    );
    let zones = form.options(TimeZone);
    assert_eq!(zones[0].value, "UTC");
    assert!(zones.iter().any(|z| z.value == "America/New_York"));
    // An account's zone outside the list still shows.
    let user = User {
        time_zone: Some("Asia/Kathmandu".into()),
        ..existing_user()
    };
    let form = AccountForm::edit(&administrator(), &settings(), &user);
    assert_eq!(
        form.options(TimeZone).last().unwrap().value,
        "Asia/Kathmandu"
    );
    assert!(form.validate().is_empty());
}

// ------------------------------------------------------------ rules 5 and 7

#[test]
fn choosing_super_user_locks_the_org_role_to_org_admin() {
    let mut form = filled(&administrator(), AccountType::User);
    form.set_from_text("orgRole", "Sharing User").unwrap();
    form.set_from_text("systemRole", "Super User").unwrap();
    assert_eq!(form.org_role(), Some(OrgRole::OrganizationAdministrator));
    let row = form
        .fields()
        .into_iter()
        .find(|f| f.field == F::OrgRole)
        .unwrap();
    assert_eq!(
        row.access,
        FieldAccess::Locked("a Super User is always Organization Administrator".into())
    );
    assert_eq!(
        form.set_from_text("orgRole", "Standard User"),
        Err(
            "Organization Role is locked: a Super User is always Organization Administrator".into()
        )
    );
    assert!(form.validate().is_empty());
    assert_eq!(
        form.create_body()["ownerRoles"],
        json!({DEMO: "Organization Administrator"})
    );
    // Back to User: the field opens again, keeping the value.
    form.set_from_text("systemRole", "User").unwrap();
    assert_eq!(form.org_role(), Some(OrgRole::OrganizationAdministrator));
    form.set_from_text("orgRole", "Standard User").unwrap();
}

#[test]
fn choosing_read_only_user_moves_the_org_role_into_its_range() {
    let mut form = filled(&administrator(), AccountType::User);
    form.set_from_text("orgRole", "App Developer").unwrap();
    form.set_from_text("systemRole", "read-only-user").unwrap();
    assert_eq!(form.org_role(), Some(OrgRole::ReadOnlyUser));
    assert_eq!(form.account_type(), AccountType::ReadOnly);
    assert!(form.validate().is_empty(), "{:?}", form.validate());
}

#[test]
fn system_role_change_warns_when_editing_only() {
    let mut form = AccountForm::edit(&administrator(), &settings(), &existing_user());
    assert_eq!(form.system_role_change_warning(), None);
    form.set_from_text("systemRole", "Operations Administrator")
        .unwrap();
    assert_eq!(
        form.system_role_change_warning().as_deref(),
        Some("Changing the System role resets this account's Community roles to its Organization's defaults (Read Only User: at most Commenter; Super User: always Director)")
    );
    form.set_from_text("systemRole", "User").unwrap();
    assert_eq!(form.system_role_change_warning(), None);
    let mut create = filled(&administrator(), AccountType::User);
    create.set_from_text("systemRole", "Super User").unwrap();
    assert_eq!(create.system_role_change_warning(), None);
}

// ------------------------------------------------------------ validation

fn messages(form: &AccountForm) -> Vec<String> {
    form.validate().into_iter().map(|(_, m)| m).collect()
}

#[test]
fn an_empty_create_form_names_every_required_field() {
    let form = AccountForm::create(&org_admin(), &settings(), AccountType::User, DEMO);
    assert_eq!(
        form.validate(),
        vec![
            (Email, "E-Mail is required".to_string()),
            (F::Password, "Password is required".to_string()),
            (FirstName, "First Name is required".to_string()),
            (LastName, "Last Name is required".to_string()),
        ]
    );
    let form = AccountForm::create(&org_admin(), &settings(), AccountType::Api, DEMO);
    assert_eq!(
        messages(&form),
        vec!["First Name is required", "Last Name is required"]
    );
    for kind in AccountType::ALL {
        assert!(
            filled(&administrator(), *kind).validate().is_empty(),
            "{kind}"
        );
    }
}

#[test]
fn field_shapes_and_ranges() {
    let mut form = filled(&administrator(), AccountType::User);
    form.set_from_text("email", "pat at example").unwrap();
    form.set_from_text("password", "short").unwrap();
    form.set_from_text("first-name", "Tab\tName").unwrap();
    form.set_from_text("tqlTimeout", "0").unwrap();
    assert_eq!(
        messages(&form),
        vec![
            "E-Mail must look like name@example.com",
            "Password must have at least 8 characters and a digit",
            "First Name must not contain control characters",
            "Custom TQL Timeout (ms) must be between 1 and 3600000",
        ]
    );
    form.set_from_text("tqlTimeout", "3600000").unwrap();
    form.set_from_text("email", "pat@example.com").unwrap();
    form.set_from_text("password", "longenough1").unwrap();
    form.set_from_text("first-name", "Pat").unwrap();
    assert!(form.validate().is_empty());

    let mut api = filled(&administrator(), AccountType::Api);
    api.set_from_text("tokenExpirationDays", "3651").unwrap();
    assert_eq!(
        messages(&api),
        vec!["Token Expiration (days) must be between 1 and 3650"]
    );
    api.set_from_text("token-expiration", "none").unwrap();
    assert!(api.validate().is_empty());
    assert_eq!(
        api.set_from_text("token-expiration", "ten"),
        Err("Token Expiration (days) must be a whole number (or \"none\"), not \"ten\"".into())
    );
}

#[test]
fn e_mail_shapes() {
    for ok in ["a@b.co", "first.last+tag@sub.example.com"] {
        assert_eq!(check_email(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        "plain",
        "@example.com",
        "a@",
        "a@b",
        "a@b.",
        "a@.com",
        "a b@c.com",
        "a@b@c.com",
        "a\u{1b}@b.com",
    ] {
        assert!(check_email(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn the_instance_password_policy_applies() {
    let strict = InstanceSettings {
        password_policy: PasswordPolicy {
            min_length: 12,
            require_letter: true,
            require_upper: true,
            require_lower: true,
            require_digit: true,
            require_special: true,
        },
        ..settings()
    };
    let mut form = AccountForm::create(&administrator(), &strict, AccountType::User, DEMO);
    form.set_from_text("password", "abcdefgh1").unwrap();
    let problems = form.validate();
    assert!(problems.contains(&(
        F::Password,
        "Password must have at least 12 characters, an upper-case letter and a special character"
            .into()
    )));
    form.set_from_text("password", "Abcdefgh1234!").unwrap();
    assert!(!form.validate().iter().any(|(f, _)| *f == F::Password));
    assert_eq!(
        PasswordPolicy::default().describe(),
        "at least 8 characters, a letter and a digit"
    );
    assert_eq!(PasswordPolicy::default().check("Passw0rd!"), Ok(()));
    assert_eq!(
        PasswordPolicy::default().check("12345678"),
        Err("a letter".into())
    );
}

#[test]
fn policy_checks_name_the_refusal() {
    // A Read Only account cannot be a Standard User.
    let mut form = filled(&org_admin(), AccountType::ReadOnly);
    assert_eq!(
        form.set_from_text("orgRole", "Standard User"),
        Err("a Read Only User cannot have the Organization role Standard User".into())
    );
    assert_eq!(form.org_role(), Some(OrgRole::ReadOnlyUser));
    // An Operations Administrator cannot grant Administrator.
    let mut form = filled(&operations_administrator(), AccountType::User);
    assert_eq!(
        form.set_from_text("systemRole", "Administrator"),
        Err("an Operations Administrator cannot grant the System role Administrator".into())
    );
    assert_eq!(
        form.set_from_text("systemRole", "Taxii User"),
        Err("a User cannot have the System role Taxii User".into())
    );
    assert_eq!(
        form.set_from_text("systemRole", "Overlord"),
        Err("System Role cannot be \"Overlord\"; choose one of: Operations Administrator, Accounts Administrator, Community Leader, Super User, User, Read Only User".into())
    );
}

#[test]
fn editing_checks_only_what_changed() {
    // A seeded name with a control character does not block disabling.
    let user = User {
        first_name: Some("\u{1b}[31mEvil".into()),
        ..existing_user()
    };
    let mut form = AccountForm::edit(&administrator(), &settings(), &user);
    form.set_from_text("disabled", "true").unwrap();
    assert!(form.validate().is_empty());
    assert_eq!(form.update_body(&user), json!({"disabled": true}));
    form.set_from_text("firstName", "").unwrap();
    assert_eq!(messages(&form), vec!["First Name is required"]);
    // An edited password must meet the policy; an empty one is no change.
    form.set_from_text("firstName", "Eve").unwrap();
    form.set_from_text("password", "abc").unwrap();
    assert_eq!(
        messages(&form),
        vec!["Password must have at least 8 characters and a digit"]
    );
    form.set_from_text("password", "").unwrap();
    assert!(form.validate().is_empty());
    assert!(form.update_body(&user).get("password").is_none());
}

// ------------------------------------------------------------ --set keys

#[test]
fn set_from_text_keys() {
    let mut form = filled(&administrator(), AccountType::User);
    for (key, value) in [
        ("first-name", "Ada"),
        ("lastName", "Lovelace"),
        ("systemRole", "community leader"),
        ("orgRole", "sharing-user"),
        ("groups", "SOC Team, ir team"),
        ("disabled", "true"),
        ("locked", "yes"),
        ("password-reset-required", "off"),
        ("twoFactorResetRequired", "1"),
        ("termsAccepted", "true"),
        ("send-account-info-e-mail", "false"),
        ("custom-tql-timeout", "120_000"),
        ("time-zone", "europe/paris"),
        ("log-out-after", "2 hours"),
        ("summary-email-time", "7"),
    ] {
        form.set_from_text(key, value)
            .unwrap_or_else(|e| panic!("{key}={value}: {e}"));
    }
    let v = |f| form.value(f);
    assert_eq!(v(FirstName), FieldValue::Text("Ada".into()));
    assert_eq!(
        v(F::SystemRole),
        FieldValue::Choice(Some("Community Leader".into()))
    );
    assert_eq!(
        v(F::OrgRole),
        FieldValue::Choice(Some("Sharing User".into()))
    );
    assert_eq!(v(Groups), FieldValue::Multi(vec![1, 2]));
    assert_eq!(v(Disabled), FieldValue::Checkbox(true));
    assert_eq!(v(Locked), FieldValue::Checkbox(true));
    assert_eq!(v(PasswordResetRequired), FieldValue::Checkbox(false));
    assert_eq!(v(MfaResetRequired), FieldValue::Checkbox(true));
    // termsAccepted=true means acceptance is not required.
    assert_eq!(v(TermsRequired), FieldValue::Checkbox(false));
    assert_eq!(v(SendAccountInfoEmail), FieldValue::Checkbox(false));
    assert_eq!(v(CustomTqlTimeout), FieldValue::Number(Some(120_000)));
    assert_eq!(v(TimeZone), FieldValue::Choice(Some("Europe/Paris".into())));
    assert_eq!(v(LogOutAfter), FieldValue::Choice(Some("120".into())));
    assert_eq!(
        v(SummaryEmailTime),
        FieldValue::Choice(Some("07:00".into()))
    );
    assert!(form.validate().is_empty(), "{:?}", form.validate());
    assert!(!form.sends_account_info_email());
}

#[test]
fn set_from_text_errors_say_what_is_wrong() {
    let mut form = AccountForm::create(&org_admin(), &settings(), AccountType::Api, DEMO);
    assert_eq!(
        form.set_from_text("nickname", "x"),
        Err("unknown field \"nickname\"; this form offers: firstName, lastName, orgRole, tokenExpirationDays, disabled, includeInObservations, allowExceedApiLinkLimit".into())
    );
    assert_eq!(
        form.set_from_text("systemRole", "Exchange Admin"),
        Err("System Role is not offered to an Organization Administrator".into())
    );
    assert_eq!(
        form.set_from_text("tqlTimeout", "100"),
        Err("Custom TQL Timeout (ms) is not offered to an Organization Administrator".into())
    );
    assert_eq!(
        form.set_from_text("time-zone", "UTC"),
        Err("Time Zone is not on the API User form".into())
    );
    assert_eq!(
        form.set_from_text("disabled", "maybe"),
        Err("Disabled must be true or false, not \"maybe\"".into())
    );
    let mut user = filled(&accounts_admin(), AccountType::User);
    assert_eq!(
        user.set_from_text("systemRole", "User"),
        Err("System Role is not offered to an Accounts Administrator".into())
    );
    assert_eq!(
        user.set_from_text("groups", "Nobody"),
        Err(
            "Groups: no user group named \"Nobody\"; known groups: SOC Team, IR Team, Threat Intel"
                .into()
        )
    );
    assert_eq!(
        user.set_from_text("log-out-after", "7 minutes"),
        Err("Log Out After cannot be \"7 minutes\"; choose one of: Never, 15 minutes, 30 minutes, 1 hour, 2 hours, 4 hours, 8 hours, 1 day".into())
    );
    assert_eq!(
        user.set_from_text("summary-email-time", "25"),
        Err("Summary E-mail Time cannot be \"25\"; choose one of: 00:00, 01:00, 02:00, 03:00, 04:00, 05:00, 06:00, 07:00, 08:00, 09:00, 10:00, 11:00, 12:00, 13:00, 14:00, 15:00, 16:00, 17:00, 18:00, 19:00, 20:00, 21:00, 22:00, 23:00".into())
    );
    let mut edit = AccountForm::edit(&administrator(), &settings(), &existing_user());
    assert_eq!(
        edit.set_from_text("email", "new@example.com"),
        Err("E-Mail is locked: the account name cannot be changed".into())
    );
    assert_eq!(
        edit.set_from_text("sendAccountInfoEmail", "true"),
        Err("Send Account Info E-mail is offered only when creating an account".into())
    );
    assert_eq!(
        edit.set(Locked, FieldValue::Text("x".into())),
        Err("Locked is a checkbox field".into())
    );
}

#[test]
fn every_field_has_a_key_that_finds_it() {
    for field in ALL_FIELDS {
        assert_eq!(field_for_key(field_key(*field)), Some(*field));
        assert_eq!(
            field_for_key(&kebab(field.label())),
            Some(*field),
            "{field:?}"
        );
    }
    assert_eq!(kebab("Custom TQL Timeout (ms)"), "custom-tql-timeout-ms");
    assert_eq!(field_for_key("FIRST-NAME"), Some(FirstName));
}

// ------------------------------------------------------------ bodies

#[test]
fn create_body_uses_threatconnect_names() {
    let mut form = filled(&administrator(), AccountType::User);
    form.set_from_text("groups", "IR Team").unwrap();
    form.set_from_text("tqlTimeout", "5000").unwrap();
    form.set_from_text("time-zone", "UTC").unwrap();
    assert_eq!(
        form.create_body(),
        json!({
            "userName": "pat.jones@example.com",
            "password": "Secr3tpass",
            "owner": DEMO,
            "firstName": "Pat",
            "lastName": "Jones",
            "systemRole": "User",
            "ownerRoles": {DEMO: "Standard User"},
            "locked": false,
            "disabled": false,
            "passwordResetRequired": true,
            "twoFactorResetRequired": false,
            "termsAccepted": false,
            "sendAccountInfoEmail": true,
            "customTqlTimeout": 5000,
            "timeZone": "UTC",
        })
    );
    assert_eq!(form.group_ids(), Some(vec![2]));
    assert!(form.sends_account_info_email());

    let api = filled(&org_admin(), AccountType::Api);
    assert_eq!(
        api.create_body(),
        json!({
            "owner": DEMO,
            "firstName": "Pat",
            "lastName": "Jones",
            "systemRole": "Api User",
            "ownerRoles": {DEMO: "Standard User"},
            "disabled": false,
            "includeInObservations": false,
            "allowExceedApiLinkLimit": false,
        })
    );
    assert_eq!(api.group_ids(), None);

    let taxii = filled(&org_admin(), AccountType::Taxii);
    assert_eq!(
        taxii.create_body(),
        json!({
            "owner": DEMO,
            "firstName": "Pat",
            "lastName": "Jones",
            "systemRole": "Taxii User",
            "ownerRoles": {DEMO: "Standard User"},
            "disabled": false,
        })
    );
    let ro = filled(&org_admin(), AccountType::ReadOnly);
    assert_eq!(ro.create_body()["systemRole"], "Read Only User");
    assert_eq!(
        ro.create_body()["ownerRoles"],
        json!({DEMO: "Read Only User"})
    );
}

#[test]
fn update_body_holds_only_changes() {
    let user = existing_user();
    let mut form = AccountForm::edit(&administrator(), &settings(), &user);
    form.set_group_options(groups());
    form.set_from_text("lastName", "Smith").unwrap();
    form.set_from_text("termsRequired", "true").unwrap();
    form.set_from_text("tqlTimeout", "9000").unwrap();
    form.set_from_text("groups", "SOC Team,IR Team").unwrap();
    form.set_from_text("log-out-after", "never").unwrap();
    assert!(form.is_dirty());
    assert_eq!(
        form.update_body(&user),
        json!({
            "lastName": "Smith",
            "termsAccepted": false,
            "customTqlTimeout": 9000,
            "logoutIntervalMinutes": 0,
        })
    );
    assert_eq!(form.group_ids(), Some(vec![1, 2]));
    // Setting a value back to the original is no change.
    form.set_from_text("lastName", "Jones").unwrap();
    form.set_from_text("termsRequired", "false").unwrap();
    form.set_from_text("tqlTimeout", "off").unwrap();
    form.set_from_text("groups", "SOC Team").unwrap();
    form.set_from_text("log-out-after", "30").unwrap();
    assert!(!form.is_dirty());
    assert_eq!(form.update_body(&user), json!({}));
    assert_eq!(form.group_ids(), None);
}

#[test]
fn update_body_for_a_system_role_change_carries_the_forced_org_role() {
    let user = existing_user();
    let mut form = AccountForm::edit(&administrator(), &settings(), &user);
    form.set_from_text("systemRole", "Super User").unwrap();
    assert_eq!(
        form.update_body(&user),
        json!({"systemRole": "Super User", "ownerRoles": {DEMO: "Organization Administrator"}})
    );
    let mut form = AccountForm::edit(&administrator(), &settings(), &api_user());
    form.set_from_text("include-in-observations", "true")
        .unwrap();
    form.set_from_text("tokenExpirationDays", "90").unwrap();
    form.set_from_text("systemRole", "Exchange Admin").unwrap();
    assert_eq!(
        form.update_body(&api_user()),
        json!({"systemRole": "Exchange Admin", "tokenExpirationDays": 90, "includeInObservations": true})
    );
}

// ------------------------------------------------------------ unsupported fields

#[test]
fn fields_the_instance_cannot_save_say_so() {
    let none = BTreeSet::new();
    let form = filled(&administrator(), AccountType::User);
    assert_eq!(
        form.unsupported(&none)
            .into_iter()
            .map(|(f, _)| f)
            .collect::<Vec<_>>(),
        vec![Groups, SendAccountInfoEmail, TimeZone, SummaryEmailTime]
    );
    let mut form = form.with_extensions(&none);
    // Said before the value is looked at.
    assert_eq!(
        form.set_from_text("groups", "SOC Team"),
        Err("Groups cannot be saved: this instance does not offer it (rollcall extension groupMembership)".into())
    );
    assert_eq!(
        form.set_from_text("time-zone", "UTC"),
        Err("Time Zone cannot be saved: this instance does not offer it (rollcall extension timeZone)".into())
    );
    let body = form.create_body();
    for key in ["sendAccountInfoEmail", "timeZone", "summaryEmailTime"] {
        assert!(body.get(key).is_none(), "{key}");
    }
    assert!(!form.sends_account_info_email());
    assert_eq!(form.group_ids(), None);
    let row = form
        .fields()
        .into_iter()
        .find(|f| f.field == Groups)
        .unwrap();
    assert!(row.unsupported.is_some());

    let all: BTreeSet<String> = ext::ALL.iter().map(|s| s.to_string()).collect();
    assert!(form.unsupported(&all).is_empty());
    let api = filled(&administrator(), AccountType::Api);
    assert_eq!(
        api.unsupported(&none)
            .into_iter()
            .map(|(f, _)| f)
            .collect::<Vec<_>>(),
        vec![
            TokenExpirationDays,
            IncludeInObservations,
            AllowExceedApiLinkLimit
        ]
    );
}

#[test]
fn passwords_never_show_in_debug_output() {
    let form = filled(&administrator(), AccountType::User);
    let printed = format!("{form:?} {:?}", form.fields());
    assert!(!printed.contains("Secr3tpass"));
    assert!(printed.contains("Password(<redacted>)"));
    assert_eq!(format!("{:?}", Password::default()), "Password(<empty>)");
}

#[test]
fn dirty_tracking() {
    let mut form = AccountForm::create(&org_admin(), &settings(), AccountType::User, DEMO);
    assert!(!form.is_dirty());
    form.set_from_text("firstName", "x").unwrap();
    assert!(form.is_dirty());
    form.set_from_text("firstName", "").unwrap();
    assert!(!form.is_dirty());
    form.set_from_text("password", "p").unwrap();
    assert!(form.is_dirty());
}

#[test]
fn every_value_read_back_as_text_matches_and_changes_nothing() {
    let user = existing_user();
    let form = AccountForm::edit(&administrator(), &settings(), &user);
    for (field, _) in form.layout() {
        if field == F::Password {
            continue;
        }
        let key = field_key(field);
        let text = form.value_text(field);
        assert!(form.text_matches(key, &text), "{key}={text:?}");
        if form.check_settable(field).is_ok() {
            let mut again = form.clone();
            again.set_from_text(key, &text).unwrap();
            assert_eq!(
                again.update_body(&user),
                serde_json::json!({}),
                "{key}={text:?}"
            );
        }
    }
    // Other spellings of the same value match too; other values do not.
    assert!(form.text_matches("disabled", "no"));
    assert!(form.text_matches("termsAccepted", "true"));
    assert!(form.text_matches("orgRole", "standard-user"));
    assert!(!form.text_matches("firstName", "Patricia"));
    assert!(!form.text_matches("orgRole", "Sharing User"));
    assert!(!form.text_matches("password", ""));
    assert!(!form.text_matches("no-such-field", "x"));
}

#[test]
fn a_field_the_account_did_not_show_never_matches() {
    let user = User {
        time_zone: None,
        ..existing_user()
    };
    let form = AccountForm::edit(&administrator(), &settings(), &user);
    assert!(!form.text_matches("timeZone", ""));
    assert!(!form.text_matches("timeZone", "UTC"));
}

#[test]
fn the_values_under_an_update_put_its_fields_back() {
    let user = existing_user();
    let before = AccountForm::edit(&administrator(), &settings(), &user);
    let mut form = before.clone();
    form.set_from_text("firstName", "Patricia").unwrap();
    form.set_from_text("orgRole", "Sharing User").unwrap();
    form.set_from_text("disabled", "true").unwrap();
    let change = form.update_body(&user);
    assert_eq!(
        before.values_under(&change),
        serde_json::json!({
            "firstName": "Pat",
            "ownerRoles": {DEMO: "Standard User"},
            "disabled": false,
        })
    );
    // A field the account did not show has no old value to put back.
    let unseen = User {
        first_name: None,
        ..user
    };
    let before = AccountForm::edit(&administrator(), &settings(), &unseen);
    assert_eq!(
        before.values_under(&serde_json::json!({"firstName": "Pat", "disabled": true})),
        serde_json::json!({"disabled": false})
    );
}

#[test]
fn the_set_keys_follow_the_layout() {
    let form = AccountForm::create(&administrator(), &settings(), AccountType::User, DEMO);
    let keys = form.set_keys();
    assert_eq!(
        &keys[..4],
        ["userName", "password", "firstName", "lastName"]
    );
    assert_eq!(keys.len(), form.layout().len());
    for key in keys {
        assert!(field_for_key(key).is_some(), "{key}");
    }
}

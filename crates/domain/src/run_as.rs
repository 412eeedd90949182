//! Rule 8: what runs as an account must move before the account is
//! deleted. Its active playbooks go to another account, its job apps to an
//! API user; its inactive playbooks move by themselves to the first account
//! listed in its Organization. Who may take over is decided here, once, for
//! the scripted commands, the console and the sandbox.

use super::account::User;
use super::roles::{article, AccountType};
use super::text::sanitize;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A playbook or job app that runs as an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunAsItem {
    pub id: i64,
    pub name: String,
}

/// What runs as an account: blocks or shapes its deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RunAs {
    pub active_playbooks: Vec<RunAsItem>,
    pub inactive_playbooks: Vec<RunAsItem>,
    pub job_apps: Vec<RunAsItem>,
}

impl RunAs {
    /// What must move to a named heir.
    pub fn items(&self, what: Inheritance) -> &[RunAsItem] {
        match what {
            Inheritance::Playbooks => &self.active_playbooks,
            Inheritance::JobApps => &self.job_apps,
        }
    }
}

/// What moves to a named heir when its Run As account is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inheritance {
    /// The active playbooks (inactive ones move by themselves).
    Playbooks,
    JobApps,
}

impl Inheritance {
    pub const ALL: [Inheritance; 2] = [Inheritance::Playbooks, Inheritance::JobApps];

    /// "active playbooks", "job apps".
    pub fn name(self) -> &'static str {
        match self {
            Inheritance::Playbooks => "active playbooks",
            Inheritance::JobApps => "job apps",
        }
    }

    /// "1 active playbook", "2 job apps".
    pub fn count(self, n: usize) -> String {
        match (self, n) {
            (Inheritance::Playbooks, 1) => "1 active playbook".to_string(),
            (Inheritance::JobApps, 1) => "1 job app".to_string(),
            (what, n) => format!("{n} {}", what.name()),
        }
    }

    /// Who may take over, as a person is asked to choose one.
    pub fn heir(self) -> &'static str {
        match self {
            Inheritance::Playbooks => "another account",
            Inheritance::JobApps => "an API user",
        }
    }

    /// The account types these run as: playbooks as a User or an API user
    /// (never Read Only or TAXII, which run nothing), job apps only as an
    /// API user.
    pub fn runs_as(self, kind: AccountType) -> bool {
        match self {
            Inheritance::Playbooks => matches!(kind, AccountType::User | AccountType::Api),
            Inheritance::JobApps => kind == AccountType::Api,
        }
    }

    fn runs_as_text(self) -> &'static str {
        match self {
            Inheritance::Playbooks => "a User or an API user",
            Inheritance::JobApps => "an API user",
        }
    }
}

/// What rule 8 reads of an account. `None` is what the caller cannot see:
/// that part is left to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Party<'a> {
    pub id: i64,
    pub user_name: &'a str,
    pub org: Option<&'a str>,
    pub kind: Option<AccountType>,
    pub disabled: Option<bool>,
    pub locked: Option<bool>,
}

impl<'a> From<&'a User> for Party<'a> {
    fn from(user: &'a User) -> Party<'a> {
        Party {
            id: user.id,
            user_name: &user.user_name,
            org: user.owner.as_deref(),
            kind: user.account_type(),
            disabled: user.disabled,
            locked: user.locked,
        }
    }
}

/// Why an account may not take over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeirRefusal {
    /// The account that is left (deleted or offboarded) was named as its own heir.
    Itself { what: Inheritance },
    OtherOrganization {
        what: Inheritance,
        heir: String,
        org: String,
    },
    WrongType {
        what: Inheritance,
        heir: String,
        kind: AccountType,
    },
    /// A disabled Run As account would stop what moves to it.
    Disabled { what: Inheritance, heir: String },
}

impl fmt::Display for HeirRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeirRefusal::Itself { what } => {
                write!(f, "{} cannot move to the account they run as", what.name())
            }
            HeirRefusal::OtherOrganization { what, heir, org } => write!(
                f,
                "{} must move to an account in {org}; {heir} is not in it",
                what.name()
            ),
            HeirRefusal::WrongType { what, heir, kind } => write!(
                f,
                "{} must run as {}; {heir} is {}",
                what.name(),
                what.runs_as_text(),
                article(kind.name())
            ),
            HeirRefusal::Disabled { what, heir } => {
                write!(f, "{} cannot move to {heir}: it is disabled", what.name())
            }
        }
    }
}

/// Whether `heir` may take over `what` from whichever account is deleted:
/// what the heir alone decides (a bulk delete names one heir for many).
pub fn heir_qualifies(what: Inheritance, heir: &Party) -> Result<(), HeirRefusal> {
    let name = || sanitize(heir.user_name).into_owned();
    if let Some(kind) = heir.kind.filter(|k| !what.runs_as(*k)) {
        return Err(HeirRefusal::WrongType {
            what,
            heir: name(),
            kind,
        });
    }
    if heir.disabled == Some(true) {
        return Err(HeirRefusal::Disabled { what, heir: name() });
    }
    Ok(())
}

/// Whether `heir` may take over `what` from `account`: not the account
/// itself, one of its Organization, and [`heir_qualifies`].
pub fn may_inherit(what: Inheritance, account: &Party, heir: &Party) -> Result<(), HeirRefusal> {
    if heir.id == account.id {
        return Err(HeirRefusal::Itself { what });
    }
    if let (Some(org), Some(heir_org)) = (account.org, heir.org) {
        if org != heir_org {
            return Err(HeirRefusal::OtherOrganization {
                what,
                heir: sanitize(heir.user_name).into_owned(),
                org: sanitize(org).into_owned(),
            });
        }
    }
    heir_qualifies(what, heir)
}

/// Whether to offer `heir` in a pick list: it may inherit, and it is not
/// locked (what moves would stop until it is unlocked; the server does not
/// refuse it, so it may still be named).
pub fn worth_offering(what: Inheritance, account: &Party, heir: &Party) -> bool {
    heir.locked != Some(true) && may_inherit(what, account, heir).is_ok()
}

/// Something runs as the account to delete and nobody takes it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeirMissing {
    pub what: Inheritance,
    pub account: String,
    pub items: Vec<String>,
}

impl HeirMissing {
    /// "pat is the Run As user of 2 active playbooks (A, B): choose another
    /// account {how}", where `how` is the face's way to name one.
    pub fn explain(&self, how: &str) -> String {
        format!(
            "{} is the Run As user of {} ({}): choose {} {how}",
            self.account,
            self.what.count(self.items.len()),
            self.items.join(", "),
            self.what.heir()
        )
    }
}

/// Why a delete cannot go ahead as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    HeirMissing(HeirMissing),
    Refused(HeirRefusal),
}

impl Problem {
    /// The problem in words; `how` completes a missing heir's sentence
    /// ("with --reassign-playbooks-to ID") for each kind of heir.
    pub fn explain(&self, how: impl Fn(Inheritance) -> String) -> String {
        match self {
            Problem::HeirMissing(missing) => missing.explain(&how(missing.what)),
            Problem::Refused(refusal) => refusal.to_string(),
        }
    }
}

/// Rule 8 for deleting `account`: what runs as it needs an heir, and each
/// heir named must be able to take over. Every problem, in order.
pub fn check_reassignment(
    account: &Party,
    run_as: &RunAs,
    playbooks_to: Option<&Party>,
    jobs_to: Option<&Party>,
) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    for (what, heir) in [
        (Inheritance::Playbooks, playbooks_to),
        (Inheritance::JobApps, jobs_to),
    ] {
        let items = run_as.items(what);
        match heir {
            None if !items.is_empty() => problems.push(Problem::HeirMissing(HeirMissing {
                what,
                account: sanitize(account.user_name).into_owned(),
                items: items
                    .iter()
                    .map(|i| sanitize(&i.name).into_owned())
                    .collect(),
            })),
            None => {}
            Some(heir) => {
                if let Err(refusal) = may_inherit(what, account, heir) {
                    problems.push(Problem::Refused(refusal));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(id: i64, kind: Option<AccountType>) -> Party<'static> {
        Party {
            id,
            user_name: "heir@example.com",
            org: Some("Demo"),
            kind,
            disabled: Some(false),
            locked: Some(false),
        }
    }

    fn runner() -> Party<'static> {
        Party {
            user_name: "pat@example.com",
            ..party(1, Some(AccountType::User))
        }
    }

    fn item(id: i64, name: &str) -> RunAsItem {
        RunAsItem {
            id,
            name: name.into(),
        }
    }

    fn runs_both() -> RunAs {
        RunAs {
            active_playbooks: vec![item(1, "Phishing Triage"), item(2, "Malware Enrichment")],
            inactive_playbooks: vec![item(3, "Old Feed Import")],
            job_apps: vec![item(4, "Feed Sync")],
        }
    }

    const HOW: fn(Inheritance) -> String = |what| match what {
        Inheritance::Playbooks => "with --playbooks".to_string(),
        Inheritance::JobApps => "with --jobs".to_string(),
    };

    fn explained(result: Result<(), Vec<Problem>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .iter()
            .map(|p| p.explain(HOW))
            .collect()
    }

    #[test]
    fn an_account_that_runs_nothing_needs_no_heir() {
        let nothing = RunAs {
            inactive_playbooks: vec![item(3, "Old Feed Import")],
            ..RunAs::default()
        };
        assert_eq!(check_reassignment(&runner(), &nothing, None, None), Ok(()));
    }

    #[test]
    fn qualified_heirs_take_over() {
        let user = party(2, Some(AccountType::User));
        let api = party(3, Some(AccountType::Api));
        assert_eq!(
            check_reassignment(&runner(), &runs_both(), Some(&user), Some(&api)),
            Ok(())
        );
        // An API user may run playbooks too; a type the caller cannot see
        // is left to the server.
        let unseen = party(4, None);
        assert_eq!(
            check_reassignment(&runner(), &runs_both(), Some(&api), Some(&unseen)),
            Ok(())
        );
    }

    #[test]
    fn what_runs_needs_an_heir() {
        assert_eq!(
            explained(check_reassignment(&runner(), &runs_both(), None, None)),
            [
                "pat@example.com is the Run As user of 2 active playbooks (Phishing Triage, Malware Enrichment): choose another account with --playbooks",
                "pat@example.com is the Run As user of 1 job app (Feed Sync): choose an API user with --jobs",
            ]
        );
    }

    #[test]
    fn not_the_account_itself() {
        let me = runner();
        assert_eq!(
            explained(check_reassignment(&me, &runs_both(), Some(&me), None)),
            [
                "active playbooks cannot move to the account they run as",
                "pat@example.com is the Run As user of 1 job app (Feed Sync): choose an API user with --jobs",
            ]
        );
    }

    #[test]
    fn only_within_the_organization() {
        let elsewhere = Party {
            org: Some("Other Org"),
            ..party(2, Some(AccountType::User))
        };
        assert_eq!(
            may_inherit(Inheritance::Playbooks, &runner(), &elsewhere)
                .unwrap_err()
                .to_string(),
            "active playbooks must move to an account in Demo; heir@example.com is not in it"
        );
        // An Organization the caller cannot see is left to the server.
        let unseen = Party {
            org: None,
            ..elsewhere
        };
        assert_eq!(
            may_inherit(Inheritance::Playbooks, &runner(), &unseen),
            Ok(())
        );
    }

    #[test]
    fn job_apps_only_to_an_api_user() {
        let user = party(2, Some(AccountType::User));
        assert_eq!(
            explained(check_reassignment(
                &runner(),
                &runs_both(),
                Some(&user),
                Some(&user)
            )),
            ["job apps must run as an API user; heir@example.com is a User"]
        );
    }

    #[test]
    fn playbooks_not_to_read_only_or_taxii_accounts() {
        for kind in [AccountType::ReadOnly, AccountType::Taxii] {
            let refusal =
                heir_qualifies(Inheritance::Playbooks, &party(2, Some(kind))).unwrap_err();
            assert_eq!(
                refusal,
                HeirRefusal::WrongType {
                    what: Inheritance::Playbooks,
                    heir: "heir@example.com".into(),
                    kind
                }
            );
            assert!(refusal
                .to_string()
                .starts_with("active playbooks must run as a User or an API user; "));
        }
    }

    #[test]
    fn not_to_a_disabled_account() {
        let disabled = Party {
            disabled: Some(true),
            ..party(3, Some(AccountType::Api))
        };
        assert_eq!(
            heir_qualifies(Inheritance::JobApps, &disabled)
                .unwrap_err()
                .to_string(),
            "job apps cannot move to heir@example.com: it is disabled"
        );
    }

    #[test]
    fn a_locked_account_may_inherit_but_is_not_offered() {
        let locked = Party {
            locked: Some(true),
            ..party(2, Some(AccountType::User))
        };
        assert_eq!(
            may_inherit(Inheritance::Playbooks, &runner(), &locked),
            Ok(())
        );
        assert!(!worth_offering(Inheritance::Playbooks, &runner(), &locked));
        assert!(worth_offering(
            Inheritance::Playbooks,
            &runner(),
            &party(2, Some(AccountType::User))
        ));
    }

    #[test]
    fn names_are_sanitized() {
        let sneaky = Party {
            user_name: "evil\u{1b}[2Jname",
            ..party(2, Some(AccountType::Taxii))
        };
        let text = heir_qualifies(Inheritance::Playbooks, &sneaky)
            .unwrap_err()
            .to_string();
        assert!(!text.contains('\u{1b}'), "{text:?}");
    }
}

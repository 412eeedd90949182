//! Offboarding one person: the checklist, its order, and what each step
//! may do on a given instance. Pure rules: `ops::offboard` reads the facts
//! and sends the requests; both faces show what this decides.
//!
//! The order: move what runs as the account (rule 8), take it out of its
//! groups, revoke its API tokens, disable it, and (only when asked, and
//! only after every earlier step succeeded) delete it.

use super::account::User;
use super::policy::{self, Action, Actor, InstanceSettings};
use super::preflight::target_of;
use super::roles::AccountType;
use super::run_as::{self, Inheritance, Party, RunAs, RunAsItem};
use super::text::sanitize;

/// One step of the checklist, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// Move the active playbooks and job apps that run as the account.
    RunAs,
    /// Take the account out of every user group.
    Groups,
    /// Revoke the account's API tokens.
    Tokens,
    Disable,
    Delete,
}

impl Step {
    pub const ALL: [Step; 5] = [
        Step::RunAs,
        Step::Groups,
        Step::Tokens,
        Step::Disable,
        Step::Delete,
    ];

    /// The step's action in the journal (one row per account and step in
    /// `rollcall journal --format csv`).
    pub fn action(self) -> &'static str {
        match self {
            Step::RunAs => "move-run-as",
            Step::Groups => "remove-groups",
            Step::Tokens => "revoke-tokens",
            Step::Disable => "disable",
            Step::Delete => "delete",
        }
    }

    pub fn from_action(action: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.action() == action)
    }

    /// The report's column title.
    pub fn title(self) -> &'static str {
        match self {
            Step::RunAs => "Run As",
            Step::Groups => "Groups",
            Step::Tokens => "API tokens",
            Step::Disable => "Disable",
            Step::Delete => "Delete",
        }
    }

    /// The CSV column name.
    pub fn column(self) -> &'static str {
        match self {
            Step::RunAs => "run_as",
            Step::Groups => "groups",
            Step::Tokens => "api_tokens",
            Step::Disable => "disable",
            Step::Delete => "delete",
        }
    }

    /// What an undo of this step does, or why it cannot.
    pub fn undo(self) -> Result<&'static str, &'static str> {
        match self {
            Step::Groups => Ok("put back in its groups"),
            Step::Disable => Ok("enabled"),
            Step::RunAs => Err(
                "what was moved is not moved back: the new Run As accounts keep it (move it back in the web UI if needed)",
            ),
            Step::Tokens => Err("a revoked API token cannot be restored"),
            Step::Delete => Err("a deleted account is gone"),
        }
    }
}

/// Where one step of one account stands: planned (`Do`, or a reason it
/// will not be sent), or how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    /// Will be sent: what it does.
    Do(String),
    /// Nothing to do (why): counts as succeeded.
    Nothing(String),
    /// This instance offers no way to do it (why): counts as succeeded
    /// for the delete, since nothing else can be done here.
    NotPossible(String),
    /// Cannot go ahead as asked (why): not sent.
    Blocked(String),
    /// The delete, without `--delete`.
    NotAsked,
    /// Sent and applied.
    Done(String),
    Failed(String),
    /// Sent; whether it was applied is not known (why).
    Unknown(String),
    /// The delete, not sent because an earlier step did not succeed.
    Held(String),
    /// Not reached: the run was stopped first (`rollcall resume` finishes it).
    NotRun,
}

impl StepState {
    /// One word (or two) for a report cell.
    pub fn word(&self) -> &'static str {
        match self {
            StepState::Do(_) => "to do",
            StepState::Nothing(_) => "nothing to do",
            StepState::NotPossible(_) => "not possible",
            StepState::Blocked(_) => "blocked",
            StepState::NotAsked => "kept",
            StepState::Done(_) => "done",
            StepState::Failed(_) => "failed",
            StepState::Unknown(_) => "unknown",
            StepState::Held(_) => "held",
            StepState::NotRun => "not run",
        }
    }

    /// The detail: what, or why.
    pub fn detail(&self) -> &str {
        match self {
            StepState::Do(s)
            | StepState::Nothing(s)
            | StepState::NotPossible(s)
            | StepState::Blocked(s)
            | StepState::Done(s)
            | StepState::Failed(s)
            | StepState::Unknown(s)
            | StepState::Held(s) => s,
            StepState::NotAsked => "deleting was not asked for",
            StepState::NotRun => {
                "the run stopped before this step: `rollcall resume RUN_ID` finishes it"
            }
        }
    }

    /// "done: moved …", as one line.
    pub fn line(&self) -> String {
        format!("{}: {}", self.word(), self.detail())
    }

    /// Whether the step is where it should be, so the delete may follow.
    pub fn succeeded(&self) -> bool {
        matches!(
            self,
            StepState::Done(_) | StepState::Nothing(_) | StepState::NotPossible(_)
        )
    }

    /// Whether a resume has this step still to do.
    pub fn unfinished(&self) -> bool {
        matches!(
            self,
            StepState::Do(_) | StepState::Unknown(_) | StepState::NotRun
        )
    }
}

/// A step's "to do" text as done: "move 2 job apps (...) to X" becomes
/// "moved 2 job apps (...) to X", "disable the account" "disabled".
pub fn done_text(what: &str) -> String {
    const DELETE: &str = "delete the account, once every step above succeeded";
    if let Some(rest) = what.strip_prefix(DELETE) {
        return format!("deleted{rest}");
    }
    for (to_do, done) in [
        ("move ", "moved "),
        ("remove from ", "removed from "),
        ("disable the account", "disabled"),
    ] {
        if let Some(rest) = what.strip_prefix(to_do) {
            return format!("{done}{rest}");
        }
    }
    what.to_string()
}

/// What this instance offers for offboarding (its advertised extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Abilities {
    /// It says what runs as an account.
    pub run_as_visible: bool,
    /// It moves Run As items without deleting the account.
    pub move_run_as: bool,
    /// It moves them as part of a delete.
    pub reassign_on_delete: bool,
    /// It can change an account's group membership.
    pub group_membership: bool,
}

/// Why the token step is not possible: said the same everywhere.
pub const NO_TOKEN_REVOCATION: &str = "this instance offers no way to revoke an API token (ThreatConnect's API documents none, and the instance advertises no extension for it); disabling the account is what stops it signing in";

/// Why the groups step is not possible on an instance without the
/// membership extension.
pub const NO_GROUP_EDITS: &str = "this instance offers no way to change group membership (ThreatConnect's API shows user groups read-only): remove it in the web UI";

/// The facts the checklist reads of one account.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub account: &'a User,
    /// What runs as it: `None` when the instance does not say, `Some(Err)`
    /// when reading it failed.
    pub run_as: Option<&'a Result<RunAs, String>>,
}

/// What was asked of the whole run.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub playbooks_to: Option<&'a User>,
    pub jobs_to: Option<&'a User>,
    pub delete: bool,
}

/// One account's checklist: each step in order with its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checklist {
    pub id: i64,
    pub user_name: String,
    pub steps: Vec<(Step, StepState)>,
}

impl Checklist {
    pub fn state(&self, step: Step) -> Option<&StepState> {
        self.steps
            .iter()
            .find(|(s, _)| *s == step)
            .map(|(_, st)| st)
    }

    pub fn set(&mut self, step: Step, state: StepState) {
        if let Some(slot) = self.steps.iter_mut().find(|(s, _)| *s == step) {
            slot.1 = state;
        }
    }

    /// Steps that will send a request.
    pub fn to_send(&self) -> usize {
        self.steps
            .iter()
            .filter(|(_, s)| matches!(s, StepState::Do(_)))
            .count()
    }
}

/// Whether the delete may be sent now, given how the earlier steps ended:
/// every one of them succeeded (done, nothing to do, or not possible here).
pub fn may_delete(checklist: &Checklist) -> Result<(), String> {
    let stuck: Vec<String> = checklist
        .steps
        .iter()
        .filter(|(step, _)| *step != Step::Delete)
        .filter(|(_, state)| !state.succeeded())
        .map(|(step, state)| format!("{} {}", step.title(), state.word()))
        .collect();
    if stuck.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "not deleted: an earlier step did not succeed ({})",
            stuck.join(", ")
        ))
    }
}

fn names(items: &[RunAsItem]) -> String {
    items
        .iter()
        .map(|i| sanitize(&i.name).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// "2 active playbooks (A, B) and 1 job app (C)": what runs as it.
pub fn running(run_as: &RunAs) -> String {
    Inheritance::ALL
        .into_iter()
        .filter(|what| !run_as.items(*what).is_empty())
        .map(|what| {
            let items = run_as.items(what);
            format!("{} ({})", what.count(items.len()), names(items))
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

fn moves(run_as: &RunAs, asked: &Asked) -> String {
    Inheritance::ALL
        .into_iter()
        .filter(|what| !run_as.items(*what).is_empty())
        .filter_map(|what| {
            let heir = match what {
                Inheritance::Playbooks => asked.playbooks_to,
                Inheritance::JobApps => asked.jobs_to,
            }?;
            let items = run_as.items(what);
            Some(format!(
                "{} ({}) to {}",
                what.count(items.len()),
                names(items),
                sanitize(&heir.user_name)
            ))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The checklist for one account, before anything is sent. `how` completes
/// rule 8's "choose another account …" with the face's way to name one.
pub fn plan(
    actor: &Actor,
    settings: &InstanceSettings,
    abilities: Abilities,
    facts: Facts<'_>,
    asked: Asked<'_>,
    how: &dyn Fn(Inheritance) -> String,
) -> Checklist {
    let account = facts.account;
    let target = target_of(account, actor);
    let refused = |action: Action| policy::may(actor, settings, action, &target).err();
    let party = Party::from(account);
    let heirs = (
        asked.playbooks_to.map(Party::from),
        asked.jobs_to.map(Party::from),
    );
    let reassign_problems = |run_as: &RunAs| {
        run_as::check_reassignment(&party, run_as, heirs.0.as_ref(), heirs.1.as_ref())
            .err()
            .map(|problems| {
                problems
                    .iter()
                    .map(|p| p.explain(how))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
    };
    // What still runs as it when the delete comes: the delete must move it.
    let mut left_for_delete: Option<&RunAs> = None;
    let run_as_step = match facts.run_as {
        None => StepState::NotPossible(
            "this instance does not say what runs as an account (no runAs extension): check its playbooks and job apps in the web UI".to_string(),
        ),
        Some(Err(why)) => StepState::Blocked(format!("what runs as it could not be read: {why}")),
        Some(Ok(run_as))
            if run_as.active_playbooks.is_empty() && run_as.job_apps.is_empty() =>
        {
            StepState::Nothing("no active playbook or job app runs as it".to_string())
        }
        Some(Ok(run_as)) => match reassign_problems(run_as) {
            Some(problems) => StepState::Blocked(problems),
            None if refused(Action::Edit).is_some() => StepState::Blocked(
                refused(Action::Edit).map(|r| r.0).unwrap_or_default(),
            ),
            None if abilities.move_run_as => {
                StepState::Do(format!("move {}", moves(run_as, &asked)))
            }
            None if asked.delete && abilities.reassign_on_delete => {
                left_for_delete = Some(run_as);
                StepState::NotPossible(format!(
                    "this instance moves Run As items only when it deletes the account: {} move with the delete",
                    moves(run_as, &asked)
                ))
            }
            None => StepState::NotPossible(format!(
                "this instance moves Run As items only when it deletes the account; {} still run as it and stop when it is disabled",
                running(run_as)
            )),
        },
    };
    let groups_step = match (&account.user_groups, abilities.group_membership) {
        (Some(groups), false) if !groups.is_empty() => StepState::NotPossible(format!(
            "{NO_GROUP_EDITS} (it is in {})",
            groups
                .iter()
                .map(|g| sanitize(&g.name).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        (_, false) => StepState::NotPossible(NO_GROUP_EDITS.to_string()),
        (None, true) => StepState::Blocked(
            "the instance did not return its groups, so they could not be put back: remove it in the web UI".to_string(),
        ),
        (Some(groups), true) if groups.is_empty() => {
            StepState::Nothing("in no user group".to_string())
        }
        (Some(_), true) if refused(Action::Edit).is_some() => {
            StepState::Blocked(refused(Action::Edit).map(|r| r.0).unwrap_or_default())
        }
        (Some(groups), true) => StepState::Do(format!(
            "remove from {} group{}: {}",
            groups.len(),
            if groups.len() == 1 { "" } else { "s" },
            groups
                .iter()
                .map(|g| sanitize(&g.name).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    let tokens_step = match account.account_type() {
        Some(kind) if kind != AccountType::Api => {
            StepState::Nothing("API tokens are issued to API users only".to_string())
        }
        _ => StepState::NotPossible(NO_TOKEN_REVOCATION.to_string()),
    };
    let disable_step = match (refused(Action::Disable), account.disabled) {
        (Some(refusal), _) => StepState::Blocked(refusal.0),
        (None, Some(true)) => StepState::Nothing("already disabled".to_string()),
        (None, _) => StepState::Do("disable the account".to_string()),
    };
    let delete_step = if !asked.delete {
        StepState::NotAsked
    } else if let Some(refusal) = refused(Action::Delete) {
        StepState::Blocked(refusal.0)
    } else if matches!(run_as_step, StepState::Blocked(_)) {
        StepState::Blocked("the Run As step is blocked (rule 8)".to_string())
    } else {
        match left_for_delete {
            Some(run_as) => StepState::Do(format!(
                "delete the account, once every step above succeeded, moving {}",
                moves(run_as, &asked)
            )),
            None => {
                StepState::Do("delete the account, once every step above succeeded".to_string())
            }
        }
    };
    Checklist {
        id: account.id,
        user_name: account.user_name.clone(),
        steps: vec![
            (Step::RunAs, run_as_step),
            (Step::Groups, groups_step),
            (Step::Tokens, tokens_step),
            (Step::Disable, disable_step),
            (Step::Delete, delete_step),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::GroupRef;
    use crate::roles::{OrgRole, SystemRole};

    fn admin_actor() -> (Actor, InstanceSettings) {
        let actor = Actor {
            id: Some(1),
            user_name: "admin@example.com".into(),
            system_role: Some(SystemRole::Administrator),
            org_role: Some(OrgRole::OrganizationAdministrator),
            home_org: "Demo".into(),
            ..Default::default()
        };
        (actor, InstanceSettings::default())
    }

    fn user(id: i64, name: &str, role: &str) -> User {
        User {
            id,
            user_name: name.into(),
            owner: Some("Demo".into()),
            system_role: Some(role.into()),
            disabled: Some(false),
            locked: Some(false),
            user_groups: Some(Vec::new()),
            ..Default::default()
        }
    }

    fn item(id: i64, name: &str) -> RunAsItem {
        RunAsItem {
            id,
            name: name.into(),
        }
    }

    fn all_abilities() -> Abilities {
        Abilities {
            run_as_visible: true,
            move_run_as: true,
            reassign_on_delete: true,
            group_membership: true,
        }
    }

    const HOW: &dyn Fn(Inheritance) -> String = &|what| match what {
        Inheritance::Playbooks => "with --playbooks-to ACCOUNT".to_string(),
        Inheritance::JobApps => "with --jobs-to API_ACCOUNT".to_string(),
    };

    fn words(list: &Checklist) -> Vec<&'static str> {
        list.steps.iter().map(|(_, s)| s.word()).collect()
    }

    fn checklist(
        abilities: Abilities,
        account: &User,
        run_as: Option<&Result<RunAs, String>>,
        asked: Asked,
    ) -> Checklist {
        let (actor, settings) = admin_actor();
        plan(
            &actor,
            &settings,
            abilities,
            Facts { account, run_as },
            asked,
            HOW,
        )
    }

    fn nothing_asked() -> Asked<'static> {
        Asked {
            playbooks_to: None,
            jobs_to: None,
            delete: false,
        }
    }

    #[test]
    fn the_steps_run_in_the_checklist_order() {
        let pat = user(10, "pat@example.com", "User");
        let list = checklist(
            all_abilities(),
            &pat,
            Some(&Ok(RunAs::default())),
            nothing_asked(),
        );
        let order: Vec<Step> = list.steps.iter().map(|(s, _)| *s).collect();
        assert_eq!(order, Step::ALL);
    }

    #[test]
    fn an_account_with_groups_and_nothing_running_is_removed_and_disabled_and_kept() {
        let mut pat = user(10, "pat@example.com", "User");
        pat.user_groups = Some(vec![GroupRef {
            id: 1,
            name: "SOC".into(),
        }]);
        let list = checklist(
            all_abilities(),
            &pat,
            Some(&Ok(RunAs::default())),
            nothing_asked(),
        );
        assert_eq!(
            words(&list),
            ["nothing to do", "to do", "nothing to do", "to do", "kept"]
        );
        assert_eq!(
            list.state(Step::Groups).unwrap().detail(),
            "remove from 1 group: SOC"
        );
        assert_eq!(list.to_send(), 2);
    }

    #[test]
    fn what_runs_as_it_needs_an_heir_and_blocks_the_delete_without_one() {
        let pat = user(10, "pat@example.com", "User");
        let run_as = Ok(RunAs {
            active_playbooks: vec![item(1, "Phishing Triage")],
            ..RunAs::default()
        });
        let asked = Asked {
            delete: true,
            ..nothing_asked()
        };
        let list = checklist(all_abilities(), &pat, Some(&run_as), asked);
        assert_eq!(
            list.state(Step::RunAs).unwrap(),
            &StepState::Blocked(
                "pat@example.com is the Run As user of 1 active playbook (Phishing Triage): choose another account with --playbooks-to ACCOUNT".into()
            )
        );
        assert!(matches!(
            list.state(Step::Delete),
            Some(StepState::Blocked(_))
        ));
        // The rest of the checklist still goes ahead: access is removed.
        assert_eq!(list.state(Step::Disable).unwrap().word(), "to do");
    }

    #[test]
    fn named_heirs_take_over_before_the_disable() {
        let pat = user(10, "pat@example.com", "User");
        let heir = user(11, "lee@example.com", "User");
        let api = user(12, "svc", "Api User");
        let run_as = Ok(RunAs {
            active_playbooks: vec![item(1, "Phishing Triage")],
            job_apps: vec![item(2, "Feed Sync")],
            ..RunAs::default()
        });
        let asked = Asked {
            playbooks_to: Some(&heir),
            jobs_to: Some(&api),
            delete: true,
        };
        let list = checklist(all_abilities(), &pat, Some(&run_as), asked);
        assert_eq!(
            list.state(Step::RunAs).unwrap(),
            &StepState::Do(
                "move 1 active playbook (Phishing Triage) to lee@example.com; 1 job app (Feed Sync) to svc".into()
            )
        );
        assert_eq!(list.state(Step::Delete).unwrap().word(), "to do");
    }

    #[test]
    fn job_apps_only_move_to_an_api_user() {
        let pat = user(10, "pat@example.com", "User");
        let heir = user(11, "lee@example.com", "User");
        let run_as = Ok(RunAs {
            job_apps: vec![item(2, "Feed Sync")],
            ..RunAs::default()
        });
        let asked = Asked {
            jobs_to: Some(&heir),
            ..nothing_asked()
        };
        let list = checklist(all_abilities(), &pat, Some(&run_as), asked);
        assert_eq!(
            list.state(Step::RunAs).unwrap().line(),
            "blocked: job apps must run as an API user; lee@example.com is a User"
        );
    }

    #[test]
    fn an_instance_that_moves_only_on_delete_says_so() {
        let pat = user(10, "pat@example.com", "User");
        let heir = user(11, "lee@example.com", "User");
        let run_as = Ok(RunAs {
            active_playbooks: vec![item(1, "Phishing Triage")],
            ..RunAs::default()
        });
        let abilities = Abilities {
            move_run_as: false,
            ..all_abilities()
        };
        let kept = Asked {
            playbooks_to: Some(&heir),
            ..nothing_asked()
        };
        let list = checklist(abilities, &pat, Some(&run_as), kept);
        assert_eq!(
            list.state(Step::RunAs).unwrap().line(),
            "not possible: this instance moves Run As items only when it deletes the account; 1 active playbook (Phishing Triage) still run as it and stop when it is disabled"
        );
        let deleted = Asked {
            delete: true,
            ..kept
        };
        let list = checklist(abilities, &pat, Some(&run_as), deleted);
        assert_eq!(
            list.state(Step::Delete).unwrap().detail(),
            "delete the account, once every step above succeeded, moving 1 active playbook (Phishing Triage) to lee@example.com"
        );
    }

    #[test]
    fn a_plain_instance_says_what_it_cannot_do_and_why() {
        let api = user(12, "svc", "Api User");
        let list = checklist(Abilities::default(), &api, None, nothing_asked());
        assert_eq!(
            words(&list),
            [
                "not possible",
                "not possible",
                "not possible",
                "to do",
                "kept"
            ]
        );
        assert_eq!(
            list.state(Step::Tokens).unwrap().detail(),
            NO_TOKEN_REVOCATION
        );
        assert!(list
            .state(Step::RunAs)
            .unwrap()
            .detail()
            .contains("does not say what runs as an account"));
    }

    #[test]
    fn only_api_users_have_tokens_to_revoke() {
        let pat = user(10, "pat@example.com", "User");
        let list = checklist(
            all_abilities(),
            &pat,
            Some(&Ok(RunAs::default())),
            nothing_asked(),
        );
        assert_eq!(
            list.state(Step::Tokens).unwrap().line(),
            "nothing to do: API tokens are issued to API users only"
        );
    }

    #[test]
    fn a_disabled_account_needs_no_disable() {
        let mut pat = user(10, "pat@example.com", "User");
        pat.disabled = Some(true);
        let list = checklist(
            all_abilities(),
            &pat,
            Some(&Ok(RunAs::default())),
            nothing_asked(),
        );
        assert_eq!(list.state(Step::Disable).unwrap().word(), "nothing to do");
    }

    #[test]
    fn the_policy_blocks_what_the_actor_may_not_do() {
        let (actor, settings) = admin_actor();
        let me = user(actor.id.unwrap_or(1), &actor.user_name, "Administrator");
        let list = plan(
            &actor,
            &settings,
            all_abilities(),
            Facts {
                account: &me,
                run_as: Some(&Ok(RunAs::default())),
            },
            Asked {
                delete: true,
                ..nothing_asked()
            },
            HOW,
        );
        assert_eq!(list.state(Step::Disable).unwrap().word(), "blocked");
        assert_eq!(list.state(Step::Delete).unwrap().word(), "blocked");
    }

    #[test]
    fn the_delete_waits_for_every_earlier_step() {
        let pat = user(10, "pat@example.com", "User");
        let mut list = checklist(
            all_abilities(),
            &pat,
            Some(&Ok(RunAs::default())),
            Asked {
                delete: true,
                ..nothing_asked()
            },
        );
        assert!(may_delete(&list).is_err(), "the disable is still to do");
        list.set(Step::Disable, StepState::Done("disabled".into()));
        assert_eq!(may_delete(&list), Ok(()));
        list.set(Step::Groups, StepState::Failed("500".into()));
        assert_eq!(
            may_delete(&list),
            Err("not deleted: an earlier step did not succeed (Groups failed)".into())
        );
        list.set(Step::Groups, StepState::Unknown("lost".into()));
        assert!(may_delete(&list).is_err(), "unknown is not success");
        list.set(
            Step::Groups,
            StepState::NotPossible(NO_GROUP_EDITS.to_string()),
        );
        assert_eq!(may_delete(&list), Ok(()), "not possible here is no blocker");
    }

    #[test]
    fn a_step_done_says_so_in_the_past() {
        assert_eq!(
            done_text("move 1 job app (Feed Sync) to svc"),
            "moved 1 job app (Feed Sync) to svc"
        );
        assert_eq!(
            done_text("remove from 1 group: SOC"),
            "removed from 1 group: SOC"
        );
        assert_eq!(done_text("disable the account"), "disabled");
        assert_eq!(
            done_text(
                "delete the account, once every step above succeeded, moving 1 job app (F) to svc"
            ),
            "deleted, moving 1 job app (F) to svc"
        );
        assert_eq!(done_text("something else"), "something else");
    }

    #[test]
    fn only_groups_and_the_disable_can_be_undone() {
        let undoable: Vec<Step> = Step::ALL.into_iter().filter(|s| s.undo().is_ok()).collect();
        assert_eq!(undoable, [Step::Groups, Step::Disable]);
        for step in Step::ALL {
            assert_eq!(Step::from_action(step.action()), Some(step));
        }
    }
}

//! Offboarding from the console (`O`, `:offboard [playbooks=ACCOUNT
//! jobs=API_ACCOUNT delete]`) on the marked accounts (or the selected one):
//! the worker plans each account's checklist (`ops::offboard::plan`), the
//! preview shows every step and what is not possible and why, a yes (with
//! `delete`: the count of deletions typed) runs it through
//! `ops::offboard::execute`, and the same view then follows each step to
//! its outcome. The workflow is the operations layer's; this is its face.

use super::component::{Accounts, Context, Followup};
use super::keymap::Mode;
use super::line::LineEditor;
use super::list::ListCursor;
use super::registry::Cmd;
use crate::bulk::Cancel;
use crate::domain::offboard::{Checklist, Step, StepState};
use crate::domain::text::sanitize;
use crate::domain::User;
use crate::ops::offboard::{OffboardPlan, OffboardRun};
use crate::worker::{Command, Event, OffboardAsk, OffboardJob, RequestId};
use std::collections::{BTreeSet, HashSet};

/// The most digits the typed count of deletions takes.
const COUNT_DIGITS: usize = 9;

/// Where the offboarding view is.
#[derive(Debug, Clone, Default)]
pub(crate) enum Stage {
    #[default]
    Closed,
    /// The plan was asked for: reading the accounts.
    Planning { request: RequestId, accounts: usize },
    /// Every step of every account, waiting for the answer.
    Preview { plan: Box<OffboardPlan> },
    /// Sent: each account's checklist as its steps end.
    Running {
        request: RequestId,
        run_id: String,
        lists: Vec<Checklist>,
        cancel: Cancel,
        /// The run is over (`None` while it runs; `Some(Err)` when it did
        /// not start).
        ended: Option<Result<(), String>>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Offboarding {
    pub stage: Stage,
    /// The first line on screen.
    pub cursor: ListCursor,
    /// With `delete`: the count of deletions typed so far.
    pub typed: LineEditor,
}

impl Default for Offboarding {
    fn default() -> Offboarding {
        Offboarding {
            stage: Stage::Closed,
            cursor: ListCursor::default(),
            typed: LineEditor::new(COUNT_DIGITS),
        }
    }
}

/// `playbooks=ACCOUNT jobs=API_ACCOUNT delete`, as words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OffboardWords {
    pub playbooks_to: Option<String>,
    pub jobs_to: Option<String>,
    pub delete: bool,
}

pub(crate) fn parse_words(args: &str) -> Result<OffboardWords, String> {
    let mut words = OffboardWords::default();
    for word in args.split_whitespace() {
        match word.split_once('=') {
            None if word.eq_ignore_ascii_case("delete") => words.delete = true,
            Some(("playbooks", name)) if !name.is_empty() => {
                words.playbooks_to = Some(name.to_string())
            }
            Some(("jobs", name)) if !name.is_empty() => words.jobs_to = Some(name.to_string()),
            _ => {
                return Err(format!(
                    "expected playbooks=ACCOUNT, jobs=API_ACCOUNT or delete, not {:?}",
                    sanitize(word)
                ))
            }
        }
    }
    Ok(words)
}

impl Offboarding {
    /// The checklists on screen.
    pub fn lists(&self) -> Vec<Checklist> {
        match &self.stage {
            Stage::Preview { plan } => plan.checklists(),
            Stage::Running { lists, .. } => lists.clone(),
            _ => Vec::new(),
        }
    }

    /// Whether an offboarding run is still going.
    pub fn running(&self) -> bool {
        matches!(self.stage, Stage::Running { ended: None, .. })
    }

    /// The run whose results are on screen, once it has ended.
    pub fn ended_run(&self) -> Option<&str> {
        match &self.stage {
            Stage::Running {
                run_id,
                ended: Some(Ok(())),
                ..
            } => Some(run_id),
            _ => None,
        }
    }

    /// `O` or `:offboard [...]`: asks the worker for the plan of the marked
    /// accounts (or the selected one). Nothing is sent to the server but
    /// reads.
    pub fn start(
        &mut self,
        ctx: &mut Context,
        accounts: &dyn Accounts,
        marks: &BTreeSet<i64>,
        args: &str,
    ) -> Vec<Command> {
        if ctx.read_only() {
            let why = if ctx.session.read_only {
                "--read-only"
            } else {
                "no role of this account writes"
            };
            ctx.set_error(format!("read-only: offboarding is not sent ({why})"));
            return Vec::new();
        }
        let words = match parse_words(args) {
            Ok(words) => words,
            Err(problem) => {
                ctx.set_error(format!("offboard: {problem}"));
                return Vec::new();
            }
        };
        let ids: Vec<i64> = if marks.is_empty() {
            accounts.selected().map(|u| u.id).into_iter().collect()
        } else {
            // Table order, marks hidden by the filter included.
            accounts
                .sorted()
                .filter(|u| marks.contains(&u.id))
                .map(|u| u.id)
                .collect()
        };
        if ids.is_empty() {
            ctx.set_error("offboard: no account selected");
            return Vec::new();
        }
        let request = ctx.requests.next();
        *self = Offboarding {
            stage: Stage::Planning {
                request,
                accounts: ids.len(),
            },
            ..Offboarding::default()
        };
        ctx.layers.push(Mode::Offboard);
        ctx.set_info(format!(
            "planning the offboarding of {} account{}: reading them and what runs as them",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" }
        ));
        vec![Command::PlanOffboard {
            id: request,
            ask: Box::new(OffboardAsk {
                ids,
                playbooks_to: words.playbooks_to,
                jobs_to: words.jobs_to,
                delete: words.delete,
                actor: ctx.session.actor.clone(),
                settings: ctx.session.settings.clone(),
                capabilities: ctx.session.capabilities.clone(),
                concurrency: ctx.runs.concurrency,
            }),
        }]
    }

    /// A digit typed: the count of deletions.
    pub fn type_char(&mut self, c: char) {
        if matches!(self.stage, Stage::Preview { .. }) && c.is_ascii_digit() {
            self.typed.insert_char(c);
        }
    }

    /// Keys of the offboarding view; `None` when it is not in front.
    pub fn perform(&mut self, ctx: &mut Context, cmd: Cmd) -> Option<Vec<Command>> {
        if ctx.mode() != Mode::Offboard || matches!(cmd, Cmd::Help | Cmd::CommandPrompt) {
            return None;
        }
        // The view sets the cursor's length and page from what it drew.
        self.cursor.navigate(cmd);
        match cmd {
            Cmd::Quit => {
                if let Stage::Running { cancel, .. } = &self.stage {
                    cancel.cancel();
                }
                *ctx.quit = true;
            }
            Cmd::Close => return Some(self.close(ctx)),
            Cmd::DeleteChar => {
                self.typed.edit(cmd);
            }
            Cmd::Confirm => return Some(self.confirm(ctx)),
            _ => {}
        }
        Some(Vec::new())
    }

    fn close(&mut self, ctx: &mut Context) -> Vec<Command> {
        match &self.stage {
            Stage::Planning { request, .. } => {
                let id = *request;
                *self = Offboarding::default();
                ctx.layers.pop();
                ctx.set_info("cancelled; nothing was sent");
                vec![Command::Cancel { id }]
            }
            Stage::Preview { .. } | Stage::Closed => {
                *self = Offboarding::default();
                ctx.layers.pop();
                ctx.set_info("cancelled; nothing was sent");
                Vec::new()
            }
            Stage::Running {
                cancel,
                ended: None,
                ..
            } => {
                cancel.cancel();
                ctx.set_info(
                    "stopping: steps in flight finish, nothing new starts (rollcall resume RUN_ID finishes the rest)",
                );
                Vec::new()
            }
            Stage::Running { .. } => {
                *self = Offboarding::default();
                ctx.layers.pop();
                Vec::new()
            }
        }
    }

    fn confirm(&mut self, ctx: &mut Context) -> Vec<Command> {
        let Stage::Preview { plan } = &self.stage else {
            return Vec::new();
        };
        if plan.to_send() == 0 {
            *self = Offboarding::default();
            ctx.layers.pop();
            ctx.set_info("nothing to do; nothing was sent");
            return Vec::new();
        }
        let deletes = plan.deletes();
        if deletes > 0 && self.typed != deletes.to_string().as_str() {
            ctx.set_error(format!(
                "type {deletes} and Enter to offboard and delete {deletes} account{} for good",
                if deletes == 1 { "" } else { "s" }
            ));
            return Vec::new();
        }
        let run = OffboardRun::on(
            &ctx.session.instance,
            &ctx.session.actor.user_name,
            (**plan).clone(),
            ctx.runs.concurrency,
        );
        let request = ctx.requests.next();
        let cancel = Cancel::default();
        let run_id = run.meta.run_id.clone();
        self.stage = Stage::Running {
            request,
            run_id: run_id.clone(),
            lists: plan.checklists(),
            cancel: cancel.clone(),
            ended: None,
        };
        self.cursor = ListCursor::default();
        ctx.set_info(format!("offboarding run {run_id} started"));
        vec![Command::RunOffboard {
            id: request,
            job: Box::new(OffboardJob {
                run,
                journal: ctx.runs.journal.clone(),
                cancel,
            }),
        }]
    }

    /// The worker's answers: the plan, each step, the end.
    pub fn handle_event(&mut self, ctx: &mut Context, accounts: &dyn Accounts, event: Event) {
        match (&mut self.stage, event) {
            (Stage::Planning { request, .. }, Event::OffboardPlanned { id, plan })
                if *request == id =>
            {
                match plan {
                    Ok(plan) => {
                        // The preview says what will be sent; the status
                        // line only what was left out.
                        *ctx.status = None;
                        if !plan.missing.is_empty() {
                            let n = plan.missing.len();
                            ctx.set_error(format!(
                                "{n} account{} left out: {}",
                                if n == 1 { "" } else { "s" },
                                plan.missing
                                    .iter()
                                    .map(|(id, why)| format!("{id}: {}", sanitize(why)))
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            ));
                        }
                        self.stage = Stage::Preview { plan };
                        self.cursor = ListCursor::default();
                    }
                    Err(why) => {
                        *self = Offboarding::default();
                        ctx.layers.pop();
                        ctx.set_error(format!("offboard: {}", sanitize(&why)));
                    }
                }
            }
            (Stage::Running { request, lists, .. }, Event::OffboardStep { id, event })
                if *request == id =>
            {
                OffboardRun::apply(lists, &event)
            }
            (
                Stage::Running {
                    request,
                    lists,
                    ended,
                    run_id,
                    ..
                },
                Event::OffboardDone { id, lists: done },
            ) if *request == id => match done {
                Ok(done) => {
                    *lists = done;
                    *ended = Some(Ok(()));
                    let summary = crate::ops::offboard::summary(lists);
                    let left = crate::ops::offboard::unfinished(lists);
                    followups(ctx, accounts, lists);
                    if left > 0 {
                        ctx.set_error(format!(
                            "run {run_id}: {summary}; `rollcall resume {run_id}` finishes it"
                        ));
                    } else {
                        ctx.set_info(format!("run {run_id}: {summary}"));
                    }
                }
                Err(why) => {
                    for list in lists.iter_mut() {
                        for (_, state) in list.steps.iter_mut() {
                            if matches!(state, StepState::Do(_)) {
                                *state = StepState::Failed(format!("not sent: {why}"));
                            }
                        }
                    }
                    ctx.set_error(format!("offboarding not started: {}", sanitize(&why)));
                    *ended = Some(Err(why));
                }
            },
            _ => {}
        }
    }
}

/// The table follows the run: disabled accounts show disabled, deleted
/// ones go, and their marks with them.
fn followups(ctx: &mut Context, accounts: &dyn Accounts, lists: &[Checklist]) {
    let mut changed: Vec<User> = Vec::new();
    let mut deleted = HashSet::new();
    for list in lists {
        if matches!(list.state(Step::Delete), Some(StepState::Done(_))) {
            deleted.insert(list.id);
        } else if matches!(list.state(Step::Disable), Some(StepState::Done(_))) {
            if let Some(user) = accounts.loaded().find(|u| u.id == list.id) {
                let mut user = user.clone();
                user.disabled = Some(true);
                if matches!(list.state(Step::Groups), Some(StepState::Done(_))) {
                    user.user_groups = Some(Vec::new());
                }
                changed.push(user);
            }
        }
    }
    ctx.then(Followup::ReplaceUsers { changed, deleted });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_name_heirs_and_the_delete() {
        assert_eq!(
            parse_words("playbooks=lee@example.com jobs=12 delete"),
            Ok(OffboardWords {
                playbooks_to: Some("lee@example.com".into()),
                jobs_to: Some("12".into()),
                delete: true,
            })
        );
        assert_eq!(parse_words(""), Ok(OffboardWords::default()));
        assert!(parse_words("playbooks=").is_err());
        assert!(parse_words("purge").unwrap_err().contains("not \"purge\""));
    }
}

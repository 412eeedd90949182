//! Offboarding as one workflow, once for both faces: for each account the
//! checklist of `domain::offboard` (move what runs as it, take it out of its
//! groups, revoke its API tokens, disable it, delete it only when asked and
//! only after every earlier step succeeded), run in order and journaled
//! step by step; the report (Markdown and CSV, one row per account, a column
//! per step); `resume` of a run a crash or Ctrl-C left unfinished; and its
//! undo (enable, group memberships back; what cannot be put back, listed).

use crate::api::wire::ext;
use crate::api::{ApiError, Capabilities, Client};
use crate::bulk::{self, AccountWrite, Cancel, Reassign, RowOutcome, RowResult, RunMeta};
use crate::domain::offboard::{self as rules, Abilities, Asked, Checklist, Facts, Step, StepState};
use crate::domain::policy::{may, Action};
use crate::domain::preflight::{target_of, BulkAction};
use crate::domain::run_as::{Inheritance, RunAs};
use crate::domain::text::{csv_cell, sanitize};
use crate::domain::User;
use crate::journal::{self, Journal, OffboardSpec, Phase, ResultOutcome, RunHeader, RunSummary};
use crate::ops::session::Session;
use anyhow::{anyhow, bail, Context};
use futures::StreamExt;
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The run header's action of an offboarding run.
pub const OFFBOARD_ACTION: &str = "offboard";
/// The run header's action of an offboarding run's undo.
pub const UNDO_OFFBOARD_ACTION: &str = "undo-offboard";
/// The undo's journal actions.
pub const RESTORE_GROUPS_ACTION: &str = "restore-groups";
pub const ENABLE_ACTION: &str = "enable";

/// What this instance offers for offboarding, from its advertised
/// extensions.
pub fn abilities(capabilities: &Capabilities) -> Abilities {
    Abilities {
        run_as_visible: capabilities.has(ext::RUN_AS),
        move_run_as: capabilities.has(ext::MOVE_RUN_AS),
        reassign_on_delete: capabilities.has(ext::REASSIGN_ON_DELETE),
        group_membership: capabilities.has(ext::GROUP_MEMBERSHIP)
            && capabilities.has(ext::USER_GROUPS_FIELD),
    }
}

/// Who takes over what runs as the accounts (rule 8).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Heirs {
    pub playbooks_to: Option<User>,
    pub jobs_to: Option<User>,
}

impl Heirs {
    fn ids(&self) -> Reassign {
        Reassign {
            playbooks_to: self.playbooks_to.as_ref().map(|u| u.id),
            jobs_to: self.jobs_to.as_ref().map(|u| u.id),
        }
    }
}

/// One account of a run: as the server had it when planned, what runs as
/// it, and its checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub account: User,
    pub run_as: Option<Result<RunAs, String>>,
    pub checklist: Checklist,
}

/// What an offboarding run will do, account by account.
#[derive(Debug, Clone, PartialEq)]
pub struct OffboardPlan {
    pub accounts: Vec<Planned>,
    /// Accounts asked for that the server does not show: (id, why).
    pub missing: Vec<(i64, String)>,
    pub heirs: Heirs,
    pub delete: bool,
    pub abilities: Abilities,
}

impl OffboardPlan {
    /// Requests the run would send (the delete counted where it is to do).
    pub fn to_send(&self) -> usize {
        self.accounts.iter().map(|p| p.checklist.to_send()).sum()
    }

    /// Accounts the run would delete.
    pub fn deletes(&self) -> usize {
        self.accounts
            .iter()
            .filter(|p| matches!(p.checklist.state(Step::Delete), Some(StepState::Do(_))))
            .count()
    }

    pub fn checklists(&self) -> Vec<Checklist> {
        self.accounts.iter().map(|p| p.checklist.clone()).collect()
    }
}

/// How a person names an heir, completing rule 8's sentence, per face.
pub type HowToName = fn(Inheritance) -> String;

/// The fields an offboarding read asks for: the groups, where offered.
fn fields(session: &Session) -> Vec<String> {
    let mut fields = session.extension_fields();
    if session.capabilities.has(ext::USER_GROUPS_FIELD)
        && !fields.iter().any(|f| f == ext::USER_GROUPS_FIELD)
    {
        fields.push(ext::USER_GROUPS_FIELD.to_string());
    }
    fields
}

/// An account named by id or user name, as the server has it now.
pub async fn find_account(session: &Session, text: &str) -> anyhow::Result<User> {
    let text = text.trim();
    if let Ok(id) = text.parse::<i64>() {
        match session.client.get_user(id, &fields(session)).await {
            Ok(user) => return Ok(user),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(anyhow::Error::new(e).context(format!("reading account {id}"))),
        }
    }
    match session
        .client
        .find_user_by_name(text)
        .await
        .with_context(|| format!("looking up {}", sanitize(text)))?
    {
        Some(user) => Ok(session.client.get_user(user.id, &fields(session)).await?),
        None => bail!("no account named {} that you may see", sanitize(text)),
    }
}

/// The heirs named (by id or user name); each must be able to take over
/// from any account (the rest of rule 8 is per account, in the plan).
pub async fn resolve_heirs(
    session: &Session,
    playbooks_to: Option<&str>,
    jobs_to: Option<&str>,
    flags: (&str, &str),
) -> anyhow::Result<Heirs> {
    let mut heirs = Heirs::default();
    for (what, text, flag) in [
        (Inheritance::Playbooks, playbooks_to, flags.0),
        (Inheritance::JobApps, jobs_to, flags.1),
    ] {
        let Some(text) = text else { continue };
        let heir = find_account(session, text)
            .await
            .with_context(|| format!("{flag} {}", sanitize(text)))?;
        crate::domain::run_as::heir_qualifies(what, &crate::domain::run_as::Party::from(&heir))
            .map_err(|r| anyhow!("{flag}: {r}"))?;
        match what {
            Inheritance::Playbooks => heirs.playbooks_to = Some(heir),
            Inheritance::JobApps => heirs.jobs_to = Some(heir),
        }
    }
    Ok(heirs)
}

/// What runs as an account: not said by the instance, or read (or not).
type RunAsRead = Option<Result<RunAs, String>>;

/// Reads each account (by id) and what runs as it, and plans its checklist.
pub async fn plan(
    session: &Session,
    ids: &[i64],
    heirs: Heirs,
    delete: bool,
    how: HowToName,
    concurrency: usize,
) -> OffboardPlan {
    let abilities = abilities(&session.capabilities);
    let fields = fields(session);
    let client = &session.client;
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<i64> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    let read: Vec<(i64, Result<User, ApiError>, RunAsRead)> = futures::stream::iter(ids)
        .map(|id| {
            let fields = &fields;
            async move {
                let user = client.get_user(id, fields).await;
                let run_as = match (&user, abilities.run_as_visible) {
                    (Ok(_), true) => Some(client.run_as(id).await.map_err(|e| e.to_string())),
                    _ => None,
                };
                (id, user, run_as)
            }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut plan = OffboardPlan {
        accounts: Vec::new(),
        missing: Vec::new(),
        heirs,
        delete,
        abilities,
    };
    let mut users = Vec::new();
    for (id, user, run_as) in read {
        match user {
            Ok(user) => users.push((user, run_as)),
            Err(e) if e.status() == Some(404) => plan
                .missing
                .push((id, "no such account (or not one you may see)".into())),
            Err(e) => plan.missing.push((id, format!("could not be read: {e}"))),
        }
    }
    // A plain instance: the groups come from the user groups' members.
    if !abilities.group_membership {
        let mut bare: Vec<User> = users.iter().map(|(u, _)| u.clone()).collect();
        if let Ok(Some(membership)) = session.membership(&fields).await {
            membership.fill(&mut bare);
            for ((user, _), filled) in users.iter_mut().zip(bare) {
                user.user_groups = filled.user_groups;
            }
        }
    }
    for (account, run_as) in users {
        let checklist = rules::plan(
            &session.actor,
            &session.settings,
            abilities,
            Facts {
                account: &account,
                run_as: run_as.as_ref(),
            },
            Asked {
                playbooks_to: plan.heirs.playbooks_to.as_ref(),
                jobs_to: plan.heirs.jobs_to.as_ref(),
                delete,
            },
            &how,
        );
        plan.accounts.push(Planned {
            account,
            run_as,
            checklist,
        });
    }
    plan
}

/// One step of one account as it ends (or as planned, for a step that
/// sends nothing): what the faces show as progress.
#[derive(Debug, Clone, PartialEq)]
pub struct StepEvent {
    pub account_id: i64,
    pub user_name: String,
    pub step: Step,
    pub state: StepState,
}

impl StepEvent {
    /// "pat@example.com (12) disable: done: disable the account".
    pub fn line(&self) -> String {
        format!(
            "{} ({}) {}: {}",
            sanitize(&self.user_name),
            self.account_id,
            self.step.title(),
            sanitize(&self.state.line())
        )
    }
}

/// Everything an offboarding run is.
#[derive(Debug, Clone)]
pub struct OffboardRun {
    pub meta: RunMeta,
    pub plan: OffboardPlan,
    /// Accounts worked on at once (each account's steps run in order).
    pub concurrency: usize,
    /// The filter that chose the accounts, if one did.
    pub filter: Option<String>,
}

impl OffboardRun {
    pub fn new(session: &Session, plan: OffboardPlan, concurrency: usize) -> OffboardRun {
        OffboardRun::on(
            &session.instance,
            &session.actor.user_name,
            plan,
            concurrency,
        )
    }

    /// A new run (fresh id) of `plan` on `instance` (its base URL) by `actor`.
    pub fn on(instance: &str, actor: &str, plan: OffboardPlan, concurrency: usize) -> OffboardRun {
        OffboardRun {
            meta: RunMeta::start(instance, actor),
            plan,
            concurrency: concurrency.max(1),
            filter: None,
        }
    }

    /// The accounts' checklists as they change: by the run's events.
    pub fn apply(lists: &mut [Checklist], event: &StepEvent) {
        if let Some(list) = lists.iter_mut().find(|l| l.id == event.account_id) {
            list.set(event.step, event.state.clone());
        }
    }

    /// The journal's first line: planned = accounts with a request to
    /// send; the options and accounts, for `rollcall resume`.
    pub fn header(&self, activity_log: bool) -> RunHeader {
        let sending = self
            .plan
            .accounts
            .iter()
            .filter(|p| p.checklist.to_send() > 0)
            .count();
        let mut header = crate::ops::run::header(
            &self.meta,
            OFFBOARD_ACTION,
            crate::ops::run::Counts {
                planned: sending,
                already: self.plan.accounts.len() - sending,
                not_allowed: 0,
            },
            crate::ops::run::Chosen {
                filter: self.filter.clone(),
                ..Default::default()
            },
            activity_log,
        );
        let heirs = self.plan.heirs.ids();
        header.offboard = Some(OffboardSpec {
            accounts: self.plan.accounts.iter().map(|p| p.account.id).collect(),
            playbooks_to: heirs.playbooks_to,
            jobs_to: heirs.jobs_to,
            delete: self.plan.delete,
        });
        header
    }
}

/// Opens the journal at `path` and writes the run's header: the first step
/// of a run, before any request (no journal, no writes).
pub fn begin(
    client: &Client,
    path: Option<&Path>,
    run: &OffboardRun,
) -> Result<Journal, crate::ops::run::Refused> {
    crate::ops::run::begin_with(client, path, &run.header(client.activity_log()))
}

/// Runs every account's checklist, in order, `concurrency` accounts at a
/// time, each request journaled intent then outcome in `journal` and read
/// back before any resend (`bulk::send_journaled`). The delete goes only
/// after every earlier step of its account succeeded. Cancelling sends
/// nothing new: steps not reached end "not run" (`resume` finishes them).
/// Returns each account's checklist as it ended, in the plan's order.
pub async fn execute(
    client: &Client,
    journal: Journal,
    run: &OffboardRun,
    cancel: &Cancel,
    on_step: &mut (dyn FnMut(&StepEvent) + Send),
) -> Vec<Checklist> {
    let journal = Arc::new(Mutex::new(journal));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<StepEvent>();
    let journal = &journal;
    let work = futures::stream::iter(run.plan.accounts.iter().enumerate())
        .map(|(index, planned)| {
            let sender = sender.clone();
            async move {
                let list = run_account(client, journal, run, planned, cancel, &sender).await;
                (index, list)
            }
        })
        .buffer_unordered(run.concurrency.max(1))
        .collect::<Vec<_>>();
    tokio::pin!(work);
    let mut ended = loop {
        tokio::select! {
            Some(event) = receiver.recv() => on_step(&event),
            ended = &mut work => break ended,
        }
    };
    while let Ok(event) = receiver.try_recv() {
        on_step(&event);
    }
    ended.sort_by_key(|(index, _)| *index);
    ended.into_iter().map(|(_, list)| list).collect()
}

/// What one step sends: its journal change and before, and the write.
fn step_write(
    run: &OffboardRun,
    planned: &Planned,
    step: Step,
) -> Option<(serde_json::Value, serde_json::Value, AccountWrite)> {
    let user = &planned.account;
    let id = user.id;
    let heirs = run.plan.heirs.ids();
    match step {
        Step::RunAs => {
            let run_as = planned.run_as.as_ref()?.as_ref().ok()?;
            // Only what runs as it moves: an heir for nothing is not sent.
            let to = Reassign {
                playbooks_to: heirs
                    .playbooks_to
                    .filter(|_| !run_as.active_playbooks.is_empty()),
                jobs_to: heirs.jobs_to.filter(|_| !run_as.job_apps.is_empty()),
            };
            Some((
                json!({"playbooksTo": to.playbooks_to, "jobsTo": to.jobs_to}),
                json!({"activePlaybooks": run_as.active_playbooks, "jobApps": run_as.job_apps}),
                AccountWrite::MoveRunAs { id, to },
            ))
        }
        Step::Groups => {
            let groups = user.user_groups.clone().unwrap_or_default();
            Some((
                json!({"groupIds": []}),
                json!({
                    "groupIds": groups.iter().map(|g| g.id).collect::<Vec<_>>(),
                    "groups": groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>(),
                }),
                AccountWrite::Groups {
                    id,
                    group_ids: Vec::new(),
                },
            ))
        }
        // No instance offers it (`domain::offboard::NO_TOKEN_REVOCATION`):
        // the plan never has it to do.
        Step::Tokens => None,
        Step::Disable => Some((
            BulkAction::Disable.change(),
            bulk::state_before(BulkAction::Disable, user),
            AccountWrite::of_action(BulkAction::Disable, id, Reassign::default()),
        )),
        Step::Delete => {
            // What still runs as it moves with the delete, where the
            // instance does that (rule 8); a plain instance takes no heirs.
            let reassign = if run.plan.abilities.reassign_on_delete {
                heirs
            } else {
                Reassign::default()
            };
            Some((
                json!({"reassignPlaybooksTo": reassign.playbooks_to, "reassignJobsTo": reassign.jobs_to}),
                bulk::state_before(BulkAction::Delete, user),
                AccountWrite::Delete { id, reassign },
            ))
        }
    }
}

async fn run_account(
    client: &Client,
    journal: &Arc<Mutex<Journal>>,
    run: &OffboardRun,
    planned: &Planned,
    cancel: &Cancel,
    events: &tokio::sync::mpsc::UnboundedSender<StepEvent>,
) -> Checklist {
    let mut list = planned.checklist.clone();
    let user = &planned.account;
    for step in Step::ALL {
        let Some(state) = list.state(step).cloned() else {
            continue;
        };
        let ended = match state {
            StepState::Do(_) if cancel.is_cancelled() => StepState::NotRun,
            StepState::Do(what) => match (step, rules::may_delete(&list)) {
                (Step::Delete, Err(why)) => StepState::Held(why),
                _ => match step_write(run, planned, step) {
                    None => StepState::Failed(format!("{what}: nothing to send it with")),
                    Some((change, before, write)) => {
                        let entry = bulk::intent(
                            &run.meta,
                            step.action(),
                            user.id,
                            &user.user_name,
                            change,
                            before,
                        );
                        match bulk::send_journaled(client, Some(journal), entry, &write, cancel)
                            .await
                        {
                            RowOutcome::Ok => StepState::Done(rules::done_text(&what)),
                            RowOutcome::Failed(why) => StepState::Failed(why),
                            RowOutcome::Unknown(why) | RowOutcome::Unjournaled(why) => {
                                StepState::Unknown(why)
                            }
                            RowOutcome::NotSent => StepState::NotRun,
                        }
                    }
                },
            },
            other => other,
        };
        list.set(step, ended.clone());
        let _ = events.send(StepEvent {
            account_id: user.id,
            user_name: user.user_name.clone(),
            step,
            state: ended,
        });
    }
    list
}

/// Each account's steps as the journal has them for `run_id`: the latest
/// outcome per account and step (an intent without one is unknown).
fn journaled_steps(
    entries: &[journal::Entry],
    run_id: &str,
) -> HashMap<(i64, Step), (ResultOutcome, Option<String>)> {
    journal::action_results(entries, run_id)
        .into_iter()
        .filter_map(|r| {
            Step::from_action(&r.action).map(|step| ((r.account_id, step), (r.outcome, r.message)))
        })
        .collect()
}

/// The header of an offboarding run, found in the journal.
fn offboard_header<'a>(
    contents: &'a journal::Contents,
    original: &RunSummary,
) -> anyhow::Result<&'a OffboardSpec> {
    contents
        .headers
        .iter()
        .filter(|h| h.run_id == original.run_id)
        .find_map(|h| h.offboard.as_ref())
        .ok_or_else(|| {
            anyhow!(
                "run {} was a {} run, not an offboarding run",
                sanitize(&original.run_id),
                sanitize(&original.action)
            )
        })
}

fn made_on(original: &RunSummary, session: &Session) -> anyhow::Result<()> {
    if original.instance != session.instance {
        bail!(
            "run {} was made on {}, but this session is connected to {}",
            sanitize(&original.run_id),
            sanitize(&original.instance),
            sanitize(&session.instance)
        );
    }
    Ok(())
}

/// What resuming a run will do: the run (same id) with each account's
/// checklist as the journal and the server have it now.
#[derive(Debug, Clone)]
pub struct ResumePlan {
    pub run: OffboardRun,
    /// Accounts whose every step already ended (nothing left to send).
    pub finished: usize,
}

/// Plans finishing `original` (an offboarding run of the journal read in
/// `contents`): each account is read again and planned afresh, so a step
/// whose outcome the journal lost shows as the server has it (a disable
/// that landed is "nothing to do: already disabled"); steps the journal
/// has as done stay done. A deleted account (gone, with its delete in the
/// journal) is done.
pub async fn plan_resume(
    session: &Session,
    contents: &journal::Contents,
    original: &RunSummary,
    how: HowToName,
    concurrency: usize,
) -> anyhow::Result<ResumePlan> {
    if original.action != OFFBOARD_ACTION {
        bail!(
            "run {} was a {} run: only an offboarding run is resumed",
            sanitize(&original.run_id),
            sanitize(&original.action)
        );
    }
    let spec = offboard_header(contents, original)?.clone();
    made_on(original, session)?;
    let read_heir = |id: Option<i64>| async move {
        match id {
            Some(id) => session
                .client
                .get_user(id, &[])
                .await
                .map(Some)
                .with_context(|| format!("reading the heir {id}")),
            None => Ok(None),
        }
    };
    let heirs = Heirs {
        playbooks_to: read_heir(spec.playbooks_to).await?,
        jobs_to: read_heir(spec.jobs_to).await?,
    };
    let mut fresh = plan(
        session,
        &spec.accounts,
        heirs,
        spec.delete,
        how,
        concurrency,
    )
    .await;
    let journaled = journaled_steps(&contents.entries, &original.run_id);
    let names: HashMap<i64, String> = contents
        .entries
        .iter()
        .filter(|e| e.run_id == original.run_id)
        .map(|e| (e.account_id, e.account_name.clone()))
        .collect();
    // Gone, with a delete in the journal: the delete landed.
    let mut gone_deleted = Vec::new();
    fresh.missing.retain(|(id, why)| {
        let deleted =
            journaled.contains_key(&(*id, Step::Delete)) && why.starts_with("no such account");
        if deleted {
            gone_deleted.push(*id);
        }
        !deleted
    });
    for planned in &mut fresh.accounts {
        for step in Step::ALL {
            if let Some((ResultOutcome::Ok, message)) = journaled.get(&(planned.account.id, step)) {
                let why = message
                    .clone()
                    .unwrap_or_else(|| format!("done by run {}", original.run_id));
                planned.checklist.set(step, StepState::Done(why));
            }
        }
    }
    let mut finished = fresh
        .accounts
        .iter()
        .filter(|p| p.checklist.to_send() == 0)
        .count();
    for id in gone_deleted {
        finished += 1;
        let mut steps: Vec<(Step, StepState)> = Vec::new();
        for step in Step::ALL {
            let state = match journaled.get(&(id, step)) {
                Some((ResultOutcome::Ok, m)) => {
                    StepState::Done(m.clone().unwrap_or_else(|| "done".into()))
                }
                _ if step == Step::Delete => StepState::Done(
                    "deleted: its outcome was not journaled, and the account is gone".into(),
                ),
                Some((_, m)) => StepState::Unknown(m.clone().unwrap_or_default()),
                None => StepState::Nothing("the account is deleted".into()),
            };
            steps.push((step, state));
        }
        let account = User {
            id,
            user_name: names.get(&id).cloned().unwrap_or_default(),
            ..Default::default()
        };
        fresh.accounts.push(Planned {
            checklist: Checklist {
                id,
                user_name: account.user_name.clone(),
                steps,
            },
            account,
            run_as: None,
        });
    }
    let run = OffboardRun {
        meta: RunMeta {
            run_id: original.run_id.clone(),
            instance: session.instance.clone(),
            actor: session.actor.user_name.clone(),
        },
        plan: fresh,
        concurrency: concurrency.max(1),
        filter: None,
    };
    Ok(ResumePlan { run, finished })
}

/// Opens the journal to go on with a run that already has its header.
pub fn reopen(client: &Client, path: &Path) -> Result<Journal, crate::ops::run::Refused> {
    use crate::ops::run::Refused;
    if client.is_read_only() {
        return Err(Refused::ReadOnly);
    }
    Journal::open(path)
        .map_err(|e| Refused::Journal(format!("cannot open the journal {}: {e}", path.display())))
}

// ---------------------------------------------------------------- report

/// The report's Markdown: a title, a table with one row per account and a
/// column per step (its outcome), then each step's detail where it says
/// more than its word.
pub fn write_markdown(
    run_id: &str,
    lists: &[Checklist],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let cell = |text: &str| sanitize(text).replace('|', "\\|");
    writeln!(out, "# Offboarding run {}", cell(run_id))?;
    writeln!(out)?;
    let titles: Vec<&str> = Step::ALL.iter().map(|s| s.title()).collect();
    writeln!(out, "| Account | ID | {} |", titles.join(" | "))?;
    writeln!(out, "|---|---|{}", "---|".repeat(titles.len()))?;
    for list in lists {
        let words: Vec<&str> = Step::ALL
            .iter()
            .map(|s| list.state(*s).map(StepState::word).unwrap_or("-"))
            .collect();
        writeln!(
            out,
            "| {} | {} | {} |",
            cell(&list.user_name),
            list.id,
            words.join(" | ")
        )?;
    }
    writeln!(out)?;
    writeln!(out, "## Details")?;
    for list in lists {
        writeln!(out)?;
        writeln!(out, "- **{}** ({})", cell(&list.user_name), list.id)?;
        for (step, state) in &list.steps {
            writeln!(out, "  - {}: {}", step.title(), cell(&state.line()))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The report's CSV: account_id, account_name, then per step its outcome
/// and its detail.
pub fn write_csv(lists: &[Checklist], out: &mut dyn Write) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    let mut header = vec!["account_id".to_string(), "account_name".to_string()];
    for step in Step::ALL {
        header.push(step.column().to_string());
        header.push(format!("{}_detail", step.column()));
    }
    writer.write_record(&header)?;
    for list in lists {
        let mut row = vec![list.id.to_string(), csv_cell(&list.user_name)];
        for step in Step::ALL {
            match list.state(step) {
                Some(state) => {
                    row.push(state.word().to_string());
                    row.push(csv_cell(state.detail()));
                }
                None => row.extend([String::new(), String::new()]),
            }
        }
        writer.write_record(&row)?;
    }
    writer.flush()?;
    Ok(())
}

/// "3 accounts: 2 finished, 1 with a failed step": one line for the end.
pub fn summary(lists: &[Checklist]) -> String {
    let count = |wanted: fn(&StepState) -> bool| {
        lists
            .iter()
            .filter(|l| l.steps.iter().any(|(_, s)| wanted(s)))
            .count()
    };
    let failed = count(|s| matches!(s, StepState::Failed(_) | StepState::Held(_)));
    let unknown = count(|s| matches!(s, StepState::Unknown(_)));
    let not_run = count(|s| matches!(s, StepState::NotRun));
    let blocked = count(|s| matches!(s, StepState::Blocked(_)));
    let clean = lists
        .iter()
        .filter(|l| {
            l.steps
                .iter()
                .all(|(_, s)| s.succeeded() || *s == StepState::NotAsked)
        })
        .count();
    format!(
        "{} account{}: {clean} with every step done, {failed} with a failed or held step, {unknown} with an unknown step, {blocked} with a blocked step, {not_run} not finished",
        lists.len(),
        if lists.len() == 1 { "" } else { "s" }
    )
}

/// Whether a run's checklists leave anything for `rollcall resume`.
pub fn unfinished(lists: &[Checklist]) -> usize {
    lists
        .iter()
        .filter(|l| l.steps.iter().any(|(_, s)| s.unfinished()))
        .count()
}

// ---------------------------------------------------------------- undo

/// One account's groups to put back.
#[derive(Debug, Clone)]
pub struct Regroup {
    pub user: User,
    pub group_ids: Vec<i64>,
    pub names: Vec<String>,
}

/// What undoing an offboarding run would do, and what it cannot.
#[derive(Debug, Clone, Default)]
pub struct OffboardUndoPlan {
    pub original: Option<RunSummary>,
    /// Accounts to put back in their groups.
    pub regroup: Vec<Regroup>,
    /// Accounts to enable.
    pub enable: Vec<User>,
    /// What cannot be put back: (id, name, what was done, why not).
    pub irreversible: Vec<(i64, String, String, String)>,
    /// Accounts the server no longer shows: (id, name).
    pub missing: Vec<(i64, String)>,
    /// Steps whose outcome was not known and that the server does not show
    /// done: nothing to put back. (id, name, step)
    pub not_applied: Vec<(i64, String, String)>,
    /// Could not be read back: left alone. (id, name, why)
    pub unreadable: Vec<(i64, String, String)>,
    /// Refused by the policy for this actor: (id, name, why).
    pub not_allowed: Vec<(i64, String, String)>,
}

impl OffboardUndoPlan {
    pub fn to_send(&self) -> usize {
        self.regroup.len() + self.enable.len()
    }
}

/// Plans the undo of `original`, an offboarding run: its group removals
/// and disables that happened (or whose outcome is unknown and the server
/// shows done) are put back; every other step that happened is listed as
/// what cannot be.
pub async fn plan_undo(
    session: &Session,
    contents: &journal::Contents,
    original: RunSummary,
) -> anyhow::Result<OffboardUndoPlan> {
    if original.action != OFFBOARD_ACTION {
        bail!(
            "run {} was a {} run, not an offboarding run",
            sanitize(&original.run_id),
            sanitize(&original.action)
        );
    }
    made_on(&original, session)?;
    let run_id = original.run_id.clone();
    let results = journal::action_results(&contents.entries, &run_id);
    // Each (account, step)'s latest intent's before.
    let mut befores: HashMap<(i64, String), serde_json::Value> = HashMap::new();
    for e in contents
        .entries
        .iter()
        .filter(|e| e.run_id == run_id && e.phase == Phase::Intent)
    {
        befores.insert((e.account_id, e.action.clone()), e.before.clone());
    }
    let mut plan = OffboardUndoPlan {
        original: Some(original),
        ..Default::default()
    };
    let fields = fields(session);
    let mut now: HashMap<i64, Result<User, ApiError>> = HashMap::new();
    for r in &results {
        if let std::collections::hash_map::Entry::Vacant(slot) = now.entry(r.account_id) {
            slot.insert(session.client.get_user(r.account_id, &fields).await);
        }
    }
    // A deleted account is listed once, as what cannot be undone.
    let mut missing_seen: std::collections::HashSet<i64> = results
        .iter()
        .filter(|r| r.action == Step::Delete.action() && r.outcome == ResultOutcome::Ok)
        .map(|r| r.account_id)
        .collect();
    for r in &results {
        let Some(step) = Step::from_action(&r.action) else {
            continue;
        };
        let (id, name) = (r.account_id, r.account_name.clone());
        if r.outcome == ResultOutcome::Failed {
            continue;
        }
        let sure = r.outcome == ResultOutcome::Ok;
        if let Err(why) = step.undo() {
            // A step that may have happened and cannot be put back.
            let what = match r.outcome {
                ResultOutcome::Ok => format!("{} done", step.title()),
                _ => format!(
                    "{} may have happened (its outcome is unknown)",
                    step.title()
                ),
            };
            plan.irreversible.push((id, name, what, why.to_string()));
            continue;
        }
        let user = match now.get(&id) {
            Some(Ok(user)) => user.clone(),
            Some(Err(e)) if e.status() == Some(404) => {
                if missing_seen.insert(id) {
                    plan.missing.push((id, name));
                }
                continue;
            }
            Some(Err(e)) => {
                plan.unreadable.push((id, name, e.to_string()));
                continue;
            }
            None => continue,
        };
        let target = target_of(&user, &session.actor);
        match step {
            Step::Groups => {
                let before = befores.get(&(id, r.action.clone()));
                let ids: Vec<i64> = before
                    .and_then(|b| b.get("groupIds"))
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default();
                let names: Vec<String> = before
                    .and_then(|b| b.get("groups"))
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default();
                if !sure {
                    match &user.user_groups {
                        Some(groups) if groups.is_empty() => {}
                        Some(_) => {
                            plan.not_applied.push((id, name, step.title().into()));
                            continue;
                        }
                        None => {
                            plan.unreadable.push((
                                id,
                                name,
                                "the answer does not show its groups".into(),
                            ));
                            continue;
                        }
                    }
                }
                if let Err(refusal) = may(&session.actor, &session.settings, Action::Edit, &target)
                {
                    plan.not_allowed.push((id, name, refusal.0));
                    continue;
                }
                plan.regroup.push(Regroup {
                    user,
                    group_ids: ids,
                    names,
                });
            }
            Step::Disable => {
                if !sure && user.disabled != Some(true) {
                    plan.not_applied.push((id, name, step.title().into()));
                    continue;
                }
                if let Err(refusal) =
                    may(&session.actor, &session.settings, Action::Enable, &target)
                {
                    plan.not_allowed.push((id, name, refusal.0));
                    continue;
                }
                plan.enable.push(user);
            }
            _ => {}
        }
    }
    Ok(plan)
}

/// The undo run's header.
pub fn undo_header(meta: &RunMeta, plan: &OffboardUndoPlan, activity_log: bool) -> RunHeader {
    crate::ops::run::header(
        meta,
        UNDO_OFFBOARD_ACTION,
        crate::ops::run::Counts {
            planned: plan.to_send(),
            already: plan.not_applied.len(),
            not_allowed: plan.not_allowed.len(),
        },
        crate::ops::run::Chosen {
            undo_of: plan.original.as_ref().map(|o| o.run_id.clone()),
            ..Default::default()
        },
        activity_log,
    )
}

/// Runs the undo (journaled in `journal`, opened with [`undo_header`]):
/// each account's groups put back, then each account enabled, read back
/// before any resend.
pub async fn execute_undo(
    client: &Client,
    journal: Journal,
    meta: &RunMeta,
    plan: &OffboardUndoPlan,
    concurrency: usize,
    cancel: &Cancel,
    on_result: &mut (dyn FnMut(&RowResult) + Send),
) -> Vec<RowResult> {
    let journal = Arc::new(Mutex::new(journal));
    let mut writes: Vec<(&User, journal::Entry, AccountWrite)> = Vec::new();
    for regroup in &plan.regroup {
        let user = &regroup.user;
        let now: Vec<i64> = user.user_groups.iter().flatten().map(|g| g.id).collect();
        let entry = bulk::intent(
            meta,
            RESTORE_GROUPS_ACTION,
            user.id,
            &user.user_name,
            json!({"groupIds": regroup.group_ids}),
            json!({"groupIds": now}),
        );
        let write = AccountWrite::Groups {
            id: user.id,
            group_ids: regroup.group_ids.clone(),
        };
        writes.push((user, entry, write));
    }
    for user in &plan.enable {
        let entry = bulk::intent(
            meta,
            ENABLE_ACTION,
            user.id,
            &user.user_name,
            BulkAction::Enable.change(),
            bulk::state_before(BulkAction::Enable, user),
        );
        let write = AccountWrite::of_action(BulkAction::Enable, user.id, Reassign::default());
        writes.push((user, entry, write));
    }
    let journal = &journal;
    let mut stream = futures::stream::iter(writes.into_iter().enumerate())
        .map(|(index, (user, entry, write))| async move {
            let outcome = if cancel.is_cancelled() {
                RowOutcome::NotSent
            } else {
                bulk::send_journaled(client, Some(journal), entry, &write, cancel).await
            };
            (
                index,
                RowResult {
                    id: user.id,
                    user_name: user.user_name.clone(),
                    outcome,
                },
            )
        })
        .buffer_unordered(concurrency.max(1));
    let mut results = Vec::new();
    while let Some((index, row)) = stream.next().await {
        on_result(&row);
        results.push((index, row));
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, row)| row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(id: i64, name: &str, states: [StepState; 5]) -> Checklist {
        Checklist {
            id,
            user_name: name.into(),
            steps: Step::ALL.into_iter().zip(states).collect(),
        }
    }

    fn sample() -> Vec<Checklist> {
        vec![
            list(
                7,
                "pat|x@example.com",
                [
                    StepState::Nothing("no active playbook or job app runs as it".into()),
                    StepState::Done("remove from 1 group: SOC".into()),
                    StepState::Nothing("API tokens are issued to API users only".into()),
                    StepState::Done("disable the account".into()),
                    StepState::NotAsked,
                ],
            ),
            list(
                8,
                "=svc",
                [
                    StepState::NotPossible("x".into()),
                    StepState::Failed("500, \"boom\"".into()),
                    StepState::NotPossible("y".into()),
                    StepState::NotRun,
                    StepState::Held("not deleted".into()),
                ],
            ),
        ]
    }

    #[test]
    fn the_markdown_report_has_a_row_per_account_and_a_column_per_step() {
        let mut out = Vec::new();
        write_markdown("run-1", &sample(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("| Account | ID | Run As | Groups | API tokens | Disable | Delete |"));
        assert!(text.contains(
            "| pat\\|x@example.com | 7 | nothing to do | done | nothing to do | done | kept |"
        ));
        assert!(
            text.contains("| =svc | 8 | not possible | failed | not possible | not run | held |")
        );
        assert!(text.contains("  - Groups: failed: 500, \"boom\""));
    }

    #[test]
    fn the_csv_report_has_an_outcome_and_a_detail_per_step() {
        let mut out = Vec::new();
        write_csv(&sample(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "account_id,account_name,run_as,run_as_detail,groups,groups_detail,api_tokens,api_tokens_detail,disable,disable_detail,delete,delete_detail"
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].starts_with("7,pat|x@example.com,nothing to do,"));
        // A name that a spreadsheet would read as a formula is defused.
        assert!(rows[1].starts_with("8,'=svc,not possible,x,failed,\"500, \"\"boom\"\"\""));
    }

    #[test]
    fn the_summary_counts_accounts_by_their_worst_step() {
        assert_eq!(
            summary(&sample()),
            "2 accounts: 1 with every step done, 1 with a failed or held step, 0 with an unknown step, 0 with a blocked step, 1 not finished"
        );
        assert_eq!(unfinished(&sample()), 1);
    }
}

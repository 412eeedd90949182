//! Marks, bulk actions (preflight, run, results) and the audit view: the
//! App's state for them and how keys and worker events change it.

use super::app::App;
use super::keymap::Mode;
use super::line::LineEditor;
use super::list::ListCursor;
use super::registry::Cmd;
use crate::bulk::{Cancel, Reassign, RowOutcome, RowResult};
use crate::domain::audit::{self, Audit, AuditInput, FindingKind, DEFAULT_STALE_DAYS};
use crate::domain::preflight::{self, BulkAction, Preflight};
use crate::domain::User;
use crate::ops::run::RunRequest;
use crate::ops::undo::UndoPlan;
use crate::worker::{BulkJob, Command, Event, RequestId};
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

/// What `q` asks during a bulk run.
pub const STOP_QUESTION: &str = "Stop the run? unfinished accounts are not sent (y/n)";

/// The most digits a bulk delete's typed count takes (no run is larger).
const COUNT_DIGITS: usize = 9;

/// The three preflight groups, in the order Tab visits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    WillChange,
    Already,
    NotAllowed,
}

impl Group {
    pub const ALL: [Group; 3] = [Group::WillChange, Group::Already, Group::NotAllowed];
}

/// A preflight waiting for the admin's answer.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub action: BulkAction,
    pub preflight: Preflight,
    /// The accounts judged, by id (names for the lists, bodies for the run).
    pub users: HashMap<i64, User>,
    pub group: Group,
    /// The first line of the group on screen.
    pub scroll: ListCursor,
    /// Delete: the count typed so far.
    pub typed: LineEditor,
    /// Delete: who takes over the Run As playbooks and job apps.
    pub reassign: Reassign,
    /// An undo: the run it puts back.
    pub undo_of: Option<String>,
}

impl Pending {
    pub fn group_len(&self, group: Group) -> usize {
        match group {
            Group::WillChange => self.preflight.will_change.len(),
            Group::Already => self.preflight.already.len(),
            Group::NotAllowed => self.preflight.not_allowed.len(),
        }
    }

    /// The lines of a group: account name, and the reason where refused.
    pub fn group_lines(&self, group: Group) -> Vec<(String, Option<String>)> {
        let name = |id: &i64| {
            self.users
                .get(id)
                .map_or_else(|| format!("#{id}"), |u| u.user_name.clone())
        };
        match group {
            Group::WillChange => self
                .preflight
                .will_change
                .iter()
                .map(|id| (name(id), None))
                .collect(),
            Group::Already => self
                .preflight
                .already
                .iter()
                .map(|id| (name(id), None))
                .collect(),
            Group::NotAllowed => self
                .preflight
                .not_allowed
                .iter()
                .map(|(id, reason)| (name(id), Some(reason.clone())))
                .collect(),
        }
    }
}

/// A bulk run, from the moment it is sent until the results are closed.
#[derive(Debug, Clone)]
pub(crate) struct RunState {
    pub id: RequestId,
    pub action: BulkAction,
    /// The accounts sent, by id, as they were before the run.
    pub targets: HashMap<i64, User>,
    pub total: usize,
    /// In the order they finished; replaced by target order when done.
    pub results: Vec<RowResult>,
    pub started: DateTime<Utc>,
    pub cancel: Cancel,
    pub done: bool,
    pub already: usize,
    /// Refused by preflight, never sent: name and reason.
    pub not_allowed: Vec<(String, String)>,
    /// The highlighted result (Enter shows it whole).
    pub cursor: ListCursor,
}

impl RunState {
    pub fn count(&self, wanted: fn(&RowOutcome) -> bool) -> usize {
        self.results.iter().filter(|r| wanted(&r.outcome)).count()
    }

    /// Accounts per second so far, when any time has passed.
    pub fn rate(&self, now: DateTime<Utc>) -> Option<f64> {
        let elapsed = (now - self.started).num_milliseconds();
        (elapsed > 0 && !self.results.is_empty())
            .then(|| self.results.len() as f64 * 1000.0 / elapsed as f64)
    }

    /// Seconds left at the current rate.
    pub fn seconds_left(&self, now: DateTime<Utc>) -> Option<u64> {
        let rate = self.rate(now)?;
        let left = self.total.saturating_sub(self.results.len());
        (rate > 0.0).then(|| (left as f64 / rate).ceil() as u64)
    }
}

/// The audit view.
#[derive(Debug, Clone)]
pub(crate) struct AuditState {
    pub audit: Audit,
    pub cursor: ListCursor,
}

#[derive(Default)]
pub(crate) struct BulkState {
    /// Marked accounts by id, so marks survive filtering, sorting and reloads.
    pub marks: BTreeSet<i64>,
    /// The account last marked with Space: where `V` ranges from.
    pub anchor: Option<i64>,
    pub pending: Option<Pending>,
    pub run: Option<RunState>,
    pub audit: Option<AuditState>,
    /// A retry waiting for its read-back: the request, the action, and the
    /// accounts to retry.
    pub retry: Option<(RequestId, BulkAction, HashSet<i64>)>,
    /// `q` during a run asked "Stop the run?" and waits for y or n.
    pub stop_asked: bool,
    /// The answer was yes: quit once the run has stopped.
    pub quit_when_stopped: bool,
}

impl BulkState {
    /// A character typed in the delete confirmation: only digits count.
    pub fn type_confirmation(&mut self, c: char) {
        if let Some(pending) = &mut self.pending {
            if pending.action == BulkAction::Delete && c.is_ascii_digit() {
                pending.typed.insert_char(c);
            }
        }
    }
}

/// `user` with the action's change applied, as the server now has it.
fn changed(action: BulkAction, user: &User) -> Option<User> {
    let serde_json::Value::Object(change) = action.change() else {
        return None;
    };
    let mut value = serde_json::to_value(user).ok()?;
    let object = value.as_object_mut()?;
    for (key, v) in change {
        object.insert(key, v);
    }
    serde_json::from_value(value).ok()
}

impl App {
    /// Journal runs to `path` instead of the default location (tests).
    pub fn with_journal(mut self, path: Option<PathBuf>) -> App {
        self.run_settings.journal = path;
        self
    }

    /// Requests in flight at once during a bulk run (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> App {
        self.run_settings.concurrency = concurrency.max(1);
        self
    }

    /// The marked account ids.
    pub fn marked(&self) -> &BTreeSet<i64> {
        &self.bulk.marks
    }

    /// The preflight awaiting confirmation, if any.
    pub fn preflight(&self) -> Option<&Preflight> {
        self.bulk.pending.as_ref().map(|p| &p.preflight)
    }

    /// The results of the current or last bulk run so far (until the
    /// results view is closed).
    pub fn bulk_results(&self) -> Option<&[RowResult]> {
        self.bulk.run.as_ref().map(|r| r.results.as_slice())
    }

    /// Whether a bulk run is still going.
    pub fn bulk_running(&self) -> bool {
        self.bulk.run.as_ref().is_some_and(|r| !r.done)
    }

    fn row_id(&self, view_index: usize) -> Option<i64> {
        let row = *self.view.get(view_index)?;
        self.rows.get(row as usize).map(|r| r.user.id)
    }

    /// Keys of the bulk and audit modes, and the marking and bulk keys of
    /// the table; `None` leaves the key to the rest of `perform`.
    pub(super) fn perform_bulk(&mut self, cmd: Cmd) -> Option<Vec<Command>> {
        if cmd == Cmd::Quit {
            // Nothing new starts once the console is going away.
            if let Some(run) = &self.bulk.run {
                run.cancel.cancel();
            }
            return None;
        }
        // A pending "stop the run?" takes any key but y as its no, help too.
        if cmd == Cmd::Help && !(self.mode() == Mode::BulkProgress && self.bulk.stop_asked) {
            return None;
        }
        match self.mode() {
            Mode::BulkConfirm => Some(self.bulk_confirm_key(cmd)),
            Mode::BulkProgress => {
                self.progress_key(cmd);
                Some(Vec::new())
            }
            Mode::BulkResults => Some(self.results_key(cmd)),
            Mode::ResultDetail => {
                if cmd == Cmd::Close {
                    self.layers.pop();
                }
                self.detail.navigate(cmd);
                Some(Vec::new())
            }
            Mode::Audit => {
                self.audit_key(cmd);
                Some(Vec::new())
            }
            Mode::Table => {
                match cmd {
                    Cmd::Mark => {
                        self.toggle_mark();
                    }
                    Cmd::MarkRange => {
                        self.mark_range();
                    }
                    Cmd::MarkAllShown => self.mark_all_shown(),
                    Cmd::InvertMarks => self.invert_marks(),
                    Cmd::ClearMarks => self.clear_marks(),
                    Cmd::Bulk(bulk) => return Some(self.start_bulk(bulk)),
                    Cmd::Audit => self.open_audit(),
                    _ => return None,
                }
                Some(Vec::new())
            }
            _ => None,
        }
    }

    fn toggle_mark(&mut self) -> Option<()> {
        let id = self.row_id(self.table.selected)?;
        if !self.bulk.marks.remove(&id) {
            self.bulk.marks.insert(id);
            self.bulk.anchor = Some(id);
        }
        self.table.select(self.table.selected + 1);
        Some(())
    }

    fn mark_range(&mut self) -> Option<()> {
        let cursor_id = self.row_id(self.table.selected)?;
        let anchor_at = self
            .bulk
            .anchor
            .and_then(|anchor| (0..self.view.len()).find(|&i| self.row_id(i) == Some(anchor)));
        let Some(anchor_at) = anchor_at else {
            // No anchor on screen: this account becomes it.
            self.bulk.marks.insert(cursor_id);
            self.bulk.anchor = Some(cursor_id);
            self.set_info("range starts here; move and press V again");
            return Some(());
        };
        let (from, to) = if anchor_at <= self.table.selected {
            (anchor_at, self.table.selected)
        } else {
            (self.table.selected, anchor_at)
        };
        let ids: Vec<i64> = (from..=to).filter_map(|i| self.row_id(i)).collect();
        self.bulk.marks.extend(ids);
        Some(())
    }

    fn mark_all_shown(&mut self) {
        let ids: Vec<i64> = (0..self.view.len())
            .filter_map(|i| self.row_id(i))
            .collect();
        self.bulk.marks.extend(ids);
    }

    fn invert_marks(&mut self) {
        for i in 0..self.view.len() {
            if let Some(id) = self.row_id(i) {
                if !self.bulk.marks.remove(&id) {
                    self.bulk.marks.insert(id);
                }
            }
        }
    }

    pub(super) fn clear_marks(&mut self) {
        let cleared = self.bulk.marks.len();
        self.bulk.marks.clear();
        self.bulk.anchor = None;
        self.set_info(format!("cleared {cleared} marks"));
    }

    /// The accounts a bulk action applies to: the marked ones that are
    /// loaded, in table order, or else the selected one.
    fn bulk_targets(&self, only: Option<&HashSet<i64>>) -> Vec<&User> {
        let wanted = |user: &User| match only {
            Some(ids) => ids.contains(&user.id),
            None => self.bulk.marks.contains(&user.id),
        };
        if only.is_none() && self.bulk.marks.is_empty() {
            return self.selected_user().into_iter().collect();
        }
        // Table order (all loaded rows, not only those the filter shows):
        // a mark hidden by the filter is still a mark.
        self.sorted_users().filter(|u| wanted(u)).collect()
    }

    /// Preflights `action` on the marked accounts (or the selected one) and
    /// asks for confirmation. Nothing is sent yet.
    pub(super) fn start_bulk(&mut self, action: BulkAction) -> Vec<Command> {
        self.preflight_on(action, None)
    }

    /// A one-account action (`p`, `M`) on the selected account, whatever is
    /// marked: the same preflight (confirm, "already", not allowed) and the
    /// same journaled run as a bulk action of one.
    pub(super) fn preflight_selected(&mut self, action: BulkAction) -> Vec<Command> {
        let Some(id) = self.selected_user().map(|u| u.id) else {
            self.set_error(format!("{}: no account selected", action.name()));
            return Vec::new();
        };
        self.preflight_on(action, Some(&HashSet::from([id])))
    }

    /// `:delete playbooks=ACCOUNT jobs=ACCOUNT`: a bulk delete whose Run As
    /// playbooks and job apps move to the named accounts (rule 8; job apps
    /// only to an API user). ACCOUNT is a loaded account's id or user name.
    pub(super) fn start_bulk_delete(&mut self, args: &str) -> Vec<Command> {
        match self.parse_reassign(args) {
            Ok(reassign) => {
                let commands = self.preflight_on(BulkAction::Delete, None);
                if let Some(pending) = self.bulk.pending.as_mut() {
                    pending.reassign = reassign;
                }
                commands
            }
            Err(problem) => {
                self.set_error(format!("delete: {problem}"));
                Vec::new()
            }
        }
    }

    fn parse_reassign(&self, args: &str) -> Result<Reassign, String> {
        use crate::domain::run_as::{self, Inheritance, Party};
        let mut reassign = Reassign::default();
        for word in args.split_whitespace() {
            let (key, name) = word.split_once('=').ok_or_else(|| {
                format!("expected playbooks=ACCOUNT or jobs=ACCOUNT, not {word:?}")
            })?;
            let account = self
                .rows
                .iter()
                .map(|row| &row.user)
                .find(|u| u.id.to_string() == name || u.user_name.eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("no loaded account {name:?}"))?;
            let (what, heir) = match key {
                "playbooks" => (Inheritance::Playbooks, &mut reassign.playbooks_to),
                "jobs" => (Inheritance::JobApps, &mut reassign.jobs_to),
                other => return Err(format!("unknown key {other:?} (playbooks, jobs)")),
            };
            run_as::heir_qualifies(what, &Party::from(account)).map_err(|r| r.to_string())?;
            *heir = Some(account.id);
        }
        Ok(reassign)
    }

    fn preflight_on(&mut self, action: BulkAction, only: Option<&HashSet<i64>>) -> Vec<Command> {
        if self.read_only() {
            let why = if self.ctx.read_only {
                "--read-only"
            } else {
                "no role of this account writes"
            };
            self.set_error(format!("read-only: {} is not sent ({why})", action.name()));
            return Vec::new();
        }
        let targets: Vec<User> = self.bulk_targets(only).into_iter().cloned().collect();
        if targets.is_empty() {
            self.set_error(format!("{}: no account selected", action.name()));
            return Vec::new();
        }
        self.open_preflight(action, targets, None);
        Vec::new()
    }

    /// The preflight of `action` on `targets`, waiting for the answer.
    fn open_preflight(&mut self, action: BulkAction, targets: Vec<User>, undo_of: Option<String>) {
        let refs: Vec<&User> = targets.iter().collect();
        let preflight = preflight::preflight(&self.ctx.actor, &self.ctx.settings, action, &refs);
        let users = targets.into_iter().map(|u| (u.id, u)).collect();
        // Open on the first group that has accounts.
        let mut pending = Pending {
            action,
            preflight,
            users,
            group: Group::WillChange,
            scroll: ListCursor::default(),
            typed: LineEditor::new(COUNT_DIGITS),
            reassign: Reassign::default(),
            undo_of,
        };
        pending.group = Group::ALL
            .into_iter()
            .find(|g| pending.group_len(*g) > 0)
            .unwrap_or(Group::WillChange);
        self.bulk.pending = Some(pending);
        // Also reached from the worker's answers (an undo's plan, a
        // retry's read-back): it takes the place of whatever was in front.
        self.layers.over_table(Mode::BulkConfirm);
    }

    /// An undo's plan is in: its accounts, as the server has them now, go
    /// through the preflight of the inverse action like any bulk action;
    /// what the plan leaves out is said on the status line.
    pub(super) fn preflight_undo(&mut self, plan: UndoPlan) {
        let mut left_out = Vec::new();
        if !plan.missing.is_empty() {
            left_out.push(format!("{} no longer found", plan.missing.len()));
        }
        if !plan.not_applied.is_empty() {
            left_out.push(format!("{} never changed", plan.not_applied.len()));
        }
        if !plan.unreadable.is_empty() {
            left_out.push(format!("{} could not be read back", plan.unreadable.len()));
        }
        let run = &plan.original.run_id;
        if plan.users.is_empty() {
            let why = if left_out.is_empty() {
                String::new()
            } else {
                format!(" ({})", left_out.join(", "))
            };
            self.set_info(format!("undo of run {run}: nothing to put back{why}"));
            return;
        }
        self.open_preflight(plan.action, plan.users.clone(), Some(run.clone()));
        let note = format!(
            "undo of run {run} ({}): {}",
            plan.original.action,
            if left_out.is_empty() {
                "every account it changed".to_string()
            } else {
                format!("left out: {}", left_out.join(", "))
            }
        );
        if plan.unreadable.is_empty() {
            self.set_info(note);
        } else {
            self.set_error(note);
        }
    }

    fn bulk_confirm_key(&mut self, cmd: Cmd) -> Vec<Command> {
        let Some(pending) = self.bulk.pending.as_mut() else {
            self.layers.pop();
            return Vec::new();
        };
        let step = |group: Group, by: isize| {
            let at = Group::ALL.iter().position(|g| *g == group).unwrap_or(0) as isize;
            Group::ALL[(at + by).rem_euclid(3) as usize]
        };
        pending.scroll.set_len(pending.group_len(pending.group));
        pending.scroll.navigate(cmd);
        match cmd {
            Cmd::NextGroup | Cmd::PreviousGroup => {
                let by = if cmd == Cmd::NextGroup { 1 } else { -1 };
                pending.group = step(pending.group, by);
                pending.scroll = ListCursor::default();
            }
            Cmd::DeleteChar => {
                pending.typed.edit(cmd);
            }
            Cmd::Close => {
                self.bulk.pending = None;
                self.layers.pop();
                self.set_info("cancelled; nothing was sent");
            }
            Cmd::Confirm => return self.confirm_run(),
            _ => {}
        }
        Vec::new()
    }

    fn confirm_run(&mut self) -> Vec<Command> {
        let Some(pending) = self.bulk.pending.as_ref() else {
            return Vec::new();
        };
        let count = pending.preflight.will_change.len();
        if count == 0 {
            self.bulk.pending = None;
            self.layers.pop();
            self.set_info("nothing to change; nothing was sent");
            return Vec::new();
        }
        if pending.action == BulkAction::Delete && pending.typed != count.to_string().as_str() {
            self.set_error(format!("type {count} and Enter to delete {count} accounts"));
            return Vec::new();
        }
        let Some(pending) = self.bulk.pending.take() else {
            return Vec::new();
        };
        let users: HashMap<i64, &User> = pending.users.iter().map(|(id, u)| (*id, u)).collect();
        let mut request = RunRequest::new(
            &self.ctx.instance,
            &self.ctx.actor.user_name,
            pending.action,
            &pending.preflight,
            &users,
        );
        if pending.undo_of.is_some() {
            // The journal chose the accounts, not the filter shown.
            request.undo_of = pending.undo_of.clone();
        } else {
            request.filter = self.active_filter().map(str::to_string);
            request.org = Some(self.org.clone()).filter(|org| !org.is_empty());
        }
        // Without one, the server refuses deleting a Run As user and that
        // row shows its message.
        request.reassign = pending.reassign;
        request.concurrency = self.run_settings.concurrency;
        let not_allowed = pending
            .group_lines(Group::NotAllowed)
            .into_iter()
            .map(|(name, reason)| (name, reason.unwrap_or_default()))
            .collect();
        let cancel = Cancel::default();
        let id = self.next_request();
        self.bulk.run = Some(RunState {
            id,
            action: pending.action,
            targets: request.targets.iter().map(|u| (u.id, u.clone())).collect(),
            total: request.targets.len(),
            results: Vec::new(),
            started: self.now,
            cancel: cancel.clone(),
            done: false,
            already: pending.preflight.already.len(),
            not_allowed,
            cursor: ListCursor::default(),
        });
        self.layers.replace_top(Mode::BulkProgress);
        vec![Command::RunBulk {
            id,
            job: BulkJob {
                request,
                journal: self.run_settings.journal.clone(),
                cancel,
            },
        }]
    }

    fn progress_key(&mut self, cmd: Cmd) {
        let Some(run) = self.bulk.run.as_ref() else {
            self.layers.pop();
            return;
        };
        if run.done {
            self.layers.replace_top(Mode::BulkResults);
        } else if self.bulk.stop_asked {
            // Any other key than y is a no, Esc included: a question is
            // never answered by accident.
            self.bulk.stop_asked = false;
            self.status = None;
        } else if cmd == Cmd::StopRun {
            run.cancel.cancel();
            self.set_info("stopping: requests in flight finish, nothing new starts");
        } else if cmd == Cmd::StopAndQuit && !self.bulk.quit_when_stopped {
            self.bulk.stop_asked = true;
            self.set_info(STOP_QUESTION);
        }
    }

    /// The answer to [`STOP_QUESTION`]: `y` stops the run like Esc and
    /// quits once it has stopped; anything else keeps it going.
    pub(super) fn answer_stop(&mut self, c: char) {
        if !std::mem::take(&mut self.bulk.stop_asked) {
            return;
        }
        let Some(run) = self.bulk.run.as_ref().filter(|r| !r.done) else {
            return;
        };
        if c.eq_ignore_ascii_case(&'y') {
            run.cancel.cancel();
            self.bulk.quit_when_stopped = true;
            self.set_info("stopping: requests in flight finish, then rollcall quits");
        } else {
            self.set_info("the run goes on");
        }
    }

    fn results_key(&mut self, cmd: Cmd) -> Vec<Command> {
        let Some(run) = self.bulk.run.as_mut() else {
            self.layers.pop();
            return Vec::new();
        };
        run.cursor
            .set_len(run.results.len() + run.not_allowed.len());
        run.cursor.navigate(cmd);
        match cmd {
            Cmd::Details => {
                self.detail = ListCursor::default();
                self.layers.push(Mode::ResultDetail);
            }
            Cmd::Close => {
                self.bulk.run = None;
                self.layers.pop();
            }
            Cmd::RetryFailed => {
                let retry: HashSet<i64> = run
                    .results
                    .iter()
                    .filter(|r| r.outcome != RowOutcome::Ok)
                    .map(|r| r.id)
                    .collect();
                if retry.is_empty() {
                    self.set_info("nothing failed; nothing to retry");
                    return Vec::new();
                }
                // Sent without a recorded answer: the server's state, not
                // this run's copy, says whether to send them again.
                let unsure: Vec<i64> = run
                    .results
                    .iter()
                    .filter(|r| r.outcome.needs_read_back())
                    .map(|r| r.id)
                    .collect();
                let action = run.action;
                self.bulk.run = None;
                self.layers.pop();
                if unsure.is_empty() {
                    return self.preflight_on(action, Some(&retry));
                }
                let id = self.next_request();
                self.bulk.retry = Some((id, action, retry));
                self.set_info(format!(
                    "reading back {} account{} whose outcome is unknown before retrying",
                    unsure.len(),
                    if unsure.len() == 1 { "" } else { "s" }
                ));
                return vec![Command::ReadBack {
                    id,
                    action,
                    ids: unsure,
                }];
            }
            _ => {}
        }
        Vec::new()
    }

    pub(super) fn bulk_event(&mut self, event: Event) {
        if let Event::ReadBack { id, found } = event {
            self.read_back_done(id, found);
            return;
        }
        let Some(run) = self.bulk.run.as_mut() else {
            return;
        };
        match event {
            Event::BulkRow { id, result } if id == run.id && !run.done => {
                run.results.push(result);
            }
            Event::BulkDone { id, results } if id == run.id => {
                run.done = true;
                self.bulk.stop_asked = false;
                if self.bulk.quit_when_stopped {
                    self.quit = true;
                }
                run.results = results;
                let action = run.action;
                let ok: Vec<i64> = run
                    .results
                    .iter()
                    .filter(|r| r.outcome == RowOutcome::Ok)
                    .map(|r| r.id)
                    .collect();
                let (mut updated, mut deleted) = (Vec::new(), HashSet::new());
                for id in &ok {
                    if action == BulkAction::Delete {
                        deleted.insert(*id);
                    } else if let Some(user) = run.targets.get(id).and_then(|u| changed(action, u))
                    {
                        updated.push(user);
                    }
                }
                let failed = run.results.len() - ok.len();
                for id in &ok {
                    self.bulk.marks.remove(id);
                }
                self.replace_users(updated, &deleted);
                // Also under help: Esc from help then shows the results.
                self.layers.replace(Mode::BulkProgress, Mode::BulkResults);
                let text = format!("{}: {} ok, {failed} not done", action.name(), ok.len());
                if failed > 0 {
                    self.set_error(text);
                } else {
                    self.set_info(text);
                }
            }
            _ => {}
        }
    }

    /// A retry's read-back is in: the table takes the server's state of
    /// those accounts (applied ones then preflight as "already"), and those
    /// that could not be read are left out of the retry.
    fn read_back_done(&mut self, id: RequestId, found: crate::bulk::ReadBack) {
        let Some((wanted, action, mut retry)) = self.bulk.retry.take() else {
            return;
        };
        if wanted != id {
            self.bulk.retry = Some((wanted, action, retry));
            return;
        }
        let applied: Vec<User> = found
            .applied
            .iter()
            .filter_map(|(id, _)| self.rows.iter().find(|r| r.user.id == *id))
            .filter_map(|r| changed(action, &r.user))
            .collect();
        let mut deleted: HashSet<i64> = found.gone.iter().copied().collect();
        if action == BulkAction::Delete {
            deleted.extend(found.applied.iter().map(|(id, _)| *id));
        }
        self.replace_users(applied, &deleted);
        for (id, _) in &found.unreadable {
            retry.remove(id);
        }
        retry.retain(|id| !deleted.contains(id));
        if retry.is_empty() {
            self.set_info("read back: nothing is left to retry");
            return;
        }
        let _ = self.preflight_on(action, Some(&retry));
        if let Some((_, why)) = found.unreadable.first() {
            self.set_error(format!(
                "{} account{} could not be read back and {} left out of the retry: {why}",
                found.unreadable.len(),
                if found.unreadable.len() == 1 { "" } else { "s" },
                if found.unreadable.len() == 1 {
                    "is"
                } else {
                    "are"
                }
            ));
        }
    }

    pub(super) fn open_audit(&mut self) {
        let users: Vec<User> = self.sorted_users().cloned().collect();
        let input = AuditInput {
            limits: &self.limits,
            password_max_age_days: self.ctx.settings.password_max_age_days,
            ..AuditInput::new(&users, self.now)
        };
        self.bulk.audit = Some(AuditState {
            audit: audit::audit(&input),
            cursor: ListCursor::default(),
        });
        self.layers.push(Mode::Audit);
    }

    fn audit_key(&mut self, cmd: Cmd) {
        let Some(state) = self.bulk.audit.as_mut() else {
            self.layers.pop();
            return;
        };
        state.cursor.set_len(state.audit.findings.len());
        state.cursor.navigate(cmd);
        match cmd {
            Cmd::Close => self.layers.pop(),
            Cmd::Accept => {
                let Some(finding) = state.audit.findings.get(state.cursor.selected).cloned() else {
                    return;
                };
                self.layers.pop();
                self.show_finding(finding.kind, finding.account_ids);
            }
            _ => {}
        }
    }

    /// Shows a finding's accounts: by its filter expression where the
    /// language has one, else by their ids.
    fn show_finding(&mut self, kind: FindingKind, ids: Vec<i64>) {
        match kind.filter(DEFAULT_STALE_DAYS) {
            Some(expression) => {
                self.filter_input.set(&expression);
                self.apply_filter();
            }
            None => {
                self.filter_input.clear();
                self.id_filter = Some((
                    format!("finding: {}", kind.title()),
                    ids.into_iter().collect(),
                ));
                self.apply_filter();
            }
        }
        self.table.select(0);
    }

    /// Every loaded account in table order.
    fn sorted_users(&self) -> impl Iterator<Item = &User> {
        self.sorted_rows().map(|r| &r.user)
    }
}

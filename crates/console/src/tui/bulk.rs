//! Marks, bulk actions (preflight, run, results) and the audit view: their
//! state, and how keys and worker events change it. The App lends the
//! rest through a [`Context`] and the loaded accounts through [`Accounts`].

use super::component::{Accounts, Context, Followup};
use super::keymap::Mode;
use super::line::LineEditor;
use super::list::ListCursor;
use super::registry::Cmd;
use crate::bulk::{Cancel, Reassign, RowOutcome, RowResult};
use crate::domain::audit::{self, Audit, AuditInput};
use crate::domain::preflight::{self, BulkAction, Preflight};
use crate::domain::User;
use crate::ops::run::RunRequest;
use crate::ops::undo::UndoPlan;
use crate::worker::{BulkJob, Command, Event, RequestId};
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap, HashSet};

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

/// What a run shown in the progress and results views is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunKind {
    Bulk(BulkAction),
    /// `:import FILE.csv`.
    Import,
    /// The undo of an import run.
    UndoImport,
}

impl RunKind {
    /// The bulk action, for what only a bulk run has (retry, the table's update).
    pub fn action(self) -> Option<BulkAction> {
        match self {
            RunKind::Bulk(action) => Some(action),
            _ => None,
        }
    }

    /// The progress title's verb.
    pub fn verb(self) -> &'static str {
        match self {
            RunKind::Bulk(action) => action.verb(),
            RunKind::Import => "Import",
            RunKind::UndoImport => "Undo the import of",
        }
    }

    /// The results title's name, as the journal names the run.
    pub fn name(self) -> &'static str {
        match self {
            RunKind::Bulk(action) => action.name(),
            RunKind::Import => crate::ops::import::IMPORT_ACTION,
            RunKind::UndoImport => crate::ops::import::UNDO_IMPORT_ACTION,
        }
    }

    /// What the results call the rows the run did not need to send.
    pub fn already_title(self) -> String {
        match self {
            RunKind::Bulk(action) => action.already_title(),
            RunKind::Import => "Unchanged".to_string(),
            RunKind::UndoImport => "Nothing to put back".to_string(),
        }
    }

    /// What the rows left out before sending are called in the summary:
    /// an import leaves out invalid rows as well as refused ones.
    pub fn refused_title(self) -> &'static str {
        match self {
            RunKind::Import => "invalid or not allowed",
            RunKind::Bulk(_) | RunKind::UndoImport => "not allowed",
        }
    }
}

/// A run, from the moment it is sent until the results are closed.
#[derive(Debug, Clone)]
pub(crate) struct RunState {
    pub id: RequestId,
    /// The run's id in the journal (`:export` of the results reads it).
    pub run_id: String,
    pub kind: RunKind,
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
pub(crate) struct Bulk {
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
    /// `:import FILE.csv` asked for its plan (the request).
    pub import_request: Option<RequestId>,
    /// An import's (or an import undo's) preview, waiting for the answer.
    pub import: Option<ImportPending>,
}

/// What an import preview would run.
#[derive(Debug, Clone)]
pub(crate) enum ImportJobPlan {
    Import {
        plan: Box<crate::ops::import::ImportPlan>,
        org: String,
    },
    Undo(Box<crate::ops::undo::ImportUndoPlan>),
}

/// The preview of an import or of an import's undo: the same lines the
/// command line prints, then a yes (deletions: their count typed).
#[derive(Debug, Clone)]
pub(crate) struct ImportPending {
    pub title: String,
    pub lines: Vec<String>,
    pub to_send: usize,
    pub deletes: usize,
    /// The first line on screen.
    pub scroll: ListCursor,
    pub typed: LineEditor,
    pub job: ImportJobPlan,
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

impl Bulk {
    /// A character typed in the delete confirmation: only digits count.
    pub fn type_confirmation(&mut self, c: char) {
        if let Some(pending) = &mut self.pending {
            if pending.action == BulkAction::Delete && c.is_ascii_digit() {
                pending.typed.insert_char(c);
            }
        }
    }

    /// Keys of the bulk and audit modes, and the marking and bulk keys of
    /// the table; `None` leaves the key to the App.
    pub fn perform(
        &mut self,
        ctx: &mut Context,
        accounts: &dyn Accounts,
        cmd: Cmd,
    ) -> Option<Vec<Command>> {
        if cmd == Cmd::Quit {
            // Nothing new starts once the console is going away.
            if let Some(run) = &self.run {
                run.cancel.cancel();
            }
            return None;
        }
        // A pending "stop the run?" takes any key but y as its no, help too.
        if cmd == Cmd::Help && !(ctx.mode() == Mode::BulkProgress && self.stop_asked) {
            return None;
        }
        // The results take `:export FILE` (the App's command prompt).
        if cmd == Cmd::CommandPrompt && ctx.mode() == Mode::BulkResults {
            return None;
        }
        match ctx.mode() {
            Mode::ImportConfirm => Some(self.import_key(ctx, cmd)),
            Mode::BulkConfirm => Some(self.confirm_key(ctx, accounts, cmd)),
            Mode::BulkProgress => {
                self.progress_key(ctx, cmd);
                Some(Vec::new())
            }
            Mode::BulkResults => Some(self.results_key(ctx, accounts, cmd)),
            Mode::Audit => {
                self.audit_key(ctx, cmd);
                Some(Vec::new())
            }
            Mode::Table => {
                match cmd {
                    Cmd::Mark => {
                        self.toggle_mark(ctx, accounts);
                    }
                    Cmd::MarkRange => {
                        self.mark_range(ctx, accounts);
                    }
                    Cmd::MarkAllShown => self.mark_all_shown(accounts),
                    Cmd::InvertMarks => self.invert_marks(accounts),
                    Cmd::ClearMarks => self.clear_marks(ctx),
                    Cmd::Bulk(bulk) => return Some(self.start(ctx, accounts, bulk)),
                    Cmd::Audit => self.open_audit(ctx, accounts),
                    _ => return None,
                }
                Some(Vec::new())
            }
            _ => None,
        }
    }

    fn toggle_mark(&mut self, ctx: &mut Context, accounts: &dyn Accounts) -> Option<()> {
        let at = accounts.selected_index();
        let id = accounts.shown_id(at)?;
        if !self.marks.remove(&id) {
            self.marks.insert(id);
            self.anchor = Some(id);
        }
        ctx.then(Followup::Select(at + 1));
        Some(())
    }

    fn mark_range(&mut self, ctx: &mut Context, accounts: &dyn Accounts) -> Option<()> {
        let at = accounts.selected_index();
        let cursor_id = accounts.shown_id(at)?;
        let anchor_at = self.anchor.and_then(|anchor| {
            (0..accounts.shown_len()).find(|&i| accounts.shown_id(i) == Some(anchor))
        });
        let Some(anchor_at) = anchor_at else {
            // No anchor on screen: this account becomes it.
            self.marks.insert(cursor_id);
            self.anchor = Some(cursor_id);
            ctx.set_info("range starts here; move and press V again");
            return Some(());
        };
        let (from, to) = if anchor_at <= at {
            (anchor_at, at)
        } else {
            (at, anchor_at)
        };
        self.marks
            .extend((from..=to).filter_map(|i| accounts.shown_id(i)));
        Some(())
    }

    fn mark_all_shown(&mut self, accounts: &dyn Accounts) {
        self.marks
            .extend((0..accounts.shown_len()).filter_map(|i| accounts.shown_id(i)));
    }

    fn invert_marks(&mut self, accounts: &dyn Accounts) {
        for i in 0..accounts.shown_len() {
            if let Some(id) = accounts.shown_id(i) {
                if !self.marks.remove(&id) {
                    self.marks.insert(id);
                }
            }
        }
    }

    fn clear_marks(&mut self, ctx: &mut Context) {
        let cleared = self.marks.len();
        self.marks.clear();
        self.anchor = None;
        ctx.set_info(format!("cleared {cleared} marks"));
    }

    /// The accounts a bulk action applies to: the marked ones that are
    /// loaded, in table order, or else the selected one.
    fn targets<'a>(
        &self,
        accounts: &'a dyn Accounts,
        only: Option<&HashSet<i64>>,
    ) -> Vec<&'a User> {
        let wanted = |user: &User| match only {
            Some(ids) => ids.contains(&user.id),
            None => self.marks.contains(&user.id),
        };
        if only.is_none() && self.marks.is_empty() {
            return accounts.selected().into_iter().collect();
        }
        // Table order (all loaded rows, not only those the filter shows):
        // a mark hidden by the filter is still a mark.
        accounts.sorted().filter(|u| wanted(u)).collect()
    }

    /// Preflights `action` on the marked accounts (or the selected one) and
    /// asks for confirmation. Nothing is sent yet.
    pub fn start(
        &mut self,
        ctx: &mut Context,
        accounts: &dyn Accounts,
        action: BulkAction,
    ) -> Vec<Command> {
        self.preflight_on(ctx, accounts, action, None)
    }

    /// A one-account action (`p`, `M`) on the selected account, whatever is
    /// marked: the same preflight (confirm, "already", not allowed) and the
    /// same journaled run as a bulk action of one.
    pub fn preflight_selected(
        &mut self,
        ctx: &mut Context,
        accounts: &dyn Accounts,
        action: BulkAction,
    ) -> Vec<Command> {
        let Some(id) = accounts.selected().map(|u| u.id) else {
            ctx.set_error(format!("{}: no account selected", action.name()));
            return Vec::new();
        };
        self.preflight_on(ctx, accounts, action, Some(&HashSet::from([id])))
    }

    /// `:delete playbooks=ACCOUNT jobs=ACCOUNT`: a bulk delete whose Run As
    /// playbooks and job apps move to the named accounts (rule 8; job apps
    /// only to an API user). ACCOUNT is a loaded account's id or user name.
    pub fn start_delete(
        &mut self,
        ctx: &mut Context,
        accounts: &dyn Accounts,
        args: &str,
    ) -> Vec<Command> {
        match parse_reassign(accounts, args) {
            Ok(reassign) => {
                let commands = self.preflight_on(ctx, accounts, BulkAction::Delete, None);
                if let Some(pending) = self.pending.as_mut() {
                    pending.reassign = reassign;
                }
                commands
            }
            Err(problem) => {
                ctx.set_error(format!("delete: {problem}"));
                Vec::new()
            }
        }
    }

    /// The preflight of `action` on the accounts it applies to (`only`
    /// these, else the marked or selected ones).
    pub fn preflight_on(
        &mut self,
        ctx: &mut Context,
        accounts: &dyn Accounts,
        action: BulkAction,
        only: Option<&HashSet<i64>>,
    ) -> Vec<Command> {
        if ctx.read_only() {
            let why = if ctx.session.read_only {
                "--read-only"
            } else {
                "no role of this account writes"
            };
            ctx.set_error(format!("read-only: {} is not sent ({why})", action.name()));
            return Vec::new();
        }
        let targets: Vec<User> = self.targets(accounts, only).into_iter().cloned().collect();
        if targets.is_empty() {
            ctx.set_error(format!("{}: no account selected", action.name()));
            return Vec::new();
        }
        self.open_preflight(ctx, action, targets, None);
        Vec::new()
    }

    /// The preflight of `action` on `targets`, waiting for the answer.
    fn open_preflight(
        &mut self,
        ctx: &mut Context,
        action: BulkAction,
        targets: Vec<User>,
        undo_of: Option<String>,
    ) {
        let refs: Vec<&User> = targets.iter().collect();
        let preflight =
            preflight::preflight(&ctx.session.actor, &ctx.session.settings, action, &refs);
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
        self.pending = Some(pending);
        // Also reached from the worker's answers (an undo's plan, a
        // retry's read-back): it takes the place of whatever was in front.
        ctx.layers.over_table(Mode::BulkConfirm);
    }

    /// `:import FILE.csv`: the worker reads the file and the accounts and
    /// plans every row; nothing is sent before the preview's answer.
    pub fn start_import(&mut self, ctx: &mut Context, file: &str) -> Vec<Command> {
        if ctx.read_only() {
            ctx.set_error("read-only: an import is not sent");
            return Vec::new();
        }
        let file = file.trim();
        if file.is_empty() {
            ctx.set_error(":import needs a CSV file (rollcall users template writes one)");
            return Vec::new();
        }
        let path = match file.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map(|home| std::path::PathBuf::from(home).join(rest))
                .unwrap_or_else(|| file.into()),
            None => file.into(),
        };
        let id = ctx.requests.next();
        self.import_request = Some(id);
        ctx.set_info(format!(
            "reading {} and the accounts to match it against",
            crate::domain::text::sanitize(file)
        ));
        let org = Some(ctx.org.to_string()).filter(|org| !org.is_empty());
        vec![Command::PlanImport {
            id,
            ask: Box::new(crate::worker::ImportAsk {
                path,
                org,
                asker: ctx.asker(),
            }),
        }]
    }

    /// Opens an import's (or an import undo's) preview over the table.
    fn open_import(&mut self, ctx: &mut Context, pending: ImportPending) {
        // The preview says it all; the "reading ..." note is done.
        *ctx.status = None;
        self.import = Some(pending);
        ctx.layers.over_table(Mode::ImportConfirm);
    }

    /// An import undo's plan is in: its preview, the deletions typed.
    pub fn preview_import_undo(
        &mut self,
        ctx: &mut Context,
        plan: Box<crate::ops::undo::ImportUndoPlan>,
    ) {
        let run = plan
            .original
            .as_ref()
            .map(|o| o.run_id.clone())
            .unwrap_or_default();
        let pending = ImportPending {
            title: format!(" Undo import run {} ", crate::domain::text::sanitize(&run)),
            lines: crate::ops::undo::import_undo_lines(&plan),
            to_send: plan.deletes.len() + plan.restores.len(),
            deletes: plan.deletes.len(),
            scroll: ListCursor::default(),
            typed: LineEditor::new(COUNT_DIGITS),
            job: ImportJobPlan::Undo(plan),
        };
        self.open_import(ctx, pending);
    }

    /// A digit typed in an import's preview: the count of deletions.
    pub fn type_import_confirmation(&mut self, c: char) {
        if let Some(pending) = &mut self.import {
            if pending.deletes > 0 && c.is_ascii_digit() {
                pending.typed.insert_char(c);
            }
        }
    }

    fn import_key(&mut self, ctx: &mut Context, cmd: Cmd) -> Vec<Command> {
        let Some(pending) = self.import.as_mut() else {
            ctx.layers.pop();
            return Vec::new();
        };
        pending.scroll.navigate(cmd);
        match cmd {
            Cmd::DeleteChar => {
                pending.typed.edit(cmd);
            }
            Cmd::Close => {
                self.import = None;
                ctx.layers.pop();
                ctx.set_info("cancelled; nothing was sent");
            }
            Cmd::Confirm => return self.confirm_import(ctx),
            _ => {}
        }
        Vec::new()
    }

    fn confirm_import(&mut self, ctx: &mut Context) -> Vec<Command> {
        let Some(pending) = self.import.as_ref() else {
            return Vec::new();
        };
        if pending.to_send == 0 {
            self.import = None;
            ctx.layers.pop();
            ctx.set_info("nothing to send; nothing was sent");
            return Vec::new();
        }
        if pending.deletes > 0 && pending.typed != pending.deletes.to_string().as_str() {
            ctx.set_error(format!(
                "type {0} and Enter to delete {0} account{1} for good",
                pending.deletes,
                if pending.deletes == 1 { "" } else { "s" }
            ));
            return Vec::new();
        }
        let Some(pending) = self.import.take() else {
            return Vec::new();
        };
        let meta = crate::bulk::RunMeta::start(&ctx.session.instance, &ctx.session.actor.user_name);
        let id = ctx.requests.next();
        let cancel = Cancel::default();
        let (kind, already, not_allowed, command) = match pending.job {
            ImportJobPlan::Import { plan, org } => {
                let not_allowed = plan
                    .rows
                    .iter()
                    .filter_map(|row| match row {
                        crate::ops::import::RowPlan::Invalid { line, problems } => Some((
                            format!("line {line}"),
                            problems
                                .iter()
                                .map(|(column, why)| format!("{column}: {why}"))
                                .collect::<Vec<_>>()
                                .join("; "),
                        )),
                        crate::ops::import::RowPlan::NotAllowed {
                            line,
                            user_name,
                            reason,
                        } => Some((format!("line {line}, {user_name}"), reason.clone())),
                        _ => None,
                    })
                    .collect();
                let already = plan.unchanged();
                let job = crate::worker::ImportJob {
                    meta: meta.clone(),
                    org,
                    plan: *plan,
                    concurrency: ctx.runs.concurrency,
                    journal: ctx.runs.journal.clone(),
                    cancel: cancel.clone(),
                };
                (
                    RunKind::Import,
                    already,
                    not_allowed,
                    Command::RunImport {
                        id,
                        job: Box::new(job),
                    },
                )
            }
            ImportJobPlan::Undo(plan) => {
                let not_allowed = plan
                    .not_allowed
                    .iter()
                    .chain(plan.unreadable.iter())
                    .map(|(_, name, why)| (name.clone(), why.clone()))
                    .collect();
                let already = plan.not_applied.len();
                let job = crate::worker::ImportUndoJob {
                    meta: meta.clone(),
                    plan: *plan,
                    concurrency: ctx.runs.concurrency,
                    journal: ctx.runs.journal.clone(),
                    cancel: cancel.clone(),
                };
                (
                    RunKind::UndoImport,
                    already,
                    not_allowed,
                    Command::RunImportUndo {
                        id,
                        job: Box::new(job),
                    },
                )
            }
        };
        self.run = Some(RunState {
            id,
            run_id: meta.run_id.clone(),
            kind,
            targets: HashMap::new(),
            total: pending.to_send,
            results: Vec::new(),
            started: ctx.now,
            cancel,
            done: false,
            already,
            not_allowed,
            cursor: ListCursor::default(),
        });
        ctx.layers.replace_top(Mode::BulkProgress);
        vec![command]
    }

    /// An undo's plan is in: its accounts, as the server has them now, go
    /// through the preflight of the inverse action like any bulk action;
    /// what the plan leaves out is said on the status line.
    pub fn preflight_undo(&mut self, ctx: &mut Context, plan: UndoPlan) {
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
            ctx.set_info(format!("undo of run {run}: nothing to put back{why}"));
            return;
        }
        self.open_preflight(ctx, plan.action, plan.users.clone(), Some(run.clone()));
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
            ctx.set_info(note);
        } else {
            ctx.set_error(note);
        }
    }

    fn confirm_key(
        &mut self,
        ctx: &mut Context,
        accounts: &dyn Accounts,
        cmd: Cmd,
    ) -> Vec<Command> {
        let Some(pending) = self.pending.as_mut() else {
            ctx.layers.pop();
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
                self.pending = None;
                ctx.layers.pop();
                ctx.set_info("cancelled; nothing was sent");
            }
            Cmd::Confirm => return self.confirm_run(ctx, accounts),
            _ => {}
        }
        Vec::new()
    }

    fn confirm_run(&mut self, ctx: &mut Context, accounts: &dyn Accounts) -> Vec<Command> {
        let Some(pending) = self.pending.as_ref() else {
            return Vec::new();
        };
        let count = pending.preflight.will_change.len();
        if count == 0 {
            self.pending = None;
            ctx.layers.pop();
            ctx.set_info("nothing to change; nothing was sent");
            return Vec::new();
        }
        if pending.action == BulkAction::Delete && pending.typed != count.to_string().as_str() {
            ctx.set_error(format!("type {count} and Enter to delete {count} accounts"));
            return Vec::new();
        }
        let Some(pending) = self.pending.take() else {
            return Vec::new();
        };
        let users: HashMap<i64, &User> = pending.users.iter().map(|(id, u)| (*id, u)).collect();
        let mut request = RunRequest::new(
            &ctx.session.instance,
            &ctx.session.actor.user_name,
            pending.action,
            &pending.preflight,
            &users,
        );
        if pending.undo_of.is_some() {
            // The journal chose the accounts, not the filter shown.
            request.undo_of = pending.undo_of.clone();
        } else {
            request.filter = accounts.active_filter().map(str::to_string);
            request.org = Some(ctx.org.to_string()).filter(|org| !org.is_empty());
        }
        // Without one, the server refuses deleting a Run As user and that
        // row shows its message.
        request.reassign = pending.reassign;
        request.concurrency = ctx.runs.concurrency;
        let not_allowed = pending
            .group_lines(Group::NotAllowed)
            .into_iter()
            .map(|(name, reason)| (name, reason.unwrap_or_default()))
            .collect();
        let cancel = Cancel::default();
        let id = ctx.requests.next();
        self.run = Some(RunState {
            id,
            run_id: request.meta.run_id.clone(),
            kind: RunKind::Bulk(pending.action),
            targets: request.targets.iter().map(|u| (u.id, u.clone())).collect(),
            total: request.targets.len(),
            results: Vec::new(),
            started: ctx.now,
            cancel: cancel.clone(),
            done: false,
            already: pending.preflight.already.len(),
            not_allowed,
            cursor: ListCursor::default(),
        });
        ctx.layers.replace_top(Mode::BulkProgress);
        vec![Command::RunBulk {
            id,
            job: BulkJob {
                request,
                journal: ctx.runs.journal.clone(),
                cancel,
            },
        }]
    }

    fn progress_key(&mut self, ctx: &mut Context, cmd: Cmd) {
        let Some(run) = self.run.as_ref() else {
            ctx.layers.pop();
            return;
        };
        if run.done {
            ctx.layers.replace_top(Mode::BulkResults);
        } else if self.stop_asked {
            // Any other key than y is a no, Esc included: a question is
            // never answered by accident.
            self.stop_asked = false;
            *ctx.status = None;
        } else if cmd == Cmd::StopRun {
            run.cancel.cancel();
            ctx.set_info("stopping: requests in flight finish, nothing new starts");
        } else if cmd == Cmd::StopAndQuit && !self.quit_when_stopped {
            self.stop_asked = true;
            ctx.set_info(STOP_QUESTION);
        }
    }

    /// The answer to [`STOP_QUESTION`]: `y` stops the run like Esc and
    /// quits once it has stopped; anything else keeps it going.
    pub fn answer_stop(&mut self, ctx: &mut Context, c: char) {
        if !std::mem::take(&mut self.stop_asked) {
            return;
        }
        let Some(run) = self.run.as_ref().filter(|r| !r.done) else {
            return;
        };
        if c.eq_ignore_ascii_case(&'y') {
            run.cancel.cancel();
            self.quit_when_stopped = true;
            ctx.set_info("stopping: requests in flight finish, then rollcall quits");
        } else {
            ctx.set_info("the run goes on");
        }
    }

    fn results_key(
        &mut self,
        ctx: &mut Context,
        accounts: &dyn Accounts,
        cmd: Cmd,
    ) -> Vec<Command> {
        let Some(run) = self.run.as_mut() else {
            ctx.layers.pop();
            return Vec::new();
        };
        run.cursor
            .set_len(run.results.len() + run.not_allowed.len());
        run.cursor.navigate(cmd);
        match cmd {
            Cmd::Details => ctx.then(Followup::OpenResultDetail),
            Cmd::Close => {
                self.run = None;
                ctx.layers.pop();
            }
            Cmd::RetryFailed => {
                let retry: HashSet<i64> = run
                    .results
                    .iter()
                    .filter(|r| r.outcome != RowOutcome::Ok)
                    .map(|r| r.id)
                    .collect();
                if retry.is_empty() {
                    ctx.set_info("nothing failed; nothing to retry");
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
                let Some(action) = run.kind.action() else {
                    ctx.set_info(
                        "an import is retried by running :import FILE.csv again: it reads every account afresh",
                    );
                    return Vec::new();
                };
                self.run = None;
                ctx.layers.pop();
                if unsure.is_empty() {
                    return self.preflight_on(ctx, accounts, action, Some(&retry));
                }
                let id = ctx.requests.next();
                self.retry = Some((id, action, retry));
                ctx.set_info(format!(
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

    /// The worker's answers for runs and retries.
    pub fn handle_event(&mut self, ctx: &mut Context, accounts: &dyn Accounts, event: Event) {
        if let Event::ReadBack { id, found } = event {
            self.read_back_done(ctx, accounts, id, found);
            return;
        }
        if let Event::ImportPlanned {
            id,
            file,
            org,
            plan,
        } = event
        {
            if self.import_request != Some(id) {
                return;
            }
            self.import_request = None;
            match plan {
                Ok(plan) => {
                    *ctx.status = None;
                    let pending = ImportPending {
                        title: format!(" Import into {} ", crate::domain::text::sanitize(&org)),
                        lines: crate::ops::import::preview_lines(&plan, &file),
                        to_send: plan.to_send(),
                        deletes: 0,
                        scroll: ListCursor::default(),
                        typed: LineEditor::new(COUNT_DIGITS),
                        job: ImportJobPlan::Import { plan, org },
                    };
                    self.open_import(ctx, pending);
                }
                Err(why) => {
                    ctx.set_error(format!("import: {}", crate::domain::text::sanitize(&why)))
                }
            }
            return;
        }
        let Some(run) = self.run.as_mut() else {
            return;
        };
        match event {
            Event::BulkRow { id, result } if id == run.id && !run.done => {
                run.results.push(result);
            }
            Event::BulkDone { id, results } if id == run.id => {
                run.done = true;
                self.stop_asked = false;
                if self.quit_when_stopped {
                    *ctx.quit = true;
                }
                run.results = results;
                let Some(action) = run.kind.action() else {
                    // An import: the accounts it made or changed come with
                    // the next listing.
                    let ok = run.count(|o| *o == RowOutcome::Ok);
                    let failed = run.results.len() - ok;
                    ctx.layers.replace(Mode::BulkProgress, Mode::BulkResults);
                    let text = format!(
                        "{}: {ok} ok, {failed} not done; r in the table reloads the accounts",
                        run.kind.name()
                    );
                    if failed > 0 {
                        ctx.set_error(text);
                    } else {
                        ctx.set_info(text);
                    }
                    return;
                };
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
                    self.marks.remove(id);
                }
                ctx.then(Followup::ReplaceUsers {
                    changed: updated,
                    deleted,
                });
                // Also under help: Esc from help then shows the results.
                ctx.layers.replace(Mode::BulkProgress, Mode::BulkResults);
                let text = format!("{}: {} ok, {failed} not done", action.name(), ok.len());
                if failed > 0 {
                    ctx.set_error(text);
                } else {
                    ctx.set_info(text);
                }
            }
            _ => {}
        }
    }

    /// A retry's read-back is in: the table takes the server's state of
    /// those accounts (applied ones then preflight as "already"), and those
    /// that could not be read are left out of the retry.
    fn read_back_done(
        &mut self,
        ctx: &mut Context,
        accounts: &dyn Accounts,
        id: RequestId,
        found: crate::bulk::ReadBack,
    ) {
        let Some((wanted, action, mut retry)) = self.retry.take() else {
            return;
        };
        if wanted != id {
            self.retry = Some((wanted, action, retry));
            return;
        }
        let applied: Vec<User> = found
            .applied
            .iter()
            .filter_map(|(id, _)| accounts.loaded().find(|u| u.id == *id))
            .filter_map(|user| changed(action, user))
            .collect();
        let mut deleted: HashSet<i64> = found.gone.iter().copied().collect();
        if action == BulkAction::Delete {
            deleted.extend(found.applied.iter().map(|(id, _)| *id));
        }
        for (id, _) in &found.unreadable {
            retry.remove(id);
        }
        retry.retain(|id| !deleted.contains(id));
        ctx.then(Followup::ReplaceUsers {
            changed: applied,
            deleted,
        });
        if retry.is_empty() {
            ctx.set_info("read back: nothing is left to retry");
            return;
        }
        // After the table has the server's state: the retry's preflight
        // judges that, not this run's copy.
        ctx.then(Followup::Preflight {
            action,
            only: retry,
        });
        if let Some((_, why)) = found.unreadable.first() {
            ctx.then(Followup::Error(format!(
                "{} account{} could not be read back and {} left out of the retry: {why}",
                found.unreadable.len(),
                if found.unreadable.len() == 1 { "" } else { "s" },
                if found.unreadable.len() == 1 {
                    "is"
                } else {
                    "are"
                }
            )));
        }
    }

    fn open_audit(&mut self, ctx: &mut Context, accounts: &dyn Accounts) {
        let users: Vec<User> = accounts.sorted().cloned().collect();
        let input = AuditInput {
            limits: ctx.limits,
            password_max_age_days: ctx.session.settings.password_max_age_days,
            ..AuditInput::new(&users, ctx.now)
        };
        self.audit = Some(AuditState {
            audit: audit::audit(&input),
            cursor: ListCursor::default(),
        });
        ctx.layers.push(Mode::Audit);
    }

    fn audit_key(&mut self, ctx: &mut Context, cmd: Cmd) {
        let Some(state) = self.audit.as_mut() else {
            ctx.layers.pop();
            return;
        };
        state.cursor.set_len(state.audit.findings.len());
        state.cursor.navigate(cmd);
        match cmd {
            Cmd::Close => ctx.layers.pop(),
            Cmd::Accept => {
                let Some(finding) = state.audit.findings.get(state.cursor.selected).cloned() else {
                    return;
                };
                ctx.layers.pop();
                ctx.then(Followup::ShowFinding {
                    kind: finding.kind,
                    ids: finding.account_ids,
                });
            }
            _ => {}
        }
    }
}

/// Who takes over a deleted account's Run As playbooks and job apps, from
/// `playbooks=ACCOUNT jobs=ACCOUNT`.
fn parse_reassign(accounts: &dyn Accounts, args: &str) -> Result<Reassign, String> {
    use crate::domain::run_as::{self, Inheritance, Party};
    let mut reassign = Reassign::default();
    for word in args.split_whitespace() {
        let (key, name) = word
            .split_once('=')
            .ok_or_else(|| format!("expected playbooks=ACCOUNT or jobs=ACCOUNT, not {word:?}"))?;
        let account = accounts
            .loaded()
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

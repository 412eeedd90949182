//! The access review view (`:review DIR`): every account of a review's
//! sheets with its decision; `k` keeps, `d` disables and `x` deletes, the
//! last two after a reason is typed. Each decision is saved at once to the
//! same CSV files `rollcall review apply` reads (the worker writes them
//! through `ops::review`, atomically). An account on several sheets (a
//! review by group) is decided on all of them, so they never disagree.

use super::component::Context;
use super::keymap::Mode;
use super::line::LineEditor;
use super::list::ListCursor;
use super::registry::Cmd;
use crate::domain::review::{Decision, Sheet, DECIDED_AT};
use crate::worker::{Command, Event, RequestId};
use chrono::SecondsFormat;
use std::path::PathBuf;

/// The most characters a reason takes.
pub const MAX_REASON: usize = 500;

/// The review on screen.
#[derive(Debug, Clone, Default)]
pub(crate) struct Review {
    pub request: Option<RequestId>,
    pub dir: PathBuf,
    /// `None` until the worker has read the sheets.
    pub sheets: Option<Vec<(String, Sheet)>>,
    /// The rows shown: (sheet, row) of each, in sheet order.
    pub rows: Vec<(usize, usize)>,
    pub cursor: ListCursor,
    /// The decision waiting for its reason.
    pub pending: Option<Decision>,
    pub reason: LineEditor,
    /// Saves not yet confirmed by the worker.
    pub saving: Vec<RequestId>,
}

impl Review {
    /// `:review DIR`: reads the review's sheets.
    pub fn open(&mut self, ctx: &mut Context, dir: &str) -> Vec<Command> {
        let dir = dir.trim();
        if dir.is_empty() {
            ctx.set_error(":review needs the review's directory (from `rollcall review start`)");
            return Vec::new();
        }
        let id = ctx.requests.next();
        *self = Review {
            request: Some(id),
            dir: PathBuf::from(dir),
            ..Review::default()
        };
        ctx.layers.push(Mode::Review);
        vec![Command::LoadReview {
            id,
            dir: self.dir.clone(),
        }]
    }

    /// The sheet and row under the cursor.
    pub fn current(&self) -> Option<(usize, usize)> {
        self.rows.get(self.cursor.selected).copied()
    }

    /// A cell of a shown row.
    pub fn cell(&self, at: (usize, usize), column: &str) -> &str {
        match &self.sheets {
            Some(sheets) => sheets
                .get(at.0)
                .map(|(_, sheet)| sheet.get(at.1, column))
                .unwrap_or(""),
            None => "",
        }
    }

    /// How many accounts have a decision, of how many rows.
    pub fn decided(&self) -> (usize, usize) {
        let done = self
            .rows
            .iter()
            .filter(|at| Decision::parse(self.cell(**at, "decision")).is_some())
            .count();
        (done, self.rows.len())
    }

    /// Keys of the review modes; `None` when the mode is not one of them.
    pub fn perform(&mut self, ctx: &mut Context, cmd: Cmd) -> Option<Vec<Command>> {
        let mode = ctx.mode();
        if !matches!(mode, Mode::Review | Mode::ReviewReason) || cmd == Cmd::Help {
            return None;
        }
        match (mode, cmd) {
            (_, Cmd::Quit) => *ctx.quit = true,
            (Mode::Review, Cmd::Close) => ctx.layers.pop(),
            (Mode::Review, Cmd::DecideKeep) => {
                let reason = self
                    .current()
                    .map(|at| self.cell(at, "reason").to_string())
                    .unwrap_or_default();
                return Some(self.decide(ctx, Decision::Keep, &reason));
            }
            (Mode::Review, Cmd::DecideDisable | Cmd::DecideDelete) => {
                let Some(at) = self.current() else {
                    return Some(Vec::new());
                };
                self.pending = Some(if cmd == Cmd::DecideDelete {
                    Decision::Delete
                } else {
                    Decision::Disable
                });
                let reason = self.cell(at, "reason").to_string();
                self.reason = LineEditor::with_text(&reason, None, MAX_REASON);
                ctx.layers.push(Mode::ReviewReason);
            }
            (Mode::ReviewReason, Cmd::Close) => {
                self.pending = None;
                ctx.layers.pop();
            }
            (Mode::ReviewReason, Cmd::Accept) => {
                let Some(decision) = self.pending else {
                    ctx.layers.pop();
                    return Some(Vec::new());
                };
                let reason = self.reason.as_str().trim().to_string();
                if reason.is_empty() {
                    ctx.set_error(format!(
                        "a {} needs a reason: type it, or Esc to leave the decision as it was",
                        decision.name()
                    ));
                    return Some(Vec::new());
                }
                self.pending = None;
                ctx.layers.pop();
                return Some(self.decide(ctx, decision, &reason));
            }
            (Mode::ReviewReason, _) => {
                self.reason.edit(cmd);
            }
            (Mode::Review, _) => {
                self.cursor.navigate(cmd);
            }
            _ => {}
        }
        Some(Vec::new())
    }

    /// Typed into the reason.
    pub fn type_char(&mut self, ctx: &mut Context, c: char) {
        if ctx.mode() == Mode::ReviewReason && !c.is_control() {
            self.reason.insert_char(c);
        }
    }

    /// Writes `decision` (and `reason`, the reviewer and the time) into
    /// every row of the account under the cursor, and saves each sheet
    /// that changed; the cursor moves on to the next account.
    fn decide(&mut self, ctx: &mut Context, decision: Decision, reason: &str) -> Vec<Command> {
        let Some(at) = self.current() else {
            return Vec::new();
        };
        let account_id = self.cell(at, "account_id").to_string();
        let account = self.cell(at, "account").to_string();
        let reviewer = ctx.session.actor.user_name.clone();
        let when = ctx.now.to_rfc3339_opts(SecondsFormat::Secs, true);
        let Some(sheets) = self.sheets.as_mut() else {
            return Vec::new();
        };
        let mut commands = Vec::new();
        for (file, sheet) in sheets.iter_mut() {
            let mut changed = false;
            for row in 0..sheet.rows.len() {
                if sheet.get(row, "account_id") != account_id {
                    continue;
                }
                sheet.set(row, "decision", decision.name());
                sheet.set(row, "reason", reason);
                sheet.set(row, "reviewer", &reviewer);
                sheet.set(row, DECIDED_AT, &when);
                changed = true;
            }
            if changed {
                let id = ctx.requests.next();
                self.saving.push(id);
                commands.push(Command::SaveReviewSheet {
                    id,
                    dir: self.dir.clone(),
                    file: file.clone(),
                    sheet: sheet.clone(),
                });
            }
        }
        ctx.set_info(format!(
            "{}: {}{}",
            crate::domain::text::sanitize(&account),
            decision.name(),
            if reason.is_empty() || decision == Decision::Keep {
                String::new()
            } else {
                format!(" ({})", crate::domain::text::sanitize(reason))
            }
        ));
        self.cursor.navigate(Cmd::Down);
        commands
    }

    /// The worker's answers: the sheets read, or a sheet saved.
    pub fn handle_event(&mut self, ctx: &mut Context, event: Event) {
        match event {
            Event::Review { id, sheets, .. } if self.request == Some(id) => match sheets {
                Ok(sheets) => {
                    self.rows = sheets
                        .iter()
                        .enumerate()
                        .flat_map(|(s, (_, sheet))| (0..sheet.rows.len()).map(move |r| (s, r)))
                        .collect();
                    self.cursor.set_len(self.rows.len());
                    self.sheets = Some(sheets);
                }
                Err(why) => {
                    self.sheets = Some(Vec::new());
                    self.rows.clear();
                    ctx.set_error(format!("review: {why}"));
                }
            },
            Event::ReviewSaved { id, file, result } if self.saving.contains(&id) => {
                self.saving.retain(|s| *s != id);
                if let Err(why) = result {
                    ctx.set_error(format!(
                        "review: {file} was not saved ({why}); the decision is only on screen"
                    ));
                }
            }
            _ => {}
        }
    }
}

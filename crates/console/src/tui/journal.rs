//! The journal view (`:journal`: the runs, then one run's accounts) and
//! undo from the console (`:undo [RUN_ID]`, or `u` in the journal view).
//! Reading the journal and planning the undo are the worker's (through
//! `ops::undo`); the undo itself is an ordinary run, so it gets the same
//! preflight, confirmation, journal and results as any bulk action.

use super::component::{Context, Followup};
use super::keymap::Mode;
use super::list::ListCursor;
use super::registry::Cmd;
use crate::journal::{RunRow, RunSummary};
use crate::worker::{Command, Event, RequestId};

/// The journal view: its runs, newest first, and the run opened from it;
/// and the undo plan asked for, until it arrives.
#[derive(Debug, Clone, Default)]
pub(crate) struct Journal {
    pub request: Option<RequestId>,
    /// `None` until the worker has read the journal.
    pub runs: Option<Vec<RunSummary>>,
    pub bad_lines: usize,
    pub cursor: ListCursor,
    pub open: Option<OpenRun>,
    /// The undo plan asked for (`:undo`), until it arrives.
    pub undo_request: Option<RequestId>,
}

/// One run's accounts, as the journal records them.
#[derive(Debug, Clone)]
pub(crate) struct OpenRun {
    pub request: RequestId,
    pub run: RunSummary,
    /// `None` until read.
    pub rows: Option<Vec<RunRow>>,
    pub cursor: ListCursor,
}

impl Journal {
    /// The run under the cursor: the opened one, else the selected one.
    pub fn current_run(&self) -> Option<&RunSummary> {
        match &self.open {
            Some(open) => Some(&open.run),
            None => self.runs.as_ref()?.get(self.cursor.selected),
        }
    }

    /// `:journal`: the runs of the journal this console writes.
    pub fn open(&mut self, ctx: &mut Context) -> Vec<Command> {
        let id = ctx.requests.next();
        *self = Journal {
            request: Some(id),
            // An undo asked for before stays asked for.
            undo_request: self.undo_request,
            ..Journal::default()
        };
        ctx.layers.push(Mode::Journal);
        vec![Command::LoadJournal {
            id,
            journal: ctx.runs.journal.clone(),
        }]
    }

    /// `:undo [RUN_ID]`: plan putting back what a run changed (the newest
    /// undoable run on this instance when no id is given). The plan comes
    /// back as a preflight of the inverse action.
    pub fn start_undo(&mut self, ctx: &mut Context, run_id: Option<String>) -> Vec<Command> {
        if ctx.read_only() {
            ctx.set_error("read-only: an undo is not sent");
            return Vec::new();
        }
        let id = ctx.requests.next();
        self.undo_request = Some(id);
        ctx.set_info(match &run_id {
            Some(run) => format!("planning the undo of run {run}: reading the accounts back"),
            None => "planning the undo of the last run: reading the accounts back".to_string(),
        });
        vec![Command::PlanUndo {
            id,
            journal: ctx.runs.journal.clone(),
            run_id,
            fields: ctx.listing_fields(),
            concurrency: ctx.runs.concurrency,
            asker: Box::new(ctx.asker()),
        }]
    }

    /// Keys of the journal views; `None` when the mode is not one of them.
    pub fn perform(&mut self, ctx: &mut Context, cmd: Cmd) -> Option<Vec<Command>> {
        let mode = ctx.mode();
        if !matches!(mode, Mode::Journal | Mode::JournalRun)
            || cmd == Cmd::Help
            || (cmd == Cmd::CommandPrompt && mode == Mode::JournalRun)
        {
            return None;
        }
        match (mode, cmd) {
            (Mode::JournalRun, Cmd::Close) => {
                self.open = None;
                ctx.layers.replace_top(Mode::Journal);
            }
            (Mode::Journal, Cmd::Close) => ctx.layers.pop(),
            (_, Cmd::Quit) => *ctx.quit = true,
            (_, Cmd::UndoRun) => {
                let Some(run_id) = self.current_run().map(|r| r.run_id.clone()) else {
                    return Some(Vec::new());
                };
                return Some(self.start_undo(ctx, Some(run_id)));
            }
            (Mode::Journal, Cmd::Details) => {
                let Some(run) = self.current_run().cloned() else {
                    return Some(Vec::new());
                };
                let id = ctx.requests.next();
                self.open = Some(OpenRun {
                    request: id,
                    run: run.clone(),
                    rows: None,
                    cursor: ListCursor::default(),
                });
                // The run is the journal view's second page, shown in place
                // of the runs (Esc turns back to them).
                ctx.layers.replace_top(Mode::JournalRun);
                return Some(vec![Command::LoadJournalRun {
                    id,
                    journal: ctx.runs.journal.clone(),
                    run_id: run.run_id,
                }]);
            }
            (Mode::JournalRun, _) => {
                if let Some(open) = self.open.as_mut() {
                    open.cursor.navigate(cmd);
                }
            }
            (_, _) => {
                self.cursor.navigate(cmd);
            }
        }
        Some(Vec::new())
    }

    /// The worker's answers for the journal views and undo plans; an undo's
    /// plan goes on to the preflight.
    pub fn handle_event(&mut self, ctx: &mut Context, event: Event) {
        match event {
            Event::Journal {
                id,
                runs,
                bad_lines,
            } if self.request == Some(id) => match runs {
                Ok(runs) => {
                    self.cursor.set_len(runs.len());
                    self.runs = Some(runs);
                    self.bad_lines = bad_lines;
                    if bad_lines > 0 {
                        ctx.set_error(format!(
                            "{bad_lines} unreadable line{} in the journal (a crash mid-write leaves a torn last line)",
                            if bad_lines == 1 { "" } else { "s" }
                        ));
                    }
                }
                Err(why) => {
                    self.runs = Some(Vec::new());
                    ctx.set_error(why);
                }
            },
            Event::JournalRun { id, rows, .. } => {
                let Some(open) = self.open.as_mut().filter(|o| o.request == id) else {
                    return;
                };
                match rows {
                    Ok(rows) => {
                        open.cursor.set_len(rows.len());
                        open.rows = Some(rows);
                    }
                    Err(why) => {
                        open.rows = Some(Vec::new());
                        ctx.set_error(why);
                    }
                }
            }
            Event::ImportUndoPlanned { id, plan } if self.undo_request == Some(id) => {
                self.undo_request = None;
                match plan {
                    Ok(plan) => ctx.then(Followup::PreviewImportUndo(plan)),
                    Err(why) => ctx.set_error(format!("undo: {why}")),
                }
            }
            Event::UndoPlanned { id, plan } if self.undo_request == Some(id) => {
                self.undo_request = None;
                match plan {
                    Ok(plan) => ctx.then(Followup::PreflightUndo(plan)),
                    Err(why) => ctx.set_error(format!("undo: {why}")),
                }
            }
            _ => {}
        }
    }
}

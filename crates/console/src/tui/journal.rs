//! The journal view (`:journal`: the runs, then one run's accounts) and
//! undo from the console (`:undo [RUN_ID]`, or `u` in the journal view).
//! Reading the journal and planning the undo are the worker's (through
//! `ops::undo`); the undo itself is an ordinary run, so it gets the same
//! preflight, confirmation, journal and results as any bulk action.

use super::app::App;
use super::keymap::Mode;
use super::list::ListCursor;
use super::registry::Cmd;
use crate::journal::{RunRow, RunSummary};
use crate::worker::{Command, Event, RequestId};

/// The journal view: its runs, newest first, and the run opened from it.
#[derive(Debug, Clone, Default)]
pub(crate) struct JournalView {
    pub request: Option<RequestId>,
    /// `None` until the worker has read the journal.
    pub runs: Option<Vec<RunSummary>>,
    pub bad_lines: usize,
    pub cursor: ListCursor,
    pub open: Option<OpenRun>,
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

impl JournalView {
    /// The run under the cursor: the opened one, else the selected one.
    pub fn current_run(&self) -> Option<&RunSummary> {
        match &self.open {
            Some(open) => Some(&open.run),
            None => self.runs.as_ref()?.get(self.cursor.selected),
        }
    }
}

impl App {
    /// `:journal`: the runs of the journal this console writes.
    pub(super) fn open_journal(&mut self) -> Vec<Command> {
        let id = self.next_request();
        self.journal = JournalView {
            request: Some(id),
            ..JournalView::default()
        };
        self.layers.push(Mode::Journal);
        vec![Command::LoadJournal {
            id,
            journal: self.bulk.journal.clone(),
        }]
    }

    /// `:undo [RUN_ID]`: plan putting back what a run changed (the newest
    /// undoable run on this instance when no id is given). The plan comes
    /// back as a preflight of the inverse action.
    pub(super) fn start_undo(&mut self, run_id: Option<String>) -> Vec<Command> {
        if self.read_only() {
            self.set_error("read-only: an undo is not sent");
            return Vec::new();
        }
        let id = self.next_request();
        self.undo_request = Some(id);
        self.set_info(match &run_id {
            Some(run) => format!("planning the undo of run {run}: reading the accounts back"),
            None => "planning the undo of the last run: reading the accounts back".to_string(),
        });
        vec![Command::PlanUndo {
            id,
            journal: self.bulk.journal.clone(),
            run_id,
            fields: self.listing_fields(),
            concurrency: self.bulk.concurrency,
        }]
    }

    /// Keys of the journal views; `None` when the mode is not one of them.
    pub(super) fn perform_journal(&mut self, cmd: Cmd) -> Option<Vec<Command>> {
        if !matches!(self.mode(), Mode::Journal | Mode::JournalRun) || cmd == Cmd::Help {
            return None;
        }
        let mode = self.mode();
        let view = &mut self.journal;
        match (mode, cmd) {
            (Mode::JournalRun, Cmd::Close) => {
                view.open = None;
                self.layers.replace_top(Mode::Journal);
            }
            (Mode::Journal, Cmd::Close) => self.layers.pop(),
            (_, Cmd::Quit) => self.quit = true,
            (_, Cmd::UndoRun) => {
                let Some(run_id) = view.current_run().map(|r| r.run_id.clone()) else {
                    return Some(Vec::new());
                };
                return Some(self.start_undo(Some(run_id)));
            }
            (Mode::Journal, Cmd::Details) => {
                let Some(run) = view.current_run().cloned() else {
                    return Some(Vec::new());
                };
                let id = self.next_request();
                self.journal.open = Some(OpenRun {
                    request: id,
                    run: run.clone(),
                    rows: None,
                    cursor: ListCursor::default(),
                });
                // The run is the journal view's second page, shown in place
                // of the runs (Esc turns back to them).
                self.layers.replace_top(Mode::JournalRun);
                return Some(vec![Command::LoadJournalRun {
                    id,
                    journal: self.bulk.journal.clone(),
                    run_id: run.run_id,
                }]);
            }
            (Mode::JournalRun, _) => {
                if let Some(open) = view.open.as_mut() {
                    open.cursor.navigate(cmd);
                }
            }
            (_, _) => {
                view.cursor.navigate(cmd);
            }
        }
        Some(Vec::new())
    }

    /// The worker's answers for the journal views and undo plans.
    pub(super) fn journal_event(&mut self, event: Event) {
        match event {
            Event::Journal {
                id,
                runs,
                bad_lines,
            } if self.journal.request == Some(id) => match runs {
                Ok(runs) => {
                    self.journal.cursor.set_len(runs.len());
                    self.journal.runs = Some(runs);
                    self.journal.bad_lines = bad_lines;
                    if bad_lines > 0 {
                        self.set_error(format!(
                            "{bad_lines} unreadable line{} in the journal (a crash mid-write leaves a torn last line)",
                            if bad_lines == 1 { "" } else { "s" }
                        ));
                    }
                }
                Err(why) => {
                    self.journal.runs = Some(Vec::new());
                    self.set_error(why);
                }
            },
            Event::JournalRun { id, rows, .. } => {
                let Some(open) = self.journal.open.as_mut().filter(|o| o.request == id) else {
                    return;
                };
                match rows {
                    Ok(rows) => {
                        open.cursor.set_len(rows.len());
                        open.rows = Some(rows);
                    }
                    Err(why) => {
                        open.rows = Some(Vec::new());
                        self.set_error(why);
                    }
                }
            }
            Event::UndoPlanned { id, plan } if self.undo_request == Some(id) => {
                self.undo_request = None;
                match plan {
                    Ok(plan) => self.preflight_undo(*plan),
                    Err(why) => self.set_error(format!("undo: {why}")),
                }
            }
            _ => {}
        }
    }
}

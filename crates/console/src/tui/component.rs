//! What the App lends its parts (the journal view, marks and bulk runs):
//! the session, the clock, and the few pieces of the App they may change.
//! The parts take a [`Context`] instead of the App, so they do not depend
//! on it; what they cannot do themselves they hand back as a [`Followup`].

use super::keymap::Mode;
use super::layers::Layers;
use super::ConsoleContext;
use crate::journal::Journal;
use crate::ops::run::DEFAULT_BULK_CONCURRENCY;
use crate::ops::undo::UndoPlan;
use crate::worker::RequestId;
use std::path::PathBuf;

/// A line for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    pub text: String,
    pub is_error: bool,
}

/// The console's request ids: one sequence, so an answer is never taken
/// for another part's.
#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    next: RequestId,
}

impl Default for RequestIds {
    fn default() -> RequestIds {
        RequestIds { next: 1 }
    }
}

impl RequestIds {
    pub fn next(&mut self) -> RequestId {
        let id = self.next;
        self.next += 1;
        id
    }
}

/// Where bulk runs are journalled and how many requests a run keeps in
/// flight: fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    /// `None` refuses to run.
    pub journal: Option<PathBuf>,
    pub concurrency: usize,
}

impl Default for RunSettings {
    fn default() -> RunSettings {
        RunSettings {
            journal: Journal::default_path(),
            concurrency: DEFAULT_BULK_CONCURRENCY,
        }
    }
}

/// The App's pieces a part's keys and events may change.
pub(crate) struct Context<'a> {
    pub session: &'a ConsoleContext,
    pub runs: &'a RunSettings,
    pub layers: &'a mut Layers,
    pub status: &'a mut Option<StatusMessage>,
    pub requests: &'a mut RequestIds,
    pub quit: &'a mut bool,
}

impl Context<'_> {
    pub fn mode(&self) -> Mode {
        self.layers.top()
    }

    pub fn set_error(&mut self, text: impl Into<String>) {
        *self.status = Some(StatusMessage {
            text: text.into(),
            is_error: true,
        });
    }

    pub fn set_info(&mut self, text: impl Into<String>) {
        *self.status = Some(StatusMessage {
            text: text.into(),
            is_error: false,
        });
    }

    /// Writes are impossible (see [`ConsoleContext::writes_refused`]).
    pub fn read_only(&self) -> bool {
        self.session.writes_refused()
    }

    /// The extension fields a listing asks for here.
    pub fn listing_fields(&self) -> Vec<String> {
        crate::ops::session::listing_fields(&self.session.capabilities)
    }
}

/// What a part asks the App to do once it has returned: changes to the
/// table and to other parts, which the part does not own.
#[derive(Debug, Clone)]
pub(crate) enum Followup {
    /// An undo's plan goes through the preflight of its action.
    PreflightUndo(Box<UndoPlan>),
}

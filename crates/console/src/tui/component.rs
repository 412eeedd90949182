//! What the App lends its parts (the journal view, marks and bulk runs,
//! the account forms): the session, the clock, and the few pieces of the
//! App they may change.
//! The parts take a [`Context`] instead of the App, so they do not depend
//! on it; what they cannot do themselves they hand back as a [`Followup`].

use super::keymap::Mode;
use super::layers::Layers;
use super::ConsoleContext;
use crate::api::wire::OrgLimits;
use crate::domain::audit::FindingKind;
use crate::domain::preflight::BulkAction;
use crate::domain::{AccountType, User};
use crate::journal::Journal;
use crate::ops::run::DEFAULT_BULK_CONCURRENCY;
use crate::ops::undo::UndoPlan;
use crate::worker::RequestId;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
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
    pub now: DateTime<Utc>,
    /// The Organization on screen, and the seat limits reported.
    pub org: &'a str,
    pub limits: &'a [OrgLimits],
    pub layers: &'a mut Layers,
    pub status: &'a mut Option<StatusMessage>,
    pub requests: &'a mut RequestIds,
    pub quit: &'a mut bool,
    /// What the App does once the part has returned, in order.
    pub followups: Vec<Followup>,
}

impl<'a> Context<'a> {
    /// Asks the App for `followup` once the part has returned.
    pub fn then(&mut self, followup: Followup) {
        self.followups.push(followup);
    }

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

    /// The seat limits of the Organization on screen, when reported.
    pub fn current_limits(&self) -> Option<&'a OrgLimits> {
        self.limits.iter().find(|l| l.organization == self.org)
    }

    /// Writes are impossible (see [`ConsoleContext::writes_refused`]).
    pub fn read_only(&self) -> bool {
        self.session.writes_refused()
    }

    /// Who asks, for the plans the worker judges by the policy.
    pub fn asker(&self) -> crate::worker::Asker {
        crate::worker::Asker {
            actor: self.session.actor.clone(),
            settings: self.session.settings.clone(),
            capabilities: self.session.capabilities.clone(),
            concurrency: self.runs.concurrency,
        }
    }

    /// The extension fields a listing asks for here.
    pub fn listing_fields(&self) -> Vec<String> {
        crate::ops::session::listing_fields(&self.session.capabilities)
    }
}

/// The loaded accounts as a part may read them, in the table's terms.
pub(crate) trait Accounts {
    /// The account under the cursor.
    fn selected(&self) -> Option<&User>;
    /// Where the cursor is among the accounts shown.
    fn selected_index(&self) -> usize;
    /// How many accounts the filter shows.
    fn shown_len(&self) -> usize;
    /// The id of the account shown at `index`.
    fn shown_id(&self, index: usize) -> Option<i64>;
    /// Every loaded account in table order, shown or not.
    fn sorted(&self) -> Box<dyn Iterator<Item = &User> + '_>;
    /// Every loaded account in the order they arrived.
    fn loaded(&self) -> Box<dyn Iterator<Item = &User> + '_>;
    /// The active filter's text, when one is in force.
    fn active_filter(&self) -> Option<&str>;
}

/// What a part asks the App to do once it has returned: changes to the
/// table and to other parts, which the part does not own.
#[derive(Debug, Clone)]
pub(crate) enum Followup {
    /// The cursor goes to this shown account.
    Select(usize),
    /// Changed accounts take their rows' places; deleted ones go.
    ReplaceUsers {
        changed: Vec<User>,
        deleted: HashSet<i64>,
    },
    /// The table shows an audit finding's accounts.
    ShowFinding { kind: FindingKind, ids: Vec<i64> },
    /// One bulk result opens in full, over the results.
    OpenResultDetail,
    /// An undo's plan goes through the preflight of its action.
    PreflightUndo(Box<UndoPlan>),
    /// An import's undo plan is previewed (its deletions typed to confirm).
    PreviewImportUndo(Box<crate::ops::undo::ImportUndoPlan>),
    /// The preflight of `action` on these accounts, as the table has them
    /// by then.
    Preflight {
        action: BulkAction,
        only: HashSet<i64>,
    },
    /// A saved account takes its row's place, or joins the table when new.
    ReplaceUser(Box<User>),
    /// A deleted account's row goes.
    RemoveUser(i64),
    /// The Organization on screen has `delta` more accounts of `kind`: its
    /// seats left, where limits are reported, follow without a reload.
    CountSeats { kind: AccountType, delta: i64 },
    /// `p`/`M`: the preflight of a one-account action on the selected
    /// account (marks or not), through the bulk part.
    PreflightSelected(BulkAction),
    /// The status line says this, after what came before.
    Error(String),
}

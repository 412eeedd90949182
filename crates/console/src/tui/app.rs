//! The console's state and every way it changes: keys, mouse, worker
//! events, the clock. No IO here: `update` returns the commands for the
//! worker, so tests drive the App without a terminal or a network.

use super::bulk::Bulk;
use super::columns::{self, Column};
use super::component::{Accounts, Context, Followup, RequestIds, RunSettings, StatusMessage};
use super::journal::Journal;
use super::keymap::{Keymap, Mode};
use super::layers::Layers;
use super::line::LineEditor;
use super::list::{ListCursor, TypeAheadList, PICKER_QUERY_MAX};
use super::registry::{self, Cmd};
use super::review::Review;
use super::ConsoleContext;
use crate::api::wire::{ext, OrgLimits};
use crate::api::{Membership, UserQuery};
use crate::bulk::RowResult;
use crate::domain::audit::{FindingKind, DEFAULT_STALE_DAYS};
use crate::domain::filter::{Filter, MatchContext};
use crate::domain::form::{AccountForm, Choice};
use crate::domain::preflight::Preflight;
use crate::domain::{AccountType, Field, LastLoginReported, User};
use crate::worker::{Command, Event, RequestId};
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

/// Everything that can happen to the console.
#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// An answer from the worker.
    Worker(Event),
    /// The clock moved (relative times, the spinner).
    Tick(DateTime<Utc>),
    /// Text pasted in one piece (bracketed paste), or a burst of typed
    /// characters the event loop gathered: taken in one update.
    Paste(String),
    /// What the last draw showed (`views::draw` returns it): page sizes
    /// and where the rows are, for the keys and clicks until the next.
    Geometry(Geometry),
}

/// The layout a draw arrived at that the App needs between draws. Views
/// only read the App; this comes back through `update`, so the App stays
/// IO-free and tests replay it like any other message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Geometry {
    /// Where the table's rows were drawn (clicks; its height is a page).
    pub table_rows: Rect,
    /// Columns lay off-screen to the right.
    pub more_right: bool,
    /// The most columns after the account that may be scrolled off.
    pub col_scroll_max: usize,
    /// The open scrolled text (help, details, a result): its lines and
    /// the lines showing.
    pub text: Option<(usize, usize)>,
    /// The rows the open list popup showed (the journal views).
    pub list_page: Option<usize>,
    /// The form's first line on screen, its focused field in view.
    pub form_scroll: Option<u16>,
}

pub use super::line::MAX_INPUT;

/// The [`Context`] lent to a part: built from the App's fields one by one,
/// so the part's own field stays free to borrow beside it.
macro_rules! context {
    ($app:ident) => {
        Context {
            session: &$app.ctx,
            runs: &$app.run_settings,
            layers: &mut $app.layers,
            status: &mut $app.status,
            requests: &mut $app.requests,
            quit: &mut $app.quit,
            now: $app.now,
            org: &$app.org,
            limits: &$app.limits,
            followups: Vec::new(),
        }
    };
}

/// The loaded accounts lent to a part, from the App's fields one by one.
macro_rules! accounts {
    ($app:ident) => {
        LoadedAccounts {
            rows: &$app.rows,
            order: &$app.order,
            view: &$app.view,
            selected: $app.table.selected,
            filter_input: &$app.filter_input,
            filtered: $app.filter.is_some(),
        }
    };
}

/// Calls a part with the App's [`Context`] and accounts lent, then does
/// what the part asked for once it has returned.
macro_rules! lend {
    ($app:ident, |$ctx:ident, $accounts:pat_param| $call:expr) => {{
        let mut $ctx = context!($app);
        let $accounts = accounts!($app);
        let out = $call;
        let followups = $ctx.followups;
        $app.follow(followups);
        out
    }};
}

/// The App's rows as a part reads them.
struct LoadedAccounts<'a> {
    rows: &'a [Row],
    order: &'a [u32],
    view: &'a [u32],
    selected: usize,
    filter_input: &'a LineEditor,
    filtered: bool,
}

impl Accounts for LoadedAccounts<'_> {
    fn selected(&self) -> Option<&User> {
        let row = *self.view.get(self.selected)?;
        self.rows.get(row as usize).map(|r| &r.user)
    }

    fn selected_index(&self) -> usize {
        self.selected
    }

    fn shown_len(&self) -> usize {
        self.view.len()
    }

    fn shown_id(&self, index: usize) -> Option<i64> {
        let row = *self.view.get(index)?;
        self.rows.get(row as usize).map(|r| r.user.id)
    }

    fn sorted(&self) -> Box<dyn Iterator<Item = &User> + '_> {
        Box::new(
            self.order
                .iter()
                .filter_map(|&i| self.rows.get(i as usize))
                .map(|r| &r.user),
        )
    }

    fn loaded(&self) -> Box<dyn Iterator<Item = &User> + '_> {
        Box::new(self.rows.iter().map(|r| &r.user))
    }

    fn active_filter(&self) -> Option<&str> {
        active_filter(self.filter_input, self.filtered)
    }
}

/// The filter's text when a filter is in force.
fn active_filter(input: &LineEditor, filtered: bool) -> Option<&str> {
    let text = input.trim();
    (!text.is_empty() && filtered).then_some(text)
}

/// What Tab offered at the `:` prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Completion {
    /// The prompt's text as Tab left it.
    pub input: String,
    pub names: Vec<&'static str>,
    /// Which name Tab takes next.
    pub next: usize,
}

/// How far the account listing has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadState {
    Idle,
    Loading { total: Option<u64> },
    Done,
    Failed,
}

/// One loaded account with what sorting and filtering need, computed once
/// as it arrives, so a keystroke or a sort never recomputes them.
pub(crate) struct Row {
    pub user: User,
    /// Where `Filter::search_text` of the account lies in
    /// `App::search_texts`.
    search: SearchSpan,
}

/// A row's search text within `App::search_texts`: every row's text in one
/// buffer, so a keystroke's scan over 100,000 accounts reads memory in
/// order instead of one allocation per account.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SearchSpan {
    start: u32,
    len: u32,
}

impl SearchSpan {
    pub(crate) fn of(self, texts: &str) -> &str {
        let start = self.start as usize;
        texts
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }
}

/// Account counts by type, for the header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeCounts {
    pub user: usize,
    pub api: usize,
    pub taxii: usize,
    pub read_only: usize,
    pub unknown: usize,
}

impl TypeCounts {
    fn add(&mut self, kind: Option<AccountType>) {
        match kind {
            Some(AccountType::User) => self.user += 1,
            Some(AccountType::Api) => self.api += 1,
            Some(AccountType::Taxii) => self.taxii += 1,
            Some(AccountType::ReadOnly) => self.read_only += 1,
            None => self.unknown += 1,
        }
    }
}

pub struct App {
    pub(crate) ctx: ConsoleContext,
    pub(crate) now: DateTime<Utc>,
    /// What is open over the table, the front last (`mode()` is the front).
    pub(crate) layers: Layers,
    /// The keys in force: the defaults with the config file's `[keys]`.
    pub(crate) keymap: Keymap,
    pub(crate) ticks: u64,
    pub(crate) no_color: bool,

    pub(crate) rows: Vec<Row>,
    /// The rows' search texts, end to end (see `SearchSpan`); rewritten
    /// when a listing starts again.
    pub(crate) search_texts: String,
    /// Every row index, in sort order.
    order: Vec<u32>,
    /// The rows shown: `order` narrowed by the filter.
    pub(crate) view: Vec<u32>,
    pub(crate) counts: TypeCounts,
    /// Whether this listing shows that an absent last login means "never".
    pub(crate) last_login: LastLoginReported,
    pub(crate) sort: Column,
    pub(crate) ascending: bool,

    pub(crate) filter_input: LineEditor,
    filter: Option<Filter>,
    pub(crate) filter_error: Option<String>,
    /// What the filter could not decide, or which groups `group:` took.
    pub(crate) filter_note: Option<String>,
    pub(crate) command_input: LineEditor,
    /// The names Tab offered at the `:` prompt, while the input is still
    /// what Tab left there (Tab again then takes the next).
    pub(crate) completion: Option<Completion>,
    /// Why the prompt did not take everything typed or pasted (the limit),
    /// shown beside the prompt until the next key.
    pub(crate) prompt_note: Option<String>,

    /// The cursor over `view`: the selected row, the first row on screen,
    /// the rows a page holds.
    pub(crate) table: ListCursor,
    /// Where the table's rows were drawn (for mouse clicks).
    pub(crate) table_area: Rect,
    /// The first line on screen of the account's (or a result's) details.
    pub(crate) detail: ListCursor,
    /// The first line on screen of help.
    pub(crate) help: ListCursor,

    pub(crate) org: String,
    pub(crate) orgs: Vec<String>,
    /// Each row's rank in the account-name order (the tie-break of every
    /// sort), kept until the rows change: a re-sort then sorts once.
    tie_cache: Option<Vec<u32>>,
    /// The Organization picker: only the names holding what is typed show.
    pub(crate) picker: TypeAheadList,
    pub(crate) limits: Vec<OrgLimits>,

    pub(crate) load: LoadState,
    /// The listing's total as the server last reported it: after a failed
    /// load the header shows what was loaded against it.
    pub(crate) listed_total: Option<u64>,
    pub(crate) status: Option<StatusMessage>,
    /// The clock the current view was filtered with: narrowing is only
    /// sound while it has not moved (`login>90d` depends on it).
    view_now: DateTime<Utc>,

    pub(crate) requests: RequestIds,
    users_request: Option<RequestId>,
    orgs_request: Option<RequestId>,
    limits_request: Option<RequestId>,
    pub(crate) quit: bool,
    /// Create, edit, delete and the one-account actions (`form.rs`).
    pub(crate) forms: super::form::Forms,

    /// Marks, bulk runs and the audit (src/tui/bulk.rs).
    pub(crate) bulk: Bulk,
    /// The journal view (`:journal`) and undo plans.
    pub(crate) journal: Journal,
    /// The access review view (`:review DIR`).
    pub(crate) review: Review,
    /// Offboarding: its preview and run (`O`, `:offboard`).
    pub(crate) offboarding: super::offboarding::Offboarding,
    /// Where runs are journalled, and their concurrency.
    pub(crate) run_settings: RunSettings,
    /// A filter by account ids (an audit finding the filter language cannot
    /// express), with the label the status line shows.
    pub(crate) id_filter: Option<(String, HashSet<i64>)>,
    /// The session's warnings (`Client::notices`), shown once at start.
    notices: Vec<String>,
    /// TLS certificate checks are off: the header says so all the time.
    pub(crate) tls_unverified: bool,

    /// The columns chosen (`:columns`), in order, the account first.
    pub(crate) columns: Vec<Column>,
    /// How many columns after the account are scrolled off to the left.
    pub(crate) col_scroll: usize,
    /// Columns lay off-screen to the right at the last draw.
    pub(crate) more_right: bool,
    /// `[console]` of the config file, as last read or written.
    pub(crate) console_config: crate::config::ConsoleConfig,
    /// The saved view opened, for the header.
    pub(crate) view_name: Option<String>,
    /// File writes waiting for the event loop (`effects.rs`).
    pub(crate) effects: Vec<super::effects::Effect>,
    /// The search prompt's text, the last search (`n`/`N`), and where
    /// the cursor was when the prompt opened (Esc goes back there).
    pub(crate) find_input: LineEditor,
    pub(crate) find_last: String,
    pub(crate) find_origin: usize,
}

impl App {
    pub fn new(ctx: ConsoleContext) -> App {
        let org = ctx.actor.home_org.clone();
        App {
            ctx,
            now: Utc::now(),
            layers: Layers::default(),
            keymap: Keymap::default(),
            ticks: 0,
            no_color: false,
            rows: Vec::new(),
            search_texts: String::new(),
            order: Vec::new(),
            view: Vec::new(),
            counts: TypeCounts::default(),
            last_login: LastLoginReported::NotSeen,
            // People first: sorting by account name put the numeric API
            // and TAXII access ids on the first screen.
            sort: Column::Name,
            ascending: true,
            filter_input: LineEditor::default(),
            filter: None,
            filter_error: None,
            filter_note: None,
            command_input: LineEditor::default(),
            completion: None,
            prompt_note: None,
            table: ListCursor::default(),
            table_area: Rect::default(),
            detail: ListCursor::default(),
            help: ListCursor::default(),
            org,
            orgs: Vec::new(),
            picker: TypeAheadList::default(),
            tie_cache: None,
            limits: Vec::new(),
            load: LoadState::Idle,
            listed_total: None,
            status: None,
            view_now: DateTime::<Utc>::MIN_UTC,
            requests: RequestIds::default(),
            users_request: None,
            orgs_request: None,
            limits_request: None,
            quit: false,
            forms: Default::default(),
            bulk: Default::default(),
            journal: Default::default(),
            review: Default::default(),
            offboarding: Default::default(),
            run_settings: RunSettings::default(),
            id_filter: None,
            notices: Vec::new(),
            tls_unverified: false,
            columns: Column::ALL.to_vec(),
            col_scroll: 0,
            more_right: false,
            console_config: Default::default(),
            view_name: None,
            effects: Vec::new(),
            find_input: LineEditor::default(),
            find_last: String::new(),
            find_origin: 0,
        }
    }

    /// The console's settings from the config file: the columns chosen,
    /// and the saved views.
    pub fn with_console_config(mut self, config: crate::config::ConsoleConfig) -> App {
        if let Some(keys) = &config.columns {
            self.columns = columns::from_keys(keys);
        }
        self.console_config = config;
        self
    }

    /// The session's warnings for the status line at start, and whether
    /// TLS checks are off (a standing header badge).
    pub fn with_notices(mut self, notices: &[String], tls_unverified: bool) -> App {
        self.notices = notices.to_vec();
        self.notices.extend(self.ctx.actor.undecided_note());
        self.tls_unverified = tls_unverified;
        self
    }

    /// The keys in force (`Keymap::with_overrides` of the config file).
    pub fn with_keymap(mut self, keymap: Keymap) -> App {
        self.keymap = keymap;
        self
    }

    /// Fixes the clock (tests, benchmarks); the event loop ticks it forward.
    pub fn with_now(mut self, now: DateTime<Utc>) -> App {
        self.now = now;
        self
    }

    /// NO_COLOR: styles use only bold, underline and reverse video.
    pub fn with_no_color(mut self, no_color: bool) -> App {
        self.no_color = no_color;
        self
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The layer in front, the one keys go to.
    pub fn mode(&self) -> Mode {
        self.layers.top()
    }

    /// Accounts loaded, and accounts shown.
    pub fn counts(&self) -> (usize, usize) {
        (self.rows.len(), self.view.len())
    }

    /// The account under the cursor.
    pub fn selected_user(&self) -> Option<&User> {
        let row = *self.view.get(self.table.selected)?;
        self.rows.get(row as usize).map(|r| &r.user)
    }

    pub fn status(&self) -> Option<&StatusMessage> {
        self.status.as_ref()
    }

    pub fn load_state(&self) -> &LoadState {
        &self.load
    }

    /// The Organizations the picker offers (empty until they arrive).
    pub fn organizations(&self) -> &[String] {
        &self.orgs
    }

    pub fn current_org(&self) -> &str {
        &self.org
    }

    /// Writes are impossible: `--read-only`, or no role of the actor writes.
    pub fn read_only(&self) -> bool {
        self.ctx.writes_refused()
    }

    /// The columns this actor may see, in display order.
    pub fn available_columns(&self) -> Vec<Column> {
        Column::ALL
            .into_iter()
            .filter(|c| *c != Column::SystemRole || self.ctx.actor.sees_system_roles())
            .collect()
    }

    /// The seat limits of the Organization on screen, when reported.
    pub fn current_limits(&self) -> Option<&OrgLimits> {
        self.limits.iter().find(|l| l.organization == self.org)
    }

    /// The first requests: accounts, and Organizations and limits where
    /// the actor and instance allow.
    pub fn start(&mut self) -> Vec<Command> {
        let mut commands = vec![self.load_users()];
        if self.ctx.actor.sees_all_orgs() {
            let id = self.next_request();
            self.orgs_request = Some(id);
            commands.push(Command::LoadOrganizations { id });
        }
        commands.extend(self.load_limits());
        if !self.notices.is_empty() {
            self.set_info(format!("warning: {}", self.notices.join("; ")));
        }
        commands
    }

    pub fn update(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Key(key) => self.handle_key(key),
            Action::Mouse(mouse) => {
                self.handle_mouse(mouse);
                Vec::new()
            }
            Action::Worker(event) => {
                self.handle_event(event);
                Vec::new()
            }
            Action::Tick(now) => {
                self.now = now;
                self.ticks = self.ticks.wrapping_add(1);
                Vec::new()
            }
            Action::Paste(text) => self.type_text(&text),
            Action::Geometry(geometry) => {
                self.apply_geometry(geometry);
                Vec::new()
            }
        }
    }

    fn apply_geometry(&mut self, geometry: Geometry) {
        self.table_area = geometry.table_rows;
        self.table.set_page(usize::from(geometry.table_rows.height));
        self.more_right = geometry.more_right;
        self.col_scroll = self.col_scroll.min(geometry.col_scroll_max);
        if let Some((lines, height)) = geometry.text {
            match self.mode() {
                Mode::Help => self.help.set_text(lines, height),
                Mode::Detail | Mode::ResultDetail => self.detail.set_text(lines, height),
                Mode::Offboard => self.offboarding.cursor.set_text(lines, height),
                Mode::ImportConfirm => {
                    if let Some(pending) = self.bulk.import.as_mut() {
                        pending.scroll.set_text(lines, height);
                    }
                }
                _ => {}
            }
        }
        if let Some(page) = geometry.list_page {
            match (self.mode(), self.journal.open.as_mut()) {
                (Mode::JournalRun, Some(open)) => open.cursor.set_page(page),
                (Mode::Journal, _) => self.journal.cursor.set_page(page),
                (Mode::Review | Mode::ReviewReason, _) => self.review.cursor.set_page(page),
                _ => {}
            }
        }
        if let (Some(scroll), Some(form)) = (geometry.form_scroll, self.forms.form.as_mut()) {
            form.scroll = scroll;
        }
    }

    /// The character `key` types into the filter or command prompt, when
    /// typing is all it does: the event loop gathers a burst of these and
    /// hands them over with [`Action::Paste`], so the filter is applied
    /// once per burst, not once per character.
    pub fn typed_char(&self, key: &KeyEvent) -> Option<char> {
        if key.kind == KeyEventKind::Release
            || !matches!(self.mode(), Mode::Filter | Mode::Command | Mode::Find)
        {
            return None;
        }
        let KeyCode::Char(c) = key.code else {
            return None;
        };
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        (plain && self.keymap.lookup(self.mode(), key).is_none()).then_some(c)
    }

    /// Text arriving in one piece: appended to the prompt (up to
    /// [`MAX_INPUT`]) with one re-filter, or typed into the form or
    /// confirmation that has the focus. Elsewhere a paste is ignored, so
    /// pasted text never acts as keys.
    fn type_text(&mut self, text: &str) -> Vec<Command> {
        match self.mode() {
            Mode::Filter | Mode::Command | Mode::Find => self.append_prompt(text),
            Mode::Form
            | Mode::Confirm
            | Mode::BulkConfirm
            | Mode::Pick
            | Mode::ReviewReason
            | Mode::Offboard
            | Mode::ImportConfirm => {
                // More than the limit can never be taken: stop early.
                let mut commands = Vec::new();
                for c in text.chars().take(MAX_INPUT + 1) {
                    commands.extend(self.type_char(c));
                }
                return commands;
            }
            _ => {}
        }
        Vec::new()
    }

    /// Appends to the open prompt, up to [`MAX_INPUT`] characters; says so
    /// beside the prompt when some of `text` was left out.
    fn append_prompt(&mut self, text: &str) {
        let input = match self.mode() {
            Mode::Filter => &mut self.filter_input,
            Mode::Find => &mut self.find_input,
            _ => &mut self.command_input,
        };
        let typed = input.insert(text);
        if typed.cut {
            self.prompt_note = Some(format!(
                "cut to {} characters (the limit)",
                super::text::thousands(MAX_INPUT as u64)
            ));
        }
        if typed.taken > 0 {
            self.prompt_changed();
        }
    }

    /// The open prompt's text changed: the filter and the search follow it.
    fn prompt_changed(&mut self) {
        match self.mode() {
            Mode::Filter => self.apply_filter(),
            Mode::Find => self.find_changed(),
            _ => {}
        }
    }

    /// The one entry point for keys: the event loop and the tests call it.
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        match self.keymap.lookup(self.mode(), &key) {
            Some(cmd) => self.perform(cmd),
            None => {
                if let KeyCode::Char(c) = key.code {
                    let typed = !key
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
                    if typed {
                        return self.type_char(c);
                    }
                }
                Vec::new()
            }
        }
    }

    pub(crate) fn type_char(&mut self, c: char) -> Vec<Command> {
        match self.mode() {
            Mode::Filter | Mode::Command | Mode::Find => {
                self.append_prompt(c.encode_utf8(&mut [0; 4]))
            }
            Mode::Form | Mode::Confirm => {
                return lend!(self, |ctx, _| self.forms.type_char(&mut ctx, c))
            }
            Mode::Pick => self.forms.pick_type(c),
            Mode::OrgPicker if !c.is_control() => {
                self.picker.query.insert_char(c);
                self.settle_picker();
            }
            Mode::BulkProgress => lend!(self, |ctx, _| self.bulk.answer_stop(&mut ctx, c)),
            Mode::BulkConfirm => self.bulk.type_confirmation(c),
            Mode::ReviewReason => lend!(self, |ctx, _| self.review.type_char(&mut ctx, c)),
            Mode::Offboard => self.offboarding.type_char(c),
            Mode::ImportConfirm => self.bulk.type_import_confirmation(c),
            _ => {}
        }
        Vec::new()
    }

    fn perform(&mut self, cmd: Cmd) -> Vec<Command> {
        // Errors stay until the next request; notes go at the next key.
        if self.status.as_ref().is_some_and(|s| !s.is_error) {
            self.status = None;
        }
        self.prompt_note = None;
        if let Some(commands) = lend!(self, |ctx, accounts| self
            .forms
            .perform(&mut ctx, &accounts, cmd))
        {
            return commands;
        }
        if let Some(commands) = lend!(self, |ctx, accounts| self
            .bulk
            .perform(&mut ctx, &accounts, cmd))
        {
            return commands;
        }
        if let Some(commands) = lend!(self, |ctx, _| self.journal.perform(&mut ctx, cmd)) {
            return commands;
        }
        if let Some(commands) = lend!(self, |ctx, _| self.review.perform(&mut ctx, cmd)) {
            return commands;
        }
        if let Some(commands) = lend!(self, |ctx, _| self.offboarding.perform(&mut ctx, cmd)) {
            return commands;
        }
        // One bulk result in full takes only its scrolling, Esc and help.
        if self.mode() == Mode::ResultDetail && !matches!(cmd, Cmd::Help | Cmd::Quit) {
            if cmd == Cmd::Close {
                self.layers.pop();
            }
            self.detail.navigate(cmd);
            return Vec::new();
        }
        match cmd {
            Cmd::Quit => self.quit = true,
            Cmd::Up | Cmd::Down | Cmd::PageUp | Cmd::PageDown | Cmd::Top | Cmd::Bottom => {
                self.navigate(cmd)
            }
            Cmd::Details if self.selected_user().is_some() => {
                self.layers.push(Mode::Detail);
                self.detail = ListCursor::default();
            }
            Cmd::EditFilter => self.layers.push(Mode::Filter),
            Cmd::ScrollLeft => self.scroll_columns(false),
            Cmd::ScrollRight => self.scroll_columns(true),
            Cmd::Find => self.open_find(),
            Cmd::FindNext => self.find_again(true),
            Cmd::FindPrevious => self.find_again(false),
            Cmd::CopyUserName => self.copy_user_name(),
            Cmd::CommandPrompt => {
                self.command_input.clear();
                self.layers.push(Mode::Command);
            }
            Cmd::Complete => self.complete_command(),
            Cmd::Org => self.open_org_picker(),
            Cmd::Columns => self.columns_command(""),
            Cmd::View => self.view_command(""),
            Cmd::ClearFilter => self.clear_filter(),
            Cmd::SortNext => self.cycle_sort(1),
            Cmd::SortPrevious => self.cycle_sort(-1),
            Cmd::SortReverse => self.set_sort(self.sort, !self.ascending),
            Cmd::Journal => return lend!(self, |ctx, _| self.journal.open(&mut ctx)),
            Cmd::Offboard if self.mode() == Mode::Table => return self.start_offboard(""),
            Cmd::Refresh => return self.refresh(),
            Cmd::Help => {
                // Help from help stays where it is.
                if self.mode() != Mode::Help {
                    self.layers.push(Mode::Help);
                }
                let from = self.layers.beneath_top();
                self.help = ListCursor::at(self.keymap.help_line(from, self.read_only()));
            }
            Cmd::Close => match self.mode() {
                Mode::OrgPicker if !self.picker.query.is_empty() => {
                    self.picker.query.clear();
                    self.settle_picker();
                }
                Mode::Filter => {
                    self.clear_filter();
                    self.layers.pop();
                }
                Mode::Find => {
                    self.table.select(self.find_origin);
                    self.layers.pop();
                }
                _ => self.layers.pop(),
            },
            Cmd::Accept => match self.mode() {
                Mode::Filter | Mode::Find => self.layers.pop(),
                Mode::Command => {
                    self.layers.pop();
                    let text = self.command_input.to_string();
                    self.command_input.clear();
                    return self.run_command(&text);
                }
                Mode::OrgPicker => {
                    let Some(at) = self.picker.selected_item() else {
                        return Vec::new(); // nothing listed matches what was typed
                    };
                    self.layers.pop();
                    if let Some(org) = self.orgs.get(at).cloned() {
                        return self.switch_org(org);
                    }
                }
                _ => {}
            },
            Cmd::DeleteChar
            | Cmd::DeleteWord
            | Cmd::ClearInput
            | Cmd::DeleteNextChar
            | Cmd::CursorLeft
            | Cmd::CursorRight
            | Cmd::CursorStart
            | Cmd::CursorEnd => self.edit_input(cmd),
            // The marks, bulk runs and the audit are handled in `bulk.rs`,
            // the account actions in `form.rs`; the rest need arguments.
            _ => {}
        }
        Vec::new()
    }

    /// Tab at the `:` prompt: completes the command name typed so far; when
    /// several fit, completes what they share and lists them, and Tab again
    /// takes each in turn.
    fn complete_command(&mut self) {
        if self.command_input.contains(char::is_whitespace) {
            return; // past the name: its arguments are not completed
        }
        if let Some(completion) = self.completion.as_mut() {
            if completion.input == self.command_input.as_str() {
                let next = completion.next % completion.names.len().max(1);
                if let Some(name) = completion.names.get(next) {
                    self.command_input.set(name);
                    completion.input = name.to_string();
                    completion.next = next + 1;
                }
                return;
            }
        }
        self.completion = None;
        let names = registry::completions(&self.command_input, self.read_only());
        match names.as_slice() {
            [] => {
                self.prompt_note = Some(format!(
                    "no command starts with {:?}",
                    self.command_input.as_str()
                ))
            }
            [name] => self.command_input.set(name),
            _ => {
                self.command_input.set(registry::common_prefix(&names));
                self.completion = Some(Completion {
                    input: self.command_input.to_string(),
                    names,
                    next: 0,
                });
            }
        }
    }

    /// Lists the Organizations whose name holds every typed word.
    fn settle_picker(&mut self) {
        self.picker
            .narrow(self.orgs.iter().map(String::as_str), None);
    }

    fn edit_input(&mut self, cmd: Cmd) {
        let input = match self.mode() {
            Mode::Filter => &mut self.filter_input,
            Mode::Command => &mut self.command_input,
            Mode::Find => &mut self.find_input,
            Mode::OrgPicker => &mut self.picker.query,
            _ => return,
        };
        let before = input.to_string();
        input.edit(cmd);
        if *input == before.as_str() {
            return; // the cursor moved: nothing to re-filter
        }
        if self.mode() == Mode::OrgPicker {
            self.settle_picker();
        }
        self.prompt_changed();
    }

    fn navigate(&mut self, cmd: Cmd) {
        match self.mode() {
            Mode::Table => {
                self.table.navigate(cmd);
            }
            Mode::Detail => {
                self.detail.navigate(cmd);
            }
            Mode::Help => {
                self.help.navigate(cmd);
            }
            Mode::OrgPicker => {
                self.picker.cursor.navigate(cmd);
            }
            _ => {}
        }
    }

    fn handle_mouse(&mut self, mouse: MouseEvent) {
        match mouse.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let down = mouse.kind == MouseEventKind::ScrollDown;
                if let Some(list) = self.wheel_list() {
                    list.wheel(down);
                }
            }
            MouseEventKind::Down(_) if self.mode() == Mode::Table => {
                let area = self.table_area;
                let inside = mouse.column >= area.x
                    && mouse.column < area.x + area.width
                    && mouse.row >= area.y
                    && mouse.row < area.y + area.height;
                if let Some(index) = inside
                    .then(|| self.table.item_at(usize::from(mouse.row - area.y)))
                    .flatten()
                {
                    self.table.select(index);
                }
            }
            _ => {}
        }
    }

    /// The list or text the mouse wheel moves in this mode, its length
    /// brought up to date.
    fn wheel_list(&mut self) -> Option<&mut ListCursor> {
        Some(match self.mode() {
            Mode::Table => &mut self.table,
            Mode::Detail | Mode::ResultDetail => &mut self.detail,
            Mode::Help => &mut self.help,
            Mode::OrgPicker => &mut self.picker.cursor,
            Mode::Chooser => &mut self.forms.chooser,
            Mode::Pick => &mut self.forms.pick.as_mut()?.list.cursor,
            Mode::Journal => &mut self.journal.cursor,
            Mode::JournalRun => &mut self.journal.open.as_mut()?.cursor,
            Mode::Review => &mut self.review.cursor,
            Mode::BulkConfirm => {
                let pending = self.bulk.pending.as_mut()?;
                pending.scroll.set_len(pending.group_len(pending.group));
                &mut pending.scroll
            }
            Mode::BulkResults => {
                let run = self.bulk.run.as_mut()?;
                run.cursor
                    .set_len(run.results.len() + run.not_allowed.len());
                &mut run.cursor
            }
            Mode::Audit => {
                let audit = self.bulk.audit.as_mut()?;
                audit.cursor.set_len(audit.audit.findings.len());
                &mut audit.cursor
            }
            _ => return None,
        })
    }

    pub(crate) fn next_request(&mut self) -> RequestId {
        self.requests.next()
    }

    /// Does what the parts asked for once they returned, in order.
    fn follow(&mut self, followups: Vec<Followup>) {
        for followup in followups {
            match followup {
                Followup::Select(index) => self.table.select(index),
                Followup::ReplaceUsers { changed, deleted } => {
                    self.replace_users(changed, &deleted)
                }
                Followup::ShowFinding { kind, ids } => self.show_finding(kind, ids),
                Followup::OpenResultDetail => {
                    self.detail = ListCursor::default();
                    self.layers.push(Mode::ResultDetail);
                }
                Followup::PreflightUndo(plan) => {
                    lend!(self, |ctx, _| self.bulk.preflight_undo(&mut ctx, *plan))
                }
                Followup::PreviewImportUndo(plan) => {
                    lend!(self, |ctx, _| self.bulk.preview_import_undo(&mut ctx, plan))
                }
                Followup::Preflight { action, only } => {
                    lend!(self, |ctx, accounts| self.bulk.preflight_on(
                        &mut ctx,
                        &accounts,
                        action,
                        Some(&only)
                    ));
                }
                Followup::ReplaceUser(user) => self.replace_user(*user),
                Followup::RemoveUser(id) => self.remove_user(id),
                Followup::CountSeats { kind, delta } => {
                    if let Some(limits) = self.limits_mut() {
                        limits.count(kind, delta);
                    }
                }
                Followup::PreflightSelected(action) => {
                    // A preflight sends nothing until it is confirmed.
                    lend!(self, |ctx, accounts| self
                        .bulk
                        .preflight_selected(&mut ctx, &accounts, action));
                }
                Followup::Error(text) => self.set_error(text),
            }
        }
    }

    /// The seat limits of the Organization on screen, to count in.
    fn limits_mut(&mut self) -> Option<&mut OrgLimits> {
        let org = &self.org;
        self.limits.iter_mut().find(|l| l.organization == *org)
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

    /// Starts a fresh listing of the current Organization; answers to any
    /// earlier listing are ignored from now on.
    fn load_users(&mut self) -> Command {
        let id = self.next_request();
        self.users_request = Some(id);
        self.rows.clear();
        self.search_texts.clear();
        self.tie_cache = None;
        self.order.clear();
        self.view.clear();
        self.counts = TypeCounts::default();
        self.last_login = self.ctx.capabilities.last_login_advertised();
        self.table.reset();
        self.load = LoadState::Loading { total: None };
        self.listed_total = None;
        self.status = None;
        let fields = self.listing_fields();
        let groups_from_user_groups = Membership::applies(&self.ctx.capabilities, &fields);
        // An actor who may not list the Organization still sees its own
        // account: ask without an Organization and let the server narrow.
        let owner = self
            .ctx
            .actor
            .may_list_org(&self.org)
            .then(|| self.org.clone());
        Command::LoadUsers {
            id,
            org: owner.clone(),
            query: UserQuery {
                fields,
                owner,
                ..Default::default()
            },
            groups_from_user_groups,
        }
    }

    /// The extension fields a listing asks for here.
    pub(super) fn listing_fields(&self) -> Vec<String> {
        crate::ops::session::listing_fields(&self.ctx.capabilities)
    }

    /// On a plain instance an account's groups come from the listing's
    /// membership read, never from a single-account answer, and no write
    /// here changes them: a changed account keeps the groups its row had.
    fn keep_known_groups(&self, user: &mut User) {
        if user.user_groups.is_some()
            || !Membership::applies(&self.ctx.capabilities, &self.listing_fields())
        {
            return;
        }
        if let Some(row) = self.rows.iter().find(|r| r.user.id == user.id) {
            user.user_groups = row.user.user_groups.clone();
        }
    }

    fn load_limits(&mut self) -> Option<Command> {
        if !self.ctx.capabilities.has(ext::LIMITS) {
            return None;
        }
        let id = self.next_request();
        self.limits_request = Some(id);
        Some(Command::LoadLimits { id })
    }

    fn refresh(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        if let (LoadState::Loading { .. }, Some(id)) = (&self.load, self.users_request) {
            commands.push(Command::Cancel { id });
        }
        commands.push(self.load_users());
        commands.extend(self.load_limits());
        commands
    }

    fn switch_org(&mut self, org: String) -> Vec<Command> {
        if org == self.org && self.load != LoadState::Failed {
            return Vec::new();
        }
        self.org = org;
        self.refresh()
    }

    fn open_org_picker(&mut self) {
        if !self.ctx.actor.sees_all_orgs() {
            let scope = if self.ctx.actor.sees_home_org() {
                "its home Organization"
            } else {
                "its own account"
            };
            self.set_error(format!(
                "{} sees only {scope}",
                self.ctx.actor.system_role_with_article()
            ));
        } else if self.orgs.is_empty() {
            self.set_info("the list of Organizations has not arrived yet");
        } else {
            let shown = self.orgs.iter().position(|o| *o == self.org).unwrap_or(0);
            let names = self.orgs.iter().map(String::as_str);
            self.picker = TypeAheadList::new(names, shown, PICKER_QUERY_MAX);
            self.layers.push(Mode::OrgPicker);
        }
    }

    pub(crate) fn set_error(&mut self, text: impl Into<String>) {
        self.status = Some(StatusMessage {
            text: text.into(),
            is_error: true,
        });
    }

    pub(crate) fn set_info(&mut self, text: impl Into<String>) {
        self.status = Some(StatusMessage {
            text: text.into(),
            is_error: false,
        });
    }

    fn run_command(&mut self, text: &str) -> Vec<Command> {
        let text = text.trim();
        if text.is_empty() {
            return Vec::new();
        }
        let (name, args) = match text.split_once(char::is_whitespace) {
            Some((name, args)) => (name, args.trim()),
            None => (text, ""),
        };
        let Some(cmd) = Cmd::prompt_named(name) else {
            let help = self
                .keymap
                .first_key(Mode::Table, Cmd::Help)
                .map_or_else(|| ":help".to_string(), |k| k.label());
            self.set_error(format!(
                "unknown command :{name} ({help} lists the commands)"
            ));
            return Vec::new();
        };
        // Over a run's results only `:export` (and quitting, help) make sense.
        if self.mode() != Mode::Table && !matches!(cmd, Cmd::Export | Cmd::Quit | Cmd::Help) {
            self.set_error(format!(
                ":{} works from the accounts table; here :export FILE.csv|FILE.json writes the run's results",
                cmd.name()
            ));
            return Vec::new();
        }
        match cmd {
            Cmd::Filter => {
                self.filter_input.set(args);
                self.apply_filter();
                if let Some(error) = self.filter_error.clone() {
                    self.set_error(format!("filter: {error}"));
                }
            }
            Cmd::Sort => self.sort_command(args),
            Cmd::Org if !args.is_empty() => return self.org_command(args),
            Cmd::New if !args.is_empty() => {
                return lend!(self, |ctx, _| self.forms.new_command(&mut ctx, args))
            }
            Cmd::Bulk(crate::domain::preflight::BulkAction::Delete) if !args.is_empty() => {
                return lend!(self, |ctx, accounts| self
                    .bulk
                    .start_delete(&mut ctx, &accounts, args))
            }
            Cmd::Offboard => return self.start_offboard(args),
            Cmd::Import => return lend!(self, |ctx, _| self.bulk.start_import(&mut ctx, args)),
            Cmd::Undo => {
                let run_id = Some(args.trim())
                    .filter(|a| !a.is_empty())
                    .map(str::to_string);
                return lend!(self, |ctx, _| self.journal.start_undo(&mut ctx, run_id));
            }
            Cmd::Review => return lend!(self, |ctx, _| self.review.open(&mut ctx, args)),
            Cmd::Columns => self.columns_command(args),
            Cmd::Goto => self.goto_command(args),
            Cmd::Find => self.find_command(args),
            Cmd::Export => self.export_command(args),
            Cmd::View => self.view_command(args),
            // Without arguments a command does what its key does.
            _ => return self.perform(cmd),
        }
        Vec::new()
    }

    /// `O` / `:offboard [...]`: the offboarding plan of the marked accounts
    /// (or the selected one).
    fn start_offboard(&mut self, args: &str) -> Vec<Command> {
        lend!(self, |ctx, accounts| self.offboarding.start(
            &mut ctx,
            &accounts,
            &self.bulk.marks,
            args
        ))
    }

    fn sort_command(&mut self, args: &str) {
        let mut words: Vec<&str> = args.split_whitespace().collect();
        let direction = match words.last().map(|w| w.to_ascii_lowercase()) {
            Some(w) if w == "asc" => {
                words.pop();
                Some(true)
            }
            Some(w) if w == "desc" => {
                words.pop();
                Some(false)
            }
            _ => None,
        };
        let name = words.join(" ");
        match Column::parse(&name).filter(|c| self.available_columns().contains(c)) {
            Some(column) => self.set_sort(column, direction.unwrap_or(true)),
            None => {
                let known: Vec<&str> = self.available_columns().iter().map(|c| c.title()).collect();
                self.set_error(format!(
                    "no column {name:?}; sort by one of {} (by title or key, any case, then asc or desc)",
                    known.join(", ")
                ));
            }
        }
    }

    fn org_command(&mut self, name: &str) -> Vec<Command> {
        if name.is_empty() {
            self.set_error(":org needs an Organization name");
            return Vec::new();
        }
        let known = self
            .orgs
            .iter()
            .chain(std::iter::once(&self.ctx.actor.home_org))
            .find(|o| o.eq_ignore_ascii_case(name))
            .cloned();
        let allowed = |org: &str| self.ctx.actor.may_list_org(org);
        match known {
            Some(org) if allowed(&org) => self.switch_org(org),
            // Before the list arrives, trust the name; the server decides.
            None if self.orgs.is_empty() && self.ctx.actor.sees_all_orgs() => {
                self.switch_org(name.to_string())
            }
            Some(org) => {
                self.set_error(format!(
                    "{} cannot list the accounts of {org}",
                    self.ctx.actor.system_role_with_article()
                ));
                Vec::new()
            }
            None => {
                self.set_error(format!("no Organization named {name:?}"));
                Vec::new()
            }
        }
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::UsersPage { id, users, total } => {
                if Some(id) != self.users_request {
                    return;
                }
                self.load = LoadState::Loading { total };
                self.listed_total = total.or(self.listed_total);
                // Room for the whole listing at once: growing by doubling
                // would leave up to half the rows' size unused. The count
                // is the server's word, so the room asked for is capped.
                if let Some(total) = total {
                    let expected = (total as usize).min(MAX_ROWS_RESERVED);
                    let more = expected.saturating_sub(self.rows.len()).max(users.len());
                    if self.rows.capacity() - self.rows.len() < users.len() {
                        self.rows.reserve_exact(more);
                    }
                }
                self.add_users(users);
            }
            Event::Note { id, text } => {
                if Some(id) == self.users_request {
                    self.status = Some(StatusMessage {
                        text,
                        is_error: false,
                    });
                }
            }
            Event::UsersDone { id } => {
                if Some(id) == self.users_request {
                    self.load = LoadState::Done;
                    // The tie-break ranks once, now, so the first re-sort
                    // does not pay for them.
                    if self.tie_cache.is_none() {
                        self.tie_cache = Some(self.tie_ranks());
                    }
                    self.rows.shrink_to_fit();
                    release_freed_memory();
                }
            }
            Event::Organizations { id, names } => {
                if Some(id) == self.orgs_request {
                    self.orgs = names;
                }
            }
            Event::Limits { id, limits } => {
                if Some(id) == self.limits_request {
                    self.limits = limits;
                }
            }
            Event::Failed { id, what, error } if self.forms.owns(id) => {
                lend!(self, |ctx, _| self.forms.failed(&mut ctx, id, what, error))
            }
            Event::BulkRow { .. }
            | Event::BulkDone { .. }
            | Event::ReadBack { .. }
            | Event::ImportPlanned { .. } => {
                lend!(self, |ctx, accounts| self
                    .bulk
                    .handle_event(&mut ctx, &accounts, event))
            }
            Event::Journal { .. }
            | Event::JournalRun { .. }
            | Event::UndoPlanned { .. }
            | Event::ImportUndoPlanned { .. } => {
                lend!(self, |ctx, _| self.journal.handle_event(&mut ctx, event))
            }
            Event::Review { .. } | Event::ReviewSaved { .. } => {
                lend!(self, |ctx, _| self.review.handle_event(&mut ctx, event))
            }
            Event::OffboardPlanned { .. }
            | Event::OffboardStep { .. }
            | Event::OffboardDone { .. } => {
                lend!(self, |ctx, accounts| self
                    .offboarding
                    .handle_event(&mut ctx, &accounts, event))
            }
            Event::Failed { id, what, error } => {
                let current = [self.users_request, self.orgs_request, self.limits_request];
                if !current.contains(&Some(id)) {
                    return;
                }
                if Some(id) == self.users_request {
                    self.load = LoadState::Failed;
                }
                self.set_error(format!("{what} failed: {error}"));
            }
            other => lend!(self, |ctx, accounts| self
                .forms
                .handle_event(&mut ctx, &accounts, other)),
        }
    }

    /// Puts a changed account in place of its row (or adds it), keeping
    /// the sort and the filter.
    pub(crate) fn replace_user(&mut self, mut user: User) {
        self.keep_known_groups(&mut user);
        match self.rows.iter().position(|r| r.user.id == user.id) {
            None => self.add_users(vec![user]),
            Some(at) => {
                let keep = self.view.get(self.table.selected).copied();
                let search = self.add_search_text(&user);
                self.rows[at] = Row { user, search };
                self.tie_cache = None;
                self.recount();
                let (column, ascending) = (self.sort, self.ascending);
                let rows = &self.rows;
                self.order
                    .sort_by(|a, b| ordering(rows, column, ascending, *a, *b));
                self.rebuild_view();
                self.restore_selection(keep);
            }
        }
    }

    /// Drops a deleted account's row.
    pub(crate) fn remove_user(&mut self, id: i64) {
        let Some(at) = self.rows.iter().position(|r| r.user.id == id) else {
            return;
        };
        let at = at as u32;
        self.rows.remove(at as usize);
        let shift = |list: &mut Vec<u32>| {
            list.retain(|&i| i != at);
            for i in list.iter_mut() {
                if *i > at {
                    *i -= 1;
                }
            }
        };
        shift(&mut self.order);
        shift(&mut self.view);
        self.recount();
        self.table.set_len(self.view.len());
    }

    fn recount(&mut self) {
        self.counts = TypeCounts::default();
        for row in &self.rows {
            self.counts.add(row.user.account_type());
        }
    }

    fn match_context(&self) -> MatchContext {
        MatchContext {
            now: self.now,
            last_login: self.last_login,
            password_max_age_days: self.ctx.settings.password_max_age_days,
        }
    }

    /// Appends a page: sorts just the new rows and merges them into the
    /// order and the view, so a page costs O(n), not a full sort.
    /// Appends the account's search text to `search_texts`.
    fn add_search_text(&mut self, user: &User) -> SearchSpan {
        let start = self.search_texts.len();
        self.search_texts.push_str(&Filter::search_text(user));
        SearchSpan {
            start: start as u32,
            len: (self.search_texts.len() - start) as u32,
        }
    }

    fn add_users(&mut self, users: Vec<User>) {
        let reported = self.last_login.or(LastLoginReported::seen_in(&users));
        if reported != self.last_login {
            // Absent last logins on the rows so far now read as "never".
            self.last_login = reported;
            self.rebuild_view();
        }
        let first = self.rows.len();
        for user in users {
            self.counts.add(user.account_type());
            let search = self.add_search_text(&user);
            self.rows.push(Row { user, search });
            self.tie_cache = None;
        }
        let mut fresh: Vec<u32> = (first as u32..self.rows.len() as u32).collect();
        let (column, ascending) = (self.sort, self.ascending);
        let (rows, texts) = (&self.rows, &self.search_texts);
        let cmp = |a: &u32, b: &u32| ordering(rows, column, ascending, *a, *b);
        fresh.sort_by(cmp);
        let shown: Vec<u32> = match (&self.filter, &self.id_filter) {
            (Some(filter), _) => {
                let ctx = self.match_context();
                fresh
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let row = &rows[i as usize];
                        filter.matches_indexed(&row.user, row.search.of(texts), &ctx)
                    })
                    .collect()
            }
            (None, Some((_, ids))) => fresh
                .iter()
                .copied()
                .filter(|&i| ids.contains(&rows[i as usize].user.id))
                .collect(),
            (None, None) => fresh.clone(),
        };
        let keep = self.view.get(self.table.selected).copied();
        self.order = merge(std::mem::take(&mut self.order), fresh, cmp);
        self.view = merge(std::mem::take(&mut self.view), shown, cmp);
        self.restore_selection(keep);
    }

    pub(super) fn clear_filter(&mut self) {
        if self.filter_input.is_empty() && self.filter.is_none() && self.id_filter.is_none() {
            return;
        }
        self.id_filter = None;
        self.filter_input.clear();
        self.apply_filter();
    }

    /// Re-filters after the filter text changed. A text that does not parse
    /// keeps the last good view and shows why.
    pub(super) fn apply_filter(&mut self) {
        let text = self.filter_input.trim();
        if !text.is_empty() {
            // A typed filter replaces a finding's id filter.
            self.id_filter = None;
        }
        self.filter_note = None;
        if text.is_empty() {
            self.filter = None;
            self.filter_error = None;
        } else {
            match Filter::parse(text).map(|f| self.noted(f)) {
                // A term over a field this listing does not carry (mfa: on
                // a plain instance) would show "no account matches", a
                // wrong answer: say why instead, keeping the last good view.
                Ok((filter, _)) if self.unanswerable(&filter).is_some() => {
                    self.filter_error = self.unanswerable(&filter).map(String::from);
                    return;
                }
                Ok((filter, judged)) => {
                    // Typing one more letter only narrows: scan the rows
                    // shown, not all of them.
                    let narrows = self.filter_error.is_none()
                        && self.view_now == self.now
                        && self.filter.as_ref().is_some_and(|old| filter.narrows(old));
                    self.filter = Some(filter);
                    self.filter_error = None;
                    if narrows {
                        self.narrow_view(judged.as_deref());
                        return;
                    }
                    self.rebuild_view_judged(judged);
                    return;
                }
                Err(error) => {
                    self.filter_error = Some(error.0);
                    return;
                }
            }
        }
        self.rebuild_view();
    }

    /// `filter` with `group:` resolved against the loaded groups, noting
    /// that and what the filter cannot decide (the domain's words). When
    /// finding that takes a pass over every row, the same pass judges each
    /// row: whether it matches, by row index, comes back with the filter.
    fn noted(&mut self, mut filter: Filter) -> (Filter, Option<Vec<bool>>) {
        let groups = self
            .rows
            .iter()
            .flat_map(|r| r.user.user_groups.iter().flatten().map(|g| g.name.as_str()));
        let mut notes = filter.resolve_groups(groups);
        let mut judged = None;
        if filter.may_be_undecided() {
            let texts = &self.search_texts;
            let rows = self.rows.iter().map(|r| (&r.user, r.search.of(texts)));
            let (matched, undecided) = filter.judge_indexed(rows, &self.match_context());
            notes.extend(undecided.iter().map(ToString::to_string));
            judged = Some(matched);
        }
        self.filter_note = (!notes.is_empty()).then(|| notes.join("; "));
        (filter, judged)
    }

    /// Why `filter` cannot be answered from this listing's fields.
    fn unanswerable(&self, filter: &Filter) -> Option<&'static str> {
        let fields = self.listing_fields();
        let mfa = fields.iter().any(|f| f == ext::MFA_FIELD);
        let groups = fields.iter().any(|f| f == ext::USER_GROUPS_FIELD)
            || Membership::applies(&self.ctx.capabilities, &fields);
        filter.unanswerable(mfa, groups)
    }

    /// Keeps the shown rows the (narrower) filter still matches (`judged`:
    /// already known for every row).
    fn narrow_view(&mut self, judged: Option<&[bool]>) {
        let keep = self.view.get(self.table.selected).copied();
        if let Some(judged) = judged {
            self.view.retain(|&i| judged[i as usize]);
        } else if let Some(filter) = &self.filter {
            let ctx = self.match_context();
            let (rows, texts) = (&self.rows, &self.search_texts);
            self.view.retain(|&i| {
                let row = &rows[i as usize];
                filter.matches_indexed(&row.user, row.search.of(texts), &ctx)
            });
        }
        self.restore_selection(keep);
    }

    /// One pass over the sorted order.
    pub(crate) fn rebuild_view(&mut self) {
        self.rebuild_view_judged(None);
    }

    /// As `rebuild_view`, with whether each row matches the filter already
    /// known (`judged`, by row index) or worked out here.
    fn rebuild_view_judged(&mut self, judged: Option<Vec<bool>>) {
        self.view_now = self.now;
        let keep = self.view.get(self.table.selected).copied();
        match &self.filter {
            None => match &self.id_filter {
                None => self.view.clone_from(&self.order),
                Some((_, ids)) => {
                    let rows = &self.rows;
                    self.view.clear();
                    self.view.extend(
                        self.order
                            .iter()
                            .copied()
                            .filter(|&i| ids.contains(&rows[i as usize].user.id)),
                    );
                }
            },
            Some(filter) => {
                let ctx = self.match_context();
                // Match in memory order (cache-friendly), then keep the
                // sorted order: far faster than probing rows in sort order.
                let texts = &self.search_texts;
                let matched: Vec<bool> = judged.unwrap_or_else(|| {
                    self.rows
                        .iter()
                        .map(|row| filter.matches_indexed(&row.user, row.search.of(texts), &ctx))
                        .collect()
                });
                self.view.clear();
                self.view
                    .extend(self.order.iter().copied().filter(|&i| matched[i as usize]));
            }
        }
        self.restore_selection(keep);
    }

    /// Keeps the cursor on the same account when it is still shown.
    fn restore_selection(&mut self, row: Option<u32>) {
        let found = row.and_then(|row| self.view.iter().position(|&i| i == row));
        self.table.set_len(self.view.len());
        if let Some(index) = found {
            self.table.select(index);
        }
    }

    fn cycle_sort(&mut self, step: isize) {
        let columns = self.available_columns();
        let at = columns.iter().position(|c| *c == self.sort).unwrap_or(0) as isize;
        let next = (at + step).rem_euclid(columns.len() as isize) as usize;
        self.set_sort(columns[next], true);
    }

    pub(super) fn set_sort(&mut self, column: Column, ascending: bool) {
        let ties = match self.tie_cache.take() {
            Some(ties) if ties.len() == self.rows.len() => ties,
            _ => self.tie_ranks(),
        };
        self.sort = column;
        self.ascending = ascending;
        sort_by_column(&self.rows, &ties, column, &mut self.order);
        self.tie_cache = Some(ties);
        if !ascending {
            // The order is total (ids are unique): descending is its reverse.
            self.order.reverse();
        }
        self.rebuild_view();
        let direction = if ascending { "ascending" } else { "descending" };
        self.set_info(format!("sorted by {}, {direction}", column.title()));
    }

    /// Each row's place in the tie-break order (account name, then id).
    /// Sorted by Account, that is `order` itself; otherwise one sort by
    /// precomputed keys.
    fn tie_ranks(&self) -> Vec<u32> {
        let mut ranks = vec![0u32; self.rows.len()];
        let by_account: Vec<u32> =
            if self.sort == Column::Account && self.order.len() == self.rows.len() {
                let mut order = self.order.clone();
                if !self.ascending {
                    order.reverse();
                }
                order
            } else {
                by_account(&self.rows)
            };
        for (rank, &row) in by_account.iter().enumerate() {
            ranks[row as usize] = rank as u32;
        }
        ranks
    }

    /// Puts changed accounts in place of the loaded ones (matched by id)
    /// and drops the deleted ones, then re-sorts and re-filters.
    pub(super) fn replace_users(&mut self, changed: Vec<User>, deleted: &HashSet<i64>) {
        if changed.is_empty() && deleted.is_empty() {
            return;
        }
        let keep = self
            .view
            .get(self.table.selected)
            .and_then(|&i| self.rows.get(i as usize))
            .map(|r| r.user.id);
        let mut changed: std::collections::HashMap<i64, User> = changed
            .into_iter()
            .map(|mut u| {
                self.keep_known_groups(&mut u);
                (u.id, u)
            })
            .collect();
        let old = std::mem::take(&mut self.rows);
        self.tie_cache = None;
        self.counts = TypeCounts::default();
        for row in old {
            if deleted.contains(&row.user.id) {
                continue;
            }
            let row = match changed.remove(&row.user.id) {
                Some(user) => Row {
                    search: self.add_search_text(&user),
                    user,
                },
                None => row,
            };
            self.counts.add(row.user.account_type());
            self.rows.push(row);
        }
        let (column, ascending) = (self.sort, self.ascending);
        let rows = &self.rows;
        self.order = (0..rows.len() as u32).collect();
        self.order
            .sort_by(|a, b| ordering(rows, column, ascending, *a, *b));
        self.rebuild_view();
        if let Some(id) = keep {
            if let Some(at) = self
                .view
                .iter()
                .position(|&i| self.rows[i as usize].user.id == id)
            {
                self.table.select(at);
            }
        }
    }

    /// Every loaded row in table order.
    pub(super) fn sorted_rows(&self) -> impl Iterator<Item = &Row> {
        self.order.iter().filter_map(|&i| self.rows.get(i as usize))
    }

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

    /// Whether a bulk run (or an offboarding run) is still going.
    pub fn bulk_running(&self) -> bool {
        self.bulk.run.as_ref().is_some_and(|r| !r.done) || self.offboarding.running()
    }

    /// A run stopped on the way out (`q`, then y) with accounts it never
    /// sent: how many of how many. The process then exits non-zero.
    pub fn stopped_run(&self) -> Option<(usize, usize)> {
        let run = self.bulk.run.as_ref().filter(|r| r.done)?;
        let not_sent = run.count(|o| *o == crate::bulk::RowOutcome::NotSent);
        (self.bulk.quit_when_stopped && not_sent > 0).then_some((not_sent, run.results.len()))
    }

    /// The journal view's runs, newest first, once read (`:journal`).
    pub fn journal_runs(&self) -> Option<&[crate::journal::RunSummary]> {
        self.journal.runs.as_deref()
    }

    /// The accounts of the run opened in the journal view, once read.
    pub fn journal_rows(&self) -> Option<&[crate::journal::RunRow]> {
        self.journal.open.as_ref()?.rows.as_deref()
    }

    /// The escape sequences waiting to go to the terminal (the clipboard).
    pub fn take_terminal_output(&mut self) -> Option<String> {
        self.forms.take_terminal_output()
    }

    /// Whether the API token popup is open (the token lives only there).
    pub fn token_shown(&self) -> bool {
        self.forms.token_shown()
    }

    /// The form on screen, if any.
    pub fn account_form(&self) -> Option<&AccountForm> {
        self.forms.account_form()
    }

    /// The open pick list's entries and the highlighted one.
    pub fn pick_list(&self) -> Option<(Vec<Choice>, usize)> {
        self.forms.pick_list()
    }

    /// The field the form's cursor is on.
    pub fn focused_field(&self) -> Option<Field> {
        self.forms.focused_field()
    }

    /// The problems shown beside the fields, and the server's refusal.
    pub fn form_errors(&self) -> (Vec<(Field, String)>, Option<String>) {
        self.forms.form_errors()
    }

    /// The filter's text, when a filter is in force.
    pub fn active_filter(&self) -> Option<&str> {
        active_filter(&self.filter_input, self.filter.is_some())
    }
}

/// Rows reserved ahead on a listing's count (see `Event::UsersPage`).
const MAX_ROWS_RESERVED: usize = 500_000;

/// Gives the memory the listing freed (page bodies, decoding buffers, in
/// every worker thread's arena) back to the system: glibc keeps it
/// otherwise, and the console's resident size would stay at the listing's
/// peak for the whole session.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages; it touches no live data.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Every row index in the tie-break order: account name, then id.
fn by_account(rows: &[Row]) -> Vec<u32> {
    let keys: Vec<String> = rows.iter().map(|r| columns::account_key(&r.user)).collect();
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        keys[a as usize]
            .cmp(&keys[b as usize])
            .then_with(|| rows[a as usize].user.id.cmp(&rows[b as usize].user.id))
    });
    order
}

#[cfg(test)]
#[path = "sort_tests.rs"]
mod sort_tests;

/// `order` sorted ascending by `column`, as `columns::compare` orders,
/// with the tie-break read from `ties` and text columns' keys computed once
/// per row rather than per comparison.
fn sort_by_column(rows: &[Row], ties: &[u32], column: Column, order: &mut [u32]) {
    let tie = |a: u32, b: u32| ties[a as usize].cmp(&ties[b as usize]);
    if column == Column::Account {
        order.sort_unstable_by_key(|&i| ties[i as usize]);
    } else if column == Column::Type {
        // Keys once per row, not per comparison (the type is parsed from
        // the System role's name).
        let keys: Vec<u8> = rows.iter().map(|r| Column::type_rank(&r.user)).collect();
        order.sort_unstable_by(|&a, &b| {
            keys[a as usize]
                .cmp(&keys[b as usize])
                .then_with(|| tie(a, b))
        });
    } else if column == Column::SystemRole {
        let keys: Vec<(Option<u8>, Option<&str>)> = rows
            .iter()
            .map(|r| {
                let user = &r.user;
                (
                    user.system_role_parsed().map(|role| role.rank()),
                    user.system_role.as_deref(),
                )
            })
            .collect();
        order.sort_unstable_by(|&a, &b| {
            keys[a as usize]
                .cmp(&keys[b as usize])
                .then_with(|| tie(a, b))
        });
    } else if column == Column::OrgRole {
        let keys: Vec<Option<&str>> = rows.iter().map(|r| r.user.org_role_name()).collect();
        order.sort_unstable_by(|&a, &b| {
            keys[a as usize]
                .cmp(&keys[b as usize])
                .then_with(|| tie(a, b))
        });
    } else if matches!(column, Column::Name | Column::Groups) {
        let keys: Vec<String> = rows
            .iter()
            .map(|r| columns::sort_text(column, &r.user).unwrap_or_default())
            .collect();
        order.sort_unstable_by(|&a, &b| {
            keys[a as usize]
                .cmp(&keys[b as usize])
                .then_with(|| tie(a, b))
        });
    } else {
        order.sort_unstable_by(|&a, &b| {
            columns::primary(column, &rows[a as usize].user, &rows[b as usize].user)
                .then_with(|| tie(a, b))
        });
    }
}

fn ordering(rows: &[Row], column: Column, ascending: bool, a: u32, b: u32) -> Ordering {
    let (ra, rb) = (&rows[a as usize], &rows[b as usize]);
    let order = columns::compare(column, &ra.user, &rb.user);
    if ascending {
        order
    } else {
        order.reverse()
    }
}

/// Merges two sorted lists.
fn merge(old: Vec<u32>, new: Vec<u32>, cmp: impl Fn(&u32, &u32) -> Ordering) -> Vec<u32> {
    if new.is_empty() {
        return old;
    }
    let mut out = Vec::with_capacity(old.len() + new.len());
    let (mut a, mut b) = (old.into_iter().peekable(), new.into_iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => {
                if cmp(y, x) == Ordering::Less {
                    out.extend(b.next());
                } else {
                    out.extend(a.next());
                }
            }
            (Some(_), None) => out.extend(a.by_ref()),
            (None, Some(_)) => out.extend(b.by_ref()),
            (None, None) => break,
        }
    }
    out
}

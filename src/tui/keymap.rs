//! Every key the console understands, one table per mode. Dispatch looks
//! keys up in these tables and the help screen renders them, so help cannot
//! drift from the real keys. The `:` commands live here too, for the same
//! reason.

use crate::domain::preflight::BulkAction;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the console is doing; each mode has its own keymap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Table,
    Filter,
    Command,
    Detail,
    Help,
    OrgPicker,
    /// The preflight of a bulk action, waiting for confirmation.
    BulkConfirm,
    /// A bulk run in progress.
    BulkProgress,
    /// The results of the last bulk run.
    BulkResults,
    /// The read-only audit findings.
    Audit,
    /// The Create chooser (User, API User, Read Only User, TAXII User).
    Chooser,
    /// The User / API User Administration form.
    Form,
    /// A pick list over the form (or the delete flow's new owner).
    Pick,
    /// A question before an irreversible or lossy step.
    Confirm,
    /// The API token, shown once.
    Token,
    /// The search prompt (`f`): the cursor jumps to matches as you type.
    Find,
    /// One bulk result in full (Enter in the results).
    ResultDetail,
    /// The journal's runs (`:journal`).
    Journal,
    /// One run's accounts, from the journal view.
    JournalRun,
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAction {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    OpenDetail,
    OpenFilter,
    OpenCommand,
    OpenOrgPicker,
    ClearFilter,
    SortNextColumn,
    SortPreviousColumn,
    /// Mark or unmark the account under the cursor, then move down.
    ToggleMark,
    /// Mark from the anchor (the last account marked with Space) to the cursor.
    MarkRange,
    /// Mark every account the filter shows.
    MarkAllShown,
    /// Invert the marks of the accounts shown.
    InvertMarks,
    ClearMarks,
    /// Preflight a bulk action on the marked accounts (or the selected one).
    Bulk(BulkAction),
    OpenAudit,
    /// Next group of the preflight (will change / already / not allowed).
    NextGroup,
    PreviousGroup,
    /// Confirm a reversible bulk action.
    Confirm,
    /// Stop a bulk run: requests in flight finish, nothing new starts.
    CancelRun,
    /// Ask whether to stop the bulk run and quit once it has stopped.
    StopAndQuit,
    /// Run the action again on the accounts that failed or were not sent.
    RetryFailed,
    /// Undo the run under the cursor (the journal views).
    UndoRun,
    ReverseSort,
    Refresh,
    Help,
    /// Leave the popup or prompt (in the filter prompt: clearing the filter).
    Close,
    /// Keep the prompt's text / choose the highlighted item.
    Accept,
    DeleteChar,
    DeleteWord,
    ClearInput,
    OpenCreate,
    EditAccount,
    DeleteAccount,
    RequirePasswordReset,
    RequireMfaReset,
    NextField,
    PreviousField,
    Save,
    SaveWithToken,
    /// Checkbox or multi-choice entry (in a text field: a space).
    Toggle,
    CopyToken,
    /// Text fields: move the cursor, delete forward.
    CursorLeft,
    CursorRight,
    CursorStart,
    CursorEnd,
    DeleteNextChar,
    /// Scroll the columns (the account column stays put).
    ScrollLeft,
    ScrollRight,
    /// Start a search (the cursor jumps; nothing is filtered out).
    OpenFind,
    /// The next / previous match of the last search.
    FindNext,
    FindPrevious,
    /// Copy the account's user name to the clipboard (OSC 52).
    CopyUserName,
}

impl KeyAction {
    /// Whether the action would change something on the server (hidden
    /// from help, and refused, when the console is read-only).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            KeyAction::Bulk(_)
                | KeyAction::OpenCreate
                | KeyAction::EditAccount
                | KeyAction::DeleteAccount
                | KeyAction::RequirePasswordReset
                | KeyAction::RequireMfaReset
        )
    }
}

/// A key with its modifiers (Shift is folded into the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    const fn char(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }

    const fn shift_tab() -> Key {
        Key::plain(KeyCode::BackTab)
    }

    const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    /// The key as a terminal reports it, normalised for lookup.
    pub fn from_event(event: &KeyEvent) -> Key {
        let mut modifiers = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match event.code {
            // Some terminals report Ctrl-letters in upper case.
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            KeyCode::BackTab => {
                modifiers = KeyModifiers::NONE;
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, modifiers }
    }

    /// How help shows the key.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "Up".into(),
            KeyCode::Down => "Down".into(),
            KeyCode::Left => "Left".into(),
            KeyCode::Right => "Right".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{base}")
        } else if self.modifiers.contains(KeyModifiers::ALT) {
            format!("Alt-{base}")
        } else {
            base
        }
    }
}

/// One row of a keymap: the keys, what they do, and the help text.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: KeyAction,
    pub description: &'static str,
}

const fn bind(keys: &'static [Key], action: KeyAction, description: &'static str) -> Binding {
    Binding {
        keys,
        action,
        description,
    }
}

use KeyAction as A;

/// Keys that work in every mode, looked up first.
/// Paging, the same in every list.
const PAGE_DOWN: Binding = bind(
    &[Key::ctrl('d'), Key::plain(KeyCode::PageDown)],
    A::PageDown,
    "Page down",
);
const PAGE_UP: Binding = bind(
    &[Key::ctrl('u'), Key::plain(KeyCode::PageUp)],
    A::PageUp,
    "Page up",
);

pub const GLOBAL: &[Binding] = &[
    bind(&[Key::ctrl('c')], A::Quit, "Quit rollcall"),
    bind(&[Key::plain(KeyCode::F(1))], A::Help, "Help"),
];

pub const TABLE: &[Binding] = &[
    bind(
        &[Key::char('j'), Key::plain(KeyCode::Down)],
        A::Down,
        "Next account",
    ),
    bind(
        &[Key::char('k'), Key::plain(KeyCode::Up)],
        A::Up,
        "Previous account",
    ),
    PAGE_DOWN,
    PAGE_UP,
    bind(
        &[Key::char('g'), Key::plain(KeyCode::Home)],
        A::Top,
        "First account",
    ),
    bind(
        &[Key::char('G'), Key::plain(KeyCode::End)],
        A::Bottom,
        "Last account",
    ),
    bind(
        &[Key::plain(KeyCode::Enter)],
        A::OpenDetail,
        "Details of the account",
    ),
    bind(
        &[Key::char('/')],
        A::OpenFilter,
        "Filter, e.g. status:locked login>90d smith",
    ),
    bind(
        &[Key::plain(KeyCode::Esc)],
        A::ClearFilter,
        "Clear the filter",
    ),
    bind(
        &[Key::char('s'), Key::plain(KeyCode::Tab)],
        A::SortNextColumn,
        "Sort by the next column",
    ),
    bind(
        &[Key::plain(KeyCode::BackTab)],
        A::SortPreviousColumn,
        "Sort by the previous column",
    ),
    bind(&[Key::char('S')], A::ReverseSort, "Ascending/descending"),
    bind(
        &[Key::char('r'), Key::plain(KeyCode::F(5))],
        A::Refresh,
        "Reload the accounts",
    ),
    bind(
        &[Key::char('o')],
        A::OpenOrgPicker,
        "Choose the Organization",
    ),
    bind(
        &[Key::char(' ')],
        A::ToggleMark,
        "Mark/unmark the account, move down",
    ),
    bind(
        &[Key::char('V')],
        A::MarkRange,
        "Mark from the anchor (last Space) to here",
    ),
    bind(
        &[Key::char('*')],
        A::MarkAllShown,
        "Mark every account shown",
    ),
    bind(
        &[Key::char('!')],
        A::InvertMarks,
        "Invert the marks of those shown",
    ),
    bind(&[Key::char('c')], A::ClearMarks, "Clear all marks"),
    bind(
        &[Key::char('d')],
        A::Bulk(BulkAction::Disable),
        "Disable the marked accounts (or this one)",
    ),
    bind(
        &[Key::char('E')],
        A::Bulk(BulkAction::Enable),
        "Enable the marked accounts (or this one)",
    ),
    bind(
        &[Key::char('u')],
        A::Bulk(BulkAction::Unlock),
        "Unlock the marked accounts (or this one)",
    ),
    bind(&[Key::char('A')], A::OpenAudit, "Audit findings"),
    bind(&[Key::char(':')], A::OpenCommand, "Command prompt"),
    bind(&[Key::char('?')], A::Help, "Help"),
    bind(&[Key::char('q')], A::Quit, "Quit"),
    bind(
        &[Key::char('a')],
        A::OpenCreate,
        "Add (create) an account (choose the type)",
    ),
    bind(
        &[Key::char('h'), Key::plain(KeyCode::Left)],
        A::ScrollLeft,
        "Scroll the columns left (the account stays)",
    ),
    bind(
        &[Key::char('l'), Key::plain(KeyCode::Right)],
        A::ScrollRight,
        "Scroll the columns right",
    ),
    bind(
        &[Key::char('f'), Key::ctrl('f')],
        A::OpenFind,
        "Find an account as you type (no filtering)",
    ),
    bind(
        &[Key::char('n')],
        A::FindNext,
        "Next match of the last search",
    ),
    bind(
        &[Key::char('N')],
        A::FindPrevious,
        "Previous match of the last search",
    ),
    bind(
        &[Key::char('y')],
        A::CopyUserName,
        "Copy the account's user name (OSC 52)",
    ),
    bind(&[Key::char('e')], A::EditAccount, "Edit the account"),
    bind(
        &[Key::char('x'), Key::plain(KeyCode::Delete)],
        A::DeleteAccount,
        "Delete the account (asks first)",
    ),
    bind(
        &[Key::char('p')],
        A::RequirePasswordReset,
        "Require a password reset of the account",
    ),
    bind(
        &[Key::char('M')],
        A::RequireMfaReset,
        "Require an MFA reset of the account",
    ),
];

pub const FILTER: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Enter)],
        A::Accept,
        "Keep the filter, back to the table",
    ),
    bind(
        &[Key::plain(KeyCode::Esc)],
        A::Close,
        "Clear the filter, back to the table",
    ),
    bind(
        &[Key::plain(KeyCode::Backspace)],
        A::DeleteChar,
        "Delete a character",
    ),
    bind(&[Key::ctrl('w')], A::DeleteWord, "Delete a word"),
    bind(&[Key::ctrl('u')], A::ClearInput, "Delete everything"),
    // The filter language and the commands have no use for `?`.
    bind(&[Key::char('?')], A::Help, "Help"),
];

pub const COMMAND: &[Binding] = &[
    bind(&[Key::plain(KeyCode::Enter)], A::Accept, "Run the command"),
    bind(&[Key::plain(KeyCode::Esc)], A::Close, "Cancel"),
    bind(
        &[Key::plain(KeyCode::Backspace)],
        A::DeleteChar,
        "Delete a character",
    ),
    bind(&[Key::ctrl('w')], A::DeleteWord, "Delete a word"),
    bind(&[Key::ctrl('u')], A::ClearInput, "Delete everything"),
    // The filter language and the commands have no use for `?`.
    bind(&[Key::char('?')], A::Help, "Help"),
];

pub const FIND: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Enter)],
        A::Accept,
        "Stay on the match (n/N: next/previous)",
    ),
    bind(
        &[Key::plain(KeyCode::Esc)],
        A::Close,
        "Back to where the search started",
    ),
    bind(
        &[Key::plain(KeyCode::Backspace)],
        A::DeleteChar,
        "Delete a character",
    ),
    bind(&[Key::ctrl('w')], A::DeleteWord, "Delete a word"),
    bind(&[Key::ctrl('u')], A::ClearInput, "Delete everything"),
];

pub const DETAIL: &[Binding] = &[
    bind(
        &[
            Key::plain(KeyCode::Esc),
            Key::char('q'),
            Key::plain(KeyCode::Enter),
        ],
        A::Close,
        "Back to the table",
    ),
    bind(
        &[Key::char('j'), Key::plain(KeyCode::Down)],
        A::Down,
        "Scroll down",
    ),
    bind(
        &[Key::char('k'), Key::plain(KeyCode::Up)],
        A::Up,
        "Scroll up",
    ),
    PAGE_DOWN,
    PAGE_UP,
    bind(&[Key::char('g'), Key::plain(KeyCode::Home)], A::Top, "Top"),
    bind(
        &[Key::char('G'), Key::plain(KeyCode::End)],
        A::Bottom,
        "Bottom",
    ),
    bind(&[Key::char('?')], A::Help, "Help"),
    bind(
        &[Key::char('y')],
        A::CopyUserName,
        "Copy the account's user name (OSC 52)",
    ),
    bind(&[Key::char('e')], A::EditAccount, "Edit the account"),
    bind(
        &[Key::char('x'), Key::plain(KeyCode::Delete)],
        A::DeleteAccount,
        "Delete the account (asks first)",
    ),
];

pub const ORG_PICKER: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Enter)],
        A::Accept,
        "Show this Organization",
    ),
    bind(
        &[Key::plain(KeyCode::Esc)],
        A::Close,
        "Cancel (with typed text: clear it)",
    ),
    // Letters type ahead, as in every pick list: arrows move.
    bind(&[Key::plain(KeyCode::Down)], A::Down, "Next"),
    bind(&[Key::plain(KeyCode::Up)], A::Up, "Previous"),
    bind(&[Key::plain(KeyCode::Home)], A::Top, "First"),
    bind(&[Key::plain(KeyCode::End)], A::Bottom, "Last"),
    bind(
        &[Key::plain(KeyCode::Backspace)],
        A::DeleteChar,
        "Delete a typed character",
    ),
    bind(&[Key::char('?')], A::Help, "Help"),
];

pub const HELP: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Esc), Key::char('q'), Key::char('?')],
        A::Close,
        "Close help",
    ),
    bind(
        &[Key::char('j'), Key::plain(KeyCode::Down)],
        A::Down,
        "Scroll down",
    ),
    bind(
        &[Key::char('k'), Key::plain(KeyCode::Up)],
        A::Up,
        "Scroll up",
    ),
    PAGE_DOWN,
    PAGE_UP,
    bind(&[Key::char('g'), Key::plain(KeyCode::Home)], A::Top, "Top"),
    bind(
        &[Key::char('G'), Key::plain(KeyCode::End)],
        A::Bottom,
        "Bottom",
    ),
];

pub const CHOOSER: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Enter)],
        A::Accept,
        "Create an account of this type",
    ),
    bind(
        &[Key::plain(KeyCode::Esc), Key::char('q')],
        A::Close,
        "Cancel",
    ),
    bind(
        &[Key::char('j'), Key::plain(KeyCode::Down)],
        A::Down,
        "Next",
    ),
    bind(
        &[Key::char('k'), Key::plain(KeyCode::Up)],
        A::Up,
        "Previous",
    ),
    bind(&[Key::char('?')], A::Help, "Help"),
];

pub const FORM: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Tab), Key::plain(KeyCode::Down)],
        A::NextField,
        "Next field",
    ),
    bind(
        &[Key::shift_tab(), Key::plain(KeyCode::Up)],
        A::PreviousField,
        "Previous field",
    ),
    bind(&[Key::ctrl('s')], A::Save, "Save"),
    bind(
        &[Key::ctrl('g')],
        A::SaveWithToken,
        "API users: save and generate token",
    ),
    bind(
        &[Key::plain(KeyCode::Enter)],
        A::Accept,
        "Open the pick list / toggle / next field",
    ),
    bind(
        &[Key::char(' ')],
        A::Toggle,
        "Toggle a checkbox (in text: a space)",
    ),
    bind(
        &[Key::plain(KeyCode::Esc)],
        A::Close,
        "Leave the form (asks when changed)",
    ),
    bind(
        &[Key::plain(KeyCode::Backspace)],
        A::DeleteChar,
        "Delete a character",
    ),
    bind(
        &[Key::plain(KeyCode::Delete)],
        A::DeleteNextChar,
        "Delete the character under the cursor",
    ),
    bind(&[Key::ctrl('w')], A::DeleteWord, "Delete a word"),
    bind(&[Key::ctrl('u')], A::ClearInput, "Clear the field"),
    bind(&[Key::plain(KeyCode::Left)], A::CursorLeft, "Cursor left"),
    bind(
        &[Key::plain(KeyCode::Right)],
        A::CursorRight,
        "Cursor right",
    ),
    bind(
        &[Key::plain(KeyCode::Home), Key::ctrl('a')],
        A::CursorStart,
        "Cursor to the start",
    ),
    bind(
        &[Key::plain(KeyCode::End), Key::ctrl('e')],
        A::CursorEnd,
        "Cursor to the end",
    ),
];

/// Letters and digits type ahead (narrowing the list), so navigation is
/// on the arrows and paging keys only.
pub const PICK: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Enter)],
        A::Accept,
        "Pick (several: done)",
    ),
    bind(
        &[Key::char(' ')],
        A::Toggle,
        "Several: mark or unmark (else: a space)",
    ),
    bind(
        &[Key::plain(KeyCode::Esc)],
        A::Close,
        "Cancel (with typed text: clear it)",
    ),
    bind(&[Key::plain(KeyCode::Down)], A::Down, "Next"),
    bind(&[Key::plain(KeyCode::Up)], A::Up, "Previous"),
    bind(
        &[Key::plain(KeyCode::PageDown), Key::ctrl('d')],
        A::PageDown,
        "Page down",
    ),
    bind(
        &[Key::plain(KeyCode::PageUp), Key::ctrl('u')],
        A::PageUp,
        "Page up",
    ),
    bind(&[Key::plain(KeyCode::Home)], A::Top, "First"),
    bind(&[Key::plain(KeyCode::End)], A::Bottom, "Last"),
    bind(
        &[Key::plain(KeyCode::Backspace)],
        A::DeleteChar,
        "Type-ahead: delete a character",
    ),
];

pub const CONFIRM: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Enter)],
        A::Accept,
        "Go ahead (delete: type the account name first)",
    ),
    bind(&[Key::plain(KeyCode::Esc)], A::Close, "Cancel"),
    bind(
        &[Key::plain(KeyCode::Backspace)],
        A::DeleteChar,
        "Delete a character",
    ),
    bind(&[Key::ctrl('u')], A::ClearInput, "Delete everything"),
];

pub const TOKEN: &[Binding] = &[
    bind(
        &[Key::char('c')],
        A::CopyToken,
        "Copy the token to the clipboard (OSC 52)",
    ),
    bind(
        &[
            Key::plain(KeyCode::Esc),
            Key::plain(KeyCode::Enter),
            Key::char('q'),
        ],
        A::Close,
        "Close; the token is gone for good",
    ),
];

pub const BULK_CONFIRM: &[Binding] = &[
    bind(
        &[Key::char('y'), Key::plain(KeyCode::Enter)],
        A::Confirm,
        "Run it (delete: type the count, then Enter)",
    ),
    bind(
        &[Key::plain(KeyCode::Esc), Key::char('q')],
        A::Close,
        "Cancel, nothing is sent",
    ),
    bind(
        &[Key::plain(KeyCode::Tab)],
        A::NextGroup,
        "Next group (will change, already, not allowed)",
    ),
    bind(
        &[Key::plain(KeyCode::BackTab)],
        A::PreviousGroup,
        "Previous group",
    ),
    bind(
        &[Key::char('j'), Key::plain(KeyCode::Down)],
        A::Down,
        "Scroll down",
    ),
    bind(
        &[Key::char('k'), Key::plain(KeyCode::Up)],
        A::Up,
        "Scroll up",
    ),
    bind(
        &[Key::plain(KeyCode::Backspace)],
        A::DeleteChar,
        "Delete a typed digit",
    ),
];

pub const BULK_PROGRESS: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Esc)],
        A::CancelRun,
        "Stop; requests in flight still finish",
    ),
    bind(
        &[Key::char('q')],
        A::StopAndQuit,
        "Stop (asks first), then quit",
    ),
];

pub const BULK_RESULTS: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Esc), Key::char('q')],
        A::Close,
        "Back to the table",
    ),
    bind(
        &[Key::char('r')],
        A::RetryFailed,
        "Retry the failed and unsent accounts",
    ),
    bind(
        &[Key::char('j'), Key::plain(KeyCode::Down)],
        A::Down,
        "Next result",
    ),
    bind(
        &[Key::char('k'), Key::plain(KeyCode::Up)],
        A::Up,
        "Previous result",
    ),
    PAGE_DOWN,
    PAGE_UP,
    bind(
        &[Key::char('g'), Key::plain(KeyCode::Home)],
        A::Top,
        "First",
    ),
    bind(
        &[Key::char('G'), Key::plain(KeyCode::End)],
        A::Bottom,
        "Last",
    ),
    bind(
        &[Key::plain(KeyCode::Enter)],
        A::OpenDetail,
        "The whole message of this result",
    ),
    bind(&[Key::char('?')], A::Help, "Help"),
];

pub const JOURNAL: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Esc), Key::char('q')],
        A::Close,
        "Back to the table",
    ),
    bind(
        &[Key::plain(KeyCode::Enter)],
        A::OpenDetail,
        "The accounts of this run",
    ),
    bind(
        &[Key::char('u')],
        A::UndoRun,
        "Undo this run (preflight first)",
    ),
    bind(
        &[Key::char('j'), Key::plain(KeyCode::Down)],
        A::Down,
        "Next run",
    ),
    bind(
        &[Key::char('k'), Key::plain(KeyCode::Up)],
        A::Up,
        "Previous run",
    ),
    PAGE_DOWN,
    PAGE_UP,
    bind(
        &[Key::char('g'), Key::plain(KeyCode::Home)],
        A::Top,
        "First",
    ),
    bind(
        &[Key::char('G'), Key::plain(KeyCode::End)],
        A::Bottom,
        "Last",
    ),
    bind(&[Key::char('?')], A::Help, "Help"),
];

pub const JOURNAL_RUN: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Esc), Key::char('q')],
        A::Close,
        "Back to the runs",
    ),
    bind(
        &[Key::char('u')],
        A::UndoRun,
        "Undo this run (preflight first)",
    ),
    bind(
        &[Key::char('j'), Key::plain(KeyCode::Down)],
        A::Down,
        "Next account",
    ),
    bind(
        &[Key::char('k'), Key::plain(KeyCode::Up)],
        A::Up,
        "Previous account",
    ),
    PAGE_DOWN,
    PAGE_UP,
    bind(
        &[Key::char('g'), Key::plain(KeyCode::Home)],
        A::Top,
        "First",
    ),
    bind(
        &[Key::char('G'), Key::plain(KeyCode::End)],
        A::Bottom,
        "Last",
    ),
    bind(&[Key::char('?')], A::Help, "Help"),
];

pub const RESULT_DETAIL: &[Binding] = &[
    bind(
        &[
            Key::plain(KeyCode::Esc),
            Key::plain(KeyCode::Enter),
            Key::char('q'),
        ],
        A::Close,
        "Back to the results",
    ),
    bind(
        &[Key::char('j'), Key::plain(KeyCode::Down)],
        A::Down,
        "Scroll down",
    ),
    bind(
        &[Key::char('k'), Key::plain(KeyCode::Up)],
        A::Up,
        "Scroll up",
    ),
];

pub const AUDIT: &[Binding] = &[
    bind(
        &[Key::plain(KeyCode::Enter)],
        A::Accept,
        "Show the accounts of this finding",
    ),
    bind(
        &[Key::plain(KeyCode::Esc), Key::char('q'), Key::char('A')],
        A::Close,
        "Back to the table",
    ),
    bind(
        &[Key::char('j'), Key::plain(KeyCode::Down)],
        A::Down,
        "Next finding",
    ),
    bind(
        &[Key::char('k'), Key::plain(KeyCode::Up)],
        A::Up,
        "Previous finding",
    ),
    bind(&[Key::char('?')], A::Help, "Help"),
];

/// The keymap of a mode.
pub fn bindings(mode: Mode) -> &'static [Binding] {
    match mode {
        Mode::Table => TABLE,
        Mode::Filter => FILTER,
        Mode::Command => COMMAND,
        Mode::Detail => DETAIL,
        Mode::Help => HELP,
        Mode::OrgPicker => ORG_PICKER,
        Mode::Chooser => CHOOSER,
        Mode::Form => FORM,
        Mode::Pick => PICK,
        Mode::Confirm => CONFIRM,
        Mode::Token => TOKEN,
        Mode::BulkConfirm => BULK_CONFIRM,
        Mode::BulkProgress => BULK_PROGRESS,
        Mode::BulkResults => BULK_RESULTS,
        Mode::Audit => AUDIT,
        Mode::Find => FIND,
        Mode::ResultDetail => RESULT_DETAIL,
        Mode::Journal => JOURNAL,
        Mode::JournalRun => JOURNAL_RUN,
    }
}

/// Every keymap with its title, in the order help shows them.
pub fn sections() -> Vec<(&'static str, &'static [Binding])> {
    vec![
        ("Everywhere", GLOBAL),
        ("Accounts table", TABLE),
        ("Filter prompt (/)", FILTER),
        ("Command prompt (:)", COMMAND),
        ("Find prompt (f)", FIND),
        ("Account details", DETAIL),
        ("Organization picker", ORG_PICKER),
        ("Help", HELP),
        ("Create: account type (a)", CHOOSER),
        ("Account form", FORM),
        ("Pick list", PICK),
        ("Confirmation", CONFIRM),
        ("API token", TOKEN),
        ("Bulk preflight", BULK_CONFIRM),
        ("Bulk run", BULK_PROGRESS),
        ("Bulk results", BULK_RESULTS),
        ("One bulk result", RESULT_DETAIL),
        ("Audit", AUDIT),
        ("Journal (:journal)", JOURNAL),
        ("One run of the journal", JOURNAL_RUN),
    ]
}

/// The action bound to `event` in `mode`, global keys first.
pub fn lookup(mode: Mode, event: &KeyEvent) -> Option<KeyAction> {
    let key = Key::from_event(event);
    GLOBAL
        .iter()
        .chain(bindings(mode))
        .find(|b| b.keys.contains(&key))
        .map(|b| b.action)
}

/// The `:` commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    Org,
    Sort,
    Filter,
    Refresh,
    Help,
    Quit,
    New,
    /// A bulk action on the marked accounts (or the selected one).
    Bulk(BulkAction),
    ClearMarks,
    Audit,
    Journal,
    Undo,
    Columns,
    Goto,
    Find,
    Export,
    View,
}

#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    pub names: &'static [&'static str],
    pub args: &'static str,
    pub kind: CommandKind,
    pub description: &'static str,
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        names: &["org"],
        args: "NAME",
        kind: CommandKind::Org,
        description: "Show an Organization",
    },
    CommandSpec {
        names: &["sort"],
        args: "COLUMN [asc|desc]",
        kind: CommandKind::Sort,
        description: "Sort by a column",
    },
    CommandSpec {
        names: &["columns", "cols"],
        args: "[+NAME -NAME | order A,B,... | reset]",
        kind: CommandKind::Columns,
        description: "Show, hide, order the columns (kept in config)",
    },
    CommandSpec {
        names: &["goto"],
        args: "NAME|ID",
        kind: CommandKind::Goto,
        description: "Jump to an account, keeping the filter",
    },
    CommandSpec {
        names: &["find"],
        args: "TEXT",
        kind: CommandKind::Find,
        description: "Find the next match (then n/N)",
    },
    CommandSpec {
        names: &["export"],
        args: "FILE.csv|FILE.json",
        kind: CommandKind::Export,
        description: "Write the marked (else shown) accounts to a file",
    },
    CommandSpec {
        names: &["view"],
        args: "[NAME | save NAME | delete NAME]",
        kind: CommandKind::View,
        description: "Saved views: filter, sort and columns",
    },
    CommandSpec {
        names: &["filter"],
        args: "TEXT",
        kind: CommandKind::Filter,
        description: "Set the filter",
    },
    CommandSpec {
        names: &["refresh"],
        args: "",
        kind: CommandKind::Refresh,
        description: "Reload the accounts",
    },
    CommandSpec {
        names: &["help"],
        args: "",
        kind: CommandKind::Help,
        description: "Help",
    },
    CommandSpec {
        names: &["q", "quit"],
        args: "",
        kind: CommandKind::Quit,
        description: "Quit",
    },
    CommandSpec {
        names: &["new"],
        args: "user|api|readonly|taxii",
        kind: CommandKind::New,
        description: "Open the Create form of an account type",
    },
    CommandSpec {
        names: &["disable"],
        args: "",
        kind: CommandKind::Bulk(BulkAction::Disable),
        description: "Disable the marked (or selected) accounts",
    },
    CommandSpec {
        names: &["enable"],
        args: "",
        kind: CommandKind::Bulk(BulkAction::Enable),
        description: "Enable the marked accounts",
    },
    CommandSpec {
        names: &["unlock"],
        args: "",
        kind: CommandKind::Bulk(BulkAction::Unlock),
        description: "Unlock the marked accounts",
    },
    CommandSpec {
        names: &["reset-password"],
        args: "",
        kind: CommandKind::Bulk(BulkAction::ResetPassword),
        description: "Require a new password at next login",
    },
    CommandSpec {
        names: &["reset-mfa"],
        args: "",
        kind: CommandKind::Bulk(BulkAction::ResetMfa),
        description: "Require MFA to be set up again",
    },
    CommandSpec {
        names: &["delete"],
        args: "",
        kind: CommandKind::Bulk(BulkAction::Delete),
        description: "Delete the marked accounts (type the count)",
    },
    CommandSpec {
        names: &["clear"],
        args: "",
        kind: CommandKind::ClearMarks,
        description: "Clear all marks",
    },
    CommandSpec {
        names: &["audit"],
        args: "",
        kind: CommandKind::Audit,
        description: "Audit findings",
    },
    CommandSpec {
        names: &["journal"],
        args: "",
        kind: CommandKind::Journal,
        description: "The journal: runs, then accounts",
    },
    CommandSpec {
        names: &["undo"],
        args: "[RUN_ID]",
        kind: CommandKind::Undo,
        description: "Put back a run (default: the last)",
    },
];

impl CommandKind {
    /// Whether the command would change something on the server.
    pub fn is_write(self) -> bool {
        matches!(self, CommandKind::Bulk(_) | CommandKind::New)
    }
}

/// The command named `name` (case-insensitive).
pub fn command(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS
        .iter()
        .find(|c| c.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new_with_kind(code, modifiers, KeyEventKind::Press)
    }

    #[test]
    fn no_key_is_bound_twice_in_a_mode() {
        for mode in [
            Mode::Table,
            Mode::Filter,
            Mode::Command,
            Mode::Detail,
            Mode::Help,
            Mode::OrgPicker,
            Mode::BulkConfirm,
            Mode::BulkProgress,
            Mode::BulkResults,
            Mode::Audit,
            Mode::Chooser,
            Mode::Form,
            Mode::Pick,
            Mode::Confirm,
            Mode::Token,
            Mode::Find,
            Mode::ResultDetail,
            Mode::Journal,
            Mode::JournalRun,
        ] {
            let mut seen: Vec<Key> = Vec::new();
            for b in GLOBAL.iter().chain(bindings(mode)) {
                for k in b.keys {
                    assert!(!seen.contains(k), "{mode:?}: {} bound twice", k.label());
                    seen.push(*k);
                }
            }
        }
    }

    #[test]
    fn shifted_and_control_keys_are_normalised() {
        assert_eq!(
            lookup(Mode::Table, &key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(KeyAction::Bottom)
        );
        assert_eq!(
            lookup(Mode::Table, &key(KeyCode::Char('D'), KeyModifiers::CONTROL)),
            Some(KeyAction::PageDown)
        );
        assert_eq!(
            lookup(
                Mode::Filter,
                &key(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(KeyAction::Quit)
        );
        assert_eq!(
            lookup(Mode::Filter, &key(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn labels() {
        assert_eq!(Key::ctrl('d').label(), "Ctrl-d");
        assert_eq!(Key::plain(KeyCode::PageDown).label(), "PgDn");
        assert_eq!(command("QUIT").map(|c| c.kind), Some(CommandKind::Quit));
    }
}

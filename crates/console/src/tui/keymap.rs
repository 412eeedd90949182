//! Which key runs which command (`registry.rs`) in each mode: the default
//! tables, with the config file's `[keys]` merged over them. Dispatch looks
//! keys up here and help and the hint bar show what is here, so neither can
//! drift from the keys that work.

use super::registry::Cmd;
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
    /// An access review's accounts and their decisions (`:review DIR`).
    Review,
    /// The reason of a disable or delete decision, being typed.
    ReviewReason,
    /// Offboarding: the preview of every step, then the run.
    Offboard,
    /// The preview of an import (or of an import's undo).
    ImportConfirm,
}

/// Where a binding holds: in every mode, or in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everywhere,
    In(Mode),
}

/// A key with its modifiers (Shift is folded into the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

/// The names of keys that are not characters, as help shows them (first)
/// and as the config file may write them (any case).
const NAMED: &[(KeyCode, &[&str])] = &[
    (KeyCode::Char(' '), &["Space"]),
    (KeyCode::Up, &["Up"]),
    (KeyCode::Down, &["Down"]),
    (KeyCode::Left, &["Left"]),
    (KeyCode::Right, &["Right"]),
    (KeyCode::PageUp, &["PgUp", "PageUp"]),
    (KeyCode::PageDown, &["PgDn", "PageDown"]),
    (KeyCode::Home, &["Home"]),
    (KeyCode::End, &["End"]),
    (KeyCode::Enter, &["Enter", "Return"]),
    (KeyCode::Esc, &["Esc", "Escape"]),
    (KeyCode::Backspace, &["Backspace"]),
    (KeyCode::Tab, &["Tab"]),
    (KeyCode::BackTab, &["BackTab"]),
    (KeyCode::Delete, &["Delete", "Del"]),
    (KeyCode::Insert, &["Insert", "Ins"]),
];

impl Key {
    /// The key as a terminal reports it, normalised for lookup.
    pub fn from_event(event: &KeyEvent) -> Key {
        Key::normalised(
            event.code,
            event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT),
        )
    }

    fn normalised(code: KeyCode, modifiers: KeyModifiers) -> Key {
        match code {
            // Some terminals report Ctrl-letters in upper case.
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => Key {
                code: KeyCode::Char(c.to_ascii_lowercase()),
                modifiers,
            },
            KeyCode::BackTab => Key {
                code,
                modifiers: KeyModifiers::NONE,
            },
            _ => Key { code, modifiers },
        }
    }

    /// A key as the config file writes it: a character (`D`, `?`), a name
    /// (`Enter`, `PgDn`, `F5`, `Space`), after any of `ctrl-`, `alt-` and
    /// `shift-` (letters and Tab only). `None` when it names no key.
    pub fn parse(text: &str) -> Option<Key> {
        let mut modifiers = KeyModifiers::NONE;
        let mut shift = false;
        let mut rest = text.trim();
        loop {
            // ASCII lowercasing keeps byte offsets, so the cuts below are sound.
            let lower = rest.to_ascii_lowercase();
            let (taken, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            // "ctrl--" is Ctrl and the minus key; a lone "ctrl-" is nothing.
            if rest.len() == len {
                return None;
            }
            if taken == KeyModifiers::SHIFT {
                shift = true;
            } else {
                modifiers |= taken;
            }
            rest = &rest[len..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() => KeyCode::Char(c),
            _ => Key::named(rest)?,
        };
        // Terminals fold Shift into the character, and Shift-Tab is BackTab.
        let code = match (shift, code) {
            (false, code) => code,
            (true, KeyCode::Char(c)) if c.is_ascii_alphabetic() => {
                KeyCode::Char(c.to_ascii_uppercase())
            }
            (true, KeyCode::Tab) => KeyCode::BackTab,
            _ => return None,
        };
        Some(Key::normalised(code, modifiers))
    }

    fn named(name: &str) -> Option<KeyCode> {
        if let Some(n) = name
            .strip_prefix(['F', 'f'])
            .and_then(|n| n.parse::<u8>().ok())
        {
            return (1..=24).contains(&n).then_some(KeyCode::F(n));
        }
        NAMED
            .iter()
            .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
            .map(|(code, _)| *code)
    }

    /// How help shows the key (and the config file may write it).
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::F(n) => format!("F{n}"),
            code => match NAMED.iter().find(|(named, _)| *named == code) {
                Some((_, names)) => names.first().copied().unwrap_or_default().to_string(),
                None => format!("{code:?}"),
            },
        };
        let mut label = String::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            label.push_str("Ctrl-");
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            label.push_str("Alt-");
        }
        label + &base
    }
}

/// One default binding: its keys as the config file writes them, its
/// command, and what the command does in this mode when its own help text
/// would be too vague (Enter and Esc mean something different in each).
#[derive(Debug, Clone, Copy)]
struct Row {
    keys: &'static str,
    cmd: Cmd,
    doc: Option<&'static str>,
}

const fn bind(keys: &'static str, cmd: Cmd) -> Row {
    Row {
        keys,
        cmd,
        doc: None,
    }
}

impl Row {
    const fn says(self, doc: &'static str) -> Row {
        Row {
            doc: Some(doc),
            ..self
        }
    }

    fn binding(&self) -> Binding {
        Binding {
            // Every default parses (tested): none is ever dropped here.
            keys: self
                .keys
                .split_whitespace()
                .filter_map(Key::parse)
                .collect(),
            cmd: self.cmd,
            doc: self.doc.unwrap_or(self.cmd.doc()),
        }
    }
}

/// The default keys, one table per mode; the blocks are shared.
#[rustfmt::skip]
mod defaults {
    use super::{bind, Row};
    use crate::domain::preflight::BulkAction;
    use crate::tui::registry::Cmd::*;

    /// Moving through a list or scrolling a text, wherever there is one.
    pub const NAV: &[Row] = &[
        bind("j Down", Down),
        bind("k Up", Up),
        bind("ctrl-d PgDn", PageDown),
        bind("ctrl-u PgUp", PageUp),
        bind("g Home", Top),
        bind("G End", Bottom),
    ];
    /// Lists that type ahead take letters as text: only these keys move.
    pub const ARROWS: &[Row] = &[
        bind("Down", Down),
        bind("Up", Up),
        bind("ctrl-d PgDn", PageDown),
        bind("ctrl-u PgUp", PageUp),
        bind("Home", Top),
        bind("End", Bottom),
    ];
    /// Editing a line of text (`line.rs`), wherever one is typed.
    pub const EDIT: &[Row] = &[
        bind("Backspace", DeleteChar),
        bind("ctrl-w", DeleteWord),
        bind("ctrl-u", ClearInput),
        bind("Delete", DeleteNextChar),
        bind("Left", CursorLeft),
        bind("Right", CursorRight),
        bind("Home ctrl-a", CursorStart),
        bind("End ctrl-e", CursorEnd),
    ];

    pub const EVERYWHERE: &[&[Row]] = &[&[
        bind("ctrl-c", Quit),
        bind("F1", Help),
    ]];
    pub const TABLE: &[&[Row]] = &[NAV, &[
        bind("Enter", Details),
        bind("/", EditFilter),
        bind("Esc", ClearFilter),
        bind("s Tab", SortNext),
        bind("BackTab", SortPrevious),
        bind("S", SortReverse),
        bind("r F5", Refresh),
        bind("o", Org),
        bind("Space", Mark),
        bind("V", MarkRange),
        bind("*", MarkAllShown),
        bind("!", InvertMarks),
        bind("c", ClearMarks),
        bind("d", Bulk(BulkAction::Disable)),
        bind("E", Bulk(BulkAction::Enable)),
        bind("u", Bulk(BulkAction::Unlock)),
        bind("A", Audit),
        bind(":", CommandPrompt),
        bind("?", Help),
        bind("q", Quit),
        bind("a", New),
        bind("h Left", ScrollLeft),
        bind("l Right", ScrollRight),
        bind("f ctrl-f", Find),
        bind("n", FindNext),
        bind("N", FindPrevious),
        bind("y", CopyUserName),
        bind("e", Edit),
        bind("x Delete", DeleteAccount),
        bind("p", RequirePasswordReset),
        bind("M", RequireMfaReset),
        bind("O", Offboard),
    ]];
    // The filter language and the commands have no use for `?`.
    pub const FILTER: &[&[Row]] = &[&[
        bind("Enter", Accept).says("Keep the filter, back to the table"),
        bind("Esc", Close).says("Clear the filter, back to the table"),
        bind("?", Help),
    ], EDIT];
    pub const COMMAND: &[&[Row]] = &[&[
        bind("Enter", Accept).says("Run the command"),
        bind("Esc", Close).says("Cancel"),
        bind("Tab", Complete),
        bind("?", Help),
    ], EDIT];
    pub const FIND: &[&[Row]] = &[&[
        bind("Enter", Accept).says("Stay on the match (n/N: next/previous)"),
        bind("Esc", Close).says("Back to where the search started"),
    ], EDIT];
    pub const DETAIL: &[&[Row]] = &[&[
        bind("Esc q Enter", Close).says("Back to the table"),
    ], NAV, &[
        bind("?", Help),
        bind("y", CopyUserName),
        bind("e", Edit),
        bind("x Delete", DeleteAccount),
    ]];
    pub const ORG_PICKER: &[&[Row]] = &[&[
        bind("Enter", Accept).says("Show this Organization"),
        bind("Esc", Close).says("Cancel (with typed text: clear it)"),
    ], ARROWS, &[
        bind("Backspace", DeleteChar).says("Delete a typed character"),
        bind("?", Help),
    ]];
    pub const HELP: &[&[Row]] = &[&[
        bind("Esc q ?", Close).says("Close help"),
    ], NAV];
    pub const CHOOSER: &[&[Row]] = &[&[
        bind("Enter", Accept).says("Create an account of this type"),
        bind("Esc q", Close).says("Cancel"),
    ], NAV, &[
        bind("?", Help),
    ]];
    // Text fields take every character: help is F1.
    pub const FORM: &[&[Row]] = &[&[
        bind("Tab Down", NextField),
        bind("BackTab Up", PreviousField),
        bind("ctrl-s", Save),
        bind("ctrl-g", SaveWithToken),
        bind("Enter", Accept).says("Open the pick list / toggle / next field"),
        bind("Space", Toggle),
        bind("Esc", Close).says("Leave the form (asks when changed)"),
    ], EDIT];
    pub const PICK: &[&[Row]] = &[&[
        bind("Enter", Accept).says("Pick (several: done)"),
        bind("Space", Toggle).says("Several: mark or unmark (else: a space)"),
        bind("Esc", Close).says("Cancel (with typed text: clear it)"),
    ], ARROWS, &[
        bind("Backspace", DeleteChar).says("Type-ahead: delete a character"),
        bind("?", Help),
    ]];
    // The account's name is typed here: help is F1.
    pub const CONFIRM: &[&[Row]] = &[&[
        bind("Enter", Accept).says("Go ahead (delete: type the account name first)"),
        bind("Esc", Close).says("Cancel"),
    ], EDIT];
    pub const TOKEN: &[&[Row]] = &[&[
        bind("c", CopyToken),
        bind("Esc Enter q", Close).says("Close; the token is gone for good"),
        bind("?", Help),
    ]];
    pub const BULK_CONFIRM: &[&[Row]] = &[&[
        bind("y Enter", Confirm),
        bind("Esc q", Close).says("Cancel, nothing is sent"),
        bind("Tab", NextGroup),
        bind("BackTab", PreviousGroup),
    ], NAV, &[
        bind("Backspace", DeleteChar).says("Delete a typed digit"),
        bind("?", Help),
    ]];
    pub const BULK_PROGRESS: &[&[Row]] = &[&[
        bind("Esc", StopRun),
        bind("q", StopAndQuit),
        bind("?", Help),
    ]];
    pub const BULK_RESULTS: &[&[Row]] = &[&[
        bind("Esc q", Close).says("Back to the table"),
        bind("r", RetryFailed),
        bind(":", CommandPrompt).says(":export FILE.csv|FILE.json (the run's results)"),
    ], NAV, &[
        bind("Enter", Details).says("The whole message of this result"),
        bind("?", Help),
    ]];
    pub const RESULT_DETAIL: &[&[Row]] = &[&[
        bind("Esc Enter q", Close).says("Back to the results"),
    ], NAV, &[
        bind("?", Help),
    ]];
    pub const AUDIT: &[&[Row]] = &[&[
        bind("Enter", Accept).says("Show the accounts of this finding"),
        bind("Esc q A", Close).says("Back to the table"),
    ], NAV, &[
        bind("?", Help),
    ]];
    pub const JOURNAL: &[&[Row]] = &[&[
        bind("Enter", Details).says("The accounts of this run"),
        bind("u", UndoRun),
        bind("Esc q", Close).says("Back to the table"),
    ], NAV, &[
        bind("?", Help),
    ]];
    pub const IMPORT_CONFIRM: &[&[Row]] = &[&[
        bind("y Enter", Confirm).says("Run it (deletions: type their count first)"),
        bind("Esc q", Close).says("Cancel, nothing is sent"),
    ], NAV, &[
        bind("Backspace", DeleteChar).says("Delete a typed digit"),
        bind("?", Help),
    ]];
    pub const OFFBOARD: &[&[Row]] = &[&[
        bind("y Enter", Confirm).says("Run it (delete: type the count first)"),
        bind("Esc q", Close).says("Cancel; in a run: stop; then: close"),
        bind(":", CommandPrompt).says(":export FILE.md|.csv|.json after the run"),
    ], NAV, &[
        bind("Backspace", DeleteChar).says("Delete a typed digit"),
        bind("?", Help),
    ]];
    pub const JOURNAL_RUN: &[&[Row]] = &[&[
        bind("u", UndoRun),
        bind(":", CommandPrompt).says(":export FILE.csv|FILE.json (the run's results)"),
        bind("Esc q", Close).says("Back to the runs"),
    ], NAV, &[
        bind("?", Help),
    ]];
    /// `k` decides keep here, so only the arrows move.
    pub const REVIEW: &[&[Row]] = &[&[
        bind("k", DecideKeep),
        bind("d", DecideDisable),
        bind("x", DecideDelete),
        bind("Esc q", Close).says("Back to the table"),
    ], ARROWS, &[
        bind("?", Help),
    ]];
    pub const REVIEW_REASON: &[&[Row]] = &[&[
        bind("Enter", Accept).says("Save the decision with this reason"),
        bind("Esc", Close).says("Cancel: the decision stays as it was"),
    ], EDIT];
}

/// What a section of keys is called and holds by default.
struct SectionDef {
    /// Its name in the config file: `[keys.NAME]`.
    name: &'static str,
    /// Help's title.
    title: &'static str,
    /// The command that opens the mode from the table (its key goes in
    /// help's title).
    opener: Option<Cmd>,
    rows: &'static [&'static [Row]],
}

const fn section(
    name: &'static str,
    title: &'static str,
    opener: Option<Cmd>,
    rows: &'static [&'static [Row]],
) -> SectionDef {
    SectionDef {
        name,
        title,
        opener,
        rows,
    }
}

impl Mode {
    pub const ALL: [Mode; 23] = [
        Mode::Table,
        Mode::Filter,
        Mode::Command,
        Mode::Find,
        Mode::Detail,
        Mode::OrgPicker,
        Mode::Help,
        Mode::Chooser,
        Mode::Form,
        Mode::Pick,
        Mode::Confirm,
        Mode::Token,
        Mode::BulkConfirm,
        Mode::BulkProgress,
        Mode::BulkResults,
        Mode::ResultDetail,
        Mode::Audit,
        Mode::Journal,
        Mode::JournalRun,
        Mode::Review,
        Mode::ReviewReason,
        Mode::Offboard,
        Mode::ImportConfirm,
    ];
}

impl Scope {
    /// Every section, in the order help shows them.
    pub const ALL: [Scope; Mode::ALL.len() + 1] = {
        let mut all = [Scope::Everywhere; Mode::ALL.len() + 1];
        let mut i = 0;
        while i < Mode::ALL.len() {
            all[i + 1] = Scope::In(Mode::ALL[i]);
            i += 1;
        }
        all
    };

    #[rustfmt::skip]
    const fn def(self) -> SectionDef {
        use defaults::*;
        use Mode::*;
        match self {
            Scope::Everywhere => section("everywhere", "Everywhere", None, EVERYWHERE),
            Scope::In(Table) => section("table", "Accounts table", None, TABLE),
            Scope::In(Filter) => section("filter", "Filter prompt", Some(Cmd::EditFilter), FILTER),
            Scope::In(Command) => section("command", "Command prompt", Some(Cmd::CommandPrompt), COMMAND),
            Scope::In(Find) => section("find", "Find prompt", Some(Cmd::Find), FIND),
            Scope::In(Detail) => section("detail", "Account details", None, DETAIL),
            Scope::In(OrgPicker) => section("org-picker", "Organization picker", None, ORG_PICKER),
            Scope::In(Help) => section("help", "Help", None, HELP),
            Scope::In(Chooser) => section("chooser", "Create: account type", Some(Cmd::New), CHOOSER),
            Scope::In(Form) => section("form", "Account form", None, FORM),
            Scope::In(Pick) => section("pick", "Pick list", None, PICK),
            Scope::In(Confirm) => section("confirm", "Confirmation", None, CONFIRM),
            Scope::In(Token) => section("token", "API token", None, TOKEN),
            Scope::In(BulkConfirm) => section("preflight", "Bulk preflight", None, BULK_CONFIRM),
            Scope::In(BulkProgress) => section("bulk-run", "Bulk run", None, BULK_PROGRESS),
            Scope::In(BulkResults) => section("bulk-results", "Bulk results", None, BULK_RESULTS),
            Scope::In(ResultDetail) => section("bulk-result", "One bulk result", None, RESULT_DETAIL),
            Scope::In(Audit) => section("audit", "Audit", None, AUDIT),
            Scope::In(Journal) => section("journal", "Journal", Some(Cmd::Journal), JOURNAL),
            Scope::In(JournalRun) => section("journal-run", "One run of the journal", None, JOURNAL_RUN),
            Scope::In(Review) => section("review", "Access review", None, REVIEW),
            Scope::In(ReviewReason) => section("review-reason", "Access review: the reason", None, REVIEW_REASON),
            Scope::In(Offboard) => section("offboard", "Offboarding", Some(Cmd::Offboard), OFFBOARD),
            Scope::In(ImportConfirm) => section("import", "Import preview", None, IMPORT_CONFIRM),
        }
    }

    /// `[keys.NAME]` of the config file.
    pub const fn name(self) -> &'static str {
        self.def().name
    }

    fn named(name: &str) -> Option<Scope> {
        Scope::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// One binding in force: its keys, its command, and help's text for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub cmd: Cmd,
    pub doc: &'static str,
}

impl Binding {
    /// Whether help shows it: a read-only console hides the write commands.
    pub fn shown(&self, read_only: bool) -> bool {
        !(read_only && self.cmd.is_write())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub scope: Scope,
    pub bindings: Vec<Binding>,
}

/// The keys in force: every section, in help's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    sections: Vec<Section>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        let sections = Scope::ALL
            .into_iter()
            .map(|scope| Section {
                scope,
                bindings: scope
                    .def()
                    .rows
                    .iter()
                    .flat_map(|r| r.iter())
                    .map(Row::binding)
                    .collect(),
            })
            .collect();
        Keymap { sections }
    }
}

impl Keymap {
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    pub fn bindings(&self, scope: Scope) -> &[Binding] {
        self.sections
            .iter()
            .find(|s| s.scope == scope)
            .map_or(&[], |s| &s.bindings)
    }

    fn bindings_mut(&mut self, scope: Scope) -> Option<&mut Vec<Binding>> {
        self.sections
            .iter_mut()
            .find(|s| s.scope == scope)
            .map(|s| &mut s.bindings)
    }

    /// The command `event` runs in `mode`: the keys of every mode first.
    pub fn lookup(&self, mode: Mode, event: &KeyEvent) -> Option<Cmd> {
        let key = Key::from_event(event);
        self.in_force(mode)
            .find(|b| b.keys.contains(&key))
            .map(|b| b.cmd)
    }

    fn in_force(&self, mode: Mode) -> impl Iterator<Item = &Binding> {
        self.bindings(Scope::Everywhere)
            .iter()
            .chain(self.bindings(Scope::In(mode)))
    }

    /// The first key that runs `cmd` in `mode`, for the hint bar and footers.
    pub fn first_key(&self, mode: Mode, cmd: Cmd) -> Option<Key> {
        self.bindings(Scope::In(mode))
            .iter()
            .chain(self.bindings(Scope::Everywhere))
            .find(|b| b.cmd == cmd)
            .and_then(|b| b.keys.first().copied())
    }

    /// Help's title of a section, with the key that opens its mode.
    pub fn title(&self, scope: Scope) -> String {
        let def = scope.def();
        match def.opener.and_then(|c| self.first_key(Mode::Table, c)) {
            Some(key) => format!("{} ({})", def.title, key.label()),
            None => def.title.to_string(),
        }
    }

    /// The line of help where the section of `mode` starts: a title line,
    /// then one line per binding shown. The accounts table's section comes
    /// right after the keys of every mode, which hold there too, so help
    /// from the table opens at the top.
    pub fn help_line(&self, mode: Mode, read_only: bool) -> usize {
        let at = self
            .sections
            .iter()
            .position(|s| s.scope == Scope::In(mode))
            .unwrap_or(0);
        if at <= 1 {
            return 0;
        }
        self.sections
            .iter()
            .take(at)
            .map(|s| 1 + s.bindings.iter().filter(|b| b.shown(read_only)).count())
            .sum()
    }

    /// The config file's `[keys]` merged over the defaults. `name = KEYS`
    /// gives a command these keys wherever it has keys (a command with keys
    /// in every mode keeps only those; a `:` command without keys gets them
    /// in the table); `[keys.MODE]` gives them in that mode only, after the
    /// former. KEYS is a key or a list of keys; `[]` unbinds. Every problem
    /// found is returned, one line each.
    pub fn with_overrides(table: &toml::Table) -> Result<Keymap, Vec<String>> {
        let defaults = Keymap::default();
        let mut keymap = defaults.clone();
        let mut problems = Vec::new();
        for (name, value) in table.iter().filter(|(_, v)| !v.is_table()) {
            let place = format!("[keys] {name}");
            let Some(cmd) = Cmd::named(name) else {
                problems.push(format!("{place}: no command is called {name:?}"));
                continue;
            };
            let Some(keys) = parse_keys(&place, value, &mut problems) else {
                continue;
            };
            let mut scopes = defaults.scopes_of(cmd);
            if scopes.contains(&Scope::Everywhere) {
                let elsewhere = keymap
                    .sections
                    .iter_mut()
                    .filter(|s| s.scope != Scope::Everywhere);
                for section in elsewhere {
                    section.bindings.retain(|b| b.cmd != cmd);
                }
                scopes = vec![Scope::Everywhere];
            } else if scopes.is_empty() {
                if !(cmd.spec().prompt && cmd.runs_bare()) {
                    problems.push(format!(
                        "{place}: it takes arguments, so no key can run it (type :{name})"
                    ));
                    continue;
                }
                scopes = vec![Scope::In(Mode::Table)];
            }
            for scope in scopes {
                keymap.rebind(scope, cmd, &keys);
            }
        }
        for (mode_name, value) in table.iter() {
            let Some(commands) = value.as_table() else {
                continue;
            };
            let Some(scope) = Scope::named(mode_name) else {
                let names: Vec<&str> = Scope::ALL.iter().map(|s| s.name()).collect();
                problems.push(format!(
                    "[keys.{mode_name}]: no mode is called {mode_name:?} (the modes: {})",
                    names.join(", ")
                ));
                continue;
            };
            for (name, value) in commands {
                let place = format!("[keys.{}] {name}", scope.name());
                let Some(cmd) = Cmd::named(name) else {
                    problems.push(format!("{place}: no command is called {name:?}"));
                    continue;
                };
                if !defaults.works_in(scope, cmd) {
                    let homes: Vec<&str> =
                        defaults.scopes_of(cmd).iter().map(|s| s.name()).collect();
                    let homes = if homes.is_empty() {
                        format!("type :{}", cmd.name())
                    } else {
                        format!("it works in: {}", homes.join(", "))
                    };
                    problems.push(format!("{place}: it does nothing there ({homes})"));
                    continue;
                }
                if let Some(keys) = parse_keys(&place, value, &mut problems) {
                    keymap.rebind(scope, cmd, &keys);
                }
            }
        }
        problems.extend(keymap.conflicts());
        if problems.is_empty() {
            Ok(keymap)
        } else {
            Err(problems)
        }
    }

    /// The sections where `cmd` has keys.
    fn scopes_of(&self, cmd: Cmd) -> Vec<Scope> {
        self.sections
            .iter()
            .filter(|s| s.bindings.iter().any(|b| b.cmd == cmd))
            .map(|s| s.scope)
            .collect()
    }

    /// Whether a key for `cmd` in `scope` would do anything: only the
    /// commands a mode's code handles are bound there.
    fn works_in(&self, scope: Scope, cmd: Cmd) -> bool {
        let has = |scope| self.bindings(scope).iter().any(|b| b.cmd == cmd);
        has(scope)
            || (scope != Scope::Everywhere && has(Scope::Everywhere))
            || (scope == Scope::In(Mode::Table) && cmd.spec().prompt && cmd.runs_bare())
    }

    /// Gives `cmd` exactly `keys` in `scope`, in the place (and with the
    /// text) its default had.
    fn rebind(&mut self, scope: Scope, cmd: Cmd, keys: &[Key]) {
        let Some(bindings) = self.bindings_mut(scope) else {
            return;
        };
        let at = bindings.iter().position(|b| b.cmd == cmd);
        let doc = at.map_or(cmd.doc(), |i| bindings[i].doc);
        bindings.retain(|b| b.cmd != cmd);
        if !keys.is_empty() {
            let binding = Binding {
                keys: keys.to_vec(),
                cmd,
                doc,
            };
            bindings.insert(at.unwrap_or(bindings.len()).min(bindings.len()), binding);
        }
    }

    /// Keys that would run two commands in one mode.
    fn conflicts(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |place: &str, bindings: &mut dyn Iterator<Item = &Binding>, skip: usize| {
            let mut seen: Vec<(Key, Cmd)> = Vec::new();
            for (i, binding) in bindings.enumerate() {
                for key in &binding.keys {
                    match seen.iter().find(|(k, _)| k == key) {
                        Some((_, other)) if *other != binding.cmd && i >= skip => {
                            problems.push(format!(
                                "{place}: {} is bound to both {} and {}",
                                key.label(),
                                other.name(),
                                binding.cmd.name()
                            ));
                        }
                        Some(_) => {}
                        None => seen.push((*key, binding.cmd)),
                    }
                }
            }
        };
        let everywhere = self.bindings(Scope::Everywhere);
        check("[keys.everywhere]", &mut everywhere.iter(), 0);
        for mode in Mode::ALL {
            let place = format!("[keys.{}]", Scope::In(mode).name());
            // Clashes among the every-mode keys were said once above.
            check(&place, &mut self.in_force(mode), everywhere.len());
        }
        problems
    }
}

/// A key or a list of keys; a problem is said and `None` returned.
fn parse_keys(place: &str, value: &toml::Value, problems: &mut Vec<String>) -> Option<Vec<Key>> {
    let texts: Vec<&str> = match value {
        toml::Value::String(one) => vec![one.as_str()],
        toml::Value::Array(list) => match list.iter().map(toml::Value::as_str).collect() {
            Some(texts) => texts,
            None => {
                problems.push(format!("{place}: the list must hold key names only"));
                return None;
            }
        },
        _ => {
            problems.push(format!(
                "{place}: write a key (\"D\") or a list of keys ([\"p\", \"ctrl-r\"])"
            ));
            return None;
        }
    };
    let mut keys = Vec::new();
    for text in texts {
        match Key::parse(text) {
            Some(key) if !keys.contains(&key) => keys.push(key),
            Some(_) => {}
            None => {
                problems.push(format!(
                    "{place}: {text:?} is not a key (write e.g. \"D\", \"ctrl-r\", \"alt-x\", \"F5\", \"PgDn\", \"Space\", \"shift-tab\")"
                ));
                return None;
            }
        }
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::preflight::BulkAction;
    use crossterm::event::KeyEventKind;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new_with_kind(code, modifiers, KeyEventKind::Press)
    }

    fn overrides(text: &str) -> Result<Keymap, Vec<String>> {
        Keymap::with_overrides(&text.parse::<toml::Table>().expect("TOML"))
    }

    #[test]
    fn no_key_is_bound_twice_in_a_mode() {
        let keymap = Keymap::default();
        for mode in Mode::ALL {
            let mut seen: Vec<Key> = Vec::new();
            for b in keymap.in_force(mode) {
                for k in &b.keys {
                    assert!(!seen.contains(k), "{mode:?}: {} bound twice", k.label());
                    seen.push(*k);
                }
            }
        }
        assert!(keymap.conflicts().is_empty());
    }

    #[test]
    fn every_default_key_parses_and_its_label_reads_back() {
        for scope in Scope::ALL {
            for rows in scope.def().rows {
                for row in *rows {
                    for text in row.keys.split_whitespace() {
                        let key = Key::parse(text).unwrap_or_else(|| panic!("{text}"));
                        assert_eq!(Key::parse(&key.label()), Some(key), "{text}");
                    }
                }
            }
        }
        let sections: Vec<Scope> = Keymap::default()
            .sections()
            .iter()
            .map(|s| s.scope)
            .collect();
        assert_eq!(sections, Scope::ALL);
    }

    #[test]
    fn shifted_and_control_keys_are_normalised() {
        let keymap = Keymap::default();
        assert_eq!(
            keymap.lookup(Mode::Table, &key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Cmd::Bottom)
        );
        assert_eq!(
            keymap.lookup(Mode::Table, &key(KeyCode::Char('D'), KeyModifiers::CONTROL)),
            Some(Cmd::PageDown)
        );
        assert_eq!(
            keymap.lookup(
                Mode::Filter,
                &key(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Cmd::Quit)
        );
        assert_eq!(
            keymap.lookup(Mode::Filter, &key(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn labels() {
        assert_eq!(
            Key::parse("ctrl-d").map(|k| k.label()).as_deref(),
            Some("Ctrl-d")
        );
        assert_eq!(
            Key::parse("pagedown").map(|k| k.label()).as_deref(),
            Some("PgDn")
        );
        assert_eq!(Cmd::prompt_named("QUIT"), Some(Cmd::Quit));
    }

    #[test]
    fn key_names_as_the_config_file_writes_them() {
        let parsed = |text| Key::parse(text);
        let with = |code, modifiers| Some(Key { code, modifiers });
        assert_eq!(parsed("D"), with(KeyCode::Char('D'), KeyModifiers::NONE));
        assert_eq!(parsed("shift-d"), parsed("D"));
        assert_eq!(
            parsed("Ctrl-R"),
            with(KeyCode::Char('r'), KeyModifiers::CONTROL)
        );
        assert_eq!(parsed("alt-x"), with(KeyCode::Char('x'), KeyModifiers::ALT));
        assert_eq!(
            parsed("ctrl--"),
            with(KeyCode::Char('-'), KeyModifiers::CONTROL)
        );
        assert_eq!(
            parsed("shift-tab"),
            with(KeyCode::BackTab, KeyModifiers::NONE)
        );
        assert_eq!(parsed("f12"), with(KeyCode::F(12), KeyModifiers::NONE));
        assert_eq!(
            parsed("space"),
            with(KeyCode::Char(' '), KeyModifiers::NONE)
        );
        assert_eq!(
            Key::parse("ctrl-alt-x").map(|k| k.label()).as_deref(),
            Some("Ctrl-Alt-x")
        );
        for bad in [
            "", "ctrl-", "ctrl+x", "F99", "shift-1", "shift-Up", "Enterr", "dd",
        ] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_rebound_command_loses_its_default_keys_wherever_it_had_them() {
        let keymap = overrides(
            r#"
            disable = "D"
            close = ["Esc"]
            "#,
        )
        .expect("valid");
        let lookup =
            |mode, c: char| keymap.lookup(mode, &key(KeyCode::Char(c), KeyModifiers::NONE));
        assert_eq!(
            lookup(Mode::Table, 'D'),
            Some(Cmd::Bulk(BulkAction::Disable))
        );
        assert_eq!(lookup(Mode::Table, 'd'), None);
        // `q` no longer closes anything; Esc still does, in every mode.
        assert_eq!(lookup(Mode::Detail, 'q'), None);
        assert_eq!(lookup(Mode::Audit, 'q'), None);
        assert_eq!(
            keymap.lookup(Mode::Audit, &key(KeyCode::Esc, KeyModifiers::NONE)),
            Some(Cmd::Close)
        );
        // Help keeps the default's place and text.
        let table = keymap.bindings(Scope::In(Mode::Table));
        let defaults = Keymap::default();
        let position = |b: &[Binding]| {
            b.iter()
                .position(|b| b.cmd == Cmd::Bulk(BulkAction::Disable))
        };
        assert_eq!(
            position(table),
            position(defaults.bindings(Scope::In(Mode::Table)))
        );
    }

    #[test]
    fn a_mode_table_rebinds_in_that_mode_only() {
        // The text of `[keys]`: `[table]` here is `[keys.table]` in the file.
        let keymap = overrides(
            r#"
            [table]
            help = ["h", "?"]
            scroll-left = "H"
            "#,
        )
        .expect("valid");
        let lookup =
            |mode, c: char| keymap.lookup(mode, &key(KeyCode::Char(c), KeyModifiers::NONE));
        assert_eq!(lookup(Mode::Table, 'h'), Some(Cmd::Help));
        assert_eq!(lookup(Mode::Table, 'H'), Some(Cmd::ScrollLeft));
        assert_eq!(lookup(Mode::Detail, 'h'), None);
        assert_eq!(lookup(Mode::Detail, '?'), Some(Cmd::Help));
        // F1 holds everywhere still.
        assert_eq!(
            keymap.lookup(Mode::Table, &key(KeyCode::F(1), KeyModifiers::NONE)),
            Some(Cmd::Help)
        );
    }

    #[test]
    fn every_mode_commands_move_everywhere_and_unbinding_frees_keys() {
        let keymap = overrides(
            r#"
            help = "F2"
            "mark-all" = []
            "#,
        )
        .expect("valid");
        let lookup = |mode, code| keymap.lookup(mode, &key(code, KeyModifiers::NONE));
        assert_eq!(lookup(Mode::Form, KeyCode::F(2)), Some(Cmd::Help));
        assert_eq!(lookup(Mode::Table, KeyCode::F(1)), None);
        assert_eq!(lookup(Mode::Table, KeyCode::Char('?')), None);
        assert_eq!(lookup(Mode::Table, KeyCode::Char('*')), None);
        // A `:` command without keys gets them in the table.
        let keymap = overrides("columns = \"C\"").expect("valid");
        assert_eq!(
            keymap.lookup(Mode::Table, &key(KeyCode::Char('C'), KeyModifiers::NONE)),
            Some(Cmd::Columns)
        );
    }

    #[test]
    fn bad_keys_tables_are_refused_naming_what_is_wrong() {
        let refused = |text: &str| overrides(text).expect_err(text).join("\n");
        let problem = refused("frobnicate = \"F\"");
        assert!(
            problem.contains("[keys] frobnicate") && problem.contains("no command"),
            "{problem}"
        );
        let problem = refused("disable = \"ctrl+x\"");
        assert!(
            problem.contains("[keys] disable: \"ctrl+x\" is not a key"),
            "{problem}"
        );
        let problem = refused("disable = 5");
        assert!(problem.contains("[keys] disable: write a key"), "{problem}");
        let problem = refused("[nowhere]\nquit = \"Q\"");
        assert!(problem.contains("[keys.nowhere]: no mode"), "{problem}");
        let problem = refused("[detail]\ndisable = \"D\"");
        assert!(
            problem.contains("[keys.detail] disable: it does nothing there (it works in: table)"),
            "{problem}"
        );
        let problem = refused("goto = \"g\"");
        assert!(
            problem.contains("[keys] goto: it takes arguments"),
            "{problem}"
        );
        // `D` twice in the table; every problem is said, not just the first.
        let problem = refused("disable = \"D\"\n\"delete-account\" = \"D\"\nfrob = \"x\"");
        assert!(
            problem.contains("[keys.table]: D is bound to both disable and delete-account"),
            "{problem}"
        );
        assert!(problem.contains("frob"), "{problem}");
        // A mode's key against a key of every mode.
        let problem = refused("[table]\nrefresh = \"ctrl-c\"");
        assert!(
            problem.contains("[keys.table]: Ctrl-c is bound to both quit and refresh"),
            "{problem}"
        );
    }
}

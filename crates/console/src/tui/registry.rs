//! Every command of the console, defined once: its name (what the `:`
//! prompt and the config file's `[keys]` table call it), its help text,
//! whether it writes, and what it takes after its name. Keys name these
//! commands (`keymap.rs`), the `:` prompt runs them by name, and help reads
//! both, so none of them can drift from the others.

use crate::domain::preflight::BulkAction;

/// What a key or a `:` name runs. (The worker's `Command` is something
/// else: the work the console asks for.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmd {
    Org,
    Sort,
    Columns,
    Goto,
    Find,
    Export,
    View,
    Filter,
    Refresh,
    Help,
    Quit,
    New,
    /// A bulk action on the marked accounts (or the selected one).
    Bulk(BulkAction),
    /// Offboard the marked accounts (or the selected one): the checklist.
    Offboard,
    /// Import accounts from a CSV file (preview, then a run).
    Import,
    ClearMarks,
    Audit,
    Journal,
    Undo,
    UndoRun,
    /// An access review's sheets (`:review DIR`).
    Review,
    DecideKeep,
    DecideDisable,
    DecideDelete,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Details,
    EditFilter,
    CommandPrompt,
    Complete,
    ClearFilter,
    SortNext,
    SortPrevious,
    SortReverse,
    Mark,
    MarkRange,
    MarkAllShown,
    InvertMarks,
    NextGroup,
    PreviousGroup,
    Confirm,
    StopRun,
    StopAndQuit,
    RetryFailed,
    /// Leave the popup or prompt (in the filter prompt: clearing the filter).
    Close,
    /// Keep the prompt's text / choose the highlighted item.
    Accept,
    DeleteChar,
    DeleteWord,
    ClearInput,
    DeleteNextChar,
    Edit,
    DeleteAccount,
    /// `p` and `M`: on the selected account, whatever is marked.
    RequirePasswordReset,
    RequireMfaReset,
    NextField,
    PreviousField,
    Save,
    SaveWithToken,
    /// Checkbox or multi-choice entry (in a text field: a space).
    Toggle,
    CopyToken,
    CursorLeft,
    CursorRight,
    CursorStart,
    CursorEnd,
    ScrollLeft,
    ScrollRight,
    FindNext,
    FindPrevious,
    CopyUserName,
}

/// What a command takes after its name at the `:` prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Args {
    None,
    /// Without them the command does what its key does.
    Optional(&'static str),
    /// Only the prompt can run it: no key can give the arguments.
    Required(&'static str),
}

/// One command's definition.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Kebab-case: the `:` name and the name in `[keys]`.
    pub name: &'static str,
    /// A shorter `:` name (`:q`), or "".
    pub alias: &'static str,
    /// Whether the `:` prompt runs it; the others are keys of their modes.
    pub prompt: bool,
    pub args: Args,
    /// Whether it changes something on the server: hidden from help, and
    /// refused, when the console is read-only.
    pub writes: bool,
    /// Help's text (a mode's keymap may say what it does there).
    pub doc: &'static str,
}

// Column markers of the table below.
const P: bool = true; // a `:` command
const K: bool = false; // keys only
const R: bool = false; // reads
const W: bool = true; // writes

/// Builds `Cmd::ALL` and `Cmd::spec` from one table, so every command has
/// exactly one definition (a missing or repeated row does not compile).
macro_rules! registry {
    ($($variant:ident $(($bulk:ident))? => $name:literal, $alias:literal, $prompt:ident,
       $args:expr, $writes:ident, $doc:literal;)*) => {
        impl Cmd {
            /// Every command, in the order help lists them.
            pub const ALL: &'static [Cmd] = &[$(Cmd::$variant $((BulkAction::$bulk))?),*];

            pub const fn spec(self) -> Spec {
                match self {
                    $(Cmd::$variant $((BulkAction::$bulk))? => Spec {
                        name: $name,
                        alias: $alias,
                        prompt: $prompt,
                        args: $args,
                        writes: $writes,
                        doc: $doc,
                    },)*
                }
            }
        }
    };
}

use Args::{Optional, Required};

registry! {
//  command                   name                     alias   :  args                                          writes  doc
    Org                    => "org",                   "",     P, Optional("[NAME]"),                            R, "Choose the Organization";
    Sort                   => "sort",                  "",     P, Required("COLUMN [asc|desc]"),                 R, "Sort by a column";
    Columns                => "columns",               "cols", P, Optional("[+NAME -NAME | order A,B,... | reset]"), R, "Show, hide, order the columns (kept in config)";
    Goto                   => "goto",                  "",     P, Required("NAME|ID"),                           R, "Jump to an account, keeping the filter";
    Find                   => "find",                  "",     P, Optional("[TEXT]"),                            R, "Find an account as you type (no filtering)";
    Export                 => "export",                "",     P, Required("FILE.csv|FILE.json"),                R, "Write the marked (else shown) accounts to a file";
    View                   => "view",                  "",     P, Optional("[NAME | save NAME | delete NAME]"),  R, "Saved views: filter, sort and columns";
    Filter                 => "filter",                "",     P, Required("TEXT"),                              R, "Set the filter";
    Refresh                => "refresh",               "",     P, Args::None,                                    R, "Reload the accounts";
    Help                   => "help",                  "",     P, Args::None,                                    R, "Help";
    Quit                   => "quit",                  "q",    P, Args::None,                                    R, "Quit rollcall";
    New                    => "new",                   "",     P, Optional("[user|api|readonly|taxii]"),         W, "Add (create) an account (choose the type)";
    Bulk(Disable)          => "disable",               "",     P, Args::None,                                    W, "Disable the marked accounts (or this one)";
    Bulk(Enable)           => "enable",                "",     P, Args::None,                                    W, "Enable the marked accounts (or this one)";
    Bulk(Unlock)           => "unlock",                "",     P, Args::None,                                    W, "Unlock the marked accounts (or this one)";
    Bulk(ResetPassword)    => "reset-password",        "",     P, Args::None,                                    W, "Require a new password at next login";
    Bulk(ResetMfa)         => "reset-mfa",             "",     P, Args::None,                                    W, "Require MFA to be set up again";
    Bulk(Delete)           => "delete",                "",     P, Optional("[playbooks=ACCOUNT jobs=ACCOUNT]"),  W, "Delete the marked accounts (type the count)";
    Offboard               => "offboard",              "",     P, Optional("[playbooks=ACCOUNT jobs=API_ACCOUNT delete]"), W, "Offboard the marked accounts (or this one)";
    Import                 => "import",                "",     P, Required("FILE.csv"),                          W, "Create and change accounts from a CSV file";
    ClearMarks             => "clear",                 "",     P, Args::None,                                    R, "Clear all marks";
    Audit                  => "audit",                 "",     P, Args::None,                                    R, "Audit findings";
    Journal                => "journal",               "",     P, Args::None,                                    R, "The journal: runs, then a run's accounts";
    Undo                   => "undo",                  "",     P, Optional("[RUN_ID]"),                          W, "Put back a run (default: the last one)";
    UndoRun                => "undo-run",              "",     K, Args::None,                                    W, "Undo this run (its preflight first)";
    Review                 => "review",                "",     P, Required("DIR"),                               R, "Decide an access review's accounts";
    DecideKeep             => "decide-keep",           "",     K, Args::None,                                    R, "Decide: keep the account";
    DecideDisable          => "decide-disable",        "",     K, Args::None,                                    R, "Decide: disable it (asks why)";
    DecideDelete           => "decide-delete",         "",     K, Args::None,                                    R, "Decide: delete it (asks why)";
    Up                     => "up",                    "",     K, Args::None,                                    R, "Previous line";
    Down                   => "down",                  "",     K, Args::None,                                    R, "Next line";
    PageUp                 => "page-up",               "",     K, Args::None,                                    R, "Page up";
    PageDown               => "page-down",             "",     K, Args::None,                                    R, "Page down";
    Top                    => "top",                   "",     K, Args::None,                                    R, "First line";
    Bottom                 => "bottom",                "",     K, Args::None,                                    R, "Last line";
    Details                => "details",               "",     K, Args::None,                                    R, "Details of the account";
    EditFilter             => "edit-filter",           "",     K, Args::None,                                    R, "Filter, e.g. status:locked login>90d smith";
    CommandPrompt          => "command-prompt",        "",     K, Args::None,                                    R, "Command prompt";
    Complete               => "complete",              "",     K, Args::None,                                    R, "Complete the command name (again: the next)";
    ClearFilter            => "clear-filter",          "",     K, Args::None,                                    R, "Clear the filter";
    SortNext               => "sort-next",             "",     K, Args::None,                                    R, "Sort by the next column";
    SortPrevious           => "sort-previous",         "",     K, Args::None,                                    R, "Sort by the previous column";
    SortReverse            => "sort-reverse",          "",     K, Args::None,                                    R, "Ascending/descending";
    Mark                   => "mark",                  "",     K, Args::None,                                    R, "Mark/unmark the account, move down";
    MarkRange              => "mark-range",            "",     K, Args::None,                                    R, "Mark from the anchor (last Space) to here";
    MarkAllShown           => "mark-all",              "",     K, Args::None,                                    R, "Mark every account shown";
    InvertMarks            => "invert-marks",          "",     K, Args::None,                                    R, "Invert the marks of those shown";
    NextGroup              => "next-group",            "",     K, Args::None,                                    R, "Next group (will change, already, not allowed)";
    PreviousGroup          => "previous-group",        "",     K, Args::None,                                    R, "Previous group";
    Confirm                => "confirm",               "",     K, Args::None,                                    R, "Run it (delete: type the count, then Enter)";
    StopRun                => "stop-run",              "",     K, Args::None,                                    R, "Stop; requests in flight still finish";
    StopAndQuit            => "stop-and-quit",         "",     K, Args::None,                                    R, "Stop (asks first), then quit";
    RetryFailed            => "retry-failed",          "",     K, Args::None,                                    R, "Retry the failed and unsent accounts";
    Close                  => "close",                 "",     K, Args::None,                                    R, "Close";
    Accept                 => "accept",                "",     K, Args::None,                                    R, "Accept";
    DeleteChar             => "delete-char",           "",     K, Args::None,                                    R, "Delete a character";
    DeleteWord             => "delete-word",           "",     K, Args::None,                                    R, "Delete a word";
    ClearInput             => "clear-input",           "",     K, Args::None,                                    R, "Delete everything";
    DeleteNextChar         => "delete-next-char",      "",     K, Args::None,                                    R, "Delete the character under the cursor";
    Edit                   => "edit",                  "",     K, Args::None,                                    W, "Edit the account";
    DeleteAccount          => "delete-account",        "",     K, Args::None,                                    W, "Delete the account (asks first)";
    RequirePasswordReset   => "require-password-reset", "",    K, Args::None,                                    W, "Require a password reset of the account";
    RequireMfaReset        => "require-mfa-reset",     "",     K, Args::None,                                    W, "Require an MFA reset of the account";
    NextField              => "next-field",            "",     K, Args::None,                                    R, "Next field";
    PreviousField          => "previous-field",        "",     K, Args::None,                                    R, "Previous field";
    Save                   => "save",                  "",     K, Args::None,                                    R, "Save";
    SaveWithToken          => "save-with-token",       "",     K, Args::None,                                    R, "API users: save and generate token";
    Toggle                 => "toggle",                "",     K, Args::None,                                    R, "Toggle a checkbox (in text: a space)";
    CopyToken              => "copy-token",            "",     K, Args::None,                                    R, "Copy the token to the clipboard (OSC 52)";
    CursorLeft             => "cursor-left",           "",     K, Args::None,                                    R, "Cursor left";
    CursorRight            => "cursor-right",          "",     K, Args::None,                                    R, "Cursor right";
    CursorStart            => "cursor-start",          "",     K, Args::None,                                    R, "Cursor to the start";
    CursorEnd              => "cursor-end",            "",     K, Args::None,                                    R, "Cursor to the end";
    ScrollLeft             => "scroll-left",           "",     K, Args::None,                                    R, "Scroll the columns left (the account stays)";
    ScrollRight            => "scroll-right",          "",     K, Args::None,                                    R, "Scroll the columns right";
    FindNext               => "find-next",             "",     K, Args::None,                                    R, "Next match of the last search";
    FindPrevious           => "find-previous",         "",     K, Args::None,                                    R, "Previous match of the last search";
    CopyUserName           => "copy-user-name",        "",     K, Args::None,                                    R, "Copy the account's user name (OSC 52)";
}

impl Cmd {
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    pub const fn doc(self) -> &'static str {
        self.spec().doc
    }

    /// Whether the command would change something on the server.
    pub const fn is_write(self) -> bool {
        self.spec().writes
    }

    /// Whether a key can run it: it needs nothing typed after its name.
    pub const fn runs_bare(self) -> bool {
        !matches!(self.spec().args, Args::Required(_))
    }

    /// The command a `:` line names (case-insensitive, aliases too).
    pub fn prompt_named(name: &str) -> Option<Cmd> {
        Cmd::ALL.iter().copied().find(|c| {
            let spec = c.spec();
            spec.prompt
                && (spec.name.eq_ignore_ascii_case(name)
                    || (!spec.alias.is_empty() && spec.alias.eq_ignore_ascii_case(name)))
        })
    }

    /// Any command by its name, as the config file's `[keys]` names it.
    pub fn named(name: &str) -> Option<Cmd> {
        Cmd::ALL.iter().copied().find(|c| {
            let spec = c.spec();
            spec.name.eq_ignore_ascii_case(name)
                || (!spec.alias.is_empty() && spec.alias.eq_ignore_ascii_case(name))
        })
    }

    /// How help shows a `:` command: `:columns, :cols [+NAME ...]`.
    pub fn usage(self) -> String {
        let spec = self.spec();
        let mut usage = format!(":{}", spec.name);
        if !spec.alias.is_empty() {
            usage.push_str(&format!(", :{}", spec.alias));
        }
        if let Args::Optional(args) | Args::Required(args) = spec.args {
            usage.push(' ');
            usage.push_str(args);
        }
        usage
    }

    /// Where a move command takes a cursor at `at` of `0..=last`, `page`
    /// lines a page; `None` for the commands that do not move.
    pub fn moved(self, at: usize, last: usize, page: usize) -> Option<usize> {
        Some(match self {
            Cmd::Up => at.saturating_sub(1),
            Cmd::Down => at.saturating_add(1).min(last),
            Cmd::PageUp => at.saturating_sub(page),
            Cmd::PageDown => at.saturating_add(page).min(last),
            Cmd::Top => 0,
            Cmd::Bottom => last,
            _ => return None,
        })
    }
}

/// The `:` command names starting with `prefix` (any case), sorted; the
/// write commands are left out when the console is read-only, as in help.
pub fn completions(prefix: &str, read_only: bool) -> Vec<&'static str> {
    let prefix = prefix.to_ascii_lowercase();
    let mut names: Vec<&'static str> = Cmd::ALL
        .iter()
        .map(|c| c.spec())
        .filter(|s| s.prompt && !(read_only && s.writes) && s.name.starts_with(&prefix))
        .map(|s| s.name)
        .collect();
    names.sort_unstable();
    names
}

/// The longest start all `names` share.
pub fn common_prefix<'a>(names: &[&'a str]) -> &'a str {
    let Some(first) = names.first() else {
        return "";
    };
    let mut len = first.len();
    for name in &names[1..] {
        len = first
            .bytes()
            .zip(name.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    // Names are ASCII, but never cut inside a character regardless.
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    &first[..len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_match_the_bulk_names() {
        let mut seen = std::collections::HashSet::new();
        for cmd in Cmd::ALL {
            let spec = cmd.spec();
            for name in [spec.name, spec.alias]
                .into_iter()
                .filter(|n| !n.is_empty())
            {
                assert!(seen.insert(name), "{name} twice");
                assert!(
                    name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                    "{name}"
                );
            }
            if let Cmd::Bulk(action) = cmd {
                assert_eq!(spec.name, action.name());
            }
        }
    }

    #[test]
    fn prompt_names_and_aliases_any_case() {
        assert_eq!(Cmd::prompt_named("QUIT"), Some(Cmd::Quit));
        assert_eq!(Cmd::prompt_named("q"), Some(Cmd::Quit));
        assert_eq!(Cmd::prompt_named("cols"), Some(Cmd::Columns));
        assert_eq!(
            Cmd::prompt_named("reset-password"),
            Some(Cmd::Bulk(BulkAction::ResetPassword))
        );
        // A key's name is not a `:` command.
        assert_eq!(Cmd::prompt_named("down"), None);
        assert_eq!(Cmd::named("down"), Some(Cmd::Down));
    }

    #[test]
    fn completion_candidates_and_their_common_prefix() {
        assert_eq!(completions("ref", false), ["refresh"]);
        assert_eq!(
            completions("RE", false),
            ["refresh", "reset-mfa", "reset-password", "review"]
        );
        assert_eq!(completions("re", true), ["refresh", "review"]);
        assert_eq!(common_prefix(&["reset-mfa", "reset-password"]), "reset-");
        assert_eq!(common_prefix(&["refresh", "reset-mfa"]), "re");
        assert_eq!(common_prefix(&[]), "");
        assert!(completions("zz", false).is_empty());
    }
}

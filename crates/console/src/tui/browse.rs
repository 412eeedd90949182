//! The everyday moves over the table: choosing and scrolling columns,
//! finding and jumping to an account, copying its name, exporting the
//! rows shown, and saved views. IO (the config file, the export) is
//! queued as an [`Effect`] for the event loop.

use super::app::App;
use super::columns::{self, Column};
use super::effects::{Effect, ExportFormat};
use super::keymap::Mode;
use crate::config::SavedView;
use crate::domain::User;
use std::path::PathBuf;

/// Whether `user` matches a search text (lowercased): its user name, its
/// name or its id.
fn found(user: &User, needle: &str) -> bool {
    !needle.is_empty()
        && (user.user_name.to_lowercase().contains(needle)
            || user.full_name().to_lowercase().contains(needle)
            || user.id.to_string() == needle)
}

impl App {
    /// The columns shown, in order: the chosen ones this actor may see.
    pub fn shown_columns(&self) -> Vec<Column> {
        let available = self.available_columns();
        self.columns
            .iter()
            .copied()
            .filter(|c| available.contains(c))
            .collect()
    }

    pub(crate) fn scroll_columns(&mut self, right: bool) {
        if right {
            if self.more_right {
                self.col_scroll += 1;
            }
        } else {
            self.col_scroll = self.col_scroll.saturating_sub(1);
        }
    }

    /// The writes waiting for the event loop.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// The outcome of a write, for the status line.
    pub fn effect_done(&mut self, outcome: Result<String, String>) {
        match outcome {
            // After what the command said (":columns" lists them).
            Ok(text) => match self.status.as_ref().filter(|s| !s.is_error) {
                Some(status) => {
                    let joined = format!("{}; {text}", status.text);
                    self.set_info(joined)
                }
                None => self.set_info(text),
            },
            Err(text) => self.set_error(text),
        }
    }

    fn save_config(&mut self) {
        self.effects
            .push(Effect::SaveConfig(self.console_config.clone()));
    }

    // ---- columns ----

    /// `:columns`: lists them; `+NAME`/`NAME` shows, `-NAME` hides,
    /// `order A,B,...` shows exactly these in this order, `reset` the default.
    pub(crate) fn columns_command(&mut self, args: &str) {
        let words: Vec<String> = args
            .split([',', ' '])
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        if words.is_empty() {
            self.set_info(self.columns_text());
            return;
        }
        let mut columns = self.columns.clone();
        let mut words = words.iter().map(String::as_str).peekable();
        while let Some(word) = words.next() {
            let lower = word.to_ascii_lowercase();
            if lower == "reset" || lower == "default" {
                columns = Column::ALL.to_vec();
                continue;
            }
            if lower == "order" {
                let rest: Vec<String> = words.by_ref().map(str::to_string).collect();
                if let Some(bad) = rest.iter().find(|w| Column::parse(w).is_none()) {
                    return self.unknown_column(bad);
                }
                columns = columns::from_keys(&rest);
                break;
            }
            let (show, name) = match word.strip_prefix('-') {
                Some(name) => (false, name),
                None => (true, word.strip_prefix('+').unwrap_or(word)),
            };
            let Some(column) = Column::parse(name) else {
                return self.unknown_column(name);
            };
            if show {
                if !columns.contains(&column) {
                    columns.push(column);
                }
            } else if column == Column::Account {
                self.set_error("the Account column always shows: it names the row");
                return;
            } else {
                columns.retain(|c| *c != column);
            }
        }
        self.columns = columns;
        self.col_scroll = 0;
        self.console_config.columns = Some(columns::to_keys(&self.columns));
        self.save_config();
        self.set_info(self.columns_text());
    }

    fn unknown_column(&mut self, name: &str) {
        let known: Vec<&str> = Column::ALL.iter().map(|c| c.key()).collect();
        self.set_error(format!(
            "no column {name:?}; the columns are {}",
            known.join(", ")
        ));
    }

    /// "columns: account, status, ...; hidden: name, ...".
    fn columns_text(&self) -> String {
        let shown: Vec<&str> = self.columns.iter().map(|c| c.key()).collect();
        let hidden: Vec<&str> = Column::ALL
            .iter()
            .filter(|c| !self.columns.contains(c))
            .map(|c| c.key())
            .collect();
        let mut text = format!("columns shown: {}", shown.join(", "));
        if !hidden.is_empty() {
            text.push_str(&format!("; hidden: {}", hidden.join(", ")));
        }
        if !self.available_columns().contains(&Column::SystemRole) {
            text.push_str("; systemrole is not returned to you");
        }
        text.push_str(" (:columns +NAME -NAME, order A,B,..., reset)");
        text
    }

    // ---- finding ----

    pub(crate) fn open_find(&mut self) {
        self.find_input.clear();
        self.find_origin = self.table.selected;
        self.layers.push(Mode::Find);
    }

    /// As the search text changes: the first match from where the search
    /// started, the cursor back there when nothing matches.
    pub(crate) fn find_changed(&mut self) {
        let needle = self.find_input.trim().to_lowercase();
        self.find_last = needle.clone();
        if needle.is_empty() {
            self.table.select(self.find_origin);
            return;
        }
        match self.search_from(self.find_origin, true, &needle) {
            Some(at) => self.table.select(at),
            None => self.table.select(self.find_origin),
        }
    }

    /// The next (or previous) row shown matching `needle`, from `start`
    /// (included), wrapping around.
    fn search_from(&self, start: usize, forward: bool, needle: &str) -> Option<usize> {
        let n = self.view.len();
        (0..n)
            .map(|step| {
                if forward {
                    (start + step) % n
                } else {
                    (start + n - step % n) % n
                }
            })
            .find(|&at| {
                let row = self.view[at] as usize;
                self.rows.get(row).is_some_and(|r| found(&r.user, needle))
            })
    }

    /// `n` / `N`: the next or previous match of the last search.
    pub(crate) fn find_again(&mut self, forward: bool) {
        let needle = self.find_last.clone();
        if needle.is_empty() {
            self.set_info("no search yet: f (or :find TEXT) searches");
            return;
        }
        let n = self.view.len();
        if n == 0 {
            return;
        }
        let start = if forward {
            (self.table.selected + 1) % n
        } else {
            (self.table.selected + n - 1) % n
        };
        match self.search_from(start, forward, &needle) {
            Some(at) => {
                if (forward && at <= self.table.selected) || (!forward && at >= self.table.selected)
                {
                    self.set_info(format!("search wrapped: {needle}"));
                }
                self.table.select(at);
            }
            None => self.set_error(format!("no account shown matches {needle:?}")),
        }
    }

    /// `:find TEXT`: the first match from the cursor on.
    pub(crate) fn find_command(&mut self, text: &str) {
        let needle = text.trim().to_lowercase();
        if needle.is_empty() {
            self.open_find();
            return;
        }
        self.find_last = needle.clone();
        if self.view.is_empty() {
            return;
        }
        match self.search_from(self.table.selected, true, &needle) {
            Some(at) => self.table.select(at),
            None => self.set_error(format!("no account shown matches {needle:?}")),
        }
    }

    /// `:goto NAME|ID`: to the account with that id or user name (else the
    /// first whose name holds the text), keeping the filter.
    pub(crate) fn goto_command(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            self.set_error(":goto needs an account name or id");
            return;
        }
        let lower = text.to_lowercase();
        let id: Option<i64> = text.parse().ok();
        let exact = |user: &User| {
            Some(user.id) == id
                || user.user_name.eq_ignore_ascii_case(text)
                || user.user_name == text
        };
        let position = |pred: &dyn Fn(&User) -> bool| {
            self.view
                .iter()
                .position(|&i| self.rows.get(i as usize).is_some_and(|r| pred(&r.user)))
        };
        let at = position(&exact).or_else(|| position(&|u: &User| found(u, &lower)));
        match at {
            Some(at) => {
                self.table.select(at);
                self.find_last = lower;
            }
            None if self
                .rows
                .iter()
                .any(|r| exact(&r.user) || found(&r.user, &lower)) =>
            {
                self.set_error(format!(
                    "{text:?} is loaded but the filter hides it; Esc clears the filter"
                ))
            }
            None => self.set_error(format!("no account {text:?}")),
        }
    }

    // ---- taking ----

    /// `y`: the selected account's user name to the clipboard (OSC 52).
    pub(crate) fn copy_user_name(&mut self) {
        let Some(name) = self.selected_user().map(|u| u.user_name.clone()) else {
            self.set_error("no account selected");
            return;
        };
        self.forms.terminal_output = Some(super::form::osc52(&name));
        self.set_info(format!(
            "copied {} (if the terminal allows OSC 52)",
            super::text::sanitize(&name)
        ));
    }

    /// `:export FILE`: the marked accounts, else the rows shown, as CSV or
    /// JSON by the file's extension.
    pub(crate) fn export_command(&mut self, file: &str) {
        let file = file.trim();
        if file.is_empty() {
            self.set_error(":export needs a file name ending in .csv or .json");
            return;
        }
        let path = match file.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(rest))
                .unwrap_or_else(|| PathBuf::from(file)),
            None => PathBuf::from(file),
        };
        // An ended offboarding run: FILE.md is its report.
        let markdown = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("md"));
        if markdown && self.mode() == Mode::Offboard {
            let Some(run_id) = self.offboarding.ended_run().map(str::to_string) else {
                self.set_error(":export takes the results once the run has ended");
                return;
            };
            self.effects.push(Effect::OffboardReport {
                path,
                run_id,
                lists: self.offboarding.lists(),
            });
            return;
        }
        let Some(format) = ExportFormat::of(&path) else {
            let also = if self.mode() == Mode::Offboard {
                ", or .md for the report"
            } else {
                ""
            };
            self.set_error(format!(
                "{file}: the name must end in .csv or .json (the format){also}"
            ));
            return;
        };
        // In a run's results: the run's results, as `rollcall journal
        // --run RUN_ID --format csv|json` gives them.
        let run_id = match self.mode() {
            Mode::BulkResults => self.bulk.run.as_ref().map(|r| r.run_id.clone()),
            Mode::JournalRun => self.journal.open.as_ref().map(|o| o.run.run_id.clone()),
            Mode::Offboard => match self.offboarding.ended_run() {
                Some(run_id) => Some(run_id.to_string()),
                None => {
                    self.set_error(":export takes the results once the run has ended");
                    return;
                }
            },
            _ => None,
        };
        if let Some(run_id) = run_id {
            self.effects.push(Effect::ExportResults {
                path,
                format,
                journal: self.run_settings.journal.clone(),
                run_id,
            });
            return;
        }
        let users: Vec<User> = if self.bulk.marks.is_empty() {
            self.view
                .iter()
                .filter_map(|&i| self.rows.get(i as usize))
                .map(|r| r.user.clone())
                .collect()
        } else {
            self.sorted_rows()
                .filter(|r| self.bulk.marks.contains(&r.user.id))
                .map(|r| r.user.clone())
                .collect()
        };
        self.effects.push(Effect::Export {
            path,
            format,
            users,
            password_max_age_days: self.ctx.settings.password_max_age_days,
            now: self.now,
        });
    }

    // ---- saved views ----

    /// `:view` lists, `:view save NAME`, `:view delete NAME`, `:view NAME`.
    pub(crate) fn view_command(&mut self, args: &str) {
        let args = args.trim();
        let (verb, rest) = match args.split_once(char::is_whitespace) {
            Some((verb, rest)) => (verb, rest.trim()),
            None => (args, ""),
        };
        match verb.to_ascii_lowercase().as_str() {
            "" => {
                let names: Vec<&str> = self
                    .console_config
                    .views
                    .keys()
                    .map(String::as_str)
                    .collect();
                if names.is_empty() {
                    self.set_info(
                        "no saved views; :view save NAME keeps the filter, sort and columns",
                    );
                } else {
                    self.set_info(format!("saved views: {}", names.join(", ")));
                }
            }
            "save" if !rest.is_empty() => self.save_view(rest),
            "delete" | "remove" if !rest.is_empty() => {
                if self.console_config.views.remove(rest).is_some() {
                    if self.view_name.as_deref() == Some(rest) {
                        self.view_name = None;
                    }
                    self.save_config();
                } else {
                    self.set_error(format!("no saved view {rest:?}"));
                }
            }
            "save" | "delete" | "remove" => self.set_error(format!(":view {verb} needs a name")),
            _ => {
                self.open_view(args);
            }
        }
    }

    /// The current filter, sort and columns as a saved view.
    fn current_view(&self) -> SavedView {
        let direction = if self.ascending { "asc" } else { "desc" };
        SavedView {
            filter: self.active_filter().unwrap_or("").to_string(),
            sort: Some(format!("{} {direction}", self.sort.key())),
            columns: Some(columns::to_keys(&self.columns)),
        }
    }

    fn save_view(&mut self, name: &str) {
        let view = self.current_view();
        self.console_config.views.insert(name.to_string(), view);
        self.view_name = Some(name.to_string());
        self.save_config();
    }

    /// Whether the screen no longer shows the saved view it was opened as.
    pub fn view_changed(&self) -> bool {
        match self.view_name.as_ref() {
            Some(name) => self.console_config.views.get(name) != Some(&self.current_view()),
            None => false,
        }
    }

    /// Opens a saved view: its filter, sort and columns. False (with the
    /// reason on the status line) when there is none of that name.
    pub fn open_view(&mut self, name: &str) -> bool {
        let Some(view) = self.console_config.views.get(name).cloned() else {
            let names: Vec<&str> = self
                .console_config
                .views
                .keys()
                .map(String::as_str)
                .collect();
            let known = if names.is_empty() {
                "there are none yet".to_string()
            } else {
                format!("saved: {}", names.join(", "))
            };
            self.set_error(format!("no saved view {name:?}; {known}"));
            return false;
        };
        if let Some(columns) = &view.columns {
            self.columns = columns::from_keys(columns);
            self.col_scroll = 0;
        }
        if let Some(sort) = &view.sort {
            let mut words: Vec<&str> = sort.split_whitespace().collect();
            let ascending = match words.last().map(|w| w.to_ascii_lowercase()) {
                Some(w) if w == "desc" => {
                    words.pop();
                    false
                }
                Some(w) if w == "asc" => {
                    words.pop();
                    true
                }
                _ => true,
            };
            if let Some(column) = Column::parse(&words.join(" ")) {
                self.set_sort(column, ascending);
            }
        }
        self.filter_input.set(&view.filter);
        self.id_filter = None;
        self.apply_filter();
        self.view_name = Some(name.to_string());
        match self.filter_error.clone() {
            Some(error) => self.set_error(format!("view {name}: filter: {error}")),
            None => self.set_info(format!("view {name}")),
        }
        true
    }
}

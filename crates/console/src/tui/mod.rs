//! The console: App state, keymap, views, event loop.
//!
//! `run` owns the terminal; the [`Worker`] owns the client. The loop waits
//! on terminal input, worker events, signals and a tick, applies everything
//! pending, then draws once.

mod app;
mod browse;
mod bulk;
mod columns;
mod component;
pub mod effects;
mod form;
mod journal;
pub mod keymap;
mod layers;
mod line;
mod list;
mod offboarding;
pub mod registry;
mod review;
mod terminal;
mod text;
mod views;

#[cfg(test)]
mod bulk_tests;
#[cfg(test)]
mod review_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod form_tests;

pub use app::{Action, App, Geometry, LoadState, TypeCounts, MAX_INPUT};
pub use columns::Column;
pub use component::StatusMessage;
pub use keymap::Mode;
pub use views::draw;

use crate::api::{Capabilities, Client};
use crate::domain::{Actor, InstanceSettings};
use crate::worker::{Command, Worker};
use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream};
use futures::{FutureExt, StreamExt};
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook_tokio::Signals;
use std::time::{Duration, Instant};

/// What the console needs to know about the connection, besides the client.
#[derive(Debug, Clone)]
pub struct ConsoleContext {
    pub actor: Actor,
    pub settings: InstanceSettings,
    pub capabilities: Capabilities,
    /// How the instance is named in the header (host or profile).
    pub instance: String,
    /// `--read-only`: no write leaves the machine.
    pub read_only: bool,
}

impl ConsoleContext {
    /// Writes are impossible: `--read-only`, or no role of the actor writes.
    pub fn writes_refused(&self) -> bool {
        self.read_only || !self.actor.can_write_anything(&self.settings)
    }

    pub fn from_session(session: &crate::ops::session::Session) -> ConsoleContext {
        ConsoleContext {
            actor: session.actor.clone(),
            settings: session.settings.clone(),
            capabilities: session.capabilities.clone(),
            instance: session.instance.clone(),
            read_only: session.read_only,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// Capture the mouse (wheel scrolls, click selects). Off by default so
    /// the terminal's own selection keeps working.
    pub mouse: bool,
    /// NO_COLOR: the caller reads the environment.
    pub no_color: bool,
    /// Where bulk runs are journalled; `None` is the default data directory.
    pub journal: Option<std::path::PathBuf>,
    /// Requests in flight during a bulk run; `None` is the default (8).
    pub concurrency: Option<usize>,
    /// The config file whose `[console]` table keeps the columns and views.
    pub config_path: Option<std::path::PathBuf>,
    /// A saved view to open at start (`--view NAME`).
    pub view: Option<String>,
}

/// The console's part of the config file.
#[derive(Debug)]
pub(crate) struct Settings {
    /// `[console]`, when the file was read.
    console: Option<crate::config::ConsoleConfig>,
    /// The keys in force: the defaults with `[keys]` merged over them.
    keymap: keymap::Keymap,
    /// Why the file was not read, for the status line.
    note: Option<String>,
}

impl Settings {
    /// A file that does not read leaves the defaults, with a note (and is
    /// never written over: saving re-reads it and refuses). A `[keys]`
    /// table with a problem is an error naming the file and every problem:
    /// the console does not start with keys other than those asked for.
    pub(crate) fn read(path: Option<&std::path::Path>) -> anyhow::Result<Settings> {
        let mut settings = Settings {
            console: None,
            keymap: keymap::Keymap::default(),
            note: None,
        };
        let Some(path) = path else {
            return Ok(settings);
        };
        match crate::config::ConfigFile::load(path) {
            Ok(file) => {
                let file = file.unwrap_or_default();
                settings.keymap =
                    keymap::Keymap::with_overrides(&file.keys).map_err(|problems| {
                        anyhow::anyhow!(
                            "{}: the console's keys ([keys]) are refused:\n  {}",
                            path.display(),
                            problems.join("\n  ")
                        )
                    })?;
                settings.console = Some(file.console);
            }
            Err(error) => {
                settings.note = Some(format!("columns, views and keys not read: {error}"))
            }
        }
        Ok(settings)
    }
}

/// At most this many queued inputs are applied before a frame is drawn, so a
/// flood of pages cannot starve the screen.
const DRAIN_LIMIT: usize = 512;

/// And at most this long: signals and Esc are looked at between frames, so
/// no burst of input keeps them waiting.
const FRAME_BUDGET: Duration = Duration::from_millis(50);

/// The console ended on a signal or in the middle of a bulk run: the
/// process exits with `code` (128 + the signal, as a shell reports a
/// process the signal ended; 130 for Ctrl-C during a run) after printing
/// `note`, if any, once the terminal is restored.
#[derive(Debug)]
pub struct Interrupted {
    pub code: u8,
    pub note: Option<String>,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.note {
            Some(note) => f.write_str(note),
            None => write!(f, "interrupted (exit status {})", self.code),
        }
    }
}

impl std::error::Error for Interrupted {}

/// Runs the console until the user quits, the terminal goes away
/// (SIGHUP), or SIGTERM, SIGINT or SIGQUIT. The terminal is restored on
/// every way out, panics included; a signal or an interrupted bulk run
/// ends in [`Interrupted`].
pub async fn run(client: Client, ctx: ConsoleContext, opts: ConsoleOptions) -> anyhow::Result<()> {
    // Raw mode turns the Ctrl-C key into a key, but `kill -INT` and
    // `kill -QUIT` still arrive as signals: without handlers they would end
    // the process with the terminal raw and in the alternate screen.
    let mut signals = Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])?;
    let signal_handle = signals.handle();
    // Before the terminal is taken: a refused `[keys]` ends here, readably.
    let settings = Settings::read(opts.config_path.as_deref())?;
    terminal::install_panic_hook();
    let mut guard = terminal::TerminalGuard::enter(opts.mouse)?;

    let mut app = App::new(ctx)
        .with_keymap(settings.keymap)
        .with_no_color(opts.no_color)
        .with_notices(client.notices(), client.tls_unverified());
    let (worker, mut events) = Worker::spawn(client);
    if let Some(path) = opts.journal.clone() {
        app = app.with_journal(Some(path));
    }
    if let Some(concurrency) = opts.concurrency {
        app = app.with_concurrency(concurrency);
    }
    if let Some(config) = settings.console {
        app = app.with_console_config(config);
    }
    for command in app.start() {
        worker.send(command);
    }
    if let Some(name) = &opts.view {
        app.open_view(name);
    }
    if let Some(note) = settings.note {
        app.set_error(note);
    }
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut outcome: anyhow::Result<()> = Ok(());
    let mut ended_by: Option<i32> = None;

    loop {
        let mut geometry = Geometry::default();
        if let Err(error) = guard.terminal().draw(|frame| geometry = draw(&app, frame)) {
            outcome = Err(error.into());
            break;
        }
        // Page sizes and click areas for the keys until the next draw.
        app.update(Action::Geometry(geometry));
        let mut commands: Vec<Command> = Vec::new();
        let mut typed = String::new();
        tokio::select! {
            // Signals first: however much input or how many pages wait,
            // a signal is heard at the next turn.
            biased;
            Some(signal) = signals.next() => {
                ended_by = Some(signal);
                break;
            }
            event = input.next() => match event {
                Some(Ok(event)) => commands.extend(input_event(&mut app, event, &mut typed)),
                Some(Err(error)) => { outcome = Err(error.into()); break; }
                // The terminal is gone.
                None => break,
            },
            Some(event) = events.recv() => {
                commands.extend(app.update(Action::Worker(event)));
            }
            _ = tick.tick() => {
                commands.extend(app.update(Action::Tick(Utc::now())));
            }
        }
        // Apply what is already waiting before drawing again, within bounds.
        let started = Instant::now();
        for _ in 0..DRAIN_LIMIT {
            let mut progressed = false;
            if let Ok(event) = events.try_recv() {
                commands.extend(app.update(Action::Worker(event)));
                progressed = true;
            }
            if let Some(Some(Ok(event))) = input.next().now_or_never() {
                commands.extend(input_event(&mut app, event, &mut typed));
                progressed = true;
            }
            if !progressed || started.elapsed() >= FRAME_BUDGET {
                break;
            }
        }
        commands.extend(flush_typed(&mut app, &mut typed));
        if let Some(bytes) = app.take_terminal_output() {
            // OSC 52 (the clipboard) goes to the terminal, nowhere else.
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = out.write_all(bytes.as_bytes());
            let _ = out.flush();
        }
        for effect in app.take_effects() {
            let outcome = effects::perform(&effect, opts.config_path.as_deref());
            app.effect_done(outcome);
        }
        for command in commands {
            worker.send(command);
        }
        if app.should_quit() {
            break;
        }
    }
    let run_interrupted = app.bulk_running();
    let run_stopped = app.stopped_run();
    signal_handle.close();
    // The terminal first: the wait for the run's requests below is then
    // spent at a usable prompt, with a line saying what happens.
    let restored = guard.restore();
    if run_interrupted {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "rollcall: stopping the bulk run: requests in flight get {} s to finish",
            crate::worker::SHUTDOWN_GRACE.as_secs()
        );
    }
    // Before the runtime goes: nothing of the worker may still be polled
    // while it shuts down.
    worker.shutdown().await;
    restored?;
    outcome?;
    let code = match (ended_by, run_interrupted, run_stopped) {
        (Some(signal), _, _) => Some(128 + signal),
        (None, true, _) => Some(128 + SIGINT),
        // Stopped on request: the run did not finish, which a script must see.
        (None, false, Some(_)) => Some(1),
        (None, false, None) => None,
    };
    let note = match run_stopped {
        _ if run_interrupted => Some(
            "the bulk run was interrupted; `rollcall journal` lists its unfinished accounts"
                .to_string(),
        ),
        Some((not_sent, total)) => Some(format!(
            "the bulk run was stopped: {not_sent} of {total} accounts not sent; `rollcall journal` lists them"
        )),
        None => None,
    };
    match code {
        None => Ok(()),
        Some(code) => Err(Interrupted {
            code: u8::try_from(code).unwrap_or(1),
            note,
        }
        .into()),
    }
}

/// Applies one terminal event. Characters typed into a prompt wait in
/// `typed` and are applied together (`flush_typed`), so a burst of them (a
/// paste the terminal did not bracket) re-filters once, not per character.
fn input_event(app: &mut App, event: TermEvent, typed: &mut String) -> Vec<Command> {
    if let TermEvent::Key(key) = &event {
        if let Some(c) = app.typed_char(key) {
            typed.push(c);
            return Vec::new();
        }
    }
    let mut commands = flush_typed(app, typed);
    commands.extend(match event {
        TermEvent::Key(key) => app.handle_key(key),
        TermEvent::Mouse(mouse) => app.update(Action::Mouse(mouse)),
        // Bracketed paste: the whole text in one update.
        TermEvent::Paste(text) => app.update(Action::Paste(text)),
        // Resize and focus changes only need a redraw.
        _ => Vec::new(),
    });
    commands
}

fn flush_typed(app: &mut App, typed: &mut String) -> Vec<Command> {
    if typed.is_empty() {
        return Vec::new();
    }
    app.update(Action::Paste(std::mem::take(typed)))
}

#[cfg(test)]
mod browse_tests;

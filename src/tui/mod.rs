//! The console: App state, keymap, views, event loop.
//!
//! `run` owns the terminal; the [`Worker`] owns the client. The loop waits
//! on terminal input, worker events, signals and a tick, applies everything
//! pending, then draws once.

mod app;
mod bulk;
mod columns;
mod form;
pub mod keymap;
mod terminal;
mod text;
mod views;

#[cfg(test)]
mod bulk_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod form_tests;

pub use app::{Action, App, LoadState, StatusMessage, TypeCounts};
pub use columns::Column;
pub use keymap::Mode;
pub use views::draw;

use crate::api::{Capabilities, Client};
use crate::domain::{Actor, InstanceSettings};
use crate::worker::{Command, Worker};
use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream};
use futures::{FutureExt, StreamExt};
use signal_hook::consts::signal::{SIGHUP, SIGTERM};
use signal_hook_tokio::Signals;
use std::time::Duration;

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
    pub fn from_session(session: &crate::commands::connect::Session) -> ConsoleContext {
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
}

/// At most this many queued inputs are applied before a frame is drawn, so a
/// flood of pages cannot starve the screen.
const DRAIN_LIMIT: usize = 512;

/// Runs the console until the user quits, the terminal goes away
/// (SIGHUP), or SIGTERM. The terminal is restored on every way out,
/// panics included.
pub async fn run(client: Client, ctx: ConsoleContext, opts: ConsoleOptions) -> anyhow::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGHUP])?;
    let signal_handle = signals.handle();
    terminal::install_panic_hook();
    let mut guard = terminal::TerminalGuard::enter(opts.mouse)?;

    let mut app = App::new(ctx)
        .with_no_color(opts.no_color)
        .with_notices(client.notices(), client.tls_unverified());
    let (worker, mut events) = Worker::spawn(client);
    if let Some(path) = opts.journal.clone() {
        app = app.with_journal(Some(path));
    }
    if let Some(concurrency) = opts.concurrency {
        app = app.with_concurrency(concurrency);
    }
    for command in app.start() {
        worker.send(command);
    }
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut outcome: anyhow::Result<()> = Ok(());

    loop {
        guard.terminal().draw(|frame| draw(&mut app, frame))?;
        let mut commands: Vec<Command> = Vec::new();
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(event)) => commands.extend(terminal_event(&mut app, event)),
                Some(Err(error)) => { outcome = Err(error.into()); break; }
                // The terminal is gone.
                None => break,
            },
            Some(event) = events.recv() => {
                commands.extend(app.update(Action::Worker(event)));
            }
            _ = signals.next() => break,
            _ = tick.tick() => {
                commands.extend(app.update(Action::Tick(Utc::now())));
            }
        }
        // Apply everything already waiting before drawing again.
        for _ in 0..DRAIN_LIMIT {
            let mut progressed = false;
            if let Ok(event) = events.try_recv() {
                commands.extend(app.update(Action::Worker(event)));
                progressed = true;
            }
            if let Some(Some(Ok(event))) = input.next().now_or_never() {
                commands.extend(terminal_event(&mut app, event));
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        if let Some(bytes) = app.take_terminal_output() {
            // OSC 52 (the clipboard) goes to the terminal, nowhere else.
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = out.write_all(bytes.as_bytes());
            let _ = out.flush();
        }
        for command in commands {
            worker.send(command);
        }
        if app.should_quit() {
            break;
        }
    }
    worker.send(Command::Shutdown);
    signal_handle.close();
    guard.restore()?;
    outcome
}

fn terminal_event(app: &mut App, event: TermEvent) -> Vec<Command> {
    match event {
        TermEvent::Key(key) => app.handle_key(key),
        TermEvent::Mouse(mouse) => app.update(Action::Mouse(mouse)),
        // Resize and focus changes only need a redraw.
        _ => Vec::new(),
    }
}

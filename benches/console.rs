//! Console speed and memory with 100,000 accounts, against a real sandbox
//! process over loopback HTTP:
//! - time until the first rows are on screen, and until the listing is done;
//! - one filter keystroke (slowest and median over a typed query);
//! - one frame draw at 80x24 and 200x60;
//! - resident memory of the console process with everything loaded.
//!
//! Run: `cargo bench --bench console` (optionally ROLLCALL_BENCH_USERS=N).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{backend::TestBackend, Terminal};
use rollcall::api::{Connection, Credentials, Secret};
use rollcall::ops::session::session_for;
use rollcall::tui::{draw, Action, App, ConsoleContext};
use rollcall::worker::{Command, Event, Worker};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub const SECRET: &str = "bench-secret";

pub struct SandboxProcess(Child);

impl SandboxProcess {
    /// What the sandbox process has used so far.
    pub fn usage(&self) -> Usage {
        let pid = self.0.id() as i32;
        Usage {
            cpu_seconds: cpu_seconds(pid),
            page_faults: stat_field(pid, 10),
        }
    }
}

/// A process's use of the machine: CPU seconds (user and system) and page
/// faults (minor: memory touched for the first time since the system gave
/// it), so far or between two readings.
#[derive(Clone, Copy)]
pub struct Usage {
    pub cpu_seconds: f64,
    pub page_faults: f64,
}

impl Usage {
    /// What was used between `earlier` and this reading.
    pub fn since(self, earlier: Usage) -> Usage {
        Usage {
            cpu_seconds: self.cpu_seconds - earlier.cpu_seconds,
            page_faults: self.page_faults - earlier.page_faults,
        }
    }
}

/// A number of /proc/PID/stat by its 1-based field number (0 when
/// unreadable).
fn stat_field(pid: i32, field: usize) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The fields after the command (which may hold spaces) start at 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after
        .split_whitespace()
        .nth(field - 3)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// A process's CPU seconds (user and system) so far, from /proc.
pub fn cpu_seconds(pid: i32) -> f64 {
    // Fields 14 and 15 of /proc/PID/stat.
    let ticks: f64 = [14, 15].iter().map(|&field| stat_field(pid, field)).sum();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / per_second.max(1.0)
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A sandbox process with `users` accounts (and `extra` flags, e.g.
/// `--latency 300`), and its base URL.
pub fn start_sandbox(users: usize, extra: &[&str]) -> (SandboxProcess, String) {
    start_sandbox_on(users, extra, None)
}

/// Keeps the calling thread (and the threads it starts after) on one CPU.
pub fn pin_to_cpu(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET writes inside
    // it; sched_setaffinity(0) only changes the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        match libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }
}

/// A command that runs on `cpu` alone, when one is given.
pub fn on_cpu(command: &mut std::process::Command, cpu: Option<usize>) {
    use std::os::unix::process::CommandExt;
    if let Some(cpu) = cpu {
        // SAFETY: between fork and exec only the affinity syscall runs.
        unsafe {
            command.pre_exec(move || pin_to_cpu(cpu));
        }
    }
}

/// As [`start_sandbox`], the sandbox kept on `cpu` when one is given.
pub fn start_sandbox_on(
    users: usize,
    extra: &[&str],
    cpu: Option<usize>,
) -> (SandboxProcess, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rollcall"));
    command
        .args(["sandbox", "--listen", "127.0.0.1:0", "--secret-key", SECRET])
        .args(["--seed-users", &users.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    on_cpu(&mut command, cpu);
    let mut child = command.spawn().expect("start the sandbox binary");
    let stdout = child.stdout.take().expect("sandbox stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("sandbox exited before printing its URL")
            .expect("read sandbox output");
        if let Some(start) = line.find("http://") {
            break line[start..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (SandboxProcess(child), url)
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The console's figures with `users` accounts.
pub struct ConsoleFigures {
    pub count: usize,
    pub first_rows: Duration,
    pub loaded: Duration,
    pub key_med: f64,
    pub key_max: f64,
    /// The slowest keystroke of every round, as typed.
    pub key_raw_max: f64,
    /// The filter as typed up to the slowest keystroke.
    pub slowest_key: String,
    pub keystrokes: usize,
    pub matched: usize,
    pub draw_med: f64,
    pub draw_max: f64,
    pub big_med: f64,
    pub big_max: f64,
    pub sort: Duration,
    pub rss_loaded_mb: f64,
    pub rss_peak_mb: f64,
}

impl ConsoleFigures {
    pub fn print(&self) {
        let f = self;
        println!("accounts loaded                    {}", f.count);
        println!(
            "first rows on screen               {:8.1} ms",
            ms(f.first_rows)
        );
        println!("whole listing loaded               {:8.1} ms", ms(f.loaded));
        println!("filter keystroke median / slowest  {:8.2} / {:.2} ms ({} keystrokes, each its best of 3 rounds; slowest as typed {:.2} ms; slowest at {:?}; last query matched {})", f.key_med, f.key_max, f.keystrokes, f.key_raw_max, f.slowest_key, f.matched);
        println!(
            "frame draw 80x24 median / slowest  {:8.2} / {:.2} ms",
            f.draw_med, f.draw_max
        );
        println!(
            "frame draw 200x60 median / slowest {:8.2} / {:.2} ms",
            f.big_med, f.big_max
        );
        println!("sort by next column                {:8.2} ms", ms(f.sort));
        println!(
            "resident memory, all loaded        {:8.1} MB (peak {:.1} MB)",
            f.rss_loaded_mb, f.rss_peak_mb
        );
    }
}

#[allow(dead_code)]
fn main() {
    let users: usize = std::env::var("ROLLCALL_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let figures = measure(users);
    println!();
    figures.print();
}

/// Loads `users` accounts from a sandbox process into a console App and
/// times what an admin feels. Resident memory is this process's: run it
/// before anything else in the process.
pub fn measure(users: usize) -> ConsoleFigures {
    // As the binary does first thing.
    rollcall::limit_malloc_arenas();
    let seeding = Instant::now();
    let (_sandbox, url) = start_sandbox(users, &[]);
    println!(
        "sandbox with {users} seeded accounts up in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async move {
        let connection = Connection {
            api_path: url,
            credentials: Credentials::Hmac {
                access_id: "administrator".into(),
                secret_key: Secret::new(SECRET),
            },
            read_only: true,
            concurrency: 4,
        };
        let session = session_for(connection).await.expect("connect");
        let ctx = ConsoleContext::from_session(&session);
        let mut app = App::new(ctx);
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        let (worker, mut events) = Worker::spawn(session.client.clone());
        // The console lists one Organization at a time; to measure every
        // seeded account at once, the bench asks the same listing for all
        // Organizations (an Administrator may see them all).
        let started = Instant::now();
        for command in app.start() {
            let command = match command {
                Command::LoadUsers {
                    id,
                    mut query,
                    groups_from_user_groups,
                    ..
                } => {
                    query.owner = None;
                    Command::LoadUsers {
                        id,
                        org: None,
                        query,
                        groups_from_user_groups,
                    }
                }
                other => other,
            };
            worker.send(command);
        }
        let mut first_rows = None;
        let mut injected = 0usize;
        while let Some(event) = events.recv().await {
            match event {
                Event::UsersPage { id, users, total } => {
                    injected += users.len();
                    app.update(Action::Worker(Event::UsersPage { id, users, total }));
                    if first_rows.is_none() {
                        terminal
                            .draw(|f| {
                                draw(&app, f);
                            })
                            .expect("draw");
                        first_rows = Some(started.elapsed());
                    }
                }
                Event::UsersDone { id } => {
                    app.update(Action::Worker(Event::UsersDone { id }));
                    break;
                }
                Event::Failed { error, .. } => panic!("listing failed: {error}"),
                other => {
                    app.update(Action::Worker(other));
                }
            }
        }
        let loaded = started.elapsed();
        let (count, _) = app.counts();
        assert_eq!(count, injected, "every listed account is in the table");
        let rss_loaded = rss_kib("VmRSS:");
        let rss_peak = rss_kib("VmHWM:");

        // Frame draws.
        let timed_draw = |terminal: &mut Terminal<TestBackend>, app: &App| {
            let t = Instant::now();
            terminal
                .draw(|f| {
                    draw(app, f);
                })
                .expect("draw");
            t.elapsed()
        };
        let mut draw_times: Vec<Duration> =
            (0..50).map(|_| timed_draw(&mut terminal, &app)).collect();
        let mut big = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
        let mut big_draws: Vec<Duration> = (0..50).map(|_| timed_draw(&mut big, &app)).collect();

        // Filter keystrokes: a free word, then a structured query, typed
        // three times; each keystroke's best time is its cost (a slower
        // one was this shared machine taking the core away), and the
        // slowest of those is the figure. The slowest of all is printed.
        const ROUNDS: usize = 3;
        let queries = ["/smith", "/status:locked login>90d type:user"];
        let mut rounds: Vec<Vec<Duration>> = Vec::new();
        for _ in 0..ROUNDS {
            let mut keystrokes = Vec::new();
            for query in queries {
                app.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
                for c in query.chars() {
                    let t = Instant::now();
                    app.handle_key(key(c));
                    if c != '/' {
                        keystrokes.push(t.elapsed());
                    }
                }
                draw_times.push(timed_draw(&mut terminal, &app));
            }
            rounds.push(keystrokes);
        }
        let mut keystrokes: Vec<Duration> = (0..rounds[0].len())
            .map(|k| rounds.iter().map(|r| r[k]).min().unwrap_or_default())
            .collect();
        let key_raw_max = rounds.iter().flatten().max().copied().unwrap_or_default();
        // Which keystroke is the slowest: the filter typed up to it.
        let typed: Vec<String> = queries
            .iter()
            .flat_map(|q| (2..=q.len()).map(move |n| q[..n].to_string()))
            .collect();
        let slowest_key = keystrokes
            .iter()
            .enumerate()
            .max_by_key(|(_, t)| **t)
            .and_then(|(i, _)| typed.get(i).cloned())
            .unwrap_or_default();
        let matched = app.counts().1;

        // Sorting by another column and back.
        let t = Instant::now();
        app.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        app.handle_key(key('s'));
        let sort_time = t.elapsed();

        let stats = |v: &mut Vec<Duration>| {
            v.sort();
            (ms(v[v.len() / 2]), ms(*v.last().unwrap()))
        };
        let (draw_med, draw_max) = stats(&mut draw_times);
        let (big_med, big_max) = stats(&mut big_draws);
        let (key_med, key_max) = stats(&mut keystrokes);
        worker.send(Command::Shutdown);
        ConsoleFigures {
            count,
            first_rows: first_rows.unwrap_or_default(),
            loaded,
            key_med,
            key_max,
            key_raw_max: ms(key_raw_max),
            slowest_key,
            keystrokes: keystrokes.len(),
            matched,
            draw_med,
            draw_max,
            big_med,
            big_max,
            sort: sort_time,
            rss_loaded_mb: rss_loaded as f64 / 1024.0,
            rss_peak_mb: rss_peak as f64 / 1024.0,
        }
    })
}

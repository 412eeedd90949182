//! The `rollcall` command line: the console (default), the sandbox server and
//! scriptable user commands.

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use rollcall::api::Connection;
use rollcall::commands::{self, connect::ConnectArgs};
use rollcall::domain::preflight::BulkAction;
use rollcall::ops;
use rollcall::sandbox::{Sandbox, SandboxConfig, SEEDED_ACCESS_IDS};
use std::process::ExitCode;

/// A keyboard-driven console for ThreatConnect user administration.
///
/// With no command, opens the console on the configured instance (a profile
/// of the config file, or TC_API_PATH with TC_API_ACCESS_ID and
/// TC_API_SECRET_KEY, or TC_TOKEN).
#[derive(Parser, Debug)]
#[command(name = "rollcall", version, about, long_about)]
struct Cli {
    /// Start the embedded sandbox on a free loopback port and open the console on it.
    #[arg(long)]
    demo: bool,
    /// With --demo: the seeded admin account to act as.
    #[arg(long = "as", value_name = "ROLE", default_value = "administrator",
          value_parser = clap::builder::PossibleValuesParser::new(SEEDED_ACCESS_IDS))]
    as_role: String,
    /// With --demo: how many accounts to seed.
    #[arg(long, value_name = "N", default_value_t = 300)]
    seed_users: usize,
    /// Enable mouse support in the console.
    #[arg(long)]
    mouse: bool,
    /// Console bulk runs: requests in flight at once (default: the profile's, else 8).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: Option<u16>,
    /// Open the console on a saved view (`:view save NAME` keeps one).
    #[arg(long, value_name = "NAME")]
    view: Option<String>,
    /// Console bulk runs: the journal file (default: journal.jsonl in the data directory).
    #[arg(long, value_name = "PATH", env = commands::offboard::JOURNAL_ENV)]
    journal: Option<std::path::PathBuf>,
    /// Append diagnostics to FILE: each request's method, path, status and
    /// time, retries, bulk runs. Never credentials, headers or bodies.
    /// RUST_LOG sets the level (default: info).
    #[arg(long, value_name = "FILE", env = "ROLLCALL_LOG", global = true)]
    log: Option<std::path::PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the embedded ThreatConnect-compatible sandbox server in the foreground.
    Sandbox(commands::sandbox::SandboxArgs),
    /// Work with user accounts from scripts.
    #[command(subcommand)]
    Users(UsersCommand),
    /// The action journal: every bulk run, or one run's accounts.
    Journal(commands::offboard::JournalArgs),
    /// Put back the state before a bulk run (a disable run is undone by enabling;
    /// an import by deleting what it created and restoring what it changed;
    /// an offboarding run by putting back group memberships and enabling).
    Undo(commands::offboard::UndoArgs),
    /// Offboard people: per account, move what runs as it (rule 8), remove
    /// its group memberships, revoke its API tokens where the instance can,
    /// disable it, and with --delete delete it; journaled step by step, with
    /// a Markdown and CSV report.
    Offboard(commands::offboarding::OffboardArgs),
    /// Finish the steps of an offboarding run that a crash or Ctrl-C left undone.
    Resume(commands::offboarding::ResumeArgs),
    /// Read-only account audit (Markdown, CSV or JSON), or the changes between two JSON audits;
    /// `--check` holds the instance to the config file's [policy] (exit 0, 1 or 2).
    Audit(commands::audit::AuditArgs),
    /// Access reviews: freeze a snapshot for reviewers, apply their decisions, write the record.
    #[command(subcommand)]
    Review(commands::review::ReviewCommand),
    /// Check an evidence bundle (`audit --bundle`, `review report --bundle`):
    /// "intact", or each file that changed (exit 1).
    Verify(commands::verify::VerifyArgs),
    /// Print a shell completion script, e.g. `rollcall completions bash > ~/.local/share/bash-completion/completions/rollcall`.
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or with --out write one page per command into DIR.
    Manpage {
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum UsersCommand {
    /// List every account the caller may see.
    List(commands::users::ListArgs),
    /// Create an account (User, API, Read Only or TAXII).
    Create(commands::admin::CreateArgs),
    /// Change an account's fields.
    Edit(commands::admin::EditArgs),
    /// Delete an account, or with --filter the accounts a filter selects
    /// (reassigning what runs as them).
    Delete(commands::admin::DeleteArgs),
    /// Disable the accounts a filter selects (preflight, confirm, journal).
    Disable(commands::offboard::BulkArgs),
    /// Enable the accounts a filter selects.
    Enable(commands::offboard::BulkArgs),
    /// Unlock the accounts a filter selects.
    Unlock(commands::offboard::BulkArgs),
    /// Require a password reset of the accounts a filter selects.
    ResetPassword(commands::offboard::BulkArgs),
    /// Require an MFA reset of the accounts a filter selects.
    ResetMfa(commands::offboard::BulkArgs),
    /// Write an import CSV's header (the form's --set keys) and a commented example row.
    Template(commands::import::TemplateArgs),
    /// Create and change accounts from a CSV file, matched by userName
    /// (preview, confirm, journal; `rollcall undo RUN_ID` puts it back).
    Import(commands::import::ImportArgs),
}

fn main() -> ExitCode {
    rollcall::limit_malloc_arenas();
    let cli = Cli::parse();
    if let Err(e) = init_logging(cli.log.as_deref(), cli.command.is_none()) {
        eprintln!("rollcall: {e:#}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rollcall: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Bounded: a thread still busy (a blocking read) cannot hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`rollcall users list | head`) is the reader's choice, not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<commands::ExitStatus>().is_some() => {
            ExitCode::from(e.downcast_ref::<commands::ExitStatus>().map_or(1, |s| s.0))
        }
        Err(e) => match e.downcast::<rollcall::tui::Interrupted>() {
            // The console ended on a signal or mid-run: the status says so.
            Ok(interrupted) => {
                if let Some(note) = &interrupted.note {
                    use std::io::Write;
                    // The terminal may be gone (SIGHUP): never panic on stderr.
                    let _ = writeln!(std::io::stderr(), "rollcall: {note}");
                }
                ExitCode::from(interrupted.code)
            }
            Err(e) => {
                // One clear line: the chain of causes, joined. Causes may
                // quote the server (names, messages): nothing of theirs
                // moves the terminal, whichever path built the message.
                let text = format!("{e:#}");
                eprintln!(
                    "rollcall: {}",
                    rollcall::domain::text::sanitize_lines(&text)
                );
                ExitCode::FAILURE
            }
        },
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Sandbox(args)) => commands::sandbox::run(args).await,
        Some(Command::Users(users)) => {
            let ahead = match &users {
                UsersCommand::List(args) => commands::users::listing_ahead(args),
                _ => None,
            };
            let session = connect_ahead(&cli.connect, ahead.as_ref()).await?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match users {
                UsersCommand::List(args) => commands::users::list(&session, &args, &mut out).await,
                UsersCommand::Create(args) => {
                    commands::admin::create(&session, &args, &mut out).await
                }
                UsersCommand::Edit(args) => commands::admin::edit(&session, &args, &mut out).await,
                UsersCommand::Delete(args) if args.filter.is_some() => {
                    let mut confirm = commands::offboard::LinePrompt::stdin();
                    commands::offboard::run_bulk_delete_with(
                        &session,
                        &args,
                        &mut out,
                        &mut confirm,
                    )
                    .await
                }
                UsersCommand::Delete(args) => {
                    commands::admin::delete(&session, &args, &mut out).await
                }
                UsersCommand::Disable(args) => {
                    commands::offboard::run_bulk(&session, BulkAction::Disable, &args, &mut out)
                        .await
                }
                UsersCommand::Enable(args) => {
                    commands::offboard::run_bulk(&session, BulkAction::Enable, &args, &mut out)
                        .await
                }
                UsersCommand::Unlock(args) => {
                    commands::offboard::run_bulk(&session, BulkAction::Unlock, &args, &mut out)
                        .await
                }
                UsersCommand::ResetPassword(args) => {
                    let action = BulkAction::ResetPassword;
                    commands::offboard::run_bulk(&session, action, &args, &mut out).await
                }
                UsersCommand::Template(args) => {
                    commands::import::template(&session, &args, &mut out)
                }
                UsersCommand::Import(args) => {
                    commands::import::run(&session, &args, &mut out).await
                }
                UsersCommand::ResetMfa(args) => {
                    commands::offboard::run_bulk(&session, BulkAction::ResetMfa, &args, &mut out)
                        .await
                }
            }
        }
        Some(Command::Journal(args)) => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            commands::offboard::journal(&args, &mut out)
        }
        Some(Command::Undo(args)) => {
            let session = connect_scripted(&cli.connect).await?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            commands::undo::undo(&session, &args, &mut out).await
        }
        Some(Command::Offboard(args)) => {
            let session = connect_scripted(&cli.connect).await?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            commands::offboarding::offboard(&session, &args, &mut out).await
        }
        Some(Command::Resume(args)) => {
            let session = connect_scripted(&cli.connect).await?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            commands::offboarding::resume(&session, &args, &mut out).await
        }
        Some(Command::Completions { shell }) => {
            let mut command = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command, "rollcall", &mut out);
            write_stdout(&out)
        }
        Some(Command::Manpage { out: Some(dir) }) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("cannot write the manual pages into {}", dir.display()))
        }
        Some(Command::Manpage { out: None }) => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            write_stdout(&out)
        }
        Some(Command::Audit(mut args)) if args.check => {
            // Whatever stops the check is exit 2, said in one line.
            let code = match audit_check(&cli.connect, &mut args).await {
                Ok(code) => code,
                Err(e) => {
                    eprintln!(
                        "rollcall: cannot check: {}",
                        rollcall::domain::text::sanitize_lines(&format!("{e:#}"))
                    );
                    2
                }
            };
            exit_with(code)
        }
        Some(Command::Verify(args)) => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let code = commands::verify::run(&args, &mut out)?;
            exit_with(code)
        }
        Some(Command::Review(review)) => {
            let stdout = std::io::stdout();
            match review {
                commands::review::ReviewCommand::Start(args) => {
                    let policy = commands::policy_of(&cli.connect)?;
                    // A review's start only reads.
                    let mut connect = cli.connect.clone();
                    connect.read_only = true;
                    let session = connect_scripted(&connect).await?;
                    commands::review::start(&session, &args, policy, &mut stdout.lock()).await
                }
                commands::review::ReviewCommand::Apply(args) => {
                    // The sheets first: their problems need no connection.
                    commands::review::read_decisions(&args.dir, &mut stdout.lock())?;
                    let session = connect_scripted(&cli.connect).await?;
                    let mut confirm = commands::offboard::LinePrompt::stdin();
                    commands::review::apply(&session, &args, &mut stdout.lock(), &mut confirm).await
                }
                commands::review::ReviewCommand::Report(args) => {
                    commands::review::report(&args, &mut stdout.lock())
                }
            }
        }
        Some(Command::Audit(mut args)) => {
            if args.diff.is_none() {
                args.policy = commands::policy_of(&cli.connect)?;
            }
            // An audit only reads: the connection is read-only whatever the
            // profile says, and --diff contacts no instance at all.
            let session = if args.diff.is_some() {
                None
            } else {
                let mut connect = cli.connect.clone();
                connect.read_only = true;
                Some(connect_recorded(&connect, args.bundle.is_some()).await?)
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            commands::audit::run(session.as_ref(), &args, &mut out).await
        }
        None if cli.demo => demo(&cli).await,
        None => {
            // The console opens on its home Organization's accounts; with
            // the last run's hint their pages go out with the opening's
            // first requests. A saved view may open elsewhere: nothing then.
            let ahead = cli
                .view
                .is_none()
                .then(ops::ahead::ListingAhead::home_organization);
            let session =
                commands::connect::connect_ahead(&cli.connect, false, ahead.as_ref()).await?;
            let result = console(&session, &cli).await;
            if let Some(ahead) = &ahead {
                session.remember_listing(ahead);
            }
            result
        }
    }
}

/// `audit --check`: the policy, a read-only session, the check.
async fn audit_check(
    connect: &ConnectArgs,
    args: &mut commands::audit::AuditArgs,
) -> anyhow::Result<u8> {
    args.policy = commands::policy_of(connect)?;
    let mut connect = connect.clone();
    connect.read_only = true;
    let session = connect_recorded(&connect, args.bundle.is_some()).await?;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    commands::audit::check(&session, args, &mut stdout.lock(), &mut stderr.lock()).await
}

/// Ok for 0, else the status alone.
fn exit_with(code: u8) -> anyhow::Result<()> {
    match code {
        0 => Ok(()),
        code => Err(commands::ExitStatus(code).into()),
    }
}

/// A session for a scripted command; the session's warnings (TLS checks
/// off, `/api` added, plain http://) go to stderr once, before any output.
async fn connect_scripted(args: &ConnectArgs) -> anyhow::Result<ops::session::Session> {
    connect_recorded(args, false).await
}

/// As [`connect_scripted`], for a command that lists `ahead` right after.
async fn connect_ahead(
    args: &ConnectArgs,
    ahead: Option<&ops::ahead::ListingAhead>,
) -> anyhow::Result<ops::session::Session> {
    let session = commands::connect::connect_ahead(args, false, ahead).await?;
    told_on_connecting(&session);
    Ok(session)
}

/// As [`connect_scripted`]; with `record`, every request is recorded from
/// the first (for an evidence bundle's manifest).
async fn connect_recorded(
    args: &ConnectArgs,
    record: bool,
) -> anyhow::Result<ops::session::Session> {
    let session = commands::connect::connect_with(args, record).await?;
    told_on_connecting(&session);
    Ok(session)
}

/// What a scripted command's admin hears once connected.
fn told_on_connecting(session: &ops::session::Session) {
    for notice in session.client.notices() {
        eprintln!("rollcall: warning: {notice}");
    }
    if let Some(note) = session.actor.undecided_note() {
        eprintln!(
            "rollcall: note: {}",
            rollcall::domain::text::sanitize(&note)
        );
    }
}

/// The console on a fresh embedded sandbox, as one of its seeded admins.
async fn demo(cli: &Cli) -> anyhow::Result<()> {
    let secret = random_secret();
    let sandbox = Sandbox::start(SandboxConfig::loopback(cli.seed_users, &secret))
        .await
        .context("starting the embedded sandbox")?;
    let connection = Connection {
        read_only: cli.connect.read_only,
        ..sandbox.connection(&cli.as_role)
    };
    let session = ops::session::session_for(connection).await?;
    let result = console(&session, cli).await;
    sandbox.shutdown().await;
    result
}

async fn console(session: &ops::session::Session, cli: &Cli) -> anyhow::Result<()> {
    let ctx = rollcall::tui::ConsoleContext::from_session(session);
    let concurrency =
        commands::offboard::effective_concurrency(session, cli.concurrency.map(usize::from));
    let opts = rollcall::tui::ConsoleOptions {
        mouse: cli.mouse,
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        journal: cli.journal.clone(),
        concurrency: Some(concurrency),
        // Columns and views live in the config file (`[console]`), the
        // same one the connection reads.
        config_path: cli
            .connect
            .config
            .clone()
            .or_else(rollcall::config::default_config_path),
        view: cli.view.clone(),
    };
    rollcall::tui::run(session.client.clone(), ctx, opts).await
}

/// Generated text to stdout in one write; a closed pipe ends it quietly (see `main`).
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

/// Where diagnostics go. With `--log FILE`: appended there, at RUST_LOG's
/// level (default info). Without it: nowhere, unless RUST_LOG is set and a
/// scripted command runs, then stderr; the console owns the screen, so it
/// logs only to a file. Only rollcall's own records are kept: the HTTP and
/// TLS libraries' (which may carry headers or bodies) never reach the log.
fn init_logging(log: Option<&std::path::Path>, console: bool) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|value| !value.trim().is_empty());
    if log.is_none() && (rust_log.is_none() || console) {
        return Ok(());
    }
    let level = match &rust_log {
        Some(directives) => tracing_subscriber::EnvFilter::try_new(directives)
            .with_context(|| format!("RUST_LOG={directives} is not a log filter"))?,
        None => tracing_subscriber::EnvFilter::new("rollcall=info"),
    };
    let only_ours =
        tracing_subscriber::filter::filter_fn(|meta| meta.target().starts_with("rollcall"));
    let registry = tracing_subscriber::registry().with(level).with(only_ours);
    let initialized = match log {
        Some(path) => {
            let file = open_log(path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file));
            registry.with(layer).try_init()
        }
        None => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
    initialized.context("cannot start logging")
}

/// The log file, appended to; a new one is readable by its owner only on
/// Unix (it names the instance and the paths of accounts).
fn open_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// A write to a reader that went away, however the writer wrapped it: the
/// csv and JSON writers' errors do not name their I/O error as a source.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io.kind() == BrokenPipe;
        }
        if let Some(csv) = cause.downcast_ref::<csv::Error>() {
            return matches!(csv.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe);
        }
        cause
            .downcast_ref::<serde_json::Error>()
            .is_some_and(|json| json.io_error_kind() == Some(BrokenPipe))
    })
}

fn random_secret() -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

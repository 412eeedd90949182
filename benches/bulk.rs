//! A bulk disable of 1,000 accounts against the embedded sandbox on
//! loopback, at concurrency 1, 8 and 32, with and without the journal
//! (whose two fsyncs per account are the price of crash safety).
//!
//! Run with `cargo bench --bench bulk`.

use rollcall::api::auth::Credentials;
use rollcall::api::{Connection, Secret, UserQuery};
use rollcall::bulk::{self, Cancel, Reassign, RunMeta, RunPlan};
use rollcall::commands::offboard::{assess, execute_run, RunOptions};
use rollcall::domain::preflight::BulkAction;
use rollcall::ops::session::session_for;
use rollcall::sandbox::{Sandbox, SandboxConfig};
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 1000;
const SECRET: &str = "bench-secret";

/// One run on a fresh sandbox: (wall time, accounts changed).
async fn one_run(concurrency: usize, journalled: bool) -> anyhow::Result<(Duration, usize)> {
    // Enough seeded accounts that 1,000 are enabled and may be disabled.
    let sandbox = Sandbox::start(SandboxConfig::loopback(1200, SECRET)).await?;
    let session = session_for(Connection {
        api_path: sandbox.base_url(),
        credentials: Credentials::Hmac {
            access_id: "administrator".into(),
            secret_key: Secret::new(SECRET),
        },
        read_only: false,
        concurrency: 4,
    })
    .await?;
    let users = session.client.list_users(&UserQuery::default()).await?;
    let mut selection = assess(&session, BulkAction::Disable, users);
    anyhow::ensure!(
        selection.preflight.will_change.len() >= ACCOUNTS,
        "only {} accounts to change",
        selection.preflight.will_change.len()
    );
    selection.preflight.will_change.truncate(ACCOUNTS);
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let results = if journalled {
        let options = RunOptions {
            run_id: RunMeta::new_run_id(),
            concurrency,
            filter: None,
            org: None,
            undo_of: None,
            review: None,
            reassign: Default::default(),
        };
        execute_run(
            &session,
            &dir.path().join("journal.jsonl"),
            &selection,
            &options,
            &Cancel::default(),
            &mut |_| {},
        )
        .await?
        .results
    } else {
        let plan = RunPlan {
            meta: RunMeta {
                run_id: RunMeta::new_run_id(),
                instance: session.instance.clone(),
                actor: session.actor.user_name.clone(),
            },
            action: BulkAction::Disable,
            reassign: Reassign::default(),
            concurrency,
        };
        bulk::execute(
            &session.client,
            None,
            &plan,
            &selection.targets(),
            &Cancel::default(),
            &mut |_| {},
        )
        .await
    };
    let elapsed = started.elapsed();
    let ok = results
        .iter()
        .filter(|r| r.outcome == bulk::RowOutcome::Ok)
        .count();
    sandbox.shutdown().await;
    Ok((elapsed, ok))
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!("bulk disable of {ACCOUNTS} accounts, sandbox on loopback (fresh per run)");
    println!(
        "{:>11}  {:>8}  {:>10}  {:>10}",
        "concurrency", "journal", "wall (s)", "requests/s"
    );
    for concurrency in [1usize, 8, 32] {
        for journalled in [true, false] {
            let (elapsed, ok) = runtime.block_on(one_run(concurrency, journalled))?;
            anyhow::ensure!(ok == ACCOUNTS, "{ok} of {ACCOUNTS} succeeded");
            println!(
                "{:>11}  {:>8}  {:>10.2}  {:>10.0}",
                concurrency,
                if journalled { "fsync" } else { "off" },
                elapsed.as_secs_f64(),
                ok as f64 / elapsed.as_secs_f64()
            );
        }
    }
    Ok(())
}

//! `rollcall sandbox`: runs the embedded ThreatConnect-compatible server in
//! the foreground until Ctrl-C or SIGTERM.

use crate::sandbox::{Faults, Sandbox, SandboxConfig, SEEDED_ACCESS_IDS};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SandboxArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Keep the data in this SQLite file (reused when it exists) instead of memory.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// How many generated accounts to seed.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub seed_users: usize,
    /// Secret key of the seeded API actors; random and printed when absent.
    #[arg(long, value_name = "KEY")]
    pub secret_key: Option<String>,
    /// Behave like a plain ThreatConnect instance: serve only what its v3
    /// documentation describes (no rollcall extension paths, fields, TQL
    /// keywords or body fields; systemRole not updatable; group membership
    /// only through userGroups?fields=users).
    #[arg(long)]
    pub plain: bool,
    /// Leave lastLogin out of every user object (as the documentation's own
    /// examples do), to try how a client copes with unknown last logins.
    #[arg(long)]
    pub omit_last_login: bool,
    /// Serve HTTPS: generate a CA (DIR/ca.pem) and a certificate for
    /// 127.0.0.1, ::1 and localhost into DIR (replacing earlier ones).
    #[arg(long, value_name = "DIR")]
    pub tls: Option<PathBuf>,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// A slow or unreliable instance, for measuring and reliability tests.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FaultArgs {
    /// Delay every answer by this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,
    /// Answer this share of requests (0 to 1) with 500, without acting.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = rate)]
    pub fail_rate: f64,
    /// Drop the connection on this share of requests (0 to 1), without acting.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = rate)]
    pub drop_rate: f64,
    /// Answer 429 with Retry-After beyond N requests per second.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rate_limit: u32,
    /// Apply this share of writes (0 to 1), then drop the connection before
    /// answering, so the client cannot know the change landed.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = rate)]
    pub lost_answer_rate: f64,
}

impl FaultArgs {
    pub fn faults(&self) -> Faults {
        Faults {
            latency: std::time::Duration::from_millis(self.latency),
            error_rate: self.fail_rate,
            drop_rate: self.drop_rate,
            rate_limit_per_second: self.rate_limit,
            lost_answer_rate: self.lost_answer_rate,
            // A different draw each run: the faults land on other requests.
            seed: rand::random(),
            ..Default::default()
        }
    }

    /// What the banner says about the faults in force, if any.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.latency > 0 {
            parts.push(format!("{} ms latency", self.latency));
        }
        if self.fail_rate > 0.0 {
            parts.push(format!("fail rate {}", self.fail_rate));
        }
        if self.drop_rate > 0.0 {
            parts.push(format!("drop rate {}", self.drop_rate));
        }
        if self.rate_limit > 0 {
            parts.push(format!("rate limit {}/s", self.rate_limit));
        }
        if self.lost_answer_rate > 0.0 {
            parts.push(format!(
                "{} of writes applied, then their answer is lost",
                self.lost_answer_rate
            ));
        }
        (!parts.is_empty()).then(|| format!("faults: {}", parts.join(", ")))
    }
}

/// A share between 0 and 1.
fn rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "'{text}' is not a share between 0 and 1 (e.g. 0.05)"
        )),
    }
}

fn random_key() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| {
            let n = rng.gen_range(0..36u8);
            (if n < 10 { b'0' + n } else { b'a' + n - 10 }) as char
        })
        .collect()
}

/// What `run` prints once the server listens.
pub fn banner(base_url: &str, secret_key: &str, generated: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!("rollcall sandbox listening at {base_url}\n"));
    out.push_str(&format!("access IDs: {}\n", SEEDED_ACCESS_IDS.join(", ")));
    if generated {
        out.push_str(&format!("secret key (generated): {secret_key}\n"));
    }
    // A key given on the command line is not echoed back.
    let shown_key = if generated {
        secret_key
    } else {
        "<your --secret-key>"
    };
    out.push_str("use it with:\n");
    out.push_str(&format!(
        "  TC_API_PATH={base_url} TC_API_ACCESS_ID=administrator TC_API_SECRET_KEY={shown_key}\n"
    ));
    out.push_str("stop with Ctrl-C\n");
    out
}

/// How to trust the generated CA, printed after the banner.
pub fn tls_banner(ca: &std::path::Path) -> String {
    format!(
        "serving HTTPS; the CA to trust is {0}:\n  ca_file = \"{0}\" in the profile, or SSL_CERT_FILE={0}\n",
        ca.display()
    )
}

pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    crate::sandbox::keep_freed_memory();
    let generated = args.secret_key.is_none();
    let secret_key = args.secret_key.unwrap_or_else(random_key);
    let mut cfg = SandboxConfig::loopback(args.seed_users, &secret_key);
    cfg.listen = args.listen;
    cfg.db = args.db;
    cfg.plain = args.plain;
    cfg.omit_last_login = args.omit_last_login;
    cfg.tls = args.tls;
    let sandbox = Sandbox::start(cfg).await?;
    sandbox.set_faults(args.faults.faults());
    let mut text = banner(&sandbox.base_url(), &secret_key, generated);
    if let Some(ca) = sandbox.ca_file() {
        text.push_str(&tls_banner(ca));
    }
    if args.plain {
        text.push_str("plain mode: no rollcall extensions are served\n");
    }
    if args.omit_last_login {
        text.push_str("lastLogin is left out of every answer\n");
    }
    if let Some(faults) = args.faults.describe() {
        text.push_str(&faults);
        text.push('\n');
    }
    // A reader that went away (`rollcall sandbox | head -3`) does not stop
    // the server: the banner is best effort.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }
    wait_for_stop().await?;
    sandbox.shutdown().await;
    let _ = std::io::Write::write_all(&mut std::io::stderr(), b"rollcall sandbox stopped\n");
    Ok(())
}

#[cfg(unix)]
async fn wait_for_stop() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_stop() -> anyhow::Result<()> {
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_shows_env_lines_and_key_only_when_generated() {
        let b = banner("http://127.0.0.1:5/api", "k3y", true);
        assert!(b.contains("TC_API_PATH=http://127.0.0.1:5/api TC_API_ACCESS_ID=administrator TC_API_SECRET_KEY=k3y"));
        assert!(b.contains("secret key (generated): k3y"));
        assert!(b.contains("read-only"));
        let given = banner("http://x/api", "k3y", false);
        assert!(!given.contains("k3y"));
        assert!(given.contains("TC_API_SECRET_KEY=<your --secret-key>"));
        assert_eq!(random_key().len(), 32);
        let tls = tls_banner(std::path::Path::new("/tmp/t/ca.pem"));
        assert!(tls.contains("ca_file = \"/tmp/t/ca.pem\""));
        assert!(tls.contains("SSL_CERT_FILE=/tmp/t/ca.pem"));
    }

    #[test]
    fn fault_flags_parse_and_reach_the_faults() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            faults: FaultArgs,
        }
        let cli = Cli::try_parse_from([
            "x",
            "--latency",
            "300",
            "--fail-rate",
            "0.1",
            "--drop-rate",
            "0.05",
            "--rate-limit",
            "20",
        ])
        .unwrap();
        let faults = cli.faults.faults();
        assert_eq!(faults.latency, std::time::Duration::from_millis(300));
        assert_eq!((faults.error_rate, faults.drop_rate), (0.1, 0.05));
        assert_eq!(faults.rate_limit_per_second, 20);
        assert_eq!(
            cli.faults.describe().unwrap(),
            "faults: 300 ms latency, fail rate 0.1, drop rate 0.05, rate limit 20/s"
        );
        assert!(Cli::try_parse_from(["x", "--fail-rate", "1.5"]).is_err());
        assert!(Cli::try_parse_from(["x"])
            .unwrap()
            .faults
            .describe()
            .is_none());
    }

    #[tokio::test]
    async fn run_refuses_a_non_loopback_address() {
        let args = SandboxArgs {
            listen: "0.0.0.0:0".parse().unwrap(),
            db: None,
            seed_users: 1,
            secret_key: Some("k".into()),
            plain: true,
            omit_last_login: true,
            tls: None,
            faults: FaultArgs::default(),
        };
        let err = run(args).await.unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
    }
}

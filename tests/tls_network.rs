//! TLS, proxies and odd answers over real connections: the sandbox serving
//! HTTPS with a generated CA (`SandboxConfig::with_tls`), the real binary
//! run as a subprocess (so `SSL_CERT_FILE`, `TC_VERIFY` and `TC_PROXY_*`
//! never leak into other tests), and a small loopback proxy that records
//! what it is asked to carry.

use rollcall::api::{ApiError, Client, ClientOptions};
use rollcall::commands::offboard::{run_bulk_with, BulkArgs, LinePrompt};
use rollcall::domain::preflight::BulkAction;
use rollcall::journal as jl;
use rollcall::ops::session::session_with_options;
use rollcall::sandbox::{Sandbox, SandboxConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &str = "tls-secret";

async fn https_sandbox(dir: &Path) -> Sandbox {
    Sandbox::start(SandboxConfig::loopback(20, SECRET).with_tls(dir.join("tls")))
        .await
        .expect("the HTTPS sandbox starts")
}

async fn http_sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::loopback(20, SECRET))
        .await
        .expect("the sandbox starts")
}

/// What a run of the binary left behind.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }
}

/// Every variable that could steer the binary's connection, removed so the
/// test's own environment cannot.
const STEERING: &[&str] = &[
    "TC_API_PATH",
    "TC_API_ACCESS_ID",
    "TC_API_SECRET_KEY",
    "TC_TOKEN",
    "TC_VERIFY",
    "TC_PROXY_HOST",
    "TC_PROXY_PORT",
    "TC_PROXY_USERNAME",
    "TC_PROXY_PASSWORD",
    "TC_PROXY_TC",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "ROLLCALL_JOURNAL",
];

/// Runs the real binary with `args` and exactly the connection variables
/// in `env`.
async fn rollcall(home: &Path, args: &[&str], env: &[(&str, String)]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollcall"));
    command.args(args);
    for key in STEERING {
        command.env_remove(key);
    }
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the binary finishes within a minute")
        .expect("the binary runs");
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A config file with profile `p` on `sb`, plus `extra` keys.
fn profile(dir: &Path, sb: &Sandbox, extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[profiles.p]\napi_path = \"{}\"\naccess_id = \"administrator\"\nsecret_key = \"{SECRET}\"\n{extra}\n",
        sb.base_url()
    );
    std::fs::write(&path, text).unwrap();
    // It holds a secret_key: private, as rollcall asks (else it warns).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// `users list` on profile `p` of `config`.
async fn list_with(home: &Path, config: &Path, env: &[(&str, String)]) -> Run {
    let config = config.to_str().unwrap();
    rollcall(
        home,
        &["--config", config, "--profile", "p", "users", "list"],
        env,
    )
    .await
}

/// The sandbox through the environment profile (`TC_API_PATH` ...), plus `more`.
fn env_profile(sb: &Sandbox, more: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("TC_API_PATH", sb.base_url()),
        ("TC_API_ACCESS_ID", "administrator".to_string()),
        ("TC_API_SECRET_KEY", SECRET.to_string()),
    ];
    env.extend(more.iter().cloned());
    env
}

fn listed(run: &Run) -> bool {
    run.ok && run.stdout.contains("administrator")
}

#[tokio::test]
async fn without_the_ca_the_certificate_is_refused_in_one_line_naming_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let sb = https_sandbox(dir.path()).await;
    assert!(sb.base_url().starts_with("https://127.0.0.1:"));
    let port = sb.addr().port();

    let client = Client::new(sb.connection("administrator")).unwrap();
    let err = client.whoami().await.unwrap_err();
    assert!(matches!(err, ApiError::Transport(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "TLS: the certificate of 127.0.0.1:{port} is not trusted (unknown issuer); add your CA with ca_file = PATH in the profile, or set SSL_CERT_FILE"
        )
    );
    assert_eq!(
        sb.requests().total(),
        0,
        "no request got through, none retried"
    );

    let config = profile(dir.path(), &sb, "");
    let run = list_with(dir.path(), &config, &[]).await;
    assert!(!run.ok);
    assert_eq!(
        run.stderr_lines(),
        [format!("rollcall: {err}")],
        "one line, no TLS error chain"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn ca_file_in_the_profile_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let sb = https_sandbox(dir.path()).await;
    let ca = sb.ca_file().unwrap().to_path_buf();
    assert_eq!(ca, dir.path().join("tls").join("ca.pem"));

    let config = profile(dir.path(), &sb, &format!("ca_file = {:?}", ca));
    let run = list_with(dir.path(), &config, &[]).await;
    assert!(listed(&run), "{}", run.stderr);
    assert!(run.stderr.is_empty(), "no warning: {}", run.stderr);

    // a relative ca_file is found beside the config file
    let config = profile(dir.path(), &sb, "ca_file = \"tls/ca.pem\"");
    assert!(listed(&list_with(dir.path(), &config, &[]).await));

    // in-process: the same trust through ClientOptions
    let session = session_with_options(sb.connection("administrator"), sb.client_options())
        .await
        .unwrap();
    assert_eq!(session.actor.user_name, "administrator");
    sb.shutdown().await;
}

#[tokio::test]
async fn ssl_cert_file_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let sb = https_sandbox(dir.path()).await;
    let ca = sb.ca_file().unwrap().display().to_string();
    let run = rollcall(
        dir.path(),
        &["users", "list"],
        &env_profile(&sb, &[("SSL_CERT_FILE", ca)]),
    )
    .await;
    assert!(listed(&run), "{}", run.stderr);
    sb.shutdown().await;
}

#[tokio::test]
async fn verify_tls_false_connects_and_warns_on_every_start() {
    let dir = tempfile::tempdir().unwrap();
    let sb = https_sandbox(dir.path()).await;
    let config = profile(dir.path(), &sb, "verify_tls = false");
    for _ in 0..2 {
        let run = list_with(dir.path(), &config, &[]).await;
        assert!(listed(&run), "{}", run.stderr);
        assert_eq!(
            run.stderr_lines(),
            ["rollcall: warning: TLS certificate checks are OFF (profile 'p': verify_tls = false), for labs only: anyone on the way to 127.0.0.1 can read and change this session"]
        );
    }
    // tcex's TC_VERIFY does the same, and says it was TC_VERIFY
    let run = rollcall(
        dir.path(),
        &["users", "list"],
        &env_profile(&sb, &[("TC_VERIFY", "false".into())]),
    )
    .await;
    assert!(listed(&run), "{}", run.stderr);
    assert_eq!(run.stderr_lines().len(), 1);
    assert!(run
        .stderr
        .contains("TLS certificate checks are OFF (TC_VERIFY=false)"));
    sb.shutdown().await;
}

#[tokio::test]
async fn a_bad_ca_file_is_one_line_and_a_failed_exit() {
    let dir = tempfile::tempdir().unwrap();
    let sb = https_sandbox(dir.path()).await;
    std::fs::write(
        dir.path().join("garbage.pem"),
        "this is not a certificate\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.pem"),
        "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let cases = [
        ("absent.pem", "cannot read it"),
        ("garbage.pem", "holds no PEM certificate"),
        ("broken.pem", "not a PEM certificate file"),
    ];
    for (file, words) in cases {
        let path = dir.path().join(file);
        let config = profile(dir.path(), &sb, &format!("ca_file = {:?}", path));
        let run = list_with(dir.path(), &config, &[]).await;
        assert!(!run.ok, "{file}");
        let lines = run.stderr_lines();
        assert_eq!(lines.len(), 1, "{file}: {}", run.stderr);
        assert!(
            lines[0].starts_with(&format!(
                "rollcall: profile 'p': ca_file {}",
                path.display()
            )) && lines[0].contains(words),
            "{}",
            lines[0]
        );
    }
    assert_eq!(
        sb.requests().total(),
        0,
        "nothing is sent with a bad CA file"
    );
    sb.shutdown().await;
}

/// Per connection: its first request line and `Proxy-Authorization`.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A loopback HTTP proxy: CONNECT tunnels and absolute-form forwarding,
/// recording the first request line and `Proxy-Authorization` of each
/// connection.
struct TestProxy {
    addr: SocketAddr,
    seen: Seen,
}

impl TestProxy {
    async fn start() -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(carry(stream, Arc::clone(&record)));
            }
        });
        TestProxy { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<(String, Option<String>)> {
        self.seen.lock().unwrap().clone()
    }
}

async fn carry(mut client: TcpStream, seen: Seen) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let first = text.lines().next().unwrap_or("").to_string();
    let auth = text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_string())
    });
    seen.lock().unwrap().push((first.clone(), auth));
    let mut parts = first.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let upstream_addr = if method == "CONNECT" {
        target.to_string()
    } else {
        let url = url::Url::parse(target).unwrap();
        format!(
            "{}:{}",
            url.host_str().unwrap(),
            url.port_or_known_default().unwrap()
        )
    };
    let Ok(mut upstream) = TcpStream::connect(upstream_addr).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    if method == "CONNECT" {
        let _ = client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await;
        let _ = upstream.write_all(&head[end..]).await;
    } else {
        // hyper accepts absolute-form targets: the bytes go on untouched.
        let _ = upstream.write_all(&head).await;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn the_profile_proxy_and_tc_proxy_variables_reach_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let sb = http_sandbox().await;
    let profile_proxy = TestProxy::start().await;
    let tc_proxy = TestProxy::start().await;
    let tc_env = |extra: &[(&'static str, String)]| {
        let mut env = vec![
            ("TC_PROXY_HOST", "127.0.0.1".to_string()),
            ("TC_PROXY_PORT", tc_proxy.addr.port().to_string()),
            ("TC_PROXY_USERNAME", "tcuser".to_string()),
            ("TC_PROXY_PASSWORD", "tc-pass".to_string()),
        ];
        env.extend(extra.iter().cloned());
        env
    };

    // the profile's proxy (with credentials in the URL) wins over TC_PROXY_*
    let with_user = profile_proxy
        .url()
        .replace("http://", "http://alice:s3cret@");
    let config = profile(dir.path(), &sb, &format!("proxy = {with_user:?}"));
    let run = list_with(dir.path(), &config, &tc_env(&[])).await;
    assert!(listed(&run), "{}", run.stderr);
    let seen = profile_proxy.seen();
    assert!(!seen.is_empty());
    // whoami, the three OPTIONS and the accounts' count go out together
    // (with a listing's pages, when an earlier run left a hint), over one
    // connection or several, in any order: the first request seen is one
    // of them, and every request carries the proxy's login.
    let opening = |line: &str| {
        line.starts_with(&format!("GET {}/v3/security/users?", sb.base_url()))
            || [
                format!("GET {}/v2/whoami HTTP/1.1", sb.base_url()),
                format!(
                    "OPTIONS {}/v3/security/users?show=readonly HTTP/1.1",
                    sb.base_url()
                ),
                format!(
                    "OPTIONS {}/v3/security/users/fields HTTP/1.1",
                    sb.base_url()
                ),
                format!("OPTIONS {}/v3/security/users/tql HTTP/1.1", sb.base_url()),
            ]
            .iter()
            .any(|l| l == line)
    };
    assert!(opening(&seen[0].0), "{seen:?}");
    assert!(
        seen.iter()
            .all(|(_, auth)| *auth == Some(basic("alice", "s3cret"))),
        "{seen:?}"
    );
    assert!(tc_proxy.seen().is_empty());

    // TC_PROXY_* when the profile has no proxy
    let config = profile(dir.path(), &sb, "");
    let run = list_with(dir.path(), &config, &tc_env(&[])).await;
    assert!(listed(&run), "{}", run.stderr);
    let seen = tc_proxy.seen();
    assert!(!seen.is_empty() && opening(&seen[0].0), "{seen:?}");
    assert!(
        seen.iter()
            .all(|(_, auth)| *auth == Some(basic("tcuser", "tc-pass"))),
        "{seen:?}"
    );

    // NO_PROXY still sends the listed hosts around an explicit proxy
    let before = (profile_proxy.seen().len(), tc_proxy.seen().len());
    let run = list_with(
        dir.path(),
        &config,
        &tc_env(&[("NO_PROXY", "localhost,127.0.0.1".into())]),
    )
    .await;
    assert!(listed(&run), "{}", run.stderr);
    assert_eq!((profile_proxy.seen().len(), tc_proxy.seen().len()), before);
    sb.shutdown().await;
}

#[tokio::test]
async fn https_through_a_proxy_tunnels_and_https_proxy_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let sb = https_sandbox(dir.path()).await;
    let ca = sb.ca_file().unwrap().display().to_string();
    let proxy = TestProxy::start().await;
    let tunnel = format!("CONNECT {} HTTP/1.1", sb.addr());

    // the standard HTTPS_PROXY, with no proxy in the profile
    let run = rollcall(
        dir.path(),
        &["users", "list"],
        &env_profile(
            &sb,
            &[("SSL_CERT_FILE", ca.clone()), ("HTTPS_PROXY", proxy.url())],
        ),
    )
    .await;
    assert!(listed(&run), "{}", run.stderr);
    assert!(
        proxy.seen().iter().any(|(line, _)| *line == tunnel),
        "{:?}",
        proxy.seen()
    );

    // the profile's proxy tunnels HTTPS too, credentials on the CONNECT
    let count = proxy.seen().len();
    let with_user = proxy.url().replace("http://", "http://bob:tunnel-pw@");
    let config = profile(
        dir.path(),
        &sb,
        &format!("ca_file = {ca:?}\nproxy = {with_user:?}"),
    );
    let run = list_with(dir.path(), &config, &[]).await;
    assert!(listed(&run), "{}", run.stderr);
    let seen = proxy.seen();
    assert!(seen.len() > count);
    assert_eq!(seen[count], (tunnel, Some(basic("bob", "tunnel-pw"))));
    sb.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_proxy_is_one_line_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let sb = http_sandbox().await;
    // a port nothing listens on
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = profile(
        dir.path(),
        &sb,
        &format!("proxy = \"http://carol:do-not-print@127.0.0.1:{port}\""),
    );
    let run = list_with(dir.path(), &config, &[]).await;
    assert!(!run.ok);
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].starts_with(&format!(
            "rollcall: cannot reach {}/v2/whoami through the proxy http://carol:***@127.0.0.1:{port} (from profile 'p': proxy): the proxy is unreachable",
            sb.base_url()
        )),
        "{}",
        lines[0]
    );
    assert!(!run.stderr.contains("do-not-print"));
    assert_eq!(sb.requests().total(), 0);
    sb.shutdown().await;
}

/// A server that answers every connection with `answer` and hangs up.
async fn canned(answer: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://{addr}/api")
}

#[tokio::test]
async fn html_pages_and_truncated_answers_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let html = canned(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 55\r\nConnection: close\r\n\r\n<!DOCTYPE html><html><body>Please sign in</body></html>",
    )
    .await;
    let truncated = canned(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\nConnection: close\r\n\r\n{\"status\":\"Success\",\"data\":{\"user\":",
    )
    .await;
    let cut_json = canned(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 35\r\nConnection: close\r\n\r\n{\"status\":\"Success\",\"data\":{\"user\":",
    )
    .await;
    let cases = [
        (html, "the server answered with an HTML page, not JSON"),
        (truncated, "the answer was cut off"),
        (cut_json, "the answer ends early: truncated JSON"),
    ];
    for (base, words) in cases {
        let run = rollcall(
            dir.path(),
            &["users", "list"],
            &[("TC_API_PATH", base.clone()), ("TC_TOKEN", "t".to_string())],
        )
        .await;
        assert!(!run.ok, "{base}");
        let lines = run.stderr_lines();
        assert_eq!(lines.len(), 1, "{base}: {}", run.stderr);
        assert!(lines[0].contains(words), "{}", lines[0]);
        assert!(!lines[0].contains("panicked"));
    }
}

#[tokio::test]
async fn writes_ask_for_the_activity_log_unless_the_profile_says_no_and_the_journal_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let sb = https_sandbox(dir.path()).await;
    let journal = dir.path().join("journal.jsonl");
    let args = |filter: &str| BulkArgs {
        filter: filter.into(),
        yes: true,
        journal: Some(journal.clone()),
        ..Default::default()
    };
    let mut prompt = LinePrompt {
        input: &b""[..],
        interactive: false,
    };

    let logged = session_with_options(sb.connection("administrator"), sb.client_options())
        .await
        .unwrap();
    let puts = sb.requests().put;
    let mut out = Vec::new();
    run_bulk_with(
        &logged,
        BulkAction::Disable,
        &args("type:readonly"),
        &mut out,
        &mut prompt,
    )
    .await
    .unwrap();
    let changed = sb.requests().put - puts;
    assert!(changed > 0);
    assert_eq!(sb.activity_log_writes(), changed, "every PUT asked for it");

    let quiet = session_with_options(
        sb.connection("administrator"),
        ClientOptions {
            activity_log: false,
            ..sb.client_options()
        },
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    run_bulk_with(
        &quiet,
        BulkAction::Enable,
        &args("type:readonly"),
        &mut out,
        &mut prompt,
    )
    .await
    .unwrap();
    assert!(sb.requests().put - puts > changed);
    assert_eq!(sb.activity_log_writes(), changed, "none asked for it");

    let runs = jl::runs_of(&jl::read(&journal).unwrap());
    let recorded: Vec<Option<bool>> = runs
        .iter()
        .map(|r| r.header.as_ref().and_then(|h| h.activity_log))
        .collect();
    assert_eq!(recorded, [Some(true), Some(false)]);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_sandbox_command_serves_https_with_its_ca_in_the_directory() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("certs");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args([
            "sandbox",
            "--seed-users",
            "5",
            "--secret-key",
            SECRET,
            "--tls",
        ])
        .arg(&tls_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            let done = line.contains("SSL_CERT_FILE=");
            banner.push(line);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the banner within 30 s");
    let text = banner.join("\n");
    let ca = tls_dir.join("ca.pem");
    assert!(text.contains("TC_API_PATH=https://127.0.0.1:"), "{text}");
    assert!(
        text.contains(&format!("ca_file = \"{}\"", ca.display())),
        "{text}"
    );
    for file in ["ca.pem", "server.pem", "server-key.pem"] {
        assert!(tls_dir.join(file).is_file(), "{file}");
    }
    let api_path = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("TC_API_PATH="))
        .unwrap()
        .to_string();
    let run = rollcall(
        dir.path(),
        &["users", "list"],
        &[
            ("TC_API_PATH", api_path),
            ("TC_API_ACCESS_ID", "administrator".into()),
            ("TC_API_SECRET_KEY", SECRET.into()),
            ("SSL_CERT_FILE", ca.display().to_string()),
        ],
    )
    .await;
    assert!(listed(&run), "{}", run.stderr);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_refused_token_is_renewed_once_by_token_command() {
    use rollcall::config::{resolve_with_env, Selection};
    let dir = tempfile::tempdir().unwrap();
    let sb = https_sandbox(dir.path()).await;
    let good = sb.issue_token("read-only").unwrap();
    std::fs::write(dir.path().join("good.token"), &good).unwrap();
    let runs = dir.path().join("runs");
    // The first run (when the profile is read) prints a stale token, every
    // later one the good token; each run leaves a mark.
    let command = format!(
        "echo x >> {runs}; if [ $(wc -l < {runs}) -eq 1 ]; then echo stale-token; else cat {good}; fi",
        runs = runs.display(),
        good = dir.path().join("good.token").display()
    );
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.t]\napi_path = \"{}\"\ntoken_command = {command:?}\nca_file = {:?}\n",
            sb.base_url(),
            sb.ca_file().unwrap()
        ),
    )
    .unwrap();
    let selection = Selection {
        profile: Some("t".into()),
        config: Some(config),
        read_only: false,
    };
    let profile = resolve_with_env(&selection, &|_| None).unwrap();
    let client = Client::with_options(profile.connection, profile.options).unwrap();
    let marks = || std::fs::read_to_string(&runs).unwrap().lines().count();
    assert_eq!(marks(), 1);
    // refused with the stale token, renewed, sent again
    assert_eq!(client.whoami().await.unwrap().user_name, "read-only");
    assert_eq!(marks(), 2);
    assert_eq!(client.whoami().await.unwrap().user_name, "read-only");
    assert_eq!(marks(), 2, "no renewal while the token works");

    // without a token_command a refused token is the plain 401, explained
    let stale = Client::with_options(
        rollcall::api::Connection {
            credentials: rollcall::api::Credentials::Token(rollcall::api::Secret::new("stale")),
            ..sb.connection("read-only")
        },
        sb.client_options(),
    )
    .unwrap();
    let err = stale.whoami().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(
        err.to_string()
            .starts_with("the API token is invalid or expired"),
        "{err}"
    );
    sb.shutdown().await;
}

//! `--log FILE` on the real binary against the embedded sandbox: each
//! request is logged by method, path and status, bulk runs by their start
//! and end, and no secret ever reaches the file (the HMAC secret key, a
//! token, a new account's password, a generated API token, the
//! `Authorization` header).

use rollcall::sandbox::{Sandbox, SandboxConfig};
use std::path::Path;
use std::process::Output;

/// Long and unlike anything else in a log, so a grep for it means it leaked.
const SECRET_KEY: &str = "diag-hmac-secret-5d1f0c7a93";
const PASSWORD: &str = "Diag-Passw0rd-e81b4c";

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::loopback(40, SECRET_KEY))
        .await
        .expect("sandbox starts")
}

/// A config file with an HMAC profile and a token profile, private as the
/// documentation asks.
fn write_config(dir: &Path, sb: &Sandbox, token: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[profiles.hmac]\napi_path = \"{url}\"\naccess_id = \"administrator\"\nsecret_key = \"{SECRET_KEY}\"\n\n\
         [profiles.token]\napi_path = \"{url}\"\ntoken = \"{token}\"\n",
        url = sb.base_url()
    );
    std::fs::write(&path, text).expect("config written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

/// The binary with a clean environment: no TC_* variables, HOME in `dir`.
fn rollcall(dir: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollcall"));
    for var in [
        "TC_API_PATH",
        "TC_API_ACCESS_ID",
        "TC_API_SECRET_KEY",
        "TC_TOKEN",
        "RUST_LOG",
        "ROLLCALL_LOG",
        "ROLLCALL_JOURNAL",
    ] {
        command.env_remove(var);
    }
    command
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("XDG_DATA_HOME", dir.join(".local/share"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

async fn run(mut command: tokio::process::Command, stdin: Option<&str>) -> Output {
    if stdin.is_some() {
        command.stdin(std::process::Stdio::piped());
    }
    let mut child = command.spawn().expect("the binary starts");
    if let Some(text) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut input = child.stdin.take().expect("stdin piped");
        input.write_all(text.as_bytes()).await.unwrap();
        drop(input);
    }
    child.wait_with_output().await.expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what}: {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_names_every_request_and_never_a_secret() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let token = sb.issue_token("administrator").expect("a token");
    let config = write_config(dir.path(), &sb, &token);
    let log = dir.path().join("rollcall.log");
    let journal = dir.path().join("journal.jsonl");
    let with_profile = |profile: &str| {
        let mut command = rollcall(dir.path());
        command
            .arg("--log")
            .arg(&log)
            .arg("--config")
            .arg(&config)
            .args(["--profile", profile]);
        command
    };

    // HMAC: a new account whose password comes on stdin.
    let mut create = with_profile("hmac");
    create.args([
        "users",
        "create",
        "--type",
        "user",
        "--set",
        "userName=diag.user@example.com",
        "--set",
        "firstName=Diag",
        "--set",
        "lastName=User",
        "--set",
        "email=diag.user@example.com",
        "--password-stdin",
    ]);
    let created = run(create, Some(&format!("{PASSWORD}\n"))).await;
    assert_success("users create", &created);

    // Token: a listing, and an API account whose new token is printed once.
    let mut list = with_profile("token");
    list.args(["users", "list", "--format", "csv"]);
    assert_success("users list (token)", &run(list, None).await);
    let mut api = with_profile("token");
    api.args([
        "users",
        "create",
        "--type",
        "api",
        "--set",
        "firstName=Diag",
        "--set",
        "lastName=Robot",
        "--generate-token",
    ]);
    let api = run(api, None).await;
    assert_success("users create --type api --generate-token", &api);
    let generated_token = text(&api.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("API token: ").map(str::to_string))
        .expect("the generated token is printed");
    // The API account's made-up password and secret, when printed.
    let printed_secrets: Vec<String> = text(&api.stdout)
        .lines()
        .filter_map(|line| {
            let (label, value) = line.split_once(": ")?;
            let label = label.to_ascii_lowercase();
            (label.contains("password") || label.contains("secret"))
                .then(|| value.trim().to_string())
        })
        .filter(|value| value.len() >= 8)
        .collect();

    // A bulk run, journalled: the engine's lines.
    let mut disable = with_profile("hmac");
    disable
        .args([
            "users",
            "disable",
            "--filter",
            "type:user",
            "--yes",
            "--journal",
        ])
        .arg(&journal);
    assert_success("users disable", &run(disable, None).await);
    sb.shutdown().await;

    let logged = std::fs::read_to_string(&log).expect("the log file exists");
    // Positive content: without logging, these fail.
    for expected in [
        "method=GET path=/api/v2/whoami",
        "method=GET path=/api/v3/security/users",
        "method=POST path=/api/v3/security/users",
        "method=PUT path=/api/v3/security/users/",
        "status=200",
        "status=201",
        "elapsed_ms=",
        "query_keys=",
        "journal opened",
        "bulk run started",
        "bulk run ended",
    ] {
        assert!(
            logged.contains(expected),
            "{expected:?} in the log:\n{logged}"
        );
    }
    // Query values stay out: the listing's TQL filter is logged by name only.
    assert!(!logged.contains("tql="), "{logged}");
    for secret in [SECRET_KEY, PASSWORD, &token, &generated_token]
        .into_iter()
        .chain(printed_secrets.iter().map(String::as_str))
    {
        assert!(
            !logged.contains(secret),
            "a secret ({} characters) is in the log:\n{logged}",
            secret.len()
        );
    }
    for header in [
        "Authorization",
        "authorization",
        "TC-Token",
        "TC administrator:",
    ] {
        assert!(!logged.contains(header), "{header:?} in the log:\n{logged}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_log_nothing_is_logged_and_rust_log_alone_goes_to_stderr() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let listing = |rust_log: Option<&str>| {
        let mut command = rollcall(dir.path());
        command
            .args(["users", "list", "--format", "csv"])
            .env("TC_API_PATH", sb.base_url())
            .env("TC_API_ACCESS_ID", "administrator")
            .env("TC_API_SECRET_KEY", SECRET_KEY);
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        command
    };
    let quiet = run(listing(None), None).await;
    assert_success("users list", &quiet);
    assert!(
        !text(&quiet.stderr).contains("request"),
        "{}",
        text(&quiet.stderr)
    );

    let logged = run(listing(Some("rollcall=debug")), None).await;
    assert_success("users list with RUST_LOG", &logged);
    let stderr = text(&logged.stderr);
    assert!(
        stderr.contains("method=GET path=/api/v3/security/users"),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET_KEY), "{stderr}");
    // The listing itself stays on stdout, untouched by the log.
    assert!(!text(&logged.stdout).contains("method="));
    sb.shutdown().await;
}

#[tokio::test]
async fn a_log_file_that_cannot_be_opened_is_one_line_and_no_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = rollcall(dir.path());
    command
        .arg("--log")
        .arg(dir.path().join("no/such/dir/rollcall.log"))
        .args(["journal"]);
    let output = run(command, None).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cannot open the log file"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(output.stdout.is_empty());
}

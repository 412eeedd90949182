//! Issue 10, items 2 to 4, against a hostile fake instance over real HTTP
//! (`hostile/mod.rs`): nothing secret goes elsewhere (redirects, a
//! password in the base URL, a failing secret command, a config others can
//! read, `--set password=`), a lying server cannot exhaust the client
//! (counts, page sizes, answer sizes, repeated ids), and timeouts a person
//! can wait for (silent, stalled and dribbling answers).

mod hostile;

use hostile::{page, user, Hostile, Reply, Request};
use rollcall::api::{ApiError, Client, ClientOptions, Connection, Credentials, Limits, Secret};
use rollcall::bulk::{self, Cancel, Reassign, RunMeta, RunPlan};
use rollcall::domain::preflight::BulkAction;
use rollcall::domain::User;
use rollcall::sandbox::{Sandbox, SandboxConfig};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SECRET: &str = "hostile-secret";

/// Limits short enough that every test ends within a few seconds.
fn short_limits() -> Limits {
    Limits {
        connect: Duration::from_secs(1),
        first_byte: Duration::from_secs(1),
        idle: Duration::from_secs(1),
        request: Duration::from_secs(3),
        max_answer_bytes: 1024 * 1024,
    }
}

fn client_with(api_path: &str, limits: Limits) -> Client {
    Client::with_options(
        Connection {
            api_path: api_path.into(),
            credentials: Credentials::Hmac {
                access_id: "administrator".into(),
                secret_key: Secret::new(SECRET),
            },
            read_only: false,
            concurrency: 4,
        },
        ClientOptions {
            limits,
            ..Default::default()
        },
    )
    .expect("client")
}

fn client(server: &Hostile) -> Client {
    client_with(&server.base_url(), short_limits())
}

/// The call, which must end within `seconds` (the old client waited 120 s
/// per attempt).
async fn within<T>(seconds: u64, call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(seconds), call)
        .await
        .unwrap_or_else(|_| panic!("still waiting after {seconds} s"))
}

fn one_line(error: &ApiError) -> String {
    let text = error.to_string();
    assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
    text
}

// ---------------------------------------------------------------------------
// Item 2: nothing secret goes elsewhere
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_redirected_write_is_never_sent_to_the_other_origin() {
    let elsewhere = Hostile::recorder().await;
    let steal = format!("http://{}/steal", elsewhere.addr);
    let server = Hostile::start(move |request: &Request| match request.method.as_str() {
        "POST" => Reply::redirect(307, &steal),
        "PUT" => Reply::redirect(308, &steal),
        _ => Reply::redirect(302, &steal),
    })
    .await;
    let client = client(&server);
    let body = serde_json::json!({
        "userName": "new.user@example.com",
        "password": "Corr3ct-Horse-Battery",
    });
    let created = within(5, client.create_user(&body)).await.unwrap_err();
    let text = one_line(&created);
    assert!(
        text.contains("redirect") && text.contains("not followed"),
        "{text}"
    );
    assert!(!text.contains("Corr3ct"), "{text}");
    let updated = within(5, client.update_user(7, &body)).await.unwrap_err();
    assert!(one_line(&updated).contains("not followed"), "{updated}");
    let deleted = within(5, client.delete_user(7, None, None))
        .await
        .unwrap_err();
    assert!(one_line(&deleted).contains("not followed"), "{deleted}");

    let stolen = elsewhere.requests();
    assert_eq!(stolen.len(), 0, "the other origin received {stolen:?}");
    let bodies = stolen.iter().filter(|r| !r.body.is_empty()).count();
    let authorizations = stolen
        .iter()
        .filter(|r| r.header("Authorization").is_some())
        .count();
    assert_eq!((bodies, authorizations), (0, 0));
    // Each write reached the configured instance once, and only once.
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_read_redirected_to_another_origin_stops_with_one_line() {
    let elsewhere = Hostile::recorder().await;
    let target = format!("{}/api/v3/security/users/7", elsewhere.other_origin());
    let server = Hostile::start(move |_: &Request| Reply::redirect(302, &target)).await;
    let client = client(&server);
    let error = within(5, client.get_user(7, &[])).await.unwrap_err();
    let text = one_line(&error);
    assert!(
        text.contains("another origin") && text.contains("not followed"),
        "{text}"
    );
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );
    // Another scheme or port on the same host is another origin too.
    let https = Hostile::start(|request: &Request| {
        let location = format!(
            "https://{}{}",
            request.header("Host").unwrap_or(""),
            request.target
        );
        Reply::redirect(301, &location)
    })
    .await;
    let error = within(5, client_with(&https.base_url(), short_limits()).whoami())
        .await
        .unwrap_err();
    assert!(one_line(&error).contains("another origin"), "{error}");
    assert_eq!(https.requests().len(), 1);
}

#[tokio::test]
async fn a_read_redirected_on_the_same_origin_is_signed_for_its_new_path() {
    let server = Hostile::start(|request: &Request| {
        if request.path() == "/api/v3/security/users/7" {
            return Reply::redirect(301, "/api/v3/security/users/8");
        }
        // Only a request signed for the path it was sent to is served.
        let timestamp: i64 = request
            .header("Timestamp")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let expected = Credentials::Hmac {
            access_id: "administrator".into(),
            secret_key: Secret::new(SECRET),
        }
        .authorization(&request.target, &request.method, timestamp);
        if request.header("Authorization") != Some(expected.as_str()) {
            return Reply::json(
                401,
                serde_json::json!({"status": "Failure", "message": "bad signature"}),
            );
        }
        Reply::json(
            200,
            serde_json::json!({"data": user(8), "status": "Success"}),
        )
    })
    .await;
    let found = within(5, client(&server).get_user(7, &[])).await.unwrap();
    assert_eq!(found.id, 8);
    let paths: Vec<String> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        paths,
        ["/api/v3/security/users/7", "/api/v3/security/users/8"]
    );
}

#[tokio::test]
async fn a_password_in_the_base_url_is_never_shown() {
    let server = Hostile::start(|request: &Request| match request.path() {
        "/api/v2/whoami" => Reply::Silent,
        "/api/v3/security/users/1" => Reply::json(
            500,
            serde_json::json!({"status": "Failure", "message": "boom"}),
        ),
        _ => Reply::redirect(302, "http://elsewhere.invalid/x"),
    })
    .await;
    let with_password = format!("http://admin:hunter2pw@{}", server.addr);
    let client = client_with(&with_password, short_limits());
    let mut shown = vec![client.api_path().to_string()];
    shown.extend(client.notices().iter().cloned());
    assert!(
        client
            .notices()
            .iter()
            .any(|n| n.contains("user name or password")),
        "{:?}",
        client.notices()
    );
    for error in [
        within(5, client.whoami()).await.unwrap_err(),
        within(5, client.get_user(1, &[])).await.unwrap_err(),
        within(5, client.get_user(2, &[])).await.unwrap_err(),
    ] {
        shown.push(one_line(&error));
    }
    let unreachable = client_with("http://admin:hunter2pw@127.0.0.1:1/api", short_limits());
    shown.push(one_line(
        &within(5, unreachable.whoami()).await.unwrap_err(),
    ));
    let bad = rollcall::api::client::parse_api_path("http://admin:hunter2pw@x.example/api/v3")
        .unwrap_err();
    shown.push(one_line(&bad));
    for text in &shown {
        assert!(!text.contains("hunter2pw"), "{text}");
    }
    assert!(
        shown.iter().any(|t| t.contains("cannot reach")),
        "{shown:?}"
    );
}

/// What a run of the binary left behind.
struct Run {
    ok: bool,
    stderr: String,
    took: Duration,
}

/// The real binary, with a clean environment and HOME in `home`.
async fn rollcall(home: &Path, args: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollcall"));
    command.args(args).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env("XDG_STATE_HOME", home)
        .env("ROLLCALL_JOURNAL", home.join("journal.jsonl"))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let started = Instant::now();
    let output = within(20, command.output()).await.expect("the binary runs");
    Run {
        ok: output.status.success(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    }
}

fn config(dir: &Path, text: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::loopback(10, SECRET))
        .await
        .expect("the sandbox starts")
}

fn hmac_profile(base_url: &str) -> String {
    format!(
        "[profiles.p]\napi_path = \"{base_url}\"\naccess_id = \"administrator\"\nsecret_key = \"{SECRET}\"\n"
    )
}

#[tokio::test]
async fn a_failing_secret_command_keeps_its_error_output_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    for (key, extra) in [
        ("token_command", ""),
        ("secret_command", "access_id = \"administrator\"\n"),
    ] {
        let text = format!(
            "[profiles.p]\napi_path = \"http://127.0.0.1:1/api\"\n{extra}{key} = \"echo 'leaked-vault-s3cret' >&2; exit 3\"\n"
        );
        let path = config(dir.path(), &text, 0o600);
        let run = rollcall(
            dir.path(),
            &["--config", path.to_str().unwrap(), "users", "list"],
        )
        .await;
        assert!(!run.ok);
        assert!(
            !run.stderr.contains("leaked-vault-s3cret"),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{key} failed (exit status: 3)"))
                && run.stderr.contains("by hand"),
            "{}",
            run.stderr
        );
    }
}

#[tokio::test]
async fn a_config_file_others_can_read_is_warned_about() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &hmac_profile(&sb.base_url()), 0o644);
    let shown = path.display().to_string();
    let args = ["--config", shown.as_str(), "users", "list"];
    let run = rollcall(dir.path(), &args).await;
    assert!(run.ok, "{}", run.stderr);
    let warning = format!(
        "{shown} holds a secret_key and other users can read it (mode 644): run chmod 600 {shown}"
    );
    assert!(run.stderr.contains(&warning), "{}", run.stderr);
    let path = config(dir.path(), &hmac_profile(&sb.base_url()), 0o600);
    let run = rollcall(
        dir.path(),
        &["--config", path.to_str().unwrap(), "users", "list"],
    )
    .await;
    assert!(run.ok && !run.stderr.contains("chmod"), "{}", run.stderr);
    sb.shutdown().await;
}

#[tokio::test]
async fn set_password_on_the_command_line_is_warned_about() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &hmac_profile(&sb.base_url()), 0o600);
    let config = path.to_str().unwrap();
    let run = rollcall(
        dir.path(),
        &[
            "--config",
            config,
            "users",
            "create",
            "--type",
            "user",
            "--set",
            "userName=argv.password@example.com",
            "--set",
            "email=argv.password@example.com",
            "--set",
            "first-name=Argv",
            "--set",
            "last-name=Password",
            "--set",
            "password=Visible-in-ps-1",
        ],
    )
    .await;
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("--password-stdin"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(warnings[0].contains("process"), "{}", warnings[0]);
    assert!(!run.stderr.contains("Visible-in-ps-1"), "{}", run.stderr);
    sb.shutdown().await;
}

// ---------------------------------------------------------------------------
// Item 3: a lying server cannot exhaust the client
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_claimed_trillion_accounts_is_one_line_not_an_abort() {
    // One row per page and a count of 10^12: the old client built every
    // page offset up front and aborted on a failed allocation.
    let server = Hostile::start(|request: &Request| {
        let start: i64 = request
            .param("resultStart")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Reply::json(200, page([1000 + start], Some(1_000_000_000_000)))
    })
    .await;
    let error = within(5, client(&server).list_users(&Default::default()))
        .await
        .unwrap_err();
    let text = one_line(&error);
    assert!(
        text.contains("1000000000000") && text.contains("not believable"),
        "{text}"
    );
    assert_eq!(server.requests().len(), 1, "no page after the first");
}

#[tokio::test]
async fn a_count_far_beyond_what_pages_deliver_is_a_contradiction() {
    // 100 accounts, a claim of 50,000: the pages after the first are empty.
    let server = Hostile::start(|request: &Request| {
        let start: i64 = request
            .param("resultStart")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let ids = (start..100).map(|i| 1000 + i).take(100);
        Reply::json(200, page(ids, Some(50_000)))
    })
    .await;
    let query = rollcall::api::UserQuery {
        page_size: 100,
        ..Default::default()
    };
    let error = within(5, client(&server).list_users(&query))
        .await
        .unwrap_err();
    let text = one_line(&error);
    assert!(
        text.contains("claims 50000") && text.contains("contradict"),
        "{text}"
    );
    // Stopped at the first empty page: the first, plus what was in flight.
    assert!(
        server.requests().len() <= 1 + 2 * 4,
        "{}",
        server.requests().len()
    );
}

#[tokio::test]
async fn pages_larger_than_asked_are_refused() {
    let server = Hostile::start(|_: &Request| Reply::json(200, page(1000..1050, Some(50)))).await;
    let query = rollcall::api::UserQuery {
        page_size: 10,
        ..Default::default()
    };
    let error = within(5, client(&server).list_users(&query))
        .await
        .unwrap_err();
    let text = one_line(&error);
    assert!(
        text.contains("50 entries, more than the 10 asked for (resultLimit)"),
        "{text}"
    );
}

#[tokio::test]
async fn an_answer_over_max_answer_mb_is_not_read_to_the_end() {
    // Valid JSON padded to 40 MB, sent without a length (read in chunks)
    // and with one (refused before reading).
    let padded = |size: usize| {
        let mut body = page([1000], Some(1)).to_string().into_bytes();
        body.resize(size, b' ');
        body
    };
    let prefix = padded(0);
    let endless = Hostile::start(move |_: &Request| Reply::Endless {
        prefix: prefix.clone(),
        size: 40 * 1024 * 1024,
    })
    .await;
    let started = Instant::now();
    let error = within(5, client(&endless).list_users(&Default::default()))
        .await
        .unwrap_err();
    let text = one_line(&error);
    assert!(text.contains("larger than 1 MB (max_answer_mb)"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let body = padded(3 * 1024 * 1024);
    let declared = Hostile::start(move |_: &Request| Reply::Full {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.clone(),
    })
    .await;
    let error = within(5, client(&declared).list_users(&Default::default()))
        .await
        .unwrap_err();
    assert!(one_line(&error).contains("max_answer_mb"), "{error}");
    // The same answers under the default limit are read whole.
    let roomy = client_with(&declared.base_url(), Limits::default());
    assert_eq!(
        within(5, roomy.list_users(&Default::default()))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn an_account_listed_twice_is_written_once() {
    let server = Hostile::start(|request: &Request| {
        let id: i64 = request
            .path()
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or(0);
        let mut account = user(id);
        account["disabled"] = true.into();
        Reply::json(
            200,
            serde_json::json!({"data": account, "status": "Success"}),
        )
    })
    .await;
    let client = client(&server);
    let account = |id: i64| -> User { serde_json::from_value(user(id)).unwrap() };
    let targets: Vec<User> = [1000, 1000, 1002, 1002, 1002, 1004]
        .into_iter()
        .map(account)
        .collect();
    let plan = RunPlan {
        meta: RunMeta {
            run_id: RunMeta::new_run_id(),
            instance: client.api_path().to_string(),
            actor: "administrator".into(),
        },
        action: BulkAction::Disable,
        reassign: Reassign::default(),
        concurrency: 4,
    };
    let results = within(
        5,
        bulk::execute(
            &client,
            None,
            &plan,
            &targets,
            &Cancel::default(),
            &mut |_| {},
        ),
    )
    .await;
    let ids: Vec<i64> = results.iter().map(|r| r.id).collect();
    assert_eq!(ids, [1000, 1002, 1004]);
    let mut puts: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.path().to_string())
        .collect();
    puts.sort();
    assert_eq!(
        puts,
        [
            "/api/v3/security/users/1000",
            "/api/v3/security/users/1002",
            "/api/v3/security/users/1004"
        ]
    );
}

#[tokio::test]
async fn a_listing_that_repeats_ids_is_merged() {
    let server = Hostile::start(|request: &Request| {
        let start: i64 = request
            .param("resultStart")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        // Every page repeats the last account of the one before.
        let ids: Vec<i64> = match start {
            0 => vec![1, 2, 2, 3],
            4 => vec![3, 4, 5, 6],
            _ => vec![6, 7],
        };
        Reply::json(200, page(ids, Some(10)))
    })
    .await;
    let query = rollcall::api::UserQuery {
        page_size: 4,
        ..Default::default()
    };
    let users = within(5, client(&server).list_users(&query)).await.unwrap();
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7]);
}

// ---------------------------------------------------------------------------
// Item 4: timeouts a person can wait for
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_silent_instance_is_one_line_after_the_first_byte_timeout() {
    let server = Hostile::start(|_: &Request| Reply::Silent).await;
    let started = Instant::now();
    let error = within(5, client(&server).get_user(7, &[]))
        .await
        .unwrap_err();
    assert_eq!(
        one_line(&error),
        format!(
            "the instance stopped answering (no answer within 1 s; first_byte_timeout_s) at {}/v3/security/users/7",
            server.base_url()
        )
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.requests().len(), 1, "a timeout is not retried");
}

#[tokio::test]
async fn a_stalled_answer_is_one_line_after_the_idle_timeout() {
    let server = Hostile::start(|_: &Request| Reply::Stall {
        first: b"{\"data\": [".to_vec(),
    })
    .await;
    let error = within(5, client(&server).list_users(&Default::default()))
        .await
        .unwrap_err();
    let text = one_line(&error);
    assert!(
        text.starts_with("the instance stopped answering (no data for 1 s; idle_timeout_s) at "),
        "{text}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_dribbling_answer_stops_at_the_request_timeout() {
    // A byte every 100 ms never trips the idle timeout; the total does.
    let body = page([1000], Some(1)).to_string().into_bytes();
    let server = Hostile::start(move |_: &Request| Reply::Dribble {
        every: Duration::from_millis(100),
        bytes: body.clone(),
    })
    .await;
    let started = Instant::now();
    let error = within(5, client(&server).whoami()).await.unwrap_err();
    let text = one_line(&error);
    assert!(
        text.starts_with(
            "the instance stopped answering (no complete answer within 3 s; request_timeout_s) at "
        ),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn retries_of_reads_stay_within_the_request_timeout() {
    // A 500 every time: reads are retried, but never past the total.
    let server = Hostile::start(|_: &Request| {
        Reply::json(
            500,
            serde_json::json!({"status": "Failure", "message": "busy"}),
        )
    })
    .await;
    let limits = Limits {
        request: Duration::from_millis(300),
        ..short_limits()
    };
    let started = Instant::now();
    let error = within(5, client_with(&server.base_url(), limits).whoami())
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert!(started.elapsed() < Duration::from_secs(2));
    // 200 ms then 400 ms of back-off: the second retry would pass the total.
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn the_profile_keys_set_the_limits_and_the_binary_says_one_line() {
    let server = Hostile::start(|_: &Request| Reply::Stall {
        first: b"{".to_vec(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[profiles.p]\napi_path = \"{}\"\ntoken = \"t\"\nconnect_timeout_s = 2\nfirst_byte_timeout_s = 2\nidle_timeout_s = 1\nrequest_timeout_s = 4\nmax_answer_mb = 8\n",
        server.base_url()
    );
    let path = config(dir.path(), &text, 0o600);
    let selection = rollcall::config::Selection {
        profile: Some("p".into()),
        config: Some(path.clone()),
        read_only: false,
    };
    let profile = rollcall::config::resolve_with_env(&selection, &|_| None).unwrap();
    assert_eq!(
        profile.options.limits,
        Limits {
            connect: Duration::from_secs(2),
            first_byte: Duration::from_secs(2),
            idle: Duration::from_secs(1),
            request: Duration::from_secs(4),
            max_answer_bytes: 8 * 1024 * 1024,
        }
    );
    let run = rollcall(
        dir.path(),
        &["--config", path.to_str().unwrap(), "users", "list"],
    )
    .await;
    assert!(!run.ok);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "rollcall: the instance stopped answering (no data for 1 s; idle_timeout_s) at {}/v2/whoami",
            server.base_url()
        )
    );
    assert!(run.took < Duration::from_secs(4), "{:?}", run.took);
    // Out-of-range values are one line naming the key.
    for (key, value) in [("idle_timeout_s", "0"), ("max_answer_mb", "0")] {
        let text = format!(
            "[profiles.p]\napi_path = \"{}\"\ntoken = \"t\"\n{key} = {value}\n",
            server.base_url()
        );
        let path = config(dir.path(), &text, 0o600);
        let selection = rollcall::config::Selection {
            profile: Some("p".into()),
            config: Some(path),
            read_only: false,
        };
        let error = rollcall::config::resolve_with_env(&selection, &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("profile 'p': {key} = 0 must be between 1 and")),
            "{error}"
        );
    }
}

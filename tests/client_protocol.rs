//! The client's wire behaviour against a small scripted HTTP server (not
//! the sandbox): signatures of every request, parallel pages, `next`
//! links, retries, error mapping and discovery fallbacks.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use rollcall::api::auth::Credentials;
use rollcall::api::{ApiError, Client, Connection, Secret, UserQuery};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "server-secret";

#[derive(Default)]
struct Script {
    users: usize,
    /// Answer with `count` when asked; otherwise only `next` links.
    honour_count: bool,
    /// Answer this many requests with 502 first.
    fail_first: AtomicUsize,
    /// Answer this many requests with ThreatConnect's 503 "API not licensed" first.
    unlicensed_first: AtomicUsize,
    /// With `unlicensed_first`: the 503 carries `Retry-After: 1`.
    unlicensed_retry_after: bool,
    /// `next` links name this origin (a load balancer's public name)
    /// instead of the address the client uses.
    next_origin: Option<String>,
    /// Offset pages after the first start this many accounts early, as an
    /// unstable order would shift them.
    overlap: usize,
    /// Answer this many requests with 429 and `Retry-After: 1` first.
    throttle_first: AtomicUsize,
    /// Body of every answer instead of the normal one.
    garbage: bool,
    port: AtomicUsize,
    /// When not 0, the number of accounts instead of `users` (accounts
    /// added or deleted between a count and a listing).
    resized: AtomicUsize,
    /// When not 0, a first page (resultStart=0) is answered only once this
    /// many page requests have arrived (at most 5 s; then `held_too_long`).
    hold_first_until: AtomicUsize,
    held_too_long: std::sync::atomic::AtomicBool,
    /// Each request as `METHOD path?query`.
    seen: Mutex<Vec<String>>,
}

fn signature_ok(headers: &HeaderMap, method: &Method, target: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(auth), Some(ts)) = (header("authorization"), header("timestamp")) else {
        return false;
    };
    let Ok(ts) = ts.parse::<i64>() else {
        return false;
    };
    let expected = Credentials::Hmac {
        access_id: "administrator".into(),
        secret_key: Secret::new(SECRET),
    }
    .authorization(target, method.as_str(), ts);
    auth == expected && (chrono::Utc::now().timestamp() - ts).abs() <= 300
}

async fn answer(
    State(script): State<Arc<Script>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let target = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    script
        .seen
        .lock()
        .unwrap()
        .push(format!("{method} {target}"));
    if !signature_ok(&headers, &method, &target) {
        let body = json!({"status": "Failure", "message": "Invalid signature", "errCode": "0x1"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    if script
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (StatusCode::BAD_GATEWAY, "busy").into_response();
    }
    if script
        .unlicensed_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        let body = axum::Json(
            json!({"status": "Error", "errCode": "0x503", "message": "API not licensed"}),
        );
        return if script.unlicensed_retry_after {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", "1")],
                body,
            )
                .into_response()
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        };
    }
    if script
        .throttle_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            "slow down",
        )
            .into_response();
    }
    if script.garbage {
        return (StatusCode::OK, "<html>not json</html>").into_response();
    }
    if method != Method::GET || uri.path() != "/api/v3/security/users" {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"status": "Failure", "message": "nope"})),
        )
            .into_response();
    }
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let start: usize = params
        .get("resultStart")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let limit: usize = params
        .get("resultLimit")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let hold = script.hold_first_until.load(Ordering::SeqCst);
    if start == 0 && params.contains_key("resultStart") && hold > 0 {
        let asked = || {
            let seen = script.seen.lock().unwrap();
            seen.iter().filter(|r| r.contains("resultStart=")).count()
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while asked() < hold {
            if Instant::now() > deadline {
                script.held_too_long.store(true, Ordering::SeqCst);
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let users = match script.resized.load(Ordering::SeqCst) {
        0 => script.users,
        n => n,
    };
    let start = if start > 0 {
        start.saturating_sub(script.overlap)
    } else {
        start
    };
    let end = (start + limit).min(users);
    let data: Vec<_> = (start..end)
        .map(|i| json!({"id": i as i64 + 1, "userName": format!("user{i:05}")}))
        .collect();
    let mut body = json!({"data": data, "status": "Success"});
    if script.honour_count && params.get("count").map(String::as_str) == Some("true") {
        body["count"] = json!(users);
    }
    if end < users {
        let port = script.port.load(Ordering::SeqCst);
        let origin = script
            .next_origin
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
        body["next"] = json!(format!(
            "{origin}/api/v3/security/users?resultStart={end}&resultLimit={limit}"
        ));
    }
    axum::Json(body).into_response()
}

async fn serve(script: Script) -> (Arc<Script>, String) {
    let script = Arc::new(script);
    let app = Router::new()
        .route("/{*path}", any(answer))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    script.port.store(port as usize, Ordering::SeqCst);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (script, format!("http://127.0.0.1:{port}/api"))
}

fn client(base: &str, secret: &str) -> Client {
    Client::new(Connection {
        api_path: base.into(),
        credentials: Credentials::Hmac {
            access_id: "administrator".into(),
            secret_key: Secret::new(secret),
        },
        read_only: false,
        concurrency: 4,
    })
    .unwrap()
}

fn assert_each_once(users: &[rollcall::domain::User], total: usize) {
    let ids: BTreeSet<i64> = users.iter().map(|u| u.id).collect();
    assert_eq!(users.len(), total);
    assert_eq!(ids.len(), total);
    let in_order: Vec<i64> = users.iter().map(|u| u.id).collect();
    assert!(
        in_order.windows(2).all(|w| w[0] < w[1]),
        "pages are put back in order"
    );
}

#[tokio::test]
async fn known_total_fetches_remaining_pages_by_offset() {
    let (script, base) = serve(Script {
        users: 2_550,
        honour_count: true,
        ..Default::default()
    })
    .await;
    let query = UserQuery {
        page_size: 100,
        fields: vec!["a".into(), "b".into()],
        ..Default::default()
    };
    let mut arrivals = Vec::new();
    client(&base, SECRET)
        .list_users_with(&query, &mut |page| {
            arrivals.push((page.start, page.items.len(), page.total))
        })
        .await
        .unwrap();
    assert_eq!(arrivals.len(), 26);
    assert!(arrivals.iter().all(|(_, _, total)| *total == Some(2_550)));
    let users = client(&base, SECRET).list_users(&query).await.unwrap();
    assert_each_once(&users, 2_550);
    let seen = script.seen.lock().unwrap();
    assert!(seen[0].starts_with(
        "GET /api/v3/security/users?fields=a&fields=b&sorting=id+asc&resultStart=0&resultLimit=100&count=true"
    ));
    assert!(
        seen.iter().all(|r| r.contains("&sorting=id+asc&")),
        "every offset page asks for one stable order"
    );
    assert!(
        seen.iter().filter(|r| r.contains("count=true")).count() == 2,
        "only first pages count"
    );
}

/// A client that has counted the accounts sends a listing's first pages
/// together (the first page is held until the others arrive: a client
/// that waited for it would be held 5 s and the test would say so); when
/// the accounts changed since the count, the new count rules: pages sent
/// past it are dropped, pages it adds are asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counted_listing_sends_its_first_pages_at_once_and_follows_a_changed_count() {
    let (script, base) = serve(Script {
        users: 2_550,
        honour_count: true,
        ..Default::default()
    })
    .await;
    let client = client(&base, SECRET);
    assert_eq!(client.count_users().await.unwrap(), Some(2_550));
    let query = UserQuery {
        page_size: 500,
        ..Default::default()
    };
    // Six pages of 500; concurrency 4: pages 0, 500, 1000 and 1500 at once.
    script.hold_first_until.store(4, Ordering::SeqCst);
    let users = client.list_users(&query).await.unwrap();
    assert!(
        !script.held_too_long.load(Ordering::SeqCst),
        "the first page was answered before the next three were asked"
    );
    assert_each_once(&users, 2_550);
    script.hold_first_until.store(0, Ordering::SeqCst);

    // Fewer accounts than counted: the pages past the new count are dropped.
    script.resized.store(1_200, Ordering::SeqCst);
    let users = client.list_users(&query).await.unwrap();
    assert_each_once(&users, 1_200);
    // More: the first three go together, then the rest by the new count.
    script.resized.store(4_100, Ordering::SeqCst);
    let users = client.list_users(&query).await.unwrap();
    assert_each_once(&users, 4_100);
    let seen = script.seen.lock().unwrap();
    assert_eq!(
        seen.iter().filter(|r| r.contains("count=true")).count(),
        4,
        "the count, then each listing's first page"
    );
}

/// Without a count, nothing is sent ahead: a listing of one page costs one
/// request, not a wave of empty ones.
#[tokio::test]
async fn an_uncounted_listing_asks_one_page_first() {
    let (script, base) = serve(Script {
        users: 300,
        honour_count: true,
        ..Default::default()
    })
    .await;
    let users = client(&base, SECRET)
        .list_users(&UserQuery::default())
        .await
        .unwrap();
    assert_each_once(&users, 300);
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_total_follows_next_links_signing_each() {
    let (script, base) = serve(Script {
        users: 1_234,
        honour_count: false,
        ..Default::default()
    })
    .await;
    let query = UserQuery {
        page_size: 500,
        tql: Some("userName = \"a b\"".into()),
        ..Default::default()
    };
    // the scripted server ignores the TQL; every page is still signed right
    let users = client(&base, SECRET).list_users(&query).await.unwrap();
    assert_each_once(&users, 1_234);
    let seen = script.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[1],
        "GET /api/v3/security/users?resultStart=500&resultLimit=500"
    );
}

#[tokio::test]
async fn transient_failures_are_retried_three_times_at_most() {
    let (script, base) = serve(Script {
        users: 10,
        honour_count: true,
        fail_first: AtomicUsize::new(2),
        ..Default::default()
    })
    .await;
    let users = client(&base, SECRET)
        .list_users(&UserQuery::default())
        .await
        .unwrap();
    assert_each_once(&users, 10);
    assert_eq!(script.seen.lock().unwrap().len(), 3);

    script.fail_first.store(3, Ordering::SeqCst);
    let err = client(&base, SECRET)
        .list_users(&UserQuery::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(err.server_message(), Some("busy"));
    assert_eq!(script.seen.lock().unwrap().len(), 6);

    // writes are never retried
    script.fail_first.store(1, Ordering::SeqCst);
    let err = client(&base, SECRET)
        .delete_user(5, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(script.seen.lock().unwrap().len(), 7);
}

#[tokio::test]
async fn api_not_licensed_is_not_retried_and_says_what_it_means() {
    let (script, base) = serve(Script {
        users: 3,
        honour_count: true,
        unlicensed_first: AtomicUsize::new(1),
        ..Default::default()
    })
    .await;
    let err = client(&base, SECRET).whoami().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        script.seen.lock().unwrap().len(),
        1,
        "one request, no retry"
    );
    assert_eq!(
        err.to_string(),
        "API not licensed (HTTP 503 service unavailable: ThreatConnect answers this when the instance is not licensed for the API)"
    );

    // a 503 that says when to come back is a busy server: retried
    let (script, base) = serve(Script {
        users: 3,
        honour_count: true,
        unlicensed_first: AtomicUsize::new(1),
        unlicensed_retry_after: true,
        ..Default::default()
    })
    .await;
    let users = client(&base, SECRET)
        .list_users(&UserQuery::default())
        .await
        .unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(script.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn next_links_naming_another_origin_are_rebased_and_signed_for_ours() {
    let (script, base) = serve(Script {
        users: 250,
        honour_count: false,
        next_origin: Some("https://tc.corp.example:8443".into()),
        ..Default::default()
    })
    .await;
    let query = UserQuery {
        page_size: 100,
        ..Default::default()
    };
    // the scripted server refuses any request whose signature does not
    // match the path and query it received
    let users = client(&base, SECRET).list_users(&query).await.unwrap();
    assert_each_once(&users, 250);
    let seen = script.seen.lock().unwrap();
    assert_eq!(
        seen[1..],
        [
            "GET /api/v3/security/users?resultStart=100&resultLimit=100",
            "GET /api/v3/security/users?resultStart=200&resultLimit=100"
        ]
    );
}

/// 250 accounts in pages of 100 whose offset pages start 3 accounts early.
async fn overlapping_listing() -> (String, UserQuery) {
    let (_script, base) = serve(Script {
        users: 250,
        honour_count: true,
        overlap: 3,
        ..Default::default()
    })
    .await;
    let query = UserQuery {
        page_size: 100,
        ..Default::default()
    };
    (base, query)
}

#[tokio::test]
async fn overlapping_offset_pages_yield_each_account_once() {
    let (base, query) = overlapping_listing().await;
    let (users, dropped) = client(&base, SECRET)
        .list_users_counted(&query)
        .await
        .unwrap();
    assert_each_once(&users, 250);
    // the first page is not shifted: the second repeats its last 3
    assert_eq!(dropped, 3);
}

/// Pages turned on their own tasks (`list_users_mapped`) come in offset
/// order with the repeats an unstable order causes; a rendered page's
/// `fresh` rows leave them out, so the CSV is byte for byte the
/// deduplicated listing's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_pages_leave_out_accounts_an_earlier_page_gave() {
    use rollcall::ops::export::{write_csv_with, RenderedPage};
    let (base, query) = overlapping_listing().await;
    let client = client(&base, SECRET);
    let now = chrono::Utc::now();
    let render = Arc::new(move |users: Vec<rollcall::domain::User>| {
        (
            users.iter().map(|u| u.id).collect::<Vec<_>>(),
            RenderedPage::csv(&users, Some(90), now).unwrap(),
        )
    });
    let mut ids = Vec::new();
    let mut starts = Vec::new();
    let (mut csv, mut csv_seen) = (Vec::new(), std::collections::HashSet::new());
    client
        .list_users_mapped(&query, (render, 2), &mut |page| {
            let (page_ids, rendered_csv) = page.value;
            starts.push(page.start);
            ids.extend(page_ids);
            for row in rendered_csv.fresh(&mut csv_seen) {
                csv.extend_from_slice(row);
            }
        })
        .await
        .unwrap();
    assert_eq!(starts, [0, 100, 200], "in offset order");
    assert_eq!(ids.len(), 253, "the repeats are not dropped before the map");
    let users = client.list_users(&query).await.unwrap();
    assert_each_once(&users, 250);
    let mut want_csv = Vec::new();
    write_csv_with(&users, Some(90), now, &mut want_csv).unwrap();
    let header_end = want_csv.iter().position(|b| *b == b'\n').unwrap() + 1;
    assert_eq!(
        String::from_utf8_lossy(&csv),
        String::from_utf8_lossy(&want_csv[header_end..])
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (script, base) = serve(Script {
        users: 3,
        honour_count: true,
        throttle_first: AtomicUsize::new(1),
        ..Default::default()
    })
    .await;
    let started = Instant::now();
    let users = client(&base, SECRET)
        .list_users(&UserQuery::default())
        .await
        .unwrap();
    assert_eq!(users.len(), 3);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(script.seen.lock().unwrap().len(), 2);
}

/// A 429 is a refusal before anything was done: a write is sent again
/// after `Retry-After`, as a read is.
#[tokio::test]
async fn a_throttled_write_is_sent_again_after_retry_after() {
    let (script, base) = serve(Script {
        users: 3,
        honour_count: true,
        throttle_first: AtomicUsize::new(1),
        ..Default::default()
    })
    .await;
    let started = Instant::now();
    let err = client(&base, SECRET)
        .delete_user(5, None, None)
        .await
        .unwrap_err();
    // The second answer is the scripted server's 404 for anything but a listing.
    assert_eq!(err.status(), Some(404));
    assert!(started.elapsed() >= Duration::from_millis(900));
    let seen = script.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen
        .iter()
        .all(|s| s.starts_with("DELETE /api/v3/security/users/5")));
}

#[tokio::test]
async fn wrong_secret_and_skewed_clock_are_http_401_with_the_message() {
    let (_script, base) = serve(Script {
        users: 3,
        honour_count: true,
        ..Default::default()
    })
    .await;
    let err = client(&base, "wrong").whoami().await.unwrap_err();
    assert_eq!(
        err,
        ApiError::Http {
            status: 401,
            message: "Invalid signature".into(),
            err_code: Some("0x1".into())
        }
    );
    let skewed = client(&base, SECRET);
    skewed.set_clock_offset(-600);
    assert_eq!(
        skewed
            .list_users(&UserQuery::default())
            .await
            .unwrap_err()
            .status(),
        Some(401)
    );
    skewed.set_clock_offset(0);
    assert_eq!(
        skewed
            .list_users(&UserQuery::default())
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn failed_discovery_degrades_to_empty_capabilities() {
    let (_script, base) = serve(Script {
        users: 1,
        honour_count: true,
        ..Default::default()
    })
    .await;
    let caps = client(&base, SECRET).capabilities().await.unwrap();
    assert_eq!(caps, Default::default());
    // missing endpoints of the rollcall extensions are 404s, not panics
    let err = client(&base, SECRET).instance_settings().await.unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn non_json_success_is_a_decode_error() {
    let (_script, base) = serve(Script {
        users: 1,
        garbage: true,
        ..Default::default()
    })
    .await;
    let err = client(&base, SECRET).whoami().await.unwrap_err();
    assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
    assert!(!err.to_string().contains('\n'));
    assert!(err.to_string().contains("HTML page, not JSON"), "{err}");
}

//! The client: one `Client` (cheap to clone) per connection.

use super::auth::{Credentials, Secret};
use super::error::ApiError;
use super::net::{self, ClientOptions};
use super::wire::*;
use crate::domain::{LastLoginReported, User};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// `resultLimit` when the query does not say: the largest page, since a
/// full listing costs a round trip per page and little per account.
pub const DEFAULT_PAGE_SIZE: u32 = MAX_PAGE_SIZE;
/// The largest `resultLimit` ThreatConnect accepts.
pub const MAX_PAGE_SIZE: u32 = 10_000;
/// Parallel page fetches when `Connection.concurrency` is 0.
pub const DEFAULT_CONCURRENCY: usize = 10;
/// Attempts for a GET or OPTIONS that fails transiently, or any request
/// refused with 429 without saying when to come back.
const MAX_ATTEMPTS: u32 = 3;
/// Attempts for a request refused with 429 and a `Retry-After`: a rate
/// limit is a normal state of a long run, and the server says when it will
/// take the request (each wait within `MAX_RETRY_AFTER` and the deadline).
const MAX_THROTTLED_ATTEMPTS: u32 = 10;
/// The longest `Retry-After` worth waiting for inside one call.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Same-origin redirects followed for one read.
const MAX_REDIRECTS: u32 = 5;
/// Pages of one listing. A count needing more than this (a billion
/// accounts, or millions in pages of one) is not believed.
pub const MAX_PAGES: u64 = 100_000;

/// A complete answer, or a redirect for `send` to judge.
enum Answer {
    Body(Vec<u8>),
    Redirect { status: u16, location: String },
}

/// Which wait ran out.
#[derive(Clone, Copy)]
enum Waiting {
    FirstByte,
    Idle,
    Total,
}

/// `limit`, or what is left before `deadline` when that is shorter (then
/// the call's total is what runs out).
fn within(limit: Duration, which: Waiting, deadline: Instant) -> (Duration, Waiting) {
    let left = deadline.saturating_duration_since(Instant::now());
    if left < limit {
        (left, Waiting::Total)
    } else {
        (limit, which)
    }
}

/// `256 MB`, or the exact bytes below a megabyte (tests use small limits).
fn megabytes(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct Connection {
    /// Base URL, e.g. `https://tc.example.com/api` (`/api` is added when
    /// missing).
    pub api_path: String,
    pub credentials: Credentials,
    /// Refuse every request but GET and OPTIONS before it reaches the network.
    pub read_only: bool,
    /// Parallel page fetches when listing.
    pub concurrency: usize,
}

/// Options for listing users.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Extra fields (`fields=a&fields=b`).
    pub fields: Vec<String>,
    pub tql: Option<String>,
    /// e.g. `userName asc`.
    pub sorting: Option<String>,
    /// `resultLimit` per page; 0 means the client's default.
    pub page_size: u32,
    /// `owner=NAME`: only the accounts of this Organization.
    pub owner: Option<String>,
}

/// A page of a listing turned by a caller's map (see
/// `Client::list_users_mapped`).
#[derive(Clone, Debug)]
pub struct Mapped<R> {
    pub value: R,
    /// Total when the server reported it (`count=true`).
    pub total: Option<u64>,
    pub start: u64,
}

/// A page as decoded on its own task: its length on the wire (counting
/// items left out unread), its count and `next`, its items turned.
struct Fetched<R> {
    len: u64,
    count: Option<u64>,
    next: Option<String>,
    value: R,
}

impl<R> Fetched<R> {
    fn of<T>(page: ListEnvelope<T>, map: &dyn Fn(Vec<T>) -> R) -> Self {
        Fetched {
            len: page.data.len() as u64 + page.skipped,
            count: page.count,
            next: page.next,
            value: map(page.data),
        }
    }
}

/// One page of a listing.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Total when the server reported it (`count=true`).
    pub total: Option<u64>,
    pub start: u64,
}

/// What an instance says it supports (OPTIONS discovery).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Fields of the user object (from `OPTIONS /v3/security/users?show=readonly`).
    pub user_fields: BTreeSet<String>,
    /// Extra fields for `fields=` (from `OPTIONS /v3/security/users/fields`).
    pub extra_fields: BTreeSet<String>,
    /// Of those, the ones marked `includedByDefault`.
    pub default_fields: BTreeSet<String>,
    /// User fields a PUT cannot change: marked `readOnly: true` or
    /// `updatable: false` in `OPTIONS /v3/security/users?show=readonly`.
    pub not_updatable: BTreeSet<String>,
    /// TQL keywords (from `OPTIONS /v3/security/users/tql`).
    pub tql_keywords: BTreeSet<String>,
    /// rollcall extensions the instance advertises (see `wire::ext`).
    pub extensions: BTreeSet<String>,
    /// Extra fields of user groups (from `OPTIONS /v3/security/userGroups/fields`,
    /// read by `user_group_fields`); `users` gives group membership on a
    /// plain instance.
    pub group_fields: BTreeSet<String>,
}

impl Capabilities {
    pub fn has(&self, extension: &str) -> bool {
        self.extensions.contains(extension)
    }

    /// Whether the instance says it returns `lastLogin` by default, so an
    /// absent value means "never" even before any account shows one.
    pub fn last_login_advertised(&self) -> LastLoginReported {
        if self.default_fields.contains("lastLogin") {
            LastLoginReported::Returned
        } else {
            LastLoginReported::NotSeen
        }
    }
}

/// A cheap-to-clone handle; every request goes through one private `send`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_path", &self.inner.api_path)
            .field("credentials", &self.credentials())
            .field("read_only", &self.inner.read_only)
            .field("concurrency", &self.inner.concurrency)
            .field("options", &self.inner.options)
            .finish()
    }
}

struct Inner {
    http: reqwest::Client,
    /// The parsed `api_path`, without a trailing slash.
    base: Url,
    api_path: String,
    /// Replaced only when a refreshed token arrives (see `refresh_token`).
    credentials: RwLock<Credentials>,
    /// Bumped at each token refresh, so that requests refused together
    /// refresh once.
    credentials_generation: AtomicU64,
    refreshing: tokio::sync::Mutex<()>,
    read_only: bool,
    concurrency: usize,
    /// Seconds added to the local clock when signing (tests skew it).
    clock_offset: AtomicI64,
    /// First retry delay; doubled for each further attempt.
    retry_delay: Duration,
    options: ClientOptions,
    /// What the admin should hear once per session (see `notices`).
    notices: Vec<String>,
    /// Each listing's last count, by `listing_key`: how many pages to send
    /// at once the next time.
    listing_sizes: std::sync::Mutex<std::collections::HashMap<String, u64>>,
    /// Pages of a listing sent ahead of it (`prefetch_users`), by URL.
    prefetched: std::sync::Mutex<std::collections::HashMap<String, Prefetched>>,
    /// Requests recorded since `record_requests` (evidence bundles).
    recorded: std::sync::Mutex<Option<Vec<RecordedRequest>>>,
}

/// A listing's identity for its size: the path and what selects entries
/// (a filter, an owner), not the fields or the order asked for.
fn listing_key(path: &str, params: &[(String, String)]) -> String {
    let mut key = path.to_string();
    for (name, value) in params {
        if !matches!(name.as_str(), "fields" | "sorting") {
            key.push_str(&format!("&{name}={value}"));
        }
    }
    key
}

/// A page asked for before its listing began (`Client::prefetch_users`):
/// its answer's head may come meanwhile, its body waits in the socket
/// until the listing that takes it sends the page's turn.
struct Prefetched {
    /// The listing it belongs to (`listing_key`): what drops it unused.
    key: String,
    turn: tokio::sync::oneshot::Sender<Gate>,
    answer: PageTask<Vec<u8>>,
}

/// `resultLimit` for a listing's `page_size` (0: the default).
fn page_limit(page_size: u32) -> u64 {
    match page_size {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
    .into()
}

/// Drops, when a listing ends, the pages sent ahead for it that it did
/// not take (a plan that guessed more pages, or other fields).
struct DropPrefetched<'a>(&'a Client, &'a str);

impl Drop for DropPrefetched<'_> {
    fn drop(&mut self) {
        if let Ok(mut sent) = self.0.inner.prefetched.lock() {
            sent.retain(|_, page| page.key != self.1);
        }
    }
}

/// Pages read and decoded ahead of the one handed over next, at most (see
/// `list_paged`): pages asked for together arrive in any order (the first
/// may come last), and whichever come are decoded while it is awaited, up
/// to this many held. Each held page of 10,000 accounts is about 6 MB.
pub const PAGES_HELD: usize = 4;

/// What a request waits for before reading its answer's body.
type Gate = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A page fetched on its own task; dropping it (a listing stopped or cut
/// short) stops the request.
struct PageTask<T>(tokio::task::JoinHandle<Result<T, ApiError>>);

impl<T> Drop for PageTask<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for PageTask<T> {
    type Output = Result<T, ApiError>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|joined| match joined {
                Ok(page) => page,
                Err(e) => Err(ApiError::Transport(format!(
                    "a page's request stopped: {e}"
                ))),
            })
    }
}

/// One request as an evidence bundle lists it: method, path and query
/// (signatures and tokens travel in headers, which are never recorded),
/// and the status of its answer (`None`: no answer came).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub status: Option<u16>,
}

/// The query parameter that puts a write on ThreatConnect's Activity tab
/// (a documented v3 parameter).
pub const ACTIVITY_LOG_PARAM: &str = "createActivityLog";

/// The names of a URL's query parameters, for the log: their values (a
/// filter, perhaps someone's name) stay out of it.
fn query_keys(url: &Url) -> String {
    let keys: Vec<String> = url.query_pairs().map(|(key, _)| key.into_owned()).collect();
    crate::domain::text::sanitize(&keys.join(",")).into_owned()
}

/// A failure without an HTTP status, for the log. Our own wording, built
/// from the URL without its query; a decode error's text may quote the
/// server's answer, so only its kind is logged.
fn error_for_log(error: &ApiError) -> String {
    match error {
        ApiError::Decode { .. } => "unreadable answer".to_string(),
        other => crate::domain::text::sanitize(&other.to_string()).into_owned(),
    }
}

/// Why a request is sent again, in a few words for the log.
fn retry_reason(error: &ApiError, wait: Option<Duration>) -> String {
    let after = match wait {
        Some(wait) => format!(" (Retry-After {} s)", wait.as_secs()),
        None => String::new(),
    };
    match error {
        ApiError::Http { status: 429, .. } => format!("HTTP 429 too many requests{after}"),
        ApiError::Http { status, .. } => format!("HTTP {status} server error{after}"),
        ApiError::Dropped { .. } => "the connection dropped before an answer".to_string(),
        ApiError::Network { .. } => "the instance could not be reached".to_string(),
        other => error_for_log(other),
    }
}

/// `{"status":..,"message":..,"errCode":..}` of any answer, when present.
#[derive(Deserialize)]
struct StatusProbe {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "errCode")]
    err_code: Option<String>,
}

/// The request target that is both signed and sent: path plus `?query`.
pub fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{}", url.path(), query),
        None => url.path().to_string(),
    }
}

/// Parses and checks a base URL: http(s), ending in `/api` once normalized.
pub fn parse_api_path(api_path: &str) -> Result<Url, ApiError> {
    normalize_api_path(api_path).map(|(url, _)| url)
}

/// As `parse_api_path`, and whether `/api` had to be added: tcex and other
/// tools take the bare host (`https://tc.example.com`) as their base.
/// A user name or password in the URL is dropped: requests are signed with
/// the profile's credentials, and a URL is shown in messages.
pub fn normalize_api_path(api_path: &str) -> Result<(Url, bool), ApiError> {
    let raw = api_path.trim().trim_end_matches('/');
    // Messages quote the URL as written, less any password.
    let trimmed = &net::redact_userinfo(raw);
    let mut url = Url::parse(raw)
        .map_err(|e| ApiError::Config(format!("api_path '{trimmed}' is not a URL: {e}")))?;
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(ApiError::Config(format!(
            "api_path '{trimmed}' must start with https:// (or http://)"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::Config(format!(
            "api_path '{trimmed}' has no host"
        )));
    }
    let versioned = url
        .path_segments()
        .is_some_and(|mut segments| segments.any(|s| s == "v2" || s == "v3"));
    if url.query().is_some() || url.fragment().is_some() || versioned {
        return Err(ApiError::Config(format!(
            "api_path '{trimmed}' must be the base URL, ending in /api (e.g. https://tc.example.com/api)"
        )));
    }
    if url.path().ends_with("/api") {
        return Ok((url, false));
    }
    let path = format!("{}/api", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok((url, true))
}

/// Whether a URL as written carries `user[:password]@`.
fn has_userinfo(text: &str) -> bool {
    Url::parse(text.trim()).is_ok_and(|u| !u.username().is_empty() || u.password().is_some())
}

/// A host that never leaves this machine (the sandbox), where http:// is fine.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The URL without its query or user information, for messages.
fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Whether a body is an HTML page (a proxy's, a login portal's, or the web
/// UI's when `api_path` misses `/api`).
fn looks_like_html(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    // JSON never starts with `<`; markup always does.
    body.get(start) == Some(&b'<')
}

fn decode_error(url: &Url, error: &serde_json::Error) -> ApiError {
    decode_error_in(url, b"", error)
}

/// serde's messages quote the offending server text: sanitized. An HTML
/// page or a body that ends early gets a plain-words reason instead.
fn decode_error_in(url: &Url, body: &[u8], error: &serde_json::Error) -> ApiError {
    let reason = if looks_like_html(body) {
        "the server answered with an HTML page, not JSON (a proxy or login page? is api_path the instance's base URL ending in /api?)".to_string()
    } else if error.is_eof() {
        format!("the answer ends early: truncated JSON ({error})")
    } else {
        error.to_string()
    };
    ApiError::Decode {
        url: display_url(url),
        reason: crate::domain::text::sanitize(&reason).into_owned(),
    }
}

/// The server's message for a failed answer: its JSON `message`, or a short
/// plain-text body; sanitized, since it may reach a terminal.
fn http_error(status: u16, body: &[u8]) -> ApiError {
    let (message, err_code) = match serde_json::from_slice::<StatusProbe>(body) {
        Ok(probe) => (probe.message.unwrap_or_default(), probe.err_code),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            // An HTML error page from a proxy says nothing useful in one line.
            if text.len() <= 200 && !text.starts_with('<') {
                (text.to_string(), None)
            } else {
                (String::new(), None)
            }
        }
    };
    ApiError::Http {
        status,
        message: crate::domain::text::sanitize(&message).into_owned(),
        err_code: err_code.map(|c| crate::domain::text::sanitize(&c).into_owned()),
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// `data` of an envelope, or the whole answer when it is not wrapped.
fn unwrap_data(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(mut map) if map.contains_key("data") => {
            map.remove("data").unwrap_or(serde_json::Value::Null)
        }
        other => other,
    }
}

/// Names from an OPTIONS answer: the keys of an object (field name ->
/// description), or the `name`/`keyword` of each item of an array.
fn names_in(value: &serde_json::Value, item_key: &str) -> BTreeSet<String> {
    const NOT_FIELDS: &[&str] = &["status", "count", "message", EXTENSIONS_KEY];
    match value {
        serde_json::Value::Object(map) => map
            .keys()
            .filter(|k| !NOT_FIELDS.contains(&k.as_str()))
            .cloned()
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Object(m) => {
                    m.get(item_key).and_then(|v| v.as_str()).map(String::from)
                }
                _ => None,
            })
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// Field names whose descriptor says a PUT cannot change them. The answer
/// is a map of name to descriptor (or a list of descriptors with `name`).
fn not_updatable_in(value: &serde_json::Value) -> BTreeSet<String> {
    let fixed = |d: &serde_json::Value| {
        d.get("readOnly").and_then(|v| v.as_bool()) == Some(true)
            || d.get("updatable").and_then(|v| v.as_bool()) == Some(false)
    };
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, d)| fixed(d))
            .map(|(name, _)| name.clone())
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .filter(|d| fixed(d))
            .filter_map(|d| d.get("name").and_then(|n| n.as_str()).map(String::from))
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// The extensions list, at the top level of the answer or inside `data`.
fn extensions_in(answer: &serde_json::Value) -> BTreeSet<String> {
    let list = answer
        .get(EXTENSIONS_KEY)
        .or_else(|| answer.get("data").and_then(|d| d.get(EXTENSIONS_KEY)));
    match list {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => BTreeSet::new(),
    }
}

type Params = Vec<(String, String)>;

/// The order of a user listing when none is asked for: `id` is a users
/// TQL keyword, and a stable order keeps offset pages from overlapping.
pub const DEFAULT_SORTING: &str = "id asc";

/// `page` without the accounts whose `id` an earlier page (or this one)
/// already had; the copy that arrived first is kept, the rest counted in
/// `dropped`.
/// This also keeps a bulk run from writing one account twice.
fn dedupe_page(mut page: Page<User>, seen: &mut HashSet<i64>, dropped: &mut usize) -> Page<User> {
    let before = page.items.len();
    page.items.retain(|user| seen.insert(user.id));
    *dropped += before - page.items.len();
    page
}

impl Client {
    /// A client with the default transport: bundled and OS roots,
    /// `HTTPS_PROXY`/`NO_PROXY` from the environment, activity log on.
    pub fn new(connection: Connection) -> Result<Self, ApiError> {
        Self::with_options(connection, ClientOptions::default())
    }

    /// A client with a profile's CA files, proxy, TLS and activity-log
    /// settings. Problems with them (an unreadable CA file, a bad proxy
    /// URL) are one-line `Config` errors here, before any request.
    pub fn with_options(connection: Connection, options: ClientOptions) -> Result<Self, ApiError> {
        let (base, added_api) = normalize_api_path(&connection.api_path)?;
        let http = net::http_client(&options)?;
        let mut notices = options.notices.clone();
        if added_api {
            notices.push(format!(
                "api_path {} has no /api: using {}",
                net::redact_userinfo(connection.api_path.trim()),
                base
            ));
        }
        if has_userinfo(&connection.api_path) {
            notices.push(format!(
                "api_path has a user name or password in it: ignored (requests are signed with the profile's credentials); remove it and use {base}"
            ));
        }
        if base.scheme() == "http" && !is_loopback(&base) {
            notices.push(format!(
                "api_path {base} is plain http://: ThreatConnect instances answer only HTTPS (a plain request gets 403), and the credentials travel unencrypted"
            ));
        }
        if let Some(setting) = &options.insecure {
            notices.push(format!(
                "TLS certificate checks are OFF ({setting}), for labs only: anyone on the way to {} can read and change this session",
                base.host_str().unwrap_or("the instance")
            ));
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api_path: base.to_string(),
                base,
                credentials: RwLock::new(connection.credentials),
                credentials_generation: AtomicU64::new(0),
                refreshing: tokio::sync::Mutex::new(()),
                read_only: connection.read_only,
                concurrency: if connection.concurrency == 0 {
                    DEFAULT_CONCURRENCY
                } else {
                    connection.concurrency
                },
                clock_offset: AtomicI64::new(0),
                retry_delay: Duration::from_millis(200),
                options,
                notices,
                listing_sizes: Default::default(),
                prefetched: Default::default(),
                recorded: std::sync::Mutex::new(None),
            }),
        })
    }

    /// From now on, every request this client (and its clones) sends is
    /// recorded, each attempt apart; a recording already under way goes on.
    pub fn record_requests(&self) {
        if let Ok(mut recorded) = self.inner.recorded.lock() {
            recorded.get_or_insert_with(Vec::new);
        }
    }

    /// The requests recorded since [`Client::record_requests`], in the
    /// order their answers came; empty when nothing is being recorded.
    pub fn recorded_requests(&self) -> Vec<RecordedRequest> {
        match self.inner.recorded.lock() {
            Ok(recorded) => recorded.clone().unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    /// The credentials requests are signed with now.
    fn credentials(&self) -> Credentials {
        match self.inner.credentials.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// After a 401 to a token: runs the refresher once for all the
    /// requests refused with the token of `generation`. `true` when a new
    /// token is in place (by this call or a concurrent one).
    async fn refresh_token(&self, generation: u64) -> bool {
        let Some(refresh) = self.inner.options.token_refresh.clone() else {
            return false;
        };
        if !matches!(self.credentials(), Credentials::Token(_)) {
            return false;
        }
        let _one_at_a_time = self.inner.refreshing.lock().await;
        if self.inner.credentials_generation.load(Ordering::SeqCst) != generation {
            return true;
        }
        let fresh = tokio::task::spawn_blocking(move || (refresh.0)()).await;
        let Ok(Ok(token)) = fresh else {
            return false;
        };
        if let Ok(mut credentials) = self.inner.credentials.write() {
            *credentials = Credentials::Token(token);
        }
        self.inner
            .credentials_generation
            .fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Warnings to give once per session, not per request: `/api` added to
    /// the base URL, plain http:// to a remote host, TLS checks off. The
    /// scripted commands print them on stderr, the console on its status line.
    pub fn notices(&self) -> &[String] {
        &self.inner.notices
    }

    /// Certificate checks are off (`verify_tls = false` or `TC_VERIFY`).
    pub fn tls_unverified(&self) -> bool {
        self.inner.options.insecure.is_some()
    }

    /// Writes ask ThreatConnect to record them on its Activity tab.
    pub fn activity_log(&self) -> bool {
        self.inner.options.activity_log
    }

    /// The base URL, ending in `/api`.
    pub fn api_path(&self) -> &str {
        &self.inner.api_path
    }

    /// Who signs the requests, as far as the client can say before the
    /// instance does: the access id, or `token` for a token's holder.
    pub fn caller_id(&self) -> String {
        match self.inner.credentials.read().as_deref() {
            Ok(Credentials::Hmac { access_id, .. }) => access_id.clone(),
            _ => "token".to_string(),
        }
    }

    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// The connection's concurrency (the profile's `concurrency`, or
    /// `DEFAULT_CONCURRENCY` when it sets none).
    pub fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// Shifts the clock used for `Timestamp` by `seconds` (for testing how
    /// an instance treats a skewed client).
    pub fn set_clock_offset(&self, seconds: i64) {
        self.inner.clock_offset.store(seconds, Ordering::Relaxed);
    }

    /// The URL a request to `path` is sent to: `url`, plus
    /// `createActivityLog=true` on writes to ThreatConnect's documented v3
    /// paths (not rollcall's extensions) unless the profile turned it off.
    pub fn request_url(&self, method: &Method, path: &str, params: &[(String, String)]) -> Url {
        let write = !matches!(*method, Method::GET | Method::OPTIONS | Method::HEAD);
        if write && self.inner.options.activity_log && !path.starts_with(EXT_PREFIX) {
            let mut with_log = params.to_vec();
            with_log.push((ACTIVITY_LOG_PARAM.to_string(), "true".to_string()));
            self.url(path, &with_log)
        } else {
            self.url(path, params)
        }
    }

    /// The URL for `path` (below `/api`) with `params` encoded in order.
    pub fn url(&self, path: &str, params: &[(String, String)]) -> Url {
        let mut url = self.inner.base.clone();
        url.set_path(&format!("{}{}", self.inner.base.path(), path));
        if params.is_empty() {
            url.set_query(None);
        } else {
            let mut query = url.query_pairs_mut();
            query.clear();
            for (key, value) in params {
                query.append_pair(key, value);
            }
        }
        url
    }

    /// A signed request, ready to send; refused in read-only mode unless
    /// it is a GET or OPTIONS.
    pub fn prepare(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&serde_json::Value>,
    ) -> Result<reqwest::Request, ApiError> {
        if self.inner.read_only && *method != Method::GET && *method != Method::OPTIONS {
            return Err(ApiError::ReadOnly {
                method: method.to_string(),
                path: url.path().to_string(),
            });
        }
        let timestamp =
            chrono::Utc::now().timestamp() + self.inner.clock_offset.load(Ordering::Relaxed);
        let authorization =
            self.credentials()
                .authorization(&path_and_query(url), method.as_str(), timestamp);
        let mut builder = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header("Timestamp", timestamp.to_string())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            builder = builder.json(body);
        }
        builder
            .build()
            .map_err(|e| ApiError::Config(format!("cannot build request: {e}")))
    }

    /// The one path every request takes: read-only guard, signing, retries
    /// of idempotent reads and of 429s, redirects, time and size limits,
    /// and mapping of failures. Returns a 2xx body.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, ApiError> {
        self.send_gated(method, url, body, None).await
    }

    /// As `send`; a successful answer's body is read only once `gate` is
    /// done (the time spent waiting for it is added to the deadline), so a
    /// listing's later pages wait in the socket rather than in memory.
    async fn send_gated(
        &self,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        mut gate: Option<Gate>,
    ) -> Result<Vec<u8>, ApiError> {
        let idempotent = method == Method::GET || method == Method::OPTIONS;
        // One deadline for the whole call, retries included, so a retry
        // never multiplies what a person waits.
        let deadline = Instant::now() + self.inner.options.limits.request;
        let mut url = url.clone();
        let mut redirects = 0;
        let mut attempt = 1;
        let mut refreshed = false;
        loop {
            let generation = self.inner.credentials_generation.load(Ordering::SeqCst);
            // Signed afresh each attempt: the timestamp (and, after a
            // redirect, the path) must be current.
            let request = self.prepare(&method, &url, body)?;
            let (error, wait) = match self.attempt(request, &url, deadline, &mut gate).await {
                Ok(Answer::Body(bytes)) => return Ok(bytes),
                Ok(Answer::Redirect { status, location }) => {
                    url = self.redirect_target(&method, &url, status, &location)?;
                    redirects += 1;
                    if redirects > MAX_REDIRECTS {
                        return Err(ApiError::Transport(format!(
                            "{} redirected more than {MAX_REDIRECTS} times: stopped",
                            display_url(&url)
                        )));
                    }
                    continue;
                }
                Err(failure) => failure,
            };
            // A refused token is renewed once and the request sent again (a
            // 401 was refused before anything changed, so a write may be too).
            if error.status() == Some(401) && !refreshed {
                refreshed = true;
                if self.refresh_token(generation).await {
                    tracing::info!(
                        %method,
                        path = %crate::domain::text::sanitize(url.path()),
                        "token refused (401): sending again with a renewed token"
                    );
                    continue;
                }
            }
            // A 429 was refused before anything was done, so any method may
            // be sent again; other failures only for reads (a write's fate
            // is for the caller to read back). A 503 is "API not licensed"
            // unless the server says when to come back.
            let throttled = error.status() == Some(429);
            let retryable = throttled
                || (idempotent
                    && (error.is_transient() || (error.status() == Some(503) && wait.is_some())));
            let attempts = if throttled && wait.is_some() {
                MAX_THROTTLED_ATTEMPTS
            } else {
                MAX_ATTEMPTS
            };
            if attempt >= attempts || !retryable {
                return Err(error);
            }
            let delay = match wait {
                Some(wait) if wait > MAX_RETRY_AFTER => {
                    tracing::info!(
                        %method,
                        path = %crate::domain::text::sanitize(url.path()),
                        retry_after_s = wait.as_secs(),
                        "not retried: the server asks for a longer wait than one call allows"
                    );
                    return Err(error);
                }
                Some(wait) => wait,
                None => self.inner.retry_delay * 2u32.pow(attempt - 1),
            };
            if Instant::now() + delay >= deadline {
                return Err(error);
            }
            tracing::info!(
                %method,
                path = %crate::domain::text::sanitize(url.path()),
                attempt = attempt + 1,
                of = attempts,
                delay_ms = delay.as_millis() as u64,
                reason = %retry_reason(&error, wait),
                "retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One request and its whole answer, within the first-byte, idle and
    /// total limits. A failure comes with the server's `Retry-After`. Each
    /// exchange is logged here, and only its method, path, query keys,
    /// status and time: never headers (the credentials), bodies or query
    /// values.
    async fn attempt(
        &self,
        request: reqwest::Request,
        url: &Url,
        deadline: Instant,
        gate: &mut Option<Gate>,
    ) -> Result<Answer, (ApiError, Option<Duration>)> {
        let method = request.method().clone();
        let started = Instant::now();
        let (status, result) = self.exchange(request, url, deadline, gate).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let path = crate::domain::text::sanitize(url.path()).into_owned();
        let query_keys = query_keys(url);
        if let Ok(mut recorded) = self.inner.recorded.lock() {
            if let Some(list) = recorded.as_mut() {
                list.push(RecordedRequest {
                    method: method.to_string(),
                    path: path.clone(),
                    query: url
                        .query()
                        .map(|q| crate::domain::text::sanitize(q).into_owned()),
                    status,
                });
            }
        }
        match &result {
            // No answer, or one that could not be read: what went wrong.
            Err((error, _)) if error.status().is_none() => tracing::info!(
                %method, %path, %query_keys, status, elapsed_ms,
                error = %error_for_log(error), "request failed"
            ),
            _ => tracing::info!(%method, %path, %query_keys, status, elapsed_ms, "request"),
        }
        result
    }

    /// The exchange itself; the status is `None` when no answer's head came.
    async fn exchange(
        &self,
        request: reqwest::Request,
        url: &Url,
        mut deadline: Instant,
        gate: &mut Option<Gate>,
    ) -> (Option<u16>, Result<Answer, (ApiError, Option<Duration>)>) {
        let limits = &self.inner.options.limits;
        let (limit, which) = within(limits.first_byte, Waiting::FirstByte, deadline);
        let response = match tokio::time::timeout(limit, self.inner.http.execute(request)).await {
            Err(_) => return (None, Err((self.timed_out(url, which), None))),
            Ok(Err(e)) => return (None, Err((self.transport_error(url, &e), None))),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        let code = Some(status.as_u16());
        if status.is_redirection() {
            if let Some(location) = response.headers().get(reqwest::header::LOCATION) {
                let location = String::from_utf8_lossy(location.as_bytes()).into_owned();
                let redirect = Answer::Redirect {
                    status: status.as_u16(),
                    location,
                };
                return (code, Ok(redirect));
            }
        }
        let wait = retry_after(response.headers());
        if status.is_success() {
            if let Some(gate) = gate.take() {
                let waiting = Instant::now();
                gate.await;
                deadline += waiting.elapsed();
            }
        }
        let bytes = match self.read_body(response, url, deadline).await {
            Ok(bytes) => bytes,
            Err(e) => return (code, Err((e, None))),
        };
        if status.is_success() {
            (code, Ok(Answer::Body(bytes)))
        } else {
            (code, Err((self.refusal(status.as_u16(), &bytes), wait)))
        }
    }

    /// The body, chunk by chunk: a stall longer than the idle limit, the
    /// call's deadline, or more bytes than `max_answer_mb` stop it. The
    /// server's `Content-Length` is only ever used to refuse early, never
    /// to size a buffer.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        url: &Url,
        deadline: Instant,
    ) -> Result<Vec<u8>, ApiError> {
        let limits = &self.inner.options.limits;
        let max = limits.max_answer_bytes;
        let too_large = || ApiError::Decode {
            url: display_url(url),
            reason: format!(
                "the answer is larger than {} (max_answer_mb): stopped reading it",
                megabytes(max)
            ),
        };
        if response.content_length().is_some_and(|len| len > max) {
            return Err(too_large());
        }
        // Sized once from the stated length (already checked against the
        // limit): growing by doubling would briefly hold twice a large page.
        let mut body = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
        loop {
            let (limit, which) = within(limits.idle, Waiting::Idle, deadline);
            match tokio::time::timeout(limit, response.chunk()).await {
                Err(_) => return Err(self.timed_out(url, which)),
                Ok(Err(e)) => return Err(self.transport_error(url, &e)),
                Ok(Ok(None)) => return Ok(body),
                Ok(Ok(Some(chunk))) => {
                    if (body.len() + chunk.len()) as u64 > max {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
    }

    /// The wait that ran out, as one line naming the profile key to change.
    fn timed_out(&self, url: &Url, which: Waiting) -> ApiError {
        let limits = &self.inner.options.limits;
        let reason = match which {
            Waiting::FirstByte => format!(
                "no answer within {}; first_byte_timeout_s",
                net::seconds(limits.first_byte)
            ),
            Waiting::Idle => format!("no data for {}; idle_timeout_s", net::seconds(limits.idle)),
            Waiting::Total => format!(
                "no complete answer within {}; request_timeout_s",
                net::seconds(limits.request)
            ),
        };
        ApiError::Timeout {
            url: display_url(url),
            reason,
        }
    }

    /// Where a redirect may be followed: only a read, and only on the same
    /// origin (scheme, host and port). A write re-sent elsewhere would carry
    /// its body (a new password) to whoever the answer names.
    fn redirect_target(
        &self,
        method: &Method,
        from: &Url,
        status: u16,
        location: &str,
    ) -> Result<Url, ApiError> {
        let shown = display_url(from);
        let target = from.join(location.trim()).ok();
        let elsewhere = target.as_ref().map_or_else(
            || "an unreadable address".to_string(),
            |t| crate::domain::text::sanitize(&t.origin().ascii_serialization()).into_owned(),
        );
        if *method != Method::GET && *method != Method::OPTIONS {
            return Err(ApiError::Transport(format!(
                "{method} {shown} was answered with a redirect (HTTP {status}) to {elsewhere}: not followed, a write is never sent again elsewhere; check api_path"
            )));
        }
        match target {
            Some(mut target) if target.origin() == from.origin() => {
                target.set_fragment(None);
                Ok(target)
            }
            _ => Err(ApiError::Transport(format!(
                "{shown} redirects (HTTP {status}) to another origin, {elsewhere}: not followed; if the instance moved, set api_path to its new address"
            ))),
        }
    }

    fn transport_error(&self, url: &Url, error: &reqwest::Error) -> ApiError {
        net::transport_error(error, url, display_url(url), &self.inner.options)
    }

    /// A non-2xx answer as an error; a 401 to a token says what it means.
    fn refusal(&self, status: u16, body: &[u8]) -> ApiError {
        let error = http_error(status, body);
        match (error, &self.credentials()) {
            (
                ApiError::Http {
                    status: 401,
                    message,
                    err_code,
                },
                Credentials::Token(_),
            ) => ApiError::Http {
                status: 401,
                message: if message.is_empty() {
                    "the API token is invalid or expired".to_string()
                } else {
                    format!("the API token is invalid or expired; the server said: {message}")
                },
                err_code,
            },
            (other, _) => other,
        }
    }

    /// Checks a 2xx body's `status` and decodes it.
    fn decode<T: DeserializeOwned>(&self, url: &Url, body: &[u8]) -> Result<T, ApiError> {
        self.check_status(body)?;
        serde_json::from_slice(body).map_err(|e| decode_error_in(url, body, &e))
    }

    /// A 2xx answer whose `status` is not `Success` is a refusal.
    fn check_status(&self, body: &[u8]) -> Result<(), ApiError> {
        if let Ok(StatusProbe {
            status: Some(status),
            message,
            err_code,
        }) = serde_json::from_slice::<StatusProbe>(body)
        {
            if status != SUCCESS {
                let message = message.unwrap_or_else(|| format!("status {status}"));
                return Err(ApiError::Http {
                    status: 200,
                    message: crate::domain::text::sanitize(&message).into_owned(),
                    err_code,
                });
            }
        }
        Ok(())
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &[(String, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        let url = self.request_url(&method, path, params);
        let bytes = self.send(method, &url, body).await?;
        self.decode(&url, &bytes)
    }

    /// `data` of a single-object envelope; missing `data` is a decode error.
    async fn call_one<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &[(String, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        let url = self.request_url(&method, path, params);
        let bytes = self.send(method, &url, body).await?;
        let envelope: OneEnvelope<T> = self.decode(&url, &bytes)?;
        envelope.data.ok_or_else(|| ApiError::Decode {
            url: display_url(&url),
            reason: "the answer has no data".into(),
        })
    }

    /// An extension answer, enveloped or bare.
    async fn call_ext<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        let url = self.request_url(&method, path, &[]);
        let bytes = self.send(method, &url, body).await?;
        let value: serde_json::Value = self.decode(&url, &bytes)?;
        serde_json::from_value(unwrap_data(value)).map_err(|e| decode_error(&url, &e))
    }

    /// A write whose answer carries no data we need.
    async fn call_no_data(
        &self,
        method: Method,
        path: &str,
        params: &[(String, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<(), ApiError> {
        let url = self.request_url(&method, path, params);
        let bytes = self.send(method, &url, body).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let _: serde_json::Value = self.decode(&url, &bytes)?;
        Ok(())
    }

    async fn get_page<T: DeserializeOwned>(&self, url: &Url) -> Result<ListEnvelope<T>, ApiError> {
        let bytes = self.send(Method::GET, url, None).await?;
        self.decode_page(url, &bytes)
    }

    /// A page's answer, read once: the envelope carries `status`, so only
    /// a page that is not a success is read again for the refusal's words.
    fn decode_page<T: DeserializeOwned>(
        &self,
        url: &Url,
        bytes: &[u8],
    ) -> Result<ListEnvelope<T>, ApiError> {
        match ListEnvelope::decode(bytes) {
            Ok(page) if page.status == SUCCESS => Ok(page),
            decoded => {
                self.check_status(bytes)?;
                decoded.map_err(|e| decode_error_in(url, bytes, &e))
            }
        }
    }

    /// As `get_page`, reading the body only once `turn` is done: until
    /// then the answer waits in the socket, not in memory.
    async fn get_page_when<T: DeserializeOwned>(
        &self,
        url: &Url,
        turn: Gate,
    ) -> Result<ListEnvelope<T>, ApiError> {
        let prefetched = self
            .inner
            .prefetched
            .lock()
            .ok()
            .and_then(|mut sent| sent.remove(url.as_str()));
        let bytes = match prefetched {
            // Sent ahead: it reads its body when this page's turn comes (a
            // request that already failed has no turn to wait for).
            Some(Prefetched {
                turn: gate, answer, ..
            }) => {
                let _ = gate.send(turn);
                answer.await?
            }
            None => self.send_gated(Method::GET, url, None, Some(turn)).await?,
        };
        self.decode_page(url, &bytes)
    }

    /// A `next` link re-based onto the configured origin. Instances build
    /// the link from their own idea of their name, which behind a load
    /// balancer or an alias is not the one we use; only its path and query
    /// are taken, and only below the configured base path, so the request
    /// (and its signature) goes nowhere but the configured instance.
    fn next_url(&self, next: &str) -> Result<Url, ApiError> {
        let base = &self.inner.base;
        let link = base.join(next).map_err(|e| ApiError::Decode {
            url: display_url(base),
            reason: format!("bad next link: {e}"),
        })?;
        let base_path = format!("{}/", base.path());
        if !link.path().starts_with(&base_path) {
            return Err(ApiError::Decode {
                url: display_url(base),
                reason: format!(
                    "next link is outside {} ({})",
                    base.path(),
                    crate::domain::text::sanitize(&display_url(&link))
                ),
            });
        }
        let mut url = base.clone();
        url.set_path(link.path());
        url.set_query(link.query());
        Ok(url)
    }

    /// Every page of a listing, handed over in offset order. Each page is
    /// fetched and decoded on its own task, so pages decode in parallel
    /// while earlier ones are handed over. With a total, the pages after
    /// the first are fetched in parallel by offset; a page that arrives
    /// early waits for the ones before it, and no new request starts while
    /// `concurrency` pages are in flight or held, so memory stays bounded by
    /// the concurrency, not the listing. When the size of this listing is
    /// known from before (`listing_size`), the pages it should have go out
    /// at once with the first, saving a round trip on a far instance; what
    /// the first page's count then rules out is dropped unread. Without a
    /// total, `next` is followed.
    async fn list_paged<T, F>(
        &self,
        path: &str,
        params: &[(String, String)],
        page_size: u32,
        on_page: &mut F,
    ) -> Result<(), ApiError>
    where
        T: DeserializeOwned + Send + 'static,
        F: FnMut(Page<T>) + ?Sized,
    {
        let keep = (Arc::new(|items: Vec<T>| items), PAGES_HELD);
        self.list_paged_mapped(path, params, page_size, keep, &mut |page: Mapped<
            Vec<T>,
        >| {
            on_page(Page {
                items: page.value,
                total: page.total,
                start: page.start,
            })
        })
        .await
    }

    /// As `list_paged`, each page's items turned by `map` on the page's own
    /// task as soon as it is decoded (in parallel, in no order), then
    /// handed over in offset order, at most `held` turned pages waiting for
    /// their turn.
    async fn list_paged_mapped<T, R, M, F>(
        &self,
        path: &str,
        params: &[(String, String)],
        page_size: u32,
        (map, held): (Arc<M>, usize),
        on_page: &mut F,
    ) -> Result<(), ApiError>
    where
        T: DeserializeOwned + Send + 'static,
        R: Send + 'static,
        M: Fn(Vec<T>) -> R + Send + Sync + 'static,
        F: FnMut(Mapped<R>) + ?Sized,
    {
        let limit = page_limit(page_size);
        let key = listing_key(path, params);
        // Pages sent ahead that this listing does not take are dropped
        // with it (their requests stop).
        let _unused = DropPrefetched(self, &key);
        // Pages handed over so far. A page's body is read (and decoded) when
        // it is the one handed over next, or when it takes one of `held`
        // places, kept until it is handed over: pages are
        // decoded in the order they arrive while few are held, and the
        // rest wait in their sockets, not in memory.
        let (handed_over, handed_over_rx) = tokio::sync::watch::channel(0u64);
        let places = Arc::new(tokio::sync::Semaphore::new(held.max(1)));
        let fetch = |start: u64, count: bool| {
            let url = self.page_url(path, params, limit, start, count);
            let client = self.clone();
            let index = start / limit;
            let mut handed_over = handed_over_rx.clone();
            let places = Arc::clone(&places);
            let map = Arc::clone(&map);
            let place = Arc::new(std::sync::Mutex::new(None));
            let taken = Arc::clone(&place);
            (
                start,
                PageTask(tokio::spawn(async move {
                    let turn: Gate = Box::pin(async move {
                        tokio::select! {
                            biased;
                            // A closed channel: the listing stopped; read anyway.
                            _ = handed_over.wait_for(|done| index <= *done) => {}
                            held = places.acquire_owned() => {
                                if let (Ok(held), Ok(mut place)) = (held, taken.lock()) {
                                    *place = Some(held);
                                }
                            }
                        }
                    });
                    let page = client.get_page_when::<T>(&url, turn).await?;
                    let fetched = Fetched::of(page, &*map);
                    // The place is given back when the page is handed over.
                    Ok((url, fetched, place))
                })),
            )
        };
        let concurrency = self.inner.concurrency.max(1) as u64;
        // All the pages it should have when its size is known from before,
        // within the concurrency; one otherwise.
        let first_wave = self
            .listing_size(&key)
            .map_or(1, |total| total.div_ceil(limit).clamp(1, concurrency));
        let mut in_flight: std::collections::VecDeque<_> =
            (0..first_wave).map(|i| fetch(i * limit, i == 0)).collect();
        let Some((_, first_task)) = in_flight.pop_front() else {
            return Ok(());
        };
        let (first_url, first, _) = first_task.await?;
        let first_len = first.len;
        let contradiction = |url: &Url, reason: String| ApiError::Decode {
            url: display_url(url),
            reason: format!("{reason}; its answers contradict each other, stopped"),
        };
        let oversized = |url: &Url, len: u64| {
            contradiction(
                url,
                format!(
                    "a page holds {len} entries, more than the {limit} asked for (resultLimit)"
                ),
            )
        };
        if first_len > limit {
            return Err(oversized(&first_url, first_len));
        }
        let total = first.count;
        let next = first.next.clone();
        on_page(Mapped {
            value: first.value,
            total,
            start: 0,
        });
        handed_over.send_replace(1);
        match total {
            Some(total) => {
                self.remember_listing_size(&key, total);
                // A server that caps resultLimit lower tells us its page
                // size by the length of the first page.
                let step = if first_len > 0 && first_len < limit {
                    first_len
                } else {
                    limit
                };
                // The count is the server's word: it sizes nothing here, and
                // a count no listing could deliver is refused before paging.
                let pages = total.div_ceil(step);
                if pages > MAX_PAGES {
                    return Err(ApiError::Decode {
                        url: display_url(&first_url),
                        reason: format!(
                            "it claims {total} entries in pages of {step} ({pages} pages, more than {MAX_PAGES}): not believable, stopped"
                        ),
                    });
                }
                let end = pages * step;
                // Pages sent ahead at other offsets, or past the count,
                // are dropped (their tasks stop).
                if step != limit {
                    in_flight.clear();
                }
                in_flight.retain(|(start, _)| *start < end);
                let mut next_start = in_flight.back().map_or(step, |(start, _)| start + step);
                loop {
                    // Offsets are asked for as pages are handed over, at
                    // most `concurrency` in flight or held, in order
                    // (streamed output relies on it).
                    while (in_flight.len() as u64) < concurrency && next_start < end {
                        in_flight.push_back(fetch(next_start, false));
                        next_start += step;
                    }
                    let Some((start, task)) = in_flight.pop_front() else {
                        break;
                    };
                    let (url, page, _place) = task.await?;
                    let len = page.len;
                    if len > limit {
                        return Err(oversized(&url, len));
                    }
                    // A page that ends the listing more than a page before
                    // the count: accounts deleted meanwhile explain less.
                    let page_end = start + len;
                    if len < step && page_end.saturating_add(step) < total {
                        return Err(contradiction(
                            &url,
                            format!("it claims {total} entries, but its pages end at {page_end}"),
                        ));
                    }
                    on_page(Mapped {
                        value: page.value,
                        total: Some(total),
                        start,
                    });
                    handed_over.send_modify(|done| *done += 1);
                }
            }
            None => {
                in_flight.clear();
                let mut start = first_len;
                let mut seen = HashSet::new();
                let mut next = next;
                while let Some(link) = next.take() {
                    if !seen.insert(link.clone()) {
                        break;
                    }
                    let url = self.next_url(&link)?;
                    if seen.len() as u64 > MAX_PAGES {
                        return Err(contradiction(
                            &url,
                            format!("its next links go on past {MAX_PAGES} pages"),
                        ));
                    }
                    let page: ListEnvelope<T> = self.get_page(&url).await?;
                    if page.data.is_empty() && page.skipped == 0 {
                        break;
                    }
                    let len = page.data.len() as u64 + page.skipped;
                    if len > limit {
                        return Err(oversized(&url, len));
                    }
                    next = page.next;
                    on_page(Mapped {
                        value: map(page.data),
                        total: None,
                        start,
                    });
                    start += len;
                }
            }
        }
        Ok(())
    }

    /// How many entries a listing had when last counted, if it was.
    fn listing_size(&self, key: &str) -> Option<u64> {
        self.inner.listing_sizes.lock().ok()?.get(key).copied()
    }

    fn remember_listing_size(&self, key: &str, total: u64) {
        if let Ok(mut sizes) = self.inner.listing_sizes.lock() {
            sizes.insert(key.to_string(), total);
        }
    }

    /// One page of a listing: the first asks for the count too.
    fn page_url(
        &self,
        path: &str,
        params: &[(String, String)],
        limit: u64,
        start: u64,
        count: bool,
    ) -> Url {
        let mut all: Params = params.to_vec();
        all.push(("resultStart".into(), start.to_string()));
        all.push(("resultLimit".into(), limit.to_string()));
        if count {
            all.push(("count".into(), "true".into()));
        }
        self.url(path, &all)
    }

    /// Sends the first pages of the user listing `query` now, before it is
    /// asked for, so that they travel while other requests do (a session's
    /// opening): the listing that asks for the same pages takes their
    /// answers instead of sending again, and reads each body only when its
    /// turn comes, so nothing waits in memory. `pages`: how many, when the
    /// listing's size is not known here from before (a hint of an earlier
    /// run). A page already sent ahead is not sent twice; pages the listing
    /// does not take are dropped when it ends.
    pub fn prefetch_users(&self, query: &UserQuery, pages: Option<u64>) {
        let params = Self::listing_params(query);
        let limit = page_limit(query.page_size);
        let key = listing_key(USERS_PATH, &params);
        // All the pages known or planned, up to twice the concurrency:
        // their bodies wait in their sockets, so only the server's work
        // grows with them, and the listing asks for none of them again.
        let most = 2 * self.inner.concurrency.max(1) as u64;
        let wave = self
            .known_pages(query)
            .or(pages)
            .unwrap_or(1)
            .clamp(1, most);
        let Ok(mut sent) = self.inner.prefetched.lock() else {
            return;
        };
        for i in 0..wave {
            let url = self.page_url(USERS_PATH, &params, limit, i * limit, i == 0);
            if sent.contains_key(url.as_str()) {
                continue;
            }
            let (turn, taken) = tokio::sync::oneshot::channel::<Gate>();
            // Never taken: the body is never read (the task is dropped).
            let gate: Gate = Box::pin(async move {
                match taken.await {
                    Ok(turn) => turn.await,
                    Err(_) => std::future::pending().await,
                }
            });
            let client = self.clone();
            let target = url.clone();
            let answer = PageTask(tokio::spawn(async move {
                client
                    .send_gated(Method::GET, &target, None, Some(gate))
                    .await
            }));
            sent.insert(
                url.to_string(),
                Prefetched {
                    key: key.clone(),
                    turn,
                    answer,
                },
            );
        }
    }

    /// How many pages the user listing `query` had when last counted here.
    pub fn known_pages(&self, query: &UserQuery) -> Option<u64> {
        let params = Self::listing_params(query);
        let total = self.listing_size(&listing_key(USERS_PATH, &params))?;
        Some(total.div_ceil(page_limit(query.page_size)).max(1))
    }

    /// Drops every page sent ahead and not taken: the listing they were
    /// sent for is not coming (the console opened elsewhere than the
    /// hint said).
    pub fn drop_prefetched(&self) {
        if let Ok(mut sent) = self.inner.prefetched.lock() {
            sent.clear();
        }
    }

    /// How many pages of sent-ahead answers wait for a listing (tests).
    pub fn prefetched_pages(&self) -> usize {
        self.inner.prefetched.lock().map_or(0, |sent| sent.len())
    }

    /// Counts the accounts the caller may see (one entry asked for), and
    /// remembers it, so a full listing sends its pages at once. Sessions
    /// ask it alongside their other opening requests: no round trip of its
    /// own on a far instance.
    pub async fn count_users(&self) -> Result<Option<u64>, ApiError> {
        let params: Params = vec![
            ("resultLimit".into(), "1".into()),
            ("count".into(), "true".into()),
        ];
        let url = self.url(USERS_PATH, &params);
        let page: ListEnvelope<serde::de::IgnoredAny> = self.get_page(&url).await?;
        if let Some(total) = page.count {
            self.remember_listing_size(&listing_key(USERS_PATH, &[]), total);
        }
        Ok(page.count)
    }

    /// All of a small listing (groups, owners, roles), in order.
    async fn list_all<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, ApiError> {
        let mut pages = Vec::new();
        self.list_paged(path, &[], MAX_PAGE_SIZE, &mut |page: Page<T>| {
            pages.push(page)
        })
        .await?;
        pages.sort_by_key(|p| p.start);
        Ok(pages.into_iter().flat_map(|p| p.items).collect())
    }

    /// The query parameters of a user listing, besides paging.
    pub fn user_query_params(query: &UserQuery) -> Vec<(String, String)> {
        let mut params = Vec::new();
        for field in &query.fields {
            params.push(("fields".to_string(), field.clone()));
        }
        if let Some(tql) = query.tql.as_deref().filter(|t| !t.trim().is_empty()) {
            params.push(("tql".to_string(), tql.to_string()));
        }
        if let Some(sorting) = query.sorting.as_deref().filter(|s| !s.trim().is_empty()) {
            params.push(("sorting".to_string(), sorting.to_string()));
        }
        if let Some(owner) = query.owner.as_deref() {
            params.push(("owner".to_string(), owner.to_string()));
        }
        params
    }

    fn fields_params(fields: &[String]) -> Params {
        fields
            .iter()
            .map(|f| ("fields".to_string(), f.clone()))
            .collect()
    }

    pub async fn whoami(&self) -> Result<WhoAmI, ApiError> {
        let data: WhoAmIData = self.call_one(Method::GET, WHOAMI_PATH, &[], None).await?;
        Ok(data.user)
    }

    /// Every page, in order, following `next` (or in parallel when the
    /// total is known). `on_page` sees each page as it arrives. Without an
    /// order asked for, pages are sorted by `id` (offset pages of an
    /// unordered listing may overlap or skip), and an account already seen
    /// is dropped from later pages; returns how many were dropped.
    /// Generic so that a caller on its own task (streamed output) may pass
    /// a callback that is not `Send`.
    pub async fn list_users_with<F: FnMut(Page<User>) + ?Sized>(
        &self,
        query: &UserQuery,
        on_page: &mut F,
    ) -> Result<usize, ApiError> {
        let params = Self::listing_params(query);
        let mut seen = HashSet::new();
        let mut dropped = 0;
        self.list_paged(USERS_PATH, &params, query.page_size, &mut |page: Page<
            User,
        >| {
            on_page(dedupe_page(page, &mut seen, &mut dropped))
        })
        .await?;
        Ok(dropped)
    }

    /// Every page of a user listing in offset order, each page's accounts
    /// turned by `map` on the page's own task as soon as they are decoded
    /// (pages decode in parallel, in the order they arrive). Unlike
    /// `list_users_with`, accounts a page repeats from an earlier one are
    /// not dropped here (`map` cannot know them): the caller drops them by
    /// id.
    /// `held`: how many turned pages may wait for their turn (pages that
    /// arrive before one ahead of them); the other answers wait in their
    /// sockets. Size it by what `map` returns.
    pub async fn list_users_mapped<R, M, F>(
        &self,
        query: &UserQuery,
        (map, held): (Arc<M>, usize),
        on_page: &mut F,
    ) -> Result<(), ApiError>
    where
        R: Send + 'static,
        M: Fn(Vec<User>) -> R + Send + Sync + 'static,
        F: FnMut(Mapped<R>) + ?Sized,
    {
        let params = Self::listing_params(query);
        self.list_paged_mapped(USERS_PATH, &params, query.page_size, (map, held), on_page)
            .await
    }

    /// A user listing's parameters, in one stable order (the default one
    /// when the query names none).
    fn listing_params(query: &UserQuery) -> Vec<(String, String)> {
        let mut query = query.clone();
        if query.sorting.as_deref().is_none_or(|s| s.trim().is_empty()) {
            query.sorting = Some(DEFAULT_SORTING.to_string());
        }
        Self::user_query_params(&query)
    }

    pub async fn list_users(&self, query: &UserQuery) -> Result<Vec<User>, ApiError> {
        Ok(self.list_users_counted(query).await?.0)
    }

    /// As `list_users`, with how many duplicate accounts were dropped.
    pub async fn list_users_counted(
        &self,
        query: &UserQuery,
    ) -> Result<(Vec<User>, usize), ApiError> {
        let mut pages = Vec::new();
        let dropped = self
            .list_users_with(query, &mut |page| pages.push(page))
            .await?;
        pages.sort_by_key(|p| p.start);
        Ok((pages.into_iter().flat_map(|p| p.items).collect(), dropped))
    }

    /// The account with exactly this user name, if the caller may see it.
    pub async fn find_user_by_name(&self, user_name: &str) -> Result<Option<User>, ApiError> {
        let query = UserQuery {
            tql: Some(format!(
                "userName = {}",
                crate::domain::tql::quote(user_name)
            )),
            page_size: 10,
            ..Default::default()
        };
        let users = self.list_users(&query).await?;
        let exact = users.iter().position(|u| u.user_name == user_name);
        let loose = || {
            users
                .iter()
                .position(|u| u.user_name.eq_ignore_ascii_case(user_name))
        };
        Ok(exact.or_else(loose).map(|i| users[i].clone()))
    }

    pub async fn get_user(&self, id: i64, fields: &[String]) -> Result<User, ApiError> {
        let path = format!("{USERS_PATH}/{id}");
        self.call_one(Method::GET, &path, &Self::fields_params(fields), None)
            .await
    }

    pub async fn create_user(&self, body: &serde_json::Value) -> Result<User, ApiError> {
        Ok(self.create_account(body).await?.0)
    }

    /// Creates an account; with the `apiSecretKey` extension a new API
    /// account's secret key comes back once, to be shown and forgotten.
    pub async fn create_account(
        &self,
        body: &serde_json::Value,
    ) -> Result<(User, Option<Secret>), ApiError> {
        let mut answer: serde_json::Value = self
            .call_one(Method::POST, USERS_PATH, &[], Some(body))
            .await?;
        let secret_key = answer
            .as_object_mut()
            .and_then(|m| m.remove("secretKey"))
            .and_then(|k| k.as_str().map(Secret::new));
        let url = self.url(USERS_PATH, &[]);
        let user = serde_json::from_value(answer).map_err(|e| decode_error(&url, &e))?;
        Ok((user, secret_key))
    }

    pub async fn update_user(&self, id: i64, body: &serde_json::Value) -> Result<User, ApiError> {
        let path = format!("{USERS_PATH}/{id}");
        self.call_one(Method::PUT, &path, &[], Some(body)).await
    }

    pub async fn delete_user(
        &self,
        id: i64,
        reassign_playbooks_to: Option<i64>,
        reassign_jobs_to: Option<i64>,
    ) -> Result<(), ApiError> {
        let path = format!("{USERS_PATH}/{id}");
        let mut params = Params::new();
        if let Some(to) = reassign_playbooks_to {
            params.push(("reassignPlaybooksTo".into(), to.to_string()));
        }
        if let Some(to) = reassign_jobs_to {
            params.push(("reassignJobsTo".into(), to.to_string()));
        }
        self.call_no_data(Method::DELETE, &path, &params, None)
            .await
    }

    pub async fn user_groups(&self) -> Result<Vec<UserGroup>, ApiError> {
        self.list_all(USER_GROUPS_PATH).await
    }

    /// `OPTIONS /v3/security/userGroups/fields`: the extra fields user groups
    /// offer (empty when the instance refuses to say).
    pub async fn user_group_fields(&self) -> Result<BTreeSet<String>, ApiError> {
        let path = format!("{USER_GROUPS_PATH}/fields");
        Ok(self
            .discover(&path, &[])
            .await?
            .map(|v| names_in(&unwrap_data(v), "name"))
            .unwrap_or_default())
    }

    /// The user groups with their members (`fields=users`).
    pub async fn user_groups_with_users(&self) -> Result<Vec<UserGroupWithUsers>, ApiError> {
        let params = Self::fields_params(&[GROUP_USERS_FIELD.to_string()]);
        let mut pages = Vec::new();
        self.list_paged(USER_GROUPS_PATH, &params, MAX_PAGE_SIZE, &mut |page| {
            pages.push(page)
        })
        .await?;
        pages.sort_by_key(|p: &Page<UserGroupWithUsers>| p.start);
        Ok(pages.into_iter().flat_map(|p| p.items).collect())
    }

    pub async fn owners(&self) -> Result<Vec<Owner>, ApiError> {
        self.list_all(OWNERS_PATH).await
    }

    pub async fn system_roles(&self) -> Result<Vec<SystemRoleInfo>, ApiError> {
        self.list_all(SYSTEM_ROLES_PATH).await
    }

    pub async fn owner_roles(&self) -> Result<Vec<OwnerRoleInfo>, ApiError> {
        self.list_all(OWNER_ROLES_PATH).await
    }

    /// An OPTIONS answer, or `None` when the instance refuses or garbles it
    /// (discovery degrades to "nothing advertised"); unreachable is an error.
    async fn discover(
        &self,
        path: &str,
        params: &[(String, String)],
    ) -> Result<Option<serde_json::Value>, ApiError> {
        match self
            .call::<serde_json::Value>(Method::OPTIONS, path, params, None)
            .await
        {
            Ok(value) => Ok(Some(value)),
            Err(ApiError::Http { .. } | ApiError::Decode { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    pub async fn capabilities(&self) -> Result<Capabilities, ApiError> {
        let readonly = [("show".to_string(), "readonly".to_string())];
        let fields_path = format!("{USERS_PATH}/fields");
        let tql_path = format!("{USERS_PATH}/tql");
        let (users, fields, tql) = futures::try_join!(
            self.discover(USERS_PATH, &readonly),
            self.discover(&fields_path, &[]),
            self.discover(&tql_path, &[]),
        )?;
        let mut caps = Capabilities::default();
        if let Some(users) = users {
            caps.extensions = extensions_in(&users);
            let users = unwrap_data(users);
            caps.user_fields = names_in(&users, "name");
            caps.not_updatable = not_updatable_in(&users);
        }
        if let Some(fields) = fields {
            let fields = unwrap_data(fields);
            caps.extra_fields = names_in(&fields, "name");
            caps.default_fields = fields
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| f.get("includedByDefault").and_then(|d| d.as_bool()) == Some(true))
                .filter_map(|f| f.get("name").and_then(|n| n.as_str()).map(String::from))
                .collect();
        }
        if let Some(tql) = tql {
            caps.tql_keywords = names_in(&unwrap_data(tql), "keyword");
        }
        Ok(caps)
    }

    pub async fn instance_settings(&self) -> Result<InstanceSettings, ApiError> {
        self.call_ext(Method::GET, &format!("{EXT_PREFIX}/instance"), None)
            .await
    }

    pub async fn org_limits(&self) -> Result<Vec<OrgLimits>, ApiError> {
        self.call_ext(Method::GET, &format!("{EXT_PREFIX}/limits"), None)
            .await
    }

    pub async fn run_as(&self, id: i64) -> Result<RunAs, ApiError> {
        self.call_ext(Method::GET, &format!("{EXT_PREFIX}/users/{id}/runAs"), None)
            .await
    }

    /// Moves what runs as account `id` to the heirs in `to` (extension
    /// `moveRunAs`); answers what still runs as it.
    pub async fn move_run_as(&self, id: i64, to: RunAsMove) -> Result<RunAs, ApiError> {
        let body = serde_json::to_value(to).map_err(|e| ApiError::Config(e.to_string()))?;
        let path = format!("{EXT_PREFIX}/users/{id}/runAs");
        self.call_ext(Method::PUT, &path, Some(&body)).await
    }

    pub async fn set_groups(&self, id: i64, group_ids: &[i64]) -> Result<(), ApiError> {
        let body = serde_json::to_value(GroupMembership {
            group_ids: group_ids.to_vec(),
        })
        .map_err(|e| ApiError::Config(e.to_string()))?;
        let path = format!("{EXT_PREFIX}/users/{id}/groups");
        self.call_no_data(Method::PUT, &path, &[], Some(&body))
            .await
    }

    pub async fn generate_token(
        &self,
        id: i64,
        expiration_days: Option<i64>,
    ) -> Result<ApiToken, ApiError> {
        let body = serde_json::to_value(TokenRequest { expiration_days })
            .map_err(|e| ApiError::Config(e.to_string()))?;
        let path = format!("{EXT_PREFIX}/users/{id}/token");
        self.call_ext(Method::POST, &path, Some(&body)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::auth::Secret;

    fn client(read_only: bool) -> Client {
        Client::new(Connection {
            // Port 9 (discard) on loopback: nothing should ever connect.
            api_path: "http://127.0.0.1:9/api".into(),
            credentials: Credentials::Hmac {
                access_id: "administrator".into(),
                secret_key: Secret::new("secret"),
            },
            read_only,
            concurrency: 0,
        })
        .unwrap()
    }

    fn header<'a>(request: &'a reqwest::Request, name: &str) -> &'a str {
        request.headers().get(name).unwrap().to_str().unwrap()
    }

    #[test]
    fn signed_target_is_exactly_what_is_sent() {
        let client = client(false);
        let query = UserQuery {
            fields: vec!["userGroups".into(), "mfaEnabled".into()],
            tql: Some(r#"userName = "o\'b r&n" and disabled = false"#.into()),
            sorting: Some("userName asc".into()),
            page_size: 0,
            owner: Some("Demo Organization".into()),
        };
        let mut params = Client::user_query_params(&query);
        params.push(("resultStart".into(), "0".into()));
        let url = client.url(USERS_PATH, &params);
        let request = client.prepare(&Method::GET, &url, None).unwrap();

        let sent = path_and_query(request.url());
        assert_eq!(sent, path_and_query(&url));
        assert!(sent.starts_with("/api/v3/security/users?fields=userGroups&fields=mfaEnabled&tql="));
        // the TQL is encoded: no raw space, quote or ampersand inside it
        let tql_part = sent
            .split("tql=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        assert!(!tql_part.contains(' ') && !tql_part.contains('"'));
        assert!(sent.ends_with("&sorting=userName+asc&owner=Demo+Organization&resultStart=0"));
        // and it decodes back to the same TQL
        let decoded: Vec<(String, String)> = request.url().query_pairs().into_owned().collect();
        assert_eq!(decoded[2], ("tql".to_string(), query.tql.clone().unwrap()));

        let timestamp: i64 = header(&request, "Timestamp").parse().unwrap();
        assert!((timestamp - chrono::Utc::now().timestamp()).abs() < 5);
        let expected = Credentials::Hmac {
            access_id: "administrator".into(),
            secret_key: Secret::new("secret"),
        }
        .authorization(&sent, "GET", timestamp);
        assert_eq!(header(&request, "Authorization"), expected);
    }

    #[test]
    fn clock_offset_shifts_the_signed_timestamp() {
        let client = client(false);
        client.set_clock_offset(-3600);
        let url = client.url(WHOAMI_PATH, &[]);
        let request = client.prepare(&Method::GET, &url, None).unwrap();
        let timestamp: i64 = header(&request, "Timestamp").parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - 3600 - timestamp).abs() < 5);
        assert_eq!(path_and_query(request.url()), "/api/v2/whoami");
    }

    #[test]
    fn token_credentials_send_the_token() {
        let client = Client::new(Connection {
            api_path: "https://tc.example.com/api/".into(),
            credentials: Credentials::Token(Secret::new("tok")),
            read_only: false,
            concurrency: 2,
        })
        .unwrap();
        assert_eq!(client.api_path(), "https://tc.example.com/api");
        let url = client.url("/v3/security/users/5", &[]);
        assert_eq!(
            url.as_str(),
            "https://tc.example.com/api/v3/security/users/5"
        );
        let request = client.prepare(&Method::DELETE, &url, None).unwrap();
        assert_eq!(header(&request, "Authorization"), "TC-Token tok");
    }

    #[test]
    fn read_only_guard_refuses_writes_before_building_them() {
        let client = client(true);
        let url = client.url(USERS_PATH, &[]);
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let err = client.prepare(&method, &url, None).unwrap_err();
            assert_eq!(
                err,
                ApiError::ReadOnly {
                    method: method.to_string(),
                    path: "/api/v3/security/users".into()
                }
            );
        }
        assert!(client.prepare(&Method::GET, &url, None).is_ok());
        assert!(client.prepare(&Method::OPTIONS, &url, None).is_ok());
    }

    #[tokio::test]
    async fn read_only_writes_never_reach_the_network() {
        // The base URL is unreachable: a request that left would fail with
        // Network, not ReadOnly.
        let client = client(true);
        let body = serde_json::json!({"userName": "x"});
        assert!(matches!(
            client.create_user(&body).await,
            Err(ApiError::ReadOnly { .. })
        ));
        assert!(matches!(
            client.update_user(1, &body).await,
            Err(ApiError::ReadOnly { .. })
        ));
        assert!(matches!(
            client.delete_user(1, Some(2), None).await,
            Err(ApiError::ReadOnly { .. })
        ));
        assert!(matches!(
            client.set_groups(1, &[1]).await,
            Err(ApiError::ReadOnly { .. })
        ));
        assert!(matches!(
            client.generate_token(1, Some(30)).await,
            Err(ApiError::ReadOnly { .. })
        ));
    }

    #[tokio::test]
    async fn unreachable_server_is_one_network_line() {
        let client = Client::new(Connection {
            api_path: "http://127.0.0.1:1/api".into(),
            credentials: Credentials::Token(Secret::new("t")),
            read_only: false,
            concurrency: 1,
        })
        .unwrap();
        let err = client.whoami().await.unwrap_err();
        assert!(matches!(err, ApiError::Network { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("cannot reach http://127.0.0.1:1/api/v2/whoami: "),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn api_path_gets_api_added_when_missing() {
        let ok = |text: &str| normalize_api_path(text).map(|(u, added)| (u.to_string(), added));
        assert_eq!(
            ok("https://tc.example.com/api"),
            Ok(("https://tc.example.com/api".into(), false))
        );
        assert_eq!(
            ok("https://tc.example.com/tc/api/"),
            Ok(("https://tc.example.com/tc/api".into(), false))
        );
        // tcex's and the SOAR connector's form: the bare host
        for bare in ["https://tc.example.com", "https://tc.example.com/"] {
            assert_eq!(ok(bare), Ok(("https://tc.example.com/api".into(), true)));
        }
        assert_eq!(
            ok("https://tc.example.com:8443/tc"),
            Ok(("https://tc.example.com:8443/tc/api".into(), true))
        );
        for bad in [
            "tc.example.com/api",
            "ftp://x/api",
            "https://x/api?x=1",
            "https://x/api/v3",
        ] {
            let err = parse_api_path(bad).unwrap_err();
            assert!(matches!(err, ApiError::Config(_)), "{bad}");
        }
    }

    fn client_at(api_path: &str, options: ClientOptions) -> Client {
        Client::with_options(
            Connection {
                api_path: api_path.into(),
                credentials: Credentials::Token(Secret::new("t")),
                read_only: false,
                concurrency: 1,
            },
            options,
        )
        .unwrap()
    }

    #[test]
    fn notices_are_given_once_per_client_not_per_request() {
        let bare = client_at("https://tc.example.com", ClientOptions::default());
        assert_eq!(bare.api_path(), "https://tc.example.com/api");
        assert_eq!(
            bare.notices(),
            ["api_path https://tc.example.com has no /api: using https://tc.example.com/api"]
        );
        assert!(
            client_at("http://127.0.0.1:9/api", ClientOptions::default())
                .notices()
                .is_empty()
        );
        assert!(
            client_at("http://localhost:9/api", ClientOptions::default())
                .notices()
                .is_empty()
        );
        let plain = client_at("http://tc.example.com/api", ClientOptions::default());
        assert_eq!(plain.notices().len(), 1);
        assert!(
            plain.notices()[0].contains("plain http://"),
            "{:?}",
            plain.notices()
        );
        let lab = client_at(
            "https://tc.lab/api",
            ClientOptions {
                insecure: Some("profile 'lab': verify_tls = false".into()),
                ..Default::default()
            },
        );
        assert!(lab.tls_unverified());
        assert_eq!(lab.notices().len(), 1);
        assert!(lab.notices()[0]
            .starts_with("TLS certificate checks are OFF (profile 'lab': verify_tls = false)"));
        assert!(!bare.tls_unverified());
    }

    #[test]
    fn writes_to_documented_paths_ask_for_the_activity_log_and_sign_it() {
        let client = client(false);
        let put = client.request_url(&Method::PUT, "/v3/security/users/7", &[]);
        assert_eq!(
            path_and_query(&put),
            "/api/v3/security/users/7?createActivityLog=true"
        );
        let delete = client.request_url(
            &Method::DELETE,
            "/v3/security/users/7",
            &[("reassignPlaybooksTo".into(), "2".into())],
        );
        assert_eq!(
            path_and_query(&delete),
            "/api/v3/security/users/7?reassignPlaybooksTo=2&createActivityLog=true"
        );
        // the signature covers the query as sent, parameter included
        let request = client.prepare(&Method::PUT, &put, None).unwrap();
        let timestamp: i64 = header(&request, "Timestamp").parse().unwrap();
        let expected = Credentials::Hmac {
            access_id: "administrator".into(),
            secret_key: Secret::new("secret"),
        }
        .authorization(
            "/api/v3/security/users/7?createActivityLog=true",
            "PUT",
            timestamp,
        );
        assert_eq!(header(&request, "Authorization"), expected);
        // reads and rollcall's own extensions never carry it
        let get = client.request_url(&Method::GET, "/v3/security/users/7", &[]);
        assert_eq!(get.query(), None);
        let ext = client.request_url(&Method::PUT, &format!("{EXT_PREFIX}/users/7/groups"), &[]);
        assert_eq!(ext.query(), None);
        // and `activity_log = false` turns it off
        let quiet = client_at(
            "http://127.0.0.1:9/api",
            ClientOptions {
                activity_log: false,
                ..Default::default()
            },
        );
        assert!(!quiet.activity_log());
        let post = quiet.request_url(&Method::POST, USERS_PATH, &[]);
        assert_eq!(post.query(), None);
    }

    #[test]
    fn token_401_says_the_token_is_invalid_or_expired() {
        let token = client_at("http://127.0.0.1:9/api", ClientOptions::default());
        let err = token.refusal(401, br#"{"status":"Failure","message":"Unauthorized"}"#);
        assert_eq!(err.status(), Some(401));
        assert_eq!(
            err.to_string(),
            "the API token is invalid or expired; the server said: Unauthorized (HTTP 401 not authorized)"
        );
        assert!(token
            .refusal(401, b"")
            .to_string()
            .starts_with("the API token is invalid or expired (HTTP 401"));
        // HMAC keeps the server's words (a bad signature, a skewed clock)
        let hmac = client(false).refusal(401, br#"{"message":"Invalid signature"}"#);
        assert_eq!(hmac.server_message(), Some("Invalid signature"));
    }

    #[test]
    fn html_and_truncated_answers_are_one_plain_line() {
        let client = client(false);
        let url = client.url(USERS_PATH, &[]);
        let html = client
            .decode::<serde_json::Value>(
                &url,
                b"\n <!DOCTYPE html><html><body>Sign in</body></html>",
            )
            .unwrap_err()
            .to_string();
        assert!(html.contains("HTML page, not JSON"), "{html}");
        let cut = client
            .decode::<ListEnvelope<User>>(&url, br#"{"data":[{"id":1,"userName":"a"},{"id":2,"#)
            .unwrap_err()
            .to_string();
        assert!(cut.contains("truncated JSON"), "{cut}");
        for message in [html, cut] {
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn duplicate_accounts_across_pages_are_dropped_and_counted() {
        let user = |id: i64| -> User {
            serde_json::from_value(serde_json::json!({"id": id, "userName": format!("u{id}")}))
                .unwrap()
        };
        let page = |start: u64, ids: &[i64]| Page {
            items: ids.iter().map(|id| user(*id)).collect(),
            total: Some(6),
            start,
        };
        let (mut seen, mut dropped) = (HashSet::new(), 0);
        let first = dedupe_page(page(0, &[1, 2, 3]), &mut seen, &mut dropped);
        let second = dedupe_page(page(3, &[3, 4, 4, 5]), &mut seen, &mut dropped);
        let ids = |p: &Page<User>| p.items.iter().map(|u| u.id).collect::<Vec<_>>();
        assert_eq!(ids(&first), [1, 2, 3]);
        assert_eq!(ids(&second), [4, 5], "the first copy is kept");
        assert_eq!(dropped, 2);
    }

    #[test]
    fn failure_answers_keep_the_server_message() {
        let err = http_error(
            401,
            br#"{"status":"Failure","message":"Invalid signature\u001b[2J","errCode":"AUTH-1"}"#,
        );
        assert_eq!(
            err,
            ApiError::Http {
                status: 401,
                message: "Invalid signature\\e[2J".into(),
                err_code: Some("AUTH-1".into())
            }
        );
        assert_eq!(
            http_error(502, b"<html>Bad gateway</html>").server_message(),
            None
        );
        assert_eq!(
            http_error(503, b"API not licensed").server_message(),
            Some("API not licensed")
        );

        let client = client(false);
        let url = client.url(USERS_PATH, &[]);
        let err = client
            .decode::<serde_json::Value>(&url, br#"{"status":"Failure","message":"no"}"#)
            .unwrap_err();
        assert_eq!(err.server_message(), Some("no"));
        let err = client
            .decode::<serde_json::Value>(&url, b"not json")
            .unwrap_err();
        assert!(matches!(err, ApiError::Decode { .. }));
        let err = client
            .decode::<ListEnvelope<User>>(&url, br#"{"data":[{"id":"x"}],"status":"Success"}"#)
            .unwrap_err();
        assert!(matches!(err, ApiError::Decode { .. }));
    }

    #[test]
    fn discovery_answers_in_either_shape() {
        let with_ext = serde_json::json!({
            "id": {"type": "Long"}, "userName": {"type": "String"},
            "rollcallExtensions": ["instance", "runAs"]
        });
        assert_eq!(
            extensions_in(&with_ext),
            ["instance", "runAs"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        );
        assert_eq!(
            names_in(&unwrap_data(with_ext), "name"),
            ["id", "userName"].iter().map(|s| s.to_string()).collect()
        );
        // a real instance: no extensions key at all
        let real = serde_json::json!({"data": {"id": {}, "owner": {}}, "status": "Success"});
        assert!(extensions_in(&real).is_empty());
        assert_eq!(names_in(&unwrap_data(real), "name").len(), 2);
        let tql = serde_json::json!({"data": [
            {"keyword": "userName", "name": "User Name", "type": "String"},
            {"keyword": "disabled", "name": "Disabled", "type": "Boolean"}
        ], "count": 2, "status": "Success"});
        assert_eq!(
            names_in(&unwrap_data(tql), "keyword"),
            ["disabled", "userName"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        );
    }

    #[test]
    fn next_links_are_rebased_onto_the_configured_instance() {
        let client = client(false);
        let next = client
            .next_url("http://127.0.0.1:9/api/v3/security/users?resultStart=100&resultLimit=100")
            .unwrap();
        assert_eq!(
            path_and_query(&next),
            "/api/v3/security/users?resultStart=100&resultLimit=100"
        );
        // another host name or scheme (a load balancer, an alias): same
        // path and query, sent to the configured origin
        for elsewhere in [
            "https://tc.corp.example/api/v3/security/users?resultStart=5&tql=a+%3D+1",
            "http://10.1.2.3:8080/api/v3/security/users?resultStart=5&tql=a+%3D+1",
        ] {
            let url = client.next_url(elsewhere).unwrap();
            assert_eq!(url.origin(), client.inner.base.origin(), "{elsewhere}");
            assert_eq!(
                path_and_query(&url),
                "/api/v3/security/users?resultStart=5&tql=a+%3D+1"
            );
        }
        // a relative link works too
        let relative = client
            .next_url("/api/v3/security/users?resultStart=7")
            .unwrap();
        assert_eq!(
            relative.as_str(),
            "http://127.0.0.1:9/api/v3/security/users?resultStart=7"
        );
        // but never a path outside the base path
        for outside in [
            "https://evil.example.com/other/v3/security/users",
            "http://127.0.0.1:9/apix/v3/security/users",
            "http://127.0.0.1:9/",
        ] {
            assert!(client.next_url(outside).is_err(), "{outside}");
        }
    }
}

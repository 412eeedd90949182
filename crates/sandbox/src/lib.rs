//! The embedded ThreatConnect-compatible server (axum + rusqlite).
//!
//! It speaks the v3 API of SPEC section 4 plus the rollcall extensions of
//! [`crate::api::wire`], checks HMAC and token auth, enforces every rule
//! through [`crate::domain::policy`], binds loopback only, seeds itself
//! deterministically and can inject faults.

mod auth;
pub mod db;
mod error;
mod handlers;
mod page;
pub mod tls;
pub mod tql;

// The client and rules crates, under the names the modules here use.
use rollcall_client::api;
use rollcall_domain as domain;

use crate::domain::policy::{Deployment, InstanceSettings, PasswordPolicy};
use anyhow::Context;
use chrono::{DateTime, Utc};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rusqlite::Connection;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tower::ServiceExt;

/// For a sandbox running as a server process of its own: the memory its
/// answers free is kept for the next ones (glibc), as a server keeps its
/// working set. A page of 10,000 accounts is a 7 MB answer read out of
/// 7 MB of copied rows; freed, glibc hands such blocks back to the system
/// and the next page faults in fresh memory. Serving `users list` (which
/// reads its pages in turn, so several wait at once) took 18,000-27,000
/// page faults and 50-72 ms of system time a listing, against 500-1,800
/// and 10-20 ms with the memory kept. Not for an in-process sandbox
/// (`--demo`, tests): that process is the console's or the test's.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters.
    unsafe {
        // Blocks up to 32 MB (glibc's largest threshold) come from the
        // heap, which keeps up to 1 GB free before handing any back.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// The access IDs (user names) of the seeded API actors, all in "Demo
/// Organization", all with the configured secret key.
pub const SEEDED_ACCESS_IDS: &[&str] = &[
    "administrator",
    "operations-administrator",
    "accounts-administrator",
    "super-user",
    "organization-administrator",
    "read-only",
];

#[derive(Clone)]
pub struct SandboxConfig {
    pub listen: SocketAddr,
    /// SQLite file; `None` keeps everything in memory.
    pub db: Option<PathBuf>,
    pub seed_users: usize,
    pub secret_key: String,
    pub seed: u64,
    pub settings: InstanceSettings,
    /// Serve only what ThreatConnect documents: no rollcall extensions
    /// (paths, fields, TQL keywords, body fields), as a real instance.
    pub plain: bool,
    /// Leave `lastLogin` out of every user object, as the docs' own
    /// examples do, so the client's "unknown last login" paths are exercised.
    pub omit_last_login: bool,
    /// TQL keywords listed by `OPTIONS .../tql` but answered with 400 when
    /// used (a fault: an instance whose TQL parser disagrees with its own
    /// discovery), to test the client's fallback to local filtering.
    pub refuse_tql_keywords: Vec<String>,
    /// Serve HTTPS with a CA and certificate generated into this directory
    /// (`DIR/ca.pem` is the CA to trust); `None` serves plain HTTP.
    pub tls: Option<PathBuf>,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("listen", &self.listen)
            .field("db", &self.db)
            .field("seed_users", &self.seed_users)
            .field("secret_key", &"<redacted>")
            .field("seed", &self.seed)
            .field("settings", &self.settings)
            .field("plain", &self.plain)
            .field("omit_last_login", &self.omit_last_login)
            .field("refuse_tql_keywords", &self.refuse_tql_keywords)
            .field("tls", &self.tls)
            .finish()
    }
}

impl SandboxConfig {
    /// 127.0.0.1 on a free port, in memory, seed 42, On Premises, no SAML,
    /// Terms of Service required, MFA not required, passwords expire after 90 days,
    /// the default password policy (8 characters, a letter and a digit).
    pub fn loopback(seed_users: usize, secret_key: &str) -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: None,
            seed_users,
            secret_key: secret_key.to_string(),
            seed: 42,
            settings: InstanceSettings {
                deployment: Deployment::OnPremises,
                saml_enabled: false,
                terms_of_service_required: true,
                mfa_required: false,
                password_max_age_days: Some(90),
                password_policy: PasswordPolicy::default(),
            },
            plain: false,
            omit_last_login: false,
            refuse_tql_keywords: Vec::new(),
            tls: None,
        }
    }

    /// As a plain ThreatConnect instance: no rollcall extensions.
    pub fn plain(mut self) -> Self {
        self.plain = true;
        self
    }

    /// Without `lastLogin` in any answer.
    pub fn omit_last_login(mut self) -> Self {
        self.omit_last_login = true;
        self
    }

    /// The same, serving HTTPS with certificates generated into `dir`.
    pub fn with_tls(mut self, dir: impl Into<PathBuf>) -> Self {
        self.tls = Some(dir.into());
        self
    }

    /// Answering TQL that uses `keyword` with 400 (still listed by OPTIONS).
    pub fn refusing_tql_keyword(mut self, keyword: &str) -> Self {
        self.refuse_tql_keywords.push(keyword.to_string());
        self
    }
}

/// Faults injected into answers, at the given rates (0.0 to 1.0), drawn
/// deterministically from `seed` and the request's sequence number.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub latency: Duration,
    /// Rate of 500 answers.
    pub error_rate: f64,
    /// Rate of 429 answers.
    pub rate_limit_rate: f64,
    /// At most this many requests per second (a fixed one-second window);
    /// beyond it 429 with `Retry-After`, without acting. 0: no limit.
    pub rate_limit_per_second: u32,
    /// Rate of connections closed without an answer.
    pub drop_rate: f64,
    /// Rate of writes applied and then answered by a closed connection:
    /// the client cannot know that its change landed.
    pub lost_answer_rate: f64,
    /// Rate of 503 answers (without `Retry-After`, which clients take as
    /// final) to reads only (GET, OPTIONS): an instance whose writes land
    /// while reading an account back fails.
    pub read_error_rate: f64,
    pub seed: u64,
}

/// Requests received, by method, counted before auth and faults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub get: u64,
    pub post: u64,
    pub put: u64,
    pub delete: u64,
    pub options: u64,
    pub other: u64,
}

impl RequestCounts {
    pub fn total(&self) -> u64 {
        self.get + self.post + self.put + self.delete + self.options + self.other
    }
}

#[derive(Default)]
struct Counters {
    get: AtomicU64,
    post: AtomicU64,
    put: AtomicU64,
    delete: AtomicU64,
    options: AtomicU64,
    other: AtomicU64,
    /// Writes that asked for `createActivityLog=true`.
    activity_logged: AtomicU64,
}

impl Counters {
    fn count(&self, method: &hyper::Method) {
        let counter = match *method {
            hyper::Method::GET => &self.get,
            hyper::Method::POST => &self.post,
            hyper::Method::PUT => &self.put,
            hyper::Method::DELETE => &self.delete,
            hyper::Method::OPTIONS => &self.options,
            _ => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// ThreatConnect records such a write on its Activity tab; the sandbox
    /// has no such tab, so it only counts them (in every mode).
    fn note_activity_log(&self, method: &hyper::Method, uri: &hyper::Uri) {
        let write = !matches!(
            *method,
            hyper::Method::GET | hyper::Method::OPTIONS | hyper::Method::HEAD
        );
        let asked = uri.query().is_some_and(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .any(|(k, v)| k == crate::api::client::ACTIVITY_LOG_PARAM && v == "true")
        });
        if write && asked {
            self.activity_logged.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn snapshot(&self) -> RequestCounts {
        RequestCounts {
            get: self.get.load(Ordering::Relaxed),
            post: self.post.load(Ordering::Relaxed),
            put: self.put.load(Ordering::Relaxed),
            delete: self.delete.load(Ordering::Relaxed),
            options: self.options.load(Ordering::Relaxed),
            other: self.other.load(Ordering::Relaxed),
        }
    }
}

/// State shared by every request.
pub(crate) struct Shared {
    db: Mutex<Connection>,
    pub(crate) settings: InstanceSettings,
    counters: Counters,
    faults: Mutex<Faults>,
    fault_sequence: AtomicU64,
    /// The rate limit's current window: when it began, requests in it.
    rate_window: Mutex<(std::time::Instant, u32)>,
    /// Where users pages begin (keyset paging).
    pub(crate) cursors: handlers::Cursors,
    /// Users pages read the database one at a time, each for tens of
    /// milliseconds, and queue here rather than at the database itself, so
    /// that other requests (signatures, who am I) wait behind one page at
    /// most: as on an instance whose database serves many connections,
    /// a listing's pages do not hold up a session opening beside them.
    pub(crate) page_reads: tokio::sync::Semaphore,
    /// When the sandbox started; seeded dates are relative to it.
    #[allow(dead_code)]
    pub(crate) started: DateTime<Utc>,
    /// Where it listens: the host of `next` links when a request has no Host header.
    pub(crate) addr: SocketAddr,
    /// `SandboxConfig::plain`: no rollcall extensions.
    pub(crate) plain: bool,
    /// `SandboxConfig::omit_last_login`.
    pub(crate) omit_last_login: bool,
    /// `SandboxConfig::refuse_tql_keywords`.
    pub(crate) refuse_tql_keywords: Vec<String>,
    /// `https` when serving TLS, else `http`: the scheme of `next` links.
    pub(crate) scheme: &'static str,
}

impl Shared {
    /// True when the rollcall extensions are served (not `plain`).
    pub(crate) fn extensions(&self) -> bool {
        !self.plain
    }
}

/// Errors from the database layer, already shaped as API answers.
pub(crate) type DbResult<T> = Result<T, error::ApiErr>;

impl Shared {
    /// Runs `work` on the blocking pool with the connection locked; the
    /// lock never lives across an await.
    pub(crate) async fn db<T, F>(self: &Arc<Self>, work: F) -> DbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> DbResult<T> + Send + 'static,
    {
        let shared = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut conn = shared
                .db
                .lock()
                .map_err(|_| error::ApiErr::internal("database lock poisoned"))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| error::ApiErr::internal(format!("database task failed: {e}")))?
    }
}

pub struct Sandbox {
    addr: SocketAddr,
    /// The generated CA and certificate, when serving HTTPS.
    tls: Option<tls::TlsFiles>,
    /// The seeded actors' secret key, for `connection`.
    secret_key: crate::api::Secret,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Why a connection was dropped on purpose (a fault).
#[derive(Debug)]
struct DroppedByFault;

impl std::fmt::Display for DroppedByFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DroppedByFault {}

/// splitmix64: a well-mixed u64 from a seed and a sequence number.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

enum FaultOutcome {
    Drop,
    /// Serve the request, then drop the connection instead of answering.
    LoseAnswer,
    Status(u16),
    Pass,
}

impl Shared {
    /// The fault for one request; only a `write` can lose its answer (a
    /// read has nothing to lose).
    fn draw_fault(&self, write: bool) -> (Duration, FaultOutcome) {
        let faults = match self.faults.lock() {
            Ok(f) => f.clone(),
            Err(_) => return (Duration::ZERO, FaultOutcome::Pass),
        };
        let n = self.fault_sequence.fetch_add(1, Ordering::Relaxed);
        let base = mix(faults.seed ^ mix(n));
        let (d, r, e, l, re) = (
            unit(mix(base ^ 1)),
            unit(mix(base ^ 2)),
            unit(mix(base ^ 3)),
            unit(mix(base ^ 4)),
            unit(mix(base ^ 5)),
        );
        let outcome = if d < faults.drop_rate {
            FaultOutcome::Drop
        } else if write && l < faults.lost_answer_rate {
            FaultOutcome::LoseAnswer
        } else if !write && re < faults.read_error_rate {
            FaultOutcome::Status(503)
        } else if r < faults.rate_limit_rate {
            FaultOutcome::Status(429)
        } else if e < faults.error_rate {
            FaultOutcome::Status(500)
        } else {
            FaultOutcome::Pass
        };
        (faults.latency, outcome)
    }
}

impl Shared {
    /// Seconds to wait when this request is over `rate_limit_per_second`
    /// (the rest of the current one-second window, at least 1).
    fn over_rate_limit(&self) -> Option<u64> {
        let limit = self.faults.lock().ok()?.rate_limit_per_second;
        if limit == 0 {
            return None;
        }
        let mut window = self.rate_window.lock().ok()?;
        let now = std::time::Instant::now();
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        window.1 += 1;
        (window.1 > limit).then_some(1)
    }
}

impl Sandbox {
    pub async fn start(cfg: SandboxConfig) -> anyhow::Result<Sandbox> {
        if !cfg.listen.ip().is_loopback() {
            anyhow::bail!(
                "the sandbox listens on loopback addresses only (127.0.0.1, ::1); {} is not one",
                cfg.listen.ip()
            );
        }
        let started = Utc::now();
        let started =
            started - chrono::Duration::nanoseconds(started.timestamp_subsec_nanos() as i64);
        let db_path = cfg.db.clone();
        let (n, seed, key) = (cfg.seed_users, cfg.seed, cfg.secret_key.clone());
        let conn = tokio::task::spawn_blocking(move || -> anyhow::Result<Connection> {
            let mut conn = match &db_path {
                Some(path) => Connection::open(path)
                    .with_context(|| format!("cannot open the database {}", path.display()))?,
                None => Connection::open_in_memory()?,
            };
            conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
                .ok();
            db::create_schema(&conn)?;
            if !db::is_seeded(&conn)? {
                db::seed(&mut conn, n, seed, &key, started)?;
            }
            db::set_actor_secrets(&conn, &key)?;
            Ok(conn)
        })
        .await??;
        let tls_files = match &cfg.tls {
            Some(dir) => Some(tls::generate(dir)?),
            None => None,
        };
        let acceptor = tls_files.as_ref().map(tls::acceptor).transpose()?;
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .with_context(|| format!("cannot listen on {}", cfg.listen))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            db: Mutex::new(conn),
            settings: cfg.settings.clone(),
            counters: Counters::default(),
            faults: Mutex::new(Faults::default()),
            fault_sequence: AtomicU64::new(0),
            rate_window: Mutex::new((std::time::Instant::now(), 0)),
            cursors: handlers::Cursors::default(),
            page_reads: tokio::sync::Semaphore::new(1),
            started,
            addr,
            plain: cfg.plain,
            omit_last_login: cfg.omit_last_login,
            refuse_tql_keywords: cfg.refuse_tql_keywords.clone(),
            scheme: if acceptor.is_some() { "https" } else { "http" },
        });
        let router = handlers::router(Arc::clone(&shared));
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(serve(
            listener,
            acceptor,
            router,
            Arc::clone(&shared),
            stop_rx,
        ));
        Ok(Sandbox {
            addr,
            tls: tls_files,
            secret_key: crate::api::Secret::new(cfg.secret_key.clone()),
            shared,
            stop,
            task,
        })
    }

    /// `http://127.0.0.1:PORT/api` (`https://` when serving TLS)
    pub fn base_url(&self) -> String {
        format!("{}://{}/api", self.shared.scheme, self.addr)
    }

    /// The generated CA certificate (`DIR/ca.pem`), when serving HTTPS.
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().map(|t| t.ca.as_path())
    }

    /// Client options that trust this sandbox's CA (defaults for plain HTTP).
    pub fn client_options(&self) -> crate::api::ClientOptions {
        let mut options = crate::api::ClientOptions::default();
        if let Some(ca) = self.ca_file() {
            options.ca_files.push(crate::api::CaFile {
                path: ca.to_path_buf(),
                setting: "sandbox CA".into(),
            });
        }
        options
    }

    /// Writes that carried `createActivityLog=true` so far.
    pub fn activity_log_writes(&self) -> u64 {
        self.shared.counters.activity_logged.load(Ordering::Relaxed)
    }

    /// A client connection to this sandbox as one of its seeded actors
    /// (`SEEDED_ACCESS_IDS`), signed with the sandbox's secret key.
    pub fn connection(&self, access_id: &str) -> crate::api::Connection {
        crate::api::Connection {
            api_path: self.base_url(),
            credentials: crate::api::Credentials::Hmac {
                access_id: access_id.to_string(),
                secret_key: self.secret_key.clone(),
            },
            read_only: false,
            concurrency: crate::api::client::DEFAULT_CONCURRENCY,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn requests(&self) -> RequestCounts {
        self.shared.counters.snapshot()
    }

    pub fn set_faults(&self, faults: Faults) {
        if let Ok(mut current) = self.shared.faults.lock() {
            *current = faults;
        }
        self.shared.fault_sequence.store(0, Ordering::Relaxed);
    }

    /// A valid `TC-Token` for a seeded account (for tests).
    pub fn issue_token(&self, user_name: &str) -> anyhow::Result<String> {
        let conn = self
            .shared
            .db
            .lock()
            .map_err(|_| anyhow::anyhow!("database lock poisoned"))?;
        let row = db::load_user_by_name(&conn, user_name)?
            .ok_or_else(|| anyhow::anyhow!("no account named {user_name:?}"))?;
        Ok(auth::store_new_token(&conn, row.id, None)?)
    }

    /// The account-info e-mails queued so far (the sandbox sends none).
    pub fn outbox(&self) -> anyhow::Result<Vec<db::QueuedEmail>> {
        let conn = self
            .shared
            .db
            .lock()
            .map_err(|_| anyhow::anyhow!("database lock poisoned"))?;
        Ok(db::outbox(&conn)?)
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    router: axum::Router,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(_) => continue,
            },
            _ = stop.changed() => break,
        };
        let router = router.clone();
        let shared = Arc::clone(&shared);
        let stop = stop.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let router = router.clone();
                let shared = Arc::clone(&shared);
                async move {
                    shared.counters.count(req.method());
                    shared.counters.note_activity_log(req.method(), req.uri());
                    let write = !matches!(
                        *req.method(),
                        hyper::Method::GET | hyper::Method::OPTIONS | hyper::Method::HEAD
                    );
                    let (latency, outcome) = shared.draw_fault(write);
                    if !latency.is_zero() {
                        tokio::time::sleep(latency).await;
                    }
                    if let Some(wait) = shared.over_rate_limit() {
                        return Ok(error::rate_limited(wait));
                    }
                    match outcome {
                        FaultOutcome::Drop => Err(DroppedByFault),
                        FaultOutcome::LoseAnswer => {
                            // The change is applied and committed; only
                            // the answer is thrown away.
                            let _ = router.oneshot(req).await;
                            Err(DroppedByFault)
                        }
                        FaultOutcome::Status(code) => Ok(error::fault_response(code)),
                        FaultOutcome::Pass => match router.oneshot(req).await {
                            Ok(resp) => Ok(resp),
                            Err(never) => match never {},
                        },
                    }
                }
            });
            match acceptor {
                // A client that does not trust the CA hangs up mid-handshake:
                // nothing to serve, nothing to report.
                Some(acceptor) => {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        serve_connection(TokioIo::new(tls), service, stop).await;
                    }
                }
                None => serve_connection(TokioIo::new(stream), service, stop).await,
            }
        });
    }
}

/// One HTTP/1 connection, plain or TLS, until it ends or the sandbox stops.
async fn serve_connection<I, S>(io: I, service: S, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming> + Send,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

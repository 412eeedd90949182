//! How the client reaches an instance: which CAs it trusts, which proxy it
//! goes through, and the one-line wording of transport failures (TLS,
//! proxy) so an admin never sees a raw rustls error chain.

use super::auth::Secret;
use super::error::ApiError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Transport settings of a client, besides the base URL and credentials.
/// `Default` is what a profile without any of these keys gets.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientOptions {
    /// PEM files of extra trusted CAs, on top of the bundled and OS roots.
    pub ca_files: Vec<CaFile>,
    /// `Some(setting)`: certificate checks are off, because `setting`
    /// (e.g. `verify_tls = false`) said so. Labs only.
    pub insecure: Option<String>,
    /// An explicit proxy (profile `proxy` or `TC_PROXY_*`); `None` leaves
    /// reqwest's own `HTTPS_PROXY`/`NO_PROXY` handling in place.
    pub proxy: Option<ProxySetting>,
    /// Writes carry `createActivityLog=true` (ThreatConnect's Activity tab).
    pub activity_log: bool,
    /// A fresh token when the instance answers 401 to a token (the
    /// profile's `token_command`, run again); tcex retries the same way.
    pub token_refresh: Option<TokenRefresh>,
    /// How long to wait for an instance and how much to take from it.
    pub limits: Limits,
    /// Warnings found while resolving the profile (a config file others
    /// can read), given once with the client's own.
    pub notices: Vec<String>,
}

/// Timeouts and the size of one answer. A hostile or broken server must
/// not keep a person waiting in silence, nor exhaust the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Establishing the connection (TCP and TLS).
    pub connect: Duration,
    /// From sending the request to the answer's status line and headers.
    pub first_byte: Duration,
    /// Between two chunks of an answer's body.
    pub idle: Duration,
    /// One call as a whole: every attempt, retry delay and body read.
    pub request: Duration,
    /// The largest answer body read, in bytes.
    pub max_answer_bytes: u64,
}

impl Limits {
    pub const DEFAULT_CONNECT_S: u64 = 10;
    pub const DEFAULT_FIRST_BYTE_S: u64 = 60;
    pub const DEFAULT_IDLE_S: u64 = 30;
    pub const DEFAULT_REQUEST_S: u64 = 300;
    /// Generous: 100,000 accounts with every field are about 100 MB.
    pub const DEFAULT_MAX_ANSWER_MB: u64 = 256;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect: Duration::from_secs(Self::DEFAULT_CONNECT_S),
            first_byte: Duration::from_secs(Self::DEFAULT_FIRST_BYTE_S),
            idle: Duration::from_secs(Self::DEFAULT_IDLE_S),
            request: Duration::from_secs(Self::DEFAULT_REQUEST_S),
            max_answer_bytes: Self::DEFAULT_MAX_ANSWER_MB * 1024 * 1024,
        }
    }
}

/// A duration for messages: `30 s`, or `0.5 s` below a second (tests).
pub fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// Produces a new API token (blocking: it may run a shell command).
#[derive(Clone)]
pub struct TokenRefresh(pub Arc<dyn Fn() -> Result<Secret, String> + Send + Sync>);

impl TokenRefresh {
    pub fn new(f: impl Fn() -> Result<Secret, String> + Send + Sync + 'static) -> Self {
        TokenRefresh(Arc::new(f))
    }
}

impl std::fmt::Debug for TokenRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenRefresh(..)")
    }
}

impl PartialEq for TokenRefresh {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            ca_files: Vec::new(),
            insecure: None,
            proxy: None,
            activity_log: true,
            token_refresh: None,
            limits: Limits::default(),
            notices: Vec::new(),
        }
    }
}

/// One CA file and the setting that named it (`ca_file`, `SSL_CERT_FILE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaFile {
    pub path: PathBuf,
    pub setting: String,
}

/// A proxy with its credentials kept apart from the URL, so the URL can be
/// shown and the password never is.
#[derive(Clone, PartialEq)]
pub struct ProxySetting {
    /// `scheme://host:port`, without user information.
    pub url: Url,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Where it came from: `proxy` (profile) or `TC_PROXY_HOST`.
    pub setting: String,
    /// `NO_PROXY` as found in the environment: hosts that bypass the proxy.
    pub no_proxy: Option<String>,
}

impl std::fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxySetting")
            .field("url", &self.display())
            .field("setting", &self.setting)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// `text` with any `user:password@` after `://` shown as `user:***@`, for
/// messages about a proxy URL that may not even parse.
pub fn redact_userinfo(text: &str) -> String {
    // Without a scheme (`user:pass@host:port`) the authority starts at once.
    let start = text.find("://").map_or(0, |i| i + 3);
    let (prefix, rest) = text.split_at(start);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{prefix}{user}:***@{}", &rest[at + 1..])
        }
        None => text.to_string(),
    }
}

fn decode(part: &str) -> String {
    percent_encoding::percent_decode_str(part)
        .decode_utf8_lossy()
        .into_owned()
}

impl ProxySetting {
    /// Parses `http://[user[:password]@]host[:port]`; `setting` names the
    /// source in messages. The password never appears in an error.
    pub fn parse(text: &str, setting: &str) -> Result<ProxySetting, String> {
        let shown = redact_userinfo(text.trim());
        let mut url = Url::parse(text.trim())
            .map_err(|e| format!("{setting} '{shown}' is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
            return Err(format!(
                "{setting} '{shown}' must start with http:// (or https://)"
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{setting} '{shown}' has no host"));
        }
        let username = (!url.username().is_empty()).then(|| decode(url.username()));
        let password = url.password().map(|p| Secret::new(decode(p)));
        // Only the authority matters to a proxy; credentials are kept apart.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_path("");
        url.set_query(None);
        url.set_fragment(None);
        Ok(ProxySetting {
            url,
            username,
            password,
            setting: setting.to_string(),
            no_proxy: None,
        })
    }

    /// The URL as it may be shown: `http://user:***@host:port` at most.
    pub fn display(&self) -> String {
        let base = self.url.as_str().trim_end_matches('/');
        match &self.username {
            Some(user) => {
                let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
                format!("{scheme}://{user}:***@{rest}")
            }
            None => base.to_string(),
        }
    }

    /// Whether `NO_PROXY` sends `host` around the proxy (the usual rules:
    /// `*`, exact names and IPs, and domain suffixes with or without a
    /// leading dot). Used for wording only; reqwest applies the list itself.
    pub fn bypasses(&self, host: &str) -> bool {
        let Some(list) = &self.no_proxy else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        list.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .any(|entry| {
                if entry == "*" {
                    return true;
                }
                let entry = entry.trim_start_matches("*.").trim_start_matches('.');
                let entry = entry.split(':').next().unwrap_or(entry);
                host.eq_ignore_ascii_case(entry)
                    || host
                        .to_ascii_lowercase()
                        .ends_with(&format!(".{}", entry.to_ascii_lowercase()))
            })
    }
}

/// The certificates of a CA file, checked so that a wrong file is one clear
/// line at start, not a handshake failure later.
fn read_ca_file(ca: &CaFile) -> Result<Vec<CertificateDer<'static>>, ApiError> {
    let shown = ca.path.display();
    let setting = &ca.setting;
    let bytes = std::fs::read(&ca.path)
        .map_err(|e| ApiError::Config(format!("{setting} {shown}: cannot read it ({e})")))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::Config(format!(
                "{setting} {shown}: not a PEM certificate file (its certificate blocks do not decode)"
            ))
        })?;
    if certs.is_empty() {
        return Err(ApiError::Config(format!(
            "{setting} {shown} holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks)"
        )));
    }
    let mut store = rustls::RootCertStore::empty();
    for (n, cert) in certs.iter().enumerate() {
        store.add(cert.clone()).map_err(|e| {
            ApiError::Config(format!(
                "{setting} {shown}: certificate {} cannot be used as a CA ({e})",
                n + 1
            ))
        })?;
    }
    Ok(certs)
}

/// The HTTP client for these options.
pub(crate) fn http_client(options: &ClientOptions) -> Result<reqwest::Client, ApiError> {
    // The send path enforces first-byte, idle and total timeouts itself, so
    // that each one is worded for a person; redirects are decided there too
    // (a write is never re-sent elsewhere).
    let mut builder = reqwest::Client::builder()
        .connect_timeout(options.limits.connect)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("rollcall/", env!("CARGO_PKG_VERSION")));
    for ca in &options.ca_files {
        for der in read_ca_file(ca)? {
            let cert = reqwest::Certificate::from_der(der.as_ref()).map_err(|e| {
                ApiError::Config(format!("{} {}: {e}", ca.setting, ca.path.display()))
            })?;
            builder = builder.add_root_certificate(cert);
        }
    }
    if options.insecure.is_some() {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(proxy) = &options.proxy {
        let mut p = reqwest::Proxy::all(proxy.url.as_str()).map_err(|e| {
            ApiError::Config(format!("{} '{}': {e}", proxy.setting, proxy.display()))
        })?;
        if let Some(user) = &proxy.username {
            let password = proxy.password.as_ref().map(Secret::expose).unwrap_or("");
            p = p.basic_auth(user, password);
        }
        // An explicit proxy replaces HTTPS_PROXY, but NO_PROXY still holds.
        p = p.no_proxy(
            proxy
                .no_proxy
                .as_deref()
                .and_then(reqwest::NoProxy::from_string),
        );
        builder = builder.proxy(p);
    }
    builder
        .build()
        .map_err(|e| ApiError::Config(format!("cannot start the HTTP client: {}", root_of(&e))))
}

fn root_of(error: &(dyn std::error::Error + 'static)) -> String {
    let mut root: &dyn std::error::Error = error;
    while let Some(source) = root.source() {
        root = source;
    }
    root.to_string()
}

/// Every error in `error`'s chain, looking inside `io::Error`s too (their
/// `source()` skips the error they wrap, which is where rustls puts its own).
fn chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        out.push(e);
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    out
}

const CA_HINT: &str = "add your CA with ca_file = PATH in the profile, or set SSL_CERT_FILE";

/// One line for a TLS failure found in the chain, if there is one.
fn tls_failure(error: &(dyn std::error::Error + 'static), url: &Url) -> Option<String> {
    use rustls::CertificateError as C;
    let tls = chain(error)
        .into_iter()
        .find_map(|e| e.downcast_ref::<rustls::Error>())?;
    let host = url.host_str().unwrap_or("?");
    let place = match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let cert = |what: &str, hint: &str| format!("TLS: the certificate of {place} {what}; {hint}");
    Some(match tls {
        rustls::Error::InvalidCertificate(problem) => match problem {
            C::UnknownIssuer => cert("is not trusted (unknown issuer)", CA_HINT),
            C::BadSignature | C::UnsupportedSignatureAlgorithmContext { .. } => {
                cert("is not trusted (bad signature)", CA_HINT)
            }
            C::Expired | C::ExpiredContext { .. } => cert(
                "has expired",
                "the instance needs a renewed certificate (or this machine's clock is wrong); a ca_file does not help",
            ),
            C::NotValidYet | C::NotValidYetContext { .. } => cert(
                "is not valid yet",
                "check this machine's clock; a ca_file does not help",
            ),
            C::NotValidForName | C::NotValidForNameContext { .. } => cert(
                &format!("does not name {host} (name mismatch)"),
                "use the host name the certificate was issued for in api_path; a ca_file does not help",
            ),
            C::Revoked => cert("has been revoked", "the instance needs a new certificate"),
            other => cert(&format!("is not valid ({other:?})"), CA_HINT),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => format!(
            "TLS: the handshake with {place} failed: it does not answer TLS there (is api_path http:// rather than https://, or the port wrong?)"
        ),
        other => format!("TLS: the handshake with {place} failed ({other})"),
    })
}

/// One line for a request that never got an answer: a TLS failure, an
/// unreachable proxy, or the usual network error.
pub(crate) fn transport_error(
    error: &reqwest::Error,
    url: &Url,
    display_url: String,
    options: &ClientOptions,
) -> ApiError {
    if let Some(line) = tls_failure(error, url) {
        return ApiError::Transport(crate::domain::text::sanitize(&line).into_owned());
    }
    let root = root_of(error);
    let proxied = options
        .proxy
        .as_ref()
        .filter(|p| !p.bypasses(url.host_str().unwrap_or("")));
    if let Some(proxy) = proxied {
        // reqwest connects to the proxy first: a failed connect is the proxy's.
        let tunnel = root.contains("tunnel") || root.contains("proxy");
        if error.is_connect() || tunnel {
            let line = format!(
                "cannot reach {display_url} through the proxy {} (from {}): {}",
                proxy.display(),
                proxy.setting,
                if tunnel {
                    root
                } else {
                    format!("the proxy is unreachable ({root})")
                }
            );
            return ApiError::Transport(crate::domain::text::sanitize(&line).into_owned());
        }
    }
    if error.is_body() || error.is_decode() {
        // Reached, but the answer stopped short (a proxy or a dying server).
        return ApiError::Decode {
            url: display_url,
            reason: crate::domain::text::sanitize(&format!("the answer was cut off ({root})"))
                .into_owned(),
        };
    }
    if !error.is_connect() && !root.contains("invalid HTTP version") {
        // Connected, so the request may have been written: whatever ended
        // the exchange now, a write may have been applied.
        let reason = if error.is_timeout() {
            "timed out".to_string()
        } else {
            root.clone()
        };
        return ApiError::Dropped {
            url: display_url,
            reason: crate::domain::text::sanitize(&reason).into_owned(),
        };
    }
    let reason = if error.is_connect() && error.is_timeout() {
        format!(
            "no connection within {} (connect_timeout_s)",
            seconds(options.limits.connect)
        )
    } else if error.is_timeout() {
        "timed out".to_string()
    } else if root.contains("invalid HTTP version") {
        // An http:// request answered by a TLS port.
        "the server does not answer plain HTTP there (is api_path https://?)".to_string()
    } else if error.is_connect() {
        format!("connection failed ({root})")
    } else {
        root
    };
    ApiError::Network {
        url: display_url,
        reason: crate::domain::text::sanitize(&reason).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_keep_the_password_out_of_sight() {
        let p = ProxySetting::parse("http://alice:s%40cret@proxy.corp:3128/", "proxy").unwrap();
        assert_eq!(p.url.as_str(), "http://proxy.corp:3128/");
        assert_eq!(p.username.as_deref(), Some("alice"));
        assert_eq!(p.password.as_ref().map(Secret::expose), Some("s@cret"));
        assert_eq!(p.display(), "http://alice:***@proxy.corp:3128");
        assert!(!format!("{p:?}").contains("cret"));
        let err = ProxySetting::parse("ftp://bob:hunter2@x:1", "proxy").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("bob:***@"), "{err}");
        let err = ProxySetting::parse("bob:hunter2@x:1", "proxy").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(
            redact_userinfo("http://u:p@h:1/x@y"),
            "http://u:***@h:1/x@y"
        );
        assert_eq!(redact_userinfo("http://h:1"), "http://h:1");
    }

    #[test]
    fn no_proxy_rules_for_wording() {
        let mut p = ProxySetting::parse("http://proxy:3128", "proxy").unwrap();
        assert!(!p.bypasses("tc.corp"));
        p.no_proxy = Some("localhost, .corp,10.0.0.5:8443".into());
        assert!(p.bypasses("tc.corp") && p.bypasses("a.b.corp") && p.bypasses("localhost"));
        assert!(p.bypasses("10.0.0.5"));
        assert!(!p.bypasses("corp.example") && !p.bypasses("127.0.0.1"));
        p.no_proxy = Some("*".into());
        assert!(p.bypasses("anything"));
    }

    #[test]
    fn ca_files_that_cannot_serve_are_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let ca = |name: &str, text: Option<&[u8]>| {
            let path = dir.path().join(name);
            if let Some(text) = text {
                std::fs::write(&path, text).unwrap();
            }
            CaFile {
                path,
                setting: "ca_file".into(),
            }
        };
        let missing = read_ca_file(&ca("absent.pem", None))
            .unwrap_err()
            .to_string();
        assert!(
            missing.starts_with("ca_file ") && missing.contains("cannot read it"),
            "{missing}"
        );
        let garbage = read_ca_file(&ca("garbage.pem", Some(b"hello, not a certificate\n")))
            .unwrap_err()
            .to_string();
        assert!(garbage.contains("holds no PEM certificate"), "{garbage}");
        let broken = read_ca_file(&ca(
            "broken.pem",
            Some(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
        ))
        .unwrap_err()
        .to_string();
        assert!(broken.contains("not a PEM certificate file"), "{broken}");
        let not_der = read_ca_file(&ca(
            "notder.pem",
            Some(b"-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n"),
        ))
        .unwrap_err()
        .to_string();
        assert!(not_der.contains("cannot be used as a CA"), "{not_der}");
        for message in [missing, garbage, broken, not_der] {
            assert!(!message.contains('\n'), "{message}");
        }
    }
}

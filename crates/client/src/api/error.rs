//! Typed client errors carrying the HTTP status and the server's message.

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq)]
pub enum ApiError {
    /// The server answered non-2xx, or with a `status` other than `Success`.
    #[error("{}", describe_http(*.status, .message))]
    Http {
        status: u16,
        message: String,
        err_code: Option<String>,
    },
    /// Could not reach the server at all (DNS, refused, reset, timeout).
    #[error("cannot reach {url}: {reason}")]
    Network { url: String, reason: String },
    /// The connection ended after the request may have been written and
    /// before an answer came: a write may have been applied.
    #[error("no answer from {url}: {reason}")]
    Dropped { url: String, reason: String },
    /// The instance stopped answering in time (no headers, a stalled or
    /// endless body). Not retried: the person has already waited that long.
    #[error("the instance stopped answering ({reason}) at {url}")]
    Timeout { url: String, reason: String },
    /// A TLS or proxy failure, already worded as one line; retrying will
    /// not help, the configuration must change.
    #[error("{0}")]
    Transport(String),
    /// The server answered something that is not the expected JSON.
    #[error("unexpected answer from {url}: {reason}")]
    Decode { url: String, reason: String },
    /// The read-only guard refused a write before it left the machine.
    #[error("read-only mode: {method} {path} was not sent")]
    ReadOnly { method: String, path: String },
    /// The instance does not offer an extension this action needs.
    #[error("this instance does not support {0}")]
    Unsupported(String),
    /// Bad configuration (URL, credentials).
    #[error("{0}")]
    Config(String),
}

fn describe_http(status: u16, message: &str) -> String {
    let what = match status {
        400 => "bad request",
        401 => "not authorized",
        403 => "owner not accessible",
        404 => "not found",
        407 => "the proxy wants credentials: check its user and password",
        429 => "too many requests",
        500 => "server error",
        // ThreatConnect's docs: "The ThreatConnect instance is not licensed
        // to enable the API."
        503 => "service unavailable: ThreatConnect answers this when the instance is not licensed for the API",
        _ => "request failed",
    };
    if message.is_empty() {
        format!("{what} (HTTP {status})")
    } else {
        format!("{message} (HTTP {status} {what})")
    }
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's own words, when it gave any.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            ApiError::Http { message, .. } if !message.is_empty() => Some(message),
            _ => None,
        }
    }

    /// Worth retrying: network failures, 429 and 5xx but 503, which
    /// ThreatConnect uses for "API not licensed" (the client retries a 503
    /// only when it carries `Retry-After`).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Network { .. } | ApiError::Dropped { .. } => true,
            ApiError::Http { status, .. } => *status == 429 || (*status >= 500 && *status != 503),
            _ => false,
        }
    }

    /// The request may have reached the server and been applied, yet no
    /// readable answer says so: the connection dropped after sending, the
    /// answer did not come in time, or it came but could not be read. For
    /// a write this is "unknown", never "failed": only a read-back tells.
    pub fn maybe_sent(&self) -> bool {
        matches!(
            self,
            ApiError::Dropped { .. } | ApiError::Timeout { .. } | ApiError::Decode { .. }
        )
    }

    /// A write that failed this way may still have been applied: no
    /// readable answer came (`maybe_sent`), or the server failed (5xx but
    /// 503, which is "not licensed" or "come back later") possibly after
    /// committing. Only reading the account back tells.
    pub fn may_have_applied(&self) -> bool {
        self.maybe_sent() || self.status().is_some_and(|s| s >= 500 && s != 503)
    }
}

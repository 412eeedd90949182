//! The sandbox's error answers: the v3 error envelope with its status and
//! code, and the injected faults' answers. Both the auth layer and the
//! handlers answer with these.

use crate::api::wire::ErrorEnvelope;
use crate::domain::policy;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug)]
pub struct ApiErr {
    status: StatusCode,
    message: String,
}

impl ApiErr {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiErr {
            status,
            message: message.into(),
        }
    }
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, m)
    }
    pub fn bad(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, m)
    }
    pub(crate) fn forbidden(m: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, m)
    }
    pub(crate) fn not_found(m: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, m)
    }
    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, m)
    }
    pub fn db(e: rusqlite::Error) -> Self {
        Self::internal(format!("database error: {e}"))
    }
    pub(crate) fn refused(r: policy::Refusal) -> Self {
        Self::unauthorized(r.0)
    }
}

/// v3 error codes are hex strings; the docs show `0x1001` on a 400 (the
/// associations page). The others follow the same form, one per status,
/// since no public list of them exists.
fn err_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "0x1001",
        401 => "0x1002",
        403 => "0x1003",
        404 => "0x1004",
        405 => "0x1005",
        429 => "0x1006",
        _ => "0x1000",
    }
}

/// The v3 error status (v2 answered `Failure`).
pub const ERROR_STATUS: &str = "Error";

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            status: ERROR_STATUS.into(),
            message: Some(self.message),
            err_code: Some(err_code(self.status).into()),
        };
        (self.status, Json(body)).into_response()
    }
}

/// The answer of an injected fault.
pub fn fault_response(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match code {
        429 => "Too many requests (injected by the sandbox)",
        503 => "Service unavailable (injected by the sandbox)",
        _ => "Internal server error (injected by the sandbox)",
    };
    ApiErr::new(status, message).into_response()
}

/// The answer beyond `Faults::rate_limit_per_second`: 429 with when to
/// come back, as a rate-limiting gateway gives it.
pub fn rate_limited(retry_after_s: u64) -> Response {
    let mut response = ApiErr::new(
        StatusCode::TOO_MANY_REQUESTS,
        "Rate limit exceeded (injected by the sandbox)",
    )
    .into_response();
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(retry_after_s),
    );
    response
}

//! Authentication of every request: HMAC (`TC ACCESS_ID:SIGNATURE`, the
//! access ID being the account's user name) or `TC-Token`.
//!
//! The 401 messages are ThreatConnect's own, from its "Common Errors"
//! documentation.

use super::db::{self, UserRow};
use super::error::ApiErr;
use super::Shared;
use crate::api::auth::{
    hmac_signature, parse_authorization, signatures_match, string_to_sign, PresentedAuth,
};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::Arc;

pub const BAD_SIGNATURE: &str = "Signature data did not match expected result";
pub const BAD_TIMESTAMP: &str = "Timestamp out of acceptable time range";
pub const ACCESS_DENIED: &str = "Access Denied";
pub const BAD_TOKEN: &str = "Unauthorized";
/// How far the Timestamp header may be from the server clock.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// The authenticated caller, put into request extensions.
#[derive(Clone, Debug)]
pub struct Caller(pub UserRow);

pub async fn authenticate(
    State(shared): State<Arc<Shared>>,
    mut req: Request,
    next: Next,
) -> Response {
    let presented = match presented(&req) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match identify(&shared, presented).await {
        Ok(row) => {
            req.extensions_mut().insert(Caller(row));
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

enum Presented {
    Hmac {
        access_id: String,
        signature: String,
        message: String,
    },
    Token(String),
}

/// What the request presents, checked for form and clock skew (no IO).
fn presented(req: &Request) -> Result<Presented, ApiErr> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let authorization = header("authorization").ok_or_else(|| {
        ApiErr::unauthorized(
            "Authorization header missing; send 'TC ACCESS_ID:SIGNATURE' or 'TC-Token TOKEN'",
        )
    })?;
    let timestamp = header("timestamp").map(|t| t.trim().parse::<i64>());
    let presented =
        match parse_authorization(&authorization) {
            Some(PresentedAuth::Hmac {
                access_id,
                signature,
            }) => {
                let timestamp =
                    match timestamp {
                        Some(Ok(t)) => t,
                        Some(Err(_)) | None => return Err(ApiErr::unauthorized(
                            "Timestamp header missing or not a number of seconds since the epoch",
                        )),
                    };
                if Utc::now().timestamp().abs_diff(timestamp) > MAX_SKEW_SECONDS.unsigned_abs() {
                    return Err(ApiErr::unauthorized(BAD_TIMESTAMP));
                }
                // Exactly as received: never re-encoded.
                let path_and_query = req
                    .uri()
                    .path_and_query()
                    .map(|pq| pq.as_str().to_string())
                    .unwrap_or_else(|| req.uri().path().to_string());
                Presented::Hmac {
                    access_id: access_id.to_string(),
                    signature: signature.to_string(),
                    message: string_to_sign(&path_and_query, req.method().as_str(), timestamp),
                }
            }
            Some(PresentedAuth::Token(token)) => {
                if let Some(Ok(t)) = timestamp {
                    if Utc::now().timestamp().abs_diff(t) > MAX_SKEW_SECONDS.unsigned_abs() {
                        return Err(ApiErr::unauthorized(BAD_TIMESTAMP));
                    }
                }
                Presented::Token(token.to_string())
            }
            None => return Err(ApiErr::unauthorized(
                "Authorization header not in the form 'TC ACCESS_ID:SIGNATURE' or 'TC-Token TOKEN'",
            )),
        };
    Ok(presented)
}

async fn identify(shared: &Arc<Shared>, presented: Presented) -> Result<UserRow, ApiErr> {
    shared
        .db(move |conn| match presented {
            Presented::Hmac {
                access_id,
                signature,
                message,
            } => {
                let found: Option<(i64, Option<String>)> = conn
                    .query_row(
                        "SELECT id, api_secret FROM users WHERE user_name = ?1",
                        [&access_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(ApiErr::db)?;
                let Some((id, Some(secret))) = found else {
                    return Err(ApiErr::unauthorized(ACCESS_DENIED));
                };
                if !signatures_match(&hmac_signature(&secret, &message), &signature) {
                    return Err(ApiErr::unauthorized(BAD_SIGNATURE));
                }
                active_user(conn, id, ACCESS_DENIED)
            }
            Presented::Token(token) => {
                let found: Option<(i64, Option<String>)> = conn
                    .query_row(
                        "SELECT user_id, expires FROM tokens WHERE hash = ?1",
                        [db::sha256_hex(&token)],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(ApiErr::db)?;
                let Some((id, expires)) = found else {
                    return Err(ApiErr::unauthorized(BAD_TOKEN));
                };
                if expires.is_some_and(|e| e < db::fmt_time(Utc::now())) {
                    return Err(ApiErr::unauthorized(BAD_TOKEN));
                }
                // A locked account's token does not authenticate either.
                match active_user(conn, id, BAD_TOKEN)? {
                    row if row.locked => Err(ApiErr::unauthorized(BAD_TOKEN)),
                    row => Ok(row),
                }
            }
        })
        .await
}

fn active_user(conn: &Connection, id: i64, refusal: &str) -> Result<UserRow, ApiErr> {
    match db::load_user(conn, id).map_err(ApiErr::db)? {
        Some(row) if !row.disabled => Ok(row),
        _ => Err(ApiErr::unauthorized(refusal)),
    }
}

/// Creates a token for `user_id`, keeps only its hash, returns it once.
pub fn store_new_token(
    conn: &Connection,
    user_id: i64,
    expiration_days: Option<i64>,
) -> rusqlite::Result<String> {
    let mut rng = rand::thread_rng();
    let token: String = (0..40)
        .map(|_| {
            let n = rng.gen_range(0..62u8);
            (match n {
                0..=9 => b'0' + n,
                10..=35 => b'a' + n - 10,
                _ => b'A' + n - 36,
            }) as char
        })
        .collect();
    let expires = expiration_days.map(|d| db::fmt_time(Utc::now() + Duration::days(d)));
    conn.execute(
        "INSERT INTO tokens(hash, user_id, expires) VALUES (?1, ?2, ?3)",
        params![db::sha256_hex(&token), user_id, expires],
    )?;
    Ok(token)
}

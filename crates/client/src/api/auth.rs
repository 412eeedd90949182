//! ThreatConnect API authentication: HMAC signatures and tokens.
//!
//! HMAC: sign `PATH_AND_QUERY:METHOD:TIMESTAMP` (the path includes `/api`,
//! the query exactly as sent) with HMAC-SHA256 and the secret key, base64;
//! send `Authorization: TC ACCESS_ID:SIGNATURE` and `Timestamp: UNIX_SECONDS`.
//! Token: `Authorization: TC-Token TOKEN` (and `Timestamp`).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// A secret that never shows in output, logs or `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The only way to the value; grep for it to audit every use.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How the client proves who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    Hmac {
        access_id: String,
        secret_key: Secret,
    },
    Token(Secret),
}

/// The string that gets signed: `PATH_AND_QUERY:METHOD:TIMESTAMP`.
pub fn string_to_sign(path_and_query: &str, method: &str, timestamp: i64) -> String {
    format!(
        "{path_and_query}:{}:{timestamp}",
        method.to_ascii_uppercase()
    )
}

/// base64(HMAC-SHA256(secret, message)).
pub fn hmac_signature(secret_key: &str, message: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC accepts any key length");
    mac.update(message.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl Credentials {
    /// The `Authorization` header value for one request.
    pub fn authorization(&self, path_and_query: &str, method: &str, timestamp: i64) -> String {
        match self {
            Credentials::Hmac {
                access_id,
                secret_key,
            } => {
                let message = string_to_sign(path_and_query, method, timestamp);
                format!(
                    "TC {access_id}:{}",
                    hmac_signature(secret_key.expose(), &message)
                )
            }
            Credentials::Token(token) => format!("TC-Token {}", token.expose()),
        }
    }
}

/// Parses `TC ACCESS_ID:SIGNATURE` or `TC-Token TOKEN` (the sandbox's side).
#[derive(Debug, PartialEq, Eq)]
pub enum PresentedAuth<'a> {
    Hmac {
        access_id: &'a str,
        signature: &'a str,
    },
    Token(&'a str),
}

pub fn parse_authorization(header: &str) -> Option<PresentedAuth<'_>> {
    if let Some(token) = header.strip_prefix("TC-Token ") {
        return Some(PresentedAuth::Token(token.trim()));
    }
    let rest = header.strip_prefix("TC ")?;
    // The signature is base64 and has no ':'; the access ID may.
    let (access_id, signature) = rest.rsplit_once(':')?;
    Some(PresentedAuth::Hmac {
        access_id,
        signature,
    })
}

/// Constant-time comparison of two signatures.
pub fn signatures_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_signature() {
        // Computed independently: printf '%s' MSG | openssl dgst -sha256 -hmac KEY -binary | base64
        let message = string_to_sign(
            "/api/v3/security/users?resultStart=0&resultLimit=100",
            "get",
            1_700_000_000,
        );
        assert_eq!(
            message,
            "/api/v3/security/users?resultStart=0&resultLimit=100:GET:1700000000"
        );
        let creds = Credentials::Hmac {
            access_id: "12345678901234567890".into(),
            secret_key: Secret::new("s3cr3t-k3y"),
        };
        let header = creds.authorization(
            "/api/v3/security/users?resultStart=0&resultLimit=100",
            "GET",
            1_700_000_000,
        );
        assert_eq!(
            header,
            format!("TC 12345678901234567890:{}", KNOWN_SIGNATURE)
        );
    }

    const KNOWN_SIGNATURE: &str = "ZTYs4MmQ76uvSby6Xj3jV9IV9Ls4ZsGFgB6ksh2y5TY=";

    #[test]
    fn token_header_and_parse() {
        let creds = Credentials::Token(Secret::new("abc"));
        assert_eq!(creds.authorization("/api/x", "GET", 1), "TC-Token abc");
        assert_eq!(
            parse_authorization("TC-Token abc"),
            Some(PresentedAuth::Token("abc"))
        );
        assert_eq!(
            parse_authorization("TC id:sig="),
            Some(PresentedAuth::Hmac {
                access_id: "id",
                signature: "sig="
            })
        );
        assert_eq!(parse_authorization("Basic xyz"), None);
    }

    #[test]
    fn secrets_never_print() {
        let creds = Credentials::Hmac {
            access_id: "id".into(),
            secret_key: Secret::new("hunter2"),
        };
        assert!(!format!("{creds:?}").contains("hunter2"));
        assert!(!format!("{}", Secret::new("hunter2")).contains("hunter2"));
    }
}

//! ThreatConnect v3 wire types, shared by the client and the sandbox so the
//! two cannot drift apart.
//!
//! # rollcall extensions
//! What the web UI can do but the documented API cannot lives under
//! [`EXT_PREFIX`] and is advertised in the `OPTIONS /v3/security/users`
//! answer under [`EXTENSIONS_KEY`]; a client uses an extension only when the
//! instance lists it. Names (the strings in [`ext`]):
//! - `instance`: `GET {EXT_PREFIX}/instance` -> [`InstanceSettings`]
//!   (password max age, SAML, Terms of Service, MFA, deployment).
//! - `limits`: `GET {EXT_PREFIX}/limits` -> list of [`OrgLimits`] for the
//!   Organizations the caller may list.
//! - `userGroups`, `mfaEnabled`: extra user fields, returned when asked for
//!   with `fields=userGroups` / `fields=mfaEnabled`.
//! - `groupMembership`: `PUT {EXT_PREFIX}/users/{id}/groups` with
//!   [`GroupMembership`] replaces the account's groups.
//! - `runAs`: `GET {EXT_PREFIX}/users/{id}/runAs` -> [`RunAs`].
//! - `reassignOnDelete`: `DELETE /v3/security/users/{id}` accepts
//!   `reassignPlaybooksTo=ID` and `reassignJobsTo=ID`; without them the
//!   delete of a Run As user of active playbooks or job apps fails with 400.
//! - `apiTokens`: `POST {EXT_PREFIX}/users/{id}/token` with [`TokenRequest`]
//!   -> [`ApiToken`], shown once, never stored by the client.
//! - Web-UI-only account settings, each an extra user field: returned when
//!   asked for with `fields=NAME`, accepted in `POST`/`PUT` user bodies:
//!   `timeZone` (IANA name), `summaryEmailTime` ("HH:00"), and for API users
//!   `tokenExpirationDays`, `includeInObservations`, `allowExceedApiLinkLimit`.
//! - `sendAccountInfoEmail`: a `POST /v3/security/users` body may carry
//!   `"sendAccountInfoEmail": true`; the instance then e-mails the account
//!   information (never the password) to the new account's address.
//! - `generatedUserNames`: a `POST` of an API or TAXII account may leave out
//!   `userName` and `password`; the instance generates the Access ID (the
//!   docs require both for every account).
//! - `systemRoleUpdate`: a `PUT` may change `systemRole` (the docs, since
//!   7.11.2, mark it not updatable).
//! - `apiSecretKey`: the `POST` answer for a new API account carries its
//!   `secretKey` (as the web UI shows it once); the client shows it once
//!   and never stores it.
//!
//! # Group membership on a plain instance
//! `GET /v3/security/userGroups?fields=users` (when `OPTIONS
//! /v3/security/userGroups/fields` lists `users`) answers each group with
//! its members as tcex's `UsersModel`: `"users": {"data": [{user}, ...]}`;
//! see [`UserGroupWithUsers`].

use serde::{Deserialize, Serialize};

pub use crate::domain::limits::OrgLimits;
pub use crate::domain::policy::InstanceSettings;
pub use crate::domain::run_as::{RunAs, RunAsItem};
pub use crate::domain::User;

pub const USERS_PATH: &str = "/v3/security/users";
pub const USER_GROUPS_PATH: &str = "/v3/security/userGroups";
pub const OWNERS_PATH: &str = "/v3/security/owners";
pub const SYSTEM_ROLES_PATH: &str = "/v3/security/systemRoles";
pub const OWNER_ROLES_PATH: &str = "/v3/security/ownerRoles";
pub const WHOAMI_PATH: &str = "/v2/whoami";
pub const EXT_PREFIX: &str = "/v3/ext/rollcall";
pub const EXTENSIONS_KEY: &str = "rollcallExtensions";

/// Extension names as advertised by `OPTIONS /v3/security/users`.
pub use crate::domain::ext;

/// `{"data":[...],"count":N,"next":"...","prev":"...","status":"Success"}`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListEnvelope<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    pub status: String,
    /// Items of this page that could not be read at all and were left out;
    /// the page's length on the wire is `data.len() + skipped`.
    #[serde(skip)]
    pub skipped: u64,
}

impl<T: serde::de::DeserializeOwned> ListEnvelope<T> {
    /// Decodes a list answer. An item that cannot be read at all (an
    /// account without a usable `id`) is left out and noted, rather than
    /// failing the page; field-level oddities are handled by the item type.
    pub fn decode(body: &[u8]) -> Result<Self, serde_json::Error> {
        // UTF-8 checked once for the whole body, not string by string.
        let whole = match std::str::from_utf8(body) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(body),
        };
        let first_error = match whole {
            Ok(page) => return Ok(page),
            Err(e) => e,
        };
        #[derive(Deserialize)]
        struct RawList<'a> {
            #[serde(default, borrow)]
            data: Vec<&'a serde_json::value::RawValue>,
            #[serde(default)]
            count: Option<u64>,
            #[serde(default)]
            next: Option<String>,
            #[serde(default)]
            prev: Option<String>,
            status: String,
        }
        let Ok(raw) = serde_json::from_slice::<RawList>(body) else {
            return Err(first_error);
        };
        let mut data = Vec::with_capacity(raw.data.len());
        let mut skipped = 0;
        for item in raw.data {
            match serde_json::from_str(item.get()) {
                Ok(item) => data.push(item),
                Err(_) => {
                    skipped += 1;
                    crate::domain::lenient::note_unreadable_account();
                }
            }
        }
        Ok(ListEnvelope {
            data,
            count: raw.count,
            next: raw.next,
            prev: raw.prev,
            status: raw.status,
            skipped,
        })
    }
}

/// `{"data":{...},"status":"Success","message":"Updated"}`; `data` is absent
/// on a delete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OneEnvelope<T> {
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub status: String,
}

/// A failure answer: `status` other than `Success`, with a message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEnvelope {
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_code: Option<String>,
}

pub const SUCCESS: &str = "Success";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserGroup {
    pub id: i64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The `fields=users` name of `GET /v3/security/userGroups` (tcex
/// `user_group_model.py`: `users: UsersModel`).
pub const GROUP_USERS_FIELD: &str = "users";

/// A user group with its members (`GET /v3/security/userGroups?fields=users`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserGroupWithUsers {
    pub id: i64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Absent when the instance did not return members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<GroupUsers>,
}

/// tcex models a collection as `{"data": [...]}`; a bare array is read too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GroupUsers {
    Wrapped {
        #[serde(default)]
        data: Vec<GroupMember>,
    },
    Bare(Vec<GroupMember>),
}

impl GroupUsers {
    pub fn members(&self) -> &[GroupMember] {
        match self {
            GroupUsers::Wrapped { data } | GroupUsers::Bare(data) => data,
        }
    }
}

/// A member as listed in a group: only the id is needed (the rest of the
/// user object is ignored, so an odd value there cannot fail the answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

/// An owner (Organization, Community or Source) with the caller's
/// permissions in it. Only the fields rollcall uses are named; the rest of
/// ThreatConnect's `perm*` fields are kept in `other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_role: Option<String>,
    /// `FULL`, `CREATE`, `READ` or `NONE` (tcex's allowed values): what the
    /// caller may do with users here. Kept as text: another value is shown
    /// as the instance names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perm_users: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perm_members: Option<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemRoleInfo {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub assignable: Option<bool>,
    #[serde(default)]
    pub displayed: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRoleInfo {
    pub id: i64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_comm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_admin: Option<String>,
    #[serde(default)]
    pub org_role: Option<bool>,
    #[serde(default)]
    pub comm_role: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
}

/// `GET /v2/whoami` -> `{"status":"Success","data":{"user":{...}}}`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhoAmIData {
    pub user: WhoAmI,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    pub user_name: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub pseudonym: Option<String>,
    /// The System role name.
    pub role: String,
}

/// One field as `OPTIONS /v3/security/users/fields` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldInfo {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// True for rollcall extensions.
    #[serde(default)]
    pub extension: bool,
}

/// One keyword as `OPTIONS /v3/security/users/tql` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TqlKeyword {
    pub keyword: String,
    pub name: String,
    /// `String`, `Boolean`, `Integer` or `Date`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Body of `PUT {EXT_PREFIX}/users/{id}/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMembership {
    pub group_ids: Vec<i64>,
}

/// Body of `PUT {EXT_PREFIX}/users/{id}/runAs` (extension `moveRunAs`):
/// who takes over the account's active playbooks and its job apps, as the
/// Playbook Designer's Run As setting does one playbook at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RunAsMove {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbooks_to: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs_to: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_days: Option<i64>,
}

/// Shown once; deliberately not `Debug`-printable in full.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    pub token: String,
    #[serde(default)]
    pub expires: Option<chrono::DateTime<chrono::Utc>>,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken")
            .field("token", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

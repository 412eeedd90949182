//! The client: one `Client` (cheap to clone) per connection.

use super::auth::Credentials;
use super::error::ApiError;
use super::wire::*;
use crate::domain::User;
use std::collections::BTreeSet;

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct Connection {
    /// Base URL ending in `/api`, e.g. `https://tc.example.com/api`.
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
    /// TQL keywords (from `OPTIONS /v3/security/users/tql`).
    pub tql_keywords: BTreeSet<String>,
    /// rollcall extensions the instance advertises (see `wire::ext`).
    pub extensions: BTreeSet<String>,
}

impl Capabilities {
    pub fn has(&self, extension: &str) -> bool {
        self.extensions.contains(extension)
    }
}

#[derive(Clone)]
pub struct Client {
    _private: (),
}

#[allow(unused_variables)]
impl Client {
    pub fn new(connection: Connection) -> Result<Self, ApiError> {
        todo!()
    }

    pub async fn whoami(&self) -> Result<WhoAmI, ApiError> {
        todo!()
    }

    /// Every page, in order, following `next` (or in parallel when the
    /// total is known). `on_page` sees each page as it arrives.
    pub async fn list_users_with(
        &self,
        query: &UserQuery,
        on_page: &mut (dyn FnMut(Page<User>) + Send),
    ) -> Result<(), ApiError> {
        todo!()
    }

    pub async fn list_users(&self, query: &UserQuery) -> Result<Vec<User>, ApiError> {
        todo!()
    }

    pub async fn get_user(&self, id: i64, fields: &[String]) -> Result<User, ApiError> {
        todo!()
    }

    pub async fn create_user(&self, body: &serde_json::Value) -> Result<User, ApiError> {
        todo!()
    }

    pub async fn update_user(&self, id: i64, body: &serde_json::Value) -> Result<User, ApiError> {
        todo!()
    }

    pub async fn delete_user(
        &self,
        id: i64,
        reassign_playbooks_to: Option<i64>,
        reassign_jobs_to: Option<i64>,
    ) -> Result<(), ApiError> {
        todo!()
    }

    pub async fn user_groups(&self) -> Result<Vec<UserGroup>, ApiError> {
        todo!()
    }

    pub async fn owners(&self) -> Result<Vec<Owner>, ApiError> {
        todo!()
    }

    pub async fn system_roles(&self) -> Result<Vec<SystemRoleInfo>, ApiError> {
        todo!()
    }

    pub async fn owner_roles(&self) -> Result<Vec<OwnerRoleInfo>, ApiError> {
        todo!()
    }

    pub async fn capabilities(&self) -> Result<Capabilities, ApiError> {
        todo!()
    }

    pub async fn instance_settings(&self) -> Result<InstanceSettings, ApiError> {
        todo!()
    }

    pub async fn org_limits(&self) -> Result<Vec<OrgLimits>, ApiError> {
        todo!()
    }

    pub async fn run_as(&self, id: i64) -> Result<RunAs, ApiError> {
        todo!()
    }

    pub async fn set_groups(&self, id: i64, group_ids: &[i64]) -> Result<(), ApiError> {
        todo!()
    }

    pub async fn generate_token(
        &self,
        id: i64,
        expiration_days: Option<i64>,
    ) -> Result<ApiToken, ApiError> {
        todo!()
    }
}

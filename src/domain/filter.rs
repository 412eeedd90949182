//! The filter language of `users list --filter` and the console's `/`,
//! parsed once here. Sent as TQL where the instance supports it, evaluated
//! locally otherwise, with the same answer either way.
//!
//! Syntax: whitespace-separated terms, all of which must match.
//! - free words (or "quoted phrases") match user name, first and last name, pseudonym
//! - `status:ok|locked|disabled`, `role:"Read Only User"` (System role),
//!   `orgrole:NAME`, `group:NAME`, `type:user|api|taxii|readonly`,
//!   `login>90d` (no login for more than 90 days, or never), `login<7d`,
//!   `login:never`, `mfa:on|off`

use super::account::User;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// What local evaluation needs besides the account.
#[derive(Debug, Clone, Copy)]
pub struct MatchContext {
    pub now: DateTime<Utc>,
}

/// What the instance supports for translating to TQL.
#[derive(Debug, Clone, Default)]
pub struct TqlSupport {
    /// TQL keywords the instance lists (`OPTIONS /v3/security/users/tql`).
    pub keywords: BTreeSet<String>,
    /// Group name (lowercase) to id, for `group:NAME` -> `groupId = ID`.
    pub group_ids: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    // filled in by the implementation
    _terms: Vec<()>,
}

#[allow(unused_variables)]
impl Filter {
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        todo!()
    }

    pub fn is_empty(&self) -> bool {
        todo!()
    }

    /// Lowercased text that free words are matched against; callers that
    /// filter the same accounts many times compute it once per account.
    pub fn search_text(user: &User) -> String {
        todo!()
    }

    pub fn matches(&self, user: &User, ctx: &MatchContext) -> bool {
        todo!()
    }

    /// As `matches`, with `search_text` precomputed (the hot path).
    pub fn matches_indexed(&self, user: &User, search_text: &str, ctx: &MatchContext) -> bool {
        todo!()
    }

    /// The part of the filter expressible as TQL on this instance (terms
    /// joined by `and`), or `None`. The caller still applies `matches`
    /// locally, so a partial translation never changes the answer.
    pub fn to_tql(&self, support: &TqlSupport, ctx: &MatchContext) -> Option<String> {
        todo!()
    }
}

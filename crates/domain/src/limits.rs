//! Organization seat limits (rule 6): User Limit, API Limit, TAXII User Limit.
//! Read Only Users do not count against the User Limit.

use super::policy::Refusal;
use super::roles::AccountType;
use serde::{Deserialize, Serialize};

/// An Organization's limits and current use, as the instance reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OrgLimits {
    pub organization: String,
    /// `None` means no limit.
    pub user_limit: Option<i64>,
    pub api_limit: Option<i64>,
    pub taxii_limit: Option<i64>,
    pub users: i64,
    pub api_users: i64,
    pub taxii_users: i64,
    /// Read Only Users, which do not count against the User Limit.
    pub read_only_users: i64,
}

impl OrgLimits {
    /// Seats left for a type; `None` when unlimited.
    pub fn remaining(&self, kind: AccountType) -> Option<i64> {
        let (limit, used) = match kind {
            AccountType::User => (self.user_limit, self.users),
            AccountType::Api => (self.api_limit, self.api_users),
            AccountType::Taxii => (self.taxii_limit, self.taxii_users),
            AccountType::ReadOnly => return None,
        };
        limit.map(|l| (l - used).max(0))
    }

    /// The Create action for `kind` is offered only while seats remain.
    pub fn allows_create(&self, kind: AccountType) -> bool {
        self.remaining(kind) != Some(0)
    }

    /// `allows_create` with the reason a person reads when it does not,
    /// worded the same by the sandbox, the scripted commands and the console.
    pub fn check_create(&self, kind: AccountType) -> Result<(), Refusal> {
        if self.allows_create(kind) {
            return Ok(());
        }
        let (label, limit) = match kind {
            AccountType::Api => ("API Limit", self.api_limit),
            AccountType::Taxii => ("TAXII User Limit", self.taxii_limit),
            AccountType::User | AccountType::ReadOnly => ("User Limit", self.user_limit),
        };
        Err(Refusal(format!(
            "{} has reached its {label} ({}); no {} can be created",
            self.organization,
            limit.unwrap_or_default(),
            kind.name()
        )))
    }

    /// Counts an account of `kind` as created.
    pub fn count(&mut self, kind: AccountType, delta: i64) {
        match kind {
            AccountType::User => self.users += delta,
            AccountType::Api => self.api_users += delta,
            AccountType::Taxii => self.taxii_users += delta,
            AccountType::ReadOnly => self.read_only_users += delta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_users_do_not_count() {
        let mut l = OrgLimits {
            organization: "Demo".into(),
            user_limit: Some(2),
            api_limit: Some(1),
            ..Default::default()
        };
        l.count(AccountType::User, 2);
        l.count(AccountType::ReadOnly, 5);
        assert_eq!(l.remaining(AccountType::User), Some(0));
        assert!(!l.allows_create(AccountType::User));
        assert_eq!(
            l.check_create(AccountType::User).unwrap_err().0,
            "Demo has reached its User Limit (2); no User can be created"
        );
        assert!(l.check_create(AccountType::Api).is_ok());
        assert!(l.allows_create(AccountType::ReadOnly));
        assert_eq!(l.remaining(AccountType::Api), Some(1));
        assert_eq!(l.remaining(AccountType::Taxii), None);
        assert!(l.allows_create(AccountType::Taxii));
    }
}

//! The audit policy (`[policy]` in the config file): what "stale" and
//! "privileged" mean on this instance, and the check of an audit against
//! it. Evaluation works on an [`Audit`] and the accounts it was computed
//! from, whatever parsed the policy; a value the policy needs that the
//! instance did not return makes the check undecided, never passing.

use super::account::User;
use super::audit::{is_privileged, Audit, FindingKind, StaleDays};
use super::roles::AccountType;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The most days a threshold may be (100 years).
pub const MAX_DAYS: i64 = 36_500;

/// `[policy]` as written in the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [policy] table")]
pub struct AuditPolicy {
    /// `[policy.stale_days]`: days without a login before an account is
    /// stale, per account type (`user`, `api`, `taxii`, `readonly`). A
    /// type left out is not checked for staleness.
    #[serde(default)]
    pub stale_days: StaleDays,
    /// Privileged accounts (administrative System roles, Organization
    /// Administrators) must have MFA.
    #[serde(default)]
    pub privileged_require_mfa: bool,
    /// The most enabled privileged accounts one Organization may hold.
    #[serde(default)]
    pub max_privileged_per_org: Option<u32>,
    /// Every API account must have been used (logged in at least once).
    #[serde(default)]
    pub api_must_be_used: bool,
    /// `[[policy.exempt]]`: accounts no rule applies to, each with why.
    #[serde(default)]
    pub exempt: Vec<Exemption>,
}

/// An account the policy's rules leave alone (a break-glass account, a
/// service account), and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an exemption: account = \"NAME\" and reason = \"WHY\""
)]
pub struct Exemption {
    /// The account's user name (compared without regard to case).
    pub account: String,
    pub reason: String,
}

impl AuditPolicy {
    /// Every problem of a parsed policy, each one line naming its key;
    /// empty when the policy can be used.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, days) in [
            ("user", self.stale_days.user),
            ("api", self.stale_days.api),
            ("taxii", self.stale_days.taxii),
            ("readonly", self.stale_days.readonly),
        ] {
            if let Some(days) = days {
                if !(1..=MAX_DAYS).contains(&days) {
                    problems.push(format!(
                        "policy.stale_days.{key} = {days}: must be from 1 to {MAX_DAYS} days"
                    ));
                }
            }
        }
        let mut seen = BTreeSet::new();
        for (i, e) in self.exempt.iter().enumerate() {
            let n = i + 1;
            let name = e.account.trim();
            if name.is_empty() {
                problems.push(format!("policy.exempt #{n}: account is empty"));
                continue;
            }
            if e.reason.trim().is_empty() {
                problems.push(format!(
                    "policy.exempt #{n} ({name}): a reason is required for every exemption"
                ));
            }
            if !seen.insert(name.to_lowercase()) {
                problems.push(format!(
                    "policy.exempt #{n} ({name}): the account is exempted twice"
                ));
            }
        }
        problems
    }

    /// A policy with no rule: checking it would say nothing.
    pub fn has_rules(&self) -> bool {
        !self.stale_days.is_empty()
            || self.privileged_require_mfa
            || self.max_privileged_per_org.is_some()
            || self.api_must_be_used
    }

    /// The exemption of `user_name`, if any.
    pub fn exemption(&self, user_name: &str) -> Option<&Exemption> {
        let wanted = user_name.trim().to_lowercase();
        self.exempt
            .iter()
            .find(|e| e.account.trim().to_lowercase() == wanted)
    }

    /// The rules this policy sets, in the order a check reports them.
    pub fn rules(&self) -> Vec<Rule> {
        let mut rules = Vec::new();
        for kind in [
            AccountType::User,
            AccountType::Api,
            AccountType::Taxii,
            AccountType::ReadOnly,
        ] {
            if self.stale_days.get(kind).is_some() {
                rules.push(Rule::Stale(kind));
            }
        }
        if self.privileged_require_mfa {
            rules.push(Rule::PrivilegedWithoutMfa);
        }
        if self.max_privileged_per_org.is_some() {
            rules.push(Rule::PrivilegedOverMax);
        }
        if self.api_must_be_used {
            rules.push(Rule::ApiNeverUsed);
        }
        rules
    }
}

/// One rule of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Stale(AccountType),
    PrivilegedWithoutMfa,
    PrivilegedOverMax,
    ApiNeverUsed,
}

impl Rule {
    /// Stable name for check lines and JSON.
    pub fn key(self) -> String {
        match self {
            Rule::Stale(kind) => format!("stale.{}", kind.key()),
            Rule::PrivilegedWithoutMfa => "privileged_without_mfa".into(),
            Rule::PrivilegedOverMax => "privileged_over_max".into(),
            Rule::ApiNeverUsed => "api_never_used".into(),
        }
    }
}

/// A rule the instance does not meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    pub rule: String,
    /// Accounts (or, for the per-Organization maximum, Organizations).
    pub count: usize,
    /// One line: the count and what it counts.
    pub text: String,
    pub account_ids: Vec<i64>,
}

/// A rule that could not be decided for some accounts: what the instance
/// did not return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Undecided {
    pub rule: String,
    /// The fields that were missing (wire names).
    pub missing: Vec<String>,
    pub account_ids: Vec<i64>,
}

impl Undecided {
    pub fn text(&self) -> String {
        format!(
            "{}: cannot be decided for {} account{}: {} not returned",
            self.rule,
            self.account_ids.len(),
            if self.account_ids.len() == 1 { "" } else { "s" },
            self.missing.join(", ")
        )
    }
}

/// What checking an audit against a policy found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyCheck {
    pub violations: Vec<Violation>,
    pub undecided: Vec<Undecided>,
    /// Accounts present on the instance that an exemption left alone, with why.
    pub exempted: Vec<(i64, String)>,
}

impl PolicyCheck {
    /// 0 the instance meets the policy, 1 it does not, 2 the check could
    /// not be made (something the policy needs was not returned).
    pub fn exit_code(&self) -> u8 {
        if !self.undecided.is_empty() {
            2
        } else if !self.violations.is_empty() {
            1
        } else {
            0
        }
    }
}

/// The fields of `user` a rule needed and did not get, by wire name.
fn missing_fields(rule: Rule, user: &User, last_login_returned: bool) -> Vec<String> {
    let mut missing = Vec::new();
    let mut need = |absent: bool, name: &str| {
        if absent {
            missing.push(name.to_string());
        }
    };
    let roles = || user.system_role.is_none() || user.org_role_name().is_none();
    match rule {
        Rule::Stale(_) | Rule::ApiNeverUsed => {
            need(user.system_role.is_none(), "systemRole");
            need(user.disabled.is_none(), "disabled");
            need(
                user.last_login.is_none() && !(last_login_returned && user.has_detail_fields()),
                "lastLogin",
            );
        }
        Rule::PrivilegedWithoutMfa => {
            need(
                is_privileged(user).is_none() && roles(),
                "systemRole/ownerRoles",
            );
            need(user.disabled.is_none(), "disabled");
            need(user.mfa_enabled.is_none(), "mfaEnabled");
        }
        Rule::PrivilegedOverMax => {
            need(
                is_privileged(user).is_none() && roles(),
                "systemRole/ownerRoles",
            );
            need(user.disabled.is_none(), "disabled");
            need(user.owner.is_none(), "owner");
        }
    }
    if missing.is_empty() {
        // Returned, but not understood (an unfamiliar role name).
        missing.push("a role rollcall knows".into());
    }
    missing
}

/// How a check line names an account type.
fn type_name(kind: AccountType) -> &'static str {
    match kind {
        AccountType::User => "User",
        AccountType::Api => "API",
        AccountType::Taxii => "TAXII",
        AccountType::ReadOnly => "Read Only",
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Checks `audit` (computed over `users` with the policy's stale
/// thresholds, see `AuditInput::stale_by_type`) against `policy`.
/// Exempt accounts count for no rule; disabled accounts are not stale,
/// unused or over a maximum.
pub fn check(
    policy: &AuditPolicy,
    audit: &Audit,
    users: &[User],
    last_login_returned: bool,
) -> PolicyCheck {
    let by_id: BTreeMap<i64, &User> = users.iter().map(|u| (u.id, u)).collect();
    let exempt = |id: &i64| {
        by_id
            .get(id)
            .is_some_and(|u| policy.exemption(&u.user_name).is_some())
    };
    let mut result = PolicyCheck {
        exempted: users
            .iter()
            .filter_map(|u| {
                policy
                    .exemption(&u.user_name)
                    .map(|e| (u.id, e.reason.clone()))
            })
            .collect(),
        ..Default::default()
    };
    let finding = |kind| audit.finding(kind);
    let mut undecided = |rule: Rule, ids: Vec<i64>| {
        let ids: Vec<i64> = ids.into_iter().filter(|id| !exempt(id)).collect();
        if ids.is_empty() {
            return;
        }
        let mut missing = BTreeSet::new();
        for id in &ids {
            if let Some(user) = by_id.get(id) {
                missing.extend(missing_fields(rule, user, last_login_returned));
            }
        }
        result.undecided.push(Undecided {
            rule: rule.key(),
            missing: missing.into_iter().collect(),
            account_ids: ids,
        });
    };
    let mut violations = Vec::new();
    for rule in policy.rules() {
        match rule {
            Rule::Stale(kind) => {
                let Some(limit) = policy.stale_days.get(kind) else {
                    continue;
                };
                let Some(stale) = finding(FindingKind::StaleLogin) else {
                    continue;
                };
                let mut hits = Vec::new();
                let mut unknown = Vec::new();
                for id in &stale.account_ids {
                    let Some(user) = by_id.get(id) else { continue };
                    if user.account_type() != Some(kind) || exempt(id) {
                        continue;
                    }
                    match user.disabled {
                        Some(true) => {}
                        Some(false) => hits.push(*id),
                        None => unknown.push(*id),
                    }
                }
                // Undecided by the audit: of this type, or of no known type.
                unknown.extend(stale.unknown_ids.iter().copied().filter(|id| {
                    by_id.get(id).is_some_and(|u| {
                        u.disabled != Some(true) && u.account_type().is_none_or(|t| t == kind)
                    })
                }));
                undecided(rule, unknown);
                if !hits.is_empty() {
                    violations.push(Violation {
                        rule: rule.key(),
                        count: hits.len(),
                        text: format!(
                            "{} with no login for more than {limit} days",
                            plural(
                                hits.len(),
                                &format!("{} account", type_name(kind)),
                                &format!("{} accounts", type_name(kind))
                            )
                        ),
                        account_ids: hits,
                    });
                }
            }
            Rule::PrivilegedWithoutMfa | Rule::ApiNeverUsed => {
                let kind = if rule == Rule::ApiNeverUsed {
                    FindingKind::ApiNeverUsed
                } else {
                    FindingKind::PrivilegedWithoutMfa
                };
                let Some(f) = finding(kind) else { continue };
                let hits: Vec<i64> = f
                    .account_ids
                    .iter()
                    .copied()
                    .filter(|id| !exempt(id))
                    .filter(|id| by_id.get(id).is_some_and(|u| u.disabled != Some(true)))
                    .collect();
                let unknown: Vec<i64> = f
                    .unknown_ids
                    .iter()
                    .copied()
                    .filter(|id| by_id.get(id).is_some_and(|u| u.disabled != Some(true)))
                    .collect();
                undecided(rule, unknown);
                if !hits.is_empty() {
                    let what = if rule == Rule::ApiNeverUsed {
                        plural(
                            hits.len(),
                            "enabled API account that has never been used",
                            "enabled API accounts that have never been used",
                        )
                    } else {
                        plural(
                            hits.len(),
                            "enabled privileged account without MFA",
                            "enabled privileged accounts without MFA",
                        )
                    };
                    violations.push(Violation {
                        rule: rule.key(),
                        count: hits.len(),
                        text: what,
                        account_ids: hits,
                    });
                }
            }
            Rule::PrivilegedOverMax => {
                let Some(max) = policy.max_privileged_per_org else {
                    continue;
                };
                let mut per_org: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
                let mut unknown = Vec::new();
                for user in users {
                    if exempt(&user.id) || user.disabled == Some(true) {
                        continue;
                    }
                    match (is_privileged(user), user.disabled, user.owner.as_deref()) {
                        (Some(false), _, _) => {}
                        (Some(true), Some(false), Some(org)) => {
                            per_org.entry(org).or_default().push(user.id)
                        }
                        _ => unknown.push(user.id),
                    }
                }
                undecided(rule, unknown);
                let over: Vec<(&str, Vec<i64>)> = per_org
                    .into_iter()
                    .filter(|(_, ids)| ids.len() > max as usize)
                    .collect();
                if !over.is_empty() {
                    let detail: Vec<String> = over
                        .iter()
                        .map(|(org, ids)| format!("{org}: {}", ids.len()))
                        .collect();
                    violations.push(Violation {
                        rule: rule.key(),
                        count: over.len(),
                        text: format!(
                            "{} over the most privileged accounts allowed ({max}): {}",
                            plural(over.len(), "Organization", "Organizations"),
                            detail.join("; ")
                        ),
                        account_ids: over.into_iter().flat_map(|(_, ids)| ids).collect(),
                    });
                }
            }
        }
    }
    result.violations = violations;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{audit, AuditInput};
    use crate::LastLoginReported;
    use chrono::{DateTime, Duration, TimeZone, Utc};

    const ORG: &str = "Demo Organization";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn user(id: i64, system_role: &str, org_role: &str, login_days_ago: Option<i64>) -> User {
        User {
            id,
            user_name: format!("u{id}@example.com"),
            owner: Some(ORG.into()),
            system_role: Some(system_role.into()),
            owner_roles: Some(crate::OwnerRoles::from([(
                ORG.to_string(),
                org_role.to_string(),
            )])),
            disabled: Some(false),
            locked: Some(false),
            last_login: login_days_ago.map(|d| now() - Duration::days(d)),
            mfa_enabled: Some(true),
            user_groups: Some(Vec::new()),
            ..Default::default()
        }
    }

    fn run(policy: &AuditPolicy, users: &[User]) -> PolicyCheck {
        let input = AuditInput {
            stale_by_type: policy.stale_days,
            last_login: LastLoginReported::Returned,
            ..AuditInput::new(users, now())
        };
        check(policy, &audit(&input), users, true)
    }

    fn policy() -> AuditPolicy {
        AuditPolicy {
            stale_days: StaleDays {
                user: Some(90),
                api: Some(30),
                taxii: None,
                readonly: None,
            },
            privileged_require_mfa: true,
            max_privileged_per_org: Some(1),
            api_must_be_used: true,
            exempt: vec![Exemption {
                account: "U7@example.com".into(),
                reason: "break-glass".into(),
            }],
        }
    }

    #[test]
    fn a_compliant_instance_exits_0() {
        let users = vec![
            user(1, "User", "Standard User", Some(10)),
            user(2, "Administrator", "Organization Administrator", Some(1)),
            user(3, "Api User", "Standard User", Some(5)),
        ];
        let c = run(&policy(), &users);
        assert_eq!(c.violations, vec![]);
        assert_eq!(c.undecided, vec![]);
        assert_eq!(c.exit_code(), 0);
    }

    #[test]
    fn each_rule_counts_its_violations_and_exemptions_are_left_out() {
        let mut users = vec![
            // stale User (100 > 90)
            user(1, "User", "Standard User", Some(100)),
            // API 40 days: stale for API (30), not for User
            user(2, "Api User", "Standard User", Some(40)),
            // API never used
            user(3, "Api User", "Standard User", None),
            // two admins, one without MFA: over the max of 1, and no MFA
            user(4, "Administrator", "Standard User", Some(1)),
            user(5, "User", "Organization Administrator", Some(1)),
            // TAXII 500 days: no TAXII rule
            user(6, "Taxii User", "Standard User", Some(500)),
            // exempt: stale, admin, no MFA, but break-glass
            user(7, "Administrator", "Organization Administrator", Some(400)),
        ];
        users[4].mfa_enabled = Some(false);
        users[6].mfa_enabled = Some(false);
        // a disabled stale User is not a violation
        let mut d = user(8, "User", "Standard User", Some(900));
        d.disabled = Some(true);
        users.push(d);
        let c = run(&policy(), &users);
        let got: Vec<(String, usize, Vec<i64>)> = c
            .violations
            .iter()
            .map(|v| (v.rule.clone(), v.count, v.account_ids.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("stale.user".into(), 1, vec![1]),
                ("stale.api".into(), 1, vec![2]),
                ("privileged_without_mfa".into(), 1, vec![5]),
                ("privileged_over_max".into(), 1, vec![4, 5]),
                ("api_never_used".into(), 1, vec![3]),
            ]
        );
        assert_eq!(
            c.violations[0].text,
            "1 User account with no login for more than 90 days"
        );
        assert_eq!(
            c.violations[3].text,
            "1 Organization over the most privileged accounts allowed (1): Demo Organization: 2"
        );
        assert_eq!(c.exempted, vec![(7, "break-glass".to_string())]);
        assert_eq!(c.exit_code(), 1);
    }

    #[test]
    fn missing_data_is_undecided_never_passing() {
        let mut a = user(1, "Administrator", "Standard User", Some(1));
        a.mfa_enabled = None;
        let b = User {
            id: 2,
            user_name: "basic@example.com".into(),
            ..Default::default()
        };
        let c = run(&policy(), &[a, b]);
        assert_eq!(c.exit_code(), 2);
        let mfa = c
            .undecided
            .iter()
            .find(|u| u.rule == "privileged_without_mfa")
            .expect("MFA undecided");
        assert_eq!(mfa.account_ids, vec![1, 2]);
        assert!(mfa.missing.contains(&"mfaEnabled".to_string()), "{mfa:?}");
        assert!(mfa.text().contains("mfaEnabled"), "{}", mfa.text());
        let stale = c
            .undecided
            .iter()
            .find(|u| u.rule == "stale.user")
            .expect("stale undecided for the basic account");
        assert_eq!(stale.account_ids, vec![2]);
        assert!(stale.missing.contains(&"systemRole".to_string()));
    }

    #[test]
    fn problems_name_each_bad_key() {
        let p = AuditPolicy {
            stale_days: StaleDays {
                user: Some(0),
                api: Some(40_000),
                taxii: Some(30),
                readonly: None,
            },
            exempt: vec![
                Exemption {
                    account: "svc@example.com".into(),
                    reason: " ".into(),
                },
                Exemption {
                    account: "".into(),
                    reason: "x".into(),
                },
                Exemption {
                    account: "SVC@example.com".into(),
                    reason: "service".into(),
                },
            ],
            ..Default::default()
        };
        assert_eq!(
            p.problems(),
            vec![
                "policy.stale_days.user = 0: must be from 1 to 36500 days",
                "policy.stale_days.api = 40000: must be from 1 to 36500 days",
                "policy.exempt #1 (svc@example.com): a reason is required for every exemption",
                "policy.exempt #2: account is empty",
                "policy.exempt #3 (SVC@example.com): the account is exempted twice",
            ]
        );
        assert!(policy().problems().is_empty());
        assert!(!AuditPolicy::default().has_rules());
        assert!(policy().has_rules());
    }

    #[test]
    fn read_only_users_take_the_user_threshold_unless_set() {
        let s = StaleDays {
            user: Some(90),
            ..Default::default()
        };
        assert_eq!(s.get(AccountType::ReadOnly), Some(90));
        assert_eq!(s.get(AccountType::Taxii), None);
        assert_eq!(s.threshold(None, 30), None);
        assert_eq!(StaleDays::default().threshold(None, 30), Some(30));
        assert_eq!(s.threshold(Some(AccountType::Api), 30), Some(30));
    }
}

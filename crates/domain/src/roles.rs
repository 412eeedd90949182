//! The role vocabulary of ThreatConnect: System, Organization and Community
//! roles, account types, and the System-role hierarchy.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name ThreatConnect uses on the wire and in its UI.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a wire name, ignoring case and surrounding space.
            pub fn parse(text: &str) -> Option<Self> {
                let text = text.trim();
                Self::ALL.iter().copied().find(|r| r.name().eq_ignore_ascii_case(text))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {}: {text:?}", stringify!($name)))
                })
            }
        }
    };
}

named_enum!(
    /// The instance-wide administrative role of an account.
    SystemRole {
        Administrator => "Administrator",
        OperationsAdministrator => "Operations Administrator",
        AccountsAdministrator => "Accounts Administrator",
        CommunityLeader => "Community Leader",
        SuperUser => "Super User",
        User => "User",
        ReadOnlyUser => "Read Only User",
        ApiUser => "Api User",
        ExchangeAdmin => "Exchange Admin",
        TaxiiUser => "Taxii User",
    }
);

named_enum!(
    /// The role of an account inside its home Organization.
    OrgRole {
        OrganizationAdministrator => "Organization Administrator",
        SharingUser => "Sharing User",
        StandardUser => "Standard User",
        AppDeveloper => "App Developer",
        ReadOnlyCommenter => "Read Only Commenter",
        ReadOnlyUser => "Read Only User",
    }
);

named_enum!(
    /// The role of an account in a Community or Source.
    CommunityRole {
        Director => "Director",
        Editor => "Editor",
        Contributor => "Contributor",
        Commenter => "Commenter",
        User => "User",
        Subscriber => "Subscriber",
        Banned => "Banned",
    }
);

named_enum!(
    /// The kinds of account an Organization holds.
    AccountType {
        User => "User",
        Api => "API User",
        Taxii => "TAXII User",
        ReadOnly => "Read Only User",
    }
);

impl AccountType {
    /// The short key used by the filter language and the command line.
    pub fn key(self) -> &'static str {
        match self {
            AccountType::User => "user",
            AccountType::Api => "api",
            AccountType::Taxii => "taxii",
            AccountType::ReadOnly => "readonly",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.key().eq_ignore_ascii_case(key.trim()))
    }

    /// The type an account has, judged by its System role.
    pub fn of(role: SystemRole) -> Self {
        match role {
            SystemRole::ApiUser | SystemRole::ExchangeAdmin => AccountType::Api,
            SystemRole::TaxiiUser => AccountType::Taxii,
            SystemRole::ReadOnlyUser => AccountType::ReadOnly,
            _ => AccountType::User,
        }
    }

    /// The System role a new account of this type gets when the creator may
    /// not choose one (SPEC rule 4).
    pub fn default_system_role(self) -> SystemRole {
        match self {
            AccountType::User => SystemRole::User,
            AccountType::Api => SystemRole::ApiUser,
            AccountType::Taxii => SystemRole::TaxiiUser,
            AccountType::ReadOnly => SystemRole::ReadOnlyUser,
        }
    }

    /// The System roles an account of this type may hold.
    pub fn system_roles(self) -> &'static [SystemRole] {
        use SystemRole::*;
        match self {
            AccountType::User => &[
                Administrator,
                OperationsAdministrator,
                AccountsAdministrator,
                CommunityLeader,
                SuperUser,
                User,
                ReadOnlyUser,
            ],
            AccountType::Api => &[ApiUser, ExchangeAdmin],
            AccountType::Taxii => &[TaxiiUser],
            AccountType::ReadOnly => &[ReadOnlyUser],
        }
    }

    /// The Organization roles an account of this type may be given.
    pub fn org_roles(self) -> &'static [OrgRole] {
        match self {
            AccountType::ReadOnly => &[OrgRole::ReadOnlyUser, OrgRole::ReadOnlyCommenter],
            AccountType::Taxii => &[OrgRole::StandardUser],
            AccountType::User | AccountType::Api => OrgRole::ALL,
        }
    }
}

impl SystemRole {
    /// Position in the System-role hierarchy; higher outranks lower.
    ///
    /// The seed documentation states only Administrator > Operations
    /// Administrator > Accounts Administrator. The rest of the order is not
    /// documented: rollcall uses Administrator > Operations Administrator >
    /// Super User > Accounts Administrator > Community Leader > User = Api
    /// User = Taxii User (= Exchange Admin) > Read Only User. This is the one
    /// place that order lives.
    pub fn rank(self) -> u8 {
        match self {
            SystemRole::Administrator => 7,
            SystemRole::OperationsAdministrator => 6,
            SystemRole::SuperUser => 5,
            SystemRole::AccountsAdministrator => 4,
            SystemRole::CommunityLeader => 3,
            SystemRole::User
            | SystemRole::ApiUser
            | SystemRole::TaxiiUser
            | SystemRole::ExchangeAdmin => 2,
            SystemRole::ReadOnlyUser => 1,
        }
    }

    pub fn outranks(self, other: SystemRole) -> bool {
        self.rank() > other.rank()
    }

    /// "an Administrator", "a Super User": for messages people read.
    pub fn with_article(self) -> String {
        article(self.name())
    }

    /// Roles that administer accounts or the instance (for audits).
    pub fn is_administrative(self) -> bool {
        matches!(
            self,
            SystemRole::Administrator
                | SystemRole::OperationsAdministrator
                | SystemRole::AccountsAdministrator
                | SystemRole::CommunityLeader
                | SystemRole::SuperUser
                | SystemRole::ExchangeAdmin
        )
    }
}

/// The abbreviations the console's table shows for System roles; the one
/// table, so the filter accepts exactly what people read there.
const SYSTEM_ROLE_SHORT: &[(SystemRole, &str)] = &[
    (SystemRole::Administrator, "Admin"),
    (SystemRole::OperationsAdministrator, "Ops Admin"),
    (SystemRole::AccountsAdministrator, "Accts Admin"),
    (SystemRole::CommunityLeader, "Comm Leader"),
    (SystemRole::ReadOnlyUser, "Read Only"),
    (SystemRole::ExchangeAdmin, "Exch Admin"),
];

/// As [`SYSTEM_ROLE_SHORT`], for Organization roles.
const ORG_ROLE_SHORT: &[(OrgRole, &str)] = &[
    (OrgRole::OrganizationAdministrator, "Org Admin"),
    (OrgRole::SharingUser, "Sharing"),
    (OrgRole::StandardUser, "Standard"),
    (OrgRole::AppDeveloper, "App Dev"),
    (OrgRole::ReadOnlyCommenter, "RO Commenter"),
    (OrgRole::ReadOnlyUser, "Read Only"),
];

fn short_of<T: Copy + PartialEq>(table: &[(T, &'static str)], role: T) -> Option<&'static str> {
    table.iter().find(|(r, _)| *r == role).map(|(_, s)| *s)
}

fn by_short<T: Copy>(table: &[(T, &'static str)], text: &str) -> Option<T> {
    let text = text.trim();
    table
        .iter()
        .find(|(_, s)| s.eq_ignore_ascii_case(text))
        .map(|(r, _)| *r)
}

impl SystemRole {
    /// The name the table shows ("Admin"); the full name when it is short.
    pub fn short_name(self) -> &'static str {
        short_of(SYSTEM_ROLE_SHORT, self).unwrap_or(self.name())
    }

    /// A full or short name, ignoring case.
    pub fn parse_any(text: &str) -> Option<Self> {
        Self::parse(text).or_else(|| by_short(SYSTEM_ROLE_SHORT, text))
    }
}

impl OrgRole {
    /// The name the table shows ("Sharing"); the full name when it is short.
    pub fn short_name(self) -> &'static str {
        short_of(ORG_ROLE_SHORT, self).unwrap_or(self.name())
    }

    /// A full or short name, ignoring case.
    pub fn parse_any(text: &str) -> Option<Self> {
        Self::parse(text).or_else(|| by_short(ORG_ROLE_SHORT, text))
    }
}

/// A System role name as the table shows it; an unfamiliar name as it is.
pub fn short_system_role(name: &str) -> &str {
    match SystemRole::parse(name) {
        Some(role) => role.short_name(),
        None => name,
    }
}

/// An Organization role name as the table shows it; an unfamiliar name as
/// it is.
pub fn short_org_role(name: &str) -> &str {
    match OrgRole::parse(name) {
        Some(role) => role.short_name(),
        None => name,
    }
}

impl CommunityRole {
    /// The Community role an account gets in one Community or Source when its
    /// System role changes (SPEC rule 7): the Organization's default there,
    /// except that a Read Only User gets at most Commenter and a Super User is
    /// always Director.
    pub fn after_system_role_change(new_role: SystemRole, org_default: CommunityRole) -> Self {
        match new_role {
            SystemRole::SuperUser => CommunityRole::Director,
            SystemRole::ReadOnlyUser => match org_default {
                CommunityRole::Commenter | CommunityRole::User | CommunityRole::Banned => {
                    org_default
                }
                _ => CommunityRole::Commenter,
            },
            _ => org_default,
        }
    }
}

/// Prefixes a role or type name with "a" or "an".
pub fn article(name: &str) -> String {
    // By sound, not spelling: "a User" but "an Unknown" (an initial "us" or
    // "uni" sounds like "you").
    let lower = name.to_ascii_lowercase();
    let vowel = lower.starts_with(['a', 'e', 'i', 'o'])
        || (lower.starts_with('u') && !lower.starts_with("us") && !lower.starts_with("uni"));
    if vowel {
        format!("an {name}")
    } else {
        format!("a {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in SystemRole::ALL {
            assert_eq!(SystemRole::parse(r.name()), Some(*r));
        }
        for r in OrgRole::ALL {
            assert_eq!(OrgRole::parse(r.name()), Some(*r));
        }
        for r in CommunityRole::ALL {
            assert_eq!(CommunityRole::parse(r.name()), Some(*r));
        }
        assert_eq!(
            SystemRole::parse(" read only user "),
            Some(SystemRole::ReadOnlyUser)
        );
        assert_eq!(SystemRole::parse("Overlord"), None);
    }

    #[test]
    fn stated_hierarchy_holds() {
        use SystemRole::*;
        assert!(Administrator.outranks(OperationsAdministrator));
        assert!(OperationsAdministrator.outranks(AccountsAdministrator));
        assert!(Administrator.outranks(AccountsAdministrator));
        assert!(SuperUser.outranks(AccountsAdministrator));
        assert!(!User.outranks(ApiUser) && !ApiUser.outranks(TaxiiUser));
        assert!(User.outranks(ReadOnlyUser));
    }

    #[test]
    fn account_type_follows_system_role() {
        assert_eq!(AccountType::of(SystemRole::ApiUser), AccountType::Api);
        assert_eq!(AccountType::of(SystemRole::TaxiiUser), AccountType::Taxii);
        assert_eq!(
            AccountType::of(SystemRole::ReadOnlyUser),
            AccountType::ReadOnly
        );
        assert_eq!(AccountType::of(SystemRole::SuperUser), AccountType::User);
        for t in AccountType::ALL {
            assert_eq!(AccountType::from_key(t.key()), Some(*t));
            assert_eq!(AccountType::of(t.default_system_role()), *t);
        }
    }

    #[test]
    fn community_roles_reset_per_seed() {
        use CommunityRole as C;
        // The seed's example: Director in ABC, ABC's default Contributor.
        assert_eq!(
            C::after_system_role_change(SystemRole::OperationsAdministrator, C::Contributor),
            C::Contributor
        );
        assert_eq!(
            C::after_system_role_change(SystemRole::ReadOnlyUser, C::Editor),
            C::Commenter
        );
        assert_eq!(
            C::after_system_role_change(SystemRole::ReadOnlyUser, C::Banned),
            C::Banned
        );
        assert_eq!(
            C::after_system_role_change(SystemRole::ReadOnlyUser, C::User),
            C::User
        );
        assert_eq!(
            C::after_system_role_change(SystemRole::SuperUser, C::Subscriber),
            C::Director
        );
    }

    #[test]
    fn articles() {
        assert_eq!(
            SystemRole::OperationsAdministrator.with_article(),
            "an Operations Administrator"
        );
        assert_eq!(SystemRole::SuperUser.with_article(), "a Super User");
        assert_eq!(SystemRole::User.with_article(), "a User");
        assert_eq!(SystemRole::ApiUser.with_article(), "an Api User");
        assert_eq!(article("Unknown"), "an Unknown");
    }
}

//! The user account as ThreatConnect's v3 API describes it, plus what
//! rollcall derives from it (type, status, password expiry).
//!
//! Non-administrators receive only the basic fields, so every field but `id`
//! and `userName` is optional: absent means unknown, never false or zero.

use super::lenient::TextMap;
pub use super::lenient::TqlTimeoutWire;
use super::roles::{AccountType, OrgRole, SystemRole};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

/// A user object with ThreatConnect's own JSON field names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(deserialize_with = "super::lenient::id")]
    pub id: i64,
    #[serde(deserialize_with = "super::lenient::user_name")]
    pub user_name: String,
    #[serde(
        default,
        deserialize_with = "read::first_name",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "read::last_name",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "read::pseudonym",
        skip_serializing_if = "Option::is_none"
    )]
    pub pseudonym: Option<Arc<str>>,
    /// The home Organization's name.
    #[serde(
        default,
        deserialize_with = "read::owner",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner: Option<String>,
    /// Kept as text so an unfamiliar role from a newer instance still shows.
    #[serde(
        default,
        deserialize_with = "read::system_role",
        skip_serializing_if = "Option::is_none"
    )]
    pub system_role: Option<String>,
    /// Organization, Community or Source name to role name.
    #[serde(
        default,
        deserialize_with = "read::owner_roles",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_roles: Option<OwnerRoles>,
    #[serde(
        default,
        deserialize_with = "read::disabled",
        skip_serializing_if = "Option::is_none"
    )]
    pub disabled: Option<bool>,
    #[serde(
        default,
        deserialize_with = "read::locked",
        skip_serializing_if = "Option::is_none"
    )]
    pub locked: Option<bool>,
    #[serde(
        default,
        deserialize_with = "read::password_reset_required",
        skip_serializing_if = "Option::is_none"
    )]
    pub password_reset_required: Option<bool>,
    #[serde(
        default,
        deserialize_with = "read::two_factor_reset_required",
        skip_serializing_if = "Option::is_none"
    )]
    pub two_factor_reset_required: Option<bool>,
    #[serde(
        default,
        deserialize_with = "read::terms_accepted",
        skip_serializing_if = "Option::is_none"
    )]
    pub terms_accepted: Option<bool>,
    #[serde(
        default,
        deserialize_with = "read::terms_accepted_date",
        serialize_with = "write::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub terms_accepted_date: Option<DateTime<Utc>>,
    #[serde(
        default,
        deserialize_with = "read::logout_interval_minutes",
        skip_serializing_if = "Option::is_none"
    )]
    pub logout_interval_minutes: Option<i64>,
    #[serde(
        default,
        deserialize_with = "read::custom_tql_timeout",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_tql_timeout: Option<TqlTimeoutWire>,
    #[serde(
        default,
        deserialize_with = "read::tql_timeout",
        skip_serializing_if = "Option::is_none"
    )]
    pub tql_timeout: Option<i64>,
    #[serde(
        default,
        deserialize_with = "read::ui_theme",
        skip_serializing_if = "Option::is_none"
    )]
    pub ui_theme: Option<Arc<str>>,
    #[serde(
        default,
        deserialize_with = "read::job_function",
        skip_serializing_if = "Option::is_none"
    )]
    pub job_function: Option<Arc<str>>,
    #[serde(
        default,
        deserialize_with = "read::job_role",
        skip_serializing_if = "Option::is_none"
    )]
    pub job_role: Option<Arc<str>>,
    #[serde(
        default,
        deserialize_with = "read::last_login",
        serialize_with = "write::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_login: Option<DateTime<Utc>>,
    #[serde(
        default,
        deserialize_with = "read::last_password_change",
        serialize_with = "write::time",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_password_change: Option<DateTime<Utc>>,
    /// Write only: sent on create or password change, never received.
    #[serde(
        default,
        deserialize_with = "read::password",
        skip_serializing_if = "Option::is_none"
    )]
    pub password: Option<String>,
    // --- rollcall sandbox extensions (asked for with `fields=`) ---
    /// Extension `userGroups`: the user groups the account belongs to.
    #[serde(
        default,
        deserialize_with = "read::user_groups",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_groups: Option<Vec<GroupRef>>,
    /// Extension `mfaEnabled`: whether the account has MFA configured.
    #[serde(
        default,
        deserialize_with = "read::mfa_enabled",
        skip_serializing_if = "Option::is_none"
    )]
    pub mfa_enabled: Option<bool>,
    /// Extension `timeZone`: an IANA time zone name (web UI: Time Zone).
    #[serde(
        default,
        deserialize_with = "read::time_zone",
        skip_serializing_if = "Option::is_none"
    )]
    pub time_zone: Option<String>,
    /// Extension `summaryEmailTime`: "HH:MM", the hour daily summary
    /// e-mails are sent (web UI: Summary E-mail Time).
    #[serde(
        default,
        deserialize_with = "read::summary_email_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub summary_email_time: Option<String>,
    /// Extension `tokenExpirationDays` (API users): days an API token lives.
    #[serde(
        default,
        deserialize_with = "read::token_expiration_days",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_expiration_days: Option<i64>,
    /// Extension `includeInObservations` (API users): counted in
    /// observations and false positives.
    #[serde(
        default,
        deserialize_with = "read::include_in_observations",
        skip_serializing_if = "Option::is_none"
    )]
    pub include_in_observations: Option<bool>,
    /// Extension `allowExceedApiLinkLimit` (API users): may exceed the
    /// System-level API link (association level) limit.
    #[serde(
        default,
        deserialize_with = "read::allow_exceed_api_link_limit",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_exceed_api_link_limit: Option<bool>,
}

pub use write::plain_time;

/// Times written as chrono writes them (RFC 3339, `Z`, fractions only when
/// there are some), whole-second times without going through `Display`
/// character by character: a listing writes three per account.
mod write {
    use chrono::{DateTime, Datelike, Timelike, Utc};
    use serde::Serializer;

    pub fn time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        let Some(t) = t else {
            return s.serialize_none();
        };
        match plain_time(t) {
            // Only ASCII digits and separators were written.
            Some(text) => s.serialize_str(std::str::from_utf8(&text).unwrap_or_default()),
            None => serde::Serialize::serialize(t, s),
        }
    }

    /// `t` as `YYYY-MM-DDTHH:MM:SSZ` when it has no fraction and a
    /// four-digit year (what chrono writes then, without its work); other
    /// times are chrono's to write.
    pub fn plain_time(t: &DateTime<Utc>) -> Option<[u8; 20]> {
        // Each part read from the one naive time (a `DateTime` works each
        // out from its offset again).
        let t = t.naive_utc();
        if t.nanosecond() != 0 || !(0..=9999).contains(&t.year()) {
            return None;
        }
        let mut text = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, width: usize, mut n: u32| {
            for i in (at..at + width).rev() {
                text[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, t.year() as u32);
        put(5, 2, t.month());
        put(8, 2, t.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, t.second());
        Some(text)
    }
}

impl User {
    /// This account as an export element (`text::json_export`'s layout,
    /// its closing brace `depth` levels in): byte for byte what serializing
    /// it through [`crate::text::SafePretty`] writes, in the same field
    /// order and with the same omissions, without serde's work per byte
    /// and per key (a streamed JSON listing spends much of its time here).
    pub fn write_export_json(&self, out: &mut Vec<u8>, depth: usize) {
        use crate::text::{json_new_line, write_json_string, JsonObject};
        let mut o = JsonObject::open(out, depth);
        o.key("id");
        int(o.out, self.id);
        o.key("userName");
        write_json_string(o.out, &self.user_name);
        let text = |o: &mut JsonObject, key: &str, value: Option<&str>| {
            if let Some(value) = value {
                o.key(key);
                write_json_string(o.out, value);
            }
        };
        let flag = |o: &mut JsonObject, key: &str, value: Option<bool>| {
            if let Some(value) = value {
                o.key(key);
                o.out
                    .extend_from_slice(if value { b"true" } else { b"false" });
            }
        };
        let number = |o: &mut JsonObject, key: &str, value: Option<i64>| {
            if let Some(value) = value {
                o.key(key);
                int(o.out, value);
            }
        };
        let time = |o: &mut JsonObject, key: &str, value: Option<DateTime<Utc>>| {
            if let Some(t) = value {
                o.key(key);
                match write::plain_time(&t) {
                    Some(plain) => {
                        o.out.push(b'"');
                        o.out.extend_from_slice(&plain);
                        o.out.push(b'"');
                    }
                    None => o.out.extend_from_slice(
                        serde_json::to_string(&t).unwrap_or_default().as_bytes(),
                    ),
                }
            }
        };
        text(&mut o, "firstName", self.first_name.as_deref());
        text(&mut o, "lastName", self.last_name.as_deref());
        text(&mut o, "pseudonym", self.pseudonym.as_deref());
        text(&mut o, "owner", self.owner.as_deref());
        text(&mut o, "systemRole", self.system_role.as_deref());
        if let Some(roles) = &self.owner_roles {
            o.key("ownerRoles");
            let depth = o.member_depth();
            let mut map = JsonObject::open(o.out, depth);
            for (owner, role) in roles.iter() {
                map.key_text(owner);
                write_json_string(map.out, role);
            }
            map.close();
        }
        flag(&mut o, "disabled", self.disabled);
        flag(&mut o, "locked", self.locked);
        flag(
            &mut o,
            "passwordResetRequired",
            self.password_reset_required,
        );
        flag(
            &mut o,
            "twoFactorResetRequired",
            self.two_factor_reset_required,
        );
        flag(&mut o, "termsAccepted", self.terms_accepted);
        time(&mut o, "termsAcceptedDate", self.terms_accepted_date);
        number(
            &mut o,
            "logoutIntervalMinutes",
            self.logout_interval_minutes,
        );
        match self.custom_tql_timeout {
            Some(super::lenient::TqlTimeoutWire::Millis(ms)) => {
                number(&mut o, "customTqlTimeout", Some(ms))
            }
            Some(super::lenient::TqlTimeoutWire::Custom(b)) => {
                flag(&mut o, "customTqlTimeout", Some(b))
            }
            None => {}
        }
        number(&mut o, "tqlTimeout", self.tql_timeout);
        text(&mut o, "uiTheme", self.ui_theme.as_deref());
        text(&mut o, "jobFunction", self.job_function.as_deref());
        text(&mut o, "jobRole", self.job_role.as_deref());
        time(&mut o, "lastLogin", self.last_login);
        time(&mut o, "lastPasswordChange", self.last_password_change);
        text(&mut o, "password", self.password.as_deref());
        if let Some(groups) = &self.user_groups {
            o.key("userGroups");
            let depth = o.member_depth();
            match groups.is_empty() {
                true => o.out.extend_from_slice(b"[]"),
                false => {
                    o.out.push(b'[');
                    for (i, group) in groups.iter().enumerate() {
                        if i > 0 {
                            o.out.push(b',');
                        }
                        json_new_line(o.out, depth + 1);
                        let mut g = JsonObject::open(o.out, depth + 1);
                        g.key("id");
                        int(g.out, group.id);
                        g.key("name");
                        write_json_string(g.out, &group.name);
                        g.close();
                    }
                    json_new_line(o.out, depth);
                    o.out.push(b']');
                }
            }
        }
        flag(&mut o, "mfaEnabled", self.mfa_enabled);
        text(&mut o, "timeZone", self.time_zone.as_deref());
        text(
            &mut o,
            "summaryEmailTime",
            self.summary_email_time.as_deref(),
        );
        number(&mut o, "tokenExpirationDays", self.token_expiration_days);
        flag(
            &mut o,
            "includeInObservations",
            self.include_in_observations,
        );
        flag(
            &mut o,
            "allowExceedApiLinkLimit",
            self.allow_exceed_api_link_limit,
        );
        o.close();
    }
}

/// `n` in decimal, as `Display` writes it, without the formatter.
fn int(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

/// One lenient reader per field, each naming its wire field for the note.
mod read {
    use super::super::lenient::{self, TqlTimeoutWire};
    use super::{GroupRef, OwnerRoles};
    use chrono::{DateTime, Utc};
    use serde::Deserializer;
    use std::sync::Arc;

    /// Text that many accounts share (themes, job functions and roles,
    /// pseudonyms): interned, one copy for all of them.
    macro_rules! shared_readers {
        ($($name:ident = $wire:literal;)+) => {$(
            pub fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Arc<str>>, D::Error> {
                lenient::text_with(d, $wire, super::intern)
            }
        )+};
    }

    shared_readers! {
        pseudonym = "pseudonym";
        ui_theme = "uiTheme";
        job_function = "jobFunction";
        job_role = "jobRole";
    }

    macro_rules! readers {
        ($($name:ident: $kind:ident -> $ty:ty = $wire:literal;)+) => {$(
            pub fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$ty>, D::Error> {
                lenient::$kind(d, $wire)
            }
        )+};
    }

    readers! {
        first_name: text -> String = "firstName";
        last_name: text -> String = "lastName";
        owner: text -> String = "owner";
        system_role: text -> String = "systemRole";
        owner_roles: owner_roles -> OwnerRoles = "ownerRoles";
        disabled: flag -> bool = "disabled";
        locked: flag -> bool = "locked";
        password_reset_required: flag -> bool = "passwordResetRequired";
        two_factor_reset_required: flag -> bool = "twoFactorResetRequired";
        terms_accepted: flag -> bool = "termsAccepted";
        terms_accepted_date: time -> DateTime<Utc> = "termsAcceptedDate";
        logout_interval_minutes: integer -> i64 = "logoutIntervalMinutes";
        custom_tql_timeout: tql_timeout -> TqlTimeoutWire = "customTqlTimeout";
        tql_timeout: integer -> i64 = "tqlTimeout";
        last_login: time -> DateTime<Utc> = "lastLogin";
        last_password_change: time -> DateTime<Utc> = "lastPasswordChange";
        password: text -> String = "password";
        user_groups: groups -> Vec<GroupRef> = "userGroups";
        mfa_enabled: flag -> bool = "mfaEnabled";
        time_zone: text -> String = "timeZone";
        summary_email_time: text -> String = "summaryEmailTime";
        token_expiration_days: integer -> i64 = "tokenExpirationDays";
        include_in_observations: flag -> bool = "includeInObservations";
        allow_exceed_api_link_limit: flag -> bool = "allowExceedApiLinkLimit";
    }
}

/// Interns a name that many accounts share (Organization, Community and
/// role names), so 100,000 accounts hold one copy of each, not 100,000.
/// Each thread keeps the names it has seen in front of the shared set, so
/// pages decoded on several threads do not queue on its lock.
pub fn intern(name: &str) -> Arc<str> {
    type Names = HashSet<Arc<str>, BuildHasherDefault<QuickHash>>;
    static NAMES: OnceLock<Mutex<Names>> = OnceLock::new();
    thread_local! {
        static SEEN: std::cell::RefCell<Names> = Default::default();
    }
    if let Some(seen) = SEEN.with(|seen| seen.borrow().get(name).cloned()) {
        return seen;
    }
    let shared = {
        let names = NAMES.get_or_init(Default::default);
        match names.lock() {
            Ok(mut names) => match names.get(name) {
                Some(existing) => existing.clone(),
                None => {
                    let fresh: Arc<str> = Arc::from(name);
                    names.insert(fresh.clone());
                    fresh
                }
            },
            Err(_) => Arc::from(name),
        }
    };
    SEEN.with(|seen| seen.borrow_mut().insert(shared.clone()));
    shared
}

/// The interning sets' hash (FxHash's step, eight bytes at a time): they
/// hash names, role maps' texts and pointers, where SipHash's resistance to
/// chosen keys buys nothing and costs the most.
#[derive(Default)]
struct QuickHash(u64);

impl Hasher for QuickHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        const SEED: u64 = 0x517c_c1b7_2722_0a95;
        let step = |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(SEED);
        let mut hash = self.0;
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(word);
            hash = step(hash, u64::from_le_bytes(eight));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut eight = [0u8; 8];
            eight[..rest.len()].copy_from_slice(rest);
            hash = step(hash, u64::from_le_bytes(eight));
        }
        self.0 = hash;
    }
}

/// `ownerRoles`: Organization, Community or Source name to role name, in
/// name order. Accounts of one Organization mostly hold the same roles, so
/// each distinct set is kept once and shared (a set is a handful of
/// interned names): with 100,000 accounts loaded, a list per account would
/// be a large part of the console's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRoles(Arc<[(Arc<str>, Arc<str>)]>);

impl Default for OwnerRoles {
    fn default() -> Self {
        OwnerRoles::from_entries(std::iter::empty())
    }
}

type RoleSet = Arc<[(Arc<str>, Arc<str>)]>;

/// The one shared copy of a set of owner roles. Its names are interned, so
/// a set is known by the addresses of its names.
fn intern_roles(roles: Vec<(Arc<str>, Arc<str>)>) -> RoleSet {
    type Sets = HashMap<Vec<usize>, RoleSet, BuildHasherDefault<QuickHash>>;
    static SETS: OnceLock<Mutex<Sets>> = OnceLock::new();
    thread_local! {
        // As for names: the sets this thread has seen, before the lock.
        static SEEN: std::cell::RefCell<Sets> = Default::default();
    }
    let key: Vec<usize> = roles
        .iter()
        .flat_map(|(owner, role)| [owner.as_ptr() as usize, role.as_ptr() as usize])
        .collect();
    if let Some(seen) = SEEN.with(|seen| seen.borrow().get(&key).cloned()) {
        return seen;
    }
    let shared = {
        let sets = SETS.get_or_init(Default::default);
        let Ok(mut sets) = sets.lock() else {
            return Arc::from(roles);
        };
        sets.entry(key.clone())
            .or_insert_with(|| Arc::from(roles))
            .clone()
    };
    SEEN.with(|seen| seen.borrow_mut().insert(key, shared.clone()));
    shared
}

/// Role maps this thread has read, by their entries as sent (each text
/// length-prefixed): most accounts send one of a few maps, which is then
/// read without sorting, interning or allocating.
type ReadRoles = HashMap<Box<[u8]>, OwnerRoles, BuildHasherDefault<QuickHash>>;

/// Distinct maps kept per thread; beyond it the cache starts over.
const MAX_READ_ROLE_MAPS: usize = 4096;

impl TextMap for OwnerRoles {
    /// A later entry for the same owner replaces an earlier one.
    fn from_entries<'a>(entries: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        thread_local! {
            static KEY: std::cell::RefCell<Vec<u8>> = Default::default();
            static READ: std::cell::RefCell<ReadRoles> = Default::default();
        }
        KEY.with(|key| {
            let mut key = key.borrow_mut();
            key.clear();
            for text in entries.flat_map(|(owner, role)| [owner, role]) {
                key.extend_from_slice(&(text.len() as u64).to_le_bytes());
                key.extend_from_slice(text.as_bytes());
            }
            if let Some(roles) = READ.with(|read| read.borrow().get(key.as_slice()).cloned()) {
                return roles;
            }
            let roles = Self::build(RoleKeyEntries(&key));
            READ.with(|read| {
                let mut read = read.borrow_mut();
                if read.len() >= MAX_READ_ROLE_MAPS {
                    read.clear();
                }
                read.insert(key.as_slice().into(), roles.clone());
            });
            roles
        })
    }
}

/// The entries back out of a [`ReadRoles`] key.
struct RoleKeyEntries<'a>(&'a [u8]);

impl<'a> Iterator for RoleKeyEntries<'a> {
    type Item = (&'a str, &'a str);
    fn next(&mut self) -> Option<Self::Item> {
        let mut text = || {
            let (len, rest) = self.0.split_first_chunk::<8>()?;
            let len = u64::from_le_bytes(*len) as usize;
            let (text, rest) = rest.split_at_checked(len)?;
            self.0 = rest;
            // Written from `&str`s just before.
            std::str::from_utf8(text).ok()
        };
        Some((text()?, text()?))
    }
}

impl OwnerRoles {
    /// A later entry for the same owner replaces an earlier one.
    fn build<'a>(entries: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut roles: Vec<(Arc<str>, Arc<str>)> = Vec::new();
        for (owner, role) in entries {
            match roles.binary_search_by(|(name, _)| name.as_ref().cmp(owner)) {
                Ok(i) => roles[i].1 = intern(role),
                Err(i) => roles.insert(i, (intern(owner), intern(role))),
            }
        }
        OwnerRoles(intern_roles(roles))
    }
}

impl OwnerRoles {
    pub fn get(&self, owner: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(name, _)| name.as_ref().cmp(owner))
            .ok()
            .map(|i| self.0[i].1.as_ref())
    }

    /// Sets the role in one owner, replacing any earlier one.
    pub fn insert(&mut self, owner: &str, role: &str) {
        let current = self.0.clone();
        let entries = current.iter().map(|(o, r)| (o.as_ref(), r.as_ref()));
        *self = OwnerRoles::from_entries(entries.chain([(owner, role)]));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(o, r)| (o.as_ref(), r.as_ref()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for OwnerRoles {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let pairs: Vec<(K, V)> = pairs.into_iter().collect();
        OwnerRoles::from_entries(pairs.iter().map(|(o, r)| (o.as_ref(), r.as_ref())))
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for OwnerRoles {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl Serialize for OwnerRoles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for OwnerRoles {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RolesVisitor;
        impl<'de> serde::de::Visitor<'de> for RolesVisitor {
            type Value = OwnerRoles;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of owner name to role name")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OwnerRoles, A::Error> {
                let mut roles = OwnerRoles::default();
                while let Some((owner, role)) =
                    map.next_entry::<std::borrow::Cow<'de, str>, std::borrow::Cow<'de, str>>()?
                {
                    roles.insert(&owner, &role);
                }
                Ok(roles)
            }
        }
        d.deserialize_map(RolesVisitor)
    }
}

/// A user group by id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub id: i64,
    pub name: String,
}

impl super::lenient::IdName for GroupRef {
    fn new(id: i64, name: String) -> Self {
        GroupRef { id, name }
    }
}

/// Whether the instance returns `lastLogin` to this actor, which is what
/// lets an absent value mean "never" rather than "not returned".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LastLoginReported {
    /// Not seen in any answer, nor advertised as a default field.
    #[default]
    NotSeen,
    /// Present on some account of the same listing, or advertised.
    Returned,
}

impl LastLoginReported {
    pub fn is_returned(self) -> bool {
        self == LastLoginReported::Returned
    }

    /// From the accounts of one answer: returned when any carries it.
    pub fn seen_in<'a>(users: impl IntoIterator<Item = &'a User>) -> Self {
        if users.into_iter().any(|u| u.last_login.is_some()) {
            LastLoginReported::Returned
        } else {
            LastLoginReported::NotSeen
        }
    }

    /// Either piece of evidence is enough.
    pub fn or(self, other: LastLoginReported) -> Self {
        if self.is_returned() || other.is_returned() {
            LastLoginReported::Returned
        } else {
            LastLoginReported::NotSeen
        }
    }
}

/// The status column of the Membership tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Locked,
    Disabled,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Locked => "Locked",
            Status::Disabled => "Disabled",
        }
    }
}

/// Days until a password expires, as far as the instance lets us know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordExpiry {
    /// Days left (0 means it expires today).
    DaysLeft(i64),
    Expired,
    /// No max age configured, or no last password change returned.
    Unknown,
}

impl User {
    pub fn system_role_parsed(&self) -> Option<SystemRole> {
        self.system_role.as_deref().and_then(SystemRole::parse)
    }

    pub fn account_type(&self) -> Option<AccountType> {
        self.system_role_parsed().map(AccountType::of)
    }

    /// The Organization role in the home Organization, when returned.
    pub fn org_role(&self) -> Option<OrgRole> {
        self.org_role_name().and_then(OrgRole::parse)
    }

    pub fn org_role_name(&self) -> Option<&str> {
        let owner = self.owner.as_deref()?;
        self.owner_roles.as_ref()?.get(owner)
    }

    /// Disabled wins over Locked, as on the Membership tab. `None` when the
    /// instance returned neither flag.
    pub fn status(&self) -> Option<Status> {
        match (self.disabled, self.locked) {
            (Some(true), _) => Some(Status::Disabled),
            (_, Some(true)) => Some(Status::Locked),
            (Some(false), Some(false)) => Some(Status::Ok),
            _ => None,
        }
    }

    /// "First Last", or whichever part is known.
    pub fn full_name(&self) -> String {
        match (self.first_name.as_deref(), self.last_name.as_deref()) {
            (Some(f), Some(l)) => format!("{f} {l}"),
            (Some(f), None) => f.to_string(),
            (None, Some(l)) => l.to_string(),
            (None, None) => String::new(),
        }
    }

    pub fn group_names(&self) -> Option<Vec<&str>> {
        self.user_groups
            .as_ref()
            .map(|g| g.iter().map(|g| g.name.as_str()).collect())
    }

    /// Days left = max age minus days since the last password change.
    pub fn password_expiry(&self, max_age_days: Option<i64>, now: DateTime<Utc>) -> PasswordExpiry {
        match (max_age_days, self.last_password_change) {
            (Some(max), Some(changed)) if max > 0 => {
                let left = max - (now - changed).num_days();
                if left < 0 {
                    PasswordExpiry::Expired
                } else {
                    PasswordExpiry::DaysLeft(left)
                }
            }
            _ => PasswordExpiry::Unknown,
        }
    }

    /// Whole days since the last login; `Some(None)` = never logged in,
    /// `None` = the instance did not say.
    ///
    /// An absent `lastLogin` means "never" only where the instance is seen
    /// to return the field to this actor (`reported`, see
    /// [`LastLoginReported`]) and this account carries administrative
    /// detail: the docs' own Organization Administrator example omits it
    /// for an account that has used the UI.
    pub fn days_since_login(
        &self,
        now: DateTime<Utc>,
        reported: LastLoginReported,
    ) -> Option<Option<i64>> {
        match self.last_login {
            Some(t) => Some(Some((now - t).num_days())),
            None if reported.is_returned() && self.has_detail_fields() => Some(None),
            None => None,
        }
    }

    /// Stale: a known last login more than `days` days ago. An account
    /// that never logged in is not stale (a new hire is not); `None` when
    /// the instance did not say. The filter's `login>Nd` and the audit's
    /// stale finding both mean exactly this.
    pub fn no_login_for(
        &self,
        days: i64,
        now: DateTime<Utc>,
        reported: LastLoginReported,
    ) -> Option<bool> {
        self.days_since_login(now, reported)
            .map(|since| since.is_some_and(|since| since > days))
    }

    /// The fields of a PUT or POST body that this account, as the server
    /// returned it after the write, does not carry as asked: the server
    /// accepted the request but did not apply them (a field it no longer
    /// lets you change, a value it corrected). Fields the answer does not
    /// include cannot be judged and are not listed; `password` never is.
    pub fn not_applied(&self, requested: &serde_json::Value) -> Vec<String> {
        let Some(requested) = requested.as_object() else {
            return Vec::new();
        };
        let Ok(serde_json::Value::Object(returned)) = serde_json::to_value(self) else {
            return Vec::new();
        };
        let mut fields = Vec::new();
        for (key, asked) in requested {
            let Some(got) = returned.get(key) else {
                continue;
            };
            let applied = match (key.as_str(), asked) {
                // Only the entries asked for; others (Communities) stay.
                ("ownerRoles", serde_json::Value::Object(asked)) => asked
                    .iter()
                    .all(|(owner, role)| got.get(owner) == Some(role)),
                // 0 clears a custom TQL timeout, which may read back as false.
                ("customTqlTimeout", asked) if asked.as_i64() == Some(0) => {
                    got.as_i64() == Some(0) || got.as_bool() == Some(false)
                }
                ("customTqlTimeout", asked) => {
                    got == asked
                        || (got.as_bool() == Some(true) && self.tql_timeout == asked.as_i64())
                }
                (_, asked) => got == asked,
            };
            if !applied {
                fields.push(key.clone());
            }
        }
        fields
    }

    /// True when the instance returned more than the basic fields, i.e. the
    /// caller sees administrative detail for this account.
    pub fn has_detail_fields(&self) -> bool {
        self.system_role.is_some() || self.disabled.is_some() || self.locked.is_some()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for n in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            99,
            100,
            12_345,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let mut out = Vec::new();
            int(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    /// Every field set (a struct literal: a field added to `User` must be
    /// added here, and to the writer), then each left out in turn, with
    /// text of every kind: the export writer writes what serde through the
    /// export formatter writes, byte for byte.
    #[test]
    fn the_export_writer_writes_what_serde_writes() {
        use crate::lenient::TqlTimeoutWire;
        use chrono::TimeZone;
        let serde_way = |user: &User, depth: usize| {
            let mut out = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(
                &mut out,
                crate::text::SafePretty::at_depth(depth),
            );
            serde::Serialize::serialize(user, &mut ser).unwrap();
            out
        };
        let texts = [
            "plain",
            "",
            "a \"quoted\" \\ back",
            "line\nbreak\r\t\u{8}\u{c}",
            "\u{1b}[2J\u{7}\u{0}",
            "del\u{7f}",
            "c1\u{9b}31m",
            "rtl\u{202e}x\u{2066}",
            "zw\u{200b}\u{feff}\u{e0001}",
            "wide 表 e\u{301} 😀",
            "/slash/",
            "\u{10ffff}\u{fffd}",
        ];
        let times = [
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0).unwrap() + chrono::Duration::milliseconds(5),
            Utc.with_ymd_and_hms(999, 12, 31, 23, 59, 59).unwrap(),
            DateTime::from_timestamp(253_402_300_800, 0).unwrap(),
            DateTime::from_timestamp(-62_167_219_201, 7).unwrap(),
        ];
        for (i, text) in texts.iter().enumerate() {
            let t = |k: usize| times[(i + k) % times.len()];
            let full = User {
                id: i as i64 * 1_000_003 - 7,
                user_name: format!("{text}@x"),
                first_name: Some(text.to_string()),
                last_name: Some(format!("{text}{text}")),
                pseudonym: Some(Arc::from(*text)),
                owner: Some(format!("Org {text}")),
                system_role: Some("User".into()),
                owner_roles: Some(OwnerRoles::from([
                    (format!("Org {text}"), text.to_string()),
                    ("Community \"C\"".to_string(), "Editor".to_string()),
                ])),
                disabled: Some(i % 2 == 0),
                locked: Some(i % 3 == 0),
                password_reset_required: Some(true),
                two_factor_reset_required: Some(false),
                terms_accepted: Some(true),
                terms_accepted_date: Some(t(0)),
                logout_interval_minutes: Some(-(i as i64)),
                custom_tql_timeout: Some(match i % 3 {
                    0 => TqlTimeoutWire::Millis(i as i64 * 1000),
                    1 => TqlTimeoutWire::Custom(true),
                    _ => TqlTimeoutWire::Custom(false),
                }),
                tql_timeout: Some(i64::MAX - i as i64),
                ui_theme: Some(Arc::from(*text)),
                job_function: Some(Arc::from("Analyst")),
                job_role: Some(Arc::from(*text)),
                last_login: Some(t(1)),
                last_password_change: Some(t(2)),
                password: Some(text.to_string()),
                user_groups: Some(match i % 3 {
                    0 => Vec::new(),
                    _ => vec![
                        GroupRef {
                            id: 1,
                            name: text.to_string(),
                        },
                        GroupRef {
                            id: -2,
                            name: "SOC".into(),
                        },
                    ],
                }),
                mfa_enabled: Some(i % 2 == 1),
                time_zone: Some(text.to_string()),
                summary_email_time: Some("08:00".into()),
                token_expiration_days: Some(90),
                include_in_observations: Some(false),
                allow_exceed_api_link_limit: Some(true),
            };
            let field_count = serde_json::to_value(&full)
                .unwrap()
                .as_object()
                .unwrap()
                .len();
            let mut accounts = vec![
                full.clone(),
                User {
                    owner_roles: Some(OwnerRoles::default()),
                    ..full.clone()
                },
            ];
            // Each optional field left out in turn (as the wire may).
            for k in 0..field_count {
                let mut value = serde_json::to_value(&full).unwrap();
                let key = value.as_object().unwrap().keys().nth(k).unwrap().clone();
                if key == "id" || key == "userName" {
                    continue;
                }
                let mut user = full.clone();
                match key.as_str() {
                    "firstName" => user.first_name = None,
                    "lastName" => user.last_name = None,
                    "pseudonym" => user.pseudonym = None,
                    "owner" => user.owner = None,
                    "systemRole" => user.system_role = None,
                    "ownerRoles" => user.owner_roles = None,
                    "disabled" => user.disabled = None,
                    "locked" => user.locked = None,
                    "passwordResetRequired" => user.password_reset_required = None,
                    "twoFactorResetRequired" => user.two_factor_reset_required = None,
                    "termsAccepted" => user.terms_accepted = None,
                    "termsAcceptedDate" => user.terms_accepted_date = None,
                    "logoutIntervalMinutes" => user.logout_interval_minutes = None,
                    "customTqlTimeout" => user.custom_tql_timeout = None,
                    "tqlTimeout" => user.tql_timeout = None,
                    "uiTheme" => user.ui_theme = None,
                    "jobFunction" => user.job_function = None,
                    "jobRole" => user.job_role = None,
                    "lastLogin" => user.last_login = None,
                    "lastPasswordChange" => user.last_password_change = None,
                    "password" => user.password = None,
                    "userGroups" => user.user_groups = None,
                    "mfaEnabled" => user.mfa_enabled = None,
                    "timeZone" => user.time_zone = None,
                    "summaryEmailTime" => user.summary_email_time = None,
                    "tokenExpirationDays" => user.token_expiration_days = None,
                    "includeInObservations" => user.include_in_observations = None,
                    "allowExceedApiLinkLimit" => user.allow_exceed_api_link_limit = None,
                    other => panic!("a field this test does not know: {other}"),
                }
                value.as_object_mut().unwrap().remove(&key);
                assert_eq!(serde_json::to_value(&user).unwrap(), value, "{key}");
                accounts.push(user);
            }
            accounts.push(User {
                id: 1,
                user_name: text.to_string(),
                ..Default::default()
            });
            for user in &accounts {
                for depth in [0, 1, 3, 4, 5, 9] {
                    let mut fast = Vec::new();
                    user.write_export_json(&mut fast, depth);
                    assert_eq!(
                        String::from_utf8_lossy(&fast),
                        String::from_utf8_lossy(&serde_way(user, depth)),
                        "{text:?} at depth {depth}"
                    );
                }
            }
        }
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        use chrono::TimeZone;
        let times = [
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            Utc.with_ymd_and_hms(999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0).unwrap() + chrono::Duration::milliseconds(5),
            Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0).unwrap() + chrono::Duration::nanoseconds(7),
        ];
        for t in times {
            let user = User {
                last_login: Some(t),
                ..Default::default()
            };
            let written = serde_json::to_value(&user).unwrap()["lastLogin"].clone();
            assert_eq!(written, serde_json::to_value(t).unwrap(), "{t:?}");
        }
    }

    #[test]
    fn equal_owner_role_sets_are_one_shared_copy_and_later_entries_replace() {
        let read = |json: &str| {
            serde_json::from_str::<User>(json)
                .unwrap()
                .owner_roles
                .unwrap()
        };
        let a =
            read(r#"{"id":1,"userName":"a","ownerRoles":{"Org":"Standard User","C":"Editor"}}"#);
        let b =
            read(r#"{"id":2,"userName":"b","ownerRoles":{"C":"Editor","Org":"Standard User"}}"#);
        assert!(Arc::ptr_eq(&a.0, &b.0));
        let c = read(r#"{"id":3,"userName":"c","ownerRoles":{"C":"Editor","C":"Viewer"}}"#);
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![("C", "Viewer")]);
        let mut d = a.clone();
        d.insert("Org", "Organization Administrator");
        assert_eq!(d.get("Org"), Some("Organization Administrator"));
        assert_eq!(a.get("Org"), Some("Standard User"));
    }

    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    #[test]
    fn basic_fields_parse_as_unknown() {
        let u: User = serde_json::from_str(
            r#"{"id":1,"userName":"smithj@threatconnect.com","firstName":"John","owner":"Demo Organization"}"#,
        )
        .unwrap();
        assert_eq!(u.disabled, None);
        assert_eq!(u.status(), None);
        assert_eq!(u.account_type(), None);
        assert_eq!(u.password_expiry(Some(90), now()), PasswordExpiry::Unknown);
        assert_eq!(u.days_since_login(now(), LastLoginReported::Returned), None);
    }

    #[test]
    fn status_and_expiry() {
        let mut u = User {
            id: 1,
            user_name: "a".into(),
            disabled: Some(false),
            locked: Some(true),
            last_password_change: Some(now() - chrono::Duration::days(80)),
            ..Default::default()
        };
        assert_eq!(u.status(), Some(Status::Locked));
        u.disabled = Some(true);
        assert_eq!(u.status(), Some(Status::Disabled));
        assert_eq!(
            u.password_expiry(Some(90), now()),
            PasswordExpiry::DaysLeft(10)
        );
        assert_eq!(u.password_expiry(Some(60), now()), PasswordExpiry::Expired);
        assert_eq!(u.password_expiry(None, now()), PasswordExpiry::Unknown);
        // Absent lastLogin is "never" only where the instance returns it.
        assert_eq!(
            u.days_since_login(now(), LastLoginReported::Returned),
            Some(None)
        );
        assert_eq!(u.days_since_login(now(), LastLoginReported::NotSeen), None);
    }

    #[test]
    fn never_logged_in_is_not_stale_and_unknown_stays_unknown() {
        let fresh = User {
            id: 1,
            user_name: "new.hire".into(),
            disabled: Some(false),
            locked: Some(false),
            ..Default::default()
        };
        let old = User {
            last_login: Some(now() - chrono::Duration::days(200)),
            ..fresh.clone()
        };
        let returned = LastLoginReported::seen_in([&fresh, &old]);
        assert_eq!(returned, LastLoginReported::Returned);
        assert_eq!(fresh.no_login_for(90, now(), returned), Some(false));
        assert_eq!(old.no_login_for(90, now(), returned), Some(true));
        assert_eq!(old.no_login_for(300, now(), returned), Some(false));
        let not_seen = LastLoginReported::seen_in([&fresh]);
        assert_eq!(fresh.no_login_for(90, now(), not_seen), None);
    }

    #[test]
    fn one_odd_value_leaves_only_that_field_unknown() {
        let u: User = serde_json::from_str(
            r#"{"id":"42","userName":"a@example.com","firstName":7,"disabled":"no",
                "locked":false,"lastLogin":"last tuesday","lastPasswordChange":"2026-11-01 10:00:00",
                "customTqlTimeout":120000,"logoutIntervalMinutes":30.0,
                "ownerRoles":{"Demo Organization":"Standard User","Odd":{"role":"x"}},
                "userGroups":"SOC","owner":"Demo Organization","systemRole":"Galactic Overlord"}"#,
        )
        .unwrap();
        assert_eq!(u.id, 42);
        assert_eq!(u.first_name, None);
        assert_eq!(u.disabled, None);
        assert_eq!(u.locked, Some(false));
        assert_eq!(u.last_login, None);
        assert_eq!(
            u.last_password_change,
            Some(Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap())
        );
        assert_eq!(u.custom_tql_timeout, Some(TqlTimeoutWire::Millis(120_000)));
        assert_eq!(u.logout_interval_minutes, Some(30));
        assert_eq!(u.owner_roles, None, "a partial map would look whole");
        assert_eq!(u.user_groups, None);
        // An unfamiliar role is kept as the instance names it.
        assert_eq!(u.system_role.as_deref(), Some("Galactic Overlord"));
        assert_eq!(u.account_type(), None);
        let odd: Vec<&str> = super::super::lenient::take_odd_fields()
            .iter()
            .map(|o| o.field)
            .collect();
        for field in [
            "firstName",
            "disabled",
            "lastLogin",
            "ownerRoles",
            "userGroups",
        ] {
            assert!(odd.contains(&field), "{field} not noted in {odd:?}");
        }
    }

    #[test]
    fn user_groups_are_read_whole_or_not_at_all() {
        let groups = |json: &str| -> Option<Vec<GroupRef>> {
            let text = format!(r#"{{"id":1,"userName":"a","userGroups":{json}}}"#);
            serde_json::from_str::<User>(&text).unwrap().user_groups
        };
        let soc = GroupRef {
            id: 3,
            name: "SOC \"A\"".into(),
        };
        assert_eq!(groups("[]"), Some(vec![]));
        assert_eq!(groups("null"), None);
        assert_eq!(
            groups(r#"[{"id":3,"name":"SOC \"A\"","extra":[1,{"x":2}]},{"name":"B","id":4}]"#),
            Some(vec![
                soc.clone(),
                GroupRef {
                    id: 4,
                    name: "B".into()
                }
            ])
        );
        // One unreadable item makes the whole list unknown, and the rest
        // of the account is still read.
        for odd in [
            r#"[{"id":3,"name":"SOC"},{"id":"4","name":"B"}]"#,
            r#"[{"id":3,"name":"SOC"},{"id":4}]"#,
            r#"[{"id":3.5,"name":"SOC"}]"#,
            r#"[{"id":3,"name":null}]"#,
            r#"[{"id":3,"id":4,"name":"SOC"}]"#,
            r#"[{"id":18446744073709551615,"name":"SOC"}]"#,
            r#"["SOC"]"#,
            r#"[[3,"SOC"]]"#,
            r#"{"id":3,"name":"SOC"}"#,
            "7",
        ] {
            assert_eq!(groups(odd), None, "{odd}");
        }
        let u: User = serde_json::from_str(
            r#"{"id":1,"userName":"a","userGroups":[{"id":"x"}],"firstName":"Pat"}"#,
        )
        .unwrap();
        assert_eq!(u.first_name.as_deref(), Some("Pat"));
    }

    #[test]
    fn role_maps_read_again_are_the_same_map() {
        let roles = |json: &str| -> OwnerRoles {
            let text = format!(r#"{{"id":1,"userName":"a","ownerRoles":{json}}}"#);
            serde_json::from_str::<User>(&text)
                .unwrap()
                .owner_roles
                .unwrap()
        };
        let first = roles(r#"{"B":"Editor","A":"User","B":"Director"}"#);
        assert_eq!(first.get("A"), Some("User"));
        assert_eq!(first.get("B"), Some("Director"), "a later entry replaces");
        let again = roles(r#"{"B":"Editor","A":"User","B":"Director"}"#);
        assert!(Arc::ptr_eq(&first.0, &again.0), "one shared copy");
        // Texts that would run together without their lengths differ.
        let split = roles(r#"{"AB":"C"}"#);
        let other = roles(r#"{"A":"BC"}"#);
        assert_eq!(split.get("AB"), Some("C"));
        assert_eq!(other.get("A"), Some("BC"));
        assert_eq!(roles("{}").get("A"), None);
    }

    #[test]
    fn not_applied_lists_what_the_answer_does_not_carry_as_asked() {
        let returned: User = serde_json::from_str(
            r#"{"id":1,"userName":"a","systemRole":"User","disabled":true,"firstName":"Pat",
                "owner":"Demo","ownerRoles":{"Demo":"Sharing User","Community":"Director"},
                "customTqlTimeout":0}"#,
        )
        .unwrap();
        let asked = serde_json::json!({
            "systemRole": "Super User",
            "disabled": true,
            "ownerRoles": {"Demo": "Sharing User"},
            "password": "never compared",
            "jobRole": "not in the answer: cannot be judged",
            "customTqlTimeout": 0
        });
        assert_eq!(returned.not_applied(&asked), ["systemRole"]);
        let asked = serde_json::json!({"ownerRoles": {"Demo": "Organization Administrator"}});
        assert_eq!(returned.not_applied(&asked), ["ownerRoles"]);
    }

    #[test]
    fn custom_tql_timeout_reads_integer_boolean_or_null() {
        let read = |json: &str| -> User {
            serde_json::from_str(&format!(r#"{{"id":1,"userName":"a",{json}}}"#)).unwrap()
        };
        let ms = |u: &User| u.custom_tql_timeout.map(|t| t.millis(u.tql_timeout));
        assert_eq!(
            ms(&read(r#""customTqlTimeout":300000"#)),
            Some(Some(Some(300_000)))
        );
        assert_eq!(ms(&read(r#""customTqlTimeout":0"#)), Some(Some(None)));
        assert_eq!(
            ms(&read(r#""customTqlTimeout":true,"tqlTimeout":60000"#)),
            Some(Some(Some(60_000)))
        );
        assert_eq!(ms(&read(r#""customTqlTimeout":true"#)), Some(None));
        assert_eq!(ms(&read(r#""customTqlTimeout":false"#)), Some(Some(None)));
        assert_eq!(ms(&read(r#""customTqlTimeout":null"#)), None);
    }

    #[test]
    fn org_role_comes_from_owner_roles() {
        let u: User = serde_json::from_str(
            r#"{"id":11,"userName":"j","owner":"Demo Organization","systemRole":"User",
                "ownerRoles":{"Demo Organization":"Standard User","Demo Community":"Director"}}"#,
        )
        .unwrap();
        assert_eq!(u.org_role(), Some(OrgRole::StandardUser));
        assert_eq!(u.account_type(), Some(AccountType::User));
    }
}

//! Lenient, honest decoding of the fields of an account.
//!
//! A real instance may send a value of a type rollcall does not expect in
//! one field of one account (a newer version, a custom deployment, the docs
//! and tcex disagreeing). That value becomes "unknown" for that account
//! alone, and is counted here per field so the listing can say so once,
//! instead of failing the whole page.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

/// Fields that held a value rollcall could not read, with how many times.
static ODD_VALUES: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());

fn note(field: &'static str) {
    if let Ok(mut odd) = ODD_VALUES.lock() {
        *odd.entry(field).or_default() += 1;
    }
}

/// A field whose value could not be read, and for how many accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OddField {
    pub field: &'static str,
    pub accounts: u64,
}

impl fmt::Display for OddField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.accounts;
        let accounts = if n == 1 { "account" } else { "accounts" };
        write!(
            f,
            "{}: the instance sent a value rollcall cannot read for {n} {accounts}; shown as unknown",
            self.field
        )
    }
}

/// The fields noted since the last call, each once; clears the tally.
pub fn take_odd_fields() -> Vec<OddField> {
    let Ok(mut odd) = ODD_VALUES.lock() else {
        return Vec::new();
    };
    std::mem::take(&mut *odd)
        .into_iter()
        .map(|(field, accounts)| OddField { field, accounts })
        .collect()
}

/// Notes an account that could not be read at all (no usable `id`).
pub fn note_unreadable_account() {
    note("id");
}

/// Any JSON value, reduced to what a scalar field can use.
enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// Beyond `i64` (a 20-digit Access ID sent as a number).
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    /// An array or object where a scalar was expected.
    Composite,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Scalar::UInt(v), Scalar::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Composite)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Composite)
    }
}

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar<'de>, D::Error> {
    d.deserialize_any(ScalarVisitor)
}

/// `Some(value)`, `None` for null, or `None` and a note for anything else.
fn read<'de, D, T>(
    d: D,
    field: &'static str,
    take: impl FnOnce(Scalar<'de>) -> Option<T>,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
{
    match scalar(d)? {
        Scalar::Null => Ok(None),
        value => {
            let taken = take(value);
            if taken.is_none() {
                note(field);
            }
            Ok(taken)
        }
    }
}

pub fn text<'de, D: Deserializer<'de>>(
    d: D,
    field: &'static str,
) -> Result<Option<String>, D::Error> {
    read(d, field, |v| match v {
        Scalar::Str(s) => Some(s.into_owned()),
        _ => None,
    })
}

pub fn flag<'de, D: Deserializer<'de>>(
    d: D,
    field: &'static str,
) -> Result<Option<bool>, D::Error> {
    read(d, field, |v| match v {
        Scalar::Bool(b) => Some(b),
        _ => None,
    })
}

/// An integer, also when sent as a whole float or as digits in a string.
pub fn integer<'de, D: Deserializer<'de>>(
    d: D,
    field: &'static str,
) -> Result<Option<i64>, D::Error> {
    read(d, field, as_integer)
}

fn as_integer(value: Scalar) -> Option<i64> {
    match value {
        Scalar::Int(n) => Some(n),
        Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
        Scalar::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// ISO-8601 as the docs show it (`2022-09-07T12:11:13Z`), also with an
/// offset, or the `YYYY-MM-DD HH:MM:SS` (UTC) form tcex writes.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
                .ok()
                .map(|t| t.and_utc())
        })
}

pub fn time<'de, D: Deserializer<'de>>(
    d: D,
    field: &'static str,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    read(d, field, |v| match v {
        Scalar::Str(s) => parse_time(&s),
        _ => None,
    })
}

/// `customTqlTimeout`: the docs define an integer of milliseconds; older
/// answers (and rollcall before) carried a boolean "is custom". Either is
/// read; a boolean `true` means custom with the value in `tqlTimeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TqlTimeoutWire {
    Millis(i64),
    Custom(bool),
}

impl TqlTimeoutWire {
    /// The custom timeout in milliseconds, `Some(None)` when the account
    /// has none, `None` when that cannot be told (`true` without a value).
    pub fn millis(self, tql_timeout: Option<i64>) -> Option<Option<i64>> {
        match self {
            TqlTimeoutWire::Millis(ms) if ms > 0 => Some(Some(ms)),
            TqlTimeoutWire::Millis(_) | TqlTimeoutWire::Custom(false) => Some(None),
            TqlTimeoutWire::Custom(true) => tql_timeout.map(Some),
        }
    }
}

impl serde::Serialize for TqlTimeoutWire {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TqlTimeoutWire::Millis(ms) => s.serialize_i64(*ms),
            TqlTimeoutWire::Custom(b) => s.serialize_bool(*b),
        }
    }
}

impl<'de> serde::Deserialize<'de> for TqlTimeoutWire {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        tql_timeout(d, "customTqlTimeout")?
            .ok_or_else(|| de::Error::custom("customTqlTimeout: an integer of milliseconds"))
    }
}

pub fn tql_timeout<'de, D: Deserializer<'de>>(
    d: D,
    field: &'static str,
) -> Result<Option<TqlTimeoutWire>, D::Error> {
    read(d, field, |v| match v {
        Scalar::Bool(b) => Some(TqlTimeoutWire::Custom(b)),
        other => as_integer(other).map(TqlTimeoutWire::Millis),
    })
}

/// `id`: required; an integer or digits in a string.
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    as_integer(scalar(d)?).ok_or_else(|| de::Error::custom("an account without a usable id"))
}

/// `userName`: required; text, or a number written out (an Access ID).
pub fn user_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match scalar(d)? {
        Scalar::Str(s) => Ok(s.into_owned()),
        Scalar::Int(n) => Ok(n.to_string()),
        Scalar::UInt(n) => Ok(n.to_string()),
        _ => Err(de::Error::custom("an account without a usable userName")),
    }
}

/// A visitor's answer to a scalar (a flag, number or text) where a map or
/// list was expected: `$unreadable`, the value consumed.
macro_rules! scalars_are_unreadable {
    ($unreadable:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($unreadable)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($unreadable)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($unreadable)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($unreadable)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($unreadable)
        }
    };
}

/// What a map of text to text is read into (`ownerRoles`: owner name to
/// role name), from its entries in the order read.
pub trait TextMap: Sized {
    fn from_entries<'a>(entries: impl Iterator<Item = (&'a str, &'a str)>) -> Self;
}

/// `ownerRoles`: a map of owner name to role name; any entry that is not
/// text makes the whole map unknown, since a partial map would look whole.
pub fn owner_roles<'de, D: Deserializer<'de>, M: TextMap>(
    d: D,
    field: &'static str,
) -> Result<Option<M>, D::Error> {
    struct RolesVisitor<M>(std::marker::PhantomData<M>);
    impl<'de, M: TextMap> Visitor<'de> for RolesVisitor<M> {
        type Value = Option<Option<M>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of owner name to role name")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries: Vec<(Cow<'de, str>, Cow<'de, str>)> = Vec::new();
            let mut readable = true;
            while let Some(owner) = map.next_key_seed(TextSeed)? {
                match map.next_value_seed(ScalarSeed)? {
                    Scalar::Str(role) => entries.push((owner, role)),
                    _ => readable = false,
                }
            }
            let entries = entries.iter().map(|(k, v)| (k.as_ref(), v.as_ref()));
            Ok(Some(readable.then(|| M::from_entries(entries))))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Some(None))
        }
        scalars_are_unreadable!(Some(None));
    }
    match d.deserialize_any(RolesVisitor(std::marker::PhantomData))? {
        None => Ok(None),
        Some(Some(roles)) => Ok(Some(roles)),
        Some(None) => {
            note(field);
            Ok(None)
        }
    }
}

struct ScalarSeed;

/// A map key as text, lent from the input where it has no escapes
/// (`Cow<str>`'s own `Deserialize` always copies).
struct TextSeed;

impl<'de> de::DeserializeSeed<'de> for TextSeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TextSeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("text")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de> de::DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        scalar(d)
    }
}

/// What a `{id, name}` item of a list is read into (`userGroups`).
pub trait IdName {
    fn new(id: i64, name: String) -> Self;
}

/// `userGroups` (extension): a list of `{id, name}` (an integer id, a text
/// name, other keys ignored); anything else makes the whole list unknown.
/// Read as it streams by, with no JSON tree in between.
pub fn groups<'de, D: Deserializer<'de>, G: IdName>(
    d: D,
    field: &'static str,
) -> Result<Option<Vec<G>>, D::Error> {
    struct GroupsVisitor<G>(std::marker::PhantomData<G>);
    impl<'de, G: IdName> Visitor<'de> for GroupsVisitor<G> {
        /// `None` for null; `Some(None)` for a list that could not be read.
        type Value = Option<Option<Vec<G>>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of user groups")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        scalars_are_unreadable!(Some(None));
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Some(None))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut groups = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            let mut readable = true;
            while let Some(group) = seq.next_element_seed(GroupSeed(std::marker::PhantomData))? {
                match group {
                    Some(group) if readable => groups.push(group),
                    _ => readable = false,
                }
            }
            Ok(Some(readable.then_some(groups)))
        }
    }

    /// One group: `Some` when it has an integer `id` and a text `name`
    /// (each once), `None` for anything else, its text consumed.
    struct GroupSeed<G>(std::marker::PhantomData<G>);
    impl<'de, G: IdName> de::DeserializeSeed<'de> for GroupSeed<G> {
        type Value = Option<G>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de, G: IdName> Visitor<'de> for GroupSeed<G> {
        type Value = Option<G>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a user group")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        scalars_are_unreadable!(None);
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut id, mut name, mut readable) = (None, None, true);
            while let Some(key) = map.next_key_seed(TextSeed)? {
                match key.as_ref() {
                    "id" => match map.next_value_seed(ScalarSeed)? {
                        Scalar::Int(n) if id.is_none() => id = Some(n),
                        _ => readable = false,
                    },
                    "name" => match map.next_value_seed(ScalarSeed)? {
                        Scalar::Str(text) if name.is_none() => name = Some(text.into_owned()),
                        _ => readable = false,
                    },
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(match (readable, id, name) {
                (true, Some(id), Some(name)) => Some(G::new(id, name)),
                _ => None,
            })
        }
    }

    let read = d.deserialize_any(GroupsVisitor(std::marker::PhantomData))?;
    if let Some(None) = read {
        note(field);
    }
    Ok(read.flatten())
}

/// As [`text`], the text lent to `take` rather than copied (for text
/// that is interned).
pub fn text_with<'de, D: Deserializer<'de>, T>(
    d: D,
    field: &'static str,
    take: impl FnOnce(&str) -> T,
) -> Result<Option<T>, D::Error> {
    read(d, field, |v| match v {
        Scalar::Str(s) => Some(take(&s)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_the_forms_instances_use() {
        let want = "2022-09-07T12:11:13Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(parse_time("2022-09-07T12:11:13Z"), Some(want));
        assert_eq!(parse_time("2022-09-07T14:11:13+02:00"), Some(want));
        assert_eq!(parse_time("2022-09-07 12:11:13"), Some(want));
        assert_eq!(parse_time("yesterday"), None);
    }
}

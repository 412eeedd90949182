//! A full user listing asked for right after a session opens (`users
//! list`): its first pages go out with the opening's own requests instead
//! of after them, a round trip or two less on a far instance.
//!
//! Which fields to ask for and how many pages there are is known only once
//! the instance has answered. What the last run against the same instance
//! learnt (a hint in the cache directory) lets the pages go out with the
//! very first requests; without one they go out once the first round has
//! answered. Either way the listing takes a page sent ahead only when it
//! asks for exactly that URL, and reads its body only in its turn: a stale
//! hint costs unused requests, never a different answer.

use crate::api::{Client, UserQuery};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The listing a command will ask for, besides its fields (which the
/// instance's capabilities decide).
#[derive(Debug, Clone, Default)]
pub struct ListingAhead {
    pub owner: Option<String>,
    pub sorting: Option<String>,
    /// `resultLimit`; 0: the client's default.
    pub page_size: u32,
    /// Where hints are kept; `None`: the user's cache directory.
    pub hint_dir: Option<PathBuf>,
}

/// What the last such listing asked for and how long it was, and what
/// its session's opening learnt that its second round needs: with them,
/// that round goes out with the first (and is asked again, in turn, when
/// the first round's answers say otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingHint {
    pub fields: Vec<String>,
    pub pages: u64,
    /// The caller's user name, as who am I gave it.
    pub user_name: String,
    /// Whether the instance reported its settings.
    pub reports_settings: bool,
}

impl ListingAhead {
    /// The listing's query with `fields`.
    pub fn query(&self, fields: Vec<String>) -> UserQuery {
        UserQuery {
            fields,
            tql: None,
            owner: self.owner.clone(),
            sorting: self.sorting.clone(),
            page_size: self.page_size,
        }
    }

    /// The hint's file for this listing by `who` on `instance`. Named by a
    /// digest: the instance's address and the access id stay out of the
    /// directory listing.
    fn hint_path(&self, instance: &str, who: &str) -> Option<PathBuf> {
        let dir = match &self.hint_dir {
            Some(dir) => dir.clone(),
            None => directories::ProjectDirs::from("", "", "rollcall")?
                .cache_dir()
                .join("listings"),
        };
        let identity = format!(
            "{instance}\n{who}\n{}\n{}\n{}",
            self.owner.as_deref().unwrap_or(""),
            self.sorting.as_deref().unwrap_or(""),
            self.page_size
        );
        let digest = Sha256::digest(identity.as_bytes());
        let name: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        Some(dir.join(format!("{name}.json")))
    }

    /// The last run's hint, if there is a readable one.
    pub fn hint(&self, instance: &str, who: &str) -> Option<ListingHint> {
        let text = std::fs::read(self.hint_path(instance, who)?).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Sends the listing's first pages as the hint plans them (before the
    /// instance has said anything).
    pub fn send_hinted(&self, client: &Client, hint: &ListingHint) {
        client.prefetch_users(&self.query(hint.fields.clone()), Some(hint.pages));
    }

    /// Keeps `hint` for the next run, readable by its owner only (it names
    /// the caller). A cache that cannot be written costs only the next
    /// run's head start, so failures are logged, not raised.
    pub fn remember(&self, client: &Client, hint: ListingHint) {
        let (instance, who) = (client.api_path(), client.caller_id());
        let who = who.as_str();
        let Some(path) = self.hint_path(instance, who) else {
            return;
        };
        if self.hint(instance, who).as_ref() == Some(&hint) {
            return;
        }
        let written = (|| -> std::io::Result<()> {
            let dir = path.parent().unwrap_or(&path);
            std::fs::create_dir_all(dir)?;
            let temp = path.with_extension("json.tmp");
            let mut file = std::fs::OpenOptions::new();
            file.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
            std::io::Write::write_all(
                &mut file.open(&temp)?,
                &serde_json::to_vec(&hint).unwrap_or_default(),
            )?;
            std::fs::rename(&temp, &path)
        })();
        if let Err(e) = written {
            tracing::debug!(error = %e, "listing hint not kept");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_kept_per_instance_caller_and_listing() {
        let dir = tempfile::tempdir().unwrap();
        let ahead = ListingAhead {
            sorting: Some("userName asc".into()),
            hint_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let a = ahead.hint_path("https://a.example/api", "admin").unwrap();
        assert_ne!(
            a,
            ahead.hint_path("https://b.example/api", "admin").unwrap()
        );
        assert_ne!(
            a,
            ahead.hint_path("https://a.example/api", "other").unwrap()
        );
        let by_org = ListingAhead {
            owner: Some("Org".into()),
            ..ahead.clone()
        };
        assert_ne!(
            a,
            by_org.hint_path("https://a.example/api", "admin").unwrap()
        );
        // Neither the address nor the access id shows in the name.
        let name = a.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !name.contains("example") && !name.contains("admin"),
            "{name}"
        );
        // A file that is not a hint is no hint.
        std::fs::write(&a, b"not json").unwrap();
        assert_eq!(ahead.hint("https://a.example/api", "admin"), None);
    }
}

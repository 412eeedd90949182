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
    /// The caller's home Organization's accounts (the console's first
    /// listing), in place of `owner`: which one it is, the opening learns
    /// only in its second round, so only a hint (which names it) sends
    /// such a listing's pages ahead.
    pub home_organization: bool,
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
    /// The Organization a home Organization's listing asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl ListingAhead {
    /// The console's first listing: its home Organization's accounts, in
    /// the instance's order.
    pub fn home_organization() -> ListingAhead {
        ListingAhead {
            home_organization: true,
            ..Default::default()
        }
    }

    /// The listing's query with `fields`; a home Organization's listing
    /// asks for `home` (`None` while it is not known).
    pub fn query(&self, fields: Vec<String>, home: Option<&str>) -> Option<UserQuery> {
        let owner = match self.home_organization {
            true => Some(home?.to_string()),
            false => self.owner.clone(),
        };
        Some(UserQuery {
            fields,
            tql: None,
            owner,
            sorting: self.sorting.clone(),
            page_size: self.page_size,
        })
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
        // A home Organization's listing is one listing whichever it is.
        let owner = match self.home_organization {
            true => "\0home",
            false => self.owner.as_deref().unwrap_or(""),
        };
        let identity = format!(
            "{instance}\n{who}\n{owner}\n{}\n{}",
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
        if let Some(query) = self.query(hint.fields.clone(), hint.owner.as_deref()) {
            client.prefetch_users(&query, Some(hint.pages));
        }
    }

    /// Forgets the hint of this listing on the client's instance, if any.
    pub fn forget(&self, client: &Client) {
        if let Some(path) = self.hint_path(client.api_path(), &client.caller_id()) {
            let _ = std::fs::remove_file(path);
        }
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
        // The console's home Organization listing is one listing, whichever
        // Organization that is, and not the instance-wide one.
        let home = ListingAhead {
            hint_dir: Some(dir.path().to_path_buf()),
            ..ListingAhead::home_organization()
        };
        let home_path = home.hint_path("https://a.example/api", "admin").unwrap();
        assert_ne!(home_path, a);
        let instance_wide = ListingAhead {
            hint_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        assert_ne!(
            home_path,
            instance_wide
                .hint_path("https://a.example/api", "admin")
                .unwrap()
        );
        // Until the opening names the home Organization there is no query.
        assert!(home.query(Vec::new(), None).is_none());
        let query = home.query(Vec::new(), Some("Org")).unwrap();
        assert_eq!(query.owner.as_deref(), Some("Org"));
        assert_eq!(
            by_org
                .query(Vec::new(), Some("Other"))
                .unwrap()
                .owner
                .as_deref(),
            Some("Org")
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

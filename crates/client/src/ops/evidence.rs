//! Evidence bundles: a directory of reports and a manifest that says how
//! they were made (instance, actor, time, rollcall's version, the policy
//! and thresholds in force, the exact requests sent) and the SHA-256 of
//! every file, optionally chained to the previous bundle by its manifest's
//! hash. [`verify`] recomputes all of it.

use crate::api::RecordedRequest;
use crate::domain::audit_policy::AuditPolicy;
use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The manifest's file name in a bundle.
pub const MANIFEST: &str = "manifest.json";
/// Identifies a manifest, so `verify` refuses other JSON files.
pub const MANIFEST_KIND: &str = "rollcall-evidence";
pub const MANIFEST_VERSION: u32 = 1;

/// What a bundle's manifest records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub kind: String,
    pub version: u32,
    /// What the bundle holds: `audit` or `review-report`.
    pub contents: String,
    /// The instance's API base URL.
    pub instance: String,
    /// Who made it (the user name rollcall was connected as).
    pub actor: String,
    pub generated: DateTime<Utc>,
    pub rollcall_version: String,
    /// The `[policy]` in force; `None` when the config file has none.
    pub policy: Option<AuditPolicy>,
    /// The thresholds in force (`staleDays`, `expiringDays`, ...).
    pub thresholds: BTreeMap<String, serde_json::Value>,
    /// Every request sent to make the reports, in order: method, path and
    /// query (never headers, so never credentials) and the answer's status.
    pub requests: Vec<RecordedRequest>,
    /// File name to SHA-256 (hex) of every file of the bundle but the manifest.
    pub files: BTreeMap<String, String>,
    /// The previous bundle of the chain (`--chain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<ChainLink>,
}

/// The bundle this one follows, by its manifest's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainLink {
    /// Where it was when this bundle was made.
    pub dir: String,
    /// SHA-256 (hex) of its `manifest.json`, byte for byte.
    pub manifest_sha256: String,
}

/// A manifest before its files are hashed.
#[derive(Debug, Clone)]
pub struct BundleInfo {
    pub contents: String,
    pub instance: String,
    pub actor: String,
    pub generated: DateTime<Utc>,
    pub policy: Option<AuditPolicy>,
    pub thresholds: BTreeMap<String, serde_json::Value>,
    pub requests: Vec<RecordedRequest>,
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A file name a bundle may hold: one plain name, no directory.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != MANIFEST
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
}

/// Writes `bytes` to `path` through a temporary file beside it, synced,
/// then renamed over it: a reader never sees half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("a file name is needed"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(
        ".tmp-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let temp = dir.join(temp_name);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// The hash of the manifest of the bundle in `dir`, once `verify` found
/// that bundle intact: what `--chain` records.
pub fn chain_link(previous: &Path) -> anyhow::Result<ChainLink> {
    let check = verify(previous)?;
    if !check.is_intact() {
        bail!(
            "--chain {}: that bundle is not intact ({}), so nothing is chained to it",
            previous.display(),
            check.problems().join("; ")
        );
    }
    Ok(ChainLink {
        dir: previous.display().to_string(),
        manifest_sha256: check.manifest_sha256,
    })
}

/// Writes `files` and their manifest into `dir` (created if needed; it
/// must hold nothing yet, so no bundle is ever overwritten) and returns
/// the manifest's SHA-256.
pub fn write_bundle(
    dir: &Path,
    info: BundleInfo,
    files: &[(String, Vec<u8>)],
    previous: Option<ChainLink>,
) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let occupied = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .next()
        .is_some();
    if occupied {
        bail!(
            "{} is not empty: a bundle goes into a new or empty directory, so none is overwritten",
            dir.display()
        );
    }
    let mut hashes = BTreeMap::new();
    for (name, bytes) in files {
        if !plain_name(name) {
            bail!("a bundle's files have plain names ({name:?} is not one)");
        }
        if hashes.insert(name.clone(), sha256_hex(bytes)).is_some() {
            bail!("{name} is in the bundle twice");
        }
    }
    for (name, bytes) in files {
        let path = dir.join(name);
        write_atomically(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let manifest = Manifest {
        kind: MANIFEST_KIND.into(),
        version: MANIFEST_VERSION,
        contents: info.contents,
        instance: info.instance,
        actor: info.actor,
        generated: info.generated,
        rollcall_version: env!("CARGO_PKG_VERSION").into(),
        policy: info.policy,
        thresholds: info.thresholds,
        requests: info.requests,
        files: hashes,
        previous,
    };
    let mut text = serde_json::to_vec_pretty(&manifest)?;
    text.push(b'\n');
    let path = dir.join(MANIFEST);
    write_atomically(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    Ok(sha256_hex(&text))
}

/// What verifying a bundle found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    pub manifest_sha256: String,
    /// Listed, present, and different.
    pub changed: Vec<String>,
    /// Listed, and gone.
    pub missing: Vec<String>,
    /// Present, and not listed.
    pub added: Vec<String>,
    /// The chain link, when the manifest records one.
    pub previous: Option<LinkCheck>,
}

/// What became of the previous bundle a manifest names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkCheck {
    /// Its manifest has the recorded hash.
    Matches(ChainLink),
    /// Its manifest has another hash: it was changed after this bundle.
    Differs { link: ChainLink, now: String },
    /// Not where it was (moved or removed): the link cannot be checked here.
    NotFound(ChainLink),
    /// Its manifest has the recorded hash, but the files it lists (or its
    /// own chain) no longer match it: the chain's evidence is broken there.
    PreviousNotIntact {
        link: ChainLink,
        problems: Vec<String>,
    },
}

impl Verification {
    /// Every file as the manifest lists it, and a chain link that holds
    /// (or a previous bundle not present to check).
    pub fn is_intact(&self) -> bool {
        self.changed.is_empty()
            && self.missing.is_empty()
            && self.added.is_empty()
            && !matches!(
                self.previous,
                Some(LinkCheck::Differs { .. } | LinkCheck::PreviousNotIntact { .. })
            )
    }

    /// One line per problem, each naming its file (those of this bundle
    /// by their names in it, those of the chain by their paths).
    pub fn problems(&self) -> Vec<String> {
        self.problems_in("")
    }

    /// As `problems`, with this bundle's own files named under `dir/`.
    pub fn problems_in(&self, dir: &str) -> Vec<String> {
        let at = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut lines = Vec::new();
        lines.extend(self.changed.iter().map(|f| format!("{at}{f}: changed")));
        lines.extend(self.missing.iter().map(|f| format!("{at}{f}: missing")));
        lines.extend(
            self.added
                .iter()
                .map(|f| format!("{at}{f}: not in the manifest")),
        );
        match &self.previous {
            Some(LinkCheck::Differs { link, now }) => lines.push(format!(
                "{}/{MANIFEST}: the previous bundle's manifest changed (recorded {}, now {now})",
                link.dir, link.manifest_sha256
            )),
            Some(LinkCheck::PreviousNotIntact { link, problems }) => lines.extend(
                problems
                    .iter()
                    .map(|p| format!("{}/{p} (in the previous bundle of the chain)", link.dir)),
            ),
            _ => {}
        }
        lines
    }
}

/// Reads and checks the manifest of the bundle in `dir`.
pub fn read_manifest(dir: &Path) -> anyhow::Result<(Manifest, String)> {
    let path = dir.join(MANIFEST);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow!(
            "{} is not a rollcall evidence manifest: {e}",
            path.display()
        )
    })?;
    if manifest.kind != MANIFEST_KIND {
        bail!(
            "{} is not a rollcall evidence manifest (kind {:?})",
            path.display(),
            manifest.kind
        );
    }
    Ok((manifest, sha256_hex(&bytes)))
}

/// Recomputes the hash of every file the manifest of `dir` lists, looks
/// for files it does not list, and checks the chain link.
pub fn verify(dir: &Path) -> anyhow::Result<Verification> {
    let (manifest, manifest_sha256) = read_manifest(dir)?;
    let mut result = Verification {
        manifest_sha256,
        ..Default::default()
    };
    for (name, recorded) in &manifest.files {
        if !plain_name(name) {
            result.changed.push(name.clone());
            continue;
        }
        match std::fs::read(dir.join(name)) {
            Ok(bytes) if sha256_hex(&bytes) == *recorded => {}
            Ok(_) => result.changed.push(name.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => result.missing.push(name.clone()),
            Err(e) => bail!("cannot read {}: {e}", dir.join(name).display()),
        }
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != MANIFEST && !manifest.files.contains_key(&name) {
            result.added.push(name);
        }
    }
    result.added.sort();
    result.previous = manifest.previous.map(|link| {
        // Where it was recorded, else beside this bundle (bundles kept
        // side by side and moved together).
        let recorded = PathBuf::from(&link.dir);
        let beside = recorded
            .file_name()
            .and_then(|name| dir.parent().map(|parent| parent.join(name)));
        let previous = match beside {
            Some(b) if !recorded.join(MANIFEST).exists() && b.join(MANIFEST).exists() => b,
            _ => recorded,
        };
        match read_manifest(&previous) {
            // The link holds; the bundle it names is checked in turn (its
            // files, and its own link), so a chain is only as intact as
            // every bundle in it.
            Ok((_, now)) if now == link.manifest_sha256 => match verify(&previous) {
                Ok(check) if !check.is_intact() => LinkCheck::PreviousNotIntact {
                    link,
                    problems: check.problems(),
                },
                Ok(_) => LinkCheck::Matches(link),
                Err(e) => LinkCheck::PreviousNotIntact {
                    link,
                    problems: vec![format!("{MANIFEST}: {e}")],
                },
            },
            Ok((_, now)) => LinkCheck::Differs { link, now },
            Err(_) if !previous.join(MANIFEST).exists() => LinkCheck::NotFound(link),
            // There, but no longer a manifest: changed.
            Err(_) => LinkCheck::Differs {
                link,
                now: "unreadable".into(),
            },
        }
    });
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> BundleInfo {
        BundleInfo {
            contents: "audit".into(),
            instance: "https://tc.example.com/api".into(),
            actor: "auditor".into(),
            generated: Utc::now(),
            policy: None,
            thresholds: BTreeMap::from([("staleDays".to_string(), serde_json::json!(90))]),
            requests: vec![RecordedRequest {
                method: "GET".into(),
                path: "/api/v3/security/users".into(),
                query: Some("resultLimit=500".into()),
                status: Some(200),
            }],
        }
    }

    fn files() -> Vec<(String, Vec<u8>)> {
        vec![
            ("audit.md".into(), b"# Audit\n".to_vec()),
            ("audit.json".into(), b"{}\n".to_vec()),
        ]
    }

    #[test]
    fn a_written_bundle_verifies_and_each_change_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("b1");
        let hash = write_bundle(&dir, info(), &files(), None).unwrap();
        let v = verify(&dir).unwrap();
        assert!(v.is_intact(), "{:?}", v.problems());
        assert_eq!(v.manifest_sha256, hash);
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // A second bundle into the same directory is refused.
        assert!(write_bundle(&dir, info(), &files(), None)
            .unwrap_err()
            .to_string()
            .contains("not empty"));
        std::fs::write(dir.join("audit.md"), b"# Audit (edited)\n").unwrap();
        std::fs::remove_file(dir.join("audit.json")).unwrap();
        std::fs::write(dir.join("extra.txt"), b"x").unwrap();
        let v = verify(&dir).unwrap();
        assert!(!v.is_intact());
        assert_eq!(
            v.problems(),
            vec![
                "audit.md: changed",
                "audit.json: missing",
                "extra.txt: not in the manifest"
            ]
        );
    }

    #[test]
    fn a_chain_records_the_previous_manifest_and_notices_its_change() {
        let tmp = tempfile::tempdir().unwrap();
        let first = tmp.path().join("b1");
        let hash = write_bundle(&first, info(), &files(), None).unwrap();
        let link = chain_link(&first).unwrap();
        assert_eq!(link.manifest_sha256, hash);
        let second = tmp.path().join("b2");
        write_bundle(&second, info(), &files(), Some(link.clone())).unwrap();
        let (m, _) = read_manifest(&second).unwrap();
        assert_eq!(m.previous.as_ref(), Some(&link));
        assert!(matches!(
            verify(&second).unwrap().previous,
            Some(LinkCheck::Matches(_))
        ));
        // Both moved together elsewhere: the link is found beside.
        let moved = tempfile::tempdir().unwrap();
        std::fs::rename(&first, moved.path().join("b1")).unwrap();
        std::fs::rename(&second, moved.path().join("b2")).unwrap();
        let v = verify(&moved.path().join("b2")).unwrap();
        assert!(matches!(v.previous, Some(LinkCheck::Matches(_))), "{v:?}");
        std::fs::rename(moved.path().join("b1"), &first).unwrap();
        std::fs::rename(moved.path().join("b2"), &second).unwrap();
        // A file of the first bundle edited, its manifest left alone: the
        // link still matches, but the second is not intact through it.
        let original = std::fs::read(first.join("audit.md")).unwrap();
        std::fs::write(first.join("audit.md"), b"# Audit (edited)\n").unwrap();
        let v = verify(&second).unwrap();
        assert!(!v.is_intact());
        assert_eq!(
            v.problems(),
            vec![format!(
                "{}/audit.md: changed (in the previous bundle of the chain)",
                first.display()
            )]
        );
        std::fs::write(first.join("audit.md"), original).unwrap();
        assert!(verify(&second).unwrap().is_intact());
        // The first manifest rewritten (say, to hide a file): the second says so.
        let path = first.join(MANIFEST);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("auditor", "someone");
        std::fs::write(&path, text).unwrap();
        let v = verify(&second).unwrap();
        assert!(!v.is_intact());
        assert!(
            v.problems()[0].contains("previous bundle's manifest changed"),
            "{:?}",
            v.problems()
        );
        // And nothing chains to a bundle that is not intact.
        std::fs::write(first.join("audit.md"), b"x").unwrap();
        assert!(chain_link(&first)
            .unwrap_err()
            .to_string()
            .contains("not intact"));
        // Not a bundle at all.
        let err = verify(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("manifest.json"), "{err}");
    }
}

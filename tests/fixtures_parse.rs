//! Every example response of ThreatConnect's v3 documentation parses with
//! the wire types (SPEC section 4).

use rollcall::api::wire::{
    ListEnvelope, OneEnvelope, Owner, OwnerRoleInfo, SystemRoleInfo, UserGroup, SUCCESS,
};
use rollcall::domain::{Status, User};
use std::path::{Path, PathBuf};

fn repo_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/threatconnect-v3")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_fixture_parses_with_the_wire_types() {
    let files = json_files(&repo_fixtures());
    assert_eq!(files.len(), 10, "{files:?}");
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let status = match name.rsplit_once('-').unwrap().0 {
            "users-retrieve" => {
                // one example is a list, the other a single user
                if read(path).contains("\"data\": [") {
                    let list: ListEnvelope<User> = parse(path);
                    assert!(!list.data.is_empty());
                    list.status
                } else {
                    let one: OneEnvelope<User> = parse(path);
                    assert!(one.data.is_some());
                    one.status
                }
            }
            "users-create" | "users-update" => {
                let one: OneEnvelope<User> = parse(path);
                let user = one.data.expect("user data");
                assert!(user.status().is_some(), "{name}: full record has a status");
                assert!(one.message.is_some());
                one.status
            }
            "users-delete" => {
                let one: OneEnvelope<User> = parse(path);
                assert!(one.data.is_none());
                assert_eq!(one.message.as_deref(), Some("Deleted"));
                one.status
            }
            "user_groups-retrieve" => parse::<ListEnvelope<UserGroup>>(path).status,
            "owners-retrieve" => {
                let owners: ListEnvelope<Owner> = parse(path);
                assert!(owners.data.iter().all(|o| o.perm_users.is_some()));
                owners.status
            }
            "system_roles-retrieve" => parse::<ListEnvelope<SystemRoleInfo>>(path).status,
            "owner_roles-retrieve" => parse::<ListEnvelope<OwnerRoleInfo>>(path).status,
            other => panic!("no wire type for fixture {other}"),
        };
        assert_eq!(status, SUCCESS, "{name}");
    }
}

#[test]
fn basic_field_users_keep_absent_fields_unknown() {
    let list: ListEnvelope<User> = parse(&repo_fixtures().join("users-retrieve-0.json"));
    assert_eq!(list.data.len(), 3);
    for user in &list.data {
        assert_eq!(user.owner.as_deref(), Some("Demo Organization"));
        assert_eq!(user.system_role, None);
        assert_eq!(user.disabled, None);
        assert_eq!(user.locked, None);
        assert_eq!(user.last_login, None);
        assert_eq!(user.owner_roles, None);
        assert_eq!(user.status(), None);
        assert!(!user.has_detail_fields());
    }
    let updated: OneEnvelope<User> = parse(&repo_fixtures().join("users-update-0.json"));
    let user = updated.data.unwrap();
    assert_eq!(user.status(), Some(Status::Disabled));
    assert_eq!(user.org_role_name(), Some("Standard User"));
}

/// The repository's copy must not drift from the shared originals (when
/// they are beside the repository, as in development and CI).
#[test]
fn repository_copy_matches_shared_fixtures() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/threatconnect-v3");
    if !shared.is_dir() {
        eprintln!(
            "{} not present; checked the repository copy only",
            shared.display()
        );
        return;
    }
    for original in json_files(&shared) {
        let copy = repo_fixtures().join(original.file_name().unwrap());
        assert_eq!(read(&original), read(&copy), "{} differs", copy.display());
    }
}

//! Hostile names in every field reach no terminal raw, on any path of the
//! real binary: error messages that list server names, and every JSON
//! export (the console's side is in `src/tui/tests.rs`).

use rollcall::sandbox::{Sandbox, SandboxConfig};
use std::path::Path;

const KEY: &str = "hostile-output-key";

/// Escape sequences, C1 controls, DEL, a bidirectional override and
/// zero-width characters, as an attacker renaming things would use them.
const OSC52: &str = "Clip\u{1b}]52;c;UFdORUQ=\u{7}";
const C1_DEL_BIDI: &str = "c1\u{9b}2J del\u{7f} rtl\u{202e}gnp.exe zw\u{200b}j";

/// A sandbox whose database was changed behind its back: a group, a
/// Community and an account carry hostile names.
async fn hostile_sandbox(dir: &Path) -> Sandbox {
    let path = dir.join("sandbox.sqlite");
    let mut config = SandboxConfig::loopback(30, KEY);
    config.db = Some(path.clone());
    Sandbox::start(config.clone())
        .await
        .expect("seeds")
        .shutdown()
        .await;
    let conn = rusqlite::Connection::open(&path).expect("database");
    conn.execute("UPDATE groups SET name = ?1 WHERE id = 1", [OSC52])
        .expect("group renamed");
    conn.execute(
        "UPDATE users SET user_name = ?1, first_name = ?1 WHERE id = (SELECT max(id) FROM users)",
        [C1_DEL_BIDI],
    )
    .expect("account renamed");
    drop(conn);
    Sandbox::start(config).await.expect("restarts")
}

async fn rollcall(sb: &Sandbox, home: &Path, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(args)
        .env("TC_API_PATH", sb.base_url())
        .env("TC_API_ACCESS_ID", "administrator")
        .env("TC_API_SECRET_KEY", KEY)
        .env_remove("TC_TOKEN")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Control characters (but line breaks), C1, DEL, bidi and zero-width.
fn raw_escapes(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| *c != '\n' && rollcall::domain::text::needs_escape(*c))
        .collect()
}

#[tokio::test]
async fn server_names_in_errors_and_json_exports_are_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let sb = hostile_sandbox(dir.path()).await;
    let home = dir.path();

    // The error lists the known group names: the hostile one escaped.
    let (ok, _, stderr) = rollcall(
        &sb,
        home,
        &["users", "edit", "1", "--set", "groups=NoSuchGroup"],
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("Clip\\e]52;c;UFdORUQ=\\x07"), "{stderr}");
    assert_eq!(raw_escapes(&stderr), Vec::<char>::new(), "{stderr:?}");

    for args in [
        &["users", "list", "--format", "json"][..],
        &["--read-only", "audit", "--format", "json"][..],
    ] {
        let (ok, stdout, stderr) = rollcall(&sb, home, args).await;
        assert!(ok, "{args:?}: {stderr}");
        assert_eq!(raw_escapes(&stdout), Vec::<char>::new(), "{args:?}");
        assert_eq!(raw_escapes(&stderr), Vec::<char>::new(), "{args:?}");
        // The same data: the escaped JSON reads back to the hostile name.
        assert!(stdout.contains("del\\u007f"), "{args:?}");
        let value: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
        assert!(value.to_string().contains('\u{7f}'), "{args:?}");
    }

    // An access review by group names the hostile group escaped, and its
    // files hold no raw escape either.
    let review = dir.path().join("rv");
    let review_arg = review.display().to_string();
    let (ok, stdout, stderr) = rollcall(
        &sb,
        home,
        &["review", "start", "--by", "group", "--out", &review_arg],
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Clip\\e]52;c;UFdORUQ=\\x07"), "{stdout}");
    assert_eq!(raw_escapes(&stdout), Vec::<char>::new(), "{stdout:?}");
    for entry in std::fs::read_dir(&review).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv" || e == "md") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(raw_escapes(&text), Vec::<char>::new(), "{path:?}");
        }
    }
    sb.shutdown().await;
}

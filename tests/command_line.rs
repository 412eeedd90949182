//! The command line as users expect it: shell completions, the manual
//! page, and a reader that stops early (`rollcall users list | head -1`),
//! all through the real binary.

use rollcall::sandbox::{Sandbox, SandboxConfig};
use std::io::BufRead;
use std::process::{Command, Stdio};

const SECRET: &str = "secret";

fn rollcall() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollcall"));
    command
        .env_remove("RUST_LOG")
        .env_remove("ROLLCALL_LOG")
        .stdin(Stdio::null());
    command
}

fn output_of(args: &[&str]) -> (String, String, Option<i32>) {
    let output = rollcall().args(args).output().expect("the binary runs");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code(),
    )
}

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (stdout, stderr, code) = output_of(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}: {stderr}");
        assert!(stderr.is_empty(), "{shell}: {stderr}");
        for word in ["users", "disable", "journal", "log"] {
            assert!(stdout.contains(word), "{shell} completions name {word}");
        }
    }
    let (_, stderr, code) = output_of(&["completions", "tcsh"]);
    assert_eq!(code, Some(2), "an unknown shell is a usage error");
    assert!(
        stderr.contains("bash"),
        "the error lists the shells: {stderr}"
    );
}

#[test]
fn the_manpage_is_roff_naming_the_commands() {
    let (stdout, stderr, code) = output_of(&["manpage"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(".TH rollcall 1"), "{stdout}");
    assert!(stdout.contains("users"));
    assert!(stdout.contains("completions"));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let out_arg = out.to_string_lossy().into_owned();
    let (_, stderr, code) = output_of(&["manpage", "--out", &out_arg]);
    assert_eq!(code, Some(0), "{stderr}");
    for page in ["rollcall.1", "rollcall-users.1", "rollcall-users-disable.1"] {
        let text =
            std::fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
}

/// `rollcall users list | head -1`: the reader goes after one line and the
/// listing (far larger than a pipe's buffer) ends quietly with status 0, as
/// documented in the README.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_early_ends_the_listing_quietly() {
    let sb = Sandbox::start(SandboxConfig::loopback(3000, SECRET))
        .await
        .expect("sandbox starts");
    let home = tempfile::tempdir().unwrap();
    for format in ["table", "csv", "json"] {
        let mut child = rollcall()
            .args(["users", "list", "--format", format])
            .env("TC_API_PATH", sb.base_url())
            .env("TC_API_ACCESS_ID", "administrator")
            .env("TC_API_SECRET_KEY", SECRET)
            .env_remove("TC_TOKEN")
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let (child, line) = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .expect("one line");
            // The reader is dropped here: the pipe closes.
            let output = child.wait_with_output().expect("the binary ends");
            (output, line)
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&child.stderr);
        assert!(!line.is_empty(), "{format}: a first line came");
        assert_eq!(child.status.code(), Some(0), "{format}: {stderr}");
        for noise in ["panicked", "Broken pipe", "broken pipe", "os error 32"] {
            assert!(!stderr.contains(noise), "{format}: {stderr}");
        }
    }
    sb.shutdown().await;
}

//! `rollcall verify DIR`: recomputes an evidence bundle's hashes (and its
//! chain link) and says "intact" or names each file that changed.

use crate::domain::text::sanitize;
use crate::ops::evidence::{self, LinkCheck};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct VerifyArgs {
    /// The bundle's directory (it holds manifest.json).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Writes the verdict; returns the exit status (0 intact, 1 not).
pub fn run(args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let check = evidence::verify(&args.dir)?;
    let dir = sanitize(&args.dir.display().to_string()).into_owned();
    match &check.previous {
        Some(LinkCheck::Matches(link)) => writeln!(
            out,
            "chained to {} (manifest SHA-256 {}): it matches",
            sanitize(&link.dir),
            link.manifest_sha256
        )?,
        Some(LinkCheck::NotFound(link)) => writeln!(
            out,
            "chained to {} (manifest SHA-256 {}): not found there, so the link is not checked",
            sanitize(&link.dir),
            link.manifest_sha256
        )?,
        Some(LinkCheck::PreviousNotIntact { link, .. }) => writeln!(
            out,
            "chained to {} (manifest SHA-256 {}): its manifest matches, but that bundle is NOT intact",
            sanitize(&link.dir),
            link.manifest_sha256
        )?,
        Some(LinkCheck::Differs { .. }) | None => {}
    }
    if check.is_intact() {
        writeln!(
            out,
            "{dir}: intact (manifest SHA-256 {})",
            check.manifest_sha256
        )?;
        return Ok(0);
    }
    for problem in check.problems_in(&dir) {
        writeln!(out, "{}", sanitize(&problem))?;
    }
    writeln!(out, "{dir}: NOT intact")?;
    Ok(1)
}

//! The console: an IO-free `App` (`tui`) and the worker that does its
//! requests through the operations layer. It drives `rollcall_client`; it
//! cannot reach the scripted commands.

pub mod tui;
pub mod worker;

/// At most two malloc arenas (glibc), set before any thread starts: the
/// accounts are decoded on every worker thread, and with an arena per
/// thread (glibc allows eight per core) what the listing frees stays
/// scattered across them: the resident size once 100,000 accounts were
/// loaded was 87-111 MB over eight runs (three above 100 MB), and 87-101
/// MB over nine with two (`cargo bench --bench listing`).
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

// The crates below, under the names the modules here use for them.
use rollcall_client::{api, bulk, config, journal, ops};
use rollcall_domain as domain;

//! The console: App state, keymap, views, event loop.

pub mod keymap;
#[allow(dead_code)] // used by the views, landing next
mod text;

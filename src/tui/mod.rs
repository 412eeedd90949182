//! The console: App state, keymap, views, event loop.

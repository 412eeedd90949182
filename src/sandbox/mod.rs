//! The embedded ThreatConnect-compatible server (axum + rusqlite).

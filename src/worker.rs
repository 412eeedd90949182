//! The one task that owns the client.

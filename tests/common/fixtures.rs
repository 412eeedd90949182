//! The documentation's example answers (`tests/fixtures/threatconnect-v3/`,
//! a copy of the shared originals) and their key sets, for shape checks.

use serde_json::Value;
use std::collections::BTreeSet;

pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/threatconnect-v3/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

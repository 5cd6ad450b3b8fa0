//! Flow correlation: link authorize → callback → token → refresh.

use super::params;
use super::{AnalyzeOptions, Finding};
use crate::record::{Kind, Record};

/// A value that ties records of one flow together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// An OAuth `state` value.
    State(String),
    /// An authorization code.
    Code(String),
    /// A refresh token (sent or issued).
    RefreshToken(String),
}

impl Key {
    /// A short tag for storage (`state`, `code`, `refresh_token`).
    pub fn tag(&self) -> &'static str {
        match self {
            Key::State(_) => "state",
            Key::Code(_) => "code",
            Key::RefreshToken(_) => "refresh_token",
        }
    }

    /// The value.
    pub fn value(&self) -> &str {
        match self {
            Key::State(v) | Key::Code(v) | Key::RefreshToken(v) => v,
        }
    }
}

/// Every correlation key a record carries: `state` and `code` from the
/// request, the redirect `Location` and the token request body, refresh
/// tokens sent in a refresh request or issued in a token response.
pub fn keys(rec: &Record) -> Vec<Key> {
    let mut out = Vec::new();
    let mut p = params::request_params(rec);
    p.extend(params::location_params(rec));
    for (k, v) in &p {
        match k.as_str() {
            "state" if !v.is_empty() => out.push(Key::State(v.clone())),
            "code" if !v.is_empty() => out.push(Key::Code(v.clone())),
            "refresh_token" if !v.is_empty() => out.push(Key::RefreshToken(v.clone())),
            _ => {}
        }
    }
    if rec.kind == Kind::TokenRequest {
        if let Some(json) = params::response_json(rec) {
            if let Some(rt) = json.get("refresh_token").and_then(|v| v.as_str()) {
                out.push(Key::RefreshToken(rt.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Set `flow` on every record: records sharing a key are in one flow, whose
/// id is the id of its earliest record.
pub fn assign_flows(records: &mut [Record]) {
    use std::collections::HashMap;
    let mut owner: HashMap<Key, String> = HashMap::new();
    for rec in records.iter_mut() {
        let ks = keys(rec);
        let flow = ks
            .iter()
            .find_map(|k| owner.get(k).cloned())
            .unwrap_or_else(|| rec.id.clone());
        for k in ks {
            owner.entry(k).or_insert_with(|| flow.clone());
        }
        rec.flow = Some(flow);
    }
}

/// Findings about correlation itself (none yet).
pub fn annotate(_records: &[Record], _opts: &AnalyzeOptions) -> Vec<Finding> {
    Vec::new()
}

//! Judged by outcome: a login that failed and then succeeded is a recovered
//! login, not a failed one.
//!
//! Runs over the whole capture after every flow is analysed. Attempts are
//! grouped by client (the provider host and `client_id`); in time order, a
//! success (tokens from the token endpoint, or tokens delivered to the
//! redirect URI) after failures of the same client gets
//! `diagnosis.recovered` (info) naming the last failure and what changed
//! between the two attempts (authorize parameters, token-request shape,
//! time). The earlier attempts keep their findings and diagnoses, lowered
//! from error to warning and naming the success: they did fail, and say why, but nothing
//! is left to act on; the login's outcome (recovered) is what views
//! headline. The provider's own `error.*` annotations stay as they were:
//! they are what happened.

use super::diagnose::{token_succeeded, Failure};
use super::params::{self, Params};
use crate::catalog::annotations as code;
use crate::record::{Kind, Record, Severity};
use serde_json::json;
use std::collections::HashMap;

/// Parameters that differ on every attempt by design (RFC 6749 §10.12,
/// RFC 7636, OIDC nonce): never "what changed".
const VOLATILE: &[&str] = &[
    "state",
    "nonce",
    "code_challenge",
    "code_verifier",
    "code",
    "client_assertion",
    "client_request_id",
    "flowToken",
    "ctx",
    "sso_nonce",
];

/// True for a parameter whose value differs on every attempt by design
/// (this module's list and [`super::diff`]'s: codes, tokens, `state`,
/// nonces, verifiers, assertions, timestamps): compared by presence and
/// shape, never by value. Shared by `outcome`, `diff` and the nearest
/// successful sibling ([`super::diagnose::sibling`]).
pub(crate) fn volatile(name: &str) -> bool {
    VOLATILE.contains(&name) || super::diff::volatile(name)
}

/// The client an attempt belongs to: provider host and client_id.
fn client_key(r: &Record) -> Option<String> {
    if !matches!(
        r.kind,
        Kind::AuthorizeRequest | Kind::TokenRequest | Kind::DeviceAuthorization | Kind::Par
    ) {
        return None;
    }
    let host = url::Url::parse(&r.request.url)
        .ok()?
        .host_str()?
        .to_ascii_lowercase();
    let id = super::client_id::of_request(r).map(|(_, v)| v)?;
    Some(format!("{host} {id}"))
}

/// True when an analysed record is a failure of its login (an error-severity
/// provider error or refusal on it).
pub fn failed(r: &Record) -> bool {
    r.annotations.iter().any(|a| {
        a.severity == Severity::Error
            && (a.code.starts_with("error.") || a.code.starts_with("authorize."))
    })
}

/// True when a record got the client its tokens.
pub fn succeeded(r: &Record) -> bool {
    match r.kind {
        Kind::TokenRequest => token_succeeded(r),
        Kind::AuthorizationResponse | Kind::Callback => {
            let p = match r.kind {
                Kind::Callback => params::request_params(r),
                _ => params::location_params(r),
            };
            params::get(&p, "access_token").is_some() || params::get(&p, "id_token").is_some()
        }
        _ => false,
    }
}

/// The authorize parameters (non-volatile) of the latest authorize request
/// of `flow` at or before `before`.
fn authorize_of(records: &[Record], flow: &str, before: usize) -> Option<(usize, Params)> {
    records[..=before]
        .iter()
        .enumerate()
        .rev()
        .find(|(_, r)| r.kind == Kind::AuthorizeRequest && r.flow.as_deref() == Some(flow))
        .map(|(i, r)| (i, stable(params::request_params(r))))
}

fn stable(p: Params) -> Params {
    let mut p: Params = p.into_iter().filter(|(k, _)| !volatile(k)).collect();
    p.sort();
    p
}

/// What differs between two parameter lists: `(name, before, after)`,
/// `None` where the parameter is absent; added and changed ones in `after`'s
/// order, then removed ones in `before`'s. Values are compared as they are:
/// filter volatile ones ([`volatile`]) first when only presence matters.
pub(crate) fn param_diff<'a>(
    before: &'a Params,
    after: &'a Params,
) -> Vec<(&'a str, Option<&'a str>, Option<&'a str>)> {
    let mut out = Vec::new();
    for (k, v) in after {
        match params::get(before, k) {
            None => out.push((k.as_str(), None, Some(v.as_str()))),
            Some(old) if old != v => out.push((k.as_str(), Some(old), Some(v.as_str()))),
            _ => {}
        }
    }
    for (k, v) in before {
        if params::get(after, k).is_none() {
            out.push((k.as_str(), Some(v.as_str()), None));
        }
    }
    out
}

/// What differs between two parameter lists, in words.
fn param_changes(before: &Params, after: &Params) -> Vec<String> {
    param_diff(before, after)
        .into_iter()
        .map(|(k, old, new)| match (old, new) {
            (None, Some(v)) => format!("{k}={v} added"),
            (Some(old), Some(v)) => format!("{k}: {old} → {v}"),
            _ => format!("{k} removed"),
        })
        .collect()
}

/// How long after a failure a success of the same client is its retry.
const RETRY_WINDOW: time::Duration = time::Duration::minutes(30);

/// Each flow's client (provider host and client_id), from its records.
pub fn clients(records: &[Record]) -> HashMap<String, String> {
    let mut clients: HashMap<String, String> = HashMap::new();
    for r in records {
        if let (Some(f), Some(c)) = (r.flow.as_deref(), client_key(r)) {
            clients.entry(f.to_string()).or_insert(c);
        }
    }
    clients
}

/// Add `diagnosis.recovered` to records that succeeded after failures of
/// the same client: a retry (its login started after the failure, within
/// [`RETRY_WINDOW`]), not another user's login running alongside. The
/// earlier attempts keep their diagnoses, at warning.
pub fn apply(records: &mut [Record]) {
    let clients = clients(records);
    let mut flow_start: HashMap<String, time::OffsetDateTime> = HashMap::new();
    for r in records.iter() {
        if let Some(f) = r.flow.as_deref() {
            flow_start.entry(f.to_string()).or_insert(r.time);
        }
    }
    // Per client: the failing records not yet followed by a success (the
    // last one is the failure the success recovered from).
    let mut failures: HashMap<String, Vec<usize>> = HashMap::new();
    let mut marks: Vec<(usize, usize)> = Vec::new(); // (success, failure)
    let mut recovered: Vec<(usize, usize)> = Vec::new(); // (failure, success)
    for (i, r) in records.iter().enumerate() {
        let Some(client) = r.flow.as_deref().and_then(|f| clients.get(f)).cloned() else {
            continue;
        };
        if failed(r) && !succeeded(r) {
            failures.entry(client).or_default().push(i);
        } else if succeeded(r) {
            let earlier = failures.remove(&client).unwrap_or_default();
            if let Some(&j) = earlier.last() {
                let started = r
                    .flow
                    .as_deref()
                    .and_then(|f| flow_start.get(f))
                    .copied()
                    .unwrap_or(r.time);
                let same_flow = r.flow == records[j].flow;
                let retry = same_flow
                    || started >= records[j].time && r.time - records[j].time <= RETRY_WINDOW;
                if retry {
                    marks.push((i, j));
                    recovered.extend(earlier.iter().map(|&k| (k, i)));
                }
            }
        }
    }
    // A failure a later attempt recovered from needs nothing done any more:
    // its findings and diagnoses stay (they say what went wrong) but drop to
    // warning, naming the success. The provider's own `error.*` stay as
    // they were: they are what happened.
    for (k, i) in recovered {
        let ok = records[i].id.clone();
        let gap = super::jose::human_span(records[i].time - records[k].time);
        for a in records[k].annotations.iter_mut() {
            if !a.code.starts_with("error.") && a.severity == Severity::Error {
                a.severity = Severity::Warning;
                a.detail
                    .push_str(&format!(" (Recovered: record {ok} succeeded {gap} later.)"));
                a.evidence["recovered_by"] = json!(ok);
            }
        }
    }
    for (i, j) in marks {
        let (fail, ok) = (&records[j], &records[i]);
        let f = Failure::of(fail);
        let what = if f.is_empty() {
            fail.annotations
                .iter()
                .find(|a| a.severity == Severity::Error)
                .map(|a| a.code.clone())
                .unwrap_or_default()
        } else {
            f.main_code()
        };
        let mut changes = Vec::new();
        if let (Some(ff), Some(of)) = (fail.flow.as_deref(), ok.flow.as_deref()) {
            if let (Some((_, a)), Some((_, b))) =
                (authorize_of(records, ff, j), authorize_of(records, of, i))
            {
                changes.extend(
                    param_changes(&a, &b)
                        .into_iter()
                        .map(|c| format!("authorize: {c}")),
                );
            }
        }
        if fail.kind == Kind::TokenRequest && ok.kind == Kind::TokenRequest {
            let a = stable(params::request_params(fail));
            let b = stable(params::request_params(ok));
            changes.extend(
                param_changes(&a, &b)
                    .into_iter()
                    .filter(|c| !c.starts_with("client_secret"))
                    .map(|c| format!("token request: {c}")),
            );
            let fl = |r: &Record| r.flavour.as_ref().and_then(|f| f.number);
            if fl(fail) != fl(ok) {
                changes.push(format!(
                    "flavour {} → {}",
                    fl(fail).map_or("none".into(), |n| n.to_string()),
                    fl(ok).map_or("none".into(), |n| n.to_string())
                ));
            }
        }
        let gap_secs = (ok.time - fail.time).whole_seconds();
        let gap = super::jose::human_span(ok.time - fail.time);
        let changed = if changes.is_empty() {
            "nothing the requests show changed: the fix was outside them (the provider's \
             settings, consent, the user's assignment)"
                .to_string()
        } else {
            changes.join("; ")
        };
        let ann = code::DIAGNOSIS_RECOVERED
            .annotation(
                format!(
                    "Record {} failed with {what}; record {} succeeded {gap} later. What changed \
                     between the two attempts: {changed}.",
                    fail.id, ok.id
                ),
                json!({
                    "failed_record": fail.id,
                    "failed_with": what,
                    "succeeded_record": ok.id,
                    "seconds_between": gap_secs,
                    "changes": changes,
                }),
            )
            .about(format!("after {what}"));
        records[i].annotations.push(ann);
    }
}

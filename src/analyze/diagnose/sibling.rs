//! Differential diagnosis: the nearest successful sibling of a failed
//! exchange, and what differs between the two.
//!
//! Runs once over the whole capture after every flow was analysed and
//! diagnosed ([`super::super::analyze`]), so a sibling from another login of
//! the same client is visible. For each failing record that carries a
//! `diagnosis.*` annotation, the sibling is a record of the capture that
//! succeeded and has
//! - the same kind (token request, authorize request, userinfo, ...),
//! - the same endpoint ([`crate::analyze::refute::endpoint_key`]),
//! - the same client (`client_id` of the request, else of its login),
//! - for token requests, the same `grant_type`;
//!
//! the nearest in time wins, the earlier one on a tie. What differs is
//! listed: method, body format, `Content-Type`, client-authentication
//! flavour, the `Authorization` scheme (never its value), `Origin`,
//! `Accept`, a `DPoP` proof's presence, the parameters (added, removed,
//! changed values; volatile ones — codes, tokens, `state`, nonces,
//! verifiers, assertions, timestamps ([`crate::analyze::outcome::volatile`])
//! — by presence and shape only; secrets by [`super::fingerprint`] only),
//! and the age of the code or refresh token redeemed. The result is added as
//! `evidence.nearest_success` to every `diagnosis.*` annotation on the
//! failing record; "none in this capture" when there is no sibling.
//!
//! Cost: each record's key is computed once, successes are indexed by key,
//! and each failure looks up its key and picks the nearest by binary
//! search, so the pass is O(n log n) over the capture; the ages scan the
//! records before the two requests once each (linear per failing record).

use super::{code_deliveries, delivered_at, fingerprint, grant_type, response_params};
use crate::analyze::diff::shape;
use crate::analyze::params::{self, Params};
use crate::analyze::{client_id, errors, outcome, refute};
use crate::record::{Kind, Record};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

#[cfg(test)]
#[path = "sibling_tests.rs"]
mod tests;

/// What a sibling shares with the failed record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: Kind,
    endpoint: String,
    client: Option<String>,
    grant: Option<String>,
}

/// Parameters whose value is a long-lived secret: compared by fingerprint
/// only (the other secrets of [`crate::redact::is_secret_field`] change on
/// every attempt: compared by shape).
const SECRETS: &[&str] = &["client_secret", "password", "secret", "api_key"];

/// Add `evidence.nearest_success` (and one sentence to the detail when the
/// sibling differs) to every `diagnosis.*` annotation on a failing record.
pub fn apply(records: &mut [Record]) {
    let failing: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| diagnosed(r) && failed(r))
        .map(|(i, _)| i)
        .collect();
    if failing.is_empty() {
        return;
    }
    let found = {
        let records: &[Record] = records;
        let flow_clients = outcome::clients(records);
        let key_of = |r: &Record| key(r, &flow_clients);
        let mut wanted: HashMap<Key, Vec<usize>> = HashMap::new();
        for &i in &failing {
            if let Some(k) = key_of(&records[i]) {
                wanted.entry(k).or_default().push(i);
            }
        }
        // Kinds and grants wanted: a cheap test before the key is read.
        let mut kinds: Vec<(Kind, Option<String>)> =
            wanted.keys().map(|k| (k.kind, k.grant.clone())).collect();
        kinds.sort_unstable_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
        kinds.dedup();
        // Successes by key, in time order (the records are).
        let mut successes: HashMap<&Key, Vec<usize>> = HashMap::new();
        for (j, r) in records.iter().enumerate() {
            if !kinds.iter().any(|(k, _)| *k == r.kind) {
                continue;
            }
            if r.kind == Kind::TokenRequest {
                let g = grant_type(r);
                if !kinds.iter().any(|(k, wg)| *k == r.kind && *wg == g) {
                    continue;
                }
            }
            let Some(k) = key_of(r) else { continue };
            if let Some((k, _)) = wanted.get_key_value(&k) {
                if ok(r) {
                    successes.entry(k).or_default().push(j);
                }
            }
        }
        let mut found: Vec<(usize, Value, Option<String>)> = Vec::new();
        for &i in &failing {
            let k = key_of(&records[i]);
            let sibling = k
                .as_ref()
                .and_then(|k| successes.get(k))
                .and_then(|s| nearest(records, s, i));
            let (evidence, sentence) = describe(records, i, sibling);
            found.push((i, evidence, sentence));
        }
        found
    };
    for (i, evidence, sentence) in found {
        for a in records[i].annotations.iter_mut() {
            if !a.code.starts_with("diagnosis.") || a.code == "diagnosis.recovered" {
                continue;
            }
            if a.evidence.is_null() {
                a.evidence = Value::Object(Map::new());
            }
            let Some(o) = a.evidence.as_object_mut() else {
                continue;
            };
            if o.contains_key("nearest_success") {
                continue;
            }
            o.insert("nearest_success".into(), evidence.clone());
            if let Some(s) = &sentence {
                if !a.detail.is_empty() && !a.detail.ends_with(' ') {
                    a.detail.push(' ');
                }
                a.detail.push_str(s);
            }
        }
    }
}

/// The nearest successful sibling of `records[failed]` in the capture and
/// what differs, as `apply` attaches it (pure; linear in the records).
pub fn nearest_success(records: &[Record], failed: usize) -> Value {
    let flow_clients = outcome::clients(records);
    let k = key(&records[failed], &flow_clients);
    let candidates: Vec<usize> = match &k {
        Some(k) => records
            .iter()
            .enumerate()
            .filter(|(j, r)| {
                *j != failed
                    && r.kind == k.kind
                    && key(r, &flow_clients).as_ref() == Some(k)
                    && ok(r)
            })
            .map(|(j, _)| j)
            .collect(),
        None => Vec::new(),
    };
    describe(records, failed, nearest(records, &candidates, failed)).0
}

fn diagnosed(r: &Record) -> bool {
    r.annotations
        .iter()
        .any(|a| a.code.starts_with("diagnosis.") && a.code != "diagnosis.recovered")
}

/// A failure of its login: the provider's error or refusal on it, a
/// response >= 400, or no response at all.
fn failed(r: &Record) -> bool {
    if r.kind == Kind::TokenRequest && super::token_succeeded(r) {
        return false;
    }
    outcome::failed(r) || r.error.is_some() || r.response.as_ref().is_none_or(|x| x.status >= 400)
}

/// True when the request got what it asked for: a token request that
/// returned tokens ([`refute::succeeded`]); any other leg answered below
/// 400 with no OAuth error (an authorize request's redirect delivering a
/// code counts).
fn ok(r: &Record) -> bool {
    match r.kind {
        Kind::TokenRequest => refute::succeeded(r),
        _ => {
            r.error.is_none()
                && r.response.as_ref().is_some_and(|x| x.status < 400)
                && !outcome::failed(r)
                && errors::extract(r).is_empty()
        }
    }
}

/// For a streaming analysis (`crate::rolling`): the sibling key of `r`
/// when it is a success a later failure may be compared with (a success's
/// key as text), `None` otherwise. `flow_clients` is
/// [`outcome::clients`] of the analysed window.
pub fn success_key(r: &Record, flow_clients: &HashMap<String, String>) -> Option<String> {
    if !ok(r) {
        return None;
    }
    key(r, flow_clients).map(|k| {
        format!(
            "{:?} {} {} {}",
            k.kind,
            k.endpoint,
            k.client.unwrap_or_default(),
            k.grant.unwrap_or_default()
        )
    })
}

fn key(r: &Record, flow_clients: &HashMap<String, String>) -> Option<Key> {
    let endpoint = refute::endpoint_key(&r.request.url)?;
    let client = client_id::of_request(r).map(|(_, v)| v).or_else(|| {
        // "host client_id" of the login the record belongs to.
        let c = flow_clients.get(r.flow.as_deref()?)?;
        Some(
            c.split_once(' ')
                .map_or(c.as_str(), |(_, id)| id)
                .to_string(),
        )
    });
    let grant = if r.kind == Kind::TokenRequest {
        grant_type(r)
    } else {
        None
    };
    Some(Key {
        kind: r.kind,
        endpoint,
        client,
        grant,
    })
}

/// Among `candidates` (indices in time order), the one nearest in time to
/// `records[i]`, the earlier on a tie; never `i` itself.
fn nearest(records: &[Record], candidates: &[usize], i: usize) -> Option<usize> {
    let at = candidates.partition_point(|&j| j < i);
    let before = candidates[..at].last().copied();
    let after = candidates[at..].iter().copied().find(|&j| j != i);
    match (before, after) {
        (Some(b), Some(a)) => {
            let t = records[i].time;
            if (records[a].time - t) < (t - records[b].time) {
                Some(a)
            } else {
                Some(b)
            }
        }
        (b, a) => b.or(a),
    }
}

/// The evidence value and, when the sibling differs, the detail's sentence.
fn describe(records: &[Record], i: usize, sibling: Option<usize>) -> (Value, Option<String>) {
    let rec = &records[i];
    let Some(j) = sibling else {
        let what = match rec.kind {
            Kind::TokenRequest => match grant_type(rec) {
                Some(g) => format!("token request ({g})"),
                None => "token request".into(),
            },
            k => k.as_str().replace('_', " "),
        };
        return (
            json!({
                "none": format!(
                    "none in this capture: no successful {what} to this endpoint with this \
                     client and grant"
                )
            }),
            None,
        );
    };
    let sib = &records[j];
    let span = rec.time - sib.time;
    let apart = span.whole_seconds();
    let differences = differences(records, i, j);
    let when = if span.is_negative() {
        "later"
    } else {
        "earlier"
    };
    let sentence = (!differences.is_empty()).then(|| {
        let whats: Vec<&str> = differences
            .iter()
            .filter_map(|d| d["what"].as_str())
            .collect();
        format!(
            "Record {}, the same request that succeeded {} {when}, differed in: {}.",
            sib.id,
            crate::analyze::jose::human_span(span),
            whats.join(", ")
        )
    });
    (
        json!({
            "record": sib.id,
            "time_apart_seconds": apart.abs(),
            "succeeded": when,
            "differences": differences,
        }),
        sentence,
    )
}

fn diff(out: &mut Vec<Value>, what: &str, failed: Option<String>, succeeded: Option<String>) {
    if failed != succeeded {
        out.push(json!({ "what": what, "failed": failed, "succeeded": succeeded }));
    }
}

/// What differs between the failed request `records[i]` and its successful
/// sibling `records[j]`.
fn differences(records: &[Record], i: usize, j: usize) -> Vec<Value> {
    let (f, s) = (&records[i], &records[j]);
    let mut out = Vec::new();
    diff(
        &mut out,
        "method",
        Some(f.request.method.to_ascii_uppercase()),
        Some(s.request.method.to_ascii_uppercase()),
    );
    let has_body = |r: &Record| !r.request.body.is_empty();
    if has_body(f) || has_body(s) {
        let format = |r: &Record| {
            params::body_format(&r.request.headers, &r.request.body)
                .as_str()
                .to_string()
        };
        diff(&mut out, "body format", Some(format(f)), Some(format(s)));
    }
    let header = |r: &Record, name: &str| r.request.headers.get(name).map(str::to_string);
    let media = |r: &Record| {
        header(r, "content-type").map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    };
    diff(&mut out, "header Content-Type", media(f), media(s));
    let flavour = |r: &Record| {
        r.flavour.as_ref().map(|fl| match fl.number {
            Some(n) => format!("{} (flavour {n})", fl.client_auth),
            None => fl.client_auth.clone(),
        })
    };
    diff(&mut out, "client authentication", flavour(f), flavour(s));
    let scheme = |r: &Record| {
        header(r, "authorization").map(|v| v.split_whitespace().next().unwrap_or("").to_string())
    };
    diff(
        &mut out,
        "header Authorization scheme",
        scheme(f),
        scheme(s),
    );
    diff(
        &mut out,
        "header Origin",
        header(f, "origin"),
        header(s, "origin"),
    );
    diff(
        &mut out,
        "header Accept",
        header(f, "accept"),
        header(s, "accept"),
    );
    let dpop = |r: &Record| header(r, "dpop").map(|_| "present".to_string());
    diff(&mut out, "header DPoP", dpop(f), dpop(s));
    let basic_secret = |r: &Record| super::basic_credentials(r).map(|(_, p)| secret(&p));
    diff(
        &mut out,
        "client secret (Basic)",
        basic_secret(f),
        basic_secret(s),
    );
    parameters(
        &mut out,
        &params::request_params(f),
        &params::request_params(s),
    );
    ages(&mut out, records, i, j);
    out
}

/// A secret as evidence may show it: its fingerprint, or "redacted".
fn secret(v: &str) -> String {
    if crate::redact::is_redacted(v) {
        "redacted".into()
    } else {
        fingerprint(v)
    }
}

/// Parameter differences ([`outcome::param_diff`]): values of ordinary
/// parameters, fingerprints of long-lived secrets, shapes of volatile ones
/// and of every other secret.
fn parameters(out: &mut Vec<Value>, failed: &Params, succeeded: &Params) {
    for (name, a, b) in outcome::param_diff(failed, succeeded) {
        let what = format!("parameter {name}");
        if SECRETS.contains(&name) {
            diff(out, &what, a.map(secret), b.map(secret));
        } else if outcome::volatile(name) || crate::redact::is_secret_field(name) {
            diff(out, &what, a.map(shape), b.map(shape));
        } else {
            diff(out, &what, a.map(str::to_string), b.map(str::to_string));
        }
    }
}

/// Ages that differ by this much are listed.
const AGE_MATTERS: i64 = 30;

/// The age of the code (since its delivery) or refresh token (since the
/// response that issued it) each request redeemed, when the capture shows it.
fn ages(out: &mut Vec<Value>, records: &[Record], i: usize, j: usize) {
    let grant = grant_type(&records[i]);
    let age: fn(&[Record], usize) -> Option<i64> = match grant.as_deref() {
        Some("authorization_code") => code_age,
        Some("refresh_token") => refresh_token_age,
        _ => return,
    };
    let what = match grant.as_deref() {
        Some("authorization_code") => "code age (s)",
        _ => "refresh token age (s)",
    };
    if let (Some(a), Some(b)) = (age(records, i), age(records, j)) {
        if (a - b).abs() >= AGE_MATTERS {
            out.push(json!({ "what": what, "failed": a, "succeeded": b }));
        }
    }
}

/// The records before `i`, latest first, of `i`'s login when it has one
/// (a code or refresh token is delivered in the login that redeems it).
fn earlier(records: &[Record], i: usize) -> impl Iterator<Item = (usize, &Record)> {
    let flow = records[i].flow.as_deref();
    records[..i]
        .iter()
        .enumerate()
        .rev()
        .filter(move |(_, r)| flow.is_none() || r.flow.as_deref() == flow)
}

fn code_age(records: &[Record], i: usize) -> Option<i64> {
    let p = params::request_params(&records[i]);
    let code = params::get(&p, "code")?;
    // The latest delivery (one record at a time, as [`code_deliveries`] reads it).
    let (d, _) = earlier(records, i)
        .find(|&(d, _)| !code_deliveries(&records[d..=d], code, 1).is_empty())?;
    Some((records[i].time - delivered_at(&records[d])).whole_seconds())
}

fn refresh_token_age(records: &[Record], i: usize) -> Option<i64> {
    let p = params::request_params(&records[i]);
    let rt = params::get(&p, "refresh_token")?;
    let (k, _) = earlier(records, i).find(|(_, r)| {
        r.kind == Kind::TokenRequest
            && params::get(&response_params(r), "refresh_token") == Some(rt)
    })?;
    Some((records[i].time - crate::analyze::login::received_at(&records[k])).whole_seconds())
}

//! One clock model for the login: each host's offset from the capture's
//! clock, read from its `Date` headers (RFC 9110 §6.6.1), and every time
//! claim the provider issued checked against the clock that will judge it.
//!
//! The capture's clock is the client's: a browser's HAR is written with the
//! browser's clock, and the proxy runs beside the app. A provider stamps an
//! ID token's `iat` (OIDC Core §2) with its own clock; a client whose clock
//! is behind sees it "issued in the future" and rejects it (openid-client:
//! "JWT issued in the future", oidc-client-js: "iat is in the future"),
//! one whose clock is ahead sees it already expired. The check: the
//! provider's offset estimated from its `Date` headers, and the ID token's
//! `iat`/`exp` against the time the client received it. Client-made JWTs
//! judged by the server are `evidence.rs`'s `clock_skew`.

use super::Failure;
use crate::analyze::jose::decode_unverified;
use crate::analyze::login::{received_at, Login};
use crate::analyze::params;
use crate::analyze::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Kind, Record};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Skew most clients tolerate before refusing a token (seconds); `Date`
/// has a one-second resolution.
const TOLERANCE_SECS: i64 = 30;

fn date_of(rec: &Record) -> Option<OffsetDateTime> {
    let d = rec.response.as_ref()?.headers.get("date")?;
    OffsetDateTime::parse(d.trim(), &time::format_description::well_known::Rfc2822).ok()
}

fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

/// Each host's clock offset from the capture's (seconds, its `Date` minus
/// the middle of the exchange; the median over the host's records), with
/// the number of records it rests on.
pub fn host_offsets(records: &[Record]) -> BTreeMap<String, (i64, usize)> {
    let mut all: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in records {
        let (Some(date), Some(host)) = (date_of(r), host_of(&r.request.url)) else {
            continue;
        };
        let Some(mid) = r.time.checked_add(time::Duration::milliseconds(
            (r.duration_ms.min(600_000) / 2) as i64,
        )) else {
            continue;
        };
        all.entry(host)
            .or_default()
            .push((date - mid).whole_seconds());
    }
    all.into_iter()
        .map(|(h, mut v)| {
            v.sort_unstable();
            let n = v.len();
            (h, (v[n / 2], n))
        })
        .collect()
}

fn claim(c: &Map<String, Value>, name: &str) -> Option<i64> {
    c.get(name)?
        .as_i64()
        .filter(|t| OffsetDateTime::from_unix_timestamp(*t).is_ok())
}

/// The ID token a record delivered to the client: a token response's body,
/// an authorization response's `Location`, a `form_post` page, a callback.
fn delivered_id_token(rec: &Record) -> Option<String> {
    let p = match rec.kind {
        Kind::TokenRequest => super::response_params(rec),
        Kind::Callback => params::request_params(rec),
        Kind::AuthorizationResponse | Kind::AuthorizeRequest | Kind::ProviderPage => {
            params::location_params(rec)
        }
        _ => return None,
    };
    params::get(&p, "id_token").map(str::to_string)
}

/// An API (resource server) that refused a JWT access token the provider
/// stamped with its own clock, judged by the API's: the token not yet
/// valid there (`nbf`/`iat` after the API's `Date`; Microsoft.IdentityModel
/// IDX10222 "The token is not valid before") or already expired there
/// while still valid by the provider's clock (RFC 9068 §2.2, RFC 7519
/// §4.1.4-4.1.5). Claimed only when the two hosts' `Date` headers show
/// the same difference.
fn api_judged(
    records: &[Record],
    offsets: &BTreeMap<String, (i64, usize)>,
    out: &mut Vec<Finding>,
) {
    for (i, rec) in records.iter().enumerate() {
        if rec.kind != Kind::ResourceRequest {
            continue;
        }
        let f = Failure::of(rec);
        if f.has(&["invalid_token"]).is_none() {
            continue;
        }
        let Some(token) = super::access_token::sent_token(rec) else {
            continue;
        };
        let Ok(dec) = decode_unverified(&token) else {
            continue;
        };
        let Some(api_host) = host_of(&rec.request.url) else {
            continue;
        };
        let Some(issuer_host) = dec
            .claims
            .get("iss")
            .and_then(Value::as_str)
            .and_then(host_of)
        else {
            continue;
        };
        let (Some(&(api_off, _)), Some(&(prov_off, n))) =
            (offsets.get(&api_host), offsets.get(&issuer_host))
        else {
            continue;
        };
        // The API's now, by its clock.
        let judged = rec.time.unix_timestamp() + api_off;
        let not_before = claim(&dec.claims, "nbf").or_else(|| claim(&dec.claims, "iat"));
        let exp = claim(&dec.claims, "exp");
        let gap = prov_off - api_off;
        // Not yet valid at the API by as much as the two clocks differ.
        let early = not_before
            .map(|nb| nb - judged)
            .filter(|ahead| *ahead > TOLERANCE_SECS && (gap - ahead).abs() <= TOLERANCE_SECS);
        let (what, kind) = if let Some(ahead) = early {
            (
                format!("not valid yet by the API's clock: nbf/iat {ahead} s in its future"),
                "provider_ahead",
            )
        } else if let Some(e) = exp.filter(|e| judged > *e && judged - gap <= *e) {
            (
                format!(
                    "expired by the API's clock {} s ago, still valid by the provider's",
                    judged - e
                ),
                "api_ahead",
            )
        } else {
            continue;
        };
        out.push(Finding::new(
            i,
            code::DIAGNOSIS_CLOCK_SKEW
                .annotation(
                    format!(
                        "Record {} sent an access token the API refused as {what}. The provider's Date \
                         headers ({n} record{}) put its clock {} s {} the API's ({api_host}): the clocks \
                         disagree, not the token. Sync both hosts (NTP), or allow a clock skew in the \
                         API's token validation (ASP.NET JwtBearer ClockSkew, 5 min by default).",
                        rec.id,
                        if n == 1 { "" } else { "s" },
                        gap.abs(),
                        if gap > 0 { "ahead of" } else { "behind" },
                    ),
                    json!({
                        "kinds": [kind],
                        "record": rec.id,
                        "nbf_or_iat": not_before,
                        "exp": exp,
                        "api_judged_at": judged,
                        "provider_host": issuer_host,
                        "provider_offset_seconds": prov_off,
                        "api_host": api_host,
                        "api_offset_seconds": api_off,
                        "error": f.to_json(),
                        "fields": ["access_token.nbf", "access_token.iat", "access_token.exp", "response.headers.date", "time"],
                    }),
                )
                .about(format!("the access token was {what}")),
        ));
    }
}

/// Findings over one login.
pub fn diagnose(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let offsets = host_offsets(records);
    let mut out = Vec::new();
    api_judged(records, &offsets, &mut out);
    for (i, rec) in records.iter().enumerate() {
        let Some(token) = delivered_id_token(rec) else {
            continue;
        };
        let Ok(dec) = decode_unverified(&token) else {
            continue;
        };
        // The client holds it from the time it received it, by its clock.
        let got = if rec.kind == Kind::Callback {
            rec.time
        } else {
            received_at(rec)
        }
        .unix_timestamp();
        let (iat, exp) = (claim(&dec.claims, "iat"), claim(&dec.claims, "exp"));
        let ahead = iat.map(|t| t - got).filter(|d| *d > TOLERANCE_SECS);
        let expired = exp.map(|e| got - e).filter(|d| *d > 0);
        let (skew, what) = match (ahead, expired) {
            (Some(a), _) => (a, format!("issued {a} s in the client's future (iat)")),
            (None, Some(e)) => (
                -e,
                format!("already expired {e} s when the client got it (exp)"),
            ),
            _ => continue,
        };
        // The issuer's host: the token's `iss`, else the record's host.
        let issuer_host = dec
            .claims
            .get("iss")
            .and_then(Value::as_str)
            .and_then(host_of)
            .or_else(|| host_of(&rec.request.url))
            .unwrap_or_default();
        let provider_offset = offsets
            .get(&issuer_host)
            .or_else(|| offsets.get(&host_of(&rec.request.url).unwrap_or_default()))
            .copied();
        // The Date headers agree with the token: the clocks, not the token,
        // are off. Without a Date, the token alone says it.
        let agrees = provider_offset.is_some_and(|(o, _)| (o - skew).abs() <= TOLERANCE_SECS);
        if !agrees {
            // A stale or odd token with clocks that agree is the jwt rules'
            // (`jwt.expired`); a skew is claimed only when the Date headers
            // show it.
            continue;
        }
        let offsets_json: Map<String, Value> = offsets
            .iter()
            .map(|(h, (o, n))| (h.clone(), json!({"offset_seconds": o, "records": n})))
            .collect();
        let f = Failure::of(rec);
        out.push(Finding::new(
            i,
            code::DIAGNOSIS_CLOCK_SKEW
                .annotation(
                    format!(
                        "The ID token record {} delivered was {what}. {} A client compares iat and \
                         exp with its own clock (OIDC Core §3.1.3.7) and refuses a token issued in \
                         its future or already expired. Sync the clock of the machine the client \
                         runs on (NTP; a browser's clock is the computer's), or allow a clock \
                         tolerance in the client (openid-client `clockTolerance`, oidc-client-ts \
                         `clockSkewInSeconds`).",
                        rec.id,
                        match provider_offset {
                            Some((o, n)) => format!(
                                "The provider's Date headers ({n} record{}) put its clock {} s {} the \
                                 client's: the client's clock is off, not the token.",
                                if n == 1 { "" } else { "s" },
                                o.abs(),
                                if o > 0 { "ahead of" } else { "behind" }
                            ),
                            None => String::new(),
                        }
                    ),
                    json!({
                        "kinds": [if skew > 0 { "client_behind" } else { "client_ahead" }],
                        "record": rec.id,
                        "iat": iat,
                        "exp": exp,
                        "client_received_at": got,
                        "skew_seconds": skew,
                        "provider_host": issuer_host,
                        "provider_offset_seconds": provider_offset.map(|(o, _)| o),
                        "host_offsets": offsets_json,
                        "error": if f.is_empty() { Value::Null } else { f.to_json() },
                        "fields": ["id_token.iat", "id_token.exp", "response.headers.date", "time"],
                    }),
                )
                .about(format!("the ID token was {what}")),
        ));
    }
    out
}

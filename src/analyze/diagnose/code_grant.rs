//! `invalid_grant` (and its provider spellings) on an authorization-code
//! exchange: which of the known causes does the captured flow support?
//!
//! Causes checked, each from the records themselves (first-pass annotations
//! are used as extra evidence when present):
//! `diagnosis.code_expired`, `diagnosis.code_reused`,
//! `diagnosis.redirect_uri_mismatch`, `diagnosis.client_id_mismatch`,
//! `diagnosis.pkce_mismatch`, `diagnosis.access_denied`. Every supported
//! cause is emitted and the most likely one is marked; when none is,
//! `diagnosis.undetermined` lists what could not be checked and why.

use super::{
    authorize_for, authorize_params, code_deliveries, fingerprint, grant_type, token_client_id,
    token_succeeded, Failure,
};
use crate::analyze::login::Login;
use crate::analyze::params::{self, Params};
use crate::analyze::{AnalyzeOptions, Finding};
use crate::catalog::annotations::{self as code, Code};
use crate::record::{Annotation, Kind, Record};
use serde_json::{json, Value};

/// RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED."
pub const RFC_CODE_LIFETIME_SECS: i64 = crate::providers::RFC_CODE_LIFETIME.secs;

/// Error codes that mean "the authorization code grant was refused".
const GRANT_ERRORS: &[&str] = &[
    "invalid_grant",
    "bad_verification_code", // GitHub
    "invalid_code",          // Slack
    "bad_auth_code",         // HubSpot
    "redirect_uri_mismatch", // Google, GitHub at the token leg
    "bad_redirect_uri",      // Slack
];

/// Entra numbers that are code-grant refusals.
const GRANT_AADSTS: &[u32] = &[70008, 54005, 501481, 50148, 70000];

/// The code lifetime the provider's profile documents, if it has one.
fn documented_lifetime(token_url: &str) -> Option<crate::providers::CodeLifetime> {
    crate::providers::of_url(token_url).and_then(|p| p.code_lifetime)
}

/// The code lifetime a provider documents (provider id, seconds, source),
/// or the RFC's; from the provider's profile.
pub fn code_lifetime(token_url: &str) -> (Option<&'static str>, i64, &'static str) {
    let profile = crate::providers::of_url(token_url);
    let life = profile
        .map(|p| p.code_lifetime_or_rfc())
        .unwrap_or(crate::providers::RFC_CODE_LIFETIME);
    (profile.map(|p| p.id), life.secs, life.source)
}

/// True when `f` is a refusal of an authorization-code grant.
pub fn is_grant_failure(f: &Failure) -> bool {
    f.has(GRANT_ERRORS).is_some() || f.has_aadsts(GRANT_AADSTS).is_some()
}

/// One cause the evidence supports.
struct Cause {
    code: Code,
    score: u32,
    /// What this case is about, appended to the code's declared title.
    about: String,
    detail: String,
    evidence: Value,
}

/// Everything known about one failing code exchange.
struct Ctx<'a> {
    login: &'a Login<'a>,
    records: &'a [Record],
    index: usize,
    failure: Failure,
    /// The provider's error is one of the code-grant refusals; when false
    /// only record-proven causes (reuse, alteration) are looked for.
    grant_failure: bool,
    token_params: Params,
    code: Option<String>,
    deliveries: Vec<usize>,
    authorize: Option<usize>,
    authorize_params: Params,
}

impl Ctx<'_> {
    fn token(&self) -> &Record {
        &self.records[self.index]
    }
    /// RFC 6749 §3.1: a parameter sent without a value is omitted.
    fn tparam(&self, name: &str) -> Option<&str> {
        params::get(&self.token_params, name).filter(|v| !v.is_empty())
    }
    fn aparam(&self, name: &str) -> Option<&str> {
        params::get(&self.authorize_params, name).filter(|v| !v.is_empty())
    }
    fn authorize_id(&self) -> Option<&str> {
        self.authorize.map(|i| self.records[i].id.as_str())
    }
    fn first_pass(&self, code: &str) -> Option<&Annotation> {
        self.token().annotations.iter().find(|a| a.code == code)
    }
}

/// Diagnose every failing authorization-code exchange in `records`.
pub fn diagnose(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        if rec.kind != Kind::TokenRequest
            || grant_type(rec).as_deref() != Some("authorization_code")
        {
            continue;
        }
        let failure = Failure::of(rec);
        let grant_failure = is_grant_failure(&failure);
        if !grant_failure && token_succeeded(rec) {
            continue;
        }
        let token_params = params::request_params(rec);
        let code = params::get(&token_params, "code")
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        // Whatever the provider's words (Zoom says invalid_request), a code
        // redeemed before, or not the code delivered, is proven by the
        // records themselves.
        if !grant_failure {
            let proven = code.as_deref().is_some_and(|c| {
                earlier_exchanges(records, c, i)
                    .iter()
                    .any(|&j| token_succeeded(&records[j]))
                    || altered_from(records, c, i).is_some()
            });
            if !proven {
                continue;
            }
        }
        let deliveries = code
            .as_deref()
            .map(|c| code_deliveries(records, c, i))
            .unwrap_or_default();
        let authorize = deliveries
            .iter()
            .find_map(|&d| authorize_for(login, d))
            .or_else(|| {
                let flow = rec.flow.as_ref()?;
                (0..i).rev().find(|&j| {
                    records[j].kind == Kind::AuthorizeRequest
                        && records[j].flow.as_ref() == Some(flow)
                })
            });
        let authorize_params = authorize
            .map(|a| authorize_params(login, a))
            .unwrap_or_default();
        let ctx = Ctx {
            login,
            records,
            index: i,
            failure,
            grant_failure,
            token_params,
            code,
            deliveries,
            authorize,
            authorize_params,
        };
        out.extend(diagnose_one(&ctx));
    }
    out
}

fn diagnose_one(ctx: &Ctx) -> Vec<Finding> {
    let mut unchecked: Vec<Value> = Vec::new();
    let mut ruled_out: Vec<Value> = Vec::new();
    let mut causes: Vec<Cause> = Vec::new();
    causes.extend(code_reused(ctx, &mut ruled_out));
    causes.extend(code_altered(ctx));
    if ctx.grant_failure {
        causes.extend(code_expired(ctx, &mut unchecked, &mut ruled_out));
        causes.extend(redirect_uri(ctx, &mut unchecked, &mut ruled_out));
        causes.extend(client_id(ctx, &mut unchecked, &mut ruled_out));
        causes.extend(pkce(ctx, &mut unchecked, &mut ruled_out));
        causes.extend(access_denied(ctx));
    }

    let token = ctx.token();
    if causes.is_empty() && !ctx.grant_failure {
        return Vec::new();
    }
    if causes.is_empty() {
        if let Some(c) = expired_by_elimination(ctx, &unchecked, &ruled_out) {
            causes.push(c);
        } else {
            return vec![Finding::new(
                ctx.index,
                undetermined(ctx, unchecked, ruled_out),
            )];
        }
    }
    // Most likely first; stable so the check order breaks ties.
    causes.sort_by_key(|c| std::cmp::Reverse(c.score));
    let ranked: Vec<&str> = causes.iter().map(|c| c.code.code).collect();
    let n = causes.len();
    causes
        .into_iter()
        .enumerate()
        .map(|(rank, c)| {
            let mut evidence = c.evidence;
            evidence["token_request"] = Value::from(token.id.clone());
            evidence["error"] = ctx.failure.to_json();
            evidence["most_likely"] = Value::from(rank == 0);
            evidence["supported_causes"] = json!(ranked);
            let (about, detail) = if n == 1 {
                (c.about, c.detail)
            } else if rank == 0 {
                (
                    format!("{} (most likely cause)", c.about),
                    format!(
                        "{}\n\nThe evidence supports {n} causes ({}); this one is the most likely.",
                        c.detail,
                        ranked.join(", ")
                    ),
                )
            } else {
                (
                    c.about,
                    format!(
                        "{}\n\nThe evidence supports {n} causes ({}); {} is more likely, fix that first and check this one too.",
                        c.detail,
                        ranked.join(", "),
                        ranked[0]
                    ),
                )
            };
            // A cause reached by elimination is the likeliest, not a proven
            // one: a warning, never an error.
            let eliminated = evidence["by_elimination"] == Value::Bool(true);
            let annotation = c.code.annotation(detail, evidence).about(about);
            Finding::new(
                ctx.index,
                if eliminated {
                    annotation.with_severity(crate::record::Severity::Warning)
                } else {
                    annotation
                },
            )
        })
        .collect()
}

/// The causes of a refused code grant that the wire can check; when all of
/// them are ruled out, the one left open is the answer.
const WIRE_CHECKED: &[&str] = &[
    "code_reused",
    "redirect_uri_mismatch",
    "client_id_mismatch",
    "pkce_mismatch",
];

/// `code_expired` by elimination: the provider refused the code grant,
/// every cause the wire can check ([`WIRE_CHECKED`]) is ruled out by the
/// records, and the code's age is known but the provider's lifetime is not
/// (no profile, no discovery figure). The one open cause left is the code's
/// lifetime (RFC 6749 §4.1.2: "the authorization code MUST expire shortly
/// after it is issued"); it is ranked below any cause with direct evidence.
fn expired_by_elimination(ctx: &Ctx, unchecked: &[Value], ruled_out: &[Value]) -> Option<Cause> {
    let open = unchecked
        .iter()
        .find(|u| u.get("cause").and_then(Value::as_str) == Some("code_expired"))?;
    let age = open.get("code_age_seconds").and_then(Value::as_i64)?;
    if unchecked.len() != 1 {
        return None;
    }
    let out: Vec<&str> = ruled_out
        .iter()
        .filter_map(|r| r.get("cause").and_then(Value::as_str))
        .collect();
    if !WIRE_CHECKED.iter().all(|c| out.contains(c)) {
        return None;
    }
    let token = ctx.token();
    let delivered = ctx.deliveries.first().map(|&d| ctx.records[d].id.clone());
    Some(Cause {
        code: code::DIAGNOSIS_CODE_EXPIRED,
        score: 30,
        about: format!("{} old when exchanged; every other cause ruled out", describe_age(age)),
        detail: format!(
            "The provider refused a code {age} s after {} delivered it, and the records rule out every other \
             cause they can check: {}. This provider's code lifetime is not known to oauthscope, and lifetimes \
             are settings that can be seconds (oidc-provider ttl.AuthorizationCode, Keycloak \"Client login \
             timeout\"). Exchange the code as soon as the callback arrives (no user interaction, queue or retry \
             in between) and check the provider's code lifetime setting.",
            delivered.as_deref().map(|d| format!("record {d}")).unwrap_or_else(|| "the callback".into()),
            out.join(", ")
        ),
        evidence: json!({
            "code_age_seconds": age,
            "code_delivered_by": delivered,
            "by_elimination": true,
            "ruled_out": ruled_out,
            "token_request_id": token.id,
            "fields": ["time"],
        }),
    })
}

fn describe_age(secs: i64) -> String {
    if secs >= 120 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

fn code_expired(
    ctx: &Ctx,
    unchecked: &mut Vec<Value>,
    ruled_out: &mut Vec<Value>,
) -> Option<Cause> {
    let token = ctx.token();
    let (prov, limit, limit_source) = code_lifetime(&token.request.url);
    let explicit = ctx
        .failure
        .says(&["code is expired", "code has expired", "code expired"])
        .or_else(|| {
            ctx.failure
                .has_aadsts(&[70008])
                .map(|n| format!("AADSTS{n}"))
        });
    let issued = ctx.deliveries.first().copied();
    // Rounded to the second: the redirect's own duration is milliseconds.
    let age = issued.map(|d| {
        (token.time - super::delivered_at(&ctx.records[d]))
            .as_seconds_f64()
            .round() as i64
    });
    let supported_by_age = age.is_some_and(|a| a > limit);
    // RFC 6749 §4.1.2's 600 s is a recommended *maximum*, not a lifetime:
    // without the provider's own figure, a young code is not ruled out.
    let documented = documented_lifetime(&token.request.url).is_some();
    if !supported_by_age && explicit.is_none() {
        match age {
            Some(a) if documented => ruled_out.push(json!({
                "cause": "code_expired",
                "why": format!("the code was {a} s old when exchanged, within this provider's {limit} s lifetime ({limit_source})"),
            })),
            // Without the provider's own figure nothing rules expiry out:
            // lifetimes are settings (oidc-provider's ttl.AuthorizationCode,
            // Keycloak's "Client login timeout") and can be seconds.
            Some(a) => unchecked.push(json!({
                "cause": "code_expired",
                "why": format!(
                    "the code was {a} s old when exchanged; this provider's code lifetime is not known \
                     (RFC 6749 §4.1.2 recommends at most {limit} s; Keycloak and oidc-provider default to 60 s \
                     and both can be set shorter)"
                ),
                "code_age_seconds": a,
            })),
            None => unchecked.push(json!({
                "cause": "code_expired",
                "why": no_delivery_reason(ctx),
            })),
        }
        return None;
    }
    let issued_id = issued.map(|d| ctx.records[d].id.clone());
    let mut evidence = json!({
        "limit_seconds": limit,
        "limit_source": limit_source,
        "provider": prov,
        "fields": ["time"],
    });
    if let (Some(a), Some(id)) = (age, &issued_id) {
        evidence["code_age_seconds"] = json!(a);
        evidence["code_delivered_by"] = json!(id);
        evidence["code_delivered_at"] =
            json!(super::delivered_at(&ctx.records[issued.unwrap_or(0)])
                .format(&time::format_description::well_known::Rfc3339)
                .ok());
    }
    if let Some(e) = &explicit {
        evidence["provider_says"] = json!(e);
    }
    let (title, score) = match age {
        Some(a) if supported_by_age => (
            format!("{} old when exchanged", describe_age(a)),
            if a > 2 * limit { 70 } else { 60 } + hint(ctx, &["expired"], &[]),
        ),
        Some(a) => (
            format!("the provider says so, {a} s after it was issued"),
            80,
        ),
        None => ("the provider says so".to_string(), 80),
    };
    let age_text = match (age, &issued_id) {
        (Some(a), Some(id)) => format!(
            "The code was delivered by record {id} and exchanged by record {} {a} s later; the limit is {limit} s ({limit_source}). ",
            token.id
        ),
        _ => String::new(),
    };
    Some(Cause {
        code: code::DIAGNOSIS_CODE_EXPIRED,
        score,
        about: title,
        detail: format!(
            "{age_text}Authorization codes are short-lived and must be exchanged right after the callback. \
             Exchange the code as soon as the callback arrives (no user interaction, queue or retry in between), \
             check that the client's and server's clocks agree, and start a new login to get a fresh code."
        ),
        evidence,
    })
}

fn no_delivery_reason(ctx: &Ctx) -> String {
    let ru = ctx
        .tparam("redirect_uri")
        .or_else(|| ctx.aparam("redirect_uri"))
        .map(str::to_string);
    if let Some(ru) = ru.filter(|r| is_loopback(r)) {
        return format!(
            "no authorization response or callback with this code was captured: the code went to the loopback redirect URI {ru}, \
             which the browser calls directly, outside the proxy; code age unknown"
        );
    }
    "no authorization response or callback with this code was captured: code age unknown"
        .to_string()
}

fn is_loopback(uri: &str) -> bool {
    url::Url::parse(uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|h| h == "localhost" || h == "127.0.0.1" || h == "[::1]")
}

/// Bonus when the provider's description points at this cause.
fn hint(ctx: &Ctx, words: &[&str], aadsts: &[u32]) -> u32 {
    if ctx.failure.says(words).is_some() || ctx.failure.has_aadsts(aadsts).is_some() {
        20
    } else {
        0
    }
}

/// Earlier authorization-code exchanges (indices) that sent `code`.
fn earlier_exchanges(records: &[Record], code: &str, before: usize) -> Vec<usize> {
    (0..before)
        .filter(|&j| {
            let r = &records[j];
            r.kind == Kind::TokenRequest
                && grant_type(r).as_deref() == Some("authorization_code")
                && params::get(&params::request_params(r), "code") == Some(code)
        })
        .collect()
}

/// How a sent code differs from a delivered one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Alteration {
    /// The record that delivered the original code.
    delivery: usize,
    /// The delivered code.
    delivered: String,
    /// `suffix`, `prefix`, `truncated`, `url_encoded`, `decoded`, `whitespace`.
    how: &'static str,
    /// The characters added or removed, when that is not the secret itself.
    difference: Option<String>,
}

/// The delivered code that `sent` is an altered copy of, if any: `sent`
/// is no delivered code, but a delivered code with something appended
/// (`CODE&scope=read`), prepended, cut short, still URL-encoded, decoded
/// once too often (`+` read as a space), or wrapped in whitespace.
fn altered_from(records: &[Record], sent: &str, before: usize) -> Option<Alteration> {
    let delivered: Vec<(usize, String)> = records[..before]
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            crate::analyze::authorize::authorization_response(r).and_then(|a| {
                params::get(&a.params, "code")
                    .filter(|c| !c.is_empty())
                    .map(|c| (i, c.to_string()))
            })
        })
        .collect();
    if delivered.iter().any(|(_, c)| c == sent) {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let variant = delivered.iter().find_map(|(i, d)| {
        let (i, d) = (*i, d.clone());
        let (how, difference) = if sent.trim() == d {
            ("whitespace", None)
        } else if sent.len() > d.len() && sent.starts_with(&d) {
            ("suffix", Some(sent[d.len()..].to_string()))
        } else if sent.len() > d.len() && sent.ends_with(&d) {
            ("prefix", Some(sent[..sent.len() - d.len()].to_string()))
        } else if !sent.is_empty() && sent.len() < d.len() && d.starts_with(sent) {
            (
                "truncated",
                Some(format!("{} characters missing", d.len() - sent.len())),
            )
        } else if decode(sent) == d {
            ("url_encoded", None)
        } else if sent == decode(&d) || sent == d.replace('+', " ") {
            ("decoded", None)
        } else {
            return None;
        };
        Some(Alteration {
            delivery: i,
            delivered: d,
            how,
            difference,
        })
    });
    if variant.is_some() {
        return variant;
    }
    // Replaced: the login delivered exactly one code that no earlier token
    // request redeemed, and this one sent a code no delivery carried (a
    // placeholder left in a config, a value from another environment).
    let redeemed: Vec<String> = records[..before]
        .iter()
        .filter(|r| r.kind == Kind::TokenRequest)
        .filter_map(|r| params::get(&params::request_params(r), "code").map(str::to_string))
        .collect();
    // One code delivered twice (the provider's redirect and the callback
    // it led to) is one delivery.
    let mut open: Vec<&(usize, String)> = Vec::new();
    for d in delivered.iter().filter(|(_, c)| !redeemed.contains(c)) {
        if !open.iter().any(|o| o.1 == d.1) {
            open.push(d);
        }
    }
    match open.as_slice() {
        [(i, d)] if !sent.is_empty() => Some(Alteration {
            delivery: *i,
            delivered: d.clone(),
            how: "replaced",
            difference: Some(format!(
                "{} characters sent, {} delivered",
                sent.chars().count(),
                d.chars().count()
            )),
        }),
        _ => None,
    }
}

fn code_altered(ctx: &Ctx) -> Option<Cause> {
    let sent = ctx.code.as_deref()?;
    let alt = altered_from(ctx.records, sent, ctx.index)?;
    let what = match alt.how {
        "suffix" => format!(
            "with `{}` appended",
            alt.difference.as_deref().unwrap_or_default()
        ),
        "prefix" => format!(
            "with `{}` in front",
            alt.difference.as_deref().unwrap_or_default()
        ),
        "truncated" => format!(
            "cut short ({})",
            alt.difference.as_deref().unwrap_or_default()
        ),
        "url_encoded" => "still URL-encoded (percent-escapes not decoded)".to_string(),
        "decoded" => "decoded once too often ('+' or %XX turned into other characters)".to_string(),
        "replaced" => format!(
            "as a code no delivery carried ({}): a placeholder, or another login's or environment's code",
            alt.difference.as_deref().unwrap_or_default()
        ),
        _ => "with surrounding whitespace".to_string(),
    };
    let delivery = &ctx.records[alt.delivery];
    Some(Cause {
        code: code::DIAGNOSIS_CODE_ALTERED,
        score: 97,
        about: if alt.how == "replaced" {
            format!(
                "another code was sent ({})",
                alt.difference.as_deref().unwrap_or_default()
            )
        } else {
            format!("it was sent {what}")
        },
        detail: format!(
            "Record {} delivered the authorization code; the token request sent it {what}. The provider cannot find a code that was never issued. Take the `code` parameter from the callback with a URL parser (not by cutting the URL by hand), decode it exactly once, and send it unchanged.",
            delivery.id
        ),
        evidence: json!({
            "kinds": [alt.how],
            "delivered_by": delivery.id,
            "delivered": fingerprint(&alt.delivered),
            "sent": fingerprint(sent),
            "difference": alt.difference,
            "fields": ["request.body.code", "response.headers.location.code"],
        }),
    })
}

fn code_reused(ctx: &Ctx, ruled_out: &mut Vec<Value>) -> Option<Cause> {
    let code = ctx.code.as_deref();
    let earlier: Vec<usize> = match code {
        Some(code) => earlier_exchanges(ctx.records, code, ctx.index),
        None => Vec::new(),
    };
    let said = ctx
        .failure
        .says(&[
            "already redeemed",
            "already been used",
            "already used",
            "code was already",
        ])
        .or_else(|| {
            ctx.failure
                .has_aadsts(&[54005])
                .map(|n| format!("AADSTS{n}"))
        });
    let token = ctx.token();
    // Only a successful earlier exchange redeemed the code: one that failed
    // (a wrong secret, a network error) left it unused.
    let redeemed: Vec<usize> = earlier
        .iter()
        .copied()
        .filter(|&j| token_succeeded(&ctx.records[j]))
        .collect();
    if redeemed.is_empty() && !earlier.is_empty() {
        ruled_out.push(json!({
            "cause": "code_reused",
            "why": "earlier exchanges of this code failed, so it was never redeemed (RFC 6749 §4.1.2); some providers (Keycloak) invalidate a code on any attempt: then what made the first exchange fail is the cause",
            "earlier_exchanges": super::ids(ctx.records, &earlier),
        }));
    }
    if let Some(&first) = redeemed.first() {
        // `redeemed` holds successful exchanges only: a failed one is not reuse.
        let first_rec = &ctx.records[first];
        let status = first_rec.response.as_ref().map(|r| r.status);
        return Some(Cause {
            code: code::DIAGNOSIS_CODE_REUSED,
            score: 95 + hint(ctx, &["already"], &[54005]),
            about: "an earlier exchange of it succeeded".to_string(),
            detail: format!(
                "Record {} exchanged the same code {} s earlier and got tokens. A code is single-use (RFC 6749 §4.1.2): \
                 the second exchange is refused and the server may revoke the tokens of the first. \
                 Find the second caller (a double callback, a page reload, a retry, or a framework that \
                 redeems the code while your own code does too) and exchange each code once; keep the tokens \
                 from the first exchange.",
                first_rec.id,
                (token.time - first_rec.time).whole_seconds(),
            ),
            evidence: json!({
                "first_exchange": first_rec.id,
                "first_exchange_succeeded": true,
                "first_exchange_status": status,
                "earlier_exchanges": super::ids(ctx.records, &earlier),
                "code": fingerprint(code.unwrap_or_default()),
                "fields": ["request.body.code"],
            }),
        });
    }
    if let Some(s) = said {
        return Some(Cause {
            code: code::DIAGNOSIS_CODE_REUSED,
            score: 85,
            about: "the provider says so".to_string(),
            detail: format!(
                "The error says \"{s}\", but the earlier exchange is not in the capture (it went another way, \
                 e.g. a server-side middleware). Exchange each code once: often a framework (ASP.NET OIDC \
                 middleware, MSAL) and the app's own code both redeem it."
            ),
            evidence: json!({ "provider_says": s, "fields": ["response.body.error_description"] }),
        });
    }
    if code.is_some() && earlier.is_empty() {
        ruled_out.push(json!({
            "cause": "code_reused",
            "why": "no earlier token request in the capture sent this code (an exchange outside the proxy cannot be seen)",
        }));
    }
    None
}

/// The ways two redirect URIs differ (the kinds of docs/record-format.md), computed on the raw
/// strings by the same diff the `redirect_uri` rule uses.
pub fn redirect_differences(expected: &str, actual: &str) -> Vec<&'static str> {
    if expected == actual {
        return Vec::new();
    }
    let kinds = crate::analyze::redirect_uri::diff(expected, actual).kind_codes();
    if kinds.is_empty() {
        vec!["other"]
    } else {
        kinds
    }
}

fn redirect_uri(
    ctx: &Ctx,
    unchecked: &mut Vec<Value>,
    ruled_out: &mut Vec<Value>,
) -> Option<Cause> {
    let first_pass = ctx
        .first_pass("redirect_uri.mismatch")
        .or_else(|| ctx.first_pass("redirect_uri.missing"));
    let mut kinds: Vec<String> = first_pass
        .and_then(|a| a.evidence.get("kinds"))
        .and_then(Value::as_array)
        .map(|k| {
            k.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if first_pass.is_some_and(|a| a.code == "redirect_uri.missing")
        && !kinds.contains(&"missing".to_string())
    {
        kinds.push("missing".into());
    }
    let t = ctx.tparam("redirect_uri");
    let (mut expected, mut actual) = (None, t.map(str::to_string));
    if ctx.authorize.is_some() {
        let a = ctx.aparam("redirect_uri");
        expected = a.map(str::to_string);
        let own: Vec<&str> = match (a, t) {
            (Some(a), Some(t)) => redirect_differences(a, t),
            (Some(_), None)
                if crate::providers::of_url(&ctx.token().request.url)
                    .is_some_and(|p| p.has(crate::providers::Quirk::TokenRedirectUriOptional)) =>
            {
                ruled_out.push(json!({
                    "cause": "redirect_uri_mismatch",
                    "why": "this provider's token endpoint does not need the redirect_uri (its absence is normal)",
                }));
                return None;
            }
            (Some(_), None) => vec!["missing"],
            (None, Some(_)) => vec!["not_in_authorize"],
            (None, None) => vec![],
        };
        for k in own {
            if !kinds.iter().any(|x| x == k) {
                kinds.push(k.to_string());
            }
        }
    } else if first_pass.is_none() {
        if let Some(c) = redirect_reported(ctx, false) {
            return Some(c);
        }
        unchecked.push(json!({
            "cause": "redirect_uri_mismatch",
            "why": "no authorize request captured for this code: redirect_uri cannot be compared",
        }));
        return None;
    }
    if kinds.is_empty() {
        if let Some(c) = redirect_reported(ctx, true) {
            return Some(c);
        }
        ruled_out.push(json!({
            "cause": "redirect_uri_mismatch",
            "why": "the token request's redirect_uri is identical to the authorize request's",
        }));
        return None;
    }
    if let Some(a) = first_pass {
        if expected.is_none() {
            expected = a
                .evidence
                .get("expected")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        if actual.is_none() {
            actual = a
                .evidence
                .get("actual")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
    }
    let only_default = kinds == ["not_in_authorize"];
    let base = if only_default {
        40
    } else if kinds == ["missing"] {
        70
    } else {
        75
    };
    let title = if kinds.iter().any(|k| k == "missing") {
        "the token request left it out".to_string()
    } else if only_default {
        "the token request sent one the authorize request did not".to_string()
    } else {
        kinds
            .iter()
            .map(|k| k.replace('_', " "))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(Cause {
        code: code::DIAGNOSIS_REDIRECT_URI_MISMATCH,
        score: base + hint(ctx, &["redirect"], &[]),
        about: title,
        detail: format!(
            "The code is bound to the redirect_uri of the authorize request, and the token request must send \
             the identical string (RFC 6749 §4.1.3), character for character. Authorize sent {}, the token \
             request sent {}. Send the same value in both legs: build it once from configuration, not from \
             the incoming request (proxies change scheme, host and port).",
            expected.as_deref().map(|s| format!("{s:?}")).unwrap_or_else(|| "none".into()),
            actual.as_deref().map(|s| format!("{s:?}")).unwrap_or_else(|| "none".into()),
        ),
        evidence: json!({
            "authorize_request": ctx.authorize_id(),
            "kinds": kinds,
            "expected": expected,
            "actual": actual,
            "first_pass": first_pass.map(|a| a.code.clone()),
            "fields": ["authorize.query.redirect_uri", "request.body.redirect_uri"],
        }),
    })
}

/// The provider itself says the redirect URI does not match (Google, GitHub,
/// Slack at the token leg) while the legs are identical or not comparable.
fn redirect_reported(ctx: &Ctx, legs_identical: bool) -> Option<Cause> {
    let code = ctx
        .failure
        .has(&["redirect_uri_mismatch", "bad_redirect_uri"])?
        .to_string();
    let sent = ctx.tparam("redirect_uri");
    let detail = if legs_identical {
        format!(
            "The provider answered {code}, yet both legs send the same redirect_uri ({:?}). The URI is then \
             most likely not in the app's registered redirect URIs, which are compared exactly (scheme, host, \
             port, path case, trailing slash). Register this exact value, or send the registered one in both legs.",
            sent.unwrap_or("none")
        )
    } else {
        format!(
            "The provider answered {code}. No authorize request was captured to compare with: send the \
             identical redirect_uri in the authorize and token requests, and check it is registered exactly \
             (the token request sent {:?}).",
            sent.unwrap_or("none")
        )
    };
    Some(Cause {
        code: code::DIAGNOSIS_REDIRECT_URI_MISMATCH,
        score: 75,
        about: format!("the provider says so ({code})"),
        detail,
        evidence: json!({
            "authorize_request": ctx.authorize_id(),
            "kinds": [],
            "legs_identical": legs_identical,
            "actual": sent,
            "provider_says": code,
            "fields": ["response.body.error", "request.body.redirect_uri"],
        }),
    })
}

fn client_id(ctx: &Ctx, unchecked: &mut Vec<Value>, ruled_out: &mut Vec<Value>) -> Option<Cause> {
    let first_pass = ctx.first_pass("client_id.mismatch");
    let token_id = token_client_id(ctx.token());
    let auth_id = ctx.aparam("client_id");
    let mut kind = None;
    match (auth_id, &token_id) {
        (Some(a), Some((t, _))) if a != t => {
            kind = Some(crate::analyze::client_id::difference(a, t));
        }
        (Some(_), Some(_)) => {}
        _ if first_pass.is_none() => {
            unchecked.push(json!({
                "cause": "client_id_mismatch",
                "why": if auth_id.is_none() {
                    "no authorize request captured for this code: client_id cannot be compared"
                } else {
                    "the token request carries no client_id (body or Basic header)"
                },
            }));
            return None;
        }
        _ => {}
    }
    if kind.is_none() && first_pass.is_none() {
        ruled_out.push(json!({
            "cause": "client_id_mismatch",
            "why": "the token request's client_id equals the authorize request's",
        }));
        return None;
    }
    Some(Cause {
        code: code::DIAGNOSIS_CLIENT_ID_MISMATCH,
        score: 70 + hint(ctx, &["client"], &[700005]),
        about: "the code was issued to another client".to_string(),
        detail: format!(
            "The authorize request used client_id {:?} and the token request {:?}{}. A code is bound to the \
             client it was issued to; use the same application's credentials in both legs (check for \
             swapped environments, a second app registration, or stray whitespace in configuration).",
            auth_id.unwrap_or("?"),
            token_id.as_ref().map(|t| t.0.as_str()).unwrap_or("?"),
            token_id.as_ref().map(|t| format!(" (from {})", t.1)).unwrap_or_default(),
        ),
        evidence: json!({
            "authorize_request": ctx.authorize_id(),
            "expected": auth_id,
            "actual": token_id.as_ref().map(|t| t.0.clone()),
            "kind": kind,
            "first_pass": first_pass.map(|a| a.code.clone()),
            "fields": ["authorize.query.client_id", token_id.as_ref().map(|t| t.1).unwrap_or("request.body.client_id")],
        }),
    })
}

fn pkce(ctx: &Ctx, unchecked: &mut Vec<Value>, ruled_out: &mut Vec<Value>) -> Option<Cause> {
    let first_pass = ctx
        .first_pass("pkce.mismatch")
        .or_else(|| ctx.first_pass("pkce.verifier_missing"));
    let verifier = ctx.tparam("code_verifier");
    let challenge = ctx.aparam("code_challenge");
    let method = ctx.aparam("code_challenge_method").unwrap_or("plain");
    let mut evidence = json!({
        "authorize_request": ctx.authorize_id(),
        "code_challenge": challenge,
        "code_challenge_method": ctx.aparam("code_challenge_method"),
        "verifier_sent": verifier.is_some(),
        "first_pass": first_pass.map(|a| a.code.clone()),
        "fields": ["authorize.query.code_challenge", "authorize.query.code_challenge_method", "request.body.code_verifier"],
    });
    let hinted = hint(
        ctx,
        &["verifier", "pkce", "code_challenge"],
        &[501481, 50148],
    );
    let (kind, score, title, detail) = match (ctx.authorize.is_some(), challenge, verifier) {
        (true, Some(c), Some(v)) if crate::redact::is_redacted(c) || crate::redact::is_redacted(v) => {
            unchecked.push(json!({
                "cause": "pkce_mismatch",
                "why": "the code_verifier or code_challenge is redacted (an export): S256 cannot be recomputed",
            }));
            return None;
        }
        (true, Some(c), Some(v)) => {
            let Some(computed) = crate::analyze::pkce::challenge_for(method, v) else {
                unchecked.push(json!({
                    "cause": "pkce_mismatch",
                    "why": format!("code_challenge_method {method:?} is neither S256 nor plain (see pkce.method_unknown)"),
                }));
                return None;
            };
            if computed == c {
                ruled_out.push(json!({
                    "cause": "pkce_mismatch",
                    "why": format!("the verifier's {method} equals the code_challenge"),
                }));
                return None;
            }
            evidence["computed_challenge"] = json!(computed);
            evidence["verifier_length"] = json!(v.len());
            (
                "mismatch",
                85 + hinted,
                "the verifier's hash is not the challenge".to_string(),
                format!(
                    "{method}(code_verifier) is {computed:?} but the authorize request sent code_challenge {c:?}. \
                     The verifier must be the exact one generated for this login: it is often regenerated on a \
                     second page load or lost across server instances, or the challenge was encoded wrongly \
                     (S256 is BASE64URL of the raw SHA-256, no padding, 43 characters)."
                ),
            )
        }
        (true, Some(c), None) => (
            "verifier_missing",
            80 + hinted,
            "no code_verifier sent".to_string(),
            format!(
                "The authorize request sent code_challenge {c:?}, so the server requires the matching \
                 code_verifier at the token endpoint (RFC 7636 §4.5). Keep the verifier generated for this \
                 login (session or secure storage) and send it with the code."
            ),
        ),
        (true, None, Some(_)) => (
            "verifier_without_challenge",
            35 + hinted,
            "a code_verifier without a code_challenge at authorize".to_string(),
            "Some servers (Keycloak: \"PKCE code verifier specified but challenge not present in authorization\") \
             refuse a verifier the authorize request did not announce. Send the code_challenge at authorize, \
             or no verifier."
                .to_string(),
        ),
        (false, _, _) if first_pass.is_some() => {
            let a = first_pass?;
            let missing = a.code == "pkce.verifier_missing";
            for k in ["expected", "actual", "computed"] {
                if let Some(v) = a.evidence.get(k) {
                    evidence[k] = v.clone();
                }
            }
            (
                if missing { "verifier_missing" } else { "mismatch" },
                80 + hinted,
                if missing {
                    "no code_verifier sent".to_string()
                } else {
                    "the verifier's hash is not the challenge".to_string()
                },
                a.detail.clone(),
            )
        }
        (false, _, _) => {
            unchecked.push(json!({
                "cause": "pkce_mismatch",
                "why": "no authorize request captured for this code: the code_challenge is unknown",
            }));
            return None;
        }
        (true, None, None) => {
            ruled_out.push(json!({ "cause": "pkce_mismatch", "why": "PKCE was not used" }));
            return None;
        }
    };
    evidence["kind"] = json!(kind);
    Some(Cause {
        code: code::DIAGNOSIS_PKCE_MISMATCH,
        score,
        about: title,
        detail,
        evidence,
    })
}

fn access_denied(ctx: &Ctx) -> Option<Cause> {
    let records = ctx.records;
    let login = ctx.login;
    // The latest authorization result (code or error delivered) before the token request.
    let last = (0..ctx.index).rev().find(|&j| {
        let r = &records[j];
        let p = match r.kind {
            Kind::AuthorizationResponse | Kind::AuthorizeRequest | Kind::ProviderPage => {
                params::location_params(r)
            }
            Kind::Callback => params::request_params(r),
            _ => return false,
        };
        params::get(&p, "code").is_some() || params::get(&p, "error").is_some()
    })?;
    let denial = &records[last];
    let f = Failure::of(denial);
    let said = f.has(&["access_denied"])?.to_string();
    if ctx.deliveries.iter().any(|&d| d > last) {
        return None;
    }
    // Another client's login is not this one's.
    let denial_client = authorize_for(login, last)
        .and_then(|a| params::get(&authorize_params(login, a), "client_id").map(str::to_string));
    let token_client = token_client_id(ctx.token()).map(|t| t.0);
    if let (Some(a), Some(b)) = (&denial_client, &token_client) {
        if a != b {
            return None;
        }
    }
    Some(Cause {
        code: code::DIAGNOSIS_ACCESS_DENIED,
        score: 90,
        about: "yet the app exchanged a code".to_string(),
        detail: format!(
            "Record {} carried error={said} back to the app{}: the user (or a policy, e.g. a Google app in \
             Testing mode and a user who is not a test user) refused the request, so no code was issued for \
             this login and the code the app sent is stale or empty. Handle the error on the callback \
             (show it, offer to retry) instead of calling the token endpoint.",
            denial.id,
            f.descriptions.first().map(|d| format!(" ({d})")).unwrap_or_default(),
        ),
        evidence: json!({
            "denied_by": denial.id,
            "denial_error": said,
            "denial_description": f.descriptions.first(),
            "code_delivered": !ctx.deliveries.is_empty(),
            "fields": ["location.error", "callback.query.error"],
        }),
    })
}

fn undetermined(ctx: &Ctx, mut unchecked: Vec<Value>, ruled_out: Vec<Value>) -> Annotation {
    unchecked.push(json!({
        "cause": "provider_side",
        "why": "causes the wire does not show: a code issued to another tenant or realm, a session ended between \
                authorize and token (Keycloak \"Session not active\"), a mangled or still-encoded code, clock skew",
    }));
    let code = ctx.failure.main_code();
    let list = unchecked
        .iter()
        .filter_map(|u| {
            Some(format!(
                "{}: {}",
                u.get("cause")?.as_str()?,
                u.get("why")?.as_str()?
            ))
        })
        .collect::<Vec<_>>()
        .join("; ");
    let checked: Vec<String> = ruled_out
        .iter()
        .filter_map(|r| r.get("cause").and_then(Value::as_str).map(str::to_string))
        .collect();
    // Only when the capture really lacks the login's start.
    let capture_more = if ctx.authorize.is_none() || ctx.deliveries.is_empty() {
        " Capture the whole login through the proxy (authorize request, redirect and callback) to let \
         the analysis compare the legs."
    } else {
        ""
    };
    code::DIAGNOSIS_UNDETERMINED.annotation(
format!(
            "None of the known causes of {code} is supported by the captured records. Not checked: {list}.{capture_more}"
        ),
json!({
            "token_request": ctx.token().id,
            "error": ctx.failure.to_json(),
            "code": ctx.code.as_deref().map(fingerprint),
            "authorize_request": ctx.authorize_id(),
            "unchecked": unchecked,
            "ruled_out": ruled_out,
        }),
).about(super::undetermined_about(ctx.token(), &ctx.failure, "The code exchange", &checked))
}

//! Evidence-first diagnoses over the [`Login`] model: each starts from what
//! the records prove (a value issued as one kind and sent as another, poll
//! gaps against the interval in force, two authorize requests and the state
//! cookie the callback carried, a credential sent where the provider does
//! not read it) and uses the provider's words as support, never as the
//! trigger alone.
//!
//! - `diagnosis.token_kind_swapped` (RFC 6749 §6: a refresh request sends a
//!   refresh token; anything else the client was issued is refused);
//! - `diagnosis.client_auth_method_rejected` (RFC 6749 §2.3.1: servers
//!   support Basic and may also read the body; providers differ);
//! - `diagnosis.public_client_not_allowed` (no secret sent on a grant that
//!   needs a confidential client);
//! - `diagnosis.polling_too_fast` (RFC 8628 §3.5: wait `interval` seconds,
//!   5 by default, plus 5 more after each `slow_down`);
//! - `diagnosis.endpoint_version_mismatch` (Slack v1/v2, Entra v1.0/v2.0);
//! - `diagnosis.grant_type_not_enabled` from the authorize leg
//!   (RFC 6749 §4.1.2.1 `unauthorized_client` redirected back);
//! - `diagnosis.concurrent_logins` (a later authorize request replaced the
//!   state the callback needed);
//! - `diagnosis.cookie_host_mismatch` (RFC 6265 §5.4: a host-only cookie
//!   goes back only to the host that set it) and `diagnosis.state_cookie_lost`
//!   (SameSite keeps it off cross-site POSTs, and Strict off cross-site
//!   navigations);
//! - `diagnosis.pkce_required` (RFC 7636 §4.4.1 / OAuth 2.1: the provider
//!   wants a `code_challenge` this authorize request did not send);
//! - `diagnosis.clock_skew` (RFC 7523 §3: `exp`/`iat`/`nbf` of a client-made
//!   JWT against the server's `Date`);
//! - `client_auth.secret_jwt_lifetime` (a `client_secret` that is itself a
//!   JWT, as Sign in with Apple requires: at most six months).

use super::{fingerprint, ids, Failure};
use crate::analyze::jose::decode_unverified;
use crate::analyze::login::{Exchange, IssuedKind, Login};
use crate::analyze::params;
use crate::analyze::Finding;
use crate::catalog::annotations as code;
use crate::providers::{self, Quirk};
use crate::record::{Kind, Record, Severity};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// Every evidence-first diagnosis over one flow.
pub fn diagnose(login: &Login) -> Vec<Finding> {
    let mut out = Vec::new();
    for ex in &login.exchanges {
        out.extend(token_kind_swapped(login, ex));
        out.extend(client_auth(login, ex));
        out.extend(clock_skew(login, ex));
        out.extend(secret_jwt_lifetime(login, ex));
        out.extend(grant_type_missing(login, ex));
    }
    out.extend(polling_too_fast(login));
    out.extend(endpoint_version_mismatch(login));
    out.extend(authorize_leg_errors(login));
    out.extend(concurrent_logins(login));
    out.extend(cookie_host_mismatch(login));
    out
}

fn failed(ex: &Exchange) -> bool {
    !ex.succeeded
}

/// The kind a value sent under `param` must have been issued as.
fn expected_kind(param: &str) -> Option<IssuedKind> {
    Some(match param {
        "refresh_token" => IssuedKind::RefreshToken,
        "code" => IssuedKind::Code,
        "device_code" => IssuedKind::DeviceCode,
        _ => return None,
    })
}

fn token_kind_swapped(login: &Login, ex: &Exchange) -> Option<Finding> {
    if !failed(ex) {
        return None;
    }
    for param in [
        "refresh_token",
        "code",
        "device_code",
        "assertion",
        "subject_token",
    ] {
        let Some(value) = ex.get(param) else { continue };
        let issuers = login.issuers(value, ex.record);
        if issuers.is_empty() {
            continue;
        }
        let want = expected_kind(param);
        if want.is_some_and(|k| issuers.iter().any(|i| i.kind == k)) {
            continue;
        }
        let first = issuers[0];
        let issuer = &login.records[first.record];
        let issued_as = first.kind.param();
        let rec = &login.records[ex.record];
        return Some(Finding::new(
            ex.record,
            code::DIAGNOSIS_TOKEN_KIND_SWAPPED.annotation(
format!(
                    "Record {} issued this value in {} ({issued_as}); record {} sent it back as `{param}`. \
                     The provider cannot accept one kind of token for another, so it refuses the request. \
                     The app stores or reads its tokens under the wrong names: persist the refresh_token \
                     field of the token response as the refresh token (and the access_token as the access \
                     token), then send the stored refresh token.",
                    issuer.id, first.field, rec.id
                ),
json!({
                    "kinds": [format!("{issued_as}_as_{param}")],
                    "sent_as": param,
                    "issued_as": issued_as,
                    "issued_by": issuer.id,
                    "issued_field": first.field,
                    "value": fingerprint(value),
                    "error": ex.failure.to_json(),
                    "fields": [format!("request.body.{param}"), first.field.to_string()],
                }),
).about(format!("sent as {param}, issued as the {issued_as}")),
        ));
    }
    None
}

/// Credential parameter names a provider's error may say are missing.
const CREDENTIALS: &[&str] = &["client_secret", "client_id", "client_assertion"];

/// Phrases of "this parameter is missing".
const MISSING: &[&str] = &[
    "missing",
    "required",
    "must contain",
    "must be present",
    "not found in the request",
];

/// True when a provider's description says parameter `name` is missing.
fn says_missing(f: &Failure, name: &str) -> bool {
    f.descriptions.iter().any(|d| {
        let l = d.to_ascii_lowercase();
        l.contains(name) && MISSING.iter().any(|m| l.contains(m))
    })
}

fn basic_sent(rec: &Record) -> bool {
    use crate::analyze::flavour::{authorization, AuthHeader};
    matches!(
        authorization(&rec.request.headers),
        AuthHeader::Basic(_) | AuthHeader::Malformed(_)
    )
}

fn client_auth(login: &Login, ex: &Exchange) -> Option<Finding> {
    if !failed(ex) || ex.failure.is_empty() {
        return None;
    }
    let rec = &login.records[ex.record];
    let f = &ex.failure;
    let basic = basic_sent(rec);
    let body = params::body_params(&rec.request.headers, &rec.request.body);
    let in_body = |n: &str| params::get(&body, n).is_some_and(|v| !v.is_empty());
    let secret_sent = basic || in_body("client_secret") || in_body("client_assertion");
    let grant = ex.grant.as_deref().unwrap_or("");
    let profile = providers::of_url(&rec.request.url);

    // No secret at all, on a grant public clients use: the registration,
    // not the secret, is what to fix.
    let public_grant = grant == "urn:ietf:params:oauth:grant-type:device_code"
        || in_body("code_verifier")
        || grant == "refresh_token";
    // The provider says a secret or assertion is missing, whatever its
    // code (Google: invalid_request "client_secret is missing.").
    let secret_demanded = says_missing(f, "client_secret") || says_missing(f, "client_assertion");
    let client_error = f.has(&["invalid_client", "unauthorized_client"]).is_some()
        || f.has_aadsts(&[7000218, 700025]).is_some()
        || secret_demanded;
    // A confidential client that sent nothing: invalid_client to a request
    // with no credentials at all, on any grant, is about the missing secret
    // (RFC 6749 §2.3: confidential clients authenticate at the token endpoint).
    if !secret_sent && !public_grant && client_error && !in_body("client_assertion") {
        return Some(Finding::new(
            ex.record,
            code::DIAGNOSIS_PUBLIC_CLIENT_NOT_ALLOWED
                .annotation(
                    format!(
                        "Record {} sent no client authentication at all (no Basic header, no \
                         client_secret, no assertion, no PKCE verifier), and the provider answered \
                         {}: the client is registered as confidential (it has a secret). Send the \
                         secret the way it is registered (client_secret_basic or \
                         client_secret_post), or register a public client and use PKCE.",
                        rec.id,
                        f.main_code()
                    ),
                    json!({
                        "kinds": ["client_secret_missing"],
                        "token_request": rec.id,
                        "grant_type": grant,
                        "secret_sent": false,
                        "error": f.to_json(),
                        "provider": profile.map(|p| p.id),
                        "fields": ["request.headers.authorization", "request.body.client_secret", "response.body.error"],
                    }),
                )
                .about("no client authentication sent")
                .with_severity(Severity::Error),
        ));
    }
    if !secret_sent && public_grant && client_error {
        let aad = f.has_aadsts(&[7000218]).map(|n| format!("AADSTS{n}"));
        return Some(Finding::new(
            ex.record,
            code::DIAGNOSIS_PUBLIC_CLIENT_NOT_ALLOWED.annotation(
format!(
                    "Record {} sent no client secret or assertion (a public client: {}), and the provider \
                     answered {}. Nothing is wrong with a secret: none was sent, and a public client (device, \
                     desktop, mobile, SPA) must not hold one. Fix the app registration instead: {}.",
                    rec.id,
                    if grant.is_empty() { "no grant named".to_string() } else { format!("grant {grant}") },
                    aad.clone().unwrap_or_else(|| f.main_code()),
                    match profile.map(|p| p.id) {
                        Some("entra") => "in Entra ID, App registration > Authentication > Advanced settings > \
                             \"Allow public client flows\" = Yes (or register a Mobile and desktop platform)"
                            .to_string(),
                        _ => "mark the client as public (token endpoint auth method \"none\") at the provider, \
                              or use a confidential client that can keep a secret"
                            .to_string(),
                    }
                ),
json!({
                    "kinds": ["public_client"],
                    "token_request": rec.id,
                    "grant_type": grant,
                    "secret_sent": false,
                    "error": f.to_json(),
                    "provider": profile.map(|p| p.id),
                    "fields": ["request.headers.authorization", "request.body.client_secret", "response.body.error"],
                }),
),
        ));
    }

    // The error names a credential as missing that the request sent the
    // other way (Basic header vs body).
    let named_missing = CREDENTIALS.iter().copied().find(|c| says_missing(f, c));
    let mut why: Option<String> = None;
    if let Some(c) = named_missing {
        if basic && !in_body(c) && c != "client_assertion" {
            why = Some(format!(
                "the provider says `{c}` is missing, but the request sent it in the Authorization: Basic header: \
                 this provider reads client credentials from the body (client_secret_post)"
            ));
        } else if !basic && in_body(c) && f.says(&["authorization header", "basic"]).is_some() {
            why = Some(format!(
                "the provider wants the credentials in the Authorization: Basic header, but the request sent `{c}` in the body"
            ));
        }
    }
    // RFC 6749 §5.2 / RFC 7617: a 401 whose challenge asks for Basic, to a
    // request that sent its credentials in the body.
    let basic_challenge = rec.response.as_ref().is_some_and(|r| {
        r.status == 401
            && r.headers
                .get_all("www-authenticate")
                .any(|v| v.trim_start().to_ascii_lowercase().starts_with("basic"))
    });
    if why.is_none() && basic_challenge && !basic && in_body("client_secret") {
        why = Some(
            "the provider answered 401 with a `WWW-Authenticate: Basic` challenge: it wants the \
             credentials in the Authorization: Basic header (client_secret_basic), and the request \
             sent them in the body"
                .to_string(),
        );
    }
    if why.is_none()
        && f.says(&[
            "authentication method",
            "client_secret_basic",
            "client_secret_post",
        ])
        .is_some()
    {
        why =
            Some("the provider's error names the client authentication method itself".to_string());
    }
    if why.is_none()
        && profile.is_some_and(|p| p.has(Quirk::CredentialsInBodyOnly))
        && basic
        && client_error
    {
        why = Some("this provider reads client credentials only from the body, and the request sent them in the Basic header".to_string());
    }
    if why.is_none()
        && profile.is_some_and(|p| p.has(Quirk::CredentialsInBasicOnly))
        && !basic
        && in_body("client_secret")
        && client_error
    {
        why = Some("this provider wants client credentials in the Basic header, and the request sent them in the body".to_string());
    }
    // The same client succeeded at the same token URL with another flavour.
    let earlier_ok = login.exchanges.iter().find(|e| {
        e.record < ex.record
            && e.succeeded
            && e.client_id.as_ref().map(|c| &c.0) == ex.client_id.as_ref().map(|c| &c.0)
            && same_endpoint(&login.records[e.record], rec)
            && login.records[e.record]
                .flavour
                .as_ref()
                .map(|f| &f.client_auth)
                != rec.flavour.as_ref().map(|f| &f.client_auth)
    });
    if why.is_none() {
        if let Some(e) = earlier_ok.filter(|_| client_error) {
            why = Some(format!(
                "record {} authenticated the same client at the same token URL as {} and succeeded",
                login.records[e.record].id,
                login.records[e.record]
                    .flavour
                    .as_ref()
                    .map(|f| f.client_auth.as_str())
                    .unwrap_or("another method")
            ));
        }
    }
    let why = why?;
    let flavour = rec.flavour.as_ref();
    Some(Finding::new(
        ex.record,
        code::DIAGNOSIS_CLIENT_AUTH_METHOD_REJECTED.annotation(
format!(
                "Record {} authenticated as {}; {why}. Send the same id and secret the other way (Basic header \
                 vs client_id/client_secret in the form body); `oauthscope probe` tries all six ways against \
                 the token URL.",
                rec.id,
                flavour
                    .map(|f| format!(
                        "{}{}",
                        f.client_auth,
                        f.number.map(|n| format!(" (flavour {n})")).unwrap_or_default()
                    ))
                    .unwrap_or_else(|| "an unknown method".into())
            ),
json!({
                "kinds": ["auth_method"],
                "token_request": rec.id,
                "sent_as": flavour.map(|f| f.client_auth.clone()),
                "flavour": flavour.and_then(|f| f.number),
                "named_missing": named_missing,
                "earlier_success": earlier_ok.map(|e| login.records[e.record].id.clone()),
                "error": f.to_json(),
                "provider": profile.map(|p| p.id),
                "fields": ["request.headers.authorization", "request.body.client_secret", "response.body.error_description"],
            }),
),
    ))
}

fn same_endpoint(a: &Record, b: &Record) -> bool {
    let base = |r: &Record| r.request.url.split('?').next().unwrap_or("").to_string();
    base(a) == base(b)
}

/// The `Date` of a record's response.
fn server_date(rec: &Record) -> Option<OffsetDateTime> {
    let d = rec.response.as_ref()?.headers.get("date")?;
    OffsetDateTime::parse(d.trim(), &time::format_description::well_known::Rfc2822).ok()
}

/// A time claim, `None` when absent or outside the representable range
/// ([`crate::analyze::jose::numeric_date`]), so differences cannot overflow.
fn claim(c: &serde_json::Map<String, Value>, name: &str) -> Option<i64> {
    let v = c.get(name).filter(|v| v.is_number());
    crate::analyze::jose::numeric_date(v)
}

/// Seconds a client-made JWT may be ahead of the server before it is skew.
const SKEW_TOLERANCE_SECS: i64 = 60;

fn clock_skew(login: &Login, ex: &Exchange) -> Option<Finding> {
    if !failed(ex) {
        return None;
    }
    let rec = &login.records[ex.record];
    let server = server_date(rec).unwrap_or(rec.time);
    let now = server.unix_timestamp();
    let mut jwts: Vec<(&str, String)> = Vec::new();
    for p in ["client_assertion", "assertion"] {
        if let Some(v) = ex.get(p) {
            jwts.push((p, v.to_string()));
        }
    }
    if let Some(d) = rec.request.headers.get("dpop") {
        jwts.push(("DPoP", d.to_string()));
    }
    for (field, jwt) in jwts {
        let Ok(dec) = decode_unverified(&jwt) else {
            continue;
        };
        let c = &dec.claims;
        let (iat, nbf, exp) = (claim(c, "iat"), claim(c, "nbf"), claim(c, "exp"));
        let ahead = iat
            .into_iter()
            .chain(nbf)
            .map(|t| t - now)
            .max()
            .filter(|d| *d > SKEW_TOLERANCE_SECS);
        let expired = exp.map(|e| now - e).filter(|d| *d > 0);
        let (skew, what) = match (ahead, expired) {
            (Some(a), _) => (a, format!("issued {a} s in the server's future (iat/nbf)")),
            (None, Some(e)) => (
                -e,
                format!("already expired {e} s before the server received it (exp)"),
            ),
            _ => continue,
        };
        return Some(Finding::new(
            ex.record,
            code::DIAGNOSIS_CLOCK_SKEW.annotation(
format!(
                    "The {field} was made by the client with its own clock; the server's clock (response Date \
                     {}) disagrees by {} s. Servers refuse JWTs not yet valid or expired (RFC 7523 §3). Sync \
                     the client's clock (NTP), and keep assertion lifetimes short but above the skew.",
                    server.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                    skew.abs()
                ),
json!({
                    "kinds": [if skew > 0 { "client_ahead" } else { "client_behind" }],
                    "jwt": field,
                    "iat": iat, "nbf": nbf, "exp": exp,
                    "server_time": now,
                    "skew_seconds": skew,
                    "error": ex.failure.to_json(),
                    "fields": [format!("request.body.{field}"), "response.headers.date".to_string()],
                }),
).about(format!("its {field} JWT was {what}")),
        ));
    }
    None
}

/// Sign in with Apple's limit when the provider is not recognised by URL
/// but the secret's `aud` names Apple: six months (15 777 000 s).
const APPLE_SECRET_LIMIT_SECS: i64 = 15_777_000;

fn secret_jwt_lifetime(login: &Login, ex: &Exchange) -> Option<Finding> {
    let rec = &login.records[ex.record];
    let secret = ex.get("client_secret")?;
    if secret.split('.').count() != 3 {
        return None;
    }
    let dec = decode_unverified(secret).ok()?;
    let c = &dec.claims;
    let profile = providers::of_url(&rec.request.url);
    let aud_apple = c
        .get("aud")
        .and_then(Value::as_str)
        .is_some_and(|a| a.contains("appleid.apple.com"));
    let limit = profile
        .and_then(|p| p.secret_jwt_limit())
        .or(aud_apple.then_some(APPLE_SECRET_LIMIT_SECS))?;
    let (iat, exp) = (claim(c, "iat"), claim(c, "exp"));
    let now = server_date(rec).unwrap_or(rec.time).unix_timestamp();
    let lifetime = iat.zip(exp).map(|(i, e)| e - i);
    let problem = if exp.is_none() {
        "has no exp claim".to_string()
    } else if let Some(l) = lifetime.filter(|l| *l > limit) {
        format!("is valid for {l} s, more than the provider's limit of {limit} s")
    } else if let Some(e) = exp.filter(|e| *e < now) {
        format!("expired {} s before this request", now - e)
    } else if iat.is_some_and(|i| i > now + SKEW_TOLERANCE_SECS) {
        "was issued in the future (iat after the server's clock)".to_string()
    } else {
        return None;
    };
    Some(Finding::new(
        ex.record,
        code::CLIENT_AUTH_SECRET_JWT_LIFETIME.annotation(
format!(
                "This provider's client_secret is a JWT the client signs itself (Sign in with Apple: ES256, \
                 iss = team id, sub = client id, aud = https://appleid.apple.com, exp at most six months after \
                 iat). This one {problem}. Generate a new client secret JWT with a valid iat/exp and rotate it \
                 before it expires."
            ),
json!({
                "token_request": rec.id,
                "iat": iat, "exp": exp,
                "lifetime_seconds": lifetime,
                "limit_seconds": limit,
                "alg": dec.header.get("alg"),
                "fields": ["request.body.client_secret"],
            }),
).about(format!("it {problem}")).with_severity(if failed(ex) { Severity::Error } else { Severity::Warning }),
    ))
}

/// RFC 8628 §3.5: the interval when the device authorization response names none.
const DEFAULT_INTERVAL_SECS: f64 = 5.0;

/// Slack on timing noise: a poll this much under the interval still counts as on time.
const POLL_TOLERANCE_SECS: f64 = 0.05;

fn polling_too_fast(login: &Login) -> Vec<Finding> {
    let records = login.records;
    let mut out = Vec::new();
    // Polls by device code, in time order.
    let mut runs: Vec<(String, Vec<&Exchange>)> = Vec::new();
    for ex in &login.exchanges {
        if ex.grant.as_deref() != Some("urn:ietf:params:oauth:grant-type:device_code") {
            continue;
        }
        let Some(dc) = ex.get("device_code") else {
            continue;
        };
        match runs.iter_mut().find(|(d, _)| d == dc) {
            Some((_, v)) => v.push(ex),
            None => runs.push((dc.to_string(), vec![ex])),
        }
    }
    for (dc, polls) in runs {
        // The device authorization response that issued the code, and its interval.
        let issuer = login
            .issuers(&dc, polls[0].record)
            .into_iter()
            .find(|i| i.kind == IssuedKind::DeviceCode);
        let mut interval = issuer
            .and_then(|i| {
                params::get(&super::response_params(&records[i.record]), "interval")
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .unwrap_or(DEFAULT_INTERVAL_SECS);
        // Gaps are measured request to request (the first from the device
        // authorization request), as the provider's rate limit sees them.
        let mut last = issuer.map(|i| records[i.record].time);
        let mut gaps = Vec::new();
        let mut early = Vec::new();
        let mut slow_downs = 0;
        for ex in &polls {
            let rec = &records[ex.record];
            if let Some(prev) = last {
                let gap = (rec.time - prev).as_seconds_f64();
                let too_early = gap < interval - POLL_TOLERANCE_SECS;
                gaps.push(json!({
                    "record": rec.id,
                    "gap_seconds": (gap * 1000.0).round() / 1000.0,
                    "interval_seconds": interval,
                    "too_early": too_early,
                }));
                if too_early {
                    early.push(ex.record);
                }
            }
            last = Some(rec.time);
            if ex.failure.has(&["slow_down"]).is_some() {
                slow_downs += 1;
                // RFC 8628 §3.5: add 5 s; GitHub names the new interval.
                interval = params::get(&ex.response, "interval")
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(interval + 5.0);
            }
        }
        let Some(&at) = early.last() else { continue };
        out.push(Finding::new(
            at,
            code::DIAGNOSIS_POLLING_TOO_FAST.annotation(
format!(
                    "RFC 8628 §3.5: the client must wait at least `interval` seconds between polls ({} s to \
                     start{}), and add 5 s after every slow_down (GitHub sends the new interval). {} poll(s) came \
                     sooner; each gap is in the evidence. The provider answers slow_down, and may end the flow \
                     with access_denied or expired_token. Sleep the interval in force after each response \
                     (measure from the response, not the request), and raise it on slow_down.",
                    issuer
                        .and_then(|i| params::get(&super::response_params(&records[i.record]), "interval").map(str::to_string))
                        .unwrap_or_else(|| format!("{DEFAULT_INTERVAL_SECS}")),
                    if issuer.is_none() { ", the default: the device authorization response was not captured" } else { "" },
                    early.len()
                ),
json!({
                    "device_authorization": issuer.map(|i| records[i.record].id.clone()),
                    "device_code": fingerprint(&dc),
                    "polls": polls.len(),
                    "too_early": ids(records, &early),
                    "slow_down_answers": slow_downs,
                    "gaps": gaps,
                    "fields": ["time", "response.body.interval"],
                }),
).about(format!(
                    "{} of {} polls too early{}",
                    early.len(),
                    polls.len().saturating_sub(usize::from(issuer.is_none())),
                    if slow_downs > 0 { format!(" ({slow_downs} slow_down answers)") } else { String::new() }
                )),
        ));
    }
    out
}

fn endpoint_version_mismatch(login: &Login) -> Vec<Finding> {
    let records = login.records;
    let version = |rec: &Record| {
        let profile = providers::of_url(&rec.request.url)?;
        let f = profile.endpoint_version?;
        let path = url::Url::parse(&rec.request.url)
            .ok()?
            .path()
            .to_ascii_lowercase();
        f(&path).map(|v| (profile, v))
    };
    let mut out = Vec::new();
    for ex in &login.exchanges {
        if ex.grant.as_deref() != Some("authorization_code") {
            continue;
        }
        let rec = &records[ex.record];
        let Some((profile, token_v)) = version(rec) else {
            continue;
        };
        let authorize = records[..ex.record].iter().rposition(|r| {
            r.kind == Kind::AuthorizeRequest
                && providers::of_url(&r.request.url).map(|p| p.id) == Some(profile.id)
        });
        let Some(a) = authorize else { continue };
        let Some((_, auth_v)) = version(&records[a]) else {
            continue;
        };
        if auth_v == token_v {
            continue;
        }
        out.push(Finding::new(
            ex.record,
            code::DIAGNOSIS_ENDPOINT_VERSION_MISMATCH.annotation(
format!(
                    "Record {} sent the user to {}'s {auth_v} authorization endpoint; record {} redeemed the code at \
                     the {token_v} token endpoint. {} codes are bound to the endpoint family that issued them. Use \
                     one version for both legs{}.",
                    records[a].id,
                    profile.name,
                    rec.id,
                    profile.name,
                    match profile.id {
                        "slack" => ": /oauth/v2/authorize with oauth.v2.access (or /oauth/authorize with oauth.access)",
                        "entra" => ": /oauth2/v2.0/authorize with /oauth2/v2.0/token (or both v1.0 paths)",
                        _ => "",
                    }
                ),
json!({
                    "authorize_request": records[a].id,
                    "token_request": rec.id,
                    "authorize_version": auth_v,
                    "token_version": token_v,
                    "provider": profile.id,
                    "error": ex.failure.to_json(),
                    "fields": ["authorize.url.path", "request.url.path"],
                }),
).about(format!("{auth_v} authorize, {token_v} token endpoint")),
        ));
    }
    out
}

/// Errors an authorization endpoint redirects back (RFC 6749 §4.1.2.1)
/// whose cause the records show: the grant or response type is not enabled.
fn authorize_leg_errors(login: &Login) -> Vec<Finding> {
    let records = login.records;
    let mut out = Vec::new();
    for d in &login.deliveries {
        let Some(err) = d.get("error") else { continue };
        if err.eq_ignore_ascii_case("access_denied") {
            out.extend(access_denied_at_authorize(login, d));
            continue;
        }
        if !["unauthorized_client", "unsupported_response_type"]
            .iter()
            .any(|c| c.eq_ignore_ascii_case(err))
        {
            continue;
        }
        // The callback repeats what the redirect carried: diagnose once.
        if d.is_callback
            && login.deliveries.iter().any(|o| {
                !o.is_callback
                    && o.record < d.record
                    && o.get("error") == Some(err)
                    && o.get("state") == d.get("state")
            })
        {
            continue;
        }
        let rec = &records[d.record];
        let authorize = super::authorize_for(login, d.record);
        let ap = authorize
            .map(|a| super::authorize_params(login, a))
            .unwrap_or_default();
        let response_type = params::get(&ap, "response_type").unwrap_or("code");
        let grant = match response_type {
            "code" => "authorization_code",
            t if t.contains("token") && !t.contains("code") => "implicit",
            _ => "authorization_code (hybrid)",
        };
        let profile = authorize
            .and_then(|a| providers::of_url(&records[a].request.url))
            .or_else(|| providers::of_url(&rec.request.url));
        let where_ = match profile.map(|p| p.id) {
            Some("auth0") => "Auth0: Applications > (the app) > Advanced Settings > Grant Types",
            Some("okta") => "Okta: Applications > (the app) > General > Grant type",
            Some("cognito") => "Cognito: App client > Hosted UI > OAuth grant types",
            Some("entra") => {
                "Entra ID: App registration > Authentication (platform and implicit grant settings)"
            }
            Some("keycloak") => {
                "Keycloak: Clients > (the client) > Capability config (Standard flow)"
            }
            _ => "the provider's application settings (allowed grant types / response types)",
        };
        out.push(Finding::new(
            d.record,
            code::DIAGNOSIS_GRANT_TYPE_NOT_ENABLED.annotation(
format!(
                    "The authorization endpoint redirected back with `{err}`{} before any login happened: the \
                     application's registration does not allow response_type={response_type} (the {grant} grant). \
                     The user did not refuse anything. Enable the grant in {where_}.",
                    d.get("error_description").map(|x| format!(" (\"{x}\")")).unwrap_or_default()
                ),
json!({
                    "authorize_request": authorize.map(|a| records[a].id.clone()),
                    "response_record": rec.id,
                    "error": err,
                    "description": d.get("error_description"),
                    "response_type": response_type,
                    "grant_type": grant,
                    "provider": profile.map(|p| p.id),
                    "fields": ["response.headers.location.error", "authorize.query.response_type"],
                }),
).about(format!("{grant} (response_type={response_type})")),
        ));
    }
    out
}

/// `diagnosis.access_denied` for an authorization response carrying
/// `error=access_denied` (RFC 6749 §4.1.2.1): who refused, from the
/// provider's words. An administrator's rule (the user is not assigned to
/// the application: Okta, Entra AADSTS50105; a conditional-access or
/// policy block) is an error someone must fix; the user pressing "cancel"
/// on the consent page is normal behaviour (info); without words, warning.
fn access_denied_at_authorize(
    login: &Login,
    d: &crate::analyze::login::Delivery,
) -> Option<Finding> {
    let records = login.records;
    // The callback repeats what the redirect carried: diagnose once.
    if d.is_callback
        && login.deliveries.iter().any(|o| {
            !o.is_callback
                && o.record < d.record
                && o.get("error")
                    .is_some_and(|e| e.eq_ignore_ascii_case("access_denied"))
                && o.get("state") == d.get("state")
        })
    {
        return None;
    }
    // A token request after it is code_grant's access_denied (the app went
    // on regardless); a code delivered later means the user consented on a
    // second try: no failure left to explain here.
    if login.exchanges.iter().any(|e| e.record > d.record)
        || login
            .deliveries
            .iter()
            .any(|o| o.record > d.record && o.get("code").is_some())
    {
        return None;
    }
    let desc = d.get("error_description").unwrap_or("").to_string();
    let l = desc.to_ascii_lowercase();
    let (cause, severity, what) = if l.contains("not assigned")
        || l.contains("assignment")
        || l.contains("aadsts50105")
    {
        (
            "user_not_assigned",
            Severity::Error,
            "the user is not assigned to the application: an administrator must assign the user (or a group) to the app, or turn off \"assignment required\"",
        )
    } else if l.contains("policy") || l.contains("conditional access") || l.contains("blocked") {
        (
            "policy",
            Severity::Error,
            "a policy of the provider blocked the sign-in (conditional access, sign-on policy): the provider's sign-in logs name the rule",
        )
    } else if l.contains("cancel")
        || l.contains("denied")
        || l.contains("declined")
        || l.contains("refused")
    {
        (
            "user_refused",
            Severity::Info,
            "the user refused on the consent page: normal behaviour, start a new login to ask again",
        )
    } else {
        (
            "unknown",
            Severity::Warning,
            "the provider gave no reason: the user may have refused consent, or a policy of the provider denied the sign-in (check its sign-in logs)",
        )
    };
    let authorize = super::authorize_for(login, d.record);
    Some(Finding::new(
        d.record,
        code::DIAGNOSIS_ACCESS_DENIED
            .annotation(
                format!(
                    "The authorization endpoint sent the browser back with access_denied{}: {what}.",
                    if desc.is_empty() { String::new() } else { format!(" (\"{desc}\")") }
                ),
                json!({
                    "kinds": [cause],
                    "authorize_request": authorize.map(|a| records[a].id.clone()),
                    "response_record": records[d.record].id,
                    "description": d.get("error_description"),
                    "fields": ["location.error", "location.error_description"],
                }),
            )
            .about(cause.replace('_', " "))
            .with_severity(severity),
    ))
}

/// Cookie names that hold an app's login state or nonce.
fn is_login_cookie(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("state") || n.contains("nonce") || n.contains("verifier") || n.contains("pkce")
}

fn cookies(rec: &Record) -> Vec<(String, String)> {
    rec.request
        .headers
        .get_all("cookie")
        .flat_map(|v| v.split(';'))
        .filter_map(|p| {
            let (n, v) = p.trim().split_once('=')?;
            Some((n.trim().to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

fn concurrent_logins(login: &Login) -> Vec<Finding> {
    let records = login.records;
    let legs = &login.legs;
    let mut out = Vec::new();
    for d in login.deliveries.iter().filter(|d| d.is_callback) {
        let Some(state) = d.get("state") else {
            continue;
        };
        let rec = &records[d.record];
        let own = legs
            .iter()
            .rev()
            .find(|l| l.index < d.record && l.get("state") == Some(state));
        let Some(own) = own else { continue };
        // A login cookie holding another, later authorize request's state or nonce.
        let replaced = cookies(rec).into_iter().find_map(|(name, value)| {
            if !is_login_cookie(&name) || value == state {
                return None;
            }
            legs.iter()
                .find(|l| {
                    l.index > own.index
                        && l.index < d.record
                        && (l.get("state") == Some(value.as_str())
                            || l.get("nonce") == Some(value.as_str()))
                })
                .map(|l| (name, l))
        });
        let Some((cookie, later)) = replaced else {
            continue;
        };
        out.push(Finding::new(
            d.record,
            code::DIAGNOSIS_CONCURRENT_LOGINS.annotation(
format!(
                    "Record {} started a login with state {state:?}; record {} started another one from the same \
                     browser, and the app stored its state in the cookie `{cookie}`, replacing the first. This \
                     callback answers the first login (its state is the first one's) but arrives with the second \
                     login's cookie, so the app rejects a valid response. Keep one pending login per state (a \
                     cookie or session entry keyed by state) instead of a single slot, or refuse to start a \
                     second login while one is pending.",
                    records[own.index].id,
                    records[later.index].id
                ),
json!({
                    "authorize_requests": [records[own.index].id, records[later.index].id],
                    "callback": rec.id,
                    "cookie": cookie,
                    "callback_state": state,
                    "cookie_holds": later.get("state").filter(|s| cookies(rec).iter().any(|(_, v)| v == s)).unwrap_or_else(|| later.get("nonce").unwrap_or("")),
                    "fields": ["request.headers.cookie", "request.body.state", "authorize.query.state"],
                }),
),
        ));
    }
    out
}

/// `diagnosis.pkce_required` for a failure that asks for PKCE when the
/// authorize request sent no `code_challenge` (checked, not guessed).
pub fn pkce_required(login: &Login) -> Vec<Finding> {
    let records = login.records;
    let legs = &login.legs;
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        if !matches!(
            rec.kind,
            Kind::TokenRequest
                | Kind::AuthorizeRequest
                | Kind::AuthorizationResponse
                | Kind::Callback
        ) {
            continue;
        }
        let f = Failure::of(rec);
        if f.is_empty() {
            continue;
        }
        let asks = f
            .says(&["code_challenge", "pkce", "code challenge", "proof key"])
            .filter(|s| {
                let l = s.to_ascii_lowercase();
                MISSING.iter().any(|m| l.contains(m))
                    || l.contains("must")
                    || l.contains("requires")
            });
        let profile = providers::of_url(&rec.request.url);
        let quirk = profile.is_some_and(|p| p.has(Quirk::PkceRequired))
            && f.has(&["invalid_request"]).is_some();
        if asks.is_none() && !quirk {
            continue;
        }
        let Some(leg) = crate::analyze::authorize::leg_for(records, legs, i) else {
            continue;
        };
        if leg.opaque || leg.get("code_challenge").is_some() {
            continue;
        }
        out.push(Finding::new(
            i,
            code::DIAGNOSIS_PKCE_REQUIRED.annotation(
format!(
                    "Record {} started the login without code_challenge; the provider {}. Send \
                     code_challenge=BASE64URL(SHA256(code_verifier)) with code_challenge_method=S256 at authorize and \
                     the code_verifier at the token endpoint (RFC 7636 §4).",
                    records[leg.index].id,
                    asks.as_deref().map(|s| format!("says \"{s}\"")).unwrap_or_else(|| "requires PKCE for this client".to_string())
                ),
json!({
                    "authorize_request": records[leg.index].id,
                    "record": rec.id,
                    "provider_says": asks,
                    "error": f.to_json(),
                    "fields": ["authorize.query.code_challenge", "response.body.error_description"],
                }),
),
        ));
    }
    out
}

/// One `Set-Cookie` (RFC 6265 §5.2): name, value and the attributes that
/// decide where the browser sends it back.
struct SetCookie {
    name: String,
    value: String,
    domain: Option<String>,
    same_site: Option<String>,
    secure: bool,
}

fn set_cookies(rec: &Record) -> Vec<SetCookie> {
    let Some(resp) = rec.response.as_ref() else {
        return Vec::new();
    };
    resp.headers
        .get_all("set-cookie")
        .filter_map(|line| {
            let mut parts = line.split(';');
            let (name, value) = parts.next()?.trim().split_once('=')?;
            let mut c = SetCookie {
                name: name.trim().to_string(),
                value: value.trim().trim_matches('"').to_string(),
                domain: None,
                same_site: None,
                secure: false,
            };
            for attr in parts {
                let (k, v) = attr.trim().split_once('=').unwrap_or((attr.trim(), ""));
                match k.to_ascii_lowercase().as_str() {
                    "domain" => {
                        c.domain = Some(v.trim().trim_start_matches('.').to_ascii_lowercase())
                    }
                    "samesite" => c.same_site = Some(v.trim().to_ascii_lowercase()),
                    "secure" => c.secure = true,
                    _ => {}
                }
            }
            Some(c)
        })
        .collect()
}

fn host_of(url: &str) -> Option<(String, String)> {
    let u = url::Url::parse(url).ok()?;
    Some((u.scheme().to_string(), u.host_str()?.to_ascii_lowercase()))
}

/// `diagnosis.cookie_host_mismatch` (another host) or
/// `diagnosis.state_cookie_lost` (a SameSite rule, a Secure cookie over
/// http): the login start set the app's state cookie where the redirect back
/// will not carry it.
fn cookie_host_mismatch(login: &Login) -> Vec<Finding> {
    let records = login.records;
    let mut out = Vec::new();
    for (i, start) in records.iter().enumerate() {
        if start.kind != Kind::LoginStart {
            continue;
        }
        let loc = params::location_params(start);
        let Some(redirect_uri) = params::get(&loc, "redirect_uri") else {
            continue;
        };
        let state = params::get(&loc, "state");
        let nonce = params::get(&loc, "nonce");
        let form_post = params::get(&loc, "response_mode") == Some("form_post");
        let (Some((_, set_host)), Some((back_scheme, back_host))) =
            (host_of(&start.request.url), host_of(redirect_uri))
        else {
            continue;
        };
        for c in set_cookies(start) {
            let holds_login = is_login_cookie(&c.name)
                || state.is_some_and(|s| s == c.value)
                || nonce.is_some_and(|n| n == c.value);
            if !holds_login || c.value.is_empty() {
                continue;
            }
            let reaches = match &c.domain {
                Some(d) => back_host == *d || back_host.ends_with(&format!(".{d}")),
                None => back_host == set_host,
            };
            let kind = if !reaches {
                "host"
            } else if c.secure && back_scheme == "http" && back_host != "localhost" {
                "secure_over_http"
            } else if c.same_site.as_deref() == Some("strict") {
                "samesite_strict"
            } else if form_post && c.same_site.as_deref().is_none_or(|s| s == "lax") {
                "samesite_lax_form_post"
            } else {
                continue;
            };
            // The callback that came back (if captured), and whether it lacked the cookie.
            let callback = login.deliveries.iter().find(|d| {
                d.is_callback && d.record > i && (state.is_none() || d.get("state") == state)
            });
            let arrived_without = callback.map(|d| {
                !cookies(&records[d.record])
                    .iter()
                    .any(|(n, _)| *n == c.name)
            });
            if arrived_without == Some(false) {
                continue;
            }
            let why = match kind {
                "host" => format!(
                    "it was set on {set_host}{} but the redirect_uri sends the browser back to {back_host}, and a \
                     browser sends a cookie only to the host (or Domain) that set it",
                    c.domain.as_deref().map(|d| format!(" (Domain={d})")).unwrap_or_default()
                ),
                "secure_over_http" => format!("it is Secure but the redirect_uri is http://{back_host}"),
                "samesite_strict" => "it is SameSite=Strict, which browsers leave off the cross-site navigation back from the provider".to_string(),
                _ => "response_mode=form_post comes back as a cross-site POST, and a SameSite=Lax (or default) cookie is not sent with it".to_string(),
            };
            let at = callback.map(|d| d.record).unwrap_or(i);
            out.push(Finding::new(
                at,
                super::cookies::lost_cookie_code(kind).annotation(
format!(
                        "Record {} started the login and set `{}` to remember it; {why}. The callback{} then \
                         arrives without it, and the app rejects a valid response (\"state mismatch\", \"missing \
                         session\"). Start the login on the same host as the redirect_uri (localhost and 127.0.0.1 \
                         are different hosts), or set the cookie's Domain / SameSite=None; Secure accordingly.",
                        start.id,
                        c.name,
                        callback
                            .map(|d| format!(" (record {})", records[d.record].id))
                            .unwrap_or_default()
                    ),
json!({
                        "kinds": [kind],
                        "login_start": start.id,
                        "cookie": c.name,
                        "set_on": set_host,
                        "cookie_domain": c.domain,
                        "same_site": c.same_site,
                        "redirect_uri": redirect_uri,
                        "callback": callback.map(|d| records[d.record].id.clone()),
                        "callback_without_cookie": arrived_without,
                        "fields": ["response.headers.set-cookie", "response.headers.location.redirect_uri", "request.headers.cookie"],
                    }),
).about(format!("`{}`", c.name)),
            ));
            break;
        }
    }
    out
}

/// `diagnosis.grant_type_missing`: the request named no `grant_type` (a
/// provider dialect: GitHub, Slack) and this provider says it needs one
/// (RFC 6749 §4.1.3 makes it REQUIRED).
fn grant_type_missing(login: &Login, ex: &Exchange) -> Option<Finding> {
    if !failed(ex) || ex.get("grant_type").is_some() {
        return None;
    }
    let says = ex.failure.says(&["grant_type"])?;
    let rec = &login.records[ex.record];
    Some(Finding::new(
        ex.record,
        code::DIAGNOSIS_GRANT_TYPE_MISSING.annotation(
format!(
                "Record {} exchanged a code without grant_type, as GitHub and Slack accept; this provider \
                 follows RFC 6749 §4.1.3 and says \"{says}\". Add grant_type=authorization_code (or the grant \
                 meant) to the form body.",
                rec.id
            ),
json!({
                "token_request": rec.id,
                "implied_grant": ex.grant,
                "provider_says": says,
                "fields": ["request.body.grant_type", "response.body.error_description"],
            }),
),
    ))
}

//! Rule family `jwt`: checks on the OpenID Connect ID token of a token
//! response (OIDC Core §3.1.3.7), decoded without verifying its signature.
//!
//! Codes (errors unless said otherwise): `jwt.expired` (`exp` before the
//! response arrived), `jwt.aud_mismatch` (`aud` lacks the client_id, or
//! `azp` is another client), `jwt.nonce_mismatch` (≠ the authorization
//! request's nonce), `jwt.iss_mismatch` (≠ the `issuer` of a discovery
//! document captured for the same host), `jwt.malformed` (warning: the
//! header or claims do not decode), `jwt.encrypted` (info: a JWE cannot be
//! read without the client's key).
//!
//! Only the header and claims are read: the signature segment may be
//! anything, so redacted exports (`header.claims.«redacted:..»`) are still
//! checked. The token itself never goes into evidence; claims do.

use super::authorize::leg_for;
use super::jose::{decode_unverified, human_duration, JwtError};
use super::login::Login;
use super::params;
use super::redirect_uri::{diff, diff_evidence};
use super::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Kind, Record, Severity};
use crate::redact::is_redacted;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn num(v: Option<&Value>) -> Option<i64> {
    super::jose::numeric_date(v)
}

/// Findings of this rule family over records in time order.
pub fn annotate(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let legs = &login.legs;
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        if rec.kind == Kind::Discovery {
            out.extend(issuer_template(rec, i));
            continue;
        }
        // ID tokens come in token responses, and in authorization
        // responses: a `form_post` callback's body or a redirect's fragment.
        let token = match rec.kind {
            Kind::TokenRequest => params::response_json(rec).and_then(|b| {
                b.get("id_token")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
            Kind::Callback => {
                params::get(&params::request_params(rec), "id_token").map(str::to_string)
            }
            Kind::AuthorizationResponse | Kind::AuthorizeRequest | Kind::ProviderPage => {
                params::get(&params::location_params(rec), "id_token").map(str::to_string)
            }
            _ => None,
        };
        let Some(token) = token else {
            continue;
        };
        let token = token.as_str();
        if token.is_empty() {
            continue;
        }
        let decoded = match decode_unverified(token) {
            Ok(d) => d,
            Err(e @ JwtError::Encrypted { .. }) => {
                out.push(Finding::new(
                    i,
                    code::JWT_ENCRYPTED.annotation(
                        "The provider encrypts ID tokens for this client, so exp, aud, nonce \
                         and iss cannot be read without the client's private key.",
                        json!({ "reason": e.to_string(), "token_record": rec.id }),
                    ),
                ));
                continue;
            }
            Err(_) if is_redacted(token) => continue,
            Err(e) => {
                out.push(Finding::new(
                    i,
                    code::JWT_MALFORMED.annotation(
                        format!(
                            "An ID token is a JWT: base64url(header).base64url(claims).signature \
                             with JSON objects in the first two parts (OIDC Core §2, RFC 7519). \
                             This one does not decode: {e}. Clients will reject it; check that \
                             nothing (a proxy, a logger, a copy-paste) altered the token."
                        ),
                        json!({
                            "reason": e.to_string(),
                            "parts": token.split('.').count(),
                            "length": token.len(),
                            "token_record": rec.id,
                        }),
                    ),
                ));
                continue;
            }
        };
        out.extend(check_kid(records, rec, i, &decoded));
        let c = &decoded.claims;
        // The same ID token (same iat and sub) came in an earlier token
        // response of this login: a refresh handing back the login's one.
        let resent = rec.grant_type.as_deref() == Some("refresh_token")
            && records[..i].iter().any(|r| {
                r.kind == Kind::TokenRequest
                    && params::response_json(r)
                        .and_then(|b| {
                            b.get("id_token")
                                .and_then(Value::as_str)
                                .map(str::to_string)
                        })
                        .and_then(|t| decode_unverified(&t).ok())
                        .is_some_and(|d| {
                            num(d.claims.get("iat")) == num(c.get("iat"))
                                && d.claims.get("sub") == c.get("sub")
                        })
            });
        out.extend(check_exp(rec, i, c, resent));
        if rec.kind == Kind::TokenRequest {
            out.extend(check_aud(rec, i, c));
        } else if let Some(client_id) = leg_for(records, legs, i).and_then(|l| l.get("client_id")) {
            out.extend(check_aud_for(rec, i, c, client_id, "authorize.client_id"));
        }
        if rec.grant_type.as_deref() == Some("authorization_code") || rec.kind != Kind::TokenRequest
        {
            out.extend(check_nonce(records, legs, i, c));
        }
        out.extend(check_iss(records, i, c));
    }
    out
}

fn check_exp(rec: &Record, i: usize, c: &Map<String, Value>, resent: bool) -> Option<Finding> {
    let exp = num(c.get("exp"))?;
    let arrived = super::login::received_at(rec);
    let now = arrived.unix_timestamp();
    if exp >= now {
        return None;
    }
    let exp_t = OffsetDateTime::from_unix_timestamp(exp).ok();
    let ago = now - exp;
    let mut ev = json!({
        "exp": exp_t.map(rfc3339),
        "exp_unix": exp,
        "response_time": rfc3339(arrived),
        "expired_seconds_ago": ago,
        "expired_ago": human_duration(ago),
        "token_record": rec.id,
    });
    if let Some(iat) = num(c.get("iat")) {
        ev["iat"] = json!(OffsetDateTime::from_unix_timestamp(iat).ok().map(rfc3339));
        // A refresh response that hands back the ID token an earlier token
        // response of this login carried (Xero, some Keycloak and
        // IdentityServer setups). OIDC Core §12.2 wants a new one, but
        // clients do not validate an ID token from a refresh as a login,
        // and the refresh itself succeeded: a provider quirk, not a failure.
        let sent = rec.time.unix_timestamp();
        if resent {
            ev["resent_from_earlier_login"] = json!(true);
            return Some(Finding::new(
                i,
                code::JWT_EXPIRED
                    .annotation(
                        format!(
                            "This refresh response hands back an ID token issued {} before the \
                             refresh (iat), already expired: the provider re-sends the login's ID \
                             token instead of a new one (OIDC Core §12.2 asks for a new one). The \
                             refresh itself succeeded; do not validate this ID token again as if \
                             it were a new login, and keep the access and refresh tokens.",
                            human_duration(sent - iat)
                        ),
                        ev,
                    )
                    .about(format!(
                        "re-sent from the login, {} old",
                        human_duration(sent - iat)
                    ))
                    .with_severity(Severity::Info),
            ));
        }
    }
    Some(Finding::new(
        i,
        code::JWT_EXPIRED
            .annotation(
                "The ID token's exp lies before the time the token response was received, so \
             clients reject it (OIDC Core §3.1.3.7). A fresh token response with an expired \
             token points at a clock difference between provider and client (or this \
             machine), or a cached/replayed response; compare the clocks (NTP) and make sure \
             the response is not served from a cache.",
                ev,
            )
            .about(format!("{} before it arrived", human_duration(ago))),
    ))
}

/// `jwt.kid_not_found`: the ID token's header `kid` is not among the keys
/// of its issuer's JWKS as the capture fetched it (the `jwks_uri` of the
/// discovery document whose `issuer` is the token's `iss`; RFC 7517 §4.5,
/// OIDC Core §10.1.1). Only against a JWKS that lists keys with `kid`s.
fn check_kid(
    records: &[Record],
    rec: &Record,
    i: usize,
    decoded: &super::jose::Decoded,
) -> Option<Finding> {
    let kid = decoded.header.get("kid")?.as_str()?;
    // The issuer's own key set: the `jwks_uri` of the discovery document
    // whose `issuer` is the token's `iss` (another authorization server on
    // the same host has keys of its own: Okta's org and default servers).
    let iss = decoded.claims.get("iss")?.as_str()?.trim_end_matches('/');
    let jwks_uri = records.iter().rev().find_map(|r| {
        if r.kind != Kind::Discovery {
            return None;
        }
        let doc = params::response_json(r)?;
        let issuer = doc.get("issuer")?.as_str()?.trim_end_matches('/');
        (issuer == iss)
            .then(|| doc.get("jwks_uri")?.as_str().map(str::to_string))
            .flatten()
    })?;
    let jwks = records
        .iter()
        .rev()
        .find(|r| r.kind == Kind::Jwks && r.request.url == jwks_uri)?;
    let doc = params::response_json(jwks)?;
    let kids: Vec<&str> = doc
        .get("keys")?
        .as_array()?
        .iter()
        .filter_map(|k| k.get("kid").and_then(Value::as_str))
        .collect();
    if kids.is_empty() || kids.contains(&kid) {
        return None;
    }
    Some(Finding::new(
        i,
        code::JWT_KID_NOT_FOUND
            .annotation(
                format!(
                    "The ID token names signing key kid {kid:?}, and the JWKS fetched by record {} \
                     lists only {}. A client verifying the signature finds no key (IDX10501, \
                     \"no applicable key found\") and rejects the login. The key rotated after the \
                     client cached its JWKS (refetch on an unknown kid), or the token comes from \
                     another tenant or environment than the jwks_uri the client uses.",
                    jwks.id,
                    kids.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
                ),
                json!({
                    "kid": kid,
                    "jwks_record": jwks.id,
                    "jwks_kids": kids,
                    "token_record": rec.id,
                    "fields": ["id_token.header.kid", "jwks.keys[].kid"],
                }),
            )
            .about(format!("kid {kid:?}")),
    ))
}

fn check_aud(rec: &Record, i: usize, c: &Map<String, Value>) -> Option<Finding> {
    let (leg, client_id) = super::client_id::of_request(rec)?;
    check_aud_for(rec, i, c, &client_id, leg.as_str())
}

fn check_aud_for(
    rec: &Record,
    i: usize,
    c: &Map<String, Value>,
    client_id: &str,
    source: &str,
) -> Option<Finding> {
    let client_id = client_id.to_string();
    let aud: Vec<String> = match c.get("aud")? {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let azp = c.get("azp").and_then(Value::as_str);
    let ev = json!({
        "aud": c.get("aud"),
        "azp": azp,
        "client_id": client_id,
        "client_id_source": source,
        "token_record": rec.id,
    });
    if !aud.contains(&client_id) {
        return Some(Finding::new(
            i,
            code::JWT_AUD_MISMATCH.annotation(
                "The client must reject an ID token whose aud does not list its own client_id \
                 (OIDC Core §3.1.3.7 step 3). Either the token was issued to another client \
                 (two apps sharing a session or a token cache), or the client_id the app \
                 sends is not the one registered with this provider (copy it exactly, no \
                 whitespace).",
                ev,
            ),
        ));
    }
    if aud.len() > 1 {
        if let Some(azp) = azp.filter(|a| *a != client_id) {
            return Some(Finding::new(
                i,
                code::JWT_AUD_MISMATCH
                    .annotation(
                        "With several audiences the azp claim names the party the ID token was \
                     issued to, and it must be this client (OIDC Core §3.1.3.7 steps 4-5). The \
                     token was issued to another client; check which client_id started the \
                     login.",
                        ev,
                    )
                    .about(format!("azp is {azp:?}")),
            ));
        }
    }
    None
}

fn check_nonce(
    records: &[Record],
    legs: &[super::authorize::AuthorizeLeg],
    i: usize,
    c: &Map<String, Value>,
) -> Option<Finding> {
    let leg = leg_for(records, legs, i)?;
    // A redacted nonce (a redacted export whose nonce was also in a cookie)
    // cannot be compared: not judged.
    let sent = leg
        .get("nonce")
        .filter(|s| !s.is_empty() && !is_redacted(s))?;
    let got = c.get("nonce").and_then(Value::as_str);
    if got == Some(sent) {
        return None;
    }
    let rec = &records[i];
    Some(Finding::new(
        i,
        code::JWT_NONCE_MISMATCH
            .annotation(
                "When the authorization request sends a nonce, the ID token must carry the same \
             value and the client must check it (OIDC Core §3.1.3.7 step 11, replay \
             protection). A different nonce means the token belongs to another login \
             attempt (another tab, a retried login, a nonce kept in a lost session); a \
             missing one means the provider ignored the parameter.",
                json!({
                    "expected": sent,
                    "actual": got,
                    "authorize_record": records[leg.source_of(records, "nonce")].id,
                    "token_record": rec.id,
                }),
            )
            .about(match got {
                Some(_) => "another value",
                None => "the token has none although the authorization request sent one",
            }),
    ))
}

/// `jwt.issuer_template`: a discovery document whose `issuer` is a
/// template (`{tenantid}`), which clients comparing `iss` literally (OIDC
/// Discovery §4.3) reject every token against.
fn issuer_template(rec: &Record, i: usize) -> Option<Finding> {
    let doc = params::response_json(rec)?;
    let issuer = doc.get("issuer")?.as_str()?;
    if !(issuer.contains('{') && issuer.contains('}')) {
        return None;
    }
    Some(Finding::new(
        i,
        code::JWT_ISSUER_TEMPLATE.annotation(
"OpenID Connect Discovery §4.3 says the issuer must be identical to the iss of the \
             tokens; this document publishes a placeholder instead (Entra's /common and \
             /organizations documents do). A client that compares iss literally rejects every \
             token; one that accepts any value accepts other tenants' tokens. Validate iss \
             against the tenant-specific issuer (the placeholder replaced by the token's tid), \
             or configure the tenant's own discovery document.",
json!({
                "discovery_record": rec.id,
                "issuer": issuer,
                "fields": ["response.body.issuer"],
            }),
).about(issuer),
    ))
}

fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .host_str()
        .map(|h| h.to_ascii_lowercase())
}

/// Does `iss` match a discovery `issuer`, where `{tenantid}`-style
/// placeholders (Entra's multi-tenant documents) match one path segment?
fn issuer_matches(issuer: &str, iss: &str) -> bool {
    if issuer == iss {
        return true;
    }
    if !issuer.contains('{') {
        return false;
    }
    let a: Vec<&str> = issuer.split('/').collect();
    let b: Vec<&str> = iss.split('/').collect();
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, y)| x == y || (x.starts_with('{') && x.ends_with('}') && !y.is_empty()))
}

fn check_iss(records: &[Record], i: usize, c: &Map<String, Value>) -> Option<Finding> {
    let iss = c.get("iss").and_then(Value::as_str)?;
    let rec = &records[i];
    let host = host_of(&rec.request.url)?;
    let token_url = rec.request.url.split('?').next().unwrap_or("");
    let issuers: Vec<(&Record, String)> = records
        .iter()
        .filter(|r| r.kind == Kind::Discovery)
        .filter_map(|r| {
            let doc = params::response_json(r)?;
            let issuer = doc.get("issuer")?.as_str()?.to_string();
            let same_host = host_of(&r.request.url).as_deref() == Some(host.as_str())
                || doc.get("token_endpoint").and_then(Value::as_str) == Some(token_url);
            same_host.then_some((r, issuer))
        })
        .collect();
    if issuers.is_empty() || issuers.iter().any(|(_, s)| issuer_matches(s, iss)) {
        return None;
    }
    // The discovery document closest to the token's iss.
    let (disc, issuer) = issuers
        .iter()
        .min_by_key(|(_, s)| diff(s, iss).kinds.len())?;
    let d = diff(issuer, iss);
    let mut ev = diff_evidence(issuer, iss, &d);
    ev.insert("discovery_record".into(), json!(disc.id));
    ev.insert("token_record".into(), json!(rec.id));
    if issuers.len() > 1 {
        ev.insert(
            "issuers_seen".into(),
            json!(issuers.iter().map(|(_, s)| s).collect::<Vec<_>>()),
        );
    }
    Some(Finding::new(
        i,
        code::JWT_ISS_MISMATCH
            .annotation(
                format!(
                    "The iss claim must equal the issuer of the provider's discovery document \
                 exactly (OIDC Core §3.1.3.7 step 2, OIDC Discovery §4.3: simple string \
                 comparison), so {} is enough for clients to reject the token. Configure the \
                 client with the issuer string exactly as the discovery document publishes it \
                 (multi-tenant providers: the tenant-specific issuer).",
                    d.words()
                ),
                Value::Object(ev),
            )
            .about(d.words()),
    ))
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;

//! Rule family `pkce` (RFC 7636): the `code_challenge` sent with the
//! authorization request against the `code_verifier` of the
//! `authorization_code` token request of the same flow.
//!
//! Codes: `pkce.verifier_missing`, `pkce.mismatch` (errors), and the
//! warnings `pkce.plain_method`, `pkce.method_unknown`,
//! `pkce.challenge_malformed`, `pkce.verifier_malformed`,
//! `pkce.verifier_without_challenge`.
//!
//! Redacted exports replace the verifier with a fingerprint; values that
//! [`crate::redact::is_redacted`] recognises are never judged, so
//! re-analysing an export gives no false findings.

use super::authorize::{leg_for, AuthorizeLeg};
use super::login::Login;
use super::params;
use super::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Kind, Record};
use crate::redact::is_redacted;
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The S256 challenge of a verifier: BASE64URL-NOPAD(SHA-256(ASCII(verifier))).
pub fn s256_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The challenge a verifier gives under `method` (`S256`, or `plain`),
/// `None` for an unknown method.
pub fn challenge_for(method: &str, verifier: &str) -> Option<String> {
    match method {
        "S256" => Some(s256_challenge(verifier)),
        "plain" => Some(verifier.to_string()),
        _ => None,
    }
}

/// Why a verifier breaks RFC 7636 §4.1 (43–128 characters of
/// `[A-Za-z0-9-._~]`), if it does.
pub fn verifier_problem(verifier: &str) -> Option<String> {
    let n = verifier.chars().count();
    let bad: Vec<char> = verifier
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')))
        .collect();
    let mut why = Vec::new();
    if n < 43 {
        why.push(format!("{n} characters (minimum 43)"));
    } else if n > 128 {
        why.push(format!("{n} characters (maximum 128)"));
    }
    if !bad.is_empty() {
        let mut uniq: Vec<String> = bad.iter().map(|c| format!("{c:?}")).collect();
        uniq.sort();
        uniq.dedup();
        why.push(format!(
            "characters outside [A-Za-z0-9-._~]: {}",
            uniq.join(" ")
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// Why an S256 challenge cannot be BASE64URL-NOPAD of a SHA-256 (padding,
/// `+` or `/`, or a length other than 43), if it cannot.
pub fn s256_challenge_problem(challenge: &str) -> Option<String> {
    let mut why = Vec::new();
    if challenge.contains('=') {
        why.push("padding '=' (must be base64url without padding)".to_string());
    }
    if challenge.contains('+') || challenge.contains('/') {
        why.push("'+' or '/' (standard base64; base64url uses '-' and '_')".to_string());
    }
    let n = challenge.chars().count();
    if n != 43 {
        why.push(format!("{n} characters (a SHA-256 in base64url is 43)"));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// Findings of this rule family over records in time order.
pub fn annotate(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let legs = &login.legs;
    let mut out = Vec::new();
    for leg in legs {
        out.extend(challenge_checks(records, leg));
    }
    for (i, rec) in records.iter().enumerate() {
        if rec.kind == Kind::TokenRequest && rec.grant_type.as_deref() == Some("authorization_code")
        {
            out.extend(token_checks(records, legs, i));
        }
    }
    out
}

fn challenge_checks(records: &[Record], leg: &AuthorizeLeg) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(challenge) = leg.get("code_challenge") else {
        return out;
    };
    let idx = leg.source_of(records, "code_challenge");
    let id = &records[idx].id;
    let method = leg.get("code_challenge_method");
    match method {
        None | Some("plain") => out.push(Finding::new(
            idx,
            code::PKCE_PLAIN_METHOD
                .annotation(
                    "With plain, the challenge is the verifier itself, so anyone who sees the \
                 authorization request can redeem the code. RFC 7636 §4.2 says clients capable \
                 of S256 MUST use it, and an absent code_challenge_method means plain (§4.3); \
                 some providers (OAuth 2.1, Entra, Okta) reject plain. Send \
                 code_challenge_method=S256 with BASE64URL(SHA256(verifier)).",
                    json!({
                        "code_challenge_method": method,
                        "absent_means": "plain",
                        "authorize_record": id,
                    }),
                )
                .about(match method {
                    None => "no code_challenge_method, so plain is assumed",
                    Some(_) => "code_challenge_method=plain",
                }),
        )),
        Some("S256") => {
            if !is_redacted(challenge) {
                if let Some(why) = s256_challenge_problem(challenge) {
                    out.push(Finding::new(
                        idx,
                        code::PKCE_CHALLENGE_MALFORMED.annotation(
                            format!(
                                "An S256 challenge is BASE64URL-NOPAD(SHA256(verifier)): 43 \
                                 characters of [A-Za-z0-9-_] (RFC 7636 §4.2). This one has {why}. \
                                 The server will compute a different value from the verifier \
                                 and answer invalid_grant; encode with base64url and strip the \
                                 padding."
                            ),
                            json!({
                                "code_challenge": challenge,
                                "problem": why,
                                "authorize_record": id,
                            }),
                        ),
                    ));
                }
            }
        }
        Some(other) => out.push(Finding::new(
            idx,
            code::PKCE_METHOD_UNKNOWN
                .annotation(
                    "RFC 7636 defines exactly \"S256\" and \"plain\", and the values are \
                 case-sensitive (\"s256\" is not S256); servers answer invalid_request. Send \
                 code_challenge_method=S256.",
                    json!({ "code_challenge_method": other, "authorize_record": id }),
                )
                .about(format!("{other:?}")),
        )),
    }
    out
}

fn token_checks(records: &[Record], legs: &[AuthorizeLeg], i: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    let tok = &records[i];
    let tp = params::request_params(tok);
    let verifier = params::get(&tp, "code_verifier");
    let leg = leg_for(records, legs, i);
    let challenge = leg.and_then(|l| l.get("code_challenge"));

    if let Some(v) = verifier.filter(|v| !is_redacted(v)) {
        if let Some(why) = verifier_problem(v) {
            out.push(Finding::new(
                i,
                code::PKCE_VERIFIER_MALFORMED.annotation(
                    format!(
                        "A code_verifier is 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 \
                         §4.1); this one has {why}. Strict servers answer invalid_request or \
                         invalid_grant. Generate 32 random bytes and base64url-encode them \
                         without padding."
                    ),
                    json!({
                        "verifier_length": v.chars().count(),
                        "problem": why,
                        "token_record": tok.id,
                    }),
                ),
            ));
        }
    }

    let (Some(leg), Some(challenge)) = (leg, challenge) else {
        if let (Some(leg), Some(_)) = (leg.filter(|l| !l.opaque), verifier) {
            out.push(Finding::new(
                i,
                code::PKCE_VERIFIER_WITHOUT_CHALLENGE.annotation(
                    "The token request carries a code_verifier although the authorization \
                     request sent no code_challenge. Most servers ignore it, but some reject the \
                     exchange (invalid_grant: no challenge bound to the code). Send the \
                     code_challenge with the authorization request, or drop the verifier.",
                    json!({
                        "authorize_record": records[leg.index].id,
                        "token_record": tok.id,
                    }),
                ),
            ));
        }
        return out;
    };
    let auth_id = &records[leg.source_of(records, "code_challenge")].id;
    let method = leg.get("code_challenge_method").unwrap_or("plain");
    let Some(verifier) = verifier else {
        out.push(Finding::new(
            i,
            code::PKCE_VERIFIER_MISSING.annotation(
                "The authorization request sent a code_challenge, so the server bound the code \
                 to it and requires the matching code_verifier in the token request (RFC 7636 \
                 §4.5, §4.6); without it the answer is invalid_grant (or invalid_request). \
                 Send the verifier generated for this authorization request.",
                json!({
                    "code_challenge": challenge,
                    "code_challenge_method": method,
                    "authorize_record": auth_id,
                    "token_record": tok.id,
                }),
            ),
        ));
        return out;
    };
    if is_redacted(verifier) || is_redacted(challenge) {
        return out;
    }
    let Some(computed) = challenge_for(method, verifier) else {
        return out;
    };
    if computed != challenge {
        out.push(Finding::new(
            i,
            code::PKCE_MISMATCH
                .annotation(
                    format!(
                        "{} of the token request's code_verifier is not the code_challenge the \
                     authorization request sent, so the server answers invalid_grant (RFC 7636 \
                     §4.6). The client most likely sent the verifier of another login attempt \
                     (several tabs, a retried login, a verifier kept in a shared session) or \
                     encoded the challenge differently. Keep one verifier per authorization \
                     request and send that one.",
                        if method == "S256" {
                            "BASE64URL-NOPAD(SHA256(verifier))"
                        } else {
                            "The plain value"
                        }
                    ),
                    json!({
                        "code_challenge_method": method,
                        "sent_challenge": challenge,
                        "computed_challenge": computed,
                        "verifier_length": verifier.chars().count(),
                        "authorize_record": auth_id,
                        "token_record": tok.id,
                    }),
                )
                .about(method),
        ));
    }
    out
}

#[cfg(test)]
#[path = "pkce_tests.rs"]
mod tests;

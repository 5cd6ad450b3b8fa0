//! Rule family `state`: CSRF protection of the authorization code flow
//! (RFC 6749 §10.12, RFC 9700 §4.7).
//!
//! Codes:
//! - `state.missing`: an authorization request without `state` (a warning,
//!   or info when PKCE or an OIDC nonce provides the CSRF protection), or an
//!   authorization response / callback that does not return the `state` its
//!   authorization request sent (a warning);
//! - `state.mismatch` (error): a callback's or authorization response's
//!   `state` equals no authorization request's `state` in the whole capture
//!   (flows are grouped by state, so such a callback sits alone in its own
//!   flow: every record is searched, not only the flow);
//! - `state.unverified` (info): a response's `state` could not be checked
//!   because the capture holds no readable authorization request (none at
//!   all, or one whose parameters are hidden behind an uncaptured PAR
//!   `request_uri` or an encrypted request object).

use super::authorize::{authorization_response, leg_for, AuthorizeLeg};
use super::login::Login;
use super::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Record, Severity};
use crate::redact::is_redacted;
use serde_json::json;

/// How many of the states seen are listed in `state.mismatch` evidence.
const MAX_STATES_LISTED: usize = 20;

fn nonempty(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty())
}

/// Findings of this rule family over records in time order.
pub fn annotate(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let legs = &login.legs;
    let mut out = Vec::new();
    for leg in legs {
        if let Some(f) = request_check(records, leg) {
            out.push(f);
        }
    }
    // Every state an authorization request sent, with its record, in time order.
    let seen: Vec<(&str, &str)> = legs
        .iter()
        .filter_map(|l| {
            nonempty(l.get("state"))
                .map(|s| (s, records[l.source_of(records, "state")].id.as_str()))
        })
        .collect();
    for (i, rec) in records.iter().enumerate() {
        let Some(resp) = authorization_response(rec) else {
            continue;
        };
        let where_ = if resp.is_callback {
            "callback"
        } else {
            "authorization response"
        };
        match nonempty(super::params::get(&resp.params, "state")) {
            None => {
                let leg = leg_for(records, legs, i).or_else(|| {
                    // Without state (and before a code links it to a token
                    // request) the response is alone in its flow: take the
                    // latest earlier request for the same redirect URI.
                    legs.iter().rev().find(|l| {
                        l.index < i && l.get("redirect_uri") == Some(resp.redirect_uri.as_str())
                    })
                });
                let Some(leg) = leg else { continue };
                let Some(sent) = nonempty(leg.get("state")) else {
                    continue;
                };
                out.push(Finding::new(
                    i,
                    code::STATE_MISSING.annotation(
"RFC 6749 §4.1.2 requires the authorization server to return the exact \
                         state the client sent; a client that checks state (as it must, \
                         RFC 6749 §10.12) rejects this response as a possible CSRF attack. If \
                         the provider dropped it, check its response_mode; if a proxy or \
                         framework rewrote the redirect, keep the query intact.",
json!({
                            "expected_state": sent,
                            "authorize_record": records[leg.source_of(records, "state")].id,
                            "response_record": rec.id,
                        }),
).about(format!(
                            "the {where_} does not return the one the authorization request sent"
                        )),
                ));
            }
            Some(state) if is_redacted(state) => {}
            Some(state) => {
                if seen.iter().any(|(s, _)| *s == state) {
                    continue;
                }
                if legs.is_empty() || legs.iter().any(|l| l.opaque) {
                    out.push(Finding::new(
                        i,
                        code::STATE_UNVERIFIED.annotation(
"The capture holds no authorization request whose state can be read \
                             (none captured, a request_uri whose PAR request was not captured, or \
                             an encrypted request object), so the state this response carries \
                             cannot be compared with the one the client sent. Capture the whole \
                             login, from its first request, to check it.",
json!({ "state": state, "response_record": rec.id }),
).about(format!("{where_}, no readable authorization request")),
                    ));
                    continue;
                }
                let mut ev = json!({
                    "state": state,
                    "states_seen": seen.iter().rev().take(MAX_STATES_LISTED).map(|(s, _)| *s).collect::<Vec<_>>(),
                    "authorize_records": seen.iter().rev().take(MAX_STATES_LISTED).map(|(_, id)| *id).collect::<Vec<_>>(),
                    "response_record": rec.id,
                });
                let decoded = super::redirect_uri::pct_decode;
                if let Some((s, id)) = seen.iter().find(|(s, _)| {
                    decoded(state) == *s || decoded(s) == state || s.trim() == state.trim()
                }) {
                    ev["near_match"] = json!({
                        "state": s,
                        "authorize_record": id,
                        "note": "equal after percent-decoding or trimming: the state was encoded \
                                 or decoded once too often on its way back",
                    });
                }
                out.push(Finding::new(
                    i,
                    code::STATE_MISMATCH
                        .annotation(
                            "No captured authorization request sent this state, so a client that \
                         checks state (RFC 6749 §10.12) rejects the response: a stale or \
                         bookmarked callback, a login started in another tab or browser, a \
                         session cookie lost between the authorization request and the \
                         callback (SameSite, another host name), or a forged response. Start \
                         the login again from the application and keep one host name.",
                            ev,
                        )
                        .about(where_),
                ));
            }
        }
    }
    out
}

fn request_check(records: &[Record], leg: &AuthorizeLeg) -> Option<Finding> {
    if leg.opaque || nonempty(leg.get("state")).is_some() {
        return None;
    }
    let pkce = leg.get("code_challenge").is_some();
    let nonce = nonempty(leg.get("nonce")).is_some();
    let (severity, detail) = if pkce || nonce {
        (
            Severity::Info,
            format!(
                "Without state the client cannot tie the response to its own request, but {} \
                 provides CSRF protection (RFC 9700 §4.7.1: clients may rely on PKCE, and \
                 OpenID Connect's nonce, for it). Sending state is still good practice, and \
                 some providers and client libraries require it.",
                match (pkce, nonce) {
                    (true, true) => "PKCE (and the nonce)",
                    (true, false) => "PKCE",
                    _ => "the OpenID Connect nonce",
                }
            ),
        )
    } else {
        (
            Severity::Warning,
            "Without state (and without PKCE or a nonce) nothing ties the authorization response \
             to this browser session, so an attacker can make the victim's browser complete a \
             login with the attacker's code (CSRF, RFC 6749 §10.12, RFC 9700 §4.7). Send an \
             unguessable state per request and check it on the callback, or use PKCE."
                .to_string(),
        )
    };
    Some(Finding::new(
        leg.index,
        code::STATE_MISSING
            .annotation(
                detail,
                json!({
                    "authorize_record": records[leg.index].id,
                    "pkce": pkce,
                    "nonce": nonce,
                }),
            )
            .with_severity(severity),
    ))
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

//! Rule family `diagnose`: what the flow's evidence says caused an error.
//!
//! Runs after every other rule (see [`super::analyze`]), so each record
//! already carries the first pass's annotations (`redirect_uri.mismatch`,
//! `pkce.mismatch`, `error.<code>`, ...). The diagnosis uses them when they
//! are there, but recomputes the cheap facts itself from the records (the
//! authorize request's `redirect_uri`, the S256 of the verifier, the age of
//! the code, earlier uses of the same code or refresh token), so it does not
//! depend only on another rule's output.
//!
//! Every finding is a `diagnosis.*` annotation on the failing record whose
//! `evidence` names the records (by id) and fields that back it:
//! - [`code_grant`]: `invalid_grant` on an authorization-code exchange
//!   (`code_expired`, `code_reused`, `redirect_uri_mismatch`,
//!   `client_id_mismatch`, `pkce_mismatch`, `access_denied`, or
//!   `undetermined`);
//! - [`refresh`]: `refresh_token_reused`, `missing_offline_access`, and
//!   `undetermined` for refresh failures nothing explains;
//! - [`endpoint`]: `token_url_not_found`, `invalid_client_credentials`,
//!   `grant_type_not_enabled`, `silent_auth_failed`.

pub mod access_token;
pub mod authorize_refused;
pub mod causes;
pub mod client_grant;
pub mod clock;
pub mod code_grant;
pub mod cookies;
pub mod endpoint;
pub mod evidence;
pub mod invalid_client;
pub mod refresh;
pub mod region;
pub mod scheme;
pub mod sibling;
pub mod unexplained;

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod evidence_tests;

use super::errors;
use super::flavour::{self, AuthHeader};
use super::login::Login;
use super::params::{self, Params};
use super::{AnalyzeOptions, Finding};
use crate::record::{Kind, Record};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Findings of this rule family over records in time order (flows,
/// flavours and first-pass annotations already set).
pub fn annotate(login: &Login, opts: &AnalyzeOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(code_grant::diagnose(login, opts));
    out.extend(refresh::diagnose(login, opts));
    out.extend(endpoint::diagnose(login, opts));
    out.extend(evidence::diagnose(login));
    out.extend(evidence::pkce_required(login));
    out.extend(region::diagnose(login, opts));
    out.extend(scheme::diagnose(login, opts));
    out.extend(authorize_refused::diagnose(login, opts));
    out.extend(access_token::diagnose(login, opts));
    out.extend(clock::diagnose(login, opts));
    out.retain(|f| !cookies::superseded(login, f));
    let rest = unexplained::diagnose(login, &out);
    out.extend(rest);
    settle(out)
}

/// Diagnoses that a more specific one on the same record makes redundant
/// or wrong: `undetermined` next to a proven cause, and "check the secret"
/// (`invalid_client_credentials`) where the records show that no secret was
/// sent or that the method, not the secret, was refused.
fn settle(mut out: Vec<Finding>) -> Vec<Finding> {
    use std::collections::HashMap;
    let mut codes: HashMap<usize, Vec<String>> = HashMap::new();
    for f in &out {
        codes
            .entry(f.record)
            .or_default()
            .push(f.annotation.code.clone());
    }
    out.retain(|f| {
        let here = &codes[&f.record];
        match f.annotation.code.as_str() {
            "diagnosis.undetermined" => !here.iter().any(|c| {
                c.starts_with("diagnosis.")
                    && c != "diagnosis.undetermined"
                    && c != "diagnosis.missing_offline_access"
            }),
            "diagnosis.invalid_client_credentials" => !here.iter().any(|c| {
                c == "diagnosis.public_client_not_allowed"
                    || c == "diagnosis.client_auth_method_rejected"
                    || c == "diagnosis.token_endpoint_region_mismatch"
            }),
            // The downgrade behind a proxy is the more specific cause.
            "diagnosis.redirect_uri_mismatch" => !here
                .iter()
                .any(|c| c == "diagnosis.redirect_uri_scheme_downgrade"),
            _ => true,
        }
    });
    out
}

/// The OAuth error(s) one exchange carried, gathered from every place we
/// know: [`errors::extract`], the first pass's `error.<code>` annotations, a
/// form-encoded error body (GitHub), and Entra `AADSTS` numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    /// Error codes as sent (deduplicated, in the order found).
    pub codes: Vec<String>,
    /// `error_description`s and provider messages.
    pub descriptions: Vec<String>,
    /// Entra `AADSTS` numbers from descriptions or `error_codes`.
    pub aadsts: Vec<u32>,
    /// HTTP status of the response, if there was one.
    pub status: Option<u16>,
}

impl Failure {
    /// Gather the errors of `rec`.
    pub fn of(rec: &Record) -> Failure {
        let mut f = Failure {
            status: rec.response.as_ref().map(|r| r.status),
            ..Failure::default()
        };
        // `extract` already reads form bodies (GitHub), Entra `error_codes`
        // and AADSTS numbers in descriptions (as `AADSTSnnnn` codes).
        for e in errors::extract(rec) {
            match e.code.strip_prefix("AADSTS").and_then(|n| n.parse().ok()) {
                Some(n) => {
                    f.aadsts.push(n);
                    if let Some(d) = e.description.filter(|d| !d.is_empty()) {
                        if !f.descriptions.contains(&d) {
                            f.descriptions.push(d);
                        }
                    }
                }
                None => f.push(e.code, e.description),
            }
        }
        f.aadsts.sort_unstable();
        f.aadsts.dedup();
        f
    }

    fn push(&mut self, code: String, description: Option<String>) {
        if !self.codes.iter().any(|c| c == &code) {
            self.codes.push(code);
        }
        if let Some(d) = description {
            if !d.is_empty() && !self.descriptions.contains(&d) {
                self.descriptions.push(d);
            }
        }
    }

    /// True when no error was seen.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty() && self.aadsts.is_empty()
    }

    /// The first code among `names` (ASCII case-insensitive; `-` and `_` alike).
    pub fn has(&self, names: &[&str]) -> Option<&str> {
        let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
        self.codes
            .iter()
            .find(|c| names.iter().any(|n| norm(c) == norm(n)))
            .map(String::as_str)
    }

    /// True when one of the AADSTS numbers is in `nums`.
    pub fn has_aadsts(&self, nums: &[u32]) -> Option<u32> {
        self.aadsts.iter().copied().find(|n| nums.contains(n))
    }

    /// True when a description contains one of `needles` (case-insensitive).
    pub fn says(&self, needles: &[&str]) -> Option<String> {
        self.descriptions
            .iter()
            .find(|d| {
                let l = d.to_ascii_lowercase();
                needles.iter().any(|n| l.contains(&n.to_ascii_lowercase()))
            })
            .cloned()
    }

    /// The code to name in titles: the first code, or `AADSTSn`.
    pub fn main_code(&self) -> String {
        self.codes
            .first()
            .cloned()
            .or_else(|| self.aadsts.first().map(|n| format!("AADSTS{n}")))
            .unwrap_or_default()
    }

    /// A JSON summary for evidence.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::json!({ "codes": self.codes, "status": self.status });
        if let Some(d) = self.descriptions.first() {
            v["description"] = Value::from(d.clone());
        }
        if !self.aadsts.is_empty() {
            v["aadsts"] = Value::from(self.aadsts.clone());
        }
        v
    }
}

/// Parameters of a token response: a JSON object's scalar members, or a
/// form-encoded body (GitHub's default).
pub fn response_params(rec: &Record) -> Params {
    let Some(resp) = rec.response.as_ref() else {
        return Vec::new();
    };
    let Some(text) = resp.body.as_text() else {
        return Vec::new();
    };
    let text = text.trim();
    if text.starts_with('{') {
        params::json_params(text)
    } else if !text.starts_with('<') && text.contains('=') {
        params::form_params(text)
    } else {
        Vec::new()
    }
}

/// The `grant_type` of a token request (the recorded one, else the body's).
pub fn grant_type(rec: &Record) -> Option<String> {
    rec.grant_type
        .clone()
        .or_else(|| params::get(&params::request_params(rec), "grant_type").map(str::to_string))
}

/// True for a token request whose response succeeded: 2xx, no error, an `access_token`.
pub fn token_succeeded(rec: &Record) -> bool {
    let ok = rec
        .response
        .as_ref()
        .is_some_and(|r| (200..300).contains(&r.status));
    ok && Failure::of(rec).is_empty()
        && params::get(&response_params(rec), "access_token").is_some_and(|t| !t.is_empty())
}

/// A short, stable fingerprint of a secret (code, token) for evidence, so a
/// reader can see two values are equal without the value itself.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..12])
}

/// `client_id` of a token request ([`crate::analyze::client_id::of_request`]:
/// the Basic user first, else the body, else the query) and the field it came from.
pub fn token_client_id(rec: &Record) -> Option<(String, &'static str)> {
    crate::analyze::client_id::of_request(rec).map(|(leg, v)| (v, leg.field()))
}

/// The `(id, secret)` of a Basic `Authorization` header, decoded the way
/// [`crate::analyze::flavour::authorization`] reads it (RFC 6749 §2.3.1
/// decoding only when the header is URL-encoded).
pub fn basic_credentials(rec: &Record) -> Option<(String, String)> {
    match flavour::authorization(&rec.request.headers) {
        AuthHeader::Basic(c) => Some((c.client_id(), c.secret())),
        _ => None,
    }
}

/// The parameters of an authorize request, with those of the PAR request
/// its `request_uri` points to and of its request object merged in (RFC 9126
/// §4 and RFC 9101 precedence: theirs win), as the other rules read them
/// ([`Login::legs`]).
pub fn authorize_params(login: &Login, authorize: usize) -> Params {
    login
        .legs
        .iter()
        .find(|l| l.index == authorize)
        .map(|l| l.params.clone())
        .unwrap_or_else(|| params::request_params(&login.records[authorize]))
}

/// The records (indices) that delivered an authorization code to the
/// client before `before`: authorization responses whose `Location` carries
/// it and callbacks carrying it, earliest first.
pub fn code_deliveries(records: &[Record], code: &str, before: usize) -> Vec<usize> {
    records[..before]
        .iter()
        .enumerate()
        .filter(|(_, r)| match r.kind {
            // An authorize request's own 3xx delivers too (silent SSO, or a
            // HAR entry holding the request and its redirect).
            Kind::AuthorizationResponse | Kind::AuthorizeRequest | Kind::ProviderPage => {
                params::get(&params::location_params(r), "code") == Some(code)
            }
            Kind::Callback => params::get(&params::request_params(r), "code") == Some(code),
            _ => false,
        })
        .map(|(i, _)| i)
        .collect()
}

/// When the client received the code a delivery carried: the response time
/// of a provider's redirect, the request time of a callback.
pub fn delivered_at(rec: &Record) -> time::OffsetDateTime {
    match rec.kind {
        Kind::Callback => rec.time,
        _ => crate::analyze::login::received_at(rec),
    }
}

/// The `state` an authorization response or callback carried back.
pub fn delivered_state(rec: &Record) -> Option<String> {
    let p = match rec.kind {
        Kind::AuthorizationResponse | Kind::AuthorizeRequest | Kind::ProviderPage => {
            params::location_params(rec)
        }
        _ => params::request_params(rec),
    };
    params::get(&p, "state").map(str::to_string)
}

/// The authorize request behind an authorization response or callback at
/// `leg`: the latest earlier authorize request with the same `state`, else
/// the latest earlier one in the same flow.
pub fn authorize_for(login: &Login, leg: usize) -> Option<usize> {
    let records = login.records;
    if records[leg].kind == Kind::AuthorizeRequest {
        return Some(leg);
    }
    let state = delivered_state(&records[leg]);
    let earlier = || {
        records[..leg]
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, r)| r.kind == Kind::AuthorizeRequest)
    };
    if let Some(s) = &state {
        if let Some((i, _)) = earlier()
            .find(|(i, _)| params::get(&authorize_params(login, *i), "state") == Some(s.as_str()))
        {
            return Some(i);
        }
    }
    let flow = records[leg].flow.as_ref()?;
    earlier()
        .find(|(_, r)| r.flow.as_ref() == Some(flow))
        .map(|(i, _)| i)
}

/// The provider id of a URL (see [`crate::providers::of_url`]), for
/// provider-specific limits and advice.
pub fn provider(url: &str) -> Option<&'static str> {
    crate::providers::of_url(url).map(|p| p.id)
}

/// The title of a `diagnosis.undetermined`: what the provider's code means
/// (from the catalog, as that provider means it) and what was checked —
/// never "the capture does not show why" next to a definitive code.
pub fn undetermined_about(rec: &Record, f: &Failure, what: &str, checked: &[String]) -> String {
    let code = f.main_code();
    let profile = crate::providers::of_url(&rec.request.url).map(|p| p.id);
    let meaning =
        crate::catalog::resolve(&code, profile, f.descriptions.first().map(String::as_str))
            .map(|e| e.title);
    let checked = if checked.is_empty() {
        String::new()
    } else {
        format!("; ruled out: {}", checked.join(", "))
    };
    match meaning {
        Some(m) => format!("{what} failed with {code} ({m}){checked}"),
        None => format!("{what} failed with {code}{checked}"),
    }
}

/// The ids of the records at the indices `idx`.
pub(crate) fn ids(records: &[Record], idx: &[usize]) -> Vec<String> {
    idx.iter().map(|&i| records[i].id.clone()).collect()
}

//! Authorization requests and authorization responses as the rules read
//! them: each authorize leg with its PAR body (RFC 9126 §4) and request
//! object (RFC 9101) merged in, which leg a later record belongs to, and the
//! authorization response (code, state, error, tokens) a redirect or
//! callback carries (RFC 6749 §4.1.2, OIDC Core §3.1.2.5, RFC 9207).
//!
//! [`authorize_legs`] is computed once per flow into
//! [`super::login::Login::legs`]; rules read it from there.

use super::jose;
use super::params::{self, Params};
use crate::record::{Kind, Record};
use serde_json::Value;

/// The parameters one authorization request sent: an authorize request's
/// query (or form body), merged with the body of the PAR request it
/// referenced by `request_uri` (whose values win, RFC 9126 §4), or a PAR
/// request whose authorize request was not captured.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizeLeg {
    /// Index of the authorize request record (of the PAR record when no
    /// authorize request was captured).
    pub index: usize,
    /// Index of the PAR record, when there was one.
    pub par: Option<usize>,
    /// The merged parameters.
    pub params: Params,
    /// True when some parameters could not be seen: a `request_uri` whose
    /// PAR request was not captured, or a `request` object that does not
    /// decode (encrypted). Rules must not conclude that a parameter was
    /// absent from an opaque request.
    pub opaque: bool,
}

impl AuthorizeLeg {
    /// The first value of parameter `name`; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        // RFC 6749 §3.1: "Parameters sent without a value MUST be treated as
        // if they were omitted from the request" (a consent form posting
        // back an empty `code_challenge`, Doorkeeper).
        params::get(&self.params, name).filter(|v| !v.is_empty())
    }

    /// Index of the record that carried parameter `name` (the PAR record
    /// when the PAR body held it, else the authorize request).
    pub fn source_of(&self, records: &[Record], name: &str) -> usize {
        match self.par {
            Some(p) if params::get(&params::request_params(&records[p]), name).is_some() => p,
            _ => self.index,
        }
    }

    /// True when the authorize request or its PAR is in flow `flow`.
    pub fn in_flow(&self, records: &[Record], flow: Option<&str>) -> bool {
        let Some(flow) = flow else { return false };
        std::iter::once(self.index)
            .chain(self.par)
            .any(|i| records[i].flow.as_deref() == Some(flow))
    }
}

/// Every authorization request in `records` (time order), PAR bodies merged in.
pub fn authorize_legs(records: &[Record]) -> Vec<AuthorizeLeg> {
    let par_uri = |r: &Record| {
        params::response_json(r).and_then(|j| {
            j.get("request_uri")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    };
    let mut used_pars = Vec::new();
    let mut legs = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if r.kind != Kind::AuthorizeRequest {
            continue;
        }
        let mut p = params::request_params(r);
        let mut par = None;
        if let Some(uri) = params::get(&p, "request_uri").map(str::to_string) {
            par = records[..i]
                .iter()
                .rposition(|q| q.kind == Kind::Par && par_uri(q).as_deref() == Some(uri.as_str()));
        }
        let mut opaque = params::get(&p, "request_uri").is_some() && par.is_none();
        if let Some(pi) = par {
            used_pars.push(pi);
            p = overlay(params::request_params(&records[pi]), p);
        }
        opaque |= merge_request_object(&mut p);
        legs.push(AuthorizeLeg {
            index: i,
            par,
            params: p,
            opaque,
        });
    }
    for (i, r) in records.iter().enumerate() {
        if r.kind == Kind::Par && !used_pars.contains(&i) {
            let mut p = params::request_params(r);
            let opaque = merge_request_object(&mut p);
            legs.push(AuthorizeLeg {
                index: i,
                par: Some(i),
                params: p,
                opaque,
            });
        }
    }
    legs.sort_by_key(|l| l.index);
    legs
}

/// `first`'s parameters, plus those of `second` whose names `first` lacks.
fn overlay(mut first: Params, second: Params) -> Params {
    for (k, v) in second {
        if params::get(&first, &k).is_none() {
            first.push((k, v));
        }
    }
    first
}

/// Merge the string and number claims of a JAR `request` object (RFC 9101,
/// read without verifying it; its values win) into `p`. Returns true when a
/// `request` parameter is present but cannot be read (encrypted, malformed,
/// or redacted away).
fn merge_request_object(p: &mut Params) -> bool {
    let Some(obj) = params::get(p, "request").map(str::to_string) else {
        return false;
    };
    match jose::decode_unverified(&obj) {
        Ok(d) => {
            let claims: Params = d
                .claims
                .into_iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k, s)),
                    Value::Number(n) => Some((k, n.to_string())),
                    _ => None,
                })
                .collect();
            *p = overlay(claims, std::mem::take(p));
            false
        }
        Err(_) => true,
    }
}

/// The `state` that ties record `index` to its authorization request: the
/// state an authorization response or callback carried back, or, for a
/// token request, the state delivered with the code it sends.
fn state_of(records: &[Record], index: usize) -> Option<String> {
    let rec = &records[index];
    let delivered = |r: &Record| {
        authorization_response(r).and_then(|a| {
            params::get(&a.params, "state")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
    };
    match rec.kind {
        Kind::Callback | Kind::AuthorizationResponse => delivered(rec),
        Kind::TokenRequest => {
            let code = params::get(&params::request_params(rec), "code")?.to_string();
            records[..index].iter().rev().find_map(|r| {
                let a = authorization_response(r)?;
                (params::get(&a.params, "code") == Some(code.as_str()))
                    .then(|| delivered(r))
                    .flatten()
            })
        }
        _ => None,
    }
}

/// The authorization request record `index` belongs to: the latest leg of
/// the same flow at or before it whose `state` is the one the record's
/// response carried back (two tabs, two logins in one flow), else the
/// latest leg of the flow at or before it, else the flow's earliest leg.
pub fn leg_for<'a>(
    records: &[Record],
    legs: &'a [AuthorizeLeg],
    index: usize,
) -> Option<&'a AuthorizeLeg> {
    let flow = records[index].flow.as_deref();
    let all: Vec<&AuthorizeLeg> = legs.iter().filter(|l| l.in_flow(records, flow)).collect();
    let before = |l: &&&AuthorizeLeg| l.index.min(l.par.unwrap_or(l.index)) <= index;
    if all.len() > 1 {
        if let Some(state) = state_of(records, index) {
            if let Some(l) = all
                .iter()
                .rev()
                .filter(before)
                .find(|l| l.get("state") == Some(state.as_str()))
            {
                return Some(l);
            }
        }
    }
    all.iter()
        .rev()
        .find(before)
        .or_else(|| all.first())
        .copied()
}

/// Response parameters an authorization server adds to the redirect URI
/// (RFC 6749 §4.1.2, OIDC, RFC 9207, and common provider additions).
const RESPONSE_PARAMS: &[&str] = &[
    "code",
    "state",
    "error",
    "error_description",
    "error_uri",
    "iss",
    "session_state",
    "id_token",
    "access_token",
    "token_type",
    "expires_in",
    "scope",
    "authuser",
    "prompt",
    "hd",
    "client_info",
];

/// Parameters that make a redirect an authorization response.
const RESPONSE_MARKERS: &[&str] = &["code", "error", "id_token", "access_token"];

/// An authorization response seen in a record: where the browser was sent
/// (or arrived), and the response parameters it carried.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationResponse {
    /// The redirect target as written (the callback URL or the `Location`).
    pub url: String,
    /// The redirect target without the response parameters: what the
    /// authorize request's `redirect_uri` should equal.
    pub redirect_uri: String,
    /// Every parameter carried (query, fragment, or form_post body).
    pub params: Params,
    /// True for a callback request, false for a 3xx `Location`.
    pub is_callback: bool,
}

/// The authorization response `rec` carries, if any: a callback request, or
/// a 3xx (authorization response or authorize request) whose `Location`
/// carries `code`, `error` or tokens. A redirect carrying only `state` is a
/// provider's internal hop (Auth0 `/u/login?state=...`), not a response.
pub fn authorization_response(rec: &Record) -> Option<AuthorizationResponse> {
    match rec.kind {
        Kind::Callback => {
            let p = params::request_params(rec);
            Some(AuthorizationResponse {
                redirect_uri: strip_response_params(&rec.request.url),
                url: rec.request.url.clone(),
                params: p,
                is_callback: true,
            })
        }
        Kind::AuthorizationResponse | Kind::AuthorizeRequest | Kind::ProviderPage => {
            // Follow the browser: a redirect, a JSON `location`, a meta
            // refresh, or an auto-submitting form_post page.
            let url = params::next_location(rec)
                .or_else(|| params::form_post_page(rec).map(|(action, _)| action))?;
            if stays_at_the_provider(rec, &url) {
                return None;
            }
            let p = params::location_params(rec);
            if !RESPONSE_MARKERS
                .iter()
                .any(|m| params::get(&p, m).is_some())
            {
                return None;
            }
            Some(AuthorizationResponse {
                redirect_uri: strip_response_params(&url),
                url,
                params: p,
                is_callback: false,
            })
        }
        _ => None,
    }
}

/// True when a provider's answer sends the browser to one of the
/// provider's own pages (its error page: Cognito `/error?error=...`,
/// Salesforce `RemoteAccessErrorPage.apexp`), not back to the client: the
/// next URL is on the request's own origin while the authorize request's
/// `redirect_uri` (when it has one) is elsewhere. A provider page's
/// same-origin hop is always internal.
pub fn stays_at_the_provider(rec: &Record, next: &str) -> bool {
    let origin = |u: &str| url::Url::parse(u.trim()).ok().map(|u| u.origin());
    let (Some(here), Some(there)) = (origin(&rec.request.url), origin(next)) else {
        return false;
    };
    if here != there {
        return false;
    }
    match rec.kind {
        Kind::ProviderPage => true,
        Kind::AuthorizeRequest => params::get(&params::request_params(rec), "redirect_uri")
            .and_then(origin)
            .is_some_and(|ru| ru != here),
        _ => false,
    }
}

/// Remove the authorization server's response parameters from a redirect
/// target, keeping the rest of its query exactly as written, and drop a
/// fragment that carries response parameters (implicit / hybrid flows).
pub fn strip_response_params(url: &str) -> String {
    let (rest, fragment) = match url.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (url, None),
    };
    let (base, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let is_response = |pair: &str| {
        let key = pair.split('=').next().unwrap_or("");
        let key = params::form_params(&format!("{key}="))
            .pop()
            .map(|(k, _)| k);
        key.is_some_and(|k| RESPONSE_PARAMS.contains(&k.as_str()))
    };
    let mut out = base.to_string();
    if let Some(q) = query {
        let kept: Vec<&str> = q
            .split('&')
            .filter(|p| !p.is_empty() && !is_response(p))
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    if let Some(f) = fragment {
        let carries = f.split('&').any(is_response);
        if !carries && !f.is_empty() {
            out.push('#');
            out.push_str(f);
        }
    }
    out
}

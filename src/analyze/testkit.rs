//! Test builders for the redirect_uri, pkce, state and jwt rule tests:
//! realistic records of an authorization code flow.

use crate::analyze::{correlate, AnalyzeOptions, Finding};
use crate::record::{Body, HeaderList, Kind, Record, Response};
use base64::Engine as _;
use time::{Duration, OffsetDateTime};

/// 2024-05-01 10:00:00 UTC plus `secs`.
pub fn at(secs: i64) -> OffsetDateTime {
    time::macros::datetime!(2024-05-01 10:00 UTC) + Duration::seconds(secs)
}

fn base(id: &str, secs: i64, kind: Kind, method: &str, url: &str) -> Record {
    let mut r = Record::bare(&format!("{id:0>16}"), at(secs), kind, method, url);
    r.duration_ms = 120;
    r
}

fn redirect(status: u16, location: &str) -> Option<Response> {
    let mut h = HeaderList::default();
    h.push("Location", location);
    Some(Response {
        status,
        headers: h,
        body: Body::default(),
    })
}

fn json_response(status: u16, body: &str) -> Option<Response> {
    let mut h = HeaderList::default();
    h.push("Content-Type", "application/json");
    h.push("Cache-Control", "no-store");
    Some(Response {
        status,
        headers: h,
        body: Body::from_bytes(body.as_bytes()),
    })
}

/// `GET` authorize request answered by a 302 to the provider's login page.
pub fn authorize(id: &str, secs: i64, url: &str) -> Record {
    let mut r = base(id, secs, Kind::AuthorizeRequest, "GET", url);
    r.response = redirect(302, "https://idp.example.com/login?session=abc");
    r
}

/// A 3xx authorization response (after login) to `location`.
pub fn auth_response(id: &str, secs: i64, location: &str) -> Record {
    let mut r = base(
        id,
        secs,
        Kind::AuthorizationResponse,
        "POST",
        "https://idp.example.com/login",
    );
    r.response = redirect(302, location);
    r
}

/// The browser's callback request to `url`.
pub fn callback(id: &str, secs: i64, url: &str) -> Record {
    let mut r = base(id, secs, Kind::Callback, "GET", url);
    r.response = redirect(302, "/home");
    r
}

/// A PAR request with a form body, answered with `request_uri`.
pub fn par(id: &str, secs: i64, form: &str, request_uri: &str) -> Record {
    let mut r = base(
        id,
        secs,
        Kind::Par,
        "POST",
        "https://idp.example.com/oauth2/par",
    );
    r.request
        .headers
        .push("Content-Type", "application/x-www-form-urlencoded");
    r.request.body = Body::from_bytes(form.as_bytes());
    r.response = json_response(
        201,
        &format!(r#"{{"request_uri":"{request_uri}","expires_in":60}}"#),
    );
    r
}

/// An `authorization_code` (or other grant) token request with a form body.
pub fn token(id: &str, secs: i64, form: &str, response_json: &str) -> Record {
    let mut r = base(
        id,
        secs,
        Kind::TokenRequest,
        "POST",
        "https://idp.example.com/oauth2/token",
    );
    r.request
        .headers
        .push("Content-Type", "application/x-www-form-urlencoded");
    r.request.body = Body::from_bytes(form.as_bytes());
    r.grant_type =
        crate::analyze::params::get(&crate::analyze::params::form_params(form), "grant_type")
            .map(str::to_string);
    r.response = json_response(200, response_json);
    r
}

/// A token request with a JSON body.
pub fn token_json(id: &str, secs: i64, body: &str, response_json: &str) -> Record {
    let mut r = token(id, secs, "", response_json);
    r.request.headers = HeaderList::default();
    r.request.headers.push("Content-Type", "application/json");
    r.request.body = Body::from_bytes(body.as_bytes());
    r.grant_type =
        crate::analyze::params::get(&crate::analyze::params::json_params(body), "grant_type")
            .map(str::to_string);
    r
}

/// A discovery document fetch.
pub fn discovery(id: &str, secs: i64, url: &str, json: &str) -> Record {
    let mut r = base(id, secs, Kind::Discovery, "GET", url);
    r.response = json_response(200, json);
    r
}

/// An unsigned compact JWT with these claims (`alg: none`, empty signature
/// unless `sig` is given).
pub fn jwt(claims: &str, sig: &str) -> String {
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        b.encode(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#),
        b.encode(claims),
        sig
    )
}

/// Sort, assign flows, as [`crate::analyze::analyze`] does before the rules.
pub fn prepare(mut records: Vec<Record>) -> Vec<Record> {
    records.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    correlate::assign_flows(&mut records);
    records
}

/// Run one rule over prepared records.
pub fn run(
    rule: crate::analyze::Rule,
    records: Vec<Record>,
    opts: &AnalyzeOptions,
) -> (Vec<Record>, Vec<Finding>) {
    let recs = prepare(records);
    let f = rule(&crate::analyze::login::Login::build(&recs), opts);
    (recs, f)
}

/// Findings with this code.
pub fn with_code<'a>(f: &'a [Finding], code: &str) -> Vec<&'a Finding> {
    f.iter().filter(|x| x.annotation.code == code).collect()
}

/// Findings of severity warning or error.
pub fn problems(f: &[Finding]) -> Vec<&Finding> {
    f.iter()
        .filter(|x| x.annotation.severity >= crate::record::Severity::Warning)
        .collect()
}

/// Run one rule family over `records` as they are (already in time order,
/// flows as given): the login read once, default options.
pub fn findings(rule: crate::analyze::Rule, records: &[Record]) -> Vec<Finding> {
    rule(
        &crate::analyze::login::Login::build(records),
        &AnalyzeOptions::default(),
    )
}

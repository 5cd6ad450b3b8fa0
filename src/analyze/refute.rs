//! Counter-evidence first: no warning or error whose premise another record
//! of the same login refutes.
//!
//! Some findings say "this request's *shape* is why it fails": a JSON body
//! (`token_request.json_body`), a multipart body, a grant implied by a
//! dialect, a `redirect_uri` sent only at the token endpoint, a raw Basic
//! header, "nothing handles token requests at this URL". When the same
//! login holds a request of the very same shape — same method, endpoint
//! (scheme, host, port, path), body format and client-authentication
//! flavour — that succeeded, the shape is not the cause: the provider
//! accepts it. Such a finding is dropped (issue "Findings the same capture refutes"; the RFC 6749
//! §4.1.3 form-body rule is a SHOULD that most providers relax). A body-format
//! finding is also dropped when the provider's answer to that very request
//! shows it read the body (an error it reaches only after parsing the grant,
//! or a description quoting a value that was only in the body).

use super::diagnose::token_succeeded;
use super::login::Login;
use super::params::{self, BodyFormat};
use super::Finding;
use crate::record::{Kind, Record, Severity};

/// Codes whose premise is the request's shape, and what the refuting
/// sibling must share beyond method and endpoint.
const SHAPE_PREMISES: &[(&str, Share)] = &[
    ("token_request.json_body", Share::BodyFormat),
    ("token_request.multipart_body", Share::BodyFormat),
    ("token_request.grant_type_implied", Share::BodyFormat),
    ("client_auth.basic_not_urlencoded", Share::Flavour),
    ("redirect_uri.token_only", Share::RedirectUri),
    ("diagnosis.token_url_not_found", Share::Endpoint),
];

/// What a sibling must have in common with the finding's record.
#[derive(Debug, Clone, Copy)]
enum Share {
    /// Method and endpoint only.
    Endpoint,
    /// ... and the body format (form, JSON, multipart).
    BodyFormat,
    /// ... and the client-authentication flavour and Basic header.
    Flavour,
    /// ... and a `redirect_uri` sent in the same place.
    RedirectUri,
}

/// Drop every shape finding that a successful request of the same shape
/// in `login` refutes (the flavour line still shows the shape; the finding
/// would send a reader after a cause the capture rules out). Returns the
/// dropped findings' codes with the refuting record, for tests and traces.
#[must_use = "the dropped findings are for tests; ignore with `let _ =`"]
pub fn apply(login: &Login, findings: &mut Vec<Finding>) -> Vec<(String, String)> {
    let mut dropped = Vec::new();
    findings.retain(|f| {
        if f.annotation.severity == Severity::Info {
            return true;
        }
        let Some((_, share)) = SHAPE_PREMISES.iter().find(|(c, _)| *c == f.annotation.code) else {
            return true;
        };
        let Some(rec) = login.records.get(f.record) else {
            return true;
        };
        match refuting(login.records, rec, *share) {
            Some(j) => {
                dropped.push((f.annotation.code.clone(), login.records[j].id.clone()));
                false
            }
            None if matches!(share, Share::BodyFormat) && body_was_read(rec) => {
                dropped.push((f.annotation.code.clone(), rec.id.clone()));
                false
            }
            None => true,
        }
    });
    dropped
}

/// Errors a token endpoint reaches only after it parsed the body: it read
/// the grant and the client to refuse them (RFC 6749 §5.2). A server that
/// could not read the body answers `invalid_request`,
/// `unsupported_grant_type` ("missing grant_type") or `invalid_client` (no
/// client_id found) instead.
const AFTER_PARSING: &[&str] = &[
    "invalid_grant",
    "access_denied",
    "invalid_scope",
    "unauthorized_client",
    "consent_required",
    "interaction_required",
    "authorization_pending",
    "slow_down",
    "expired_token",
    "invalid_target",
];

/// True when the provider's own answer to `rec` shows it read the body: an
/// error it reaches only after parsing it, or a description quoting a value
/// that was only in the body (the premise of a body-format finding is that
/// the provider could not read it).
fn body_was_read(rec: &Record) -> bool {
    if rec.kind != Kind::TokenRequest {
        return false;
    }
    let errors = super::errors::extract(rec);
    if errors
        .iter()
        .any(|e| AFTER_PARSING.iter().any(|c| e.code.eq_ignore_ascii_case(c)))
    {
        return true;
    }
    let url = &rec.request.url;
    let sent = params::request_params(rec);
    errors
        .iter()
        .filter_map(|e| e.description.as_deref())
        .any(|d| {
            sent.iter()
                .any(|(_, v)| v.len() >= 8 && d.contains(v.as_str()) && !url.contains(v.as_str()))
        })
}

/// The parameter the provider's answer to `rec` says is missing although
/// the request's body holds it, when that body is not a form (JSON or
/// multipart): proof that the server did not read the body (RFC 6749
/// §4.1.3: token requests are form-encoded). Also `grant_type` for an
/// `unsupported_grant_type` answer to a non-form body that names one
/// (Discord, Spotify). `None` otherwise.
pub fn body_not_read(rec: &Record) -> Option<String> {
    use crate::analyze::params::BodyFormat;
    if rec.kind != Kind::TokenRequest {
        return None;
    }
    let format = params::body_format(&rec.request.headers, &rec.request.body);
    if !matches!(format, BodyFormat::Json | BodyFormat::Multipart) {
        return None;
    }
    let body = params::body_params(&rec.request.headers, &rec.request.body);
    let errors = super::errors::extract(rec);
    if body_was_read(rec) {
        return None;
    }
    const MISSING: [&str; 3] = ["missing", "required", "must be present"];
    for d in errors.iter().filter_map(|e| e.description.as_deref()) {
        let l = d.to_ascii_lowercase();
        if !MISSING.iter().any(|m| l.contains(m)) {
            continue;
        }
        if let Some((name, _)) = body
            .iter()
            .find(|(k, v)| k.len() >= 4 && !v.is_empty() && l.contains(&k.to_ascii_lowercase()))
        {
            return Some(name.clone());
        }
    }
    let unsupported = errors
        .iter()
        .any(|e| e.code.eq_ignore_ascii_case("unsupported_grant_type"));
    (unsupported && params::get(&body, "grant_type").is_some()).then(|| "grant_type".to_string())
}

/// The earliest successful request of `rec`'s shape in `records` (itself included).
fn refuting(records: &[Record], rec: &Record, share: Share) -> Option<usize> {
    let key = endpoint_key(&rec.request.url)?;
    records.iter().position(|r| {
        r.kind == rec.kind
            && r.request.method.eq_ignore_ascii_case(&rec.request.method)
            && endpoint_key(&r.request.url).as_deref() == Some(key.as_str())
            && succeeded(r)
            && shares(r, rec, share)
    })
}

fn shares(a: &Record, b: &Record, share: Share) -> bool {
    let format =
        |r: &Record| -> BodyFormat { params::body_format(&r.request.headers, &r.request.body) };
    match share {
        Share::Endpoint => true,
        Share::BodyFormat => format(a) == format(b),
        Share::Flavour => {
            format(a) == format(b)
                && a.flavour
                    .as_ref()
                    .map(|f| (f.number, f.client_auth.clone()))
                    == b.flavour
                        .as_ref()
                        .map(|f| (f.number, f.client_auth.clone()))
                && a.request.headers.get("authorization") == b.request.headers.get("authorization")
        }
        Share::RedirectUri => {
            let ru = |r: &Record| {
                params::get(&params::request_params(r), "redirect_uri").map(str::to_string)
            };
            ru(a).is_some() && ru(a) == ru(b)
        }
    }
}

/// True when the request got what it asked for: a token request that
/// returned tokens, anything else a 2xx with no OAuth error.
pub(crate) fn succeeded(r: &Record) -> bool {
    match r.kind {
        Kind::TokenRequest => token_succeeded(r),
        _ => {
            r.response
                .as_ref()
                .is_some_and(|x| (200..300).contains(&x.status))
                && super::errors::extract(r).is_empty()
        }
    }
}

/// `scheme://host:port/path` of a URL (no query): the endpoint a request
/// went to, as the diagnoses compare endpoints.
pub fn endpoint_key(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(format!(
        "{}://{}:{}{}",
        u.scheme(),
        u.host_str()?.to_ascii_lowercase(),
        u.port_or_known_default()?,
        u.path()
    ))
}

#[cfg(test)]
mod body_read_tests {
    use super::*;
    use crate::analyze::testkit::{json_response, token, token_json};

    #[test]
    fn a_missing_parameter_the_json_body_holds_proves_it_was_not_read() {
        let mut r = token_json(
            "t1",
            0,
            r#"{"grant_type":"client_credentials","client_id":"abc"}"#,
            "{}",
        );
        r.response = json_response(
            400,
            r#"{"error":"unsupported_grant_type","error_description":"grant_type parameter is missing"}"#,
        );
        assert_eq!(body_not_read(&r).as_deref(), Some("grant_type"));
        // Under a form label too: the bytes are JSON.
        r.request.headers = crate::record::HeaderList::default();
        r.request
            .headers
            .push("Content-Type", "application/x-www-form-urlencoded");
        assert_eq!(body_not_read(&r).as_deref(), Some("grant_type"));
        // An error reached only after parsing (invalid_grant) proves it was read.
        r.response = json_response(
            400,
            r#"{"error":"invalid_grant","error_description":"grant_type is required for refresh"}"#,
        );
        assert_eq!(body_not_read(&r), None);
        // A form body is read as a form: never "not read".
        let mut f = token("t2", 0, "grant_type=client_credentials", "{}");
        f.response = json_response(
            400,
            r#"{"error":"invalid_request","error_description":"grant_type is missing"}"#,
        );
        assert_eq!(body_not_read(&f), None);
    }
}

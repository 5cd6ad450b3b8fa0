//! Pure classification: is this exchange OAuth, and which kind?
//!
//! The proxy calls [`classify_request`] (with the buffered body of a small
//! POST) before deciding whether to record, and [`classify_response`] once
//! response headers arrive; HAR import calls [`classify_record`].

use super::params::{self, get};
use crate::record::{Body, HeaderList, Kind, Record};

/// The classification of a request: its kind and, for token requests, the grant type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// What kind of exchange.
    pub kind: Kind,
    /// `grant_type` of a token request.
    pub grant_type: Option<String>,
}

impl Classified {
    fn of(kind: Kind) -> Option<Classified> {
        Some(Classified {
            kind,
            grant_type: None,
        })
    }
}

/// Does the request need its body to be classified? True for POST/PUT
/// requests whose content type is a form, JSON or absent.
pub fn wants_request_body(method: &str, headers: &HeaderList) -> bool {
    if !(method.eq_ignore_ascii_case("POST") || method.eq_ignore_ascii_case("PUT")) {
        return false;
    }
    match headers.get("content-type") {
        None => true,
        Some(ct) => {
            let ct = ct.to_ascii_lowercase();
            ct.contains("x-www-form-urlencoded") || ct.contains("json") || ct.starts_with("text/")
        }
    }
}

/// Classify a request from its method, absolute URL, headers and (for POSTs
/// that [`wants_request_body`]) its body. `None` means "not OAuth".
pub fn classify_request(
    method: &str,
    url: &str,
    headers: &HeaderList,
    body: Option<&Body>,
) -> Option<Classified> {
    // One parse for both path and query (this runs on every proxied request).
    let (path, query) = match url::Url::parse(url) {
        Ok(u) => (
            u.path().to_ascii_lowercase(),
            u.query_pairs().into_owned().collect(),
        ),
        Err(_) => (String::new(), params::query_params(url)),
    };
    let body_params = body
        .map(|b| params::body_params(headers, b))
        .unwrap_or_default();
    let has = |name: &str| get(&query, name).is_some() || get(&body_params, name).is_some();

    if path.ends_with("/.well-known/openid-configuration")
        || path.ends_with("/.well-known/oauth-authorization-server")
        || path.contains("/.well-known/openid-configuration/")
        || path.contains("/.well-known/oauth-authorization-server/")
    {
        return Classified::of(Kind::Discovery);
    }
    if let Some(gt) = get(&body_params, "grant_type").or_else(|| {
        // A few clients put grant_type in the query of a POST.
        method
            .eq_ignore_ascii_case("POST")
            .then(|| get(&query, "grant_type"))
            .flatten()
    }) {
        return Some(Classified {
            kind: Kind::TokenRequest,
            grant_type: Some(gt.to_string()),
        });
    }
    let is_post = method.eq_ignore_ascii_case("POST");
    if is_post
        && (path.ends_with("/par") || path.contains("pushed") || path.ends_with("/request"))
        && (get(&body_params, "client_id").is_some()
            || get(&body_params, "response_type").is_some())
    {
        return Classified::of(Kind::Par);
    }
    if is_post
        && get(&body_params, "response_type").is_some()
        && get(&body_params, "client_id").is_some()
    {
        // A POST carrying authorize parameters to a non-authorize path is PAR;
        // to an authorize path it is an authorize request sent as a form.
        return if path.contains("authoriz") {
            Classified::of(Kind::AuthorizeRequest)
        } else {
            Classified::of(Kind::Par)
        };
    }
    if is_post && path.contains("device") && get(&body_params, "client_id").is_some() {
        return Classified::of(Kind::DeviceAuthorization);
    }
    if is_post
        && (path.contains("revoke") || path.contains("revocation"))
        && (has("token") || has("client_id"))
    {
        return Classified::of(Kind::Revocation);
    }
    if is_post && path.contains("introspect") && has("token") {
        return Classified::of(Kind::Introspection);
    }
    if get(&query, "response_type").is_some() && get(&query, "client_id").is_some()
        || get(&query, "request_uri").is_some() && get(&query, "client_id").is_some()
    {
        return Classified::of(Kind::AuthorizeRequest);
    }
    let cb = if is_post { &body_params } else { &query };
    if (get(cb, "code").is_some() || get(cb, "error").is_some()) && get(cb, "state").is_some()
        || get(&query, "code").is_some() && get(&query, "state").is_some()
        || get(&query, "error").is_some() && get(&query, "state").is_some()
    {
        return Classified::of(Kind::Callback);
    }
    if path.ends_with("/userinfo") || path.ends_with("/oauth2/v3/userinfo") {
        return Classified::of(Kind::Userinfo);
    }
    if path.ends_with("/jwks")
        || path.ends_with("/jwks.json")
        || path.ends_with("/protocol/openid-connect/certs")
        || path.ends_with("/oauth2/v3/certs")
        || path.ends_with("/discovery/keys")
        || path.ends_with("/discovery/v2.0/keys")
        || path.ends_with("/v1/keys")
    {
        return Classified::of(Kind::Jwks);
    }
    None
}

/// Classify from the response head alone: a 3xx whose `Location` carries
/// `code`, `error` or `state` back to a redirect URI is an authorization
/// response. Used for requests [`classify_request`] did not recognise.
pub fn classify_response(
    request_url: &str,
    status: u16,
    headers: &HeaderList,
) -> Option<Classified> {
    if !(300..400).contains(&status) {
        return None;
    }
    let location = headers.get("location")?;
    let base = url::Url::parse(request_url).ok();
    // One parse of the Location (resolved against the request URL) for its
    // query, fragment and origin; the lenient helpers only for a bad URL.
    let resolved = match &base {
        Some(b) => b.join(location).ok(),
        None => url::Url::parse(location).ok(),
    };
    let p = match &resolved {
        Some(u) => {
            let mut p: params::Params = u.query_pairs().into_owned().collect();
            p.extend(u.fragment().map(params::form_params).unwrap_or_default());
            p
        }
        None => params::query_params(location),
    };
    let carries = ["code", "error", "access_token", "id_token"]
        .iter()
        .any(|n| get(&p, n).is_some());
    // `state` alone counts only when it goes back to another origin: a
    // provider's own internal hop (Auth0's `/authorize/resume?state=...`)
    // is not the authorization response.
    let state_elsewhere = get(&p, "state").is_some()
        && resolved.as_ref().map(url::Url::origin) != base.as_ref().map(url::Url::origin);
    (carries || state_elsewhere).then_some(Classified {
        kind: Kind::AuthorizationResponse,
        grant_type: None,
    })
}

/// Classify a whole record (HAR import, re-classification): request first,
/// then the response.
pub fn classify_record(rec: &Record) -> Option<Classified> {
    let body = (!rec.request.body.is_empty()).then_some(&rec.request.body);
    classify_request(
        &rec.request.method,
        &rec.request.url,
        &rec.request.headers,
        body,
    )
    .or_else(|| {
        let resp = rec.response.as_ref()?;
        classify_response(&rec.request.url, resp.status, &resp.headers)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &str) -> (HeaderList, Body) {
        let mut h = HeaderList::default();
        h.push("content-type", "application/x-www-form-urlencoded");
        (h, Body::from_bytes(s.as_bytes()))
    }

    fn kind(method: &str, url: &str, body: Option<&str>) -> Option<Kind> {
        let (h, b) = form(body.unwrap_or(""));
        classify_request(method, url, &h, body.map(|_| &b)).map(|c| c.kind)
    }

    #[test]
    fn classifies_the_common_kinds() {
        assert_eq!(
            kind(
                "GET",
                "https://idp/authorize?response_type=code&client_id=a&state=s",
                None
            ),
            Some(Kind::AuthorizeRequest)
        );
        assert_eq!(
            kind("GET", "http://localhost:3000/cb?code=c&state=s", None),
            Some(Kind::Callback)
        );
        assert_eq!(
            kind(
                "POST",
                "https://idp/token",
                Some("grant_type=authorization_code&code=c")
            ),
            Some(Kind::TokenRequest)
        );
        assert_eq!(
            kind("GET", "https://idp/.well-known/openid-configuration", None),
            Some(Kind::Discovery)
        );
        assert_eq!(
            kind("POST", "https://idp/oauth2/revoke", Some("token=t")),
            Some(Kind::Revocation)
        );
        assert_eq!(kind("GET", "https://idp/assets/app.js", None), None);
        assert_eq!(kind("POST", "https://idp/api/items", Some("name=x")), None);
    }

    #[test]
    fn grant_type_is_recorded() {
        let (h, b) = form("grant_type=refresh_token&refresh_token=r");
        let c = classify_request("POST", "https://idp/token", &h, Some(&b)).unwrap();
        assert_eq!(c.grant_type.as_deref(), Some("refresh_token"));
    }

    #[test]
    fn redirect_with_code_is_an_authorization_response() {
        let mut h = HeaderList::default();
        h.push("Location", "http://localhost/cb?code=abc&state=s");
        assert_eq!(
            classify_response("https://idp/login", 302, &h).map(|c| c.kind),
            Some(Kind::AuthorizationResponse)
        );
        let mut h = HeaderList::default();
        h.push("Location", "/home");
        assert_eq!(classify_response("https://idp/login", 302, &h), None);
    }

    #[test]
    fn state_alone_counts_only_when_it_leaves_the_provider() {
        let resp = |loc: &str| {
            let mut h = HeaderList::default();
            h.push("Location", loc);
            classify_response("https://tenant.auth0.com/u/login", 302, &h).map(|c| c.kind)
        };
        assert_eq!(resp("/authorize/resume?state=internal"), None);
        assert_eq!(
            resp("https://app.example/cb#access_token=x&state=s"),
            Some(Kind::AuthorizationResponse)
        );
        assert_eq!(
            resp("https://app.example/cb?state=s"),
            Some(Kind::AuthorizationResponse)
        );
    }
}

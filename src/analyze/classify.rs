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

    fn token(grant: &str) -> Option<Classified> {
        Some(Classified {
            kind: Kind::TokenRequest,
            grant_type: Some(grant.to_string()),
        })
    }
}

/// The grant a token request implies when it names none: a `code` sent with
/// client credentials is an authorization-code exchange (GitHub
/// `/login/oauth/access_token`, Slack `oauth.access` / `oauth.v2.access`,
/// Strava before 2018, Facebook Graph's GET `oauth/access_token`).
pub const IMPLIED_GRANT: &str = "authorization_code";

/// Endpoints and redirect URIs learnt from earlier exchanges of the same
/// capture: a discovery document's `*_endpoint` URLs (RFC 8414 §2, OpenID
/// Connect Discovery §3) classify requests to them, and an authorize
/// request's `redirect_uri` tells a callback or an authorization response
/// apart from the app's own redirects. Keys are `scheme://host:port/path`
/// with the host lower-cased and no query. Bounded: at most
/// [`Endpoints::LIMIT`] entries of each sort (the oldest are kept).
///
/// It also follows the browser through the provider's own pages: the
/// origins of authorization endpoints (a 4xx there, or a redirect to an
/// error page there, is the provider refusing the login), and the URLs the
/// provider sent the browser to next (its login, consent and error pages),
/// kept as the newest [`Endpoints::LIMIT`].
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    by_url: std::collections::HashMap<String, Kind>,
    redirect_uris: std::collections::HashSet<String>,
    provider_origins: std::collections::HashSet<String>,
    hops: std::collections::HashSet<String>,
    hop_order: std::collections::VecDeque<String>,
}

impl Endpoints {
    /// Most endpoints (and, separately, redirect URIs) remembered.
    pub const LIMIT: usize = 4096;

    /// Learn from a finished exchange: a discovery response's endpoints, an
    /// authorize request's (or PAR's) `redirect_uri`.
    pub fn learn(&mut self, rec: &Record) {
        match rec.kind {
            Kind::Discovery => {
                let Some(doc) = params::response_json(rec) else {
                    return;
                };
                for (field, kind) in DISCOVERY_FIELDS {
                    if let Some(u) = doc.get(field).and_then(|v| v.as_str()) {
                        if let Some(key) = endpoint_key(u) {
                            if self.by_url.len() < Self::LIMIT {
                                self.by_url.entry(key).or_insert(*kind);
                            }
                        }
                    }
                }
            }
            Kind::AuthorizeRequest | Kind::Par => {
                let p = params::request_params(rec);
                if let Some(key) = get(&p, "redirect_uri").and_then(endpoint_key) {
                    if self.redirect_uris.len() < Self::LIMIT {
                        self.redirect_uris.insert(key);
                    }
                }
                if rec.kind == Kind::AuthorizeRequest {
                    if let Some(o) = url::Url::parse(&rec.request.url)
                        .ok()
                        .map(|u| origin_key(&u))
                    {
                        if self.provider_origins.len() < Self::LIMIT {
                            self.provider_origins.insert(o);
                        }
                    }
                    self.learn_next(rec);
                }
            }
            Kind::ProviderPage => self.learn_next(rec),
            _ => {}
        }
    }

    /// Where a provider's answer sends the browser next: a delivery to a
    /// redirect URI (carrying `code`, `error` or tokens) teaches that
    /// redirect URI (an authorize request may have named none: the
    /// registered one is used, RFC 6749 §3.1.2.3); anything else is one of
    /// the provider's own pages, a hop to follow.
    fn learn_next(&mut self, rec: &Record) {
        let Some(next) = params::next_location(rec) else {
            return;
        };
        let Ok(u) = url::Url::parse(&next) else {
            return;
        };
        let p: params::Params = u.query_pairs().into_owned().collect();
        let same_origin = url::Url::parse(&rec.request.url)
            .ok()
            .is_some_and(|b| b.origin() == u.origin());
        if delivers(&u) && !same_origin {
            if self.redirect_uris.len() < Self::LIMIT {
                self.redirect_uris.insert(key_of(&u));
            }
            return;
        }
        if is_authorize_url(&p) && !same_origin {
            return;
        }
        let key = hop_key(&u);
        if self.hops.insert(key.clone()) {
            self.hop_order.push_back(key);
            while self.hop_order.len() > Self::LIMIT {
                if let Some(old) = self.hop_order.pop_front() {
                    self.hops.remove(&old);
                }
            }
        }
    }

    /// True when a provider's earlier answer sent the browser to `url` (its
    /// own login, consent or error page).
    pub fn is_hop(&self, url: &url::Url) -> bool {
        !self.hops.is_empty() && self.hops.contains(&hop_key(url))
    }

    /// True when `url` is on the origin of an authorization endpoint seen earlier.
    pub fn is_provider_origin(&self, url: &url::Url) -> bool {
        !self.provider_origins.is_empty() && self.provider_origins.contains(&origin_key(url))
    }

    /// The kind a discovery document gave this URL's endpoint, if any.
    pub fn kind_of(&self, url: &url::Url) -> Option<Kind> {
        if self.by_url.is_empty() {
            return None;
        }
        self.by_url.get(&key_of(url)).copied()
    }

    /// True when `url` (query ignored) is a redirect URI an authorize request named.
    pub fn is_redirect_uri(&self, url: &url::Url) -> bool {
        !self.redirect_uris.is_empty() && self.redirect_uris.contains(&key_of(url))
    }
}

/// Discovery metadata fields that name an endpoint, and the kind of a request to it.
const DISCOVERY_FIELDS: &[(&str, Kind)] = &[
    ("token_endpoint", Kind::TokenRequest),
    ("authorization_endpoint", Kind::AuthorizeRequest),
    ("device_authorization_endpoint", Kind::DeviceAuthorization),
    ("pushed_authorization_request_endpoint", Kind::Par),
    ("revocation_endpoint", Kind::Revocation),
    ("introspection_endpoint", Kind::Introspection),
    ("userinfo_endpoint", Kind::Userinfo),
    ("jwks_uri", Kind::Jwks),
];

fn key_of(u: &url::Url) -> String {
    format!(
        "{}://{}:{}{}",
        u.scheme(),
        u.host_str().unwrap_or("").to_ascii_lowercase(),
        u.port_or_known_default().unwrap_or(0),
        u.path()
    )
}

/// A hop's key: the URL without its fragment, host lower-cased.
pub fn hop_key(u: &url::Url) -> String {
    let mut s = key_of(u);
    if let Some(q) = u.query() {
        s.push('?');
        s.push_str(q);
    }
    s
}

fn origin_key(u: &url::Url) -> String {
    format!(
        "{}://{}:{}",
        u.scheme(),
        u.host_str().unwrap_or("").to_ascii_lowercase(),
        u.port_or_known_default().unwrap_or(0)
    )
}

fn endpoint_key(s: &str) -> Option<String> {
    url::Url::parse(s.trim()).ok().map(|u| key_of(&u))
}

/// How much of a request body the proxy reads to classify it, or `None` to
/// stream it untouched: forms, JSON, text and bodies without a content type
/// up to `limit` bytes; `multipart/form-data` only when it is small (at most
/// [`MULTIPART_LIMIT`] bytes, or of unknown length: a token request is a few
/// hundred bytes, an upload is not), so uploads stream through unbuffered.
pub fn request_body_limit(method: &str, headers: &HeaderList, limit: usize) -> Option<usize> {
    if !(method.eq_ignore_ascii_case("POST") || method.eq_ignore_ascii_case("PUT")) {
        return None;
    }
    let Some(ct) = headers.get("content-type") else {
        return Some(limit);
    };
    let ct = ct.to_ascii_lowercase();
    if ct.contains("x-www-form-urlencoded") || ct.contains("json") || ct.starts_with("text/") {
        return Some(limit);
    }
    if ct.starts_with("multipart/form-data") {
        let length: Option<u64> = headers
            .get("content-length")
            .and_then(|v| v.trim().parse().ok());
        return match length {
            Some(n) if n > MULTIPART_LIMIT as u64 => None,
            _ => Some(limit.min(MULTIPART_LIMIT)),
        };
    }
    None
}

/// Largest `multipart/form-data` body read to classify it (64 KiB).
pub const MULTIPART_LIMIT: usize = 64 * 1024;

/// Does the request need its body to be classified? See [`request_body_limit`].
pub fn wants_request_body(method: &str, headers: &HeaderList) -> bool {
    request_body_limit(method, headers, usize::MAX).is_some()
}

/// Path fragments of authorization endpoints (generic and per provider),
/// for authorize requests that carry no `response_type` (GitHub
/// `/login/oauth/authorize`, Slack `/oauth/v2/authorize`, Facebook
/// `/dialog/oauth`, Intuit `/connect/oauth2`).
fn looks_like_authorize_path(path: &str) -> bool {
    if path.contains("token") || path.contains("/api/") {
        return false;
    }
    path.contains("authoriz")
        || path.ends_with("/auth")
        || path.ends_with("/oauth")
        || path.ends_with("/oauth2")
        || path.contains("/dialog/oauth")
        || crate::providers::authorize_path(path)
}

/// Classify a request from its method, absolute URL, headers and (for POSTs
/// that [`wants_request_body`]) its body. `None` means "not OAuth".
/// Equivalent to [`classify_request_in`] with nothing learnt yet.
pub fn classify_request(
    method: &str,
    url: &str,
    headers: &HeaderList,
    body: Option<&Body>,
) -> Option<Classified> {
    classify_request_in(method, url, headers, body, &Endpoints::default())
}

/// Classify a request with what earlier exchanges of the capture taught
/// (`known`): the RFC markers first (`grant_type`, `response_type`, ...),
/// then provider dialects (docs/record-format.md, kinds): a `code` sent with
/// client credentials and no `grant_type` is a token request with an
/// implied [`IMPLIED_GRANT`]; a GET carrying `client_id`, `client_secret`
/// and `code` too; an authorize request without `response_type` at an
/// authorize-looking path; a `form_post` callback with an `id_token` and no
/// `code`; and endpoints named by a discovery document.
pub fn classify_request_in(
    method: &str,
    url: &str,
    headers: &HeaderList,
    body: Option<&Body>,
    known: &Endpoints,
) -> Option<Classified> {
    // One parse for both path and query (this runs on every proxied request).
    let parsed = url::Url::parse(url).ok();
    let (path, query): (String, params::Params) = match &parsed {
        Some(u) => (
            u.path().to_ascii_lowercase(),
            u.query_pairs().into_owned().collect(),
        ),
        None => (String::new(), params::query_params(url)),
    };
    let body_params = body
        .map(|b| params::body_params(headers, b))
        .unwrap_or_default();
    let has = |name: &str| get(&query, name).is_some() || get(&body_params, name).is_some();
    let is_post = method.eq_ignore_ascii_case("POST");
    let is_get = method.eq_ignore_ascii_case("GET");

    // OIDC Discovery §4 and RFC 8414 §3, and the paths servers really use
    // under /.well-known/ (RFC 8414's `/.well-known/oauth-authorization-server/issuer`,
    // Gitea's `/.well-known/gitea/openid-configuration`, tenant segments).
    let well_known = path
        .split_once("/.well-known/")
        .map(|(_, rest)| {
            rest.split('/')
                .any(|seg| seg == "openid-configuration" || seg == "oauth-authorization-server")
        })
        .unwrap_or(false);
    if well_known {
        return Classified::of(Kind::Discovery);
    }
    if let Some(gt) = get(&body_params, "grant_type").or_else(|| {
        // A few clients put grant_type in the query of a POST (Zoom's docs
        // do), and Facebook's token exchanges are GETs.
        (is_post || is_get && has("client_id"))
            .then(|| get(&query, "grant_type"))
            .flatten()
    }) {
        return Classified::token(gt);
    }
    if let Some(kind) = parsed.as_ref().and_then(|u| known.kind_of(u)) {
        let fits = match kind {
            Kind::TokenRequest => is_post,
            Kind::AuthorizeRequest => has("client_id") || has("request_uri"),
            Kind::Userinfo | Kind::Jwks => true,
            _ => is_post,
        };
        if fits {
            return Some(Classified {
                kind,
                grant_type: (kind == Kind::TokenRequest && has("code"))
                    .then(|| IMPLIED_GRANT.to_string()),
            });
        }
    }
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
    // Dialect: a code exchanged without grant_type. The code must travel
    // with client identification (a secret, a Basic header, or a client_id
    // with a redirect_uri or PKCE verifier) so a callback is never taken
    // for one.
    if has("code") && !has("state") || has("code") && has("client_secret") {
        let basic = headers
            .get("authorization")
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("basic "));
        let credentials = has("client_secret")
            || basic
            || has("client_id") && (has("redirect_uri") || has("code_verifier"));
        let token_shaped = if is_post {
            credentials
        } else {
            is_get && has("client_id") && has("client_secret")
        };
        if token_shaped {
            return Classified::token(IMPLIED_GRANT);
        }
    }
    if is_get
        && get(&query, "client_id").is_some()
        && ["redirect_uri", "scope", "state"]
            .iter()
            .any(|n| get(&query, n).is_some())
        && get(&query, "code").is_none()
        && looks_like_authorize_path(&path)
    {
        return Classified::of(Kind::AuthorizeRequest);
    }
    let cb = if is_post { &body_params } else { &query };
    let carries = |p: &params::Params| {
        ["code", "error", "id_token", "access_token"]
            .iter()
            .any(|n| get(p, n).is_some())
    };
    // A POST callback (`response_mode=form_post`) carries its parameters in
    // the body; a POST with `code`/`state` only in its query is the app
    // calling its own API, not the provider's redirect.
    if carries(cb) && get(cb, "state").is_some() {
        return Classified::of(Kind::Callback);
    }
    // A request to a redirect URI an authorize request named, carrying a
    // code or an error without state (the client sent none).
    if parsed.as_ref().is_some_and(|u| known.is_redirect_uri(u))
        && (get(&query, "code").is_some() || get(&query, "error").is_some() || carries(cb))
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
    // The provider's own page the browser was sent to after an authorize
    // request (its login, consent or error page, and their form posts).
    if parsed.as_ref().is_some_and(|u| known.is_hop(u)) && !is_subresource(url, headers) {
        return Classified::of(Kind::ProviderPage);
    }
    // A form the provider's page posts back to its own origin (the login
    // form: Entra's `/common/login`, Keycloak's `login-actions`), not JSON
    // telemetry.
    if is_post
        && parsed.as_ref().is_some_and(|u| known.is_provider_origin(u))
        && headers
            .get("content-type")
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("x-www-form-urlencoded"))
    {
        return Classified::of(Kind::ProviderPage);
    }
    // The provider's page answering its consent by XHR: a JSON POST to its
    // own origin naming the redirect URI an authorize request named
    // (HubSpot's `/api/oauth/v1/authorizations`, Discord's consent); its
    // answer (`{"redirectUrl": ".../callback?code=..."}`) is the delivery.
    if is_post && parsed.as_ref().is_some_and(|u| known.is_provider_origin(u)) {
        if let Some(v) = body
            .and_then(Body::as_text)
            .filter(|t| t.trim_start().starts_with('{'))
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        {
            let names_redirect_uri = v.as_object().is_some_and(|o| {
                o.values()
                    .filter_map(serde_json::Value::as_str)
                    .any(|s| url::Url::parse(s).is_ok_and(|u| known.is_redirect_uri(&u)))
            });
            if names_redirect_uri {
                return Classified::of(Kind::ProviderPage);
            }
        }
    }
    None
}

/// True when a URL is itself an authorize request (the app sending the
/// browser *to* the provider): it carries `client_id` with `response_type`,
/// `request_uri` or `redirect_uri`.
fn is_authorize_url(p: &params::Params) -> bool {
    get(p, "client_id").is_some()
        && (get(p, "response_type").is_some()
            || get(p, "request_uri").is_some()
            || get(p, "redirect_uri").is_some())
}

/// Classify from the response head alone: a 3xx whose `Location` carries
/// `code`, `error` or `state` back to a redirect URI is an authorization
/// response. Used for requests [`classify_request`] did not recognise.
/// Equivalent to [`classify_response_in`] with nothing learnt yet.
pub fn classify_response(
    request_url: &str,
    status: u16,
    headers: &HeaderList,
) -> Option<Classified> {
    classify_response_in(request_url, status, headers, &Endpoints::default())
}

/// Classify from the response head, with what the capture taught (`known`).
/// A 3xx is an authorization response only when its `Location` goes back
/// to a redirect URI: one an authorize request named, or (nothing learnt)
/// a URL carrying `code`, `id_token`, `access_token`, or `error`/`state` on
/// another origin. Never the app's own redirect *to* the provider (the
/// Location is itself an authorize request), nor an app's redirect to its
/// own error page (`/api/auth/error?error=OAuthCallback`: same origin,
/// `error` without `state`).
pub fn classify_response_in(
    request_url: &str,
    status: u16,
    headers: &HeaderList,
    known: &Endpoints,
) -> Option<Classified> {
    if matches!(status, 401 | 403) && bearer_challenge_error(headers) {
        return Classified::of(Kind::ResourceRequest);
    }
    let base = url::Url::parse(request_url).ok();
    let at_provider = base.as_ref().is_some_and(|u| known.is_provider_origin(u));
    if at_provider && status >= 400 {
        // The provider refusing on one of its own pages (RFC 6749 §4.1.2.1:
        // an invalid redirect_uri or client_id is shown to the user, never
        // redirected back).
        return Classified::of(Kind::ProviderPage);
    }
    if !(300..400).contains(&status) {
        return None;
    }
    let location = headers.get("location")?;
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
    let same_origin =
        resolved.as_ref().map(url::Url::origin) == base.as_ref().map(url::Url::origin);
    if is_authorize_url(&p) {
        // The app sending the browser to the provider: not an authorization
        // response, but the login's start (its cookies hold the state). The
        // provider's own form sending the browser on to its authorize
        // endpoint is one of its pages.
        return Classified::of(if same_origin && at_provider {
            Kind::ProviderPage
        } else {
            Kind::LoginStart
        });
    }
    let carries = ["code", "access_token", "id_token"]
        .iter()
        .any(|n| get(&p, n).is_some());
    let error = get(&p, "error").is_some();
    let state = get(&p, "state").is_some();
    if resolved.as_ref().is_some_and(|u| known.is_redirect_uri(u)) && (carries || error || state) {
        return Classified::of(Kind::AuthorizationResponse);
    }
    let elsewhere = !same_origin;
    // `state` alone counts only when it goes back to another origin: a
    // provider's own internal hop (Auth0's `/authorize/resume?state=...`)
    // is not the authorization response; nor is an app's own error page.
    let back = carries || (error || state) && elsewhere || error && state;
    if back {
        return Classified::of(Kind::AuthorizationResponse);
    }
    // The provider sending the browser to its own error page
    // (`/error?error=...`, Google's `/signin/oauth/error?authError=...`).
    (at_provider && same_origin && (error || location_names_error(location))).then_some(
        Classified {
            kind: Kind::ProviderPage,
            grant_type: None,
        },
    )
}

/// True when the browser fetched `url` for a page's own use (an icon, an
/// image, a style sheet, a script, a font), not as a navigation or an XHR
/// of the login: its failure is no login's (a provider page's
/// `/favicon.ico` 404 is the browser asking, not the provider refusing).
/// Judged by `Sec-Fetch-Dest` (Fetch Metadata, W3C) when the request has
/// one, else by the paths browsers ask for unprompted.
pub fn is_subresource(url: &str, headers: &HeaderList) -> bool {
    if let Some(dest) = headers.get("sec-fetch-dest") {
        return matches!(
            dest.trim().to_ascii_lowercase().as_str(),
            "image"
                | "style"
                | "script"
                | "font"
                | "manifest"
                | "audio"
                | "video"
                | "track"
                | "object"
                | "embed"
                | "worker"
                | "sharedworker"
                | "serviceworker"
                | "paintworklet"
                | "audioworklet"
                | "xslt"
        );
    }
    let path = url::Url::parse(url)
        .map(|u| u.path().to_ascii_lowercase())
        .unwrap_or_default();
    path == "/favicon.ico"
        || path == "/robots.txt"
        || (path.starts_with("/apple-touch-icon") && path.ends_with(".png"))
}

/// True when a `WWW-Authenticate` header is a Bearer or DPoP challenge with
/// an `error` (RFC 6750 §3, RFC 9449 §7.1): a resource server refusing a token.
fn bearer_challenge_error(headers: &HeaderList) -> bool {
    headers.get_all("www-authenticate").any(|v| {
        let l = v.trim_start().to_ascii_lowercase();
        (l.starts_with("bearer") || l.starts_with("dpop")) && l.contains("error=")
    })
}

/// True when a `Location` path or query names an error page (`/error`,
/// `authError=`, `/oauth/error`).
fn location_names_error(location: &str) -> bool {
    let l = location.to_ascii_lowercase();
    l.contains("/error") || l.contains("autherror") || l.contains("error=")
}

/// Correct a kind the request alone could not settle, once the response is
/// known: a "discovery" URL that answered a JSON Web Key Set (RFC 7517 §5:
/// an object with a `keys` array and no `issuer`) is a JWKS; a provider
/// page whose answer sends the browser back to the client with a code, a
/// token or an error (Auth0's `/authorize/resume` → callback) is the
/// authorization response.
pub fn refine(rec: &mut Record) {
    if rec.kind == Kind::ProviderPage {
        if let Some(resp) = rec.response.as_ref() {
            if classify_response(&rec.request.url, resp.status, &resp.headers)
                .is_some_and(|c| c.kind == Kind::AuthorizationResponse)
                || delivers_elsewhere(rec)
            {
                rec.kind = Kind::AuthorizationResponse;
            }
        }
    }
    if rec.kind == Kind::Discovery {
        if let Some(doc) = params::response_json(rec) {
            if doc.get("keys").is_some_and(serde_json::Value::is_array)
                && doc.get("issuer").is_none()
            {
                rec.kind = Kind::Jwks;
            }
        }
    }
}

/// True when the page's answer names, as the browser's next URL (a JSON
/// `redirectUrl`/`location`, a meta refresh), another origin carrying a
/// code, tokens or an error: the authorization response, delivered by body.
fn delivers_elsewhere(rec: &Record) -> bool {
    if rec
        .response
        .as_ref()
        .is_some_and(|r| (300..400).contains(&r.status))
    {
        return false;
    }
    let Some(next) = params::next_location(rec).and_then(|n| url::Url::parse(&n).ok()) else {
        return false;
    };
    let same_origin = url::Url::parse(&rec.request.url).is_ok_and(|b| b.origin() == next.origin());
    !same_origin && delivers(&next)
}

/// True when a next URL carries an authorization response: `code`,
/// `error`, `id_token` or `access_token` in its query or fragment.
fn delivers(next: &url::Url) -> bool {
    let mut p: params::Params = next.query_pairs().into_owned().collect();
    p.extend(next.fragment().map(params::form_params).unwrap_or_default());
    ["code", "error", "id_token", "access_token"]
        .iter()
        .any(|n| get(&p, n).is_some())
}

/// Classify a whole record (HAR import, re-classification): request first,
/// then the response.
pub fn classify_record(rec: &Record) -> Option<Classified> {
    classify_record_in(rec, &Endpoints::default())
}

/// [`classify_record`] with what earlier records of the capture taught.
pub fn classify_record_in(rec: &Record, known: &Endpoints) -> Option<Classified> {
    let body = (!rec.request.body.is_empty()).then_some(&rec.request.body);
    classify_request_in(
        &rec.request.method,
        &rec.request.url,
        &rec.request.headers,
        body,
        known,
    )
    .or_else(|| {
        if is_subresource(&rec.request.url, &rec.request.headers) {
            return None;
        }
        let resp = rec.response.as_ref()?;
        classify_response_in(&rec.request.url, resp.status, &resp.headers, known)
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
    fn a_pages_icon_at_the_provider_is_not_a_provider_page() {
        use crate::record::{Body, Response};
        let mut known = Endpoints::default();
        let start = crate::analyze::testkit::authorize(
            "a",
            0,
            "https://op.example/auth?response_type=code&client_id=c&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s",
        );
        known.learn(&start);
        let mut icon = crate::analyze::testkit::authorize("b", 1, "https://op.example/favicon.ico");
        icon.request.headers = HeaderList::default();
        icon.response = Some(Response {
            status: 404,
            ..Response::default()
        });
        icon.response.as_mut().unwrap().body = Body::from_bytes(b"Not Found");
        assert_eq!(classify_record_in(&icon, &known), None, "favicon by path");
        icon.request.url = "https://op.example/assets/logo.png".into();
        icon.request.headers.push("Sec-Fetch-Dest", "image");
        assert_eq!(
            classify_record_in(&icon, &known),
            None,
            "an image by Fetch Metadata"
        );
        icon.request.headers = HeaderList::default();
        icon.request.headers.push("Sec-Fetch-Dest", "document");
        assert_eq!(
            classify_record_in(&icon, &known).map(|c| c.kind),
            Some(Kind::ProviderPage),
            "a navigation that fails at the provider stays its page"
        );
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

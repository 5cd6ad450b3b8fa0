//! The mock's HTTP server (hyper 1 on tokio, optional rustls) and endpoints.

use super::jwt::Signer;
use super::quirks::{self, ErrKind, Rendered, TokenError};
use super::{Client, HistoryEntry, MockConfig, MockError, RefreshPolicy};
use crate::analyze::params::{self, get, Params};
use crate::record::{Body, HeaderList};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const MAX_BODY: usize = 1 << 20;
const SUBJECT: &str = "mock-user-1";

struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    challenge: Option<(String, String)>,
    issued: Instant,
    used: bool,
    tokens: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RtState {
    Active,
    Rotated,
    Revoked,
}

struct RefreshGrant {
    client_id: String,
    scope: String,
    family: u64,
    state: RtState,
    uses: u32,
}

#[derive(Default)]
struct Inner {
    codes: HashMap<String, CodeGrant>,
    refresh: HashMap<String, RefreshGrant>,
    access: HashMap<String, String>,
    next_family: u64,
    revoked_families: HashSet<u64>,
}

/// Shared server state.
pub(crate) struct State {
    cfg: MockConfig,
    issuer: String,
    signer: Signer,
    inner: Mutex<Inner>,
    history: Arc<Mutex<Vec<HistoryEntry>>>,
}

type Resp = Response<Full<Bytes>>;

impl State {
    pub(crate) fn new(
        cfg: MockConfig,
        issuer: String,
        history: Arc<Mutex<Vec<HistoryEntry>>>,
    ) -> Result<State, MockError> {
        Ok(State {
            cfg,
            issuer,
            signer: Signer::generate()?,
            inner: Mutex::new(Inner::default()),
            history,
        })
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in
        // a way that matters for a mock; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A registered client, or with `any_client` whoever `id` is (a public
    /// client that may use any redirect URI).
    fn client(&self, id: &str) -> Option<std::borrow::Cow<'_, Client>> {
        if self.cfg.quirks.any_client {
            return Some(std::borrow::Cow::Owned(Client {
                id: id.to_owned(),
                secret: None,
                redirect_uris: Vec::new(),
            }));
        }
        self.cfg
            .clients
            .iter()
            .find(|c| c.id == id)
            .map(std::borrow::Cow::Borrowed)
    }
}

/// Accept connections until `stop` fires.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<State>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("mock: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let state = state.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let st = state.clone();
                async move { Ok::<_, Infallible>(handle(st, req).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let result = match acceptor {
                Some(a) => match a.accept(stream).await {
                    Ok(tls) => builder.serve_connection(TokioIo::new(tls), svc).await,
                    Err(e) => {
                        tracing::debug!("mock: TLS handshake with {peer} failed: {e}");
                        return;
                    }
                },
                None => builder.serve_connection(TokioIo::new(stream), svc).await,
            };
            if let Err(e) = result {
                tracing::debug!("mock: connection from {peer}: {e}");
            }
        });
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Resp {
    let time = OffsetDateTime::now_utc();
    let (parts, body) = req.into_parts();
    let method = parts.method.to_string();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let (resp, outcome) = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => route(&state, &parts, &path, &b.to_bytes()),
        Err(_) => (
            text(413, "text/plain", "request body too large (limit 1 MiB)\n"),
            "body too large".into(),
        ),
    };
    let entry = HistoryEntry {
        time,
        method,
        path,
        status: resp.status().as_u16(),
        outcome,
    };
    if state.cfg.echo {
        println!("{entry}");
    }
    if let Ok(mut h) = state.history.lock() {
        h.push(entry);
    }
    resp
}

fn text(status: u16, content_type: &str, body: impl Into<String>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body.into())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

fn json_resp(status: u16, v: &Value) -> Resp {
    text(status, "application/json", v.to_string())
}

fn rendered(r: Rendered) -> Resp {
    let mut resp = text(r.status, r.content_type, r.body);
    let h = resp.headers_mut();
    h.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    h.insert(
        hyper::header::PRAGMA,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    for (k, v) in r.headers {
        if let Ok(v) = v.parse() {
            h.insert(k, v);
        }
    }
    resp
}

fn header_list(h: &hyper::HeaderMap) -> HeaderList {
    let mut out = HeaderList::default();
    for (k, v) in h {
        out.push(k.as_str(), String::from_utf8_lossy(v.as_bytes()));
    }
    out
}

fn random_token(prefix: &str) -> String {
    use rand::RngCore as _;
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(b))
}

fn html_error(title: &str, detail: &str) -> Resp {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    text(
        400,
        "text/html; charset=utf-8",
        format!(
            "<!doctype html><title>oauthscope mock: error</title><h1>{}</h1><p>{}</p>\n",
            esc(title),
            esc(detail)
        ),
    )
}

fn route(state: &State, parts: &http::request::Parts, path: &str, body: &Bytes) -> (Resp, String) {
    let p = parts.uri.path();
    let m = &parts.method;
    match (m.as_str(), p) {
        ("GET", "/.well-known/openid-configuration")
        | ("GET", "/.well-known/oauth-authorization-server") => {
            (json_resp(200, &discovery(state)), "discovery".into())
        }
        ("GET", "/jwks") => (json_resp(200, &state.signer.jwks()), "jwks".into()),
        ("GET", "/authorize") => authorize(state, path, &parts.headers),
        ("POST", "/token") => token(state, parts, body),
        (_, "/token") => (
            json_resp(
                405,
                &json!({"error": "invalid_request", "error_description": "The token endpoint accepts POST only."}),
            ),
            "token endpoint needs POST".into(),
        ),
        ("GET", "/userinfo") | ("POST", "/userinfo") => userinfo(state, parts),
        ("GET", "/") => (
            text(
                200,
                "text/plain; charset=utf-8",
                format!(
                    "oauthscope mock provider\nissuer: {0}\ndiscovery: {0}/.well-known/openid-configuration\n",
                    state.issuer
                ),
            ),
            "index".into(),
        ),
        _ => (
            json_resp(404, &json!({"error": "not_found", "path": p})),
            "not found".into(),
        ),
    }
}

fn discovery(state: &State) -> Value {
    let q = &state.cfg.quirks;
    let mut methods = Vec::new();
    if q.accept_flavours.iter().any(|n| [1, 2, 5, 6].contains(n)) {
        methods.push("client_secret_basic");
    }
    if q.accept_flavours.iter().any(|n| [3, 4].contains(n)) {
        methods.push("client_secret_post");
    }
    methods.push("none");
    let i = &state.issuer;
    json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": methods,
        "code_challenge_methods_supported": ["S256", "plain"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "authorization_response_iss_parameter_supported": true,
    })
}

fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Resp {
    let loc = match url::Url::parse(uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => uri.to_owned(),
    };
    let mut r = text(302, "text/plain", "");
    if let Ok(v) = loc.parse() {
        r.headers_mut().insert(hyper::header::LOCATION, v);
    }
    r
}

fn authorize(state: &State, path: &str, headers: &http::HeaderMap) -> (Resp, String) {
    let q = params::query_params(&format!("{}{}", state.issuer, path));
    let Some(client_id) = get(&q, "client_id") else {
        return (
            html_error(
                "Missing parameter: client_id",
                "The authorize request has no client_id.",
            ),
            "authorize refused: no client_id".into(),
        );
    };
    let Some(client) = state.client(client_id) else {
        return (
            html_error(
                "Client not found.",
                &format!("No client {client_id:?} is registered with this provider."),
            ),
            format!("authorize refused: unknown client {client_id:?}"),
        );
    };
    let mode = state.cfg.quirks.redirect_match;
    let redirect_uri = match get(&q, "redirect_uri") {
        Some(r) => {
            let ok = if client.redirect_uris.is_empty() {
                url::Url::parse(r).is_ok()
            } else {
                client.redirect_uris.iter().any(|reg| mode.matches(reg, r))
            };
            if !ok {
                return (
                    html_error(
                        "Invalid parameter: redirect_uri",
                        &format!(
                            "{r:?} is not a registered redirect URI for {client_id:?} (matching: {}). Registered: {}",
                            mode.as_str(),
                            client.redirect_uris.join(", ")
                        ),
                    ),
                    format!("authorize refused: redirect_uri {r} not registered"),
                );
            }
            r.to_owned()
        }
        None => match client.redirect_uris.first() {
            Some(r) => r.clone(),
            None => {
                return (
                    html_error(
                        "Missing parameter: redirect_uri",
                        "No redirect_uri was sent and the client has none registered.",
                    ),
                    "authorize refused: no redirect_uri".into(),
                )
            }
        },
    };
    let st = get(&q, "state");
    let err = |code: &str, desc: &str| {
        let mut pairs = vec![("error", code), ("error_description", desc)];
        if let Some(s) = st {
            pairs.push(("state", s));
        }
        pairs.push(("iss", state.issuer.as_str()));
        (
            redirect_with(&redirect_uri, &pairs),
            format!("authorize error {code}: {desc}"),
        )
    };
    if get(&q, "response_type") != Some("code") {
        return err(
            "unsupported_response_type",
            "Only response_type=code is supported.",
        );
    }
    let challenge = match get(&q, "code_challenge") {
        Some(c) => {
            let method = get(&q, "code_challenge_method").unwrap_or("plain");
            if method != "S256" && method != "plain" {
                return err("invalid_request", "transform algorithm not supported");
            }
            Some((c.to_owned(), method.to_owned()))
        }
        None if state.cfg.quirks.require_pkce => {
            return err("invalid_request", "code challenge required");
        }
        None => None,
    };
    let session = state.cfg.quirks.session_cookie.as_deref();
    if session.is_some() && get(&q, "prompt") == Some("none") {
        let has_session = headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .any(|c| c.trim().starts_with("mock_session="));
        if !has_session {
            return err(
                "login_required",
                "prompt=none, and the request carries no session cookie (mock_session)",
            );
        }
    }
    let code = random_token("mc_");
    state.inner().codes.insert(
        code.clone(),
        CodeGrant {
            client_id: client.id.clone(),
            redirect_uri: redirect_uri.clone(),
            scope: get(&q, "scope").unwrap_or("").to_owned(),
            nonce: get(&q, "nonce").map(str::to_owned),
            challenge,
            issued: Instant::now(),
            used: false,
            tokens: Vec::new(),
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = st {
        pairs.push(("state", s));
    }
    pairs.push(("iss", state.issuer.as_str()));
    if get(&q, "response_mode") == Some("form_post") {
        return (
            form_post(&redirect_uri, &pairs),
            format!(
                "approved (form_post); code for {} → {redirect_uri}",
                client.id
            ),
        );
    }
    let mut resp = redirect_with(&redirect_uri, &pairs);
    if let Some(attrs) = session {
        let cookie = format!("mock_session={}; {attrs}", random_token("ms_"));
        if let Ok(v) = http::HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(http::header::SET_COOKIE, v);
        }
    }
    (
        resp,
        format!("approved; code for {} → {redirect_uri}", client.id),
    )
}

/// OAuth 2.0 Form Post Response Mode §2: a page that POSTs the response
/// parameters to the redirect URI as soon as it loads.
fn form_post(uri: &str, pairs: &[(&str, &str)]) -> Resp {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let inputs: String = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    text(
        200,
        "text/html; charset=utf-8",
        format!(
            "<!doctype html><html><body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{}\">{inputs}<noscript><button>Continue</button></noscript></form></body></html>",
            esc(uri)
        ),
    )
}

fn accept_json(parts: &http::request::Parts) -> bool {
    parts
        .headers
        .get_all(hyper::header::ACCEPT)
        .iter()
        .any(|v| String::from_utf8_lossy(v.as_bytes()).contains("json"))
}

fn token(state: &State, parts: &http::request::Parts, body: &Bytes) -> (Resp, String) {
    let style = state.cfg.quirks.errors_in_200;
    let aj = accept_json(parts);
    let fail = |e: TokenError, ctx: &str| {
        let outcome = format!("{ctx}{}: {} ({})", e.error, e.description, e.why);
        (rendered(quirks::render_error(&e, style, aj)), outcome)
    };
    let headers = header_list(&parts.headers);
    let authorization = headers.get("authorization");
    if let Some(status) = state.cfg.quirks.fail_all {
        let basic = authorization.is_some_and(|a| {
            a.trim()
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("basic "))
        });
        let e = quirks::fail_all_error(status, basic);
        let outcome = format!("{}: {} ({})", e.error, e.description, e.why);
        return (rendered(quirks::render_error(&e, None, aj)), outcome);
    }
    let body = Body::from_bytes(body);
    let fmt = params::body_format(&headers, &body);
    let p: Params = params::body_params(&headers, &body);
    let q = &state.cfg.quirks;
    let (clients, accept) = if q.any_client {
        (
            std::borrow::Cow::Owned(quirks::presented_client(authorization, &p)),
            &[1, 2, 3, 4, 5, 6][..],
        )
    } else {
        (
            std::borrow::Cow::Borrowed(state.cfg.clients.as_slice()),
            q.accept_flavours.as_slice(),
        )
    };
    let auth = match quirks::authenticate(authorization, fmt, &p, &clients, accept) {
        Ok(a) => a,
        Err(e) => return fail(e, ""),
    };
    let fl = match auth.flavours.as_slice() {
        [] => "public client".to_owned(),
        [n] => format!("flavour {n}"),
        ns => format!(
            "flavour {}",
            ns.iter().map(u8::to_string).collect::<Vec<_>>().join("/")
        ),
    };
    let grant = get(&p, "grant_type").unwrap_or("");
    let ctx = format!("{grant} ({fl}): ");
    let result = match grant {
        "authorization_code" => code_grant(state, &auth.client, &p),
        "refresh_token" => refresh_grant(state, &auth.client, &p),
        "client_credentials" => client_credentials(state, &auth.client, &p),
        "" => Err(TokenError::bad(
            "invalid_request",
            "Missing parameter: grant_type",
            ErrKind::Other,
            "no grant_type",
        )),
        other => Err(TokenError::bad(
            "unsupported_grant_type",
            &format!("grant type '{other}' is not supported"),
            ErrKind::Other,
            "unknown grant type",
        )),
    };
    match result {
        Ok((fields, what)) => (
            rendered(quirks::render_success(fields, style, aj)),
            format!("{ctx}{what}"),
        ),
        Err(e) => fail(e, &ctx),
    }
}

fn scope_list(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

fn issue(
    state: &State,
    inner: &mut Inner,
    client_id: &str,
    scope: &str,
    nonce: Option<&str>,
    refresh: Option<u64>,
) -> Result<(Map<String, Value>, Vec<String>), TokenError> {
    let access = random_token("mat_");
    inner.access.insert(access.clone(), client_id.to_owned());
    let mut tokens = vec![access.clone()];
    let mut m = Map::new();
    m.insert("access_token".into(), access.into());
    m.insert("token_type".into(), "Bearer".into());
    m.insert("expires_in".into(), 3600.into());
    if !scope.is_empty() {
        m.insert("scope".into(), scope.into());
    }
    if let Some(family) = refresh {
        let rt = random_token("mrt_");
        inner.refresh.insert(
            rt.clone(),
            RefreshGrant {
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                family,
                state: RtState::Active,
                uses: 0,
            },
        );
        tokens.push(rt.clone());
        m.insert("refresh_token".into(), rt.into());
    }
    if scope_list(scope).contains(&"openid") {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = json!({
            "iss": state.issuer,
            "sub": SUBJECT,
            "aud": client_id,
            "iat": now,
            "exp": now + 3600,
            "auth_time": now,
            "name": "Mock User",
            "email": "user@mock.test",
        });
        if let Some(n) = nonce {
            claims["nonce"] = n.into();
        }
        let idt = state.signer.sign(&claims).map_err(|e| TokenError {
            status: 500,
            error: "server_error".into(),
            description: e.to_string(),
            kind: ErrKind::Other,
            www_authenticate: false,
            why: "signing failed".into(),
        })?;
        m.insert("id_token".into(), idt.into());
    }
    Ok((m, tokens))
}

type Granted = Result<(Map<String, Value>, String), TokenError>;

fn code_grant(state: &State, client: &Client, p: &Params) -> Granted {
    let Some(code) = get(p, "code") else {
        return Err(TokenError::bad(
            "invalid_request",
            "Missing parameter: code",
            ErrKind::Code,
            "no code",
        ));
    };
    let mut inner = state.inner();
    let inner = &mut *inner;
    let Some(grant) = inner.codes.get_mut(code) else {
        return Err(TokenError::bad(
            "invalid_grant",
            "Code not valid",
            ErrKind::Code,
            "unknown code",
        ));
    };
    if grant.used {
        // RFC 6749 §4.1.2: deny, and revoke what the first exchange issued (Keycloak does).
        let tokens = std::mem::take(&mut grant.tokens);
        for t in tokens {
            inner.access.remove(&t);
            if let Some(rt) = inner.refresh.get_mut(&t) {
                rt.state = RtState::Revoked;
            }
        }
        return Err(TokenError::bad(
            "invalid_grant",
            "Code not valid",
            ErrKind::Code,
            "code reused; tokens from the first exchange revoked",
        ));
    }
    if grant.client_id != client.id {
        return Err(TokenError::bad(
            "invalid_grant",
            "Auth error: Found different client_id in clientSession",
            ErrKind::Code,
            "code issued to another client",
        ));
    }
    // The code is consumed from here on, whether the rest passes or not.
    grant.used = true;
    let ttl = Duration::from_secs(state.cfg.quirks.code_ttl_secs);
    let age = grant.issued.elapsed();
    if age >= ttl {
        return Err(TokenError::bad(
            "invalid_grant",
            "Code is expired",
            ErrKind::Code,
            &format!(
                "code {:.1}s old, lifetime {}s",
                age.as_secs_f64(),
                ttl.as_secs()
            ),
        ));
    }
    let mode = state.cfg.quirks.redirect_match;
    match get(p, "redirect_uri") {
        None => {
            return Err(TokenError::bad(
                "invalid_grant",
                "redirect_uri is required if it was included in the authorization request.",
                ErrKind::Redirect,
                "token request has no redirect_uri",
            ))
        }
        Some(r) if !mode.matches(&grant.redirect_uri, r) => {
            return Err(TokenError::bad(
                "invalid_grant",
                "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
                ErrKind::Redirect,
                &format!(
                    "redirect_uri {r} ≠ {} ({} match)",
                    grant.redirect_uri,
                    mode.as_str()
                ),
            ))
        }
        Some(_) => {}
    }
    let verifier = get(p, "code_verifier");
    match (&grant.challenge, verifier) {
        (Some(_), None) => {
            return Err(TokenError::bad(
                "invalid_grant",
                "PKCE code verifier not specified",
                ErrKind::Pkce,
                "no code_verifier",
            ))
        }
        (None, Some(_)) => {
            return Err(TokenError::bad(
                "invalid_grant",
                "PKCE code verifier specified but challenge not present in authorization",
                ErrKind::Pkce,
                "code_verifier without a challenge",
            ))
        }
        (Some((challenge, method)), Some(v)) => {
            let valid = (43..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !valid {
                return Err(TokenError::bad(
                    "invalid_grant",
                    "PKCE verification failed: Invalid code verifier",
                    ErrKind::Pkce,
                    "code_verifier length or characters invalid",
                ));
            }
            let computed = if method == "S256" {
                use sha2::{Digest, Sha256};
                URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()))
            } else {
                v.to_owned()
            };
            if &computed != challenge {
                return Err(TokenError::bad(
                    "invalid_grant",
                    "PKCE verification failed: Code mismatch",
                    ErrKind::Pkce,
                    "code_verifier does not hash to the code_challenge",
                ));
            }
        }
        (None, None) => {}
    }
    let scope = grant.scope.clone();
    let nonce = grant.nonce.clone();
    let family = inner.next_family;
    inner.next_family += 1;
    let (fields, tokens) = issue(
        state,
        inner,
        &client.id,
        &scope,
        nonce.as_deref(),
        Some(family),
    )?;
    if let Some(g) = inner.codes.get_mut(code) {
        g.tokens = tokens;
    }
    Ok((fields, "tokens issued".into()))
}

fn refresh_grant(state: &State, client: &Client, p: &Params) -> Granted {
    let Some(rt) = get(p, "refresh_token") else {
        return Err(TokenError::bad(
            "invalid_request",
            "Missing parameter: refresh_token",
            ErrKind::Refresh,
            "no refresh_token",
        ));
    };
    let unknown = |why: &str| {
        TokenError::bad(
            "invalid_grant",
            "Unknown or invalid refresh token.",
            ErrKind::Refresh,
            why,
        )
    };
    let mut inner = state.inner();
    let inner = &mut *inner;
    let Some(grant) = inner.refresh.get_mut(rt) else {
        return Err(unknown("unknown refresh token"));
    };
    if grant.client_id != client.id {
        return Err(unknown("refresh token issued to another client"));
    }
    let family = grant.family;
    match grant.state {
        RtState::Revoked => return Err(unknown("refresh token revoked")),
        RtState::Rotated => {
            // Auth0-style reuse detection: the whole family dies.
            inner.revoked_families.insert(family);
            for g in inner.refresh.values_mut() {
                if g.family == family {
                    g.state = RtState::Revoked;
                }
            }
            return Err(unknown(
                "rotated refresh token reused; token family revoked",
            ));
        }
        RtState::Active => {}
    }
    if inner.revoked_families.contains(&family) {
        return Err(unknown("refresh token family revoked"));
    }
    grant.uses += 1;
    if state.cfg.quirks.refresh_policy == RefreshPolicy::ImmediateExpire && grant.uses == 1 {
        grant.state = RtState::Revoked;
        return Err(TokenError::bad(
            "invalid_grant",
            "expired access/refresh token",
            ErrKind::Refresh,
            "refresh token policy: immediately expire (Salesforce)",
        ));
    }
    let granted = grant.scope.clone();
    let scope = match get(p, "scope") {
        Some(s) => {
            let have = scope_list(&granted);
            if let Some(extra) = scope_list(s).into_iter().find(|x| !have.contains(x)) {
                return Err(TokenError::bad(
                    "invalid_scope",
                    &format!("The requested scope '{extra}' exceeds the scope granted by the resource owner."),
                    ErrKind::Other,
                    "refresh asked for more scope than granted",
                ));
            }
            s.to_owned()
        }
        None => granted,
    };
    let rotate = state.cfg.quirks.rotate_refresh_tokens;
    if rotate {
        grant.state = RtState::Rotated;
    }
    let (fields, _) = issue(
        state,
        inner,
        &client.id,
        &scope,
        None,
        rotate.then_some(family),
    )?;
    Ok((
        fields,
        if rotate {
            "tokens issued; refresh token rotated".into()
        } else {
            "access token issued".into()
        },
    ))
}

fn client_credentials(state: &State, client: &Client, p: &Params) -> Granted {
    if client.secret.is_none() {
        return Err(TokenError::bad(
            "unauthorized_client",
            "The client is not authorized to use the provided grant type. Configured grant types: [authorization_code, refresh_token]",
            ErrKind::Other,
            "public client asked for client_credentials",
        ));
    }
    let scope = get(p, "scope").unwrap_or("");
    let mut inner = state.inner();
    let (mut fields, _) = issue(state, &mut inner, &client.id, scope, None, None)?;
    // No end user took part, so there is nobody for an ID token to be about
    // (OIDC Core §2: the ID token is about the authentication of an end user).
    fields.remove("id_token");
    Ok((fields, "access token issued".into()))
}

fn userinfo(state: &State, parts: &http::request::Parts) -> (Resp, String) {
    let token = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (s, t) = v.split_once(' ')?;
            s.eq_ignore_ascii_case("bearer")
                .then(|| t.trim().to_owned())
        });
    let known = token
        .as_deref()
        .map(|t| state.inner().access.contains_key(t))
        .unwrap_or(false);
    if known {
        (
            json_resp(
                200,
                &json!({"sub": SUBJECT, "name": "Mock User", "email": "user@mock.test"}),
            ),
            "userinfo".into(),
        )
    } else {
        let mut r = json_resp(401, &json!({"error": "invalid_token"}));
        r.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static(
                "Bearer realm=\"oauthscope-mock\", error=\"invalid_token\"",
            ),
        );
        (r, "userinfo refused: invalid_token".into())
    }
}

//! A scripted OAuth client for the demo, the examples and tests: it drives
//! logins against a provider (usually the mock), either through the
//! oauthscope proxy (which then records the exchanges) or directly, in which
//! case it keeps its own [`Record`]s of the OAuth exchanges it made, the same
//! records the proxy would have stored, so [`crate::analyze::analyze`] can
//! explain them.

use super::MockError;
use crate::analyze::classify;
use crate::record::{new_id, Body, HeaderList, Record, Request, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use std::time::Instant;
use time::OffsetDateTime;

/// A response as the scripted client received it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderList,
    /// Response body as text (lossy).
    pub body: String,
}

impl Exchange {
    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// Query parameters of the `Location` header.
    pub fn location_params(&self) -> Vec<(String, String)> {
        self.headers
            .get("location")
            .and_then(|l| url::Url::parse(l).ok())
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default()
    }
}

/// The scripted client.
#[derive(Debug)]
pub struct ScriptedClient {
    http: reqwest::Client,
    local: Option<Vec<Record>>,
}

fn script_err(what: &str, e: impl std::fmt::Display) -> MockError {
    MockError::Script(format!("{what}: {e}"))
}

impl ScriptedClient {
    /// A client that talks to the provider directly and records OAuth exchanges itself.
    pub fn recording() -> Result<ScriptedClient, MockError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| script_err("HTTP client", e))?;
        Ok(ScriptedClient {
            http,
            local: Some(Vec::new()),
        })
    }

    /// A client that sends everything through `proxy` and trusts `ca_pem`
    /// (the proxy's CA) for HTTPS; the proxy does the recording.
    pub fn via_proxy(proxy: &str, ca_pem: Option<&[u8]>) -> Result<ScriptedClient, MockError> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .proxy(reqwest::Proxy::all(proxy).map_err(|e| script_err("proxy URL", e))?);
        if let Some(pem) = ca_pem {
            let cert =
                reqwest::Certificate::from_pem(pem).map_err(|e| script_err("CA certificate", e))?;
            b = b.tls_certs_merge([cert]);
        }
        let http = b.build().map_err(|e| script_err("HTTP client", e))?;
        Ok(ScriptedClient { http, local: None })
    }

    /// Records kept by a [`ScriptedClient::recording`] client (empty through a proxy).
    pub fn records(&self) -> &[Record] {
        self.local.as_deref().unwrap_or(&[])
    }

    /// Send one request.
    pub async fn send(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<String>,
    ) -> Result<Exchange, MockError> {
        let m =
            reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| script_err("method", e))?;
        let mut rb = self.http.request(m, url);
        let mut req_headers = HeaderList::default();
        for (k, v) in headers {
            rb = rb.header(*k, v);
            req_headers.push(*k, v.clone());
        }
        if let Some(b) = &body {
            rb = rb.body(b.clone());
        }
        let time = OffsetDateTime::now_utc();
        let started = Instant::now();
        let resp = rb
            .send()
            .await
            .map_err(|e| script_err(&format!("{method} {url}"), e))?;
        let status = resp.status().as_u16();
        let mut resp_headers = HeaderList::default();
        for (k, v) in resp.headers() {
            resp_headers.push(k.as_str(), String::from_utf8_lossy(v.as_bytes()));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| script_err(&format!("reading {url}"), e))?;
        let duration_ms = started.elapsed().as_millis() as u64;
        let exchange = Exchange {
            status,
            headers: resp_headers.clone(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        if let Some(local) = &mut self.local {
            let mut rec = Record {
                id: new_id(time),
                time,
                flow: None,
                kind: crate::record::Kind::Discovery,
                grant_type: None,
                request: Request {
                    method: method.to_owned(),
                    url: url.to_owned(),
                    headers: req_headers,
                    body: Body::from_bytes(body.as_deref().unwrap_or("").as_bytes()),
                },
                response: Some(Response {
                    status,
                    headers: resp_headers,
                    body: Body::from_bytes(&bytes),
                }),
                duration_ms,
                error: None,
                flavour: None,
                annotations: Vec::new(),
            };
            if let Some(c) = classify::classify_record(&rec) {
                rec.kind = c.kind;
                rec.grant_type = c.grant_type;
                local.push(rec);
            }
        }
        Ok(exchange)
    }
}

/// The client side of a login: who the app is and where it gets the code.
#[derive(Debug, Clone)]
pub struct App {
    /// Provider issuer / base URL (the mock's `issuer()`).
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Redirect URI registered for the client.
    pub redirect_uri: String,
}

/// `Authorization: Basic` with URL-encoded id and secret (flavour 1).
pub fn basic_header(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// The S256 challenge of a PKCE verifier.
pub fn s256(verifier: &str) -> String {
    use sha2::{Digest, Sha256};
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

impl App {
    /// GET the discovery document.
    pub async fn discover(&self, c: &mut ScriptedClient) -> Result<Exchange, MockError> {
        c.send(
            "GET",
            &format!("{}/.well-known/openid-configuration", self.issuer),
            &[],
            None,
        )
        .await
    }

    /// GET /authorize with the registered redirect URI and `extra` parameters;
    /// returns the code from the redirect.
    pub async fn authorize(
        &self,
        c: &mut ScriptedClient,
        extra: &[(&str, &str)],
    ) -> Result<String, MockError> {
        let mut u = url::Url::parse(&format!("{}/authorize", self.issuer))
            .map_err(|e| script_err("issuer URL", e))?;
        // `extra` adds parameters, and replaces a default it names (a
        // second login with its own `state`).
        let defaults = [
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("state", "demo-state-4711"),
            ("scope", "openid offline_access"),
            ("nonce", "demo-nonce-0815"),
        ];
        for (k, v) in defaults {
            if !extra.iter().any(|(n, _)| *n == k) {
                u.query_pairs_mut().append_pair(k, v);
            }
        }
        for (k, v) in extra {
            u.query_pairs_mut().append_pair(k, v);
        }
        let x = c.send("GET", u.as_str(), &[], None).await?;
        let p = x.location_params();
        p.iter()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                MockError::Script(format!(
                    "authorize did not redirect with a code (status {}, {:?})",
                    x.status, p
                ))
            })
    }

    /// POST the code to the token endpoint (Basic auth, form body).
    pub async fn exchange(
        &self,
        c: &mut ScriptedClient,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<Exchange, MockError> {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(v) = code_verifier {
            pairs.push(("code_verifier", v));
        }
        self.token(c, &pairs).await
    }

    /// POST a refresh grant.
    pub async fn refresh(
        &self,
        c: &mut ScriptedClient,
        refresh_token: &str,
    ) -> Result<Exchange, MockError> {
        self.token(
            c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// POST any form to the token endpoint with Basic client authentication.
    pub async fn token(
        &self,
        c: &mut ScriptedClient,
        pairs: &[(&str, &str)],
    ) -> Result<Exchange, MockError> {
        c.send(
            "POST",
            &format!("{}/token", self.issuer),
            &[
                (
                    "authorization",
                    basic_header(&self.client_id, &self.client_secret),
                ),
                ("content-type", "application/x-www-form-urlencoded".into()),
                ("accept", "application/json".into()),
            ],
            Some(form(pairs)),
        )
        .await
    }
}

/// A one-line summary of a token response: `400 invalid_grant: ...` or `200 tokens`.
pub fn summary(x: &Exchange) -> String {
    match x.json() {
        Some(v) if v.get("error").is_some() => format!(
            "{} {}: {}",
            x.status,
            v["error"].as_str().unwrap_or("?"),
            v["error_description"].as_str().unwrap_or("")
        ),
        Some(v) if v.get("access_token").is_some() => format!(
            "{} access_token{}{}",
            x.status,
            if v.get("refresh_token").is_some() {
                " + refresh_token"
            } else {
                ""
            },
            if v.get("id_token").is_some() {
                " + id_token"
            } else {
                ""
            }
        ),
        _ => format!(
            "{} {}",
            x.status,
            x.body.chars().take(80).collect::<String>()
        ),
    }
}

/// The annotated capture as oauthscope shows it: the `flows list` table,
/// then every token request in full (`flows show`).
pub fn render_capture(records: &[Record], color: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "What oauthscope shows:\n");
    out.push_str(&crate::view::list(records, color));
    let _ = writeln!(out);
    for r in records
        .iter()
        .filter(|r| r.kind == crate::record::Kind::TokenRequest)
    {
        out.push_str(&crate::view::show(r, color));
        let _ = writeln!(out);
    }
    out
}

//! Which of the six token-exchange flavours does a token endpoint accept?
//!
//! [`probe`] sends the same grant once per flavour (docs/record-format.md numbering) and
//! records what the endpoint said. Order (see [`POPULARITY_ORDER`]): form
//! bodies before JSON, because RFC 6749 requires form bodies and several
//! large providers refuse JSON (reference C.2); within each, HTTP Basic with
//! the RFC 6749 §2.3.1 URL-encoding first (every server MUST support Basic),
//! then body credentials (accepted almost everywhere, C.1), then Basic with a
//! raw secret (what many client libraries send, C.3). So 1, 3, 5, 2, 4, 6.
//!
//! Flavours 5 and 6 are skipped when, for this id and secret, they are the
//! same bytes as 1 and 2 (no character that URL-encoding changes).
//!
//! Grants are not all repeatable: an authorization code is single-use, so the
//! probe stops at the first success; a refresh token may rotate, so after a
//! success that returned a new refresh token the probe continues with the new
//! one and reports it.

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// Probe order: form bodies first (RFC 6749), Basic before body credentials.
pub const POPULARITY_ORDER: [u8; 6] = [1, 3, 5, 2, 4, 6];

/// Errors that stop the probe before any request is sent.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A required argument is missing for the chosen grant.
    #[error("{0}")]
    Missing(String),
    /// The token URL does not parse.
    #[error("token URL {url:?}: {source}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why.
        source: url::ParseError,
    },
    /// The HTTP client could not be built (bad proxy URL or CA certificate).
    #[error("HTTP client: {0}")]
    Client(String),
}

/// The grant the probe repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// `client_credentials`: repeatable.
    ClientCredentials,
    /// `refresh_token`: repeatable unless the provider rotates.
    RefreshToken,
    /// `authorization_code`: single-use.
    AuthorizationCode,
}

impl Grant {
    /// The `grant_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::ClientCredentials => "client_credentials",
            Grant::RefreshToken => "refresh_token",
            Grant::AuthorizationCode => "authorization_code",
        }
    }
}

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// Token endpoint URL.
    pub token_url: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Grant to send.
    pub grant: Grant,
    /// `refresh_token` for the refresh grant.
    pub refresh_token: Option<String>,
    /// `code` for the authorization-code grant.
    pub code: Option<String>,
    /// `redirect_uri` for the authorization-code grant.
    pub redirect_uri: Option<String>,
    /// `code_verifier` for the authorization-code grant (PKCE).
    pub code_verifier: Option<String>,
    /// Optional `scope`.
    pub scope: Option<String>,
    /// Send requests through this proxy (e.g. `http://127.0.0.1:8080`).
    pub proxy: Option<String>,
    /// Extra trusted CA certificates (PEM).
    pub ca_certs_pem: Vec<Vec<u8>>,
    /// Flavours to try, in order.
    pub order: Vec<u8>,
}

impl ProbeConfig {
    /// A client-credentials probe of `token_url` in the default order.
    pub fn new(token_url: &str, client_id: &str, client_secret: &str) -> ProbeConfig {
        ProbeConfig {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            grant: Grant::ClientCredentials,
            refresh_token: None,
            code: None,
            redirect_uri: None,
            code_verifier: None,
            scope: None,
            proxy: None,
            ca_certs_pem: Vec::new(),
            order: POPULARITY_ORDER.to_vec(),
        }
    }
}

/// How a flavour authenticates and encodes, for humans.
pub fn describe(flavour: u8) -> (&'static str, &'static str) {
    match flavour {
        1 => ("Basic, URL-encoded id:secret", "form"),
        2 => ("Basic, URL-encoded id:secret", "json"),
        3 => ("client_id/client_secret in body", "form"),
        4 => ("client_id/client_secret in body", "json"),
        5 => ("Basic, raw id:secret", "form"),
        6 => ("Basic, raw id:secret", "json"),
        _ => ("?", "?"),
    }
}

/// The flavour whose bytes this one duplicates for this id/secret (5→1, 6→2).
pub fn duplicate_of(flavour: u8, client_id: &str, secret: &str) -> Option<u8> {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let same = enc(client_id) == client_id && enc(secret) == secret;
    match flavour {
        5 if same => Some(1),
        6 if same => Some(2),
        _ => None,
    }
}

/// One request as the probe sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlavourRequest {
    /// Flavour number.
    pub flavour: u8,
    /// Headers to send (besides those the HTTP client adds).
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: String,
}

/// Build the token request for `flavour` (pure; `refresh_token` overrides the configured one).
pub fn build_request(
    cfg: &ProbeConfig,
    flavour: u8,
    refresh_token: Option<&str>,
) -> FlavourRequest {
    let mut params: Vec<(String, String)> = vec![("grant_type".into(), cfg.grant.as_str().into())];
    match cfg.grant {
        Grant::ClientCredentials => {}
        Grant::RefreshToken => {
            let rt = refresh_token.or(cfg.refresh_token.as_deref()).unwrap_or("");
            params.push(("refresh_token".into(), rt.into()));
        }
        Grant::AuthorizationCode => {
            params.push(("code".into(), cfg.code.clone().unwrap_or_default()));
            if let Some(r) = &cfg.redirect_uri {
                params.push(("redirect_uri".into(), r.clone()));
            }
            if let Some(v) = &cfg.code_verifier {
                params.push(("code_verifier".into(), v.clone()));
            }
        }
    }
    if let Some(s) = &cfg.scope {
        params.push(("scope".into(), s.clone()));
    }
    encode(flavour, &cfg.client_id, Some(&cfg.client_secret), &params)
}

/// Encode a token request in `flavour` (docs/record-format.md numbering, 1–6): the
/// client credentials in an `Authorization: Basic` header (URL-encoded for
/// 1/2, raw for 5/6) or as `client_id`/`client_secret` body members (3/4),
/// and `params` (without the credentials) as a form (1/3/5) or JSON (2/4/6)
/// body, in their order. Pure. With no `secret` the body flavours send
/// `client_id` alone (a public client) and the Basic ones an empty password.
pub fn encode(
    flavour: u8,
    client_id: &str,
    secret: Option<&str>,
    params: &[(String, String)],
) -> FlavourRequest {
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut params: Vec<(String, String)> = params.to_vec();
    let secret_or_empty = secret.unwrap_or("");
    let mut headers = vec![("accept".to_owned(), "application/json".to_owned())];
    match flavour {
        1 | 2 => headers.push((
            "authorization".into(),
            format!(
                "Basic {}",
                b64(format!("{}:{}", enc(client_id), enc(secret_or_empty)))
            ),
        )),
        5 | 6 => headers.push((
            "authorization".into(),
            format!("Basic {}", b64(format!("{client_id}:{secret_or_empty}"))),
        )),
        _ => {
            params.push(("client_id".into(), client_id.to_owned()));
            if let Some(s) = secret {
                params.push(("client_secret".into(), s.to_owned()));
            }
        }
    }
    let json = matches!(flavour, 2 | 4 | 6);
    let body = if json {
        headers.push(("content-type".into(), "application/json".into()));
        let m: serde_json::Map<String, Value> = params
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Value::Object(m).to_string()
    } else {
        headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            ser.append_pair(k, v);
        }
        ser.finish()
    };
    FlavourRequest {
        flavour,
        headers,
        body,
    }
}

/// What happened to one flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The endpoint issued a token.
    Accepted,
    /// The endpoint refused.
    Rejected,
    /// Not sent: same bytes as another flavour.
    Skipped,
    /// Not sent: an earlier success consumed the single-use grant.
    NotTried,
    /// No HTTP response (connection, TLS, proxy).
    Failed,
}

impl Outcome {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Rejected => "rejected",
            Outcome::Skipped => "skipped",
            Outcome::NotTried => "not tried",
            Outcome::Failed => "failed",
        }
    }
}

/// The result for one flavour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// Flavour number (1–6).
    pub flavour: u8,
    /// How the client authenticated.
    pub client_auth: &'static str,
    /// `form` or `json`.
    pub body: &'static str,
    /// What happened.
    pub outcome: Outcome,
    /// HTTP status, when a response came.
    pub status: Option<u16>,
    /// The `error` the endpoint sent.
    pub error: Option<String>,
    /// The `error_description` (or the start of an unrecognised body).
    pub error_description: Option<String>,
    /// Anything else worth knowing (duplicates, errors hidden in a 200, rotation).
    pub note: Option<String>,
}

/// The whole probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    /// Endpoint probed.
    pub token_url: String,
    /// Grant used.
    pub grant: Grant,
    /// Flavours accepted, in probe order.
    pub accepted: Vec<u8>,
    /// Warnings about side effects (single-use codes, rotation).
    pub warnings: Vec<String>,
    /// One entry per flavour, in probe order.
    pub attempts: Vec<Attempt>,
    /// When the provider rotated the refresh token: the newest one (the one passed in is dead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_refresh_token: Option<String>,
}

/// Warnings to show before probing with this grant.
pub fn warnings(grant: Grant) -> Vec<String> {
    match grant {
        Grant::AuthorizationCode => vec![
            "an authorization code is single-use: the first accepted flavour consumes it, so the probe stops there; flavours after it are not tried (get a fresh code to probe further)".into(),
        ],
        Grant::RefreshToken => vec![
            "if the provider rotates refresh tokens, an accepted flavour consumes the token you gave; the probe continues with the new token it received and prints it — store it, the old one is dead".into(),
        ],
        Grant::ClientCredentials => Vec::new(),
    }
}

/// Interpret a token response: `(accepted, error, description, note, new refresh token)`.
pub fn interpret(
    status: u16,
    body: &str,
) -> (
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let trimmed = body.trim();
    let mut note = None;
    let (access, error, desc, rt) =
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(trimmed) {
            let mut error = s(m.get("error"));
            let mut desc = s(m.get("error_description"));
            if let Some(Value::Object(e)) = m.get("error") {
                // Facebook/Graph nested error object.
                error = s(e.get("type")).or_else(|| s(e.get("code")));
                desc = s(e.get("message"));
            }
            if error.is_none() {
                // HubSpot {"status":"BAD_CLIENT_ID","message":...}
                if let (Some(st), Some(msg)) = (s(m.get("status")), s(m.get("message"))) {
                    error = Some(st);
                    desc = Some(msg);
                }
            }
            if m.get("ok") == Some(&Value::Bool(false)) && error.is_none() {
                error = Some("ok=false".into());
            }
            (
                m.get("access_token").is_some(),
                error,
                desc,
                s(m.get("refresh_token")),
            )
        } else if trimmed.contains('=') && !trimmed.contains('<') {
            let p = crate::analyze::params::form_params(trimmed);
            let g = |k: &str| crate::analyze::params::get(&p, k).map(str::to_owned);
            (
                g("access_token").is_some(),
                g("error"),
                g("error_description"),
                g("refresh_token"),
            )
        } else {
            let start: String = trimmed.chars().take(160).collect();
            (false, None, (!start.is_empty()).then_some(start), None)
        };
    let ok2xx = (200..300).contains(&status);
    if ok2xx && error.is_some() {
        note = Some(format!(
            "error hidden in an HTTP {status} response (GitHub/Slack style)"
        ));
    }
    let accepted = ok2xx && access && error.is_none();
    if ok2xx && !access && error.is_none() {
        note = Some("2xx without an access_token".into());
    }
    (accepted, error, desc, note, rt)
}

fn http_client(cfg: &ProbeConfig) -> Result<reqwest::Client, ProbeError> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("oauthscope-probe/", env!("CARGO_PKG_VERSION")));
    if let Some(p) = &cfg.proxy {
        let proxy =
            reqwest::Proxy::all(p).map_err(|e| ProbeError::Client(format!("proxy {p:?}: {e}")))?;
        b = b.proxy(proxy);
    }
    let mut certs = Vec::new();
    for pem in &cfg.ca_certs_pem {
        let mut c = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| ProbeError::Client(format!("CA certificate: {e}")))?;
        certs.append(&mut c);
    }
    if !certs.is_empty() {
        b = b.tls_certs_merge(certs);
    }
    b.build().map_err(|e| ProbeError::Client(e.to_string()))
}

/// Probe the endpoint: one request per flavour in `cfg.order`.
pub async fn probe(cfg: &ProbeConfig) -> Result<ProbeReport, ProbeError> {
    url::Url::parse(&cfg.token_url).map_err(|source| ProbeError::BadUrl {
        url: cfg.token_url.clone(),
        source,
    })?;
    match cfg.grant {
        Grant::RefreshToken if cfg.refresh_token.is_none() => {
            return Err(ProbeError::Missing(
                "--grant refresh_token needs --refresh-token".into(),
            ))
        }
        Grant::AuthorizationCode if cfg.code.is_none() => {
            return Err(ProbeError::Missing(
                "--grant authorization_code needs --code (and usually --redirect-uri)".into(),
            ))
        }
        _ => {}
    }
    let client = http_client(cfg)?;
    let mut report = ProbeReport {
        token_url: cfg.token_url.clone(),
        grant: cfg.grant,
        accepted: Vec::new(),
        warnings: warnings(cfg.grant),
        attempts: Vec::new(),
        newest_refresh_token: None,
    };
    let mut current_rt = cfg.refresh_token.clone();
    let mut consumed = false;
    for &n in &cfg.order {
        let (client_auth, body) = describe(n);
        let mut attempt = Attempt {
            flavour: n,
            client_auth,
            body,
            outcome: Outcome::Skipped,
            status: None,
            error: None,
            error_description: None,
            note: None,
        };
        if let Some(d) = duplicate_of(n, &cfg.client_id, &cfg.client_secret) {
            attempt.note = Some(format!(
                "same bytes as flavour {d} for this id/secret (nothing to URL-encode); not sent"
            ));
            report.attempts.push(attempt);
            continue;
        }
        if consumed {
            attempt.outcome = Outcome::NotTried;
            attempt.note = Some("the code was consumed by an earlier accepted flavour".into());
            report.attempts.push(attempt);
            continue;
        }
        let req = build_request(cfg, n, current_rt.as_deref());
        let mut rb = client.post(&cfg.token_url).body(req.body);
        for (k, v) in &req.headers {
            rb = rb.header(k, v);
        }
        tracing::debug!(flavour = n, "probe: sending");
        match rb.send().await {
            Err(e) => {
                attempt.outcome = Outcome::Failed;
                attempt.error_description = Some(error_chain(&e));
            }
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                let (ok, error, desc, note, rt) = interpret(status, &text);
                attempt.status = Some(status);
                attempt.error = error;
                attempt.error_description = desc;
                attempt.note = note;
                if ok {
                    attempt.outcome = Outcome::Accepted;
                    report.accepted.push(n);
                    if cfg.grant == Grant::AuthorizationCode {
                        consumed = true;
                    }
                    if cfg.grant == Grant::RefreshToken {
                        if let Some(new) = rt.filter(|r| Some(r) != current_rt.as_ref()) {
                            attempt.note = Some(
                                "the provider rotated the refresh token; continuing with the new one".into(),
                            );
                            report.newest_refresh_token = Some(new.clone());
                            current_rt = Some(new);
                        }
                    }
                } else {
                    attempt.outcome = Outcome::Rejected;
                }
            }
        }
        report.attempts.push(attempt);
    }
    Ok(report)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// The report as a table for a terminal.
pub fn render_table(r: &ProbeReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "token endpoint: {}   grant: {}",
        r.token_url,
        r.grant.as_str()
    );
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<2} {:<33} {:<5} {:<9} {:<6} what the endpoint said",
        "#", "client authentication", "body", "result", "status"
    );
    for a in &r.attempts {
        let said = match (&a.error, &a.error_description) {
            (Some(e), Some(d)) => format!("{e}: {d}"),
            (Some(e), None) => e.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => String::new(),
        };
        let said = match &a.note {
            Some(n) if said.is_empty() => n.clone(),
            Some(n) => format!("{said}  [{n}]"),
            None => said,
        };
        let _ = writeln!(
            out,
            "{:<2} {:<33} {:<5} {:<9} {:<6} {}",
            a.flavour,
            a.client_auth,
            a.body,
            a.outcome.as_str(),
            a.status.map(|s| s.to_string()).unwrap_or_default(),
            said
        );
    }
    let _ = writeln!(out);
    if r.accepted.is_empty() {
        let _ = writeln!(out, "accepted: none of the flavours tried");
    } else {
        let list: Vec<String> = r
            .accepted
            .iter()
            .map(|n| {
                let (a, b) = describe(*n);
                format!("{n} ({a} + {b})")
            })
            .collect();
        let _ = writeln!(out, "accepted: {}", list.join(", "));
    }
    if let Some(rt) = &r.newest_refresh_token {
        let _ = writeln!(
            out,
            "newest refresh token (store it; the one you passed no longer works): {rt}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_flavours_differ_when_the_secret_has_special_characters() {
        let cfg = ProbeConfig::new("http://127.0.0.1/token", "app", "p+s/=%");
        let reqs: Vec<FlavourRequest> = (1..=6).map(|n| build_request(&cfg, n, None)).collect();
        for i in 0..6 {
            for j in i + 1..6 {
                assert_ne!(
                    (&reqs[i].headers, &reqs[i].body),
                    (&reqs[j].headers, &reqs[j].body),
                    "{} vs {}",
                    i + 1,
                    j + 1
                );
            }
        }
        let auth1 = &reqs[0]
            .headers
            .iter()
            .find(|h| h.0 == "authorization")
            .unwrap()
            .1;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth1.trim_start_matches("Basic "))
            .unwrap();
        assert_eq!(decoded, b"app:p%2Bs%2F%3D%25");
        assert!(reqs[3].body.contains("\"client_secret\":\"p+s/=%\""));
        assert_eq!(duplicate_of(5, "app", "p+s/=%"), None);
        assert_eq!(duplicate_of(5, "app", "plain"), Some(1));
        assert_eq!(duplicate_of(6, "app", "plain"), Some(2));
    }

    #[test]
    fn responses_are_read_in_every_shape() {
        assert!(interpret(200, r#"{"access_token":"a","token_type":"Bearer"}"#).0);
        let (ok, e, d, note, _) = interpret(
            200,
            "error=bad_verification_code&error_description=The+code",
        );
        assert!(!ok);
        assert_eq!(e.as_deref(), Some("bad_verification_code"));
        assert_eq!(d.as_deref(), Some("The code"));
        assert!(note.unwrap().contains("hidden"));
        let (ok, e, ..) = interpret(200, r#"{"ok":false,"error":"invalid_code"}"#);
        assert!(!ok);
        assert_eq!(e.as_deref(), Some("invalid_code"));
        let (ok, e, d, ..) = interpret(415, "<html>nope</html>");
        assert!(!ok && e.is_none());
        assert_eq!(d.as_deref(), Some("<html>nope</html>"));
    }
}

//! Client authentication under `accept_flavours`, and the error shapes real
//! providers send. Sources are sections of the project's OAuth reference:
//!
//! * JSON body to a form-only server: Entra ID, 400 `invalid_request`
//!   "AADSTS900144: The request body must contain the following parameter:
//!   'grant_type'." (C.2) — a form parser finds no `grant_type` in JSON.
//! * Authentication method the client is not registered for: Ory Hydra /
//!   Authelia, 401 `invalid_client` "The OAuth 2.0 Client supports client
//!   authentication method 'client_secret_basic', but method
//!   'client_secret_post' was requested." (B.17, C.1)
//! * Wrong secret, or a Basic header encoded the way this server does not
//!   decode (Keycloak ≥ 20 URL-decodes; raw comparers do not): Okta, 401
//!   `invalid_client` "Client authentication failed. Either the client or the
//!   client credentials are invalid." with `WWW-Authenticate` when Basic was
//!   used (RFC 6749 §5.2, B.6, C.3).
//! * Basic and body credentials together: Okta, 400 `invalid_request`
//!   "Cannot supply multiple client credentials. ..." (C.1).
//! * GitHub errors in a 200 (B.4, C.4) and Slack `{"ok":false}` (B.5).

use super::{Client, ErrorsIn200};
use crate::analyze::params::{get, BodyFormat, Params};
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// What an error is about, so it can be translated into GitHub's or Slack's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrKind {
    /// The authorization code (unknown, reused, expired, other client).
    Code,
    /// PKCE verification.
    Pkce,
    /// The token-leg redirect_uri.
    Redirect,
    /// Unknown client id.
    ClientUnknown,
    /// Client authentication failed (secret, method, encoding).
    ClientSecret,
    /// The refresh token.
    Refresh,
    /// Anything else (kept as is).
    Other,
}

/// A token-endpoint error before it is rendered in a provider's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// HTTP status in the RFC shape.
    pub status: u16,
    /// The `error` code.
    pub error: String,
    /// The `error_description`.
    pub description: String,
    /// What it is about.
    pub kind: ErrKind,
    /// Send `WWW-Authenticate: Basic` (RFC 6749 §5.2: 401 after Basic).
    pub www_authenticate: bool,
    /// Why, in the mock's own words (history line).
    pub why: String,
}

impl TokenError {
    /// A 400 error.
    pub fn bad(error: &str, description: &str, kind: ErrKind, why: &str) -> TokenError {
        TokenError {
            status: 400,
            error: error.into(),
            description: description.into(),
            kind,
            www_authenticate: false,
            why: why.into(),
        }
    }

    fn client(kind: ErrKind, basic: bool, description: &str, why: &str) -> TokenError {
        TokenError {
            status: 401,
            error: "invalid_client".into(),
            description: description.into(),
            kind,
            www_authenticate: basic,
            why: why.into(),
        }
    }
}

/// A rendered HTTP response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
}

/// Render an error: RFC 6749 §5.2 JSON, or GitHub/Slack style with HTTP 200.
pub fn render_error(e: &TokenError, style: Option<ErrorsIn200>, accept_json: bool) -> Rendered {
    match style {
        None => {
            let mut headers = Vec::new();
            if e.www_authenticate {
                headers.push(("www-authenticate", "Basic realm=\"oauthscope-mock\"".into()));
            }
            Rendered {
                status: e.status,
                content_type: "application/json",
                body: json!({"error": e.error, "error_description": e.description}).to_string(),
                headers,
            }
        }
        Some(ErrorsIn200::Github) => {
            let (code, desc) = match e.kind {
                ErrKind::Code | ErrKind::Pkce => (
                    "bad_verification_code",
                    "The code passed is incorrect or expired.",
                ),
                ErrKind::Redirect => (
                    "redirect_uri_mismatch",
                    "The redirect_uri MUST match the registered callback URL for this application.",
                ),
                ErrKind::ClientUnknown | ErrKind::ClientSecret => (
                    "incorrect_client_credentials",
                    "The client_id and/or client_secret passed are incorrect.",
                ),
                ErrKind::Refresh => (
                    "bad_refresh_token",
                    "The refresh token passed is incorrect or expired.",
                ),
                ErrKind::Other => (e.error.as_str(), e.description.as_str()),
            };
            let uri = format!(
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#{}",
                code.replace('_', "-")
            );
            let mut m = Map::new();
            m.insert("error".into(), code.into());
            m.insert("error_description".into(), desc.into());
            m.insert("error_uri".into(), uri.into());
            github_body(m, accept_json)
        }
        Some(ErrorsIn200::Slack) => {
            let code = match e.kind {
                ErrKind::Code | ErrKind::Pkce => "invalid_code",
                ErrKind::Redirect => "bad_redirect_uri",
                ErrKind::ClientUnknown => "invalid_client_id",
                ErrKind::ClientSecret => "bad_client_secret",
                ErrKind::Refresh => "invalid_refresh_token",
                ErrKind::Other => e.error.as_str(),
            };
            Rendered {
                status: 200,
                content_type: "application/json; charset=utf-8",
                body: json!({"ok": false, "error": code}).to_string(),
                headers: Vec::new(),
            }
        }
    }
}

/// Render a successful token response in the chosen style.
pub fn render_success(
    fields: Map<String, Value>,
    style: Option<ErrorsIn200>,
    accept_json: bool,
) -> Rendered {
    match style {
        None => Rendered {
            status: 200,
            content_type: "application/json",
            body: Value::Object(fields).to_string(),
            headers: Vec::new(),
        },
        Some(ErrorsIn200::Github) => github_body(fields, accept_json),
        Some(ErrorsIn200::Slack) => {
            let mut m = Map::new();
            m.insert("ok".into(), true.into());
            m.extend(fields);
            Rendered {
                status: 200,
                content_type: "application/json; charset=utf-8",
                body: Value::Object(m).to_string(),
                headers: Vec::new(),
            }
        }
    }
}

/// GitHub answers form-encoded unless the client asked for JSON, always with 200.
fn github_body(fields: Map<String, Value>, accept_json: bool) -> Rendered {
    if accept_json {
        return Rendered {
            status: 200,
            content_type: "application/json; charset=utf-8",
            body: Value::Object(fields).to_string(),
            headers: Vec::new(),
        };
    }
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &fields {
        match v {
            Value::String(s) => ser.append_pair(k, s),
            other => ser.append_pair(k, &other.to_string()),
        };
    }
    Rendered {
        status: 200,
        content_type: "application/x-www-form-urlencoded; charset=utf-8",
        body: ser.finish(),
        headers: Vec::new(),
    }
}

/// Which flavours a client-authentication family covers for a body format.
fn family(basic: bool, fmt: BodyFormat) -> &'static [u8] {
    match (basic, fmt) {
        (true, BodyFormat::Form) => &[1, 5],
        (true, BodyFormat::Json) => &[2, 6],
        (false, BodyFormat::Form) => &[3],
        (false, BodyFormat::Json) => &[4],
        (_, BodyFormat::Other | BodyFormat::Multipart) => &[],
    }
}

/// Form-decode one component of a Basic header (RFC 6749 §2.3.1).
pub fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// A client that passed authentication, and the flavour numbers its request fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The client.
    pub client: Client,
    /// Flavours this request is (one, or two when 1 and 5 are the same bytes); empty for public clients.
    pub flavours: Vec<u8>,
}

/// Authenticate the client of a token request under the accepted flavours.
///
/// Checks, in the order a real server meets them: the body format, Basic
/// header syntax, more than one method, the method family, then the
/// credentials themselves (decoded the way the accepted flavours imply).
pub fn authenticate(
    authorization: Option<&str>,
    fmt: BodyFormat,
    params: &Params,
    clients: &[Client],
    accept: &[u8],
) -> Result<Authenticated, TokenError> {
    let accepts_fmt = |f: BodyFormat| {
        accept
            .iter()
            .any(|n| family(true, f).contains(n) || family(false, f).contains(n))
    };
    match fmt {
        BodyFormat::Json if !accepts_fmt(BodyFormat::Json) => return Err(TokenError::bad(
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'grant_type'.",
            ErrKind::Other,
            "JSON body refused (form-only server, like Entra ID)",
        )),
        BodyFormat::Form if !accepts_fmt(BodyFormat::Form) => {
            return Err(TokenError::bad(
                "invalid_request",
                "The request body must be JSON (Content-Type: application/json).",
                ErrKind::Other,
                "form body refused (JSON-only server)",
            ))
        }
        BodyFormat::Other | BodyFormat::Multipart => {
            return Err(TokenError::bad(
                "invalid_request",
                "The request body must be application/x-www-form-urlencoded.",
                ErrKind::Other,
                "unreadable body / content type",
            ))
        }
        _ => {}
    }

    let basic = match authorization {
        None => None,
        Some(h) => {
            let (scheme, value) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
            if !scheme.eq_ignore_ascii_case("basic") {
                None
            } else {
                let malformed = |why: &str| {
                    TokenError::client(
                        ErrKind::ClientSecret,
                        true,
                        "Client authentication failed: malformed Basic authorization header.",
                        why,
                    )
                };
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(value.trim())
                    .map_err(|_| malformed("Basic header is not base64"))?;
                let text =
                    String::from_utf8(raw).map_err(|_| malformed("Basic header is not UTF-8"))?;
                let (user, pass) = text
                    .split_once(':')
                    .ok_or_else(|| malformed("Basic header has no ':'"))?;
                Some((user.to_owned(), pass.to_owned()))
            }
        }
    };
    let body_id = get(params, "client_id");
    let body_secret = get(params, "client_secret");
    if basic.is_some() && body_secret.is_some() {
        return Err(TokenError::bad(
            "invalid_request",
            "Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.",
            ErrKind::Other,
            "Basic and body credentials at once (Okta)",
        ));
    }
    if get(params, "client_assertion").is_some() {
        return Err(TokenError::client(
            ErrKind::ClientSecret,
            false,
            "The OAuth 2.0 Client supports client authentication method 'client_secret_basic', but method 'private_key_jwt' was requested.",
            "client_assertion is not supported by the mock",
        ));
    }

    let unknown = |b: bool| {
        TokenError::client(
            ErrKind::ClientUnknown,
            b,
            "Client authentication failed. Either the client or the client credentials are invalid.",
            "unknown client_id",
        )
    };
    let wrong = |b: bool, why: &str| {
        TokenError::client(
            ErrKind::ClientSecret,
            b,
            "Client authentication failed. Either the client or the client credentials are invalid.",
            why,
        )
    };

    let is_basic = basic.is_some();
    if is_basic || body_secret.is_some() {
        let fam = family(is_basic, fmt);
        if !fam.iter().any(|n| accept.contains(n)) {
            let supported = if family(!is_basic, fmt).iter().any(|n| accept.contains(n)) {
                if is_basic {
                    "client_secret_post"
                } else {
                    "client_secret_basic"
                }
            } else {
                "none"
            };
            let used = if is_basic {
                "client_secret_basic"
            } else {
                "client_secret_post"
            };
            return Err(TokenError::client(
                ErrKind::ClientSecret,
                is_basic,
                &format!("The OAuth 2.0 Client supports client authentication method '{supported}', but method '{used}' was requested."),
                &format!("{used} not accepted with a {} body", fmt.as_str()),
            ));
        }
    }

    if let Some((user, pass)) = basic {
        let dec_user = form_decode(&user);
        let client = clients
            .iter()
            .find(|c| c.id == user || c.id == dec_user)
            .ok_or_else(|| unknown(true))?;
        let Some(secret) = client.secret.as_deref() else {
            return Err(wrong(
                true,
                "public client sent a secret (AADSTS700025-style)",
            ));
        };
        let enc_ok = dec_user == client.id && form_decode(&pass) == secret;
        let raw_ok = user == client.id && pass == secret;
        let (enc_n, raw_n) = if fmt == BodyFormat::Json {
            (2, 6)
        } else {
            (1, 5)
        };
        let mut flavours = Vec::new();
        if enc_ok && accept.contains(&enc_n) {
            flavours.push(enc_n);
        }
        if raw_ok && accept.contains(&raw_n) {
            flavours.push(raw_n);
        }
        if flavours.is_empty() {
            let why = if enc_ok || raw_ok {
                "Basic credentials encoded the way this server does not decode (RFC 6749 §2.3.1)"
            } else {
                "wrong client secret"
            };
            return Err(wrong(true, why));
        }
        return Ok(Authenticated {
            client: client.clone(),
            flavours,
        });
    }

    let Some(id) = body_id else {
        return Err(TokenError::client(
            ErrKind::ClientUnknown,
            false,
            "Client authentication failed: no client credentials in the request.",
            "no client credentials",
        ));
    };
    let client = clients
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| unknown(false))?;
    match (client.secret.as_deref(), body_secret) {
        (Some(s), Some(given)) if s == given => Ok(Authenticated {
            client: client.clone(),
            flavours: vec![if fmt == BodyFormat::Json { 4 } else { 3 }],
        }),
        (Some(_), Some(_)) => Err(wrong(false, "wrong client secret")),
        (Some(_), None) => Err(wrong(false, "confidential client sent no secret")),
        (None, Some(_)) => Err(wrong(false, "public client sent a secret")),
        (None, None) => Ok(Authenticated {
            client: client.clone(),
            flavours: Vec::new(),
        }),
    }
}

/// `--any-client`: the client a token request presents, as if registered
/// with the credentials it sent (Basic decoded as RFC 6749 §2.3.1 says, or
/// `client_id` / `client_secret` from the body; `client_id` alone is a
/// public client). Nothing presented, or a Basic header that does not
/// decode: none, and [`authenticate`] says what is wrong.
pub fn presented_client(authorization: Option<&str>, params: &Params) -> Vec<Client> {
    // Read the header the way the analysis does (RFC 6749 §2.3.1 decoding
    // only when it is URL-encoded), so the mock's log names the same
    // flavour as `flows list` (5, not 1, for a raw `+` or `/`).
    let basic = authorization.and_then(|h| {
        let mut headers = crate::record::HeaderList::default();
        headers.push("Authorization", h);
        match crate::analyze::flavour::authorization(&headers) {
            crate::analyze::flavour::AuthHeader::Basic(c) => Some((c.client_id(), c.secret())),
            _ => None,
        }
    });
    let (id, secret) = match basic {
        Some((id, secret)) => (id, Some(secret)),
        None => match get(params, "client_id") {
            Some(id) => (
                id.to_owned(),
                get(params, "client_secret").map(str::to_owned),
            ),
            None => return Vec::new(),
        },
    };
    vec![Client {
        id,
        secret,
        redirect_uris: Vec::new(),
    }]
}

/// `--fail-all STATUS`: the OAuth error every token request gets, with the
/// status asked for (RFC 6749 §5.2 vocabulary: 401 `invalid_client`, with
/// `WWW-Authenticate` after Basic; 503 `temporarily_unavailable`; other 5xx
/// `server_error`; other statuses `invalid_request`).
pub fn fail_all_error(status: u16, basic: bool) -> TokenError {
    let error = match status {
        401 => "invalid_client",
        503 => "temporarily_unavailable",
        500..=599 => "server_error",
        _ => "invalid_request",
    };
    TokenError {
        status,
        error: error.into(),
        description: format!("oauthscope mock --fail-all {status}: every token request is refused"),
        kind: ErrKind::Other,
        www_authenticate: status == 401 && basic,
        why: format!("--fail-all {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    fn clients() -> Vec<Client> {
        vec![Client::new("app", "p+s/=%", &[])]
    }

    #[test]
    fn any_client_is_whoever_the_request_says() {
        let form: Params = vec![
            ("client_id".into(), "who".into()),
            ("client_secret".into(), "ever".into()),
        ];
        let c = presented_client(None, &form);
        assert_eq!(c[0].id, "who");
        assert_eq!(c[0].secret.as_deref(), Some("ever"));
        let ok = authenticate(None, BodyFormat::Json, &form, &c, &[1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(ok.flavours, vec![4]);
        let hdr = basic("a%20b", "p%2B");
        let c = presented_client(Some(&hdr), &Vec::new());
        assert_eq!(
            (c[0].id.as_str(), c[0].secret.as_deref()),
            ("a b", Some("p+"))
        );
        let ok = authenticate(Some(&hdr), BodyFormat::Form, &Vec::new(), &c, &[1, 5]).unwrap();
        assert_eq!(ok.flavours, vec![1]);
        // A raw secret with '+' and '/' is flavour 5, as the analysis says,
        // not a URL-encoded one that happens to decode.
        let raw = basic("app", "s3cr/t+x");
        let c = presented_client(Some(&raw), &Vec::new());
        assert_eq!(c[0].secret.as_deref(), Some("s3cr/t+x"));
        let ok = authenticate(Some(&raw), BodyFormat::Form, &Vec::new(), &c, &[1, 5]).unwrap();
        assert_eq!(ok.flavours, vec![5]);
        assert!(presented_client(Some("Basic !!"), &Vec::new()).is_empty());
        let public: Params = vec![("client_id".into(), "spa".into())];
        assert_eq!(presented_client(None, &public)[0].secret, None);
    }

    #[test]
    fn fail_all_speaks_oauth() {
        let e = fail_all_error(401, true);
        assert_eq!(
            (e.status, e.error.as_str(), e.www_authenticate),
            (401, "invalid_client", true)
        );
        assert_eq!(fail_all_error(503, false).error, "temporarily_unavailable");
        assert_eq!(fail_all_error(500, false).error, "server_error");
        assert_eq!(fail_all_error(400, true).error, "invalid_request");
        assert!(!fail_all_error(400, true).www_authenticate);
    }

    #[test]
    fn basic_encoding_decides_between_flavour_1_and_5() {
        let p: Params = vec![("grant_type".into(), "client_credentials".into())];
        let enc = basic("app", "p%2Bs%2F%3D%25");
        let raw = basic("app", "p+s/=%");
        let ok = authenticate(Some(&enc), BodyFormat::Form, &p, &clients(), &[1]).unwrap();
        assert_eq!(ok.flavours, vec![1]);
        let e = authenticate(Some(&raw), BodyFormat::Form, &p, &clients(), &[1]).unwrap_err();
        assert_eq!((e.status, e.error.as_str()), (401, "invalid_client"));
        assert!(e.www_authenticate);
        let ok = authenticate(Some(&raw), BodyFormat::Form, &p, &clients(), &[5]).unwrap();
        assert_eq!(ok.flavours, vec![5]);
    }

    #[test]
    fn malformed_basic_and_double_credentials_are_clear_errors() {
        let p: Params = vec![("client_secret".into(), "x".into())];
        for h in ["Basic !!!", "Basic bm9jb2xvbg==", "Basic //79"] {
            let e = authenticate(Some(h), BodyFormat::Form, &vec![], &clients(), &[1]).unwrap_err();
            assert_eq!(e.error, "invalid_client", "{h}");
        }
        let e = authenticate(
            Some(&basic("app", "x")),
            BodyFormat::Form,
            &p,
            &clients(),
            &[1],
        )
        .unwrap_err();
        assert_eq!(e.error, "invalid_request");
        assert!(e.description.contains("multiple client credentials"));
    }

    #[test]
    fn refused_styles_get_the_providers_errors() {
        let p: Params = vec![
            ("client_id".into(), "app".into()),
            ("client_secret".into(), "p+s/=%".into()),
        ];
        let e = authenticate(None, BodyFormat::Json, &p, &clients(), &[1, 3]).unwrap_err();
        assert!(e.description.starts_with("AADSTS900144"));
        let e = authenticate(None, BodyFormat::Form, &p, &clients(), &[1]).unwrap_err();
        assert!(e
            .description
            .contains("'client_secret_basic', but method 'client_secret_post'"));
        let gh = render_error(&e, Some(ErrorsIn200::Github), false);
        assert_eq!(gh.status, 200);
        assert!(gh.body.starts_with("error=incorrect_client_credentials"));
        let slack = render_error(&e, Some(ErrorsIn200::Slack), true);
        assert_eq!(slack.body, r#"{"ok":false,"error":"bad_client_secret"}"#);
    }
}

//! The captured exchange: the [`Record`] type and its JSON form.
//!
//! Field names are the contract documented in `docs/record-format.md`; `--json` output and the
//! store both use this serialisation. Records are stored raw (request and
//! response as seen); `flow`, `flavour` and `annotations` are filled in by
//! [`crate::analyze`] when a record is shown, so a better analyzer explains
//! old captures too.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use time::OffsetDateTime;

/// Version of the stored record format. Bump it when a change is not
/// backwards compatible for [`Record`] deserialisation.
pub const RECORD_FORMAT_VERSION: u32 = 1;

/// What kind of OAuth exchange a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A request to the authorization endpoint (`response_type` + `client_id`, or PAR `request_uri`).
    AuthorizeRequest,
    /// A 3xx whose `Location` carries `code`, `error` or `state` back to a redirect URI.
    AuthorizationResponse,
    /// A request to a redirect URI carrying `code`/`error` and `state`.
    Callback,
    /// A POST carrying `grant_type`.
    TokenRequest,
    /// RFC 8628 device authorization request.
    DeviceAuthorization,
    /// RFC 9126 pushed authorization request.
    Par,
    /// RFC 7009 token revocation.
    Revocation,
    /// RFC 7662 token introspection.
    Introspection,
    /// OpenID Connect userinfo.
    Userinfo,
    /// `/.well-known/openid-configuration` or `/.well-known/oauth-authorization-server`.
    Discovery,
    /// A JSON Web Key Set.
    Jwks,
    /// The app's own 3xx that sends the browser to the authorization
    /// endpoint (the start of a login): its `Set-Cookie` holds the state the
    /// callback will need.
    LoginStart,
    /// A page or hop of the provider's own that the browser reached after
    /// an authorize request, by following its redirect or its page: the
    /// login and consent pages, their form posts and XHRs, and the
    /// provider's own error page (where a refused authorize request ends).
    ProviderPage,
    /// A call to a resource server (an API) that refused its bearer token
    /// with an RFC 6750 §3 challenge (`401`/`403` with `WWW-Authenticate:
    /// Bearer error="invalid_token"`, also `DPoP`, RFC 9449): part of the
    /// login's story when the token is one the login issued.
    ResourceRequest,
}

impl Kind {
    /// Every kind, in the order of a typical flow.
    pub const ALL: [Kind; 14] = [
        Kind::Discovery,
        Kind::LoginStart,
        Kind::Jwks,
        Kind::Par,
        Kind::AuthorizeRequest,
        Kind::ProviderPage,
        Kind::AuthorizationResponse,
        Kind::Callback,
        Kind::DeviceAuthorization,
        Kind::TokenRequest,
        Kind::Userinfo,
        Kind::Introspection,
        Kind::Revocation,
        Kind::ResourceRequest,
    ];

    /// The snake_case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AuthorizeRequest => "authorize_request",
            Kind::AuthorizationResponse => "authorization_response",
            Kind::Callback => "callback",
            Kind::TokenRequest => "token_request",
            Kind::DeviceAuthorization => "device_authorization",
            Kind::Par => "par",
            Kind::Revocation => "revocation",
            Kind::Introspection => "introspection",
            Kind::Userinfo => "userinfo",
            Kind::Discovery => "discovery",
            Kind::Jwks => "jwks",
            Kind::LoginStart => "login_start",
            Kind::ProviderPage => "provider_page",
            Kind::ResourceRequest => "resource_request",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown kind {s:?}; expected one of {}", names.join(", "))
            })
    }
}

/// A captured body. Text bodies are kept as text; bodies that are not UTF-8
/// are kept base64-encoded with `encoding: "base64"`. Compressed bodies are
/// stored decoded (the client still received what the server sent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Body {
    /// The body text (or base64 when `encoding` is `base64`). Empty when there was none.
    pub text: String,
    /// `None` for UTF-8 text, `Some("base64")` for binary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// True when the body was larger than the capture limit and `text` holds only its start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The size in bytes of the whole body as it passed (decoded), set when
    /// `text` does not hold all of it (truncated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Why the body could not be decoded (e.g. a corrupt gzip stream), if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_error: Option<String>,
    /// Why `text` holds less than the whole body though it was not cut at
    /// the capture limit: the client stopped reading the response (a
    /// browser that follows a redirect drops its body), or the client's
    /// request body ended early. A fact, not an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

impl Body {
    /// A body from bytes: UTF-8 text stays text, anything else becomes base64.
    pub fn from_bytes(bytes: &[u8]) -> Body {
        use base64::Engine as _;
        match std::str::from_utf8(bytes) {
            Ok(s) => Body {
                text: s.to_owned(),
                ..Body::default()
            },
            Err(_) => Body {
                text: base64::engine::general_purpose::STANDARD.encode(bytes),
                encoding: Some("base64".into()),
                ..Body::default()
            },
        }
    }

    /// The body's bytes (decoding base64 when needed).
    pub fn bytes(&self) -> Vec<u8> {
        use base64::Engine as _;
        match self.encoding.as_deref() {
            Some("base64") => base64::engine::general_purpose::STANDARD
                .decode(&self.text)
                .unwrap_or_default(),
            _ => self.text.clone().into_bytes(),
        }
    }

    /// The body as text when it is text.
    pub fn as_text(&self) -> Option<&str> {
        match self.encoding {
            None => Some(&self.text),
            Some(_) => None,
        }
    }

    /// True when there is no body.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

impl Serialize for HeaderList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for HeaderList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(HeaderList(Vec::deserialize(d)?))
    }
}

/// Headers in wire order as `[name, value]` pairs (names as sent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeaderList(pub Vec<(String, String)>);

impl HeaderList {
    /// The first value of a header, matched case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, matched case-insensitively.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Append a header.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }
}

/// The request half of an exchange.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// HTTP method.
    pub method: String,
    /// Absolute URL (`https://host/path?query`).
    pub url: String,
    /// Headers as sent.
    pub headers: HeaderList,
    /// Body (decoded when it was compressed).
    #[serde(with = "body_serde")]
    pub body: Body,
}

/// The response half of an exchange.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers as received.
    pub headers: HeaderList,
    /// Body (decoded when it was compressed).
    #[serde(with = "body_serde")]
    pub body: Body,
}

/// Bodies serialise as a plain string in the common case (`"body": "..."`,
/// as docs/record-format.md shows) and as an object only when they carry extra facts.
mod body_serde {
    use super::Body;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Full(Body),
    }

    pub fn serialize<S: Serializer>(b: &Body, s: S) -> Result<S::Ok, S::Error> {
        if b.encoding.is_none()
            && !b.truncated
            && b.decode_error.is_none()
            && b.size.is_none()
            && b.incomplete.is_none()
        {
            b.text.serialize(s)
        } else {
            b.serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Body, D::Error> {
        Ok(match Either::deserialize(d)? {
            Either::Text(text) => Body {
                text,
                ..Body::default()
            },
            Either::Full(b) => b,
        })
    }
}

/// Severity of an annotation, most severe last so `max()` finds the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Context worth knowing; nothing wrong.
    Info,
    /// Likely to break with some providers, or suspicious.
    Warning,
    /// This is (or causes) a failure.
    Error,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about a record. `code` is from the stable vocabulary in
/// docs/annotations.md (`redirect_uri.mismatch`, `error.invalid_grant`, `diagnosis.*`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Stable machine-readable code.
    pub code: String,
    /// How bad it is.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// What it means and what to do.
    pub detail: String,
    /// Named facts backing the finding (records, fields, expected/actual, ...).
    #[serde(default)]
    pub evidence: Value,
}

impl Annotation {
    /// False for annotations whose content views show elsewhere
    /// (`flavour.detected`: the flavour has its own column); true for the rest.
    pub fn is_listed(&self) -> bool {
        self.code != "flavour.detected"
    }

    /// Build an annotation.
    pub fn new(
        code: impl Into<String>,
        severity: Severity,
        title: impl Into<String>,
        detail: impl Into<String>,
        evidence: Value,
    ) -> Annotation {
        Annotation {
            code: code.into(),
            severity,
            title: title.into(),
            detail: detail.into(),
            evidence,
        }
    }

    /// Append what this case is about to the declared title:
    /// `"<title>: <specifics>"` (`redirect_uri differs between the legs:
    /// trailing slash`).
    pub fn about(mut self, specifics: impl std::fmt::Display) -> Annotation {
        self.title = format!("{}: {specifics}", self.title);
        self
    }

    /// Override the declared default severity.
    pub fn with_severity(mut self, severity: Severity) -> Annotation {
        self.severity = severity;
        self
    }
}

/// How a token request authenticated its client, and how its body was encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flavour {
    /// 1–6 per docs/record-format.md, or `None` when the request fits none of the six.
    pub number: Option<u8>,
    /// `basic_urlencoded`, `basic_raw`, `body`, `private_key_jwt`,
    /// `client_secret_jwt`, `none` (public client), `multiple`, `basic_malformed`.
    pub client_auth: String,
    /// `form`, `json` or `other`.
    pub body: String,
    /// Why this number was chosen (e.g. "1 and 5 are the same bytes here").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One captured OAuth exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Time-ordered, sortable id (16 lower-case hex digits).
    pub id: String,
    /// When the request was received.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Correlation id (the id of the flow's first record), filled in by analysis.
    #[serde(default)]
    pub flow: Option<String>,
    /// What kind of OAuth exchange this is.
    pub kind: Kind,
    /// The `grant_type` of a token request.
    #[serde(default)]
    pub grant_type: Option<String>,
    /// The request as the client sent it.
    pub request: Request,
    /// The response as the client received it; `None` when the upstream failed.
    #[serde(default)]
    pub response: Option<Response>,
    /// Time from request to response headers, in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
    /// Why no upstream response was received (unreachable, refused, untrusted certificate, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Token requests only: the client-authentication flavour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavour: Option<Flavour>,
    /// Findings, most severe first. Empty as stored; filled in by analysis.
    #[serde(default)]
    pub annotations: Vec<Annotation>,
}

impl Record {
    /// A request of `kind` with no headers, body or response yet (builders
    /// for tests, examples and importers fill in the rest).
    pub fn bare(id: &str, time: OffsetDateTime, kind: Kind, method: &str, url: &str) -> Record {
        Record {
            id: id.into(),
            time,
            flow: None,
            kind,
            grant_type: None,
            request: Request {
                method: method.into(),
                url: url.into(),
                headers: HeaderList::default(),
                body: Body::default(),
            },
            response: None,
            duration_ms: 0,
            error: None,
            flavour: None,
            annotations: Vec::new(),
        }
    }

    /// The most severe annotation worth a table cell: of the most severe
    /// ones, a diagnosis (what caused it) before the provider's error code,
    /// else the first; leaving out `flavour.detected` (the flavour has its
    /// own column).
    pub fn top_annotation(&self) -> Option<&Annotation> {
        let rank = |a: &Annotation| (a.severity, a.code.starts_with("diagnosis."));
        self.annotations.iter().filter(|a| a.is_listed()).fold(
            None,
            |best: Option<&Annotation>, a| match best {
                Some(b) if rank(b) >= rank(a) => Some(b),
                _ => Some(a),
            },
        )
    }

    /// The worst severity among the annotations.
    pub fn max_severity(&self) -> Option<Severity> {
        self.annotations.iter().map(|a| a.severity).max()
    }

    /// Parse the request URL.
    pub fn url(&self) -> Option<url::Url> {
        url::Url::parse(&self.request.url).ok()
    }
}

static LAST_ID: AtomicU64 = AtomicU64::new(0);

/// The numeric id for time `t`: microseconds since the Unix epoch.
pub fn id_micros(t: OffsetDateTime) -> u64 {
    (t.unix_timestamp_nanos() / 1_000).max(0) as u64
}

/// The text form of a numeric id: 16 lower-case hex digits (see [`id_key`]).
pub fn format_id(n: u64) -> String {
    format!("{n:016x}")
}

/// A new time-ordered id: microseconds since the Unix epoch, bumped so ids
/// from this process are strictly increasing, as 16 hex digits.
pub fn new_id(now: OffsetDateTime) -> String {
    let micros = id_micros(now);
    let mut prev = LAST_ID.load(Ordering::Relaxed);
    loop {
        let next = micros.max(prev + 1);
        match LAST_ID.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return format_id(next),
            Err(p) => prev = p,
        }
    }
}

/// The numeric key of an id made by [`new_id`] (big-endian order = time order).
pub fn id_key(id: &str) -> Option<u64> {
    if id.len() == 16 {
        u64::from_str_radix(id, 16).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_increasing_and_sortable() {
        let now = OffsetDateTime::now_utc();
        let a = new_id(now);
        let b = new_id(now);
        assert!(a < b, "{a} < {b}");
        assert_eq!(id_key(&a).unwrap() + 1, id_key(&b).unwrap());
    }

    #[test]
    fn plain_body_serialises_as_string_and_binary_as_object() {
        let req = Request {
            method: "POST".into(),
            url: "https://x/token".into(),
            headers: HeaderList(vec![("Content-Type".into(), "a/b".into())]),
            body: Body::from_bytes(b"grant_type=x"),
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["body"], "grant_type=x");
        assert_eq!(v["headers"][0][0], "Content-Type");
        let bin = Body::from_bytes(&[0xff, 0xfe]);
        let v = serde_json::to_value(Response {
            status: 200,
            headers: HeaderList::default(),
            body: bin.clone(),
        })
        .unwrap();
        assert_eq!(v["body"]["encoding"], "base64");
        let back: Response = serde_json::from_value(v).unwrap();
        assert_eq!(back.body.bytes(), vec![0xff, 0xfe]);
    }
}

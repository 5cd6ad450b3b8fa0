//! Send a captured token request again: as captured, with parameters
//! changed, or re-encoded in another of the six client-authentication
//! flavours (docs/record-format.md; the encoding is [`crate::probe::encode`], the same
//! builder the probe uses).
//!
//! [`prepare`] is pure: a captured [`Record`] and the [`Changes`] asked for
//! in, the request to send ([`Prepared`]) out. [`send`] sends it, directly
//! or through the running proxy (which then records it), and
//! [`record_of`] makes the record of an exchange sent directly, for the
//! caller to store.

use crate::analyze::flavour::{self, AuthHeader, BasicEncoding};
use crate::analyze::params::{self, BodyFormat};
use crate::curl::is_replayed_header;
use crate::record::{Body, HeaderList, Kind, Record};
use base64::Engine as _;
use serde_json::Value;
use std::time::Duration;
use time::OffsetDateTime;

/// The kinds of exchange `replay` sends again: requests that carry client
/// authentication to a token-style endpoint.
pub const REPLAYABLE: [Kind; 5] = [
    Kind::TokenRequest,
    Kind::DeviceAuthorization,
    Kind::Par,
    Kind::Revocation,
    Kind::Introspection,
];

/// How long one replay may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a replay could not be prepared or sent. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The record is not a request that can be replayed.
    #[error("exchange {id} is a {kind}, which replay does not send: it replays token requests (and device authorization, PAR, revocation and introspection requests); list them with `oauthscope flows list --kind token_request`")]
    NotReplayable {
        /// The record's id.
        id: String,
        /// Its kind.
        kind: Kind,
    },
    /// `--set` without `=`.
    #[error("--set {0:?}: expected NAME=VALUE (e.g. --set scope=openid)")]
    BadSet(String),
    /// A flavour number outside 1–6.
    #[error(
        "--flavour {0}: the six flavours are numbered 1 to 6 (see `oauthscope replay --help`)"
    )]
    BadFlavour(u8),
    /// A Basic flavour asked for without a secret to put in it.
    #[error("flavour {0} sends the client secret in an Authorization: Basic header, but the captured request has none; give it with --set client_secret=VALUE, or use --flavour 3 or 4")]
    NoSecret(u8),
    /// Re-encoding needs a client id.
    #[error(
        "the captured request names no client_id to re-encode; give it with --set client_id=VALUE"
    )]
    NoClientId,
    /// `--set`/`--unset` on a body replay cannot edit.
    #[error("the captured body is {0}, so --set/--unset cannot change it in place; re-encode it with --flavour N (form or JSON) to change parameters")]
    CannotEdit(&'static str),
    /// The captured body was cut at the capture limit.
    #[error("the captured request body was cut at the capture limit ({0} bytes kept), so it cannot be sent again as it was; raise --max-body on `oauthscope run` and capture it again")]
    Truncated(usize),
    /// `--url` does not parse.
    #[error("--url {url:?} is not an absolute URL: {source}")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why.
        source: url::ParseError,
    },
    /// The HTTP client could not be built (a bad CA file).
    #[error("{0}")]
    Client(String),
    /// No answer from the provider (refused, timed out, untrusted certificate...).
    #[error("{0}")]
    Send(String),
    /// The running proxy answered for the provider with an error of its own.
    #[error("the running proxy could not reach the provider: {0}")]
    Proxy(String),
    /// The running proxy itself did not answer.
    #[error("could not reach the running proxy at {addr}: {detail} (is `oauthscope run` still running? if it crashed, delete {state_file})")]
    ProxyDown {
        /// Its address.
        addr: String,
        /// What failed.
        detail: String,
        /// proxy.json, to delete when stale.
        state_file: String,
    },
}

/// What to change before sending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Re-encode in this flavour (1–6); `None`: keep the captured encoding.
    pub flavour: Option<u8>,
    /// Parameters to set (replace, or add when absent), in order.
    pub set: Vec<(String, String)>,
    /// Parameters to remove.
    pub unset: Vec<String>,
    /// Send to this URL instead of the captured one.
    pub url: Option<String>,
}

impl Changes {
    /// Parse `--set NAME=VALUE` flags.
    pub fn parse_sets(sets: &[String]) -> Result<Vec<(String, String)>, ReplayError> {
        sets.iter()
            .map(|s| match s.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
                _ => Err(ReplayError::BadSet(s.clone())),
            })
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.set.is_empty() && self.unset.is_empty()
    }
}

/// The request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// HTTP method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers to send (hop-by-hop, `Host`, `Content-Length` and
    /// `Accept-Encoding` left out: the HTTP client sets them).
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The flavour it was re-encoded in (`None`: the captured encoding).
    pub flavour: Option<u8>,
}

impl Prepared {
    /// The request as a bare record (no response), for classification and
    /// analysis.
    pub fn as_record(&self, id: &str, time: OffsetDateTime, kind: Kind) -> Record {
        let mut r = Record::bare(id, time, kind, &self.method, &self.url);
        r.request.headers = HeaderList(self.headers.clone());
        r.request.body = Body::from_bytes(&self.body);
        if let Some(c) = crate::analyze::classify::classify_record(&r) {
            r.kind = c.kind;
            r.grant_type = c.grant_type;
        }
        r
    }

    /// The authorization code this request would spend, when it is an
    /// `authorization_code` grant (sent or implied, GitHub style) with a `code`.
    pub fn single_use_code(&self) -> Option<String> {
        let r = self.as_record(
            "0000000000000000",
            OffsetDateTime::UNIX_EPOCH,
            Kind::TokenRequest,
        );
        if r.kind != Kind::TokenRequest || r.grant_type.as_deref() != Some("authorization_code") {
            return None;
        }
        params::get(&params::request_params(&r), "code").map(str::to_owned)
    }
}

/// What to say before sending the authorization code `code` again.
pub fn code_warning(code: &str) -> String {
    let shown: String = code.chars().take(6).collect();
    format!(
        "this request exchanges the authorization code {shown}…, and a code is single-use (RFC 6749 §4.1.2): if it was exchanged before, expect `invalid_grant`, and the provider may revoke the tokens already issued from it (the app that logged in may lose its session)"
    )
}

fn is_credential(name: &str) -> bool {
    name == "client_id" || name == "client_secret"
}

/// Build the request to send from a captured one (pure).
pub fn prepare(rec: &Record, ch: &Changes) -> Result<Prepared, ReplayError> {
    if !REPLAYABLE.contains(&rec.kind) {
        return Err(ReplayError::NotReplayable {
            id: rec.id.clone(),
            kind: rec.kind,
        });
    }
    if let Some(n) = ch.flavour.filter(|n| !(1..=6).contains(n)) {
        return Err(ReplayError::BadFlavour(n));
    }
    if rec.request.body.truncated {
        return Err(ReplayError::Truncated(rec.request.body.bytes().len()));
    }
    let url = match &ch.url {
        Some(u) => url::Url::parse(u)
            .map_err(|source| ReplayError::BadUrl {
                url: u.clone(),
                source,
            })?
            .to_string(),
        None => rec.request.url.clone(),
    };
    match ch.flavour {
        Some(n) => reencode(rec, url, n, ch),
        None => edit_in_place(rec, url, ch),
    }
}

/// Apply `--unset` then `--set` to a parameter list.
fn apply(list: &mut Vec<(String, String)>, ch: &Changes) {
    list.retain(|(k, _)| !ch.unset.contains(k));
    for (k, v) in &ch.set {
        match list.iter_mut().find(|(n, _)| n == k) {
            Some(e) => e.1 = v.clone(),
            None => list.push((k.clone(), v.clone())),
        }
    }
}

fn basic_header(id: &str, secret: &str, urlencoded: bool) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = if urlencoded {
        format!("{}:{}", enc(id), enc(secret))
    } else {
        format!("{id}:{secret}")
    };
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Strip `names` from a URL's query (credentials moving elsewhere).
fn strip_query(url: &str, names: &[&str]) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return url.to_owned();
    };
    if u.query().is_none() {
        return url.to_owned();
    }
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| !names.contains(&k.as_str()))
        .collect();
    if pairs.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

/// Re-encode in flavour `n` with [`crate::probe::encode`].
fn reencode(rec: &Record, url: String, n: u8, ch: &Changes) -> Result<Prepared, ReplayError> {
    let req = &rec.request;
    let query = params::query_params(&url);
    let body = params::body_params(&req.headers, &req.body);
    // The credentials, wherever the captured request had them.
    let (mut id, mut secret) = match flavour::authorization(&req.headers) {
        AuthHeader::Basic(c) => (Some(c.client_id()), Some(c.secret())),
        _ => (None, None),
    };
    for src in [&body, &query] {
        if id.is_none() {
            id = params::get(src, "client_id").map(str::to_owned);
        }
        if secret.is_none() {
            secret = params::get(src, "client_secret").map(str::to_owned);
        }
    }
    let mut list: Vec<(String, String)> = Vec::new();
    if let Some(i) = id {
        list.push(("client_id".into(), i));
    }
    if let Some(s) = secret {
        list.push(("client_secret".into(), s));
    }
    list.extend(body.into_iter().filter(|(k, _)| !is_credential(k)));
    apply(&mut list, ch);
    let take = |list: &mut Vec<(String, String)>, name: &str| {
        let v = list.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        list.retain(|(k, _)| k != name);
        v
    };
    let id = take(&mut list, "client_id").ok_or(ReplayError::NoClientId)?;
    let secret = take(&mut list, "client_secret");
    if secret.is_none() && matches!(n, 1 | 2 | 5 | 6) {
        return Err(ReplayError::NoSecret(n));
    }
    let built = crate::probe::encode(n, &id, secret.as_deref(), &list);
    let replaced = ["authorization", "content-type", "accept"];
    let mut headers: Vec<(String, String)> = req
        .headers
        .0
        .iter()
        .filter(|(k, _)| {
            is_replayed_header(k) && !replaced.iter().any(|r| k.eq_ignore_ascii_case(r))
        })
        .cloned()
        .collect();
    headers.extend(built.headers);
    Ok(Prepared {
        method: "POST".into(),
        url: strip_query(&url, &["client_id", "client_secret"]),
        headers,
        body: built.body.into_bytes(),
        flavour: Some(n),
    })
}

/// Where a parameter lives in the captured request.
enum Place {
    Basic,
    Body,
    Query,
}

/// Keep the captured encoding; change parameters where they are.
fn edit_in_place(rec: &Record, url: String, ch: &Changes) -> Result<Prepared, ReplayError> {
    let req = &rec.request;
    let mut headers: Vec<(String, String)> = req
        .headers
        .0
        .iter()
        .filter(|(k, _)| is_replayed_header(k))
        .cloned()
        .collect();
    let mut body = req.body.bytes();
    let mut url = url;
    if ch.is_empty() {
        return Ok(Prepared {
            method: req.method.clone(),
            url,
            headers,
            body,
            flavour: None,
        });
    }
    let format = if body.is_empty() {
        BodyFormat::Other
    } else {
        params::body_format(&req.headers, &req.body)
    };
    let mut body_params = params::body_params(&req.headers, &req.body);
    let mut query = params::query_params(&url);
    let mut basic = match flavour::authorization(&req.headers) {
        AuthHeader::Basic(c) => Some((c.client_id(), c.secret(), c.encoding != BasicEncoding::Raw)),
        _ => None,
    };
    // Body edits, in order: (name, Some(value)) sets, (name, None) removes.
    let mut body_ops: Vec<(String, Option<String>)> = Vec::new();
    let (mut query_changed, mut basic_changed) = (false, false);
    let has = |l: &[(String, String)], k: &str| l.iter().any(|(n, _)| n == k);
    let editable = matches!(
        format,
        BodyFormat::Form | BodyFormat::Json | BodyFormat::Multipart
    ) || (body.is_empty() && req.method.eq_ignore_ascii_case("POST"));
    let place =
        |k: &str, body_params: &[(String, String)], query: &[(String, String)], basic: bool| {
            if basic && is_credential(k) {
                Place::Basic
            } else if has(body_params, k) {
                Place::Body
            } else if has(query, k) {
                Place::Query
            } else if editable {
                Place::Body
            } else {
                Place::Query
            }
        };
    let mut drop_basic = false;
    for k in &ch.unset {
        match place(k, &body_params, &query, basic.is_some()) {
            Place::Basic => {
                // Without one of its halves the header means nothing: the
                // client id moves to the body (a public client) or goes.
                if k == "client_secret" {
                    if let Some((id, _, _)) = &basic {
                        body_params.push(("client_id".into(), id.clone()));
                        body_ops.push(("client_id".into(), Some(id.clone())));
                    }
                }
                drop_basic = true;
            }
            Place::Body => {
                body_params.retain(|(n, _)| n != k);
                body_ops.push((k.clone(), None));
            }
            Place::Query => {
                query.retain(|(n, _)| n != k);
                query_changed = true;
            }
        }
    }
    if drop_basic {
        basic = None;
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
    }
    for (k, v) in &ch.set {
        let one = Changes {
            set: vec![(k.clone(), v.clone())],
            ..Changes::default()
        };
        match place(k, &body_params, &query, basic.is_some()) {
            Place::Basic => {
                if let Some(b) = basic.as_mut() {
                    if k == "client_id" {
                        b.0 = v.clone();
                    } else {
                        b.1 = v.clone();
                    }
                    basic_changed = true;
                }
            }
            Place::Body => {
                apply(&mut body_params, &one);
                body_ops.push((k.clone(), Some(v.clone())));
            }
            Place::Query => {
                apply(&mut query, &one);
                query_changed = true;
            }
        }
    }
    if basic_changed {
        if let Some((id, secret, urlencoded)) = &basic {
            for h in headers.iter_mut() {
                if h.0.eq_ignore_ascii_case("authorization") {
                    h.1 = basic_header(id, secret, *urlencoded);
                }
            }
        }
    }
    if !body_ops.is_empty() {
        body = match format {
            BodyFormat::Form => form_body(&body_params),
            BodyFormat::Json => {
                let mut v: Value = serde_json::from_slice(&body)
                    .map_err(|_| ReplayError::CannotEdit("not a JSON object"))?;
                let obj = v
                    .as_object_mut()
                    .ok_or(ReplayError::CannotEdit("JSON but not an object"))?;
                for (k, op) in body_ops {
                    match op {
                        Some(val) => {
                            obj.insert(k, Value::String(val));
                        }
                        None => {
                            obj.remove(&k);
                        }
                    }
                }
                v.to_string().into_bytes()
            }
            BodyFormat::Multipart => return Err(ReplayError::CannotEdit("multipart/form-data")),
            BodyFormat::Other if body.is_empty() => {
                headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
                headers.push((
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
                form_body(&body_params)
            }
            BodyFormat::Other => {
                return Err(ReplayError::CannotEdit("neither a form nor a JSON object"))
            }
        };
    }
    if query_changed {
        if let Ok(mut u) = url::Url::parse(&url) {
            if query.is_empty() {
                u.set_query(None);
            } else {
                u.query_pairs_mut().clear().extend_pairs(query);
            }
            url = u.to_string();
        }
    }
    Ok(Prepared {
        method: req.method.clone(),
        url,
        headers,
        body,
        flavour: None,
    })
}

fn form_body(params: &[(String, String)]) -> Vec<u8> {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    ser.finish().into_bytes()
}

/// How to reach the provider.
#[derive(Debug, Clone)]
pub enum Route {
    /// Straight to the provider.
    Direct,
    /// Through the running proxy (which records the exchange).
    Proxy {
        /// `host:port` of the proxy.
        addr: String,
        /// Our CA certificate (PEM): the proxy's leaves chain to it.
        ca_pem: Vec<u8>,
        /// proxy.json, named when the proxy does not answer.
        state_file: String,
    },
}

/// The provider's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// How long it took.
    pub duration_ms: u64,
}

/// Send `p` along `route`, trusting the system's roots plus `extra_ca_pem`
/// (`--upstream-ca`) for the provider.
pub async fn send(
    p: &Prepared,
    route: &Route,
    extra_ca_pem: &[Vec<u8>],
) -> Result<Answer, ReplayError> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .no_proxy();
    let mut pems: Vec<&[u8]> = extra_ca_pem.iter().map(Vec::as_slice).collect();
    if let Route::Proxy { addr, ca_pem, .. } = route {
        let proxy = reqwest::Proxy::all(format!("http://{addr}"))
            .map_err(|e| ReplayError::Client(format!("proxy {addr}: {e}")))?;
        b = b.proxy(proxy);
        pems.push(ca_pem);
    }
    let mut certs = Vec::new();
    for pem in pems {
        let mut c = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| ReplayError::Client(format!("reading a CA certificate: {e}")))?;
        certs.append(&mut c);
    }
    if !certs.is_empty() {
        b = b.tls_certs_merge(certs);
    }
    let client = b.build().map_err(|e| ReplayError::Client(e.to_string()))?;
    let method = reqwest::Method::from_bytes(p.method.as_bytes())
        .map_err(|e| ReplayError::Client(format!("method {:?}: {e}", p.method)))?;
    let mut rb = client.request(method, &p.url);
    for (k, v) in &p.headers {
        rb = rb.header(k, v);
    }
    if !p.body.is_empty() {
        rb = rb.body(p.body.clone());
    }
    let started = std::time::Instant::now();
    let target = url::Url::parse(&p.url)
        .map(|u| {
            format!(
                "{}:{}",
                u.host_str().unwrap_or(""),
                u.port_or_known_default().unwrap_or(0)
            )
        })
        .unwrap_or_else(|_| p.url.clone());
    // reqwest's errors name the URL, query string and all: say host:port instead.
    let resp = rb.send().await.map_err(|e| match route {
        Route::Proxy {
            addr, state_file, ..
        } if e.is_connect() && !e.to_string().contains("certificate") => ReplayError::ProxyDown {
            addr: addr.clone(),
            detail: crate::proxy::failure::describe(&e.without_url(), addr),
            state_file: state_file.clone(),
        },
        _ => ReplayError::Send(crate::proxy::failure::describe(&e.without_url(), &target)),
    })?;
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let from_proxy = resp.headers().contains_key("x-oauthscope-error");
    let body = resp
        .bytes()
        .await
        .map_err(|e| ReplayError::Send(crate::proxy::failure::describe(&e, &target)))?
        .to_vec();
    if from_proxy && matches!(route, Route::Proxy { .. }) {
        let text = String::from_utf8_lossy(&body);
        let mut text = text.trim().trim_start_matches("oauthscope: ").to_owned();
        if text.contains("--upstream-ca") {
            text.push_str(" (the running proxy trusts what it was started with: restart `oauthscope run --upstream-ca FILE`)");
        }
        return Err(ReplayError::Proxy(text));
    }
    Ok(Answer {
        status,
        headers,
        body,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// The record of an exchange sent directly (the caller stores it).
/// `fallback` is the kind used when classification finds none (the
/// captured record's).
pub fn record_of(
    p: &Prepared,
    answer: &Answer,
    id: &str,
    time: OffsetDateTime,
    fallback: Kind,
    limit: usize,
) -> Record {
    let mut r = p.as_record(id, time, fallback);
    if let Ok(u) = url::Url::parse(&p.url) {
        if let Some(h) = u.host_str() {
            let host = match u.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_owned(),
            };
            r.request.headers.0.insert(0, ("host".into(), host));
        }
    }
    if !p.body.is_empty() {
        r.request
            .headers
            .push("content-length", p.body.len().to_string());
    }
    let headers = HeaderList(answer.headers.clone());
    let body = crate::capture::body(
        &headers,
        &crate::capture::Captured::whole(answer.body.clone()),
        limit,
    );
    r.response = Some(crate::record::Response {
        status: answer.status,
        headers,
        body,
    });
    r.duration_ms = answer.duration_ms;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::flavour::detect;

    fn basic(pair: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    fn token(headers: &[(&str, &str)], body: &str) -> Record {
        let mut r = Record::bare(
            "0000000000000001",
            OffsetDateTime::UNIX_EPOCH,
            Kind::TokenRequest,
            "POST",
            "https://idp.example/token",
        );
        for (k, v) in headers {
            r.request.headers.push(*k, *v);
        }
        r.request.body = Body::from_bytes(body.as_bytes());
        r
    }

    fn sent(p: &Prepared) -> Record {
        p.as_record(
            "0000000000000002",
            OffsetDateTime::UNIX_EPOCH,
            Kind::TokenRequest,
        )
    }

    fn set(pairs: &[(&str, &str)]) -> Changes {
        Changes {
            set: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Changes::default()
        }
    }

    #[test]
    fn every_flavour_round_trips_through_detection() {
        let rec = token(
            &[
                ("Host", "idp.example"),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", &basic("app:p%2Bs%2F")),
                ("Content-Length", "40"),
                ("X-Request-Id", "7"),
            ],
            "grant_type=client_credentials&scope=read",
        );
        assert_eq!(detect(&rec).unwrap().number, Some(1));
        for n in 1..=6u8 {
            let p = prepare(
                &rec,
                &Changes {
                    flavour: Some(n),
                    ..Changes::default()
                },
            )
            .unwrap();
            let r = sent(&p);
            assert_eq!(detect(&r).unwrap().number, Some(n), "{p:?}");
            let params = params::request_params(&r);
            assert_eq!(params::get(&params, "scope"), Some("read"), "{n}");
            assert_eq!(
                crate::analyze::flavour::client_id(&r).as_deref(),
                Some("app")
            );
            assert_eq!(r.request.headers.get("x-request-id"), Some("7"));
            assert!(r.request.headers.get("host").is_none());
            assert!(r.request.headers.get("content-length").is_none());
            assert_eq!(r.request.headers.get_all("content-type").count(), 1);
        }
        let four = sent(
            &prepare(
                &rec,
                &Changes {
                    flavour: Some(4),
                    ..Changes::default()
                },
            )
            .unwrap(),
        );
        let v: Value = serde_json::from_str(four.request.body.as_text().unwrap()).unwrap();
        assert_eq!(v["client_secret"], "p+s/");
    }

    #[test]
    fn set_and_unset_edit_where_the_parameter_lives() {
        // Raw Basic (flavour 5): the secret changes inside the header, raw.
        let rec = token(
            &[("Authorization", &basic("app:a+b"))],
            "grant_type=client_credentials&scope=read&resource=x",
        );
        let p = prepare(
            &rec,
            &Changes {
                unset: vec!["resource".into()],
                ..set(&[
                    ("client_secret", "c+d"),
                    ("scope", "write"),
                    ("audience", "api"),
                ])
            },
        )
        .unwrap();
        let r = sent(&p);
        assert_eq!(
            r.request.headers.get("authorization"),
            Some(basic("app:c+d").as_str())
        );
        assert_eq!(
            std::str::from_utf8(&p.body).unwrap(),
            "grant_type=client_credentials&scope=write&audience=api"
        );
        // JSON bodies stay JSON, other members untouched.
        let rec = token(
            &[("Content-Type", "application/json")],
            r#"{"grant_type":"client_credentials","client_id":"app","client_secret":"s","n":3}"#,
        );
        let p = prepare(&rec, &set(&[("client_secret", "t")])).unwrap();
        let v: Value = serde_json::from_slice(&p.body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"grant_type":"client_credentials","client_id":"app","client_secret":"t","n":3})
        );
        // Unchanged: the captured bytes.
        let p = prepare(&rec, &Changes::default()).unwrap();
        assert_eq!(p.body, rec.request.body.bytes());
        // Query credentials (Facebook's GET) move to the body when re-encoded.
        let mut fb = token(&[], "");
        fb.request.method = "GET".into();
        fb.request.url = "https://graph.example/oauth/access_token?client_id=app&client_secret=s&code=c&redirect_uri=https%3A%2F%2Fa%2F".into();
        let p = prepare(
            &fb,
            &Changes {
                flavour: Some(3),
                ..Changes::default()
            },
        )
        .unwrap();
        assert_eq!(p.method, "POST");
        assert_eq!(
            p.url,
            "https://graph.example/oauth/access_token?code=c&redirect_uri=https%3A%2F%2Fa%2F"
        );
        assert!(std::str::from_utf8(&p.body)
            .unwrap()
            .contains("client_secret=s"));
        let p = prepare(&fb, &set(&[("code", "d")])).unwrap();
        assert!(p.url.contains("code=d"), "{}", p.url);
    }

    #[test]
    fn codes_are_noticed_and_impossible_requests_refused() {
        let rec = token(&[], "grant_type=authorization_code&code=abc&client_id=app");
        let p = prepare(&rec, &Changes::default()).unwrap();
        assert_eq!(p.single_use_code().as_deref(), Some("abc"));
        // GitHub's dialect: no grant_type, a code and a secret.
        let gh = token(&[], "client_id=app&client_secret=s&code=xyz");
        assert_eq!(
            prepare(&gh, &Changes::default())
                .unwrap()
                .single_use_code()
                .as_deref(),
            Some("xyz")
        );
        let cc = token(
            &[],
            "grant_type=client_credentials&client_id=app&client_secret=s",
        );
        assert_eq!(
            prepare(&cc, &Changes::default()).unwrap().single_use_code(),
            None
        );
        let public = token(
            &[],
            "grant_type=refresh_token&refresh_token=r&client_id=app",
        );
        assert!(matches!(
            prepare(
                &public,
                &Changes {
                    flavour: Some(2),
                    ..Changes::default()
                }
            ),
            Err(ReplayError::NoSecret(2))
        ));
        assert!(prepare(
            &public,
            &Changes {
                flavour: Some(4),
                ..Changes::default()
            }
        )
        .is_ok());
        let mut auth = token(&[], "");
        auth.kind = Kind::AuthorizeRequest;
        assert!(matches!(
            prepare(&auth, &Changes::default()),
            Err(ReplayError::NotReplayable { .. })
        ));
        assert!(Changes::parse_sets(&["novalue".into()]).is_err());
        assert_eq!(
            Changes::parse_sets(&["scope=a=b".into()]).unwrap(),
            vec![("scope".to_string(), "a=b".to_string())]
        );
    }
}

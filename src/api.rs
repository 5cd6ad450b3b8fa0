//! The running proxy's loopback JSON API.
//!
//! sled lets one process open a store, so while `oauthscope run` holds it the
//! other commands (`flows`, `export`) read through this API instead. `run`
//! serves it on an ephemeral loopback port and writes [`ProxyState`] to
//! `HOME/proxy.json` (mode 0600, with a random bearer token the API demands).
//! Requests whose `Host` is not a loopback name get 403 (DNS rebinding), and
//! connections that send no request head within 10 s are closed.
//!
//! Routes (all JSON):
//! - `GET /api/records?flow=&kind=&since=&before=&after_id=&before_id=&limit=&order=newest_first`
//!   → array of raw records, streamed one record per line (see [`Client::query_each`]);
//! - `GET /api/records/{id}` → one record (id, or a unique prefix/suffix);
//! - `POST /api/clear?flow=&before=` → `{"removed": n}`.

use crate::home::Home;
use crate::record::{Kind, Record};
use crate::store::{Query, Store, StoreError};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// What a running proxy tells other commands, in `HOME/proxy.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyState {
    /// Process id of the proxy.
    pub pid: u32,
    /// Where the proxy listens (`127.0.0.1:8080`).
    pub proxy: String,
    /// Where the API listens (loopback, ephemeral port).
    pub api: String,
    /// Bearer token the API requires.
    pub token: String,
    /// The web UI's URL with its own token (`http://127.0.0.1:8081/?token=...`),
    /// when `run` serves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    /// In reverse mode (`run --reverse`, and `mock`, which records through
    /// it), the upstream everything arriving at `proxy` goes to: `proxy` is
    /// then not a forward proxy to point `HTTPS_PROXY` at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<String>,
    /// The redirect URIs registered at the provider (`run
    /// --registered-redirect`): commands that read the records through this
    /// proxy (`flows list`, `flows show`, `export`) analyse with them when
    /// not given their own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registered_redirects: Vec<String>,
}

/// Errors reaching or serving the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// proxy.json could not be read or written.
    #[error("{}: {source}", path.display())]
    StateFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// proxy.json is not valid.
    #[error("{} is not valid: {source}", path.display())]
    BadStateFile {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The proxy did not answer.
    #[error("could not reach the running proxy's API at {addr}: {detail} (is `oauthscope run` still running? if it crashed, delete {})", state_file.display())]
    Unreachable {
        /// API address.
        addr: String,
        /// What failed.
        detail: String,
        /// proxy.json path, to delete when stale.
        state_file: PathBuf,
    },
    /// The proxy answered with an error.
    #[error("the running proxy answered {status}: {message}")]
    Remote {
        /// HTTP status.
        status: u16,
        /// Its error message.
        message: String,
    },
    /// The proxy's answer was not the expected JSON.
    #[error("the running proxy sent an unreadable answer: {0}")]
    BadAnswer(serde_json::Error),
}

impl ProxyState {
    /// A new state with a random token.
    pub fn new(proxy: SocketAddr, api: SocketAddr) -> ProxyState {
        let token: [u8; 16] = rand::random();
        ProxyState {
            pid: std::process::id(),
            proxy: proxy.to_string(),
            api: api.to_string(),
            token: hex::encode(token),
            web_url: None,
            reverse: None,
            registered_redirects: Vec::new(),
        }
    }

    /// Write `HOME/proxy.json` (mode 0600: the token grants access to captured secrets).
    pub fn write(&self, home: &Home) -> Result<(), ApiError> {
        let path = home.proxy_state_file();
        let io = |source| ApiError::StateFile {
            path: path.clone(),
            source,
        };
        home.create_root().map_err(io)?;
        let json = serde_json::to_vec_pretty(self).expect("ProxyState serialises");
        // Written whole to a temporary file, then renamed: a failed write
        // (a full disk) never leaves a partial or empty proxy.json behind.
        let tmp = home
            .root()
            .join(format!(".proxy.json.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        use std::io::Write;
        let written = opts
            .open(&tmp)
            .and_then(|mut f| f.write_all(&json).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(io)
    }

    /// Read `HOME/proxy.json`; `Ok(None)` when no proxy announced itself.
    pub fn read(home: &Home) -> Result<Option<ProxyState>, ApiError> {
        let path = home.proxy_state_file();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| ApiError::BadStateFile { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ApiError::StateFile { path, source }),
        }
    }

    /// Remove `HOME/proxy.json` if it is ours.
    pub fn remove(&self, home: &Home) {
        if let Ok(Some(cur)) = ProxyState::read(home) {
            if cur.token == self.token {
                let _ = std::fs::remove_file(home.proxy_state_file());
            }
        }
    }
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("bad time {s:?}: {e}"))
}

/// Encode a [`Query`] as URL query parameters.
pub fn query_string(q: &Query) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    if let Some(f) = &q.flow {
        s.append_pair("flow", f);
    }
    if let Some(k) = q.kind {
        s.append_pair("kind", k.as_str());
    }
    if let Some(t) = q.since.and_then(|t| t.format(&Rfc3339).ok()) {
        s.append_pair("since", &t);
    }
    if let Some(t) = q.before.and_then(|t| t.format(&Rfc3339).ok()) {
        s.append_pair("before", &t);
    }
    if let Some(id) = &q.after_id {
        s.append_pair("after_id", id);
    }
    if let Some(id) = &q.before_id {
        s.append_pair("before_id", id);
    }
    if let Some(n) = q.limit {
        s.append_pair("limit", &n.to_string());
    }
    if q.newest_first {
        s.append_pair("order", "newest_first");
    }
    s.finish()
}

/// Decode URL query parameters into a [`Query`].
pub fn parse_query(qs: &str) -> Result<Query, String> {
    let mut q = Query::default();
    for (k, v) in url::form_urlencoded::parse(qs.as_bytes()) {
        match k.as_ref() {
            "flow" => q.flow = Some(v.into_owned()),
            "kind" => q.kind = Some(v.parse::<Kind>()?),
            "since" => q.since = Some(parse_time(&v)?),
            "before" => q.before = Some(parse_time(&v)?),
            "after_id" => q.after_id = Some(v.into_owned()),
            "before_id" => q.before_id = Some(v.into_owned()),
            "limit" => {
                q.limit = Some(v.parse().map_err(|_| format!("bad limit {v:?}"))?);
            }
            "order" => match v.as_ref() {
                "newest_first" => q.newest_first = true,
                "oldest_first" => q.newest_first = false,
                other => return Err(format!("bad order {other:?}")),
            },
            other => return Err(format!("unknown query parameter {other:?}")),
        }
    }
    Ok(q)
}

/// Body of every API response: whole (errors, single records) or streamed (listings).
pub type ApiBody = BoxBody<Bytes, Infallible>;

fn json_response(status: StatusCode, body: Vec<u8>) -> Response<ApiBody> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("valid response")
}

fn error_response(status: StatusCode, message: &str) -> Response<ApiBody> {
    json_response(
        status,
        serde_json::to_vec(&serde_json::json!({ "error": message })).unwrap_or_default(),
    )
}

fn to_json<T: Serialize>(v: &T) -> Response<ApiBody> {
    match serde_json::to_vec(v) {
        Ok(b) => json_response(StatusCode::OK, b),
        Err(e) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Is `host` (a `Host` header value) a loopback name: `localhost`,
/// `127.0.0.0/8` or `[::1]`, with or without a port? A page on another
/// origin that rebinds its DNS name to 127.0.0.1 still sends its own name.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, port)) if port.is_empty() || port.starts_with(':') => ip,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            Some(_) => return false,
            None => host,
        }
    };
    let name = name.trim_end_matches('.');
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

fn route(
    store: &Arc<Store>,
    token: &str,
    req: &Request<hyper::body::Incoming>,
) -> Response<ApiBody> {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if !host.is_some_and(is_loopback_host) {
        return error_response(
            StatusCode::FORBIDDEN,
            "the Host header is not a loopback name (requests through another name are refused: DNS rebinding)",
        );
    }
    let expected = format!("Bearer {token}");
    if req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token (see proxy.json)",
        );
    }
    let query = match parse_query(req.uri().query().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
    };
    let path = req.uri().path();
    let result: Result<Response<ApiBody>, StoreError> = match (req.method(), path) {
        (&Method::GET, "/api/records") => Ok(records_json(store.clone(), query)),
        (&Method::GET, p) if p.starts_with("/api/records/") => {
            store.get(&p["/api/records/".len()..]).map(|r| to_json(&r))
        }
        (&Method::GET, "/api/health") => Ok(to_json(&store.health())),
        (&Method::POST, "/api/clear") => store
            .clear(&query)
            .map(|n| to_json(&serde_json::json!({ "removed": n }))),
        _ => return error_response(StatusCode::NOT_FOUND, "no such route"),
    };
    result.unwrap_or_else(|e| {
        let status = match e {
            StoreError::NotFound(_) => StatusCode::NOT_FOUND,
            StoreError::Ambiguous(..) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        error_response(status, &e.to_string())
    })
}

/// Bytes per streamed chunk of a listing.
const CHUNK: usize = 64 * 1024;

/// The JSON array of matching records, streamed: `[`, then one record per
/// line (`,` first on every line but the first), then `]` on its own line.
/// A reader thread walks the store and hands ~64 KiB chunks over a channel of
/// a few chunks, so the proxy holds a bounded slice of any listing. When the
/// store fails mid-way the body ends without `]`, and the client says so.
fn records_json(store: Arc<Store>, query: Query) -> Response<ApiBody> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    tokio::task::spawn_blocking(move || {
        let mut buf: Vec<u8> = b"[".to_vec();
        let mut first = true;
        let walked = store.query_each(&query, |r| {
            buf.extend_from_slice(if first { b"\n" } else { b"\n," });
            first = false;
            serde_json::to_writer(&mut buf, &r).map_err(|source| StoreError::Corrupt {
                id: r.id.clone(),
                source,
            })?;
            if buf.len() >= CHUNK {
                let chunk = Bytes::from(std::mem::take(&mut buf));
                if tx.blocking_send(chunk).is_err() {
                    // The client went away: stop reading the store.
                    return Err(StoreError::NotFound("(client gone)".into()));
                }
            }
            Ok(())
        });
        match walked {
            Ok(()) => {
                buf.extend_from_slice(b"\n]\n");
                let _ = tx.blocking_send(Bytes::from(buf));
            }
            Err(e) => {
                tracing::warn!("listing records for the API stopped: {e}");
                let _ = tx.blocking_send(Bytes::from(buf));
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(Frame::data(chunk)), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .expect("valid response")
}

/// How long an API connection may sit without sending a whole request head.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serve the API on `listener` until the task is dropped or aborted.
/// Requests must carry a loopback `Host` ([`is_loopback_host`]) and the
/// bearer `token`; peers that are not loopback are dropped unanswered.
pub async fn serve(store: Arc<Store>, listener: tokio::net::TcpListener, token: String) {
    let token = Arc::new(token);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("api accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if !peer.ip().is_loopback() {
            continue;
        }
        let store = store.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let resp = route(&store, &token, &req);
                async move { Ok::<_, Infallible>(resp) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!("api connection ended: {e}");
            }
        });
    }
}

/// A client for a running proxy's API.
#[derive(Debug, Clone)]
pub struct Client {
    state: ProxyState,
    state_file: PathBuf,
}

impl Client {
    /// A client for the proxy described by `state` (read from `home`).
    pub fn new(state: ProxyState, home: &Home) -> Client {
        Client {
            state,
            state_file: home.proxy_state_file(),
        }
    }

    /// The proxy this client talks to.
    pub fn state(&self) -> &ProxyState {
        &self.state
    }

    async fn send(
        &self,
        method: Method,
        path_and_query: String,
    ) -> Result<Response<hyper::body::Incoming>, ApiError> {
        let stream = tokio::net::TcpStream::connect(&self.state.api)
            .await
            .map_err(|e| self.unreachable(e.to_string()))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.unreachable(e.to_string()))?;
        tokio::spawn(conn);
        let req = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("host", &self.state.api)
            .header("authorization", format!("Bearer {}", self.state.token))
            .body(Full::new(Bytes::new()))
            .expect("valid request");
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| self.unreachable(e.to_string()))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| self.unreachable(e.to_string()))?
            .to_bytes();
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        Err(ApiError::Remote {
            status: status.as_u16(),
            message,
        })
    }

    fn unreachable(&self, detail: String) -> ApiError {
        ApiError::Unreachable {
            addr: self.state.api.clone(),
            detail,
            state_file: self.state_file.clone(),
        }
    }

    async fn call_async(
        &self,
        method: Method,
        path_and_query: String,
    ) -> Result<Vec<u8>, ApiError> {
        let resp = self.send(method, path_and_query).await?;
        Ok(resp
            .into_body()
            .collect()
            .await
            .map_err(|e| self.unreachable(e.to_string()))?
            .to_bytes()
            .to_vec())
    }

    fn runtime(&self) -> Result<tokio::runtime::Runtime, ApiError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| self.unreachable(format!("could not start a runtime: {e}")))
    }

    /// Call `f` with each record matching the query as it arrives (the API
    /// streams one record per line), until `f` returns false. Memory stays
    /// at one record plus one network chunk.
    pub fn query_each(&self, q: &Query, mut f: impl FnMut(Record) -> bool) -> Result<(), ApiError> {
        let rt = self.runtime()?;
        rt.block_on(async {
            let resp = self
                .send(Method::GET, format!("/api/records?{}", query_string(q)))
                .await?;
            let mut body = resp.into_body();
            let mut line: Vec<u8> = Vec::new();
            let mut closed = false;
            let mut on_line = |line: &[u8], closed: &mut bool| -> Result<bool, ApiError> {
                let text = line.strip_prefix(b",").unwrap_or(line);
                match text.trim_ascii() {
                    b"" | b"[" => Ok(true),
                    b"]" => {
                        *closed = true;
                        Ok(true)
                    }
                    json => {
                        let rec: Record =
                            serde_json::from_slice(json).map_err(ApiError::BadAnswer)?;
                        Ok(f(rec))
                    }
                }
            };
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| self.unreachable(e.to_string()))?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let mut rest: &[u8] = &data;
                while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
                    line.extend_from_slice(&rest[..nl]);
                    rest = &rest[nl + 1..];
                    if !on_line(&line, &mut closed)? {
                        return Ok(());
                    }
                    line.clear();
                }
                line.extend_from_slice(rest);
            }
            if !line.is_empty() && !on_line(&line, &mut closed)? {
                return Ok(());
            }
            if !closed {
                return Err(self.unreachable(
                    "the listing ended early (the proxy's store failed; see its log)".into(),
                ));
            }
            Ok(())
        })
    }

    fn call(&self, method: Method, path_and_query: String) -> Result<Vec<u8>, ApiError> {
        self.runtime()?
            .block_on(self.call_async(method, path_and_query))
    }

    /// Records matching the query, collected (see [`Client::query_each`]).
    pub fn query(&self, q: &Query) -> Result<Vec<Record>, ApiError> {
        let mut out = Vec::new();
        self.query_each(q, |r| {
            out.push(r);
            true
        })?;
        Ok(out)
    }

    /// One record by id (or unique prefix/suffix).
    pub fn get(&self, id: &str) -> Result<Record, ApiError> {
        let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        let body = self.call(Method::GET, format!("/api/records/{id}"))?;
        serde_json::from_slice(&body).map_err(ApiError::BadAnswer)
    }

    /// The store's write health: exchanges waiting or lost (see [`crate::store::Health`]).
    pub fn health(&self) -> Result<crate::store::Health, ApiError> {
        let body = self.call(Method::GET, "/api/health".into())?;
        serde_json::from_slice(&body).map_err(ApiError::BadAnswer)
    }

    /// Remove matching records; returns how many.
    pub fn clear(&self, q: &Query) -> Result<usize, ApiError> {
        let body = self.call(Method::POST, format!("/api/clear?{}", query_string(q)))?;
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(ApiError::BadAnswer)?;
        Ok(v["removed"].as_u64().unwrap_or(0) as usize)
    }
}

//! The hudsucker handler: classify each exchange, tee the bodies of OAuth
//! exchanges, and hand finished records to the recorder. Everything that is
//! not OAuth passes through untouched and unbuffered.

use super::failure;
use super::tee::{OnDone, TeeBody};
use crate::analyze::classify::{self, Classified, Endpoints};
use crate::capture::{self, Captured, RequestHead, ResponseHead};
use crate::record::{Body as StoredBody, HeaderList, Kind, Record};
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hudsucker::hyper::{Method, Request, Response, StatusCode};
use hudsucker::{Body, HttpContext, HttpHandler, RequestOrResponse};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::sync::mpsc::Sender;

/// Settings shared by every connection.
pub struct Shared {
    /// Capture limit per body.
    pub max_body: usize,
    /// `--intercept` patterns (empty: everything).
    pub intercept: Vec<String>,
    /// Where finished records go: the recorder's bounded queue (see
    /// [`super::RECORD_QUEUE`]).
    pub records: Sender<Record>,
    /// How often, and for how long in all, responses waited for room in
    /// that queue.
    pub backpressure: super::Backpressure,
    /// Hosts whose clients speak HTTP/2 (upstream mirrors it).
    pub h2_hosts: super::upstream::H2Hosts,
    /// Endpoints and redirect URIs learnt from recorded discovery documents
    /// and authorize requests; classification consults them.
    pub known: std::sync::RwLock<Endpoints>,
    /// The CA's name constraints: TLS to hosts outside them is tunnelled.
    pub scope: crate::ca::NameScope,
    /// Requests in flight per upstream (bounds the upstream connections).
    pub request_slots: super::upstream::RequestSlots,
}

impl Shared {
    fn known(&self) -> std::sync::RwLockReadGuard<'_, Endpoints> {
        self.known.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Remember what a finished record teaches (cheap for every other kind).
    fn learn(&self, rec: &Record) {
        if matches!(
            rec.kind,
            Kind::Discovery | Kind::AuthorizeRequest | Kind::Par | Kind::ProviderPage
        ) {
            self.known
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .learn(rec);
        }
    }
}

/// The per-request handler.
#[derive(Clone)]
pub struct Handler {
    shared: Arc<Shared>,
    pending: Option<Pending>,
    /// This request's place among those in flight to its upstream.
    slot: Option<Arc<tokio::sync::OwnedSemaphorePermit>>,
}

impl Handler {
    /// A handler over shared settings.
    pub fn new(shared: Arc<Shared>) -> Handler {
        Handler {
            shared,
            pending: None,
            slot: None,
        }
    }

    fn take_pending(&mut self) -> Option<Pending> {
        self.pending.take()
    }
}

/// Does `host` match one of the `--intercept` patterns (`*.okta.com` matches subdomains)?
pub fn host_matches(patterns: &[String], host: &str) -> bool {
    if patterns.is_empty() {
        return true;
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    patterns.iter().any(|p| {
        let p = p.trim().to_ascii_lowercase();
        let p = p
            .split(':')
            .next()
            .unwrap_or("")
            .trim_start_matches('[')
            .trim_end_matches(']');
        match p.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => p == "*" || p == host,
        }
    })
}

/// Check a CONNECT request's target: the authority form `host:port` (RFC
/// 9112 §3.2.3, RFC 9110 §9.3.6) with a port from 1 to 65535 and a host that
/// is an IP address (IPv6 in brackets) or a DNS name (letters, digits, `-`,
/// `_`, dot-separated labels of 1 to 63 characters, 253 in all). Returns
/// `(host, port)`, or why the target is refused (the proxy answers `400`).
pub fn connect_target(uri: &hudsucker::hyper::Uri) -> Result<(String, u16), String> {
    let shown = uri.to_string();
    let (Some(authority), None, "" | "/") = (uri.authority(), uri.scheme(), uri.path()) else {
        return Err(format!(
            "CONNECT needs a target of the form host:port, not {shown:?}"
        ));
    };
    if authority.as_str().contains('@') {
        return Err(format!("CONNECT target {shown:?} carries user information"));
    }
    let Some(port) = authority.port() else {
        return Err(format!("CONNECT target {shown:?} has no port (host:port)"));
    };
    let port = match port.as_str().parse::<u16>() {
        Ok(p) if p > 0 => p,
        _ => {
            return Err(format!(
                "CONNECT target {shown:?}: port {} is not from 1 to 65535",
                port.as_str()
            ))
        }
    };
    let host = authority.host();
    let valid = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        let name = host.strip_suffix('.').unwrap_or(host);
        !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    };
    if !valid {
        return Err(format!(
            "CONNECT target {shown:?}: {host:?} is neither a host name nor an IP address"
        ));
    }
    Ok((host.to_string(), port))
}

fn header_list(h: &hudsucker::hyper::HeaderMap) -> HeaderList {
    HeaderList(
        h.iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
    )
}

/// Read up to `limit` bytes of a request body for classification; return
/// them and a body that forwards everything (the prefix, then the rest).
async fn read_prefix(
    mut body: Body,
    limit: usize,
    content_length: Option<u64>,
) -> (Captured, Body) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match body.frame().await {
            None => {
                let bytes = Bytes::from(buf);
                return (
                    Captured::whole(bytes.to_vec()),
                    Body::from(Full::new(bytes)),
                );
            }
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                    if buf.len() > limit {
                        break;
                    }
                }
            }
            Some(Err(e)) => {
                // The client's body ended early or was malformed: forward
                // what came and then the same failure, so the upstream
                // request is aborted, never completed (no terminating chunk,
                // no `Content-Length` that makes the prefix look whole).
                let cap = Captured {
                    bytes: buf.clone(),
                    total: buf.len() as u64,
                    truncated: false,
                    interrupted: Some(super::tee::error_chain(&e)),
                };
                let frames: Vec<Result<Bytes, hudsucker::Error>> =
                    vec![Ok(Bytes::from(buf)), Err(e)];
                return (cap, Body::from_stream(futures::stream::iter(frames)));
            }
        }
    }
    let cap = Captured {
        bytes: buf[..limit].to_vec(),
        total: content_length.unwrap_or(buf.len() as u64),
        truncated: true,
        interrupted: None,
    };
    let prefix = futures::stream::once(std::future::ready(Ok::<Bytes, hudsucker::Error>(
        Bytes::from(buf),
    )));
    let rest = body.into_data_stream();
    use futures::StreamExt as _;
    (cap, Body::from_stream(prefix.chain(rest)))
}

/// An exchange on its way: what [`Shared::begin`] learnt from the request,
/// for [`Shared::finish`] or [`Shared::failed`].
#[derive(Clone)]
pub struct Pending {
    head: RequestHead,
    class: Option<Classified>,
    request_body: StoredBody,
    started: Instant,
    /// Set when the client's request body failed on its way upstream
    /// (ended early, bad chunked encoding): why.
    client_abort: Arc<OnceLock<String>>,
}

/// A request body on its way upstream that notes, in `abort`, why it
/// failed if it does (the client went away mid-body, or sent a malformed
/// chunked body); the failure itself passes on, so the upstream request is
/// aborted.
struct WatchedBody {
    inner: Body,
    abort: Arc<OnceLock<String>>,
}

impl hyper::body::Body for WatchedBody {
    type Data = Bytes;
    type Error = hudsucker::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, hudsucker::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let std::task::Poll::Ready(Some(Err(e))) = &polled {
            let _ = self.abort.set(super::tee::error_chain(e));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Shared {
    /// Look at a request on its way upstream: read (bounded) the body of
    /// requests that may be OAuth, classify, and give back the request to
    /// forward (its body whole) with what [`Shared::finish`] needs. The URL
    /// recorded is the request's URI, which must be absolute.
    pub async fn begin(&self, req: Request<Body>) -> (Request<Body>, Option<Pending>) {
        let url = req.uri().to_string();
        let headers = header_list(req.headers());
        let method = req.method().as_str().to_string();
        let head = RequestHead::new(method, url, headers);
        let started = Instant::now();
        let (parts, body) = req.into_parts();
        let (captured, body) =
            match classify::request_body_limit(&head.method, &head.headers, self.max_body) {
                Some(limit) => {
                    let cl = head
                        .headers
                        .get("content-length")
                        .and_then(|v| v.trim().parse().ok());
                    read_prefix(body, limit, cl).await
                }
                None => (Captured::default(), body),
            };
        // Classification must never cost the app its request: a bug there
        // means "not recorded", and the request goes on untouched.
        let max_body = self.max_body;
        let classified = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let request_body = capture::body(&head.headers, &captured, max_body);
            let class = classify::classify_request_in(
                &head.method,
                &head.url,
                &head.headers,
                (!request_body.is_empty()).then_some(&request_body),
                &self.known(),
            );
            (request_body, class)
        }));
        let Ok((request_body, class)) = classified else {
            tracing::error!(
                "classifying {} failed (a bug); forwarded unrecorded",
                crate::redact::url_for_log(&head.url)
            );
            return (Request::from_parts(parts, body), None);
        };
        let client_abort = Arc::new(OnceLock::new());
        if let Some(why) = &captured.interrupted {
            let _ = client_abort.set(why.clone());
        }
        let body = Body::from(BoxBody::new(WatchedBody {
            inner: body,
            abort: client_abort.clone(),
        }));
        let pending = Pending {
            head,
            class,
            request_body,
            started,
            client_abort,
        };
        (Request::from_parts(parts, body), Some(pending))
    }

    /// The upstream's answer to a request [`Shared::begin`] saw: OAuth
    /// exchanges get their response body teed, and the record goes to the
    /// recorder when it has streamed past; the rest passes untouched.
    pub async fn finish(self: &Arc<Self>, p: Pending, res: Response<Body>) -> Response<Body> {
        let status = res.status().as_u16();
        let headers = header_list(res.headers());
        let class = match p.class.clone().or_else(|| {
            if classify::is_subresource(&p.head.url, &p.head.headers) {
                return None;
            }
            classify::classify_response_in(&p.head.url, status, &headers, &self.known())
        }) {
            Some(c) => c,
            None => return res,
        };
        let duration_ms = p.started.elapsed().as_millis() as u64;
        let limit = self.max_body;
        // Backpressure: while the recorder's queue is full (it is behind by
        // RECORD_QUEUE exchanges) the response waits for room before it goes
        // back, so a burst cannot grow the queue without bound. The room is
        // not held while the body streams (a client that reads slowly must
        // not hold up others); see `queue_record` for the rare race.
        if self.records.capacity() == 0 {
            let t = Instant::now();
            let _room = self.records.reserve().await;
            self.backpressure.waited(t.elapsed());
        }
        let tx = self.records.clone();
        let shared = self.clone();
        let done: OnDone = Box::new(move |cap: Captured, client_stopped: bool| {
            let mut body = capture::body(&headers, &cap, limit);
            // The upstream failing mid-body is an error; the client no
            // longer reading (it follows a redirect, closes a tab) is not.
            let error = cap
                .interrupted
                .map(|e| format!("the response body did not arrive whole: {e}"));
            if client_stopped && error.is_none() {
                body.incomplete = Some(format!(
                    "the client stopped reading after {} bytes (it had what it needed, or went away); \
                     the rest was not fetched",
                    cap.total
                ));
            }
            let mut request_body = p.request_body;
            if let Some(why) = p.client_abort.get() {
                request_body.incomplete =
                    Some(format!("the client's request body ended early: {why}"));
            }
            let rec = capture::record(
                &class,
                &p.head,
                request_body,
                Some((ResponseHead { status, headers }, body)),
                duration_ms,
                error,
            );
            shared.learn(&rec);
            queue_record(&tx, rec);
        });
        let (parts, body) = res.into_parts();
        let tee = TeeBody::new(body, limit, done);
        Response::from_parts(parts, Body::from(BoxBody::new(tee)))
    }

    /// The upstream request failed: a `502` that says why and what to do
    /// (`504` naming the deadline when an upstream deadline passed, `400`
    /// when the client's own request body failed and the upstream request
    /// was aborted with it), and for an OAuth request a record with that
    /// message as its error.
    pub async fn failed(
        &self,
        pending: Option<Pending>,
        err: &hudsucker::hyper_util::client::legacy::Error,
    ) -> Response<Body> {
        let target = pending
            .as_ref()
            .and_then(|p| url::Url::parse(&p.head.url).ok())
            .map(|u| {
                format!(
                    "{}:{}",
                    u.host_str().unwrap_or(""),
                    u.port_or_known_default().unwrap_or(0)
                )
            })
            .unwrap_or_else(|| "the upstream".into());
        let client_abort = pending.as_ref().and_then(|p| p.client_abort.get().cloned());
        let (status, kind, message) = if let Some(why) = &client_abort {
            // Not the upstream's fault: the client's body failed, and the
            // upstream request was aborted with it (never completed).
            (
                StatusCode::BAD_REQUEST,
                "client",
                format!(
                    "the client aborted the request: its body ended early or was malformed ({why}); \
                     the request to {target} was aborted, not completed"
                ),
            )
        } else if let Some(deadline) = super::upstream::deadline_in(err) {
            (
                StatusCode::GATEWAY_TIMEOUT,
                "upstream-timeout",
                format!("{target}: {deadline}"),
            )
        } else {
            (
                StatusCode::BAD_GATEWAY,
                "upstream",
                failure::describe(err, &target),
            )
        };
        if let Some(mut p) = pending {
            tracing::debug!("{message}");
            if let Some(class) = &p.class {
                if let Some(why) = &client_abort {
                    p.request_body.incomplete =
                        Some(format!("the client's request body ended early: {why}"));
                }
                let rec = capture::record(
                    class,
                    &p.head,
                    p.request_body,
                    None,
                    p.started.elapsed().as_millis() as u64,
                    Some(message.clone()),
                );
                if self.records.send(rec).await.is_err() {
                    tracing::warn!("recorder is gone; an exchange was not stored");
                }
            }
        } else {
            tracing::warn!("{message}");
        }
        Response::builder()
            .status(status)
            .header("content-type", "text/plain; charset=utf-8")
            .header("x-oauthscope-error", kind)
            .body(Body::from(format!("oauthscope: {message}\n")))
            .expect("valid error response")
    }
}

impl HttpHandler for Handler {
    async fn handle_request(
        &mut self,
        _ctx: &HttpContext,
        req: Request<Body>,
    ) -> RequestOrResponse {
        self.pending = None;
        self.slot = None;
        if req.method() == Method::CONNECT {
            if let Err(why) = connect_target(req.uri()) {
                tracing::debug!("refused CONNECT {}: {why}", req.uri());
                return Response::builder()
                    .status(StatusCode::BAD_REQUEST)
                    .header("content-type", "text/plain; charset=utf-8")
                    .header("x-oauthscope-error", "connect-target")
                    .body(Body::from(format!("oauthscope: {why}\n")))
                    .expect("valid 400 response")
                    .into();
            }
            let host = req.uri().host().unwrap_or("");
            if host_matches(&self.shared.intercept, host) && self.shared.scope.permits(host) {
                // hudsucker decides between TLS interception and a raw tunnel.
                return req.into();
            }
            return super::tunnel::open(req).await.into();
        }
        // Wait for a place among the requests in flight to this upstream
        // (hudsucker sends the request once this returns).
        self.slot = self
            .shared
            .request_slots
            .acquire(req.uri())
            .await
            .map(Arc::new);
        if !host_matches(&self.shared.intercept, req.uri().host().unwrap_or("")) {
            return req.into();
        }
        self.shared.h2_hosts.note(
            req.uri(),
            req.version() == hudsucker::hyper::Version::HTTP_2,
        );
        let (req, pending) = self.shared.begin(req).await;
        self.pending = pending;
        req.into()
    }

    async fn handle_response(&mut self, _ctx: &HttpContext, res: Response<Body>) -> Response<Body> {
        let slot = self.slot.take().and_then(|s| Arc::try_unwrap(s).ok());
        let res = res.map(|b| super::upstream::hold(b, slot));
        match self.take_pending() {
            Some(p) => self.shared.finish(p, res).await,
            None => res,
        }
    }

    async fn handle_error(
        &mut self,
        _ctx: &HttpContext,
        err: hudsucker::hyper_util::client::legacy::Error,
    ) -> Response<Body> {
        self.slot = None;
        let pending = self.take_pending();
        self.shared.failed(pending, &err).await
    }

    /// Decrypt a CONNECT tunnel only for hosts `--intercept` selects that
    /// are also inside the CA's name constraints; the rest never gets here
    /// ([`super::tunnel`] carries them untouched: the client sees the host's
    /// own certificate), so this is a second guard.
    async fn should_intercept_connect(&mut self, _ctx: &HttpContext, req: &Request<Body>) -> bool {
        let host = req.uri().host().unwrap_or("");
        host_matches(&self.shared.intercept, host) && self.shared.scope.permits(host)
    }
}

/// Hand a finished record to the recorder without blocking the response
/// (this runs inside the body's last poll). The queue had room when the
/// response started; if other responses took it meanwhile, a task waits for
/// room instead, so the record is never dropped (such tasks are at most one
/// per response in flight).
fn queue_record(tx: &tokio::sync::mpsc::Sender<Record>, rec: Record) {
    use tokio::sync::mpsc::error::TrySendError;
    match tx.try_send(rec) {
        Ok(()) => {}
        Err(TrySendError::Full(rec)) => match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                let tx = tx.clone();
                rt.spawn(async move {
                    if tx.send(rec).await.is_err() {
                        tracing::warn!("recorder is gone; an exchange was not stored");
                    }
                });
            }
            Err(_) => tracing::warn!(
                "recorder queue full outside the runtime; exchange {} not stored",
                rec.id
            ),
        },
        Err(TrySendError::Closed(_)) => {
            tracing::warn!("recorder is gone; an exchange was not stored")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::host_matches;

    #[test]
    fn intercept_patterns() {
        let p = vec![
            "*.okta.com".to_string(),
            "login.microsoftonline.com".to_string(),
        ];
        assert!(host_matches(&p, "dev-123.okta.com"));
        assert!(!host_matches(&p, "okta.com"));
        assert!(!host_matches(&p, "evilokta.com"));
        assert!(host_matches(&p, "LOGIN.microsoftonline.com"));
        assert!(!host_matches(&p, "example.com"));
        assert!(host_matches(&[], "anything"));
        assert!(host_matches(&["127.0.0.1:8443".to_string()], "127.0.0.1"));
    }

    #[test]
    fn connect_targets_are_checked() {
        use super::connect_target;
        let ok = |t: &str| connect_target(&t.parse().unwrap());
        assert_eq!(ok("example.com:443").unwrap(), ("example.com".into(), 443));
        assert_eq!(ok("127.0.0.1:8443").unwrap().1, 8443);
        assert!(ok("[::1]:443").is_ok());
        assert!(ok("_svc.internal:443").is_ok());
        for bad in [
            "example.com:99999",
            "example.com:0",
            "example.com",
            "exa$mple.com:443",
            "-bad-.com:443",
            "a..b:443",
            "user@example.com:443",
            "http://example.com:443/",
        ] {
            let Ok(uri) = bad.parse() else { continue };
            assert!(connect_target(&uri).is_err(), "{bad} accepted");
        }
    }
}

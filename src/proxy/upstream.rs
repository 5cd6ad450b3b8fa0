//! Upstream connections: TLS trusting the system's roots plus every
//! `--upstream-ca` file, the HTTP version mirrored from the client, a
//! bounded number of connections per upstream, and deadlines.

use http::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

/// Errors building the upstream trust store.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// An --upstream-ca file could not be read or holds no certificate.
    #[error("--upstream-ca {}: {detail}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// rustls refused the configuration.
    #[error("building the upstream TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

fn load_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, UpstreamError> {
    let err = |detail: String| UpstreamError::CaFile {
        path: path.to_path_buf(),
        detail,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| err(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        // Maybe DER.
        if bytes.first() == Some(&0x30) {
            return Ok(vec![CertificateDer::from(bytes)]);
        }
        return Err(err("holds no certificate".into()));
    }
    Ok(certs)
}

/// The roots upstream connections trust: system roots, `extra` PEM files and `own` (our CA).
pub fn root_store(
    extra: &[PathBuf],
    own: Option<CertificateDer<'static>>,
) -> Result<RootCertStore, UpstreamError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!("loading a system root failed: {e}");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!("trusting {added} system roots ({ignored} unparsable)");
    for path in extra {
        for cert in load_pem_certs(path)? {
            roots.add(cert).map_err(|e| UpstreamError::CaFile {
                path: path.clone(),
                detail: format!("certificate rejected: {e}"),
            })?;
        }
    }
    if let Some(own) = own {
        roots.add(own).map_err(UpstreamError::Tls)?;
    }
    Ok(roots)
}

/// A rustls client configuration for upstream connections (the connector
/// adds ALPN h2 + http/1.1 itself).
pub fn client_config(
    extra: &[PathBuf],
    own: Option<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, UpstreamError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(root_store(extra, own)?)
        .with_no_client_auth())
}

/// Hosts whose clients speak HTTP/2 to the proxy. Upstream connections to
/// them offer h2 as well; to every other host the proxy speaks HTTP/1.1, as
/// its client did (mitmproxy does the same). One multiplexed h2 connection
/// is served by a single task, so mirroring HTTP/1.1 clients with one
/// upstream connection each keeps throughput up on small machines.
#[derive(Debug, Clone, Default)]
pub struct H2Hosts {
    set: Arc<RwLock<HashSet<String>>>,
    /// True while the set is not empty: HTTP/1.1-only traffic never locks.
    any: Arc<AtomicBool>,
}

impl H2Hosts {
    /// Remember which HTTP version the client used for `uri`'s host.
    pub fn note(&self, uri: &Uri, h2: bool) {
        if !h2 && !self.any.load(Ordering::Relaxed) {
            return;
        }
        let authority = authority_of(uri);
        if self.wants_h2(&authority) == h2 {
            return;
        }
        let mut set = self.set.write().unwrap_or_else(|e| e.into_inner());
        if h2 {
            set.insert(authority);
        } else {
            set.remove(&authority);
        }
        self.any.store(!set.is_empty(), Ordering::Relaxed);
    }

    /// Should a new upstream connection to `authority` (as [`authority_of`]
    /// writes it) offer h2?
    pub fn wants_h2(&self, authority: &str) -> bool {
        self.any.load(Ordering::Relaxed)
            && self
                .set
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains(authority)
    }
}

/// The authority of a URI as `host:port`: host lower-cased, port defaulted
/// from the scheme.
pub fn authority_of(uri: &Uri) -> String {
    let host = uri.host().unwrap_or("").to_ascii_lowercase();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    format!("{host}:{port}")
}

/// The connector both modes' clients use: HTTPS or plain HTTP; HTTP/2 for
/// the hosts in [`H2Hosts`], HTTP/1.1 for the rest. Each connection takes
/// one of its host's slots (twice
/// [`UpstreamLimits::connections_per_host`]: those in use plus the idle ones
/// the pool keeps; a connect waits for a free one, at most
/// [`UpstreamLimits::first_byte`]) and keeps it until it closes, so no
/// more are ever open; connecting is bounded by [`UpstreamLimits::connect`]
/// and reads by the other deadlines ([`UpstreamIo`]).
#[derive(Clone)]
pub struct Connector {
    h1: HttpsConnector<HttpConnector>,
    any: HttpsConnector<HttpConnector>,
    h2_hosts: H2Hosts,
    limits: UpstreamLimits,
    slots: Slots,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An upstream connection as the clients get it.
pub type UpstreamStream = UpstreamIo<MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>>;

impl Service<Uri> for Connector {
    type Response = UpstreamStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<UpstreamStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match self.h1.poll_ready(cx) {
            Poll::Ready(Ok(())) => self.any.poll_ready(cx),
            other => other,
        }
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let authority = authority_of(&uri);
        let connecting = if self.h2_hosts.wants_h2(&authority) {
            self.any.call(uri)
        } else {
            self.h1.call(uri)
        };
        let cap = self.limits.connections_per_host.max(1).saturating_mul(2);
        let slots = self.slots.for_host(&authority, cap);
        let limits = self.limits;
        Box::pin(async move {
            // Only a connect the pool raced against a returning idle
            // connection waits here long (it then ends, unneeded).
            let slot = match tokio::time::timeout(limits.first_byte, slots.acquire_owned()).await {
                Ok(Ok(slot)) => slot,
                Ok(Err(e)) => return Err(Box::new(e) as BoxError),
                Err(_) => return Err(Box::new(Deadline::Busy(cap, limits.first_byte)) as BoxError),
            };
            match tokio::time::timeout(limits.connect, connecting).await {
                Ok(Ok(io)) => Ok(UpstreamIo::new(io, slot, limits)),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(Box::new(Deadline::Connect(limits.connect)) as BoxError),
            }
        })
    }
}

/// Build the [`Connector`] over one rustls client configuration.
pub fn connector(
    cfg: rustls::ClientConfig,
    h2_hosts: H2Hosts,
    limits: UpstreamLimits,
) -> Connector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let h1 = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(cfg.clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http.clone());
    let any = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(cfg)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http);
    Connector {
        h1,
        any,
        h2_hosts,
        limits,
        slots: Slots::default(),
    }
}

/// Deadlines and the connection bound toward upstream servers (`run`'s
/// `--upstream-connect-timeout`, `--upstream-timeout`,
/// `--upstream-idle-timeout` and `--upstream-connections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamLimits {
    /// Longest wait for a new upstream connection: TCP connect plus TLS
    /// handshake (not the wait for a free connection slot).
    pub connect: Duration,
    /// Longest silence after the last byte of a request was sent before
    /// the first byte of the answer arrives.
    pub first_byte: Duration,
    /// Longest silence once the answer has started (between any two reads),
    /// and the longest an unused pooled connection stays open.
    pub idle: Duration,
    /// Most requests in flight at once to one upstream (`host:port`);
    /// further requests wait for one to finish (its response body read or
    /// dropped). The pool keeps at most this many idle connections per
    /// upstream, and never opens more than twice this many (see
    /// [`RequestSlots`] and [`Connector`]). HTTP/2 clients' streams share
    /// these connections.
    pub connections_per_host: usize,
}

/// Default of [`UpstreamLimits::connect`].
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`UpstreamLimits::first_byte`].
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default of [`UpstreamLimits::idle`].
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default of [`UpstreamLimits::connections_per_host`]: ten times a
/// browser's six per host, far below the open-file limit.
pub const CONNECTIONS_PER_HOST: usize = 64;

impl Default for UpstreamLimits {
    fn default() -> Self {
        UpstreamLimits {
            connect: CONNECT_TIMEOUT,
            first_byte: FIRST_BYTE_TIMEOUT,
            idle: IDLE_TIMEOUT,
            connections_per_host: CONNECTIONS_PER_HOST,
        }
    }
}

/// An upstream deadline that passed. It travels inside the client's error
/// (as the source of an `io::Error` of kind `TimedOut`, or as the connect
/// error itself); [`deadline_in`] finds it. The proxy answers `504` with
/// this text (RFC 9110 §15.6.5: a gateway that did not receive a timely
/// response).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Deadline {
    /// No connection (TCP and TLS) within the connect deadline.
    #[error("connect deadline: no connection within {} (--upstream-connect-timeout)", secs(.0))]
    Connect(Duration),
    /// No answer within the first-byte deadline after the request was sent.
    #[error("first-byte deadline: no answer within {} after the request was sent (--upstream-timeout)", secs(.0))]
    FirstByte(Duration),
    /// The answer stopped for longer than the idle deadline.
    #[error("idle deadline: the upstream sent nothing for {} in the middle of its answer (--upstream-idle-timeout)", secs(.0))]
    Idle(Duration),
    /// Every connection to the upstream stayed busy past the first-byte deadline.
    #[error("first-byte deadline: all {} connections to the upstream stayed busy for {} (--upstream-connections, --upstream-timeout)", .0, secs(.1))]
    Busy(usize, Duration),
}

fn secs(d: &Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// The [`Deadline`] somewhere in `err`'s source chain, if one passed.
pub fn deadline_in(err: &(dyn std::error::Error + 'static)) -> Option<Deadline> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(d) = e.downcast_ref::<Deadline>() {
            return Some(*d);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(d) = io.get_ref().and_then(|i| i.downcast_ref::<Deadline>()) {
                return Some(*d);
            }
        }
        cur = e.source();
    }
    None
}

/// A fixed number of slots per upstream `host:port`.
#[derive(Debug, Clone, Default)]
struct Slots {
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl Slots {
    fn for_host(&self, authority: &str, per_host: usize) -> Arc<Semaphore> {
        let per_host = per_host.max(1);
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if hosts.len() >= 1024 && !hosts.contains_key(authority) {
            // Forget hosts with no slot taken (a forward proxy sees many).
            hosts.retain(|_, s| Arc::strong_count(s) > 1 || s.available_permits() < per_host);
        }
        hosts
            .entry(authority.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(per_host)))
            .clone()
    }
}

/// The request queue per upstream: at most
/// [`UpstreamLimits::connections_per_host`] requests to one `host:port` are
/// handed to the client at once, each holding its slot until its response
/// body has been read or dropped ([`hold`]). The client's pool therefore
/// needs no more connections than that (plus the idle ones it keeps, at most
/// as many), however many HTTP/2 streams arrive at once.
#[derive(Debug, Clone)]
pub struct RequestSlots {
    slots: Slots,
    per_host: usize,
}

impl RequestSlots {
    /// `per_host` requests in flight per upstream.
    pub fn new(per_host: usize) -> RequestSlots {
        RequestSlots {
            slots: Slots::default(),
            per_host,
        }
    }

    /// Wait for a free slot for a request to `uri`'s upstream.
    pub async fn acquire(&self, uri: &Uri) -> Option<OwnedSemaphorePermit> {
        self.slots
            .for_host(&authority_of(uri), self.per_host)
            .acquire_owned()
            .await
            .ok()
    }
}

/// A body that holds `slot` until it ends or is dropped.
pub fn hold(body: hudsucker::Body, slot: Option<OwnedSemaphorePermit>) -> hudsucker::Body {
    match slot {
        None => body,
        Some(slot) => hudsucker::Body::from(http_body_util::combinators::BoxBody::new(Held {
            inner: body,
            slot: Some(slot),
        })),
    }
}

struct Held {
    inner: hudsucker::Body,
    slot: Option<OwnedSemaphorePermit>,
}

impl hyper::body::Body for Held {
    type Data = bytes::Bytes;
    type Error = hudsucker::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, hudsucker::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_))))
            || self.inner.is_end_stream()
        {
            self.slot = None;
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

/// An upstream connection: holds its host's slot while open, and applies the
/// first-byte and idle deadlines ([`Deadline`]) to reads: after a write, the
/// next byte must arrive within `first_byte`; after a read, the next within
/// `idle` (so a pooled connection nobody uses is closed after `idle`).
pub struct UpstreamIo<T> {
    inner: T,
    _slot: OwnedSemaphorePermit,
    limits: UpstreamLimits,
    /// A request went out and no byte of the answer came back yet.
    waiting: bool,
    deadline: tokio::time::Instant,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl<T> UpstreamIo<T> {
    fn new(inner: T, slot: OwnedSemaphorePermit, limits: UpstreamLimits) -> Self {
        let deadline = tokio::time::Instant::now() + limits.idle;
        UpstreamIo {
            inner,
            _slot: slot,
            limits,
            waiting: false,
            deadline,
            timer: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }

    /// A write went out: the answer's first byte is due within
    /// `first_byte`. The timer is moved (usually earlier) and armed with
    /// this task's waker now: the reader may not be polled again before the
    /// timer it registered (the idle one) fires.
    fn wrote(&mut self, cx: &mut Context<'_>) {
        self.waiting = true;
        self.deadline = tokio::time::Instant::now() + self.limits.first_byte;
        self.timer.as_mut().reset(self.deadline);
        let _ = self.timer.as_mut().poll(cx);
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for UpstreamIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        // Read through a buffer of our own to learn how much arrived (a
        // copy, but no unsafe code).
        let mut tmp = [std::mem::MaybeUninit::<u8>::uninit(); 16 * 1024];
        let want = buf.remaining().min(tmp.len());
        let mut rb = hyper::rt::ReadBuf::uninit(&mut tmp[..want]);
        match Pin::new(&mut this.inner).poll_read(cx, rb.unfilled()) {
            Poll::Ready(Ok(())) => {
                let got = rb.filled();
                if !got.is_empty() {
                    this.waiting = false;
                    this.deadline = tokio::time::Instant::now() + this.limits.idle;
                    buf.put_slice(got);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if this.timer.deadline() != this.deadline {
                    this.timer.as_mut().reset(this.deadline);
                }
                match this.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        let passed = if this.waiting {
                            Deadline::FirstByte(this.limits.first_byte)
                        } else {
                            Deadline::Idle(this.limits.idle)
                        };
                        Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            passed,
                        )))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for UpstreamIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.wrote(cx);
        }
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.wrote(cx);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<T: Connection> Connection for UpstreamIo<T> {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}

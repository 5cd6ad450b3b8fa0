//! The intercepting proxy: the only module that knows hudsucker.
//!
//! [`start`] binds the listener, assembles hudsucker with our CA
//! ([`crate::ca::Authority`]), upstream trust ([`upstream`]) and the
//! [`handler::Handler`], and runs a recorder task that stores each finished
//! exchange (flow from the store's indexes, then `flush_async`) and calls the
//! observer (the live log). Finished exchanges reach the recorder through a
//! bounded queue ([`RECORD_QUEUE`]): a recorded response waits for room
//! when the recorder is that far behind, so no record is ever dropped and a
//! long burst cannot grow memory without bound.
//!
//! In reverse mode ([`ProxyConfig::reverse`]) the listener is served by
//! [`reverse`] on hyper directly, with the same handler code, upstream
//! connector, limits and recorder.

pub mod failure;
pub mod handler;
pub mod limits;
pub mod reverse;
pub mod tee;
pub mod tunnel;
pub mod upstream;

use crate::ca::{Authority, LocalCa};
use crate::record::Record;
use crate::store::Store;
use handler::{Handler, Shared};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How to run the proxy.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Listen address (port 0 picks one).
    pub listen: SocketAddr,
    /// Decrypt and record only these hosts (wildcards `*.example.com`); empty: all.
    pub intercept: Vec<String>,
    /// Extra CA files to trust upstream.
    pub upstream_ca: Vec<PathBuf>,
    /// Capture limit per body, in bytes.
    pub max_body: usize,
    /// How long a client may take to send a whole request head (HTTP/1.1,
    /// also while a keep-alive connection sits idle), and to send its first
    /// byte (of the connection, after `CONNECT`, of the TLS handshake and of
    /// the first request inside it); slower or silent connections
    /// (slowloris, idle, half-open) are closed.
    pub header_timeout: std::time::Duration,
    /// Reverse mode: forward everything that arrives to this upstream
    /// instead of acting as a forward proxy (see [`reverse`]).
    pub reverse: Option<reverse::ReverseConfig>,
    /// Finished exchanges that may wait for the recorder (see [`RECORD_QUEUE`]).
    pub record_queue: usize,
    /// Deadlines and the connection bound toward upstream servers.
    pub upstream: upstream::UpstreamLimits,
    /// Memory, in bytes, for exchanges waiting while the store cannot write
    /// (a full disk); past it the oldest waiting ones are lost, and counted.
    pub unstored_max: usize,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            intercept: Vec::new(),
            upstream_ca: Vec::new(),
            max_body: 1024 * 1024,
            header_timeout: limits::HEADER_TIMEOUT,
            reverse: None,
            record_queue: RECORD_QUEUE,
            upstream: upstream::UpstreamLimits::default(),
            unstored_max: UNSTORED_MAX,
        }
    }
}

/// Called after each exchange is stored (the live log), on a thread of its
/// own: a slow observer delays neither storing nor flushing.
pub type Observer = Arc<dyn Fn(&Store, &Record) + Send + Sync>;

/// Errors starting the proxy.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Upstream trust could not be set up.
    #[error(transparent)]
    Upstream(#[from] upstream::UpstreamError),
    /// The recorder thread could not be started.
    #[error("starting the recorder thread: {0}")]
    Recorder(std::io::Error),
    /// Reverse mode's TLS certificate could not be issued.
    #[error("issuing the reverse-mode certificate: {0}")]
    Certificate(#[from] crate::ca::CaError),
    /// hudsucker refused the configuration.
    #[error("building the proxy: {0}")]
    Build(#[from] hudsucker::Error),
}

/// A proxy running on the current tokio runtime.
pub struct RunningProxy {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    drain: Option<oneshot::Sender<()>>,
    proxy: JoinHandle<()>,
    /// Waits of responses for room in the recorder's queue.
    pub backpressure: Backpressure,
    /// Fires when the recorder thread has stored everything and flushed.
    recorder_done: oneshot::Receiver<()>,
}

/// How long [`RunningProxy::shutdown`] lets open connections finish.
const GRACE: std::time::Duration = std::time::Duration::from_secs(3);

impl RunningProxy {
    /// Stop accepting, give open exchanges a short grace period (idle
    /// keep-alive connections would otherwise hold the proxy open for
    /// minutes), store what they produced and flush.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(GRACE, &mut self.proxy).await.is_err() {
            tracing::debug!("open connections did not close within {GRACE:?}; closing them");
            self.proxy.abort();
        }
        if let Some(tx) = self.drain.take() {
            let _ = tx.send(());
        }
        let _ = self.recorder_done.await;
        let (waits, waited) = self.backpressure.totals();
        if waits > 0 {
            tracing::info!(
                "{waits} responses waited {:.1} ms in all for room in the recorder's queue",
                waited.as_secs_f64() * 1e3
            );
        }
    }
}

/// Start the proxy. Records go to `store`; `observer` (if any) sees each one after it is stored.
pub async fn start(
    cfg: ProxyConfig,
    ca: Arc<LocalCa>,
    store: Arc<Store>,
    observer: Option<Observer>,
) -> Result<RunningProxy, ProxyError> {
    limits::raise_open_files();
    let listener = limits::listener(cfg.listen).map_err(|source| ProxyError::Bind {
        addr: cfg.listen,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| ProxyError::Bind {
        addr: cfg.listen,
        source,
    })?;
    // Trust our own CA upstream too, so `oauthscope mock --tls` works behind the proxy.
    let client_cfg = upstream::client_config(&cfg.upstream_ca, Some(ca.cert_der().clone()))?;
    let (tx, rx) = mpsc::channel(cfg.record_queue.max(1));
    let backpressure = Backpressure::default();
    let h2_hosts = upstream::H2Hosts::default();
    let shared = Arc::new(Shared {
        max_body: cfg.max_body,
        intercept: cfg.intercept.clone(),
        records: tx,
        backpressure: backpressure.clone(),
        h2_hosts: h2_hosts.clone(),
        known: Default::default(),
        scope: ca.scope().clone(),
        request_slots: upstream::RequestSlots::new(cfg.upstream.connections_per_host),
    });
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let connector = upstream::connector(client_cfg.clone(), h2_hosts, cfg.upstream);
    // One client (one pool) per proxy, shared by every connection and
    // stream; the connector bounds its connections per upstream.
    let mut client_builder = hudsucker::hyper_util::client::legacy::Client::builder(
        hudsucker::hyper_util::rt::TokioExecutor::new(),
    );
    client_builder
        .http1_title_case_headers(true)
        .http1_preserve_header_case(true)
        .pool_max_idle_per_host(cfg.upstream.connections_per_host)
        .pool_idle_timeout(cfg.upstream.idle)
        .pool_timer(hudsucker::hyper_util::rt::TokioTimer::new());
    let proxy = match &cfg.reverse {
        Some(rev) => {
            let names = rev.certificate_names(addr);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let tls = ca.server_config_for_names(&names)?;
            let client = client_builder.build(connector);
            let forwarder = Arc::new(reverse::Forwarder {
                shared,
                client,
                config: rev.clone(),
                listen: addr,
            });
            tokio::spawn(reverse::serve(
                listener,
                tls,
                forwarder,
                limits::server_builder(cfg.header_timeout),
                cfg.header_timeout,
                stop_rx,
            ))
        }
        None => {
            let proxy = hudsucker::Proxy::builder()
                .with_listener(listener)
                .with_ca(Authority(ca))
                .with_http_connector(connector)
                .with_client(client_builder)
                .with_http_handler(Handler::new(shared))
                .with_server(limits::server_builder(cfg.header_timeout))
                .with_websocket_connector(hudsucker::tokio_tungstenite::Connector::Rustls(
                    Arc::new(client_cfg),
                ))
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .build()?
                .with_first_byte_timeout(cfg.header_timeout);
            tokio::spawn(async move {
                if let Err(e) = proxy.start().await {
                    tracing::error!("proxy stopped: {e}");
                }
            })
        }
    };
    let (drain_tx, drain_rx) = oneshot::channel::<()>();
    let unstored_max = cfg.unstored_max;
    // The recorder runs on a thread of its own, so that storing and the live
    // log never take a worker away from forwarding traffic.
    let (done_tx, recorder_done) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("oauthscope-recorder".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
            {
                Ok(rt) => {
                    let live = observer.and_then(|obs| live_thread(store.clone(), obs));
                    let (live_tx, live_join) = match live {
                        Some((tx, join)) => (Some(tx), Some(join)),
                        None => (None, None),
                    };
                    rt.block_on(record_loop(rx, drain_rx, store, live_tx, unstored_max));
                    // The live log shows what was stored before `run` says it stopped.
                    if let Some(join) = live_join {
                        let _ = join.join();
                    }
                }
                Err(e) => tracing::error!("cannot start the recorder: {e}"),
            }
            let _ = done_tx.send(());
        })
        .map_err(ProxyError::Recorder)?;
    Ok(RunningProxy {
        addr,
        shutdown: Some(stop_tx),
        drain: Some(drain_tx),
        proxy,
        backpressure,
        recorder_done,
    })
}

/// Most finished exchanges waiting for the recorder (and responses in flight
/// that hold a place for theirs). When it is full, a recorded response waits
/// for a place before it goes back to the app (backpressure): the proxy
/// never drops a record, memory stays bounded however long a burst lasts,
/// and the app is slowed only while the recorder is this far behind.
/// Non-OAuth traffic, which is not recorded, never waits.
pub const RECORD_QUEUE: usize = 4096;

/// Counts of responses that waited for room in the recorder's queue.
#[derive(Debug, Clone, Default)]
pub struct Backpressure(Arc<BackpressureCounts>);

#[derive(Debug, Default)]
struct BackpressureCounts {
    waits: std::sync::atomic::AtomicU64,
    micros: std::sync::atomic::AtomicU64,
}

impl Backpressure {
    fn waited(&self, d: std::time::Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        self.0.waits.fetch_add(1, Relaxed);
        self.0
            .micros
            .fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// How many responses waited, and how long in all.
    pub fn totals(&self) -> (u64, std::time::Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.0.waits.load(Relaxed),
            std::time::Duration::from_micros(self.0.micros.load(Relaxed)),
        )
    }
}

/// Live lines waiting to be shown; past this many the oldest waiting ones
/// are not shown (the records are stored all the same).
const LIVE_QUEUE: usize = 4096;

/// The thread that calls the observer (the live log) with each stored
/// record, so that showing, however slow, never delays storing and flushing.
fn live_thread(
    store: Arc<Store>,
    observer: Observer,
) -> Option<(
    std::sync::mpsc::SyncSender<Record>,
    std::thread::JoinHandle<()>,
)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Record>(LIVE_QUEUE);
    let join = std::thread::Builder::new()
        .name("oauthscope-live".into())
        .spawn(move || {
            for rec in rx {
                // A bug in the live view must not stop it.
                let shown = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    observer(&store, &rec)
                }));
                if shown.is_err() {
                    tracing::error!("showing exchange {} failed (a bug); it is stored", rec.id);
                }
            }
        })
        .map_err(|e| tracing::error!("cannot start the live log: {e}"))
        .ok()?;
    Some((tx, join))
}

/// Most exchanges stored between two flushes when traffic is heavy.
const BATCH: usize = 256;

/// Flushes are at least this far apart: a sled flush costs a disk sync
/// (about 0.2 ms here), so under load exchanges are stored at once and made
/// durable together, at most this long after they completed.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(5);

/// First wait before writing again after a failed write; doubles up to
/// [`RETRY_MAX`].
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(100);

/// Longest wait between two attempts to write again.
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(2);

/// Default memory for exchanges waiting while the store cannot write
/// ([`ProxyConfig::unstored_max`]).
pub const UNSTORED_MAX: usize = 64 * 1024 * 1024;

/// Approximate memory of a record (its bodies, URL and headers).
fn weight(r: &Record) -> usize {
    let headers = |h: &crate::record::HeaderList| -> usize {
        h.0.iter().map(|(n, v)| n.len() + v.len() + 16).sum()
    };
    512 + r.request.url.len()
        + r.request.body.text.len()
        + headers(&r.request.headers)
        + r.response
            .as_ref()
            .map_or(0, |resp| resp.body.text.len() + headers(&resp.headers))
}

/// What the recorder holds back from the store: exchanges written since
/// the last good flush (sled may lose them if a write fails before the
/// next flush, so they are written again after reopening) and exchanges
/// not written at all while writes fail, within a memory budget; past it,
/// the oldest waiting exchange is dropped and counted lost.
struct Backlog {
    /// Written since the last successful flush.
    unflushed: Vec<Record>,
    /// Not written (writes fail), oldest first; true for those written
    /// before a failed flush (sled may have kept them).
    waiting: std::collections::VecDeque<(Record, bool)>,
    /// Ids of exchanges counted lost that sled may have kept all the same
    /// (written before a failed flush): checked after reopening.
    maybe_kept: Vec<String>,
    waiting_bytes: usize,
    budget: usize,
    /// Writes fail: retry at this time.
    retry_at: Option<tokio::time::Instant>,
    backoff: std::time::Duration,
    error: String,
}

impl Backlog {
    fn new(budget: usize) -> Backlog {
        Backlog {
            unflushed: Vec::new(),
            waiting: std::collections::VecDeque::new(),
            maybe_kept: Vec::new(),
            waiting_bytes: 0,
            budget,
            retry_at: None,
            backoff: RETRY_FIRST,
            error: String::new(),
        }
    }

    fn failing(&self) -> bool {
        self.retry_at.is_some()
    }

    /// Hold `rec` until writes work again (dropping the oldest past the budget).
    fn wait(&mut self, rec: Record, store: &Store) {
        self.waiting_bytes += weight(&rec);
        self.waiting.push_back((rec, false));
        while self.waiting_bytes > self.budget && self.waiting.len() > 1 {
            if let Some((old, written)) = self.waiting.pop_front() {
                self.waiting_bytes -= weight(&old).min(self.waiting_bytes);
                store.health_counts().lose(1);
                if written {
                    self.maybe_kept.push(old.id.clone());
                }
                tracing::debug!("exchange {} lost: the store cannot write", old.id);
            }
        }
        store
            .health_counts()
            .failing(&self.error, self.waiting.len() as u64);
    }

    /// A write or flush failed: what was written since the last good flush
    /// waits too, and writing is retried after a pause.
    fn fail(&mut self, e: &crate::store::StoreError, store: &Store) {
        let first = !self.failing();
        self.error = short_error(e);
        tracing::debug!("store write failed: {e}");
        if first {
            tracing::error!(
                "the store cannot write ({}); exchanges are kept in memory (up to {} MiB) and written when it can",
                self.error,
                self.budget / (1024 * 1024)
            );
        }
        let unflushed = std::mem::take(&mut self.unflushed);
        for (i, rec) in unflushed.into_iter().enumerate() {
            self.waiting_bytes += weight(&rec);
            self.waiting.insert(i, (rec, true));
        }
        self.retry_at = Some(tokio::time::Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(RETRY_MAX);
        let waiting = self.waiting.len() as u64;
        store.health_counts().failing(&self.error, waiting);
    }

    /// Reopen the store and write what waits; true when it all went.
    fn retry(&mut self, store: &Store) -> bool {
        // Only a write sled itself failed needs sled started again; a write
        // refused for lack of room never reached it.
        if store.is_wedged() {
            if let Err(e) = store.reopen() {
                self.fail(&e, store);
                return false;
            }
        }
        // Exchanges counted lost that sled kept after all are not lost.
        for id in std::mem::take(&mut self.maybe_kept) {
            if store.get(&id).is_ok() {
                store.health_counts().unlose(1);
            }
        }
        while let Some((mut rec, was_written)) = self.waiting.pop_front() {
            let written = if rec.flow.is_some() {
                store.insert(&rec)
            } else {
                store.insert_new(&mut rec)
            };
            match written {
                Ok(()) => {
                    self.waiting_bytes -= weight(&rec).min(self.waiting_bytes);
                    self.unflushed.push(rec);
                }
                Err(e) => {
                    self.waiting.push_front((rec, was_written));
                    self.fail(&e, store);
                    return false;
                }
            }
        }
        match store.flush() {
            Ok(()) => {
                let stored = self.unflushed.len();
                self.unflushed.clear();
                self.retry_at = None;
                self.backoff = RETRY_FIRST;
                self.waiting_bytes = 0;
                store.health_counts().recovered();
                if store.health_counts().lost_total() > 0 {
                    if let Err(e) = store.persist_lost().and_then(|()| store.flush()) {
                        tracing::debug!("cannot note the lost exchanges in the store: {e}");
                    }
                }
                tracing::warn!(
                    "the store writes again: {stored} waiting exchanges stored, {} lost",
                    store.health_counts().lost()
                );
                true
            }
            Err(e) => {
                self.fail(&e, store);
                false
            }
        }
    }
}

/// The innermost cause of a store error, e.g. "No space left on device (os error 28)".
fn short_error(e: &crate::store::StoreError) -> String {
    let mut msg = e.to_string();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    msg.trim_start_matches("IO error: ").to_string()
}

/// Store each finished exchange: find its flow through the store's indexes,
/// insert, tell the observer, and flush. Whatever queued up meanwhile is
/// stored as one batch, and flushes are coalesced (see [`FLUSH_EVERY`]), so
/// a burst of token requests costs a few disk syncs, not one each. Failures
/// are never fatal: while the store cannot write (a full disk), exchanges
/// wait in memory ([`Backlog`]) and writing is retried with a growing pause
/// (sled is reopened: after a failed write it refuses every later one);
/// exchanges past the memory budget, or still waiting at the end, are
/// counted lost in the store's [`crate::store::Health`]. When `drain` fires,
/// stores what is already queued, flushes and stops.
async fn record_loop(
    mut rx: mpsc::Receiver<Record>,
    mut drain: oneshot::Receiver<()>,
    store: Arc<Store>,
    live: Option<std::sync::mpsc::SyncSender<Record>>,
    budget: usize,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut backlog = Backlog::new(budget);
    let mut last_flush = tokio::time::Instant::now();
    let mut dirty = false;
    // A proxy dropped without `shutdown` drops the drain sender: keep
    // recording until the handlers are gone instead of stopping.
    let mut drain_open = true;
    loop {
        let due = last_flush + FLUSH_EVERY;
        let retry_at = backlog.retry_at;
        let last = tokio::select! {
            rec = rx.recv() => match rec {
                Some(rec) => {
                    batch.push(rec);
                    false
                }
                None => break,
            },
            signal = &mut drain, if drain_open => match signal {
                Ok(()) => {
                    // Store what is queued now, not what keeps arriving:
                    // under load the queue would never run dry.
                    rx.close();
                    true
                }
                Err(_) => {
                    drain_open = false;
                    continue;
                }
            },
            _ = tokio::time::sleep_until(due), if dirty && retry_at.is_none() => {
                flush(&store, &mut backlog).await;
                last_flush = tokio::time::Instant::now();
                dirty = false;
                continue;
            }
            _ = tokio::time::sleep_until(retry_at.unwrap_or(due)), if retry_at.is_some() => {
                backlog.retry(&store);
                dirty = false;
                continue;
            }
        };
        while batch.len() < BATCH || last {
            match rx.try_recv() {
                Ok(rec) => batch.push(rec),
                Err(_) => break,
            }
        }
        dirty |= store_batch(&mut batch, &store, live.as_ref(), &mut backlog);
        if last {
            break;
        }
        if dirty && !backlog.failing() && last_flush.elapsed() >= FLUSH_EVERY {
            flush(&store, &mut backlog).await;
            last_flush = tokio::time::Instant::now();
            dirty = false;
        }
    }
    if backlog.failing() {
        // One last attempt (the disk may have room again), then what still
        // waits is lost, and says so.
        backlog.retry(&store);
    } else {
        flush(&store, &mut backlog).await;
        if backlog.failing() {
            backlog.retry(&store);
        }
    }
    let left = backlog.waiting.len() as u64;
    if left > 0 {
        store.health_counts().lose(left);
        store.health_counts().failing(&backlog.error, 0);
        tracing::error!(
            "{left} exchanges could not be stored before stopping ({})",
            backlog.error
        );
    }
}

async fn flush(store: &Store, backlog: &mut Backlog) {
    match store.flush_async().await {
        Ok(()) => backlog.unflushed.clear(),
        Err(e) => backlog.fail(&e, store),
    }
}

/// Store a batch of exchanges (see [`record_loop`]) and pass them to the
/// live log; true when anything was stored (and so needs a flush).
fn store_batch(
    batch: &mut Vec<Record>,
    store: &Store,
    live: Option<&std::sync::mpsc::SyncSender<Record>>,
    backlog: &mut Backlog,
) -> bool {
    let mut stored = false;
    for mut rec in batch.drain(..) {
        if backlog.failing() {
            backlog.wait(rec, store);
            continue;
        }
        match store.insert_new(&mut rec) {
            Ok(()) => {
                stored = true;
                backlog.unflushed.push(rec.clone());
                if let Some(live) = live {
                    if let Err(std::sync::mpsc::TrySendError::Full(rec)) = live.try_send(rec) {
                        tracing::debug!(
                            "live log behind; exchange {} not shown (it is stored)",
                            rec.id
                        );
                    }
                }
            }
            Err(e) => {
                backlog.fail(&e, store);
                backlog.wait(rec, store);
            }
        }
    }
    stored
}

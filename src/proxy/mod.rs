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
                    rt.block_on(record_loop(rx, drain_rx, store, live_tx));
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

/// Store each finished exchange: find its flow through the store's indexes,
/// insert, tell the observer, and flush. Whatever queued up meanwhile is
/// stored as one batch, and flushes are coalesced (see [`FLUSH_EVERY`]), so
/// a burst of token requests costs a few disk syncs, not one each. Failures
/// are logged, never fatal. When `drain` fires, stores what is already
/// queued, flushes and stops.
async fn record_loop(
    mut rx: mpsc::Receiver<Record>,
    mut drain: oneshot::Receiver<()>,
    store: Arc<Store>,
    live: Option<std::sync::mpsc::SyncSender<Record>>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_flush = tokio::time::Instant::now();
    let mut dirty = false;
    // A proxy dropped without `shutdown` drops the drain sender: keep
    // recording until the handlers are gone instead of stopping.
    let mut drain_open = true;
    loop {
        let due = last_flush + FLUSH_EVERY;
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
            _ = tokio::time::sleep_until(due), if dirty => {
                flush(&store).await;
                last_flush = tokio::time::Instant::now();
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
        dirty |= store_batch(&mut batch, &store, live.as_ref());
        if last {
            break;
        }
        if dirty && last_flush.elapsed() >= FLUSH_EVERY {
            flush(&store).await;
            last_flush = tokio::time::Instant::now();
            dirty = false;
        }
    }
    flush(&store).await;
}

async fn flush(store: &Store) {
    if let Err(e) = store.flush_async().await {
        tracing::error!("could not flush the store: {e}");
    }
}

/// Store a batch of exchanges (see [`record_loop`]) and pass them to the
/// live log; true when anything was stored (and so needs a flush).
fn store_batch(
    batch: &mut Vec<Record>,
    store: &Store,
    live: Option<&std::sync::mpsc::SyncSender<Record>>,
) -> bool {
    let mut stored = false;
    for mut rec in batch.drain(..) {
        match store.insert_new(&mut rec) {
            Ok(()) => {
                stored = true;
                if let Some(live) = live {
                    if let Err(std::sync::mpsc::TrySendError::Full(rec)) = live.try_send(rec) {
                        tracing::debug!(
                            "live log behind; exchange {} not shown (it is stored)",
                            rec.id
                        );
                    }
                }
            }
            Err(e) => tracing::error!("could not store exchange {}: {e}", rec.id),
        }
    }
    stored
}

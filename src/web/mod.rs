//! The web UI: the capture in a browser, live.
//!
//! Served by `oauthscope run` on `127.0.0.1:8081` (see [`crate::session`]),
//! and by `oauthscope ui` for a stored capture or a HAR file (read-only).
//!
//! Routes (axum):
//! - `GET /` the live list grouped by login; `GET /exchanges/{id}` one
//!   exchange; `GET /flows/{flow}` one login as an SVG sequence picture;
//!   `GET /flows/{flow}/compare[?with=FLOW]` "compare with...": the other
//!   logins to pick from, or the two logins side by side (as `oauthscope diff`);
//!   `GET /explain/{code}` a catalog entry;
//! - `GET /api/records?before=&limit=&q=&kind=&host=&severity=&flow=` a page
//!   of summaries, newest first ([`data::Page`]); `GET /api/events`
//!   server-sent events, one `record` event per stored exchange;
//! - `GET /export?format=har|md|json[&flow=|&ids=ID,ID…]` a redacted export
//!   of the capture, a login or a selection (the code of `oauthscope
//!   export`); `POST /api/clear[?flow=]` clears the capture;
//!   `POST /api/login-code` mints a one-time login code ([`LoginCodes`]);
//! - `GET /assets/{file}` the embedded CSS and JavaScript.
//!
//! Every request passes [`guard`]: its `Host` must be a loopback name of the
//! UI (DNS rebinding), it must carry the per-run token (`?token=` once, or a
//! one-time `?code=`, then an HttpOnly SameSite=Strict cookie), and
//! state-changing requests must come with a same-origin `Origin`.

pub mod assets;
pub mod compare;
pub mod cookies;
pub mod data;
pub mod flow;
pub mod guard;
pub mod html;
pub mod page;
pub mod routes;

use crate::analyze::AnalyzeOptions;
use crate::record::Record;
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub use data::Source;

/// How to serve the UI.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Listen address (port 0 picks one). Non-loopback addresses are the
    /// caller's decision (`run` demands `--allow-remote`).
    pub addr: SocketAddr,
    /// Refuse clearing (a HAR file, or a capture served by `oauthscope ui`).
    pub read_only: bool,
    /// Options of the analysis shown (registered redirect URIs).
    pub analyze: AnalyzeOptions,
    /// How long a browser may take to send a request head, and its first
    /// byte on a new connection; silent or slower connections are closed.
    pub header_timeout: std::time::Duration,
    /// The token to require (32 hex digits); `None`: a new random one.
    /// `run` passes [`persistent_token`], so a page left open reconnects
    /// after the proxy restarts on the same port.
    pub token: Option<String>,
}

/// The UI token kept in `dir/web-token` (mode 0600), created on first use:
/// 32 hex digits (128 random bits). Kept across runs so that an open page's
/// cookie stays valid when the proxy restarts; delete the file to change it.
///
/// # Errors
/// The file cannot be read or written.
pub fn persistent_token(dir: &std::path::Path) -> std::io::Result<String> {
    let path = dir.join("web-token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim();
        if t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(t.to_ascii_lowercase());
        }
    }
    let token = hex::encode(rand::random::<[u8; 16]>());
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("web-token.{}", std::process::id()));
    {
        use std::io::Write as _;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&tmp)?
            .write_all(format!("{token}\n").as_bytes())?;
    }
    crate::home::make_private(&tmp);
    std::fs::rename(&tmp, &path)?;
    Ok(token)
}

/// Default [`WebConfig::header_timeout`].
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Errors starting the UI.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The address could not be bound.
    #[error("cannot serve the web UI on {addr}: {source} (pick another with --web 127.0.0.1:PORT, or --no-web)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The live feed: the recorder publishes each stored exchange, every open
/// `/api/events` stream receives it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Live(broadcast::Sender<String>);

impl Default for Live {
    fn default() -> Self {
        Live(broadcast::channel(1024).0)
    }
}

impl Live {
    /// Announce a stored record (`{"id":..., "flow":...}`); never blocks.
    pub fn publish(&self, rec: &Record) {
        if self.0.receiver_count() > 0 {
            let msg = serde_json::json!({ "id": rec.id, "flow": rec.flow }).to_string();
            let _ = self.0.send(msg);
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<String> {
        self.0.subscribe()
    }
}

/// One-time login codes, so the real token never appears on a command
/// line (a browser started with a URL shows it in `ps` to every local
/// user): `oauthscope ui` opens `/?code=CODE`, and [`guard`] trades a code
/// once, within [`LoginCodes::TTL`], for the token's cookie. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LoginCodes(Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>);

impl LoginCodes {
    /// How long a code stays valid (long enough to paste a `--print`ed URL).
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(120);
    /// Most codes outstanding at once (the oldest are dropped).
    const MAX: usize = 64;

    /// A new random code (32 hex digits), valid once for [`Self::TTL`].
    pub fn mint(&self) -> String {
        let code = hex::encode(rand::random::<[u8; 16]>());
        let now = std::time::Instant::now();
        let mut codes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        codes.retain(|_, at| now.duration_since(*at) < Self::TTL);
        while codes.len() >= Self::MAX {
            let oldest = codes
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(c, _)| c.clone());
            match oldest {
                Some(c) => codes.remove(&c),
                None => break,
            };
        }
        codes.insert(code.clone(), now);
        code
    }

    /// Use up `code`: true when it was minted here, not used before, and
    /// is younger than [`Self::TTL`].
    pub fn redeem(&self, code: &str) -> bool {
        let mut codes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        codes
            .remove(code)
            .is_some_and(|at| at.elapsed() < Self::TTL)
    }
}

/// State shared by the handlers.
#[derive(Clone)]
pub struct AppState {
    /// Where the records come from.
    pub source: Source,
    /// Settings.
    pub cfg: Arc<WebConfig>,
    /// The per-run token.
    pub token: Arc<String>,
    /// `Host` values the UI answers to (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`).
    pub hosts: Arc<Vec<String>>,
    /// The cookie that carries the token (named after the port: cookies ignore ports).
    pub cookie: Arc<String>,
    /// The live feed.
    pub live: Live,
    /// Flips to true when the UI stops (ends the event streams).
    pub stopping: watch::Receiver<bool>,
    /// One-time login codes (`?code=`).
    pub codes: LoginCodes,
}

/// A UI being served on the current runtime.
#[derive(Debug)]
pub struct RunningWeb {
    /// The bound address.
    pub addr: SocketAddr,
    /// The per-run token (32 hex digits).
    pub token: String,
    codes: LoginCodes,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningWeb {
    /// The URL to open: `http://127.0.0.1:PORT/?token=...` (the bound
    /// address; an unspecified address is shown as 127.0.0.1).
    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.host(), self.token)
    }

    /// A URL that logs a browser in once: `http://127.0.0.1:PORT/?code=...`
    /// with a fresh one-time code ([`LoginCodes`]); what `oauthscope ui`
    /// opens, so the token itself is never on a command line.
    pub fn login_url(&self) -> String {
        format!("http://{}/?code={}", self.host(), self.codes.mint())
    }

    fn host(&self) -> String {
        match self.addr {
            SocketAddr::V4(a) if a.ip().is_unspecified() => format!("127.0.0.1:{}", a.port()),
            SocketAddr::V6(a) if a.ip().is_unspecified() => format!("[::1]:{}", a.port()),
            a => a.to_string(),
        }
    }

    /// Stop serving: event streams end, open requests get a short grace period.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let grace = std::time::Duration::from_secs(2);
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            self.task.abort();
        }
    }

    /// Serve until the process is stopped (Ctrl-C), for `oauthscope ui`.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// The `Host` values a UI bound to `addr` answers to.
pub fn allowed_hosts(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut hosts = vec![
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ];
    if !addr.ip().is_loopback() && !addr.ip().is_unspecified() {
        hosts.push(addr.to_string());
    }
    hosts
}

/// Bind `cfg.addr` and serve the UI for `source`; `live` (when the source
/// is being recorded into) feeds `/api/events`.
pub async fn start(
    cfg: WebConfig,
    source: Source,
    live: Option<Live>,
) -> Result<RunningWeb, WebError> {
    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .map_err(|source| WebError::Bind {
            addr: cfg.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| WebError::Bind {
        addr: cfg.addr,
        source,
    })?;
    let token = cfg
        .token
        .clone()
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let (stop, stopping) = watch::channel(false);
    let header_timeout = cfg.header_timeout;
    let state = AppState {
        source,
        cfg: Arc::new(cfg),
        token: Arc::new(token.clone()),
        hosts: Arc::new(allowed_hosts(addr)),
        cookie: Arc::new(format!("oauthscope_ui_{}", addr.port())),
        live: live.unwrap_or_default(),
        stopping: stopping.clone(),
        codes: LoginCodes::default(),
    };
    let codes = state.codes.clone();
    let app = routes::router(state);
    let task = tokio::spawn(serve(listener, app, stopping, header_timeout));
    Ok(RunningWeb {
        addr,
        token,
        codes,
        stop,
        task,
    })
}

/// Accept connections until `stopping` turns true, then let open ones
/// finish. Unlike `axum::serve`, a connection must send its first byte and
/// then each request head within `header_timeout` (hyper-util's protocol
/// detection and axum wait forever), so silent clients cannot pile up.
async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut stopping: watch::Receiver<bool>,
    header_timeout: std::time::Duration,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!("web UI accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = async { let _ = stopping.wait_for(|s| *s).await; } => break,
        };
        // Reap finished connections as we go.
        while conns.try_join_next().is_some() {}
        let (builder, app, mut stop) = (builder.clone(), app.clone(), stopping.clone());
        conns.spawn(async move {
            let mut first = [0u8; 1];
            match tokio::time::timeout(header_timeout, tcp.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return, // silent past the deadline, closed, or failed
            }
            let svc = hyper_util::service::TowerToHyperService::new(app);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), svc);
            let mut conn = std::pin::pin!(conn);
            let done = tokio::select! {
                r = conn.as_mut() => r,
                _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = done {
                tracing::debug!("web UI connection ended: {e}");
            }
        });
    }
    while conns.join_next().await.is_some() {}
}

/// Serve records that are not being recorded (a HAR file's analysis):
/// read-only, no live feed.
pub async fn serve_records(
    addr: SocketAddr,
    records: Vec<Record>,
    analyze: AnalyzeOptions,
) -> Result<RunningWeb, WebError> {
    start(
        WebConfig {
            addr,
            read_only: true,
            analyze: analyze.clone(),
            header_timeout: HEADER_TIMEOUT,
            token: None,
        },
        Source::records(records, &analyze),
        None,
    )
    .await
}

/// Serve a store read-only (`oauthscope ui` when no proxy runs).
pub async fn serve_store(
    addr: SocketAddr,
    store: Arc<Store>,
    analyze: AnalyzeOptions,
) -> Result<RunningWeb, WebError> {
    start(
        WebConfig {
            addr,
            read_only: true,
            analyze,
            header_timeout: HEADER_TIMEOUT,
            token: None,
        },
        Source::Store(store),
        None,
    )
    .await
}

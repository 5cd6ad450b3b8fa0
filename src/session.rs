//! One way to start oauthscope: the CA, the store, the proxy with its
//! recorder, the loopback API and the web UI, in that order, announced in
//! `HOME/proxy.json`; and stopped in the reverse order.
//!
//! The proxy is a forward proxy, or in reverse mode (`run --reverse`, and
//! `mock`, which records what it receives through it) forwards everything
//! to one upstream; the rest of the session is the same.
//!
//! `run`, `demo` (through [`crate::mock::rig`]), the examples and the tests
//! all start through [`Session::start`], so what they exercise is what users run.
//!
//! Start order: CA (created on first use) → store (sled; fails with
//! [`StoreError::Locked`] when another process holds it) → proxy and its
//! recorder → loopback API (ephemeral port) → web UI (when asked) →
//! `proxy.json` (mode 0600, with the API token and `web_url`).
//! [`Session::shutdown`] stops the web UI and the API, lets the proxy finish
//! open exchanges and store them, removes `proxy.json` and flushes the store.

use crate::analyze::AnalyzeOptions;
use crate::api::{self, ApiError, ProxyState};
use crate::ca::{CaError, LocalCa};
use crate::home::Home;
use crate::proxy::{self, Observer, ProxyConfig, ProxyError, RunningProxy};
use crate::record::Record;
use crate::store::{Store, StoreError};
use crate::web::{self, RunningWeb, Source, WebConfig, WebError};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// What to start.
#[derive(Clone)]
pub struct SessionConfig {
    /// The data directory (CA, store, `proxy.json`).
    pub home: Home,
    /// The proxy's settings (listen address, intercepted hosts, upstream trust, body limit).
    pub proxy: ProxyConfig,
    /// Where the web UI listens (`127.0.0.1:8081` for `run`; port 0 picks
    /// one); `None`: no web UI.
    pub web: Option<SocketAddr>,
    /// Options for the analysis the web UI shows (registered redirect URIs).
    pub analyze: AnalyzeOptions,
    /// Called after each exchange is stored (the live log of `run`).
    pub observer: Option<Observer>,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("home", &self.home)
            .field("proxy", &self.proxy)
            .field("web", &self.web)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl SessionConfig {
    /// A session in `home` with the proxy and the web UI on free loopback
    /// ports (tests, the demo and the examples).
    pub fn ephemeral(home: Home) -> SessionConfig {
        SessionConfig {
            home,
            proxy: ProxyConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                ..ProxyConfig::default()
            },
            web: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            analyze: AnalyzeOptions::default(),
            observer: None,
        }
    }
}

/// Errors starting a session; each names the part that failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The CA could not be loaded or created.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// The store could not be opened (see [`StoreError::Locked`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The proxy did not start (see [`ProxyError::Bind`]).
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// The loopback API could not bind.
    #[error("binding the loopback API: {0}")]
    Api(std::io::Error),
    /// The web UI did not start.
    #[error(transparent)]
    Web(#[from] WebError),
    /// `proxy.json` could not be written.
    #[error(transparent)]
    State(#[from] ApiError),
}

/// A running oauthscope: proxy, recorder, API and (optionally) web UI.
pub struct Session {
    /// The data directory.
    pub home: Home,
    /// The CA the proxy issues leaves from.
    pub ca: Arc<LocalCa>,
    /// True when this start created the CA.
    pub ca_created: bool,
    /// The capture store.
    pub store: Arc<Store>,
    /// What `proxy.json` says (proxy and API address, API token, web URL).
    pub state: ProxyState,
    /// Reverse mode's settings, when the proxy runs in it.
    pub reverse: Option<crate::proxy::reverse::ReverseConfig>,
    proxy: RunningProxy,
    api: JoinHandle<()>,
    web: Option<RunningWeb>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("home", &self.home)
            .field("state", &self.state)
            .finish()
    }
}

impl Session {
    /// Start everything in order (see the module docs) on the current tokio runtime.
    pub async fn start(cfg: SessionConfig) -> Result<Session, SessionError> {
        let (ca, ca_created) = LocalCa::load_or_create(&cfg.home)?;
        let ca = Arc::new(ca);
        let store = Arc::new(Store::open(&cfg.home.store_dir())?);
        let live = web::Live::default();
        let observer = chain(cfg.observer.clone(), live.clone());
        let proxy =
            proxy::start(cfg.proxy.clone(), ca.clone(), store.clone(), Some(observer)).await?;
        let api_listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
            Ok(l) => l,
            Err(e) => {
                proxy.shutdown().await;
                return Err(SessionError::Api(e));
            }
        };
        let api_addr = api_listener.local_addr().map_err(SessionError::Api)?;
        let mut state = ProxyState::new(proxy.addr, api_addr);
        state.reverse = cfg.proxy.reverse.as_ref().map(|r| r.upstream.to_string());
        state.registered_redirects = cfg.analyze.registered_redirects.clone();
        let api = tokio::spawn(api::serve(store.clone(), api_listener, state.token.clone()));
        let web = match cfg.web {
            None => None,
            Some(addr) => {
                let started = web::start(
                    WebConfig {
                        addr,
                        read_only: false,
                        analyze: cfg.analyze.clone(),
                        header_timeout: cfg.proxy.header_timeout,
                        // Kept across runs: an open page reconnects after a restart.
                        token: web::persistent_token(cfg.home.root()).ok(),
                    },
                    Source::Store(store.clone()),
                    Some(live),
                )
                .await;
                match started {
                    Ok(w) => Some(w),
                    Err(e) => {
                        api.abort();
                        proxy.shutdown().await;
                        return Err(e.into());
                    }
                }
            }
        };
        state.web_url = web.as_ref().map(RunningWeb::url);
        if let Err(e) = state.write(&cfg.home) {
            if let Some(w) = web {
                w.shutdown().await;
            }
            api.abort();
            proxy.shutdown().await;
            return Err(e.into());
        }
        // The web URL carries the UI's token: logged without it.
        let web_logged = state.web_url.as_deref().map(crate::redact::url_for_log);
        tracing::info!(proxy = %proxy.addr, api = %api_addr, web = ?web_logged, "session started");
        Ok(Session {
            home: cfg.home,
            ca,
            ca_created,
            store,
            state,
            reverse: cfg.proxy.reverse.clone(),
            proxy,
            api,
            web,
        })
    }

    /// The proxy's address.
    pub fn proxy_addr(&self) -> SocketAddr {
        self.proxy.addr
    }

    /// The proxy's URL (`http://127.0.0.1:PORT`), for `HTTPS_PROXY`.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.proxy.addr)
    }

    /// In reverse mode, the URLs that reach the listener: `http://` and
    /// `https://` (one port answers both) for each name its certificate
    /// holds, e.g. `https://127.0.0.1:8080`; empty for a forward proxy.
    pub fn reverse_urls(&self) -> Vec<String> {
        let Some(rev) = &self.reverse else {
            return Vec::new();
        };
        let port = self.proxy.addr.port();
        let mut urls = Vec::new();
        for name in rev.certificate_names(self.proxy.addr) {
            let host = if name.contains(':') {
                format!("[{name}]")
            } else {
                name
            };
            urls.push(format!("http://{host}:{port}"));
            urls.push(format!("https://{host}:{port}"));
        }
        urls
    }

    /// The web UI's address, when it runs.
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web.as_ref().map(|w| w.addr)
    }

    /// The web UI's URL with its token (`http://127.0.0.1:8081/?token=...`), when it runs.
    pub fn web_url(&self) -> Option<String> {
        self.state.web_url.clone()
    }

    /// The web UI's per-run token, when it runs.
    pub fn web_token(&self) -> Option<String> {
        self.web.as_ref().map(|w| w.token.clone())
    }

    /// Stop in order: web UI, API, proxy (open exchanges finish and are
    /// stored), `proxy.json`, then a last flush of the store.
    pub async fn shutdown(self) -> Result<(), StoreError> {
        if let Some(w) = self.web {
            w.shutdown().await;
        }
        self.api.abort();
        let _ = self.api.await;
        self.proxy.shutdown().await;
        self.state.remove(&self.home);
        self.store.flush_async().await
    }
}

/// The caller's observer, then the web UI's live feed.
fn chain(first: Option<Observer>, live: web::Live) -> Observer {
    Arc::new(move |store: &Store, rec: &Record| {
        if let Some(f) = &first {
            f(store, rec);
        }
        live.publish(rec);
    })
}

//! The mock keeps history: what `oauthscope mock` receives is stored in its
//! data directory's store and annotated like proxied traffic.
//!
//! The mock binds an internal loopback port; on the port its clients use
//! runs a whole [`Session`] in reverse mode in front of it (store, recorder,
//! loopback API, web UI on a free port and `proxy.json`), so `flows list --home H` reaches the
//! records while the mock runs (through the API, as with `run`) and after
//! it stopped (the store). Records carry the URLs the clients used
//! ([`ReverseConfig::record_client_url`]), and the port answers plain HTTP
//! and HTTPS (a certificate from the data directory's CA).

use super::{MockConfig, MockError, RunningMock};
use crate::home::Home;
use crate::proxy::reverse::ReverseConfig;
use crate::proxy::{Observer, ProxyConfig};
use crate::session::{Session, SessionConfig, SessionError};
use crate::store::StoreError;

/// Errors starting a mock that keeps history.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The internal port could not be bound.
    #[error("binding the mock's internal port: {0}")]
    Bind(std::io::Error),
    /// The recording front (CA, store, listener, API) did not start; see
    /// [`SessionError`] (a store held by another process is
    /// [`StoreError::Locked`]).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The mock itself did not start.
    #[error(transparent)]
    Mock(#[from] MockError),
}

/// A mock provider behind its recording front.
pub struct RecordedMock {
    /// The mock (its `issuer()` is the front's URL).
    pub mock: RunningMock,
    /// The session that records what reaches the mock.
    pub session: Session,
}

impl RecordedMock {
    /// Start the mock on an internal port and the recording front on
    /// `cfg.listen`, in `home`. `https`: the issuer (discovery, `iss`) says
    /// `https://` (the front answers both schemes either way). `cfg.tls` is
    /// not used: the front does TLS.
    pub async fn start(
        cfg: MockConfig,
        home: Home,
        https: bool,
        observer: Option<Observer>,
    ) -> Result<RecordedMock, HistoryError> {
        let internal = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(HistoryError::Bind)?;
        let internal_addr = internal.local_addr().map_err(HistoryError::Bind)?;
        let upstream = url::Url::parse(&format!("http://{internal_addr}"))
            .expect("a socket address makes a URL");
        let mut reverse = ReverseConfig::new(upstream);
        reverse.record_client_url = true;
        reverse.hosts = cfg.public_host.iter().cloned().collect();
        let session = Session::start(SessionConfig {
            home,
            proxy: ProxyConfig {
                listen: cfg.listen,
                reverse: Some(reverse),
                ..ProxyConfig::default()
            },
            // On a free port: `oauthscope ui --home H` finds it in proxy.json.
            web: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
            analyze: Default::default(),
            observer,
        })
        .await?;
        let front = session.proxy_addr();
        let host = cfg.public_host.clone().unwrap_or_else(|| match front.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        });
        let scheme = if https { "https" } else { "http" };
        let mock_cfg = MockConfig {
            issuer: Some(format!("{scheme}://{host}:{}", front.port())),
            tls: None,
            ..cfg
        };
        match super::start_on(internal, mock_cfg).await {
            Ok(mock) => Ok(RecordedMock { mock, session }),
            Err(e) => {
                let _ = session.shutdown().await;
                Err(e.into())
            }
        }
    }

    /// Stop the front first (open exchanges finish and are stored, the
    /// store is flushed, `proxy.json` removed), then the mock.
    pub async fn shutdown(self) -> Result<(), StoreError> {
        let stored = self.session.shutdown().await;
        self.mock.shutdown().await;
        stored
    }
}

//! A whole oauthscope set-up in one process, for the demo and the examples:
//! a throw-away data directory with its own CA and store, and the real proxy
//! on a free loopback port. Mock providers get HTTPS certificates from the
//! rig's CA ([`Rig::tls_for`]); scripted clients send through the proxy and
//! trust that CA ([`Rig::client`]), so what gets shown is what the proxy
//! captured.

use super::script::ScriptedClient;
use super::MockError;
use crate::analyze::{analyze, AnalyzeOptions};
use crate::ca::{CaError, LocalCa};
use crate::home::Home;
use crate::proxy::{self, ProxyConfig, ProxyError, RunningProxy};
use crate::record::Record;
use crate::store::{Query, Store, StoreError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Errors setting up or reading a [`Rig`].
#[derive(Debug, thiserror::Error)]
pub enum RigError {
    /// The throw-away data directory could not be created.
    #[error("creating a temporary data directory: {0}")]
    TempDir(std::io::Error),
    /// The CA could not be created.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// The store could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The proxy did not start.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// The scripted client could not be built.
    #[error(transparent)]
    Mock(#[from] MockError),
}

/// The proxy with its own CA and store in a temporary directory.
pub struct Rig {
    ca: Arc<LocalCa>,
    store: Arc<Store>,
    proxy: RunningProxy,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// Create the data directory, the CA and the store, and start the proxy on `127.0.0.1:0`.
    pub async fn start() -> Result<Rig, RigError> {
        let dir = tempfile::Builder::new()
            .prefix("oauthscope-")
            .tempdir()
            .map_err(RigError::TempDir)?;
        let home = Home::new(dir.path());
        let (ca, _) = LocalCa::load_or_create(&home)?;
        let ca = Arc::new(ca);
        let store = Arc::new(Store::open(&home.store_dir())?);
        let proxy = proxy::start(
            ProxyConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                ..ProxyConfig::default()
            },
            ca.clone(),
            store.clone(),
            None,
        )
        .await?;
        Ok(Rig {
            ca,
            store,
            proxy,
            _dir: dir,
        })
    }

    /// The proxy's URL (`http://127.0.0.1:PORT`).
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.proxy.addr)
    }

    /// The rig's CA certificate (PEM), for clients that must trust the proxy.
    pub fn ca_pem(&self) -> &str {
        self.ca.cert_pem()
    }

    /// A TLS server configuration for `host` with a leaf from the rig's CA
    /// (give it to [`super::MockConfig::tls`]).
    pub fn tls_for(&self, host: &str) -> Result<Arc<rustls::ServerConfig>, RigError> {
        Ok(self.ca.server_config_for(host)?)
    }

    /// A scripted client that sends through the proxy and trusts the rig's CA.
    pub fn client(&self) -> Result<ScriptedClient, RigError> {
        Ok(ScriptedClient::via_proxy(
            &self.proxy_url(),
            Some(self.ca.cert_pem().as_bytes()),
        )?)
    }

    /// Wait (up to two seconds) until the proxy has stored at least
    /// `at_least` exchanges, then return the capture analysed as `flows list` shows it.
    pub async fn captured(&self, at_least: usize) -> Result<Vec<Record>, RigError> {
        let mut raw = self.store.query(&Query::default())?;
        for _ in 0..200 {
            if raw.len() >= at_least {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            raw = self.store.query(&Query::default())?;
        }
        Ok(analyze(&raw, &AnalyzeOptions::default()))
    }

    /// Stop the proxy (the data directory goes when the rig is dropped).
    pub async fn stop(self) {
        self.proxy.shutdown().await;
    }
}

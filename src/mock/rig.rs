//! A whole oauthscope set-up in one process, for the demo and the examples:
//! a throw-away data directory with its own CA and store, and the real proxy
//! on a free loopback port. Mock providers get HTTPS certificates from the
//! rig's CA ([`Rig::tls_for`]); scripted clients send through the proxy and
//! trust that CA ([`Rig::client`]), so what gets shown is what the proxy
//! captured.

use super::script::ScriptedClient;
use super::MockError;
use crate::analyze::{analyze, AnalyzeOptions};
use crate::ca::CaError;
use crate::home::Home;
use crate::record::Record;
use crate::session::{Session, SessionConfig, SessionError};
use crate::store::{Query, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// Errors setting up or reading a [`Rig`].
#[derive(Debug, thiserror::Error)]
pub enum RigError {
    /// The throw-away data directory could not be created.
    #[error("creating a temporary data directory: {0}")]
    TempDir(std::io::Error),
    /// A certificate could not be issued.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session (CA, store, proxy, API, web UI) did not start.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The scripted client could not be built.
    #[error(transparent)]
    Mock(#[from] MockError),
}

/// A whole [`Session`] (proxy, recorder, API and web UI on free loopback
/// ports) with its own CA and store in a temporary directory.
pub struct Rig {
    session: Session,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// Create the data directory and start a session in it (see [`SessionConfig::ephemeral`]).
    pub async fn start() -> Result<Rig, RigError> {
        let dir = tempfile::Builder::new()
            .prefix("oauthscope-")
            .tempdir()
            .map_err(RigError::TempDir)?;
        let session = Session::start(SessionConfig::ephemeral(Home::new(dir.path()))).await?;
        Ok(Rig { session, _dir: dir })
    }

    /// The proxy's URL (`http://127.0.0.1:PORT`).
    pub fn proxy_url(&self) -> String {
        self.session.proxy_url()
    }

    /// The web UI's URL with its token (`http://127.0.0.1:PORT/?token=...`).
    pub fn web_url(&self) -> Option<String> {
        self.session.web_url()
    }

    /// The rig's CA certificate (PEM), for clients that must trust the proxy.
    pub fn ca_pem(&self) -> &str {
        self.session.ca.cert_pem()
    }

    /// A TLS server configuration for `host` with a leaf from the rig's CA
    /// (give it to [`super::MockConfig::tls`]).
    pub fn tls_for(&self, host: &str) -> Result<Arc<rustls::ServerConfig>, RigError> {
        Ok(self.session.ca.server_config_for(host)?)
    }

    /// A scripted client that sends through the proxy and trusts the rig's CA.
    pub fn client(&self) -> Result<ScriptedClient, RigError> {
        Ok(ScriptedClient::via_proxy(
            &self.proxy_url(),
            Some(self.ca_pem().as_bytes()),
        )?)
    }

    /// Wait (up to two seconds) until the proxy has stored at least
    /// `at_least` exchanges, then return the capture analysed as `flows list` shows it.
    pub async fn captured(&self, at_least: usize) -> Result<Vec<Record>, RigError> {
        let store = &self.session.store;
        let mut raw = store.query(&Query::default())?;
        for _ in 0..200 {
            if raw.len() >= at_least {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            raw = store.query(&Query::default())?;
        }
        Ok(analyze(&raw, &AnalyzeOptions::default()))
    }

    /// Stop the session (the data directory goes when the rig is dropped).
    pub async fn stop(self) {
        if let Err(e) = self.session.shutdown().await {
            tracing::warn!("flushing the rig's store: {e}");
        }
    }
}

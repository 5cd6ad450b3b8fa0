//! Upstream connections: TLS trusting the system's roots plus every
//! `--upstream-ca` file, and the HTTP version mirrored from the client.

use http::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
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

/// The connector hudsucker's client uses: HTTPS or plain HTTP; HTTP/2 for
/// the hosts in [`H2Hosts`], HTTP/1.1 for the rest.
#[derive(Clone)]
pub struct Connector {
    h1: HttpsConnector<HttpConnector>,
    any: HttpsConnector<HttpConnector>,
    h2_hosts: H2Hosts,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Service<Uri> for Connector {
    type Response = <HttpsConnector<HttpConnector> as Service<Uri>>::Response;
    type Error = BoxError;
    type Future = <HttpsConnector<HttpConnector> as Service<Uri>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match self.h1.poll_ready(cx) {
            Poll::Ready(Ok(())) => self.any.poll_ready(cx),
            other => other,
        }
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        if self.h2_hosts.wants_h2(&authority_of(&uri)) {
            self.any.call(uri)
        } else {
            self.h1.call(uri)
        }
    }
}

/// Build the [`Connector`] over one rustls client configuration.
pub fn connector(cfg: rustls::ClientConfig, h2_hosts: H2Hosts) -> Connector {
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
    Connector { h1, any, h2_hosts }
}

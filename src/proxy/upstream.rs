//! Upstream TLS: the system's roots plus every `--upstream-ca` file.

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// The connector hudsucker's client uses: HTTPS or plain HTTP, HTTP/1.1 and HTTP/2.
pub fn connector(cfg: rustls::ClientConfig) -> HttpsConnector<HttpConnector> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(cfg)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http)
}

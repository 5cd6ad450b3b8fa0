#[cfg(feature = "openssl-ca")]
mod openssl_authority;
#[cfg(feature = "rcgen-ca")]
mod rcgen_authority;

use http::uri::Authority;
use std::sync::Arc;
use tokio_rustls::rustls::ServerConfig;

#[cfg(feature = "openssl-ca")]
pub use openssl_authority::*;
#[cfg(feature = "rcgen-ca")]
pub use rcgen_authority::*;

#[allow(dead_code)] // oauthscope's copy: only the rcgen/openssl authorities use it
const TTL_SECS: i64 = 365 * 24 * 60 * 60;
#[allow(dead_code)] // oauthscope's copy: only the rcgen/openssl authorities use it
const CACHE_TTL: u64 = TTL_SECS as u64 / 2;
#[allow(dead_code)] // oauthscope's copy: only the rcgen/openssl authorities use it
const NOT_BEFORE_OFFSET: i64 = 60;

/// Issues certificates for use when communicating with clients.
///
/// Clients should be configured to either trust the provided root certificate,
/// or to ignore certificate errors.
pub trait CertificateAuthority: Send + Sync + 'static {
    /// Generate ServerConfig for use with rustls.
    fn gen_server_config(
        &self,
        authority: &Authority,
    ) -> impl Future<Output = Arc<ServerConfig>> + Send;
}

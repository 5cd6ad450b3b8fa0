//! The local certificate authority: created on first use under `HOME/ca/`,
//! loaded afterwards, and used to issue one leaf certificate per host.
//!
//! - ECDSA P-256, ten years; the key file `ca.key` is created with mode 0600
//!   and never printed or exported.
//! - Leaves have their own key (one per authority, shared by all leaves of
//!   this process), carry an IP SAN for IP literals (`https://127.0.0.1:8443`)
//!   and a DNS SAN otherwise, and are cached per host.

use crate::home::Home;
pub use crate::name_constraints::NameScope;
use hudsucker::certificate_authority::CertificateAuthority;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

/// The CA certificate's common name.
pub const CA_NAME: &str = "oauthscope local CA";

/// Errors creating, loading or using the CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Key or certificate generation/parsing failed.
    #[error("{what}: {source}")]
    Cert {
        /// What was being done.
        what: String,
        /// The rcgen error.
        source: rcgen::Error,
    },
    /// Only one of the two CA files exists.
    #[error("the CA in {} is incomplete ({missing} is missing); move the directory away to create a new CA (programs that trusted the old one must trust the new one)", dir.display())]
    Incomplete {
        /// CA directory.
        dir: PathBuf,
        /// The missing file name.
        missing: &'static str,
    },
    /// A host outside the CA's name constraints (the proxy tunnels those).
    #[error(
        "{host} is outside the CA's name constraints ({scope}); it is tunnelled, not decrypted"
    )]
    OutsideScope {
        /// The host.
        host: String,
        /// The permitted names.
        scope: String,
    },
    /// `ca init --name-constraint` on a CA created with other constraints.
    #[error("the CA in {} already exists with name constraints [{have}], not [{want}]; `oauthscope ca rotate --name-constraint {want}` replaces it", dir.display())]
    ScopeDiffers {
        /// CA directory.
        dir: PathBuf,
        /// The existing CA's constraints (empty: none).
        have: String,
        /// The constraints asked for.
        want: String,
    },
    /// rustls refused the generated certificate.
    #[error("building a TLS configuration for {host}: {source}")]
    Tls {
        /// The host.
        host: String,
        /// The rustls error.
        source: rustls::Error,
    },
}

fn cert_err(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> CaError {
    let what = what.into();
    move |source| CaError::Cert { what, source }
}

/// The loaded CA plus a cache of issued leaves.
pub struct LocalCa {
    cert_path: PathBuf,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
    leaf_key: KeyPair,
    scope: NameScope,
    leaves: Mutex<HashMap<String, Arc<ServerConfig>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("LocalCa")
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

/// Write `bytes` to a new file with `mode` (0600 for keys) from the start, so
/// the key is never readable by others, not even briefly.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CaError> {
    use std::io::Write;
    let io = |source| CaError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

fn read(path: &Path) -> Result<String, CaError> {
    std::fs::read_to_string(path).map_err(|source| CaError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl LocalCa {
    /// The CA certificate path inside a data directory (whether or not it exists yet).
    pub fn cert_path_in(home: &Home) -> PathBuf {
        home.ca_dir().join("ca.pem")
    }

    /// The CA key path inside a data directory.
    pub fn key_path_in(home: &Home) -> PathBuf {
        home.ca_dir().join("ca.key")
    }

    /// Load the CA from `HOME/ca/`, creating it first if there is none.
    /// Returns the CA and whether it was just created.
    pub fn load_or_create(home: &Home) -> Result<(LocalCa, bool), CaError> {
        Self::load_or_create_scoped(home, &NameScope::default())
    }

    /// `ca init`: load the CA, or create it with name constraints `scope`
    /// (empty: unconstrained). A CA that exists with other constraints is
    /// an error ([`CaError::ScopeDiffers`]) unless `scope` is empty.
    pub fn init(home: &Home, scope: &NameScope) -> Result<(LocalCa, bool), CaError> {
        let (ca, created) = Self::load_or_create_scoped(home, scope)?;
        if !created && !scope.is_unconstrained() && ca.scope != *scope {
            return Err(CaError::ScopeDiffers {
                dir: home.ca_dir(),
                have: ca.scope.describe(),
                want: scope.describe(),
            });
        }
        Ok((ca, created))
    }

    /// `ca rotate`: replace the CA with a new key and certificate, with
    /// name constraints `scope` (`None`: those of the old CA). The old
    /// certificate is kept as `ca/retired/ca-<unix time>.pem` (to find and
    /// remove it from trust stores), its key and the trust bundle are deleted.
    /// Returns the new CA and the retired certificate's path, if there was one.
    pub fn rotate(
        home: &Home,
        scope: Option<&NameScope>,
    ) -> Result<(LocalCa, Option<PathBuf>), CaError> {
        let dir = home.ca_dir();
        let cert_path = Self::cert_path_in(home);
        let key_path = Self::key_path_in(home);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CaError::Io { path, source }
        };
        let old_scope = std::fs::read_to_string(&cert_path)
            .ok()
            .and_then(|pem| {
                rustls_pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
                    .ok()
                    .map(|der: CertificateDer<'static>| der)
            })
            .and_then(|der| NameScope::from_cert_der(&der));
        let scope = scope.cloned().or(old_scope).unwrap_or_default();
        let mut retired = None;
        if cert_path.exists() {
            let rdir = dir.join("retired");
            std::fs::create_dir_all(&rdir).map_err(io(&rdir))?;
            let to = rdir.join(format!(
                "ca-{}.pem",
                OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000
            ));
            std::fs::rename(&cert_path, &to).map_err(io(&cert_path))?;
            retired = Some(to);
        }
        for stale in [key_path.clone(), dir.join("bundle.pem")] {
            match std::fs::remove_file(&stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io(&stale)(e));
                }
                _ => {}
            }
        }
        Self::create(&dir, &cert_path, &key_path, &scope)?;
        let (ca, _) = Self::load_or_create_scoped(home, &scope)?;
        Ok((ca, retired))
    }

    fn load_or_create_scoped(home: &Home, scope: &NameScope) -> Result<(LocalCa, bool), CaError> {
        let dir = home.ca_dir();
        home.create_root().map_err(|source| CaError::Io {
            path: home.root().to_path_buf(),
            source,
        })?;
        let cert_path = Self::cert_path_in(home);
        let key_path = Self::key_path_in(home);
        let created = match (cert_path.exists(), key_path.exists()) {
            (true, true) => false,
            (false, false) => match Self::create(&dir, &cert_path, &key_path, scope) {
                Ok(()) => true,
                // Another oauthscope process (say `run` and `mock` started
                // together) is creating it right now: use theirs.
                Err(CaError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists =>
                {
                    Self::wait_for_cert(&dir, &cert_path)?;
                    false
                }
                Err(e) => return Err(e),
            },
            (true, false) => {
                return Err(CaError::Incomplete {
                    dir,
                    missing: "ca.key",
                })
            }
            (false, true) if Self::just_written(&key_path) => {
                Self::wait_for_cert(&dir, &cert_path)?;
                false
            }
            (false, true) => {
                return Err(CaError::Incomplete {
                    dir,
                    missing: "ca.pem",
                })
            }
        };
        let cert_pem = read(&cert_path)?;
        let key = KeyPair::from_pem(&read(&key_path)?).map_err(cert_err(format!(
            "reading the CA key {}",
            key_path.display()
        )))?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(cert_err(format!(
            "reading the CA certificate {}",
            cert_path.display()
        )))?;
        let cert_der: CertificateDer<'static> =
            rustls_pki_types::pem::PemObject::from_pem_slice(cert_pem.as_bytes()).map_err(|e| {
                CaError::Io {
                    path: cert_path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
                }
            })?;
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(cert_err("generating the leaf key"))?;
        let scope = NameScope::from_cert_der(&cert_der).unwrap_or_default();
        Ok((
            LocalCa {
                cert_path,
                cert_pem,
                cert_der,
                issuer,
                leaf_key,
                scope,
                leaves: Mutex::new(HashMap::new()),
                provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            },
            created,
        ))
    }

    fn create(
        dir: &Path,
        cert_path: &Path,
        key_path: &Path,
        scope: &NameScope,
    ) -> Result<(), CaError> {
        // 0700 from the start, the data directory above it too, whatever the umask.
        crate::home::create_private_dir(dir).map_err(|source| CaError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(cert_err("generating the CA key"))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, CA_NAME);
        dn.push(DnType::OrganizationName, "oauthscope");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        params.serial_number = Some(rand::random::<u64>().into());
        params.name_constraints = scope.to_rcgen();
        let cert = params
            .self_signed(&key)
            .map_err(cert_err("self-signing the CA certificate"))?;
        // Key first, 0600 from creation; then the certificate, renamed into
        // place so that a process that sees `ca.pem` also sees a whole key.
        write_new(key_path, key.serialize_pem().as_bytes(), 0o600)?;
        let tmp = dir.join(format!(".ca.pem.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        write_new(&tmp, cert.pem().as_bytes(), 0o644)?;
        std::fs::rename(&tmp, cert_path).map_err(|source| CaError::Io {
            path: cert_path.to_path_buf(),
            source,
        })?;
        Ok(())
    }

    /// Was `path` written in the last few seconds (a concurrent creator at
    /// work, rather than a certificate someone deleted)?
    fn just_written(path: &Path) -> bool {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age < std::time::Duration::from_secs(10))
    }

    /// The key exists but the certificate does not (yet): give a concurrent
    /// creator a few seconds to finish, then call the CA incomplete.
    fn wait_for_cert(dir: &Path, cert_path: &Path) -> Result<(), CaError> {
        for _ in 0..100 {
            if cert_path.exists() {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err(CaError::Incomplete {
            dir: dir.to_path_buf(),
            missing: "ca.pem",
        })
    }

    /// Path of the CA certificate (PEM).
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// The CA certificate as PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate as DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The CA's name constraints (empty: unconstrained).
    pub fn scope(&self) -> &NameScope {
        &self.scope
    }

    /// May this CA issue for `host` (inside its name constraints)? Hosts
    /// outside are tunnelled by the proxy, never decrypted.
    pub fn permits(&self, host: &str) -> bool {
        self.scope.permits(host)
    }

    /// Issue a leaf for `host` (IP SAN for IP literals, DNS SAN otherwise),
    /// signed by the CA, with the authority's own leaf key. Fails with
    /// [`CaError::OutsideScope`] for a host outside the name constraints.
    pub fn issue_leaf(&self, host: &str) -> Result<CertificateDer<'static>, CaError> {
        self.issue_leaf_for(&[host])
    }

    /// Issue one leaf valid for every name in `hosts` (the first is its
    /// common name; none: `localhost`), each an IP SAN or a DNS SAN; fails
    /// when a name is outside the name constraints.
    pub fn issue_leaf_for(&self, hosts: &[&str]) -> Result<CertificateDer<'static>, CaError> {
        let hosts: Vec<&str> = hosts
            .iter()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .collect();
        let hosts = if hosts.is_empty() {
            vec!["localhost"]
        } else {
            hosts
        };
        let first = hosts[0];
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, first);
        params.distinguished_name = dn;
        for host in &hosts {
            if !self.permits(host) {
                return Err(CaError::OutsideScope {
                    host: host.to_string(),
                    scope: self.scope.describe(),
                });
            }
            params.subject_alt_names.push(match host.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(
                    host.to_string()
                        .try_into()
                        .map_err(cert_err(format!("{host:?} is not a valid DNS name")))?,
                ),
            });
        }
        let host = hosts.join(", ");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        // Browsers reject leaves valid for more than 398 days.
        params.not_after = now + Duration::days(397);
        params.serial_number = Some(rand::random::<u64>().into());
        let cert = params
            .signed_by(&self.leaf_key, &self.issuer)
            .map_err(cert_err(format!("issuing a certificate for {host}")))?;
        Ok(cert.der().clone())
    }

    /// A rustls server configuration (ALPN h2 and http/1.1) presenting a leaf
    /// for `host`, cached per host.
    pub fn server_config_for(&self, host: &str) -> Result<Arc<ServerConfig>, CaError> {
        self.server_config_for_names(&[host])
    }

    /// A rustls server configuration (ALPN h2 and http/1.1) presenting one
    /// leaf for all of `hosts` (see [`LocalCa::issue_leaf_for`]), cached.
    pub fn server_config_for_names(&self, hosts: &[&str]) -> Result<Arc<ServerConfig>, CaError> {
        let key = hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(c) = self.leaves.lock().expect("leaf cache").get(&key) {
            return Ok(c.clone());
        }
        let names: Vec<&str> = key.split(' ').collect();
        let leaf = self.issue_leaf_for(&names)?;
        let tls = |source| CaError::Tls {
            host: key.clone(),
            source,
        };
        let private = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(self.leaf_key.serialize_der()));
        let mut cfg = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(tls)?
            .with_no_client_auth()
            .with_single_cert(vec![leaf, self.cert_der.clone()], private)
            .map_err(tls)?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let cfg = Arc::new(cfg);
        self.leaves
            .lock()
            .expect("leaf cache")
            .insert(key, cfg.clone());
        Ok(cfg)
    }
}

/// A certificate resolver with nothing to offer: the handshake fails with an alert.
#[derive(Debug)]
struct NoCertificate;

impl rustls::server::ResolvesServerCert for NoCertificate {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        None
    }
}

impl LocalCa {
    /// A server configuration that refuses every handshake (for hosts the CA
    /// cannot issue for).
    fn refusing_config(&self) -> Arc<ServerConfig> {
        let cfg = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .expect("the default protocol versions are supported")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(NoCertificate));
        Arc::new(cfg)
    }
}

/// hudsucker's view of our CA: it asks for a server config per authority.
#[derive(Clone, Debug)]
pub struct Authority(pub Arc<LocalCa>);

impl CertificateAuthority for Authority {
    async fn gen_server_config(&self, authority: &http::uri::Authority) -> Arc<ServerConfig> {
        match self.0.server_config_for(authority.host()) {
            Ok(c) => c,
            Err(e) => {
                // hudsucker's trait cannot fail; present no certificate at
                // all, so the client sees a handshake failure, not a hang.
                tracing::error!("cannot issue a certificate for {}: {e}", authority.host());
                self.0.refusing_config()
            }
        }
    }
}

/// How to make common systems and runtimes trust the CA at `cert`.
pub fn trust_instructions(cert: &Path) -> String {
    let c = cert.display();
    format!(
        "Trust the oauthscope CA ({c}) where you need it:

System stores
  Debian/Ubuntu:  sudo cp {c} /usr/local/share/ca-certificates/oauthscope.crt && sudo update-ca-certificates
  Fedora/RHEL:    sudo cp {c} /etc/pki/ca-trust/source/anchors/oauthscope.pem && sudo update-ca-trust
  macOS:          sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {c}
  Windows:        certutil -addstore -f Root {c}   (in an elevated prompt)
  Firefox:        Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import
                  (or set security.enterprise_roots.enabled = true to use the system store)

One program at a time (nothing system-wide; `oauthscope env` prints all of these)
  curl:    curl --proxy http://127.0.0.1:8080 --cacert {c} https://...
  Python:  REQUESTS_CA_BUNDLE=<bundle> (requests), SSL_CERT_FILE=<bundle> (urllib, httpx)
  Node:    NODE_EXTRA_CA_CERTS={c}
  Java:    JAVA_TOOL_OPTIONS (`oauthscope env`: proxy flags and a trust store of its own, HOME/ca/truststore.jks)
           or system-wide: keytool -importcert -alias oauthscope -file {c} -cacerts -storepass changeit -noprompt
  Go:      SSL_CERT_FILE=<bundle> (Go never proxies localhost/127.0.0.1: see `oauthscope env --help`)
  .NET:    SSL_CERT_FILE=<bundle> (Linux), Ruby: SSL_CERT_FILE=<bundle>, PHP: curl.cainfo=<bundle>
  Docker:  eval \"docker run $(oauthscope env --shell docker) IMAGE\"
  Browser: oauthscope browser [URL]   (a throw-away profile that trusts the CA; nothing system-wide)
  Rust:    SSL_CERT_FILE=<bundle> (native-tls/openssl), CARGO_HTTP_CAINFO=<bundle> (cargo)

<bundle> is a file holding the system roots plus this CA, so hosts the proxy only
tunnels still verify: `oauthscope env` writes one and points the variables at it.
Remove the CA from every store when you are done debugging.
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_is_created_once_with_a_private_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let (ca, created) = LocalCa::load_or_create(&home).unwrap();
        assert!(created);
        assert!(ca.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(LocalCa::key_path_in(&home))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, created) = LocalCa::load_or_create(&home).unwrap();
        assert!(!created);
        assert_eq!(again.cert_pem(), ca.cert_pem());
        assert!(!format!("{ca:?}").contains("PRIVATE"));
    }

    #[test]
    fn processes_creating_the_ca_at_once_end_up_with_one_ca() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let pems: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    s.spawn(|| {
                        LocalCa::load_or_create(&home)
                            .unwrap()
                            .0
                            .cert_pem()
                            .to_owned()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(pems.iter().all(|p| p == &pems[0]), "one CA for everyone");
    }

    #[test]
    fn leaves_for_ips_and_names_are_issued_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, _) = LocalCa::load_or_create(&Home::new(dir.path())).unwrap();
        let a = ca.server_config_for("127.0.0.1").unwrap();
        let b = ca.server_config_for("127.0.0.1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        ca.server_config_for("login.example.com").unwrap();
        ca.server_config_for("[::1]").unwrap();
    }

    #[test]
    fn half_a_ca_is_an_error_not_a_silent_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        LocalCa::load_or_create(&home).unwrap();
        std::fs::remove_file(LocalCa::key_path_in(&home)).unwrap();
        let err = LocalCa::load_or_create(&home).unwrap_err();
        assert!(err.to_string().contains("ca.key is missing"), "{err}");
    }
}

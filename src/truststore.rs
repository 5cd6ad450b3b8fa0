//! Java trust stores: a JKS file holding trusted certificates, written and
//! read back without a JDK.
//!
//! `oauthscope env`/`exec` point the JVM at `HOME/ca/truststore.jks` through
//! `-Djavax.net.ssl.trustStore=`: it holds the system's roots plus our CA, so
//! hosts the proxy only tunnels still verify. The JDK has read JKS since 1.2
//! and still does (`KeyStore.getInstance("JKS")`, and the default `PKCS12`
//! type falls back to it by magic number since JDK 9).
//!
//! Layout (all integers big-endian):
//! ```text
//! u32 magic 0xFEEDFEED, u32 version 2, u32 entry count
//! per entry: u32 tag (2 = trusted certificate), UTF alias, u64 creation time (ms since epoch),
//!            UTF certificate type ("X.509"), u32 length, DER bytes
//! 20 bytes: SHA-1 over (password as UTF-16BE) + "Mighty Aphrodite" + everything above
//! ```
//! `UTF` is Java's `DataOutput.writeUTF`: a u16 byte length, then modified
//! UTF-8 (plain UTF-8 for the ASCII aliases written here).

use std::path::Path;

/// The store's password: the JDK's own default for `cacerts`.
pub const PASSWORD: &str = "changeit";

const MAGIC: u32 = 0xFEED_FEED;
const VERSION: u32 = 2;
const TAG_TRUSTED_CERT: u32 = 2;
const WHITENER: &[u8] = b"Mighty Aphrodite";

/// Errors reading a JKS file or building one.
#[derive(Debug, thiserror::Error)]
pub enum TrustStoreError {
    /// The bytes are not a JKS trust store this module understands.
    #[error("not a JKS trust store: {0}")]
    Malformed(&'static str),
    /// The integrity digest does not match (wrong password or damaged file).
    #[error("the JKS integrity check failed (wrong password or a damaged file)")]
    Integrity,
    /// An alias is too long for Java's UTF encoding (over 65 535 bytes).
    #[error("alias {0:?} is too long")]
    AliasTooLong(String),
    /// A certificate bundle could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// One trusted-certificate entry: its alias (lower case, as the JDK keeps
/// them) and the certificate's DER bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCert {
    /// The entry's name (`oauthscope`, `system-12`).
    pub alias: String,
    /// The certificate, DER-encoded.
    pub der: Vec<u8>,
}

fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 20];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn password_bytes(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn write_utf(out: &mut Vec<u8>, s: &str) -> Result<(), TrustStoreError> {
    // Modified UTF-8 differs from UTF-8 only for NUL and supplementary
    // characters; aliases here are ASCII, and others are refused.
    let len = u16::try_from(s.len()).map_err(|_| TrustStoreError::AliasTooLong(s.into()))?;
    if s.chars().any(|c| c == '\0' || c as u32 > 0xFFFF) {
        return Err(TrustStoreError::AliasTooLong(s.into()));
    }
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Encode `certs` as a JKS trust store protected by `password`.
///
/// Aliases are lower-cased (the JDK compares them case-insensitively);
/// duplicates after lower-casing are an error for the JDK, so callers give
/// distinct ones. `created_ms` is each entry's creation time (ms since epoch).
pub fn encode_jks(
    certs: &[TrustedCert],
    password: &str,
    created_ms: u64,
) -> Result<Vec<u8>, TrustStoreError> {
    let count = u32::try_from(certs.len()).map_err(|_| TrustStoreError::Malformed("too many"))?;
    let mut out = Vec::with_capacity(64 + certs.iter().map(|c| c.der.len() + 32).sum::<usize>());
    out.extend_from_slice(&MAGIC.to_be_bytes());
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    for c in certs {
        out.extend_from_slice(&TAG_TRUSTED_CERT.to_be_bytes());
        write_utf(&mut out, &c.alias.to_ascii_lowercase())?;
        out.extend_from_slice(&created_ms.to_be_bytes());
        write_utf(&mut out, "X.509")?;
        let len =
            u32::try_from(c.der.len()).map_err(|_| TrustStoreError::Malformed("huge cert"))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&c.der);
    }
    let digest = sha1(&[&password_bytes(password), WHITENER, &out]);
    out.extend_from_slice(&digest);
    Ok(out)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TrustStoreError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(TrustStoreError::Malformed("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, TrustStoreError> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2")))
    }
    fn u32(&mut self) -> Result<u32, TrustStoreError> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn utf(&mut self) -> Result<String, TrustStoreError> {
        let n = self.u16()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| TrustStoreError::Malformed("alias"))
    }
}

/// Read a JKS trust store written by [`encode_jks`] (or `keytool` with
/// trusted-certificate entries only), checking its integrity digest.
///
/// Errors: [`TrustStoreError::Malformed`] for anything but trusted
/// certificates in a version-2 JKS, [`TrustStoreError::Integrity`] when the
/// digest does not match `password`.
pub fn decode_jks(bytes: &[u8], password: &str) -> Result<Vec<TrustedCert>, TrustStoreError> {
    if bytes.len() < 12 + 20 {
        return Err(TrustStoreError::Malformed("too short"));
    }
    let (body, digest) = bytes.split_at(bytes.len() - 20);
    let mut r = Reader { buf: body, pos: 0 };
    if r.u32()? != MAGIC {
        return Err(TrustStoreError::Malformed("no 0xFEEDFEED magic"));
    }
    if r.u32()? != VERSION {
        return Err(TrustStoreError::Malformed("not version 2"));
    }
    if sha1(&[&password_bytes(password), WHITENER, body]) != digest {
        return Err(TrustStoreError::Integrity);
    }
    let count = r.u32()?;
    let mut certs = Vec::new();
    for _ in 0..count {
        if r.u32()? != TAG_TRUSTED_CERT {
            return Err(TrustStoreError::Malformed(
                "an entry that is not a trusted certificate",
            ));
        }
        let alias = r.utf()?;
        r.take(8)?; // creation time
        if r.utf()? != "X.509" {
            return Err(TrustStoreError::Malformed(
                "a certificate that is not X.509",
            ));
        }
        let len = r.u32()? as usize;
        let der = r.take(len)?.to_vec();
        certs.push(TrustedCert { alias, der });
    }
    if r.pos != body.len() {
        return Err(TrustStoreError::Malformed("trailing bytes"));
    }
    Ok(certs)
}

/// The certificates (DER) in a PEM bundle; blocks that are not certificates
/// or do not parse are skipped.
pub fn certs_from_pem(pem: &[u8]) -> Vec<Vec<u8>> {
    use rustls_pki_types::pem::PemObject as _;
    rustls_pki_types::CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .map(|c| c.to_vec())
        .collect()
}

/// Write a JKS trust store at `path` (password [`PASSWORD`]) holding every
/// certificate of the PEM bundle `system_pem` (aliases `system-N`) and `ca_der`
/// (alias `oauthscope`). Returns the number of entries written.
///
/// Errors: [`TrustStoreError::Io`] when the file cannot be written.
pub fn write_java_truststore(
    path: &Path,
    system_pem: &[u8],
    ca_der: &[u8],
) -> Result<usize, TrustStoreError> {
    let mut certs: Vec<TrustedCert> = certs_from_pem(system_pem)
        .into_iter()
        .filter(|d| d.as_slice() != ca_der)
        .enumerate()
        .map(|(i, der)| TrustedCert {
            alias: format!("system-{}", i + 1),
            der,
        })
        .collect();
    certs.push(TrustedCert {
        alias: "oauthscope".into(),
        der: ca_der.to_vec(),
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let bytes = encode_jks(&certs, PASSWORD, now)?;
    // Written beside and renamed over, so a JVM started by a concurrent
    // `exec` never reads half a file.
    let io = |source| TrustStoreError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::io::Write::write_all(&mut tmp, &bytes).map_err(io)?;
    // Public certificates only: readable by others (a container's user
    // reading it through `env --shell docker`'s mount).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(certs.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(cn: &str) -> Vec<u8> {
        let ck = rcgen::generate_simple_self_signed(vec![cn.to_string()]).unwrap();
        ck.cert.der().to_vec()
    }

    #[test]
    fn what_is_written_reads_back_with_its_digest() {
        let certs = vec![
            TrustedCert {
                alias: "system-1".into(),
                der: cert("a.example"),
            },
            TrustedCert {
                alias: "oauthscope".into(),
                der: cert("b.example"),
            },
        ];
        let bytes = encode_jks(&certs, PASSWORD, 1_700_000_000_000).unwrap();
        assert_eq!(&bytes[..8], &[0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]);
        assert_eq!(decode_jks(&bytes, PASSWORD).unwrap(), certs);
        assert!(matches!(
            decode_jks(&bytes, "wrong"),
            Err(TrustStoreError::Integrity)
        ));
        let mut damaged = bytes.clone();
        damaged[40] ^= 1;
        assert!(decode_jks(&damaged, PASSWORD).is_err());
        assert!(decode_jks(&bytes[..bytes.len() - 1], PASSWORD).is_err());
    }

    #[test]
    fn aliases_are_lower_cased_as_the_jdk_keeps_them() {
        let certs = vec![TrustedCert {
            alias: "OAuthScope".into(),
            der: cert("c.example"),
        }];
        let back = decode_jks(&encode_jks(&certs, "pw", 0).unwrap(), "pw").unwrap();
        assert_eq!(back[0].alias, "oauthscope");
    }

    #[test]
    fn the_store_holds_the_bundle_and_our_ca_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = rcgen::generate_simple_self_signed(vec!["a.example".into()]).unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["ca.example".into()]).unwrap();
        // The CA already in the bundle (a second `env` run) is not repeated.
        let bundle = format!("# roots\n{}\n{}", a.cert.pem(), ca.cert.pem());
        let path = dir.path().join("t.jks");
        let n = write_java_truststore(&path, bundle.as_bytes(), ca.cert.der()).unwrap();
        assert_eq!(n, 2);
        let back = decode_jks(&std::fs::read(&path).unwrap(), PASSWORD).unwrap();
        assert_eq!(back[0].der, a.cert.der().to_vec());
        assert_eq!(back[1].alias, "oauthscope");
        assert_eq!(back[1].der, ca.cert.der().to_vec());
    }

    /// The JDK's own tool reads the file: `keytool -list` names our entry.
    #[test]
    fn keytool_lists_the_store() {
        let keytool = match std::process::Command::new("keytool").arg("-help").output() {
            Ok(_) => "keytool",
            Err(_) => {
                eprintln!("SKIPPED keytool_lists_the_store: no `keytool` on PATH (install a JDK: apt-get install default-jdk-headless)");
                return;
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let a = rcgen::generate_simple_self_signed(vec!["a.example".into()]).unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["ca.example".into()]).unwrap();
        let path = dir.path().join("t.jks");
        write_java_truststore(&path, a.cert.pem().as_bytes(), ca.cert.der()).unwrap();
        let out = std::process::Command::new(keytool)
            .args(["-list", "-storepass", PASSWORD, "-keystore"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("2 entries"), "{text}");
        assert!(
            text.contains("oauthscope,") && text.contains("trustedCertEntry"),
            "{text}"
        );
        let out = std::process::Command::new(keytool)
            .args(["-list", "-storepass", "not-it", "-keystore"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "a wrong password is refused");
    }
}

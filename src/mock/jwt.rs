//! ES256 signing for the mock's ID tokens, and the JWKS that publishes the key.
//!
//! The key pair is generated when the mock starts (P-256, aws-lc-rs) and lives
//! only in memory: restart the mock and old ID tokens no longer verify, as with
//! a real provider after key rotation.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::MockError;

/// An ES256 signing key with its key id.
pub struct Signer {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    kid: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish()
    }
}

impl Signer {
    /// Generate a fresh P-256 key.
    pub fn generate() -> Result<Signer, MockError> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|e| MockError::Crypto(format!("generating the ES256 key: {e}")))?;
        let point = key.public_key().as_ref().to_vec();
        let kid = hex::encode(sha2_prefix(&point));
        Ok(Signer {
            key,
            rng: SystemRandom::new(),
            kid,
        })
    }

    /// The key id (`kid`) in JWS headers and the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (`kty` EC, `crv` P-256, `x`, `y`).
    pub fn jwk(&self) -> Value {
        let point = self.key.public_key().as_ref();
        // Uncompressed SEC1 point: 0x04 || X (32 bytes) || Y (32 bytes).
        let (x, y) = if point.len() == 65 {
            (&point[1..33], &point[33..65])
        } else {
            (&point[..0], &point[..0])
        };
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
            "use": "sig",
            "alg": "ES256",
            "kid": self.kid,
        })
    }

    /// The JSON Web Key Set document.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// Sign `claims` as a compact JWS (`header.payload.signature`).
    pub fn sign(&self, claims: &Value) -> Result<String, MockError> {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|e| MockError::Crypto(format!("signing an ID token: {e}")))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(sig.as_ref())
        ))
    }
}

fn sha2_prefix(bytes: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)[..8].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    #[test]
    fn tokens_verify_with_the_published_key_and_not_after_tampering() {
        let s = Signer::generate().unwrap();
        let jwt = s.sign(&json!({"sub": "u1", "nonce": "n"})).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let jwk = s.jwk();
        let mut point = vec![4u8];
        point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
        let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point);
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        assert!(key.verify(input.as_bytes(), &sig).is_ok());
        assert!(key.verify(b"other.input", &sig).is_err());
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], s.kid());
    }
}

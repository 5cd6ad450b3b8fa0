//! Reading JWTs (JOSE compact serialisation, RFC 7515 §7.1 / RFC 7519):
//! header and claims decoded without verifying the signature, which an
//! observer cannot check and does not need to. Shared by the `jwt` rule
//! family, authorize legs (JAR request objects, RFC 9101), token analysis,
//! diagnoses and the web UI.

use base64::Engine as _;
use serde_json::{Map, Value};

/// Why a JWT could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not `header.claims.signature` (or the five parts of a JWE).
    #[error("{0} dot-separated parts (a signed JWT has 3)")]
    Parts(usize),
    /// A segment is not base64url.
    #[error("the {0} is not base64url")]
    Base64(&'static str),
    /// A segment does not hold a JSON object.
    #[error("the {0} is not a JSON object")]
    Json(&'static str),
    /// A JWE (encrypted): its claims cannot be read without the client's key.
    #[error("the token is encrypted (JWE, alg {alg}, enc {enc})")]
    Encrypted {
        /// Key management algorithm.
        alg: String,
        /// Content encryption algorithm.
        enc: String,
    },
}

/// The readable parts of a compact JWT; the signature is not checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
}

fn b64_segment(seg: &str) -> Option<Vec<u8>> {
    let s = seg.trim().trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(s))
        .ok()
}

fn json_segment(seg: &str, name: &'static str) -> Result<Map<String, Value>, JwtError> {
    let bytes = b64_segment(seg).ok_or(JwtError::Base64(name))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JwtError::Json(name)),
    }
}

/// Decode a compact JWT's header and claims without verifying anything.
/// Tolerates base64 padding and ignores the signature segment entirely.
pub fn decode_unverified(token: &str) -> Result<Decoded, JwtError> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    if parts.len() == 5 {
        let header = json_segment(parts[0], "header")?;
        if let Some(enc) = header.get("enc").and_then(Value::as_str) {
            return Err(JwtError::Encrypted {
                alg: header
                    .get("alg")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string(),
                enc: enc.to_string(),
            });
        }
        return Err(JwtError::Parts(5));
    }
    if !(2..=3).contains(&parts.len()) {
        return Err(JwtError::Parts(parts.len()));
    }
    Ok(Decoded {
        header: json_segment(parts[0], "header")?,
        claims: json_segment(parts[1], "claims")?,
    })
}

/// The earliest and latest Unix times (seconds) a JWT time claim may hold to
/// be read as a time: the range [`time::OffsetDateTime`] represents (years
/// -9999 to 9999). A claim outside it is treated as absent, so arithmetic on
/// claims and record times cannot overflow.
pub const UNIX_TIME_RANGE: std::ops::RangeInclusive<i64> = -377_705_116_800..=253_402_300_799;

/// A NumericDate claim (`exp`, `iat`, `nbf`, `auth_time`: seconds since the
/// Unix epoch, RFC 7519 §2 and §4.1.4): an integer, a float (truncated) or a
/// numeric string; `None` when it is none of these or lies outside
/// [`UNIX_TIME_RANGE`].
pub fn numeric_date(v: Option<&serde_json::Value>) -> Option<i64> {
    use serde_json::Value;
    let n = match v? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    UNIX_TIME_RANGE.contains(&n).then_some(n)
}

/// A duration in words: `45 s`, `12 min 5 s`, `3 h 2 min`, `2 d 4 h`.
/// A time span in words, its sign ignored: milliseconds under a second
/// (`188 ms`), else as [`human_duration`].
pub fn human_span(d: time::Duration) -> String {
    if d.whole_seconds() == 0 {
        format!("{} ms", d.whole_milliseconds().unsigned_abs())
    } else {
        human_duration(d.whole_seconds())
    }
}

pub fn human_duration(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {sec} s")
    } else {
        format!("{sec} s")
    }
}

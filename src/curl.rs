//! A captured request as a `curl` command line (POSIX shell quoting).

use crate::record::Record;

/// Headers curl sets itself, or that would describe the proxy hop rather
/// than the request.
const SKIPPED: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "proxy-connection",
    "proxy-authorization",
    "keep-alive",
    "transfer-encoding",
    "accept-encoding",
];

/// Quote `s` for a POSIX shell: `'...'` with `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `curl -X METHOD 'URL' -H 'Name: value' ... --data-raw 'BODY'`, one
/// option per line. Binary bodies are left out with a comment (the record
/// keeps them base64-encoded). Secrets are kept: this is for replaying.
pub fn command(rec: &Record) -> String {
    let mut parts = vec![format!(
        "curl -X {} {}",
        rec.request.method,
        shell_quote(&rec.request.url)
    )];
    for (k, v) in &rec.request.headers.0 {
        if SKIPPED.iter().any(|s| k.eq_ignore_ascii_case(s)) {
            continue;
        }
        parts.push(format!("-H {}", shell_quote(&format!("{k}: {v}"))));
    }
    match rec.request.body.as_text() {
        Some("") => {}
        Some(t) => parts.push(format!("--data-raw {}", shell_quote(t))),
        None => parts.push("# (binary body left out)".to_string()),
    }
    parts.join(" \\\n  ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Body, Kind};

    #[test]
    fn quotes_survive_and_hop_headers_are_dropped() {
        let mut r = Record::bare(
            "0000000000000001",
            time::OffsetDateTime::UNIX_EPOCH,
            Kind::TokenRequest,
            "POST",
            "https://idp.example/token",
        );
        r.request.headers.push("Host", "idp.example");
        r.request.headers.push("Authorization", "Basic YTpi");
        r.request.body = Body::from_bytes(b"grant_type=x&note=it's");
        let c = command(&r);
        assert!(
            c.starts_with("curl -X POST 'https://idp.example/token'"),
            "{c}"
        );
        assert!(c.contains("-H 'Authorization: Basic YTpi'"), "{c}");
        assert!(!c.contains("Host:"), "{c}");
        assert!(c.contains(r"--data-raw 'grant_type=x&note=it'\''s'"), "{c}");
    }
}

//! A captured request as a `curl` command line (POSIX shell quoting).
//!
//! Used by `flows show ID --curl` and the web UI's "copy as curl". The
//! command sends what was captured, with its real values (it is meant for
//! the user's own terminal; run the record through [`crate::redact`] first
//! to share it). It names no proxy: run it through `oauthscope exec` (or
//! with `HTTPS_PROXY` set) to capture it again.
//!
//! Bodies: text without carriage returns or NULs goes in `--data-raw '...'`;
//! a `multipart/form-data` body of text fields becomes one `--form-string`
//! per field (curl writes its own boundary); anything else (binary, CR/LF
//! multipart with files) is piped in exactly with `printf '...' | curl ...
//! --data-binary @-`.

use crate::analyze::params::{self, BodyFormat};
use crate::record::Record;

/// Headers never sent again: curl (or any HTTP client) sets them itself,
/// they describe the proxy hop rather than the request, or they describe an
/// encoding the stored (decoded) body no longer has. HTTP/2 pseudo-headers
/// (`:authority`, ...) are skipped too.
pub const NOT_REPLAYED: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "proxy-connection",
    "proxy-authorization",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "accept-encoding",
    "content-encoding",
];

/// Is this request header sent again (by `--curl` and `replay`)?
pub fn is_replayed_header(name: &str) -> bool {
    !name.starts_with(':') && !NOT_REPLAYED.iter().any(|s| name.eq_ignore_ascii_case(s))
}

/// Quote `s` for a POSIX shell: `'...'` with `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A `printf` format that prints exactly `bytes`: printable ASCII as is
/// (`%` doubled, `\` escaped), everything else as a three-digit octal escape.
fn printf_format(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'%' => out.push_str("%%"),
            b'\\' => out.push_str(r"\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

/// `curl 'URL' -H 'Name: value' ... --data-raw 'BODY'`, one option per
/// line. Secrets are kept: this is for replaying.
pub fn command(rec: &Record) -> String {
    let req = &rec.request;
    let mut notes: Vec<String> = Vec::new();
    let mut pipe: Option<String> = None;
    let mut body_opts: Vec<String> = Vec::new();
    let mut skip_content_type = false;
    let bytes = req.body.bytes();
    if !bytes.is_empty() {
        let multipart_fields = match params::body_format(&req.headers, &req.body) {
            BodyFormat::Multipart => req
                .headers
                .get("content-type")
                .and_then(|ct| params::multipart_params(ct, &bytes))
                // Only when every part is a text field (no file part left out).
                .filter(|fields| {
                    let parts = bytes
                        .windows(b"content-disposition".len())
                        .filter(|w| w.eq_ignore_ascii_case(b"content-disposition"))
                        .count();
                    parts == fields.len()
                }),
            _ => None,
        };
        match (multipart_fields, req.body.as_text()) {
            (Some(fields), _) if !req.body.truncated => {
                skip_content_type = true;
                for (k, v) in fields {
                    body_opts.push(format!(
                        "--form-string {}",
                        shell_quote(&format!("{k}={v}"))
                    ));
                }
            }
            (_, Some(t)) if !t.contains(['\r', '\0']) => {
                body_opts.push(format!("--data-raw {}", shell_quote(t)));
            }
            _ => {
                pipe = Some(format!("printf {} |", shell_quote(&printf_format(&bytes))));
                body_opts.push("--data-binary @-".to_string());
            }
        }
        if req.body.truncated {
            notes.push(format!(
                "# the captured body was cut at the capture limit: this sends its first {} of {} bytes",
                bytes.len(),
                req.body
                    .size
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "?".into())
            ));
        }
    }
    let method = req.method.to_ascii_uppercase();
    let method_opt = match (method.as_str(), body_opts.is_empty()) {
        ("GET", true) | ("POST", false) => None,
        ("HEAD", true) => Some("--head".to_string()),
        (m, _) => Some(format!("-X {}", shell_quote(m))),
    };
    let mut first = String::new();
    if let Some(p) = pipe {
        first.push_str(&p);
        first.push(' ');
    }
    first.push_str("curl");
    if let Some(m) = method_opt {
        first.push(' ');
        first.push_str(&m);
    }
    first.push(' ');
    first.push_str(&shell_quote(&req.url));
    let mut parts = vec![first];
    let mut compressed = false;
    for (k, v) in &req.headers.0 {
        if k.eq_ignore_ascii_case("accept-encoding") {
            compressed = true;
        }
        if !is_replayed_header(k) || (skip_content_type && k.eq_ignore_ascii_case("content-type")) {
            continue;
        }
        parts.push(format!("-H {}", shell_quote(&format!("{k}: {v}"))));
    }
    if compressed {
        // The client asked for compression: curl asks for what it can
        // decode and prints the answer decoded.
        parts.push("--compressed".to_string());
    }
    parts.extend(body_opts);
    let mut out = notes.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&parts.join(" \\\n  "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Body, Kind};

    fn rec(method: &str) -> Record {
        Record::bare(
            "0000000000000001",
            time::OffsetDateTime::UNIX_EPOCH,
            Kind::TokenRequest,
            method,
            "https://idp.example/token",
        )
    }

    /// Run `cmd` through `sh` with `curl` replaced by a function printing
    /// each argument on its own line (and stdin after `--stdin--`).
    fn words(cmd: &str) -> Vec<String> {
        let script = format!(
            "curl() {{ for a in \"$@\"; do printf '%s\\n' \"$a\"; done; printf -- '--stdin--\\n'; cat; }}\n{cmd}\n"
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd}: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .split('\n')
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn quotes_survive_and_hop_headers_are_dropped() {
        let mut r = rec("POST");
        r.request.headers.push("Host", "idp.example");
        r.request.headers.push(":authority", "idp.example");
        r.request.headers.push("Authorization", "Basic YTpi");
        r.request.headers.push("Accept-Encoding", "gzip, br");
        r.request.headers.push("Connection", "keep-alive");
        r.request.body = Body::from_bytes(b"grant_type=x&note=it's $HOME `id`");
        let c = command(&r);
        assert!(c.starts_with("curl 'https://idp.example/token'"), "{c}");
        assert!(c.contains("-H 'Authorization: Basic YTpi'"), "{c}");
        assert!(c.contains("--compressed"), "{c}");
        for gone in ["Host:", ":authority", "Accept-Encoding", "Connection"] {
            assert!(!c.contains(gone), "{gone} in {c}");
        }
        let w = words(&c);
        assert_eq!(
            w[..7],
            [
                "https://idp.example/token",
                "-H",
                "Authorization: Basic YTpi",
                "--compressed",
                "--data-raw",
                "grant_type=x&note=it's $HOME `id`",
                "--stdin--",
            ]
        );
    }

    #[test]
    fn binary_and_crlf_bodies_are_piped_exactly() {
        let mut r = rec("PUT");
        let raw: Vec<u8> = (0u8..=255).chain(*b"%s\\n'").collect();
        r.request.body = Body::from_bytes(&raw);
        let c = command(&r);
        assert!(c.starts_with("printf '"), "{c}");
        assert!(
            c.contains("curl -X 'PUT' 'https://idp.example/token'"),
            "{c}"
        );
        assert!(c.ends_with("--data-binary @-"), "{c}");
        let script = format!("curl() {{ cat; }}\n{c}\n");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, raw);
    }

    #[test]
    fn multipart_text_fields_become_form_strings() {
        let mut r = rec("POST");
        r.request
            .headers
            .push("Content-Type", "multipart/form-data; boundary=XyZ");
        r.request.body = Body::from_bytes(
            b"--XyZ\r\ncontent-disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--XyZ\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\n@me\r\n--XyZ--\r\n",
        );
        let c = command(&r);
        assert!(!c.contains("Content-Type"), "{c}");
        let w = words(&c);
        assert_eq!(
            w[..6],
            [
                "https://idp.example/token",
                "--form-string",
                "grant_type=client_credentials",
                "--form-string",
                "client_id=@me",
                "--stdin--"
            ]
        );
    }

    #[test]
    fn get_without_body_has_no_method_and_truncation_is_noted() {
        assert_eq!(command(&rec("GET")), "curl 'https://idp.example/token'");
        let mut r = rec("POST");
        r.request.body = Body::from_bytes(b"grant_type=x");
        r.request.body.truncated = true;
        r.request.body.size = Some(99);
        let c = command(&r);
        assert!(c.starts_with("# the captured body was cut"), "{c}");
        assert!(c.contains("first 12 of 99 bytes"), "{c}");
    }
}

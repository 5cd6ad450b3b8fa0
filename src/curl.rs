//! A captured request as a `curl` command line (POSIX shell quoting).
//!
//! Used by `flows show ID --curl` and the web UI's "copy as curl" (the one
//! generator for both). The command sends what was captured, with its real
//! values (it is meant for the user's own terminal; run the record through
//! [`crate::redact`] first to share it). It names no proxy: run it through
//! `oauthscope exec` (or with `HTTPS_PROXY` set) to capture it again.
//!
//! Nothing a capture (or a HAR someone sent) holds can become a curl
//! option: every argument is single-quoted, the URL is passed as the value
//! of `--url`, the method as the value of `-X` (only when it is an HTTP
//! token), headers as values of `-H` (only names that are HTTP tokens), and
//! the body is never an argument of curl at all: `printf -- '%s' 'BODY' |`
//! (text) or `printf -- 'OCTAL-ESCAPES' |` (bytes that are not text) feeds it
//! byte for byte to `--data-binary @-`. A body that starts with `-` (every
//! multipart body) is an operand after `--`, not an option of `printf`.

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
/// (`%` doubled, `\` escaped), everything else as a three-digit octal escape
/// (POSIX `printf` format escapes).
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

/// Can `s` be shown as it is, inside single quotes? Not when it holds a
/// control character other than newline and tab, or a bidirectional
/// control ([`crate::view::is_unsafe_char`]): a terminal would act on it
/// (`flows show --curl`), and an HTML page turns CR into LF and NUL into
/// U+FFFD (the web UI's "copy as curl" copies the page's text).
fn is_plain(s: &str) -> bool {
    !s.chars()
        .any(|c| c != '\n' && crate::view::is_unsafe_char(c))
}

/// One shell word holding exactly `s`: `'s'`, or `"$(printf -- 'OCTAL')"`
/// when `s` is not [`is_plain`] (a trailing newline would be lost there;
/// URLs and header lines end in none).
fn shell_arg(s: &str) -> String {
    if is_plain(s) {
        shell_quote(s)
    } else {
        format!(
            "\"$(printf -- {})\"",
            shell_quote(&printf_format(s.as_bytes()))
        )
    }
}

/// Is `s` an RFC 9110 §5.6.2 token (a valid method or header name) that
/// does not start with `-` (so it can never read as a curl option)?
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The request as a shell command that runs `curl`, one option per line.
/// Shape: optional `# note` lines, then `[printf -- FMT ARG |] curl
/// [-X 'M'] --url 'URL' -H 'Name: value'... [--compressed]
/// [--data-binary @-]`. Secrets are kept: this is for replaying.
pub fn command(rec: &Record) -> String {
    let req = &rec.request;
    let mut notes: Vec<String> = Vec::new();
    let mut pipe: Option<String> = None;
    let bytes = req.body.bytes();
    let has_body = !bytes.is_empty();
    if has_body {
        pipe = Some(match req.body.as_text() {
            Some(t) if is_plain(t) => format!("printf -- '%s' {} |", shell_quote(t)),
            _ => format!("printf -- {} |", shell_quote(&printf_format(&bytes))),
        });
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
    let method_opt = match (method.as_str(), has_body) {
        ("GET", false) | ("POST", true) => None,
        ("HEAD", false) => Some("--head".to_string()),
        (m, _) if is_token(m) => Some(format!("-X {}", shell_quote(m))),
        (_, _) => {
            notes.push(format!(
                "# the captured method is not an HTTP method (RFC 9110 §9.1): left out ({} bytes)",
                req.method.len()
            ));
            None
        }
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
    first.push_str(" --url ");
    first.push_str(&shell_arg(&req.url));
    let mut parts = vec![first];
    let mut compressed = false;
    let mut skipped = 0usize;
    for (k, v) in &req.headers.0 {
        if k.eq_ignore_ascii_case("accept-encoding") {
            compressed = true;
        }
        if !is_replayed_header(k) {
            continue;
        }
        if !is_token(k) {
            skipped += 1;
            continue;
        }
        parts.push(format!("-H {}", shell_arg(&format!("{k}: {v}"))));
    }
    if skipped > 0 {
        notes.push(format!(
            "# {skipped} captured header(s) with a name that is not an HTTP token (RFC 9110 §5.1) left out"
        ));
    }
    if compressed {
        // The client asked for compression: curl asks for what it can
        // decode and prints the answer decoded.
        parts.push("--compressed".to_string());
    }
    if has_body {
        parts.push("--data-binary '@-'".to_string());
    }
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
    /// each argument on its own line; returns the arguments and stdin.
    fn run(cmd: &str) -> (Vec<String>, Vec<u8>) {
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
        let marker = b"--stdin--\n";
        let at = out
            .stdout
            .windows(marker.len())
            .position(|w| w == marker)
            .unwrap();
        let args = String::from_utf8_lossy(&out.stdout[..at])
            .lines()
            .map(str::to_owned)
            .collect();
        (args, out.stdout[at + marker.len()..].to_vec())
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
        assert!(c.contains("curl --url 'https://idp.example/token'"), "{c}");
        assert!(c.contains("-H 'Authorization: Basic YTpi'"), "{c}");
        assert!(c.contains("--compressed"), "{c}");
        for gone in ["Host:", ":authority", "Accept-Encoding", "Connection"] {
            assert!(!c.contains(gone), "{gone} in {c}");
        }
        let (args, stdin) = run(&c);
        assert_eq!(
            args,
            [
                "--url",
                "https://idp.example/token",
                "-H",
                "Authorization: Basic YTpi",
                "--compressed",
                "--data-binary",
                "@-",
            ]
        );
        assert_eq!(stdin, b"grant_type=x&note=it's $HOME `id`");
    }

    #[test]
    fn binary_and_crlf_bodies_are_piped_exactly() {
        let mut r = rec("PUT");
        let raw: Vec<u8> = (0u8..=255).chain(*b"%s\\n'").collect();
        r.request.body = Body::from_bytes(&raw);
        let c = command(&r);
        assert!(c.starts_with("printf -- '"), "{c}");
        assert!(
            c.contains("curl -X 'PUT' --url 'https://idp.example/token'"),
            "{c}"
        );
        assert!(c.ends_with("--data-binary '@-'"), "{c}");
        assert_eq!(run(&c).1, raw);
    }

    #[test]
    fn hostile_url_method_headers_and_bodies_stay_values() {
        let mut r = rec("-K-");
        r.request.url = "-K-".into();
        r.request.headers.push("-o", "/tmp/x");
        r.request.headers.push("X-Ok", "-K- '$(id)'");
        // A curl config file, then a multipart body: both start with `-` or hold options.
        for body in [
            "--url http://evil.example/\n-o /tmp/pwned\n".as_bytes(),
            b"--XyZ\r\ncontent-disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n\x00\xff-K-\r\n--XyZ--\r\n",
            b"-",
        ] {
            r.request.body = Body::from_bytes(body);
            let c = command(&r);
            let (args, stdin) = run(&c);
            assert_eq!(stdin, body, "{c}");
            assert_eq!(
                args,
                ["--url", "-K-", "-H", "X-Ok: -K- '$(id)'", "--data-binary", "@-"],
                "{c}"
            );
            assert!(c.starts_with("# the captured method"), "{c}");
            assert!(c.contains("# 1 captured header(s)"), "{c}");
        }
    }

    #[test]
    fn get_without_body_has_no_method_and_truncation_is_noted() {
        assert_eq!(
            command(&rec("GET")),
            "curl --url 'https://idp.example/token'"
        );
        let mut r = rec("POST");
        r.request.body = Body::from_bytes(b"grant_type=x");
        r.request.body.truncated = true;
        r.request.body.size = Some(99);
        let c = command(&r);
        assert!(c.starts_with("# the captured body was cut"), "{c}");
        assert!(c.contains("first 12 of 99 bytes"), "{c}");
    }
}

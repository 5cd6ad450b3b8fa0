//! `ca doctor`: does each common client stack trust the CA *right now*, in
//! this environment?
//!
//! A throw-away TLS server on `127.0.0.1:0` presents a leaf issued by the CA
//! (for `localhost`, or for a name inside the CA's name constraints), and the
//! real clients connect to it: `curl`, Python's `ssl` (`SSL_CERT_FILE`),
//! Python `requests` (`REQUESTS_CA_BUNDLE`, else certifi), Node
//! (`NODE_EXTRA_CA_CERTS`). The system store is checked by loading it as
//! rustls-native-certs does (`SSL_CERT_FILE`, `SSL_CERT_DIR`, the OS store).
//! Each client gets [`CLIENT_TIMEOUT`]; nothing leaves 127.0.0.1.

use crate::ca::LocalCa;
use std::io::Read as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for one client.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The client completed a verified TLS handshake with a leaf of this CA.
    Trusted,
    /// The client refused the certificate (its message).
    NotTrusted(String),
    /// The client is not installed (what is missing).
    Missing(String),
    /// The check itself failed (timeout, crash: the message).
    Failed(String),
}

/// One client stack and its verdict.
#[derive(Debug, Clone)]
pub struct Check {
    /// Short name (`curl`, `python ssl`, ...).
    pub client: &'static str,
    /// Where that client takes its roots from, as set in this environment.
    pub source: String,
    /// What was found.
    pub verdict: Verdict,
}

/// Errors starting the checks.
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    /// The test server could not start.
    #[error("starting the local TLS test server: {0}")]
    Server(String),
}

/// The host name the test leaf is issued for: `localhost` when the CA may
/// issue for it, else a name inside its constraints.
pub fn test_name(ca: &LocalCa) -> String {
    if ca.permits("localhost") {
        return "localhost".into();
    }
    for d in &ca.scope().dns {
        let name = match d.strip_prefix('.') {
            Some(parent) => format!("oauthscope-doctor.{parent}"),
            None => d.clone(),
        };
        if ca.permits(&name) {
            return name;
        }
    }
    for (ip, _) in &ca.scope().ips {
        if ca.permits(&ip.to_string()) {
            return ip.to_string();
        }
    }
    "localhost".into()
}

/// A TLS server answering `200 ok` with a leaf for `name`, on its own thread.
fn start_server(ca: &LocalCa, name: &str) -> Result<SocketAddr, DoctorError> {
    let cfg = ca
        .server_config_for(name)
        .map_err(|e| DoctorError::Server(e.to_string()))?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| DoctorError::Server(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| DoctorError::Server(e.to_string()))?;
    std::thread::Builder::new()
        .name("oauthscope-doctor".into())
        .spawn(move || {
            for stream in listener.incoming().take(64) {
                let Ok(mut tcp) = stream else { continue };
                let _ = tcp.set_read_timeout(Some(CLIENT_TIMEOUT));
                let _ = tcp.set_write_timeout(Some(CLIENT_TIMEOUT));
                let Ok(mut conn) = rustls::ServerConnection::new(cfg.clone()) else {
                    continue;
                };
                let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
                let mut buf = [0u8; 4096];
                let mut head = Vec::new();
                // Read the request head (or fail the handshake), then answer.
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
                    match tls.read(&mut buf) {
                        Ok(n) if n > 0 => head.extend_from_slice(&buf[..n]),
                        _ => break,
                    }
                }
                if !head.is_empty() {
                    use std::io::Write as _;
                    let _ = tls.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    );
                    let _ = tls.flush();
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            }
        })
        .map_err(|e| DoctorError::Server(e.to_string()))?;
    Ok(addr)
}

/// Run `cmd`, bounded by [`CLIENT_TIMEOUT`]: (exit success, stdout + stderr).
fn run_bounded(mut cmd: Command) -> Result<(bool, String), Verdict> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = match cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Verdict::Missing(format!("{program} is not on PATH")))
        }
        Err(e) => return Err(Verdict::Failed(format!("running {program}: {e}"))),
    };
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let readers = (
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        }),
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        }),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < CLIENT_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Verdict::Failed(format!(
                    "{program} did not finish within {} s",
                    CLIENT_TIMEOUT.as_secs()
                )));
            }
        }
    };
    let text = format!(
        "{}{}",
        readers.0.join().unwrap_or_default(),
        readers.1.join().unwrap_or_default()
    );
    Ok((status.success(), text.trim().to_string()))
}

fn env_or(var: &str, otherwise: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => format!("{var}={v}"),
        _ => otherwise.to_string(),
    }
}

/// The last line that says something (clients print stack traces).
fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .chars()
        .take(200)
        .collect()
}

fn verdict_of(result: Result<(bool, String), Verdict>, missing_marker: &str) -> Verdict {
    match result {
        Err(v) => v,
        Ok((true, out)) if out.ends_with("OK") => Verdict::Trusted,
        Ok((_, out)) if out.contains(missing_marker) && !missing_marker.is_empty() => {
            Verdict::Missing(last_line(&out))
        }
        Ok((_, out)) => Verdict::NotTrusted(last_line(&out)),
    }
}

const PYTHON_SSL: &str = r#"
import socket, ssl, sys
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context()
with socket.create_connection((host, port), timeout=8) as s:
    with ctx.wrap_socket(s, server_hostname=name):
        pass
print("OK")
"#;

const PYTHON_REQUESTS: &str = r#"
import os, socket, ssl, sys
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
if not bundle:
    try:
        import certifi
    except ImportError:
        print("MISSING: neither REQUESTS_CA_BUNDLE nor certifi")
        sys.exit(3)
    bundle = certifi.where()
ctx = ssl.create_default_context(cafile=bundle)
with socket.create_connection((host, port), timeout=8) as s:
    with ctx.wrap_socket(s, server_hostname=name):
        pass
print("OK")
"#;

const NODE: &str = r#"
const tls = require('tls');
const [host, port, name] = process.argv.slice(1);
const s = tls.connect({ host, port: Number(port), servername: name }, () => {
  console.log(s.authorized ? 'OK' : 'not authorized: ' + s.authorizationError);
  s.destroy();
});
s.on('error', (e) => { console.log(e.code + ': ' + e.message); process.exit(2); });
setTimeout(() => { console.log('timeout'); process.exit(2); }, 8000).unref();
"#;

/// Run every check against `ca` in the current environment.
pub fn run_checks(ca: &LocalCa) -> Result<Vec<Check>, DoctorError> {
    let name = test_name(ca);
    let addr = start_server(ca, &name)?;
    let host = addr.ip().to_string();
    let port = addr.port().to_string();
    let mut checks = Vec::new();

    let native = rustls_native_certs::load_native_certs();
    checks.push(Check {
        client: "system store",
        // rustls-native-certs reads SSL_CERT_FILE instead of the OS store
        // when it is set (as `oauthscope env` sets it): say so.
        source: match std::env::var("SSL_CERT_FILE") {
            Ok(v) if !v.is_empty() => {
                format!("SSL_CERT_FILE={v}, which replaces the OS trust store in this shell")
            }
            _ => "the OS trust store".to_string(),
        },
        verdict: if native.certs.iter().any(|c| c == ca.cert_der()) {
            Verdict::Trusted
        } else {
            Verdict::NotTrusted(format!(
                "not among the {} roots found there",
                native.certs.len()
            ))
        },
    });

    let mut curl = Command::new("curl");
    curl.args(["-sS", "-o", "/dev/null", "--http1.1", "--max-time", "8"])
        .args(["--noproxy", "*", "--resolve"])
        .arg(format!("{name}:{port}:{host}"))
        .arg(format!("https://{}:{port}/", url_host(&name)));
    checks.push(Check {
        client: "curl",
        source: env_or("CURL_CA_BUNDLE", "curl's default bundle"),
        verdict: match run_bounded(curl) {
            Ok((true, _)) => Verdict::Trusted,
            // curl's first line says what failed; the rest is advice.
            Ok((false, out)) => Verdict::NotTrusted(
                out.lines()
                    .find(|l| l.starts_with("curl: ("))
                    .map(|l| l.chars().take(200).collect())
                    .unwrap_or_else(|| last_line(&out)),
            ),
            other => verdict_of(other, ""),
        },
    });

    let python = if Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
    {
        "python3"
    } else {
        "python"
    };
    for (client, script, source) in [
        (
            "python ssl",
            PYTHON_SSL,
            env_or("SSL_CERT_FILE", "OpenSSL's default paths"),
        ),
        (
            "python requests",
            PYTHON_REQUESTS,
            env_or(
                "REQUESTS_CA_BUNDLE",
                &env_or("CURL_CA_BUNDLE", "certifi's bundle"),
            ),
        ),
    ] {
        let mut cmd = Command::new(python);
        cmd.args(["-c", script, &host, &port, &name]);
        checks.push(Check {
            client,
            source,
            verdict: verdict_of(run_bounded(cmd), "MISSING:"),
        });
    }

    let mut node = Command::new("node");
    node.args(["-e", NODE, &host, &port, &name]);
    checks.push(Check {
        client: "node",
        source: env_or("NODE_EXTRA_CA_CERTS", "Node's bundled roots"),
        verdict: verdict_of(run_bounded(node), ""),
    });
    Ok(checks)
}

fn url_host(name: &str) -> String {
    if name.contains(':') {
        format!("[{name}]")
    } else {
        name.to_string()
    }
}

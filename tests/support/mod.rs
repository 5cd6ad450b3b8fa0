//! Test harness: a real HTTPS provider on loopback with its own throwaway CA,
//! the oauthscope proxy in-process on port 0, and a reqwest client that sends
//! through the proxy and trusts only the oauthscope CA.
#![allow(dead_code)]

pub mod chromium;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use oauthscope::analyze::AnalyzeOptions;
use oauthscope::ca::LocalCa;
use oauthscope::home::Home;
use oauthscope::proxy::ProxyConfig;
use oauthscope::record::Record;
use oauthscope::session::{Session, SessionConfig};
use oauthscope::store::{Query, Store};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The access token the provider issues (characters that need escaping on purpose).
pub const ACCESS_TOKEN: &str = "at.Zq9+/=%41 one";
/// The refresh token the provider issues.
pub const REFRESH_TOKEN: &str = "rt.Kp3/+=%2F two";

/// Padding in the `/token-size` response (larger than the 1 MiB capture limit).
pub const BIG_TOKEN_PAD: usize = 2 * 1024 * 1024;

/// Size of the large download.
pub const BIG: usize = 50 * 1024 * 1024;

/// Deterministic bytes for position `i` of the large download.
pub fn big_chunk(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| ((i * 31 + j * 7) % 251) as u8).collect()
}

/// A provider with its own CA, written to `ca_pem`.
pub struct Provider {
    pub addr: SocketAddr,
    pub ca_pem_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Provider {
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{}", self.addr.port(), path)
    }
    pub fn localhost_url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.addr.port(), path)
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

type RespBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn full(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<RespBody> {
    let mut b = Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(body.into()).boxed()).unwrap()
}

async fn route(req: Request<hyper::body::Incoming>) -> Result<Response<RespBody>, Infallible> {
    let version = format!("{:?}", req.version());
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let mut resp = match path.as_str() {
        "/authorize" => {
            let state = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let loc = format!("http://localhost:3000/callback?code=CODE-abc%2B1&state={state}");
            full(302, &[("location", &loc)], "")
        }
        "/token" => {
            // Exact redirect_uri matching, as RFC 6749 §4.1.3 requires.
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let redirect = url::form_urlencoded::parse(&body)
                .find(|(k, _)| k == "redirect_uri")
                .map(|(_, v)| v.into_owned());
            if redirect.is_some_and(|r| r != "http://localhost:3000/callback") {
                return Ok(full(
                    400,
                    &[("content-type", "application/json")],
                    r#"{"error":"invalid_grant","error_description":"redirect_uri does not match"}"#,
                ));
            }
            let tokens = serde_json::json!({
                "access_token": ACCESS_TOKEN,
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": REFRESH_TOKEN,
            });
            full(
                200,
                &[("content-type", "application/json")],
                tokens.to_string(),
            )
        }
        "/gz/token" => {
            let _ = req.into_body().collect().await;
            let body = gzip(br#"{"access_token":"gz-at","token_type":"Bearer","expires_in":60}"#);
            full(
                200,
                &[
                    ("content-type", "application/json"),
                    ("content-encoding", "gzip"),
                ],
                body,
            )
        }
        "/token-size" => {
            // How many bytes arrived, and a large token response.
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let pad = "x".repeat(BIG_TOKEN_PAD);
            let answer = serde_json::json!({
                "access_token": "big-at",
                "token_type": "Bearer",
                "received": body.len(),
                "pad": pad,
            });
            full(
                200,
                &[("content-type", "application/json")],
                answer.to_string(),
            )
        }
        // Provider dialects (see tests/proxy_dialects.rs).
        "/login/oauth/access_token" => {
            // GitHub: no grant_type, errors as a form body with HTTP 200.
            let _ = req.into_body().collect().await;
            full(
                200,
                &[("content-type", "application/x-www-form-urlencoded; charset=utf-8")],
                "error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.&error_uri=https%3A%2F%2Fdocs.github.com",
            )
        }
        "/oauth/v2/authorize" | "/intuit/authorize" => {
            // Slack v2 (no response_type) and Intuit (adds realmId).
            let q: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            let get = |n: &str| {
                q.iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let extra = if path == "/intuit/authorize" {
                "&realmId=4620816365012345678"
            } else {
                ""
            };
            let loc = format!(
                "{}?code=dialect-code&state={}{extra}",
                get("redirect_uri"),
                get("state")
            );
            full(302, &[("location", &loc)], "")
        }
        "/.well-known/openid-configuration" => {
            // Endpoints at paths nothing else would recognise.
            let host = req
                .headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
                .or_else(|| req.uri().authority().map(|a| a.to_string()))
                .unwrap_or_default();
            let doc = serde_json::json!({
                "issuer": format!("https://{host}"),
                "authorization_endpoint": format!("https://{host}/login/start"),
                "token_endpoint": format!("https://{host}/custom/exchange"),
            });
            full(
                200,
                &[("content-type", "application/json")],
                doc.to_string(),
            )
        }
        "/custom/exchange" => {
            let _ = req.into_body().collect().await;
            full(
                200,
                &[("content-type", "application/json")],
                r#"{"access_token":"d-at","token_type":"Bearer","expires_in":60}"#,
            )
        }
        "/api/oauth.v2.access" => {
            let _ = req.into_body().collect().await;
            full(
                200,
                &[("content-type", "application/json; charset=utf-8")],
                r#"{"ok":false,"error":"invalid_code"}"#,
            )
        }
        "/v19.0/oauth/access_token" => full(
            200,
            &[("content-type", "application/json")],
            r#"{"access_token":"fb-at","token_type":"bearer","expires_in":5183944}"#,
        ),
        "/multipart/token" | "/upload" => {
            // How many bytes arrived (uploads stream through the proxy).
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let answer = if path == "/upload" {
                serde_json::json!({ "received": body.len() })
            } else {
                serde_json::json!({
                    "access_token": "mp-at",
                    "token_type": "Bearer",
                    "expires_in": 60,
                })
            };
            full(
                200,
                &[("content-type", "application/json")],
                answer.to_string(),
            )
        }
        "/static/app.js" => full(
            200,
            &[("content-type", "text/javascript")],
            "console.log('hi');",
        ),
        "/download" => {
            let chunk = 256 * 1024;
            let stream =
                futures::stream::iter((0..BIG / chunk).map(move |i| {
                    Ok::<_, Infallible>(Frame::data(Bytes::from(big_chunk(i, chunk))))
                }));
            Response::builder()
                .status(200)
                .header("content-type", "application/octet-stream")
                .header("content-length", BIG.to_string())
                .body(BodyExt::boxed(StreamBody::new(stream)))
                .unwrap()
        }
        _ => full(404, &[], "not found"),
    };
    resp.headers_mut()
        .insert("x-seen-version", version.parse().unwrap());
    Ok(resp)
}

/// A throwaway CA (written to `dir/provider-ca.pem`) and a TLS server
/// configuration (ALPN `alpn`) with a leaf for 127.0.0.1 and localhost.
pub fn server_tls(dir: &std::path::Path, alpn: &[&[u8]]) -> (rustls::ServerConfig, PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test provider CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca_pem_path = dir.join("provider-ca.pem");
    std::fs::write(&ca_pem_path, ca_cert.pem()).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf_cert.der().clone()], key)
    .unwrap();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (cfg, ca_pem_path)
}

/// Start the provider on 127.0.0.1:0 with a certificate for 127.0.0.1 and localhost.
pub async fn start_provider() -> Provider {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, ca_pem_path) = server_tls(dir.path(), &[b"h2", b"http/1.1"]);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), hyper::service::service_fn(route))
                    .await;
            });
        }
    });
    Provider {
        addr,
        ca_pem_path,
        _dir: dir,
    }
}

/// A whole session in-process (proxy, recorder, loopback API with
/// `proxy.json`, web UI) with a fresh data directory, started the way
/// `oauthscope run` starts it.
pub struct Harness {
    pub home: Home,
    pub ca: Arc<LocalCa>,
    pub store: Arc<Store>,
    pub session: Session,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// Start the proxy; `upstream_ca` is trusted upstream (the provider's CA).
    pub async fn start(upstream_ca: Vec<PathBuf>) -> Harness {
        Harness::start_intercepting(upstream_ca, Vec::new()).await
    }

    /// A provider on loopback and the proxy trusting its CA upstream.
    pub async fn with_provider() -> (Provider, Harness) {
        let provider = start_provider().await;
        let h = Harness::start(vec![provider.ca_pem_path.clone()]).await;
        (provider, h)
    }

    /// Start the proxy decrypting only the `intercept` hosts (empty: all).
    pub async fn start_intercepting(upstream_ca: Vec<PathBuf>, intercept: Vec<String>) -> Harness {
        Harness::start_with(upstream_ca, intercept, &[], ProxyConfig::default()).await
    }

    /// Start the proxy with a CA constrained to `name_constraints` (as
    /// `ca init --name-constraint` makes it) and `base` settings.
    pub async fn start_with(
        upstream_ca: Vec<PathBuf>,
        intercept: Vec<String>,
        name_constraints: &[&str],
        base: ProxyConfig,
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let scope = oauthscope::ca::NameScope::parse(
            &name_constraints
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        // The session loads the CA this creates (constrained or not).
        LocalCa::init(&home, &scope).unwrap();
        let session = Session::start(SessionConfig {
            home: home.clone(),
            proxy: ProxyConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                upstream_ca,
                intercept,
                ..base
            },
            web: Some("127.0.0.1:0".parse().unwrap()),
            analyze: AnalyzeOptions::default(),
            observer: None,
        })
        .await
        .unwrap();
        Harness {
            home,
            ca: session.ca.clone(),
            store: session.store.clone(),
            session,
            dir,
        }
    }

    /// The proxy's address.
    pub fn proxy_addr(&self) -> SocketAddr {
        self.session.proxy_addr()
    }

    /// Stop the session in order (web UI, API, proxy, proxy.json, flush).
    pub async fn shutdown(self) {
        self.session.shutdown().await.unwrap();
    }

    /// A client that sends everything through the proxy and trusts only our CA.
    pub fn client(&self) -> reqwest::Client {
        self.client_builder().build().unwrap()
    }

    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .proxy(reqwest::Proxy::all(self.session.proxy_url()).unwrap())
            .tls_certs_only([
                reqwest::Certificate::from_pem(self.ca.cert_pem().as_bytes()).unwrap(),
            ])
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
    }

    /// Run the real binary with `--home` set to this harness's data directory.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        let home = self.home.root().to_path_buf();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
                .arg("--home")
                .arg(&home)
                .args(&args)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }

    /// POST a minimal client_credentials token request with `client`.
    pub async fn client_credentials(client: &reqwest::Client, url: String) -> reqwest::Response {
        client
            .post(url)
            .form(&[("grant_type", "client_credentials"), ("client_id", "svc")])
            .send()
            .await
            .unwrap()
    }

    /// Wait (bounded) until the store holds `n` records, then return them.
    pub async fn wait_for(&self, n: usize) -> Vec<Record> {
        for _ in 0..200 {
            let recs = self.store.query(&Query::default()).unwrap();
            if recs.len() >= n {
                return recs;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let recs = self.store.query(&Query::default()).unwrap();
        panic!("expected {n} records, found {}: {recs:#?}", recs.len());
    }
}

/// Read a response body as a stream, hashing it without keeping it.
pub async fn sha256_stream(resp: reqwest::Response) -> (usize, Vec<u8>) {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut n = 0;
    let mut s = resp.bytes_stream();
    while let Some(chunk) = s.next().await {
        let chunk = chunk.unwrap();
        n += chunk.len();
        h.update(&chunk);
    }
    (n, h.finalize().to_vec())
}

/// A real `oauthscope run` process with its own data directory, killed
/// (SIGKILL) when dropped.
pub struct RunProcess {
    pub child: std::process::Child,
    pub home: PathBuf,
    pub listen: SocketAddr,
    pub state: serde_json::Value,
    _dir: tempfile::TempDir,
}

impl RunProcess {
    /// Start `oauthscope run` trusting `upstream_ca`, with `extra` arguments,
    /// and wait (bounded) until it announced itself in proxy.json.
    pub fn start(upstream_ca: &std::path::Path, extra: &[&str]) -> RunProcess {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
            .arg("--home")
            .arg(&home)
            .args([
                "run",
                "--listen",
                &listen.to_string(),
                "--web",
                "127.0.0.1:0",
            ])
            .arg("--upstream-ca")
            .arg(upstream_ca)
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut p = RunProcess {
            child,
            home,
            listen,
            state: serde_json::Value::Null,
            _dir: dir,
        };
        for _ in 0..600 {
            if let Ok(bytes) = std::fs::read(p.home.join("proxy.json")) {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    if std::net::TcpStream::connect(listen).is_ok() {
                        p.state = v;
                        return p;
                    }
                }
            }
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("oauthscope run exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("oauthscope run did not announce itself within 15 s");
    }

    /// The loopback API's address and bearer token, from proxy.json.
    pub fn api(&self) -> (SocketAddr, String) {
        (
            self.state["api"].as_str().unwrap().parse().unwrap(),
            self.state["token"].as_str().unwrap().to_string(),
        )
    }

    /// The CA certificate (PEM) this proxy issues leaves from.
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.home.join("ca").join("ca.pem")).unwrap()
    }

    /// A client sending everything through this proxy, trusting only its CA.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .proxy(reqwest::Proxy::all(format!("http://{}", self.listen)).unwrap())
            .tls_certs_only([reqwest::Certificate::from_pem(self.ca_pem().as_bytes()).unwrap()])
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// Send SIGTERM and wait (bounded) for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..400 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.child.kill();
        panic!("oauthscope run did not stop within 10 s of SIGTERM");
    }
}

impl Drop for RunProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `cmd` to completion with stdout and stderr captured (read on their
/// own threads, so a chatty child cannot block on a full pipe), killing it
/// after `limit`. Blocking: call from `spawn_blocking` in async tests.
pub fn output_within(cmd: &mut std::process::Command, limit: Duration) -> std::process::Output {
    use std::io::Read as _;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

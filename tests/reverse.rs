//! Reverse mode (`run --reverse URL`): one port answers plain HTTP and
//! HTTPS (our CA's certificate), forwards everything to a loopback TLS
//! provider, and records and annotates what passes like the forward proxy.

mod support;

use oauthscope::analyze::{analyze, AnalyzeOptions};
use oauthscope::proxy::reverse::ReverseConfig;
use oauthscope::proxy::ProxyConfig;
use oauthscope::record::{Kind, Record};
use std::time::Duration;
use support::{start_provider, Harness, ACCESS_TOKEN};

/// A session in reverse mode to `upstream`, trusting `upstream_ca`.
async fn reverse_to(upstream: &str, upstream_ca: Vec<std::path::PathBuf>) -> Harness {
    let mut rev = ReverseConfig::new(upstream.parse().unwrap());
    rev.hosts = vec!["idp.test".into()];
    Harness::start_with(
        upstream_ca,
        Vec::new(),
        &[],
        ProxyConfig {
            reverse: Some(rev),
            ..ProxyConfig::default()
        },
    )
    .await
}

/// A client that talks to the listener directly (no proxy) and trusts only our CA.
fn direct(h: &Harness) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(h.ca.cert_pem().as_bytes()).unwrap()])
        .resolve("idp.test", h.proxy_addr())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn by_flavour(recs: &[Record], n: u8) -> &Record {
    recs.iter()
        .find(|r| r.flavour.as_ref().and_then(|f| f.number) == Some(n))
        .unwrap_or_else(|| panic!("no record with flavour {n}: {recs:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_port_answers_http_and_https_and_records_flavours() {
    let provider = start_provider().await;
    let upstream = provider.url("");
    let h = reverse_to(&upstream, vec![provider.ca_pem_path.clone()]).await;
    let port = h.proxy_addr().port();
    let c = direct(&h);

    // Plain HTTP, Basic credentials and a form body: flavour 1.
    let r = c
        .post(format!("http://127.0.0.1:{port}/token"))
        .basic_auth("app", Some("s3cret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["access_token"], ACCESS_TOKEN, "the provider's answer");

    // HTTPS on the same port (HTTP/2 through ALPN), credentials in the body: flavour 3.
    let r = c
        .post(format!("https://127.0.0.1:{port}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "CODE-abc+1"),
            ("redirect_uri", "http://localhost:3000/callback"),
            ("client_id", "app"),
            ("client_secret", "s3cret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_2, "h2 through ALPN");
    assert!(r.text().await.unwrap().contains("refresh_token"));

    // The certificate also holds localhost and every --reverse-host.
    for host in ["localhost", "idp.test"] {
        let r = c
            .get(format!(
                "https://{host}:{port}/.well-known/openid-configuration"
            ))
            .send()
            .await
            .unwrap_or_else(|e| panic!("https://{host}: {e:?}"));
        assert_eq!(r.status(), 200, "{host}");
    }

    let recs = analyze(&h.wait_for(4).await, &AnalyzeOptions::default());
    let basic = by_flavour(&recs, 1);
    assert_eq!(basic.kind, Kind::TokenRequest);
    assert_eq!(basic.grant_type.as_deref(), Some("client_credentials"));
    // Recorded as the provider got it: its URL and Host.
    assert_eq!(basic.request.url, provider.url("/token"));
    assert_eq!(
        basic.request.headers.get("host"),
        Some(format!("127.0.0.1:{}", provider.addr.port()).as_str())
    );
    assert_eq!(basic.response.as_ref().unwrap().status, 200);
    let body = by_flavour(&recs, 3);
    assert_eq!(body.kind, Kind::TokenRequest);
    assert_eq!(body.grant_type.as_deref(), Some("authorization_code"));
    assert!(body
        .response
        .as_ref()
        .unwrap()
        .body
        .as_text()
        .unwrap()
        .contains(ACCESS_TOKEN));
    assert_eq!(
        recs.iter().filter(|r| r.kind == Kind::Discovery).count(),
        2,
        "the discovery documents are recorded too"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_a_502_that_says_why_and_is_recorded() {
    // Bound but not listening: nobody else can take the port while the
    // test runs, and connecting to it is refused.
    let closed = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    closed
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let dead = closed.local_addr().unwrap().as_socket().unwrap();
    let h = reverse_to(&format!("https://{dead}"), Vec::new()).await;
    let port = h.proxy_addr().port();
    let c = direct(&h);
    for scheme in ["http", "https"] {
        let r = c
            .post(format!("{scheme}://127.0.0.1:{port}/oauth2/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "a"),
                ("client_secret", "b"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 502, "{scheme}");
        assert_eq!(r.headers()["x-oauthscope-error"], "upstream");
        let text = r.text().await.unwrap();
        assert!(
            text.contains(&format!("connection refused by 127.0.0.1:{}", dead.port())),
            "{text}"
        );
    }
    // Not OAuth: answered the same way, not recorded (as the forward proxy does).
    let r = c
        .get(format!("http://127.0.0.1:{port}/static/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let recs = h.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let recs_after = h.store.query(&Default::default()).unwrap();
    assert_eq!(
        recs_after.len(),
        2,
        "only the token requests: {recs_after:#?}"
    );
    for r in &recs {
        assert_eq!(r.kind, Kind::TokenRequest);
        assert!(r.response.is_none());
        assert!(
            r.error
                .as_deref()
                .unwrap_or("")
                .contains("connection refused"),
            "{:?}",
            r.error
        );
        assert_eq!(r.request.url, format!("https://{dead}/oauth2/token"));
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_process_in_reverse_mode_announces_itself_and_records() {
    let provider = start_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let stderr_path = dir.path().join("stderr.txt");
    let upstream = provider.url("");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(&home)
        .args([
            "run",
            "--reverse",
            &upstream,
            "--listen",
            &listen,
            "--no-web",
        ])
        .args(["--reverse-host", "idp.test", "--upstream-ca"])
        .arg(&provider.ca_pem_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut state = serde_json::Value::Null;
    for _ in 0..600 {
        if let Ok(bytes) = std::fs::read(home.join("proxy.json")) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                if std::net::TcpStream::connect(&listen).is_ok() {
                    state = v;
                    break;
                }
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "run exited early");
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(state["proxy"], listen.as_str(), "{state}");
    assert_eq!(state["reverse"], format!("{upstream}/").as_str(), "{state}");
    assert!(state["api"].as_str().is_some(), "{state}");

    let ca = std::fs::read(home.join("ca").join("ca.pem")).unwrap();
    let c = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let r = c
        .post(format!("https://localhost:{port}/token"))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials","client_id":"svc","client_secret":"pw"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // `flows list` reaches the records through the running process's API.
    let list = |home: std::path::PathBuf| async move {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
                .arg("--home")
                .arg(home)
                .args(["flows", "list", "--json"])
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    let mut listed = serde_json::Value::Null;
    for _ in 0..100 {
        let out = list(home.clone()).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        listed = serde_json::from_slice(&out.stdout).unwrap();
        if listed.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rec = &listed[0];
    assert_eq!(rec["kind"], "token_request", "{listed}");
    assert_eq!(rec["flavour"]["number"], 4, "{rec}");
    assert_eq!(rec["request"]["url"], provider.url("/token"));

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut status = None;
    for _ in 0..400 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("run did not stop within 10 s of SIGTERM");
    };
    assert!(status.success(), "{status}");
    assert!(!home.join("proxy.json").exists(), "proxy.json removed");
    let banner = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(
        banner.contains(&format!("forwarding http(s)://{listen} → {upstream}")),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("https://idp.test:{port}")),
        "{banner}"
    );
    assert!(banner.contains("stopped; 1 exchange"), "{banner}");
}

#[test]
fn reverse_needs_an_http_url_and_reverse_host_needs_reverse() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
            .args(["--home", "/nonexistent-oauthscope-home", "run"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--reverse", "ftp://example.com"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("http:// or https://"));
    let out = run(&["--reverse-host", "idp.test"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reverse"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_slow_clients_are_closed_as_by_the_forward_proxy() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rev = ReverseConfig::new("https://127.0.0.1:1".parse().unwrap());
    let h = Harness::start_with(
        Vec::new(),
        Vec::new(),
        &[],
        ProxyConfig {
            reverse: Some(rev),
            header_timeout: Duration::from_secs(1),
            ..ProxyConfig::default()
        },
    )
    .await;
    let addr = h.proxy_addr();
    // Never a byte; half a head; a TLS hello cut short.
    let partial: [&[u8]; 3] = [
        b"",
        b"POST /token HTTP/1.1\r\nHost: x\r\n",
        &[0x16, 0x03, 0x01],
    ];
    for sent in partial {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(sent).await.unwrap();
        let started = std::time::Instant::now();
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "still open after 10 s having sent {sent:?}");
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "closed early having sent {sent:?}"
        );
    }
    h.shutdown().await;
}

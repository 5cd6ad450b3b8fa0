//! `oauthscope browser --headless` for real: Debian's chromium started by
//! the binary loads an authorize URL on the mock provider over HTTPS through
//! a running proxy, follows its redirect to an app's callback on loopback,
//! and everything is captured. The browser trusts the proxy's CA through its
//! throw-away profile only: the same run with another CA fails.

mod support;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use oauthscope::mock::{self, Client, MockConfig};
use serde_json::Value;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::Harness;

/// The app's side: a plain-HTTP callback page on loopback that shows the
/// code it got; `hits` counts the callbacks it answered.
async fn start_app(hits: Arc<AtomicUsize>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let hits = hits.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: hyper::Request<_>| {
                    if req.uri().path() == "/callback" {
                        hits.fetch_add(1, Ordering::SeqCst);
                    }
                    async move {
                        let q = req.uri().query().unwrap_or("").to_string();
                        let code = url::form_urlencoded::parse(q.as_bytes())
                            .find(|(k, _)| k == "code")
                            .map(|(_, v)| v.into_owned())
                            .unwrap_or_default();
                        let page = format!(
                            "<html><body><h1 id=done>signed in with code {code}</h1></body></html>"
                        );
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "text/html")
                                .body(Full::new(Bytes::from(page)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

/// Run the real binary (bounded: `browser --timeout` stops chromium, and the
/// whole command is killed after 150 s).
async fn oauthscope(home: &Path, args: Vec<String>) -> std::process::Output {
    let home = home.to_path_buf();
    tokio::task::spawn_blocking(move || {
        support::output_within(
            std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
                .arg("--home")
                .arg(&home)
                .args(&args)
                .env_remove("OAUTHSCOPE_HOME"),
            Duration::from_secs(150),
        )
    })
    .await
    .unwrap()
}

/// The profile directory the command said it removed.
fn removed_profile(stderr: &str) -> PathBuf {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("browser exited; removed its profile "))
        .unwrap_or_else(|| panic!("no profile removal reported:\n{stderr}"));
    PathBuf::from(line.trim())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_chromium_logs_in_through_the_proxy_trusting_only_our_ca() {
    assert!(
        oauthscope::browser::find(oauthscope::browser::Kind::Chromium).is_some(),
        "chromium is not installed: `apt-get install -y chromium` (.ci/run does it)"
    );
    login_through("chromium").await;
}

/// Firefox is not installed by `.ci/run`; where it is (with `certutil`,
/// which puts the CA in the throw-away profile), the same login works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_firefox_logs_in_through_the_proxy_trusting_only_our_ca() {
    if oauthscope::browser::find(oauthscope::browser::Kind::Firefox).is_none()
        || oauthscope::browser::find_on_path("certutil").is_none()
    {
        eprintln!(
            "SKIPPED headless_firefox_logs_in_through_the_proxy_trusting_only_our_ca: \
             needs firefox and certutil (apt-get install firefox-esr libnss3-tools)"
        );
        return;
    }
    login_through("firefox").await;
}

/// `oauthscope browser --browser NAME --headless` through a proxy started as
/// `run` starts it: the authorize request, its redirect and the loopback
/// callback are captured; then the same with another CA gets nowhere.
async fn login_through(browser: &str) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // The provider: the mock over TLS with a CA of its own, which only the proxy trusts.
    let provider_dir = tempfile::tempdir().unwrap();
    let (tls, provider_ca) = support::server_tls(provider_dir.path(), &[b"http/1.1"]);
    let hits = Arc::new(AtomicUsize::new(0));
    let app = start_app(hits.clone()).await;
    let callback = format!("http://127.0.0.1:{}/callback", app.port());
    let idp = mock::start(MockConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some(Arc::new(tls)),
        clients: vec![Client::new("browser-app", "s3cret", &[&callback])],
        ..MockConfig::default()
    })
    .await
    .unwrap();
    // The proxy, started as `run` starts it: it announces itself in proxy.json
    // (an ephemeral port, not 8080), which `browser` reads.
    let h = Harness::start(vec![provider_ca]).await;
    let mut authorize = url::Url::parse(&idp.authorize_url()).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "browser-app")
        .append_pair("redirect_uri", &callback)
        .append_pair("state", "st-headless");
    let out = oauthscope(
        h.home.root(),
        vec![
            "browser".into(),
            "--browser".into(),
            browser.into(),
            "--headless".into(),
            "--timeout".into(),
            "90".into(),
            authorize.to_string(),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("browsers found: ")
            && stderr.contains(&format!("{browser} ("))
            && stderr.contains(&format!("using {browser}")),
        "says what it found and chose:\n{stderr}"
    );
    assert!(stderr.contains("--browser"), "says how to pick another");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the app got its callback");
    if browser == "chromium" {
        assert!(
            stdout.contains("signed in with code mc_"),
            "the callback page (its DOM), reached through the provider's redirect:\n{stdout}"
        );
    }
    let profile = removed_profile(&stderr);
    assert!(!profile.exists(), "{} is left behind", profile.display());

    // What the proxy captured, as `flows list --json` shows it.
    let records = h.wait_for(2).await;
    assert_eq!(records.len(), 2, "{records:#?}");
    let out = h.cli(&["flows", "list", "--json"]).await;
    assert!(out.status.success());
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = list.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["authorize_request", "callback"], "{list:#?}");
    let auth = &list[0];
    assert!(auth["request"]["url"]
        .as_str()
        .unwrap()
        .starts_with(&idp.authorize_url()));
    assert_eq!(auth["response"]["status"], 302, "the redirect back");
    let location = auth["response"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case("location"))
        .map(|h| h[1].as_str().unwrap().to_string())
        .expect("the redirect's Location");
    assert!(location.starts_with(&callback), "{location}");
    let cb = &list[1];
    let cb_url = cb["request"]["url"].as_str().unwrap();
    assert!(
        cb_url.starts_with(&callback) && cb_url.contains("state=st-headless"),
        "the loopback callback went through the proxy too: {cb_url}"
    );
    assert_eq!(cb["flow"], auth["flow"], "one login");
    assert_eq!(cb["response"]["status"], 200);

    // The same browser with another data directory's CA (pointed at the same
    // proxy) does not get through: the trust came from the throw-away
    // profile's flags, nothing system-wide trusts the proxy's CA.
    let other = tempfile::tempdir().unwrap();
    let out = oauthscope(
        other.path(),
        vec![
            "browser".into(),
            "--browser".into(),
            browser.into(),
            "--headless".into(),
            // Firefox waits on its certificate error page until stopped.
            "--timeout".into(),
            "20".into(),
            "--proxy".into(),
            h.proxy_addr().to_string(),
            authorize.to_string(),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("signed in"),
        "a browser trusting another CA must not load the page:\n{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!removed_profile(&stderr).exists());
    assert_eq!(hits.load(Ordering::SeqCst), 1, "no second callback");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = h.store.query(&Default::default()).unwrap();
    assert_eq!(after.len(), 2, "nothing new was captured: {after:#?}");
    h.shutdown().await;
}

#[test]
fn a_headless_run_without_a_proxy_or_url_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
            .arg("--home")
            .arg(dir.path())
            .args(args)
            .env_remove("OAUTHSCOPE_HOME")
            .output()
            .unwrap()
    };
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = run(&[
        "browser",
        "--browser",
        "/bin/sh",
        "--headless",
        "--proxy",
        &free.to_string(),
        "https://example.com/",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("nothing is listening on {free}")) && err.contains("--proxy"),
        "{err}"
    );
    let out = run(&["browser", "--browser", "/bin/sh", "--headless"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--headless needs a URL"));
    let out = run(&["browser", "--browser", "no-such-browser-here"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("chromium, chrome, edge, brave, firefox"),
        "{err}"
    );
}

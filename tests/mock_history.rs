//! The mock keeps history: a real `oauthscope mock --home H` process stores
//! what it receives, and `oauthscope flows list --home H` lists each
//! attempt with its flavour while the mock runs (through its loopback API)
//! and after it stopped (from the store).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_oauthscope");

/// A running `oauthscope mock` process, killed when dropped.
struct Mock {
    child: Child,
    home: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Mock {
    /// Start `oauthscope mock --home DIR --listen 127.0.0.1:PORT ARGS` and
    /// wait (bounded) until it announced itself in proxy.json and listens.
    fn start(args: &[&str]) -> Mock {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(EXE)
            .arg("--home")
            .arg(&home)
            .args(["mock", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut m = Mock {
            child,
            home,
            port,
            _dir: dir,
        };
        for _ in 0..600 {
            if m.home.join("proxy.json").exists()
                && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            {
                return m;
            }
            if let Ok(Some(status)) = m.child.try_wait() {
                panic!("oauthscope mock exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("oauthscope mock did not announce itself within 15 s");
    }

    fn token_url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}/token", self.port)
    }

    /// SIGTERM, and wait (bounded) for a clean exit.
    fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..400 {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "mock exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("oauthscope mock did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `oauthscope probe` against `url` (all six flavours, a secret whose
/// URL-encoding differs, so 1/5 and 2/6 are different bytes); its exit code.
fn probe(url: &str, home: &Path) -> i32 {
    let out = Command::new(EXE)
        .arg("--home")
        .arg(home.join("probe-home"))
        .args(["probe", "--token-url", url, "--client-id", "any app"])
        .args(["--client-secret", "s3c+r/t=%"])
        .output()
        .unwrap();
    out.status.code().unwrap_or(-1)
}

/// `oauthscope flows list --home H --json`, until it lists `n` records (bounded).
fn listed(home: &Path, n: usize) -> Vec<serde_json::Value> {
    let mut last = Vec::new();
    for _ in 0..100 {
        let out = Command::new(EXE)
            .arg("--home")
            .arg(home)
            .args(["flows", "list", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "flows list: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        last = serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap();
        if last.len() >= n {
            return last;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "expected {n} records, flows list shows {}: {last:#?}",
        last.len()
    );
}

fn flavours(recs: &[serde_json::Value]) -> Vec<u64> {
    let mut f: Vec<u64> = recs
        .iter()
        .filter(|r| r["kind"] == "token_request")
        .filter_map(|r| r["flavour"]["number"].as_u64())
        .collect();
    f.sort_unstable();
    f
}

#[test]
fn any_client_gets_tokens_in_every_flavour_and_each_attempt_is_listed() {
    let mut m = Mock::start(&["--any-client"]);
    // It announces itself as `run` does: the API, the web UI, and that this
    // port is a reverse proxy (to its internal port), not a forward one.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(m.home.join("proxy.json")).unwrap()).unwrap();
    assert_eq!(state["proxy"], format!("127.0.0.1:{}", m.port).as_str());
    assert!(state["reverse"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert!(
        state["web_url"].as_str().unwrap().contains("token="),
        "{state}"
    );
    assert_eq!(probe(&m.token_url("http"), &m.home), 0, "flavours accepted");
    // HTTPS on the same port, trusting only the data directory's CA.
    let ca = std::fs::read(m.home.join("ca").join("ca.pem")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (status, body) = rt.block_on(async {
        let r = reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
            .post(m.token_url("https"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "never-registered"),
                ("client_secret", "whatever"),
            ])
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    });
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("access_token"), "{body}");

    // While the mock runs: through its API (it holds the store).
    let running = listed(&m.home, 7);
    assert_eq!(
        flavours(&running),
        vec![1, 2, 3, 3, 4, 5, 6],
        "{running:#?}"
    );
    for r in &running {
        assert_eq!(r["response"]["status"], 200, "{r}");
        assert_eq!(r["grant_type"], "client_credentials");
    }
    let https = running
        .iter()
        .find(|r| r["request"]["url"] == m.token_url("https"))
        .expect("the HTTPS request is recorded with the URL the client used");
    assert_eq!(https["flavour"]["number"], 3);

    // After it stopped: from the store.
    m.terminate();
    assert!(!m.home.join("proxy.json").exists());
    let stopped = listed(&m.home, 7);
    assert_eq!(stopped.len(), 7);
    assert_eq!(flavours(&stopped), flavours(&running));
}

#[test]
fn fail_all_refuses_every_flavour_and_every_attempt_is_listed() {
    let mut m = Mock::start(&["--fail-all", "401"]);
    assert_eq!(probe(&m.token_url("http"), &m.home), 1, "nothing accepted");
    let running = listed(&m.home, 6);
    assert_eq!(flavours(&running), vec![1, 2, 3, 4, 5, 6], "{running:#?}");
    for r in &running {
        assert_eq!(r["response"]["status"], 401, "{r}");
        let body: serde_json::Value =
            serde_json::from_str(r["response"]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"], "invalid_client", "{r}");
        let codes: Vec<&str> = r["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["code"].as_str())
            .collect();
        assert!(codes.contains(&"error.invalid_client"), "{codes:?}");
    }
    m.terminate();
    assert_eq!(flavours(&listed(&m.home, 6)), vec![1, 2, 3, 4, 5, 6]);
}

#[test]
fn a_mock_without_history_leaves_the_store_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(EXE)
        .arg("--home")
        .arg(dir.path())
        .args(["mock", "--fail-all", "200"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "--fail-all takes error statuses only"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("400..=599"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(EXE)
        .arg("--home")
        .arg(dir.path())
        .args([
            "mock",
            "--no-history",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..600 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "the mock listens");
    assert!(!dir.path().join("proxy.json").exists());
    assert!(!dir.path().join("store").exists());
}

#[test]
fn a_second_mock_on_a_held_store_serves_without_history_and_says_so() {
    let first = Mock::start(&[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err_path = first.home.with_file_name("second.err");
    let mut second = Command::new(EXE)
        .arg("--home")
        .arg(&first.home)
        .args(["mock", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..600 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = second.kill();
    let _ = second.wait();
    assert!(up, "the second mock serves all the same");
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert!(err.contains("not keeping history"), "{err}");
    assert!(
        err.contains(&format!("listening on 127.0.0.1:{}", first.port)),
        "{err}"
    );
}

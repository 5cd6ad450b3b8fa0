//! The real-provider suite: a certified OpenID provider (panva's
//! oidc-provider, node) over TLS on loopback, real relying parties
//! (openid-client on node, Authlib on Python) run under `oauthscope exec`,
//! and Debian's chromium (through chromedriver) logging in on the
//! provider's own pages through a real `oauthscope run`. Each scenario
//! misconfigures the provider's registration or the app, and the test
//! asserts the diagnosis `oauthscope flows list --json` gives, and that
//! the capture exported as HAR gives it again through `oauthscope analyze`.
//!
//! Install what it runs first (`.ci/run` does): `npm ci` in
//! tests/real_provider, and `python3 -m venv target/realop-venv &&
//! target/realop-venv/bin/pip install -r tests/real_provider/requirements.txt`.
//!
//! Scenarios oauthscope misdiagnoses today are listed in
//! tests/real_provider/pending.json (name -> why); a pending scenario that
//! passes fails the test until it is removed from the list.
//! `REALOP_SAVE_HAR=1` writes each scenario's capture to
//! tests/fixtures/realop/NAME.har.
#![cfg(unix)]

mod support;

use fantoccini::{Client, Locator};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::chromium::{self, find_program, free_port, Driver};
use support::RunProcess;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real_provider")
}

/// A child process killed when dropped, its output in a log file.
struct Proc {
    child: Child,
    what: String,
    log: PathBuf,
}

impl Proc {
    fn spawn(what: &str, cmd: &mut Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {what}: {e}"));
        Proc {
            child,
            what: what.to_string(),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait (bounded) until something accepts on 127.0.0.1:`port`.
    fn wait_listening(&mut self, port: u16) {
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(s)) = self.child.try_wait() {
                panic!(
                    "{} exited ({s}) before listening:\n{}",
                    self.what,
                    self.log()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{} did not listen on {port} within 30 s:\n{}",
                self.what,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM (exec passes it on to the app), then SIGKILL after 5 s.
    fn stop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The provider's CA (`ca.pem`) and its leaf for 127.0.0.1 and localhost
/// (`op.pem`, `op.key`), written to `dir`.
fn provider_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "real provider test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let paths = (dir.join("ca.pem"), dir.join("op.pem"), dir.join("op.key"));
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, leaf_cert.pem()).unwrap();
    std::fs::write(&paths.2, leaf_key.serialize_pem()).unwrap();
    (paths.0, paths.1, paths.2)
}

/// The installed node modules and Python venv, or a failure saying how to
/// install them (never a silent skip).
fn installed() -> (PathBuf, PathBuf) {
    let node = find_program(&["node", "nodejs"])
        .expect("node is not installed: `apt-get install -y nodejs npm` (.ci/run does it)");
    let version = Command::new(&node)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 20,
        "{} is Node.js {version:?}: openid-client 6 and oidc-provider 9 need 20+",
        node.display()
    );
    let modules = suite_dir().join("node_modules");
    for m in ["oidc-provider", "openid-client", "undici"] {
        assert!(
            modules.join(m).join("package.json").is_file(),
            "{m} is not installed in tests/real_provider/node_modules: run `npm ci` in tests/real_provider (.ci/run does it)"
        );
    }
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/realop-venv/bin/python3");
    let ok = python.is_file()
        && Command::new(&python)
            .args(["-c", "import authlib, requests"])
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the Authlib venv is missing: `python3 -m venv target/realop-venv && target/realop-venv/bin/pip install -r tests/real_provider/requirements.txt` (.ci/run does it)"
    );
    (node, python)
}

/// Chromium through the proxy (loopback too), trusting the proxy's CA by
/// its key, as `oauthscope browser` starts it; a fresh profile.
async fn browser(driver: &Driver, profile: &Path, run: &RunProcess) -> Client {
    let der = {
        use base64::Engine as _;
        let pem = run.ca_pem();
        let b64: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    };
    let spki = oauthscope::browser::spki_sha256_base64(&der).unwrap();
    let mut args = chromium::headless_args(profile);
    args.extend([
        format!("--proxy-server=http://{}", run.listen),
        "--proxy-bypass-list=<-loopback>".into(),
        format!("--ignore-certificate-errors-spki-list={spki}"),
    ]);
    chromium::browser(driver, json!({ "args": args })).await
}

/// Log in on whatever the provider shows (its login form, its consent
/// form) until the app's result page or the provider's error page; that
/// page's heading. `stop_at_login`: return at the login form instead.
async fn drive(c: &Client, stop_at_login: bool) -> String {
    let start = Instant::now();
    let mut last_action = String::new();
    while start.elapsed() < Duration::from_secs(60) {
        for id in ["rp-result", "op-error"] {
            if let Ok(e) = c.find(Locator::Id(id)).await {
                let text = e.text().await.unwrap_or_default();
                if id == "op-error" {
                    let detail = c
                        .find(Locator::Css("pre"))
                        .await
                        .ok()
                        .map(|p| async move { p.text().await.unwrap_or_default() });
                    let detail = match detail {
                        Some(f) => f.await,
                        None => String::new(),
                    };
                    return format!("{text}\n{detail}");
                }
                return text;
            }
        }
        let url = c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        if let Ok(login) = c.find(Locator::Css("input[name=login]")).await {
            if stop_at_login {
                return "login form".into();
            }
            if last_action != format!("login {url}") {
                login.send_keys("alice").await.unwrap();
                c.find(Locator::Css("input[name=password]"))
                    .await
                    .unwrap()
                    .send_keys("any password")
                    .await
                    .unwrap();
                c.find(Locator::Css("button[type=submit]"))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
                last_action = format!("login {url}");
            }
        } else if let Ok(b) = c
            .find(Locator::Css("input[name=prompt][value=consent] ~ button"))
            .await
        {
            if last_action != format!("consent {url}") {
                b.click().await.unwrap();
                last_action = format!("consent {url}");
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    panic!(
        "the login never reached the app's result or the provider's error page: {:?}",
        c.source().await
    );
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Rp {
    Node,
    Authlib,
}

/// One misconfiguration: which app, its settings, what the browser must end
/// on (the app's or provider's words), and the diagnosis codes oauthscope
/// must give (an empty list: no error or warning at all).
struct Scenario {
    name: &'static str,
    rp: Rp,
    env: Vec<(&'static str, String)>,
    two_tabs: bool,
    page: &'static str,
    expect: &'static [&'static str],
}

const SECRET: &str = "s3cret-of-app";

/// The client registrations (oidc-provider metadata; code_ttl and rotate
/// read by op.mjs).
fn clients(callback: &str) -> Value {
    let reg = |id: &str, method: &str| {
        json!({
            "client_id": id,
            "client_secret": SECRET,
            "redirect_uris": [callback],
            "token_endpoint_auth_method": method,
        })
    };
    let mut short = reg("app-short-code", "client_secret_basic");
    short["code_ttl"] = json!(2);
    let mut rotate = reg("app-rotating", "client_secret_basic");
    rotate["rotate"] = json!(true);
    json!([
        reg("app", "client_secret_basic"),
        // oidc-provider takes client_secret_basic and client_secret_post
        // for each other; a client_secret_jwt registration refuses both.
        reg("app-secret-jwt", "client_secret_jwt"),
        short,
        rotate
    ])
}

fn scenarios(op: &str, rp_port: u16) -> Vec<Scenario> {
    let callback = format!("http://127.0.0.1:{rp_port}/callback");
    let base = |client: &str| -> Vec<(&'static str, String)> {
        vec![
            ("RP_ISSUER", op.to_string()),
            ("RP_CLIENT_ID", client.to_string()),
            ("RP_CLIENT_SECRET", SECRET.to_string()),
            ("RP_REDIRECT_URI", callback.clone()),
        ]
    };
    let with = |client: &str, extra: &[(&'static str, &str)]| {
        let mut e = base(client);
        for (k, v) in extra {
            e.retain(|(n, _)| n != k);
            e.push((*k, v.to_string()));
        }
        e
    };
    let slash = format!("{callback}/");
    let other = format!("http://127.0.0.1:{rp_port}/oauth2/callback");
    let localhost_issuer = op.replace("127.0.0.1", "localhost");
    let s = |name, rp, env, page, expect| Scenario {
        name,
        rp,
        env,
        two_tabs: false,
        page,
        expect,
    };
    let mut v = vec![
        s("clean-node", Rp::Node, base("app"), "signed in", &[]),
        s("clean-authlib", Rp::Authlib, base("app"), "signed in", &[]),
        s(
            "authorize-redirect-trailing-slash",
            Rp::Node,
            with(
                "app",
                &[
                    ("RP_REDIRECT_URI", &slash),
                    ("RP_TOKEN_REDIRECT_URI", &callback),
                ],
            ),
            "redirect_uri",
            &[
                "diagnosis.redirect_uri_mismatch",
                "redirect_uri.not_registered",
            ],
        ),
        s(
            "token-redirect-trailing-slash-node",
            Rp::Node,
            with("app", &[("RP_TOKEN_REDIRECT_URI", &slash)]),
            "login failed",
            &["redirect_uri.mismatch", "diagnosis.redirect_uri_mismatch"],
        ),
        s(
            "token-redirect-trailing-slash-authlib",
            Rp::Authlib,
            with("app", &[("RP_TOKEN_REDIRECT_URI", &slash)]),
            "login failed",
            &["redirect_uri.mismatch", "diagnosis.redirect_uri_mismatch"],
        ),
        s(
            "wrong-secret-node",
            Rp::Node,
            with("app", &[("RP_CLIENT_SECRET", "not-the-secret")]),
            "login failed",
            &["diagnosis.invalid_client_credentials"],
        ),
        s(
            "wrong-secret-authlib",
            Rp::Authlib,
            with("app", &[("RP_CLIENT_SECRET", "not-the-secret")]),
            "login failed",
            &["diagnosis.invalid_client_credentials"],
        ),
        s(
            "code-reused",
            Rp::Node,
            with("app", &[("RP_REDEEM_TWICE", "1")]),
            "second redemption failed",
            &["diagnosis.code_reused"],
        ),
        s(
            "pkce-verifier-mismatch",
            Rp::Node,
            with("app", &[("RP_WRONG_VERIFIER", "1")]),
            "login failed",
            &["pkce.mismatch", "diagnosis.pkce_mismatch"],
        ),
        s(
            "auth-method-basic-for-secret-jwt-client",
            Rp::Node,
            base("app-secret-jwt"),
            "login failed",
            &["diagnosis.client_auth_method_rejected"],
        ),
        s(
            "auth-method-post-for-secret-jwt-client",
            Rp::Authlib,
            with("app-secret-jwt", &[("RP_AUTH", "post")]),
            "login failed",
            &["diagnosis.client_auth_method_rejected"],
        ),
        s(
            "code-expired",
            Rp::Node,
            with("app-short-code", &[("RP_WAIT_MS", "4000")]),
            "login failed",
            &["diagnosis.code_expired"],
        ),
        s(
            "discovery-issuer-mismatch",
            Rp::Node,
            with("app", &[("RP_ISSUER", &localhost_issuer)]),
            "error",
            &["discovery.issuer_mismatch"],
        ),
        s(
            "discovery-issuer-mismatch-authlib",
            Rp::Authlib,
            with("app", &[("RP_ISSUER", &localhost_issuer)]),
            "signed in",
            &["discovery.issuer_mismatch"],
        ),
        s(
            "refresh-token-reused",
            Rp::Node,
            with("app-rotating", &[("RP_REFRESH", "reuse")]),
            "refresh failed",
            &["diagnosis.refresh_token_reused"],
        ),
        s(
            "no-offline-access",
            Rp::Authlib,
            with("app", &[("RP_SCOPE", "openid"), ("RP_REFRESH", "once")]),
            "refresh failed",
            &["diagnosis.missing_offline_access"],
        ),
        s(
            "redirect-uri-unregistered",
            Rp::Authlib,
            with(
                "app",
                &[
                    ("RP_REDIRECT_URI", &other),
                    ("RP_TOKEN_REDIRECT_URI", &other),
                ],
            ),
            "redirect_uri",
            &[
                "diagnosis.redirect_uri_mismatch",
                "redirect_uri.not_registered",
            ],
        ),
    ];
    v.push(Scenario {
        name: "two-tabs-server-session",
        rp: Rp::Node,
        env: base("app"),
        two_tabs: true,
        page: "state mismatch",
        expect: &["diagnosis.concurrent_logins"],
    });
    v
}

fn oauthscope(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oauthscope"));
    c.arg("--home")
        .arg(home)
        .env_remove("OAUTHSCOPE_HOME")
        .env_remove("RUST_LOG");
    c
}

/// The error and warning codes of a list of records (`flows list --json`,
/// `analyze --json`), with the lines that say them.
fn problems(records: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in records {
        for a in r["annotations"].as_array().into_iter().flatten() {
            if matches!(a["severity"].as_str(), Some("error" | "warning")) {
                out.entry(a["code"].as_str().unwrap_or("?").to_string())
                    .or_default()
                    .push(format!(
                        "{} {} {}: {}",
                        r["kind"].as_str().unwrap_or("?"),
                        r["request"]["method"].as_str().unwrap_or("?"),
                        r["request"]["url"].as_str().unwrap_or("?"),
                        a["title"].as_str().unwrap_or("")
                    ));
            }
        }
    }
    out
}

fn json_of(out: &std::process::Output, what: &str) -> Vec<Value> {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what} printed no JSON array ({e})"))
}

/// What one scenario showed.
struct Outcome {
    name: &'static str,
    expect: &'static [&'static str],
    live: BTreeMap<String, Vec<String>>,
    har: BTreeMap<String, Vec<String>>,
    har_redacted: bool,
}

impl Outcome {
    fn meets(codes: &BTreeMap<String, Vec<String>>, expect: &[&str]) -> bool {
        if expect.is_empty() {
            codes.is_empty()
        } else {
            expect.iter().all(|c| codes.contains_key(*c))
        }
    }
    fn passed(&self) -> bool {
        Self::meets(&self.live, self.expect) && Self::meets(&self.har, self.expect)
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_scenario(
    sc: &Scenario,
    work: &Path,
    provider_ca: &Path,
    node: &Path,
    python: &Path,
    rp_port: u16,
    driver: &Driver,
    callback: &str,
) -> Outcome {
    let mut run = RunProcess::start(provider_ca, &[]);
    let home = run.home.clone();
    let dir = work.join(sc.name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = oauthscope(&home);
    cmd.args(["exec", "--"]).current_dir(suite_dir());
    match sc.rp {
        Rp::Node => cmd.arg(node).arg("rp.mjs"),
        Rp::Authlib => cmd.arg(python).arg("rp_authlib.py"),
    };
    cmd.env("RP_PORT", rp_port.to_string());
    for (k, v) in &sc.env {
        cmd.env(k, v);
    }
    let mut rp = Proc::spawn(
        &format!("the {:?} app under oauthscope exec", sc.rp),
        &mut cmd,
        dir.join("rp.log"),
    );
    rp.wait_listening(rp_port);

    let profile = tempfile::tempdir().unwrap();
    let c = browser(driver, profile.path(), &run).await;
    let login = format!("http://127.0.0.1:{rp_port}/login");
    let page = if sc.two_tabs {
        // Tab A starts a login and waits at the provider's login form; tab
        // B logs in; then tab A finishes with the state B replaced.
        let tab_a = c.window().await.unwrap();
        c.goto(&login).await.unwrap();
        assert_eq!(drive(&c, true).await, "login form");
        let tab_b = c.new_window(true).await.unwrap();
        c.switch_to_window(tab_b.handle).await.unwrap();
        c.goto(&login).await.unwrap();
        let b = drive(&c, false).await;
        assert!(b.contains("signed in"), "tab B: {b}");
        c.switch_to_window(tab_a).await.unwrap();
        drive(&c, false).await
    } else {
        c.goto(&login).await.unwrap();
        drive(&c, false).await
    };
    let _ = c.close().await;
    rp.stop();
    assert!(
        page.contains(sc.page),
        "{}: the login did not end as the scenario intends (want {:?}): {page}\napp log:\n{}",
        sc.name,
        sc.page,
        rp.log()
    );

    // The app's back channel finished before it answered the browser; the
    // capture is read once the recorder has stored all of it (the count
    // stays put for a second).
    let registered = ["--registered-redirect", callback];
    let list = || {
        let out = oauthscope(&home)
            .args(["flows", "list", "--json"])
            .args(registered)
            .output()
            .unwrap();
        json_of(&out, "flows list --json")
    };
    let mut listed = list();
    let settle = Instant::now();
    let mut stable = 0;
    while stable < 4 && settle.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let again = list();
        stable = if again.len() == listed.len() {
            stable + 1
        } else {
            0
        };
        listed = again;
    }
    let kinds: Vec<&str> = listed
        .iter()
        .map(|r| r["kind"].as_str().unwrap_or("?"))
        .collect();
    let live = problems(&listed);

    // The capture as HAR, redacted as `export` does by default; analysed
    // again offline. When redaction hides what the diagnosis needs (a
    // code_verifier), the HAR is exported without redaction instead (test
    // secrets only) and the outcome says so.
    let har = if std::env::var_os("REALOP_SAVE_HAR").is_some() {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/realop");
        std::fs::create_dir_all(&d).unwrap();
        d.join(format!("{}.har", sc.name))
    } else {
        dir.join("capture.har")
    };
    let mut from_har = BTreeMap::new();
    let mut har_redacted = true;
    for redact in [true, false] {
        let mut export = oauthscope(&home);
        export.args(["export", "--format", "har"]);
        if !redact {
            export.arg("--no-redact");
        }
        let har_out = export.output().unwrap();
        assert!(
            har_out.status.success(),
            "export: {}",
            String::from_utf8_lossy(&har_out.stderr)
        );
        std::fs::write(&har, &har_out.stdout).unwrap();
        let out = oauthscope(&home)
            .arg("analyze")
            .arg(&har)
            .arg("--json")
            .args(registered)
            .output()
            .unwrap();
        from_har = problems(&json_of(&out, "analyze HAR --json"));
        har_redacted = redact;
        if Outcome::meets(&from_har, sc.expect) || !Outcome::meets(&live, sc.expect) {
            break;
        }
    }
    run.terminate();
    eprintln!(
        "{}: page {:?}\n  records: {kinds:?}\n  live: {:?}\n  har{}:  {:?}",
        sc.name,
        page.lines().next().unwrap_or(""),
        live.keys().collect::<Vec<_>>(),
        if har_redacted { "" } else { " (--no-redact)" },
        from_har.keys().collect::<Vec<_>>()
    );
    Outcome {
        name: sc.name,
        expect: sc.expect,
        live,
        har: from_har,
        har_redacted,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_provider_and_real_apps_get_their_misconfigurations_diagnosed() {
    let started = Instant::now();
    let (node, python) = installed();
    let pending: BTreeMap<String, String> = serde_json::from_slice(
        &std::fs::read(suite_dir().join("pending.json")).expect("tests/real_provider/pending.json"),
    )
    .expect("pending.json is a JSON object: scenario -> why");
    let work = tempfile::tempdir().unwrap();
    let (ca, cert, key) = provider_certs(work.path());
    let op_port = free_port();
    let rp_port = free_port();
    let op_url = format!("https://127.0.0.1:{op_port}");
    let callback = format!("http://127.0.0.1:{rp_port}/callback");
    let all = scenarios(&op_url, rp_port);
    for name in pending.keys() {
        assert!(
            all.iter().any(|s| s.name == name),
            "pending.json names {name}: no such scenario"
        );
    }
    let only = std::env::var("REALOP_ONLY").ok();

    let mut op = Proc::spawn(
        "oidc-provider",
        Command::new(&node)
            .arg("op.mjs")
            .current_dir(suite_dir())
            .env("OP_PORT", op_port.to_string())
            .env("OP_CERT", &cert)
            .env("OP_KEY", &key)
            .env("OP_CLIENTS", clients(&callback).to_string()),
        work.path().join("op.log"),
    );
    op.wait_listening(op_port);
    let driver = chromium::start_driver(Some(&work.path().join("chromedriver.log")));

    let mut outcomes = Vec::new();
    for sc in &all {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|n| n == sc.name))
        {
            continue;
        }
        outcomes.push(
            run_scenario(
                sc,
                work.path(),
                &ca,
                &node,
                &python,
                rp_port,
                &driver,
                &callback,
            )
            .await,
        );
    }
    op.stop();

    let mut wrong = Vec::new();
    eprintln!("\nscenario | expected | oauthscope (live) | from HAR | verdict");
    for o in &outcomes {
        let is_pending = pending.contains_key(o.name);
        let verdict = match (o.passed(), is_pending) {
            (true, false) => "ok",
            (false, true) => "pending",
            (true, true) => {
                wrong.push(format!(
                    "{} passes now: remove it from tests/real_provider/pending.json",
                    o.name
                ));
                "PASSES (remove from pending)"
            }
            (false, false) => {
                wrong.push(format!(
                    "{}: expected {:?}, oauthscope gave {:#?}, from its HAR {:#?}",
                    o.name, o.expect, o.live, o.har
                ));
                "FAIL"
            }
        };
        eprintln!(
            "{} | {:?} | {:?} | {}{:?} | {verdict}",
            o.name,
            o.expect,
            o.live.keys().collect::<Vec<_>>(),
            if o.har_redacted { "" } else { "(--no-redact) " },
            o.har.keys().collect::<Vec<_>>()
        );
    }
    eprintln!("(took {:.0?})", started.elapsed());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

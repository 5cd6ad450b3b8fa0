//! The web UI in a real browser: Debian's chromium driven through
//! chromedriver (WebDriver, fantoccini), against a session started as `run`
//! starts it, with a real TLS provider on loopback and a real client sending
//! through the proxy.
//!
//! Set `OAUTHSCOPE_SCREENSHOTS=DIR` to also write the README's screenshots.

mod support;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::Harness;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// chromedriver on a free loopback port; killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

async fn start_driver() -> Driver {
    let exe = find_program(&["chromedriver"]).expect(
        "chromedriver is not installed: `apt-get install -y chromium chromium-driver` (.ci/run does it)",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Owned by `Driver` at once, so it is killed and reaped whatever happens.
    let driver = Driver {
        child: Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver"),
        port,
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not listen on port {port}");
}

async fn browser(driver: &Driver, profile: &Path, downloads: &Path) -> Client {
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        "--no-proxy-server".into(),
        "--window-size=1280,900".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    if std::env::var_os("OAUTHSCOPE_SCREENSHOTS_DARK").is_some() {
        args.push("--force-dark-mode".into());
    }
    let mut opts = json!({
        "args": args,
        "prefs": {
            "download.default_directory": downloads.display().to_string(),
            "download.prompt_for_download": false,
        },
    });
    if let Some(bin) = find_program(&["chromium", "chromium-browser", "google-chrome"]) {
        opts["binary"] = json!(bin.display().to_string());
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), opts);
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("starting chromium through chromedriver")
}

/// Poll `f` (every 100 ms, at most 20 s) until it returns `Some`.
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css))
        .await
        .map(|v| v.len())
        .unwrap_or(0)
}

async fn screenshot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("OAUTHSCOPE_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join(name), png).unwrap();
    }
}

/// An unsigned JWT (`alg: none`) with the given claims.
fn jwt(claims: serde_json::Value) -> String {
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_shows_the_capture_live_in_a_real_browser() {
    let (provider, h) = Harness::with_provider().await;
    let web_url = h.session.web_url().expect("the session serves the UI");
    let client = h.client();

    // A login whose token request adds a trailing slash, with a client assertion JWT.
    let authz = client
        .get(provider.url("/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&state=st-ui"))
        .send()
        .await
        .unwrap();
    assert_eq!(authz.status(), 302);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let assertion = jwt(json!({
        "iss": "app", "sub": "app", "aud": provider.url("/token"),
        "iat": now, "exp": now + 300, "jti": "j-1"
    }));
    let token = client
        .post(provider.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "CODE-abc+1"),
            ("redirect_uri", "http://localhost:3000/callback/"),
            ("client_id", "app"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        token.status(),
        400,
        "the provider compares redirect_uri exactly"
    );
    let recs = h.wait_for(2).await;
    let token_id = recs[1].id.clone();
    let flow = recs[1].flow.clone().unwrap();
    assert_eq!(recs[0].flow.as_deref(), Some(flow.as_str()));

    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path(), downloads.path()).await;

    // The list: the token drops out of the address bar, both exchanges show, live.
    c.goto(&web_url).await.unwrap();
    let url = c.current_url().await.unwrap();
    assert!(url.query().is_none(), "the token is dropped from {url}");
    eventually("two rows and the live feed", || async {
        let live = c
            .execute("return document.body.dataset.live", vec![])
            .await
            .ok()?;
        (count(&c, "tr.row").await == 2 && live == "on").then_some(())
    })
    .await;
    let row = c
        .find(Locator::Css(&format!("tr.row[data-id='{token_id}']")))
        .await
        .unwrap();
    let text = row.text().await.unwrap();
    // The row's top annotation is the diagnosis (it leads the provider's
    // error and the rule finding of the same severity).
    assert!(text.contains("diagnosis.redirect_uri_mismatch"), "{text}");
    assert!(
        row.attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("sev-error"),
        "coloured by severity"
    );
    assert_eq!(
        count(&c, &format!("tbody.group[data-flow='{flow}'] tr.row")).await,
        2,
        "grouped by login"
    );

    // A new token request appears without a reload.
    c.execute("window.__same_page = true; return 1", vec![])
        .await
        .unwrap();
    Harness::client_credentials(&client, provider.url("/token")).await;
    eventually("the new token request in the list", || async {
        (count(&c, "tr.row").await == 3).then_some(())
    })
    .await;
    let same = c
        .execute("return window.__same_page === true", vec![])
        .await
        .unwrap();
    assert_eq!(same, json!(true), "updated live, not reloaded");
    screenshot(&c, "ui-list.png").await;

    // Keyboard: j selects the first row, k stays there, `/` goes to the filter.
    let key = |k: &'static str| {
        format!("document.body.dispatchEvent(new KeyboardEvent('keydown', {{key: '{k}', bubbles: true}})); return 1")
    };
    c.execute(&key("j"), vec![]).await.unwrap();
    c.execute(&key("j"), vec![]).await.unwrap();
    c.execute(&key("k"), vec![]).await.unwrap();
    let selected = c.find_all(Locator::Css("tr.row.selected")).await.unwrap();
    assert_eq!(selected.len(), 1);
    assert_eq!(
        selected[0].attr("data-id").await.unwrap().as_deref(),
        Some(recs[0].id.as_str()),
        "j, j, k: back on the first row"
    );
    c.execute(&key("/"), vec![]).await.unwrap();
    let focused = c
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, json!("f-q"));

    // The login filter narrows the list and the export buttons to that login.
    c.find(Locator::Css("#f-flow"))
        .await
        .unwrap()
        .send_keys(&flow)
        .await
        .unwrap();
    eventually("the list narrowed to one login", || async {
        (count(&c, "tr.row").await == 2).then_some(())
    })
    .await;
    let href = c
        .find(Locator::Css("a.export[data-format='har']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(href, format!("/export?format=har&flow={flow}"));

    // The exchange: the extra slash marked, the JWT decoded with times relative to the exchange.
    c.goto(&web_url.replace(
        &format!("/?token={}", h.session.web_token().unwrap()),
        &format!("/exchanges/{token_id}"),
    ))
    .await
    .unwrap();
    let mark = c
        .find(Locator::Css(
            "article.ann[data-code='redirect_uri.mismatch'] .uridiff mark.d",
        ))
        .await
        .unwrap();
    let marked: Vec<String> = {
        let mut v = Vec::new();
        for m in c
            .find_all(Locator::Css(
                "article.ann[data-code='redirect_uri.mismatch'] .uridiff mark.d",
            ))
            .await
            .unwrap()
        {
            v.push(m.text().await.unwrap());
        }
        v
    };
    assert_eq!(
        marked,
        vec!["".to_string(), "/".to_string()],
        "expected has nothing, actual has the extra /"
    );
    drop(mark);
    let kinds = c
        .find(Locator::Css(
            "article.ann[data-code='redirect_uri.mismatch'] .kinds",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(kinds.contains("trailing_slash"), "{kinds}");
    let exp = c
        .find(Locator::Css(".jwt tr[data-claim='exp']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(exp.contains("after the exchange"), "{exp}");
    let claims = c
        .find(Locator::Css(".jwt pre.claims"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(claims.contains("\"jti\": \"j-1\""), "{claims}");
    let link = c
        .find(Locator::Css(
            "a.code[href='/explain/redirect_uri.mismatch']",
        ))
        .await;
    assert!(link.is_ok(), "each code links to its catalog entry");
    screenshot(&c, "ui-exchange.png").await;

    // The login: one arrow per exchange, each linking to its exchange.
    c.goto(&format!(
        "http://{}/flows/{flow}",
        h.session.web_addr().unwrap()
    ))
    .await
    .unwrap();
    let arrows = c.find_all(Locator::Css("svg.seq a.arrow")).await.unwrap();
    assert_eq!(arrows.len(), 2, "one arrow per exchange of the login");
    let mut hrefs = Vec::new();
    for a in &arrows {
        hrefs.push(a.attr("href").await.unwrap().unwrap());
    }
    assert_eq!(
        hrefs,
        vec![
            format!("/exchanges/{}", recs[0].id),
            format!("/exchanges/{token_id}")
        ]
    );
    assert_eq!(count(&c, "svg.seq a.arrow.annotated.sev-error").await, 1);
    screenshot(&c, "ui-login.png").await;

    // Export: the HAR downloads, and `oauthscope analyze` reads it back.
    c.find(Locator::Css("#export-har"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let har = eventually("the downloaded HAR", || async {
        std::fs::read_dir(downloads.path())
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "har"))
    })
    .await;
    let text = std::fs::read_to_string(&har).unwrap();
    assert!(!text.contains("CODE-abc+1"), "the export is redacted");
    let out = h.cli(&["analyze", har.to_str().unwrap(), "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let analysed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = analysed
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["annotations"].as_array().unwrap())
        .filter_map(|a| a["code"].as_str())
        .collect();
    assert!(codes.contains(&"redirect_uri.mismatch"), "{codes:?}");

    // Clearing asks first, then empties the capture.
    c.goto(&format!("http://{}/", h.session.web_addr().unwrap()))
        .await
        .unwrap();
    eventually("the list", || async {
        (count(&c, "tr.row").await == 3).then_some(())
    })
    .await;
    c.execute("window.confirm = () => false; return 1", vec![])
        .await
        .unwrap();
    c.find(Locator::Css("#clear"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        h.store.len(),
        3,
        "declining the confirmation keeps everything"
    );
    c.execute("window.confirm = () => true; return 1", vec![])
        .await
        .unwrap();
    c.find(Locator::Css("#clear"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("an empty list", || async {
        (count(&c, "tr.row").await == 0).then_some(())
    })
    .await;
    assert_eq!(h.store.len(), 0);

    c.close().await.unwrap();
    drop(driver);
    h.shutdown().await;
}

/// Send raw HTTP/1.1 (any Host header) and return the status line and the response.
async fn raw(addr: std::net::SocketAddr, request: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_needs_its_token_refuses_foreign_hosts_and_checks_origin() {
    let h = Harness::start(Vec::new()).await;
    let addr = h.session.web_addr().unwrap();
    let token = h.session.web_token().unwrap();
    let port = addr.port();
    let get = |path: &str, host: &str, extra: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n")
    };
    let me = format!("127.0.0.1:{port}");

    let (st, text) = raw(addr, &get("/", &me, "")).await;
    assert_eq!(st, 401, "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(
        body.trim_end().lines().count(),
        1,
        "a one-line hint: {body}"
    );
    assert!(body.contains("token"), "{body}");
    let (st, _) = raw(addr, &get("/?token=nope", &me, "")).await;
    assert_eq!(st, 401);
    let (st, _) = raw(addr, &get("/api/records", &me, "")).await;
    assert_eq!(st, 401, "the API needs the token too");

    // The token sets a strict cookie and leaves the address bar.
    let (st, text) = raw(addr, &get(&format!("/flows/x?token={token}&a=1"), &me, "")).await;
    assert_eq!(st, 303, "{text}");
    let lower = text.to_ascii_lowercase();
    assert!(lower.contains("location: /flows/x?a=1\r\n"), "{text}");
    let cookie_line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap();
    assert!(cookie_line.contains("HttpOnly"), "{cookie_line}");
    assert!(cookie_line.contains("SameSite=Strict"), "{cookie_line}");
    let cookie = cookie_line["set-cookie:".len()..]
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let with_cookie = format!("Cookie: {cookie}\r\n");

    let (st, text) = raw(addr, &get("/", &me, &with_cookie)).await;
    assert_eq!(st, 200, "{text}");
    assert!(text.contains("/assets/app.js"));
    let (st, _) = raw(addr, &get("/", &format!("localhost:{port}"), &with_cookie)).await;
    assert_eq!(st, 200, "localhost is a loopback name of the UI");

    // DNS rebinding: the right cookie under a foreign name is refused.
    let (st, text) = raw(
        addr,
        &get("/", &format!("evil.example:{port}"), &with_cookie),
    )
    .await;
    assert_eq!(st, 403, "{text}");
    let (st, _) = raw(addr, &get("/", "127.0.0.1:1", &with_cookie)).await;
    assert_eq!(st, 403, "another port is another origin");

    // State-changing calls check Origin.
    let post = |origin: &str| {
        format!(
            "POST /api/clear HTTP/1.1\r\nHost: {me}\r\n{with_cookie}{origin}Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
    };
    let (st, _) = raw(addr, &post("")).await;
    assert_eq!(st, 403, "no Origin");
    let (st, _) = raw(
        addr,
        &post(&format!("Origin: http://evil.example:{port}\r\n")),
    )
    .await;
    assert_eq!(st, 403, "foreign Origin");
    let (st, text) = raw(addr, &post(&format!("Origin: http://{me}\r\n"))).await;
    assert_eq!(st, 200, "{text}");
    assert!(text.contains("\"removed\":0"), "{text}");

    // The proxy.json announces the UI with its token.
    let state = oauthscope::api::ProxyState::read(&h.home).unwrap().unwrap();
    assert_eq!(
        state.web_url.as_deref(),
        Some(format!("http://{me}/?token={token}").as_str())
    );
    h.shutdown().await;
}

/// A child process killed and reaped when dropped.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Follow the token URL by hand: the cookie it sets.
async fn login(http: &reqwest::Client, url: &str) -> String {
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_prints_the_running_proxys_url_and_serves_a_har_file_read_only() {
    // With a proxy running: its URL, from proxy.json.
    let h = Harness::start(Vec::new()).await;
    let out = h.cli(&["ui", "--print"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A one-time login code from that UI, never its token (issue 16).
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let web_url = h.session.web_url().unwrap();
    let token = web_url.split("token=").nth(1).unwrap();
    assert!(
        printed.starts_with(&format!("{}?code=", web_url.split('?').next().unwrap())),
        "{printed} vs {web_url}"
    );
    assert!(!printed.contains(token), "{printed}");
    h.shutdown().await;

    // A HAR file: served read-only with the same analysis.
    let home = tempfile::tempdir().unwrap();
    let har = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/firefox_trailing_slash.har"
    );
    let mut child = Serving(
        Command::new(env!("CARGO_BIN_EXE_oauthscope"))
            .arg("--home")
            .arg(home.path())
            .args(["ui", har, "--print"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        use std::io::BufRead as _;
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line.trim().to_string()
    })
    .await
    .unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/?code="),
        "{url:?}"
    );
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = login(&http, &url).await;
    let base = url.split("/?").next().unwrap().to_string();
    let page: serde_json::Value = http
        .get(format!("{base}/api/records?limit=50"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let records = page["records"].as_array().unwrap();
    assert!(!records.is_empty(), "{page}");
    assert!(
        records
            .iter()
            .any(|r| r["top"]["code"] == "diagnosis.redirect_uri_mismatch"),
        "{page}"
    );
    let origin = base.clone();
    let clear = http
        .post(format!("{base}/api/clear"))
        .header("cookie", &cookie)
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(clear.status(), 403, "a HAR file is served read-only");
    drop(child);
}

/// Issue 10 §6: tick exchanges of different logins in the list (a click on
/// a checkbox, `x` on the keyboard-selected row), export them as HAR; the
/// download holds exactly those two, and `oauthscope analyze` reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selection_across_logins_exports_exactly_those_exchanges() {
    let (provider, h) = Harness::with_provider().await;
    let web_url = h.session.web_url().expect("the session serves the UI");
    let client = h.client();
    // Login one: authorize, then a code exchange.
    let authz = client
        .get(provider.url("/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&state=st-sel"))
        .send()
        .await
        .unwrap();
    assert_eq!(authz.status(), 302);
    client
        .post(provider.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "CODE-sel-1"),
            ("redirect_uri", "http://localhost:3000/callback"),
            ("client_id", "app"),
        ])
        .send()
        .await
        .unwrap();
    // Another login: a client-credentials grant.
    Harness::client_credentials(&client, provider.url("/token")).await;
    let recs = h.wait_for(3).await;
    let flow_of = |r: &oauthscope::record::Record| r.flow.clone().unwrap_or(r.id.clone());
    let (a, b) = (&recs[0], &recs[2]);
    assert_ne!(flow_of(a), flow_of(b), "two logins");

    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path(), downloads.path()).await;
    c.goto(&web_url).await.unwrap();
    eventually("three rows", || async {
        (count(&c, "tr.row").await == 3).then_some(())
    })
    .await;
    assert!(
        !c.find(Locator::Css("#picked"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "no selection, no 'export selected'"
    );

    // The authorize request: its checkbox (the row itself is not opened).
    c.find(Locator::Css(&format!(
        "tr.row[data-id='{}'] input.pick",
        a.id
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    assert!(
        c.current_url().await.unwrap().path() == "/",
        "still on the list"
    );
    // The client-credentials request: j until it is the current row, then x.
    let key = |k: &'static str| {
        format!("document.body.dispatchEvent(new KeyboardEvent('keydown', {{key: '{k}', bubbles: true}})); return 1")
    };
    for _ in 0..3 {
        c.execute(&key("j"), vec![]).await.unwrap();
        let current = c
            .execute(
                "const r = document.querySelector('tr.row.selected'); return r ? r.dataset.id : null",
                vec![],
            )
            .await
            .unwrap();
        if current == json!(b.id) {
            break;
        }
    }
    c.execute(&key("x"), vec![]).await.unwrap();
    let picked = c.find_all(Locator::Css("tr.row.picked")).await.unwrap();
    let mut picked_ids = Vec::new();
    for p in &picked {
        picked_ids.push(p.attr("data-id").await.unwrap().unwrap());
    }
    picked_ids.sort();
    let mut want = vec![a.id.clone(), b.id.clone()];
    want.sort();
    assert_eq!(picked_ids, want, "the two ticked rows");
    let label = c
        .find(Locator::Css("#picked-count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(label, "2 selected");

    // Export the selection as HAR: exactly those two entries.
    c.find(Locator::Css("#export-picked-har"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let har = eventually("the downloaded HAR", || async {
        std::fs::read_dir(downloads.path())
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "har"))
    })
    .await;
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    let mut ids: Vec<String> = doc["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["_oauthscope"]["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, want, "the HAR holds exactly the selection");
    let out = h.cli(&["analyze", har.to_str().unwrap(), "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let analysed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = analysed.as_array().unwrap();
    assert_eq!(list.len(), 2, "analyze reads back two exchanges");
    let methods: Vec<&str> = list
        .iter()
        .filter_map(|r| r["request"]["method"].as_str())
        .collect();
    assert_eq!(
        methods,
        vec!["GET", "POST"],
        "the authorize request, then the token request"
    );

    // Shift-click ticks a range: clear, tick the first row, shift-click the last.
    c.find(Locator::Css("#unpick"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(count(&c, "tr.row.picked").await, 0);
    let click = |id: &str, shift: bool| {
        format!(
            "document.querySelector(\"tr.row[data-id='{id}'] input.pick\").dispatchEvent(new MouseEvent('click', {{bubbles: true, shiftKey: {shift}}})); return 1"
        )
    };
    c.execute(&click(&recs[0].id, false), vec![]).await.unwrap();
    c.execute(&click(&recs[2].id, true), vec![]).await.unwrap();
    assert_eq!(count(&c, "tr.row.picked").await, 3, "the range is ticked");
    let href = c
        .find(Locator::Css("#export-picked-json"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(href.starts_with("/export?format=json&ids="), "{href}");
}

//! How the web UI copes with a large capture (figures, not assertions).
//!
//! ```text
//! cargo run --release --example ui_bench            # 100 000 exchanges
//! UI_BENCH_N=20000 cargo run --release --example ui_bench
//! ```
//! Stores N synthetic exchanges (one authorization-code login with a
//! trailing-slash mismatch per ten records, the rest client_credentials
//! token requests) in a throw-away sled store, serves it with the web UI and
//! prints: the time of a first list page from `/api/records`, of a
//! severity-filtered page, of an exchange page and a login page; and, when
//! chromium and chromedriver are installed, the time from navigation to the
//! first contentful paint and to the rendered list in a real browser. It
//! also prints the size of the embedded assets.

use oauthscope::analyze::AnalyzeOptions;
use oauthscope::record::{Body, HeaderList, Kind, Record, Request, Response};
use oauthscope::store::Store;
use oauthscope::web;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

pub fn record(i: usize, start: OffsetDateTime) -> Record {
    let time = start + time::Duration::milliseconds(i as i64);
    let (kind, method, url, body, grant, status, resp) = match i % 10 {
        0 => (
            Kind::AuthorizeRequest,
            "GET",
            format!("https://idp.example/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s{i}"),
            String::new(),
            None,
            302,
            String::new(),
        ),
        1 => (
            Kind::TokenRequest,
            "POST",
            "https://idp.example/token".to_string(),
            format!("grant_type=authorization_code&code=c{}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb/&client_id=app", i - 1),
            Some("authorization_code".to_string()),
            400,
            r#"{"error":"invalid_grant"}"#.to_string(),
        ),
        _ => (
            Kind::TokenRequest,
            "POST",
            "https://idp.example/token".to_string(),
            format!("grant_type=client_credentials&client_id=svc&client_secret=s{i}"),
            Some("client_credentials".to_string()),
            200,
            format!(r#"{{"access_token":"at-{i}","token_type":"Bearer","expires_in":3600}}"#),
        ),
    };
    let mut req_headers = HeaderList::default();
    if method == "POST" {
        req_headers.push("content-type", "application/x-www-form-urlencoded");
    }
    let mut resp_headers = HeaderList::default();
    if kind == Kind::AuthorizeRequest {
        resp_headers.push(
            "location",
            format!("https://app.example/cb?code=c{i}&state=s{i}"),
        );
    } else {
        resp_headers.push("content-type", "application/json");
    }
    Record {
        id: format!("{:016x}", 1_000_000 + i),
        time,
        flow: None,
        kind,
        grant_type: grant,
        request: Request {
            method: method.into(),
            url,
            headers: req_headers,
            body: Body::from_bytes(body.as_bytes()),
        },
        response: Some(Response {
            status,
            headers: resp_headers,
            body: Body::from_bytes(resp.as_bytes()),
        }),
        duration_ms: 1,
        error: None,
        flavour: None,
        annotations: Vec::new(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

async fn timed_get(client: &reqwest::Client, url: &str, cookie: &str) -> (Duration, usize) {
    let t = Instant::now();
    let r = client
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    let n = r.bytes().await.unwrap().len();
    (t.elapsed(), n)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("UI_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!(
        "embedded assets: {} bytes ({:.1} KiB)",
        web::assets::total_size(),
        web::assets::total_size() as f64 / 1024.0
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let start = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let t = Instant::now();
    for i in 0..n {
        let mut r = record(i, start);
        store.insert_new(&mut r).unwrap();
    }
    store.flush().unwrap();
    println!("stored {n} exchanges in {}", ms(t.elapsed()));

    let w = web::serve_store(
        "127.0.0.1:0".parse().unwrap(),
        store.clone(),
        AnalyzeOptions::default(),
    )
    .await
    .unwrap();
    let base = format!("http://{}", w.addr);
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(w.url()).send().await.unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    let (d, _) = timed_get(&client, &format!("{base}/"), &cookie).await;
    println!("GET /                                 {}", ms(d));
    for round in 0..3 {
        let (d, bytes) =
            timed_get(&client, &format!("{base}/api/records?limit=300"), &cookie).await;
        println!(
            "GET /api/records?limit=300 (#{})       {} ({bytes} bytes)",
            round + 1,
            ms(d)
        );
    }
    let (d, _) = timed_get(
        &client,
        &format!("{base}/api/records?limit=300&severity=error"),
        &cookie,
    )
    .await;
    println!("GET /api/records?severity=error       {}", ms(d));
    let (d, _) = timed_get(
        &client,
        &format!("{base}/api/records?limit=300&q=no-such-text"),
        &cookie,
    )
    .await;
    println!(
        "GET /api/records?q=<no match>         {} (scans at most {} records)",
        ms(d),
        web::data::SCAN_LIMIT
    );
    let token_id = format!("{:016x}", 1_000_000 + (n - n % 10) - 9);
    let (d, _) = timed_get(&client, &format!("{base}/exchanges/{token_id}"), &cookie).await;
    println!("GET /exchanges/{{id}}                   {}", ms(d));
    let flow_id = format!("{:016x}", 1_000_000 + (n - n % 10) - 10);
    let (d, _) = timed_get(&client, &format!("{base}/flows/{flow_id}"), &cookie).await;
    println!("GET /flows/{{flow}}                      {}", ms(d));

    browser_timings(&w.url(), &base, &token_id).await;
    w.shutdown().await;
}

/// First contentful paint and list-rendered times in chromium, when it is installed.
async fn browser_timings(url: &str, base: &str, token_id: &str) {
    use fantoccini::{ClientBuilder, Locator};
    let Ok(driver_exe) = which("chromedriver") else {
        println!("(chromedriver not installed: no browser timings)");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut driver = std::process::Command::new(driver_exe)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-proxy-server", "--window-size=1280,900",
            format!("--user-data-dir={}", profile.path().display())
        ]}),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();
    c.goto(url).await.unwrap();
    let fcp = "return (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null";
    for round in 0..3 {
        if round > 0 {
            c.goto(&format!("{base}/")).await.unwrap();
        }
        let mut shown = serde_json::Value::Null;
        for _ in 0..300 {
            shown = c
                .execute("return document.body.dataset.listShownMs || null", vec![])
                .await
                .unwrap();
            if !shown.is_null() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let paint = c.execute(fcp, vec![]).await.unwrap();
        let rows = c.find_all(Locator::Css("tr.row")).await.unwrap().len();
        println!("browser list (#{}): first contentful paint {paint} ms, {rows} rows rendered at {shown} ms", round + 1);
    }
    c.goto(&format!("{base}/exchanges/{token_id}"))
        .await
        .unwrap();
    // Wait for the load event, then read the paint and navigation timings.
    let timing = "const n = performance.getEntriesByType('navigation')[0]; \
        const p = performance.getEntriesByName('first-contentful-paint')[0]; \
        return n && n.loadEventEnd > 0 ? [p ? p.startTime : null, n.loadEventEnd] : null";
    let mut paint = serde_json::Value::Null;
    for _ in 0..200 {
        paint = c.execute(timing, vec![]).await.unwrap();
        if !paint.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "browser exchange page: first contentful paint {} ms, load event at {} ms",
        paint[0], paint[1]
    );
    let _ = c.close().await;
    let _ = driver.kill();
    let _ = driver.wait();
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::split_paths(&std::env::var_os("PATH").ok_or(())?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

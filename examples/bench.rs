//! Throughput, latency and memory of the proxy, direct vs through it, in one run.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench
//! ```
//!
//! Starts an HTTPS provider on loopback (certificate from a throwaway CA),
//! then the real `oauthscope run` binary as a child process in a fresh data
//! directory, and measures with a keep-alive HTTP/1.1 client:
//! 1. non-OAuth GETs (`/static/app.js`): requests/s and p50, direct vs proxied;
//! 2. token POSTs (`grant_type=client_credentials`) that the proxy records:
//!    requests/s and p50, direct vs proxied, then counts the stored records
//!    through `oauthscope flows list --json` (served by the running proxy);
//! 3. peak RSS (`VmHWM`) of the proxy process while a 1 GiB body streams
//!    through it (measured first, so the loads above do not inflate it);
//! 4. one flow that grows: a token endpoint that always returns the same
//!    refresh token, so every refresh joins one flow (as with mocks that
//!    return fixed tokens). A fresh proxy records `BENCH_FLOW_RECORDS`
//!    (default 100 000) refreshes; at 1k, 10k and 100k records it prints the
//!    exchanges/s recorded since the previous mark and the lag between the
//!    last response and its record being listed by the proxy's API; then the
//!    peak RSS of `oauthscope flows list --json` and of `oauthscope export
//!    --format har` (and `json`) over the whole capture, through the running
//!    proxy and from the stopped proxy's store. The recorder's queue is
//!    bounded (`RECORD_QUEUE`), so "records behind" stays under it however
//!    long the burst.
//!
//! Part 4 also stores the same growing flow in-process (no network) and
//! prints the microseconds per `Store::insert_new` and per live line.
//!
//! Figures are printed, never asserted: shared machines are noisy. Set
//! `BENCH_SECONDS` (default 5), `BENCH_CONCURRENCY` (default 16),
//! `BENCH_FLOW_RECORDS` (0 skips part 4), `BENCH_FLOW_RATE` (pace part 4 at
//! this many exchanges/s; default: as fast as the proxy goes) and
//! `BENCH_BIN` (another oauthscope binary to measure, e.g. an older build).

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use oauthscope::ca::LocalCa;
use oauthscope::home::Home;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GIB: u64 = 1024 * 1024 * 1024;
const CHUNK: usize = 256 * 1024;

type RespBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn full(ct: &str, body: &'static str) -> Response<RespBody> {
    Response::builder()
        .header("content-type", ct)
        .body(Full::new(Bytes::from_static(body.as_bytes())).boxed())
        .unwrap()
}

async fn route(req: Request<hyper::body::Incoming>) -> Result<Response<RespBody>, Infallible> {
    Ok(match req.uri().path() {
        "/token" => {
            let _ = req.into_body().collect().await;
            full(
                "application/json",
                r#"{"access_token":"bench-at","token_type":"Bearer","expires_in":3600}"#,
            )
        }
        "/fixed/token" => {
            let _ = req.into_body().collect().await;
            full(
                "application/json",
                r#"{"access_token":"bench-at","token_type":"Bearer","expires_in":3600,"refresh_token":"bench-fixed-rt"}"#,
            )
        }
        "/big" => {
            let chunk = Bytes::from(vec![b'x'; CHUNK]);
            let n = GIB as usize / CHUNK;
            let stream = futures::stream::iter(
                (0..n).map(move |_| Ok::<_, Infallible>(Frame::data(chunk.clone()))),
            );
            Response::builder()
                .header("content-type", "application/octet-stream")
                .header("content-length", GIB.to_string())
                .body(BodyExt::boxed(StreamBody::new(stream)))
                .unwrap()
        }
        _ => full("text/javascript", "console.log('static asset');"),
    })
}

/// The provider: HTTPS on 127.0.0.1:0 with a leaf from its own throwaway CA.
/// TCP connections the provider accepted (to see whether the proxy reuses them).
static ACCEPTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn accepted() -> usize {
    ACCEPTED.load(std::sync::atomic::Ordering::Relaxed)
}

async fn start_provider(ca: &LocalCa) -> anyhow::Result<SocketAddr> {
    let tls = tokio_rustls::TlsAcceptor::from(ca.server_config_for("127.0.0.1")?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tls = tls.clone();
            tokio::spawn(async move {
                let Ok(tls) = tls.accept(tcp).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), hyper::service::service_fn(route))
                    .await;
            });
        }
    });
    Ok(addr)
}

/// The release binary next to this example (`target/release/oauthscope`),
/// or `BENCH_BIN`.
fn oauthscope_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("BENCH_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("oauthscope"))
        .filter(|p| p.exists())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the oauthscope binary is not built next to {}: run `cargo build --release` first",
                exe.display()
            )
        })?;
    Ok(bin)
}

/// Kills the proxy process when dropped.
struct ProxyProcess(Child);

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One measured load: requests/s and latency percentiles.
struct Figures {
    done: usize,
    failed: usize,
    rps: f64,
    p50: Duration,
    p99: Duration,
}

/// Drive `concurrency` keep-alive workers for `secs`, each sending `send` in a loop.
async fn load<F, Fut>(concurrency: usize, secs: f64, send: F) -> Figures
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let send = send.clone();
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failed = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                if send().await {
                    lat.push(t.elapsed());
                } else {
                    failed += 1;
                }
            }
            (lat, failed)
        }));
    }
    let mut all = Vec::new();
    let mut failed = 0;
    for w in workers {
        let (lat, f) = w.await.expect("worker");
        all.extend(lat);
        failed += f;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Figures {
        done: all.len(),
        failed,
        rps: all.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

fn client(trust_pem: &str, proxy: Option<SocketAddr>) -> anyhow::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(64)
        .tls_certs_only([reqwest::Certificate::from_pem(trust_pem.as_bytes())?])
        .timeout(Duration::from_secs(600));
    b = match proxy {
        Some(p) => b.proxy(reqwest::Proxy::all(format!("http://{p}"))?),
        None => b.no_proxy(),
    };
    Ok(b.build()?)
}

fn row(label: &str, f: &Figures) {
    println!(
        "  {label:<34} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} done, {} failed)",
        f.rps,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        f.done,
        f.failed
    );
}

async fn get_ok(c: reqwest::Client, url: String) -> bool {
    match c.get(url).send().await {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

async fn token_ok(c: reqwest::Client, url: String) -> bool {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "bench"),
        ("client_secret", "bench-secret"),
    ];
    match c.post(url).form(&form).send().await {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let conc: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let bin = oauthscope_bin()?;
    let dir = tempfile::tempdir()?;

    let (provider_ca, _) = LocalCa::load_or_create(&Home::new(dir.path().join("provider")))?;
    let provider = start_provider(&provider_ca).await?;
    let proxy_home = dir.path().join("proxy");
    let (our_ca, _) = LocalCa::load_or_create(&Home::new(&proxy_home))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen: SocketAddr = ([127, 0, 0, 1], port).into();
    let child = Command::new(&bin)
        .arg("--home")
        .arg(&proxy_home)
        .args([
            "run",
            "--listen",
            &listen.to_string(),
            "--web",
            "127.0.0.1:0",
            "--upstream-ca",
        ])
        .arg(provider_ca.cert_path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let proxy = ProxyProcess(child);
    let pid = proxy.0.id();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(listen).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let direct = client(provider_ca.cert_pem(), None)?;
    let through = client(our_ca.cert_pem(), Some(listen))?;
    let base = format!("https://127.0.0.1:{}", provider.port());
    println!(
        "oauthscope bench: {secs} s per load, {conc} keep-alive HTTP/1.1 connections, proxy pid {pid}\n"
    );

    let rss_before = status_kib(pid, "VmRSS:").unwrap_or(0);
    let t = Instant::now();
    let resp = through.get(format!("{base}/big")).send().await?;
    let mut n: u64 = 0;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        n += chunk?.len() as u64;
    }
    let took = t.elapsed().as_secs_f64();
    let hwm = status_kib(pid, "VmHWM:").unwrap_or(0);
    println!("1 GiB download through the proxy");
    println!(
        "  {} bytes in {took:.1} s ({:.0} MiB/s); proxy RSS before {:.1} MiB, peak (VmHWM) {:.1} MiB",
        n,
        n as f64 / (1024.0 * 1024.0) / took,
        rss_before as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!();

    let static_url = format!("{base}/static/app.js");
    let (c, u) = (direct.clone(), static_url.clone());
    let d_get = load(conc, secs, move || get_ok(c.clone(), u.clone())).await;
    let (c, u) = (through.clone(), static_url.clone());
    let before = accepted();
    let p_get = load(conc, secs, move || get_ok(c.clone(), u.clone())).await;
    let get_conns = accepted() - before;
    println!("non-OAuth GET /static/app.js");
    row("direct", &d_get);
    row("through the proxy (not stored)", &p_get);
    println!(
        "  ratio: {:.0}% of direct; the proxy opened {get_conns} upstream connections\n",
        100.0 * p_get.rps / d_get.rps
    );

    let token_url = format!("{base}/token");
    let (c, u) = (direct.clone(), token_url.clone());
    let d_tok = load(conc, secs, move || token_ok(c.clone(), u.clone())).await;
    let (c, u) = (through.clone(), token_url.clone());
    let before = accepted();
    let p_tok = load(conc, secs, move || token_ok(c.clone(), u.clone())).await;
    let tok_conns = accepted() - before;
    println!("token POST (client_credentials)");
    row("direct", &d_tok);
    row("through the proxy (recorded)", &p_tok);
    println!(
        "  ratio: {:.0}% of direct; the proxy opened {tok_conns} upstream connections",
        100.0 * p_tok.rps / d_tok.rps
    );

    let rss_recorded = status_kib(pid, "VmRSS:").unwrap_or(0);
    // Every proxied token POST that succeeded must be in the store; the CLI
    // reads it through the running proxy's API.
    let mut stored = 0;
    for _ in 0..100 {
        let out = Command::new(&bin)
            .arg("--home")
            .arg(&proxy_home)
            .args(["flows", "list", "--json", "--kind", "token_request"])
            .output()?;
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        stored = list.as_array().map(Vec::len).unwrap_or(0);
        if stored >= p_tok.done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "  records stored: {stored} of {} proxied token POSTs ({} lost)\n",
        p_tok.done,
        p_tok.done.saturating_sub(stored)
    );

    println!(
        "proxy RSS: {:.1} MiB after the recorded load, {:.1} MiB after serving `flows list --json` of every record",
        rss_recorded as f64 / 1024.0,
        status_kib(pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0
    );
    drop(proxy);

    let flow_records: usize = std::env::var("BENCH_FLOW_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    if flow_records > 0 {
        store_scale(flow_records, dir.path())?;
        one_flow(&bin, &provider_ca, provider, conc, flow_records, dir.path()).await?;
    }
    Ok(())
}

/// In-process, without the network: the recorder's work per exchange
/// (`Store::insert_new`: flow lookup through the index, insert, index
/// entries) and the live line's (`window_of` + analysis) as one flow grows.
fn store_scale(total: usize, dir: &Path) -> anyhow::Result<()> {
    use oauthscope::record::{new_id, Body, HeaderList, Kind, Record, Response};
    let store = oauthscope::store::Store::open(&dir.join("store-scale"))?;
    let opts = oauthscope::analyze::AnalyzeOptions::default();
    let refresh = |n: usize| {
        let now = time::OffsetDateTime::now_utc();
        let mut r = Record::bare(
            &new_id(now),
            now,
            Kind::TokenRequest,
            "POST",
            "https://idp.example/token",
        );
        r.grant_type = Some("refresh_token".into());
        r.request
            .headers
            .push("Content-Type", "application/x-www-form-urlencoded");
        r.request.body = Body::from_bytes(
            format!("grant_type=refresh_token&refresh_token=bench-fixed-rt&client_id=bench-{n}")
                .as_bytes(),
        );
        let mut h = HeaderList::default();
        h.push("Content-Type", "application/json");
        r.response = Some(Response {
            status: 200,
            headers: h,
            body: Body::from_bytes(br#"{"access_token":"bench-at","token_type":"Bearer","refresh_token":"bench-fixed-rt"}"#),
        });
        r
    };
    println!("\nstoring one growing flow in-process (no network): per exchange");
    let mut from = 0;
    let mut last = None;
    for mark in [1_000, 10_000, 100_000, total]
        .into_iter()
        .filter(|m| *m <= total)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let t = Instant::now();
        for n in from..mark {
            let mut r = refresh(n);
            store.insert_new(&mut r)?;
            last = Some(r);
        }
        let insert = t.elapsed().as_secs_f64() * 1e6 / (mark - from) as f64;
        let rec = last.clone().expect("records were stored");
        let t = Instant::now();
        for _ in 0..20 {
            let window = oauthscope::rolling::window_of(&rec, false, false, |q| store.query(q))?;
            let _ = oauthscope::rolling::analyse_in_window(&rec, &window, &opts);
        }
        let live = t.elapsed().as_secs_f64() * 1e6 / 20.0;
        println!(
            "  flow of {mark:>6} records: store + flow lookup {insert:>6.0} µs, live line (window + analysis) {live:>7.0} µs"
        );
        from = mark;
    }
    Ok(())
}

/// Start `oauthscope run` on a free loopback port with a fresh data directory.
async fn spawn_proxy(
    bin: &Path,
    home: &Path,
    provider_ca: &LocalCa,
) -> anyhow::Result<(ProxyProcess, SocketAddr)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen: SocketAddr = ([127, 0, 0, 1], port).into();
    let child = Command::new(bin)
        .arg("--home")
        .arg(home)
        .args(["run", "--listen", &listen.to_string()])
        .args(["--web", "127.0.0.1:0", "--upstream-ca"])
        .arg(provider_ca.cert_path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let proxy = ProxyProcess(child);
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(listen).await.is_ok() && home.join("proxy.json").exists()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok((proxy, listen))
}

/// The proxy's API, as `proxy.json` announces it.
struct Api {
    addr: String,
    token: String,
    client: reqwest::Client,
}

impl Api {
    fn read(home: &Path) -> anyhow::Result<Api> {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(home.join("proxy.json"))?)?;
        Ok(Api {
            addr: state["api"].as_str().unwrap_or_default().to_string(),
            token: state["token"].as_str().unwrap_or_default().to_string(),
            client: reqwest::Client::builder().no_proxy().build()?,
        })
    }

    /// The body of the newest stored record's request, if any. Builds whose
    /// API cannot list the newest record alone (before `order=`) are asked
    /// for everything, as `flows list` would.
    async fn newest_request_body(&self) -> Option<String> {
        let get = |q: &str| {
            self.client
                .get(format!("http://{}/api/records{q}", self.addr))
                .bearer_auth(&self.token)
                .send()
        };
        let mut resp = get("?order=newest_first&limit=1").await.ok()?;
        let mut newest_first = true;
        if resp.status() == reqwest::StatusCode::BAD_REQUEST {
            resp = get("").await.ok()?;
            newest_first = false;
        }
        let v: serde_json::Value = resp.json().await.ok()?;
        let list = v.as_array()?;
        let rec = if newest_first {
            list.first()
        } else {
            list.last()
        }?;
        rec["request"]["body"].as_str().map(str::to_string)
    }
}

/// Run `oauthscope export --format FORMAT -o FILE` and sample its `VmHWM`
/// until it exits: (HAR entries or JSON records written, peak RSS in KiB,
/// seconds). The file is deleted afterwards.
fn export_peak_rss(
    bin: &Path,
    home: &Path,
    format: &str,
    out: &Path,
) -> anyhow::Result<(usize, u64, f64)> {
    let t = Instant::now();
    let mut child = Command::new(bin)
        .arg("--home")
        .arg(home)
        .args(["export", "--format", format, "-o"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let mut peak = 0;
    loop {
        if let Some(kib) = status_kib(pid, "VmHWM:") {
            peak = peak.max(kib);
        }
        if child.try_wait()?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let secs = t.elapsed().as_secs_f64();
    // One `startedDateTime` per HAR entry, one `"id"` per JSON record, at
    // their first level of indentation.
    let key = if format == "har" {
        "        \"startedDateTime\": "
    } else {
        "    \"id\": "
    };
    let n = match std::fs::File::open(out) {
        Ok(f) => {
            use std::io::BufRead;
            std::io::BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .filter(|l| l.starts_with(key))
                .count()
        }
        Err(_) => 0,
    };
    let _ = std::fs::remove_file(out);
    Ok((n, peak, secs))
}

/// Run `oauthscope flows list --json` and sample its `VmHWM` until it exits:
/// (records listed, peak RSS in KiB, seconds).
fn list_peak_rss(bin: &Path, home: &Path) -> anyhow::Result<(usize, u64, f64)> {
    let t = Instant::now();
    let mut child = Command::new(bin)
        .arg("--home")
        .arg(home)
        .args(["flows", "list", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let mut out = child.stdout.take().expect("piped stdout");
    let counter = std::thread::spawn(move || {
        // Count records without holding the listing: one `"id"` key per
        // record at the array's first level of indentation.
        use std::io::BufRead;
        std::io::BufReader::new(&mut out)
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.starts_with("    \"id\": "))
            .count()
    });
    let mut peak = 0;
    loop {
        if let Some(kib) = status_kib(pid, "VmHWM:") {
            peak = peak.max(kib);
        }
        if child.try_wait()?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let n = counter.join().unwrap_or(0);
    Ok((n, peak, t.elapsed().as_secs_f64()))
}

/// Part 4 (see the module docs).
async fn one_flow(
    bin: &Path,
    provider_ca: &LocalCa,
    provider: SocketAddr,
    conc: usize,
    total: usize,
    dir: &Path,
) -> anyhow::Result<()> {
    let home = dir.join("one-flow");
    let (our_ca, _) = LocalCa::load_or_create(&Home::new(&home))?;
    let (proxy, listen) = spawn_proxy(bin, &home, provider_ca).await?;
    let pid = proxy.0.id();
    let api = Api::read(&home)?;
    let through = client(our_ca.cert_pem(), Some(listen))?;
    let url = format!("https://127.0.0.1:{}/fixed/token", provider.port());
    println!(
        "\none flow that grows to {total} records (every refresh returns the same refresh token), {conc} connections"
    );
    // BENCH_FLOW_RATE paces the load (exchanges per second in all): below
    // the recorder's throughput the lag shows its latency, above it the
    // backlog that builds up.
    let rate: Option<f64> = std::env::var("BENCH_FLOW_RATE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|r: &f64| *r > 0.0);
    if let Some(r) = rate {
        println!("  paced at {r:.0} exchanges/s");
    }
    println!(
        "  (the recorder's queue holds at most {} exchanges; past it responses wait for room)",
        oauthscope::proxy::RECORD_QUEUE
    );
    let paced_from = Instant::now();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut marks: Vec<usize> = [1_000, 10_000, 100_000]
        .into_iter()
        .filter(|m| *m < total)
        .collect();
    marks.push(total);
    let mut from = 0;
    for mark in marks {
        let t = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..conc {
            let (c, u, sent) = (through.clone(), url.clone(), sent.clone());
            workers.push(tokio::spawn(async move {
                let mut failed = 0usize;
                loop {
                    let n = sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= mark {
                        return failed;
                    }
                    if let Some(r) = rate {
                        let due = paced_from + Duration::from_secs_f64(n as f64 / r);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let form = [
                        ("grant_type", "refresh_token".to_string()),
                        ("refresh_token", "bench-fixed-rt".to_string()),
                        ("client_id", format!("bench-{n}")),
                    ];
                    let ok = match c.post(&u).form(&form).send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    failed += usize::from(!ok);
                }
            }));
        }
        let mut failed = 0;
        for w in workers {
            failed += w.await?;
        }
        sent.store(mark, std::sync::atomic::Ordering::Relaxed);
        let took = t.elapsed().as_secs_f64();
        // The lag: from the last response of this stretch until the
        // proxy's API lists a record of the stretch's last requests.
        let wanted: Vec<String> = (mark.saturating_sub(conc)..mark)
            .map(|n| format!("client_id=bench-{n}"))
            .collect();
        let t_lag = Instant::now();
        let mut lag = None;
        // How far behind the recorder was when the last response arrived.
        let mut behind: Option<usize> = None;
        while t_lag.elapsed() < Duration::from_secs(120) {
            match api.newest_request_body().await {
                Some(body) => {
                    if behind.is_none() {
                        behind = body
                            .rsplit("client_id=bench-")
                            .next()
                            .and_then(|n| n.split('&').next()?.parse::<usize>().ok())
                            .map(|n| mark.saturating_sub(n + 1));
                    }
                    if wanted.iter().any(|w| body.contains(w.as_str())) {
                        lag = Some(t_lag.elapsed());
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                // The API connection was closed (idle): ask again on a new one.
                None => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        println!(
            "  records {from:>6}..{mark:<6} {:>8.0} exchanges/s through the proxy   lag to listed {} ({} records behind)   ({failed} failed, proxy RSS {:.1} MiB)",
            (mark - from) as f64 / took,
            match lag {
                Some(l) => format!("{:>7.1} ms", l.as_secs_f64() * 1e3),
                None => "  > 120 s".into(),
            },
            behind.map_or("?".to_string(), |b| b.to_string()),
            status_kib(pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0
        );
        from = mark;
    }
    let rss_before = status_kib(pid, "VmRSS:").unwrap_or(0);
    let (n, peak, secs) = list_peak_rss(bin, &home)?;
    println!(
        "  `flows list --json` through the running proxy: {n} records in {secs:.1} s, CLI peak RSS {:.1} MiB; proxy RSS {:.1} -> {:.1} MiB (peak {:.1})",
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        status_kib(pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0,
        status_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0
    );
    let (n, peak, secs) = export_peak_rss(bin, &home, "har", &dir.join("export.har"))?;
    println!(
        "  `export --format har` through the running proxy: {n} entries in {secs:.1} s, CLI peak RSS {:.1} MiB",
        peak as f64 / 1024.0
    );
    drop(proxy);
    let (n, peak, secs) = list_peak_rss(bin, &home)?;
    println!(
        "  `flows list --json` from the stopped proxy's store: {n} records in {secs:.1} s, CLI peak RSS {:.1} MiB",
        peak as f64 / 1024.0
    );
    for format in ["har", "json"] {
        let (n, peak, secs) =
            export_peak_rss(bin, &home, format, &dir.join(format!("export.{format}")))?;
        println!(
            "  `export --format {format}` from the stopped proxy's store: {n} records in {secs:.1} s, CLI peak RSS {:.1} MiB",
            peak as f64 / 1024.0
        );
    }
    Ok(())
}

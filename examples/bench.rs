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
//!    through it (measured first, so the loads above do not inflate it).
//!
//! Figures are printed, never asserted: shared machines are noisy. Set
//! `BENCH_SECONDS` (default 5) and `BENCH_CONCURRENCY` (default 16).

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

/// The release binary next to this example (`target/release/oauthscope`).
fn oauthscope_bin() -> anyhow::Result<PathBuf> {
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
    Ok(())
}

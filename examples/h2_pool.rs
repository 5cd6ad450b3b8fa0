//! Upstream connections and memory when HTTP/2 clients flood reverse mode,
//! and whether Ctrl-C still stops the proxy under that load.
//!
//! ```text
//! cargo build && cargo run --example h2_pool
//! ```
//!
//! Starts a plain HTTP/1.1 upstream on loopback that counts the TCP
//! connections it accepts (in all, and the most open at once), then the
//! real `oauthscope run --reverse` binary (the one next to this example, or
//! `BENCH_BIN`) in a fresh data directory, and sends `H2_REQUESTS` (default
//! 20 000) HTTP/2 requests through it with `h2load` (Debian
//! `nghttp2-client`; `-c H2_CLIENTS -m H2_STREAMS`, default 10 × 100). It
//! prints the upstream connections accepted, the most open at once, those
//! still open, and the proxy's RSS (`VmRSS`, peak `VmHWM`). Then it starts
//! the same load again, sends SIGINT in the middle of it, and prints how long
//! the proxy took to exit and its exit status.
//!
//! Figures are printed, never asserted: shared machines are noisy.

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static ACCEPTED: AtomicUsize = AtomicUsize::new(0);
static OPEN: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

async fn start_upstream() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            ACCEPTED.fetch_add(1, Ordering::Relaxed);
            let now = OPEN.fetch_add(1, Ordering::Relaxed) + 1;
            PEAK.fetch_max(now, Ordering::Relaxed);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                        b"{\"ok\":true}",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
                OPEN.fetch_sub(1, Ordering::Relaxed);
            });
        }
    });
    Ok(addr)
}

fn oauthscope_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("BENCH_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe()?;
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("oauthscope"))
        .filter(|p| p.exists())
        .ok_or_else(|| anyhow::anyhow!("build the oauthscope binary first (cargo build)"))
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

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Kills the proxy when dropped (if it is still running).
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn h2load(url: &str, n: usize, clients: usize, streams: usize) -> Command {
    let mut cmd = Command::new("h2load");
    cmd.args([
        "-n",
        &n.to_string(),
        "-c",
        &clients.to_string(),
        "-m",
        &streams.to_string(),
        url,
    ]);
    cmd
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env_usize("H2_REQUESTS", 20_000);
    let clients = env_usize("H2_CLIENTS", 10);
    let streams = env_usize("H2_STREAMS", 100);
    if Command::new("h2load").arg("--version").output().is_err() {
        anyhow::bail!("h2load not found: apt-get install nghttp2-client");
    }
    let upstream = start_upstream().await?;
    let bin = oauthscope_bin()?;
    let home = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut child = Command::new(&bin)
        .arg("--home")
        .arg(home.path())
        .args(["run", "--no-web", "--listen", &listen.to_string()])
        .args(["--reverse", &format!("http://{upstream}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(listen).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    println!(
        "{} through reverse mode: {n} HTTP/2 requests, {clients} connections × {streams} streams",
        bin.display()
    );
    let url = format!("http://{listen}/token");
    let t = Instant::now();
    let out = tokio::task::spawn_blocking({
        let mut cmd = h2load(&url, n, clients, streams);
        move || cmd.output()
    })
    .await??;
    let secs = t.elapsed().as_secs_f64();
    let summary = String::from_utf8_lossy(&out.stdout);
    for line in summary
        .lines()
        .filter(|l| l.starts_with("requests:") || l.starts_with("status codes:"))
    {
        println!("  h2load {line}");
    }
    println!("  {secs:.1} s");
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "  upstream connections: {} accepted, at most {} open at once, {} still open",
        ACCEPTED.load(Ordering::Relaxed),
        PEAK.load(Ordering::Relaxed),
        OPEN.load(Ordering::Relaxed)
    );
    println!(
        "  proxy RSS: {} MiB now, {} MiB peak",
        status_kib(pid, "VmRSS:").unwrap_or(0) / 1024,
        status_kib(pid, "VmHWM:").unwrap_or(0) / 1024
    );

    // Ctrl-C in the middle of the same load.
    let mut load = h2load(&url, n * 10, clients, streams)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t = Instant::now();
    // SAFETY: kill(2) on the child's pid with a valid signal number.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGINT);
    }
    let mut status = None;
    while t.elapsed() < Duration::from_secs(60) {
        if let Some(s) = child.try_wait()? {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match status {
        Some(s) => println!(
            "  SIGINT under load: exited after {:.2} s ({s})",
            t.elapsed().as_secs_f64()
        ),
        None => println!("  SIGINT under load: still running after 60 s"),
    }
    let _ = load.kill();
    let _ = load.wait();
    drop(Proxy(child));
    Ok(())
}

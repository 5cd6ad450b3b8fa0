//! The proxy forwards only what it received and blames the right party
//! (issue 16, items 6, 7 and 9): request bodies that end early or are
//! malformed are aborted upstream, never completed; a client that stops
//! reading is not an upstream error; upstream deadlines end in a 504 that
//! names the deadline; HTTP/2 clients share a bounded pool of upstream
//! connections; oversized heads inside TLS get a 431; invalid CONNECT
//! targets get a 400. Everything runs over real sockets on 127.0.0.1, the
//! upstreams are raw TCP listeners or hyper servers, bounded in time.

mod support;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use oauthscope::proxy::reverse::ReverseConfig;
use oauthscope::proxy::upstream::UpstreamLimits;
use oauthscope::proxy::ProxyConfig;
use oauthscope::record::Record;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::Harness;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every byte each upstream connection received, one entry per connection,
/// complete once that connection closed.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Conn>>>);

/// The bytes one connection received, and whether it has closed.
type Conn = (Vec<u8>, bool);

impl Received {
    /// Wait (bounded) until `n` connections have closed; their bytes.
    async fn closed(&self, n: usize) -> Vec<Vec<u8>> {
        for _ in 0..400 {
            {
                let all = self.0.lock().unwrap();
                let done: Vec<_> = all.iter().filter(|c| c.1).map(|c| c.0.clone()).collect();
                if done.len() >= n {
                    return done;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let all = self.0.lock().unwrap();
        panic!(
            "expected {n} closed upstream connections, have: {:?}",
            all.iter()
                .map(|(b, c)| (String::from_utf8_lossy(b).into_owned(), *c))
                .collect::<Vec<_>>()
        );
    }
}

/// An upstream that never answers: it logs the raw bytes each connection
/// sends until the proxy closes it.
async fn logging_upstream() -> (SocketAddr, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Received::default();
    let log = received.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let i = {
                    let mut all = log.0.lock().unwrap();
                    all.push((Vec::new(), false));
                    all.len() - 1
                };
                let mut buf = [0u8; 8192];
                loop {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => log.0.lock().unwrap()[i].0.extend_from_slice(&buf[..n]),
                    }
                }
                log.0.lock().unwrap()[i].1 = true;
            });
        }
    });
    (addr, received)
}

/// Read from `s` until `pat` was seen, EOF, or 10 s: what was read.
async fn read_until<S: tokio::io::AsyncRead + Unpin>(s: &mut S, pat: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while !buf.windows(pat.len()).any(|w| w == pat) {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    buf
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A session in reverse mode to `upstream` with `limits`.
async fn reverse(upstream: &str, limits: UpstreamLimits) -> Harness {
    Harness::start_with(
        Vec::new(),
        Vec::new(),
        &[],
        ProxyConfig {
            reverse: Some(ReverseConfig::new(upstream.parse().unwrap())),
            upstream: limits,
            ..ProxyConfig::default()
        },
    )
    .await
}

async fn forward(limits: UpstreamLimits, upstream_ca: Vec<std::path::PathBuf>) -> Harness {
    Harness::start_with(
        upstream_ca,
        Vec::new(),
        &[],
        ProxyConfig {
            upstream: limits,
            ..ProxyConfig::default()
        },
    )
    .await
}

/// The record whose URL ends with `path`.
fn record_for<'a>(recs: &'a [Record], path: &str) -> &'a Record {
    recs.iter()
        .find(|r| r.request.url.ends_with(path))
        .unwrap_or_else(|| panic!("no record for {path}: {recs:#?}"))
}

const TOKEN_HEAD: &str = "Content-Type: application/x-www-form-urlencoded\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_that_end_early_or_are_malformed_are_aborted_upstream() {
    for mode in ["forward", "reverse"] {
        let (up, received) = logging_upstream().await;
        let h = match mode {
            "forward" => forward(UpstreamLimits::default(), Vec::new()).await,
            _ => reverse(&format!("http://{up}"), UpstreamLimits::default()).await,
        };
        let target = |path: &str| match mode {
            "forward" => format!("http://{up}{path}"),
            _ => path.to_string(),
        };
        // 1. A chunked token request (OAuth: its body is read for
        // classification) abandoned mid-body: the client closes.
        let mut s = TcpStream::connect(h.proxy_addr()).await.unwrap();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {up}\r\n{TOKEN_HEAD}Transfer-Encoding: chunked\r\n\r\n",
            target("/oauth2/token")
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(b"21\r\ngrant_type=client_credentials&sco\r\n")
            .await
            .unwrap();
        s.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(s);
        // 2. A chunked upload that is not OAuth (streamed untouched),
        // abandoned mid-body.
        let mut s = TcpStream::connect(h.proxy_addr()).await.unwrap();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {up}\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
            target("/upload")
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(b"5\r\nhello\r\n").await.unwrap();
        s.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(s);
        // 3. A token request with malformed chunked encoding; the client
        // waits for the answer.
        let mut s = TcpStream::connect(h.proxy_addr()).await.unwrap();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {up}\r\n{TOKEN_HEAD}Transfer-Encoding: chunked\r\n\r\n",
            target("/malformed/token")
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(b"a\r\ngrant_type\r\nzz-not-hex\r\nmore\r\n")
            .await
            .unwrap();
        let answer = text(&read_until(&mut s, b"\r\n\r\n").await);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
            "{mode}: a malformed body is the client's fault: {answer:?}"
        );
        // 4. Content-Length promises more than arrives.
        let mut s = TcpStream::connect(h.proxy_addr()).await.unwrap();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {up}\r\n{TOKEN_HEAD}Content-Length: 100\r\n\r\ngrant_type=password",
            target("/short/token")
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(s);

        // Each request's upstream connection was aborted: no terminating
        // chunk, never more than the client sent. (A token request's body is
        // read before it is forwarded, so its connection may close empty;
        // the streamed upload's head and first chunk went ahead.)
        let conns = received.closed(4).await;
        assert_eq!(
            conns.len(),
            4,
            "{mode}: one upstream connection per request"
        );
        for got in conns.iter().map(|c| text(c)) {
            assert!(
                !got.contains("0\r\n\r\n"),
                "{mode}: a terminating chunk was added: {got:?}"
            );
            assert!(
                !got.contains("zz-not-hex") && !got.contains("more"),
                "{mode}: forwarded past the malformed chunk: {got:?}"
            );
            if got.contains("POST /short/token ") {
                let body = got.split("\r\n\r\n").nth(1).unwrap_or("");
                assert!(body.len() < 100, "{mode}: more than was sent: {got:?}");
            }
        }
        assert!(
            conns
                .iter()
                .any(|c| text(c).contains("POST /upload ") && text(c).ends_with("5\r\nhello\r\n")),
            "{mode}: the streamed upload went ahead as far as the client sent it: {conns:?}"
        );
        // The OAuth ones are recorded as aborted by the client, without a response.
        let recs = h.wait_for(3).await;
        for path in ["/oauth2/token", "/malformed/token", "/short/token"] {
            let r = record_for(&recs, path);
            let err = r.error.as_deref().unwrap_or("");
            assert!(
                err.contains("the client aborted the request"),
                "{mode}: {path}: {err:?}"
            );
            assert!(r.response.is_none(), "{mode}: {path}: no response");
            assert!(
                r.request.body.incomplete.is_some(),
                "{mode}: {path}: the stored body says it is incomplete"
            );
        }
        assert_eq!(
            record_for(&recs, "/oauth2/token").request.body.text,
            "grant_type=client_credentials&sco",
            "{mode}: what the client did send is kept"
        );
        h.shutdown().await;
    }
}

/// An HTTP/1.1 upstream whose `/authorize` answers a 302 with an endless
/// body, `/cut` promises 1000 bytes and closes after 10, `/stall-head`
/// sends half a head and stalls, `/stall-body…` a head and 10 of 1000
/// bytes and stalls, `/slow/token` never answers. Everything else: `ok`.
async fn scripted_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let head = read_until(&mut tcp, b"\r\n\r\n").await;
                let line = text(&head);
                let path = line.split(' ').nth(1).unwrap_or("").to_string();
                if path.starts_with("/authorize") {
                    let _ = tcp
                        .write_all(b"HTTP/1.1 302 Found\r\nLocation: http://localhost:3000/callback?code=abc&state=s\r\nTransfer-Encoding: chunked\r\n\r\n")
                        .await;
                    let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
                    while tcp.write_all(chunk.as_bytes()).await.is_ok() {}
                } else if path == "/cut/token" {
                    let _ = tcp
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"access_")
                        .await;
                } else if path == "/stall-head" {
                    let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\nContent-Ty").await;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                } else if path.starts_with("/stall-body") {
                    let _ = tcp
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"access_")
                        .await;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                } else if path == "/slow/token" {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                } else {
                    let _ = tcp
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        )
                        .await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_not_an_upstream_error() {
    let up = scripted_upstream().await;
    let h = forward(UpstreamLimits::default(), Vec::new()).await;
    // A browser that reads a redirect's head and goes on to its Location.
    let mut s = TcpStream::connect(h.proxy_addr()).await.unwrap();
    let req = format!(
        "GET http://{up}/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&state=s HTTP/1.1\r\nHost: {up}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let answer = read_until(&mut s, b"xxxx").await;
    assert!(
        text(&answer).starts_with("HTTP/1.1 302"),
        "{}",
        text(&answer)
    );
    drop(s);
    // The upstream dies mid-body: that one is an upstream error.
    let mut s = TcpStream::connect(h.proxy_addr()).await.unwrap();
    let req = format!(
        "POST http://{up}/cut/token HTTP/1.1\r\nHost: {up}\r\n{TOKEN_HEAD}Content-Length: 29\r\n\r\ngrant_type=client_credentials"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let _ = read_until(&mut s, b"\0never").await;

    let recs = h.wait_for(2).await;
    let redirect = record_for(&recs, "state=s");
    assert_eq!(redirect.error, None, "not an error: {redirect:#?}");
    let res = redirect.response.as_ref().expect("the 302 is kept");
    assert_eq!(res.status, 302);
    assert!(res.body.text.starts_with("xxxx"), "what arrived is kept");
    let why = res.body.incomplete.as_deref().unwrap_or("");
    assert!(why.contains("the client stopped reading"), "{why:?}");
    let cut = record_for(&recs, "/cut/token");
    let err = cut.error.as_deref().unwrap_or("");
    assert!(
        err.contains("the response body did not arrive whole"),
        "an upstream that dies mid-body is an error: {cut:#?}"
    );
    h.shutdown().await;
}

fn quick_deadlines() -> UpstreamLimits {
    UpstreamLimits {
        connect: Duration::from_millis(700),
        first_byte: Duration::from_millis(700),
        idle: Duration::from_millis(700),
        ..UpstreamLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_deadlines_end_in_a_504_that_names_them_and_a_record() {
    let up = scripted_upstream().await;
    // Accepts TCP (the kernel does) but never speaks TLS.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let h = forward(quick_deadlines(), Vec::new()).await;
    let client = h.client();
    let token = |url: String| {
        client
            .post(url)
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    // No answer after the request: the first-byte deadline.
    let r = token(format!("http://{up}/slow/token")).await.unwrap();
    assert_eq!(r.status(), 504);
    let body = r.text().await.unwrap();
    assert!(body.contains("first-byte deadline"), "{body}");
    // Half a head, then silence: the idle deadline, still before any answer.
    let r = token(format!("http://{up}/stall-head")).await.unwrap();
    assert_eq!(r.status(), 504);
    let body = r.text().await.unwrap();
    assert!(body.contains("idle deadline"), "{body}");
    // TLS that never completes: the connect deadline.
    let r = token(format!("https://127.0.0.1:{}/token", silent_addr.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    let body = r.text().await.unwrap();
    assert!(body.contains("connect deadline"), "{body}");
    // The answer starts, then stops: the body is cut and the record says why.
    let r = token(format!("http://{up}/stall-body/token"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.bytes().await.is_err(),
        "the cut body is not passed off as whole"
    );

    let recs = h.wait_for(4).await;
    for (path, deadline) in [
        ("/slow/token", "first-byte deadline"),
        ("/stall-head", "idle deadline"),
        (
            &format!("127.0.0.1:{}/token", silent_addr.port())[..],
            "connect deadline",
        ),
        ("/stall-body/token", "idle deadline"),
    ] {
        let r = record_for(&recs, path);
        let err = r.error.as_deref().unwrap_or("");
        assert!(err.contains(deadline), "{path}: {err:?}");
    }
    drop(silent);
    h.shutdown().await;
}

/// A plain HTTP/1.1 upstream answering `ok` that counts connections: how
/// many it accepted, and the most open at once.
async fn counting_upstream() -> (SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let open = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (a, p) = (accepted.clone(), peak.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            let open = open.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    // A little work, so that requests overlap.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (addr, accepted, peak)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_streams_share_a_bounded_pool_of_upstream_connections() {
    const BOUND: usize = 8;
    const REQUESTS: usize = 2000;
    let (up, accepted, peak) = counting_upstream().await;
    let h = reverse(
        &format!("http://{up}"),
        UpstreamLimits {
            connections_per_host: BOUND,
            ..UpstreamLimits::default()
        },
    )
    .await;
    // Four HTTP/2 (prior knowledge) connections, 2000 streams, 500 at a time.
    let clients: Vec<reqwest::Client> = (0..4)
        .map(|_| {
            reqwest::Client::builder()
                .no_proxy()
                .http2_prior_knowledge()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap()
        })
        .collect();
    let url = format!("http://{}/ping", h.proxy_addr());
    let sem = Arc::new(tokio::sync::Semaphore::new(500));
    let mut tasks = Vec::new();
    for i in 0..REQUESTS {
        let c = clients[i % clients.len()].clone();
        let url = url.clone();
        let permit = sem.clone().acquire_owned().await.unwrap();
        tasks.push(tokio::spawn(async move {
            let r = c.get(url).send().await.unwrap();
            assert_eq!(r.version(), reqwest::Version::HTTP_2);
            let status = r.status();
            let body = r.bytes().await.unwrap();
            drop(permit);
            (status, body)
        }));
    }
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(&body[..], b"ok");
    }
    let peak = peak.load(Ordering::SeqCst);
    let accepted = accepted.load(Ordering::SeqCst);
    println!("{REQUESTS} h2 requests: {accepted} upstream connections accepted, at most {peak} open at once");
    // BOUND requests in flight, plus at most BOUND idle connections kept.
    assert!(
        peak <= 2 * BOUND,
        "{peak} upstream connections open at once (bound 2 × {BOUND})"
    );
    assert!(
        accepted <= 8 * BOUND,
        "{accepted} upstream connections for {REQUESTS} requests: the pool is not reused"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_connect_targets_get_a_400() {
    let h = forward(UpstreamLimits::default(), Vec::new()).await;
    for target in [
        "127.0.0.1:99999",
        "127.0.0.1:0",
        "127.0.0.1",
        "localhost",
        "exa$mple.com:443",
        "-x-.example:443",
    ] {
        let mut s = TcpStream::connect(h.proxy_addr()).await.unwrap();
        s.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let answer = text(&read_until(&mut s, b"\r\n\r\n").await);
        assert!(
            answer.starts_with("HTTP/1.1 400"),
            "CONNECT {target}: {answer:?}"
        );
    }
    h.shutdown().await;
}

/// TLS to 127.0.0.1 over `tcp`, trusting only `ca_pem`.
async fn tls_over(tcp: TcpStream, ca_pem: &str) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    let der: rustls::pki_types::CertificateDer<'static> =
        rustls::pki_types::pem::PemObject::from_pem_slice(ca_pem.as_bytes()).unwrap();
    roots.add(der).unwrap();
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect("127.0.0.1".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_kib_request_head_inside_tls_gets_a_431() {
    let provider = support::start_provider().await;
    let big = "a".repeat(256 * 1024);
    let request = |host: &str| format!("GET /x HTTP/1.1\r\nHost: {host}\r\nX-Big: {big}\r\n\r\n");
    // Forward mode: CONNECT, then TLS with our CA.
    let h = forward(
        UpstreamLimits::default(),
        vec![provider.ca_pem_path.clone()],
    )
    .await;
    let mut s = TcpStream::connect(h.proxy_addr()).await.unwrap();
    let target = provider.addr;
    s.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let head = read_until(&mut s, b"\r\n\r\n").await;
    assert!(text(&head).starts_with("HTTP/1.1 200"), "{}", text(&head));
    let mut tls = tls_over(s, h.ca.cert_pem()).await;
    // The proxy answers after 64 KiB and keeps reading (lingering close), so
    // the client can send its whole request without a reset and then read.
    tls.write_all(request(&target.to_string()).as_bytes())
        .await
        .expect("forward: the whole request is sent, not reset");
    let answer = text(&read_until(&mut tls, b"\r\n\r\n").await);
    assert!(answer.starts_with("HTTP/1.1 431"), "forward: {answer:?}");
    h.shutdown().await;
    // Reverse mode over TLS.
    let h = reverse(&provider.url(""), UpstreamLimits::default()).await;
    let s = TcpStream::connect(h.proxy_addr()).await.unwrap();
    let mut tls = tls_over(s, h.ca.cert_pem()).await;
    tls.write_all(request("127.0.0.1").as_bytes())
        .await
        .expect("reverse: the whole request is sent, not reset");
    let answer = text(&read_until(&mut tls, b"\r\n\r\n").await);
    assert!(answer.starts_with("HTTP/1.1 431"), "reverse: {answer:?}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_takes_the_upstream_flags_and_stops_on_sigint_under_load() {
    let up = scripted_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, ca_pem) = support::server_tls(dir.path(), &[b"http/1.1"]);
    let reverse = format!("http://{up}");
    let mut p = support::RunProcess::start(
        &ca_pem,
        &[
            "--reverse",
            &reverse,
            "--upstream-timeout",
            "1s",
            "--upstream-connections",
            "4",
        ],
    );
    let client = || {
        reqwest::Client::builder()
            .no_proxy()
            .http2_prior_knowledge()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    };
    let base = format!("http://{}", p.listen);
    let r = client()
        .post(format!("{base}/slow/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("first-byte deadline: no answer within 1 s"),
        "{body}"
    );
    // HTTP/2 load on four connections, then SIGINT in the middle of it.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for _ in 0..4 {
        let c = client();
        for _ in 0..50 {
            let (c, url, stop, done) = (
                c.clone(),
                format!("{base}/ping"),
                stop.clone(),
                done.clone(),
            );
            load.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if c.get(&url).send().await.is_err() {
                        break;
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
    }
    while done.load(Ordering::Relaxed) < 500 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = p.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let mut status = None;
    for _ in 0..1200 {
        if let Some(s) = p.child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        let _ = t.await;
    }
    let status = status.expect("oauthscope run stops on SIGINT under load (30 s bound)");
    assert!(status.success(), "{status}");

    // Invalid values are refused with a reason.
    let out = tokio::task::spawn_blocking(|| {
        support::output_within(
            std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope")).args([
                "run",
                "--upstream-timeout",
                "0s",
            ]),
            Duration::from_secs(30),
        )
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("between 1ms and 60m"), "{err}");
}

//! The proxy under abuse: many connections, slow and silent clients,
//! oversized heads, HTTP/2 resets, WebSockets and raw TCP through CONNECT.
//! Every test talks only to 127.0.0.1 and is bounded in count and time.

mod support;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use oauthscope::proxy::ProxyConfig;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::{start_provider, Harness};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A plain HTTP/1.1 server answering `ok` to everything.
async fn plain_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

/// Read from `s` until `pat` was seen, EOF, or `limit`: what was read.
async fn read_until(s: &mut TcpStream, pat: &[u8], limit: Duration) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let _ = tokio::time::timeout(limit, async {
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

fn get(upstream: SocketAddr, path: &str) -> String {
    format!("GET http://{upstream}{path} HTTP/1.1\r\nHost: {upstream}\r\n\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_connections_are_served() {
    const N: usize = 1000;
    let h = Harness::start(Vec::new()).await;
    let upstream = plain_upstream().await;
    let proxy = h.proxy_addr();
    // All connections are open at once: each waits for the others before
    // asking and before closing.
    let connected = Arc::new(tokio::sync::Barrier::new(N));
    let answered = Arc::new(tokio::sync::Barrier::new(N));
    let mut tasks = Vec::new();
    for i in 0..N {
        let (connected, answered) = (connected.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(proxy).await.ok();
            connected.wait().await;
            let ok = match s.as_mut() {
                Some(s) => {
                    s.write_all(get(upstream, &format!("/{i}")).as_bytes())
                        .await
                        .is_ok()
                        && read_until(s, b"\r\n\r\nok", Duration::from_secs(60))
                            .await
                            .starts_with(b"HTTP/1.1 200")
                }
                None => false,
            };
            answered.wait().await;
            ok
        }));
    }
    let mut served = 0;
    for t in tasks {
        served += usize::from(t.await.unwrap());
    }
    assert_eq!(served, N, "connections served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_and_do_not_block_others() {
    let h = Harness::start_with(
        Vec::new(),
        Vec::new(),
        &[],
        ProxyConfig {
            header_timeout: Duration::from_secs(1),
            ..ProxyConfig::default()
        },
    )
    .await;
    let upstream = plain_upstream().await;
    let proxy = h.proxy_addr();
    let mut idle = Vec::new();
    for i in 0..40 {
        let mut s = TcpStream::connect(proxy).await.unwrap();
        if i % 2 == 0 {
            // Slowloris: a head that never ends, one header line at a time.
            let head = format!("GET http://{upstream}/ HTTP/1.1\r\nHost: {upstream}\r\n");
            s.write_all(head.as_bytes()).await.unwrap();
        } else {
            // Idle keep-alive: one whole exchange, then nothing.
            s.write_all(get(upstream, "/once").as_bytes())
                .await
                .unwrap();
            let answer = read_until(&mut s, b"\r\n\r\nok", Duration::from_secs(10)).await;
            assert!(answer.starts_with(b"HTTP/1.1 200"));
        }
        idle.push(s);
    }
    let (mut slow_writers, mut readers) = (Vec::new(), Vec::new());
    for (i, s) in idle.into_iter().enumerate() {
        let (mut r, mut w) = s.into_split();
        if i % 2 == 0 {
            slow_writers.push(tokio::spawn(async move {
                for n in 0..50 {
                    if w.write_all(format!("X-Slow-{n}: 1\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }));
        } else {
            slow_writers.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(15)).await;
                drop(w);
            }));
        }
        readers.push(tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            // Closed by the proxy: EOF or a reset, within a bounded wait.
            loop {
                match tokio::time::timeout(Duration::from_secs(12), r.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return true,
                    Ok(Ok(_)) => continue, // a 408 or similar before closing
                    Err(_) => return false,
                }
            }
        }));
    }
    // Meanwhile the app's traffic goes through.
    let client = h.client();
    for i in 0..20 {
        let r = client
            .get(format!("http://{upstream}/app/{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let mut closed = 0;
    for r in readers {
        closed += usize::from(r.await.unwrap());
    }
    for w in slow_writers {
        w.abort();
    }
    assert_eq!(closed, 40, "slow and idle connections closed by the proxy");
}

/// Wait until the peer closes `r` (EOF or an error), at most `limit`;
/// whatever it sends before closing (a 408, a TLS alert) is skipped.
async fn closed_within<R: tokio::io::AsyncRead + Unpin>(r: &mut R, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_before_their_first_byte() {
    // hyper-util's HTTP/1-or-2 detection, the read after CONNECT and the
    // TLS handshake wait for the client's first byte; each must give up
    // after the header timeout (1 s here) instead of holding the socket.
    let h = Harness::start_with(
        Vec::new(),
        Vec::new(),
        &[],
        ProxyConfig {
            header_timeout: Duration::from_secs(1),
            ..ProxyConfig::default()
        },
    )
    .await;
    let upstream = plain_upstream().await;
    let proxy = h.proxy_addr();
    // Connected, never a byte: to the proxy, to the web UI (same timeout)
    // and to the loopback API (its own 10 s head timeout).
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(proxy).await.unwrap());
    }
    let web = h.session.web_addr().expect("the session serves the UI");
    let mut silent_web = Vec::new();
    for _ in 0..5 {
        silent_web.push(TcpStream::connect(web).await.unwrap());
    }
    let api: SocketAddr = oauthscope::api::ProxyState::read(&h.home)
        .unwrap()
        .expect("proxy.json")
        .api
        .parse()
        .unwrap();
    let mut silent_api = Vec::new();
    for _ in 0..5 {
        silent_api.push(TcpStream::connect(api).await.unwrap());
    }
    // CONNECT answered, then nothing (no TLS, no HTTP).
    let mut tunnels = Vec::new();
    for _ in 0..10 {
        tunnels.push(connect(proxy, upstream).await);
    }
    // CONNECT, a whole TLS handshake with the proxy's certificate, then no request.
    let mut tls = Vec::new();
    for _ in 0..5 {
        let tcp = connect(proxy, upstream).await;
        tls.push(tls_over(tcp, h.ca.cert_pem(), &[b"http/1.1"]).await);
    }
    // Meanwhile the app's traffic goes through, on fresh connections.
    let client = h.client();
    for i in 0..10 {
        let r = client
            .get(format!("http://{upstream}/app/{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // 1 s timeout; 10 s is the bound for a loaded machine, not a speed claim.
    let limit = Duration::from_secs(10);
    let mut closed = (0, 0, 0);
    for s in &mut silent {
        closed.0 += usize::from(closed_within(s, limit).await);
    }
    for s in &mut tunnels {
        closed.1 += usize::from(closed_within(s, limit).await);
    }
    for s in &mut tls {
        closed.2 += usize::from(closed_within(s, limit).await);
    }
    assert_eq!(
        closed,
        (20, 10, 5),
        "silent connections closed by the proxy (plain, after CONNECT, after TLS)"
    );
    let mut web_closed = 0;
    for s in &mut silent_web {
        web_closed += usize::from(closed_within(s, limit).await);
    }
    assert_eq!(web_closed, 5, "silent connections closed by the web UI");
    let mut api_closed = 0;
    for s in &mut silent_api {
        api_closed += usize::from(closed_within(s, Duration::from_secs(20)).await);
    }
    assert_eq!(api_closed, 5, "silent connections closed by the API");
    // The UI still answers (401 without its token).
    let mut s = TcpStream::connect(web).await.unwrap();
    s.write_all(format!("GET / HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let answer = read_until(&mut s, b"\r\n\r\n", Duration::from_secs(10)).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 401"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn oversized_request_heads_get_a_431() {
    let h = Harness::start(Vec::new()).await;
    let upstream = plain_upstream().await;
    let big = "a".repeat(100 * 1024);
    let many: String = (0..400).map(|i| format!("X-H{i}: v\r\n")).collect();
    for extra in [format!("X-Big: {big}\r\n"), many] {
        let mut s = TcpStream::connect(h.proxy_addr()).await.unwrap();
        let req = format!("GET http://{upstream}/ HTTP/1.1\r\nHost: {upstream}\r\n{extra}\r\n");
        let _ = s.write_all(req.as_bytes()).await;
        let answer = read_until(&mut s, b"\r\n\r\n", Duration::from_secs(10)).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 431"), "{text:?}");
    }
    // A normal request still works.
    let r = h
        .client()
        .get(format!("http://{upstream}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// CONNECT through the proxy: the raw stream after `200`.
async fn connect(proxy: SocketAddr, target: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let head = read_until(&mut s, b"\r\n\r\n", Duration::from_secs(10)).await;
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// TLS to `name` over `tcp`, trusting only `ca_pem`, offering `alpn`.
async fn tls_over(
    tcp: TcpStream,
    ca_pem: &str,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<TcpStream> {
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
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect("127.0.0.1".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_on_an_intercepted_host_passes_both_ways() {
    use futures::{SinkExt, StreamExt};
    use hudsucker::tokio_tungstenite::{accept_async, client_async, tungstenite::Message};
    // A WebSocket echo server over TLS that greets first (server to client
    // on its own) and then echoes (client to server and back).
    let dir = tempfile::tempdir().unwrap();
    let (cfg, ca_pem_path) = support::server_tls(dir.path(), &[b"http/1.1"]);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut ws) = accept_async(tls).await else {
                    return;
                };
                let _ = ws.send(Message::text("welcome")).await;
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_text() || msg.is_binary() {
                        let _ = ws.send(msg).await;
                    }
                }
            });
        }
    });
    let h = Harness::start(vec![ca_pem_path]).await;
    let tcp = connect(h.proxy_addr(), ws_addr).await;
    let tls = tls_over(tcp, h.ca.cert_pem(), &[b"http/1.1"]).await;
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        client_async(format!("wss://127.0.0.1:{}/echo", ws_addr.port()), tls),
    )
    .await
    .expect("handshake in time")
    .expect("upgrade through the proxy");
    macro_rules! next {
        () => {
            tokio::time::timeout(Duration::from_secs(10), ws.next())
                .await
                .expect("a message in time")
                .expect("the socket is open")
                .expect("a valid message")
        };
    }
    let first = next!();
    assert_eq!(first, Message::text("welcome"), "server to client");
    ws.send(Message::text("hello through oauthscope"))
        .await
        .unwrap();
    let echo = next!();
    assert_eq!(echo, Message::text("hello through oauthscope"));
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    let echo = next!();
    assert_eq!(echo, Message::binary(vec![0u8, 1, 2, 255]));
    let _ = ws.close(None).await;
}

#[tokio::test]
async fn connect_to_a_port_that_is_not_tls_is_tunnelled_untouched() {
    // Client speaks first (an intercepted host: not TLS, so passed through).
    let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo_addr = echo.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = echo.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    // Server speaks first (a banner, as SMTP and SSH do).
    let banner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let banner_addr = banner.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = banner.accept().await {
            let _ = s.write_all(b"220 banner.test ready\r\n").await;
            let mut buf = [0u8; 64];
            if let Ok(n) = s.read(&mut buf).await {
                let _ = s.write_all(&buf[..n]).await;
            }
        }
    });
    let payload: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    let h = Harness::start(Vec::new()).await;
    let mut s = connect(h.proxy_addr(), echo_addr).await;
    s.write_all(b"PLAIN").await.unwrap();
    s.write_all(&payload).await.unwrap();
    let mut back = vec![0u8; 5 + payload.len()];
    tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&back[..5], b"PLAIN");
    assert_eq!(&back[5..], &payload[..], "bytes come back untouched");

    // A host the proxy does not decrypt: the server's banner arrives without
    // the client sending anything first.
    let h = Harness::start_intercepting(Vec::new(), vec!["login.example.test".into()]).await;
    let mut s = connect(h.proxy_addr(), banner_addr).await;
    let greeting = read_until(&mut s, b"\r\n", Duration::from_secs(10)).await;
    assert_eq!(greeting, b"220 banner.test ready\r\n");
    s.write_all(b"EHLO x").await.unwrap();
    let answer = read_until(&mut s, b"EHLO x", Duration::from_secs(10)).await;
    assert_eq!(answer, b"EHLO x");
    assert_eq!(h.store.len(), 0, "nothing recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_streams_are_limited_and_rapid_reset_ends_the_connection() {
    let provider = start_provider().await;
    let h = Harness::start(vec![provider.ca_pem_path.clone()]).await;
    let tcp = connect(h.proxy_addr(), provider.addr).await;
    let tls = tls_over(tcp, h.ca.cert_pem(), &[b"h2"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (client, conn) = h2::client::handshake(tls).await.unwrap();
    let conn_task = tokio::spawn(conn);
    let mut client = client.ready().await.unwrap();
    let url = provider.url("/static/app.js");
    let req = || http::Request::builder().uri(url.as_str()).body(()).unwrap();
    let (resp, _) = client.send_request(req(), true).unwrap();
    assert_eq!(resp.await.unwrap().status(), 200);
    assert_eq!(
        client.current_max_send_streams(),
        oauthscope::proxy::limits::MAX_H2_STREAMS as usize,
        "the proxy announces its stream limit"
    );
    // Rapid reset: open streams and cancel them at once, at most 5 000 times.
    let mut opened = 0;
    let refused = tokio::time::timeout(Duration::from_secs(30), async {
        for _ in 0..5_000 {
            let mut ready = match client.clone().ready().await {
                Ok(r) => r,
                Err(_) => return true,
            };
            match ready.send_request(req(), false) {
                Ok((_resp, mut stream)) => {
                    stream.send_reset(h2::Reason::CANCEL);
                    opened += 1;
                }
                Err(_) => return true,
            }
            tokio::task::yield_now().await;
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(refused, "the connection survived {opened} rapid resets");
    let ended = tokio::time::timeout(Duration::from_secs(10), conn_task)
        .await
        .expect("the connection ends")
        .unwrap();
    assert!(ended.is_err(), "{ended:?}");
    // Other clients are served as before.
    let r = Harness::client_credentials(&h.client(), provider.url("/token")).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_past_the_recorder_queue_loses_no_record() {
    // A queue of 2 finished exchanges: 32 concurrent token requests keep it
    // full, so responses wait for room (backpressure) and records queued in
    // the race after the wait take the fallback path. None may be lost.
    let provider = start_provider().await;
    let h = Harness::start_with(
        vec![provider.ca_pem_path.clone()],
        Vec::new(),
        &[],
        ProxyConfig {
            record_queue: 2,
            ..ProxyConfig::default()
        },
    )
    .await;
    const N: usize = 400;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..32 {
        let (client, url, next) = (h.client(), provider.url("/token"), next.clone());
        workers.push(tokio::spawn(async move {
            let mut ok = 0;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= N {
                    return ok;
                }
                let r = client
                    .post(&url)
                    .form(&[
                        ("grant_type", "client_credentials".to_string()),
                        ("client_id", format!("burst-{n}")),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                ok += 1;
            }
        }));
    }
    let mut answered = 0;
    for w in workers {
        answered += tokio::time::timeout(Duration::from_secs(120), w)
            .await
            .expect("the burst finishes (no deadlock on a full queue)")
            .unwrap();
    }
    assert_eq!(answered, N);
    let recs = h.wait_for(N).await;
    let ids: std::collections::HashSet<String> = recs
        .iter()
        .filter_map(|r| {
            let body = r.request.body.as_text().unwrap_or_default().to_string();
            url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "client_id")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(ids.len(), N, "every exchange of the burst is stored once");
}

//! What the proxy's listener tolerates from clients: how long a request
//! head may take, how large it may be, how many HTTP/2 streams and resets a
//! connection may open, and how many files the process may have open.

use hudsucker::hyper_util::rt::{TokioExecutor, TokioTimer};
use hudsucker::hyper_util::server::conn::auto::Builder;
use std::time::Duration;

/// Default time a client gets to send a whole request head (see
/// [`super::ProxyConfig::header_timeout`]).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(15);

/// Largest HTTP/1.1 request head, in bytes: a larger one is answered with
/// `431 Request Header Fields Too Large` (hyper writes it) and the
/// connection closed.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Most header fields in one HTTP/1.1 request head (more: `431`).
pub const MAX_HEADERS: usize = 256;

/// Most concurrent HTTP/2 streams per client connection (sent in SETTINGS).
pub const MAX_H2_STREAMS: u32 = 256;

/// Most HTTP/2 streams a client may open and reset before the proxy has
/// accepted them (CVE-2023-44487, "rapid reset"); past it the connection
/// gets `GOAWAY` with `ENHANCE_YOUR_CALM`.
pub const MAX_H2_PENDING_RESETS: usize = 32;

/// Largest HTTP/2 header list per request, in bytes.
pub const MAX_H2_HEADER_LIST: u32 = 64 * 1024;

/// The hyper server settings for client connections (plain, and inside
/// decrypted tunnels): HTTP/1.1 head timeout and size limits, HTTP/2 stream,
/// reset and header limits with keep-alive pings that close dead peers.
pub fn server_builder(header_timeout: Duration) -> Builder<TokioExecutor> {
    let mut b = Builder::new(TokioExecutor::new());
    b.http1()
        .title_case_headers(true)
        .preserve_header_case(true)
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_H2_STREAMS)
        .max_pending_accept_reset_streams(MAX_H2_PENDING_RESETS)
        .max_local_error_reset_streams(Some(1024))
        .max_header_list_size(MAX_H2_HEADER_LIST)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    b
}

/// Raise this process's soft limit on open files to its hard limit (at
/// most 65 536), so a thousand client connections, each with an upstream
/// connection, fit (many systems start processes at 1 024). Returns the
/// soft limit now in force, if it could be read.
pub fn raise_open_files() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            let want = lim.rlim_max.min(65_536);
            if lim.rlim_cur < want {
                let raised = libc::rlimit {
                    rlim_cur: want,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = want;
                } else {
                    tracing::debug!("could not raise the open-file limit");
                }
            }
        }
        Some(lim.rlim_cur)
    }
    #[cfg(not(unix))]
    None
}

/// Idle time before the first TCP keep-alive probe on client connections.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// Bind the proxy's listener with TCP keep-alive (30 s idle, then a probe
/// every 10 s, 3 probes), which accepted connections inherit: a client that
/// vanished without closing (half-open) is dropped within about a minute,
/// even while it sits in a tunnel or before its first byte. Backlog 1 024.
pub fn listener(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.set_tcp_keepalive(
        &TcpKeepalive::new()
            .with_time(KEEPALIVE_IDLE)
            .with_interval(Duration::from_secs(10))
            .with_retries(3),
    )?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(socket.into())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn accepted_connections_inherit_keepalive() {
        let l = super::listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = l.accept().await.unwrap();
        let sock = socket2::SockRef::from(&accepted);
        assert!(sock.keepalive().unwrap(), "SO_KEEPALIVE inherited");
        #[cfg(target_os = "linux")]
        assert_eq!(sock.tcp_keepalive_time().unwrap(), super::KEEPALIVE_IDLE);
    }
}

//! Reverse mode (`oauthscope run --reverse URL`): every request that arrives
//! on the listener goes to one upstream, recorded and annotated like the
//! forward proxy's traffic (the same [`Shared::begin`] / [`Shared::finish`]
//! / [`Shared::failed`], tee and recorder).
//!
//! One port answers plain HTTP and HTTPS: the first byte of a connection
//! tells them apart (`0x16` opens a TLS handshake). For TLS the listener
//! presents one leaf from our CA for the listen address, `localhost` and
//! every `--reverse-host`, with ALPN h2 and http/1.1. Client limits (head
//! timeout and size, HTTP/2 streams and resets) are the forward proxy's
//! ([`super::limits::server_builder`]).

use super::handler::Shared;
use super::upstream::Connector;
use http::header::{HeaderValue, COOKIE, HOST};
use http::{Request, Response, Uri, Version};
use hudsucker::hyper_util::client::legacy::Client;
use hudsucker::hyper_util::rt::{TokioExecutor, TokioIo};
use hudsucker::hyper_util::server::conn::auto::Builder;
use hudsucker::hyper_util::server::graceful::GracefulShutdown;
use hudsucker::Body;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Where reverse mode sends requests, and how it presents itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReverseConfig {
    /// The upstream (`https://provider.example.com`, maybe with a base path
    /// that every request path is appended to).
    pub upstream: url::Url,
    /// More names for the TLS certificate, besides the listen address and `localhost`.
    pub hosts: Vec<String>,
    /// Record the URL (and `Host`) the client used, `http(s)://` this
    /// listener, instead of the upstream's: the mock records what its
    /// clients sent, not its internal address.
    pub record_client_url: bool,
}

impl ReverseConfig {
    /// Forward to `upstream`, presenting no extra names.
    pub fn new(upstream: url::Url) -> ReverseConfig {
        ReverseConfig {
            upstream,
            hosts: Vec::new(),
            record_client_url: false,
        }
    }

    /// The names the listener's certificate holds: the listen address
    /// (unless unspecified), `localhost`, then `hosts`, without repeats.
    pub fn certificate_names(&self, listen: std::net::SocketAddr) -> Vec<String> {
        let mut names = Vec::new();
        if !listen.ip().is_unspecified() {
            names.push(listen.ip().to_string());
        }
        names.push("localhost".to_string());
        for h in &self.hosts {
            let h = h.trim().to_ascii_lowercase();
            if !h.is_empty() && !names.contains(&h) {
                names.push(h);
            }
        }
        names
    }
}

/// Parse `--reverse URL`: an `http` or `https` URL with a host, and neither
/// query nor fragment.
pub fn parse_upstream(s: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(s.trim())
        .map_err(|e| format!("{s:?} is not a URL ({e}); try https://login.example.com"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!(
            "{s:?}: reverse mode forwards to http:// or https:// URLs"
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("{s:?} has no host"));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(format!(
            "{s:?}: give the upstream without a query or fragment (requests keep their own)"
        ));
    }
    Ok(u)
}

/// `base`'s scheme and authority, its path without the trailing `/`, then
/// `path_and_query` (which starts with `/`).
fn join(base: &url::Url, path_and_query: &str) -> String {
    let prefix = base.path().trim_end_matches('/');
    format!(
        "{}://{}{prefix}{path_and_query}",
        base.scheme(),
        authority(base)
    )
}

/// `host[:port]` of a URL, the port only when it is not the scheme's default.
fn authority(u: &url::Url) -> String {
    let host = u.host_str().unwrap_or("");
    match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// What each connection's service needs.
pub(super) struct Forwarder {
    /// Classification, tee and recorder (shared with nothing else here).
    pub shared: Arc<Shared>,
    /// The upstream client (system roots, `--upstream-ca`, our CA).
    pub client: Client<Connector, Body>,
    /// See [`ReverseConfig`].
    pub config: ReverseConfig,
    /// The listener's address (the client's URL when it sent no `Host`).
    pub listen: std::net::SocketAddr,
}

/// `http(s)://HOST` as the client addressed this listener: `:authority`
/// (HTTP/2) or `Host`, else the listen address.
fn client_base(
    parts: &http::request::Parts,
    tls: bool,
    listen: std::net::SocketAddr,
) -> Option<url::Url> {
    let host = parts
        .uri
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            parts
                .headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_else(|| listen.to_string());
    let scheme = if tls { "https" } else { "http" };
    url::Url::parse(&format!("{scheme}://{host}/")).ok()
}

impl Forwarder {
    /// Send one request upstream and answer with what came back (or a 502);
    /// `tls`: it arrived over TLS.
    async fn forward(
        self: Arc<Self>,
        req: Request<hyper::body::Incoming>,
        tls: bool,
    ) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let pq = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .filter(|p| p.starts_with('/'))
            .unwrap_or_else(|| "/".to_string());
        let upstream = &self.config.upstream;
        let client_base = self
            .config
            .record_client_url
            .then(|| client_base(&parts, tls, self.listen))
            .flatten();
        let record_base = client_base.as_ref().unwrap_or(upstream);
        let (Ok(target), Ok(recorded)) = (
            join(upstream, &pq).parse::<Uri>(),
            join(record_base, &pq).parse::<Uri>(),
        ) else {
            return plain(
                http::StatusCode::BAD_REQUEST,
                format!("oauthscope: cannot forward the request path {pq:?}\n"),
            );
        };
        let client_h2 = parts.version == Version::HTTP_2;
        // What is recorded is what the provider gets: its URL and Host.
        parts.uri = recorded;
        if let Ok(host) = HeaderValue::from_str(&authority(record_base)) {
            parts.headers.insert(HOST, host);
        }
        let (req, pending) = self
            .shared
            .begin(Request::from_parts(parts, Body::from(body)))
            .await;
        let (mut parts, body) = req.into_parts();
        self.shared.h2_hosts.note(&target, client_h2);
        parts.uri = target;
        // hyper writes Host (HTTP/1.1) or :authority (h2) from the URI.
        parts.headers.remove(HOST);
        join_cookies(&mut parts.headers);
        parts.version = Version::HTTP_11;
        // A place among the requests in flight to the upstream, held until
        // the response body has been read (bounds the upstream connections).
        let slot = self.shared.request_slots.acquire(&parts.uri).await;
        match self.client.request(Request::from_parts(parts, body)).await {
            Ok(res) => {
                let res = res.map(|b| super::upstream::hold(Body::from(b), slot));
                match pending {
                    Some(p) => self.shared.finish(p, res).await,
                    None => res,
                }
            }
            Err(e) => self.shared.failed(pending, &e).await,
        }
    }
}

/// HTTP/2 clients may send one `cookie` field per cookie; HTTP/1.1 wants one line.
fn join_cookies(headers: &mut http::HeaderMap) {
    let values: Vec<HeaderValue> = headers.get_all(COOKIE).iter().cloned().collect();
    if values.len() < 2 {
        return;
    }
    let joined = values
        .iter()
        .map(|v| v.as_bytes())
        .collect::<Vec<_>>()
        .join(&b"; "[..]);
    if let Ok(v) = HeaderValue::from_bytes(&joined) {
        headers.insert(COOKIE, v);
    }
}

fn plain(status: http::StatusCode, text: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::from(text))
        .expect("valid response")
}

/// The first byte of a TLS connection (a handshake record).
const TLS_HANDSHAKE: u8 = 0x16;

/// Accept connections until `stop` fires, then let open ones finish (the
/// caller bounds how long).
pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    forwarder: Arc<Forwarder>,
    server: Builder<TokioExecutor>,
    header_timeout: Duration,
    mut stop: oneshot::Receiver<()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors, usually: wait rather than spin.
                tracing::warn!("reverse mode: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        let forwarder = forwarder.clone();
        let server = server.clone();
        tokio::spawn(async move {
            // A client that sends nothing is closed like a slow head.
            let mut first = [0u8; 1];
            match tokio::time::timeout(header_timeout, stream.peek(&mut first)).await {
                Ok(Ok(1)) => {}
                _ => return,
            }
            let tls = first[0] == TLS_HANDSHAKE;
            let svc = hyper::service::service_fn(move |req| {
                let f = forwarder.clone();
                async move { Ok::<_, Infallible>(f.forward(req, tls).await) }
            });
            let served = if tls {
                let stream =
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!("reverse mode: TLS handshake with {peer} failed: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!("reverse mode: TLS handshake with {peer} timed out");
                            return;
                        }
                    };
                // A lingering close, so that a client still sending (an
                // oversized head) reads the 431 instead of a reset.
                watcher
                    .watch(
                        server.serve_connection(TokioIo::new(hudsucker::Linger::new(stream)), svc),
                    )
                    .await
            } else {
                watcher
                    .watch(
                        server.serve_connection(TokioIo::new(hudsucker::Linger::new(stream)), svc),
                    )
                    .await
            };
            if let Err(e) = served {
                tracing::debug!("reverse mode: connection from {peer}: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls_are_checked() {
        assert!(parse_upstream("https://login.example.com").is_ok());
        assert!(parse_upstream("http://127.0.0.1:9443/base/").is_ok());
        assert!(parse_upstream("ftp://example.com").is_err());
        assert!(parse_upstream("example.com").is_err());
        assert!(parse_upstream("https://example.com/?a=1").is_err());
    }

    #[test]
    fn paths_join_under_the_upstream() {
        let u = parse_upstream("https://idp.example.com:8443/tenant/").unwrap();
        assert_eq!(
            join(&u, "/oauth2/token?x=1"),
            "https://idp.example.com:8443/tenant/oauth2/token?x=1"
        );
        let u = parse_upstream("https://idp.example.com:443").unwrap();
        assert_eq!(join(&u, "/token"), "https://idp.example.com/token");
        assert_eq!(authority(&u), "idp.example.com");
    }

    #[test]
    fn certificate_names_cover_listen_address_localhost_and_hosts() {
        let mut c = ReverseConfig::new(parse_upstream("https://idp.example.com").unwrap());
        c.hosts = vec!["Tunnel.Example.dev".into(), "localhost".into()];
        assert_eq!(
            c.certificate_names("127.0.0.1:8080".parse().unwrap()),
            vec!["127.0.0.1", "localhost", "tunnel.example.dev"]
        );
        assert_eq!(
            c.certificate_names("0.0.0.0:8080".parse().unwrap()),
            vec!["localhost", "tunnel.example.dev"]
        );
    }

    #[test]
    fn cookies_are_joined_for_http1() {
        let mut h = http::HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1"));
        h.append(COOKIE, HeaderValue::from_static("b=2"));
        join_cookies(&mut h);
        assert_eq!(h.get_all(COOKIE).iter().count(), 1);
        assert_eq!(h.get(COOKIE).unwrap(), "a=1; b=2");
    }
}

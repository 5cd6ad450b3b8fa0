//! CONNECT tunnels the proxy does not decrypt (hosts outside `--intercept`
//! or outside the CA's name constraints): the upstream TCP connection is
//! opened first (so a dead upstream is a `502`, not a `200` and a reset), then
//! bytes are copied both ways untouched. Unlike hudsucker's own tunnel, this
//! one never waits for the client to speak first, so server-first protocols
//! (SMTP, SSH banners) work through it too.

use hudsucker::hyper::{Request, Response, StatusCode};
use hudsucker::hyper_util::rt::TokioIo;
use hudsucker::Body;

/// Longest wait for the upstream TCP connection.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn refuse(status: StatusCode, message: String) -> Response<Body> {
    tracing::debug!("{message}");
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .header("x-oauthscope-error", "tunnel")
        .body(Body::from(format!("oauthscope: {message}\n")))
        .expect("valid response")
}

/// Answer a CONNECT by tunnelling it: `200` once the upstream accepted the
/// TCP connection (the copy runs on its own task), `400` without a target,
/// `502` when the upstream cannot be reached.
pub async fn open(mut req: Request<Body>) -> Response<Body> {
    let Some(authority) = req.uri().authority().cloned() else {
        return refuse(StatusCode::BAD_REQUEST, "CONNECT without host:port".into());
    };
    let connected = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect(authority.as_str()),
    )
    .await;
    let mut server = match connected {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return refuse(
                StatusCode::BAD_GATEWAY,
                format!("could not connect to {authority}: {e}"),
            )
        }
        Err(_) => {
            return refuse(
                StatusCode::GATEWAY_TIMEOUT,
                format!("connecting to {authority} timed out"),
            )
        }
    };
    let _ = server.set_nodelay(true);
    let upgrade = hudsucker::hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                let mut client = TokioIo::new(upgraded);
                if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut server).await {
                    tracing::debug!("tunnel to {authority} ended: {e}");
                }
            }
            Err(e) => tracing::debug!("CONNECT to {authority} was not upgraded: {e}"),
        }
    });
    Response::new(Body::empty())
}

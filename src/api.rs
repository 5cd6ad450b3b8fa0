//! The running proxy's loopback JSON API, so `flows`/`export` work while the
//! proxy holds the store (sled allows one process per store). (Being written.)
//!
//! Planned API:
//! - [`ProxyState`]: `{pid, proxy, api}` written to `HOME/proxy.json` by `run`
//!   (`ProxyState::write(&home)`, `ProxyState::read(&home)`, `ProxyState::remove(&home)`).
//! - `serve(store: Arc<Store>, listener: tokio::net::TcpListener)`: async, serves
//!   `GET /api/records`, `GET /api/records/{id}`, `POST /api/clear`.
//! - [`crate::access`]: opens the store or, when it is locked, talks to this API.

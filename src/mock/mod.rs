//! A local OAuth 2.0 / OpenID Connect provider with switchable real-world quirks.
//!
//! Used by `oauthscope mock`, `oauthscope demo`, the examples and the tests.
//! Each quirk reproduces a real provider's behaviour and answers with the error
//! that provider sends (see [`quirks`] for the sources):
//!
//! | switch | behaves like | error |
//! |---|---|---|
//! | accept only some flavours | Entra (JSON body), Ory/Authelia (auth method), Keycloak ≥ 20 (Basic decoding) | `invalid_request` AADSTS900144 / `invalid_client` |
//! | single-use codes (always) | Keycloak | `invalid_grant` "Code not valid" |
//! | `code_ttl` | Keycloak | `invalid_grant` "Code is expired" |
//! | redirect matching | Okta / Auth0 (token leg), Keycloak (authorize page) | `invalid_grant` / HTML 400 |
//! | rotating refresh tokens | Auth0 (reuse revokes the family) | `invalid_grant` "Unknown or invalid refresh token." |
//! | refresh policy immediate-expire | Salesforce | `invalid_grant` "expired access/refresh token" |
//! | errors in 200 | GitHub / Slack | HTTP 200 + `bad_verification_code` / `{"ok":false}` |
//! | require PKCE | RFC 7636, Keycloak | `invalid_request` "code challenge required" / `invalid_grant` "PKCE ..." |
//! | any client | a sink for apps being set up: every id, secret and flavour gets tokens | — |
//! | fail all | a provider that refuses everything, so a client shows each flavour it tries | the status asked for, RFC 6749 §5.2 body |
//!
//! Start one in-process with [`start`]; it binds (port 0 works), serves until
//! [`RunningMock::shutdown`], and keeps a history of every request it saw.

pub mod clients;
pub mod history;
pub mod jwt;
pub mod quirks;
pub mod rig;
pub mod script;
mod server;

pub use clients::{Client, ConfigFile};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// Errors starting or configuring the mock.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// A bad flag or configuration file.
    #[error("mock configuration: {0}")]
    Config(String),
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Key generation or signing failed.
    #[error("crypto: {0}")]
    Crypto(String),
    /// The scripted client failed (demo, examples).
    #[error("scripted client: {0}")]
    Script(String),
}

/// How the token leg's (and the authorize leg's) `redirect_uri` is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedirectMatch {
    /// Character-exact (RFC 6749 §3.1.2.3, Okta, Auth0, Keycloak, Entra).
    #[default]
    Exact,
    /// Equal once a trailing `/` is ignored (lenient servers).
    IgnoreTrailingSlash,
    /// The requested URI starts with the registered one (GitHub: a subdirectory of the callback).
    Prefix,
}

impl RedirectMatch {
    /// Does `requested` match `registered` under this mode?
    pub fn matches(self, registered: &str, requested: &str) -> bool {
        match self {
            RedirectMatch::Exact => registered == requested,
            RedirectMatch::IgnoreTrailingSlash => {
                registered.trim_end_matches('/') == requested.trim_end_matches('/')
            }
            RedirectMatch::Prefix => requested.starts_with(registered),
        }
    }

    /// Name as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            RedirectMatch::Exact => "exact",
            RedirectMatch::IgnoreTrailingSlash => "ignore-trailing-slash",
            RedirectMatch::Prefix => "prefix",
        }
    }
}

/// What happens to a refresh token when it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefreshPolicy {
    /// Valid until revoked.
    #[default]
    Normal,
    /// The first refresh fails (Salesforce "Immediately expire refresh token").
    ImmediateExpire,
}

/// Which provider's "error in a 200" shape to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorsIn200 {
    /// GitHub: `error=bad_verification_code&...` (form, or JSON with `Accept: application/json`).
    Github,
    /// Slack: `{"ok":false,"error":"invalid_code"}`.
    Slack,
}

/// Switchable behaviours of the mock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quirks {
    /// Client-authentication flavours (1–6, see docs/record-format.md) the token endpoint accepts.
    pub accept_flavours: Vec<u8>,
    /// How redirect URIs are compared.
    pub redirect_match: RedirectMatch,
    /// Authorization-code lifetime in seconds (0: expired at once). RFC 6749 recommends ≤ 600.
    pub code_ttl_secs: u64,
    /// Issue a new refresh token on every refresh; reusing an old one fails and revokes the family.
    pub rotate_refresh_tokens: bool,
    /// Refresh-token policy.
    pub refresh_policy: RefreshPolicy,
    /// Errors with HTTP 200, GitHub or Slack style.
    pub errors_in_200: Option<ErrorsIn200>,
    /// Refuse authorize requests without a `code_challenge`.
    pub require_pkce: bool,
    /// Accept any client id (any redirect URI) and any secret, in every
    /// flavour: answer with tokens whoever asks (`--any-client`).
    pub any_client: bool,
    /// Answer every token request with this HTTP status and an OAuth error
    /// body (`--fail-all STATUS`), whatever it holds.
    pub fail_all: Option<u16>,
    /// A provider session: every approved authorize request sets the cookie
    /// `mock_session` with these attributes (`Path=/; Secure; SameSite=None`),
    /// and a `prompt=none` request that does not carry it is answered
    /// `error=login_required` (OpenID Connect Core 1.0 §3.1.2.6), as a
    /// provider answers silent renew when its session cookie is missing.
    pub session_cookie: Option<String>,
}

impl Default for Quirks {
    fn default() -> Quirks {
        Quirks {
            accept_flavours: vec![1, 2, 3, 4, 5, 6],
            redirect_match: RedirectMatch::Exact,
            code_ttl_secs: 600,
            rotate_refresh_tokens: false,
            refresh_policy: RefreshPolicy::Normal,
            errors_in_200: None,
            require_pkce: false,
            any_client: false,
            fail_all: None,
            session_cookie: None,
        }
    }
}

/// Parse `--accept-flavours 1,3`.
pub fn parse_flavours(s: &str) -> Result<Vec<u8>, MockError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<u8>() {
            Ok(n @ 1..=6) => {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            _ => {
                return Err(MockError::Config(format!(
                    "flavour {part:?} is not a number from 1 to 6"
                )))
            }
        }
    }
    if out.is_empty() {
        return Err(MockError::Config(
            "--accept-flavours needs at least one flavour (1-6)".into(),
        ));
    }
    out.sort_unstable();
    Ok(out)
}

/// Everything [`start`] needs.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Address to bind (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Host name used in the issuer and endpoint URLs (default: the listen IP).
    pub public_host: Option<String>,
    /// The issuer (base URL) in full, when clients reach the mock through
    /// another address than the one it binds (its recording front, see
    /// [`history`]); overrides `public_host`.
    pub issuer: Option<String>,
    /// Serve HTTPS with this configuration (a certificate for `public_host`).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Registered clients.
    pub clients: Vec<Client>,
    /// Quirk switches.
    pub quirks: Quirks,
    /// Print each request on stdout as it is handled (Smocker-style history).
    pub echo: bool,
}

impl Default for MockConfig {
    fn default() -> MockConfig {
        MockConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_host: None,
            issuer: None,
            tls: None,
            clients: Vec::new(),
            quirks: Quirks::default(),
            echo: false,
        }
    }
}

/// One request the mock handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// When it arrived.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Status sent.
    pub status: u16,
    /// What the mock did, in a few words (`issued code`, `invalid_grant: Code not valid`, ...).
    pub outcome: String,
}

use serde::Serialize;

impl std::fmt::Display for HistoryEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self
            .time
            .format(time::macros::format_description!(
                "[hour]:[minute]:[second].[subsecond digits:3]"
            ))
            .unwrap_or_default();
        write!(
            f,
            "{t}  {:<6} {:<40} {}  {}",
            self.method,
            truncate(&self.path, 40),
            self.status,
            self.outcome
        )
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A running mock provider.
#[derive(Debug)]
pub struct RunningMock {
    addr: SocketAddr,
    issuer: String,
    history: Arc<Mutex<Vec<HistoryEntry>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningMock {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The issuer, also the base URL (`http://127.0.0.1:PORT`, `https://` with TLS).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{issuer}/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("{}/authorize", self.issuer)
    }

    /// `{issuer}/token`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// Every request handled so far.
    pub fn history(&self) -> Vec<HistoryEntry> {
        self.history.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Stop accepting connections and wait for the accept loop to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Wait until the server stops (Ctrl-C handling is the caller's).
    pub async fn wait(mut self) {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Bind and start serving in the current tokio runtime.
pub async fn start(cfg: MockConfig) -> Result<RunningMock, MockError> {
    validate(&cfg)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| MockError::Bind {
            addr: cfg.listen,
            source,
        })?;
    start_on(listener, cfg).await
}

fn validate(cfg: &MockConfig) -> Result<(), MockError> {
    for c in &cfg.clients {
        if c.id.is_empty() {
            return Err(MockError::Config("a client has an empty id".into()));
        }
    }
    if let Some(status) = cfg.quirks.fail_all {
        if !(400..=599).contains(&status) {
            return Err(MockError::Config(format!(
                "--fail-all {status}: give an error status from 400 to 599"
            )));
        }
    }
    parse_flavours(
        &cfg.quirks
            .accept_flavours
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(","),
    )
    .map(|_| ())
}

/// Serve on a listener already bound (`cfg.listen` is not used).
pub async fn start_on(
    listener: tokio::net::TcpListener,
    cfg: MockConfig,
) -> Result<RunningMock, MockError> {
    validate(&cfg)?;
    let addr = listener.local_addr().map_err(|source| MockError::Bind {
        addr: cfg.listen,
        source,
    })?;
    let host = cfg.public_host.clone().unwrap_or_else(|| match addr.ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    });
    let scheme = if cfg.tls.is_some() { "https" } else { "http" };
    let issuer = cfg
        .issuer
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{host}:{}", addr.port()));
    let history = Arc::new(Mutex::new(Vec::new()));
    let state = server::State::new(cfg.clone(), issuer.clone(), history.clone())?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(server::serve(
        listener,
        cfg.tls.clone(),
        Arc::new(state),
        rx,
    ));
    Ok(RunningMock {
        addr,
        issuer,
        history,
        shutdown: Some(tx),
        task: Some(task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_modes_compare_as_documented() {
        let reg = "http://127.0.0.1:8000/callback";
        assert!(RedirectMatch::Exact.matches(reg, reg));
        assert!(!RedirectMatch::Exact.matches(reg, "http://127.0.0.1:8000/callback/"));
        assert!(RedirectMatch::IgnoreTrailingSlash.matches(reg, "http://127.0.0.1:8000/callback/"));
        assert!(!RedirectMatch::IgnoreTrailingSlash.matches(reg, "http://127.0.0.1:8000/Callback"));
        assert!(RedirectMatch::Prefix.matches(reg, "http://127.0.0.1:8000/callback/sub"));
        assert!(!RedirectMatch::Prefix.matches(reg, "http://127.0.0.1:8001/callback"));
    }

    #[test]
    fn flavour_lists_parse_and_reject_nonsense() {
        assert_eq!(parse_flavours("3, 1,3").unwrap(), vec![1, 3]);
        assert!(parse_flavours("0").is_err());
        assert!(parse_flavours("7").is_err());
        assert!(parse_flavours("").is_err());
        assert!(parse_flavours("one").is_err());
    }
}

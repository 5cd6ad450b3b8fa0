//! `oauthscope mock`: a local provider with real-world quirks.

use super::{ExitCode, Globals};
use crate::mock::history::{HistoryError, RecordedMock};
use crate::mock::{
    self, Client, ConfigFile, ErrorsIn200, MockConfig, Quirks, RedirectMatch, RefreshPolicy,
};
use crate::proxy::ProxyError;
use crate::session::SessionError;
use crate::store::StoreError;
use anyhow::Context as _;
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Arguments of `oauthscope mock`.
///
/// Example:
///   oauthscope mock --client app:s3cret+/=:http://127.0.0.1:8000/callback --accept-flavours 1,3 --rotate-refresh-tokens
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope mock                                   # demo-client / demo-secret, redirect http://127.0.0.1:8000/callback\n  oauthscope mock --client app:s3cret:http://127.0.0.1:8000/cb --accept-flavours 3\n  oauthscope mock --refresh-policy immediate-expire  # first refresh fails, like Salesforce\n  oauthscope mock --errors-in-200 slack --require-pkce\n  oauthscope mock --home ./mock-home --any-client    # any id and secret get tokens\n  oauthscope mock --home ./mock-home --fail-all 401  # every token request refused\n  oauthscope flows list --home ./mock-home           # its history, running or stopped\n\nEvery request is printed on stdout: time, method, path, status, outcome. What the mock\nreceives is also stored in the data directory's capture store (--home) and annotated like\nproxied traffic; the port then answers http:// and https:// (a certificate from that\ndirectory's CA), and a web UI over that history is served on a free loopback port (its URL,\nwith its token, is printed and written to HOME/proxy.json: `oauthscope ui --home DIR`).\n--no-history serves without a store."
)]
pub struct MockArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9443", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Serve HTTPS with a certificate from the oauthscope CA.
    #[arg(long)]
    pub tls: bool,
    /// Host name for the issuer and endpoint URLs (default: the listen IP).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Register a client: ID:SECRET[:REDIRECT,...] (repeatable; ID alone = public client).
    #[arg(long = "client", value_name = "ID:SECRET[:REDIRECT,...]")]
    pub clients: Vec<String>,
    /// Read clients from a TOML or JSON file ([[clients]] id, secret, redirect_uris).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Token-request flavours accepted (1-6, see `oauthscope probe --help`); others get the error real providers send.
    #[arg(long, default_value = "1,2,3,4,5,6", value_name = "N,N")]
    pub accept_flavours: String,
    /// How redirect_uri is compared, at authorize and at the token endpoint.
    #[arg(long, value_enum, default_value_t = MatchArg::Exact, value_name = "MODE")]
    pub redirect_match: MatchArg,
    /// Authorization-code lifetime in seconds (Keycloak default 60, RFC max 600).
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub code_ttl: u64,
    /// Rotate refresh tokens; reusing an old one fails and revokes the family (Auth0).
    #[arg(long)]
    pub rotate_refresh_tokens: bool,
    /// Refresh-token policy; immediate-expire fails the first refresh (Salesforce).
    #[arg(long, value_enum, default_value_t = PolicyArg::Normal, value_name = "POLICY")]
    pub refresh_policy: PolicyArg,
    /// Send token errors with HTTP 200, GitHub (default) or Slack style.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "github", value_name = "STYLE")]
    pub errors_in_200: Option<StyleArg>,
    /// Refuse authorize requests without a PKCE code_challenge.
    #[arg(long)]
    pub require_pkce: bool,
    /// Accept any client id and secret, in any of the six flavours, and any
    /// redirect URI: answer with tokens whoever asks.
    #[arg(long)]
    pub any_client: bool,
    /// Answer every token request with this HTTP status (400-599) and an
    /// OAuth error body, so a client that tries flavours one by one shows
    /// each attempt in `flows list`.
    #[arg(long, value_name = "STATUS", value_parser = clap::value_parser!(u16).range(400..=599))]
    pub fail_all: Option<u16>,
    /// Keep a provider session: approved authorize requests set the cookie
    /// `mock_session` with these attributes, and `prompt=none` without it is
    /// answered `error=login_required` (silent renew), e.g.
    /// "Path=/; Secure; SameSite=None".
    #[arg(long, value_name = "ATTRIBUTES")]
    pub session_cookie: Option<String>,
    /// Do not keep history: serve without opening the data directory's
    /// capture store (what the mock receives is then only printed).
    #[arg(long)]
    pub no_history: bool,
}

/// `--redirect-match` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchArg {
    /// Character-exact (RFC 6749, Okta, Auth0, Keycloak).
    Exact,
    /// Ignore one trailing slash.
    IgnoreTrailingSlash,
    /// Registered URI is a prefix (GitHub subdirectories).
    Prefix,
}

/// `--refresh-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// Refresh tokens work until revoked.
    Normal,
    /// The first refresh fails with "expired access/refresh token".
    ImmediateExpire,
}

/// `--errors-in-200` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StyleArg {
    /// error=bad_verification_code&... with HTTP 200.
    Github,
    /// {"ok":false,"error":"invalid_code"} with HTTP 200.
    Slack,
}

/// The default client when none is registered.
pub const DEFAULT_CLIENT: &str = "demo-client:demo-secret:http://127.0.0.1:8000/callback";

impl MockArgs {
    /// Build the library configuration (without TLS).
    pub fn to_config(&self) -> anyhow::Result<MockConfig> {
        let mut clients = Vec::new();
        if let Some(path) = &self.config {
            clients.extend(ConfigFile::load(path)?.clients);
        }
        for c in &self.clients {
            clients.push(Client::parse_flag(c)?);
        }
        if clients.is_empty() {
            clients.push(Client::parse_flag(DEFAULT_CLIENT)?);
        }
        let quirks = Quirks {
            accept_flavours: mock::parse_flavours(&self.accept_flavours)?,
            redirect_match: match self.redirect_match {
                MatchArg::Exact => RedirectMatch::Exact,
                MatchArg::IgnoreTrailingSlash => RedirectMatch::IgnoreTrailingSlash,
                MatchArg::Prefix => RedirectMatch::Prefix,
            },
            code_ttl_secs: self.code_ttl,
            rotate_refresh_tokens: self.rotate_refresh_tokens,
            refresh_policy: match self.refresh_policy {
                PolicyArg::Normal => RefreshPolicy::Normal,
                PolicyArg::ImmediateExpire => RefreshPolicy::ImmediateExpire,
            },
            errors_in_200: self.errors_in_200.map(|s| match s {
                StyleArg::Github => ErrorsIn200::Github,
                StyleArg::Slack => ErrorsIn200::Slack,
            }),
            require_pkce: self.require_pkce,
            any_client: self.any_client,
            fail_all: self.fail_all,
            session_cookie: self.session_cookie.clone(),
        };
        Ok(MockConfig {
            listen: self.listen,
            public_host: self.host.clone(),
            issuer: None,
            tls: None,
            clients,
            quirks,
            echo: true,
        })
    }
}

/// A rustls server configuration for `host` with a leaf from the oauthscope CA.
pub fn tls_config(g: &Globals, host: &str) -> anyhow::Result<std::sync::Arc<rustls::ServerConfig>> {
    let ca = super::ca::load_ca(g)?;
    Ok(ca.server_config_for(host)?)
}

/// Run the mock provider until Ctrl-C / SIGTERM.
pub fn run(args: MockArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let cfg = args.to_config()?;
    if !cfg.listen.ip().is_loopback() {
        eprintln!(
            "warning: listening on {} (not loopback): anyone who can reach it can get tokens from this mock",
            cfg.listen
        );
    }
    let rt = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    rt.block_on(async move {
        let mut signals = super::run::ShutdownSignals::install();
        if !args.no_history {
            match RecordedMock::start(cfg.clone(), g.home.clone(), args.tls, None).await {
                Ok(recorded) => return serve_recorded(recorded, &cfg, g, &mut signals).await,
                Err(HistoryError::Session(SessionError::Store(e @ StoreError::Locked { .. }))) => {
                    let holder = crate::api::ProxyState::read(&g.home)
                        .ok()
                        .flatten()
                        .map(|s| format!(" (pid {}, listening on {})", s.pid, s.proxy))
                        .unwrap_or_default();
                    eprintln!(
                        "warning: not keeping history: {e}{holder}. Give the mock its own \
                         data directory (--home DIR) to keep it; serving without."
                    );
                }
                Err(HistoryError::Session(SessionError::Proxy(e @ ProxyError::Bind { .. }))) => {
                    anyhow::bail!("{e}. Is something already listening there? Pick another port with --listen 127.0.0.1:PORT")
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e)).with_context(|| {
                        format!(
                            "keeping the mock's history in {} (--no-history serves without)",
                            g.home.root().display()
                        )
                    })
                }
            }
        }
        serve_plain(cfg, &args, g, &mut signals).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The mock behind its recording front (see [`crate::mock::history`]).
async fn serve_recorded(
    recorded: RecordedMock,
    cfg: &MockConfig,
    g: &Globals,
    signals: &mut super::run::ShutdownSignals,
) -> anyhow::Result<()> {
    print_banner(&recorded.mock, cfg);
    println!(
        "  history    {}: `oauthscope flows list --home {}` (while it runs, and after)",
        g.home.store_dir().display(),
        g.home.root().display()
    );
    if let Some(url) = recorded.session.web_url() {
        println!("  web UI     {url}");
    }
    println!(
        "  schemes    http:// and https:// on port {} (for https, trust {})",
        recorded.session.proxy_addr().port(),
        recorded.session.ca.cert_path().display()
    );
    println!("Ctrl-C stops. Requests:");
    signals.wait().await;
    let store = recorded.session.store.clone();
    recorded.shutdown().await?;
    super::run::report_stopped(&store, g);
    Ok(())
}

/// The mock alone, printing what it receives.
async fn serve_plain(
    mut cfg: MockConfig,
    args: &MockArgs,
    g: &Globals,
    signals: &mut super::run::ShutdownSignals,
) -> anyhow::Result<()> {
    if args.tls {
        let host = args
            .host
            .clone()
            .unwrap_or_else(|| cfg.listen.ip().to_string());
        cfg.tls = Some(tls_config(g, &host)?);
    }
    let running = mock::start(cfg.clone()).await?;
    print_banner(&running, &cfg);
    println!("Ctrl-C stops. Requests:");
    tokio::select! {
        _ = signals.wait() => {}
        _ = running.wait() => {}
    }
    Ok(())
}

fn print_banner(m: &mock::RunningMock, cfg: &MockConfig) {
    let i = m.issuer();
    println!("oauthscope mock provider on {i}");
    println!("  discovery  {i}/.well-known/openid-configuration");
    println!("  authorize  {i}/authorize");
    println!("  token      {i}/token");
    println!("  jwks       {i}/jwks    userinfo {i}/userinfo");
    let clients = if cfg.quirks.any_client {
        &[][..]
    } else {
        cfg.clients.as_slice()
    };
    for c in clients {
        println!(
            "  client     {} {} redirect_uris: {}",
            c.id,
            match &c.secret {
                Some(s) => format!("secret {s:?}"),
                None => "(public)".into(),
            },
            if c.redirect_uris.is_empty() {
                "(any)".into()
            } else {
                c.redirect_uris.join(", ")
            }
        );
    }
    let q = &cfg.quirks;
    println!(
        "  quirks     accept-flavours {:?}, redirect-match {}, code-ttl {}s, rotate-refresh-tokens {}, refresh-policy {:?}, errors-in-200 {:?}, require-pkce {}",
        q.accept_flavours,
        q.redirect_match.as_str(),
        q.code_ttl_secs,
        q.rotate_refresh_tokens,
        q.refresh_policy,
        q.errors_in_200,
        q.require_pkce
    );
    if q.any_client {
        println!("  any-client any id and secret, every flavour and redirect URI get tokens");
    }
    if let Some(status) = q.fail_all {
        println!("  fail-all   every token request is answered {status}");
    }
}

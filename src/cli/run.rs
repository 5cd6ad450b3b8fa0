//! `oauthscope run`: the proxy with its live log.

use super::{ExitCode, Globals};
use crate::analyze::AnalyzeOptions;
use crate::ca::LocalCa;
use crate::proxy::reverse::ReverseConfig;
use crate::proxy::{Observer, ProxyConfig, ProxyError};
use crate::record::Record;
use crate::session::{Session, SessionConfig, SessionError};
use crate::store::{Store, StoreError};
use crate::view;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `oauthscope run`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope run\n  oauthscope run --intercept login.microsoftonline.com,*.okta.com\n  oauthscope run --upstream-ca ./idp-ca.pem --listen 127.0.0.1:9090\n  oauthscope run --web 127.0.0.1:9091\n  oauthscope run --no-web\n\nReverse mode (a service whose token URL you can set, but not its proxy):\n  oauthscope run --reverse https://login.example.com\n      then give the service http://127.0.0.1:8080/oauth2/token (or https://, or a\n      tunnel to it: ngrok http 8080, cloudflared tunnel --url http://localhost:8080)\n  oauthscope run --reverse https://idp.internal --upstream-ca idp-ca.pem --reverse-host idp.test"
)]
pub struct RunArgs {
    /// Address to listen on. Only loopback unless --allow-remote is given.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Allow listening on a non-loopback address (anyone who can reach it can use your proxy).
    #[arg(long)]
    pub allow_remote: bool,
    /// Address of the web UI (token-protected). Only loopback unless --allow-remote is given.
    #[arg(long, default_value = "127.0.0.1:8081", value_name = "ADDR")]
    pub web: SocketAddr,
    /// Do not serve the web UI.
    #[arg(long, conflicts_with = "web")]
    pub no_web: bool,
    /// Decrypt only these hosts (comma-separated, wildcards like *.okta.com); tunnel the rest untouched.
    #[arg(long, value_delimiter = ',', value_name = "HOST")]
    pub intercept: Vec<String>,
    /// Also trust this CA (PEM) for upstream connections. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub upstream_ca: Vec<PathBuf>,
    /// Largest body kept per captured request or response; larger ones are stored truncated (and always forwarded whole).
    #[arg(long, default_value = "1MiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_body: u64,
    /// A redirect URI registered with the provider; checked against what the app sends. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
    /// Reverse mode: forward every request that arrives on --listen to this
    /// URL (http or https; a path is a prefix for every request's path),
    /// recorded like proxied traffic. The port answers plain HTTP and HTTPS
    /// (a certificate from the oauthscope CA). Point a service's token URL
    /// here, directly or through a tunnel.
    #[arg(long, value_name = "URL", value_parser = crate::proxy::reverse::parse_upstream, conflicts_with = "intercept")]
    pub reverse: Option<url::Url>,
    /// In reverse mode, another name for the HTTPS certificate (besides the
    /// listen address and localhost), e.g. the name a tunnel or /etc/hosts
    /// gives this port. Repeatable.
    #[arg(long, value_name = "NAME", requires = "reverse")]
    pub reverse_host: Vec<String>,
    /// Memory for captured exchanges while the store cannot write (a full
    /// disk): they are stored when writes work again; past this, the oldest
    /// are lost and counted (the live log, `flows list` and the web UI say
    /// how many, and `run` exits with status 3).
    #[arg(long, default_value = "64MiB", value_name = "SIZE", value_parser = parse_size)]
    pub unstored_max: u64,
    /// Seconds a client may take to send a request head (also on idle keep-alive connections); slower connections are closed.
    #[arg(long, default_value_t = 15, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Longest wait for a new connection to an upstream server (TCP and TLS), e.g. 10s, 500ms, 1m; past it the app gets a 504 that names this deadline.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_duration)]
    pub upstream_connect_timeout: std::time::Duration,
    /// Longest wait for an upstream server's answer to start after the request was sent; past it the app gets a 504 that names this deadline.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_duration)]
    pub upstream_timeout: std::time::Duration,
    /// Longest silence from an upstream server once its answer has started (and longest an unused upstream connection is kept).
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_duration)]
    pub upstream_idle_timeout: std::time::Duration,
    /// Most connections open at once to one upstream host; more requests (e.g. an HTTP/2 client's streams) wait for one of them.
    #[arg(long, default_value_t = crate::proxy::upstream::CONNECTIONS_PER_HOST, value_name = "N", value_parser = parse_connections)]
    pub upstream_connections: usize,
}

/// Parse durations like `10s`, `500ms`, `2m` (a bare number is seconds);
/// between 1 ms and one hour.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (try 10s, 500ms or 2m)"))?;
    let ms = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" => n.checked_mul(1000),
        "ms" => Some(n),
        "m" | "min" => n.checked_mul(60_000),
        other => return Err(format!("unknown duration unit {other:?} (use ms, s or m)")),
    };
    match ms {
        Some(ms) if (1..=3_600_000).contains(&ms) => Ok(std::time::Duration::from_millis(ms)),
        _ => Err(format!("{s:?}: give a duration between 1ms and 60m")),
    }
}

fn parse_connections(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=10_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?}: give a number of connections from 1 to 10000"
        )),
    }
}

/// Parse sizes like `1048576`, `512KiB`, `1MiB`, `2MB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (try 1048576, 512KiB or 1MiB)"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB or GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Run the proxy until Ctrl-C / SIGTERM.
pub fn run(args: RunArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    if !args.listen.ip().is_loopback() {
        anyhow::ensure!(
            args.allow_remote,
            "refusing to listen on {} (not loopback): anyone who can reach it could use your proxy and read captured secrets; pass --allow-remote if you mean it",
            args.listen
        );
        eprintln!(
            "WARNING: listening on {}, which is not loopback. Anyone who can reach this address can send traffic through your proxy and see what it captures.",
            args.listen
        );
    }
    if !args.no_web && !args.web.ip().is_loopback() {
        anyhow::ensure!(
            args.allow_remote,
            "refusing to serve the web UI on {} (not loopback): it shows captured secrets; pass --allow-remote if you mean it",
            args.web
        );
        eprintln!(
            "WARNING: serving the web UI on {}, which is not loopback. It needs its token, but the traffic is plain HTTP.",
            args.web
        );
    }
    let max_body =
        usize::try_from(args.max_body).context("--max-body is too large for this machine")?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let color = g.color;
    let opts = AnalyzeOptions {
        registered_redirects: args.registered_redirect.clone(),
    };
    let live_opts = opts.clone();
    let budget = std::sync::Mutex::new(LiveBudget::default());
    let observer: Observer = Arc::new(move |store: &Store, rec: &Record| {
        let busy = budget.lock().map(|mut b| b.exhausted()).unwrap_or(false);
        if busy {
            // Hundreds of exchanges a second: nobody reads annotations at
            // that speed, and analysing each would keep the live log behind.
            // `flows list` shows them all afterwards.
            println!("{}", view::live_line(rec, color));
        } else {
            let t = std::time::Instant::now();
            let line = live_view(store, rec, &live_opts, color);
            if let Ok(mut b) = budget.lock() {
                b.charge(t.elapsed());
            }
            println!("{line}");
        }
    });
    rt.block_on(async {
        let mut signals = ShutdownSignals::install();
        let cfg = SessionConfig {
            home: g.home.clone(),
            proxy: ProxyConfig {
                listen: args.listen,
                intercept: args.intercept.clone(),
                upstream_ca: args.upstream_ca.clone(),
                max_body,
                header_timeout: std::time::Duration::from_secs(args.header_timeout),
                upstream: crate::proxy::upstream::UpstreamLimits {
                    connect: args.upstream_connect_timeout,
                    first_byte: args.upstream_timeout,
                    idle: args.upstream_idle_timeout,
                    connections_per_host: args.upstream_connections,
                },
                reverse: args.reverse.clone().map(|upstream| ReverseConfig {
                    upstream,
                    hosts: args.reverse_host.clone(),
                    record_client_url: false,
                }),
                unstored_max: usize::try_from(args.unstored_max).unwrap_or(usize::MAX),
                ..ProxyConfig::default()
            },
            web: (!args.no_web).then_some(args.web),
            analyze: opts,
            observer: Some(observer),
        };
        let session = match Session::start(cfg).await {
            Ok(s) => s,
            Err(SessionError::Store(e @ StoreError::Locked { .. })) => {
                let running = crate::api::ProxyState::read(&g.home)
                    .ok()
                    .flatten()
                    .map(|s| format!(" (`oauthscope run` on {})", s.proxy))
                    .unwrap_or_default();
                anyhow::bail!(
                    "{e}{running}. One proxy per data directory: stop it, or give this one \
                     its own with --home DIR"
                )
            }
            Err(SessionError::Store(e)) => {
                return Err(e).with_context(|| {
                    format!(
                        "opening the capture store in {}",
                        g.home.store_dir().display()
                    )
                })
            }
            Err(SessionError::Ca(e)) => {
                return Err(e)
                    .with_context(|| format!("loading the CA in {}", g.home.ca_dir().display()))
            }
            Err(SessionError::Proxy(e @ ProxyError::Certificate(_))) => anyhow::bail!(
                "{e}. Each --reverse-host must be a DNS name (or IP address) inside the CA's \
                 name constraints (`oauthscope ca path`, `ca init --name-constraint`)"
            ),
            Err(SessionError::Proxy(e @ ProxyError::Bind { .. })) => anyhow::bail!(
                "{e}. Is something (another `oauthscope run`?) already listening on {}? \
                 Stop it or pick another port with --listen 127.0.0.1:PORT",
                args.listen
            ),
            Err(e @ SessionError::Web(_)) => {
                anyhow::bail!("{e}. Is another `oauthscope run` serving its UI there?")
            }
            Err(e) => return Err(e.into()),
        };
        if session.ca_created {
            eprintln!(
                "created a new oauthscope CA: {} (key {}, mode 0600)",
                session.ca.cert_path().display(),
                LocalCa::key_path_in(&g.home).display()
            );
        }
        print_banner(&session, g, &args);
        let notices = Arc::new(std::sync::Mutex::new(crate::store::Health {
            writable: true,
            ..Default::default()
        }));
        let watch = tokio::spawn(watch_health(session.store.clone(), notices.clone()));
        signals.wait().await;
        // What changed since the watcher's last look (writes resumed a
        // moment ago) is said before the "stopping" line, never lost.
        watch.abort();
        health_notice(&session.store, &notices);
        eprintln!("\nstopping: finishing open exchanges and flushing the store...");
        let store = session.store.clone();
        let stopped = session.shutdown().await;
        // The last flush may have written what waited: say so too.
        health_notice(&store, &notices);
        report_stopped(&store, g);
        if let Err(e) = stopped {
            eprintln!("warning: the last flush failed: {e}");
        }
        let health = store.health();
        if health.lost > 0 || !health.writable {
            eprintln!(
                "ERROR: {} exchange{} forwarded to the app but not stored ({}); see README \"Full disk\"",
                health.lost,
                if health.lost == 1 { " was" } else { "s were" },
                health.error.as_deref().unwrap_or("the store could not write")
            );
            return anyhow::Ok(ExitCode::from(LOST_EXIT));
        }
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// `run`'s exit status when exchanges were forwarded but not stored (a full disk).
pub const LOST_EXIT: u8 = 3;

/// The live log's notices about the store: one line when writes start
/// failing (and as the waiting and lost counts change, at most every
/// half second), one when they work again.
async fn watch_health(store: Arc<Store>, shown: Arc<std::sync::Mutex<crate::store::Health>>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        health_notice(&store, &shown);
    }
}

/// One look at the store's health: print what changed since `shown` (the
/// last state said), and remember it.
fn health_notice(store: &Store, shown: &std::sync::Mutex<crate::store::Health>) {
    let mut shown = shown
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = store.health();
    // Counters, not only states: a failure shorter than a poll is said too.
    let failed_since = now.failures > shown.failures;
    let changed = failed_since
        || now.writable != shown.writable
        || now.lost != shown.lost
        || (!now.writable && now.waiting != shown.waiting);
    if !changed {
        return;
    }
    if failed_since && now.writable {
        eprintln!(
            "! the store cannot write ({})",
            now.last_error.as_deref().unwrap_or("write failed")
        );
    }
    if now.writable && (!shown.writable || failed_since) {
        eprintln!(
            "! the store writes again; {} exchange{} lost in all this run",
            now.lost,
            if now.lost == 1 { "" } else { "s" }
        );
    } else if let Some(text) = now.describe() {
        eprintln!("! {text}");
    }
    *shown = now;
}

/// Time spent analysing live lines per tenth of a second; past
/// [`LiveBudget::MAX`] the live log prints lines without analysis until the
/// next window, so it keeps up with any rate on any machine.
#[derive(Debug)]
struct LiveBudget {
    window: std::time::Instant,
    spent: std::time::Duration,
}

impl Default for LiveBudget {
    fn default() -> Self {
        LiveBudget {
            window: std::time::Instant::now(),
            spent: std::time::Duration::ZERO,
        }
    }
}

impl LiveBudget {
    /// Analysis time allowed per 100 ms window (a tenth of one core: under
    /// load the CPU goes to forwarding and storing).
    const MAX: std::time::Duration = std::time::Duration::from_millis(10);

    /// True when this window's analysis time is used up.
    fn exhausted(&mut self) -> bool {
        if self.window.elapsed() >= std::time::Duration::from_millis(100) {
            self.window = std::time::Instant::now();
            self.spent = std::time::Duration::ZERO;
        }
        self.spent >= Self::MAX
    }

    /// Count time spent analysing.
    fn charge(&mut self, d: std::time::Duration) {
        self.spent += d;
    }
}

/// The live line for a freshly stored record, analysed with the part of its
/// flow that explains it ([`crate::rolling::window_of`]: the flow's first
/// records and its latest ones, read through the store's flow index), so
/// printing it costs the same whether the flow holds 1 or 100 000 records.
pub fn live_view(store: &Store, rec: &Record, opts: &AnalyzeOptions, color: bool) -> String {
    // A record that opened its own flow is the whole flow: no need to read it back.
    let window = if rec.flow.as_deref() == Some(rec.id.as_str()) {
        vec![rec.clone()]
    } else {
        crate::rolling::window_of(rec, false, false, |q| store.query(q))
            .unwrap_or_else(|_| vec![rec.clone()])
    };
    let shown = crate::rolling::analyse_in_window(rec, &window, opts);
    view::live_line(&shown, color)
}

fn print_banner(session: &Session, g: &Globals, args: &RunArgs) {
    let addr = &session.proxy_addr();
    match &args.reverse {
        Some(upstream) => print_reverse_banner(session, upstream),
        None => eprintln!("oauthscope proxy listening on http://{addr}"),
    }
    if let Some(url) = session.web_url() {
        eprintln!("  web UI          {url}");
    }
    eprintln!(
        "  CA certificate  {} (`oauthscope ca init` prints how to trust it; `ca doctor` checks)",
        session.ca.cert_path().display()
    );
    eprintln!("  capture store   {}", g.home.store_dir().display());
    if args.reverse.is_some() {
        eprintln!("Press Ctrl-C to stop.\n");
        return;
    }
    if args.intercept.is_empty() {
        eprintln!("  intercepting    every host (use --intercept HOST,... to narrow)");
    } else {
        eprintln!(
            "  intercepting    {} (everything else is tunneled untouched)",
            args.intercept.join(", ")
        );
    }
    // `env` reads this run's address from proxy.json in the same data
    // directory, so another shell needs only the directory.
    let env_cmd = format!("eval \"$(oauthscope env{})\"", g.home.flag());
    eprintln!("Next: in another shell, `{env_cmd}` then run your app, or `oauthscope browser URL` for a browser; `oauthscope flows list` shows captures.");
    eprintln!("Press Ctrl-C to stop.\n");
}

/// What reverse mode does and the URLs to give the service.
fn print_reverse_banner(session: &Session, upstream: &url::Url) {
    let addr = session.proxy_addr();
    let port = addr.port();
    let upstream = upstream.as_str().trim_end_matches('/');
    eprintln!("oauthscope reverse mode: forwarding http(s)://{addr} → {upstream}");
    eprintln!("  use instead of {upstream}:");
    let urls = session.reverse_urls();
    let width = urls.iter().map(String::len).max().unwrap_or(0);
    for pair in urls.chunks(2) {
        eprintln!(
            "                  {:<width$}   {}",
            pair[0],
            pair.get(1).map(String::as_str).unwrap_or("")
        );
    }
    eprintln!("  paths are kept: http://{addr}/oauth2/token → {upstream}/oauth2/token");
    eprintln!("  https:// needs the CA below trusted; for a public URL, tunnel to http://localhost:{port}");
    eprintln!("  (`ngrok http {port}` or `cloudflared tunnel --url http://localhost:{port}`)");
}

/// Ctrl-C (SIGINT) and SIGTERM, caught from the moment this is made: a
/// signal that arrives while the session starts (after `proxy.json` is
/// written, before the banner) stops it cleanly instead of killing it.
pub(super) struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    /// Start catching the signals (inside a tokio runtime).
    pub(super) fn install() -> ShutdownSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            ShutdownSignals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        ShutdownSignals {}
    }

    /// Until one of the signals arrives (or arrived since [`Self::install`]).
    pub(super) async fn wait(&mut self) {
        #[cfg(unix)]
        {
            match (self.interrupt.as_mut(), self.terminate.as_mut()) {
                (Some(i), Some(t)) => {
                    tokio::select! {
                        _ = i.recv() => {}
                        _ = t.recv() => {}
                    }
                }
                (Some(i), None) => {
                    i.recv().await;
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// After a session stopped: owner-only store files, and how many exchanges
/// it holds (`run`, `mock`).
pub(super) fn report_stopped(store: &crate::store::Store, g: &Globals) {
    store.restrict_permissions();
    let n = store.len();
    let lost = store.health().lost;
    let lost = if lost > 0 {
        format!(" ({lost} lost: not stored)")
    } else {
        String::new()
    };
    eprintln!(
        "stopped; {n} exchange{} in {}{lost}",
        if n == 1 { "" } else { "s" },
        g.home.store_dir().display()
    );
}

#[cfg(test)]
mod upstream_flag_tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units_and_bounds() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        for bad in ["0s", "0", "61m", "ten", "5h", "", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }
}

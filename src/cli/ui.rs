//! `oauthscope ui`: the web UI of the running proxy, of the stored
//! capture (read-only, when no proxy runs), or of a HAR file.

use super::{ExitCode, Globals};
use crate::analyze::AnalyzeOptions;
use crate::api::ProxyState;
use crate::store::{Store, StoreError};
use crate::web::{self, RunningWeb};
use anyhow::Context as _;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `oauthscope ui`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope ui                  # the running proxy's UI, or the stored capture\n  oauthscope ui --print          # print the URL (with its token) instead of opening a browser\n  oauthscope ui bug-report.har   # look at a HAR file the same way"
)]
pub struct UiArgs {
    /// A HAR file to show instead of the capture (browser devtools, mitmproxy, `oauthscope export`).
    pub file: Option<PathBuf>,
    /// Print the URL instead of opening a browser.
    #[arg(long)]
    pub print: bool,
    /// Where to serve a capture or a HAR file (port 0 picks a free one). Loopback only.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub web: SocketAddr,
    /// A redirect URI registered with the provider, to check against. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
}

/// Open `url` in the default browser, or print it.
fn show(url: &str, print: bool) {
    if print {
        println!("{url}");
        return;
    }
    eprintln!("opening {url}");
    if let Err(e) = webbrowser::open(url) {
        eprintln!("could not start a browser ({e}); open the URL above yourself");
        println!("{url}");
    }
}

/// A one-time login URL from a running UI whose `web_url` (with the token)
/// is known: `POST /api/login-code` with the token's cookie, then
/// `http://HOST/?code=CODE`. The token travels in a request header, never
/// on a command line (see [`crate::web::LoginCodes`]).
async fn login_url(web_url: &str) -> anyhow::Result<String> {
    let u = url::Url::parse(web_url).with_context(|| format!("{web_url:?} is not a URL"))?;
    let token = u
        .query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .context("the web_url holds no token")?;
    let host = u.host_str().context("the web_url names no host")?;
    let port = u
        .port_or_known_default()
        .context("the web_url names no port")?;
    // `host_str` keeps an IPv6 address in brackets.
    let origin = format!("http://{host}:{port}");
    // Straight to the loopback UI, whatever HTTP(S)_PROXY says.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let resp = client
        .post(format!("{origin}/api/login-code"))
        .header("origin", &origin)
        .header("cookie", format!("oauthscope_ui_{port}={token}"))
        .send()
        .await?;
    let status = resp.status();
    let code = resp.text().await?;
    anyhow::ensure!(
        status.is_success(),
        "the UI answered {status}: {}",
        code.trim()
    );
    Ok(format!("{origin}/?code={}", code.trim()))
}

/// Serve until Ctrl-C.
async fn serve_until_stopped(w: RunningWeb, print: bool, what: &str) {
    // Ctrl-C is caught from before the URL is shown, so a script that reads
    // the URL and interrupts at once gets a clean stop.
    #[cfg(unix)]
    let mut interrupt =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    eprintln!("serving {what} read-only; press Ctrl-C to stop");
    show(&w.login_url(), print);
    #[cfg(unix)]
    match interrupt.as_mut() {
        Some(sig) => {
            sig.recv().await;
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    w.shutdown().await;
}

/// Run `oauthscope ui`.
pub fn run(args: UiArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.web.ip().is_loopback(),
        "refusing to serve the UI on {} (not loopback); `oauthscope run --web ADDR --allow-remote` serves a remote UI",
        args.web
    );
    let opts = AnalyzeOptions {
        registered_redirects: args.registered_redirect.clone(),
    };
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    if let Some(file) = &args.file {
        let imported = super::analyze::import_file(file)?;
        anyhow::ensure!(
            !imported.records.is_empty(),
            "{} holds no OAuth exchanges ({} entries)",
            file.display(),
            imported.entries
        );
        let n = imported.records.len();
        rt.block_on(async {
            let w = web::serve_records(args.web, imported.records, opts).await?;
            serve_until_stopped(
                w,
                args.print,
                &format!("{} ({n} exchanges)", file.display()),
            )
            .await;
            anyhow::Ok(())
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    // A private copy (no lock held, no file changed): `run` can start, and
    // `flows list` read, while this serves.
    match Store::open_read_only(&g.home.store_dir()) {
        Ok(store) => {
            // No proxy holds the store: serve it ourselves.
            let store = Arc::new(store);
            let n = store.len();
            if let Some(text) = store.health().describe() {
                eprintln!("warning: {text}");
            }
            rt.block_on(async {
                let w = web::serve_store(args.web, store, opts).await?;
                serve_until_stopped(
                    w,
                    args.print,
                    &format!("the stored capture ({n} exchanges)"),
                )
                .await;
                anyhow::Ok(())
            })?;
        }
        Err(StoreError::Locked { .. }) => {
            let state = ProxyState::read(&g.home)?.with_context(|| {
                format!(
                    "the store is held by another process that did not announce itself in {}",
                    g.home.proxy_state_file().display()
                )
            })?;
            let url = state.web_url.with_context(|| {
                format!(
                    "the running proxy (pid {}) serves no web UI (started with --no-web); restart it without --no-web",
                    state.pid
                )
            })?;
            let login = rt.block_on(login_url(&url)).with_context(|| {
                format!(
                    "asking the running proxy's web UI for a one-time login link (open the web_url in {} yourself)",
                    g.home.proxy_state_file().display()
                )
            })?;
            show(&login, args.print);
        }
        Err(e) => {
            let e = match crate::access::Records::open_read_only(&g.home) {
                Err(enriched) => anyhow::Error::from(enriched),
                Ok(_) => anyhow::Error::from(e),
            };
            return Err(e).with_context(|| {
                format!(
                    "opening the capture store in {}",
                    g.home.store_dir().display()
                )
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

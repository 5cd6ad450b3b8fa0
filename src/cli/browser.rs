//! `oauthscope browser`: a browser with a throw-away profile that uses the
//! proxy and trusts the CA (see [`crate::browser`]).

use super::{ExitCode, Globals};
use crate::browser::{self, Found, Kind, LaunchSpec};
use crate::cli::ca::load_ca;
use crate::cli::env::{resolve_proxy, ProxySource};
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `oauthscope browser`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
The browser gets a new profile in a temporary directory (removed when it exits), sends
everything through the proxy (localhost and 127.0.0.1 too) and trusts the oauthscope CA in
that profile only: nothing system-wide, none of your own profiles. Chromium, Chrome, Edge
and Brave trust it through --ignore-certificate-errors-spki-list (the CA's key only);
Firefox through the profile's own certificate store (needs `certutil`, from libnss3-tools).

The proxy address defaults to the running proxy's (HOME/proxy.json), else 127.0.0.1:8080.
Start `oauthscope run` first.

Examples:
  oauthscope browser https://app.example.com/login
  oauthscope browser --browser firefox
  oauthscope browser --browser /opt/google/chrome/chrome https://localhost:3000
  oauthscope browser --headless https://localhost:3000/login")]
pub struct BrowserArgs {
    /// Which browser: chromium, chrome, edge, brave, firefox, or the path of its executable [default: the first one installed, in that order].
    #[arg(long, value_name = "NAME|PATH")]
    pub browser: Option<String>,
    /// No window: load URL, follow its redirects, print the page it ends on (Chromium: its DOM, on stdout; Firefox prints nothing) and exit.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: stop the browser after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
    /// The proxy address [default: the running proxy's, else 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub proxy: Option<String>,
    /// Show the browser's own log output on stderr.
    #[arg(long)]
    pub browser_log: bool,
    /// Print the browser's command line and exit without starting it.
    #[arg(long)]
    pub dry_run: bool,
    /// The page to open (your app's login page, or a provider's authorize URL).
    #[arg(value_name = "URL")]
    pub url: Option<String>,
}

/// Pick the browser from `--browser` (a kind or a path) or the first installed.
fn choose(args: &BrowserArgs, found: &[Found]) -> anyhow::Result<Found> {
    let all_kinds = Kind::ALL.map(Kind::name).join(", ");
    match &args.browser {
        None => found.first().cloned().with_context(|| {
            format!(
                "no supported browser found (looked for {all_kinds} on PATH and in the usual install locations); \
                 install one (Debian: apt-get install chromium) or give its executable with --browser PATH"
            )
        }),
        Some(spec) => {
            if let Some(kind) = Kind::parse(spec) {
                return found
                    .iter()
                    .find(|f| f.kind == kind)
                    .cloned()
                    .with_context(|| {
                        format!(
                            "{kind} is not installed (or not where oauthscope looks); give its executable with --browser PATH"
                        )
                    });
            }
            let path = PathBuf::from(spec);
            let path = if path.components().count() == 1 {
                browser::find_on_path(spec).unwrap_or(path)
            } else {
                path
            };
            anyhow::ensure!(
                path.is_file(),
                "--browser {spec}: not one of {all_kinds}, and no such executable"
            );
            Ok(Found {
                kind: browser::kind_of_path(&path),
                path,
            })
        }
    }
}

fn is_root() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Is anything listening at `addr` (`HOST:PORT`)? Waits at most 2 s.
fn listening(addr: &str) -> bool {
    use std::net::ToSocketAddrs as _;
    addr.to_socket_addrs().is_ok_and(|mut it| {
        it.any(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
    })
}

/// Ignore Ctrl-C in this process while the browser runs (the browser gets
/// it from the terminal and exits; we then remove its profile).
fn ignore_interrupts() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
}

/// Run `oauthscope browser`.
pub fn run(args: BrowserArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let found = browser::find_all();
    let chosen = choose(&args, &found)?;
    let list = if found.is_empty() {
        "none of chromium, chrome, edge, brave, firefox".to_string()
    } else {
        found
            .iter()
            .map(|f| format!("{} ({})", f.kind, f.path.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!("browsers found: {list}");
    eprintln!(
        "using {} ({}){}",
        chosen.kind,
        chosen.path.display(),
        if found.len() > 1 || args.browser.is_some() {
            "; pick another with --browser NAME (chromium, chrome, edge, brave, firefox) or --browser PATH"
        } else {
            "; another with --browser PATH"
        }
    );
    if args.headless && args.url.is_none() {
        anyhow::bail!("--headless needs a URL to load");
    }
    let (proxy, source) = resolve_proxy(args.proxy.as_deref(), &g.home);
    let ca = load_ca(g)?;
    if !args.dry_run && !listening(&proxy) {
        let hint = match source {
            ProxySource::Default => "start `oauthscope run` first (in another terminal)",
            ProxySource::Running => {
                "HOME/proxy.json names it but it does not answer: did `oauthscope run` crash? start it again"
            }
            ProxySource::Flag => "check --proxy, or start `oauthscope run --listen` on it",
        };
        anyhow::bail!("nothing is listening on {proxy}: {hint}");
    }
    let spec = LaunchSpec {
        browser: chosen.clone(),
        proxy: proxy.clone(),
        ca_der: ca.cert_der().to_vec(),
        ca_pem_path: ca.cert_path().to_path_buf(),
        url: args.url.clone(),
        headless: args.headless,
        no_sandbox: is_root(),
        show_log: args.browser_log,
    };
    if args.dry_run {
        let profile = browser::Profile::create()?;
        let line = browser::args_for(&spec, profile.path())?;
        println!("{} {}", chosen.path.display(), line.join(" "));
        profile.remove().context("removing the profile")?;
        return Ok(ExitCode::SUCCESS);
    }
    let launch = browser::launch(&spec)?;
    eprintln!(
        "profile {} (temporary, removed when the browser exits); proxy {proxy}; trusting the CA {}",
        launch.profile.path().display(),
        ca.cert_path().display()
    );
    if !launch.ca_trusted {
        eprintln!(
            "warning: `certutil` was not found (Debian: apt-get install libnss3-tools; macOS: brew install nss), \
             so this Firefox profile does not trust the oauthscope CA: pages will show a certificate warning. \
             Import {} in its Settings → Certificates, or use a Chromium-family browser.",
            ca.cert_path().display()
        );
    }
    if args.url.is_none() {
        eprintln!(
            "no URL given: open your app's login page (or the provider's authorize URL) in this browser window;\n\
             every OAuth exchange appears in `oauthscope run`'s output and in `oauthscope flows list`."
        );
    }
    ignore_interrupts();
    let timeout = args.headless.then(|| Duration::from_secs(args.timeout));
    let ended = launch.wait(timeout)?;
    match &ended.remove_error {
        None => eprintln!(
            "browser exited; removed its profile {}",
            ended.profile.display()
        ),
        Some(e) => eprintln!(
            "browser exited; could not remove its profile {}: {e}",
            ended.profile.display()
        ),
    }
    if ended.timed_out {
        anyhow::bail!(
            "the browser did not finish within {} s (--timeout); stopped it",
            args.timeout
        );
    }
    Ok(match ended.status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => {
            eprintln!("the browser exited with status {c} (--browser-log shows its output)");
            ExitCode::from(c.clamp(1, 255) as u8)
        }
        None => ExitCode::from(1),
    })
}

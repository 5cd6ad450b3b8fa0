//! `oauthscope demo`: mock + proxy + scripted login in one process, in a
//! throw-away data directory.
//!
//! The login's token request adds a trailing slash to the redirect_uri; the
//! mock compares exactly (as Okta, Auth0, Keycloak and the RFC do) and answers
//! `invalid_grant`; oauthscope shows why.

use super::{ExitCode, Globals};
use crate::mock::rig::Rig;
use crate::mock::script::{render_capture, summary, App};
use crate::mock::{self, Client, MockConfig, Quirks, RedirectMatch};
use anyhow::Context as _;
use clap::Args;
use std::fmt::Write as _;

/// Arguments of `oauthscope demo`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Runs entirely on 127.0.0.1 with a throw-away data directory; no account anywhere.\n\nExample:\n  oauthscope demo"
)]
pub struct DemoArgs {
    /// Stop at once instead of keeping the web UI up until Ctrl-C (the
    /// default when not run from a terminal).
    #[arg(long)]
    pub no_wait: bool,
}

/// The demo's registered redirect URI.
pub const DEMO_REDIRECT: &str = "http://127.0.0.1:8000/callback";

/// Run the whole demo in a throw-away data directory; returns what it
/// prints and the rig, still running, whose web UI shows the capture.
pub async fn demo(color: bool) -> anyhow::Result<(String, Rig)> {
    let rig = Rig::start().await?;
    let mut out = String::new();
    let m = mock::start(MockConfig {
        clients: vec![Client::new("demo-app", "demo-secret", &[DEMO_REDIRECT])],
        quirks: Quirks {
            redirect_match: RedirectMatch::Exact,
            ..Quirks::default()
        },
        tls: Some(rig.tls_for("127.0.0.1")?),
        ..MockConfig::default()
    })
    .await?;
    let _ = writeln!(
        out,
        "oauthscope demo: a login whose token request adds a trailing slash to redirect_uri\n"
    );
    let _ = writeln!(
        out,
        "  provider   {} (the oauthscope mock, --redirect-match exact)",
        m.issuer()
    );
    let _ = writeln!(
        out,
        "  proxy      {} (oauthscope run, intercepting TLS with its own CA)",
        rig.proxy_url()
    );
    let _ = writeln!(out);

    let mut client = rig.client()?;
    let app = App {
        issuer: m.issuer().to_owned(),
        client_id: "demo-app".into(),
        client_secret: "demo-secret".into(),
        redirect_uri: DEMO_REDIRECT.into(),
    };
    let _ = writeln!(out, "The app:");
    app.discover(&mut client).await?;
    let _ = writeln!(out, "  1. GET  /.well-known/openid-configuration");
    let code = app.authorize(&mut client, &[]).await?;
    let _ = writeln!(
        out,
        "  2. GET  /authorize  redirect_uri={DEMO_REDIRECT}  → 302 with a code"
    );
    let wrong = format!("{DEMO_REDIRECT}/");
    let x = app.exchange(&mut client, &code, &wrong, None).await?;
    let _ = writeln!(
        out,
        "  3. POST /token      redirect_uri={wrong}  → {}\n",
        summary(&x)
    );

    let _ = writeln!(out, "The provider's log (mock history):");
    for h in m.history() {
        let _ = writeln!(out, "  {h}");
    }
    let _ = writeln!(out);

    let records = rig.captured(3).await?;
    out.push_str(&render_capture(&records, color));
    m.shutdown().await;
    Ok((out, rig))
}

/// Run the demo.
pub fn run(args: DemoArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal as _;
    let rt = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    if !g.home.is_default() {
        eprintln!(
            "note: demo uses a throw-away data directory; {} is not touched",
            g.home.root().display()
        );
    }
    rt.block_on(async {
        let (out, rig) = demo(g.color).await?;
        print!("{out}");
        let wait = !args.no_wait && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
        if let Some(url) = rig.web_url() {
            println!("\nSee it in the browser: {url}");
            if wait {
                println!("(the demo's capture is served until you press Ctrl-C)");
            } else {
                println!("(served while the demo runs; run `oauthscope demo` in a terminal to keep it up)");
            }
        }
        if wait {
            let _ = tokio::signal::ctrl_c().await;
        }
        rig.stop().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

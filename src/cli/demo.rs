//! `oauthscope demo`: mock + proxy + scripted login in one process, in a
//! throw-away data directory.
//!
//! The login's token request adds a trailing slash to the redirect_uri; the
//! mock compares exactly (as Okta, Auth0, Keycloak and the RFC do) and answers
//! `invalid_grant`; oauthscope shows why.

use super::{ExitCode, Globals};
use crate::analyze::{analyze, AnalyzeOptions};
use crate::ca::LocalCa;
use crate::home::Home;
use crate::mock::script::{render_capture, summary, App, ScriptedClient};
use crate::mock::{self, Client, MockConfig, Quirks, RedirectMatch};
use crate::proxy::{self, ProxyConfig};
use crate::store::{Query, Store};
use anyhow::Context as _;
use clap::Args;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

/// Arguments of `oauthscope demo`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Runs entirely on 127.0.0.1 with a throw-away data directory; no account anywhere.\n\nExample:\n  oauthscope demo"
)]
pub struct DemoArgs {}

/// The demo's registered redirect URI.
pub const DEMO_REDIRECT: &str = "http://127.0.0.1:8000/callback";

/// Run the whole demo in a throw-away data directory and return what it prints.
pub async fn demo(color: bool) -> anyhow::Result<String> {
    let dir = tempfile::Builder::new()
        .prefix("oauthscope-demo-")
        .tempdir()
        .context("creating the demo's data directory")?;
    let home = Home::new(dir.path());
    let (ca, _) = LocalCa::load_or_create(&home)?;
    let ca = Arc::new(ca);
    let store = Arc::new(Store::open(&home.store_dir())?);
    let proxy = proxy::start(
        ProxyConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..ProxyConfig::default()
        },
        ca.clone(),
        store.clone(),
        None,
    )
    .await?;

    let mut out = String::new();
    let m = mock::start(MockConfig {
        clients: vec![Client::new("demo-app", "demo-secret", &[DEMO_REDIRECT])],
        quirks: Quirks {
            redirect_match: RedirectMatch::Exact,
            ..Quirks::default()
        },
        tls: Some(ca.server_config_for("127.0.0.1")?),
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
        "  proxy      http://{} (oauthscope run, intercepting TLS with its CA)",
        proxy.addr
    );
    let _ = writeln!(out);

    let mut client = ScriptedClient::via_proxy(
        &format!("http://{}", proxy.addr),
        Some(ca.cert_pem().as_bytes()),
    )?;
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

    // The proxy stores each exchange once its response has been forwarded.
    let mut raw = Vec::new();
    for _ in 0..200 {
        raw = store.query(&Query::default())?;
        if raw.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    proxy.shutdown().await;
    m.shutdown().await;
    let records = analyze(&raw, &AnalyzeOptions::default());
    out.push_str(&render_capture(&records, color));
    Ok(out)
}

/// Run the demo.
pub fn run(_args: DemoArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let out = rt.block_on(demo(g.color))?;
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

//! A refresh token that dies on its first use.
//!
//! Salesforce's connected-app policy "Immediately expire refresh token" makes
//! the first refresh fail with `invalid_grant` "expired access/refresh token";
//! the login itself works, so the failure shows up hours later. The mock
//! reproduces it with `--refresh-policy immediate-expire`.
//!
//! Run: `cargo run --example refresh_dies`

use oauthscope::mock::rig::Rig;
use oauthscope::mock::script::{render_capture, summary, App};
use oauthscope::mock::{self, Client, MockConfig, Quirks, RefreshPolicy};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redirect = "http://127.0.0.1:8000/callback";
    // The real proxy, with a throw-away CA and store, between the app and the mock.
    let rig = Rig::start().await?;
    let m = mock::start(MockConfig {
        clients: vec![Client::new("crm-sync", "crm-secret", &[redirect])],
        quirks: Quirks {
            refresh_policy: RefreshPolicy::ImmediateExpire,
            ..Quirks::default()
        },
        tls: Some(rig.tls_for("127.0.0.1")?),
        ..MockConfig::default()
    })
    .await?;
    let app = App {
        issuer: m.issuer().to_owned(),
        client_id: "crm-sync".into(),
        client_secret: "crm-secret".into(),
        redirect_uri: redirect.into(),
    };
    let mut c = rig.client()?;
    println!(
        "Provider {} with refresh policy \"immediately expire\" (Salesforce).\n",
        m.issuer()
    );
    let code = app.authorize(&mut c, &[]).await?;
    let tokens = app.exchange(&mut c, &code, redirect, None).await?;
    println!("login:   {}", summary(&tokens));
    let rt = tokens
        .json()
        .and_then(|v| v["refresh_token"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!("no refresh token in {}", tokens.body))?;
    let refreshed = app.refresh(&mut c, &rt).await?;
    println!("refresh: {}\n", summary(&refreshed));
    let records = rig.captured(3).await?;
    print!("{}", render_capture(&records, false));
    rig.stop().await;
    m.shutdown().await;
    Ok(())
}

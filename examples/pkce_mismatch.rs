//! A PKCE verifier that does not match the challenge.
//!
//! The app sends the S256 challenge of one verifier at authorize and, after a
//! page reload regenerated it, a different verifier at the token endpoint.
//! The provider answers `invalid_grant` "PKCE verification failed: Code
//! mismatch" (Keycloak's wording; Entra says AADSTS501481).
//!
//! Run: `cargo run --example pkce_mismatch`

use oauthscope::mock::rig::Rig;
use oauthscope::mock::script::{render_capture, s256, summary, App};
use oauthscope::mock::{self, Client, MockConfig, Quirks};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redirect = "http://127.0.0.1:8000/callback";
    // The real proxy, with a throw-away CA and store, between the app and the mock.
    let rig = Rig::start().await?;
    let m = mock::start(MockConfig {
        clients: vec![Client::new("spa-backend", "spa-secret", &[redirect])],
        quirks: Quirks {
            require_pkce: true,
            ..Quirks::default()
        },
        tls: Some(rig.tls_for("127.0.0.1")?),
        ..MockConfig::default()
    })
    .await?;
    let app = App {
        issuer: m.issuer().to_owned(),
        client_id: "spa-backend".into(),
        client_secret: "spa-secret".into(),
        redirect_uri: redirect.into(),
    };
    let mut c = rig.client()?;
    let first = "first-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
    let second = "second-verifier-after-reload-0123456789-abcdefghijklm";
    println!("Provider {} requiring PKCE.\n", m.issuer());
    let code = app
        .authorize(
            &mut c,
            &[
                ("code_challenge", &s256(first)),
                ("code_challenge_method", "S256"),
            ],
        )
        .await?;
    println!("authorize: code_challenge = S256({first:?})");
    let x = app.exchange(&mut c, &code, redirect, Some(second)).await?;
    println!("token:     code_verifier = {second:?}  → {}\n", summary(&x));
    let records = rig.captured(2).await?;
    print!("{}", render_capture(&records, false));
    rig.stop().await;
    m.shutdown().await;
    Ok(())
}

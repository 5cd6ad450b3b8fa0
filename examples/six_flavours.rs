//! The six token-exchange flavours against a provider that accepts only one.
//!
//! The mock compares `Authorization: Basic` credentials raw, without the
//! RFC 6749 §2.3.1 URL-decoding (old Keycloak ≤ 19, spring-security-oauth and
//! many hand-written servers do this), so only flavour 5 works for a secret
//! that holds `+ / =`. `oauthscope probe` finds that out in one command.
//!
//! Run: `cargo run --example six_flavours`

use oauthscope::mock::rig::Rig;
use oauthscope::mock::{self, Client, MockConfig, Quirks};
use oauthscope::probe::{self, ProbeConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secret = "s3cret+/=";
    // The real proxy, with a throw-away CA and store, captures the probe.
    let rig = Rig::start().await?;
    let m = mock::start(MockConfig {
        clients: vec![Client::new("reporting-job", secret, &[])],
        quirks: Quirks {
            accept_flavours: vec![5],
            ..Quirks::default()
        },
        tls: Some(rig.tls_for("127.0.0.1")?),
        ..MockConfig::default()
    })
    .await?;
    println!(
        "A provider at {} that accepts only flavour 5 (Basic with the raw secret {secret:?}).\n",
        m.issuer()
    );
    println!(
        "$ oauthscope probe --token-url {} --client-id reporting-job --client-secret '{secret}' --proxy {}\n",
        m.token_url(),
        rig.proxy_url()
    );
    let mut cfg = ProbeConfig::new(&m.token_url(), "reporting-job", secret);
    cfg.proxy = Some(rig.proxy_url());
    cfg.ca_certs_pem = vec![rig.ca_pem().as_bytes().to_vec()];
    let report = probe::probe(&cfg).await?;
    print!("{}", probe::render_table(&report));
    println!("\nWhat the provider logged:");
    for h in m.history() {
        println!("  {h}");
    }
    println!();
    let sent = report
        .attempts
        .iter()
        .filter(|a| a.status.is_some())
        .count();
    let records = rig.captured(sent).await?;
    println!("What oauthscope captured (`oauthscope flows list`):\n");
    print!("{}", oauthscope::view::list(&records, false));
    rig.stop().await;
    m.shutdown().await;
    Ok(())
}

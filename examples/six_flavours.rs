//! The six token-exchange flavours against a provider that accepts only one.
//!
//! The mock compares `Authorization: Basic` credentials raw, without the
//! RFC 6749 §2.3.1 URL-decoding (old Keycloak ≤ 19, spring-security-oauth and
//! many hand-written servers do this), so only flavour 5 works for a secret
//! that holds `+ / =`. `oauthscope probe` finds that out in one command.
//!
//! Run: `cargo run --example six_flavours`

use oauthscope::mock::{self, Client, MockConfig, Quirks};
use oauthscope::probe::{self, ProbeConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secret = "s3cret+/=";
    let m = mock::start(MockConfig {
        clients: vec![Client::new("reporting-job", secret, &[])],
        quirks: Quirks {
            accept_flavours: vec![5],
            ..Quirks::default()
        },
        ..MockConfig::default()
    })
    .await?;
    println!(
        "A provider at {} that accepts only flavour 5 (Basic with the raw secret {secret:?}).\n",
        m.issuer()
    );
    println!(
        "$ oauthscope probe --token-url {} --client-id reporting-job --client-secret '{secret}'\n",
        m.token_url()
    );
    let report = probe::probe(&ProbeConfig::new(&m.token_url(), "reporting-job", secret)).await?;
    print!("{}", probe::render_table(&report));
    println!("\nWhat the provider logged:");
    for h in m.history() {
        println!("  {h}");
    }
    m.shutdown().await;
    Ok(())
}

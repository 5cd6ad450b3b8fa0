//! `oauthscope mock`: a local provider with real-world quirks.

use super::{ExitCode, Globals};
use clap::Args;
use std::net::SocketAddr;

/// Arguments of `oauthscope mock`.
#[derive(Debug, Clone, Args)]
pub struct MockArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9443", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Serve HTTPS with a certificate from the oauthscope CA.
    #[arg(long)]
    pub tls: bool,
}

/// Run the mock provider.
pub fn run(_args: MockArgs, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`oauthscope mock` is not implemented yet")
}

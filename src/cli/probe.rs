//! `oauthscope probe`: which token-exchange flavours does an endpoint accept?

use super::{ExitCode, Globals};
use clap::Args;

/// Arguments of `oauthscope probe`.
#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// The token endpoint.
    #[arg(long, value_name = "URL")]
    pub token_url: String,
    /// Client id.
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// Client secret.
    #[arg(
        long,
        value_name = "SECRET",
        env = "OAUTHSCOPE_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: String,
}

/// Probe the endpoint.
pub fn run(_args: ProbeArgs, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`oauthscope probe` is not implemented yet")
}

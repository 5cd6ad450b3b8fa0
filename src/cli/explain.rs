//! `oauthscope explain CODE`.

use super::{ExitCode, Globals};
use clap::Args;

/// Arguments of `oauthscope explain`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope explain invalid_grant\n  oauthscope explain AADSTS50011\n  oauthscope explain IP_RESTRICTED"
)]
pub struct ExplainArgs {
    /// The error code (`invalid_grant`, `AADSTS50011`, `redirect_uri_mismatch`, ...), or an annotation code.
    pub code: String,
    /// Print the entry as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Print a catalog entry.
pub fn run(_args: ExplainArgs, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`oauthscope explain` is not implemented yet")
}

//! `oauthscope analyze FILE.har`.

use super::{ExitCode, FailOn, Globals};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `oauthscope analyze`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope analyze login.har\n  oauthscope analyze login.har --json --fail-on error"
)]
pub struct AnalyzeArgs {
    /// A HAR 1.2 file (Chrome / Firefox devtools export, mitmproxy, oauthscope export).
    #[arg(value_name = "FILE.har")]
    pub file: PathBuf,
    /// Print a JSON array of annotated records.
    #[arg(long)]
    pub json: bool,
    /// A redirect URI registered with the provider, to check against. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
    #[command(flatten)]
    pub fail_on: FailOn,
}

/// Analyse a HAR file.
pub fn run(_args: AnalyzeArgs, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`oauthscope analyze` is not implemented yet")
}

//! `oauthscope export`.

use super::{ExitCode, Globals};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// HAR 1.2 (opens in browser devtools, HTTP Toolkit, mitmproxy).
    Har,
    /// The records as `flows show --json` prints them.
    Json,
    /// A Markdown bug report with a sequence diagram.
    Md,
}

/// Arguments of `oauthscope export`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope export --format md -o report.md\n  oauthscope export --flow 18a3f2c4d5e6f708 --format har -o login.har"
)]
pub struct ExportArgs {
    /// Only this flow.
    #[arg(long, value_name = "ID", conflicts_with_all = ["since", "all"])]
    pub flow: Option<String>,
    /// Only exchanges captured since this time (RFC 3339, or a duration ago like 2h).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Everything captured (the default when no filter is given).
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Har)]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep secrets (tokens, codes, client secrets, cookies) in the export. Dangerous to share.
    #[arg(long)]
    pub no_redact: bool,
    /// A redirect URI registered with the provider, to check against. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
}

/// Export captured exchanges.
pub fn run(_args: ExportArgs, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`oauthscope export` is not implemented yet")
}

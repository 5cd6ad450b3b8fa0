//! `oauthscope flows list|show|clear`.

use super::{ExitCode, FailOn, Globals};
use crate::record::Kind;
use clap::{Args, Subcommand};

/// `oauthscope flows ...`
#[derive(Debug, Clone, Subcommand)]
pub enum FlowsCommand {
    /// List captured exchanges, oldest first, with flavour and top annotation.
    List(ListArgs),
    /// Show one exchange in full with all its annotations and their evidence.
    Show(ShowArgs),
    /// Delete captured exchanges.
    Clear(ClearArgs),
}

/// Arguments of `flows list`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope flows list\n  oauthscope flows list --kind token_request --json\n  oauthscope flows list --fail-on error"
)]
pub struct ListArgs {
    /// Print a JSON array of records.
    #[arg(long)]
    pub json: bool,
    /// Only this flow.
    #[arg(long, value_name = "ID")]
    pub flow: Option<String>,
    /// Only this kind (authorize_request, callback, token_request, ...).
    #[arg(long, value_name = "KIND")]
    pub kind: Option<Kind>,
    /// A redirect URI registered with the provider, to check against. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
    #[command(flatten)]
    pub fail_on: FailOn,
}

/// Arguments of `flows show`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Example:\n  oauthscope flows show 18a3f2c4d5e6f708 --json")]
pub struct ShowArgs {
    /// The exchange id (or a unique prefix of it).
    pub id: String,
    /// Print the record as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// A redirect URI registered with the provider, to check against. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
}

/// Arguments of `flows clear`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope flows clear\n  oauthscope flows clear --before 2026-11-01T00:00:00Z\n  oauthscope flows clear --flow 18a3f2c4d5e6f708"
)]
pub struct ClearArgs {
    /// Only exchanges captured before this time (RFC 3339, or a duration ago like 2h, 7d).
    #[arg(long, value_name = "TIME")]
    pub before: Option<String>,
    /// Only this flow.
    #[arg(long, value_name = "ID")]
    pub flow: Option<String>,
}

/// Run a `flows` subcommand.
pub fn run(_cmd: FlowsCommand, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`oauthscope flows` is not implemented yet")
}

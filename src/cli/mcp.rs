//! `oauthscope mcp`: the capture served to AI assistants over MCP (stdio).

use super::{ExitCode, Globals};
use crate::analyze::AnalyzeOptions;
use anyhow::Context as _;
use clap::Args;

/// Arguments of `oauthscope mcp`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Speaks the Model Context Protocol on stdin/stdout: an MCP client (Claude Desktop, Claude Code,\nVS Code, Cursor, ...) starts it. Tools: list_logins, show_login, show_exchange, explain_code,\nanalyze_har, export_report. Read-only, and every answer is redacted (secrets become\n«redacted:…» fingerprints, stable within one session).\n\nExample client configuration:\n  {\"mcpServers\": {\"oauthscope\": {\"command\": \"oauthscope\", \"args\": [\"mcp\"]}}}\n\nExamples:\n  oauthscope mcp\n  oauthscope mcp --home ./capture-home --registered-redirect https://app.example.com/callback"
)]
pub struct McpArgs {
    /// A redirect URI registered with the provider, to check logins against. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
}

/// Serve MCP on stdin/stdout until the client disconnects.
pub fn run(args: McpArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let opts = AnalyzeOptions {
        registered_redirects: args.registered_redirect,
    };
    rt.block_on(crate::mcp::serve_stdio(g.home.clone(), opts))?;
    // A blocking read of stdin may still be pending: do not wait for it.
    rt.shutdown_background();
    Ok(ExitCode::SUCCESS)
}

//! `oauthscope mcp`: the capture and its analysis served to AI assistants
//! over the Model Context Protocol (stdio transport, the official Rust SDK
//! `rmcp`).
//!
//! Tools (one file per group):
//! - [`logins`]: `list_logins` (paged, newest first), `show_login` (the
//!   diagnosis with its evidence, the exchanges in order, the sequence as a
//!   Mermaid diagram) and `export_report` (the Markdown bug report of
//!   [`crate::report`]);
//! - [`exchange`]: `show_exchange` (request, response, annotations, decoded JWTs);
//! - [`offline`]: `explain_code` (the error catalog) and `analyze_har` (a HAR file).
//!
//! The capture is read as `flows list` / `flows show` read it
//! ([`crate::access::Records`]): the store directly when no proxy holds it,
//! else the running proxy's loopback API. The store is opened for one call
//! and closed again, so `oauthscope run` can start while the server is up.
//!
//! Every answer is redacted whatever the arguments: records are analysed
//! raw, then masked by [`crate::redact::Redactor`] with one salt per server
//! process, so a value has the same `«redacted:…»` fingerprint in every
//! answer of a session (an assistant can match the refresh token sent with
//! the one another exchange issued). As a last pass, every string of the
//! answer (JSON and text summary) is swept for every secret the call met.
//! No tool sends traffic, clears, replays or writes anything.
//!
//! Each tool answers with structured JSON (`structuredContent`) plus a short
//! text summary and the same JSON as text; failures are tool errors
//! (`isError: true`) with a message saying what to do, never a crash.

pub mod capture;
pub mod exchange;
pub mod logins;
pub mod offline;

use crate::analyze::AnalyzeOptions;
use crate::home::Home;
use crate::redact::Redactor;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool, tool_handler, tool_router, ErrorData as McpError, ServerHandler, ServiceExt};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// What a tool found: a short text summary and the structured answer.
#[derive(Debug)]
pub struct Answer {
    /// One to a few lines for a person (or an assistant) to read first.
    pub summary: String,
    /// The structured result (`structuredContent`).
    pub data: Value,
    /// The redactor that masked the records of this answer: it knows every
    /// secret met, and sweeps the whole answer once more before it leaves.
    pub redactor: Option<Redactor>,
}

/// Why a tool could not answer; each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Neither a running proxy nor a stored capture in the data directory.
    #[error("no capture in {home}: no oauthscope proxy is running there (no proxy.json) and no store exists. Capture a login first (start `oauthscope run --home {home}` and send the app through it), or start the MCP server with the --home that holds the capture")]
    NoCapture {
        /// The data directory.
        home: String,
    },
    /// The store or the proxy's API failed.
    #[error("reading the capture failed: {0}")]
    Access(String),
    /// No login or exchange has this id (the message says where the ids are).
    #[error("{0}")]
    UnknownId(String),
    /// The error code is not in the catalog (the message suggests near misses).
    #[error("{0}")]
    UnknownCode(String),
    /// An argument is not valid.
    #[error("bad argument: {0}")]
    BadArgument(String),
    /// The file given to `analyze_har` is not a HAR file we can read.
    #[error("{0}")]
    NotHar(String),
    /// A bug: the tool failed unexpectedly (the server keeps running).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ToolError {
    /// Stable machine-readable kind (`structuredContent.error`).
    pub fn kind(&self) -> &'static str {
        match self {
            ToolError::NoCapture { .. } => "no_capture",
            ToolError::Access(_) => "capture_unreadable",
            ToolError::UnknownId(_) => "unknown_id",
            ToolError::UnknownCode(_) => "unknown_code",
            ToolError::BadArgument(_) => "bad_argument",
            ToolError::NotHar(_) => "not_a_har",
            ToolError::Internal(_) => "internal",
        }
    }
}

/// What every tool call shares: where the capture is, the redaction salt
/// of this session, and a lock so that one call at a time opens the store
/// (sled allows one open per process).
#[derive(Debug)]
pub struct Context {
    /// The data directory.
    pub home: Home,
    /// Analysis options (registered redirect URIs given to `oauthscope mcp`).
    pub opts: AnalyzeOptions,
    salt: [u8; 16],
    lock: Mutex<()>,
}

impl Context {
    /// A context with a fresh random salt.
    pub fn new(home: Home, opts: AnalyzeOptions) -> Context {
        Context {
            home,
            opts,
            salt: rand::random(),
            lock: Mutex::new(()),
        }
    }

    /// A redactor with this session's salt: the same value gets the same
    /// fingerprint in every answer of the session.
    pub fn redactor(&self) -> Redactor {
        Redactor::with_salt(self.salt)
    }

    /// The analysis options, with `extra` registered redirect URIs added.
    pub fn opts_with(&self, extra: &Option<Vec<String>>) -> AnalyzeOptions {
        let mut o = self.opts.clone();
        if let Some(x) = extra {
            o.registered_redirects.extend(x.iter().cloned());
        }
        o
    }
}

/// The MCP server: the tools over one data directory.
#[derive(Clone)]
pub struct Server {
    ctx: Arc<Context>,
    tool_router: ToolRouter<Server>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("ctx", &self.ctx).finish()
    }
}

/// Sweep every string of the answer for the secrets its redactor met; an
/// answer that cannot be re-read after the sweep is refused rather than
/// sent unswept.
fn finish(answer: Answer) -> CallToolResult {
    let Answer {
        mut summary,
        mut data,
        redactor,
    } = answer;
    if let Some(r) = redactor {
        summary = r.redact_text(&summary);
        let text = serde_json::to_string(&data).unwrap_or_default();
        match serde_json::from_str::<Value>(&r.redact_text(&text)) {
            Ok(v) => data = v,
            Err(e) => {
                return failure(ToolError::Internal(format!(
                    "the answer could not be redacted safely ({e}); nothing was sent"
                )))
            }
        }
    }
    let json = serde_json::to_string_pretty(&data).unwrap_or_default();
    let mut result = CallToolResult::structured(data);
    result.content = vec![ContentBlock::text(summary), ContentBlock::text(json)];
    result
}

fn failure(e: ToolError) -> CallToolResult {
    tracing::debug!("tool error: {e}");
    CallToolResult::structured_error(serde_json::json!({
        "error": e.kind(),
        "message": e.to_string(),
    }))
}

impl Server {
    /// A server over `home`.
    pub fn new(home: Home, opts: AnalyzeOptions) -> Server {
        Server {
            ctx: Arc::new(Context::new(home, opts)),
            tool_router: Self::tool_router(),
        }
    }

    /// Run `f` on a blocking thread, one call at a time; a panic becomes a
    /// tool error and the server goes on.
    async fn call<F>(&self, f: F) -> Result<CallToolResult, McpError>
    where
        F: FnOnce(&Context) -> Result<Answer, ToolError> + Send + 'static,
    {
        let ctx = self.ctx.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _one_at_a_time = ctx.lock.lock().unwrap_or_else(|p| p.into_inner());
            f(&ctx)
        })
        .await;
        Ok(match joined {
            Ok(Ok(answer)) => finish(answer),
            Ok(Err(e)) => failure(e),
            Err(e) => failure(ToolError::Internal(e.to_string())),
        })
    }
}

#[tool_router]
impl Server {
    /// `list_logins`.
    #[tool(
        description = "List the captured OAuth/OIDC logins, newest activity first. Each login has its id, outcome (failed, recovered = failed then succeeded, succeeded), a headline naming what failed and the cause the analysis found, the main finding (annotation code, e.g. diagnosis.redirect_uri_mismatch), its first and last time, hosts and number of exchanges. Filter by outcome, host, annotation code prefix or time; page with `cursor` (pass back `next_cursor`). Secrets are always redacted. Use show_login with a login id for the evidence.",
        annotations(title = "List logins", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_logins(
        &self,
        params: Parameters<logins::ListLoginsArgs>,
    ) -> Result<CallToolResult, McpError> {
        let args = params.0;
        self.call(move |ctx| logins::list_logins(ctx, &args)).await
    }

    /// `show_login`.
    #[tool(
        description = "Show one login: its outcome and headline, the diagnosis with its evidence (which exchanges and fields, expected vs actual, the redirect_uri diff with a caret under the first differing character, what to do), every other finding, the exchanges in order (id, time, kind, request, status, flavour, annotation codes) and the sequence as a Mermaid sequenceDiagram. `login` is a login id from list_logins or the id of any exchange in it (a unique prefix or suffix works). Secrets are always redacted.",
        annotations(title = "Show a login", read_only_hint = true, open_world_hint = false)
    )]
    async fn show_login(
        &self,
        params: Parameters<logins::ShowLoginArgs>,
    ) -> Result<CallToolResult, McpError> {
        let args = params.0;
        self.call(move |ctx| logins::show_login(ctx, &args)).await
    }

    /// `show_exchange`.
    #[tool(
        description = "Show one captured exchange in full: the request (method, URL, headers, body), the response (status, headers, body), the token-request flavour, every annotation with detail and evidence, and the JWTs it carries decoded (header and claims; signatures are never shown). `id` is an exchange id (a unique prefix or suffix works). Secrets (codes, tokens, client secrets, assertions, cookies, Authorization) are replaced by stable «redacted:…» fingerprints: the same value has the same fingerprint in every answer of this session.",
        annotations(
            title = "Show an exchange",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn show_exchange(
        &self,
        params: Parameters<exchange::ShowExchangeArgs>,
    ) -> Result<CallToolResult, McpError> {
        let args = params.0;
        self.call(move |ctx| exchange::show_exchange(ctx, &args))
            .await
    }

    /// `explain_code`.
    #[tool(
        description = "Explain an OAuth / OIDC error code or an oauthscope annotation code from the offline catalog: meaning, usual causes, the fix and the specification or provider page to read (invalid_grant, redirect_uri_mismatch, AADSTS50011, IP_RESTRICTED, diagnosis.code_expired, ...). Unknown codes get near-miss suggestions.",
        annotations(
            title = "Explain an error code",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn explain_code(
        &self,
        params: Parameters<offline::ExplainCodeArgs>,
    ) -> Result<CallToolResult, McpError> {
        let args = params.0;
        self.call(move |_| offline::explain_code(&args)).await
    }

    /// `analyze_har`.
    #[tool(
        description = "Analyse a HAR file (Chrome/Firefox devtools export, mitmproxy, Charles, an oauthscope export) on this machine with the same rules as live captures. Without `login`: the logins found, newest first, paged like list_logins. With `login` (an id from that list): that login in full, as show_login shows it. `path` is a local file path. Secrets are always redacted.",
        annotations(
            title = "Analyse a HAR file",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn analyze_har(
        &self,
        params: Parameters<offline::AnalyzeHarArgs>,
    ) -> Result<CallToolResult, McpError> {
        let args = params.0;
        self.call(move |ctx| offline::analyze_har(ctx, &args)).await
    }

    /// `export_report`.
    #[tool(
        description = "The Markdown bug report of one login, as `oauthscope export --format md` writes it: outcome title, Mermaid sequence diagram, table of exchanges, every finding with explanation, fix and evidence, the token-request flavour, and the requests and responses. Redacted (always): ready to paste into an issue. `login` is a login id from list_logins or the id of any exchange in it.",
        annotations(
            title = "Export a bug report",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn export_report(
        &self,
        params: Parameters<logins::ExportReportArgs>,
    ) -> Result<CallToolResult, McpError> {
        let args = params.0;
        self.call(move |ctx| logins::export_report(ctx, &args))
            .await
    }

    /// `diff_logins`.
    #[tool(
        description = "Compare two logins of the capture (e.g. the one that fails and one that works) step by step, as `oauthscope diff` does: aligned by protocol step (discovery, authorize, provider pages, callback, token, refresh, userinfo), differences named in OAuth terms (parameters, redirect_uri with a caret, client authentication, headers that change behaviour, cookies, statuses and provider errors, ID-token claims, ages), volatile values (codes, tokens, state) compared by shape, most likely cause first. `a` and `b` are login ids from list_logins or ids of any exchange in them. Redacted (always).",
        annotations(
            title = "Compare two logins",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn diff_logins(
        &self,
        params: Parameters<logins::DiffLoginsArgs>,
    ) -> Result<CallToolResult, McpError> {
        let args = params.0;
        self.call(move |ctx| logins::diff_logins(ctx, &args)).await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("oauthscope", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "oauthscope records OAuth 2.0 / OpenID Connect logins through its intercepting proxy and explains why they fail. \
                 Start with list_logins (outcome=failed for the broken ones), then show_login for the diagnosis and its evidence, \
                 show_exchange for one request/response, explain_code for an error code, export_report for a Markdown bug report, \
                 diff_logins to compare a failing login with one that works, \
                 analyze_har for a HAR file. Everything is read-only and redacted: secrets appear as «redacted:…» fingerprints, \
                 stable within this session.",
            )
    }
}

/// Serve the tools on stdin/stdout until the client closes the connection.
pub async fn serve_stdio(home: Home, opts: AnalyzeOptions) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let service = Server::new(home, opts)
        .serve(rmcp::transport::stdio())
        .await
        .context("starting the MCP session on stdin/stdout")?;
    service
        .waiting()
        .await
        .context("serving MCP on stdin/stdout")?;
    Ok(())
}

//! Command-line definitions (clap). Doc comments here are the `--help` text;
//! each subcommand's behaviour lives in its own file.

pub mod analyze;
pub mod browser;
pub mod ca;
pub mod demo;
pub mod diff;
pub mod env;
pub mod explain;
pub mod export;
pub mod flows;
pub mod jar;
pub mod mcp;
pub mod mock;
pub mod probe;
pub mod replay;
pub mod run;
pub mod store;
pub mod ui;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// oauthscope — see, explain and share what happens in an OAuth login.
///
/// An intercepting HTTPS proxy with its own local CA. Point an app at it,
/// trust the CA, and every authorize redirect, callback and token exchange is
/// recorded and annotated: which client-authentication flavour was used,
/// where a redirect_uri differs (to the character), and what an error means.
#[derive(Debug, Parser)]
#[command(name = "oauthscope", version, propagate_version = true)]
#[command(
    after_help = "Start here:\n  oauthscope run                 # proxy on 127.0.0.1:8080, CA created on first use\n  eval \"$(oauthscope env)\"        # point this shell at it\n  oauthscope flows list          # what was captured"
)]
pub struct Cli {
    /// Data directory (CA and capture store).
    #[arg(long, global = true, env = "OAUTHSCOPE_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// More log output (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the intercepting proxy and print each OAuth exchange as it happens.
    Run(run::RunArgs),
    /// Create, locate or export the local certificate authority.
    #[command(subcommand)]
    Ca(ca::CaCommand),
    /// Print shell variables that point programs at the proxy and make them trust its CA.
    Env(env::EnvArgs),
    /// Run one command with the proxy and CA-trust variables set.
    Exec(env::ExecArgs),
    /// List, show or clear captured exchanges (grouped by login; `logins` is the same command).
    #[command(subcommand, visible_alias = "logins")]
    Flows(flows::FlowsCommand),
    /// Analyse a HAR file (browser devtools, mitmproxy, ...) with the same rules as live captures.
    Analyze(analyze::AnalyzeArgs),
    /// Export captured exchanges as HAR, JSON or a Markdown bug report; secrets redacted.
    Export(export::ExportArgs),
    /// Explain an OAuth error code from the offline catalog.
    Explain(explain::ExplainArgs),
    /// Run a local OAuth 2.0 / OpenID Connect provider with switchable real-world quirks.
    Mock(mock::MockArgs),
    /// Find which token-exchange flavours a token endpoint accepts.
    Probe(probe::ProbeArgs),
    /// Start a mock provider, the proxy and a scripted login in one process and show the result.
    Demo(demo::DemoArgs),
    /// Open the web UI: the running proxy's, the stored capture's, or a HAR file's.
    Ui(ui::UiArgs),
    /// Send a captured token request again (as captured, in another flavour, or changed) and record it.
    Replay(replay::ReplayArgs),
    /// Start a browser with a throw-away profile that uses the proxy and trusts the CA (nothing system-wide).
    Browser(browser::BrowserArgs),
    /// Compare two logins (HAR files or stored logins) step by step: what differs, most likely cause first.
    Diff(diff::DiffArgs),
    /// Check a damaged capture store, or write what it still holds into a new one.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Serve the capture and its analysis to AI assistants over MCP (stdio), redacted and read-only.
    Mcp(mcp::McpArgs),
}

/// Options shared by commands that print findings.
#[derive(Debug, Clone, Args)]
pub struct FailOn {
    /// Exit with status 1 when an annotation of this severity or worse is present.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailLevel>,
}

/// Severity threshold for `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warning,
}

/// Global settings every subcommand receives.
#[derive(Debug, Clone)]
pub struct Globals {
    /// Resolved data directory.
    pub home: crate::home::Home,
    /// Whether to colour stdout.
    pub color: bool,
}

/// What a subcommand asks `main` to exit with.
pub type ExitCode = std::process::ExitCode;

/// Run the parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            use std::io::IsTerminal;
            std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
        }
    };
    let g = Globals {
        home: crate::home::Home::resolve(cli.home.as_deref()),
        color,
    };
    match cli.command {
        Command::Run(a) => run::run(a, &g),
        Command::Ca(c) => ca::run(c, &g),
        Command::Env(a) => env::run_env(a, &g),
        Command::Exec(a) => env::run_exec(a, &g),
        Command::Flows(c) => flows::run(c, &g),
        Command::Analyze(a) => analyze::run(a, &g),
        Command::Export(a) => export::run(a, &g),
        Command::Explain(a) => explain::run(a, &g),
        Command::Mock(a) => mock::run(a, &g),
        Command::Probe(a) => probe::run(a, &g),
        Command::Demo(a) => demo::run(a, &g),
        Command::Ui(a) => ui::run(a, &g),
        Command::Replay(a) => replay::run(a, &g),
        Command::Browser(a) => browser::run(a, &g),
        Command::Diff(a) => diff::run(a, &g),
        Command::Store(c) => store::run(c, &g),
        Command::Mcp(a) => mcp::run(a, &g),
    }
}

/// Parse a point in time given on the command line: RFC 3339
/// (`2026-11-01T00:00:00Z`) or a duration ago (`30s`, `15m`, `2h`, `7d`).
pub fn parse_when(s: &str) -> anyhow::Result<time::OffsetDateTime> {
    use anyhow::Context as _;
    let s = s.trim();
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok(t);
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().with_context(|| {
        format!("{s:?} is not a time: use RFC 3339 (2026-11-01T00:00:00Z) or a duration ago (30m, 2h, 7d)")
    })?;
    let d = match unit {
        "s" => time::Duration::seconds(n),
        "m" => time::Duration::minutes(n),
        "h" => time::Duration::hours(n),
        "d" => time::Duration::days(n),
        "w" => time::Duration::weeks(n),
        _ => anyhow::bail!("{s:?}: unknown unit {unit:?} (use s, m, h, d or w)"),
    };
    Ok(time::OffsetDateTime::now_utc() - d)
}

/// Exit status for `--fail-on`: 1 when an annotation of that severity or worse
/// is present, 0 otherwise.
pub fn fail_on_exit(records: &[crate::record::Record], fail_on: &FailOn) -> ExitCode {
    exit_for(crate::analyze::worst_severity(records), fail_on)
}

/// The exit code for `--fail-on` given the worst severity seen (for views
/// that stream records rather than hold them).
pub fn exit_for(worst: Option<crate::record::Severity>, fail_on: &FailOn) -> ExitCode {
    use crate::record::Severity;
    let threshold = match fail_on.fail_on {
        None => return ExitCode::SUCCESS,
        Some(FailLevel::Error) => Severity::Error,
        Some(FailLevel::Warning) => Severity::Warning,
    };
    match worst {
        Some(s) if s >= threshold => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_rfc3339_or_durations_ago() {
        let t = parse_when("2026-11-01T00:00:00Z").unwrap();
        assert_eq!(t.year(), 2026);
        let ago = parse_when("2h").unwrap();
        let diff = time::OffsetDateTime::now_utc() - ago;
        assert!(diff >= time::Duration::hours(2) && diff < time::Duration::hours(3));
        assert!(parse_when("yesterday").is_err());
        assert!(parse_when("3y").is_err());
    }
}

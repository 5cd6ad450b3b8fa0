//! `oauthscope run`: the proxy with its live log.

use super::{ExitCode, Globals};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Arguments of `oauthscope run`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope run\n  oauthscope run --intercept login.microsoftonline.com,*.okta.com\n  oauthscope run --upstream-ca ./idp-ca.pem --listen 127.0.0.1:9090"
)]
pub struct RunArgs {
    /// Address to listen on. Only loopback unless --allow-remote is given.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Allow listening on a non-loopback address (anyone who can reach it can use your proxy).
    #[arg(long)]
    pub allow_remote: bool,
    /// Decrypt only these hosts (comma-separated, wildcards like *.okta.com); tunnel the rest untouched.
    #[arg(long, value_delimiter = ',', value_name = "HOST")]
    pub intercept: Vec<String>,
    /// Also trust this CA (PEM) for upstream connections. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub upstream_ca: Vec<PathBuf>,
    /// Largest body kept per captured request or response; larger ones are stored truncated (and always forwarded whole).
    #[arg(long, default_value = "1MiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_body: u64,
    /// A redirect URI registered with the provider; checked against what the app sends. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
}

/// Parse sizes like `1048576`, `512KiB`, `1MiB`, `2MB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (try 1048576, 512KiB or 1MiB)"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB or GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Run the proxy until Ctrl-C / SIGTERM.
pub fn run(_args: RunArgs, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`oauthscope run` is not implemented yet")
}

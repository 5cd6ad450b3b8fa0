//! `oauthscope probe`: which token-exchange flavours does an endpoint accept?

use super::{ExitCode, Globals};
use crate::probe::{self, Grant, ProbeConfig};
use anyhow::Context as _;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Arguments of `oauthscope probe`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Tries the six client-authentication flavours in the order 1, 3, 5, 2, 4, 6 (form before JSON,\nBasic before body credentials) and shows what the endpoint said to each.\n\nExamples:\n  oauthscope probe --token-url http://127.0.0.1:9443/token --client-id demo-client --client-secret demo-secret\n  oauthscope probe --token-url https://login.example.com/oauth/token --client-id ID --grant refresh_token --refresh-token RT --proxy http://127.0.0.1:8080\n\nExit status: 0 when at least one flavour was accepted, 1 when none was."
)]
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
    /// Grant to send with each flavour.
    #[arg(long, value_enum, default_value_t = GrantArg::ClientCredentials, value_name = "GRANT")]
    pub grant: GrantArg,
    /// Refresh token (for --grant refresh_token).
    #[arg(long, value_name = "TOKEN")]
    pub refresh_token: Option<String>,
    /// Authorization code (for --grant authorization_code; single-use).
    #[arg(long, value_name = "CODE")]
    pub code: Option<String>,
    /// redirect_uri sent with the code, exactly as at authorize.
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
    /// PKCE code_verifier sent with the code.
    #[arg(long, value_name = "VERIFIER")]
    pub code_verifier: Option<String>,
    /// scope to request.
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
    /// Send the requests through this proxy (e.g. a running `oauthscope run`), so they are captured.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Trust this CA certificate (PEM) too. With --proxy the oauthscope CA is trusted as well.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--grant` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GrantArg {
    /// Repeatable; the default.
    #[value(name = "client_credentials")]
    ClientCredentials,
    /// Repeatable unless the provider rotates refresh tokens.
    #[value(name = "refresh_token")]
    RefreshToken,
    /// Single-use: stops at the first success.
    #[value(name = "authorization_code")]
    AuthorizationCode,
}

/// PEM certificates of the oauthscope CA in the data directory, if any.
pub fn home_ca_pems(g: &Globals) -> Vec<Vec<u8>> {
    let Ok(dir) = std::fs::read_dir(g.home.ca_dir()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let p = e.path();
        if !matches!(p.extension().and_then(|x| x.to_str()), Some("pem" | "crt")) {
            continue;
        }
        if let Ok(bytes) = std::fs::read(&p) {
            let text = String::from_utf8_lossy(&bytes);
            if text.contains("BEGIN CERTIFICATE") && !text.contains("PRIVATE KEY") {
                out.push(bytes);
            }
        }
    }
    out
}

/// Probe the endpoint.
pub fn run(args: ProbeArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let mut cfg = ProbeConfig::new(&args.token_url, &args.client_id, &args.client_secret);
    cfg.grant = match args.grant {
        GrantArg::ClientCredentials => Grant::ClientCredentials,
        GrantArg::RefreshToken => Grant::RefreshToken,
        GrantArg::AuthorizationCode => Grant::AuthorizationCode,
    };
    cfg.refresh_token = args.refresh_token;
    cfg.code = args.code;
    cfg.redirect_uri = args.redirect_uri;
    cfg.code_verifier = args.code_verifier;
    cfg.scope = args.scope;
    cfg.proxy = args.proxy;
    for p in &args.ca_cert {
        cfg.ca_certs_pem
            .push(std::fs::read(p).with_context(|| format!("reading --ca-cert {}", p.display()))?);
    }
    if cfg.proxy.is_some() {
        cfg.ca_certs_pem.extend(home_ca_pems(g));
    }
    if !args.json {
        for w in probe::warnings(cfg.grant) {
            eprintln!("warning: {w}");
        }
    }
    let rt = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let report = rt.block_on(probe::probe(&cfg))?;
    if args.json {
        println!(
            "{}",
            crate::view::json_safe(serde_json::to_string_pretty(&report)?)
        );
    } else {
        let mut table = probe::render_table(&report);
        // The warnings already went to stderr before the requests.
        table = table
            .lines()
            .filter(|l| !l.starts_with("warning: "))
            .collect::<Vec<_>>()
            .join("\n");
        println!("{table}");
    }
    Ok(if report.accepted.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

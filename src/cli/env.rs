//! `oauthscope env` and `oauthscope exec`: point programs at the proxy and
//! make them trust its CA.

use super::{ExitCode, Globals};
use crate::cli::ca::load_ca;
use anyhow::Context as _;
use clap::{Args, ValueEnum};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Shell syntax for `env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// POSIX sh / bash / zsh (`export X=...`).
    Sh,
    /// fish (`set -gx X ...`).
    Fish,
    /// PowerShell (`$env:X = ...`).
    Powershell,
}

/// Arguments of `oauthscope env`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  eval \"$(oauthscope env)\"\n  oauthscope env --shell fish | source\n  oauthscope env --shell powershell | Invoke-Expression"
)]
pub struct EnvArgs {
    /// Shell syntax to print.
    #[arg(long, value_enum, default_value_t = Shell::Sh)]
    pub shell: Shell,
    /// The proxy address the variables point at.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub proxy: String,
}

/// Arguments of `oauthscope exec`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope exec -- curl https://login.example.com/.well-known/openid-configuration\n  oauthscope exec -- python app.py"
)]
pub struct ExecArgs {
    /// The proxy address the command is pointed at.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub proxy: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// Places where distributions keep the system's root bundle.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/etc/openssl/cert.pem",
];

/// Write `HOME/ca/bundle.pem`: the system roots plus our CA, so a program
/// pointed at it still verifies hosts the proxy only tunnels.
pub fn write_bundle(g: &Globals, ca_pem: &str) -> anyhow::Result<PathBuf> {
    let mut bundle = String::new();
    let system = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .into_iter()
        .chain(SYSTEM_BUNDLES.iter().map(PathBuf::from))
        .find(|p| p.is_file());
    match &system {
        Some(p) => bundle.push_str(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        ),
        None => {
            // No bundle file: export the roots rustls-native-certs finds.
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                bundle.push_str(&pem_of(&cert));
            }
        }
    }
    if !bundle.ends_with('\n') && !bundle.is_empty() {
        bundle.push('\n');
    }
    bundle.push_str("# oauthscope local CA\n");
    bundle.push_str(ca_pem);
    let path = g.home.ca_dir().join("bundle.pem");
    std::fs::write(&path, bundle).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    s.push_str("-----END CERTIFICATE-----\n");
    s
}

/// The variables, in order. NO_PROXY is left empty on purpose: local identity
/// providers on 127.0.0.1/localhost are a main use, and excluding loopback
/// would hide them from the proxy.
pub fn variables(proxy: &str, bundle: &Path, ca: &Path) -> Vec<(&'static str, String)> {
    let url = format!("http://{proxy}");
    let b = bundle.display().to_string();
    vec![
        ("HTTP_PROXY", url.clone()),
        ("HTTPS_PROXY", url.clone()),
        ("http_proxy", url.clone()),
        ("https_proxy", url),
        ("NO_PROXY", String::new()),
        ("no_proxy", String::new()),
        ("SSL_CERT_FILE", b.clone()),
        ("REQUESTS_CA_BUNDLE", b.clone()),
        ("CURL_CA_BUNDLE", b.clone()),
        ("NODE_EXTRA_CA_CERTS", ca.display().to_string()),
        ("GIT_SSL_CAINFO", b.clone()),
        ("CARGO_HTTP_CAINFO", b),
    ]
}

fn quote_sh(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

/// Print the variables.
pub fn run_env(args: EnvArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let ca = load_ca(g)?;
    let bundle = write_bundle(g, ca.cert_pem())?;
    let vars = variables(&args.proxy, &bundle, ca.cert_path());
    match args.shell {
        Shell::Sh => {
            println!("# eval \"$(oauthscope env)\" — send this shell's HTTP(S) through oauthscope")
        }
        Shell::Fish => println!("# oauthscope env --shell fish | source"),
        Shell::Powershell => println!("# oauthscope env --shell powershell | Invoke-Expression"),
    }
    for (k, v) in vars {
        match args.shell {
            Shell::Sh => println!("export {k}={}", quote_sh(&v)),
            Shell::Fish => println!("set -gx {k} {}", quote_sh(&v)),
            Shell::Powershell => println!("$env:{k} = \"{}\"", v.replace('"', "`\"")),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run one command with the variables set, exiting with its status.
pub fn run_exec(args: ExecArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let ca = load_ca(g)?;
    let bundle = write_bundle(g, ca.cert_pem())?;
    let (prog, rest) = args
        .command
        .split_first()
        .context("no command given (usage: oauthscope exec -- CMD ARGS...)")?;
    let mut cmd = std::process::Command::new(prog);
    cmd.args(rest);
    for (k, v) in variables(&args.proxy, &bundle, ca.cert_path()) {
        cmd.env(k, v);
    }
    let status = cmd
        .status()
        .with_context(|| format!("running {}", prog.to_string_lossy()))?;
    Ok(match status.code() {
        Some(c) => ExitCode::from(c.clamp(0, 255) as u8),
        None => ExitCode::from(1),
    })
}

//! `oauthscope ca init|path|export`.

use super::{ExitCode, Globals};
use crate::ca::{trust_instructions, LocalCa};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::io::Write as _;
use std::path::PathBuf;

/// `oauthscope ca ...`
#[derive(Debug, Clone, Subcommand)]
pub enum CaCommand {
    /// Create the CA if needed and print how to trust it (OS stores, browsers, runtimes).
    Init,
    /// Print the path of the CA certificate (PEM), creating the CA if needed.
    Path,
    /// Write the CA certificate (PEM, or DER with --der) to stdout or a file. Never the key.
    Export(ExportCaArgs),
}

/// Arguments of `oauthscope ca export`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope ca export > oauthscope-ca.pem\n  oauthscope ca export --der -o oauthscope-ca.der"
)]
pub struct ExportCaArgs {
    /// Write DER instead of PEM.
    #[arg(long)]
    pub der: bool,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Load or create the CA, saying so on stderr when it is new.
pub fn load_ca(g: &Globals) -> anyhow::Result<LocalCa> {
    let (ca, created) = LocalCa::load_or_create(&g.home)
        .with_context(|| format!("loading the CA in {}", g.home.ca_dir().display()))?;
    if created {
        eprintln!(
            "created a new oauthscope CA: {} (key {}, mode 0600)",
            ca.cert_path().display(),
            LocalCa::key_path_in(&g.home).display()
        );
    }
    Ok(ca)
}

/// Run a `ca` subcommand.
pub fn run(cmd: CaCommand, g: &Globals) -> anyhow::Result<ExitCode> {
    let ca = load_ca(g)?;
    match cmd {
        CaCommand::Init => {
            println!("CA certificate: {}", ca.cert_path().display());
            println!();
            print!("{}", trust_instructions(ca.cert_path()));
        }
        CaCommand::Path => println!("{}", ca.cert_path().display()),
        CaCommand::Export(a) => {
            let bytes: Vec<u8> = if a.der {
                ca.cert_der().to_vec()
            } else {
                ca.cert_pem().as_bytes().to_vec()
            };
            match a.output {
                Some(path) => {
                    std::fs::write(&path, &bytes)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote the CA certificate to {}", path.display());
                }
                None => {
                    if a.der {
                        use std::io::IsTerminal;
                        anyhow::ensure!(
                            !std::io::stdout().is_terminal(),
                            "DER is binary: redirect it to a file or use -o FILE"
                        );
                    }
                    std::io::stdout().write_all(&bytes)?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

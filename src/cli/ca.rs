//! `oauthscope ca init|path|export`.

use super::{ExitCode, Globals};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `oauthscope ca ...`
#[derive(Debug, Clone, Subcommand)]
pub enum CaCommand {
    /// Create the CA if needed and print how to trust it (OS stores, browsers, runtimes).
    Init,
    /// Print the path of the CA certificate (PEM), creating the CA if needed.
    Path,
    /// Write the CA certificate (PEM, or DER with --der) to stdout or a file.
    Export(ExportCaArgs),
}

/// Arguments of `oauthscope ca export`.
#[derive(Debug, Clone, Args)]
pub struct ExportCaArgs {
    /// Write DER instead of PEM.
    #[arg(long)]
    pub der: bool,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Run a `ca` subcommand.
pub fn run(_cmd: CaCommand, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`oauthscope ca` is not implemented yet")
}

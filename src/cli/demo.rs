//! `oauthscope demo`: mock + proxy + scripted login in one process.

use super::{ExitCode, Globals};
use clap::Args;

/// Arguments of `oauthscope demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {}

/// Run the demo.
pub fn run(_args: DemoArgs, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`oauthscope demo` is not implemented yet")
}

//! `oauthscope env` and `oauthscope exec`.

use super::{ExitCode, Globals};
use clap::{Args, ValueEnum};
use std::ffi::OsString;

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
    after_help = "Example:\n  eval \"$(oauthscope env)\"\n  oauthscope env --shell fish | source"
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
    after_help = "Example:\n  oauthscope exec -- curl https://login.example.com/.well-known/openid-configuration"
)]
pub struct ExecArgs {
    /// The proxy address the command is pointed at.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub proxy: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// Print the variables.
pub fn run_env(_args: EnvArgs, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`oauthscope env` is not implemented yet")
}

/// Run one command with the variables set.
pub fn run_exec(_args: ExecArgs, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`oauthscope exec` is not implemented yet")
}

//! The `oauthscope` binary: parse the command line, set up logging, dispatch.

use clap::Parser;
use oauthscope::cli::{dispatch, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    quiet_on_closed_stdout();
    let default = match cli.verbose {
        // The platform verifier logs every untrusted certificate as an
        // error; the commands that meet one say so themselves, with the fix.
        // sled's warnings about a damaged store concern the private copy
        // read-only commands open; the commands say what is damaged.
        0 => "warn,rustls_platform_verifier=off,sled=error",
        1 => "oauthscope=info,warn",
        2 => "oauthscope=debug,info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::from(2)
        }
    }
}

/// `oauthscope flows show ID | head`: when the reader stops reading, the
/// next `print!` fails with a broken pipe and panics. That is how output
/// ends, not an error: exit quietly with status 0, as ripgrep does (the
/// commands that stream, `flows list` and `export`, handle it themselves).
/// Every other panic keeps the default report.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// The error and its causes on one line, skipping a cause whose text the
/// message already holds (many library errors repeat their source).
fn error_chain(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

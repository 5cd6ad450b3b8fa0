//! `oauthscope store check|repair`: what a store's files still hold, and a
//! repaired copy (never in place).

use super::{ExitCode, Globals};
use crate::store::check;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `oauthscope store ...`
#[derive(Debug, Clone, Subcommand)]
pub enum StoreCommand {
    /// Report what is damaged in the store and how many records are readable (changes nothing).
    Check(CheckArgs),
    /// Write every recoverable record into a new store in DIR (the damaged store is only read).
    Repair(RepairArgs),
}

/// Arguments of `store check`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope store check\n  oauthscope store check --json\n\nExit status: 0 intact, 1 damaged, 2 unreadable or in use."
)]
pub struct CheckArgs {
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `store repair`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope store repair --to ~/oauthscope-repaired\n  oauthscope --home ~/oauthscope-repaired flows list\n\nThe repaired store is a new data directory's store (DIR/store): use it with --home DIR, or\nmove it in place of the damaged one yourself once you have checked it."
)]
pub struct RepairArgs {
    /// A new data directory for the repaired store (DIR/store); it must not hold a store yet.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
}

/// Run a `store` subcommand.
pub fn run(cmd: StoreCommand, g: &Globals) -> anyhow::Result<ExitCode> {
    let dir = g.home.store_dir();
    match cmd {
        StoreCommand::Check(a) => {
            let (report, _) = check::check(&dir)
                .with_context(|| format!("checking the capture store in {}", dir.display()))?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.describe());
            }
            Ok(if report.is_intact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        StoreCommand::Repair(a) => {
            let to_home = crate::home::Home::new(&a.to);
            to_home
                .create_root()
                .with_context(|| format!("creating {}", a.to.display()))?;
            anyhow::ensure!(
                std::fs::canonicalize(&dir).ok() != std::fs::canonicalize(to_home.store_dir()).ok(),
                "repair writes a new store: give another directory than the damaged one"
            );
            let (report, written) = check::repair(&dir, &to_home.store_dir())
                .with_context(|| format!("repairing {} into {}", dir.display(), a.to.display()))?;
            eprint!("{}", report.describe());
            if report.scanned.is_some() {
                eprintln!("note: records found by scanning the raw files may include some removed earlier with `flows clear`");
            }
            eprintln!(
                "wrote {written} record{} to {}; read them with `oauthscope --home {} flows list`",
                if written == 1 { "" } else { "s" },
                to_home.store_dir().display(),
                a.to.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

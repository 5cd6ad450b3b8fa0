//! `oauthscope ca init|path|export|rotate|doctor`.

use super::{ExitCode, Globals};
use crate::ca::{trust_instructions, LocalCa, NameScope};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::io::Write as _;
use std::path::PathBuf;

/// `oauthscope ca ...`
#[derive(Debug, Clone, Subcommand)]
pub enum CaCommand {
    /// Create the CA if needed and print how to trust it (OS stores, browsers, runtimes).
    Init(ScopeArgs),
    /// Print the path of the CA certificate (PEM), creating the CA if needed.
    Path,
    /// Write the CA certificate (PEM, or DER with --der) to stdout or a file. Never the key.
    Export(ExportCaArgs),
    /// Replace the CA with a new key and certificate (the old key is deleted), and print how to trust the new one.
    Rotate(ScopeArgs),
    /// Check whether curl, Python, Node and the system store trust the CA in this environment right now.
    #[command(
        after_help = "Each client really connects to a throw-away TLS server on 127.0.0.1 that presents a\ncertificate issued by this CA.\n\nExample:\n  oauthscope ca doctor\n  eval \"$(oauthscope env)\" && oauthscope ca doctor"
    )]
    Doctor,
}

/// Name constraints for `ca init` / `ca rotate`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "With --name-constraint the CA certificate carries X.509 Name Constraints: clients accept its\ncertificates only for those names, so trusting it cannot expose any other site (a bank, say).\nThe proxy then decrypts only hosts inside them and tunnels the rest untouched.\n\nExamples:\n  oauthscope ca init\n  oauthscope ca init --name-constraint example.com,okta.com\n  oauthscope ca rotate --name-constraint login.microsoftonline.com,127.0.0.1"
)]
pub struct ScopeArgs {
    /// Only these DNS names (and names under them), IP addresses or ranges (10.0.0.0/8); comma-separated. Rotate keeps the old CA's when not given.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub name_constraint: Vec<String>,
}

impl ScopeArgs {
    fn scope(&self) -> anyhow::Result<NameScope> {
        Ok(NameScope::parse(&self.name_constraint)?)
    }
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

fn print_scope(ca: &LocalCa) {
    if ca.scope().is_unconstrained() {
        println!("Name constraints: none (the CA can issue for any host; `ca rotate --name-constraint DOMAIN,...` limits it)");
    } else {
        println!(
            "Name constraints: {} (clients accept its certificates for these only; other hosts are tunnelled)",
            ca.scope().describe()
        );
    }
}

/// Tell the user when a running proxy still uses the replaced CA.
fn warn_if_running(g: &Globals) {
    if let Ok(Some(state)) = crate::api::ProxyState::read(&g.home) {
        eprintln!(
            "note: `oauthscope run` (pid {}, {}) still presents the old CA: restart it to use the new one",
            state.pid, state.proxy
        );
    }
}

/// Run a `ca` subcommand.
pub fn run(cmd: CaCommand, g: &Globals) -> anyhow::Result<ExitCode> {
    let ca = match &cmd {
        CaCommand::Init(a) => {
            let scope = a.scope()?;
            let (ca, created) = LocalCa::init(&g.home, &scope)
                .with_context(|| format!("loading the CA in {}", g.home.ca_dir().display()))?;
            if created {
                eprintln!(
                    "created a new oauthscope CA: {} (key {}, mode 0600)",
                    ca.cert_path().display(),
                    LocalCa::key_path_in(&g.home).display()
                );
            }
            ca
        }
        CaCommand::Rotate(a) => {
            let scope = a.scope()?;
            let given = (!a.name_constraint.is_empty()).then_some(&scope);
            let (ca, retired) = LocalCa::rotate(&g.home, given)
                .with_context(|| format!("rotating the CA in {}", g.home.ca_dir().display()))?;
            match &retired {
                Some(old) => eprintln!(
                    "replaced the CA: the old key is deleted and its certificate kept as {} (remove it from every store that trusts it)",
                    old.display()
                ),
                None => eprintln!("there was no CA; created one"),
            }
            warn_if_running(g);
            ca
        }
        _ => load_ca(g)?,
    };
    match cmd {
        CaCommand::Init(_) | CaCommand::Rotate(_) => {
            println!("CA certificate: {}", ca.cert_path().display());
            print_scope(&ca);
            println!();
            print!("{}", trust_instructions(ca.cert_path()));
            println!();
            println!("{}", crate::cli::env::RUNTIMES_HELP);
        }
        CaCommand::Doctor => return doctor(&ca),
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

/// `ca doctor`: one line per client stack.
fn doctor(ca: &LocalCa) -> anyhow::Result<ExitCode> {
    use crate::doctor::Verdict;
    println!("CA certificate: {}", ca.cert_path().display());
    print_scope(ca);
    println!(
        "Test certificate for {} on 127.0.0.1\n",
        crate::doctor::test_name(ca)
    );
    let checks = crate::doctor::run_checks(ca)?;
    let mut trusted = 0;
    for c in &checks {
        let verdict = match &c.verdict {
            Verdict::Trusted => {
                trusted += 1;
                "trusted".to_string()
            }
            Verdict::NotTrusted(why) => format!("NOT trusted: {why}"),
            Verdict::Missing(what) => format!("not checked: {what}"),
            Verdict::Failed(why) => format!("check failed: {why}"),
        };
        println!(
            "  {:<16} {verdict}\n  {:<16} (roots from {})",
            c.client, "", c.source
        );
    }
    println!(
        "\n{trusted} of {} trust it. For programs started from this shell: eval \"$(oauthscope env)\"; system-wide: oauthscope ca init prints the steps.",
        checks.len()
    );
    Ok(ExitCode::SUCCESS)
}

//! `oauthscope export`.

use super::{parse_when, ExitCode, Globals};
use crate::access::Records;
use crate::analyze::AnalyzeOptions;
use crate::har::export::{self as har_export, HarOptions};
use crate::record::Record;
use crate::redact::Redactor;
use crate::report::{self, ReportOptions};
use crate::rolling::Rolling;
use crate::store::Query;
use anyhow::Context as _;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// HAR 1.2 (opens in browser devtools, HTTP Toolkit, mitmproxy).
    Har,
    /// The records as `flows show --json` prints them.
    Json,
    /// A Markdown bug report with a sequence diagram.
    Md,
}

/// Arguments of `oauthscope export`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Secrets (codes, tokens, client secrets, verifiers, passwords, cookies, JWT signatures) are\nreplaced by fingerprints like «redacted:3f9a1c»: the same value has the same fingerprint within\none export, and a new random salt per export means two exports cannot be joined.\n\nExamples:\n  oauthscope export --format md -o report.md\n  oauthscope export --flow 18a3f2c4d5e6f708 --format har -o login.har\n  oauthscope export --since 30m --format json\n  oauthscope export --all --format har --no-redact -o private.har"
)]
pub struct ExportArgs {
    /// Only this flow.
    #[arg(long, value_name = "ID", conflicts_with_all = ["since", "all"])]
    pub flow: Option<String>,
    /// Only exchanges captured since this time (RFC 3339, or a duration ago like 2h).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Everything captured (the default when no filter is given).
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Har)]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep secrets (tokens, codes, client secrets, cookies) in the export. Dangerous to share.
    #[arg(long)]
    pub no_redact: bool,
    /// A redirect URI registered with the provider, to check against. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
}

/// Render analysed records in a format, redacting them first when a
/// redactor is given. The records must come straight from
/// [`crate::analyze::analyze`] over the raw capture, so annotations were
/// computed from the real values before the secrets were masked.
pub fn render(records: &[Record], format: Format, redactor: Option<&mut Redactor>) -> String {
    let redacted = redactor.is_some();
    let records = match redactor {
        Some(r) => r.redact_records(records),
        None => records.to_vec(),
    };
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&records).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Har => {
            let mut s = har_export::to_har_string(&records, &HarOptions { redacted });
            s.push('\n');
            s
        }
        Format::Md => report::markdown(&records, &ReportOptions { redacted }),
    }
}

/// Keep the records the filters select. `--flow` matches a flow id (or a
/// unique suffix of one, as `flows list` does) or the id of any record in it.
pub fn select(
    analysed: Vec<Record>,
    flow: Option<&str>,
    since: Option<time::OffsetDateTime>,
) -> anyhow::Result<Vec<Record>> {
    let flow_id = match flow {
        None => None,
        Some(f) => {
            let mut ids: Vec<String> = analysed
                .iter()
                .filter(|r| {
                    r.flow.as_deref() == Some(f)
                        || r.id == f
                        || r.flow.as_deref().is_some_and(|x| x.ends_with(f))
                        || r.id.ends_with(f)
                })
                .map(|r| r.flow.clone().unwrap_or_else(|| r.id.clone()))
                .collect();
            ids.sort();
            ids.dedup();
            match ids.len() {
                0 => anyhow::bail!(
                    "no flow or exchange matches {f:?}; `oauthscope flows list` shows the ids"
                ),
                1 => Some(ids.remove(0)),
                _ => anyhow::bail!(
                    "{f:?} matches several flows ({}); give more of the id",
                    ids.join(", ")
                ),
            }
        }
    };
    Ok(analysed
        .into_iter()
        .filter(|r| {
            flow_id
                .as_ref()
                .is_none_or(|f| r.flow.as_ref() == Some(f) || (r.flow.is_none() && r.id == *f))
                && since.is_none_or(|t| r.time >= t)
        })
        .collect())
}

/// Export captured exchanges.
pub fn run(args: ExportArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let since = args.since.as_deref().map(parse_when).transpose()?;
    let records = Records::open(&g.home)
        .with_context(|| format!("opening the capture store in {}", g.home.root().display()))?;
    // Analyse everything raw, before any redaction, flow by flow in bounded
    // windows (linear in the capture, however long a flow is).
    let opts = AnalyzeOptions {
        registered_redirects: args.registered_redirect.clone(),
    };
    let mut analysed = Vec::new();
    let mut raw_count = 0usize;
    let mut rolling = Rolling::new(opts);
    let mut keep = |r: Record| analysed.push(r);
    records.each(&Query::default(), |r| {
        raw_count += 1;
        rolling.push(r, &mut keep);
        Ok(())
    })?;
    rolling.finish(&mut keep);
    let selected = select(analysed, args.flow.as_deref(), since)?;
    if selected.is_empty() {
        anyhow::bail!(
            "nothing to export: {}",
            if raw_count == 0 {
                "no exchanges are captured yet (start `oauthscope run` and send an app through it)"
            } else {
                "no exchange matches the filters"
            }
        );
    }
    let mut redactor = Redactor::new();
    let out = if args.no_redact {
        eprintln!(
            "warning: --no-redact: the export holds live secrets (tokens, codes, client secrets, cookies); do not share it"
        );
        render(&selected, args.format, None)
    } else {
        render(&selected, args.format, Some(&mut redactor))
    };
    match &args.output {
        Some(path) => {
            write_file(path, out.as_bytes(), args.no_redact)
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {} exchange{} to {}{}",
                selected.len(),
                if selected.len() == 1 { "" } else { "s" },
                path.display(),
                if args.no_redact {
                    " (NOT redacted)"
                } else {
                    ""
                }
            );
        }
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(out.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Write the export; an unredacted one is readable by the owner only.
fn write_file(path: &std::path::Path, data: &[u8], secret: bool) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    use std::io::Write as _;
    opts.open(path)?.write_all(data)
}

//! `oauthscope flows list|show|clear`.

use super::{fail_on_exit, parse_when, ExitCode, FailOn, Globals};
use crate::access::Records;
use crate::analyze::{analyze, AnalyzeOptions};
use crate::record::Kind;
use crate::store::Query;
use crate::view;
use anyhow::Context as _;
use clap::{Args, Subcommand};

/// `oauthscope flows ...`
#[derive(Debug, Clone, Subcommand)]
pub enum FlowsCommand {
    /// List captured exchanges, oldest first, with flavour and top annotation.
    List(ListArgs),
    /// Show one exchange in full with all its annotations and their evidence.
    Show(ShowArgs),
    /// Delete captured exchanges.
    Clear(ClearArgs),
}

/// Arguments of `flows list`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope flows list\n  oauthscope flows list --kind token_request --json\n  oauthscope flows list --fail-on error"
)]
pub struct ListArgs {
    /// Print a JSON array of records.
    #[arg(long)]
    pub json: bool,
    /// Only this flow.
    #[arg(long, value_name = "ID")]
    pub flow: Option<String>,
    /// Only this kind (authorize_request, callback, token_request, ...).
    #[arg(long, value_name = "KIND")]
    pub kind: Option<Kind>,
    /// A redirect URI registered with the provider, to check against. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
    #[command(flatten)]
    pub fail_on: FailOn,
}

/// Arguments of `flows show`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Example:\n  oauthscope flows show 18a3f2c4d5e6f708 --json")]
pub struct ShowArgs {
    /// The exchange id (or a unique prefix or suffix of it).
    pub id: String,
    /// Print the record as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// A redirect URI registered with the provider, to check against. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
}

/// Arguments of `flows clear`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope flows clear\n  oauthscope flows clear --before 2026-11-01T00:00:00Z\n  oauthscope flows clear --before 7d\n  oauthscope flows clear --flow 18a3f2c4d5e6f708"
)]
pub struct ClearArgs {
    /// Only exchanges captured before this time (RFC 3339, or a duration ago like 2h, 7d).
    #[arg(long, value_name = "TIME")]
    pub before: Option<String>,
    /// Only this flow.
    #[arg(long, value_name = "ID")]
    pub flow: Option<String>,
}

/// Load every record and analyse them together (flows span records), so
/// annotations are computed now, with the current rules.
fn analysed(g: &Globals, registered: &[String]) -> anyhow::Result<Vec<crate::record::Record>> {
    let records = Records::open(&g.home)
        .with_context(|| format!("opening the capture store in {}", g.home.root().display()))?;
    let raw = records.query(&Query::default())?;
    let opts = AnalyzeOptions {
        registered_redirects: registered.to_vec(),
    };
    Ok(analyze(&raw, &opts))
}

/// Run a `flows` subcommand.
pub fn run(cmd: FlowsCommand, g: &Globals) -> anyhow::Result<ExitCode> {
    match cmd {
        FlowsCommand::List(a) => {
            let mut recs = analysed(g, &a.registered_redirect)?;
            recs.retain(|r| {
                a.flow.as_ref().is_none_or(|f| {
                    r.flow.as_ref() == Some(f)
                        || r.flow.as_deref().is_some_and(|rf| rf.ends_with(f.as_str()))
                }) && a.kind.is_none_or(|k| r.kind == k)
            });
            if a.json {
                println!("{}", serde_json::to_string_pretty(&recs)?);
            } else {
                print!("{}", view::list(&recs, g.color));
            }
            Ok(fail_on_exit(&recs, &a.fail_on))
        }
        FlowsCommand::Show(a) => {
            let records = Records::open(&g.home).with_context(|| {
                format!("opening the capture store in {}", g.home.root().display())
            })?;
            let wanted = records.get(&a.id)?;
            let raw = records.query(&Query::default())?;
            let opts = AnalyzeOptions {
                registered_redirects: a.registered_redirect.clone(),
            };
            let rec = analyze(&raw, &opts)
                .into_iter()
                .find(|r| r.id == wanted.id)
                .unwrap_or(wanted);
            if a.json {
                println!("{}", serde_json::to_string_pretty(&rec)?);
            } else {
                print!("{}", view::show(&rec, g.color));
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::Clear(a) => {
            let before = a.before.as_deref().map(parse_when).transpose()?;
            let records = Records::open(&g.home).with_context(|| {
                format!("opening the capture store in {}", g.home.root().display())
            })?;
            let n = records.clear(&Query {
                flow: a.flow.clone(),
                before,
                ..Query::default()
            })?;
            eprintln!("removed {n} exchange{}", if n == 1 { "" } else { "s" });
            Ok(ExitCode::SUCCESS)
        }
    }
}

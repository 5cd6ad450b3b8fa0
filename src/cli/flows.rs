//! `oauthscope flows list|show|clear`.

use super::{exit_for, parse_when, ExitCode, FailOn, Globals};
use crate::access::Records;
use crate::analyze::AnalyzeOptions;
use crate::record::{Kind, Severity};
use crate::rolling::Rolling;
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
#[command(
    after_help = "Examples:\n  oauthscope flows show 18a3f2c4d5e6f708 --json\n  oauthscope flows show 18a3f2c4d5e6f708 --curl            # the request as a curl command, real values\n  oauthscope flows show 18a3f2c4d5e6f708 --curl --redact   # secrets masked, to share\n  oauthscope exec -- sh -c \"$(oauthscope flows show 18a3f2c4d5e6f708 --curl)\"   # run it through the proxy\n\nThe curl command names no proxy and no CA: add --cacert FILE when the provider's certificate is\nnot publicly trusted, or run it under `oauthscope exec` to capture it again."
)]
pub struct ShowArgs {
    /// The exchange id (or a unique prefix or suffix of it).
    pub id: String,
    /// Print the record as one JSON object.
    #[arg(long, conflicts_with = "curl")]
    pub json: bool,
    /// Print the request as a curl command that sends it again (real values: secrets included).
    #[arg(long)]
    pub curl: bool,
    /// With --curl: mask secrets as exports do (`«redacted:…»`), to share the command.
    #[arg(long, requires = "curl")]
    pub redact: bool,
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

/// Open the records (the store, or the running proxy that holds it).
fn open_records(g: &Globals) -> anyhow::Result<Records> {
    Records::open(&g.home)
        .with_context(|| format!("opening the capture store in {}", g.home.root().display()))
}

/// Open the records to read them only: a private copy of the store (its
/// files untouched, no lock held), or the running proxy that holds it.
fn open_records_read_only(g: &Globals) -> anyhow::Result<Records> {
    Records::open_read_only(&g.home)
        .with_context(|| format!("opening the capture store in {}", g.home.root().display()))
}

/// Does the analysed record pass the `--flow` / `--kind` filters? `--flow`
/// matches a flow id or a suffix of one.
fn selected(r: &crate::record::Record, a: &ListArgs) -> bool {
    a.flow.as_ref().is_none_or(|f| {
        r.flow.as_ref() == Some(f) || r.flow.as_deref().is_some_and(|rf| rf.ends_with(f.as_str()))
    }) && a.kind.is_none_or(|k| r.kind == k)
}

/// `flows list`: the capture is read, analysed ([`Rolling`]) and printed one
/// record at a time, so memory stays bounded whatever the capture holds.
fn list(a: &ListArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let records = open_records_read_only(g)?;
    let opts = AnalyzeOptions {
        registered_redirects: a.registered_redirect.clone(),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut shown = 0usize;
    let mut worst: Option<Severity> = None;
    let mut write_err: Option<std::io::Error> = None;
    let mut emit = |r: crate::record::Record| {
        if write_err.is_some() || !selected(&r, a) {
            return;
        }
        worst = worst.max(r.max_severity());
        let written = if a.json {
            let text = view::json_safe(serde_json::to_string_pretty(&r).unwrap_or_default());
            let sep = if shown == 0 { "[\n" } else { ",\n" };
            let mut chunk = String::with_capacity(text.len() + 64);
            chunk.push_str(sep);
            for (i, line) in text.lines().enumerate() {
                if i > 0 {
                    chunk.push('\n');
                }
                chunk.push_str("  ");
                chunk.push_str(line);
            }
            out.write_all(chunk.as_bytes())
        } else if shown == 0 {
            out.write_all(view::list_header(g.color).as_bytes())
                .and_then(|()| out.write_all(view::list_row(&r, g.color).as_bytes()))
        } else {
            out.write_all(view::list_row(&r, g.color).as_bytes())
        };
        shown += 1;
        if let Err(e) = written {
            write_err = Some(e);
        }
    };
    let mut rolling = Rolling::new(opts);
    records.each(&Query::default(), |r| {
        rolling.push(r, &mut emit);
        Ok(())
    })?;
    rolling.finish(&mut emit);
    if let Some(e) = write_err {
        // `flows list | head` closes the pipe: that is not an error.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(e.into());
    }
    // The footer: exchanges lost to a full disk, a damaged store. A damaged
    // store never reads as "nothing captured".
    let health = records.health();
    let damaged = health.as_ref().is_some_and(|h| h.damage.is_some());
    let trouble = health.and_then(|h| h.describe());
    let end = match (a.json, shown, &trouble) {
        (true, 0, _) => "[]\n".to_string(),
        (true, _, _) => "\n]\n".to_string(),
        (false, 0, None) => view::EMPTY_LIST.to_string(),
        (false, _, Some(t)) => format!("\n! {t}\n"),
        (false, _, None) => String::new(),
    };
    if let (true, Some(t)) = (a.json || shown == 0, &trouble) {
        eprintln!("warning: {t}");
    }
    match out.write_all(end.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    if damaged {
        // Not a complete listing: say so in the status too.
        return Ok(ExitCode::from(1));
    }
    Ok(exit_for(worst, &a.fail_on))
}

/// Run a `flows` subcommand.
pub fn run(cmd: FlowsCommand, g: &Globals) -> anyhow::Result<ExitCode> {
    match cmd {
        FlowsCommand::List(a) => list(&a, g),
        FlowsCommand::Show(a) => {
            let records = open_records_read_only(g)?;
            let wanted = records.get(&a.id)?;
            if a.curl {
                let rec = if a.redact {
                    crate::redact::Redactor::new()
                        .redact_records(std::slice::from_ref(&wanted))
                        .remove(0)
                } else {
                    wanted
                };
                println!("{}", crate::curl::command(&rec));
                return Ok(ExitCode::SUCCESS);
            }
            let opts = AnalyzeOptions {
                registered_redirects: a.registered_redirect.clone(),
            };
            // The record with the part of its flow that explains it: a
            // bounded read, whatever the size of the flow.
            let mut rec = records.analysed(&wanted, &opts)?;
            // The login's cookie timeline, read with what was captured around
            // it (another tab's login on the same session is another flow).
            let span = super::diff::stored_login(&records, &rec.id).ok();
            if let Some((span, _)) = &span {
                super::jar::add_cookie_findings(&mut rec, span);
            }
            if a.json {
                println!("{}", view::json_safe(serde_json::to_string_pretty(&rec)?));
            } else {
                print!("{}", view::show(&rec, g.color));
                if let Some((span, login)) = &span {
                    let ids: Vec<String> = login.iter().map(|r| r.id.clone()).collect();
                    print!("{}", super::jar::section(span, &ids));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::Clear(a) => {
            let before = a.before.as_deref().map(parse_when).transpose()?;
            let records = open_records(g)?;
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

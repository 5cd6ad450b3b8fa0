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
use crate::view;
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
    /// A redirect URI registered with the provider, to check against. Repeatable. [default: those of the running `oauthscope run --registered-redirect`, when it holds the store]
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
        // JSON keeps its value with C1 and bidirectional controls written as
        // \uXXXX escapes, as every JSON oauthscope prints ([`view::json_safe`]).
        Format::Json => {
            let mut s = view::json_safe(serde_json::to_string_pretty(&records).unwrap_or_default());
            s.push('\n');
            s
        }
        Format::Har => {
            let mut s = view::json_safe(har_export::to_har_string(
                &records,
                &HarOptions { redacted },
            ));
            s.push('\n');
            s
        }
        Format::Md => report::markdown(
            &records,
            &ReportOptions {
                redacted,
                ..ReportOptions::default()
            },
        ),
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

/// Which records a streamed export keeps (see [`stream`]).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A flow id, a unique suffix of one, or the id of a record in it
    /// (resolved as [`select`] does).
    pub flow: Option<String>,
    /// Only records captured since then.
    pub since: Option<time::OffsetDateTime>,
    /// Only these record ids (an arbitrary selection, from the web UI).
    pub ids: Option<std::collections::HashSet<String>>,
    /// Group by the flows the store assigned instead of the ones analysis
    /// recomputes (the web UI's view, where pages and the live feed agree).
    pub stored_flows: bool,
}

/// Errors of a streamed export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the records failed.
    #[error("{0}")]
    Source(String),
    /// `--flow` matched nothing or several flows.
    #[error("{0}")]
    Flow(String),
    /// Writing the output failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

/// A source of raw records (as stored, oldest first): calls its argument
/// with each. [`stream`] reads it two or three times.
pub type Each<'a> = dyn FnMut(&mut dyn FnMut(Record)) -> Result<(), String> + 'a;

/// In a Markdown report, at most this many flows are shown in full...
pub const MD_MAX_FLOWS: usize = 50;
/// ...and of each, its first and last this many exchanges.
pub const MD_FLOW_ENDS: usize = 50;

/// Export the records of `each` that `filter` keeps to `out`, in `format`,
/// redacted when `redactor` is given, never holding the whole capture:
/// records are analysed in bounded windows ([`Rolling`]) and written one at
/// a time. Redaction needs every secret before it writes the first record
/// (the sweep masks a secret wherever it appears), so a first pass learns
/// them and a second writes; a `--flow` filter costs one more pass to
/// resolve. HAR and JSON hold every selected record; the Markdown report is
/// for reading and keeps at most [`MD_MAX_FLOWS`] flows and, of a longer
/// flow, its first and last [`MD_FLOW_ENDS`] exchanges (it says what it left
/// out). Returns how many records were selected (0: nothing was written).
/// The output equals [`render`] over [`select`]'s selection.
pub fn stream(
    each: &mut Each<'_>,
    opts: &AnalyzeOptions,
    filter: &Filter,
    format: Format,
    mut redactor: Option<&mut Redactor>,
    out: &mut dyn std::io::Write,
) -> Result<usize, ExportError> {
    let flow = match &filter.flow {
        Some(spec) => Some(resolve_flow(each, opts, filter.stored_flows, spec)?),
        None => None,
    };
    let keep = |r: &Record| {
        flow.as_ref()
            .is_none_or(|f| r.flow.as_ref() == Some(f) || (r.flow.is_none() && r.id == *f))
            && filter.since.is_none_or(|t| r.time >= t)
            && filter.ids.as_ref().is_none_or(|ids| ids.contains(&r.id))
    };
    // Pass 1: count, learn the secrets, and (Markdown) keep the sample.
    let mut count = 0usize;
    let mut sample = MdSample::default();
    // Records stored after pass 1 started (a running proxy) are not
    // exported: pass 2 would write them with secrets pass 1 did not learn.
    let mut newest: Option<String> = None;
    let bound = Bound {
        upto: None,
        newest: Some(&mut newest),
    };
    analysed_each(each, opts, filter.stored_flows, bound, &mut |r: Record| {
        if !keep(&r) {
            return;
        }
        count += 1;
        if let Some(red) = redactor.as_deref_mut() {
            red.learn(&r);
        }
        if format == Format::Md {
            sample.push(r);
        }
    })?;
    if count == 0 {
        return Ok(0);
    }
    let redacted = redactor.is_some();
    if format == Format::Md {
        let (records, omitted, flows_left_out) = sample.finish();
        let records = match redactor {
            Some(r) => r.redact_records(&records),
            None => records,
        };
        let md = report::markdown(
            &records,
            &ReportOptions {
                redacted,
                total: Some(count),
                omitted,
                flows_left_out,
            },
        );
        out.write_all(md.as_bytes())?;
        return Ok(count);
    }
    // Pass 2: write each record as it comes.
    let sweeper = redactor.as_ref().map(|r| r.sweeper());
    let (head, indent, tail) = match format {
        Format::Har => {
            let skeleton = har_export::to_har_string(&[], &HarOptions { redacted });
            let at = skeleton
                .find("\"entries\": []")
                .expect("the HAR skeleton has an entries array");
            let head = format!("{}\"entries\": [", &skeleton[..at]);
            let tail = format!("\n    ]{}\n", &skeleton[at + "\"entries\": []".len()..]);
            (head, "      ", tail)
        }
        _ => ("[".to_string(), "  ", "\n]\n".to_string()),
    };
    out.write_all(head.as_bytes())?;
    let mut written = 0usize;
    let mut failed: Option<std::io::Error> = None;
    let bound = Bound {
        upto: newest.as_deref(),
        newest: None,
    };
    analysed_each(each, opts, filter.stored_flows, bound, &mut |r: Record| {
        if failed.is_some() || !keep(&r) {
            return;
        }
        let r = match (redactor.as_deref_mut(), &sweeper) {
            (Some(red), Some(sw)) => red.redact_one(&r, sw),
            _ => r,
        };
        // Control and bidirectional characters from a hostile capture leave
        // as \uXXXX escapes (the same JSON value), to a terminal, a pipe or
        // a file alike, as the Markdown report and `flows list --json` do.
        let text = view::json_safe(
            match format {
                Format::Har => serde_json::to_string_pretty(&har_export::entry(&r)),
                _ => serde_json::to_string_pretty(&r),
            }
            .unwrap_or_default(),
        );
        let mut chunk = String::with_capacity(text.len() + 64);
        chunk.push_str(if written == 0 { "\n" } else { ",\n" });
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                chunk.push('\n');
            }
            chunk.push_str(indent);
            chunk.push_str(line);
        }
        written += 1;
        if let Err(e) = out.write_all(chunk.as_bytes()) {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    out.write_all(tail.as_bytes())?;
    Ok(count)
}

/// Which raw records a pass reads: none past `upto` (ids grow with time),
/// and the newest id read goes to `newest`.
struct Bound<'a> {
    upto: Option<&'a str>,
    newest: Option<&'a mut Option<String>>,
}

/// Every record of `each` (within `bound`), analysed in windows, in order.
fn analysed_each(
    each: &mut Each<'_>,
    opts: &AnalyzeOptions,
    stored_flows: bool,
    mut bound: Bound<'_>,
    f: &mut dyn FnMut(Record),
) -> Result<(), ExportError> {
    let mut rolling = Rolling::new(opts.clone());
    // The stored flow of each record waiting in the window (bounded by it).
    let stored: std::cell::RefCell<std::collections::HashMap<String, Option<String>>> =
        Default::default();
    let mut emit = |mut r: Record| {
        if stored_flows {
            if let Some(Some(flow)) = stored.borrow_mut().remove(&r.id) {
                r.flow = Some(flow);
            }
        }
        f(r)
    };
    each(&mut |r: Record| {
        if bound.upto.is_some_and(|u| r.id.as_str() > u) {
            return;
        }
        if let Some(newest) = bound.newest.as_deref_mut() {
            if newest.as_deref().is_none_or(|n| r.id.as_str() > n) {
                *newest = Some(r.id.clone());
            }
        }
        if stored_flows {
            stored.borrow_mut().insert(r.id.clone(), r.flow.clone());
        }
        rolling.push(r, &mut emit)
    })
    .map_err(ExportError::Source)?;
    rolling.finish(&mut emit);
    Ok(())
}

/// The one flow `spec` names (see [`select`]).
fn resolve_flow(
    each: &mut Each<'_>,
    opts: &AnalyzeOptions,
    stored_flows: bool,
    spec: &str,
) -> Result<String, ExportError> {
    let mut ids = std::collections::BTreeSet::new();
    let bound = Bound {
        upto: None,
        newest: None,
    };
    analysed_each(each, opts, stored_flows, bound, &mut |r: Record| {
        if r.flow.as_deref() == Some(spec)
            || r.id == spec
            || r.flow.as_deref().is_some_and(|x| x.ends_with(spec))
            || r.id.ends_with(spec)
        {
            // Bounded: past two matches the answer is "ambiguous" anyway,
            // but all are named, as `select` does (few in practice).
            ids.insert(r.flow.clone().unwrap_or_else(|| r.id.clone()));
        }
    })?;
    let ids: Vec<String> = ids.into_iter().collect();
    match ids.len() {
        0 => Err(ExportError::Flow(format!(
            "no flow or exchange matches {spec:?}; `oauthscope flows list` shows the ids"
        ))),
        1 => Ok(ids.into_iter().next().expect("one id")),
        _ => Err(ExportError::Flow(format!(
            "{spec:?} matches several flows ({}); give more of the id",
            ids.join(", ")
        ))),
    }
}

/// What a Markdown report keeps of a streamed selection (see [`stream`]).
#[derive(Default)]
struct MdSample {
    /// Flow key → index in `flows`.
    index: std::collections::HashMap<String, usize>,
    flows: Vec<MdFlow>,
    flows_left_out: usize,
    keys_left_out: std::collections::HashSet<String>,
}

#[derive(Default)]
struct MdFlow {
    key: String,
    head: Vec<Record>,
    tail: std::collections::VecDeque<Record>,
    omitted: usize,
}

impl MdSample {
    fn push(&mut self, r: Record) {
        let key = r.flow.clone().unwrap_or_else(|| format!("record:{}", r.id));
        let found = self.index.get(&key).copied();
        let i = match found {
            Some(i) => i,
            None if self.flows.len() < MD_MAX_FLOWS => {
                self.index.insert(key.clone(), self.flows.len());
                self.flows.push(MdFlow {
                    key,
                    ..MdFlow::default()
                });
                self.flows.len() - 1
            }
            None => {
                // Counted once per flow, remembered only by key.
                if self.keys_left_out.insert(key) {
                    self.flows_left_out += 1;
                }
                return;
            }
        };
        let f = &mut self.flows[i];
        if f.head.len() < MD_FLOW_ENDS {
            f.head.push(r);
        } else {
            f.tail.push_back(r);
            if f.tail.len() > MD_FLOW_ENDS {
                f.tail.pop_front();
                f.omitted += 1;
            }
        }
    }

    /// The records kept, the exchanges left out per flow, the flows left out.
    fn finish(self) -> (Vec<Record>, std::collections::HashMap<String, usize>, usize) {
        let mut records = Vec::new();
        let mut omitted = std::collections::HashMap::new();
        for f in self.flows {
            if f.omitted > 0 {
                omitted.insert(f.key, f.omitted);
            }
            records.extend(f.head);
            records.extend(f.tail);
        }
        records.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        (records, omitted, self.flows_left_out)
    }
}

/// Export captured exchanges.
pub fn run(args: ExportArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let since = args.since.as_deref().map(parse_when).transpose()?;
    // Read only: a private copy of the store (sled never touches its files,
    // so it cannot remove blob files it does not recognise), or the proxy.
    let records = Records::open_read_only(&g.home)
        .with_context(|| format!("opening the capture store in {}", g.home.root().display()))?;
    if let Some(text) = records.health().and_then(|h| h.describe()) {
        eprintln!("warning: {text}");
    }
    // Analysed raw, before any redaction, flow by flow in bounded windows,
    // and written record by record (see [`stream`]): linear in the capture,
    // which is never held whole, in this process or in a running proxy.
    let opts = records.analyze_options(&args.registered_redirect);
    let filter = Filter {
        flow: args.flow.clone(),
        since,
        ..Filter::default()
    };
    let mut raw_count = 0usize;
    let mut each = |f: &mut dyn FnMut(Record)| {
        raw_count = 0;
        records
            .each(&Query::default(), |r| {
                raw_count += 1;
                f(r);
                Ok(())
            })
            .map_err(|e| e.to_string())
    };
    if args.no_redact {
        eprintln!(
            "warning: --no-redact: the export holds live secrets (tokens, codes, client secrets, cookies); do not share it"
        );
    }
    let mut redactor = Redactor::new();
    let redactor = (!args.no_redact).then_some(&mut redactor);
    // To a file: a temporary one beside it, renamed when complete, so a
    // failed export leaves no half file (and nothing when nothing matched).
    let written = match &args.output {
        Some(path) => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("writing {}", path.display()))?;
            let mut w = std::io::BufWriter::new(tmp);
            let n = stream(&mut each, &opts, &filter, args.format, redactor, &mut w)?;
            if n > 0 {
                let tmp = w
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("writing {}", path.display()))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    let mode = if args.no_redact { 0o600 } else { 0o644 };
                    let _ =
                        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode));
                }
                tmp.persist(path)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!(
                    "wrote {} exchange{} to {}{}",
                    n,
                    if n == 1 { "" } else { "s" },
                    path.display(),
                    if args.no_redact {
                        " (NOT redacted)"
                    } else {
                        ""
                    }
                );
            }
            n
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            let n = stream(&mut each, &opts, &filter, args.format, redactor, &mut w)?;
            use std::io::Write as _;
            w.flush()?;
            n
        }
    };
    if written == 0 {
        anyhow::bail!(
            "nothing to export: {}",
            if raw_count == 0 {
                "no exchanges are captured yet (start `oauthscope run` and send an app through it)"
            } else {
                "no exchange matches the filters"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

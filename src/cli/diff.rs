//! `oauthscope diff A B`: two logins (HAR files or stored logins) compared
//! step by step in OAuth terms ([`crate::analyze::diff`]).

use super::{ExitCode, Globals};
use crate::access::Records;
use crate::analyze::diff::{self, Report};
use crate::analyze::{analyze, AnalyzeOptions};
use crate::har::sanitised::Sanitised;
use crate::record::{Kind, Record};
use crate::store::Query;
use anyhow::Context as _;
use clap::{Args, ValueEnum};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

/// Arguments of `oauthscope diff`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Each side is a HAR file or a stored login (any exchange id of it, as `flows show` takes).\n\nExamples:\n  oauthscope diff failing.har working.har\n  oauthscope diff 18a3f2c4d5e6f708 staging.har\n  oauthscope diff failing.har working.har --format md > report.md   # redacted, for a bug report\n  oauthscope diff failing.har working.har --json"
)]
pub struct DiffArgs {
    /// The first login (usually the failing one): a HAR file or a stored exchange id.
    #[arg(value_name = "A")]
    pub a: String,
    /// The second login (usually the working one).
    #[arg(value_name = "B")]
    pub b: String,
    /// Print the comparison as JSON (same as --format json).
    #[arg(long)]
    pub json: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Also list the differences that do not matter (volatile values by shape, small timings).
    #[arg(long)]
    pub all: bool,
}

/// Output formats of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Aligned steps and ranked differences.
    Text,
    /// JSON: sides, steps, differences.
    Json,
    /// Markdown for a bug report, secrets redacted as exports redact them.
    Md,
}

/// One loaded side.
pub struct Side {
    /// What the user named.
    pub label: String,
    /// The login's analysed records (its flow, plus discovery).
    pub login: Vec<Record>,
    /// Notes to print once (several logins in a HAR, a sanitised file).
    pub notes: Vec<String>,
    /// Set when the HAR had its cookies removed or masked.
    pub sanitised: Option<Sanitised>,
}

/// The login to compare among analysed records: the flow of the first
/// failure, else the last flow that reached a callback or a token
/// request; with the capture's discovery documents.
pub fn pick_login(recs: &[Record]) -> (Vec<Record>, usize) {
    let flow_of = |r: &Record| r.flow.clone().unwrap_or_else(|| r.id.clone());
    let flows: Vec<String> = {
        let mut seen = Vec::new();
        for r in recs
            .iter()
            .filter(|r| r.kind != Kind::Discovery && r.kind != Kind::Jwks)
        {
            let f = flow_of(r);
            if !seen.contains(&f) {
                seen.push(f);
            }
        }
        seen
    };
    let failing = recs.iter().find(|r| {
        r.kind != Kind::Discovery
            && (r.response.as_ref().is_some_and(|x| x.status >= 400)
                || !crate::analyze::diagnose::Failure::of(r).is_empty())
    });
    let chosen = failing.map(flow_of).or_else(|| {
        recs.iter()
            .rev()
            .find(|r| matches!(r.kind, Kind::TokenRequest | Kind::Callback))
            .map(flow_of)
            .or_else(|| flows.last().cloned())
    });
    let login = recs
        .iter()
        .filter(|r| {
            matches!(r.kind, Kind::Discovery | Kind::Jwks)
                || chosen.as_ref().is_some_and(|c| &flow_of(r) == c)
        })
        .cloned()
        .collect();
    (login, flows.len())
}

fn load_har(path: &Path) -> anyhow::Result<Side> {
    let name = path.display().to_string();
    let (imported, sanitised) = super::analyze::import_file_checked(path)?;
    if imported.records.is_empty() {
        anyhow::bail!(
            "no OAuth exchanges in {name} ({} entries looked at)",
            imported.entries
        );
    }
    let analysed = analyze(&imported.records, &AnalyzeOptions::default());
    let (login, n) = pick_login(&analysed);
    let mut notes = Vec::new();
    if n > 1 {
        notes.push(format!(
            "{name} holds {n} logins; comparing the {} one (flow {}). Export one login (`oauthscope export --flow ID`) to choose.",
            if login.iter().any(|r| r.response.as_ref().is_some_and(|x| x.status >= 400)) { "failing" } else { "last" },
            login.iter().find_map(|r| r.flow.clone()).unwrap_or_default()
        ));
    }
    Ok(Side {
        label: name,
        login,
        notes,
        sanitised,
    })
}

/// A stored login: the window of its flow plus everything captured in the
/// same span (another tab's login on the same session is another flow),
/// analysed together; `(analysed span, the login's records)`.
pub fn stored_login(records: &Records, id: &str) -> anyhow::Result<(Vec<Record>, Vec<Record>)> {
    let rec = records.get(id)?;
    Ok(login_around(&rec, |q| records.query(q))?)
}

/// The login of `rec` as [`stored_login`] finds it, with `query` running a
/// store query (the store, the running proxy's API, or the web UI's source).
pub fn login_around<E>(
    rec: &Record,
    mut query: impl FnMut(&Query) -> Result<Vec<Record>, E>,
) -> Result<(Vec<Record>, Vec<Record>), E> {
    let mut window = crate::rolling::window_of(rec, true, true, &mut query)?;
    if window.iter().all(|r| r.id != rec.id) {
        window.push(rec.clone());
    }
    let first = window.iter().map(|r| r.time).min().unwrap_or(rec.time);
    let last = window.iter().map(|r| r.time).max().unwrap_or(rec.time);
    let span = query(&Query {
        since: Some(first - time::Duration::minutes(5)),
        before: Some(last + time::Duration::seconds(1)),
        limit: Some(4096),
        ..Query::default()
    })?;
    let mut seen: HashSet<String> = window.iter().map(|r| r.id.clone()).collect();
    for r in span {
        if seen.insert(r.id.clone()) {
            window.push(r);
        }
    }
    let analysed = analyze(&window, &AnalyzeOptions::default());
    let flow = analysed
        .iter()
        .find(|r| r.id == rec.id)
        .and_then(|r| r.flow.clone())
        .unwrap_or_else(|| rec.id.clone());
    let login = analysed
        .iter()
        .filter(|r| r.kind == Kind::Discovery || r.flow.as_deref().unwrap_or(r.id.as_str()) == flow)
        .cloned()
        .collect();
    Ok((analysed, login))
}

/// A difference's two values as the Markdown report and the web UI show
/// them: secrets masked, URLs and text redacted as exports redact them
/// (`red` has learnt both logins' secrets).
pub fn shown_values(red: &mut crate::redact::Redactor, d: &diff::Difference) -> (String, String) {
    let mut mask = |v: &Option<String>| -> String {
        match v {
            None => "(absent)".into(),
            Some(v) if crate::redact::is_secret_field(d.what.trim_start_matches("redirect → ")) => {
                red.mask(v)
            }
            Some(v) if v.starts_with("http") => red.url(v),
            Some(v) => red.redact_text(v),
        }
    };
    (mask(&d.a), mask(&d.b))
}

fn load(spec: &str, g: &Globals, store: &mut Option<Records>) -> anyhow::Result<Side> {
    let p = Path::new(spec);
    if p.is_file() {
        return load_har(p);
    }
    if store.is_none() {
        *store = Some(Records::open(&g.home).with_context(|| {
            format!(
                "{spec} is not a file, so it was taken as a stored exchange id; opening the capture store in {}",
                g.home.root().display()
            )
        })?);
    }
    let records = store.as_ref().expect("opened above");
    let (_, login) = stored_login(records, spec)
        .with_context(|| format!("{spec} is neither a HAR file nor a stored exchange id"))?;
    Ok(Side {
        label: format!("stored login {spec}"),
        login,
        notes: Vec::new(),
        sanitised: None,
    })
}

/// Run `diff`.
pub fn run(args: DiffArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let mut store = None;
    let a = load(&args.a, g, &mut store)?;
    let b = load(&args.b, g, &mut store)?;
    let report = diff::diff(&a.login, &b.login);
    let format = if args.json {
        DiffFormat::Json
    } else {
        args.format
    };
    match format {
        DiffFormat::Json => {
            for s in [&a, &b] {
                for n in &s.notes {
                    eprintln!("note: {n}");
                }
                if let Some(x) = &s.sanitised {
                    eprintln!("{}", x.note(&s.label));
                }
            }
            let v = serde_json::json!({
                "a": {"source": a.label, "summary": report.a, "sanitised": a.sanitised},
                "b": {"source": b.label, "summary": report.b, "sanitised": b.sanitised},
                "steps": report.steps,
                "differences": report.differences,
                "cannot_tell": report.cannot_tell,
            });
            println!(
                "{}",
                crate::view::json_safe(serde_json::to_string_pretty(&v)?)
            );
        }
        DiffFormat::Text => print!("{}", text(&a, &b, &report, args.all)),
        DiffFormat::Md => print!("{}", markdown(&a, &b, &report, args.all)),
    }
    Ok(ExitCode::SUCCESS)
}

fn notes(a: &Side, b: &Side) -> Vec<String> {
    let mut out = Vec::new();
    let mut how_said = false;
    for s in [a, b] {
        if let Some(x) = &s.sanitised {
            let mut n = x.note(&s.label);
            if how_said {
                // The advice once, at the top.
                n = n
                    .split(crate::har::sanitised::HOW_TO_KEEP)
                    .next()
                    .unwrap_or("")
                    .trim_end()
                    .to_string();
            }
            how_said = true;
            out.push(n);
        }
        out.extend(s.notes.iter().map(|n| format!("note: {n}")));
    }
    out
}

/// The text report.
pub fn text(a: &Side, b: &Side, r: &Report, all: bool) -> String {
    let mut out = String::new();
    for n in notes(a, b) {
        let _ = writeln!(out, "{n}\n");
    }
    let _ = writeln!(
        out,
        "A: {} — {} exchanges, {}",
        a.label, r.a.exchanges, r.a.outcome
    );
    let _ = writeln!(
        out,
        "B: {} — {} exchanges, {}",
        b.label, r.b.exchanges, r.b.outcome
    );
    for c in &r.cannot_tell {
        let _ = writeln!(out, "Not compared: {c}.");
    }
    let _ = writeln!(out, "\nSteps (aligned by protocol step):");
    let w = r.steps.iter().map(|s| s.step.len()).max().unwrap_or(4);
    let cell = |x: &Option<(String, Option<u16>)>| match x {
        Some((id, st)) => format!(
            "{id} {}",
            st.map(|s| s.to_string()).unwrap_or_else(|| "-".into())
        ),
        None => "(none)".to_string(),
    };
    for s in &r.steps {
        let _ = writeln!(
            out,
            "  {:<w$}  A {:<22}  B {}",
            s.step,
            cell(&s.a),
            cell(&s.b)
        );
    }
    let mattering: Vec<_> = r.mattering().collect();
    if mattering.is_empty() {
        let _ = writeln!(
            out,
            "\nNo difference that matters ({} minor: volatile values by shape, timings{}).",
            r.differences.len(),
            if all { "" } else { "; --all lists them" }
        );
    } else {
        let _ = writeln!(
            out,
            "\nDifferences that can matter, most likely cause first:"
        );
    }
    let shown = r.differences.iter().filter(|d| all || d.matters());
    for (i, d) in shown.enumerate() {
        let _ = writeln!(
            out,
            "{:>3}. {}: {} [{}]",
            i + 1,
            d.step,
            d.what,
            d.kinds.join(", ")
        );
        let val = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
        let _ = writeln!(out, "       A: {}", val(&d.a));
        let _ = writeln!(out, "       B: {}", val(&d.b));
        if let Some(c) = &d.caret {
            let _ = writeln!(out, "          {c}");
        }
        let _ = writeln!(out, "       {}", d.note);
    }
    if !all && mattering.len() < r.differences.len() && !mattering.is_empty() {
        let _ = writeln!(
            out,
            "\n({} minor difference{} not shown; --all lists them)",
            r.differences.len() - mattering.len(),
            if r.differences.len() - mattering.len() == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    out
}

/// The Markdown report, values redacted as `export` redacts them.
pub fn markdown(a: &Side, b: &Side, r: &Report, all: bool) -> String {
    let mut red = crate::redact::Redactor::new();
    let both: Vec<Record> = a.login.iter().chain(b.login.iter()).cloned().collect();
    let _ = red.redact_records(&both);
    let mut out = String::new();
    let _ = writeln!(out, "## oauthscope diff\n");
    for n in notes(a, b) {
        let _ = writeln!(out, "> {n}\n");
    }
    let _ = writeln!(
        out,
        "- **A**: {} exchanges, {}",
        r.a.exchanges,
        red.redact_text(&r.a.outcome)
    );
    let _ = writeln!(
        out,
        "- **B**: {} exchanges, {}\n",
        r.b.exchanges,
        red.redact_text(&r.b.outcome)
    );
    for c in &r.cannot_tell {
        let _ = writeln!(out, "Not compared: {c}.\n");
    }
    let _ = writeln!(out, "| step | A | B |\n|---|---|---|");
    let cell = |x: &Option<(String, Option<u16>)>| match x {
        Some((id, st)) => format!("`{id}` {}", st.map(|s| s.to_string()).unwrap_or_default()),
        None => "—".into(),
    };
    for s in &r.steps {
        let _ = writeln!(out, "| {} | {} | {} |", s.step, cell(&s.a), cell(&s.b));
    }
    let _ = writeln!(out, "\n### Differences, most likely cause first\n");
    let mut any = false;
    for (i, d) in r
        .differences
        .iter()
        .filter(|d| all || d.matters())
        .enumerate()
    {
        any = true;
        let (va, vb) = shown_values(&mut red, d);
        let _ = writeln!(
            out,
            "{}. **{}: {}** ({})",
            i + 1,
            d.step,
            d.what,
            d.kinds.join(", ")
        );
        let _ = writeln!(out, "   ```text\n   A: {va}\n   B: {vb}");
        if let Some(c) = &d.caret {
            let _ = writeln!(out, "      {c}");
        }
        let _ = writeln!(out, "   ```\n   {}\n", d.note);
    }
    if !any {
        let _ = writeln!(out, "No difference that matters.");
    }
    out
}

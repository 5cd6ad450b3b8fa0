//! `oauthscope flows list|show|clear`.

use super::{exit_for, parse_when, ExitCode, FailOn, Globals};
use crate::access::Records;
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
    after_help = "Examples:\n  oauthscope flows list\n  oauthscope flows list --wide | less -S\n  oauthscope flows list --width 100\n  oauthscope flows list --kind token_request --json\n  oauthscope flows list --fail-on error\n\nThe JSON records (fields, kinds, flavours) are described in docs/record-format.md."
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
    /// A redirect URI registered with the provider, to check against. Repeatable. [default: those of the running `oauthscope run --registered-redirect`, when it holds the store]
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
    /// Every column in full, whatever the terminal's width. By default a
    /// table printed to a terminal fits its width (`$COLUMNS`, else the
    /// terminal's own): the least useful columns go first (flavour, method,
    /// flow, grant, time), then host/path and kind narrow and the annotation
    /// is cut. Output to a pipe or file is never cut.
    #[arg(long, conflicts_with = "width")]
    pub wide: bool,
    /// Fit the table in this many columns (characters), terminal or not.
    #[arg(long, value_name = "N")]
    pub width: Option<usize>,
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
    /// A redirect URI registered with the provider, to check against. Repeatable. [default: those of the running `oauthscope run --registered-redirect`, when it holds the store]
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
    let opts = records.analyze_options(&a.registered_redirect);
    let layout = Layout::new(match (a.wide, a.width) {
        (true, _) => None,
        (false, Some(n)) => Some(n),
        (false, None) => table_width(),
    });
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
            out.write_all(layout.header(g.color).as_bytes())
                .and_then(|()| out.write_all(layout.row(&r, g.color).as_bytes()))
        } else {
            out.write_all(layout.row(&r, g.color).as_bytes())
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

/// The width the table must fit when stdout is a terminal: `$COLUMNS` when
/// set, else the terminal's width; `None` (no limit) for a pipe or a file.
fn table_width() -> Option<usize> {
    use std::io::IsTerminal as _;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0))
}

/// A column of the `flows list` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Id,
    Time,
    Flow,
    Kind,
    Method,
    HostPath,
    Status,
    Grant,
    Flavour,
}

/// Which columns `flows list` prints and how wide, for a terminal width:
/// every column at its full width, then the top annotation; when that does
/// not fit, the least useful columns go first (flavour, method, flow,
/// grant, time), then host/path and kind narrow, and the annotation is cut
/// to what is left (with `…`). Widths count characters.
#[derive(Debug, Clone)]
struct Layout {
    cols: Vec<(Col, usize)>,
    /// Most characters of the annotation column; `None`: no limit.
    top: Option<usize>,
}

/// Fewest characters the annotation column keeps before columns narrow.
const TOP_MIN: usize = 30;

impl Layout {
    fn new(width: Option<usize>) -> Layout {
        use Col::*;
        let mut cols = vec![
            (Id, 16),
            (Time, 12),
            (Flow, 8),
            (Kind, 22),
            (Method, 6),
            (HostPath, 44),
            (Status, 6),
            (Grant, 18),
            (Flavour, 10),
        ];
        let Some(w) = width else {
            return Layout { cols, top: None };
        };
        let used = |cols: &[(Col, usize)]| cols.iter().map(|(_, n)| n + 2).sum::<usize>();
        for drop in [Flavour, Method, Flow, Grant, Time] {
            if used(&cols) + TOP_MIN <= w {
                break;
            }
            cols.retain(|(c, _)| *c != drop);
        }
        for (col, min) in [(HostPath, 16), (Kind, 13)] {
            let over = (used(&cols) + TOP_MIN).saturating_sub(w);
            if let Some((_, n)) = cols.iter_mut().find(|(c, _)| *c == col) {
                *n -= over.min(n.saturating_sub(min));
            }
        }
        Layout {
            top: Some(w.saturating_sub(used(&cols)).max(12)),
            cols,
        }
    }

    fn header(&self, color: bool) -> String {
        use owo_colors::OwoColorize as _;
        let mut line = String::new();
        for (c, n) in &self.cols {
            let name = match c {
                Col::Id => "ID",
                Col::Time => "TIME",
                Col::Flow => "FLOW",
                Col::Kind => "KIND",
                Col::Method => "METHOD",
                Col::HostPath => "HOST/PATH",
                Col::Status => "STATUS",
                Col::Grant => "GRANT",
                Col::Flavour => "FLAVOUR",
            };
            line.push_str(&fit(name, *n, *c == Col::Status));
            line.push_str("  ");
        }
        line.push_str(&cut("TOP ANNOTATION", self.top));
        let line = if color { line.bold().to_string() } else { line };
        format!("{line}\n")
    }

    fn row(&self, r: &crate::record::Record, color: bool) -> String {
        use owo_colors::OwoColorize as _;
        let mut line = String::new();
        for (c, n) in &self.cols {
            let text = match c {
                Col::Id => r.id.clone(),
                Col::Time => {
                    let t = r.time;
                    format!(
                        "{:02}:{:02}:{:02}.{:03}",
                        t.hour(),
                        t.minute(),
                        t.second(),
                        t.millisecond()
                    )
                }
                Col::Flow => r
                    .flow
                    .as_deref()
                    .map(|f| {
                        let k = f.chars().count();
                        f.chars().skip(k.saturating_sub(8)).collect()
                    })
                    .unwrap_or_default(),
                Col::Kind => r.kind.as_str().to_string(),
                Col::Method => r.request.method.clone(),
                Col::HostPath => view::host_path(&r.request.url),
                Col::Status => r
                    .response
                    .as_ref()
                    .map(|x| x.status.to_string())
                    .unwrap_or_else(|| "ERR".into()),
                Col::Grant => r.grant_type.clone().unwrap_or_else(|| "-".into()),
                Col::Flavour => match &r.flavour {
                    Some(f) => f
                        .number
                        .map(|n| format!("flavour {n}"))
                        .unwrap_or_else(|| f.client_auth.clone()),
                    None => "-".into(),
                },
            };
            let cell = fit(&text, *n, *c == Col::Status);
            let cell = match (color, c, r.response.as_ref().map(|x| x.status)) {
                (true, Col::Status, Some(200..=299)) => cell.green().to_string(),
                (true, Col::Status, Some(300..=399)) => cell.cyan().to_string(),
                (true, Col::Status, _) => cell.red().to_string(),
                _ => cell,
            };
            line.push_str(&cell);
            line.push_str("  ");
        }
        let top = match r.top_annotation() {
            Some(a) => {
                let mark = match a.severity {
                    Severity::Error => "✖ error",
                    Severity::Warning => "▲ warning",
                    Severity::Info => "• info",
                };
                let text = cut(&format!("{mark} {}: {}", a.code, a.title), self.top);
                match (color, a.severity) {
                    (false, _) => text,
                    (true, Severity::Error) => text.red().to_string(),
                    (true, Severity::Warning) => text.yellow().to_string(),
                    (true, Severity::Info) => text.cyan().to_string(),
                }
            }
            None => match &r.error {
                Some(e) if color => cut(e, self.top).red().to_string(),
                Some(e) => cut(e, self.top),
                None => String::new(),
            },
        };
        line.push_str(&top);
        format!("{}\n", line.trim_end())
    }
}

/// `s` cut to `n` characters (the last one `…` when cut), or whole.
fn cut(s: &str, n: Option<usize>) -> String {
    match n {
        Some(n) if s.chars().count() > n => {
            let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
            t.push('…');
            t
        }
        _ => s.to_string(),
    }
}

/// `s` cut to `n` characters and padded to exactly `n` (right-aligned when `right`).
fn fit(s: &str, n: usize, right: bool) -> String {
    let s = cut(s, Some(n));
    let pad = " ".repeat(n.saturating_sub(s.chars().count()));
    if right {
        format!("{pad}{s}")
    } else {
        format!("{s}{pad}")
    }
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
            let opts = records.analyze_options(&a.registered_redirect);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_fits_the_width_dropping_the_least_useful_columns_first() {
        let full = Layout::new(None);
        assert_eq!(full.cols.len(), 9);
        assert_eq!(full.top, None);
        let at = |w: usize| {
            let l = Layout::new(Some(w));
            let used: usize = l.cols.iter().map(|(_, n)| n + 2).sum::<usize>() + l.top.unwrap();
            (l, used)
        };
        let (l, used) = at(200);
        assert!(used <= 200);
        assert_eq!(l.cols.len(), 9, "everything fits at 200");
        let (l, used) = at(120);
        assert!(used <= 120, "{used}");
        let names: Vec<Col> = l.cols.iter().map(|(c, _)| *c).collect();
        assert!(!names.contains(&Col::Flavour) && !names.contains(&Col::Method));
        assert!(names.contains(&Col::Id) && names.contains(&Col::Status));
        let (l, used) = at(80);
        assert!(used <= 80, "{used}");
        assert!(l.cols.iter().any(|(c, _)| *c == Col::Id));
        assert_eq!(cut("abcdef", Some(4)), "abc…");
        assert_eq!(fit("200", 6, true), "   200");
    }
}

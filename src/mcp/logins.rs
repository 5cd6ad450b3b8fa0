//! Tools over logins: `list_logins`, `show_login`, `export_report`.
//!
//! A login is a stored flow (records sharing a `state`, `code` or token,
//! named after its earliest record; see `docs/architecture.md`). Its
//! outcome, headline and findings come from [`crate::analyze::analyze`] over
//! the login's records (the whole login, or its first
//! [`capture::HEAD`] and newest [`capture::RECENT`] records when it grew
//! past that) and from [`crate::report`]'s outcome title.

use super::capture::{self, LoginWindow};
use super::{Answer, Context, ToolError};
use crate::analyze::{analyze, AnalyzeOptions};
use crate::record::{Annotation, Kind, Record, Severity};
use crate::redact::Redactor;
use crate::report;
use crate::store::Query;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::fmt::Write as _;
use time::format_description::well_known::Rfc3339;

/// Default logins per page.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Most exchanges one `list_logins` call reads; a filter that matches
/// little stops here and the answer says where to go on (`next_cursor`).
pub const SCAN_LIMIT: usize = 20_000;
/// Exchanges read per store query while scanning.
const CHUNK: usize = 256;

/// How a login ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// An exchange failed and nothing succeeded after the last failure.
    Failed,
    /// An exchange failed, then a later one of the same kind (or a token
    /// request) succeeded: a retry that worked.
    Recovered,
    /// No exchange failed.
    Succeeded,
}

impl Outcome {
    /// `failed`, `recovered` or `succeeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Failed => "failed",
            Outcome::Recovered => "recovered",
            Outcome::Succeeded => "succeeded",
        }
    }
}

/// The outcome of a login from its analysed records (time order). A failure
/// is what [`report::is_failure`] calls one (HTTP error, no response, an
/// OAuth error in any form, RFC 6749 §4.1.2.1 / §5.2).
pub fn outcome_of(records: &[Record]) -> Outcome {
    let Some(last_failure) = records.iter().rposition(report::is_failure) else {
        return Outcome::Succeeded;
    };
    let failed_kind = records[last_failure].kind;
    let recovered = records[last_failure + 1..]
        .iter()
        .any(|r| !report::is_failure(r) && (r.kind == Kind::TokenRequest || r.kind == failed_kind));
    if recovered {
        Outcome::Recovered
    } else {
        Outcome::Failed
    }
}

/// Arguments of `list_logins`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ListLoginsArgs {
    /// Only logins with this outcome.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Only logins with an exchange to a host containing this text (case-insensitive), e.g. `login.microsoftonline.com` or `okta`.
    #[serde(default)]
    pub host: Option<String>,
    /// Only logins with an annotation whose code starts with this (`diagnosis.`, `error.invalid_grant`, `redirect_uri.mismatch`).
    #[serde(default)]
    pub code: Option<String>,
    /// Only activity since then: RFC 3339 (`2026-11-01T00:00:00Z`) or a duration ago (`30m`, `2h`, `7d`).
    #[serde(default)]
    pub since: Option<String>,
    /// Logins per page (default 20, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page, to get the next (older) one.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of `show_login`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ShowLoginArgs {
    /// A login id from list_logins, or the id of any exchange in it (a unique prefix or suffix works).
    pub login: String,
    /// Redirect URIs registered with the provider, to check the login against.
    #[serde(default)]
    pub registered_redirect_uris: Option<Vec<String>>,
}

/// Arguments of `export_report`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ExportReportArgs {
    /// A login id from list_logins, or the id of any exchange in it.
    pub login: String,
    /// Redirect URIs registered with the provider, to check the login against.
    #[serde(default)]
    pub registered_redirect_uris: Option<Vec<String>>,
}

/// One finding, with where it was found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable annotation code (`diagnosis.redirect_uri_mismatch`, `error.invalid_grant`).
    pub code: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// One line.
    pub title: String,
    /// What it means and what to do.
    pub detail: String,
    /// The exchange it is on.
    pub exchange: String,
    /// Its position in the login (1 = first exchange shown).
    pub exchange_index: usize,
    /// Named facts backing it (records, fields, expected/actual, ...).
    pub evidence: Value,
    /// For redirect_uri differences: expected, actual and a caret under
    /// the first differing character.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

fn finding(i: usize, r: &Record, a: &Annotation) -> Finding {
    Finding {
        code: a.code.clone(),
        severity: a.severity.as_str().to_string(),
        title: a.title.clone(),
        detail: a.detail.clone(),
        exchange: r.id.clone(),
        exchange_index: i + 1,
        evidence: a.evidence.clone(),
        diff: report::redirect_diff(a),
    }
}

/// The main finding of a login: the most severe listed annotation, a
/// diagnosis first among equals (as [`Record::top_annotation`] ranks them).
fn main_finding(records: &[Record]) -> Option<Finding> {
    let mut best: Option<(usize, &Record, &Annotation)> = None;
    // The cause is a diagnosis when the login has one worth a look
    // (warning or worse: a failure a retry recovered from keeps its
    // diagnosis at warning); else the worst finding.
    let rank = |a: &Annotation| {
        let cause = a.code.starts_with("diagnosis.")
            && a.code != "diagnosis.recovered"
            && a.severity >= Severity::Warning;
        (cause, a.severity)
    };
    for (i, r) in records.iter().enumerate() {
        for a in &r.annotations {
            if best.is_none_or(|(_, _, b)| rank(a) > rank(b)) {
                best = Some((i, r, a));
            }
        }
    }
    best.map(|(i, r, a)| finding(i, r, a))
}

fn time(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn hosts(records: &[Record]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in records
        .iter()
        .filter_map(|r| r.url().and_then(|u| u.host_str().map(str::to_string)))
    {
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

/// One row of `list_logins`.
#[derive(Debug, Clone, Serialize)]
pub struct LoginSummary {
    /// The login id (pass it to show_login / export_report).
    pub login: String,
    /// failed, recovered or succeeded.
    pub outcome: Outcome,
    /// What failed, the error and the cause found ("Token exchange failed: invalid_grant (redirect_uri differs: trailing slash)").
    pub headline: String,
    /// The main finding (code, severity, title, exchange).
    pub cause: Option<Value>,
    /// Time of its first exchange (RFC 3339).
    pub started: String,
    /// Time of its newest exchange (RFC 3339).
    pub last_activity: String,
    /// Hosts it talked to, in order of first use.
    pub hosts: Vec<String>,
    /// Exchanges analysed (all of the login when `complete`).
    pub exchanges: usize,
    /// False when the login is longer than what was analysed (its first and newest exchanges).
    pub complete: bool,
    /// Worst severity of any finding.
    pub worst_severity: Option<String>,
}

/// The summary of a login from its analysed (and redacted) records.
pub fn summarize(login: &str, records: &[Record], complete: bool) -> LoginSummary {
    let cause = main_finding(records).map(|f| {
        json!({
            "code": f.code,
            "severity": f.severity,
            "title": f.title,
            "exchange": f.exchange,
        })
    });
    LoginSummary {
        login: login.to_string(),
        outcome: outcome_of(records),
        headline: report::outcome(records),
        cause,
        started: records.first().map(|r| time(r.time)).unwrap_or_default(),
        last_activity: records.last().map(|r| time(r.time)).unwrap_or_default(),
        hosts: hosts(records),
        exchanges: records.len(),
        complete,
        worst_severity: records
            .iter()
            .filter_map(Record::max_severity)
            .max()
            .map(|s| s.as_str().to_string()),
    }
}

/// Analyse raw records (time order) and redact the result; records keep
/// their stored flow. The redactor learns every secret met.
pub fn analysed_redacted(
    raw: &[Record],
    opts: &AnalyzeOptions,
    redactor: &mut Redactor,
) -> Vec<Record> {
    let mut analysed = analyze(raw, opts);
    analysed.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    redactor.redact_records(&analysed)
}

/// The filters of `list_logins` that need the analysis.
pub struct Filters {
    outcome: Option<Outcome>,
    host: Option<String>,
    code: Option<String>,
}

impl Filters {
    /// From the arguments (empty strings are no filter).
    pub fn of(outcome: Option<Outcome>, host: &Option<String>, code: &Option<String>) -> Filters {
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_ascii_lowercase)
        };
        Filters {
            outcome,
            host: clean(host),
            code: clean(code),
        }
    }

    /// Does the login (its summary and analysed records) pass?
    pub fn keep(&self, s: &LoginSummary, records: &[Record]) -> bool {
        self.outcome.is_none_or(|o| s.outcome == o)
            && self
                .host
                .as_deref()
                .is_none_or(|h| s.hosts.iter().any(|x| x.to_ascii_lowercase().contains(h)))
            && self.code.as_deref().is_none_or(|c| {
                records
                    .iter()
                    .flat_map(|r| &r.annotations)
                    .any(|a| a.code.to_ascii_lowercase().starts_with(c))
            })
    }
}

/// The text summary of a page of logins.
pub fn page_text(logins: &[LoginSummary], next: Option<&str>) -> String {
    let mut s = String::new();
    if logins.is_empty() {
        s.push_str("No login matches.");
    } else {
        let _ = writeln!(
            s,
            "{} login{}:",
            logins.len(),
            if logins.len() == 1 { "" } else { "s" }
        );
        for l in logins {
            let _ = writeln!(
                s,
                "- {} [{}] {} · {} · {}",
                l.login,
                l.outcome.as_str(),
                l.headline,
                l.last_activity,
                l.hosts.join(", ")
            );
        }
    }
    if let Some(c) = next {
        let _ = write!(s, "\nMore: call again with cursor={c}.");
    }
    s.trim_end().to_string()
}

fn parse_since(s: &Option<String>) -> Result<Option<time::OffsetDateTime>, ToolError> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => crate::cli::parse_when(s)
            .map(Some)
            .map_err(|e| ToolError::BadArgument(e.to_string())),
    }
}

/// `list_logins`: scan the capture newest first, one login per stored flow
/// met, until the page is full or [`SCAN_LIMIT`] exchanges were read. The
/// cursor is the id of the last exchange read; a login whose newest
/// exchange is at or after the cursor was listed (or filtered out) on an
/// earlier page, so pages never repeat a login.
pub fn list_logins(ctx: &Context, args: &ListLoginsArgs) -> Result<Answer, ToolError> {
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ToolError::BadArgument(format!(
            "limit must be between 1 and {MAX_LIMIT} (got {limit})"
        )));
    }
    let cursor = match args
        .cursor
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(c) => {
            let c = capture::check_id(c)?;
            if c.len() != 16 {
                return Err(ToolError::BadArgument(format!(
                    "cursor {c:?} is not a next_cursor from list_logins (16 hex digits)"
                )));
            }
            Some(c)
        }
        None => None,
    };
    let since = parse_since(&args.since)?;
    let filters = Filters::of(args.outcome, &args.host, &args.code);
    let records = capture::open(&ctx.home)?;
    let opts = ctx.opts.clone();
    let mut redactor = ctx.redactor();
    let mut seen: HashSet<String> = HashSet::new();
    let mut logins: Vec<LoginSummary> = Vec::new();
    let mut before = cursor.clone();
    let mut scanned = 0usize;
    let mut exhausted = false;
    'scan: loop {
        let chunk = records
            .query(&Query {
                before_id: before.clone(),
                since,
                newest_first: true,
                limit: Some(CHUNK),
                ..Query::default()
            })
            .map_err(capture::access)?;
        if chunk.is_empty() {
            exhausted = true;
            break;
        }
        for r in chunk {
            scanned += 1;
            before = Some(r.id.clone());
            let login = r.flow.clone().unwrap_or_else(|| r.id.clone());
            if seen.insert(login.clone()) {
                let window: LoginWindow = capture::login_window(&records, &login)?;
                let listed_before = cursor
                    .as_deref()
                    .is_some_and(|c| window.newest_id().is_some_and(|n| n >= c));
                if !listed_before && !window.records.is_empty() {
                    let shown = analysed_redacted(&window.records, &opts, &mut redactor);
                    let s = summarize(&login, &shown, window.complete);
                    if filters.keep(&s, &shown) {
                        logins.push(s);
                    }
                }
            }
            if logins.len() >= limit || scanned >= SCAN_LIMIT {
                break 'scan;
            }
        }
    }
    let next_cursor = if exhausted { None } else { before };
    let summary = page_text(&logins, next_cursor.as_deref());
    let data = json!({
        "logins": logins,
        "next_cursor": next_cursor,
        "exchanges_scanned": scanned,
        "note": if !exhausted && logins.len() < limit {
            Some(format!("stopped after reading {scanned} exchanges; call again with cursor to go on"))
        } else {
            None
        },
    });
    Ok(Answer {
        summary,
        data,
        redactor: Some(redactor),
    })
}

/// One exchange as a row of a login.
fn exchange_row(i: usize, r: &Record, prev: Option<&Record>) -> Value {
    json!({
        "index": i + 1,
        "id": r.id,
        "time": time(r.time),
        "after_previous": prev.map(|p| report::delta(p, r)),
        "kind": r.kind.as_str(),
        "grant_type": r.grant_type,
        "method": r.request.method,
        "url": crate::view::host_path(&r.request.url),
        "status": r.response.as_ref().map(|x| x.status),
        "flavour": r.flavour.as_ref().map(|f| json!({
            "number": f.number,
            "client_auth": f.client_auth,
            "body": f.body,
        })),
        "annotations": r.annotations.iter().filter(|a| a.is_listed()).map(|a| json!({
            "code": a.code,
            "severity": a.severity.as_str(),
        })).collect::<Vec<_>>(),
        "error": r.error,
    })
}

/// A login in full (`show_login`, `analyze_har` with a login), from its
/// analysed and redacted records: its summary, the diagnosis (every
/// `diagnosis.*` finding, most severe first), the other findings, the
/// exchanges in order and the Mermaid sequence diagram.
pub fn detail(login: &str, records: &[Record], complete: bool) -> (String, Value) {
    let summary = summarize(login, records, complete);
    let mut all: Vec<(usize, &Record, &Annotation)> = records
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.annotations
                .iter()
                .filter(|a| a.is_listed())
                .map(move |a| (i, r, a))
        })
        .collect();
    all.sort_by_key(|(i, _, a)| (std::cmp::Reverse(a.severity), *i));
    let (diag, other): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|(_, _, a)| a.code.starts_with("diagnosis."));
    let diagnosis: Vec<Finding> = diag.iter().map(|(i, r, a)| finding(*i, r, a)).collect();
    let findings: Vec<Finding> = other.iter().map(|(i, r, a)| finding(*i, r, a)).collect();
    let exchanges: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| exchange_row(i, r, i.checked_sub(1).map(|p| &records[p])))
        .collect();
    let sequence = report::mermaid::sequence_diagram(records);

    let mut text = format!(
        "Login {login} [{}]: {}\n",
        summary.outcome.as_str(),
        summary.headline
    );
    let lead: Vec<&Finding> = if diagnosis.is_empty() {
        findings
            .iter()
            .filter(|f| f.severity == Severity::Error.as_str())
            .collect()
    } else {
        diagnosis.iter().collect()
    };
    for f in lead.iter().take(3) {
        let _ = writeln!(
            text,
            "- {} ({}, exchange {} {}): {}",
            f.code, f.severity, f.exchange_index, f.exchange, f.title
        );
        if let Some(d) = &f.diff {
            for line in d.lines() {
                let _ = writeln!(text, "    {line}");
            }
        }
    }
    if let Some(f) = lead.first() {
        if !f.detail.trim().is_empty() {
            let _ = writeln!(text, "What to do: {}", f.detail.trim());
        }
    }
    let _ = write!(
        text,
        "{} exchange{}{}.",
        records.len(),
        if records.len() == 1 { "" } else { "s" },
        if complete {
            ""
        } else {
            " shown (the login's first and newest; it is longer)"
        }
    );
    let data = json!({
        "login": summary.login,
        "outcome": summary.outcome,
        "headline": summary.headline,
        "diagnosis": diagnosis,
        "findings": findings,
        "exchanges": exchanges,
        "sequence_mermaid": sequence,
        "hosts": summary.hosts,
        "started": summary.started,
        "last_activity": summary.last_activity,
        "complete": complete,
    });
    (text, data)
}

/// The raw records `show_login` analyses: the login's window plus the
/// latest discovery documents (what `flows show` adds, for issuer checks).
fn with_discovery(
    records: &crate::access::Records,
    window: &LoginWindow,
) -> Result<Vec<Record>, ToolError> {
    let mut raw = window.records.clone();
    if let Some(newest) = window.records.last() {
        let ids: HashSet<&str> = raw.iter().map(|r| r.id.as_str()).collect();
        let mut extra: Vec<Record> = crate::rolling::window_of(newest, false, true, |q| {
            if q.flow.is_some() {
                Ok(Vec::new())
            } else {
                records.query(q)
            }
        })
        .map_err(capture::access)?
        .into_iter()
        .filter(|r| r.kind == Kind::Discovery && !ids.contains(r.id.as_str()))
        .collect();
        raw.append(&mut extra);
    }
    Ok(raw)
}

/// `show_login`.
pub fn show_login(ctx: &Context, args: &ShowLoginArgs) -> Result<Answer, ToolError> {
    let records = capture::open(&ctx.home)?;
    let login = capture::login_of(&records, &args.login)?;
    let window = capture::login_window(&records, &login)?;
    let raw = with_discovery(&records, &window)?;
    let in_login: HashSet<&str> = window.records.iter().map(|r| r.id.as_str()).collect();
    let mut redactor = ctx.redactor();
    let shown: Vec<Record> = analysed_redacted(
        &raw,
        &ctx.opts_with(&args.registered_redirect_uris),
        &mut redactor,
    )
    .into_iter()
    .filter(|r| in_login.contains(r.id.as_str()))
    .collect();
    let (summary, data) = detail(&login, &shown, window.complete);
    Ok(Answer {
        summary,
        data,
        redactor: Some(redactor),
    })
}

/// `export_report`: [`crate::cli::export::stream`] over the login's
/// records (the whole login, any length: the report keeps its first and
/// last exchanges and says what it left out), always redacted.
pub fn export_report(ctx: &Context, args: &ExportReportArgs) -> Result<Answer, ToolError> {
    use crate::cli::export::{stream, Filter, Format};
    let records = capture::open(&ctx.home)?;
    let login = capture::login_of(&records, &args.login)?;
    let opts = ctx.opts_with(&args.registered_redirect_uris);
    let q = Query {
        flow: Some(login.clone()),
        ..Query::default()
    };
    let mut each = |f: &mut dyn FnMut(Record)| {
        records
            .each(&q, |r| {
                f(r);
                Ok(())
            })
            .map_err(|e| e.to_string())
    };
    let mut redactor = ctx.redactor();
    let mut out: Vec<u8> = Vec::new();
    let filter = Filter {
        flow: Some(login.clone()),
        stored_flows: true,
        ..Filter::default()
    };
    let n = stream(
        &mut each,
        &opts,
        &filter,
        Format::Md,
        Some(&mut redactor),
        &mut out,
    )
    .map_err(|e| ToolError::Access(e.to_string()))?;
    if n == 0 {
        return Err(ToolError::UnknownId(format!(
            "login {login:?} has no exchanges; call list_logins to see the ids"
        )));
    }
    let markdown = String::from_utf8_lossy(&out).into_owned();
    let title = markdown
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .to_string();
    Ok(Answer {
        summary: format!(
            "Markdown bug report of login {login} ({n} exchange{}, redacted): {title}",
            if n == 1 { "" } else { "s" }
        ),
        data: json!({
            "login": login,
            "exchanges": n,
            "redacted": true,
            "markdown": markdown,
        }),
        redactor: Some(redactor),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Body, Response};

    fn token(n: u64, status: u16, body: &str) -> Record {
        let t = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let mut r = Record::bare(
            &format!("{:016x}", 100 + n),
            t + time::Duration::seconds(n as i64),
            Kind::TokenRequest,
            "POST",
            "https://idp.example/token",
        );
        r.response = Some(Response {
            status,
            headers: Default::default(),
            body: Body::from_bytes(body.as_bytes()),
        });
        r
    }

    #[test]
    fn outcome_is_what_happened_after_the_last_failure() {
        let ok = |n| token(n, 200, r#"{"access_token":"x","token_type":"Bearer"}"#);
        let bad = |n| token(n, 400, r#"{"error":"invalid_grant"}"#);
        assert_eq!(outcome_of(&[ok(1)]), Outcome::Succeeded);
        assert_eq!(outcome_of(&[bad(1)]), Outcome::Failed);
        assert_eq!(outcome_of(&[bad(1), ok(2)]), Outcome::Recovered);
        // Tokens first, then a refresh that fails: the login is broken now.
        assert_eq!(outcome_of(&[ok(1), bad(2)]), Outcome::Failed);
        // An OAuth error in a 200 (GitHub, Slack) is a failure too.
        let hidden = token(1, 200, r#"{"error":"bad_verification_code"}"#);
        assert_eq!(outcome_of(&[hidden]), Outcome::Failed);
        // No response at all (the upstream failed) is a failure.
        let mut lost = ok(1);
        lost.response = None;
        assert_eq!(outcome_of(&[lost, ok(2)]), Outcome::Recovered);
    }
}

/// Arguments of `diff_logins`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct DiffLoginsArgs {
    /// The login that fails (or the first one): a login id from list_logins, or the id of any exchange in it.
    pub a: String,
    /// The login to compare it with (one that works): a login id, or the id of any exchange in it.
    pub b: String,
}

/// `diff_logins`: the two stored logins aligned by protocol step and
/// compared in OAuth terms ([`crate::analyze::diff::diff`], as
/// `oauthscope diff` does), most likely cause first; values redacted.
pub fn diff_logins(ctx: &Context, args: &DiffLoginsArgs) -> Result<Answer, ToolError> {
    let records = capture::open(&ctx.home)?;
    let side = |id: &str| -> Result<Vec<Record>, ToolError> {
        let id = capture::check_id(id)?;
        crate::cli::diff::stored_login(&records, &id)
            .map(|(_, login)| login)
            .map_err(|e| {
                ToolError::UnknownId(format!("{id}: {e:#}; call list_logins to see the ids"))
            })
    };
    let (a, b) = (side(&args.a)?, side(&args.b)?);
    let report = crate::analyze::diff::diff(&a, &b);
    let mut redactor = ctx.redactor();
    // Learn every secret of both sides; the answer is swept for them.
    let _ = redactor.redact_records(&a);
    let _ = redactor.redact_records(&b);
    let data = serde_json::to_value(&report).map_err(|e| ToolError::Internal(e.to_string()))?;
    let mattering: Vec<&crate::analyze::diff::Difference> = report.mattering().collect();
    let summary = match mattering.first() {
        Some(d) => format!(
            "{} difference{} that can matter; first: {} {}",
            mattering.len(),
            if mattering.len() == 1 { "" } else { "s" },
            d.step,
            d.what
        ),
        None => "No difference that matters between the two logins.".to_string(),
    };
    Ok(Answer {
        summary,
        data,
        redactor: Some(redactor),
    })
}

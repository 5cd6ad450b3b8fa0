//! The Markdown bug report (`oauthscope export --format md`).
//!
//! One section per flow: a title naming the outcome ("Token exchange failed:
//! invalid_grant (redirect_uri differs: trailing slash)"), a Mermaid
//! `sequenceDiagram`, a table of exchanges, every annotation with its
//! explanation and fix (the `redirect_uri` diff with a caret line in a fenced
//! block, so it aligns), the token-request flavour, and the requests and
//! responses in fenced blocks. Written to read well pasted into a GitHub
//! issue. Pass redacted records unless the user asked otherwise.

pub mod mermaid;

use crate::record::{Annotation, Body, Kind, Record, Severity};
use serde_json::Value;
use std::fmt::Write as _;

/// Options for [`markdown`].
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// True when the records were redacted (said at the top of the report).
    pub redacted: bool,
    /// How many exchanges were selected, when the report shows only part
    /// of them (a streamed export of a long capture).
    pub total: Option<usize>,
    /// Flow id (or `record:ID`) → exchanges of that flow left out of its
    /// section (between its first and its last ones shown).
    pub omitted: std::collections::HashMap<String, usize>,
    /// Flows selected but not shown at all.
    pub flows_left_out: usize,
}

/// Longest body shown in the report; the HAR/JSON exports keep the rest.
const BODY_LIMIT: usize = 4000;

/// The report for records (analysed, in time order; redacted when sharing).
pub fn markdown(records: &[Record], opts: &ReportOptions) -> String {
    let flows = group_by_flow(records);
    let mut out = String::new();
    if flows.len() == 1 {
        let _ = writeln!(out, "# {}\n", md_text(&outcome(&flows[0])));
        preamble(&mut out, records, opts);
        flow_section(&mut out, &flows[0], 2);
        left_out(&mut out, &flows[0], opts);
    } else {
        let _ = writeln!(
            out,
            "# oauthscope capture: {} flows, {} exchanges\n",
            flows.len() + opts.flows_left_out,
            opts.total.unwrap_or(records.len())
        );
        preamble(&mut out, records, opts);
        if flows.is_empty() {
            out.push_str("No exchanges were selected.\n");
        }
        for (i, f) in flows.iter().enumerate() {
            let _ = writeln!(out, "## Flow {}: {}\n", i + 1, md_text(&outcome(f)));
            flow_section(&mut out, f, 3);
            left_out(&mut out, f, opts);
        }
        if opts.flows_left_out > 0 {
            let _ = writeln!(
                out,
                "_{} more flow{} left out of this report; `oauthscope export --format har` has every exchange._\n",
                opts.flows_left_out,
                if opts.flows_left_out == 1 { " is" } else { "s are" }
            );
        }
    }
    out
}

/// Say what a long flow's section leaves out.
fn left_out(out: &mut String, flow: &[Record], opts: &ReportOptions) {
    let key = flow
        .first()
        .map(|r| r.flow.clone().unwrap_or_else(|| format!("record:{}", r.id)));
    if let Some(n) = key.and_then(|k| opts.omitted.get(&k)) {
        let _ = writeln!(
            out,
            "_{n} exchange{} of this flow, between the first and the last ones shown, {} left out of this report; `oauthscope export --format har` has them all._\n",
            if *n == 1 { "" } else { "s" },
            if *n == 1 { "is" } else { "are" }
        );
    }
}

/// Records grouped by `flow` (records without one stand alone), groups in
/// order of their first record, records in time order within a group.
fn group_by_flow(records: &[Record]) -> Vec<Vec<Record>> {
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    let mut keys: Vec<String> = Vec::new();
    let mut groups: Vec<Vec<Record>> = Vec::new();
    for r in sorted {
        let key = r.flow.clone().unwrap_or_else(|| format!("record:{}", r.id));
        match keys.iter().position(|k| *k == key) {
            Some(i) => groups[i].push(r.clone()),
            None => {
                keys.push(key);
                groups.push(vec![r.clone()]);
            }
        }
    }
    groups
}

fn preamble(out: &mut String, records: &[Record], opts: &ReportOptions) {
    let when = records
        .first()
        .map(|r| format_time(r.time, true))
        .unwrap_or_default();
    let hosts: Vec<String> = {
        let mut h: Vec<String> = records
            .iter()
            .filter_map(|r| url::Url::parse(&r.request.url).ok())
            .filter_map(|u| u.host_str().map(str::to_string))
            .collect();
        h.dedup();
        let mut uniq = Vec::new();
        for x in h {
            if !uniq.contains(&x) {
                uniq.push(x);
            }
        }
        uniq
    };
    let _ = writeln!(
        out,
        "> Captured with oauthscope {} · {} · {} exchange{} · hosts: {}",
        env!("CARGO_PKG_VERSION"),
        when,
        opts.total.unwrap_or(records.len()),
        if opts.total.unwrap_or(records.len()) == 1 {
            ""
        } else {
            "s"
        },
        hosts
            .iter()
            .map(|h| code_span(h))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if opts.redacted {
        out.push_str(
            ">\n> Secrets (codes, tokens, client secrets, verifiers, passwords, cookies, JWT signatures) \
             are replaced by fingerprints such as `«redacted:3f9a1c»`. The same value has the same \
             fingerprint within this report, so reuse stays visible; fingerprints from another \
             export cannot be matched with these.\n\n",
        );
    } else {
        out.push_str(
            ">\n> ⚠️ **NOT REDACTED**: this report contains live secrets. Do not post it publicly.\n\n",
        );
    }
}

/// The outcome of a flow, as a title: what failed, the error, and the cause
/// the analysis found.
pub fn outcome(records: &[Record]) -> String {
    // The last failure is the one the login ended on (judged by outcome:
    // an earlier failure a retry recovered from is history), and its own
    // diagnosis explains it before any other record's.
    let failed = records.iter().rev().find(|r| is_failure(r));
    let cause = failed
        .and_then(|r| cause(std::slice::from_ref(r)))
        .or_else(|| cause(records));
    match failed {
        Some(r) => {
            let phase = match r.kind {
                Kind::TokenRequest if r.grant_type.as_deref() == Some("refresh_token") => {
                    "Token refresh failed".to_string()
                }
                Kind::TokenRequest => "Token exchange failed".to_string(),
                Kind::AuthorizeRequest | Kind::AuthorizationResponse | Kind::Callback => {
                    "Authorization failed".to_string()
                }
                Kind::DeviceAuthorization => "Device authorization failed".to_string(),
                Kind::Par => "Pushed authorization request failed".to_string(),
                Kind::Userinfo => "Userinfo request failed".to_string(),
                Kind::Discovery => "Discovery failed".to_string(),
                k => format!("{} failed", capitalise(&k.as_str().replace('_', " "))),
            };
            let error = error_name(r);
            match cause {
                Some(c) if !c.eq_ignore_ascii_case(&error) => format!("{phase}: {error} ({c})"),
                _ => format!("{phase}: {error}"),
            }
        }
        None => {
            let errors = records
                .iter()
                .flat_map(|r| &r.annotations)
                .filter(|a| a.severity == Severity::Error)
                .count();
            let warnings = records
                .iter()
                .flat_map(|r| &r.annotations)
                .filter(|a| a.severity == Severity::Warning)
                .count();
            let base = if records.iter().any(|r| {
                r.kind == Kind::TokenRequest && r.grant_type.as_deref() == Some("refresh_token")
            }) {
                "Token refresh succeeded"
            } else if records.iter().any(|r| r.kind == Kind::TokenRequest) {
                "Token exchange succeeded"
            } else {
                "No failed exchange"
            };
            match (errors, warnings, cause) {
                (0, 0, _) => base.to_string(),
                (e, _, Some(c)) if e > 0 => format!("{base}, but {c}"),
                (e, w, _) => format!(
                    "{base} with {}",
                    [(e, "error"), (w, "warning")]
                        .iter()
                        .filter(|(n, _)| *n > 0)
                        .map(|(n, w)| format!("{n} {w}{}", if *n == 1 { "" } else { "s" }))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Did this exchange fail (HTTP error, no response, an OAuth error)?
pub fn is_failure(r: &Record) -> bool {
    r.response.as_ref().is_none_or(|x| x.status >= 400)
        || mermaid::response_error(r).is_some()
        || r.annotations
            .iter()
            .any(|a| a.code.starts_with("error.") && a.severity == Severity::Error)
}

/// The error a failed exchange reports: the OAuth error code, else the HTTP status.
fn error_name(r: &Record) -> String {
    if let Some(e) = mermaid::response_error(r) {
        return e;
    }
    if let Some(a) = r
        .annotations
        .iter()
        .find(|a| a.code.starts_with("error.") && a.code != "error.hidden_in_success")
    {
        return a.code["error.".len()..].to_string();
    }
    match &r.response {
        Some(resp) => format!(
            "HTTP {} {}",
            resp.status,
            http::StatusCode::from_u16(resp.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
        )
        .trim_end()
        .to_string(),
        None => format!(
            "no response ({})",
            r.error.as_deref().unwrap_or("upstream failed")
        ),
    }
}

/// The cause the analysis found: a redirect_uri difference, else the first diagnosis.
fn cause(records: &[Record]) -> Option<String> {
    let all: Vec<&Annotation> = records.iter().flat_map(|r| &r.annotations).collect();
    if let Some(a) = all.iter().find(|a| a.code == "redirect_uri.mismatch") {
        let kinds: Vec<String> = a
            .evidence
            .get("kinds")
            .and_then(Value::as_array)
            .map(|k| {
                k.iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.replace('_', " "))
                    .collect()
            })
            .unwrap_or_default();
        return Some(if kinds.is_empty() {
            "redirect_uri differs".to_string()
        } else {
            format!("redirect_uri differs: {}", kinds.join(", "))
        });
    }
    all.iter()
        .find(|a| a.code.starts_with("diagnosis."))
        .map(|a| a.title.trim_end_matches('.').to_string())
}

fn flow_section(out: &mut String, records: &[Record], level: usize) {
    let h = "#".repeat(level);
    if let Some(f) = records.first().and_then(|r| r.flow.as_deref()) {
        let _ = writeln!(
            out,
            "Flow {} · {} exchange{}\n",
            code_span(f),
            records.len(),
            if records.len() == 1 { "" } else { "s" }
        );
    }

    let _ = writeln!(out, "{h} Sequence\n");
    out.push_str("```mermaid\n");
    out.push_str(&mermaid::sequence_diagram(records));
    out.push_str("```\n\n");

    let _ = writeln!(out, "{h} Exchanges\n");
    out.push_str("| # | time (UTC) | after | kind | request | status | flavour | findings |\n");
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    let mut prev: Option<&Record> = None;
    for (i, r) in records.iter().enumerate() {
        let status = match &r.response {
            Some(x) => x.status.to_string(),
            None => "—".into(),
        };
        let flavour = r
            .flavour
            .as_ref()
            .map(|f| match f.number {
                Some(n) => format!("{n} ({})", f.client_auth),
                None => f.client_auth.clone(),
            })
            .unwrap_or_default();
        let findings = r
            .annotations
            .iter()
            .map(|a| format!("{} {}", icon(a.severity), code_span(&a.code)))
            .collect::<Vec<_>>()
            .join("<br>");
        let kind = match &r.grant_type {
            Some(g) => format!("{} ({})", r.kind, g.rsplit(':').next().unwrap_or(g)),
            None => r.kind.to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            format_time(r.time, false),
            prev.map(|p| delta(p, r)).unwrap_or_default(),
            cell(&md_text(&kind)),
            cell(&code_span(&format!(
                "{} {}",
                r.request.method,
                crate::view::host_path(&r.request.url)
            ))),
            status,
            cell(&md_text(&flavour)),
            findings
        );
        prev = Some(r);
    }
    out.push('\n');

    let annotated: Vec<(usize, &Record)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.annotations.is_empty())
        .collect();
    if !annotated.is_empty() {
        let _ = writeln!(out, "{h} Findings\n");
        // Most severe first across the flow, then in exchange order.
        let mut all: Vec<(usize, &Record, &Annotation)> = annotated
            .iter()
            .flat_map(|(i, r)| r.annotations.iter().map(move |a| (*i, *r, a)))
            .collect();
        all.sort_by_key(|(i, _, a)| (std::cmp::Reverse(a.severity), *i));
        for (i, r, a) in all {
            annotation_section(out, i + 1, r, a, level + 1);
        }
    }

    let flavoured: Vec<(usize, &Record)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.flavour.is_some())
        .collect();
    if !flavoured.is_empty() {
        let _ = writeln!(out, "{h} Token request flavour\n");
        for (i, r) in flavoured {
            let f = r.flavour.as_ref().expect("filtered");
            let _ = write!(
                out,
                "- Exchange {} ({}): ",
                i + 1,
                code_span(&format!(
                    "{} {}",
                    r.request.method,
                    crate::view::host_path(&r.request.url)
                ))
            );
            match f.number {
                Some(n) => {
                    let _ = write!(out, "**flavour {n}**: {}", flavour_description(n));
                }
                None => {
                    let _ = write!(out, "**no common flavour**");
                }
            }
            let _ = write!(
                out,
                " (client_auth {}, body {})",
                code_span(&f.client_auth),
                code_span(&f.body)
            );
            if let Some(note) = &f.note {
                let _ = write!(out, ". {}", md_text(note));
            }
            out.push('\n');
        }
        out.push('\n');
    }

    let _ = writeln!(out, "{h} Requests and responses\n");
    for (i, r) in records.iter().enumerate() {
        exchange_section(out, i + 1, r);
    }
}

/// The six flavours (docs/record-format.md) in words.
pub fn flavour_description(n: u8) -> &'static str {
    match n {
        1 => "`Authorization: Basic` of URL-encoded `client_id:client_secret` (RFC 6749 §2.3.1), form body",
        2 => "`Authorization: Basic` of URL-encoded `client_id:client_secret`, JSON body",
        3 => "`client_id` and `client_secret` in the form body",
        4 => "`client_id` and `client_secret` in a JSON body",
        5 => "`Authorization: Basic` of raw (not URL-encoded) `client_id:client_secret`, form body",
        6 => "`Authorization: Basic` of raw (not URL-encoded) `client_id:client_secret`, JSON body",
        _ => "unknown",
    }
}

fn icon(s: Severity) -> &'static str {
    match s {
        Severity::Error => "❌",
        Severity::Warning => "⚠️",
        Severity::Info => "ℹ️",
    }
}

/// Captured text for Markdown outside code: control characters made
/// visible (as on a terminal, [`crate::view::safe`], line by line) and
/// `&`, `<`, `>` written as HTML entities, so no raw HTML from a capture
/// reaches the rendered report (CommonMark §6.6 raw HTML).
pub fn md_text(s: &str) -> String {
    let lines: Vec<String> = s
        .split('\n')
        .map(|l| html_escape(&crate::view::safe(l)))
        .collect();
    lines.join("\n")
}

/// Captured text as one inline code span (CommonMark §6.1): control
/// characters and newlines made visible, delimited by a backtick run
/// longer than any inside (padded with a space when the text starts or
/// ends with a backtick or a space), so nothing inside can close the span
/// early. HTML inside a code span is shown literally: no entities here.
pub fn code_span(s: &str) -> String {
    let text = crate::view::safe(s);
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A table cell: no pipes or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn annotation_section(out: &mut String, n: usize, r: &Record, a: &Annotation, level: usize) {
    let h = "#".repeat(level.min(6));
    let _ = writeln!(
        out,
        "{h} {} {} {}: {}\n",
        icon(a.severity),
        a.severity,
        code_span(&a.code),
        md_text(a.title.trim())
    );
    let _ = writeln!(out, "On exchange {n} ({}).\n", r.kind);
    if !a.detail.trim().is_empty() {
        let _ = writeln!(out, "{}\n", md_text(a.detail.trim()));
    }
    if let Some(diff) = redirect_diff(a) {
        out.push_str(&fenced(&diff, "text"));
        out.push('\n');
    }
    if !a.evidence.is_null() && a.evidence != Value::Object(Default::default()) {
        let ev = serde_json::to_string_pretty(&a.evidence).unwrap_or_default();
        out.push_str("<details><summary>evidence</summary>\n\n");
        out.push_str(&fenced(&ev, "json"));
        out.push_str("\n</details>\n\n");
    }
}

/// `expected`/`actual` with a caret under the first differing character.
pub fn redirect_diff(a: &Annotation) -> Option<String> {
    let ev = &a.evidence;
    let expected = ev.get("expected")?.as_str()?;
    let actual = ev.get("actual")?.as_str()?;
    let idx = first_difference(expected, actual)?;
    let mut s = format!("expected: {expected}\nactual:   {actual}\n");
    s.push_str(&" ".repeat("actual:   ".len() + idx));
    s.push('^');
    if let Some(kinds) = ev.get("kinds").and_then(Value::as_array) {
        let k: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
        if !k.is_empty() {
            let _ = write!(s, " {}", k.join(", "));
        }
    }
    s.push('\n');
    Some(s)
}

/// Index (in characters) of the first character where `a` and `b` differ.
pub fn first_difference(a: &str, b: &str) -> Option<usize> {
    let mut ai = a.chars();
    let mut bi = b.chars();
    let mut i = 0;
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return None,
            (Some(x), Some(y)) if x == y => i += 1,
            _ => return Some(i),
        }
    }
}

/// A fenced block whose fence is longer than any backtick run inside;
/// control characters are made visible line by line
/// ([`crate::view::safe`]; HTML inside a fence is shown literally).
pub fn fenced(content: &str, lang: &str) -> String {
    let content = &content
        .split('\n')
        .map(|l| crate::view::safe(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let mut longest = 0;
    let mut run = 0;
    for c in content.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let mut s = format!("{fence}{lang}\n{content}");
    if !content.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&fence);
    s.push('\n');
    s
}

fn exchange_section(out: &mut String, n: usize, r: &Record) {
    let status = r
        .response
        .as_ref()
        .map(|x| x.status.to_string())
        .unwrap_or_else(|| "no response".into());
    let _ = writeln!(
        out,
        "<details><summary>{n}. {} · {} {} → {status}</summary>\n",
        r.kind,
        md_text(&r.request.method),
        md_text(&crate::view::host_path(&r.request.url))
    );
    let mut req = format!("{} {} HTTP/1.1\n", r.request.method, r.request.url);
    for (k, v) in &r.request.headers.0 {
        let _ = writeln!(req, "{k}: {v}");
    }
    if !r.request.body.is_empty() {
        req.push('\n');
        req.push_str(&body_text(&r.request.body));
    }
    out.push_str(&fenced(&req, "http"));
    out.push('\n');
    for (k, v) in &r.request.headers.0 {
        if let Some(d) = k
            .eq_ignore_ascii_case("authorization")
            .then(|| basic_decoded(v))
            .flatten()
        {
            let _ = writeln!(out, "`Authorization: Basic` decodes to {d}.\n");
        }
    }
    match &r.response {
        Some(resp) => {
            let reason = http::StatusCode::from_u16(resp.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            let mut s = format!("HTTP/1.1 {} {reason}\n", resp.status);
            for (k, v) in &resp.headers.0 {
                let _ = writeln!(s, "{k}: {v}");
            }
            if !resp.body.is_empty() {
                s.push('\n');
                s.push_str(&body_text(&resp.body));
            }
            out.push_str(&fenced(&s, "http"));
        }
        None => {
            let _ = writeln!(
                out,
                "No response: {}",
                md_text(r.error.as_deref().unwrap_or("the upstream failed"))
            );
        }
    }
    out.push_str("\n</details>\n\n");
}

/// What `Basic` credentials decode to (and, when URL-encoded, what that decodes to).
fn basic_decoded(v: &str) -> Option<String> {
    use base64::Engine as _;
    let (scheme, cred) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cred.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let url_decoded: String = url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    Some(if url_decoded != text {
        format!(
            "{} (URL-decoded: {})",
            code_span(&text),
            code_span(&url_decoded)
        )
    } else {
        code_span(&text)
    })
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A body for display: JSON pretty-printed, long bodies cut, binary summarised.
fn body_text(b: &Body) -> String {
    let Some(text) = b.as_text() else {
        return format!(
            "({} bytes of binary data; the HAR and JSON exports keep it, base64-encoded)",
            b.size.unwrap_or(b.bytes().len() as u64)
        );
    };
    let shown = match serde_json::from_str::<Value>(text.trim()) {
        Ok(v) if v.is_object() || v.is_array() => {
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string())
        }
        _ => text.to_string(),
    };
    let mut s = if shown.len() > BODY_LIMIT {
        let mut cut = BODY_LIMIT;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        format!(
            "{}\n… ({} more bytes; the HAR and JSON exports keep the whole body)",
            &shown[..cut],
            shown.len() - cut
        )
    } else {
        shown
    };
    if b.truncated {
        s.push_str("\n… (truncated at capture)");
    }
    s
}

/// `18:00:03.120` (or with the date).
fn format_time(t: time::OffsetDateTime, with_date: bool) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let hms = format!(
        "{:02}:{:02}:{:02}.{:03}",
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    );
    if with_date {
        format!(
            "{:04}-{:02}-{:02} {hms} UTC",
            t.year(),
            u8::from(t.month()),
            t.day()
        )
    } else {
        hms
    }
}

/// Time from one leg to the next: `+850 ms`, `+4.1 s`, `+2 min 3 s`.
pub fn delta(prev: &Record, next: &Record) -> String {
    let ms = (next.time - prev.time).whole_milliseconds();
    let sign = if ms < 0 { "-" } else { "+" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        format!("{sign}{ms} ms")
    } else if ms < 60_000 {
        format!("{sign}{:.1} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{sign}{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!(
            "{sign}{} h {} min",
            ms / 3_600_000,
            (ms % 3_600_000) / 60_000
        )
    }
}

/// `/path` of a URL without query, for diagram labels.
pub fn short_path(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.path().to_string(),
        Err(_) => url.split(['?', '#']).next().unwrap_or(url).to_string(),
    }
}

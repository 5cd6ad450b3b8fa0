//! Text views of records: the live line printed by `run`, the `flows list`
//! table and the `flows show` detail. Colour is optional (`--color`).

use crate::record::{Annotation, Record, Severity};
use owo_colors::OwoColorize;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Is `c` a character that must not reach a terminal raw: a C0 control
/// other than tab (ESC starts CSI/OSC sequences: window title, clipboard
/// writes, clearing the screen; CR rewrites the line), DEL, a C1 control
/// (U+0080–U+009F; U+009B is a one-byte CSI), or a bidirectional control
/// (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) that reorders what is
/// shown ("Trojan Source", CVE-2021-42574)?
pub fn is_unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Text from a capture (or a HAR, or a command line) made safe to print on
/// a terminal: every character [`is_unsafe_char`] names is written as a
/// visible escape, `\x1b` below U+0100 and `\u{202e}` above (a newline
/// is one of them, so one value stays on one line); all other text is kept
/// as it is. Every terminal writer passes captured values through this one
/// function (callers that print several lines split them first). Borrowed
/// when nothing needed escaping.
pub fn safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe_char(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// Serialized JSON made safe for a terminal without changing its value:
/// serde_json already escapes C0 controls inside strings; this also writes
/// DEL, C1 controls and bidirectional controls ([`is_unsafe_char`]) as
/// `\uXXXX` escapes (RFC 8259 §7), which any JSON reader decodes back to
/// the same characters. Outside strings JSON is ASCII, so only strings change.
pub fn json_safe(json: String) -> String {
    if !json
        .chars()
        .any(|c| c != '\n' && c != '\t' && is_unsafe_char(c))
    {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c != '\n' && c != '\t' && is_unsafe_char(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Paint `s` with `f` when colour is on.
fn paint(color: bool, s: &str, f: impl Fn(&str) -> String) -> String {
    if color {
        f(s)
    } else {
        s.to_string()
    }
}

/// A severity marker: `✖ error`, `▲ warning`, `• info`.
pub fn severity_label(sev: Severity, color: bool) -> String {
    match sev {
        Severity::Error => paint(color, "✖ error", |s| s.red().bold().to_string()),
        Severity::Warning => paint(color, "▲ warning", |s| s.yellow().bold().to_string()),
        Severity::Info => paint(color, "• info", |s| s.cyan().to_string()),
    }
}

fn status_text(rec: &Record, color: bool) -> String {
    match &rec.response {
        Some(r) => {
            let s = r.status.to_string();
            match r.status {
                200..=299 => paint(color, &s, |s| s.green().to_string()),
                300..=399 => paint(color, &s, |s| s.cyan().to_string()),
                _ => paint(color, &s, |s| s.red().to_string()),
            }
        }
        None => paint(color, "ERR", |s| s.red().bold().to_string()),
    }
}

/// `host/path` of a URL without its query (or the raw URL when it does not parse).
/// Escaped for a terminal ([`safe`]).
pub fn host_path(url: &str) -> String {
    let hp = match url::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{host}:{p}{}", u.path()),
                None => format!("{host}{}", u.path()),
            }
        }
        Err(_) => url.split('?').next().unwrap_or(url).to_string(),
    };
    safe(&hp).into_owned()
}

fn flavour_text(rec: &Record) -> String {
    match &rec.flavour {
        Some(f) => match f.number {
            Some(n) => format!("flavour {n}"),
            None => safe(&f.client_auth).into_owned(),
        },
        None => String::new(),
    }
}

fn local_time(rec: &Record) -> String {
    let t = rec.time;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// One-line summary of an annotation: `✖ error redirect_uri.mismatch: title`.
pub fn annotation_line(a: &Annotation, color: bool) -> String {
    format!(
        "{} {}: {}",
        severity_label(a.severity, color),
        paint(color, &safe(&a.code), |s| s.bold().to_string()),
        safe(&a.title)
    )
}

/// One line for the live log: time, kind, method, host+path, status, grant
/// type, flavour and the top annotation.
pub fn live_line(rec: &Record, color: bool) -> String {
    let mut line = format!(
        "{} {:<22} {:<6} {} {}",
        paint(color, &local_time(rec), |s| s.dimmed().to_string()),
        rec.kind.as_str(),
        safe(&rec.request.method),
        host_path(&rec.request.url),
        status_text(rec, color)
    );
    if let Some(g) = &rec.grant_type {
        let _ = write!(line, " {}", safe(g));
    }
    let fl = flavour_text(rec);
    if !fl.is_empty() {
        let _ = write!(line, " [{fl}]");
    }
    if let Some(e) = &rec.error {
        let _ = write!(
            line,
            "  {}",
            paint(color, &safe(e), |s| s.red().to_string())
        );
    }
    if let Some(a) = rec.top_annotation() {
        let _ = write!(line, "  {}", annotation_line(a, color));
    }
    let _ = write!(
        line,
        "  {}",
        paint(color, &safe(&rec.id), |s| s.dimmed().to_string())
    );
    line
}

/// What `flows list` prints when nothing is captured.
pub const EMPTY_LIST: &str = "No OAuth exchanges captured yet. Start the proxy with `oauthscope run` and send an app through it.\n";

/// The `flows list` table: one row per record, oldest first.
pub fn list(records: &[Record], color: bool) -> String {
    if records.is_empty() {
        return EMPTY_LIST.to_string();
    }
    let mut out = list_header(color);
    for r in records {
        out.push_str(&list_row(r, color));
    }
    out
}

/// The header line of the `flows list` table (with its newline).
pub fn list_header(color: bool) -> String {
    let header = format!(
        "{:<16}  {:<12}  {:<8}  {:<22}  {:<6}  {:<44}  {:>6}  {:<18}  {:<10}  {}",
        "ID",
        "TIME",
        "FLOW",
        "KIND",
        "METHOD",
        "HOST/PATH",
        "STATUS",
        "GRANT",
        "FLAVOUR",
        "TOP ANNOTATION"
    );
    format!("{}\n", paint(color, &header, |s| s.bold().to_string()))
}

/// One row of the `flows list` table (with its newline); fixed column
/// widths, so rows can be printed as they are analysed.
pub fn list_row(r: &Record, color: bool) -> String {
    let mut out = String::new();
    let flow = r
        .flow
        .as_deref()
        .map(|f| {
            let n = f.chars().count();
            safe(&f.chars().skip(n.saturating_sub(8)).collect::<String>()).into_owned()
        })
        .unwrap_or_default();
    let status = match &r.response {
        Some(resp) => resp.status.to_string(),
        None => "ERR".into(),
    };
    let status_colored = status_text(r, color);
    let pad = 6usize.saturating_sub(status.len());
    let mut hp = host_path(&r.request.url);
    if hp.chars().count() > 44 {
        hp = format!("{}…", hp.chars().take(43).collect::<String>());
    }
    let top = match r.top_annotation() {
        Some(a) => annotation_line(a, color),
        None => match &r.error {
            Some(e) => paint(color, &safe(e), |s| s.red().to_string()),
            None => String::new(),
        },
    };
    let _ = writeln!(
        out,
        "{:<16}  {:<12}  {:<8}  {:<22}  {:<6}  {:<44}  {}{}  {:<18}  {:<10}  {}",
        safe(&r.id),
        local_time(r),
        flow,
        r.kind.as_str(),
        safe(&r.request.method),
        hp,
        " ".repeat(pad),
        status_colored,
        safe(r.grant_type.as_deref().unwrap_or("-")),
        {
            let f = flavour_text(r);
            if f.is_empty() {
                "-".to_string()
            } else {
                f
            }
        },
        top
    );
    out
}

/// A body for a terminal, indented: JSON pretty-printed, binary summarised,
/// truncation said.
pub fn body_block(out: &mut String, body: &crate::record::Body) {
    if body.is_empty() {
        return;
    }
    match body.as_text() {
        Some(t) => {
            let pretty = serde_json::from_str::<serde_json::Value>(t)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok());
            let _ = writeln!(out);
            for line in pretty.as_deref().unwrap_or(t).lines() {
                let _ = writeln!(out, "    {}", safe(line));
            }
        }
        None => {
            let _ = writeln!(
                out,
                "\n    <binary body, {} base64 characters>",
                body.text.len()
            );
        }
    }
    if body.truncated {
        let _ = writeln!(
            out,
            "    … truncated (whole body was {} bytes; raise --max-body to keep more)",
            body.size
                .map(|s| s.to_string())
                .unwrap_or_else(|| "?".into())
        );
    }
    if let Some(e) = &body.decode_error {
        let _ = writeln!(
            out,
            "    (could not decode: {}; stored as received)",
            safe(e)
        );
    }
    if let Some(why) = &body.incomplete {
        let _ = writeln!(out, "    … incomplete: {why}");
    }
}

/// Render an annotation in full: line, detail, evidence (the caret diff is
/// printed verbatim so it lines up).
pub fn annotation_detail(a: &Annotation, color: bool) -> String {
    let mut out = format!("  {}\n", annotation_line(a, color));
    for line in a.detail.lines() {
        let _ = writeln!(out, "      {}", safe(line));
    }
    if let Some(obj) = a.evidence.as_object() {
        if let (Some(e), Some(act)) = (obj.get("expected"), obj.get("actual")) {
            if let (Some(e), Some(act)) = (e.as_str(), act.as_str()) {
                let _ = writeln!(out, "      expected: {}", safe(e));
                let _ = writeln!(out, "      actual:   {}", safe(act));
                if let Some(c) = obj.get("caret").and_then(|c| c.as_str()) {
                    let _ = writeln!(
                        out,
                        "                {}",
                        paint(color, &safe(c), |s| s.red().bold().to_string())
                    );
                }
            }
        }
        let rest: serde_json::Map<String, serde_json::Value> = obj
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "expected" | "actual" | "caret"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !rest.is_empty() {
            let ev = serde_json::Value::Object(rest).to_string();
            let _ = writeln!(out, "      evidence: {}", safe(&ev));
        }
    } else if !a.evidence.is_null() {
        let _ = writeln!(out, "      evidence: {}", safe(&a.evidence.to_string()));
    }
    out
}

/// The `flows show` detail of one record.
pub fn show(rec: &Record, color: bool) -> String {
    let mut out = String::new();
    let title = format!(
        "{} {} {}",
        rec.kind,
        safe(&rec.request.method),
        safe(&rec.request.url)
    );
    let _ = writeln!(out, "{}", paint(color, &title, |s| s.bold().to_string()));
    let _ = writeln!(out, "  id:       {}", safe(&rec.id));
    let when = rec
        .time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| rec.time.to_string());
    let _ = writeln!(out, "  time:     {when}");
    if let Some(f) = &rec.flow {
        let _ = writeln!(out, "  flow:     {}", safe(f));
    }
    if let Some(g) = &rec.grant_type {
        let _ = writeln!(out, "  grant:    {}", safe(g));
    }
    if let Some(f) = &rec.flavour {
        let n = f
            .number
            .map(|n| n.to_string())
            .unwrap_or_else(|| "none of the six".into());
        let _ = writeln!(
            out,
            "  flavour:  {n} (client auth: {}, body: {})",
            safe(&f.client_auth),
            safe(&f.body)
        );
        if let Some(note) = &f.note {
            let _ = writeln!(out, "            {}", safe(note));
        }
    }
    let _ = writeln!(out, "  duration: {} ms", rec.duration_ms);
    if let Some(e) = &rec.error {
        let _ = writeln!(
            out,
            "  upstream error: {}",
            paint(color, &safe(e), |s| s.red().to_string())
        );
    }
    let _ = writeln!(out);
    if rec.annotations.is_empty() {
        let _ = writeln!(out, "Annotations: none");
    } else {
        let _ = writeln!(out, "Annotations ({}):", rec.annotations.len());
        for a in &rec.annotations {
            out.push_str(&annotation_detail(a, color));
        }
    }
    let _ = writeln!(out, "\nRequest:");
    let _ = writeln!(
        out,
        "  {} {}",
        safe(&rec.request.method),
        safe(&rec.request.url)
    );
    for (n, v) in &rec.request.headers.0 {
        let _ = writeln!(out, "  {}: {}", safe(n), safe(v));
    }
    body_block(&mut out, &rec.request.body);
    match &rec.response {
        Some(resp) => {
            let _ = writeln!(out, "\nResponse:");
            let _ = writeln!(out, "  {}", status_text(rec, color));
            for (n, v) in &resp.headers.0 {
                let _ = writeln!(out, "  {}: {}", safe(n), safe(v));
            }
            body_block(&mut out, &resp.body);
        }
        None => {
            let _ = writeln!(out, "\nResponse: none (the upstream failed)");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{new_id, Body, HeaderList, Kind, Request, Response};
    use time::OffsetDateTime;

    #[test]
    fn live_line_names_kind_host_status_and_top_annotation() {
        let now = OffsetDateTime::now_utc();
        let rec = Record {
            id: new_id(now),
            time: now,
            flow: None,
            kind: Kind::TokenRequest,
            grant_type: Some("authorization_code".into()),
            request: Request {
                method: "POST".into(),
                url: "https://idp.example/oauth/token?x=1".into(),
                headers: HeaderList::default(),
                body: Body::default(),
            },
            response: Some(Response {
                status: 400,
                headers: HeaderList::default(),
                body: Body::default(),
            }),
            duration_ms: 5,
            error: None,
            flavour: None,
            annotations: vec![Annotation {
                code: "error.invalid_grant".into(),
                severity: Severity::Error,
                title: "the grant is invalid".into(),
                detail: String::new(),
                evidence: serde_json::Value::Null,
            }],
        };
        let line = live_line(&rec, false);
        for part in [
            "token_request",
            "POST",
            "idp.example/oauth/token",
            "400",
            "authorization_code",
            "error.invalid_grant",
        ] {
            assert!(line.contains(part), "{part} missing from {line}");
        }
        assert!(!line.contains("x=1"));
        assert!(show(&rec, false).contains("error.invalid_grant"));
        assert!(list(std::slice::from_ref(&rec), false).contains("TOP ANNOTATION"));
    }
}

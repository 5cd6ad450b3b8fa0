//! A Mermaid `sequenceDiagram` of one flow: App, Browser and Provider, one
//! message per request and one reply per response, with status codes and the
//! time between legs.

use super::{delta, short_path};
use crate::analyze::params;
use crate::record::{Kind, Record};

/// Who sends a request of this kind, and to whom.
pub fn ends(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::AuthorizeRequest | Kind::AuthorizationResponse => ("Browser", "Provider"),
        // The browser asks the app to log in; the app redirects it to the provider.
        Kind::Callback | Kind::LoginStart => ("Browser", "App"),
        _ => ("App", "Provider"),
    }
}

/// Mermaid treats `;` as a statement end and `#` as the start of an entity
/// code, and a few characters confuse its parser; keep labels to safe text.
pub fn label(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| match c {
            ';' => ',',
            '#' | '<' | '>' | '{' | '}' | '"' | '`' | '\n' | '\r' => ' ',
            // No control character from a capture reaches the report raw.
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.chars().count() > 90 {
        let cut: String = cleaned.chars().take(87).collect();
        format!("{cut}...")
    } else {
        cleaned
    }
}

/// What the request carries that matters for the diagram
/// (`POST /token (authorization_code)`).
pub fn request_label(r: &Record) -> String {
    let path = short_path(&r.request.url);
    let p = params::request_params(r);
    let extra = match r.kind {
        Kind::AuthorizeRequest => params::get(&p, "response_type")
            .map(|t| format!(" (response_type={t})"))
            .unwrap_or_default(),
        Kind::Callback => {
            if let Some(e) = params::get(&p, "error") {
                format!(" (error={e})")
            } else {
                let present: Vec<&str> = ["code", "state"]
                    .into_iter()
                    .filter(|k| params::get(&p, k).is_some())
                    .collect();
                if present.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", present.join(", "))
                }
            }
        }
        Kind::TokenRequest => r
            .grant_type
            .as_deref()
            .map(|g| format!(" ({})", g.rsplit(':').next().unwrap_or(g)))
            .unwrap_or_default(),
        _ => format!(" [{}]", r.kind),
    };
    format!("{} {path}{extra}", r.request.method)
}

/// The OAuth error a response carries (JSON body, or a redirect's parameters).
pub fn response_error(r: &Record) -> Option<String> {
    if let Some(e) = params::response_json(r)
        .and_then(|v| v.get("error").and_then(|e| e.as_str().map(str::to_string)))
    {
        return Some(e);
    }
    let loc = params::location_params(r);
    if let Some(e) = params::get(&loc, "error") {
        return Some(e.to_string());
    }
    if r.kind == Kind::Callback {
        return params::get(&params::request_params(r), "error").map(str::to_string);
    }
    None
}

/// The response in a few words (`302 Found to /callback (code, state)`),
/// and whether it failed (no response, 4xx/5xx, or an OAuth error).
pub fn response_label(r: &Record) -> (String, bool) {
    let Some(resp) = &r.response else {
        let why = r.error.as_deref().unwrap_or("no response");
        return (format!("no response: {why}"), true);
    };
    let reason = http::StatusCode::from_u16(resp.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut s = format!("{} {reason}", resp.status);
    let err = response_error(r);
    if let Some(loc) = params::redirect_location(r) {
        let loc = params::absolutize(&r.request.url, loc);
        let lp = params::location_params(r);
        let carried: Vec<&str> = ["code", "error", "state", "access_token", "id_token"]
            .into_iter()
            .filter(|k| params::get(&lp, k).is_some())
            .collect();
        s.push_str(&format!(" to {}", short_path(&loc)));
        if !carried.is_empty() {
            s.push_str(&format!(" ({})", carried.join(", ")));
        }
    }
    if let Some(e) = &err {
        if !s.contains(e.as_str()) {
            s.push_str(&format!(" {e}"));
        }
    }
    (s, resp.status >= 400 || err.is_some())
}

/// The diagram, without the surrounding fence.
pub fn sequence_diagram(records: &[Record]) -> String {
    let mut out = String::from("sequenceDiagram\n");
    let provider = records
        .iter()
        .filter(|r| ends(r.kind).1 == "Provider")
        .find_map(|r| url::Url::parse(&r.request.url).ok())
        .and_then(|u| u.host_str().map(str::to_string));
    out.push_str("    participant App\n    participant Browser\n");
    match provider {
        Some(h) => out.push_str(&format!(
            "    participant Provider as {}\n",
            label(&format!("Provider ({h})"))
        )),
        None => out.push_str("    participant Provider\n"),
    }
    let mut prev: Option<&Record> = None;
    for (i, r) in records.iter().enumerate() {
        let (from, to) = ends(r.kind);
        let gap = prev
            .map(|p| format!(" [{}]", delta(p, r)))
            .unwrap_or_default();
        out.push_str(&format!(
            "    {from}->>{to}: {}\n",
            label(&format!("{}. {}{gap}", i + 1, request_label(r)))
        ));
        let (resp, failed) = response_label(r);
        let arrow = if failed { "--x" } else { "-->>" };
        out.push_str(&format!("    {to}{arrow}{from}: {}\n", label(&resp)));
        prev = Some(r);
    }
    out
}

//! The cookie timeline of one login as text (`flows show`): for each browser
//! step, the cookies sent and set (names and attributes, never values), and
//! the ones the browser held back or refused, and why
//! ([`crate::analyze::cookies`]).

use crate::analyze::cookies::{self, Context, Timeline};
use crate::record::Record;
use std::fmt::Write as _;

/// The section for the login made of the records whose ids are in `login`,
/// read from the timeline of `span` (the login with what was captured
/// around it). Empty when the login has no browser step.
pub fn section(span: &[Record], login: &[String]) -> String {
    let tl = cookies::timeline(span);
    render(span, &tl, |r| login.contains(&r.id))
}

/// Add to `rec` the cookie findings (`evidence.source == "cookie_jar"`)
/// that its copy in `span` carries and it lacks: a window of one flow
/// cannot see another tab's login start.
pub fn add_cookie_findings(rec: &mut Record, span: &[Record]) {
    let Some(other) = span.iter().find(|r| r.id == rec.id) else {
        return;
    };
    for a in &other.annotations {
        let ours = a.evidence.get("source").and_then(|s| s.as_str()) == Some("cookie_jar");
        if ours
            && !rec
                .annotations
                .iter()
                .any(|x| x.code == a.code && x.evidence == a.evidence)
        {
            rec.annotations.push(a.clone());
        }
    }
    rec.annotations
        .sort_by_key(|a| std::cmp::Reverse(a.severity));
}

/// Render the steps of `tl` whose record passes `keep`.
pub fn render(records: &[Record], tl: &Timeline, keep: impl Fn(&Record) -> bool) -> String {
    let steps: Vec<_> = tl
        .steps
        .iter()
        .filter(|s| keep(&records[s.record]))
        .collect();
    if steps.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nCookies, step by step (the browser's jar as RFC 6265bis and Chrome apply it; values not shown):"
    );
    if tl.cookies_missing {
        let _ = writeln!(
            out,
            "  no step of this capture carries a Cookie or Set-Cookie header (a HAR exported without sensitive data, or a client that keeps no cookies): cookie rules cannot tell what was held back"
        );
    }
    for s in steps {
        let r = &records[s.record];
        let ctx = match s.context {
            Context::TopLevel => "top-level",
            Context::Frame => "iframe",
            Context::Subresource => "script",
        };
        let _ = writeln!(
            out,
            "  {} {} {} {} ({ctx}, {})",
            r.id,
            r.kind,
            r.request.method,
            crate::view::host_path(&r.request.url),
            if s.cross_site {
                "cross-site"
            } else {
                "same-site"
            }
        );
        let sent: Vec<&str> = s.sent.iter().map(|(n, _)| n.as_str()).collect();
        if !tl.cookies_missing {
            let _ = writeln!(
                out,
                "      sent       {}",
                if sent.is_empty() {
                    "(none)".to_string()
                } else {
                    sent.join(", ")
                }
            );
        }
        for c in &s.chunked {
            let _ = if c.complete {
                writeln!(
                    out,
                    "      chunked    {}: whole ({} chunks, {} bytes)",
                    c.base,
                    c.sent.len(),
                    c.size
                )
            } else {
                writeln!(
                    out,
                    "      chunked    {}: INCOMPLETE, missing {}",
                    c.base,
                    c.missing
                        .iter()
                        .map(|(n, why)| format!("{n} ({})", why.replace('_', " ")))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
        }
        for w in &s.held_back {
            let _ = writeln!(
                out,
                "      held back  {}: {} (set by {}; {} {}, Path={}, SameSite={}{})",
                w.cookie.name,
                w.why.code().replace('_', " "),
                records[w.cookie.set_by].id,
                if w.cookie.host_only {
                    "host-only on"
                } else {
                    "Domain="
                },
                w.cookie.domain,
                w.cookie.path,
                w.cookie.same_site.as_str(),
                if w.cookie.secure { ", Secure" } else { "" }
            );
        }
        for n in &s.never_stored {
            let _ = writeln!(
                out,
                "      not stored {}: {} (set by {})",
                n.cookie.name,
                n.why.words(),
                records[n.set_by].id
            );
        }
        for x in &s.set {
            let c = &x.cookie;
            let what = if x.deletes {
                "deletes".to_string()
            } else if let Some(r) = x.refused {
                format!("REFUSED ({})", r.code().replace('_', " "))
            } else if let Some(p) = x.replaced {
                format!("replaces the one set by {}", records[p].id)
            } else {
                "stored".to_string()
            };
            let _ = writeln!(
                out,
                "      set        {} [{what}] ({}Path={}, SameSite={}{}{}{}, {} bytes)",
                c.name,
                c.domain
                    .as_deref()
                    .map(|d| format!("Domain={d}, "))
                    .unwrap_or_else(|| "host-only, ".into()),
                c.path.as_deref().unwrap_or("(default)"),
                c.same_site.as_str(),
                if c.secure { ", Secure" } else { "" },
                if c.http_only { ", HttpOnly" } else { "" },
                c.max_age
                    .map(|m| format!(", Max-Age={m}"))
                    .unwrap_or_default(),
                c.size
            );
        }
    }
    out
}

//! HTML building blocks: escaping, the page frame, severity badges, and the
//! catalog page (`/explain/{code}`).

use crate::catalog;
use crate::record::{Annotation, Severity};
use std::fmt::Write as _;

/// Escape text for HTML content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Everything but RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode one path segment (ids, flow ids, codes).
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// A whole page: header with navigation, `body`, the shared CSS and `page.js`.
pub fn frame(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} · oauthscope</title><link rel=\"stylesheet\" href=\"/assets/style.css\">\
<link rel=\"icon\" href=\"data:,\"></head><body>\
<header class=\"top\"><a class=\"brand\" href=\"/\">oauthscope</a><nav><a href=\"/\">exchanges</a></nav></header>\
<main>{body}</main><script src=\"/assets/page.js\"></script></body></html>\n",
        t = esc(title)
    )
}

/// `✖ error` / `▲ warning` / `• info` as a coloured badge.
pub fn severity_badge(sev: Severity) -> String {
    let (mark, name) = match sev {
        Severity::Error => ("✖", "error"),
        Severity::Warning => ("▲", "warning"),
        Severity::Info => ("•", "info"),
    };
    format!("<span class=\"sev sev-{name}\">{mark} {name}</span>")
}

/// A code linked to its catalog page.
pub fn code_link(code: &str) -> String {
    format!(
        "<a class=\"code\" href=\"/explain/{}\"><code>{}</code></a>",
        seg(code),
        esc(code)
    )
}

/// The error code an annotation is about: `error.invalid_grant` → `invalid_grant`.
pub fn catalog_code(code: &str) -> &str {
    code.strip_prefix("error.").unwrap_or(code)
}

/// One annotation's heading line.
pub fn annotation_head(a: &Annotation) -> String {
    format!(
        "{} {} <span class=\"title\">{}</span>",
        severity_badge(a.severity),
        code_link(catalog_code(&a.code)),
        esc(&a.title)
    )
}

/// The `/explain/{code}` page: every catalog entry answering to `code`.
pub fn explain_page(code: &str) -> String {
    let mut body = format!("<h1>{}</h1>", esc(code));
    let entries = catalog::lookup_all(code);
    if entries.is_empty() {
        let _ = write!(
            body,
            "<p>The catalog has no entry for <code>{}</code>.</p>",
            esc(code)
        );
        let near = catalog::suggest(code);
        if !near.is_empty() {
            body.push_str("<p>Did you mean: ");
            let links: Vec<String> = near.iter().map(|c| code_link(c)).collect();
            body.push_str(&links.join(", "));
            body.push_str("</p>");
        }
    }
    for e in entries {
        let _ = write!(
            body,
            "<section class=\"entry\"><h2>{}</h2><dl>\
<dt>source</dt><dd>{}</dd>",
            esc(e.title),
            esc(e.source)
        );
        if let Some(p) = e.provider_name() {
            let _ = write!(body, "<dt>provider</dt><dd>{}</dd>", esc(p));
        }
        let _ = write!(
            body,
            "<dt>where</dt><dd>{}</dd><dt>causes</dt><dd>{}</dd><dt>fix</dt><dd>{}</dd>",
            esc(e.endpoint.as_str()),
            esc(e.causes),
            esc(e.fix)
        );
        if !e.see.is_empty() {
            let _ = write!(body, "<dt>see</dt><dd>{}</dd>", esc(e.see));
        }
        body.push_str("</dl></section>");
    }
    frame(&format!("explain {code}"), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
        assert_eq!(seg("error.invalid_grant"), "error.invalid_grant");
    }

    #[test]
    fn known_codes_have_a_page_and_unknown_ones_say_so() {
        assert!(explain_page("invalid_grant").contains("RFC 6749"));
        assert!(explain_page("no_such_code_at_all").contains("no entry"));
    }
}

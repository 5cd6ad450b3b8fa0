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
<header class=\"top\"><a class=\"brand\" href=\"/\">oauthscope</a><nav><a href=\"/\">logins</a> <a href=\"/explain\">every code</a></nav></header>\
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

/// A code linked to its catalog page, always under its full name
/// (`error.invalid_grant`, never `invalid_grant` on one page and the
/// prefixed form on another).
pub fn code_link(code: &str) -> String {
    format!(
        "<a class=\"code\" href=\"/explain/{}\"><code>{}</code></a>",
        seg(code),
        esc(code)
    )
}

/// One annotation's heading line: badge, full code (a link), title.
pub fn annotation_head(a: &Annotation) -> String {
    format!(
        "{} {} <span class=\"title\">{}</span>",
        severity_badge(a.severity),
        code_link(&a.code),
        esc(&a.title)
    )
}

/// Is `word` a code the catalog explains (an annotation code such as
/// `pkce.mismatch` or `diagnosis.code_expired`, or an `error.*` code)?
fn known_code(word: &str) -> bool {
    word.contains('.')
        && !word.contains("..")
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !catalog::lookup_all(word).is_empty()
}

/// The RFC reference starting at `s` (`RFC 6749 §4.1.3`, `RFC 7636
/// section 4.6`, `RFC6749`): its length in bytes and the URL of its text
/// on rfc-editor.org (section anchor when a section is named).
fn rfc_ref(s: &str) -> Option<(usize, String)> {
    let rest = s.strip_prefix("RFC")?;
    let sp = rest.len() - rest.trim_start_matches(' ').len();
    let digits: String = rest[sp..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if digits.len() < 3 {
        return None;
    }
    let mut len = 3 + sp + digits.len();
    let mut url = format!("https://www.rfc-editor.org/rfc/rfc{digits}");
    let after = &s[len..];
    let sect_start = ["§ ", "§", " §", " § ", " section ", ", section ", ", §"]
        .iter()
        .filter_map(|p| after.strip_prefix(p).map(|r| (p.len(), r)))
        .max_by_key(|(n, _)| *n);
    if let Some((n, r)) = sect_start {
        let sect: String = r
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        let sect = sect.trim_end_matches('.');
        if sect.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            len += n + sect.len();
            url.push_str(&format!("#section-{sect}"));
        }
    }
    Some((len, url))
}

/// Escape `text` for HTML and link what it names: URLs, RFC sections (to
/// their text on rfc-editor.org), oauthscope and OAuth error codes (to
/// `/explain/{code}`), and the annotation reference
/// (`docs/annotations.md`, to the `/explain` index of every code).
pub fn linkify(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut i = 0;
    let bytes = text.as_bytes();
    let boundary = |i: usize| {
        i == 0 || {
            let c = text[..i].chars().next_back().unwrap_or(' ');
            !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '/')
        }
    };
    while i < text.len() {
        let rest = &text[i..];
        if (rest.starts_with("https://") || rest.starts_with("http://")) && boundary(i) {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"' || c == '`')
                .unwrap_or(rest.len());
            let url = rest[..end].trim_end_matches(['.', ',', ';', ':', ')', ']', '\'']);
            let _ = write!(
                out,
                "<a class=\"ext\" href=\"{}\" rel=\"noreferrer\">{}</a>",
                esc(url),
                esc(url)
            );
            i += url.len();
            continue;
        }
        if rest.starts_with("RFC") && boundary(i) {
            if let Some((n, url)) = rfc_ref(rest) {
                let _ = write!(
                    out,
                    "<a class=\"rfc\" href=\"{}\" rel=\"noreferrer\">{}</a>",
                    esc(&url),
                    esc(&rest[..n])
                );
                i += n;
                continue;
            }
        }
        if rest.starts_with("docs/annotations.md") && boundary(i) {
            let n = "docs/annotations.md".len();
            out.push_str("<a href=\"/explain\">docs/annotations.md</a>");
            i += n;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c.is_ascii_alphabetic() && boundary(i) {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(rest.len());
            let word = rest[..end].trim_end_matches('.');
            if known_code(word) {
                out.push_str(&code_link(word));
                i += word.len();
                continue;
            }
            // Not a code: copy the word whole (so a code is never found
            // inside a longer word or host name).
            let w = if word.is_empty() {
                &rest[..c.len_utf8()]
            } else {
                word
            };
            out.push_str(&esc(w));
            i += w.len();
            continue;
        }
        if c == '`' {
            // `invalid_grant`: a bare OAuth error code in backticks.
            if let Some(close) = rest[1..].find('`') {
                let inner = &rest[1..1 + close];
                if !inner.is_empty()
                    && inner
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                    && !catalog::lookup_all(inner).is_empty()
                {
                    out.push_str(&code_link(inner));
                    i += close + 2;
                    continue;
                }
            }
        }
        let _ = bytes;
        out.push_str(&esc(&rest[..c.len_utf8()]));
        i += c.len_utf8();
    }
    out
}

/// `/explain`: every code the catalog knows, one link each, oauthscope's
/// own annotation codes first.
pub fn explain_index() -> String {
    let mut own = String::new();
    for c in catalog::annotations::ALL {
        let _ = write!(
            own,
            "<li>{} <span class=\"title\">{}</span></li>",
            code_link(c.code),
            esc(c.title)
        );
    }
    let mut errors = String::new();
    let mut seen = std::collections::HashSet::new();
    for e in catalog::all() {
        if catalog::annotations::ALL.iter().any(|c| c.code == e.code) {
            continue;
        }
        let code = if e.code.starts_with("error.") {
            e.code.to_string()
        } else {
            format!("error.{}", e.code)
        };
        if !seen.insert(code.clone()) {
            continue;
        }
        let _ = write!(
            errors,
            "<li>{} <span class=\"title\">{}</span>{}</li>",
            code_link(&code),
            esc(e.title),
            e.provider_name()
                .map(|p| format!(" <span class=\"muted\">({})</span>", esc(p)))
                .unwrap_or_default()
        );
    }
    frame(
        "every code",
        &format!(
            "<h1>Every code</h1><p>What oauthscope says about an exchange (its annotations), then the providers' error codes it explains. <code>oauthscope explain CODE</code> prints the same offline.</p>\
<section><h2>Annotations</h2><ul class=\"codes\">{own}</ul></section>\
<section><h2>Provider errors</h2><ul class=\"codes\">{errors}</ul></section>"
        ),
    )
}

/// The `/explain/{code}` page: every catalog entry answering to `code`.
pub fn explain_page(code: &str) -> String {
    let mut body = format!("<h1><code>{}</code></h1>", esc(code));
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
            linkify(e.source)
        );
        if let Some(p) = e.provider_name() {
            let _ = write!(body, "<dt>provider</dt><dd>{}</dd>", esc(p));
        }
        let _ = write!(
            body,
            "<dt>where</dt><dd>{}</dd><dt>causes</dt><dd>{}</dd><dt>fix</dt><dd>{}</dd>",
            esc(e.endpoint.as_str()),
            linkify(e.causes),
            linkify(e.fix)
        );
        if !e.see.is_empty() {
            let _ = write!(body, "<dt>see</dt><dd>{}</dd>", linkify(e.see));
        }
        body.push_str("</dl></section>");
    }
    body.push_str("<p><a href=\"/explain\">every code</a></p>");
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
        assert!(explain_page("error.invalid_grant").contains("RFC 6749"));
    }

    #[test]
    fn texts_link_their_codes_rfc_sections_and_urls() {
        let h = linkify("See pkce.mismatch. RFC 6749 §4.1.3 says so; https://example.com/doc.");
        assert!(h.contains("href=\"/explain/pkce.mismatch\""), "{h}");
        assert!(
            h.contains("href=\"https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3\" rel=\"noreferrer\">RFC 6749 §4.1.3</a>"),
            "{h}"
        );
        assert!(h.contains("href=\"https://example.com/doc\""), "{h}");
        assert!(h.ends_with("</a>."), "the full stop stays text: {h}");
        let h = linkify("login.microsoftonline.com and `invalid_grant` and <b>");
        assert!(!h.contains("/explain/login"), "{h}");
        assert!(h.contains("href=\"/explain/invalid_grant\""), "{h}");
        assert!(h.contains("&lt;b&gt;"), "{h}");
        assert!(linkify("see docs/annotations.md in the repository").contains("href=\"/explain\""));
    }
}

//! HAR files that lost their evidence: Chrome ≥ 130 exports HAR "sanitized"
//! by default (no `Cookie`, `Set-Cookie` or `Authorization` headers, empty
//! `cookies` arrays), and other sanitisers mask those values instead.
//!
//! [`detect`] looks at the whole document (every entry, OAuth or not): when
//! a browser-made HAR has not a single one of those headers anywhere, they
//! were removed; header values like `[REDACTED]` or `***` mean they were
//! masked. Rules that need them then say "cannot tell"
//! (`cookies.cannot_tell`), and the views print [`HOW_TO_KEEP`] once.

use serde::Serialize;
use serde_json::Value;

/// How to export a HAR that keeps cookies and `Authorization`.
pub const HOW_TO_KEEP: &str = "To keep them: in Chrome DevTools open Settings > Preferences > Network, tick \
\"Allow to generate HAR with sensitive data\", then in the Network panel choose \"Export HAR (with sensitive \
data)\" from the export button's menu; Firefox's \"Save All As HAR\" keeps them; or capture through oauthscope \
(`oauthscope browser`), whose exports redact them with stable fingerprints instead of removing them.";

/// What [`detect`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sanitised {
    /// True when the headers are absent everywhere (removed), false when masked.
    pub removed: bool,
    /// The headers removed or masked (`Cookie`, `Set-Cookie`, `Authorization`).
    pub headers: Vec<String>,
    /// The HAR's `creator.name`, when given.
    pub creator: Option<String>,
    /// Entries looked at.
    pub entries: usize,
}

impl Sanitised {
    /// The one note the views print at the top.
    pub fn note(&self, name: &str) -> String {
        let how = if self.removed { "has no" } else { "has masked" };
        format!(
            "note: {name} {how} {} header{} in any of its {} entries: it was exported without sensitive data \
             (Chrome 130+ does so by default{}). Rules that need them say \"cannot tell\"; nothing here means \
             that no cookie was sent. {HOW_TO_KEEP}",
            self.headers.join(", "),
            if self.headers.len() == 1 { "" } else { "s" },
            self.entries,
            self.creator
                .as_deref()
                .map(|c| format!("; this file's creator: {c}"))
                .unwrap_or_default()
        )
    }
}

const MASKS: [&str; 8] = [
    "[redacted]",
    "redacted",
    "<redacted>",
    "***",
    "[filtered]",
    "[removed]",
    "sanitized",
    "xxxxx",
];

fn is_mask(v: &str) -> bool {
    let l = v.trim().to_ascii_lowercase();
    MASKS
        .iter()
        .any(|m| l == *m || l.ends_with(&format!("={m}")) || l.ends_with(&format!(" {m}")))
}

/// Counts of the evidence headers, fed header by header.
#[derive(Default)]
struct Tally {
    present: [usize; 3],
    masked: [usize; 3],
    browser: bool,
    cookie_arrays: bool,
}

impl Tally {
    fn header(&mut self, name: &str, value: &str) {
        let n = name.to_ascii_lowercase();
        if n == "user-agent" && value.starts_with("Mozilla/") {
            self.browser = true;
        }
        if let Some(k) = ["cookie", "set-cookie", "authorization"]
            .iter()
            .position(|x| *x == n)
        {
            if is_mask(value) {
                self.masked[k] += 1;
            } else {
                self.present[k] += 1;
            }
        }
    }

    fn verdict(&self, creator: Option<String>, entries: usize) -> Option<Sanitised> {
        let label = ["Cookie", "Set-Cookie", "Authorization"];
        if self.masked.iter().any(|&m| m > 0) {
            return Some(Sanitised {
                removed: false,
                headers: (0..3)
                    .filter(|&k| self.masked[k] > 0)
                    .map(|k| label[k].to_string())
                    .collect(),
                creator,
                entries,
            });
        }
        if self.browser && !self.cookie_arrays && self.present[0] == 0 && self.present[1] == 0 {
            return Some(Sanitised {
                removed: true,
                headers: (0..3)
                    .filter(|&k| self.present[k] == 0)
                    .map(|k| label[k].to_string())
                    .collect(),
                creator,
                entries,
            });
        }
        None
    }
}

fn is_browser_creator(c: &str) -> bool {
    let l = c.to_ascii_lowercase();
    l.contains("webinspector")
        || l.contains("firefox")
        || l.contains("chrome")
        || l.contains("safari")
}

/// Look for removed or masked `Cookie` / `Set-Cookie` / `Authorization`
/// headers. `None` when the file keeps them, or when nothing says a
/// browser made it (a server-side capture may simply have none).
pub fn detect(doc: &Value) -> Option<Sanitised> {
    let log = doc.get("log")?;
    let entries = log.get("entries")?.as_array()?;
    if entries.is_empty() {
        return None;
    }
    let creator = log
        .get("creator")
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut t = Tally {
        browser: creator.as_deref().is_some_and(is_browser_creator),
        ..Tally::default()
    };
    for e in entries {
        for part in ["request", "response"] {
            for h in e
                .get(part)
                .and_then(|p| p.get("headers"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                t.header(
                    h.get("name").and_then(Value::as_str).unwrap_or(""),
                    h.get("value").and_then(Value::as_str).unwrap_or(""),
                );
            }
            t.cookie_arrays |= e
                .get(part)
                .and_then(|p| p.get("cookies"))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
        }
    }
    t.verdict(creator, entries.len())
}

/// [`detect`] over the records a streamed import kept (the OAuth exchanges,
/// whose headers are kept whole), for files too large to hold as one
/// document. `entries` is the file's entry count.
pub fn detect_records(records: &[crate::record::Record], entries: usize) -> Option<Sanitised> {
    use crate::record::Kind;
    // Only a browser's visit to the app itself (the login start, the
    // callback) is sure to carry cookies; without one, no cookies is no sign.
    if !records
        .iter()
        .any(|r| matches!(r.kind, Kind::LoginStart | Kind::Callback))
    {
        return None;
    }
    let mut t = Tally::default();
    for r in records {
        for (n, v) in &r.request.headers.0 {
            t.header(n, v);
        }
        if let Some(resp) = &r.response {
            for (n, v) in &resp.headers.0 {
                t.header(n, v);
            }
        }
    }
    t.verdict(None, entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn har(creator: &str, headers: Value) -> Value {
        json!({"log": {"creator": {"name": creator}, "entries": [
            {"request": {"method": "GET", "url": "https://app.example.com/", "headers": headers, "cookies": []},
             "response": {"status": 200, "headers": [], "cookies": []}}
        ]}})
    }

    #[test]
    fn a_chrome_export_without_cookies_is_recognised() {
        let s = detect(&har(
            "WebInspector",
            json!([{"name": "Accept", "value": "*/*"}]),
        ))
        .unwrap();
        assert!(s.removed);
        assert_eq!(s.headers, ["Cookie", "Set-Cookie", "Authorization"]);
        assert!(s.note("x.har").contains("Export HAR (with sensitive data)"));
    }

    #[test]
    fn cookies_anywhere_mean_not_sanitised_and_masks_are_named() {
        assert_eq!(
            detect(&har(
                "WebInspector",
                json!([{"name": "Cookie", "value": "a=b"}])
            )),
            None
        );
        let s = detect(&har(
            "mitmproxy",
            json!([{"name": "Authorization", "value": "Bearer [REDACTED]"}]),
        ))
        .unwrap();
        assert!(!s.removed);
        assert_eq!(s.headers, ["Authorization"]);
        assert_eq!(
            detect(&har("mitmproxy", json!([]))),
            None,
            "not a browser: may have no cookies"
        );
    }
}

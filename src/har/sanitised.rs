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
    let names = ["cookie", "set-cookie", "authorization"];
    let mut present = [0usize; 3];
    let mut masked = [0usize; 3];
    let mut browser = creator.as_deref().is_some_and(|c| {
        let l = c.to_ascii_lowercase();
        l.contains("webinspector")
            || l.contains("firefox")
            || l.contains("chrome")
            || l.contains("safari")
    });
    let mut cookie_arrays = false;
    for e in entries {
        for (part, key) in [("request", "headers"), ("response", "headers")] {
            for h in e
                .get(part)
                .and_then(|p| p.get(key))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let n = h
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let v = h.get("value").and_then(Value::as_str).unwrap_or("");
                if n == "user-agent" && v.starts_with("Mozilla/") {
                    browser = true;
                }
                if let Some(k) = names.iter().position(|x| *x == n) {
                    if is_mask(v) {
                        masked[k] += 1;
                    } else {
                        present[k] += 1;
                    }
                }
            }
            cookie_arrays |= e
                .get(part)
                .and_then(|p| p.get("cookies"))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
        }
    }
    let label = ["Cookie", "Set-Cookie", "Authorization"];
    if masked.iter().any(|&m| m > 0) {
        return Some(Sanitised {
            removed: false,
            headers: (0..3)
                .filter(|&k| masked[k] > 0)
                .map(|k| label[k].to_string())
                .collect(),
            creator,
            entries: entries.len(),
        });
    }
    if browser && !cookie_arrays && present[0] == 0 && present[1] == 0 {
        return Some(Sanitised {
            removed: true,
            headers: (0..3)
                .filter(|&k| present[k] == 0)
                .map(|k| label[k].to_string())
                .collect(),
            creator,
            entries: entries.len(),
        });
    }
    None
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

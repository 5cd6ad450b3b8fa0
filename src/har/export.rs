//! HAR 1.2 export (<http://www.softwareishard.com/blog/har-12-spec/>).
//!
//! The output opens in Chrome/Firefox devtools, HTTP Toolkit and mitmproxy:
//! every required field is present with the type the spec gives it, unknown
//! sizes and timings are `-1` where the spec allows it, and each entry keeps
//! what oauthscope knows in a custom `_oauthscope` member (`id`, `flow`,
//! `kind`, `grant_type`, `flavour`, `error`, `annotations`), which other tools
//! ignore and `oauthscope analyze` reads back.

use crate::record::{Body, HeaderList, Record};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;

/// What the `creator` and the log-level `_oauthscope` member say.
#[derive(Debug, Clone, Default)]
pub struct HarOptions {
    /// True when secrets were masked (recorded in `log._oauthscope.redacted`).
    pub redacted: bool,
}

/// The HTTP version written for every message (the capture does not keep it).
const HTTP_VERSION: &str = "HTTP/1.1";

/// Build a HAR 1.2 document from records (analysed, and redacted when sharing).
pub fn to_har(records: &[Record], opts: &HarOptions) -> Value {
    let entries: Vec<Value> = records.iter().map(entry).collect();
    json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "oauthscope", "version": env!("CARGO_PKG_VERSION") },
            "pages": [],
            "entries": entries,
            "comment": if opts.redacted {
                "Secrets are replaced by «redacted:xxxxxx» fingerprints (the same value has the same fingerprint within this file)."
            } else {
                "NOT REDACTED: this file holds live secrets (tokens, codes, client secrets, cookies)."
            },
            "_oauthscope": {
                "redacted": opts.redacted,
                "record_format_version": crate::record::RECORD_FORMAT_VERSION,
            },
        }
    })
}

/// Serialise [`to_har`] as pretty JSON.
pub fn to_har_string(records: &[Record], opts: &HarOptions) -> String {
    serde_json::to_string_pretty(&to_har(records, opts)).unwrap_or_default()
}

/// One HAR entry (what [`to_har`] puts in `log.entries`).
pub fn entry(r: &Record) -> Value {
    let started = har_time(r.time);
    let wait = r.duration_ms as f64;
    let mut custom = Map::new();
    custom.insert("id".into(), json!(r.id));
    custom.insert(
        "time".into(),
        json!(r.time.format(&Rfc3339).unwrap_or_default()),
    );
    custom.insert("flow".into(), json!(r.flow));
    custom.insert("kind".into(), json!(r.kind));
    custom.insert("grant_type".into(), json!(r.grant_type));
    custom.insert("flavour".into(), json!(r.flavour));
    custom.insert("error".into(), json!(r.error));
    custom.insert("annotations".into(), json!(r.annotations));
    // Body facts HAR has no place for (truncation, decode errors).
    for (name, body) in [
        ("request_body", Some(&r.request.body)),
        ("response_body", r.response.as_ref().map(|x| &x.body)),
    ] {
        if let Some(b) = body.filter(|b| b.truncated || b.decode_error.is_some()) {
            custom.insert(
                name.into(),
                json!({ "truncated": b.truncated, "size": b.size, "decode_error": b.decode_error }),
            );
        }
    }
    json!({
        "startedDateTime": started,
        "time": wait,
        "request": request(r),
        "response": response(r),
        "cache": {},
        "timings": {
            "blocked": -1, "dns": -1, "connect": -1, "ssl": -1,
            "send": 0, "wait": wait, "receive": 0,
        },
        "_oauthscope": Value::Object(custom),
    })
}

/// `2026-11-24T18:00:02.450Z`: always three fractional digits and `Z`, the
/// form Chrome writes and every HAR reader (including Python's
/// `fromisoformat` before 3.11) parses.
pub fn har_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn headers(h: &HeaderList) -> Vec<Value> {
    h.0.iter()
        .map(|(n, v)| json!({ "name": n, "value": v }))
        .collect()
}

fn body_size(b: &Body) -> i64 {
    if b.is_empty() {
        0
    } else if b.truncated {
        // A size past i64 (a damaged record) is unknown (-1) to HAR.
        b.size.and_then(|s| i64::try_from(s).ok()).unwrap_or(-1)
    } else {
        b.bytes().len() as i64
    }
}

fn request(r: &Record) -> Value {
    let req = &r.request;
    let query: Vec<Value> = query_pairs(&req.url)
        .into_iter()
        .map(|(n, v)| json!({ "name": n, "value": v }))
        .collect();
    let cookies: Vec<Value> = req
        .headers
        .get_all("cookie")
        .flat_map(|c| c.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .map(|(n, v)| json!({ "name": n, "value": v }))
        .collect();
    let mut out = json!({
        "method": req.method,
        "url": req.url,
        "httpVersion": HTTP_VERSION,
        "cookies": cookies,
        "headers": headers(&req.headers),
        "queryString": query,
        "headersSize": -1,
        "bodySize": body_size(&req.body),
    });
    if !req.body.is_empty() {
        let mime = req.headers.get("content-type").unwrap_or("");
        let mut post = json!({ "mimeType": mime, "text": req.body.text });
        if mime.to_ascii_lowercase().contains("x-www-form-urlencoded") {
            if let Some(text) = req.body.as_text() {
                post["params"] = Value::Array(
                    url::form_urlencoded::parse(text.trim().as_bytes())
                        .map(|(n, v)| json!({ "name": n, "value": v }))
                        .collect(),
                );
            }
        }
        if req.body.encoding.is_some() {
            post["_encoding"] = json!(req.body.encoding);
        }
        out["postData"] = post;
    }
    out
}

fn response(r: &Record) -> Value {
    let Some(resp) = &r.response else {
        // No upstream response: HAR still needs one; status 0 as browsers write it.
        return json!({
            "status": 0,
            "statusText": "",
            "httpVersion": HTTP_VERSION,
            "cookies": [],
            "headers": [],
            "content": { "size": 0, "mimeType": "x-unknown" },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": r.error.clone().unwrap_or_else(|| "no response".into()),
        });
    };
    let status_text = http::StatusCode::from_u16(resp.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let cookies: Vec<Value> = resp.headers.get_all("set-cookie").map(set_cookie).collect();
    let mime = resp
        .headers
        .get("content-type")
        .unwrap_or("x-unknown")
        .to_string();
    // The decoded size: the whole body's when the capture cut it, else what
    // `text` holds (which redaction may have changed).
    let size = match (resp.body.truncated, resp.body.size) {
        (true, Some(s)) => i64::try_from(s).unwrap_or(-1),
        _ => resp.body.bytes().len() as i64,
    };
    let mut content = json!({ "size": size, "mimeType": mime });
    if !resp.body.is_empty() {
        content["text"] = json!(resp.body.text);
        if let Some(enc) = &resp.body.encoding {
            content["encoding"] = json!(enc);
        }
    }
    json!({
        "status": resp.status,
        "statusText": status_text,
        "httpVersion": HTTP_VERSION,
        "cookies": cookies,
        "headers": headers(&resp.headers),
        "content": content,
        "redirectURL": resp.headers.get("location").unwrap_or(""),
        "headersSize": -1,
        "bodySize": body_size(&resp.body),
    })
}

/// Query pairs, decoded, without failing on URLs `url` cannot parse.
fn query_pairs(u: &str) -> Vec<(String, String)> {
    let q = u.split('#').next().unwrap_or("");
    match q.split_once('?') {
        Some((_, q)) => url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect(),
        None => Vec::new(),
    }
}

/// A `Set-Cookie` header as a HAR cookie object.
fn set_cookie(h: &str) -> Value {
    let mut parts = h.split(';');
    let (name, value) = parts
        .next()
        .and_then(|p| p.trim().split_once('='))
        .unwrap_or(("", ""));
    let mut c = json!({ "name": name.trim(), "value": value.trim() });
    for attr in parts {
        let (k, v) = attr.trim().split_once('=').unwrap_or((attr.trim(), ""));
        match k.to_ascii_lowercase().as_str() {
            "path" => c["path"] = json!(v),
            "domain" => c["domain"] = json!(v),
            "expires" => {
                if let Ok(t) =
                    time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822)
                {
                    c["expires"] = json!(t.format(&Rfc3339).unwrap_or_default());
                }
            }
            "httponly" => c["httpOnly"] = json!(true),
            "secure" => c["secure"] = json!(true),
            _ => {}
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_attributes_become_har_cookie_fields() {
        let c = set_cookie("sid=abc; Path=/; Domain=idp.example; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure; HttpOnly");
        assert_eq!(c["name"], "sid");
        assert_eq!(c["value"], "abc");
        assert_eq!(c["path"], "/");
        assert_eq!(c["domain"], "idp.example");
        assert_eq!(c["expires"], "2026-10-21T07:28:00Z");
        assert_eq!(c["secure"], true);
        assert_eq!(c["httpOnly"], true);
        let odd = set_cookie("garbage");
        assert_eq!(odd["name"], "");
    }

    #[test]
    fn times_have_three_fractional_digits() {
        let t = time::macros::datetime!(2026-11-24 18:00:02.45 UTC);
        assert_eq!(har_time(t), "2026-11-24T18:00:02.450Z");
    }
}

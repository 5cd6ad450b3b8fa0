//! Pure helpers that pull OAuth parameters out of URLs and bodies.
//!
//! Every rule family reads parameters through these, so form bodies, JSON
//! bodies, query strings and `Location` headers are all handled one way.

use crate::record::{Body, HeaderList, Record};
use serde_json::Value;

/// A list of `(name, value)` parameters in the order they appeared.
pub type Params = Vec<(String, String)>;

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/x-www-form-urlencoded` (or a body that parses as one).
    Form,
    /// `application/json` (or a body that parses as a JSON object).
    Json,
    /// `multipart/form-data` (PHP cURL arrays, `curl -F`): read like a form.
    Multipart,
    /// Anything else (or empty).
    Other,
}

impl BodyFormat {
    /// `form`, `json` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyFormat::Form => "form",
            BodyFormat::Json => "json",
            BodyFormat::Multipart => "multipart",
            BodyFormat::Other => "other",
        }
    }
}

/// The first value of `name` in `params`.
pub fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Query parameters of a URL string (percent-decoded, `+` as space). Empty on a bad URL.
pub fn query_params(url: &str) -> Params {
    match url::Url::parse(url) {
        Ok(u) => u.query_pairs().into_owned().collect(),
        Err(_) => url
            .split_once('?')
            .map(|(_, q)| form_params(q.split('#').next().unwrap_or("")))
            .unwrap_or_default(),
    }
}

/// Fragment parameters of a URL string (implicit / hybrid flows put `code`, tokens and errors there).
pub fn fragment_params(url: &str) -> Params {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.fragment().map(form_params))
        .unwrap_or_default()
}

/// Parse `a=b&c=d` with form decoding (`+` is a space).
pub fn form_params(s: &str) -> Params {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

/// Decide how a body is encoded from its `Content-Type`, falling back to sniffing.
pub fn body_format(headers: &HeaderList, body: &Body) -> BodyFormat {
    let ct = headers
        .get("content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.contains("json") {
        return BodyFormat::Json;
    }
    if ct.contains("x-www-form-urlencoded") {
        // A JSON object sent under a form label (axios given a JSON string,
        // a hand-set header): the server reads the bytes, not the label.
        let json = body.as_text().map(str::trim).is_some_and(|t| {
            t.starts_with('{') && serde_json::from_str::<Value>(t).is_ok_and(|v| v.is_object())
        });
        return if json {
            BodyFormat::Json
        } else {
            BodyFormat::Form
        };
    }
    if ct.starts_with("multipart/form-data") {
        return BodyFormat::Multipart;
    }
    let text = match body.as_text() {
        Some(t) => t.trim(),
        None => return BodyFormat::Other,
    };
    if text.starts_with('{') && serde_json::from_str::<Value>(text).is_ok() {
        BodyFormat::Json
    } else if !text.is_empty() && text.contains('=') && !text.contains('<') {
        BodyFormat::Form
    } else {
        BodyFormat::Other
    }
}

/// Parameters of a body: form pairs, or the top-level scalar members of a
/// JSON object (strings as they are, numbers and booleans as text).
pub fn body_params(headers: &HeaderList, body: &Body) -> Params {
    let Some(text) = body.as_text() else {
        // Not UTF-8: a form body can still be read (bad bytes become U+FFFD),
        // so a token request with a stray byte is still recognised.
        return match body_format(headers, body) {
            BodyFormat::Form => url::form_urlencoded::parse(&body.bytes())
                .into_owned()
                .collect(),
            _ => Vec::new(),
        };
    };
    match body_format(headers, body) {
        BodyFormat::Form => form_params(text.trim()),
        BodyFormat::Json => json_params(text),
        BodyFormat::Multipart => {
            let ct = headers.get("content-type").unwrap_or("");
            multipart_params(ct, text.as_bytes()).unwrap_or_else(|| {
                // A HAR file may list a multipart body's fields as a
                // rebuilt form (`postData.params`).
                if text.contains('=') && !text.trim_start().starts_with("--") {
                    form_params(text.trim())
                } else {
                    Vec::new()
                }
            })
        }
        BodyFormat::Other => Vec::new(),
    }
}

/// Text fields of a `multipart/form-data` body (RFC 7578), in order; file
/// parts and parts that are not UTF-8 are left out. `None` when the
/// content type has no boundary or the body is not multipart. Parsing is
/// done by the `multer` crate over the bytes already in memory.
pub fn multipart_params(content_type: &str, bytes: &[u8]) -> Option<Params> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let data = bytes::Bytes::copy_from_slice(bytes);
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(data) });
    let mut form = multer::Multipart::new(stream, boundary);
    futures::executor::block_on(async move {
        let mut out = Params::new();
        let mut any = false;
        while let Ok(Some(field)) = form.next_field().await {
            any = true;
            let name = field.name().unwrap_or("").to_string();
            let is_file = field.file_name().is_some();
            let Ok(value) = field.bytes().await else {
                break;
            };
            if is_file || name.is_empty() {
                continue;
            }
            if let Ok(v) = String::from_utf8(value.to_vec()) {
                out.push((name, v));
            }
        }
        any.then_some(out)
    })
}

/// Top-level scalar members of a JSON object as parameters.
pub fn json_params(text: &str) -> Params {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                Value::Bool(b) => Some((k, b.to_string())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Parameters of the request: query first, then body.
pub fn request_params(rec: &Record) -> Params {
    let mut p = query_params(&rec.request.url);
    p.extend(body_params(&rec.request.headers, &rec.request.body));
    p
}

/// The `Location` header of a 3xx response, if any.
pub fn redirect_location(rec: &Record) -> Option<&str> {
    let resp = rec.response.as_ref()?;
    if (300..400).contains(&resp.status) {
        resp.headers.get("location")
    } else {
        None
    }
}

/// Parameters carried back to the client by where the response sends the
/// browser next ([`next_location`]: a 3xx `Location`, a JSON `location`, a
/// meta refresh; query and fragment), or by an auto-submitting
/// `response_mode=form_post` page (its hidden inputs, OAuth 2.0 Form Post
/// Response Mode §2).
pub fn location_params(rec: &Record) -> Params {
    if let Some(loc) = next_location(rec) {
        let mut p = query_params(&loc);
        p.extend(fragment_params(&loc));
        return p;
    }
    form_post_page(rec).map(|(_, p)| p).unwrap_or_default()
}

/// Where a response sends the browser next, resolved against the request
/// URL: "follow the browser, not the request's shape". In order:
/// - a 3xx `Location` (RFC 9110 §10.2.2; RFC 6749 §4.1.2);
/// - a JSON object member naming the next URL (`location`, `redirect_to`,
///   `redirect_url`, `redirectUrl`, `redirect_uri`, `redirectUri`,
///   `returnUrl`): consent and login pages answered by XHR (Discord's
///   `{"location": ".../callback?code=..."}`, Okta's and Auth0's `redirect`
///   APIs);
/// - an HTML `<meta http-equiv="refresh" content="0; url=...">`.
///
/// `None` when the response names no next URL (a form_post page is read by
/// [`form_post_page`]).
pub fn next_location(rec: &Record) -> Option<String> {
    if let Some(loc) = redirect_location(rec) {
        return Some(absolutize(&rec.request.url, loc));
    }
    let resp = rec.response.as_ref()?;
    if !(200..300).contains(&resp.status) {
        return None;
    }
    let text = resp.body.as_text()?.trim_start();
    if text.starts_with('{') {
        let v: Value = serde_json::from_str(text.trim_end()).ok()?;
        for name in [
            "location",
            "redirect_to",
            "redirect_url",
            "redirectUrl",
            "redirect_uri",
            "redirectUri",
            "returnUrl",
        ] {
            if let Some(u) = v.get(name).and_then(Value::as_str) {
                let abs = absolutize(&rec.request.url, u.trim());
                if abs.starts_with("http://") || abs.starts_with("https://") {
                    return Some(abs);
                }
            }
        }
        return None;
    }
    if text.starts_with('<') {
        return meta_refresh(text).map(|u| absolutize(&rec.request.url, &u));
    }
    None
}

/// The URL of an HTML meta refresh (`<meta http-equiv="refresh"
/// content="0;url=...">`), HTML entities `&amp;` decoded.
fn meta_refresh(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let at = lower
        .find("http-equiv=\"refresh\"")
        .or_else(|| lower.find("http-equiv='refresh'"))?;
    let tag_start = lower[..at].rfind('<')?;
    let tag_end = at + lower[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let tag_lower = &lower[tag_start..tag_end];
    let c = tag_lower.find("content=")? + 8;
    let quote = tag[c..].chars().next()?;
    let rest = &tag[c + quote.len_utf8()..];
    let content = &rest[..rest.find(quote).unwrap_or(rest.len())];
    let url_at = content.to_ascii_lowercase().find("url=")? + 4;
    let url = content[url_at..].trim().trim_matches(['\'', '"']);
    (!url.is_empty()).then(|| url.replace("&amp;", "&"))
}

/// An auto-submitting `response_mode=form_post` page (OAuth 2.0 Form Post
/// Response Mode §2): the form's `action` (resolved) and its hidden inputs,
/// when they carry `code`, `id_token`, `access_token`, `error` or `state`.
pub fn form_post_page(rec: &Record) -> Option<(String, Params)> {
    let resp = rec.response.as_ref()?;
    if !(200..300).contains(&resp.status) {
        return None;
    }
    let html = resp.body.as_text()?;
    if html.len() > 256 * 1024 {
        return None;
    }
    let lower = html.to_ascii_lowercase();
    let form = lower.find("<form")?;
    let form_end = form + lower[form..].find('>')?;
    let action = attr(&html[form..form_end])?;
    let mut p = Params::new();
    let mut from = form_end;
    while let Some(i) = lower[from..].find("<input") {
        let start = from + i;
        let end = start + lower[start..].find('>').unwrap_or(lower.len() - start);
        let tag = &html[start..end];
        if let (Some(n), Some(v)) = (attr_named(tag, "name"), attr_named(tag, "value")) {
            p.push((n, v));
        }
        from = end.max(start + 1);
    }
    ["code", "id_token", "access_token", "error", "state"]
        .iter()
        .any(|n| get(&p, n).is_some())
        .then(|| (absolutize(&rec.request.url, &action), p))
}

fn attr(tag: &str) -> Option<String> {
    attr_named(tag, "action")
}

/// The value of attribute `name` in an HTML start tag (quoted with `"` or `'`), entities decoded.
fn attr_named(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let v_at = from + (lower[from..].len() - rest.len()) + 1;
        let v = tag[v_at..].trim_start();
        let quote = v.chars().next()?;
        let value = if quote == '"' || quote == '\'' {
            let inner = &v[1..];
            &inner[..inner.find(quote).unwrap_or(inner.len())]
        } else {
            &v[..v
                .find(|c: char| c.is_whitespace() || c == '>')
                .unwrap_or(v.len())]
        };
        return Some(
            value
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
                .replace("&#x2F;", "/")
                .replace("&#47;", "/")
                .replace("&#x3D;", "=")
                .replace("&#61;", "="),
        );
    }
    None
}

/// Resolve a possibly relative `Location` against the request URL.
pub fn absolutize(base: &str, location: &str) -> String {
    match url::Url::parse(base).and_then(|b| b.join(location)) {
        Ok(u) => u.to_string(),
        Err(_) => location.to_string(),
    }
}

/// The JSON body of the response when it is a JSON object.
pub fn response_json(rec: &Record) -> Option<Value> {
    let resp = rec.response.as_ref()?;
    let text = resp.body.as_text()?;
    serde_json::from_str::<Value>(text.trim())
        .ok()
        .filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_body_that_is_not_utf8_still_gives_params() {
        let mut h = HeaderList::default();
        h.push("Content-Type", "application/x-www-form-urlencoded");
        let p = body_params(
            &h,
            &Body::from_bytes(b"grant_type=client_credentials&x=\xff\xfe"),
        );
        assert_eq!(get(&p, "grant_type"), Some("client_credentials"));
        assert_eq!(get(&p, "x"), Some("\u{fffd}\u{fffd}"));
    }

    #[test]
    fn multipart_bodies_give_params_like_forms() {
        let b = "------x\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\n27431\r\n------x\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\nabc&scope=read\r\n------x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\nBIN\r\n------x--\r\n";
        let mut h = HeaderList::default();
        h.push("Content-Type", "multipart/form-data; boundary=----x");
        let p = body_params(&h, &Body::from_bytes(b.as_bytes()));
        assert_eq!(get(&p, "client_id"), Some("27431"));
        assert_eq!(get(&p, "code"), Some("abc&scope=read"));
        assert_eq!(get(&p, "f"), None, "file parts are not parameters");
        // Not multipart after all: nothing, and no panic.
        assert_eq!(body_params(&h, &Body::from_bytes(b"garbage")), Vec::new());
        h.0.clear();
        h.push("Content-Type", "multipart/form-data");
        assert_eq!(body_params(&h, &Body::from_bytes(b.as_bytes())), Vec::new());
    }

    #[test]
    fn form_and_json_bodies_give_params() {
        let mut h = HeaderList::default();
        h.push("Content-Type", "application/x-www-form-urlencoded");
        let p = body_params(
            &h,
            &Body::from_bytes(b"grant_type=authorization_code&code=a%2Bb+c"),
        );
        assert_eq!(get(&p, "code"), Some("a+b c"));
        let h = HeaderList::default();
        let p = body_params(
            &h,
            &Body::from_bytes(br#"{"grant_type":"refresh_token","n":3}"#),
        );
        assert_eq!(get(&p, "grant_type"), Some("refresh_token"));
        assert_eq!(get(&p, "n"), Some("3"));
    }
}

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
        return BodyFormat::Form;
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

/// Parameters carried back to the client by a 3xx `Location` (query and fragment).
pub fn location_params(rec: &Record) -> Params {
    match redirect_location(rec) {
        Some(loc) => {
            let loc = absolutize(&rec.request.url, loc);
            let mut p = query_params(&loc);
            p.extend(fragment_params(&loc));
            p
        }
        None => Vec::new(),
    }
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

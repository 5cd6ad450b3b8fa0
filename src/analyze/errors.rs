//! Rule family `errors`: find OAuth errors wherever providers put them and
//! explain them from the catalog (`error.<code>`, `error.hidden_in_success`).
//!
//! [`extract`] is the shared, pure entry point other rules (notably
//! [`super::diagnose`]) use to ask "which error did this exchange carry?".
//! It reads RFC 6749 JSON bodies, form-encoded bodies (GitHub), Slack's
//! `{"ok":false}`, Facebook's nested Graph errors, Google API-style and
//! HubSpot errors, Entra `AADSTS` numbers inside descriptions and
//! `error_codes`, `WWW-Authenticate` challenges (RFC 6750 / RFC 9449), a few
//! well-known provider HTML error pages, the `Location` of authorization
//! responses and callback parameters. [`provider`] names the provider.

use super::login::Login;
use super::params;
use super::{AnalyzeOptions, Finding};
use crate::catalog;
use crate::catalog::annotations as code;
use crate::record::{Annotation, HeaderList, Kind, Record, Severity};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Where in an exchange an error was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// A JSON response body (`{"error": ...}`), any status.
    JsonBody,
    /// A form-encoded response body (`error=...`, GitHub's default).
    FormBody,
    /// The `Location` of a 3xx authorization response (query or fragment).
    Location,
    /// The callback request's own query or form body.
    Callback,
    /// A `WWW-Authenticate` response header (RFC 6750).
    WwwAuthenticate,
    /// A provider's HTML error page.
    Html,
    /// Only the HTTP status: a 4xx/5xx from the token endpoint whose body
    /// holds no OAuth error (the code is `http_<status>`).
    Status,
}

impl ErrorSource {
    /// A snake_case name for evidence (`json_body`, `www_authenticate`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorSource::JsonBody => "json_body",
            ErrorSource::FormBody => "form_body",
            ErrorSource::Location => "location",
            ErrorSource::Callback => "callback",
            ErrorSource::WwwAuthenticate => "www_authenticate",
            ErrorSource::Html => "html",
            ErrorSource::Status => "status",
        }
    }

    /// A phrase for explanations ("the JSON response body", ...).
    pub fn describe(self) -> &'static str {
        match self {
            ErrorSource::JsonBody => "the JSON response body",
            ErrorSource::FormBody => "the form-encoded response body",
            ErrorSource::Location => "the redirect (Location) back to the client",
            ErrorSource::Callback => "the callback's parameters",
            ErrorSource::WwwAuthenticate => "the WWW-Authenticate response header",
            ErrorSource::Html => "the provider's HTML error page",
            ErrorSource::Status => "the HTTP status (the body holds no OAuth error code)",
        }
    }
}

/// One OAuth error seen in an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenError {
    /// The error code as sent (`invalid_grant`, `AADSTS70008`, `IP_RESTRICTED`, `bad_verification_code`).
    /// Facebook Graph errors are reported as `facebook_<code>` (the subcode when present)
    /// and as their `type` (`OAuthException`).
    pub code: String,
    /// `error_description` or the provider's message, if any.
    pub description: Option<String>,
    /// Where it was found.
    pub source: ErrorSource,
    /// True when the HTTP status was 2xx (GitHub / Slack style).
    pub in_success: bool,
}

impl SeenError {
    fn new(code: &str, description: Option<&str>, source: ErrorSource, in_success: bool) -> Self {
        SeenError {
            code: code.trim().to_string(),
            description: description
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string),
            source,
            in_success,
        }
    }
}

/// Every OAuth error carried by `rec` (response body, `WWW-Authenticate`,
/// `Location`, callback parameters), each code once, in that order. Entra
/// `AADSTS` numbers found in a description or in `error_codes` are reported
/// as extra errors next to the RFC code (`invalid_grant` and `AADSTS70008`).
/// Pure; never fails.
pub fn extract(rec: &Record) -> Vec<SeenError> {
    let mut out = Vec::new();
    let status = rec.response.as_ref().map(|r| r.status).unwrap_or(0);
    let in_success = (200..300).contains(&status);
    if let Some(resp) = rec.response.as_ref() {
        if let Some(text) = resp.body.as_text() {
            body_errors(text.trim(), &resp.headers, in_success, &mut out);
        }
        for value in resp.headers.get_all("www-authenticate") {
            for (_scheme, p) in parse_challenges(value) {
                if let Some(code) = params::get(&p, "error") {
                    out.push(SeenError::new(
                        code,
                        params::get(&p, "error_description"),
                        ErrorSource::WwwAuthenticate,
                        in_success,
                    ));
                }
            }
        }
    }
    // A Location is the provider's authorization response only on a
    // provider leg; a callback's redirect is the app's own (to its error
    // page, `/api/auth/error?error=OAuthCallback`), not a provider error.
    let loc = if matches!(
        rec.kind,
        Kind::AuthorizeRequest | Kind::AuthorizationResponse | Kind::ProviderPage
    ) {
        params::location_params(rec)
    } else {
        Vec::new()
    };
    if let Some(code) = params::get(&loc, "error") {
        out.push(SeenError::new(
            code,
            params::get(&loc, "error_description"),
            ErrorSource::Location,
            false,
        ));
    }
    if rec.kind == Kind::Callback {
        let p = params::request_params(rec);
        if let Some(code) = params::get(&p, "error") {
            out.push(SeenError::new(
                code,
                params::get(&p, "error_description"),
                ErrorSource::Callback,
                false,
            ));
        }
    }
    // Entra: AADSTS numbers inside descriptions become errors of their own.
    let mut extra = Vec::new();
    for e in &out {
        if let Some(d) = &e.description {
            for code in aadsts_codes(d) {
                extra.push(SeenError {
                    code,
                    description: e.description.clone(),
                    source: e.source,
                    in_success: e.in_success,
                });
            }
        }
    }
    out.extend(extra);
    out.retain(|e| !e.code.is_empty());
    // The provider's own page that says it is an error page, at any status
    // (Facebook "URL Blocked" and IdentityServer's error page answer 200),
    // or any HTML page it answers with a 4xx/5xx: the provider's codes it
    // names, else the page itself (`provider_error_page`, quoting its
    // words). Not when the errors came from a redirect or a JSON body: then
    // the browser left, or no page was shown.
    let page_only = out.iter().all(|e| e.source == ErrorSource::Html);
    if page_only && matches!(rec.kind, Kind::AuthorizeRequest | Kind::ProviderPage) {
        let html = rec
            .response
            .as_ref()
            .filter(|r| {
                r.headers
                    .get("content-type")
                    .is_none_or(|ct| ct.to_ascii_lowercase().contains("html"))
            })
            .and_then(|r| r.body.as_text())
            .unwrap_or("");
        let words = error_page_words(html).or_else(|| {
            ((400..600).contains(&status) && looks_like_html(html))
                .then(|| own_words(html))
                .filter(|w| !w.is_empty())
        });
        if let Some(words) = words {
            if out.is_empty() {
                for c in codes_in_text(html) {
                    out.push(SeenError::new(&c, Some(&words), ErrorSource::Html, false));
                }
            }
            // A page that names no code of the provider's is the failure
            // itself, in its own words: never a code it did not say.
            if out.iter().all(|e| e.code == PROVIDER_ERROR_PAGE) {
                out.retain(|e| e.code != PROVIDER_ERROR_PAGE);
                out.push(SeenError::new(
                    PROVIDER_ERROR_PAGE,
                    Some(&words),
                    ErrorSource::Html,
                    false,
                ));
            }
        }
    }
    if !matches!(rec.kind, Kind::AuthorizeRequest | Kind::ProviderPage) {
        out.retain(|e| e.code != PROVIDER_ERROR_PAGE);
    }
    // RFC 6750 §3.1: a request without credentials gets a bare challenge
    // (no `error`): the normal first step, not a failure.
    let bare_challenge = status == 401
        && rec.response.as_ref().is_some_and(|r| {
            r.headers.get_all("www-authenticate").any(|v| {
                let l = v.trim_start().to_ascii_lowercase();
                (l.starts_with("bearer") || l.starts_with("dpop")) && !l.contains("error=")
            })
        });
    if out.is_empty()
        && (400..600).contains(&status)
        && speaks_to_the_provider(rec.kind)
        && !bare_challenge
    {
        // No OAuth error in any shape we know: the status and the
        // provider's own words still explain the failure.
        let words = rec
            .response
            .as_ref()
            .and_then(|r| r.body.as_text())
            .map(own_words)
            .filter(|w| !w.is_empty());
        out.push(SeenError::new(
            &format!("http_{status}"),
            words.as_deref(),
            ErrorSource::Status,
            false,
        ));
    }
    let mut seen = HashSet::new();
    out.retain(|e| seen.insert(e.code.clone()));
    out
}

/// The code [`extract`] gives a provider's error page that names no code
/// of its own; annotated as `authorize.provider_error_page`.
pub const PROVIDER_ERROR_PAGE: &str = "provider_error_page";

/// Kinds whose answers come from the provider's token-endpoint family (a
/// 4xx/5xx there is always a provider error, whatever its body).
fn speaks_to_the_provider(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::TokenRequest
            | Kind::DeviceAuthorization
            | Kind::Par
            | Kind::Revocation
            | Kind::Introspection
            | Kind::AuthorizeRequest
            | Kind::ProviderPage
            | Kind::Userinfo
            | Kind::Discovery
            | Kind::Jwks
    )
}

/// True when `text` looks like an HTML document or fragment.
fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(1024)
        .collect::<String>()
        .to_ascii_lowercase();
    head.contains("<html")
        || head.contains("<body")
        || head.contains("<!doctype")
        || head.contains("<h1")
        || head.contains("<p>")
        || head.contains("<div")
}

/// The visible text of a body: markup, `<script>`, `<style>` and comments
/// removed, the common entities decoded, whitespace folded. Reads at most
/// the first 256 KiB.
pub fn visible_text(text: &str) -> String {
    let mut end = text.len().min(256 * 1024);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = &text[..end];
    let lower = text.to_ascii_lowercase();
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &lower[i..];
        if rest.starts_with("<!--") {
            i += rest.find("-->").map_or(rest.len(), |e| e + 3);
            out.push(' ');
            continue;
        }
        if let Some(tag) = ["<script", "<style"].iter().find(|t| rest.starts_with(**t)) {
            let close = format!("</{}", &tag[1..]);
            i += rest
                .find(&close)
                .map(|e| e + rest[e..].find('>').map_or(rest.len() - e, |g| g + 1))
                .unwrap_or(rest.len());
            out.push(' ');
            continue;
        }
        if rest.starts_with('<') {
            i += rest.find('>').map_or(rest.len(), |e| e + 1);
            out.push(' ');
            continue;
        }
        let next = rest.find('<').unwrap_or(rest.len());
        out.push_str(&text[i..i + next]);
        i += next;
    }
    let out = unescape_html(&out)
        .replace("&nbsp;", " ")
        .replace("&#160;", " ");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Words of a sentence that make it worth quoting from an error page:
/// what OAuth failures are about (weight 3), and how pages word a refusal
/// (weight 1).
const TELLING: [(&str, u32); 22] = [
    ("redirect", 3),
    ("callback", 3),
    ("client", 3),
    ("scope", 3),
    ("response_type", 3),
    ("parameter", 3),
    ("registered", 3),
    ("whitelist", 3),
    ("allowed", 3),
    ("error code", 3),
    ("invalid", 2),
    ("mismatch", 2),
    ("not match", 2),
    ("doesn't match", 2),
    ("does not match", 2),
    ("must", 1),
    ("expired", 1),
    ("denied", 1),
    ("not found", 1),
    ("unknown", 1),
    ("blocked", 1),
    ("error", 1),
];

/// A page's own words for a title: all of its visible text when short,
/// else its first sentence and the sentences that say what went wrong
/// ([`TELLING`]), in page order, at most about 300 chars.
fn own_words(text: &str) -> String {
    let visible = visible_text(text);
    const MAX: usize = 300;
    if visible.chars().count() <= MAX {
        return visible;
    }
    // Sentences: split after '.', '!' or '?' followed by a space.
    let mut sentences: Vec<&str> = Vec::new();
    let mut start = 0;
    let b = visible.as_bytes();
    for (i, c) in visible.char_indices() {
        if matches!(c, '.' | '!' | '?') && b.get(i + 1) == Some(&b' ') {
            sentences.push(visible[start..=i].trim());
            start = i + 1;
        }
    }
    sentences.push(visible[start..].trim());
    let clip = |s: &str, n: usize| -> String {
        match s.char_indices().nth(n) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s.to_string(),
        }
    };
    let score = |s: &str| -> u32 {
        let l = s.to_ascii_lowercase();
        TELLING
            .iter()
            .filter(|(w, _)| l.contains(w))
            .map(|(_, n)| n)
            .sum()
    };
    let mut ranked: Vec<(usize, u32)> = sentences
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, s)| (i, score(s)))
        .filter(|(_, n)| *n >= 2)
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let first = clip(sentences[0], 120);
    let mut budget = MAX.saturating_sub(first.chars().count());
    let mut keep: Vec<usize> = Vec::new();
    for (i, _) in ranked {
        let n = sentences[i].chars().count() + 3;
        if n <= budget {
            keep.push(i);
            budget -= n;
        }
    }
    if keep.is_empty() {
        return clip(&visible, MAX);
    }
    keep.sort_unstable();
    let mut out = first;
    let mut last = 0;
    for i in keep {
        out.push_str(if i == last + 1 { " " } else { " … " });
        out.push_str(sentences[i]);
        last = i;
    }
    out
}

/// Errors in a response body of any shape.
fn body_errors(text: &str, headers: &HeaderList, in_success: bool, out: &mut Vec<SeenError>) {
    if text.is_empty() {
        return;
    }
    if text.starts_with('{') || text.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            json_errors(&v, in_success, out);
            return;
        }
    }
    let ct = headers
        .get("content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let htmlish = ct.contains("html") || text.starts_with('<');
    if !htmlish && text.contains("error=") {
        let p = params::form_params(text);
        if let Some(code) = params::get(&p, "error") {
            out.push(SeenError::new(
                code,
                params::get(&p, "error_description"),
                ErrorSource::FormBody,
                in_success,
            ));
        }
        return;
    }
    if htmlish {
        for (code, desc) in html_errors(text) {
            out.push(SeenError::new(
                &code,
                desc.as_deref(),
                ErrorSource::Html,
                in_success,
            ));
        }
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Errors in a JSON body: RFC, Slack, Facebook, Google API, Dropbox,
/// HubSpot, Entra `error_codes`, Salesforce REST arrays.
fn json_errors(v: &Value, in_success: bool, out: &mut Vec<SeenError>) {
    let src = ErrorSource::JsonBody;
    if let Some(arr) = v.as_array() {
        // Salesforce REST: [{"errorCode":"INVALID_SESSION_ID","message":"..."}]
        if let Some(first) = arr.first() {
            if let Some(code) = str_of(first, "errorCode") {
                out.push(SeenError::new(
                    code,
                    str_of(first, "message"),
                    src,
                    in_success,
                ));
            }
        }
        return;
    }
    if !v.is_object() {
        return;
    }
    // Zoom puts its text in `reason`; others in `message` / `error_message`.
    let description = str_of(v, "error_description")
        .or_else(|| str_of(v, "reason"))
        .or_else(|| str_of(v, "message"))
        .or_else(|| str_of(v, "error_message"));
    match v.get("error") {
        Some(Value::String(code)) => {
            out.push(SeenError::new(code, description, src, in_success));
        }
        Some(obj @ Value::Object(_)) => {
            let message = str_of(obj, "message");
            if let Some(tag) = str_of(obj, ".tag") {
                // Dropbox: {"error_summary": "...", "error": {".tag": "..."}}
                out.push(SeenError::new(
                    tag,
                    str_of(v, "error_summary").or(message),
                    src,
                    in_success,
                ));
            } else if str_of(obj, "type") == Some("OAuthException")
                || obj.get("fbtrace_id").is_some()
                || obj.get("error_subcode").is_some()
            {
                // Facebook Graph: {"error":{"message","type","code","error_subcode"}}
                let n = obj
                    .get("error_subcode")
                    .and_then(Value::as_i64)
                    .or_else(|| obj.get("code").and_then(Value::as_i64));
                let kind = str_of(obj, "type").unwrap_or("OAuthException");
                if let Some(n) = n {
                    out.push(SeenError::new(
                        &format!("facebook_{n}"),
                        message,
                        src,
                        in_success,
                    ));
                }
                // The Graph error's `type` is its `error` field: reported too
                // (`OAuthException`), as Entra's AADSTS numbers sit next to
                // the RFC code.
                out.push(SeenError::new(kind, message, src, in_success));
            } else if let Some(status) = str_of(obj, "status") {
                // Google API style: {"error":{"code":400,"message":..,"status":"INVALID_ARGUMENT"}}
                out.push(SeenError::new(status, message, src, in_success));
            } else if let Some(code) = str_of(obj, "code").or_else(|| str_of(obj, "error")) {
                out.push(SeenError::new(code, message, src, in_success));
            }
        }
        _ => {}
    }
    // HubSpot: {"status":"BAD_CLIENT_ID","message":"..."} (newer responses add
    // RFC fields too), or {"status":"error","message":"...","category":"BAD_..."}.
    if let Some(status) = str_of(v, "status").filter(|s| s.starts_with("BAD_")) {
        out.push(SeenError::new(
            status,
            str_of(v, "message"),
            src,
            in_success,
        ));
    } else if let Some(category) = str_of(v, "category")
        .filter(|_| str_of(v, "status").is_some_and(|s| s.eq_ignore_ascii_case("error")))
    {
        out.push(SeenError::new(
            category,
            str_of(v, "message"),
            src,
            in_success,
        ));
    }
    // Strava (and GitHub's REST API): {"message":"Bad Request","errors":
    // [{"resource":"RequestToken","field":"code","code":"invalid"}]}: each
    // item becomes `<code>_<field>` (`invalid_code`), described in full.
    if v.get("error").is_none() {
        if let Some(items) = v.get("errors").and_then(Value::as_array) {
            let message = str_of(v, "message");
            for item in items {
                // Fitbit: {"errors":[{"errorType":"invalid_grant","message":"Refresh
                // token invalid: ..."}],"success":false} (dev.fitbit.com, "Troubleshooting
                // Guide"); the errorType is the RFC 6749 §5.2 code.
                if let Some(kind) = str_of(item, "errorType") {
                    out.push(SeenError::new(
                        kind,
                        str_of(item, "message").or(message),
                        src,
                        in_success,
                    ));
                    continue;
                }
                let Some(code) = str_of(item, "code") else {
                    continue;
                };
                let field = str_of(item, "field").unwrap_or("");
                let name = if field.is_empty() {
                    code.to_string()
                } else {
                    format!("{code}_{field}")
                };
                let what = [str_of(item, "resource"), Some(field), Some(code)]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                let desc = match message {
                    Some(m) => format!("{m}: {what}"),
                    None => what,
                };
                out.push(SeenError::new(&name, Some(&desc), src, in_success));
            }
        }
    }
    // Entra: "error_codes": [70008]
    if let Some(codes) = v.get("error_codes").and_then(Value::as_array) {
        for n in codes.iter().filter_map(Value::as_u64) {
            out.push(SeenError::new(
                &format!("AADSTS{n}"),
                description,
                src,
                in_success,
            ));
        }
    }
}

/// `AADSTS` numbers in a text, in order, without repeats.
pub fn aadsts_codes(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("AADSTS") {
        let after = &rest[i + 6..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if digits.len() >= 4 {
            let code = format!("AADSTS{digits}");
            if !out.contains(&code) {
                out.push(code);
            }
        }
        rest = &after[digits.len()..];
    }
    out
}

/// Parse `WWW-Authenticate` challenges into `(scheme, params)`; quoted
/// values are unquoted. `Bearer realm="x", error="invalid_token", DPoP
/// error="use_dpop_nonce"` gives two challenges.
pub fn parse_challenges(value: &str) -> Vec<(String, params::Params)> {
    let chars: Vec<char> = value.chars().collect();
    let mut out: Vec<(String, params::Params)> = Vec::new();
    let mut i = 0;
    let n = chars.len();
    let is_sep = |c: char| c == ',' || c == '=' || c.is_whitespace() || c == '"';
    loop {
        while i < n && (chars[i] == ',' || chars[i].is_whitespace()) {
            i += 1;
        }
        if i >= n {
            break;
        }
        if chars[i] == '"' {
            // A bare quoted string (non-standard, e.g. Facebook): skip it.
            let (_, next) = quoted(&chars, i);
            i = next;
            continue;
        }
        let start = i;
        while i < n && !is_sep(chars[i]) {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        let mut j = i;
        while j < n && chars[j].is_whitespace() {
            j += 1;
        }
        if j < n && chars[j] == '=' && !token.is_empty() {
            j += 1;
            while j < n && chars[j].is_whitespace() {
                j += 1;
            }
            let (val, next) = if j < n && chars[j] == '"' {
                quoted(&chars, j)
            } else {
                let s = j;
                while j < n && chars[j] != ',' && !chars[j].is_whitespace() {
                    j += 1;
                }
                (chars[s..j].iter().collect(), j)
            };
            i = next;
            if out.is_empty() {
                out.push((String::new(), Vec::new()));
            }
            if let Some(last) = out.last_mut() {
                last.1.push((token.to_ascii_lowercase(), val));
            }
        } else if !token.is_empty() {
            out.push((token, Vec::new()));
        } else {
            i += 1;
        }
    }
    out
}

/// A quoted string starting at `chars[i] == '"'`: its unescaped content and
/// the index after the closing quote.
fn quoted(chars: &[char], mut i: usize) -> (String, usize) {
    let mut s = String::new();
    i += 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                s.push(chars[i + 1]);
                i += 2;
            }
            '"' => return (s, i + 1),
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    (s, i)
}

fn unescape_html(s: &str) -> String {
    s.replace("&#39;", "'")
        .replace("&#039;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text after `at` up to markup, a quote or a line end (at most 300 chars).
fn snippet(text: &str, at: usize) -> Option<String> {
    let rest = &text[at..];
    let end = rest
        .find(['<', '"', '\n', '\r', '\\'])
        .unwrap_or(rest.len());
    let s = unescape_html(rest[..end].trim());
    let s: String = s.chars().take(300).collect();
    Some(s).filter(|s| !s.is_empty())
}

/// Words in a page's title or headings that mark an error page.
const ERROR_PAGE_MARKERS: &[&str] = &[
    "error",
    "blocked",
    "invalid",
    "denied",
    "not allowed",
    "problem",
    "trouble",
    "sorry",
    "something went wrong",
    "bad request",
    "unauthorized",
    "forbidden",
];

/// The visible words of an HTML page's title and headings, when they say
/// the page is an error page ("URL Blocked", "Sorry, but we're having
/// trouble signing you in", "Error"), with the page's first words after
/// them; `None` for any other page.
pub fn error_page_words(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    if !(lower.contains("<html") || lower.contains("<body") || lower.contains("<h1")) {
        return None;
    }
    let mut heads = Vec::new();
    for tag in ["title", "h1", "h2", "h3"] {
        let open = format!("<{tag}");
        let mut from = 0;
        while let Some(i) = lower[from..].find(&open) {
            let start = from + i;
            let Some(gt) = lower[start..].find('>') else {
                break;
            };
            let body = start + gt + 1;
            let end = lower[body..]
                .find(&format!("</{tag}"))
                .map(|e| body + e)
                .unwrap_or(lower.len().min(body + 300));
            heads.push(own_words(&html[body..end]));
            from = end.max(start + 1);
        }
    }
    let marked = heads.iter().any(|h| {
        let l = h.to_ascii_lowercase();
        ERROR_PAGE_MARKERS.iter().any(|m| l.contains(m))
    });
    marked.then(|| own_words(html))
}

/// Standard OAuth error codes (snake_case, known to the catalog) named in
/// the visible text of an error page ("Sorry, there was an error :
/// unauthorized_client").
fn codes_in_text(text: &str) -> Vec<String> {
    let visible = visible_text(text);
    let mut out: Vec<String> = Vec::new();
    for w in visible.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if w.len() > 6
            && w.contains('_')
            && w.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && catalog::lookup(w).is_some()
            && !out.iter().any(|x| x == w)
        {
            out.push(w.to_string());
        }
    }
    out
}

/// Errors on well-known provider HTML error pages, and nothing else.
fn html_errors(text: &str) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let lower = text.to_ascii_lowercase();
    // Google: "Error 400: redirect_uri_mismatch"
    let mut from = 0;
    while let Some(i) = lower[from..].find("error ") {
        let at = from + i + 6;
        from = at;
        let b = lower.as_bytes();
        if at + 5 <= b.len()
            && b[at..at + 3].iter().all(u8::is_ascii_digit)
            && &b[at + 3..at + 5] == b": "
        {
            let code: String = text[at + 5..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if code.contains('_') || catalog::lookup(&code).is_some() {
                let status = &text[at..at + 3];
                out.push((code.clone(), Some(format!("Error {status}: {code}"))));
            }
        }
    }
    // Entra: "AADSTS50011: The redirect URI ... does not match ..."
    let mut from = 0;
    while let Some(i) = text[from..].find("AADSTS") {
        let at = from + i + 6;
        let digits: String = text[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        from = at + digits.len();
        if digits.len() >= 4 && text[from..].starts_with(':') {
            out.push((format!("AADSTS{digits}"), snippet(text, from + 1)));
        }
    }
    // Keycloak, Okta, Auth0, Facebook, HubSpot redirect pages. Keycloak's,
    // Okta's and Auth0's words name no code: they are the provider's page
    // (`provider_error_page`), never a code it did not say.
    let pages: [(&str, &str, &str); 6] = [
        (
            "invalid parameter: redirect_uri",
            PROVIDER_ERROR_PAGE,
            "Invalid parameter: redirect_uri",
        ),
        (
            "must be a login redirect uri",
            PROVIDER_ERROR_PAGE,
            "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings",
        ),
        (
            "is not in the list of allowed callback urls",
            PROVIDER_ERROR_PAGE,
            "Callback URL mismatch: the URL is not in the list of allowed callback URLs",
        ),
        (
            "doesn't match the app's registered redirect url",
            "BAD_REDIRECT_URI",
            "The redirect URL doesn't match the app's registered redirect URL",
        ),
        (
            "can't load url",
            "facebook_191",
            "Can't load URL: the domain of this URL isn't included in the app's domains",
        ),
        (
            "can&#039;t load url",
            "facebook_191",
            "Can't load URL: the domain of this URL isn't included in the app's domains",
        ),
    ];
    for (needle, code, desc) in pages {
        if lower.contains(needle) {
            out.push((code.to_string(), Some(desc.to_string())));
        }
    }
    // "Error Code: invalid_request" (Okta), "Error: access_denied": the
    // provider's own code, before any text we map.
    for marker in ["error code:", "error code :", "errorcode:"] {
        if let Some(i) = lower.find(marker) {
            let rest = text[i + marker.len()..].trim_start();
            // The code ends where its element does (`<p>Error Code:
            // invalid_request</p><p>Description: ...`).
            let mut rest = rest;
            while let Some(tag) = rest.strip_prefix('<') {
                rest = tag.find('>').map_or("", |gt| &tag[gt + 1..]).trim_start();
            }
            let rest = &rest[..rest.find('<').unwrap_or(rest.len())];
            let code: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if code.contains('_') && catalog::lookup(&code).is_some() {
                let desc = lower
                    .find("description:")
                    .map(|j| own_words(&text[j + 12..]))
                    .map(|d| d.split(" Error ").next().unwrap_or(&d).to_string());
                out.insert(0, (code, desc));
                break;
            }
        }
    }
    // A query string echoed on the page: "error=redirect_uri_mismatch&error_description=..."
    // (Salesforce, Cognito), accepted only for codes the catalog knows.
    let short = text.len() < 4096;
    if let Some(i) = text.find("error=").filter(|_| short) {
        let code: String = text[i + 6..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if !code.is_empty() && catalog::lookup(&code).is_some() {
            let desc = text.find("error_description=").map(|j| {
                let raw: String = text[j + 18..]
                    .chars()
                    .take_while(|c| !matches!(c, '&' | '<' | '"' | '\'' | '\n' | ' '))
                    .collect();
                params::form_params(&format!("d={raw}"))
                    .pop()
                    .map(|(_, v)| v)
                    .unwrap_or(raw)
            });
            out.push((code, desc));
        }
    }
    out
}

/// The provider id of a URL (see [`crate::providers::of_url`]).
pub fn provider_of_url(url: &str) -> Option<&'static str> {
    crate::providers::of_url(url).map(|p| p.id)
}

/// The provider id of an exchange, from its URL or the shape of its
/// response (see [`crate::providers::of_record`]).
pub fn provider(rec: &Record) -> Option<&'static str> {
    crate::providers::of_record(rec).map(|p| p.id)
}

/// Codes that are the normal answer to `prompt=none` (silent login).
const SILENT: &[&str] = &[
    "login_required",
    "consent_required",
    "interaction_required",
    "account_selection_required",
    "AADSTS50058",
    "AADSTS50076",
    "AADSTS50079",
    "AADSTS65001",
    "AADSTS16000",
];

/// Codes that are a normal step of a protocol, not a failure.
const NORMAL: &[&str] = &[
    "authorization_pending",
    "slow_down",
    "AADSTS70016",
    "use_dpop_nonce",
    "immediate_unsuccessful",
];

fn has_prompt_none(rec: &Record) -> bool {
    let p = params::request_params(rec);
    params::get(&p, "prompt").is_some_and(|v| v.split_whitespace().any(|x| x == "none"))
}

/// Findings of this rule family over records in time order: `error.<code>`
/// for every error seen (with the catalog's meaning, the provider's variant
/// when recognised), and `error.hidden_in_success` for a 2xx carrying one.
pub fn annotate(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let flow_of = |r: &Record| r.flow.clone().unwrap_or_else(|| r.id.clone());
    let mut flow_provider: HashMap<String, &'static str> = HashMap::new();
    let mut silent_flows: HashSet<String> = HashSet::new();
    for r in records {
        if r.kind != Kind::Callback {
            if let Some(p) = provider(r) {
                flow_provider.entry(flow_of(r)).or_insert(p);
            }
        }
        if matches!(r.kind, Kind::AuthorizeRequest | Kind::Par) && has_prompt_none(r) {
            silent_flows.insert(flow_of(r));
        }
    }
    let is_normal = |code: &str| NORMAL.iter().any(|c| c.eq_ignore_ascii_case(code));
    // Expected protocol states (device-flow `authorization_pending`,
    // `slow_down`) are summarised once per polling run: the first answer
    // carries the count, the rest add nothing.
    let extracted: Vec<Vec<SeenError>> = records.iter().map(extract).collect();
    let mut runs: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for (i, errs) in extracted.iter().enumerate() {
        for e in errs.iter().filter(|e| is_normal(&e.code)) {
            runs.entry((flow_of(&records[i]), e.code.to_ascii_lowercase()))
                .or_default()
                .push(i);
        }
    }
    // An error the provider redirected back is annotated where it was
    // issued; the callback that merely carries it on adds nothing.
    let mut redirected: HashSet<(String, String, Option<String>)> = HashSet::new();
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        let errs = &extracted[i];
        if errs.is_empty() {
            continue;
        }
        let state = params::get(
            &if rec.kind == Kind::Callback {
                params::request_params(rec)
            } else {
                params::location_params(rec)
            },
            "state",
        )
        .map(str::to_string);
        let key = |e: &SeenError| (flow_of(rec), e.code.clone(), state.clone());
        if matches!(
            rec.kind,
            Kind::AuthorizeRequest | Kind::AuthorizationResponse
        ) {
            for e in errs.iter().filter(|e| e.source == ErrorSource::Location) {
                redirected.insert(key(e));
            }
        }
        let errs: Vec<SeenError> = errs
            .iter()
            .filter(|e| !(e.source == ErrorSource::Callback && redirected.contains(&key(e))))
            .cloned()
            .collect();
        if errs.is_empty() {
            continue;
        }
        let flow = flow_of(rec);
        let run_of = |code: &str| runs.get(&(flow.clone(), code.to_ascii_lowercase()));
        let own = if rec.kind == Kind::Callback {
            None
        } else {
            provider(rec)
        };
        let prov = own
            .or_else(|| flow_provider.get(&flow).copied())
            .or_else(|| {
                errs.iter()
                    .any(|e| e.code.starts_with("AADSTS"))
                    .then_some("entra")
            });
        let silent = silent_flows.contains(&flow)
            || (rec.kind == Kind::AuthorizeRequest && has_prompt_none(rec));
        let status = rec.response.as_ref().map(|r| r.status);
        for e in &errs {
            let mut a = error_annotation(rec, e, prov, silent, status);
            if let Some(run) = run_of(&e.code).filter(|_| is_normal(&e.code)) {
                if run.first() != Some(&i) {
                    continue;
                }
                if run.len() > 1 {
                    a.title = format!("{} ({} polls answered this)", a.title, run.len());
                    if let Some(obj) = a.evidence.as_object_mut() {
                        obj.insert("polls".into(), json!(run.len()));
                        obj.insert("records".into(), json!(super::diagnose::ids(records, run)));
                    }
                }
            }
            out.push(Finding::new(i, a));
        }
        let hidden: Vec<&SeenError> = errs
            .iter()
            .filter(|e| {
                e.in_success
                    && matches!(
                        e.source,
                        ErrorSource::JsonBody | ErrorSource::FormBody | ErrorSource::Html
                    )
            })
            .collect();
        let all_normal = hidden.iter().all(|e| is_normal(&e.code));
        let repeat = all_normal
            && hidden
                .iter()
                .all(|e| run_of(&e.code).is_some_and(|r| r.first() != Some(&i)));
        if let (Some(first), false) = (hidden.first(), repeat) {
            let st = status.unwrap_or(200);
            let codes: Vec<&str> = hidden.iter().map(|e| e.code.as_str()).collect();
            out.push(Finding::new(
                i,
                code::ERROR_HIDDEN_IN_SUCCESS
                    .annotation(
                    format!(
                        "The provider answered with a success status but {} holds `error={}`{}. Clients that check only the HTTP status treat this as success and then fail with \"no access_token\" or a parse error (GitHub and Slack do this by design). Check the body for `error` (and Slack's `ok`) before using the response.",
                        first.source.describe(),
                        first.code,
                        prov.map(|p| format!(" ({})", catalog::provider_name(p)))
                            .unwrap_or_default()
                    ),
                    json!({
                        "record": rec.id,
                        "status": st,
                        "codes": codes,
                        "source": first.source.as_str(),
                        "provider": prov,
                    }),
                )
                .about(format!("HTTP {st}, `{}`", first.code))
                .with_severity(if all_normal { Severity::Info } else { Severity::Warning }),
            ));
        }
    }
    out
}

fn error_annotation(
    rec: &Record,
    e: &SeenError,
    prov: Option<&'static str>,
    silent: bool,
    status: Option<u16>,
) -> Annotation {
    if e.code == PROVIDER_ERROR_PAGE {
        let words = e.description.clone().unwrap_or_default();
        return code::AUTHORIZE_PROVIDER_ERROR_PAGE
            .annotation(
                format!(
                    "The login stopped on {}'s own page{} and the browser was never sent \
                     back to the app. The page says: \"{words}\". It names no OAuth error code; \
                     its words are the provider's diagnosis (RFC 6749 §4.1.2.1: a redirect_uri or \
                     client_id the provider cannot verify is shown to the user, not redirected).",
                    prov.map(catalog::provider_name).unwrap_or("the provider"),
                    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
                ),
                json!({
                    "record": rec.id,
                    "status": status,
                    "provider": prov,
                    "page_says": words,
                    "source": "html",
                    "fields": ["response.body"],
                }),
            )
            .about(format!(
                "\"{}\"",
                words.chars().take(80).collect::<String>()
            ));
    }
    let grant = (rec.kind == Kind::TokenRequest)
        .then_some(rec.grant_type.as_deref())
        .flatten();
    let endpoint = match rec.kind {
        Kind::TokenRequest
        | Kind::Revocation
        | Kind::Introspection
        | Kind::DeviceAuthorization
        | Kind::Par => Some(catalog::Endpoint::Token),
        Kind::AuthorizeRequest
        | Kind::ProviderPage
        | Kind::AuthorizationResponse
        | Kind::Callback => Some(catalog::Endpoint::Authorize),
        Kind::ResourceRequest | Kind::Userinfo => Some(catalog::Endpoint::Resource),
        _ => None,
    };
    let entry = catalog::resolve_at(&e.code, prov, e.description.as_deref(), grant, endpoint);
    let code = format!("error.{}", e.code);
    let seen = format!(
        "Seen in {}{}{}{}.",
        e.source.describe(),
        status
            .filter(|_| !matches!(e.source, ErrorSource::Location | ErrorSource::Callback))
            .map(|s| format!(" (HTTP {s})"))
            .unwrap_or_default(),
        prov.map(|p| format!(" from {}", catalog::provider_name(p)))
            .unwrap_or_default(),
        e.description
            .as_deref()
            .map(|d| format!(": \"{d}\""))
            .unwrap_or_default(),
    );
    let is_silent = silent && SILENT.iter().any(|c| c.eq_ignore_ascii_case(&e.code));
    let is_normal = NORMAL.iter().any(|c| c.eq_ignore_ascii_case(&e.code));
    let severity = if is_silent || is_normal {
        Severity::Info
    } else {
        Severity::Error
    };
    let mut evidence = json!({
        "record": rec.id,
        "code": e.code,
        "description": e.description,
        "source": e.source.as_str(),
        "provider": prov,
        "status": status,
        "reference": entry.map(|x| x.see),
    });
    match entry {
        Some(x) => {
            let who = x
                .provider_name()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            let title = format!("{}{who}: {}", e.code, x.title);
            let lead = if is_silent {
                "The authorize request used prompt=none (silent login), so this is the expected answer when the user has to interact: fall back to an interactive login without prompt=none. This is not a misconfiguration. "
                    .to_string()
            } else {
                String::new()
            };
            // A client that sent no credentials at all has no secret to fix.
            let no_credentials = rec
                .flavour
                .as_ref()
                .is_some_and(|f| f.client_auth == "none")
                && ["invalid_client", "unauthorized_client"]
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&e.code));
            let detail = if no_credentials {
                format!(
                    "{lead}{}. {seen} This request sent no client secret or assertion (a public client), so the provider's registration expects a confidential client: either the app must authenticate, or the registration must allow public clients (see the diagnosis). Reference: {} ({}).",
                    x.title, x.see, x.source
                )
            } else {
                format!(
                    "{lead}{}. {seen} Likely causes: {} Fix: {} Reference: {} ({}).",
                    x.title, x.causes, x.fix, x.see, x.source
                )
            };
            if let Some(obj) = evidence.as_object_mut() {
                obj.insert("catalog_source".into(), json!(x.source));
                if is_silent {
                    obj.insert("prompt".into(), json!("none"));
                }
            }
            Annotation::new(code, severity, title, detail, evidence)
        }
        None => {
            let sugg = catalog::suggest(&e.code);
            let also = if sugg.is_empty() {
                String::new()
            } else {
                format!(" Similar known codes: {}.", sugg.join(", "))
            };
            if let Some(obj) = evidence.as_object_mut() {
                obj.insert("suggestions".into(), json!(sugg));
            }
            let who = prov
                .map(|p| format!(" ({})", catalog::provider_name(p)))
                .unwrap_or_default();
            let words = e
                .description
                .as_deref()
                .map(|d| format!(": \"{d}\""))
                .unwrap_or_default();
            let (title, lead) = if e.source == ErrorSource::Status {
                (
                    format!(
                        "HTTP {} from the provider{who}{}",
                        status.unwrap_or(0),
                        if words.is_empty() { " with no error body".to_string() } else { words }
                    ),
                    "The provider refused the request without an OAuth error code (RFC 6749 §5.2 asks for a JSON `error`).".to_string(),
                )
            } else {
                (
                    format!("{}{who}{}", e.code, if words.is_empty() { ": OAuth error not in the catalog".to_string() } else { words }),
                    format!("The provider reported error `{}`, which oauthscope's catalog does not know.", e.code),
                )
            };
            Annotation::new(
                code,
                severity,
                title,
                format!(
                    "{lead} {seen} Read the provider's documentation for this answer; the request that caused it is in this record.{also}"
                ),
                evidence,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Body, Request, Response};

    fn rec(kind: Kind, url: &str, status: u16, headers: &[(&str, &str)], body: &str) -> Record {
        let mut h = HeaderList::default();
        for (k, v) in headers {
            h.push(*k, *v);
        }
        Record {
            id: format!("{:016x}", url.len() as u64 * 1000 + status as u64),
            time: time::OffsetDateTime::UNIX_EPOCH,
            flow: Some("flow1".into()),
            kind,
            grant_type: None,
            request: Request {
                method: if kind == Kind::TokenRequest {
                    "POST"
                } else {
                    "GET"
                }
                .into(),
                url: url.into(),
                headers: HeaderList::default(),
                body: Body::default(),
            },
            response: Some(Response {
                status,
                headers: h,
                body: Body::from_bytes(body.as_bytes()),
            }),
            duration_ms: 1,
            error: None,
            flavour: None,
            annotations: Vec::new(),
        }
    }

    fn token(url: &str, status: u16, ct: &str, body: &str) -> Record {
        rec(
            Kind::TokenRequest,
            url,
            status,
            &[("Content-Type", ct)],
            body,
        )
    }

    fn codes(r: &Record) -> Vec<String> {
        extract(r).into_iter().map(|e| e.code).collect()
    }

    fn page(status: u16, html: &str) -> Record {
        rec(
            Kind::AuthorizeRequest,
            "https://dev-1.okta.com/oauth2/default/v1/authorize?client_id=c&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%2Fcb",
            status,
            &[("Content-Type", "text/html; charset=utf-8")],
            html,
        )
    }

    #[test]
    fn okta_page_names_its_own_code_first() {
        for (html, first) in [
            ("<!DOCTYPE html><html><head><title>dev-1 - Error</title></head><body><div class=\"content\"><h2 class=\"o-form-title\">400 Bad Request</h2><div class=\"error-content\"><p>Identity Provider: Unknown</p><p>Error Code: invalid_request</p><p>Description: The 'redirect_uri' parameter must be a Login redirect URI in the client app settings: https://dev-1-admin.okta.com/admin/app/oidc_client/instance/0oa#tab-general</p></div></div></body></html>", "invalid_request"),
            ("<html><body><h1>Error</h1><p>Error Code: <span class=\"c\">unauthorized_client</span></p></body></html>", "unauthorized_client"),
        ] {
            let r = page(400, html);
            assert_eq!(codes(&r).first().map(String::as_str), Some(first), "{:?}", codes(&r));
        }
    }

    const JSON: &str = "application/json";

    #[test]
    fn rfc_json_body() {
        let r = token(
            "https://idp.example/token",
            400,
            JSON,
            r#"{"error":"invalid_grant","error_description":"Code expired"}"#,
        );
        let e = extract(&r);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].code, "invalid_grant");
        assert_eq!(e[0].description.as_deref(), Some("Code expired"));
        assert_eq!(e[0].source, ErrorSource::JsonBody);
        assert!(!e[0].in_success);
    }

    #[test]
    fn fitbit_errors_array_carries_the_rfc_code_as_error_type() {
        let r = token(
            "https://api.fitbit.com/oauth2/token",
            400,
            JSON,
            r#"{"errors":[{"errorType":"invalid_grant","message":"Refresh token invalid: 7e6b. Visit https://dev.fitbit.com/docs/oauth2"}],"success":false}"#,
        );
        let e = extract(&r);
        assert_eq!(codes(&r), ["invalid_grant"]);
        assert!(e[0]
            .description
            .as_deref()
            .unwrap()
            .starts_with("Refresh token invalid"));
        assert_eq!(e[0].source, ErrorSource::JsonBody);
    }

    #[test]
    fn github_form_body_with_200() {
        let r = token(
            "https://github.com/login/oauth/access_token",
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            "error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.&error_uri=https%3A%2F%2Fdocs.github.com",
        );
        let e = extract(&r);
        assert_eq!(e[0].code, "bad_verification_code");
        assert_eq!(
            e[0].description.as_deref(),
            Some("The code passed is incorrect or expired.")
        );
        assert_eq!(e[0].source, ErrorSource::FormBody);
        assert!(e[0].in_success);
        assert_eq!(provider(&r), Some("github"));
        let f = crate::analyze::testkit::findings(annotate, std::slice::from_ref(&r));
        let codes: Vec<_> = f.iter().map(|f| f.annotation.code.as_str()).collect();
        assert_eq!(
            codes,
            ["error.bad_verification_code", "error.hidden_in_success"]
        );
        assert_eq!(f[1].annotation.severity, Severity::Warning);
        assert_eq!(f[0].annotation.evidence["provider"], "github");
        assert_eq!(f[0].annotation.evidence["status"], 200);
    }

    #[test]
    fn slack_ok_false() {
        let r = token(
            "https://slack.com/api/oauth.v2.access",
            200,
            JSON,
            r#"{"ok":false,"error":"invalid_code"}"#,
        );
        let e = extract(&r);
        assert_eq!(e[0].code, "invalid_code");
        assert!(e[0].in_success);
        assert_eq!(provider(&r), Some("slack"));
        let mut other_host = r.clone();
        other_host.request.url = "https://proxy.internal/slack".into();
        assert_eq!(provider(&other_host), Some("slack"), "by shape");
        let f = crate::analyze::testkit::findings(annotate, &[r]);
        assert!(
            f[0].annotation.title.contains("(Slack)"),
            "{}",
            f[0].annotation.title
        );
        assert!(f
            .iter()
            .any(|f| f.annotation.code == "error.hidden_in_success"));
    }

    #[test]
    fn facebook_nested_error() {
        let r = token(
            "https://graph.facebook.com/v19.0/oauth/access_token",
            400,
            JSON,
            r#"{"error":{"message":"This authorization code has been used.","type":"OAuthException","code":100,"error_subcode":36009,"fbtrace_id":"AbC"}}"#,
        );
        let e = extract(&r);
        assert_eq!(e[0].code, "facebook_36009");
        assert_eq!(e[1].code, "OAuthException");
        assert_eq!(
            e[0].description.as_deref(),
            Some("This authorization code has been used.")
        );
        assert_eq!(provider(&r), Some("facebook"));
        let r2 = token(
            "https://graph.facebook.com/v19.0/oauth/access_token",
            400,
            JSON,
            r#"{"error":{"message":"Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request","type":"OAuthException","code":100,"fbtrace_id":"x"}}"#,
        );
        let f = crate::analyze::testkit::findings(annotate, &[r2]);
        assert_eq!(f[0].annotation.code, "error.facebook_100");
        assert!(
            f[0].annotation.title.contains("redirect_uri"),
            "{}",
            f[0].annotation.title
        );
    }

    #[test]
    fn entra_aadsts_in_description_and_error_codes() {
        let r = token(
            "https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
            400,
            JSON,
            r#"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[70008],"trace_id":"1","correlation_id":"2"}"#,
        );
        assert_eq!(codes(&r), ["invalid_grant", "AADSTS70008"]);
        assert_eq!(provider(&r), Some("entra"));
        let chained = token(
            "https://login.microsoftonline.com/common/oauth2/token",
            401,
            JSON,
            r#"{"error":"invalid_client","error_description":"AADSTS70002: Error validating credentials. AADSTS7000215: Invalid client secret is provided."}"#,
        );
        assert_eq!(
            codes(&chained),
            ["invalid_client", "AADSTS70002", "AADSTS7000215"]
        );
        let f = crate::analyze::testkit::findings(annotate, &[r]);
        let a = &f[1].annotation;
        assert_eq!(a.code, "error.AADSTS70008");
        assert_eq!(a.severity, Severity::Error);
        assert!(a.title.contains("Entra"));
        assert!(a.evidence["reference"]
            .as_str()
            .unwrap()
            .starts_with("https://"));
    }

    #[test]
    fn www_authenticate_bearer_and_dpop() {
        let r = rec(
            Kind::Userinfo,
            "https://idp.example/userinfo",
            401,
            &[(
                "WWW-Authenticate",
                r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
            )],
            "",
        );
        let e = extract(&r);
        assert_eq!(e[0].code, "invalid_token");
        assert_eq!(
            e[0].description.as_deref(),
            Some("The access token expired")
        );
        assert_eq!(e[0].source, ErrorSource::WwwAuthenticate);
        let two = parse_challenges(
            r#"Bearer realm="api", DPoP algs="ES256 PS256", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#,
        );
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].0, "DPoP");
        assert_eq!(params::get(&two[1].1, "error"), Some("use_dpop_nonce"));
        // No error attribute: nothing (RFC 6750 §3.1, request without credentials).
        let none = rec(
            Kind::Userinfo,
            "https://idp.example/userinfo",
            401,
            &[("WWW-Authenticate", r#"Bearer realm="example""#)],
            "",
        );
        assert!(extract(&none).is_empty());
    }

    #[test]
    fn html_error_pages() {
        let google = rec(
            Kind::AuthorizeRequest,
            "https://accounts.google.com/o/oauth2/v2/auth?client_id=a&response_type=code&redirect_uri=http://localhost/cb",
            400,
            &[("Content-Type", "text/html; charset=utf-8")],
            "<html><body><h1>Access blocked: This app&#39;s request is invalid</h1><p>Error 400: redirect_uri_mismatch</p></body></html>",
        );
        let e = extract(&google);
        assert_eq!(e[0].code, "redirect_uri_mismatch");
        assert_eq!(e[0].source, ErrorSource::Html);
        let f = crate::analyze::testkit::findings(annotate, &[google]);
        assert!(
            f[0].annotation.title.contains("(Google)"),
            "{}",
            f[0].annotation.title
        );

        let entra = rec(
            Kind::AuthorizeRequest,
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=a&response_type=code",
            200,
            &[("Content-Type", "text/html")],
            "<html><div>Sorry, but we're having trouble signing you in.</div><div>AADSTS50011: The redirect URI &#39;http://localhost/cb&#39; specified in the request does not match the redirect URIs configured for the application &#39;abc&#39;.</div></html>",
        );
        let e = extract(&entra);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].code, "AADSTS50011");
        assert!(e[0]
            .description
            .as_deref()
            .unwrap()
            .starts_with("The redirect URI 'http://localhost/cb'"));

        let keycloak = rec(
            Kind::AuthorizeRequest,
            "https://sso.example/realms/demo/protocol/openid-connect/auth?client_id=a&response_type=code",
            400,
            &[("Content-Type", "text/html")],
            "<html><p id=\"instruction1\" class=\"instruction\">Invalid parameter: redirect_uri</p></html>",
        );
        // Keycloak's page names no code: it is the provider's page, in its words.
        assert_eq!(codes(&keycloak), [PROVIDER_ERROR_PAGE]);
        assert_eq!(provider(&keycloak), Some("keycloak"));
        let f = crate::analyze::testkit::findings(annotate, &[keycloak]);
        assert_eq!(f[0].annotation.code, "authorize.provider_error_page");
        assert!(
            f[0].annotation.detail.contains("Keycloak's own page"),
            "{}",
            f[0].annotation.detail
        );
        assert!(
            f[0].annotation
                .title
                .contains("Invalid parameter: redirect_uri"),
            "{}",
            f[0].annotation.title
        );

        let salesforce = rec(
            Kind::AuthorizeRequest,
            "https://login.salesforce.com/services/oauth2/authorize?client_id=a&response_type=code",
            400,
            &[("Content-Type", "text/html")],
            "<html><body>error=redirect_uri_mismatch&error_description=redirect_uri%20must%20match%20configuration</body></html>",
        );
        let e = extract(&salesforce);
        assert_eq!(e[0].code, "redirect_uri_mismatch");
        assert_eq!(
            e[0].description.as_deref(),
            Some("redirect_uri must match configuration")
        );

        // An ordinary login page is not an error.
        let login = rec(
            Kind::AuthorizeRequest,
            "https://accounts.google.com/o/oauth2/v2/auth?client_id=a&response_type=code",
            200,
            &[("Content-Type", "text/html")],
            "<html><body><form>Sign in. Error messages appear here.</form></body></html>",
        );
        assert!(extract(&login).is_empty());
    }

    #[test]
    fn location_and_callback_errors_and_salesforce_variants() {
        let mut auth = rec(
            Kind::AuthorizeRequest,
            "https://login.salesforce.com/services/oauth2/authorize?response_type=code&client_id=a&state=s",
            302,
            &[("Location", "https://app.example/cb?error=OAUTH_APP_BLOCKED&error_description=this+app+is+blocked+by+admin&state=s")],
            "",
        );
        auth.id = "0000000000000001".into();
        let e = extract(&auth);
        assert_eq!(e[0].code, "OAUTH_APP_BLOCKED");
        assert_eq!(e[0].source, ErrorSource::Location);
        let mut cb = rec(
            Kind::Callback,
            "https://app.example/cb?error=access-denied&error_description=end-user+denied+authorization&state=s",
            200,
            &[],
            "ok",
        );
        cb.id = "0000000000000002".into();
        assert_eq!(extract(&cb)[0].source, ErrorSource::Callback);
        let mut tok = token(
            "https://login.salesforce.com/services/oauth2/token",
            400,
            JSON,
            r#"{"error":"invalid_grant","error_description":"ip restricted or invalid login hours"}"#,
        );
        tok.id = "0000000000000003".into();
        let f = crate::analyze::testkit::findings(annotate, &[auth, cb, tok]);
        let by_code = |c: &str| f.iter().find(|f| f.annotation.code == c).unwrap();
        // The callback (on the app's host) gets the flow's provider.
        let denied = by_code("error.access-denied");
        assert_eq!(denied.record, 1);
        assert_eq!(denied.annotation.evidence["provider"], "salesforce");
        assert!(denied.annotation.title.contains("Salesforce"));
        let ip = by_code("error.invalid_grant");
        assert!(
            ip.annotation.title.contains("IP restricted"),
            "{}",
            ip.annotation.title
        );
        assert!(!f
            .iter()
            .any(|f| f.annotation.code == "error.hidden_in_success"));
    }

    #[test]
    fn silent_login_and_polling_are_info() {
        let mut auth = rec(
            Kind::AuthorizeRequest,
            "https://idp.example/authorize?response_type=code&client_id=a&prompt=none&state=s",
            302,
            &[(
                "Location",
                "https://app.example/cb?error=login_required&state=s",
            )],
            "",
        );
        auth.id = "0000000000000001".into();
        let f = crate::analyze::testkit::findings(annotate, std::slice::from_ref(&auth));
        assert_eq!(f[0].annotation.severity, Severity::Info);
        assert!(f[0]
            .annotation
            .detail
            .contains("fall back to an interactive login"));
        // Without prompt=none the same error is an error.
        let mut loud = auth.clone();
        loud.request.url =
            "https://idp.example/authorize?response_type=code&client_id=a&state=s".into();
        let f = crate::analyze::testkit::findings(annotate, &[loud]);
        assert_eq!(f[0].annotation.severity, Severity::Error);
        let poll = token(
            "https://idp.example/token",
            400,
            JSON,
            r#"{"error":"authorization_pending"}"#,
        );
        let f = crate::analyze::testkit::findings(annotate, &[poll]);
        assert_eq!(f[0].annotation.severity, Severity::Info);
    }

    #[test]
    fn unknown_codes_get_a_generic_explanation_with_suggestions() {
        let r = token(
            "https://idp.example/token",
            400,
            JSON,
            r#"{"error":"invalid_grnat"}"#,
        );
        let f = crate::analyze::testkit::findings(annotate, &[r]);
        let a = &f[0].annotation;
        assert_eq!(a.code, "error.invalid_grnat");
        assert_eq!(a.severity, Severity::Error);
        assert!(a.detail.contains("invalid_grant"));
        assert_eq!(a.evidence["suggestions"][0], "invalid_grant");
    }

    #[test]
    fn other_shapes_hubspot_google_api_dropbox_salesforce_rest() {
        let hub = token(
            "https://api.hubapi.com/oauth/v1/token",
            400,
            JSON,
            r#"{"status":"BAD_CLIENT_ID","message":"missing or unknown client id","error":"invalid_request","error_description":"missing or unknown client id"}"#,
        );
        assert_eq!(codes(&hub), ["invalid_request", "BAD_CLIENT_ID"]);
        let g = token(
            "https://oauth2.googleapis.com/token",
            400,
            JSON,
            r#"{"error":{"code":400,"message":"Invalid JSON payload received.","status":"INVALID_ARGUMENT"}}"#,
        );
        assert_eq!(codes(&g), ["INVALID_ARGUMENT"]);
        let d = rec(
            Kind::Userinfo,
            "https://api.dropboxapi.com/2/users/get_current_account",
            401,
            &[("Content-Type", JSON)],
            r#"{"error_summary":"expired_access_token/","error":{".tag":"expired_access_token"}}"#,
        );
        assert_eq!(codes(&d), ["expired_access_token"]);
        let sf = rec(
            Kind::Userinfo,
            "https://na1.my.salesforce.com/services/oauth2/userinfo",
            401,
            &[("Content-Type", JSON)],
            r#"[{"errorCode":"INVALID_SESSION_ID","message":"Session expired or invalid"}]"#,
        );
        assert_eq!(codes(&sf), ["INVALID_SESSION_ID"]);
        assert_eq!(provider(&sf), Some("salesforce"));
    }

    #[test]
    fn providers_are_recognised_by_host() {
        for (url, p) in [
            (
                "https://login.salesforce.com/services/oauth2/token",
                "salesforce",
            ),
            (
                "https://acme.my.salesforce.com/services/oauth2/token",
                "salesforce",
            ),
            (
                "https://login.microsoftonline.com/x/oauth2/v2.0/token",
                "entra",
            ),
            ("https://accounts.google.com/o/oauth2/v2/auth", "google"),
            ("https://oauth2.googleapis.com/token", "google"),
            ("https://github.com/login/oauth/access_token", "github"),
            ("https://slack.com/api/oauth.v2.access", "slack"),
            ("https://dev-1.okta.com/oauth2/default/v1/token", "okta"),
            ("https://tenant.eu.auth0.com/oauth/token", "auth0"),
            (
                "https://sso.acme.io/realms/main/protocol/openid-connect/token",
                "keycloak",
            ),
            (
                "https://graph.facebook.com/v19.0/oauth/access_token",
                "facebook",
            ),
            (
                "https://app.auth.eu-west-1.amazoncognito.com/oauth2/token",
                "cognito",
            ),
        ] {
            assert_eq!(provider_of_url(url), Some(p), "{url}");
        }
        assert_eq!(provider_of_url("https://notgithub.com/login"), None);
        assert_eq!(provider_of_url("http://localhost:3000/cb"), None);
    }

    #[test]
    fn a_clean_flow_has_no_findings() {
        let mut auth = rec(
            Kind::AuthorizeRequest,
            "https://idp.example/authorize?response_type=code&client_id=a&state=s&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
            302,
            &[("Location", "https://app.example/cb?code=abc&state=s")],
            "",
        );
        auth.id = "0000000000000001".into();
        let mut cb = rec(
            Kind::Callback,
            "https://app.example/cb?code=abc&state=s",
            302,
            &[("Location", "/home")],
            "",
        );
        cb.id = "0000000000000002".into();
        let mut tok = token(
            "https://idp.example/token",
            200,
            JSON,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","id_token":"x.y.z"}"#,
        );
        tok.id = "0000000000000003".into();
        let gh = token(
            "https://github.com/login/oauth/access_token",
            200,
            "application/x-www-form-urlencoded",
            "access_token=gho_x&scope=repo%2Cgist&token_type=bearer",
        );
        let slack = token(
            "https://slack.com/api/oauth.v2.access",
            200,
            JSON,
            r#"{"ok":true,"access_token":"xoxb-1","token_type":"bot"}"#,
        );
        let recs = [auth, cb, tok, gh, slack];
        for r in &recs {
            assert!(extract(r).is_empty(), "{}", r.request.url);
        }
        assert!(crate::analyze::testkit::findings(annotate, &recs).is_empty());
    }
}

//! The exchange page (`/exchanges/{id}`): request and response with
//! headers and bodies (JSON pretty, forms as tables), every JWT decoded with
//! its time claims relative to the exchange, the flavour explained, and
//! every annotation with its evidence (a `redirect_uri.mismatch` drawn as
//! two aligned URIs with the differing characters marked).

use super::html::{annotation_head, esc, frame, linkify, seg, severity_badge};
use crate::analyze::jose::{decode_unverified, human_duration};
use crate::analyze::params::{self, BodyFormat};
use crate::record::{Annotation, Body, HeaderList, Record};
use crate::redact;
use crate::report::flavour_description;
use serde_json::Value;
use std::fmt::Write as _;

/// The whole exchange page for an analysed record.
pub fn exchange_page(rec: &Record) -> String {
    frame(
        &format!("{} {}", rec.kind.as_str(), rec.id),
        &exchange_body(rec),
    )
}

/// The exchange page's content without the frame (the list's side pane at
/// wide widths loads it with `?pane=1`).
pub fn exchange_body(rec: &Record) -> String {
    let mut b = String::new();
    let status = rec
        .response
        .as_ref()
        .map(|r| r.status.to_string())
        .unwrap_or_else(|| "no response".into());
    let _ = write!(
        b,
        "<h1><span class=\"kind\">{}</span> {} <span class=\"url wrap\">{}</span> <span class=\"status s{}\">{}</span></h1>",
        esc(rec.kind.as_str()),
        esc(&rec.request.method),
        esc(&crate::view::host_path(&rec.request.url)),
        rec.response.as_ref().map(|r| r.status / 100).unwrap_or(0),
        esc(&status)
    );
    // The diagnosis first: what is wrong and how to fix it, before the facts.
    annotations_section(&mut b, rec);
    b.push_str("<h2>Exchange</h2><dl class=\"meta\">");
    let _ = write!(b, "<dt>id</dt><dd><code>{}</code></dd>", esc(&rec.id));
    let _ = write!(
        b,
        "<dt>time</dt><dd>{}</dd><dt>duration</dt><dd>{} ms</dd>",
        esc(&rfc3339(rec.time)),
        rec.duration_ms
    );
    if let Some(f) = &rec.flow {
        let _ = write!(
            b,
            "<dt>login</dt><dd><a href=\"/flows/{}\">{}</a></dd>",
            seg(f),
            esc(f)
        );
    }
    if let Some(g) = &rec.grant_type {
        let _ = write!(b, "<dt>grant</dt><dd>{}</dd>", esc(g));
    }
    if let Some(e) = &rec.error {
        let _ = write!(b, "<dt>error</dt><dd class=\"bad\">{}</dd>", esc(e));
    }
    b.push_str("</dl>");
    b.push_str(
        "<p class=\"actions\"><button type=\"button\" id=\"copy-curl\">copy as curl</button> \
<span id=\"copied\" class=\"muted\"></span></p>",
    );
    let _ = write!(
        b,
        "<pre id=\"curl\" class=\"curl\" hidden>{}</pre>",
        esc(&crate::curl::command(rec))
    );

    flavour_section(&mut b, rec);
    jwt_section(&mut b, rec);

    b.push_str("<section class=\"part\"><h2>Request</h2>");
    let _ = write!(
        b,
        "<p class=\"wrap\"><code>{} {}</code></p>",
        esc(&rec.request.method),
        esc(&rec.request.url)
    );
    let query = params::query_params(&rec.request.url);
    if !query.is_empty() {
        b.push_str("<h3>Query</h3>");
        b.push_str(&pairs_table(&query));
    }
    headers_table(&mut b, &rec.request.headers);
    body_block(&mut b, &rec.request.headers, &rec.request.body);
    b.push_str("</section>");

    b.push_str("<section class=\"part\"><h2>Response</h2>");
    match &rec.response {
        Some(r) => {
            let reason = http::StatusCode::from_u16(r.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            let _ = write!(b, "<p><code>{} {}</code></p>", r.status, esc(reason));
            if let Some(loc) = params::redirect_location(rec) {
                let _ = write!(
                    b,
                    "<p class=\"wrap\">Location: <code>{}</code></p>",
                    esc(loc)
                );
                let lp = params::location_params(rec);
                if !lp.is_empty() {
                    b.push_str(&pairs_table(&lp));
                }
            }
            headers_table(&mut b, &r.headers);
            body_block(&mut b, &r.headers, &r.body);
        }
        None => {
            let _ = write!(
                b,
                "<p class=\"bad\">No response: {}</p>",
                esc(rec
                    .error
                    .as_deref()
                    .unwrap_or("the upstream did not answer"))
            );
        }
    }
    b.push_str("</section>");
    b
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn pairs_table(p: &[(String, String)]) -> String {
    let mut s = String::from("<table class=\"kv\"><tbody>");
    for (k, v) in p {
        let _ = write!(
            s,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            esc(k),
            esc(v)
        );
    }
    s.push_str("</tbody></table>");
    s
}

fn headers_table(b: &mut String, h: &HeaderList) {
    if h.0.is_empty() {
        return;
    }
    let _ = write!(b, "<h3>Headers</h3>{}", pairs_table(&h.0));
}

fn body_block(b: &mut String, headers: &HeaderList, body: &Body) {
    if body.is_empty() {
        return;
    }
    let fmt = params::body_format(headers, body);
    let _ = write!(
        b,
        "<h3>Body <span class=\"muted\">{}</span></h3>",
        fmt.as_str()
    );
    if body.truncated {
        let _ = write!(
            b,
            "<p class=\"note\">truncated: only the start is stored{}</p>",
            body.size
                .map(|n| format!(" (the whole body was {n} bytes)"))
                .unwrap_or_default()
        );
    }
    if let Some(enc) = headers
        .get("content-encoding")
        .filter(|e| !e.eq_ignore_ascii_case("identity"))
    {
        if body.decode_error.is_none() {
            let _ = write!(
                b,
                "<p class=\"muted\">sent with Content-Encoding: {}; shown decoded</p>",
                esc(enc)
            );
        }
    }
    if let Some(e) = &body.decode_error {
        let _ = write!(b, "<p class=\"note\">{}</p>", esc(e));
    }
    match (fmt, body.as_text()) {
        (BodyFormat::Json, Some(t)) => {
            let pretty = serde_json::from_str::<Value>(t)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| t.to_string());
            let _ = write!(b, "<pre class=\"body json\">{}</pre>", esc(&pretty));
        }
        (BodyFormat::Form, Some(t)) => {
            b.push_str(&pairs_table(&params::form_params(t.trim())));
        }
        (_, Some(t)) => {
            let _ = write!(b, "<pre class=\"body\">{}</pre>", esc(t));
        }
        (_, None) => {
            let _ = write!(
                b,
                "<p class=\"note\">binary body, {} bytes (base64 in the JSON export)</p>",
                body.bytes().len()
            );
        }
    }
}

/// One annotation as a card: heading (badge, full code, title), the
/// detail with its codes, RFC sections and URLs linked, the fix from the
/// catalog for diagnoses, the aligned expected/actual pair when the
/// evidence has one, the evidence folded, and `inner` (supporting findings).
fn annotation_card(b: &mut String, a: &Annotation, with_fix: bool, inner: &str) {
    let _ = write!(
        b,
        "<article class=\"ann sev-{}\" data-code=\"{}\"><h3>{}</h3>",
        a.severity.as_str(),
        esc(&a.code),
        annotation_head(a)
    );
    if !a.detail.trim().is_empty() {
        let _ = write!(b, "<p class=\"detail\">{}</p>", linkify(a.detail.trim()));
    }
    if with_fix {
        if let Some(e) = crate::catalog::lookup(&a.code) {
            if !e.fix.trim().is_empty() {
                let _ = write!(
                    b,
                    "<p class=\"fix\"><strong>Fix:</strong> {}</p>",
                    linkify(e.fix)
                );
            }
        }
    }
    if let Some(d) = uri_diff(a) {
        b.push_str(&d);
    }
    b.push_str(inner);
    if !a.evidence.is_null() && a.evidence != Value::Object(Default::default()) {
        let ev = serde_json::to_string_pretty(&a.evidence).unwrap_or_default();
        let _ = write!(
            b,
            "<details><summary>evidence</summary><pre class=\"evidence\">{}</pre></details>",
            esc(&ev)
        );
    }
    b.push_str("</article>");
}

/// The annotations, read top-down as a diagnosis: the cause first (each
/// `diagnosis.*` with its fix), the rule findings that support it folded
/// under it, then the provider's error (`error.*`), then the rest. With no
/// diagnosis the findings lead, unfolded.
fn annotations_section(b: &mut String, rec: &Record) {
    let listed: Vec<&Annotation> = rec.annotations.iter().filter(|a| a.is_listed()).collect();
    let by_sev = |v: &mut Vec<&Annotation>| v.sort_by_key(|a| std::cmp::Reverse(a.severity));
    let mut diagnoses: Vec<&Annotation> = listed
        .iter()
        .copied()
        .filter(|a| a.code.starts_with("diagnosis."))
        .collect();
    let mut provider: Vec<&Annotation> = listed
        .iter()
        .copied()
        .filter(|a| a.code.starts_with("error."))
        .collect();
    let (mut findings, mut rest): (Vec<&Annotation>, Vec<&Annotation>) = listed
        .iter()
        .copied()
        .filter(|a| !a.code.starts_with("diagnosis.") && !a.code.starts_with("error."))
        .partition(|a| a.severity >= crate::record::Severity::Warning);
    by_sev(&mut diagnoses);
    by_sev(&mut provider);
    by_sev(&mut findings);
    by_sev(&mut rest);
    b.push_str("<section class=\"annotations\">");
    if listed.is_empty() {
        b.push_str(
            "<h2>Annotations</h2><p class=\"muted\">Nothing to say about this exchange.</p>",
        );
    }
    if !diagnoses.is_empty() {
        b.push_str("<h2>Diagnosis</h2>");
        for (i, d) in diagnoses.iter().enumerate() {
            let mut inner = String::new();
            // The supporting findings fold under the first (most severe) diagnosis.
            if i == 0 && !findings.is_empty() {
                let _ = write!(
                    inner,
                    "<details class=\"supporting\"><summary>{} supporting finding{}: {}</summary>",
                    findings.len(),
                    if findings.len() == 1 { "" } else { "s" },
                    findings
                        .iter()
                        .map(|a| format!("<code>{}</code>", esc(&a.code)))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                for f in &findings {
                    annotation_card(&mut inner, f, false, "");
                }
                inner.push_str("</details>");
            }
            annotation_card(b, d, true, &inner);
        }
    } else if !findings.is_empty() {
        b.push_str("<h2>Findings</h2>");
        for f in &findings {
            annotation_card(b, f, true, "");
        }
    }
    if !provider.is_empty() {
        b.push_str("<h2>The provider\u{2019}s error</h2>");
        for a in &provider {
            annotation_card(b, a, false, "");
        }
    }
    if !rest.is_empty() {
        b.push_str("<h2>Also noted</h2>");
        for a in &rest {
            annotation_card(b, a, false, "");
        }
    }
    b.push_str("</section>");
}

/// Two strings split into common prefix, differing middles and common
/// suffix (in characters).
pub fn split_difference(a: &str, b: &str) -> (String, String, String, String) {
    let ac: Vec<char> = a.chars().collect();
    let bc: Vec<char> = b.chars().collect();
    let pre = ac.iter().zip(&bc).take_while(|(x, y)| x == y).count();
    let max_suf = ac.len().min(bc.len()) - pre;
    let suf = ac
        .iter()
        .rev()
        .zip(bc.iter().rev())
        .take(max_suf)
        .take_while(|(x, y)| x == y)
        .count();
    let s = |v: &[char]| v.iter().collect::<String>();
    (
        s(&ac[..pre]),
        s(&ac[pre..ac.len() - suf]),
        s(&bc[pre..bc.len() - suf]),
        s(&ac[ac.len() - suf..]),
    )
}

/// `expected` over `actual`, aligned character for character in one
/// monospaced box that scrolls sideways as a whole (never wraps), the
/// differing characters marked, a caret under the first difference, and
/// the kinds of difference named (for any annotation whose evidence has
/// `expected` and `actual`, e.g. `redirect_uri.mismatch`). The caret line
/// repeats the common prefix invisibly, so it sits under the first
/// differing character whatever the characters' widths.
pub fn uri_diff(a: &Annotation) -> Option<String> {
    let expected = a.evidence.get("expected")?.as_str()?;
    let actual = a.evidence.get("actual")?.as_str()?;
    if expected == actual {
        return None;
    }
    let (pre, me, ma, suf) = split_difference(expected, actual);
    let (me, ma) = (visible(&me), visible(&ma));
    let width = me.chars().count().max(ma.chars().count());
    let line = |label: &str, mid: &str| {
        let pad = width - mid.chars().count();
        format!(
            "<span class=\"line\" data-line=\"{label}\"><span class=\"label\">{label:<9}</span>{}<mark class=\"d\">{}</mark><span class=\"gap\">{}</span>{}</span>\n",
            esc(&pre),
            esc(mid),
            " ".repeat(pad),
            esc(&suf)
        )
    };
    let mut s = String::from("<div class=\"uridiff\"><pre class=\"diffbox\">");
    s.push_str(&line("expected", &me));
    s.push_str(&line("actual", &ma));
    let _ = write!(
        s,
        "<span class=\"line\" data-line=\"caret\"><span class=\"label\">{:<9}</span><span class=\"ghost\" aria-hidden=\"true\">{}</span><span class=\"caret\">^</span> <span class=\"at\">character {}</span></span>",
        "",
        esc(&pre),
        pre.chars().count() + 1
    );
    s.push_str("</pre>");
    if let Some(kinds) = a.evidence.get("kinds").and_then(Value::as_array) {
        s.push_str("<p class=\"kinds\">");
        for k in kinds.iter().filter_map(Value::as_str) {
            let _ = write!(s, "<span class=\"chip\">{}</span> ", esc(k));
        }
        s.push_str("</p>");
    }
    s.push_str("</div>");
    Some(s)
}

/// Whitespace made visible inside a difference.
fn visible(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' ' => '␠',
            '\t' => '␉',
            '\n' => '␤',
            '\r' => '␍',
            c => c,
        })
        .collect()
}

fn flavour_section(b: &mut String, rec: &Record) {
    let Some(f) = &rec.flavour else { return };
    b.push_str("<section class=\"flavour\"><h2>Client authentication</h2>");
    match f.number {
        Some(n) => {
            let _ = write!(
                b,
                "<p><strong>Flavour {n}</strong>: {}</p>",
                esc(&flavour_description(n).replace('`', ""))
            );
        }
        None => b.push_str("<p>None of the six common flavours.</p>"),
    }
    let header = match f.client_auth.as_str() {
        "basic_urlencoded" => "the Authorization header (Basic), id and secret URL-encoded before base64",
        "basic_raw" => "the Authorization header (Basic), id and secret base64-encoded as they are (not URL-encoded)",
        "basic_malformed" => "an Authorization: Basic header that does not decode to id:secret",
        "body" => "client_id and client_secret in the body",
        "private_key_jwt" => "a client_assertion JWT signed with the client's private key",
        "client_secret_jwt" => "a client_assertion JWT signed with the client secret (HMAC)",
        "none" => "no secret: a public client (client_id only, PKCE)",
        "multiple" => "more than one method at once (RFC 6749 §2.3 forbids it)",
        _ => "",
    };
    let _ = write!(
        b,
        "<dl class=\"meta\"><dt>credentials</dt><dd><code>{}</code> {}</dd><dt>body</dt><dd><code>{}</code></dd>",
        esc(&f.client_auth),
        esc(header),
        esc(&f.body)
    );
    if let Some(n) = &f.note {
        let _ = write!(b, "<dt>note</dt><dd>{}</dd>", esc(n));
    }
    b.push_str("</dl></section>");
}

/// Every JWT the exchange carries: where it was, and the decoded token.
fn jwts(rec: &Record) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut consider = |place: String, v: &str| {
        let v = v.trim();
        if redact::is_redacted(v) || v.split('.').count() != 3 {
            return;
        }
        if decode_unverified(v).is_ok() && !found.iter().any(|(_, x)| x == v) {
            found.push((place, v.to_string()));
        }
    };
    for (k, v) in params::request_params(rec) {
        consider(format!("request {k}"), &v);
    }
    if let Some(auth) = rec.request.headers.get("authorization") {
        if let Some(t) = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
        {
            consider("request Authorization: Bearer".into(), t);
        }
    }
    if let Some(Value::Object(m)) = params::response_json(rec) {
        for (k, v) in m {
            if let Some(s) = v.as_str() {
                consider(format!("response {k}"), s);
            }
        }
    }
    for (k, v) in params::location_params(rec) {
        consider(format!("redirect {k}"), &v);
    }
    found
}

fn jwt_section(b: &mut String, rec: &Record) {
    let found = jwts(rec);
    if found.is_empty() {
        return;
    }
    b.push_str("<section class=\"jwts\"><h2>JWTs <span class=\"muted\">decoded, signatures not checked</span></h2>");
    let at = rec.time.unix_timestamp();
    for (place, tok) in found {
        let Ok(d) = decode_unverified(&tok) else {
            continue;
        };
        let _ = write!(b, "<article class=\"jwt\"><h3>{}</h3>", esc(&place));
        let mut times = String::new();
        for claim in ["iat", "nbf", "exp", "auth_time"] {
            let Some(secs) = d
                .claims
                .get(claim)
                .and_then(Value::as_i64)
                .filter(|s| crate::analyze::jose::UNIX_TIME_RANGE.contains(s))
            else {
                continue;
            };
            let when = time::OffsetDateTime::from_unix_timestamp(secs)
                .map(rfc3339)
                .unwrap_or_else(|_| secs.to_string());
            let delta = secs - at;
            let rel = if delta == 0 {
                "at the exchange".to_string()
            } else if delta > 0 {
                format!("{} after the exchange", human_duration(delta))
            } else {
                format!("{} before the exchange", human_duration(delta))
            };
            let bad = (claim == "exp" && delta <= 0) || (claim == "nbf" && delta > 0);
            let verdict = match claim {
                "exp" if delta <= 0 => "expired when it was used",
                "nbf" if delta > 0 => "not yet valid when it was used",
                _ => "",
            };
            let _ = write!(
                times,
                "<tr class=\"{}\" data-claim=\"{claim}\"><th>{claim}</th><td class=\"when\">{}</td><td class=\"rel\">{}</td><td class=\"verdict\">{}</td></tr>",
                if bad { "bad" } else { "" },
                esc(&when),
                esc(&rel),
                verdict
            );
        }
        if !times.is_empty() {
            let _ = write!(
                b,
                "<table class=\"kv times\"><thead><tr><th>claim</th><th>time (UTC)</th><th>relative to the exchange</th><th></th></tr></thead><tbody>{times}</tbody></table>"
            );
        }
        let header = serde_json::to_string_pretty(&Value::Object(d.header)).unwrap_or_default();
        let claims = serde_json::to_string_pretty(&Value::Object(d.claims)).unwrap_or_default();
        let _ = write!(
            b,
            "<div class=\"cols\"><div><h4>header</h4><pre class=\"json\">{}</pre></div><div><h4>claims</h4><pre class=\"json claims\">{}</pre></div></div></article>",
            esc(&header),
            esc(&claims)
        );
    }
    b.push_str("</section>");
}

/// A compact list of annotations for the flow page: badge, code, title, and
/// a link to the exchange.
pub fn annotation_item(a: &Annotation, rec: &Record) -> String {
    format!(
        "<li class=\"ann sev-{}\">{} {} <span class=\"title\">{}</span> <a href=\"/exchanges/{}\">on {}</a></li>",
        a.severity.as_str(),
        severity_badge(a.severity),
        super::html::code_link(&a.code),
        esc(&a.title),
        seg(&rec.id),
        esc(rec.kind.as_str())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_difference_is_the_middle() {
        let (p, a, b, s) = split_difference(
            "http://127.0.0.1:8000/callback",
            "http://127.0.0.1:8000/callback/",
        );
        assert_eq!(
            (p.as_str(), a.as_str(), b.as_str(), s.as_str()),
            ("http://127.0.0.1:8000/callback", "", "/", "")
        );
        let (p, a, b, s) = split_difference("https://a/x", "http://a/x");
        assert_eq!(
            (p.as_str(), a.as_str(), b.as_str(), s.as_str()),
            ("http", "s", "", "://a/x")
        );
        let (p, a, b, s) = split_difference("aa", "aaa");
        assert_eq!(format!("{p}|{a}|{b}|{s}"), "aa||a|");
    }

    #[test]
    fn a_mismatch_marks_the_extra_slash() {
        let a = Annotation::new(
            "redirect_uri.mismatch",
            crate::record::Severity::Error,
            "t",
            "d",
            serde_json::json!({
                "expected": "http://x/cb",
                "actual": "http://x/cb/",
                "kinds": ["trailing_slash"]
            }),
        );
        let h = uri_diff(&a).unwrap();
        assert!(h.contains("<mark class=\"d\">/</mark>"), "{h}");
        assert!(h.contains("trailing_slash"), "{h}");
        // The caret line repeats the common prefix (invisibly) before the caret.
        assert!(
            h.contains("<span class=\"ghost\" aria-hidden=\"true\">http://x/cb</span><span class=\"caret\">^</span>"),
            "{h}"
        );
    }
}

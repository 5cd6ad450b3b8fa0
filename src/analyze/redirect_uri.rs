//! Rule family `redirect_uri`: the three redirect URIs of a login, diffed
//! to the character.
//!
//! Within one flow it compares
//! - (A) the `redirect_uri` the authorization request sent (its query, or the
//!   body of the PAR request it referenced),
//! - (C) where the authorization response really sent the browser: the
//!   `Location` of a 3xx authorization response and the URL of a callback
//!   request, without the response parameters (`code`, `state`, `error`, ...),
//! - (T) the `redirect_uri` of the `authorization_code` token request,
//!
//! and checks (A) against the user's registered redirect URIs
//! ([`AnalyzeOptions::registered_redirects`]).
//!
//! Codes: `redirect_uri.mismatch` (T ≠ A, or C ≠ A), `redirect_uri.missing`
//! (A sent, T absent), `redirect_uri.token_only` (T sent, A absent),
//! `redirect_uri.not_registered` (A equals no registered URI) and
//! `redirect_uri.loopback_port` (A differs from a registered loopback IP URI
//! by its port only, which RFC 8252 §7.3 allows).
//!
//! [`diff`] is public: it names every kind of difference between two URI
//! strings and places a caret under the first differing character, for the
//! report and diagnosis code (and [`super::jwt`]'s issuer check) to reuse.
//!
//! [`authorize_legs`] and [`leg_for`] are the shared "which authorization
//! request does this record belong to?" helpers of the rule families in this
//! file, [`super::pkce`], [`super::state`] and [`super::jwt`].

use super::authorize::{authorization_response, leg_for, AuthorizationResponse, AuthorizeLeg};
use super::login::Login;
use super::params;
use super::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Kind, Record, Severity};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// The diff
// ---------------------------------------------------------------------------

/// One kind of difference between two redirect URIs (the kinds of docs/record-format.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiffKind {
    /// One has a trailing `/` on its path that the other lacks.
    TrailingSlash,
    /// Different schemes (`http` vs `https`, `com.app` vs `com.App`).
    Scheme,
    /// Different hosts.
    Host,
    /// The same host spelled in a different letter case.
    HostCase,
    /// Two names of the loopback interface (`localhost`, `127.0.0.1`, `[::1]`).
    LoopbackAlias,
    /// Different ports, including a default port written out vs omitted.
    Port,
    /// Different paths (beyond case, trailing slash and percent-encoding).
    Path,
    /// The same path in a different letter case.
    PathCase,
    /// The same characters percent-encoded differently (`%2F` vs `/`, `+` vs `%20`).
    PercentEncoding,
    /// Different query strings.
    Query,
    /// Different fragments.
    Fragment,
    /// Leading or trailing whitespace.
    Whitespace,
}

impl DiffKind {
    /// The snake_case code used in `evidence.kinds`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::TrailingSlash => "trailing_slash",
            DiffKind::Scheme => "scheme",
            DiffKind::Host => "host",
            DiffKind::HostCase => "host_case",
            DiffKind::LoopbackAlias => "loopback_alias",
            DiffKind::Port => "port",
            DiffKind::Path => "path",
            DiffKind::PathCase => "path_case",
            DiffKind::PercentEncoding => "percent_encoding",
            DiffKind::Query => "query",
            DiffKind::Fragment => "fragment",
            DiffKind::Whitespace => "whitespace",
        }
    }

    /// The kind in words, for titles (`trailing slash`, `host letter case`).
    pub fn words(self) -> &'static str {
        match self {
            DiffKind::TrailingSlash => "trailing slash",
            DiffKind::Scheme => "scheme",
            DiffKind::Host => "host",
            DiffKind::HostCase => "host letter case",
            DiffKind::LoopbackAlias => "loopback alias (localhost vs 127.0.0.1 vs [::1])",
            DiffKind::Port => "port",
            DiffKind::Path => "path",
            DiffKind::PathCase => "path letter case",
            DiffKind::PercentEncoding => "percent-encoding",
            DiffKind::Query => "query string",
            DiffKind::Fragment => "fragment",
            DiffKind::Whitespace => "whitespace",
        }
    }
}

/// The differences between an expected and an actual URI string.
///
/// Alignment: `caret` is meant to be printed under `expected` and `actual`
/// at the same starting column as both (e.g. after equally wide labels):
/// it holds `first_difference` spaces and a `^`, so the caret sits under the
/// first character (counted in `char`s) where `actual` differs from
/// `expected`, or just past the end of the shorter string when one is a
/// prefix of the other.
///
/// ```text
/// expected: http://localhost:8000/callback
/// actual:   http://localhost:8000/callback/
///                                         ^
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// Every kind of difference found, in a stable order; empty when equal.
    pub kinds: Vec<DiffKind>,
    /// Spaces up to the first differing character, then `^`; empty when equal.
    pub caret: String,
    /// Index (in chars) of the first differing character; `None` when equal.
    pub first_difference: Option<usize>,
    /// A remark worth showing with the kinds (e.g. a default port written out).
    pub note: Option<String>,
}

impl Diff {
    /// True when the two strings were identical.
    pub fn is_equal(&self) -> bool {
        self.first_difference.is_none()
    }

    /// The kinds as their codes (`["trailing_slash", "port"]`).
    pub fn kind_codes(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.as_str()).collect()
    }

    /// The kinds in words, comma-separated (`trailing slash, port`).
    pub fn words(&self) -> String {
        if self.kinds.is_empty() && !self.is_equal() {
            return "characters".to_string();
        }
        self.kinds
            .iter()
            .map(|k| k.words())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Raw components of a URI string, as written (nothing normalised).
#[derive(Debug, Default, Clone, PartialEq)]
struct RawUri<'a> {
    scheme: &'a str,
    /// Whether `//` followed the scheme.
    has_authority: bool,
    userinfo: Option<&'a str>,
    host: &'a str,
    port: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn split_raw(s: &str) -> RawUri<'_> {
    let mut out = RawUri::default();
    let (rest, fragment) = match s.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    out.fragment = fragment;
    let (rest, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    out.query = query;
    // A scheme is letters, digits, `+`, `-`, `.` before the first `:`.
    let scheme_end = rest.find(':').filter(|&i| {
        i > 0
            && rest[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    let rest = match scheme_end {
        Some(i) => {
            out.scheme = &rest[..i];
            &rest[i + 1..]
        }
        None => rest,
    };
    if let Some(after) = rest.strip_prefix("//") {
        out.has_authority = true;
        let end = after.find('/').unwrap_or(after.len());
        let (authority, path) = after.split_at(end);
        out.path = path;
        let hostport = match authority.rsplit_once('@') {
            Some((ui, hp)) => {
                out.userinfo = Some(ui);
                hp
            }
            None => authority,
        };
        if hostport.starts_with('[') {
            let close = hostport.find(']').map(|i| i + 1).unwrap_or(hostport.len());
            out.host = &hostport[..close];
            out.port = hostport[close..].strip_prefix(':');
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => {
                    out.host = h;
                    out.port = Some(p);
                }
                None => out.host = hostport,
            }
        }
    } else {
        out.path = rest;
    }
    out
}

fn is_loopback_name(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost" || h == "[::1]" || is_loopback_ipv4(&h)
}

fn is_loopback_ipv4(h: &str) -> bool {
    h.parse::<std::net::Ipv4Addr>()
        .map(|a| a.is_loopback())
        .unwrap_or(false)
}

/// True for a loopback IP literal (`127.0.0.0/8`, `[::1]`), to which RFC 8252
/// §7.3's "any port" rule applies (`localhost` is a name, not a literal).
pub fn is_loopback_ip_literal(host: &str) -> bool {
    host == "[::1]" || is_loopback_ipv4(host)
}

fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => Some("80"),
        "https" | "wss" => Some("443"),
        _ => None,
    }
}

pub(super) fn pct_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Path kinds: the smallest set of {trailing slash, case, percent-encoding}
/// normalisations that makes the two paths equal, else `path`.
fn path_kinds(a: &str, b: &str) -> Vec<DiffKind> {
    if a == b {
        return Vec::new();
    }
    let candidates: [&[DiffKind]; 7] = [
        &[DiffKind::TrailingSlash],
        &[DiffKind::PathCase],
        &[DiffKind::PercentEncoding],
        &[DiffKind::TrailingSlash, DiffKind::PathCase],
        &[DiffKind::TrailingSlash, DiffKind::PercentEncoding],
        &[DiffKind::PathCase, DiffKind::PercentEncoding],
        &[
            DiffKind::TrailingSlash,
            DiffKind::PathCase,
            DiffKind::PercentEncoding,
        ],
    ];
    let norm = |p: &str, ks: &[DiffKind]| {
        let mut s = p.to_string();
        if ks.contains(&DiffKind::PercentEncoding) {
            s = pct_decode(&s);
        }
        if ks.contains(&DiffKind::PathCase) {
            s = s.to_lowercase();
        }
        if ks.contains(&DiffKind::TrailingSlash) {
            s = s.trim_end_matches('/').to_string();
        }
        s
    };
    for ks in candidates {
        if norm(a, ks) == norm(b, ks) {
            return ks.to_vec();
        }
    }
    vec![DiffKind::Path]
}

/// If `s` is a whole URI percent-encoded (once or more, `https%3A%2F%2F...`),
/// decode it; else `None`.
fn decode_whole(s: &str) -> Option<String> {
    let mut cur = s.to_string();
    let mut changed = false;
    for _ in 0..3 {
        if cur.contains("://") {
            break;
        }
        let lower = cur.to_ascii_lowercase();
        if !(lower.contains("%3a") || lower.contains("%25")) {
            break;
        }
        cur = pct_decode(&cur);
        changed = true;
    }
    (changed && cur.contains("://")).then_some(cur)
}

/// Compare two URI strings. Identical strings give an empty [`Diff`]; any
/// other pair gives every kind of difference found between their raw
/// components (nothing is normalised first: URL parsers lower-case hosts,
/// drop default ports and re-encode paths, which hides exactly what breaks
/// an exact-match server), the first differing character and a caret line
/// (see [`Diff`] for the alignment).
pub fn diff(expected: &str, actual: &str) -> Diff {
    let first = expected
        .chars()
        .zip(actual.chars())
        .position(|(a, b)| a != b)
        .or_else(|| {
            let (la, lb) = (expected.chars().count(), actual.chars().count());
            (la != lb).then_some(la.min(lb))
        });
    let Some(first) = first else {
        return Diff::default();
    };
    let mut kinds = Vec::new();
    let mut note = None;
    let (e, a) = (expected.trim(), actual.trim());
    if e.len() != expected.len() || a.len() != actual.len() {
        // Whitespace counts only when it differs.
        let lead = |s: &str| s.len() - s.trim_start().len();
        let trail = |s: &str| s.len() - s.trim_end().len();
        if expected[..lead(expected)] != actual[..lead(actual)]
            || expected[expected.len() - trail(expected)..]
                != actual[actual.len() - trail(actual)..]
        {
            kinds.push(DiffKind::Whitespace);
        }
    }
    let (mut e, mut a) = (e.to_string(), a.to_string());
    if let Some(d) = decode_whole(&e) {
        e = d;
        kinds.push(DiffKind::PercentEncoding);
    }
    if let Some(d) = decode_whole(&a) {
        a = d;
        if !kinds.contains(&DiffKind::PercentEncoding) {
            kinds.push(DiffKind::PercentEncoding);
        }
    }
    // Both encoded the same way: compare what they decode to, and the
    // encoding itself is no difference.
    if decode_whole(expected.trim()).is_some() && decode_whole(actual.trim()).is_some() {
        kinds.retain(|k| *k != DiffKind::PercentEncoding);
    }
    component_kinds(&e, &a, &mut kinds, &mut note);
    if kinds.is_empty() && e != a {
        // Differences outside the named components (userinfo, separators).
        kinds.push(if split_raw(&e).userinfo != split_raw(&a).userinfo {
            DiffKind::Host
        } else {
            DiffKind::Path
        });
    }
    kinds.sort();
    kinds.dedup();
    Diff {
        kinds,
        caret: format!("{}^", " ".repeat(first)),
        first_difference: Some(first),
        note,
    }
}

fn component_kinds(e: &str, a: &str, kinds: &mut Vec<DiffKind>, note: &mut Option<String>) {
    let (re, ra) = (split_raw(e), split_raw(a));
    if re.scheme != ra.scheme {
        kinds.push(DiffKind::Scheme);
    }
    if re.has_authority != ra.has_authority {
        // `com.app:/cb` vs `com.app://cb`: the authority itself differs.
        kinds.push(DiffKind::Path);
    }
    if re.host != ra.host {
        let (he, ha) = (re.host.to_ascii_lowercase(), ra.host.to_ascii_lowercase());
        if he == ha {
            kinds.push(DiffKind::HostCase);
        } else if is_loopback_name(&he) && is_loopback_name(&ha) {
            kinds.push(DiffKind::LoopbackAlias);
            if re.host != he || ra.host != ha {
                kinds.push(DiffKind::HostCase);
            }
        } else {
            kinds.push(DiffKind::Host);
        }
    }
    if re.userinfo != ra.userinfo && !kinds.contains(&DiffKind::Host) {
        kinds.push(DiffKind::Host);
    }
    if re.port != ra.port {
        kinds.push(DiffKind::Port);
        let dflt = default_port(ra.scheme).or_else(|| default_port(re.scheme));
        let eff = |p: Option<&str>| {
            p.filter(|p| !p.is_empty())
                .map(str::to_string)
                .or(dflt.map(str::to_string))
        };
        if re.scheme.eq_ignore_ascii_case(ra.scheme) && eff(re.port) == eff(ra.port) {
            *note = Some(format!(
                "the default port {} is written out in one and omitted in the other: URL \
                 parsers treat them as equal, but the strings differ and exact-match \
                 servers compare strings",
                dflt.unwrap_or("")
            ));
        }
    }
    kinds.extend(path_kinds(re.path, ra.path));
    if re.query != ra.query {
        let same_decoded = match (re.query, ra.query) {
            (Some(x), Some(y)) => params::form_params(x) == params::form_params(y),
            _ => false,
        };
        kinds.push(if same_decoded {
            DiffKind::PercentEncoding
        } else {
            DiffKind::Query
        });
    }
    if re.fragment != ra.fragment {
        kinds.push(DiffKind::Fragment);
    }
}

/// A diff as evidence fields (`kinds`, `expected`, `actual`, `caret`,
/// `first_difference` and `note` when there is one).
pub fn diff_evidence(expected: &str, actual: &str, d: &Diff) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("kinds".into(), json!(d.kind_codes()));
    m.insert("expected".into(), json!(expected));
    m.insert("actual".into(), json!(actual));
    m.insert("caret".into(), json!(d.caret));
    m.insert("first_difference".into(), json!(d.first_difference));
    if let Some(n) = &d.note {
        m.insert("note".into(), json!(n));
    }
    m
}

// ---------------------------------------------------------------------------
// Shared flow helpers: which authorization request a record belongs to
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// The rule
// ---------------------------------------------------------------------------

fn mismatch_detail(d: &Diff, what: &str) -> String {
    let mut s = format!(
        "{what} RFC 6749 §4.1.3 requires the token request's redirect_uri to be identical to \
         the authorization request's, and providers compare redirect URIs as plain strings \
         (RFC 3986 §6.2.1), so {} is enough to fail (typically invalid_grant or \
         redirect_uri_mismatch). Make the client send exactly the same string in both \
         requests (compare expected/actual; the caret marks the first differing character).",
        d.words()
    );
    if let Some(n) = &d.note {
        s.push_str(&format!(" Note: {n}."));
    }
    s
}

/// Findings of this rule family over records in time order.
pub fn annotate(login: &Login, opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let legs = &login.legs;
    let mut out = Vec::new();
    for leg in legs {
        if let Some(f) = registered_check(records, leg, opts) {
            out.push(f);
        }
    }
    for (i, rec) in records.iter().enumerate() {
        match rec.kind {
            Kind::TokenRequest if rec.grant_type.as_deref() == Some("authorization_code") => {
                if let Some(leg) = leg_for(records, legs, i) {
                    out.extend(token_check(records, leg, i));
                }
            }
            Kind::Callback | Kind::AuthorizationResponse | Kind::AuthorizeRequest => {
                if let (Some(resp), Some(leg)) =
                    (authorization_response(rec), leg_for(records, legs, i))
                {
                    out.extend(response_check(records, leg, i, &resp));
                }
            }
            _ => {}
        }
    }
    out
}

fn token_check(records: &[Record], leg: &AuthorizeLeg, i: usize) -> Option<Finding> {
    let tok = &records[i];
    let tp = params::request_params(tok);
    let sent = params::get(&tp, "redirect_uri");
    let auth = leg.get("redirect_uri");
    let auth_rec = &records[leg.source_of(records, "redirect_uri")];
    match (auth, sent) {
        (Some(expected), Some(actual)) => {
            let d = diff(expected, actual);
            if d.is_equal() {
                return None;
            }
            let mut ev = diff_evidence(expected, actual, &d);
            ev.insert("authorize_record".into(), json!(auth_rec.id));
            ev.insert("token_record".into(), json!(tok.id));
            let (re, ra) = (split_raw(expected.trim()), split_raw(actual.trim()));
            if d.kinds == [DiffKind::Port]
                && is_loopback_ip_literal(re.host)
                && is_loopback_ip_literal(ra.host)
            {
                ev.insert(
                    "note".into(),
                    json!(
                        "only the port of a loopback IP redirect URI differs: RFC 8252 §7.3 lets \
                         the port vary against the registered URI, but the token request must \
                         still repeat the authorize request's redirect_uri exactly"
                    ),
                );
            }
            Some(Finding::new(
                i,
                code::REDIRECT_URI_MISMATCH
                    .annotation(
                        mismatch_detail(
                            &d,
                            "The token request's redirect_uri is not the one the authorization \
                         request sent.",
                        ),
                        Value::Object(ev),
                    )
                    .about(d.words()),
            ))
        }
        (Some(_), None)
            if crate::providers::of_url(&tok.request.url)
                .is_some_and(|p| p.has(crate::providers::Quirk::TokenRedirectUriOptional))
                && !super::diagnose::scheme::about_redirect_uri(&super::diagnose::Failure::of(
                    tok,
                )) =>
        {
            // GitHub, Slack, Strava: the token request's redirect_uri is
            // optional there; its absence is normal, unless the provider's
            // answer names the redirect URI (Slack `bad_redirect_uri`: "must
            // match the originally submitted URI, if one was sent").
            None
        }
        (Some(expected), None) => Some(Finding::new(
            i,
            code::REDIRECT_URI_MISSING.annotation(
                "The authorization request sent a redirect_uri, so RFC 6749 §4.1.3 requires the \
                 authorization_code token request to send the identical value; servers answer \
                 invalid_request or invalid_grant (Keycloak \"Incorrect redirect_uri\", Auth0 \
                 \"redirect_uri is required\"). Add redirect_uri to the token request body.",
                json!({
                    "expected": expected,
                    "authorize_record": auth_rec.id,
                    "token_record": tok.id,
                }),
            ),
        )),
        (None, Some(_)) if leg.opaque => None,
        (None, Some(actual)) => Some(Finding::new(
            i,
            code::REDIRECT_URI_TOKEN_ONLY.annotation(
                "The authorization request omitted redirect_uri, so the provider used its \
                 default (registered) one; some providers (Discord, GitHub) reject a token \
                 request whose redirect_uri is not identical to what the authorization request \
                 sent. Send the same redirect_uri in both requests, or in neither.",
                json!({
                    "actual": actual,
                    "authorize_record": records[leg.index].id,
                    "token_record": tok.id,
                }),
            ),
        )),
        (None, None) => None,
    }
}

/// `url` without the query parameters whose names `expected` does not
/// carry: what an authorization server adds to the redirect back (Intuit
/// `realmId`, Shopify `shop`/`hmac`/`host`/`timestamp`, any other key; RFC
/// 6749 §3.1.2 lets it) is not part of what the client controls. The rest
/// of the query stays exactly as written.
pub fn keep_client_params(url: &str, expected: &str) -> String {
    let names: Vec<String> = expected
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(""))
        .map(params::form_params)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let (rest, fragment) = match url.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (url, None),
    };
    let Some((base, query)) = rest.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            params::form_params(&format!("{key}="))
                .pop()
                .is_some_and(|(k, _)| names.contains(&k))
        })
        .collect();
    let mut out = base.to_string();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn response_check(
    records: &[Record],
    leg: &AuthorizeLeg,
    i: usize,
    resp: &AuthorizationResponse,
) -> Option<Finding> {
    let expected = leg.get("redirect_uri")?;
    let actual = keep_client_params(&resp.redirect_uri, expected);
    let actual = actual.as_str();
    let d = diff(expected, actual);
    if d.is_equal() || same_after_browser_normalisation(expected, actual) {
        return None;
    }
    let auth_rec = &records[leg.source_of(records, "redirect_uri")];
    let mut ev = diff_evidence(expected, actual, &d);
    ev.insert("authorize_record".into(), json!(auth_rec.id));
    ev.insert(
        if resp.is_callback {
            "callback_record"
        } else {
            "response_record"
        }
        .into(),
        json!(records[i].id),
    );
    let what = if resp.is_callback {
        "The callback arrived at a different URI than the authorization request's redirect_uri \
         (response parameters such as code and state ignored)."
    } else {
        "The authorization response redirects to a different URI than the authorization \
         request's redirect_uri (response parameters such as code and state ignored)."
    };
    // An error (and no code) sent to another URI is the provider answering
    // at the URI it has registered (GitHub): the evidence of the refusal
    // that diagnosis.redirect_uri_mismatch explains, not a second failure.
    let error_elsewhere =
        params::get(&resp.params, "error").is_some() && params::get(&resp.params, "code").is_none();
    let (detail, severity) = if error_elsewhere {
        (
            "The provider sent its error to another URI than the authorization request's \
             redirect_uri: the one it has registered for this client (GitHub does this). The \
             difference below is what to fix: send the registered URI, or register the one sent."
                .to_string(),
            Severity::Warning,
        )
    } else {
        (
            format!(
                "{what} Either the provider rewrote it (Entra appends '/' to path-less URIs) or \
                 a different redirect URI was used; the token request must then still send the \
                 authorization request's value. {}",
                d.note.as_deref().unwrap_or("")
            ),
            Severity::Error,
        )
    };
    Some(Finding::new(
        i,
        code::REDIRECT_URI_MISMATCH
            .annotation(detail.trim_end().to_string(), Value::Object(ev))
            .about(d.words())
            .with_severity(severity),
    ))
}

/// True when a browser writes `expected` as `actual`: the URL the browser
/// went to (an authorization response's `Location`, a callback) is the
/// redirect_uri after the normalisation every browser applies (RFC 3986
/// §6.2.2-6.2.3 as the WHATWG URL Standard does it: an empty path becomes
/// `/`, the scheme and host are lower-cased, a default port is dropped).
/// That difference was made by the browser, not by the app or provider.
pub(crate) fn same_after_browser_normalisation(expected: &str, actual: &str) -> bool {
    match (
        url::Url::parse(expected.trim()),
        url::Url::parse(actual.trim()),
    ) {
        (Ok(e), Ok(a)) => e == a,
        _ => false,
    }
}

/// Levenshtein distance in chars (for picking the closest registered URI).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn registered_check(
    records: &[Record],
    leg: &AuthorizeLeg,
    opts: &AnalyzeOptions,
) -> Option<Finding> {
    let registered: Vec<&str> = opts
        .registered_redirects
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if registered.is_empty() {
        return None;
    }
    let actual = leg.get("redirect_uri")?;
    if registered.contains(&actual) {
        return None;
    }
    let idx = leg.source_of(records, "redirect_uri");
    let closest = registered
        .iter()
        .min_by_key(|r| (diff(r, actual).kinds.len(), distance(r, actual)))
        .copied()?;
    let d = diff(closest, actual);
    let mut ev = diff_evidence(closest, actual, &d);
    ev.insert("closest_registered".into(), json!(closest));
    ev.insert("registered".into(), json!(registered));
    ev.insert("authorize_record".into(), json!(records[idx].id));
    let (rr, ra) = (split_raw(closest), split_raw(actual));
    if d.kinds == [DiffKind::Port]
        && is_loopback_ip_literal(rr.host)
        && is_loopback_ip_literal(ra.host)
    {
        ev.insert(
            "note".into(),
            json!(
                "only the port differs and the host is a loopback IP literal: RFC 8252 §7.3 \
                 requires the authorization server to allow any port for loopback IP redirect \
                 URIs, so this matches the registered URI"
            ),
        );
        return Some(Finding::new(
            idx,
            code::REDIRECT_URI_LOOPBACK_PORT.annotation(
                "Native apps listen on an ephemeral loopback port; RFC 8252 §7.3 (and OAuth 2.1) \
                 make servers accept any port for http://127.0.0.1 and http://[::1] redirect \
                 URIs. Servers that ignore this rule (Supabase, older Fosite) would reject it; \
                 `localhost` does not get this exception everywhere.",
                Value::Object(ev),
            ),
        ));
    }
    let mut detail = format!(
        "The authorization request's redirect_uri equals none of the registered redirect URIs. \
         Providers compare them as exact strings (RFC 9700 §4.1.3), so the authorization server \
         shows an error page instead of redirecting (redirect_uri_mismatch, AADSTS50011). The \
         closest registered URI differs by: {}. Register the exact string or fix the client.",
        d.words()
    );
    if let Some(n) = &d.note {
        detail.push_str(&format!(" Note: {n}."));
    }
    Some(Finding::new(
        idx,
        code::REDIRECT_URI_NOT_REGISTERED
            .annotation(detail, Value::Object(ev))
            .about(d.words()),
    ))
}

#[cfg(test)]
#[path = "redirect_uri_tests.rs"]
mod tests;

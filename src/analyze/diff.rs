//! Two logins compared in OAuth terms (`oauthscope diff A B`). Pure.
//!
//! [`diff`] takes two logins' **analysed** records (time order), aligns them
//! by protocol step — discovery, login start, authorize, provider redirects,
//! callback, token (by grant), refresh, userinfo, ... and the n-th of each on
//! both sides, never by URL or position — and lists every difference that can
//! matter, ranked by how likely it explains that one login failed and the
//! other did not ([`Difference::weight`]):
//!
//! | weight | what |
//! |---|---|
//! | 95 | `redirect_uri` (with its kinds and caret, [`crate::analyze::redirect_uri::diff`]) |
//! | 88 | an error-severity finding (`redirect_uri.mismatch`, `pkce.*`, `diagnosis.*`) on one side only |
//! | 80 | `client_id` |
//! | 75 | PKCE: `code_challenge_method`, a challenge or verifier sent on one side only |
//! | 70 | `response_type`, `response_mode`, `grant_type` |
//! | 65 | client authentication (the flavour: Basic, body, JWT assertion, none) |
//! | 60 | `scope` (as a set), ID-token `iss`/`aud`/`azp`, the nonce matching its authorize request |
//! | 55 | scheme and host of a step |
//! | 50 | `prompt`, `audience`, `resource`, `access_type`, `acr_values`, `max_age`; cookie attributes; `DPoP` |
//! | 45 | a step present on one side only; cookies sent on one side only; `Content-Type` |
//! | 40 | `Origin`; `Authorization` scheme; code age at redemption over 60 s |
//! | 35 | other parameters; ID-token `acr`/`amr`; token age at refresh |
//! | 30 | the provider's error codes; a warning on one side only |
//! | 25 | status; endpoint path; `Accept` |
//! | 20 | `User-Agent` class |
//! | 10 | volatile values (codes, tokens, `state`, nonces, verifiers, assertions) of another shape |
//!
//! Differences on the step where one side failed and the other succeeded
//! get 5 more. Volatile values are compared by shape (length, alphabet, JWT
//! or not) and role, never by value. Differences below [`MATTERS`] do not
//! count as "a difference that matters".

use super::params::{self, Params};
use super::redirect_uri;
use crate::record::{Kind, Record, Severity};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// Differences at or above this weight can matter.
pub const MATTERS: u8 = 30;

/// One difference between the two logins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// How likely it explains the outcome (see the module table), 0–100.
    pub weight: u8,
    /// The protocol step (`token (authorization_code)`, `authorize`, `callback #2`).
    pub step: String,
    /// What differs (`redirect_uri`, `header Origin`, `cookie oauth_state SameSite`, ...).
    pub what: String,
    /// Side A's value (`None`: absent).
    pub a: Option<String>,
    /// Side B's value (`None`: absent).
    pub b: Option<String>,
    /// Kinds of difference (`trailing_slash`, `shape`, `absent`, ...).
    pub kinds: Vec<String>,
    /// For `redirect_uri`: spaces then `^` under the first differing character.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caret: Option<String>,
    /// What it means, in OAuth terms.
    pub note: String,
    /// The records compared (A's id, B's id).
    pub records: [Option<String>; 2],
}

impl Difference {
    /// True when it can matter ([`MATTERS`]).
    pub fn matters(&self) -> bool {
        self.weight >= MATTERS
    }
}

/// One aligned step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aligned {
    /// The step's name.
    pub step: String,
    /// A's record id and status.
    pub a: Option<(String, Option<u16>)>,
    /// B's record id and status.
    pub b: Option<(String, Option<u16>)>,
}

/// One side, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Exchanges compared.
    pub exchanges: usize,
    /// `succeeded`, `failed at STEP: ERROR`, or `incomplete`.
    pub outcome: String,
    /// True when a step failed.
    pub failed: bool,
}

/// The comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Side A.
    pub a: Summary,
    /// Side B.
    pub b: Summary,
    /// The steps, aligned.
    pub steps: Vec<Aligned>,
    /// Every difference, most likely cause first.
    pub differences: Vec<Difference>,
    /// What could not be compared, and why (a side without any cookie
    /// header: a sanitised HAR).
    pub cannot_tell: Vec<String>,
}

impl Report {
    /// The differences that can matter.
    pub fn mattering(&self) -> impl Iterator<Item = &Difference> {
        self.differences.iter().filter(|d| d.matters())
    }
}

/// The protocol role of a record (what [`diff`] aligns on).
pub fn role(r: &Record) -> String {
    match r.kind {
        Kind::TokenRequest => match r
            .grant_type
            .clone()
            .or_else(|| params::get(&params::request_params(r), "grant_type").map(str::to_string))
            .as_deref()
        {
            Some("refresh_token") => "refresh".into(),
            Some(g) => format!("token ({g})"),
            None => "token".into(),
        },
        Kind::LoginStart => "login start".into(),
        Kind::AuthorizeRequest => "authorize".into(),
        Kind::AuthorizationResponse => "provider redirect".into(),
        Kind::Callback => "callback".into(),
        other => other.as_str().replace('_', " "),
    }
}

/// Parameters whose values change on every login: compared by shape.
pub(crate) fn volatile(name: &str) -> bool {
    matches!(
        name,
        "state"
            | "nonce"
            | "code"
            | "code_verifier"
            | "code_challenge"
            | "client_assertion"
            | "assertion"
            | "access_token"
            | "refresh_token"
            | "id_token"
            | "device_code"
            | "user_code"
            | "session_state"
            | "request_uri"
            | "request"
            | "client_secret"
            | "iss"
            | "jti"
            | "iat"
            | "exp"
            | "_"
    )
}

/// The weight of a parameter difference.
fn param_weight(name: &str) -> u8 {
    match name {
        "redirect_uri" => 95,
        "client_id" => 80,
        "code_challenge_method" | "code_challenge" | "code_verifier" => 75,
        "response_type" | "response_mode" | "grant_type" => 70,
        "client_secret" | "client_assertion" | "client_assertion_type" => 65,
        "scope" => 60,
        "prompt" | "audience" | "resource" | "access_type" | "acr_values" | "max_age" => 50,
        n if volatile(n) => 10,
        _ => 35,
    }
}

/// A value's shape: length class, alphabet, JWT or not.
pub fn shape(v: &str) -> String {
    if crate::redact::is_redacted(v) {
        return "redacted".into();
    }
    if v.split('.').count() == 3 && v.starts_with("eyJ") {
        return "JWT".into();
    }
    let len = match v.len() {
        0 => return "empty".into(),
        1..=15 => "short",
        16..=63 => "medium",
        _ => "long",
    };
    let alpha = if v.bytes().all(|b| b.is_ascii_hexdigit()) {
        "hex"
    } else if v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        "base64url"
    } else if v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    {
        "base64"
    } else {
        "text"
    };
    format!("{len} {alpha}")
}

fn outcome(records: &[Record]) -> Summary {
    let mut failed = None;
    for r in records {
        let f = super::diagnose::Failure::of(r);
        let bad_status = r.response.as_ref().is_some_and(|x| x.status >= 400);
        if !f.is_empty() || bad_status {
            let what = if f.is_empty() {
                format!("{}", r.response.as_ref().map(|x| x.status).unwrap_or(0))
            } else {
                f.main_code()
            };
            failed = Some(format!("failed at {}: {what}", role(r)));
            break;
        }
    }
    let done = records.iter().any(|r| {
        r.kind == Kind::TokenRequest && super::diagnose::token_succeeded(r)
            || r.kind == Kind::Callback && r.response.as_ref().is_some_and(|x| x.status < 400)
    });
    Summary {
        exchanges: records.len(),
        failed: failed.is_some(),
        outcome: failed.unwrap_or_else(|| {
            if done {
                "succeeded".into()
            } else {
                "incomplete".into()
            }
        }),
    }
}

/// Align two logins by protocol step: the n-th record of each role on one
/// side with the n-th of the same role on the other, in A's order (B's
/// extra roles after the A step they follow).
pub fn align(a: &[Record], b: &[Record]) -> Vec<(String, Option<usize>, Option<usize>)> {
    let keyed = |rs: &[Record]| -> Vec<String> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        rs.iter()
            .map(|r| {
                let role = role(r);
                let n = seen.entry(role.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    role
                } else {
                    format!("{role} #{n}")
                }
            })
            .collect()
    };
    let ka = keyed(a);
    let kb = keyed(b);
    let mut out: Vec<(String, Option<usize>, Option<usize>)> = ka
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), Some(i), kb.iter().position(|x| x == k)))
        .collect();
    for (j, k) in kb.iter().enumerate() {
        if ka.contains(k) {
            continue;
        }
        // After the step B had just before it.
        let at = (0..j)
            .rev()
            .find_map(|p| out.iter().position(|(_, _, bj)| *bj == Some(p)))
            .map(|p| p + 1)
            .unwrap_or(0);
        out.insert(at, (k.clone(), None, Some(j)));
    }
    out
}

/// Compare two logins (analysed records, time order). See the module docs.
pub fn diff(a: &[Record], b: &[Record]) -> Report {
    let steps = align(a, b);
    let mut out = Vec::new();
    // A side whose browser steps carry no cookie header at all lost them
    // (a sanitised HAR): cookies and Authorization are not compared, never
    // reported as "not sent".
    let mut cannot_tell = Vec::new();
    for (side, rs) in [("A", a), ("B", b)] {
        if super::cookies::timeline(rs).cookies_missing {
            cannot_tell.push(format!(
                "cookies and the Authorization header: side {side} carries no Cookie or Set-Cookie header at all (exported without sensitive data?)"
            ));
        }
    }
    let blind = !cannot_tell.is_empty();
    for (step, ia, ib) in &steps {
        match (ia, ib) {
            (Some(i), Some(j)) => out.extend(compare(step, a, *i, b, *j, blind)),
            (Some(i), None) => out.push(missing(step, Some(&a[*i]), None)),
            (None, Some(j)) => out.push(missing(step, None, Some(&b[*j]))),
            (None, None) => {}
        }
    }
    out.extend(timings(a, b));
    // Rank: most likely cause first, then protocol order.
    let order: HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, (s, _, _))| (s.as_str(), i))
        .collect();
    out.sort_by(|x, y| {
        y.weight
            .cmp(&x.weight)
            .then_with(|| order.get(x.step.as_str()).cmp(&order.get(y.step.as_str())))
    });
    Report {
        a: outcome(a),
        b: outcome(b),
        steps: steps
            .iter()
            .map(|(s, ia, ib)| Aligned {
                step: s.clone(),
                a: ia.map(|i| (a[i].id.clone(), a[i].response.as_ref().map(|r| r.status))),
                b: ib.map(|j| (b[j].id.clone(), b[j].response.as_ref().map(|r| r.status))),
            })
            .collect(),
        differences: out,
        cannot_tell,
    }
}

fn missing(step: &str, a: Option<&Record>, b: Option<&Record>) -> Difference {
    let (side, other) = if a.is_some() { ("A", "B") } else { ("B", "A") };
    Difference {
        weight: 45,
        step: step.to_string(),
        what: "step".into(),
        a: a.map(|r| format!("{} {}", r.request.method, r.request.url)),
        b: b.map(|r| format!("{} {}", r.request.method, r.request.url)),
        kinds: vec!["absent".into()],
        caret: None,
        note: format!("only {side} has this step; {other} never got there or did it elsewhere"),
        records: [a.map(|r| r.id.clone()), b.map(|r| r.id.clone())],
    }
}

struct Ctx<'a> {
    step: &'a str,
    ra: &'a Record,
    rb: &'a Record,
    boost: u8,
    out: Vec<Difference>,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        weight: u8,
        what: impl Into<String>,
        a: Option<String>,
        b: Option<String>,
        kinds: Vec<String>,
        note: impl Into<String>,
    ) {
        self.out.push(Difference {
            weight: weight.saturating_add(self.boost).min(100),
            step: self.step.to_string(),
            what: what.into(),
            a,
            b,
            kinds,
            caret: None,
            note: note.into(),
            records: [Some(self.ra.id.clone()), Some(self.rb.id.clone())],
        });
    }
}

fn failed(r: &Record) -> bool {
    r.response.as_ref().is_some_and(|x| x.status >= 400)
        || !super::diagnose::Failure::of(r).is_empty()
}

fn compare(
    step: &str,
    a: &[Record],
    i: usize,
    b: &[Record],
    j: usize,
    blind: bool,
) -> Vec<Difference> {
    let (ra, rb) = (&a[i], &b[j]);
    let boost = if failed(ra) != failed(rb) { 5 } else { 0 };
    let mut c = Ctx {
        step,
        ra,
        rb,
        boost,
        out: Vec::new(),
    };
    // Where the step went.
    let (ua, ub) = (ra.url(), rb.url());
    if let (Some(ua), Some(ub)) = (&ua, &ub) {
        let oa = format!("{}://{}", ua.scheme(), ua.host_str().unwrap_or(""));
        let ob = format!("{}://{}", ub.scheme(), ub.host_str().unwrap_or(""));
        let pa = ua.port_or_known_default();
        let pb = ub.port_or_known_default();
        if oa != ob || pa != pb {
            let kinds = if ua.scheme() != ub.scheme() {
                vec!["scheme".to_string()]
            } else {
                vec!["host".to_string()]
            };
            c.push(
                55,
                "scheme and host",
                Some(ua[..url::Position::BeforePath].to_string()),
                Some(ub[..url::Position::BeforePath].to_string()),
                kinds,
                "another server (or environment) answered this step",
            );
        }
        if ua.path() != ub.path() {
            c.push(
                25,
                "endpoint path",
                Some(ua.path().into()),
                Some(ub.path().into()),
                vec!["path".into()],
                "another endpoint (version, tenant, or route)",
            );
        }
    }
    if ra.request.method != rb.request.method {
        c.push(
            45,
            "method",
            Some(ra.request.method.clone()),
            Some(rb.request.method.clone()),
            vec!["method".into()],
            "GET vs POST: for a callback, response_mode=form_post comes back as a cross-site POST",
        );
    }
    compare_params(
        &mut c,
        &params::request_params(ra),
        &params::request_params(rb),
        "",
    );
    // A redirect's target parameters (the login start's authorize URL, the
    // provider's redirect back).
    let (la, lb) = (params::location_params(ra), params::location_params(rb));
    if !la.is_empty() || !lb.is_empty() {
        compare_params(&mut c, &la, &lb, "redirect → ");
    }
    compare_flavour(&mut c);
    compare_headers(&mut c, blind);
    if !blind {
        compare_cookies(&mut c);
    }
    compare_response(&mut c);
    compare_id_token(&mut c, a, b);
    compare_findings(&mut c);
    c.out
}

fn compare_params(c: &mut Ctx, pa: &Params, pb: &Params, prefix: &str) {
    let mut names: Vec<&str> = Vec::new();
    for (k, _) in pa.iter().chain(pb.iter()) {
        if !names.contains(&k.as_str()) {
            names.push(k);
        }
    }
    for name in names {
        let va = params::get(pa, name);
        let vb = params::get(pb, name);
        if va == vb {
            continue;
        }
        let what = format!("{prefix}{name}");
        let w = param_weight(name);
        match (va, vb) {
            (Some(x), Some(y)) if name == "redirect_uri" => {
                let d = redirect_uri::diff(x, y);
                let mut kinds: Vec<String> = d.kind_codes().iter().map(|s| s.to_string()).collect();
                if kinds.is_empty() {
                    kinds.push("characters".into());
                }
                c.push(
                    w,
                    what,
                    Some(x.into()),
                    Some(y.into()),
                    kinds,
                    format!(
                        "redirect_uri differs ({}): providers compare it character by character (RFC 6749 §4.1.3, §3.1.2)",
                        d.words()
                    ),
                );
                c.out.last_mut().unwrap().caret = Some(d.caret);
            }
            (Some(x), Some(y)) if name == "scope" => {
                let sa: BTreeSet<&str> = x.split_whitespace().collect();
                let sb: BTreeSet<&str> = y.split_whitespace().collect();
                if sa == sb {
                    continue;
                }
                let only_a: Vec<&str> = sa.difference(&sb).copied().collect();
                let only_b: Vec<&str> = sb.difference(&sa).copied().collect();
                c.push(
                    w,
                    what,
                    Some(x.into()),
                    Some(y.into()),
                    vec!["set".into()],
                    format!(
                        "scopes only in A: {}; only in B: {}",
                        if only_a.is_empty() {
                            "none".into()
                        } else {
                            only_a.join(" ")
                        },
                        if only_b.is_empty() {
                            "none".into()
                        } else {
                            only_b.join(" ")
                        }
                    ),
                );
            }
            (Some(x), Some(y)) if volatile(name) => {
                let (sx, sy) = (shape(x), shape(y));
                if sx != sy {
                    c.push(
                        w,
                        what,
                        Some(sx),
                        Some(sy),
                        vec!["shape".into()],
                        format!("{name} changes on every login; compared by shape, and the shapes differ"),
                    );
                }
            }
            (Some(x), Some(y)) => c.push(
                w,
                what,
                Some(x.into()),
                Some(y.into()),
                vec!["value".into()],
                meaning(name),
            ),
            (x, y) => {
                let show = |v: Option<&str>| {
                    v.map(|v| {
                        if volatile(name) {
                            shape(v)
                        } else {
                            v.to_string()
                        }
                    })
                };
                // A PKCE challenge or verifier, a client secret: present on
                // one side only is what matters, not the value.
                let weight = if volatile(name)
                    && !matches!(
                        name,
                        "code_challenge" | "code_verifier" | "client_secret" | "client_assertion"
                    ) {
                    w.max(20)
                } else {
                    w
                };
                c.push(
                    weight,
                    what,
                    show(x),
                    show(y),
                    vec!["absent".into()],
                    format!("{name} is sent on one side only; {}", meaning(name)),
                );
            }
        }
    }
}

fn meaning(name: &str) -> String {
    match name {
        "client_id" => "another client registration (dev vs prod?)".into(),
        "response_type" => "another flow (code, implicit, hybrid)".into(),
        "response_mode" => "how the response comes back: query, fragment or form_post (a cross-site POST that SameSite=Lax cookies do not ride on)".into(),
        "code_challenge_method" => "PKCE method: plain is refused by providers that require S256".into(),
        "code_challenge" | "code_verifier" => "PKCE (RFC 7636) is used on one side only".into(),
        "grant_type" => "another grant".into(),
        "prompt" => "prompt changes what the provider shows (none: silent; login; consent)".into(),
        "audience" | "resource" => "the token's audience (Auth0 audience, RFC 8707 resource)".into(),
        "access_type" => "Google: offline asks for a refresh token".into(),
        "client_secret" | "client_assertion" => "how the client authenticates".into(),
        _ => "a parameter the provider may read".into(),
    }
}

fn compare_flavour(c: &mut Ctx) {
    let fa = c.ra.flavour.as_ref().map(|f| f.client_auth.clone());
    let fb = c.rb.flavour.as_ref().map(|f| f.client_auth.clone());
    if (fa.is_some() || fb.is_some()) && fa != fb {
        c.push(
            65,
            "client authentication",
            fa,
            fb,
            vec!["client_auth".into()],
            "the client authenticates another way (Basic header vs body vs JWT assertion vs none); providers accept what the client is registered for",
        );
    }
}

/// The class of a User-Agent: browser, curl, a runtime, or other.
pub fn user_agent_class(ua: &str) -> &'static str {
    let l = ua.to_ascii_lowercase();
    if l.starts_with("mozilla/") {
        "browser"
    } else if l.starts_with("curl/") {
        "curl"
    } else if l.contains("python") {
        "python"
    } else if l.contains("java") || l.contains("okhttp") {
        "java"
    } else if l.contains("node") || l.contains("axios") || l.contains("undici") {
        "node"
    } else if l.contains("go-http") {
        "go"
    } else if l.is_empty() {
        "none"
    } else {
        "other"
    }
}

fn compare_headers(c: &mut Ctx, blind: bool) {
    let (ha, hb) = (&c.ra.request.headers, &c.rb.request.headers);
    let mime = |v: Option<&str>| {
        v.map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    };
    let scheme = |v: Option<&str>| v.map(|v| v.split_whitespace().next().unwrap_or("").to_string());
    /// A header check: name, weight, A's value, B's value, what it changes.
    type Check<'a> = (&'a str, u8, Option<String>, Option<String>, &'a str);
    let checks: [Check; 5] = [
        ("Origin", 40, ha.get("origin").map(str::to_string), hb.get("origin").map(str::to_string),
            "an Origin header makes some providers treat the token request as a browser (SPA) request: Entra answers AADSTS9002326/9002327, others require a public client"),
        ("Content-Type", 45, mime(ha.get("content-type")), mime(hb.get("content-type")),
            "RFC 6749 token requests are application/x-www-form-urlencoded; JSON or multipart is refused by many servers"),
        ("Accept", 25, mime(ha.get("accept")), mime(hb.get("accept")),
            "GitHub answers form-encoded unless Accept: application/json"),
        ("Authorization scheme", 40, scheme(ha.get("authorization")), scheme(hb.get("authorization")),
            "Basic vs Bearer vs DPoP vs none"),
        ("DPoP", 50, ha.get("dpop").map(|_| "present".to_string()), hb.get("dpop").map(|_| "present".to_string()),
            "a DPoP proof binds the token to a key (RFC 9449)"),
    ];
    for (name, w, a, b, note) in checks {
        if blind && name == "Authorization scheme" {
            continue;
        }
        if a != b {
            c.push(
                w,
                format!("header {name}"),
                a,
                b,
                vec!["header".into()],
                note,
            );
        }
    }
    let (ua, ub) = (
        user_agent_class(ha.get("user-agent").unwrap_or("")),
        user_agent_class(hb.get("user-agent").unwrap_or("")),
    );
    if ua != ub {
        c.push(
            20,
            "User-Agent class",
            Some(ua.into()),
            Some(ub.into()),
            vec!["header".into()],
            "another kind of client (browser, server runtime, curl)",
        );
    }
}

fn compare_cookies(c: &mut Ctx) {
    use super::cookies::{sent_cookies, set_cookies};
    let names =
        |r: &Record| -> BTreeSet<String> { sent_cookies(r).into_iter().map(|(n, _)| n).collect() };
    let (sa, sb) = (names(c.ra), names(c.rb));
    for n in sa.symmetric_difference(&sb) {
        c.push(
            45,
            format!("cookie {n} sent"),
            sa.contains(n).then(|| "sent".to_string()),
            sb.contains(n).then(|| "sent".to_string()),
            vec!["cookie".into()],
            "a cookie sent on one side only: an app's state or session cookie that did not come back explains a \"state mismatch\"",
        );
    }
    let (ca, cb) = (set_cookies(c.ra), set_cookies(c.rb));
    for x in &ca {
        match cb.iter().find(|y| y.name == x.name) {
            Some(y) => {
                let attrs = |z: &super::cookies::SetCookie| {
                    format!(
                        "SameSite={}; Secure={}; Domain={}; Path={}",
                        z.same_site.as_str(),
                        z.secure,
                        z.domain.as_deref().unwrap_or("(host-only)"),
                        z.path.as_deref().unwrap_or("(default)")
                    )
                };
                if attrs(x) != attrs(y) {
                    c.push(
                        50,
                        format!("cookie {} attributes", x.name),
                        Some(attrs(x)),
                        Some(attrs(y)),
                        vec!["cookie".into()],
                        "the attributes decide whether the browser brings the cookie back to the callback",
                    );
                }
            }
            None => c.push(
                40,
                format!("cookie {} set", x.name),
                Some("set".into()),
                None,
                vec!["cookie".into()],
                "set on one side only",
            ),
        }
    }
    for y in cb.iter().filter(|y| !ca.iter().any(|x| x.name == y.name)) {
        c.push(
            40,
            format!("cookie {} set", y.name),
            None,
            Some("set".into()),
            vec!["cookie".into()],
            "set on one side only",
        );
    }
}

fn compare_response(c: &mut Ctx) {
    let sa = c.ra.response.as_ref().map(|r| r.status);
    let sb = c.rb.response.as_ref().map(|r| r.status);
    if sa != sb {
        c.push(
            25,
            "status",
            sa.map(|s| s.to_string()),
            sb.map(|s| s.to_string()),
            vec!["status".into()],
            "the outcome of this step",
        );
    }
    let ea = super::diagnose::Failure::of(c.ra);
    let eb = super::diagnose::Failure::of(c.rb);
    if ea.codes != eb.codes || ea.aadsts != eb.aadsts {
        let show = |f: &super::diagnose::Failure| (!f.is_empty()).then(|| f.main_code());
        c.push(
            30,
            "provider error",
            show(&ea),
            show(&eb),
            vec!["error".into()],
            "what the provider said (a symptom; the differences above it are the likely causes)",
        );
    }
}

fn id_token_claims(r: &Record) -> Option<serde_json::Map<String, serde_json::Value>> {
    let p = super::diagnose::response_params(r);
    let t = params::get(&p, "id_token")
        .map(str::to_string)
        .or_else(|| params::get(&params::request_params(r), "id_token").map(str::to_string))?;
    super::jose::decode_unverified(&t).ok().map(|d| d.claims)
}

fn compare_id_token(c: &mut Ctx, a: &[Record], b: &[Record]) {
    let (Some(ca), Some(cb)) = (id_token_claims(c.ra), id_token_claims(c.rb)) else {
        return;
    };
    let s = |m: &serde_json::Map<String, serde_json::Value>, k: &str| {
        m.get(k).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    for (k, w) in [
        ("iss", 60u8),
        ("aud", 60),
        ("azp", 60),
        ("acr", 35),
        ("amr", 35),
    ] {
        let (x, y) = (s(&ca, k), s(&cb, k));
        if x != y {
            c.push(
                w,
                format!("ID token {k}"),
                x,
                y,
                vec!["claim".into()],
                "an ID-token claim the client validates (OIDC Core §3.1.3.7)",
            );
        }
    }
    // The nonce by role: does it equal its own authorize request's nonce?
    let own = |rs: &[Record], claims: &serde_json::Map<String, serde_json::Value>| {
        let n = claims.get("nonce").and_then(|v| v.as_str())?;
        Some(rs.iter().any(|r| {
            r.kind == Kind::AuthorizeRequest
                && params::get(&params::request_params(r), "nonce") == Some(n)
        }))
    };
    let (na, nb) = (own(a, &ca), own(b, &cb));
    if na != nb {
        let word = |v: Option<bool>| {
            v.map(|m| {
                if m {
                    "matches its authorize nonce"
                } else {
                    "differs from its authorize nonce"
                }
                .to_string()
            })
        };
        c.push(
            60,
            "ID token nonce",
            word(na),
            word(nb),
            vec!["role".into()],
            "the client rejects an ID token whose nonce is not the one it sent",
        );
    }
}

fn compare_findings(c: &mut Ctx) {
    let codes = |r: &Record, sev: Severity| -> BTreeSet<String> {
        r.annotations
            .iter()
            .filter(|a| a.severity == sev && !a.code.starts_with("error."))
            .map(|a| a.code.clone())
            .collect()
    };
    for (sev, w) in [(Severity::Error, 88u8), (Severity::Warning, 30)] {
        let (x, y) = (codes(c.ra, sev), codes(c.rb, sev));
        for code in x.symmetric_difference(&y) {
            let title =
                c.ra.annotations
                    .iter()
                    .chain(c.rb.annotations.iter())
                    .find(|a| &a.code == code)
                    .map(|a| a.title.clone())
                    .unwrap_or_default();
            c.push(
                w,
                format!("finding {code}"),
                x.contains(code).then(|| title.clone()),
                y.contains(code).then(|| title.clone()),
                vec!["finding".into()],
                format!("oauthscope found this ({}) on one side only", sev.as_str()),
            );
        }
    }
}

/// Code age at redemption and token age at refresh, per side.
fn timings(a: &[Record], b: &[Record]) -> Vec<Difference> {
    let code_age = |rs: &[Record]| -> Option<(i64, String)> {
        let t = rs
            .iter()
            .find(|r| r.kind == Kind::TokenRequest && role(r) == "token (authorization_code)")?;
        let sent = params::request_params(t);
        let code = params::get(&sent, "code")?;
        let d = rs.iter().find(|r| {
            (r.kind == Kind::Callback
                && params::get(&params::request_params(r), "code") == Some(code))
                || (matches!(r.kind, Kind::AuthorizeRequest | Kind::AuthorizationResponse)
                    && params::get(&params::location_params(r), "code") == Some(code))
        })?;
        let at = if d.kind == Kind::Callback {
            d.time
        } else {
            super::login::received_at(d)
        };
        Some(((t.time - at).whole_seconds(), t.id.clone()))
    };
    let mut out = Vec::new();
    if let (Some((x, ia)), Some((y, ib))) = (code_age(a), code_age(b)) {
        if (x.max(y) > 60) && (x - y).abs() > 10 {
            out.push(Difference {
                weight: 40,
                step: "token (authorization_code)".into(),
                what: "code age at redemption".into(),
                a: Some(super::jose::human_duration(x)),
                b: Some(super::jose::human_duration(y)),
                kinds: vec!["timing".into()],
                caret: None,
                note: "codes live 30 s to 10 min depending on the provider (RFC 6749 §4.1.2: at most 10 minutes recommended)".into(),
                records: [Some(ia), Some(ib)],
            });
        }
    }
    let refresh_age = |rs: &[Record]| -> Option<(i64, String)> {
        let r = rs.iter().find(|r| role(r) == "refresh")?;
        let sent = params::request_params(r);
        let rt = params::get(&sent, "refresh_token")?;
        let issued = rs.iter().find(|x| {
            x.kind == Kind::TokenRequest
                && params::get(&super::diagnose::response_params(x), "refresh_token") == Some(rt)
        })?;
        Some((
            (r.time - super::login::received_at(issued)).whole_seconds(),
            r.id.clone(),
        ))
    };
    if let (Some((x, ia)), Some((y, ib))) = (refresh_age(a), refresh_age(b)) {
        if (x - y).abs() > 3600 {
            out.push(Difference {
                weight: 35,
                step: "refresh".into(),
                what: "refresh token age at refresh".into(),
                a: Some(super::jose::human_duration(x)),
                b: Some(super::jose::human_duration(y)),
                kinds: vec!["timing".into()],
                caret: None,
                note: "refresh tokens expire (idle or absolute lifetime) and rotate".into(),
                records: [Some(ia), Some(ib)],
            });
        }
    }
    out
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;

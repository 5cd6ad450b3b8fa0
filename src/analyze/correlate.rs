//! Flow correlation: link authorize → callback → token → refresh.

use super::login::Login;
use super::params;
use super::{AnalyzeOptions, Finding};
use crate::record::{Kind, Record};

/// A value that ties records of one flow together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// An OAuth `state` value.
    State(String),
    /// An authorization code.
    Code(String),
    /// A refresh token (sent or issued).
    RefreshToken(String),
    /// Another issued value: an access or ID token, a device code (issued
    /// by a response, or sent back: a device-flow poll, a value sent as
    /// `refresh_token`, a userinfo call's Bearer token).
    Token(String),
}

impl Key {
    /// A short tag for storage (`state`, `code`, `refresh_token`).
    pub fn tag(&self) -> &'static str {
        match self {
            Key::State(_) => "state",
            Key::Code(_) => "code",
            Key::RefreshToken(_) => "refresh_token",
            Key::Token(_) => "token",
        }
    }

    /// The value.
    pub fn value(&self) -> &str {
        match self {
            Key::State(v) | Key::Code(v) | Key::RefreshToken(v) | Key::Token(v) => v,
        }
    }
}

/// Every correlation key a record carries: `state` and `code` from the
/// request, the redirect `Location` and the token request body, refresh
/// tokens sent in a refresh request or issued in a token response.
pub fn keys(rec: &Record) -> Vec<Key> {
    let mut out = Vec::new();
    let mut p = params::request_params(rec);
    p.extend(params::location_params(rec));
    for (k, v) in &p {
        match k.as_str() {
            "state" if !v.is_empty() => out.push(Key::State(v.clone())),
            "code" if !v.is_empty() => out.push(Key::Code(v.clone())),
            "refresh_token" if !v.is_empty() => out.push(Key::RefreshToken(v.clone())),
            _ => {}
        }
    }
    // Values sent back (also as plain tokens: a value sent as the refresh
    // token may have been issued as another kind) and values issued.
    out.extend(sent_tokens(rec).into_iter().map(Key::Token));
    out.extend(issued_tokens(rec).into_iter().map(Key::Token));
    if matches!(rec.kind, Kind::TokenRequest | Kind::DeviceAuthorization) {
        if let Some(json) = params::response_json(rec) {
            let issued = |name: &str| {
                json.get(name)
                    .and_then(|v| v.as_str())
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
            };
            if let Some(rt) = issued("refresh_token") {
                out.push(Key::RefreshToken(rt));
            }
        }
    }
    if rec.kind == Kind::Callback {
        // The app's state cookie (`_state`, `next-auth.state`, ...) names the
        // login the browser believes it is in: a second tab's authorize
        // request that replaced it belongs to the same story.
        for value in rec.request.headers.get_all("cookie") {
            for pair in value.split(';') {
                let Some((name, v)) = pair.trim().split_once('=') else {
                    continue;
                };
                let name = name.trim().to_ascii_lowercase();
                let v = v.trim().trim_matches('"');
                if name.contains("state") && !v.is_empty() {
                    out.push(Key::State(v.to_string()));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Access tokens, ID tokens and device codes a record's response issued.
/// As keys they let a later request that sends one back join the login, but
/// two responses issuing the same value (a mock's fixed token) never join
/// each other: see [`assign_flows`].
fn issued_tokens(rec: &Record) -> Vec<String> {
    if !matches!(rec.kind, Kind::TokenRequest | Kind::DeviceAuthorization) {
        return Vec::new();
    }
    let Some(json) = params::response_json(rec) else {
        return Vec::new();
    };
    ["access_token", "id_token", "device_code"]
        .iter()
        .filter_map(|n| json.get(*n).and_then(|v| v.as_str()))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// Variants of a sent code under which the delivered code may be found: the
/// code cut at a `&`, `#` or whitespace (a hand-cut callback URL), and the
/// code percent-decoded once (still URL-encoded). See
/// `diagnose::code_grant` for the `diagnosis.code_altered` they feed.
pub fn code_variants(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(cut) = code.split(['&', '#', ' ', '\n']).next() {
        if cut != code && !cut.is_empty() {
            out.push(cut.to_string());
        }
    }
    let decoded = percent_encoding::percent_decode_str(code)
        .decode_utf8_lossy()
        .into_owned();
    if decoded != code {
        out.push(decoded);
    }
    out
}

/// The token values a record's request sends back (a refresh token, a
/// device code, a userinfo Bearer token).
fn sent_tokens(rec: &Record) -> Vec<String> {
    let mut out: Vec<String> = params::request_params(rec)
        .into_iter()
        .filter(|(k, v)| (k == "refresh_token" || k == "device_code") && !v.is_empty())
        .map(|(_, v)| v)
        .collect();
    if matches!(rec.kind, Kind::Userinfo | Kind::ResourceRequest) {
        if let Some(token) = rec
            .request
            .headers
            .get("authorization")
            .and_then(|v| v.trim().strip_prefix("Bearer "))
        {
            out.push(token.trim().to_string());
        }
    }
    out
}

/// Set `flow` on every record: records sharing a key (directly or through
/// other records) are in one flow, whose id is the id of its earliest
/// record. A sent code that matches no delivered code is also looked up by
/// its [`code_variants`], so an altered code stays in its login.
pub fn assign_flows(records: &mut [Record]) {
    use std::collections::HashMap;
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..records.len()).collect();
    let mut owner: HashMap<Key, usize> = HashMap::new();
    // Codes seen so far, ordered, for a cut-short code's prefix lookup.
    let mut codes: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, rec) in records.iter().enumerate() {
        let issued = issued_tokens(rec);
        let sent = sent_tokens(rec);
        for k in keys(rec) {
            // Issued only (not also sent back by this record): take the key
            // if nobody has it, join nobody.
            if let Key::Token(v) = &k {
                if issued.contains(v) && !sent.contains(v) {
                    owner.entry(k).or_insert(i);
                    continue;
                }
            }
            let found = owner.get(&k).copied().or_else(|| match &k {
                Key::Code(c) => code_variants(c)
                    .into_iter()
                    .find_map(|v| owner.get(&Key::Code(v)).copied())
                    .or_else(|| {
                        // A truncated code: the one code it starts, when it
                        // keeps at least half of it.
                        let mut after = codes.range(c.clone()..);
                        let (longer, j) = after.next()?;
                        let unique = after.next().is_none_or(|(n, _)| !n.starts_with(c.as_str()));
                        (longer.starts_with(c.as_str()) && c.len() * 2 >= longer.len() && unique)
                            .then_some(*j)
                    }),
                _ => None,
            });
            if let Key::Code(c) = &k {
                codes.entry(c.clone()).or_insert(i);
            }
            match found {
                Some(j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    // The earlier record's root stays the root.
                    if a != b {
                        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                        parent[hi] = lo;
                    }
                    owner.entry(k).or_insert(j);
                }
                None => {
                    owner.insert(k, i);
                }
            }
        }
    }
    for (a, b) in browser_edges(records) {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            parent[hi] = lo;
        }
    }
    let ids: Vec<String> = (0..records.len())
        .map(|i| {
            let r = root(&mut parent, i);
            records[r].id.clone()
        })
        .collect();
    for (rec, id) in records.iter_mut().zip(ids) {
        rec.flow = Some(id);
    }
}

/// How long after a response the browser's next request still follows it
/// (a login page can wait for the user; beyond this it is another login).
const FOLLOW_WINDOW: time::Duration = time::Duration::minutes(10);

/// Pairs of records (earlier, later) that one browser made in one login
/// without a shared `state` or code: "follow the browser, not the
/// request's shape".
/// - A request to exactly the URL an earlier response sent the browser to
///   ([`params::next_location`]: a 3xx `Location`, a JSON `location`, a
///   meta refresh), within [`FOLLOW_WINDOW`]: the provider's own hops
///   (login, consent and error pages) after an authorize request.
/// - A code exchange whose code was never delivered in the capture (a
///   placeholder, a code cut beyond recognition), to the latest delivery of
///   a not yet redeemed code at its `redirect_uri`, within [`FOLLOW_WINDOW`]:
///   `diagnosis.code_altered` then compares the two.
/// - A refresh that sends no refresh token (the app never got one: no
///   offline access was asked for), to the token request the same client
///   last made at the same endpoint within [`FOLLOW_WINDOW`].
/// - Authorization requests that carry no `state` (so no key ties them),
///   to the same host with the same `client_id`, `response_type`,
///   `redirect_uri` and `scope`, within [`FOLLOW_WINDOW`] and with no code
///   or error delivered in between (that ends an attempt): the page and its
///   consent XHR (Discord posts the consent to `/api/v9/oauth2/authorize`
///   with the page's query).
fn browser_edges(records: &[Record]) -> Vec<(usize, usize)> {
    use std::collections::HashMap;
    let mut out = Vec::new();
    let mut sent_to: HashMap<String, usize> = HashMap::new();
    let mut stateless: HashMap<String, usize> = HashMap::new();
    // The latest authorize request per origin, for provider pages no
    // redirect led to (a login form the provider's page posted).
    let mut authorize_at: HashMap<String, usize> = HashMap::new();
    // The latest token request per (endpoint, client_id), for a refresh
    // that sends no refresh token.
    let mut exchanged: HashMap<(String, String), usize> = HashMap::new();
    // Codes delivered so far (callback or Location), and the latest
    // delivery per redirect endpoint with its code, for a code exchange
    // whose code was never delivered (a placeholder, another login's).
    let mut delivered_codes: std::collections::HashSet<String> = Default::default();
    let mut redeemed: std::collections::HashSet<String> = Default::default();
    let mut last_delivery: HashMap<String, (usize, String)> = HashMap::new();
    for (i, rec) in records.iter().enumerate() {
        let url = url::Url::parse(&rec.request.url).ok();
        let origin = url.as_ref().map(|u| u.origin().ascii_serialization());
        let mut followed = false;
        if rec.kind == Kind::TokenRequest {
            let at = (
                super::refute::endpoint_key(&rec.request.url).unwrap_or_default(),
                super::client_id::of_request(rec)
                    .map(|(_, v)| v)
                    .unwrap_or_default(),
            );
            let p = params::request_params(rec);
            let refresh_without_token = params::get(&p, "grant_type") == Some("refresh_token")
                && params::get(&p, "refresh_token").is_none_or(str::is_empty);
            if refresh_without_token && !at.1.is_empty() {
                if let Some(&j) = exchanged.get(&at) {
                    if rec.time - records[j].time <= FOLLOW_WINDOW {
                        out.push((j, i));
                    }
                }
            }
            exchanged.insert(at, i);
            if let Some(code) = params::get(&p, "code").filter(|c| !c.is_empty()) {
                let known = code_variants(code)
                    .iter()
                    .chain(std::iter::once(&code.to_string()))
                    .any(|c| delivered_codes.contains(c));
                let to = params::get(&p, "redirect_uri").and_then(super::refute::endpoint_key);
                if !known {
                    if let Some((j, dcode)) = to.and_then(|t| last_delivery.get(&t)) {
                        if !redeemed.contains(dcode) && rec.time - records[*j].time <= FOLLOW_WINDOW
                        {
                            out.push((*j, i));
                        }
                    }
                }
                redeemed.insert(code.to_string());
            }
        }
        // Where codes were delivered (a callback, or the provider's answer
        // sending the browser back with one), as the diagnoses read them.
        if let Some(resp) = super::authorize::authorization_response(rec) {
            if let (Some(c), Some(at)) = (
                params::get(&resp.params, "code").filter(|c| !c.is_empty()),
                super::refute::endpoint_key(&resp.redirect_uri),
            ) {
                delivered_codes.insert(c.to_string());
                last_delivery.insert(at, (i, c.to_string()));
            }
        }
        if let Some(u) = &url {
            if let Some(j) = sent_to.remove(&super::classify::hop_key(u)) {
                if rec.time - records[j].time <= FOLLOW_WINDOW {
                    out.push((j, i));
                    followed = true;
                }
            }
        }
        // A provider page no redirect led to (a login form the page
        // posted), or a stateless authorization response it answered by
        // XHR (`{"redirectUrl": ".../callback?code=..."}`): the latest
        // authorize request on that origin.
        let stateless_response = rec.kind == Kind::AuthorizationResponse
            && params::get(&params::location_params(rec), "state").is_none()
            && params::next_location(rec)
                .and_then(|n| url::Url::parse(&n).ok())
                .is_some_and(|n| !n.query_pairs().any(|(k, _)| k == "state"));
        if (rec.kind == Kind::ProviderPage || stateless_response) && !followed {
            if let Some(&j) = origin.as_ref().and_then(|o| authorize_at.get(o)) {
                if rec.time - records[j].time <= FOLLOW_WINDOW {
                    out.push((j, i));
                }
            }
        }
        if rec.kind == Kind::AuthorizeRequest {
            if let Some(o) = &origin {
                authorize_at.insert(o.clone(), i);
            }
        }
        if matches!(rec.kind, Kind::AuthorizeRequest) {
            let p = params::request_params(rec);
            if params::get(&p, "state").is_none() && params::get(&p, "request_uri").is_none() {
                let host = url
                    .as_ref()
                    .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                    .unwrap_or_default();
                let key = ["client_id", "response_type", "redirect_uri", "scope"]
                    .iter()
                    .map(|n| params::get(&p, n).unwrap_or("").to_string())
                    .fold(host, |acc, v| format!("{acc}\u{1f}{v}"));
                if let Some(&j) = stateless.get(&key) {
                    if rec.time - records[j].time <= FOLLOW_WINDOW {
                        out.push((j, i));
                    }
                }
                stateless.insert(key, i);
            }
        }
        if let Some(next) = params::next_location(rec).and_then(|n| url::Url::parse(&n).ok()) {
            sent_to.insert(super::classify::hop_key(&next), i);
        }
        // A code or an error delivered ends the login it answered: a later
        // authorize request with the same parameters is a new attempt.
        let delivered = |p: &params::Params| {
            params::get(p, "code").is_some() || params::get(p, "error").is_some()
        };
        if delivered(&params::location_params(rec))
            || rec.kind == Kind::Callback && delivered(&params::request_params(rec))
        {
            stateless.clear();
        }
    }
    out
}

/// Findings about correlation itself (none yet).
pub fn annotate(_login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use crate::analyze::testkit::{prepare, token};

    const FIXED: &str = r#"{"access_token":"same","token_type":"Bearer","expires_in":60}"#;

    #[test]
    fn a_fixed_token_from_a_mock_does_not_join_unrelated_logins() {
        let recs = prepare(vec![
            token("t1", 0, "grant_type=authorization_code&code=c1", FIXED),
            token("t2", 5, "grant_type=authorization_code&code=c2", FIXED),
        ]);
        assert_ne!(recs[0].flow, recs[1].flow);
    }

    #[test]
    fn a_value_sent_back_joins_the_login_that_issued_it() {
        let recs = prepare(vec![
            token("t1", 0, "grant_type=authorization_code&code=c1", FIXED),
            token("t2", 5, "grant_type=refresh_token&refresh_token=same", "{}"),
        ]);
        assert_eq!(recs[0].flow, recs[1].flow);
    }

    #[test]
    fn an_altered_or_cut_code_stays_in_its_login() {
        use crate::analyze::testkit::auth_response;
        for sent in ["abc123%26scope%3Dx", "abc"] {
            let recs = prepare(vec![
                auth_response("a1", 0, "https://app.example/cb?code=abc123&state=s"),
                token(
                    "t1",
                    5,
                    &format!("grant_type=authorization_code&code={sent}"),
                    "{}",
                ),
            ]);
            assert_eq!(recs[0].flow, recs[1].flow, "{sent}");
        }
    }
}

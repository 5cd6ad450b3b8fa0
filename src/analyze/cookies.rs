//! The browser's cookie jar across a capture, as RFC 6265bis (draft 15,
//! "Cookies: HTTP State Management Mechanism") and today's browsers apply it.
//!
//! [`timeline`] replays the capture's browser steps (login starts,
//! authorize requests, the provider's redirects, callbacks, and any record a
//! browser sent) in time order through one jar per browser (keyed by
//! `User-Agent`) and says, for each step, which cookies were **sent**
//! (the `Cookie` header as captured), which were **set** (each `Set-Cookie`,
//! stored or refused and why), and which cookies the jar held that the
//! browser **held back** and why. Back-channel requests (token, userinfo,
//! ...) made by an app's server never see the browser's jar and are left out.
//!
//! The rules, with their sources:
//! - storing (§5.7): `Domain` must domain-match the setting host, else the
//!   cookie is refused; without `Domain` the cookie is *host-only*; without
//!   `Path` it gets the *default-path*, the directory of the request path
//!   (§5.1.4); a `Secure` cookie from an insecure origin is refused
//!   (§5.7 step 16, "Strict Secure Cookies"), and `http://localhost`,
//!   `127.0.0.0/8` and `[::1]` count as secure ("potentially trustworthy",
//!   W3C Secure Contexts §3.2; Chrome ≥ 89, Firefox ≥ 75);
//!   `SameSite=None` without `Secure` is refused (Chrome ≥ 80);
//!   name + value over 4096 bytes is refused (§5.7 step 3, §6.1);
//!   `__Secure-` needs `Secure` from a secure origin, `__Host-` also no
//!   `Domain` and `Path=/` (§4.1.3); `Max-Age` wins over `Expires`, and a
//!   `Max-Age` ≤ 0 or a past `Expires` deletes the cookie (§5.6.1, §5.6.2);
//!   a cookie with the same name, domain and path replaces the earlier one.
//! - sending (§5.8.3): domain-match (host-only: the same host exactly, so
//!   `localhost` and `127.0.0.1` never share cookies), path-match, `Secure`
//!   only over a secure origin, not expired, and `SameSite`: `Strict` only on
//!   same-site requests whose navigation did not start cross-site, `Lax` also
//!   on cross-site *top-level* navigations with a safe method (GET), so not on
//!   a `form_post` POST nor in an iframe; no attribute is `Lax` by default
//!   (Chrome ≥ 80) except that Chrome still sends it on a top-level cross-site
//!   POST within 2 minutes of its creation ("Lax+POST"); Firefox and Safari
//!   treat it as `None`. `None` cookies in a cross-site frame are third-party
//!   cookies, which Safari, Firefox's strict mode, Brave and Chrome with
//!   third-party cookies off block.
//!
//! "Same site" is the browser's own verdict when the request carries
//! `Sec-Fetch-Site` (Fetch Metadata), else schemeful same-site (RFC 6265bis
//! §5.2): the same scheme and registrable domain, approximated as the last
//! two DNS labels (three under a two-letter country code's `co`/`com`/`org`/
//! `net`/`ac`/`gov`/`edu`), an IP literal or `localhost` being its own site.
//!
//! Pure: records in, a timeline out. A capture whose browser steps carry no
//! `Cookie` or `Set-Cookie` header at all (a HAR exported without sensitive
//! data) is flagged ([`Timeline::cookies_missing`]) so rules say "cannot
//! tell" rather than "no cookie was sent".

use super::params;
use crate::record::{Kind, Record};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use time::OffsetDateTime;

/// RFC 6265bis §6.1: browsers keep at most 4096 bytes of name and value.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// Chrome's "Lax+POST" window: a cookie without `SameSite`, younger than
/// this, is still sent on a top-level cross-site POST.
pub const LAX_POST_WINDOW_SECS: i64 = 120;

/// The `SameSite` attribute as set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None`.
    None,
    /// No attribute: `Lax` by default in Chrome and Edge.
    Default,
}

impl SameSite {
    /// The attribute as written (`Strict`, `Lax`, `None`, or `unset`).
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
            SameSite::Default => "unset (Lax by default)",
        }
    }
}

/// One `Set-Cookie` line, parsed (RFC 6265bis §5.6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetCookie {
    /// Cookie name.
    pub name: String,
    /// Cookie value (quotes removed).
    pub value: String,
    /// `Domain`, lower-case, without a leading dot.
    pub domain: Option<String>,
    /// `Path` as written.
    pub path: Option<String>,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub http_only: bool,
    /// `SameSite`.
    pub same_site: SameSite,
    /// `Max-Age` in seconds.
    pub max_age: Option<i64>,
    /// `Expires`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
    /// `Partitioned` (CHIPS).
    pub partitioned: bool,
    /// Bytes of name plus value.
    pub size: usize,
}

impl SetCookie {
    /// Parse one `Set-Cookie` header value; `None` when it has no `name=`.
    pub fn parse(line: &str) -> Option<SetCookie> {
        let c = cookie::Cookie::parse(line.trim().to_string()).ok()?;
        let same_site = match c.same_site() {
            Some(cookie::SameSite::Strict) => SameSite::Strict,
            Some(cookie::SameSite::Lax) => SameSite::Lax,
            Some(cookie::SameSite::None) => SameSite::None,
            None => SameSite::Default,
        };
        let name = c.name().to_string();
        let value = c.value().trim_matches('"').to_string();
        Some(SetCookie {
            size: name.len() + value.len(),
            domain: c
                .domain()
                .map(|d| d.trim_start_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty()),
            path: c.path().map(str::to_string),
            secure: c.secure().unwrap_or(false),
            http_only: c.http_only().unwrap_or(false),
            same_site,
            max_age: c.max_age().map(|d| d.whole_seconds()),
            expires: c.expires_datetime(),
            partitioned: c.partitioned().unwrap_or(false),
            name,
            value,
        })
    }

    /// True when this line deletes the cookie (`Max-Age` ≤ 0, or only a
    /// past `Expires`) relative to `now`.
    pub fn deletes(&self, now: OffsetDateTime) -> bool {
        match self.max_age {
            Some(s) => s <= 0,
            None => self.expires.is_some_and(|e| e <= now),
        }
    }
}

/// Every `Set-Cookie` of a record's response, parsed.
pub fn set_cookies(rec: &Record) -> Vec<SetCookie> {
    rec.response
        .as_ref()
        .map(|r| {
            r.headers
                .get_all("set-cookie")
                .filter_map(SetCookie::parse)
                .collect()
        })
        .unwrap_or_default()
}

/// The `(name, value)` pairs of a request's `Cookie` header(s), in order.
pub fn sent_cookies(rec: &Record) -> Vec<(String, String)> {
    rec.request
        .headers
        .get_all("cookie")
        .flat_map(|v| v.split(';'))
        .filter_map(|p| {
            let p = p.trim();
            if p.is_empty() {
                return None;
            }
            let (n, v) = p.split_once('=').unwrap_or(("", p));
            Some((n.trim().to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

/// Why a browser refused to store a `Set-Cookie`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refused {
    /// `Secure` set by an `http://` origin that is not localhost.
    InsecureOrigin,
    /// `Domain` does not cover the host that set it.
    ForeignDomain,
    /// `__Host-` without `Secure`, with `Domain`, or with a `Path` other than `/`.
    HostPrefix,
    /// `__Secure-` without `Secure` or from an insecure origin.
    SecurePrefix,
    /// Name and value over 4096 bytes.
    TooLarge,
    /// `SameSite=None` without `Secure`.
    NoneWithoutSecure,
}

impl Refused {
    /// Stable code (`too_large`, ...).
    pub fn code(self) -> &'static str {
        match self {
            Refused::InsecureOrigin => "secure_from_insecure_origin",
            Refused::ForeignDomain => "foreign_domain",
            Refused::HostPrefix => "host_prefix",
            Refused::SecurePrefix => "secure_prefix",
            Refused::TooLarge => "too_large",
            Refused::NoneWithoutSecure => "samesite_none_without_secure",
        }
    }

    /// In words, for a sentence "the browser refused it: ...".
    pub fn words(self) -> &'static str {
        match self {
            Refused::InsecureOrigin => {
                "it is Secure but was set over plain http on a host that is not localhost, and browsers refuse that"
            }
            Refused::ForeignDomain => "its Domain does not cover the host that set it",
            Refused::HostPrefix => {
                "a __Host- cookie must be Secure, have no Domain and Path=/"
            }
            Refused::SecurePrefix => "a __Secure- cookie must be Secure and set over https",
            Refused::TooLarge => {
                "its name and value exceed 4096 bytes, and browsers drop such a cookie"
            }
            Refused::NoneWithoutSecure => "SameSite=None without Secure is refused by Chrome and Edge",
        }
    }
}

/// Why a cookie the jar held was not sent with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldBack {
    /// A host-only cookie of another host (`localhost` vs `127.0.0.1`).
    Host,
    /// Its `Domain` does not cover this host.
    Domain,
    /// Its `Path` does not cover this path (often the default-path of the login start's URL).
    Path,
    /// `Secure`, and this request is plain http to a host that is not localhost.
    SecureOverHttp,
    /// `SameSite=Strict` on a navigation that came from another site.
    SameSiteStrict,
    /// `SameSite=Lax` on a cross-site POST (`response_mode=form_post`).
    SameSiteLaxPost,
    /// `SameSite=Lax` (or unset) in a cross-site iframe or subresource.
    SameSiteLaxFrame,
    /// No `SameSite` (Lax by default), on a cross-site POST more than 2 minutes after it was set.
    LaxByDefaultPost,
    /// A third-party cookie (`SameSite=None` in a cross-site frame) where third-party cookies are blocked.
    ThirdParty,
    /// `Max-Age` / `Expires` passed.
    Expired,
    /// The app deleted it (`Max-Age=0` or a past `Expires`).
    Cleared,
}

impl HeldBack {
    /// Stable code (`host`, `samesite_strict`, ...).
    pub fn code(self) -> &'static str {
        match self {
            HeldBack::Host => "host",
            HeldBack::Domain => "domain",
            HeldBack::Path => "path",
            HeldBack::SecureOverHttp => "secure_over_http",
            HeldBack::SameSiteStrict => "samesite_strict",
            HeldBack::SameSiteLaxPost => "samesite_lax_form_post",
            HeldBack::SameSiteLaxFrame => "samesite_lax_frame",
            HeldBack::LaxByDefaultPost => "lax_by_default_post",
            HeldBack::ThirdParty => "third_party",
            HeldBack::Expired => "expired",
            HeldBack::Cleared => "cleared",
        }
    }
}

/// How the browser made a request, as far as the capture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    /// A top-level navigation (address bar, link, redirect, form submit).
    TopLevel,
    /// Inside an iframe (silent renew with `prompt=none`).
    Frame,
    /// A script's request (`fetch`, XHR).
    Subresource,
}

/// One cookie in the jar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stored {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// The host it goes to (host-only) or the `Domain` it covers.
    pub domain: String,
    /// True without a `Domain` attribute.
    pub host_only: bool,
    /// Effective path (the attribute, or the default-path).
    pub path: String,
    /// `Secure`.
    pub secure: bool,
    /// `SameSite`.
    pub same_site: SameSite,
    /// When it expires (`None`: a session cookie).
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Index of the record whose response set it.
    pub set_by: usize,
    /// When the browser received it.
    #[serde(with = "time::serde::rfc3339")]
    pub set_at: OffsetDateTime,
    /// Index of the record that deleted it, if one did.
    pub cleared_by: Option<usize>,
}

/// One `Set-Cookie` of a step and what the browser did with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// The line, parsed.
    pub cookie: SetCookie,
    /// Why it was refused, if it was.
    pub refused: Option<Refused>,
    /// True when it deleted a cookie (`Max-Age=0`, past `Expires`).
    pub deletes: bool,
    /// Index of the record that had set the cookie this one replaced (same name, domain, path).
    pub replaced: Option<usize>,
}

/// A cookie the jar held that did not go with a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Withheld {
    /// The cookie as the jar held it.
    pub cookie: Stored,
    /// Why.
    pub why: HeldBack,
}

/// A cookie the browser refused earlier, that would otherwise have matched this request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NeverStored {
    /// The cookie as set.
    pub cookie: SetCookie,
    /// The record that tried to set it.
    pub set_by: usize,
    /// Why the browser refused it.
    pub why: Refused,
}

/// One browser step of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Index of the record.
    pub record: usize,
    /// How the browser made the request.
    pub context: Context,
    /// True when the request was cross-site (`Sec-Fetch-Site`, else inferred).
    pub cross_site: bool,
    /// The cookies the request carried (`Cookie` header), in order.
    pub sent: Vec<(String, String)>,
    /// Cookies the jar held for this site that the browser left out, and why.
    pub held_back: Vec<Withheld>,
    /// Cookies refused earlier that this request would otherwise have carried.
    pub never_stored: Vec<NeverStored>,
    /// The response's `Set-Cookie` lines and what became of them.
    pub set: Vec<Setting>,
    /// The chunked cookies this request carried or should have carried,
    /// each taken as one cookie: complete, or which chunk is missing and why.
    pub chunked: Vec<ChunkedAtStep>,
    /// The chunked cookies the response set (stored chunks only), each
    /// with its whole value, for recognising login state split over chunks.
    pub set_chunked: Vec<ChunkSet>,
}

/// The cookie timeline of a capture.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timeline {
    /// Browser steps, in time order.
    pub steps: Vec<Step>,
    /// True when browser steps exist and none carries a `Cookie` or
    /// `Set-Cookie` header: the capture probably had them removed (a
    /// sanitised HAR), so absence proves nothing.
    pub cookies_missing: bool,
}

impl Timeline {
    /// The step of record `index`, if it is a browser step.
    pub fn step(&self, index: usize) -> Option<&Step> {
        self.steps
            .binary_search_by_key(&index, |s| s.record)
            .ok()
            .map(|i| &self.steps[i])
    }
}

/// True for a record a browser made (not an app's back channel).
pub fn is_browser_step(rec: &Record) -> bool {
    match rec.kind {
        Kind::LoginStart
        | Kind::AuthorizeRequest
        | Kind::AuthorizationResponse
        | Kind::Callback => true,
        _ => {
            let h = &rec.request.headers;
            h.get("sec-fetch-mode").is_some()
                || h.get("user-agent")
                    .is_some_and(|ua| ua.starts_with("Mozilla/"))
        }
    }
}

/// The host a URL names, lower-case, and whether its origin is secure
/// (`https`, or a loopback name: W3C Secure Contexts §3.2).
fn origin(url: &str) -> Option<(String, String, bool)> {
    let u = url::Url::parse(url).ok()?;
    let host = u
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let secure = u.scheme() == "https" || is_loopback_name(&host);
    Some((u.scheme().to_string(), host, secure))
}

/// `localhost`, `*.localhost`, `127.0.0.0/8` and `::1`.
pub fn is_loopback_name(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h.ends_with(".localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The registrable domain of a host, approximated (see the module docs).
pub fn site_of(host: &str) -> String {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h.parse::<std::net::IpAddr>().is_ok() || !h.contains('.') {
        return h;
    }
    let labels: Vec<&str> = h.split('.').collect();
    let n = labels.len();
    let take = if n >= 3
        && labels[n - 1].len() == 2
        && ["co", "com", "org", "net", "ac", "gov", "edu"].contains(&labels[n - 2])
    {
        3
    } else {
        2
    };
    labels[n.saturating_sub(take)..].join(".")
}

/// Schemeful same-site (RFC 6265bis §5.2).
fn same_site(a: &(String, String, bool), b: &(String, String, bool)) -> bool {
    a.0 == b.0 && site_of(&a.1) == site_of(&b.1)
}

/// RFC 6265bis §5.1.3 domain-match.
pub fn domain_match(host: &str, domain: &str) -> bool {
    host == domain
        || (host.ends_with(domain)
            && host.as_bytes().get(host.len() - domain.len() - 1) == Some(&b'.')
            && host.parse::<std::net::IpAddr>().is_err())
}

/// RFC 6265bis §5.1.4 default-path of a request path.
pub fn default_path(path: &str) -> String {
    if !path.starts_with('/') {
        return "/".into();
    }
    match path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => path[..i].to_string(),
    }
}

/// RFC 6265bis §5.1.4 path-match.
pub fn path_match(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// Why the browser would refuse `c` set by a response from `url`.
pub fn refusal(c: &SetCookie, url: &str) -> Option<Refused> {
    let (_, host, secure_origin) = origin(url)?;
    if c.size > MAX_COOKIE_BYTES {
        return Some(Refused::TooLarge);
    }
    if let Some(d) = &c.domain {
        if !domain_match(&host, d) {
            return Some(Refused::ForeignDomain);
        }
    }
    if c.name.starts_with("__Host-")
        && (!c.secure || !secure_origin || c.domain.is_some() || c.path.as_deref() != Some("/"))
    {
        return Some(Refused::HostPrefix);
    }
    if c.name.starts_with("__Secure-") && (!c.secure || !secure_origin) {
        return Some(Refused::SecurePrefix);
    }
    if c.secure && !secure_origin {
        return Some(Refused::InsecureOrigin);
    }
    if c.same_site == SameSite::None && !c.secure {
        return Some(Refused::NoneWithoutSecure);
    }
    None
}

/// The request's context and whether it is cross-site: `Sec-Fetch-Dest` /
/// `Sec-Fetch-Site` when the browser sent them; else a callback or a
/// provider's redirect back is a top-level navigation from the provider's
/// site (the previous browser step's site), in a frame when the login asked
/// `prompt=none`; a login start is a same-site top-level navigation.
fn context_of(rec: &Record, previous: Option<&Record>, silent: bool) -> (Context, bool) {
    let h = &rec.request.headers;
    let dest = h.get("sec-fetch-dest").map(str::to_ascii_lowercase);
    let ctx = match dest.as_deref() {
        Some("document") => Context::TopLevel,
        Some("iframe") | Some("frame") | Some("embed") | Some("object") => Context::Frame,
        Some(_) => Context::Subresource,
        None if silent => Context::Frame,
        None => Context::TopLevel,
    };
    let cross = match h
        .get("sec-fetch-site")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("cross-site") => true,
        Some("same-site") | Some("same-origin") | Some("none") => false,
        _ => {
            let from = h
                .get("origin")
                .filter(|o| *o != "null")
                .map(str::to_string)
                .or_else(|| h.get("referer").map(str::to_string))
                .or_else(|| match rec.kind {
                    Kind::Callback | Kind::AuthorizeRequest => {
                        previous.map(|p| p.request.url.clone())
                    }
                    _ => None,
                });
            match (from.as_deref().and_then(origin), origin(&rec.request.url)) {
                (Some(a), Some(b)) => !same_site(&a, &b),
                _ => false,
            }
        }
    };
    (ctx, cross)
}

/// Why the browser would not send `c` with a request to `url` made at
/// `at` in `ctx`; `None` when it would send it.
pub fn withheld(
    c: &Stored,
    url: &str,
    method: &str,
    ctx: Context,
    cross_site: bool,
    at: OffsetDateTime,
) -> Option<HeldBack> {
    let u = url::Url::parse(url).ok()?;
    let (_, host, secure_origin) = origin(url)?;
    if c.cleared_by.is_some() {
        return Some(HeldBack::Cleared);
    }
    if c.host_only && host != c.domain {
        return Some(HeldBack::Host);
    }
    if !c.host_only && !domain_match(&host, &c.domain) {
        return Some(HeldBack::Domain);
    }
    if !path_match(u.path(), &c.path) {
        return Some(HeldBack::Path);
    }
    if c.secure && !secure_origin {
        return Some(HeldBack::SecureOverHttp);
    }
    if c.expires_at.is_some_and(|e| e <= at) {
        return Some(HeldBack::Expired);
    }
    if cross_site {
        let safe = matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE");
        match (c.same_site, ctx) {
            (SameSite::Strict, _) => return Some(HeldBack::SameSiteStrict),
            (SameSite::Lax, Context::TopLevel) if !safe => return Some(HeldBack::SameSiteLaxPost),
            (SameSite::Lax, Context::TopLevel) => {}
            (SameSite::Lax, _) => return Some(HeldBack::SameSiteLaxFrame),
            (SameSite::Default, Context::TopLevel) if !safe => {
                if (at - c.set_at).whole_seconds() > LAX_POST_WINDOW_SECS {
                    return Some(HeldBack::LaxByDefaultPost);
                }
            }
            (SameSite::Default, Context::TopLevel) => {}
            (SameSite::Default, _) => return Some(HeldBack::SameSiteLaxFrame),
            (SameSite::None, Context::TopLevel) => {}
            (SameSite::None, _) => return Some(HeldBack::ThirdParty),
        }
    }
    None
}

/// True when two hosts are related enough that a cookie of one is worth
/// listing as held back at the other: the same site, or both loopback.
fn related(a: &str, b: &str) -> bool {
    site_of(a) == site_of(b) || (is_loopback_name(a) && is_loopback_name(b))
}

/// Replay the capture's browser steps through a jar per browser. See the
/// module documentation. `records` in time order.
pub fn timeline(records: &[Record]) -> Timeline {
    let mut jars: HashMap<String, Vec<Stored>> = HashMap::new();
    let mut refused: HashMap<String, Vec<NeverStored>> = HashMap::new();
    let mut last_browser: HashMap<String, usize> = HashMap::new();
    let mut steps = Vec::new();
    let mut any_cookie_header = false;
    for (i, rec) in records.iter().enumerate() {
        if !is_browser_step(rec) {
            continue;
        }
        let who = rec
            .request
            .headers
            .get("user-agent")
            .unwrap_or("")
            .to_string();
        let jar = jars.entry(who.clone()).or_default();
        let silent = rec.kind != Kind::LoginStart && silent_login(records, i);
        let previous = last_browser.get(&who).map(|&p| &records[p]);
        let (context, cross_site) = context_of(rec, previous, silent);
        let sent = sent_cookies(rec);
        any_cookie_header |= !sent.is_empty() || rec.request.headers.get("cookie").is_some();
        let url = rec.request.url.as_str();
        let host = origin(url).map(|o| o.1).unwrap_or_default();
        let held_back = jar
            .iter()
            .filter(|c| related(&c.domain, &host))
            .filter(|c| !sent.iter().any(|(n, _)| *n == c.name))
            .filter_map(|c| {
                withheld(c, url, &rec.request.method, context, cross_site, rec.time).map(|why| {
                    Withheld {
                        cookie: c.clone(),
                        why,
                    }
                })
            })
            // A cookie deleted and set again is listed once, by its live copy.
            .fold(Vec::<Withheld>::new(), |mut acc, w| {
                if !acc.iter().any(|a| a.cookie.name == w.cookie.name) {
                    acc.push(w);
                }
                acc
            });
        let never_stored: Vec<NeverStored> = refused
            .get(&who)
            .map(|v| {
                v.iter()
                    .filter(|n| !sent.iter().any(|(s, _)| *s == n.cookie.name))
                    .filter(|n| {
                        origin(&records[n.set_by].request.url).is_some_and(|o| related(&o.1, &host))
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();

        // The response's cookies, as the browser stores them.
        let mut set = Vec::new();
        let now = crate::analyze::login::received_at(rec);
        let req_path = url::Url::parse(url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| "/".into());
        if rec
            .response
            .as_ref()
            .is_some_and(|r| r.headers.get("set-cookie").is_some())
        {
            any_cookie_header = true;
        }
        for c in set_cookies(rec) {
            let why = refusal(&c, url);
            let deletes = c.deletes(now);
            let domain = c.domain.clone().unwrap_or_else(|| host.clone());
            let path = c
                .path
                .clone()
                .filter(|p| p.starts_with('/'))
                .unwrap_or_else(|| default_path(&req_path));
            let host_only = c.domain.is_none();
            let mut replaced = None;
            if why.is_none() {
                let same = |o: &Stored| {
                    o.name == c.name
                        && o.domain == domain
                        && o.path == path
                        && o.host_only == host_only
                };
                if let Some(live) = jar.iter().find(|o| same(o) && o.cleared_by.is_none()) {
                    replaced = Some(live.set_by);
                }
                if deletes {
                    // The deleted copy stays, marked, so a later request
                    // can name the deletion as the reason.
                    jar.retain(|o| !same(o) || o.cleared_by.is_none());
                    for o in jar.iter_mut().filter(|o| same(o)) {
                        o.cleared_by = Some(i);
                    }
                } else {
                    jar.retain(|o| !same(o));
                    let expires_at = match c.max_age {
                        Some(s) => now.checked_add(time::Duration::seconds(s)),
                        None => c.expires,
                    };
                    jar.push(Stored {
                        name: c.name.clone(),
                        value: c.value.clone(),
                        domain,
                        host_only,
                        path,
                        secure: c.secure,
                        same_site: c.same_site,
                        expires_at,
                        set_by: i,
                        set_at: now,
                        cleared_by: None,
                    });
                }
            } else if let Some(r) = why {
                refused.entry(who.clone()).or_default().push(NeverStored {
                    cookie: c.clone(),
                    set_by: i,
                    why: r,
                });
            }
            set.push(Setting {
                cookie: c,
                refused: why,
                deletes,
                replaced: if deletes { None } else { replaced },
            });
        }
        last_browser.insert(who, i);
        let chunked = chunked_at(&sent, &held_back, &never_stored);
        let set_chunked = chunk_sets(
            set.iter()
                .filter(|x| x.refused.is_none() && !x.deletes)
                .map(|x| (x.cookie.name.as_str(), x.cookie.value.as_str())),
        );
        steps.push(Step {
            record: i,
            context,
            cross_site,
            sent,
            held_back,
            never_stored,
            set,
            chunked,
            set_chunked,
        });
    }
    let cookies_missing = !steps.is_empty() && !any_cookie_header;
    Timeline {
        steps,
        cookies_missing,
    }
}

/// True when the login record `i` belongs to asked `prompt=none` (silent
/// renew, usually in an iframe).
fn silent_login(records: &[Record], i: usize) -> bool {
    let rec = &records[i];
    let mut p = params::request_params(rec);
    if rec.kind == Kind::Callback || rec.kind == Kind::AuthorizationResponse {
        // The authorize request with the same state.
        let state = params::get(&p, "state")
            .map(str::to_string)
            .or_else(|| params::get(&params::location_params(rec), "state").map(str::to_string));
        if let Some(s) = state {
            if let Some(a) = records[..i].iter().rev().find(|r| {
                r.kind == Kind::AuthorizeRequest
                    && params::get(&params::request_params(r), "state") == Some(s.as_str())
            }) {
                p = params::request_params(a);
            }
        }
    }
    params::get(&p, "prompt") == Some("none")
}

/// The login values a cookie can hold: `(role, value)` such as
/// `("state", "...")`, `("nonce", "...")`, `("code_verifier", "...")`.
pub type LoginValues<'a> = [(&'static str, &'a str)];

/// How a cookie was recognised as holding a login's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum Recognised {
    /// Its value is the login's `state`, `nonce` or verifier.
    Value {
        /// Which one.
        role: &'static str,
    },
    /// Its value holds it inside (JSON, base64/base64url, a JWT's claims, or a delimited string).
    Inside {
        /// Which one.
        role: &'static str,
        /// How it was found (`json`, `base64`, `jwt`, `text`).
        encoding: &'static str,
    },
    /// Its name says so (`state`, `nonce`, `verifier`, `pkce`, `oauth`, `correlation`).
    Name,
    /// Set by the login start and nothing else known: an opaque (encrypted or signed) blob.
    Timing,
}

impl Recognised {
    /// A short phrase: "it holds the state", "its name", ...
    pub fn words(&self) -> String {
        match self {
            Recognised::Value { role } => format!("its value is the login's {role}"),
            Recognised::Inside { role, encoding } => {
                format!("its value holds the login's {role} ({encoding})")
            }
            Recognised::Name => "its name marks it as login state".into(),
            Recognised::Timing => {
                "the login start set it (an opaque value the capture cannot open)".into()
            }
        }
    }

    /// How strong the recognition is (higher is stronger).
    pub fn rank(&self) -> u8 {
        match self {
            Recognised::Value { .. } => 3,
            Recognised::Inside { .. } => 2,
            Recognised::Name => 1,
            Recognised::Timing => 0,
        }
    }

    /// As evidence.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!(null))
    }
}

/// Cookie names that hold an app's login state, nonce or verifier
/// (next-auth `state`/`pkce.code_verifier`/`nonce`, ASP.NET
/// `.AspNetCore.Correlation.*` and `.AspNetCore.OpenIdConnect.Nonce.*`,
/// oauth2-proxy `_oauth2_proxy_csrf`, Spring's session, ...).
pub fn is_login_cookie_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "state",
        "nonce",
        "verifier",
        "pkce",
        "csrf",
        "correlation",
        "oauth",
        "oidc",
    ]
    .iter()
    .any(|k| n.contains(k))
}

/// How `value` (a cookie value) holds one of `wanted`, if it does.
pub fn recognise(name: &str, value: &str, wanted: &LoginValues) -> Option<Recognised> {
    let wanted: Vec<(&'static str, &str)> = wanted
        .iter()
        .copied()
        .filter(|(_, v)| v.len() >= 6)
        .collect();
    let decoded = percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned();
    for (role, v) in &wanted {
        if value == *v || decoded == *v {
            return Some(Recognised::Value { role });
        }
    }
    for (role, v) in &wanted {
        if let Some(enc) = holds_inside(&decoded, v, 0) {
            return Some(Recognised::Inside {
                role,
                encoding: enc,
            });
        }
    }
    if is_login_cookie_name(name) {
        return Some(Recognised::Name);
    }
    None
}

/// Where `needle` sits inside `text`: as text, in JSON, in base64/base64url
/// (standard or URL alphabet, padded or not), or in a JWT's claims.
fn holds_inside(text: &str, needle: &str, depth: u8) -> Option<&'static str> {
    if depth > 2 {
        return None;
    }
    if text.contains(needle) {
        return Some(if text.trim_start().starts_with('{') {
            "json"
        } else {
            "text"
        });
    }
    // A JWT (or any dot-separated base64url parts: a signed cookie).
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() >= 2 {
        for p in &parts {
            if let Some(b) = b64(p) {
                if holds_inside(&b, needle, depth + 1).is_some() {
                    return Some(if parts.len() == 3 { "jwt" } else { "base64" });
                }
            }
        }
    }
    // Also a value signed after a separator (`b64|sig`, `s:b64.sig`).
    for piece in text.split(['|', ':', '~']) {
        if let Some(b) = b64(piece) {
            if holds_inside(&b, needle, depth + 1).is_some() {
                return Some("base64");
            }
        }
    }
    None
}

fn b64(s: &str) -> Option<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let s = s.trim();
    if s.len() < 8 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(s)
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| STANDARD.decode(s))
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// How a framework numbers the chunks of a chunked cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkStyle {
    /// `NAME.0`, `NAME.1`, ... (next-auth / Auth.js, Supabase's `@supabase/ssr`).
    Dot,
    /// `NAME_0`, `NAME_1`, ... (oauth2-proxy).
    Underscore,
    /// `NAME-0` / `NAME-1`, ... (hand-written and Spring-style chunking filters).
    Dash,
    /// `NAME` holding `chunks-N`, then `NAMEC1` ... `NAMECN` (ASP.NET Core's `ChunkingCookieManager`).
    AspNet,
}

impl ChunkStyle {
    /// The index of the first chunk.
    fn first(self) -> usize {
        match self {
            ChunkStyle::AspNet => 1,
            _ => 0,
        }
    }
}

/// The base name, index and numbering of a chunk's name; `None` for a
/// name that is not a chunk's.
pub fn chunk_of(name: &str) -> Option<(&str, usize, ChunkStyle)> {
    for (sep, style) in [
        ('.', ChunkStyle::Dot),
        ('_', ChunkStyle::Underscore),
        ('-', ChunkStyle::Dash),
    ] {
        if let Some((base, n)) = name.rsplit_once(sep) {
            if !base.is_empty()
                && !n.is_empty()
                && n.len() <= 3
                && n.bytes().all(|b| b.is_ascii_digit())
            {
                return Some((base, n.parse().ok()?, style));
            }
        }
    }
    let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if trimmed.len() < name.len()
        && name.len() - trimmed.len() <= 3
        && trimmed.ends_with('C')
        && trimmed.len() > 1
    {
        let n = name[trimmed.len()..].parse().ok()?;
        return Some((&trimmed[..trimmed.len() - 1], n, ChunkStyle::AspNet));
    }
    None
}

/// Chunked cookies: frameworks split a large value over `NAME.0`,
/// `NAME.1`, ... (next-auth, oauth2-proxy `_0`/`_1`, `-0`/`-1`) or `NAME` +
/// `NAMEC1`, `NAMEC2` (ASP.NET's `chunks-N`). The base name of a chunk.
pub fn chunk_base(name: &str) -> Option<&str> {
    chunk_of(name).map(|(b, _, _)| b)
}

/// The chunk count an ASP.NET header cookie announces (`chunks-3`).
fn announced_chunks(value: &str) -> Option<usize> {
    value.strip_prefix("chunks-")?.parse().ok()
}

/// One chunked cookie: the chunks of one base name seen together (in one
/// `Cookie` header, or in one response's `Set-Cookie` lines), taken as the
/// one cookie they make.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkSet {
    /// The base name (`next-auth.session-token`, `.AspNetCore.Cookies`).
    pub base: String,
    /// How the chunks are numbered.
    pub style: ChunkStyle,
    /// The chunks present, `(index, name, value)`, in index order.
    pub chunks: Vec<(usize, String, String)>,
    /// The count announced by ASP.NET's header cookie (`NAME=chunks-N`).
    pub announced: Option<usize>,
    /// The names of the chunks that are not there: gaps below the highest
    /// index present, or up to the announced count.
    pub missing: Vec<String>,
}

impl ChunkSet {
    /// The whole value: the chunks' values joined in index order.
    pub fn value(&self) -> String {
        self.chunks.iter().map(|(_, _, v)| v.as_str()).collect()
    }

    /// True when no chunk is missing.
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// Bytes of the whole value (what one cookie could not have held when over 4096).
    pub fn size(&self) -> usize {
        self.chunks.iter().map(|(_, _, v)| v.len()).sum()
    }

    /// True when `name` is one of its chunks (or ASP.NET's header cookie).
    pub fn holds(&self, name: &str) -> bool {
        name == self.base || self.chunks.iter().any(|(_, n, _)| n == name)
    }
}

/// The name of chunk `i` of `base` in `style`.
fn chunk_name(base: &str, i: usize, style: ChunkStyle) -> String {
    match style {
        ChunkStyle::Dot => format!("{base}.{i}"),
        ChunkStyle::Underscore => format!("{base}_{i}"),
        ChunkStyle::Dash => format!("{base}-{i}"),
        ChunkStyle::AspNet => format!("{base}C{i}"),
    }
}

/// The chunked cookies among `(name, value)` pairs (a request's `Cookie`
/// header, or a response's `Set-Cookie` lines). A base counts as chunked
/// when two or more of its chunks are present, when ASP.NET's header cookie
/// announces `chunks-N`, or when a chunk other than the first is present
/// alone (the first is then missing).
pub fn chunk_sets<'a>(cookies: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<ChunkSet> {
    let pairs: Vec<(&str, &str)> = cookies.into_iter().collect();
    let mut sets: Vec<ChunkSet> = Vec::new();
    for (name, value) in &pairs {
        let Some((base, i, style)) = chunk_of(name) else {
            continue;
        };
        match sets.iter_mut().find(|s| s.base == base && s.style == style) {
            Some(s) => {
                if !s.chunks.iter().any(|(j, _, _)| *j == i) {
                    s.chunks.push((i, name.to_string(), value.to_string()));
                }
            }
            None => sets.push(ChunkSet {
                base: base.to_string(),
                style,
                chunks: vec![(i, name.to_string(), value.to_string())],
                announced: None,
                missing: Vec::new(),
            }),
        }
    }
    // ASP.NET's header cookie: `NAME=chunks-N`, even when no chunk came.
    for (name, value) in &pairs {
        if let Some(n) = announced_chunks(value) {
            match sets
                .iter_mut()
                .find(|s| s.base == *name && s.style == ChunkStyle::AspNet)
            {
                Some(s) => s.announced = Some(n),
                None => sets.push(ChunkSet {
                    base: name.to_string(),
                    style: ChunkStyle::AspNet,
                    chunks: Vec::new(),
                    announced: Some(n),
                    missing: Vec::new(),
                }),
            }
        }
    }
    sets.retain(|s| {
        s.chunks.len() >= 2
            || s.announced.is_some()
            // A later chunk alone: the first is missing (not for `-N`,
            // which plain names such as `_gat_UA-1234-1` also end with).
            || (s.style != ChunkStyle::Dash
                && s.chunks.iter().any(|(i, _, _)| *i > s.style.first()))
    });
    for s in &mut sets {
        s.chunks.sort_by_key(|(i, _, _)| *i);
        let highest = s.chunks.last().map(|(i, _, _)| *i);
        // ASP.NET's `chunks-N` names the last chunk, `NAMECN`.
        let last = s.announced.or(highest);
        let first = s.style.first();
        if let Some(last) = last {
            s.missing = (first..=last.min(first + 999))
                .filter(|i| !s.chunks.iter().any(|(j, _, _)| j == i))
                .map(|i| chunk_name(&s.base, i, s.style))
                .collect();
        }
    }
    sets
}

/// How a chunked cookie holds one of `wanted`: [`recognise`] over its
/// whole value (the chunks joined), so a state split over two chunks is
/// found.
pub fn recognise_set(set: &ChunkSet, wanted: &LoginValues) -> Option<Recognised> {
    recognise(&set.base, &set.value(), wanted)
}

/// A chunked cookie at one browser step: which chunks the request carried,
/// which ones the jar held back or the browser had refused (and why), and
/// whether the cookie arrived whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkedAtStep {
    /// The base name.
    pub base: String,
    /// Chunk names the request carried, in index order.
    pub sent: Vec<String>,
    /// Chunks that did not go with the request: `(name, reason code)`, the
    /// reason being a [`HeldBack::code`], a [`Refused::code`] when the
    /// browser refused to store it, or `never_set` for a gap no response
    /// of the capture filled.
    pub missing: Vec<(String, String)>,
    /// True when every chunk went with the request.
    pub complete: bool,
    /// Bytes of the chunks sent, joined.
    pub size: usize,
}

/// The chunked cookies of one step: the chunk sets among what was sent,
/// held back and never stored (see [`ChunkedAtStep`]).
fn chunked_at(
    sent: &[(String, String)],
    held_back: &[Withheld],
    never_stored: &[NeverStored],
) -> Vec<ChunkedAtStep> {
    let mut all: Vec<(&str, &str)> = sent.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    all.extend(
        held_back
            .iter()
            .map(|w| (w.cookie.name.as_str(), w.cookie.value.as_str())),
    );
    all.extend(
        never_stored
            .iter()
            .map(|n| (n.cookie.name.as_str(), n.cookie.value.as_str())),
    );
    let sent_sets = chunk_sets(sent.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    chunk_sets(all)
        .into_iter()
        .map(|whole| {
            let was_sent = |name: &str| sent.iter().any(|(n, _)| n == name);
            let mut missing: Vec<(String, String)> = Vec::new();
            for (_, name, _) in &whole.chunks {
                if was_sent(name) {
                    continue;
                }
                let why = held_back
                    .iter()
                    .find(|w| w.cookie.name == *name)
                    .map(|w| w.why.code())
                    .or_else(|| {
                        never_stored
                            .iter()
                            .find(|n| n.cookie.name == *name)
                            .map(|n| n.why.code())
                    })
                    .unwrap_or("not_sent");
                missing.push((name.clone(), why.to_string()));
            }
            for name in &whole.missing {
                missing.push((name.clone(), "never_set".to_string()));
            }
            let sent_set = sent_sets
                .iter()
                .find(|s| s.base == whole.base && s.style == whole.style);
            let sent_names: Vec<String> = whole
                .chunks
                .iter()
                .filter(|(_, n, _)| was_sent(n))
                .map(|(_, n, _)| n.clone())
                .collect();
            missing.sort();
            missing.dedup();
            ChunkedAtStep {
                base: whole.base.clone(),
                complete: missing.is_empty(),
                sent: sent_names,
                size: sent_set.map(ChunkSet::size).unwrap_or(0),
                missing,
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "cookies_tests.rs"]
mod tests;

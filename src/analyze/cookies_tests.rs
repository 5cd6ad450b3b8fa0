//! The cookie jar model against RFC 6265bis cases.

use super::*;
use crate::analyze::testkit::{at, respond};
use crate::record::{Kind, Record};

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36";

fn rec(id: &str, secs: i64, kind: Kind, method: &str, url: &str) -> Record {
    let mut r = Record::bare(&format!("{id:0>16}"), at(secs), kind, method, url);
    r.request.headers.push("User-Agent", UA);
    r
}

fn start(secs: i64, url: &str, set_cookie: &[&str], location: &str) -> Record {
    let mut r = rec("1", secs, Kind::LoginStart, "GET", url);
    let mut h: Vec<(&str, &str)> = vec![("Location", location)];
    for c in set_cookie {
        h.push(("Set-Cookie", c));
    }
    respond(&mut r, 302, &h, "");
    r
}

fn cb(secs: i64, method: &str, url: &str, cookie: Option<&str>) -> Record {
    let mut r = rec("3", secs, Kind::Callback, method, url);
    if let Some(c) = cookie {
        r.request.headers.push("Cookie", c);
    }
    respond(&mut r, 400, &[], "state mismatch");
    r
}

fn authz(secs: i64, url: &str) -> Record {
    let mut r = rec("2", secs, Kind::AuthorizeRequest, "GET", url);
    respond(
        &mut r,
        302,
        &[("Location", "http://127.0.0.1:3000/callback?code=c&state=s1")],
        "",
    );
    r
}

fn held(records: &[Record], at_record: usize) -> Vec<(String, &'static str)> {
    let tl = timeline(records);
    tl.step(at_record)
        .unwrap()
        .held_back
        .iter()
        .map(|w| (w.cookie.name.clone(), w.why.code()))
        .collect()
}

const AUTH: &str = "https://login.provider.net/authorize?client_id=a&state=s1";

#[test]
fn a_host_only_cookie_of_localhost_is_not_sent_to_127_0_0_1() {
    let records = vec![
        start(
            0,
            "http://localhost:3000/login",
            &["oauth_state=s1; Path=/; HttpOnly"],
            AUTH,
        ),
        authz(1, AUTH),
        cb(
            2,
            "GET",
            "http://127.0.0.1:3000/callback?code=c&state=s1",
            None,
        ),
    ];
    assert_eq!(held(&records, 2), vec![("oauth_state".to_string(), "host")]);
}

#[test]
fn the_same_host_gets_it_back_and_nothing_is_held() {
    let records = vec![
        start(
            0,
            "http://localhost:3000/login",
            &["oauth_state=s1; Path=/"],
            AUTH,
        ),
        authz(1, AUTH),
        cb(
            2,
            "GET",
            "http://localhost:3000/callback?code=c&state=s1",
            Some("oauth_state=s1"),
        ),
    ];
    let tl = timeline(&records);
    assert!(held(&records, 2).is_empty());
    assert!(!tl.cookies_missing);
    assert_eq!(
        tl.step(2).unwrap().sent,
        vec![("oauth_state".into(), "s1".into())]
    );
    assert!(tl.step(2).unwrap().cross_site, "came from the provider");
}

#[test]
fn strict_is_held_back_on_the_navigation_from_the_provider_and_lax_is_not() {
    let records = vec![
        start(
            0,
            "https://app.example.com/login",
            &[
                "st=s1; Path=/; Secure; SameSite=Strict",
                "lx=s1; Path=/; Secure; SameSite=Lax",
            ],
            AUTH,
        ),
        authz(1, AUTH),
        cb(
            2,
            "GET",
            "https://app.example.com/callback?code=c&state=s1",
            None,
        ),
    ];
    assert_eq!(
        held(&records, 2),
        vec![("st".to_string(), "samesite_strict")]
    );
}

#[test]
fn form_post_drops_lax_keeps_none_and_lax_by_default_only_for_two_minutes() {
    let set = [
        "lx=s1; Path=/; Secure; SameSite=Lax",
        "no=s1; Path=/; Secure; SameSite=None",
        "df=s1; Path=/; Secure",
    ];
    let url = "https://app.example.com/callback";
    let soon = vec![
        start(0, "https://app.example.com/login", &set, AUTH),
        authz(1, AUTH),
        cb(30, "POST", url, None),
    ];
    assert_eq!(
        held(&soon, 2),
        vec![("lx".to_string(), "samesite_lax_form_post")]
    );
    let late = vec![
        start(0, "https://app.example.com/login", &set, AUTH),
        authz(1, AUTH),
        cb(200, "POST", url, None),
    ];
    assert_eq!(
        held(&late, 2),
        vec![
            ("lx".to_string(), "samesite_lax_form_post"),
            ("df".to_string(), "lax_by_default_post")
        ]
    );
}

#[test]
fn sec_fetch_headers_decide_frame_and_site() {
    let mut c = cb(
        2,
        "GET",
        "https://app.example.com/callback?code=c&state=s1",
        None,
    );
    c.request.headers.push("Sec-Fetch-Dest", "iframe");
    c.request.headers.push("Sec-Fetch-Site", "cross-site");
    let records = vec![
        start(
            0,
            "https://app.example.com/login",
            &[
                "lx=s1; Path=/; Secure; SameSite=Lax",
                "no=s1; Path=/; Secure; SameSite=None",
            ],
            AUTH,
        ),
        authz(1, AUTH),
        c,
    ];
    assert_eq!(
        held(&records, 2),
        vec![
            ("lx".to_string(), "samesite_lax_frame"),
            ("no".to_string(), "third_party")
        ]
    );
}

#[test]
fn secure_cookies_are_refused_over_http_except_on_localhost() {
    let records = vec![
        start(
            0,
            "http://app.test:3000/login",
            &["st=s1; Path=/; Secure"],
            AUTH,
        ),
        authz(1, AUTH),
        cb(2, "GET", "http://app.test:3000/callback?state=s1", None),
    ];
    let tl = timeline(&records);
    assert_eq!(
        tl.step(0).unwrap().set[0].refused,
        Some(Refused::InsecureOrigin)
    );
    assert_eq!(
        tl.step(2).unwrap().never_stored[0].why,
        Refused::InsecureOrigin
    );
    let local = vec![
        start(
            0,
            "http://localhost:3000/login",
            &["st=s1; Path=/; Secure"],
            AUTH,
        ),
        authz(1, AUTH),
        cb(
            2,
            "GET",
            "http://localhost:3000/callback?state=s1",
            Some("st=s1"),
        ),
    ];
    let tl = timeline(&local);
    assert_eq!(
        tl.step(0).unwrap().set[0].refused,
        None,
        "localhost is a secure context"
    );
    assert!(tl.step(2).unwrap().held_back.is_empty());
}

#[test]
fn prefixes_size_and_none_without_secure_are_refused() {
    let big = format!("big={}", "x".repeat(4100));
    let cases: Vec<(&str, Option<Refused>)> = vec![
        (
            "__Host-s=1; Path=/; Secure; Domain=example.com",
            Some(Refused::HostPrefix),
        ),
        ("__Host-s=1; Path=/app; Secure", Some(Refused::HostPrefix)),
        ("__Host-s=1; Path=/; Secure", None),
        ("__Secure-s=1; Path=/", Some(Refused::SecurePrefix)),
        ("n=1; SameSite=None", Some(Refused::NoneWithoutSecure)),
        ("d=1; Domain=other.com", Some(Refused::ForeignDomain)),
        ("d=1; Domain=example.com", None),
        (big.as_str(), Some(Refused::TooLarge)),
    ];
    for (line, want) in cases {
        let c = SetCookie::parse(line).unwrap();
        assert_eq!(refusal(&c, "https://app.example.com/login"), want, "{line}");
    }
}

#[test]
fn default_path_keeps_the_cookie_under_the_login_path() {
    let records = vec![
        start(
            0,
            "https://app.example.com/auth/login",
            &["st=s1; Secure"],
            AUTH,
        ),
        authz(1, AUTH),
        cb(2, "GET", "https://app.example.com/callback?state=s1", None),
    ];
    assert_eq!(held(&records, 2), vec![("st".to_string(), "path")]);
    assert_eq!(default_path("/auth/login"), "/auth");
    assert_eq!(default_path("/login"), "/");
    assert!(path_match("/auth/cb", "/auth"));
    assert!(!path_match("/authx", "/auth"));
}

#[test]
fn max_age_expiry_and_deletion_are_named() {
    let mut clear = rec(
        "2",
        1,
        Kind::LoginStart,
        "GET",
        "https://app.example.com/logout",
    );
    respond(
        &mut clear,
        302,
        &[("Location", AUTH), ("Set-Cookie", "st=; Path=/; Max-Age=0")],
        "",
    );
    let records = vec![
        start(
            0,
            "https://app.example.com/login",
            &["st=s1; Path=/; Secure"],
            AUTH,
        ),
        clear,
        cb(2, "GET", "https://app.example.com/callback?state=s1", None),
    ];
    assert_eq!(held(&records, 2), vec![("st".to_string(), "cleared")]);
    let expired = vec![
        start(
            0,
            "https://app.example.com/login",
            &["st=s1; Path=/; Secure; Max-Age=60"],
            AUTH,
        ),
        authz(1, AUTH),
        cb(
            600,
            "GET",
            "https://app.example.com/callback?state=s1",
            None,
        ),
    ];
    assert_eq!(held(&expired, 2), vec![("st".to_string(), "expired")]);
}

#[test]
fn a_later_set_cookie_replaces_the_earlier_one() {
    let mut second = start(
        1,
        "https://app.example.com/login",
        &["st=s2; Path=/; Secure"],
        AUTH,
    );
    second.id = "0000000000000009".into();
    let records = vec![
        start(
            0,
            "https://app.example.com/login",
            &["st=s1; Path=/; Secure"],
            AUTH,
        ),
        second,
    ];
    let tl = timeline(&records);
    assert_eq!(tl.step(1).unwrap().set[0].replaced, Some(0));
}

#[test]
fn no_cookie_header_anywhere_means_cookies_missing() {
    let records = vec![
        start(0, "https://app.example.com/login", &[], AUTH),
        authz(1, AUTH),
        cb(2, "GET", "https://app.example.com/callback?state=s1", None),
    ];
    assert!(timeline(&records).cookies_missing);
}

#[test]
fn state_is_recognised_by_value_inside_json_base64_and_jwt_or_by_name() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let state = "st-8f2c1a9e";
    let wanted = [("state", state), ("nonce", "n-0123456789")];
    assert_eq!(
        recognise("x", state, &wanted),
        Some(Recognised::Value { role: "state" })
    );
    let json = format!("%7B%22state%22%3A%22{state}%22%7D");
    assert_eq!(
        recognise("x", &json, &wanted),
        Some(Recognised::Inside {
            role: "state",
            encoding: "json"
        })
    );
    let b = URL_SAFE_NO_PAD.encode(format!("{{\"nonce\":\"n-0123456789\",\"s\":\"{state}\"}}"));
    assert!(matches!(
        recognise("x", &b, &wanted),
        Some(Recognised::Inside {
            encoding: "base64",
            ..
        })
    ));
    let jwt = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode("{\"alg\":\"HS256\"}"),
        URL_SAFE_NO_PAD.encode(format!("{{\"state\":\"{state}\"}}"))
    );
    assert_eq!(
        recognise("x", &jwt, &wanted),
        Some(Recognised::Inside {
            role: "state",
            encoding: "jwt"
        })
    );
    assert_eq!(
        recognise("next-auth.state", "opaque", &wanted),
        Some(Recognised::Name)
    );
    assert_eq!(recognise("sid", "opaque-blob-value", &wanted), None);
}

#[test]
fn chunked_cookie_names() {
    assert_eq!(
        chunk_base("next-auth.session-token.0"),
        Some("next-auth.session-token")
    );
    assert_eq!(chunk_base("_oauth2_proxy_1"), Some("_oauth2_proxy"));
    assert_eq!(
        chunk_base(".AspNetCore.CookiesC2"),
        Some(".AspNetCore.Cookies")
    );
    assert_eq!(chunk_base("sid"), None);
    assert_eq!(chunk_base("app-session-2"), Some("app-session"));
    assert_eq!(
        chunk_of(".AspNetCore.CookiesC12"),
        Some((".AspNetCore.Cookies", 12, ChunkStyle::AspNet))
    );
    assert_eq!(
        chunk_of("sb-abc-auth-token.1"),
        Some(("sb-abc-auth-token", 1, ChunkStyle::Dot))
    );
}

#[test]
fn chunk_sets_join_their_chunks_in_order_and_name_the_gaps() {
    let sets = chunk_sets([("a.1", "BB"), ("sid", "x"), ("a.0", "AA"), ("a.3", "DD")]);
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert_eq!(sets[0].base, "a");
    assert_eq!(sets[0].value(), "AABBDD");
    assert_eq!(sets[0].missing, vec!["a.2".to_string()]);
    assert!(!sets[0].complete());
    // ASP.NET: the header cookie announces three chunks, C2 did not come.
    let sets = chunk_sets([
        (".AspNetCore.Cookies", "chunks-3"),
        (".AspNetCore.CookiesC1", "x"),
        (".AspNetCore.CookiesC3", "z"),
    ]);
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert_eq!(sets[0].announced, Some(3));
    assert_eq!(sets[0].missing, vec![".AspNetCore.CookiesC2".to_string()]);
    assert!(sets[0].holds(".AspNetCore.Cookies"));
    // The second chunk alone: the first is missing.
    let sets = chunk_sets([("_oauth2_proxy_1", "tail")]);
    assert_eq!(sets[0].missing, vec!["_oauth2_proxy_0".to_string()]);
    // Not chunks: one plain cookie, a name that merely ends in -1, a lone first chunk.
    assert!(chunk_sets([("_gat_UA-1234-1", "1"), ("sid", "x"), ("n.0", "v")]).is_empty());
    // Complete: both chunks.
    let sets = chunk_sets([
        ("next-auth.session-token.0", "AA"),
        ("next-auth.session-token.1", "BB"),
    ]);
    assert!(sets[0].complete() && sets[0].size() == 4);
}

#[test]
fn a_state_split_over_two_chunks_is_found_in_the_chunk_set() {
    let state = "s1-4f8a2c9e7b1d";
    let blob = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        serde_json::json!({"state": state, "verifier": "v".repeat(40), "return_to": "/"})
            .to_string(),
    );
    let (head, tail) = blob.split_at(blob.len() / 2);
    let wanted = [("state", state)];
    assert_eq!(
        recognise("appsess.0", head, &wanted),
        None,
        "half holds nothing readable"
    );
    let records = vec![
        start(
            0,
            "http://localhost:3000/login",
            &[
                &format!("appsess.0={head}; Path=/; HttpOnly"),
                &format!("appsess.1={tail}; Path=/; HttpOnly"),
            ],
            AUTH,
        ),
        authz(1, AUTH),
        cb(
            2,
            "GET",
            "http://localhost:3000/callback?code=c&state=s1",
            Some(&format!("appsess.0={head}; appsess.1={tail}")),
        ),
    ];
    let tl = timeline(&records);
    let set = &tl.step(0).unwrap().set_chunked;
    assert_eq!(set.len(), 1, "{set:?}");
    assert_eq!(set[0].value(), blob);
    assert_eq!(
        recognise_set(&set[0], &wanted),
        Some(Recognised::Inside {
            role: "state",
            encoding: "base64"
        })
    );
    let at_cb = &tl.step(2).unwrap().chunked;
    assert_eq!(at_cb.len(), 1);
    assert!(at_cb[0].complete, "{at_cb:?}");
    assert_eq!(at_cb[0].sent, vec!["appsess.0", "appsess.1"]);
}

#[test]
fn each_chunk_is_judged_against_4096_bytes_not_the_whole() {
    let a = "a".repeat(3000);
    let b = "b".repeat(3000);
    let records = vec![
        start(
            0,
            "http://localhost:3000/login",
            &[
                &format!("big.0={a}; Path=/"),
                &format!("big.1={b}; Path=/"),
                &format!("whole={a}{b}; Path=/"),
            ],
            AUTH,
        ),
        authz(1, AUTH),
        cb(
            2,
            "GET",
            "http://localhost:3000/callback?code=c&state=s1",
            Some(&format!("big.0={a}; big.1={b}")),
        ),
    ];
    let tl = timeline(&records);
    let set = &tl.step(0).unwrap().set;
    let refused: Vec<(&str, Option<&str>)> = set
        .iter()
        .map(|x| (x.cookie.name.as_str(), x.refused.map(Refused::code)))
        .collect();
    assert_eq!(
        refused,
        vec![
            ("big.0", None),
            ("big.1", None),
            ("whole", Some("too_large"))
        ]
    );
    let at_cb = &tl.step(2).unwrap().chunked;
    assert!(at_cb[0].complete && at_cb[0].size == 6000, "{at_cb:?}");
}

#[test]
fn a_missing_chunk_makes_the_chunked_cookie_incomplete_and_says_why() {
    let records = vec![
        start(
            0,
            "http://localhost:3000/auth/login",
            &[
                "sess.0=AAAA; Path=/",
                // No Path: the default-path /auth, outside /callback.
                "sess.1=BBBB",
                &format!("sess.2={}; Path=/", "c".repeat(5000)),
            ],
            AUTH,
        ),
        authz(1, AUTH),
        cb(
            2,
            "GET",
            "http://localhost:3000/callback?code=c&state=s1",
            Some("sess.0=AAAA"),
        ),
    ];
    let tl = timeline(&records);
    let at_cb = &tl.step(2).unwrap().chunked;
    assert_eq!(at_cb.len(), 1, "{at_cb:?}");
    let c = &at_cb[0];
    assert_eq!(c.base, "sess");
    assert!(!c.complete);
    assert_eq!(c.sent, vec!["sess.0"]);
    assert_eq!(
        c.missing,
        vec![
            ("sess.1".to_string(), "path".to_string()),
            ("sess.2".to_string(), "too_large".to_string())
        ]
    );
}

#[test]
fn back_channel_requests_are_not_browser_steps() {
    let mut t = Record::bare(
        "0000000000000004",
        at(3),
        Kind::TokenRequest,
        "POST",
        "https://idp.example.com/token",
    );
    t.request.headers.push("User-Agent", "python-requests/2.31");
    assert!(!is_browser_step(&t));
    let records = vec![
        start(0, "https://app.example.com/login", &["st=s1"], AUTH),
        t,
    ];
    assert_eq!(timeline(&records).steps.len(), 1);
}

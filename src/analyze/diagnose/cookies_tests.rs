//! The cookie diagnoses through `analyze`, as every view runs them.

use crate::analyze::testkit::{at, respond};
use crate::analyze::{analyze, AnalyzeOptions};
use crate::record::{Kind, Record};

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36";

fn rec(n: u32, secs: i64, kind: Kind, method: &str, url: &str) -> Record {
    let mut r = Record::bare(&format!("{n:0>16}"), at(secs), kind, method, url);
    r.request.headers.push("User-Agent", UA);
    r
}

fn authorize_url(state: &str, redirect: &str) -> String {
    let mut u = url::Url::parse("https://login.provider.net/authorize").unwrap();
    u.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "app")
        .append_pair("redirect_uri", redirect)
        .append_pair("state", state);
    u.to_string()
}

/// A login: start at `start_url` (sending `cookie`, setting `set`), the
/// provider's redirect, the callback at `redirect` sending `cb_cookie`,
/// answered `status`.
#[allow(clippy::too_many_arguments)]
fn login(
    n: u32,
    secs: i64,
    start_url: &str,
    cookie: Option<&str>,
    set: &[&str],
    state: &str,
    redirect: &str,
) -> Vec<Record> {
    let auth = authorize_url(state, redirect);
    let mut s = rec(n, secs, Kind::LoginStart, "GET", start_url);
    if let Some(c) = cookie {
        s.request.headers.push("Cookie", c);
    }
    let mut h = vec![("Location", auth.as_str())];
    for c in set {
        h.push(("Set-Cookie", c));
    }
    respond(&mut s, 302, &h, "");
    let mut a = rec(n + 1, secs + 1, Kind::AuthorizeRequest, "GET", &auth);
    let back = format!("{redirect}?code=code-{state}&state={state}");
    respond(&mut a, 302, &[("Location", back.as_str())], "");
    vec![s, a]
}

fn callback(
    n: u32,
    secs: i64,
    redirect: &str,
    state: &str,
    cookie: Option<&str>,
    status: u16,
) -> Record {
    let mut c = rec(
        n,
        secs,
        Kind::Callback,
        "GET",
        &format!("{redirect}?code=code-{state}&state={state}"),
    );
    if let Some(v) = cookie {
        c.request.headers.push("Cookie", v);
    }
    respond(
        &mut c,
        status,
        &[],
        if status >= 400 {
            "state mismatch"
        } else {
            "signed in"
        },
    );
    c
}

fn codes(records: &[Record]) -> Vec<(String, String)> {
    records
        .iter()
        .flat_map(|r| {
            r.annotations
                .iter()
                .map(move |a| (r.id.clone(), a.code.clone()))
        })
        .filter(|(_, c)| c.contains("cookie") || c.contains("concurrent"))
        .collect()
}

#[test]
fn localhost_start_and_127_callback_is_named_with_its_records_once() {
    let cb_url = "http://127.0.0.1:3000/callback";
    let mut records = login(
        1,
        0,
        "http://localhost:3000/login",
        None,
        &["oauth_state=st-one-111; Path=/; HttpOnly"],
        "st-one-111",
        cb_url,
    );
    records.push(callback(3, 2, cb_url, "st-one-111", None, 400));
    let out = analyze(&records, &AnalyzeOptions::default());
    let found = codes(&out);
    assert_eq!(
        found,
        vec![(
            out[2].id.clone(),
            "diagnosis.cookie_host_mismatch".to_string()
        )],
        "one finding, on the callback (the older check stepped aside): {out:#?}"
    );
    let a = &out[2]
        .annotations
        .iter()
        .find(|a| a.code == "diagnosis.cookie_host_mismatch")
        .unwrap();
    assert_eq!(a.evidence["kinds"], serde_json::json!(["host"]));
    assert_eq!(a.evidence["login_start"], out[0].id);
    assert_eq!(a.evidence["callback"], out[2].id);
    assert_eq!(a.evidence["recognised"]["by"], "value");
    assert_eq!(a.severity, crate::record::Severity::Error);
    assert!(
        a.detail
            .contains("localhost, 127.0.0.1 and [::1] are different hosts"),
        "{}",
        a.detail
    );
}

#[test]
fn a_correct_login_gives_no_cookie_finding() {
    let cb_url = "http://localhost:3000/callback";
    let mut records = login(
        1,
        0,
        "http://localhost:3000/login",
        None,
        &["oauth_state=st-one-111; Path=/; SameSite=Lax"],
        "st-one-111",
        cb_url,
    );
    records.push(callback(
        3,
        2,
        cb_url,
        "st-one-111",
        Some("oauth_state=st-one-111"),
        200,
    ));
    let out = analyze(&records, &AnalyzeOptions::default());
    assert!(codes(&out).is_empty(), "{:#?}", codes(&out));
}

#[test]
fn an_opaque_cookie_is_recognised_by_timing_only_when_the_callback_failed() {
    let cb_url = "https://app.example.com/callback";
    let set = ["blob=Zm9vYmFyYmF6cXV4eHl6; Path=/; Secure; SameSite=Strict"];
    let mut failing = login(
        1,
        0,
        "https://app.example.com/login",
        None,
        &set,
        "st-one-111",
        cb_url,
    );
    failing.push(callback(3, 2, cb_url, "st-one-111", None, 400));
    let out = analyze(&failing, &AnalyzeOptions::default());
    let a = out[2]
        .annotations
        .iter()
        .find(|a| a.code == "diagnosis.state_cookie_lost")
        .expect("found");
    assert_eq!(a.evidence["recognised"]["by"], "timing");
    assert_eq!(a.evidence["kinds"], serde_json::json!(["samesite_strict"]));
    let mut fine = login(
        1,
        0,
        "https://app.example.com/login",
        None,
        &set,
        "st-one-111",
        cb_url,
    );
    fine.push(callback(3, 2, cb_url, "st-one-111", None, 200));
    let out = analyze(&fine, &AnalyzeOptions::default());
    assert!(
        codes(&out).is_empty(),
        "an app that did not need it: {:#?}",
        codes(&out)
    );
}

#[test]
fn a_second_login_start_overwriting_the_state_cookie_is_concurrent_logins() {
    let cb_url = "https://app.example.com/callback";
    let set1 = ["oauth_state=st-one-111; Path=/; Secure"];
    let set2 = ["oauth_state=st-two-222; Path=/; Secure"];
    let mut records = login(
        1,
        0,
        "https://app.example.com/login",
        None,
        &set1,
        "st-one-111",
        cb_url,
    );
    records.extend(login(
        3,
        2,
        "https://app.example.com/login",
        None,
        &set2,
        "st-two-222",
        cb_url,
    ));
    records.push(callback(
        5,
        4,
        cb_url,
        "st-one-111",
        Some("oauth_state=st-two-222"),
        400,
    ));
    let out = analyze(&records, &AnalyzeOptions::default());
    let a = out[4]
        .annotations
        .iter()
        .find(|a| a.code == "diagnosis.concurrent_logins")
        .expect("found");
    assert_eq!(
        a.evidence["kinds"],
        serde_json::json!(["cookie_overwritten"])
    );
    assert_eq!(
        a.evidence["login_starts"],
        serde_json::json!([out[0].id, out[2].id])
    );
    assert_eq!(
        out[4]
            .annotations
            .iter()
            .filter(|a| a.code == "diagnosis.concurrent_logins")
            .count(),
        1,
        "the older check stepped aside"
    );
}

#[test]
fn two_tabs_on_a_server_side_session_is_concurrent_logins() {
    let cb_url = "https://app.example.com/callback";
    let sid = Some("sid=7f3a9c0e1b2d");
    let mut records = login(
        1,
        0,
        "https://app.example.com/login",
        sid,
        &[],
        "st-one-111",
        cb_url,
    );
    records.extend(login(
        3,
        2,
        "https://app.example.com/login",
        sid,
        &[],
        "st-two-222",
        cb_url,
    ));
    records.push(callback(5, 4, cb_url, "st-one-111", sid, 400));
    records.push(callback(6, 5, cb_url, "st-two-222", sid, 200));
    let out = analyze(&records, &AnalyzeOptions::default());
    let a = out[4]
        .annotations
        .iter()
        .find(|a| a.code == "diagnosis.concurrent_logins")
        .expect("found");
    assert_eq!(a.evidence["kinds"], serde_json::json!(["server_session"]));
    // The first login start set the session cookie (a first visit) rather than sending it.
    let mut first = login(
        1,
        0,
        "https://app.example.com/login",
        None,
        &["sid=7f3a9c0e1b2d; Path=/; HttpOnly; Secure"],
        "st-one-111",
        cb_url,
    );
    first.extend(login(
        3,
        2,
        "https://app.example.com/login",
        sid,
        &[],
        "st-two-222",
        cb_url,
    ));
    first.push(callback(5, 4, cb_url, "st-one-111", sid, 400));
    let again = analyze(&first, &AnalyzeOptions::default());
    let b = again[4]
        .annotations
        .iter()
        .find(|a| a.code == "diagnosis.concurrent_logins")
        .expect("found on a first visit");
    assert_eq!(b.evidence["kinds"], serde_json::json!(["server_session"]));
    assert_eq!(a.evidence["session_cookie"], "sid");
    assert!(
        !a.evidence.to_string().contains("7f3a9c0e1b2d"),
        "the session is fingerprinted"
    );
    assert!(
        out[5]
            .annotations
            .iter()
            .all(|a| a.code != "diagnosis.concurrent_logins"),
        "the second login worked"
    );
}

#[test]
fn a_sanitised_capture_says_it_cannot_tell_and_never_that_no_cookie_was_sent() {
    let cb_url = "http://127.0.0.1:3000/callback";
    let mut records = login(
        1,
        0,
        "http://localhost:3000/login",
        None,
        &[],
        "st-one-111",
        cb_url,
    );
    records.push(callback(3, 2, cb_url, "st-one-111", None, 400));
    let out = analyze(&records, &AnalyzeOptions::default());
    assert_eq!(
        codes(&out),
        vec![(out[2].id.clone(), "cookies.cannot_tell".to_string())]
    );
}

#[test]
fn silent_renew_in_an_iframe_without_the_providers_cookie_is_third_party_blocking() {
    let idp = "https://login.provider.net";
    let cb_url = "https://app.example.com/callback";
    let run = |frame_cookie: Option<&str>| {
        // The interactive login: the provider sets its session cookie.
        let mut a = rec(
            1,
            0,
            Kind::AuthorizeRequest,
            "GET",
            &authorize_url("st-one-111", cb_url),
        );
        a.request.headers.push("Sec-Fetch-Dest", "document");
        respond(
            &mut a,
            302,
            &[
                ("Location", &format!("{cb_url}?code=c1&state=st-one-111")),
                (
                    "Set-Cookie",
                    "idp_session=abcdef123456; Path=/; Secure; HttpOnly; SameSite=None",
                ),
            ],
            "",
        );
        let mut c = callback(2, 1, cb_url, "st-one-111", None, 200);
        c.request.headers.push("Sec-Fetch-Site", "cross-site");
        // The silent renew, in an iframe of the app.
        let silent = format!("{}&prompt=none", authorize_url("st-two-222", cb_url));
        let mut s = rec(3, 600, Kind::AuthorizeRequest, "GET", &silent);
        s.request.headers.push("Sec-Fetch-Dest", "iframe");
        s.request.headers.push("Sec-Fetch-Site", "cross-site");
        if let Some(v) = frame_cookie {
            s.request.headers.push("Cookie", v);
        }
        respond(
            &mut s,
            302,
            &[(
                "Location",
                &format!("{cb_url}?error=login_required&state=st-two-222"),
            )],
            "",
        );
        analyze(&[a, c, s], &AnalyzeOptions::default())
    };
    let out = run(None);
    let f = out[2]
        .annotations
        .iter()
        .find(|a| a.code == "diagnosis.third_party_cookies_blocked")
        .unwrap_or_else(|| panic!("{:#?}", out[2].annotations));
    assert_eq!(f.evidence["kinds"], serde_json::json!(["third_party"]));
    assert_eq!(f.evidence["cookie_from"], out[0].id);
    assert_eq!(f.severity, crate::record::Severity::Warning);
    assert!(
        f.detail.contains(idp.trim_start_matches("https://")),
        "{}",
        f.detail
    );
    let out = run(Some("idp_session=abcdef123456"));
    assert!(
        out[2]
            .annotations
            .iter()
            .all(|a| a.code != "diagnosis.third_party_cookies_blocked"),
        "the cookie went along: the session really ended"
    );
}

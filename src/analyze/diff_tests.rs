//! `diff` on hand-built logins: alignment by step, ranking, volatile values.

use super::*;
use crate::analyze::testkit::{authorize, callback, token};
use crate::analyze::{analyze, AnalyzeOptions};

const CB: &str = "https://app.example.com/callback";

fn login(state: &str, code: &str, token_redirect: &str, ok: bool, offset: i64) -> Vec<Record> {
    let auth = format!(
        "https://idp.example.com/authorize?response_type=code&client_id=app&scope=openid%20email&redirect_uri={}&state={state}",
        urlencode(CB)
    );
    let mut a = authorize(&format!("{}1", offset), offset, &auth);
    crate::analyze::testkit::respond(
        &mut a,
        302,
        &[("Location", &format!("{CB}?code={code}&state={state}"))],
        "",
    );
    let c = callback(
        &format!("{}2", offset),
        offset + 1,
        &format!("{CB}?code={code}&state={state}"),
    );
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&client_id=app&client_secret=s",
        urlencode(token_redirect)
    );
    let resp = if ok {
        r#"{"access_token":"at-1","token_type":"Bearer"}"#
    } else {
        r#"{"error":"invalid_grant","error_description":"redirect_uri mismatch"}"#
    };
    let mut t = token(&format!("{}3", offset), offset + 2, &body, resp);
    if !ok {
        t.response.as_mut().unwrap().status = 400;
    }
    analyze(&[a, c, t], &AnalyzeOptions::default())
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn the_trailing_slash_comes_first() {
    let bad = login("st-aaaaaaaaaa", "code-111111", &format!("{CB}/"), false, 0);
    let good = login("st-bbbbbbbbbb", "code-222222", CB, true, 100);
    let r = diff(&bad, &good);
    let first = &r.differences[0];
    assert_eq!(first.what, "redirect_uri", "{:#?}", r.differences);
    assert_eq!(first.step, "token (authorization_code)");
    assert_eq!(first.kinds, vec!["trailing_slash"]);
    assert_eq!(first.caret.as_deref().map(|c| c.trim_start()), Some("^"));
    assert!(r.a.failed && !r.b.failed, "{:?} {:?}", r.a, r.b);
    assert!(r.a.outcome.contains("invalid_grant"));
    // The state and code differ in value only: not listed at all.
    assert!(
        r.differences
            .iter()
            .all(|d| d.what != "state" && d.what != "code"),
        "{:#?}",
        r.differences
    );
}

#[test]
fn two_correct_logins_differ_in_nothing_that_matters() {
    let one = login("st-aaaaaaaaaa", "code-111111", CB, true, 0);
    let two = login("st-bbbbbbbbbb", "code-222222", CB, true, 100);
    let r = diff(&one, &two);
    assert_eq!(r.mattering().count(), 0, "{:#?}", r.differences);
}

#[test]
fn volatile_values_are_compared_by_shape() {
    let one = login("st-aaaaaaaaaa", "code-111111", CB, true, 0);
    let two = login(
        "eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln",
        "code-222222",
        CB,
        true,
        100,
    );
    let r = diff(&one, &two);
    let d = r
        .differences
        .iter()
        .find(|d| d.what == "state")
        .expect("state shape");
    assert_eq!(d.kinds, vec!["shape"]);
    assert_eq!(d.b.as_deref(), Some("JWT"));
    assert!(!d.matters());
}

#[test]
fn steps_align_by_role_not_position() {
    let one = login("st-aaaaaaaaaa", "code-111111", CB, true, 0);
    let mut two = login("st-bbbbbbbbbb", "code-222222", CB, true, 100);
    two.remove(1); // B's callback never passed the proxy
    let steps = align(&one, &two);
    let names: Vec<&str> = steps.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        ["authorize", "callback", "token (authorization_code)"]
    );
    assert_eq!(
        steps[2],
        ("token (authorization_code)".into(), Some(2), Some(1))
    );
    let r = diff(&one, &two);
    assert!(r
        .differences
        .iter()
        .any(|d| d.step == "callback" && d.kinds == ["absent"]));
}

#[test]
fn scope_is_a_set_and_a_missing_scope_matters() {
    let mut one = login("st-aaaaaaaaaa", "code-111111", CB, true, 0);
    let two = login("st-bbbbbbbbbb", "code-222222", CB, true, 100);
    one[0].request.url = one[0]
        .request
        .url
        .replace("openid%20email", "email%20openid");
    assert_eq!(diff(&one, &two).mattering().count(), 0);
    one[0].request.url = one[0].request.url.replace("email%20openid", "openid");
    let r = diff(&one, &two);
    let d = r
        .differences
        .iter()
        .find(|d| d.what == "scope")
        .expect("scope");
    assert!(d.note.contains("only in B: email"), "{}", d.note);
}

#[test]
fn a_side_without_cookie_headers_is_not_compared_on_cookies() {
    let with = |cookie: bool| {
        let mut l = login("st-aaaaaaaaaa", "code-111111", CB, true, 0);
        for r in l.iter_mut() {
            r.request
                .headers
                .push("User-Agent", "Mozilla/5.0 Chrome/130.0");
        }
        if cookie {
            l[1].request
                .headers
                .push("Cookie", "oauth_state=st-aaaaaaaaaa");
        }
        l
    };
    let r = diff(&with(true), &with(false));
    assert!(
        r.differences.iter().all(|d| !d.what.starts_with("cookie")),
        "{:#?}",
        r.differences
    );
    assert_eq!(r.cannot_tell.len(), 1, "{:?}", r.cannot_tell);
    assert!(r.cannot_tell[0].contains("side B"));
    let both = diff(&with(true), &with(true));
    assert!(both.cannot_tell.is_empty());
}

//! How long `oauthscope diff` takes on two 1 000-exchange captures (figures,
//! not assertions).
//!
//! ```text
//! cargo run --release --example diff_scale
//! ```
//! Two shapes, each written as HAR files and read back the way `diff` reads
//! them (import, analysis with the cookie timeline, choice of the login,
//! comparison):
//! - "many logins": 200 browser logins of 5 exchanges each (login start
//!   setting a state cookie, authorize, callback carrying it, token, one
//!   refresh); side B's token requests add a trailing slash;
//! - "one long login": one login followed by 996 refreshes (rotating refresh
//!   tokens), so the compared login itself has 1 000 exchanges.

use oauthscope::analyze::{analyze, diff, AnalyzeOptions};
use oauthscope::cli::diff::pick_login;
use oauthscope::har::export::{to_har_string, HarOptions};
use oauthscope::record::{Body, HeaderList, Kind, Record, Response};
use std::time::Instant;
use time::OffsetDateTime;

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36";

fn rec(n: &mut u64, t: OffsetDateTime, kind: Kind, method: &str, url: String) -> Record {
    *n += 1;
    let mut r = Record::bare(&format!("{:016x}", 1_000_000 + *n), t, kind, method, &url);
    r.request.headers.push("User-Agent", UA);
    r
}

fn respond(r: &mut Record, status: u16, headers: &[(&str, String)], body: &str) {
    let mut h = HeaderList::default();
    for (k, v) in headers {
        h.push(*k, v.clone());
    }
    r.response = Some(Response {
        status,
        headers: h,
        body: Body::from_bytes(body.as_bytes()),
    });
}

fn token(n: &mut u64, t: OffsetDateTime, form: String, resp: String, status: u16) -> Record {
    let mut r = rec(
        n,
        t,
        Kind::TokenRequest,
        "POST",
        "https://idp.example.net/token".into(),
    );
    r.request.headers = HeaderList::default();
    r.request
        .headers
        .push("Content-Type", "application/x-www-form-urlencoded");
    r.request.headers.push("User-Agent", "python-requests/2.31");
    r.request.body = Body::from_bytes(form.as_bytes());
    r.grant_type = form
        .split('&')
        .find_map(|p| p.strip_prefix("grant_type="))
        .map(str::to_string);
    let mut h = HeaderList::default();
    h.push("Content-Type", "application/json");
    r.response = Some(Response {
        status,
        headers: h,
        body: Body::from_bytes(resp.as_bytes()),
    });
    r
}

/// One login at `t`: login start, authorize, callback, token, and `refreshes` refreshes.
fn login(n: &mut u64, t: OffsetDateTime, i: usize, slash: bool, refreshes: usize) -> Vec<Record> {
    let cb = "https://app.example.com/callback";
    let state = format!("st-{i:08}-{:04x}", i * 7919 % 65536);
    let auth = format!(
        "https://idp.example.net/authorize?response_type=code&client_id=app&scope=openid%20offline_access&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&state={state}"
    );
    let ms = time::Duration::milliseconds;
    let mut s = rec(
        n,
        t,
        Kind::LoginStart,
        "GET",
        "https://app.example.com/login".into(),
    );
    respond(
        &mut s,
        302,
        &[
            ("Location", auth.clone()),
            (
                "Set-Cookie",
                format!("oauth_state={state}; Path=/; Secure; HttpOnly; SameSite=Lax"),
            ),
        ],
        "",
    );
    let code = format!("code-{i:08}-abcdef");
    let mut a = rec(n, t + ms(50), Kind::AuthorizeRequest, "GET", auth);
    respond(
        &mut a,
        302,
        &[("Location", format!("{cb}?code={code}&state={state}"))],
        "",
    );
    let mut c = rec(
        n,
        t + ms(100),
        Kind::Callback,
        "GET",
        format!("{cb}?code={code}&state={state}"),
    );
    c.request
        .headers
        .push("Cookie", format!("oauth_state={state}"));
    respond(&mut c, 302, &[("Location", "/home".into())], "");
    let redirect = if slash {
        format!("{cb}/")
    } else {
        cb.to_string()
    };
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&client_id=app&client_secret=s3cret",
        url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
    );
    let mut out = vec![s, a, c];
    if slash {
        out.push(token(
            n,
            t + ms(150),
            form,
            r#"{"error":"invalid_grant"}"#.into(),
            400,
        ));
        return out;
    }
    out.push(token(
        n,
        t + ms(150),
        form,
        format!(
            r#"{{"access_token":"at-{i}-0","token_type":"Bearer","refresh_token":"rt-{i}-0"}}"#
        ),
        200,
    ));
    for k in 0..refreshes {
        out.push(token(
            n,
            t + ms(200 + k as i64 * 10),
            format!("grant_type=refresh_token&refresh_token=rt-{i}-{k}&client_id=app&client_secret=s3cret"),
            format!(
                r#"{{"access_token":"at-{i}-{}","token_type":"Bearer","refresh_token":"rt-{i}-{}"}}"#,
                k + 1,
                k + 1
            ),
            200,
        ));
    }
    out
}

fn capture(long: bool, slash: bool) -> Vec<Record> {
    let t0 = time::macros::datetime!(2026-12-01 10:00 UTC);
    let mut n = 0;
    let mut out = Vec::new();
    if long {
        out.extend(login(&mut n, t0, 0, false, 996));
    } else {
        for i in 0..200 {
            let t = t0 + time::Duration::seconds(i as i64 * 30);
            // The last login is the one that differs on side B.
            out.extend(login(&mut n, t, i, slash && i == 199, 1));
        }
    }
    out
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, long) in [("many logins", false), ("one long login", true)] {
        let a = capture(long, false);
        let b = capture(long, !long);
        let (pa, pb) = (dir.path().join("a.har"), dir.path().join("b.har"));
        std::fs::write(&pa, to_har_string(&a, &HarOptions::default())).unwrap();
        std::fs::write(&pb, to_har_string(&b, &HarOptions::default())).unwrap();
        let mut best = f64::MAX;
        let mut parts = (0.0, 0.0, 0.0);
        let mut result = None;
        for _ in 0..3 {
            let t = Instant::now();
            let (ia, _) = oauthscope::cli::analyze::import_file_checked(&pa).unwrap();
            let (ib, _) = oauthscope::cli::analyze::import_file_checked(&pb).unwrap();
            let t_import = t.elapsed().as_secs_f64();
            let ra = analyze(&ia.records, &AnalyzeOptions::default());
            let rb = analyze(&ib.records, &AnalyzeOptions::default());
            let t_analyse = t.elapsed().as_secs_f64() - t_import;
            let (la, _) = pick_login(&ra);
            let (lb, _) = pick_login(&rb);
            let t1 = Instant::now();
            let r = diff::diff(&la, &lb);
            let t_diff = t1.elapsed().as_secs_f64();
            let total = t.elapsed().as_secs_f64();
            if total < best {
                best = total;
                parts = (t_import, t_analyse, t_diff);
                result = Some((ia.records.len(), ib.records.len(), la.len(), lb.len(), r));
            }
        }
        let (na, nb, la, lb, r) = result.unwrap();
        println!(
            "{name:>15}: {na} + {nb} exchanges; compared logins of {la} and {lb}: total {:.1} ms (import {:.1}, analysis {:.1}, diff {:.2}); {} differences, {} that matter; first: {}",
            best * 1e3,
            parts.0 * 1e3,
            parts.1 * 1e3,
            parts.2 * 1e3,
            r.differences.len(),
            r.mattering().count(),
            r.differences
                .first()
                .map(|d| format!("{}: {} {:?}", d.step, d.what, d.kinds))
                .unwrap_or_else(|| "none".into())
        );
    }
}

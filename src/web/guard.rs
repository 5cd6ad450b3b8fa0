//! The checks every request passes before a handler sees it.
//!
//! 1. `Host` must be one of the UI's loopback names (`127.0.0.1:PORT`,
//!    `localhost:PORT`, `[::1]:PORT`): a page on another site that rebinds
//!    its DNS name to 127.0.0.1 is refused (403).
//! 2. The per-run token: `?token=` on any page sets an HttpOnly
//!    SameSite=Strict cookie and redirects to the same address without the
//!    token; afterwards the cookie is enough. A one-time `?code=`
//!    ([`super::LoginCodes`], what `oauthscope ui` opens) does the same once,
//!    within two minutes, so the token never has to be on a browser's
//!    command line. Without either: 401 and a one-line hint.
//! 3. Requests other than GET/HEAD must carry an `Origin` of the UI itself.

use super::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The 401 answer's text.
pub const TOKEN_HINT: &str = "401: this oauthscope UI needs its token: open the web_url that `oauthscope run` printed (it is in HOME/proxy.json), or run `oauthscope ui`\n";

fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_string(),
    )
        .into_response()
}

/// Compare without an early exit on the first differing byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn host_of(req: &Request) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .or_else(|| {
            req.uri()
                .authority()
                .map(|a| a.as_str().to_ascii_lowercase())
        })
}

fn cookie_token<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The query parameter `name` (`None` when absent) and the query string without it.
fn strip_param(query: &str, name: &str) -> (Option<String>, String) {
    let mut token = None;
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k == name {
            token = Some(v.into_owned());
        } else {
            rest.append_pair(&k, &v);
        }
    }
    (token, rest.finish())
}

/// The 401 answer to a login code that was used, expired or never minted.
pub const CODE_HINT: &str = "401: this one-time login link was already used or has expired: run `oauthscope ui` again (or open the web_url in HOME/proxy.json)\n";

/// 303 to the same address without the credential, setting the token's cookie.
fn log_in(st: &AppState, req: &Request, rest: &str) -> Response {
    // Keep the credential out of the address bar, the history and Referer headers.
    let mut location = req.uri().path().to_string();
    if !rest.is_empty() {
        location.push('?');
        location.push_str(rest);
    }
    let cookie = format!(
        "{}={}; HttpOnly; SameSite=Strict; Path=/",
        st.cookie, st.token
    );
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        h.insert(header::SET_COOKIE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The middleware (see the module docs).
pub async fn check(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some(host) = host_of(&req) else {
        return plain(StatusCode::FORBIDDEN, "403: no Host header\n");
    };
    if !st.hosts.contains(&host) {
        return plain(
            StatusCode::FORBIDDEN,
            &format!(
                "403: Host {host:?} is not this UI (open it as http://{}/)\n",
                st.hosts[0]
            ),
        );
    }
    let query = req.uri().query().unwrap_or("");
    let (query_token, rest) = strip_param(query, "token");
    if let Some(t) = query_token {
        if !same(&t, &st.token) {
            return plain(StatusCode::UNAUTHORIZED, TOKEN_HINT);
        }
        return log_in(&st, &req, &rest);
    }
    let (query_code, rest) = strip_param(query, "code");
    if let Some(c) = query_code {
        // A browser that already holds the cookie (a reload of the opened
        // link) is let through; anyone else needs an unused, fresh code.
        let has_cookie = cookie_token(&req, &st.cookie).is_some_and(|t| same(t, &st.token));
        if !st.codes.redeem(&c) && !has_cookie {
            return plain(StatusCode::UNAUTHORIZED, CODE_HINT);
        }
        return log_in(&st, &req, &rest);
    }
    if !cookie_token(&req, &st.cookie).is_some_and(|t| same(t, &st.token)) {
        return plain(StatusCode::UNAUTHORIZED, TOKEN_HINT);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let ok = origin.as_deref().is_some_and(|o| {
            o.strip_prefix("http://")
                .is_some_and(|h| st.hosts.iter().any(|x| x == h))
        });
        if !ok {
            return plain(
                StatusCode::FORBIDDEN,
                "403: this request must come from the UI's own pages (Origin check)\n",
            );
        }
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_taken_out_of_the_query() {
        let (t, rest) = strip_param("token=abc&flow=x%20y", "token");
        assert_eq!(t.as_deref(), Some("abc"));
        assert_eq!(rest, "flow=x+y");
        assert_eq!(strip_param("a=1", "token").0, None);
    }

    #[test]
    fn login_codes_work_once() {
        let codes = super::super::LoginCodes::default();
        let c = codes.mint();
        assert_eq!(c.len(), 32);
        assert!(!codes.redeem("0123"));
        assert!(codes.redeem(&c));
        assert!(!codes.redeem(&c), "a second use is refused");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abcd", "abcd"));
        assert!(!same("abcd", "abce"));
        assert!(!same("abc", "abcd"));
    }
}

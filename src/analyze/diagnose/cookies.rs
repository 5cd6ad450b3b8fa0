//! Cookie diagnoses over the whole capture's cookie timeline
//! ([`crate::analyze::cookies`]): why the callback did not carry what the
//! login start stored.
//!
//! For every callback, the login start that sent the browser away with the
//! same `state` is found, and the cookies its response set are recognised
//! as the login's (by value, inside the value, by name, or by timing —
//! [`cookies::recognise`]). Then:
//! - `diagnosis.cookie_host_mismatch`: the cookie did not come back because
//!   it belongs to another host (`evidence.kinds`: `host`, `domain`,
//!   `foreign_domain`); RFC 6265bis §5.8.3.
//! - `diagnosis.state_cookie_lost`: the cookie did not come back for any
//!   other reason the jar shows (`path`, `secure_over_http`,
//!   `samesite_strict`, `samesite_lax_form_post`, `samesite_lax_frame`,
//!   `lax_by_default_post`, `third_party`, `expired`, `cleared`, or a refusal
//!   when it was set: `too_large`, `secure_from_insecure_origin`,
//!   `host_prefix`, `secure_prefix`, `samesite_none_without_secure`;
//!   `not_sent` when the capture shows no reason); RFC 6265bis §5.7, §5.8.3.
//! - `diagnosis.concurrent_logins`: the cookie came back holding what a later
//!   login start set (`evidence.kinds: ["cookie_overwritten"]`), or — a
//!   server-side session — a later login start carried the same session
//!   cookie and this first login's callback failed (`["server_session"]`).
//! - `cookies.cannot_tell`: a failing callback in a capture whose browser
//!   steps carry no `Cookie` or `Set-Cookie` at all (a sanitised HAR): the
//!   rules above cannot tell, and never say "no cookie was sent".
//!
//! Runs over the whole capture (like the `state` rule), because two logins
//! on one session are two flows.

use crate::analyze::cookies::{self, Recognised, Timeline};
use crate::analyze::login::Login;
use crate::analyze::params;
use crate::analyze::Finding;
use crate::catalog::annotations as code;
use crate::record::{Kind, Record, Severity};
use serde_json::{json, Value};

/// Marks evidence written by this module, so the older per-flow cookie
/// checks can step aside ([`superseded`]).
const SOURCE: &str = "cookie_jar";

/// Every cookie diagnosis over a capture (records in time order).
pub fn diagnose(records: &[Record]) -> Vec<Finding> {
    let tl = cookies::timeline(records);
    let mut out = Vec::new();
    for step in &tl.steps {
        let cb = &records[step.record];
        if cb.kind != Kind::Callback {
            continue;
        }
        out.extend(callback(records, &tl, step.record));
    }
    if !tl.cookies_missing {
        out.extend(third_party(records, &tl));
    }
    out
}

/// `diagnosis.third_party_cookies_blocked`: a `prompt=none` authorize
/// request in a cross-site iframe answered `login_required` (or
/// `interaction_required`) without the provider's cookies: the jar held
/// them and the browser left them off (third-party, or SameSite=Lax/unset),
/// or an earlier top-level request to the provider carried cookies this one
/// did not.
fn third_party(records: &[Record], tl: &Timeline) -> Vec<Finding> {
    let mut out = Vec::new();
    for step in &tl.steps {
        let r = &records[step.record];
        if r.kind != Kind::AuthorizeRequest
            || step.context != cookies::Context::Frame
            || !step.cross_site
            || params::get(&params::request_params(r), "prompt") != Some("none")
        {
            continue;
        }
        let loc = params::location_params(r);
        let Some(error) = params::get(&loc, "error").filter(|e| {
            matches!(
                *e,
                "login_required" | "interaction_required" | "consent_required"
            )
        }) else {
            continue;
        };
        let provider = host(&r.request.url);
        let held: Vec<&cookies::Withheld> = step
            .held_back
            .iter()
            .filter(|w| {
                matches!(
                    w.why,
                    cookies::HeldBack::ThirdParty | cookies::HeldBack::SameSiteLaxFrame
                )
            })
            .collect();
        let earlier = tl.steps.iter().find(|s| {
            s.record < step.record
                && s.context == cookies::Context::TopLevel
                && !s.sent.is_empty()
                && host(&records[s.record].request.url) == provider
        });
        let (kinds, why, by) = if let Some(w) = held.first() {
            (
                w.why.code(),
                format!(
                    "the jar held the provider's cookie `{}` (set by record {}, SameSite={}) and the browser left it off this cross-site iframe ({})",
                    w.cookie.name,
                    records[w.cookie.set_by].id,
                    w.cookie.same_site.as_str(),
                    if w.why == cookies::HeldBack::ThirdParty {
                        "third-party cookies blocked"
                    } else {
                        "only SameSite=None cookies go into a cross-site iframe"
                    }
                ),
                Some(records[w.cookie.set_by].id.clone()),
            )
        } else if let (Some(e), true) = (earlier, step.sent.is_empty()) {
            (
                "cookies_missing_in_frame",
                format!(
                    "record {} (a top-level request to {provider}) carried the provider's cookies ({}); this iframe request carried none: third-party cookies are blocked in this browser",
                    records[e.record].id,
                    e.sent.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                ),
                Some(records[e.record].id.clone()),
            )
        } else {
            continue;
        };
        out.push(Finding::new(
            step.record,
            code::DIAGNOSIS_THIRD_PARTY_COOKIES_BLOCKED.annotation(
                format!(
                    "Record {} asked {provider} to sign in silently (prompt=none) from a cross-site iframe and got                      {error}: {why}. The user may well be signed in. Renew with a refresh token or a top-level redirect, or serve the provider from the app's own site (a custom domain).",
                    r.id
                ),
                json!({
                    "source": SOURCE,
                    "kinds": [kinds],
                    "authorize_request": r.id,
                    "provider": provider,
                    "error": error,
                    "cookie_from": by,
                    "held_back": held.iter().map(|w| json!({"cookie": w.cookie.name, "why": w.why.code()})).collect::<Vec<_>>(),
                    "fields": ["request.headers.cookie", "request.headers.sec-fetch-dest", "response.headers.location.error"],
                }),
            ),
        ));
    }
    out
}

/// How the app answered a callback, when it refused it: a 4xx/5xx, a
/// redirect to an error page, or a page that says the state was wrong.
pub fn app_rejected(cb: &Record) -> Option<String> {
    let resp = cb.response.as_ref()?;
    if resp.status >= 400 {
        return Some(format!("answered {}", resp.status));
    }
    if (300..400).contains(&resp.status) {
        if let Some(loc) = resp.headers.get("location") {
            let l = loc.to_ascii_lowercase();
            if l.contains("error") || l.contains("fail") {
                return Some(format!("redirected to {loc}"));
            }
        }
    }
    let body = resp.body.as_text().unwrap_or("").to_ascii_lowercase();
    [
        "state mismatch",
        "state_mismatch",
        "invalid state",
        "invalid_state",
        "missing state",
        "state not found",
        "state cookie",
        "cookie not found",
        "cookie_not_found",
        "authorization_request_not_found",
        "correlation failed",
        "csrf",
    ]
    .iter()
    .find(|n| body.contains(*n))
    .map(|n| format!("said \"{n}\""))
}

/// The login start a callback answers: the one whose redirect carried the
/// same `state`, else the latest earlier one from the same browser.
fn login_start_of(records: &[Record], cb: usize) -> Option<usize> {
    let state = params::get(&params::request_params(&records[cb]), "state").map(str::to_string);
    let ua = records[cb].request.headers.get("user-agent");
    let starts = || {
        records[..cb]
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, r)| r.kind == Kind::LoginStart)
    };
    if let Some(s) = &state {
        if let Some((i, _)) = starts()
            .find(|(_, r)| params::get(&params::location_params(r), "state") == Some(s.as_str()))
        {
            return Some(i);
        }
        return None;
    }
    starts()
        .find(|(_, r)| r.request.headers.get("user-agent") == ua)
        .map(|(i, _)| i)
}

/// The diagnosis for a login cookie that did not come back, by reason:
/// `cookie_host_mismatch` when it belongs to another host, else
/// `state_cookie_lost`.
pub fn lost_cookie_code(kind: &str) -> &'static crate::catalog::annotations::Code {
    match kind {
        "host" | "domain" | "foreign_domain" => &code::DIAGNOSIS_COOKIE_HOST_MISMATCH,
        _ => &code::DIAGNOSIS_STATE_COOKIE_LOST,
    }
}

/// True for the codes of a login cookie that did not come back.
pub fn is_lost_cookie_code(c: &str) -> bool {
    c == code::DIAGNOSIS_COOKIE_HOST_MISMATCH.code || c == code::DIAGNOSIS_STATE_COOKIE_LOST.code
}

/// What to do about a cookie that did not come back, by reason.
fn fix_for(kind: &str) -> &'static str {
    match kind {
        "host" | "domain" | "foreign_domain" => {
            "start the login on the redirect_uri's host (localhost, 127.0.0.1 and [::1] are three hosts), or give the cookie a Domain that covers both"
        }
        "path" => "set Path=/ on the cookie (without Path it only goes back under the login start's directory)",
        "secure_over_http" | "secure_from_insecure_origin" | "secure_prefix" => {
            "serve the app over https (or on localhost), or drop Secure (and a __Secure-/__Host- prefix) for plain-http development"
        }
        "samesite_strict" => "use SameSite=Lax for the login cookie: Lax goes along on the top-level GET back from the provider",
        "samesite_lax_form_post" | "lax_by_default_post" => {
            "give the cookie SameSite=None; Secure (over https), or use response_mode=query so the browser comes back with a GET"
        }
        "samesite_lax_frame" | "third_party" => {
            "renew with a top-level redirect or a refresh token instead of an iframe; SameSite=None; Secure cookies are still blocked where third-party cookies are"
        }
        "too_large" => "keep the login state server-side, or small enough to stay under 4096 bytes (or chunk it)",
        "host_prefix" => "a __Host- cookie needs Secure, Path=/ and no Domain, set over https or localhost",
        "samesite_none_without_secure" => "add Secure to a SameSite=None cookie (and serve it over https or localhost)",
        "expired" => "give the login cookie a Max-Age longer than a login can take (10 minutes or more)",
        "cleared" => "do not delete the login cookie before the callback has used it",
        _ => "check what else ran between the login start and the callback (another page, a logout, the browser's cookie settings)",
    }
}

/// The ids of the authorize requests the login starts `starts` sent the
/// browser to (same `state`), where captured.
fn authorize_ids(records: &[Record], starts: &[usize]) -> Vec<String> {
    starts
        .iter()
        .filter_map(|&s| {
            let state = params::get(&params::location_params(&records[s]), "state")?.to_string();
            records[s..]
                .iter()
                .find(|r| {
                    r.kind == Kind::AuthorizeRequest
                        && params::get(&params::request_params(r), "state") == Some(state.as_str())
                })
                .map(|r| r.id.clone())
        })
        .collect()
}

fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

fn callback(records: &[Record], tl: &Timeline, cb_idx: usize) -> Vec<Finding> {
    let cb = &records[cb_idx];
    let Some(step) = tl.step(cb_idx) else {
        return Vec::new();
    };
    let failure = app_rejected(cb);
    let Some(start_idx) = login_start_of(records, cb_idx) else {
        return Vec::new();
    };
    let start = &records[start_idx];
    if tl.cookies_missing {
        if failure.is_none() {
            return Vec::new();
        }
        return vec![Finding::new(
            cb_idx,
            code::COOKIES_CANNOT_TELL.annotation(
                format!(
                    "Record {} (the callback) {}, and no browser step of this capture carries a Cookie or \
                     Set-Cookie header: they were removed (Chrome's HAR export drops them unless \"with \
                     sensitive data\" is chosen), so whether the login start's cookie came back cannot be \
                     told. Capture through the proxy, or export the HAR with sensitive data.",
                    cb.id,
                    failure.as_deref().unwrap_or("failed")
                ),
                json!({
                    "source": SOURCE,
                    "login_start": start.id,
                    "callback": cb.id,
                    "app_answer": failure,
                    "fields": ["request.headers.cookie", "response.headers.set-cookie"],
                }),
            ),
        )];
    }
    let loc = params::location_params(start);
    let wanted_owned: Vec<(&'static str, String)> = ["state", "nonce", "code_challenge"]
        .iter()
        .filter_map(|k| params::get(&loc, k).map(|v| (*k, v.to_string())))
        .collect();
    let wanted: Vec<(&'static str, &str)> =
        wanted_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Some(start_step) = tl.step(start_idx) else {
        return Vec::new();
    };
    let mut candidates: Vec<(&cookies::Setting, Recognised)> = start_step
        .set
        .iter()
        .filter(|s| !s.deletes && !s.cookie.value.is_empty())
        .map(|s| {
            let by = cookies::recognise(&s.cookie.name, &s.cookie.value, &wanted)
                .unwrap_or(Recognised::Timing);
            (s, by)
        })
        .collect();
    candidates.sort_by_key(|(_, by)| std::cmp::Reverse(by.rank()));

    for (setting, by) in &candidates {
        if *by == Recognised::Timing && failure.is_none() {
            continue;
        }
        let name = &setting.cookie.name;
        let sent = step.sent.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        match sent {
            Some(v) if *v == setting.cookie.value => continue,
            Some(v) => {
                // Another value: did a later login start set it?
                let later = tl.steps.iter().find(|s| {
                    s.record > start_idx
                        && s.record < cb_idx
                        && records[s.record].kind == Kind::LoginStart
                        && s.set
                            .iter()
                            .any(|x| x.cookie.name == *name && x.cookie.value == *v)
                });
                if let Some(later) = later {
                    return vec![overwritten(
                        records,
                        start_idx,
                        later.record,
                        cb_idx,
                        name,
                        by,
                        &failure,
                    )];
                }
                continue;
            }
            None => {}
        }
        let (kind, why, attrs) = if let Some(r) = setting.refused {
            (
                r.code(),
                format!("the browser refused to store it: {}", r.words()),
                json!({}),
            )
        } else if let Some(w) = step.held_back.iter().find(|w| w.cookie.name == *name) {
            let c = &w.cookie;
            let why = match w.why {
                cookies::HeldBack::Host => format!(
                    "it is host-only on {} (no Domain attribute) and the callback went to {}: a browser sends \
                     a cookie only to the host that set it, and localhost, 127.0.0.1 and [::1] are different hosts",
                    c.domain,
                    host(&cb.request.url)
                ),
                cookies::HeldBack::Domain => format!("its Domain={} does not cover {}", c.domain, host(&cb.request.url)),
                cookies::HeldBack::Path => format!(
                    "its Path is {} (the default-path of the login start's URL when no Path is set) and the callback's path is outside it",
                    c.path
                ),
                cookies::HeldBack::SecureOverHttp => format!(
                    "it is Secure and the callback is plain http on {}, which is not localhost",
                    host(&cb.request.url)
                ),
                cookies::HeldBack::SameSiteStrict => "it is SameSite=Strict, and the callback's navigation came from another site (the provider's page, or a link elsewhere): browsers leave Strict cookies off it (Firefox and Safari also off any redirect chain that crossed sites)".into(),
                cookies::HeldBack::SameSiteLaxPost => "it is SameSite=Lax, and response_mode=form_post brings the browser back with a cross-site POST, on which Lax cookies are not sent".into(),
                cookies::HeldBack::SameSiteLaxFrame => "it is SameSite=Lax (or unset: Lax by default), and the callback ran in a cross-site iframe (silent renew), where only SameSite=None cookies go".into(),
                cookies::HeldBack::LaxByDefaultPost => "it has no SameSite (Lax by default) and the cross-site form_post came more than 2 minutes after it was set, past Chrome's Lax+POST allowance".into(),
                cookies::HeldBack::ThirdParty => "it is a third-party cookie in a cross-site iframe, which this browser blocks".into(),
                cookies::HeldBack::Expired => format!(
                    "it had expired (Max-Age/Expires) by the time the callback came, {} after it was set",
                    crate::analyze::jose::human_duration((cb.time - c.set_at).whole_seconds())
                ),
                cookies::HeldBack::Cleared => format!(
                    "record {} deleted it (Max-Age=0 or a past Expires) before the callback",
                    c.cleared_by.map(|i| records[i].id.as_str()).unwrap_or("?")
                ),
            };
            (
                w.why.code(),
                why,
                json!({"domain": c.domain, "host_only": c.host_only, "path": c.path, "secure": c.secure, "same_site": c.same_site.as_str()}),
            )
        } else {
            if failure.is_none() {
                continue;
            }
            (
                "not_sent",
                "the callback did not carry it and the capture does not show why (a browser setting, an extension, or a cookie cleared by a page the proxy did not record)".to_string(),
                json!({}),
            )
        };
        // A callback that brings the provider's error: the login failed
        // before the app needed its state; the cookie is worth fixing, but
        // it is not this failure.
        let provider_error = params::get(&params::request_params(cb), "error").is_some();
        let severity = if (failure.is_some() || cb.response.is_none()) && !provider_error {
            Severity::Error
        } else {
            Severity::Warning
        };
        let chunk = cookies::chunk_base(name).map(|b| {
            format!(" It is one chunk of the chunked cookie `{b}`, which is incomplete without it.")
        });
        return vec![Finding::new(
            cb_idx,
            lost_cookie_code(kind)
                .annotation(
                    format!(
                        "Record {} started the login and set the cookie `{name}` ({}); record {} (the callback) \
                         arrived without it: {why}.{} {}Fix: {}.",
                        start.id,
                        by.words(),
                        cb.id,
                        chunk.unwrap_or_default(),
                        failure
                            .as_deref()
                            .map(|f| format!("The app then {f}. "))
                            .unwrap_or_default(),
                        fix_for(kind),
                    ),
                    json!({
                        "source": SOURCE,
                        "kinds": [kind],
                        "login_start": start.id,
                        "callback": cb.id,
                        "cookie": name,
                        "recognised": by.to_json(),
                        "set_on": host(&start.request.url),
                        "callback_host": host(&cb.request.url),
                        "callback_method": cb.request.method,
                        "cross_site": step.cross_site,
                        "context": step.context,
                        "attributes": attrs,
                        "set_cookie": {"same_site": setting.cookie.same_site.as_str(), "secure": setting.cookie.secure, "domain": setting.cookie.domain, "path": setting.cookie.path, "bytes": setting.cookie.size},
                        "app_answer": failure,
                        "callback_without_cookie": true,
                        "fields": ["response.headers.set-cookie", "request.headers.cookie"],
                    }),
                )
                .about(format!("`{name}` ({})", kind.replace('_', " ")))
                .with_severity(severity),
        )];
    }

    // A server-side session: no cookie of the login's own, but the same
    // session cookie on a later login start, and this callback failed.
    let Some(failure) = failure else {
        return Vec::new();
    };
    // The session: a cookie the login start carried, or set, that the
    // callback carried with the same value.
    let mut start_cookies = cookies::sent_cookies(start);
    start_cookies.extend(
        start_step
            .set
            .iter()
            .filter(|x| !x.deletes && x.refused.is_none())
            .map(|x| (x.cookie.name.clone(), x.cookie.value.clone())),
    );
    let session: Vec<&(String, String)> = step
        .sent
        .iter()
        .filter(|c| start_cookies.contains(c))
        .collect();
    let own_state = params::get(&loc, "state");
    for s in tl
        .steps
        .iter()
        .filter(|s| s.record > start_idx && s.record < cb_idx)
    {
        let later = &records[s.record];
        if later.kind != Kind::LoginStart
            || params::get(&params::location_params(later), "state") == own_state
        {
            continue;
        }
        if let Some((name, value)) = session
            .iter()
            .find(|c| s.sent.iter().any(|x| x == **c))
            .map(|c| (c.0.clone(), c.1.clone()))
        {
            return vec![Finding::new(
                cb_idx,
                code::DIAGNOSIS_CONCURRENT_LOGINS.annotation(
                    format!(
                        "Record {} started a login on the session cookie `{name}`; record {} started another one \
                         on the same session before this callback (record {}) came back, and the app {failure}. \
                         The app keeps one pending login per server-side session, so the second login replaced \
                         the first one's state (or nonce, or verifier). Keep pending logins keyed by state in \
                         the session, or refuse a second login while one is pending.",
                        start.id, later.id, cb.id
                    ),
                    json!({
                        "source": SOURCE,
                        "kinds": ["server_session"],
                        "login_starts": [start.id, later.id],
                        "authorize_requests": authorize_ids(records, &[start_idx, s.record]),
                        "callback": cb.id,
                        "session_cookie": name,
                        "session": crate::analyze::diagnose::fingerprint(&value),
                        "callback_state": own_state,
                        "app_answer": failure,
                        "fields": ["request.headers.cookie", "response.headers.location.state"],
                    }),
                ),
            )];
        }
    }
    Vec::new()
}

fn overwritten(
    records: &[Record],
    start: usize,
    later: usize,
    cb: usize,
    name: &str,
    by: &Recognised,
    failure: &Option<String>,
) -> Finding {
    Finding::new(
        cb,
        code::DIAGNOSIS_CONCURRENT_LOGINS.annotation(
            format!(
                "Record {} started a login and set `{name}` ({}); record {} started another login in the same \
                 browser and set `{name}` again, replacing it. This callback (record {}) answers the first login \
                 but carries the second login's cookie{}. Keep one pending login per state (a cookie per state, \
                 or a map in the session), or refuse a second login while one is pending.",
                records[start].id,
                by.words(),
                records[later].id,
                records[cb].id,
                failure
                    .as_deref()
                    .map(|f| format!(", and the app {f}"))
                    .unwrap_or_default()
            ),
            json!({
                "source": SOURCE,
                "kinds": ["cookie_overwritten"],
                "login_starts": [records[start].id, records[later].id],
                "authorize_requests": authorize_ids(records, &[start, later]),
                "callback": records[cb].id,
                "cookie": name,
                "recognised": by.to_json(),
                "app_answer": failure,
                "fields": ["response.headers.set-cookie", "request.headers.cookie", "request.query.state"],
            }),
        ),
    )
}

/// True when `f` is one of the older per-flow cookie findings
/// (`evidence.rs`) that this module's finding on the same record replaces,
/// or one the jar model shows to be wrong (a cookie without `SameSite`
/// on a form_post within Chrome's Lax+POST window).
pub fn superseded(login: &Login, f: &Finding) -> bool {
    let code = f.annotation.code.as_str();
    if !is_lost_cookie_code(code) && code != code::DIAGNOSIS_CONCURRENT_LOGINS.code {
        return false;
    }
    if f.annotation.evidence.get("source").and_then(Value::as_str) == Some(SOURCE) {
        return false;
    }
    let Some(rec) = login.records.get(f.record) else {
        return false;
    };
    let ours = |r: &Record| {
        r.annotations.iter().any(|a| {
            (is_lost_cookie_code(&a.code)
                || a.code == code::DIAGNOSIS_CONCURRENT_LOGINS.code
                || a.code == code::COOKIES_CANNOT_TELL.code)
                && a.evidence.get("source").and_then(Value::as_str) == Some(SOURCE)
        })
    };
    if ours(rec) {
        return true;
    }
    // The older check calls a form_post with a cookie that has no SameSite
    // a failure; Chrome sends such a cookie for 2 minutes (Lax+POST) and
    // Firefox and Safari always: only the jar's verdict counts then.
    let kinds = f.annotation.evidence.get("kinds").and_then(Value::as_array);
    kinds.is_some_and(|k| k.iter().any(|k| k == "samesite_lax_form_post"))
        && f.annotation
            .evidence
            .get("same_site")
            .is_some_and(Value::is_null)
}

#[cfg(test)]
#[path = "cookies_tests.rs"]
mod tests;

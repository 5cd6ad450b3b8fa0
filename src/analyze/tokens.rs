//! Rule family `tokens`: lint successful (2xx) token responses against
//! RFC 6749 §5.1 and what strict clients expect.
//!
//! Codes: `token_response.not_json`, `token_response.access_token_missing`,
//! `token_response.token_type_missing`, `token_response.token_type_unusual`,
//! `token_response.expires_in_string`, `token_response.expires_in_invalid`,
//! `token_response.no_refresh_token`, `token_response.cache_headers`.
//! Error responses (and 2xx responses carrying an `error`) are left to
//! [`super::errors`].

use super::login::Login;
use super::params;
use super::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Kind, Record, Severity};
use serde_json::{json, Map, Value};

/// What the authorize leg of a flow asked about offline access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineAsk {
    /// Id of the record that asked (authorize request or PAR).
    pub record: String,
    /// The parameters that asked for a refresh token (`scope=offline_access`,
    /// `access_type=offline`, `token_access_type=offline`), empty when none did.
    /// For a recognised provider only its own parameter counts.
    pub asked_by: Vec<String>,
    /// Other providers' offline parameters the request carried instead
    /// (`access_type=offline` sent to Dropbox), for a recognised provider.
    pub foreign: Vec<String>,
    /// The recognised provider's display name.
    pub provider: Option<&'static str>,
}

/// Which parameters of `p` ask for a refresh token: `offline_access` (OIDC,
/// Entra, Okta, Auth0, Atlassian) or `refresh_token` (Salesforce) in `scope`,
/// `access_type=offline` (Google), `token_access_type=offline` (Dropbox).
pub fn offline_params(p: &params::Params) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in p {
        match k.as_str() {
            "scope" => {
                for s in v.split([' ', ',', '+']) {
                    if s == "offline_access" || s == "refresh_token" {
                        out.push(format!("scope={s}"));
                    }
                }
            }
            "access_type" | "token_access_type" if v.eq_ignore_ascii_case("offline") => {
                out.push(format!("{k}={v}"));
            }
            _ => {}
        }
    }
    out.dedup();
    out
}

/// The authorize leg of record `index`'s flow (PAR body and request object
/// merged in, see [`Login::leg_for`]) and what it asked about offline
/// access; `None` when the flow's authorize request was not captured, or
/// when it is opaque and asked nothing visible.
pub fn offline_ask(login: &Login, index: usize) -> Option<OfflineAsk> {
    let leg = login.leg_for(index)?;
    let profile = crate::providers::of_url(&login.records[index].request.url)
        .or_else(|| crate::providers::of_url(&login.records[leg.index].request.url));
    let (asked_by, foreign) = match profile.map(|p| p.offline) {
        // The provider's own parameter is what counts (profiles in src/providers/).
        Some(own @ crate::providers::Offline::Ask(_)) => {
            crate::providers::offline_asks(own, &leg.params)
        }
        _ => (offline_params(&leg.params), Vec::new()),
    };
    if asked_by.is_empty() && foreign.is_empty() && leg.opaque {
        return None;
    }
    Some(OfflineAsk {
        record: login.records[leg.source_of(login.records, "scope")]
            .id
            .clone(),
        asked_by,
        foreign,
        provider: profile.map(|p| p.name),
    })
}

fn is_success(rec: &Record) -> bool {
    rec.response
        .as_ref()
        .is_some_and(|r| (200..300).contains(&r.status))
}

fn grant_type(rec: &Record) -> Option<String> {
    rec.grant_type.clone().or_else(|| {
        let p = params::body_params(&rec.request.headers, &rec.request.body);
        params::get(&p, "grant_type").map(str::to_string)
    })
}

/// What a body that is not a JSON object looks like.
fn body_shape(text: Option<&str>) -> &'static str {
    let Some(t) = text.map(str::trim) else {
        return "binary";
    };
    if t.is_empty() {
        "empty"
    } else if serde_json::from_str::<Value>(t).is_ok() {
        "json_not_object"
    } else if t.starts_with('<') {
        "html"
    } else {
        let p = params::form_params(t);
        if params::get(&p, "access_token").is_some() || params::get(&p, "error").is_some() {
            "form"
        } else {
            "other"
        }
    }
}

/// Findings of this rule family over records in time order.
pub fn annotate(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        if rec.kind != Kind::TokenRequest || !is_success(rec) {
            continue;
        }
        let Some(resp) = rec.response.as_ref() else {
            continue;
        };
        let content_type = resp.headers.get("content-type");
        let Some(json) = params::response_json(rec) else {
            let shape = body_shape(resp.body.as_text());
            let accept = rec.request.headers.get("accept");
            out.push(Finding::new(
                i,
                code::TOKEN_RESPONSE_NOT_JSON
                    .annotation(
                        "RFC 6749 §5.1: the token response is an application/json object. Clients \
                 that parse JSON fail on anything else. GitHub answers form-encoded \
                 (access_token=...&token_type=bearer) unless the request sends \
                 Accept: application/json; send that header, or parse the form body.",
                        json!({
                            "record": rec.id,
                            "status": resp.status,
                            "content_type": content_type,
                            "body_shape": shape,
                            "request_accept": accept,
                        }),
                    )
                    .about(shape),
            ));
            continue;
        };
        let Value::Object(obj) = &json else { continue };
        if obj.contains_key("error") || obj.get("ok") == Some(&Value::Bool(false)) {
            // An error in a 2xx: errors.rs reports it (error.hidden_in_success).
            continue;
        }
        lint_object(i, rec, obj, login, &mut out);
    }
    out
}

fn lint_object(
    i: usize,
    rec: &Record,
    obj: &Map<String, Value>,
    login: &Login,
    out: &mut Vec<Finding>,
) {
    let resp = rec.response.as_ref().expect("checked by the caller");
    let has_access_token = obj
        .get("access_token")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());

    if !has_access_token {
        out.push(Finding::new(i, code::TOKEN_RESPONSE_ACCESS_TOKEN_MISSING.annotation(
"RFC 6749 §5.1 requires access_token in a successful token response. \
             Clients treat this response as a failure; check the grant and the endpoint.",
json!({"record": rec.id, "field": "access_token", "members": obj.keys().collect::<Vec<_>>()}),
)));
    }

    match obj.get("token_type") {
        None | Some(Value::Null) => out.push(Finding::new(
            i,
            code::TOKEN_RESPONSE_TOKEN_TYPE_MISSING.annotation(
                "RFC 6749 §5.1 requires token_type (usually \"Bearer\"). Strict clients \
             (oauthlib, openid-client, Spring) reject the response; lenient ones assume \
             Bearer. If you control the server, add \"token_type\":\"Bearer\".",
                json!({"record": rec.id, "field": "token_type", "actual": null}),
            ),
        )),
        Some(Value::String(t)) => {
            let lower = t.to_ascii_lowercase();
            let (severity, why) = match lower.as_str() {
                "bearer" | "dpop" | "n_a" => (None, ""),
                "mac" => (
                    Some(Severity::Info),
                    "MAC tokens come from an expired draft; few clients can use them.",
                ),
                "bot" | "user" => (
                    Some(Severity::Info),
                    "Slack's oauth.v2.access returns token_type \"bot\" / \"user\"; generic \
                     OAuth clients expecting Bearer may refuse it, but Slack accepts the \
                     token as a Bearer token.",
                ),
                _ => (
                    Some(Severity::Warning),
                    "Generic clients only know Bearer (RFC 6750) and DPoP (RFC 9449) and \
                     reject or mis-send other types.",
                ),
            };
            if let Some(severity) = severity {
                out.push(Finding::new(
                    i,
                    code::TOKEN_RESPONSE_TOKEN_TYPE_UNUSUAL
                        .annotation(
                            format!(
                        "token_type is case-insensitive (RFC 6749 §5.1), and the usual values \
                         are Bearer, DPoP and N_A (token exchange). {why}"
                    ),
                            json!({"record": rec.id, "field": "token_type", "actual": t,
                           "expected_one_of": ["Bearer", "DPoP", "N_A"]}),
                        )
                        .about(format!("{t:?}"))
                        .with_severity(severity),
                ));
            }
        }
        Some(other) => out.push(Finding::new(
            i,
            code::TOKEN_RESPONSE_TOKEN_TYPE_UNUSUAL.annotation(
                "RFC 6749 §5.1: token_type is a string such as \"Bearer\". Clients reject \
             other JSON types.",
                json!({"record": rec.id, "field": "token_type", "actual": other}),
            ),
        )),
    }

    match obj.get("expires_in") {
        Some(Value::String(s)) => out.push(Finding::new(
            i,
            code::TOKEN_RESPONSE_EXPIRES_IN_STRING
                .annotation(
                    "RFC 6749 §5.1: \"Numerical values are included as JSON numbers\". Strict \
             clients (typed deserialisers in Rust, Go, Java, Swift) fail to parse the \
             whole response; lenient ones may never refresh. Send expires_in as a number.",
                    json!({"record": rec.id, "field": "expires_in", "actual": s,
                   "parses_as_number": s.trim().parse::<u64>().is_ok()}),
                )
                .about(format!("{s:?}")),
        )),
        Some(Value::Number(n)) if n.as_u64().is_none() => out.push(Finding::new(
            i,
            code::TOKEN_RESPONSE_EXPIRES_IN_INVALID
                .annotation(
                    "RFC 6749 §5.1: expires_in is the lifetime in seconds. Negative or \
             fractional values break clients that store it as an unsigned integer.",
                    json!({"record": rec.id, "field": "expires_in", "actual": n}),
                )
                .about(n),
        )),
        Some(v @ (Value::Bool(_) | Value::Array(_) | Value::Object(_))) => out.push(Finding::new(
            i,
            code::TOKEN_RESPONSE_EXPIRES_IN_INVALID.annotation(
                "RFC 6749 §5.1: expires_in is the lifetime in seconds, as a JSON number.",
                json!({"record": rec.id, "field": "expires_in", "actual": v}),
            ),
        )),
        _ => {}
    }

    let refresh = obj
        .get("refresh_token")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if !refresh && grant_type(rec).as_deref() == Some("authorization_code") {
        let ask = offline_ask(login, i);
        let mut asked = ask.as_ref().map(|a| a.asked_by.clone()).unwrap_or_default();
        // Some clients repeat the scope at the token leg.
        let token_params = params::body_params(&rec.request.headers, &rec.request.body);
        for a in offline_params(&token_params) {
            if !asked.contains(&a) {
                asked.push(a);
            }
        }
        let evidence = json!({
            "record": rec.id,
            "field": "refresh_token",
            "grant_type": "authorization_code",
            "authorize_record": ask.as_ref().map(|a| a.record.clone()),
            "asked_for_offline": !asked.is_empty(),
            "asked_by": asked,
        });
        let foreign = ask.as_ref().map(|a| a.foreign.clone()).unwrap_or_default();
        let provider = ask.as_ref().and_then(|a| a.provider);
        if asked.is_empty() && !foreign.is_empty() {
            // Asked the way another provider wants: diagnosis.missing_offline_access
            // names this provider's parameter; here it is context.
            out.push(Finding::new(
                i,
                code::TOKEN_RESPONSE_NO_REFRESH_TOKEN
                    .annotation(
                        format!(
                            "The authorize request asked with {}, which {} does not read, so no \
                             refresh token was issued (see diagnosis.missing_offline_access for \
                             the parameter it wants).",
                            foreign.join(" and "),
                            provider.unwrap_or("this provider"),
                        ),
                        evidence,
                    )
                    .about(format!(
                        "asked with {}, which {} does not read",
                        foreign.join(" and "),
                        provider.unwrap_or("this provider")
                    ))
                    .with_severity(Severity::Info),
            ));
        } else if asked.is_empty() {
            let (title, detail) = match &ask {
                Some(_) => (
                    "the authorize request did not ask for offline access",
                    "Providers issue a refresh token only when asked: scope offline_access \
                     (OIDC, Entra ID, Okta, Auth0, Atlassian), access_type=offline (Google), \
                     token_access_type=offline (Dropbox), scope refresh_token (Salesforce). \
                     Expected if the app never refreshes; otherwise add the parameter.",
                ),
                None => (
                    "authorize request not captured",
                    "The authorize request of this flow was not captured, so whether it \
                     asked for offline access (scope offline_access, access_type=offline, \
                     token_access_type=offline) is unknown. Providers issue a refresh token \
                     only when asked.",
                ),
            };
            out.push(Finding::new(
                i,
                code::TOKEN_RESPONSE_NO_REFRESH_TOKEN
                    .annotation(detail, evidence)
                    .about(title)
                    .with_severity(Severity::Info),
            ));
        } else {
            out.push(Finding::new(
                i,
                code::TOKEN_RESPONSE_NO_REFRESH_TOKEN.annotation(
                    "The authorize request asked for a refresh token, and the provider did not \
                 issue one. Google issues it only on a consent screen (add prompt=consent \
                 when re-authorizing, or revoke the grant); Entra ID, Okta and Auth0 need \
                 offline_access allowed for the app or API (\"Allow Offline Access\", \
                 refresh token grant enabled); Dropbox needs token_access_type=offline on \
                 /oauth2/authorize.",
                    evidence,
                ),
            ));
        }
    }

    if has_access_token {
        let cache = resp
            .headers
            .get_all("cache-control")
            .collect::<Vec<_>>()
            .join(", ");
        let no_store = cache
            .split(',')
            .any(|d| d.trim().eq_ignore_ascii_case("no-store"));
        if !no_store {
            out.push(Finding::new(
                i,
                code::TOKEN_RESPONSE_CACHE_HEADERS.annotation(
                    "RFC 6749 §5.1: the authorization server MUST send Cache-Control: no-store \
                 (and Pragma: no-cache) with tokens, so no cache between keeps them. Harmless \
                 for the login itself; worth fixing on the server.",
                    json!({"record": rec.id, "header": "Cache-Control",
                       "actual": if cache.is_empty() { None } else { Some(cache) },
                       "expected": "no-store"}),
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testkit::{authorize_query as authorize, basic, respond, token_form_auth};
    #[allow(unused_imports)]
    use crate::record::{Annotation, Severity};

    const BODY: &str =
        "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb";
    const JSON_HEADERS: &[(&str, &str)] = &[
        ("Content-Type", "application/json;charset=UTF-8"),
        ("Cache-Control", "no-store"),
        ("Pragma", "no-cache"),
    ];

    fn auth(scope: &str) -> Record {
        authorize(
            "a1",
            0,
            &format!("response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s1&scope={scope}"),
        )
    }

    fn token(body: &str) -> Record {
        let mut t = token_form_auth("t1", 5, Some(&basic("app", "s3cret")), BODY);
        respond(&mut t, 200, JSON_HEADERS, body);
        t
    }

    fn run(records: &[Record]) -> Vec<Annotation> {
        crate::analyze::testkit::findings(annotate, records)
            .into_iter()
            .map(|f| f.annotation)
            .collect()
    }

    fn only(records: &[Record], code: &str) -> Annotation {
        let all = run(records);
        let mut hits = all.iter().filter(|a| a.code == code);
        let a = hits
            .next()
            .unwrap_or_else(|| panic!("no {code} in {all:?}"))
            .clone();
        assert!(hits.next().is_none());
        a
    }

    const GOOD: &str = r#"{"access_token":"eyJ.at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt.1","scope":"openid offline_access"}"#;

    #[test]
    fn clean_response_after_offline_access_has_no_findings() {
        let recs = [auth("openid+offline_access"), token(GOOD)];
        assert_eq!(run(&recs), vec![]);
        // Lower-case bearer and DPoP are fine too.
        let recs = [
            auth("openid+offline_access"),
            token(
                r#"{"access_token":"a","token_type":"bearer","expires_in":60,"refresh_token":"r"}"#,
            ),
        ];
        assert_eq!(run(&recs), vec![]);
        let recs = [
            auth("openid+offline_access"),
            token(
                r#"{"access_token":"a","token_type":"DPoP","expires_in":60,"refresh_token":"r"}"#,
            ),
        ];
        assert_eq!(run(&recs), vec![]);
    }

    #[test]
    fn token_type_missing() {
        let recs = [
            auth("openid+offline_access"),
            token(r#"{"access_token":"a","expires_in":60,"refresh_token":"r"}"#),
        ];
        let a = only(&recs, "token_response.token_type_missing");
        assert_eq!(a.severity, Severity::Warning);
        assert_eq!(a.evidence["record"], "t1");
    }

    #[test]
    fn token_type_unusual() {
        let recs = [
            auth("openid+offline_access"),
            token(
                r#"{"access_token":"a","token_type":"Token","expires_in":60,"refresh_token":"r"}"#,
            ),
        ];
        let a = only(&recs, "token_response.token_type_unusual");
        assert_eq!(a.severity, Severity::Warning);
        assert_eq!(a.evidence["actual"], "Token");
        // Slack's "bot" is a known quirk: info only.
        let recs = [
            auth("openid+offline_access"),
            token(
                r#"{"ok":true,"access_token":"xoxb-1","token_type":"bot","expires_in":43200,"refresh_token":"xoxe-1"}"#,
            ),
        ];
        assert_eq!(
            only(&recs, "token_response.token_type_unusual").severity,
            Severity::Info
        );
    }

    #[test]
    fn expires_in_string_and_invalid() {
        let recs = [
            auth("openid+offline_access"),
            token(
                r#"{"access_token":"a","token_type":"Bearer","expires_in":"3599","refresh_token":"r"}"#,
            ),
        ];
        let a = only(&recs, "token_response.expires_in_string");
        assert_eq!(a.severity, Severity::Warning);
        assert_eq!(a.evidence["actual"], "3599");
        assert_eq!(a.evidence["parses_as_number"], true);
        let recs = [
            auth("openid+offline_access"),
            token(
                r#"{"access_token":"a","token_type":"Bearer","expires_in":-5,"refresh_token":"r"}"#,
            ),
        ];
        assert_eq!(
            only(&recs, "token_response.expires_in_invalid").severity,
            Severity::Warning
        );
    }

    #[test]
    fn no_refresh_token_when_not_asked_is_info() {
        let recs = [
            auth("openid+profile"),
            token(r#"{"access_token":"a","token_type":"Bearer","expires_in":3600}"#),
        ];
        let a = only(&recs, "token_response.no_refresh_token");
        assert_eq!(a.severity, Severity::Info);
        assert_eq!(a.evidence["asked_for_offline"], false);
        assert_eq!(a.evidence["authorize_record"], "a1");
        assert_eq!(run(&recs).len(), 1);
    }

    #[test]
    fn no_refresh_token_when_asked_is_warning() {
        let recs = [
            auth("openid+offline_access"),
            token(r#"{"access_token":"a","token_type":"Bearer","expires_in":3600}"#),
        ];
        let a = only(&recs, "token_response.no_refresh_token");
        assert_eq!(a.severity, Severity::Warning);
        assert_eq!(a.evidence["asked_by"][0], "scope=offline_access");
        // Google style.
        let g = authorize(
            "a1",
            0,
            "response_type=code&client_id=app&scope=email&access_type=offline&state=s1",
        );
        let recs = [
            g,
            token(r#"{"access_token":"a","token_type":"Bearer","expires_in":3599}"#),
        ];
        let a = only(&recs, "token_response.no_refresh_token");
        assert_eq!(a.severity, Severity::Warning);
        assert_eq!(a.evidence["asked_by"][0], "access_type=offline");
    }

    /// A recognised provider's own offline parameter is what counts: Dropbox
    /// reads token_access_type=offline, not Google's access_type=offline.
    #[test]
    fn no_refresh_token_reads_the_providers_own_parameter() {
        let at = |host: &str, authorize_path: &str, token_path: &str, ask: &str| {
            let mut a = authorize(
                "a1",
                0,
                &format!("response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s1&{ask}"),
            );
            a.request.url = a.request.url.replace(
                "https://login.example.com/oauth2/authorize",
                &format!("https://{host}{authorize_path}"),
            );
            let mut t = token(r#"{"access_token":"a","token_type":"bearer","expires_in":60}"#);
            t.request.url = format!("https://{host}{token_path}");
            run(&[a, t])
                .into_iter()
                .find(|a| a.code == "token_response.no_refresh_token")
                .expect("a no_refresh_token note")
        };
        let foreign = at(
            "www.dropbox.com",
            "/oauth2/authorize",
            "/oauth2/token",
            "access_type=offline",
        );
        assert_eq!(foreign.severity, Severity::Info);
        assert!(
            foreign.title.contains("which Dropbox does not read"),
            "{}",
            foreign.title
        );
        assert_eq!(foreign.evidence["asked_for_offline"], false);
        let own = at(
            "www.dropbox.com",
            "/oauth2/authorize",
            "/oauth2/token",
            "token_access_type=offline",
        );
        assert_eq!(own.severity, Severity::Warning, "{}", own.title);
        let google = at(
            "accounts.google.com",
            "/o/oauth2/v2/auth",
            "/token",
            "access_type=offline",
        );
        assert_eq!(google.severity, Severity::Warning, "{}", google.title);
    }

    #[test]
    fn no_refresh_token_without_authorize_and_other_grants() {
        let recs = [token(
            r#"{"access_token":"a","token_type":"Bearer","expires_in":3600}"#,
        )];
        let a = only(&recs, "token_response.no_refresh_token");
        assert_eq!(a.severity, Severity::Info);
        assert_eq!(a.evidence["authorize_record"], Value::Null);
        // client_credentials never expects a refresh token.
        let mut t = token_form_auth(
            "t2",
            5,
            Some(&basic("app", "s")),
            "grant_type=client_credentials",
        );
        respond(
            &mut t,
            200,
            JSON_HEADERS,
            r#"{"access_token":"a","token_type":"Bearer","expires_in":3600}"#,
        );
        assert_eq!(run(&[t]), vec![]);
    }

    #[test]
    fn github_form_encoded_response_is_not_json() {
        let mut t = token_form_auth(
            "t1",
            5,
            None,
            &format!("{BODY}&client_id=Iv1.abc&client_secret=x"),
        );
        t.request.headers.0.retain(|(k, _)| k != "Accept");
        respond(
            &mut t,
            200,
            &[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&token_type=bearer",
        );
        let a = only(&[t], "token_response.not_json");
        assert_eq!(a.severity, Severity::Warning);
        assert_eq!(a.evidence["body_shape"], "form");
        assert_eq!(a.evidence["request_accept"], Value::Null);
        assert!(a.detail.contains("Accept: application/json"));
    }

    #[test]
    fn errors_and_failures_are_left_to_errors_rs() {
        // 200 with an error (GitHub JSON style).
        let recs = [token(
            r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#,
        )];
        assert_eq!(run(&recs), vec![]);
        // 400 error response.
        let mut t = token(GOOD);
        respond(&mut t, 400, JSON_HEADERS, r#"{"error":"invalid_grant"}"#);
        assert_eq!(run(&[t]), vec![]);
    }

    #[test]
    fn missing_no_store_is_info() {
        let mut t = token(GOOD);
        respond(&mut t, 200, &[("Content-Type", "application/json")], GOOD);
        let recs = [auth("openid+offline_access"), t];
        let a = only(&recs, "token_response.cache_headers");
        assert_eq!(a.severity, Severity::Info);
        assert_eq!(run(&recs).len(), 1);
    }

    #[test]
    fn missing_access_token() {
        let recs = [
            auth("openid+offline_access"),
            token(r#"{"token_type":"Bearer","expires_in":3600,"refresh_token":"r"}"#),
        ];
        assert_eq!(
            only(&recs, "token_response.access_token_missing").severity,
            Severity::Warning
        );
    }

    #[test]
    fn whole_clean_flow_through_analyze_has_no_warning_from_these_rules() {
        use crate::analyze::testkit::record as rec;
        let a = auth("openid+offline_access");
        let mut cb = rec(
            "c1",
            3,
            Kind::Callback,
            "GET",
            "https://app.example.com/cb?code=c0de&state=s1",
        );
        respond(&mut cb, 302, &[("Location", "/home")], "");
        let t = token(GOOD);
        let out = crate::analyze::analyze(&[t, cb, a], &AnalyzeOptions::default());
        let ours = [
            "flavour.",
            "client_auth.",
            "client_id.",
            "token_request.",
            "token_response.",
        ];
        for r in &out {
            for an in &r.annotations {
                if ours.iter().any(|p| an.code.starts_with(p)) {
                    assert_eq!(an.severity, Severity::Info, "{}: {an:?}", r.id);
                }
            }
        }
        let t = out.iter().find(|r| r.id == "t1").unwrap();
        assert_eq!(t.flow.as_deref(), Some("a1"));
        assert_eq!(t.flavour.as_ref().unwrap().number, Some(1));
        let codes: Vec<_> = t.annotations.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(codes, ["flavour.detected"]);
    }

    #[test]
    fn offline_access_asked_only_in_the_par_body_counts() {
        use crate::analyze::testkit as tk;
        let recs = tk::prepare(vec![
            tk::par(
                "1",
                0,
                "response_type=code&client_id=app&state=s1&scope=openid%20offline_access\
                 &redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb",
                "urn:ietf:params:oauth:request_uri:abc",
            ),
            tk::authorize(
                "2",
                1,
                "https://idp.example.com/authorize?client_id=app\
                 &request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc",
            ),
            tk::auth_response("3", 5, "https://app.example.com/cb?code=c1&state=s1"),
            tk::token(
                "4",
                6,
                "grant_type=authorization_code&code=c1&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb",
                r#"{"access_token":"a","token_type":"Bearer","expires_in":3600}"#,
            ),
        ]);
        let ask = offline_ask(&Login::build(&recs), 3).expect("the PAR leg is found");
        assert_eq!(ask.asked_by, ["scope=offline_access"]);
        let f = crate::analyze::testkit::findings(annotate, &recs);
        let no_rt: Vec<_> = f
            .iter()
            .filter(|x| x.annotation.code == "token_response.no_refresh_token")
            .collect();
        assert_eq!(no_rt.len(), 1);
        assert_eq!(
            no_rt[0].annotation.severity,
            Severity::Warning,
            "asked, none came"
        );
    }
}

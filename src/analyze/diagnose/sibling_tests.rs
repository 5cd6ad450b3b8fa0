//! Tests of the nearest successful sibling (differential diagnosis).

use super::nearest_success;
use crate::analyze::diagnose::fingerprint;
use crate::analyze::testkit::{hdrs, Capture, IDP, VERIFIER};
use crate::analyze::{analyze, AnalyzeOptions};
use crate::record::{Kind, Record};
use serde_json::Value;

const OK: &str = r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600}"#;
const REFUSED: &str =
    r#"{"error":"invalid_request","error_description":"Missing required parameter: grant_type"}"#;

fn form(code: &str, client: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback\
         &client_id={client}&code_verifier={VERIFIER}"
    )
}

/// The same token request with a JSON body.
fn token_json(c: &mut Capture, secs: i64, code: &str, client: &str, status: u16, resp: &str) {
    c.push(
        secs,
        Kind::TokenRequest,
        "POST",
        &format!("{IDP}/token"),
        hdrs(&[
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ]),
        &format!(
            r#"{{"grant_type":"authorization_code","code":"{code}","redirect_uri":"https://app.example.com/callback","client_id":"{client}","code_verifier":"{VERIFIER}"}}"#
        ),
        status,
        hdrs(&[("Content-Type", "application/json")]),
        resp,
    );
}

fn analysed(c: Capture) -> Vec<Record> {
    analyze(&c.records, &AnalyzeOptions::default())
}

/// The `nearest_success` of every diagnosis on `rec` (at least one).
fn attached(rec: &Record) -> Vec<&Value> {
    let v: Vec<&Value> = rec
        .annotations
        .iter()
        .filter(|a| a.code.starts_with("diagnosis.") && a.code != "diagnosis.recovered")
        .filter_map(|a| a.evidence.get("nearest_success"))
        .collect();
    assert!(
        !v.is_empty(),
        "no diagnosis with nearest_success on {}: {:#?}",
        rec.id,
        rec.annotations
    );
    v
}

fn difference<'a>(ns: &'a Value, what: &str) -> Option<&'a Value> {
    ns["differences"]
        .as_array()?
        .iter()
        .find(|d| d["what"] == what)
}

#[test]
fn json_body_next_to_a_form_that_succeeded_differs_in_body_format() {
    let mut c = Capture::new();
    c.login(0, "s1", "code-one", "");
    c.token(30, &form("code-one", "app-123"), 200, OK);
    c.login(100, "s2", "code-two", "");
    token_json(&mut c, 130, "code-two", "app-123", 400, REFUSED);
    let out = analysed(c);
    let failed = out
        .iter()
        .rposition(|r| r.kind == Kind::TokenRequest)
        .unwrap();
    let ok = out
        .iter()
        .position(|r| r.kind == Kind::TokenRequest)
        .unwrap();
    let ns = nearest_success(&out, failed);
    assert_eq!(ns["record"], out[ok].id.as_str(), "{ns:#}");
    assert_eq!(ns["time_apart_seconds"], 100);
    let d = difference(&ns, "body format").expect("body format differs");
    assert_eq!(d["failed"], "json");
    assert_eq!(d["succeeded"], "form");
    assert!(difference(&ns, "header Content-Type").is_some());
    // Volatile parameters (code, verifier) are not differences: same shape.
    assert!(difference(&ns, "parameter code").is_none(), "{ns:#}");
    // Attached to the failure's diagnoses, with a sentence in the detail.
    for v in attached(&out[failed]) {
        assert_eq!(v, &ns);
    }
    let a = out[failed]
        .annotations
        .iter()
        .find(|a| a.evidence.get("nearest_success").is_some())
        .unwrap();
    assert!(
        a.detail.contains(&format!(
            "Record {}, the same request that succeeded 1 min 40 s earlier, differed in: ",
            out[ok].id
        )) && a.detail.contains("body format"),
        "{}",
        a.detail
    );
    // The success gets none.
    assert!(out[ok]
        .annotations
        .iter()
        .all(|a| a.evidence.get("nearest_success").is_none()));
}

#[test]
fn another_client_is_not_a_sibling() {
    let mut c = Capture::new();
    c.login(0, "s1", "code-one", "");
    c.token(30, &form("code-one", "other-app"), 200, OK);
    c.login(100, "s2", "code-two", "");
    c.token(130, &form("code-two", "app-123"), 400, REFUSED);
    let out = analysed(c);
    let failed = out
        .iter()
        .rposition(|r| r.kind == Kind::TokenRequest)
        .unwrap();
    let ns = nearest_success(&out, failed);
    assert!(
        ns["none"]
            .as_str()
            .unwrap()
            .contains("none in this capture"),
        "{ns:#}"
    );
    for v in attached(&out[failed]) {
        assert_eq!(v, &ns);
    }
}

#[test]
fn another_grant_is_not_a_sibling() {
    let mut c = Capture::new();
    c.token(
        10,
        "grant_type=client_credentials&client_id=app-123&client_secret=x",
        200,
        OK,
    );
    c.login(100, "s2", "code-two", "");
    c.token(130, &form("code-two", "app-123"), 400, REFUSED);
    let out = analysed(c);
    let failed = out
        .iter()
        .rposition(|r| r.kind == Kind::TokenRequest)
        .unwrap();
    let ns = nearest_success(&out, failed);
    assert_eq!(
        ns["none"],
        "none in this capture: no successful token request (authorization_code) to this \
         endpoint with this client and grant"
    );
}

#[test]
fn no_success_at_all_is_none_in_this_capture() {
    let mut c = Capture::new();
    c.login(0, "s1", "code-one", "");
    c.token(30, &form("code-one", "app-123"), 400, REFUSED);
    let out = analysed(c);
    let failed = out
        .iter()
        .position(|r| r.kind == Kind::TokenRequest)
        .unwrap();
    for v in attached(&out[failed]) {
        assert!(v["none"]
            .as_str()
            .unwrap()
            .starts_with("none in this capture"));
    }
}

#[test]
fn a_secret_difference_is_shown_by_fingerprint_only() {
    let mut c = Capture::new();
    c.token(
        10,
        "grant_type=client_credentials&client_id=svc&client_secret=right-secret-value&scope=api",
        200,
        OK,
    );
    c.token(
        70,
        "grant_type=client_credentials&client_id=svc&client_secret=wrong-secret-value&scope=api",
        401,
        r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
    );
    let out = analysed(c);
    let failed = out
        .iter()
        .rposition(|r| r.kind == Kind::TokenRequest)
        .unwrap();
    let ns = nearest_success(&out, failed);
    let d = difference(&ns, "parameter client_secret").expect("secret differs");
    assert_eq!(d["failed"], fingerprint("wrong-secret-value").as_str());
    assert_eq!(d["succeeded"], fingerprint("right-secret-value").as_str());
    assert_eq!(ns["differences"].as_array().unwrap().len(), 1, "{ns:#}");
    for rec in &out {
        for a in &rec.annotations {
            let text = format!("{} {} {}", a.title, a.detail, a.evidence);
            assert!(
                !text.contains("secret-value"),
                "secret in {}: {text}",
                a.code
            );
        }
    }
    for v in attached(&out[failed]) {
        assert_eq!(v, &ns);
    }
}

#[test]
fn a_success_in_another_login_nearest_in_time_wins() {
    let mut c = Capture::new();
    c.token(
        0,
        "grant_type=client_credentials&client_id=svc&client_secret=a&scope=api",
        200,
        OK,
    );
    c.token(
        50,
        "grant_type=client_credentials&client_id=svc&client_secret=a&scope=api%20admin",
        200,
        OK,
    );
    c.token(
        60,
        "grant_type=client_credentials&client_id=svc&client_secret=a&scope=api%20admin%20root",
        400,
        r#"{"error":"invalid_scope"}"#,
    );
    c.token(
        200,
        "grant_type=client_credentials&client_id=svc&client_secret=a&scope=api",
        200,
        OK,
    );
    let out = analysed(c);
    let ns = nearest_success(&out, 2);
    assert_eq!(ns["record"], out[1].id.as_str(), "{ns:#}");
    assert_eq!(ns["succeeded"], "earlier");
    let d = difference(&ns, "parameter scope").unwrap();
    assert_eq!(d["failed"], "api admin root");
    assert_eq!(d["succeeded"], "api admin");
}

#[test]
fn secrets_are_never_shown_by_value() {
    let p = |v: &[(&str, &str)]| -> crate::analyze::params::Params {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let mut out = Vec::new();
    super::parameters(
        &mut out,
        &p(&[
            ("subject_token", "tok-failed-aaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("password", "pw-failed"),
            ("audience", "api://a"),
        ]),
        &p(&[
            ("subject_token", "tok-ok"),
            ("password", "pw-ok"),
            ("audience", "api://b"),
        ]),
    );
    let text = serde_json::to_string(&out).unwrap();
    assert!(!text.contains("tok-") && !text.contains("pw-"), "{text}");
    assert!(text.contains(&fingerprint("pw-failed")), "{text}");
    assert!(text.contains("api://a"), "{text}");
    assert_eq!(out.len(), 3, "{text}");
}

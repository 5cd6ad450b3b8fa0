//! Tests for the state rule.

use super::*;
use crate::analyze::testkit::*;

const CB: &str = "https://app.example.com/cb";

fn auth_url(extra: &str) -> String {
    format!("https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb{extra}")
}

fn findings(recs: Vec<Record>) -> (Vec<Record>, Vec<Finding>) {
    run(annotate, recs, &AnalyzeOptions::default())
}

#[test]
fn clean_flow_has_no_findings() {
    let (_, f) = findings(vec![
        authorize("1", 0, &auth_url("&state=xyz123")),
        auth_response("2", 4, &format!("{CB}?code=c1&state=xyz123")),
        callback("3", 5, &format!("{CB}?code=c1&state=xyz123")),
        token(
            "4",
            6,
            "grant_type=authorization_code&code=c1&client_id=app",
            "{}",
        ),
    ]);
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn authorize_without_state_is_a_warning() {
    let (recs, f) = findings(vec![authorize("1", 0, &auth_url(""))]);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "state.missing");
    assert_eq!(f[0].annotation.severity, Severity::Warning);
    assert_eq!(f[0].annotation.evidence["authorize_record"], recs[0].id);
}

#[test]
fn authorize_without_state_but_pkce_is_info() {
    let (_, f) = findings(vec![authorize(
        "1",
        0,
        &auth_url("&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"),
    )]);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "state.missing");
    assert_eq!(f[0].annotation.severity, Severity::Info);
    assert!(f[0].annotation.detail.contains("RFC 9700"));
    assert!(problems(&f).is_empty());
}

#[test]
fn callback_with_unknown_state_is_a_mismatch() {
    let (recs, f) = findings(vec![
        authorize("1", 0, &auth_url("&state=abc")),
        authorize("2", 1, &auth_url("&state=def")),
        callback("3", 5, &format!("{CB}?code=c1&state=zzz")),
    ]);
    assert_eq!(f.len(), 1, "{f:#?}");
    let a = &f[0].annotation;
    assert_eq!(a.code, "state.mismatch");
    assert_eq!(a.severity, Severity::Error);
    assert_eq!(f[0].record, 2);
    assert_eq!(a.evidence["state"], "zzz");
    assert_eq!(a.evidence["states_seen"], json!(["def", "abc"]));
    assert_eq!(a.evidence["response_record"], recs[2].id);
}

#[test]
fn state_from_another_flow_is_found_across_flows() {
    // The callback's state belongs to the first of two logins (another tab):
    // it matches an authorize request, so no mismatch.
    let (_, f) = findings(vec![
        authorize("1", 0, &auth_url("&state=abc")),
        authorize("2", 1, &auth_url("&state=def")),
        callback("3", 5, &format!("{CB}?code=c1&state=abc")),
    ]);
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn double_encoded_state_has_a_near_match() {
    let (_, f) = findings(vec![
        authorize("1", 0, &auth_url("&state=a%2Fb")),
        callback("2", 5, &format!("{CB}?code=c1&state=a%252Fb")),
    ]);
    let m = with_code(&f, "state.mismatch");
    assert_eq!(m.len(), 1, "{f:#?}");
    assert_eq!(m[0].annotation.evidence["near_match"]["state"], "a/b");
}

#[test]
fn response_without_the_sent_state() {
    // The authorize request answers directly with a 302 carrying a code but no state.
    let mut a = authorize("1", 0, &auth_url("&state=abc"));
    a.response.as_mut().unwrap().headers.0[0].1 = format!("{CB}?code=c1");
    let (recs, f) = findings(vec![a]);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "state.missing");
    assert_eq!(f[0].annotation.severity, Severity::Warning);
    assert_eq!(f[0].annotation.evidence["expected_state"], "abc");
    assert_eq!(f[0].annotation.evidence["response_record"], recs[0].id);
}

#[test]
fn separate_response_without_state_found_by_redirect_uri() {
    let (_, f) = findings(vec![
        authorize("1", 0, &auth_url("&state=abc")),
        auth_response("2", 4, &format!("{CB}?code=c1")),
    ]);
    let m = with_code(&f, "state.missing");
    assert_eq!(m.len(), 1, "{f:#?}");
    assert_eq!(m[0].record, 1);
}

#[test]
fn internal_provider_hop_with_state_only_is_ignored() {
    // Auth0-style internal redirect carrying the provider's own state.
    let (_, f) = findings(vec![
        authorize("1", 0, &auth_url("&state=abc")),
        auth_response(
            "2",
            2,
            "https://idp.example.com/authorize/resume?state=hKFo2SBxyz",
        ),
        auth_response("3", 4, &format!("{CB}?code=c1&state=abc")),
    ]);
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn no_authorize_captured_is_unverified_info() {
    let (_, f) = findings(vec![callback("1", 5, &format!("{CB}?code=c1&state=zzz"))]);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "state.unverified");
    assert_eq!(f[0].annotation.severity, Severity::Info);
}

#[test]
fn request_uri_without_captured_par_is_not_judged() {
    let (_, f) = findings(vec![
        authorize(
            "1",
            0,
            "https://idp.example.com/authorize?client_id=app&request_uri=urn%3Ax%3Aabc",
        ),
        callback("2", 5, &format!("{CB}?code=c1&state=s9")),
    ]);
    assert!(problems(&f).is_empty(), "{f:#?}");
    assert_eq!(with_code(&f, "state.unverified").len(), 1);
}

#[test]
fn jar_request_object_state_is_read() {
    let obj = jwt(
        r#"{"response_type":"code","client_id":"app","state":"s7","redirect_uri":"https://app.example.com/cb"}"#,
        "sig",
    );
    let (_, f) = findings(vec![
        authorize(
            "1",
            0,
            &format!(
                "https://idp.example.com/authorize?response_type=code&client_id=app&request={obj}"
            ),
        ),
        callback("2", 5, &format!("{CB}?code=c1&state=s7")),
    ]);
    assert!(f.is_empty(), "{f:#?}");
}

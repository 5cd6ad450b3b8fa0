//! Tests for the PKCE rule.

use super::*;
use crate::analyze::testkit::*;
#[allow(unused_imports)]
use crate::record::{Annotation, Severity};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn flow(challenge: Option<(&str, Option<&str>)>, verifier: Option<&str>) -> Vec<Record> {
    let mut auth = "https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s1".to_string();
    if let Some((c, m)) = challenge {
        auth.push_str("&code_challenge=");
        auth.push_str(&url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>());
        if let Some(m) = m {
            auth.push_str("&code_challenge_method=");
            auth.push_str(m);
        }
    }
    let mut form = "grant_type=authorization_code&code=c1&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb".to_string();
    if let Some(v) = verifier {
        form.push_str("&code_verifier=");
        form.push_str(&url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>());
    }
    vec![
        authorize("1", 0, &auth),
        callback("2", 5, "https://app.example.com/cb?code=c1&state=s1"),
        token(
            "3",
            6,
            &form,
            r#"{"access_token":"at","token_type":"Bearer"}"#,
        ),
    ]
}

fn findings(recs: Vec<Record>) -> Vec<Finding> {
    run(annotate, recs, &AnalyzeOptions::default()).1
}

#[test]
fn rfc7636_appendix_b_vector() {
    assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
    assert!(verifier_problem(VERIFIER).is_none());
    assert!(s256_challenge_problem(CHALLENGE).is_none());
}

#[test]
fn good_s256_flow_is_clean() {
    let f = findings(flow(Some((CHALLENGE, Some("S256"))), Some(VERIFIER)));
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn no_pkce_at_all_is_clean() {
    let f = findings(flow(None, None));
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn wrong_verifier_is_a_mismatch() {
    let other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (recs, f) = run(
        annotate,
        flow(Some((CHALLENGE, Some("S256"))), Some(other)),
        &AnalyzeOptions::default(),
    );
    assert_eq!(f.len(), 1, "{f:#?}");
    let a = &f[0].annotation;
    assert_eq!(a.code, "pkce.mismatch");
    assert_eq!(a.severity, Severity::Error);
    assert_eq!(f[0].record, 2);
    assert_eq!(a.evidence["sent_challenge"], CHALLENGE);
    assert_eq!(a.evidence["computed_challenge"], s256_challenge(other));
    assert_eq!(a.evidence["authorize_record"], recs[0].id);
    assert_eq!(a.evidence["token_record"], recs[2].id);
    // The verifier itself is a secret: not in the evidence.
    assert!(!a.evidence.to_string().contains(other));
}

#[test]
fn missing_verifier() {
    let f = findings(flow(Some((CHALLENGE, Some("S256"))), None));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "pkce.verifier_missing");
    assert_eq!(f[0].annotation.severity, Severity::Error);
}

#[test]
fn plain_method_explicit_and_absent() {
    // plain with the verifier as challenge: consistent, but a warning.
    let f = findings(flow(Some((VERIFIER, Some("plain"))), Some(VERIFIER)));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "pkce.plain_method");
    assert_eq!(f[0].annotation.severity, Severity::Warning);
    assert_eq!(f[0].record, 0);
    // Absent method means plain: the S256 value as a plain challenge mismatches.
    let f = findings(flow(Some((CHALLENGE, None)), Some(VERIFIER)));
    assert_eq!(with_code(&f, "pkce.plain_method").len(), 1, "{f:#?}");
    let m = with_code(&f, "pkce.mismatch");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].annotation.evidence["code_challenge_method"], "plain");
}

#[test]
fn malformed_challenge_and_verifier() {
    let std_b64_padded = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM=";
    let f = findings(flow(
        Some((std_b64_padded, Some("S256"))),
        Some("short~verifier!"),
    ));
    let c = with_code(&f, "pkce.challenge_malformed");
    assert_eq!(c.len(), 1, "{f:#?}");
    let why = c[0].annotation.evidence["problem"].as_str().unwrap();
    assert!(
        why.contains("padding") && why.contains("'+'") && why.contains("44"),
        "{why}"
    );
    let v = with_code(&f, "pkce.verifier_malformed");
    assert_eq!(v.len(), 1);
    let why = v[0].annotation.evidence["problem"].as_str().unwrap();
    assert!(
        why.contains("15 characters") && why.contains("'!'"),
        "{why}"
    );
    assert_eq!(with_code(&f, "pkce.mismatch").len(), 1);
    let long = "a".repeat(129);
    assert!(verifier_problem(&long).unwrap().contains("maximum 128"));
}

#[test]
fn verifier_without_challenge() {
    let f = findings(flow(None, Some(VERIFIER)));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "pkce.verifier_without_challenge");
    assert_eq!(f[0].annotation.severity, Severity::Warning);
}

#[test]
fn method_case_is_unknown() {
    let f = findings(flow(Some((CHALLENGE, Some("s256"))), Some(VERIFIER)));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "pkce.method_unknown");
}

#[test]
fn redacted_verifier_is_not_judged() {
    let f = findings(flow(
        Some((CHALLENGE, Some("S256"))),
        Some("«redacted:3f9a1c»"),
    ));
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn par_challenge_is_used() {
    let recs = vec![
        par(
            "1",
            0,
            &format!("response_type=code&client_id=app&state=s9&code_challenge={CHALLENGE}&code_challenge_method=S256"),
            "urn:x:abc",
        ),
        authorize(
            "2",
            1,
            "https://idp.example.com/authorize?client_id=app&request_uri=urn%3Ax%3Aabc",
        ),
        callback("3", 5, "https://app.example.com/cb?code=c9&state=s9"),
        token(
            "4",
            6,
            "grant_type=authorization_code&code=c9&client_id=app&code_verifier=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "{}",
        ),
    ];
    let f = findings(recs);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "pkce.mismatch");
}

#[test]
fn opaque_request_uri_gives_no_verifier_without_challenge() {
    let recs = vec![
        authorize(
            "1",
            0,
            "https://idp.example.com/authorize?client_id=app&request_uri=urn%3Ax%3Aabc&state=s1",
        ),
        callback("2", 5, "https://app.example.com/cb?code=c1&state=s1"),
        token(
            "3",
            6,
            &format!(
                "grant_type=authorization_code&code=c1&client_id=app&code_verifier={VERIFIER}"
            ),
            "{}",
        ),
    ];
    let f = findings(recs);
    assert!(f.is_empty(), "{f:#?}");
}

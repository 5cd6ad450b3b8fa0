//! Tests for the ID token rule.

use super::*;
use crate::analyze::testkit::*;
#[allow(unused_imports)]
use crate::record::{Annotation, Severity};
use base64::Engine as _;

const ISSUER: &str = "https://idp.example.com";
const DISCO: &str = "https://idp.example.com/.well-known/openid-configuration";

/// Unix time of `at(secs)`.
fn unix(secs: i64) -> i64 {
    at(secs).unix_timestamp()
}

fn claims(iss: &str, aud: Value, nonce: Option<&str>, exp: i64) -> String {
    let mut c = json!({
        "iss": iss,
        "sub": "248289761001",
        "aud": aud,
        "iat": unix(0),
        "exp": exp,
    });
    if let Some(n) = nonce {
        c["nonce"] = json!(n);
    }
    c.to_string()
}

fn flow_with(id_token: &str, token_form: &str) -> Vec<Record> {
    vec![
        discovery(
            "1",
            0,
            DISCO,
            &format!(r#"{{"issuer":"{ISSUER}","token_endpoint":"{ISSUER}/oauth2/token"}}"#),
        ),
        authorize(
            "2",
            1,
            "https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s1&nonce=n-0S6_WzA2Mj&scope=openid",
        ),
        callback("3", 5, "https://app.example.com/cb?code=c1&state=s1"),
        token(
            "4",
            6,
            token_form,
            &json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}).to_string(),
        ),
    ]
}

fn flow(id_token: &str) -> Vec<Record> {
    flow_with(
        id_token,
        "grant_type=authorization_code&code=c1&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb",
    )
}

fn good_claims() -> String {
    claims(ISSUER, json!("app"), Some("n-0S6_WzA2Mj"), unix(3600))
}

fn findings(recs: Vec<Record>) -> Vec<Finding> {
    run(annotate, recs, &AnalyzeOptions::default()).1
}

#[test]
fn clean_id_token_has_no_findings() {
    let f = findings(flow(&jwt(&good_claims(), "c2lnbmF0dXJl")));
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn redacted_signature_and_padding_are_tolerated() {
    let t = jwt(&good_claims(), "«redacted:3f9a1c»");
    let f = findings(flow(&t));
    assert!(f.is_empty(), "{f:#?}");
    // Padded segments decode too.
    let b = base64::engine::general_purpose::URL_SAFE;
    let padded = format!(
        "{}.{}.",
        b.encode(r#"{"alg":"none"}"#),
        b.encode("{\"a\":1}")
    );
    assert!(padded.contains('='));
    assert!(decode_unverified(&padded).is_ok());
}

#[test]
fn expired_token() {
    let c = claims(ISSUER, json!("app"), Some("n-0S6_WzA2Mj"), unix(6) - 7500);
    let (recs, f) = run(annotate, flow(&jwt(&c, "")), &AnalyzeOptions::default());
    assert_eq!(f.len(), 1, "{f:#?}");
    let a = &f[0].annotation;
    assert_eq!(a.code, "jwt.expired");
    assert_eq!(a.severity, Severity::Error);
    assert_eq!(a.evidence["exp"], "2024-05-01T07:55:06Z");
    assert_eq!(a.evidence["expired_ago"], "2 h 5 min");
    assert_eq!(a.evidence["token_record"], recs[3].id);
    assert!(a.title.contains("2 h 5 min"));
    // The token itself is not in the evidence.
    assert!(!a.evidence.to_string().contains("eyJ"));
}

#[test]
fn aud_mismatch_string_and_array_and_azp() {
    let c = claims(ISSUER, json!("other-app"), Some("n-0S6_WzA2Mj"), unix(3600));
    let f = findings(flow(&jwt(&c, "")));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "jwt.aud_mismatch");
    assert_eq!(f[0].annotation.evidence["client_id"], "app");
    assert_eq!(f[0].annotation.evidence["client_id_source"], "body");

    let c = claims(
        ISSUER,
        json!(["api", "app"]),
        Some("n-0S6_WzA2Mj"),
        unix(3600),
    );
    assert!(findings(flow(&jwt(&c, ""))).is_empty());

    let mut v: Value = serde_json::from_str(&c).unwrap();
    v["azp"] = json!("api");
    let f = findings(flow(&jwt(&v.to_string(), "")));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "jwt.aud_mismatch");
    assert_eq!(f[0].annotation.evidence["azp"], "api");
}

#[test]
fn aud_checked_against_basic_user() {
    let c = claims(ISSUER, json!("my app"), Some("n-0S6_WzA2Mj"), unix(3600));
    let mut recs = flow_with(
        &jwt(&c, ""),
        "grant_type=authorization_code&code=c1&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb",
    );
    let basic = base64::engine::general_purpose::STANDARD.encode("my%20app:s3cret");
    recs[3]
        .request
        .headers
        .push("Authorization", format!("Basic {basic}"));
    assert!(findings(recs.clone()).is_empty());
    let basic = base64::engine::general_purpose::STANDARD.encode("other:s3cret");
    recs[3].request.headers.0.pop();
    recs[3]
        .request
        .headers
        .push("Authorization", format!("Basic {basic}"));
    let f = findings(recs);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.evidence["client_id_source"], "basic_user");
}

#[test]
fn nonce_mismatch_and_missing() {
    let c = claims(ISSUER, json!("app"), Some("other-nonce"), unix(3600));
    let f = findings(flow(&jwt(&c, "")));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "jwt.nonce_mismatch");
    assert_eq!(f[0].annotation.evidence["expected"], "n-0S6_WzA2Mj");
    assert_eq!(f[0].annotation.evidence["actual"], "other-nonce");

    let c = claims(ISSUER, json!("app"), None, unix(3600));
    let f = findings(flow(&jwt(&c, "")));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "jwt.nonce_mismatch");
    assert_eq!(f[0].annotation.evidence["actual"], Value::Null);
}

#[test]
fn iss_mismatch_names_trailing_slash() {
    let c = claims(
        &format!("{ISSUER}/"),
        json!("app"),
        Some("n-0S6_WzA2Mj"),
        unix(3600),
    );
    let (recs, f) = run(annotate, flow(&jwt(&c, "")), &AnalyzeOptions::default());
    assert_eq!(f.len(), 1, "{f:#?}");
    let a = &f[0].annotation;
    assert_eq!(a.code, "jwt.iss_mismatch");
    assert_eq!(a.evidence["kinds"], json!(["trailing_slash"]));
    assert_eq!(a.evidence["expected"], ISSUER);
    assert_eq!(a.evidence["discovery_record"], recs[0].id);
    assert!(a.title.ends_with("trailing slash"), "{}", a.title);
}

#[test]
fn iss_without_discovery_or_with_tenant_placeholder_is_fine() {
    let c = claims(
        "https://elsewhere.example.com",
        json!("app"),
        Some("n-0S6_WzA2Mj"),
        unix(3600),
    );
    let mut recs = flow(&jwt(&c, ""));
    recs.remove(0);
    assert!(findings(recs).is_empty());
    assert!(issuer_matches(
        "https://login.microsoftonline.com/{tenantid}/v2.0",
        "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
    ));
    assert!(!issuer_matches(
        "https://login.microsoftonline.com/{tenantid}/v2.0",
        "https://login.microsoftonline.com/v2.0"
    ));
}

#[test]
fn malformed_id_token() {
    let f = findings(flow("not-a-jwt"));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "jwt.malformed");
    assert_eq!(f[0].annotation.severity, Severity::Warning);
    let f = findings(flow("eyJhbGciOiJub25lIn0.!!!!.sig"));
    assert_eq!(f[0].annotation.code, "jwt.malformed");
    assert!(f[0].annotation.evidence["reason"]
        .as_str()
        .unwrap()
        .contains("claims"));
    // A wholly redacted id_token is not judged.
    assert!(findings(flow("«redacted:3f9a1c»")).is_empty());
}

#[test]
fn encrypted_id_token_is_info() {
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwe = format!(
        "{}.a.b.c.d",
        b.encode(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#)
    );
    let f = findings(flow(&jwe));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "jwt.encrypted");
    assert_eq!(f[0].annotation.severity, Severity::Info);
}

#[test]
fn human_durations() {
    assert_eq!(human_duration(45), "45 s");
    assert_eq!(human_duration(725), "12 min 5 s");
    assert_eq!(human_duration(2 * 86_400 + 4 * 3600), "2 d 4 h");
}

#[test]
fn the_orchestrator_gives_every_flow_the_discovery_document_as_context() {
    let c = claims(
        &format!("{ISSUER}/"),
        json!("app"),
        Some("n-0S6_WzA2Mj"),
        unix(3600),
    );
    let mut recs = flow(&jwt(&c, ""));
    recs.push(token(
        "99",
        50,
        "grant_type=client_credentials&client_id=svc&client_secret=x",
        r#"{"access_token":"a","token_type":"Bearer","expires_in":60}"#,
    ));
    let out = crate::analyze::analyze(&recs, &AnalyzeOptions::default());
    let flows: std::collections::HashSet<_> = out.iter().map(|r| r.flow.clone()).collect();
    assert!(
        flows.len() >= 3,
        "discovery, the login and the service token are separate flows: {flows:?}"
    );
    let flagged: Vec<_> = out
        .iter()
        .filter(|r| r.annotations.iter().any(|a| a.code == "jwt.iss_mismatch"))
        .collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].kind, crate::record::Kind::TokenRequest);
    assert_eq!(flagged[0].grant_type.as_deref(), Some("authorization_code"));
}

/// A refresh response that hands back the login's own ID token (Xero): the
/// token is expired by then, and that is the provider's habit, not a
/// failure (info). A refresh with an expired ID token never seen before is
/// still an error.
#[test]
fn a_refresh_handing_back_the_logins_id_token_is_info() {
    let c = claims(ISSUER, json!("app"), Some("n-0S6_WzA2Mj"), unix(300));
    let t = jwt(&c, "c2ln");
    let mut recs = flow(&t);
    let resent = |id: &str, token_value: &str| {
        token(
            id,
            3600,
            "grant_type=refresh_token&refresh_token=rt1&client_id=app",
            &json!({"access_token": "at2", "token_type": "Bearer", "id_token": token_value})
                .to_string(),
        )
    };
    recs.push(resent("5", &t));
    let (_, f) = run(annotate, recs, &AnalyzeOptions::default());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "jwt.expired");
    assert_eq!(f[0].annotation.severity, Severity::Info);
    assert_eq!(f[0].annotation.evidence["resent_from_earlier_login"], true);
    // Another, expired ID token in a refresh response: an error.
    let other = claims(ISSUER, json!("app"), None, unix(3000));
    let other = other.replace(
        &format!("\"iat\":{}", unix(0)),
        &format!("\"iat\":{}", unix(2000)),
    );
    let mut recs = flow(&t);
    recs.push(resent("5", &jwt(&other, "c2ln")));
    let (_, f) = run(annotate, recs, &AnalyzeOptions::default());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.severity, Severity::Error);
}

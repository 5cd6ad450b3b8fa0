//! Flow-level tests: realistic captured flows, with and without the
//! evidence each diagnosis needs.

use super::*;
use crate::analyze::pkce::s256_challenge as s256;
use crate::analyze::testkit::{hdrs, Capture, APP_CB, IDP, VERIFIER};
use crate::record::{Annotation, Flavour, HeaderList, Severity};
use serde_json::json;

fn code_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback\
         &client_id=app-123&client_secret=s3cr3t&code_verifier={VERIFIER}"
    )
}

const TOKENS_OK: &str = r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-1","scope":"openid profile offline_access"}"#;
const INVALID_GRANT: &str =
    r#"{"error":"invalid_grant","error_description":"Invalid authorization code"}"#;

fn with<'a>(findings: &'a [Finding], code: &str) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|f| f.annotation.code == code)
        .collect()
}

fn one<'a>(findings: &'a [Finding], code: &str) -> &'a Annotation {
    let w = with(findings, code);
    assert_eq!(w.len(), 1, "expected one {code} in {findings:#?}");
    &w[0].annotation
}

fn codes(findings: &[Finding]) -> Vec<&str> {
    findings
        .iter()
        .map(|f| f.annotation.code.as_str())
        .collect()
}

// ---------------------------------------------------------------- clean flow

fn clean_flow() -> Capture {
    let mut c = Capture::new();
    c.push(
        -5,
        Kind::Discovery,
        "GET",
        &format!("{IDP}/.well-known/openid-configuration"),
        HeaderList::default(),
        "",
        200,
        hdrs(&[("Content-Type", "application/json")]),
        &format!(r#"{{"issuer":"{IDP}","authorization_endpoint":"{IDP}/authorize","token_endpoint":"{IDP}/token"}}"#),
    );
    c.login(0, "st-1", "code-abc", "");
    c.token(22, &code_body("code-abc"), 200, TOKENS_OK);
    c.token(
        3622,
        "grant_type=refresh_token&refresh_token=rt-1&client_id=app-123&client_secret=s3cr3t",
        200,
        r#"{"access_token":"at-2","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-2"}"#,
    );
    c.token(
        7222,
        "grant_type=refresh_token&refresh_token=rt-2&client_id=app-123&client_secret=s3cr3t",
        200,
        r#"{"access_token":"at-3","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-3"}"#,
    );
    c
}

#[test]
fn clean_code_and_refresh_flow_has_no_diagnosis() {
    let (records, findings) = clean_flow().findings(annotate);
    assert!(findings.is_empty(), "{findings:#?}");
    // Correlation put every leg of the login and the refresh chain in one flow.
    let flow = records[1].flow.clone();
    assert!(records[1..].iter().all(|r| r.flow == flow));
}

#[test]
fn clean_flow_through_the_orchestrator_has_no_diagnosis() {
    let out = crate::analyze::analyze(&clean_flow().records, &AnalyzeOptions::default());
    for r in &out {
        assert!(
            !r.annotations
                .iter()
                .any(|a| a.code.starts_with("diagnosis.")),
            "{:#?}",
            r.annotations
        );
    }
}

// ---------------------------------------------------------------- code_expired

#[test]
fn code_exchanged_eleven_minutes_late_is_expired() {
    let mut c = Capture::new();
    let resp = c.login(0, "st-1", "code-abc", "");
    let t = c.token(20 + 660, &code_body("code-abc"), 400, INVALID_GRANT);
    let (records, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.code_expired"]);
    let a = one(&findings, "diagnosis.code_expired");
    assert_eq!(findings[0].record, t);
    assert_eq!(a.severity, Severity::Error);
    assert_eq!(
        a.title,
        "The authorization code expired before it was redeemed: 11 min old when exchanged"
    );
    assert_eq!(a.evidence["code_age_seconds"], 660);
    assert_eq!(a.evidence["limit_seconds"], 600);
    assert_eq!(a.evidence["code_delivered_by"], records[resp].id.as_str());
    assert_eq!(a.evidence["token_request"], records[t].id.as_str());
    assert_eq!(a.evidence["most_likely"], true);
    assert!(a.detail.contains("660 s later"), "{}", a.detail);
}

#[test]
fn code_refused_with_every_wire_cause_ruled_out_is_expiry_by_elimination_at_warning() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    c.token(50, &code_body("code-abc"), 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.code_expired"]);
    let a = &findings[0].annotation;
    // Not proven: the likeliest cause left, so a warning.
    assert_eq!(a.severity, Severity::Warning);
    assert_eq!(a.evidence["by_elimination"], true);
    assert_eq!(a.evidence["code_age_seconds"], 30, "delivered at 20 s");
    let ruled: Vec<&str> = a.evidence["ruled_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["cause"].as_str().unwrap())
        .collect();
    for cause in [
        "code_reused",
        "redirect_uri_mismatch",
        "client_id_mismatch",
        "pkce_mismatch",
    ] {
        assert!(ruled.contains(&cause), "{cause} in {ruled:?}");
    }
    assert!(a.detail.contains("can be seconds"), "{}", a.detail);
}

/// A code a few seconds old at a provider whose lifetime is unknown: expiry
/// is not ruled out (oidc-provider's ttl.AuthorizationCode can be 2 s).
#[test]
fn a_code_seconds_old_is_not_ruled_out_where_the_lifetime_is_unknown() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    c.token(23, &code_body("code-abc"), 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.code_expired"]);
    assert_eq!(findings[0].annotation.evidence["code_age_seconds"], 3);
}

/// With the login's start not captured, what the wire would settle stays
/// open: no elimination, undetermined with expiry among the open causes.
#[test]
fn an_open_wire_cause_keeps_it_undetermined() {
    let mut c = Capture::new();
    c.token(50, &code_body("code-abc"), 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    let u = with(&findings, "diagnosis.undetermined");
    assert_eq!(u.len(), 1, "{findings:#?}");
    let open = u[0].annotation.evidence["unchecked"].to_string();
    assert!(open.contains("code_expired"), "{open}");
}

#[test]
fn keycloak_code_lifetime_is_sixty_seconds() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let kc = "https://sso.example.com/realms/acme/protocol/openid-connect/token";
    c.token_at(
        20 + 95,
        kc,
        &code_body("code-abc"),
        400,
        r#"{"error":"invalid_grant","error_description":"Code not valid"}"#,
    );
    let (_, findings) = c.findings(annotate);
    let a = one(&findings, "diagnosis.code_expired");
    assert_eq!(a.evidence["limit_seconds"], 60);
    assert_eq!(a.evidence["provider"], "keycloak");
    assert_eq!(a.evidence["code_age_seconds"], 95);
}

// ---------------------------------------------------------------- code_reused

#[test]
fn second_exchange_of_a_code_is_reuse() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let first = c.token(22, &code_body("code-abc"), 200, TOKENS_OK);
    let second = c.token(24, &code_body("code-abc"), 400, INVALID_GRANT);
    let (records, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.code_reused"]);
    assert_eq!(findings[0].record, second);
    let a = &findings[0].annotation;
    assert_eq!(a.evidence["first_exchange"], records[first].id.as_str());
    assert_eq!(a.evidence["first_exchange_succeeded"], true);
    assert_eq!(a.evidence["token_request"], records[second].id.as_str());
    assert_eq!(a.evidence["code"], fingerprint("code-abc"));
    assert!(!a.to_string_lossy().contains("code-abc"));
}

trait Lossy {
    fn to_string_lossy(&self) -> String;
}
impl Lossy for Annotation {
    fn to_string_lossy(&self) -> String {
        serde_json::to_string(self).unwrap()
    }
}

#[test]
fn a_second_login_with_a_new_code_is_not_reuse() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    c.token(22, &code_body("code-abc"), 200, TOKENS_OK);
    c.login(100, "st-2", "code-def", "");
    c.token(122, &code_body("code-def"), 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    assert!(with(&findings, "diagnosis.code_reused").is_empty());
    // Reuse, redirect_uri, client_id and PKCE ruled out: expiry by elimination.
    assert_eq!(codes(&findings), ["diagnosis.code_expired"]);
    assert_eq!(findings[0].annotation.severity, Severity::Warning);
}

#[test]
fn entra_already_redeemed_is_reuse_without_the_first_exchange() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    c.token(
        22,
        &code_body("code-abc"),
        400,
        r#"{"error":"invalid_grant","error_description":"AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.","error_codes":[54005]}"#,
    );
    let (_, findings) = c.findings(annotate);
    let a = one(&findings, "diagnosis.code_reused");
    assert!(a.evidence["provider_says"]
        .as_str()
        .unwrap()
        .contains("already redeemed"));
}

// ---------------------------------------------------------------- redirect_uri

#[test]
fn trailing_slash_at_the_token_leg_is_a_redirect_mismatch() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let body = code_body("code-abc").replace("%2Fcallback", "%2Fcallback%2F");
    c.token(22, &body, 400, INVALID_GRANT);
    let (records, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.redirect_uri_mismatch"]);
    let a = &findings[0].annotation;
    assert_eq!(a.evidence["kinds"], json!(["trailing_slash"]));
    assert_eq!(a.evidence["expected"], APP_CB);
    assert_eq!(a.evidence["actual"], format!("{APP_CB}/"));
    assert_eq!(a.evidence["authorize_request"], records[0].id.as_str());
}

#[test]
fn identical_redirect_uri_is_no_mismatch() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    c.token(22, &code_body("code-abc"), 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    assert!(with(&findings, "diagnosis.redirect_uri_mismatch").is_empty());
}

#[test]
fn first_pass_redirect_annotation_is_used_when_authorize_is_not_captured() {
    let mut c = Capture::new();
    let t = c.token(
        0,
        &code_body("code-abc").replace("https%3A", "http%3A"),
        400,
        INVALID_GRANT,
    );
    c.records[t].annotations.push(Annotation::new(
        "redirect_uri.mismatch",
        Severity::Error,
        "redirect_uri differs",
        "",
        json!({"kinds": ["scheme"], "expected": APP_CB, "actual": "http://app.example.com/callback"}),
    ));
    let (_, findings) = c.findings(annotate);
    let a = one(&findings, "diagnosis.redirect_uri_mismatch");
    assert_eq!(a.evidence["kinds"], json!(["scheme"]));
    assert_eq!(a.evidence["expected"], APP_CB);
    assert_eq!(a.evidence["first_pass"], "redirect_uri.mismatch");
}

#[test]
fn redirect_differences_name_each_kind() {
    use super::code_grant::redirect_differences as d;
    assert_eq!(d("https://a/cb", "https://a/cb/"), ["trailing_slash"]);
    assert_eq!(
        d("http://localhost:8080/cb", "http://127.0.0.1:8080/cb"),
        ["loopback_alias"]
    );
    assert_eq!(
        d("https://App.example.com/cb", "https://app.example.com/cb"),
        ["host_case"]
    );
    assert_eq!(d("https://a/Callback", "https://a/callback"), ["path_case"]);
    assert_eq!(d("https://a:8443/cb", "https://a/cb"), ["port"]);
    assert_eq!(d("https://a/c%62", "https://a/cb"), ["percent_encoding"]);
    assert_eq!(d("https://a/cb", "https://a/cb?x=1"), ["query"]);
    assert_eq!(d("https://a/cb", " https://a/cb"), ["whitespace"]);
    assert_eq!(d("http://a/cb", "https://a/cb"), ["scheme"]);
    assert!(d("https://a/cb", "https://a/cb").is_empty());
}

// ---------------------------------------------------------------- client_id

#[test]
fn token_leg_with_another_client_id_is_a_client_mismatch() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let body = code_body("code-abc").replace("client_id=app-123", "client_id=app-456");
    c.token(22, &body, 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.client_id_mismatch"]);
    let a = &findings[0].annotation;
    assert_eq!(a.evidence["expected"], "app-123");
    assert_eq!(a.evidence["actual"], "app-456");
    assert_eq!(a.evidence["kind"], "different");
}

#[test]
fn client_id_in_basic_header_matching_authorize_is_no_mismatch() {
    use base64::Engine as _;
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let t = c.token(
        22,
        &format!("grant_type=authorization_code&code=code-abc&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&code_verifier={VERIFIER}"),
        400,
        INVALID_GRANT,
    );
    let basic = base64::engine::general_purpose::STANDARD.encode("app-123:s3cr3t");
    c.records[t]
        .request
        .headers
        .push("Authorization", format!("Basic {basic}"));
    let (_, findings) = c.findings(annotate);
    assert!(with(&findings, "diagnosis.client_id_mismatch").is_empty());
}

// ---------------------------------------------------------------- pkce

#[test]
fn wrong_verifier_is_a_pkce_mismatch() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let other = "a-verifier-from-another-page-load-0123456789abc";
    c.token(
        22,
        &code_body("code-abc").replace(VERIFIER, other),
        400,
        r#"{"error":"invalid_grant","error_description":"PKCE verification failed: Code mismatch"}"#,
    );
    let (_, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.pkce_mismatch"]);
    let a = &findings[0].annotation;
    assert_eq!(a.evidence["kind"], "mismatch");
    assert_eq!(a.evidence["computed_challenge"], s256(other));
    assert_eq!(a.evidence["code_challenge"], s256(VERIFIER));
}

#[test]
fn missing_verifier_is_a_pkce_mismatch() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let body = code_body("code-abc").replace(&format!("&code_verifier={VERIFIER}"), "");
    c.token(22, &body, 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    let a = one(&findings, "diagnosis.pkce_mismatch");
    assert_eq!(a.evidence["kind"], "verifier_missing");
    assert_eq!(a.evidence["verifier_sent"], false);
}

#[test]
fn s256_matches_rfc7636_appendix_b() {
    assert_eq!(
        s256(VERIFIER),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[test]
fn first_pass_pkce_annotation_is_used_when_authorize_is_not_captured() {
    let mut c = Capture::new();
    let t = c.token(0, &code_body("code-abc"), 400, INVALID_GRANT);
    c.records[t].annotations.push(Annotation::new(
        "pkce.mismatch",
        Severity::Error,
        "The verifier does not match the challenge",
        "S256(verifier) differs from the challenge sent at authorize",
        json!({"expected": "abc", "computed": "def"}),
    ));
    let (_, findings) = c.findings(annotate);
    let a = one(&findings, "diagnosis.pkce_mismatch");
    assert_eq!(a.evidence["first_pass"], "pkce.mismatch");
    assert_eq!(a.evidence["expected"], "abc");
}

// ---------------------------------------------------------------- access_denied

#[test]
fn token_request_after_denied_consent_is_access_denied() {
    let mut c = Capture::new();
    c.authorize(
        0,
        "response_type=code&client_id=app-123&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&state=st-1",
    );
    let denied = c.auth_response(
        15,
        &format!(
            "{APP_CB}?error=access_denied&error_description=The+user+denied+the+request&state=st-1"
        ),
    );
    c.callback(16, &format!("{APP_CB}?error=access_denied&state=st-1"));
    c.token(
        17,
        "grant_type=authorization_code&code=undefined&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&client_id=app-123&client_secret=s3cr3t",
        400,
        INVALID_GRANT,
    );
    let (records, findings) = c.findings(annotate);
    let a = one(&findings, "diagnosis.access_denied");
    assert_eq!(a.evidence["most_likely"], true);
    // The callback repeats the redirect's error: the latest authorization result names it.
    assert!(
        a.evidence["denied_by"] == records[denied].id.as_str()
            || a.evidence["denied_by"] == records[denied + 1].id.as_str()
    );
    assert_eq!(a.evidence["denial_error"], "access_denied");
}

#[test]
fn consent_given_on_a_second_try_is_not_access_denied() {
    let mut c = Capture::new();
    c.authorize(
        0,
        "response_type=code&client_id=app-123&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&state=st-0",
    );
    c.auth_response(15, &format!("{APP_CB}?error=access_denied&state=st-0"));
    c.login(30, "st-1", "code-abc", "");
    c.token(52, &code_body("code-abc"), 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    assert!(with(&findings, "diagnosis.access_denied").is_empty());
}

// ---------------------------------------------------------------- several causes / none

#[test]
fn several_supported_causes_are_all_emitted_and_one_is_most_likely() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let body = code_body("code-abc").replace("%2Fcallback", "%2FCallback");
    c.token(20 + 700, &body, 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    let mut got = codes(&findings);
    got.sort();
    assert_eq!(
        got,
        ["diagnosis.code_expired", "diagnosis.redirect_uri_mismatch"]
    );
    let likely: Vec<_> = findings
        .iter()
        .filter(|f| f.annotation.evidence["most_likely"] == true)
        .collect();
    assert_eq!(likely.len(), 1);
    assert!(likely[0].annotation.title.ends_with("(most likely cause)"));
    for f in &findings {
        assert_eq!(
            f.annotation.evidence["supported_causes"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}

#[test]
fn invalid_grant_with_no_evidence_is_only_undetermined() {
    let mut c = Capture::new();
    let t = c.token(
        0,
        "grant_type=authorization_code&code=4%2F0AX4XfWh&redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2F&client_id=app-123&client_secret=s3cr3t",
        400,
        r#"{"error":"invalid_grant","error_description":"Bad Request"}"#,
    );
    let (records, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.undetermined"]);
    assert_eq!(findings[0].record, t);
    let a = &findings[0].annotation;
    assert_eq!(a.severity, Severity::Info);
    assert_eq!(a.evidence["token_request"], records[t].id.as_str());
    let unchecked = a.evidence["unchecked"].to_string();
    assert!(unchecked.contains("code age unknown"), "{unchecked}");
    assert!(unchecked.contains("loopback redirect URI"), "{unchecked}");
    assert!(
        unchecked.contains("redirect_uri cannot be compared"),
        "{unchecked}"
    );
    assert!(a.detail.contains("Not checked"));
}

// ---------------------------------------------------------------- refresh

fn code_then_refresh(host: &str, refresh_resp: (u16, &str)) -> (Capture, usize, usize) {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let x = c.token_at(
        22,
        &format!("{host}/token"),
        &code_body("code-abc"),
        200,
        TOKENS_OK,
    );
    let r = c.token_at(
        900,
        &format!("{host}/token"),
        "grant_type=refresh_token&refresh_token=rt-1&client_id=app-123&client_secret=s3cr3t",
        refresh_resp.0,
        refresh_resp.1,
    );
    (c, x, r)
}

#[test]
fn old_refresh_token_after_rotation_is_reuse() {
    let (mut c, _, first) = code_then_refresh(
        IDP,
        (
            200,
            r#"{"access_token":"at-2","token_type":"Bearer","refresh_token":"rt-2"}"#,
        ),
    );
    let again = c.token(
        1800,
        "grant_type=refresh_token&refresh_token=rt-1&client_id=app-123&client_secret=s3cr3t",
        400,
        r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#,
    );
    let (records, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.refresh_token_reused"]);
    assert_eq!(findings[0].record, again);
    let a = &findings[0].annotation;
    assert_eq!(a.evidence["pattern"], "rotation");
    assert_eq!(a.evidence["earlier_refresh"], records[first].id.as_str());
    assert_eq!(a.evidence["rotated_to"], fingerprint("rt-2"));
    assert_eq!(records[again].flow, records[first].flow);
}

#[test]
fn reusing_a_non_rotating_refresh_token_is_not_reuse() {
    let (mut c, _, _) = code_then_refresh(
        IDP,
        (200, r#"{"access_token":"at-2","token_type":"Bearer"}"#),
    );
    c.token(
        1800,
        "grant_type=refresh_token&refresh_token=rt-1&client_id=app-123&client_secret=s3cr3t",
        400,
        r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
    );
    let (_, findings) = c.findings(annotate);
    assert!(with(&findings, "diagnosis.refresh_token_reused").is_empty());
    // Keycloak's "Token is not active" is its word for an expired refresh
    // token (the SSO session's idle window): expiry is supported, rotation
    // is ruled out by the earlier refresh that returned no new token.
    assert_eq!(codes(&findings), ["diagnosis.refresh_token_expired"]);
    let a = &findings[0].annotation;
    assert_eq!(a.severity, Severity::Warning);
    let causes = a.evidence["causes"].as_array().unwrap();
    let verdict = |name: &str| {
        causes
            .iter()
            .find(|c| c["cause"] == name)
            .map(|c| c["verdict"].as_str().unwrap().to_string())
    };
    assert_eq!(verdict("expired").as_deref(), Some("supported"));
    assert_eq!(verdict("rotation").as_deref(), Some("ruled_out"));
}

#[test]
fn a_refresh_refused_a_day_later_as_expired_is_expiry_not_reuse() {
    let (mut c, _, _) = code_then_refresh(
        "https://acme.my.salesforce.com/services/oauth2",
        (200, r#"{"access_token":"at-2","token_type":"Bearer"}"#),
    );
    c.token_at(
        90_000,
        "https://acme.my.salesforce.com/services/oauth2/token",
        "grant_type=refresh_token&refresh_token=rt-1&client_id=app-123&client_secret=s3cr3t",
        400,
        r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
    );
    let (_, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.refresh_token_expired"]);
}

#[test]
fn a_refresh_token_issued_to_another_client_is_a_client_id_mismatch() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    c.token(22, &code_body("code-abc"), 200, TOKENS_OK);
    c.token(
        600,
        "grant_type=refresh_token&refresh_token=rt-1&client_id=other-app&client_secret=x",
        400,
        r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#,
    );
    let (_, findings) = c.findings(annotate);
    let mismatch = with(&findings, "diagnosis.client_id_mismatch");
    assert_eq!(mismatch.len(), 1, "{findings:#?}");
    assert_eq!(mismatch[0].annotation.evidence["issued_to"], "app-123");
}

#[test]
fn salesforce_first_refresh_failing_is_the_immediately_expire_policy() {
    let sf = "https://acme.my.salesforce.com/services/oauth2";
    let (c, x, r) = code_then_refresh(
        sf,
        (
            400,
            r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
        ),
    );
    let (records, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.refresh_token_reused"]);
    assert_eq!(findings[0].record, r);
    let a = &findings[0].annotation;
    assert_eq!(a.evidence["pattern"], "first_refresh_failed");
    assert_eq!(a.evidence["issued_by"], records[x].id.as_str());
    assert_eq!(a.evidence["provider"], "salesforce");
    assert!(a.detail.contains("Refresh Token Policy"), "{}", a.detail);
}

#[test]
fn first_refresh_succeeding_has_no_diagnosis() {
    let (c, _, _) = code_then_refresh(
        "https://acme.my.salesforce.com/services/oauth2",
        (
            200,
            r#"{"access_token":"at-2","token_type":"Bearer","issued_at":"1772442000000"}"#,
        ),
    );
    let (_, findings) = c.findings(annotate);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn refresh_with_a_token_from_outside_the_capture_is_undetermined() {
    let mut c = Capture::new();
    c.token_at(
        0,
        "https://oauth2.googleapis.com/token",
        "grant_type=refresh_token&refresh_token=1%2F%2F0g-old&client_id=app-123&client_secret=s3cr3t",
        400,
        r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
    );
    let (_, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.undetermined"]);
    let a = &findings[0].annotation;
    assert!(a.evidence["provider_hint"]
        .as_str()
        .unwrap()
        .contains("Testing-mode"));
}

// ---------------------------------------------------------------- missing_offline_access

fn login_without_offline(scope: &str) -> Capture {
    let mut c = Capture::new();
    c.authorize(
        0,
        &format!(
            "response_type=code&client_id=app-123&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&scope={scope}&state=st-1"
        ),
    );
    c.auth_response(20, &format!("{APP_CB}?code=code-abc&state=st-1"));
    c.token(
        22,
        "grant_type=authorization_code&code=code-abc&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&client_id=app-123&client_secret=s3cr3t",
        200,
        r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,"id_token":"x.y.z"}"#,
    );
    c
}

/// openid-client / Authlib refreshing with no refresh token (none was
/// issued): the refresh joins the login by client and endpoint, and the
/// diagnosis sits on the failure it explains, as a warning.
#[test]
fn a_refresh_with_no_refresh_token_joins_its_login_and_carries_the_diagnosis() {
    let mut c = login_without_offline("openid");
    let r = c.token(
        25,
        "grant_type=refresh_token&client_id=app-123&client_secret=s3cr3t",
        400,
        r#"{"error":"invalid_request","error_description":"missing required parameter 'refresh_token'"}"#,
    );
    let (records, findings) = c.findings(annotate);
    assert_eq!(records[r].flow, records[0].flow, "one login");
    let d = with(&findings, "diagnosis.missing_offline_access");
    assert_eq!(d.len(), 1, "{findings:#?}");
    let at = findings
        .iter()
        .find(|f| f.annotation.code == "diagnosis.missing_offline_access")
        .unwrap();
    assert_eq!(at.record, r);
    assert_eq!(at.annotation.severity, Severity::Warning);
    // A refresh from another client is not joined.
    let mut c = login_without_offline("openid");
    let other = c.token(
        25,
        "grant_type=refresh_token&client_id=other&client_secret=x",
        400,
        r#"{"error":"invalid_request"}"#,
    );
    let (records, _) = c.findings(annotate);
    assert_ne!(records[other].flow, records[0].flow);
}

#[test]
fn no_refresh_token_and_no_offline_access_is_info() {
    let (records, findings) = login_without_offline("openid%20profile").findings(annotate);
    let a = one(&findings, "diagnosis.missing_offline_access");
    assert_eq!(findings.len(), 1);
    assert_eq!(a.severity, Severity::Info);
    assert_eq!(a.evidence["authorize_request"], records[0].id.as_str());
    assert_eq!(a.evidence["scope"], "openid profile");
    assert_eq!(findings[0].record, 2);
}

#[test]
fn no_offline_access_and_a_failed_refresh_is_a_warning() {
    let mut c = login_without_offline("openid%20profile");
    let r = c.token(
        3700,
        "grant_type=refresh_token&refresh_token=&client_id=app-123&client_secret=s3cr3t",
        400,
        r#"{"error":"invalid_request","error_description":"Missing parameter: refresh_token"}"#,
    );
    let (records, findings) = c.findings(annotate);
    let a = one(&findings, "diagnosis.missing_offline_access");
    assert_eq!(a.severity, Severity::Warning);
    assert_eq!(a.evidence["failed_refresh"], records[r].id.as_str());
}

#[test]
fn offline_access_asked_or_google_access_type_offline_is_not_flagged() {
    let (_, findings) = login_without_offline("openid%20offline_access").findings(annotate);
    assert!(findings.is_empty(), "{findings:#?}");
    let (_, findings) =
        login_without_offline("openid%20email&access_type=offline").findings(annotate);
    assert!(findings.is_empty(), "{findings:#?}");
}

// ---------------------------------------------------------------- token_url_not_found

#[test]
fn token_url_answering_404_suggests_the_discovered_endpoint() {
    let mut c = Capture::new();
    let d = c.push(
        0,
        Kind::Discovery,
        "GET",
        "https://login.example.org/tenant-1/v2.0/.well-known/openid-configuration",
        HeaderList::default(),
        "",
        200,
        hdrs(&[("Content-Type", "application/json")]),
        r#"{"issuer":"https://login.example.org/tenant-1/v2.0","token_endpoint":"https://login.example.org/tenant-1/oauth2/v2.0/token"}"#,
    );
    let t = c.token_at(
        5,
        "https://login.example.org/oauth2/token",
        "grant_type=client_credentials&client_id=app-123&client_secret=s3cr3t",
        404,
        "Not Found",
    );
    let (records, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.token_url_not_found"]);
    assert_eq!(findings[0].record, t);
    let a = &findings[0].annotation;
    assert_eq!(a.evidence["discovery"], records[d].id.as_str());
    assert_eq!(
        a.evidence["discovered_token_endpoint"],
        "https://login.example.org/tenant-1/oauth2/v2.0/token"
    );
    assert!(a.detail.contains("use that"));
}

#[test]
fn html_405_is_not_found_but_json_405_and_400_are_not() {
    let mut c = Capture::new();
    c.push(
        0,
        Kind::TokenRequest,
        "POST",
        "https://app.example.com/login",
        hdrs(&[("Content-Type", "application/x-www-form-urlencoded")]),
        "grant_type=client_credentials&client_id=a&client_secret=b",
        405,
        hdrs(&[("Content-Type", "text/html")]),
        "<html><body>Method Not Allowed</body></html>",
    );
    let (_, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.token_url_not_found"]);

    let mut c = Capture::new();
    c.token(
        0,
        "grant_type=client_credentials&client_id=a&client_secret=b",
        405,
        r#"{"error":"invalid_request","error_description":"use POST"}"#,
    );
    c.token(1, &code_body("x"), 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    assert!(with(&findings, "diagnosis.token_url_not_found").is_empty());
}

// ---------------------------------------------------------------- invalid_client_credentials

#[test]
fn invalid_client_with_a_plus_in_a_raw_basic_secret() {
    use base64::Engine as _;
    let mut c = Capture::new();
    let t = c.token(
        0,
        "grant_type=client_credentials&scope=api",
        401,
        r#"{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}"#,
    );
    let basic = base64::engine::general_purpose::STANDARD.encode("svc-1:ab+cd%ef");
    c.records[t]
        .request
        .headers
        .push("Authorization", format!("Basic {basic}"));
    c.records[t].flavour = Some(Flavour {
        number: Some(5),
        client_auth: "basic_raw".into(),
        body: "form".into(),
        note: None,
    });
    c.records[t].annotations.push(Annotation::new(
        "client_auth.basic_not_urlencoded",
        Severity::Warning,
        "raw",
        "",
        json!({}),
    ));
    let (_, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.invalid_client_credentials"]);
    let a = &findings[0].annotation;
    assert_eq!(a.evidence["flavour"]["number"], 5);
    assert_eq!(a.evidence["basic_not_urlencoded"], true);
    assert_eq!(a.evidence["client_id"], "svc-1");
    assert!(!a.evidence["secret_special_chars"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(a.evidence["probe"].as_str().unwrap().starts_with(
        "oauthscope probe --token-url https://idp.example.com/token --client-id svc-1"
    ));
    assert!(!a.to_string_lossy().contains("ab+cd"));
}

#[test]
fn entra_secret_id_instead_of_value() {
    let mut c = Capture::new();
    c.token_at(
        0,
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
        "grant_type=client_credentials&client_id=0f1e&client_secret=8a7f-id&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.","error_codes":[7000215]}"#,
    );
    let (_, findings) = c.findings(annotate);
    let a = one(&findings, "diagnosis.invalid_client_credentials");
    assert!(a.detail.contains("secret's ID"), "{}", a.detail);
    assert_eq!(a.evidence["error"]["aadsts"], json!([7000215]));
}

#[test]
fn accepted_credentials_and_grant_errors_are_not_client_errors() {
    let mut c = Capture::new();
    c.token(
        0,
        "grant_type=client_credentials&client_id=a&client_secret=b",
        200,
        r#"{"access_token":"at","token_type":"Bearer","expires_in":300}"#,
    );
    c.token(1, &code_body("x"), 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    assert!(with(&findings, "diagnosis.invalid_client_credentials").is_empty());
}

// ---------------------------------------------------------------- grant_type_not_enabled

#[test]
fn unauthorized_client_for_client_credentials_is_grant_not_enabled() {
    let mut c = Capture::new();
    c.token(
        0,
        "grant_type=client_credentials&client_id=spa-1&client_secret=x",
        400,
        r#"{"error":"unauthorized_client","error_description":"The client is not authorized to use this grant type"}"#,
    );
    let (_, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.grant_type_not_enabled"]);
    let a = &findings[0].annotation;
    assert_eq!(a.evidence["grant_type"], "client_credentials");
    assert_eq!(a.evidence["standard_grant_type"], true);
    assert!(a.title.contains("client_credentials"));
}

#[test]
fn keycloak_401_unauthorized_client_is_credentials_not_grant() {
    let mut c = Capture::new();
    c.token_at(
        0,
        "https://sso.example.com/realms/acme/protocol/openid-connect/token",
        "grant_type=client_credentials&client_id=svc&client_secret=wrong",
        401,
        r#"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#,
    );
    let (_, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.invalid_client_credentials"]);
}

// ---------------------------------------------------------------- silent_auth_failed

#[test]
fn login_required_after_prompt_none_is_silent_auth_failed_once() {
    let mut c = Capture::new();
    c.authorize(
        0,
        "response_type=code&client_id=app-123&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&scope=openid&state=st-9&prompt=none",
    );
    let r = c.push(
        0,
        Kind::AuthorizationResponse,
        "GET",
        &format!("{IDP}/authorize/resume"),
        HeaderList::default(),
        "",
        302,
        hdrs(&[(
            "Location",
            &format!("{APP_CB}?error=login_required&state=st-9"),
        )]),
        "",
    );
    c.callback(1, &format!("{APP_CB}?error=login_required&state=st-9"));
    let (records, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.silent_auth_failed"]);
    assert_eq!(findings[0].record, r);
    let a = &findings[0].annotation;
    assert_eq!(a.severity, Severity::Info);
    assert_eq!(a.evidence["authorize_request"], records[0].id.as_str());
    assert!(a.detail.contains("fall back to an interactive login"));
}

#[test]
fn login_required_without_prompt_none_is_not_silent_auth() {
    let mut c = Capture::new();
    c.authorize(
        0,
        "response_type=code&client_id=app-123&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&scope=openid&state=st-9&prompt=login",
    );
    c.auth_response(3, &format!("{APP_CB}?error=login_required&state=st-9"));
    let (_, findings) = c.findings(annotate);
    assert!(findings.is_empty(), "{findings:#?}");
}

// ---------------------------------------------------------------- orchestrator

#[test]
fn reuse_is_diagnosed_through_the_orchestrator() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    c.token(22, &code_body("code-abc"), 200, TOKENS_OK);
    let second = c.token(23, &code_body("code-abc"), 400, INVALID_GRANT);
    let second_id = c.records[second].id.clone();
    let mut shuffled = c.records.clone();
    shuffled.reverse();
    let out = crate::analyze::analyze(&shuffled, &AnalyzeOptions::default());
    let rec = out.iter().find(|r| r.id == second_id).unwrap();
    let a = rec
        .annotations
        .iter()
        .find(|a| a.code == "diagnosis.code_reused")
        .expect("diagnosis.code_reused on the second exchange");
    assert_eq!(a.evidence["first_exchange_succeeded"], true);
    let diagnosed: usize = out
        .iter()
        .map(|r| {
            r.annotations
                .iter()
                .filter(|a| a.code.starts_with("diagnosis."))
                .count()
        })
        .sum();
    assert_eq!(diagnosed, 1);
}

#[test]
fn google_token_leg_redirect_mismatch_with_identical_legs_points_at_registration() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    c.token_at(
        22,
        "https://oauth2.googleapis.com/token",
        &code_body("code-abc"),
        400,
        r#"{"error":"redirect_uri_mismatch","error_description":"Bad Request"}"#,
    );
    let (_, findings) = c.findings(annotate);
    assert_eq!(codes(&findings), ["diagnosis.redirect_uri_mismatch"]);
    let a = &findings[0].annotation;
    assert_eq!(a.evidence["legs_identical"], true);
    assert!(a.detail.contains("registered"), "{}", a.detail);
}

#[test]
fn code_delivery_time_is_rfc3339() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    c.token(20 + 900, &code_body("code-abc"), 400, INVALID_GRANT);
    let (_, findings) = c.findings(annotate);
    let a = one(&findings, "diagnosis.code_expired");
    // Delivered when the redirect's response arrived (request time + duration).
    assert_eq!(a.evidence["code_delivered_at"], "2026-03-02T09:15:20.12Z");
    assert_eq!(
        a.title,
        "The authorization code expired before it was redeemed: 15 min old when exchanged"
    );
}

#[test]
fn github_error_hidden_in_a_200_form_body_is_diagnosed() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let gh = "https://github.com/login/oauth/access_token";
    let form = |c: &mut Capture, secs, body: &str| {
        c.push(
            secs,
            Kind::TokenRequest,
            "POST",
            gh,
            hdrs(&[("Content-Type", "application/x-www-form-urlencoded")]),
            &format!("grant_type=authorization_code&code=code-abc&client_id=app-123&client_secret=s3cr3t&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&code_verifier={VERIFIER}"),
            200,
            hdrs(&[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]),
            body,
        )
    };
    let first = form(
        &mut c,
        22,
        "access_token=gho_abc&scope=repo&token_type=bearer",
    );
    form(
        &mut c,
        23,
        "error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.",
    );
    let (records, findings) = c.findings(annotate);
    // GitHub issues no refresh token without an offline scope: no missing_offline_access either.
    assert_eq!(codes(&findings), ["diagnosis.code_reused"]);
    let a = &findings[0].annotation;
    assert_eq!(a.evidence["first_exchange"], records[first].id.as_str());
    assert_eq!(a.evidence["first_exchange_succeeded"], true);
}

// ---------------------------------------------------------------- client_grant_missing

#[test]
fn client_credentials_refused_for_a_missing_client_grant() {
    let mut c = Capture::new();
    let i = c.token_at(
        0,
        "https://acme.us.auth0.com/oauth/token",
        "grant_type=client_credentials&client_id=m2m&client_secret=s3cr3t&audience=https%3A%2F%2Fapi.example.com%2F",
        403,
        r#"{"error":"access_denied","error_description":"Client is not authorized to access \"https://api.example.com/\". You need to create a \"client-grant\" associated to this API."}"#,
    );
    let (_, findings) = c.findings(annotate);
    let d = with(&findings, "diagnosis.client_grant_missing");
    assert_eq!(d.len(), 1, "{findings:#?}");
    assert_eq!(
        d[0].annotation.evidence["audience"],
        "https://api.example.com/"
    );
    assert!(
        d[0].annotation.detail.contains("Machine to Machine"),
        "{}",
        d[0].annotation.detail
    );
    assert!(findings.iter().all(|f| f.record == i));
    assert!(with(&findings, "diagnosis.access_denied").is_empty());
}

#[test]
fn a_users_missing_consent_at_the_token_endpoint_is_not_a_client_grant() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    c.token_at(
        20,
        "https://login.microsoftonline.com/common/oauth2/token",
        &format!("{}&resource=https%3A%2F%2Fexample.sharepoint.com", code_body("code-abc")),
        400,
        r#"{"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented to use the application.","error_codes":[65001]}"#,
    );
    let (_, findings) = c.findings(annotate);
    assert!(
        with(&findings, "diagnosis.client_grant_missing").is_empty(),
        "{findings:#?}"
    );
}

// ---------------------------------------------------------------- outcome

/// A failed attempt that a retry recovered from keeps its diagnosis, lowered
/// to warning and naming the success; the success says `recovered`.
#[test]
fn a_recovered_failure_keeps_its_diagnosis_at_warning() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let bad = c.token(
        22,
        "grant_type=authorization_code&code=code-abc&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&client_id=app-123&client_secret=s3cr3t&code_verifier=wrong-verifier-wrong-verifier-wrong-verifier-00",
        400,
        INVALID_GRANT,
    );
    c.login(60, "st-2", "code-def", "");
    let good = c.token(82, &code_body("code-def"), 200, TOKENS_OK);
    let records = crate::analyze::analyze(&c.records, &AnalyzeOptions::default());
    let pkce = records[bad]
        .annotations
        .iter()
        .find(|a| a.code == "diagnosis.pkce_mismatch")
        .expect("the failed attempt keeps its diagnosis");
    assert_eq!(pkce.severity, Severity::Warning);
    assert_eq!(pkce.evidence["recovered_by"], records[good].id.as_str());
    assert!(records[good]
        .annotations
        .iter()
        .any(|a| a.code == "diagnosis.recovered"));
    assert!(
        records.iter().flat_map(|r| &r.annotations).all(|a| {
            a.severity != Severity::Error
                || a.code.starts_with("error.")
                || a.code.starts_with("pkce.")
        }),
        "no diagnosis left at error"
    );
}

/// A placeholder sent where the login delivered one code nobody redeemed:
/// the code was replaced (HubSpot's "missing or unknown auth code" after a
/// hard-coded `code=codecodecode`); the exchange joins its login by the
/// redirect_uri it names.
#[test]
fn a_placeholder_code_is_a_replaced_code_and_joins_its_login() {
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    let t = c.token(
        22,
        "grant_type=authorization_code&code=codecodecode&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&client_id=app-123&client_secret=s3cr3t",
        400,
        r#"{"error":"invalid_grant","error_description":"missing or unknown auth code"}"#,
    );
    let (records, findings) = c.findings(annotate);
    assert_eq!(
        records[t].flow, records[0].flow,
        "joined by its redirect_uri"
    );
    let d = with(&findings, "diagnosis.code_altered");
    assert_eq!(d.len(), 1, "{findings:#?}");
    assert_eq!(d[0].annotation.evidence["kinds"][0], "replaced");
    assert!(!d[0].annotation.detail.contains("codecodecode"));
    // Once that code was redeemed, a second exchange with another value
    // is no replacement of it.
    let mut c = Capture::new();
    c.login(0, "st-1", "code-abc", "");
    c.token(22, &code_body("code-abc"), 200, TOKENS_OK);
    c.token(
        30,
        "grant_type=authorization_code&code=codecodecode&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&client_id=app-123&client_secret=s3cr3t",
        400,
        r#"{"error":"invalid_grant"}"#,
    );
    let (_, findings) = c.findings(annotate);
    assert!(
        with(&findings, "diagnosis.code_altered").is_empty(),
        "{findings:#?}"
    );
}

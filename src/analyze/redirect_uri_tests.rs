//! Tests for the redirect_uri diff and rule.

use super::*;
use crate::analyze::authorize::strip_response_params;
use crate::analyze::testkit::*;
#[allow(unused_imports)]
use crate::record::{Annotation, Severity};

fn kinds(e: &str, a: &str) -> Vec<&'static str> {
    diff(e, a).kind_codes()
}

#[test]
fn identical_strings_have_no_diff() {
    let d = diff("https://app.example.com/cb", "https://app.example.com/cb");
    assert!(d.is_equal());
    assert!(d.kinds.is_empty());
    assert_eq!(d.caret, "");
}

#[test]
fn each_kind_individually() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "http://localhost:8000/callback",
            "http://localhost:8000/callback/",
            &["trailing_slash"],
        ),
        ("https://a.com", "https://a.com/", &["trailing_slash"]),
        (
            "http://app.example.com/cb",
            "https://app.example.com/cb",
            &["scheme"],
        ),
        (
            "https://app.example.com/cb",
            "https://www.example.com/cb",
            &["host"],
        ),
        (
            "http://localhost:8000/cb",
            "http://LOCALHOST:8000/cb",
            &["host_case"],
        ),
        (
            "http://localhost:8000/cb",
            "http://127.0.0.1:8000/cb",
            &["loopback_alias"],
        ),
        (
            "http://127.0.0.1:8000/cb",
            "http://[::1]:8000/cb",
            &["loopback_alias"],
        ),
        (
            "http://localhost:3000/cb",
            "http://localhost:3001/cb",
            &["port"],
        ),
        ("https://a.com:443/cb", "https://a.com/cb", &["port"]),
        ("https://a.com/callback", "https://a.com/login", &["path"]),
        (
            "https://a.com/callback",
            "https://a.com/Callback",
            &["path_case"],
        ),
        (
            "https://a.com/cb/x",
            "https://a.com/cb%2Fx",
            &["percent_encoding"],
        ),
        (
            "https://a.com/cb?x=a+b",
            "https://a.com/cb?x=a%20b",
            &["percent_encoding"],
        ),
        ("https://a.com/cb", "https://a.com/cb?next=/x", &["query"]),
        ("https://a.com/cb", "https://a.com/cb#x", &["fragment"]),
        ("https://a.com/cb", " https://a.com/cb", &["whitespace"]),
        ("https://a.com/cb", "https://a.com/cb\n", &["whitespace"]),
        (
            "https://a.com/cb",
            "https%3A%2F%2Fa.com%2Fcb",
            &["percent_encoding"],
        ),
    ];
    for (e, a, want) in cases {
        assert_eq!(kinds(e, a), *want, "{e:?} vs {a:?}");
    }
}

#[test]
fn default_port_note_says_parsers_agree() {
    let d = diff("https://a.com:443/cb", "https://a.com/cb");
    assert_eq!(d.kind_codes(), ["port"]);
    assert!(d.note.unwrap().contains("URL parsers treat them as equal"));
    // A real port change has no such note.
    assert!(diff("https://a.com:8443/cb", "https://a.com/cb")
        .note
        .is_none());
}

#[test]
fn combined_case_lists_every_kind() {
    let d = diff(
        "http://localhost:8000/callback",
        " https://127.0.0.1:8001/Callback/?x=1#f",
    );
    assert_eq!(
        d.kind_codes(),
        [
            "trailing_slash",
            "scheme",
            "loopback_alias",
            "port",
            "path_case",
            "query",
            "fragment",
            "whitespace"
        ]
    );
}

#[test]
fn caret_points_at_first_difference() {
    let e = "http://localhost:8000/callback";
    let a = "http://localhost:8000/callback/";
    let d = diff(e, a);
    assert_eq!(d.first_difference, Some(e.len()));
    assert_eq!(d.caret, format!("{}^", " ".repeat(30)));
    let d = diff("https://a.com/Cb", "https://a.com/cb");
    assert_eq!(d.first_difference, Some(14));
    assert_eq!(&"https://a.com/cb"[14..15], "c");
    assert_eq!(d.caret.len(), 15);
    // Chars, not bytes.
    let d = diff("https://ä.com/x", "https://ä.com/y");
    assert_eq!(d.first_difference, Some(14));
}

const AUTH: &str = "https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcallback&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

fn flow(token_redirect: Option<&str>, callback_url: &str) -> Vec<Record> {
    let mut form = "grant_type=authorization_code&code=c1&client_id=app&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_string();
    if let Some(r) = token_redirect {
        form.push_str("&redirect_uri=");
        form.push_str(&url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>());
    }
    vec![
        authorize("1", 0, AUTH),
        auth_response("2", 5, callback_url),
        callback("3", 6, callback_url),
        token(
            "4",
            7,
            &form,
            r#"{"access_token":"at","token_type":"Bearer"}"#,
        ),
    ]
}

#[test]
fn clean_flow_has_no_findings() {
    let (_, f) = run(
        annotate,
        flow(
            Some("http://localhost:8000/callback"),
            "http://localhost:8000/callback?code=c1&state=s1&scope=openid",
        ),
        &AnalyzeOptions {
            registered_redirects: vec!["http://localhost:8000/callback".into()],
        },
    );
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn token_trailing_slash_is_a_mismatch_with_evidence() {
    let (recs, f) = run(
        annotate,
        flow(
            Some("http://localhost:8000/callback/"),
            "http://localhost:8000/callback?code=c1&state=s1",
        ),
        &AnalyzeOptions::default(),
    );
    assert_eq!(f.len(), 1, "{f:#?}");
    let a = &f[0].annotation;
    assert_eq!(recs[f[0].record].kind, Kind::TokenRequest);
    assert_eq!(a.code, "redirect_uri.mismatch");
    assert_eq!(a.severity, Severity::Error);
    assert_eq!(
        a.title,
        "redirect_uri differs between the legs: trailing slash"
    );
    assert_eq!(a.evidence["kinds"], json!(["trailing_slash"]));
    assert_eq!(a.evidence["expected"], "http://localhost:8000/callback");
    assert_eq!(a.evidence["actual"], "http://localhost:8000/callback/");
    assert_eq!(a.evidence["caret"], format!("{}^", " ".repeat(30)));
    assert_eq!(a.evidence["authorize_record"], recs[0].id);
    assert_eq!(a.evidence["token_record"], recs[3].id);
}

#[test]
fn callback_at_other_uri_is_a_mismatch_on_response_and_callback() {
    let (recs, f) = run(
        annotate,
        flow(
            Some("http://localhost:8000/callback"),
            "http://127.0.0.1:8000/callback?state=s1&code=c1",
        ),
        &AnalyzeOptions::default(),
    );
    let m = with_code(&f, "redirect_uri.mismatch");
    assert_eq!(m.len(), 2, "{f:#?}");
    assert_eq!(recs[m[0].record].kind, Kind::AuthorizationResponse);
    assert_eq!(recs[m[1].record].kind, Kind::Callback);
    for x in &m {
        assert_eq!(x.annotation.evidence["kinds"], json!(["loopback_alias"]));
        assert_eq!(
            x.annotation.evidence["actual"],
            "http://127.0.0.1:8000/callback"
        );
    }
    assert_eq!(m[1].annotation.evidence["callback_record"], recs[2].id);
}

#[test]
fn callback_query_of_the_redirect_uri_itself_is_kept() {
    let auth = "https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%3Ftenant%3Dx&state=s1";
    let recs = vec![
        authorize("1", 0, auth),
        callback(
            "2",
            5,
            "https://app.example.com/cb?tenant=x&code=c1&state=s1",
        ),
    ];
    let (_, f) = run(annotate, recs, &AnalyzeOptions::default());
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn loopback_port_differs_token_still_mismatch() {
    let auth = "https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A51000%2Fcb&state=s1";
    let recs = vec![
        authorize("1", 0, auth),
        callback("2", 5, "http://127.0.0.1:51000/cb?code=c1&state=s1"),
        token(
            "3",
            6,
            "grant_type=authorization_code&code=c1&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A51001%2Fcb",
            "{}",
        ),
    ];
    let (_, f) = run(
        annotate,
        recs,
        &AnalyzeOptions {
            registered_redirects: vec!["http://127.0.0.1/cb".into()],
        },
    );
    let m = with_code(&f, "redirect_uri.mismatch");
    assert_eq!(m.len(), 1, "{f:#?}");
    assert_eq!(m[0].annotation.evidence["kinds"], json!(["port"]));
    assert!(m[0].annotation.evidence["note"]
        .as_str()
        .unwrap()
        .contains("RFC 8252"));
    // Against the registered URI the port-only difference is fine, and said so.
    assert!(with_code(&f, "redirect_uri.not_registered").is_empty());
    let lp = with_code(&f, "redirect_uri.loopback_port");
    assert_eq!(lp.len(), 1);
    assert_eq!(lp[0].annotation.severity, Severity::Info);
    assert!(lp[0].annotation.evidence["note"]
        .as_str()
        .unwrap()
        .contains("any port"));
}

#[test]
fn localhost_port_against_registered_is_not_exempt() {
    let auth = "https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2Flocalhost%3A51000%2Fcb&state=s1";
    let (_, f) = run(
        annotate,
        vec![authorize("1", 0, auth)],
        &AnalyzeOptions {
            registered_redirects: vec!["http://localhost:3000/cb".into()],
        },
    );
    let n = with_code(&f, "redirect_uri.not_registered");
    assert_eq!(n.len(), 1, "{f:#?}");
    assert_eq!(n[0].annotation.evidence["kinds"], json!(["port"]));
}

#[test]
fn missing_in_token_request() {
    let (recs, f) = run(
        annotate,
        flow(None, "http://localhost:8000/callback?code=c1&state=s1"),
        &AnalyzeOptions::default(),
    );
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "redirect_uri.missing");
    assert_eq!(f[0].annotation.severity, Severity::Error);
    assert_eq!(f[0].annotation.evidence["token_record"], recs[3].id);
    assert_eq!(
        f[0].annotation.evidence["expected"],
        "http://localhost:8000/callback"
    );
}

#[test]
fn not_registered_names_closest_with_kinds_and_caret() {
    let (recs, f) = run(
        annotate,
        flow(
            Some("http://localhost:8000/callback"),
            "http://localhost:8000/callback?code=c1&state=s1",
        ),
        &AnalyzeOptions {
            registered_redirects: vec![
                "https://app.example.com/auth/callback".into(),
                "http://localhost:8000/callback/".into(),
            ],
        },
    );
    let n = with_code(&f, "redirect_uri.not_registered");
    assert_eq!(n.len(), 1, "{f:#?}");
    let ev = &n[0].annotation.evidence;
    assert_eq!(n[0].record, 0);
    assert_eq!(ev["closest_registered"], "http://localhost:8000/callback/");
    assert_eq!(ev["kinds"], json!(["trailing_slash"]));
    assert_eq!(ev["caret"], format!("{}^", " ".repeat(30)));
    assert_eq!(ev["authorize_record"], recs[0].id);
    assert_eq!(
        n[0].annotation.title,
        "redirect_uri not registered: trailing slash"
    );
}

#[test]
fn par_redirect_uri_is_used() {
    let recs = vec![
        par(
            "1",
            0,
            "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s9",
            "urn:ietf:params:oauth:request_uri:abc",
        ),
        authorize(
            "2",
            1,
            "https://idp.example.com/authorize?client_id=app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc",
        ),
        callback("3", 5, "https://app.example.com/cb?code=c9&state=s9"),
        token(
            "4",
            6,
            "grant_type=authorization_code&code=c9&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%2F",
            "{}",
        ),
    ];
    let (recs, f) = run(annotate, recs, &AnalyzeOptions::default());
    let m = with_code(&f, "redirect_uri.mismatch");
    assert_eq!(m.len(), 1, "{f:#?}");
    assert_eq!(m[0].annotation.evidence["authorize_record"], recs[0].id);
    assert_eq!(m[0].annotation.evidence["kinds"], json!(["trailing_slash"]));
}

#[test]
fn json_token_body_and_token_only() {
    let auth = "https://idp.example.com/authorize?response_type=code&client_id=app&state=s1";
    let recs = vec![
        authorize("1", 0, auth),
        callback("2", 5, "https://app.example.com/cb?code=c1&state=s1"),
        token_json(
            "3",
            6,
            r#"{"grant_type":"authorization_code","code":"c1","redirect_uri":"https://app.example.com/cb"}"#,
            "{}",
        ),
    ];
    let (_, f) = run(annotate, recs, &AnalyzeOptions::default());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].annotation.code, "redirect_uri.token_only");
}

#[test]
fn strip_response_params_keeps_own_query_raw() {
    assert_eq!(
        strip_response_params("https://a.com/cb?x=%2F&code=1&state=2#id_token=x"),
        "https://a.com/cb?x=%2F"
    );
    assert_eq!(
        strip_response_params("https://a.com/cb?code=1&state=2"),
        "https://a.com/cb"
    );
}

/// Codes of this branch's rule families on analysed records.
fn my_codes(recs: &[Record]) -> Vec<String> {
    recs.iter()
        .flat_map(|r| r.annotations.iter())
        .filter(|a| {
            ["redirect_uri.", "pkce.", "state.", "jwt."]
                .iter()
                .any(|p| a.code.starts_with(p))
        })
        .map(|a| format!("{} ({})", a.code, a.severity))
        .collect()
}

fn full_flow(token_redirect: &str, verifier: &str) -> Vec<Record> {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = json!({
        "iss": "https://idp.example.com",
        "aud": "app",
        "sub": "u1",
        "nonce": "n1",
        "iat": at(0).unix_timestamp(),
        "exp": at(3600).unix_timestamp(),
    });
    let id_token = format!(
        "{}.{}.{}",
        b.encode(r#"{"alg":"RS256","kid":"k1"}"#),
        b.encode(claims.to_string()),
        b.encode([7u8; 64])
    );
    vec![
        discovery(
            "1",
            0,
            "https://idp.example.com/.well-known/openid-configuration",
            r#"{"issuer":"https://idp.example.com","token_endpoint":"https://idp.example.com/oauth2/token"}"#,
        ),
        authorize(
            "2",
            1,
            "https://idp.example.com/authorize?response_type=code&client_id=app&scope=openid&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcallback&state=st-4f1c&nonce=n1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        ),
        auth_response(
            "3",
            20,
            "http://localhost:8000/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=st-4f1c",
        ),
        callback(
            "4",
            21,
            "http://localhost:8000/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=st-4f1c",
        ),
        token(
            "5",
            22,
            &format!(
                "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&client_id=app&redirect_uri={}&code_verifier={verifier}",
                url::form_urlencoded::byte_serialize(token_redirect.as_bytes()).collect::<String>()
            ),
            &json!({"access_token": "2YotnFZFEjr1zCsicMWpAA", "token_type": "Bearer", "expires_in": 3600, "id_token": id_token}).to_string(),
        ),
    ]
}

#[test]
fn whole_clean_flow_through_analyze_and_its_redacted_export() {
    let opts = AnalyzeOptions {
        registered_redirects: vec!["http://localhost:8000/callback".into()],
    };
    let recs = full_flow(
        "http://localhost:8000/callback",
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    );
    let analysed = crate::analyze::analyze(&recs, &opts);
    assert!(my_codes(&analysed).is_empty(), "{:?}", my_codes(&analysed));
    let redacted = crate::redact::Redactor::with_salt([1; 16]).redact_records(&analysed);
    let again = crate::analyze::analyze(&redacted, &opts);
    assert!(my_codes(&again).is_empty(), "{:?}", my_codes(&again));
}

#[test]
fn broken_flow_keeps_redirect_finding_after_redaction_without_false_pkce() {
    let opts = AnalyzeOptions::default();
    let recs = full_flow(
        "http://localhost:8000/callback/",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    let analysed = crate::analyze::analyze(&recs, &opts);
    assert_eq!(
        my_codes(&analysed),
        ["redirect_uri.mismatch (error)", "pkce.mismatch (error)"]
    );
    let redacted = crate::redact::Redactor::with_salt([1; 16]).redact_records(&analysed);
    let again = crate::analyze::analyze(&redacted, &opts);
    // The verifier is now a fingerprint: PKCE is not judged; the redirect diff still is.
    assert_eq!(my_codes(&again), ["redirect_uri.mismatch (error)"]);
}

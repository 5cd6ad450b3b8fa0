//! Unit tests of the `flavour` rule family.

use super::*;
use crate::analyze::testkit::{basic, token_form_auth, token_json_auth, token_request};
use crate::record::{Annotation, Severity};

const SECRET_RAW: &str = "p+s/=% x:9";
/// `SECRET_RAW` form-urlencoded per RFC 6749 §2.3.1.
const SECRET_ENC: &str = "p%2Bs%2F%3D%25+x%3A9";
const CODE_BODY: &str = "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CODE_JSON: &str = r#"{"grant_type":"authorization_code","code":"c0de","redirect_uri":"https://app.example.com/cb"}"#;

fn flav(r: &Record) -> Flavour {
    detect(r).expect("token requests always get a flavour")
}

fn codes(r: &Record) -> Vec<(String, Severity)> {
    crate::analyze::testkit::findings(annotate, std::slice::from_ref(r))
        .into_iter()
        .map(|f| (f.annotation.code, f.annotation.severity))
        .collect()
}

fn finding(r: &Record, code: &str) -> Annotation {
    crate::analyze::testkit::findings(annotate, std::slice::from_ref(r))
        .into_iter()
        .map(|f| f.annotation)
        .find(|a| a.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", codes(r)))
}

fn no_warnings(r: &Record) {
    let bad: Vec<_> = codes(r)
        .into_iter()
        .filter(|(_, s)| *s > Severity::Info)
        .collect();
    assert!(bad.is_empty(), "unexpected findings {bad:?}");
}

#[test]
fn flavour_1_basic_urlencoded_form() {
    let r = token_form_auth("t1", 0, Some(&basic("app", SECRET_ENC)), CODE_BODY);
    let f = flav(&r);
    assert_eq!(
        (f.number, f.client_auth.as_str(), f.body.as_str()),
        (Some(1), "basic_urlencoded", "form")
    );
    // Properly encoded: no basic_not_urlencoded, no warning at all.
    no_warnings(&r);
    let a = finding(&r, "flavour.detected");
    assert_eq!(a.evidence["number"], 1);
    assert_eq!(a.evidence["client_id"], "app");
    assert!(!a.title.contains(SECRET_RAW) && !a.detail.contains(SECRET_ENC));
}

#[test]
fn flavour_2_basic_urlencoded_json() {
    let r = token_json_auth("t2", 0, Some(&basic("app", SECRET_ENC)), CODE_JSON);
    let f = flav(&r);
    assert_eq!(
        (f.number, f.client_auth.as_str(), f.body.as_str()),
        (Some(2), "basic_urlencoded", "json")
    );
    let c = codes(&r);
    assert!(c.contains(&("token_request.json_body".into(), Severity::Warning)));
    assert!(!c
        .iter()
        .any(|(c, _)| c == "client_auth.basic_not_urlencoded"));
}

#[test]
fn flavour_3_body_form() {
    let r = token_form_auth(
        "t3",
        0,
        None,
        &format!("{CODE_BODY}&client_id=app&client_secret={SECRET_ENC}"),
    );
    let f = flav(&r);
    assert_eq!(
        (f.number, f.client_auth.as_str(), f.body.as_str()),
        (Some(3), "body", "form")
    );
    no_warnings(&r);
}

#[test]
fn flavour_4_body_json() {
    let r = token_json_auth(
        "t4",
        0,
        None,
        r#"{"grant_type":"client_credentials","client_id":"app","client_secret":"s3cret"}"#,
    );
    let f = flav(&r);
    assert_eq!(
        (f.number, f.client_auth.as_str(), f.body.as_str()),
        (Some(4), "body", "json")
    );
    let a = finding(&r, "token_request.json_body");
    assert_eq!(a.severity, Severity::Warning);
    assert_eq!(a.evidence["content_type"], "application/json");
}

#[test]
fn flavour_5_basic_raw_form_warns_about_each_character() {
    let r = token_form_auth("t5", 0, Some(&basic("app", SECRET_RAW)), CODE_BODY);
    let f = flav(&r);
    assert_eq!(
        (f.number, f.client_auth.as_str(), f.body.as_str()),
        (Some(5), "basic_raw", "form")
    );
    let a = finding(&r, "client_auth.basic_not_urlencoded");
    assert_eq!(a.severity, Severity::Warning);
    assert_eq!(a.evidence["changes_value_when_decoded"], true);
    let parts = a.evidence["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1, "only the secret holds such characters");
    assert_eq!(parts[0]["part"], "client_secret");
    let chars: Vec<&str> = parts[0]["characters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["char"].as_str().unwrap())
        .collect();
    for want in ["'+'", "'/'", "'='", "space", "':'"] {
        assert!(chars.contains(&want), "{want} missing from {chars:?}");
    }
    assert!(chars.iter().any(|c| c.starts_with("'%'")), "{chars:?}");
    let plus = parts[0]["characters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["char"] == "'+'")
        .unwrap();
    assert!(plus["strict_server_reads"]
        .as_str()
        .unwrap()
        .contains("space"));
    // The secret itself never appears in the annotation.
    let text = serde_json::to_string(&a).unwrap();
    assert!(!text.contains(SECRET_RAW), "{text}");
    assert!(!a.title.contains("p+s") && !a.detail.contains("p+s"));
}

#[test]
fn flavour_6_basic_raw_json() {
    let r = token_json_auth("t6", 0, Some(&basic("app", "abc+def/ghi=")), CODE_JSON);
    let f = flav(&r);
    assert_eq!(
        (f.number, f.client_auth.as_str(), f.body.as_str()),
        (Some(6), "basic_raw", "json")
    );
    let c = codes(&r);
    assert!(c.contains(&("client_auth.basic_not_urlencoded".into(), Severity::Warning)));
    assert!(c.contains(&("token_request.json_body".into(), Severity::Warning)));
}

#[test]
fn plain_credentials_are_both_1_and_5_and_say_so() {
    let r = token_form_auth("a1", 0, Some(&basic("app-1", "S3cr3t_Value.9~")), CODE_BODY);
    let f = flav(&r);
    assert_eq!(
        (f.number, f.client_auth.as_str()),
        (Some(1), "basic_urlencoded")
    );
    assert!(
        f.note
            .as_deref()
            .unwrap()
            .starts_with("1 and 5 are the same bytes here"),
        "{f:?}"
    );
    no_warnings(&r);
    let a = finding(&r, "flavour.detected");
    assert!(a.evidence["note"]
        .as_str()
        .unwrap()
        .contains("1 and 5 are the same bytes"));

    let r = token_json_auth("a2", 0, Some(&basic("app-1", "S3cr3tValue")), CODE_JSON);
    let f = flav(&r);
    assert_eq!(f.number, Some(2));
    assert!(f
        .note
        .as_deref()
        .unwrap()
        .starts_with("2 and 6 are the same bytes here"));
}

#[test]
fn plus_alone_is_raw_but_plus_with_escapes_is_urlencoded() {
    let r = token_form_auth("p1", 0, Some(&basic("app", "abc+def")), CODE_BODY);
    assert_eq!(flav(&r).number, Some(5));
    let r = token_form_auth("p2", 0, Some(&basic("app", "abc%2Bdef+x")), CODE_BODY);
    assert_eq!(flav(&r).number, Some(1));
    // A stray '%' cannot come from an encoder: raw.
    let r = token_form_auth("p3", 0, Some(&basic("app", "100%zz")), CODE_BODY);
    assert_eq!(flav(&r).number, Some(5));
    assert_eq!(
        finding(&r, "client_auth.basic_not_urlencoded").severity,
        Severity::Warning
    );
}

#[test]
fn harmless_raw_characters_are_only_info() {
    // '/' and '=' are left alone by decoding: both kinds of server read the same.
    let r = token_form_auth("h1", 0, Some(&basic("app", "abc/def==")), CODE_BODY);
    assert_eq!(flav(&r).number, Some(5));
    let a = finding(&r, "client_auth.basic_not_urlencoded");
    assert_eq!(a.severity, Severity::Info);
    assert_eq!(a.evidence["changes_value_when_decoded"], false);
}

#[test]
fn urlencoded_client_id_is_decoded() {
    let r = token_form_auth("u1", 0, Some(&basic("my%20app", "x%2By")), CODE_BODY);
    match authorization(&r.request.headers) {
        AuthHeader::Basic(c) => {
            assert_eq!(c.encoding, BasicEncoding::UrlEncoded);
            assert_eq!(c.client_id(), "my app");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(client_id(&r).as_deref(), Some("my app"));
}

fn jwt(header: &str) -> String {
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b.encode(header),
        b.encode(r#"{"iss":"app","sub":"app","aud":"https://login.example.com/oauth2/token","exp":1750000300,"jti":"j1"}"#)
    )
}

fn assertion_body(alg: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id=app&client_assertion_type={}&client_assertion={}",
        urlenc(JWT_BEARER),
        jwt(&format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"k1"}}"#))
    )
}

fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn private_key_jwt_and_client_secret_jwt() {
    for alg in ["RS256", "ES384", "PS256", "EdDSA"] {
        let r = token_form_auth("j1", 0, None, &assertion_body(alg));
        let f = flav(&r);
        assert_eq!(
            (f.number, f.client_auth.as_str()),
            (None, "private_key_jwt"),
            "{alg}"
        );
        no_warnings(&r);
    }
    let r = token_form_auth("j2", 0, None, &assertion_body("HS256"));
    let f = flav(&r);
    assert_eq!(
        (f.number, f.client_auth.as_str()),
        (None, "client_secret_jwt")
    );
    assert!(f.note.unwrap().contains("HS256"));
    no_warnings(&r);
}

#[test]
fn broken_assertions_are_flagged() {
    let r = token_form_auth("j3", 0, None, &assertion_body("none"));
    assert_eq!(
        finding(&r, "client_auth.assertion_malformed").evidence["reason"],
        "alg_none"
    );
    let r = token_form_auth(
        "j4",
        0,
        None,
        &format!(
            "grant_type=client_credentials&client_assertion={}",
            jwt(r#"{"alg":"RS256"}"#)
        ),
    );
    assert_eq!(flav(&r).client_auth, "private_key_jwt");
    assert_eq!(
        finding(&r, "client_auth.assertion_type").evidence["actual"],
        serde_json::Value::Null
    );
}

#[test]
fn public_pkce_client() {
    let r = token_form_auth("pk", 0, None, &format!("{CODE_BODY}&client_id=spa-app"));
    let f = flav(&r);
    assert_eq!(
        (f.number, f.client_auth.as_str(), f.body.as_str()),
        (None, "none", "form")
    );
    assert!(f.note.unwrap().contains("PKCE"));
    no_warnings(&r);
    assert_eq!(client_id(&r).as_deref(), Some("spa-app"));
}

#[test]
fn basic_and_body_secret_is_multiple_methods() {
    let r = token_form_auth(
        "m1",
        0,
        Some(&basic("app", "s3cret")),
        &format!("{CODE_BODY}&client_id=app&client_secret=s3cret"),
    );
    let f = flav(&r);
    assert_eq!((f.number, f.client_auth.as_str()), (None, "multiple"));
    let a = finding(&r, "client_auth.multiple_methods");
    assert_eq!(a.severity, Severity::Error);
    assert_eq!(a.evidence["methods"].as_array().unwrap().len(), 2);
    assert!(!serde_json::to_string(&a).unwrap().contains("s3cret"));

    // Basic + client_assertion is also two methods.
    let r = token_form_auth(
        "m2",
        0,
        Some(&basic("app", "s3cret")),
        &assertion_body("RS256"),
    );
    assert_eq!(flav(&r).client_auth, "multiple");
    // Basic + a client_id in the body (no secret) is fine (RFC 6749 §4.1.3).
    let r = token_form_auth(
        "m3",
        0,
        Some(&basic("app", "s3cret")),
        &format!("{CODE_BODY}&client_id=app"),
    );
    assert_eq!(flav(&r).number, Some(1));
    no_warnings(&r);
}

#[test]
fn each_malformed_basic_case() {
    let cases = [
        ("Basic !!!not-base64!!!", "bad_base64"),
        ("Basic bm9jb2xvbg==", "no_colon"), // "nocolon"
        ("Basic //79", "not_utf8"),         // ff fe fd
    ];
    for (h, reason) in cases {
        let r = token_form_auth("b1", 0, Some(h), CODE_BODY);
        let f = flav(&r);
        assert_eq!(
            (f.number, f.client_auth.as_str()),
            (None, "basic_malformed"),
            "{h}"
        );
        let a = finding(&r, "client_auth.basic_malformed");
        assert_eq!(a.severity, Severity::Error);
        assert_eq!(a.evidence["reason"], reason, "{h}");
    }
    // Missing padding is tolerated; lower-case scheme too.
    let r = token_form_auth("b2", 0, Some("basic YXBwOnNlY3JldA"), CODE_BODY);
    assert_eq!(flav(&r).number, Some(1));
}

#[test]
fn bearer_header_is_not_a_flavour() {
    let r = token_form_auth(
        "o1",
        0,
        Some("Bearer abc.def"),
        "grant_type=client_credentials",
    );
    let f = flav(&r);
    assert_eq!((f.number, f.client_auth.as_str()), (None, "other"));
}

#[test]
fn other_body_has_no_number() {
    let r = token_request("x1", 0, Some(&basic("app", "s")), "text/plain", "hello");
    let f = flav(&r);
    assert_eq!((f.number, f.body.as_str()), (None, "other"));
}

#[test]
fn only_client_authenticating_kinds_are_flavoured() {
    let r = crate::analyze::testkit::authorize_query("az", 0, "response_type=code&client_id=app");
    assert_eq!(detect(&r), None);
    assert!(crate::analyze::testkit::findings(annotate, &[r]).is_empty());
}

#[test]
fn analyze_sets_the_flavour_on_token_requests() {
    let r = token_form_auth("t1", 0, Some(&basic("app", SECRET_ENC)), CODE_BODY);
    let out = crate::analyze::analyze(&[r], &AnalyzeOptions::default());
    assert_eq!(out[0].flavour.as_ref().unwrap().number, Some(1));
    assert!(out[0]
        .annotations
        .iter()
        .any(|a| a.code == "flavour.detected"));
}

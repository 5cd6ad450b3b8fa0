//! Each evidence-first diagnosis: a scenario where the records prove it,
//! and a near miss where they do not. Run through the whole analysis, as a
//! user sees it.

use crate::analyze::testkit::{at, auth_response, authorize, callback, jwt, token};
use crate::analyze::{analyze, AnalyzeOptions};
use crate::record::{Annotation, Body, HeaderList, Kind, Record, Response, Severity};

const CB: &str = "https://app.example.com/cb";

fn answer(mut r: Record, status: u16, body: &str) -> Record {
    let mut h = HeaderList::default();
    h.push("Content-Type", "application/json");
    r.response = Some(Response {
        status,
        headers: h,
        body: Body::from_bytes(body.as_bytes()),
    });
    r
}

fn run(records: Vec<Record>) -> Vec<Record> {
    analyze(&records, &AnalyzeOptions::default())
}

fn found<'a>(recs: &'a [Record], code: &str) -> Vec<(&'a Record, &'a Annotation)> {
    recs.iter()
        .flat_map(|r| r.annotations.iter().map(move |a| (r, a)))
        .filter(|(_, a)| a.code == code)
        .collect()
}

fn problems(recs: &[Record]) -> Vec<String> {
    recs.iter()
        .flat_map(|r| r.annotations.iter())
        .filter(|a| a.severity >= Severity::Warning)
        .map(|a| a.code.clone())
        .collect()
}

fn login(code: &str) -> Vec<Record> {
    vec![
        authorize(
            "a1",
            0,
            &format!("https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri={CB}&state=s1"),
        ),
        auth_response("a2", 10, &format!("{CB}?code={code}&state=s1")),
        callback("a3", 11, &format!("{CB}?code={code}&state=s1")),
    ]
}

const TOKENS: &str =
    r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-1"}"#;
const BAD_GRANT: &str = r#"{"error":"invalid_grant"}"#;

#[test]
fn a_code_with_something_appended_is_altered() {
    let mut recs = login("abc123");
    recs.push(answer(
        token("t1", 12, &format!("grant_type=authorization_code&code=abc123%26scope%3Dread&redirect_uri={CB}&client_id=app&client_secret=s"), ""),
        400,
        BAD_GRANT,
    ));
    let recs = run(recs);
    let f = found(&recs, "diagnosis.code_altered");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].1.evidence["difference"], "&scope=read");
    // Near miss: the code as delivered is not altered (and reused is not claimed either).
    let mut recs = login("abc123");
    recs.push(answer(
        token("t1", 12, &format!("grant_type=authorization_code&code=abc123&redirect_uri={CB}&client_id=app&client_secret=s"), ""),
        400,
        BAD_GRANT,
    ));
    let recs = run(recs);
    assert!(found(&recs, "diagnosis.code_altered").is_empty());
    assert!(found(&recs, "diagnosis.code_reused").is_empty());
}

#[test]
fn a_code_still_url_encoded_or_cut_short_is_altered() {
    for (sent, kind) in [("a%2Fbc", "url_encoded"), ("a/", "truncated")] {
        let mut recs = login("a/bc");
        recs.push(answer(
            token(
                "t1",
                12,
                &format!(
                    "grant_type=authorization_code&code={}&client_id=app&client_secret=s",
                    sent.replace('%', "%25")
                ),
                "",
            ),
            400,
            BAD_GRANT,
        ));
        let recs = run(recs);
        let f = found(&recs, "diagnosis.code_altered");
        assert_eq!(f.len(), 1, "{sent}");
        assert_eq!(f[0].1.evidence["kinds"][0], kind, "{sent}");
    }
}

#[test]
fn reuse_needs_an_earlier_successful_exchange() {
    let body = format!(
        "grant_type=authorization_code&code=c1&redirect_uri={CB}&client_id=app&client_secret=s"
    );
    let mut recs = login("c1");
    recs.push(token("t1", 12, &body, TOKENS));
    recs.push(answer(
        token("t2", 30, &body, ""),
        400,
        r#"{"error":"invalid_request","reason":"Invalid authorization code c1"}"#,
    ));
    let out = run(recs);
    let f = found(&out, "diagnosis.code_reused");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0.id, format!("{:0>16}", "t2"));
    // Near miss: the first attempt failed, so the code was never redeemed.
    let mut recs = login("c1");
    recs.push(answer(
        token("t1", 12, &body, ""),
        401,
        r#"{"error":"invalid_client"}"#,
    ));
    recs.push(answer(
        token("t2", 30, &body, ""),
        400,
        r#"{"error":"invalid_grant","error_description":"Code not valid"}"#,
    ));
    let out = run(recs);
    assert!(found(&out, "diagnosis.code_reused").is_empty());
    // What was ruled out says so once, naming the earlier attempt, and never
    // also claims that no earlier request sent the code.
    // Every other wire cause is ruled out too, so what is left is expiry,
    // by elimination (the provider's code lifetime is unknown).
    let u = found(&out, "diagnosis.code_expired");
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].1.evidence["by_elimination"], true);
    let reasons: Vec<&serde_json::Value> = u[0].1.evidence["ruled_out"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["cause"] == "code_reused")
        .collect();
    assert_eq!(reasons.len(), 1, "{}", u[0].1.evidence);
    assert_eq!(reasons[0]["earlier_exchanges"][0], format!("{:0>16}", "t1"));
    assert!(reasons[0]["why"].as_str().unwrap().contains("any attempt"));
}

#[test]
fn an_access_token_sent_as_refresh_token_is_swapped() {
    let mut recs = login("c1");
    recs.push(token(
        "t1",
        12,
        &format!(
            "grant_type=authorization_code&code=c1&redirect_uri={CB}&client_id=app&client_secret=s"
        ),
        TOKENS,
    ));
    recs.push(answer(
        token(
            "t2",
            4000,
            "grant_type=refresh_token&refresh_token=at-1&client_id=app&client_secret=s",
            "",
        ),
        400,
        BAD_GRANT,
    ));
    let out = run(recs);
    let f = found(&out, "diagnosis.token_kind_swapped");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].1.evidence["issued_as"], "access_token");
    assert!(found(&out, "diagnosis.undetermined").is_empty());
    // Near miss: the refresh token itself is not swapped.
    let mut recs = login("c1");
    recs.push(token(
        "t1",
        12,
        &format!(
            "grant_type=authorization_code&code=c1&redirect_uri={CB}&client_id=app&client_secret=s"
        ),
        TOKENS,
    ));
    recs.push(answer(
        token(
            "t2",
            4000,
            "grant_type=refresh_token&refresh_token=rt-1&client_id=app&client_secret=s",
            "",
        ),
        400,
        BAD_GRANT,
    ));
    assert!(found(&run(recs), "diagnosis.token_kind_swapped").is_empty());
}

fn poll(id: &str, ms: i64, body: &str) -> Record {
    let mut r = token(id, 0, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc1&client_id=app", "");
    r.time = at(0) + time::Duration::milliseconds(ms);
    answer(r, 400, body)
}

fn device_start() -> Record {
    let mut r = token("d0", 0, "client_id=app&scope=read", "");
    r.kind = Kind::DeviceAuthorization;
    r.grant_type = None;
    r.request.url = "https://idp.example.com/device/code".into();
    answer(
        r,
        200,
        r#"{"device_code":"dc1","user_code":"ABCD","verification_uri":"https://idp.example.com/device","interval":5}"#,
    )
}

const PENDING: &str = r#"{"error":"authorization_pending"}"#;
const SLOW: &str = r#"{"error":"slow_down"}"#;

#[test]
fn polls_sooner_than_the_interval_in_force_are_too_fast() {
    // 5 s, then 4 s (early), slow_down raises it to 10 s, then 9 s (early).
    let recs = vec![
        device_start(),
        poll("p1", 5000, PENDING),
        poll("p2", 9000, SLOW),
        poll("p3", 18000, PENDING),
    ];
    let out = run(recs);
    let f = found(&out, "diagnosis.polling_too_fast");
    assert_eq!(f.len(), 1);
    let gaps = f[0].1.evidence["gaps"].as_array().unwrap();
    let early: Vec<bool> = gaps
        .iter()
        .map(|g| g["too_early"].as_bool().unwrap())
        .collect();
    assert_eq!(early, [false, true, true]);
    assert_eq!(gaps[2]["interval_seconds"], 10.0);
    // Pending answers are info, once.
    assert_eq!(found(&out, "error.authorization_pending").len(), 1);
    assert!(found(&out, "error.authorization_pending")
        .iter()
        .all(|(_, a)| a.severity == Severity::Info));
}

#[test]
fn polls_that_keep_the_interval_raised_by_slow_down_are_fine() {
    let recs = vec![
        device_start(),
        poll("p1", 5000, PENDING),
        poll("p2", 10000, SLOW),
        poll("p3", 20000, PENDING),
        poll("p4", 30100, PENDING),
    ];
    let out = run(recs);
    assert!(found(&out, "diagnosis.polling_too_fast").is_empty());
    assert!(problems(&out).is_empty(), "{:?}", problems(&out));
}

#[test]
fn a_secret_sent_in_basic_when_the_provider_reads_the_body_is_the_method() {
    let mut recs = login("c1");
    let mut t = token(
        "t1",
        12,
        &format!("grant_type=authorization_code&code=c1&redirect_uri={CB}"),
        "",
    );
    t.request
        .headers
        .push("Authorization", "Basic YXBwOnNlY3JldA==");
    recs.push(answer(t, 400, r#"{"error":"invalid_request","error_description":"A required parameter \"client_secret\" is missing"}"#));
    let out = run(recs);
    assert_eq!(
        found(&out, "diagnosis.client_auth_method_rejected").len(),
        1
    );
    // Near miss: the secret was in the body, and the provider says it is wrong.
    let mut recs = login("c1");
    recs.push(answer(
        token("t1", 12, &format!("grant_type=authorization_code&code=c1&redirect_uri={CB}&client_id=app&client_secret=x"), ""),
        401,
        r#"{"error":"invalid_client","error_description":"Invalid client secret"}"#,
    ));
    let out = run(recs);
    assert!(found(&out, "diagnosis.client_auth_method_rejected").is_empty());
    assert_eq!(found(&out, "diagnosis.invalid_client_credentials").len(), 1);
}

#[test]
fn a_public_client_refused_is_told_to_fix_the_registration() {
    let recs = vec![
        device_start(),
        poll(
            "p1",
            5000,
            r#"{"error":"invalid_client","error_description":"client authentication required"}"#,
        ),
    ];
    let out = run(recs);
    assert_eq!(found(&out, "diagnosis.public_client_not_allowed").len(), 1);
    assert!(found(&out, "diagnosis.invalid_client_credentials").is_empty());
}

#[test]
fn unauthorized_client_redirected_back_is_grant_not_enabled() {
    let recs = vec![
        authorize("a1", 0, &format!("https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri={CB}&state=s1")),
        auth_response("a2", 1, &format!("{CB}?error=unauthorized_client&state=s1")),
    ];
    let out = run(recs);
    assert_eq!(found(&out, "diagnosis.grant_type_not_enabled").len(), 1);
    // Near miss: the user said no.
    let recs = vec![
        authorize("a1", 0, &format!("https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri={CB}&state=s1")),
        auth_response("a2", 1, &format!("{CB}?error=access_denied&state=s1")),
    ];
    assert!(found(&run(recs), "diagnosis.grant_type_not_enabled").is_empty());
}

#[test]
fn a_second_tab_replacing_the_state_cookie_is_concurrent_logins() {
    let start = |id: &str, secs: i64, state: &str| {
        authorize(id, secs, &format!("https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri={CB}&state={state}"))
    };
    let mut cb = callback("c1", 30, &format!("{CB}?code=k1&state=first"));
    cb.request
        .headers
        .push("Cookie", "app_state=second; other=1");
    let out = run(vec![start("a1", 0, "first"), start("a2", 10, "second"), cb]);
    let f = found(&out, "diagnosis.concurrent_logins");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].1.evidence["cookie"], "app_state");
    assert!(found(&out, "state.mismatch").is_empty());
    // Near miss: the cookie holds this login's own state.
    let mut cb = callback("c1", 30, &format!("{CB}?code=k1&state=first"));
    cb.request.headers.push("Cookie", "app_state=first");
    let out = run(vec![start("a1", 0, "first"), start("a2", 10, "second"), cb]);
    assert!(found(&out, "diagnosis.concurrent_logins").is_empty());
}

#[test]
fn pkce_required_only_when_the_authorize_request_had_no_challenge() {
    let err = r#"{"error":"invalid_request","error_description":"code_challenge is required"}"#;
    let mut recs = login("c1");
    recs.push(answer(
        token(
            "t1",
            12,
            &format!("grant_type=authorization_code&code=c1&redirect_uri={CB}&client_id=app"),
            "",
        ),
        400,
        err,
    ));
    assert_eq!(found(&run(recs), "diagnosis.pkce_required").len(), 1);
    let mut recs = login("c1");
    recs[0].request.url.push_str(
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
    );
    recs.push(answer(
        token(
            "t1",
            12,
            &format!("grant_type=authorization_code&code=c1&redirect_uri={CB}&client_id=app"),
            "",
        ),
        400,
        err,
    ));
    assert!(found(&run(recs), "diagnosis.pkce_required").is_empty());
}

#[test]
fn an_assertion_from_the_future_is_clock_skew() {
    let now = at(0).unix_timestamp();
    let make = |iat: i64| {
        let a = jwt(
            &format!(
                r#"{{"iss":"app","sub":"app","aud":"https://idp.example.com/token","iat":{iat},"exp":{}}}"#,
                iat + 300
            ),
            "sig",
        );
        let mut t = token("t1", 0, &format!("grant_type=client_credentials&client_id=app&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={a}"), "");
        t = answer(
            t,
            400,
            r#"{"error":"invalid_client","error_description":"assertion not yet valid"}"#,
        );
        t.response
            .as_mut()
            .unwrap()
            .headers
            .push("Date", "Wed, 01 May 2024 10:00:00 GMT");
        t
    };
    let out = run(vec![make(now + 600)]);
    let f = found(&out, "diagnosis.clock_skew");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].1.evidence["skew_seconds"], 600);
    // Near miss: 30 s ahead is within tolerance.
    assert!(found(&run(vec![make(now + 30)]), "diagnosis.clock_skew").is_empty());
}

#[test]
fn an_apple_client_secret_valid_for_a_year_is_too_long() {
    let now = at(0).unix_timestamp();
    let make = |life: i64| {
        let s = jwt(
            &format!(
                r#"{{"iss":"TEAM","sub":"com.app","aud":"https://appleid.apple.com","iat":{now},"exp":{}}}"#,
                now + life
            ),
            "sig",
        );
        let mut t = token(
            "t1",
            0,
            &format!("grant_type=authorization_code&code=c&client_id=com.app&client_secret={s}"),
            "",
        );
        t.request.url = "https://appleid.apple.com/auth/token".into();
        answer(t, 400, r#"{"error":"invalid_client"}"#)
    };
    let out = run(vec![make(365 * 86400)]);
    assert_eq!(found(&out, "client_auth.secret_jwt_lifetime").len(), 1);
    assert!(found(
        &run(vec![make(30 * 86400)]),
        "client_auth.secret_jwt_lifetime"
    )
    .is_empty());
}

#[test]
fn slack_v2_authorize_and_v2_access_is_no_version_mismatch() {
    let auth = |path: &str| {
        authorize("a1", 0, &format!("https://slack.com{path}?client_id=1.2&scope=chat%3Awrite&redirect_uri={CB}&state=s1"))
    };
    let access = |path: &str| {
        let mut t = token("t1", 12, "client_id=1.2&client_secret=x&code=k1", "");
        t.request.url = format!("https://slack.com{path}");
        t.grant_type = Some("authorization_code".into());
        answer(t, 200, r#"{"ok":false,"error":"invalid_code"}"#)
    };
    let base = |a: Record, t: Record| {
        vec![
            a,
            auth_response("a2", 5, &format!("{CB}?code=k1&state=s1")),
            t,
        ]
    };
    let out = run(base(
        auth("/oauth/v2/authorize"),
        access("/api/oauth.access"),
    ));
    assert_eq!(found(&out, "diagnosis.endpoint_version_mismatch").len(), 1);
    let out = run(base(
        auth("/oauth/v2/authorize"),
        access("/api/oauth.v2.access"),
    ));
    assert!(found(&out, "diagnosis.endpoint_version_mismatch").is_empty());
}

#[test]
fn a_clean_pkce_login_with_refresh_has_no_warning() {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = crate::analyze::pkce::s256_challenge(verifier);
    let recs = vec![
        authorize("a1", 0, &format!("https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri={CB}&state=s1&scope=openid%20offline_access&code_challenge={challenge}&code_challenge_method=S256")),
        auth_response("a2", 10, &format!("{CB}?code=c1&state=s1")),
        callback("a3", 11, &format!("{CB}?code=c1&state=s1")),
        token("t1", 12, &format!("grant_type=authorization_code&code=c1&redirect_uri={CB}&client_id=app&code_verifier={verifier}"), TOKENS),
        token("t2", 4000, "grant_type=refresh_token&refresh_token=rt-1&client_id=app", r#"{"access_token":"at-2","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-2"}"#),
    ];
    let out = run(recs);
    assert!(problems(&out).is_empty(), "{:?}", problems(&out));
}

#[test]
fn a_clean_client_credentials_call_has_no_warning() {
    let mut t = token(
        "t1",
        0,
        "grant_type=client_credentials&scope=api",
        r#"{"access_token":"at","token_type":"Bearer","expires_in":3600}"#,
    );
    t.request
        .headers
        .push("Authorization", "Basic YXBwOnNlY3JldA==");
    let out = run(vec![t]);
    assert!(problems(&out).is_empty(), "{:?}", problems(&out));
}

fn login_start(host: &str, redirect_uri: &str, set_cookie: &str) -> Record {
    let mut r = Record::bare(
        &format!("{:0>16}", "s0"),
        at(0),
        Kind::LoginStart,
        "GET",
        &format!("http://{host}/login"),
    );
    let mut h = HeaderList::default();
    h.push(
        "Location",
        format!("https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri={redirect_uri}&state=st-1"),
    );
    h.push("Set-Cookie", set_cookie);
    r.response = Some(Response {
        status: 302,
        headers: h,
        body: Body::default(),
    });
    r
}

#[test]
fn a_state_cookie_set_on_localhost_does_not_reach_127_0_0_1() {
    let cb_url = "http://127.0.0.1:3000/cb";
    let recs = vec![
        login_start("localhost:3000", cb_url, "oauth_state=st-1; Path=/; HttpOnly"),
        authorize("a1", 1, &format!("https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri={cb_url}&state=st-1")),
        callback("c1", 20, &format!("{cb_url}?code=k&state=st-1")),
    ];
    let out = run(recs);
    let f = found(&out, "diagnosis.cookie_host_mismatch");
    assert_eq!(f.len(), 1, "{:?}", problems(&out));
    assert_eq!(f[0].1.evidence["kinds"][0], "host");
    assert_eq!(f[0].1.evidence["callback_without_cookie"], true);
    assert!(found(&out, "state.mismatch").is_empty());
    // Near miss: the same host, and the callback carries the cookie.
    let cb_url = "http://localhost:3000/cb";
    let mut cb = callback("c1", 20, &format!("{cb_url}?code=k&state=st-1"));
    cb.request.headers.push("Cookie", "oauth_state=st-1");
    let recs = vec![
        login_start("localhost:3000", cb_url, "oauth_state=st-1; Path=/; HttpOnly"),
        authorize("a1", 1, &format!("https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri={cb_url}&state=st-1")),
        cb,
    ];
    assert!(found(&run(recs), "diagnosis.cookie_host_mismatch").is_empty());
}

#[test]
fn a_code_exchange_without_grant_type_at_an_rfc_server_is_grant_type_missing() {
    let mut t = token("t1", 12, "client_id=app&client_secret=s&code=c1", "");
    t.grant_type = Some("authorization_code".into());
    let t = answer(
        t,
        400,
        r#"{"error":"invalid_request","error_description":"Missing parameter: grant_type"}"#,
    );
    let out = run(vec![t]);
    assert_eq!(found(&out, "diagnosis.grant_type_missing").len(), 1);
    // Near miss: grant_type was sent; the provider complains about something else.
    let t = answer(
        token(
            "t1",
            12,
            "grant_type=authorization_code&client_id=app&client_secret=s&code=c1",
            "",
        ),
        400,
        r#"{"error":"invalid_request","error_description":"Missing parameter: redirect_uri"}"#,
    );
    assert!(found(&run(vec![t]), "diagnosis.grant_type_missing").is_empty());
}

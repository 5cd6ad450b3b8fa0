//! `oauthscope analyze FILE.har`: the HAR importer on realistic Chrome,
//! Firefox and mitmproxy exports (library level), and the real binary.
//!
//! Tests named `after_rules_*` assert annotation codes produced by the rule
//! families (redirect_uri, errors, flavour, pkce, diagnose). They are
//! expected to fail until those rules land on the main branch.

use oauthscope::analyze::{analyze, AnalyzeOptions};
use oauthscope::har::import::{self, import_id, parse_time};
use oauthscope::record::{Kind, Record, Severity};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn load(name: &str) -> import::Imported {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    import::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The id the importer gives an entry started at `started` (no tie).
fn id_at(started: &str) -> String {
    format!("{:016x}", import_id(parse_time(started).unwrap()))
}

fn kinds(recs: &[Record]) -> Vec<(Kind, Option<&str>)> {
    recs.iter()
        .map(|r| (r.kind, r.grant_type.as_deref()))
        .collect()
}

fn bin(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(home)
        .arg("--color")
        .arg("never")
        .args(args)
        .output()
        .expect("run oauthscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fx(name: &str) -> String {
    fixture(name).to_string_lossy().into_owned()
}

fn codes(r: &Record) -> Vec<&str> {
    r.annotations.iter().map(|a| a.code.as_str()).collect()
}

// ---------------------------------------------------------------- library

#[test]
fn chrome_clean_flow_imports_only_the_oauth_legs() {
    let imp = load("chrome_auth_code_clean.har");
    assert_eq!(imp.entries, 10);
    assert!(imp.skipped.is_empty(), "{:?}", imp.skipped);
    // The provider's own pages the browser was sent to after the authorize
    // request (its login page and the form post) are part of the login;
    // app.js and other assets are not.
    assert_eq!(
        kinds(&imp.records),
        vec![
            (Kind::AuthorizeRequest, None),
            (Kind::ProviderPage, None),
            (Kind::ProviderPage, None),
            (Kind::AuthorizationResponse, None),
            (Kind::Callback, None),
            (Kind::TokenRequest, Some("authorization_code")),
            (Kind::TokenRequest, Some("refresh_token")),
        ]
    );
    let ids: Vec<&str> = imp.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            id_at("2026-11-24T09:00:00.000Z"),
            id_at("2026-11-24T09:00:00.090Z"),
            id_at("2026-11-24T09:00:14.100Z"),
            id_at("2026-11-24T09:00:14.420Z"),
            id_at("2026-11-24T09:00:14.900Z"),
            id_at("2026-11-24T09:00:15.300Z"),
            id_at("2026-11-24T09:55:15.000Z"),
        ]
    );
    let auth = &imp.records[0];
    assert_eq!(auth.duration_ms, 84);
    assert!(
        auth.request
            .headers
            .0
            .iter()
            .all(|(n, _)| !n.starts_with(':')),
        "h2 pseudo-headers are dropped"
    );
    assert_eq!(auth.request.headers.0[0].0, "accept", "header case kept");
    let token = &imp.records[5];
    assert!(token
        .request
        .headers
        .get("authorization")
        .unwrap()
        .starts_with("Basic "));
    assert!(token
        .request
        .body
        .as_text()
        .unwrap()
        .contains("code_verifier=M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag"));
    let resp = token.response.as_ref().unwrap();
    let json: Value = serde_json::from_str(resp.body.as_text().unwrap()).unwrap();
    assert!(json["id_token"].is_string() && json["refresh_token"].is_string());
    // The resume redirect's Location carries the code back.
    let ar = &imp.records[3];
    assert!(ar
        .response
        .as_ref()
        .unwrap()
        .headers
        .get("location")
        .unwrap()
        .starts_with("https://app.example.com/auth/callback?code="));
}

#[test]
fn chrome_clean_flow_is_one_flow() {
    let imp = load("chrome_auth_code_clean.har");
    let recs = analyze(&imp.records, &AnalyzeOptions::default());
    let flows: std::collections::BTreeSet<_> = recs.iter().map(|r| r.flow.clone()).collect();
    assert_eq!(flows.len(), 1, "{flows:?}");
    assert_eq!(recs[0].flow.as_deref(), Some(recs[0].id.as_str()));
}

#[test]
fn importing_twice_gives_the_same_ids() {
    for name in [
        "chrome_auth_code_clean.har",
        "firefox_trailing_slash.har",
        "mitmproxy_github_error_in_200.har",
        "chrome_base64_content.har",
        "firefox_params_only.har",
    ] {
        let a: Vec<String> = load(name).records.into_iter().map(|r| r.id).collect();
        let b: Vec<String> = load(name).records.into_iter().map(|r| r.id).collect();
        assert_eq!(a, b, "{name}");
        assert!(!a.is_empty(), "{name}");
        assert!(a.windows(2).all(|w| w[0] < w[1]), "{name}: {a:?}");
    }
}

#[test]
fn firefox_trailing_slash_imports_with_offset_times() {
    let imp = load("firefox_trailing_slash.har");
    assert_eq!(imp.entries, 5);
    assert!(imp.skipped.is_empty(), "{:?}", imp.skipped);
    assert_eq!(
        kinds(&imp.records),
        vec![
            (Kind::AuthorizeRequest, None),
            (Kind::AuthorizationResponse, None),
            (Kind::Callback, None),
            (Kind::TokenRequest, Some("authorization_code")),
        ]
    );
    // 10:22:31.104+01:00 is 09:22:31.104 UTC.
    assert_eq!(
        imp.records[0].time,
        time::macros::datetime!(2026-03-14 09:22:31.104 UTC)
    );
    assert_eq!(imp.records[0].id, id_at("2026-03-14T09:22:31.104Z"));
    assert_eq!(imp.records[3].id, id_at("2026-03-14T10:22:40.810+01:00"));
    let token = &imp.records[3];
    assert_eq!(token.response.as_ref().unwrap().status, 400);
    assert!(token
        .request
        .body
        .as_text()
        .unwrap()
        .contains("redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcallback%2F"));
    assert_eq!(
        token.request.headers.0[0],
        ("Host".into(), "localhost:8180".into())
    );
}

#[test]
fn mitmproxy_github_imports_with_microsecond_times() {
    let imp = load("mitmproxy_github_error_in_200.har");
    assert_eq!(imp.entries, 4);
    assert!(imp.skipped.is_empty(), "{:?}", imp.skipped);
    assert_eq!(
        kinds(&imp.records),
        vec![
            (Kind::AuthorizeRequest, None),
            (Kind::Callback, None),
            (Kind::TokenRequest, Some("authorization_code")),
        ]
    );
    assert_eq!(imp.records[0].id, id_at("2026-09-08T14:03:11.512345+00:00"));
    let resp = imp.records[2].response.as_ref().unwrap();
    assert_eq!(resp.status, 200);
    assert!(resp
        .body
        .as_text()
        .unwrap()
        .starts_with("error=bad_verification_code&"));
}

#[test]
fn base64_contents_are_decoded_and_binary_stays_binary() {
    let imp = load("chrome_base64_content.har");
    assert!(imp.skipped.is_empty(), "{:?}", imp.skipped);
    assert_eq!(
        kinds(&imp.records),
        vec![
            (Kind::Discovery, None),
            (Kind::Jwks, None),
            (Kind::TokenRequest, Some("refresh_token")),
            (Kind::Userinfo, None),
        ]
    );
    let disco = imp.records[0].response.as_ref().unwrap();
    let v: Value = serde_json::from_str(disco.body.as_text().unwrap()).unwrap();
    assert_eq!(v["issuer"], "https://dev-31337.okta.com/oauth2/default");
    let tok = imp.records[2].response.as_ref().unwrap();
    let v: Value = serde_json::from_str(tok.body.as_text().unwrap()).unwrap();
    assert_eq!(v["token_type"], "Bearer");
    let ui = &imp.records[3].response.as_ref().unwrap().body;
    assert_eq!(ui.encoding.as_deref(), Some("base64"));
    assert_eq!(
        ui.bytes(),
        vec![0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00, 0x81, 0xc3, 0x28]
    );
    // Analysis of binary bodies must not panic either.
    let _ = analyze(&imp.records, &AnalyzeOptions::default());
}

#[test]
fn params_only_post_data_is_rebuilt_as_a_form() {
    let imp = load("firefox_params_only.har");
    assert_eq!(imp.entries, 2);
    assert_eq!(
        kinds(&imp.records),
        vec![(Kind::TokenRequest, Some("client_credentials"))]
    );
    let body = imp.records[0].request.body.as_text().unwrap().to_string();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("grant_type".into(), "client_credentials".into()),
            ("client_id".into(), "q1Ab2Cd3Ef4Gh5Ij6Kl7Mn8Op9Qr0St".into()),
            ("client_secret".into(), "q8Z+v/3kLx0p_Wy-9t==".into()),
            ("audience".into(), "https://api.example.com/".into()),
        ]
    );
}

#[test]
fn an_oauthscope_export_round_trips_through_analyze() {
    use oauthscope::har::export::{to_har_string, HarOptions};
    let first = analyze(
        &load("chrome_auth_code_clean.har").records,
        &AnalyzeOptions::default(),
    );
    let text = to_har_string(&first, &HarOptions::default());
    let again = import::from_str(&text).unwrap();
    assert!(again.skipped.is_empty(), "{:?}", again.skipped);
    assert_eq!(again.records.len(), first.len());
    for (a, b) in first.iter().zip(&again.records) {
        assert_eq!(
            (&a.id, a.time, a.kind, &a.grant_type),
            (&b.id, b.time, b.kind, &b.grant_type)
        );
        assert_eq!(a.request, b.request);
        assert_eq!(a.response, b.response);
    }
}

// ---------------------------------------------------------------- binary

#[test]
fn binary_prints_the_table() {
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = bin(home.path(), &["analyze", &fx("chrome_auth_code_clean.har")]);
    assert_eq!(code, 0, "{err}");
    let header = out.lines().next().unwrap();
    for col in ["ID", "KIND", "HOST/PATH", "STATUS", "GRANT", "FLAVOUR"] {
        assert!(header.contains(col), "{header}");
    }
    assert_eq!(
        out.lines().filter(|l| l.contains("token_request")).count(),
        2,
        "{out}"
    );
    assert!(out.contains("login.acme-idp.example/oauth/token"), "{out}");
    assert!(out.contains(&id_at("2026-11-24T09:00:00.000Z")), "{out}");
    assert!(!out.contains("app.js"), "non-OAuth rows: {out}");
    assert!(
        out.lines()
            .filter(|l| l.contains("/u/login"))
            .all(|l| l.contains("provider_page")),
        "the provider's login page is a provider_page: {out}"
    );
}

#[test]
fn binary_json_is_an_array_of_records() {
    let home = tempfile::tempdir().unwrap();
    for name in [
        "chrome_auth_code_clean.har",
        "firefox_trailing_slash.har",
        "mitmproxy_github_error_in_200.har",
        "chrome_base64_content.har",
        "firefox_params_only.har",
    ] {
        let (code, out, err) = bin(home.path(), &["analyze", &fx(name), "--json"]);
        assert_eq!(code, 0, "{name}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}\n{out}"));
        let arr = v.as_array().unwrap();
        assert!(!arr.is_empty(), "{name}");
        // Same shape as `flows show --json`: records deserialise back.
        let recs: Vec<Record> = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(recs.len(), arr.len());
        assert!(arr[0]["flow"].is_string(), "{name}: flows are assigned");
    }
}

#[test]
fn binary_reads_stdin_for_dash() {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(home.path())
        .args(["analyze", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(&std::fs::read(fixture("firefox_trailing_slash.har")).unwrap())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
}

#[test]
fn binary_fail_on_error_passes_on_the_clean_flow() {
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = bin(
        home.path(),
        &[
            "analyze",
            &fx("chrome_auth_code_clean.har"),
            "--fail-on",
            "error",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn binary_garbage_gives_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let bad = home.path().join("login.har");
    std::fs::write(&bad, "<html>\n<body>Sign in</body></html>").unwrap();
    let (code, out, err) = bin(home.path(), &["analyze", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty());
    assert!(err.contains("login.har"), "{err}");
    assert!(err.contains("not JSON at line 1"), "{err}");

    let (code, _, err) = bin(home.path(), &["analyze", "/nonexistent/dir/none.har"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read /nonexistent/dir/none.har"),
        "{err}"
    );

    std::fs::write(&bad, r#"{"entries": []}"#).unwrap();
    let (code, _, err) = bin(home.path(), &["analyze", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("not a HAR file"), "{err}");
}

#[test]
fn binary_says_so_when_nothing_is_oauth_and_warns_about_skipped_entries() {
    let home = tempfile::tempdir().unwrap();
    let f = home.path().join("shop.har");
    std::fs::write(
        &f,
        r#"{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": [
            {"startedDateTime": "2026-01-01T00:00:00Z", "time": 3,
             "request": {"method": "GET", "url": "https://shop.example/", "headers": []},
             "response": {"status": 200, "headers": [], "content": {"size": 0}}},
            {"startedDateTime": "2026-01-01T00:00:01Z", "request": {"method": "GET"}}
        ]}}"#,
    )
    .unwrap();
    let (code, out, err) = bin(home.path(), &["analyze", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(&format!(
            "no OAuth exchanges in {} (2 entries looked at)",
            f.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("skipped entry 1: request.url is missing"),
        "{err}"
    );
    let (code, out, _) = bin(home.path(), &["analyze", f.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::json!([])
    );
}

// ------------------------------------ expected to fail until the rules land

/// No warning or error anywhere in the clean flow (all rule families).
#[test]
fn after_rules_clean_flow_has_no_warning_or_error() {
    let imp = load("chrome_auth_code_clean.har");
    let recs = analyze(&imp.records, &AnalyzeOptions::default());
    let bad: Vec<(&str, Vec<&str>)> = recs
        .iter()
        .filter(|r| r.max_severity() >= Some(Severity::Warning))
        .map(|r| (r.id.as_str(), codes(r)))
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
    let token = recs
        .iter()
        .find(|r| r.kind == Kind::TokenRequest)
        .expect("a token request");
    let fl = token
        .flavour
        .as_ref()
        .expect("flavour on the token request");
    assert_eq!(fl.number, Some(1));
    assert_eq!(fl.client_auth, "basic_urlencoded");
    assert_eq!(fl.body, "form");
    let home = tempfile::tempdir().unwrap();
    let (code, _, _) = bin(
        home.path(),
        &[
            "analyze",
            &fx("chrome_auth_code_clean.har"),
            "--fail-on",
            "warning",
        ],
    );
    assert_eq!(code, 0);
}

/// The token request's redirect_uri has a trailing slash the authorize lacked.
#[test]
fn after_rules_firefox_trailing_slash_is_a_redirect_uri_mismatch() {
    let imp = load("firefox_trailing_slash.har");
    let recs = analyze(&imp.records, &AnalyzeOptions::default());
    let token = recs.iter().find(|r| r.kind == Kind::TokenRequest).unwrap();
    let m = token
        .annotations
        .iter()
        .find(|a| a.code == "redirect_uri.mismatch")
        .unwrap_or_else(|| panic!("no redirect_uri.mismatch: {:?}", codes(token)));
    assert_eq!(m.severity, Severity::Error);
    assert_eq!(m.evidence["kinds"], serde_json::json!(["trailing_slash"]));
    assert_eq!(m.evidence["expected"], "http://localhost:8080/callback");
    assert_eq!(m.evidence["actual"], "http://localhost:8080/callback/");
    assert!(
        codes(token).contains(&"error.invalid_grant"),
        "{:?}",
        codes(token)
    );

    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = bin(
        home.path(),
        &[
            "analyze",
            &fx("firefox_trailing_slash.har"),
            "--fail-on",
            "error",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("redirect_uri.mismatch"), "{out}");
}

/// GitHub's 200 with a form-encoded error.
#[test]
fn after_rules_github_error_hidden_in_a_200() {
    let imp = load("mitmproxy_github_error_in_200.har");
    let recs = analyze(&imp.records, &AnalyzeOptions::default());
    let token = recs.iter().find(|r| r.kind == Kind::TokenRequest).unwrap();
    let c = codes(token);
    assert!(c.contains(&"error.bad_verification_code"), "{c:?}");
    assert!(c.contains(&"error.hidden_in_success"), "{c:?}");
    let home = tempfile::tempdir().unwrap();
    let (code, _, _) = bin(
        home.path(),
        &[
            "analyze",
            &fx("mitmproxy_github_error_in_200.har"),
            "--fail-on",
            "error",
        ],
    );
    assert_eq!(code, 1);
}

/// `oauthscope analyze BIG.har | head -1`: output far larger than a pipe's
/// buffer, so the reader's exit breaks the pipe mid-print. No panic, no
/// backtrace, status 0.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("chrome_auth_code_clean.har")).unwrap();
    let mut har: Value = serde_json::from_str(&text).unwrap();
    let entries = har["log"]["entries"].as_array().unwrap().clone();
    let many: Vec<Value> = entries
        .iter()
        .cycle()
        .take(entries.len() * 200)
        .cloned()
        .collect();
    har["log"]["entries"] = Value::Array(many);
    let big = dir.path().join("big.har");
    std::fs::write(&big, serde_json::to_vec(&har).unwrap()).unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' --home '{}' analyze '{}' | head -1; echo \"status=${{PIPESTATUS[0]}}\" >&2",
            env!("CARGO_BIN_EXE_oauthscope"),
            dir.path().display(),
            big.display()
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.trim().ends_with("status=0"),
        "ends quietly: {stderr}"
    );
}

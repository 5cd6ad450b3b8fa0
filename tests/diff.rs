//! `oauthscope diff` for real: the demo's login (its token request adds a
//! trailing slash to redirect_uri) and the same login fixed, each captured
//! by its own proxy session from a real client against the mock provider
//! over TLS, compared as exported HAR files and as a stored login; then two
//! captures of the correct login.

mod support;

use oauthscope::mock::script::{App, ScriptedClient};
use oauthscope::mock::{self, Client, MockConfig, Quirks, RedirectMatch};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::Harness;

const REDIRECT: &str = "http://127.0.0.1:8000/callback";

/// One login through a fresh proxy session; the token request sends
/// `token_redirect`. Returns the session and its capture as an exported HAR.
async fn capture(
    provider_ca: &Path,
    issuer: &str,
    token_redirect: &str,
    dir: &Path,
    name: &str,
) -> (Harness, PathBuf) {
    let h = Harness::start(vec![provider_ca.to_path_buf()]).await;
    let mut c = ScriptedClient::via_proxy(&h.session.proxy_url(), Some(h.ca.cert_pem().as_bytes()))
        .unwrap();
    let app = App {
        issuer: issuer.to_string(),
        client_id: "demo-app".into(),
        client_secret: "demo-secret".into(),
        redirect_uri: REDIRECT.into(),
    };
    app.discover(&mut c).await.unwrap();
    let code = app.authorize(&mut c, &[]).await.unwrap();
    app.exchange(&mut c, &code, token_redirect, None)
        .await
        .unwrap();
    h.wait_for(3).await;
    let out = h.cli(&["export", "--format", "har"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.join(name);
    std::fs::write(&file, &out.stdout).unwrap();
    (h, file)
}

async fn diff(h: &Harness, args: &[&str]) -> String {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    let out = h.cli(&all).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trailing_slash_comes_first_and_two_good_logins_match() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (tls, provider_ca) = support::server_tls(dir.path(), &[b"http/1.1"]);
    let idp = mock::start(MockConfig {
        clients: vec![Client::new("demo-app", "demo-secret", &[REDIRECT])],
        quirks: Quirks {
            redirect_match: RedirectMatch::Exact,
            ..Quirks::default()
        },
        tls: Some(Arc::new(tls)),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let issuer = idp.issuer().to_string();
    let wrong = format!("{REDIRECT}/");
    let (failing, failing_har) =
        capture(&provider_ca, &issuer, &wrong, dir.path(), "failing.har").await;
    let (fixed, fixed_har) =
        capture(&provider_ca, &issuer, REDIRECT, dir.path(), "fixed.har").await;
    let (again, again_har) =
        capture(&provider_ca, &issuer, REDIRECT, dir.path(), "again.har").await;
    let (a, b, c) = (
        failing_har.to_str().unwrap(),
        fixed_har.to_str().unwrap(),
        again_har.to_str().unwrap(),
    );

    // Two HAR files.
    let text = diff(&fixed, &[a, b]).await;
    let first = text
        .lines()
        .find(|l| l.trim_start().starts_with("1. "))
        .unwrap_or_else(|| panic!("no ranked difference:\n{text}"));
    assert_eq!(
        first.trim(),
        "1. token (authorization_code): redirect_uri [trailing_slash]",
        "{text}"
    );
    assert!(
        text.contains(&format!("A: {wrong}")) && text.contains(&format!("B: {REDIRECT}\n")),
        "{text}"
    );
    let caret_line = text
        .lines()
        .skip_while(|l| !l.contains(&format!("B: {REDIRECT}")))
        .nth(1)
        .unwrap();
    assert_eq!(
        caret_line.find('^'),
        text.lines()
            .find(|l| l.contains(&format!("A: {wrong}")))
            .unwrap()
            .find(&wrong)
            .map(|i| i + REDIRECT.len()),
        "the caret sits under the slash:\n{text}"
    );
    assert!(
        text.contains("failed at token (authorization_code): invalid_grant"),
        "{text}"
    );

    // A stored login against a HAR file: the same answer.
    let listed = failing.cli(&["flows", "list", "--json"]).await;
    let list: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let token_id = list
        .iter()
        .find(|r| r["kind"] == "token_request")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .unwrap();
    let text = diff(&failing, &[&token_id, b]).await;
    assert!(
        text.lines()
            .any(|l| l.trim() == "1. token (authorization_code): redirect_uri [trailing_slash]"),
        "{text}"
    );

    // JSON and Markdown.
    let json: Value = serde_json::from_str(&diff(&fixed, &[a, b, "--json"]).await).unwrap();
    assert_eq!(json["differences"][0]["what"], "redirect_uri");
    assert_eq!(
        json["differences"][0]["kinds"],
        serde_json::json!(["trailing_slash"])
    );
    assert_eq!(json["a"]["summary"]["failed"], true);
    let md = diff(&fixed, &[a, b, "--format", "md"]).await;
    assert!(
        md.contains("1. **token (authorization_code): redirect_uri** (trailing_slash)"),
        "{md}"
    );
    assert!(!md.contains("demo-secret"), "redacted like exports: {md}");

    // Two captures of the correct login: nothing that matters.
    let text = diff(&again, &[b, c]).await;
    assert!(text.contains("No difference that matters"), "{text}");
    assert!(text.contains("succeeded"), "{text}");

    idp.shutdown().await;
    failing.shutdown().await;
    fixed.shutdown().await;
    again.shutdown().await;
}

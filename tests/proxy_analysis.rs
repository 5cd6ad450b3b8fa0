//! Analysis of live captures, end to end: real provider on loopback, the
//! proxy in-process, a real client through it, and the real binary reading
//! the annotated capture through the running proxy's API.

mod support;

use oauthscope::record::Kind;
use support::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trailing_slash_in_the_token_redirect_uri_is_shown_as_the_cause() {
    let (provider, h) = Harness::with_provider().await;
    let client = h.client();

    let authz = client
        .get(provider.url(
            "/authorize?response_type=code&client_id=app&state=s-42\
             &redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(authz.status(), 302);
    let token = client
        .post(provider.url("/token"))
        .basic_auth("app", Some("s3cret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "CODE-abc+1"),
            ("redirect_uri", "http://localhost:3000/callback/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 400, "the provider matches exactly");

    let recs = h.wait_for(2).await;
    let token_rec = recs
        .iter()
        .find(|r| r.kind == Kind::TokenRequest)
        .expect("token request stored");

    let out = h.cli(&["flows", "show", &token_rec.id, "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let annotations = shown["annotations"].as_array().unwrap();
    let mismatch = annotations
        .iter()
        .find(|a| a["code"] == "redirect_uri.mismatch")
        .unwrap_or_else(|| panic!("no redirect_uri.mismatch in {annotations:#?}"));
    assert_eq!(mismatch["severity"], "error");
    assert_eq!(
        mismatch["evidence"]["kinds"],
        serde_json::json!(["trailing_slash"])
    );
    assert_eq!(
        mismatch["evidence"]["expected"],
        "http://localhost:3000/callback"
    );
    assert_eq!(
        mismatch["evidence"]["actual"],
        "http://localhost:3000/callback/"
    );
    assert!(
        annotations
            .iter()
            .any(|a| a["code"] == "error.invalid_grant"),
        "the provider's error is explained too: {annotations:#?}"
    );
    assert!(
        annotations
            .iter()
            .any(|a| a["code"] == "diagnosis.redirect_uri_mismatch"),
        "the diagnosis names the cause: {annotations:#?}"
    );
    assert_eq!(shown["flavour"]["number"], 1, "Basic + form is flavour 1");

    // The list view carries the flavour and the most severe annotation.
    let out = h.cli(&["flows", "list"]).await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("redirect_uri.mismatch") || table.contains("diagnosis."),
        "{table}"
    );
    let out = h.cli(&["flows", "list", "--fail-on", "error"]).await;
    assert!(!out.status.success(), "--fail-on error sees the mismatch");

    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_login_through_the_proxy_carries_no_error_or_warning() {
    let (provider, h) = Harness::with_provider().await;
    let client = h.client();
    // RFC 7636 Appendix B's verifier and challenge.
    client
        .get(provider.url(
            "/authorize?response_type=code&client_id=app&state=s-1&scope=openid%20offline_access\
             &redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        ))
        .send()
        .await
        .unwrap();
    let token = client
        .post(provider.url("/token"))
        .basic_auth("app", Some("s3cret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "CODE-abc+1"),
            ("redirect_uri", "http://localhost:3000/callback"),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    h.wait_for(2).await;

    let out = h
        .cli(&["flows", "list", "--json", "--fail-on", "warning"])
        .await;
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bad: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["annotations"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["severity"] != "info")
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(
        out.status.success(),
        "--fail-on warning passes a clean flow"
    );
    h.shutdown().await;
}

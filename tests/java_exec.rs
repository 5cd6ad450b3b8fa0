//! A plain Java program (`HttpURLConnection`, tests/fixtures/java) run
//! through the real `oauthscope exec`, against a TLS provider on 127.0.0.1:
//! the JDK is pointed at the proxy and our trust store by JAVA_TOOL_OPTIONS
//! alone, loopback is not skipped, and the token request is captured.

mod support;

use std::time::Duration;
use support::Harness;

fn java_present() -> bool {
    std::process::Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_java_token_request_run_through_exec_is_captured() {
    if !java_present() {
        eprintln!(
            "SKIPPED a_java_token_request_run_through_exec_is_captured: no `java` on PATH \
             (apt-get install default-jdk-headless; .ci/run installs it)"
        );
        return;
    }
    let (provider, h) = Harness::with_provider().await;
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("java")
        .join("TokenRequest.java");
    let token_url = provider.url("/token");
    let home = h.home.root().to_path_buf();
    // No --proxy: exec finds the running proxy (an ephemeral port) in proxy.json.
    let out = tokio::task::spawn_blocking(move || {
        support::output_within(
            std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
                .arg("--home")
                .arg(&home)
                .args(["exec", "--", "java"])
                .arg(&source)
                .arg(&token_url)
                .env_remove("OAUTHSCOPE_HOME")
                .env_remove("JAVA_TOOL_OPTIONS")
                .env_remove("HTTPS_PROXY")
                .env_remove("https_proxy"),
            Duration::from_secs(180),
        )
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("status 200"), "{stdout}\n{stderr}");
    assert!(stdout.contains("access_token"), "{stdout}");
    let recs = h.wait_for(1).await;
    assert_eq!(recs.len(), 1, "{recs:#?}");
    let rec = &recs[0];
    assert_eq!(rec.kind, oauthscope::record::Kind::TokenRequest);
    assert_eq!(rec.grant_type.as_deref(), Some("client_credentials"));
    assert!(rec.request.url.starts_with(&provider.url("/token")));
    let ua = rec.request.headers.get("user-agent").unwrap_or("");
    assert!(ua.starts_with("Java/"), "sent by the JDK: {ua:?}");
    assert!(rec
        .request
        .body
        .as_text()
        .unwrap_or("")
        .contains("client_id=java-app"));
    h.shutdown().await;
}

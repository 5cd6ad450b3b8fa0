//! `oauthscope demo` end to end, through the real binary.

use std::process::Command;

fn demo_output() -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .args(["--color", "never", "demo"])
        .env("OAUTHSCOPE_HOME", dir.path())
        .env("TMPDIR", dir.path())
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_demo_drives_a_trailing_slash_login_that_the_provider_refuses() {
    let out = demo_output();
    assert!(
        out.contains("redirect_uri=http://127.0.0.1:8000/callback/"),
        "{out}"
    );
    assert!(out.contains("400 invalid_grant"), "{out}");
    // The capture holds the authorize request and the failed token request.
    assert!(out.contains("authorize_request"), "{out}");
    assert!(out.contains("token_request"), "{out}");
}

#[test]
fn the_demo_output_contains_the_trailing_slash_diagnosis() {
    let out = demo_output();
    assert!(out.contains("redirect_uri.mismatch"), "{out}");
    assert!(out.contains("trailing_slash"), "{out}");
}

#[test]
fn the_demo_ends_with_the_url_of_its_capture_in_the_web_ui() {
    let out = demo_output();
    let last = out
        .lines()
        .rev()
        .find(|l| l.contains("See it in the browser:"));
    let url = last.and_then(|l| l.split_whitespace().find(|w| w.starts_with("http://")));
    let url = url.unwrap_or_else(|| panic!("no UI URL in: {out}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(url.contains("/?token="), "{url}");
}

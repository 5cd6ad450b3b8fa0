//! `oauthscope explain`, run as a user would.

use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(dir.path())
        .arg("--color")
        .arg("never")
        .args(args)
        .env_remove("OAUTHSCOPE_HOME")
        .output()
        .unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn explain_invalid_grant_lists_the_rfc_meaning_and_provider_variants() {
    let out = run(&["explain", "invalid_grant"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.starts_with("invalid_grant\n  meaning: "), "{text}");
    assert!(text.contains("RFC 6749 §5.2"));
    assert!(text.contains("invalid_grant (Salesforce)"));
    assert!(text.contains("expired access/refresh token"));
    assert!(text.contains("invalid_grant (Keycloak)"));
    for f in ["causes:", "fix:", "reference:"] {
        assert!(text.contains(f), "{f}");
    }
    // The annotation form and any case work too.
    let again = run(&["explain", "error.INVALID_GRANT"]);
    assert!(again.status.success());
    assert_eq!(stdout(&again), text);
}

#[test]
fn explain_entra_and_salesforce_codes_case_insensitively() {
    let out = run(&["explain", "aadsts50011"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.starts_with("AADSTS50011 (Microsoft Entra ID)\n  meaning:    InvalidReplyTo"),
        "{text}"
    );
    assert!(text.contains("redirect"));
    let out = run(&["explain", "IP_RESTRICTED"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("Salesforce"), "{text}");
    assert!(text.contains("IP Relaxation"));
    let out = run(&["explain", "ip_restricted"]);
    assert_eq!(stdout(&out), text);
}

#[test]
fn explain_json_is_an_array_of_entries() {
    let out = run(&["explain", "AADSTS50011", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["code"], "AADSTS50011");
    assert_eq!(arr[0]["provider"], "entra");
    assert_eq!(arr[0]["endpoint"], "authorize");
    assert!(arr[0]["fix"].as_str().unwrap().contains("redirect"));
    let out = run(&["explain", "redirect_uri.mismatch", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["code"], "redirect_uri.mismatch");
    assert_eq!(v[0]["endpoint"], "annotation");
}

#[test]
fn unknown_code_suggests_and_exits_2() {
    let out = run(&["explain", "invalid_grnat"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown code `invalid_grnat`; did you mean: invalid_grant"),
        "{err}"
    );
    let out = run(&["explain", "qqqqqqqqqqqqqqqq"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown code `qqqqqqqqqqqqqqqq`"));
}

#[test]
fn explain_list_shows_every_code_and_filters_by_provider() {
    let all = run(&["explain", "--list"]);
    assert!(all.status.success());
    let text = stdout(&all);
    for code in ["invalid_grant", "AADSTS50011", "redirect_uri.mismatch"] {
        assert!(text.lines().any(|l| l.starts_with(code)), "{code} listed");
    }
    assert!(text.contains("IP_RESTRICTED"), "aliases are listed too");
    let entra = stdout(&run(&["explain", "--list", "--provider", "entra"]));
    assert!(
        entra.lines().all(|l| l.contains("Microsoft Entra ID")),
        "{entra}"
    );
    assert!(entra.contains("AADSTS70008"));
    let unknown = run(&["explain", "--list", "--provider", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("known: standard"));
}

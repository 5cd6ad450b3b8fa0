//! Exports of a real capture: provider on loopback, the proxy in-process, a
//! reqwest client through it, and the real binary exporting through the
//! running proxy's API. No secret may survive redaction in any format.

mod support;

use base64::Engine as _;
use support::{Harness, ACCESS_TOKEN, REFRESH_TOKEN};

const CLIENT_ID: &str = "web app";
const CLIENT_SECRET: &str = "s3cr+t/=%41 x";
const CODE: &str = "CODE-abc+1";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn form_enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every way a secret of this capture could appear in an export.
fn secret_spellings() -> Vec<String> {
    let mut out = Vec::new();
    for s in [CLIENT_SECRET, CODE, VERIFIER, ACCESS_TOKEN, REFRESH_TOKEN] {
        out.push(s.to_string());
        out.push(form_enc(s));
        out.push(
            serde_json::to_string(s)
                .unwrap()
                .trim_matches('"')
                .to_string(),
        );
    }
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    out.push(basic);
    out.sort();
    out.dedup();
    out
}

/// A login whose first token request adds a trailing slash (400), retried
/// correctly (200, tokens issued).
async fn capture(h: &Harness, provider: &support::Provider) {
    let client = h.client();
    let authz = client
        .get(provider.url(&format!(
            "/authorize?response_type=code&client_id={}&state=st-9&scope=openid%20offline_access\
             &redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback\
             &code_challenge={CHALLENGE}&code_challenge_method=S256",
            form_enc(CLIENT_ID)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(authz.status(), 302);
    for (redirect, status) in [
        ("http://localhost:3000/callback/", 400),
        ("http://localhost:3000/callback", 200),
    ] {
        let r = client
            .post(provider.url("/token"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", CODE),
                ("redirect_uri", redirect),
                ("code_verifier", VERIFIER),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status);
    }
    h.wait_for(3).await;
}

fn fingerprints(text: &str) -> Vec<String> {
    text.match_indices("«redacted:")
        .map(|(i, _)| {
            let rest = &text[i..];
            let end = rest
                .find('»')
                .map(|e| e + '»'.len_utf8())
                .unwrap_or(rest.len());
            rest[..end].to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_of_a_live_capture_hold_no_secret_and_reanalyse_the_same() {
    let (provider, h) = Harness::with_provider().await;
    capture(&h, &provider).await;

    let mut outputs = Vec::new();
    for format in ["har", "json", "md"] {
        let out = h.cli(&["export", "--format", format]).await;
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        for secret in secret_spellings() {
            assert!(!text.contains(&secret), "{format} export leaks {secret:?}");
        }
        assert!(text.contains("«redacted:"), "{format}");
        outputs.push((format, text));
    }

    // The code went out in the authorize response and in both token
    // requests: one fingerprint, seen several times, within one export.
    let json = &outputs[1].1;
    let records: serde_json::Value = serde_json::from_str(json).unwrap();
    let code_fp = |records: &serde_json::Value, i: usize| -> String {
        let body = records[i]["request"]["body"].as_str().unwrap().to_string();
        url::form_urlencoded::parse(body.as_bytes())
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let first = code_fp(&records, 1);
    assert!(first.starts_with("«redacted:"), "{first}");
    assert_eq!(first, code_fp(&records, 2), "same code, same fingerprint");
    let again = h.cli(&["export", "--format", "json"]).await;
    let records_again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_ne!(
        first,
        code_fp(&records_again, 1),
        "two exports cannot be joined"
    );
    assert!(fingerprints(json).len() >= 3);

    // The Markdown report: a sequence diagram and the caret diff.
    let md = &outputs[2].1;
    assert!(md.contains("```mermaid"), "{md}");
    assert!(md.contains("sequenceDiagram"), "{md}");
    assert!(md.contains("redirect_uri.mismatch"), "{md}");
    assert!(
        md.lines().any(|l| l.trim_start().starts_with('^')),
        "a caret line under the difference: {md}"
    );

    // The HAR re-analyses to the same annotation codes as the live capture.
    let har_path = h.dir.path().join("login.har");
    std::fs::write(&har_path, &outputs[0].1).unwrap();
    let har: serde_json::Value = serde_json::from_str(&outputs[0].1).unwrap();
    assert_eq!(har["log"]["version"], "1.2");
    let live = h.cli(&["flows", "list", "--json"]).await;
    let reanalysed = h
        .cli(&["analyze", har_path.to_str().unwrap(), "--json"])
        .await;
    assert!(
        reanalysed.status.success(),
        "{}",
        String::from_utf8_lossy(&reanalysed.stderr)
    );
    let codes = |bytes: &[u8]| -> Vec<Vec<String>> {
        let v: Vec<serde_json::Value> = serde_json::from_slice(bytes).unwrap();
        v.iter()
            .map(|r| {
                let mut c: Vec<String> = r["annotations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["code"].as_str().unwrap().to_string())
                    .collect();
                c.sort();
                c
            })
            .collect()
    };
    let live_codes = codes(&live.stdout);
    assert!(
        live_codes
            .iter()
            .flatten()
            .any(|c| c == "redirect_uri.mismatch"),
        "{live_codes:?}"
    );
    assert_eq!(live_codes, codes(&reanalysed.stdout));

    // --no-redact keeps the secrets and says so.
    let raw = h.cli(&["export", "--format", "json", "--no-redact"]).await;
    assert!(String::from_utf8_lossy(&raw.stdout).contains(ACCESS_TOKEN));
    assert!(String::from_utf8_lossy(&raw.stderr).contains("warning"));

    h.shutdown().await;
}

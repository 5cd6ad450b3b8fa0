//! `oauthscope mcp` driven by a real MCP client: the official Python SDK
//! (`mcp` on PyPI; `.ci/run` installs it in `target/mcp-venv`).
//!
//! A capture is made through the real proxy (a session in a fresh data
//! directory, the mock provider over HTTPS from the session's CA, a
//! scripted client through the proxy): the demo's failing login (a
//! trailing slash added to redirect_uri, Basic client authentication),
//! then a login that succeeds with the client secret in the body and a
//! refresh carrying a client assertion and a cookie. Then
//! `tests/mcp_client.py` starts `oauthscope --home H mcp`, lists the tools
//! and calls each of them, with good and bad arguments: once while the
//! proxy runs (the server reads through its API) and once after it
//! stopped (the server opens the store). Every answer is checked here.
//!
//! Skipped, with the reason printed, when python3 or the `mcp` package is
//! missing (set OAUTHSCOPE_TEST_PYTHON to pick an interpreter).

mod support;

use oauthscope::cli::demo::DEMO_REDIRECT;
use oauthscope::home::Home;
use oauthscope::mock::script::{App, ScriptedClient};
use oauthscope::mock::{self, Client, MockConfig, Quirks, RedirectMatch};
use oauthscope::session::{Session, SessionConfig};
use oauthscope::store::Query;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const CLIENT_SECRET: &str = "Marker-Client-Secret-7f3a9c";
const COOKIE: &str = "Marker-Session-Cookie-51d2e8b4";

fn python() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("OAUTHSCOPE_TEST_PYTHON") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mcp-venv/bin/python3"));
    candidates.push(PathBuf::from("python3"));
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import mcp.client.stdio, mcp"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn b64url(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// What the capture holds that no answer may show.
struct Capture {
    markers: Vec<String>,
    failed_login: String,
    har: PathBuf,
    not_har: PathBuf,
}

fn param(body: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn make_capture(session: &Session, dir: &Path) -> Capture {
    let m = mock::start(MockConfig {
        clients: vec![Client::new("demo-app", CLIENT_SECRET, &[DEMO_REDIRECT])],
        quirks: Quirks {
            redirect_match: RedirectMatch::Exact,
            ..Quirks::default()
        },
        tls: Some(session.ca.server_config_for("127.0.0.1").unwrap()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let mut c =
        ScriptedClient::via_proxy(&session.proxy_url(), Some(session.ca.cert_pem().as_bytes()))
            .unwrap();
    let app = App {
        issuer: m.issuer().to_owned(),
        client_id: "demo-app".into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_uri: DEMO_REDIRECT.into(),
    };
    let mut markers = vec![CLIENT_SECRET.to_string(), COOKIE.to_string()];
    let basic = oauthscope::mock::script::basic_header("demo-app", CLIENT_SECRET);
    markers.push(basic.trim_start_matches("Basic ").to_string());

    // 1. The demo's failing login: a trailing slash added to redirect_uri.
    app.discover(&mut c).await.unwrap();
    let code1 = app.authorize(&mut c, &[]).await.unwrap();
    let wrong = format!("{DEMO_REDIRECT}/");
    let x = app.exchange(&mut c, &code1, &wrong, None).await.unwrap();
    assert_eq!(x.status, 400, "the mock refuses the slashed redirect_uri");
    markers.push(code1);

    // 2. A login that succeeds: secret in the body (flavour 3), tokens issued.
    let code2 = app
        .authorize(&mut c, &[("state", "second-login-state")])
        .await
        .unwrap();
    let form = |pairs: &[(&str, &str)]| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let token_url = format!("{}/token", m.issuer());
    let x = c
        .send(
            "POST",
            &token_url,
            &[("content-type", "application/x-www-form-urlencoded".into())],
            Some(form(&[
                ("grant_type", "authorization_code"),
                ("code", &code2),
                ("redirect_uri", DEMO_REDIRECT),
                ("client_id", "demo-app"),
                ("client_secret", CLIENT_SECRET),
            ])),
        )
        .await
        .unwrap();
    assert_eq!(x.status, 200, "{}", x.body);
    let tokens = x.json().unwrap();
    markers.push(code2);
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    for name in ["access_token", "refresh_token", "id_token"] {
        let v = tokens[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {tokens}"));
        markers.push(v.to_string());
        if let Some((_, sig)) = v.rsplit_once('.').filter(|_| v.matches('.').count() == 2) {
            markers.push(sig.to_string());
        }
    }

    // 3. A refresh with a client assertion (private_key_jwt) and a cookie.
    let sig = "Marker-Assertion-Signature-0c4f2a9e1b7d";
    let assertion = format!(
        "{}.{}.{}",
        b64url(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64url(&format!(
            r#"{{"iss":"demo-app","sub":"demo-app","aud":"{token_url}","jti":"a1","exp":4102444800}}"#
        )),
        b64url(sig)
    );
    markers.push(assertion.clone());
    markers.push(b64url(sig));
    c.send(
        "POST",
        &token_url,
        &[
            ("content-type", "application/x-www-form-urlencoded".into()),
            ("cookie", format!("sid={COOKIE}; theme=dark")),
        ],
        Some(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ])),
    )
    .await
    .unwrap();
    m.shutdown().await;

    // Wait until the proxy stored all of it (discovery, 2 authorize, 3 token requests).
    let mut raw = Vec::new();
    for _ in 0..200 {
        raw = session.store.query(&Query::default()).unwrap();
        if raw.len() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(raw.len() >= 6, "{} records stored", raw.len());
    let failed_login = raw
        .iter()
        .find(|r| {
            r.grant_type.as_deref() == Some("authorization_code")
                && param(&r.request.body.text, "redirect_uri").as_deref() == Some(wrong.as_str())
        })
        .and_then(|r| r.flow.clone())
        .expect("the failing token request is stored with its login");
    for r in &raw {
        assert!(
            !r.request.body.text.is_empty() || r.request.method == "GET",
            "bodies captured"
        );
    }

    // Every marker is in the capture itself (so its absence from the answers means something).
    let raw_text = serde_json::to_string(&raw).unwrap();
    for m in &markers {
        let form: String = url::form_urlencoded::byte_serialize(m.as_bytes()).collect();
        assert!(
            raw_text.contains(m.as_str()) || raw_text.contains(&form),
            "marker {m:?} was not captured"
        );
    }

    // The same capture as a HAR file (not redacted), and a file that is not one.
    let har = dir.join("capture.har");
    std::fs::write(
        &har,
        oauthscope::har::export::to_har_string(
            &raw,
            &oauthscope::har::export::HarOptions { redacted: false },
        ),
    )
    .unwrap();
    let not_har = dir.join("notes.txt");
    std::fs::write(
        &not_har,
        "Marker-Not-A-Har-Content-93e1 this is plain text, not JSON\n",
    )
    .unwrap();
    markers.push("Marker-Not-A-Har-Content-93e1".into());
    Capture {
        markers,
        failed_login,
        har,
        not_har,
    }
}

fn run_client(py: &Path, home: &Path, cap: &Capture, out: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py");
    let output = support::output_within(
        Command::new(py)
            .arg(&script)
            .arg(env!("CARGO_BIN_EXE_oauthscope"))
            .arg(home)
            .arg(&cap.har)
            .arg(&cap.not_har)
            .arg(out),
        Duration::from_secs(180),
    );
    assert!(
        output.status.success(),
        "the MCP client failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

/// The answers to `tool` (with `pred` on its arguments).
fn answers<'a>(dump: &'a Value, tool: &str, pred: impl Fn(&Value) -> bool) -> Vec<&'a Value> {
    dump["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"] == tool && pred(&c["args"]))
        .collect()
}

fn is_error(call: &Value) -> bool {
    call.get("protocol_error").is_some() || call["result"]["isError"] == true
}

fn check(dump: &Value, cap: &Capture, phase: &str) {
    // The tools, each with a description and an input schema.
    let tools = dump["tools"].as_array().unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "analyze_har",
            "diff_logins",
            "explain_code",
            "export_report",
            "list_logins",
            "show_exchange",
            "show_login"
        ],
        "{phase}"
    );
    for t in tools {
        assert!(t["description"].as_str().unwrap().len() > 80, "{t}");
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert_eq!(t["annotations"]["readOnlyHint"], true, "{t}");
    }

    // Every marker secret is absent from every answer, in any JSON escaping.
    let text = serde_json::to_string(dump).unwrap();
    for m in &cap.markers {
        let escaped = serde_json::to_string(m).unwrap();
        assert!(
            !text.contains(m.as_str()) && !text.contains(&escaped[1..escaped.len() - 1]),
            "{phase}: secret {m:?} appears in an MCP answer"
        );
    }
    assert!(text.contains("«redacted:"), "{phase}: fingerprints shown");

    // list_logins: the failing login, failed, with its cause.
    let all = answers(dump, "list_logins", |a| a.as_object().unwrap().is_empty());
    let logins = all[0]["result"]["structuredContent"]["logins"]
        .as_array()
        .unwrap();
    assert!(logins.len() >= 2, "{phase}: {logins:?}");
    let failed = logins
        .iter()
        .find(|l| l["login"] == cap.failed_login.as_str())
        .unwrap_or_else(|| panic!("{phase}: failing login listed: {logins:?}"));
    assert_eq!(failed["outcome"], "failed");
    assert!(
        failed["headline"]
            .as_str()
            .unwrap()
            .contains("invalid_grant"),
        "{failed}"
    );
    assert_eq!(
        failed["cause"]["code"], "diagnosis.redirect_uri_mismatch",
        "{failed}"
    );
    assert!(
        logins.iter().any(|l| l["outcome"] != "failed"),
        "{logins:?}"
    );
    let text_summary = all[0]["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text_summary.contains(&cap.failed_login), "{text_summary}");
    let only_failed = answers(dump, "list_logins", |a| a["outcome"] == "failed");
    for a in &only_failed {
        let l = a["result"]["structuredContent"]["logins"]
            .as_array()
            .unwrap();
        assert!(
            l.iter().all(|x| x["outcome"] == "failed") && !l.is_empty(),
            "{a}"
        );
    }
    let by_code = answers(dump, "list_logins", |a| a.get("code").is_some());
    let l = by_code[0]["result"]["structuredContent"]["logins"]
        .as_array()
        .unwrap();
    assert_eq!(
        l.len(),
        1,
        "{phase}: only the failing login has that diagnosis"
    );
    let no_host = answers(dump, "list_logins", |a| a.get("host").is_some());
    assert!(no_host[0]["result"]["structuredContent"]["logins"]
        .as_array()
        .unwrap()
        .is_empty());
    // Paging: one login per page, the second page another login.
    let pages = answers(dump, "list_logins", |a| a["limit"] == 1);
    assert_eq!(pages.len(), 2, "{phase}: a second page was offered");
    let p1 = &pages[0]["result"]["structuredContent"]["logins"][0]["login"];
    let p2 = &pages[1]["result"]["structuredContent"]["logins"][0]["login"];
    assert!(p1.is_string() && p2.is_string() && p1 != p2, "{p1} {p2}");

    // show_login: the redirect_uri diagnosis with its evidence.
    let shown = answers(dump, "show_login", |a| {
        a["login"] == cap.failed_login.as_str()
    });
    assert!(!shown.is_empty());
    for s in shown {
        let sc = &s["result"]["structuredContent"];
        let d = sc["diagnosis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "diagnosis.redirect_uri_mismatch")
            .unwrap_or_else(|| panic!("{phase}: diagnosis in {sc}"));
        assert_eq!(d["severity"], "error");
        assert!(
            d["evidence"].as_object().is_some_and(|e| !e.is_empty()),
            "{d}"
        );
        let mismatch = sc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "redirect_uri.mismatch")
            .unwrap_or_else(|| panic!("{sc}"));
        assert!(mismatch["evidence"]["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "trailing_slash"));
        assert_eq!(mismatch["evidence"]["expected"], DEMO_REDIRECT);
        assert!(mismatch["diff"].as_str().unwrap().contains('^'));
        let kinds: Vec<&str> = sc["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"authorize_request") && kinds.contains(&"token_request"),
            "{kinds:?}"
        );
        assert!(sc["sequence_mermaid"]
            .as_str()
            .unwrap()
            .starts_with("sequenceDiagram"));
        let summary = s["result"]["content"][0]["text"].as_str().unwrap();
        assert!(
            summary.contains("diagnosis.redirect_uri_mismatch"),
            "{summary}"
        );
    }

    // show_exchange: request, response, annotations, decoded JWTs; and the
    // refresh token keeps one fingerprint from the response that issued it
    // to the request that sent it back (two calls, one session).
    let exchanges = answers(dump, "show_exchange", |a| a["id"].is_string());
    let ok: Vec<&Value> = exchanges
        .iter()
        .map(|c| &c["result"])
        .filter(|r| r["isError"] != true)
        .collect();
    assert!(ok.len() >= 6, "{phase}: {} exchanges shown", ok.len());
    let issued = ok
        .iter()
        .map(|r| &r["structuredContent"])
        .find(|s| s["grant_type"] == "authorization_code" && s["response"]["status"] == 200)
        .expect("the successful code exchange");
    let body: Value = serde_json::from_str(issued["response"]["body"].as_str().unwrap()).unwrap();
    let fp = body["refresh_token"].as_str().unwrap();
    assert!(fp.starts_with("«redacted:"), "{fp}");
    let hex = fp.trim_start_matches("«redacted:").trim_end_matches('»');
    let id_token = issued["decoded_jwts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["where"] == "response member id_token")
        .unwrap_or_else(|| panic!("{issued}"));
    assert_eq!(id_token["claims"]["aud"], "demo-app");
    let refresh = ok
        .iter()
        .map(|r| &r["structuredContent"])
        .find(|s| s["grant_type"] == "refresh_token")
        .expect("the refresh");
    assert!(
        refresh["request"]["body"].as_str().unwrap().contains(hex),
        "{phase}: the refresh sends the token issued earlier, same fingerprint: {refresh}"
    );
    let assertion = refresh["decoded_jwts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["where"] == "request parameter client_assertion")
        .unwrap_or_else(|| panic!("{refresh}"));
    assert_eq!(assertion["claims"]["jti"], "a1");
    assert!(assertion["token"].as_str().unwrap().contains("«redacted:"));

    // diff_logins: the failing login against another, differences ranked.
    let diffs = answers(dump, "diff_logins", |a| a["a"] == cap.failed_login.as_str());
    let differences = diffs[0]["result"]["structuredContent"]["differences"]
        .as_array()
        .unwrap_or_else(|| panic!("{phase}: {}", diffs[0]));
    assert!(!differences.is_empty(), "{phase}: {}", diffs[0]);
    assert!(
        diffs[0]["result"]["structuredContent"]["steps"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "{phase}: {}",
        diffs[0]
    );

    // export_report and explain_code.
    let reports = answers(dump, "export_report", |a| {
        a["login"] == cap.failed_login.as_str()
    });
    let md = reports[0]["result"]["structuredContent"]["markdown"]
        .as_str()
        .unwrap();
    assert!(
        md.starts_with("# Token exchange failed: invalid_grant"),
        "{md}"
    );
    assert!(md.contains("```mermaid") && md.contains("redirect_uri.mismatch"));
    let explain = answers(dump, "explain_code", |a| a["code"] == "invalid_grant");
    assert!(explain[0]["result"]["structuredContent"]["entries"]
        .as_array()
        .is_some_and(|e| !e.is_empty()));

    // analyze_har: the same diagnosis from the HAR file.
    let har = answers(dump, "analyze_har", |a| {
        a["path"] == cap.har.to_str().unwrap() && a.get("login").is_none()
    });
    let hl = har[0]["result"]["structuredContent"]["logins"]
        .as_array()
        .unwrap();
    assert!(
        hl.iter()
            .any(|l| l["cause"]["code"] == "diagnosis.redirect_uri_mismatch"),
        "{hl:?}"
    );
    let har_detail = answers(dump, "analyze_har", |a| {
        a.get("login").is_some_and(|l| l != "nope")
    });
    assert!(har_detail
        .iter()
        .any(|c| c["result"]["structuredContent"]["diagnosis"]
            .as_array()
            .is_some_and(|d| d
                .iter()
                .any(|x| x["code"] == "diagnosis.redirect_uri_mismatch"))));

    // Bad arguments: errors an assistant can act on, never a crash.
    let expect_error = |tool: &str, pred: &dyn Fn(&Value) -> bool, kind: Option<&str>| {
        let calls = answers(dump, tool, pred);
        assert!(!calls.is_empty(), "{tool}");
        for c in calls {
            assert!(
                is_error(c),
                "{phase}: {tool} {} should fail: {c}",
                c["args"]
            );
            if let Some(k) = kind {
                assert_eq!(c["result"]["structuredContent"]["error"], k, "{c}");
                let msg = c["result"]["structuredContent"]["message"]
                    .as_str()
                    .unwrap();
                assert!(msg.len() > 20, "{msg}");
            }
        }
    };
    expect_error(
        "show_login",
        &|a| a["login"] == "ffffffffffffffff",
        Some("unknown_id"),
    );
    expect_error(
        "show_login",
        &|a| a["login"] == "not an id",
        Some("bad_argument"),
    );
    expect_error(
        "show_exchange",
        &|a| a["id"] == "0123456789abcdef",
        Some("unknown_id"),
    );
    expect_error(
        "show_exchange",
        &|a| a["id"] == "../../etc/passwd",
        Some("bad_argument"),
    );
    expect_error(
        "export_report",
        &|a| a["login"] == "ffffffffffffffff",
        Some("unknown_id"),
    );
    expect_error(
        "diff_logins",
        &|a| a["a"] == "ffffffffffffffff",
        Some("unknown_id"),
    );
    expect_error(
        "analyze_har",
        &|a| a["path"] == cap.not_har.to_str().unwrap(),
        Some("not_a_har"),
    );
    expect_error(
        "analyze_har",
        &|a| a["path"].as_str().unwrap().ends_with("no-such-file.har"),
        Some("not_a_har"),
    );
    expect_error("analyze_har", &|a| a["path"] == "-", Some("bad_argument"));
    expect_error("analyze_har", &|a| a["login"] == "nope", Some("unknown_id"));
    expect_error(
        "explain_code",
        &|a| a["code"] == "no_such_error_code_xyz",
        Some("unknown_code"),
    );
    expect_error("list_logins", &|a| a["limit"] == 0, Some("bad_argument"));
    expect_error(
        "list_logins",
        &|a| a["cursor"] == "zz",
        Some("bad_argument"),
    );
    expect_error(
        "list_logins",
        &|a| a["since"] == "yesterday",
        Some("bad_argument"),
    );
    expect_error("list_logins", &|a| a["outcome"] == "maybe", None);
    expect_error("show_login", &|a| a.as_object().unwrap().is_empty(), None);
    expect_error("show_exchange", &|a| a["id"] == 42, None);
    // ...and the server still answered afterwards.
    let last = dump["calls"].as_array().unwrap().last().unwrap();
    assert_eq!(last["tool"], "list_logins");
    assert!(!is_error(last), "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_gets_the_diagnosis_and_never_a_secret() {
    let Some(py) = python() else {
        eprintln!(
            "SKIPPED: no python3 with the `mcp` package (run .ci/run, or `python3 -m venv target/mcp-venv && target/mcp-venv/bin/pip install mcp`)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home_dir = dir.path().join("home");
    let session = Session::start(SessionConfig::ephemeral(Home::new(&home_dir)))
        .await
        .unwrap();
    let cap = make_capture(&session, dir.path()).await;

    // While the proxy runs: the server reads through its API.
    let (py2, home2, out) = (
        py.clone(),
        home_dir.clone(),
        dir.path().join("running.json"),
    );
    let cap = std::sync::Arc::new(cap);
    let c2 = cap.clone();
    let running = tokio::task::spawn_blocking(move || run_client(&py2, &home2, &c2, &out))
        .await
        .unwrap();
    check(&running, &cap, "proxy running");

    // After it stopped: the server opens the store itself.
    session.shutdown().await.unwrap();
    assert!(!home_dir.join("proxy.json").exists());
    let (home2, out) = (home_dir.clone(), dir.path().join("stopped.json"));
    let c2 = cap.clone();
    let stopped = tokio::task::spawn_blocking(move || run_client(&py, &home2, &c2, &out))
        .await
        .unwrap();
    check(&stopped, &cap, "store");
}

#[test]
fn no_proxy_and_no_store_is_an_error_the_assistant_can_act_on() {
    let Some(py) = python() else {
        eprintln!("SKIPPED: no python3 with the `mcp` package");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("empty-home");
    let script = r#"
import asyncio, json, sys
from mcp import Client
from mcp.client.stdio import StdioServerParameters
async def main():
    async with Client(StdioServerParameters(command=sys.argv[1], args=["--home", sys.argv[2], "mcp"])) as c:
        r = await c.call_tool("list_logins", {})
        e = await c.call_tool("explain_code", {"code": "AADSTS50011"})
        print(json.dumps([r.model_dump(mode="json", by_alias=True), e.model_dump(mode="json", by_alias=True)]))
asyncio.run(main())
"#;
    let out = support::output_within(
        Command::new(&py)
            .args(["-c", script, env!("CARGO_BIN_EXE_oauthscope")])
            .arg(&home),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["isError"], true);
    assert_eq!(v[0]["structuredContent"]["error"], "no_capture");
    let msg = v[0]["structuredContent"]["message"].as_str().unwrap();
    assert!(
        msg.contains("oauthscope run") && msg.contains(home.to_str().unwrap()),
        "{msg}"
    );
    // Read-only: asking created nothing.
    assert!(!home.join("store").exists());
    // Offline tools work without a capture.
    assert_ne!(v[1]["isError"], true, "{}", v[1]);
    assert!(v[1]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("AADSTS50011"));
}

//! `flows show ID --curl` and `oauthscope replay`, end to end: a real TLS
//! provider on loopback, a real `oauthscope run` process with its sled store
//! on disk, the real binary, and the real `curl`.

mod support;

use base64::Engine as _;
use oauthscope::record::Record;
use oauthscope::store::{Query, Store};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{start_provider, RunProcess};

const SECRET: &str = "s3cr+t/'x";

/// Run `cmd` with stdin closed; fail the test if it takes over 60 s.
async fn bounded(cmd: Command) -> Output {
    bounded_with_input(cmd, None).await
}

/// Run `cmd` with `input` on stdin (closed when `None`), bounded in time.
async fn bounded_with_input(mut cmd: Command, input: Option<&str>) -> Output {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = input {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let pid = child.id();
    let waited = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()),
    )
    .await;
    match waited {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{cmd:?} did not finish within 60 s");
        }
    }
}

/// The real binary with `--home home`.
async fn cli(home: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oauthscope"));
    c.arg("--home").arg(home).args(args).env_remove("RUST_LOG");
    bounded(c).await
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Records the running proxy (or the store) holds, through the binary.
async fn list(home: &Path) -> Vec<Record> {
    let out = cli(home, &["flows", "list", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Wait (bounded) until the capture holds `n` records.
async fn wait_for(home: &Path, n: usize) -> Vec<Record> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let recs = list(home).await;
        if recs.len() >= n || Instant::now() > deadline {
            assert_eq!(recs.len(), n, "{recs:#?}");
            return recs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// Headers that a replay must send again, lower-cased names.
fn replayed_headers(r: &Record) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = r
        .request
        .headers
        .0
        .iter()
        .filter(|(k, _)| oauthscope::curl::is_replayed_header(k))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    h.sort();
    h
}

fn form(r: &Record) -> Vec<(String, String)> {
    url::form_urlencoded::parse(r.request.body.text.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_curl_command_from_flows_show_reproduces_the_exchange() {
    let provider = start_provider().await;
    let run = RunProcess::start(&provider.ca_pem_path, &[]);
    let client = run.client();
    // A form body with Basic credentials, and a JSON body whose values need
    // shell quoting (quotes, $, backslash, newline).
    let r = client
        .post(provider.url("/token"))
        .header("authorization", basic("app", SECRET))
        .header("x-note", "it's $HOME")
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "openid it's \"quoted\" $PATH"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let json_body = "{\"grant_type\":\"client_credentials\",\"client_id\":\"app\",\n \"client_secret\":\"a'b\\\\c $x `y`\"}";
    let r = client
        .post(provider.url("/token"))
        .header("content-type", "application/json")
        .body(json_body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let firsts = wait_for(&run.home, 2).await;
    for (i, first) in firsts.iter().enumerate() {
        let out = cli(&run.home, &["flows", "show", &first.id, "--curl"]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let command = text(&out.stdout);
        // The body is fed on stdin (`printf -- ... | curl ... --data-binary @-`).
        assert!(command.contains("curl --url "), "{command}");
        assert!(!command.contains("--proxy"), "{command}");
        // The user's terminal: the proxy and our CA from the environment,
        // as `oauthscope exec` sets them.
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(format!(
                "{} --silent --show-error --max-time 30",
                command.trim_end()
            ))
            .env("HTTPS_PROXY", format!("http://{}", run.listen))
            .env("https_proxy", format!("http://{}", run.listen))
            .env("CURL_CA_BUNDLE", run.home.join("ca").join("ca.pem"))
            .env_remove("NO_PROXY")
            .env_remove("no_proxy");
        let curl = bounded(sh).await;
        assert!(curl.status.success(), "{command}\n{}", text(&curl.stderr));
        assert!(
            text(&curl.stdout).contains("access_token"),
            "{}",
            text(&curl.stdout)
        );
        let recs = wait_for(&run.home, 3 + i).await;
        let again = recs.last().unwrap();
        assert_eq!(again.request.method, first.request.method);
        assert_eq!(again.request.url, first.request.url);
        assert_eq!(
            again.request.body.text, first.request.body.text,
            "{command}"
        );
        let want = replayed_headers(first);
        let got = replayed_headers(again);
        for h in &want {
            // curl names itself in User-Agent; everything else is the same.
            if h.0 != "user-agent" {
                assert!(got.contains(h), "{h:?} missing from {got:?}\n{command}");
            }
        }
        assert_eq!(
            again.response.as_ref().unwrap().status,
            first.response.as_ref().unwrap().status
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redact_masks_the_secrets_in_the_curl_command() {
    let provider = start_provider().await;
    let run = RunProcess::start(&provider.ca_pem_path, &[]);
    let r = run
        .client()
        .post(provider.url("/token"))
        .header("authorization", basic("app", SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "CODE-abc+1"),
            ("redirect_uri", "http://localhost:3000/callback"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = wait_for(&run.home, 1).await[0].id.clone();
    let basic_value = basic("app", SECRET);
    let plain = text(
        &cli(&run.home, &["flows", "show", &id, "--curl"])
            .await
            .stdout,
    );
    assert!(plain.contains(&basic_value), "{plain}");
    assert!(plain.contains("code=CODE-abc%2B1"), "{plain}");
    let out = cli(&run.home, &["flows", "show", &id, "--curl", "--redact"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let redacted = text(&out.stdout);
    assert!(redacted.contains("curl --url "), "{redacted}");
    assert!(redacted.contains("«redacted:"), "{redacted}");
    for secret in [basic_value.trim_start_matches("Basic "), "CODE-abc", SECRET] {
        assert!(!redacted.contains(secret), "{secret} in {redacted}");
    }
    assert!(
        redacted.contains("redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback"),
        "not a secret: {redacted}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_in_flavour_4_through_the_running_proxy_then_alone_into_the_store() {
    let provider = start_provider().await;
    let mut run = RunProcess::start(&provider.ca_pem_path, &[]);
    // Flavour 1: Basic with URL-encoded id:secret, form body.
    let r = run
        .client()
        .post(provider.url("/token"))
        .header("authorization", basic("app", SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let original = wait_for(&run.home, 1).await.remove(0);

    let out = cli(
        &run.home,
        &[
            "replay",
            &original.id,
            "--flavour",
            "4",
            "--set",
            "scope=openid email",
        ],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("recorded by the running proxy"), "{stdout}");
    assert!(stdout.contains("HTTP 200"), "{stdout}");
    assert!(stdout.contains("flavour 4"), "{stdout}");
    // The provider answered the JSON body with 200: the capture refutes
    // "many servers reject JSON", so no such warning is left.
    assert!(!stdout.contains("token_request.json_body"), "{stdout}");
    // The running proxy's store holds the new exchange.
    let recs = wait_for(&run.home, 2).await;
    let new = &recs[1];
    let body: Value = serde_json::from_str(&new.request.body.text).unwrap();
    assert_eq!(body["client_id"], "app");
    assert_eq!(body["client_secret"], SECRET);
    assert_eq!(body["scope"], "openid email");
    assert_eq!(body["grant_type"], "client_credentials");
    assert!(new.request.headers.get("authorization").is_none());
    assert_eq!(new.response.as_ref().unwrap().status, 200);
    let shown = cli(&run.home, &["flows", "show", &new.id, "--json"]).await;
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["flavour"]["number"], 4, "{shown:#}");
    assert_eq!(shown["flavour"]["body"], "json");

    // No proxy running: replay opens the store itself and records there.
    assert!(run.terminate().success());
    assert!(!run.home.join("proxy.json").exists());
    let out = cli(
        &run.home,
        &[
            "replay",
            &original.id,
            "--upstream-ca",
            provider.ca_pem_path.to_str().unwrap(),
            "--set",
            "scope=admin",
        ],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("recorded in the store"), "{stdout}");
    assert!(stdout.contains("flavour 1"), "{stdout}");
    let store = Store::open(&run.home.join("store")).unwrap();
    let recs = store.query(&Query::default()).unwrap();
    assert_eq!(recs.len(), 3, "{recs:#?}");
    let alone = &recs[2];
    assert_eq!(
        alone.request.headers.get("authorization"),
        original.request.headers.get("authorization")
    );
    assert_eq!(
        form(alone),
        vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("scope".to_string(), "admin".to_string())
        ]
    );
    assert_eq!(alone.response.as_ref().unwrap().status, 200);
    assert!(alone
        .response
        .as_ref()
        .unwrap()
        .body
        .text
        .contains("access_token"));
    assert_eq!(
        oauthscope::analyze::flavour::detect(alone).unwrap().number,
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_code_is_not_sent_again_without_yes() {
    let provider = start_provider().await;
    let run = RunProcess::start(&provider.ca_pem_path, &[]);
    let r = run
        .client()
        .post(provider.url("/token"))
        .header("authorization", basic("app", SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "CODE-abc+1"),
            ("redirect_uri", "http://localhost:3000/callback"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = wait_for(&run.home, 1).await[0].id.clone();

    // stdin is not a terminal: refused, with the hint, and nothing sent.
    let out = cli(&run.home, &["replay", &id]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("single-use"), "{stderr}");
    assert!(stderr.contains("invalid_grant"), "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(stderr.contains("not sent"), "{stderr}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(list(&run.home).await.len(), 1, "something was sent");

    // On a terminal (`script` gives it one) it asks; "n" sends nothing, "y" sends.
    let on_a_terminal = |answer: &'static str| {
        let line = [
            env!("CARGO_BIN_EXE_oauthscope"),
            "--home",
            run.home.to_str().unwrap(),
            "replay",
            &id,
        ]
        .map(oauthscope::curl::shell_quote)
        .join(" ");
        let mut c = Command::new("script");
        c.args(["-qec", &line, "/dev/null"]);
        bounded_with_input(c, Some(answer))
    };
    let out = on_a_terminal("n\n").await;
    let said = text(&out.stdout);
    assert!(said.contains("Send it anyway? [y/N]"), "{said}");
    assert!(said.contains("not sent (answered no)"), "{said}");
    assert_eq!(out.status.code(), Some(2), "{said}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(list(&run.home).await.len(), 1, "sent after answering no");
    let out = on_a_terminal("y\n").await;
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("recorded by the running proxy"), "{said}");
    wait_for(&run.home, 2).await;

    let out = cli(&run.home, &["replay", &id, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("single-use"));
    let recs = wait_for(&run.home, 3).await;
    assert_eq!(form(&recs[2]), form(&recs[0]));
    // The same code exchanged again: the same flow.
    assert_eq!(recs[2].flow, recs[0].flow);
    assert!(
        text(&out.stdout).contains("\"access_token\""),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_errors_are_one_line_and_say_what_to_do() {
    let provider = start_provider().await;
    let mut run = RunProcess::start(&provider.ca_pem_path, &[]);
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://{}", run.listen)).unwrap())
        .tls_certs_only([reqwest::Certificate::from_pem(run.ca_pem().as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .get(provider.url(
            "/authorize?response_type=code&client_id=app&state=st1&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let r = client
        .post(provider.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let recs = wait_for(&run.home, 2).await;
    let authorize = recs
        .iter()
        .find(|r| r.kind == oauthscope::record::Kind::AuthorizeRequest)
        .unwrap();
    let token = recs
        .iter()
        .find(|r| r.kind == oauthscope::record::Kind::TokenRequest)
        .unwrap();
    let one_line = |out: &Output, wants: &[&str]| {
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        for w in wants {
            assert!(stderr.contains(w), "{w:?} not in {stderr}");
        }
    };
    // Through the running proxy, to a provider whose CA the proxy does not trust.
    let stranger = start_provider().await;
    one_line(
        &cli(
            &run.home,
            &["replay", &token.id, "--url", &stranger.url("/token")],
        )
        .await,
        &[
            "the running proxy could not reach the provider",
            "not trusted",
            "restart `oauthscope run --upstream-ca FILE`",
        ],
    );
    // The proxy recorded its failed attempt.
    wait_for(&run.home, 3).await;
    assert!(run.terminate().success());
    one_line(
        &cli(&run.home, &["replay", "ffffffffffff"]).await,
        &["no exchange with id", "flows list"],
    );
    one_line(
        &cli(&run.home, &["replay", &authorize.id]).await,
        &[
            "authorize_request",
            "token requests",
            "--kind token_request",
        ],
    );
    // The provider's CA is not trusted without --upstream-ca.
    one_line(
        &cli(&run.home, &["replay", &token.id]).await,
        &["not trusted", "--upstream-ca"],
    );
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!(
        "https://127.0.0.1:{}/token",
        dead.local_addr().unwrap().port()
    );
    drop(dead);
    one_line(
        &cli(&run.home, &["replay", &token.id, "--url", &dead_url]).await,
        &["connection refused"],
    );
    one_line(
        &cli(
            &run.home,
            &[
                "replay",
                &token.id,
                "--flavour",
                "1",
                "--unset",
                "client_secret",
            ],
        )
        .await,
        &["--set client_secret="],
    );
    // None of the others recorded anything.
    let store = Store::open(&run.home.join("store")).unwrap();
    assert_eq!(store.len(), 3);
}

/// Against `oauthscope mock`, which enforces single-use codes: the replayed
/// code exchange is refused, and the analysis over the flow it came from
/// explains why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_code_is_refused_by_the_mock_and_explained_from_the_flow() {
    use oauthscope::mock::{self, Client, MockConfig};
    const CB: &str = "http://127.0.0.1:8000/callback";
    let m = mock::start(MockConfig {
        clients: vec![Client::new("app", SECRET, &[CB])],
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let provider = start_provider().await;
    let run = RunProcess::start(&provider.ca_pem_path, &[]);
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://{}", run.listen)).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut authorize = url::Url::parse(&m.authorize_url()).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "app")
        .append_pair("redirect_uri", CB)
        .append_pair("state", "st-1");
    let r = client.get(authorize).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let r = client
        .post(m.token_url())
        .header("authorization", basic("app", SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CB),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let recs = wait_for(&run.home, 2).await;
    let token = recs
        .iter()
        .find(|r| r.kind == oauthscope::record::Kind::TokenRequest)
        .unwrap();

    let out = cli(&run.home, &["replay", &token.id, "--yes"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("HTTP 400"), "{stdout}");
    assert!(stdout.contains("error.invalid_grant"), "{stdout}");
    assert!(stdout.contains("diagnosis.code_reused"), "{stdout}");
    // The provider's view: the same code at the token endpoint twice.
    let tokens: Vec<_> = m
        .history()
        .into_iter()
        .filter(|h| h.path.starts_with("/token"))
        .collect();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert_eq!(tokens[0].status, 200);
    assert_eq!(tokens[1].status, 400);
    assert!(tokens[1].outcome.contains("invalid_grant"), "{tokens:?}");
    wait_for(&run.home, 3).await;
}

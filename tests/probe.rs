//! The flavour probe against the mock: it finds exactly the accepted set.

use oauthscope::mock::{self, Client, MockConfig, Quirks, RunningMock};
use oauthscope::probe::{self, Grant, Outcome, ProbeConfig};

const ID: &str = "app";
/// A secret holding `+ / = %` and a space, so all six flavours are different bytes.
const SECRET: &str = "s3c+r/t=%x y";
const CB: &str = "http://127.0.0.1:8000/callback";

async fn start(accept: &[u8], rotate: bool) -> RunningMock {
    mock::start(MockConfig {
        clients: vec![Client::new(ID, SECRET, &[CB])],
        quirks: Quirks {
            accept_flavours: accept.to_vec(),
            rotate_refresh_tokens: rotate,
            ..Quirks::default()
        },
        ..MockConfig::default()
    })
    .await
    .unwrap()
}

fn sorted(mut v: Vec<u8>) -> Vec<u8> {
    v.sort_unstable();
    v
}

#[tokio::test]
async fn each_accept_set_is_found_exactly() {
    let sets: [&[u8]; 9] = [
        &[1],
        &[2],
        &[3],
        &[4],
        &[5],
        &[6],
        &[1, 3],
        &[2, 5],
        &[1, 2, 3, 4, 5, 6],
    ];
    for set in sets {
        let m = start(set, false).await;
        let cfg = ProbeConfig::new(&m.token_url(), ID, SECRET);
        let report = probe::probe(&cfg).await.unwrap();
        assert_eq!(
            sorted(report.accepted.clone()),
            set.to_vec(),
            "accept {set:?}: {report:#?}"
        );
        assert_eq!(report.attempts.len(), 6);
        let order: Vec<u8> = report.attempts.iter().map(|a| a.flavour).collect();
        assert_eq!(order, probe::POPULARITY_ORDER.to_vec());
        for a in &report.attempts {
            if set.contains(&a.flavour) {
                assert_eq!(a.outcome, Outcome::Accepted);
            } else {
                assert_eq!(a.outcome, Outcome::Rejected, "{a:?}");
                assert!(a.status.is_some_and(|s| s >= 400), "{a:?}");
                assert!(a.error.is_some(), "a rejection says why: {a:?}");
            }
        }
        m.shutdown().await;
    }
}

#[tokio::test]
async fn rejections_carry_the_providers_errors() {
    let m = start(&[3], false).await;
    let report = probe::probe(&ProbeConfig::new(&m.token_url(), ID, SECRET))
        .await
        .unwrap();
    let by = |n: u8| report.attempts.iter().find(|a| a.flavour == n).unwrap();
    assert_eq!(by(1).error.as_deref(), Some("invalid_client"));
    assert!(by(1)
        .error_description
        .as_deref()
        .unwrap()
        .contains("supports client authentication method 'client_secret_post', but method 'client_secret_basic'"));
    assert_eq!(by(4).error.as_deref(), Some("invalid_request"));
    assert!(by(4)
        .error_description
        .as_deref()
        .unwrap()
        .starts_with("AADSTS900144"));
    let table = probe::render_table(&report);
    assert!(
        table.contains("accepted: 3 (client_id/client_secret in body + form)"),
        "{table}"
    );
}

#[tokio::test]
async fn identical_flavours_are_not_sent_twice() {
    let m = mock::start(MockConfig {
        clients: vec![Client::new(ID, "plainsecret", &[CB])],
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let report = probe::probe(&ProbeConfig::new(&m.token_url(), ID, "plainsecret"))
        .await
        .unwrap();
    let skipped: Vec<u8> = report
        .attempts
        .iter()
        .filter(|a| a.outcome == Outcome::Skipped)
        .map(|a| a.flavour)
        .collect();
    assert_eq!(skipped, vec![5, 6]);
    assert!(report.attempts[2]
        .note
        .as_deref()
        .unwrap()
        .contains("same bytes as flavour 1"));
    assert_eq!(sorted(report.accepted), vec![1, 2, 3, 4]);
    let sent = m.history().iter().filter(|h| h.path == "/token").count();
    assert_eq!(sent, 4);
}

#[tokio::test]
async fn a_code_probe_stops_at_the_first_success() {
    let m = start(&[3, 4], false).await;
    let loc = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
        .get(format!(
            "{}?response_type=code&client_id={ID}&redirect_uri={}",
            m.authorize_url(),
            url::form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
        ))
        .send()
        .await
        .unwrap()
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let code = url::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let mut cfg = ProbeConfig::new(&m.token_url(), ID, SECRET);
    cfg.grant = Grant::AuthorizationCode;
    cfg.code = Some(code);
    cfg.redirect_uri = Some(CB.into());
    let report = probe::probe(&cfg).await.unwrap();
    assert!(report.warnings[0].contains("single-use"));
    assert_eq!(report.accepted, vec![3]);
    let outcomes: Vec<Outcome> = report.attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Rejected,
            Outcome::Accepted,
            Outcome::NotTried,
            Outcome::NotTried,
            Outcome::NotTried,
            Outcome::NotTried
        ]
    );
}

#[tokio::test]
async fn a_refresh_probe_follows_rotation_and_reports_the_newest_token() {
    let m = start(&[1, 3], true).await;
    // Get a refresh token through a real code exchange.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let loc = http
        .get(format!(
            "{}?response_type=code&client_id={ID}",
            m.authorize_url()
        ))
        .send()
        .await
        .unwrap()
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let code = url::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let t: serde_json::Value = http
        .post(m.token_url())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CB),
            ("client_id", ID),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let mut cfg = ProbeConfig::new(&m.token_url(), ID, SECRET);
    cfg.grant = Grant::RefreshToken;
    cfg.refresh_token = Some(rt.clone());
    let report = probe::probe(&cfg).await.unwrap();
    assert!(report.warnings[0].contains("rotates"));
    assert_eq!(report.accepted, vec![1, 3], "{report:#?}");
    let newest = report.newest_refresh_token.clone().unwrap();
    assert_ne!(newest, rt);
}

#[test]
fn the_cli_exits_1_when_nothing_is_accepted_and_prints_json() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let m = rt.block_on(start(&[4], false));
    let exe = env!("CARGO_BIN_EXE_oauthscope");
    let out = std::process::Command::new(exe)
        .args([
            "probe",
            "--token-url",
            &m.token_url(),
            "--client-id",
            ID,
            "--client-secret",
            "wrong",
            "--json",
        ])
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["accepted"], serde_json::json!([]));
    assert_eq!(v["attempts"].as_array().unwrap().len(), 6);

    let out = std::process::Command::new(exe)
        .args([
            "probe",
            "--token-url",
            &m.token_url(),
            "--client-id",
            ID,
            "--client-secret",
            SECRET,
        ])
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("accepted: 4 (client_id/client_secret in body + json)"),
        "{table}"
    );

    let out = std::process::Command::new(exe)
        .args([
            "probe",
            "--token-url",
            "not a url",
            "--client-id",
            ID,
            "--client-secret",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("token URL"));
}

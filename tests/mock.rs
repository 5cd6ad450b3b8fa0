//! The mock provider over real HTTP(S) on loopback: each quirk answers with
//! the error the real provider it imitates sends.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use oauthscope::mock::{
    self, Client, ErrorsIn200, MockConfig, Quirks, RedirectMatch, RefreshPolicy, RunningMock,
};
use serde_json::Value;
use sha2::Digest as _;

const ID: &str = "app";
const SECRET: &str = "s3c+r/t=%x";
const CB: &str = "http://127.0.0.1:8000/callback";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

async fn start(quirks: Quirks) -> RunningMock {
    mock::start(MockConfig {
        clients: vec![Client::new(ID, SECRET, &[CB])],
        quirks,
        ..MockConfig::default()
    })
    .await
    .unwrap()
}

fn basic() -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(ID), enc(SECRET)))
    )
}

/// GET /authorize with `extra` params; returns the Location's query parameters.
async fn authorize(m: &RunningMock, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut u = url::Url::parse(&m.authorize_url()).unwrap();
    u.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", ID)
        .append_pair("state", "st-1");
    for (k, v) in extra {
        u.query_pairs_mut().append_pair(k, v);
    }
    let r = http().get(u).send().await.unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap());
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    url::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn param<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

async fn code(m: &RunningMock) -> String {
    let p = authorize(
        m,
        &[("redirect_uri", CB), ("scope", "openid offline_access")],
    )
    .await;
    param(&p, "code").unwrap().to_owned()
}

/// POST /token with Basic (flavour 1) and a form body.
async fn token(m: &RunningMock, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http()
        .post(m.token_url())
        .header("authorization", basic())
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn exchange(m: &RunningMock, code: &str, redirect: &str) -> (u16, Value) {
    token(
        m,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
        ],
    )
    .await
}

#[tokio::test]
async fn a_login_gets_a_signed_id_token_with_the_nonce() {
    let m = start(Quirks::default()).await;
    let disco: Value = http()
        .get(format!("{}/.well-known/openid-configuration", m.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disco["issuer"], m.issuer());
    assert_eq!(disco["token_endpoint"], m.token_url());
    let p = authorize(
        &m,
        &[("redirect_uri", CB), ("scope", "openid"), ("nonce", "n-42")],
    )
    .await;
    assert_eq!(param(&p, "state"), Some("st-1"));
    assert_eq!(param(&p, "iss"), Some(m.issuer()));
    let (status, body) = exchange(&m, param(&p, "code").unwrap(), CB).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let idt = body["id_token"].as_str().unwrap();
    let parts: Vec<&str> = idt.split('.').collect();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["nonce"], "n-42");
    assert_eq!(claims["aud"], ID);
    assert_eq!(claims["iss"], m.issuer());

    // The signature verifies with the key the JWKS publishes.
    let jwks: Value = http()
        .get(disco["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let k = &jwks["keys"][0];
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(k["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(k["y"].as_str().unwrap()).unwrap());
    let key = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        &point,
    );
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .expect("ID token signature verifies with the JWKS key");

    // The access token works at userinfo; a made-up one does not.
    let ui = http()
        .get(format!("{}/userinfo", m.issuer()))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ui.status(), 200);
    let bad = http()
        .get(format!("{}/userinfo", m.issuer()))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert!(bad.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));

    let h = m.history();
    assert!(h
        .iter()
        .any(|e| e.path.starts_with("/authorize") && e.status == 302));
    assert!(h
        .iter()
        .any(|e| e.path == "/token" && e.outcome.contains("tokens issued")));
    m.shutdown().await;
}

#[tokio::test]
async fn a_reused_code_is_refused_like_keycloak_and_revokes_the_first_tokens() {
    let m = start(Quirks::default()).await;
    let c = code(&m).await;
    let (s1, first) = exchange(&m, &c, CB).await;
    assert_eq!(s1, 200);
    let (s2, again) = exchange(&m, &c, CB).await;
    assert_eq!(s2, 400);
    assert_eq!(again["error"], "invalid_grant");
    assert_eq!(again["error_description"], "Code not valid");
    // RFC 6749 §4.1.2: tokens issued from the code are revoked.
    let rt = first["refresh_token"].as_str().unwrap();
    let (s3, refused) = token(
        &m,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await;
    assert_eq!(
        (s3, refused["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn an_expired_code_is_refused_with_code_is_expired() {
    let m = start(Quirks {
        code_ttl_secs: 0,
        ..Quirks::default()
    })
    .await;
    let c = code(&m).await;
    let (s, body) = exchange(&m, &c, CB).await;
    assert_eq!(s, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Code is expired");
}

#[tokio::test]
async fn rotated_refresh_tokens_die_on_reuse_and_take_the_family_with_them() {
    let m = start(Quirks {
        rotate_refresh_tokens: true,
        ..Quirks::default()
    })
    .await;
    let c = code(&m).await;
    let (_, t) = exchange(&m, &c, CB).await;
    let rt1 = t["refresh_token"].as_str().unwrap().to_owned();
    let (s, t2) = token(
        &m,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    )
    .await;
    assert_eq!(s, 200);
    let rt2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2, "rotation issues a new refresh token");
    let (s, reuse) = token(
        &m,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(reuse["error"], "invalid_grant");
    assert_eq!(
        reuse["error_description"],
        "Unknown or invalid refresh token."
    );
    let (s, after) = token(
        &m,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
    )
    .await;
    assert_eq!((s, after["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn without_rotation_a_refresh_token_keeps_working() {
    let m = start(Quirks::default()).await;
    let c = code(&m).await;
    let (_, t) = exchange(&m, &c, CB).await;
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let (s, b) = token(
            &m,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert!(b.get("refresh_token").is_none());
    }
    let (s, b) = token(
        &m,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "openid admin"),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_scope")));
}

#[tokio::test]
async fn immediate_expire_fails_the_first_refresh_like_salesforce() {
    let m = start(Quirks {
        refresh_policy: RefreshPolicy::ImmediateExpire,
        ..Quirks::default()
    })
    .await;
    let c = code(&m).await;
    let (_, t) = exchange(&m, &c, CB).await;
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let (s, b) = token(
        &m,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(b["error"], "invalid_grant");
    assert_eq!(b["error_description"], "expired access/refresh token");
}

#[tokio::test]
async fn errors_in_200_follow_github_and_slack() {
    let gh = start(Quirks {
        errors_in_200: Some(ErrorsIn200::Github),
        ..Quirks::default()
    })
    .await;
    // GitHub answers form-encoded unless the client asks for JSON.
    let r = http()
        .post(gh.token_url())
        .header("authorization", basic())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "bogus"),
            ("redirect_uri", CB),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.starts_with("error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired."), "{body}");
    let (s, j) = exchange(&gh, "bogus", CB).await;
    assert_eq!(
        (s, j["error"].as_str()),
        (200, Some("bad_verification_code"))
    );

    let slack = start(Quirks {
        errors_in_200: Some(ErrorsIn200::Slack),
        ..Quirks::default()
    })
    .await;
    let (s, j) = exchange(&slack, "bogus", CB).await;
    assert_eq!(s, 200);
    assert_eq!(j, serde_json::json!({"ok": false, "error": "invalid_code"}));
    let c = code(&slack).await;
    let (s, j) = exchange(&slack, &c, CB).await;
    assert_eq!((s, &j["ok"]), (200, &Value::Bool(true)));
    assert!(j["access_token"].is_string());
}

#[tokio::test]
async fn require_pkce_refuses_authorize_without_a_challenge_and_checks_the_verifier() {
    let m = start(Quirks {
        require_pkce: true,
        ..Quirks::default()
    })
    .await;
    let p = authorize(&m, &[("redirect_uri", CB)]).await;
    assert_eq!(param(&p, "error"), Some("invalid_request"));
    assert_eq!(
        param(&p, "error_description"),
        Some("code challenge required")
    );
    assert_eq!(param(&p, "state"), Some("st-1"));

    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let pkce = [
        ("redirect_uri", CB),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let c = param(&authorize(&m, &pkce).await, "code")
        .unwrap()
        .to_owned();
    let other = "x".repeat(43);
    let (s, b) = token(
        &m,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", CB),
            ("code_verifier", &other),
        ],
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(b["error"], "invalid_grant");
    assert_eq!(
        b["error_description"],
        "PKCE verification failed: Code mismatch"
    );

    let c = param(&authorize(&m, &pkce).await, "code")
        .unwrap()
        .to_owned();
    let (s, b) = exchange(&m, &c, CB).await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("PKCE code verifier not specified"))
    );

    let c = param(&authorize(&m, &pkce).await, "code")
        .unwrap()
        .to_owned();
    let (s, b) = token(
        &m,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", CB),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn redirect_matching_modes_decide_the_token_leg() {
    let slash = format!("{CB}/");
    // exact: a trailing slash at the token leg is invalid_grant (Okta's wording).
    let m = start(Quirks::default()).await;
    let c = code(&m).await;
    let (s, b) = exchange(&m, &c, &slash).await;
    assert_eq!(s, 400);
    assert_eq!(b["error"], "invalid_grant");
    assert_eq!(
        b["error_description"],
        "The 'redirect_uri' does not match the redirection URI used in the authorization request."
    );
    let c = code(&m).await;
    let r = token(&m, &[("grant_type", "authorization_code"), ("code", &c)]).await;
    assert_eq!(
        r.1["error_description"],
        "redirect_uri is required if it was included in the authorization request."
    );
    // An unregistered redirect at authorize gets an error page, not a redirect.
    let r = http()
        .get(format!(
            "{}?response_type=code&client_id={ID}&redirect_uri=http%3A%2F%2Fevil.example%2Fcb",
            m.authorize_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Invalid parameter: redirect_uri"));

    let lenient = start(Quirks {
        redirect_match: RedirectMatch::IgnoreTrailingSlash,
        ..Quirks::default()
    })
    .await;
    let c = code(&lenient).await;
    assert_eq!(exchange(&lenient, &c, &slash).await.0, 200);
    let c = code(&lenient).await;
    assert_eq!(exchange(&lenient, &c, &format!("{CB}/x")).await.0, 400);

    let prefix = start(Quirks {
        redirect_match: RedirectMatch::Prefix,
        ..Quirks::default()
    })
    .await;
    let sub = format!("{CB}/sub");
    let p = authorize(&prefix, &[("redirect_uri", &sub)]).await;
    let c = param(&p, "code").unwrap().to_owned();
    assert_eq!(exchange(&prefix, &c, &sub).await.0, 200);
    let p = authorize(&prefix, &[("redirect_uri", &sub)]).await;
    let c = param(&p, "code").unwrap().to_owned();
    assert_eq!(exchange(&prefix, &c, CB).await.0, 400);
}

#[tokio::test]
async fn a_wrong_secret_is_401_invalid_client_with_www_authenticate() {
    let m = start(Quirks::default()).await;
    let r = http()
        .post(m.token_url())
        .basic_auth(ID, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "invalid_client");
    // Body credentials: still 401, no WWW-Authenticate needed.
    let r = http()
        .post(m.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ID),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A Basic header that is not base64 is a clear client error, not a crash.
    let r = http()
        .post(m.token_url())
        .header("authorization", "Basic %%%")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_form_only_mock_refuses_json_like_entra() {
    let m = start(Quirks {
        accept_flavours: vec![1, 3, 5],
        ..Quirks::default()
    })
    .await;
    let r = http()
        .post(m.token_url())
        .json(&serde_json::json!({"grant_type": "client_credentials", "client_id": ID, "client_secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "invalid_request");
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS900144"));
}

#[tokio::test]
async fn the_mock_serves_https_with_a_given_certificate() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let cert_der = ck.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der()).unwrap();
    let server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key)
        .unwrap();
    let m = mock::start(MockConfig {
        clients: vec![Client::new(ID, SECRET, &[CB])],
        tls: Some(std::sync::Arc::new(server)),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    assert!(m.issuer().starts_with("https://127.0.0.1:"));
    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(ck.cert.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let disco: Value = client
        .get(format!("{}/.well-known/openid-configuration", m.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disco["issuer"], m.issuer());
}

#[test]
fn the_cli_prints_every_request_and_rejects_bad_config() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let exe = env!("CARGO_BIN_EXE_oauthscope");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[clients]]\nid = \"a\"\nredirect_uris = [\"not a uri\"]\n",
    )
    .unwrap();
    let out = Command::new(exe)
        .args(["mock", "--listen", "127.0.0.1:0", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a uri"));

    let mut child = Command::new(exe)
        .arg("--home")
        .arg(dir.path().join("home"))
        .args([
            "mock",
            "--listen",
            "127.0.0.1:0",
            "--client",
            "cli-app:pw:http://127.0.0.1:1/cb",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let issuer = first.rsplit(' ').next().unwrap().to_owned();
    assert!(issuer.starts_with("http://127.0.0.1:"), "{first}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        http()
            .post(format!("{issuer}/token"))
            .basic_auth("cli-app", Some("pw"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    let mut seen = None;
    for line in lines.by_ref().take(20) {
        let line = line.unwrap();
        if line.contains("POST") && line.contains("/token") {
            seen = Some(line);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = seen.expect("the token request appears in the printed history");
    assert!(
        line.contains("200") && line.contains("client_credentials"),
        "{line}"
    );
}

#[tokio::test]
async fn bad_input_gets_clear_errors_not_crashes() {
    let m = start(Quirks::default()).await;
    let c = http();
    let huge = vec![b'a'; 2 << 20];
    let r = c
        .post(m.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await;
    // The server may answer 413 or close the connection while the client is still sending.
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
    let r = c
        .post(m.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x80])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "invalid_client");
    let r = c
        .post(m.token_url())
        .header("content-type", "application/json")
        .body("[1,2,3]")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let r = c.get(m.token_url()).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = c
        .post(m.token_url())
        .header("authorization", basic())
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "unsupported_grant_type");
    // The server is still up after all that.
    let r = c.get(format!("{}/jwks", m.issuer())).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// client_credentials has no end user: even with `scope=openid` the mock
/// answers without an ID token (OIDC Core §2), as real providers do.
#[tokio::test]
async fn client_credentials_never_gets_an_id_token() {
    let m = start(Quirks::default()).await;
    let r = http()
        .post(m.token_url())
        .basic_auth(ID, Some(SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "openid read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert!(b["access_token"].is_string(), "{b}");
    assert!(b.get("id_token").is_none(), "{b}");
}

//! Provider dialects through the real proxy: a real TLS provider on
//! loopback and a real client sending through the proxy, trusting only the
//! oauthscope CA. Each exchange must be recorded with the right kind and
//! read right (DESIGN "Provider dialects"); a non-OAuth multipart upload
//! streams through unrecorded.

mod support;

use oauthscope::analyze::{analyze, AnalyzeOptions};
use oauthscope::record::{Kind, Record, Severity};
use support::{Harness, Provider};

fn annotated(recs: &[Record]) -> Vec<Record> {
    analyze(recs, &AnalyzeOptions::default())
}

fn codes(r: &Record) -> Vec<&str> {
    r.annotations.iter().map(|a| a.code.as_str()).collect()
}

fn of_kind(recs: &[Record], kind: Kind) -> Vec<&Record> {
    recs.iter().filter(|r| r.kind == kind).collect()
}

async fn github_exchange(p: &Provider, h: &Harness) {
    let resp = h
        .client()
        .post(p.url("/login/oauth/access_token"))
        .form(&[
            ("client_id", "Iv1.abc"),
            ("client_secret", "s3cret"),
            ("code", "gh-code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A client reads the token response it asked for; one that drops it
    // unread is recorded as having stopped reading (the body may be cut).
    let body = resp.text().await.unwrap();
    assert!(body.contains("bad_verification_code"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_code_exchange_without_grant_type_is_a_token_request() {
    let (p, h) = Harness::with_provider().await;
    github_exchange(&p, &h).await;
    let recs = annotated(&h.wait_for(1).await);
    let tok = &recs[0];
    assert_eq!(tok.kind, Kind::TokenRequest);
    assert_eq!(tok.grant_type.as_deref(), Some("authorization_code"));
    assert_eq!(tok.flavour.as_ref().unwrap().number, Some(3));
    let c = codes(tok);
    assert!(c.contains(&"token_request.grant_type_implied"), "{c:?}");
    assert!(c.contains(&"error.bad_verification_code"), "{c:?}");
    assert!(c.contains(&"error.hidden_in_success"), "{c:?}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_v2_authorize_without_response_type_and_its_access_call() {
    let (p, h) = Harness::with_provider().await;
    let client = h.client();
    let resp = client
        .get(p.url(
            "/oauth/v2/authorize?client_id=1.2&scope=chat%3Awrite&state=st-9&redirect_uri=https%3A%2F%2Fbot.example.com%2Fslack",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let resp = client
        .post(p.url("/api/oauth.v2.access"))
        .form(&[
            ("client_id", "1.2"),
            ("client_secret", "x"),
            ("code", "dialect-code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let recs = annotated(&h.wait_for(2).await);
    let auth = of_kind(&recs, Kind::AuthorizeRequest);
    assert_eq!(auth.len(), 1, "{recs:#?}");
    let tok = of_kind(&recs, Kind::TokenRequest);
    assert_eq!(tok.len(), 1);
    assert_eq!(tok[0].flow, auth[0].flow, "one login");
    let c = codes(tok[0]);
    assert!(c.contains(&"error.invalid_code"), "{c:?}");
    assert!(c.contains(&"error.hidden_in_success"), "{c:?}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_token_post_is_buffered_and_read_like_a_form() {
    let (p, h) = Harness::with_provider().await;
    let form = reqwest::multipart::Form::new()
        .text("client_id", "27431")
        .text("client_secret", "abc")
        .text("code", "mp-code")
        .text("grant_type", "authorization_code");
    let resp = h
        .client()
        .post(p.url("/multipart/token"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let recs = annotated(&h.wait_for(1).await);
    let tok = &recs[0];
    assert_eq!(tok.kind, Kind::TokenRequest);
    assert_eq!(tok.grant_type.as_deref(), Some("authorization_code"));
    let f = tok.flavour.as_ref().unwrap();
    assert_eq!(
        (f.client_auth.as_str(), f.body.as_str()),
        ("body", "multipart")
    );
    // The provider read the multipart body and answered 200: the capture
    // refutes "many servers do not read multipart", so no warning is left.
    assert!(!codes(tok).contains(&"token_request.multipart_body"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facebook_get_token_exchange_is_a_token_request() {
    let (p, h) = Harness::with_provider().await;
    let resp = h
        .client()
        .get(p.url(
            "/v19.0/oauth/access_token?client_id=123&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&client_secret=fbsecret&code=fb-code",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let recs = annotated(&h.wait_for(1).await);
    let tok = &recs[0];
    assert_eq!(tok.kind, Kind::TokenRequest);
    assert_eq!(tok.request.method, "GET");
    assert_eq!(tok.grant_type.as_deref(), Some("authorization_code"));
    let f = tok.flavour.as_ref().unwrap();
    assert_eq!((f.number, f.client_auth.as_str()), (None, "query"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_added_realm_id_on_the_redirect_is_no_mismatch() {
    let (p, h) = Harness::with_provider().await;
    let resp = h
        .client()
        .get(p.url(
            "/intuit/authorize?client_id=AB1&response_type=code&scope=accounting&state=st-1&redirect_uri=https%3A%2F%2Fapp.example.com%2Fquickbooks%2Fcallback",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert!(resp.headers()["location"]
        .to_str()
        .unwrap()
        .contains("realmId="));
    let recs = annotated(&h.wait_for(1).await);
    assert_eq!(recs[0].kind, Kind::AuthorizeRequest);
    assert!(
        recs.iter()
            .flat_map(|r| &r.annotations)
            .all(|a| a.code != "redirect_uri.mismatch" && a.severity < Severity::Error),
        "{:#?}",
        recs[0].annotations
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_multipart_upload_streams_through_unrecorded() {
    let (p, h) = Harness::with_provider().await;
    let big = vec![b'u'; support::BIG];
    let part = reqwest::multipart::Part::bytes(big).file_name("video.bin");
    let form = reqwest::multipart::Form::new()
        .text("title", "holiday")
        .part("file", part);
    let resp = h
        .client()
        .post(p.url("/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert!(v["received"].as_u64().unwrap() > support::BIG as u64);
    // A token request afterwards is recorded, the upload is not.
    github_exchange(&p, &h).await;
    let recs = h.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let recs_after = h.store.query(&Default::default()).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs_after.len(), 1);
    assert!(recs_after[0]
        .request
        .url
        .ends_with("/login/oauth/access_token"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_named_by_a_discovery_document_are_classified_live() {
    let (p, h) = Harness::with_provider().await;
    let client = h.client();
    // Before the discovery document, a bare code POST to an unknown path is not OAuth.
    let post = || {
        client
            .post(p.url("/custom/exchange"))
            .form(&[("code", "c-1"), ("client_id", "public-app")])
            .send()
    };
    assert_eq!(post().await.unwrap().status(), 200);
    let disc = client
        .get(p.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(disc.status(), 200);
    let _ = disc.bytes().await;
    h.wait_for(1).await;
    assert_eq!(post().await.unwrap().status(), 200);
    let recs = h.wait_for(2).await;
    let kinds: Vec<Kind> = recs.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [Kind::Discovery, Kind::TokenRequest]);
    assert_eq!(recs[1].grant_type.as_deref(), Some("authorization_code"));
    h.shutdown().await;
}

//! End to end through the real proxy: a real HTTPS provider on loopback with
//! its own CA, the proxy in-process, a reqwest client trusting only our CA.

mod support;

use oauthscope::api::ProxyState;
use oauthscope::record::Kind;
use oauthscope::store::{Query, Store};
use support::{start_provider, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_flow_is_recorded_with_kinds_grant_and_one_flow() {
    let (provider, h) = Harness::with_provider().await;
    let client = h.client();

    let authz = client
        .get(provider.url("/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&state=st-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(authz.status(), 302);
    let loc = authz.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.contains("code=CODE-abc%2B1"), "{loc}");

    let token = client
        .post(provider.url("/token"))
        .basic_auth("app", Some("s3cret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "CODE-abc+1"),
            ("redirect_uri", "http://localhost:3000/callback"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let json: serde_json::Value = token.json().await.unwrap();
    assert_eq!(
        json["access_token"],
        support::ACCESS_TOKEN,
        "the client gets the provider's answer"
    );

    let recs = h.wait_for(2).await;
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].kind, Kind::AuthorizeRequest);
    assert_eq!(recs[0].response.as_ref().unwrap().status, 302);
    assert_eq!(recs[1].kind, Kind::TokenRequest);
    assert_eq!(recs[1].grant_type.as_deref(), Some("authorization_code"));
    assert!(recs[1]
        .request
        .body
        .text
        .contains("grant_type=authorization_code"));
    assert!(recs[1]
        .response
        .as_ref()
        .unwrap()
        .body
        .text
        .contains(support::REFRESH_TOKEN));
    assert!(recs[1].request.headers.get("authorization").is_some());
    assert_eq!(
        recs[0].flow, recs[1].flow,
        "the code links authorize and token into one flow"
    );
    assert_eq!(recs[0].flow.as_deref(), Some(recs[0].id.as_str()));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_oauth_traffic_is_forwarded_but_not_stored() {
    let (provider, h) = Harness::with_provider().await;
    let client = h.client();
    let js = client
        .get(provider.url("/static/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(js.text().await.unwrap(), "console.log('hi');");
    // An OAuth exchange after it: once it is stored, anything before it would be too.
    client
        .get(provider.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    let recs = h.wait_for(1).await;
    assert_eq!(recs.len(), 1, "{recs:#?}");
    assert_eq!(recs[0].kind, Kind::Discovery);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_survive_a_restart_and_are_listed_through_the_running_proxy() {
    let (provider, h) = Harness::with_provider().await;
    let client = h.client();
    client
        .post(provider.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", "x"),
        ])
        .send()
        .await
        .unwrap();
    h.wait_for(1).await;

    // While the proxy holds the store, the CLI reads through the loopback
    // API that the session announced in proxy.json.
    let state = ProxyState::read(&h.home)
        .unwrap()
        .expect("proxy.json written");
    assert_eq!(state.proxy, h.proxy_addr().to_string());
    assert!(state
        .web_url
        .as_deref()
        .is_some_and(|u| u.contains("?token=")));
    let out = h.cli(&["flows", "list", "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["grant_type"], "client_credentials");

    let Harness {
        session,
        store,
        home,
        dir,
        ..
    } = h;
    session.shutdown().await.unwrap();
    assert!(
        ProxyState::read(&home).unwrap().is_none(),
        "proxy.json goes when the session stops"
    );
    drop(store);
    // The API's connection tasks let go of the store as their sockets close.
    let mut reopened = Store::open(&home.store_dir());
    for _ in 0..100 {
        if !matches!(reopened, Err(oauthscope::store::StoreError::Locked { .. })) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        reopened = Store::open(&home.store_dir());
    }
    let reopened = reopened.unwrap();
    let recs = reopened.query(&Query::default()).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].kind, Kind::TokenRequest);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_on_ip_literals_and_names_get_valid_certificates() {
    let (provider, h) = Harness::with_provider().await;
    let client = h.client();
    // https://127.0.0.1:PORT: the leaf needs an IP SAN or the client refuses it.
    let r = client
        .get(provider.url("/static/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(provider.localhost_url("/static/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_and_untrusted_upstreams_get_a_502_that_says_what_to_do() {
    let provider = start_provider().await;
    // No --upstream-ca: the provider's certificate is not trusted.
    let h = Harness::start(vec![]).await;
    let client = h.client();
    let r = client
        .post(provider.url("/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let body = r.text().await.unwrap();
    assert!(body.contains("upstream certificate not trusted"), "{body}");
    assert!(body.contains("--upstream-ca FILE"), "{body}");

    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = client
        .post(format!("https://127.0.0.1:{closed}/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "r")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let body = r.text().await.unwrap();
    assert!(body.contains("connection refused"), "{body}");

    let recs = h.wait_for(2).await;
    assert!(recs[0].response.is_none());
    assert!(recs[0].error.as_deref().unwrap().contains("--upstream-ca"));
    assert_eq!(recs[1].grant_type.as_deref(), Some("refresh_token"));
    assert!(recs[1]
        .error
        .as_deref()
        .unwrap()
        .contains("connection refused"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_reaches_the_provider() {
    let (provider, h) = Harness::with_provider().await;
    let client = h.client();
    let r = Harness::client_credentials(&client, provider.url("/token")).await;
    assert_eq!(
        r.version(),
        reqwest::Version::HTTP_2,
        "client ↔ proxy negotiated h2"
    );
    assert_eq!(
        r.headers()["x-seen-version"],
        "HTTP/2.0",
        "proxy ↔ provider used h2"
    );
    let recs = h.wait_for(1).await;
    assert_eq!(recs[0].kind, Kind::TokenRequest);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_client_is_forwarded_over_http1() {
    let (provider, h) = Harness::with_provider().await;
    let client = h.client_builder().http1_only().build().unwrap();
    let r = Harness::client_credentials(&client, provider.url("/token")).await;
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    assert_eq!(
        r.headers()["x-seen-version"],
        "HTTP/1.1",
        "the proxy mirrors the client's HTTP version upstream"
    );
    h.wait_for(1).await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_token_response_is_stored_decoded_and_forwarded_as_sent() {
    let (provider, h) = Harness::with_provider().await;
    let client = h.client();
    let r = Harness::client_credentials(&client, provider.url("/gz/token")).await;
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let raw = r.bytes().await.unwrap();
    assert_eq!(
        &raw[..2],
        &[0x1f, 0x8b],
        "the client receives the gzip bytes"
    );
    let recs = h.wait_for(1).await;
    let body = &recs[0].response.as_ref().unwrap().body;
    assert!(body.text.contains("\"gz-at\""), "{body:?}");
    assert!(body.encoding.is_none() && body.decode_error.is_none());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_concurrent_token_requests_is_stored_without_loss() {
    let (provider, h) = Harness::with_provider().await;
    let client = h.client();
    let url = provider.url("/token");
    let sends = (0..300).map(|i| {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move {
            let secret = format!("s-{i}");
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", "svc"),
                ("client_secret", secret.as_str()),
            ];
            client.post(url).form(&form).send().await.unwrap().status()
        })
    });
    for s in futures::future::join_all(sends).await {
        assert_eq!(s.unwrap(), 200);
    }
    let recs = h.wait_for(300).await;
    assert_eq!(recs.len(), 300);
    let mut secrets: Vec<String> = recs.iter().map(|r| r.request.body.text.clone()).collect();
    secrets.sort();
    secrets.dedup();
    assert_eq!(secrets.len(), 300, "every request stored once");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_outside_intercept_are_tunnelled_untouched() {
    let provider = start_provider().await;
    let h = Harness::start_intercepting(
        vec![provider.ca_pem_path.clone()],
        vec!["*.okta.com".into(), "login.example.com".into()],
    )
    .await;
    // Tunnelled: the client sees the provider's own certificate, so it must
    // trust the provider's CA, not ours.
    let provider_ca = std::fs::read(&provider.ca_pem_path).unwrap();
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://{}", h.proxy_addr())).unwrap())
        .tls_certs_only([reqwest::Certificate::from_pem(&provider_ca).unwrap()])
        .build()
        .unwrap();
    let r = Harness::client_credentials(&client, provider.url("/token")).await;
    assert_eq!(r.status(), 200);
    // And a client trusting only our CA fails: nothing was intercepted.
    assert!(h
        .client()
        .get(provider.url("/static/app.js"))
        .send()
        .await
        .is_err());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(h.store.is_empty(), "tunnelled traffic is not recorded");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_malformed_oauth_exchanges_pass_whole_and_are_stored_marked() {
    let (provider, h) = Harness::with_provider().await;
    let client = h.client();

    // 3 MiB token request and a 2 MiB token response: both pass whole, both
    // are stored cut at the 1 MiB limit and marked so.
    let pad = "y".repeat(3 * 1024 * 1024);
    let form = format!("grant_type=client_credentials&client_id=svc&pad={pad}");
    let r = client
        .post(provider.url("/token-size"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["received"], form.len(), "the provider got every byte");
    assert_eq!(json["pad"].as_str().unwrap().len(), support::BIG_TOKEN_PAD);

    // A broken Basic header and a body that is not UTF-8.
    let mut body = b"grant_type=client_credentials&client_id=svc&x=".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0x80]);
    let r = client
        .post(provider.url("/token"))
        .header("authorization", "Basic %%%not-base64")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the app's request went through");

    let recs = h.wait_for(2).await;
    let big = &recs[0];
    assert_eq!(big.grant_type.as_deref(), Some("client_credentials"));
    assert!(big.request.body.truncated);
    assert_eq!(big.request.body.size, Some(form.len() as u64));
    let resp = big.response.as_ref().unwrap();
    assert!(resp.body.truncated);
    assert!(resp.body.size.unwrap() > support::BIG_TOKEN_PAD as u64);

    let out = h.cli(&["flows", "show", &recs[1].id, "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = shown["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"client_auth.basic_malformed"), "{codes:?}");
    h.shutdown().await;
}

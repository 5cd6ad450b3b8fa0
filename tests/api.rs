//! While a process holds the store (as `oauthscope run` does), other commands
//! reach the records through the loopback API announced in proxy.json.

use oauthscope::access::Records;
use oauthscope::api::{self, ProxyState};
use oauthscope::home::Home;
use oauthscope::record::{new_id, Body, HeaderList, Kind, Record, Request};
use oauthscope::store::{Query, Store};
use std::sync::Arc;
use time::OffsetDateTime;

fn token_request(code: &str) -> Record {
    let now = OffsetDateTime::now_utc();
    let mut headers = HeaderList::default();
    headers.push("Content-Type", "application/x-www-form-urlencoded");
    Record {
        id: new_id(now),
        time: now,
        flow: None,
        kind: Kind::TokenRequest,
        grant_type: Some("authorization_code".into()),
        request: Request {
            method: "POST".into(),
            url: "https://idp.example/token".into(),
            headers,
            body: Body::from_bytes(format!("grant_type=authorization_code&code={code}").as_bytes()),
        },
        response: None,
        duration_ms: 1,
        error: Some("upstream refused the connection".into()),
        flavour: None,
        annotations: vec![],
    }
}

#[test]
fn locked_store_is_read_through_the_running_proxy_api() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let store = Arc::new(Store::open(&home.store_dir()).unwrap());
    let a = token_request("one");
    let b = token_request("two");
    store.insert(&a).unwrap();
    store.insert(&b).unwrap();

    // Serve the API from another thread's runtime, as `run` does.
    let (tx, rx) = std::sync::mpsc::channel();
    let served = store.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            api::serve(served, listener, "s3cret".into()).await;
        });
    });
    let api_addr = rx.recv().unwrap();
    let mut state = ProxyState::new("127.0.0.1:8080".parse().unwrap(), api_addr);
    state.token = "s3cret".into();
    state.write(&home).unwrap();

    let records = Records::open(&home).expect("falls back to the API");
    assert!(matches!(records, Records::Remote(_)), "{records:?}");
    let all = records.query(&Query::default()).unwrap();
    assert_eq!(all, vec![a.clone(), b.clone()]);
    assert_eq!(records.get(&b.id).unwrap(), b);
    assert!(records.get("ffffffffffffffff").is_err());

    // A wrong token is refused.
    let mut wrong = state.clone();
    wrong.token = "nope".into();
    wrong.write(&home).unwrap();
    let err = Records::open(&home)
        .unwrap()
        .query(&Query::default())
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    state.write(&home).unwrap();

    let removed = Records::open(&home)
        .unwrap()
        .clear(&Query::default())
        .unwrap();
    assert_eq!(removed, 2);
    assert!(store.is_empty());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.proxy_state_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn locked_store_without_a_proxy_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let _held = Store::open(&home.store_dir()).unwrap();
    let err = Records::open(&home).unwrap_err();
    assert!(err.to_string().contains("no running proxy"), "{err}");
}

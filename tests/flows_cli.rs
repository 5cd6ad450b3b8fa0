//! `oauthscope flows list|show|clear` against a real store on disk, run as
//! the built binary.

use oauthscope::home::Home;
use oauthscope::record::{new_id, Body, HeaderList, Kind, Record, Request, Response};
use oauthscope::store::Store;
use std::process::Command;
use time::OffsetDateTime;

fn bin(home: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .expect("run oauthscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn record(
    kind: Kind,
    method: &str,
    url: &str,
    body: &str,
    status: u16,
    location: Option<&str>,
) -> Record {
    let now = OffsetDateTime::now_utc();
    let mut headers = HeaderList::default();
    if !body.is_empty() {
        headers.push("Content-Type", "application/x-www-form-urlencoded");
    }
    let mut resp_headers = HeaderList::default();
    if let Some(l) = location {
        resp_headers.push("Location", l);
    }
    Record {
        id: new_id(now),
        time: now,
        flow: None,
        kind,
        grant_type: (kind == Kind::TokenRequest).then(|| "authorization_code".to_string()),
        request: Request {
            method: method.into(),
            url: url.into(),
            headers,
            body: Body::from_bytes(body.as_bytes()),
        },
        response: Some(Response {
            status,
            headers: resp_headers,
            body: Body::default(),
        }),
        duration_ms: 2,
        error: None,
        flavour: None,
        annotations: vec![],
    }
}

#[test]
fn list_show_and_clear_work_on_a_stopped_proxys_store() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let auth = record(
        Kind::AuthorizeRequest,
        "GET",
        "https://idp.example/authorize?response_type=code&client_id=app&state=st1&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb",
        "",
        302,
        Some("http://localhost:3000/cb?code=c1&state=st1"),
    );
    let token = record(
        Kind::TokenRequest,
        "POST",
        "https://idp.example/token",
        "grant_type=authorization_code&code=c1&client_id=app&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb",
        200,
        None,
    );
    {
        let s = Store::open(&home.store_dir()).unwrap();
        s.insert(&auth).unwrap();
        s.insert(&token).unwrap();
        s.flush().unwrap();
    }

    let (code, out, err) = bin(dir.path(), &["flows", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["kind"], "authorize_request");
    assert_eq!(arr[1]["kind"], "token_request");
    assert_eq!(arr[1]["grant_type"], "authorization_code");
    // Both legs share the code, so analysis puts them in one flow.
    assert_eq!(arr[0]["flow"], arr[1]["flow"]);

    let (code, out, _) = bin(
        dir.path(),
        &[
            "flows",
            "list",
            "--kind",
            "token_request",
            "--color",
            "never",
        ],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("token_request") && !out.contains("authorize_request"),
        "{out}"
    );

    let (code, out, err) = bin(dir.path(), &["flows", "show", &token.id, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["id"], token.id.as_str());
    assert_eq!(v["request"]["method"], "POST");

    let (code, _, err) = bin(dir.path(), &["flows", "show", "ffffffffffffffff"]);
    assert_ne!(code, 0);
    assert!(err.contains("no exchange with id"), "{err}");

    let (code, _, err) = bin(dir.path(), &["flows", "list", "--kind", "nonsense"]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown kind"), "{err}");

    let (code, _, err) = bin(dir.path(), &["flows", "clear", "--before", "1h"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("removed 0 exchanges"), "{err}");
    let (code, _, err) = bin(dir.path(), &["flows", "clear"]);
    assert_eq!(code, 0);
    assert!(err.contains("removed 2 exchanges"), "{err}");
    let (_, out, _) = bin(dir.path(), &["flows", "list"]);
    assert!(out.contains("No OAuth exchanges captured yet"), "{out}");
}

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

/// Issue 19 §6: the table fits a width (the least useful columns go first,
/// the annotation is cut), `--wide` prints everything, and piping a long
/// listing into `head -1` ends quietly (no broken-pipe panic or message).
#[test]
fn the_list_fits_the_width_and_ends_quietly_in_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    {
        let store = Store::open(&home.store_dir()).unwrap();
        // 400 rows of about 200 characters: more than a pipe's buffer.
        for i in 0..200 {
            let state = format!("st{i}");
            let mut a = record(
                Kind::AuthorizeRequest,
                "GET",
                &format!("https://login.example-provider.com/oauth2/v2.0/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb&state={state}"),
                "",
                302,
                Some(&format!("http://localhost:3000/cb?code=c{i}&state={state}")),
            );
            store.insert_new(&mut a).unwrap();
            let mut t = record(
                Kind::TokenRequest,
                "POST",
                "https://login.example-provider.com/oauth2/v2.0/token",
                &format!("grant_type=authorization_code&code=c{i}&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb%2F&client_id=app&client_secret=s"),
                400,
                None,
            );
            store.insert_new(&mut t).unwrap();
        }
        store.flush().unwrap();
    }
    for w in [80usize, 120] {
        let (code, out, err) = bin(dir.path(), &["flows", "list", "--width", &w.to_string()]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.lines().count(), 401, "{out}");
        for line in out.lines() {
            assert!(
                line.chars().count() <= w,
                "{w}: {line:?} is {} wide",
                line.chars().count()
            );
        }
        assert!(
            out.lines().nth(2).unwrap().contains("✖ error"),
            "the annotation stays: {out}"
        );
        assert!(out.starts_with("ID") && out.lines().next().unwrap().contains("STATUS"));
        assert!(
            !out.contains("FLAVOUR"),
            "the flavour column goes first: {out}"
        );
    }
    let (_, wide, _) = bin(dir.path(), &["flows", "list", "--wide"]);
    assert!(wide.contains("FLAVOUR") && wide.contains("GRANT"));
    assert!(
        wide.lines().any(|l| l.chars().count() > 150),
        "--wide cuts nothing"
    );

    // `flows list | head -1`: the header, nothing on stderr, exit 0.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' --home '{}' flows list | head -1; echo \"status=${{PIPESTATUS[0]}}\" >&2",
            env!("CARGO_BIN_EXE_oauthscope"),
            dir.path().display()
        ))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("ID"), "{stdout}");
    assert_eq!(stderr.trim(), "status=0", "ends quietly: {stderr}");
}

/// One exchange, one verdict: a failure that a later login of the same
/// client recovered from reads the same in `flows show` (the exchange with
/// its window) as in `flows list` (the whole capture).
#[test]
fn show_and_list_agree_on_a_failure_a_later_login_recovered_from() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let t0 = OffsetDateTime::now_utc() - time::Duration::minutes(5);
    let at = |mut r: Record, secs: i64| {
        r.time = t0 + time::Duration::seconds(secs);
        r.id = new_id(r.time);
        r
    };
    let cb = "http%3A%2F%2Flocalhost%3A3000%2Fcb";
    let json_response = |mut r: Record, body: &str| {
        let resp = r.response.as_mut().unwrap();
        resp.headers.push("Content-Type", "application/json");
        resp.body = Body::from_bytes(body.as_bytes());
        r
    };
    let records = vec![
        at(record(Kind::AuthorizeRequest, "GET", &format!("https://idp.example/authorize?response_type=code&client_id=app&state=a1&redirect_uri={cb}"), "", 302, Some("http://localhost:3000/cb?code=ca&state=a1")), 0),
        at(json_response(record(Kind::TokenRequest, "POST", "https://idp.example/token", &format!("grant_type=authorization_code&code=ca&client_id=app&redirect_uri={cb}%2F"), 400, None), r#"{"error":"invalid_grant","error_description":"redirect_uri mismatch"}"#), 2),
        at(record(Kind::AuthorizeRequest, "GET", &format!("https://idp.example/authorize?response_type=code&client_id=app&state=b1&redirect_uri={cb}"), "", 302, Some("http://localhost:3000/cb?code=cb2&state=b1")), 20),
        at(json_response(record(Kind::TokenRequest, "POST", "https://idp.example/token", &format!("grant_type=authorization_code&code=cb2&client_id=app&redirect_uri={cb}"), 200, None), r#"{"access_token":"at-1","token_type":"Bearer"}"#), 22),
    ];
    let failed_id = records[1].id.clone();
    {
        let s = Store::open(&home.store_dir()).unwrap();
        for r in &records {
            s.insert(r).unwrap();
        }
        s.flush().unwrap();
    }
    let verdict = |v: &serde_json::Value| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = v["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["code"].as_str().unwrap().to_string(),
                    a["severity"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let (_, list, err) = bin(dir.path(), &["flows", "list", "--json"]);
    let list: serde_json::Value =
        serde_json::from_str(&list).unwrap_or_else(|e| panic!("{e}: {err}"));
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == failed_id.as_str())
        .unwrap();
    let (_, shown, err) = bin(dir.path(), &["flows", "show", &failed_id, "--json"]);
    let shown: serde_json::Value =
        serde_json::from_str(&shown).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(
        verdict(&shown),
        verdict(listed),
        "show: {shown:#}\nlist: {listed:#}"
    );
    // And the verdict is the recovered one: the diagnosis at warning.
    assert!(
        verdict(listed)
            .iter()
            .any(|(c, s)| c == "diagnosis.redirect_uri_mismatch" && s == "warning"),
        "{listed:#}"
    );
}

//! A damaged record in the store (a disk error, a crash mid-write, an
//! older or foreign writer) is skipped with a warning: `flows list` still
//! lists the rest, and `export` still exports them.

use oauthscope::home::Home;
use oauthscope::record::{id_key, new_id, Body, HeaderList, Kind, Record, Request};
use oauthscope::store::Store;
use time::OffsetDateTime;

fn token_request(code: &str) -> Record {
    let now = OffsetDateTime::now_utc();
    let mut headers = HeaderList::default();
    headers.push("Content-Type", "application/x-www-form-urlencoded");
    let mut r = Record::bare(
        &new_id(now),
        now,
        Kind::TokenRequest,
        "POST",
        "https://idp.example/token",
    );
    r.grant_type = Some("authorization_code".into());
    r.request = Request {
        method: "POST".into(),
        url: "https://idp.example/token".into(),
        headers,
        body: Body::from_bytes(format!("grant_type=authorization_code&code={code}").as_bytes()),
    };
    r
}

#[test]
fn flows_list_and_export_skip_a_damaged_record_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let (a, b) = (token_request("one"), token_request("two"));
    {
        let store = Store::open(&home.store_dir()).unwrap();
        store.insert(&a).unwrap();
        store.insert(&b).unwrap();
        store.flush().unwrap();
    }
    {
        // Damage: bytes that are not a record, between the two.
        let db = sled::open(home.store_dir()).unwrap();
        let records = db.open_tree("records").unwrap();
        let between = id_key(&a.id).unwrap() + 1;
        records
            .insert(
                between.to_be_bytes(),
                &b"{\"id\": \"0001\", \"kind\": 7"[..],
            )
            .unwrap();
        db.flush().unwrap();
    }
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
            .arg("--home")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["flows", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = list.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![a.id.as_str(), b.id.as_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("skipping a damaged record"), "{stderr}");
    let out = run(&["export", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(exported.len(), 2);
}

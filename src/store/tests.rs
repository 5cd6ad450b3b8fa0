//! Store tests against a real sled database in a temporary directory.

use super::*;
use crate::record::{new_id, Body, HeaderList, Request, Response};

fn rec(kind: Kind, url: &str, body: &str, flow: Option<&str>) -> Record {
    let now = OffsetDateTime::now_utc();
    let mut headers = HeaderList::default();
    headers.push("Content-Type", "application/x-www-form-urlencoded");
    Record {
        id: new_id(now),
        time: now,
        flow: flow.map(str::to_string),
        kind,
        grant_type: None,
        request: Request {
            method: "POST".into(),
            url: url.into(),
            headers,
            body: Body::from_bytes(body.as_bytes()),
        },
        response: Some(Response {
            status: 200,
            headers: HeaderList::default(),
            body: Body::default(),
        }),
        duration_ms: 3,
        error: None,
        flavour: None,
        annotations: vec![],
    }
}

#[test]
fn records_survive_reopen_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = rec(
        Kind::AuthorizeRequest,
        "https://idp/authorize?response_type=code&client_id=c&state=s1",
        "",
        None,
    );
    let b = rec(
        Kind::TokenRequest,
        "https://idp/token",
        "grant_type=authorization_code&code=k1",
        None,
    );
    {
        let s = Store::open(dir.path()).unwrap();
        s.insert(&b).unwrap();
        s.insert(&a).unwrap();
        s.flush().unwrap();
    }
    let s = Store::open(dir.path()).unwrap();
    let all = s.query(&Query::default()).unwrap();
    assert_eq!(
        all.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![a.id.clone(), b.id.clone()]
    );
    assert_eq!(s.get(&b.id).unwrap(), b);
    assert_eq!(s.get(&b.id[10..]).unwrap().id, b.id, "suffix lookup");
}

#[test]
fn a_second_open_reports_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _s = Store::open(dir.path()).unwrap();
    // sled locks per process with a file lock; a second handle in the same
    // process is refused the same way another process would be.
    match Store::open(dir.path()) {
        Err(StoreError::Locked { .. }) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
}

#[test]
fn flows_and_keys_are_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let a = rec(
        Kind::AuthorizeRequest,
        "https://idp/authorize?response_type=code&client_id=c&state=s1",
        "",
        None,
    );
    let mut a2 = a.clone();
    a2.flow = Some(a.id.clone());
    s.insert(&a2).unwrap();
    let cb = rec(
        Kind::Callback,
        "http://localhost/cb?code=k1&state=s1",
        "",
        None,
    );
    let flow = s.flow_for(&correlate::keys(&cb)).unwrap();
    assert_eq!(flow.as_deref(), Some(a.id.as_str()));
    let mut cb2 = cb.clone();
    cb2.flow = flow;
    s.insert(&cb2).unwrap();
    let other = rec(
        Kind::AuthorizeRequest,
        "https://idp/authorize?response_type=code&client_id=c&state=zz",
        "",
        Some("x"),
    );
    s.insert(&other).unwrap();
    let in_flow = s
        .query(&Query {
            flow: Some(a.id.clone()),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(in_flow.len(), 2);
    assert_eq!(s.by_key(&Key::Code("k1".into())).unwrap()[0].id, cb.id);
    assert_eq!(s.flow_for(&[Key::State("nope".into())]).unwrap(), None);
    let callbacks = s
        .query(&Query {
            kind: Some(Kind::Callback),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(callbacks.len(), 1);
}

#[test]
fn clear_removes_records_and_their_index_entries() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let a = rec(
        Kind::TokenRequest,
        "https://idp/token",
        "grant_type=authorization_code&code=k9",
        Some("f1"),
    );
    let b = rec(
        Kind::TokenRequest,
        "https://idp/token",
        "grant_type=refresh_token&refresh_token=r1",
        Some("f2"),
    );
    s.insert(&a).unwrap();
    s.insert(&b).unwrap();
    let removed = s
        .clear(&Query {
            flow: Some("f1".into()),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(removed, 1);
    assert!(s.by_key(&Key::Code("k9".into())).unwrap().is_empty());
    assert_eq!(s.len(), 1);
    assert!(matches!(s.get(&a.id), Err(StoreError::NotFound(_))));
    let removed = s
        .clear(&Query {
            before: Some(OffsetDateTime::now_utc() + time::Duration::seconds(1)),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(removed, 1);
    assert!(s.is_empty());
}

#[test]
fn pages_are_read_newest_first_from_any_point() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let ids: Vec<String> = (0..5)
        .map(|i| {
            let r = rec(
                Kind::TokenRequest,
                &format!("https://idp/token/{i}"),
                "",
                None,
            );
            s.insert(&r).unwrap();
            r.id
        })
        .collect();
    let mut seen = Vec::new();
    s.each_newest_first(None, |r| {
        seen.push(r.id);
        Ok(seen.len() < 3)
    })
    .unwrap();
    assert_eq!(seen, vec![ids[4].clone(), ids[3].clone(), ids[2].clone()]);
    let mut older = Vec::new();
    s.each_newest_first(id_key(&ids[2]), |r| {
        older.push(r.id);
        Ok(true)
    })
    .unwrap();
    assert_eq!(older, vec![ids[1].clone(), ids[0].clone()]);
}

#[test]
fn flow_queries_read_ranges_of_the_flow_index_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let mut ids = Vec::new();
    for i in 0..20 {
        let r = rec(
            Kind::TokenRequest,
            "https://idp/token",
            &format!("grant_type=refresh_token&refresh_token=r{i}"),
            Some(if i % 2 == 0 { "even" } else { "odd" }),
        );
        s.insert(&r).unwrap();
        ids.push(r.id);
    }
    let even: Vec<String> = ids.iter().step_by(2).cloned().collect();
    let q = |extra: Query| {
        s.query(&Query {
            flow: Some("even".into()),
            ..extra
        })
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect::<Vec<_>>()
    };
    assert_eq!(q(Query::default()), even);
    assert_eq!(
        q(Query {
            limit: Some(3),
            ..Query::default()
        }),
        even[..3].to_vec()
    );
    // The three latest before the 8th record of the flow, newest first.
    assert_eq!(
        q(Query {
            before_id: Some(even[7].clone()),
            newest_first: true,
            limit: Some(3),
            ..Query::default()
        }),
        vec![even[6].clone(), even[5].clone(), even[4].clone()]
    );
    assert_eq!(
        q(Query {
            after_id: Some(even[7].clone()),
            ..Query::default()
        }),
        even[8..].to_vec()
    );
    // The same bounds over the whole store.
    let all: Vec<String> = s
        .query(&Query {
            after_id: Some(ids[2].clone()),
            before_id: Some(ids[6].clone()),
            ..Query::default()
        })
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(all, ids[3..6].to_vec());
    let newest: Vec<String> = s
        .query(&Query {
            newest_first: true,
            limit: Some(2),
            ..Query::default()
        })
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(newest, vec![ids[19].clone(), ids[18].clone()]);
}

#[test]
fn a_damaged_record_is_skipped_not_a_failed_listing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let a = rec(
        Kind::TokenRequest,
        "https://idp/token",
        "grant_type=x",
        Some("f"),
    );
    s.insert(&a).unwrap();
    let bad_id = id_key(&new_id(OffsetDateTime::now_utc())).unwrap();
    s.t()
        .unwrap()
        .records
        .insert(bad_id.to_be_bytes(), &b"{\"id\": not json"[..])
        .unwrap();
    s.t()
        .unwrap()
        .by_flow
        .insert(flow_index_key("f", bad_id), &[])
        .unwrap();
    let b = rec(
        Kind::TokenRequest,
        "https://idp/token",
        "grant_type=y",
        Some("f"),
    );
    s.insert(&b).unwrap();
    let ids =
        |q: Query| -> Vec<String> { s.query(&q).unwrap().into_iter().map(|r| r.id).collect() };
    assert_eq!(ids(Query::default()), vec![a.id.clone(), b.id.clone()]);
    assert_eq!(
        ids(Query {
            flow: Some("f".into()),
            ..Query::default()
        }),
        vec![a.id.clone(), b.id.clone()]
    );
    // Asked for by id, the damage is reported; clearing removes it too.
    assert!(matches!(
        s.get(&crate::record::format_id(bad_id)),
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(s.clear(&Query::default()).unwrap(), 2);
    assert_eq!(
        s.t().unwrap().records.len(),
        1,
        "the damaged record is not a listed one, so it stays"
    );
}

#[cfg(unix)]
#[test]
fn store_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let s = Store::open(&path).unwrap();
    s.insert(&rec(
        Kind::TokenRequest,
        "https://idp/token",
        "grant_type=x",
        None,
    ))
    .unwrap();
    s.flush().unwrap();
    s.restrict_permissions();
    let mut seen = 0;
    let mut stack = vec![path.clone()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", p.display());
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{}", p.display());
            seen += 1;
        }
    }
    assert!(seen > 0, "sled wrote files");
}

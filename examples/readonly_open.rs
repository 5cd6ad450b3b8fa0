//! What reading a stopped store read-only costs: `flows list`, `export`,
//! `ui` and `store check` open a private copy of the store (sled writes
//! whenever it opens). Stores `READONLY_RECORDS` token requests (default
//! 20 000, ~1 KiB bodies) in a temporary store, then times opening it in
//! place and opening a read-only copy, and prints the store's size.
//!
//! `cargo run --release --example readonly_open`

use oauthscope::record::{new_id, Body, HeaderList, Kind, Record, Request};
use oauthscope::store::Store;
use std::time::Instant;
use time::OffsetDateTime;

fn main() {
    let n: usize = std::env::var("READONLY_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("store");
    {
        let store = Store::open(&path).expect("store");
        for i in 0..n {
            let now = OffsetDateTime::now_utc();
            let mut r = Record::bare(
                &new_id(now),
                now,
                Kind::TokenRequest,
                "POST",
                "https://idp.example/token",
            );
            let mut headers = HeaderList::default();
            headers.push("Content-Type", "application/x-www-form-urlencoded");
            r.request = Request {
                method: "POST".into(),
                url: "https://idp.example/token".into(),
                headers,
                body: Body::from_bytes(
                    format!(
                        "grant_type=authorization_code&code=c{i}&pad={}",
                        "x".repeat(1000)
                    )
                    .as_bytes(),
                ),
            };
            store.insert(&r).expect("insert");
        }
        store.flush().expect("flush");
    }
    let size: u64 = walk(&path);
    let t = Instant::now();
    let s = Store::open(&path).expect("open");
    let in_place = t.elapsed();
    assert_eq!(s.len(), n);
    drop(s);
    let t = Instant::now();
    let s = Store::open_read_only(&path).expect("open read-only");
    let copied = t.elapsed();
    assert_eq!(s.len(), n);
    println!(
        "{n} records, store {:.1} MiB: open in place {:.0} ms, read-only copy + open {:.0} ms",
        size as f64 / 1048576.0,
        in_place.as_secs_f64() * 1e3,
        copied.as_secs_f64() * 1e3
    );
}

fn walk(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    let m = e
                        .metadata()
                        .map(|m| (m.is_dir(), m.len()))
                        .unwrap_or((false, 0));
                    if m.0 {
                        walk(&e.path())
                    } else {
                        m.1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

use oauthscope::analyze::{correlate, AnalyzeOptions};
use oauthscope::record::{Body, HeaderList, Kind, Record, Request, Response, new_id};
use oauthscope::store::Store;
use std::time::Instant;

fn rec(i: usize) -> Record {
    let mut qh = HeaderList::default();
    qh.push("content-type", "application/x-www-form-urlencoded");
    qh.push("accept", "*/*");
    qh.push("host", "127.0.0.1:4443");
    let mut rh = HeaderList::default();
    rh.push("content-type", "application/json");
    rh.push("content-length", "70");
    let t = time::OffsetDateTime::now_utc();
    Record { id: new_id(t), time: t, flow: None, kind: Kind::TokenRequest, grant_type: Some("client_credentials".into()),
      request: Request { method: "POST".into(), url: "https://127.0.0.1:4443/token".into(), headers: qh,
        body: Body::from_bytes(format!("grant_type=client_credentials&client_id=bench&client_secret=bench-secret{i}").as_bytes()) },
      response: Some(Response { status: 200, headers: rh, body: Body::from_bytes(br#"{"access_token":"bench-at","token_type":"Bearer","expires_in":3600}"#) }),
      duration_ms: 1, error: None, flavour: None, annotations: vec![] }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let n = 20000;
    let recs: Vec<Record> = (0..n).map(rec).collect();
    let t = Instant::now();
    let mut stored = vec![];
    for mut r in recs {
        let keys = correlate::keys(&r);
        let flow = store.flow_for(&keys).unwrap();
        r.flow = Some(flow.unwrap_or_else(|| r.id.clone()));
        stored.push(r);
    }
    println!("keys+flow_for: {:.1} µs/rec", t.elapsed().as_secs_f64()*1e6/n as f64);
    let t = Instant::now();
    for (i, r) in stored.iter().enumerate() { store.insert(r).unwrap(); if i % 256 == 255 { store.flush_async().await.unwrap(); } }
    println!("insert (+flush/256): {:.1} µs/rec", t.elapsed().as_secs_f64()*1e6/n as f64);
    let t = Instant::now();
    let opts = AnalyzeOptions::default();
    for r in stored.iter().take(5000) { let _ = oauthscope::cli::run::live_view(&store, r, &opts, false); }
    println!("live_view: {:.1} µs/rec", t.elapsed().as_secs_f64()*1e6/5000.0);
    let t = Instant::now();
    for r in stored.iter().take(2000) { let mut r = r.clone(); r.id = new_id(time::OffsetDateTime::now_utc()); store.insert(&r).unwrap(); store.flush_async().await.unwrap(); }
    println!("insert+flush each: {:.1} µs/rec", t.elapsed().as_secs_f64()*1e6/2000.0);
    let t = Instant::now();
    for r in stored.iter().take(5000) { let _ = serde_json::to_vec(r).unwrap(); }
    println!("json encode: {:.1} µs/rec", t.elapsed().as_secs_f64()*1e6/5000.0);
}

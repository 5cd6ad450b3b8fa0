//! How long analysis takes as a capture grows (figures, not assertions).
//!
//! ```text
//! cargo run --release --example analyze_scale
//! ```
//! Builds captures of N independent client_credentials token requests plus a
//! few authorization-code logins and times `analyze()` over them; with
//! `PER_RULE=1`, times each rule family over 16 000 records instead. The
//! time per record should stay flat as N grows (rules run flow by flow).

use oauthscope::analyze::{analyze, AnalyzeOptions};
use oauthscope::record::{Body, HeaderList, Kind, Record, Request, Response};
use std::time::Instant;
use time::OffsetDateTime;

fn record(i: usize, start: OffsetDateTime) -> Record {
    let time = start + time::Duration::milliseconds(i as i64);
    let (kind, method, url, body, grant, resp) = match i % 10 {
        0 => (
            Kind::AuthorizeRequest,
            "GET",
            format!("https://idp.example/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s{i}"),
            String::new(),
            None,
            String::new(),
        ),
        1 => (
            Kind::TokenRequest,
            "POST",
            "https://idp.example/token".to_string(),
            format!("grant_type=authorization_code&code=c{}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb/&client_id=app", i - 1),
            Some("authorization_code".to_string()),
            r#"{"error":"invalid_grant"}"#.to_string(),
        ),
        _ => (
            Kind::TokenRequest,
            "POST",
            "https://idp.example/token".to_string(),
            format!("grant_type=client_credentials&client_id=svc&client_secret=s{i}"),
            Some("client_credentials".to_string()),
            r#"{"access_token":"a","token_type":"Bearer","expires_in":3600}"#.to_string(),
        ),
    };
    let mut rh = HeaderList::default();
    rh.push("content-type", "application/json");
    let mut qh = HeaderList::default();
    if method == "POST" {
        qh.push("content-type", "application/x-www-form-urlencoded");
    }
    let mut loc = HeaderList::default();
    loc.push(
        "location",
        format!("https://app.example/cb?code=c{i}&state=s{i}"),
    );
    Record {
        id: format!("{:016x}", 1_000_000 + i),
        time,
        flow: None,
        kind,
        grant_type: grant,
        request: Request {
            method: method.into(),
            url,
            headers: qh,
            body: Body::from_bytes(body.as_bytes()),
        },
        response: Some(if kind == Kind::AuthorizeRequest {
            Response {
                status: 302,
                headers: loc,
                body: Body::from_bytes(b""),
            }
        } else {
            Response {
                status: 200,
                headers: rh,
                body: Body::from_bytes(resp.as_bytes()),
            }
        }),
        duration_ms: 1,
        error: None,
        flavour: None,
        annotations: Vec::new(),
    }
}

fn main() {
    let start = OffsetDateTime::now_utc();
    if std::env::var("PER_RULE").is_ok() {
        per_rule(&(0..16_000).map(|i| record(i, start)).collect::<Vec<_>>());
        return;
    }
    for n in [1_000, 2_000, 4_000, 8_000, 16_000] {
        let recs: Vec<Record> = (0..n).map(|i| record(i, start)).collect();
        let t = Instant::now();
        let out = analyze(&recs, &AnalyzeOptions::default());
        let took = t.elapsed();
        let annotations: usize = out.iter().map(|r| r.annotations.len()).sum();
        println!(
            "{n:>7} records: {:>8.1} ms ({:.1} µs/record, {annotations} annotations)",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e6 / n as f64
        );
    }
}

/// Time each rule family over one capture (`PER_RULE=1`).
fn per_rule(recs: &[Record]) {
    use oauthscope::analyze::*;
    let mut out = recs.to_vec();
    for r in &mut out {
        r.flavour = flavour::detect(r);
    }
    correlate::assign_flows(&mut out);
    let o = AnalyzeOptions::default();
    let rules: [(&str, Rule); 10] = [
        ("flavour", flavour::annotate),
        ("redirect_uri", redirect_uri::annotate),
        ("client_id", client_id::annotate),
        ("pkce", pkce::annotate),
        ("state", state::annotate),
        ("jwt", jwt::annotate),
        ("tokens", tokens::annotate),
        ("errors", errors::annotate),
        ("correlate", correlate::annotate),
        ("diagnose", diagnose::annotate),
    ];
    let t = Instant::now();
    let login = oauthscope::analyze::login::Login::build(&out);
    println!(
        "  {:<14} {:>8.1} ms",
        "login model",
        t.elapsed().as_secs_f64() * 1e3
    );
    for (name, rule) in rules {
        let t = Instant::now();
        let n = rule(&login, &o).len();
        println!(
            "  {name:<14} {:>8.1} ms  {n}",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}

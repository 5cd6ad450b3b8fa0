//! Windowed analysis (`oauthscope::rolling`) gives what analysing the whole
//! capture at once gives, for captures of many interleaved logins that span
//! many windows, and stays bounded for one flow of thousands of records.

use oauthscope::analyze::{analyze, correlate, AnalyzeOptions};
use oauthscope::record::{format_id, Body, HeaderList, Kind, Record, Response};
use oauthscope::rolling::{self, Rolling};
use time::{Duration, OffsetDateTime};

struct Gen {
    next: u64,
    t0: OffsetDateTime,
}

impl Gen {
    fn rec(&mut self, kind: Kind, method: &str, url: &str) -> Record {
        self.next += 1_000;
        let time = self.t0 + Duration::microseconds(self.next as i64);
        Record::bare(
            &format_id(1_700_000_000_000_000 + self.next),
            time,
            kind,
            method,
            url,
        )
    }
}

fn form(r: &mut Record, body: &str) {
    r.request
        .headers
        .push("Content-Type", "application/x-www-form-urlencoded");
    r.request.body = Body::from_bytes(body.as_bytes());
}

fn json_response(status: u16, body: &str) -> Option<Response> {
    let mut headers = HeaderList::default();
    headers.push("Content-Type", "application/json");
    Some(Response {
        status,
        headers,
        body: Body::from_bytes(body.as_bytes()),
    })
}

/// One login (authorize, redirect back, callback, code exchange, refreshes)
/// with a flaw chosen by `n`: none, a trailing-slash redirect_uri with
/// invalid_grant, a reused code, or a refresh token used after rotation.
fn login(g: &mut Gen, n: usize) -> Vec<Vec<Record>> {
    let state = format!("st{n}");
    let code = format!("code{n}");
    let cb = "https://app.example/callback";
    let mut legs = Vec::new();
    let authorize = g.rec(
        Kind::AuthorizeRequest,
        "GET",
        &format!("https://idp.example/authorize?response_type=code&client_id=app&redirect_uri={cb}&state={state}&scope=openid%20offline_access"),
    );
    legs.push(vec![authorize]);
    let mut back = g.rec(
        Kind::AuthorizationResponse,
        "GET",
        "https://idp.example/login/submit",
    );
    let mut h = HeaderList::default();
    h.push("Location", format!("{cb}?code={code}&state={state}"));
    back.response = Some(Response {
        status: 302,
        headers: h,
        body: Body::default(),
    });
    legs.push(vec![back]);
    let mut callback = g.rec(
        Kind::Callback,
        "GET",
        &format!("{cb}?code={code}&state={state}"),
    );
    callback.response = json_response(200, "{}");
    legs.push(vec![callback]);
    let redirect = if n % 4 == 1 {
        format!("{cb}/")
    } else {
        cb.to_string()
    };
    let mut token = g.rec(Kind::TokenRequest, "POST", "https://idp.example/token");
    token.grant_type = Some("authorization_code".into());
    form(
        &mut token,
        &format!("grant_type=authorization_code&code={code}&redirect_uri={redirect}&client_id=app&client_secret=s"),
    );
    token.response = if n % 4 == 1 {
        json_response(400, r#"{"error":"invalid_grant"}"#)
    } else {
        json_response(
            200,
            &format!(r#"{{"access_token":"at{n}","token_type":"Bearer","refresh_token":"rt{n}"}}"#),
        )
    };
    legs.push(vec![token.clone()]);
    if n % 4 == 2 {
        let mut again = token.clone();
        let fresh = g.rec(Kind::TokenRequest, "POST", "https://idp.example/token");
        again.id = fresh.id;
        again.time = fresh.time;
        again.response = json_response(400, r#"{"error":"invalid_grant"}"#);
        legs.push(vec![again]);
    }
    if n % 4 == 3 {
        for (sent, issued, status) in [
            (format!("rt{n}"), format!("rt{n}b"), 200),
            (format!("rt{n}"), String::new(), 400),
        ] {
            let mut refresh = g.rec(Kind::TokenRequest, "POST", "https://idp.example/token");
            refresh.grant_type = Some("refresh_token".into());
            form(
                &mut refresh,
                &format!(
                    "grant_type=refresh_token&refresh_token={sent}&client_id=app&client_secret=s"
                ),
            );
            refresh.response = if status == 200 {
                json_response(
                    200,
                    &format!(
                        r#"{{"access_token":"x","token_type":"Bearer","refresh_token":"{issued}"}}"#
                    ),
                )
            } else {
                json_response(400, r#"{"error":"invalid_grant"}"#)
            };
            legs.push(vec![refresh]);
        }
    }
    legs
}

/// Many logins whose legs interleave, ids and times in order, flows set as
/// the store sets them (the earliest record sharing a key).
fn interleaved(logins: usize) -> Vec<Record> {
    let mut g = Gen {
        next: 0,
        t0: OffsetDateTime::now_utc() - Duration::hours(1),
    };
    let mut pending: Vec<std::collections::VecDeque<Vec<Record>>> =
        (0..logins).map(|n| login(&mut g, n).into()).collect();
    // Re-stamp in an interleaved order: a few logins progress at a time.
    let mut out = Vec::new();
    let mut i = 0usize;
    while pending.iter().any(|p| !p.is_empty()) {
        let active = (i / 7) % logins;
        for k in 0..5 {
            let j = (active + k * 3) % logins;
            if let Some(leg) = pending[j].pop_front() {
                for mut r in leg {
                    let stamp = g.rec(r.kind, "GET", "x");
                    r.id = stamp.id;
                    r.time = stamp.time;
                    out.push(r);
                }
            }
        }
        i += 1;
    }
    correlate::assign_flows(&mut out);
    out
}

fn summary(recs: &[Record]) -> Vec<(String, Option<String>, Vec<String>)> {
    recs.iter()
        .map(|r| {
            (
                r.id.clone(),
                r.flow.clone(),
                r.annotations
                    .iter()
                    .map(|a| format!("{} {}", a.code, a.evidence))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn windows_agree_with_whole_capture_analysis_across_many_batches() {
    let records = interleaved(400);
    assert!(records.len() > 4 * rolling::BATCH, "{}", records.len());
    let opts = AnalyzeOptions::default();
    let whole = analyze(&records, &opts);
    let windowed = rolling::analyze_all(records.clone(), &opts);
    assert_eq!(windowed.len(), records.len());
    let (w, a) = (summary(&windowed), summary(&whole));
    for (x, y) in w.iter().zip(a.iter()) {
        assert_eq!(x, y);
    }
    // The capture has findings to agree on.
    let codes: std::collections::BTreeSet<&str> = whole
        .iter()
        .flat_map(|r| r.annotations.iter().map(|a| a.code.as_str()))
        .collect();
    assert!(codes.contains("redirect_uri.mismatch"), "{codes:?}");
    assert!(
        codes.iter().any(|c| c.starts_with("diagnosis.")),
        "{codes:?}"
    );
}

#[test]
fn one_long_flow_is_analysed_against_its_beginning_and_recent_past() {
    // One login whose refresh token never changes: every refresh joins it.
    let mut g = Gen {
        next: 0,
        t0: OffsetDateTime::now_utc() - Duration::hours(1),
    };
    let mut records: Vec<Record> = login(&mut g, 0).into_iter().flatten().collect();
    for _ in 0..3_000 {
        let mut refresh = g.rec(Kind::TokenRequest, "POST", "https://idp.example/token");
        refresh.grant_type = Some("refresh_token".into());
        form(
            &mut refresh,
            "grant_type=refresh_token&refresh_token=rt0&client_id=app&client_secret=s",
        );
        refresh.response = json_response(
            200,
            r#"{"access_token":"x","token_type":"Bearer","refresh_token":"rt0"}"#,
        );
        records.push(refresh);
    }
    correlate::assign_flows(&mut records);
    let flow = records[0].id.clone();
    assert!(records
        .iter()
        .all(|r| r.flow.as_deref() == Some(flow.as_str())));
    let mut rolling = Rolling::new(AnalyzeOptions::default());
    let mut out = Vec::new();
    for r in records.clone() {
        rolling.push(r, &mut |a| out.push(a));
    }
    rolling.finish(&mut |a| out.push(a));
    assert_eq!(
        out.iter().map(|r| &r.id).collect::<Vec<_>>(),
        records.iter().map(|r| &r.id).collect::<Vec<_>>(),
        "every record, in order"
    );
    assert!(out.iter().all(|r| r.flow.as_deref() == Some(flow.as_str())));
    // The first records of the flow are analysed exactly as a whole-flow run does.
    let whole_head = analyze(&records[..rolling::HEAD], &AnalyzeOptions::default());
    assert_eq!(
        summary(&out[..4]),
        summary(&whole_head[..4]),
        "the login's first legs"
    );
    // A refresh deep in the flow is analysed like the same refresh seen with
    // the flow's beginning and its recent past.
    let i = records.len() - 1;
    let window = rolling::window_of(&records[i], false, false, |q| {
        Ok::<_, std::convert::Infallible>(slice_query(&records, q))
    })
    .unwrap();
    assert!(window.len() <= rolling::HEAD + rolling::RECENT + 1);
    let alone = rolling::analyse_in_window(&records[i], &window, &AnalyzeOptions::default());
    assert_eq!(summary(&[alone]), summary(&out[i..]));
}

/// A store query over a slice (flow, bounds, order and limit), for `window_of`.
fn slice_query(records: &[Record], q: &oauthscope::store::Query) -> Vec<Record> {
    let mut v: Vec<Record> = records.iter().filter(|r| q.matches(r)).cloned().collect();
    if q.newest_first {
        v.reverse();
    }
    v.truncate(q.limit.unwrap_or(usize::MAX));
    v
}

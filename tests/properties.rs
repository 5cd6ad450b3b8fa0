//! Bad input never crashes anything: property tests (bounded case counts,
//! so CI stays fast) over the request classifier, the parameter, multipart,
//! Basic and JWT decoders, HAR import, the redactor, record decoding and the
//! whole analysis. Each property is "returns without panicking", plus a
//! round trip where one exists.

use oauthscope::analyze::{self, classify, flavour, jose, params, AnalyzeOptions};
use oauthscope::record::{format_id, Body, HeaderList, Kind, Record, Request, Response};
use oauthscope::redact::Redactor;
use proptest::prelude::*;
use time::OffsetDateTime;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Strings that look like what arrives on the wire, sometimes garbage.
fn wire_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,80}",
        "(grant_type|code|state|client_id|client_secret|redirect_uri|refresh_token|code_verifier|scope|response_type|error)=[ -~%+&=]{0,30}(&[a-z_]{1,12}=[ -~%]{0,20}){0,6}",
        "\\{\"(access_token|refresh_token|id_token|error|grant_type|code)\": ?(\"[ -~]{0,40}\"|[0-9]{1,5}|null|\\{\\}|\\[\\])\\}",
        ".{0,40}",
        "%[0-9A-Fa-f]{0,2}[%&=+]{0,10}",
    ]
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        "https?://[a-z0-9.-]{1,20}(:[0-9]{1,5})?/[ -~]{0,40}",
        "https://idp.example/(authorize|token|oauth2/v2.0/token|callback|\\.well-known/openid-configuration)\\?[ -~]{0,60}",
        "[ -~]{0,40}",
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,60}",
        "Basic [A-Za-z0-9+/=]{0,40}",
        "Basic [ -~]{0,20}",
        "Bearer [A-Za-z0-9._-]{0,60}",
        "(application/x-www-form-urlencoded|application/json|multipart/form-data; boundary=[a-zA-Z0-9]{0,10}|text/plain)(; charset=[a-z0-9-]{0,8})?",
    ]
}

fn headers() -> impl Strategy<Value = HeaderList> {
    prop::collection::vec(
        (
            prop_oneof![
                Just("Authorization".to_string()),
                Just("Content-Type".to_string()),
                Just("Location".to_string()),
                Just("Cookie".to_string()),
                Just("Content-Encoding".to_string()),
                "[A-Za-z-]{1,16}",
            ],
            header_value(),
        ),
        0..6,
    )
    .prop_map(HeaderList)
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        wire_text().prop_map(|t| Body::from_bytes(t.as_bytes())),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| Body::from_bytes(&b)),
        "--[a-zA-Z0-9]{0,10}\r\nContent-Disposition: form-data; name=\"[a-z_]{0,12}\"\r\n\r\n[ -~]{0,20}\r\n(--[a-zA-Z0-9]{0,10}--)?"
            .prop_map(|t| Body::from_bytes(t.as_bytes())),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

fn record() -> impl Strategy<Value = Record> {
    (
        kind(),
        prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("")],
        url(),
        headers(),
        body(),
        prop::option::of((100u16..600, headers(), body())),
        prop::option::of(wire_text()),
        0u64..1_000_000,
    )
        .prop_map(|(kind, method, url, headers, body, response, grant, n)| {
            let time = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
                + time::Duration::microseconds(n as i64);
            Record {
                id: format_id(1_700_000_000_000_000 + n),
                time,
                flow: None,
                kind,
                grant_type: grant,
                request: Request {
                    method: method.into(),
                    url,
                    headers,
                    body,
                },
                response: response.map(|(status, headers, body)| Response {
                    status,
                    headers,
                    body,
                }),
                duration_ms: 0,
                error: None,
                flavour: None,
                annotations: Vec::new(),
            }
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_classifier_never_panics(
        method in "[A-Z]{0,7}",
        url in url(),
        headers in headers(),
        body in prop::option::of(body()),
        status in 0u16..1000,
    ) {
        let _ = classify::wants_request_body(&method, &headers);
        let _ = classify::classify_request(&method, &url, &headers, body.as_ref());
        let _ = classify::classify_response(&url, status, &headers);
    }

    #[test]
    fn parameter_and_multipart_decoders_never_panic(text in wire_text(), headers in headers(), body in body()) {
        let _ = params::query_params(&text);
        let _ = params::fragment_params(&text);
        let _ = params::form_params(&text);
        let _ = params::json_params(&text);
        let _ = params::body_format(&headers, &body);
        let _ = params::body_params(&headers, &body);
        let _ = params::absolutize(&text, &text);
    }

    #[test]
    fn basic_jwt_and_flavour_decoders_never_panic(
        rec in record(),
        auth in header_value(),
        parts in prop::collection::vec("[A-Za-z0-9_-]{0,40}", 0..5),
        json_part in "\\{\"(alg|typ|exp|aud|iss|nonce)\": ?(\"[ -~]{0,20}\"|-?[0-9]{0,12}|\\[\\]|null)\\}",
    ) {
        use base64::Engine as _;
        let _ = jose::decode_unverified(&parts.join("."));
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = format!("{}.{}.{}", b64.encode(&json_part), b64.encode(&json_part), parts.join(""));
        let _ = jose::decode_unverified(&token);
        let mut rec = rec;
        rec.kind = Kind::TokenRequest;
        rec.request.headers.push("Authorization", auth);
        let _ = flavour::detect(&rec);
        let _ = oauthscope::analyze::client_id::of_request(&rec);
        let _ = Redactor::new().authorization(rec.request.headers.get("Authorization").unwrap_or(""));
    }

    #[test]
    fn analysis_of_any_records_never_panics(recs in prop::collection::vec(record(), 0..8)) {
        let out = analyze::analyze(&recs, &AnalyzeOptions { registered_redirects: vec!["https://app.example/cb".into()] });
        prop_assert_eq!(out.len(), recs.len());
        let windowed = oauthscope::rolling::analyze_all(recs.clone(), &AnalyzeOptions::default());
        prop_assert_eq!(windowed.len(), recs.len());
        let _ = oauthscope::view::list(&out, false);
        for r in &out {
            let _ = oauthscope::view::show(r, false);
            let _ = oauthscope::view::live_line(r, true);
        }
    }

    #[test]
    fn the_redactor_never_panics_and_keeps_the_record_count(recs in prop::collection::vec(record(), 0..6), text in wire_text()) {
        let mut r = Redactor::new();
        let red = r.redact_records(&recs);
        prop_assert_eq!(red.len(), recs.len());
        let _ = r.redact_text(&text);
        let _ = r.url(&text);
        let _ = r.form(&text);
        let _ = r.authorization(&text);
        if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&text) {
            r.json(&mut v);
        }
    }

    #[test]
    fn har_import_never_panics_on_text_or_shapes(
        text in ".{0,200}",
        recs in prop::collection::vec(record(), 0..5),
        mangle in 0usize..6,
    ) {
        let _ = oauthscope::har::import::from_str(&text);
        // A real export, then damaged in one of several ways.
        let har = oauthscope::har::export::to_har_string(&recs, &oauthscope::har::export::HarOptions { redacted: false });
        let mut doc: serde_json::Value = serde_json::from_str(&har).unwrap();
        if let Some(entries) = doc["log"]["entries"].as_array_mut() {
            for e in entries.iter_mut() {
                match mangle {
                    0 => e["request"]["url"] = serde_json::json!(42),
                    1 => e["startedDateTime"] = serde_json::json!("yesterday"),
                    2 => e["response"]["content"]["encoding"] = serde_json::json!("base64"),
                    3 => e["request"]["headers"] = serde_json::json!({"not": "a list"}),
                    4 => e["response"] = serde_json::Value::Null,
                    _ => e["request"]["postData"] = serde_json::json!({"params": [{"name": 1}]}),
                }
            }
        }
        let _ = oauthscope::har::import::from_value(&doc);
        let whole = oauthscope::har::import::from_str(&har);
        if !recs.is_empty() {
            prop_assert!(whole.is_ok(), "{:?}", whole.err());
        }
    }

    #[test]
    fn record_decoding_rejects_garbage_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..200), rec in record()) {
        let _ = serde_json::from_slice::<Record>(&bytes);
        let json = serde_json::to_vec(&rec).unwrap();
        let back: Record = serde_json::from_slice(&json).unwrap();
        prop_assert_eq!(&back, &rec);
        // Truncated JSON is an error, not a panic.
        let cut = bytes.len() % json.len().max(1);
        prop_assert!(serde_json::from_slice::<Record>(&json[..cut]).is_err() || cut == json.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    /// Records of any shape survive the store (a real sled database on disk)
    /// and come back in id order.
    #[test]
    fn any_record_round_trips_through_the_store(recs in prop::collection::vec(record(), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let store = oauthscope::store::Store::open(dir.path()).unwrap();
        let mut by_id = std::collections::BTreeMap::new();
        for mut r in recs {
            store.insert_new(&mut r).unwrap();
            by_id.insert(r.id.clone(), r);
        }
        let listed = store.query(&Default::default()).unwrap();
        prop_assert_eq!(listed, by_id.into_values().collect::<Vec<_>>());
    }
}

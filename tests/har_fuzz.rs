//! Untrusted HAR files never crash oauthscope: a deterministic mutation
//! corpus built from the field HARs (`tests/fixtures/*.har`,
//! `tests/fixtures/field/`, `tests/fixtures/fuzz_seeds/`) — truncations, type
//! swaps, huge/negative numbers, impossible dates, NaN/Infinity, deep
//! nesting, odd encodings, hostile JWT time claims — each imported and
//! analysed in-process (and a sample through the binary), asserting no panic
//! and either a result or a clear error. Plus property tests over HAR import
//! and analysis with hostile numbers, and over records (as the store gives
//! them back) with any time and duration.

use oauthscope::analyze::{analyze, AnalyzeOptions};
use oauthscope::har::import::{self, ImportError, MAX_DURATION_MS};
use oauthscope::record::Record;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn seeds() -> Vec<(PathBuf, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("field"), root.join("fuzz_seeds")] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("har"))
            .collect();
        paths.sort();
        for p in paths {
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            out.push((p, v));
        }
    }
    assert!(out.len() >= 20, "seed HARs missing: {}", out.len());
    out
}

const WEIRD: &[&str] = &[
    "",
    " ",
    "%",
    "%zz",
    "\u{0}",
    "\u{ff}\u{fe}",
    "===",
    "Basic ",
    "Basic !!!!",
    "Bearer x.y",
    "eyJ.eyJ.",
    "{",
    "[]",
    "null",
    "-1",
    "1e309",
    "\u{202e}",
    "../../etc/passwd",
    "http://[::1",
    "::",
    "?=&=&",
    "9999-12-31T23:59:59.999Z",
    "-9999-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "2026-02-30T25:61:61+99:99",
    "\u{1b}]0;title\u{7}",
];

fn huge_number(rng: &mut StdRng) -> Value {
    [
        json!(-1),
        json!(0),
        json!(9_223_372_036_854_775_808u64),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e308),
        json!(-1e308),
        json!(-2_147_483_648i64),
        json!(4.9e-324),
        json!(1.7976931348623157e308),
    ]
    .choose(rng)
    .unwrap()
    .clone()
}

/// An unsigned JWT (`alg: none`) whose time claims are hostile.
fn hostile_jwt(rng: &mut StdRng) -> String {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims = json!({"iss": "https://idp.example", "aud": "app", "sub": "u", "nonce": "n"});
    for c in ["exp", "iat", "nbf", "auth_time"] {
        if rng.random_bool(0.7) {
            claims[c] = huge_number(rng);
        }
    }
    format!(
        "{}.{}.",
        b.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b.encode(claims.to_string())
    )
}

fn mutate(v: &Value, rng: &mut StdRng) -> Value {
    match v {
        Value::Object(o) => {
            let mut out = serde_json::Map::new();
            for (k, x) in o {
                let r: f64 = rng.random();
                if r < 0.01 {
                    continue;
                } else if r < 0.02 {
                    let swap = [
                        json!(null),
                        json!(0),
                        json!(-1),
                        json!([]),
                        json!({}),
                        json!("x"),
                        json!(true),
                    ];
                    out.insert(k.clone(), swap.choose(rng).unwrap().clone());
                } else if (k == "time" || k == "status" || k == "size" || k == "bodySize")
                    && rng.random_bool(0.15)
                {
                    out.insert(k.clone(), huge_number(rng));
                } else if k == "startedDateTime" && rng.random_bool(0.1) {
                    out.insert(k.clone(), json!(WEIRD[21 + rng.random_range(0..5)]));
                } else if k == "text" && rng.random_bool(0.05) {
                    // A body that is a token response with a hostile ID token.
                    let body = json!({"access_token": "at", "token_type": "Bearer", "id_token": hostile_jwt(rng), "expires_in": huge_number(rng)});
                    out.insert(k.clone(), json!(body.to_string()));
                } else {
                    out.insert(k.clone(), mutate(x, rng));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => {
            let mut out: Vec<Value> = Vec::new();
            for x in a {
                if rng.random::<f64>() > 0.02 {
                    out.push(mutate(x, rng));
                }
            }
            if !out.is_empty() && rng.random_bool(0.1) {
                let dup = out.choose(rng).unwrap().clone();
                out.push(dup);
            }
            Value::Array(out)
        }
        Value::String(s) => {
            let r: f64 = rng.random();
            if r < 0.08 {
                json!(WEIRD.choose(rng).unwrap())
            } else if r < 0.14 && !s.is_empty() {
                let mut i = rng.random_range(0..=s.len());
                while !s.is_char_boundary(i) {
                    i -= 1;
                }
                json!(format!(
                    "{}{}{}",
                    &s[..i],
                    WEIRD.choose(rng).unwrap(),
                    &s[i..]
                ))
            } else if r < 0.18 {
                let mut i = rng.random_range(0..=s.len());
                while !s.is_char_boundary(i) {
                    i -= 1;
                }
                json!(&s[..i])
            } else {
                v.clone()
            }
        }
        Value::Number(_) if rng.random_bool(0.1) => huge_number(rng),
        _ => v.clone(),
    }
}

/// The bytes of mutant `i`: the mutated document, then sometimes damaged
/// as text (truncated, NaN/Infinity, deep nesting, another encoding).
fn mutant(seeds: &[(PathBuf, Value)], rng: &mut StdRng) -> Vec<u8> {
    let (_, base) = seeds.choose(rng).unwrap();
    let doc = mutate(base, rng);
    let mut text = serde_json::to_string(&doc).unwrap();
    match rng.random_range(0..20) {
        0 | 1 => {
            let mut cut = rng.random_range(0..text.len().max(1));
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        2 => text = text.replacen("\"time\":", "\"time\":NaN,\"x\":", 1),
        3 => text = text.replacen("\"status\":", "\"status\":Infinity,\"x\":", 1),
        4 => {
            let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
            text = text.replacen("\"headers\":", &format!("\"headers\":{deep},\"h\":"), 1);
        }
        5 => {
            let mut b = vec![0xff, 0xfe];
            b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            return b;
        }
        6 => return text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        7 => {
            let mut b = vec![0xef, 0xbb, 0xbf];
            b.extend_from_slice(text.as_bytes());
            return b;
        }
        8 => {
            // Latin-1 and a lone surrogate inside strings.
            let mut b = text.into_bytes();
            if let Some(p) = b.iter().position(|&c| c == b'"') {
                b.splice(p + 1..p + 1, [0xe9, 0xed, 0xa0, 0x80, 0xc3]);
            }
            return b;
        }
        9 => {
            let mut b = vec![0xff, 0xfe, 0, 0];
            b.extend(text.chars().flat_map(|c| (c as u32).to_le_bytes()));
            return b;
        }
        _ => {}
    }
    text.into_bytes()
}

/// Import and analyse, then render everything a user sees; a panic anywhere
/// is caught and returned.
fn exercise(bytes: &[u8]) -> Result<Result<usize, String>, String> {
    std::panic::catch_unwind(|| match import::from_slice(bytes) {
        Ok(imp) => {
            for r in &imp.records {
                assert!(
                    r.duration_ms <= MAX_DURATION_MS,
                    "duration {}",
                    r.duration_ms
                );
            }
            let recs = analyze(&imp.records, &AnalyzeOptions::default());
            let _ = oauthscope::cli::analyze::report(&recs, false);
            let _ = serde_json::to_string(&recs).unwrap();
            let _ = oauthscope::report::markdown(&recs, &Default::default());
            Ok(recs.len())
        }
        Err(e) => Err(e.to_string()),
    })
    .map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

#[test]
fn fifteen_hundred_mutated_hars_give_a_result_or_a_clear_error() {
    let seeds = seeds();
    let mut rng = StdRng::seed_from_u64(7);
    let (mut ok, mut errors, mut panics) = (0, 0, Vec::new());
    for i in 0..1500 {
        let bytes = mutant(&seeds, &mut rng);
        match exercise(&bytes) {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(msg)) => {
                assert!(msg.len() > 10, "mutant {i}: unclear error {msg:?}");
                errors += 1;
            }
            Err(p) => panics.push(format!("mutant {i}: {p}")),
        }
    }
    eprintln!("1500 mutants: {ok} analysed, {errors} refused with an error");
    assert!(
        panics.is_empty(),
        "{} panics:\n{}",
        panics.len(),
        panics.join("\n")
    );
    // The corpus is not all rejects: most mutants still hold something to analyse.
    assert!(ok > 750, "only {ok} of 1500 mutants were read");
}

#[test]
fn the_binary_exits_with_a_message_on_mutated_hars() {
    let seeds = seeds();
    let mut rng = StdRng::seed_from_u64(11);
    let dir = tempfile::tempdir().unwrap();
    for i in 0..60 {
        let bytes = mutant(&seeds, &mut rng);
        let p = dir.path().join(format!("m{i}.har"));
        std::fs::write(&p, &bytes).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
            .arg("--home")
            .arg(dir.path())
            .args(["analyze", "--json"])
            .arg(&p)
            .output()
            .unwrap();
        let code = out.status.code();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(code, Some(0..=2)) && (code == Some(0) || !err.trim().is_empty()),
            "mutant {i}: {:?} {err}",
            out.status
        );
        assert!(!err.contains("panicked"), "mutant {i}: {err}");
    }
}

fn token_entry(started: &str, time: Value, id_token: &str) -> Value {
    json!({
        "startedDateTime": started,
        "time": time,
        "request": {"method": "POST", "url": "https://idp.example/oauth/token",
            "headers": [{"name": "Content-Type", "value": "application/x-www-form-urlencoded"}],
            "postData": {"mimeType": "application/x-www-form-urlencoded",
                "text": "grant_type=authorization_code&code=c1&client_id=app&redirect_uri=https%3A%2F%2Fapp%2Fcb"}},
        "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/json"}],
            "content": {"mimeType": "application/json",
                "text": json!({"access_token": "at", "id_token": id_token, "token_type": "Bearer"}).to_string()}}
    })
}

/// The crash the issue reported: a huge `time` on an entry started near
/// the end of representable time overflowed a time addition.
#[test]
fn a_huge_time_at_the_end_of_time_is_read_as_unknown() {
    let mut rng = StdRng::seed_from_u64(1);
    let jwt = hostile_jwt(&mut rng);
    for time in [
        json!(1e308),
        json!(u64::MAX),
        json!(i64::MAX),
        json!(604_800_001),
        json!(-5),
    ] {
        let har = json!({"log": {"entries": [token_entry("9999-12-31T23:59:59.999Z", time.clone(), &jwt)]}});
        let imp = import::from_str(&har.to_string()).unwrap();
        assert_eq!(imp.records.len(), 1);
        assert_eq!(imp.records[0].duration_ms, 0, "time {time}");
        let _ = analyze(&imp.records, &AnalyzeOptions::default());
    }
    // A week is still a duration.
    let har = json!({"log": {"entries": [token_entry("2026-01-01T00:00:00Z", json!(604_800_000), &jwt)]}});
    assert_eq!(
        import::from_str(&har.to_string()).unwrap().records[0].duration_ms,
        MAX_DURATION_MS
    );
}

#[test]
fn utf16_and_utf8_bom_hars_are_read_and_utf32_is_named() {
    let har = json!({"log": {"entries": [token_entry("2026-01-01T00:00:00Z", json!(12), "x")]}})
        .to_string();
    let want = import::from_str(&har).unwrap().records;
    let mut le = vec![0xff, 0xfe];
    le.extend(har.encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = vec![0xfe, 0xff];
    be.extend(har.encode_utf16().flat_map(u16::to_be_bytes));
    let no_bom: Vec<u8> = har.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut bom8 = vec![0xef, 0xbb, 0xbf];
    bom8.extend_from_slice(har.as_bytes());
    for bytes in [le, be, no_bom, bom8] {
        assert_eq!(import::from_slice(&bytes).unwrap().records, want);
    }
    let mut utf32 = vec![0xff, 0xfe, 0, 0];
    utf32.extend(har.chars().flat_map(|c| (c as u32).to_le_bytes()));
    let e = import::from_slice(&utf32).unwrap_err();
    assert!(matches!(e, ImportError::Encoding { .. }), "{e}");
    assert!(
        e.to_string().contains("UTF-32") && e.to_string().contains("UTF-8"),
        "{e}"
    );

    // Through the binary: the error names the encoding.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("utf32.har");
    std::fs::write(&p, &utf32).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(dir.path())
        .arg("analyze")
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("UTF-32 (little endian)"),
        "{err}"
    );
}

#[test]
fn bodies_over_the_limit_keep_their_start_and_are_marked_truncated() {
    use base64::Engine as _;
    let big = "a".repeat(3 * 1024 * 1024);
    let mut e = token_entry("2026-01-01T00:00:00Z", json!(1), "x");
    e["response"]["content"]["text"] = json!(big);
    let mut b64 = token_entry("2026-01-01T00:00:01Z", json!(1), "x");
    let bin: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    b64["response"]["content"]["text"] =
        json!(base64::engine::general_purpose::STANDARD.encode(&bin));
    b64["response"]["content"]["encoding"] = json!("base64");
    let har = json!({"log": {"entries": [e, b64]}}).to_string();
    let imp = import::from_str(&har).unwrap();
    let body = &imp.records[0].response.as_ref().unwrap().body;
    assert!(body.truncated);
    assert_eq!(body.size, Some(big.len() as u64));
    assert_eq!(body.text.len(), import::DEFAULT_MAX_BODY);
    let body = &imp.records[1].response.as_ref().unwrap().body;
    assert!(body.truncated);
    assert_eq!(body.size, Some(bin.len() as u64));
    assert_eq!(body.bytes(), bin[..import::DEFAULT_MAX_BODY].to_vec());
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn hostile_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0i64),
        -253_402_300_799i64..253_402_300_799i64,
        any::<i64>(),
    ]
}

fn started() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("9999-12-31T23:59:59.999Z".to_string()),
        Just("0001-01-01T00:00:00Z".to_string()),
        Just("-9999-01-01T00:00:00Z".to_string()),
        (1970i32..2100, 1u8..13, 1u8..29)
            .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}T10:00:00.5+14:00")),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// A login whose numbers (entry times, durations, statuses, JWT time
    /// claims, expires_in) are anything: import and analysis never panic.
    #[test]
    fn hostile_numbers_in_a_har_never_panic(
        t1 in started(), t2 in started(),
        time in prop_oneof![any::<f64>().prop_map(|f| if f.is_finite() { json!(f) } else { json!(null) }), any::<u64>().prop_map(|n| json!(n)), any::<i64>().prop_map(|n| json!(n))],
        status in prop_oneof![any::<i64>(), 0i64..1000],
        exp in hostile_i64(), iat in hostile_i64(), nbf in hostile_i64(),
        expires_in in any::<i64>(),
    ) {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims = json!({"iss": "https://idp.example", "aud": "app", "exp": exp, "iat": iat, "nbf": nbf, "auth_time": iat, "nonce": "n"});
        let jwt = format!("{}.{}.", b.encode(br#"{"alg":"none"}"#), b.encode(claims.to_string()));
        let assertion = format!("{}.{}.sig", b.encode(br#"{"alg":"RS256"}"#), b.encode(claims.to_string()));
        let authorize = json!({
            "startedDateTime": t1, "time": time.clone(),
            "request": {"method": "GET", "url": "https://idp.example/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp%2Fcb&state=s&nonce=n", "headers": []},
            "response": {"status": 302, "headers": [{"name": "Location", "value": "https://app/cb?code=c1&state=s"}], "content": {}}
        });
        let mut token = token_entry(&t2, time, &jwt);
        token["request"]["postData"]["text"] = json!(format!(
            "grant_type=authorization_code&code=c1&client_id=app&redirect_uri=https%3A%2F%2Fapp%2Fcb&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}&client_secret={jwt}"));
        token["response"]["status"] = json!(status);
        token["response"]["headers"] = json!([{"name": "Date", "value": "Fri, 31 Dec 9999 23:59:59 GMT"}]);
        token["response"]["content"]["text"] = json!(json!({"error": "invalid_grant", "id_token": jwt, "expires_in": expires_in, "interval": expires_in}).to_string());
        let har = json!({"log": {"entries": [authorize, token.clone(), token]}}).to_string();
        let result = exercise(har.as_bytes());
        prop_assert!(result.is_ok(), "panic: {:?}", result.err());
    }

    /// Records as a damaged store could hold them: any time the record
    /// format accepts, any duration. Analysis and every view survive.
    #[test]
    fn records_with_any_time_and_duration_never_panic(
        secs in -377_705_116_800i64..253_402_300_799i64,
        duration_ms in prop_oneof![Just(u64::MAX), Just(i64::MAX as u64 + 1), any::<u64>(), 0u64..10_000],
        exp in hostile_i64(),
    ) {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let jwt = format!("{}.{}.", b.encode(br#"{"alg":"none"}"#), b.encode(json!({"exp": exp, "iat": exp, "aud": "app"}).to_string()));
        let har = json!({"log": {"entries": [token_entry("2026-01-01T00:00:00Z", json!(1), &jwt)]}}).to_string();
        let mut recs: Vec<Record> = import::from_str(&har).unwrap().records;
        prop_assert_eq!(recs.len(), 1);
        recs[0].time = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
        recs[0].duration_ms = duration_ms;
        let mut second = recs[0].clone();
        second.id = format!("{:016x}", 1u64);
        recs.push(second);
        let out = std::panic::catch_unwind(|| {
            let out = analyze(&recs, &AnalyzeOptions::default());
            let _ = oauthscope::cli::analyze::report(&out, false);
            let _ = oauthscope::report::markdown(&out, &Default::default());
            for r in &out {
                let _ = oauthscope::view::show(r, false);
            }
        });
        prop_assert!(out.is_ok());
    }
}

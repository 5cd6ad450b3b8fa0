//! `oauthscope export`: redaction in every format, HAR 1.2 shape, JSON as
//! `flows show --json`, the Markdown report — through the library and as the
//! built binary over a real store on disk.

use base64::Engine as _;
use oauthscope::analyze::{analyze, AnalyzeOptions};
use oauthscope::cli::export::{render, Format};
use oauthscope::home::Home;
use oauthscope::record::{
    new_id, Annotation, Body, HeaderList, Kind, Record, Request, Response, Severity,
};
use oauthscope::redact::Redactor;
use oauthscope::store::Store;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use std::process::Command;
use time::OffsetDateTime;

// Secrets with `+ / = %` and spaces, so every encoding differs from the raw value.
const CLIENT_ID: &str = "my app";
const CLIENT_SECRET: &str = "s3cr+t/with=pct%20 and space";
const CODE: &str = "c0de+/=%41 x-auth";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk.~";
const ACCESS_TOKEN: &str = "at+/=%tok en-0001";
const REFRESH_TOKEN: &str = "rt+/=%refresh en-0002";
const ACCESS_TOKEN_2: &str = "at2+/=%tok en-0003";
const REFRESH_TOKEN_2: &str = "rt2+/=%refresh en-0004";
const IDP_COOKIE: &str = "idp+sess/=%41 cookie";
const APP_COOKIE: &str = "app+sid/=%42 cookie";
const REDIRECT: &str = "https://app.example/callback/";
const REDIRECT_NO_SLASH: &str = "https://app.example/callback";

fn form_enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn jwt(claims: Value) -> String {
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let sig: Vec<u8> = (0u8..64)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    format!(
        "{}.{}.{}",
        b.encode(r#"{"alg":"RS256","kid":"key-1","typ":"JWT"}"#),
        b.encode(claims.to_string()),
        b.encode(sig)
    )
}

fn id_token() -> String {
    jwt(
        json!({"iss":"https://idp.example","sub":"alice","aud":CLIENT_ID,"nonce":"n-1","exp":4102444800u64,"iat":1700000000}),
    )
}

fn basic_header() -> String {
    let b = base64::engine::general_purpose::STANDARD;
    format!(
        "Basic {}",
        b.encode(format!(
            "{}:{}",
            form_enc(CLIENT_ID),
            form_enc(CLIENT_SECRET)
        ))
    )
}

/// Every value that must not survive redaction.
fn secrets() -> Vec<String> {
    let t = id_token();
    let sig = t.rsplit('.').next().unwrap().to_string();
    vec![
        CLIENT_SECRET.into(),
        CODE.into(),
        VERIFIER.into(),
        ACCESS_TOKEN.into(),
        REFRESH_TOKEN.into(),
        ACCESS_TOKEN_2.into(),
        REFRESH_TOKEN_2.into(),
        IDP_COOKIE.into(),
        APP_COOKIE.into(),
        t,
        sig,
        basic_header()[6..].to_string(),
    ]
}

/// The raw, percent-encoded, form-encoded and base64 forms of a secret.
fn forms(s: &str) -> Vec<String> {
    const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let b = base64::engine::general_purpose::STANDARD;
    let bu = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let json = serde_json::to_string(s).unwrap();
    vec![
        s.to_string(),
        form_enc(s),
        utf8_percent_encode(s, NON_ALPHANUMERIC).to_string(),
        utf8_percent_encode(s, COMPONENT).to_string(),
        json[1..json.len() - 1].to_string(),
        b.encode(s),
        bu.encode(s),
    ]
}

fn leaks(output: &str) -> Vec<String> {
    let mut found = Vec::new();
    for s in secrets() {
        for f in forms(&s) {
            if output.contains(&f) {
                found.push(f);
            }
        }
    }
    found
}

struct At(OffsetDateTime);
impl At {
    fn next(&mut self, ms: i64) -> OffsetDateTime {
        self.0 += time::Duration::milliseconds(ms);
        self.0
    }
}

#[allow(clippy::too_many_arguments)]
fn rec(
    t: OffsetDateTime,
    kind: Kind,
    method: &str,
    url: &str,
    req_headers: &[(&str, &str)],
    body: &str,
    status: u16,
    resp_headers: &[(&str, &str)],
    resp_body: &str,
) -> Record {
    let h = |v: &[(&str, &str)]| {
        HeaderList(
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    };
    let grant_type = (kind == Kind::TokenRequest)
        .then(|| {
            url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v.into_owned())
        })
        .flatten();
    Record {
        id: new_id(t),
        time: t,
        flow: None,
        kind,
        grant_type,
        request: Request {
            method: method.into(),
            url: url.into(),
            headers: h(req_headers),
            body: Body::from_bytes(body.as_bytes()),
        },
        response: Some(Response {
            status,
            headers: h(resp_headers),
            body: Body::from_bytes(resp_body.as_bytes()),
        }),
        duration_ms: 35,
        error: None,
        flavour: None,
        annotations: vec![],
    }
}

/// A login whose first token exchange fails on a trailing-slash redirect_uri
/// mismatch, retried with the same code, then a refresh and a userinfo call.
fn flow() -> Vec<Record> {
    let mut at = At(OffsetDateTime::now_utc() - time::Duration::minutes(10));
    let challenge = {
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(VERIFIER))
    };
    let authorize = format!(
        "https://idp.example/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20offline_access&state=st-1&nonce=n-1&code_challenge={challenge}&code_challenge_method=S256",
        form_enc(CLIENT_ID),
        form_enc(REDIRECT)
    );
    let callback = format!("{REDIRECT}?code={}&state=st-1", form_enc(CODE));
    let idp_set_cookie = format!("idp_session={IDP_COOKIE}; Path=/; Secure; HttpOnly");
    let app_cookie = format!("app_sid={APP_COOKIE}; theme=dark");
    let form = "application/x-www-form-urlencoded";
    let basic = basic_header();
    let tok1 = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
        form_enc(CODE),
        form_enc(REDIRECT_NO_SLASH),
        form_enc(VERIFIER)
    );
    let tok2 = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
        form_enc(CODE),
        form_enc(REDIRECT),
        form_enc(VERIFIER)
    );
    let tokens = json!({"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "id_token": id_token(), "token_type":"Bearer","expires_in":3600}).to_string();
    let refresh = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
        form_enc(REFRESH_TOKEN),
        form_enc(CLIENT_ID),
        form_enc(CLIENT_SECRET)
    );
    let tokens2 = json!({"access_token": ACCESS_TOKEN_2, "refresh_token": REFRESH_TOKEN_2, "token_type":"Bearer","expires_in":3600}).to_string();
    let bearer = format!("Bearer {ACCESS_TOKEN_2}");
    vec![
        rec(
            at.next(0),
            Kind::AuthorizeRequest,
            "GET",
            &authorize,
            &[("Cookie", &format!("idp_session={IDP_COOKIE}"))],
            "",
            302,
            &[("Location", &callback), ("Set-Cookie", &idp_set_cookie)],
            "",
        ),
        rec(
            at.next(1800),
            Kind::Callback,
            "GET",
            &callback,
            &[("Cookie", &app_cookie)],
            "",
            302,
            &[("Location", "/home")],
            "",
        ),
        rec(
            at.next(120),
            Kind::TokenRequest,
            "POST",
            "https://idp.example/token",
            &[("Authorization", &basic), ("Content-Type", form)],
            &tok1,
            400,
            &[("Content-Type", "application/json")],
            r#"{"error":"invalid_grant","error_description":"redirect_uri does not match"}"#,
        ),
        rec(
            at.next(4000),
            Kind::TokenRequest,
            "POST",
            "https://idp.example/token",
            &[("Authorization", &basic), ("Content-Type", form)],
            &tok2,
            200,
            &[
                ("Content-Type", "application/json"),
                ("Set-Cookie", &format!("idp_session={IDP_COOKIE}; Path=/")),
            ],
            &tokens,
        ),
        rec(
            at.next(60_000),
            Kind::TokenRequest,
            "POST",
            "https://idp.example/token",
            &[("Content-Type", form)],
            &refresh,
            200,
            &[("Content-Type", "application/json")],
            &tokens2,
        ),
        rec(
            at.next(500),
            Kind::Userinfo,
            "GET",
            "https://idp.example/userinfo",
            &[("Authorization", &bearer)],
            "",
            200,
            &[("Content-Type", "application/json")],
            r#"{"sub":"alice","name":"Alice"}"#,
        ),
    ]
}

fn analysed() -> Vec<Record> {
    analyze(&flow(), &AnalyzeOptions::default())
}

/// The login flow only (what `export --flow` selects), as a report shows it.
fn login_flow() -> Vec<Record> {
    let all = analysed();
    let id = all[2].id.clone();
    oauthscope::cli::export::select(all, Some(&id), None).unwrap()
}

#[test]
fn no_secret_survives_in_any_format_and_no_redact_keeps_them() {
    let recs = analysed();
    for format in [Format::Json, Format::Har, Format::Md] {
        let mut r = Redactor::new();
        let out = render(&recs, format, Some(&mut r));
        let found = leaks(&out);
        assert!(found.is_empty(), "{format:?} leaks {found:?}");
        assert!(out.contains("«redacted:"), "{format:?}");
        // The check can fail: the unredacted export holds the secrets.
        let raw = render(&recs, format, None);
        for s in [CODE, ACCESS_TOKEN, REFRESH_TOKEN] {
            assert!(
                forms(s).iter().any(|f| raw.contains(f)),
                "{format:?} without redaction should hold {s:?}"
            );
        }
    }
}

#[test]
fn annotations_are_redacted_too() {
    let mut recs = analysed();
    // Evidence naming secrets (as diagnoses do) and a callback URL carrying the code.
    let (cb_url, id2, id3) = (
        recs[1].request.url.clone(),
        recs[2].id.clone(),
        recs[3].id.clone(),
    );
    recs[3].annotations.push(Annotation {
        code: "diagnosis.code_reused".into(),
        severity: Severity::Error,
        title: format!("the code {CODE} was exchanged before"),
        detail: format!("see {cb_url}"),
        evidence: json!({"code": CODE, "records": [id2, id3], "nested": {"url": cb_url, "list": [ACCESS_TOKEN]}}),
    });
    let mut r = Redactor::new();
    let out = render(&recs, Format::Json, Some(&mut r));
    assert!(leaks(&out).is_empty(), "{:?}", leaks(&out));
    let v: Value = serde_json::from_str(&out).unwrap();
    let ann = v[3]["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "diagnosis.code_reused")
        .unwrap();
    let code_fp = form_value(v[2]["request"]["body"].as_str().unwrap(), "code");
    assert_eq!(ann["evidence"]["code"], code_fp.as_str());
    assert!(ann["title"].as_str().unwrap().contains(&code_fp));
    // Record ids are not secrets.
    assert_eq!(ann["evidence"]["records"][0], recs[2].id.as_str());
}

fn form_value(body: &str, name: &str) -> String {
    url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} missing in {body}"))
}

fn query_value(u: &str, name: &str) -> String {
    let u = url::Url::parse(u).unwrap();
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} missing in {u}"))
}

/// Where the code shows up in a JSON export: the authorize redirect, the
/// callback and both token requests.
fn code_fingerprints(out: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(out).unwrap();
    let loc = v[0]["response"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "Location")
        .unwrap()[1]
        .as_str()
        .unwrap()
        .to_string();
    vec![
        query_value(&loc, "code"),
        query_value(v[1]["request"]["url"].as_str().unwrap(), "code"),
        form_value(v[2]["request"]["body"].as_str().unwrap(), "code"),
        form_value(v[3]["request"]["body"].as_str().unwrap(), "code"),
    ]
}

#[test]
fn fingerprints_are_stable_within_one_export_and_differ_across_exports() {
    let recs = analysed();
    let a = render(&recs, Format::Json, Some(&mut Redactor::new()));
    let b = render(&recs, Format::Json, Some(&mut Redactor::new()));
    let fa = code_fingerprints(&a);
    let fb = code_fingerprints(&b);
    assert!(
        fa[0].starts_with("«redacted:") && fa[0].ends_with('»'),
        "{fa:?}"
    );
    assert!(
        fa.iter().all(|f| *f == fa[0]),
        "same code, same fingerprint: {fa:?}"
    );
    assert!(fb.iter().all(|f| *f == fb[0]), "{fb:?}");
    assert_ne!(fa[0], fb[0], "two exports must not be joinable");
    // Different secrets get different fingerprints.
    let v: Value = serde_json::from_str(&a).unwrap();
    let verifier = form_value(v[2]["request"]["body"].as_str().unwrap(), "code_verifier");
    assert_ne!(verifier, fa[0]);
    // The refresh token returned at exchange 4 is the one used at exchange 5.
    let body4: Value = serde_json::from_str(v[3]["response"]["body"].as_str().unwrap()).unwrap();
    let used = form_value(v[4]["request"]["body"].as_str().unwrap(), "refresh_token");
    assert_eq!(body4["refresh_token"], used.as_str());
}

#[test]
fn basic_credentials_keep_client_id_and_flavour_and_jwts_keep_claims() {
    let recs = analysed();
    let out = render(&recs, Format::Json, Some(&mut Redactor::new()));
    let v: Value = serde_json::from_str(&out).unwrap();
    let auth = v[2]["request"]["headers"][0][1].as_str().unwrap();
    let decoded = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(auth.strip_prefix("Basic ").unwrap())
            .unwrap(),
    )
    .unwrap();
    let (id, secret) = decoded.split_once(':').unwrap();
    assert_eq!(id, form_enc(CLIENT_ID), "client_id readable, encoding kept");
    // Still URL-encoded (flavour 1): decoding gives the fingerprint.
    let dec: String = url::form_urlencoded::parse(format!("s={secret}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    assert!(dec.starts_with("«redacted:"), "{decoded}");
    // The same secret in the refresh body has the same fingerprint.
    assert_eq!(
        form_value(v[4]["request"]["body"].as_str().unwrap(), "client_secret"),
        dec
    );
    // Flavours came from the raw records and are exported as analysed.
    assert_eq!(
        v[2]["flavour"],
        serde_json::to_value(&recs[2].flavour).unwrap()
    );

    let body: Value = serde_json::from_str(v[3]["response"]["body"].as_str().unwrap()).unwrap();
    let t = body["id_token"].as_str().unwrap();
    let orig = id_token();
    let mut o = orig.split('.');
    let mut p = t.split('.');
    assert_eq!(p.next(), o.next(), "JWT header readable");
    assert_eq!(p.next(), o.next(), "JWT claims readable");
    assert!(p.next().unwrap().starts_with("«redacted:"));
    assert_eq!(body["expires_in"], 3600);
}

#[test]
fn json_export_is_the_analysed_records() {
    let recs = analysed();
    let out = render(&recs, Format::Json, None);
    let back: Vec<Record> = serde_json::from_str(&out).unwrap();
    assert_eq!(back, recs);
}

/// Check a HAR document against the HAR 1.2 spec's required fields and types.
fn validate_har(v: &Value) -> Result<(), String> {
    fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a serde_json::Map<String, Value>, String> {
        v.as_object().ok_or(format!("{what} must be an object"))
    }
    fn s(o: &serde_json::Map<String, Value>, k: &str, what: &str) -> Result<(), String> {
        o.get(k)
            .and_then(Value::as_str)
            .map(|_| ())
            .ok_or(format!("{what}.{k} must be a string"))
    }
    fn n(o: &serde_json::Map<String, Value>, k: &str, what: &str) -> Result<f64, String> {
        o.get(k)
            .and_then(Value::as_f64)
            .ok_or(format!("{what}.{k} must be a number"))
    }
    fn pairs(o: &serde_json::Map<String, Value>, k: &str, what: &str) -> Result<(), String> {
        let a = o
            .get(k)
            .and_then(Value::as_array)
            .ok_or(format!("{what}.{k} must be an array"))?;
        for (i, p) in a.iter().enumerate() {
            let p = obj(p, &format!("{what}.{k}[{i}]"))?;
            s(p, "name", &format!("{what}.{k}[{i}]"))?;
            s(p, "value", &format!("{what}.{k}[{i}]"))?;
        }
        Ok(())
    }
    let log = obj(v.get("log").ok_or("log missing")?, "log")?;
    if log.get("version").and_then(Value::as_str) != Some("1.2") {
        return Err("log.version must be \"1.2\"".into());
    }
    let creator = obj(log.get("creator").ok_or("creator missing")?, "creator")?;
    s(creator, "name", "creator")?;
    s(creator, "version", "creator")?;
    let entries = log
        .get("entries")
        .and_then(Value::as_array)
        .ok_or("log.entries must be an array")?;
    for (i, e) in entries.iter().enumerate() {
        let w = format!("entries[{i}]");
        let e = obj(e, &w)?;
        let started = e
            .get("startedDateTime")
            .and_then(Value::as_str)
            .ok_or(format!("{w}.startedDateTime must be a string"))?;
        OffsetDateTime::parse(
            started,
            &time::format_description::well_known::Iso8601::DEFAULT,
        )
        .map_err(|err| format!("{w}.startedDateTime {started:?}: {err}"))?;
        // Three fractional digits and Z, as Chrome writes (Python < 3.11 needs 3 or 6).
        if started.len() != 24 || !started.ends_with('Z') || started.as_bytes()[19] != b'.' {
            return Err(format!(
                "{w}.startedDateTime {started:?} is not YYYY-MM-DDTHH:MM:SS.mmmZ"
            ));
        }
        let total = n(e, "time", &w)?;
        let req = obj(
            e.get("request").ok_or(format!("{w}.request missing"))?,
            "request",
        )?;
        for k in ["method", "url", "httpVersion"] {
            s(req, k, &format!("{w}.request"))?;
        }
        for k in ["cookies", "headers", "queryString"] {
            pairs(req, k, &format!("{w}.request"))?;
        }
        n(req, "headersSize", &w)?;
        n(req, "bodySize", &w)?;
        if let Some(pd) = req.get("postData") {
            let pd = obj(pd, "postData")?;
            s(pd, "mimeType", "postData")?;
            if !pd.contains_key("text") && !pd.contains_key("params") {
                return Err(format!("{w}.postData needs text or params"));
            }
        }
        let resp = obj(
            e.get("response").ok_or(format!("{w}.response missing"))?,
            "response",
        )?;
        n(resp, "status", &w)?;
        for k in ["statusText", "httpVersion", "redirectURL"] {
            s(resp, k, &format!("{w}.response"))?;
        }
        for k in ["cookies", "headers"] {
            pairs(resp, k, &format!("{w}.response"))?;
        }
        n(resp, "headersSize", &w)?;
        n(resp, "bodySize", &w)?;
        let content = obj(resp.get("content").ok_or("content missing")?, "content")?;
        n(content, "size", "content")?;
        s(content, "mimeType", "content")?;
        obj(e.get("cache").ok_or(format!("{w}.cache missing"))?, "cache")?;
        let t = obj(
            e.get("timings").ok_or(format!("{w}.timings missing"))?,
            "timings",
        )?;
        let mut sum = 0.0;
        for k in ["send", "wait", "receive"] {
            let x = n(t, k, "timings")?;
            if x < 0.0 {
                return Err(format!("{w}.timings.{k} must be >= 0"));
            }
            sum += x;
        }
        for k in ["blocked", "dns", "connect", "ssl"] {
            if let Some(x) = t.get(k) {
                let x = x.as_f64().ok_or(format!("timings.{k} must be a number"))?;
                if x < -1.0 {
                    return Err(format!("{w}.timings.{k} must be >= -1"));
                }
                if x > 0.0 && k != "ssl" {
                    sum += x;
                }
            }
        }
        if (sum - total).abs() > 0.001 {
            return Err(format!("{w}.time {total} != sum of timings {sum}"));
        }
    }
    Ok(())
}

#[test]
fn har_is_valid_har_1_2_with_oauthscope_fields() {
    let recs = analysed();
    let out = render(&recs, Format::Har, Some(&mut Redactor::new()));
    let v: Value = serde_json::from_str(&out).unwrap();
    validate_har(&v).unwrap();
    // The validator rejects broken documents.
    let mut broken = v.clone();
    broken["log"]["entries"][0]["timings"]
        .as_object_mut()
        .unwrap()
        .remove("wait");
    assert!(validate_har(&broken).is_err());

    let entries = v["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), recs.len());
    for (e, r) in entries.iter().zip(&recs) {
        let o = &e["_oauthscope"];
        assert_eq!(o["id"], r.id.as_str());
        assert_eq!(o["kind"], r.kind.as_str());
        assert_eq!(o["flow"], json!(r.flow));
        let codes: Vec<&str> = o["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["code"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = r.annotations.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(codes, want);
        assert_eq!(e["time"], json!(r.duration_ms as f64));
    }
    let tok = &entries[2];
    assert_eq!(
        tok["request"]["postData"]["mimeType"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(tok["response"]["status"], 400);
    assert_eq!(tok["response"]["statusText"], "Bad Request");
    assert_eq!(tok["_oauthscope"]["grant_type"], "authorization_code");
    assert_eq!(
        entries[0]["response"]["redirectURL"]
            .as_str()
            .unwrap()
            .split('?')
            .next(),
        Some(REDIRECT)
    );
    assert_eq!(entries[0]["response"]["cookies"][0]["name"], "idp_session");
    assert_eq!(entries[0]["response"]["cookies"][0]["httpOnly"], true);
    assert_eq!(entries[1]["request"]["cookies"][1]["name"], "theme");
    assert_eq!(v["log"]["_oauthscope"]["redacted"], true);
}

#[test]
fn markdown_report_has_title_diagram_table_and_fenced_exchanges() {
    let recs = login_flow();
    assert!(
        recs.len() >= 5,
        "authorize, callback, two exchanges and the refresh are one flow"
    );
    let md = render(&recs, Format::Md, Some(&mut Redactor::new()));
    let first = md.lines().next().unwrap();
    assert!(
        first.starts_with("# Token exchange failed: invalid_grant"),
        "{first}"
    );
    assert!(md.contains("```mermaid\nsequenceDiagram\n"), "{md}");
    for p in [
        "participant App",
        "participant Browser",
        "participant Provider",
    ] {
        assert!(md.contains(p), "{p}");
    }
    assert!(
        md.contains("Browser->>Provider: 1. GET /authorize (response_type=code)"),
        "{md}"
    );
    assert!(
        md.contains("Provider-->>Browser: 302 Found to /callback/ (code, state)"),
        "{md}"
    );
    assert!(
        md.contains("App->>Provider: 3. POST /token (authorization_code) [+120 ms]"),
        "{md}"
    );
    assert!(
        md.contains("Provider--xApp: 400 Bad Request invalid_grant"),
        "{md}"
    );
    assert!(
        md.contains("App->>Provider: 5. POST /token (refresh_token) [+1 min 0 s]"),
        "{md}"
    );
    assert!(
        md.contains("| # | time (UTC) | after | kind | request | status | flavour | findings |")
    );
    assert!(
        md.contains("```http\nPOST https://idp.example/token HTTP/1.1\n"),
        "{md}"
    );
    assert!(md.contains("«redacted:"));
    // Fences balance.
    let fences = md.lines().filter(|l| l.starts_with("```")).count();
    assert_eq!(fences % 2, 0);
}

#[test]
fn markdown_shows_the_redirect_uri_diff_with_an_aligned_caret() {
    let mut recs = login_flow();
    // The redirect_uri rule's annotation as DESIGN.md specifies it.
    recs[2]
        .annotations
        .retain(|a| a.code != "redirect_uri.mismatch");
    recs[2].annotations.insert(
        0,
        Annotation {
            code: "redirect_uri.mismatch".into(),
            severity: Severity::Error,
            title: "redirect_uri differs from the authorize request's".into(),
            detail: "Send exactly the redirect_uri of the authorize request.".into(),
            evidence: json!({"kinds": ["trailing_slash"], "expected": REDIRECT, "actual": REDIRECT_NO_SLASH}),
        },
    );
    let md = render(&recs, Format::Md, Some(&mut Redactor::new()));
    assert!(
        md.lines().next().unwrap()
            == "# Token exchange failed: invalid_grant (redirect_uri differs: trailing slash)",
        "{md}"
    );
    let lines: Vec<&str> = md.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("expected: "))
        .expect("diff block");
    assert_eq!(lines[i - 1], "```text");
    let expected = lines[i];
    let actual = lines[i + 1];
    let caret = lines[i + 2];
    assert!(actual.starts_with("actual:   "));
    let col = caret.find('^').unwrap();
    // The caret sits under the first differing character (the missing '/').
    assert_eq!(expected.chars().nth(col), Some('/'));
    assert_eq!(actual.chars().nth(col), None);
    assert_eq!(&expected[10..col], &actual[10..]);
    assert!(caret.ends_with("trailing_slash"));
}

#[test]
fn live_analysis_of_trailing_slash_flow_gives_the_caret_diff() {
    let md = render(&login_flow(), Format::Md, Some(&mut Redactor::new()));
    assert!(
        md.contains("(redirect_uri differs: trailing slash)"),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "expected: {REDIRECT}\nactual:   {REDIRECT_NO_SLASH}\n"
        )),
        "{md}"
    );
}

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

fn store_with(records: &[Record]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let s = Store::open(&home.store_dir()).unwrap();
    for r in records {
        s.insert(r).unwrap();
    }
    s.flush().unwrap();
    dir
}

#[test]
fn export_command_writes_every_format_redacted_by_default() {
    let mut recs = flow();
    // A second, unrelated exchange (its own flow).
    let mut other = rec(
        OffsetDateTime::now_utc(),
        Kind::Discovery,
        "GET",
        "https://other.example/.well-known/openid-configuration",
        &[],
        "",
        200,
        &[("Content-Type", "application/json")],
        r#"{"issuer":"https://other.example"}"#,
    );
    other.id = new_id(other.time);
    recs.push(other.clone());
    let dir = store_with(&recs);

    let (code, _, err) = bin(
        dir.path(),
        &["export", "--format", "json", "--since", "nonsense"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("not a time"), "{err}");

    for format in ["har", "json", "md"] {
        let (code, out, err) = bin(dir.path(), &["export", "--format", format]);
        assert_eq!(code, 0, "{format}: {err}");
        assert!(leaks(&out).is_empty(), "{format} leaks {:?}", leaks(&out));
        assert!(!err.contains("warning"), "{err}");
        let file = dir.path().join(format!("out.{format}"));
        let (code, stdout, err) = bin(
            dir.path(),
            &["export", "--format", format, "-o", file.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{err}");
        assert!(stdout.is_empty());
        assert!(err.contains("wrote 7 exchanges"), "{err}");
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(leaks(&written).is_empty());
    }

    // JSON export = the analysed records, as `flows list --json` prints them, redacted.
    let (_, out, _) = bin(dir.path(), &["export", "--format", "json"]);
    let exported: Vec<Record> = serde_json::from_str(&out).unwrap();
    let (_, listed, _) = bin(dir.path(), &["flows", "list", "--json"]);
    let listed: Vec<Record> = serde_json::from_str(&listed).unwrap();
    assert_eq!(exported.len(), listed.len());
    for (e, l) in exported.iter().zip(&listed) {
        assert_eq!(
            (&e.id, &e.flow, e.kind, &e.flavour),
            (&l.id, &l.flow, l.kind, &l.flavour)
        );
        let codes = |r: &Record| {
            r.annotations
                .iter()
                .map(|a| a.code.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(codes(e), codes(l));
    }

    // --flow by the id of one of its records selects that flow only.
    let (code, out, err) = bin(
        dir.path(),
        &["export", "--format", "json", "--flow", &recs[2].id],
    );
    assert_eq!(code, 0, "{err}");
    let v: Vec<Record> = serde_json::from_str(&out).unwrap();
    assert!(v.iter().all(|r| r.kind != Kind::Discovery), "{out}");
    assert!(v.iter().any(|r| r.id == recs[2].id));
    let (code, out, _) = bin(
        dir.path(),
        &["export", "--format", "json", "--flow", &other.id],
    );
    assert_eq!(code, 0);
    let v: Vec<Record> = serde_json::from_str(&out).unwrap();
    assert_eq!(v.len(), 1);

    // --since keeps recent exchanges only (the flow started 10 minutes ago).
    let (code, out, _) = bin(dir.path(), &["export", "--format", "json", "--since", "2m"]);
    assert_eq!(code, 0);
    let v: Vec<Record> = serde_json::from_str(&out).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].id, other.id);

    // --no-redact is explicit, warns, and keeps the secrets.
    let (code, out, err) = bin(dir.path(), &["export", "--format", "json", "--no-redact"]);
    assert_eq!(code, 0);
    assert!(err.contains("warning: --no-redact"), "{err}");
    assert!(!leaks(&out).is_empty());

    let (code, _, err) = bin(dir.path(), &["export", "--flow", "zzzz"]);
    assert_ne!(code, 0);
    assert!(err.contains("no flow or exchange matches"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = bin(empty.path(), &["export"]);
    assert_ne!(code, 0);
    assert!(err.contains("nothing to export"), "{err}");
}

#[test]
fn exported_har_reanalyses_to_the_same_annotation_codes() {
    let dir = store_with(&flow());
    let file = dir.path().join("flow.har");
    let (code, _, err) = bin(
        dir.path(),
        &["export", "--format", "har", "-o", file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let (code, live, err) = bin(dir.path(), &["flows", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let (code, again, err) = bin(dir.path(), &["analyze", file.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let codes = |s: &str| -> Vec<Vec<String>> {
        let v: Vec<Record> = serde_json::from_str(s).unwrap();
        v.iter()
            .map(|r| {
                let mut c: Vec<String> = r.annotations.iter().map(|a| a.code.clone()).collect();
                c.sort();
                c
            })
            .collect()
    };
    let (live, again) = (codes(&live), codes(&again));
    assert!(
        live.iter().any(|c| !c.is_empty()),
        "the live capture has findings"
    );
    assert_eq!(live, again);
}

/// A raw (not URL-encoded) Basic secret holding `+` and `/`, refused: the
/// findings that read the secret's characters (`client_auth.basic_not_urlencoded`,
/// the credentials diagnosis) come back the same from the redacted HAR.
#[test]
fn exported_har_keeps_the_facts_of_a_redacted_raw_basic_secret() {
    let b = base64::engine::general_purpose::STANDARD;
    let auth = format!("Basic {}", b.encode("svc-app:pa+ss/word"));
    let t = OffsetDateTime::now_utc();
    let recs = vec![rec(
        t,
        Kind::TokenRequest,
        "POST",
        "https://idp.example/oauth2/token",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        "grant_type=client_credentials&scope=api",
        401,
        &[("Content-Type", "application/json")],
        r#"{"error":"invalid_client","error_description":"Invalid client credentials"}"#,
    )];
    let dir = store_with(&recs);
    let file = dir.path().join("raw.har");
    let (code, _, err) = bin(
        dir.path(),
        &["export", "--format", "har", "-o", file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!std::fs::read_to_string(&file)
        .unwrap()
        .contains("pa+ss/word"));
    let (_, live, _) = bin(dir.path(), &["flows", "list", "--json"]);
    let (_, again, _) = bin(dir.path(), &["analyze", file.to_str().unwrap(), "--json"]);
    let facts = |s: &str| -> Vec<(String, Severity, Value)> {
        let v: Vec<Record> = serde_json::from_str(s).unwrap();
        v[0].annotations
            .iter()
            .filter(|a| {
                a.code == "client_auth.basic_not_urlencoded"
                    || a.code == "diagnosis.invalid_client_credentials"
            })
            .map(|a| {
                let chars = if a.code == "client_auth.basic_not_urlencoded" {
                    a.evidence["parts"].clone()
                } else {
                    a.evidence["secret_special_chars"].clone()
                };
                (a.code.clone(), a.severity, chars)
            })
            .collect::<Vec<_>>()
    };
    let sorted = |mut v: Vec<(String, Severity, Value)>| {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let (live, again) = (sorted(facts(&live)), sorted(facts(&again)));
    assert_eq!(live.len(), 2, "{live:?}");
    assert_eq!(live[0].0, "client_auth.basic_not_urlencoded");
    assert_eq!(live[0].1, Severity::Warning, "'+' changes when decoded");
    assert_eq!(live, again);
}

/// `stream` over a source read record by record writes exactly what
/// `render` writes over the selection held whole (same salt), in every
/// format, for the whole capture, one flow, and an arbitrary set of ids.
#[test]
fn streamed_export_equals_the_export_held_in_memory() {
    use oauthscope::cli::export::{select, stream, Filter};
    use std::collections::HashSet;
    let mut raw = flow();
    // The login again an hour later: more records than one window's worth of
    // a single flow is not needed here, two copies exercise the passes.
    let mut other = flow();
    for r in &mut other {
        r.id = new_id(r.time + time::Duration::hours(1));
        r.time += time::Duration::hours(1);
        r.flow = None;
    }
    raw.extend(other);
    let opts = AnalyzeOptions::default();
    let whole = analyze(&raw, &opts);
    let salt = [7u8; 16];
    let login = whole[2].id.clone();
    let picked: HashSet<String> = [whole[1].id.clone(), whole[whole.len() - 1].id.clone()]
        .into_iter()
        .collect();
    let mut reads = 0;
    for format in [Format::Json, Format::Har, Format::Md] {
        for (filter, expected) in [
            (Filter::default(), whole.clone()),
            (
                Filter {
                    flow: Some(login.clone()),
                    ..Filter::default()
                },
                select(whole.clone(), Some(&login), None).unwrap(),
            ),
            (
                Filter {
                    ids: Some(picked.clone()),
                    ..Filter::default()
                },
                whole
                    .iter()
                    .filter(|r| picked.contains(&r.id))
                    .cloned()
                    .collect(),
            ),
        ] {
            let want = render(&expected, format, Some(&mut Redactor::with_salt(salt)));
            let mut each = |f: &mut dyn FnMut(Record)| -> Result<(), String> {
                reads += 1;
                raw.iter().cloned().for_each(&mut *f);
                Ok(())
            };
            let mut out = Vec::new();
            let n = stream(
                &mut each,
                &opts,
                &filter,
                format,
                Some(&mut Redactor::with_salt(salt)),
                &mut out,
            )
            .unwrap();
            assert_eq!(n, expected.len(), "{format:?} {filter:?}");
            let got = String::from_utf8(out).unwrap();
            assert_eq!(got, want, "{format:?} {filter:?}");
        }
    }
    assert!(
        reads >= 9,
        "the source is read again for each pass, not held"
    );
}

/// A Markdown report of a flow longer than it shows says what it left out.
#[test]
fn markdown_of_a_long_flow_keeps_its_ends_and_says_what_it_left_out() {
    use oauthscope::cli::export::{stream, Filter, MD_FLOW_ENDS};
    let base = flow();
    let refresh = base
        .iter()
        .find(|r| r.grant_type.as_deref() == Some("refresh_token"))
        .or_else(|| base.iter().find(|r| r.kind == Kind::TokenRequest))
        .unwrap()
        .clone();
    let mut raw = Vec::new();
    let extra = 3 * MD_FLOW_ENDS;
    for i in 0..extra {
        let mut r = refresh.clone();
        r.time = refresh.time + time::Duration::seconds(i as i64 + 1);
        r.id = new_id(r.time);
        r.flow = Some("long-flow".into());
        raw.push(r);
    }
    let mut each = |f: &mut dyn FnMut(Record)| -> Result<(), String> {
        raw.iter().cloned().for_each(&mut *f);
        Ok(())
    };
    let mut out = Vec::new();
    let n = stream(
        &mut each,
        &AnalyzeOptions::default(),
        &Filter {
            stored_flows: true,
            ..Filter::default()
        },
        Format::Md,
        None,
        &mut out,
    )
    .unwrap();
    assert_eq!(n, extra);
    let md = String::from_utf8(out).unwrap();
    let left = extra - 2 * MD_FLOW_ENDS;
    assert!(
        md.contains(&format!("{left} exchanges of this flow")),
        "{}",
        &md[..md.len().min(2000)]
    );
    assert!(
        md.contains(&format!("{extra} exchanges")),
        "the header counts all"
    );
}

/// The characters a hostile capture may carry to reorder or rewrite what a
/// terminal shows: C1 controls (U+009B is a one-byte CSI) and bidirectional
/// overrides and isolates.
const HOSTILE: &[char] = &[
    '\u{85}', '\u{9b}', '\u{9d}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}',
];

fn raw_hostile(s: &str) -> Vec<char> {
    s.chars().filter(|c| HOSTILE.contains(c)).collect()
}

/// `export --format json|har` (and `analyze --json` over a hostile HAR)
/// never write C1 or bidirectional controls raw, to a pipe or to a terminal
/// (a pseudo-terminal through util-linux `script`): they leave as \uXXXX
/// escapes, so the JSON still decodes to the very same characters.
#[test]
fn json_exports_escape_c1_and_bidi_controls_and_keep_their_value() {
    let evil = "evil\u{9b}31m\u{85}\u{9d}0;t\u{7} \u{202e}exe.txt\u{202a}\u{2066}x\u{2069}";
    let t = OffsetDateTime::now_utc();
    let body = json!({"error": "invalid_grant", "error_description": evil}).to_string();
    let recs = vec![rec(
        t,
        Kind::TokenRequest,
        "POST",
        "https://idp.example/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
        400,
        &[("content-type", "application/json"), ("x-evil", evil)],
        &body,
    )];
    assert_eq!(raw_hostile(&body).len(), raw_hostile(evil).len());
    let dir = store_with(&recs);
    for format in ["json", "har"] {
        let (code, out, err) = bin(dir.path(), &["export", "--format", format, "--no-redact"]);
        assert_eq!(code, 0, "{format}: {err}");
        assert!(
            raw_hostile(&out).is_empty(),
            "{format}: raw controls in {out}"
        );
        assert!(
            out.contains("\\u202e") && out.contains("\\u009b"),
            "{format}: {out}"
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        let needle = serde_json::to_string(evil).unwrap();
        assert!(
            v.to_string().contains(&needle[1..needle.len() - 1]),
            "{format}: the value changed"
        );
    }

    // A HAR holding the characters raw (as a hostile tool would write it),
    // analysed to JSON.
    let (_, out, _) = bin(dir.path(), &["export", "--format", "har", "--no-redact"]);
    let har: Value = serde_json::from_str(&out).unwrap();
    let raw = serde_json::to_string(&har).unwrap();
    assert!(!raw_hostile(&raw).is_empty(), "serde_json writes them raw");
    let har_path = dir.path().join("hostile.har");
    std::fs::write(&har_path, &raw).unwrap();
    let (_, out, err) = bin(
        dir.path(),
        &["analyze", har_path.to_str().unwrap(), "--json"],
    );
    assert!(raw_hostile(&out).is_empty(), "analyze --json: {out} {err}");
    assert!(out.contains("\\u202e"), "{out} {err}");

    // At a terminal.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped the terminal part: util-linux `script` is not installed");
        return;
    }
    let typescript = dir.path().join("typescript");
    let cmd = format!(
        "'{}' --home '{}' export --format json --no-redact",
        env!("CARGO_BIN_EXE_oauthscope"),
        dir.path().display()
    );
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &cmd])
        .arg(&typescript)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = std::fs::read(&typescript).unwrap();
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.contains("\\u202e"), "{seen}");
    assert!(
        raw_hostile(&seen).is_empty(),
        "raw controls reached the terminal: {seen}"
    );
}

//! Redaction by meaning, not by body format (issue 16, item 2): a marker
//! secret planted in every position of every format (form, JSON, nested
//! JSON, multipart with and without a binary file part, a JSON part, query,
//! fragment, secret-named headers, Basic (raw and URL-encoded), Bearer,
//! Cookie, Set-Cookie, JWT signatures of ID tokens and client assertions,
//! form_post HTML) is in no export:
//! - a property test over the library's export renderer (HAR, JSON,
//!   Markdown; the web UI's export is the same code) and the redacted curl
//!   command, with random markers and every secret field name;
//! - one capture with every position, through the built binary: `export` in
//!   every format, `flows show --curl --redact`, and the web UI's
//!   `/export?format=` served by `oauthscope ui`.

use base64::Engine as _;
use oauthscope::analyze::{analyze, AnalyzeOptions};
use oauthscope::cli::export::{render, Format};
use oauthscope::home::Home;
use oauthscope::record::{format_id, Body, HeaderList, Kind, Record, Request, Response};
use oauthscope::redact::{Redactor, SECRET_FIELDS};
use oauthscope::store::Store;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use proptest::prelude::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use time::OffsetDateTime;

fn form_enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every encoding of `m` an output could carry it in.
fn forms(m: &str) -> Vec<String> {
    const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let b = base64::engine::general_purpose::STANDARD;
    let bu = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let json = serde_json::to_string(m).unwrap();
    let mut v = vec![
        m.to_string(),
        form_enc(m),
        utf8_percent_encode(m, NON_ALPHANUMERIC).to_string(),
        utf8_percent_encode(m, COMPONENT).to_string(),
        json[1..json.len() - 1].to_string(),
        json[1..json.len() - 1].replace('/', "\\/"),
        b.encode(m),
        bu.encode(m),
    ];
    v.sort();
    v.dedup();
    v
}

/// The markers (in any encoding) found in `out`.
fn leaks(out: &str, markers: &[String]) -> Vec<String> {
    markers
        .iter()
        .flat_map(|m| forms(m))
        .filter(|f| out.contains(f.as_str()))
        .collect()
}

fn jwt(claims: &str, sig: &[u8]) -> String {
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        b.encode(r#"{"alg":"RS256","kid":"k1"}"#),
        b.encode(claims),
        b.encode(sig)
    )
}

fn headers(h: &[(&str, String)]) -> HeaderList {
    HeaderList(h.iter().map(|(n, v)| (n.to_string(), v.clone())).collect())
}

struct Planter {
    t: OffsetDateTime,
    n: u64,
    records: Vec<Record>,
    markers: Vec<String>,
}

impl Planter {
    fn new() -> Planter {
        Planter {
            t: OffsetDateTime::now_utc() - time::Duration::minutes(5),
            n: 0,
            records: Vec::new(),
            markers: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        method: &str,
        url: String,
        req_h: &[(&str, String)],
        req_body: Vec<u8>,
        status: u16,
        resp_h: &[(&str, String)],
        resp_body: Vec<u8>,
    ) {
        self.n += 1;
        let time = self.t + time::Duration::milliseconds(self.n as i64 * 10);
        let kind = if req_body.is_empty() && method == "GET" {
            Kind::AuthorizeRequest
        } else {
            Kind::TokenRequest
        };
        self.records.push(Record {
            id: format_id(time.unix_timestamp_nanos() as u64 / 1000),
            time,
            flow: None,
            kind,
            grant_type: (kind == Kind::TokenRequest).then(|| "client_credentials".into()),
            request: Request {
                method: method.into(),
                url,
                headers: headers(req_h),
                body: Body::from_bytes(&req_body),
            },
            response: Some(Response {
                status,
                headers: headers(resp_h),
                body: Body::from_bytes(&resp_body),
            }),
            duration_ms: 3,
            error: None,
            flavour: None,
            annotations: vec![],
        });
    }

    /// Plant `m` as the value of the secret field `name` in every format.
    fn plant(&mut self, name: &str, m: &str, tag: usize) {
        self.markers.push(m.to_string());
        let form = (
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        );
        let json = ("Content-Type", "application/json".to_string());
        let ok = br#"{"access_token":"short","token_type":"Bearer"}"#.to_vec();
        let token = "https://idp.example/oauth/token".to_string();
        // Form body.
        self.push(
            "POST",
            token.clone(),
            std::slice::from_ref(&form),
            format!(
                "grant_type=client_credentials&{name}={}&scope=a",
                form_enc(m)
            )
            .into_bytes(),
            200,
            std::slice::from_ref(&json),
            ok.clone(),
        );
        // JSON body, and nested JSON in the response.
        self.push(
            "POST",
            token.clone(),
            std::slice::from_ref(&json),
            serde_json::json!({"grant_type": "client_credentials", name: m})
                .to_string()
                .into_bytes(),
            200,
            std::slice::from_ref(&json),
            serde_json::json!({"data": {"items": [{name: m}]}, "token_type": "Bearer"})
                .to_string()
                .into_bytes(),
        );
        // Multipart: text field after a binary file part, and a JSON part.
        let boundary = format!("----b{tag}");
        let mut mp = Vec::new();
        mp.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n").as_bytes(),
        );
        if tag % 2 == 0 {
            mp.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"k.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            );
            mp.extend_from_slice(&[0xff, 0xfe, 0x00, 0x80, b'\r', b'\n']);
        }
        mp.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{m}\r\n"
            )
            .as_bytes(),
        );
        mp.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{}\r\n--{boundary}--\r\n",
                serde_json::json!({"nested": {name: m}})).as_bytes(),
        );
        self.push(
            "POST",
            token.clone(),
            &[(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )],
            mp,
            200,
            std::slice::from_ref(&json),
            ok.clone(),
        );
        // Query, and the fragment of a redirect back.
        self.push(
            "GET",
            format!(
                "https://idp.example/authorize?response_type=code&client_id=app&{name}={}",
                form_enc(m)
            ),
            &[],
            Vec::new(),
            302,
            &[(
                "Location",
                format!("https://app.example/cb#{name}={}&state=s", form_enc(m)),
            )],
            Vec::new(),
        );
        // Headers: secret-named, Basic (raw and URL-encoded), Bearer, cookies.
        let b64 = base64::engine::general_purpose::STANDARD;
        for auth in [
            format!("Basic {}", b64.encode(format!("app:{m}"))),
            format!("Basic {}", b64.encode(format!("app:{}", form_enc(m)))),
            format!("Bearer {m}"),
        ] {
            self.push(
                "POST",
                token.clone(),
                &[
                    ("Authorization", auth),
                    form.clone(),
                    ("X-Api-Key", m.to_string()),
                    ("Cookie", format!("sid={m}; theme=dark")),
                ],
                b"grant_type=client_credentials".to_vec(),
                200,
                &[
                    json.clone(),
                    ("Set-Cookie", format!("sess={m}; Path=/; HttpOnly")),
                    ("X-Session-Token", m.to_string()),
                ],
                ok.clone(),
            );
        }
        // JWT signatures: an ID token in the response, a client assertion in the body.
        let sig = format!("{m}-signature-bytes").into_bytes();
        let id_token = jwt(
            r#"{"iss":"https://idp.example","sub":"alice","aud":"app"}"#,
            &sig,
        );
        let assertion = jwt(
            r#"{"iss":"app","sub":"app","aud":"https://idp.example/oauth/token"}"#,
            &sig,
        );
        self.markers
            .push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&sig));
        self.push(
            "POST",
            token.clone(),
            std::slice::from_ref(&form),
            format!(
                "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
            )
            .into_bytes(),
            200,
            std::slice::from_ref(&json),
            serde_json::json!({"access_token": "short", "id_token": id_token, "token_type": "Bearer"})
                .to_string()
                .into_bytes(),
        );
        // form_post HTML.
        self.push(
            "POST",
            token,
            &[form],
            b"grant_type=client_credentials".to_vec(),
            200,
            &[("Content-Type", "text/html".to_string())],
            format!(
                "<form method=\"post\"><input type=\"hidden\" name=\"{name}\" value=\"{}\"/></form>",
                m.replace('&', "&amp;").replace('"', "&quot;")
            )
            .into_bytes(),
        );
    }
}

/// Marker secrets: a fixed prefix (so a hit is never a coincidence) and
/// characters every encoding treats differently.
fn marker() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/=% ._~-]{10,20}".prop_map(|s| format!("Mk{s}Qz"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn markers_in_every_position_are_in_no_export(
        name in proptest::sample::select(SECRET_FIELDS.to_vec()),
        m in marker(),
        tag in 0usize..4,
    ) {
        let mut p = Planter::new();
        p.plant(name, &m, tag);
        let analysed = analyze(&p.records, &AnalyzeOptions::default());
        for format in [Format::Har, Format::Json, Format::Md] {
            let out = render(&analysed, format, Some(&mut Redactor::new()));
            let found = leaks(&out, &p.markers);
            prop_assert!(found.is_empty(), "{:?} leaks {:?} ({name})", format, found);
        }
        let redacted = Redactor::new().redact_records(&analysed);
        for r in &redacted {
            let c = oauthscope::curl::command(r);
            let found = leaks(&c, &p.markers);
            prop_assert!(found.is_empty(), "curl leaks {:?}: {c}", found);
        }
        // Unredacted, the markers are there: the test can fail.
        let raw = render(&analysed, Format::Json, None);
        prop_assert!(!leaks(&raw, &p.markers).is_empty());
    }
}

fn bin(home: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run oauthscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_path_of_the_binary_and_web_ui_hides_every_marker() {
    let mut p = Planter::new();
    for (i, name) in SECRET_FIELDS.iter().enumerate() {
        p.plant(name, &format!("Mk{i}x+s/e=c%2Fr et_{name}Qz"), i);
    }
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(&Home::new(dir.path()).store_dir()).unwrap();
        for r in &p.records {
            s.insert(r).unwrap();
        }
        s.flush().unwrap();
    }
    for format in ["har", "json", "md"] {
        let (code, out, err) = bin(dir.path(), &["export", "--all", "--format", format]);
        assert_eq!(code, 0, "{err}");
        assert!(out.len() > 1000, "{format}: {out}");
        assert_eq!(
            leaks(&out, &p.markers),
            Vec::<String>::new(),
            "export {format}"
        );
    }
    let (_, raw, _) = bin(
        dir.path(),
        &["export", "--all", "--format", "json", "--no-redact"],
    );
    assert!(
        !leaks(&raw, &p.markers).is_empty(),
        "the markers are in the capture"
    );
    for r in &p.records {
        let (code, out, err) = bin(dir.path(), &["flows", "show", &r.id, "--curl", "--redact"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            leaks(&out, &p.markers),
            Vec::<String>::new(),
            "--curl --redact: {out}"
        );
    }
    // The web UI's export, served by `oauthscope ui` over the same store.
    let mut child = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(dir.path())
        .args(["ui", "--print", "--web", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let resp = client.get(url.trim()).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let origin = url.trim().split("/?").next().unwrap().to_string();
    for format in ["har", "json", "md"] {
        let resp = client
            .get(format!("{origin}/export?format={format}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{format}");
        let out = resp.text().await.unwrap();
        assert!(out.len() > 1000, "{format}: {out}");
        assert_eq!(
            leaks(&out, &p.markers),
            Vec::<String>::new(),
            "web export {format}"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

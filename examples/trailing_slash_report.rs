//! A login that breaks on a trailing-slash `redirect_uri` mismatch, turned
//! into the Markdown bug report `oauthscope export --format md` writes.
//!
//! The app registered and sent `https://app.example/callback/` at authorize,
//! then sent `https://app.example/callback` (no slash) at the token
//! endpoint; the provider answers `invalid_grant`.
//!
//! ```sh
//! cargo run --example trailing_slash_report > report.md
//! ```
//! The output is in `docs/example-report.md`.

use base64::Engine as _;
use oauthscope::analyze::{analyze, AnalyzeOptions};
use oauthscope::cli::export::{render, Format};
use oauthscope::record::{Body, HeaderList, Kind, Record, Request, Response};
use oauthscope::redact::Redactor;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[allow(clippy::too_many_arguments)]
fn record(
    n: u64,
    time: OffsetDateTime,
    kind: Kind,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
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
    Record {
        id: format!("{:016x}", (time.unix_timestamp() as u64) * 1_000_000 + n),
        time,
        flow: None,
        kind,
        grant_type: (kind == Kind::TokenRequest).then(|| "authorization_code".to_string()),
        request: Request {
            method: method.into(),
            url: url.into(),
            headers: h(headers),
            body: Body::from_bytes(body.as_bytes()),
        },
        response: Some(Response {
            status,
            headers: h(resp_headers),
            body: Body::from_bytes(resp_body.as_bytes()),
        }),
        duration_ms: 48,
        error: None,
        flavour: None,
        annotations: vec![],
    }
}

fn main() {
    let start = datetime!(2026-11-24 18:00:00.000 UTC);
    let client_id = "shop-web";
    let client_secret = "Zx+4/q=Lm%9 secret";
    let code = "SplxlOBeZQQYbYS6WxSbIA+/=";
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    let registered = "https://app.example/callback/";
    let sent_at_token = "https://app.example/callback";

    let authorize = format!(
        "https://login.example.com/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile&state=af0ifjsldkj&code_challenge={challenge}&code_challenge_method=S256",
        enc(registered)
    );
    let callback = format!("{registered}?code={}&state=af0ifjsldkj", enc(code));
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(client_id),
            enc(client_secret)
        ))
    );
    let token_body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={verifier}",
        enc(code),
        enc(sent_at_token)
    );
    let records = vec![
        record(
            1,
            start,
            Kind::AuthorizeRequest,
            "GET",
            &authorize,
            &[("User-Agent", "Mozilla/5.0")],
            "",
            302,
            &[
                ("Location", &callback),
                (
                    "Set-Cookie",
                    "idp_session=9f8e7d6c5b4a+/=; Path=/; Secure; HttpOnly",
                ),
            ],
            "",
        ),
        record(
            2,
            start + Duration::milliseconds(2300),
            Kind::Callback,
            "GET",
            &callback,
            &[("Cookie", "app_session=s%3AaBcD.eFgH+/=")],
            "",
            302,
            &[("Location", "/account")],
            "",
        ),
        record(
            3,
            start + Duration::milliseconds(2450),
            Kind::TokenRequest,
            "POST",
            "https://login.example.com/oauth2/token",
            &[
                ("Authorization", &basic),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ],
            &token_body,
            400,
            &[
                ("Content-Type", "application/json"),
                ("Cache-Control", "no-store"),
            ],
            r#"{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}"#,
        ),
    ];

    // Analyse the raw capture first, then redact records and annotations.
    let analysed = analyze(&records, &AnalyzeOptions::default());
    let mut redactor = Redactor::new();
    print!("{}", render(&analysed, Format::Md, Some(&mut redactor)));
}

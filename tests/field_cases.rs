//! The field cases: public bug reports replayed as HAR files (see
//! `tests/fixtures/field/`). Each asserts what a good debugger shows: the
//! records captured with the right kinds and flavours, the provider's own
//! error, the diagnosis the records prove (with its evidence), and no
//! error-severity annotation that is normal provider behaviour.
//!
//! The same analysis runs through the real binary (`analyze FILE --json`)
//! for every case at the end, as a user would run it.

use oauthscope::analyze::{analyze, AnalyzeOptions};
use oauthscope::har::import;
use oauthscope::record::{Annotation, Kind, Record, Severity};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/field")
        .join(name)
}

fn run(name: &str) -> Vec<Record> {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let imported = import::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    analyze(&imported.records, &AnalyzeOptions::default())
}

fn all(recs: &[Record]) -> Vec<(&Record, &Annotation)> {
    recs.iter()
        .flat_map(|r| r.annotations.iter().map(move |a| (r, a)))
        .collect()
}

/// The one annotation with `code` (panics listing what there is otherwise).
fn one<'a>(recs: &'a [Record], code: &str) -> (&'a Record, &'a Annotation) {
    let found: Vec<_> = all(recs)
        .into_iter()
        .filter(|(_, a)| a.code == code)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{code}: expected once, have {:?}",
        all(recs).iter().map(|(_, a)| &a.code).collect::<Vec<_>>()
    );
    found[0]
}

fn has(recs: &[Record], code: &str) -> bool {
    all(recs).iter().any(|(_, a)| a.code == code)
}

/// No error-severity annotation but the provider's own `error.*` codes and `allowed`.
fn no_false_errors(recs: &[Record], allowed: &[&str]) {
    for (r, a) in all(recs) {
        if a.severity == Severity::Error {
            assert!(
                a.code.starts_with("error.") || allowed.contains(&a.code.as_str()),
                "{} on {} ({}) is an error: {}",
                a.code,
                r.id,
                r.request.url,
                a.title
            );
        }
    }
}

fn token_flavours(recs: &[Record]) -> Vec<Option<u8>> {
    recs.iter()
        .filter(|r| r.kind == Kind::TokenRequest)
        .map(|r| r.flavour.as_ref().and_then(|f| f.number))
        .collect()
}

#[test]
fn linkedin_basic_auth_rejected_is_the_method_not_the_secret() {
    let recs = run("01-linkedin-basic-auth-rejected.har");
    assert_eq!(token_flavours(&recs), [Some(1)]);
    let (tok, _) = one(&recs, "error.invalid_request");
    let (r, a) = one(&recs, "diagnosis.client_auth_method_rejected");
    assert_eq!(r.id, tok.id);
    assert_eq!(a.evidence["kinds"][0], "auth_method");
    assert_eq!(a.evidence["named_missing"], "client_secret");
    assert_eq!(a.evidence["sent_as"], "basic_urlencoded");
    // The app's own error page is not a provider error, and the secret is
    // not blamed.
    assert!(!has(&recs, "error.OAuthCallback"));
    assert!(!has(&recs, "diagnosis.invalid_client_credentials"));
    no_false_errors(&recs, &["diagnosis.client_auth_method_rejected"]);
}

#[test]
fn zoom_code_redeemed_again_is_reuse_whatever_the_error_string() {
    let recs = run("03-zoom-code-redeemed-again-for-renewal.har");
    let (_, e) = one(&recs, "error.invalid_request");
    // Zoom's text comes in `reason`.
    assert!(
        e.title.contains("Invalid authorization code")
            || e.detail.contains("Invalid authorization code")
    );
    let (r, a) = one(&recs, "diagnosis.code_reused");
    let tokens: Vec<&Record> = recs
        .iter()
        .filter(|r| r.kind == Kind::TokenRequest)
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_eq!(r.id, tokens[1].id);
    assert_eq!(a.evidence["first_exchange"], tokens[0].id.as_str());
    assert_eq!(a.evidence["first_exchange_succeeded"], true);
    no_false_errors(&recs, &["diagnosis.code_reused"]);
}

#[test]
fn strava_multipart_code_with_scope_suffix_is_captured_and_altered() {
    let recs = run("04-strava-code-with-scope-suffix.har");
    let tok = recs
        .iter()
        .find(|r| r.kind == Kind::TokenRequest)
        .expect("the multipart token request without grant_type is recorded");
    assert_eq!(tok.grant_type.as_deref(), Some("authorization_code"));
    let f = tok.flavour.as_ref().unwrap();
    assert_eq!(
        (f.client_auth.as_str(), f.body.as_str()),
        ("body", "multipart")
    );
    assert!(has(&recs, "token_request.grant_type_implied"));
    assert!(has(&recs, "token_request.multipart_body"));
    let (r, a) = one(&recs, "diagnosis.code_altered");
    assert_eq!(r.id, tok.id);
    assert_eq!(a.evidence["kinds"][0], "suffix");
    assert_eq!(a.evidence["difference"], "&scope=view_private");
    // The provider's own words, from `message` + `errors[]`.
    let (_, e) = one(&recs, "error.invalid_code");
    assert!(
        e.detail.contains("Bad Request: RequestToken code invalid"),
        "{}",
        e.detail
    );
    no_false_errors(&recs, &["diagnosis.code_altered"]);
}

#[test]
fn slack_v2_authorize_redeemed_at_v1_is_a_version_mismatch() {
    let recs = run("05-slack-v2-authorize-v1-access.har");
    let kinds: Vec<Kind> = recs.iter().map(|r| r.kind).collect();
    assert!(kinds.contains(&Kind::AuthorizeRequest), "{kinds:?}");
    assert_eq!(token_flavours(&recs), [Some(3)]);
    assert!(has(&recs, "error.hidden_in_success"));
    assert!(has(&recs, "error.oauth_authorization_url_mismatch"));
    let (_, a) = one(&recs, "diagnosis.endpoint_version_mismatch");
    assert_eq!(a.evidence["authorize_version"], "v2");
    assert_eq!(a.evidence["token_version"], "v1");
    // Slack's token endpoint does not need redirect_uri; the app's own API
    // call carrying code and state is not a callback.
    assert!(!has(&recs, "redirect_uri.missing"));
    assert!(!has(&recs, "redirect_uri.mismatch"));
    no_false_errors(&recs, &["diagnosis.endpoint_version_mismatch"]);
}

#[test]
fn entra_device_code_from_a_confidential_registration_blames_the_registration() {
    let recs = run("06-entra-device-code-confidential-registration.har");
    assert_eq!(token_flavours(&recs), [None, None, None, None]);
    assert!(has(&recs, "error.AADSTS7000218"));
    // Pending polls: info, once for the run.
    let pending: Vec<_> = all(&recs)
        .into_iter()
        .filter(|(_, a)| a.code == "error.authorization_pending")
        .collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1.severity, Severity::Info);
    assert_eq!(pending[0].1.evidence["polls"], 3);
    let (_, a) = one(&recs, "diagnosis.public_client_not_allowed");
    assert!(a.detail.contains("Allow public client flows"));
    assert!(!has(&recs, "diagnosis.invalid_client_credentials"));
    for (_, a) in all(&recs) {
        assert!(
            !a.detail.to_lowercase().contains("rotate"),
            "{}: {}",
            a.code,
            a.detail
        );
    }
    no_false_errors(&recs, &[]);
}

#[test]
fn github_device_flow_polling_too_early_shows_each_gap() {
    let recs = run("07-github-device-flow-polls-too-early.har");
    assert_eq!(token_flavours(&recs), vec![None; 8]);
    assert!(has(&recs, "error.slow_down"));
    assert!(has(&recs, "error.hidden_in_success"));
    let (_, a) = one(&recs, "diagnosis.polling_too_fast");
    let gaps = a.evidence["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 8);
    // The first poll waited the 5 s; every later one came just early,
    // against the interval slow_down raised (5, 5, 10, 15, 20, 25, 30).
    assert_eq!(gaps[0]["too_early"], false);
    let intervals: Vec<f64> = gaps
        .iter()
        .map(|g| g["interval_seconds"].as_f64().unwrap())
        .collect();
    assert_eq!(intervals, [5.0, 5.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]);
    assert_eq!(a.evidence["too_early"].as_array().unwrap().len(), 7);
    // Pending answers are summarised, never one warning per poll.
    for (_, a) in all(&recs) {
        if a.code == "error.authorization_pending" || a.code == "error.slow_down" {
            assert_eq!(a.severity, Severity::Info, "{}", a.code);
        }
    }
    assert_eq!(
        all(&recs)
            .iter()
            .filter(|(_, a)| a.code == "error.slow_down")
            .count(),
        1
    );
    no_false_errors(&recs, &[]);
}

#[test]
fn dropbox_access_type_is_another_providers_parameter() {
    let recs = run("08-dropbox-access-type-instead-of-token-access-type.har");
    assert_eq!(token_flavours(&recs), [Some(1)]);
    let (_, a) = one(&recs, "diagnosis.missing_offline_access");
    assert_eq!(a.evidence["asked_with"][0], "access_type=offline");
    assert_eq!(
        a.evidence["provider_parameter"][0],
        "token_access_type=offline"
    );
    assert!(a.title.contains("token_access_type=offline"), "{}", a.title);
    assert!(!a.title.contains("was requested"));
    // The token response's own note agrees with the diagnosis: the app did
    // not ask Dropbox for a refresh token, so none missing is not a warning.
    let (_, n) = one(&recs, "token_response.no_refresh_token");
    assert_eq!(n.severity, Severity::Info, "{}", n.title);
    assert!(n.title.contains("does not read"), "{}", n.title);
    assert_eq!(n.evidence["asked_for_offline"], false);
    no_false_errors(&recs, &[]);
}

#[test]
fn auth0_code_grant_not_enabled_is_read_from_the_authorize_leg() {
    let recs = run("12-auth0-code-grant-not-enabled.har");
    let (_, e) = one(&recs, "error.unauthorized_client");
    assert!(!e.title.contains("HTTP"), "{}", e.title);
    let (r, a) = one(&recs, "diagnosis.grant_type_not_enabled");
    assert_eq!(r.kind, Kind::AuthorizeRequest);
    assert_eq!(a.evidence["response_type"], "code");
    assert_eq!(a.evidence["grant_type"], "authorization_code");
    assert!(!has(&recs, "diagnosis.access_denied"));
    no_false_errors(&recs, &["diagnosis.grant_type_not_enabled"]);
}

#[test]
fn intuit_access_token_sent_as_refresh_token_names_its_issuer() {
    let recs = run("14-intuit-access-token-sent-as-refresh-token.har");
    assert_eq!(token_flavours(&recs), [Some(1), Some(1)]);
    assert!(has(&recs, "error.invalid_grant"));
    let tokens: Vec<&Record> = recs
        .iter()
        .filter(|r| r.kind == Kind::TokenRequest)
        .collect();
    let (r, a) = one(&recs, "diagnosis.token_kind_swapped");
    assert_eq!(r.id, tokens[1].id);
    assert_eq!(a.evidence["issued_by"], tokens[0].id.as_str());
    assert_eq!(a.evidence["issued_field"], "response.body.access_token");
    assert_eq!(a.evidence["sent_as"], "refresh_token");
    assert!(!has(&recs, "diagnosis.refresh_token_reused"));
    assert!(!has(&recs, "diagnosis.undetermined"));
    // realmId is Intuit's addition to the redirect, not the app's redirect_uri.
    assert!(!has(&recs, "redirect_uri.mismatch"));
    no_false_errors(&recs, &["diagnosis.token_kind_swapped"]);
}

#[test]
fn two_tabs_second_login_overwrites_the_state_cookie() {
    let recs = run("18-two-tabs-second-login-overwrites-state.har");
    let cb = recs
        .iter()
        .find(|r| r.kind == Kind::Callback)
        .expect("the form_post callback with an id_token and no code is a callback");
    assert_eq!(cb.request.method, "POST");
    let authorizes: Vec<&Record> = recs
        .iter()
        .filter(|r| r.kind == Kind::AuthorizeRequest)
        .collect();
    assert_eq!(authorizes.len(), 2);
    // The app's own redirects to the provider are not authorization responses.
    assert!(!recs.iter().any(|r| r.kind == Kind::AuthorizationResponse));
    let (r, a) = one(&recs, "diagnosis.concurrent_logins");
    assert_eq!(r.id, cb.id);
    assert_eq!(a.evidence["cookie"], "_state");
    assert_eq!(
        a.evidence["authorize_requests"],
        Value::from(vec![authorizes[0].id.clone(), authorizes[1].id.clone()])
    );
    assert!(!has(&recs, "state.mismatch"));
    // The ID token was checked (its nonce is the first login's: no mismatch).
    assert!(!has(&recs, "jwt.nonce_mismatch"));
    assert!(
        has(&recs, "jwt.expired")
            || !all(&recs)
                .iter()
                .any(|(_, a)| a.code.starts_with("jwt.malformed"))
    );
    no_false_errors(&recs, &["diagnosis.concurrent_logins", "jwt.expired"]);
}

/// Every case through the real binary, as a user runs it: JSON out, exit 0.
#[test]
fn the_binary_reads_every_field_case() {
    let home = tempfile::tempdir().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/field");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("har") {
            continue;
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
            .arg("--home")
            .arg(home.path())
            .args(["analyze", "--json"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let recs = v.as_array().unwrap();
        assert!(
            recs.iter().any(|r| r["annotations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["code"].as_str().unwrap().starts_with("diagnosis."))),
            "{}: no diagnosis",
            path.display()
        );
        n += 1;
    }
    assert_eq!(n, 15);
}

/// Case 20: the secret's ID (a GUID) sent as the secret. The cause is
/// checked on the secret's shape (never its value) and is an error because
/// the records support it; the app's own error page is not a provider error.
#[test]
fn entra_secret_id_sent_as_secret_is_checked_by_shape() {
    let recs = run("20-entra-secret-id-sent-as-secret.har");
    assert_eq!(token_flavours(&recs), [Some(1)]);
    assert!(has(&recs, "error.AADSTS7000215"));
    let (_, d) = one(&recs, "diagnosis.invalid_client_credentials");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.evidence["kinds"][0], "secret_id");
    let causes = d.evidence["causes"].as_array().unwrap();
    let secret_id = causes.iter().find(|c| c["cause"] == "secret_id").unwrap();
    assert_eq!(secret_id["verdict"], "supported");
    assert_eq!(secret_id["evidence"]["secret_shape"], "guid");
    // The secret's value is nowhere in the diagnosis.
    assert!(!d
        .evidence
        .to_string()
        .contains("c1dc014a-f491-411c-ad8c-12546064c099"));
    for c in [
        "error.OAuthCallback",
        "redirect_uri.mismatch",
        "client_auth.basic_not_urlencoded",
    ] {
        assert!(!has(&recs, c), "{c}");
    }
    no_false_errors(&recs, &["diagnosis.invalid_client_credentials"]);
}

/// Case 22: the provider refuses on its own error page, reached by redirect;
/// the login started over https and the redirect_uri says http.
#[test]
fn google_error_page_and_the_https_to_http_downgrade() {
    let recs = run("22-google-redirect-uri-http-behind-tls-proxy.har");
    let page = recs
        .iter()
        .find(|r| r.kind == Kind::ProviderPage)
        .expect("the provider's error page is recorded");
    assert!(page.request.url.contains("/signin/oauth/error"));
    let (r, e) = one(&recs, "error.redirect_uri_mismatch");
    assert_eq!(r.id, page.id);
    assert_eq!(e.evidence["source"], "html");
    let (_, d) = one(&recs, "diagnosis.redirect_uri_scheme_downgrade");
    assert_eq!(
        d.evidence["redirect_uri"],
        "http://shop.example.com/login/check-google"
    );
    assert!(d.evidence["https_url"]
        .as_str()
        .unwrap()
        .starts_with("https://shop.example.com"));
    // One login: the login start, the authorize request and the error page.
    assert!(recs.iter().all(|r| r.flow == recs[0].flow));
    assert!(!has(&recs, "state.mismatch"));
    assert!(
        !has(&recs, "diagnosis.redirect_uri_mismatch"),
        "the downgrade is the cause"
    );
    no_false_errors(&recs, &["diagnosis.redirect_uri_scheme_downgrade"]);
}

/// Case 25: the same code redeemed twice in milliseconds; the `/` a browser
/// writes for an empty path is no mismatch, and a JSON body that succeeded
/// is not a warning.
#[test]
fn double_exchange_is_reuse_and_the_capture_refutes_the_rest() {
    let recs = run("25-auth0-react18-strictmode-double-code-exchange.har");
    let (r, d) = one(&recs, "diagnosis.code_reused");
    assert_eq!(r.kind, Kind::TokenRequest);
    assert_eq!(d.severity, Severity::Error);
    for c in [
        "redirect_uri.mismatch",
        "token_request.json_body",
        "diagnosis.code_expired",
        "pkce.mismatch",
        "state.mismatch",
    ] {
        assert!(!has(&recs, c), "{c}");
    }
    no_false_errors(&recs, &["diagnosis.code_reused"]);
}

/// Case 27: the callback named the data centre; the code was redeemed at
/// the default one. No "rotate the secret" at error.
#[test]
fn zoho_code_redeemed_at_another_data_centre() {
    let recs = run("27-zoho-code-redeemed-at-wrong-data-center.har");
    assert_eq!(token_flavours(&recs), [Some(3)]);
    assert!(has(&recs, "error.hidden_in_success"));
    let (_, d) = one(&recs, "diagnosis.token_endpoint_region_mismatch");
    assert_eq!(d.evidence["param"], "accounts-server");
    assert_eq!(d.evidence["named_host"], "accounts.zoho.eu");
    assert_eq!(d.evidence["token_host"], "accounts.zoho.com");
    assert!(all(&recs)
        .iter()
        .all(|(_, a)| !(a.code == "diagnosis.invalid_client_credentials"
            && a.severity == Severity::Error)));
    no_false_errors(&recs, &["diagnosis.token_endpoint_region_mismatch"]);
}

/// Case 30: the consent answered by XHR with a JSON `location`; one login,
/// the callback recognised, the redirect_uri only in the token request named.
#[test]
fn discord_json_location_is_followed_into_one_login() {
    let recs = run("30-discord-redirect-uri-only-in-token-request.har");
    let flows: std::collections::BTreeSet<_> = recs.iter().map(|r| r.flow.clone()).collect();
    assert_eq!(flows.len(), 1, "one login, not {}", flows.len());
    assert!(recs.iter().any(|r| r.kind == Kind::Callback));
    assert_eq!(token_flavours(&recs), [Some(3)]);
    let (r, a) = one(&recs, "redirect_uri.token_only");
    assert_eq!(r.kind, Kind::TokenRequest);
    assert_eq!(
        a.evidence["actual"],
        "http://localhost:3000/api/discord-callback"
    );
    for c in [
        "redirect_uri.missing",
        "diagnosis.code_reused",
        "diagnosis.code_expired",
        "diagnosis.invalid_client_credentials",
    ] {
        assert!(!has(&recs, c), "{c}");
    }
    // Every failure gets a diagnosis: the one the token request's own
    // finding names.
    let (_, d) = one(&recs, "diagnosis.redirect_uri_mismatch");
    assert_eq!(d.evidence["finding"], "redirect_uri.token_only");
    no_false_errors(
        &recs,
        &["redirect_uri.token_only", "diagnosis.redirect_uri_mismatch"],
    );
}

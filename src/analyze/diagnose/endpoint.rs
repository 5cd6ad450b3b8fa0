//! Diagnoses about the endpoint and the client rather than one grant:
//! `diagnosis.token_url_not_found`, `diagnosis.invalid_client_credentials`,
//! `diagnosis.grant_type_not_enabled` and `diagnosis.silent_auth_failed`.

use super::{authorize_for, authorize_params, basic_credentials, grant_type, provider, Failure};
use crate::analyze::login::Login;
use crate::analyze::params::{self, BodyFormat};
use crate::analyze::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Annotation, Kind, Record};
use serde_json::json;

/// Grant types the token endpoint standardly knows (RFC 6749, 7523, 8628, 8693).
pub const KNOWN_GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:openid:params:grant-type:ciba",
];

/// Diagnose endpoint, client and silent-login failures in `records`.
pub fn diagnose(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        match rec.kind {
            Kind::TokenRequest => {
                if let Some(a) = token_url_not_found(records, i) {
                    out.push(Finding::new(i, a));
                    continue;
                }
                let f = Failure::of(rec);
                if let Some(a) = invalid_client_credentials(login, i, &f) {
                    out.push(Finding::new(i, a));
                } else if let Some(a) = super::client_grant::check(login, i, &f) {
                    out.push(Finding::new(i, a));
                } else if let Some(a) = grant_type_not_enabled(rec, &f) {
                    out.push(Finding::new(i, a));
                }
            }
            Kind::AuthorizationResponse | Kind::Callback => {
                if let Some(a) = silent_auth_failed(login, i) {
                    out.push(Finding::new(i, a));
                }
            }
            _ => {}
        }
    }
    out
}

fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

fn token_url_not_found(records: &[Record], i: usize) -> Option<Annotation> {
    let rec = &records[i];
    let resp = rec.response.as_ref()?;
    let html = || {
        resp.headers
            .get("content-type")
            .is_some_and(|c| c.to_ascii_lowercase().contains("html"))
            || resp
                .body
                .as_text()
                .is_some_and(|t| t.trim_start().starts_with('<'))
    };
    if !(resp.status == 404 || (resp.status == 405 && html())) {
        return None;
    }
    let url = without_query(&rec.request.url);
    let host = rec.url().and_then(|u| u.host_str().map(str::to_string));
    // The discovery document for this host (else the latest one captured).
    let discovered: Vec<(&Record, String)> = records
        .iter()
        .filter(|r| r.kind == Kind::Discovery)
        .filter_map(|r| {
            let te = params::response_json(r)?
                .get("token_endpoint")?
                .as_str()?
                .to_string();
            Some((r, te))
        })
        .collect();
    let disc = discovered
        .iter()
        .rev()
        .find(|(r, te)| {
            let h = |s: &str| {
                url::Url::parse(s)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
            };
            h(te) == host || r.url().and_then(|u| u.host_str().map(str::to_string)) == host
        })
        .or(discovered.last());
    let suggestion = match disc {
        Some((d, te)) if te != url => format!(
            " The discovery document (record {}) names the token endpoint {te}; use that.",
            d.id
        ),
        Some((d, _)) => format!(
            " It is the token_endpoint of the discovery document (record {}), so the server itself may be \
             misrouted (a reverse proxy, a wrong realm or tenant in the base URL).",
            d.id
        ),
        None => " Take the token_endpoint from the provider's discovery document \
                  (/.well-known/openid-configuration) instead of building the URL by hand."
            .to_string(),
    };
    Some(code::DIAGNOSIS_TOKEN_URL_NOT_FOUND.annotation(
format!(
            "POST {url} returned HTTP {}{}, so nothing handles token requests there: a typo, a missing path \
             segment (tenant, realm, /v2.0, /oauth2), or the authorize URL used as the token URL.{suggestion}",
            resp.status,
            if resp.status == 405 { " with an HTML page" } else { "" },
        ),
json!({
            "token_request": rec.id,
            "status": resp.status,
            "url": url,
            "discovery": disc.map(|(d, _)| d.id.clone()),
            "discovered_token_endpoint": disc.map(|(_, te)| te.clone()),
            "fields": ["request.url", "response.status"],
        }),
).about(format!("it answered {}", resp.status)))
}

/// Characters of `secret` that `application/x-www-form-urlencoded` changes.
fn encoding_sensitive_chars(secret: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in secret.chars() {
        let s = c.to_string();
        let enc: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        if enc != s && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn invalid_client_credentials(login: &Login, i: usize, f: &Failure) -> Option<Annotation> {
    let rec = &login.records[i];
    let status = f.status.unwrap_or(0);
    let creds_unauthorized = f.has(&["unauthorized_client"]).is_some()
        && (status == 401 || f.says(&["client credentials", "invalid client"]).is_some());
    let code = f
        .has(&[
            "invalid_client",
            "invalid_client_credentials",
            "invalid_client_id",
            "incorrect_client_credentials",
            "bad_client_id",
            "bad_client_secret",
        ])
        .map(str::to_string)
        .or_else(|| creds_unauthorized.then(|| "unauthorized_client".to_string()))
        .or_else(|| {
            f.has_aadsts(&[7000215, 700016, 7000222])
                .map(|n| format!("AADSTS{n}"))
        })
        .or_else(|| (status == 401 && f.codes.is_empty()).then(|| "HTTP 401".to_string()))?;
    let prov = provider(&rec.request.url);
    let p = params::request_params(rec);
    let basic = basic_credentials(rec);
    let secret = params::get(&p, "client_secret")
        .map(str::to_string)
        .or_else(|| basic.as_ref().map(|b| b.1.clone()));
    // A secret an export redacted is the redaction's marker, not its shape.
    let special = secret
        .as_deref()
        .map(|s| crate::redact::kept_characters(s).unwrap_or(s))
        .map(encoding_sensitive_chars)
        .unwrap_or_default();
    let not_urlencoded = rec
        .annotations
        .iter()
        .any(|a| a.code == "client_auth.basic_not_urlencoded");
    let flavour = rec.flavour.as_ref();
    let mut tips: Vec<String> = Vec::new();
    if let Some(n) = f.has_aadsts(&[7000215]) {
        tips.push(format!("AADSTS{n}: the secret is wrong; a common slip is pasting the secret's ID instead of its Value"));
    }
    if let Some(n) = f.has_aadsts(&[7000222]) {
        tips.push(format!(
            "AADSTS{n}: the client secret expired; create a new one"
        ));
    }
    if let Some(n) = f.has_aadsts(&[700016]) {
        tips.push(format!("AADSTS{n}: no application with this client_id in the tenant; check the client_id and the tenant in the URL"));
    }
    if f.has(&["invalid_client_id"]).is_some() && prov == Some("salesforce") {
        tips.push("Salesforce invalid_client_id: the consumer key is unknown here; a sandbox key sent to login.salesforce.com (or the reverse), or a connected app created minutes ago".into());
    }
    if code == "unauthorized_client" && grant_type(rec).as_deref() == Some("refresh_token") {
        tips.push("on a refresh, this also means the refresh token was issued to a different client_id than the one refreshing (Google)".into());
    }
    if f.says(&["OAuth client was not found"]).is_some() {
        tips.push(
            "Google: the client_id is unknown (typo, deleted client, trailing whitespace)".into(),
        );
    }
    if !special.is_empty() {
        tips.push(format!(
            "the secret holds characters that URL-encoding changes ({}): servers that form-decode Basic credentials \
             (RFC 6749 §2.3.1) and servers that compare them raw disagree about it{}",
            special.join(" "),
            if not_urlencoded { "; this request sent them raw (client_auth.basic_not_urlencoded)" } else { "" }
        ));
    }
    let token_url = crate::analyze::params::absolutize(&rec.request.url, "");
    let token_url = without_query(&token_url).to_string();
    let client_id = params::get(&p, "client_id")
        .map(str::to_string)
        .or_else(|| basic.as_ref().map(|b| b.0.clone()));
    let probe = format!(
        "oauthscope probe --token-url {token_url} --client-id {} --client-secret '…'",
        client_id.as_deref().unwrap_or("ID")
    );
    let assessment = super::causes::assess(login, i, f, super::invalid_client::CAUSES);
    let severity = if assessment.any_supported() {
        crate::record::Severity::Error
    } else {
        // No record supports a cause: say what was checked, at warning;
        // "check or rotate the secret" needs evidence (issue 17, rule 8).
        crate::record::Severity::Warning
    };
    let mut kinds = assessment.supported();
    kinds.dedup();
    let about = match assessment.supported_texts().first() {
        Some(_) => format!("{code}: {}", kinds.join(", ").replace('_', " ")),
        None => format!("{code}: cause not settled by the capture"),
    };
    Some(code::DIAGNOSIS_INVALID_CLIENT_CREDENTIALS.annotation(
format!(
            "The token endpoint did not accept the client_id/secret{}. {} Check the values against the app \
             registration (right app, right environment){}. To find which way of \
             sending them the provider accepts, run `{probe}`.",
            flavour
                .map(|fl| format!(
                    " sent as {}{} ",
                    fl.client_auth,
                    fl.number.map(|n| format!(" (flavour {n})")).unwrap_or_default()
                ))
                .unwrap_or_default(),
            assessment.summary(),
            if tips.is_empty() { String::new() } else { format!("; {}", tips.join("; ")) },
        ),
json!({
            "kinds": kinds,
            "causes": assessment.to_json(),
            "token_request": rec.id,
            "error": f.to_json(),
            "flavour": flavour,
            "client_id": client_id,
            "secret_sent": secret.is_some(),
            "secret_special_chars": special,
            "basic_not_urlencoded": not_urlencoded,
            "provider": prov,
            "probe": probe,
            "fields": ["request.headers.authorization", "request.body.client_id", "request.body.client_secret", "response.body.error"],
        }),
).about(about).with_severity(severity))
}

fn grant_type_not_enabled(rec: &Record, f: &Failure) -> Option<Annotation> {
    let code = f
        .has(&[
            "unsupported_grant_type",
            "unauthorized_client",
            "bad_grant_type",
        ])?
        .to_string();
    // The server did not read the body (it says a parameter the JSON or
    // multipart body holds is missing): the body format is the cause,
    // token_request.json_body / multipart_body says so, not the registration.
    if crate::analyze::refute::body_not_read(rec).is_some() {
        return None;
    }
    let grant = grant_type(rec);
    // A grant_type encoded twice is token_request.grant_type_encoded_twice:
    // the server never saw the grant the client meant.
    if grant
        .as_deref()
        .is_some_and(crate::analyze::flavour::encoded_twice)
    {
        return None;
    }
    let format = params::body_format(&rec.request.headers, &rec.request.body);
    let known = grant
        .as_deref()
        .is_some_and(|g| KNOWN_GRANT_TYPES.contains(&g));
    let mut notes = Vec::new();
    if grant.is_none() {
        notes.push("the server did not find a grant_type in the body (parameters must be in a form body, not the query)".to_string());
    } else if !known {
        notes.push(format!(
            "{:?} is not a standard grant type; check its spelling",
            grant.as_deref().unwrap_or("")
        ));
    }
    if format == BodyFormat::Json && code.eq_ignore_ascii_case("unsupported_grant_type") {
        notes.push("the body is JSON: some providers (Discord) answer unsupported_grant_type when they cannot parse a non-form body; send application/x-www-form-urlencoded".to_string());
    }
    let g = grant.clone().unwrap_or_else(|| "(none)".into());
    Some(code::DIAGNOSIS_GRANT_TYPE_NOT_ENABLED.annotation(
format!(
            "{code} answers a grant the client may not use: enable the \"{g}\" grant type in the app's \
             registration (Okta grant types, Auth0 application type and grants, Entra public/confidential client \
             settings), or use the grant the app is set up for.{}",
            if notes.is_empty() { String::new() } else { format!(" Also: {}.", notes.join("; ")) }
        ),
json!({
            "token_request": rec.id,
            "error": f.to_json(),
            "grant_type": grant,
            "standard_grant_type": known,
            "body_format": format.as_str(),
            "fields": ["request.body.grant_type", "response.body.error"],
        }),
).about(format!("{g} ({code})")))
}

const SILENT_ERRORS: &[&str] = &[
    "login_required",
    "consent_required",
    "interaction_required",
    "account_selection_required",
];

fn silent_auth_failed(login: &Login, i: usize) -> Option<Annotation> {
    let records = login.records;
    let rec = &records[i];
    let f = Failure::of(rec);
    let code = f.has(SILENT_ERRORS)?.to_string();
    let authorize = authorize_for(login, i)?;
    let ap = authorize_params(login, authorize);
    let prompt = params::get(&ap, "prompt")?;
    if !prompt.split(' ').any(|p| p == "none") {
        return None;
    }
    // Once per login: a callback repeating the authorization response's error is not new.
    let state = super::delivered_state(rec);
    if rec.kind == Kind::Callback
        && records[..i].iter().enumerate().any(|(j, r)| {
            r.kind == Kind::AuthorizationResponse
                && super::delivered_state(r) == state
                && authorize_for(login, j) == Some(authorize)
                && Failure::of(r).has(&[code.as_str()]).is_some()
        })
    {
        return None;
    }
    Some(code::DIAGNOSIS_SILENT_AUTH_FAILED.annotation(
format!(
            "The authorize request (record {}) asked for no interaction (prompt=none), and the provider answered \
             {code}: it cannot complete without the user (no session, consent or MFA needed, or several accounts). \
             This is expected, not a misconfiguration: fall back to an interactive login (without prompt=none).{}",
            records[authorize].id,
            if code == "login_required" {
                " Silent renewals in an iframe also fail this way when the browser blocks third-party cookies."
            } else {
                ""
            }
        ),
json!({
            "record": rec.id,
            "authorize_request": records[authorize].id,
            "prompt": prompt,
            "error": f.to_json(),
            "fields": ["authorize.query.prompt", "location.error"],
        }),
).about(code))
}

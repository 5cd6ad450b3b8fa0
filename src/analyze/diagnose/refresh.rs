//! Refresh-token diagnoses: `diagnosis.refresh_token_reused` (a rotated
//! refresh token sent again, or the first refresh failing right after the
//! code exchange issued the token), `diagnosis.missing_offline_access` (no
//! refresh token issued because none was asked for), and
//! `diagnosis.undetermined` for refresh failures the capture cannot explain.

use super::{
    authorize_for, authorize_params, code_deliveries, fingerprint, grant_type, provider,
    response_params, token_client_id, token_succeeded, Failure,
};
use crate::analyze::login::Login;
use crate::analyze::params;
use crate::analyze::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Kind, Record, Severity};
use serde_json::json;

/// Errors that mean "this refresh token is not valid (any more)".
const REFRESH_ERRORS: &[&str] = &["invalid_grant", "bad_refresh_token", "invalid_token"];

/// Diagnose refresh failures and missing refresh tokens in `records`.
pub fn diagnose(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        if rec.kind != Kind::TokenRequest {
            continue;
        }
        match grant_type(rec).as_deref() {
            Some("refresh_token") => out.extend(refresh_failure(records, i)),
            Some("authorization_code") => out.extend(missing_offline_access(login, i)),
            _ => {}
        }
    }
    out
}

fn sent_refresh_token(rec: &Record) -> Option<String> {
    params::get(&params::request_params(rec), "refresh_token")
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

fn issued_refresh_token(rec: &Record) -> Option<String> {
    if !token_succeeded(rec) {
        return None;
    }
    params::get(&response_params(rec), "refresh_token")
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

fn is_refresh_failure(f: &Failure) -> bool {
    f.has(REFRESH_ERRORS).is_some()
        || f.has_aadsts(&[70008, 700082, 700084, 50173, 70043])
            .is_some()
}

fn refresh_failure(records: &[Record], i: usize) -> Option<Finding> {
    let rec = &records[i];
    let failure = Failure::of(rec);
    if !is_refresh_failure(&failure) {
        return None;
    }
    let sent = sent_refresh_token(rec)?;
    let prov = provider(&rec.request.url);
    // Earlier refreshes that sent the same token.
    let earlier: Vec<usize> = (0..i)
        .filter(|&j| {
            let r = &records[j];
            r.kind == Kind::TokenRequest
                && grant_type(r).as_deref() == Some("refresh_token")
                && sent_refresh_token(r).as_deref() == Some(sent.as_str())
        })
        .collect();
    // (a) Rotation: an earlier refresh with this token succeeded and issued another one.
    if let Some((j, new)) = earlier.iter().find_map(|&j| {
        issued_refresh_token(&records[j])
            .filter(|n| *n != sent)
            .map(|n| (j, n))
    }) {
        let first = &records[j];
        let new_used_by: Vec<String> = records
            .iter()
            .filter(|r| {
                r.kind == Kind::TokenRequest
                    && sent_refresh_token(r).as_deref() == Some(new.as_str())
            })
            .map(|r| r.id.clone())
            .collect();
        let entra_note = if prov == Some("entra") {
            " (Entra ID does not revoke a used refresh token, so with Entra this is less likely; check the error code too)"
        } else {
            ""
        };
        return Some(Finding::new(
            i,
            code::DIAGNOSIS_REFRESH_TOKEN_REUSED.annotation(
format!(
                    "Record {} already refreshed with this token and got a new refresh token back; the provider \
                     then invalidated the old one (rotation, RFC 6749 §6){entra_note}. Store the refresh token from \
                     every refresh response, replacing the old one, and serialise refreshes so two workers do not \
                     race with the same token.",
                    first.id
                ),
json!({
                    "refresh_request": rec.id,
                    "error": failure.to_json(),
                    "pattern": "rotation",
                    "earlier_refresh": first.id,
                    "refresh_token": fingerprint(&sent),
                    "rotated_to": fingerprint(&new),
                    "rotated_token_used_by": new_used_by,
                    "provider": prov,
                    "fields": ["request.body.refresh_token", "response.body.refresh_token"],
                }),
),
        ));
    }
    // (b) The first refresh with a token a good code exchange just issued.
    let issuer = (0..i).rev().find(|&j| {
        let r = &records[j];
        r.kind == Kind::TokenRequest
            && grant_type(r).as_deref() == Some("authorization_code")
            && issued_refresh_token(r).as_deref() == Some(sent.as_str())
    });
    if let (Some(x), true) = (issuer, earlier.is_empty()) {
        let exch = &records[x];
        let age = (rec.time - exch.time).whole_seconds();
        let sf = prov == Some("salesforce");
        return Some(Finding::new(
            i,
            code::DIAGNOSIS_REFRESH_TOKEN_REUSED.annotation(
format!(
                    "Record {} issued this refresh token and this is its first use, yet the provider refused it. \
                     The token was expired or revoked by policy as soon as it was issued: {}. The same failure \
                     follows when another client already used and rotated this token outside the capture.",
                    exch.id,
                    if sf {
                        "this is Salesforce's \"Immediately expire refresh token\" policy; in Setup → App Manager → \
                         the connected app → Manage → Edit Policies, set Refresh Token Policy to \"Refresh token is \
                         valid until revoked\" or an expiry window"
                    } else {
                        "check the app's refresh-token policy (Salesforce connected app: Refresh Token Policy \
                         \"Immediately expire refresh token\"; Entra: Conditional Access sign-in frequency; Google: \
                         an app in Testing mode), and make it keep refresh tokens valid"
                    }
                ),
json!({
                    "refresh_request": rec.id,
                    "error": failure.to_json(),
                    "pattern": "first_refresh_failed",
                    "issued_by": exch.id,
                    "refresh_token_age_seconds": age,
                    "refresh_token": fingerprint(&sent),
                    "provider": prov,
                    "fields": ["request.body.refresh_token", "issued_by.response.body.refresh_token"],
                }),
).about(format!("the first refresh failed {age} s after the code exchange issued it")),
        ));
    }
    // Nothing supports a cause: say what could not be checked.
    let issued_anywhere =
        (0..i).any(|j| issued_refresh_token(&records[j]).as_deref() == Some(sent.as_str()));
    let mut unchecked = vec![];
    if !issued_anywhere {
        unchecked.push(json!({
            "cause": "refresh_token_reused",
            "why": "the refresh token was not issued in this capture: its origin, age and earlier uses are unknown",
        }));
    } else {
        unchecked.push(json!({
            "cause": "refresh_token_reused",
            "why": "the token was used before without rotation, so reuse after rotation is ruled out",
        }));
    }
    let hint = failure
        .says(&["Token has been expired or revoked"])
        .map(|_| "Google: a Testing-mode app's refresh tokens expire after 7 days; the user may have revoked access; unused for 6 months; the per-user token limit was exceeded")
        .or_else(|| failure.says(&["expired access/refresh token"]).map(|_| "Salesforce: refresh token policy window elapsed, more than 5 grants per user and app, admin revoke or password reset"))
        .or_else(|| failure.has_aadsts(&[700082]).map(|_| "Entra ID: the refresh token expired after 90 days of inactivity"))
        .or_else(|| failure.has_aadsts(&[700084]).map(|_| "Entra ID: single-page-app refresh tokens live 24 h"))
        .or_else(|| failure.has_aadsts(&[50173]).map(|_| "Entra ID: the grant was revoked (sessions revoked or password changed)"))
        .or_else(|| failure.has_aadsts(&[70043]).map(|_| "Entra ID: Conditional Access sign-in frequency expired the token"));
    unchecked.push(json!({
        "cause": "expired_or_revoked",
        "why": "lifetime, inactivity and revocation are decided by the provider and are not visible on the wire",
    }));
    Some(Finding::new(
        i,
        code::DIAGNOSIS_UNDETERMINED.annotation(
format!(
                "The refresh token was refused, and the captured records support no specific cause.{} \
                 Usual causes: the token expired (inactivity or a fixed lifetime), was revoked (user, admin, \
                 password change), was rotated by another client, or belongs to another client_id. Start a new \
                 login to get a fresh refresh token.",
                hint.map(|h| format!(" The provider's message points at: {h}.")).unwrap_or_default()
            ),
json!({
                "refresh_request": rec.id,
                "error": failure.to_json(),
                "refresh_token": fingerprint(&sent),
                "provider_hint": hint,
                "unchecked": unchecked,
            }),
).about(super::undetermined_about(rec, &failure, "The refresh", &[])),
    ))
}

fn missing_offline_access(login: &Login, i: usize) -> Option<Finding> {
    let records = login.records;
    let rec = &records[i];
    if !token_succeeded(rec) || issued_refresh_token(rec).is_some() {
        return None;
    }
    let profile = crate::providers::of_url(&rec.request.url);
    let prov = profile.map(|p| p.id);
    let offline = profile
        .map(|p| p.offline)
        .unwrap_or(crate::providers::GENERIC_OFFLINE);
    let crate::providers::Offline::Ask(own) = offline else {
        // Refresh tokens there come without asking, or from an app setting
        // (GitHub expiring tokens, Slack rotation): no authorize parameter to blame.
        return None;
    };
    let code = params::get(&params::request_params(rec), "code")?.to_string();
    let authorize = code_deliveries(records, &code, i)
        .iter()
        .find_map(|&d| authorize_for(login, d))?;
    let ap = authorize_params(login, authorize);
    let scope = params::get(&ap, "scope").unwrap_or("");
    let access_type = params::get(&ap, "access_type");
    let (asked, foreign) = crate::providers::offline_asks(offline, &ap);
    if !asked.is_empty() {
        return None;
    }
    let wanted: Vec<String> = own.iter().map(|(n, v)| format!("{n}={v}")).collect();
    // A refresh attempted later that failed: same flow, or same client with a token not issued here.
    let client = token_client_id(rec).map(|c| c.0);
    let later_failure = records[i + 1..].iter().find(|r| {
        let same_client_untracked = || {
            let sent = sent_refresh_token(r);
            client.is_some()
                && token_client_id(r).map(|c| c.0) == client
                && !records
                    .iter()
                    .any(|x| sent.is_some() && issued_refresh_token(x) == sent)
        };
        r.kind == Kind::TokenRequest
            && grant_type(r).as_deref() == Some("refresh_token")
            && !token_succeeded(r)
            && (r.flow == rec.flow || same_client_untracked())
    });
    let name = profile.map(|p| p.name);
    let how = match prov {
        Some("google") => "add access_type=offline (and prompt=consent, since Google returns a refresh token only on the consent screen) to the authorize request".to_string(),
        Some("salesforce") => "add the refresh_token (or offline_access) scope to the authorize request and to the connected app's selected scopes".to_string(),
        Some(_) => format!("add {} to the authorize request", wanted.join(" or ")),
        None => "add the offline_access scope to the authorize request (Google: access_type=offline and prompt=consent; Dropbox: token_access_type=offline), and allow it for the app".to_string(),
    };
    let foreign_text = if foreign.is_empty() {
        String::new()
    } else {
        format!(
            " It sent {}, which {} does not read{}.",
            foreign.join(" and "),
            name.unwrap_or("this provider"),
            if wanted.is_empty() {
                String::new()
            } else {
                format!(": its parameter is {}", wanted.join(" or "))
            }
        )
    };
    Some(Finding::new(
        i,
        code::DIAGNOSIS_MISSING_OFFLINE_ACCESS.annotation(
format!(
                "The code exchange succeeded without a refresh_token, and the authorize request (record {}) did not \
                 ask for offline access the way {} expects.{foreign_text} Without a refresh token the app must send \
                 the user through login again when the access token expires{}. If the app needs to refresh: {how}.",
                records[authorize].id,
                name.unwrap_or("the provider"),
                later_failure
                    .map(|r| format!("; record {} tried to refresh and failed", r.id))
                    .unwrap_or_default()
            ),
json!({
                "token_request": rec.id,
                "authorize_request": records[authorize].id,
                "scope": scope,
                "access_type": access_type,
                "asked_with": foreign,
                "provider_parameter": wanted,
                "failed_refresh": later_failure.map(|r| r.id.clone()),
                "provider": prov,
                "fields": ["authorize.query.scope", "authorize.query.access_type", "response.body.refresh_token"],
            }),
).about(match name {
                Some(n) if !foreign.is_empty() => format!(
                    "{} asks {n} nothing ({n} wants {})",
                    foreign.join(" and "),
                    wanted.join(" or ")
                ),
                Some(n) => format!("{n} wants {}", wanted.join(" or ")),
                None => "the login did not ask for it".to_string(),
            }).with_severity(if later_failure.is_some() { Severity::Warning } else { Severity::Info }),
    ))
}

//! Refresh-token diagnoses. A refused refresh has its [`CAUSES`] checked
//! against the records: `diagnosis.refresh_token_reused` (a rotated refresh
//! token sent again, or the first refresh failing right after the code
//! exchange issued the token), `diagnosis.client_id_mismatch` (issued to
//! another client), `diagnosis.refresh_token_expired` (the provider says it
//! expired or was revoked), `diagnosis.undetermined` otherwise.
//! `diagnosis.missing_offline_access`: no refresh token issued because none
//! was asked for.

use super::causes::{assess, Cause, Verdict};
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
            Some("refresh_token") => out.extend(refresh_failure(login, i)),
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

/// Every cause of a refused refresh token that the records can speak to,
/// in the order they headline when equally supported.
///
/// Sources: RFC 6749 §6 and §10.4 (rotation), OAuth 2.0 Security BCP
/// (RFC 9700) §4.14.2 (refresh token rotation and reuse detection);
/// Salesforce "Manage OAuth Access Policies for a Connected App" (Refresh
/// Token Policy: immediately expire, expire after N hours/days/months, valid
/// until revoked; at most 5 grants per user and app); Microsoft identity
/// platform error codes (AADSTS700082 inactive 90 days, 700084 SPA 24 h,
/// 70043 sign-in frequency, 50173 grant revoked); Google OAuth 2.0
/// "Refresh token expiration" (Testing-mode apps: 7 days).
pub const CAUSES: &[Cause] = &[
    Cause {
        name: "rotation",
        what: "the token had been rotated by an earlier refresh",
        check: rotation,
    },
    Cause {
        name: "other_client",
        what: "the token was issued to another client",
        check: other_client,
    },
    Cause {
        name: "immediate_expiry",
        what: "the provider's policy expires refresh tokens as soon as they are issued",
        check: immediate_expiry,
    },
    Cause {
        name: "expired",
        what: "the token's lifetime or inactivity window ran out",
        check: expired,
    },
    Cause {
        name: "revoked",
        what: "the grant was revoked (by the user, an admin, or a password change)",
        check: revoked,
    },
];

/// Below this age a refused first use cannot be an expiry window that the
/// provider lets an admin set: Salesforce's shortest is one hour.
const IMMEDIATE_EXPIRY_MAX_AGE_SECS: i64 = 3600;

/// Earlier refreshes (before record `i`) that sent the token `sent`.
fn earlier_uses(records: &[Record], i: usize, sent: &str) -> Vec<usize> {
    (0..i)
        .filter(|&j| {
            let r = &records[j];
            r.kind == Kind::TokenRequest
                && grant_type(r).as_deref() == Some("refresh_token")
                && sent_refresh_token(r).as_deref() == Some(sent)
        })
        .collect()
}

/// The latest record before `i` whose successful response issued `sent`.
fn issued_by(records: &[Record], i: usize, sent: &str) -> Option<usize> {
    (0..i).rev().find(|&j| {
        records[j].kind == Kind::TokenRequest
            && issued_refresh_token(&records[j]).as_deref() == Some(sent)
    })
}

fn rotation(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let records = login.records;
    let Some(sent) = sent_refresh_token(&records[i]) else {
        return Verdict::NotApplicable;
    };
    let earlier = earlier_uses(records, i, &sent);
    if let Some((j, new)) = earlier.iter().find_map(|&j| {
        issued_refresh_token(&records[j])
            .filter(|n| *n != sent)
            .map(|n| (j, n))
    }) {
        let new_used_by: Vec<String> = records
            .iter()
            .filter(|r| {
                r.kind == Kind::TokenRequest
                    && sent_refresh_token(r).as_deref() == Some(new.as_str())
            })
            .map(|r| r.id.clone())
            .collect();
        let entra_note = if provider(&records[i].request.url) == Some("entra") {
            " (Entra ID does not revoke a used refresh token, so with Entra this is less likely; check the error code too)"
        } else {
            ""
        };
        return Verdict::Supported(
            format!(
                "record {} already refreshed with this token and got a new refresh token back; the provider then \
                 invalidated the old one (rotation, RFC 6749 §6){entra_note}",
                records[j].id
            ),
            json!({
                "pattern": "rotation",
                "earlier_refresh": records[j].id,
                "rotated_to": fingerprint(&new),
                "rotated_token_used_by": new_used_by,
            }),
        );
    }
    if let Some(&j) = earlier.iter().find(|&&j| token_succeeded(&records[j])) {
        return Verdict::RuledOut(
            format!(
                "record {} refreshed with this token and got no new one back: this provider does not rotate it",
                records[j].id
            ),
            json!({"earlier_refresh": records[j].id}),
        );
    }
    Verdict::CannotTell(
        "no earlier use of this token is in the capture; another process or instance of the app may have \
         refreshed with it and kept the new one"
            .into(),
    )
}

fn immediate_expiry(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let records = login.records;
    let rec = &records[i];
    let Some(sent) = sent_refresh_token(rec) else {
        return Verdict::NotApplicable;
    };
    let Some(x) = issued_by(records, i, &sent) else {
        return Verdict::CannotTell(
            "the token was not issued in this capture: its age is unknown".into(),
        );
    };
    if let Some(&j) = earlier_uses(records, i, &sent)
        .iter()
        .find(|&&j| token_succeeded(&records[j]))
    {
        return Verdict::RuledOut(
            format!(
                "record {} refreshed with this token successfully",
                records[j].id
            ),
            json!({"earlier_refresh": records[j].id}),
        );
    }
    let age = (rec.time - records[x].time).whole_seconds();
    let ev = json!({
        "pattern": "first_refresh_failed",
        "issued_by": records[x].id,
        "refresh_token_age_seconds": age,
    });
    if age <= IMMEDIATE_EXPIRY_MAX_AGE_SECS {
        let how = if provider(&rec.request.url) == Some("salesforce") {
            "Salesforce's \"Immediately expire refresh token\" policy; in Setup → App Manager → the connected app → \
             Manage → Edit Policies, set Refresh Token Policy to \"Refresh token is valid until revoked\" or an expiry \
             window"
        } else {
            "check the app's refresh-token policy (Salesforce connected app: Refresh Token Policy \"Immediately expire \
             refresh token\"; Keycloak: SSO Session Idle/Max and Client Session Idle; Entra: Conditional Access \
             sign-in frequency; Google: an app in Testing mode) and make it keep refresh tokens valid"
        };
        Verdict::Supported(
            format!(
                "record {} issued this refresh token {age} s earlier and this first use was refused: it was expired or \
                 revoked by policy as soon as it was issued ({how})",
                records[x].id
            ),
            ev,
        )
    } else {
        Verdict::CannotTell(format!(
            "this first use came {age} s after record {} issued the token: an expiry window as short as that \
             looks the same on the wire",
            records[x].id
        ))
    }
}

fn other_client(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let records = login.records;
    let rec = &records[i];
    let Some(sent) = sent_refresh_token(rec) else {
        return Verdict::NotApplicable;
    };
    let Some(x) = issued_by(records, i, &sent) else {
        return Verdict::NotApplicable;
    };
    let (Some(now), Some(then)) = (token_client_id(rec), token_client_id(&records[x])) else {
        return Verdict::NotApplicable;
    };
    let ev = json!({"issued_by": records[x].id, "client_id": now.0, "issued_to": then.0});
    if now.0 == then.0 {
        Verdict::RuledOut(
            format!("record {} issued it to the same client_id", records[x].id),
            ev,
        )
    } else {
        Verdict::Supported(
            format!(
                "record {} issued it to client_id {} and this refresh sent client_id {} (RFC 6749 §6: the refresh \
                 token is bound to the client it was issued to)",
                records[x].id, then.0, now.0
            ),
            ev,
        )
    }
}

/// The provider's words, when they name expiry alone ("expired or revoked"
/// names both and settles neither).
fn says_expired(f: &Failure) -> Option<String> {
    if f.says(&["expired or revoked"]).is_some() {
        return None;
    }
    f.says(&[
        "expired",
        "is not active",
        "inactive",
        "session not active",
        "too old",
    ])
}

fn expired(login: &Login, i: usize, f: &Failure) -> Verdict {
    let records = login.records;
    let ev = json!({"error": f.to_json()});
    if let Some(n) = f.has_aadsts(&[700082, 700084, 70043]) {
        let why = match n {
            700082 => "AADSTS700082: unused for 90 days",
            700084 => "AADSTS700084: a single-page app's refresh tokens live 24 h",
            _ => "AADSTS70043: Conditional Access sign-in frequency ran out",
        };
        return Verdict::Supported(format!("the provider said {why}"), ev);
    }
    let age = sent_refresh_token(&records[i])
        .and_then(|t| issued_by(records, i, &t))
        .map(|x| (records[i].time - records[x].time).whole_seconds());
    let aged = age
        .map(|a| format!(" (the token was {a} s old)"))
        .unwrap_or_default();
    if let Some(words) = says_expired(f) {
        return Verdict::Supported(format!("the provider's words: \"{words}\"{aged}"), ev);
    }
    Verdict::CannotTell(format!(
        "lifetimes and inactivity windows are the provider's settings and are not on the wire{aged}"
    ))
}

fn revoked(_login: &Login, _i: usize, f: &Failure) -> Verdict {
    if let Some(n) = f.has_aadsts(&[50173]) {
        return Verdict::Supported(
            format!("the provider said AADSTS{n}: the grant was revoked (sessions revoked or password changed)"),
            json!({"error": f.to_json()}),
        );
    }
    if f.says(&["expired or revoked"]).is_none() {
        if let Some(words) = f.says(&["revoked"]) {
            return Verdict::Supported(
                format!("the provider's words: \"{words}\""),
                json!({"error": f.to_json()}),
            );
        }
    }
    Verdict::CannotTell(
        "a revocation (user, admin, password change) is not visible on the wire".into(),
    )
}

/// What the provider's message points at, for an undetermined refusal.
fn provider_hint(f: &Failure) -> Option<&'static str> {
    f.says(&["Token has been expired or revoked"])
        .map(|_| "Google: a Testing-mode app's refresh tokens expire after 7 days; the user may have revoked access; unused for 6 months; the per-user token limit was exceeded")
        .or_else(|| f.says(&["expired access/refresh token"]).map(|_| "Salesforce: refresh token policy window elapsed, more than 5 grants per user and app, admin revoke or password reset"))
        .or_else(|| f.has_aadsts(&[700082]).map(|_| "Entra ID: the refresh token expired after 90 days of inactivity"))
        .or_else(|| f.has_aadsts(&[700084]).map(|_| "Entra ID: single-page-app refresh tokens live 24 h"))
        .or_else(|| f.has_aadsts(&[50173]).map(|_| "Entra ID: the grant was revoked (sessions revoked or password changed)"))
        .or_else(|| f.has_aadsts(&[70043]).map(|_| "Entra ID: Conditional Access sign-in frequency expired the token"))
}

/// A refused refresh: every cause of [`CAUSES`] checked; the finding is the
/// most supported one's (`refresh_token_reused` for rotation and immediate
/// expiry, as DESIGN names them; `client_id_mismatch`; `refresh_token_expired`
/// at warning, since tokens expiring is the provider working as configured),
/// or `undetermined` with every verdict.
fn refresh_failure(login: &Login, i: usize) -> Option<Finding> {
    let records = login.records;
    let rec = &records[i];
    let failure = Failure::of(rec);
    if !is_refresh_failure(&failure) {
        return None;
    }
    let sent = sent_refresh_token(rec)?;
    let prov = provider(&rec.request.url);
    let a = assess(login, i, &failure, CAUSES);
    let kinds = a.supported();
    let top = a
        .verdicts
        .iter()
        .find(|(_, v)| matches!(v, Verdict::Supported(..)));
    let mut evidence = json!({
        "refresh_request": rec.id,
        "error": failure.to_json(),
        "refresh_token": fingerprint(&sent),
        "provider": prov,
        "kinds": kinds,
        "causes": a.to_json(),
        "fields": ["request.body.refresh_token", "issued_by.response.body.refresh_token"],
    });
    let Some((cause, Verdict::Supported(text, ev))) = top else {
        let hint = provider_hint(&failure);
        evidence["provider_hint"] = json!(hint);
        return Some(Finding::new(
            i,
            code::DIAGNOSIS_UNDETERMINED
                .annotation(
                    format!(
                        "The refresh token was refused, and the captured records support no specific cause.{} {} \
                         Start a new login to get a fresh refresh token.",
                        hint.map(|h| format!(" The provider's message points at: {h}.")).unwrap_or_default(),
                        a.summary()
                    ),
                    evidence,
                )
                .about(super::undetermined_about(rec, &failure, "The refresh", &[])),
        ));
    };
    if let Some(o) = ev.as_object() {
        for (k, v) in o {
            evidence[k] = v.clone();
        }
    }
    let others = a.summary_except(cause.name);
    let (ann, about) = match cause.name {
        "rotation" => (
            code::DIAGNOSIS_REFRESH_TOKEN_REUSED.annotation(
                format!(
                    "{}. Store the refresh token from every refresh response, replacing the old one, and serialise \
                     refreshes so two workers do not race with the same token. {others}",
                    capitalise(text)
                ),
                evidence,
            ),
            None,
        ),
        "immediate_expiry" => {
            let age = ev["refresh_token_age_seconds"].as_i64().unwrap_or_default();
            (
                code::DIAGNOSIS_REFRESH_TOKEN_REUSED.annotation(
                    format!(
                        "{}. The same failure follows when another client already used and rotated this token \
                         outside the capture. {others}",
                        capitalise(text)
                    ),
                    evidence,
                ),
                Some(format!("the first refresh failed {age} s after the code exchange issued it")),
            )
        }
        "other_client" => (
            code::DIAGNOSIS_CLIENT_ID_MISMATCH.annotation(
                format!(
                    "{}. Refresh with the client that got the token. {others}",
                    capitalise(text)
                ),
                evidence,
            ),
            Some("the refresh token belongs to another client".to_string()),
        ),
        _ => (
            code::DIAGNOSIS_REFRESH_TOKEN_EXPIRED.annotation(
                format!(
                    "{}. This is the provider enforcing its refresh-token lifetime, not a request the app got wrong: \
                     send the user through the login again, and if tokens die sooner than the app needs, lengthen \
                     the provider's refresh-token policy{}. {others}",
                    capitalise(text),
                    provider_hint(&failure)
                        .map(|h| format!(" ({h})"))
                        .unwrap_or_default()
                ),
                evidence,
            ),
            Some(kinds.join(", ")),
        ),
    };
    let ann = match about {
        Some(t) => ann.about(t),
        None => ann,
    };
    Some(Finding::new(i, ann))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
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
    let later_at = records[i + 1..].iter().position(|r| {
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
    let later_at = later_at.map(|k| i + 1 + k);
    let later_failure = later_at.map(|k| &records[k]);
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
    // On the failed refresh when there is one (the failure it explains),
    // else on the code exchange that came back without a refresh token.
    Some(Finding::new(
        later_at.unwrap_or(i),
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

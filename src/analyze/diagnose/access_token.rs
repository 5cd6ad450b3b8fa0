//! `diagnosis.access_token_rejected`: a resource server (an API) refused a
//! bearer token with an RFC 6750 §3 challenge (`invalid_token`,
//! `insufficient_scope`), and the records say why.
//!
//! An access token is part of the login's story: the API call joins the
//! login that issued the token (`correlate`), and each cause is checked
//! against the records ([`super::causes`]): the token's age against the
//! `expires_in` of the response that issued it (RFC 6749 §5.1) and the
//! `exp` claim of a JWT access token (RFC 9068 §2.2) at the API's own `Date`;
//! the resource server's own words (`error_description`: "expired", "not
//! active", "audience"); scopes asked against the challenge's `scope`.

use super::causes::{Cause, Verdict};
use super::Failure;
use crate::analyze::jose::decode_unverified;
use crate::analyze::login::{IssuedKind, Login};
use crate::analyze::params;
use crate::analyze::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Kind, Record, Severity};
use serde_json::json;
use time::OffsetDateTime;

/// The causes of a refused access token.
pub const CAUSES: &[Cause] = &[
    Cause {
        name: "expired",
        what: "the access token had expired",
        check: expired,
    },
    Cause {
        name: "audience",
        what: "the token was issued for another API (audience)",
        check: audience,
    },
    Cause {
        name: "scope",
        what: "the token lacks a scope the API requires",
        check: scope,
    },
    Cause {
        name: "not_from_this_login",
        what: "the token was not issued in this capture",
        check: foreign,
    },
];

/// The bearer (or DPoP) token a request sent.
pub fn sent_token(rec: &Record) -> Option<String> {
    let v = rec.request.headers.get("authorization")?.trim();
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop"))
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// When the resource server judged: its `Date`, else the request's time.
fn judged_at(rec: &Record) -> OffsetDateTime {
    rec.response
        .as_ref()
        .and_then(|r| r.headers.get("date"))
        .and_then(|d| {
            time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc2822).ok()
        })
        .unwrap_or(rec.time)
}

fn expired(login: &Login, i: usize, f: &Failure) -> Verdict {
    let rec = &login.records[i];
    let Some(token) = sent_token(rec) else {
        return Verdict::NotApplicable;
    };
    let at = judged_at(rec);
    // A JWT access token's own exp (RFC 9068 §2.2).
    if let Some(exp) = decode_unverified(&token)
        .ok()
        .and_then(|d| d.claims.get("exp").and_then(|v| v.as_i64()))
        .and_then(|e| OffsetDateTime::from_unix_timestamp(e).ok())
    {
        let late = (at - exp).whole_seconds();
        return if late >= 0 {
            Verdict::Supported(
                format!("the token's exp passed {late} s before the API judged it"),
                json!({"exp": exp.unix_timestamp(), "judged_at": at.unix_timestamp(), "field": "request.headers.authorization (exp)"}),
            )
        } else {
            Verdict::RuledOut(
                format!("the token's exp was still {} s ahead", -late),
                json!({"exp": exp.unix_timestamp(), "judged_at": at.unix_timestamp()}),
            )
        };
    }
    // The issuing response's expires_in.
    if let Some(issued) = login
        .issuers(&token, i)
        .into_iter()
        .find(|x| x.kind == IssuedKind::AccessToken)
    {
        let resp = super::response_params(&login.records[issued.record]);
        if let Some(ttl) =
            params::get(&resp, "expires_in").and_then(|v| v.trim().parse::<i64>().ok())
        {
            let age = (at - issued.at).whole_seconds();
            let ev = json!({
                "issued_by": login.records[issued.record].id,
                "expires_in": ttl,
                "age_seconds": age,
                "fields": ["response.body.expires_in", "time"],
            });
            return if age >= ttl {
                Verdict::Supported(
                    format!(
                        "record {} issued it with expires_in={ttl}; it was {age} s old",
                        login.records[issued.record].id
                    ),
                    ev,
                )
            } else if f.says(&["expired", "not active", "inactive"]).is_some() {
                Verdict::Supported(
                    format!(
                        "the API says so although the token was {age} s old of {ttl}: a clock \
                         off, a shorter lifetime at the API, or the session behind it ended"
                    ),
                    ev,
                )
            } else {
                Verdict::RuledOut(format!("it was {age} s old of its {ttl} s"), ev)
            };
        }
    }
    match f.says(&["expired", "not active", "inactive"]) {
        Some(d) => Verdict::Supported(
            format!("the API says: \"{d}\""),
            json!({"error": f.to_json()}),
        ),
        None => Verdict::CannotTell("the token's lifetime is not in the capture".into()),
    }
}

fn audience(_login: &Login, _i: usize, f: &Failure) -> Verdict {
    match f.says(&["audience", "aud claim", "aud "]) {
        Some(d) => Verdict::Supported(
            format!("the API says: \"{d}\""),
            json!({"error": f.to_json()}),
        ),
        None => Verdict::NotApplicable,
    }
}

fn scope(_login: &Login, _i: usize, f: &Failure) -> Verdict {
    match f.has(&["insufficient_scope"]) {
        Some(_) => Verdict::Supported(
            "the API answered insufficient_scope (RFC 6750 §3.1)".into(),
            json!({"error": f.to_json()}),
        ),
        None => Verdict::NotApplicable,
    }
}

fn foreign(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let Some(token) = sent_token(&login.records[i]) else {
        return Verdict::NotApplicable;
    };
    if login.issuers(&token, i).is_empty() {
        Verdict::CannotTell(
            "the token was not issued in this capture: its lifetime and audience come from \
             elsewhere"
                .into(),
        )
    } else {
        Verdict::NotApplicable
    }
}

/// Findings over one login.
pub fn diagnose(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, rec) in login.records.iter().enumerate() {
        if !matches!(rec.kind, Kind::ResourceRequest | Kind::Userinfo) {
            continue;
        }
        let f = Failure::of(rec);
        if f.has(&["invalid_token", "insufficient_scope"]).is_none() {
            continue;
        }
        let a = super::causes::assess(login, i, &f, CAUSES);
        let kinds = a.supported();
        let severity = if kinds.is_empty() {
            Severity::Warning
        } else {
            Severity::Error
        };
        let fix = match kinds.first().copied() {
            Some("expired") => "Refresh the access token before it expires (use the refresh token, or start a new login) and retry; check expires_in, not only the HTTP status.",
            Some("audience") => "Ask for a token for this API: the audience/resource parameter (Auth0 `audience`, Entra scope `api://.../.default`, RFC 8707 `resource`) must name it.",
            Some("scope") => "Ask for the scope the API names in its challenge at the authorize request, and consent to it.",
            _ => "Check the token's lifetime, audience and scopes against what the API expects.",
        };
        out.push(Finding::new(
            i,
            code::DIAGNOSIS_ACCESS_TOKEN_REJECTED
                .annotation(
                    format!(
                        "The API refused the access token with {} (RFC 6750 §3.1). {} {fix}",
                        f.main_code(),
                        a.summary()
                    ),
                    json!({
                        "kinds": kinds,
                        "causes": a.to_json(),
                        "record": rec.id,
                        "error": f.to_json(),
                        "fields": ["request.headers.authorization", "response.headers.www-authenticate"],
                    }),
                )
                .about(if kinds.is_empty() {
                    f.main_code()
                } else {
                    kinds.join(", ")
                })
                .with_severity(severity),
        ));
    }
    out
}

//! No silent failure: every failure of a login gets a diagnosis.
//!
//! Runs after every other diagnosis of the login. A record that carries an
//! error-severity finding of the first pass (the provider's own error, a
//! refusal on its page, an API's challenge) and no diagnosis yet gets one:
//! the diagnosis the first pass's own findings on it support (a
//! `redirect_uri`, `pkce` or `client_id` finding names its cause), else
//! `diagnosis.undetermined` quoting the provider's words and naming what
//! was looked at. Normal protocol states (`authorization_pending`,
//! `slow_down`, a silent login's `login_required`) are info, not failures.

use super::Failure;
use crate::analyze::login::Login;
use crate::analyze::Finding;
use crate::catalog::annotations as code;
use crate::record::{Kind, Severity};
use serde_json::json;
use std::collections::HashSet;

/// First-pass findings that name the cause of a failure on the same record,
/// and the diagnosis they make.
const NAMED_CAUSES: &[(&str, code::Code)] = &[
    (
        "redirect_uri.token_only",
        code::DIAGNOSIS_REDIRECT_URI_MISMATCH,
    ),
    (
        "redirect_uri.mismatch",
        code::DIAGNOSIS_REDIRECT_URI_MISMATCH,
    ),
    (
        "redirect_uri.missing",
        code::DIAGNOSIS_REDIRECT_URI_MISMATCH,
    ),
    ("pkce.mismatch", code::DIAGNOSIS_PKCE_MISMATCH),
    ("pkce.verifier_missing", code::DIAGNOSIS_PKCE_MISMATCH),
    ("client_id.mismatch", code::DIAGNOSIS_CLIENT_ID_MISMATCH),
];

/// Diagnoses for the failures `found` left without one.
pub fn diagnose(login: &Login, found: &[Finding]) -> Vec<Finding> {
    let diagnosed: HashSet<usize> = found.iter().map(|f| f.record).collect();
    let mut out = Vec::new();
    for (i, rec) in login.records.iter().enumerate() {
        if diagnosed.contains(&i) || rec.kind == Kind::Callback {
            continue;
        }
        // Another record of this login already diagnosed for the same
        // failure (a callback repeating a redirect's error) is enough.
        let failing = rec.annotations.iter().any(|a| {
            a.severity == Severity::Error
                && (a.code.starts_with("error.") || a.code.starts_with("authorize."))
        });
        if !failing {
            continue;
        }
        let f = Failure::of(rec);
        if let Some((a, c)) = rec.annotations.iter().find_map(|a| {
            NAMED_CAUSES
                .iter()
                .find(|(n, _)| *n == a.code)
                .map(|(_, c)| (a, *c))
        }) {
            let mut evidence = a.evidence.clone();
            if let Some(o) = evidence.as_object_mut() {
                let kinds = o
                    .get("kinds")
                    .cloned()
                    .unwrap_or_else(|| json!([a.code.rsplit('.').next().unwrap_or("")]));
                o.insert("kinds".into(), kinds);
                o.insert("finding".into(), json!(a.code));
                o.insert("error".into(), f.to_json());
            }
            out.push(Finding::new(
                i,
                c.annotation(
                    format!(
                        "The provider refused this request ({}) and the request shows the cause: \
                         {} — {}",
                        f.main_code(),
                        a.title,
                        a.detail
                    ),
                    evidence,
                )
                .about(a.code.clone()),
            ));
            continue;
        }
        if f.is_empty() {
            continue;
        }
        out.push(Finding::new(
            i,
            code::DIAGNOSIS_UNDETERMINED
                .annotation(
                    format!(
                        "The provider refused this {} with {}{}. None of the causes oauthscope \
                         checks for it is shown by the records; the provider's words are the best \
                         lead.",
                        rec.kind.as_str().replace('_', " "),
                        f.main_code(),
                        f.descriptions
                            .first()
                            .map(|d| format!(": \"{d}\""))
                            .unwrap_or_default()
                    ),
                    json!({
                        "record": rec.id,
                        "error": f.to_json(),
                        "fields": ["response"],
                    }),
                )
                .about(format!("{} failed with {}", rec.kind, f.main_code())),
        ));
    }
    out
}

//! Rule family `errors`: find OAuth errors wherever providers put them and
//! explain them from the catalog (`error.<code>`, `error.hidden_in_success`).
//!
//! [`extract`] is the shared, pure entry point other rules (notably
//! [`super::diagnose`]) use to ask "which error did this exchange carry?".

use super::params;
use super::{AnalyzeOptions, Finding};
use crate::record::Record;

/// Where in an exchange an error was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// A JSON response body (`{"error": ...}`), any status.
    JsonBody,
    /// A form-encoded response body (`error=...`, GitHub's default).
    FormBody,
    /// The `Location` of a 3xx authorization response (query or fragment).
    Location,
    /// The callback request's own query or form body.
    Callback,
    /// A `WWW-Authenticate` response header (RFC 6750).
    WwwAuthenticate,
    /// A provider's HTML error page.
    Html,
}

/// One OAuth error seen in an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenError {
    /// The error code as sent (`invalid_grant`, `AADSTS70008`, `IP_RESTRICTED`, `bad_verification_code`).
    pub code: String,
    /// `error_description` or the provider's message, if any.
    pub description: Option<String>,
    /// Where it was found.
    pub source: ErrorSource,
    /// True when the HTTP status was 2xx (GitHub / Slack style).
    pub in_success: bool,
}

/// Every OAuth error carried by `rec` (response body, `Location`, callback
/// parameters). Pure; never fails.
pub fn extract(rec: &Record) -> Vec<SeenError> {
    let mut out = Vec::new();
    let status = rec.response.as_ref().map(|r| r.status).unwrap_or(0);
    let in_success = (200..300).contains(&status);
    if let Some(json) = params::response_json(rec) {
        if let Some(code) = json.get("error").and_then(|v| v.as_str()) {
            out.push(SeenError {
                code: code.to_string(),
                description: json
                    .get("error_description")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                source: ErrorSource::JsonBody,
                in_success,
            });
        }
    }
    let loc = params::location_params(rec);
    if let Some(code) = params::get(&loc, "error") {
        out.push(SeenError {
            code: code.to_string(),
            description: params::get(&loc, "error_description").map(str::to_string),
            source: ErrorSource::Location,
            in_success: false,
        });
    }
    if rec.kind == crate::record::Kind::Callback {
        let p = params::request_params(rec);
        if let Some(code) = params::get(&p, "error") {
            out.push(SeenError {
                code: code.to_string(),
                description: params::get(&p, "error_description").map(str::to_string),
                source: ErrorSource::Callback,
                in_success: false,
            });
        }
    }
    out
}

/// Findings of this rule family over records in time order.
pub fn annotate(_records: &[Record], _opts: &AnalyzeOptions) -> Vec<Finding> {
    Vec::new()
}

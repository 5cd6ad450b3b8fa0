//! `diagnosis.token_endpoint_region_mismatch`: the authorization response
//! named the server to use (a data centre, a region, a tenant's own host)
//! and the client redeemed the code somewhere else.
//!
//! Providers with regional data centres send the browser back with the
//! host that holds the account: Zoho adds `location=eu` and
//! `accounts-server=https://accounts.zoho.eu` to the redirect back ("make
//! the token request to the accounts-server the callback names", Zoho
//! Accounts, Multi-DC support); Shopify adds `shop=NAME.myshopify.com`, the
//! only host that can redeem the code. A code redeemed at another host of the
//! same provider is unknown there: `invalid_client`, `invalid_code` or
//! `invalid_grant`, often in an HTTP 200. The check reads only the records:
//! a parameter of the delivery that carried the code whose value names a
//! host (a URL or a bare host name), that host differing from the token
//! request's, both hosts sharing a distinctive label (`zoho`, `myshopify`).

use super::causes::Verdict;
use super::Failure;
use crate::analyze::login::{Delivery, Login};
use crate::analyze::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use serde_json::json;

/// Labels too common to tie two hosts to one provider.
const GENERIC_LABELS: &[&str] = &[
    "www",
    "accounts",
    "account",
    "login",
    "auth",
    "oauth",
    "oauth2",
    "api",
    "id",
    "sso",
    "secure",
    "app",
    "apps",
    "com",
    "net",
    "org",
    "co",
    "io",
    "localhost",
];

/// Delivered parameters that never name the server to redeem at.
const NOT_A_SERVER: &[&str] = &[
    "code",
    "state",
    "iss",
    "redirect_uri",
    "id_token",
    "access_token",
    "session_state",
    "error_uri",
    "scope",
];

/// The host a delivery told the client to use, with the parameter that
/// named it: `(param, value, host)`.
pub fn named_host(d: &Delivery) -> Option<(String, String, String)> {
    d.params.iter().find_map(|(k, v)| {
        if NOT_A_SERVER.contains(&k.as_str()) {
            return None;
        }
        host_in(v).map(|h| (k.clone(), v.clone(), h))
    })
}

/// The host a value names: an http(s) URL's host, or a bare DNS name with
/// at least two labels.
fn host_in(v: &str) -> Option<String> {
    let v = v.trim();
    if let Ok(u) = url::Url::parse(v) {
        if matches!(u.scheme(), "http" | "https") {
            return u.host_str().map(str::to_ascii_lowercase);
        }
        return None;
    }
    let bare = v.len() <= 253
        && v.contains('.')
        && !v.starts_with('.')
        && !v.ends_with('.')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && v.chars().any(|c| c.is_ascii_alphabetic());
    bare.then(|| v.to_ascii_lowercase())
}

/// True when two hosts share a label that names a provider (not a TLD, not
/// a generic word): `accounts.zoho.eu` / `accounts.zoho.com`.
fn same_provider(a: &str, b: &str) -> bool {
    let labels = |h: &str| -> Vec<String> {
        let parts: Vec<&str> = h.split('.').collect();
        let n = parts.len().saturating_sub(1);
        parts[..n]
            .iter()
            .filter(|l| l.len() >= 3 && !GENERIC_LABELS.contains(l))
            .map(|l| l.to_string())
            .collect()
    };
    let la = labels(a);
    labels(b).iter().any(|l| la.contains(l))
}

/// The check, as a cause of a failed token request `i` (see
/// [`super::causes`]): supported when the delivery of the code sent named
/// another host of the same provider, ruled out when it named this one.
pub fn check(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let Some(ex) = login.exchange(i) else {
        return Verdict::NotApplicable;
    };
    let Some(sent) = ex.get("code") else {
        return Verdict::NotApplicable;
    };
    let Some(token_host) = url::Url::parse(&login.records[i].request.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    else {
        return Verdict::NotApplicable;
    };
    let Some((_, d)) = login
        .delivered_codes(i)
        .into_iter()
        .rev()
        .find(|(c, _)| *c == sent)
    else {
        return Verdict::CannotTell(
            "the delivery of this code is not in the capture, so which server it named is unknown"
                .into(),
        );
    };
    let Some((param, value, named)) = named_host(d) else {
        return Verdict::NotApplicable;
    };
    let ev = json!({
        "delivery_record": login.records[d.record].id,
        "param": param,
        "named": value,
        "named_host": named,
        "token_request": login.records[i].id,
        "token_host": token_host,
        "fields": [format!("location.{param}"), "request.url"],
    });
    if named == token_host {
        Verdict::RuledOut(
            format!("the code was redeemed at {named}, the host `{param}` named"),
            ev,
        )
    } else if same_provider(&named, &token_host) {
        Verdict::Supported(
            format!(
                "the authorization response (record {}) named `{param}={value}`, but the code was \
                 redeemed at {token_host} (record {})",
                login.records[d.record].id, login.records[i].id
            ),
            ev,
        )
    } else {
        Verdict::NotApplicable
    }
}

/// `diagnosis.token_endpoint_region_mismatch` on every failed token request
/// whose code the provider told the client to redeem at another host.
pub fn diagnose(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    for ex in login.exchanges.iter().filter(|e| !e.succeeded) {
        let i = ex.record;
        if let Verdict::Supported(text, ev) = check(login, i, &ex.failure) {
            let named = ev["named_host"].as_str().unwrap_or_default().to_string();
            let used = ev["token_host"].as_str().unwrap_or_default().to_string();
            out.push(Finding::new(
                i,
                code::DIAGNOSIS_TOKEN_ENDPOINT_REGION_MISMATCH
                    .annotation(
                        format!(
                            "{text}. The provider keeps the account (and its codes) on the server \
                             it named; any other host of the provider does not know the code or \
                             the client there, whatever the error says ({}). Redeem the code at \
                             the token endpoint of {named} (take the host from the callback, do \
                             not hard-code one data centre).",
                            if ex.failure.is_empty() {
                                "no error code".to_string()
                            } else {
                                ex.failure.main_code()
                            }
                        ),
                        ev,
                    )
                    .about(format!("redeemed at {used}, the callback named {named}")),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_urls_and_names() {
        assert_eq!(
            host_in("https://accounts.zoho.eu").as_deref(),
            Some("accounts.zoho.eu")
        );
        assert_eq!(
            host_in("acme.myshopify.com").as_deref(),
            Some("acme.myshopify.com")
        );
        assert_eq!(host_in("eu"), None);
        assert_eq!(host_in("1.2"), None);
        assert_eq!(host_in("openid profile"), None);
    }

    #[test]
    fn one_provider_is_a_shared_distinctive_label() {
        assert!(same_provider("accounts.zoho.eu", "accounts.zoho.com"));
        assert!(same_provider("a.myshopify.com", "b.myshopify.com"));
        assert!(!same_provider(
            "accounts.google.com",
            "oauth2.googleapis.com"
        ));
        assert!(!same_provider("login.example.com", "api.other.com"));
    }
}

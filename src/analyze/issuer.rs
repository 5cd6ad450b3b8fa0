//! Rule family `issuer`: the provider's name for itself, checked where it is
//! published and where it comes back.
//!
//! - `discovery.issuer_mismatch`: a discovery document whose `issuer` is not
//!   the URL it was fetched from, less the well-known suffix (OpenID Connect
//!   Discovery 1.0 §4.3: "the issuer value returned MUST be identical to the
//!   Issuer URL that was used as the prefix to /.well-known/openid-configuration";
//!   RFC 8414 §3.3 for `/.well-known/oauth-authorization-server`, inserted
//!   before the path). Certified relying parties (openid-client, Authlib,
//!   Spring Security) refuse such a document, and every ID token's `iss` is
//!   then compared with a value the client did not expect.
//! - `authorize.iss_mismatch`: an authorization response whose `iss`
//!   parameter (RFC 9207 §2) differs from the `issuer` of the discovery
//!   document of the provider the authorize request went to. RFC 9207 §2.4:
//!   the client MUST reject it (mix-up defence), so the login stops there.
//!
//! Issuers that are templates (`{tenantid}`) are `jwt.issuer_template`'s.

use super::login::Login;
use super::params;
use super::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Kind, Record};
use serde_json::json;

const OIDC: &str = "/.well-known/openid-configuration";
const RFC8414: &str = "/.well-known/oauth-authorization-server";

/// The issuer a discovery URL promises: OIDC's prefix form, or RFC 8414's
/// inserted form (`https://h/.well-known/oauth-authorization-server/p` →
/// `https://h/p`).
pub fn expected_issuer(discovery_url: &str) -> Option<String> {
    let u = url::Url::parse(discovery_url).ok()?;
    let origin = u.origin().ascii_serialization();
    let path = u.path();
    if let Some(prefix) = path.strip_suffix(OIDC) {
        return Some(format!("{origin}{prefix}"));
    }
    if let Some(rest) = path.strip_prefix(RFC8414) {
        return Some(format!("{origin}{rest}"));
    }
    if let Some(rest) = path.strip_prefix(OIDC) {
        // RFC 8414 §5's inserted form applied to the OIDC suffix.
        return Some(format!("{origin}{rest}"));
    }
    None
}

fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Findings of this family over one login (discovery documents of the
/// capture are in its context).
pub fn annotate(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        match rec.kind {
            Kind::Discovery => out.extend(discovery_mismatch(rec, i)),
            Kind::AuthorizationResponse | Kind::Callback | Kind::AuthorizeRequest => {
                out.extend(response_iss(records, rec, i))
            }
            _ => {}
        }
    }
    out
}

fn issuer_of(rec: &Record) -> Option<String> {
    let doc = params::response_json(rec)?;
    Some(doc.get("issuer")?.as_str()?.to_string())
}

fn discovery_mismatch(rec: &Record, i: usize) -> Option<Finding> {
    let issuer = issuer_of(rec)?;
    if issuer.contains('{') {
        return None;
    }
    let expected = expected_issuer(&rec.request.url)?;
    // Trailing slash: Auth0 publishes `https://tenant/` for a document at
    // `https://tenant/.well-known/...`; clients strip it before appending.
    if same_issuer(&issuer, &expected) {
        return None;
    }
    // A provider that publishes another issuer by design (its own docs):
    // normal behaviour, nothing to act on.
    if documented_issuer(&rec.request.url, &issuer).is_some() {
        return None;
    }
    Some(Finding::new(
        i,
        code::DISCOVERY_ISSUER_MISMATCH
            .annotation(
                format!(
                    "The document was fetched from {} but says its issuer is {issuer}. OpenID \
                     Connect Discovery §4.3 (and RFC 8414 §3.3) require them to be identical; \
                     certified clients refuse the document (openid-client: \"issuer mismatch\"), \
                     and ID tokens whose iss is {issuer} fail a client configured with {expected}. \
                     Behind a proxy, make the provider build its issuer from the public URL \
                     (Keycloak `--hostname`, `KC_PROXY_HEADERS`; IdentityServer `IssuerUri`); \
                     otherwise configure the client with the issuer the provider publishes.",
                    rec.request.url
                ),
                json!({
                    "discovery_record": rec.id,
                    "fetched_from": rec.request.url,
                    "expected_issuer": expected,
                    "issuer": issuer,
                    "fields": ["request.url", "response.body.issuer"],
                }),
            )
            .about(format!("{issuer} from {expected}")),
    ))
}

/// Providers whose discovery document names another issuer than its URL by
/// design (their own documentation), and why: normal behaviour, info at most.
fn documented_issuer(fetched_from: &str, issuer: &str) -> Option<&'static str> {
    let host = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    let (from, iss) = (host(fetched_from)?, host(issuer)?);
    let entra = [
        "login.microsoftonline.com",
        "login.windows.net",
        "login.microsoftonline.us",
        "login.partner.microsoftonline.cn",
    ];
    if entra.contains(&from.as_str()) && iss == "sts.windows.net" {
        return Some("Microsoft Entra ID's v1.0 metadata publishes the sts.windows.net issuer, which v1.0 tokens carry (the v2.0 metadata, under /v2.0/, names login.microsoftonline.com)");
    }
    if from.ends_with(".b2clogin.com") && iss == from {
        return Some("Azure AD B2C publishes its issuer with the tenant id where the metadata URL has the tenant name and policy");
    }
    None
}

/// RFC 9207: the `iss` of an authorization response against the discovery
/// issuer of the host the login's authorize request went to.
fn response_iss(records: &[Record], rec: &Record, i: usize) -> Option<Finding> {
    let p = match rec.kind {
        Kind::Callback => params::request_params(rec),
        _ => params::location_params(rec),
    };
    let iss = params::get(&p, "iss")?;
    let authorize = records[..=i]
        .iter()
        .rev()
        .find(|r| r.kind == Kind::AuthorizeRequest)?;
    let host = url::Url::parse(&authorize.request.url)
        .ok()?
        .host_str()?
        .to_ascii_lowercase();
    let host_of = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    let path_of = |u: &str| {
        url::Url::parse(u)
            .ok()
            .map(|u| u.path().trim_end_matches('/').to_string())
    };
    // The discovery document of the host the browser went to; else the one
    // whose issuer has the same path (one provider reached under two names:
    // `keycloak:8080` from the app's container, `localhost:8080` from the
    // browser), which is the issuer the client knows.
    let discoveries = || records.iter().rev().filter(|r| r.kind == Kind::Discovery);
    let disc = discoveries()
        .find(|r| host_of(&r.request.url).as_deref() == Some(host.as_str()))
        .or_else(|| {
            discoveries().find(|r| {
                issuer_of(r).is_some_and(|i| path_of(&i).is_some() && path_of(&i) == path_of(iss))
            })
        })?;
    let issuer = issuer_of(disc)?;
    if issuer.contains('{') || iss == issuer {
        return None;
    }
    // A callback that repeats its authorization response's iss adds nothing.
    if rec.kind == Kind::Callback
        && records[..i].iter().any(|r| {
            r.kind == Kind::AuthorizationResponse
                && params::get(&params::location_params(r), "iss") == Some(iss)
        })
    {
        return None;
    }
    Some(Finding::new(
        i,
        code::AUTHORIZE_ISS_MISMATCH
            .annotation(
                format!(
                    "The authorization response carries iss={iss}, but the discovery document \
                     (record {}) names the issuer {issuer}. RFC 9207 §2.4: a client that knows \
                     the issuer MUST reject a response whose iss differs (by simple string \
                     comparison), so the login stops at the callback. Either the response came \
                     from another provider (mix-up), or the provider's public URL differs from \
                     the one it believes it has (a proxy in front of it).",
                    disc.id
                ),
                json!({
                    "record": rec.id,
                    "iss": iss,
                    "discovery_record": disc.id,
                    "issuer": issuer,
                    "fields": ["location.iss", "response.body.issuer"],
                }),
            )
            .about(format!("{iss} vs {issuer}")),
    ))
}

#[cfg(test)]
mod tests {
    use super::expected_issuer;

    #[test]
    fn the_promised_issuer_comes_from_the_url() {
        assert_eq!(
            expected_issuer("https://idp.example/realms/a/.well-known/openid-configuration")
                .as_deref(),
            Some("https://idp.example/realms/a")
        );
        assert_eq!(
            expected_issuer("https://as.example/.well-known/oauth-authorization-server/t1")
                .as_deref(),
            Some("https://as.example/t1")
        );
        assert_eq!(expected_issuer("https://as.example/jwks"), None);
    }
}

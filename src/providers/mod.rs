//! Provider profiles: one file per provider, one [`Profile`] each.
//!
//! A profile holds everything oauthscope knows about how one provider
//! departs from (or fills in) the RFCs: the hosts and path hints that
//! recognise it, authorize paths that carry no `response_type`, how a client
//! asks it for a refresh token, how long its authorization codes live, the
//! parameters it adds to the redirect back (RFC 6749 §3.1.2 allows them),
//! whether it answers errors with HTTP 200, a body shape that names it, and
//! its catalog codes. Rules ask [`of_url`] / [`of_record`] and read the
//! profile; nothing else lists providers.
//!
//! Adding a provider: one file here with a `PROFILE` (and its `ENTRIES`),
//! and one line in [`ALL`].

use crate::catalog::Entry;
use crate::record::Record;
use serde_json::Value;

pub mod apple;
pub mod atlassian;
pub mod auth0;
pub mod authelia;
pub mod cognito;
pub mod discord;
pub mod dropbox;
pub mod entra;
pub mod facebook;
pub mod fusionauth;
pub mod github;
pub mod google;
pub mod hubspot;
pub mod intuit;
pub mod keycloak;
pub mod linkedin;
pub mod okta;
pub mod openiddict;
pub mod ory;
pub mod salesforce;
pub mod shopify;
pub mod slack;
pub mod spotify;
pub mod strava;
pub mod x;
pub mod xero;
pub mod zoom;

/// How a client gets a refresh token from a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offline {
    /// Only when the authorize request carries one of these `(name, value)`
    /// parameters; a `scope` value counts as one of the scope's
    /// space-separated items (`("scope", "offline_access")`).
    Ask(&'static [(&'static str, &'static str)]),
    /// A refresh token comes back with every authorization-code exchange.
    Always,
    /// No authorize parameter decides it; the text says what does.
    Setting(&'static str),
}

/// The offline-access parameters of providers oauthscope does not recognise:
/// any of the common spellings counts (OIDC Core §11 `offline_access`,
/// Salesforce `refresh_token`, Google `access_type`, Dropbox `token_access_type`).
pub const GENERIC_OFFLINE: Offline = Offline::Ask(&[
    ("scope", "offline_access"),
    ("scope", "refresh_token"),
    ("access_type", "offline"),
    ("token_access_type", "offline"),
]);

/// A documented departure from the RFCs that rules take into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    /// Token-endpoint errors come with HTTP 200 (GitHub, Slack).
    ErrorsInSuccess,
    /// The token request need not repeat the authorize `redirect_uri`
    /// (GitHub, Slack, Strava: it is optional there, unlike RFC 6749 §4.1.3).
    TokenRedirectUriOptional,
    /// Client credentials are read from the body only (LinkedIn): a Basic
    /// header reads as "client_secret is missing".
    CredentialsInBodyOnly,
    /// Client credentials must be in the Basic header (Xero refreshes).
    CredentialsInBasicOnly,
    /// Authorization requests must carry a PKCE `code_challenge` (X).
    PkceRequired,
    /// The `client_secret` is a JWT the client signs (Sign in with Apple),
    /// valid for at most this many seconds from `iat` to `exp`.
    SecretIsJwt {
        /// The provider's limit on `exp - iat`, in seconds.
        max_lifetime_secs: i64,
    },
}

/// A documented authorization-code lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeLifetime {
    /// Seconds from issue to expiry.
    pub secs: i64,
    /// Where the figure comes from, as a phrase.
    pub source: &'static str,
}

/// RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED."
pub const RFC_CODE_LIFETIME: CodeLifetime = CodeLifetime {
    secs: 600,
    source: "RFC 6749 §4.1.2 recommends at most 10 min",
};

/// One provider's profile. See the module documentation.
#[derive(Debug)]
pub struct Profile {
    /// Stable id (`github`, `entra`, ...), used in evidence and catalog entries.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Domains whose hosts (the domain or a subdomain) are this provider.
    pub hosts: &'static [&'static str],
    /// Path prefixes or fragments that name the provider on any host
    /// (Keycloak `/realms/`, Salesforce `/services/oauth2/`).
    pub path_hints: &'static [&'static str],
    /// Lower-case paths of authorization endpoints whose requests may lack
    /// `response_type` (GitHub `/login/oauth/authorize`, Slack `/oauth/v2/authorize`).
    pub authorize_paths: &'static [&'static str],
    /// How a client asks for a refresh token.
    pub offline: Offline,
    /// The documented code lifetime, when there is one.
    pub code_lifetime: Option<CodeLifetime>,
    /// Parameters the provider adds to the redirect back to the client
    /// (Intuit `realmId`, Shopify `shop`/`hmac`/`host`/`timestamp`, Entra
    /// `session_state`): never part of the client's `redirect_uri`.
    pub response_params: &'static [&'static str],
    /// What the provider does differently (see [`Quirk`]).
    pub quirks: &'static [Quirk],
    /// Recognise the provider from a JSON response body alone.
    pub recognise: Option<fn(&Value) -> bool>,
    /// The endpoint family (`v1`, `v2`) of a lower-case URL path, for
    /// providers whose authorize and token endpoints must be of one
    /// version (Slack `/oauth/v2/authorize` with `oauth.v2.access`; Entra
    /// `/oauth2/authorize` with `/oauth2/token`, `/oauth2/v2.0/*` together).
    pub endpoint_version: Option<fn(&str) -> Option<&'static str>>,
    /// The provider's catalog codes.
    pub catalog: &'static [Entry],
    /// The provider's OAuth documentation.
    pub docs: &'static str,
}

impl Profile {
    /// The code lifetime to judge code age by: the provider's, else the RFC's.
    pub fn code_lifetime_or_rfc(&self) -> CodeLifetime {
        self.code_lifetime.unwrap_or(RFC_CODE_LIFETIME)
    }

    /// True when the profile lists `q`.
    pub fn has(&self, q: Quirk) -> bool {
        self.quirks.contains(&q)
    }

    /// The client-secret JWT lifetime limit, for providers whose secret is a JWT.
    pub fn secret_jwt_limit(&self) -> Option<i64> {
        self.quirks.iter().find_map(|q| match q {
            Quirk::SecretIsJwt { max_lifetime_secs } => Some(*max_lifetime_secs),
            _ => None,
        })
    }
}

/// Every provider, in catalog order.
pub static ALL: &[&Profile] = &[
    &salesforce::PROFILE,
    &entra::PROFILE,
    &google::PROFILE,
    &github::PROFILE,
    &slack::PROFILE,
    &okta::PROFILE,
    &auth0::PROFILE,
    &keycloak::PROFILE,
    &facebook::PROFILE,
    &cognito::PROFILE,
    &dropbox::PROFILE,
    &discord::PROFILE,
    &hubspot::PROFILE,
    &intuit::PROFILE,
    &xero::PROFILE,
    &atlassian::PROFILE,
    &zoom::PROFILE,
    &linkedin::PROFILE,
    &x::PROFILE,
    &apple::PROFILE,
    &strava::PROFILE,
    &spotify::PROFILE,
    &shopify::PROFILE,
    &ory::PROFILE,
    &authelia::PROFILE,
    &openiddict::PROFILE,
    &fusionauth::PROFILE,
];

/// The profile with this id (case-insensitive).
pub fn by_id(id: &str) -> Option<&'static Profile> {
    ALL.iter().copied().find(|p| p.id.eq_ignore_ascii_case(id))
}

/// The display name of a provider id (the id itself when unknown).
pub fn name_of(id: &str) -> &str {
    by_id(id).map(|p| p.name).unwrap_or(id)
}

/// True when `host` is `domain` or one of its subdomains.
fn under(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// The provider of a URL, from its host, then from path hints (Keycloak's
/// `/realms/…/protocol/openid-connect`, Salesforce's `/services/oauth2/`,
/// Cognito's `cognito-idp.<region>.amazonaws.com`).
pub fn of_url(url: &str) -> Option<&'static Profile> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    if let Some(p) = ALL.iter().find(|p| p.hosts.iter().any(|d| under(&host, d))) {
        return Some(p);
    }
    if host.starts_with("cognito-idp.") && host.ends_with(".amazonaws.com") {
        return Some(&cognito::PROFILE);
    }
    let path = u.path();
    if path.contains("/realms/") && path.contains("/protocol/openid-connect") {
        return Some(&keycloak::PROFILE);
    }
    ALL.iter()
        .copied()
        .filter(|p| p.id != "keycloak")
        .find(|p| p.path_hints.iter().any(|h| path.starts_with(h)))
}

/// The provider of an exchange: from its URL, else from the shape of its
/// JSON response (Entra `error_codes` / `AADSTS`, Slack `ok`, Facebook
/// `fbtrace_id`, HubSpot `BAD_*`), else from `AADSTS` in any text body.
pub fn of_record(rec: &Record) -> Option<&'static Profile> {
    if let Some(p) = of_url(&rec.request.url) {
        return Some(p);
    }
    let text = rec.response.as_ref()?.body.as_text()?.trim();
    match serde_json::from_str::<Value>(text) {
        Ok(v) => ALL
            .iter()
            .copied()
            .find(|p| p.recognise.is_some_and(|f| f(&v))),
        Err(_) => {
            (!crate::analyze::errors::aadsts_codes(text).is_empty()).then_some(&entra::PROFILE)
        }
    }
}

/// True when a lower-case path is an authorization endpoint of some
/// provider that may omit `response_type`.
pub fn authorize_path(path: &str) -> bool {
    ALL.iter()
        .any(|p| p.authorize_paths.iter().any(|a| path.ends_with(a)))
}

/// Parameters that a provider adds to the redirect back, for the
/// provider of `url` (`None`: any provider's).
pub fn added_response_params(profile: Option<&Profile>) -> Vec<&'static str> {
    match profile {
        Some(p) => p.response_params.to_vec(),
        None => ALL
            .iter()
            .flat_map(|p| p.response_params.iter().copied())
            .collect(),
    }
}

/// What an authorize request's parameters `p` asked of `offline` (which
/// `name=value` pairs count), and which offline parameters of *other*
/// providers it carried instead (`access_type=offline` sent to Dropbox).
pub fn offline_asks(offline: Offline, p: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let present = |name: &str, value: &str| {
        p.iter().any(|(k, v)| {
            k == name
                && if name == "scope" {
                    v.split([' ', ',', '+']).any(|s| s == value)
                } else {
                    v.eq_ignore_ascii_case(value)
                }
        })
    };
    let Offline::Ask(generic) = GENERIC_OFFLINE else {
        unreachable!("GENERIC_OFFLINE asks")
    };
    let own: &[(&str, &str)] = match offline {
        Offline::Ask(a) => a,
        _ => &[],
    };
    let fmt = |(n, v): &(&str, &str)| format!("{n}={v}");
    let asked: Vec<String> = own.iter().filter(|(n, v)| present(n, v)).map(fmt).collect();
    let foreign: Vec<String> = generic
        .iter()
        .filter(|pair| !own.contains(pair) && present(pair.0, pair.1))
        .map(fmt)
        .collect();
    (asked, foreign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_paths_name_providers() {
        let cases = [
            ("https://github.com/login/oauth/access_token", "github"),
            ("https://slack.com/api/oauth.v2.access", "slack"),
            (
                "https://graph.facebook.com/v19.0/oauth/access_token",
                "facebook",
            ),
            ("https://www.strava.com/oauth/token", "strava"),
            ("https://www.linkedin.com/oauth/v2/accessToken", "linkedin"),
            (
                "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
                "intuit",
            ),
            (
                "https://acme.myshopify.com/admin/oauth/access_token",
                "shopify",
            ),
            (
                "https://sso.example.com/realms/x/protocol/openid-connect/token",
                "keycloak",
            ),
            (
                "https://acme.my.salesforce.com/services/oauth2/token",
                "salesforce",
            ),
            (
                "https://cognito-idp.eu-west-1.amazonaws.com/pool",
                "cognito",
            ),
            ("https://api.x.com/2/oauth2/token", "x"),
        ];
        for (url, id) in cases {
            assert_eq!(of_url(url).map(|p| p.id), Some(id), "{url}");
        }
        assert!(of_url("https://notgithub.com/login").is_none());
        assert!(of_url("http://localhost:3000/cb").is_none());
    }

    #[test]
    fn every_profile_is_listed_once_and_its_catalog_names_it() {
        let mut ids: Vec<&str> = ALL.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        for p in ALL {
            for e in p.catalog {
                assert_eq!(e.provider, Some(p.id), "{} in {}", e.code, p.id);
            }
        }
    }

    #[test]
    fn offline_parameters_count_only_for_their_provider() {
        let p = vec![("access_type".to_string(), "offline".to_string())];
        let (asked, foreign) = offline_asks(dropbox::PROFILE.offline, &p);
        assert!(asked.is_empty());
        assert_eq!(foreign, ["access_type=offline"]);
        let (asked, _) = offline_asks(google::PROFILE.offline, &p);
        assert_eq!(asked, ["access_type=offline"]);
        let s = vec![("scope".to_string(), "openid offline_access".to_string())];
        assert_eq!(
            offline_asks(GENERIC_OFFLINE, &s).0,
            ["scope=offline_access"]
        );
    }
}

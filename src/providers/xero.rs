//! Xero: its provider profile and catalog codes.

use super::{Offline, Profile, Quirk};
use crate::catalog::Endpoint::Token;
use crate::catalog::Entry;

/// Xero catalog entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("invalid_grant", "Xero", "The refresh token expired, was rotated or reused",
        "Xero rotates refresh tokens and expires unused ones (about 60 days); the client reused an old one.",
        "Store the newest refresh token from every response; send client credentials in the Basic header.")
        .prov("xero").at(Token).see("https://developer.xero.com/documentation/guides/oauth2/auth-flow"),
    Entry::new("invalid_client", "Xero", "Client authentication failed", "Xero needs client credentials in the Authorization: Basic header (refresh, client_credentials).", "Send id and secret with HTTP Basic and a form body.")
        .prov("xero").at(Token).see("https://developer.xero.com/documentation/guides/oauth2/auth-flow"),
];

/// How Xero is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "xero",
    name: "Xero",
    hosts: &["xero.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Ask(&[("scope", "offline_access")]),
    code_lifetime: None,
    response_params: &[],
    quirks: &[Quirk::CredentialsInBasicOnly],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developer.xero.com/documentation/guides/oauth2/auth-flow",
};

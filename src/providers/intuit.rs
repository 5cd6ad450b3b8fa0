//! Intuit QuickBooks: its provider profile and catalog codes.

use super::{Offline, Profile};
use crate::catalog::Endpoint::Token;
use crate::catalog::Entry;

/// Intuit QuickBooks catalog entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("invalid_grant", "Intuit QuickBooks", "The refresh token is invalid, expired or superseded",
        "Intuit may return a new refresh token on any refresh; using an older one eventually fails. Refresh tokens also have a hard maximum lifetime (x_refresh_token_expires_in).",
        "Persist the refresh_token from every token response, and re-authorize when it expires.")
        .prov("intuit").at(Token).see("https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq"),
];

/// How Intuit QuickBooks is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "intuit",
    name: "Intuit QuickBooks",
    hosts: &["intuit.com"],
    path_hints: &[],
    authorize_paths: &["/connect/oauth2"],
    offline: Offline::Always,
    code_lifetime: None,
    response_params: &["realmId"],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0",
};

//! Atlassian: its provider profile and catalog codes.

use super::{Offline, Profile};
use crate::catalog::Endpoint::{Any, Token};
use crate::catalog::Entry;

/// Atlassian catalog entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("invalid_grant", "Atlassian", "Unknown or invalid refresh token",
        "Atlassian always rotates refresh tokens and invalidates the one sent; a stored old token or an idle one (about 90 days) fails.",
        "Persist the new refresh token after every refresh.")
        .prov("atlassian").at(Token).see("https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/"),
    Entry::new("access_denied", "Atlassian", "Access denied (at the token endpoint: wrong client secret)",
        "At the token endpoint Atlassian answers access_denied to a wrong client secret, not only when the user declines.",
        "Check the client secret; do not treat this as \"user declined\" when it comes from the token endpoint.")
        .prov("atlassian").at(Any).see("https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/"),
];

/// How Atlassian is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "atlassian",
    name: "Atlassian",
    hosts: &["atlassian.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Ask(&[("scope", "offline_access")]),
    code_lifetime: None,
    response_params: &[],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/",
};

//! Authelia: its provider profile and catalog codes.

use super::{Offline, Profile};
use crate::catalog::Endpoint::Token;
use crate::catalog::Entry;

/// Authelia catalog entries.
pub static ENTRIES: &[Entry] = &[Entry::new(
    "invalid_client",
    "Authelia",
    "The client authentication method does not match the registered one",
    "token_endpoint_auth_method differs from the method used.",
    "Align the client's configuration with the method used.",
)
.prov("authelia")
.when(&["client authentication method"])
.at(Token)
.see("https://www.authelia.com/configuration/identity-providers/openid-connect/clients/")];

/// How Authelia is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "authelia",
    name: "Authelia",
    hosts: &[],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Ask(&[("scope", "offline_access")]),
    code_lifetime: None,
    response_params: &[],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://www.authelia.com/configuration/identity-providers/openid-connect/clients/",
};

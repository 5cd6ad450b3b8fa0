//! Ory Hydra / Fosite: its provider profile and catalog codes.

use super::{Offline, Profile};
use crate::catalog::Endpoint::Token;
use crate::catalog::Entry;

/// Ory Hydra / Fosite catalog entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("invalid_client", "Ory Hydra / Fosite", "The client authentication method does not match the registered one",
        "The client is registered with token_endpoint_auth_method client_secret_basic but sent client_secret_post, or the reverse (the hint names both).",
        "Send credentials the registered way, or change the client's token_endpoint_auth_method.")
        .prov("ory").when(&["client authentication method"]).at(Token).see("https://www.ory.sh/docs/hydra/guides/oauth2-clients"),
];

/// How Ory Hydra / Fosite is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "ory",
    name: "Ory Hydra / Fosite",
    hosts: &[],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Ask(&[("scope", "offline_access"), ("scope", "offline")]),
    code_lifetime: None,
    response_params: &[],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://www.ory.sh/docs/hydra/guides/oauth2-clients",
};

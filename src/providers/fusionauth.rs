//! FusionAuth: its provider profile and catalog codes.

use super::{Offline, Profile};
use crate::catalog::Endpoint::Token;
use crate::catalog::Entry;

/// FusionAuth catalog entries.
pub static ENTRIES: &[Entry] = &[Entry::new(
    "invalid_request",
    "FusionAuth",
    "Invalid Authorization Code (auth_code_not_found)",
    "The code was reused, expired or mistyped.",
    "Redeem each code once, promptly.",
)
.prov("fusionauth")
.when(&["invalid authorization code"])
.at(Token)
.see("https://fusionauth.io/docs/lifecycle/authenticate-users/oauth/endpoints")];

/// How FusionAuth is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "fusionauth",
    name: "FusionAuth",
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
    docs: "https://fusionauth.io/docs/lifecycle/authenticate-users/oauth/",
};

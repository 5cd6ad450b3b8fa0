//! OpenIddict: its provider profile and catalog codes.

use super::{Offline, Profile};
use crate::catalog::Endpoint::Token;
use crate::catalog::Entry;

/// OpenIddict catalog entries.
pub static ENTRIES: &[Entry] = &[Entry::new(
    "invalid_grant",
    "OpenIddict",
    "The specified 'code_verifier' is invalid (ID2052)",
    "PKCE mismatch.",
    "Send the verifier of the same login.",
)
.prov("openiddict")
.when(&["code_verifier"])
.at(Token)
.see("https://documentation.openiddict.com/")];

/// How OpenIddict is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "openiddict",
    name: "OpenIddict",
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
    docs: "https://documentation.openiddict.com/",
};

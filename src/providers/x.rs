//! X (Twitter): its provider profile.

use super::{Offline, Profile, Quirk};
use crate::catalog::Entry;

/// X (Twitter) catalog entries.
pub static ENTRIES: &[Entry] = &[];

/// How X (Twitter) is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "x",
    name: "X (Twitter)",
    hosts: &["x.com", "twitter.com"],
    path_hints: &[],
    authorize_paths: &["/i/oauth2/authorize"],
    offline: Offline::Ask(&[("scope", "offline.access")]),
    code_lifetime: None,
    response_params: &[],
    quirks: &[Quirk::PkceRequired],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code",
};

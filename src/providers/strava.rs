//! Strava: its provider profile.

use super::{Offline, Profile, Quirk};
use crate::catalog::Entry;

/// Strava catalog entries.
pub static ENTRIES: &[Entry] = &[];

/// How Strava is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "strava",
    name: "Strava",
    hosts: &["strava.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Always,
    code_lifetime: None,
    response_params: &["scope"],
    quirks: &[Quirk::TokenRedirectUriOptional],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developers.strava.com/docs/authentication/",
};

//! Spotify: its provider profile.

use super::{Offline, Profile};
use crate::catalog::Entry;

/// Spotify catalog entries.
pub static ENTRIES: &[Entry] = &[];

/// How Spotify is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "spotify",
    name: "Spotify",
    hosts: &["accounts.spotify.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Always,
    code_lifetime: None,
    response_params: &[],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developer.spotify.com/documentation/web-api/tutorials/code-flow",
};

//! Dropbox: its provider profile and catalog codes.

use super::{Offline, Profile};
use crate::catalog::Endpoint::{Resource, Token};
use crate::catalog::Entry;

/// Dropbox catalog entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("expired_access_token", "Dropbox", "The short-lived access token (about 4 h) expired",
        "Dropbox access tokens are short-lived; the app never refreshes them.",
        "Request token_access_type=offline at authorize to get a refresh token and refresh before calling the API.")
        .prov("dropbox").at(Resource).see("https://developers.dropbox.com/oauth-guide"),
    Entry::new("invalid_access_token", "Dropbox", "The access token is invalid",
        "A revoked, malformed or foreign access token.", "Obtain a new token.")
        .prov("dropbox").at(Resource).see("https://developers.dropbox.com/oauth-guide"),
    Entry::new("invalid_grant", "Dropbox", "refresh token is invalid, revoked or malformed",
        "The refresh token was revoked, or something else (e.g. an authorization code) was sent as the refresh token.",
        "Send the refresh_token from a token_access_type=offline authorization; re-authorize if it was revoked.")
        .prov("dropbox").when(&["refresh token is"]).at(Token).see("https://developers.dropbox.com/oauth-guide"),
];

/// How Dropbox is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "dropbox",
    name: "Dropbox",
    hosts: &["dropboxapi.com", "dropbox.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Ask(&[("token_access_type", "offline")]),
    code_lifetime: None,
    response_params: &[],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developers.dropbox.com/oauth-guide",
};

//! Strava: its provider profile and catalog codes. Errors come as
//! `{"message": "Bad Request", "errors": [{"resource", "field", "code"}]}`.

use super::{Offline, Profile, Quirk};
use crate::catalog::Endpoint::Token;
use crate::catalog::Entry;

/// Strava catalog entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("invalid_code", "Strava", "The code (errors[].field \"code\") is invalid",
        "The code was already exchanged, expired, belongs to another app, or was altered on the way (a hand-cut callback URL that kept \"&scope=...\").",
        "Take the code from the callback's query with a URL parser and exchange it once, right away.")
        .prov("strava").at(Token).see("https://developers.strava.com/docs/authentication/"),
    Entry::new("invalid_client_id", "Strava", "The client_id is invalid",
        "A wrong or missing client_id (Strava ids are numbers).", "Copy the Client ID from the Strava API application settings.")
        .prov("strava").at(Token).see("https://developers.strava.com/docs/authentication/"),
    Entry::new("invalid_client_secret", "Strava", "The client_secret is invalid",
        "A wrong or regenerated client secret.", "Copy the current Client Secret from the Strava API application settings.")
        .prov("strava").at(Token).see("https://developers.strava.com/docs/authentication/"),
];

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

//! Zoom: its provider profile and catalog codes.

use super::{Offline, Profile};
use crate::catalog::Endpoint::Authorize;
use crate::catalog::Entry;

/// Zoom catalog entries.
pub static ENTRIES: &[Entry] = &[Entry::new(
    "4700",
    "Zoom",
    "Zoom token error (4700-4706, e.g. Invalid client secret)",
    "Zoom uses numeric codes 4700-4706 for token errors such as an invalid client secret.",
    "Read the message; check client id and secret.",
)
.prov("zoom")
.alias(&["4701", "4702", "4703", "4704", "4705", "4706"])
.at(Authorize)
.see("https://developers.zoom.us/docs/integrations/oauth/")];

/// How Zoom is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "zoom",
    name: "Zoom",
    hosts: &["zoom.us"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Always,
    code_lifetime: None,
    response_params: &[],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developers.zoom.us/docs/integrations/oauth/",
};

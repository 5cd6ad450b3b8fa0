//! LinkedIn: its provider profile.

use super::{Offline, Profile, Quirk};
use crate::catalog::Entry;

/// LinkedIn catalog entries.
pub static ENTRIES: &[Entry] = &[];

/// How LinkedIn is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "linkedin",
    name: "LinkedIn",
    hosts: &["linkedin.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Setting(
        "LinkedIn issues refresh tokens only to apps approved for programmatic refresh tokens",
    ),
    code_lifetime: None,
    response_params: &[],
    quirks: &[Quirk::CredentialsInBodyOnly],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs:
        "https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow",
};

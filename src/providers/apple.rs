//! Sign in with Apple: its provider profile.

use super::{CodeLifetime, Offline, Profile, Quirk};
use crate::catalog::Entry;

/// Sign in with Apple catalog entries.
pub static ENTRIES: &[Entry] = &[];

/// How Sign in with Apple is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "apple",
    name: "Sign in with Apple",
    hosts: &["appleid.apple.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Always,
    code_lifetime: Some(CodeLifetime { secs: 300, source: "Apple authorization codes are single-use and valid for five minutes" }),
    response_params: &["user"],
    quirks: &[Quirk::SecretIsJwt { max_lifetime_secs: 15_777_000 }],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developer.apple.com/documentation/accountorganizationaldatasharing/generate-and-validate-tokens",
};

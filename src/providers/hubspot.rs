//! HubSpot: its provider profile and catalog codes.

use super::{Offline, Profile};
use crate::catalog::Endpoint::Token;
use crate::catalog::Entry;
use serde_json::Value;

/// HubSpot catalog entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("BAD_CLIENT_ID", "HubSpot", "Missing or unknown client id",
        "A wrong client id. HubSpot checks it first, so it can mask other errors.", "Copy the client ID from the app's Auth settings.")
        .prov("hubspot").at(Token).see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
    Entry::new("BAD_CLIENT_SECRET", "HubSpot", "Wrong client secret", "A wrong or rotated secret.", "Copy the current client secret.")
        .prov("hubspot").at(Token).see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
    Entry::new("BAD_REDIRECT_URI", "HubSpot", "Redirect URI mismatch",
        "The redirect_uri differs from the app's registered redirect URL or from the authorize leg.", "Send the registered redirect URL in both legs.")
        .prov("hubspot").see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
    Entry::new("BAD_AUTH_CODE", "HubSpot", "Missing or unknown auth code", "A reused, expired or mistyped code.", "Redeem each code once, promptly.")
        .prov("hubspot").at(Token).see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
    Entry::new("BAD_REFRESH_TOKEN", "HubSpot", "Missing or invalid refresh token", "A revoked or wrong refresh token.", "Re-authorize the account.")
        .prov("hubspot").at(Token).see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
    Entry::new("BAD_GRANT_TYPE", "HubSpot", "Invalid grant type", "A misspelled grant_type or a JSON body (HubSpot wants a form body; JSON gets HTTP 415).", "Send a form body with a valid grant_type.")
        .prov("hubspot").at(Token).see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
];

/// How HubSpot is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "hubspot",
    name: "HubSpot",
    hosts: &["hubspot.com", "hubapi.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Always,
    code_lifetime: None,
    response_params: &[],
    quirks: &[],
    recognise: Some(recognise),
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developers.hubspot.com/docs/api/oauth-quickstart-guide",
};

fn recognise(v: &Value) -> bool {
    v.get("status")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("BAD_"))
}

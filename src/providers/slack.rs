//! Slack (`oauth.v2.access`): HTTP 200 with `{"ok":false,"error":"..."}`.

use super::{CodeLifetime, Offline, Profile, Quirk};
use crate::catalog::Endpoint::Token;
use crate::catalog::Entry;
use serde_json::Value;

const SRC: &str = "Slack";
const SEE: &str = "https://api.slack.com/methods/oauth.v2.access";

const fn slack(
    code: &'static str,
    title: &'static str,
    causes: &'static str,
    fix: &'static str,
) -> Entry {
    Entry::new(code, SRC, title, causes, fix)
        .prov("slack")
        .at(Token)
        .see(SEE)
}

/// Slack entries.
pub static ENTRIES: &[Entry] = &[
    slack("invalid_code", "The code is invalid, expired or already used",
        "The code was exchanged twice (double callback, reload) or too late.", "Exchange each code once, promptly."),
    slack("bad_redirect_uri", "The redirect_uri does not match the one in the original authorize request",
        "The token request's redirect_uri differs from the authorize request's (e.g. a preview deployment URL vs the canonical domain).",
        "Send exactly the redirect_uri used at authorize, and register it under Redirect URLs."),
    slack("invalid_client_id", "The client_id is invalid", "A typo or the id of another app.", "Copy the Client ID from the app's Basic Information page."),
    slack("bad_client_secret", "The client secret is invalid", "A wrong or regenerated secret.", "Copy the current Client Secret; Slack recommends sending it with HTTP Basic."),
    slack("oauth_authorization_url_mismatch", "The flow started on the v1 authorize URL but was exchanged on v2",
        "The user was sent to /oauth/authorize but the code is exchanged at oauth.v2.access.", "Start the flow at https://slack.com/oauth/v2/authorize."),
    slack("invalid_grant_type", "The grant_type is not valid", "A misspelled or unsupported grant_type.", "Use authorization_code or refresh_token."),
    slack("invalid_refresh_token", "The refresh token is invalid", "With token rotation on, an old (rotated) or revoked refresh token was used.", "Store the newest refresh token from every response."),
    slack("no_scopes", "No scopes were requested", "The authorize request had no scope or user_scope.", "Request at least one scope."),
    slack("cannot_install_an_org_installed_app", "The app is already installed at the organization level", "An org-wide installed app was installed to a workspace.", "Manage the installation at the org level."),
    slack("user_email_unverified", "The user's email is unverified", "The installing user has not verified their email.", "Verify the email address in Slack."),
    slack("ratelimited", "Rate limited", "Too many requests.", "Honour Retry-After and back off."),
    slack("invalid_form_data", "The form data is invalid", "A malformed body or wrong content type.", "Send application/x-www-form-urlencoded."),
    slack("invalid_post_type", "The POST content type is not supported", "An unsupported Content-Type.", "Send application/x-www-form-urlencoded."),
    slack("missing_post_type", "The POST has no content type", "No Content-Type header on the POST.", "Send Content-Type: application/x-www-form-urlencoded."),
];

/// How Slack is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "slack",
    name: "Slack",
    hosts: &["slack.com"],
    path_hints: &[],
    authorize_paths: &[
        "/oauth/v2/authorize",
        "/oauth/authorize",
        "/openid/connect/authorize",
    ],
    offline: Offline::Setting(
        "Slack returns a refresh token only when token rotation is turned on in the app settings",
    ),
    code_lifetime: Some(CodeLifetime {
        secs: 600,
        source: "Slack codes expire after 10 min",
    }),
    response_params: &[],
    quirks: &[Quirk::ErrorsInSuccess, Quirk::TokenRedirectUriOptional],
    recognise: Some(recognise),
    endpoint_version: Some(endpoint_version),
    catalog: ENTRIES,
    docs: "https://api.slack.com/authentication/oauth-v2",
};

fn recognise(v: &Value) -> bool {
    v.get("ok").is_some_and(Value::is_boolean)
}

/// `v2` for `/oauth/v2/authorize` and `oauth.v2.access`, `v1` for
/// `/oauth/authorize` and `oauth.access` (Slack's "oauth_authorization_url_mismatch").
fn endpoint_version(path: &str) -> Option<&'static str> {
    if path.contains("/oauth/v2/") || path.ends_with("/oauth.v2.access") {
        Some("v2")
    } else if path.ends_with("/oauth/authorize") || path.ends_with("/oauth.access") {
        Some("v1")
    } else {
        None
    }
}

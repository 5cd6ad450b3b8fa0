//! Google (accounts.google.com, oauth2.googleapis.com).

use super::{CodeLifetime, Offline, Profile};
use crate::catalog::Endpoint::{Authorize, Token};
use crate::catalog::Entry;

const SRC: &str = "Google";
const SEE: &str = "https://developers.google.com/identity/protocols/oauth2/web-server";

/// Google entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("redirect_uri_mismatch", SRC,
        "Error 400: redirect_uri_mismatch: the redirect URI is not an Authorized redirect URI of this client",
        "At authorize Google shows \"Access blocked: This app's request is invalid\" and does not redirect: the redirect_uri is not exactly in the OAuth client's Authorized redirect URIs (scheme, host, port, path, trailing slash). At the token endpoint the token-leg redirect_uri differs from the authorize leg. Console changes can take a few minutes.",
        "Add the exact redirect_uri from the request (shown under Request Details) to the OAuth client in Google Cloud Console > Credentials, and send the same value in the token request.")
        .prov("google").see(SEE),
    Entry::new("invalid_grant", SRC, "Malformed auth code: the code was altered",
        "The code is still URL-encoded (`4%2F0A...` instead of `4/0A...`) or double-encoded, truncated, or has whitespace added.",
        "Pass the code exactly as decoded from the callback query, once.")
        .prov("google").when(&["malformed auth code"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "Token has been expired or revoked: the refresh token is dead",
        "The app's consent screen is in Testing (external users) so refresh tokens last 7 days; the user revoked access; unused for 6 months; password change with Gmail scopes; the per-client or per-user refresh token limit was exceeded (the oldest is invalidated); a session control policy.",
        "Publish the app (In production), store and reuse one refresh token per user, and re-authorize the user when it dies.")
        .prov("google").when(&["expired or revoked"]).at(Token).see("https://developers.google.com/google-ads/api/docs/get-started/common-errors"),
    Entry::new("invalid_grant", SRC, "Bad Request: the code or refresh token was rejected",
        "The code was already used, expired, or issued to another client or redirect URI; or a refresh token revoked a while ago.",
        "Redeem the code once, promptly, with the same client and redirect_uri; re-authorize for dead refresh tokens.")
        .prov("google").at(Token).see(SEE),
    Entry::new("invalid_client", SRC, "The OAuth client was not found",
        "Unknown client_id: a typo, a deleted client, a placeholder value, or trailing whitespace / a BOM from an env file or secret store.",
        "Copy the client ID from Google Cloud Console > Credentials and strip whitespace.")
        .prov("google").when(&["oauth client was not found"]).see(SEE),
    Entry::new("invalid_client", SRC, "Unauthorized: wrong client secret",
        "The client exists but the secret is wrong or was reset.", "Use the current client secret of this OAuth client.")
        .prov("google").at(Token).see(SEE),
    Entry::new("unauthorized_client", SRC, "Unauthorized: the refresh token belongs to another client",
        "A refresh token issued to one client_id is refreshed with a different client_id / secret.",
        "Refresh with the same client that obtained the token.")
        .prov("google").at(Token).see(SEE),
    Entry::new("access_denied", SRC, "Error 403: access_denied: the app has not completed Google verification",
        "The consent screen is in Testing and the account is not a listed test user, or the user declined.",
        "Add the account as a test user, or publish and verify the app.")
        .prov("google").at(Authorize).see("https://support.google.com/cloud/answer/10311615"),
    Entry::new("org_internal", SRC, "Error 403: org_internal: the app is limited to users of its Google Workspace organization",
        "The OAuth consent screen's user type is Internal and the account is outside the organization.",
        "Sign in with an account of the organization, or switch the user type to External.")
        .prov("google").at(Authorize).see("https://support.google.com/cloud/answer/10311615"),
    Entry::new("disabled_client", SRC, "Error 401: disabled_client: the OAuth client is disabled",
        "The OAuth client was disabled in the Google Cloud project.", "Re-enable the client or create a new one.")
        .prov("google").see(SEE),
    Entry::new("admin_policy_enforced", SRC, "Error 400: admin_policy_enforced: a Workspace admin blocks this app or scope",
        "The Google Workspace admin restricted access to third-party apps or to these scopes.",
        "Ask the Workspace admin to trust the app (API controls), or request fewer scopes.")
        .prov("google").at(Authorize).see("https://support.google.com/a/answer/7281227"),
    Entry::new("invalid_request", SRC, "Error 400: invalid_request: the request does not comply with Google's OAuth policy",
        "Out-of-band (urn:ietf:wg:oauth:2.0:oob) flow on a non-native client, an embedded webview, or a malformed parameter.",
        "Use a loopback redirect (http://127.0.0.1:PORT) for desktop apps, a system browser, and valid parameters.")
        .prov("google").at(Authorize).see(SEE),
    Entry::new("INVALID_ARGUMENT", SRC, "Invalid JSON payload received (Google API-style error)",
        "A form body sent with Content-Type: application/json, or a malformed JSON body.",
        "Send application/x-www-form-urlencoded (or real JSON with the matching content type).")
        .prov("google").at(Token).see(SEE),
];

/// How Google is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "google",
    name: "Google",
    hosts: &[
        "accounts.google.com",
        "oauth2.googleapis.com",
        "www.googleapis.com",
    ],
    path_hints: &[],
    authorize_paths: &["/o/oauth2/v2/auth", "/o/oauth2/auth"],
    offline: Offline::Ask(&[("access_type", "offline")]),
    code_lifetime: Some(CodeLifetime {
        secs: 600,
        source: "Google codes expire after about 10 min",
    }),
    response_params: &["authuser", "prompt", "hd", "scope"],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developers.google.com/identity/protocols/oauth2/web-server",
};

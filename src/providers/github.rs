//! GitHub OAuth apps (github.com/login/oauth). Token errors arrive with HTTP
//! 200, form-encoded unless the client sent `Accept: application/json`.

use super::{CodeLifetime, Offline, Profile, Quirk};
use crate::catalog::Endpoint::{Authorize, Token};
use crate::catalog::Entry;

const SRC: &str = "GitHub";
const SEE: &str = "https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";
const SEE_AUTH: &str = "https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-authorization-request-errors";

/// GitHub entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("bad_verification_code", SRC, "The code passed is incorrect or expired",
        "The code was already used (double callback, page reload), is older than 10 minutes, or does not belong to this client.",
        "Exchange each code once, within 10 minutes, with the client that started the login.")
        .prov("github").at(Token).see(SEE),
    Entry::new("incorrect_client_credentials", SRC, "The client_id and/or client_secret passed are incorrect",
        "A wrong or regenerated client secret, or the id of another OAuth app.",
        "Copy the client ID and a fresh client secret from the OAuth app settings.")
        .prov("github").at(Token).see(SEE),
    Entry::new("redirect_uri_mismatch", SRC, "The redirect_uri must match the registered callback URL",
        "GitHub requires the same host (excluding subdomains) and port as the callback URL and a path under the callback path; loopback 127.0.0.1 callbacks accept any port. At authorize GitHub redirects to the registered callback with this error.",
        "Use a redirect_uri under the registered Authorization callback URL (or omit it).")
        .prov("github").see(SEE),
    Entry::new("unverified_user_email", SRC, "The user must have a verified primary email",
        "The GitHub account has no verified primary email.", "Have the user verify their primary email address on GitHub.")
        .prov("github").at(Token).see(SEE),
    Entry::new("application_suspended", SRC, "The OAuth application has been suspended",
        "GitHub or the app's owner suspended the application.", "Contact the app owner / GitHub support.")
        .prov("github").at(Authorize).see(SEE_AUTH),
    Entry::new("access_denied", SRC, "The user denied access to the application",
        "The user clicked Cancel on the authorization page.", "Nothing to fix; let the user retry.")
        .prov("github").at(Authorize).see(SEE_AUTH),
    Entry::new("incorrect_device_code", SRC, "Device flow: the device_code is not valid",
        "A wrong or mistyped device_code sent while polling.", "Poll with the device_code from the device authorization response.")
        .prov("github").at(Token).see("https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow"),
    Entry::new("device_flow_disabled", SRC, "Device flow is not enabled for this app",
        "\"Enable Device Flow\" is off in the OAuth app settings.", "Enable Device Flow in the app's settings.")
        .prov("github").at(Token).see("https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow"),
    Entry::new("expired_token", SRC, "Device flow: the device code expired (after 900 s)",
        "The user did not enter the code within 15 minutes. GitHub's prose calls it `token_expired`.",
        "Start a new device flow.")
        .prov("github").alias(&["token_expired"]).at(Token).see("https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow"),
];

/// How GitHub is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "github",
    name: "GitHub",
    hosts: &["github.com"],
    path_hints: &[],
    authorize_paths: &["/login/oauth/authorize"],
    offline: Offline::Setting("GitHub OAuth apps issue no refresh token; GitHub Apps return one when user-token expiration is enabled in the app settings"),
    code_lifetime: Some(CodeLifetime { secs: 600, source: "GitHub codes expire after 10 min" }),
    response_params: &[],
    quirks: &[Quirk::ErrorsInSuccess, Quirk::TokenRedirectUriOptional],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps",
};

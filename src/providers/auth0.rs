//! Auth0 (*.auth0.com or a custom domain).

use super::{Offline, Profile};
use crate::catalog::Endpoint::{Authorize, Token};
use crate::catalog::Entry;

const SRC: &str = "Auth0";
const SEE: &str = "https://auth0.com/docs/authenticate/protocols/oauth";

/// Auth0 entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("redirect_uri_mismatch", SRC, "Callback URL mismatch: the URL is not in the list of allowed callback URLs",
        "Auth0 matches callback URLs as exact strings: http vs https, port, trailing slash, subdomain, path, another environment.",
        "Add the exact redirect_uri to the application's Allowed Callback URLs.")
        .prov("auth0").alias(&["callback_url_mismatch"]).when(&["allowed callback url", "callback url mismatch"]).at(Authorize)
        .see("https://auth0.com/docs/troubleshoot/authentication-issues/troubleshoot-callback-url-mismatch"),
    Entry::new("unauthorized_client", SRC, "Grant type not allowed for the client",
        "The grant (client_credentials, authorization_code, password, refresh_token) is not enabled on the application (HTTP 403 at the token endpoint, or a redirect back with this error at authorize), or the application type is wrong (SPA vs Machine to Machine).",
        "Enable the grant under Application > Advanced Settings > Grant Types, or use an application of the right type.")
        .prov("auth0").at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "Invalid authorization code (or code verifier)",
        "The code was reused or expired, or the PKCE code_verifier does not match.",
        "Redeem the code once with the verifier of the same login.")
        .prov("auth0").when(&["invalid authorization code"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "redirect_uri is required if it was included in the authorization request",
        "The authorize request had a redirect_uri and the token request omitted it.",
        "Send the same redirect_uri in the token request.")
        .prov("auth0").when(&["redirect_uri is required"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "Unknown or invalid refresh token",
        "The refresh token expired or was revoked; with rotation, a rotated token reused outside the overlap period (Auth0 then revokes the whole token family).",
        "Store the newest refresh token from each response; avoid concurrent refreshes; sign in again when it fails.")
        .prov("auth0").when(&["unknown or invalid refresh token"]).at(Token)
        .see("https://auth0.com/docs/secure/tokens/refresh-tokens/configure-refresh-token-rotation"),
    Entry::new("access_denied", SRC, "Unauthorized (401): client authentication failed",
        "At the token endpoint Auth0 answers access_denied / Unauthorized to wrong client credentials; it does not mean the user declined.",
        "Check the client id and secret.")
        .prov("auth0").when(&["unauthorized"]).at(Token).see(SEE),
];

/// How Auth0 is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "auth0",
    name: "Auth0",
    hosts: &["auth0.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Ask(&[("scope", "offline_access")]),
    code_lifetime: None,
    response_params: &[],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://auth0.com/docs/secure/tokens/refresh-tokens/get-refresh-tokens",
};

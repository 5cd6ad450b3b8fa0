//! Okta (*.okta.com, /oauth2/v1 and /oauth2/{authServerId}/v1).

use super::{Offline, Profile};
use crate::catalog::Endpoint::{Authorize, Token};
use crate::catalog::Entry;

const SRC: &str = "Okta";
const SEE: &str = "https://developer.okta.com/docs/reference/api/oidc/#possible-errors";

/// Okta entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("redirect_uri_mismatch", SRC, "400 Bad Request: the 'redirect_uri' parameter must be a Login redirect URI in the client app settings",
        "The redirect_uri is not in Sign-in redirect URIs (the System Log says illegal_redirect_uri): http vs https, trailing slash, case, port, dynamic query parameters, subdomain, URL encoding, another environment, or it was added to the sign-out list instead.",
        "Add the exact redirect_uri to the app's Sign-in redirect URIs.")
        .prov("okta").alias(&["illegal_redirect_uri"]).when(&["login redirect uri"]).at(Authorize)
        .see("https://support.okta.com/help/s/article/The-redirect-uri-parameter-must-be-an-absolute-URI"),
    Entry::new("access_denied", SRC, "User is not assigned to the client application",
        "The user (or their group) is not assigned to the Okta application.", "Assign the user or a group to the app.")
        .prov("okta").when(&["not assigned"]).at(Authorize).see(SEE),
    Entry::new("invalid_client", SRC, "Client authentication failed",
        "A wrong client id or secret, or the app's client authentication method (client_secret_basic by default) differs from the one used.",
        "Check the credentials and send them the way the app is configured (Basic by default).")
        .prov("okta").at(Token).see(SEE),
    Entry::new("invalid_request", SRC, "Cannot supply multiple client credentials",
        "The request carries credentials in the Authorization header and in the body (or a client_assertion) at once.",
        "Send the client credentials one way only.")
        .prov("okta").when(&["multiple client credentials"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "The authorization code is invalid or has expired",
        "The code was reused or is too old; or the token request goes to another authorization server than the authorize request (org AS vs /oauth2/default), or the access policy does not match.",
        "Redeem the code once, promptly, at the token endpoint of the same authorization server.")
        .prov("okta").when(&["authorization code is invalid"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "The 'redirect_uri' does not match the redirection URI used in the authorization request",
        "The token request's redirect_uri differs from the authorize request's, often because the token URL points at another authorization server.",
        "Send the same redirect_uri and use the same authorization server for both legs.")
        .prov("okta").when(&["redirect_uri' does not match", "redirect_uri does not match"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "The refresh token is invalid or expired",
        "The refresh token expired (policy lifetime or idle time), was revoked, or was rotated and reused.",
        "Store the newest refresh token and sign the user in again when it dies.")
        .prov("okta").when(&["refresh token is invalid"]).at(Token).see(SEE),
    Entry::new("unauthorized_client", SRC, "The client is not authorized to use the provided grant type",
        "The grant type is not enabled on the Okta application (the message lists the configured ones).",
        "Enable the grant type in the app's General Settings.")
        .prov("okta").at(Token).see(SEE),
];

/// How Okta is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "okta",
    name: "Okta",
    hosts: &["okta.com", "oktapreview.com", "okta-emea.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Ask(&[("scope", "offline_access")]),
    code_lifetime: None,
    response_params: &[],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developer.okta.com/docs/guides/refresh-tokens/main/",
};

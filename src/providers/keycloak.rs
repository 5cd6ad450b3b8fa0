//! Keycloak (…/realms/{realm}/protocol/openid-connect/…). Most token errors
//! are `invalid_grant` told apart by `error_description`.

use super::{CodeLifetime, Offline, Profile};
use crate::catalog::Endpoint::{Authorize, Token};
use crate::catalog::Entry;

const SRC: &str = "Keycloak";
const SEE: &str = "https://www.keycloak.org/docs/latest/server_admin/#_oidc_clients";

/// Keycloak entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("invalid_grant", SRC, "Code not valid: the code was already used or is unknown",
        "The code was redeemed twice (Keycloak then also detaches the first session's tokens), or it belongs to another realm or cluster node, or it was mangled.",
        "Redeem each code once against the realm that issued it.")
        .prov("keycloak").when(&["code not valid"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "Code is expired",
        "The code lifetime (default 60 s) passed before the token request.",
        "Redeem the code immediately, or raise the realm's code lifespan.")
        .prov("keycloak").when(&["code is expired"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "Incorrect redirect_uri",
        "The token request's redirect_uri differs from the authorize request's, or is missing although the authorize request had one.",
        "Send exactly the authorize request's redirect_uri in the token request.")
        .prov("keycloak").when(&["incorrect redirect_uri"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "Session not active",
        "The SSO session expired or was logged out between authorize and token, or before a refresh (SSO Session Idle / Max).",
        "Log in again; raise the realm's session timeouts if they are too short.")
        .prov("keycloak").when(&["session not active", "offline session not active", "user session not found"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "Token is not active: the refresh token expired",
        "The refresh token outlived the SSO session idle / max time, or is stale or invalid.",
        "Log in again; raise session timeouts or use offline tokens.")
        .prov("keycloak").when(&["token is not active", "invalid refresh token", "stale token"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "Maximum allowed refresh token reuse exceeded",
        "The realm has Revoke Refresh Token on (refreshTokenMaxReuse, 0 = single use) and a refresh token was used again: often two tabs or processes refreshing at once. Keycloak invalidates the whole session.",
        "Serialize refreshes and store the newest refresh token; or turn off Revoke Refresh Token.")
        .prov("keycloak").when(&["refresh token reuse"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "PKCE verification failed",
        "Code verifier not specified, invalid (length or characters), not matching the challenge, an unsupported method, or a verifier sent when the authorize request had no challenge.",
        "Send the verifier of the same login with an unpadded S256 challenge at authorize.")
        .prov("keycloak").when(&["pkce"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "Found different client_id in clientSession / Client not allowed to exchange code",
        "The code is exchanged by another client than the one it was issued to, or Standard Flow is disabled on the client.",
        "Use the same client for both legs and enable Standard Flow.")
        .prov("keycloak").when(&["different client_id", "not allowed to exchange code"]).at(Token).see(SEE),
    Entry::new("unauthorized_client", SRC, "Invalid client or Invalid client credentials",
        "Keycloak answers unauthorized_client (not invalid_client, with HTTP 401) to a wrong or missing secret. Since Keycloak 20 it URL-decodes Basic credentials, so a raw secret with '+' or '%' fails.",
        "Check the client secret (Credentials tab); form-URL-encode id and secret inside the Basic header, or send them in the body.")
        .prov("keycloak").when(&["invalid client"]).at(Token).see(SEE),
    Entry::new("invalid_client_credentials", SRC, "The client credentials could not be decoded or are wrong",
        "A '%' in a raw Basic secret makes Keycloak's URL decoder fail; or a wrong secret.",
        "URL-encode the secret inside the Basic header, or regenerate an alphanumeric secret.")
        .prov("keycloak").at(Token).see(SEE),
    Entry::new("redirect_uri_mismatch", SRC, "Invalid parameter: redirect_uri",
        "Keycloak's login page shows this when the redirect_uri matches no Valid Redirect URIs entry (only a trailing * wildcard is supported; the query is ignored only if the registered URI has none).",
        "Add the exact redirect_uri (or a prefix ending in *) to the client's Valid Redirect URIs.")
        .prov("keycloak").when(&["invalid parameter: redirect_uri"]).at(Authorize).see(SEE),
    Entry::new("invalid_client", SRC, "Client not found / Client disabled",
        "The client_id does not exist in this realm or is disabled (wrong realm in the URL).",
        "Use the right realm and client id, and enable the client.")
        .prov("keycloak").when(&["client not found", "client disabled", "missing client_id"]).see(SEE),
];

/// How Keycloak is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "keycloak",
    name: "Keycloak",
    hosts: &[],
    path_hints: &["/realms/"],
    authorize_paths: &[],
    offline: Offline::Always,
    code_lifetime: Some(CodeLifetime {
        secs: 60,
        source: "Keycloak's default code lifetime (60 s, realm setting)",
    }),
    response_params: &["session_state", "iss"],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://www.keycloak.org/docs/latest/server_admin/",
};

//! oauthscope's own annotation codes (DESIGN.md), so `oauthscope explain
//! redirect_uri.mismatch` works like an error code.

use super::Endpoint::Annotation;
use super::Entry;

const SRC: &str = "oauthscope";
const SEE: &str = "DESIGN.md: Annotation codes";

const fn ann(
    code: &'static str,
    title: &'static str,
    causes: &'static str,
    fix: &'static str,
) -> Entry {
    Entry::new(code, SRC, title, causes, fix)
        .at(Annotation)
        .see(SEE)
}

/// Annotation-code entries.
pub static ENTRIES: &[Entry] = &[
    ann("redirect_uri.mismatch", "The token request's redirect_uri is not identical to the authorize request's (or the callback arrived elsewhere)",
        "evidence.kinds names each difference: trailing_slash, scheme, host, host_case, loopback_alias, port, path, path_case, percent_encoding, query, fragment, whitespace. RFC 6749 §4.1.3 requires the two values to be identical; providers answer invalid_grant or redirect_uri_mismatch.",
        "Send exactly the authorize request's redirect_uri (evidence.expected) in the token request, and register that string with the provider."),
    ann("redirect_uri.missing", "The authorize request sent a redirect_uri but the token request did not",
        "RFC 6749 §4.1.3 makes redirect_uri REQUIRED in the token request when the authorize request had one (Keycloak: Incorrect redirect_uri; Auth0: redirect_uri is required).",
        "Add the same redirect_uri to the token request."),
    ann("client_id.whitespace", "The client_id has leading or trailing whitespace",
        "Usually copied from an env file or secret store with a newline or BOM.", "Trim the configured client id."),
    ann("client_id.mismatch", "The client_id differs between the authorize and token requests",
        "Two app registrations mixed up (e.g. dev and prod), or the code is redeemed by another client.", "Use the same client for both legs."),
    ann("client_auth.multiple_methods", "The token request authenticates the client in more than one way",
        "An Authorization: Basic header and client_secret in the body (or a client_assertion) together; RFC 6749 §2.3 forbids it and e.g. Okta rejects it.",
        "Send the credentials one way only."),
    ann("client_auth.basic_malformed", "The Authorization: Basic header cannot be decoded as id:secret",
        "Not base64, base64 encoded twice, or no ':' separator.", "Send base64(urlencode(id) ':' urlencode(secret)) once."),
    ann("client_auth.basic_not_urlencoded", "The Basic credentials hold characters a strict server decodes differently",
        "RFC 6749 §2.3.1 wants id and secret form-URL-encoded before base64; a raw '+', '%', '/', '=' or ':' works only if client and server agree (Keycloak 20+ decodes, older servers do not).",
        "URL-encode id and secret inside the header, switch to client_secret_post, or regenerate an alphanumeric secret."),
    ann("token_request.json_body", "The token request has a JSON body",
        "RFC 6749 wants application/x-www-form-urlencoded; Entra (AADSTS900144), Discord (unsupported_grant_type), HubSpot (415), Cognito and Xero reject JSON.",
        "Send the token request as a form body."),
    ann("pkce.mismatch", "S256 of the code_verifier does not equal the code_challenge sent at authorize",
        "The verifier was regenerated or lost, or the challenge was padded, standard base64 or hex.",
        "Keep the verifier of this login and send BASE64URL(SHA256(verifier)) without padding."),
    ann("pkce.verifier_missing", "The authorize request had a code_challenge but the token request has no code_verifier",
        "The verifier was lost between the two legs (another server instance, a new session).", "Store the verifier with the login state and send it."),
    ann("pkce.plain_method", "PKCE uses the plain method (or omitted the method, which defaults to plain)",
        "code_challenge_method missing or `plain`; many servers require S256.", "Use code_challenge_method=S256."),
    ann("state.mismatch", "The callback's state matches no authorize request",
        "A stale tab, a second login started in another tab, state lost in the session, or a CSRF attempt.", "Keep the state per login and compare it on the callback."),
    ann("state.missing", "No state parameter",
        "The authorize request or callback carries no state; RFC 6749 §10.12 requires CSRF protection.", "Send a random state per login and check it on return."),
    ann("error.hidden_in_success", "An HTTP 2xx response carries an OAuth error",
        "GitHub (error=... with 200) and Slack ({\"ok\":false}) report errors with a success status; clients that check only the status treat them as success and fail later with \"no access_token\".",
        "Check the body for `error` (and Slack's `ok`) before using the response."),
    ann("diagnosis.code_expired", "The authorization code was redeemed after its lifetime",
        "The time between the callback and the token request exceeds the provider's code lifetime (about 10 minutes, Keycloak 60 s, Cognito 5 min).", "Redeem the code as soon as the callback arrives."),
    ann("diagnosis.code_reused", "The same authorization code was exchanged before",
        "A double callback, a page reload, or two components redeeming the same code.", "Redeem each code once."),
    ann("diagnosis.redirect_uri_mismatch", "The error is explained by a redirect_uri difference between the legs",
        "See redirect_uri.mismatch on the token request.", "Send the identical redirect_uri in both legs."),
    ann("diagnosis.client_id_mismatch", "The error is explained by a client_id difference between the legs",
        "See client_id.mismatch.", "Use the same client for both legs."),
    ann("diagnosis.pkce_mismatch", "The error is explained by a PKCE verifier that does not match the challenge",
        "See pkce.mismatch.", "Send the verifier of the same login."),
    ann("diagnosis.refresh_token_reused", "A refresh token was used again after rotation (or the first refresh failed)",
        "The provider rotates refresh tokens and the client kept the old one, refreshed concurrently, or the policy expires refresh tokens immediately.",
        "Store the newest refresh token from every response; serialize refreshes; check the refresh token policy."),
    ann("diagnosis.missing_offline_access", "No refresh_token was returned because none was asked for",
        "Neither offline_access nor access_type=offline (Google, with prompt=consent) nor token_access_type=offline (Dropbox) was requested.",
        "Request offline access the way the provider wants it."),
    ann("diagnosis.access_denied", "The user refused consent (or is not allowed to use the app)",
        "access_denied at authorize.", "Nothing is misconfigured if the user declined; otherwise check user assignment."),
    ann("diagnosis.token_url_not_found", "The token URL answered 404",
        "A wrong token endpoint path, tenant, realm or authorization server.", "Take the token_endpoint from the provider's discovery document."),
    ann("diagnosis.invalid_client_credentials", "Client authentication failed",
        "A wrong secret, or credentials sent in a way the client is not registered for.", "Check the secret and the client-authentication method."),
    ann("diagnosis.grant_type_not_enabled", "The grant type is not enabled for this client",
        "unauthorized_client / unsupported_grant_type for a grant the client is not configured for.", "Enable the grant type for the application."),
    ann("jwt.expired", "The ID token is expired", "Its exp is in the past (clock skew or a cached token).", "Use a fresh token; check clock skew."),
    ann("jwt.aud_mismatch", "The ID token's aud is not the client_id", "A token minted for another client.", "Validate tokens against your own client_id."),
    ann("jwt.nonce_mismatch", "The ID token's nonce differs from the authorize request's", "A replayed or mixed-up login.", "Keep the nonce per login and compare it."),
    ann("jwt.iss_mismatch", "The ID token's iss differs from the discovery issuer", "Another tenant or authorization server issued it.", "Use the issuer of the provider you configured."),
];

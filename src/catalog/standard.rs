//! Standard codes: RFC 6749, 6750, 7636, 8628, 9126, 7009, 8707, 9449,
//! 7591 and OpenID Connect Core.

use super::Endpoint::{Authorize, Resource, Token};
use super::Entry;

/// RFC and OpenID Connect error codes.
pub static ENTRIES: &[Entry] = &[
    // RFC 6749 §4.1.2.1 / §5.2 / RFC 6750 §3.1
    Entry::new(
        "invalid_request",
        "RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1",
        "The request is malformed: a parameter is missing, repeated, unsupported or invalid",
        "At authorize: missing response_type or client_id; PKCE required but code_challenge missing, or an unsupported code_challenge_method such as lowercase `s256` (RFC 7636 §4.4.1); the server requires PAR and no request_uri was sent (RFC 9126 §4). At the token endpoint: a JSON body sent to a form-only server; parameters in the query string; more than one client-authentication method at once (Basic header and client_secret in the body). At a resource server: the token passed in more than one way.",
        "Read error_description, compare the request with the provider's documentation, send one application/x-www-form-urlencoded body with each parameter once and a single client-authentication method.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc6749#section-5.2"),
    Entry::new(
        "invalid_request",
        "RFC 7636 §4.4.1",
        "PKCE: the code_challenge is missing or its method is not supported",
        "The server requires PKCE but the authorize request had no code_challenge, or code_challenge_method is not exactly `S256` (or `plain` is refused).",
        "Send code_challenge=BASE64URL(SHA256(verifier)) without padding and code_challenge_method=S256 (uppercase).",
    )
    .when(&["code challenge", "code_challenge", "transform algorithm", "pkce"])
    .at(Authorize)
    .see("https://www.rfc-editor.org/rfc/rfc7636#section-4.4.1"),
    Entry::new(
        "unauthorized_client",
        "RFC 6749 §4.1.2.1, §5.2",
        "The client is not allowed to use this grant type or response type",
        "The flow or grant is not enabled for the application (authorization code, implicit, client_credentials, refresh_token); the application type does not allow it (a SPA asking for client_credentials); a refresh token presented by a different client than the one it was issued to.",
        "Enable the grant type / response type for the application in the provider's console, or use the flow the application type allows.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc6749#section-5.2"),
    Entry::new(
        "access_denied",
        "RFC 6749 §4.1.2.1; RFC 8628 §3.5",
        "The user or the authorization server refused the request",
        "The user clicked Cancel or declined consent; the user is not assigned to the application or not allowed to use it; the app is in testing mode and the user is not a test user; with the device flow, the user denied the request.",
        "Nothing is misconfigured if the user declined; otherwise check user assignment and the app's publishing status. Stop polling on a device flow.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1"),
    Entry::new(
        "unsupported_response_type",
        "RFC 6749 §4.1.2.1",
        "The authorization server does not support this response_type",
        "response_type=token or id_token while the implicit flow is disabled; a typo in response_type.",
        "Use response_type=code (with PKCE) or enable the response type for the application.",
    )
    .at(Authorize)
    .see("https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1"),
    Entry::new(
        "invalid_scope",
        "RFC 6749 §4.1.2.1, §5.2",
        "A requested scope is invalid, unknown, malformed or exceeds what was granted",
        "A typo in a scope; a scope not granted to this client; scopes joined with commas instead of spaces; a refresh token request asking for more scope than the original grant (RFC 6749 §6).",
        "Request only scopes the provider documents and the application has been granted, space-separated; on refresh, ask for the same or fewer scopes.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc6749#section-5.2"),
    Entry::new(
        "server_error",
        "RFC 6749 §4.1.2.1",
        "The authorization server hit an unexpected condition (an HTTP 500 delivered through a redirect)",
        "A transient fault at the provider, or a provider-side bug triggered by an unusual request.",
        "Retry later; if it persists, capture the request and contact the provider.",
    )
    .at(Authorize)
    .see("https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1"),
    Entry::new(
        "temporarily_unavailable",
        "RFC 6749 §4.1.2.1",
        "The authorization server is overloaded or down for maintenance (an HTTP 503 delivered through a redirect)",
        "Temporary overload or maintenance at the provider.",
        "Retry later with back-off.",
    )
    .at(Authorize)
    .see("https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1"),
    Entry::new(
        "invalid_client",
        "RFC 6749 §5.2",
        "Client authentication failed: unknown client, no credentials, wrong secret or unsupported method",
        "A wrong, rotated or expired client secret; the secret's ID pasted instead of its value; credentials sent in the body when the server expects the Basic header or the reverse (token_endpoint_auth_method mismatch); a Basic header whose id and secret were not form-URL-encoded (RFC 6749 §2.3.1); trailing whitespace in the client id or secret. The server MUST answer 401 with WWW-Authenticate when the Basic header was used.",
        "Check the client id and secret against the provider console (regenerate the secret if unsure) and use the client-authentication method the client is registered for.",
    )
    .at(Token)
    .see("https://www.rfc-editor.org/rfc/rfc6749#section-5.2"),
    Entry::new(
        "invalid_grant",
        "RFC 6749 §5.2",
        "The authorization code, refresh token or other grant is invalid, expired, revoked or does not match",
        "The code was already used (double callback, page reload, two libraries redeeming it) or is older than its lifetime (about 10 minutes, often less); the token request's redirect_uri differs from the authorize request's or is missing; the code was issued to another client; the PKCE code_verifier does not match the code_challenge; the refresh token expired, was revoked, or was rotated and the old one reused.",
        "Redeem each code once, promptly, with exactly the same redirect_uri and the verifier of the same login; for refresh tokens, store the newest refresh token from every response and re-authenticate the user when it dies.",
    )
    .at(Token)
    .see("https://www.rfc-editor.org/rfc/rfc6749#section-5.2"),
    Entry::new(
        "invalid_grant",
        "RFC 7523 §3.1",
        "The assertion (JWT bearer grant) is invalid: signature, iss, sub, aud, exp or jti rejected",
        "On a jwt-bearer (or SAML bearer) grant, invalid_grant is about the assertion, not a code: a signature made with a key the provider does not have for this issuer, iss/sub not the registered service account or client, aud not the token endpoint (or the provider's expected audience), exp passed or too far ahead, iat in the future (clock skew), a jti already used, or the subject not allowed to be impersonated (domain-wide delegation not granted).",
        "Decode the assertion and compare iss, sub, aud, exp and iat with what the provider documents; sign with the current private key; sync the clock; grant the delegation or impersonation the subject needs.",
    )
    .at(Token)
    .for_grants(&[
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:saml2-bearer",
    ])
    .see("https://www.rfc-editor.org/rfc/rfc7523#section-3.1"),
    Entry::new(
        "invalid_grant",
        "RFC 7636 §4.6",
        "PKCE verification failed: the code_verifier does not match the code_challenge",
        "The verifier was regenerated (second page load, another tab) or lost (stored on another server instance); the challenge was padded or standard base64, or a hex digest; a verifier sent without a stored challenge or the reverse.",
        "Keep the verifier of this login until the token request and send code_challenge = BASE64URL(SHA256(verifier)) without '=' padding (43 characters).",
    )
    .when(&["pkce", "code verifier", "code_verifier", "code challenge"])
    .at(Token)
    .see("https://www.rfc-editor.org/rfc/rfc7636#section-4.6"),
    Entry::new(
        "unsupported_grant_type",
        "RFC 6749 §5.2",
        "The authorization server does not support this grant_type",
        "A misspelled grant_type; a body the server could not parse (JSON sent to a form-only endpoint: Discord answers this); parameters in the query string instead of the body; a grant type the provider does not offer.",
        "Send grant_type spelled as the RFC defines it in an application/x-www-form-urlencoded body.",
    )
    .at(Token)
    .see("https://www.rfc-editor.org/rfc/rfc6749#section-5.2"),
    Entry::new(
        "invalid_token",
        "RFC 6750 §3.1",
        "The access token is expired, revoked, malformed or otherwise invalid",
        "The access token expired; it was revoked or the session ended; it is meant for another API (audience); a DPoP-bound token sent as Bearer; the Authorization header is malformed.",
        "Refresh the access token (or log in again) and retry; check the token's audience and that it is sent as `Authorization: Bearer <token>`.",
    )
    .at(Resource)
    .see("https://www.rfc-editor.org/rfc/rfc6750#section-3.1"),
    Entry::new(
        "insufficient_scope",
        "RFC 6750 §3.1",
        "The access token lacks the scope this request needs",
        "The token was issued for fewer scopes than the API call requires; consent was given for fewer scopes.",
        "Request the scope named in the WWW-Authenticate `scope` attribute (or the API documentation) and obtain a new token.",
    )
    .at(Resource)
    .see("https://www.rfc-editor.org/rfc/rfc6750#section-3.1"),
    // RFC 8628
    Entry::new(
        "authorization_pending",
        "RFC 8628 §3.5",
        "Device flow: the user has not finished authorizing yet (normal while polling)",
        "The client is polling the token endpoint while the user is still entering the code.",
        "Keep polling, waiting at least `interval` seconds (5 when absent) between requests.",
    )
    .at(Token)
    .see("https://www.rfc-editor.org/rfc/rfc8628#section-3.5"),
    Entry::new(
        "slow_down",
        "RFC 8628 §3.5",
        "Device flow: still pending, and the client is polling too fast",
        "The client polls more often than `interval` allows.",
        "Add 5 seconds to the polling interval for this and all later requests (GitHub returns the new interval).",
    )
    .at(Token)
    .see("https://www.rfc-editor.org/rfc/rfc8628#section-3.5"),
    Entry::new(
        "expired_token",
        "RFC 8628 §3.5",
        "Device flow: the device_code expired before the user finished",
        "The user took longer than the device code's lifetime (GitHub: 900 s). Some resource servers also use this name for an expired access token.",
        "Start a new device authorization request and show the user the new code.",
    )
    .alias(&["token_expired"])
    .at(Token)
    .see("https://www.rfc-editor.org/rfc/rfc8628#section-3.5"),
    // RFC 7009, 8707, 9449
    Entry::new(
        "unsupported_token_type",
        "RFC 7009 §2.2.1",
        "Revocation: the server cannot revoke this type of token",
        "The server revokes only refresh tokens (or only access tokens) and was given the other kind.",
        "Revoke the token type the server supports (usually the refresh token), or send a correct token_type_hint.",
    )
    .at(Token)
    .see("https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1"),
    Entry::new(
        "invalid_target",
        "RFC 8707 §2",
        "The requested `resource` is invalid, unknown or not allowed for this client",
        "A `resource` that is not an absolute URI, has a fragment, or is not registered; several resources joined in one value instead of repeated `resource=` parameters; a token request widening the resources of the code grant.",
        "Send each resource as its own absolute `resource=` parameter, only ones the client may use, and the same set at authorize and token.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc8707#section-2"),
    Entry::new(
        "invalid_dpop_proof",
        "RFC 9449",
        "The DPoP proof is missing or invalid",
        "Wrong `typ` (must be dpop+jwt); a symmetric algorithm; bad signature; `htm`/`htu` not matching the request (htu excludes query and fragment; proxies rewriting scheme or host break it); stale `iat`; replayed `jti`; several DPoP headers.",
        "Build a fresh proof per request with the exact method and URL the server sees, signed with the key whose public JWK is in the header.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc9449"),
    Entry::new(
        "use_dpop_nonce",
        "RFC 9449 §8, §9",
        "The server requires a DPoP nonce: retry with the nonce it sent",
        "The authorization server or resource server requires a server-provided nonce and sent it in the DPoP-Nonce header.",
        "Retry once with the `nonce` claim set to the DPoP-Nonce value; nonces from the authorization server and the resource server are different.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc9449#section-9"),
    // OIDC Core §3.1.2.6
    Entry::new(
        "interaction_required",
        "OpenID Connect Core §3.1.2.6",
        "The provider needs user interaction it could not show (prompt=none)",
        "prompt=none (silent login / token renewal) while MFA, consent, a Conditional Access step or another screen is required. Entra also returns it at the token endpoint.",
        "Fall back to an interactive login (without prompt=none).",
    )
    .at(Authorize)
    .see("https://openid.net/specs/openid-connect-core-1_0.html#AuthError"),
    Entry::new(
        "login_required",
        "OpenID Connect Core §3.1.2.6",
        "The provider needs the user to log in (prompt=none and no usable session)",
        "prompt=none with no session at the provider, or a session the browser hid from a silent iframe (third-party cookie blocking); prompt=login that could not re-authenticate.",
        "Fall back to an interactive login; for silent renewal prefer refresh tokens over iframes.",
    )
    .at(Authorize)
    .see("https://openid.net/specs/openid-connect-core-1_0.html#AuthError"),
    Entry::new(
        "account_selection_required",
        "OpenID Connect Core §3.1.2.6",
        "The user must choose one of several signed-in accounts (prompt=none)",
        "prompt=none while several sessions exist at the provider.",
        "Fall back to an interactive login (prompt=select_account), or pass login_hint.",
    )
    .at(Authorize)
    .see("https://openid.net/specs/openid-connect-core-1_0.html#AuthError"),
    Entry::new(
        "consent_required",
        "OpenID Connect Core §3.1.2.6",
        "The user has not consented to this application or scope (prompt=none)",
        "prompt=none and consent not given yet, or new scopes were added to the request.",
        "Fall back to an interactive login so the user can consent (or have an admin grant consent).",
    )
    .at(Authorize)
    .see("https://openid.net/specs/openid-connect-core-1_0.html#AuthError"),
    Entry::new(
        "invalid_request_uri",
        "OpenID Connect Core §3.1.2.6; RFC 9126 §4",
        "The request_uri is invalid, expired, already used or unreachable",
        "A PAR request_uri used after its expires_in (often 60 s) or used twice; a request_uri the provider could not fetch.",
        "Push a fresh authorization request (PAR) for every login and redirect to it promptly, once.",
    )
    .at(Authorize)
    .see("https://www.rfc-editor.org/rfc/rfc9126#section-4"),
    Entry::new(
        "invalid_request_object",
        "OpenID Connect Core §3.1.2.6; RFC 9101",
        "The `request` object (JAR) is invalid",
        "Bad signature or unsupported algorithm; wrong `aud` or `iss`; expired; decryption failed.",
        "Sign the request object with the registered key, aud = the provider's issuer, iss = client_id, with a short valid exp.",
    )
    .at(Authorize)
    .see("https://openid.net/specs/openid-connect-core-1_0.html#AuthError"),
    Entry::new(
        "request_not_supported",
        "OpenID Connect Core §3.1.2.6",
        "The provider does not support the `request` parameter",
        "A request object sent to a provider without JAR support.",
        "Send the parameters directly (or via PAR if supported).",
    )
    .at(Authorize)
    .see("https://openid.net/specs/openid-connect-core-1_0.html#AuthError"),
    Entry::new(
        "request_uri_not_supported",
        "OpenID Connect Core §3.1.2.6",
        "The provider does not support the `request_uri` parameter",
        "A request_uri sent to a provider that does not offer it.",
        "Send the parameters directly in the authorization request.",
    )
    .at(Authorize)
    .see("https://openid.net/specs/openid-connect-core-1_0.html#AuthError"),
    Entry::new(
        "registration_not_supported",
        "OpenID Connect Core §3.1.2.6",
        "The provider does not support the `registration` parameter",
        "A `registration` parameter sent to a provider without that feature.",
        "Register the client in advance and drop the parameter.",
    )
    .at(Authorize)
    .see("https://openid.net/specs/openid-connect-core-1_0.html#AuthError"),
    Entry::new(
        "unmet_authentication_requirements",
        "OpenID Connect extension",
        "The provider could not meet the requested authentication requirements (acr / max_age)",
        "An `acr` value the provider cannot satisfy, or essential claims it cannot deliver.",
        "Relax acr_values / claims, or configure the provider to support them.",
    )
    .at(Authorize)
    .see("https://openid.net/specs/openid-connect-unmet-authentication-requirements-1_0.html"),
    // RFC 7591 and other common codes
    Entry::new(
        "invalid_redirect_uri",
        "RFC 7591 §3.2.2",
        "Dynamic registration: a redirect URI in the client metadata is invalid",
        "A redirect URI with a fragment, a non-absolute URI, or one the server's policy forbids.",
        "Register absolute redirect URIs without fragments that the provider's policy allows.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2"),
    Entry::new(
        "invalid_client_metadata",
        "RFC 7591 §3.2.2",
        "Dynamic registration: a client metadata value is invalid",
        "An unsupported grant type, auth method or other metadata value in the registration request.",
        "Fix the metadata named in error_description.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2"),
    Entry::new(
        "invalid_software_statement",
        "RFC 7591 §3.2.2",
        "Dynamic registration: the software statement is invalid",
        "A software statement with a bad signature or claims the server does not accept.",
        "Obtain a valid software statement from its issuer.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2"),
    Entry::new(
        "unapproved_software_statement",
        "RFC 7591 §3.2.2",
        "Dynamic registration: the software statement is not approved by this server",
        "The server does not trust the software statement's issuer.",
        "Use a software statement the server accepts.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2"),
    Entry::new(
        "redirect_uri_mismatch",
        "non-standard (GitHub, Google, Salesforce, ...)",
        "The redirect_uri is not registered for the client, or differs from the one used at authorize",
        "A different scheme, host, port, path, trailing slash, case or encoding than the registered URI; a token-leg redirect_uri that differs from the authorize leg; a console change that has not propagated yet.",
        "Copy the redirect_uri from the captured request and register exactly that string (or fix the app to send the registered one); use the same value in the token request.",
    )
    .see("https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2"),
    Entry::new(
        "invalid_resource",
        "non-standard (Entra ID)",
        "The requested resource or API is not found or not configured in the tenant",
        "A resource / scope URI for an API that is not registered in the tenant.",
        "Check the API identifier (application ID URI) and that it exists in the tenant.",
    )
    .prov("entra")
    .see("https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes"),
];

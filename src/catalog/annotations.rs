//! oauthscope's own annotation codes, each declared once: code, default
//! severity, title, causes and fix. Rules build their annotations from these
//! ([`Code::annotation`]) and add only what the case shows (the specifics in
//! the title after a colon, the detail, the evidence), so `oauthscope
//! explain CODE`, the live line, `flows show` and the web UI read the same
//! words; docs/annotations.md is generated from this table.

use super::Endpoint::Annotation as AtAnnotation;
use super::Entry;
use crate::record::{Annotation, Severity};
use serde_json::Value;

const SRC: &str = "oauthscope";
const SEE: &str = "docs/annotations.md in the oauthscope repository";

/// One annotation code: its stable name (docs/annotations.md), the severity
/// a finding of it has unless the rule says otherwise, the one-line title,
/// what usually causes it and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// Stable machine-readable code (`redirect_uri.mismatch`).
    pub code: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// One-line meaning, the start of every annotation's title.
    pub title: &'static str,
    /// What usually causes it (shown by `explain`).
    pub causes: &'static str,
    /// What to do.
    pub fix: &'static str,
}

impl Code {
    /// An annotation of this code: the declared title and severity, the
    /// rule's `detail` (what this case shows and what to do about it) and
    /// its evidence. Refine with [`Annotation::about`] and
    /// [`Annotation::with_severity`].
    pub fn annotation(&self, detail: impl Into<String>, evidence: Value) -> Annotation {
        Annotation::new(self.code, self.severity, self.title, detail, evidence)
    }

    /// The catalog entry `explain` shows.
    pub const fn entry(&self) -> Entry {
        Entry::new(self.code, SRC, self.title, self.causes, self.fix)
            .at(AtAnnotation)
            .see(SEE)
    }
}

macro_rules! codes {
    ($($name:ident = $code:literal, $sev:ident, $title:literal, $causes:literal, $fix:literal;)*) => {
        $(
            #[doc = concat!("`", $code, "`: ", $title, ".")]
            pub const $name: Code = Code {
                code: $code,
                severity: Severity::$sev,
                title: $title,
                causes: $causes,
                fix: $fix,
            };
        )*
        /// Every annotation code, in declaration order.
        pub static ALL: &[Code] = &[$($name),*];
        /// The catalog entries of [`ALL`].
        pub static ENTRIES: &[Entry] = &[$($name.entry()),*];
    };
}

codes! {
    REDIRECT_URI_MISMATCH = "redirect_uri.mismatch", Error,
        "redirect_uri differs between the legs",
        "evidence.kinds names each difference: trailing_slash, scheme, host, host_case, loopback_alias, port, path, path_case, percent_encoding, query, fragment, whitespace. RFC 6749 §4.1.3 requires the two values to be identical; providers answer invalid_grant or redirect_uri_mismatch.",
        "Send exactly the authorize request's redirect_uri (evidence.expected) in the token request, and register that string with the provider.";
    REDIRECT_URI_MISSING = "redirect_uri.missing", Error,
        "redirect_uri missing from the token request",
        "RFC 6749 §4.1.3 makes redirect_uri REQUIRED in the token request when the authorize request had one (Keycloak: Incorrect redirect_uri; Auth0: redirect_uri is required).",
        "Add the same redirect_uri to the token request.";
    CLIENT_ID_WHITESPACE = "client_id.whitespace", Error,
        "client_id has leading or trailing whitespace",
        "Usually copied from an env file or secret store with a newline or BOM.",
        "Trim the configured client id.";
    CLIENT_ID_MISMATCH = "client_id.mismatch", Error,
        "client_id differs between the legs",
        "Two app registrations mixed up (e.g. dev and prod), or the code is redeemed by another client.",
        "Use the same client for both legs.";
    CLIENT_AUTH_MULTIPLE_METHODS = "client_auth.multiple_methods", Error,
        "The client authenticates in more than one way",
        "An Authorization: Basic header and client_secret in the body (or a client_assertion) together; RFC 6749 §2.3 forbids it and e.g. Okta rejects it.",
        "Send the credentials one way only.";
    CLIENT_AUTH_BASIC_MALFORMED = "client_auth.basic_malformed", Error,
        "Unreadable Authorization: Basic header",
        "Not base64, base64 encoded twice, or no ':' separator.",
        "Send base64(urlencode(id) ':' urlencode(secret)) once.";
    CLIENT_AUTH_BASIC_NOT_URLENCODED = "client_auth.basic_not_urlencoded", Warning,
        "Basic credentials not URL-encoded",
        "RFC 6749 §2.3.1 wants id and secret form-URL-encoded before base64; a raw '+', '%', '/', '=' or ':' works only if client and server agree (Keycloak 20+ decodes, older servers do not).",
        "URL-encode id and secret inside the header, switch to client_secret_post, or regenerate an alphanumeric secret.";
    TOKEN_REQUEST_JSON_BODY = "token_request.json_body", Warning,
        "Body is JSON, not application/x-www-form-urlencoded",
        "RFC 6749 wants application/x-www-form-urlencoded; Entra (AADSTS900144), Discord (unsupported_grant_type), HubSpot (415), Cognito and Xero reject JSON.",
        "Send the token request as a form body.";
    TOKEN_REQUEST_GRANT_TYPE_ENCODED_TWICE = "token_request.grant_type_encoded_twice", Error,
        "grant_type is percent-encoded twice",
        "After form decoding, the grant_type still holds percent escapes (`urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code`): the client encoded an already encoded value, and the server sees a grant type it does not know (unsupported_grant_type). RFC 6749 Appendix B: encode each value once.",
        "Give the HTTP library the plain value (`urn:ietf:params:oauth:grant-type:device_code`) and let it encode the form once.";
    PKCE_MISMATCH = "pkce.mismatch", Error,
        "code_verifier does not match the code_challenge",
        "The verifier was regenerated or lost, or the challenge was padded, standard base64 or hex.",
        "Keep the verifier of this login and send BASE64URL(SHA256(verifier)) without padding.";
    PKCE_VERIFIER_MISSING = "pkce.verifier_missing", Error,
        "code_verifier missing from the token request",
        "The verifier was lost between the two legs (another server instance, a new session).",
        "Store the verifier with the login state and send it.";
    PKCE_PLAIN_METHOD = "pkce.plain_method", Warning,
        "PKCE uses the plain method",
        "code_challenge_method missing or `plain`; many servers require S256.",
        "Use code_challenge_method=S256.";
    STATE_MISMATCH = "state.mismatch", Error,
        "state matches no authorization request",
        "A stale tab, a second login started in another tab, state lost in the session, or a CSRF attempt.",
        "Keep the state per login and compare it on the callback.";
    STATE_MISSING = "state.missing", Warning,
        "No state parameter",
        "The authorize request or callback carries no state; RFC 6749 §10.12 requires CSRF protection.",
        "Send a random state per login and check it on return.";
    DIAGNOSIS_CODE_EXPIRED = "diagnosis.code_expired", Error,
        "The authorization code expired before it was redeemed",
        "The time between the callback and the token request exceeds the provider's code lifetime (about 10 minutes, Keycloak 60 s, Cognito 5 min).",
        "Redeem the code as soon as the callback arrives.";
    DIAGNOSIS_CODE_REUSED = "diagnosis.code_reused", Error,
        "The authorization code was already redeemed",
        "A double callback, a page reload, or two components redeeming the same code.",
        "Redeem each code once.";
    DIAGNOSIS_REDIRECT_URI_MISMATCH = "diagnosis.redirect_uri_mismatch", Error,
        "The redirect_uri caused the failure",
        "See redirect_uri.mismatch on the token request.",
        "Send the identical redirect_uri in both legs.";
    DIAGNOSIS_CLIENT_ID_MISMATCH = "diagnosis.client_id_mismatch", Error,
        "Caused by a client_id difference between the legs",
        "See client_id.mismatch.",
        "Use the same client for both legs.";
    DIAGNOSIS_PKCE_MISMATCH = "diagnosis.pkce_mismatch", Error,
        "Caused by a code_verifier that does not match the challenge",
        "See pkce.mismatch.",
        "Send the verifier of the same login.";
    DIAGNOSIS_REFRESH_TOKEN_REUSED = "diagnosis.refresh_token_reused", Error,
        "A refresh token was used again after rotation",
        "The provider rotates refresh tokens and the client kept the old one, refreshed concurrently, or the policy expires refresh tokens immediately.",
        "Store the newest refresh token from every response; serialize refreshes; check the refresh token policy.";
    DIAGNOSIS_MISSING_OFFLINE_ACCESS = "diagnosis.missing_offline_access", Warning,
        "No refresh_token: offline access was not asked for",
        "Neither offline_access nor access_type=offline (Google, with prompt=consent) nor token_access_type=offline (Dropbox) was requested.",
        "Request offline access the way the provider wants it.";
    DIAGNOSIS_ACCESS_DENIED = "diagnosis.access_denied", Error,
        "The user refused consent or may not use the app",
        "access_denied at authorize.",
        "Nothing is misconfigured if the user declined; otherwise check user assignment.";
    DIAGNOSIS_TOKEN_URL_NOT_FOUND = "diagnosis.token_url_not_found", Error,
        "The token URL is not the token endpoint",
        "A wrong token endpoint path, tenant, realm or authorization server.",
        "Take the token_endpoint from the provider's discovery document.";
    DIAGNOSIS_INVALID_CLIENT_CREDENTIALS = "diagnosis.invalid_client_credentials", Error,
        "The provider rejected the client credentials",
        "A wrong secret, or credentials sent in a way the client is not registered for.",
        "Check the secret and the client-authentication method.";
    DIAGNOSIS_CLIENT_GRANT_MISSING = "diagnosis.client_grant_missing", Error,
        "The client is not granted the API it asked a token for",
        "The provider accepted the client's credentials and refused a token for the requested audience, resource or scopes: no client grant (Auth0), no granted scopes (Okta), no app role or admin consent (Entra ID AADSTS501051/65001).",
        "Grant the client access to the API in the provider's settings.";
    DIAGNOSIS_GRANT_TYPE_NOT_ENABLED = "diagnosis.grant_type_not_enabled", Error,
        "The grant is not enabled for this client",
        "unauthorized_client / unsupported_grant_type for a grant the client is not configured for.",
        "Enable the grant type for the application.";
    JWT_EXPIRED = "jwt.expired", Error,
        "ID token already expired",
        "Its exp is in the past (clock skew or a cached token).",
        "Use a fresh token; check clock skew.";
    JWT_AUD_MISMATCH = "jwt.aud_mismatch", Error,
        "ID token audience is not this client",
        "A token minted for another client.",
        "Validate tokens against your own client_id.";
    JWT_NONCE_MISMATCH = "jwt.nonce_mismatch", Error,
        "ID token nonce differs from the authorization request",
        "A replayed or mixed-up login.",
        "Keep the nonce per login and compare it.";
    JWT_KID_NOT_FOUND = "jwt.kid_not_found", Error,
        "ID token signed with a key the provider's JWKS does not list",
        "The ID token's header kid names no key of the JWKS the capture fetched from the provider (RFC 7517 §4.5, OIDC Core §10.1.1): the client cannot verify it (Microsoft.IdentityModel IDX10501/IDX10503, jose 'no applicable key found'). A key rotated after the client cached the JWKS, a token from another tenant or environment, or a client pointed at the wrong jwks_uri.",
        "Refetch the JWKS when a kid is unknown (most libraries can), and check that the jwks_uri and issuer are the provider's that issued the token.";
    JWT_ISS_MISMATCH = "jwt.iss_mismatch", Error,
        "ID token iss differs from the discovery issuer",
        "Another tenant or authorization server issued it.",
        "Use the issuer of the provider you configured.";
    ERROR_HIDDEN_IN_SUCCESS = "error.hidden_in_success", Error,
        "An HTTP 2xx response carries an OAuth error",
        "GitHub (error=... with 200) and Slack ({\"ok\":false}) report errors with a success status; clients that check only the status treat them as success and fail later with \"no access_token\".",
        "Check the body for `error` (and Slack's `ok`) before using the response.";
    FLAVOUR_DETECTED = "flavour.detected", Info,
        "Token-exchange flavour",
        "Informational: the flavour number (1-6, listed in docs/record-format.md), the client authentication (basic_urlencoded, basic_raw, body, private_key_jwt, client_secret_jwt, none, multiple, basic_malformed) and the body (form, json). 1 and 5 (2 and 6) are the same bytes when nothing in the id or secret changes under URL-encoding.",
        "When a provider rejects the client, run `oauthscope probe` to see which flavours it accepts.";
    CLIENT_AUTH_ASSERTION_MALFORMED = "client_auth.assertion_malformed", Warning,
        "client_assertion is not a usable JWT",
        "Not three base64url parts, an unreadable header, or alg missing, `none` or unknown (RFC 7523 §3).",
        "Sign the assertion with the key registered for the client (RS256/ES256 for private_key_jwt, HS256 for client_secret_jwt).";
    CLIENT_AUTH_ASSERTION_TYPE = "client_auth.assertion_type", Warning,
        "client_assertion_type is missing or not jwt-bearer",
        "RFC 7523 §2.2 requires client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer next to client_assertion.",
        "Send the jwt-bearer assertion type.";
    REDIRECT_URI_NOT_REGISTERED = "redirect_uri.not_registered", Error,
        "redirect_uri not registered",
        "evidence names the closest registered URI with the kinds of difference and a caret line; providers answer redirect_uri_mismatch (AADSTS50011, Google Error 400) at the authorization endpoint.",
        "Register the exact URI the app sends, or make the app send a registered one.";
    REDIRECT_URI_TOKEN_ONLY = "redirect_uri.token_only", Warning,
        "redirect_uri sent to the token endpoint only",
        "Some servers then compare it with the registered default and fail; RFC 6749 §4.1.3 only requires it when authorize sent one.",
        "Send redirect_uri in both legs or in neither.";
    REDIRECT_URI_LOOPBACK_PORT = "redirect_uri.loopback_port", Info,
        "Loopback redirect_uri differs only by port (allowed)",
        "RFC 8252 §7.3: authorization servers must allow any port for loopback IP redirect URIs (127.0.0.1, [::1]), so this is fine for conforming servers; `localhost` does not get this treatment.",
        "Nothing to do unless the provider is not RFC 8252 conformant; then register the port.";
    PKCE_CHALLENGE_MALFORMED = "pkce.challenge_malformed", Warning,
        "S256 code_challenge is not 43 base64url characters",
        "Padding '=' or '+' '/' (standard base64 instead of base64url), or the wrong length (RFC 7636 §4.2).",
        "Encode SHA-256(verifier) with base64url without padding.";
    PKCE_VERIFIER_MALFORMED = "pkce.verifier_malformed", Warning,
        "code_verifier breaks RFC 7636 §4.1",
        "Shorter than 43 or longer than 128 characters, or characters outside [A-Za-z0-9-._~]; strict servers reject it.",
        "Generate 32 random bytes and base64url-encode them without padding.";
    PKCE_METHOD_UNKNOWN = "pkce.method_unknown", Warning,
        "Unknown code_challenge_method",
        "The method names are case-sensitive (`s256` is not `S256`).",
        "Send code_challenge_method=S256.";
    PKCE_VERIFIER_WITHOUT_CHALLENGE = "pkce.verifier_without_challenge", Warning,
        "code_verifier sent without a code_challenge at authorize",
        "The PKCE state of two logins was mixed, or the challenge was dropped from the authorize URL; some servers reject the verifier.",
        "Send the challenge at authorize, or no verifier.";
    STATE_UNVERIFIED = "state.unverified", Info,
        "state not checked: no authorization request captured",
        "The browser leg went around the proxy (or the capture started late).",
        "Capture the browser leg too (point the browser at the proxy) to check state.";
    JWT_MALFORMED = "jwt.malformed", Warning,
        "id_token does not decode as a JWT",
        "Not a JWS of three base64url parts with JSON header and claims.",
        "Check what the provider returned in id_token.";
    JWT_ENCRYPTED = "jwt.encrypted", Info,
        "ID token is encrypted (JWE): claims not checked",
        "Five parts: the client registered an ID token encryption key.",
        "Decrypt it with the client's key to inspect the claims.";
    TOKEN_RESPONSE_NOT_JSON = "token_response.not_json", Warning,
        "Successful token response is not a JSON object",
        "GitHub answers form-encoded unless the request says Accept: application/json; RFC 6749 §5.1 requires application/json.",
        "Send Accept: application/json, or parse the form body.";
    TOKEN_RESPONSE_TOKEN_TYPE_MISSING = "token_response.token_type_missing", Warning,
        "Token response has no token_type",
        "RFC 6749 §5.1 requires it; strict clients fail.",
        "Nothing to do on the client if the provider omits it; report it to the provider.";
    TOKEN_RESPONSE_TOKEN_TYPE_UNUSUAL = "token_response.token_type_unusual", Warning,
        "Unusual token_type",
        "Providers such as Slack send `bot`/`user`; strict clients reject unknown types.",
        "Treat the token as the provider documents.";
    TOKEN_RESPONSE_EXPIRES_IN_STRING = "token_response.expires_in_string", Warning,
        "expires_in is a JSON string, not a number",
        "Some providers quote it; clients that expect a number fail to parse it.",
        "Parse expires_in leniently.";
    TOKEN_RESPONSE_EXPIRES_IN_INVALID = "token_response.expires_in_invalid", Warning,
        "expires_in is not a non-negative whole number",
        "A provider or gateway bug.",
        "Treat the token lifetime as unknown and refresh on 401.";
    TOKEN_RESPONSE_ACCESS_TOKEN_MISSING = "token_response.access_token_missing", Warning,
        "Successful token response has no access_token",
        "Often an error hidden in a 2xx body, or an ID-token-only response.",
        "Look for `error` in the body.";
    TOKEN_RESPONSE_NO_REFRESH_TOKEN = "token_response.no_refresh_token", Warning,
        "No refresh_token came back",
        "Offline access was not asked for, or the provider only issues one on first consent.",
        "Ask for offline_access (or access_type=offline&prompt=consent for Google).";
    TOKEN_RESPONSE_CACHE_HEADERS = "token_response.cache_headers", Info,
        "Token response lacks Cache-Control: no-store",
        "RFC 6749 §5.1 asks for no-store so tokens are not cached.",
        "Informational; report it to the provider.";
    DIAGNOSIS_SILENT_AUTH_FAILED = "diagnosis.silent_auth_failed", Info,
        "Silent sign-in (prompt=none) needs the user",
        "login_required, consent_required, interaction_required or account_selection_required after prompt=none: the user has no session or must consent. This is normal, not a misconfiguration.",
        "Fall back to an interactive login (without prompt=none).";
    DIAGNOSIS_CODE_ALTERED = "diagnosis.code_altered", Error,
        "The code sent is not the code delivered",
        "The token request's code is the delivered code with something appended (a hand-cut callback URL keeping \"&scope=...\"), prepended, cut short, still URL-encoded or decoded twice. evidence.kinds names how; evidence.difference shows what changed.",
        "Read the code from the callback with a URL parser, decode it once, and send it unchanged.";
    DIAGNOSIS_TOKEN_KIND_SWAPPED = "diagnosis.token_kind_swapped", Error,
        "A value was sent as another kind of token than it was issued as",
        "The app stored its tokens under the wrong names: an access token sent as refresh_token, a refresh token sent as code. evidence.issued_by and issued_field name the record and field that issued the value.",
        "Persist each field of the token response under its own name and send the refresh_token field when refreshing.";
    DIAGNOSIS_CLIENT_AUTH_METHOD_REJECTED = "diagnosis.client_auth_method_rejected", Error,
        "The provider rejected how the client authenticated, not the credentials",
        "The error names a credential as missing that the request sent the other way (Basic header vs body), names the authentication method, or the same client succeeded at the same token URL another way.",
        "Send the credentials the way the provider reads them (client_secret_basic vs client_secret_post); `oauthscope probe` tries all six flavours.";
    DIAGNOSIS_PUBLIC_CLIENT_NOT_ALLOWED = "diagnosis.public_client_not_allowed", Warning,
        "A public client was refused by a confidential registration",
        "The request sent no secret or assertion on a grant public clients use (device code, PKCE-only, refresh), and the provider wants client authentication (Entra AADSTS7000218).",
        "Change the app registration: allow public client flows (Entra) or mark the client public; never add a secret to a device, desktop or browser app.";
    DIAGNOSIS_POLLING_TOO_FAST = "diagnosis.polling_too_fast", Warning,
        "The device-flow client polled before the interval",
        "RFC 8628 §3.5: wait `interval` seconds (5 by default) between polls and 5 more after each slow_down. evidence.gaps lists each gap against the interval then in force.",
        "Sleep the current interval after each response and raise it on slow_down.";
    DIAGNOSIS_ENDPOINT_VERSION_MISMATCH = "diagnosis.endpoint_version_mismatch", Error,
        "Authorize and token legs use different endpoint versions",
        "Slack /oauth/v2/authorize with oauth.access (v1) or the reverse; Entra v1.0 and v2.0 endpoints mixed. Codes are bound to the family that issued them.",
        "Use one version for both legs.";
    DIAGNOSIS_CONCURRENT_LOGINS = "diagnosis.concurrent_logins", Error,
        "A second login in the same browser replaced the state this callback needed",
        "Two tabs (or a retry) started logins; the app keeps one pending state/nonce in a cookie, so the first login's valid callback meets the second login's cookie (evidence.kinds cookie_overwritten), or keeps one pending login per server-side session, so two login starts on one session cookie break the first (server_session). evidence names both login starts or authorize requests and the cookie.",
        "Key pending logins by state instead of a single cookie slot, or refuse a second login while one is pending.";
    DIAGNOSIS_COOKIE_HOST_MISMATCH = "diagnosis.cookie_host_mismatch", Error,
        "The app's login cookie was set on another host than the callback's",
        "The login start set the state cookie on one host while redirect_uri sends the browser to another (localhost vs 127.0.0.1 vs [::1], or a Domain that does not cover the callback's host; RFC 6265bis §5.8.3). evidence.kinds: host, domain, foreign_domain (a Domain the browser refused when it was set). Every other reason the cookie stays behind is diagnosis.state_cookie_lost.",
        "Start the login on the redirect_uri's host, or give the cookie a Domain that covers both.";
    DIAGNOSIS_STATE_COOKIE_LOST = "diagnosis.state_cookie_lost", Error,
        "The app's login cookie did not come back with the callback",
        "The login start stored its state / nonce / PKCE verifier (or its session) in a cookie, and the browser left it off the callback, for the reason in evidence.kinds (RFC 6265bis §5.7, §5.8.3): samesite_strict, samesite_lax_form_post (form_post is a cross-site POST), samesite_lax_frame, lax_by_default_post, third_party, secure_over_http, path, expired, cleared, not_sent (the capture shows no reason), or why the browser refused to store it: too_large, secure_from_insecure_origin, host_prefix, secure_prefix, samesite_none_without_secure. A host mismatch is diagnosis.cookie_host_mismatch.",
        "Give the cookie what the way back needs (SameSite=Lax for a GET callback, SameSite=None; Secure for form_post or an iframe, Path=/, a long enough Max-Age), or keep the login state server-side.";
    DIAGNOSIS_GRANT_TYPE_MISSING = "diagnosis.grant_type_missing", Error,
        "No grant_type, and this provider requires it",
        "Code written for GitHub or Slack (which accept a code exchange without grant_type) pointed at an RFC 6749 server, which answers invalid_request \"Missing parameter: grant_type\".",
        "Add grant_type=authorization_code to the token request body.";
    DIAGNOSIS_PKCE_REQUIRED = "diagnosis.pkce_required", Error,
        "The provider requires PKCE and the authorize request sent no code_challenge",
        "The provider (or this client's configuration) requires RFC 7636 PKCE; the authorize request carried no code_challenge.",
        "Send code_challenge (S256) at authorize and code_verifier at the token endpoint.";
    DIAGNOSIS_TOKEN_ENDPOINT_REGION_MISMATCH = "diagnosis.token_endpoint_region_mismatch", Error,
        "The code was redeemed at another server than the one the callback named",
        "Providers with regional data centres or per-tenant hosts name the server in the redirect back (Zoho `accounts-server=https://accounts.zoho.eu` and `location=eu`, Shopify `shop=NAME.myshopify.com`); a client that redeems at a hard-coded default host gets invalid_client, invalid_code or invalid_grant, often in an HTTP 200.",
        "Take the token endpoint's host from the callback's parameter (evidence.param) and redeem the code there.";
    DIAGNOSIS_REDIRECT_URI_SCHEME_DOWNGRADE = "diagnosis.redirect_uri_scheme_downgrade", Error,
        "The app was reached over https but its redirect_uri says http",
        "A TLS-terminating proxy or load balancer in front of the app: the app sees plain http and builds `http://` redirect URIs (Express without `trust proxy`, Spring without `server.forward-headers-strategy`, Django without `SECURE_PROXY_SSL_HEADER`, ASP.NET without forwarded headers). The provider has only the https URI registered and refuses the authorize request.",
        "Make the app trust the proxy's X-Forwarded-Proto (or configure its public base URL), so it builds the https redirect_uri that is registered.";
    DIAGNOSIS_ACCESS_TOKEN_REJECTED = "diagnosis.access_token_rejected", Error,
        "The API refused the access token",
        "A resource server answered 401/403 with an RFC 6750 challenge (invalid_token, insufficient_scope). The usual causes, each checked against the records: the token expired (its exp, or expires_in of the response that issued it), it was issued for another API (audience), it lacks a scope, or it was revoked.",
        "Refresh the token before it expires; ask for a token whose audience/resource is this API and whose scopes it requires.";
    DIAGNOSIS_RECOVERED = "diagnosis.recovered", Info,
        "The login recovered",
        "An earlier attempt of the same client failed and this one succeeded: the login's outcome is success. Evidence names the last failure and what changed between the attempts (authorize parameters, token-request shape, time); when nothing on the wire changed, the fix was outside the requests (provider settings, consent, user assignment).",
        "Nothing to fix now; keep what changed (evidence.changes).";
    DIAGNOSIS_CLOCK_SKEW = "diagnosis.clock_skew", Error,
        "Two clocks disagree",
        "A time claim was judged by a clock other than the one that stamped it, and the hosts' Date headers show the difference: a client_assertion, jwt-bearer assertion or DPoP proof not yet valid or expired at the server; a provider's ID token issued in the client's future or expired on arrival; a provider's access token not yet valid (nbf) or already expired at the API. evidence.kinds names whose clock is off.",
        "Sync the clocks of the hosts involved (NTP); allow a small clock tolerance where the validator has one; keep assertion lifetimes short but above the skew.";
    CLIENT_AUTH_SECRET_JWT_LIFETIME = "client_auth.secret_jwt_lifetime", Error,
        "The client_secret JWT breaks the provider's rules",
        "Sign in with Apple's client_secret is an ES256 JWT valid at most six months (15 777 000 s) from iat to exp.",
        "Generate a fresh client secret JWT with a valid iat/exp and rotate it before it expires.";
    DISCOVERY_ISSUER_MISMATCH = "discovery.issuer_mismatch", Error,
        "The discovery document's issuer is not the URL it was fetched from",
        "OpenID Connect Discovery §4.3 and RFC 8414 §3.3: the issuer must equal the URL the document was fetched from, less the well-known suffix. Usually a provider behind a proxy that builds its issuer from its internal URL (Keycloak without --hostname, IdentityServer without IssuerUri), or a client configured with another spelling of the issuer (http vs https, a realm or tenant path).",
        "Make the provider publish its public URL as issuer, or configure the client with exactly the issuer the provider publishes.";
    AUTHORIZE_PROVIDER_ERROR_PAGE = "authorize.provider_error_page", Error,
        "The provider refused the login on its own error page",
        "The authorization server shows an error page instead of redirecting back (RFC 6749 §4.1.2.1: an invalid or unregistered redirect_uri, an unknown client_id, a blocked URL or app). The page's words name the reason; often the redirect_uri is not registered exactly, or the app is not set up for this login.",
        "Read the page's words (evidence.page_says); fix the app registration (redirect URIs, client id, allowed logins) or the authorize request's parameters.";
    AUTHORIZE_ISS_MISMATCH = "authorize.iss_mismatch", Error,
        "The authorization response's iss is not the provider's issuer",
        "RFC 9207 §2.4: clients that know the issuer must reject an authorization response whose iss differs. A mix-up between two providers, or a provider whose idea of its own URL differs from the public one.",
        "Make the provider's issuer its public URL, and configure the client with the issuer of the provider it sends users to.";
    JWT_ISSUER_TEMPLATE = "jwt.issuer_template", Warning,
        "The discovery issuer is a template, not a URL",
        "Entra's multi-tenant /common and /organizations documents publish issuer https://login.microsoftonline.com/{tenantid}/v2.0; strict clients compare iss to it literally and reject every token.",
        "Validate iss against the tenant-specific issuer (substitute the token's tid), or use the tenant's own discovery document.";
    TOKEN_REQUEST_GRANT_TYPE_IMPLIED = "token_request.grant_type_implied", Info,
        "No grant_type: read as an authorization-code exchange",
        "Provider dialects (GitHub, Slack oauth.access, Strava before 2018, Facebook Graph's GET) exchange a code with client credentials and no grant_type.",
        "Nothing to fix for those providers; RFC 6749 §4.1.3 servers need grant_type=authorization_code.";
    TOKEN_REQUEST_MULTIPART_BODY = "token_request.multipart_body", Warning,
        "Body is multipart/form-data, not application/x-www-form-urlencoded",
        "RFC 6749 §4.1.3 wants application/x-www-form-urlencoded; PHP cURL with an array body and `curl -F` send multipart, which many servers cannot read.",
        "Send the parameters as a form-urlencoded string (http_build_query in PHP, curl -d).";
    DIAGNOSIS_REFRESH_TOKEN_EXPIRED = "diagnosis.refresh_token_expired", Warning,
        "The refresh token expired or was revoked",
        "The provider's words or error code say the refresh token's lifetime or inactivity window ran out, or the grant was revoked; the request itself was right.",
        "Send the user through the login again; lengthen the provider's refresh-token policy if tokens die sooner than the app needs.";
    DIAGNOSIS_UNDETERMINED = "diagnosis.undetermined", Info,
        "No cause proven by the capture",
        "evidence lists the candidate causes that could not be checked (for example the callback never passed the proxy, so the code's age is unknown) and those ruled out.",
        "Capture the whole login (browser leg included) and look at the provider's own logs.";
    DIAGNOSIS_THIRD_PARTY_COOKIES_BLOCKED = "diagnosis.third_party_cookies_blocked", Warning,
        "Silent sign-in in an iframe went without the provider's session cookie",
        "prompt=none in a cross-site iframe (silent renew) needs the provider's session cookie as a third-party cookie; Safari, Firefox's Total Cookie Protection, Brave and Chrome with third-party cookies blocked leave it off (and SameSite=Lax or unset cookies never go there), so the provider answers login_required although the user is signed in.",
        "Renew with a refresh token (authorization code + PKCE, rotating refresh tokens) or a top-level redirect instead of an iframe, or serve the provider from a subdomain of the app's site (a custom domain) so its cookie is first-party.";
    COOKIES_CANNOT_TELL = "cookies.cannot_tell", Info,
        "The capture holds no cookies: whether the login's cookie came back cannot be told",
        "The callback failed, and no browser step of the capture carries a Cookie or Set-Cookie header: a HAR exported without sensitive data (Chrome 130+ by default) or by a sanitiser removes them, so the cookie rules cannot judge.",
        "Capture through the proxy, or export the HAR with sensitive data (Chrome DevTools: Network panel, \"Export HAR (with sensitive data)\"; enable it under Settings > Preferences > Network).";
}

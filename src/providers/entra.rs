//! Microsoft Entra ID (Azure AD) `AADSTS` codes. They arrive inside
//! `error_description` (`AADSTS70008: ...`), in `error_codes`, and on the
//! login page; `https://login.microsoftonline.com/error?code=N` explains one.

use super::{CodeLifetime, Offline, Profile};
use crate::catalog::Endpoint::{Authorize, Token};
use crate::catalog::Entry;
use serde_json::Value;

const SRC: &str = "Microsoft Entra ID";
const SEE: &str = "https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes";

const fn aad(
    code: &'static str,
    title: &'static str,
    causes: &'static str,
    fix: &'static str,
) -> Entry {
    Entry::new(code, SRC, title, causes, fix)
        .prov("entra")
        .see(SEE)
}

/// Entra ID entries.
pub static ENTRIES: &[Entry] = &[
    aad("AADSTS50011", "InvalidReplyTo: the redirect URI does not match the application's registered redirect URIs",
        "The redirect_uri is missing from, or differs from, the app registration's redirect URIs: trailing slash (Entra adds '/' to path-less URIs), http vs https, path case (paths are case-sensitive), port (ignored only for localhost), a query string, or the URI is registered under another platform (Web vs SPA vs Mobile).",
        "Add the exact redirect_uri shown in the captured request to App registrations > Authentication under the right platform, or make the app send the registered one.")
        .at(Authorize).see("https://learn.microsoft.com/en-us/entra/identity-platform/reply-url"),
    aad("AADSTS70008", "ExpiredOrRevokedGrant: the authorization code or refresh token expired",
        "The code was redeemed after its ~10 minute lifetime, or the refresh token expired due to inactivity or was revoked.",
        "Redeem codes immediately; for refresh tokens, sign the user in again interactively.").at(Token),
    aad("AADSTS54005", "The authorization code was already redeemed",
        "The same code was sent to the token endpoint twice; often a framework (ASP.NET OIDC middleware, MSAL) and the application's own code both redeem it.",
        "Redeem each code once: let one component do the exchange and keep its refresh token.").at(Token),
    aad("AADSTS7000215", "Invalid client secret is provided",
        "The secret's ID was pasted instead of its Value, a typo, or a secret from another app registration.",
        "Create a new client secret and copy its Value (shown once) into the configuration.").at(Token),
    aad("AADSTS7000222", "InvalidClientSecretExpiredKeysProvided: the client secret expired",
        "The client secret passed its expiry date.",
        "Create a new client secret in Certificates & secrets and deploy it.").at(Token),
    aad("AADSTS7000218", "The request body must contain 'client_assertion' or 'client_secret'",
        "A confidential (Web) app sent no credential, or a public-client flow (device code, native) was used on an app not marked \"Allow public client flows\".",
        "Send the client secret or assertion, or enable \"Allow public client flows\" for public clients.").at(Token),
    aad("AADSTS700025", "InvalidClientPublicClientWithCredential: a public client must not send a secret",
        "The app is registered as a public client (mobile / desktop / SPA) but the request carries a client_secret or assertion.",
        "Drop the credential, or register the redirect URI under the Web platform for a confidential client.").at(Token),
    aad("AADSTS700016", "UnauthorizedClient_DoesNotMatchRequest: the application was not found in the directory",
        "A wrong client_id, the wrong tenant in the URL, or the app not installed / consented in that tenant (multi-tenant app).",
        "Check client_id and the tenant in the authority URL; for multi-tenant apps have an admin consent in the target tenant."),
    aad("AADSTS700011", "UnauthorizedClientAppNotFoundInOrgIdTenant: the application was not found in the tenant",
        "A wrong client_id or tenant.", "Check the application (client) ID and the tenant."),
    aad("AADSTS70001", "UnauthorizedClient: the application is disabled or not found",
        "The app is disabled or does not exist in the tenant.", "Enable the app or use the right tenant / client_id."),
    aad("AADSTS7000112", "UnauthorizedClientApplicationDisabled: the application is disabled",
        "The application was disabled by an admin.", "Have an admin re-enable the application."),
    aad("AADSTS65001", "DelegationDoesNotExist: the user or administrator has not consented to the application",
        "The app requests permissions nobody consented to; with prompt=none this shows as consent_required, at the token endpoint as invalid_grant (MSAL raises MsalUiRequiredException).",
        "Send the user through an interactive login to consent, or have an admin grant tenant-wide consent."),
    aad("AADSTS65004", "UserDeclinedConsent: the user declined to consent",
        "The user clicked Cancel on the consent screen.", "Nothing to fix; let the user retry.").at(Authorize),
    aad("AADSTS650052", "The app needs access to a service the organization has not subscribed to or enabled",
        "A misconfigured permission: the resource API is not available in the tenant.", "Fix the API permissions of the app registration."),
    aad("AADSTS650054", "The application asked for permissions to access a resource that has been removed or is no longer available",
        "An API permission points at a deleted resource.", "Remove or fix the stale API permission."),
    aad("AADSTS650056", "Misconfigured application: no permissions configured, or the admin has not consented",
        "The app registration lists no (or unconsented) permissions for the requested resource.", "Add the API permissions and grant admin consent."),
    aad("AADSTS650057", "Invalid resource: the client has not listed the requested permissions",
        "The requested scope belongs to an API not listed in the app's required permissions.", "Add the API and permission to the app registration."),
    aad("AADSTS650053", "The application asked for a scope that doesn't exist on the resource",
        "A scope name typo or a scope the API does not expose.", "Request scopes the API exposes."),
    aad("AADSTS501481", "The code_verifier doesn't match the code_challenge supplied in the authorization request",
        "PKCE mismatch: the verifier was regenerated or lost between authorize and token, or the challenge was computed wrongly.",
        "Keep the verifier of this login and send BASE64URL(SHA256(verifier)) without padding as the challenge.").alias(&["AADSTS50148"]).at(Token),
    aad("AADSTS501491", "The code_challenge size is invalid",
        "The code_challenge (or verifier) length is outside 43-128 characters.", "Generate a 43-128 character verifier and an unpadded S256 challenge.").alias(&["AADSTS50147"]).at(Authorize),
    aad("AADSTS9002325", "PKCE is required for cross-origin authorization code redemption",
        "The redirect URI is registered as a Single-Page Application (PKCE required) but the request had no PKCE, or a confidential server redeems the code.",
        "Use PKCE from the browser, or register the redirect URI under Web for server-side redemption.").at(Token),
    aad("AADSTS9002326", "Cross-origin token redemption is permitted only for the 'Single-Page Application' client type",
        "A browser (Origin header present) redeems a code whose redirect URI is registered under Web.",
        "Move the redirect URI to the SPA platform, or redeem the code on the server.").at(Token),
    aad("AADSTS9002327", "Tokens issued for the 'Single-Page Application' client type may only be redeemed via cross-origin requests",
        "A server (no Origin header) redeems a code or refresh token issued to a SPA redirect URI.",
        "Redeem from the browser, or register the redirect URI under Web.").at(Token),
    aad("AADSTS9002313", "InvalidRequest: the request is malformed or invalid",
        "A missing or malformed parameter; often a URL-encoding problem or parameters in the wrong place.",
        "Capture the request and check each parameter against the v2.0 endpoint documentation."),
    aad("AADSTS90014", "MissingRequiredField: a required field is missing from the request",
        "A required parameter (scope, nonce, client_id, ...) is missing, named in the message.", "Send the parameter named in the message."),
    aad("AADSTS900144", "The request body must contain the following parameter: 'grant_type' (or another)",
        "Typical of a JSON body or query-string parameters: the token endpoint reads only form bodies.",
        "Send the parameters as application/x-www-form-urlencoded in the POST body.").at(Token),
    aad("AADSTS90009", "The application is requesting a token for itself: use the GUID app id",
        "An on-behalf-of or self-token request used the api:// identifier instead of the application ID.", "Use the application's GUID client ID as the resource / scope prefix."),
    aad("AADSTS70011", "InvalidScope: the provided value for the input parameter 'scope' isn't valid",
        "A malformed or unknown scope; mixing resources in one request; a v1 resource on the v2 endpoint.",
        "Request scopes of one resource, as `https://graph.microsoft.com/.default` or `api://id/scope`."),
    aad("AADSTS28002", "The provided value for the input parameter 'scope' isn't valid at the token request",
        "The scope at the token request is invalid.", "Send valid scopes of one resource at the token endpoint.").at(Token),
    aad("AADSTS28003", "The scope at the token request is empty",
        "The token request carries an empty scope.", "Send the scopes requested at authorize.").at(Token),
    aad("AADSTS700082", "ExpiredOrRevokedGrantInactiveToken: the refresh token expired due to inactivity",
        "The refresh token was not used for a long time (90 days by default).", "Sign the user in again interactively.").at(Token),
    aad("AADSTS700084", "The refresh token was issued to a SPA and has a fixed 24 h lifetime",
        "SPA refresh tokens expire 24 hours after the interactive login, whatever their use.", "Do a new interactive (or silent iframe) login once a day.").at(Token),
    aad("AADSTS50173", "FreshTokenNeeded: the grant was revoked",
        "The user or an admin revoked sessions, or the password changed.", "Sign the user in again interactively.").at(Token),
    aad("AADSTS70043", "The refresh token expired due to Conditional Access sign-in frequency",
        "A Conditional Access sign-in frequency policy requires re-authentication.", "Sign the user in again interactively.").at(Token),
    aad("AADSTS50076", "Multi-factor authentication is required",
        "MFA is required (by Conditional Access or location); with prompt=none or on refresh this shows as interaction_required.",
        "Fall back to an interactive login so the user can complete MFA."),
    aad("AADSTS50079", "The user must enroll for multi-factor authentication",
        "MFA enrollment is required before sign-in.", "Fall back to an interactive login so the user can enroll."),
    aad("AADSTS50058", "UserInformationNotProvided: no signed-in session (silent sign-in)",
        "prompt=none or a silent iframe with no session at Entra, or third-party cookies blocked; shown as login_required / interaction_required.",
        "Fall back to an interactive login.").at(Authorize),
    aad("AADSTS16000", "The account is from another identity provider / another tenant, or the user must select an account",
        "The signed-in account does not exist in the tenant, or several accounts are signed in.", "Let the user choose an account interactively, or add the user to the tenant.").at(Authorize),
    aad("AADSTS50020", "The user account from an external identity provider does not exist in the tenant",
        "A user from another tenant signs in to a single-tenant app without being a guest.", "Invite the user as a B2B guest, use the right tenant, or make the app multi-tenant."),
    aad("AADSTS50034", "The user account does not exist in the directory",
        "A wrong tenant or a typo in the username.", "Use the right tenant or user."),
    aad("AADSTS51004", "The user account does not exist in the directory",
        "The user is not in the tenant.", "Add the user (or a guest) to the tenant."),
    aad("AADSTS50105", "The signed-in user is not assigned to a role for the application",
        "\"Assignment required\" is on for the enterprise application and the user is not assigned.", "Assign the user (or a group) to the application."),
    aad("AADSTS53003", "BlockedByConditionalAccess: access blocked by a Conditional Access policy",
        "A Conditional Access policy blocks this sign-in (device, location, app).", "Check the sign-in logs for the policy and meet or change it."),
    aad("AADSTS50126", "Invalid username or password",
        "Wrong credentials (ROPC flow or the login page).", "Use the right credentials; avoid the password grant."),
    aad("AADSTS50194", "The application is not configured as multi-tenant: /common cannot be used",
        "A single-tenant app uses the /common or /organizations endpoint.", "Use the tenant-specific authority (tenant ID or domain), or make the app multi-tenant."),
    aad("AADSTS700005", "The authorization code was issued for another tenant",
        "A code obtained in one tenant is redeemed at another tenant's token endpoint.", "Use the same tenant in the authorize and token URLs."),
    aad("AADSTS90002", "Tenant not found",
        "A wrong tenant ID or domain in the authority URL, or a sovereign cloud mix-up.", "Use the right tenant and cloud."),
    aad("AADSTS900971", "No reply address provided",
        "The request has no redirect_uri and the app registration has none to default to.", "Send the registered redirect_uri.").at(Authorize),
    aad("AADSTS901002", "The 'resource' request parameter isn't supported",
        "The v1 `resource` parameter sent to the v2.0 endpoint.", "Use scopes (`https://api/.default`) instead of resource on v2.0."),
    aad("AADSTS9001023", "The grant type isn't supported over /common or /consumers",
        "e.g. client_credentials against /common.", "Use a tenant-specific authority."),
    aad("AADSTS50196", "LoopDetected: the client requests the same token too often",
        "A client loop: the same token requested repeatedly in a short time.", "Cache tokens until they expire and fix the loop."),
    aad("AADSTS70016", "AuthorizationPending: the user has not finished the device flow yet",
        "Normal while polling the device flow.", "Keep polling at the interval."),
    aad("AADSTS70018", "BadVerificationCode: the device code or user code is wrong",
        "The user entered a wrong code, or the client sent a wrong device_code.", "Retry with the codes from the device authorization response."),
    aad("AADSTS70019", "CodeExpired: the device code expired",
        "The user did not finish the device flow in time.", "Start a new device authorization request."),
    aad("AADSTS90120", "InvalidDeviceFlowRequest: the request was already authorized or declined",
        "The device code was already used.", "Start a new device authorization request."),
    aad("AADSTS50134", "DeviceFlowAuthorizeWrongDatacenter",
        "The device code is used against the wrong datacenter.", "Poll the same authority that issued the device code."),
];

/// How Microsoft Entra ID is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "entra",
    name: "Microsoft Entra ID",
    hosts: &[
        "microsoftonline.com",
        "microsoftonline.us",
        "microsoftonline.cn",
        "login.chinacloudapi.cn",
        "login.live.com",
    ],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Ask(&[("scope", "offline_access")]),
    code_lifetime: Some(CodeLifetime {
        secs: 600,
        source: "Entra ID codes expire after about 10 min",
    }),
    response_params: &["session_state", "client_info"],
    quirks: &[],
    recognise: Some(recognise),
    endpoint_version: Some(endpoint_version),
    catalog: ENTRIES,
    docs: "https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow",
};

fn recognise(v: &Value) -> bool {
    v.get("error_codes").is_some()
        || v.get("correlation_id").is_some() && v.get("trace_id").is_some()
        || v.get("error_description")
            .and_then(Value::as_str)
            .is_some_and(|d| !crate::analyze::errors::aadsts_codes(d).is_empty())
}

/// `v2.0` for `/oauth2/v2.0/*`, `v1.0` for `/oauth2/authorize` and
/// `/oauth2/token` (a v1 code cannot be redeemed at v2 and the reverse).
fn endpoint_version(path: &str) -> Option<&'static str> {
    if path.contains("/oauth2/v2.0/") {
        Some("v2.0")
    } else if path.ends_with("/oauth2/authorize") || path.ends_with("/oauth2/token") {
        Some("v1.0")
    } else {
        None
    }
}

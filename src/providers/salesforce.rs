//! Salesforce connected-app OAuth errors (login.salesforce.com,
//! test.salesforce.com, My Domain hosts).

use super::{CodeLifetime, Offline, Profile};
use crate::catalog::Endpoint::{Any, Authorize, Resource, Token};
use crate::catalog::Entry;

const SRC: &str = "Salesforce";
const HELP: &str =
    "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm";

/// Salesforce entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new(
        "invalid_client_id",
        SRC,
        "Client identifier invalid: Salesforce does not know this consumer key",
        "A typo in the consumer key; a sandbox key sent to login.salesforce.com or a production key sent to test.salesforce.com; a connected app created minutes ago that has not propagated yet.",
        "Copy the consumer key from the connected app, use the host of the org it lives in (test.salesforce.com or the sandbox My Domain for sandboxes), and wait up to 10 minutes after creating the app.",
    )
    .prov("salesforce")
    .at(Any)
    .see(HELP),
    Entry::new(
        "invalid_client",
        SRC,
        "Invalid client credentials: the consumer secret is wrong",
        "A wrong or rotated consumer secret; the secret of another connected app.",
        "Copy the current consumer secret from the connected app (Manage Consumer Details).",
    )
    .prov("salesforce")
    .at(Token)
    .see(HELP),
    Entry::new(
        "invalid_client_credentials",
        SRC,
        "Client secret invalid (older Salesforce name for invalid_client)",
        "A wrong or rotated consumer secret.",
        "Copy the current consumer secret from the connected app.",
    )
    .prov("salesforce")
    .at(Token)
    .see(HELP),
    Entry::new(
        "invalid_grant",
        SRC,
        "Authentication failure: the user's credentials or org policy rejected the login",
        "Username-password flow: wrong username, password or security token (append the token to the password); the user is deactivated or locked; an org login policy blocks it. The Salesforce CLI shows it as `invalid_grant::authentication failure`.",
        "Check the username, password and security token, that the user is active, and the connected app's permitted-users policy; prefer a flow other than username-password.",
    )
    .prov("salesforce")
    .alias(&["AUTHENTICATION_FAILURE"])
    .when(&["authentication failure"])
    .at(Token)
    .see("https://developer.salesforce.com/docs/atlas.en-us.sfdx_dev.meta/sfdx_dev/sfdx_dev_troubleshoot.htm"),
    Entry::new(
        "invalid_grant",
        SRC,
        "Expired access/refresh token: the refresh token was revoked or expired",
        "The connected app's refresh token policy is \"Immediately expire refresh token\" or its window elapsed; more than 5 access grants per user per app (the oldest is revoked); an admin revoked the app's tokens; the user's password was reset; or no refresh token was ever issued because the refresh_token / offline_access scope was not requested.",
        "Check the connected app's Refresh Token Policy, request the refresh_token (offline_access) scope, keep at most a few concurrent grants per user, and send the user through the login again.",
    )
    .prov("salesforce")
    .alias(&["EXPIRED_REFRESH_TOKEN"])
    .when(&["expired access/refresh token", "expired access", "expired refresh"])
    .at(Token)
    .see(HELP),
    Entry::new(
        "invalid_grant",
        SRC,
        "IP restricted or invalid login hours",
        "The user's profile Login IP Ranges or Login Hours exclude this request; \"Lock sessions to the IP address from which they originated\" is on; the connected app's IP Relaxation is \"Enforce IP restrictions\".",
        "Run from an allowed IP range or within login hours, add the range to the profile, or set the connected app's IP Relaxation to \"Relax IP restrictions\".",
    )
    .prov("salesforce")
    .alias(&["IP_RESTRICTED", "ip restricted", "INVALID_LOGIN_HOURS"])
    .when(&["ip restricted", "invalid login hours"])
    .at(Token)
    .see(HELP),
    Entry::new(
        "invalid_grant",
        SRC,
        "The user hasn't approved this consumer (JWT bearer flow without pre-authorization)",
        "The JWT bearer flow was used before the user approved the connected app, and the app's Permitted Users is not \"Admin approved users are pre-authorized\" with the user's profile or permission set assigned.",
        "Set Permitted Users to \"Admin approved users are pre-authorized\" and assign the profile / permission set, or have the user approve the app once interactively.",
    )
    .prov("salesforce")
    .alias(&["USER_NOT_APPROVED"])
    .when(&["hasn't approved", "has not approved", "not approved this consumer"])
    .at(Token)
    .see(HELP),
    Entry::new(
        "invalid_grant",
        SRC,
        "Audience validation failed (JWT / SAML bearer flow)",
        "The assertion's `aud` is not the login host Salesforce expects (https://login.salesforce.com, https://test.salesforce.com or the My Domain URL).",
        "Set the JWT `aud` to the login URL of the org's environment and post it to that same host.",
    )
    .prov("salesforce")
    .when(&["audience validation failed"])
    .at(Token)
    .see(HELP),
    Entry::new(
        "invalid_grant",
        SRC,
        "The grant was rejected (Salesforce)",
        "An authorization code reused or expired, a redirect_uri different from the authorize request's, or one of Salesforce's specific causes named in error_description (authentication failure, expired access/refresh token, ip restricted, user hasn't approved this consumer).",
        "Read error_description: each Salesforce description has its own entry (`oauthscope explain invalid_grant` lists them).",
    )
    .prov("salesforce")
    .at(Token)
    .see(HELP),
    Entry::new(
        "inactive_user",
        SRC,
        "The user is inactive",
        "The Salesforce user was deactivated or frozen.",
        "Reactivate the user or log in as an active one.",
    )
    .prov("salesforce")
    .see(HELP),
    Entry::new(
        "inactive_org",
        SRC,
        "The org is inactive",
        "The org is locked, closed or suspended (e.g. an expired trial or sandbox).",
        "Use an active org; contact Salesforce support or the org's admin.",
    )
    .prov("salesforce")
    .see(HELP),
    Entry::new(
        "invalid_app_access",
        SRC,
        "The user is not admin approved to access this app",
        "The connected app's Permitted Users is \"Admin approved users are pre-authorized\" but the user's profile or permission set is not assigned to it.",
        "Assign the user's profile or a permission set to the connected app.",
    )
    .prov("salesforce")
    .see(HELP),
    Entry::new(
        "OAUTH_APP_BLOCKED",
        SRC,
        "This app is blocked by an admin",
        "The connected app is blocked in Setup > Connected Apps OAuth Usage, or API Access Control (\"API Client Whitelisting\") is on and the app is not allow-listed.",
        "Ask the Salesforce admin to unblock the app or install / allow-list it.",
    )
    .prov("salesforce")
    .at(Authorize)
    .see(HELP),
    Entry::new(
        "OAUTH_APPROVAL_ERROR_GENERIC",
        SRC,
        "Generic approval error while authorizing the app",
        "The authorization could not be completed, often for the same reasons as OAUTH_APP_BLOCKED (admin policy, API Access Control).",
        "Check the connected app's policies and OAuth usage page with the org's admin.",
    )
    .prov("salesforce")
    .at(Authorize)
    .see(HELP),
    Entry::new(
        "redirect_uri_mismatch",
        SRC,
        "redirect_uri must match configuration",
        "The redirect_uri is not character-for-character one of the connected app's Callback URLs. Salesforce shows a plain page (no redirect). Callback URL edits take a few minutes to propagate.",
        "Register the exact redirect_uri from the captured request in the connected app's Callback URL list and wait a few minutes.",
    )
    .prov("salesforce")
    .at(Authorize)
    .see(HELP),
    Entry::new(
        "redirect_uri_missing",
        SRC,
        "The redirect_uri parameter is missing",
        "The authorize request has no redirect_uri.",
        "Send the registered callback URL as redirect_uri.",
    )
    .prov("salesforce")
    .at(Authorize)
    .see(HELP),
    Entry::new(
        "unsupported_grant_type",
        SRC,
        "Grant type not supported",
        "A misspelled grant_type, or a grant the connected app is not enabled for (e.g. client credentials flow off, JWT bearer without a certificate).",
        "Spell grant_type exactly and enable the flow on the connected app.",
    )
    .prov("salesforce")
    .at(Token)
    .see(HELP),
    Entry::new(
        "unsupported_response_type",
        SRC,
        "Response type not supported",
        "A response_type Salesforce does not accept for this flow.",
        "Use response_type=code (web server flow) or token (user-agent flow).",
    )
    .prov("salesforce")
    .at(Authorize)
    .see(HELP),
    Entry::new(
        "invalid_scope",
        SRC,
        "A requested scope is not allowed for this connected app",
        "A scope not in the connected app's Selected OAuth Scopes.",
        "Add the scope to the connected app or stop requesting it.",
    )
    .prov("salesforce")
    .see(HELP),
    Entry::new(
        "rate_limit_exceeded",
        SRC,
        "Too many login attempts or token requests",
        "The client requested tokens too often for this user or app.",
        "Back off, cache tokens and reuse them until they expire.",
    )
    .prov("salesforce")
    .see(HELP),
    Entry::new(
        "immediate_unsuccessful",
        SRC,
        "immediate=true could not complete without user interaction",
        "The request asked for silent authorization (immediate=true) but the user is not logged in or has not approved the app.",
        "Fall back to an interactive authorization without immediate=true.",
    )
    .prov("salesforce")
    .at(Authorize)
    .see(HELP),
    Entry::new(
        "access_denied",
        SRC,
        "The user denied the authorization request",
        "The user clicked Deny. The web-server flow sends `error=access-denied` (with a hyphen), the user-agent flow `#error=access_denied`.",
        "Nothing to fix if the user declined; match both spellings in the client.",
    )
    .prov("salesforce")
    .alias(&["access-denied"])
    .at(Authorize)
    .see(HELP),
    Entry::new(
        "INVALID_SESSION_ID",
        SRC,
        "Session expired or invalid (REST API)",
        "The access token expired or was revoked; the call went to another host than the token's instance_url; the session is locked to another IP; the app is blocked.",
        "Refresh the token and call the API at the instance_url returned with it.",
    )
    .prov("salesforce")
    .at(Resource)
    .see("https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm"),
];

/// How Salesforce is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "salesforce",
    name: "Salesforce",
    hosts: &["salesforce.com", "force.com"],
    path_hints: &["/services/oauth2/"],
    authorize_paths: &[],
    offline: Offline::Ask(&[("scope", "refresh_token"), ("scope", "offline_access")]),
    code_lifetime: Some(CodeLifetime {
        secs: 900,
        source: "Salesforce codes expire after 15 min",
    }),
    response_params: &[],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm",
};

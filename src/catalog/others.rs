//! Other providers seen in the reference: Dropbox, Discord, HubSpot, Intuit
//! QuickBooks, Xero, Atlassian, Ory / Authelia, OpenIddict, FusionAuth, Zoom.

use super::Endpoint::{Any, Authorize, Resource, Token};
use super::Entry;

/// Entries for the smaller providers.
pub static ENTRIES: &[Entry] = &[
    // Dropbox
    Entry::new("expired_access_token", "Dropbox", "The short-lived access token (about 4 h) expired",
        "Dropbox access tokens are short-lived; the app never refreshes them.",
        "Request token_access_type=offline at authorize to get a refresh token and refresh before calling the API.")
        .prov("dropbox").at(Resource).see("https://developers.dropbox.com/oauth-guide"),
    Entry::new("invalid_access_token", "Dropbox", "The access token is invalid",
        "A revoked, malformed or foreign access token.", "Obtain a new token.")
        .prov("dropbox").at(Resource).see("https://developers.dropbox.com/oauth-guide"),
    Entry::new("invalid_grant", "Dropbox", "refresh token is invalid, revoked or malformed",
        "The refresh token was revoked, or something else (e.g. an authorization code) was sent as the refresh token.",
        "Send the refresh_token from a token_access_type=offline authorization; re-authorize if it was revoked.")
        .prov("dropbox").when(&["refresh token is"]).at(Token).see("https://developers.dropbox.com/oauth-guide"),
    // Discord
    Entry::new("unsupported_grant_type", "Discord", "Discord could not read the grant_type (JSON or query-string body)",
        "Discord only reads application/x-www-form-urlencoded bodies; a JSON body or parameters in the query string give this misleading error.",
        "Send the token request as a form body.")
        .prov("discord").at(Token).see("https://discord.com/developers/docs/topics/oauth2"),
    Entry::new("invalid_grant", "Discord", "Invalid \"code\" in request",
        "The code was reused or expired, or the token-leg redirect_uri differs from authorize (including authorize without redirect_uri, which defaults to the first registered one).",
        "Send the same redirect_uri at authorize and token, and redeem each code once.")
        .prov("discord").when(&["invalid \"code\"", "invalid code"]).at(Token).see("https://discord.com/developers/docs/topics/oauth2"),
    Entry::new("invalid_request", "Discord", "Invalid \"redirect_uri\" in request",
        "The redirect_uri is not registered or differs from the authorize leg.", "Register and send the same redirect_uri.")
        .prov("discord").when(&["redirect_uri"]).see("https://discord.com/developers/docs/topics/oauth2"),
    // HubSpot
    Entry::new("BAD_CLIENT_ID", "HubSpot", "Missing or unknown client id",
        "A wrong client id. HubSpot checks it first, so it can mask other errors.", "Copy the client ID from the app's Auth settings.")
        .prov("hubspot").at(Token).see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
    Entry::new("BAD_CLIENT_SECRET", "HubSpot", "Wrong client secret", "A wrong or rotated secret.", "Copy the current client secret.")
        .prov("hubspot").at(Token).see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
    Entry::new("BAD_REDIRECT_URI", "HubSpot", "Redirect URI mismatch",
        "The redirect_uri differs from the app's registered redirect URL or from the authorize leg.", "Send the registered redirect URL in both legs.")
        .prov("hubspot").see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
    Entry::new("BAD_AUTH_CODE", "HubSpot", "Missing or unknown auth code", "A reused, expired or mistyped code.", "Redeem each code once, promptly.")
        .prov("hubspot").at(Token).see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
    Entry::new("BAD_REFRESH_TOKEN", "HubSpot", "Missing or invalid refresh token", "A revoked or wrong refresh token.", "Re-authorize the account.")
        .prov("hubspot").at(Token).see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
    Entry::new("BAD_GRANT_TYPE", "HubSpot", "Invalid grant type", "A misspelled grant_type or a JSON body (HubSpot wants a form body; JSON gets HTTP 415).", "Send a form body with a valid grant_type.")
        .prov("hubspot").at(Token).see("https://developers.hubspot.com/docs/api/oauth-quickstart-guide"),
    // Intuit
    Entry::new("invalid_grant", "Intuit QuickBooks", "The refresh token is invalid, expired or superseded",
        "Intuit may return a new refresh token on any refresh; using an older one eventually fails. Refresh tokens also have a hard maximum lifetime (x_refresh_token_expires_in).",
        "Persist the refresh_token from every token response, and re-authorize when it expires.")
        .prov("intuit").at(Token).see("https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq"),
    // Xero
    Entry::new("invalid_grant", "Xero", "The refresh token expired, was rotated or reused",
        "Xero rotates refresh tokens and expires unused ones (about 60 days); the client reused an old one.",
        "Store the newest refresh token from every response; send client credentials in the Basic header.")
        .prov("xero").at(Token).see("https://developer.xero.com/documentation/guides/oauth2/auth-flow"),
    Entry::new("invalid_client", "Xero", "Client authentication failed", "Xero needs client credentials in the Authorization: Basic header (refresh, client_credentials).", "Send id and secret with HTTP Basic and a form body.")
        .prov("xero").at(Token).see("https://developer.xero.com/documentation/guides/oauth2/auth-flow"),
    // Atlassian
    Entry::new("invalid_grant", "Atlassian", "Unknown or invalid refresh token",
        "Atlassian always rotates refresh tokens and invalidates the one sent; a stored old token or an idle one (about 90 days) fails.",
        "Persist the new refresh token after every refresh.")
        .prov("atlassian").at(Token).see("https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/"),
    Entry::new("access_denied", "Atlassian", "Access denied (at the token endpoint: wrong client secret)",
        "At the token endpoint Atlassian answers access_denied to a wrong client secret, not only when the user declines.",
        "Check the client secret; do not treat this as \"user declined\" when it comes from the token endpoint.")
        .prov("atlassian").at(Any).see("https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/"),
    // Ory / Authelia / OpenIddict / FusionAuth / Zoom
    Entry::new("invalid_client", "Ory Hydra / Fosite", "The client authentication method does not match the registered one",
        "The client is registered with token_endpoint_auth_method client_secret_basic but sent client_secret_post, or the reverse (the hint names both).",
        "Send credentials the registered way, or change the client's token_endpoint_auth_method.")
        .prov("ory").when(&["client authentication method"]).at(Token).see("https://www.ory.sh/docs/hydra/guides/oauth2-clients"),
    Entry::new("invalid_client", "Authelia", "The client authentication method does not match the registered one",
        "token_endpoint_auth_method differs from the method used.", "Align the client's configuration with the method used.")
        .prov("authelia").when(&["client authentication method"]).at(Token).see("https://www.authelia.com/configuration/identity-providers/openid-connect/clients/"),
    Entry::new("invalid_grant", "OpenIddict", "The specified 'code_verifier' is invalid (ID2052)",
        "PKCE mismatch.", "Send the verifier of the same login.")
        .prov("openiddict").when(&["code_verifier"]).at(Token).see("https://documentation.openiddict.com/"),
    Entry::new("invalid_request", "FusionAuth", "Invalid Authorization Code (auth_code_not_found)",
        "The code was reused, expired or mistyped.", "Redeem each code once, promptly.")
        .prov("fusionauth").when(&["invalid authorization code"]).at(Token).see("https://fusionauth.io/docs/lifecycle/authenticate-users/oauth/endpoints"),
    Entry::new("4700", "Zoom", "Zoom token error (4700-4706, e.g. Invalid client secret)",
        "Zoom uses numeric codes 4700-4706 for token errors such as an invalid client secret.", "Read the message; check client id and secret.")
        .prov("zoom").alias(&["4701", "4702", "4703", "4704", "4705", "4706"]).at(Authorize).see("https://developers.zoom.us/docs/integrations/oauth/"),
];

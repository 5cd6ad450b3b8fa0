//! Amazon Cognito hosted UI and token endpoint (…auth.<region>.amazoncognito.com).

use super::{CodeLifetime, Offline, Profile};
use crate::catalog::Endpoint::{Authorize, Token};
use crate::catalog::Entry;

const SRC: &str = "Amazon Cognito";
const SEE: &str = "https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html";

/// Cognito entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("redirect_mismatch", SRC, "The redirect URI is not an allowed callback URL of the app client",
        "The hosted UI sends the browser to /error?error=redirect_mismatch: the redirect_uri differs from the app client's Allowed callback URLs (exact, including case and trailing slash).",
        "Add the exact redirect_uri to the app client's Allowed callback URLs.")
        .prov("cognito").at(Authorize).see("https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html"),
    Entry::new("Required parameters missing", SRC, "The hosted UI is missing a required parameter",
        "The authorize request lacks client_id, response_type or redirect_uri.", "Send all required authorize parameters.")
        .prov("cognito").at(Authorize).see("https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html"),
    Entry::new("invalid_client", SRC, "Client authentication failed",
        "A secret-bearing app client sent no secret, a wrong secret, the secret of another app client, or a Basic header encoded twice. Cognito accepts both client_secret_basic and client_secret_post.",
        "Send the app client's secret (Basic or body), base64-encoding id:secret once.")
        .prov("cognito").at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "Authorization code has been consumed already or does not exist",
        "The code was reused, expired (5 minutes), or the redirect_uri differs from the authorize leg.",
        "Redeem each code once, promptly, with the same redirect_uri.")
        .prov("cognito").when(&["consumed already", "does not exist"]).at(Token).see(SEE),
    Entry::new("invalid_grant", SRC, "Refresh token has been revoked",
        "The refresh token was revoked (sign-out, admin) or expired.", "Sign the user in again.")
        .prov("cognito").when(&["refresh token has been revoked", "invalid refresh token"]).at(Token).see(SEE),
    Entry::new("unauthorized_client", SRC, "The app client is not allowed this flow",
        "The authorization code grant or refresh is not enabled in the app client's OAuth settings.",
        "Enable the flow in the app client's hosted UI / OAuth grant settings.")
        .prov("cognito").at(Token).see(SEE),
];

/// How Amazon Cognito is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "cognito",
    name: "Amazon Cognito",
    hosts: &["amazoncognito.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Always,
    code_lifetime: Some(CodeLifetime {
        secs: 300,
        source: "Cognito codes last 5 min",
    }),
    response_params: &[],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html",
};

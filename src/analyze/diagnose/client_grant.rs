//! `diagnosis.client_grant_missing`: the token endpoint refused a client
//! that authenticated fine because it is not granted the API (audience,
//! resource) it asked a token for — most often a client-credentials call.
//!
//! Sources: Auth0 "Client Grants" (a machine-to-machine application needs a
//! client grant per API: `access_denied` "Client is not authorized to access
//! ... You need to create a client-grant"); Okta "Client Credentials flow"
//! (scopes of a custom authorization server granted to the service app;
//! `invalid_scope`/`access_denied`); Microsoft identity platform
//! AADSTS501051 (the application is not assigned a role for the resource)
//! and AADSTS65001 (admin consent missing); RFC 8707 §2 (`resource`) and
//! RFC 6749 §5.2 (`unauthorized_client`, `invalid_scope`).

use super::Failure;
use crate::analyze::login::Login;
use crate::analyze::params;
use crate::catalog::annotations as code;
use crate::record::{Annotation, Kind};
use serde_json::json;

/// Words providers use when the client, not the user, lacks the grant.
const CLIENT_NOT_GRANTED: &[&str] = &[
    "client-grant",
    "client grant",
    "client is not authorized to access",
    "not authorized to access this resource",
    "not assigned to a role",
    "no role assigned",
    "application is not assigned",
    "is not allowed to request",
    "is not authorized to request",
];

/// The failing token request `i` of `login`, refused because its client is
/// not granted the API it named; `None` when the words or codes do not say so.
pub fn check(login: &Login, i: usize, f: &Failure) -> Option<Annotation> {
    let rec = &login.records[i];
    if rec.kind != Kind::TokenRequest {
        return None;
    }
    // Without a user in the grant (client credentials) a refusal is the
    // client's; in a user's grant, "not consented" / "not assigned" is the
    // user's consent or assignment (`AADSTS65001` after an authorization
    // code is the user's missing consent), unless the words name a client
    // grant outright.
    let grant = super::grant_type(rec);
    let machine = grant.as_deref() == Some("client_credentials");
    let aadsts = f.has_aadsts(&[501051, 65001]).filter(|_| machine);
    let words = f
        .says(CLIENT_NOT_GRANTED)
        .filter(|_| machine || f.says(&["client-grant", "client grant"]).is_some());
    if aadsts.is_none() && words.is_none() {
        return None;
    }
    if aadsts.is_none()
        && f.has(&[
            "access_denied",
            "unauthorized_client",
            "invalid_scope",
            "forbidden",
        ])
        .is_none()
        && f.status != Some(403)
    {
        return None;
    }
    let p = params::request_params(rec);
    let api = params::get(&p, "audience")
        .or_else(|| params::get(&p, "resource"))
        .map(str::to_string);
    let scope = params::get(&p, "scope").map(str::to_string);
    let client = super::token_client_id(rec).map(|c| c.0);
    let named = api
        .clone()
        .or_else(|| scope.clone())
        .unwrap_or_else(|| "the API".to_string());
    let where_ = match super::provider(&rec.request.url) {
        Some("auth0") => "Auth0: Applications > APIs > (the API) > Machine to Machine Applications: authorize this application and pick its permissions (a client grant)",
        Some("okta") => "Okta: Security > API > (the authorization server) > Access Policies and Scopes: allow this client and grant type the scopes",
        Some("entra") => "Entra ID: the client's App registration > API permissions: add the API's application permission (app role) and grant admin consent",
        _ => "the provider's settings for this API: grant this client access to it (and the scopes it asks for)",
    };
    let said = aadsts
        .map(|n| format!("AADSTS{n}"))
        .or(words)
        .unwrap_or_default();
    Some(
        code::DIAGNOSIS_CLIENT_GRANT_MISSING
            .annotation(
                format!(
                    "The provider authenticated the client and refused it a token for {named} (\"{said}\"): the client \
                     is not granted this API. Nothing in the request is malformed and no user refused anything. Grant \
                     it in {where_}."
                ),
                json!({
                    "token_request": rec.id,
                    "error": f.to_json(),
                    "client_id": client,
                    "grant_type": grant,
                    "audience": api,
                    "scope": scope,
                    "fields": ["request.body.audience", "request.body.resource", "request.body.scope", "response.body.error_description"],
                }),
            )
            .about(format!("not granted {named}")),
    )
}

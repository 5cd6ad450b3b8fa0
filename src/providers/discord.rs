//! Discord: its provider profile and catalog codes.

use super::{Offline, Profile};
use crate::catalog::Endpoint::Token;
use crate::catalog::Entry;

/// Discord catalog entries.
pub static ENTRIES: &[Entry] = &[
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
];

/// How Discord is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "discord",
    name: "Discord",
    hosts: &["discord.com", "discordapp.com"],
    path_hints: &[],
    authorize_paths: &[],
    offline: Offline::Always,
    code_lifetime: None,
    response_params: &["guild_id", "permissions"],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://discord.com/developers/docs/topics/oauth2",
};

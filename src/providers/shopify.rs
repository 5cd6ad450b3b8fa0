//! Shopify: its provider profile.

use super::{Offline, Profile};
use crate::catalog::Entry;

/// Shopify catalog entries.
pub static ENTRIES: &[Entry] = &[];

/// How Shopify is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "shopify",
    name: "Shopify",
    hosts: &["myshopify.com"],
    path_hints: &[],
    authorize_paths: &["/admin/oauth/authorize"],
    offline: Offline::Setting("Shopify access tokens are offline by default; online tokens come with grant_options[]=per-user"),
    code_lifetime: None,
    response_params: &["shop", "hmac", "host", "timestamp"],
    quirks: &[],
    recognise: None,
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant",
};

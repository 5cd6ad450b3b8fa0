//! Facebook / Meta Graph API OAuth. Errors are nested Graph objects
//! (`{"error":{"message","type":"OAuthException","code":100,"error_subcode":36009}}`);
//! oauthscope reports them as `facebook_<code>` (the subcode when present) and
//! as their `type` (`OAuthException`).

use super::{CodeLifetime, Offline, Profile};
use crate::catalog::Endpoint::{Authorize, Resource, Token};
use crate::catalog::Entry;
use serde_json::Value;

const SRC: &str = "Facebook / Meta";
const SEE: &str = "https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow";

/// Facebook entries.
pub static ENTRIES: &[Entry] = &[
    Entry::new("facebook_100", SRC, "Error validating verification code: the redirect_uri differs from the OAuth dialog's",
        "The token-leg redirect_uri is not identical to the one sent to the login dialog (trailing slash, extra or missing parameters such as state, encoding).",
        "Send byte-for-byte the redirect_uri used in the dialog request.")
        .prov("facebook").alias(&["100"]).when(&["redirect_uri is identical", "validating verification code"]).at(Token).see(SEE),
    Entry::new("facebook_100", SRC, "Invalid verification code format",
        "The code was altered (encoding, truncation).", "Pass the code exactly as received.")
        .prov("facebook").alias(&["100"]).when(&["invalid verification code format"]).at(Token).see(SEE),
    Entry::new("facebook_100", SRC, "Invalid parameter (Graph error 100)",
        "A missing or invalid parameter; see the message.", "Fix the parameter named in the message.")
        .prov("facebook").alias(&["100"]).at(Token).see(SEE),
    Entry::new("OAuthException", SRC, "Facebook Graph error (type OAuthException)",
        "The Graph API's error type for every login and token error; its numbered code (reported next to it as facebook_<code>) names the cause.",
        "Read the facebook_<code> error and its message.")
        .prov("facebook").see("https://developers.facebook.com/docs/graph-api/guides/error-handling"),
    Entry::new("facebook_36009", SRC, "This authorization code has been used",
        "Code replay: a double callback, a refresh of the callback page, or a server-side fetch that followed a redirect.",
        "Exchange each code once.")
        .prov("facebook").alias(&["36009"]).at(Token).see(SEE),
    Entry::new("facebook_101", SRC, "Error validating application: invalid application ID",
        "A wrong app id.", "Use the App ID from the Meta app dashboard.")
        .prov("facebook").alias(&["101"]).at(Token).see(SEE),
    Entry::new("facebook_1", SRC, "Error validating client secret",
        "A wrong or reset app secret.", "Use the current App Secret.")
        .prov("facebook").at(Token).see(SEE),
    Entry::new("facebook_190", SRC, "Invalid or expired access token (Graph API)",
        "The access token expired, was invalidated (password change, logout) or belongs to another app.",
        "Obtain a new token through the login flow.")
        .prov("facebook").alias(&["190"]).at(Resource).see("https://developers.facebook.com/docs/graph-api/guides/error-handling"),
    Entry::new("facebook_191", SRC, "Can't load URL: the redirect URI's domain isn't in the app's domains",
        "The redirect_uri is not in Valid OAuth Redirect URIs (Facebook Login settings) or its domain not in App Domains.",
        "Add the exact redirect_uri to Valid OAuth Redirect URIs.")
        .prov("facebook").alias(&["191"]).when(&["can't load url", "can\u{2019}t load url", "isn't included in the app's domains"]).at(Authorize).see(SEE),
];

/// How Facebook / Meta is recognised and what it does differently.
pub static PROFILE: Profile = Profile {
    id: "facebook",
    name: "Facebook / Meta",
    hosts: &["facebook.com"],
    path_hints: &[],
    authorize_paths: &["/dialog/oauth"],
    offline: Offline::Setting("Facebook issues no refresh token; exchange for a long-lived token (grant_type=fb_exchange_token) instead"),
    code_lifetime: Some(CodeLifetime { secs: 600, source: "Facebook codes expire after about 10 min" }),
    response_params: &[],
    quirks: &[],
    recognise: Some(recognise),
    endpoint_version: None,
    catalog: ENTRIES,
    docs: "https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow",
};

fn recognise(v: &Value) -> bool {
    v.get("error").filter(|e| e.is_object()).is_some_and(|e| {
        e.get("fbtrace_id").is_some()
            || e.get("type").and_then(Value::as_str) == Some("OAuthException")
    })
}

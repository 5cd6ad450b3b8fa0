//! The causes of a refused client authentication (`invalid_client`,
//! `unauthorized_client` with bad credentials, HTTP 401, Entra AADSTS7000215
//! / 7000222 / 700016), each checked against the records
//! ([`super::causes`]). `diagnosis.invalid_client_credentials` shows every
//! verdict and is an error only when one is supported.
//!
//! Sources: RFC 6749 §2.3.1 and §5.2; Microsoft identity platform error
//! codes (AADSTS7000215 "ensure the secret being sent is the client secret
//! value, not the client secret ID"; 7000222 expired secret; 700016 unknown
//! application); Zoho multi-DC and Shopify shop-host redemption (see
//! [`super::region`]).

use super::causes::{Cause, Verdict};
use super::{basic_credentials, provider, Failure};
use crate::analyze::login::Login;
use crate::analyze::params;
use crate::analyze::refute::endpoint_key;
use crate::record::Record;
use serde_json::json;

/// Every cause of a refused client authentication that the records can
/// speak to, in the order they are shown when equally supported.
pub const CAUSES: &[Cause] = &[
    Cause {
        name: "secret_id",
        what: "the secret's ID was sent instead of its value",
        check: secret_id,
    },
    Cause {
        name: "secret_is_client_id",
        what: "the client_id was sent as the secret",
        check: secret_is_client_id,
    },
    Cause {
        name: "region",
        what: "the code was redeemed at another data centre than the one the callback named",
        check: super::region::check,
    },
    Cause {
        name: "unknown_client",
        what: "no client with this client_id here (wrong tenant, environment or id)",
        check: unknown_client,
    },
    Cause {
        name: "expired_secret",
        what: "the secret expired",
        check: expired_secret,
    },
    Cause {
        name: "encoding",
        what: "the id or secret reads differently once URL-decoded (RFC 6749 §2.3.1)",
        check: encoding,
    },
    Cause {
        name: "auth_method",
        what: "the client is registered for another authentication method",
        check: auth_method,
    },
    Cause {
        name: "wrong_secret",
        what: "a wrong or rotated secret",
        check: wrong_secret,
    },
];

/// Why a shape check cannot run on an exported capture.
const REDACTED: &str =
    "the secret is redacted in this capture (an export): its shape cannot be checked";

/// The `(client_id, secret)` a token request sent, from the Basic header
/// or the body.
pub fn credentials(rec: &Record) -> (Option<String>, Option<String>) {
    let p = params::request_params(rec);
    let basic = basic_credentials(rec);
    let id = basic
        .as_ref()
        .map(|b| b.0.clone())
        .or_else(|| params::get(&p, "client_id").map(str::to_string));
    let secret = basic
        .as_ref()
        .map(|b| b.1.clone())
        .or_else(|| params::get(&p, "client_secret").map(str::to_string))
        .filter(|s| !s.is_empty());
    (id, secret)
}

/// True for the 8-4-4-4-12 hex shape of a GUID (how Entra ID, Azure AD B2C
/// and others show a secret's *ID* next to its value).
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.trim().split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn secret_id(login: &Login, i: usize, f: &Failure) -> Verdict {
    let rec = &login.records[i];
    let (_, Some(secret)) = credentials(rec) else {
        return Verdict::NotApplicable;
    };
    if crate::redact::is_redacted(&secret) {
        return Verdict::CannotTell(REDACTED.into());
    }
    let ev = json!({
        "token_request": rec.id,
        "secret_shape": if is_guid(&secret) { "guid" } else { "other" },
        "secret_length": secret.chars().count(),
        "fields": ["request.headers.authorization", "request.body.client_secret"],
    });
    if !is_guid(&secret) {
        return Verdict::RuledOut(
            format!(
                "the secret sent is not GUID-shaped ({} characters)",
                secret.chars().count()
            ),
            ev,
        );
    }
    let shows_ids = matches!(provider(&rec.request.url), Some("entra" | "azure_b2c"))
        || f.has_aadsts(&[7000215]).is_some()
        || f.says(&["secret id", "secret_id"]).is_some();
    if shows_ids {
        Verdict::Supported(
            "the secret sent has the shape of a GUID (8-4-4-4-12 hex), which is how the portal \
             shows a secret's ID; its value is a longer random string"
                .into(),
            ev,
        )
    } else {
        Verdict::CannotTell(
            "the secret sent is GUID-shaped: if the provider's console shows an ID next to each \
             secret, this is the ID, not the value"
                .into(),
        )
    }
}

fn secret_is_client_id(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let rec = &login.records[i];
    match credentials(rec) {
        (Some(id), Some(secret)) if id == secret => Verdict::Supported(
            "the secret sent equals the client_id".into(),
            json!({"token_request": rec.id, "fields": ["request.body.client_secret"]}),
        ),
        _ => Verdict::NotApplicable,
    }
}

fn unknown_client(login: &Login, i: usize, f: &Failure) -> Verdict {
    let rec = &login.records[i];
    let ev = json!({"token_request": rec.id, "error": f.to_json()});
    if let Some(n) = f.has_aadsts(&[700016]) {
        return Verdict::Supported(format!("the provider said AADSTS{n}"), ev);
    }
    if f.has(&["invalid_client_id", "bad_client_id"]).is_some()
        || f.says(&["client was not found", "client not found", "unknown client"])
            .is_some()
    {
        return Verdict::Supported(
            format!(
                "the provider's words: {}",
                f.descriptions
                    .first()
                    .cloned()
                    .unwrap_or_else(|| f.main_code())
            ),
            ev,
        );
    }
    if let Some(j) = accepted_before(login, i, |r| credentials(r).0 == credentials(rec).0) {
        return Verdict::RuledOut(
            format!(
                "the same client_id was accepted at this endpoint in record {}",
                login.records[j].id
            ),
            json!({"accepted_in": login.records[j].id}),
        );
    }
    Verdict::CannotTell(
        "whether the client_id exists in this tenant or environment (compare it with the console)"
            .into(),
    )
}

fn expired_secret(login: &Login, i: usize, f: &Failure) -> Verdict {
    let rec = &login.records[i];
    if credentials(rec).1.is_none() {
        return Verdict::NotApplicable;
    }
    if let Some(n) = f.has_aadsts(&[7000222]) {
        return Verdict::Supported(
            format!("the provider said AADSTS{n}"),
            json!({"token_request": rec.id, "error": f.to_json()}),
        );
    }
    if f.says(&[
        "secret expired",
        "secret has expired",
        "expired client secret",
    ])
    .is_some()
    {
        return Verdict::Supported(
            "the provider's description says the secret expired".into(),
            json!({"token_request": rec.id, "error": f.to_json()}),
        );
    }
    Verdict::CannotTell(
        "an expired secret and a wrong one look the same on the wire: check its expiry date in \
         the console"
            .into(),
    )
}

fn encoding(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let rec = &login.records[i];
    let Some((id, secret)) = basic_credentials(rec) else {
        return Verdict::NotApplicable;
    };
    // A redacted raw secret keeps the characters decoding would change.
    let secret = crate::redact::kept_characters(&secret)
        .map(str::to_string)
        .unwrap_or(secret);
    let changes = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .is_some_and(|(_, v)| v != s)
    };
    let raw = rec
        .flavour
        .as_ref()
        .is_some_and(|f| matches!(f.number, Some(5) | Some(6)));
    let ev =
        json!({"token_request": rec.id, "flavour": rec.flavour.as_ref().and_then(|f| f.number)});
    if raw && (changes(&id) || changes(&secret)) {
        Verdict::Supported(
            "the Basic header carries the id or secret raw, and '+' or '%' in it reads \
             differently once decoded"
                .into(),
            ev,
        )
    } else {
        Verdict::RuledOut(
            "the Basic header's id and secret read the same decoded or not".into(),
            ev,
        )
    }
}

/// The RFC 7591 / OIDC Discovery name of the method a flavour's
/// `client_auth` is (`basic_urlencoded` → `client_secret_basic`).
fn method_name(client_auth: &str) -> Option<&'static str> {
    Some(match client_auth {
        "basic_urlencoded" | "basic_raw" | "basic_malformed" => "client_secret_basic",
        "body" => "client_secret_post",
        "private_key_jwt" => "private_key_jwt",
        "client_secret_jwt" => "client_secret_jwt",
        "none" => "none",
        _ => return None,
    })
}

/// The client authentication method (OIDC Core §9, RFC 7591 §2
/// `token_endpoint_auth_method`): a server checks the method the client was
/// registered with and answers `invalid_client` for any other, the same
/// answer as for a wrong secret (oidc-provider, Keycloak "Client
/// Authenticator", Okta "Client authentication"). Supported when the
/// provider's discovery document does not list the method sent, or when
/// the same client got tokens here with another method; ruled out when it
/// got them with this one.
fn auth_method(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let rec = &login.records[i];
    let Some(sent) = rec
        .flavour
        .as_ref()
        .and_then(|f| method_name(&f.client_auth))
    else {
        return Verdict::NotApplicable;
    };
    let method_of = |r: &Record| r.flavour.as_ref().and_then(|f| method_name(&f.client_auth));
    let id = credentials(rec).0;
    if let Some(j) = accepted_before(login, i, |r| credentials(r).0 == id) {
        let other = method_of(&login.records[j]);
        let ev = json!({"accepted_in": login.records[j].id, "method_sent": sent, "method_accepted": other});
        return if other == Some(sent) {
            Verdict::RuledOut(
                format!(
                    "the same client_id got tokens with {sent} in record {}",
                    login.records[j].id
                ),
                ev,
            )
        } else {
            Verdict::Supported(
                format!(
                    "record {} got tokens for the same client_id with {}, this request used {sent}",
                    login.records[j].id,
                    other.unwrap_or("another method")
                ),
                ev,
            )
        };
    }
    let here = endpoint_key(&rec.request.url);
    let listed = login.records.iter().find_map(|r| {
        if r.kind != crate::record::Kind::Discovery {
            return None;
        }
        let doc = params::response_json(r)?;
        let te = doc.get("token_endpoint")?.as_str()?;
        if endpoint_key(te) != here {
            return None;
        }
        let methods: Vec<String> = doc
            .get("token_endpoint_auth_methods_supported")?
            .as_array()?
            .iter()
            .filter_map(|m| m.as_str().map(str::to_string))
            .collect();
        Some((r.id.clone(), methods))
    });
    if let Some((doc, methods)) = listed {
        if !methods.iter().any(|m| m == sent) {
            return Verdict::Supported(
                format!(
                    "the discovery document (record {doc}) lists {} as this token endpoint's methods, not {sent}",
                    methods.join(", ")
                ),
                json!({"discovery": doc, "methods_supported": methods, "method_sent": sent}),
            );
        }
    }
    Verdict::CannotTell(format!(
        "this request used {sent}; a client registered for another method (client_secret_post, \
         client_secret_jwt, private_key_jwt) gets the same invalid_client: compare with the client's \
         token_endpoint_auth_method in the provider's settings"
    ))
}

fn wrong_secret(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let rec = &login.records[i];
    let creds = credentials(rec);
    if creds.1.is_none() {
        return Verdict::NotApplicable;
    }
    if let Some(j) = accepted_before(login, i, |r| credentials(r) == creds) {
        return Verdict::RuledOut(
            format!(
                "the same client_id and secret got tokens from this endpoint in record {}",
                login.records[j].id
            ),
            json!({"accepted_in": login.records[j].id}),
        );
    }
    Verdict::CannotTell(
        "only the provider can compare the secret with the registered one: if nothing above \
         explains it, copy the current secret value again (or create a new one)"
            .into(),
    )
}

/// A successful token request to the same endpoint (scheme, host, path)
/// whose credentials satisfy `same`.
fn accepted_before(login: &Login, i: usize, same: impl Fn(&Record) -> bool) -> Option<usize> {
    let here = endpoint_key(&login.records[i].request.url)?;
    login
        .exchanges
        .iter()
        .filter(|e| e.succeeded && e.record != i)
        .map(|e| e.record)
        .find(|&j| {
            let r = &login.records[j];
            endpoint_key(&r.request.url).as_deref() == Some(here.as_str()) && same(r)
        })
}

#[cfg(test)]
mod tests {
    use super::is_guid;

    #[test]
    fn guid_shape() {
        assert!(is_guid("c1dc014a-f491-411c-ad8c-12546064c099"));
        assert!(!is_guid("c1dc014a-f491-411c-ad8c-12546064c09"));
        assert!(!is_guid("Xy8Q~abcdefghijklmnopqrstuvwxyz0123456789"));
    }
}

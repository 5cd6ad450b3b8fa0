//! `diagnosis.redirect_uri_mismatch` at the authorization endpoint: the
//! provider refused the `redirect_uri` before any login happened, on its own
//! page (RFC 6749 §4.1.2.1: an invalid redirect URI is shown to the user,
//! never redirected to) or, for providers that do, by sending the error to
//! the callback URL it has registered (GitHub).
//!
//! The registered list is not on the wire, so each cause is checked against
//! what is ([`super::causes`]): where the provider sent the error (the
//! registered URI, GitHub), another authorize request of the capture whose
//! `redirect_uri` worked, an out-of-band URN (blocked by Google since 2022),
//! plain http on a public host (refused by most providers; RFC 9700 §2.1),
//! no `redirect_uri` at all, and the list given with `--registered-redirect`.
//! The https→http downgrade behind a proxy is [`super::scheme`]'s own
//! diagnosis and takes precedence.

use super::causes::{Assessment, Cause, Verdict};
use super::Failure;
use crate::analyze::authorize::{authorization_response, AuthorizeLeg};
use crate::analyze::login::Login;
use crate::analyze::redirect_uri::diff;
use crate::analyze::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::Kind;
use serde_json::json;

/// The causes of a refused redirect_uri at the authorization endpoint.
pub const CAUSES: &[Cause] = &[
    Cause {
        name: "registered_elsewhere",
        what: "the provider sent the error to the URI it has registered, which differs",
        check: registered_elsewhere,
    },
    Cause {
        name: "differs_from_a_working_login",
        what: "another login of this capture used a redirect_uri the provider accepted",
        check: differs_from_working,
    },
    Cause {
        name: "oob",
        what: "an out-of-band redirect URI (urn:ietf:wg:oauth:2.0:oob), blocked by Google since 2022",
        check: oob,
    },
    Cause {
        name: "insecure",
        what: "plain http on a host that is not loopback (most providers require https; RFC 9700 §2.1)",
        check: insecure,
    },
    Cause {
        name: "missing",
        what: "no redirect_uri was sent and the client has none (or several) registered",
        check: missing,
    },
];

/// The authorize leg of failing record `i`.
fn leg<'a>(login: &'a Login, i: usize) -> Option<&'a AuthorizeLeg> {
    login.leg_for(i)
}

fn sent(login: &Login, i: usize) -> Option<String> {
    leg(login, i)?.get("redirect_uri").map(str::to_string)
}

fn registered_elsewhere(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let Some(sent) = sent(login, i) else {
        return Verdict::NotApplicable;
    };
    // The provider's redirect carrying the error, to a URI the client did
    // not send (GitHub sends errors to the registered callback URL).
    let found = login.records[..=i].iter().enumerate().find_map(|(j, r)| {
        if !matches!(
            r.kind,
            Kind::AuthorizeRequest | Kind::AuthorizationResponse | Kind::ProviderPage
        ) {
            return None;
        }
        let resp = authorization_response(r)?;
        crate::analyze::params::get(&resp.params, "error")?;
        let d = diff(&sent, &resp.redirect_uri);
        // `http://localhost:3000` and `http://localhost:3000/` are one URI
        // (RFC 3986 §6.2.3): not another registered one.
        let same = d.is_equal()
            || crate::analyze::redirect_uri::same_after_browser_normalisation(
                &sent,
                &resp.redirect_uri,
            );
        (!same).then(|| (j, resp.redirect_uri.clone(), d.kind_codes()))
    });
    match found {
        Some((j, registered, kinds)) => Verdict::Supported(
            format!(
                "the provider sent its error to {registered} (record {}), not to the redirect_uri \
                 sent ({sent}): that is the registered one ({})",
                login.records[j].id,
                kinds.join(", ")
            ),
            json!({"registered": registered, "sent": sent, "kinds": kinds, "record": login.records[j].id}),
        ),
        None => Verdict::NotApplicable,
    }
}

fn differs_from_working(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let Some(sent) = sent(login, i) else {
        return Verdict::NotApplicable;
    };
    let client = leg(login, i)
        .and_then(|l| l.get("client_id"))
        .map(str::to_string);
    // An authorize leg of the same client whose login delivered a code.
    for l in &login.legs {
        if l.get("client_id").map(str::to_string) != client {
            continue;
        }
        let Some(other) = l.get("redirect_uri") else {
            continue;
        };
        let delivered = login.deliveries.iter().any(|d| {
            d.record > l.index
                && d.get("code").is_some()
                && login.leg_for(d.record).map(|x| x.index) == Some(l.index)
        });
        if !delivered {
            continue;
        }
        let d = diff(other, &sent);
        return if d.is_equal() {
            Verdict::RuledOut(
                format!(
                    "the same redirect_uri was accepted for authorize request {}",
                    login.records[l.index].id
                ),
                json!({"accepted_in": login.records[l.index].id}),
            )
        } else {
            Verdict::Supported(
                format!(
                    "authorize request {} used {other} and got a code; this one sent {sent} ({})",
                    login.records[l.index].id,
                    d.kind_codes().join(", ")
                ),
                json!({"working": other, "sent": sent, "kinds": d.kind_codes(), "record": login.records[l.index].id}),
            )
        };
    }
    Verdict::NotApplicable
}

fn oob(login: &Login, i: usize, _f: &Failure) -> Verdict {
    match sent(login, i) {
        Some(s) if s.starts_with("urn:ietf:wg:oauth:2.0:oob") => {
            Verdict::Supported(format!("the redirect_uri is {s}"), json!({"sent": s}))
        }
        _ => Verdict::NotApplicable,
    }
}

fn insecure(login: &Login, i: usize, _f: &Failure) -> Verdict {
    let Some(s) = sent(login, i) else {
        return Verdict::NotApplicable;
    };
    let Ok(u) = url::Url::parse(s.trim()) else {
        return Verdict::NotApplicable;
    };
    let host = u.host_str().unwrap_or("").to_ascii_lowercase();
    let loopback =
        host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1";
    if u.scheme() == "http" && !loopback {
        Verdict::Supported(
            format!("the redirect_uri is plain http on {host}"),
            json!({"sent": s}),
        )
    } else {
        Verdict::NotApplicable
    }
}

fn missing(login: &Login, i: usize, _f: &Failure) -> Verdict {
    match leg(login, i) {
        Some(l) if !l.opaque && l.get("redirect_uri").is_none() => Verdict::Supported(
            "the authorize request sent no redirect_uri".into(),
            json!({"authorize_record": login.records[l.index].id}),
        ),
        _ => Verdict::NotApplicable,
    }
}

/// Findings over one login: the first failing record of the authorize leg
/// whose failure is about the redirect URI.
pub fn diagnose(login: &Login, opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    for (i, rec) in records.iter().enumerate() {
        if !matches!(
            rec.kind,
            Kind::AuthorizeRequest
                | Kind::ProviderPage
                | Kind::AuthorizationResponse
                | Kind::Callback
        ) {
            continue;
        }
        let f = Failure::of(rec);
        if f.is_empty() {
            continue;
        }
        let Some(l) = leg(login, i) else {
            continue;
        };
        let sent = l.get("redirect_uri").map(str::to_string);
        let mut assessment: Assessment = super::causes::assess(login, i, &f, CAUSES);
        // The provider's words name the redirect_uri, or the records prove a
        // redirect_uri cause on their own (an OOB URN, plain http on a
        // public host, the error sent to another registered URI): a refusal
        // worded as policy ("does not comply with Google's OAuth policy") is
        // still about the URI.
        let proven = assessment
            .supported()
            .iter()
            .any(|k| matches!(*k, "oob" | "insecure" | "registered_elsewhere"))
            // ... unless the answer is the user's or the server's, not the request's.
            && f.has(&[
                "access_denied",
                "login_required",
                "consent_required",
                "interaction_required",
                "account_selection_required",
                "temporarily_unavailable",
                "server_error",
            ])
            .is_none();
        if !super::scheme::about_redirect_uri(&f) && !proven {
            continue;
        }
        if let Some(s) = &sent {
            let registered = &opts.registered_redirects;
            if !registered.is_empty() {
                let hit = registered.iter().any(|r| diff(r, s).is_equal());
                assessment.verdicts.push((
                    Cause {
                        name: "not_registered",
                        what: "the redirect_uri is not in the registered list given with --registered-redirect",
                        check: |_, _, _| Verdict::NotApplicable,
                    },
                    if hit {
                        Verdict::RuledOut("it is in the list given".into(), json!({}))
                    } else {
                        Verdict::Supported("it equals none of the URIs given".into(), json!({"registered": registered}))
                    },
                ));
            }
        }
        if !assessment.any_supported() {
            assessment.verdicts.push((
                Cause {
                    name: "not_registered",
                    what: "the redirect_uri is not one of the client's registered URIs, to the character",
                    check: |_, _, _| Verdict::NotApplicable,
                },
                Verdict::CannotTell(
                    "the registered list is not on the wire: compare it with the redirect_uri sent, \
                     character for character (scheme, host, port, path, trailing slash), or pass \
                     --registered-redirect to have it checked"
                        .into(),
                ),
            ));
        }
        let kinds = assessment.supported();
        let about = if kinds.is_empty() {
            "refused at the authorization endpoint".to_string()
        } else {
            format!(
                "refused at the authorization endpoint: {}",
                kinds.join(", ").replace('_', " ")
            )
        };
        return vec![Finding::new(
            i,
            code::DIAGNOSIS_REDIRECT_URI_MISMATCH
                .annotation(
                    format!(
                        "The provider refused the redirect_uri {} sent by authorize request {} for \
                         client {} ({}: \"{}\"); no login happened. {}",
                        sent.as_deref().map(|s| format!("`{s}`")).unwrap_or_else(|| "(none)".into()),
                        records[l.index].id,
                        l.get("client_id").unwrap_or("?"),
                        f.main_code(),
                        f.descriptions.first().cloned().unwrap_or_default(),
                        assessment.summary()
                    ),
                    json!({
                        "kinds": kinds,
                        "causes": assessment.to_json(),
                        "failing_record": rec.id,
                        "authorize_record": records[l.index].id,
                        "redirect_uri": sent,
                        "error": f.to_json(),
                        "fields": ["authorize.redirect_uri"],
                    }),
                )
                .about(about),
        )];
    }
    Vec::new()
}

//! The model of one login: built once per flow, read by every rule family
//! and by the diagnoses.
//!
//! [`Login::build`] reads a flow's records (in time order) once and answers
//! the questions the rules ask: the authorization requests with their PAR
//! bodies and request objects merged ([`Login::legs`], RFC 9126 §4 / RFC
//! 9101 precedence) and which one a later record belongs to
//! ([`Login::leg_for`]), which authorization
//! responses delivered which code and when (RFC 6749 §4.1.2), which token
//! requests were made (their grant, client id and where it came from, what
//! they sent, whether they succeeded), and — the index the diagnoses lean
//! on — **every value issued** (codes, access/refresh/ID tokens, device
//! codes) with the record and field that issued it. Pure, linear in the
//! flow's size.

use super::authorize::{self, AuthorizeLeg};
use super::diagnose::{grant_type, response_params, token_client_id, token_succeeded, Failure};
use super::params::{self, Params};
use crate::record::{Kind, Record};
use std::collections::HashMap;
use time::OffsetDateTime;

/// The kind of an issued value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuedKind {
    /// An authorization code (RFC 6749 §4.1.2).
    Code,
    /// An access token (RFC 6749 §5.1).
    AccessToken,
    /// A refresh token (RFC 6749 §5.1).
    RefreshToken,
    /// An OpenID Connect ID token.
    IdToken,
    /// A device code (RFC 8628 §3.2).
    DeviceCode,
}

impl IssuedKind {
    /// The parameter name it travels under (`code`, `access_token`, ...).
    pub fn param(self) -> &'static str {
        match self {
            IssuedKind::Code => "code",
            IssuedKind::AccessToken => "access_token",
            IssuedKind::RefreshToken => "refresh_token",
            IssuedKind::IdToken => "id_token",
            IssuedKind::DeviceCode => "device_code",
        }
    }
}

/// One value issued to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// Index of the issuing record in the flow's slice.
    pub record: usize,
    /// What it was issued as.
    pub kind: IssuedKind,
    /// Where in the record (`response.body.access_token`, `response.headers.location.code`, ...).
    pub field: &'static str,
    /// When the client received it.
    pub at: OffsetDateTime,
}

/// An authorization response seen by the client: a 3xx `Location` from the
/// provider (an authorize request's own redirect included: silent SSO, or a
/// HAR entry holding both), or a callback request.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Index of the record.
    pub record: usize,
    /// When the client received it: the response time of a redirect, the
    /// request time of a callback.
    pub at: OffsetDateTime,
    /// The parameters carried back (`code`, `state`, `error`, tokens, any added by the provider).
    pub params: Params,
    /// True for a callback request, false for a provider's 3xx.
    pub is_callback: bool,
}

impl Delivery {
    /// A delivered parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        params::get(&self.params, name).filter(|v| !v.is_empty())
    }
}

/// One request to the token endpoint.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Index of the record.
    pub record: usize,
    /// The grant (`authorization_code`, `refresh_token`, a URN, ...).
    pub grant: Option<String>,
    /// The client id and where it came from (`request.body.client_id`, `request.headers.authorization`).
    pub client_id: Option<(String, &'static str)>,
    /// Every parameter sent (query, then body).
    pub sent: Params,
    /// The response's parameters (JSON members or a form body).
    pub response: Params,
    /// True when tokens came back.
    pub succeeded: bool,
    /// The errors it carried.
    pub failure: Failure,
}

impl Exchange {
    /// A sent parameter, when not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        params::get(&self.sent, name).filter(|v| !v.is_empty())
    }
}

/// The model of one login. See the module documentation.
#[derive(Debug)]
pub struct Login<'a> {
    /// The flow's records, in time order.
    pub records: &'a [Record],
    /// Every authorization request (PAR and request object merged), in
    /// time order ([`authorize::authorize_legs`]).
    pub legs: Vec<AuthorizeLeg>,
    /// Authorization responses and callbacks, in time order.
    pub deliveries: Vec<Delivery>,
    /// Token requests, in time order.
    pub exchanges: Vec<Exchange>,
    /// Every value issued, by value.
    pub issued: HashMap<String, Vec<Issued>>,
}

/// When the client received a record's response: request time plus the
/// time to the response headers. A duration that would carry the time past
/// what [`OffsetDateTime`] represents (a hostile or damaged HAR or record)
/// is ignored: the request time is returned.
pub fn received_at(rec: &Record) -> OffsetDateTime {
    i64::try_from(rec.duration_ms)
        .ok()
        .and_then(|ms| rec.time.checked_add(time::Duration::milliseconds(ms)))
        .unwrap_or(rec.time)
}

impl<'a> Login<'a> {
    /// The authorization request record `index` belongs to
    /// ([`authorize::leg_for`]: same flow, same `state`, else the latest
    /// earlier one).
    pub fn leg_for(&self, index: usize) -> Option<&AuthorizeLeg> {
        authorize::leg_for(self.records, &self.legs, index)
    }

    /// Read the records once.
    pub fn build(records: &'a [Record]) -> Login<'a> {
        let mut login = Login {
            records,
            legs: authorize::authorize_legs(records),
            deliveries: Vec::new(),
            exchanges: Vec::new(),
            issued: HashMap::new(),
        };
        for (i, rec) in records.iter().enumerate() {
            match rec.kind {
                Kind::AuthorizeRequest | Kind::AuthorizationResponse | Kind::ProviderPage => {
                    // Where the browser was sent next (redirect, JSON
                    // location, meta refresh, form_post page) and what it
                    // carried there.
                    let p = params::location_params(rec);
                    // A provider's own hop carrying only `state` (Auth0's
                    // `/u/login?state=...`) is internal, not a delivery.
                    let carries = ["code", "error", "id_token", "access_token"]
                        .iter()
                        .any(|n| params::get(&p, n).is_some());
                    let state_back =
                        params::get(&p, "state").is_some() && rec.kind != Kind::ProviderPage;
                    // The provider's own error page is not a delivery to the client.
                    let internal = params::next_location(rec)
                        .is_some_and(|n| authorize::stays_at_the_provider(rec, &n));
                    if (carries || state_back) && !internal {
                        let at = received_at(rec);
                        login.note(&p, i, at, "response.headers.location");
                        login.deliveries.push(Delivery {
                            record: i,
                            at,
                            params: p,
                            is_callback: false,
                        });
                    }
                }
                Kind::Callback => {
                    let p = params::request_params(rec);
                    login.note(&p, i, rec.time, "request.callback");
                    login.deliveries.push(Delivery {
                        record: i,
                        at: rec.time,
                        params: p,
                        is_callback: true,
                    });
                }
                Kind::TokenRequest => {
                    let response = response_params(rec);
                    let succeeded = token_succeeded(rec);
                    if succeeded {
                        login.note(&response, i, received_at(rec), "response.body");
                    }
                    login.exchanges.push(Exchange {
                        record: i,
                        grant: grant_type(rec),
                        client_id: token_client_id(rec),
                        sent: params::request_params(rec),
                        response,
                        succeeded,
                        failure: Failure::of(rec),
                    });
                }
                Kind::DeviceAuthorization => {
                    let response = response_params(rec);
                    login.note(&response, i, received_at(rec), "response.body");
                }
                _ => {}
            }
        }
        login
    }

    fn note(&mut self, p: &Params, record: usize, at: OffsetDateTime, place: &'static str) {
        for kind in [
            IssuedKind::Code,
            IssuedKind::AccessToken,
            IssuedKind::RefreshToken,
            IssuedKind::IdToken,
            IssuedKind::DeviceCode,
        ] {
            let Some(v) = params::get(p, kind.param()).filter(|v| !v.is_empty()) else {
                continue;
            };
            let field = field_name(place, kind);
            let list = self.issued.entry(v.to_string()).or_default();
            // A code seen again at its callback is the same issue.
            if !list.iter().any(|x| x.kind == kind) {
                list.push(Issued {
                    record,
                    kind,
                    field,
                    at,
                });
            }
        }
    }

    /// Who issued `value` before record `before`, earliest first.
    pub fn issuers(&self, value: &str, before: usize) -> Vec<&Issued> {
        self.issued
            .get(value)
            .map(|l| l.iter().filter(|x| x.record < before).collect())
            .unwrap_or_default()
    }

    /// The codes delivered before record `before`, with their deliveries (earliest first).
    pub fn delivered_codes(&self, before: usize) -> Vec<(&str, &Delivery)> {
        self.deliveries
            .iter()
            .filter(|d| d.record < before)
            .filter_map(|d| d.get("code").map(|c| (c, d)))
            .collect()
    }

    /// The exchange of record `index`, if it is a token request.
    pub fn exchange(&self, index: usize) -> Option<&Exchange> {
        self.exchanges.iter().find(|e| e.record == index)
    }
}

fn field_name(place: &'static str, kind: IssuedKind) -> &'static str {
    match (place, kind) {
        ("response.headers.location", IssuedKind::Code) => "response.headers.location.code",
        ("response.headers.location", IssuedKind::AccessToken) => {
            "response.headers.location.access_token"
        }
        ("response.headers.location", IssuedKind::IdToken) => "response.headers.location.id_token",
        ("request.callback", IssuedKind::Code) => "request.code",
        ("request.callback", IssuedKind::IdToken) => "request.id_token",
        ("request.callback", IssuedKind::AccessToken) => "request.access_token",
        (_, IssuedKind::AccessToken) => "response.body.access_token",
        (_, IssuedKind::RefreshToken) => "response.body.refresh_token",
        (_, IssuedKind::IdToken) => "response.body.id_token",
        (_, IssuedKind::DeviceCode) => "response.body.device_code",
        (_, IssuedKind::Code) => "response.code",
    }
}

//! Rule family `client_id`: invisible characters in a `client_id`
//! (`client_id.whitespace`) and a token request naming another client than
//! the authorize request of its flow (`client_id.mismatch`).
//!
//! The token leg's client id is read from the Basic header user part
//! (decoded as [`super::flavour::BasicCredentials::client_id`] does) or the
//! body's `client_id`; a request carrying both is also checked against itself.

use super::flavour::{self, AuthHeader};
use super::login::Login;
use super::params;
use super::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Kind, Record};
use serde_json::{json, Value};

/// One suspicious character in a client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OddChar {
    /// Character index (not byte) in the value.
    pub index: usize,
    /// The character.
    pub ch: char,
    /// A readable name (`tab`, `no-break space (U+00A0)`, ...).
    pub name: String,
    /// `leading`, `trailing` or `inside`.
    pub position: &'static str,
}

fn invisible_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\t' => "tab",
        '\n' => "line feed",
        '\r' => "carriage return",
        '\u{0B}' => "vertical tab",
        '\u{0C}' => "form feed",
        '\u{A0}' => "no-break space (U+00A0)",
        '\u{2007}' => "figure space (U+2007)",
        '\u{202F}' => "narrow no-break space (U+202F)",
        '\u{200B}' => "zero-width space (U+200B)",
        '\u{200C}' => "zero-width non-joiner (U+200C)",
        '\u{200D}' => "zero-width joiner (U+200D)",
        '\u{2060}' => "word joiner (U+2060)",
        '\u{FEFF}' => "byte order mark / zero-width no-break space (U+FEFF)",
        _ => return None,
    })
}

/// Whitespace and invisible characters that do not belong in a client id:
/// any leading or trailing whitespace, and tabs, line breaks, no-break and
/// zero-width spaces anywhere.
pub fn odd_whitespace(value: &str) -> Vec<OddChar> {
    let chars: Vec<char> = value.chars().collect();
    let invisible = |c: char| c.is_whitespace() || invisible_name(c).is_some();
    let lead = chars.iter().take_while(|c| invisible(**c)).count();
    let trail_start = chars.len() - chars.iter().rev().take_while(|c| invisible(**c)).count();
    let mut out = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        let position = if i < lead {
            "leading"
        } else if i >= trail_start {
            "trailing"
        } else {
            "inside"
        };
        let name = match invisible_name(c) {
            Some(n) => n.to_string(),
            None if c == ' ' && position != "inside" => "space".to_string(),
            None if c.is_whitespace() && position != "inside" => {
                format!("whitespace (U+{:04X})", c as u32)
            }
            None => continue,
        };
        out.push(OddChar {
            index: i,
            ch: c,
            name,
            position,
        });
    }
    out
}

/// Where in a request a client id was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The URL query (authorize requests).
    Query,
    /// The request body (`client_id` parameter).
    Body,
    /// The user part of `Authorization: Basic`.
    BasicUser,
}

impl Leg {
    /// `query`, `body` or `basic_user`.
    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Query => "query",
            Leg::Body => "body",
            Leg::BasicUser => "basic_user",
        }
    }

    /// The record field a diagnosis names as its evidence:
    /// `request.query.client_id`, `request.body.client_id` or
    /// `request.headers.authorization`.
    pub fn field(self) -> &'static str {
        match self {
            Leg::Query => "request.query.client_id",
            Leg::Body => "request.body.client_id",
            Leg::BasicUser => "request.headers.authorization",
        }
    }
}

/// Every client id a request carries, with where it was found.
pub fn client_ids(rec: &Record) -> Vec<(Leg, String)> {
    let mut out = Vec::new();
    for (k, v) in params::query_params(&rec.request.url) {
        if k == "client_id" {
            out.push((Leg::Query, v));
        }
    }
    if rec.kind != Kind::AuthorizeRequest || rec.request.method.eq_ignore_ascii_case("POST") {
        for (k, v) in params::body_params(&rec.request.headers, &rec.request.body) {
            if k == "client_id" {
                out.push((Leg::Body, v));
            }
        }
    }
    if let AuthHeader::Basic(c) = flavour::authorization(&rec.request.headers) {
        out.push((Leg::BasicUser, c.client_id()));
    }
    out
}

fn carries_client_id(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::AuthorizeRequest
            | Kind::TokenRequest
            | Kind::Par
            | Kind::DeviceAuthorization
            | Kind::Revocation
            | Kind::Introspection
    )
}

/// The client id a request identifies itself with — the one answer every
/// rule uses: the user of a readable `Authorization: Basic` header
/// (decoded per RFC 6749 §2.3.1 when it is URL-encoded: that is who
/// authenticates), else the body's non-empty `client_id`, else the query's.
pub fn of_request(rec: &Record) -> Option<(Leg, String)> {
    let ids = client_ids(rec);
    let nonempty = |l: Leg| ids.iter().find(|(x, v)| *x == l && !v.is_empty()).cloned();
    nonempty(Leg::BasicUser)
        .or_else(|| nonempty(Leg::Body))
        .or_else(|| nonempty(Leg::Query))
}

/// The client id an authorize request names (query, or a PAR body / Basic header).
fn authorize_client_id(rec: &Record) -> Option<String> {
    match rec.kind {
        Kind::AuthorizeRequest => {
            let q = params::query_params(&rec.request.url);
            params::get(&q, "client_id").map(str::to_string)
        }
        Kind::Par => of_request(rec).map(|(_, v)| v),
        _ => None,
    }
}

/// How two client ids differ: `whitespace`, `case`, `percent_encoding` or `different`.
pub fn difference(expected: &str, actual: &str) -> &'static str {
    let strip = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && invisible_name(*c).is_none())
            .collect()
    };
    if strip(expected) == strip(actual) {
        "whitespace"
    } else if expected.eq_ignore_ascii_case(actual) {
        "case"
    } else if flavour::form_decode(expected) == actual || flavour::form_decode(actual) == expected {
        "percent_encoding"
    } else {
        "different"
    }
}

fn shown(v: &str) -> Value {
    // The escaped form makes invisible characters visible in views.
    json!({"value": v, "escaped": v.escape_default().to_string()})
}

/// Findings of this rule family over records in time order.
pub fn annotate(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        if !carries_client_id(rec.kind) {
            continue;
        }
        let mut seen: Vec<(Leg, String)> = Vec::new();
        for (leg, id) in client_ids(rec) {
            if seen.iter().any(|(l, v)| *l == leg && *v == id) {
                continue;
            }
            seen.push((leg, id.clone()));
            let odd = odd_whitespace(&id);
            if odd.is_empty() {
                continue;
            }
            let names: Vec<String> = odd
                .iter()
                .map(|o| format!("{} {}", o.position, o.name))
                .collect();
            out.push(Finding::new(
                i,
                code::CLIENT_ID_WHITESPACE
                    .annotation(
                        "Servers compare client ids exactly, so an invisible character (usually \
                     pasted from a console, a .env file or a YAML block) makes the client \
                     unknown: invalid_client, unauthorized_client, or an error page at the \
                     authorization endpoint. Remove it from the configured client id.",
                        json!({
                            "record": rec.id,
                            "where": leg.as_str(),
                            "field": "client_id",
                            "client_id": shown(&id),
                            "characters": odd.iter().map(|o| json!({
                                "index": o.index,
                                "char": format!("U+{:04X}", o.ch as u32),
                                "name": o.name,
                                "position": o.position,
                            })).collect::<Vec<_>>(),
                        }),
                    )
                    .about(format!(
                        "{} {}: {}",
                        rec.kind,
                        leg.as_str().replace('_', " "),
                        names.join(", ")
                    )),
            ));
        }

        // One request naming two clients (Basic user vs body client_id).
        if rec.kind != Kind::AuthorizeRequest {
            let ids = client_ids(rec);
            let basic = ids.iter().find(|(l, _)| *l == Leg::BasicUser);
            let body = ids.iter().find(|(l, _)| *l == Leg::Body);
            if let (Some((_, b)), Some((_, p))) = (basic, body) {
                if b != p {
                    out.push(Finding::new(
                        i,
                        code::CLIENT_ID_MISMATCH.annotation(
"The request authenticates as one client in the Authorization \
                             header and names another in the body's client_id. Servers \
                             reject this (invalid_client / invalid_request). Send the same \
                             client id in both, or drop the body client_id.",
json!({
                                "record": rec.id,
                                "where": "basic_vs_body",
                                "expected": shown(b),
                                "actual": shown(p),
                                "difference": difference(b, p),
                                "expected_from": {"record": rec.id, "field": "authorization (basic user)"},
                                "actual_from": {"record": rec.id, "field": "client_id (body)"},
                            }),
),
                    ));
                    continue;
                }
            }
        }

        if rec.kind != Kind::TokenRequest {
            continue;
        }
        let Some(flow) = rec.flow.as_deref() else {
            continue;
        };
        let Some((leg, actual)) = of_request(rec) else {
            continue;
        };
        // The authorize leg of this flow: the latest one before this request,
        // else the first one of the flow.
        let in_flow = |r: &&Record| r.flow.as_deref() == Some(flow);
        let authz: Vec<(&Record, String)> = records
            .iter()
            .filter(in_flow)
            .filter_map(|r| authorize_client_id(r).map(|c| (r, c)))
            .collect();
        let before = authz
            .iter()
            .rfind(|(r, _)| (r.time, &r.id) <= (rec.time, &rec.id))
            .or_else(|| authz.first());
        let Some((auth_rec, expected)) = before else {
            continue;
        };
        if *expected == actual {
            continue;
        }
        let diff = difference(expected, &actual);
        out.push(Finding::new(
            i,
            code::CLIENT_ID_MISMATCH.annotation(
"The authorization code was issued to the client named at the authorize \
                 request; exchanging it as another client fails (invalid_grant \"issued to \
                 another client\", Keycloak \"Found different client_id in clientSession\", \
                 or invalid_client). \
                 Use the same client id in both legs; check for two app registrations, a \
                 stale environment variable, or stray whitespace.",
json!({
                    "record": rec.id,
                    "where": leg.as_str(),
                    "expected": shown(expected),
                    "actual": shown(&actual),
                    "difference": diff,
                    "expected_from": {"record": auth_rec.id, "kind": auth_rec.kind.as_str(), "field": "client_id"},
                    "actual_from": {"record": rec.id, "kind": rec.kind.as_str(), "field": match leg {
                        Leg::BasicUser => "authorization (basic user)",
                        Leg::Body => "client_id (body)",
                        Leg::Query => "client_id (query)",
                    }},
                }),
).about(format!("token request vs {} ({diff})", auth_rec.kind)),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testkit::{
        authorize_query as authorize, basic, token_form_auth, token_json_auth,
    };
    #[allow(unused_imports)]
    use crate::record::{Annotation, Severity};

    const BODY: &str =
        "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb";

    fn run(records: &[Record]) -> Vec<Finding> {
        crate::analyze::testkit::findings(annotate, records)
    }

    fn auth(id: &str) -> Record {
        authorize(
            "a1",
            0,
            &format!(
                "response_type=code&client_id={id}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s1&scope=openid"
            ),
        )
    }

    #[test]
    fn clean_flow_has_no_findings() {
        let recs = [
            auth("app-123"),
            token_form_auth("t1", 5, Some(&basic("app-123", "s3cret")), BODY),
        ];
        assert!(run(&recs).is_empty());
        let recs = [
            auth("app-123"),
            token_form_auth(
                "t1",
                5,
                None,
                &format!("{BODY}&client_id=app-123&client_secret=x"),
            ),
        ];
        assert!(run(&recs).is_empty());
        // URL-encoded Basic user decodes to the authorize client_id.
        let recs = [
            auth("my%3Aapp"),
            token_form_auth("t1", 5, Some(&basic("my%3Aapp", "s%2B1")), BODY),
        ];
        assert!(run(&recs).is_empty(), "{:?}", run(&recs));
    }

    #[test]
    fn whitespace_in_each_leg() {
        // Trailing space (encoded) in the authorize query.
        let f = run(&[auth("app-123%20")]);
        assert_eq!(f.len(), 1);
        let a = &f[0].annotation;
        assert_eq!(
            (a.code.as_str(), a.severity),
            ("client_id.whitespace", Severity::Error)
        );
        assert_eq!(a.evidence["where"], "query");
        assert_eq!(a.evidence["characters"][0]["position"], "trailing");
        assert_eq!(a.evidence["characters"][0]["name"], "space");

        // Tab and newline in the token body.
        let r = token_form_auth("t1", 5, None, &format!("{BODY}&client_id=%09app-123%0A"));
        let f = run(&[r]);
        let a = &f[0].annotation;
        assert_eq!(a.code, "client_id.whitespace");
        assert_eq!(a.evidence["where"], "body");
        let names: Vec<_> = a.evidence["characters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["tab", "line feed"]);
        assert_eq!(a.evidence["client_id"]["escaped"], "\\tapp-123\\n");

        // Zero-width space inside the Basic user part (raw UTF-8).
        let r = token_form_auth("t2", 5, Some(&basic("app\u{200B}-123", "s3cret")), BODY);
        let f = run(&[r]);
        let a = &f
            .iter()
            .find(|f| f.annotation.code == "client_id.whitespace")
            .unwrap()
            .annotation;
        assert_eq!(a.evidence["where"], "basic_user");
        assert_eq!(a.evidence["characters"][0]["position"], "inside");
        assert!(a.evidence["characters"][0]["name"]
            .as_str()
            .unwrap()
            .contains("zero-width"));

        // No-break space, leading, in a JSON body.
        let r = token_json_auth(
            "t3",
            5,
            None,
            "{\"grant_type\":\"client_credentials\",\"client_id\":\"\u{A0}app\",\"client_secret\":\"x\"}",
        );
        let f = run(&[r]);
        assert_eq!(f[0].annotation.evidence["characters"][0]["char"], "U+00A0");
    }

    #[test]
    fn inner_plain_space_is_not_whitespace_noise() {
        assert!(odd_whitespace("my app").is_empty());
        assert_eq!(odd_whitespace(" my app").len(), 1);
    }

    #[test]
    fn token_client_id_differs_from_authorize() {
        let recs = [
            auth("app-123"),
            token_form_auth("t1", 5, Some(&basic("app-456", "s3cret")), BODY),
        ];
        let f = run(&recs);
        assert_eq!(f.len(), 1);
        let a = &f[0].annotation;
        assert_eq!(
            (a.code.as_str(), a.severity),
            ("client_id.mismatch", Severity::Error)
        );
        assert_eq!(f[0].record, 1);
        assert_eq!(a.evidence["expected"]["value"], "app-123");
        assert_eq!(a.evidence["actual"]["value"], "app-456");
        assert_eq!(a.evidence["expected_from"]["record"], "a1");
        assert_eq!(a.evidence["actual_from"]["record"], "t1");
        assert_eq!(a.evidence["where"], "basic_user");
        assert_eq!(a.evidence["difference"], "different");
        assert!(!serde_json::to_string(a).unwrap().contains("s3cret"));
    }

    #[test]
    fn mismatch_kinds_and_body_leg() {
        let recs = [
            auth("App-123"),
            token_form_auth(
                "t1",
                5,
                None,
                &format!("{BODY}&client_id=app-123&client_secret=x"),
            ),
        ];
        let f = run(&recs);
        assert_eq!(f[0].annotation.evidence["difference"], "case");
        assert_eq!(f[0].annotation.evidence["where"], "body");

        // Whitespace: both a whitespace finding (token) and a mismatch.
        let recs = [
            auth("app-123"),
            token_form_auth("t1", 5, None, &format!("{BODY}&client_id=app-123%20")),
        ];
        let f = run(&recs);
        let codes: Vec<_> = f.iter().map(|f| f.annotation.code.as_str()).collect();
        assert_eq!(codes, ["client_id.whitespace", "client_id.mismatch"]);
        assert_eq!(f[1].annotation.evidence["difference"], "whitespace");
    }

    #[test]
    fn other_flows_are_not_compared() {
        let mut t = token_form_auth("t1", 5, Some(&basic("other-app", "s")), BODY);
        t.flow = Some("flow2".into());
        assert!(run(&[auth("app-123"), t]).is_empty());
    }

    #[test]
    fn basic_and_body_disagree() {
        let r = token_form_auth(
            "t1",
            5,
            Some(&basic("app-123", "s")),
            &format!("{BODY}&client_id=app-999"),
        );
        let f = run(&[auth("app-123"), r]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].annotation.code, "client_id.mismatch");
        assert_eq!(f[0].annotation.evidence["where"], "basic_vs_body");
    }
}

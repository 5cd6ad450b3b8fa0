//! The one test kit of the analysis engine: record builders for every rule
//! family's unit tests (an authorization-code flow, token requests in every
//! client-authentication flavour, discovery, JWTs), the [`Capture`] scenario
//! builder the diagnosis tests use, and helpers to run a rule family over a
//! login the way `analyze` does.

use crate::analyze::{correlate, AnalyzeOptions, Finding};
use crate::record::{Body, HeaderList, Kind, Record, Request, Response};
use base64::Engine as _;
use time::{Duration, OffsetDateTime};

/// 2024-05-01 10:00:00 UTC plus `secs`.
pub fn at(secs: i64) -> OffsetDateTime {
    time::macros::datetime!(2024-05-01 10:00 UTC) + Duration::seconds(secs)
}

fn base(id: &str, secs: i64, kind: Kind, method: &str, url: &str) -> Record {
    let mut r = Record::bare(&format!("{id:0>16}"), at(secs), kind, method, url);
    r.duration_ms = 120;
    r
}

fn redirect(status: u16, location: &str) -> Option<Response> {
    let mut h = HeaderList::default();
    h.push("Location", location);
    Some(Response {
        status,
        headers: h,
        body: Body::default(),
    })
}

/// A response of `status` with a JSON body.
pub fn json_response(status: u16, body: &str) -> Option<Response> {
    let mut h = HeaderList::default();
    h.push("Content-Type", "application/json");
    h.push("Cache-Control", "no-store");
    Some(Response {
        status,
        headers: h,
        body: Body::from_bytes(body.as_bytes()),
    })
}

/// `GET` authorize request answered by a 302 to the provider's login page.
pub fn authorize(id: &str, secs: i64, url: &str) -> Record {
    let mut r = base(id, secs, Kind::AuthorizeRequest, "GET", url);
    r.response = redirect(302, "https://idp.example.com/login?session=abc");
    r
}

/// A 3xx authorization response (after login) to `location`.
pub fn auth_response(id: &str, secs: i64, location: &str) -> Record {
    let mut r = base(
        id,
        secs,
        Kind::AuthorizationResponse,
        "POST",
        "https://idp.example.com/login",
    );
    r.response = redirect(302, location);
    r
}

/// The browser's callback request to `url`.
pub fn callback(id: &str, secs: i64, url: &str) -> Record {
    let mut r = base(id, secs, Kind::Callback, "GET", url);
    r.response = redirect(302, "/home");
    r
}

/// A PAR request with a form body, answered with `request_uri`.
pub fn par(id: &str, secs: i64, form: &str, request_uri: &str) -> Record {
    let mut r = base(
        id,
        secs,
        Kind::Par,
        "POST",
        "https://idp.example.com/oauth2/par",
    );
    r.request
        .headers
        .push("Content-Type", "application/x-www-form-urlencoded");
    r.request.body = Body::from_bytes(form.as_bytes());
    r.response = json_response(
        201,
        &format!(r#"{{"request_uri":"{request_uri}","expires_in":60}}"#),
    );
    r
}

/// An `authorization_code` (or other grant) token request with a form body.
pub fn token(id: &str, secs: i64, form: &str, response_json: &str) -> Record {
    let mut r = base(
        id,
        secs,
        Kind::TokenRequest,
        "POST",
        "https://idp.example.com/oauth2/token",
    );
    r.request
        .headers
        .push("Content-Type", "application/x-www-form-urlencoded");
    r.request.body = Body::from_bytes(form.as_bytes());
    r.grant_type =
        crate::analyze::params::get(&crate::analyze::params::form_params(form), "grant_type")
            .map(str::to_string);
    r.response = json_response(200, response_json);
    r
}

/// A token request with a JSON body.
pub fn token_json(id: &str, secs: i64, body: &str, response_json: &str) -> Record {
    let mut r = token(id, secs, "", response_json);
    r.request.headers = HeaderList::default();
    r.request.headers.push("Content-Type", "application/json");
    r.request.body = Body::from_bytes(body.as_bytes());
    r.grant_type =
        crate::analyze::params::get(&crate::analyze::params::json_params(body), "grant_type")
            .map(str::to_string);
    r
}

/// A discovery document fetch.
pub fn discovery(id: &str, secs: i64, url: &str, json: &str) -> Record {
    let mut r = base(id, secs, Kind::Discovery, "GET", url);
    r.response = json_response(200, json);
    r
}

/// An unsigned compact JWT with these claims (`alg: none`, empty signature
/// unless `sig` is given).
pub fn jwt(claims: &str, sig: &str) -> String {
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        b.encode(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#),
        b.encode(claims),
        sig
    )
}

/// Sort, assign flows, as [`crate::analyze::analyze`] does before the rules.
pub fn prepare(mut records: Vec<Record>) -> Vec<Record> {
    records.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    correlate::assign_flows(&mut records);
    records
}

/// Run one rule over prepared records.
pub fn run(
    rule: crate::analyze::Rule,
    records: Vec<Record>,
    opts: &AnalyzeOptions,
) -> (Vec<Record>, Vec<Finding>) {
    let recs = prepare(records);
    let f = rule(&crate::analyze::login::Login::build(&recs), opts);
    (recs, f)
}

/// Findings with this code.
pub fn with_code<'a>(f: &'a [Finding], code: &str) -> Vec<&'a Finding> {
    f.iter().filter(|x| x.annotation.code == code).collect()
}

/// Findings of severity warning or error.
pub fn problems(f: &[Finding]) -> Vec<&Finding> {
    f.iter()
        .filter(|x| x.annotation.severity >= crate::record::Severity::Warning)
        .collect()
}

/// Run one rule family over `records` as they are (already in time order,
/// flows as given): the login read once, default options.
pub fn findings(rule: crate::analyze::Rule, records: &[Record]) -> Vec<Finding> {
    rule(
        &crate::analyze::login::Login::build(records),
        &AnalyzeOptions::default(),
    )
}

// ---------------------------------------------------------------------------
// Token requests in every client-authentication flavour (flavour, client_id,
// tokens tests): a fixed test morning, all in flow `flow1`.
// ---------------------------------------------------------------------------

/// `Basic base64(user:pass)` exactly as given.
pub fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// A record at `second` seconds into a fixed test morning.
pub fn record(id: &str, second: i64, kind: Kind, method: &str, url: &str) -> Record {
    let time = OffsetDateTime::from_unix_timestamp(1_750_000_000 + second).unwrap();
    let mut r = Record::bare(id, time, kind, method, url);
    r.flow = Some("flow1".into());
    r.duration_ms = 20;
    r
}

/// A GET to the authorization endpoint with the given query.
pub fn authorize_query(id: &str, second: i64, query: &str) -> Record {
    let mut r = record(
        id,
        second,
        Kind::AuthorizeRequest,
        "GET",
        &format!("https://login.example.com/oauth2/authorize?{query}"),
    );
    r.response = Some(Response {
        status: 302,
        headers: HeaderList(vec![(
            "Location".into(),
            "https://login.example.com/login".into(),
        )]),
        body: Body::default(),
    });
    r
}

/// A token request with a form body and an optional Authorization header.
pub fn token_form_auth(id: &str, second: i64, auth: Option<&str>, body: &str) -> Record {
    token_request(id, second, auth, "application/x-www-form-urlencoded", body)
}

/// A token request with a JSON body and an optional Authorization header.
pub fn token_json_auth(id: &str, second: i64, auth: Option<&str>, body: &str) -> Record {
    token_request(id, second, auth, "application/json", body)
}

/// A token request with the given content type and body.
pub fn token_request(id: &str, second: i64, auth: Option<&str>, ct: &str, body: &str) -> Record {
    let mut r = record(
        id,
        second,
        Kind::TokenRequest,
        "POST",
        "https://login.example.com/oauth2/token",
    );
    r.request.headers.push("Content-Type", ct);
    r.request.headers.push("Accept", "application/json");
    if let Some(a) = auth {
        r.request.headers.push("Authorization", a);
    }
    r.request.body = Body::from_bytes(body.as_bytes());
    r.grant_type = crate::analyze::params::get(
        &crate::analyze::params::body_params(&r.request.headers, &r.request.body),
        "grant_type",
    )
    .map(str::to_string);
    r.response = Some(Response {
        status: 200,
        headers: HeaderList(vec![
            ("Content-Type".into(), "application/json".into()),
            ("Cache-Control".into(), "no-store".into()),
            ("Pragma".into(), "no-cache".into()),
        ]),
        body: Body::from_bytes(
            br#"{"access_token":"at.1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt.1"}"#,
        ),
    });
    r
}

/// Replace the response of `r`.
pub fn respond(r: &mut Record, status: u16, headers: &[(&str, &str)], body: &str) {
    r.response = Some(Response {
        status,
        headers: HeaderList(
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        body: Body::from_bytes(body.as_bytes()),
    });
}

// ---------------------------------------------------------------------------
// Scenarios (the diagnosis tests): a provider at IDP, an app at APP_CB.
// ---------------------------------------------------------------------------

/// The provider of [`Capture`] scenarios.
pub const IDP: &str = "https://idp.example.com";
/// The app's redirect URI in [`Capture`] scenarios.
pub const APP_CB: &str = "https://app.example.com/callback";
/// The PKCE verifier of [`Capture::login`] (RFC 7636 Appendix B's).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The diagnosis tests' capture clock: 2026-03-02 09:15 UTC.
pub fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-03-02 09:15:00 UTC)
}

/// A scenario builder: records pushed in order get time-ordered ids from
/// their offset in seconds from [`t0`]; [`Capture::findings`] assigns flows
/// and runs a rule family.
pub struct Capture {
    /// The records so far.
    pub records: Vec<Record>,
}

/// A header list from pairs.
pub fn hdrs(pairs: &[(&str, &str)]) -> HeaderList {
    HeaderList(
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
}

impl Default for Capture {
    fn default() -> Capture {
        Capture::new()
    }
}

impl Capture {
    /// An empty capture.
    pub fn new() -> Capture {
        Capture {
            records: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        secs: i64,
        kind: Kind,
        method: &str,
        url: &str,
        req_headers: HeaderList,
        req_body: &str,
        status: u16,
        resp_headers: HeaderList,
        resp_body: &str,
    ) -> usize {
        let time = t0() + Duration::seconds(secs);
        let micros = (time.unix_timestamp_nanos() / 1000) as u64 + self.records.len() as u64;
        let grant_type = if kind == Kind::TokenRequest {
            crate::analyze::params::get(
                &crate::analyze::params::form_params(req_body),
                "grant_type",
            )
            .map(str::to_string)
        } else {
            None
        };
        self.records.push(Record {
            id: format!("{micros:016x}"),
            time,
            flow: None,
            kind,
            grant_type,
            request: Request {
                method: method.into(),
                url: url.into(),
                headers: req_headers,
                body: Body::from_bytes(req_body.as_bytes()),
            },
            response: Some(Response {
                status,
                headers: resp_headers,
                body: Body::from_bytes(resp_body.as_bytes()),
            }),
            duration_ms: 120,
            error: None,
            flavour: None,
            annotations: Vec::new(),
        });
        self.records.len() - 1
    }

    /// GET /authorize (the provider's login page).
    pub fn authorize(&mut self, secs: i64, query: &str) -> usize {
        self.push(
            secs,
            Kind::AuthorizeRequest,
            "GET",
            &format!("{IDP}/authorize?{query}"),
            hdrs(&[("Accept", "text/html")]),
            "",
            200,
            hdrs(&[("Content-Type", "text/html; charset=utf-8")]),
            "<html><form method=post action=/login>...</form></html>",
        )
    }

    /// The login POST answered with a redirect back to the app.
    pub fn auth_response(&mut self, secs: i64, location: &str) -> usize {
        self.push(
            secs,
            Kind::AuthorizationResponse,
            "POST",
            &format!("{IDP}/login"),
            hdrs(&[("Content-Type", "application/x-www-form-urlencoded")]),
            "username=ada&password=hunter2",
            302,
            hdrs(&[("Location", location)]),
            "",
        )
    }

    pub fn callback(&mut self, secs: i64, url: &str) -> usize {
        self.push(
            secs,
            Kind::Callback,
            "GET",
            url,
            HeaderList::default(),
            "",
            200,
            hdrs(&[("Content-Type", "text/html")]),
            "<html>signed in</html>",
        )
    }

    pub fn token_at(&mut self, secs: i64, url: &str, body: &str, status: u16, resp: &str) -> usize {
        self.push(
            secs,
            Kind::TokenRequest,
            "POST",
            url,
            hdrs(&[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ]),
            body,
            status,
            hdrs(&[
                ("Content-Type", "application/json"),
                ("Cache-Control", "no-store"),
            ]),
            resp,
        )
    }

    pub fn token(&mut self, secs: i64, body: &str, status: u16, resp: &str) -> usize {
        self.token_at(secs, &format!("{IDP}/token"), body, status, resp)
    }

    /// authorize → login redirect → callback, delivering `code` for `state`.
    pub fn login(&mut self, secs: i64, state: &str, code: &str, extra: &str) -> usize {
        self.authorize(
            secs,
            &format!(
                "response_type=code&client_id=app-123&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback\
                 &scope=openid%20profile%20offline_access&state={state}&code_challenge={}&code_challenge_method=S256{extra}",
                crate::analyze::pkce::s256_challenge(VERIFIER)
            ),
        );
        let r = self.auth_response(secs + 20, &format!("{APP_CB}?code={code}&state={state}"));
        self.callback(secs + 21, &format!("{APP_CB}?code={code}&state={state}"));
        r
    }

    /// Assign flows, then run `rule` over the capture.
    pub fn findings(mut self, rule: crate::analyze::Rule) -> (Vec<Record>, Vec<Finding>) {
        correlate::assign_flows(&mut self.records);
        let f = findings(rule, &self.records);
        (self.records, f)
    }
}

//! Rule family `flavour`: how a token request authenticates its client and
//! encodes its body (the six flavours of docs/record-format.md), and what is wrong with it.
//!
//! [`detect`] gives the [`Flavour`] of one request; [`annotate`] adds
//! `flavour.detected` (info) and the client-authentication findings
//! (`client_auth.multiple_methods`, `client_auth.basic_malformed`,
//! `client_auth.basic_not_urlencoded`, `client_auth.assertion_malformed`,
//! `token_request.json_body`).
//!
//! Decoding `Authorization: Basic` follows RFC 6749 §2.3.1: base64, split at
//! the first `:`, then form-urlencoding decoding of both halves (`+` is a
//! space). Whether the client URL-encoded the halves (flavours 1/2) or sent
//! them raw (5/6) is decided from the bytes themselves; see
//! [`BasicEncoding`]. [`authorization`] and [`client_id`] are public so other
//! rules read the header the same way.

use super::login::Login;
use super::params::{self, BodyFormat, Params};
use super::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::{Flavour, HeaderList, Kind, Record, Severity};
use base64::Engine as _;
use serde_json::{json, Value};

/// Why an `Authorization: Basic` header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The credentials are not valid (standard-alphabet) base64.
    BadBase64,
    /// The decoded credentials hold no `:` between id and secret.
    NoColon,
    /// The decoded credentials are not UTF-8.
    NotUtf8,
}

impl Malformed {
    /// `bad_base64`, `no_colon` or `not_utf8` (used in evidence).
    pub fn as_str(self) -> &'static str {
        match self {
            Malformed::BadBase64 => "bad_base64",
            Malformed::NoColon => "no_colon",
            Malformed::NotUtf8 => "not_utf8",
        }
    }

    fn explain(self) -> &'static str {
        match self {
            Malformed::BadBase64 => {
                "the value after `Basic` is not valid base64 (standard alphabet, RFC 7617)"
            }
            Malformed::NoColon => "the decoded value holds no ':' separating client id and secret",
            Malformed::NotUtf8 => "the decoded value is not UTF-8 text",
        }
    }
}

/// How the halves of a Basic header were encoded, judged from their bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicEncoding {
    /// No character that URL-encoding changes: flavours 1 and 5 (2 and 6) are the same bytes.
    Same,
    /// Form-urlencoded per RFC 6749 §2.3.1 (holds `%XX` escapes and nothing an encoder escapes).
    UrlEncoded,
    /// Raw: holds characters a URL-encoder would have escaped (or a `+` with no `%XX` anywhere).
    Raw,
}

/// The two halves of a well-formed Basic header, as sent (not decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    /// The user part (client id) as it appears in the header.
    pub user: String,
    /// The password part (client secret) as it appears in the header.
    pub pass: String,
    /// How the halves look encoded.
    pub encoding: BasicEncoding,
}

impl BasicCredentials {
    /// The client id as the sender meant it: form-decoded when the header
    /// is URL-encoded, literal otherwise.
    pub fn client_id(&self) -> String {
        match self.encoding {
            BasicEncoding::UrlEncoded => form_decode(&self.user),
            BasicEncoding::Same | BasicEncoding::Raw => self.user.clone(),
        }
    }

    /// The client secret as the sender meant it (decoded like [`Self::client_id`]).
    pub fn secret(&self) -> String {
        match self.encoding {
            BasicEncoding::UrlEncoded => form_decode(&self.pass),
            BasicEncoding::Same | BasicEncoding::Raw => self.pass.clone(),
        }
    }
}

/// What the `Authorization` request header holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthHeader {
    /// No `Authorization` header.
    Absent,
    /// A readable `Basic` header.
    Basic(BasicCredentials),
    /// A `Basic` header that cannot be read.
    Malformed(Malformed),
    /// Another scheme (`Bearer`, `DPoP`, ...), named as sent.
    Other(String),
}

/// Read the `Authorization` header of a request (RFC 7617 + RFC 6749 §2.3.1).
pub fn authorization(headers: &HeaderList) -> AuthHeader {
    let Some(value) = headers.get("authorization") else {
        return AuthHeader::Absent;
    };
    let value = value.trim();
    let (scheme, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return AuthHeader::Other(scheme.to_string());
    }
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = match lenient.decode(rest.trim()) {
        Ok(b) => b,
        Err(_) => return AuthHeader::Malformed(Malformed::BadBase64),
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => return AuthHeader::Malformed(Malformed::NotUtf8),
    };
    let Some((user, pass)) = text.split_once(':') else {
        return AuthHeader::Malformed(Malformed::NoColon);
    };
    AuthHeader::Basic(BasicCredentials {
        user: user.to_string(),
        pass: pass.to_string(),
        encoding: classify_encoding(user, pass),
    })
}

/// The client id a request names: the Basic user part (decoded per
/// [`BasicCredentials::client_id`]) when there is a readable Basic header,
/// else the `client_id` parameter of the body, else of the query.
pub fn client_id(rec: &Record) -> Option<String> {
    super::client_id::of_request(rec).map(|(_, v)| v)
}

/// Form-decode one half of a Basic header (RFC 6749 §2.3.1, Appendix B: `+` is a space).
pub fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// What scanning one half of a Basic header found.
#[derive(Debug, Default)]
struct Scan {
    /// `%XX` escapes (valid hex).
    escapes: usize,
    /// `+` signs.
    plus: usize,
    /// Characters a URL-encoder never leaves as they are (stray `%` included).
    raw: Vec<char>,
}

fn is_hex(b: Option<&u8>) -> bool {
    b.is_some_and(u8::is_ascii_hexdigit)
}

/// Characters that both form-urlencoding decoders and encoders leave alone
/// (alphanumerics, `-._~*`, and `!'()` which JavaScript leaves unescaped).
/// Redaction keeps the others of a raw Basic secret, so a redacted export
/// classifies the same (see [`classify_encoding`]).
pub fn encoder_keeps(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~*!'()".contains(c)
}

fn scan(s: &str) -> Scan {
    let mut out = Scan::default();
    let bytes = s.as_bytes();
    for (i, c) in s.char_indices() {
        match c {
            '+' => out.plus += 1,
            '%' if is_hex(bytes.get(i + 1)) && is_hex(bytes.get(i + 2)) => out.escapes += 1,
            c if encoder_keeps(c) => {}
            c => out.raw.push(c),
        }
    }
    out
}

/// How the halves of a Basic header (as sent, not decoded) are encoded:
/// any character an encoder escapes makes them [`BasicEncoding::Raw`], else
/// any `%XX` escape [`BasicEncoding::UrlEncoded`] (RFC 6749 §2.3.1), else a
/// `+` Raw, else [`BasicEncoding::Same`]. Redaction uses it to keep a
/// secret's class.
pub fn classify_encoding(user: &str, pass: &str) -> BasicEncoding {
    let (u, p) = (scan(user), scan(pass));
    if !u.raw.is_empty() || !p.raw.is_empty() {
        BasicEncoding::Raw
    } else if u.escapes + p.escapes > 0 {
        BasicEncoding::UrlEncoded
    } else if u.plus + p.plus > 0 {
        BasicEncoding::Raw
    } else {
        BasicEncoding::Same
    }
}

/// How a `client_assertion` JWT is signed, from its header.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Assertion {
    /// Asymmetric (`RS*`, `ES*`, `PS*`, `EdDSA`): `private_key_jwt`.
    PrivateKey(String),
    /// HMAC (`HS*`): `client_secret_jwt`.
    Secret(String),
    /// Unreadable header, no `alg`, `none` or an unknown alg; the reason.
    Unreadable(String),
}

fn assertion_kind(jwt: &str) -> Assertion {
    let Some(head) = jwt
        .split('.')
        .next()
        .filter(|_| jwt.split('.').count() >= 3)
    else {
        return Assertion::Unreadable("not_a_jwt".into());
    };
    let b64 = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let header: Option<Value> = b64
        .decode(head.trim())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let Some(header) = header else {
        return Assertion::Unreadable("header_unreadable".into());
    };
    let Some(alg) = header.get("alg").and_then(Value::as_str) else {
        return Assertion::Unreadable("no_alg".into());
    };
    if alg.starts_with("HS") {
        Assertion::Secret(alg.to_string())
    } else if ["RS", "ES", "PS"].iter().any(|p| alg.starts_with(p)) || alg == "EdDSA" {
        Assertion::PrivateKey(alg.to_string())
    } else if alg.eq_ignore_ascii_case("none") {
        Assertion::Unreadable("alg_none".into())
    } else {
        Assertion::Unreadable(format!("unknown_alg:{alg}"))
    }
}

/// The JWT-bearer client assertion type (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Everything [`detect`] and [`annotate`] learn about one request.
#[derive(Debug)]
struct Inspection {
    flavour: Flavour,
    header: AuthHeader,
    body_format: BodyFormat,
    body: Params,
    assertion: Option<Assertion>,
}

/// Record kinds that authenticate a client at the token endpoint family.
fn authenticates_client(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::TokenRequest
            | Kind::Par
            | Kind::DeviceAuthorization
            | Kind::Revocation
            | Kind::Introspection
    )
}

fn nonempty<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    params::get(p, name).filter(|v| !v.is_empty())
}

fn inspect(rec: &Record) -> Option<Inspection> {
    if !authenticates_client(rec.kind) {
        return None;
    }
    let header = authorization(&rec.request.headers);
    let body_format = params::body_format(&rec.request.headers, &rec.request.body);
    let body = params::body_params(&rec.request.headers, &rec.request.body);
    let secret = nonempty(&body, "client_secret").is_some();
    let assertion = nonempty(&body, "client_assertion").map(assertion_kind);
    let basic_sent = matches!(header, AuthHeader::Basic(_) | AuthHeader::Malformed(_));
    let by_body = |form: u8, json: u8| match body_format {
        BodyFormat::Form => Some(form),
        BodyFormat::Json => Some(json),
        BodyFormat::Other | BodyFormat::Multipart => None,
    };
    // Facebook Graph's GET token exchange carries the secret in the URL.
    let query = params::query_params(&rec.request.url);
    let secret_in_query = !secret && nonempty(&query, "client_secret").is_some();
    let mut note: Option<String> = None;
    let (number, client_auth) = if (basic_sent && (secret || assertion.is_some()))
        || (secret && assertion.is_some())
    {
        note = Some(format!(
            "more than one client authentication method: {}",
            methods(&header, secret, assertion.is_some()).join(" + ")
        ));
        (None, "multiple")
    } else if let AuthHeader::Malformed(m) = header {
        note = Some(format!("unreadable Basic header: {}", m.explain()));
        (None, "basic_malformed")
    } else if let AuthHeader::Basic(c) = &header {
        match c.encoding {
            BasicEncoding::Same => {
                let n = by_body(1, 2);
                if let Some(n) = n {
                    note = Some(format!(
                        "{n} and {} are the same bytes here: the client id and secret hold no \
                         character that URL-encoding changes",
                        n + 4
                    ));
                }
                (n, "basic_urlencoded")
            }
            BasicEncoding::UrlEncoded => {
                note = Some(
                    "the Basic id/secret hold %XX escapes and nothing an encoder would escape: \
                     URL-encoded per RFC 6749 §2.3.1"
                        .into(),
                );
                (by_body(1, 2), "basic_urlencoded")
            }
            BasicEncoding::Raw => {
                let (u, p) = (scan(&c.user), scan(&c.pass));
                let why = if u.raw.is_empty() && p.raw.is_empty() {
                    "'+' with no %XX escape anywhere: read as a literal '+', not an encoded space"
                        .to_string()
                } else {
                    format!(
                        "the Basic id/secret hold characters a URL-encoder escapes ({})",
                        describe_chars(u.raw.iter().chain(p.raw.iter()).copied())
                    )
                };
                note = Some(format!("sent raw, not URL-encoded: {why}"));
                (by_body(5, 6), "basic_raw")
            }
        }
    } else if let Some(a) = &assertion {
        match a {
            Assertion::Secret(alg) => {
                note = Some(format!(
                    "client_assertion signed with {alg} (shared secret)"
                ));
                (None, "client_secret_jwt")
            }
            Assertion::PrivateKey(alg) => {
                note = Some(format!("client_assertion signed with {alg} (private key)"));
                (None, "private_key_jwt")
            }
            Assertion::Unreadable(why) => {
                note = Some(format!(
                    "client_assertion present but its signing alg is unknown ({why}); \
                     assumed private_key_jwt"
                ));
                (None, "private_key_jwt")
            }
        }
    } else if secret {
        (by_body(3, 4), "body")
    } else if secret_in_query {
        note = Some(
            "client_id and client_secret in the URL query (Facebook Graph style): none of the \
             six flavours; RFC 6749 §2.3.1 says the secret must not be in the request URI"
                .into(),
        );
        (None, "query")
    } else if let AuthHeader::Other(scheme) = &header {
        note = Some(format!(
            "Authorization: {scheme} is not a client authentication method of RFC 6749"
        ));
        (None, "other")
    } else if nonempty(&body, "client_id").is_some() {
        note = Some(if nonempty(&body, "code_verifier").is_some() {
            "public client: client_id only, with a PKCE code_verifier".into()
        } else {
            "public client: client_id only, no secret".into()
        });
        (None, "none")
    } else {
        note = Some("no client identification in the request".into());
        (None, "none")
    };
    if number.is_none() && note.is_none() {
        match body_format {
            BodyFormat::Other => {
                note = Some("the body is neither form-urlencoded nor JSON".into());
            }
            BodyFormat::Multipart => {
                note = Some(
                    "multipart/form-data body: none of the six flavours (RFC 6749 §4.1.3 \
                     wants application/x-www-form-urlencoded)"
                        .into(),
                );
            }
            _ => {}
        }
    }
    Some(Inspection {
        flavour: Flavour {
            number,
            client_auth: client_auth.to_string(),
            body: body_format.as_str().to_string(),
            note,
        },
        header,
        body_format,
        body,
        assertion,
    })
}

fn methods(header: &AuthHeader, secret: bool, assertion: bool) -> Vec<&'static str> {
    let mut m = Vec::new();
    match header {
        AuthHeader::Basic(_) => m.push("client_secret_basic (Authorization: Basic)"),
        AuthHeader::Malformed(_) => m.push("Authorization: Basic (malformed)"),
        _ => {}
    }
    if secret {
        m.push("client_secret_post (client_secret in the body)");
    }
    if assertion {
        m.push("client_assertion in the body");
    }
    m
}

/// The flavour of a token request (also of PAR, device authorization,
/// revocation and introspection requests); `None` for other kinds.
pub fn detect(rec: &Record) -> Option<Flavour> {
    inspect(rec).map(|i| i.flavour)
}

fn char_name(c: char) -> String {
    match c {
        ' ' => "space".into(),
        '\t' => "tab".into(),
        c if c.is_ascii_graphic() => format!("'{c}'"),
        c => format!("U+{:04X}", c as u32),
    }
}

fn describe_chars(chars: impl Iterator<Item = char>) -> String {
    let mut seen: Vec<char> = Vec::new();
    for c in chars {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    seen.iter()
        .map(|c| char_name(*c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per-character evidence for one half of a raw Basic header: which
/// characters, how many, and what a §2.3.1-decoding server reads instead.
/// Returns the evidence and whether decoding changes the value.
fn raw_char_evidence(s: &str) -> (Vec<Value>, bool) {
    let bytes = s.as_bytes();
    let mut counts: Vec<(String, usize, &'static str, bool)> = Vec::new();
    let mut add = |key: String, reads: &'static str, differs: bool| {
        if let Some(e) = counts.iter_mut().find(|e| e.0 == key) {
            e.1 += 1;
        } else {
            counts.push((key, 1, reads, differs));
        }
    };
    for (i, c) in s.char_indices() {
        match c {
            '+' => add("'+'".into(), "' ' (a space)", true),
            '%' if is_hex(bytes.get(i + 1)) && is_hex(bytes.get(i + 2)) => add(
                "'%XX'".into(),
                "the single byte the escape encodes, not the three characters",
                true,
            ),
            '%' => add(
                "'%' (not followed by two hex digits)".into(),
                "an invalid escape: strict decoders (e.g. Java URLDecoder) reject the \
                 credentials, lenient ones keep the '%'",
                true,
            ),
            c if encoder_keeps(c) => {}
            ' ' => add(
                "space".into(),
                "a space too (decoding leaves it), but a §2.3.1 client sends it as '+'",
                false,
            ),
            c if !c.is_ascii() => add(
                char_name(c),
                "the same character (decoding leaves it), but a §2.3.1 client sends its \
                 UTF-8 bytes as %XX",
                false,
            ),
            c => add(
                char_name(c),
                "the same character (decoding leaves it), but a §2.3.1 client sends it as %XX",
                false,
            ),
        }
    }
    let differs = counts.iter().any(|e| e.3);
    let ev = counts
        .into_iter()
        .map(|(ch, n, reads, d)| {
            json!({"char": ch, "count": n, "strict_server_reads": reads, "changes_value": d})
        })
        .collect();
    (ev, differs)
}

fn body_name(kind: Kind) -> &'static str {
    match kind {
        Kind::TokenRequest => "token request",
        Kind::Par => "pushed authorization request",
        Kind::DeviceAuthorization => "device authorization request",
        Kind::Revocation => "revocation request",
        Kind::Introspection => "introspection request",
        _ => "request",
    }
}

fn flavour_title(f: &Flavour) -> String {
    let auth = match f.client_auth.as_str() {
        "basic_urlencoded" => "Authorization: Basic (URL-encoded id:secret)",
        "basic_raw" => "Authorization: Basic (raw id:secret)",
        "body" => "client_id/client_secret in the body",
        "private_key_jwt" => "private_key_jwt (client_assertion)",
        "client_secret_jwt" => "client_secret_jwt (client_assertion)",
        "none" => "public client (no client authentication)",
        "multiple" => "more than one client authentication method",
        "basic_malformed" => "unreadable Authorization: Basic",
        "query" => "client_id/client_secret in the URL query",
        _ => "other client authentication",
    };
    let body = match f.body.as_str() {
        "form" => "form body",
        "json" => "JSON body",
        "multipart" => "multipart/form-data body",
        _ => "unrecognised body",
    };
    match f.number {
        Some(n) => format!("{n}, {auth} + {body}"),
        None => format!("none of the six, {auth} + {body}"),
    }
}

/// Findings about client authentication and body encoding, on token
/// requests (and PAR, device authorization, revocation, introspection).
pub fn annotate(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        let Some(ins) = inspect(rec) else { continue };
        let flavour = match (&rec.flavour, rec.kind) {
            (Some(f), _) => f.clone(),
            _ => ins.flavour.clone(),
        };
        let what = body_name(rec.kind);
        let client = client_id(rec);

        if rec.kind == Kind::TokenRequest {
            out.push(Finding::new(
                i,
                code::FLAVOUR_DETECTED
                    .annotation(
                        "How this token request authenticated its client and encoded its body \
                     (the six common flavours, listed in docs/record-format.md). When a provider rejects the \
                     client, compare with the flavours it accepts.",
                        json!({
                            "record": rec.id,
                            "number": flavour.number,
                            "client_auth": flavour.client_auth,
                            "body": flavour.body,
                            "note": flavour.note,
                            "client_id": client,
                        }),
                    )
                    .about(flavour_title(&flavour)),
            ));
        }

        let secret = nonempty(&ins.body, "client_secret").is_some();
        let has_assertion = ins.assertion.is_some();
        let basic_sent = matches!(ins.header, AuthHeader::Basic(_) | AuthHeader::Malformed(_));
        if (basic_sent && (secret || has_assertion)) || (secret && has_assertion) {
            out.push(Finding::new(
                i,
                code::CLIENT_AUTH_MULTIPLE_METHODS
                    .annotation(
                        "RFC 6749 §2.3: a client MUST NOT use more than one authentication method \
                     in each request. Servers such as Okta refuse it (\"Cannot supply multiple \
                     client credentials\"). Send the credentials one way only: either the \
                     Authorization: Basic header or client_id/client_secret in the body (or \
                     a client_assertion).",
                        json!({
                            "record": rec.id,
                            "methods": methods(&ins.header, secret, has_assertion),
                            "client_id": client,
                        }),
                    )
                    .about(what),
            ));
        }

        if let AuthHeader::Malformed(m) = ins.header {
            out.push(Finding::new(
                i,
                code::CLIENT_AUTH_BASIC_MALFORMED
                    .annotation(
                        format!(
                            "The server cannot read the client credentials: {}. Build the header \
                         as `Basic base64(urlencode(client_id) + \":\" + urlencode(secret))` \
                         (RFC 6749 §2.3.1, RFC 7617), with the standard base64 alphabet.",
                            m.explain()
                        ),
                        json!({
                            "record": rec.id,
                            "reason": m.as_str(),
                            "header": "Authorization",
                            "scheme": "Basic",
                        }),
                    )
                    .about(m.as_str()),
            ));
        }

        if let AuthHeader::Basic(c) = &ins.header {
            if c.encoding == BasicEncoding::Raw {
                let (id_chars, id_differs) = raw_char_evidence(&c.user);
                let (secret_chars, secret_differs) = raw_char_evidence(&c.pass);
                let differs = id_differs || secret_differs;
                let mut parts = Vec::new();
                if !id_chars.is_empty() {
                    parts.push(json!({
                        "part": "client_id",
                        "sent": c.user,
                        "strict_server_reads": form_decode(&c.user),
                        "characters": id_chars,
                    }));
                }
                if !secret_chars.is_empty() {
                    parts.push(json!({
                        "part": "client_secret",
                        "characters": secret_chars,
                    }));
                }
                let (severity, title, detail) = if differs {
                    (
                        Severity::Warning,
                        "a strict server reads a different secret or id",
                        "RFC 6749 §2.3.1 says to form-urlencode the client id and secret before \
                         base64-encoding them. This header carries them raw, and they hold '+' \
                         or '%', which a server decoding per §2.3.1 (Keycloak since 20, Spring \
                         Authorization Server, ...) reads differently: '+' becomes a space and \
                         '%XX' becomes one byte, so authentication fails with invalid_client. \
                         Fix: URL-encode id and secret before building the header, or send them \
                         in the body (client_secret_post) if the server accepts that.",
                    )
                } else {
                    (
                        Severity::Info,
                        "harmless characters only",
                        "RFC 6749 §2.3.1 says to form-urlencode the client id and secret before \
                         base64-encoding them. This header carries characters an encoder would \
                         escape, but decoding leaves them unchanged, so both decoding and \
                         non-decoding servers read the same value. Worth knowing if a strict \
                         server still refuses the client.",
                    )
                };
                out.push(Finding::new(
                    i,
                    code::CLIENT_AUTH_BASIC_NOT_URLENCODED
                        .annotation(
                            detail,
                            json!({
                                "record": rec.id,
                                "client_id": c.user,
                                "changes_value_when_decoded": differs,
                                "parts": parts,
                            }),
                        )
                        .about(title)
                        .with_severity(severity),
                ));
            }
        }

        if let Some(Assertion::Unreadable(why)) = &ins.assertion {
            out.push(Finding::new(
                i,
                code::CLIENT_AUTH_ASSERTION_MALFORMED.annotation(
                    "RFC 7523 §3: the client_assertion must be a signed JWT (RS256/ES256/PS256/\
                     EdDSA for private_key_jwt, HS256 for client_secret_jwt). Servers reject an \
                     unreadable header, alg none, or an unknown alg with invalid_client.",
                    json!({"record": rec.id, "reason": why, "field": "client_assertion"}),
                ),
            ));
        }
        if has_assertion {
            let ty = params::get(&ins.body, "client_assertion_type");
            if ty != Some(JWT_BEARER) {
                out.push(Finding::new(
                    i,
                    code::CLIENT_AUTH_ASSERTION_TYPE.annotation(
                        format!(
                            "RFC 7521 §4.2 / RFC 7523 §2.2: a client_assertion needs \
                             client_assertion_type={JWT_BEARER}; servers reject the request \
                             without it."
                        ),
                        json!({
                            "record": rec.id,
                            "field": "client_assertion_type",
                            "expected": JWT_BEARER,
                            "actual": ty,
                        }),
                    ),
                ));
            }
        }

        // The provider's answer proves the body was not read: the finding
        // is the cause (RFC 6749 §4.1.3), not a style note.
        if let Some(g) = params::get(&ins.body, "grant_type").filter(|g| encoded_twice(g)) {
            out.push(Finding::new(
                i,
                code::TOKEN_REQUEST_GRANT_TYPE_ENCODED_TWICE
                    .annotation(
                        format!(
                            "After form decoding, grant_type is {g:?}: it still holds percent escapes, \
                             so the client encoded an already encoded value and the server reads a grant \
                             type it does not know. Send grant_type={:?}, encoded once by the HTTP library.",
                            url::form_urlencoded::parse(format!("g={g}").as_bytes())
                                .next()
                                .map(|(_, v)| v.into_owned())
                                .unwrap_or_default()
                        ),
                        json!({"record": rec.id, "grant_type": g, "field": "request.body.grant_type"}),
                    )
                    .about(format!("{g:?}")),
            ));
        }
        let unread = crate::analyze::refute::body_not_read(rec);
        let proven = |sev: Severity| {
            if unread.is_some() {
                Severity::Error
            } else {
                sev
            }
        };
        let proof = unread
            .as_deref()
            .map(|p| format!(" The provider's answer proves it: it says `{p}` is missing, and the body holds it."))
            .unwrap_or_default();
        if ins.body_format == BodyFormat::Json {
            let labelled_form = rec
                .request
                .headers
                .get("content-type")
                .is_some_and(|ct| ct.to_ascii_lowercase().contains("x-www-form-urlencoded"));
            out.push(Finding::new(
                i,
                code::TOKEN_REQUEST_JSON_BODY.annotation(
format!("{}RFC 6749 (§4.1.3, §6, Appendix B) and its extensions define these requests \
                     as application/x-www-form-urlencoded. Many servers (Entra ID, Discord, \
                     HubSpot, Cognito, Spotify, ...) reject a JSON body, often with a misleading \
                     \"missing grant_type\" error. Send a form body.{proof}",
                     if labelled_form {
                         "The body is a JSON object although the Content-Type says \
                          application/x-www-form-urlencoded: the server parses the bytes as a form \
                          and finds no parameters (axios and fetch send a JSON string as is; encode \
                          with URLSearchParams). "
                     } else { "" }),
json!({
                        "record": rec.id,
                        "content_type": rec.request.headers.get("content-type"),
                        "body": "json",
                        "provider_did_not_read": unread,
                    }),
).about(what).with_severity(proven(code::TOKEN_REQUEST_JSON_BODY.severity)),
            ));
        }
        if ins.body_format == BodyFormat::Multipart {
            out.push(Finding::new(
                i,
                code::TOKEN_REQUEST_MULTIPART_BODY.annotation(
format!("RFC 6749 §4.1.3 defines token requests as application/x-www-form-urlencoded. \
                     PHP cURL given an array, and `curl -F`, send multipart/form-data, which many \
                     servers do not read (the parameters look missing). Send a form-urlencoded \
                     body (http_build_query, curl -d).{proof}"),
json!({
                        "record": rec.id,
                        "content_type": rec.request.headers.get("content-type"),
                        "body": "multipart",
                        "provider_did_not_read": unread,
                    }),
).about(what).with_severity(proven(code::TOKEN_REQUEST_MULTIPART_BODY.severity)),
            ));
        }
        if rec.kind == Kind::TokenRequest
            && rec.grant_type.as_deref() == Some(crate::analyze::classify::IMPLIED_GRANT)
            && params::get(&params::request_params(rec), "grant_type").is_none()
        {
            out.push(Finding::new(
                i,
                code::TOKEN_REQUEST_GRANT_TYPE_IMPLIED.annotation(
"The request sends a code with client credentials and no grant_type, as GitHub, \
                     Slack's oauth.access / oauth.v2.access, Strava (before 2018) and Facebook's Graph \
                     API accept. oauthscope recorded the grant as authorization_code, implied. A server \
                     that follows RFC 6749 §4.1.3 needs grant_type=authorization_code.",
json!({
                        "record": rec.id,
                        "grant_type": crate::analyze::classify::IMPLIED_GRANT,
                        "implied": true,
                    }),
),
            ));
        }
    }
    out
}

#[cfg(test)]
#[path = "flavour_tests.rs"]
mod tests;

/// True when a decoded parameter value still holds a percent escape of a
/// character that a form would have encoded (`%3A`, `%2F`, `%20`, `%25`):
/// encoded twice.
pub(crate) fn encoded_twice(v: &str) -> bool {
    let b = v.as_bytes();
    b.windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

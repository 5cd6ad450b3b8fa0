//! Secret masking with stable fingerprints, for anything meant to be shared.
//!
//! A [`Redactor`] holds a salt that is random per export. Every secret it
//! meets becomes `«redacted:3f9a1c»`: the first hex digits of
//! SHA-256(salt ‖ value). Within one export the same value always gets the
//! same fingerprint (a reader can see "the same code was exchanged twice");
//! two exports use different salts, so their fingerprints cannot be joined.
//!
//! Redaction works in two passes over a set of records:
//! 1. *structural*: query strings, URL fragments and userinfo, form and JSON
//!    bodies (nested), `Authorization` (Basic keeps the client_id and its
//!    encoding; Bearer JWTs keep header and claims), `Cookie`/`Set-Cookie`
//!    values, `Location`/`Referer` URLs and secret-looking headers. Every
//!    value masked here is remembered.
//! 2. *sweep*: every remaining string (headers, bodies, HTML, errors, and the
//!    annotations' titles, details and evidence) is searched for each
//!    remembered secret in its raw, percent-encoded, form-encoded, JSON-escaped
//!    and base64 forms, and for JWTs, whose signatures are dropped.
//!
//! Run [`crate::analyze::analyze`] on the raw records first and redact its
//! output, so annotations are computed from the real values.

use crate::record::{Annotation, Body, HeaderList, Record};
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Parameter and JSON member names whose values are secrets.
pub const SECRET_FIELDS: &[&str] = &[
    "client_secret",
    "code",
    "code_verifier",
    "client_assertion",
    "access_token",
    "refresh_token",
    "id_token",
    "password",
    "device_code",
    "assertion",
    "subject_token",
    "actor_token",
    "token",
    "id_token_hint",
    "logout_token",
    "request",
    "secret",
    "api_key",
    "session_token",
];

/// Shortest remembered secret the sweep searches for (shorter ones are only
/// masked where they are structurally recognised, to avoid mangling
/// unrelated text such as port numbers).
const MIN_SWEEP_LEN: usize = 5;

/// Cookie values shorter than this are masked in cookie headers only.
const WEAK_LEN: usize = 12;

/// The opening of every fingerprint.
pub const FINGERPRINT_PREFIX: &str = "«redacted:";

/// Does this value hold a redaction fingerprint (so its real value is
/// unknown)? Rules that compute over secret values (PKCE's S256 of the
/// verifier, for one) should not judge such values when re-analysing a
/// redacted export.
pub fn is_redacted(value: &str) -> bool {
    value.contains(FINGERPRINT_PREFIX)
        || value.contains("%C2%ABredacted%3A")
        || value.strip_prefix("redacted_").is_some_and(|h| {
            // hex digits, then (a raw Basic secret's) characters URL-encoding changes
            let hex = h.bytes().take_while(u8::is_ascii_hexdigit).count();
            hex >= 6 && !h[hex..].chars().any(char::is_alphanumeric)
        })
}

/// What a redacted value still tells about its shape: the characters a
/// raw Basic secret kept (`redacted_3f9a1c+/` → `+/`, those URL-encoding
/// changes), or nothing for a fingerprint. `None` when `value` is not
/// redacted (its shape is its own).
pub fn kept_characters(value: &str) -> Option<&str> {
    if !is_redacted(value) {
        return None;
    }
    Some(match value.strip_prefix("redacted_") {
        Some(h) => {
            let hex = h.bytes().take_while(u8::is_ascii_hexdigit).count();
            &h[hex..]
        }
        None => "",
    })
}

/// A URL for a log line (`tracing`, `-v`/`-vv`): scheme, host, port and
/// path kept; userinfo dropped; every query and fragment parameter keeps
/// its name and loses its value (`?code=…&state=…`): logs are not exports,
/// have no salt, and must hold no secret whatever the parameter's name.
pub fn url_for_log(url: &str) -> String {
    let (base, tail) = match url.find(['?', '#']) {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let mut out = match base.find("://") {
        Some(i) => {
            let start = i + 3;
            let end = base[start..].find('/').map_or(base.len(), |e| start + e);
            let authority = &base[start..end];
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{}{host}{}", &base[..start], &base[end..])
        }
        None => base.to_string(),
    };
    let mut rest = tail;
    while let Some(sep) = rest.chars().next() {
        out.push(sep);
        rest = &rest[1..];
        let end = if sep == '?' {
            rest.find('#').unwrap_or(rest.len())
        } else {
            rest.len()
        };
        let part = &rest[..end];
        let names: Vec<String> = part
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((n, _)) => format!("{n}=…"),
                None if part.contains('=') => p.to_string(),
                None => "…".to_string(),
            })
            .collect();
        out.push_str(&names.join("&"));
        rest = &rest[end..];
    }
    out
}

/// Is this parameter or member name one whose value is a secret?
pub fn is_secret_field(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    SECRET_FIELDS.contains(&n.as_str())
}

/// Is this header one whose whole value is a secret (besides
/// `Authorization`, `Cookie` and `Set-Cookie`, which are handled by parts)?
fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token", "secret", "api-key", "apikey", "password", "session",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Masks secrets with salted fingerprints. One per export.
#[derive(Debug, Clone)]
pub struct Redactor {
    salt: [u8; 16],
    /// secret value → its replacement text (a fingerprint, or `h.c.«fp»` for a JWT).
    secrets: HashMap<String, String>,
    /// fingerprint hex → the value it stands for (to widen on a collision).
    taken: HashMap<String, String>,
    /// Values masked where found but too weak to sweep for elsewhere (short
    /// cookie values such as `dark` or `en-US` would mangle unrelated text).
    weak: std::collections::HashSet<String>,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new()
    }
}

impl Redactor {
    /// A redactor with a fresh random salt.
    pub fn new() -> Redactor {
        Redactor::with_salt(rand::random())
    }

    /// A redactor with a given salt (reproducible output for docs and tests).
    pub fn with_salt(salt: [u8; 16]) -> Redactor {
        Redactor {
            salt,
            secrets: HashMap::new(),
            taken: HashMap::new(),
            weak: Default::default(),
        }
    }

    /// How many distinct secrets were masked so far.
    pub fn secret_count(&self) -> usize {
        self.secrets.len()
    }

    /// The fingerprint of a value, `«redacted:3f9a1c»`, remembering the value
    /// so the sweep masks it wherever else it appears.
    pub fn fingerprint(&mut self, value: &str) -> String {
        format!("{FINGERPRINT_PREFIX}{}»", self.fingerprint_hex(value))
    }

    /// The hex part of a value's fingerprint (6 digits, more on a collision).
    fn fingerprint_hex(&mut self, value: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(value.as_bytes());
        let full = hex::encode(h.finalize());
        let mut len = 6;
        loop {
            let fp = full[..len].to_string();
            match self.taken.get(&fp) {
                Some(v) if v != value && len < full.len() => len += 2,
                _ => {
                    self.taken.insert(fp.clone(), value.to_string());
                    return fp;
                }
            }
        }
    }

    /// Mask one secret value: a JWT keeps its header and claims and loses its
    /// signature (`header.claims.«redacted:..»`); anything else becomes a
    /// fingerprint. Empty values stay empty (nothing to hide, and "the secret
    /// was empty" is worth seeing).
    pub fn mask(&mut self, value: &str) -> String {
        self.weak.remove(value);
        self.mask_inner(value)
    }

    fn mask_inner(&mut self, value: &str) -> String {
        if value.is_empty() || value.starts_with(FINGERPRINT_PREFIX) {
            return value.to_string();
        }
        if let Some(r) = self.secrets.get(value) {
            return r.clone();
        }
        if let Some(r) = self.altered_copy(value) {
            self.secrets.insert(value.to_string(), r.clone());
            return r;
        }
        let replacement = match jwt_parts(value) {
            Some((h, c, _sig)) => format!("{h}.{c}.{}", self.fingerprint(value)),
            None => self.fingerprint(value),
        };
        self.secrets.insert(value.to_string(), replacement.clone());
        replacement
    }

    /// A value that is a secret seen before with URL syntax or whitespace
    /// stuck to one end (`CODE&scope=read`, `code=CODE`, `CODE `: a client
    /// that cut a callback URL by hand) keeps the known secret's replacement
    /// and the stuck-on text, so the re-analysed export still sees the
    /// alteration (`diagnosis.code_altered`). The stuck-on text must hold a
    /// character no token alphabet has (`&`, `=`, `?`, `#`, `;`, a space),
    /// so two unrelated tokens are never joined this way.
    fn altered_copy(&self, value: &str) -> Option<String> {
        let syntax = |rest: &str| {
            !rest.is_empty()
                && rest.len() <= 256
                && rest.contains(['&', '=', '?', '#', ';', ' ', '\t', '\n'])
        };
        self.secrets
            .iter()
            .filter(|(k, _)| k.len() >= 8 && k.len() < value.len() && !self.weak.contains(*k))
            .filter_map(|(k, r)| {
                if let Some(rest) = value.strip_prefix(k.as_str()) {
                    syntax(rest).then(|| (k.len(), format!("{r}{rest}")))
                } else {
                    let rest = value.strip_suffix(k.as_str())?;
                    syntax(rest).then(|| (k.len(), format!("{rest}{r}")))
                }
            })
            .max_by_key(|(n, _)| *n)
            .map(|(_, r)| r)
    }

    /// Redact records (analysed first) and their annotations.
    pub fn redact_records(&mut self, records: &[Record]) -> Vec<Record> {
        let mut out: Vec<Record> = records.iter().map(|r| self.structural(r)).collect();
        let sweep = Sweep::new(&self.sweepable(), self.salt);
        for r in &mut out {
            sweep.record(r);
        }
        out
    }

    /// First pass of a streamed export: learn the secrets of one record
    /// (what [`Redactor::redact_records`] learns from it) without keeping
    /// the redacted copy. Once every record was learnt, [`Redactor::sweeper`]
    /// and [`Redactor::redact_one`] redact them one at a time exactly as
    /// `redact_records` would redact them all at once.
    pub fn learn(&mut self, r: &Record) {
        let _ = self.structural(r);
    }

    /// The sweep over everything learnt so far (see [`Redactor::learn`]).
    pub fn sweeper(&self) -> Sweeper {
        Sweeper(Sweep::new(&self.sweepable(), self.salt))
    }

    /// Redact one record with a sweeper built after every record was learnt.
    pub fn redact_one(&mut self, r: &Record, sweeper: &Sweeper) -> Record {
        let mut out = self.structural(r);
        sweeper.0.record(&mut out);
        out
    }

    /// Redact free text that is not a record (e.g. a note), with what the
    /// redactor has learnt so far.
    pub fn redact_text(&self, s: &str) -> String {
        let sweep = Sweep::new(&self.sweepable(), self.salt);
        sweep.fingerprints(&sweep.text(s))
    }

    /// The remembered secrets worth searching for everywhere.
    fn sweepable(&self) -> HashMap<String, String> {
        self.secrets
            .iter()
            .filter(|(k, _)| !self.weak.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn structural(&mut self, r: &Record) -> Record {
        let mut r = r.clone();
        r.request.url = self.url(&r.request.url);
        self.headers(&mut r.request.headers);
        let req_headers = r.request.headers.clone();
        self.body(&req_headers, &mut r.request.body);
        if let Some(resp) = r.response.as_mut() {
            self.headers(&mut resp.headers);
            let h = resp.headers.clone();
            self.body(&h, &mut resp.body);
        }
        r
    }

    /// Redact secrets in a URL (query, fragment, userinfo password), keeping
    /// every other byte as it was (percent-encoding facts matter to the
    /// redirect_uri analysis).
    pub fn url(&mut self, url: &str) -> String {
        let (before_frag, frag) = match url.split_once('#') {
            Some((a, f)) => (a, Some(f)),
            None => (url, None),
        };
        let (base, query) = match before_frag.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (before_frag, None),
        };
        let mut out = self.userinfo(base);
        if let Some(q) = query {
            out.push('?');
            out.push_str(&self.form(q));
        }
        if let Some(f) = frag {
            out.push('#');
            if f.contains('=') {
                out.push_str(&self.form(f));
            } else {
                out.push_str(f);
            }
        }
        out
    }

    /// `scheme://user:password@host/...` → the password masked.
    fn userinfo(&mut self, base: &str) -> String {
        let Some(start) = base.find("://").map(|i| i + 3) else {
            return base.to_string();
        };
        let end = base[start..]
            .find('/')
            .map(|i| start + i)
            .unwrap_or(base.len());
        let authority = &base[start..end];
        let Some((info, host)) = authority.rsplit_once('@') else {
            return base.to_string();
        };
        let info = match info.split_once(':') {
            Some((user, pw)) => format!("{user}:{}", self.mask(&decode_component(pw))),
            None => info.to_string(),
        };
        format!("{}{info}@{host}{}", &base[..start], &base[end..])
    }

    /// Redact a raw `a=b&c=d` string, keeping non-secret pairs byte for byte.
    pub fn form(&mut self, raw: &str) -> String {
        raw.split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) if is_secret_field(&decode_form(name)) => {
                    let v = decode_form(value);
                    format!("{name}={}", self.mask(&v))
                }
                Some((name, value)) => {
                    let v = decode_form(value);
                    if looks_like_url(&v) && v.contains(['?', '#']) {
                        // A URL in a parameter (e.g. a return address) can carry a code.
                        let red = self.url(&v);
                        if red != v {
                            return format!("{name}={}", encode_form(&red));
                        }
                    }
                    pair.to_string()
                }
                None => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Redact a JSON value in place: members named like secrets are masked
    /// (strings; numbers are kept: they are error codes or lifetimes), URLs are redacted, nested
    /// objects and arrays are walked.
    pub fn json(&mut self, v: &mut Value) {
        match v {
            Value::Object(map) => {
                // `{"code": "InvalidAuthenticationToken", "message": ...}` is an
                // error code (Graph, many APIs), not an authorization code;
                // so is Strava's `{"resource": ..., "field": "code", "code": "invalid"}`.
                let is_error_object = ["message", "field", "resource", "error", "errors", "detail"]
                    .iter()
                    .any(|k| map.contains_key(*k));
                for (k, val) in map.iter_mut() {
                    if k == "error_uri" {
                        // RFC 6749 §5.2: a page about the error; its `?code=`
                        // is an error number (Entra), not a credential.
                        continue;
                    }
                    if is_secret_field(k) && !(k == "code" && is_error_object) {
                        match val {
                            Value::String(s) => *s = self.mask(s),
                            other => self.json(other),
                        }
                    } else {
                        self.json(val);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.json(i)),
            Value::String(s) if looks_like_url(s) => *s = self.url(s),
            _ => {}
        }
    }

    fn headers(&mut self, headers: &mut HeaderList) {
        for (name, value) in headers.0.iter_mut() {
            let n = name.to_ascii_lowercase();
            *value = match n.as_str() {
                "authorization" | "proxy-authorization" => self.authorization(value),
                "cookie" => self.cookie(value),
                "set-cookie" => self.set_cookie(value),
                "location" | "referer" | "content-location" | "origin" => self.url(value),
                "dpop" => self.mask(value),
                _ if is_secret_header(&n) => self.mask(value),
                _ if looks_like_url(value) => self.url(value),
                _ => continue,
            };
        }
    }

    /// `Basic base64(id:secret)` → `Basic base64(id:«redacted:..»)`, keeping
    /// whether the secret was URL-encoded (the flavour) and the client_id;
    /// `Bearer jwt` keeps the JWT's header and claims; anything else masks
    /// the credentials after the scheme.
    pub fn authorization(&mut self, value: &str) -> String {
        let trimmed = value.trim_start();
        let (scheme, cred) = match trimmed.split_once(' ') {
            Some((s, c)) => (s, c.trim()),
            None => return self.mask(value),
        };
        if scheme.eq_ignore_ascii_case("basic") {
            let b64 = base64::engine::general_purpose::STANDARD;
            let decoded = b64
                .decode(cred)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let Some(decoded) = decoded else {
                // Not base64 of UTF-8: keep it as malformed, hide the bytes.
                return format!("{scheme} {}", self.mask(cred));
            };
            let Some((id, secret)) = decoded.split_once(':') else {
                // No colon: still malformed after redaction.
                let masked = self.mask(&decoded);
                self.remember(cred, &masked);
                return format!("{scheme} {}", b64.encode(masked));
            };
            let fp = self.mask_basic_secret(id, secret);
            let out = b64.encode(format!("{id}:{fp}"));
            // The original credential must not survive anywhere else either.
            let real = self.mask(&basic_secret_value(id, secret));
            self.remember(secret, &real);
            self.remember(cred, &real);
            format!("{scheme} {out}")
        } else {
            format!("{scheme} {}", self.mask(cred))
        }
    }

    /// The secret part of Basic credentials, masked so the flavour stays
    /// visible: the masked secret falls in the same
    /// [`classify_encoding`](crate::analyze::flavour::classify_encoding)
    /// class as the real one, whatever the client id holds. URL-encoded
    /// secrets (`%XX` escapes, nothing raw) get a URL-encoded fingerprint;
    /// raw secrets (a character an encoder escapes, or a `+` alone) get
    /// `redacted_3f9a1c` followed by each such character once, in first-seen
    /// order (never the secret itself: those are the facts
    /// `client_auth.basic_not_urlencoded` and the credentials diagnosis
    /// read); secrets URL-encoding leaves alone get `redacted_3f9a1c`, so
    /// "1 and 5 are the same bytes" stays true.
    fn mask_basic_secret(&mut self, id: &str, secret: &str) -> String {
        use crate::analyze::flavour::{classify_encoding, encoder_keeps, BasicEncoding};
        if secret.is_empty() {
            return String::new();
        }
        let fp = self.mask(&basic_secret_value(id, secret));
        let hex = fp
            .trim_start_matches(FINGERPRINT_PREFIX)
            .trim_end_matches('»')
            .to_string();
        match classify_encoding("", secret) {
            BasicEncoding::UrlEncoded => encode_form(&fp),
            BasicEncoding::Raw => {
                let mut kept = String::new();
                for c in secret.chars() {
                    // A non-ASCII letter stands as `§` (raw too), so the
                    // value still reads as redacted (`is_redacted`).
                    let c = if c.is_alphanumeric() && !c.is_ascii() {
                        '§'
                    } else {
                        c
                    };
                    if !encoder_keeps(c) && !kept.contains(c) {
                        kept.push(c);
                    }
                }
                format!("redacted_{hex}{kept}")
            }
            BasicEncoding::Same => format!("redacted_{hex}"),
        }
    }

    /// Remember `value` as a secret whose replacement is `replacement`.
    fn remember(&mut self, value: &str, replacement: &str) {
        if !value.is_empty() {
            self.secrets
                .entry(value.to_string())
                .or_insert_with(|| replacement.to_string());
        }
    }

    /// Mask a cookie value; short ones are not swept for elsewhere.
    fn mask_cookie(&mut self, v: &str) -> String {
        if v.chars().count() < WEAK_LEN && !self.secrets.contains_key(v) {
            self.weak.insert(v.to_string());
        }
        self.mask_inner(v)
    }

    /// `a=1; b=2` → every value masked, names kept.
    fn cookie(&mut self, value: &str) -> String {
        value
            .split(';')
            .map(|c| {
                let lead = &c[..c.len() - c.trim_start().len()];
                match c.trim_start().split_once('=') {
                    Some((n, v)) => format!("{lead}{n}={}", self.mask_cookie(v.trim())),
                    None => c.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// `name=value; Path=/; HttpOnly` → the value masked, attributes kept.
    fn set_cookie(&mut self, value: &str) -> String {
        let (first, rest) = match value.split_once(';') {
            Some((f, r)) => (f, Some(r)),
            None => (value, None),
        };
        let first = match first.split_once('=') {
            Some((n, v)) => format!("{n}={}", self.mask_cookie(v.trim())),
            None => first.to_string(),
        };
        match rest {
            Some(r) => format!("{first};{r}"),
            None => first,
        }
    }

    fn body(&mut self, headers: &HeaderList, body: &mut Body) {
        let ct_raw = headers.get("content-type").unwrap_or("");
        if ct_raw
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/")
        {
            let bytes = body.bytes();
            if let Some(out) = self.multipart(ct_raw, &bytes) {
                if out != bytes {
                    let b = Body::from_bytes(&out);
                    body.text = b.text;
                    body.encoding = b.encoding;
                }
                return;
            }
            // No part found (e.g. a HAR's multipart body rebuilt as a form
            // from `postData.params`): read it as the text it is, below.
        }
        let Some(text) = body.as_text() else {
            return; // binary: the sweep handles known secrets in its bytes
        };
        if text.is_empty() {
            return;
        }
        let ct = headers
            .get("content-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        let trimmed = text.trim();
        let looks_json =
            ct.contains("json") || trimmed.starts_with('{') || trimmed.starts_with('[');
        if looks_json {
            if let Ok(mut v) = serde_json::from_str::<Value>(trimmed) {
                let before = v.clone();
                self.json(&mut v);
                if v != before {
                    let pretty = text.contains("\n  ");
                    body.text = if pretty {
                        serde_json::to_string_pretty(&v)
                    } else {
                        serde_json::to_string(&v)
                    }
                    .unwrap_or_default();
                }
                return;
            }
            // Truncated or malformed JSON: mask `"secret": "..."` members by scanning.
            body.text = self.json_lenient(text);
            return;
        }
        let is_form = ct.contains("x-www-form-urlencoded")
            || (!trimmed.is_empty()
                && trimmed.contains('=')
                && !trimmed.contains(['<', ' ', '\n', '{']));
        if is_form {
            body.text = self.form(text);
        } else if ct.contains("html") {
            body.text = self.html_inputs(text);
        }
    }

    /// Redact a `multipart/*` body (RFC 7578 `form-data`, RFC 2046) by the
    /// meaning of each part, keeping every other byte: a part whose name
    /// (`Content-Disposition: form-data; name="client_secret"`) is a secret
    /// field has its content masked; any other part is redacted as a body
    /// of its own `Content-Type` (form, JSON, nested multipart, HTML).
    /// Works on bytes, so a binary file part does not hide a text field.
    /// A part cut short (truncated capture) is handled as far as it goes.
    /// `None` when the content type has no boundary or no part is found.
    fn multipart(&mut self, content_type: &str, bytes: &[u8]) -> Option<Vec<u8>> {
        let boundary = multer::parse_boundary(content_type).ok()?;
        let delim = format!("--{boundary}").into_bytes();
        let starts = find_all(bytes, &delim);
        let first = *starts.first()?;
        let mut out = bytes[..first].to_vec();
        for (i, &at) in starts.iter().enumerate() {
            let seg_start = at + delim.len();
            let seg_end = starts.get(i + 1).copied().unwrap_or(bytes.len());
            out.extend_from_slice(&delim);
            let seg = &bytes[seg_start..seg_end];
            if seg.starts_with(b"--") {
                // The close delimiter and the epilogue.
                out.extend_from_slice(seg);
                continue;
            }
            out.extend_from_slice(&self.multipart_part(seg));
        }
        Some(out)
    }

    /// One part between two delimiters: `CRLF headers CRLF CRLF content CRLF`.
    fn multipart_part(&mut self, seg: &[u8]) -> Vec<u8> {
        let find = |needle: &[u8]| seg.windows(needle.len()).position(|w| w == needle);
        let (head_end, sep_len) = match (find(b"\r\n\r\n"), find(b"\n\n")) {
            (Some(a), Some(b)) if b + 1 < a => (b, 2),
            (Some(a), _) => (a, 4),
            (None, Some(b)) => (b, 2),
            (None, None) => return seg.to_vec(),
        };
        let head = String::from_utf8_lossy(&seg[..head_end]).into_owned();
        let content_start = head_end + sep_len;
        let rest = &seg[content_start..];
        // The line break before the next delimiter belongs to the delimiter.
        let content_len = if rest.ends_with(b"\r\n") {
            rest.len() - 2
        } else if rest.ends_with(b"\n") {
            rest.len() - 1
        } else {
            rest.len()
        };
        let (content, tail) = rest.split_at(content_len);
        let mut headers = HeaderList::default();
        for line in head.lines() {
            if let Some((n, v)) = line.split_once(':') {
                headers.push(n.trim(), v.trim());
            }
        }
        let name = headers
            .get("content-disposition")
            .and_then(|cd| {
                cd.split(';').skip(1).find_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("name")
                        .then(|| v.trim().trim_matches('"').to_string())
                })
            })
            .unwrap_or_default();
        let new_content = if is_secret_field(&name) && !content.is_empty() {
            let value = String::from_utf8_lossy(content).into_owned();
            let masked = self.mask(&value);
            masked.into_bytes()
        } else {
            let mut b = Body::from_bytes(content);
            self.body(&headers, &mut b);
            b.bytes()
        };
        let mut out = seg[..content_start].to_vec();
        out.extend_from_slice(&new_content);
        out.extend_from_slice(tail);
        out
    }

    /// Mask `"name" : "value"` members of text that does not parse as JSON.
    fn json_lenient(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(q) = rest.find('"') {
            out.push_str(&rest[..=q]);
            rest = &rest[q + 1..];
            let Some(end) = find_unescaped_quote(rest) else {
                out.push_str(rest);
                return out;
            };
            let key = &rest[..end];
            out.push_str(&rest[..=end]);
            rest = &rest[end + 1..];
            if !is_secret_field(key) {
                continue;
            }
            let after = rest.trim_start();
            let Some(after_colon) = after.strip_prefix(':') else {
                continue;
            };
            let after_colon_trim = after_colon.trim_start();
            let Some(val) = after_colon_trim.strip_prefix('"') else {
                continue;
            };
            let consumed = rest.len() - val.len();
            out.push_str(&rest[..consumed]);
            let (value, tail) = match find_unescaped_quote(val) {
                Some(e) => (&val[..e], &val[e..]),
                None => (val, ""),
            };
            let unescaped = serde_json::from_str::<String>(&format!("\"{value}\""))
                .unwrap_or_else(|_| value.to_string());
            let masked = self.mask(&unescaped);
            let escaped = serde_json::to_string(&masked).unwrap_or_default();
            out.push_str(&escaped[1..escaped.len() - 1]);
            if let Some(stripped) = tail.strip_prefix('"') {
                out.push('"');
                rest = stripped;
            } else {
                rest = tail;
            }
        }
        out.push_str(rest);
        out
    }

    /// Mask `value="..."` of `<input name="code" ...>` (form_post responses).
    fn html_inputs(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('<') {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            let end = rest.find('>').map(|e| e + 1).unwrap_or(rest.len());
            let tag = &rest[..end];
            rest = &rest[end..];
            let lower = tag.to_ascii_lowercase();
            let name = attr(tag, &lower, "name");
            match (name, attr_span(&lower, "value")) {
                (Some(n), Some((s, e))) if lower.starts_with("<input") && is_secret_field(&n) => {
                    let v = html_unescape(&tag[s..e]);
                    out.push_str(&tag[..s]);
                    out.push_str(&self.mask(&v));
                    out.push_str(&tag[e..]);
                }
                _ => out.push_str(tag),
            }
        }
        out.push_str(rest);
        out
    }
}

/// The value of attribute `name` in a tag (quoted with `"` or `'`).
fn attr(tag: &str, lower: &str, name: &str) -> Option<String> {
    attr_span(lower, name).map(|(s, e)| tag[s..e].to_string())
}

/// Byte span of attribute `name`'s value in a lower-cased tag.
fn attr_span(lower: &str, name: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = at > 0 && lower.as_bytes()[at - 1].is_ascii_whitespace();
        let after = lower[from..].trim_start();
        if !before_ok {
            continue;
        }
        let Some(after_eq) = after.strip_prefix('=') else {
            continue;
        };
        let after_eq = after_eq.trim_start();
        let quote = after_eq.chars().next()?;
        if quote != '"' && quote != '\'' {
            continue;
        }
        let start = lower.len() - after_eq.len() + 1;
        let end = lower[start..].find(quote).map(|e| start + e)?;
        return Some((start, end));
    }
    None
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x2B;", "+")
        .replace("&#43;", "+")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&#x3D;", "=")
        .replace("&#61;", "=")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn find_unescaped_quote(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The real secret behind the secret half of Basic credentials, as the
/// analysis reads it: decoded when the header is URL-encoded (RFC 6749
/// §2.3.1), as it is otherwise.
fn basic_secret_value(id: &str, secret: &str) -> String {
    use crate::analyze::flavour::{classify_encoding, BasicEncoding};
    if classify_encoding(id, secret) == BasicEncoding::UrlEncoded {
        decode_form(secret)
    } else {
        secret.to_string()
    }
}

/// Form-decode (`+` is a space, `%XX` escapes), lossy on bad UTF-8.
fn decode_form(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Percent-decode without treating `+` as a space.
fn decode_component(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Form-encode a value (`application/x-www-form-urlencoded`).
fn encode_form(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn looks_like_url(s: &str) -> bool {
    let l = s.trim_start();
    l.starts_with("https://") || l.starts_with("http://") || l.starts_with('/') && l.contains('?')
}

/// `(header, claims, signature)` when `s` is a compact JWS whose header and
/// claims decode to JSON objects.
pub fn jwt_parts(s: &str) -> Option<(&str, &str, &str)> {
    let mut it = s.split('.');
    let (h, c, sig) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || h.is_empty() || c.is_empty() {
        return None;
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let is_obj = |p: &str| {
        b64.decode(p.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|v| v.is_object())
    };
    (is_obj(h) && is_obj(c)).then_some((h, c, sig))
}

/// The second pass: masks remembered secrets in every encoding, and JWT
/// signatures, anywhere in a string.
/// The second pass of redaction, built once for a whole export (see
/// [`Redactor::learn`]).
pub struct Sweeper(Sweep);

struct Sweep {
    /// (needle, replacement), longest needle first.
    needles: Vec<(String, String)>,
    /// The export's salt, for the analysis' own fingerprints.
    salt: [u8; 16],
}

/// How the analysis writes a secret's fingerprint in evidence
/// ([`crate::analyze::diagnose::fingerprint`]: `sha256:` and 12 hex digits
/// of an unsalted SHA-256, which a weak secret could be guessed from).
const EVIDENCE_FP: &str = "sha256:";

impl Sweep {
    /// The analysis' unsalted fingerprints in `s` rewritten with the
    /// export's salt (`«fp:` 12 hex digits `»`): equal values still read as
    /// equal within one export, and nothing can be guessed or joined
    /// across exports.
    fn fingerprints(&self, s: &str) -> String {
        if !s.contains(EVIDENCE_FP) {
            return s.to_string();
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find(EVIDENCE_FP) {
            let after = &rest[i + EVIDENCE_FP.len()..];
            let hex_len = after.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
            out.push_str(&rest[..i]);
            if hex_len >= 8 {
                let mut h = Sha256::new();
                h.update(self.salt);
                h.update(b"evidence-fingerprint:");
                h.update(&after.as_bytes()[..hex_len]);
                out.push_str("«fp:");
                out.push_str(&hex::encode(h.finalize())[..12]);
                out.push('»');
            } else {
                out.push_str(&rest[i..i + EVIDENCE_FP.len() + hex_len]);
            }
            rest = &after[hex_len..];
        }
        out.push_str(rest);
        out
    }

    fn new(secrets: &HashMap<String, String>, salt: [u8; 16]) -> Sweep {
        use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
        const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        let mut needles: Vec<(String, String)> = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (value, replacement) in secrets {
            if value.chars().count() < MIN_SWEEP_LEN {
                continue;
            }
            if value.len() < 12 && value.bytes().all(|b| b.is_ascii_digit()) {
                // A short number masked where it was found (an error code in
                // a URL, a numeric code) would turn every equal number
                // elsewhere (JSON numbers, `AADSTS70016`) into text.
                continue;
            }
            let b64 = base64::engine::general_purpose::STANDARD;
            let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let json = serde_json::to_string(value).unwrap_or_default();
            let json = json[1..json.len() - 1].to_string();
            let mut forms = vec![
                value.clone(),
                encode_form(value),
                utf8_percent_encode(value, NON_ALPHANUMERIC).to_string(),
                utf8_percent_encode(value, COMPONENT).to_string(),
                json.clone(),
                json.replace('/', "\\/"),
                b64.encode(value),
                b64url.encode(value),
            ];
            let lower: Vec<String> = forms.iter().map(|f| lower_hex_escapes(f)).collect();
            forms.extend(lower);
            for f in forms {
                if f.chars().count() >= MIN_SWEEP_LEN && seen.insert(f.clone()) {
                    needles.push((f, replacement.clone()));
                }
            }
        }
        needles.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Sweep { needles, salt }
    }

    fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (needle, replacement) in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), replacement);
            }
        }
        strip_jwt_signatures(&out)
    }

    fn bytes(&self, b: &[u8]) -> Vec<u8> {
        let mut out = b.to_vec();
        for (needle, replacement) in &self.needles {
            out = replace_bytes(&out, needle.as_bytes(), replacement.as_bytes());
        }
        out
    }

    fn body(&self, body: &mut Body) {
        match body.encoding.as_deref() {
            None => body.text = self.text(&body.text),
            Some("base64") => {
                let bytes = body.bytes();
                let swept = self.bytes(&bytes);
                if swept != bytes {
                    body.text = base64::engine::general_purpose::STANDARD.encode(swept);
                }
            }
            Some(_) => {}
        }
    }

    fn headers(&self, h: &mut HeaderList) {
        for (_, v) in h.0.iter_mut() {
            *v = self.text(v);
        }
    }

    /// Every string in `v`, at any depth, replaced by `f` of it.
    fn strings(v: &mut Value, f: &dyn Fn(&str) -> String) {
        match v {
            Value::String(s) => *s = f(s),
            Value::Array(a) => a.iter_mut().for_each(|i| Self::strings(i, f)),
            Value::Object(m) => m.values_mut().for_each(|i| Self::strings(i, f)),
            _ => {}
        }
    }

    /// An annotation's texts and evidence: remembered secrets masked, and
    /// the analysis' fingerprints salted.
    fn annotation(&self, a: &mut Annotation) {
        let sweep = |s: &str| self.fingerprints(&self.text(s));
        a.title = sweep(&a.title);
        a.detail = sweep(&a.detail);
        Self::strings(&mut a.evidence, &sweep);
    }

    fn record(&self, r: &mut Record) {
        r.request.url = self.text(&r.request.url);
        self.headers(&mut r.request.headers);
        self.body(&mut r.request.body);
        if let Some(resp) = r.response.as_mut() {
            self.headers(&mut resp.headers);
            self.body(&mut resp.body);
        }
        if let Some(e) = r.error.as_mut() {
            *e = self.text(e);
        }
        if let Some(f) = r.flavour.as_mut() {
            if let Some(n) = f.note.as_mut() {
                *n = self.text(n);
            }
        }
        for a in &mut r.annotations {
            self.annotation(a);
        }
    }
}

fn lower_hex_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for _ in 0..2 {
                if let Some(h) = chars.next() {
                    out.push(h.to_ascii_lowercase());
                }
            }
        }
    }
    out
}

/// Start offsets of every non-overlapping occurrence of `needle` in `hay`.
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    if needle.is_empty() {
        return out;
    }
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if hay[i..].starts_with(needle) {
            out.push(i);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

fn replace_bytes(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() || hay.len() < needle.len() {
        return hay.to_vec();
    }
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

fn is_b64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Replace the signature of every compact JWT (`eyJ...eyJ...sig`) in `s`
/// with a fixed marker (the sweep has no salt-free way to fingerprint an
/// unknown token, and the structural pass already fingerprinted known ones).
fn strip_jwt_signatures(s: &str) -> String {
    if !s.contains("eyJ") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("eyJ") {
        // Must start a token (not in the middle of a base64 run).
        let starts_token = i == 0 || !rest[..i].chars().next_back().is_some_and(is_b64url);
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let seg = |t: &str| t.find(|c: char| !is_b64url(c)).unwrap_or(t.len());
        let h = seg(tail);
        let matched = starts_token && tail[h..].starts_with(".eyJ") && {
            let c_start = h + 1;
            let c = seg(&tail[c_start..]);
            let s_start = c_start + c;
            tail[s_start..].starts_with('.') && {
                let sig_start = s_start + 1;
                let sig = seg(&tail[sig_start..]);
                if sig >= 16 && jwt_parts(&tail[..sig_start + sig]).is_some() {
                    out.push_str(&tail[..sig_start]);
                    out.push_str("«redacted:signature»");
                    rest = &tail[sig_start + sig..];
                    true
                } else {
                    false
                }
            }
        };
        if !matched {
            out.push_str(&tail[..3]);
            rest = &tail[3..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.{}",
            b.encode(r#"{"alg":"RS256","kid":"k1"}"#),
            b.encode(claims),
            b.encode([7u8; 64])
        )
    }

    #[test]
    fn urls_for_logs_keep_names_and_lose_values() {
        assert_eq!(
            url_for_log("https://u:pw@idp.example:8443/cb?code=s3cr%2Bt&state=x#access_token=at&e"),
            "https://idp.example:8443/cb?code=…&state=…#access_token=…&e"
        );
        assert_eq!(
            url_for_log("https://idp.example/a/b"),
            "https://idp.example/a/b"
        );
        assert_eq!(url_for_log("/p#opaque-secret"), "/p#…");
        assert_eq!(url_for_log("?"), "?");
    }

    #[test]
    fn same_value_same_fingerprint_other_salt_other_fingerprint() {
        let mut a = Redactor::with_salt([1; 16]);
        let mut b = Redactor::with_salt([2; 16]);
        let x = a.fingerprint("s3cr+t/=");
        assert_eq!(x, a.fingerprint("s3cr+t/="));
        assert_ne!(x, a.fingerprint("other"));
        assert_ne!(x, b.fingerprint("s3cr+t/="));
        assert!(x.starts_with("«redacted:") && x.ends_with('»'));
        assert_eq!(x.chars().count(), "«redacted:»".chars().count() + 6);
        assert!(is_redacted(&x) && is_redacted(&encode_form(&x)));
        assert!(!is_redacted("s3cr+t/="));
    }

    #[test]
    fn query_fragment_and_userinfo_are_masked_and_other_bytes_kept() {
        let mut r = Redactor::with_salt([0; 16]);
        let u = "https://u:p%40ss@app.example/cb/?code=a%2Bb%2F%3D+c&state=x%20y&redirect_uri=http%3A%2F%2Flocalhost%2F#access_token=tok+en&token_type=bearer";
        let out = r.url(u);
        assert!(
            out.contains("state=x%20y&redirect_uri=http%3A%2F%2Flocalhost%2F"),
            "{out}"
        );
        assert!(out.contains("token_type=bearer"));
        assert!(!out.contains("a%2Bb"));
        assert!(!out.contains("tok+en"));
        assert!(!out.contains("p%40ss"));
        let code_fp = r.mask("a+b/= c");
        assert!(out.contains(&format!("code={code_fp}")), "{out}");
    }

    #[test]
    fn basic_keeps_client_id_and_encoding_fact() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut r = Redactor::with_salt([0; 16]);
        // URL-encoded secret (flavour 1)
        let enc = r.authorization(&format!("Basic {}", b64.encode("my%20app:s%2Bc%2Fr")));
        let dec = String::from_utf8(b64.decode(&enc[6..]).unwrap()).unwrap();
        let (id, sec) = dec.split_once(':').unwrap();
        assert_eq!(id, "my%20app");
        assert!(
            sec.starts_with("%C2%AB") && decode_form(sec).starts_with("«redacted:"),
            "{dec}"
        );
        // Raw secret with characters URL-encoding changes (flavour 5)
        let raw = r.authorization(&format!("Basic {}", b64.encode("app:s+c/r")));
        let dec = String::from_utf8(b64.decode(&raw[6..]).unwrap()).unwrap();
        // The characters URL-encoding changes are kept (the rules' facts), the secret is not.
        assert!(
            dec.starts_with("app:redacted_") && dec.ends_with("+/"),
            "{dec}"
        );
        assert!(is_redacted(&dec[4..]), "{dec}");
        // Ambiguous secret stays ambiguous
        let plain = r.authorization(&format!("Basic {}", b64.encode("app:plainsecret")));
        let dec = String::from_utf8(b64.decode(&plain[6..]).unwrap()).unwrap();
        assert!(dec.starts_with("app:redacted_"), "{dec}");
        assert_eq!(encode_form(&dec[4..]), dec[4..]);
        // Malformed stays malformed, and does not panic
        let bad = r.authorization("Basic !!!notbase64");
        assert!(bad.starts_with("Basic «redacted:"));
        let nocolon = r.authorization(&format!("Basic {}", b64.encode("nocolonsecret")));
        let dec = String::from_utf8(b64.decode(&nocolon[6..]).unwrap()).unwrap();
        assert!(!dec.contains(':') || dec.starts_with("«redacted:"));
        assert!(!dec.contains("nocolonsecret"));
    }

    #[test]
    fn bearer_jwt_keeps_claims_loses_signature() {
        let mut r = Redactor::with_salt([0; 16]);
        let t = jwt(r#"{"sub":"alice","aud":"app"}"#);
        let out = r.authorization(&format!("Bearer {t}"));
        let (h, c, sig) = jwt_parts(&t).unwrap();
        assert!(
            out.starts_with(&format!("Bearer {h}.{c}.«redacted:")),
            "{out}"
        );
        assert!(!out.contains(sig));
    }

    #[test]
    fn nested_json_truncated_json_form_cookies_and_html() {
        let mut r = Redactor::with_salt([0; 16]);
        let mut h = HeaderList::default();
        h.push("Content-Type", "application/json");
        let mut body = Body::from_bytes(
            br#"{"data":{"tokens":[{"access_token":"AT+1/2=="}],"refresh_token":"RT 9"},"expires_in":3600}"#,
        );
        r.body(&h, &mut body);
        assert!(
            !body.text.contains("AT+1/2==") && !body.text.contains("RT 9"),
            "{}",
            body.text
        );
        assert!(body.text.contains("3600"));

        let mut trunc = Body::from_bytes(br#"{"token_type":"Bearer","access_token":"AT_trunc\"x"#);
        r.body(&h, &mut trunc);
        assert!(!trunc.text.contains("AT_trunc"), "{}", trunc.text);

        let mut hf = HeaderList::default();
        hf.push("Content-Type", "application/x-www-form-urlencoded");
        let mut form = Body::from_bytes(b"grant_type=password&username=bob&password=p%40ss+w");
        r.body(&hf, &mut form);
        assert!(form
            .text
            .starts_with("grant_type=password&username=bob&password=«redacted:"));

        let mut hh = HeaderList::default();
        hh.push("Cookie", "sid=abc123xyz; theme=dark");
        hh.push("Set-Cookie", "sid=newsecret99; Path=/; HttpOnly");
        r.headers(&mut hh);
        assert!(
            hh.0[0].1.starts_with("sid=«redacted:") && hh.0[0].1.contains("; theme=«redacted:")
        );
        assert!(hh.0[1].1.ends_with("; Path=/; HttpOnly") && !hh.0[1].1.contains("newsecret99"));

        let mut hth = HeaderList::default();
        hth.push("Content-Type", "text/html");
        let mut html = Body::from_bytes(
            br#"<form method="post"><input type="hidden" name="code" value="C0DE+/="/><input name="state" value="st"></form>"#,
        );
        r.body(&hth, &mut html);
        assert!(!html.text.contains("C0DE+/="), "{}", html.text);
        assert!(html.text.contains(r#"value="st""#));
    }

    #[test]
    fn sweep_catches_known_secrets_elsewhere_and_unknown_jwts() {
        let mut r = Redactor::with_salt([0; 16]);
        let fp = r.mask("the code+/= x");
        let t = jwt(r#"{"sub":"x"}"#);
        let sw = Sweep::new(&r.secrets, r.salt);
        let s = format!("see the%20code%2B%2F%3D%20x and the+code%2B%2F%3D+x and {t}");
        let out = sw.text(&s);
        assert_eq!(out.matches(&fp).count(), 2, "{out}");
        assert!(out.ends_with("«redacted:signature»"), "{out}");
    }

    fn record_with(req_headers: &[(&str, &str)], req_body: Body, resp_body: Body) -> Record {
        let h = |v: &[(&str, &str)]| {
            HeaderList(
                v.iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            )
        };
        Record {
            id: "0000000000000001".into(),
            time: time::OffsetDateTime::UNIX_EPOCH,
            flow: None,
            kind: crate::record::Kind::TokenRequest,
            grant_type: None,
            request: crate::record::Request {
                method: "POST".into(),
                url: "https://idp.example/token".into(),
                headers: h(req_headers),
                body: req_body,
            },
            response: Some(crate::record::Response {
                status: 200,
                headers: HeaderList::default(),
                body: resp_body,
            }),
            duration_ms: 1,
            error: Some("upstream said refresh+tok/en=1 was bad".into()),
            flavour: None,
            annotations: vec![],
        }
    }

    #[test]
    fn short_cookie_values_are_masked_in_place_but_not_swept() {
        let rec = record_with(
            &[
                ("Cookie", "lang=en-US; sid=abcdefghijklmnop"),
                ("Accept-Language", "en-US"),
            ],
            Body::default(),
            Body::from_bytes(b"session abcdefghijklmnop"),
        );
        let out = Redactor::new().redact_records(&[rec]);
        let h = &out[0].request.headers;
        assert!(h.0[0].1.starts_with("lang=«redacted:"));
        assert_eq!(h.get("accept-language"), Some("en-US"));
        assert!(!out[0]
            .response
            .as_ref()
            .unwrap()
            .body
            .text
            .contains("abcdefghijklmnop"));
    }

    #[test]
    fn binary_bodies_errors_and_malformed_input_do_not_leak_or_panic() {
        let mut bin = vec![0xffu8, 0xfe, 0x00];
        bin.extend_from_slice(b"refresh+tok/en=1");
        bin.push(0x80);
        let rec = record_with(
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Body::from_bytes(
                b"grant_type=refresh_token&refresh_token=refresh%2Btok%2Fen%3D1&%zz=%&=&&",
            ),
            Body::from_bytes(&bin),
        );
        let out = Redactor::new().redact_records(&[rec]);
        let resp = out[0].response.as_ref().unwrap();
        assert_eq!(resp.body.encoding.as_deref(), Some("base64"));
        let bytes = resp.body.bytes();
        assert!(!bytes.windows(16).any(|w| w == b"refresh+tok/en=1"));
        assert!(bytes.starts_with(&[0xff, 0xfe, 0x00]));
        assert!(!out[0].error.as_ref().unwrap().contains("refresh+tok/en=1"));
        assert!(out[0].request.body.text.ends_with("&%zz=%&=&&"));
        // Huge and hostile inputs.
        let mut r = Redactor::new();
        let big = "a=".to_string() + &"%".repeat(200_000);
        assert_eq!(r.form(&big), big);
        let _ = r.authorization("Basic");
        let _ = r.authorization("Basic   ");
        let _ = r.url("https://@/?#");
        let _ = r.url("::::?code");
        let mut h = HeaderList::default();
        h.push("Content-Type", "text/html");
        let mut b = Body::from_bytes(b"<input name=\"code\" value=\"unterminated");
        r.body(&h, &mut b);
        let _ = strip_jwt_signatures("eyJ.eyJ.x eyJhbGciOi.eyJ eyJ");
    }
}

#[cfg(test)]
mod evidence_fingerprint_tests {
    use super::*;

    #[test]
    fn the_analysis_fingerprints_are_salted_per_export() {
        let secret_fp = crate::analyze::diagnose::fingerprint("demo-secret");
        let text = format!("failed with {secret_fp}, succeeded with {secret_fp}; sha256:12 stays");
        let a = Sweep::new(&HashMap::new(), [1; 16]).fingerprints(&text);
        let b = Sweep::new(&HashMap::new(), [2; 16]).fingerprints(&text);
        assert!(
            !a.contains(&secret_fp) && !a.contains("sha256:cd577"),
            "{a}"
        );
        // Equal within one export, different across exports.
        let fps: Vec<&str> = a
            .match_indices("«fp:")
            .map(|(i, _)| &a[i..i + 17])
            .collect();
        assert_eq!(fps.len(), 2, "{a}");
        assert_eq!(fps[0], fps[1]);
        assert_ne!(a, b);
        assert!(a.ends_with("sha256:12 stays"), "{a}");
    }

    /// A code redeemed twice: the analysis names the code by fingerprint
    /// in its evidence; a redacted copy holds only the salted one.
    #[test]
    fn a_redacted_code_reuse_shows_no_unsalted_fingerprint() {
        use crate::analyze::testkit::{authorize, callback, json_response, token};
        let form = "grant_type=authorization_code&code=code-one-7f3a9c&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb";
        let mut again = token("4", 9, form, "{}");
        again.response = json_response(
            400,
            r#"{"error":"invalid_grant","error_description":"Code not valid"}"#,
        );
        let records = vec![
            authorize("1", 0, "https://idp.example.com/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s1"),
            callback("2", 5, "https://app.example.com/cb?code=code-one-7f3a9c&state=s1"),
            token("3", 6, form, r#"{"access_token":"at-1234567890","token_type":"Bearer"}"#),
            again,
        ];
        let analysed =
            crate::analyze::analyze(&records, &crate::analyze::AnalyzeOptions::default());
        let unsalted = crate::analyze::diagnose::fingerprint("code-one-7f3a9c");
        let raw = serde_json::to_string(&analysed).unwrap();
        assert!(
            raw.contains(&unsalted),
            "the analysis fingerprints the code: {raw}"
        );
        let shown = serde_json::to_string(&Redactor::new().redact_records(&analysed)).unwrap();
        assert!(
            !shown.contains(&unsalted) && !shown.contains("sha256:"),
            "{shown}"
        );
        assert!(shown.contains("«fp:"), "{shown}");
        assert!(!shown.contains("code-one-7f3a9c"), "{shown}");
    }
}

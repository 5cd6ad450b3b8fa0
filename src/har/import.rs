//! HAR 1.2 import, lenient: Chrome and Firefox devtools exports, mitmproxy's
//! `save.har`, Fiddler/Charles-style files and oauthscope's own export.
//!
//! [`from_str`] turns a HAR document into [`Record`]s ready for
//! [`crate::analyze::analyze`]:
//! - each entry is classified with the same classifier the proxy uses
//!   ([`crate::analyze::classify::classify_record`]); only OAuth exchanges are kept;
//! - an entry written by oauthscope (`_oauthscope` member) keeps its id, time,
//!   kind and grant type;
//! - other entries get deterministic, time-ordered ids (see [`import_id`]), so
//!   importing the same file twice gives the same ids;
//! - a malformed entry is skipped and reported in [`Imported::skipped`] rather
//!   than failing the whole file.
//!
//! Field handling: `request.method/url/headers/postData.text` (or
//! `postData.params` when `text` is missing: a form body is rebuilt),
//! `response.status/headers/content.text` (`content.encoding == "base64"` is
//! decoded), `redirectURL` becomes `Location` when that header is missing,
//! `startedDateTime` (RFC 3339, with or without fractional seconds or offset)
//! becomes [`Record::time`], `time` becomes [`Record::duration_ms`], HTTP/2
//! pseudo-headers (`:authority`, ...) are dropped and header names keep their case.

use super::stream;
use crate::analyze::classify::{classify_record_in, Endpoints};
use crate::record::{Body, HeaderList, Kind, Record, Request, Response};
use base64::Engine as _;
use serde_json::Value;
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Why a HAR document could not be read at all. Problems with single entries
/// do not fail the import; they end up in [`Imported::skipped`].
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The text is not JSON.
    #[error("not JSON at line {line}, column {column}: {message}")]
    NotJson {
        /// 1-based line of the first syntax error.
        line: usize,
        /// 1-based column of the first syntax error.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// JSON, but not an object with a `log` object.
    #[error("not a HAR file: the top level has no \"log\" object (found {found})")]
    NoLog {
        /// What was found instead (`an array`, `an object without \"log\"`, ...).
        found: String,
    },
    /// A `log` without an `entries` array.
    #[error("not a HAR file: no log.entries array")]
    NoEntries,
    /// A text encoding the importer does not read.
    #[error("the file is {encoding}; HAR files are JSON, which must be UTF-8 (RFC 8259 §8.1): save it as UTF-8 and try again")]
    Encoding {
        /// The encoding found (`UTF-32 (little endian)`, ...).
        encoding: &'static str,
    },
    /// The file could not be read.
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
}

/// Bytes of each body kept by default: the proxy's default `--max-body`
/// (1 MiB).
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// How to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Bytes of each request and response body kept (decoded). A longer
    /// body keeps its start and is marked [`Body::truncated`] with its whole
    /// [`Body::size`], as the proxy does with `--max-body`.
    pub max_body: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// The longest entry `time` (milliseconds) read as a duration: seven days.
/// HAR 1.2 writes `-1` for an unknown time; a negative, non-finite or longer
/// value is read as unknown (`duration_ms` 0) too, so a hostile file cannot
/// push a record's response time out of range.
pub const MAX_DURATION_MS: u64 = 7 * 24 * 3600 * 1000;

/// The result of an import.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// The OAuth exchanges found, oldest first.
    pub records: Vec<Record>,
    /// One line per entry that could not be read (`entry 3: request.url is missing`).
    pub skipped: Vec<String>,
    /// How many entries the file held (OAuth or not, read or skipped).
    pub entries: usize,
}

/// Import a HAR document from text. See the module documentation.
pub fn from_str(text: &str) -> Result<Imported, ImportError> {
    from_slice(text.as_bytes())
}

/// Import a HAR document from bytes (a file or stdin), with the default
/// [`ImportOptions`]. See [`from_reader`] for encodings and limits.
pub fn from_slice(bytes: &[u8]) -> Result<Imported, ImportError> {
    from_reader(std::io::Cursor::new(bytes), &ImportOptions::default())
}

/// Import a HAR document from a file (or anything seekable), streaming:
/// entries are parsed one at a time and every body is cut to
/// [`ImportOptions::max_body`] as it is read (strings longer than about
/// twice that never reach memory whole, see [`super::stream::CapStrings`]),
/// so memory grows with the OAuth exchanges kept, not with the file.
///
/// Encodings: UTF-8 with or without a BOM; UTF-16 (BOM, or recognised by its
/// zero bytes) is decoded in memory first; UTF-32 is refused with
/// [`ImportError::Encoding`]. Bytes inside strings that are not UTF-8 are
/// replaced by U+FFFD rather than rejected.
///
/// The file is read twice when some entries were not recognised on the
/// first pass: they get a second look with every endpoint the whole file
/// taught (discovery documents, redirect URIs), as [`from_value`] does.
pub fn from_reader<R: Read + Seek>(
    mut r: R,
    opts: &ImportOptions,
) -> Result<Imported, ImportError> {
    let mut head = Vec::with_capacity(4);
    (&mut r).take(4).read_to_end(&mut head)?;
    match stream::sniff(&head) {
        stream::Encoding::Utf8 { bom } => {
            r.seek(SeekFrom::Start(bom as u64))?;
            stream_import(r, bom as u64, opts)
        }
        stream::Encoding::Utf16 { le, bom } => {
            r.seek(SeekFrom::Start(bom as u64))?;
            let mut bytes = Vec::new();
            r.read_to_end(&mut bytes)?;
            let text = stream::decode_utf16(&bytes, le);
            drop(bytes);
            stream_import(std::io::Cursor::new(text.into_bytes()), 0, opts)
        }
        stream::Encoding::Utf32 { le } => Err(ImportError::Encoding {
            encoding: if le {
                "UTF-32 (little endian)"
            } else {
                "UTF-32 (big endian)"
            },
        }),
    }
}

/// The state of one import while entries arrive.
struct Importer<'o> {
    opts: &'o ImportOptions,
    skipped: Vec<String>,
    // (record, entry index, id came from `_oauthscope`)
    found: Vec<(Record, usize, bool)>,
    known: Endpoints,
    unrecognised: Vec<usize>,
}

impl<'o> Importer<'o> {
    fn new(opts: &'o ImportOptions) -> Self {
        Importer {
            opts,
            skipped: Vec::new(),
            found: Vec::new(),
            known: Endpoints::default(),
            unrecognised: Vec::new(),
        }
    }

    /// First look at entry `i`: endpoints learnt from the capture (discovery
    /// documents, authorize requests' redirect URIs) classify later entries,
    /// as they do live.
    fn first(&mut self, i: usize, e: &Value) {
        match entry(e, &self.known, self.opts) {
            Ok(Some((rec, own_id))) => {
                self.known.learn(&rec);
                self.found.push((rec, i, own_id));
            }
            Ok(None) => self.unrecognised.push(i),
            Err(why) => self.skipped.push(format!("entry {i}: {why}")),
        }
    }

    /// Second look at an entry not recognised at first, with everything the
    /// file taught.
    fn second(&mut self, i: usize, e: &Value) {
        if let Ok(Some((rec, own_id))) = entry(e, &self.known, self.opts) {
            self.found.push((rec, i, own_id));
        }
    }

    fn finish(self, entries: usize) -> Imported {
        let Importer {
            mut found, skipped, ..
        } = self;
        // Ids: keep oauthscope's own; give the rest deterministic time-ordered ids.
        let mut used: HashSet<u64> = found
            .iter()
            .filter(|(_, _, own)| *own)
            .filter_map(|(r, _, _)| crate::record::id_key(&r.id))
            .collect();
        let mut order: Vec<usize> = (0..found.len()).filter(|&k| !found[k].2).collect();
        order.sort_by_key(|&k| (found[k].0.time, found[k].1));
        let mut last = 0u64;
        for k in order {
            let mut n = import_id(found[k].0.time).max(last.saturating_add(1));
            while used.contains(&n) && n < u64::MAX {
                n += 1;
            }
            last = n;
            used.insert(n);
            found[k].0.id = crate::record::format_id(n);
        }
        let mut records: Vec<Record> = found.into_iter().map(|(r, _, _)| r).collect();
        records.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        Imported {
            records,
            skipped,
            entries,
        }
    }
}

/// Stream the entries of a UTF-8 HAR (positioned after any BOM, which is
/// `start` bytes long), twice when needed. See [`from_reader`].
fn stream_import<R: Read + Seek>(
    mut r: R,
    start: u64,
    opts: &ImportOptions,
) -> Result<Imported, ImportError> {
    // Raw JSON bytes kept per string: room for a body of `max_body` bytes
    // in base64 (4/3) or with escapes; the importer cuts it exactly.
    let limit = opts.max_body.saturating_mul(2).saturating_add(64);
    let mut imp = Importer::new(opts);
    let entries = stream::for_each_entry(&mut r, limit, &mut |i, e| imp.first(i, &e))?;
    if !imp.unrecognised.is_empty() {
        r.seek(SeekFrom::Start(start))?;
        let again = std::mem::take(&mut imp.unrecognised);
        let mut next = again.iter().copied().peekable();
        stream::for_each_entry(&mut r, limit, &mut |i, e| {
            if next.peek() == Some(&i) {
                next.next();
                imp.second(i, &e);
            }
        })?;
    }
    Ok(imp.finish(entries))
}

/// Import an already parsed HAR document.
pub fn from_value(doc: &Value) -> Result<Imported, ImportError> {
    let log = match doc {
        Value::Object(o) => o.get("log").ok_or_else(|| ImportError::NoLog {
            found: "an object without \"log\"".into(),
        })?,
        other => {
            return Err(ImportError::NoLog {
                found: json_kind(other).into(),
            })
        }
    };
    let entries = log
        .get("entries")
        .and_then(Value::as_array)
        .ok_or(ImportError::NoEntries)?;
    let opts = ImportOptions::default();
    let mut imp = Importer::new(&opts);
    for (i, e) in entries.iter().enumerate() {
        imp.first(i, e);
    }
    for i in std::mem::take(&mut imp.unrecognised) {
        imp.second(i, &entries[i]);
    }
    Ok(imp.finish(entries.len()))
}

/// The numeric id of an imported entry without an oauthscope id: microseconds
/// since the Unix epoch of its start time, the same scale as
/// [`crate::record::new_id`]. Ties are broken in entry order by the importer.
pub fn import_id(t: OffsetDateTime) -> u64 {
    crate::record::id_micros(t)
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// One entry → `Ok(None)` when it is not OAuth, `Ok(Some((record, own_id)))`
/// when it is, `Err(reason)` when it cannot be read.
fn entry(
    e: &Value,
    known: &Endpoints,
    opts: &ImportOptions,
) -> Result<Option<(Record, bool)>, String> {
    if !e.is_object() {
        return Err(format!("expected an object, found {}", json_kind(e)));
    }
    let own = e.get("_oauthscope").filter(|v| v.is_object());
    let req = e
        .get("request")
        .filter(|v| v.is_object())
        .ok_or("request is missing")?;
    let url = str_of(req, "url")
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or("request.url is missing")?;
    let method = str_of(req, "method")
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .ok_or("request.method is missing")?;

    let time_text = own
        .and_then(|o| str_of(o, "time"))
        .or_else(|| str_of(e, "startedDateTime"));
    let time = match time_text {
        // Kept in UTC like live captures, whatever offset the file used,
        // and within the years RFC 3339 (the record's format) can write.
        Some(t) => parse_time(t)
            .ok_or_else(|| format!("startedDateTime {t:?} is not a time"))?
            .checked_to_offset(UtcOffset::UTC)
            .filter(|t| (0..=9999).contains(&t.year()))
            .ok_or_else(|| format!("startedDateTime {t:?} is outside the years 0000 to 9999"))?,
        None => return Err("startedDateTime is missing".into()),
    };

    let req_headers = headers(req.get("headers"));
    let mut req_body = request_body(req.get("postData"), opts.max_body);
    if let Some(facts) = own.and_then(|o| o.get("request_body")) {
        body_facts(&mut req_body, facts);
    }
    let request = Request {
        method: method.to_string(),
        url: url.to_string(),
        headers: req_headers,
        body: req_body,
    };

    let (response, resp_error) = match e.get("response").filter(|v| v.is_object()) {
        Some(r) => response(r, own, opts.max_body)?,
        None => (None, Some("no response in the HAR entry".to_string())),
    };
    let error = own
        .and_then(|o| str_of(o, "error"))
        .map(str::to_string)
        .or(if response.is_none() { resp_error } else { None });

    let duration_ms = e
        .get("time")
        .and_then(Value::as_f64)
        .filter(|t| t.is_finite() && *t > 0.0 && *t <= MAX_DURATION_MS as f64)
        .map(|t| t.round() as u64)
        .unwrap_or(0);

    let mut rec = Record {
        id: String::new(),
        time,
        flow: None,
        kind: Kind::AuthorizeRequest,
        grant_type: None,
        request,
        response,
        duration_ms,
        error,
        flavour: None,
        annotations: Vec::new(),
    };

    let own_kind = own
        .and_then(|o| str_of(o, "kind"))
        .and_then(|k| k.parse::<Kind>().ok());
    let own_id = own
        .and_then(|o| str_of(o, "id"))
        .map(str::trim)
        .filter(|id| !id.is_empty());
    match own_kind {
        // An older oauthscope kept a provider page's icon or style sheet
        // (its 404 then read as the provider refusing): not an exchange.
        Some(Kind::ProviderPage)
            if crate::analyze::classify::is_subresource(&rec.request.url, &rec.request.headers) =>
        {
            return Ok(None)
        }
        Some(kind) => {
            rec.kind = kind;
            rec.grant_type = own
                .and_then(|o| str_of(o, "grant_type"))
                .map(str::to_string)
                .or_else(|| {
                    (kind == Kind::TokenRequest)
                        .then(|| classify_record_in(&rec, known).and_then(|c| c.grant_type))
                        .flatten()
                });
        }
        None => match classify_record_in(&rec, known) {
            Some(c) => {
                rec.kind = c.kind;
                rec.grant_type = c.grant_type;
                crate::analyze::classify::refine(&mut rec);
            }
            None => return Ok(None),
        },
    }
    let has_own_id = match (own_kind, own_id) {
        (Some(_), Some(id)) => {
            rec.id = id.to_string();
            true
        }
        _ => false,
    };
    Ok(Some((rec, has_own_id)))
}

/// HAR `[{name, value}]` → [`HeaderList`], dropping HTTP/2 pseudo-headers and
/// keeping names as written.
fn headers(v: Option<&Value>) -> HeaderList {
    let mut out = HeaderList::default();
    for h in v.and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = str_of(h, "name") else {
            continue;
        };
        if name.is_empty() || name.starts_with(':') {
            continue;
        }
        let value = match h.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        out.push(name, value);
    }
    out
}

/// `postData` → body: `text` (base64 when our export marked it so), else a
/// form rebuilt from `params`.
fn request_body(post: Option<&Value>, max_body: usize) -> Body {
    let Some(post) = post.filter(|p| p.is_object()) else {
        return Body::default();
    };
    if let Some(text) = str_of(post, "text").filter(|t| !t.is_empty()) {
        let enc = str_of(post, "_encoding").or_else(|| str_of(post, "encoding"));
        return text_body(text, enc, max_body);
    }
    let params: Vec<(String, String)> = post
        .get("params")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = str_of(p, "name")?;
            Some((
                name.to_string(),
                str_of(p, "value").unwrap_or("").to_string(),
            ))
        })
        .collect();
    if params.is_empty() {
        return Body::default();
    }
    cap_bytes(rebuild_form(&params).as_bytes(), None, max_body)
}

/// Rebuild `a=b&c=d` from HAR params. Chrome writes params as they were on
/// the wire (still percent-encoded); Firefox and mitmproxy write them
/// decoded. A name or value that already looks form-encoded is kept as it
/// is; anything else is form-encoded.
pub fn rebuild_form(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(n, v)| format!("{}={}", form_part(n), form_part(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_part(s: &str) -> String {
    let b = s.as_bytes();
    let mut i = 0;
    let mut encoded = true;
    while i < b.len() {
        match b[i] {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' | b'+' => i += 1,
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                i += 3
            }
            _ => {
                encoded = false;
                break;
            }
        }
    }
    if encoded {
        s.to_string()
    } else {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }
}

/// A body from HAR text: base64 decoded when `encoding` says so (and kept as
/// received, with the reason, when it does not decode). At most `max_body`
/// bytes are kept; a longer body (or one [`stream::CapStrings`] already cut)
/// is marked truncated with its whole size.
fn text_body(text: &str, encoding: Option<&str>, max_body: usize) -> Body {
    let cut = stream::cut_of(text);
    let text = cut.map_or(text, |c| c.kept);
    if encoding.is_some_and(|e| e.eq_ignore_ascii_case("base64")) {
        let mut compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if cut.is_some() {
            // The kept start of a longer text: whole 4-character groups only.
            let whole = compact.len() / 4 * 4;
            compact.truncate(whole);
        }
        match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
            Ok(bytes) => cap_bytes(&bytes, cut.map(|c| c.base64_bytes), max_body),
            Err(err) => {
                let mut b = cap_text(text, cut.map(|c| c.bytes), max_body);
                b.decode_error = Some(format!("content marked base64 does not decode: {err}"));
                b
            }
        }
    } else {
        cap_text(text, cut.map(|c| c.bytes), max_body)
    }
}

/// Text kept up to `max_body` bytes (at a character boundary); `whole` is
/// the size of the whole text when only its start is here.
fn cap_text(text: &str, whole: Option<u64>, max_body: usize) -> Body {
    let mut end = text.len().min(max_body);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let truncated = whole.is_some() || end < text.len();
    Body {
        text: text[..end].to_string(),
        truncated,
        size: truncated.then(|| whole.unwrap_or(text.len() as u64)),
        ..Body::default()
    }
}

/// Bytes kept up to `max_body` (backing off an incomplete UTF-8 character at
/// the cut, so text stays text); `whole` as for [`cap_text`].
fn cap_bytes(bytes: &[u8], whole: Option<u64>, max_body: usize) -> Body {
    let mut end = bytes.len().min(max_body);
    if end < bytes.len() {
        if let Err(e) = std::str::from_utf8(&bytes[..end]) {
            if e.error_len().is_none() {
                end = e.valid_up_to();
            }
        }
    }
    let mut b = Body::from_bytes(&bytes[..end]);
    if whole.is_some() || end < bytes.len() {
        b.truncated = true;
        b.size = Some(whole.unwrap_or(bytes.len() as u64));
    }
    b
}

/// Restore body facts our export keeps in `_oauthscope.request_body` /
/// `response_body` (truncation, size, decode errors).
fn body_facts(body: &mut Body, facts: &Value) {
    if facts.get("truncated").and_then(Value::as_bool) == Some(true) {
        body.truncated = true;
    }
    if let Some(size) = facts.get("size").and_then(Value::as_u64) {
        body.size = Some(size);
    }
    if let Some(e) = str_of(facts, "decode_error") {
        body.decode_error = Some(e.to_string());
    }
}

/// `response` → `(Some(Response), None)`, or `(None, Some(why))` when the
/// browser got no response (status 0).
#[allow(clippy::type_complexity)]
fn response(
    r: &Value,
    own: Option<&Value>,
    max_body: usize,
) -> Result<(Option<Response>, Option<String>), String> {
    let status = match r.get("status") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        None | Some(Value::Null) => Some(0),
        _ => None,
    }
    .ok_or("response.status is not a number")?;
    if status == 0 {
        let why = str_of(r, "_error")
            .filter(|s| !s.is_empty())
            .unwrap_or("no response (status 0)")
            .to_string();
        return Ok((None, Some(why)));
    }
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (100..=999).contains(s))
        .ok_or_else(|| format!("response.status {status} is not an HTTP status"))?;
    let mut hs = headers(r.get("headers"));
    if hs.get("location").is_none() {
        if let Some(loc) = str_of(r, "redirectURL")
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            hs.push("Location", loc);
        }
    }
    let mut body = match r.get("content").filter(|c| c.is_object()) {
        Some(c) => match str_of(c, "text") {
            Some(t) if !t.is_empty() => text_body(t, str_of(c, "encoding"), max_body),
            _ => Body::default(),
        },
        None => Body::default(),
    };
    if let Some(facts) = own.and_then(|o| o.get("response_body")) {
        body_facts(&mut body, facts);
    }
    Ok((
        Some(Response {
            status,
            headers: hs,
            body,
        }),
        None,
    ))
}

/// Parse a HAR time: RFC 3339 with or without fractional seconds; a missing
/// offset means UTC; `+0100` and `+01` offsets and a space instead of `T`
/// are accepted too.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let s = s.replacen(' ', "T", 1).replacen('t', "T", 1);
    let date_end = s.find('T')?;
    let (local, offset) = if let Some(l) = s.strip_suffix(['Z', 'z']) {
        (l, UtcOffset::UTC)
    } else if let Some(pos) = s[date_end..].rfind(['+', '-']).map(|p| p + date_end) {
        (&s[..pos], parse_offset(&s[pos..])?)
    } else {
        (s.as_str(), UtcOffset::UTC)
    };
    let fmt = time::macros::format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
    );
    let t = PrimitiveDateTime::parse(local, &fmt).ok()?;
    Some(t.assume_offset(offset))
}

fn parse_offset(s: &str) -> Option<UtcOffset> {
    let sign: i8 = if s.starts_with('-') { -1 } else { 1 };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i8>().ok()?, 0),
        4 => (
            digits[..2].parse::<i8>().ok()?,
            digits[2..].parse::<i8>().ok()?,
        ),
        _ => return None,
    };
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn har(entries: Value) -> String {
        json!({ "log": { "version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": entries } })
            .to_string()
    }

    fn token_entry(started: &str) -> Value {
        json!({
            "startedDateTime": started,
            "time": 41.7,
            "request": {
                "method": "POST",
                "url": "https://idp.example/oauth/token",
                "httpVersion": "HTTP/2",
                "headers": [
                    {"name": ":authority", "value": "idp.example"},
                    {"name": ":method", "value": "POST"},
                    {"name": "Content-Type", "value": "application/x-www-form-urlencoded"}
                ],
                "postData": {"mimeType": "application/x-www-form-urlencoded",
                             "text": "grant_type=refresh_token&refresh_token=rt-1&client_id=app"}
            },
            "response": {
                "status": 200, "statusText": "",
                "headers": [{"name": "content-type", "value": "application/json"}],
                "content": {"size": 20, "mimeType": "application/json",
                            "text": "eyJhY2Nlc3NfdG9rZW4iOiJhdCJ9", "encoding": "base64"},
                "redirectURL": ""
            }
        })
    }

    #[test]
    fn times_parse_with_and_without_fractions_and_offsets() {
        let want = time::macros::datetime!(2026-03-14 09:22:31.104 UTC);
        for s in [
            "2026-03-14T09:22:31.104Z",
            "2026-03-14T10:22:31.104+01:00",
            "2026-03-14T09:22:31.104000+00:00",
            "2026-03-14T10:22:31.104+0100",
            "2026-03-14T09:22:31.104",
            "2026-03-14 09:22:31.104Z",
            "2026-03-14T04:22:31.104-05",
        ] {
            assert_eq!(parse_time(s), Some(want), "{s}");
        }
        assert_eq!(
            parse_time("2026-03-14T09:22:31Z"),
            Some(time::macros::datetime!(2026-03-14 09:22:31 UTC))
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time(""), None);
    }

    #[test]
    fn a_token_entry_becomes_a_record() {
        let imp = from_str(&har(json!([token_entry("2026-03-14T09:22:31.104Z")]))).unwrap();
        assert_eq!(imp.entries, 1);
        assert!(imp.skipped.is_empty());
        let r = &imp.records[0];
        assert_eq!(r.kind, Kind::TokenRequest);
        assert_eq!(r.grant_type.as_deref(), Some("refresh_token"));
        assert_eq!(r.duration_ms, 42);
        assert_eq!(r.id.len(), 16);
        assert_eq!(r.request.headers.0.len(), 1, "pseudo-headers dropped");
        assert_eq!(r.request.headers.0[0].0, "Content-Type", "case kept");
        let resp = r.response.as_ref().unwrap();
        assert_eq!(resp.body.as_text(), Some(r#"{"access_token":"at"}"#));
    }

    #[test]
    fn ids_are_deterministic_distinct_and_time_ordered() {
        let t = "2026-03-14T09:22:31.104Z";
        let text = har(json!([
            token_entry("2026-03-14T09:22:32.000Z"),
            token_entry(t),
            token_entry(t)
        ]));
        let a = from_str(&text).unwrap();
        let b = from_str(&text).unwrap();
        let ids: Vec<_> = a.records.iter().map(|r| r.id.clone()).collect();
        assert_eq!(
            ids,
            b.records.iter().map(|r| r.id.clone()).collect::<Vec<_>>()
        );
        assert!(ids[0] < ids[1] && ids[1] < ids[2], "{ids:?}");
        let t0 = parse_time(t).unwrap();
        assert_eq!(ids[0], format!("{:016x}", import_id(t0)));
        assert_eq!(ids[1], format!("{:016x}", import_id(t0) + 1));
    }

    #[test]
    fn bad_entries_are_skipped_and_counted() {
        let text = har(json!([
            "nonsense",
            {"startedDateTime": "2026-03-14T09:22:31Z", "request": {"method": "GET"}},
            {"startedDateTime": "soon", "request": {"method": "GET", "url": "https://x/authorize?response_type=code&client_id=a"}},
            {"startedDateTime": "2026-03-14T09:22:31Z",
             "request": {"method": "GET", "url": "https://x/authorize?response_type=code&client_id=a"},
             "response": {"status": "teapot"}},
            {"startedDateTime": "2026-03-14T09:22:31Z",
             "request": {"method": "GET", "url": "https://x/app.js"},
             "response": {"status": 200}},
            token_entry("2026-03-14T09:22:31Z")
        ]));
        let imp = from_str(&text).unwrap();
        assert_eq!(imp.entries, 6);
        assert_eq!(imp.records.len(), 1);
        assert_eq!(imp.skipped.len(), 4, "{:?}", imp.skipped);
        assert!(imp.skipped[0].starts_with("entry 0: expected an object"));
        assert!(imp.skipped[1].contains("entry 1: request.url is missing"));
        assert!(imp.skipped[2].contains("\"soon\" is not a time"));
        assert!(imp.skipped[3].contains("response.status"));
    }

    #[test]
    fn whole_file_errors_say_where() {
        let e = from_str("{\n  \"log\": [1,\n").unwrap_err();
        assert!(matches!(e, ImportError::NotJson { line: 3, .. }), "{e}");
        assert!(e.to_string().starts_with("not JSON at line 3"));
        let e = from_str("[1, 2]").unwrap_err();
        assert!(e.to_string().contains("found an array"), "{e}");
        let e = from_str(r#"{"log": {"version": "1.2"}}"#).unwrap_err();
        assert_eq!(e.to_string(), "not a HAR file: no log.entries array");
        // A BOM (Fiddler, Windows tools) is fine.
        let ok = from_str(&format!("\u{feff}{}", har(json!([])))).unwrap();
        assert_eq!(ok.entries, 0);
    }

    #[test]
    fn params_only_post_data_rebuilds_a_form() {
        let mut e = token_entry("2026-03-14T09:22:31Z");
        e["request"]["postData"] = json!({
            "mimeType": "application/x-www-form-urlencoded",
            "params": [
                {"name": "grant_type", "value": "client_credentials"},
                {"name": "scope", "value": "read:items write:items"},
                {"name": "client_secret", "value": "s3cr%2Bt"},
                {"name": "audience", "value": "https://api.example/"}
            ]
        });
        let imp = from_str(&har(json!([e]))).unwrap();
        let r = &imp.records[0];
        assert_eq!(
            r.request.body.as_text(),
            Some("grant_type=client_credentials&scope=read%3Aitems+write%3Aitems&client_secret=s3cr%2Bt&audience=https%3A%2F%2Fapi.example%2F")
        );
        assert_eq!(r.grant_type.as_deref(), Some("client_credentials"));
    }

    #[test]
    fn redirect_url_becomes_location_and_status_zero_has_no_response() {
        let e = json!({
            "startedDateTime": "2026-03-14T09:22:31Z", "time": -1,
            "request": {"method": "GET", "url": "https://idp/login/resume?rid=1", "headers": []},
            "response": {"status": 302, "headers": [], "content": {"size": 0},
                         "redirectURL": "http://localhost:3000/cb?code=c&state=s"}
        });
        let failed = json!({
            "startedDateTime": "2026-03-14T09:22:32Z",
            "request": {"method": "POST", "url": "https://idp/token",
                        "postData": {"mimeType": "application/x-www-form-urlencoded", "text": "grant_type=authorization_code&code=c"}},
            "response": {"status": 0, "headers": [], "content": {}, "_error": "net::ERR_CONNECTION_REFUSED"}
        });
        let imp = from_str(&har(json!([e, failed]))).unwrap();
        let r = &imp.records[0];
        assert_eq!(r.kind, Kind::AuthorizationResponse);
        assert_eq!(r.duration_ms, 0);
        assert_eq!(
            r.response.as_ref().unwrap().headers.get("location"),
            Some("http://localhost:3000/cb?code=c&state=s")
        );
        let f = &imp.records[1];
        assert!(f.response.is_none());
        assert_eq!(f.error.as_deref(), Some("net::ERR_CONNECTION_REFUSED"));
    }

    #[test]
    fn our_own_export_keeps_ids_times_kinds_and_grant_types() {
        use crate::har::export::{to_har_string, HarOptions};
        let t = time::macros::datetime!(2026-03-14 09:22:31.104 UTC);
        let imp = from_str(&har(json!([token_entry("2026-03-14T09:22:31.104Z")]))).unwrap();
        let mut recs = imp.records;
        recs[0].id = "18a3f2c4d5e6f708".into();
        recs[0].time = t;
        // A kind the classifier would not pick: ours wins.
        recs[0].kind = Kind::Revocation;
        recs[0].grant_type = Some("urn:example:custom".into());
        recs[0].request.body = Body::from_bytes(&[0xde, 0xad, 0xbe, 0xef]);
        let text = to_har_string(&recs, &HarOptions::default());
        let back = from_str(&text).unwrap();
        assert!(back.skipped.is_empty(), "{:?}", back.skipped);
        let r = &back.records[0];
        assert_eq!(r.id, "18a3f2c4d5e6f708");
        assert_eq!(r.time, t);
        assert_eq!(r.kind, Kind::Revocation);
        assert_eq!(r.grant_type.as_deref(), Some("urn:example:custom"));
        assert_eq!(r.request.body.bytes(), vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(r.response, recs[0].response);
        assert_eq!(r.request.headers, recs[0].request.headers);
    }

    #[test]
    fn binary_and_broken_base64_bodies_do_not_panic() {
        let mut e = token_entry("2026-03-14T09:22:31Z");
        e["response"]["content"]["text"] = json!("//79AAE=");
        let mut broken = token_entry("2026-03-14T09:22:32Z");
        broken["response"]["content"]["text"] = json!("not base64 at all!");
        let imp = from_str(&har(json!([e, broken]))).unwrap();
        let b = &imp.records[0].response.as_ref().unwrap().body;
        assert_eq!(b.encoding.as_deref(), Some("base64"));
        assert_eq!(b.bytes(), vec![0xff, 0xfe, 0xfd, 0x00, 0x01]);
        let b = &imp.records[1].response.as_ref().unwrap().body;
        assert_eq!(b.text, "not base64 at all!");
        assert!(b.decode_error.is_some());
    }
}

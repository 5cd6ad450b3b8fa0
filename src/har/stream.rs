//! Reading a HAR file of any size in bounded memory.
//!
//! [`CapStrings`] is a byte-level filter placed between the file and
//! `serde_json`: it follows JSON's lexical structure (inside or outside a
//! string, escapes) and
//! - cuts every string value longer than its limit (in raw JSON bytes) to its
//!   first bytes, appending [`CUT_MARK`] followed by `BYTES:B64` — the decoded
//!   size of the whole string in bytes, and the number of bytes it would
//!   decode to as base64 (RFC 4648 §4 alphabet characters × 6 / 8) — so the
//!   importer can mark the body truncated and give its size;
//! - replaces bytes inside strings that are not UTF-8 with U+FFFD (HAR is
//!   JSON, RFC 8259 §8.1 wants UTF-8; a lossy read beats rejecting the file).
//!
//! Whole-file decoding ([`sniff`]): a UTF-8 BOM is skipped; UTF-16 (with a
//! BOM, or detected by its zero bytes around `{`) is decoded; UTF-32 gets an
//! error naming it.

use std::io::{self, Read};

/// What a cut string ends with: two NULs (escaped, so still valid JSON and
/// never in a real body's text), a tag, then `BYTES:B64`.
pub const CUT_MARK: &str = "\u{0}\u{0}oauthscope:cut:";

/// The escaped form of [`CUT_MARK`] as it is written into the JSON stream.
const CUT_MARK_JSON: &[u8] = b"\\u0000\\u0000oauthscope:cut:";

/// A string cut by [`CapStrings`]: its kept start and what the whole was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut<'a> {
    /// The kept start of the string.
    pub kept: &'a str,
    /// Bytes of the whole string once JSON escapes are decoded.
    pub bytes: u64,
    /// Bytes the whole string decodes to when it is base64.
    pub base64_bytes: u64,
}

/// Split a string that [`CapStrings`] cut into its parts; `None` for any
/// other string.
pub fn cut_of(s: &str) -> Option<Cut<'_>> {
    let (kept, tail) = s.rsplit_once(CUT_MARK)?;
    let (bytes, b64) = tail.split_once(':')?;
    Some(Cut {
        kept,
        bytes: bytes.parse().ok()?,
        base64_bytes: b64.parse().ok()?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Outside,
    InString,
    /// After a backslash.
    Escape,
    /// In `\uXXXX`: hex digits still to come, and the code unit so far.
    Unicode(u8, u32),
}

/// The filter described in the module documentation, over any reader.
pub struct CapStrings<R> {
    inner: R,
    limit: usize,
    state: State,
    /// Raw bytes of the current string passed through so far.
    raw_len: usize,
    /// True once the current string is being cut (bytes dropped).
    cutting: bool,
    /// Decoded bytes and base64 alphabet characters of the current string.
    decoded: u64,
    b64_chars: u64,
    /// A UTF-8 sequence being collected inside a string.
    seq: Vec<u8>,
    seq_need: usize,
    input: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    eof: bool,
}

impl<R: Read> CapStrings<R> {
    /// Strings longer than `limit` raw bytes are cut (see the module docs).
    pub fn new(inner: R, limit: usize) -> CapStrings<R> {
        CapStrings {
            inner,
            limit: limit.max(16),
            state: State::Outside,
            raw_len: 0,
            cutting: false,
            decoded: 0,
            b64_chars: 0,
            seq: Vec::with_capacity(4),
            seq_need: 0,
            input: vec![0; 64 * 1024],
            out: Vec::with_capacity(80 * 1024),
            out_pos: 0,
            eof: false,
        }
    }

    fn emit(&mut self, bytes: &[u8]) {
        if !self.cutting {
            self.out.extend_from_slice(bytes);
            self.raw_len += bytes.len();
        }
    }

    /// Before a byte inside a string: start cutting once past the limit,
    /// at a point outside escapes and UTF-8 sequences.
    fn maybe_start_cut(&mut self) {
        if !self.cutting && self.state == State::InString && self.raw_len >= self.limit {
            self.cutting = true;
        }
    }

    fn flush_bad_seq(&mut self) {
        if !self.seq.is_empty() {
            self.seq.clear();
            self.seq_need = 0;
            self.decoded += 3;
            self.emit("\u{fffd}".as_bytes());
        }
    }

    fn end_string(&mut self) {
        self.flush_bad_seq();
        if self.cutting {
            self.out.extend_from_slice(CUT_MARK_JSON);
            let tail = format!("{}:{}", self.decoded, self.b64_chars * 6 / 8);
            self.out.extend_from_slice(tail.as_bytes());
        }
        self.out.push(b'"');
        self.state = State::Outside;
        self.cutting = false;
        self.raw_len = 0;
    }

    fn byte(&mut self, b: u8) {
        match self.state {
            State::Outside => {
                self.out.push(b);
                if b == b'"' {
                    self.state = State::InString;
                    self.raw_len = 0;
                    self.decoded = 0;
                    self.b64_chars = 0;
                }
            }
            State::InString if self.seq_need > 0 => {
                if (0x80..=0xbf).contains(&b) {
                    self.seq.push(b);
                    if self.seq.len() == self.seq_need {
                        let seq = std::mem::take(&mut self.seq);
                        self.seq_need = 0;
                        if std::str::from_utf8(&seq).is_ok() {
                            self.decoded += seq.len() as u64;
                            self.emit(&seq);
                        } else {
                            self.decoded += 3;
                            self.emit("\u{fffd}".as_bytes());
                        }
                        self.seq = seq;
                        self.seq.clear();
                    }
                } else {
                    self.flush_bad_seq();
                    self.byte(b);
                }
            }
            State::InString => {
                self.maybe_start_cut();
                match b {
                    b'"' => self.end_string(),
                    b'\\' => {
                        self.state = State::Escape;
                        self.emit(&[b]);
                    }
                    0x00..=0x7f => {
                        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
                            self.b64_chars += 1;
                        }
                        self.decoded += 1;
                        self.emit(&[b]);
                    }
                    0xc2..=0xf4 => {
                        self.seq_need = match b {
                            0xc2..=0xdf => 2,
                            0xe0..=0xef => 3,
                            _ => 4,
                        };
                        self.seq.clear();
                        self.seq.push(b);
                    }
                    _ => {
                        self.decoded += 3;
                        self.emit("\u{fffd}".as_bytes());
                    }
                }
            }
            State::Escape => {
                self.emit(&[b]);
                self.state = if b == b'u' {
                    State::Unicode(4, 0)
                } else {
                    self.decoded += 1;
                    if b == b'/' {
                        self.b64_chars += 1;
                    }
                    State::InString
                };
            }
            State::Unicode(left, unit) => {
                self.emit(&[b]);
                let unit = (unit << 4) | (b as char).to_digit(16).unwrap_or(0);
                self.state = if left <= 1 {
                    self.decoded += match unit {
                        0..=0x7f => 1,
                        0x80..=0x7ff => 2,
                        // Each surrogate half counts 2: a pair is 4 bytes.
                        0xd800..=0xdfff => 2,
                        _ => 3,
                    };
                    State::InString
                } else {
                    State::Unicode(left - 1, unit)
                };
            }
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() && !self.eof {
            let n = match self.inner.read(&mut self.input) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
                self.flush_bad_seq();
                break;
            }
            let input = std::mem::take(&mut self.input);
            for &b in &input[..n] {
                self.byte(b);
            }
            self.input = input;
        }
        Ok(())
    }
}

impl<R: Read> Read for CapStrings<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos >= self.out.len() {
            self.fill()?;
        }
        let avail = &self.out[self.out_pos..];
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// The text encoding of a HAR file, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, with `bom` bytes to skip (0 or 3).
    Utf8 {
        /// Length of the byte order mark.
        bom: usize,
    },
    /// UTF-16, little endian when `le`, with `bom` bytes to skip (0 or 2).
    Utf16 {
        /// Little endian.
        le: bool,
        /// Length of the byte order mark.
        bom: usize,
    },
    /// UTF-32 (not read; named in the error).
    Utf32 {
        /// Little endian.
        le: bool,
    },
}

/// The encoding of a file starting with `head` (its first 4 bytes or fewer):
/// byte order marks first (UTF-32 before UTF-16, whose BOM is a prefix of
/// UTF-32 LE's), then the zero bytes ASCII has in UTF-16/32 (RFC 8259 §8.1
/// and RFC 4627 §3's detection).
pub fn sniff(head: &[u8]) -> Encoding {
    match head {
        [0xef, 0xbb, 0xbf, ..] => Encoding::Utf8 { bom: 3 },
        [0xff, 0xfe, 0, 0, ..] => Encoding::Utf32 { le: true },
        [0, 0, 0xfe, 0xff, ..] => Encoding::Utf32 { le: false },
        [0xff, 0xfe, ..] => Encoding::Utf16 { le: true, bom: 2 },
        [0xfe, 0xff, ..] => Encoding::Utf16 { le: false, bom: 2 },
        [a, 0, 0, 0, ..] if *a != 0 => Encoding::Utf32 { le: true },
        [0, 0, 0, a, ..] if *a != 0 => Encoding::Utf32 { le: false },
        [a, 0, ..] if *a != 0 => Encoding::Utf16 { le: true, bom: 0 },
        [0, a, ..] if *a != 0 => Encoding::Utf16 { le: false, bom: 0 },
        _ => Encoding::Utf8 { bom: 0 },
    }
}

/// Decode UTF-16 bytes (BOM already removed); unpaired surrogates and an odd
/// last byte become U+FFFD.
pub fn decode_utf16(bytes: &[u8], le: bool) -> String {
    let units = bytes.chunks(2).map(|c| match c {
        [a, b] if le => u16::from_le_bytes([*a, *b]),
        [a, b] => u16::from_be_bytes([*a, *b]),
        _ => 0xfffd,
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Stream a HAR document's `log.entries` from `r` through [`CapStrings`]
/// (strings cut at `limit` raw bytes), calling `each(index, entry)` for every
/// entry as soon as it is parsed; only one entry is in memory at a time.
/// Returns how many entries there were. Other members are skipped unread.
pub fn for_each_entry<R: Read>(
    r: R,
    limit: usize,
    each: &mut dyn FnMut(usize, serde_json::Value),
) -> Result<usize, super::ImportError> {
    use serde::de::DeserializeSeed as _;
    let reader = io::BufReader::with_capacity(64 * 1024, CapStrings::new(r, limit));
    let mut de = serde_json::Deserializer::from_reader(reader);
    let not_json = |e: serde_json::Error| match e.classify() {
        serde_json::error::Category::Io => super::ImportError::Io(io::Error::other(e.to_string())),
        _ => super::ImportError::NotJson {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        },
    };
    let top = visit::Top { each }.deserialize(&mut de).map_err(not_json)?;
    de.end().map_err(not_json)?;
    match top {
        visit::TopOutcome::NoLog(found) => Err(super::ImportError::NoLog {
            found: found.into(),
        }),
        visit::TopOutcome::Log(None) => Err(super::ImportError::NoEntries),
        visit::TopOutcome::Log(Some(n)) => Ok(n),
    }
}

/// The serde visitors behind [`for_each_entry`]: the top level, `log`, and
/// `entries`, each skipping what it does not need ([`IgnoredAny`]).
mod visit {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;
    use std::fmt;

    pub(super) type Each<'a> = &'a mut dyn FnMut(usize, Value);

    pub(super) enum TopOutcome {
        /// Not an object with `log`: what was found instead.
        NoLog(&'static str),
        /// `log`'s entry count, `None` without an `entries` array.
        Log(Option<usize>),
    }

    macro_rules! scalars {
        ($out:expr) => {
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok($out("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok($out("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok($out("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok($out("a number"))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok($out("a string"))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok($out("null"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok($out("an array"))
            }
        };
    }

    pub(super) struct Top<'a> {
        pub each: Each<'a>,
    }

    impl<'de> DeserializeSeed<'de> for Top<'_> {
        type Value = TopOutcome;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<TopOutcome, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Top<'_> {
        type Value = TopOutcome;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a HAR document")
        }
        scalars!(TopOutcome::NoLog);
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopOutcome, A::Error> {
            let each = self.each;
            let mut log = None;
            while let Some(key) = map.next_key::<String>()? {
                if key == "log" && log.is_none() {
                    log = Some(map.next_value_seed(Log { each: &mut *each })?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(match log {
                Some(n) => TopOutcome::Log(n),
                None => TopOutcome::NoLog("an object without \"log\""),
            })
        }
    }

    struct Log<'a> {
        each: Each<'a>,
    }

    impl<'de> DeserializeSeed<'de> for Log<'_> {
        type Value = Option<usize>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Log<'_> {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a HAR log object")
        }
        scalars!(|_| None);
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<usize>, A::Error> {
            let each = self.each;
            let mut n = None;
            while let Some(key) = map.next_key::<String>()? {
                if key == "entries" && n.is_none() {
                    n = map.next_value_seed(Entries { each: &mut *each })?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(n)
        }
    }

    struct Entries<'a> {
        each: Each<'a>,
    }

    impl<'de> DeserializeSeed<'de> for Entries<'_> {
        type Value = Option<usize>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Entries<'_> {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a HAR entries array")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut i = 0;
            while let Some(e) = seq.next_element::<Value>()? {
                (self.each)(i, e);
                i += 1;
            }
            Ok(Some(i))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(input: &[u8], limit: usize) -> String {
        let mut out = String::new();
        CapStrings::new(input, limit)
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn short_strings_and_structure_pass_unchanged() {
        let doc = r#"{"a": "b\"c\\", "n": [1, 2.5e3, null], "é": "ü\u00e9"}"#;
        assert_eq!(filter(doc.as_bytes(), 64), doc);
    }

    #[test]
    fn long_strings_are_cut_with_their_size_and_stay_json() {
        let body = "x".repeat(1000);
        let doc = format!(r#"{{"text": "{body}", "after": "ok"}}"#);
        let out = filter(doc.as_bytes(), 100);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["after"], "ok");
        let cut = cut_of(v["text"].as_str().unwrap()).unwrap();
        assert_eq!(cut.kept, "x".repeat(100));
        assert_eq!(cut.bytes, 1000);
        assert_eq!(cut.base64_bytes, 750);
        // Escapes are never split and count as what they decode to.
        let doc = format!(r#"["{}"]"#, r"\u00e9\n".repeat(100));
        let v: serde_json::Value = serde_json::from_str(&filter(doc.as_bytes(), 50)).unwrap();
        let cut = cut_of(v[0].as_str().unwrap()).unwrap();
        assert_eq!(cut.bytes, 300);
        assert!(cut.kept.starts_with("é\né\n"));
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        let mut doc = b"[\"a".to_vec();
        doc.extend_from_slice(&[0xff, b'b', 0xc3, b'c', 0xed, 0xa0, 0x80, 0xc3, 0xa9]);
        doc.extend_from_slice(b"\"]");
        let v: serde_json::Value = serde_json::from_str(&filter(&doc, 64)).unwrap();
        assert_eq!(v[0], "a\u{fffd}b\u{fffd}c\u{fffd}é");
    }

    #[test]
    fn encodings_are_recognised() {
        assert_eq!(sniff(b"\xef\xbb\xbf{"), Encoding::Utf8 { bom: 3 });
        assert_eq!(sniff(b"{\"lo"), Encoding::Utf8 { bom: 0 });
        assert_eq!(sniff(b"\xff\xfe{\0"), Encoding::Utf16 { le: true, bom: 2 });
        assert_eq!(sniff(b"\xfe\xff\0{"), Encoding::Utf16 { le: false, bom: 2 });
        assert_eq!(sniff(b"{\0\"\0"), Encoding::Utf16 { le: true, bom: 0 });
        assert_eq!(sniff(b"\xff\xfe\0\0"), Encoding::Utf32 { le: true });
        assert_eq!(sniff(b""), Encoding::Utf8 { bom: 0 });
        let utf16: Vec<u8> = "{\"é\"}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode_utf16(&utf16, true), "{\"é\"}");
    }
}

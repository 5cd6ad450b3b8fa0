//! Pure: request/response parts and bounded body bytes → [`Record`].
//!
//! The proxy tees bodies into a [`Captured`] (at most `limit` bytes kept, the
//! total counted) and hands the parts here; this module decodes
//! `Content-Encoding` for the stored copy (bounded, so a compression bomb
//! cannot blow up memory) and assembles the record. No I/O.

use crate::analyze::classify::Classified;
use crate::record::{new_id, Body, HeaderList, Record, Request, Response};
use std::io::Read;
use time::OffsetDateTime;

/// The start of a body as it streamed past, and how much streamed in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The first bytes (at most the capture limit).
    pub bytes: Vec<u8>,
    /// How many bytes passed in all.
    pub total: u64,
    /// True when `bytes` holds less than `total`.
    pub truncated: bool,
    /// Why the stream ended early (client or server went away), if it did.
    pub interrupted: Option<String>,
}

impl Captured {
    /// A whole body.
    pub fn whole(bytes: Vec<u8>) -> Captured {
        Captured {
            total: bytes.len() as u64,
            bytes,
            truncated: false,
            interrupted: None,
        }
    }
}

/// Decode a stored copy according to `Content-Encoding` (gzip, x-gzip,
/// deflate, br; identity passes). At most `limit` decoded bytes are kept.
/// Returns the decoded bytes, whether they were cut at the limit, and a
/// decode error (in which case the raw bytes are returned).
pub fn decode(headers: &HeaderList, raw: &[u8], limit: usize) -> (Vec<u8>, bool, Option<String>) {
    let encodings: Vec<String> = headers
        .get_all("content-encoding")
        .flat_map(|v| v.split(','))
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != "identity")
        .collect();
    if encodings.is_empty() {
        return (raw.to_vec(), false, None);
    }
    let mut data = raw.to_vec();
    let mut cut = false;
    // Encodings are listed in the order they were applied: undo them in reverse.
    for enc in encodings.iter().rev() {
        let reader: Box<dyn Read> = match enc.as_str() {
            "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&data[..])),
            "deflate" => {
                // "deflate" is zlib-wrapped per RFC 9110, but some servers send raw deflate.
                if data.first().is_some_and(|b| b & 0x0f == 8) {
                    Box::new(flate2::read::ZlibDecoder::new(&data[..]))
                } else {
                    Box::new(flate2::read::DeflateDecoder::new(&data[..]))
                }
            }
            "br" => Box::new(brotli::Decompressor::new(&data[..], 8192)),
            other => {
                return (
                    raw.to_vec(),
                    false,
                    Some(format!(
                        "content-encoding {other:?} is not supported; stored as received"
                    )),
                )
            }
        };
        let mut out = Vec::new();
        let read = reader.take(limit as u64 + 1).read_to_end(&mut out);
        match read {
            Ok(_) => {
                if out.len() > limit {
                    out.truncate(limit);
                    cut = true;
                }
                data = out;
            }
            Err(e) => {
                return (
                    raw.to_vec(),
                    false,
                    Some(format!("could not decode {enc} body: {e}")),
                )
            }
        }
    }
    (data, cut, None)
}

/// Turn a captured body into a stored [`Body`]: decoded when compressed,
/// marked truncated when the capture limit cut it.
pub fn body(headers: &HeaderList, cap: &Captured, limit: usize) -> Body {
    if cap.bytes.is_empty() && cap.total == 0 {
        return Body::default();
    }
    let (bytes, cut, decode_error) = if cap.truncated {
        // A cut compressed stream cannot be decoded reliably: keep it raw.
        let has_encoding = headers
            .get("content-encoding")
            .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
        let err = has_encoding.then(|| {
            "body larger than the capture limit: the compressed start is stored as received"
                .to_string()
        });
        (cap.bytes.clone(), true, err)
    } else {
        decode(headers, &cap.bytes, limit)
    };
    let mut b = Body::from_bytes(&bytes);
    if cut || cap.truncated {
        b.truncated = true;
        b.size = Some(cap.total);
    }
    b.decode_error = decode_error;
    b
}

/// The request half as the proxy saw it (before the body).
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// Method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers in order.
    pub headers: HeaderList,
    /// When the request arrived.
    pub time: OffsetDateTime,
    /// The record id, taken when the request arrived (see [`RequestHead::new`]).
    pub id: String,
}

impl RequestHead {
    /// A request arriving now. Its id is taken now, not when the exchange
    /// completes, so ids (the store's order) follow arrival order even when
    /// a later exchange finishes first.
    pub fn new(method: String, url: String, headers: HeaderList) -> RequestHead {
        let time = OffsetDateTime::now_utc();
        RequestHead {
            method,
            url,
            headers,
            time,
            id: new_id(time),
        }
    }
}

/// The response half as the proxy saw it (before the body).
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// Status code.
    pub status: u16,
    /// Headers in order.
    pub headers: HeaderList,
}

/// Assemble a record. `response` is `None` when the upstream failed, in
/// which case `error` says why.
pub fn record(
    class: &Classified,
    head: &RequestHead,
    request_body: Body,
    response: Option<(ResponseHead, Body)>,
    duration_ms: u64,
    error: Option<String>,
) -> Record {
    let mut rec = Record {
        id: head.id.clone(),
        time: head.time,
        flow: None,
        kind: class.kind,
        grant_type: class.grant_type.clone(),
        request: Request {
            method: head.method.clone(),
            url: head.url.clone(),
            headers: head.headers.clone(),
            body: request_body,
        },
        response: response.map(|(h, body)| Response {
            status: h.status,
            headers: h.headers,
            body,
        }),
        duration_ms,
        error,
        flavour: None,
        annotations: Vec::new(),
    };
    crate::analyze::classify::refine(&mut rec);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn enc(e: &str) -> HeaderList {
        let mut h = HeaderList::default();
        h.push("Content-Encoding", e);
        h
    }

    #[test]
    fn gzip_deflate_and_brotli_are_decoded() {
        let text = br#"{"access_token":"a","token_type":"Bearer"}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decode(&enc("gzip"), &gz, 1 << 20).0, text);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(text).unwrap();
        assert_eq!(
            decode(&enc("deflate"), &z.finish().unwrap(), 1 << 20).0,
            text
        );
        let mut br = Vec::new();
        brotli::CompressorWriter::new(&mut br, 4096, 5, 22)
            .write_all(text)
            .unwrap();
        assert_eq!(decode(&enc("br"), &br, 1 << 20).0, text);
    }

    #[test]
    fn corrupt_and_bomb_bodies_are_bounded_and_explained() {
        let (bytes, cut, err) = decode(&enc("gzip"), b"not gzip at all", 1024);
        assert_eq!(bytes, b"not gzip at all");
        assert!(!cut);
        assert!(err.unwrap().contains("could not decode gzip"));
        let zeros = vec![0u8; 10 << 20];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&zeros).unwrap();
        let gz = gz.finish().unwrap();
        let (bytes, cut, err) = decode(&enc("gzip"), &gz, 4096);
        assert_eq!(bytes.len(), 4096);
        assert!(cut && err.is_none());
        let b = body(&enc("gzip"), &Captured::whole(gz), 4096);
        assert!(b.truncated);
    }

    #[test]
    fn truncated_capture_keeps_the_total_size() {
        let cap = Captured {
            bytes: b"abc".to_vec(),
            total: 10,
            truncated: true,
            interrupted: None,
        };
        let b = body(&HeaderList::default(), &cap, 3);
        assert!(b.truncated);
        assert_eq!(b.size, Some(10));
        assert_eq!(b.text, "abc");
    }
}

//! Byte layouts of the store's keys.

use crate::analyze::correlate::Key;
use time::OffsetDateTime;

/// `tag 0x00 value 0x00` — the prefix of every index entry for `key`.
pub fn index_prefix(key: &Key) -> Vec<u8> {
    let mut v = Vec::with_capacity(key.tag().len() + key.value().len() + 2);
    v.extend_from_slice(key.tag().as_bytes());
    v.push(0);
    v.extend_from_slice(key.value().as_bytes());
    v.push(0);
    v
}

/// `tag 0x00 value 0x00 id(be)`.
pub fn index_key(key: &Key, id: u64) -> Vec<u8> {
    let mut v = index_prefix(key);
    v.extend_from_slice(&id.to_be_bytes());
    v
}

/// `flow 0x00`.
pub fn flow_prefix(flow: &str) -> Vec<u8> {
    let mut v = flow.as_bytes().to_vec();
    v.push(0);
    v
}

/// `flow 0x00 id(be)`.
pub fn flow_index_key(flow: &str, id: u64) -> Vec<u8> {
    let mut v = flow_prefix(flow);
    v.extend_from_slice(&id.to_be_bytes());
    v
}

/// The record id at the end of an index key.
pub fn id_from_index_key(k: &[u8]) -> u64 {
    u64_of(&k[k.len().saturating_sub(8)..])
}

/// A big-endian u64 from (up to) 8 bytes.
pub fn u64_of(b: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = b.len().min(8);
    buf[8 - n..].copy_from_slice(&b[b.len() - n..]);
    u64::from_be_bytes(buf)
}

/// The smallest record key at or after a time (ids are microseconds).
pub fn time_key(t: OffsetDateTime) -> u64 {
    (t.unix_timestamp_nanos() / 1_000).max(0) as u64
}

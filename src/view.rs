//! Text views of records: the live line printed by `run`, the `flows list`
//! table and the `flows show` detail. (Being written.)

use crate::record::Record;

/// One line for the live log: time, kind, method, host+path, status, grant
/// type, flavour and the top annotation.
pub fn live_line(rec: &Record, _color: bool) -> String {
    let status = rec
        .response
        .as_ref()
        .map(|r| r.status.to_string())
        .unwrap_or_else(|| "ERR".into());
    format!(
        "{} {} {} {} {}",
        rec.id, rec.kind, rec.request.method, rec.request.url, status
    )
}

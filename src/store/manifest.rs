//! `store/manifest.json`: how many records the store held at its last
//! flush (at most a second old, exact after `clear` and at shutdown),
//! written beside sled's files by rename so it is never half-written. A
//! store that opens with fewer records than its manifest says is damaged,
//! not empty.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name inside the store directory (sled ignores other names).
pub const FILE: &str = "manifest.json";

/// What the manifest holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Records stored at the time it was written (a lower bound later on).
    pub records: usize,
}

impl Manifest {
    /// What is missing when only `readable` records opened.
    pub fn shortfall(&self, readable: usize) -> Option<String> {
        (readable < self.records).then(|| {
            format!(
                "it held at least {} records and {readable} are readable",
                self.records
            )
        })
    }
}

/// The manifest of the store in `dir`, when there is a readable one.
pub fn read(dir: &Path) -> Option<Manifest> {
    let bytes = std::fs::read(dir.join(FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Write the manifest of the store in `dir` (temp file, then rename).
pub fn write(dir: &Path, records: usize) -> std::io::Result<()> {
    let json = serde_json::to_vec(&Manifest { records }).map_err(std::io::Error::other)?;
    let tmp = dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, dir.join(FILE))
}

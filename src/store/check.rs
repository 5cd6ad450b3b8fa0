//! `oauthscope store check` and `store repair`: what a store's files still
//! hold, and a new store with every record that can be recovered.
//!
//! Two readers: sled over a private copy of the files (never the files
//! themselves, see [`Store::open_read_only`]), and, when sled cannot open
//! the copy or reads fewer records than the store's manifest says it held,
//! a scan of the raw files (`db`, `snap.*`, `blobs/*`) for record JSON
//! (records are stored uncompressed, each one contiguous: a sled message
//! never spans two segments, and a large one is a blob file of its own).

use super::{Store, StoreError};
use crate::record::{id_key, Record};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `store check` found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckReport {
    /// The store directory.
    pub path: PathBuf,
    /// Why sled could not open the store, when it could not.
    pub open_error: Option<String>,
    /// Records sled reads and decodes.
    pub readable: usize,
    /// Ids of records sled holds but that do not decode (damaged bytes).
    pub damaged_records: Vec<String>,
    /// Why sled stopped part-way through the records, when it did.
    pub read_error: Option<String>,
    /// Records the store held at its last flush, from its manifest.
    pub manifest_records: Option<usize>,
    /// Store files that are expected but missing (`db`, `conf`).
    pub missing_files: Vec<String>,
    /// Records found by scanning the raw files (only when sled alone falls
    /// short of the manifest or cannot open the store).
    pub scanned: Option<usize>,
    /// Records `store repair` would write: sled's, plus scanned ones with
    /// ids sled did not return.
    pub recoverable: usize,
}

impl CheckReport {
    /// True when nothing is wrong.
    pub fn is_intact(&self) -> bool {
        self.open_error.is_none()
            && self.damaged_records.is_empty()
            && self.read_error.is_none()
            && self.missing_files.is_empty()
            && self.manifest_records.is_none_or(|m| self.readable >= m)
    }

    /// The report for people, one finding a line.
    pub fn describe(&self) -> String {
        let mut out = format!("store {}\n", self.path.display());
        for f in &self.missing_files {
            out.push_str(&format!("  missing file: {f}\n"));
        }
        if let Some(e) = &self.open_error {
            out.push_str(&format!("  sled cannot open it: {e}\n"));
        }
        if let Some(e) = &self.read_error {
            out.push_str(&format!("  sled stopped reading records: {e}\n"));
        }
        out.push_str(&format!("  readable records: {}\n", self.readable));
        if !self.damaged_records.is_empty() {
            out.push_str(&format!(
                "  damaged records (do not decode): {} ({})\n",
                self.damaged_records.len(),
                self.damaged_records
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(m) = self.manifest_records {
            out.push_str(&format!("  records at the last flush (manifest): {m}\n"));
        }
        if let Some(s) = self.scanned {
            out.push_str(&format!("  records found by scanning the raw files: {s}\n"));
        }
        out.push_str(&format!("  recoverable records: {}\n", self.recoverable));
        if self.is_intact() {
            out.push_str("  intact\n");
        } else {
            out.push_str("  DAMAGED: `oauthscope store repair --to DIR` writes the recoverable records into a new store\n");
        }
        out
    }
}

/// Check the store in `dir` without changing it; also returns the records
/// `repair` would write, oldest first.
pub fn check(dir: &Path) -> Result<(CheckReport, Vec<Record>), StoreError> {
    let mut report = CheckReport {
        path: dir.to_path_buf(),
        manifest_records: super::manifest::read(dir).map(|m| m.records),
        ..CheckReport::default()
    };
    if !dir.exists() {
        return Err(StoreError::NotFound(format!(
            "store directory {}",
            dir.display()
        )));
    }
    for f in ["db", "conf"] {
        if !dir.join(f).exists() {
            report.missing_files.push(f.into());
        }
    }
    let mut found: BTreeMap<u64, Record> = BTreeMap::new();
    match Store::open_read_only(dir) {
        Ok(store) => {
            let read = super::readonly::quietly(|| store.each_raw(&mut found, &mut report));
            match read {
                Ok(Ok(())) => {}
                Ok(Err(e)) => report.read_error = Some(super::readonly::cause(&e)),
                Err(panic) => report.read_error = Some(panic),
            }
        }
        Err(e @ StoreError::Locked { .. }) => return Err(e),
        Err(StoreError::Damaged { what, .. }) => report.open_error = Some(what),
        Err(e) => report.open_error = Some(super::readonly::cause(&e)),
    }
    report.readable = found.len();
    let short = report.open_error.is_some()
        || report.read_error.is_some()
        || !report.damaged_records.is_empty()
        || report.manifest_records.is_some_and(|m| found.len() < m);
    if short {
        let scanned = scan_files(dir);
        report.scanned = Some(scanned.len());
        for (k, r) in scanned {
            found.entry(k).or_insert(r);
        }
    }
    report.recoverable = found.len();
    Ok((report, found.into_values().collect()))
}

/// Write every recoverable record of the store in `from` into a new store
/// in `to` (which must not hold a store yet); `from` is only read. Returns
/// the check report and how many records were written.
pub fn repair(from: &Path, to: &Path) -> Result<(CheckReport, usize), StoreError> {
    if to.join("db").exists() {
        return Err(StoreError::Damaged {
            path: to.to_path_buf(),
            what: "the target already holds a store; repair writes a new one (give an empty or new directory)".into(),
        });
    }
    let (report, records) = check(from)?;
    let target = Store::open(to)?;
    for r in &records {
        target.insert(r)?;
    }
    target.flush()?;
    target.restrict_permissions();
    Ok((report, records.len()))
}

impl Store {
    /// Every record sled holds, decoded or noted as damaged in `report`.
    fn each_raw(
        &self,
        found: &mut BTreeMap<u64, Record>,
        report: &mut CheckReport,
    ) -> Result<(), StoreError> {
        let t = self.t()?;
        for item in t.records.iter() {
            let (k, v) = item.map_err(|e| self.sled(e))?;
            let key = super::keys::u64_of(&k);
            match self.decode(key, &v) {
                Ok(r) => {
                    found.insert(key, r);
                }
                Err(_) => report.damaged_records.push(crate::record::format_id(key)),
            }
        }
        Ok(())
    }
}

/// Records found in the raw files of a store: every place a record's JSON
/// starts (`{"id":"`) that parses as a whole record with a valid id.
fn scan_files(dir: &Path) -> BTreeMap<u64, Record> {
    let mut out = BTreeMap::new();
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    const START: &[u8] = b"{\"id\":\"";
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let mut pos = 0;
        while let Some(off) = find(&bytes[pos..], START) {
            let at = pos + off;
            pos = at + 1;
            let mut it = serde_json::Deserializer::from_slice(&bytes[at..]).into_iter::<Record>();
            if let Some(Ok(r)) = it.next() {
                if let Some(k) = id_key(&r.id) {
                    out.entry(k).or_insert(r);
                }
            }
        }
    }
    out
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => collect_files(&p, out),
            Ok(t)
                if t.is_file()
                    && p.file_name().and_then(|n| n.to_str()) != Some(super::manifest::FILE) =>
            {
                out.push(p)
            }
            _ => {}
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

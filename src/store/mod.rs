//! The capture store: the only module that knows sled.
//!
//! Layout (one sled database under `HOME/store/`):
//! - tree `records`: big-endian `u64` id key (microseconds, time-ordered) → record JSON;
//! - tree `by_key`: `tag 0x00 value 0x00 id` → the record's flow id for every correlation key
//!   ([`Key`]: `state`, `code`, `refresh_token`) a record carries;
//! - tree `by_flow`: `flow 0x00 id` → `[]`;
//! - tree `meta`: `format_version` → [`RECORD_FORMAT_VERSION`] (big-endian `u32`),
//!   `lost` → exchanges lost over the store's life (big-endian `u64`, see [`Health`]);
//! - file `manifest.json` beside sled's files: the record count at the last flush
//!   (see `manifest.rs`), so a damaged store is told from an empty one.
//!
//! Read-only commands open a private copy ([`Store::open_read_only`]); sled
//! failures on damaged files (errors and panics) become [`StoreError::Damaged`];
//! [`check`] reports and repairs into a new store. After a failed write (a
//! full disk) sled refuses every later one: [`Store::reopen`] starts it again.
//!
//! Iterating `records` is time order. Callers flush with [`Store::flush_async`]
//! after each stored exchange; sled also flushes every 500 ms and on drop.

pub mod check;
pub mod health;
mod keys;
mod manifest;
mod readonly;

pub use health::Health;

/// Run a read of the store, turning a panic inside sled (some damaged
/// files make it panic) into `Err(message)` without printing it.
pub fn read_guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    readonly::quietly(f)
}

use crate::analyze::correlate::{self, Key};
use crate::record::{id_key, Kind, Record, RECORD_FORMAT_VERSION};
use keys::{flow_index_key, id_from_index_key, index_key, index_prefix};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// `meta` key of the count of exchanges lost over the store's life (big-endian `u64`).
const LOST_KEY: &str = "lost";

/// Free space (bytes) left untouched on the store's filesystem: a write that
/// would leave less fails with [`StoreError::Full`] before sled sees it.
/// sled 0.34 does not recover from a write that fails for lack of space (it
/// can hang on its next flush or when closed), so it is never let near a
/// full disk; the reserve covers its log segment (512 KiB), snapshots and
/// index pages.
pub const RESERVE: u64 = 2 * 1024 * 1024;

/// sled's page cache size: captures are small, so keep memory low (sled's default is 1 GiB).
const CACHE_CAPACITY: u64 = 16 * 1024 * 1024;

/// Errors from the store, with the path or id they concern.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (usually a running `oauthscope run`) holds the store.
    #[error("the store at {} is in use by another oauthscope process", path.display())]
    Locked {
        /// Store directory.
        path: PathBuf,
    },
    /// sled failed.
    #[error("store error at {}: {source}", path.display())]
    Sled {
        /// Store directory.
        path: PathBuf,
        /// The sled error.
        source: sled::Error,
    },
    /// The store was written by a newer oauthscope.
    #[error("the store at {} has record format {found}; this oauthscope reads up to {RECORD_FORMAT_VERSION} (upgrade oauthscope or use another --home)", path.display())]
    NewerFormat {
        /// Store directory.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// A record could not be encoded or decoded.
    #[error("record {id} could not be (de)serialised: {source}")]
    Corrupt {
        /// Record id.
        id: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The record's id is not a time-ordered id made by [`crate::record::new_id`].
    #[error("record id {0:?} is not a 16-hex-digit time-ordered id")]
    BadId(String),
    /// The store's files are damaged: sled cannot open them, or a file is missing.
    #[error("the store at {} is damaged: {what}; `oauthscope store check` says what is readable and `oauthscope store repair --to DIR` copies it into a new store", path.display())]
    Damaged {
        /// Store directory.
        path: PathBuf,
        /// What is damaged.
        what: String,
    },
    /// Too little free space to write safely (see [`RESERVE`]); nothing was written.
    #[error("the disk holding {} is full: {free} bytes free, {needed} needed (oauthscope keeps {RESERVE} bytes free)", path.display())]
    Full {
        /// Store directory.
        path: PathBuf,
        /// Bytes free for this user.
        free: u64,
        /// Bytes this write needs, with the reserve.
        needed: u64,
    },
    /// The store is being reopened after a failed write (a full disk).
    #[error("the store at {} is being reopened after a failed write; try again", path.display())]
    Unavailable {
        /// Store directory.
        path: PathBuf,
    },
    /// A read-only store (a copy) was asked to change.
    #[error("the store at {} was opened read-only", path.display())]
    ReadOnly {
        /// Store directory.
        path: PathBuf,
    },
    /// No record has this id.
    #[error("no exchange with id {0} (see `oauthscope flows list`)")]
    NotFound(String),
    /// The id prefix matches more than one record.
    #[error("id {0} matches {1} exchanges; give more characters")]
    Ambiguous(String, usize),
}

/// Which records to return (all fields optional; all given ones must match).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Only this flow.
    pub flow: Option<String>,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only records at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only records before this time.
    pub before: Option<OffsetDateTime>,
    /// Only records whose id sorts after this one (exclusive; 16 hex digits).
    pub after_id: Option<String>,
    /// Only records whose id sorts before this one (exclusive; 16 hex digits).
    pub before_id: Option<String>,
    /// At most this many records (the first ones in the order asked for).
    pub limit: Option<usize>,
    /// Newest first instead of oldest first (with `limit`: the latest records).
    pub newest_first: bool,
}

impl Query {
    /// Does the record match every given condition?
    pub fn matches(&self, r: &Record) -> bool {
        self.flow
            .as_ref()
            .is_none_or(|f| r.flow.as_ref() == Some(f))
            && self.kind.is_none_or(|k| r.kind == k)
            && self.since.is_none_or(|t| r.time >= t)
            && self.before.is_none_or(|t| r.time < t)
            && self.after_id.as_deref().is_none_or(|a| r.id.as_str() > a)
            && self.before_id.as_deref().is_none_or(|b| r.id.as_str() < b)
    }

    /// The id keys the query can cover, as a half-open range `[lo, hi)`:
    /// ids are microseconds, so time bounds narrow it too.
    fn key_range(&self) -> (u64, u64) {
        let mut lo = self.since.map(keys::time_key).unwrap_or(0);
        if let Some(a) = self.after_id.as_deref().and_then(id_key) {
            lo = lo.max(a.saturating_add(1));
        }
        let mut hi = u64::MAX;
        if let Some(b) = self.before_id.as_deref().and_then(id_key) {
            hi = hi.min(b);
        }
        if let Some(t) = self.before {
            // Ids are bumped past their time when several arrive in the same
            // microsecond, so the time bound alone is checked by `matches`.
            hi = hi.min(keys::time_key(t).saturating_add(1_000_000));
        }
        (lo, hi.max(lo))
    }
}

/// The sled database and its trees; replaced as a whole by [`Store::reopen`].
struct Trees {
    db: sled::Db,
    records: sled::Tree,
    by_key: sled::Tree,
    by_flow: sled::Tree,
    meta: sled::Tree,
}

/// An open store.
pub struct Store {
    path: PathBuf,
    /// `None` between a failed write's [`Store::reopen`] closing sled and
    /// opening it again.
    trees: std::sync::RwLock<Option<std::sync::Arc<Trees>>>,
    /// How many records are stored: counted once at open (sled's `len` is
    /// a full scan), then kept up to date by insert and remove.
    count: std::sync::atomic::AtomicUsize,
    /// Write failures and losses, shared with the recorder, the API and the web UI.
    health: health::HealthCounts,
    /// When the manifest was last written (see [`manifest`]).
    manifest_written: std::sync::Mutex<Option<(std::time::Instant, usize)>>,
    /// What is known to be damaged (set at open; see [`Store::damage`]).
    damage: Option<String>,
    /// For a read-only store: the private copy sled opened (removed on drop,
    /// after `trees`).
    snapshot: Option<tempfile::TempDir>,
    /// A sled write failed: sled may hang when flushed or closed, so it is
    /// never closed normally again (see [`Store::reopen`] and `Drop`).
    wedged: std::sync::atomic::AtomicBool,
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.wedged.load(std::sync::atomic::Ordering::Relaxed) {
            // Closing would flush, and sled can wait forever for a write that failed.
            let trees = self
                .trees
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            std::mem::forget(trees);
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Bytes free for an unprivileged user on the filesystem holding `dir`
/// (`statvfs`); `None` where it cannot be told.
fn free_space(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs writes into the zeroed struct we own; `c` is a valid C string.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
            return None;
        }
        Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// How long [`Store::open`] waits for a lock that may be its own process's,
/// still held by a just-closed store's background threads.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// Open sled in `at` (the store itself, or a read-only copy of `origin`)
/// and its trees; check the record format.
fn open_trees(at: &Path, origin: &Path) -> Result<Trees, StoreError> {
    let path = origin.to_path_buf();
    let sled_err = |source: sled::Error| match &source {
        sled::Error::Io(e)
            if e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("lock") =>
        {
            StoreError::Locked { path: path.clone() }
        }
        _ => StoreError::Sled {
            path: path.clone(),
            source,
        },
    };
    let db = sled::Config::new()
        .path(at)
        .cache_capacity(CACHE_CAPACITY)
        .open()
        .map_err(sled_err)?;
    let meta = db.open_tree("meta").map_err(sled_err)?;
    match meta.get("format_version").map_err(sled_err)? {
        Some(v) if v.len() == 4 => {
            let found = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
            if found > RECORD_FORMAT_VERSION {
                return Err(StoreError::NewerFormat { path, found });
            }
        }
        _ => {
            meta.insert("format_version", &RECORD_FORMAT_VERSION.to_be_bytes())
                .map_err(sled_err)?;
        }
    }
    Ok(Trees {
        records: db.open_tree("records").map_err(sled_err)?,
        by_key: db.open_tree("by_key").map_err(sled_err)?,
        by_flow: db.open_tree("by_flow").map_err(sled_err)?,
        meta,
        db,
    })
}

impl Store {
    /// Open (creating) the store in `dir`. Fails with [`StoreError::Locked`]
    /// when another process has it open, and with [`StoreError::Damaged`]
    /// when sled cannot read it or it holds fewer records than its manifest
    /// says (writing into it would bury what is left: `store repair` first).
    /// The directory (and a missing data directory above it) is created
    /// owner-only (0700) whatever the umask.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        crate::home::create_private_dir(dir).map_err(|e| StoreError::Sled {
            path: dir.to_path_buf(),
            source: sled::Error::Io(e),
        })?;
        // sled releases its file lock only when the last of its background
        // threads (flusher, I/O pool) lets go of the database, a moment after
        // the `Db` itself is dropped: a store closed and reopened in one
        // process can see its own lock. Wait a little before calling it
        // held by someone else.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let opened = loop {
            let attempt = readonly::quietly(|| {
                let trees = open_trees(dir, dir)?;
                let count = trees.records.len();
                Ok::<_, StoreError>((trees, count))
            });
            match attempt {
                Ok(Err(StoreError::Locked { .. })) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                other => break other,
            }
        };
        let (trees, count) = match opened {
            Ok(opened) => opened?,
            Err(panic) => {
                return Err(StoreError::Damaged {
                    path: dir.to_path_buf(),
                    what: format!("sled failed reading it ({panic})"),
                })
            }
        };
        // Captures hold live secrets: the store is readable by its owner only.
        crate::home::make_private(dir);
        let lost_earlier = trees
            .meta
            .get(LOST_KEY)
            .ok()
            .flatten()
            .map(|v| keys::u64_of(&v))
            .unwrap_or(0);
        let damage = manifest::read(dir).and_then(|m| m.shortfall(count));
        if let Some(what) = damage {
            // Writing into it would bury what is left: repair it first.
            return Err(StoreError::Damaged {
                path: dir.to_path_buf(),
                what,
            });
        }
        Ok(Store {
            path: dir.to_path_buf(),
            trees: std::sync::RwLock::new(Some(std::sync::Arc::new(trees))),
            count: std::sync::atomic::AtomicUsize::new(count),
            health: health::HealthCounts::new(lost_earlier),
            manifest_written: std::sync::Mutex::new(None),
            damage: None,
            snapshot: None,
            wedged: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Open the store in `dir` for reading only, without changing a byte of
    /// it: sled always writes when it opens (recovery, snapshots, removing
    /// blob files it cannot account for), so this copies the store into a
    /// private temporary directory and opens the copy (removed on drop).
    /// Holds no lock on `dir`, so `run` can start meanwhile.
    ///
    /// A missing store reads as empty (and is not created). Fails with
    /// [`StoreError::Locked`] when a process holds the store (read it
    /// through that process's API instead), and with [`StoreError::Damaged`]
    /// when sled cannot open it; a store that opens with fewer records than
    /// its manifest says it held opens, and [`Store::damage`] says so.
    pub fn open_read_only(dir: &Path) -> Result<Store, StoreError> {
        let copy = tempfile::Builder::new()
            .prefix("oauthscope-read-")
            .tempdir()
            .map_err(|e| StoreError::Sled {
                path: dir.to_path_buf(),
                source: sled::Error::Io(e),
            })?;
        match Self::open_copy(dir, copy) {
            // The temporary directory's filesystem may be too small for the
            // copy: try beside the store (the data directory), then give up.
            Err(StoreError::Sled {
                source: sled::Error::Io(e),
                ..
            }) if e.raw_os_error() == Some(libc::ENOSPC) => {
                let beside = dir.parent().unwrap_or(dir);
                let copy = tempfile::Builder::new()
                    .prefix(".oauthscope-read-")
                    .tempdir_in(beside)
                    .map_err(|e| StoreError::Sled {
                        path: dir.to_path_buf(),
                        source: sled::Error::Io(e),
                    })?;
                Self::open_copy(dir, copy)
            }
            other => other,
        }
    }

    /// [`Store::open_read_only`] into the temporary directory `copy`.
    fn open_copy(dir: &Path, copy: tempfile::TempDir) -> Result<Store, StoreError> {
        let target = copy.path().join("store");
        let has_files = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
        let manifest = manifest::read(dir);
        if has_files && !dir.join("db").exists() {
            return Err(StoreError::Damaged {
                path: dir.to_path_buf(),
                what: match manifest.as_ref() {
                    Some(m) => format!(
                        "its database file (db) is missing, and it held at least {} records",
                        m.records
                    ),
                    None => "its database file (db) is missing".into(),
                },
            });
        }
        if has_files {
            if readonly::is_locked(dir) {
                return Err(StoreError::Locked {
                    path: dir.to_path_buf(),
                });
            }
            readonly::copy_dir(dir, &target).map_err(|e| StoreError::Sled {
                path: dir.to_path_buf(),
                source: sled::Error::Io(e),
            })?;
            if readonly::is_locked(dir) {
                // `run` started while we copied: ask it instead.
                return Err(StoreError::Locked {
                    path: dir.to_path_buf(),
                });
            }
        }
        let opened = readonly::quietly(|| {
            let trees = open_trees(&target, dir)?;
            let count = trees.records.len();
            Ok::<_, StoreError>((trees, count))
        });
        let (trees, count) = match opened {
            Ok(Ok(v)) => v,
            Ok(Err(e @ StoreError::NewerFormat { .. })) => return Err(e),
            Ok(Err(e)) => {
                return Err(StoreError::Damaged {
                    path: dir.to_path_buf(),
                    what: format!("sled cannot open it ({})", readonly::cause(&e)),
                })
            }
            Err(panic) => {
                return Err(StoreError::Damaged {
                    path: dir.to_path_buf(),
                    what: format!("sled failed reading it ({panic})"),
                })
            }
        };
        let lost_earlier = trees
            .meta
            .get(LOST_KEY)
            .ok()
            .flatten()
            .map(|v| keys::u64_of(&v))
            .unwrap_or(0);
        let damage = manifest.and_then(|m| m.shortfall(count));
        Ok(Store {
            path: dir.to_path_buf(),
            trees: std::sync::RwLock::new(Some(std::sync::Arc::new(trees))),
            count: std::sync::atomic::AtomicUsize::new(count),
            health: health::HealthCounts::new(lost_earlier),
            manifest_written: std::sync::Mutex::new(None),
            damage,
            snapshot: Some(copy),
            wedged: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// True after a sled write failed (I/O error): [`Store::reopen`] is
    /// needed before writing again.
    pub fn is_wedged(&self) -> bool {
        self.wedged.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// True for a store opened with [`Store::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.snapshot.is_some()
    }

    /// What is known to be damaged, when the store opened with fewer records
    /// than its manifest says it held: e.g. "it held at least 303 records,
    /// 0 are readable". `None` for an intact store (or one without manifest).
    pub fn damage(&self) -> Option<&str> {
        self.damage.as_deref()
    }

    /// Write failures and exchanges lost (see [`Health`]).
    pub fn health(&self) -> Health {
        let mut h = self.health.snapshot();
        h.damage = self.damage.clone();
        h
    }

    /// The counters the recorder updates (see [`health::HealthCounts`]).
    pub fn health_counts(&self) -> &health::HealthCounts {
        &self.health
    }

    /// Close sled and open the store again: after a failed write (a full
    /// disk) sled refuses every later write until reopened. Records that
    /// were not flushed before the failure may be gone afterwards; the
    /// caller writes them again. Fails (and leaves the store closed, to be
    /// retried) while sled cannot open it, e.g. while the disk is still full
    /// or another handle is still in use.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let mut guard = self.trees.write().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = guard.take() {
            match std::sync::Arc::try_unwrap(old) {
                Ok(t) => {
                    // sled may wait forever closing a database whose write
                    // failed: close it on a thread of its own, for a while.
                    let (tx, rx) = std::sync::mpsc::channel();
                    let closing = std::thread::Builder::new()
                        .name("oauthscope-close".into())
                        .spawn(move || {
                            drop(t);
                            let _ = tx.send(());
                        });
                    let closed = closing.is_ok()
                        && rx.recv_timeout(std::time::Duration::from_secs(2)).is_ok();
                    if !closed {
                        tracing::warn!(
                            "sled did not close the store at {} after a failed write; it stays closed until oauthscope restarts",
                            self.path.display()
                        );
                    }
                }
                Err(shared) => {
                    // A reader still holds it: try again later.
                    *guard = Some(shared);
                    return Err(StoreError::Unavailable {
                        path: self.path.clone(),
                    });
                }
            }
        }
        let trees = open_trees(&self.path, &self.path)?;
        self.count
            .store(trees.records.len(), std::sync::atomic::Ordering::Relaxed);
        *guard = Some(std::sync::Arc::new(trees));
        self.wedged
            .store(false, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Add `lost` to the count of exchanges lost over the store's life
    /// (kept in the store, shown by `flows list` and the web UI).
    pub fn persist_lost(&self) -> Result<(), StoreError> {
        let total = self.health.lost_total();
        let t = self.t()?;
        t.meta
            .insert(LOST_KEY, &total.to_be_bytes())
            .map_err(|e| self.sled(e))?;
        Ok(())
    }

    fn t(&self) -> Result<std::sync::Arc<Trees>, StoreError> {
        self.trees
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| StoreError::Unavailable {
                path: self.path.clone(),
            })
    }

    /// Write the manifest (record count) after a flush: always when `force`,
    /// else at most once a second and only when the count changed.
    /// `n` is the count taken before the flush began, so the manifest never
    /// counts a record the flush may not have covered (no false alarm after
    /// a crash).
    fn note_manifest(&self, force: bool, n: usize) {
        if self.snapshot.is_some() {
            return;
        }
        let mut last = self
            .manifest_written
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let due = match *last {
            None => true,
            Some((at, count)) => count != n && (force || at.elapsed().as_secs() >= 1),
        };
        if due {
            match manifest::write(&self.path, n) {
                Ok(()) => *last = Some((std::time::Instant::now(), n)),
                Err(e) => tracing::debug!("cannot write the store's manifest: {e}"),
            }
        }
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Is there room for `bytes` more (three times over: the record, its
    /// index entries and sled's rewrites of them) with [`RESERVE`] left?
    fn check_room(&self, bytes: u64) -> Result<(), StoreError> {
        let Some(free) = free_space(&self.path) else {
            return Ok(());
        };
        let needed = RESERVE + bytes.saturating_mul(3);
        if free < needed {
            return Err(StoreError::Full {
                path: self.path.clone(),
                free,
                needed,
            });
        }
        Ok(())
    }

    fn sled(&self, source: sled::Error) -> StoreError {
        if matches!(source, sled::Error::Io(_)) {
            self.wedged
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        StoreError::Sled {
            path: self.path.clone(),
            source,
        }
    }

    /// Store a record (replacing one with the same id) and index it by flow
    /// and by its correlation keys.
    pub fn insert(&self, rec: &Record) -> Result<(), StoreError> {
        self.insert_with_keys(rec, &correlate::keys(rec))
    }

    /// Store a freshly captured exchange: its flow is that of the earliest
    /// stored record sharing a correlation key, else its own id. The keys
    /// are computed once for both the lookup and the index.
    pub fn insert_new(&self, rec: &mut Record) -> Result<(), StoreError> {
        let keys = correlate::keys(rec);
        let flow = self.flow_for(&keys)?;
        rec.flow = Some(flow.unwrap_or_else(|| rec.id.clone()));
        self.insert_with_keys(rec, &keys)
    }

    fn insert_with_keys(&self, rec: &Record, keys: &[Key]) -> Result<(), StoreError> {
        let t = self.t()?;
        let key = id_key(&rec.id).ok_or_else(|| StoreError::BadId(rec.id.clone()))?;
        let json = serde_json::to_vec(rec).map_err(|source| StoreError::Corrupt {
            id: rec.id.clone(),
            source,
        })?;
        self.check_room(json.len() as u64)?;
        let replaced = t
            .records
            .insert(key.to_be_bytes(), json)
            .map_err(|e| self.sled(e))?;
        match replaced {
            Some(old) => {
                // Replacing a record: its old index entries go first.
                if let Ok(old) = self.decode(key, &old) {
                    self.remove_index_entries(&old, key)?;
                }
            }
            None => {
                self.count
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        // The index value is the record's flow, so finding the flow of a new
        // exchange reads one index entry, never a record.
        let flow = rec.flow.as_deref().unwrap_or("").as_bytes();
        for k in keys {
            t.by_key
                .insert(index_key(k, key), flow)
                .map_err(|e| self.sled(e))?;
        }
        if let Some(flow) = &rec.flow {
            t.by_flow
                .insert(flow_index_key(flow, key), &[])
                .map_err(|e| self.sled(e))?;
        }
        Ok(())
    }

    fn remove_index_entries(&self, old: &Record, key: u64) -> Result<(), StoreError> {
        let t = self.t()?;
        for k in correlate::keys(old) {
            t.by_key
                .remove(index_key(&k, key))
                .map_err(|e| self.sled(e))?;
        }
        if let Some(flow) = &old.flow {
            t.by_flow
                .remove(flow_index_key(flow, key))
                .map_err(|e| self.sled(e))?;
        }
        Ok(())
    }

    /// Flush everything written so far to disk.
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        if self.is_wedged() {
            // sled can wait forever flushing after a failed write.
            return Err(StoreError::Unavailable {
                path: self.path.clone(),
            });
        }
        let t = self.t()?;
        let n = self.len();
        t.db.flush_async().await.map_err(|e| self.sled(e))?;
        self.note_manifest(false, n);
        Ok(())
    }

    /// Flush synchronously (shutdown paths without a runtime).
    pub fn flush(&self) -> Result<(), StoreError> {
        if self.is_wedged() {
            // sled can wait forever flushing after a failed write.
            return Err(StoreError::Unavailable {
                path: self.path.clone(),
            });
        }
        let t = self.t()?;
        let n = self.len();
        t.db.flush().map_err(|e| self.sled(e))?;
        self.note_manifest(true, n);
        Ok(())
    }

    /// Make every file sled created since [`Store::open`] owner-only again
    /// (directories 0700, files 0600); call after a long run, before exit.
    pub fn restrict_permissions(&self) {
        crate::home::make_private(&self.path);
    }

    fn decode(&self, key: u64, bytes: &[u8]) -> Result<Record, StoreError> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
            id: format!("{key:016x}"),
            source,
        })
    }

    fn get_key(&self, key: u64) -> Result<Option<Record>, StoreError> {
        let t = self.t()?;
        match t.records.get(key.to_be_bytes()).map_err(|e| self.sled(e))? {
            Some(v) => Ok(Some(self.decode(key, &v)?)),
            None => Ok(None),
        }
    }

    /// One record by its id, or by a unique prefix or suffix of it.
    pub fn get(&self, id: &str) -> Result<Record, StoreError> {
        let t = self.t()?;
        let id = id.trim().to_ascii_lowercase();
        if let Some(key) = id_key(&id) {
            if let Some(r) = self.get_key(key)? {
                return Ok(r);
            }
        }
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::NotFound(id));
        }
        let mut found = Vec::new();
        for k in t.records.iter().keys() {
            let k = keys::u64_of(&k.map_err(|e| self.sled(e))?);
            let hex = format!("{k:016x}");
            if hex.starts_with(&id) || hex.ends_with(&id) {
                found.push(k);
            }
        }
        match found.as_slice() {
            [] => Err(StoreError::NotFound(id)),
            [k] => self.get_key(*k)?.ok_or(StoreError::NotFound(id)),
            many => Err(StoreError::Ambiguous(id, many.len())),
        }
    }

    /// Records matching the query, oldest first.
    pub fn query(&self, q: &Query) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        self.query_each(q, |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    /// Call `f` with each record matching the query, oldest first (newest
    /// first with [`Query::newest_first`]), without collecting them: memory
    /// stays at one record whatever the store holds. With a flow, only that
    /// flow's index entries are read (cost proportional to what is returned,
    /// plus a `log n` seek). A record that cannot be decoded is skipped with a
    /// warning, so one damaged record never hides the rest.
    pub fn query_each(
        &self,
        q: &Query,
        mut f: impl FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let t = self.t()?;
        let (lo, hi) = q.key_range();
        let limit = q.limit.unwrap_or(usize::MAX);
        if limit == 0 || lo >= hi {
            return Ok(());
        }
        let mut sent = 0usize;
        let mut visit = |key: u64, bytes: &[u8]| -> Result<bool, StoreError> {
            match self.decode(key, bytes) {
                Ok(r) if q.matches(&r) => {
                    f(r)?;
                    sent += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("skipping a damaged record in {}: {e}", self.path.display())
                }
            }
            Ok(sent < limit)
        };
        if let Some(flow) = &q.flow {
            let start = flow_index_key(flow, lo);
            let end = flow_index_key(flow, hi);
            let mut iter = t.by_flow.range(start..end).keys();
            loop {
                let next = if q.newest_first {
                    iter.next_back()
                } else {
                    iter.next()
                };
                let Some(k) = next else { break };
                let key = id_from_index_key(&k.map_err(|e| self.sled(e))?);
                let Some(bytes) = t.records.get(key.to_be_bytes()).map_err(|e| self.sled(e))?
                else {
                    continue;
                };
                if !visit(key, &bytes)? {
                    break;
                }
            }
            return Ok(());
        }
        let mut iter = t.records.range(lo.to_be_bytes()..hi.to_be_bytes());
        loop {
            let next = if q.newest_first {
                iter.next_back()
            } else {
                iter.next()
            };
            let Some(item) = next else { break };
            let (k, v) = item.map_err(|e| self.sled(e))?;
            if !visit(keys::u64_of(&k), &v)? {
                break;
            }
        }
        Ok(())
    }

    /// Call `f` with each record whose id key is below `before` (all when
    /// `None`), newest first, until `f` returns `Ok(false)` (paged listings:
    /// the web UI reads one page without touching older records).
    pub fn each_newest_first(
        &self,
        before: Option<u64>,
        mut f: impl FnMut(Record) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let t = self.t()?;
        let end = before.unwrap_or(u64::MAX);
        for item in t.records.range(..end.to_be_bytes()).rev() {
            let (k, v) = item.map_err(|e| self.sled(e))?;
            match self.decode(keys::u64_of(&k), &v) {
                Ok(r) => {
                    if !f(r)? {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!("skipping a damaged record in {}: {e}", self.path.display())
                }
            }
        }
        Ok(())
    }

    /// How many records are stored.
    pub fn len(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records carrying this correlation key, oldest first.
    pub fn by_key(&self, key: &Key) -> Result<Vec<Record>, StoreError> {
        let t = self.t()?;
        let mut out = Vec::new();
        for k in t.by_key.scan_prefix(index_prefix(key)).keys() {
            let k = k.map_err(|e| self.sled(e))?;
            if let Some(r) = self.get_key(id_from_index_key(&k))? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The flow of the earliest stored record sharing one of these keys.
    pub fn flow_for(&self, keys: &[Key]) -> Result<Option<String>, StoreError> {
        let t = self.t()?;
        // Index keys end in the big-endian id: the first entry under each
        // key is its earliest record, and only the overall earliest is read.
        // The entry's value is that record's flow (empty in stores written
        // before it was kept there: then the record itself is read).
        let mut earliest: Option<(u64, sled::IVec)> = None;
        for k in keys {
            if let Some(first) = t.by_key.scan_prefix(index_prefix(k)).next() {
                let (ikey, flow) = first.map_err(|e| self.sled(e))?;
                let id = id_from_index_key(&ikey);
                if earliest.as_ref().is_none_or(|(e, _)| id < *e) {
                    earliest = Some((id, flow));
                }
            }
        }
        Ok(match earliest {
            Some((_, flow)) if !flow.is_empty() => {
                Some(String::from_utf8_lossy(&flow).into_owned())
            }
            Some((id, _)) => self.get_key(id)?.map(|r| r.flow.unwrap_or(r.id)),
            None => None,
        })
    }

    fn remove_ids(&self, ids: &[u64]) -> Result<(), StoreError> {
        let t = self.t()?;
        for &key in ids {
            let old = match self.get_key(key) {
                Ok(old) => old,
                // A damaged record has no readable keys: drop the record alone.
                Err(StoreError::Corrupt { .. }) => None,
                Err(e) => return Err(e),
            };
            if let Some(old) = old {
                self.remove_index_entries(&old, key)?;
            }
            if t.records
                .remove(key.to_be_bytes())
                .map_err(|e| self.sled(e))?
                .is_some()
            {
                self.count
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Remove the records matching the query; returns how many were removed.
    /// Only the ids are held in memory (8 bytes a record).
    pub fn clear(&self, q: &Query) -> Result<usize, StoreError> {
        if self.is_read_only() {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
            });
        }
        let t = self.t()?;
        let mut ids: Vec<u64> = Vec::new();
        self.query_each(q, |r| {
            ids.extend(id_key(&r.id));
            Ok(())
        })?;
        self.remove_ids(&ids)?;
        let n = self.len();
        t.db.flush().map_err(|e| self.sled(e))?;
        self.note_manifest(true, n);
        Ok(ids.len())
    }
}

#[cfg(test)]
mod tests;

//! The capture store: the only module that knows sled. (Being written.)
//!
//! Planned API (stable; callers can code against it):
//! `Store::open(dir)`, `insert(&Record)`, `flush_async().await`, `get(id)`,
//! `query(&Query)`, `flow_for(&[Key])`, `clear(&Query)`.

use crate::analyze::correlate::Key;
use crate::record::{Kind, Record};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Errors from the store, with the path or id they concern.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (usually a running `oauthscope run`) holds the store.
    #[error("the store at {path} is in use by another oauthscope process")]
    Locked {
        /// Store directory.
        path: PathBuf,
    },
    /// sled failed.
    #[error("store error at {path}: {source}")]
    Sled {
        /// Store directory.
        path: PathBuf,
        /// The sled error.
        source: sled::Error,
    },
    /// A stored record could not be decoded.
    #[error("stored record {id} is unreadable: {source}")]
    Corrupt {
        /// Record id.
        id: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// No record has this id.
    #[error("no exchange with id {0}")]
    NotFound(String),
    /// The id prefix matches more than one record.
    #[error("id {0} matches {1} exchanges; give more characters")]
    Ambiguous(String, usize),
}

/// Which records to return.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only this flow.
    pub flow: Option<String>,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only records at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only records before this time.
    pub before: Option<OffsetDateTime>,
}

/// An open store.
pub struct Store {
    _path: PathBuf,
}

impl Store {
    /// Open (creating) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            _path: dir.to_path_buf(),
        })
    }

    /// Store a record and index it.
    pub fn insert(&self, _rec: &Record) -> Result<(), StoreError> {
        Ok(())
    }

    /// Flush to disk.
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// One record by id or unique id prefix.
    pub fn get(&self, id: &str) -> Result<Record, StoreError> {
        Err(StoreError::NotFound(id.to_string()))
    }

    /// Records matching the query, oldest first.
    pub fn query(&self, _q: &Query) -> Result<Vec<Record>, StoreError> {
        Ok(Vec::new())
    }

    /// The flow of any stored record sharing one of these keys.
    pub fn flow_for(&self, _keys: &[Key]) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    /// Remove the records matching the query; returns how many.
    pub fn clear(&self, _q: &Query) -> Result<usize, StoreError> {
        Ok(0)
    }
}

//! Reach the captured records whether or not a proxy holds the store.
//!
//! sled allows one process per store: when `oauthscope run` is running it
//! owns the store, so [`Records::open`] falls back to its loopback API
//! ([`crate::api`]) instead of failing with a lock error.

use crate::api::{ApiError, Client, ProxyState};
use crate::home::Home;
use crate::record::Record;
use crate::store::{Query, Store, StoreError};

/// Errors reaching the records.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The running proxy's API failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The store is locked but no running proxy announced itself.
    #[error("the store at {} is locked by another process, and no running proxy was found ({} is missing); stop the other oauthscope process or use another --home", store.display(), state.display())]
    LockedNoProxy {
        /// Store directory.
        store: std::path::PathBuf,
        /// Expected proxy.json.
        state: std::path::PathBuf,
    },
}

/// The records, from the store directly or through a running proxy.
#[derive(Debug)]
pub enum Records {
    /// The store, opened by this process.
    Local(Store),
    /// A running proxy's API.
    Remote(Client),
}

impl Records {
    /// Open the store in `home`, or reach the proxy that holds it.
    pub fn open(home: &Home) -> Result<Records, AccessError> {
        match Store::open(&home.store_dir()) {
            Ok(s) => Ok(Records::Local(s)),
            Err(StoreError::Locked { path }) => match ProxyState::read(home)? {
                Some(state) => Ok(Records::Remote(Client::new(state, home))),
                None => Err(AccessError::LockedNoProxy {
                    store: path,
                    state: home.proxy_state_file(),
                }),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Records matching the query, oldest first.
    pub fn query(&self, q: &Query) -> Result<Vec<Record>, AccessError> {
        Ok(match self {
            Records::Local(s) => s.query(q)?,
            Records::Remote(c) => c.query(q)?,
        })
    }

    /// One record by id or unique prefix/suffix.
    pub fn get(&self, id: &str) -> Result<Record, AccessError> {
        Ok(match self {
            Records::Local(s) => s.get(id)?,
            Records::Remote(c) => c.get(id)?,
        })
    }

    /// Remove matching records; returns how many.
    pub fn clear(&self, q: &Query) -> Result<usize, AccessError> {
        Ok(match self {
            Records::Local(s) => s.clear(q)?,
            Records::Remote(c) => c.clear(q)?,
        })
    }
}

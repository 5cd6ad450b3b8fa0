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

    /// Open the store in `home` for reading only (a private copy: see
    /// [`Store::open_read_only`]; no lock held, no file changed), or reach
    /// the proxy that holds it. A store sled cannot open fails with what is
    /// damaged and how many records `oauthscope store repair` can recover.
    pub fn open_read_only(home: &Home) -> Result<Records, AccessError> {
        match Store::open_read_only(&home.store_dir()) {
            Ok(s) => Ok(Records::Local(s)),
            Err(StoreError::Locked { path }) => match ProxyState::read(home)? {
                Some(state) => Ok(Records::Remote(Client::new(state, home))),
                None => Err(AccessError::LockedNoProxy {
                    store: path,
                    state: home.proxy_state_file(),
                }),
            },
            Err(StoreError::Damaged { path, what }) => {
                let what = match crate::store::check::check(&path) {
                    Ok((report, _)) => format!(
                        "{what}; {} records readable through sled, {} recoverable",
                        report.readable, report.recoverable
                    ),
                    Err(_) => what,
                };
                Err(StoreError::Damaged { path, what }.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The analysis options for these records: `registered` (the command's
    /// own `--registered-redirect`) when given, else, when the records come
    /// through a running `oauthscope run`, the redirect URIs it was started
    /// with.
    pub fn analyze_options(&self, registered: &[String]) -> crate::analyze::AnalyzeOptions {
        let registered_redirects = match self {
            _ if !registered.is_empty() => registered.to_vec(),
            Records::Remote(c) => c.state().registered_redirects.clone(),
            Records::Local(_) => Vec::new(),
        };
        crate::analyze::AnalyzeOptions {
            registered_redirects,
        }
    }

    /// The store's write health and known damage (from the running proxy
    /// when it holds the store; `None` from a proxy too old to say).
    pub fn health(&self) -> Option<crate::store::Health> {
        match self {
            Records::Local(s) => Some(s.health()),
            Records::Remote(c) => c.health().ok(),
        }
    }

    /// Records matching the query, oldest first.
    pub fn query(&self, q: &Query) -> Result<Vec<Record>, AccessError> {
        Ok(match self {
            Records::Local(s) => s.query(q)?,
            Records::Remote(c) => c.query(q)?,
        })
    }

    /// Call `f` with each record matching the query, oldest first, one at a
    /// time: neither this process nor a running proxy holds the whole
    /// listing (the API streams it, one record per line).
    pub fn each(
        &self,
        q: &Query,
        mut f: impl FnMut(Record) -> Result<(), AccessError>,
    ) -> Result<(), AccessError> {
        match self {
            Records::Local(s) => {
                let mut failed = None;
                let mut read = 0usize;
                // sled may fail (or panic) part-way through a damaged store:
                // say so, with how many records were readable.
                let walked = crate::store::read_guarded(|| {
                    s.query_each(q, |r| {
                        read += 1;
                        match f(r) {
                            Ok(()) => Ok(()),
                            Err(e) => {
                                failed = Some(e);
                                Err(StoreError::NotFound("(stopped)".into()))
                            }
                        }
                    })
                });
                let damaged = |what: String| {
                    AccessError::from(StoreError::Damaged {
                        path: s.path().to_path_buf(),
                        what: format!(
                            "sled stopped reading it after {read} readable records ({what})"
                        ),
                    })
                };
                match walked {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e @ StoreError::Sled { .. })) => {
                        Err(failed.take().unwrap_or_else(|| damaged(e.to_string())))
                    }
                    Ok(Err(e)) => Err(failed.take().unwrap_or_else(|| AccessError::from(e))),
                    Err(panic) => Err(failed.take().unwrap_or_else(|| damaged(panic))),
                }
            }
            Records::Remote(c) => {
                let mut failed = None;
                c.query_each(q, |r| match f(r) {
                    Ok(()) => true,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                })?;
                failed.map_or(Ok(()), Err)
            }
        }
    }

    /// `rec` analysed with the part of its flow that explains it (see
    /// [`crate::rolling::window_of`]): a bounded number of records read,
    /// whatever the size of the flow, plus one pass for discovery documents.
    pub fn analysed(
        &self,
        rec: &Record,
        opts: &crate::analyze::AnalyzeOptions,
    ) -> Result<Record, AccessError> {
        let window = crate::rolling::window_of(rec, true, true, |q| self.query(q))?;
        Ok(crate::rolling::analyse_in_window(rec, &window, opts))
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

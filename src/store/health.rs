//! Write failures and losses: what the recorder could not store, shared
//! with the live line, the loopback API, the web UI and `run`'s exit.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// The store's write health, as the API and the web UI's data (`/api/records`
/// page, field `health`) report it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// False while writes fail (e.g. the disk is full); the recorder retries.
    pub writable: bool,
    /// Exchanges captured but not yet stored, held in memory while writes fail.
    pub waiting: u64,
    /// Exchanges lost by this process: forwarded to the app but never stored
    /// (more than the memory allowed for waiting ones, or still waiting when
    /// the proxy stopped).
    pub lost: u64,
    /// Exchanges lost by earlier runs on this store (kept in the store).
    pub lost_earlier: u64,
    /// The last write error, while writes fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many times writes started failing in this process.
    #[serde(default)]
    pub failures: u64,
    /// The last write error seen by this process, kept after writes resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// What is known to be damaged in the store (see `Store::damage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damage: Option<String>,
}

impl Health {
    /// Lost in all: this run's and earlier runs'.
    pub fn lost_total(&self) -> u64 {
        self.lost + self.lost_earlier
    }

    /// One line for people, or `None` when all is well: e.g. "the store cannot
    /// write (No space left on device): 12 exchanges waiting in memory, 3 lost".
    pub fn describe(&self) -> Option<String> {
        let plural = |n: u64| if n == 1 { "exchange" } else { "exchanges" };
        let mut parts = Vec::new();
        if !self.writable {
            parts.push(format!(
                "the store cannot write ({}): {} {} waiting in memory",
                self.error.as_deref().unwrap_or("write failed"),
                self.waiting,
                plural(self.waiting)
            ));
        }
        if self.lost > 0 {
            parts.push(format!(
                "{} {} lost (forwarded but not stored)",
                self.lost,
                plural(self.lost)
            ));
        }
        if self.lost_earlier > 0 {
            parts.push(format!(
                "{} {} lost by earlier runs",
                self.lost_earlier,
                plural(self.lost_earlier)
            ));
        }
        if let Some(d) = &self.damage {
            parts.push(format!(
                "the store is damaged: {d} (`oauthscope store check` says more; `oauthscope store repair --to DIR` recovers what it can into a new store)"
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The live counters behind [`Health`].
#[derive(Debug)]
pub struct HealthCounts {
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
    failing: AtomicBool,
    waiting: AtomicU64,
    lost: AtomicU64,
    lost_earlier: u64,
    error: Mutex<Option<String>>,
}

impl HealthCounts {
    pub(super) fn new(lost_earlier: u64) -> HealthCounts {
        HealthCounts {
            failures: AtomicU64::new(0),
            last_error: Mutex::new(None),
            failing: AtomicBool::new(false),
            waiting: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            lost_earlier,
            error: Mutex::new(None),
        }
    }

    /// Writes fail with `error` (a full disk): `waiting` exchanges are held.
    pub fn failing(&self, error: &str, waiting: u64) {
        if !self.failing.swap(true, Relaxed) {
            self.failures.fetch_add(1, Relaxed);
        }
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
        self.waiting.store(waiting, Relaxed);
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
    }

    /// Writes work again; nothing is waiting.
    pub fn recovered(&self) {
        self.failing.store(false, Relaxed);
        self.waiting.store(0, Relaxed);
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// `n` more exchanges were lost.
    pub fn lose(&self, n: u64) {
        self.lost.fetch_add(n, Relaxed);
    }

    /// `n` exchanges counted lost were found stored after all.
    pub fn unlose(&self, n: u64) {
        let _ = self
            .lost
            .fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(n)));
    }

    /// Lost by this process.
    pub fn lost(&self) -> u64 {
        self.lost.load(Relaxed)
    }

    /// Lost by this process and earlier ones.
    pub fn lost_total(&self) -> u64 {
        self.lost() + self.lost_earlier
    }

    pub(super) fn snapshot(&self) -> Health {
        let failing = self.failing.load(Relaxed);
        Health {
            writable: !failing,
            waiting: if failing {
                self.waiting.load(Relaxed)
            } else {
                0
            },
            lost: self.lost(),
            lost_earlier: self.lost_earlier,
            error: self.error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            damage: None,
            failures: self.failures.load(Relaxed),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

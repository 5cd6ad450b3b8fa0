//! The data directory: `--home`, else `$OAUTHSCOPE_HOME`, else `~/.oauthscope`.

use std::path::{Path, PathBuf};

/// Paths inside the data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// Use `root` as the data directory.
    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    /// Resolve the data directory from an explicit `--home` (which clap also
    /// fills from `$OAUTHSCOPE_HOME`), else `~/.oauthscope`.
    pub fn resolve(explicit: Option<&Path>) -> Home {
        if let Some(p) = explicit {
            return Home::new(p);
        }
        if let Some(p) = std::env::var_os("OAUTHSCOPE_HOME").filter(|v| !v.is_empty()) {
            return Home::new(PathBuf::from(p));
        }
        let base = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        Home::new(base.join(".oauthscope"))
    }

    /// The data directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `ca/`: the CA certificate and its key (mode 0600).
    pub fn ca_dir(&self) -> PathBuf {
        self.root.join("ca")
    }

    /// `store/`: the sled database.
    pub fn store_dir(&self) -> PathBuf {
        self.root.join("store")
    }

    /// `proxy.json`: written by a running proxy so other commands can reach it.
    pub fn proxy_state_file(&self) -> PathBuf {
        self.root.join("proxy.json")
    }
}

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

    /// True when this is `~/.oauthscope`, the directory a command finds
    /// without `--home` or `$OAUTHSCOPE_HOME`.
    pub fn is_default(&self) -> bool {
        let base = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        self.root == base.join(".oauthscope")
    }

    /// The `--home DIR` another shell needs to reach this data directory
    /// (empty for the default one), shell-quoted when needed.
    pub fn flag(&self) -> String {
        if self.is_default() {
            return String::new();
        }
        let p = self.root.display().to_string();
        if p.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+~".contains(c))
        {
            format!(" --home {p}")
        } else {
            format!(" --home '{}'", p.replace('\'', r"'\''"))
        }
    }

    /// The data directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Create the data directory if needed and make it owner-only (0700):
    /// it holds the CA key and captured secrets.
    pub fn create_root(&self) -> std::io::Result<()> {
        create_private_dir(&self.root)
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

/// Make `path` owner-only: a directory (and everything under it) gets mode
/// 0700 for directories and 0600 for files; a file gets 0600. Best effort:
/// failures are logged at debug level (the data may live on a filesystem
/// without Unix modes). No-op off Unix.
pub fn make_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        if meta.file_type().is_symlink() {
            return;
        }
        let mode = if meta.is_dir() { 0o700 } else { 0o600 };
        if meta.permissions().mode() & 0o777 != mode {
            if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
                tracing::debug!("cannot restrict {}: {e}", path.display());
            }
        }
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(path) {
                for e in entries.flatten() {
                    make_private(&e.path());
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Create `dir` (and its parents) if needed and make it owner-only (0700).
/// Directories are created with mode 0700 from the start (never briefly
/// readable by others), whatever the umask; `umask 000` cannot widen them.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        // Each missing parent too: `create_dir_all` would make them 0777 & !umask.
        let mut missing = Vec::new();
        let mut p = Some(dir);
        while let Some(d) = p {
            if d.as_os_str().is_empty() || d.exists() {
                break;
            }
            missing.push(d);
            p = d.parent();
        }
        for d in missing.into_iter().rev() {
            match std::fs::DirBuilder::new().mode(0o700).create(d) {
                Ok(()) => std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))?,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

//! Reading a store without changing it: is another process holding it,
//! a private copy of its files, and sled failures (errors and panics on
//! damaged files) turned into errors.

use std::path::Path;

/// True when another process holds the store's lock: sled takes an
/// exclusive `flock` on `db` (through fs2) for as long as it is open. The
/// probe takes a shared lock without waiting and releases it at once.
pub fn is_locked(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        let Ok(f) = std::fs::File::open(dir.join("db")) else {
            return false;
        };
        // SAFETY: flock on a file descriptor we own, for the duration of this call.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
        if r != 0 {
            return std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock;
        }
        // SAFETY: as above.
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_UN) };
        false
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        false
    }
}

/// Copy the directory `from` to `to` (created owner-only), files and
/// subdirectories; the source is only read.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    crate::home::create_private_dir(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

thread_local! {
    /// Set while [`quietly`] runs on this thread: the panic message goes here.
    static QUIET: std::cell::RefCell<Option<Option<String>>> = const { std::cell::RefCell::new(None) };
}

/// Run `f`, turning a panic (sled panics on some damaged files) into an
/// error message, without printing the panic: the caller reports it. The
/// panic hook is wrapped once per process; panics on other threads, and
/// outside `quietly`, are reported as before.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let quiet = QUIET.with(|q| {
                let mut q = q.borrow_mut();
                match q.as_mut() {
                    Some(slot) => {
                        let text = info
                            .payload()
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| info.payload().downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic".into());
                        let at = info
                            .location()
                            .map(|l| format!(" at {}:{}", l.file(), l.line()))
                            .unwrap_or_default();
                        *slot = Some(format!("{text}{at}"));
                        true
                    }
                    None => false,
                }
            });
            if !quiet {
                previous(info);
            }
        }));
    });
    let outer = QUIET.with(|q| q.borrow_mut().replace(None));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let message = QUIET.with(|q| std::mem::replace(&mut *q.borrow_mut(), outer));
    match result {
        Ok(v) => Ok(v),
        Err(payload) => {
            let message = message.flatten().unwrap_or_else(|| "a panic".into());
            // Only sled's panics are about the files; any other is a bug
            // of ours and goes on as a panic (said, not swallowed).
            if message.contains("sled") {
                Err(message)
            } else {
                eprintln!("panic: {message}");
                std::panic::resume_unwind(payload)
            }
        }
    }
}

/// The innermost message of a store error (sled's words).
pub fn cause(e: &super::StoreError) -> String {
    match e {
        super::StoreError::Sled { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

//! The error catalog as data: standard OAuth / OIDC error codes and
//! provider-specific codes, each with its meaning, likely causes and fix.
//! (To be written.)

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The error code as it appears on the wire (`invalid_grant`, `AADSTS50011`).
    pub code: &'static str,
    /// Who defines it (`RFC 6749 §5.2`, `Microsoft Entra ID`, ...).
    pub source: &'static str,
    /// One-line meaning.
    pub title: &'static str,
    /// What usually causes it.
    pub causes: &'static str,
    /// What to do.
    pub fix: &'static str,
}

/// Look up a code (exact, then case-insensitive).
pub fn lookup(code: &str) -> Option<&'static Entry> {
    let _ = code;
    None
}

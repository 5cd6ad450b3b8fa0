//! Token-exchange flavour detection (to be written).

use super::{AnalyzeOptions, Finding};
use crate::record::{Flavour, Record};

/// The flavour of a token request.
pub fn detect(_rec: &Record) -> Option<Flavour> {
    None
}

/// Findings about client authentication and body encoding.
pub fn annotate(_records: &[Record], _opts: &AnalyzeOptions) -> Vec<Finding> {
    Vec::new()
}

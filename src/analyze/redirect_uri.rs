//! Rule family `redirect_uri` (to be written).

use super::{AnalyzeOptions, Finding};
use crate::record::Record;

/// Findings of this rule family over records in time order.
pub fn annotate(_records: &[Record], _opts: &AnalyzeOptions) -> Vec<Finding> {
    Vec::new()
}

//! HAR export (to be written).

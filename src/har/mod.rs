//! HAR 1.2: import (lenient: Chrome, Firefox, mitmproxy, oauthscope) and
//! export (strict, with annotations in `_oauthscope`).

pub mod export;
pub mod import;
pub mod sanitised;
pub mod stream;

pub use import::{ImportError, ImportOptions, Imported};

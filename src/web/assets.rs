//! The UI's files, embedded in the binary (no CDN, no Node build step):
//! `index.html` (the list), `app.js` (the list's behaviour), `page.js`
//! (exchange and login pages), `style.css` (light and dark).

/// The list page's HTML.
pub const INDEX_HTML: &str = include_str!("assets/index.html");
/// The list page's script.
pub const APP_JS: &str = include_str!("assets/app.js");
/// The exchange and login pages' script.
pub const PAGE_JS: &str = include_str!("assets/page.js");
/// The shared style sheet.
pub const STYLE_CSS: &str = include_str!("assets/style.css");

/// Total size of the embedded assets, in bytes.
pub fn total_size() -> usize {
    INDEX_HTML.len() + APP_JS.len() + PAGE_JS.len() + STYLE_CSS.len()
}

/// The list page, marked read-only when the capture cannot be cleared.
pub fn index_html(read_only: bool) -> String {
    INDEX_HTML.replace(
        "data-readonly=\"false\"",
        if read_only {
            "data-readonly=\"true\""
        } else {
            "data-readonly=\"false\""
        },
    )
}

/// `(content type, body)` of an asset by file name.
pub fn get(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "app.js" => Some(("text/javascript; charset=utf-8", APP_JS)),
        "page.js" => Some(("text/javascript; charset=utf-8", PAGE_JS)),
        "style.css" => Some(("text/css; charset=utf-8", STYLE_CSS)),
        _ => None,
    }
}

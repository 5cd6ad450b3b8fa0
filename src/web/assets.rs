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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_views_have_no_clear_button_and_say_stopped() {
        let live = index_html(View::Live);
        assert!(live.contains("id=\"clear\""));
        assert!(live.contains("data-state=\"connecting\""));
        for v in [View::Stored, View::Har] {
            let h = index_html(v);
            assert!(!h.contains("id=\"clear\""), "{v:?}");
            assert!(h.contains("data-readonly=\"true\""));
            assert!(h.contains("data-state=\"stopped\""), "{v:?}");
        }
    }
}

/// What the list page shows, which decides what it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The running proxy's capture: live, clearable.
    Live,
    /// A stored capture served while no proxy runs: read-only, stopped.
    Stored,
    /// A HAR file: read-only, stopped.
    Har,
}

/// The list page for `view`. Read-only views carry no clear button at all
/// (it would only be refused), and say what they are in the indicator.
pub fn index_html(view: View) -> String {
    let mut html = INDEX_HTML.to_string();
    if view != View::Live {
        let start = html.find("<button type=\"button\" id=\"clear\"");
        let end = start.and_then(|s| {
            html[s..]
                .find("</button>")
                .map(|e| s + e + "</button>".len())
        });
        if let (Some(s), Some(e)) = (start, end) {
            html.replace_range(s..e, "");
        }
        html = html.replace("data-readonly=\"false\"", "data-readonly=\"true\"");
    }
    let (state, label, title) = match view {
        View::Live => ("connecting", "connecting…", "the live feed of the running proxy"),
        View::Stored => (
            "stopped",
            "stopped · read-only",
            "a stored capture: no proxy is running, nothing new is recorded and nothing can be cleared here",
        ),
        View::Har => (
            "stopped",
            "HAR file · read-only",
            "a HAR file: nothing is recorded and nothing can be cleared",
        ),
    };
    html.replace(
        "<span id=\"conn\" class=\"conn\" data-state=\"connecting\" title=\"\">connecting…</span>",
        &format!("<span id=\"conn\" class=\"conn\" data-state=\"{state}\" title=\"{title}\">{label}</span>"),
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

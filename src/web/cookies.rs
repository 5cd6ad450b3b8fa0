//! The login page's cookie section: for each browser step, the cookies
//! sent and set (names and attributes, never values) and the ones the
//! browser held back or refused, and why ([`crate::analyze::cookies`]).

use super::html::{esc, seg};
use crate::analyze::cookies::{self, Context};
use crate::record::Record;
use std::fmt::Write as _;

/// The section's HTML; empty when the login has no browser step.
pub fn section(records: &[Record]) -> String {
    let tl = cookies::timeline(records);
    if tl.steps.is_empty() {
        return String::new();
    }
    let mut b = String::from(
        "<section class=\"cookies\"><h2>Cookies, step by step</h2>\
<p>The browser's jar as RFC 6265bis and Chrome apply it; values are not shown.</p>",
    );
    if tl.cookies_missing {
        b.push_str(
            "<p class=\"outcome\">No step of this capture carries a Cookie or Set-Cookie header \
(a HAR exported without sensitive data, or a client that keeps no cookies): cookie rules cannot tell what was held back.</p>",
        );
    }
    b.push_str("<table class=\"list\"><thead><tr><th>step</th><th>sent</th><th>held back or refused</th><th>set</th></tr></thead><tbody>");
    for s in &tl.steps {
        let r = &records[s.record];
        let ctx = match s.context {
            Context::TopLevel => "top-level",
            Context::Frame => "iframe",
            Context::Subresource => "script",
        };
        let sent = if tl.cookies_missing {
            "?".to_string()
        } else if s.sent.is_empty() {
            "—".to_string()
        } else {
            s.sent
                .iter()
                .map(|(n, _)| format!("<code>{}</code>", esc(n)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let sent = if s.chunked.is_empty() {
            sent
        } else {
            let whole: Vec<String> = s
                .chunked
                .iter()
                .map(|c| {
                    if c.complete {
                        format!(
                            "<div class=\"chunked\">chunked <code>{}</code>: whole ({} chunk{}, {} bytes)</div>",
                            esc(&c.base),
                            c.sent.len(),
                            if c.sent.len() == 1 { "" } else { "s" },
                            c.size
                        )
                    } else {
                        format!(
                            "<div class=\"chunked\">chunked <code>{}</code>: <span class=\"sev sev-error\">incomplete</span>, missing {}</div>",
                            esc(&c.base),
                            c.missing
                                .iter()
                                .map(|(n, why)| format!(
                                    "<code>{}</code> ({})",
                                    esc(n),
                                    esc(&why.replace('_', " "))
                                ))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                })
                .collect();
            format!("{sent}{}", whole.join(""))
        };
        let mut held: Vec<String> = s
            .held_back
            .iter()
            .map(|w| {
                format!(
                    "<code>{}</code>: <span class=\"sev sev-warning\">{}</span> (set by <a href=\"/exchanges/{}\">{}</a>)",
                    esc(&w.cookie.name),
                    esc(&w.why.code().replace('_', " ")),
                    seg(&records[w.cookie.set_by].id),
                    esc(records[w.cookie.set_by].kind.as_str())
                )
            })
            .collect();
        held.extend(s.never_stored.iter().map(|n| {
            format!(
                "<code>{}</code>: <span class=\"sev sev-warning\">not stored</span>, {}",
                esc(&n.cookie.name),
                esc(n.why.words())
            )
        }));
        let set: Vec<String> = s
            .set
            .iter()
            .map(|x| {
                let c = &x.cookie;
                let what = if x.deletes {
                    "deleted".to_string()
                } else if let Some(r) = x.refused {
                    format!("refused: {}", r.code().replace('_', " "))
                } else if x.replaced.is_some() {
                    "replaced".to_string()
                } else {
                    "stored".to_string()
                };
                format!(
                    "<code>{}</code> {} ({}; Path={}; SameSite={}{})",
                    esc(&c.name),
                    esc(&what),
                    esc(&c
                        .domain
                        .as_deref()
                        .map(|d| format!("Domain={d}"))
                        .unwrap_or_else(|| "host-only".into())),
                    esc(c.path.as_deref().unwrap_or("(default)")),
                    esc(c.same_site.as_str()),
                    if c.secure { "; Secure" } else { "" }
                )
            })
            .collect();
        let _ = write!(
            b,
            "<tr><td><a href=\"/exchanges/{}\">{}</a> {} {} <small>({ctx}, {})</small></td><td>{sent}</td><td>{}</td><td>{}</td></tr>",
            seg(&r.id),
            esc(r.kind.as_str()),
            esc(&r.request.method),
            esc(&crate::view::host_path(&r.request.url)),
            if s.cross_site { "cross-site" } else { "same-site" },
            if held.is_empty() { "—".into() } else { held.join("<br>") },
            if set.is_empty() { "—".into() } else { set.join("<br>") },
        );
    }
    b.push_str("</tbody></table></section>");
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testkit::{at, respond};
    use crate::record::Kind;

    #[test]
    fn the_login_page_names_what_was_held_back_and_why() {
        let ua = "Mozilla/5.0 Chrome/130.0";
        let auth = "https://login.provider.net/authorize?client_id=a&state=st-1&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fcallback";
        let mut s = Record::bare(
            "0000000000000001",
            at(0),
            Kind::LoginStart,
            "GET",
            "http://localhost:3000/login",
        );
        s.request.headers.push("User-Agent", ua);
        respond(
            &mut s,
            302,
            &[
                ("Location", auth),
                ("Set-Cookie", "oauth_state=st-1; Path=/; SameSite=Lax"),
            ],
            "",
        );
        let mut c = Record::bare(
            "0000000000000002",
            at(1),
            Kind::Callback,
            "GET",
            "http://127.0.0.1:3000/callback?code=c&state=st-1",
        );
        c.request.headers.push("User-Agent", ua);
        respond(&mut c, 400, &[], "state mismatch");
        let html = section(&[s, c]);
        assert!(html.contains("<h2>Cookies, step by step</h2>"), "{html}");
        assert!(
            html.contains("<code>oauth_state</code> stored (host-only; Path=/; SameSite=Lax)"),
            "{html}"
        );
        assert!(
            html.contains("<code>oauth_state</code>: <span class=\"sev sev-warning\">host</span> (set by <a href=\"/exchanges/0000000000000001\">login_start</a>)"),
            "{html}"
        );
        assert!(!html.contains("st-1<"), "no values: {html}");
        assert_eq!(section(&[]), "");
    }

    #[test]
    fn a_chunked_cookie_is_shown_as_one_whole_or_incomplete() {
        let ua = "Mozilla/5.0 Chrome/130.0";
        let mut s = Record::bare(
            "0000000000000001",
            at(0),
            Kind::LoginStart,
            "GET",
            "http://localhost:3000/auth/login",
        );
        s.request.headers.push("User-Agent", ua);
        respond(
            &mut s,
            302,
            &[
                ("Location", "https://idp.example/authorize?state=st-1"),
                ("Set-Cookie", "sess.0=AAAA; Path=/"),
                ("Set-Cookie", "sess.1=BBBB"),
            ],
            "",
        );
        let mut c = Record::bare(
            "0000000000000002",
            at(1),
            Kind::Callback,
            "GET",
            "http://localhost:3000/callback?code=c&state=st-1",
        );
        c.request.headers.push("User-Agent", ua);
        c.request.headers.push("Cookie", "sess.0=AAAA");
        respond(&mut c, 400, &[], "state mismatch");
        let html = section(&[s, c]);
        assert!(
            html.contains("chunked <code>sess</code>: <span class=\"sev sev-error\">incomplete</span>, missing <code>sess.1</code> (path)"),
            "{html}"
        );
        assert!(!html.contains("AAAA"), "no values: {html}");
    }
}

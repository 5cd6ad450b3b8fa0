//! "Compare with..." (`/flows/{flow}/compare`): the picker of the other
//! logins of the capture (newest first, with outcome, host and time), and
//! two logins side by side, aligned by protocol step with the ranked
//! differences on top — [`crate::analyze::diff::diff`], the comparison of
//! `oauthscope diff`, in the same words; values redacted as exports redact
//! them ([`crate::cli::diff::shown_values`]).

use super::data::LoginChoice;
use super::html::{code_link, esc, frame, seg};
use crate::analyze::diff::{Difference, Report};
use crate::record::Record;
use crate::redact::Redactor;
use std::fmt::Write as _;

/// Flow ids the compare routes accept: 1 to 128 of `[A-Za-z0-9._-]`
/// (anything else is refused before the store is asked).
pub fn valid_flow_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A page saying what went wrong, in the UI's frame (`what` is escaped).
pub fn error_page(title: &str, what: &str, back: Option<&str>) -> String {
    let back = back
        .map(|f| {
            format!(
                "<p><a class=\"button\" href=\"/flows/{}\">back to the login</a></p>",
                seg(f)
            )
        })
        .unwrap_or_else(|| "<p><a class=\"button\" href=\"/\">the list of logins</a></p>".into());
    frame(
        title,
        &format!(
            "<h1>{}</h1><p class=\"bad\" id=\"compare-error\">{}</p>{back}",
            esc(title),
            esc(what)
        ),
    )
}

/// The picker: the other logins, newest first, each a link to the comparison.
pub fn picker_page(flow: &str, headline: &str, choices: &[LoginChoice]) -> String {
    let f = seg(flow);
    let mut b = format!(
        "<h1>Compare login <a href=\"/flows/{f}\"><code>{}</code></a> with…</h1><p class=\"outcome\">{}</p>",
        esc(flow),
        esc(headline)
    );
    if choices.is_empty() {
        b.push_str("<p id=\"no-other-login\">There is no other login in this capture to compare it with. Capture the login again (the working one, or the failing one) and come back.</p>");
        return frame(&format!("compare login {flow}"), &b);
    }
    b.push_str("<p class=\"muted\">Pick the other login (newest first). Usually: this one failing, the other one working.</p><ul class=\"choices\">");
    for c in choices {
        let _ = write!(
            b,
            "<li class=\"choice outcome-{}\" data-flow=\"{}\"><a class=\"pick-login\" href=\"/flows/{f}/compare?with={}\"><span class=\"verdict\">{}</span> — {}</a><div class=\"muted\"><span class=\"path\">{}</span> · <span class=\"time\">{}</span> · login <code>{}</code> ({} exchange{})</div></li>",
            esc(&c.outcome),
            esc(&c.flow),
            seg(&c.flow),
            esc(&c.outcome),
            esc(&c.headline),
            esc(&c.host),
            esc(&short_time(&c.time)),
            esc(&c.flow),
            c.exchanges,
            if c.exchanges == 1 { "" } else { "s" },
        );
    }
    b.push_str("</ul>");
    frame(&format!("compare login {flow}"), &b)
}

/// `2026-12-06T22:20:07.54Z` as `2026-12-06 22:20:07 UTC`.
fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..19)) {
        (Some(d), Some(t)) if rfc3339.ends_with('Z') => format!("{d} {t} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// One side's cell of an aligned step.
fn cell(
    side: &str,
    step: &str,
    id: Option<&(String, Option<u16>)>,
    recs: &[Record],
    red: &mut Redactor,
) -> String {
    let Some((id, status)) = id else {
        return format!(
            "<div class=\"cell side-{side} absent\"><div class=\"step\">{}</div><span class=\"muted\">(no such step)</span></div>",
            esc(step)
        );
    };
    let rec = recs.iter().find(|r| &r.id == id);
    let what = rec
        .map(|r| {
            format!(
                "{} {}",
                r.request.method,
                red.redact_text(&crate::view::host_path(&r.request.url))
            )
        })
        .unwrap_or_default();
    let status = status
        .map(|s| format!("<span class=\"status s{}\">{s}</span>", s / 100))
        .unwrap_or_else(|| "<span class=\"status s0\">no response</span>".into());
    let top = rec
        .and_then(Record::top_annotation)
        .map(|a| {
            format!(
                " <span class=\"sev sev-{}\">{}</span>",
                a.severity.as_str(),
                code_link(&a.code)
            )
        })
        .unwrap_or_default();
    format!(
        "<div class=\"cell side-{side}\"><div class=\"step\">{}</div><a href=\"/exchanges/{}\" class=\"path wrap\">{}</a> {status}{top}</div>",
        esc(step),
        seg(id),
        esc(&what)
    )
}

/// One difference as the CLI words it: `STEP: WHAT [KINDS]`, the two
/// values (redacted), the caret, the note.
fn difference(i: usize, d: &Difference, red: &mut Redactor) -> String {
    let (va, vb) = crate::cli::diff::shown_values(red, d);
    let mut vals = format!("A: {va}\nB: {vb}");
    if let Some(c) = &d.caret {
        let _ = write!(vals, "\n   {c}");
    }
    format!(
        "<li class=\"diff{}\" value=\"{i}\"><div class=\"dhead\"><b>{}: {}</b> <span class=\"muted\">[{}]</span></div><pre class=\"dvals\">{}</pre><p>{}</p></li>",
        if d.matters() { " matters" } else { " minor" },
        esc(&d.step),
        esc(&d.what),
        esc(&d.kinds.join(", ")),
        esc(&vals),
        esc(&red.redact_text(&d.note))
    )
}

/// The comparison page of login `fa` (records `a`) with login `fb` (`b`).
pub fn compare_page(fa: &str, a: &[Record], fb: &str, b: &[Record], r: &Report) -> String {
    let mut red = Redactor::new();
    // Learn every secret of both sides; every value shown is swept for them.
    let _ = red.redact_records(a);
    let _ = red.redact_records(b);
    let (la, lb) = (seg(fa), seg(fb));
    let mut out = format!(
        "<h1>Compare two logins</h1><ul class=\"sides\">\
<li><b>A</b>: <a href=\"/flows/{la}\"><code>{}</code></a> — {} exchanges, <span class=\"verdict\" id=\"outcome-a\">{}</span></li>\
<li><b>B</b>: <a href=\"/flows/{lb}\"><code>{}</code></a> — {} exchanges, <span class=\"verdict\" id=\"outcome-b\">{}</span></li></ul>\
<p class=\"actions\"><a class=\"button\" id=\"swap\" href=\"/flows/{lb}/compare?with={la}\">swap A and B</a> <a class=\"button\" href=\"/flows/{la}/compare\">compare A with another login</a></p>\
<p class=\"muted\">Aligned by protocol step as <code>oauthscope diff</code> aligns them; secrets redacted as exports redact them.</p>",
        esc(fa),
        r.a.exchanges,
        esc(&red.redact_text(&r.a.outcome)),
        esc(fb),
        r.b.exchanges,
        esc(&red.redact_text(&r.b.outcome)),
    );
    // The same reason for both sides is said once.
    let mut said: Vec<String> = Vec::new();
    for c in &r.cannot_tell {
        let both = c
            .replace("side A ", "sides A and B ")
            .replace("side B ", "sides A and B ");
        let twice = r.cannot_tell.iter().filter(|o| *o != c).any(|o| {
            o.replace("side A ", "sides A and B ")
                .replace("side B ", "sides A and B ")
                == both
        });
        let line = if twice {
            both.replace("sides A and B carries", "sides A and B carry")
        } else {
            c.clone()
        };
        if !said.contains(&line) {
            let _ = write!(out, "<p class=\"note\">Not compared: {}.</p>", esc(&line));
            said.push(line);
        }
    }
    let mattering: Vec<&Difference> = r.mattering().collect();
    out.push_str("<section class=\"cmpdiffs\">");
    if mattering.is_empty() {
        let _ = write!(
            out,
            "<h2 id=\"no-difference\">No difference that matters ({} minor: volatile values by shape, timings).</h2>",
            r.differences.len()
        );
    } else {
        out.push_str("<h2>Differences that can matter, most likely cause first:</h2><ol class=\"diffs\" id=\"diffs\">");
        for (i, d) in mattering.iter().enumerate() {
            out.push_str(&difference(i + 1, d, &mut red));
        }
        out.push_str("</ol>");
    }
    let minor: Vec<&Difference> = r.differences.iter().filter(|d| !d.matters()).collect();
    if !minor.is_empty() {
        let _ = write!(
            out,
            "<details class=\"minor\"><summary>{} minor difference{} (volatile values by shape, timings)</summary><ol class=\"diffs\">",
            minor.len(),
            if minor.len() == 1 { "" } else { "s" }
        );
        for (i, d) in minor.iter().enumerate() {
            out.push_str(&difference(mattering.len() + i + 1, d, &mut red));
        }
        out.push_str("</ol></details>");
    }
    out.push_str("</section>");
    out.push_str(
        "<section><h2>Steps (aligned by protocol step)</h2><div class=\"cmpgrid\" id=\"cmpgrid\">",
    );
    let _ = write!(
        out,
        "<h3 class=\"colhead side-a\">A <code>{}</code></h3><h3 class=\"colhead side-b\">B <code>{}</code></h3>",
        esc(fa),
        esc(fb)
    );
    for s in &r.steps {
        out.push_str(&cell("a", &s.step, s.a.as_ref(), a, &mut red));
        out.push_str(&cell("b", &s.step, s.b.as_ref(), b, &mut red));
    }
    out.push_str("</div></section>");
    frame(&format!("compare {fa} with {fb}"), &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_ids_are_checked_before_any_lookup() {
        assert!(valid_flow_id("18a3f2c4d5e6f708"));
        assert!(valid_flow_id("flow-1.a_b"));
        for bad in ["", "../x", "a b", "<script>", "a/b", "é", &"a".repeat(129)] {
            assert!(!valid_flow_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_error_page_escapes_what_it_names() {
        let p = error_page("No such login", "no login \"<img src=x>\"", Some("<x>"));
        assert!(!p.contains("<img"), "{p}");
        assert!(p.contains("&lt;img src=x&gt;"));
        assert!(p.contains("href=\"/flows/%3Cx%3E\""));
    }

    /// A failing login (the token request adds a slash) and the same login
    /// fixed, 10 s apart.
    fn two_logins() -> Vec<Record> {
        use crate::record::{Body, HeaderList, Kind, Response};
        let t0 = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let mut out = Vec::new();
        for (i, (redirect, status)) in [
            ("https%3A%2F%2Fapp%2Fcb%2F", 400u16),
            ("https%3A%2F%2Fapp%2Fcb", 200),
        ]
        .into_iter()
        .enumerate()
        {
            let t = t0 + time::Duration::seconds(10 * i as i64);
            let mut a = Record::bare(
                &format!("{:016x}", 100 + 2 * i),
                t,
                Kind::AuthorizeRequest,
                "GET",
                &format!("https://idp.example/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp%2Fcb&state=state-{i}-abcdef"),
            );
            let mut loc = HeaderList::default();
            loc.push(
                "location",
                format!("https://app/cb?code=code-{i}-secret-value&state=state-{i}-abcdef"),
            );
            a.response = Some(Response {
                status: 302,
                headers: loc,
                body: Body::default(),
            });
            let mut tk = Record::bare(
                &format!("{:016x}", 101 + 2 * i),
                t + time::Duration::seconds(1),
                Kind::TokenRequest,
                "POST",
                "https://idp.example/token",
            );
            tk.request
                .headers
                .push("content-type", "application/x-www-form-urlencoded");
            tk.request.body = Body::from_bytes(
                format!("grant_type=authorization_code&code=code-{i}-secret-value&redirect_uri={redirect}&client_id=app&client_secret=s3cret-unit").as_bytes(),
            );
            tk.grant_type = Some("authorization_code".into());
            tk.response = Some(Response {
                status,
                headers: Default::default(),
                body: Body::from_bytes(if status == 400 {
                    br#"{"error":"invalid_grant"}"#.as_slice()
                } else {
                    br#"{"access_token":"at-unit-secret-1234567890","token_type":"Bearer"}"#
                        .as_slice()
                }),
            });
            out.push(a);
            out.push(tk);
        }
        out
    }

    /// The compare routes through the real router and guard: the comparison
    /// of the two logins, and an error page (never a panic) for an id that
    /// is not one, a login not in the capture, and a login with itself.
    #[tokio::test]
    async fn compare_routes_answer_bad_and_unknown_ids_with_an_error_page() {
        use crate::web::{start, Source, WebConfig};
        let opts = crate::analyze::AnalyzeOptions::default();
        let src = Source::records(two_logins(), &opts);
        let flows: Vec<String> = match &src {
            Source::Records(v) => {
                let mut f: Vec<String> = v.iter().filter_map(|r| r.flow.clone()).collect();
                f.dedup();
                f
            }
            Source::Store(_) => unreachable!(),
        };
        assert_eq!(flows.len(), 2, "{flows:?}");
        let (fail, ok) = (&flows[0], &flows[1]);
        let token = "0123456789abcdef0123456789abcdef".to_string();
        let web = start(
            WebConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                read_only: true,
                analyze: opts,
                header_timeout: crate::web::HEADER_TIMEOUT,
                token: Some(token.clone()),
            },
            src,
            None,
        )
        .await
        .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{}", web.addr.port());
        let cookie = format!("oauthscope_ui_{}={token}", web.addr.port());
        let get = |path: String, with_cookie: bool| {
            let mut r = http.get(format!("{base}{path}"));
            if with_cookie {
                r = r.header("cookie", cookie.clone());
            }
            async move {
                let resp = r.send().await.unwrap();
                let st = resp.status().as_u16();
                (st, resp.text().await.unwrap())
            }
        };
        let (st, _) = get(format!("/flows/{fail}/compare?with={ok}"), false).await;
        assert_eq!(st, 401, "token-guarded");

        let (st, body) = get(format!("/flows/{fail}/compare"), true).await;
        assert_eq!(st, 200, "{body}");
        assert!(
            body.contains(&format!("data-flow=\"{ok}\"")),
            "the other login is offered"
        );
        assert!(
            !body.contains(&format!("data-flow=\"{fail}\"")),
            "not itself"
        );

        let (st, body) = get(format!("/flows/{fail}/compare?with={ok}"), true).await;
        assert_eq!(st, 200, "{body}");
        let first = body
            .find("<li class=\"diff matters\"")
            .expect("a difference");
        assert!(
            body[first..].starts_with("<li class=\"diff matters\" value=\"1\"><div class=\"dhead\"><b>token (authorization_code): redirect_uri</b> <span class=\"muted\">[trailing_slash]"),
            "{}",
            &body[first..first + 200]
        );
        for secret in [
            "s3cret-unit",
            "code-0-secret-value",
            "at-unit-secret-1234567890",
        ] {
            assert!(!body.contains(secret), "{secret} is redacted");
        }

        for (path, status, says) in [
            (
                format!("/flows/{fail}/compare?with=ffffffffffffffff"),
                404,
                "no login",
            ),
            (
                "/flows/ffffffffffffffff/compare".to_string(),
                404,
                "no login",
            ),
            (
                format!("/flows/{fail}/compare?with=%3Cimg%20src%3Dx%3E"),
                400,
                "not a login id",
            ),
            (
                "/flows/%3Cimg%20src%3Dx%3E/compare".to_string(),
                400,
                "not a login id",
            ),
            (
                format!("/flows/{fail}/compare?with={fail}"),
                400,
                "compared with itself",
            ),
        ] {
            let (st, body) = get(path.clone(), true).await;
            assert_eq!(st, status, "{path}: {body}");
            assert!(
                body.contains("id=\"compare-error\""),
                "{path}: an error page: {body}"
            );
            assert!(body.to_lowercase().contains(says), "{path}: {body}");
            assert!(!body.contains("<img"), "{path}: escaped");
        }
        web.shutdown().await;
    }
}

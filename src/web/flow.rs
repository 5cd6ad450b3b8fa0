//! The login page (`/flows/{flow}`): the flow's diagnoses on top, export
//! links, and the login as an inline SVG sequence picture — Browser, App
//! and Provider as lifelines, one arrow per exchange (who sent it to whom,
//! from [`crate::report::mermaid::ends`]), each arrow a link to its
//! exchange, annotated arrows coloured by severity and marked.

use super::html::{esc, frame, seg};
use super::page::annotation_item;
use crate::record::Record;
use crate::report::{self, mermaid};
use std::fmt::Write as _;

/// Lane x positions: Browser, App, Provider.
/// The Browser lane leaves room on its left for an annotation code drawn
/// beside the arrow's start (`diagnosis.concurrent_logins`).
const LANES: [(&str, f32); 3] = [("Browser", 230.0), ("App", 590.0), ("Provider", 950.0)];
/// Picture width in user units.
const WIDTH: f32 = 1080.0;
/// Vertical space per exchange.
const ROW: f32 = 64.0;
/// Where the first arrow is drawn.
const TOP: f32 = 84.0;

fn lane_x(name: &str) -> f32 {
    LANES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, x)| *x)
        .unwrap_or(LANES[2].1)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        let cut: String = s.chars().take(n - 1).collect();
        format!("{cut}…")
    } else {
        s.to_string()
    }
}

/// The sequence picture of `records` (one flow, oldest first) as an `<svg>` element.
pub fn sequence_svg(records: &[Record]) -> String {
    let provider = records
        .iter()
        .filter(|r| mermaid::ends(r.kind).1 == "Provider")
        .find_map(|r| r.url().and_then(|u| u.host_str().map(str::to_string)));
    let height = TOP + ROW * records.len() as f32 + 20.0;
    let mut s = format!(
        "<svg class=\"seq\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"sequence of the login\">\
<defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"11\" markerHeight=\"11\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" class=\"head\"/></marker></defs>"
    );
    for (name, x) in LANES {
        let label = match (name, &provider) {
            ("Provider", Some(h)) => format!("Provider ({})", clip(h, 22)),
            _ => name.to_string(),
        };
        let _ = write!(
            s,
            "<g class=\"lane\"><rect x=\"{}\" y=\"12\" width=\"240\" height=\"34\" rx=\"6\"/><text x=\"{x}\" y=\"34\" text-anchor=\"middle\">{}</text><line x1=\"{x}\" y1=\"46\" x2=\"{x}\" y2=\"{}\"/></g>",
            x - 120.0,
            esc(&label),
            height - 8.0
        );
    }
    let mut prev: Option<&Record> = None;
    for (i, r) in records.iter().enumerate() {
        let (from, to) = mermaid::ends(r.kind);
        let (x1, x2) = (lane_x(from), lane_x(to));
        let y = TOP + ROW * i as f32;
        let sev = r.max_severity().map(|s| s.as_str());
        let top = r.top_annotation();
        let class = match (sev, top) {
            (Some(sv), Some(_)) => format!("arrow annotated sev-{sv}"),
            _ => "arrow".to_string(),
        };
        let gap = prev
            .map(|p| format!("  {}", report::delta(p, r)))
            .unwrap_or_default();
        let (resp, failed) = mermaid::response_label(r);
        let mid = (x1 + x2) / 2.0;
        let _ = write!(
            s,
            "<a class=\"{class}\" href=\"/exchanges/{}\" data-exchange=\"{}\"><title>{}</title>\
<rect class=\"hit\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\
<text class=\"req\" x=\"{mid}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
<line class=\"shaft\" x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" marker-end=\"url(#head)\"/>\
<text class=\"resp{}\" x=\"{mid}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            seg(&r.id),
            esc(&r.id),
            esc(&top
                .map(|a| format!("{}: {}", a.code, a.title))
                .unwrap_or_else(|| mermaid::request_label(r))),
            x1.min(x2) - 4.0,
            y - 26.0,
            (x1 - x2).abs() + 8.0,
            ROW - 12.0,
            y - 7.0,
            esc(&clip(
                &format!("{}. {}{gap}", i + 1, mermaid::request_label(r)),
                50
            )),
            if failed { " failed" } else { "" },
            y + 16.0,
            esc(&clip(&format!("← {resp}"), 50)),
        );
        if let Some(a) = top {
            let mark = match a.severity {
                crate::record::Severity::Error => "✖",
                crate::record::Severity::Warning => "▲",
                crate::record::Severity::Info => "•",
            };
            let _ = write!(
                s,
                "<circle class=\"mark\" cx=\"{}\" cy=\"{y}\" r=\"9\"/><text class=\"marktext\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{mark}</text><text class=\"code\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">{}</text>",
                x1,
                x1,
                y + 4.0,
                if x1 < x2 { x1 - 14.0 } else { x1 + 14.0 },
                y + 4.0,
                if x1 < x2 { "end" } else { "start" },
                esc(&clip(&a.code, 34))
            );
        }
        s.push_str("</a>");
        prev = Some(r);
    }
    s.push_str("</svg>");
    s
}

/// The whole login page for an analysed flow (oldest first).
pub fn flow_page(flow: &str, records: &[Record]) -> String {
    let mut b = format!(
        "<h1>Login <code>{}</code></h1><p class=\"outcome\">{}</p>",
        esc(flow),
        esc(&report::outcome(records))
    );
    let diagnoses: Vec<String> = records
        .iter()
        .flat_map(|r| {
            r.annotations
                .iter()
                .filter(|a| a.code.starts_with("diagnosis."))
                .map(move |a| annotation_item(a, r))
        })
        .collect();
    if !diagnoses.is_empty() {
        let _ = write!(
            b,
            "<section class=\"diagnoses\"><h2>Diagnosis</h2><ul class=\"anns\">{}</ul></section>",
            diagnoses.join("")
        );
    }
    let others: Vec<String> = records
        .iter()
        .flat_map(|r| {
            r.annotations
                .iter()
                .filter(|a| {
                    !a.code.starts_with("diagnosis.")
                        && a.is_listed()
                        && a.severity >= crate::record::Severity::Warning
                })
                .map(move |a| annotation_item(a, r))
        })
        .collect();
    if !others.is_empty() {
        let _ = write!(
            b,
            "<section><h2>Findings</h2><ul class=\"anns\">{}</ul></section>",
            others.join("")
        );
    }
    let f = seg(flow);
    let _ = write!(
        b,
        "<p class=\"actions\">Export this login (secrets redacted): \
<a class=\"button\" id=\"export-har\" href=\"/export?flow={f}&amp;format=har\" download>HAR</a> \
<a class=\"button\" href=\"/export?flow={f}&amp;format=md\" download>Markdown</a> \
<a class=\"button\" href=\"/export?flow={f}&amp;format=json\" download>JSON</a></p>\
<p class=\"actions\"><a class=\"button\" id=\"compare\" href=\"/flows/{f}/compare\">compare with…</a> \
<span class=\"muted\">another login of this capture, side by side (as <code>oauthscope diff</code>)</span></p>"
    );
    b.push_str("<section class=\"picture\"><h2>Sequence</h2><p class=\"muted scrollhint\">The picture keeps its size: scroll it sideways.</p><div class=\"svgwrap\">");
    b.push_str(&sequence_svg(records));
    b.push_str("</div></section>");
    b.push_str(&super::cookies::section(records));
    b.push_str(
        "<section><h2>Exchanges</h2><div class=\"scrollx\"><table class=\"flowlist\"><tbody>",
    );
    for (i, r) in records.iter().enumerate() {
        let top = r
            .top_annotation()
            .map(|a| {
                format!(
                    "<span class=\"sev sev-{}\">{}</span>",
                    a.severity.as_str(),
                    esc(&a.code)
                )
            })
            .unwrap_or_default();
        let _ = write!(
            b,
            "<tr><td>{}</td><td><a href=\"/exchanges/{}\">{}</a></td><td>{}</td><td class=\"path\">{}</td><td>{}</td><td>{top}</td></tr>",
            i + 1,
            seg(&r.id),
            esc(r.kind.as_str()),
            esc(&r.request.method),
            esc(&crate::view::host_path(&r.request.url)),
            r.response
                .as_ref()
                .map(|x| x.status.to_string())
                .unwrap_or_else(|| "—".into())
        );
    }
    b.push_str("</tbody></table></div></section>");
    frame(&format!("login {flow}"), &b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Kind;

    #[test]
    fn one_arrow_per_exchange_each_linking_to_it() {
        let t = time::OffsetDateTime::UNIX_EPOCH;
        let recs = vec![
            Record::bare(
                "0000000000000001",
                t,
                Kind::AuthorizeRequest,
                "GET",
                "https://idp/authorize?x=<y>",
            ),
            Record::bare(
                "0000000000000002",
                t,
                Kind::Callback,
                "GET",
                "http://app/cb",
            ),
            Record::bare(
                "0000000000000003",
                t,
                Kind::TokenRequest,
                "POST",
                "https://idp/token",
            ),
        ];
        let svg = sequence_svg(&recs);
        assert_eq!(svg.matches("<a class=\"arrow").count(), 3);
        assert!(svg.contains("href=\"/exchanges/0000000000000003\""));
        assert!(!svg.contains("<y>"), "labels are escaped");
    }
}

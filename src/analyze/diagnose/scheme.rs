//! `diagnosis.redirect_uri_scheme_downgrade`: the provider refused the
//! `redirect_uri`, the login started over https on a host, and the
//! `redirect_uri` names that host over plain http.
//!
//! The usual story: TLS ends at a proxy or load balancer; the app behind it
//! sees http and builds `http://` redirect URIs from the request it sees
//! (Express without `trust proxy`, Spring Boot without
//! `server.forward-headers-strategy`, Django without
//! `SECURE_PROXY_SSL_HEADER`). The registered URI is the https one, so the
//! provider refuses the authorize request on its own page (RFC 6749
//! §4.1.2.1: it must not redirect to an unverified URI). Evidence: the
//! https URL of a record of the same login on that host (the login start,
//! or the authorize request's `Referer`), and the http `redirect_uri`.

use super::Failure;
use crate::analyze::login::Login;
use crate::analyze::params;
use crate::analyze::{AnalyzeOptions, Finding};
use crate::catalog::annotations as code;
use crate::record::Kind;
use serde_json::json;

/// True when a failure is about the redirect URI (the provider's words or code).
pub fn about_redirect_uri(f: &Failure) -> bool {
    f.codes
        .iter()
        .any(|c| c.to_ascii_lowercase().contains("redirect"))
        || f.has_aadsts(&[50011, 500112, 500113]).is_some()
        || f.says(&[
            "redirect_uri",
            "redirect uri",
            "redirect url",
            "callback url",
        ])
        .is_some()
}

/// Findings over one login.
pub fn diagnose(login: &Login, _opts: &AnalyzeOptions) -> Vec<Finding> {
    let records = login.records;
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        if !matches!(
            rec.kind,
            Kind::AuthorizeRequest
                | Kind::ProviderPage
                | Kind::AuthorizationResponse
                | Kind::Callback
                | Kind::TokenRequest
        ) {
            continue;
        }
        let f = Failure::of(rec);
        if f.is_empty() || !about_redirect_uri(&f) {
            continue;
        }
        // The redirect_uri in question: the token request's own, else the
        // authorization request this record belongs to.
        let sent = (rec.kind == Kind::TokenRequest)
            .then(|| params::get(&params::request_params(rec), "redirect_uri").map(str::to_string))
            .flatten();
        let leg = login.leg_for(i);
        let Some(redirect_uri) =
            sent.or_else(|| leg.and_then(|l| l.get("redirect_uri")).map(str::to_string))
        else {
            continue;
        };
        let Ok(ru) = url::Url::parse(redirect_uri.trim()) else {
            continue;
        };
        if ru.scheme() != "http" {
            continue;
        }
        let Some(host) = ru.host_str().map(str::to_ascii_lowercase) else {
            continue;
        };
        if host == "localhost" || host.starts_with("127.") || host == "[::1]" {
            continue;
        }
        // An https record of the same login on that host: a request the
        // browser made there (the login start), or an authorize request's
        // Referer.
        let https_on_host = |u: &str| {
            url::Url::parse(u).ok().is_some_and(|u| {
                u.scheme() == "https" && u.host_str().is_some_and(|h| h.eq_ignore_ascii_case(&host))
            })
        };
        let seen = records[..=i].iter().find_map(|r| {
            if https_on_host(&r.request.url) {
                return Some((r.id.clone(), "request.url", r.request.url.clone()));
            }
            r.request
                .headers
                .get("referer")
                .filter(|v| https_on_host(v))
                .map(|v| (r.id.clone(), "request.headers.referer", v.to_string()))
        });
        let Some((seen_id, seen_field, seen_url)) = seen else {
            continue;
        };
        let authorize = leg.map(|l| records[l.index].id.clone());
        out.push(Finding::new(
            i,
            code::DIAGNOSIS_REDIRECT_URI_SCHEME_DOWNGRADE
                .annotation(
                    format!(
                        "The provider refused the redirect_uri ({}). The browser reached the app \
                         over https ({seen_url}, record {seen_id}), but the redirect_uri the app \
                         built is `{redirect_uri}`: plain http on the same host. TLS most likely \
                         ends at a proxy in front of the app, which then sees http. Make the app \
                         trust X-Forwarded-Proto (Express `app.set('trust proxy', 1)`, Spring \
                         `server.forward-headers-strategy=framework`, Django \
                         `SECURE_PROXY_SSL_HEADER`, ASP.NET `UseForwardedHeaders`) or set its \
                         public base URL, so it sends the registered https URI.",
                        f.main_code()
                    ),
                    json!({
                        "kinds": ["scheme"],
                        "failing_record": rec.id,
                        "authorize_record": authorize,
                        "redirect_uri": redirect_uri,
                        "https_seen_in": seen_id,
                        "https_url": seen_url,
                        "error": f.to_json(),
                        "fields": [seen_field, "authorize.redirect_uri"],
                    }),
                )
                .about(format!("https://{host} vs http://{host}")),
        ));
        break;
    }
    out
}

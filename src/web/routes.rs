//! The axum router and its handlers (see the route list in [`super`]).

use super::data::{PageQuery, Source};
use super::{assets, compare, flow, guard, html, page, AppState};
use crate::cli::export::{stream, ExportError, Filter, Format};
use crate::record::Record;
use crate::redact::Redactor;
use crate::store::{Query as StoreQuery, StoreError};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use futures::Stream;
use serde::Deserialize;
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;

/// The router with every route behind [`guard::check`].
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/exchanges/{id}", get(exchange))
        .route("/flows/{flow}", get(flow_page))
        .route("/flows/{flow}/compare", get(compare_page))
        .route("/explain", get(explain_index))
        .route("/explain/{code}", get(explain))
        .route("/export", get(export))
        .route("/api/records", get(records))
        .route("/api/events", get(events))
        .route("/api/clear", post(clear))
        .route("/api/login-code", post(login_code))
        .route("/assets/{file}", get(asset))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard::check))
        .with_state(state)
}

fn text(status: StatusCode, msg: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg,
    )
        .into_response()
}

fn store_error(e: StoreError) -> Response {
    let status = match e {
        StoreError::NotFound(_) => StatusCode::NOT_FOUND,
        StoreError::Ambiguous(..) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    text(status, format!("{e}\n"))
}

/// Run store reads and analysis off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(store_error),
        Err(e) => Err(text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"))),
    }
}

/// A one-time login code for `oauthscope ui` (the guard has checked the
/// token and the `Origin`): text, 32 hex digits.
async fn login_code(State(st): State<AppState>) -> Response {
    text(StatusCode::OK, st.codes.mint())
}

async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "404: no such page\n".into())
}

async fn index(State(st): State<AppState>) -> Response {
    let view = match (&st.source, st.cfg.read_only) {
        (Source::Records(_), _) => assets::View::Har,
        (Source::Store(_), true) => assets::View::Stored,
        (Source::Store(_), false) => assets::View::Live,
    };
    Html(assets::index_html(view)).into_response()
}

async fn asset(Path(file): Path<String>) -> Response {
    match assets::get(&file) {
        Some((ct, body)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(ct)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            body,
        )
            .into_response(),
        None => not_found().await,
    }
}

/// `?pane=1`: the exchange's content alone, for the list's side pane.
#[derive(Debug, Deserialize)]
struct ExchangeQuery {
    pane: Option<String>,
}

async fn exchange(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ExchangeQuery>,
) -> Response {
    let src = st.source.clone();
    let cfg = st.cfg.clone();
    match blocking(move || src.exchange(&id, &cfg.analyze)).await {
        Ok((rec, _)) if q.pane.is_some() => Html(page::exchange_body(&rec)).into_response(),
        Ok((rec, _)) => Html(page::exchange_page(&rec)).into_response(),
        Err(r) => r,
    }
}

async fn flow_page(State(st): State<AppState>, Path(flow): Path<String>) -> Response {
    let src = st.source.clone();
    let cfg = st.cfg.clone();
    let f = flow.clone();
    match blocking(move || src.flow_analysed(&f, &cfg.analyze)).await {
        Ok(recs) if recs.is_empty() => text(
            StatusCode::NOT_FOUND,
            format!("no login {flow:?} in this capture\n"),
        ),
        Ok(recs) => Html(flow::flow_page(&flow, &recs)).into_response(),
        Err(r) => r,
    }
}

/// `?with=FLOW`: the login to compare with (none: the picker).
#[derive(Debug, Deserialize)]
struct CompareQuery {
    with: Option<String>,
}

/// An HTML error page with `status`.
fn error_html(status: StatusCode, title: &str, what: &str, back: Option<&str>) -> Response {
    (status, Html(compare::error_page(title, what, back))).into_response()
}

/// "Compare with...": the picker, or the two logins side by side.
async fn compare_page(
    State(st): State<AppState>,
    Path(flow): Path<String>,
    Query(q): Query<CompareQuery>,
) -> Response {
    let with = q.with.filter(|w| !w.is_empty());
    if !compare::valid_flow_id(&flow) {
        return error_html(
            StatusCode::BAD_REQUEST,
            "Not a login id",
            &format!("{flow:?} is not a login id (letters, digits, '.', '_' and '-')."),
            None,
        );
    }
    if let Some(w) = &with {
        if !compare::valid_flow_id(w) {
            return error_html(
                StatusCode::BAD_REQUEST,
                "Not a login id",
                &format!("{w:?} is not a login id (letters, digits, '.', '_' and '-'): pick the other login from the list."),
                Some(&flow),
            );
        }
        if *w == flow {
            return error_html(
                StatusCode::BAD_REQUEST,
                "The same login twice",
                "A login compared with itself has no difference: pick another login.",
                Some(&flow),
            );
        }
    }
    let src = st.source.clone();
    let cfg = st.cfg.clone();
    let f = flow.clone();
    let res = tokio::task::spawn_blocking(move || -> Result<Response, StoreError> {
        let Some(w) = with else {
            let recs = src.flow_analysed(&f, &cfg.analyze)?;
            if recs.is_empty() {
                return Ok(error_html(
                    StatusCode::NOT_FOUND,
                    "No such login",
                    &format!("There is no login {f:?} in this capture."),
                    None,
                ));
            }
            let choices = src.other_logins(&f, 50, &cfg.analyze)?;
            let page = compare::picker_page(&f, &crate::report::outcome(&recs), &choices);
            return Ok(Html(page).into_response());
        };
        let a = src.login_for_diff(&f)?;
        let b = src.login_for_diff(&w)?;
        for (id, side) in [(&f, &a), (&w, &b)] {
            if side.is_empty() {
                return Ok(error_html(
                    StatusCode::NOT_FOUND,
                    "No such login",
                    &format!("There is no login {id:?} in this capture: pick the other login from the list."),
                    Some(&f),
                ));
            }
        }
        let report = crate::analyze::diff::diff(&a, &b);
        Ok(Html(compare::compare_page(&f, &a, &w, &b, &report)).into_response())
    })
    .await;
    match res {
        Ok(Ok(r)) => r,
        Ok(Err(StoreError::NotFound(_))) => error_html(
            StatusCode::NOT_FOUND,
            "No such login",
            "That login is not in this capture.",
            None,
        ),
        Ok(Err(e)) => error_html(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The capture could not be read",
            &e.to_string(),
            None,
        ),
        Err(e) => error_html(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The comparison failed",
            &e.to_string(),
            None,
        ),
    }
}

async fn explain_index() -> Response {
    Html(html::explain_index()).into_response()
}

async fn explain(Path(code): Path<String>) -> Response {
    Html(html::explain_page(&code)).into_response()
}

async fn records(State(st): State<AppState>, Query(q): Query<PageQuery>) -> Response {
    let src = st.source.clone();
    let cfg = st.cfg.clone();
    match blocking(move || src.page(&q, &cfg.analyze)).await {
        Ok(page) => Json(page).into_response(),
        Err(r) => r,
    }
}

/// `?format=har|md|json&flow=`.
#[derive(Debug, Deserialize)]
struct ExportQuery {
    format: Option<String>,
    flow: Option<String>,
    /// Comma-separated record ids: export exactly these (a selection).
    ids: Option<String>,
}

async fn export(State(st): State<AppState>, Query(q): Query<ExportQuery>) -> Response {
    let (format, ext, ct) = match q.format.as_deref().unwrap_or("har") {
        "har" => (Format::Har, "har", "application/json"),
        "md" => (Format::Md, "md", "text/markdown; charset=utf-8"),
        "json" => (Format::Json, "json", "application/json"),
        other => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("unknown format {other:?}: har, md or json\n"),
            )
        }
    };
    let ids: Option<std::collections::HashSet<String>> = q.ids.as_deref().map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    });
    if ids.as_ref().is_some_and(|i| i.len() > MAX_EXPORT_IDS) {
        return text(
            StatusCode::BAD_REQUEST,
            format!("at most {MAX_EXPORT_IDS} exchanges can be selected for one export\n"),
        );
    }
    let selection = ids.is_some();
    let filter = Filter {
        flow: q.flow.clone(),
        ids,
        stored_flows: true,
        ..Filter::default()
    };
    let src = st.source.clone();
    let cfg = st.cfg.clone();
    // The same code as `oauthscope export`: analysed in windows and
    // written record by record (into the response body here).
    let exported = tokio::task::spawn_blocking(move || {
        let mut each = |f: &mut dyn FnMut(Record)| -> Result<(), String> {
            match &src {
                Source::Store(store) => store
                    .query_each(&StoreQuery::default(), |r| {
                        f(r);
                        Ok(())
                    })
                    .map_err(|e| e.to_string()),
                Source::Records(v) => {
                    v.iter().cloned().for_each(&mut *f);
                    Ok(())
                }
            }
        };
        let mut out = Vec::new();
        // Exports from the UI are always redacted (the CLI's --no-redact is explicit).
        let mut redactor = Redactor::new();
        stream(
            &mut each,
            &cfg.analyze,
            &filter,
            format,
            Some(&mut redactor),
            &mut out,
        )
        .map(|n| (n, out))
    })
    .await;
    let body = match exported {
        Ok(Ok((0, _))) => return text(StatusCode::NOT_FOUND, "nothing to export\n".into()),
        Ok(Ok((_, body))) => body,
        Ok(Err(e @ ExportError::Flow(_))) => return text(StatusCode::NOT_FOUND, format!("{e}\n")),
        Ok(Err(e)) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    };
    let name = match (&q.flow, selection) {
        (_, true) => format!("oauthscope-selection.{ext}"),
        (Some(f), false) => format!(
            "oauthscope-login-{}.{ext}",
            f.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        ),
        (None, false) => format!("oauthscope-capture.{ext}"),
    };
    (
        [
            (header::CONTENT_TYPE, ct.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Most exchanges one `/export?ids=` may name.
const MAX_EXPORT_IDS: usize = 10_000;

/// `?flow=`: clear one flow instead of everything.
#[derive(Debug, Deserialize)]
struct ClearQuery {
    flow: Option<String>,
}

async fn clear(State(st): State<AppState>, Query(q): Query<ClearQuery>) -> Response {
    if st.cfg.read_only {
        return text(
            StatusCode::FORBIDDEN,
            "403: this capture is served read-only (a HAR file, or a stored capture while no proxy runs): nothing can be cleared here; stop `oauthscope ui` and use `oauthscope flows clear`\n".into(),
        );
    }
    let src = st.source.clone();
    match blocking(move || src.clear(q.flow.as_deref())).await {
        Ok(n) => Json(serde_json::json!({ "removed": n })).into_response(),
        Err(r) => r,
    }
}

/// The live feed: `ready` once, one `record` per stored exchange,
/// `lagged` when the page should reload its list, and `bye` when the UI
/// stops (the proxy is shutting down: the page says so and reconnects).
async fn events(State(st): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = st.live.subscribe();
    let stop = st.stopping.clone();
    let ready = futures::stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let feed = futures::stream::unfold(
        (rx, stop, false),
        |(mut rx, mut stop, said_bye)| async move {
            if said_bye {
                return None;
            }
            let (next, bye) = tokio::select! {
                _ = stop.wait_for(|s| *s) => (Some(Event::default().event("bye").data("{}")), true),
                m = rx.recv() => match m {
                    Ok(msg) => (Some(Event::default().event("record").data(msg)), false),
                    // Too many at once: the page reloads its list instead.
                    Err(RecvError::Lagged(_)) => (Some(Event::default().event("lagged").data("{}")), false),
                    Err(RecvError::Closed) => (None, false),
                },
            };
            next.map(|e| (Ok(e), (rx, stop, bye)))
        },
    );
    use futures::StreamExt as _;
    Sse::new(ready.chain(feed)).keep_alive(KeepAlive::default())
}

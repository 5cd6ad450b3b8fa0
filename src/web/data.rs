//! Where the UI's records come from, and the summaries the list shows.
//!
//! Pages are read newest first straight from the store and only the flows
//! of the records on the page are analysed (with [`crate::analyze::analyze`],
//! over the flow's records, as `flows show` analyses them), so a page costs
//! the same with 100 exchanges stored or 100 000.

use crate::analyze::{analyze, AnalyzeOptions};
use crate::record::{id_key, Kind, Record, Severity};
use crate::store::{Query, Store, StoreError};
use crate::view;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The records the UI shows.
#[derive(Debug, Clone)]
pub enum Source {
    /// A live store (being recorded into by the proxy, or opened read-only).
    Store(Arc<Store>),
    /// A fixed set of raw records (a HAR file), oldest first, each with its flow.
    Records(Arc<Vec<Record>>),
}

/// Most records scanned for one page: filters that match little stop here
/// and the page says where to go on (`next_before`).
pub const SCAN_LIMIT: usize = 5_000;

/// Most records of one login analysed together: a login that grew past
/// this (a script hammering one refresh token) is analysed over its newest
/// records, so one page never costs more than this many.
pub const FLOW_LIMIT: usize = 2_000;

/// Largest page.
pub const MAX_LIMIT: usize = 1000;

/// Filters and position of a page (the query string of `/api/records`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageQuery {
    /// Only records older than this id.
    pub before: Option<String>,
    /// Records wanted (default 200, at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
    /// Text found (case-insensitively) in the id, method, URL, kind, grant
    /// type, status, or an annotation's code or title.
    pub q: Option<String>,
    /// Only this kind (`token_request`, ...).
    pub kind: Option<String>,
    /// Text found in the request's host.
    pub host: Option<String>,
    /// Only records with an annotation this severe or worse (`info`, `warning`, `error`).
    pub severity: Option<String>,
    /// Only this flow.
    pub flow: Option<String>,
}

/// One row of the list.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Record id.
    pub id: String,
    /// RFC 3339 time.
    pub time: String,
    /// Flow id (the stored one), or null.
    pub flow: Option<String>,
    /// Kind (`token_request`, ...).
    pub kind: String,
    /// HTTP method.
    pub method: String,
    /// `host/path` without the query.
    pub host_path: String,
    /// Response status; null when the upstream failed.
    pub status: Option<u16>,
    /// Grant type of a token request.
    pub grant_type: Option<String>,
    /// `flavour 3`, or the client-authentication method when it is none of the six.
    pub flavour: Option<String>,
    /// The most severe listed annotation (code, severity, title).
    pub top: Option<TopAnnotation>,
    /// The worst severity of any annotation.
    pub severity: Option<String>,
    /// Why no response was received.
    pub error: Option<String>,
    /// The login this row is listed under: its flow, or for a one-off
    /// request (discovery, JWKS, userinfo, ...) the login it serves (see
    /// [`group_one_offs`]), or [`OTHER_GROUP`].
    pub group: String,
    /// A one-off request (discovery, JWKS, userinfo, introspection,
    /// revocation) that is not part of a login by itself.
    pub one_off: bool,
}

/// The group of one-off requests that serve no login seen nearby.
pub const OTHER_GROUP: &str = "other";

/// How far apart in time a one-off request and the login it serves may be.
pub const ONE_OFF_WINDOW: time::Duration = time::Duration::minutes(5);

/// Records looked at on each side of a one-off request to find its login.
const ONE_OFF_CONTEXT: usize = 64;

/// Kinds that are requests of their own, made for a login rather than
/// being one (OpenID Connect Discovery 1.0 §4, RFC 7517 JWKS, OIDC Core
/// §5.3 userinfo, RFC 7662 introspection, RFC 7009 revocation).
pub fn is_one_off_kind(k: Kind) -> bool {
    matches!(
        k,
        Kind::Discovery | Kind::Jwks | Kind::Userinfo | Kind::Introspection | Kind::Revocation
    )
}

/// Kinds that make a login (the legs of an authorization or device grant,
/// and token requests).
fn is_login_kind(k: Kind) -> bool {
    matches!(
        k,
        Kind::LoginStart
            | Kind::AuthorizeRequest
            | Kind::AuthorizationResponse
            | Kind::Callback
            | Kind::TokenRequest
            | Kind::DeviceAuthorization
            | Kind::Par
    )
}

/// The bearer token a one-off request carries (`Authorization: Bearer`,
/// RFC 6750 §2.1, or the `token` parameter of introspection and
/// revocation, RFC 7662 §2.1 / RFC 7009 §2.1).
fn carried_token(r: &Record) -> Option<String> {
    if let Some(auth) = r.request.headers.get("authorization") {
        let auth = auth.trim();
        if auth.len() > 7 && auth[..7].eq_ignore_ascii_case("bearer ") {
            return Some(auth[7..].trim().to_string());
        }
    }
    crate::analyze::params::request_params(r)
        .into_iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v)
}

/// Tokens a token response issued (`access_token`, `refresh_token`, `id_token`).
fn issued_tokens(r: &Record) -> Vec<String> {
    let Some(serde_json::Value::Object(m)) = crate::analyze::params::response_json(r) else {
        return Vec::new();
    };
    ["access_token", "refresh_token", "id_token"]
        .iter()
        .filter_map(|k| m.get(*k).and_then(|v| v.as_str()).map(str::to_string))
        .collect()
}

fn host_of(r: &Record) -> Option<String> {
    r.url()
        .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
}

/// The last two labels of a host (`login.example.com` → `example.com`);
/// an IP address whole.
fn site_of(host: &str) -> &str {
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return host;
    }
    let mut dots = host.rmatch_indices('.');
    match (dots.next(), dots.next()) {
        (Some(_), Some((i, _))) => &host[i + 1..],
        _ => host,
    }
}

/// The login a one-off request `r` serves, among `context` (records near
/// it in time): the login that issued the token it carries; else the
/// nearest login (within [`ONE_OFF_WINDOW`]) on the same host; else on the
/// same site (last two host labels); else `None`. A login is named by its
/// stored flow (or its first record's id).
pub fn login_for(r: &Record, context: &[Record]) -> Option<String> {
    let near: Vec<&Record> = context
        .iter()
        .filter(|c| c.id != r.id && is_login_kind(c.kind))
        .filter(|c| (c.time - r.time).abs() <= ONE_OFF_WINDOW)
        .collect();
    let key = |c: &Record| c.flow.clone().unwrap_or_else(|| c.id.clone());
    if let Some(tok) = carried_token(r).filter(|t| !t.is_empty()) {
        if let Some(c) = near
            .iter()
            .find(|c| c.kind == Kind::TokenRequest && issued_tokens(c).contains(&tok))
        {
            return Some(key(c));
        }
    }
    let host = host_of(r)?;
    let nearest = |same: &dyn Fn(&str) -> bool| {
        near.iter()
            .filter(|c| host_of(c).is_some_and(|h| same(&h)))
            .min_by_key(|c| (c.time - r.time).abs())
            .map(|c| key(c))
    };
    nearest(&|h| h == host).or_else(|| nearest(&|h| site_of(h) == site_of(&host)))
}

/// The annotation a row shows.
#[derive(Debug, Clone, Serialize)]
pub struct TopAnnotation {
    /// Stable code.
    pub code: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// One line.
    pub title: String,
}

/// A page of the list, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// Matching records, newest first.
    pub records: Vec<Summary>,
    /// Pass as `before` for the next (older) page; null when nothing older remains.
    pub next_before: Option<String>,
    /// Records stored in all.
    pub total: usize,
    /// The store's write health (exchanges waiting or lost to a full disk,
    /// known damage); null for a HAR file. The page shows a banner when it
    /// says something is wrong.
    pub health: Option<crate::store::Health>,
    /// The same as one line for people, when something is wrong.
    pub trouble: Option<String>,
}

impl Summary {
    /// The row for an analysed record; `flow` is the stored flow.
    pub fn of(r: &Record, flow: Option<String>) -> Summary {
        Summary {
            id: r.id.clone(),
            time: r.time.format(&Rfc3339).unwrap_or_default(),
            kind: r.kind.as_str().to_string(),
            method: r.request.method.clone(),
            host_path: view::host_path(&r.request.url),
            status: r.response.as_ref().map(|x| x.status),
            grant_type: r.grant_type.clone(),
            flavour: r.flavour.as_ref().map(|f| match f.number {
                Some(n) => format!("flavour {n}"),
                None => f.client_auth.clone(),
            }),
            top: r.top_annotation().map(|a| TopAnnotation {
                code: a.code.clone(),
                severity: a.severity.as_str().to_string(),
                title: a.title.clone(),
            }),
            severity: r.max_severity().map(|s| s.as_str().to_string()),
            error: r.error.clone(),
            group: flow.clone().unwrap_or_else(|| r.id.clone()),
            one_off: is_one_off_kind(r.kind) && flow.as_deref().is_none_or(|f| f == r.id),
            flow,
        }
    }
}

fn severity_of(s: &str) -> Option<Severity> {
    match s {
        "error" => Some(Severity::Error),
        "warning" => Some(Severity::Warning),
        "info" => Some(Severity::Info),
        _ => None,
    }
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase().contains(needle)
}

impl PageQuery {
    fn lower(v: &Option<String>) -> Option<String> {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
    }

    /// Filters on the raw record (no analysis needed).
    fn raw_match(&self, r: &Record, kind: Option<Kind>, host: Option<&str>) -> bool {
        kind.is_none_or(|k| r.kind == k)
            && host.is_none_or(|h| {
                r.url()
                    .and_then(|u| u.host_str().map(|x| contains_ci(x, h)))
                    .unwrap_or(false)
            })
            && self
                .flow
                .as_deref()
                .is_none_or(|f| r.flow.as_deref() == Some(f) || (r.flow.is_none() && r.id == f))
    }
}

fn text_match(r: &Record, q: &str) -> bool {
    contains_ci(&r.id, q)
        || contains_ci(&r.request.method, q)
        || contains_ci(&r.request.url, q)
        || contains_ci(r.kind.as_str(), q)
        || r.grant_type.as_deref().is_some_and(|g| contains_ci(g, q))
        || r.response
            .as_ref()
            .is_some_and(|x| x.status.to_string() == q)
        || r.annotations
            .iter()
            .any(|a| contains_ci(&a.code, q) || contains_ci(&a.title, q))
}

impl Source {
    /// Raw records (a HAR file's), with the flows analysis assigns.
    pub fn records(raw: Vec<Record>, opts: &AnalyzeOptions) -> Source {
        let analysed = analyze(&raw, opts);
        let flows: HashMap<String, Option<String>> =
            analysed.into_iter().map(|r| (r.id, r.flow)).collect();
        let mut raw = raw;
        for r in &mut raw {
            if let Some(f) = flows.get(&r.id) {
                r.flow = f.clone();
            }
        }
        raw.sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
        Source::Records(Arc::new(raw))
    }

    /// Records stored in all.
    pub fn len(&self) -> usize {
        match self {
            Source::Store(s) => s.len(),
            Source::Records(v) => v.len(),
        }
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Raw records before `before`, newest first, until `f` says stop.
    fn each_newest_first(
        &self,
        before: Option<&str>,
        mut f: impl FnMut(Record) -> bool,
    ) -> Result<(), StoreError> {
        match self {
            Source::Store(s) => s.each_newest_first(before.and_then(id_key), |r| Ok(f(r))),
            Source::Records(v) => {
                let end = match before {
                    Some(b) => v.iter().position(|r| r.id == b).unwrap_or(v.len()),
                    None => v.len(),
                };
                for r in v[..end].iter().rev() {
                    if !f(r.clone()) {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    /// One raw record by id (or unique prefix/suffix for a store).
    pub fn get(&self, id: &str) -> Result<Record, StoreError> {
        match self {
            Source::Store(s) => s.get(id),
            Source::Records(v) => v
                .iter()
                .find(|r| r.id == id)
                .cloned()
                .ok_or_else(|| StoreError::NotFound(id.to_string())),
        }
    }

    /// The raw records of a flow, oldest first (the record alone when it has no flow).
    pub fn flow_raw(&self, flow: &str) -> Result<Vec<Record>, StoreError> {
        let mut out = match self {
            Source::Store(s) => s.query(&Query {
                flow: Some(flow.to_string()),
                ..Query::default()
            })?,
            Source::Records(v) => v
                .iter()
                .filter(|r| r.flow.as_deref() == Some(flow))
                .cloned()
                .collect(),
        };
        if out.is_empty() {
            if let Ok(r) = self.get(flow) {
                if r.flow.is_none() {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    /// The flow analysed (its newest [`FLOW_LIMIT`] records), oldest first;
    /// each record keeps its stored flow.
    pub fn flow_analysed(
        &self,
        flow: &str,
        opts: &AnalyzeOptions,
    ) -> Result<Vec<Record>, StoreError> {
        let mut raw = self.flow_raw(flow)?;
        if raw.len() > FLOW_LIMIT {
            raw.drain(..raw.len() - FLOW_LIMIT);
        }
        Ok(analyse_keeping_flows(&raw, opts))
    }

    /// One exchange analysed with the rest of its flow, and that flow.
    pub fn exchange(
        &self,
        id: &str,
        opts: &AnalyzeOptions,
    ) -> Result<(Record, Vec<Record>), StoreError> {
        let raw = self.get(id)?;
        let flow = raw.flow.clone().unwrap_or_else(|| raw.id.clone());
        let mut flow = self.flow_analysed(&flow, opts)?;
        if !flow.iter().any(|r| r.id == raw.id) {
            flow = analyse_keeping_flows(std::slice::from_ref(&raw), opts);
        }
        let rec = flow.iter().find(|r| r.id == raw.id).cloned().unwrap_or(raw);
        Ok((rec, flow))
    }

    /// Everything (or one flow), analysed, oldest first: what exports render.
    pub fn analysed_all(&self, opts: &AnalyzeOptions) -> Result<Vec<Record>, StoreError> {
        let raw = match self {
            Source::Store(s) => s.query(&Query::default())?,
            Source::Records(v) => v.as_ref().clone(),
        };
        Ok(analyse_keeping_flows(&raw, opts))
    }

    /// A page of summaries (see [`PageQuery`]).
    pub fn page(&self, pq: &PageQuery, opts: &AnalyzeOptions) -> Result<Page, StoreError> {
        let limit = pq.limit.unwrap_or(200).clamp(1, MAX_LIMIT);
        let q = PageQuery::lower(&pq.q);
        let host = PageQuery::lower(&pq.host);
        let kind = PageQuery::lower(&pq.kind).and_then(|k| k.parse::<Kind>().ok());
        let min_sev = PageQuery::lower(&pq.severity).and_then(|s| severity_of(&s));
        let mut scanned = 0usize;
        let mut last_scanned: Option<String> = None;
        let mut exhausted = true;
        let mut candidates: Vec<Record> = Vec::new();
        let mut analysed: HashMap<String, HashMap<String, Record>> = HashMap::new();
        let mut out: Vec<Summary> = Vec::new();
        let needs_analysis_to_filter = q.is_some() || min_sev.is_some();
        let mut failed: Option<StoreError> = None;
        let mut kept: Vec<Record> = Vec::new();
        let mut flush = |candidates: &mut Vec<Record>, out: &mut Vec<Summary>| {
            for raw in candidates.drain(..) {
                if out.len() >= limit {
                    break;
                }
                let flow = raw.flow.clone().unwrap_or_else(|| raw.id.clone());
                if !analysed.contains_key(&flow) {
                    let recs = match self.flow_analysed(&flow, opts) {
                        Ok(r) => r,
                        Err(e) => {
                            failed = Some(e);
                            Vec::new()
                        }
                    };
                    analysed.insert(
                        flow.clone(),
                        recs.into_iter().map(|r| (r.id.clone(), r)).collect(),
                    );
                }
                let rec = analysed
                    .get(&flow)
                    .and_then(|m| m.get(&raw.id))
                    .cloned()
                    .unwrap_or_else(|| raw.clone());
                let keep = q.as_deref().is_none_or(|q| text_match(&rec, q))
                    && min_sev.is_none_or(|s| rec.max_severity().is_some_and(|m| m >= s));
                if keep {
                    out.push(Summary::of(&rec, raw.flow.clone()));
                    kept.push(raw);
                }
            }
        };
        self.each_newest_first(pq.before.as_deref(), |r| {
            if out.len() >= limit {
                exhausted = false;
                return false;
            }
            if scanned >= SCAN_LIMIT {
                exhausted = false;
                return false;
            }
            scanned += 1;
            last_scanned = Some(r.id.clone());
            if pq.raw_match(&r, kind, host.as_deref()) {
                candidates.push(r);
                // Analyse in batches, so text and severity filters stop
                // scanning as soon as the page is full.
                if !needs_analysis_to_filter || candidates.len() >= 64 {
                    flush(&mut candidates, &mut out);
                }
            }
            true
        })?;
        flush(&mut candidates, &mut out);
        if let Some(e) = failed {
            return Err(e);
        }
        self.group_one_offs(&mut out, &kept)?;
        let next_before = if out.len() >= limit {
            out.last().map(|s| s.id.clone())
        } else if !exhausted {
            last_scanned
        } else {
            None
        };
        let health = match self {
            Source::Store(s) => Some(s.health()),
            Source::Records(_) => None,
        };
        Ok(Page {
            records: out,
            next_before,
            total: self.len(),
            trouble: health.as_ref().and_then(|h| h.describe()),
            health,
        })
    }

    /// Up to [`ONE_OFF_CONTEXT`] records on each side of `r` (by id, that
    /// is by time), `r` excluded.
    fn around(&self, r: &Record) -> Result<Vec<Record>, StoreError> {
        match self {
            Source::Store(s) => {
                let mut v = s.query(&Query {
                    before_id: Some(r.id.clone()),
                    limit: Some(ONE_OFF_CONTEXT),
                    newest_first: true,
                    ..Query::default()
                })?;
                v.extend(s.query(&Query {
                    after_id: Some(r.id.clone()),
                    limit: Some(ONE_OFF_CONTEXT),
                    ..Query::default()
                })?);
                Ok(v)
            }
            Source::Records(v) => {
                let i = v.iter().position(|x| x.id == r.id).unwrap_or(0);
                let lo = i.saturating_sub(ONE_OFF_CONTEXT);
                let hi = (i + 1 + ONE_OFF_CONTEXT).min(v.len());
                Ok(v[lo..hi].iter().filter(|x| x.id != r.id).cloned().collect())
            }
        }
    }

    /// Put each one-off row of a page under the login it serves (see
    /// [`login_for`]): among the page's own records first, then among the
    /// records stored around it (at most 32 such look-ups a page); rows
    /// that serve no login go to [`OTHER_GROUP`].
    fn group_one_offs(&self, out: &mut [Summary], raws: &[Record]) -> Result<(), StoreError> {
        let mut lookups = 0usize;
        for (s, raw) in out.iter_mut().zip(raws) {
            if !s.one_off {
                continue;
            }
            let mut found = login_for(raw, raws);
            if found.is_none() && lookups < 32 {
                lookups += 1;
                found = login_for(raw, &self.around(raw)?);
            }
            s.group = found.unwrap_or_else(|| OTHER_GROUP.to_string());
        }
        Ok(())
    }

    /// A store query over the source (a HAR file's records filtered in memory).
    pub fn query(&self, q: &Query) -> Result<Vec<Record>, StoreError> {
        match self {
            Source::Store(s) => s.query(q),
            Source::Records(v) => {
                let matching = v.iter().filter(|r| q.matches(r)).cloned();
                let limit = q.limit.unwrap_or(usize::MAX);
                Ok(if q.newest_first {
                    let mut all: Vec<Record> = matching.collect();
                    all.reverse();
                    all.truncate(limit);
                    all
                } else {
                    matching.take(limit).collect()
                })
            }
        }
    }

    /// A login as `oauthscope diff` takes a stored one
    /// ([`crate::cli::diff::login_around`]): its flow's window and what was
    /// captured in the same span, analysed together; the login's records
    /// (with the discovery documents), oldest first. Empty when no such flow.
    pub fn login_for_diff(&self, flow: &str) -> Result<Vec<Record>, StoreError> {
        let Some(last) = self.flow_raw(flow)?.pop() else {
            return Ok(Vec::new());
        };
        let (_, login) = crate::cli::diff::login_around(&last, |q| self.query(q))?;
        Ok(login)
    }

    /// The other logins of the source, newest first (at most `limit`, from
    /// the newest [`SCAN_LIMIT`] records): what "compare with..." offers.
    pub fn other_logins(
        &self,
        flow: &str,
        limit: usize,
        opts: &AnalyzeOptions,
    ) -> Result<Vec<LoginChoice>, StoreError> {
        let mut seen: Vec<String> = vec![flow.to_string()];
        let mut flows: Vec<String> = Vec::new();
        let mut scanned = 0usize;
        self.each_newest_first(None, |r| {
            scanned += 1;
            if is_login_kind(r.kind) {
                let f = r.flow.clone().unwrap_or_else(|| r.id.clone());
                if !seen.contains(&f) {
                    seen.push(f.clone());
                    flows.push(f);
                }
            }
            flows.len() < limit && scanned < SCAN_LIMIT
        })?;
        let mut out = Vec::new();
        for f in flows {
            let recs = self.flow_analysed(&f, opts)?;
            let Some(first) = recs.first() else { continue };
            let main = recs
                .iter()
                .find(|r| matches!(r.kind, Kind::AuthorizeRequest | Kind::LoginStart))
                .unwrap_or(first);
            out.push(LoginChoice {
                flow: f,
                outcome: crate::mcp::logins::outcome_of(&recs).as_str().to_string(),
                headline: crate::report::outcome(&recs),
                host: host_of(main).unwrap_or_default(),
                time: recs
                    .last()
                    .unwrap_or(first)
                    .time
                    .format(&Rfc3339)
                    .unwrap_or_default(),
                exchanges: recs.len(),
            });
        }
        Ok(out)
    }

    /// Remove records (one flow, or all); how many were removed.
    pub fn clear(&self, flow: Option<&str>) -> Result<usize, StoreError> {
        match self {
            Source::Store(s) => s.clear(&Query {
                flow: flow.map(str::to_string),
                ..Query::default()
            }),
            Source::Records(_) => Ok(0),
        }
    }
}

/// One login offered by "compare with...".
#[derive(Debug, Clone, Serialize)]
pub struct LoginChoice {
    /// Its flow id.
    pub flow: String,
    /// `failed`, `recovered` or `succeeded`.
    pub outcome: String,
    /// What failed and why, or that it succeeded (the list's top line).
    pub headline: String,
    /// The host of its authorize request (or first exchange).
    pub host: String,
    /// Its newest exchange's time (RFC 3339).
    pub time: String,
    /// Exchanges in it.
    pub exchanges: usize,
}

/// Analyse `raw` together, then give each record back its stored flow
/// (analysis recomputes flows over what it is shown; the UI groups by the
/// stored ones so that pages and the live feed agree).
fn analyse_keeping_flows(raw: &[Record], opts: &AnalyzeOptions) -> Vec<Record> {
    let flows: HashMap<&str, Option<&String>> = raw
        .iter()
        .map(|r| (r.id.as_str(), r.flow.as_ref()))
        .collect();
    let mut out = analyze(raw, opts);
    for r in &mut out {
        if let Some(Some(f)) = flows.get(r.id.as_str()) {
            r.flow = Some((*f).clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Body, Response};

    /// `n` logins: an authorize request and a token request whose
    /// redirect_uri has an extra slash (an error), one second apart.
    fn capture(n: usize) -> Vec<Record> {
        let t0 = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let mut out = Vec::new();
        for i in 0..n {
            let t = t0 + time::Duration::seconds(2 * i as i64);
            let mut a = Record::bare(
                &format!("{:016x}", 100 + 2 * i),
                t,
                Kind::AuthorizeRequest,
                "GET",
                &format!("https://idp.example/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp%2Fcb&state=s{i}"),
            );
            let mut loc = crate::record::HeaderList::default();
            loc.push("location", format!("https://app/cb?code=c{i}&state=s{i}"));
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
                format!("grant_type=authorization_code&code=c{i}&redirect_uri=https%3A%2F%2Fapp%2Fcb%2F&client_id=app").as_bytes(),
            );
            tk.grant_type = Some("authorization_code".into());
            tk.response = Some(Response {
                status: 400,
                headers: Default::default(),
                body: Body::from_bytes(br#"{"error":"invalid_grant"}"#),
            });
            out.push(a);
            out.push(tk);
        }
        out
    }

    #[test]
    fn pages_go_back_in_time_until_nothing_is_left() {
        let opts = AnalyzeOptions::default();
        let src = Source::records(capture(5), &opts);
        let q = |before: Option<String>| PageQuery {
            before,
            limit: Some(4),
            ..PageQuery::default()
        };
        let p1 = src.page(&q(None), &opts).unwrap();
        assert_eq!(p1.total, 10);
        let ids: Vec<&str> = p1.records.iter().map(|s| s.id.as_str()).collect();
        let want: Vec<String> = (106..110).rev().map(|n| format!("{n:016x}")).collect();
        assert_eq!(ids, want);
        let p2 = src.page(&q(p1.next_before.clone()), &opts).unwrap();
        assert_eq!(p2.records[0].id, format!("{:016x}", 105));
        let p3 = src.page(&q(p2.next_before.clone()), &opts).unwrap();
        assert_eq!(p3.records.len(), 2);
        assert_eq!(p3.next_before, None);
    }

    #[test]
    fn rows_carry_the_analysis_of_their_login_and_filters_apply() {
        let opts = AnalyzeOptions::default();
        let src = Source::records(capture(3), &opts);
        let page = src.page(&PageQuery::default(), &opts).unwrap();
        let token = page
            .records
            .iter()
            .find(|s| s.kind == "token_request")
            .unwrap();
        // The diagnosis leads among errors of the same severity.
        assert_eq!(
            token.top.as_ref().unwrap().code,
            "diagnosis.redirect_uri_mismatch"
        );
        assert_eq!(token.severity.as_deref(), Some("error"));
        let authz = page
            .records
            .iter()
            .find(|s| s.kind == "authorize_request")
            .unwrap();
        assert_eq!(authz.flow, token.flow, "one login");

        let only = |pq: PageQuery| src.page(&pq, &opts).unwrap().records;
        let errors = only(PageQuery {
            severity: Some("error".into()),
            ..PageQuery::default()
        });
        assert!(
            errors.len() >= 3
                && errors
                    .iter()
                    .all(|s| s.severity.as_deref() == Some("error"))
        );
        let kind = only(PageQuery {
            kind: Some("authorize_request".into()),
            ..PageQuery::default()
        });
        assert_eq!(kind.len(), 3);
        let text = only(PageQuery {
            q: Some("TRAILING".into()),
            ..PageQuery::default()
        });
        assert!(
            text.iter().all(|s| s.kind == "token_request") && text.len() == 3,
            "{text:?}"
        );
        let host = only(PageQuery {
            host: Some("nowhere".into()),
            ..PageQuery::default()
        });
        assert!(host.is_empty());
        let flow = only(PageQuery {
            flow: token.flow.clone(),
            ..PageQuery::default()
        });
        assert_eq!(flow.len(), 2);
    }

    #[test]
    fn one_off_requests_join_the_login_they_serve_or_gather_as_other() {
        let opts = AnalyzeOptions::default();
        let mut recs = capture(2);
        let t0 = recs[0].time;
        let one = |id: u64, secs: i64, kind: Kind, url: &str| {
            let mut r = Record::bare(
                &format!("{id:016x}"),
                t0 + time::Duration::seconds(secs),
                kind,
                "GET",
                url,
            );
            r.response = Some(Response {
                status: 200,
                headers: Default::default(),
                body: Body::from_bytes(b"{}"),
            });
            r
        };
        recs.push(one(
            50,
            -1,
            Kind::Discovery,
            "https://idp.example/.well-known/openid-configuration",
        ));
        recs.push(one(150, 1, Kind::Jwks, "https://idp.example/jwks"));
        recs.push(one(151, 2, Kind::Jwks, "https://idp.example/jwks"));
        recs.push(one(
            900,
            3600,
            Kind::Jwks,
            "https://keys.elsewhere.test/jwks",
        ));
        let src = Source::records(recs, &opts);
        let page = src.page(&PageQuery::default(), &opts).unwrap();
        let logins: std::collections::BTreeSet<&str> = page
            .records
            .iter()
            .filter(|s| !s.one_off)
            .map(|s| s.group.as_str())
            .collect();
        assert_eq!(logins.len(), 2, "{page:?}");
        for s in page.records.iter().filter(|s| s.one_off) {
            if s.host_path.starts_with("keys.elsewhere.test") {
                assert_eq!(s.group, OTHER_GROUP, "{s:?}");
            } else {
                assert!(logins.contains(s.group.as_str()), "{s:?} joins a login");
            }
        }
        assert_eq!(page.records.iter().filter(|s| s.one_off).count(), 4);
    }
}

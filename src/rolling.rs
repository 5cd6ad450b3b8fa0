//! Analysis of a capture of any size in bounded memory and linear time.
//!
//! [`crate::analyze::analyze`] wants every record of a login at once. A
//! capture where one flow holds 100 000 records (an app refreshing with the
//! same refresh token for days, a device flow polling, a load test through
//! the proxy) would then be held and analysed whole, once per view. Here a
//! record is analysed inside a *window* of its flow instead:
//!
//! - the flow's first [`HEAD`] records (the authorize leg, the callback and
//!   the code exchange: what later legs are compared with),
//! - up to [`RECENT`] records of the flow just before it,
//! - the records after it in the same batch and the next one (up to
//!   [`BATCH`] records of look-ahead, for rules that look forward),
//! - the latest discovery document of each host.
//!
//! A flow that fits in `HEAD + RECENT` records (every login the rules were
//! written for) is analysed exactly as by `analyze` over the whole capture;
//! longer flows are analysed against their beginning and their recent past.
//!
//! [`Rolling`] is pure: records in (time order), annotated records out, in
//! the same order. [`window_of`] builds one record's window through a query
//! function, for views that show a single record (`flows show`, the live line).

use crate::analyze::{analyze, AnalyzeOptions};
use crate::record::{Kind, Record};
use crate::store::Query;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// Records analysed (and emitted) together; also the look-ahead.
pub const BATCH: usize = 256;
/// The first records of a flow, kept as context for all of its later records.
pub const HEAD: usize = 16;
/// The records of a flow just before a batch, kept as context.
pub const RECENT: usize = 48;
/// Most context records kept over all flows; the flows least recently seen
/// are forgotten first (bounds memory for captures of many flows).
pub const MAX_CONTEXT: usize = 4096;
/// Most hosts whose latest discovery document is kept.
const MAX_DISCOVERY_HOSTS: usize = 64;

/// What is remembered of one flow between batches.
#[derive(Default)]
struct FlowContext {
    head: Vec<Record>,
    recent: VecDeque<Record>,
    last_used: u64,
}

impl FlowContext {
    fn len(&self) -> usize {
        self.head.len() + self.recent.len()
    }
}

/// Streaming analysis; see the module docs.
pub struct Rolling {
    opts: AnalyzeOptions,
    /// Records waiting to be emitted (the current batch), then the look-ahead.
    pending: Vec<Record>,
    flows: HashMap<String, FlowContext>,
    /// `last_used` → flow, to forget the least recently used flows.
    lru: BTreeMap<u64, String>,
    discovery: BTreeMap<String, Record>,
    /// Per client, the raw records of its latest failure not yet followed
    /// by a success (the failing record and its login's first records), so
    /// a later retry's `diagnosis.recovered` is found as in a whole-capture
    /// analysis ([`crate::analyze::outcome`]).
    failures: HashMap<String, Vec<Record>>,
    /// Per sibling key (kind, endpoint, client, grant), the latest success,
    /// so a later failure's `evidence.nearest_success` is the one a
    /// whole-capture analysis finds ([`crate::analyze::diagnose::sibling`]).
    successes: HashMap<String, Record>,
    context_len: usize,
    clock: u64,
}

/// Most sibling keys whose latest success is kept as context.
const MAX_SUCCESS_KEYS: usize = 256;

/// Most clients whose latest failure is kept as context.
const MAX_FAILING_CLIENTS: usize = 64;

fn flow_of(r: &Record) -> &str {
    r.flow.as_deref().unwrap_or(r.id.as_str())
}

impl Rolling {
    /// A new analysis with these options.
    pub fn new(opts: AnalyzeOptions) -> Rolling {
        Rolling {
            opts,
            pending: Vec::with_capacity(2 * BATCH),
            flows: HashMap::new(),
            lru: BTreeMap::new(),
            discovery: BTreeMap::new(),
            failures: HashMap::new(),
            successes: HashMap::new(),
            context_len: 0,
            clock: 0,
        }
    }

    /// Add the next record (raw, as stored; time order). Records whose
    /// analysis is complete are passed to `emit`, in input order.
    pub fn push(&mut self, rec: Record, emit: &mut impl FnMut(Record)) {
        self.pending.push(rec);
        if self.pending.len() >= 2 * BATCH {
            self.run(BATCH, emit);
        }
    }

    /// No more records: analyse and emit the rest.
    pub fn finish(mut self, emit: &mut impl FnMut(Record)) {
        while !self.pending.is_empty() {
            let n = self.pending.len().min(BATCH);
            self.run(n, emit);
        }
    }

    /// Analyse the pending records with their flows' context and emit the first `n`.
    fn run(&mut self, n: usize, emit: &mut impl FnMut(Record)) {
        let mut window: Vec<Record> = self.discovery.values().cloned().collect();
        let mut seen_flows = HashSet::new();
        let mut in_window: HashSet<String> = window.iter().map(|r| r.id.clone()).collect();
        for c in self
            .failures
            .values()
            .flatten()
            .chain(self.successes.values())
        {
            if in_window.insert(c.id.clone()) {
                window.push(c.clone());
            }
        }
        // Context records go in time order, as the capture has them.
        window.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        for r in &self.pending {
            let flow = flow_of(r);
            if seen_flows.insert(flow.to_string()) {
                if let Some(ctx) = self.flows.get(flow) {
                    for c in ctx.head.iter().chain(ctx.recent.iter()) {
                        if in_window.insert(c.id.clone()) {
                            window.push(c.clone());
                        }
                    }
                }
            }
        }
        for r in &self.pending {
            if in_window.insert(r.id.clone()) {
                window.push(r.clone());
            }
        }
        let analysed = analyze(&window, &self.opts);
        let mut by_id: HashMap<&str, &Record> = HashMap::with_capacity(analysed.len());
        for a in &analysed {
            by_id.insert(a.id.as_str(), a);
        }
        let done: Vec<Record> = self.pending.drain(..n).collect();
        let clients = crate::analyze::outcome::clients(&analysed);
        for raw in &done {
            let shown = by_id
                .get(raw.id.as_str())
                .map(|a| (*a).clone())
                .unwrap_or_else(|| raw.clone());
            if let Some(k) = crate::analyze::diagnose::sibling::success_key(&shown, &clients) {
                if self.successes.contains_key(&k) || self.successes.len() < MAX_SUCCESS_KEYS {
                    self.successes.insert(k, raw.clone());
                }
            }
            let client = shown.flow.as_deref().and_then(|f| clients.get(f)).cloned();
            if let Some(client) = client {
                if crate::analyze::outcome::succeeded(&shown) {
                    self.failures.remove(&client);
                } else if crate::analyze::outcome::failed(&shown)
                    && (self.failures.contains_key(&client)
                        || self.failures.len() < MAX_FAILING_CLIENTS)
                {
                    let mut keep: Vec<Record> = self
                        .flows
                        .get(flow_of(raw))
                        .map(|c| c.head.clone())
                        .unwrap_or_default();
                    keep.push(raw.clone());
                    self.failures.insert(client, keep);
                }
            }
            emit(shown);
        }
        drop(by_id);
        for raw in done {
            self.remember(raw);
        }
        self.forget_old_flows();
    }

    /// Keep an emitted (raw) record as context for the rest of its flow.
    fn remember(&mut self, raw: Record) {
        if raw.kind == Kind::Discovery {
            let host = raw
                .url()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            if self.discovery.contains_key(&host) || self.discovery.len() < MAX_DISCOVERY_HOSTS {
                self.discovery.insert(host, raw.clone());
            }
        }
        self.clock += 1;
        let flow = flow_of(&raw).to_string();
        let ctx = self.flows.entry(flow.clone()).or_default();
        self.lru.remove(&ctx.last_used);
        ctx.last_used = self.clock;
        self.lru.insert(self.clock, flow);
        if ctx.head.len() < HEAD {
            ctx.head.push(raw);
        } else {
            ctx.recent.push_back(raw);
            if ctx.recent.len() > RECENT {
                ctx.recent.pop_front();
                return;
            }
        }
        self.context_len += 1;
    }

    fn forget_old_flows(&mut self) {
        while self.context_len > MAX_CONTEXT {
            let Some((_, flow)) = self.lru.pop_first() else {
                break;
            };
            if let Some(ctx) = self.flows.remove(&flow) {
                self.context_len -= ctx.len();
            }
        }
    }
}

/// Analyse every record of `records` (time order) in windows: what
/// [`Rolling`] emits, collected. Linear in the number of records.
pub fn analyze_all(
    records: impl IntoIterator<Item = Record>,
    opts: &AnalyzeOptions,
) -> Vec<Record> {
    let mut out = Vec::new();
    let mut rolling = Rolling::new(opts.clone());
    let mut emit = |r| out.push(r);
    for r in records {
        rolling.push(r, &mut emit);
    }
    rolling.finish(&mut emit);
    out
}

/// Records of other flows kept around a record shown alone (with
/// `ahead`), each side: the capture-wide passes (a retry that recovered,
/// the nearest successful sibling) then judge it as a whole-capture
/// listing does.
pub const NEIGHBOURS: usize = 64;

/// How far around a record its neighbours are read: the outcome pass's
/// retry window ([`crate::analyze::outcome`]).
const NEIGHBOUR_SPAN: time::Duration = time::Duration::minutes(30);

/// The records `rec` is analysed with when it is shown alone: its flow's
/// first [`HEAD`] records, the [`RECENT`] before it, with `ahead`, up to
/// [`BATCH`] after it and up to [`NEIGHBOURS`] records of any flow on each
/// side within 30 minutes, and (with `discovery`) the latest discovery
/// documents. `query` runs a store query (see [`crate::store::Query`]);
/// every query is bounded by a limit, except the discovery one, which reads
/// the capture once but keeps only [`MAX_DISCOVERY_HOSTS`] records.
pub fn window_of<E>(
    rec: &Record,
    ahead: bool,
    discovery: bool,
    mut query: impl FnMut(&Query) -> Result<Vec<Record>, E>,
) -> Result<Vec<Record>, E> {
    let mut window: Vec<Record> = Vec::new();
    if discovery {
        let mut hosts = HashSet::new();
        for d in query(&Query {
            kind: Some(Kind::Discovery),
            newest_first: true,
            limit: Some(4 * MAX_DISCOVERY_HOSTS),
            ..Query::default()
        })? {
            let host = d
                .url()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            if hosts.len() < MAX_DISCOVERY_HOSTS && hosts.insert(host) {
                window.push(d);
            }
        }
    }
    if let Some(flow) = &rec.flow {
        let in_flow = |extra: Query| Query {
            flow: Some(flow.clone()),
            ..extra
        };
        window.extend(query(&in_flow(Query {
            limit: Some(HEAD),
            ..Query::default()
        }))?);
        window.extend(query(&in_flow(Query {
            before_id: Some(rec.id.clone()),
            newest_first: true,
            limit: Some(RECENT),
            ..Query::default()
        }))?);
        if ahead {
            window.extend(query(&in_flow(Query {
                after_id: Some(rec.id.clone()),
                limit: Some(BATCH),
                ..Query::default()
            }))?);
        }
    }
    if ahead {
        window.extend(query(&Query {
            before_id: Some(rec.id.clone()),
            since: rec.time.checked_sub(NEIGHBOUR_SPAN),
            newest_first: true,
            limit: Some(NEIGHBOURS),
            ..Query::default()
        })?);
        window.extend(query(&Query {
            after_id: Some(rec.id.clone()),
            before: rec.time.checked_add(NEIGHBOUR_SPAN),
            limit: Some(NEIGHBOURS),
            ..Query::default()
        })?);
    }
    window.push(rec.clone());
    let mut seen = HashSet::new();
    window.retain(|r| seen.insert(r.id.clone()));
    Ok(window)
}

/// `rec` analysed within its window (see [`window_of`]).
pub fn analyse_in_window(rec: &Record, window: &[Record], opts: &AnalyzeOptions) -> Record {
    analyze(window, opts)
        .into_iter()
        .find(|r| r.id == rec.id)
        .unwrap_or_else(|| rec.clone())
}

//! The analysis engine: records in, annotated records out. No I/O.
//!
//! [`analyze`] runs the same steps on live captures and on HAR imports:
//! 1. [`flavour::detect`] on every token request,
//! 2. [`correlate::assign_flows`] links legs of one login into a flow,
//! 3. each rule family (one file each) adds [`Finding`]s,
//! 4. [`diagnose`] looks at the whole flow, with the first findings attached,
//!    and says what caused an error,
//! 5. over the whole capture: each diagnosed failure's nearest successful
//!    sibling ([`diagnose::sibling`]) and each login's outcome ([`outcome`]).

pub mod authorize;
pub mod classify;
pub mod client_id;
pub mod cookies;
pub mod correlate;
pub mod diagnose;
pub mod diff;
pub mod errors;
pub mod flavour;
pub mod issuer;
pub mod jose;
pub mod jwt;
pub mod login;
pub mod outcome;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod refute;
pub mod state;
pub mod tokens;

/// Record and flow builders shared by the rule families' unit tests.
#[cfg(test)]
pub(crate) mod testkit;

use crate::record::{Annotation, Kind, Record, Severity};

/// User-supplied facts the analysis cannot see on the wire.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeOptions {
    /// Redirect URIs registered with the provider (`--registered-redirect`).
    pub registered_redirects: Vec<String>,
}

/// One annotation for the record at index `record` of the analysed slice.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Index into the records passed to the rule.
    pub record: usize,
    /// What was found.
    pub annotation: Annotation,
}

impl Finding {
    /// Shorthand constructor.
    pub fn new(record: usize, annotation: Annotation) -> Finding {
        Finding { record, annotation }
    }
}

/// A rule family: one login (its records in time order, flows and flavours
/// set, read once into [`login::Login`]) → findings.
pub type Rule = fn(&login::Login, &AnalyzeOptions) -> Vec<Finding>;

/// Analyse records (in time order): set `flow` and `flavour`, and replace
/// `annotations` with everything the rules find, most severe first.
pub fn analyze(records: &[Record], opts: &AnalyzeOptions) -> Vec<Record> {
    let mut out: Vec<Record> = records.to_vec();
    out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    for r in &mut out {
        r.annotations.clear();
        r.flavour = if r.kind == Kind::TokenRequest {
            flavour::detect(r)
        } else {
            None
        };
    }
    correlate::assign_flows(&mut out);

    // `state` compares a callback with every authorize request of the
    // capture (a state that matches none is the finding). The other rules
    // compare records within one login, so they run flow by flow, with the
    // capture's discovery documents as context: a long capture of unrelated
    // exchanges then costs linear time, not quadratic.
    let state_findings = state::annotate(&login::Login::build(&out), opts);
    attach(&mut out, state_findings);
    // Cookies too: two logins on one browser session are two flows.
    let cookie_findings = diagnose::cookies::diagnose(&out);
    attach(&mut out, cookie_findings);
    let groups = flow_groups(&out);
    if groups.members.len() <= 1 {
        analyze_flow(&mut out, opts);
        finish(&mut out);
        return out;
    }
    for members in &groups.members {
        let mut idx = members.clone();
        idx.extend(
            groups
                .context
                .iter()
                .filter(|c| members.binary_search(c).is_err()),
        );
        idx.sort_unstable();
        let mut slice: Vec<Record> = idx.iter().map(|&i| out[i].clone()).collect();
        analyze_flow(&mut slice, opts);
        // Context records that belong to another flow are reported by that
        // flow's own run.
        for (k, &i) in idx.iter().enumerate() {
            if members.binary_search(&i).is_ok() {
                out[i].annotations = std::mem::take(&mut slice[k].annotations);
            }
        }
    }
    finish(&mut out);
    out
}

/// The passes over the whole capture once every flow is diagnosed: each
/// failure's nearest successful sibling (from any login of the same
/// client, [`diagnose::sibling`]), then the logins' outcomes.
fn finish(out: &mut [Record]) {
    diagnose::sibling::apply(out);
    outcome::apply(out);
    sort_annotations(out);
}

fn sort_annotations(records: &mut [Record]) {
    for r in records {
        r.annotations.sort_by_key(|a| std::cmp::Reverse(a.severity));
    }
}

/// The per-flow rule families, in the order their findings are listed.
const PER_FLOW: [Rule; 9] = [
    flavour::annotate,
    issuer::annotate,
    redirect_uri::annotate,
    client_id::annotate,
    pkce::annotate,
    jwt::annotate,
    tokens::annotate,
    errors::annotate,
    correlate::annotate,
];

/// Run the per-flow rules over one flow (plus context), attach what they
/// find, then diagnose the flow with those findings attached.
fn analyze_flow(records: &mut [Record], opts: &AnalyzeOptions) {
    let login = login::Login::build(records);
    let mut findings = Vec::new();
    for rule in PER_FLOW {
        findings.extend(rule(&login, opts));
    }
    let _ = refute::apply(&login, &mut findings);
    drop(login);
    attach(records, findings);
    // The diagnoses read the first findings, so the login is read again
    // with them attached.
    let login = login::Login::build(records);
    let mut diagnoses = diagnose::annotate(&login, opts);
    let _ = refute::apply(&login, &mut diagnoses);
    drop(login);
    attach(records, diagnoses);
}

/// Indices of each flow's records (in time order), plus, per flow, the
/// context records it may consult: the latest discovery document and JWKS
/// of each host.
struct FlowGroups {
    members: Vec<Vec<usize>>,
    context: Vec<usize>,
}

fn flow_groups(records: &[Record]) -> FlowGroups {
    let mut by_flow: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut discovery: std::collections::BTreeMap<String, usize> =
        std::collections::BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        let flow = r.flow.as_deref().unwrap_or(r.id.as_str());
        let g = *by_flow.entry(flow).or_insert_with(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        members[g].push(i);
        if matches!(r.kind, Kind::Discovery | Kind::Jwks) {
            let host = r
                .url()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            discovery.insert(format!("{:?} {host}", r.kind), i);
        }
    }
    FlowGroups {
        members,
        context: discovery.into_values().collect(),
    }
}

fn attach(records: &mut [Record], findings: Vec<Finding>) {
    for f in findings {
        if let Some(r) = records.get_mut(f.record) {
            if !r
                .annotations
                .iter()
                .any(|a| a.code == f.annotation.code && a.evidence == f.annotation.evidence)
            {
                r.annotations.push(f.annotation);
            }
        }
    }
    for r in records {
        // Most severe first; stable so rule order breaks ties.
        r.annotations.sort_by_key(|a| std::cmp::Reverse(a.severity));
    }
}

/// The worst severity across all records.
pub fn worst_severity(records: &[Record]) -> Option<Severity> {
    records.iter().filter_map(Record::max_severity).max()
}

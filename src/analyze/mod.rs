//! The analysis engine: records in, annotated records out. No I/O.
//!
//! [`analyze`] runs the same steps on live captures and on HAR imports:
//! 1. [`flavour::detect`] on every token request,
//! 2. [`correlate::assign_flows`] links legs of one login into a flow,
//! 3. each rule family (one file each) adds [`Finding`]s,
//! 4. [`diagnose`] looks at the whole flow, with the first findings attached,
//!    and says what caused an error.

pub mod classify;
pub mod client_id;
pub mod correlate;
pub mod diagnose;
pub mod errors;
pub mod flavour;
pub mod jwt;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
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

/// A rule family: records in time order (flows and flavours set) → findings.
pub type Rule = fn(&[Record], &AnalyzeOptions) -> Vec<Finding>;

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
    let groups = flow_groups(&out);
    let per_flow: [Rule; 8] = [
        flavour::annotate,
        redirect_uri::annotate,
        client_id::annotate,
        pkce::annotate,
        jwt::annotate,
        tokens::annotate,
        errors::annotate,
        correlate::annotate,
    ];
    let mut findings = state::annotate(&out, opts);
    findings.extend(per_group(&out, &groups, &per_flow, opts));
    attach(&mut out, findings);
    let diagnoses = per_group(&out, &groups, &[diagnose::annotate], opts);
    attach(&mut out, diagnoses);
    out
}

/// Indices of each flow's records (in time order), plus, per flow, the
/// context records it may consult: the latest discovery document of each host.
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
        if r.kind == Kind::Discovery {
            let host = r
                .url()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            discovery.insert(host, i);
        }
    }
    FlowGroups {
        members,
        context: discovery.into_values().collect(),
    }
}

/// Run `rules` over each flow (with its context records) and map the
/// findings back to indices of `records`. Findings on context records that
/// belong to another flow are dropped: that flow's own run reports them.
fn per_group(
    records: &[Record],
    groups: &FlowGroups,
    rules: &[Rule],
    opts: &AnalyzeOptions,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if groups.members.len() <= 1 {
        for rule in rules {
            out.extend(rule(records, opts));
        }
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
        let slice: Vec<Record> = idx.iter().map(|&i| records[i].clone()).collect();
        for rule in rules {
            for f in rule(&slice, opts) {
                let global = idx[f.record];
                if members.binary_search(&global).is_ok() {
                    out.push(Finding::new(global, f.annotation));
                }
            }
        }
    }
    out
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

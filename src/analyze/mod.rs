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

    let rules: [Rule; 9] = [
        flavour::annotate,
        redirect_uri::annotate,
        client_id::annotate,
        pkce::annotate,
        state::annotate,
        jwt::annotate,
        tokens::annotate,
        errors::annotate,
        correlate::annotate,
    ];
    let mut findings = Vec::new();
    for rule in rules {
        findings.extend(rule(&out, opts));
    }
    attach(&mut out, findings);
    let diagnoses = diagnose::annotate(&out, opts);
    attach(&mut out, diagnoses);
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

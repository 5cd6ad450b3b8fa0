//! Causes, each checked against the records: supported, ruled out, or
//! cannot tell — never merely listed.
//!
//! A [`Cause`] is declared once: its name (the `evidence.kinds` value when
//! it is supported), the failure it can explain, and the check over the
//! login model that returns a [`Verdict`] with its evidence. A diagnosis
//! evaluates every cause that applies to its failure ([`assess`]), shows
//! each verdict (`evidence.causes`), puts the supported ones first
//! (`evidence.kinds`), and takes error severity only when one is supported
//! (issue 17: "no 'rotate the secret' without evidence the secret is
//! wrong"). A newcomer adds a cause as one entry of a table next to its check.

use super::Failure;
use crate::analyze::login::Login;
use serde_json::{json, Value};

/// What the records say about one cause.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The records show it; the text says how.
    Supported(String, Value),
    /// The records rule it out; the text says which record and why.
    RuledOut(String, Value),
    /// Nothing on the wire settles it; the text says what would.
    CannotTell(String),
    /// The cause does not apply to this failure (not shown).
    NotApplicable,
}

/// One possible cause of a failure.
#[derive(Debug, Clone, Copy)]
pub struct Cause {
    /// Its name in `evidence.kinds` / `evidence.causes` (`secret_id`, `region`, ...).
    pub name: &'static str,
    /// What it is, in words ("the secret's ID was sent instead of its value").
    pub what: &'static str,
    /// The check: the login, the failing record's index, its failure.
    pub check: fn(&Login, usize, &Failure) -> Verdict,
}

/// The result of [`assess`]: every applicable cause with its verdict.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// `(cause, verdict)`, supported first, then cannot tell, then ruled out.
    pub verdicts: Vec<(Cause, Verdict)>,
}

/// Evaluate `causes` for the failing record `i` of `login`.
pub fn assess(login: &Login, i: usize, f: &Failure, causes: &[Cause]) -> Assessment {
    let mut verdicts: Vec<(Cause, Verdict)> = causes
        .iter()
        .map(|c| (*c, (c.check)(login, i, f)))
        .filter(|(_, v)| *v != Verdict::NotApplicable)
        .collect();
    verdicts.sort_by_key(|(_, v)| match v {
        Verdict::Supported(..) => 0,
        Verdict::CannotTell(_) => 1,
        Verdict::RuledOut(..) => 2,
        Verdict::NotApplicable => 3,
    });
    Assessment { verdicts }
}

impl Assessment {
    /// Names of the supported causes, in order (`evidence.kinds`).
    pub fn supported(&self) -> Vec<&'static str> {
        self.verdicts
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::Supported(..)))
            .map(|(c, _)| c.name)
            .collect()
    }

    /// True when at least one cause is supported.
    pub fn any_supported(&self) -> bool {
        !self.supported().is_empty()
    }

    /// The texts of the supported causes.
    pub fn supported_texts(&self) -> Vec<String> {
        self.verdicts
            .iter()
            .filter_map(|(_, v)| match v {
                Verdict::Supported(t, _) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    /// One sentence per verdict group, for an annotation's detail.
    pub fn summary(&self) -> String {
        self.summary_except("")
    }

    /// [`Assessment::summary`] without the cause named `skip` (the one the
    /// detail already headlines).
    pub fn summary_except(&self, skip: &str) -> String {
        let group = |pick: fn(&Verdict) -> Option<&str>| -> Vec<String> {
            self.verdicts
                .iter()
                .filter(|(c, _)| c.name != skip)
                .filter_map(|(c, v)| pick(v).map(|t| format!("{} ({t})", c.what)))
                .collect()
        };
        let mut parts = Vec::new();
        let sup = group(|v| match v {
            Verdict::Supported(t, _) => Some(t),
            _ => None,
        });
        let out = group(|v| match v {
            Verdict::RuledOut(t, _) => Some(t),
            _ => None,
        });
        let open = group(|v| match v {
            Verdict::CannotTell(t) => Some(t),
            _ => None,
        });
        if !sup.is_empty() {
            parts.push(format!("Supported by the records: {}.", sup.join("; ")));
        }
        if !out.is_empty() {
            parts.push(format!("Ruled out: {}.", out.join("; ")));
        }
        if !open.is_empty() {
            parts.push(format!(
                "Cannot tell from the capture: {}.",
                open.join("; ")
            ));
        }
        parts.join(" ")
    }

    /// `evidence.causes`: `[{cause, verdict, why, evidence?}]`.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.verdicts
                .iter()
                .map(|(c, v)| {
                    let (verdict, why, ev) = match v {
                        Verdict::Supported(t, e) => ("supported", t.as_str(), Some(e)),
                        Verdict::RuledOut(t, e) => ("ruled_out", t.as_str(), Some(e)),
                        Verdict::CannotTell(t) => ("cannot_tell", t.as_str(), None),
                        Verdict::NotApplicable => ("not_applicable", "", None),
                    };
                    let mut o = json!({ "cause": c.name, "verdict": verdict, "why": why });
                    if let Some(e) = ev.filter(|e| !e.is_null()) {
                        o["evidence"] = e.clone();
                    }
                    o
                })
                .collect(),
        )
    }
}

//! Issue 17's field corpus (`tests/fixtures/corpus/`): public bug reports and
//! clean logins replayed as HAR files, each with an expectation written before
//! the tool ever ran on it (see that folder's README and git history).
//!
//! Every case goes through the real binary, as a user runs it
//! (`oauthscope --home TMP analyze FILE --json`), and is checked with the rules
//! of `../shared/field/check.py`, ported here:
//! - `must`: every entry present; `a|b` = any of; `code:kind` = that kind in
//!   the annotation's `evidence.kinds`;
//! - `flavours`: the flavour numbers of the `token_request` records, in order
//!   (`null` = none);
//! - `forbid_error`: no error-severity annotation other than `error.*`, the
//!   `must` codes and `allow`;
//! - `forbid`: none of these codes (`code@severity` = only at that severity);
//!
//! plus one rule of this corpus: `clean: true` = no annotation at warning or
//! error severity at all (a correct login must look correct).
//!
//! Cases that fail today are listed in `pending.json` (file -> one-line
//! reason). The test fails if a case not listed there fails, and also if a
//! listed case now passes, so the list stays honest; it prints the score.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

fn read_json(name: &str) -> Map<String, Value> {
    let path = corpus_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => m,
        other => panic!("{}: not a JSON object: {other:?}", path.display()),
    }
}

/// The cases of `expect.json` (keys starting with `_` are comments).
fn expectations() -> BTreeMap<String, Value> {
    read_json("expect.json")
        .into_iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .collect()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().expect("a string").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// `oauthscope analyze FILE --json` through the real binary: the records, or
/// why there are none.
fn analyze(home: &Path, file: &Path) -> Result<Vec<Value>, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(home)
        .arg("analyze")
        .arg(file)
        .arg("--json")
        .output()
        .map_err(|e| format!("could not run oauthscope: {e}"))?;
    match serde_json::from_slice::<Value>(&out.stdout) {
        Ok(Value::Array(recs)) => Ok(recs),
        Ok(Value::Object(o)) => Ok(o
            .get("records")
            .or_else(|| o.get("exchanges"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()),
        _ => Err(format!(
            "no JSON (status {}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .chars()
                .take(160)
                .collect::<String>()
        )),
    }
}

/// The problems of one case against its expectation (check.py's rules plus
/// `clean`); empty when the case passes.
fn check(recs: &[Value], exp: &Value) -> Vec<String> {
    let anns: Vec<&Value> = recs
        .iter()
        .flat_map(|r| r["annotations"].as_array().into_iter().flatten())
        .collect();
    let code = |a: &Value| a["code"].as_str().unwrap_or("").to_string();
    let severity = |a: &Value| a["severity"].as_str().unwrap_or("").to_string();
    let mut have: HashSet<String> = HashSet::new();
    let mut sev: HashMap<String, HashSet<String>> = HashMap::new();
    for a in &anns {
        let c = code(a);
        have.insert(c.clone());
        sev.entry(c.clone()).or_default().insert(severity(a));
        for k in a["evidence"]["kinds"].as_array().into_iter().flatten() {
            if let Some(k) = k.as_str() {
                have.insert(format!("{c}:{k}"));
            }
        }
    }
    let mut problems = Vec::new();
    let must = strings(exp.get("must"));
    for m in &must {
        if !m.split('|').any(|alt| have.contains(alt)) {
            problems.push(format!("missing {m}"));
        }
    }
    let mut must_codes: BTreeSet<String> = must
        .iter()
        .flat_map(|m| m.split('|'))
        .map(|alt| alt.split(':').next().unwrap_or("").to_string())
        .collect();
    must_codes.extend(strings(exp.get("allow")));
    if exp.get("forbid_error").and_then(Value::as_bool) == Some(true) {
        let bad: BTreeSet<String> = anns
            .iter()
            .filter(|a| severity(a) == "error")
            .map(|a| code(a))
            .filter(|c| !c.starts_with("error.") && !must_codes.contains(c))
            .collect();
        if !bad.is_empty() {
            problems.push(format!(
                "error severity on {}",
                bad.into_iter().collect::<Vec<_>>().join(",")
            ));
        }
    }
    for f in strings(exp.get("forbid")) {
        let (c, at) = f.split_once('@').unwrap_or((f.as_str(), ""));
        if have.contains(c) && (at.is_empty() || sev.get(c).is_some_and(|s| s.contains(at))) {
            problems.push(format!("forbidden {f}"));
        }
    }
    if let Some(want) = exp.get("flavours") {
        let got: Vec<Value> = recs
            .iter()
            .filter(|r| r["kind"] == "token_request")
            .map(|r| r["flavour"]["number"].clone())
            .collect();
        if Value::Array(got.clone()) != *want {
            problems.push(format!("flavours {} != {want}", Value::Array(got)));
        }
    }
    if exp.get("clean").and_then(Value::as_bool) == Some(true) {
        let loud: BTreeSet<String> = anns
            .iter()
            .filter(|a| matches!(severity(a).as_str(), "error" | "warning"))
            .map(|a| format!("{}@{}", code(a), severity(a)))
            .collect();
        if !loud.is_empty() {
            problems.push(format!(
                "not clean: {}",
                loud.into_iter().collect::<Vec<_>>().join(",")
            ));
        }
    }
    problems
}

/// The corpus is what the issue asks for: enough failing and clean cases,
/// every HAR with an expectation and a README row, every expectation with a
/// HAR, and `pending.json` naming only cases that exist.
#[test]
fn corpus_is_complete() {
    let expect = expectations();
    let readme = std::fs::read_to_string(corpus_dir().join("README.md")).unwrap();
    let hars: BTreeSet<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".har"))
        .collect();
    let named: BTreeSet<String> = expect.keys().cloned().collect();
    assert_eq!(hars, named, "HAR files and expect.json differ");
    for name in &hars {
        let row = format!("| {} |", name.trim_end_matches(".har"));
        assert!(readme.contains(&row), "{name}: no README row");
    }
    let clean = expect
        .values()
        .filter(|e| e.get("clean").and_then(Value::as_bool) == Some(true))
        .count();
    assert!(clean >= 8, "{clean} clean logins, the issue asks for 8");
    assert!(
        expect.len() - clean >= 40,
        "{} failure cases, the issue asks for 40",
        expect.len() - clean
    );
    for name in read_json("pending.json").keys() {
        assert!(
            expect.contains_key(name),
            "pending.json names {name}: no such case"
        );
    }
}

#[test]
fn corpus_diagnosed_as_expected_or_pending() {
    let expect = expectations();
    let pending = read_json("pending.json");
    let home = tempfile::tempdir().unwrap();
    let mut failed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, exp) in &expect {
        let problems = match analyze(home.path(), &corpus_dir().join(name)) {
            Ok(recs) => check(&recs, exp),
            Err(e) => vec![e],
        };
        if !problems.is_empty() {
            failed.insert(name.clone(), problems);
        }
    }
    let passed = expect.len() - failed.len();
    println!(
        "{passed}/{} corpus cases diagnosed ({} pending)",
        expect.len(),
        pending.len()
    );
    let mut wrong = Vec::new();
    for (name, problems) in &failed {
        let tag = if pending.contains_key(name) {
            "pending"
        } else {
            "FAIL"
        };
        println!("{tag} {name}: {}", problems.join("; "));
        if !pending.contains_key(name) {
            wrong.push(format!(
                "{name} fails and is not in pending.json: {}",
                problems.join("; ")
            ));
        }
    }
    for name in pending.keys() {
        if expect.contains_key(name) && !failed.contains_key(name) {
            wrong.push(format!("{name} passes now: remove it from pending.json"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

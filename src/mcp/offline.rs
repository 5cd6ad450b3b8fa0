//! Tools that need no capture: `explain_code` and `analyze_har`.

use super::logins::{self, LoginSummary, Outcome};
use super::{Answer, Context, ToolError};
use crate::catalog;
use crate::record::Record;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::path::Path;

/// Largest HAR file `analyze_har` reads.
pub const MAX_HAR_BYTES: u64 = 256 * 1024 * 1024;

/// Arguments of `explain_code`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ExplainCodeArgs {
    /// The error code as seen on the wire or in an annotation: `invalid_grant`, `AADSTS50011`, `IP_RESTRICTED`, `error.bad_verification_code`, `diagnosis.code_expired`.
    pub code: String,
}

/// `explain_code`: every catalog entry for the code (the standard meaning
/// and each provider's), as `oauthscope explain CODE --json` prints them.
pub fn explain_code(args: &ExplainCodeArgs) -> Result<Answer, ToolError> {
    let code = args.code.trim();
    if code.is_empty() {
        return Err(ToolError::BadArgument("code is empty".into()));
    }
    let entries = catalog::lookup_all(code);
    if entries.is_empty() {
        return Err(ToolError::UnknownCode(
            crate::cli::explain::unknown_message(code),
        ));
    }
    let summary = crate::cli::explain::render(&entries, false);
    Ok(Answer {
        summary: summary.trim_end().to_string(),
        data: json!({ "code": code, "entries": entries }),
        redactor: None,
    })
}

/// Arguments of `analyze_har`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct AnalyzeHarArgs {
    /// Path of a HAR file on this machine (absolute, or relative to where the MCP server runs).
    pub path: String,
    /// A login id from this file's list: show that login in full instead of the list.
    #[serde(default)]
    pub login: Option<String>,
    /// Only logins with this outcome.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Logins per page (default 20, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Redirect URIs registered with the provider, to check the logins against.
    #[serde(default)]
    pub registered_redirect_uris: Option<Vec<String>>,
}

fn read_har(path: &str) -> Result<crate::har::import::Imported, ToolError> {
    let p = Path::new(path.trim());
    if path.trim().is_empty() || path.trim() == "-" {
        return Err(ToolError::BadArgument(
            "path must name a HAR file (stdin is the MCP connection)".into(),
        ));
    }
    let meta = std::fs::metadata(p)
        .map_err(|e| ToolError::NotHar(format!("cannot read {}: {e}", p.display())))?;
    if !meta.is_file() {
        return Err(ToolError::NotHar(format!("{} is not a file", p.display())));
    }
    if meta.len() > MAX_HAR_BYTES {
        return Err(ToolError::NotHar(format!(
            "{} is {} MiB; analyze_har reads HAR files up to {} MiB (use `oauthscope analyze` on it)",
            p.display(),
            meta.len() / (1024 * 1024),
            MAX_HAR_BYTES / (1024 * 1024)
        )));
    }
    // The importer's errors name the position of a syntax error and what
    // was found instead, never the file's content.
    crate::cli::analyze::import_file(p).map_err(|e| {
        let msg = e
            .chain()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(": ");
        ToolError::NotHar(format!(
            "{msg}. analyze_har reads HAR 1.2 files (browser devtools: Network → Export HAR)"
        ))
    })
}

/// `analyze_har`: the file's records analysed together, grouped by the
/// logins analysis finds; a page of them newest first, or one in full.
pub fn analyze_har(ctx: &Context, args: &AnalyzeHarArgs) -> Result<Answer, ToolError> {
    let limit = args.limit.unwrap_or(logins::DEFAULT_LIMIT);
    if limit == 0 || limit > logins::MAX_LIMIT {
        return Err(ToolError::BadArgument(format!(
            "limit must be between 1 and {} (got {limit})",
            logins::MAX_LIMIT
        )));
    }
    let offset = match args
        .cursor
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => 0,
        Some(c) => c.parse::<usize>().map_err(|_| {
            ToolError::BadArgument(format!(
                "cursor {c:?} is not a next_cursor from analyze_har"
            ))
        })?,
    };
    let imported = read_har(&args.path)?;
    let mut redactor = ctx.redactor();
    let shown = logins::analysed_redacted(
        &imported.records,
        &ctx.opts_with(&args.registered_redirect_uris),
        &mut redactor,
    );
    // Logins in order of their first exchange.
    let mut groups: Vec<(String, Vec<Record>)> = Vec::new();
    for r in shown {
        let key = r.flow.clone().unwrap_or_else(|| r.id.clone());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    if let Some(want) = args.login.as_deref().map(str::trim) {
        let found = groups
            .iter()
            .find(|(k, g)| k == want || g.iter().any(|r| r.id == want));
        let Some((login, records)) = found else {
            return Err(ToolError::UnknownId(format!(
                "no login or exchange {want:?} in {} (call analyze_har without login for the list)",
                args.path
            )));
        };
        let (summary, data) = logins::detail(login, records, true);
        return Ok(Answer {
            summary,
            data,
            redactor: Some(redactor),
        });
    }
    let filters = logins::Filters::of(args.outcome, &None, &None);
    let mut all: Vec<LoginSummary> = groups
        .iter()
        .map(|(k, g)| (logins::summarize(k, g, true), g))
        .filter(|(s, g)| filters.keep(s, g))
        .map(|(s, _)| s)
        .collect();
    all.reverse();
    let total = all.len();
    let page: Vec<LoginSummary> = all.into_iter().skip(offset).take(limit).collect();
    let next = (offset + page.len() < total).then(|| (offset + page.len()).to_string());
    let mut summary = format!(
        "{}: {} exchange{} read, {} skipped.\n",
        args.path,
        imported.records.len(),
        if imported.records.len() == 1 { "" } else { "s" },
        imported.skipped.len()
    );
    summary.push_str(&logins::page_text(&page, next.as_deref()));
    Ok(Answer {
        summary,
        data: json!({
            "path": args.path,
            "exchanges": imported.records.len(),
            "entries_skipped": imported.skipped.len(),
            "logins_total": total,
            "logins": page,
            "next_cursor": next,
        }),
        redactor: Some(redactor),
    })
}

//! `oauthscope explain CODE`: the error catalog, offline.

use super::{ExitCode, Globals};
use crate::catalog::{self, Entry};
use clap::Args;
use owo_colors::OwoColorize;
use std::fmt::Write as _;

/// Arguments of `oauthscope explain`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope explain invalid_grant\n  oauthscope explain AADSTS50011\n  oauthscope explain IP_RESTRICTED\n  oauthscope explain error.bad_verification_code\n  oauthscope explain redirect_uri.mismatch --json\n  oauthscope explain --list --provider entra\n\nMatching is case-insensitive; an annotation code's `error.` prefix is ignored.\nAn unknown code exits with status 2 and suggests near misses."
)]
pub struct ExplainArgs {
    /// The error code (`invalid_grant`, `AADSTS50011`, `redirect_uri_mismatch`, ...), or an annotation code.
    #[arg(required_unless_present = "list")]
    pub code: Option<String>,
    /// List every code in the catalog (one line each: code, provider, meaning) instead.
    #[arg(long, conflicts_with = "code")]
    pub list: bool,
    /// With --list: only this provider's codes (`entra`, `salesforce`, `google`, ...; `standard` for RFC and OIDC codes).
    #[arg(long, requires = "list", value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// Print the entries as a JSON array.
    #[arg(long)]
    pub json: bool,
}

/// Print every catalog entry for a code (the standard meaning and each
/// provider's variant); exit 2 with suggestions when the code is unknown.
pub fn run(args: ExplainArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    if args.list {
        return list(args.provider.as_deref(), args.json);
    }
    let code = args.code.unwrap_or_default();
    let entries = catalog::lookup_all(&code);
    if entries.is_empty() {
        eprintln!("{}", unknown_message(&code));
        return Ok(ExitCode::from(2));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        print!("{}", render(&entries, g.color));
    }
    Ok(ExitCode::SUCCESS)
}

/// `explain --list`: every entry (or one provider's), one line each.
fn list(provider: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let wanted = |e: &&Entry| match provider {
        None => true,
        Some(p) if p.eq_ignore_ascii_case("standard") => e.provider.is_none(),
        Some(p) => e.provider.is_some_and(|id| {
            id.eq_ignore_ascii_case(p) || catalog::provider_name(id).eq_ignore_ascii_case(p)
        }),
    };
    let entries: Vec<&Entry> = catalog::all().filter(wanted).collect();
    if entries.is_empty() {
        let known: Vec<&str> = crate::providers::ALL.iter().map(|p| p.id).collect();
        eprintln!(
            "no codes for provider `{}`; known: standard, {}",
            provider.unwrap_or(""),
            known.join(", ")
        );
        return Ok(ExitCode::from(2));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(ExitCode::SUCCESS);
    }
    let width = entries.iter().map(|e| e.code.len()).max().unwrap_or(0);
    for e in entries {
        let also = if e.aliases.is_empty() {
            String::new()
        } else {
            format!(" (also {})", e.aliases.join(", "))
        };
        println!(
            "{:<width$}  {:<20}  {}{also}",
            e.code,
            e.provider_name().unwrap_or("-"),
            e.title
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The stderr message for an unknown code, with near misses when there are any.
pub fn unknown_message(code: &str) -> String {
    let code = code.trim();
    let shown = crate::view::safe(code);
    let sugg = catalog::suggest(code);
    if sugg.is_empty() {
        format!("unknown code `{shown}`; no similar code in the catalog (try `oauthscope explain invalid_grant`)")
    } else {
        format!("unknown code `{shown}`; did you mean: {}?", sugg.join(", "))
    }
}

/// Human-readable text for entries, one block each, wrapped to 88 columns.
pub fn render(entries: &[&Entry], color: bool) -> String {
    let mut out = String::new();
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let head = match e.provider_name() {
            Some(p) => format!("{} ({p})", e.code),
            None => e.code.to_string(),
        };
        if color {
            let _ = writeln!(out, "{}", head.bold());
        } else {
            let _ = writeln!(out, "{head}");
        }
        let mut field = |name: &str, value: &str| {
            if !value.is_empty() {
                out.push_str(&wrap(name, value, 88));
            }
        };
        field("meaning", e.title);
        field("source", e.source);
        if let Some(p) = e.provider_name().filter(|p| *p != e.source) {
            field("provider", p);
        }
        field("endpoint", e.endpoint.as_str());
        if !e.aliases.is_empty() {
            field("also", &e.aliases.join(", "));
        }
        if !e.matches.is_empty() {
            let m: Vec<String> = e.matches.iter().map(|m| format!("\"{m}\"")).collect();
            field(
                "when",
                &format!("error_description contains {}", m.join(" or ")),
            );
        }
        field("causes", e.causes);
        field("fix", e.fix);
        field("reference", e.see);
    }
    out
}

/// `  name:     value` with continuation lines indented under the value.
fn wrap(name: &str, value: &str, width: usize) -> String {
    const INDENT: usize = 14;
    let mut out = format!("  {:<w$}", format!("{name}:"), w = INDENT - 2);
    let mut col = INDENT;
    let mut first = true;
    for word in value.split_whitespace() {
        if !first && col + 1 + word.len() > width {
            out.push('\n');
            out.push_str(&" ".repeat(INDENT));
            col = INDENT;
        } else if !first {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += word.len();
        first = false;
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_field_and_wraps() {
        let text = render(&catalog::lookup_all("IP_RESTRICTED"), false);
        assert!(text.starts_with("invalid_grant (Salesforce)\n  meaning:    IP restricted"));
        for f in [
            "source:",
            "causes:",
            "fix:",
            "reference:",
            "when:",
            "endpoint:",
        ] {
            assert!(text.contains(f), "{f} missing:\n{text}");
        }
        assert!(text
            .lines()
            .filter(|l| !l.contains("https://"))
            .all(|l| l.chars().count() <= 88));
        assert!(unknown_message("invalid_grnat").contains("did you mean: invalid_grant"));
    }
}

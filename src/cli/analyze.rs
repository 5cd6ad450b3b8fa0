//! `oauthscope analyze FILE.har`.

use super::{fail_on_exit, ExitCode, FailOn, Globals};
use crate::analyze::{analyze, AnalyzeOptions};
use crate::har::import;
use crate::record::Record;
use crate::view;
use anyhow::Context as _;
use clap::Args;
use std::fmt::Write as _;
use std::io::Seek as _;
use std::path::{Path, PathBuf};

/// Arguments of `oauthscope analyze`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  oauthscope analyze login.har\n  oauthscope analyze login.har --json --fail-on error\n  oauthscope analyze login.har --registered-redirect https://app.example.com/callback\n  cat login.har | oauthscope analyze -"
)]
pub struct AnalyzeArgs {
    /// A HAR 1.2 file (Chrome / Firefox devtools export, mitmproxy, oauthscope export); `-` reads stdin.
    #[arg(value_name = "FILE.har")]
    pub file: PathBuf,
    /// Print a JSON array of annotated records.
    #[arg(long)]
    pub json: bool,
    /// A redirect URI registered with the provider, to check against. Repeatable.
    #[arg(long, value_name = "URI")]
    pub registered_redirect: Vec<String>,
    #[command(flatten)]
    pub fail_on: FailOn,
}

fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// Import a HAR file (or stdin for `-`): the records found plus the importer's report.
///
/// The file is streamed ([`import::from_reader`]): memory follows the OAuth
/// exchanges kept (bodies cut at [`import::DEFAULT_MAX_BODY`]), not the
/// file's size. Stdin is first copied to a temporary file, since the
/// importer may read twice.
pub fn import_file(path: &Path) -> anyhow::Result<import::Imported> {
    let opts = import::ImportOptions::default();
    if is_stdin(path) {
        let mut spool = tempfile::tempfile().context("creating a temporary file for stdin")?;
        std::io::copy(&mut std::io::stdin().lock(), &mut spool)
            .context("reading the HAR file from stdin")?;
        spool.seek(std::io::SeekFrom::Start(0))?;
        return import::from_reader(std::io::BufReader::new(spool), &opts)
            .context("stdin is not a HAR file we can read");
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    import::from_reader(std::io::BufReader::new(file), &opts)
        .with_context(|| format!("{} is not a HAR file we can read", path.display()))
}

/// The text report: the `flows list` table, then every annotated exchange
/// with its annotations in full.
pub fn report(records: &[Record], color: bool) -> String {
    let mut out = view::list(records, color);
    // The flavour has its own column; everything else is spelled out.
    let shown = |a: &&crate::record::Annotation| a.is_listed();
    for r in records
        .iter()
        .filter(|r| r.annotations.iter().any(|a| shown(&a)))
    {
        let _ = writeln!(
            out,
            "\n{} {} {} {}",
            view::safe(&r.id),
            r.kind,
            view::safe(&r.request.method),
            view::host_path(&r.request.url)
        );
        for a in r.annotations.iter().filter(shown) {
            out.push_str(&view::annotation_detail(a, color));
        }
    }
    out
}

/// Import a HAR file (or stdin) and say whether it lost its cookies and
/// `Authorization` headers ([`crate::har::sanitised::detect`]).
pub fn import_file_checked(
    path: &Path,
) -> anyhow::Result<(import::Imported, Option<crate::har::sanitised::Sanitised>)> {
    let imported = import_file(path)?;
    let sanitised = crate::har::sanitised::detect_records(&imported.records, imported.entries);
    Ok((imported, sanitised))
}

/// Analyse a HAR file.
pub fn run(args: AnalyzeArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let (imported, sanitised) = import_file_checked(&args.file)?;
    let name = if is_stdin(&args.file) {
        "stdin".to_string()
    } else {
        args.file.display().to_string()
    };
    for s in &imported.skipped {
        eprintln!("warning: {name}: skipped {}", view::safe(s));
    }
    if !imported.skipped.is_empty() {
        eprintln!(
            "warning: {name}: {} of {} entries could not be read",
            imported.skipped.len(),
            imported.entries
        );
    }
    if imported.records.is_empty() {
        eprintln!(
            "no OAuth exchanges in {name} ({} entr{} looked at)",
            imported.entries,
            if imported.entries == 1 { "y" } else { "ies" }
        );
        if args.json {
            println!("[]");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let opts = AnalyzeOptions {
        registered_redirects: args.registered_redirect.clone(),
    };
    let recs = analyze(&imported.records, &opts);
    if let Some(x) = &sanitised {
        // Once, at the top (stderr beside JSON, which must stay one array).
        if args.json {
            eprintln!("{}", x.note(&name));
        } else {
            println!("{}\n", x.note(&name));
        }
    }
    if args.json {
        println!("{}", view::json_safe(serde_json::to_string_pretty(&recs)?));
    } else {
        print!("{}", report(&recs, g.color));
    }
    Ok(fail_on_exit(&recs, &args.fail_on))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Annotation, Severity};

    #[test]
    fn report_lists_then_details_annotated_exchanges() {
        let text = r#"{"log": {"version": "1.2", "entries": [
            {"startedDateTime": "2026-03-14T09:22:31Z", "time": 5,
             "request": {"method": "POST", "url": "https://idp.example/token", "headers": [],
                         "postData": {"mimeType": "application/x-www-form-urlencoded",
                                      "text": "grant_type=authorization_code&code=c"}},
             "response": {"status": 400, "headers": [], "content": {"text": "{}"}}}]}}"#;
        let mut recs = import::from_str(text).unwrap().records;
        let id = recs[0].id.clone();
        recs[0].annotations.push(Annotation::new(
            "error.invalid_grant",
            Severity::Error,
            "The grant was rejected",
            "Check the code and redirect_uri.",
            serde_json::json!({"record": id}),
        ));
        let out = report(&recs, false);
        let mut lines = out.lines();
        assert!(lines.next().unwrap().starts_with("ID "));
        assert!(out.contains(&format!(
            "\n{} token_request POST idp.example/token\n",
            recs[0].id
        )));
        assert!(out.contains("✖ error error.invalid_grant: The grant was rejected"));
        assert!(out.contains("      Check the code and redirect_uri."));
    }
}

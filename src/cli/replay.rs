//! `oauthscope replay ID`: send a captured token request again, as captured
//! or re-encoded in another flavour, print the answer with its annotations,
//! and record the new exchange (through the running proxy when one holds the
//! store, else in the store directly).

use super::{fail_on_exit, ExitCode, FailOn, Globals};
use crate::access::Records;
use crate::analyze::AnalyzeOptions;
use crate::record::Record;
use crate::replay::{self, Changes, Prepared, Route};
use crate::store::Query;
use crate::view;
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `oauthscope replay`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
The six flavours (client authentication + body), as `flows show` reports them:
  1  Authorization: Basic, URL-encoded id:secret   + form
  2  Authorization: Basic, URL-encoded id:secret   + JSON
  3  client_id/client_secret in the body           + form
  4  client_id/client_secret in the body           + JSON
  5  Authorization: Basic, raw id:secret           + form
  6  Authorization: Basic, raw id:secret           + JSON

Where it goes: with `oauthscope run` running on this data directory the
request is sent through that proxy, which records it; otherwise replay sends
it itself and stores the exchange. Either way `flows list` shows it.

An authorization code is single-use: replaying a code exchange asks first
(or needs --yes) and the provider will likely answer invalid_grant.

Examples:
  oauthscope replay 18a3f2c4d5e6f708
  oauthscope replay 18a3f2c4d5e6f708 --flavour 4
  oauthscope replay 18a3f2c4d5e6f708 --set scope='openid email' --unset resource
  oauthscope replay 18a3f2c4d5e6f708 --url https://staging.example.com/oauth/token --upstream-ca staging-ca.pem
  oauthscope flows show 18a3f2c4d5e6f708 --curl     # the same request as a curl command")]
pub struct ReplayArgs {
    /// The captured exchange (id, or a unique prefix or suffix of it).
    pub id: String,
    /// Re-encode in this flavour (1-6, table below) instead of the captured one.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=6))]
    pub flavour: Option<u8>,
    /// Set a parameter (replaced where it is, else added). Repeatable.
    /// `client_id` and `client_secret` follow the credentials (Basic header or body).
    #[arg(long, value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Remove a parameter. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub unset: Vec<String>,
    /// Send to this URL instead of the captured one.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Trust this CA certificate (PEM) for the provider too (besides the system's roots).
    #[arg(long, value_name = "FILE")]
    pub upstream_ca: Vec<PathBuf>,
    /// Send an authorization code without asking (codes are single-use).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the new record, analysed, as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub fail_on: FailOn,
}

/// Ask on the terminal, or refuse when stdin is not one.
fn confirm_code(code: &str) -> anyhow::Result<()> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    eprintln!("warning: {}", replay::code_warning(code));
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "not sent: the request carries a single-use authorization code and stdin is not a terminal to confirm; add --yes to send it anyway"
        );
    }
    eprint!("Send it anyway? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        anyhow::bail!("not sent (answered no)")
    }
}

/// Wait (bounded) for the running proxy to store the exchange it forwarded.
fn find_recorded(
    records: &Records,
    after_id: &str,
    p: &Prepared,
) -> anyhow::Result<Option<Record>> {
    let same_url = |r: &Record| match (url::Url::parse(&r.request.url), url::Url::parse(&p.url)) {
        (Ok(a), Ok(b)) => a == b,
        _ => r.request.url == p.url,
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let found = records
            .query(&Query {
                after_id: Some(after_id.to_owned()),
                ..Query::default()
            })?
            .into_iter()
            .find(|r| {
                same_url(r)
                    && r.request.method.eq_ignore_ascii_case(&p.method)
                    && r.request.body.bytes() == p.body
            });
        if found.is_some() || std::time::Instant::now() > deadline {
            return Ok(found);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The new record analysed with its own flow and the flow it was replayed from.
fn analysed(records: &Records, new: &Record, original: &Record) -> anyhow::Result<Record> {
    let mut window = crate::rolling::window_of(new, true, true, |q| records.query(q))?;
    if original.flow != new.flow {
        window.extend(crate::rolling::window_of(original, false, false, |q| {
            records.query(q)
        })?);
    }
    let mut seen = std::collections::HashSet::new();
    window.retain(|r| seen.insert(r.id.clone()));
    Ok(crate::rolling::analyse_in_window(
        new,
        &window,
        &AnalyzeOptions::default(),
    ))
}

fn render(original: &Record, rec: &Record, how: &str, color: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "replayed {} as {} ({how})", original.id, rec.id);
    let _ = writeln!(
        out,
        "{} {}",
        view::safe(&rec.request.method),
        view::safe(&rec.request.url)
    );
    if let Some(f) = &rec.flavour {
        let n = f
            .number
            .map(|n| n.to_string())
            .unwrap_or_else(|| "none of the six".into());
        let _ = writeln!(
            out,
            "flavour {n} (client auth: {}, body: {})",
            view::safe(&f.client_auth),
            view::safe(&f.body)
        );
    }
    match &rec.response {
        Some(resp) => {
            let _ = writeln!(out, "\nHTTP {}", resp.status);
            view::body_block(&mut out, &resp.body);
        }
        None => {
            let _ = writeln!(
                out,
                "\nno answer: {}",
                view::safe(rec.error.as_deref().unwrap_or("the upstream failed"))
            );
        }
    }
    let _ = writeln!(out);
    if rec.annotations.is_empty() {
        let _ = writeln!(out, "Annotations: none");
    } else {
        let _ = writeln!(out, "Annotations ({}):", rec.annotations.len());
        for a in &rec.annotations {
            out.push_str(&view::annotation_detail(a, color));
        }
    }
    let _ = writeln!(
        out,
        "\nIn full: oauthscope flows show {}   As curl: oauthscope flows show {} --curl",
        rec.id, rec.id
    );
    out
}

/// Replay the exchange.
pub fn run(a: ReplayArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let records = Records::open(&g.home)
        .with_context(|| format!("opening the capture store in {}", g.home.root().display()))?;
    let original = records.get(&a.id)?;
    let changes = Changes {
        flavour: a.flavour,
        set: Changes::parse_sets(&a.set)?,
        unset: a.unset.clone(),
        url: a.url.clone(),
    };
    let prepared = replay::prepare(&original, &changes)?;
    if let Some(code) = prepared.single_use_code() {
        if a.yes {
            eprintln!("warning: {}", replay::code_warning(&code));
        } else {
            confirm_code(&code)?;
        }
    }
    let mut extra = Vec::new();
    for p in &a.upstream_ca {
        extra.push(
            std::fs::read(p).with_context(|| format!("reading --upstream-ca {}", p.display()))?,
        );
    }
    let route = match &records {
        Records::Remote(client) => {
            let ca_path = crate::ca::LocalCa::cert_path_in(&g.home);
            let ca_pem = std::fs::read(&ca_path).with_context(|| {
                format!(
                    "reading the oauthscope CA {} (the running proxy's leaves chain to it)",
                    ca_path.display()
                )
            })?;
            Route::Proxy {
                addr: client.state().proxy.clone(),
                ca_pem,
                state_file: g.home.proxy_state_file().display().to_string(),
            }
        }
        Records::Local(_) => Route::Direct,
    };
    let time = time::OffsetDateTime::now_utc();
    let after_id = crate::record::format_id(crate::record::id_micros(time).saturating_sub(1));
    tracing::info!(url = %crate::redact::url_for_log(&prepared.url), route = ?matches!(route, Route::Proxy { .. }), "replaying");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let answer = rt.block_on(replay::send(&prepared, &route, &extra))?;
    let how = match prepared.flavour {
        Some(n) => format!("re-encoded in flavour {n}"),
        None if changes.set.is_empty() && changes.unset.is_empty() => "as captured".to_string(),
        None => "with changed parameters".to_string(),
    };
    let (new, recorded) = match &records {
        Records::Remote(client) => match find_recorded(&records, &after_id, &prepared)? {
            Some(r) => (
                r,
                format!("recorded by the running proxy at {}", client.state().proxy),
            ),
            None => {
                eprintln!(
                    "warning: the running proxy forwarded the request but did not record it (is the host outside its --intercept list?)"
                );
                let id = crate::record::new_id(time);
                (
                    replay::record_of(&prepared, &answer, &id, time, original.kind, 1 << 20),
                    "not recorded".to_string(),
                )
            }
        },
        Records::Local(store) => {
            let id = crate::record::new_id(time);
            let mut rec = replay::record_of(
                &prepared,
                &answer,
                &id,
                time,
                original.kind,
                crate::proxy::ProxyConfig::default().max_body,
            );
            store.insert_new(&mut rec)?;
            store.flush()?;
            (rec, "recorded in the store".to_string())
        }
    };
    let rec = analysed(&records, &new, &original)?;
    if a.json {
        println!("{}", view::json_safe(serde_json::to_string_pretty(&rec)?));
    } else {
        print!(
            "{}",
            render(&original, &rec, &format!("{how}, {recorded}"), g.color)
        );
    }
    Ok(fail_on_exit(std::slice::from_ref(&rec), &a.fail_on))
}

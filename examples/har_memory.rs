//! Peak memory of `oauthscope analyze` and of the web UI's export on big
//! HAR files: prints figures, asserts nothing.
//!
//! ```sh
//! cargo build --locked --bin oauthscope
//! cargo run --locked --example har_memory            # 500 MB files
//! cargo run --locked --example har_memory -- 100      # 100 MB files
//! cargo run --locked --example har_memory -- 500 /path/to/other/oauthscope
//! cargo run --locked --example har_memory -- 500 --no-ui   # analyze only
//! ```
//!
//! Two files are written to a temporary directory: `many.har` (an OAuth
//! login among non-OAuth entries with 8 MiB bodies, SIZE MB in all) and
//! `one-body.har` (the same login whose token response body is SIZE MB).
//! The binary (default `target/debug/oauthscope`) runs `analyze --json` on
//! each (peak RSS from `wait4`), then `ui one-body.har --print` serves the
//! second and its `/export?format=har` is downloaded (peak RSS from
//! `/proc/PID/status` VmHWM).

use std::io::{BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const MIB: usize = 1024 * 1024;

fn login_entries() -> Vec<serde_json::Value> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chrome_auth_code_clean.har");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["log"]["entries"].as_array().unwrap().clone()
}

/// Write a HAR: the login's entries, then `fillers` entries of `filler`
/// bytes each; with `big_token_body`, the token response's body is that
/// many bytes of JSON-looking text.
fn write_har(path: &Path, fillers: usize, filler: usize, big_token_body: usize) {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    write!(
        w,
        r#"{{"log":{{"version":"1.2","creator":{{"name":"har_memory","version":"1"}},"entries":["#
    )
    .unwrap();
    let mut first = true;
    for mut e in login_entries() {
        let is_token = e["request"]["postData"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("grant_type=authorization_code"));
        if !first {
            w.write_all(b",").unwrap();
        }
        first = false;
        if is_token && big_token_body > 0 {
            // Write the entry with a placeholder, then splice the body in
            // without building it in memory.
            e["response"]["content"]["text"] = serde_json::json!("@@BODY@@");
            e["response"]["content"]
                .as_object_mut()
                .unwrap()
                .remove("encoding");
            let text = e.to_string();
            let (a, b) = text.split_once("@@BODY@@").unwrap();
            w.write_all(a.as_bytes()).unwrap();
            w.write_all(br#"{\"access_token\":\"at\",\"pad\":\""#)
                .unwrap();
            let chunk = vec![b'x'; MIB];
            let mut left = big_token_body;
            while left > 0 {
                let n = left.min(MIB);
                w.write_all(&chunk[..n]).unwrap();
                left -= n;
            }
            w.write_all(br#"\"}"#).unwrap();
            w.write_all(b.as_bytes()).unwrap();
        } else {
            w.write_all(e.to_string().as_bytes()).unwrap();
        }
    }
    let chunk = vec![b'y'; MIB];
    for i in 0..fillers {
        write!(
            w,
            r#",{{"startedDateTime":"2026-03-14T09:30:{:02}Z","time":5,"request":{{"method":"GET","url":"https://app.example/static/bundle{i}.js","headers":[]}},"response":{{"status":200,"headers":[{{"name":"content-type","value":"text/javascript"}}],"content":{{"mimeType":"text/javascript","text":""#,
            i % 60
        )
        .unwrap();
        let mut left = filler;
        while left > 0 {
            let n = left.min(MIB);
            w.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        w.write_all(br#""}}}"#).unwrap();
    }
    w.write_all(b"]}}").unwrap();
    w.flush().unwrap();
}

/// Run to completion, returning (success, peak RSS in MiB).
// The child is reaped by wait4 (which also gives its rusage), not Child::wait.
#[allow(clippy::zombie_processes)]
fn peak_of(cmd: &mut Command) -> (bool, f64) {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child; status and usage are valid out-parameters.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid);
    // ru_maxrss is in KiB on Linux.
    (
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        usage.ru_maxrss as f64 / 1024.0,
    )
}

fn vm_hwm_mib(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn export_through_ui(bin: &Path, home: &Path, har: &Path) -> (usize, f64) {
    let mut child = Command::new(bin)
        .arg("--home")
        .arg(home)
        .args(["ui", "--print", "--web", "127.0.0.1:0"])
        .arg(har)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let url = String::from_utf8(line).unwrap();
    let (base, _) = url
        .split_once("/?token=")
        .expect("ui --print gives the URL");
    // The first answer trades the token for a cookie (and redirects).
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let first = client.get(&url).send().await.unwrap();
    let cookie = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let resp = client
        .get(format!("{base}/export?format=har"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let n = resp.bytes().await.map(|b| b.len()).unwrap_or(0);
    let peak = vm_hwm_mib(child.id());
    // SAFETY: signalling our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let _ = child.wait();
    assert!(status.is_success(), "export answered {status}");
    (n, peak)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let no_ui = std::env::args().any(|a| a == "--no-ui");
    let mut args = std::env::args().skip(1).filter(|a| a != "--no-ui");
    let mb: usize = args
        .next()
        .map(|a| a.parse().expect("SIZE in MB"))
        .unwrap_or(500);
    let bin = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug/oauthscope"));
    assert!(
        bin.exists(),
        "{} missing: cargo build --bin oauthscope first",
        bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let many = dir.path().join("many.har");
    let one = dir.path().join("one-body.har");
    write_har(&many, mb.div_ceil(8), 8 * MIB, 0);
    write_har(&one, 0, 0, mb * MIB);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64 / MIB as f64;
    println!("binary: {}", bin.display());
    for (name, p) in [("many 8 MiB bodies", &many), ("one big token body", &one)] {
        let (ok, peak) = peak_of(
            Command::new(&bin)
                .arg("--home")
                .arg(&home)
                .args(["analyze", "--json"])
                .arg(p),
        );
        println!(
            "analyze, {name}: file {:.0} MiB, peak RSS {peak:.0} MiB{}",
            size(p),
            if ok { "" } else { " (FAILED)" }
        );
    }
    if no_ui {
        return;
    }
    let (n, peak) = export_through_ui(&bin, &home, &one).await;
    println!(
        "ui + /export?format=har, one big token body: file {:.0} MiB, export {:.1} MiB, peak RSS {peak:.0} MiB",
        size(&one),
        n as f64 / MIB as f64
    );
}

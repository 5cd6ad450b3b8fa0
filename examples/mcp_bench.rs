//! How fast `oauthscope mcp` answers on a large capture (figures, not assertions).
//!
//! ```text
//! cargo build && cargo run --example mcp_bench                 # 100 000 exchanges
//! MCP_BENCH_N=20000 cargo run --release --example mcp_bench    # BENCH_BIN=... picks the binary
//! ```
//! Stores N synthetic exchanges with `ui_bench`'s generator (one
//! authorization-code login with a trailing-slash mismatch per ten records,
//! the rest client_credentials token requests) in a throw-away store, starts
//! the real `oauthscope --home DIR mcp` next to this example's binary and
//! speaks MCP to it over stdio (newline-delimited JSON-RPC), timing each
//! tool call from request to answer: `list_logins` (first page, the
//! `outcome=failed` filter, the next page), `show_login` of a failed
//! login, and `show_exchange`. Each call opens and closes the store, as it
//! does while an assistant uses it. Prints the median and the slowest of
//! `MCP_BENCH_ROUNDS` (default 5) rounds.

#[path = "ui_bench.rs"]
#[allow(dead_code)]
mod ui_bench;

use oauthscope::store::Store;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

fn oauthscope_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("BENCH_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("own path");
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("oauthscope"))
        .filter(|p| p.exists())
        .expect("the oauthscope binary next to this example: run `cargo build` first")
}

struct Mcp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: u64,
}

impl Mcp {
    fn start(home: &Path) -> Mcp {
        let mut child = Command::new(oauthscope_bin())
            .arg("--home")
            .arg(home)
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start oauthscope mcp");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut m = Mcp {
            child,
            stdin,
            stdout,
            next: 1,
        };
        let init = m.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "mcp_bench", "version": "0"},
            }),
        );
        assert!(init.get("result").is_some(), "{init}");
        m.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        m
    }

    fn send(&mut self, v: Value) {
        let mut line = serde_json::to_vec(&v).unwrap();
        line.push(b'\n');
        self.stdin.write_all(&line).unwrap();
        self.stdin.flush().unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "the server closed stdout");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["id"] == id {
                return v;
            }
        }
    }

    /// Call a tool; its structured answer and how long it took.
    fn call(&mut self, tool: &str, args: Value) -> (Value, Duration) {
        let t = Instant::now();
        let v = self.request("tools/call", json!({"name": tool, "arguments": args}));
        let took = t.elapsed();
        let result = &v["result"];
        assert!(result["isError"] != true, "{tool}: {v}");
        (result["structuredContent"].clone(), took)
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ms(d: Duration) -> String {
    format!("{:8.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let n: usize = std::env::var("MCP_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rounds: usize = std::env::var("MCP_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_path_buf();
    {
        let store = Store::open(&home.join("store")).unwrap();
        let start = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        let t = Instant::now();
        for i in 0..n {
            let mut r = ui_bench::record(i, start);
            store.insert_new(&mut r).unwrap();
        }
        store.flush().unwrap();
        println!("stored {n} exchanges in {}", ms(t.elapsed()).trim());
    }
    let mut mcp = Mcp::start(&home);
    let mut timings: Vec<(&str, Vec<Duration>)> = Vec::new();
    let mut record =
        |name: &'static str, d: Duration| match timings.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => v.push(d),
            None => timings.push((name, vec![d])),
        };
    let mut failed_login = String::new();
    let mut exchange = String::new();
    for _ in 0..rounds {
        let (page, d) = mcp.call("list_logins", json!({}));
        record("list_logins (first page of 20)", d);
        let cursor = page["next_cursor"].as_str().unwrap_or_default().to_string();
        let (_, d) = mcp.call("list_logins", json!({"cursor": cursor}));
        record("list_logins (next page)", d);
        let (failed, d) = mcp.call("list_logins", json!({"outcome": "failed"}));
        record("list_logins (outcome=failed)", d);
        failed_login = failed["logins"][0]["login"].as_str().unwrap().to_string();
        let (login, d) = mcp.call("show_login", json!({"login": failed_login}));
        record("show_login (failed login)", d);
        exchange = login["exchanges"][1]["id"].as_str().unwrap().to_string();
        let (_, d) = mcp.call("show_exchange", json!({"id": exchange}));
        record("show_exchange", d);
    }
    println!(
        "oauthscope mcp over a store of {n} exchanges ({} rounds; the store is opened per call; login {failed_login}, exchange {exchange}):",
        rounds
    );
    for (name, mut v) in timings {
        v.sort();
        println!(
            "  {name:<34} median {}   slowest {}",
            ms(v[v.len() / 2]),
            ms(*v.last().unwrap())
        );
    }
}

//! A full disk under a real `oauthscope run`: the store is a 4 MiB tmpfs
//! (`mount -t tmpfs -o size=4m`; the test is skipped, saying why, where
//! mount is not allowed). A real client sends token requests through the
//! proxy until the disk is full and beyond; then space comes back (the
//! tmpfs grows) and more requests follow.
//!
//! Every request is answered; the exchanges the recorder could not keep are
//! counted, and the count matches exactly the exchanges missing from the
//! store; every exchange after space came back is stored; the live log says
//! so; Ctrl-C still prints "stopped; N exchanges" and exits with status 3;
//! `flows list` shows the loss in its footer afterwards.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::start_provider;

/// Kills the child when the test ends early.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Unmounts the tmpfs when dropped, whatever the test's outcome.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(at: &Path, size: &str) -> Result<Mount, String> {
    std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
        .arg("tmpfs")
        .arg(at)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "mount -t tmpfs refused: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(Mount(at.to_path_buf()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The body of request `i`: a client_credentials request carrying a
/// marker and `pad` bytes of padding (stored with the exchange).
fn body(i: usize, pad: usize) -> String {
    format!(
        "grant_type=client_credentials&client_id=disk-test&client_secret=s&marker=m{i:04}x&pad={}",
        "p".repeat(pad)
    )
}

/// A record's body text (a string, or `{"text": ...}` when it has more fields).
fn body_text(v: &serde_json::Value) -> Option<&str> {
    v.as_str().or_else(|| v["text"].as_str())
}

async fn health(api: &str, token: &str) -> serde_json::Value {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{api}/api/health"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_nothing_silently_and_writes_resume_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let _mount = match mount_tmpfs(&mnt, "4m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!("SKIPPED a_full_disk_...: {why} (needs root or CAP_SYS_ADMIN)");
            return;
        }
    };
    let provider = start_provider().await;
    let home = mnt.join("home");
    let listen = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("run.log");
    let mut guard = Child(
        Command::new(env!("CARGO_BIN_EXE_oauthscope"))
            .arg("--home")
            .arg(&home)
            .args(["run", "--listen", &listen, "--web", "127.0.0.1:0"])
            .arg("--upstream-ca")
            .arg(&provider.ca_pem_path)
            // Room for about six padded exchanges while the disk is full.
            .args(["--unstored-max", "1MiB"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let child = &mut guard.0;
    let mut state = serde_json::Value::Null;
    for _ in 0..600 {
        if let Ok(bytes) = std::fs::read(home.join("proxy.json")) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                state = v;
                break;
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "run exited early");
        std::thread::sleep(Duration::from_millis(25));
    }
    let api = state["api"].as_str().expect("proxy.json").to_string();
    let token = state["token"].as_str().unwrap().to_string();
    let ca = std::fs::read(home.join("ca").join("ca.pem")).unwrap();
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://{listen}")).unwrap())
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let send = |i: usize, pad: usize| {
        let client = client.clone();
        let url = provider.url("/token");
        async move {
            client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body(i, pad))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };

    // 1. Until the disk is full, and well past it: every request answered.
    let mut sent = 0usize;
    let mut full_seen = false;
    while sent < 120 {
        assert_eq!(send(sent, 150 * 1024).await, 200, "request {sent}");
        sent += 1;
        if sent % 5 == 0 {
            let h = health(&api, &token).await;
            if h["writable"] == false && h["lost"].as_u64().unwrap_or(0) >= 3 {
                full_seen = true;
                // A few more while it is full.
                for _ in 0..5 {
                    assert_eq!(send(sent, 150 * 1024).await, 200, "request {sent}");
                    sent += 1;
                }
                break;
            }
        }
    }
    assert!(
        full_seen,
        "the disk never filled after {sent} padded exchanges"
    );
    // The web UI's data says so too (its page shows it as a banner).
    let web_url = url::Url::parse(state["web_url"].as_str().expect("web_url")).unwrap();
    let web_token = web_url
        .query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let web_port = web_url.port().unwrap();
    let page: serde_json::Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{web_port}/api/records?limit=1"))
        .header("cookie", format!("oauthscope_ui_{web_port}={web_token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["health"]["writable"], false, "{}", page["health"]);
    assert!(
        page["trouble"]
            .as_str()
            .is_some_and(|t| t.contains("the store cannot write") && t.contains("lost")),
        "the web UI's banner text: {}",
        page["trouble"]
    );
    let during = health(&api, &token).await;
    assert_eq!(during["writable"], false, "{during}");
    assert!(
        during["error"]
            .as_str()
            .is_some_and(|e| e.contains("is full") || e.contains("No space left")),
        "{during}"
    );

    // 2. Space comes back: the tmpfs grows.
    let grown = Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(grown.success(), "remount with more space");
    let mut resumed = serde_json::Value::Null;
    for _ in 0..200 {
        let h = health(&api, &token).await;
        if h["writable"] == true {
            resumed = h;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        resumed["writable"],
        true,
        "writes did not resume by themselves: {}\n{}",
        health(&api, &token).await,
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let lost = resumed["lost"].as_u64().unwrap() as usize;
    assert!(lost > 0, "more than --unstored-max was waiting: {resumed}");

    // 3. More exchanges after space came back.
    let first_after = sent;
    for _ in 0..10 {
        assert_eq!(send(sent, 16).await, 200);
        sent += 1;
    }
    // Wait until they are stored (the API reads the running store).
    let records_client = reqwest::Client::builder().no_proxy().build().unwrap();
    for _ in 0..200 {
        let list: Vec<serde_json::Value> = records_client
            .get(format!("http://{api}/api/records"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let have = list
            .iter()
            .filter(|r| {
                body_text(&r["request"]["body"])
                    .is_some_and(|b| b.contains(&format!("marker=m{:04}x", sent - 1)))
            })
            .count();
        if have == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 4. Ctrl-C.
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let mut status = None;
    for _ in 0..600 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("run did not stop within 15 s of Ctrl-C");
    };
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(3), "lost exchanges: exit 3\n{stderr}");
    assert!(
        stderr.contains("! the store cannot write (the disk holding")
            || stderr.contains("! the store cannot write (No space left on device"),
        "the live log says the store cannot write\n{stderr}"
    );
    assert!(
        stderr.contains("! the store writes again"),
        "and when it writes again\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("({lost} lost: not stored)")),
        "the stopped line names the loss\n{stderr}"
    );
    assert!(
        !home.join("proxy.json").exists(),
        "proxy.json removed at stop"
    );

    // 5. The count matches what is missing, and what came later is stored.
    let out = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(&home)
        .args(["flows", "list", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let stored: std::collections::BTreeSet<usize> = list
        .iter()
        .filter_map(|r| {
            let b = body_text(&r["request"]["body"])?;
            let at = b.find("marker=m")? + "marker=m".len();
            b[at..at + 4].parse().ok()
        })
        .collect();
    assert_eq!(list.len(), stored.len(), "one record per request");
    let stopped_line = stderr
        .lines()
        .find(|l| l.starts_with("stopped; "))
        .unwrap_or_else(|| panic!("no stopped line\n{stderr}"));
    assert!(
        stopped_line.starts_with(&format!("stopped; {} exchanges", stored.len())),
        "{stopped_line}"
    );
    let missing = (0..sent).filter(|i| !stored.contains(i)).count();
    assert_eq!(
        missing,
        lost,
        "reported lost = requests answered but not stored ({sent} sent, {} stored)",
        stored.len()
    );
    for i in first_after..sent {
        assert!(
            stored.contains(&i),
            "exchange {i} after space came back is stored"
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{lost} exchanges lost by earlier runs")),
        "flows list says what was lost: {stderr}"
    );
    println!(
        "full disk: {sent} requests answered, {} stored, {lost} lost and reported",
        stored.len()
    );
}

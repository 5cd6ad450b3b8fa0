//! A store you can trust, through the real binary:
//! - a damaged store (truncated or garbage `db` and blob files, missing
//!   files) never panics and never reads as empty: `flows list` lists what
//!   is readable or says what is damaged and how many records are readable;
//!   `store check` reports, `store repair --to DIR` writes what can be
//!   recovered into a new store;
//! - read-only commands (`flows list`, `flows show`, `export`, `store check`,
//!   `ui`) change no byte of the store's files (hashes and mtimes), and
//!   `export` never deletes blob files;
//! - a read-only `ui` does not keep `run` from starting, nor `flows list`
//!   from reading;
//! - data directories are 0700 even under `umask 000`.

use oauthscope::home::Home;
use oauthscope::record::{new_id, Body, HeaderList, Kind, Record, Request, Response};
use oauthscope::store::Store;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use time::OffsetDateTime;

const EMPTY: &str = "No OAuth exchanges captured yet";

/// Record `i`: a token request; every 10th has a 200 KiB body, so sled
/// keeps it in a blob file of its own.
fn record(i: usize) -> Record {
    let now = OffsetDateTime::now_utc();
    let mut headers = HeaderList::default();
    headers.push("Content-Type", "application/x-www-form-urlencoded");
    let mut r = Record::bare(
        &new_id(now),
        now,
        Kind::TokenRequest,
        "POST",
        "https://idp.example/token",
    );
    let pad = if i % 10 == 0 { 200 * 1024 } else { 64 };
    r.grant_type = Some("authorization_code".into());
    r.request = Request {
        method: "POST".into(),
        url: "https://idp.example/token".into(),
        headers,
        body: Body::from_bytes(
            format!(
                "grant_type=authorization_code&code=c{i}&pad={}",
                "x".repeat(pad)
            )
            .as_bytes(),
        ),
    };
    r.response = Some(Response {
        status: 200,
        headers: HeaderList::default(),
        body: Body::from_bytes(br#"{"access_token":"at","token_type":"Bearer"}"#),
    });
    r
}

const RECORDS: usize = 303;

/// A data directory whose store holds [`RECORDS`] records; their ids.
fn filled_home() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let mut ids = Vec::new();
    let store = Store::open(&home.store_dir()).unwrap();
    for i in 0..RECORDS {
        let r = record(i);
        ids.push(r.id.clone());
        store.insert(&r).unwrap();
    }
    store.flush().unwrap();
    drop(store);
    (dir, ids)
}

fn bin(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .unwrap()
}

/// Every file under `dir`: its hash and mtime.
fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, (String, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            let hash = hex::encode(Sha256::digest(std::fs::read(&p).unwrap()));
            out.insert(p, (hash, meta.modified().unwrap()));
        }
    }
    out
}

fn no_panic(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{what} panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
}

fn files_named(dir: &Path, pred: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if pred(&p) {
            out.push(p);
        }
    }
    out
}

/// Damage the store one way, then check every reader against it.
fn damaged(name: &str, damage: impl Fn(&Path)) {
    let (dir, ids) = filled_home();
    let store = dir.path().join("store");
    let blobs_before = files_named(&store.join("blobs"), |_| true).len();
    assert!(
        blobs_before >= 20,
        "large records live in blob files: {blobs_before}"
    );
    damage(&store);
    let before = fingerprint(&store);

    let out = bin(dir.path(), &["flows", "list", "--json"]);
    no_panic(&out, &format!("{name}: flows list"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let listed = serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
        .map(|v| v.len())
        .unwrap_or(0);
    if listed < RECORDS {
        assert!(
            stderr.contains("damaged"),
            "{name}: {listed} of {RECORDS} listed without saying the store is damaged: {stderr}"
        );
        assert!(
            stderr.contains("readable"),
            "{name}: says how many are readable: {stderr}"
        );
    }
    println!("{name}: flows list --json says: {}", stderr.trim());
    let out = bin(dir.path(), &["flows", "list"]);
    no_panic(&out, &format!("{name}: flows list (table)"));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        !(table.contains(EMPTY) && out.status.success()),
        "{name}: a damaged store reads as empty: {table} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = bin(dir.path(), &["export", "--format", "json"]);
    no_panic(&out, &format!("{name}: export"));

    let out = bin(dir.path(), &["store", "check", "--json"]);
    no_panic(&out, &format!("{name}: store check"));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{name}: store check --json: {e}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let recoverable = report["recoverable"].as_u64().unwrap() as usize;
    let readable = report["readable"].as_u64().unwrap() as usize;
    assert!(readable <= recoverable, "{name}: {report}");
    if readable < RECORDS {
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: damaged: exit 1: {report}"
        );
    }

    let repaired = tempfile::tempdir().unwrap();
    let to = repaired.path().join("new");
    let out = bin(
        dir.path(),
        &["store", "repair", "--to", to.to_str().unwrap()],
    );
    no_panic(&out, &format!("{name}: store repair"));
    assert!(
        out.status.success(),
        "{name}: repair: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin(&to, &["flows", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        list.len(),
        recoverable,
        "{name}: repair wrote what check promised"
    );
    for r in &list {
        let id = r["id"].as_str().unwrap();
        assert!(
            ids.iter().any(|i| i == id),
            "{name}: {id} is one of the originals"
        );
    }
    let again = bin(&to, &["store", "check"]);
    assert!(
        again.status.success(),
        "{name}: the repaired store is intact"
    );

    assert_eq!(
        before,
        fingerprint(&store),
        "{name}: readers changed the damaged store's files"
    );
    // `run` refuses to write into it (that would bury what is left), and says why.
    let mut child = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(dir.path())
        .args(["run", "--no-web", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut status = None;
    for _ in 0..800 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut err = String::new();
    use std::io::Read as _;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(2),
        "{name}: run on a damaged store: {err}"
    );
    assert!(err.contains("damaged"), "{name}: {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    println!(
        "{name}: {listed} listed, {readable} readable, {recoverable} recoverable of {RECORDS}"
    );
}

#[test]
fn a_truncated_db_file() {
    damaged("truncated db", |store| {
        let db = store.join("db");
        let len = std::fs::metadata(&db).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.set_len(len * 2 / 5).unwrap();
    });
}

#[test]
fn garbage_in_the_db_file() {
    damaged("garbage in db", |store| {
        use std::io::{Seek, SeekFrom, Write};
        let db = store.join("db");
        let len = std::fs::metadata(&db).unwrap().len();
        let mut f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.seek(SeekFrom::Start(len / 3)).unwrap();
        f.write_all(&vec![0xA5; (len / 4) as usize]).unwrap();
    });
}

#[test]
fn a_missing_db_file() {
    damaged("missing db", |store| {
        std::fs::remove_file(store.join("db")).unwrap();
    });
}

#[test]
fn truncated_and_garbage_blob_files() {
    damaged("damaged blobs", |store| {
        for (i, blob) in files_named(&store.join("blobs"), |_| true)
            .into_iter()
            .enumerate()
        {
            let len = std::fs::metadata(&blob).unwrap().len();
            if i % 2 == 0 {
                let f = std::fs::OpenOptions::new().write(true).open(&blob).unwrap();
                f.set_len(len / 2).unwrap();
            } else {
                std::fs::write(&blob, vec![0x5A; len as usize]).unwrap();
            }
        }
    });
}

#[test]
fn missing_blob_and_snapshot_files() {
    damaged("missing blobs, conf and snapshots", |store| {
        for blob in files_named(&store.join("blobs"), |_| true)
            .into_iter()
            .step_by(3)
        {
            std::fs::remove_file(blob).unwrap();
        }
        for f in files_named(store, |p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("snap.") || n == "conf"
        }) {
            std::fs::remove_file(f).unwrap();
        }
    });
}

/// `ui` serving a stopped store, spawned: its URL and the child.
fn spawn_ui(home: &Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(home)
        .args(["ui", "--print"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let url = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("ui printed its URL");
    (child, url.trim().to_string())
}

/// The status of a plain HTTP GET of `url` (`http://127.0.0.1:PORT/...`).
fn get_status(url: &str) -> u16 {
    use std::io::{Read, Write};
    let u = url::Url::parse(url).unwrap();
    let host = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap());
    let mut tcp = std::net::TcpStream::connect(&host).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let path = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 12];
    tcp.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

fn interrupt(child: &mut std::process::Child) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    for _ in 0..400 {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    panic!("did not stop within 10 s of SIGINT");
}

#[test]
fn read_only_commands_change_no_byte_and_ui_does_not_lock_out_run() {
    let (dir, ids) = filled_home();
    let store = dir.path().join("store");
    let blobs = files_named(&store.join("blobs"), |_| true).len();
    let before = fingerprint(&store);
    std::thread::sleep(Duration::from_millis(20));

    for args in [
        vec!["flows", "list"],
        vec!["flows", "list", "--json"],
        vec!["flows", "show", ids[7].as_str()],
        vec!["export", "--format", "har"],
        vec!["export", "--format", "json"],
        vec!["store", "check"],
    ] {
        let out = bin(dir.path(), &args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            before,
            fingerprint(&store),
            "{args:?} changed the store's files"
        );
    }
    let list: Vec<serde_json::Value> =
        serde_json::from_slice(&bin(dir.path(), &["flows", "list", "--json"]).stdout).unwrap();
    assert_eq!(list.len(), RECORDS);
    assert_eq!(
        files_named(&store.join("blobs"), |_| true).len(),
        blobs,
        "export deleted no blob file"
    );

    // `ui` on the stopped store, while `flows list` reads and `run` starts.
    let (mut ui, url) = spawn_ui(dir.path());
    let status = get_status(&url);
    assert!(
        (200..400).contains(&status),
        "the UI serves the stored capture: {status}"
    );
    let out = bin(dir.path(), &["flows", "list", "--json"]);
    assert!(
        out.status.success(),
        "flows list while ui serves: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut run = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(dir.path())
        .args(["run", "--no-web", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut announced = false;
    for _ in 0..600 {
        if dir.path().join("proxy.json").exists()
            && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        {
            announced = true;
            break;
        }
        if let Some(s) = run.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            run.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("run did not start while ui served the store: {s}: {err}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(announced, "run started while ui served the store");
    let out = bin(dir.path(), &["flows", "list", "--json"]);
    assert!(
        out.status.success(),
        "flows list through the running proxy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), RECORDS);
    assert!(interrupt(&mut run).success());
    assert!(interrupt(&mut ui).success() || cfg!(not(unix)));
}

#[cfg(unix)]
#[test]
fn data_directories_are_0700_under_umask_000() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let under_umask = |home: &Path, args: &[&str]| -> Output {
        Command::new("sh")
            .arg("-c")
            .arg("umask 000 && exec \"$@\"")
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_oauthscope"))
            .arg("--home")
            .arg(home)
            .args(args)
            .output()
            .unwrap()
    };
    // A read-only command creates nothing.
    let home = dir.path().join("a").join("home");
    let out = under_umask(&home, &["flows", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!home.exists(), "flows list created {}", home.display());
    // Commands that create the data directory make it (and its parents they create) 0700.
    let out = under_umask(&home, &["env"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&home), 0o700, "data directory");
    assert_eq!(mode(&home.join("ca")), 0o700, "ca/");
    let home = dir.path().join("b");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut run = Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(&home)
        .args(["run", "--no-web", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if home.join("proxy.json").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(home.join("proxy.json").exists(), "run started");
    for d in [home.clone(), home.join("ca"), home.join("store")] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    assert!(interrupt(&mut run).success());
    let (mut ui, _) = spawn_ui(&home);
    assert!(interrupt(&mut ui).success());
}

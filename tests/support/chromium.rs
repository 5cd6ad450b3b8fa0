//! Headless chromium driven through chromedriver (WebDriver, fantoccini),
//! as the browser tests start it: [`start_driver`] gives the running
//! chromedriver and a guard that ends it and every browser it started;
//! [`browser`] opens a chromium session on it.

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The first of `names` found on `PATH`.
pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running chromedriver on a loopback port. Dropped, it kills its whole
/// process group — chromedriver and the chromium processes it started,
/// even when a test panics before closing its browser — and reaps
/// chromedriver.
pub struct Driver {
    child: Child,
    /// The port chromedriver listens on (127.0.0.1).
    pub port: u16,
    log: Option<PathBuf>,
}

impl Driver {
    /// chromedriver's WebDriver URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What chromedriver wrote, when started with a log file.
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            // chromedriver leads its own process group (see start_driver).
            // SAFETY: kill(2) on the group our own child leads.
            unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start chromedriver on a free loopback port (its output to `log`, else
/// discarded) and wait (bounded, 30 s) until it accepts connections.
/// Panics, with how to install it, when chromedriver is not on `PATH`.
pub fn start_driver(log: Option<&Path>) -> Driver {
    let exe = find_program(&["chromedriver"]).expect(
        "chromedriver is not installed: `apt-get install -y chromium chromium-driver` (.ci/run does it)",
    );
    let port = free_port();
    let mut cmd = Command::new(exe);
    cmd.arg(format!("--port={port}")).stdin(Stdio::null());
    match log {
        Some(path) => {
            let out = std::fs::File::create(path).unwrap();
            cmd.stdout(out.try_clone().unwrap()).stderr(out);
        }
        None => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        cmd.process_group(0);
    }
    // Owned by `Driver` at once, so it is killed and reaped whatever happens.
    let mut driver = Driver {
        child: cmd.spawn().expect("starting chromedriver"),
        port,
        log: log.map(Path::to_path_buf),
    };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(s)) = driver.child.try_wait() {
            panic!(
                "chromedriver exited ({s}) before listening:\n{}",
                driver.log()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "chromedriver did not listen on port {port} within 30 s:\n{}",
            driver.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    driver
}

/// The arguments every test's chromium gets: headless, no sandbox (CI runs
/// as root), nothing fetched in the background, a fresh `profile`.
pub fn headless_args(profile: &Path) -> Vec<String> {
    vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        format!("--user-data-dir={}", profile.display()),
    ]
}

/// Open chromium through `driver` with these `goog:chromeOptions` (the
/// chromium on `PATH` is named as the binary unless `options` names one).
pub async fn browser(driver: &Driver, mut options: Value) -> Client {
    if options.get("binary").is_none() {
        if let Some(bin) = find_program(&["chromium", "chromium-browser", "google-chrome"]) {
            options["binary"] = json!(bin.display().to_string());
        }
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .expect("starting chromium through chromedriver")
}

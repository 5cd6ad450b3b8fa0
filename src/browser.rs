//! Browsers with a throw-away profile that send everything through the
//! proxy and trust the oauthscope CA, and nothing else changed: not the
//! system's trust store, not the user's own browser profiles.
//!
//! - **Chromium family** (Chromium, Chrome, Edge, Brave): a fresh
//!   `--user-data-dir`, `--proxy-server` with `--proxy-bypass-list=<-loopback>`
//!   (Chromium otherwise never proxies `localhost`/`127.0.0.1`, where local
//!   providers and callbacks live), and
//!   `--ignore-certificate-errors-spki-list=` the base64 SHA-256 of the CA's
//!   SubjectPublicKeyInfo: Chromium accepts a chain that holds that key (the
//!   proxy sends the CA with every leaf), and honours the flag only together
//!   with `--user-data-dir`.
//! - **Firefox**: a fresh `-profile` directory with proxy prefs in `user.js`
//!   (including `network.proxy.allow_hijacking_localhost`), and the CA added
//!   to that profile's own NSS database with `certutil` when it is installed
//!   (Debian `libnss3-tools`, Homebrew `nss`); without it the pages show a
//!   certificate warning.
//!
//! [`Profile`] is a temporary directory removed when the browser exits
//! ([`Launch::wait`]) or when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The browsers oauthscope knows how to set up, in the order it prefers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Chromium (Debian `chromium`, `chromium-browser`).
    Chromium,
    /// Google Chrome.
    Chrome,
    /// Microsoft Edge.
    Edge,
    /// Brave.
    Brave,
    /// Mozilla Firefox (and Firefox ESR).
    Firefox,
}

impl Kind {
    /// Every kind, in order of preference.
    pub const ALL: [Kind; 5] = [
        Kind::Chromium,
        Kind::Chrome,
        Kind::Edge,
        Kind::Brave,
        Kind::Firefox,
    ];

    /// The name `--browser` takes.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Chromium => "chromium",
            Kind::Chrome => "chrome",
            Kind::Edge => "edge",
            Kind::Brave => "brave",
            Kind::Firefox => "firefox",
        }
    }

    /// The kind named `name` (`chromium`, `chrome`, `edge`, `brave`, `firefox`).
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name.trim()))
    }

    /// True for the browsers that take Chromium's flags.
    pub fn is_chromium_family(self) -> bool {
        self != Kind::Firefox
    }

    /// Program names looked up on `PATH`.
    fn programs(self) -> &'static [&'static str] {
        match self {
            Kind::Chromium => &["chromium", "chromium-browser"],
            Kind::Chrome => &["google-chrome", "google-chrome-stable", "chrome"],
            Kind::Edge => &["microsoft-edge", "microsoft-edge-stable", "msedge"],
            Kind::Brave => &["brave-browser", "brave"],
            Kind::Firefox => &["firefox", "firefox-esr"],
        }
    }

    /// Where installers put the executable outside `PATH` (macOS, Windows).
    fn fixed_paths(self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        let mac = |app: &str, exe: &str| {
            PathBuf::from(format!("/Applications/{app}.app/Contents/MacOS/{exe}"))
        };
        match self {
            Kind::Chromium => v.push(mac("Chromium", "Chromium")),
            Kind::Chrome => v.push(mac("Google Chrome", "Google Chrome")),
            Kind::Edge => v.push(mac("Microsoft Edge", "Microsoft Edge")),
            Kind::Brave => v.push(mac("Brave Browser", "Brave Browser")),
            Kind::Firefox => v.push(mac("Firefox", "firefox")),
        }
        if cfg!(windows) {
            let rel = match self {
                Kind::Chromium => r"Chromium\Application\chrome.exe",
                Kind::Chrome => r"Google\Chrome\Application\chrome.exe",
                Kind::Edge => r"Microsoft\Edge\Application\msedge.exe",
                Kind::Brave => r"BraveSoftware\Brave-Browser\Application\brave.exe",
                Kind::Firefox => r"Mozilla Firefox\firefox.exe",
            };
            for var in ["ProgramFiles", "ProgramFiles(x86)", "LOCALAPPDATA"] {
                if let Some(base) = std::env::var_os(var) {
                    v.push(PathBuf::from(base).join(rel));
                }
            }
        }
        v
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An installed browser: its kind and executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Which browser.
    pub kind: Kind,
    /// Its executable.
    pub path: PathBuf,
}

/// Errors finding, preparing or starting a browser.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// The CA certificate could not be parsed (for its key hash).
    #[error("the CA certificate does not parse: {0}")]
    BadCa(String),
    /// The profile directory could not be created or written.
    #[error("preparing the browser profile: {0}")]
    Profile(std::io::Error),
    /// The browser did not start.
    #[error("starting {}: {source}", path.display())]
    Spawn {
        /// The executable.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Waiting for the browser failed.
    #[error("waiting for the browser: {0}")]
    Wait(std::io::Error),
}

/// Look `program` up on `PATH` (also with `.exe` on Windows).
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        let p = dir.join(program);
        if is_executable(&p) {
            return Some(p);
        }
        if cfg!(windows) {
            let p = dir.join(format!("{program}.exe"));
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// The installed browser of `kind`, if any (on `PATH` first, then the usual
/// install locations).
pub fn find(kind: Kind) -> Option<Found> {
    kind.programs()
        .iter()
        .find_map(|p| find_on_path(p))
        .or_else(|| kind.fixed_paths().into_iter().find(|p| is_executable(p)))
        .map(|path| Found { kind, path })
}

/// Every installed browser oauthscope knows, in order of preference.
pub fn find_all() -> Vec<Found> {
    Kind::ALL.into_iter().filter_map(find).collect()
}

/// The kind of a browser given by its executable's path: Firefox when the
/// file name says so, otherwise the Chromium family.
pub fn kind_of_path(path: &Path) -> Kind {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.contains("firefox") {
        Kind::Firefox
    } else if name.contains("edge") {
        Kind::Edge
    } else if name.contains("brave") {
        Kind::Brave
    } else if name.contains("chrome") && !name.contains("chromium") {
        Kind::Chrome
    } else {
        Kind::Chromium
    }
}

/// The base64 SHA-256 of the certificate's SubjectPublicKeyInfo: what
/// Chromium's `--ignore-certificate-errors-spki-list` takes (the same value
/// as `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der |
/// openssl dgst -sha256 -binary | base64`).
pub fn spki_sha256_base64(cert_der: &[u8]) -> Result<String, BrowserError> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| BrowserError::BadCa(e.to_string()))?;
    let spki = cert.tbs_certificate.subject_pki.raw;
    Ok(base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(spki)))
}

/// What to start.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    /// The browser.
    pub browser: Found,
    /// The proxy, `HOST:PORT`.
    pub proxy: String,
    /// The CA certificate (DER), which the profile trusts.
    pub ca_der: Vec<u8>,
    /// The CA certificate file (PEM), for Firefox's `certutil`.
    pub ca_pem_path: PathBuf,
    /// The page to open; `None`: a blank page.
    pub url: Option<String>,
    /// No window: load `url`, print the page (Chromium: its DOM on stdout), exit.
    pub headless: bool,
    /// Pass `--no-sandbox` (Chromium refuses to start as root without it).
    pub no_sandbox: bool,
    /// Let the browser's own log through to stderr.
    pub show_log: bool,
}

/// The throw-away profile directory; removed on drop.
#[derive(Debug)]
pub struct Profile {
    dir: tempfile::TempDir,
}

impl Profile {
    /// A new empty profile directory under the system's temp directory.
    pub fn create() -> Result<Profile, BrowserError> {
        let dir = tempfile::Builder::new()
            .prefix("oauthscope-browser-")
            .tempdir()
            .map_err(BrowserError::Profile)?;
        Ok(Profile { dir })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Remove it now. Retries for a second: a browser's helper processes can
    /// still be writing just after the main process exits.
    pub fn remove(self) -> std::io::Result<()> {
        let path = self.dir.keep();
        let mut last = Ok(());
        for _ in 0..20 {
            last = std::fs::remove_dir_all(&path);
            match &last {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        last
    }
}

/// The flags a Chromium-family browser gets (the URL last, when given).
pub fn chromium_args(spec: &LaunchSpec, profile: &Path, spki: &str) -> Vec<String> {
    let mut args = vec![
        format!("--user-data-dir={}", profile.display()),
        format!("--proxy-server=http://{}", spec.proxy),
        // Chromium bypasses the proxy for loopback unless told not to.
        "--proxy-bypass-list=<-loopback>".to_string(),
        format!("--ignore-certificate-errors-spki-list={spki}"),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-quic".into(),
        "--password-store=basic".into(),
        "--use-mock-keychain".into(),
    ];
    if spec.no_sandbox {
        args.push("--no-sandbox".into());
    }
    if spec.headless {
        args.push("--headless".into());
        args.push("--disable-gpu".into());
        args.push("--disable-dev-shm-usage".into());
        args.push("--dump-dom".into());
    }
    args.push(
        spec.url
            .clone()
            .unwrap_or_else(|| "about:blank".to_string()),
    );
    args
}

/// `user.js` for a Firefox profile that sends everything (loopback too)
/// through `proxy` (`HOST:PORT`).
pub fn firefox_user_js(proxy: &str) -> String {
    let (host, port) = proxy.rsplit_once(':').unwrap_or((proxy, "8080"));
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().unwrap_or(8080);
    format!(
        r#"// Written by oauthscope for a throw-away profile.
user_pref("network.proxy.type", 1);
user_pref("network.proxy.http", "{host}");
user_pref("network.proxy.http_port", {port});
user_pref("network.proxy.ssl", "{host}");
user_pref("network.proxy.ssl_port", {port});
user_pref("network.proxy.share_proxy_settings", true);
user_pref("network.proxy.no_proxies_on", "");
user_pref("network.proxy.allow_hijacking_localhost", true);
user_pref("network.http.http3.enable", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.enabled", false);
user_pref("app.normandy.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("security.enterprise_roots.enabled", false);
"#
    )
}

/// Add the CA to the Firefox profile's own NSS database with `certutil`.
/// Returns false (nothing changed) when `certutil` is not installed or fails.
pub fn firefox_trust_ca(profile: &Path, ca_pem: &Path) -> bool {
    let Some(certutil) = find_on_path("certutil") else {
        return false;
    };
    let db = format!("sql:{}", profile.display());
    let ok = |c: &mut Command| {
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    ok(Command::new(&certutil).args(["-N", "--empty-password", "-d", &db]))
        && ok(Command::new(&certutil)
            .args(["-A", "-n", "oauthscope", "-t", "C,,", "-d", &db, "-i"])
            .arg(ca_pem))
}

/// A started browser and its profile.
#[derive(Debug)]
pub struct Launch {
    /// The browser process.
    pub child: Child,
    /// Its profile, removed by [`Launch::wait`].
    pub profile: Profile,
    /// The command line it was started with (program first).
    pub command_line: Vec<String>,
    /// Firefox only: whether the CA was put in the profile's store.
    pub ca_trusted: bool,
}

/// How the browser ended.
#[derive(Debug)]
pub struct Ended {
    /// Its exit status.
    pub status: ExitStatus,
    /// True when it was stopped because `timeout` passed.
    pub timed_out: bool,
    /// The profile directory, and whether removing it worked.
    pub profile: PathBuf,
    /// The error removing the profile, if any.
    pub remove_error: Option<std::io::Error>,
}

/// The command-line arguments (after the executable) for `spec` with its
/// profile at `profile`; no side effects.
///
/// Errors: [`BrowserError::BadCa`] when the CA does not parse.
pub fn args_for(spec: &LaunchSpec, profile: &Path) -> Result<Vec<String>, BrowserError> {
    if spec.browser.kind.is_chromium_family() {
        let spki = spki_sha256_base64(&spec.ca_der)?;
        return Ok(chromium_args(spec, profile, &spki));
    }
    let mut a = vec![
        "-profile".to_string(),
        profile.display().to_string(),
        "-no-remote".into(),
        "-new-instance".into(),
    ];
    if spec.headless {
        a.push("-headless".into());
        a.push("-screenshot".into());
        a.push(profile.join("page.png").display().to_string());
    }
    if let Some(u) = &spec.url {
        a.push(u.clone());
    }
    Ok(a)
}

/// Prepare the profile and start the browser.
///
/// Errors: [`BrowserError::BadCa`] when the CA does not parse,
/// [`BrowserError::Profile`] when the profile cannot be written,
/// [`BrowserError::Spawn`] when the executable does not start.
pub fn launch(spec: &LaunchSpec) -> Result<Launch, BrowserError> {
    let profile = Profile::create()?;
    let args = args_for(spec, profile.path())?;
    let mut ca_trusted = true;
    if spec.browser.kind == Kind::Firefox {
        std::fs::write(profile.path().join("user.js"), firefox_user_js(&spec.proxy))
            .map_err(BrowserError::Profile)?;
        ca_trusted = firefox_trust_ca(profile.path(), &spec.ca_pem_path);
    }
    let mut cmd = Command::new(&spec.browser.path);
    cmd.args(&args).stdin(Stdio::null());
    if !spec.show_log {
        cmd.stderr(Stdio::null());
    }
    if spec.browser.kind == Kind::Firefox {
        // Never hand the URL to a Firefox the user already runs.
        cmd.env("MOZ_NO_REMOTE", "1");
    }
    let logged: Vec<String> = args.iter().map(|a| crate::redact::url_for_log(a)).collect();
    tracing::debug!(browser = %spec.browser.path.display(), args = ?logged, "starting the browser");
    let child = cmd.spawn().map_err(|source| BrowserError::Spawn {
        path: spec.browser.path.clone(),
        source,
    })?;
    let mut command_line = vec![spec.browser.path.display().to_string()];
    command_line.extend(args);
    Ok(Launch {
        child,
        profile,
        command_line,
        ca_trusted,
    })
}

impl Launch {
    /// Wait for the browser to exit (killing it after `timeout`, when given),
    /// then remove the profile.
    ///
    /// Errors: [`BrowserError::Wait`] when the process cannot be waited for
    /// (the profile is still removed).
    pub fn wait(mut self, timeout: Option<Duration>) -> Result<Ended, BrowserError> {
        let started = Instant::now();
        let mut timed_out = false;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Ok(s),
                Ok(None) => {}
                Err(e) => break Err(e),
            }
            if timeout.is_some_and(|t| started.elapsed() >= t) {
                timed_out = true;
                let _ = self.child.kill();
                break self.child.wait();
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let profile = self.profile.path().to_path_buf();
        let remove_error = self.profile.remove().err();
        let status = status.map_err(BrowserError::Wait)?;
        Ok(Ended {
            status,
            timed_out,
            profile,
            remove_error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_hash_is_the_sha256_of_the_public_key_info() {
        use base64::Engine as _;
        use sha2::Digest as _;
        let ck = rcgen::generate_simple_self_signed(vec!["a.example".into()]).unwrap();
        let got = spki_sha256_base64(ck.cert.der()).unwrap();
        // rcgen gives the SubjectPublicKeyInfo DER of the key directly.
        let want = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(
            rcgen::PublicKeyData::subject_public_key_info(&ck.signing_key),
        ));
        assert_eq!(got, want);
        assert!(spki_sha256_base64(b"not a certificate").is_err());
    }

    #[test]
    fn chromium_flags_proxy_loopback_and_trust_only_the_given_key() {
        let spec = LaunchSpec {
            browser: Found {
                kind: Kind::Chromium,
                path: "/usr/bin/chromium".into(),
            },
            proxy: "127.0.0.1:9999".into(),
            ca_der: Vec::new(),
            ca_pem_path: PathBuf::new(),
            url: Some("https://idp.example/authorize".into()),
            headless: true,
            no_sandbox: true,
            show_log: false,
        };
        let args = chromium_args(&spec, Path::new("/tmp/p"), "HASH=");
        for want in [
            "--user-data-dir=/tmp/p",
            "--proxy-server=http://127.0.0.1:9999",
            "--proxy-bypass-list=<-loopback>",
            "--ignore-certificate-errors-spki-list=HASH=",
            "--no-sandbox",
            "--headless",
            "--dump-dom",
            "--disable-quic",
        ] {
            assert!(args.iter().any(|a| a == want), "{want} missing: {args:?}");
        }
        assert_eq!(args.last().unwrap(), "https://idp.example/authorize");
        assert!(!args.iter().any(|a| a == "--ignore-certificate-errors"));
    }

    #[test]
    fn firefox_prefs_proxy_loopback_too() {
        let js = firefox_user_js("127.0.0.1:8181");
        assert!(js.contains(r#"user_pref("network.proxy.ssl", "127.0.0.1");"#));
        assert!(js.contains(r#"user_pref("network.proxy.ssl_port", 8181);"#));
        assert!(js.contains(r#"user_pref("network.proxy.allow_hijacking_localhost", true);"#));
    }

    #[test]
    fn names_and_paths_map_to_kinds() {
        assert_eq!(Kind::parse("Chrome"), Some(Kind::Chrome));
        assert_eq!(Kind::parse("opera"), None);
        assert_eq!(
            kind_of_path(Path::new("/usr/bin/firefox-esr")),
            Kind::Firefox
        );
        assert_eq!(kind_of_path(Path::new("/usr/bin/chromium")), Kind::Chromium);
        assert_eq!(
            kind_of_path(Path::new("/opt/google/chrome/google-chrome")),
            Kind::Chrome
        );
        assert_eq!(kind_of_path(Path::new("msedge.exe")), Kind::Edge);
    }

    #[test]
    fn the_profile_is_removed() {
        let p = Profile::create().unwrap();
        let path = p.path().to_path_buf();
        std::fs::create_dir_all(path.join("Default/Cache")).unwrap();
        std::fs::write(path.join("Default/Cache/x"), b"x").unwrap();
        p.remove().unwrap();
        assert!(!path.exists());
    }
}

//! `oauthscope env` and `oauthscope exec`: point programs at the proxy and
//! make them trust its CA.

use super::{ExitCode, Globals};
use crate::cli::ca::load_ca;
use anyhow::Context as _;
use clap::{Args, ValueEnum};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Shell syntax for `env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// POSIX sh / bash / zsh (`export X=...`).
    Sh,
    /// fish (`set -gx X ...`).
    Fish,
    /// PowerShell (`$env:X = ...`).
    Powershell,
    /// Flags for `docker run` (`--network host`, `-e` variables, `-v` trust files).
    Docker,
}

/// What `env --help` and `ca init` say about each runtime (a macro so
/// clap's `after_help` can `concat!` it).
macro_rules! runtimes_help {
    () => {
        "\
Runtimes (`oauthscope exec -- CMD` sets the same for one command):
  curl, git, cargo, Python
      HTTPS_PROXY; CURL_CA_BUNDLE, GIT_SSL_CAINFO, CARGO_HTTP_CAINFO,
      REQUESTS_CA_BUNDLE, SSL_CERT_FILE: the system roots + our CA.
  Java (JDK 8+)
      JAVA_TOOL_OPTIONS: -Dhttp(s).proxyHost/Port, -Dhttp.nonProxyHosts=
      set empty (unset, the JDK never proxies localhost and 127.*), and
      -Djavax.net.ssl.trustStore= a JKS file oauthscope writes (system
      roots + our CA, password changeit). HttpURLConnection, HttpClient,
      Spring and OkHttp all follow them.
  Node.js
      NODE_EXTRA_CA_CERTS (our CA). NODE_USE_ENV_PROXY=1 makes Node 22.21+
      and 24+ use HTTPS_PROXY (fetch(); http/https modules from 24.5).
      Older Node ignores proxy variables: npm i global-agent and run with
      NODE_OPTIONS='-r global-agent/bootstrap' (GLOBAL_AGENT_HTTP_PROXY is
      set), or in code undici.setGlobalDispatcher(new EnvHttpProxyAgent()).
  Go
      HTTPS_PROXY, SSL_CERT_FILE. Go never proxies localhost, 127.0.0.1 or
      ::1, whatever NO_PROXY says: reach a local provider by another name
      for 127.0.0.1 (the machine's hostname, or `127.0.0.1 idp.test` in
      /etc/hosts), or put `oauthscope run --reverse URL` in front of it.
  .NET (Linux)
      HttpClient reads HTTPS_PROXY; trust from SSL_CERT_FILE (OpenSSL).
  Ruby
      SSL_CERT_FILE; Net::HTTP reads https_proxy but not for hosts that
      resolve to a loopback address (use a hostname, as for Go).
  PHP
      PHP_INI_SCAN_DIR adds an ini setting curl.cainfo and openssl.cafile
      to the bundle; curl and Guzzle read https_proxy.
  Docker
      eval \"docker run $(oauthscope env --shell docker) IMAGE\" gives
      --network host (the container reaches the proxy on 127.0.0.1), the
      variables, and the bundle, CA and trust store mounted read-only
      (never the CA key). Docker Desktop (no host network): `run --listen
      0.0.0.0:8080 --allow-remote`, `env --shell docker --proxy
      host.docker.internal:8080`, and drop --network host.
  Browsers
      oauthscope browser [URL]: a throw-away profile, nothing system-wide.
"
    };
}

/// What `env --help` and `ca init` say about each runtime.
pub const RUNTIMES_HELP: &str = runtimes_help!();

/// Arguments of `oauthscope env`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = concat!(
        "The proxy address defaults to the running proxy's (HOME/proxy.json,\nwritten by `oauthscope run`), else 127.0.0.1:8080.\n\n",
        "Examples:\n  eval \"$(oauthscope env)\"\n  oauthscope env --shell fish | source\n  oauthscope env --shell powershell | Invoke-Expression\n  eval \"docker run $(oauthscope env --shell docker) my-image\"\n\n",
        runtimes_help!()
    )
)]
pub struct EnvArgs {
    /// Shell syntax to print (docker: flags for `docker run`).
    #[arg(long, value_enum, default_value_t = Shell::Sh)]
    pub shell: Shell,
    /// The proxy address the variables point at [default: the running proxy's, else 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub proxy: Option<String>,
}

/// Arguments of `oauthscope exec`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "The proxy address defaults to the running proxy's (HOME/proxy.json),\nelse 127.0.0.1:8080. `oauthscope env --help` says what each runtime\n(Java, Node, Go, .NET, Ruby, PHP, Docker) gets.\n\nExamples:\n  oauthscope exec -- curl https://login.example.com/.well-known/openid-configuration\n  oauthscope exec -- python app.py\n  oauthscope exec -- java -jar app.jar\n  oauthscope exec -- ./gradlew bootRun"
)]
pub struct ExecArgs {
    /// The proxy address the command is pointed at [default: the running proxy's, else 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub proxy: Option<String>,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// The address used when neither `--proxy` nor `HOME/proxy.json` gives one.
pub const DEFAULT_PROXY: &str = "127.0.0.1:8080";

/// Where a proxy address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxySource {
    /// `--proxy`.
    Flag,
    /// `HOME/proxy.json` (a running `oauthscope run`).
    Running,
    /// Neither: [`DEFAULT_PROXY`].
    Default,
}

/// The proxy address for `env`, `exec` and `browser`: `--proxy`, else the
/// running proxy's from `HOME/proxy.json` (an unspecified listen address such
/// as `0.0.0.0:8080` becomes `127.0.0.1:8080`), else [`DEFAULT_PROXY`].
pub fn resolve_proxy(explicit: Option<&str>, home: &crate::home::Home) -> (String, ProxySource) {
    if let Some(p) = explicit {
        return (p.trim().to_string(), ProxySource::Flag);
    }
    match crate::api::ProxyState::read(home) {
        Ok(Some(state)) if state.reverse.is_some() => {
            // `run --reverse` and `mock` listen as the provider, not as a
            // forward proxy: HTTPS_PROXY pointing there would send every
            // request to that one upstream.
            eprintln!(
                "warning: the oauthscope running at {} is in reverse mode (forwarding to {}), not a forward proxy; using {DEFAULT_PROXY} (pass --proxy ADDR for another)",
                state.proxy,
                state.reverse.as_deref().unwrap_or("?")
            );
            (DEFAULT_PROXY.to_string(), ProxySource::Default)
        }
        Ok(Some(state)) => {
            let addr = match state.proxy.parse::<std::net::SocketAddr>() {
                Ok(a) if a.ip().is_unspecified() => format!("127.0.0.1:{}", a.port()),
                _ => state.proxy,
            };
            (addr, ProxySource::Running)
        }
        Ok(None) => (DEFAULT_PROXY.to_string(), ProxySource::Default),
        Err(e) => {
            tracing::warn!("{e}; using {DEFAULT_PROXY}");
            (DEFAULT_PROXY.to_string(), ProxySource::Default)
        }
    }
}

/// Places where distributions keep the system's root bundle.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/etc/openssl/cert.pem",
];

/// Write `HOME/ca/bundle.pem`: the system roots plus our CA, so a program
/// pointed at it still verifies hosts the proxy only tunnels.
pub fn write_bundle(g: &Globals, ca_pem: &str) -> anyhow::Result<PathBuf> {
    let mut bundle = String::new();
    let system = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .into_iter()
        .chain(SYSTEM_BUNDLES.iter().map(PathBuf::from))
        .find(|p| p.is_file());
    match &system {
        Some(p) => bundle.push_str(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        ),
        None => {
            // No bundle file: export the roots rustls-native-certs finds.
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                bundle.push_str(&pem_of(&cert));
            }
        }
    }
    if !bundle.ends_with('\n') && !bundle.is_empty() {
        bundle.push('\n');
    }
    bundle.push_str("# oauthscope local CA\n");
    bundle.push_str(ca_pem);
    let path = g.home.ca_dir().join("bundle.pem");
    std::fs::write(&path, bundle).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    s.push_str("-----END CERTIFICATE-----\n");
    s
}

/// The trust files `env`/`exec` point programs at, all in `HOME/ca/`.
#[derive(Debug, Clone)]
pub struct Trust {
    /// `bundle.pem`: the system roots plus our CA.
    pub bundle: PathBuf,
    /// `ca.pem`: our CA alone.
    pub ca: PathBuf,
    /// `truststore.jks`: the bundle as a Java trust store (password `changeit`).
    pub jks: PathBuf,
    /// `php/`: a directory with `oauthscope.ini` (`curl.cainfo`, `openssl.cafile`).
    pub php_ini_dir: PathBuf,
}

/// Write the bundle, the Java trust store and the PHP ini next to the CA.
pub fn prepare_trust(g: &Globals, ca: &crate::ca::LocalCa) -> anyhow::Result<Trust> {
    let bundle = write_bundle(g, ca.cert_pem())?;
    let pem = std::fs::read(&bundle).with_context(|| format!("reading {}", bundle.display()))?;
    let jks = g.home.ca_dir().join("truststore.jks");
    crate::truststore::write_java_truststore(&jks, &pem, ca.cert_der())
        .context("writing the Java trust store")?;
    let php_ini_dir = g.home.ca_dir().join("php");
    std::fs::create_dir_all(&php_ini_dir)
        .with_context(|| format!("creating {}", php_ini_dir.display()))?;
    let b = bundle.display();
    std::fs::write(
        php_ini_dir.join("oauthscope.ini"),
        format!("; written by oauthscope env/exec\ncurl.cainfo=\"{b}\"\nopenssl.cafile=\"{b}\"\n"),
    )
    .context("writing the PHP ini")?;
    Ok(Trust {
        bundle,
        ca: ca.cert_path().to_path_buf(),
        jks,
        php_ini_dir,
    })
}

/// The JDK's `http.nonProxyHosts` for a `NO_PROXY` list: `a.com,.b.com` →
/// `a.com|*.b.com`. Empty stays empty, and must be given as such: the JDK
/// treats an unset property as `localhost|127.*|[::1]|0.0.0.0|[::0]`, and
/// appends those to any non-empty value, so only an empty one lets a
/// provider on loopback through the proxy.
pub fn java_non_proxy_hosts(no_proxy: &str) -> String {
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| match h.strip_prefix('.') {
            Some(rest) => format!("*.{rest}"),
            None => h.to_string(),
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn java_arg(name: &str, value: &str) -> String {
    if value.chars().any(char::is_whitespace) {
        format!("\"-D{name}={value}\"")
    } else {
        format!("-D{name}={value}")
    }
}

/// `JAVA_TOOL_OPTIONS` for the proxy at `proxy` (`HOST:PORT`) and the trust store `jks`.
pub fn java_tool_options(proxy: &str, jks: &Path, no_proxy: &str) -> String {
    let (host, port) = proxy.rsplit_once(':').unwrap_or((proxy, "8080"));
    let host = host.trim_start_matches('[').trim_end_matches(']');
    [
        java_arg("http.proxyHost", host),
        java_arg("http.proxyPort", port),
        java_arg("https.proxyHost", host),
        java_arg("https.proxyPort", port),
        java_arg("http.nonProxyHosts", &java_non_proxy_hosts(no_proxy)),
        java_arg("javax.net.ssl.trustStore", &jks.display().to_string()),
        java_arg(
            "javax.net.ssl.trustStorePassword",
            crate::truststore::PASSWORD,
        ),
        java_arg("javax.net.ssl.trustStoreType", "JKS"),
    ]
    .join(" ")
}

/// The variables, in order. NO_PROXY is left empty on purpose: local identity
/// providers on 127.0.0.1/localhost are a main use, and excluding loopback
/// would hide them from the proxy.
pub fn variables(proxy: &str, trust: &Trust) -> Vec<(&'static str, String)> {
    let url = format!("http://{proxy}");
    let b = trust.bundle.display().to_string();
    let no_proxy = String::new();
    vec![
        ("HTTP_PROXY", url.clone()),
        ("HTTPS_PROXY", url.clone()),
        ("http_proxy", url.clone()),
        ("https_proxy", url.clone()),
        ("NO_PROXY", no_proxy.clone()),
        ("no_proxy", no_proxy.clone()),
        ("SSL_CERT_FILE", b.clone()),
        ("REQUESTS_CA_BUNDLE", b.clone()),
        ("CURL_CA_BUNDLE", b.clone()),
        ("NODE_EXTRA_CA_CERTS", trust.ca.display().to_string()),
        ("NODE_USE_ENV_PROXY", "1".into()),
        ("GLOBAL_AGENT_HTTP_PROXY", url),
        ("GIT_SSL_CAINFO", b.clone()),
        ("CARGO_HTTP_CAINFO", b),
        (
            "JAVA_TOOL_OPTIONS",
            java_tool_options(proxy, &trust.jks, &no_proxy),
        ),
        (
            "PHP_INI_SCAN_DIR",
            // The empty first entry keeps PHP's own scan directory.
            format!(":{}", trust.php_ini_dir.display()),
        ),
    ]
}

/// Where `--shell docker` mounts the trust files in the container.
const DOCKER_DIR: &str = "/oauthscope";

/// `docker run` flags: host networking, the variables with container paths,
/// and the trust files mounted read-only (never the CA key).
pub fn docker_flags(proxy: &str, trust: &Trust) -> Vec<String> {
    let inside = Trust {
        bundle: PathBuf::from(format!("{DOCKER_DIR}/bundle.pem")),
        ca: PathBuf::from(format!("{DOCKER_DIR}/ca.pem")),
        jks: PathBuf::from(format!("{DOCKER_DIR}/truststore.jks")),
        php_ini_dir: PathBuf::from(format!("{DOCKER_DIR}/php")),
    };
    let mut flags = vec!["--network".to_string(), "host".to_string()];
    for (from, to) in [
        (&trust.bundle, &inside.bundle),
        (&trust.ca, &inside.ca),
        (&trust.jks, &inside.jks),
    ] {
        flags.push("-v".into());
        flags.push(format!("{}:{}:ro", from.display(), to.display()));
    }
    for (k, v) in variables(proxy, &inside) {
        if k == "PHP_INI_SCAN_DIR" {
            continue;
        }
        flags.push("-e".into());
        flags.push(format!("{k}={v}"));
    }
    flags
}

fn quote_sh(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

/// Quote for sh only when needed (docker flags stay readable).
fn quote_sh_min(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+".contains(c))
    {
        return v.to_string();
    }
    format!("'{}'", v.replace('\'', r"'\''"))
}

fn describe_source(proxy: &str, source: ProxySource) -> String {
    match source {
        ProxySource::Flag => format!("proxy {proxy} (--proxy)"),
        ProxySource::Running => format!("proxy {proxy} (the running `oauthscope run`, from proxy.json)"),
        ProxySource::Default => format!(
            "proxy {proxy} (the default: no forward proxy `oauthscope run` announced itself in this data directory)"
        ),
    }
}

/// Print the variables.
pub fn run_env(args: EnvArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let ca = load_ca(g)?;
    let trust = prepare_trust(g, &ca)?;
    let (proxy, source) = resolve_proxy(args.proxy.as_deref(), &g.home);
    let about = describe_source(&proxy, source);
    let vars = variables(&proxy, &trust);
    match args.shell {
        Shell::Sh => {
            println!(
                "# eval \"$(oauthscope env{})\" — send this shell's HTTP(S) through oauthscope",
                g.home.flag()
            );
            println!("# {about}");
        }
        Shell::Fish => {
            println!("# oauthscope env{} --shell fish | source", g.home.flag());
            println!("# {about}");
        }
        Shell::Powershell => {
            println!("# oauthscope env --shell powershell | Invoke-Expression");
            println!("# {about}");
        }
        Shell::Docker => {
            let flags: Vec<String> = docker_flags(&proxy, &trust)
                .iter()
                .map(|f| quote_sh_min(f))
                .collect();
            eprintln!(
                "# {about}; usage: eval \"docker run $(oauthscope env --shell docker) IMAGE\""
            );
            println!("{}", flags.join(" "));
            return Ok(ExitCode::SUCCESS);
        }
    }
    for (k, v) in vars {
        match args.shell {
            Shell::Sh => println!("export {k}={}", quote_sh(&v)),
            Shell::Fish => println!("set -gx {k} {}", quote_sh(&v)),
            Shell::Powershell => println!("$env:{k} = \"{}\"", v.replace('"', "`\"")),
            Shell::Docker => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run one command with the variables set, exiting with its status.
///
/// `JAVA_TOOL_OPTIONS` and `PHP_INI_SCAN_DIR` keep what the caller already
/// had (ours first, theirs after, so their own settings win). Before the
/// command starts, a warning goes to stderr when nothing accepts TCP
/// connections on the proxy address ([`proxy_listening`]) and when the
/// command is a Node.js whose `fetch()` ignores the proxy variables
/// ([`node_bypass_warning`]); when the proxy is this data directory's
/// running `oauthscope run`, the command's end is followed by how many
/// exchanges it captured meanwhile ([`capture_summary`]). While it runs, SIGINT, SIGTERM and SIGHUP sent
/// to oauthscope are passed on to it ([`wait_forwarding_signals`]); the exit
/// status is the command's, or 128 + the signal number when a signal ended it
/// (the shell convention).
pub fn run_exec(args: ExecArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let ca = load_ca(g)?;
    let trust = prepare_trust(g, &ca)?;
    let (proxy, source) = resolve_proxy(args.proxy.as_deref(), &g.home);
    tracing::info!("{}", describe_source(&proxy, source));
    let (prog, rest) = args
        .command
        .split_first()
        .context("no command given (usage: oauthscope exec -- CMD ARGS...)")?;
    if !proxy_listening(&proxy, std::time::Duration::from_secs(1)) {
        eprintln!(
            "warning: nothing accepts connections on {}: the command's HTTP(S) requests will fail \
             and nothing will be captured. Start `oauthscope run{}` first{}.",
            describe_source(&proxy, source),
            g.home.flag(),
            if source == ProxySource::Flag {
                ", or check --proxy"
            } else {
                ""
            }
        );
    }
    let node_warned = match node_bypass_warning(prog) {
        Some(w) => {
            eprintln!("warning: {w}");
            true
        }
        None => false,
    };
    // When the proxy is the `oauthscope run` of this data directory, what it
    // captured while the command ran is counted afterwards.
    let watched = running_proxy_at(&proxy, &g.home);
    let started = time::OffsetDateTime::now_utc();
    let mut cmd = std::process::Command::new(prog);
    cmd.args(rest);
    for (k, mut v) in variables(&proxy, &trust) {
        let theirs = std::env::var(k).ok().filter(|t| !t.trim().is_empty());
        match (k, theirs) {
            ("JAVA_TOOL_OPTIONS", Some(t)) => v = format!("{v} {t}"),
            ("PHP_INI_SCAN_DIR", Some(t)) => v = format!("{t}:{}", trust.php_ini_dir.display()),
            _ => {}
        }
        cmd.env(k, v);
    }
    let status = wait_forwarding_signals(&mut cmd)
        .with_context(|| format!("running {}", prog.to_string_lossy()))?;
    if let Some(state) = watched {
        let name = crate::view::safe(&prog.to_string_lossy()).into_owned();
        match captured_since(state, &g.home, started) {
            Some(n) => eprintln!("oauthscope: {}", capture_summary(&name, n, node_warned)),
            None => tracing::debug!("could not count what the running proxy captured"),
        }
    }
    Ok(ExitCode::from(exit_code_of(status)))
}

/// The running `oauthscope run` of `home` when it is the forward proxy at
/// `proxy` (the address `exec` points the command at).
fn running_proxy_at(proxy: &str, home: &crate::home::Home) -> Option<crate::api::ProxyState> {
    let state = crate::api::ProxyState::read(home).ok()??;
    if state.reverse.is_some() {
        return None;
    }
    let same = |a: &str| -> Option<std::net::SocketAddr> {
        let a: std::net::SocketAddr = a.trim().parse().ok()?;
        Some(if a.ip().is_unspecified() {
            ([127, 0, 0, 1], a.port()).into()
        } else {
            a
        })
    };
    match (same(&state.proxy), same(proxy)) {
        (Some(a), Some(b)) if a == b => Some(state),
        _ if state.proxy.trim() == proxy.trim() => Some(state),
        _ => None,
    }
}

/// How many exchanges the running proxy recorded since `since`, asked of
/// its API; the recorder writes shortly after an exchange ends, so this
/// waits (bounded, about a second) for the count to settle.
fn captured_since(
    state: crate::api::ProxyState,
    home: &crate::home::Home,
    since: time::OffsetDateTime,
) -> Option<usize> {
    let client = crate::api::Client::new(state, home);
    let q = crate::store::Query {
        since: Some(since - time::Duration::milliseconds(5)),
        ..crate::store::Query::default()
    };
    let mut last: Option<usize> = None;
    let mut stable = 0;
    for _ in 0..8 {
        let n = client.query(&q).ok()?.len();
        if last == Some(n) {
            stable += 1;
            if stable >= 2 {
                break;
            }
        } else {
            stable = 0;
        }
        last = Some(n);
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    last
}

/// The line `exec` prints after the command ended: how many exchanges the
/// running proxy captured while it ran (from any client of that proxy), or
/// that nothing was, with the likely reason.
pub fn capture_summary(command: &str, n: usize, node_warned: bool) -> String {
    match n {
        0 if node_warned => format!(
            "nothing was captured while {command} ran: if the app uses fetch(), its requests \
             bypassed the proxy. Route them through it (Node 22.21+ or 24+, or in code \
             undici.setGlobalDispatcher(new EnvHttpProxyAgent()) or a ProxyAgent for \
             HTTPS_PROXY), or check that the app made any HTTP(S) request."
        ),
        0 => format!(
            "nothing was captured while {command} ran: it made no HTTP(S) request, or its \
             HTTP client ignores HTTPS_PROXY (`oauthscope env --help` says what each runtime needs)."
        ),
        1 => format!(
            "captured 1 exchange while {command} ran (`oauthscope flows list` shows it)."
        ),
        n => format!(
            "captured {n} exchanges while {command} ran (`oauthscope flows list` shows them)."
        ),
    }
}

/// The exit code that reports a child's status: its own code (0–255), or
/// 128 + N when signal N ended it, as POSIX shells do.
pub fn exit_code_of(status: std::process::ExitStatus) -> u8 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(sig) = status.signal() {
            return 128u8.saturating_add(u8::try_from(sig).unwrap_or(127));
        }
    }
    status.code().map(|c| (c & 0xff) as u8).unwrap_or(1)
}

/// True when something accepts a TCP connection on `addr` (`HOST:PORT`)
/// within `timeout`, tried on each address the name resolves to.
pub fn proxy_listening(addr: &str, timeout: std::time::Duration) -> bool {
    use std::net::ToSocketAddrs as _;
    let Ok(addrs) = addr.to_socket_addrs() else {
        return false;
    };
    addrs
        .into_iter()
        .any(|a| std::net::TcpStream::connect_timeout(&a, timeout).is_ok())
}

/// A Node.js version, `vMAJOR.MINOR.PATCH` as `node --version` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeVersion(pub u32, pub u32, pub u32);

impl NodeVersion {
    /// Parse `v20.11.1` (the `v` and the patch are optional).
    pub fn parse(s: &str) -> Option<NodeVersion> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut parts = s.split('.').map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<u32>()
        });
        let major = parts.next()?.ok()?;
        let minor = parts.next().and_then(Result::ok).unwrap_or(0);
        let patch = parts.next().and_then(Result::ok).unwrap_or(0);
        Some(NodeVersion(major, minor, patch))
    }

    /// Whether `fetch()` follows `HTTPS_PROXY` when `NODE_USE_ENV_PROXY=1`
    /// (which `exec` sets): Node 22.21+ on the 22 line and 24.0+ (Node's
    /// "Enterprise network configuration" docs, `NODE_USE_ENV_PROXY`).
    pub fn fetch_uses_env_proxy(self) -> bool {
        let NodeVersion(major, minor, _) = self;
        (major == 22 && minor >= 21) || major >= 24
    }
}

/// Whether `prog` starts Node.js: `node`, `nodejs`, `npm`, `npx`, `pnpm`,
/// `yarn` (by file name). For `node`/`nodejs` the program itself is asked
/// for its version, for the others the `node` on `PATH`.
fn node_binary_of(prog: &std::ffi::OsStr) -> Option<PathBuf> {
    let name = Path::new(prog).file_name()?.to_str()?;
    match name {
        "node" | "nodejs" => Some(PathBuf::from(prog)),
        "npm" | "npx" | "pnpm" | "yarn" => Some(PathBuf::from("node")),
        _ => None,
    }
}

/// What to tell the user when `prog` is a Node.js (or npm/npx) whose
/// `fetch()` will go around the proxy: `node --version` is run (2 s at most)
/// and an older Node than [`NodeVersion::fetch_uses_env_proxy`] accepts gets
/// a warning naming the fixes. `None` for other programs, a Node that cannot
/// be asked, or one that honours the variables.
pub fn node_bypass_warning(prog: &std::ffi::OsStr) -> Option<String> {
    let node = node_binary_of(prog)?;
    let out = version_output(&node, std::time::Duration::from_secs(2))?;
    let v = NodeVersion::parse(&out)?;
    if v.fetch_uses_env_proxy() {
        return None;
    }
    Some(format!(
        "{} is Node.js v{}.{}.{}, whose fetch() ignores HTTPS_PROXY and NODE_USE_ENV_PROXY: \
         unless the app gives fetch() a proxy itself (an undici ProxyAgent or \
         setGlobalDispatcher), its requests may go straight to the provider, uncaptured. \
         Fixes: Node 22.21+ or 24+; or in code undici.setGlobalDispatcher(new \
         EnvHttpProxyAgent()) (for fetch); or `npm i global-agent` and add \
         NODE_OPTIONS='-r global-agent/bootstrap' (for the http/https modules, axios, got; \
         GLOBAL_AGENT_HTTP_PROXY is set).",
        node.display(),
        v.0,
        v.1,
        v.2
    ))
}

/// `BIN --version`'s stdout, or `None` when it cannot run, fails or takes
/// longer than `limit` (then it is killed).
fn version_output(bin: &Path, limit: std::time::Duration) -> Option<String> {
    let mut child = std::process::Command::new(bin)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut text).ok()?;
    Some(text)
}

/// Start `cmd` and wait for it, passing SIGINT, SIGTERM and SIGHUP that
/// oauthscope receives on to it (Unix).
///
/// A signal the terminal sent (Ctrl-C, hang-up: `si_code == SI_KERNEL`)
/// already reached the whole foreground process group, so it is passed on
/// only when the command left oauthscope's process group; a signal another
/// process sent with `kill` (`SI_USER`, ...) is always passed on. A signal
/// that arrives before the command has started is delivered once it has.
#[cfg(unix)]
pub fn wait_forwarding_signals(
    cmd: &mut std::process::Command,
) -> std::io::Result<std::process::ExitStatus> {
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::Arc;
    const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
    // The child's pid once started (0 before); a signal that came earlier.
    let child_pid = Arc::new(AtomicI32::new(0));
    let pending = Arc::new(AtomicI32::new(0));
    let mut ids = Vec::new();
    for sig in FORWARDED {
        let (pid, early) = (child_pid.clone(), pending.clone());
        // SAFETY: the action only loads atomics and calls getpgid, getpgrp
        // and kill, which are plain system calls (async-signal-safe).
        let id = unsafe {
            signal_hook_registry::register_sigaction(sig, move |info: &libc::siginfo_t| {
                let p = pid.load(Ordering::SeqCst);
                if p <= 0 {
                    early.store(info.si_signo, Ordering::SeqCst);
                    return;
                }
                let from_terminal = info.si_code == libc::SI_KERNEL;
                if from_terminal && libc::getpgid(p) == libc::getpgrp() {
                    return;
                }
                libc::kill(p, info.si_signo);
            })
        }
        .map_err(std::io::Error::other)?;
        ids.push(id);
    }
    let result = (|| {
        let mut child = cmd.spawn()?;
        let pid = i32::try_from(child.id()).map_err(std::io::Error::other)?;
        child_pid.store(pid, Ordering::SeqCst);
        let early = pending.swap(0, Ordering::SeqCst);
        if early != 0 {
            // SAFETY: kill on the pid of a child not yet reaped.
            unsafe { libc::kill(pid, early) };
        }
        // Wait without reaping first, so the pid cannot be reused by another
        // process while the signal actions may still use it.
        loop {
            // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let flags = libc::WEXITED | libc::WNOWAIT;
            // SAFETY: waitid on our own child's pid with a valid siginfo_t.
            let rc = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
            if rc == 0 {
                break;
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                break;
            }
        }
        child_pid.store(0, Ordering::SeqCst);
        child.wait()
    })();
    for id in ids {
        signal_hook_registry::unregister(id);
    }
    result
}

/// Start `cmd` and wait for it (no signals to forward on this platform).
#[cfg(not(unix))]
pub fn wait_forwarding_signals(
    cmd: &mut std::process::Command,
) -> std::io::Result<std::process::ExitStatus> {
    cmd.status()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_lists_become_java_non_proxy_hosts() {
        assert_eq!(java_non_proxy_hosts(""), "");
        assert_eq!(
            java_non_proxy_hosts("internal.corp, .example.com"),
            "internal.corp|*.example.com"
        );
    }

    #[test]
    fn java_options_proxy_loopback_and_name_the_trust_store() {
        let o = java_tool_options("127.0.0.1:9090", Path::new("/h/ca/truststore.jks"), "");
        for want in [
            "-Dhttps.proxyHost=127.0.0.1",
            "-Dhttps.proxyPort=9090",
            "-Dhttp.proxyPort=9090",
            "-Dhttp.nonProxyHosts= ",
            "-Djavax.net.ssl.trustStore=/h/ca/truststore.jks",
            "-Djavax.net.ssl.trustStorePassword=changeit",
        ] {
            assert!(o.contains(want), "{want} missing from {o}");
        }
        let spaced = java_tool_options("[::1]:8080", Path::new("/My Home/t.jks"), "");
        assert!(spaced.contains("-Dhttps.proxyHost=::1 "), "{spaced}");
        assert!(spaced.contains("\"-Djavax.net.ssl.trustStore=/My Home/t.jks\""));
    }

    #[test]
    fn the_proxy_address_comes_from_the_flag_then_proxy_json_then_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let home = crate::home::Home::new(dir.path());
        assert_eq!(
            resolve_proxy(None, &home),
            (DEFAULT_PROXY.to_string(), ProxySource::Default)
        );
        let state = crate::api::ProxyState::new(
            "0.0.0.0:18123".parse().unwrap(),
            "127.0.0.1:1".parse().unwrap(),
        );
        state.write(&home).unwrap();
        assert_eq!(
            resolve_proxy(None, &home),
            ("127.0.0.1:18123".to_string(), ProxySource::Running)
        );
        assert_eq!(
            resolve_proxy(Some("127.0.0.1:7"), &home),
            ("127.0.0.1:7".to_string(), ProxySource::Flag)
        );
        // A reverse-mode listener (run --reverse, mock) is no forward proxy.
        let mut reverse = state.clone();
        reverse.reverse = Some("https://idp.example.com/".into());
        reverse.write(&home).unwrap();
        assert_eq!(
            resolve_proxy(None, &home),
            (DEFAULT_PROXY.to_string(), ProxySource::Default)
        );
    }
}

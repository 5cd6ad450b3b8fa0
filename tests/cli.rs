//! The binary's command line, run as a user would.

use std::process::Command;

fn run(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("OAUTHSCOPE_HOME")
        .output()
        .unwrap()
}

#[test]
fn help_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "run", "ca", "env", "exec", "flows", "analyze", "export", "explain",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from --help:\n{text}");
    }
    let out = run(dir.path(), &["run", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--intercept", "--web", "--no-web"] {
        assert!(
            help.contains(flag),
            "{flag} missing from run --help:\n{help}"
        );
    }
    let out = run(dir.path(), &["ui", "--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--print"));
}

#[test]
fn ca_path_creates_the_ca_and_prints_only_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["ca", "path"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    let path = std::path::PathBuf::from(stdout.trim());
    assert!(path.starts_with(dir.path()));
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.path().join("ca").join("ca.key");
        assert_eq!(
            std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The key is never printed, by any ca command.
    for args in [
        &["ca", "init"][..],
        &["ca", "export"][..],
        &["ca", "path"][..],
    ] {
        let out = run(dir.path(), args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("PRIVATE KEY"), "{args:?} printed the key");
    }
}

#[test]
fn env_points_at_the_proxy_and_a_combined_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["env", "--proxy", "127.0.0.1:9999"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for var in [
        "HTTPS_PROXY='http://127.0.0.1:9999'",
        "https_proxy=",
        "SSL_CERT_FILE=",
        "REQUESTS_CA_BUNDLE=",
        "CURL_CA_BUNDLE=",
        "NODE_EXTRA_CA_CERTS=",
        "GIT_SSL_CAINFO=",
        "CARGO_HTTP_CAINFO=",
    ] {
        assert!(text.contains(var), "{var} missing:\n{text}");
    }
    let bundle = std::fs::read_to_string(dir.path().join("ca").join("bundle.pem")).unwrap();
    let ca = std::fs::read_to_string(dir.path().join("ca").join("ca.pem")).unwrap();
    assert!(bundle.contains(ca.trim()), "bundle holds our CA");
    let out = run(dir.path(), &["env", "--shell", "fish"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("set -gx HTTPS_PROXY"));
}

#[test]
fn exec_runs_the_command_with_the_variables_and_its_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["exec", "--", "sh", "-c", "echo $HTTPS_PROXY; exit 7"],
    );
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "http://127.0.0.1:8080"
    );
}

#[test]
fn run_refuses_a_non_loopback_address_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["run", "--listen", "0.0.0.0:0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
    let out = run(
        dir.path(),
        &["run", "--listen", "127.0.0.1:0", "--web", "0.0.0.0:0"],
    );
    assert!(!out.status.success(), "the web UI is loopback-only too");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("web UI") && err.contains("--allow-remote"),
        "{err}"
    );
}

#[test]
fn help_covers_the_browser_and_the_runtimes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("browser"),
        "browser missing from --help:\n{text}"
    );
    let out = run(dir.path(), &["browser", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for want in [
        "--browser",
        "--headless",
        "--proxy",
        "chromium, chrome, edge, brave, firefox",
        "removed when it exits",
        "proxy.json",
    ] {
        assert!(
            help.contains(want),
            "{want} missing from browser --help:\n{help}"
        );
    }
    let out = run(dir.path(), &["env", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for want in [
        "JAVA_TOOL_OPTIONS",
        "-Dhttp.nonProxyHosts=",
        "NODE_USE_ENV_PROXY=1",
        "global-agent",
        "Go never proxies localhost",
        ".NET",
        "Ruby",
        "PHP",
        "--network host",
        "proxy.json",
    ] {
        assert!(
            help.contains(want),
            "{want} missing from env --help:\n{help}"
        );
    }
    let out = run(dir.path(), &["ca", "init"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "JAVA_TOOL_OPTIONS",
        "oauthscope browser",
        "--shell docker",
        "Go never proxies",
    ] {
        assert!(text.contains(want), "{want} missing from ca init:\n{text}");
    }
}

/// A proxy.json the way `oauthscope run` writes it, announcing `proxy`.
fn announce(home: &std::path::Path, proxy: &str) {
    let state = serde_json::json!({
        "pid": std::process::id(),
        "proxy": proxy,
        "api": "127.0.0.1:1",
        "token": "t",
    });
    std::fs::create_dir_all(home).unwrap();
    std::fs::write(home.join("proxy.json"), state.to_string()).unwrap();
}

#[test]
fn env_and_exec_default_to_the_running_proxys_address() {
    let dir = tempfile::tempdir().unwrap();
    announce(dir.path(), "127.0.0.1:18431");
    let out = run(
        dir.path(),
        &[
            "exec",
            "--",
            "sh",
            "-c",
            "echo $HTTPS_PROXY; echo $JAVA_TOOL_OPTIONS",
        ],
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("http://127.0.0.1:18431"), "{text}");
    let java = lines.next().unwrap_or("");
    assert!(
        java.contains("-Dhttps.proxyPort=18431") && java.contains("-Dhttp.nonProxyHosts= "),
        "{java}"
    );
    let out = run(dir.path(), &["env"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("export HTTPS_PROXY='http://127.0.0.1:18431'"),
        "{text}"
    );
    assert!(
        text.contains("from proxy.json"),
        "says where it came from:\n{text}"
    );
    // --proxy still wins.
    let out = run(
        dir.path(),
        &[
            "exec",
            "--proxy",
            "127.0.0.1:9",
            "--",
            "sh",
            "-c",
            "echo $HTTPS_PROXY",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "http://127.0.0.1:9"
    );
    // The trust store exec points Java at holds our CA (and the system's roots).
    let jks = std::fs::read(dir.path().join("ca").join("truststore.jks")).unwrap();
    let entries = oauthscope::truststore::decode_jks(&jks, "changeit").unwrap();
    let ca_pem = std::fs::read(dir.path().join("ca").join("ca.pem")).unwrap();
    let ca_der = oauthscope::truststore::certs_from_pem(&ca_pem).remove(0);
    assert!(entries
        .iter()
        .any(|e| e.alias == "oauthscope" && e.der == ca_der));
}

#[test]
fn env_prints_a_docker_run_fragment_without_the_ca_key() {
    let dir = tempfile::tempdir().unwrap();
    announce(dir.path(), "127.0.0.1:18432");
    let out = run(dir.path(), &["env", "--shell", "docker"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "--network host",
        "-e HTTPS_PROXY=http://127.0.0.1:18432",
        "/ca/bundle.pem:/oauthscope/bundle.pem:ro",
        "/ca/truststore.jks:/oauthscope/truststore.jks:ro",
        "-e SSL_CERT_FILE=/oauthscope/bundle.pem",
        "-Djavax.net.ssl.trustStore=/oauthscope/truststore.jks",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert!(!text.contains("ca.key"), "the CA key is never mounted");
}

#[test]
fn exec_keeps_the_callers_java_options_after_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(dir.path())
        .args(["exec", "--", "sh", "-c", "echo $JAVA_TOOL_OPTIONS"])
        .env_remove("OAUTHSCOPE_HOME")
        .env("JAVA_TOOL_OPTIONS", "-Xmx64m -Dhttps.proxyPort=1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let opts = String::from_utf8_lossy(&out.stdout);
    let ours = opts.find("-Dhttps.proxyPort=8080").expect("ours");
    let theirs = opts.rfind("-Dhttps.proxyPort=1");
    assert!(opts.contains("-Xmx64m"), "{opts}");
    assert!(
        theirs.is_some_and(|t| t > ours),
        "theirs come last and win: {opts}"
    );
}

/// `run --home DIR` tells the other shell how to reach *this* data
/// directory: following its hint literally gives the running proxy's
/// address and this CA, not a second CA in `~/.oauthscope`.
#[cfg(unix)]
#[test]
fn run_start_up_hint_names_the_data_directory() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .args(["--home"])
        .arg(dir.path())
        .args([
            "run",
            "--listen",
            "127.0.0.1:0",
            "--no-web",
            "--color",
            "never",
        ])
        .env_remove("OAUTHSCOPE_HOME")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("Next:") {
                let _ = tx.send(line);
                break;
            }
        }
    });
    let hint = rx.recv_timeout(std::time::Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    let hint = hint.expect("run printed its Next: line");
    let want = format!("oauthscope env --home {}", dir.path().display());
    assert!(hint.contains(&want), "{hint}");
}

//! `oauthscope exec` with real processes and signals: a child shell script
//! that traps the signal and writes a file, the exit statuses a shell would
//! see, the warning when no proxy listens, and the Node.js bypass warning.
#![cfg(unix)]

mod support;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A listening socket, so `exec` finds a proxy address that accepts.
fn listener() -> (std::net::TcpListener, String) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    (l, addr)
}

/// An address nothing listens on (bound, then released).
fn closed_addr() -> String {
    let (l, addr) = listener();
    drop(l);
    addr
}

fn oauthscope(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oauthscope"));
    c.arg("--home")
        .arg(home)
        .env_remove("OAUTHSCOPE_HOME")
        .env_remove("RUST_LOG");
    c
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(body.as_bytes()).unwrap();
    drop(f);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn wait_for_file(p: &Path, child: &mut Child) {
    let start = Instant::now();
    while !p.exists() {
        if let Some(s) = child.try_wait().unwrap() {
            panic!("exec ended ({s}) before the script was ready");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the script never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("exec did not end within {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn send(child: &Child, sig: libc::c_int) {
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill failed");
}

#[test]
fn sigint_sigterm_and_sighup_reach_the_command_and_its_status_is_returned() {
    let (_l, proxy) = listener();
    for (sig, name, code) in [
        (libc::SIGINT, "INT", 41),
        (libc::SIGTERM, "TERM", 42),
        (libc::SIGHUP, "HUP", 43),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready");
        let got = dir.path().join("got");
        // The trap runs between the short sleeps; it records the signal and
        // exits with its own status.
        let sh = script(
            dir.path(),
            "app.sh",
            &format!(
                "#!/bin/sh\ntrap 'echo {name} > \"{got}\"; exit {code}' {name}\n: > \"{ready}\"\nwhile :; do sleep 0.05; done\n",
                got = got.display(),
                ready = ready.display()
            ),
        );
        let mut child = oauthscope(dir.path())
            .args(["exec", "--proxy", &proxy, "--"])
            .arg(&sh)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_file(&ready, &mut child);
        send(&child, sig);
        let status = wait_within(&mut child, Duration::from_secs(30));
        assert_eq!(
            std::fs::read_to_string(&got).ok().as_deref().map(str::trim),
            Some(name),
            "the script did not see SIG{name}"
        );
        assert_eq!(status.code(), Some(code), "SIG{name}: {status}");
    }
}

#[test]
fn a_command_killed_by_a_signal_exits_128_plus_the_signal() {
    let (_l, proxy) = listener();
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let sh = script(
        dir.path(),
        "app.sh",
        &format!(
            "#!/bin/sh\n: > \"{}\"\nwhile :; do sleep 0.05; done\n",
            ready.display()
        ),
    );
    let mut child = oauthscope(dir.path())
        .args(["exec", "--proxy", &proxy, "--"])
        .arg(&sh)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&ready, &mut child);
    send(&child, libc::SIGTERM);
    let status = wait_within(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{status}");

    // The shell convention also for a child that kills itself.
    let out = oauthscope(dir.path())
        .args(["exec", "--proxy", &proxy, "--", "sh", "-c", "kill -KILL $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128 + libc::SIGKILL));
}

#[test]
fn a_warning_says_when_nothing_listens_on_the_proxy_address() {
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_addr();
    let out = oauthscope(dir.path())
        .args(["exec", "--proxy", &closed, "--", "sh", "-c", "exit 3"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "the command still runs: {err}");
    assert!(
        err.contains(&format!("nothing accepts connections on proxy {closed}"))
            && err.contains("oauthscope run"),
        "{err}"
    );

    let (_l, open) = listener();
    let out = oauthscope(dir.path())
        .args(["exec", "--proxy", &open, "--", "true"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("nothing accepts"), "false alarm: {err}");
}

/// A stand-in `node` that reports `version` (and `npm`/`npx` next to it).
fn fake_node(dir: &Path, version: &str) -> PathBuf {
    script(
        dir,
        "node",
        &format!("#!/bin/sh\nif [ \"$1\" = --version ]; then echo {version}; fi\nexit 0\n"),
    );
    script(dir, "npm", "#!/bin/sh\nexit 0\n");
    dir.join("node")
}

#[test]
fn node_whose_fetch_ignores_the_proxy_gets_a_warning_with_the_fix() {
    let (_l, proxy) = listener();
    for (version, warns) in [
        ("v18.19.0", true),
        ("v20.11.1", true),
        ("v22.20.0", true),
        ("v23.11.0", true),
        ("v22.21.0", false),
        ("v24.0.0", false),
        ("v25.1.0", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let node = fake_node(dir.path(), version);
        let out = oauthscope(dir.path())
            .args(["exec", "--proxy", &proxy, "--"])
            .arg(&node)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{version}: {err}");
        assert_eq!(
            err.contains("fetch() ignores HTTPS_PROXY"),
            warns,
            "{version}: {err}"
        );
        if warns {
            // The app may give fetch() a proxy itself: "may", not "will".
            assert!(
                err.contains(&format!("Node.js {version}"))
                    && err.contains("22.21+ or 24+")
                    && err.contains("global-agent")
                    && err.contains("EnvHttpProxyAgent")
                    && err.contains("may go straight to the provider")
                    && !err.contains("will go straight"),
                "{err}"
            );
        }
        // npm runs the node on PATH: that one is asked.
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = oauthscope(dir.path())
            .args(["exec", "--proxy", &proxy, "--", "npm", "start"])
            .env("PATH", &path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.contains("fetch() ignores HTTPS_PROXY"),
            warns,
            "npm, {version}: {err}"
        );
    }
}

#[test]
fn the_installed_node_is_asked_when_there_is_one() {
    let Ok(v) = Command::new("node").arg("--version").output() else {
        eprintln!("skipped: no node on PATH");
        return;
    };
    let version = String::from_utf8_lossy(&v.stdout).trim().to_string();
    let (major, minor) = {
        let mut it = version.trim_start_matches('v').split('.');
        let major: u32 = it.next().unwrap().parse().unwrap();
        let minor: u32 = it.next().unwrap().parse().unwrap();
        (major, minor)
    };
    let bypasses = !((major == 22 && minor >= 21) || major >= 24);
    let (_l, proxy) = listener();
    let dir = tempfile::tempdir().unwrap();
    let out = oauthscope(dir.path())
        .args([
            "exec",
            "--proxy",
            &proxy,
            "--",
            "node",
            "-e",
            "process.exit(5)",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert_eq!(
        err.contains("fetch() ignores HTTPS_PROXY"),
        bypasses,
        "node {version}: {err}"
    );
}

/// Ctrl-C at a real pseudo-terminal (util-linux `script` receives the ^C
/// byte): the terminal signals the whole foreground process group, so the
/// command gets SIGINT, and `exec` neither dies of it nor ends the command:
/// it waits and exits with the command's own status. (That `exec` does not
/// pass a terminal's signal on a second time is not observable here: a
/// shell's trap runs once for signals that arrive close together.)
#[test]
fn ctrl_c_at_a_terminal_reaches_the_command_and_exec_waits_for_it() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` (a pseudo-terminal) is not installed");
        return;
    }
    let (_l, proxy) = listener();
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let got = dir.path().join("got");
    // Counts every SIGINT, keeps running for 30 short sleeps, exits 7.
    let sh = script(
        dir.path(),
        "app.sh",
        &format!(
            "#!/bin/sh\ntrap 'echo INT >> \"{got}\"' INT\n: > \"{ready}\"\ni=0\nwhile [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done\nexit 7\n",
            got = got.display(),
            ready = ready.display()
        ),
    );
    // `exec`: the pty's shell (`$SHELL`, else dash, which does not replace
    // itself for a `-c` command) must not stay behind as a third process in
    // the foreground group: it would die of the ^C as no interactive shell
    // would. An interactive shell runs oauthscope as the foreground job.
    let line = format!(
        "exec '{}' --home '{}' exec --proxy {proxy} -- '{}'",
        env!("CARGO_BIN_EXE_oauthscope"),
        dir.path().display(),
        sh.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_remove("OAUTHSCOPE_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&ready, &mut child);
    // The trap is set before `ready` is written; ^C goes through the pty.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    let status = wait_within(&mut child, Duration::from_secs(60));
    drop(stdin);
    let seen = std::fs::read_to_string(&got).unwrap_or_default();
    assert_eq!(seen.lines().count(), 1, "SIGINT seen {:?} times", seen);
    assert_eq!(
        status.code(),
        Some(7),
        "exec kept waiting for the command: {status}"
    );
}

/// With the running `oauthscope run` of the data directory as the proxy,
/// `exec` says afterwards what was captured while the command ran: a Node 20
/// app that sends through the proxy itself (as one with an undici
/// ProxyAgent does; here a stand-in `node` running curl) is told its
/// exchange was captured, after the warning that fetch() only *may* bypass;
/// one that sent nothing hears that nothing was captured, and why fetch()
/// may be the reason.
#[test]
fn exec_says_what_the_running_proxy_captured_while_the_command_ran() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let provider = rt.block_on(support::start_provider());
    let run = support::RunProcess::start(&provider.ca_pem_path, &[]);
    let dir = tempfile::tempdir().unwrap();
    let node = script(
        dir.path(),
        "node",
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo v20.11.1; exit 0; fi\n\
         if [ -n \"$1\" ]; then curl -sS -o /dev/null -d grant_type=client_credentials \
         -d client_id=svc \"$1\" || exit 9; fi\nexit 0\n",
    );
    let token_url = provider.url("/token");
    let out = oauthscope(&run.home)
        .args(["exec", "--"])
        .arg(&node)
        .arg(&token_url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("may go straight to the provider") && !err.contains("will go straight"),
        "{err}"
    );
    assert!(err.contains("captured 1 exchange while"), "{err}");
    assert!(!err.contains("nothing was captured"), "{err}");

    let out = oauthscope(&run.home)
        .args(["exec", "--"])
        .arg(&node)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("nothing was captured while") && err.contains("if the app uses fetch()"),
        "{err}"
    );

    // Not a Node.js: nothing captured, with the general reason.
    let out = oauthscope(&run.home)
        .args(["exec", "--", "true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nothing was captured while") && !err.contains("fetch()"),
        "{err}"
    );
    drop(run);
    drop(provider);
}

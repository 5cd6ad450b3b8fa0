//! The real `oauthscope run` process: its loopback API refuses foreign
//! `Host` names, its files are owner-only, and after `kill -9` under load
//! every exchange that completed more than a second earlier is in the store.

mod support;

use oauthscope::store::{Query, Store};
use std::time::{Duration, Instant};
use support::{start_provider, RunProcess};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refuses_requests_whose_host_is_not_a_loopback_name() {
    let provider = start_provider().await;
    let run = RunProcess::start(&provider.ca_pem_path, &[]);
    let (api, token) = run.api();
    let port = api.port();
    // A page on evil.example whose DNS name was rebound to 127.0.0.1: the
    // browser connects to the API but sends its own name as Host.
    let rebound = reqwest::Client::builder()
        .no_proxy()
        .resolve("evil.example", api)
        .build()
        .unwrap();
    let status = |r: reqwest::Response| r.status().as_u16();
    let url = |host: &str| format!("http://{host}:{port}/api/records");
    let r = rebound
        .get(url("evil.example"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 403, "foreign Host with the right token");
    let direct = reqwest::Client::builder().no_proxy().build().unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let r = direct
            .get(url(host))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(status(r), 200, "{host}");
    }
    let r = direct.get(url("127.0.0.1")).send().await.unwrap();
    assert_eq!(status(r), 401, "no token");
    let r = direct
        .get(url("127.0.0.1"))
        .header("host", format!("127.0.0.1.evil.example:{port}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 403, "a name that starts like a loopback address");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_0700_and_the_store_and_state_files_0600() {
    use std::os::unix::fs::PermissionsExt;
    let provider = start_provider().await;
    let mut run = RunProcess::start(&provider.ca_pem_path, &[]);
    let resp = support::Harness::client_credentials(&run.client(), provider.url("/token")).await;
    assert_eq!(resp.status(), 200);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&run.home), 0o700, "data directory");
    assert_eq!(mode(&run.home.join("proxy.json")), 0o600, "proxy.json");
    assert_eq!(mode(&run.home.join("ca").join("ca.key")), 0o600, "CA key");
    assert!(run.terminate().success());
    let store = run.home.join("store");
    let mut files = 0;
    let mut stack = vec![store];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            assert_eq!(mode(&p), 0o700, "{}", p.display());
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
            files += 1;
        }
    }
    assert!(files > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_under_load_every_exchange_older_than_a_second_is_stored() {
    let provider = start_provider().await;
    let mut run = RunProcess::start(&provider.ca_pem_path, &[]);
    let client = run.client();
    let url = provider.url("/token");
    // Bounded load: 8 workers, at most 4 000 requests and 6 s in all.
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let completed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(usize, Instant)>::new()));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (client, url, next, completed) =
            (client.clone(), url.clone(), next.clone(), completed.clone());
        workers.push(tokio::spawn(async move {
            while started.elapsed() < Duration::from_secs(6) {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= 4_000 {
                    break;
                }
                let sent = client
                    .post(&url)
                    .form(&[
                        ("grant_type", "client_credentials".to_string()),
                        ("client_id", format!("dur-{n}")),
                    ])
                    .send()
                    .await;
                if let Ok(r) = sent {
                    if r.status() == 200 && r.bytes().await.is_ok() {
                        completed.lock().unwrap().push((n, Instant::now()));
                    }
                }
            }
        }));
    }
    // Kill while the load is running, once enough has completed.
    while completed.lock().unwrap().len() < 300 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    run.child.kill().unwrap(); // SIGKILL
    let killed_at = Instant::now();
    let _ = run.child.wait();
    for w in workers {
        let _ = w.await;
    }
    let must_have: Vec<usize> = completed
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, t)| *t + Duration::from_secs(1) < killed_at)
        .map(|(n, _)| *n)
        .collect();
    assert!(
        must_have.len() >= 100,
        "the load completed {} exchanges more than 1 s before the kill",
        must_have.len()
    );
    let store = Store::open(&run.home.join("store")).expect("the store reopens after kill -9");
    let mut stored = std::collections::HashSet::new();
    store
        .query_each(&Query::default(), |r| {
            let body = r.request.body.as_text().unwrap_or_default().to_string();
            if let Some(id) = url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "client_id")
                .and_then(|(_, v)| v.strip_prefix("dur-").and_then(|n| n.parse::<usize>().ok()))
            {
                stored.insert(id);
            }
            Ok(())
        })
        .unwrap();
    let lost: Vec<usize> = must_have
        .iter()
        .filter(|n| !stored.contains(n))
        .copied()
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} exchanges completed over a second before the kill are missing: {:?}",
        lost.len(),
        must_have.len(),
        &lost[..lost.len().min(20)]
    );
}

/// `run --registered-redirect`: the redirect URIs registered at the provider
/// reach what reads the capture through the running proxy. A login whose
/// redirect_uri is not the registered one shows `redirect_uri.not_registered`
/// in `flows list --json` (given no --registered-redirect of its own), in
/// `flows show`, and the registered URI is in proxy.json for other clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_registered_redirect_reaches_flows_list_through_the_running_proxy() {
    let provider = start_provider().await;
    let registered = "http://localhost:3000/callback";
    let run = RunProcess::start(
        &provider.ca_pem_path,
        &["--registered-redirect", registered],
    );
    assert_eq!(
        run.state["registered_redirects"],
        serde_json::json!([registered]),
        "{}",
        run.state
    );
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://{}", run.listen)).unwrap())
        .tls_certs_only([reqwest::Certificate::from_pem(run.ca_pem().as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let auth = provider.url(
        "/authorize?response_type=code&client_id=app&state=s1\
         &redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback%2Fother",
    );
    let r = client.get(auth).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302);

    let home = run.home.clone();
    let cli = move |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_oauthscope"))
            .arg("--home")
            .arg(&home)
            .args(args)
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The recorder writes shortly after the exchange: wait (bounded).
    let start = Instant::now();
    let listed = loop {
        let c = cli.clone();
        let (out, err) = tokio::task::spawn_blocking(move || c(&["flows", "list", "--json"]))
            .await
            .unwrap();
        if out.contains("authorize_request") || start.elapsed() > Duration::from_secs(20) {
            break (out, err);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (out, err) = listed;
    let recs: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    let codes: Vec<String> = recs
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["annotations"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["code"].as_str().map(str::to_string))
        .collect();
    assert!(
        codes.iter().any(|c| c == "redirect_uri.not_registered"),
        "{codes:?}\n{out}"
    );
    // The command's own --registered-redirect wins over the running proxy's.
    let (out, _) = tokio::task::spawn_blocking(move || {
        cli(&[
            "flows",
            "list",
            "--json",
            "--registered-redirect",
            "http://localhost:3000/callback/other",
        ])
    })
    .await
    .unwrap();
    assert!(!out.contains("redirect_uri.not_registered"), "{out}");
}

//! What oauthscope prints and serves from untrusted captures (issue 16,
//! items 1, 2, 3 and 10), through the built binary over a real store on
//! disk and the real web UI:
//! - "copy as curl" (`flows show --curl` and the web UI's page) of a hostile
//!   HAR passes URL and body as values: run with `sh` against a stub `curl`
//!   that records its argv and stdin;
//! - control characters from a capture never reach the terminal raw, and
//!   no raw HTML from a capture lands in the Markdown report;
//! - `oauthscope ui` opens a one-time code, never the token;
//! - marker secrets planted in every position of every format are in no
//!   export (HAR, JSON, Markdown from the CLI and the web UI, `--curl --redact`);
//! - a redacted export re-analyses to the same flavours and annotation codes.

mod support;

use base64::Engine as _;
use oauthscope::home::Home;
use oauthscope::record::Record;
use oauthscope::store::Store;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn bin(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run oauthscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One HAR 1.2 entry.
#[allow(clippy::too_many_arguments)]
fn entry(
    method: &str,
    url: &str,
    req_headers: &[(&str, &str)],
    post: Option<(&str, &str)>,
    status: u16,
    resp_headers: &[(&str, &str)],
    resp_body: &str,
    second: u32,
) -> Value {
    let hs = |h: &[(&str, &str)]| {
        h.iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect::<Vec<_>>()
    };
    let mut request = json!({
        "method": method, "url": url, "httpVersion": "HTTP/1.1",
        "headers": hs(req_headers), "queryString": [], "cookies": [],
        "headersSize": -1, "bodySize": post.map(|p| p.1.len() as i64).unwrap_or(0),
    });
    if let Some((mime, text)) = post {
        request["postData"] = json!({"mimeType": mime, "text": text});
    }
    let ct = resp_headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| *v)
        .unwrap_or("application/json");
    json!({
        "startedDateTime": format!("2026-03-01T10:00:{second:02}.000Z"),
        "time": 12,
        "request": request,
        "response": {
            "status": status, "statusText": "", "httpVersion": "HTTP/1.1",
            "headers": hs(resp_headers), "cookies": [],
            "content": {"size": resp_body.len(), "mimeType": ct, "text": resp_body},
            "redirectURL": "", "headersSize": -1, "bodySize": resp_body.len(),
        },
        "cache": {},
        "timings": {"send": 1, "wait": 10, "receive": 1},
    })
}

fn har(entries: Vec<Value>) -> String {
    json!({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": entries}})
        .to_string()
}

/// A data directory whose store holds the OAuth exchanges of `har_text`
/// (imported by the library, as `analyze` would read them).
fn store_from_har(har_text: &str) -> (tempfile::TempDir, Vec<Record>) {
    let imported = oauthscope::har::import::from_str(har_text).unwrap();
    assert!(!imported.records.is_empty(), "{:?}", imported.skipped);
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let s = Store::open(&home.store_dir()).unwrap();
    for r in &imported.records {
        s.insert(r).unwrap();
    }
    s.flush().unwrap();
    (dir, imported.records)
}

/// `oauthscope ui [FILE] --print` as a child process: its printed login URL.
struct Ui {
    child: Child,
    url: String,
}

impl Ui {
    fn start(home: &Path, file: Option<&Path>, env: &[(&str, &Path)]) -> Ui {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oauthscope"));
        cmd.arg("--home").arg(home).arg("ui");
        if let Some(f) = file {
            cmd.arg(f);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .args(["--print", "--web", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Ui {
            child,
            url: line.trim().to_string(),
        }
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Trade a login URL (`/?code=`) for the session cookie; `(origin, cookie)`.
async fn log_in(url: &str) -> (String, String) {
    let resp = http().get(url).send().await.unwrap();
    assert_eq!(resp.status(), 303, "{url}");
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let u = url::Url::parse(url).unwrap();
    let origin = format!("http://{}:{}", u.host_str().unwrap(), u.port().unwrap());
    (origin, cookie)
}

async fn get(origin: &str, cookie: &str, path: &str) -> String {
    let resp = http()
        .get(format!("{origin}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.text().await.unwrap()
}

fn html_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A stub `curl` first on PATH: records its arguments (NUL-separated) and stdin.
struct StubCurl {
    dir: tempfile::TempDir,
}

impl StubCurl {
    fn new() -> StubCurl {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("curl");
        std::fs::write(
            &script,
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$STUB_OUT.argv\"\ncat > \"$STUB_OUT.stdin\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        StubCurl { dir }
    }

    /// Run `command` with `sh`; the stub's argv and stdin.
    fn run(&self, command: &str) -> (Vec<String>, Vec<u8>) {
        let out_base = self.dir.path().join("out");
        let _ = std::fs::remove_file(out_base.with_extension("argv"));
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("PATH", path)
            .env("STUB_OUT", &out_base)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}\n{out:?}");
        let argv = std::fs::read(self.dir.path().join("out.argv")).expect("the stub ran");
        let argv = argv
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>();
        let stdin = std::fs::read(self.dir.path().join("out.stdin")).unwrap();
        (argv[..argv.len() - 1].to_vec(), stdin)
    }
}

/// Every option in `argv` is one of the generator's own, each value follows
/// its option; returns the `--url` value and the `-H` values.
fn options(argv: &[String]) -> (String, Vec<String>) {
    let mut url = None;
    let mut headers = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        match argv[i].as_str() {
            "--url" => url = Some(argv[i + 1].clone()),
            "-H" => headers.push(argv[i + 1].clone()),
            "-X" => assert!(!argv[i + 1].starts_with('-'), "{argv:?}"),
            "--data-binary" => assert_eq!(argv[i + 1], "@-", "{argv:?}"),
            "--compressed" | "--head" => {
                i += 1;
                continue;
            }
            other => panic!("unexpected curl argument {other:?} in {argv:?}"),
        }
        i += 2;
    }
    (url.expect("--url"), headers)
}

const CURL_CONFIG: &str = "grant_type=client_credentials&x=1\n-K-\nurl = \"http://127.0.0.1:9/pwned\"\noutput = \"pwned\"\n";
const MULTIPART: &str = "--XyZ\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--XyZ\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\n-K-\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\u{0}\u{1b}]0;x\u{7}-o pwned\r\n--XyZ--\r\n";
const DASH_FORM: &str =
    "--url=http://127.0.0.1:9/&-o=pwned&grant_type=client_credentials&client_id=-K-";

fn hostile_har() -> String {
    har(vec![
        entry(
            "POST",
            "-K-",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(("application/x-www-form-urlencoded", CURL_CONFIG)),
            200,
            &[],
            r#"{"access_token":"a","token_type":"Bearer"}"#,
            1,
        ),
        entry(
            "POST",
            "https://idp.example/token?x=-o",
            &[
                ("Content-Type", "multipart/form-data; boundary=XyZ"),
                ("-o", "pwned"),
            ],
            Some(("multipart/form-data; boundary=XyZ", MULTIPART)),
            200,
            &[],
            r#"{"access_token":"b","token_type":"Bearer"}"#,
            2,
        ),
        entry(
            "-K-",
            "https://idp.example/oauth/token",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(("application/x-www-form-urlencoded", DASH_FORM)),
            200,
            &[],
            r#"{"access_token":"c","token_type":"Bearer"}"#,
            3,
        ),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_as_curl_of_a_hostile_har_passes_url_and_body_as_values() {
    let text = hostile_har();
    let (dir, records) = store_from_har(&text);
    assert_eq!(records.len(), 3, "every hostile entry is an OAuth exchange");
    let file = dir.path().join("hostile.har");
    std::fs::write(&file, &text).unwrap();
    let ui = Ui::start(dir.path(), Some(&file), &[]);
    let (origin, cookie) = log_in(&ui.url).await;
    let stub = StubCurl::new();
    for rec in &records {
        let (code, cli, err) = bin(dir.path(), &["flows", "show", &rec.id, "--curl"]);
        assert_eq!(code, 0, "{err}");
        let page = get(&origin, &cookie, &format!("/exchanges/{}", rec.id)).await;
        let open = "<pre id=\"curl\" class=\"curl\" hidden>";
        let start = page.find(open).expect("the page has the curl command") + open.len();
        let end = start + page[start..].find("</pre>").unwrap();
        let copied = html_unescape(&page[start..end]);
        assert_eq!(
            copied,
            cli.trim_end(),
            "the web UI copies what the CLI prints"
        );
        for command in [copied.as_str(), cli.as_str()] {
            let (argv, stdin) = stub.run(command);
            let (url, headers) = options(&argv);
            assert_eq!(url, rec.request.url, "{command}");
            assert_eq!(stdin, rec.request.body.bytes(), "{command}");
            assert!(headers.iter().all(|h| !h.starts_with('-')), "{headers:?}");
            assert!(!stub.dir.path().join("pwned").exists(), "{command}");
        }
    }
}

/// Control characters and escape sequences planted in every field a
/// terminal view prints.
const ESC_TITLE: &str = "\u{1b}]0;owned\u{7}";
const ESC_CLEAR: &str = "\u{1b}[2J\u{1b}[H";
const ESC_C1: &str = "\u{9b}31m";
const BIDI: &str = "\u{202e}";

fn hostile_terminal_har() -> String {
    let err_body = format!(
        r#"{{"error":"invalid_grant{ESC_TITLE}","error_description":"bad{ESC_CLEAR} code{ESC_C1} <img src=x onerror=alert(1)> `x` {BIDI}evil\r\nline"}}"#
    )
    .replace('\u{1b}', "\\u001b")
    .replace('\u{7}', "\\u0007")
    .replace('\u{9b}', "\\u009b")
    .replace("\r\n", "\\r\\n");
    har(vec![
        entry(
            "GET",
            &format!(
                "https://idp.example/authorize{}?response_type=code&client_id=app{}&state=s1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
                "%1B%5D0%3Bx%07", "%1B%5B2J"
            ),
            &[],
            None,
            302,
            &[("Location", "https://app.example/cb?code=c1&state=s1")],
            "",
            1,
        ),
        entry(
            "POST",
            &format!("https://idp.example/token/{ESC_CLEAR}<script>"),
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("X-Evil", &format!("v{ESC_TITLE}{BIDI}")),
            ],
            Some((
                "application/x-www-form-urlencoded",
                &format!("grant_type=authorization_code&code=c1&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&note={ESC_TITLE}"),
            )),
            400,
            &[("Content-Type", "application/json")],
            &err_body,
            2,
        ),
    ])
}

/// No raw control character but newline (and, in bodies, tab).
fn assert_terminal_safe(what: &str, s: &str) {
    for c in s.chars() {
        let bad = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "{what}: raw {c:?} in {s}");
    }
}

#[test]
fn control_characters_from_a_capture_never_reach_the_terminal_raw() {
    let text = hostile_terminal_har();
    let (dir, records) = store_from_har(&text);
    let file = dir.path().join("esc.har");
    std::fs::write(&file, &text).unwrap();
    let mut outputs = vec![];
    let (code, out, err) = bin(dir.path(), &["flows", "list"]);
    assert_eq!(code, 0, "{err}");
    outputs.push(("flows list", out, err));
    for rec in &records {
        let (code, out, err) = bin(dir.path(), &["flows", "show", &rec.id]);
        assert_eq!(code, 0, "{err}");
        outputs.push(("flows show", out, err));
        let (code, out, err) = bin(dir.path(), &["flows", "show", &rec.id, "--curl"]);
        assert_eq!(code, 0, "{err}");
        outputs.push(("flows show --curl", out, err));
    }
    let (_, out, err) = bin(dir.path(), &["analyze", file.to_str().unwrap()]);
    assert!(out.contains("invalid_grant"), "{out}");
    outputs.push(("analyze", out, err));
    // JSON keeps every value (C1 and bidi controls as \uXXXX escapes).
    let (_, out, err) = bin(dir.path(), &["analyze", file.to_str().unwrap(), "--json"]);
    let back: Vec<Record> = serde_json::from_str(&out).unwrap();
    assert!(
        back.iter()
            .any(|r| r.request.headers.0.iter().any(|(_, v)| v.contains(BIDI))),
        "the value is kept"
    );
    assert!(out.contains("\\u202e"), "{out}");
    outputs.push(("analyze --json", out, err));
    let (_, out, err) = bin(dir.path(), &["flows", "list", "--json"]);
    assert_eq!(
        serde_json::from_str::<Vec<Record>>(&out).unwrap().len(),
        records.len()
    );
    outputs.push(("flows list --json", out, err));
    for rec in &records {
        let (_, out, err) = bin(dir.path(), &["flows", "show", &rec.id, "--json"]);
        let back: Record = serde_json::from_str(&out).unwrap();
        assert_eq!(back.request, rec.request);
        outputs.push(("flows show --json", out, err));
    }
    let (code, out, err) = bin(dir.path(), &["explain", &format!("invalid{ESC_TITLE}")]);
    assert_eq!(code, 2);
    assert!(err.contains("\\x1b]0;owned\\x07"), "{err}");
    outputs.push(("explain", out, err));
    assert!(
        outputs
            .iter()
            .any(|(w, o, _)| *w == "flows show" && o.contains("\\x1b[2J")),
        "shown escaped: {outputs:?}"
    );
    for (what, out, err) in &outputs {
        assert_terminal_safe(what, out);
        assert_terminal_safe(what, err);
    }
    // With colour on, only our own SGR sequences (ESC [ digits ; m) appear.
    let (_, out, _) = bin(dir.path(), &["--color", "always", "flows", "list"]);
    let mut rest = out.as_str();
    while let Some(i) = rest.find('\u{1b}') {
        let tail = &rest[i + 1..];
        let end = tail.find('m').expect("an SGR sequence");
        assert!(
            tail.starts_with('[') && tail[1..end].chars().all(|c| c.is_ascii_digit() || c == ';'),
            "{:?}",
            &tail[..end.min(20)]
        );
        rest = &tail[end..];
    }
}

/// The Markdown with code spans and fenced blocks taken out (CommonMark
/// §4.5, §6.1): what renders as text or HTML.
fn outside_code(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<usize> = None;
    for line in md.lines() {
        let ticks = line.trim_start().chars().take_while(|c| *c == '`').count();
        match fence {
            Some(n) if ticks >= n && line.trim_start()[ticks..].trim().is_empty() => fence = None,
            Some(_) => {}
            None if ticks >= 3 => fence = Some(ticks),
            None => {
                // Remove code spans: a run of n backticks up to the next run of exactly n.
                let chars: Vec<char> = line.chars().collect();
                let mut i = 0;
                while i < chars.len() {
                    if chars[i] == '`' {
                        let n = chars[i..].iter().take_while(|c| **c == '`').count();
                        let mut j = i + n;
                        let mut closed = None;
                        while j < chars.len() {
                            if chars[j] == '`' {
                                let m = chars[j..].iter().take_while(|c| **c == '`').count();
                                if m == n {
                                    closed = Some(j + m);
                                    break;
                                }
                                j += m;
                            } else {
                                j += 1;
                            }
                        }
                        match closed {
                            Some(end) => i = end,
                            None => {
                                out.extend(&chars[i..i + n]);
                                i += n;
                            }
                        }
                    } else {
                        out.push(chars[i]);
                        i += 1;
                    }
                }
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn the_markdown_report_shows_captured_html_and_controls_as_text() {
    let text = hostile_terminal_har();
    let (dir, _) = store_from_har(&text);
    for redact in [true, false] {
        let mut args = vec!["export", "--format", "md"];
        if !redact {
            args.push("--no-redact");
        }
        let (code, md, err) = bin(dir.path(), &args);
        assert_eq!(code, 0, "{err}");
        assert_terminal_safe("markdown", &md);
        assert!(md.contains("onerror"), "the description is in the report");
        let text = outside_code(&md);
        for raw in ["<img", "<script"] {
            assert!(!text.contains(raw), "raw {raw} outside code in:\n{text}");
        }
        // Our own HTML (details/summary) is the only markup left.
        for tag in text.match_indices('<').map(|(i, _)| &text[i..]) {
            assert!(
                ["<details>", "<summary>", "</summary>", "</details>", "<br>"]
                    .iter()
                    .any(|t| tag.starts_with(t)),
                "{}",
                &tag[..tag.len().min(40)]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_opens_a_one_time_code_and_never_puts_the_token_on_a_command_line() {
    use std::os::unix::fs::PermissionsExt as _;
    // A stub browser (the webbrowser crate honours $BROWSER) recording its argv.
    let tools = tempfile::tempdir().unwrap();
    let argv_file = tools.path().join("browser.argv");
    let browser = tools.path().join("browser");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > {}\n",
            argv_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();

    // A running proxy: `ui` asks its web UI for a code with the token in a header.
    let provider = support::start_provider().await;
    let run = support::RunProcess::start(&provider.ca_pem_path, &[]);
    let web_url = run.state["web_url"].as_str().unwrap().to_string();
    let token = url::Url::parse(&web_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned();
    let home = run.home.clone();
    let out = tokio::task::spawn_blocking(move || {
        support::output_within(
            Command::new(env!("CARGO_BIN_EXE_oauthscope"))
                .arg("--home")
                .arg(&home)
                .arg("ui")
                .env("BROWSER", &browser)
                .env("DISPLAY", ":0"),
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut opened = String::new();
    for _ in 0..200 {
        opened = std::fs::read_to_string(&argv_file).unwrap_or_default();
        if !opened.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let opened = opened.trim().to_string();
    assert!(opened.contains("/?code="), "{opened}");
    assert!(
        !opened.contains(&token),
        "the token is on the browser's command line"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(&token), "{stderr}");
    // The code logs in once, then never again.
    let (origin, cookie) = log_in(&opened).await;
    assert!(cookie.ends_with(&token), "the cookie carries the session");
    get(&origin, &cookie, "/").await;
    let reload = http()
        .get(&opened)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 303, "a reload in the logged-in browser");
    let again = http().get(&opened).send().await.unwrap();
    assert_eq!(again.status(), 401);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("already used or has expired"));
    // A made-up code is refused the same way.
    let forged = http()
        .get(format!("{origin}/?code=00000000000000000000000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    // `ui` serving a file itself: the printed URL is a code too.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("esc.har");
    std::fs::write(&file, hostile_terminal_har()).unwrap();
    let ui = Ui::start(dir.path(), Some(&file), &[]);
    assert!(
        ui.url.contains("/?code=") && !ui.url.contains("token="),
        "{}",
        ui.url
    );
    let (origin, cookie) = log_in(&ui.url).await;
    get(&origin, &cookie, "/").await;
    assert_eq!(http().get(&ui.url).send().await.unwrap().status(), 401);
}

#[test]
fn verbose_logs_hold_no_query_string_secret() {
    // `replay` logs the URL it sends (at -v); port 9 (discard) keeps it offline.
    let (dir, recs) = store_from_har(&har(vec![entry(
        "POST",
        "http://127.0.0.1:9/token?client_secret=LOGSECRET123&x=1",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some((
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&client_id=app&client_secret=LOGSECRET123",
        )),
        200,
        &[],
        r#"{"access_token":"x","token_type":"Bearer"}"#,
        1,
    )]));
    for verbosity in ["-vv", "-vvv"] {
        let (_, _, err) = bin(dir.path(), &[verbosity, "replay", &recs[0].id, "--yes"]);
        assert!(err.contains("replaying"), "{verbosity}: {err}");
        assert!(err.contains("client_secret=…&x=…"), "{verbosity}: {err}");
        assert!(!err.contains("LOGSECRET123"), "{verbosity}: {err}");
    }
}

/// id → (flavour number, client auth, sorted annotation codes) of `analyze --json` output.
fn story(json: &str) -> std::collections::BTreeMap<String, (Option<u8>, String, Vec<String>)> {
    let recs: Vec<Record> = serde_json::from_str(json).unwrap();
    recs.into_iter()
        .map(|r| {
            let mut codes: Vec<String> = r.annotations.iter().map(|a| a.code.clone()).collect();
            codes.sort();
            let (n, auth) = match &r.flavour {
                Some(f) => (f.number, f.client_auth.clone()),
                None => (None, String::new()),
            };
            (r.id, (n, auth, codes))
        })
        .collect()
}

/// `analyze` of a HAR, and `analyze` of the redacted HAR export of the same
/// exchanges held in a store: the two stories.
#[allow(clippy::type_complexity)]
fn live_and_redacted(
    har_text: &str,
) -> Option<(
    std::collections::BTreeMap<String, (Option<u8>, String, Vec<String>)>,
    std::collections::BTreeMap<String, (Option<u8>, String, Vec<String>)>,
    String,
)> {
    let imported = oauthscope::har::import::from_str(har_text).ok()?;
    if imported.records.is_empty() {
        return None;
    }
    let (dir, _) = store_from_har(har_text);
    let original = dir.path().join("original.har");
    std::fs::write(&original, har_text).unwrap();
    let exported = dir.path().join("redacted.har");
    let (code, _, err) = bin(
        dir.path(),
        &[
            "export",
            "--format",
            "har",
            "-o",
            exported.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, live, err) = bin(
        dir.path(),
        &["analyze", original.to_str().unwrap(), "--json"],
    );
    assert!(code == 0 || code == 1, "{err}");
    let (code, again, err) = bin(
        dir.path(),
        &["analyze", exported.to_str().unwrap(), "--json"],
    );
    assert!(code == 0 || code == 1, "{err}");
    let redacted_text = std::fs::read_to_string(&exported).unwrap();
    Some((story(&live), story(&again), redacted_text))
}

#[test]
fn a_redacted_flavour_5_export_keeps_its_flavour_and_findings() {
    const SECRET: &str = "s3cr+t/with=pct%20 and space";
    let b64 = base64::engine::general_purpose::STANDARD;
    let auth = format!("Basic {}", b64.encode(format!("svc-app:{SECRET}")));
    for (status, body) in [
        (
            200,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":60}"#,
        ),
        (
            401,
            r#"{"error":"invalid_client","error_description":"Invalid client credentials"}"#,
        ),
    ] {
        let text = har(vec![entry(
            "POST",
            "https://idp.example/oauth2/token",
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some((
                "application/x-www-form-urlencoded",
                "grant_type=client_credentials&scope=api",
            )),
            status,
            &[("Content-Type", "application/json")],
            body,
            1,
        )]);
        let (live, again, redacted) = live_and_redacted(&text).unwrap();
        assert!(!redacted.contains(SECRET) && !redacted.contains(&auth[6..]));
        let (n, _, codes) = live.values().next().unwrap();
        assert_eq!(*n, Some(5), "{live:?}");
        // Refused: the raw Basic header is a likely cause and is shown. Accepted:
        // this provider reads it, so the capture refutes the warning.
        assert_eq!(
            codes
                .iter()
                .any(|c| c == "client_auth.basic_not_urlencoded"),
            status == 401,
            "{status}: {codes:?}"
        );
        assert_eq!(live, again, "status {status}");
    }
}

#[test]
fn redacted_exports_of_the_field_hars_reanalyse_to_the_same_story() {
    let mut files: Vec<PathBuf> = Vec::new();
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for d in [here.clone(), here.join("field")] {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "har") {
                    files.push(e.path());
                }
            }
        }
    }
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let mut compared = 0;
    let mut differ = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let Some((live, again, _)) = live_and_redacted(&text) else {
            continue;
        };
        assert_eq!(live.len(), again.len(), "{}", f.display());
        for (id, l) in &live {
            if Some(l) != again.get(id) {
                differ.push(format!(
                    "{} record {id}:\n  live     {l:?}\n  redacted {:?}",
                    f.display(),
                    again.get(id)
                ));
            }
        }
        compared += 1;
    }
    eprintln!("{compared} of {} HAR files compared", files.len());
    assert!(compared >= 5);
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// Headless chromium (through chromedriver) clicks "copy as curl" on each
/// exchange of a hostile HAR served by `oauthscope ui`; what the page hands
/// to the Clipboard API is what the CLI prints, and run with `sh` it passes the URL after `--url` and the body
/// byte for byte on stdin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_copies_the_same_safe_curl_command() {
    use fantoccini::Locator;
    let driver = support::chromium::start_driver(None);
    let text = hostile_har();
    let (dir, records) = store_from_har(&text);
    let file = dir.path().join("hostile.har");
    std::fs::write(&file, &text).unwrap();
    let ui = Ui::start(dir.path(), Some(&file), &[]);
    let profile = tempfile::tempdir().unwrap();
    let mut args = support::chromium::headless_args(profile.path());
    args.push("--no-proxy-server".into());
    let c = support::chromium::browser(&driver, json!({ "args": args })).await;
    c.goto(&ui.url).await.unwrap();
    let origin = ui.url.split("/?").next().unwrap().to_string();
    let stub = StubCurl::new();
    for rec in &records {
        c.goto(&format!("{origin}/exchanges/{}", rec.id))
            .await
            .unwrap();
        // Headless chromium has no clipboard to read back: record what the
        // page hands to the Clipboard API instead.
        c.execute(
            "window.__copied = null;
             navigator.clipboard.writeText = async (t) => { window.__copied = t; };
             return 1",
            vec![],
        )
        .await
        .unwrap();
        c.find(Locator::Id("copy-curl"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let mut copied = String::new();
        for _ in 0..100 {
            let v = c.execute("return window.__copied", vec![]).await.unwrap();
            if let Some(s) = v.as_str() {
                copied = s.to_string();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!copied.is_empty(), "nothing was copied");
        let (_, cli, _) = bin(dir.path(), &["flows", "show", &rec.id, "--curl"]);
        assert_eq!(
            copied.trim_end(),
            cli.trim_end(),
            "chromium copied what the CLI prints"
        );
        let (argv, stdin) = stub.run(&copied);
        let (url, _) = options(&argv);
        assert_eq!(url, rec.request.url);
        assert_eq!(stdin, rec.request.body.bytes());
        assert!(!stub.dir.path().join("pwned").exists());
    }
    c.close().await.unwrap();
}

/// A child process killed (and reaped) when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `oauthscope [pre...] run` on a free port with its web UI, trusting
/// `upstream_ca`; waits (bounded) until it announced itself in proxy.json.
async fn spawn_run(
    home: &Path,
    pre: &[&str],
    upstream_ca: &Path,
    stdout: Stdio,
    stderr: Stdio,
) -> (Kill, String, Value) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let child = Kill(
        Command::new(env!("CARGO_BIN_EXE_oauthscope"))
            .arg("--home")
            .arg(home)
            .args(pre)
            .args(["run", "--listen", &listen, "--web", "127.0.0.1:0"])
            .arg("--upstream-ca")
            .arg(upstream_ca)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap(),
    );
    for _ in 0..600 {
        if let Ok(v) = std::fs::read(home.join("proxy.json"))
            .map_err(|_| ())
            .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|_| ()))
        {
            if std::net::TcpStream::connect(&listen).is_ok() {
                return (child, listen, v);
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("oauthscope run did not announce itself");
}

/// SIGINT, then wait (bounded) for the exit.
async fn interrupt(child: &mut Kill) {
    let _ = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status();
    for _ in 0..400 {
        if let Ok(Some(_)) = child.0.try_wait() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `oauthscope -vv run` proxying requests whose query strings and bodies
/// carry secrets (to a live provider and to a closed port): its debug log
/// holds none of them, nor the web UI's token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_debug_log_of_a_proxy_run_holds_no_secret() {
    proxy_run_log_holds_no_secret("-vv").await;
}

/// `oauthscope -vvv run` (trace, every library's log) through a whole token
/// exchange: the client secret, the code (sent and the one the provider
/// redirects with), the access and refresh tokens the provider answers
/// with appear nowhere on stderr, on log lines or between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_log_of_a_proxy_run_holds_no_secret() {
    proxy_run_log_holds_no_secret("-vvv").await;
}

async fn proxy_run_log_holds_no_secret(verbosity: &str) {
    let provider = support::start_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let log = dir.path().join("run.log");
    let (mut child, listen, state) = spawn_run(
        &home,
        &[verbosity],
        &provider.ca_pem_path,
        Stdio::null(),
        std::fs::File::create(&log).unwrap().into(),
    )
    .await;
    let token = state["web_url"]
        .as_str()
        .expect("the proxy announced itself")
        .split("token=")
        .nth(1)
        .unwrap()
        .to_string();
    let ca = std::fs::read(home.join("ca").join("ca.pem")).unwrap();
    let client = || {
        reqwest::Client::builder()
            .proxy(reqwest::Proxy::all(format!("http://{listen}")).unwrap())
            .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
    };
    // HTTP/2 (ALPN) and HTTP/1.1 between the client and the proxy.
    let clients = [
        client().build().unwrap(),
        client().http1_only().build().unwrap(),
    ];
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (client, base) in clients
        .iter()
        .flat_map(|c| [provider.url(""), format!("https://127.0.0.1:{closed}")].map(|b| (c, b)))
    {
        let _ = client
            .get(format!(
                "{base}/authorize?response_type=code&client_id=app&state=QSTATE1234&code_challenge=QCHALLENGE99&login_hint=QHINT5678"
            ))
            .send()
            .await;
        let _ = client
            .post(format!("{base}/token?client_secret=QSECRET4321"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", "BCODE8765"),
                ("client_secret", "BSECRET2468"),
                ("redirect_uri", "http://localhost:3000/callback"),
            ])
            .send()
            .await;
    }
    // Let the recorder store and log them, then stop the proxy.
    for _ in 0..200 {
        let (_, out, _) = bin(&home, &["flows", "list", "--json"]);
        if serde_json::from_str::<Vec<Value>>(&out)
            .map(|v| v.len())
            .unwrap_or(0)
            >= 8
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    interrupt(&mut child).await;
    let all = std::fs::read_to_string(&log).unwrap();
    // The log lines (`TIMESTAMP LEVEL target: ...`, ANSI colours taken out);
    // the banner, which shows the user the UI's URL, is not a log.
    let plain = {
        let mut out = String::new();
        let mut chars = all.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    let text: String = plain
        .lines()
        .filter(|l| l.starts_with("20") && l.get(4..5) == Some("-"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(text.contains("DEBUG"), "a debug log: {all}");
    assert!(text.contains("/token?…"), "requests are logged: {text}");
    if verbosity == "-vvv" {
        assert!(text.contains("TRACE"), "a trace log: {all}");
    }
    for secret in [
        "QSTATE1234",
        "QCHALLENGE99",
        "QHINT5678",
        "QSECRET4321",
        "BCODE8765",
        "BSECRET2468",
        token.as_str(),
    ] {
        assert!(
            !text.contains(secret),
            "{secret} in the {verbosity} log:\n{text}"
        );
    }
    // What the provider answered: the code in its redirect, the tokens in
    // its token response (the exchange went through: it is captured).
    let (_, listed, _) = bin(
        &home,
        &["flows", "list", "--json", "--kind", "token_request"],
    );
    assert!(listed.contains("\"status\": 200"), "{listed}");
    let mut secrets: Vec<String> = ["CODE-abc", "BCODE8765", "BSECRET2468", "QSECRET4321"]
        .map(String::from)
        .to_vec();
    for t in [support::ACCESS_TOKEN, support::REFRESH_TOKEN] {
        secrets.push(t.to_string());
        // Any encoding of their distinctive part (JSON, form, debug escapes).
        secrets.push(t.split(['+', '/', ' ']).next().unwrap().to_string());
    }
    // Every line of stderr but the banner (the UI's URL, with its token, is
    // shown to the user on purpose).
    let web_origin = state["web_url"]
        .as_str()
        .unwrap()
        .split("/?")
        .next()
        .unwrap()
        .to_string();
    let logged: String = plain
        .lines()
        .filter(|l| !l.contains(&format!("{web_origin}/?")))
        .map(|l| format!("{l}\n"))
        .collect();
    for secret in &secrets {
        assert!(
            !logged.contains(secret.as_str()),
            "{secret} in the {verbosity} log:\n{}",
            logged
                .lines()
                .filter(|l| l.contains(secret.as_str()))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// The live line `run` prints for an exchange whose provider answers with
/// escape sequences in its error (a plain-HTTP provider on loopback that
/// says what a hostile one would): shown escaped, never raw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_line_shows_a_hostile_error_escaped() {
    use std::io::{Read as _, Write as _};
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let up_port = upstream.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in upstream.incoming().take(4) {
            let Ok(mut conn) = conn else { continue };
            let mut buf = vec![0u8; 65536];
            let mut got = Vec::new();
            // Read the head and the (small) body, then answer.
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if let Some(h) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&got[..h]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if got.len() >= h + 4 + len {
                        break;
                    }
                }
            }
            let body = "{\"error\":\"invalid_grant\\u001b]0;owned\\u0007\",\"error_description\":\"bad\\u001b[2J\\u009b31m\\u202e code\\r\"}";
            let _ = write!(
                conn,
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let provider = support::start_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let out = dir.path().join("run.out");
    let (mut child, listen, _) = spawn_run(
        &home,
        &[],
        &provider.ca_pem_path,
        std::fs::File::create(&out).unwrap().into(),
        Stdio::null(),
    )
    .await;
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://{listen}")).unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let resp = client
        .post(format!("http://127.0.0.1:{up_port}/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "c-1"),
            ("client_id", "app"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let mut live = String::new();
    for _ in 0..400 {
        live = std::fs::read_to_string(&out).unwrap_or_default();
        if live.contains("token_request") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    interrupt(&mut child).await;
    let live = std::fs::read_to_string(&out).unwrap_or(live);
    assert!(live.contains("token_request"), "{live}");
    assert!(
        live.contains("\\x1b"),
        "the escape is shown escaped: {live}"
    );
    assert_terminal_safe("live line", &live);
}

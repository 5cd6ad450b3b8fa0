//! A CA constrained to its names: `ca init --name-constraint` writes X.509
//! Name Constraints, the proxy decrypts only hosts inside them and tunnels
//! the rest with their own certificates; `ca rotate` replaces the CA;
//! `ca doctor` asks real clients whether they trust it.

mod support;

use oauthscope::ca::{LocalCa, NameScope};
use oauthscope::home::Home;
use std::path::Path;
use std::process::Command;
use support::{start_provider, Harness};

fn bin(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_oauthscope"))
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn cert_der(home: &Path) -> Vec<u8> {
    let pem = std::fs::read(home.join("ca").join("ca.pem")).unwrap();
    let der: rustls::pki_types::CertificateDer<'static> =
        rustls::pki_types::pem::PemObject::from_pem_slice(&pem).unwrap();
    der.to_vec()
}

#[test]
fn ca_init_writes_name_constraints_and_refuses_to_change_them_silently() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let out = bin(
        home,
        &["ca", "init", "--name-constraint", "example.com,*.okta.com"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Name constraints: example.com,okta.com"),
        "{}",
        text(&out)
    );
    let scope = NameScope::from_cert_der(&cert_der(home)).unwrap();
    assert_eq!(scope.dns, vec!["example.com", "okta.com"]);
    assert!(scope.permits("dev-1.okta.com") && !scope.permits("bank.example"));
    // Only DNS names were given: every IP address is excluded in the certificate.
    let der = cert_der(home);
    let (_, cert) = <x509_parser::certificate::X509Certificate as x509_parser::prelude::FromDer<
        _,
    >>::from_der(&der)
    .unwrap();
    let nc = cert.name_constraints().unwrap().unwrap();
    assert!(nc.critical, "name constraints are critical");
    assert_eq!(
        nc.value.excluded_subtrees.as_ref().map(Vec::len),
        Some(2),
        "0.0.0.0/0 and ::/0 excluded"
    );

    let again = bin(home, &["ca", "init", "--name-constraint", "other.test"]);
    assert!(!again.status.success());
    assert!(text(&again).contains("ca rotate"), "{}", text(&again));
    // Without the flag, init on the constrained CA just prints it.
    let plain = bin(home, &["ca", "init"]);
    assert!(plain.status.success(), "{}", text(&plain));
}

#[test]
fn ca_rotate_replaces_the_key_keeps_the_constraints_and_prints_trust_steps() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    assert!(
        bin(home, &["ca", "init", "--name-constraint", "example.com"])
            .status
            .success()
    );
    let old_cert = cert_der(home);
    let old_key = std::fs::read(home.join("ca").join("ca.key")).unwrap();
    let out = bin(home, &["ca", "rotate"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("Trust the oauthscope CA"), "{t}");
    assert!(t.contains("Name constraints: example.com"), "{t}");
    assert_ne!(cert_der(home), old_cert);
    assert_ne!(
        std::fs::read(home.join("ca").join("ca.key")).unwrap(),
        old_key
    );
    let retired: Vec<_> = std::fs::read_dir(home.join("ca").join("retired"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(retired.len(), 1);
    assert_eq!(
        {
            let pem = std::fs::read(&retired[0]).unwrap();
            let der: rustls::pki_types::CertificateDer<'static> =
                rustls::pki_types::pem::PemObject::from_pem_slice(&pem).unwrap();
            der.to_vec()
        },
        old_cert,
        "the old certificate is kept to find it in trust stores"
    );
    // New constraints replace the old ones when given.
    assert!(
        bin(home, &["ca", "rotate", "--name-constraint", "okta.com"])
            .status
            .success()
    );
    let scope = NameScope::from_cert_der(&cert_der(home)).unwrap();
    assert_eq!(scope.dns, vec!["okta.com"]);
    // A process loading the CA now gets the new one (nothing cached on disk).
    let (ca, created) = LocalCa::load_or_create(&Home::new(home)).unwrap();
    assert!(!created);
    assert!(ca.permits("x.okta.com") && !ca.permits("example.com"));
}

#[tokio::test]
async fn the_proxy_decrypts_hosts_inside_the_constraints_and_tunnels_the_rest() {
    let provider = start_provider().await;
    let h = Harness::start_with(
        vec![provider.ca_pem_path.clone()],
        Vec::new(),
        &["localhost"],
        Default::default(),
    )
    .await;
    let provider_ca =
        reqwest::Certificate::from_pem(&std::fs::read(&provider.ca_pem_path).unwrap()).unwrap();
    let through = |trust: reqwest::Certificate| {
        reqwest::Client::builder()
            .proxy(reqwest::Proxy::all(format!("http://{}", h.proxy_addr())).unwrap())
            .tls_certs_only([trust])
            .build()
            .unwrap()
    };
    let ours = reqwest::Certificate::from_pem(h.ca.cert_pem().as_bytes()).unwrap();

    // Inside: decrypted with a leaf the client (rustls/webpki, which enforces
    // name constraints) accepts under our CA alone, and recorded.
    let inside =
        Harness::client_credentials(&through(ours.clone()), provider.localhost_url("/token")).await;
    assert_eq!(inside.status(), 200);
    let recs = h.wait_for(1).await;
    assert!(recs[0].request.url.starts_with("https://localhost:"));

    // Outside (127.0.0.1): tunnelled; the client sees the provider's own
    // certificate, so trusting the provider's CA alone works...
    let outside = Harness::client_credentials(&through(provider_ca), provider.url("/token")).await;
    assert_eq!(outside.status(), 200);
    // ...and trusting only our CA does not: nothing was issued for it.
    let refused = through(ours)
        .post(provider.url("/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        h.store.len(),
        1,
        "the tunnelled exchange is not recorded: {:?}",
        h.store.query(&Default::default()).unwrap()
    );
}

/// The `ca doctor` line for `client`.
fn doctor_line<'a>(out: &'a str, client: &str) -> &'a str {
    out.lines()
        .find(|l| l.trim_start().starts_with(client))
        .unwrap_or_else(|| panic!("no {client} line in:\n{out}"))
}

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn ca_doctor_asks_real_clients_whether_they_trust_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    assert!(bin(home, &["ca", "init"]).status.success());
    let ca_pem = home.join("ca").join("ca.pem");
    let other = tempfile::NamedTempFile::new().unwrap();
    // Another CA's certificate: a bundle that does not hold ours.
    let (other_ca, _) = LocalCa::load_or_create(&Home::new(dir.path().join("other"))).unwrap();
    std::fs::write(other.path(), other_ca.cert_pem()).unwrap();
    let run = |bundle: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_oauthscope"))
            .arg("--home")
            .arg(home)
            .args(["ca", "doctor"])
            .env("SSL_CERT_FILE", bundle)
            .env_remove("SSL_CERT_DIR")
            .env("CURL_CA_BUNDLE", bundle)
            .env("REQUESTS_CA_BUNDLE", bundle)
            .env("NODE_EXTRA_CA_CERTS", bundle)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        text(&out)
    };
    let trusting = run(&ca_pem);
    let not = run(other.path());
    assert!(
        doctor_line(&trusting, "system store").ends_with("trusted")
            && !doctor_line(&trusting, "system store").contains("NOT"),
        "{trusting}"
    );
    assert!(
        doctor_line(&not, "system store").contains("NOT trusted"),
        "{not}"
    );
    for (client, program) in [
        ("curl", "curl"),
        ("python ssl", "python3"),
        ("python requests", "python3"),
        ("node", "node"),
    ] {
        if !on_path(program) {
            assert!(
                doctor_line(&trusting, client).contains("not checked"),
                "{trusting}"
            );
            continue;
        }
        let line = doctor_line(&trusting, client);
        assert!(
            line.ends_with(" trusted"),
            "{client} with our CA: {trusting}"
        );
        let line = doctor_line(&not, client);
        assert!(
            line.contains("NOT trusted"),
            "{client} without our CA: {not}"
        );
    }
}

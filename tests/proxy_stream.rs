//! A 50 MiB download passes through whole and unbuffered (its own test
//! binary so its memory reading is not shared with other tests).

mod support;

use support::{big_chunk, sha256_stream, Harness, BIG};

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mib_download_passes_whole_without_being_buffered() {
    use sha2::Digest;
    let (provider, h) = Harness::with_provider().await;
    let client = h.client();
    let mut expected = sha2::Sha256::new();
    let chunk = 256 * 1024;
    for i in 0..BIG / chunk {
        expected.update(big_chunk(i, chunk));
    }
    let expected = expected.finalize().to_vec();

    let before = vm_hwm_kib();
    let resp = client.get(provider.url("/download")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let (n, digest) = sha256_stream(resp).await;
    assert_eq!(n, BIG);
    assert_eq!(digest, expected, "every byte arrives unchanged");
    // Provider, proxy and client share this process: had the proxy buffered
    // the body, the peak would have grown by at least 50 MiB.
    if let (Some(b), Some(a)) = (before, vm_hwm_kib()) {
        assert!(a - b < 40 * 1024, "peak RSS grew by {} KiB", a - b);
    }
    assert!(
        h.store.is_empty(),
        "a download is not OAuth and is not stored"
    );
    h.shutdown().await;
}

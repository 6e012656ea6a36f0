//! Registry answers are bounded and timed, and the disk is guarded (#28): a token service
//! that never ends its answer, a 500 with an endless body (config and layer), a registry
//! that goes silent after its headers, a layer that declares no size and never ends, and a
//! small layer that unpacks past a configured cap. Each pull fails with an error naming
//! the limit, leaves no lease, snapshot, blob or ingest, and this process stays under
//! 200 MiB of resident memory throughout.

use std::time::Duration;

use warren_runtime::images::DiskLimits;
use warren_runtime::{
    ContainerdRuntime, ErrorKind, PullMode, PullOptions, RegistryOptions, RuntimeError,
    RuntimeOptions,
};
use warren_tests::hostile_registry::{Answer, Misbehaving, Script};
use warren_tests::image_ns::Ns;
use warren_tests::{daemon, require_root};

/// The most resident memory this process may reach during a hostile pull.
const RSS_CEILING: u64 = 200 << 20;

/// A runtime handle in `ns`'s namespace with a short idle timeout and `disk` limits.
fn runtime(ns: &Ns, disk: DiskLimits) -> ContainerdRuntime {
    ContainerdRuntime::with_options(
        RuntimeOptions::default()
            .socket(daemon::shared().socket().to_path_buf())
            .namespace(ns.name.clone())
            .registry(RegistryOptions::default().read_timeout(Duration::from_secs(2)))
            .disk(disk),
    )
    .unwrap()
}

/// Pull `script`'s image client-side with `rt`; the error, after checking the memory
/// ceiling and that nothing is left in the namespace.
async fn hostile_pull(ns: &Ns, rt: &ContainerdRuntime, script: Script, what: &str) -> RuntimeError {
    let registry = Misbehaving::start(script).await;
    let image = format!("{}/evil/bounds:latest", registry.addr());
    let options = PullOptions::default().mode(PullMode::Client);
    let pull = tokio::time::timeout(Duration::from_secs(120), rt.pull_image(&image, &options));
    let (result, peak) = warren_tests::peak_rss_during(pull).await;
    let result = result.unwrap_or_else(|_| panic!("{what}: the pull never ended"));
    let err = result.expect_err("a hostile pull fails");
    assert!(
        peak < RSS_CEILING,
        "{what}: resident memory reached {} MiB",
        peak >> 20
    );
    ns.assert_empty(what).await;
    err
}

#[tokio::test]
async fn an_endless_token_answer_is_refused_at_its_cap() {
    require_root!();
    let ns = Ns::new("bounds-token").await;
    let rt = runtime(&ns, DiskLimits::default());
    let mut script = Script::broken(Answer::Bytes(Vec::new()), 1000, Answer::Endless);
    script.endless_token = true;
    let err = hostile_pull(&ns, &rt, script, "endless token").await;
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert!(err.to_string().contains("65536-byte limit"), "{err}");
    ns.cleanup().await;
}

#[tokio::test]
async fn an_endless_500_on_the_config_or_the_layer_is_read_to_its_cap() {
    require_root!();
    let ns = Ns::new("bounds-500").await;
    let rt = runtime(&ns, DiskLimits::default());
    for (what, script) in [
        (
            "500 on the config",
            Script::broken(Answer::EndlessError, 1000, Answer::Endless),
        ),
        (
            "500 on the layer",
            Script::broken(Answer::Bytes(Vec::new()), 1000, Answer::EndlessError),
        ),
    ] {
        let err = hostile_pull(&ns, &rt, script, what).await;
        assert_eq!(err.kind(), ErrorKind::Registry, "{what}: {err}");
        let text = err.to_string();
        assert!(text.contains("500") && text.len() < 4096, "{what}: {text}");
    }
    ns.cleanup().await;
}

#[tokio::test]
async fn a_registry_silent_after_its_headers_fails_at_the_idle_timeout() {
    require_root!();
    let ns = Ns::new("bounds-silent").await;
    let rt = runtime(&ns, DiskLimits::default());
    let started = std::time::Instant::now();
    let script = Script::broken(Answer::Bytes(Vec::new()), 1000, Answer::Silent);
    let err = hostile_pull(&ns, &rt, script, "silent layer").await;
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("registry.read_timeout_s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn a_layer_without_a_size_is_refused_before_it_is_requested() {
    require_root!();
    let ns = Ns::new("bounds-size0").await;
    let rt = runtime(&ns, DiskLimits::default());
    let script = Script::broken(Answer::Bytes(Vec::new()), 0, Answer::Endless);
    let err = hostile_pull(&ns, &rt, script, "size 0 layer").await;
    assert_eq!(err.kind(), ErrorKind::Integrity, "{err}");
    assert!(err.to_string().contains("declares a size of 0"), "{err}");
    ns.cleanup().await;
}

#[tokio::test]
async fn a_layer_that_unpacks_past_the_cap_is_stopped_there() {
    require_root!();
    let ns = Ns::new("bounds-bomb").await;
    let rt = runtime(&ns, DiskLimits::default().max_layer_unpacked_bytes(8 << 20));
    // 256 MiB of zeros, about 256 KiB compressed.
    let err = hostile_pull(&ns, &rt, Script::zeros(256 << 20), "zero-filled layer").await;
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    let text = err.to_string();
    assert!(text.contains("per-layer unpacked size limit"), "{text}");
    assert!(text.contains("registry.max_layer_unpacked_bytes"), "{text}");
    ns.cleanup().await;
}

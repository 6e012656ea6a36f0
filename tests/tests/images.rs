//! Pulling images from a real registry into the containerd line under test.

use std::time::Instant;

use warren_proto::containerd::services::snapshots::v1::StatSnapshotRequest;
use warren_runtime::{ContainerdRuntime, PullMode, PullOptions, RuntimeError, RuntimeOptions};
use warren_tests::image_ns::Ns;
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::{daemon, deps, require_root};

/// A registry holding a busybox image tagged `tag`, and a fresh namespace.
async fn busybox_fixture(tag: &str, prefix: &str) -> (Registry, String, Ns) {
    let reg = Registry::start();
    let reference = format!("{}/warren/busybox:{tag}", reg.addr());
    push(&reference, &[busybox_layer()], &["sh"]).await;
    (reg, reference, Ns::new(prefix).await)
}

#[tokio::test]
async fn pull_unpack_inspect_and_remove() {
    require_root!();
    let (reg, reference, ns) = busybox_fixture("v1", "img").await;

    let image = ns
        .rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .expect("pull");
    assert_eq!(image.name, reference);
    assert_eq!(image.config.cmd, vec!["sh".to_string()]);
    assert!(image.top_chain_id.starts_with("sha256:"));
    ns.clients
        .snapshots()
        .stat(StatSnapshotRequest {
            snapshotter: "overlayfs".into(),
            key: image.top_chain_id.clone(),
        })
        .await
        .expect("the top layer is unpacked");
    assert_eq!(ns.rt.list_images().await.unwrap(), vec![reference.clone()]);
    let got = ns.rt.get_image(&reference).await.unwrap();
    assert_eq!(got.config.env, vec!["PATH=/bin".to_string()]);
    assert_eq!(got.top_chain_id, image.top_chain_id);
    // Manifest, config and layer are all the namespace stores.
    let stored = ns.stored_bytes().await;
    assert_eq!((image.size, got.size), (stored, stored));

    // Pulled once, the image is complete: a second pull fetches no blob.
    let before = reg.blob_gets();
    let started = Instant::now();
    ns.rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .expect("second pull");
    let took = started.elapsed();
    // Speed is the pull bench's business; here only what it fetched counts.
    eprintln!("second pull of a present image: {took:?}");
    assert_eq!(reg.blob_gets(), before, "no blob downloaded again");
    let (leases, content, snaps, images) = ns.objects().await;
    assert_eq!((leases, images), (0, 1), "the pull's lease is gone");
    assert_eq!(
        (content, snaps),
        (3, 1),
        "manifest, config, layer; one snapshot"
    );

    ns.rt.remove_image(&reference).await.unwrap();
    assert_eq!(
        ns.objects().await,
        (0, 0, 0, 0),
        "removing the image freed everything"
    );
    ns.rt
        .remove_image(&reference)
        .await
        .expect("removing a missing image succeeds");
    ns.cleanup().await;
}

#[tokio::test]
async fn ctr_runs_what_we_pulled() {
    require_root!();
    let (_reg, reference, ns) = busybox_fixture("ctr", "ctr").await;
    ns.rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .expect("pull");
    let out = ns.ctr(&[
        "run",
        "--rm",
        &reference,
        "ctr-run-1",
        "echo",
        "hello-from-ctr",
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("hello-from-ctr"),
        "ctr run: {text}"
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn failures_are_typed_and_leave_nothing_behind() {
    require_root!();
    let reg = Registry::start();
    let ns = Ns::new("fail").await;

    let err = ns
        .rt
        .pull_image("Not A Reference", &PullOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, RuntimeError::InvalidReference { .. }),
        "{err}"
    );
    let zero = PullOptions::default().max_concurrent_downloads(0);
    let err = ns
        .rt
        .pull_image(&format!("{}/warren/busybox:v1", reg.addr()), &zero)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RuntimeError::InvalidRequest {
                field: "max_concurrent_downloads",
                ..
            }
        ),
        "{err}"
    );

    let missing = format!("{}/warren/none:nope", reg.addr());
    let err = ns
        .rt
        .pull_image(&missing, &PullOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::UnknownImage { .. }), "{err}");
    push(
        &format!("{}/warren/busybox:v1", reg.addr()),
        &[busybox_layer()],
        &["sh"],
    )
    .await;
    let unknown_tag = format!("{}/warren/busybox:nope", reg.addr());
    let err = ns
        .rt
        .pull_image(&unknown_tag, &PullOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::UnknownImage { .. }), "{err}");

    let addr = reg.addr();
    drop(reg);
    let down = format!("{addr}/warren/busybox:v1");
    let err = ns
        .rt
        .pull_image(&down, &PullOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, RuntimeError::RegistryUnreachable { .. }),
        "{err}"
    );

    ns.assert_empty("after failed pulls").await;
    ns.cleanup().await;
}

#[tokio::test]
async fn whiteouts_and_opaque_dirs_unpack_exactly() {
    require_root!();
    let reg = Registry::start();
    let reference = format!("{}/warren/layered:v1", reg.addr());
    let [l2, l3] = warren_tests::images::whiteout_layers();
    push(&reference, &[busybox_layer(), l2, l3], &["sh"]).await;
    let ns = Ns::new("layers").await;
    let image = ns
        .rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .expect("pull");
    let tree = warren_tests::snapshot_view::tree(&ns.clients, &image.top_chain_id).await;
    assert_eq!(
        tree.get("data/b.txt"),
        Some(&Some("b2".to_string())),
        "replaced file"
    );
    assert!(
        !tree.contains_key("data/a.txt"),
        "whiteout removed a.txt: {tree:?}"
    );
    assert!(
        !tree.contains_key("opq/x"),
        "opaque dir hides the lower x: {tree:?}"
    );
    assert_eq!(tree.get("opq/y"), Some(&Some("y".to_string())));
    assert!(tree.contains_key("bin/busybox"));
    assert!(
        !tree.keys().any(|k| k.contains(".wh.")),
        "no whiteout files leak: {tree:?}"
    );
    let (_, content, snaps, _) = ns.objects().await;
    assert_eq!(
        (content, snaps),
        (5, 3),
        "manifest, config, 3 layers; 3 snapshots"
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn an_index_pulls_this_hosts_platform_only() {
    require_root!();
    let reg = Registry::start();
    let repo = format!("{}/warren/multi", reg.addr());
    let amd = warren_tests::images::push_for(
        &format!("{repo}:amd64"),
        &[busybox_layer()],
        &["sh"],
        "amd64",
    )
    .await;
    let dummy =
        warren_tests::images::layer(&[warren_tests::images::Entry::File("arm", b"arm", 0o644)]);
    let arm =
        warren_tests::images::push_for(&format!("{repo}:arm64"), &[dummy], &["sh"], "arm64").await;
    let reference = format!("{repo}:multi");
    warren_tests::images::push_index(
        &reference,
        &[
            (arm.0.clone(), arm.1, "arm64"),
            (amd.0.clone(), amd.1, "amd64"),
        ],
    )
    .await;
    let ns = Ns::new("index").await;
    let before = reg.blob_gets();
    let image = ns
        .rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .expect("pull");
    assert!(image.media_type.contains("index"), "{:?}", image);
    assert_eq!(
        reg.blob_gets() - before,
        2,
        "config and one layer: the arm64 image is not fetched"
    );
    let (_, content, snaps, _) = ns.objects().await;
    assert_eq!((content, snaps), (4, 1), "index, manifest, config, layer");
    let got = ns.rt.get_image(&reference).await.unwrap();
    assert_eq!(got.top_chain_id, image.top_chain_id);
    // The size counts the index and this platform's blobs, not the other platform's.
    let stored = ns.stored_bytes().await;
    assert_eq!((image.size, got.size), (stored, stored));

    let arm_only = warren_runtime::Platform {
        os: "linux".into(),
        architecture: "s390x".into(),
        variant: None,
    };
    let err = ns
        .rt
        .pull_image(&reference, &PullOptions::default().platform(arm_only))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("linux/arm64, linux/amd64"),
        "{err}"
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn an_image_ctr_pulled_is_usable_by_us() {
    require_root!();
    let (reg, reference, ns) = busybox_fixture("byctr", "byctr").await;
    let out = ns.ctr(&["images", "pull", "--plain-http", &reference]);
    assert!(
        out.status.success(),
        "ctr pull: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let image = ns
        .rt
        .get_image(&reference)
        .await
        .expect("we see ctr's image");
    assert_eq!(image.config.cmd, vec!["sh".to_string()]);
    assert_eq!(image.size, ns.stored_bytes().await);
    ns.clients
        .snapshots()
        .stat(StatSnapshotRequest {
            snapshotter: "overlayfs".into(),
            key: image.top_chain_id.clone(),
        })
        .await
        .expect("ctr unpacked it under the same chain ID");
    let before = reg.blob_gets();
    ns.rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .expect("our pull over ctr's");
    assert_eq!(reg.blob_gets(), before, "ctr's blobs are ours too");
    ns.cleanup().await;
}

#[tokio::test]
async fn concurrent_pulls_of_one_image_download_once() {
    require_root!();
    let (reg, reference, ns) = busybox_fixture("twice", "twice").await;
    let before = reg.blob_gets();
    let rt2 = ns.rt.clone();
    let opts = PullOptions::default();
    let (a, b) = tokio::join!(
        ns.rt.pull_image(&reference, &opts),
        rt2.pull_image(&reference, &opts)
    );
    assert_eq!(a.unwrap().top_chain_id, b.unwrap().top_chain_id);
    assert_eq!(reg.blob_gets() - before, 2, "config and layer fetched once");
    ns.cleanup().await;
}

/// Credentials are required and used: client-side on every line, and on 2.1 also
/// server-side, where the daemon asks for them over an auth stream.
#[tokio::test]
async fn basic_auth_credentials_are_used_and_required() {
    require_root!();
    let reg = Registry::start_with_auth("warren", "s3cret");
    let modes: &[(PullMode, &str)] = if deps::line() == "2.1" {
        &[(PullMode::Client, "client"), (PullMode::Server, "server")]
    } else {
        &[(PullMode::Client, "client")]
    };
    for (mode, name) in modes {
        let reference = format!("{}/private/busybox-{name}:v1", reg.addr());
        warren_tests::images::push_as(&reference, &[busybox_layer()], "warren", "s3cret").await;
        let options = PullOptions::default().mode(*mode);
        let ns = Ns::new(&format!("auth-{name}")).await;
        let err = ns.rt.pull_image(&reference, &options).await.unwrap_err();
        assert!(
            matches!(err, RuntimeError::Unauthorized { .. }),
            "{name}, no credentials: {err}"
        );

        let with = |password: &str| {
            let mut registry = warren_runtime::RegistryOptions::default();
            registry
                .credentials
                .insert(reg.addr(), ("warren".to_string(), password.to_string()));
            ContainerdRuntime::with_options(
                RuntimeOptions::default()
                    .socket(daemon::shared().socket().to_path_buf())
                    .namespace(ns.name.clone())
                    .registry(registry),
            )
            .unwrap()
        };
        let err = with("wrong")
            .pull_image(&reference, &options)
            .await
            .unwrap_err();
        assert!(
            matches!(err, RuntimeError::Unauthorized { .. }),
            "{name}, bad credentials: {err}"
        );
        ns.assert_empty("failed pulls").await;

        let image = with("s3cret")
            .pull_image(&reference, &options)
            .await
            .expect("pull with credentials");
        assert_eq!(image.name, reference);
        ns.cleanup().await;
    }
}

#[tokio::test]
async fn progress_reports_every_layer_to_completion() {
    require_root!();
    let (_reg, reference, ns) = busybox_fixture("progress", "progress").await;
    let mut events = Vec::new();
    let image = ns
        .rt
        .pull_image_stream(&reference, &PullOptions::default())
        .finish(|p| events.push(p))
        .await
        .expect("pull");
    assert_eq!(image.name, reference);
    let Some(warren_runtime::PullProgress::Resolved { layers }) = events.first().cloned() else {
        panic!("first event resolves the image: {events:?}");
    };
    assert_eq!(layers.len(), 1);
    let (digest, size) = &layers[0];
    assert!(events.iter().any(|e| matches!(e,
        warren_runtime::PullProgress::Downloading { digest: d, done, total }
            if d == digest && *done == *size as u64 && *total == *size as u64)));
    assert!(events
        .iter()
        .any(|e| matches!(e, warren_runtime::PullProgress::Unpacked { digest: d } if d == digest)));
    assert!(matches!(
        events.last(),
        Some(warren_runtime::PullProgress::Done { .. })
    ));
    ns.cleanup().await;
}

/// The registry's file holding blob `digest`.
fn registry_blob(reg: &Registry, digest: &str) -> std::path::PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    reg.data_dir()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

#[tokio::test]
async fn a_wrong_digest_served_is_refused_and_leaves_nothing() {
    require_root!();
    let reg = Registry::start();
    let reference = format!("{}/warren/corrupt:v1", reg.addr());
    // A big layer still downloading when the small corrupt one fails: its download is
    // cancelled mid-write, and its ingest must go too.
    let small = || {
        let id = format!("{:x}", rand::random::<u64>());
        warren_tests::images::layer(&[warren_tests::images::Entry::File(
            "id",
            id.as_bytes(),
            0o644,
        )])
    };
    let (l2, layer) = (small(), small());
    let layer_digest = format!("sha256:{}", hex_sha(&layer.gz));
    push(&reference, &[busybox_layer(), l2, layer], &["sh"]).await;
    // Same size, other bytes: only the digest can tell.
    let path = registry_blob(&reg, &layer_digest);
    let mut data = std::fs::read(&path).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(&path, data).unwrap();

    let ns = Ns::new("corrupt").await;
    let err = ns
        .rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RuntimeError::DigestMismatch { digest, .. } if *digest == layer_digest),
        "{err}"
    );
    ns.assert_empty("after a corrupt layer").await;
    ns.cleanup().await;
}

fn hex_sha(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

#[tokio::test]
async fn an_interrupted_blob_resumes_with_a_range_request() {
    require_root!();
    use warren_proto::containerd::services::content::v1::{WriteAction, WriteContentRequest};
    let reg = Registry::start();
    let reference = format!("{}/warren/resume:v1", reg.addr());
    let layer = busybox_layer();
    let digest = format!("sha256:{}", hex_sha(&layer.gz));
    let half = layer.gz.len() / 2;
    push(&reference, &[layer], &["sh"]).await;
    let data = std::fs::read(registry_blob(&reg, &digest)).unwrap();

    // An earlier pull died half way through the layer: its ingest holds the first half.
    let ns = Ns::new("resume").await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(WriteContentRequest {
        action: WriteAction::Write as i32,
        r#ref: format!("layer-{digest}"),
        total: data.len() as i64,
        expected: digest.clone(),
        offset: 0,
        data: data[..half].to_vec(),
        ..Default::default()
    })
    .await
    .unwrap();
    drop(tx);
    let mut replies = ns
        .clients
        .content()
        .write(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    while replies.message().await.unwrap().is_some() {}
    assert_eq!(ns.ingests().await, 1);

    ns.rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .expect("pull resumes");
    reg.settle();
    // Access log: `"GET /v2/.../blobs/<digest> HTTP/1.1" 206 <bytes sent> ...`.
    let sent: Vec<usize> = reg
        .log()
        .lines()
        .filter(|l| l.contains("\"GET /v2/") && l.contains(&format!("/blobs/{digest}")))
        .filter_map(|l| l.split("\" ").nth(1)?.split(' ').nth(1)?.parse().ok())
        .collect();
    assert_eq!(
        sent,
        vec![data.len() - half],
        "one range request for the missing half: {}",
        reg.log()
    );
    assert_eq!(ns.ingests().await, 0, "the ingest was committed");
    ns.cleanup().await;
}

#[tokio::test]
async fn docker_schema2_with_an_uncompressed_layer() {
    require_root!();
    use warren_tests::images::{build, layer, push_plain, Compression, Entry, Flavor};
    let reg = Registry::start();
    let reference = format!("{}/warren/docker:v1", reg.addr());
    let extra = layer(&[
        Entry::Dir("etc"),
        Entry::File("etc/motd", b"docker\n", 0o644),
    ]);
    let built = build(
        &[busybox_layer(), extra],
        &["sh"],
        "amd64",
        Flavor::Docker,
        Compression::None,
    );
    push_plain(&reference, &built).await;
    let ns = Ns::new("docker").await;
    let image = ns
        .rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .expect("pull");
    assert_eq!(
        image.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(image.config.stop_signal.as_deref(), Some("SIGQUIT"));
    let tree = warren_tests::snapshot_view::tree(&ns.clients, &image.top_chain_id).await;
    assert_eq!(tree.get("etc/motd"), Some(&Some("docker\n".to_string())));
    assert!(tree.contains_key("bin/busybox"));
    let out = ns.ctr(&[
        "run",
        "--rm",
        &reference,
        "docker-run-1",
        "cat",
        "/etc/motd",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("docker"),
        "ctr run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn import_an_oci_layout_tarball_plain_and_gzipped() {
    require_root!();
    use warren_tests::images::{standard_set, tar_dir, write_layout};
    let set = standard_set();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let images: Vec<(&str, &warren_tests::images::Built)> = set
        .iter()
        .filter(|(s, _, _)| s == "busybox" || s == "layered")
        .map(|(_, n, b)| (n.as_str(), b))
        .collect();
    write_layout(&layout, &images);
    let tarball = dir.path().join("images.tar");
    tar_dir(&layout, &tarball);

    let ns = Ns::new("import").await;
    let started = Instant::now();
    let got = ns
        .rt
        .import_archive(&tarball, &Default::default())
        .await
        .expect("import");
    eprintln!("import of 2 images: {:?}", started.elapsed());
    let mut names: Vec<String> = got.iter().map(|i| i.name.clone()).collect();
    names.sort();
    assert_eq!(
        names,
        vec!["warren.test/busybox:v1", "warren.test/layered:v1"]
    );
    for (name, built) in &images {
        let size = built.manifest.len()
            + built.config.len()
            + built.layers.iter().map(|l| l.0.len()).sum::<usize>();
        let image = got.iter().find(|i| i.name == *name).unwrap();
        assert_eq!(image.size, size as u64, "{name}");
    }
    let layered = got.iter().find(|i| i.name.contains("layered")).unwrap();
    let tree = warren_tests::snapshot_view::tree(&ns.clients, &layered.top_chain_id).await;
    assert!(
        !tree.contains_key("data/a.txt") && !tree.contains_key("opq/x"),
        "{tree:?}"
    );
    assert_eq!(tree.get("data/b.txt"), Some(&Some("b2".to_string())));
    let (leases, content, snaps, imgs) = ns.objects().await;
    // busybox layer shared: 2 manifests + 2 configs + 3 layers; 3 snapshots.
    assert_eq!((leases, content, snaps, imgs), (0, 7, 3, 2));
    let out = ns.ctr(&[
        "run",
        "--rm",
        "warren.test/busybox:v1",
        "import-run-1",
        "echo",
        "imported",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imported"),
        "ctr run: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same, gzipped, into a fresh namespace.
    let gz = dir.path().join("images.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(&tarball).unwrap(), &mut enc).unwrap();
    enc.finish().unwrap();
    let ns2 = Ns::new("importgz").await;
    let got = ns2
        .rt
        .import_archive(&gz, &Default::default())
        .await
        .expect("import gz");
    assert_eq!(got.len(), 2);
    ns.cleanup().await;
    ns2.cleanup().await;
}

#[tokio::test]
async fn import_a_docker_save_tarball() {
    require_root!();
    use warren_tests::images::{standard_set, write_docker_save};
    let set = standard_set();
    let (_, name, built) = set.iter().find(|(s, _, _)| s == "docker").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("save.tar");
    write_docker_save(&tarball, &[name.as_str(), "warren-docker"], built);
    let ns = Ns::new("dsave").await;
    let got = ns
        .rt
        .import_archive(&tarball, &Default::default())
        .await
        .expect("import");
    let names: Vec<&str> = got.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "warren.test/docker:v1",
            "docker.io/library/warren-docker:latest"
        ]
    );
    assert_eq!(got[0].config.cmd, vec!["sh".to_string()]);
    let tree = warren_tests::snapshot_view::tree(&ns.clients, &got[0].top_chain_id).await;
    assert_eq!(tree.get("etc/motd"), Some(&Some("docker\n".to_string())));
    let out = ns.ctr(&[
        "run",
        "--rm",
        "docker.io/library/warren-docker:latest",
        "dsave-run-1",
        "cat",
        "/etc/motd",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("docker"),
        "ctr run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ns.cleanup().await;
}

/// What is wrong with an image tarball that ctr exported: entries that cannot be read (a cut
/// short archive), a missing `index.json` or `oci-layout`, and blob entries (`blobs/sha256/<hex>`) whose bytes
/// do not hash to their name. Empty when the archive is whole.
fn export_defects(tarball: &std::path::Path) -> Vec<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut archive = tar::Archive::new(std::fs::File::open(tarball).unwrap());
    let mut bad = Vec::new();
    let mut names = Vec::new();
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => return vec![format!("unreadable archive: {e}")],
    };
    for entry in entries {
        let mut e = match entry {
            Ok(e) => e,
            Err(e) => {
                bad.push(format!("unreadable entry after {names:?}: {e}"));
                break;
            }
        };
        let Ok(path) = e.path().map(|p| p.display().to_string()) else {
            continue;
        };
        names.push(path.clone());
        let mut bytes = Vec::new();
        if let Err(err) = e.read_to_end(&mut bytes) {
            bad.push(format!("{path}: cut short: {err}"));
            break;
        }
        let Some(want) = path.strip_prefix("blobs/sha256/") else {
            continue;
        };
        if e.header().entry_type().is_file() && hex::encode(Sha256::digest(&bytes)) != want {
            bad.push(format!("{path}: other bytes ({} of them)", bytes.len()));
        }
    }
    // ctr writes its entries sorted by name: a cut short archive lacks these last ones.
    for needed in ["index.json", "oci-layout"] {
        if !names.iter().any(|n| n == needed) {
            bad.push(format!("no {needed} among {names:?}"));
        }
    }
    bad
}

#[tokio::test]
async fn import_what_ctr_exported() {
    require_root!();
    let (_reg, reference, ns) = busybox_fixture("export", "export").await;
    let image = ns
        .rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .expect("pull");
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("export.tar");
    // ctr's export sometimes writes a broken archive while other tests use the same daemon:
    // CI saw a blob entry with no bytes, one with other bytes, and once an archive our import
    // found no index.json in. Our import rightly refuses those; such an archive is checked
    // entry by entry here and exported again.
    for attempt in 1..=3 {
        let out = ns.ctr(&["images", "export", tarball.to_str().unwrap(), &reference]);
        assert!(
            out.status.success(),
            "ctr export: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let corrupt = export_defects(&tarball);
        if corrupt.is_empty() {
            break;
        }
        eprintln!(
            "ctr export attempt {attempt} wrote a broken archive {corrupt:?}; exporting again"
        );
        assert!(
            attempt < 3,
            "ctr export keeps writing broken archives: {corrupt:?}"
        );
    }
    ns.rt.remove_image(&reference).await.unwrap();
    ns.assert_empty("after remove").await;
    let got = ns
        .rt
        .import_archive(&tarball, &Default::default())
        .await
        .expect("import ctr's export");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].name, reference);
    assert_eq!(got[0].top_chain_id, image.top_chain_id);
    ns.cleanup().await;
}

#[tokio::test]
async fn a_bad_archive_is_a_typed_error_and_leaves_nothing() {
    require_root!();
    let dir = tempfile::tempdir().unwrap();
    let ns = Ns::new("badarc").await;
    let missing = dir.path().join("missing.tar");
    let err = ns
        .rt
        .import_archive(&missing, &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::Io { .. }), "{err}");

    let junk = dir.path().join("junk.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&junk).unwrap());
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "hello.txt", &b"hello"[..]).unwrap();
    b.finish().unwrap();
    drop(b);
    let err = ns
        .rt
        .import_archive(&junk, &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::Archive { .. }), "{err}");
    ns.assert_empty("after failed imports").await;
    ns.cleanup().await;
}

/// Server-side pulls (the Transfer service of 1.7 and 2.x): the same image, unpacked the
/// same way, usable by us and by `ctr`; on 1.6 and 1.7 (whose Transfer service cannot
/// reach a plain-HTTP registry) the mode is refused before anything happens.
#[tokio::test]
async fn server_side_pull_through_the_transfer_service() {
    require_root!();
    let (reg, reference, ns) = busybox_fixture("srv", "srv").await;
    let options = PullOptions::default().mode(PullMode::Server);
    if deps::line() != "2.1" {
        let err = ns.rt.pull_image(&reference, &options).await.unwrap_err();
        assert!(matches!(err, RuntimeError::InvalidRequest { .. }), "{err}");
        ns.assert_empty("a refused server-side pull").await;
        ns.cleanup().await;
        return;
    }
    let mut events = Vec::new();
    let image = ns
        .rt
        .pull_image_stream(&reference, &options)
        .finish(|p| events.push(p))
        .await
        .expect("pull");
    assert_eq!(image.name, reference);
    assert_eq!(image.config.cmd, vec!["sh".to_string()]);
    ns.clients
        .snapshots()
        .stat(StatSnapshotRequest {
            snapshotter: "overlayfs".into(),
            key: image.top_chain_id.clone(),
        })
        .await
        .expect("the daemon unpacked the top layer");
    assert!(
        matches!(
            events.last(),
            Some(warren_runtime::PullProgress::Done { .. })
        ),
        "progress ends with Done: {events:?}"
    );
    // What the daemon pulled, a client-side pull finds complete: no blob is fetched.
    let before = reg.blob_gets();
    ns.rt
        .pull_image(&reference, &PullOptions::default().mode(PullMode::Client))
        .await
        .unwrap();
    assert_eq!(reg.blob_gets(), before, "no blob downloaded again");
    let out = ns.ctr(&["run", "--rm", &reference, "srv-run-1", "echo", "srv"]);
    assert!(
        out.status.success(),
        "ctr run: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let unknown_tag = format!("{}/warren/busybox:nope", reg.addr());
    let err = ns.rt.pull_image(&unknown_tag, &options).await.unwrap_err();
    assert!(matches!(err, RuntimeError::UnknownImage { .. }), "{err}");
    ns.rt.remove_image(&reference).await.unwrap();
    let addr = reg.addr();
    drop(reg);
    let err = ns
        .rt
        .pull_image(&format!("{addr}/warren/busybox:srv"), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RuntimeError::RegistryUnreachable { .. }),
        "{err}"
    );
    ns.assert_empty("server-side pulls, failed and removed")
        .await;
    ns.cleanup().await;
}

/// OCI layers compressed with zstd: stored with their digests, unpacked by containerd's
/// diff service into the same tree as gzip, and runnable by `ctr`. Client-side on every line, and server-side too on 2.x.
#[tokio::test]
async fn zstd_layers_pull_unpack_and_run() {
    require_root!();
    use warren_tests::images::{build, layer, push_plain, Compression, Entry, Flavor};
    let reg = Registry::start();
    let extra = layer(&[Entry::Dir("etc"), Entry::File("etc/motd", b"zstd\n", 0o644)]);
    let built = build(
        &[busybox_layer(), extra],
        &["sh"],
        "amd64",
        Flavor::Oci,
        Compression::Zstd,
    );
    let modes: &[(PullMode, &str)] = if deps::line() == "2.1" {
        &[(PullMode::Client, "client"), (PullMode::Server, "server")]
    } else {
        &[(PullMode::Client, "client")]
    };
    for (mode, name) in modes {
        let reference = format!("{}/warren/zstd-{name}:v1", reg.addr());
        push_plain(&reference, &built).await;
        let ns = Ns::new(&format!("zstd-{name}")).await;
        let options = PullOptions::default().mode(*mode);
        let image = ns.rt.pull_image(&reference, &options).await.expect("pull");
        let tree = warren_tests::snapshot_view::tree(&ns.clients, &image.top_chain_id).await;
        assert_eq!(
            tree.get("etc/motd"),
            Some(&Some("zstd\n".to_string())),
            "{name}"
        );
        assert!(tree.contains_key("bin/busybox"), "{name}");
        let out = ns.ctr(&[
            "run",
            "--rm",
            &reference,
            &format!("zstd-{name}-1"),
            "cat",
            "/etc/motd",
        ]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("zstd"),
            "{name}: ctr run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ns.cleanup().await;
    }
}

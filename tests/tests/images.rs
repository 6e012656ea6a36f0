//! Pulling images from a real registry into the containerd line under test.

use std::time::Instant;

use warren_proto::containerd::services::content::v1::ListContentRequest;
use warren_proto::containerd::services::leases::v1::ListRequest;
use warren_proto::containerd::services::namespaces::v1::DeleteNamespaceRequest;
use warren_proto::containerd::services::snapshots::v1::{
    ListSnapshotsRequest, StatSnapshotRequest,
};
use warren_proto::{Clients, Namespace};
use warren_runtime::{ContainerdRuntime, PullOptions, RuntimeError, RuntimeOptions};
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::{daemon, deps, require_root, unique_namespace};

/// A runtime handle in a namespace of its own, and that namespace's raw clients.
struct Ns {
    rt: ContainerdRuntime,
    clients: Clients,
    name: String,
}

impl Ns {
    async fn new(prefix: &str) -> Ns {
        let name = unique_namespace(prefix);
        let rt = ContainerdRuntime::with_options(RuntimeOptions {
            socket: daemon::shared().socket().to_path_buf(),
            namespace: name.clone(),
            ..Default::default()
        })
        .unwrap();
        let clients = Clients::new(
            daemon::shared().channel().await,
            &Namespace::new(&name).unwrap(),
        );
        Ns { rt, clients, name }
    }

    /// (leases, content blobs, snapshots, images) in the namespace.
    async fn objects(&self) -> (usize, usize, usize, usize) {
        let leases = self
            .clients
            .leases()
            .list(ListRequest::default())
            .await
            .unwrap()
            .into_inner()
            .leases
            .len();
        let mut content = 0;
        let mut s = self
            .clients
            .content()
            .list(ListContentRequest::default())
            .await
            .unwrap()
            .into_inner();
        while let Some(m) = s.message().await.unwrap() {
            content += m.info.len();
        }
        let mut snaps = 0;
        let mut s = self
            .clients
            .snapshots()
            .list(ListSnapshotsRequest {
                snapshotter: "overlayfs".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        while let Some(m) = s.message().await.unwrap() {
            snaps += m.info.len();
        }
        let images = self.rt.list_images().await.unwrap().len();
        (leases, content, snaps, images)
    }

    /// Remove every image, then the namespace itself.
    async fn cleanup(self) {
        for name in self.rt.list_images().await.unwrap_or_default() {
            let _ = self.rt.remove_image(&name).await;
        }
        let ns = Namespace::new(&self.name).unwrap();
        let req = warren_proto::namespace::with_namespace(
            &ns,
            DeleteNamespaceRequest {
                name: self.name.clone(),
            },
        );
        let _ = self.clients.namespaces().delete(req).await;
        // Containers run in the namespace (by ctr) leave its parent cgroup behind.
        warren_tests::cleanup::remove_cgroups(&self.name);
    }
}

/// A registry holding a busybox image tagged `tag`, and a fresh namespace.
async fn busybox_fixture(tag: &str, prefix: &str) -> (Registry, String, Ns) {
    let reg = Registry::start();
    let reference = format!("{}/warren/busybox:{tag}", reg.addr());
    push(&reference, &[busybox_layer()], &["sh"]).await;
    (reg, reference, Ns::new(prefix).await)
}

/// Run the line's `ctr` against the test daemon in `ns`.
fn ctr(ns: &Ns, args: &[&str]) -> std::process::Output {
    std::process::Command::new(deps::containerd_bin_dir().join("ctr"))
        .arg("--address")
        .arg(daemon::shared().socket())
        .args(["-n", &ns.name])
        .args(args)
        .env("PATH", deps::daemon_path_env())
        .output()
        .expect("ctr runs")
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

    // Pulled once, the image is complete: a second pull fetches no blob.
    let before = reg.blob_gets();
    let started = Instant::now();
    ns.rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .expect("second pull");
    eprintln!("second pull of a present image: {:?}", started.elapsed());
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
    let out = ctr(
        &ns,
        &[
            "run",
            "--rm",
            &reference,
            "ctr-run-1",
            "echo",
            "hello-from-ctr",
        ],
    );
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

    let missing = format!("{}/warren/none:nope", reg.addr());
    let err = ns
        .rt
        .pull_image(&missing, &PullOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::Registry { .. }), "{err}");

    let addr = reg.addr();
    drop(reg);
    let down = format!("{addr}/warren/busybox:v1");
    let err = ns
        .rt
        .pull_image(&down, &PullOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::Registry { .. }), "{err}");

    let (leases, content, snaps, images) = ns.objects().await;
    assert_eq!((leases, content, snaps, images), (0, 0, 0, 0));
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
    assert!(
        image.target.media_type.contains("index"),
        "{:?}",
        image.target
    );
    assert_eq!(
        reg.blob_gets() - before,
        2,
        "config and one layer: the arm64 image is not fetched"
    );
    let (_, content, snaps, _) = ns.objects().await;
    assert_eq!((content, snaps), (4, 1), "index, manifest, config, layer");
    let got = ns.rt.get_image(&reference).await.unwrap();
    assert_eq!(got.top_chain_id, image.top_chain_id);

    let arm_only = warren_runtime::Platform {
        os: "linux".into(),
        architecture: "s390x".into(),
        variant: None,
    };
    let err = ns
        .rt
        .pull_image(
            &reference,
            &PullOptions {
                platform: Some(arm_only),
                ..Default::default()
            },
        )
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
    let out = ctr(&ns, &["images", "pull", "--plain-http", &reference]);
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

#[tokio::test]
async fn basic_auth_credentials_are_used_and_required() {
    require_root!();
    let reg = Registry::start_with_auth("warren", "s3cret");
    let reference = format!("{}/private/busybox:v1", reg.addr());
    warren_tests::images::push_as(&reference, &[busybox_layer()], "warren", "s3cret").await;

    let ns = Ns::new("auth").await;
    let err = ns
        .rt
        .pull_image(&reference, &PullOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, RuntimeError::Registry { .. }),
        "no credentials: {err}"
    );

    let with = |password: &str| {
        let mut registry = warren_runtime::RegistryOptions::default();
        registry
            .credentials
            .insert(reg.addr(), ("warren".to_string(), password.to_string()));
        ContainerdRuntime::with_options(RuntimeOptions {
            socket: daemon::shared().socket().to_path_buf(),
            namespace: ns.name.clone(),
            registry,
            ..Default::default()
        })
        .unwrap()
    };
    let err = with("wrong")
        .pull_image(&reference, &PullOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, RuntimeError::Registry { .. }),
        "bad credentials: {err}"
    );
    assert_eq!(
        ns.objects().await,
        (0, 0, 0, 0),
        "failed pulls left nothing"
    );

    with("s3cret")
        .pull_image(&reference, &PullOptions::default())
        .await
        .expect("pull with credentials");
    ns.cleanup().await;
}

#[tokio::test]
async fn progress_reports_every_layer_to_completion() {
    require_root!();
    let (_reg, reference, ns) = busybox_fixture("progress", "progress").await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let opts = PullOptions {
        progress: Some(tx),
        ..Default::default()
    };
    ns.rt.pull_image(&reference, &opts).await.expect("pull");
    drop(opts);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
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

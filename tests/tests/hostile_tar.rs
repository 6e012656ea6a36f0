//! Warren's bounded tar reader on real pulls (client-side, so Warren's applier unpacks):
//! a layer that ends right after its last entry's data unpacks as ctr unpacks it; a layer
//! cut inside an entry is refused; layers whose first header declares 16 GiB (PAX, GNU long
//! name and link) or whose sparse map never ends are refused from that header, with the
//! process's memory flat, and leave nothing behind.

use warren_runtime::{ErrorKind, PullMode, PullOptions};
use warren_tests::hostile_tar::{cut_layer, push_bomb, unterminated_layer, Bomb};
use warren_tests::image_ns::Ns;
use warren_tests::images::{build, push_plain, Compression, Flavor};
use warren_tests::peak_rss_during;
use warren_tests::registry::Registry;
use warren_tests::{require_root, snapshot_view};

/// A client-side pull: the one whose layers Warren applies.
fn client_side() -> PullOptions {
    PullOptions::default().mode(PullMode::Client)
}

/// No snapshot, lease or ingest left in the namespace.
async fn assert_nothing_left(ns: &Ns, what: &str) {
    let (leases, _, snapshots, images) = ns.objects().await;
    assert_eq!(
        (leases, snapshots, images),
        (0, 0, 0),
        "{what}: leases, snapshots, images left"
    );
    assert_eq!(ns.ingests().await, 0, "{what}: ingests left");
}

#[tokio::test]
async fn a_layer_ending_after_its_last_entrys_data_unpacks_as_ctrs() {
    require_root!();
    let registry = Registry::start();
    let layer = unterminated_layer();
    for (compression, tag) in [(Compression::Gzip, "gzip"), (Compression::None, "plain")] {
        let reference = format!("{}/warren/unterminated:{tag}", registry.addr());
        let built = build(
            std::slice::from_ref(&layer),
            &["sh"],
            "amd64",
            Flavor::Oci,
            compression,
        );
        push_plain(&reference, &built).await;

        let theirs = Ns::new("tar-ctr").await;
        let out = theirs.ctr(&["images", "pull", "--plain-http", &reference]);
        assert!(
            out.status.success(),
            "ctr pull {tag}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = Ns::new("tar-ours").await;
        let image = ours
            .rt
            .pull_image(&reference, &client_side())
            .await
            .unwrap_or_else(|e| panic!("our pull {tag}: {e}"));
        let want = snapshot_view::tree(&theirs.clients, &image.top_chain_id).await;
        let got = snapshot_view::tree(&ours.clients, &image.top_chain_id).await;
        assert_eq!(got, want, "{tag}: our tree and ctr's");
        assert_eq!(
            want.get("etc/last").cloned().flatten().as_deref(),
            Some("the last file, its data not padded"),
            "{tag}"
        );
        theirs.cleanup().await;
        ours.cleanup().await;
    }
}

#[tokio::test]
async fn a_layer_cut_inside_an_entry_is_refused_and_leaves_nothing() {
    require_root!();
    let registry = Registry::start();
    let reference = format!("{}/warren/cut:latest", registry.addr());
    let built = build(
        &[cut_layer()],
        &["sh"],
        "amd64",
        Flavor::Oci,
        Compression::Gzip,
    );
    push_plain(&reference, &built).await;
    let ns = Ns::new("tar-cut").await;
    let err = ns
        .rt
        .pull_image(&reference, &client_side())
        .await
        .expect_err("a layer cut inside an entry");
    assert_eq!(err.kind(), ErrorKind::Integrity, "{err}");
    assert!(err.to_string().contains("cut inside entry"), "{err}");
    assert_nothing_left(&ns, "cut").await;
    ns.cleanup().await;
}

#[tokio::test]
async fn tar_bombs_are_refused_from_their_header_with_memory_flat() {
    require_root!();
    let registry = Registry::start();
    for bomb in Bomb::ALL {
        let tag = format!("{bomb:?}").to_lowercase();
        let reference = format!("{}/warren/tar-bomb:{tag}", registry.addr());
        push_bomb(&reference, bomb).await;
        let ns = Ns::new("tar-bomb").await;
        let (result, peak) = peak_rss_during(ns.rt.pull_image(&reference, &client_side())).await;
        let err = result.expect_err(&tag);
        let message = err.to_string();
        if bomb == Bomb::SparseMap {
            // Not a limit: sparse files are refused outright, before their map is read.
            assert!(
                message.contains("sparse files are not supported"),
                "{tag}: {message}"
            );
        } else {
            assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{tag}: {message}");
            assert!(
                message.contains("tar extension header size limit")
                    && message.contains("1048576")
                    && message.contains(&(16u64 << 30).to_string()),
                "{tag}: {message}"
            );
        }
        assert!(
            peak < 200 << 20,
            "{tag}: the test process reached {} MiB resident",
            peak >> 20
        );
        assert_nothing_left(&ns, &tag).await;
        ns.cleanup().await;
    }
}

#[tokio::test]
async fn an_import_archive_with_a_huge_extension_header_is_refused_from_it() {
    require_root!();
    let ns = Ns::new("tar-bomb-import").await;
    let dir = tempfile::tempdir().unwrap();
    for bomb in [Bomb::PaxHeader, Bomb::LongName, Bomb::LongLink] {
        let tag = format!("{bomb:?}").to_lowercase();
        // The archive itself is the bomb: its first header declares 16 GiB. Only its first
        // gzip members are written (the header is in the first); the limit is reached from
        // the header alone.
        let path = dir.path().join(format!("{tag}.tar.gz"));
        let head: Vec<u8> = warren_tests::hostile_tar::bomb_chunks(bomb)
            .take(2)
            .flatten()
            .collect();
        std::fs::write(&path, head).unwrap();
        let (result, peak) =
            peak_rss_during(ns.rt.import_archive(&path, &Default::default())).await;
        let err = result.expect_err(&tag);
        assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{tag}: {err}");
        assert!(
            err.to_string().contains("tar extension header size limit"),
            "{tag}: {err}"
        );
        assert!(peak < 200 << 20, "{tag}: {} MiB resident", peak >> 20);
        assert_nothing_left(&ns, &tag).await;
    }
    ns.cleanup().await;
}

//! Looking inside an unpacked image: a read-only view snapshot, mounted in a temp dir.

use std::collections::BTreeMap;
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use warren_proto::containerd::services::snapshots::v1::{
    RemoveSnapshotRequest, ViewSnapshotRequest,
};
use warren_proto::Clients;

/// Every path under the image's rootfs (relative) with the content of small regular files.
pub async fn tree(clients: &Clients, chain_id: &str) -> BTreeMap<String, Option<String>> {
    with_view(clients, chain_id, |dir| {
        let mut out = BTreeMap::new();
        walk(dir, dir, &mut out);
        out
    })
    .await
}

/// Run `f` on the image's rootfs (the snapshot chain ending in `chain_id`), mounted
/// read-only in a temp dir through a view snapshot that is removed afterwards.
pub async fn with_view<T>(clients: &Clients, chain_id: &str, f: impl FnOnce(&Path) -> T) -> T {
    // Unique per call: tests of one binary look at trees concurrently.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let key = format!("view-{}-{n}", std::process::id());
    let mounts = clients
        .snapshots()
        .view(ViewSnapshotRequest {
            snapshotter: "overlayfs".into(),
            key: key.clone(),
            parent: chain_id.into(),
            // Without a lease, an active snapshot is fair game for a GC that another test's
            // image removal triggers; a root label keeps it until we remove it.
            labels: [("containerd.io/gc.root".to_string(), "view".to_string())].into(),
        })
        .await
        .expect("Snapshots/View")
        .into_inner()
        .mounts;
    let dir = tempfile::Builder::new()
        .prefix("wview-")
        .tempdir_in("/tmp")
        .unwrap();
    let m = &mounts[0];
    let (flags, data): (MsFlags, Vec<&str>) = if m.r#type == "bind" {
        (
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY,
            vec![],
        )
    } else {
        let data = m
            .options
            .iter()
            .map(String::as_str)
            .filter(|o| *o != "ro")
            .collect();
        (MsFlags::MS_RDONLY, data)
    };
    let data = data.join(",");
    mount(
        Some(m.source.as_str()),
        dir.path(),
        Some(m.r#type.as_str()),
        flags,
        Some(data.as_str()),
    )
    .expect("mount the view");
    let out = f(dir.path());
    umount2(dir.path(), MntFlags::MNT_DETACH).expect("unmount the view");
    clients
        .snapshots()
        .remove(RemoveSnapshotRequest {
            snapshotter: "overlayfs".into(),
            key,
        })
        .await
        .expect("remove the view");
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Option<String>>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            out.insert(format!("{rel}/"), None);
            walk(root, &p, out);
        } else if meta.is_file() && meta.len() < 64 {
            out.insert(rel, std::fs::read_to_string(&p).ok());
        } else {
            out.insert(rel, None);
        }
    }
}

//! A busybox container made with raw containerd calls (no image, no pull): a rootfs folder
//! holding the static busybox, an OCI spec pointing at it, and the runc shim. Enough to prove
//! that a task survives things happening to the daemon.

use std::path::{Path, PathBuf};

use warren_proto::containerd::runc::v1::Options;
use warren_proto::containerd::services::containers::v1::{
    container::Runtime, Container, CreateContainerRequest, DeleteContainerRequest,
};
use warren_proto::containerd::services::tasks::v1::{
    CreateTaskRequest, DeleteTaskRequest, KillRequest, StartRequest, WaitRequest,
};
use warren_proto::{any, Clients};

use crate::deps;

/// A rootfs folder with busybox and a few applet links.
pub struct Rootfs {
    dir: tempfile::TempDir,
}

impl Rootfs {
    pub fn new() -> Rootfs {
        let dir = tempfile::Builder::new()
            .prefix("wt-rootfs-")
            .tempdir_in("/tmp")
            .expect("rootfs dir");
        let root = dir.path();
        for d in ["bin", "proc", "dev", "sys", "tmp", "etc"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::copy(
            deps::require(deps::tools_bin_dir().join("busybox")),
            root.join("bin/busybox"),
        )
        .expect("copy busybox");
        for applet in ["sh", "sleep", "true", "cat", "echo"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        Rootfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for Rootfs {
    fn default() -> Self {
        Rootfs::new()
    }
}

/// A minimal OCI spec running `args` in `rootfs`, in cgroup `/<ns>/<id>`.
pub fn spec(rootfs: &Path, ns: &str, id: &str, args: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "args": args,
            "cwd": "/",
            "env": ["PATH=/bin"],
            "user": {"uid": 0, "gid": 0},
            "noNewPrivileges": true
        },
        "root": {"path": rootfs, "readonly": true},
        "hostname": id,
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {
            "cgroupsPath": format!("/{ns}/{id}"),
            "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]
        }
    })
}

/// runc options pointing at the pinned runc, with runc state private to this test.
pub fn runc_options(state: &Path) -> prost_types::Any {
    any::pack(&Options {
        binary_name: deps::require(deps::tools_bin_dir().join("runc"))
            .display()
            .to_string(),
        root: state.display().to_string(),
        ..Default::default()
    })
}

/// Create and start container `id` running `args`; returns the task's pid.
pub async fn run(
    clients: &Clients,
    rootfs: &Path,
    runc_root: &Path,
    ns: &str,
    id: &str,
    args: &[&str],
) -> u32 {
    let spec = serde_json::to_vec(&spec(rootfs, ns, id, args)).unwrap();
    clients
        .containers()
        .create(CreateContainerRequest {
            container: Some(Container {
                id: id.into(),
                runtime: Some(Runtime {
                    name: "io.containerd.runc.v2".into(),
                    options: Some(runc_options(runc_root)),
                }),
                spec: Some(any::pack_json(any::SPEC_TYPE_URL, spec)),
                ..Default::default()
            }),
        })
        .await
        .expect("Containers/Create");
    clients
        .tasks()
        .create(CreateTaskRequest {
            container_id: id.into(),
            ..Default::default()
        })
        .await
        .expect("Tasks/Create");
    clients
        .tasks()
        .start(StartRequest {
            container_id: id.into(),
            ..Default::default()
        })
        .await
        .expect("Tasks/Start")
        .into_inner()
        .pid
}

/// Kill, wait for, and delete task and container `id` (missing pieces are fine).
pub async fn remove(clients: &Clients, id: &str) {
    let mut tasks = clients.tasks();
    let _ = tasks
        .kill(KillRequest {
            container_id: id.into(),
            signal: 9,
            all: true,
            ..Default::default()
        })
        .await;
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tasks.wait(WaitRequest {
            container_id: id.into(),
            ..Default::default()
        }),
    )
    .await;
    let _ = tasks
        .delete(DeleteTaskRequest {
            container_id: id.into(),
        })
        .await;
    let _ = clients
        .containers()
        .delete(DeleteContainerRequest { id: id.into() })
        .await;
}

/// A private runc state dir for one test.
pub fn runc_root() -> PathBuf {
    tempfile::Builder::new()
        .prefix("wt-runc-")
        .tempdir_in("/tmp")
        .expect("runc root")
        .keep()
}

//! Leaving nothing behind: tasks, shims and mounts a test daemon may still hold at exit.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use tonic::Request;
use warren_proto::containerd::services::containers::v1::{
    containers_client::ContainersClient, DeleteContainerRequest, ListContainersRequest,
};
use warren_proto::containerd::services::namespaces::v1::{
    namespaces_client::NamespacesClient, ListNamespacesRequest,
};
use warren_proto::containerd::services::tasks::v1::{
    tasks_client::TasksClient, DeleteTaskRequest, KillRequest, ListTasksRequest, WaitRequest,
};
use warren_runtime::containers::shims;

/// Run `fut` to completion on a private runtime in a new thread (works inside or outside
/// tokio, and from an `atexit` hook).
pub fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(fut)
    })
    .join()
    .expect("the cleanup thread panicked")
}

fn in_ns<T>(ns: &str, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    if let Ok(v) = ns.parse() {
        req.metadata_mut().insert("containerd-namespace", v);
    }
    req
}

/// SIGKILL and delete every task, and delete every container, in every namespace.
pub fn remove_all_tasks(socket: &Path) {
    let socket = socket.to_path_buf();
    block_on(async move {
        let Ok(channel) = warren_proto::connect(&socket).await else {
            return;
        };
        let Ok(list) = NamespacesClient::new(channel.clone())
            .list(ListNamespacesRequest::default())
            .await
        else {
            return;
        };
        for ns in list.into_inner().namespaces {
            let ns = ns.name;
            let mut tasks = TasksClient::new(channel.clone());
            if let Ok(list) = tasks.list(in_ns(&ns, ListTasksRequest::default())).await {
                for t in list.into_inner().tasks {
                    let kill = KillRequest {
                        container_id: t.id.clone(),
                        signal: 9,
                        all: true,
                        ..Default::default()
                    };
                    let _ = tasks.kill(in_ns(&ns, kill)).await;
                    let wait = WaitRequest {
                        container_id: t.id.clone(),
                        ..Default::default()
                    };
                    let _ =
                        tokio::time::timeout(Duration::from_secs(5), tasks.wait(in_ns(&ns, wait)))
                            .await;
                    let delete = DeleteTaskRequest {
                        container_id: t.id.clone(),
                    };
                    let _ = tasks.delete(in_ns(&ns, delete)).await;
                }
            }
            let mut containers = ContainersClient::new(channel.clone());
            if let Ok(list) = containers
                .list(in_ns(&ns, ListContainersRequest::default()))
                .await
            {
                for c in list.into_inner().containers {
                    let req = DeleteContainerRequest { id: c.id };
                    let _ = containers.delete(in_ns(&ns, req)).await;
                }
            }
        }
    })
}

/// The shims serving the daemon at `socket`.
pub fn shims_of(socket: &Path) -> Vec<shims::Shim> {
    shims::list()
        .into_iter()
        .filter(|s| s.address == socket)
        .collect()
}

/// SIGKILL any shim still serving the daemon at `socket` and remove its socket file.
pub fn kill_shims_of(socket: &Path) {
    for shim in shims_of(socket) {
        shims::kill(&shim);
    }
}

/// SIGKILL every process whose command line mentions `text` (e.g. a test's temp dir: its
/// containerd and shims).
pub fn kill_mentioning(text: &str) {
    // Shims first, so that their socket files go with them.
    for shim in shims::list() {
        if shim.address.to_string_lossy().contains(text) {
            shims::kill(&shim);
        }
    }
    kill_where(|cmdline| cmdline.contains(text));
}

fn kill_where(matches: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let me = std::process::id() as i32;
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if pid != me && matches(&cmdline) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Lazily unmount everything mounted at or below `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .filter(|p| Path::new(p).starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = nix::mount::umount2(p.as_str(), nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Remove every image of namespace `name` (through `rt`, which works in it), then the
/// namespace itself (through `clients`), then the cgroups containers left in it.
pub async fn remove_namespace(
    rt: &warren_runtime::ContainerdRuntime,
    clients: &warren_proto::Clients,
    name: &str,
) {
    for image in rt.list_images().await.unwrap_or_default() {
        let _ = rt.remove_image(&image).await;
    }
    let ns = warren_proto::Namespace::new(name).unwrap();
    let req = warren_proto::namespace::with_namespace(
        &ns,
        warren_proto::containerd::services::namespaces::v1::DeleteNamespaceRequest {
            name: name.to_string(),
        },
    );
    let _ = clients.namespaces().delete(req).await;
    // Containers run in the namespace (by ctr too) leave its parent cgroup behind.
    remove_cgroups(name);
}

/// SIGKILL every process in the cgroups of containerd namespace `ns` (cgroupsPath
/// `/<ns>/<id>`, on every v1 controller and the unified hierarchy), then remove those cgroups.
pub fn remove_cgroups(ns: &str) {
    let Ok(mounts) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let roots: Vec<std::path::PathBuf> = mounts
        .flatten()
        .map(|e| e.path().join(ns))
        .chain([std::path::PathBuf::from("/sys/fs/cgroup").join(ns)])
        .filter(|p| p.is_dir())
        .collect();
    for root in &roots {
        for child in std::fs::read_dir(root).into_iter().flatten().flatten() {
            if let Ok(procs) = std::fs::read_to_string(child.path().join("cgroup.procs")) {
                for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    for root in &roots {
        for child in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let _ = std::fs::remove_dir(child.path());
        }
        let _ = std::fs::remove_dir(root);
    }
}

//! An in-process stand-in for containerd: warren-proto's generated servers for the services
//! a container's life touches (containers, tasks, snapshots, leases, images, content), on a
//! unix socket in a temporary folder. It keeps just enough state to answer like the daemon
//! (records, snapshots, tasks, leases, one image), logs every call, and fails the calls a
//! test names, so that the runtime's undo paths can be checked without root or a daemon.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Code, Request, Response, Status};
use warren_proto::containerd::services::containers::v1 as ctr;
use warren_proto::containerd::services::content::v1 as content;
use warren_proto::containerd::services::images::v1 as images;
use warren_proto::containerd::services::leases::v1 as leases;
use warren_proto::containerd::services::snapshots::v1 as snap;
use warren_proto::containerd::services::tasks::v1 as tasks;
use warren_proto::containerd::types::Descriptor;
use warren_proto::containerd::v1::types::{Process, Status as TaskStatus};
use warren_runtime::{LogDriver, RuntimeOptions};

/// The image every fake daemon holds.
pub const IMAGE: &str = "docker.io/library/fake:latest";

/// What the fake daemon holds and has been asked.
#[derive(Default)]
pub struct State {
    /// Every call, as `Service.Method key`, in order.
    pub calls: Vec<String>,
    /// Calls (`Service.Method`) that fail with INTERNAL, every time they are made.
    pub fail: BTreeSet<String>,
    /// Calls (`Service.Method`) that get no answer (and do nothing) until released.
    pub stall: BTreeSet<String>,
    pub containers: BTreeMap<String, ctr::Container>,
    pub snapshots: BTreeSet<String>,
    /// Task status by container id.
    pub tasks: BTreeMap<String, TaskStatus>,
    pub leases: BTreeSet<String>,
    /// The write ends of each task's output FIFOs, held as the shim holds them.
    task_io: BTreeMap<String, Vec<std::fs::File>>,
    /// Exec processes by `container/exec id`.
    pub execs: BTreeMap<String, FakeExec>,
    /// What an exec does once started: write `output` to its stdout and exit with `code`,
    /// or (`None`) run until killed.
    pub exec_script: (Vec<u8>, Option<u32>),
    blobs: BTreeMap<String, Vec<u8>>,
    image: Option<images::Image>,
}

/// An exec process of the fake daemon.
#[derive(Debug, Clone)]
pub struct FakeExec {
    pub status: TaskStatus,
    pub exit_code: u32,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl State {
    /// The calls made to `method` (`Service.Method`), by key.
    pub fn keys_of(&self, method: &str) -> Vec<String> {
        self.calls
            .iter()
            .filter_map(|c| c.strip_prefix(method)?.strip_prefix(' '))
            .map(str::to_string)
            .collect()
    }

    /// Whether `method` was called at all.
    pub fn called(&self, method: &str) -> bool {
        !self.keys_of(method).is_empty()
    }
}

/// A running fake daemon; dropping it stops serving.
pub struct FakeContainerd {
    pub socket: PathBuf,
    pub state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for FakeContainerd {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeContainerd {
    /// Serve on a new socket, holding one image ([`IMAGE`], one layer, `cmd: ["true"]`).
    pub fn start() -> FakeContainerd {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("containerd.sock");
        let state = Arc::new(Mutex::new(State::default()));
        add_image(&mut state.lock().unwrap());
        let listener = UnixListener::bind(&socket).expect("bind the fake socket");
        let svc = Svc(state.clone());
        let server = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(ctr::containers_server::ContainersServer::new(svc.clone()))
                .add_service(tasks::tasks_server::TasksServer::new(svc.clone()))
                .add_service(snap::snapshots_server::SnapshotsServer::new(svc.clone()))
                .add_service(leases::leases_server::LeasesServer::new(svc.clone()))
                .add_service(images::images_server::ImagesServer::new(svc.clone()))
                .add_service(content::content_server::ContentServer::new(svc))
                .serve_with_incoming(UnixListenerStream::new(listener))
                .await;
        });
        FakeContainerd {
            socket,
            state,
            server,
            _dir: dir,
        }
    }

    /// Options of a runtime on this daemon: namespace `namespace`, state under `state`, a
    /// one-second reconnect deadline, and a logger that is only named in a task's log URI
    /// (the fake starts nothing).
    pub fn options(&self, namespace: &str, state: &std::path::Path) -> RuntimeOptions {
        RuntimeOptions::default()
            .socket(self.socket.clone())
            .namespace(namespace)
            .reconnect_deadline(std::time::Duration::from_secs(1))
            .state_dir(state.to_path_buf())
            .log_driver(LogDriver::Shim("/nonexistent/warren-logger".into()))
    }

    /// Make every call to `method` (`Service.Method`) fail from now on.
    pub fn fail(&self, method: &str) {
        self.state.lock().unwrap().fail.insert(method.to_string());
    }

    /// Make every call to `method` wait, doing nothing, until [`release`](Self::release).
    /// Held calls are logged once they go on. The methods that can be held:
    /// `Containers.Create`, `Containers.Delete`, `Tasks.Create` and `Tasks.Start`.
    pub fn stall(&self, method: &str) {
        self.state.lock().unwrap().stall.insert(method.to_string());
    }

    /// Let stalled calls to `method` go on.
    pub fn release(&self, method: &str) {
        self.state.lock().unwrap().stall.remove(method);
    }

    /// Let `method` succeed again.
    pub fn heal(&self, method: &str) {
        self.state.lock().unwrap().fail.remove(method);
    }

    /// A look at the state.
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A one-layer image: its config, manifest and record (the layer's blob is not needed to
/// run a container, only its snapshot, named by the chain id).
fn add_image(state: &mut State) {
    let diff_id = digest(b"layer");
    let config = serde_json::json!({
        "architecture": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
        "os": "linux",
        "config": {"Cmd": ["true"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    });
    let config = serde_json::to_vec(&config).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": digest(&config),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": diff_id,
            "size": 5,
        }],
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    state.image = Some(images::Image {
        name: IMAGE.into(),
        target: Some(Descriptor {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            digest: digest(&manifest),
            size: manifest.len() as i64,
            ..Default::default()
        }),
        ..Default::default()
    });
    state.blobs.insert(digest(&config), config);
    state.blobs.insert(digest(&manifest), manifest);
    // The single layer's chain id is its diff id.
    state.snapshots.insert(diff_id);
}

#[derive(Clone)]
struct Svc(Arc<Mutex<State>>);

type Answer<T> = Result<Response<T>, Status>;

impl Svc {
    /// Wait while the test stalls `method` (see [`FakeContainerd::stall`]).
    async fn stalled(&self, method: &str) {
        while self.0.lock().unwrap().stall.contains(method) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Start exec `exec_id`: like a shim, open its stdout and stderr FIFOs for writing (a
    /// FIFO's reader sees no end until a writer has come and gone); then run the state's
    /// `exec_script`.
    async fn start_exec(&self, id: &str, exec_id: &str) -> Answer<tasks::StartResponse> {
        let key = format!("{id}/{exec_id}");
        self.stalled("Tasks.Start").await;
        let (stdout, stderr, (output, code)) = {
            let mut s = self.enter("Tasks.Start", &key)?;
            let script = s.exec_script.clone();
            let e = s
                .execs
                .get_mut(&key)
                .ok_or_else(|| not_found("process", &key))?;
            e.status = TaskStatus::Running;
            (e.stdout.clone(), e.stderr.clone(), script)
        };
        // The runtime holds the read end open already, so this open does not block.
        let written = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            std::fs::OpenOptions::new().write(true).open(stderr)?;
            let mut w = std::fs::OpenOptions::new().write(true).open(stdout)?;
            w.write_all(&output)
        })
        .await
        .unwrap();
        if let Err(e) = written {
            return Err(Status::internal(format!("writing the exec's output: {e}")));
        }
        if let Some(code) = code {
            let mut s = self.0.lock().unwrap();
            if let Some(e) = s.execs.get_mut(&key) {
                e.status = TaskStatus::Stopped;
                e.exit_code = code;
            }
        }
        ok(tasks::StartResponse { pid: 4343 })
    }

    /// Log the call; fail it if the test asked for that.
    fn enter(&self, method: &str, key: &str) -> Result<std::sync::MutexGuard<'_, State>, Status> {
        let mut s = self.0.lock().unwrap();
        s.calls.push(format!("{method} {key}"));
        if s.fail.contains(method) {
            return Err(Status::new(
                Code::Internal,
                format!("{method}: injected failure"),
            ));
        }
        Ok(s)
    }
}

/// Task `id` as the daemon describes it (its init process, pid 4242).
fn process(id: &str, status: TaskStatus) -> Process {
    Process {
        container_id: id.to_string(),
        id: id.to_string(),
        pid: 4242,
        status: status as i32,
        ..Default::default()
    }
}

fn not_found(what: &str, key: &str) -> Status {
    Status::not_found(format!("{what} {key}: not found"))
}

fn unneeded(method: &str) -> Status {
    Status::unimplemented(format!("{method} is not faked"))
}

fn ok<T>(t: T) -> Answer<T> {
    Ok(Response::new(t))
}

#[tonic::async_trait]
impl ctr::containers_server::Containers for Svc {
    async fn get(&self, r: Request<ctr::GetContainerRequest>) -> Answer<ctr::GetContainerResponse> {
        let id = r.into_inner().id;
        let s = self.enter("Containers.Get", &id)?;
        let c = s
            .containers
            .get(&id)
            .cloned()
            .ok_or_else(|| not_found("container", &id))?;
        ok(ctr::GetContainerResponse { container: Some(c) })
    }
    async fn list(
        &self,
        _: Request<ctr::ListContainersRequest>,
    ) -> Answer<ctr::ListContainersResponse> {
        let s = self.enter("Containers.List", "")?;
        ok(ctr::ListContainersResponse {
            containers: s.containers.values().cloned().collect(),
        })
    }
    type ListStreamStream = tokio_stream::Empty<Result<ctr::ListContainerMessage, Status>>;
    async fn list_stream(
        &self,
        _: Request<ctr::ListContainersRequest>,
    ) -> Answer<Self::ListStreamStream> {
        Err(unneeded("Containers.ListStream"))
    }
    async fn create(
        &self,
        r: Request<ctr::CreateContainerRequest>,
    ) -> Answer<ctr::CreateContainerResponse> {
        let c = r.into_inner().container.unwrap_or_default();
        self.stalled("Containers.Create").await;
        let mut s = self.enter("Containers.Create", &c.id)?;
        if s.containers.contains_key(&c.id) {
            return Err(Status::already_exists(c.id));
        }
        s.containers.insert(c.id.clone(), c.clone());
        ok(ctr::CreateContainerResponse { container: Some(c) })
    }
    async fn update(
        &self,
        r: Request<ctr::UpdateContainerRequest>,
    ) -> Answer<ctr::UpdateContainerResponse> {
        let c = r.into_inner().container.unwrap_or_default();
        let mut s = self.enter("Containers.Update", &c.id)?;
        let have = s
            .containers
            .get_mut(&c.id)
            .ok_or_else(|| not_found("container", &c.id))?;
        have.labels.extend(c.labels);
        ok(ctr::UpdateContainerResponse {
            container: Some(have.clone()),
        })
    }
    async fn delete(&self, r: Request<ctr::DeleteContainerRequest>) -> Answer<()> {
        let id = r.into_inner().id;
        self.stalled("Containers.Delete").await;
        let mut s = self.enter("Containers.Delete", &id)?;
        if s.tasks.contains_key(&id) {
            return Err(Status::failed_precondition(format!("{id} has a task")));
        }
        s.containers
            .remove(&id)
            .ok_or_else(|| not_found("container", &id))?;
        ok(())
    }
}

#[tonic::async_trait]
impl tasks::tasks_server::Tasks for Svc {
    async fn create(
        &self,
        r: Request<tasks::CreateTaskRequest>,
    ) -> Answer<tasks::CreateTaskResponse> {
        let r = r.into_inner();
        let id = r.container_id;
        self.stalled("Tasks.Create").await;
        let mut s = self.enter("Tasks.Create", &id)?;
        if !s.containers.contains_key(&id) {
            return Err(not_found("container", &id));
        }
        if s.tasks.contains_key(&id) {
            return Err(Status::already_exists(id));
        }
        s.tasks.insert(id.clone(), TaskStatus::Created);
        // Like the shim: output given as FIFOs is held open for writing while the task
        // lives (a log URI is the logger's business).
        let held = [r.stdout, r.stderr]
            .iter()
            .filter(|p| p.starts_with('/'))
            .filter_map(|p| {
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new()
                    .write(true)
                    // A FIFO without a reader is not waited for: its open fails.
                    .custom_flags(libc::O_NONBLOCK)
                    .open(p)
                    .ok()
            })
            .collect();
        s.task_io.insert(id.clone(), held);
        ok(tasks::CreateTaskResponse {
            container_id: id,
            pid: 4242,
        })
    }
    async fn start(&self, r: Request<tasks::StartRequest>) -> Answer<tasks::StartResponse> {
        let r = r.into_inner();
        if !r.exec_id.is_empty() {
            return self.start_exec(&r.container_id, &r.exec_id).await;
        }
        let id = r.container_id;
        self.stalled("Tasks.Start").await;
        let mut s = self.enter("Tasks.Start", &id)?;
        let t = s.tasks.get_mut(&id).ok_or_else(|| not_found("task", &id))?;
        *t = TaskStatus::Running;
        ok(tasks::StartResponse { pid: 4242 })
    }
    async fn delete(&self, r: Request<tasks::DeleteTaskRequest>) -> Answer<tasks::DeleteResponse> {
        let id = r.into_inner().container_id;
        let mut s = self.enter("Tasks.Delete", &id)?;
        match s.tasks.get(&id) {
            None => return Err(not_found("task", &id)),
            Some(TaskStatus::Running) => {
                return Err(Status::failed_precondition(format!("{id} is running")))
            }
            Some(_) => {}
        }
        s.tasks.remove(&id);
        // The shim goes, and its ends of the task's FIFOs with it.
        s.task_io.remove(&id);
        ok(tasks::DeleteResponse {
            id,
            pid: 4242,
            exit_status: 137,
            exited_at: None,
        })
    }
    async fn delete_process(
        &self,
        r: Request<tasks::DeleteProcessRequest>,
    ) -> Answer<tasks::DeleteResponse> {
        let r = r.into_inner();
        let key = format!("{}/{}", r.container_id, r.exec_id);
        let mut s = self.enter("Tasks.DeleteProcess", &key)?;
        match s.execs.get(&key).map(|e| e.status) {
            None => Err(not_found("process", &key)),
            Some(TaskStatus::Running) => {
                Err(Status::failed_precondition(format!("{key} is running")))
            }
            Some(_) => {
                let e = s.execs.remove(&key).unwrap();
                ok(tasks::DeleteResponse {
                    id: r.exec_id,
                    pid: 4343,
                    exit_status: e.exit_code,
                    exited_at: None,
                })
            }
        }
    }
    async fn get(&self, r: Request<tasks::GetRequest>) -> Answer<tasks::GetResponse> {
        let id = r.into_inner().container_id;
        let s = self.enter("Tasks.Get", &id)?;
        let status = *s.tasks.get(&id).ok_or_else(|| not_found("task", &id))?;
        ok(tasks::GetResponse {
            process: Some(process(&id, status)),
        })
    }
    async fn list(&self, _: Request<tasks::ListTasksRequest>) -> Answer<tasks::ListTasksResponse> {
        let s = self.enter("Tasks.List", "")?;
        ok(tasks::ListTasksResponse {
            tasks: s.tasks.iter().map(|(id, st)| process(id, *st)).collect(),
        })
    }
    async fn kill(&self, r: Request<tasks::KillRequest>) -> Answer<()> {
        let r = r.into_inner();
        if !r.exec_id.is_empty() {
            let key = format!("{}/{}", r.container_id, r.exec_id);
            let mut s = self.enter("Tasks.Kill", &key)?;
            let e = s
                .execs
                .get_mut(&key)
                .ok_or_else(|| not_found("process", &key))?;
            if e.status != TaskStatus::Stopped {
                e.status = TaskStatus::Stopped;
                e.exit_code = 137;
            }
            return ok(());
        }
        let id = r.container_id;
        let mut s = self.enter("Tasks.Kill", &id)?;
        let t = s.tasks.get_mut(&id).ok_or_else(|| not_found("task", &id))?;
        *t = TaskStatus::Stopped;
        ok(())
    }
    async fn exec(&self, r: Request<tasks::ExecProcessRequest>) -> Answer<()> {
        let r = r.into_inner();
        let key = format!("{}/{}", r.container_id, r.exec_id);
        let mut s = self.enter("Tasks.Exec", &key)?;
        if s.tasks.get(&r.container_id) != Some(&TaskStatus::Running) {
            return Err(Status::failed_precondition(format!(
                "{} is not running",
                r.container_id
            )));
        }
        if s.execs.contains_key(&key) {
            return Err(Status::already_exists(key));
        }
        let exec = FakeExec {
            status: TaskStatus::Created,
            exit_code: 0,
            stdout: PathBuf::from(r.stdout),
            stderr: PathBuf::from(r.stderr),
        };
        s.execs.insert(key, exec);
        ok(())
    }
    async fn resize_pty(&self, _: Request<tasks::ResizePtyRequest>) -> Answer<()> {
        Err(unneeded("Tasks.ResizePty"))
    }
    async fn close_io(&self, _: Request<tasks::CloseIoRequest>) -> Answer<()> {
        Err(unneeded("Tasks.CloseIO"))
    }
    async fn pause(&self, _: Request<tasks::PauseTaskRequest>) -> Answer<()> {
        Err(unneeded("Tasks.Pause"))
    }
    async fn resume(&self, _: Request<tasks::ResumeTaskRequest>) -> Answer<()> {
        Err(unneeded("Tasks.Resume"))
    }
    async fn list_pids(
        &self,
        _: Request<tasks::ListPidsRequest>,
    ) -> Answer<tasks::ListPidsResponse> {
        Err(unneeded("Tasks.ListPids"))
    }
    async fn checkpoint(
        &self,
        _: Request<tasks::CheckpointTaskRequest>,
    ) -> Answer<tasks::CheckpointTaskResponse> {
        Err(unneeded("Tasks.Checkpoint"))
    }
    async fn update(&self, _: Request<tasks::UpdateTaskRequest>) -> Answer<()> {
        Err(unneeded("Tasks.Update"))
    }
    async fn metrics(&self, _: Request<tasks::MetricsRequest>) -> Answer<tasks::MetricsResponse> {
        Err(unneeded("Tasks.Metrics"))
    }
    async fn wait(&self, r: Request<tasks::WaitRequest>) -> Answer<tasks::WaitResponse> {
        let r = r.into_inner();
        if !r.exec_id.is_empty() {
            let key = format!("{}/{}", r.container_id, r.exec_id);
            drop(self.enter("Tasks.Wait", &key)?);
            loop {
                match self.0.lock().unwrap().execs.get(&key) {
                    None => return Err(not_found("process", &key)),
                    Some(e) if e.status == TaskStatus::Stopped => {
                        return ok(tasks::WaitResponse {
                            exit_status: e.exit_code,
                            exited_at: None,
                        })
                    }
                    Some(_) => {}
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
        let id = r.container_id;
        drop(self.enter("Tasks.Wait", &id)?);
        // Like the daemon: answers once the task has stopped.
        loop {
            match self.0.lock().unwrap().tasks.get(&id) {
                None => return Err(not_found("task", &id)),
                Some(TaskStatus::Stopped) => {
                    return ok(tasks::WaitResponse {
                        exit_status: 137,
                        exited_at: None,
                    })
                }
                Some(_) => {}
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

#[tonic::async_trait]
impl snap::snapshots_server::Snapshots for Svc {
    async fn prepare(
        &self,
        r: Request<snap::PrepareSnapshotRequest>,
    ) -> Answer<snap::PrepareSnapshotResponse> {
        let r = r.into_inner();
        let mut s = self.enter("Snapshots.Prepare", &r.key)?;
        if !s.snapshots.contains(&r.parent) {
            return Err(not_found("parent snapshot", &r.parent));
        }
        if !s.snapshots.insert(r.key.clone()) {
            return Err(Status::already_exists(r.key));
        }
        ok(snap::PrepareSnapshotResponse::default())
    }
    async fn view(
        &self,
        _: Request<snap::ViewSnapshotRequest>,
    ) -> Answer<snap::ViewSnapshotResponse> {
        Err(unneeded("Snapshots.View"))
    }
    async fn mounts(&self, r: Request<snap::MountsRequest>) -> Answer<snap::MountsResponse> {
        let key = r.into_inner().key;
        let s = self.enter("Snapshots.Mounts", &key)?;
        if !s.snapshots.contains(&key) {
            return Err(not_found("snapshot", &key));
        }
        ok(snap::MountsResponse::default())
    }
    async fn commit(&self, _: Request<snap::CommitSnapshotRequest>) -> Answer<()> {
        Err(unneeded("Snapshots.Commit"))
    }
    async fn remove(&self, r: Request<snap::RemoveSnapshotRequest>) -> Answer<()> {
        let key = r.into_inner().key;
        let mut s = self.enter("Snapshots.Remove", &key)?;
        if !s.snapshots.remove(&key) {
            return Err(not_found("snapshot", &key));
        }
        ok(())
    }
    async fn stat(
        &self,
        _: Request<snap::StatSnapshotRequest>,
    ) -> Answer<snap::StatSnapshotResponse> {
        Err(unneeded("Snapshots.Stat"))
    }
    async fn update(
        &self,
        _: Request<snap::UpdateSnapshotRequest>,
    ) -> Answer<snap::UpdateSnapshotResponse> {
        Err(unneeded("Snapshots.Update"))
    }
    type ListStream = tokio_stream::Empty<Result<snap::ListSnapshotsResponse, Status>>;
    async fn list(&self, _: Request<snap::ListSnapshotsRequest>) -> Answer<Self::ListStream> {
        Err(unneeded("Snapshots.List"))
    }
    async fn usage(&self, _: Request<snap::UsageRequest>) -> Answer<snap::UsageResponse> {
        Err(unneeded("Snapshots.Usage"))
    }
    async fn cleanup(&self, _: Request<snap::CleanupRequest>) -> Answer<()> {
        Err(unneeded("Snapshots.Cleanup"))
    }
}

#[tonic::async_trait]
impl leases::leases_server::Leases for Svc {
    async fn create(&self, r: Request<leases::CreateRequest>) -> Answer<leases::CreateResponse> {
        let id = r.into_inner().id;
        let mut s = self.enter("Leases.Create", &id)?;
        if !s.leases.insert(id.clone()) {
            return Err(Status::already_exists(id));
        }
        ok(leases::CreateResponse {
            lease: Some(leases::Lease {
                id,
                ..Default::default()
            }),
        })
    }
    async fn delete(&self, r: Request<leases::DeleteRequest>) -> Answer<()> {
        let id = r.into_inner().id;
        let mut s = self.enter("Leases.Delete", &id)?;
        if !s.leases.remove(&id) {
            return Err(not_found("lease", &id));
        }
        ok(())
    }
    async fn list(&self, _: Request<leases::ListRequest>) -> Answer<leases::ListResponse> {
        Err(unneeded("Leases.List"))
    }
    async fn add_resource(&self, _: Request<leases::AddResourceRequest>) -> Answer<()> {
        Err(unneeded("Leases.AddResource"))
    }
    async fn delete_resource(&self, _: Request<leases::DeleteResourceRequest>) -> Answer<()> {
        Err(unneeded("Leases.DeleteResource"))
    }
    async fn list_resources(
        &self,
        _: Request<leases::ListResourcesRequest>,
    ) -> Answer<leases::ListResourcesResponse> {
        Err(unneeded("Leases.ListResources"))
    }
}

#[tonic::async_trait]
impl images::images_server::Images for Svc {
    async fn get(&self, r: Request<images::GetImageRequest>) -> Answer<images::GetImageResponse> {
        let name = r.into_inner().name;
        let s = self.enter("Images.Get", &name)?;
        let image = s.image.clone().filter(|i| i.name == name);
        let image = image.ok_or_else(|| not_found("image", &name))?;
        ok(images::GetImageResponse { image: Some(image) })
    }
    async fn list(
        &self,
        _: Request<images::ListImagesRequest>,
    ) -> Answer<images::ListImagesResponse> {
        Err(unneeded("Images.List"))
    }
    async fn create(
        &self,
        _: Request<images::CreateImageRequest>,
    ) -> Answer<images::CreateImageResponse> {
        Err(unneeded("Images.Create"))
    }
    async fn update(
        &self,
        _: Request<images::UpdateImageRequest>,
    ) -> Answer<images::UpdateImageResponse> {
        Err(unneeded("Images.Update"))
    }
    async fn delete(&self, _: Request<images::DeleteImageRequest>) -> Answer<()> {
        Err(unneeded("Images.Delete"))
    }
}

#[tonic::async_trait]
impl content::content_server::Content for Svc {
    async fn info(&self, _: Request<content::InfoRequest>) -> Answer<content::InfoResponse> {
        Err(unneeded("Content.Info"))
    }
    async fn update(&self, _: Request<content::UpdateRequest>) -> Answer<content::UpdateResponse> {
        Err(unneeded("Content.Update"))
    }
    type ListStream = tokio_stream::Empty<Result<content::ListContentResponse, Status>>;
    async fn list(&self, _: Request<content::ListContentRequest>) -> Answer<Self::ListStream> {
        Err(unneeded("Content.List"))
    }
    async fn delete(&self, _: Request<content::DeleteContentRequest>) -> Answer<()> {
        Err(unneeded("Content.Delete"))
    }
    type ReadStream =
        tokio_stream::Iter<std::vec::IntoIter<Result<content::ReadContentResponse, Status>>>;
    async fn read(&self, r: Request<content::ReadContentRequest>) -> Answer<Self::ReadStream> {
        let digest = r.into_inner().digest;
        let s = self.enter("Content.Read", &digest)?;
        let data = s
            .blobs
            .get(&digest)
            .cloned()
            .ok_or_else(|| not_found("blob", &digest))?;
        ok(tokio_stream::iter(vec![Ok(content::ReadContentResponse {
            offset: 0,
            data,
        })]))
    }
    async fn status(&self, _: Request<content::StatusRequest>) -> Answer<content::StatusResponse> {
        Err(unneeded("Content.Status"))
    }
    async fn list_statuses(
        &self,
        _: Request<content::ListStatusesRequest>,
    ) -> Answer<content::ListStatusesResponse> {
        Err(unneeded("Content.ListStatuses"))
    }
    type WriteStream = tokio_stream::Empty<Result<content::WriteContentResponse, Status>>;
    async fn write(
        &self,
        _: Request<tonic::Streaming<content::WriteContentRequest>>,
    ) -> Answer<Self::WriteStream> {
        Err(unneeded("Content.Write"))
    }
    async fn abort(&self, _: Request<content::AbortRequest>) -> Answer<()> {
        Err(unneeded("Content.Abort"))
    }
}

//! The unix-socket channel and the namespace header, against an in-process gRPC server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Request, Response, Status};
use warren_proto::containerd::services::version::v1::version_server::{Version, VersionServer};
use warren_proto::containerd::services::version::v1::VersionResponse;
use warren_proto::grpc::health::v1::health_client::HealthClient;
use warren_proto::grpc::health::v1::health_server::{Health, HealthServer};
use warren_proto::grpc::health::v1::{HealthCheckRequest, HealthCheckResponse};
use warren_proto::namespace::LEASE_HEADER as LEASE;
use warren_proto::{connect, connect_lazy, Clients, Error, Namespace};

/// Answers Version with the namespace and lease headers it received, and Health with its
/// generation number in place of a status (to tell a restarted server from the first one).
#[derive(Clone)]
struct Echo {
    generation: i32,
}

#[tonic::async_trait]
impl Version for Echo {
    async fn version(&self, request: Request<()>) -> Result<Response<VersionResponse>, Status> {
        let header = |k| {
            request
                .metadata()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("<none>")
                .to_string()
        };
        Ok(Response::new(VersionResponse {
            version: header("containerd-namespace"),
            revision: header(LEASE),
        }))
    }
}

#[tonic::async_trait]
impl Health for Echo {
    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: self.generation,
        }))
    }

    type WatchStream = tokio_stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("not needed here"))
    }
}

/// An in-process gRPC server on a unix socket, running on its own runtime and thread so that
/// dropping it ends every connection abruptly, like a daemon that died. Removes its socket.
struct Server {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    path: PathBuf,
}

impl Server {
    fn start(path: &Path, generation: i32) -> Server {
        let listener = std::os::unix::net::UnixListener::bind(path).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            let _guard = runtime.enter();
            let listener = UnixListener::from_std(listener).expect("tokio listener");
            let echo = Echo { generation };
            runtime.spawn(
                tonic::transport::Server::builder()
                    .add_service(VersionServer::new(echo.clone()))
                    .add_service(HealthServer::new(echo))
                    .serve_with_incoming(UnixListenerStream::new(listener)),
            );
            // Serve until told to stop (or the test is gone), then drop every task.
            runtime.block_on(async {
                let _ = tokio::task::spawn_blocking(move || stopped.recv()).await;
            });
            runtime.shutdown_background();
        });
        Server {
            stop: Some(stop),
            thread: Some(thread),
            path: path.to_path_buf(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[tokio::test]
async fn namespace_and_lease_headers_are_sent() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("echo.sock");
    let _server = Server::start(&sock, 1);
    let channel = connect(&sock).await.expect("connect");
    let clients = Clients::new(channel, &Namespace::new("warren-test").unwrap());

    let reply = clients.version().version(()).await.unwrap().into_inner();
    assert_eq!(reply.version, "warren-test");
    assert_eq!(reply.revision, "<none>");

    let leased = clients.with_lease("lease-1").unwrap();
    let reply = leased.version().version(()).await.unwrap().into_inner();
    assert_eq!(
        (reply.version.as_str(), reply.revision.as_str()),
        ("warren-test", "lease-1")
    );
}

#[tokio::test]
async fn missing_socket_is_named() {
    let err = connect("/nonexistent/warren/containerd.sock")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoSocket { .. }));
    assert!(
        err.to_string()
            .contains("/nonexistent/warren/containerd.sock"),
        "{err}"
    );
}

#[tokio::test]
async fn dead_socket_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let err = connect(&sock).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert!(
        err.to_string().contains(&sock.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn lazy_channel_connects_once_the_server_appears() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("late.sock");
    let clients = Clients::new(connect_lazy(&sock), &Namespace::new("late").unwrap());
    assert!(
        clients.version().version(()).await.is_err(),
        "no server yet"
    );
    let _server = Server::start(&sock, 1);
    let reply = clients
        .version()
        .version(())
        .await
        .expect("server is up now");
    assert_eq!(reply.into_inner().version, "late");
}

#[tokio::test]
async fn too_long_socket_path_is_refused() {
    let long = format!("/tmp/{}/containerd.sock", "x".repeat(120));
    let err = connect(&long).await.unwrap_err();
    assert!(
        matches!(err, Error::SocketPathTooLong { len, max: 107, .. } if len == long.len()),
        "{err}"
    );
    assert!(err.to_string().contains(&long), "{err}");
}

#[tokio::test]
async fn lazy_call_errors_name_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("absent.sock");
    let status = HealthClient::new(connect_lazy(&sock))
        .check(HealthCheckRequest::default())
        .await
        .unwrap_err();
    let mut chain = format!("{status}");
    let mut source = std::error::Error::source(&status);
    while let Some(s) = source {
        chain.push_str(&format!(": {s}"));
        source = s.source();
    }
    assert!(chain.contains(&sock.display().to_string()), "{chain}");
}

/// Calls `Health/Check` until the server of `generation` answers, allowing the failures a
/// client sees while the daemon restarts.
async fn until_generation(client: &mut HealthClient<tonic::transport::Channel>, generation: i32) {
    for _ in 0..50 {
        match client.check(HealthCheckRequest::default()).await {
            Ok(r) if r.get_ref().status == generation => return,
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    panic!("the server of generation {generation} never answered");
}

#[tokio::test]
async fn channels_reconnect_after_a_daemon_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("restart.sock");
    let first = Server::start(&sock, 1);
    let mut eager = HealthClient::new(connect(&sock).await.expect("connect"));
    let mut lazy = HealthClient::new(connect_lazy(&sock));
    until_generation(&mut eager, 1).await;
    until_generation(&mut lazy, 1).await;

    // The daemon dies: every connection drops, the socket goes away.
    drop(first);
    assert!(eager.check(HealthCheckRequest::default()).await.is_err());
    assert!(lazy.check(HealthCheckRequest::default()).await.is_err());

    // It comes back on the same path: the very same channels reach it.
    let _second = Server::start(&sock, 2);
    until_generation(&mut eager, 2).await;
    until_generation(&mut lazy, 2).await;
}

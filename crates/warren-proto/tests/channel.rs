//! The unix-socket channel and the namespace header, against an in-process gRPC server.

use std::path::Path;

use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Request, Response, Status};
use warren_proto::containerd::services::version::v1::version_server::{Version, VersionServer};
use warren_proto::containerd::services::version::v1::VersionResponse;
use warren_proto::namespace::LEASE_HEADER as LEASE;
use warren_proto::{connect, connect_lazy, Clients, Error, Namespace};

/// Answers Version with the namespace and lease headers it received.
struct Echo;

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

fn serve(path: &Path) {
    let listener = UnixListener::bind(path).expect("bind");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(VersionServer::new(Echo))
            .serve_with_incoming(UnixListenerStream::new(listener)),
    );
}

#[tokio::test]
async fn namespace_and_lease_headers_are_sent() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("echo.sock");
    serve(&sock);
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
    serve(&sock);
    let reply = clients
        .version()
        .version(())
        .await
        .expect("server is up now");
    assert_eq!(reply.into_inner().version, "late");
}

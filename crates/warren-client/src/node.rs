//! [`Node`]: one cloneable handle on one node's warrend.

use std::path::Path;
use std::time::{Duration, SystemTime};

use futures::{Stream, StreamExt};
use tonic::transport::Channel;
use warren_proto::warren::node::v1 as api;
use warren_proto::warren::node::v1::node_client::NodeClient;

use crate::{ClientError, ErrorKind};

/// A stream of a call's items, ending with the first error.
pub type Items<T> = std::pin::Pin<Box<dyn Stream<Item = Result<T, ClientError>> + Send>>;

/// A handle on one node's warrend. Cheap to clone (clones share the connection) and
/// `Send + Sync`: keep one per node and clone it into every task.
#[derive(Clone, Debug)]
pub struct Node {
    grpc: NodeClient<Channel>,
}

fn items<T: Send + 'static>(s: tonic::Streaming<T>) -> Items<T> {
    Box::pin(s.map(|r| r.map_err(ClientError::from)))
}

fn connect_error(socket: &Path, e: &std::io::Error) -> ClientError {
    let shown = socket.display();
    let (kind, message) = match e.kind() {
        std::io::ErrorKind::NotFound => (
            ErrorKind::Unavailable,
            format!("no warrend socket at {shown}: is `warrend serve` running? (give --socket or WARREN_SOCKET if it listens elsewhere)"),
        ),
        std::io::ErrorKind::PermissionDenied => (
            ErrorKind::PermissionDenied,
            format!("permission denied on {shown}: the API socket is for root (and the group set in api.group / --socket-group)"),
        ),
        std::io::ErrorKind::ConnectionRefused => (
            ErrorKind::Unavailable,
            format!("nothing listens on {shown} (a warrend that stopped left it): start `warrend serve`"),
        ),
        _ => (ErrorKind::Unavailable, format!("cannot connect to {shown}: {e}")),
    };
    ClientError::Connect { message, kind }
}

impl Node {
    /// Connect to warrend's unix socket (e.g. `/run/warren/warrend.sock`). The error says
    /// why not in a person's terms: no socket, no permission, nobody listening.
    pub async fn connect(socket: impl AsRef<Path>) -> Result<Node, ClientError> {
        let socket = socket.as_ref();
        if let Err(e) = tokio::net::UnixStream::connect(socket).await {
            return Err(connect_error(socket, &e));
        }
        let channel = warren_proto::connect(socket)
            .await
            .map_err(|e| ClientError::Connect {
                message: e.to_string(),
                kind: ErrorKind::Unavailable,
            })?;
        Ok(Node::from_channel(channel))
    }

    /// A handle over a channel made elsewhere (another transport, an interceptor stack).
    pub fn from_channel(channel: Channel) -> Node {
        Node {
            grpc: NodeClient::new(channel)
                .max_decoding_message_size(MAX_ANSWER_SIZE)
                .max_encoding_message_size(warren_proto::MAX_MESSAGE_SIZE),
        }
    }

    /// The generated gRPC client, for what this handle does not offer (a request with its
    /// own metadata or deadline).
    pub fn grpc(&self) -> NodeClient<Channel> {
        self.grpc.clone()
    }

    /// The daemon and the node: versions, capacity, allocatable, name and labels.
    pub async fn info(&self) -> Result<api::InfoResponse, ClientError> {
        Ok(self.grpc().info(api::InfoRequest {}).await?.into_inner())
    }

    /// Pull an image; the stream gives per-layer progress, then the image.
    pub async fn pull(&self, req: api::PullRequest) -> Result<Items<api::PullEvent>, ClientError> {
        Ok(items(self.grpc().pull(req).await?.into_inner()))
    }

    /// Import an OCI layout or `docker save` archive lying on the node.
    pub async fn import(
        &self,
        path: impl Into<String>,
    ) -> Result<Vec<api::ImageInfo>, ClientError> {
        let req = api::ImportRequest { path: path.into() };
        Ok(self.grpc().import(req).await?.into_inner().images)
    }

    /// The node's images.
    pub async fn images(&self) -> Result<Vec<api::ImageInfo>, ClientError> {
        let req = api::ListImagesRequest {};
        Ok(self.grpc().list_images(req).await?.into_inner().images)
    }

    /// Remove an image by name.
    pub async fn remove_image(&self, reference: impl Into<String>) -> Result<(), ClientError> {
        let req = api::RemoveImageRequest {
            reference: reference.into(),
        };
        self.grpc().remove_image(req).await?;
        Ok(())
    }

    /// Create a container; answers its id. With an id in the spec this is idempotent: the
    /// same spec again answers the existing container, another spec `AlreadyExists`.
    pub async fn create(&self, spec: impl Into<api::ContainerSpec>) -> Result<String, ClientError> {
        let req = api::CreateRequest {
            spec: Some(spec.into()),
        };
        Ok(self.grpc().create(req).await?.into_inner().id)
    }

    /// Start a created or stopped container; answers its process's host pid.
    pub async fn start(&self, id: impl Into<String>) -> Result<u32, ClientError> {
        let req = api::ContainerRef { id: id.into() };
        Ok(self.grpc().start(req).await?.into_inner().pid)
    }

    /// Stop a container: its stop signal, then SIGKILL after `timeout` (`None`: warrend's
    /// default, 10 seconds; zero: SIGKILL at once).
    pub async fn stop(
        &self,
        id: impl Into<String>,
        timeout: Option<Duration>,
    ) -> Result<(), ClientError> {
        let req = api::StopRequest {
            id: id.into(),
            timeout: timeout.map(api_duration),
        };
        self.grpc().stop(req).await?;
        Ok(())
    }

    /// Delete a container; with `force`, a running one is killed first.
    pub async fn delete(&self, id: impl Into<String>, force: bool) -> Result<(), ClientError> {
        let req = api::DeleteRequest {
            id: id.into(),
            force,
        };
        self.grpc().delete(req).await?;
        Ok(())
    }

    /// Create and start; the stream gives the id, the pid and (with `attach`) the output and
    /// the exit.
    pub async fn run(&self, req: api::RunRequest) -> Result<Items<api::RunEvent>, ClientError> {
        Ok(items(self.grpc().run(req).await?.into_inner()))
    }

    /// An interactive session with a process in a container, as `run -it`, `exec -it`
    /// and `attach` need: `input`'s first message names the session (`run` a container,
    /// `exec` in one, or `attach` to a running one), the ones after it carry stdin, terminal
    /// resizes, the end of stdin or a detach. The answer gives (for `run`) the container's
    /// id, the output as it is written, then the exit or `detached`. A session warrend
    /// refuses fails here, before any output, so callers can tell "could not start" from
    /// the process's own failures.
    pub async fn attach(
        &self,
        input: impl Stream<Item = api::AttachInput> + Send + 'static,
    ) -> Result<Items<api::AttachOutput>, ClientError> {
        Ok(items(self.grpc().attach(input).await?.into_inner()))
    }

    /// Wait for a container's process to exit.
    pub async fn wait(&self, id: impl Into<String>) -> Result<api::Exit, ClientError> {
        let req = api::ContainerRef { id: id.into() };
        Ok(self.grpc().wait(req).await?.into_inner())
    }

    /// Containers (running ones; with `all`, every one) whose labels meet every
    /// requirement of `selector` (`key`, `key=value`, `key!=value`).
    pub async fn list(
        &self,
        all: bool,
        selector: &[&str],
    ) -> Result<Vec<api::ContainerSummary>, ClientError> {
        let req = api::ListRequest {
            all,
            label_selector: selector.iter().map(|s| s.to_string()).collect(),
        };
        Ok(self.grpc().list(req).await?.into_inner().containers)
    }

    /// Everything warrend knows about one container.
    pub async fn inspect(
        &self,
        id: impl Into<String>,
    ) -> Result<api::ContainerDetail, ClientError> {
        let req = api::ContainerRef { id: id.into() };
        Ok(self.grpc().inspect(req).await?.into_inner())
    }

    /// A container's output lines (with `follow`, until its process ends).
    pub async fn logs(&self, req: api::LogsRequest) -> Result<Items<api::LogLine>, ClientError> {
        Ok(items(self.grpc().logs(req).await?.into_inner()))
    }

    /// Run a command in a running container and collect its output.
    pub async fn exec(&self, req: api::ExecRequest) -> Result<api::ExecResponse, ClientError> {
        Ok(self.grpc().exec(req).await?.into_inner())
    }

    /// The node's events after `after` (from now on without it). A cursor that cannot be
    /// resumed from fails with [`ErrorKind::EventsMissed`]; [`Node::watch`] handles that
    /// and reconnects for you.
    pub async fn events(
        &self,
        after: Option<api::EventCursor>,
    ) -> Result<Items<api::Event>, ClientError> {
        let req = api::EventsRequest { after };
        Ok(items(self.grpc().events(req).await?.into_inner()))
    }

    /// CPU, memory and pids of a running container.
    pub async fn stats(&self, id: impl Into<String>) -> Result<api::Stats, ClientError> {
        let req = api::ContainerRef { id: id.into() };
        Ok(self.grpc().stats(req).await?.into_inner())
    }

    /// Send a signal (a name such as `TERM` or `RTMIN+3`, or a number; empty: SIGKILL).
    pub async fn kill(
        &self,
        id: impl Into<String>,
        signal: impl Into<String>,
    ) -> Result<(), ClientError> {
        let req = api::KillRequest {
            id: id.into(),
            signal: signal.into(),
        };
        self.grpc().kill(req).await?;
        Ok(())
    }

    /// Stop (if running) and start again, waiting `timeout` for the stop as [`Node::stop`]
    /// does; answers the new pid.
    pub async fn restart(
        &self,
        id: impl Into<String>,
        timeout: Option<Duration>,
    ) -> Result<u32, ClientError> {
        let req = api::RestartRequest {
            id: id.into(),
            timeout: timeout.map(api_duration),
        };
        Ok(self.grpc().restart(req).await?.into_inner().pid)
    }

    /// A running container's processes, with host pids.
    pub async fn top(&self, id: impl Into<String>) -> Result<Vec<api::Process>, ClientError> {
        let req = api::ContainerRef { id: id.into() };
        Ok(self.grpc().top(req).await?.into_inner().processes)
    }

    /// Remove stopped and created containers (created before `until`, if given).
    pub async fn prune_containers(
        &self,
        until: Option<SystemTime>,
    ) -> Result<api::PruneResponse, ClientError> {
        let req = api::PruneRequest {
            until: until.map(prost_types::Timestamp::from),
        };
        Ok(self.grpc().prune_containers(req).await?.into_inner())
    }

    /// Remove images no container uses (created before `until`, if given).
    pub async fn prune_images(
        &self,
        until: Option<SystemTime>,
    ) -> Result<api::PruneResponse, ClientError> {
        let req = api::PruneRequest {
            until: until.map(prost_types::Timestamp::from),
        };
        Ok(self.grpc().prune_images(req).await?.into_inner())
    }
}

/// The largest answer read: an `ExecResponse` carries up to 16 MiB of stdout and 16 MiB of
/// stderr (the node API's documented caps), plus room for its framing.
const MAX_ANSWER_SIZE: usize = 2 * (16 << 20) + (1 << 20);

/// `d` as the API writes durations; one too long for it (past 292 billion years) is the
/// longest it can say.
fn api_duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration::try_from(d).unwrap_or(prost_types::Duration {
        seconds: i64::MAX,
        nanos: 999_999_999,
    })
}

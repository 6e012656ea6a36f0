//! The node API (`warren.node.v1.Node`) over the unix socket. Each call is a thin layer over
//! warren-runtime; the handlers live in `images`, `containers`, `observe` and `everyday`.

mod attach;
mod containers;
mod everyday;
mod guard;
mod idempotent;
mod images;
mod observe;
mod selector;
#[cfg(test)]
mod turns_tests;

use std::pin::Pin;

use futures::Stream as FStream;
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::{ReceiverStream, UnixListenerStream};
use tonic::{Request, Response, Status};
use warren_proto::warren::node::v1 as api;
use warren_proto::warren::node::v1::node_server::{Node, NodeServer};

use super::{convert, errors, Daemon};

/// A server stream of `T`.
pub type Stream<T> = Pin<Box<dyn FStream<Item = Result<T, Status>> + Send + 'static>>;

fn stream<T: Send + 'static>(rx: mpsc::Receiver<Result<T, Status>>) -> Stream<T> {
    Box::pin(ReceiverStream::new(rx))
}

/// `s` with an `ErrorDetail` on every error it yields (see [`errors::with_detail`]).
fn detailed<T: Send + 'static>(s: Stream<T>) -> Stream<T> {
    use futures::StreamExt;
    Box::pin(s.map(|item| item.map_err(errors::with_detail)))
}

/// `s`, ended when warrend starts shutting down.
fn until_stopping<T: Send + 'static>(d: &Daemon, s: Stream<T>) -> Stream<T> {
    use futures::StreamExt;
    Box::pin(s.take_until(d.stopping.clone().cancelled_owned()))
}

fn log_line(l: &warren_runtime::LogLine) -> api::LogLine {
    api::LogLine {
        time: l.time.map(convert::timestamp),
        stream: match l.stream {
            warren_runtime::LogStream::Stdout => api::LogStream::Stdout,
            warren_runtime::LogStream::Stderr => api::LogStream::Stderr,
        }
        .into(),
        text: l.text.clone(),
    }
}

struct Api {
    d: Daemon,
}

type R<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Node for Api {
    type PullStream = Stream<api::PullEvent>;
    type RunStream = Stream<api::RunEvent>;
    type LogsStream = Stream<api::LogLine>;
    type EventsStream = Stream<api::Event>;
    type AttachStream = Stream<api::AttachOutput>;

    async fn attach(
        &self,
        r: Request<tonic::Streaming<api::AttachInput>>,
    ) -> R<Self::AttachStream> {
        guard::call(
            &self.d,
            "attach",
            None,
            attach::attach(&self.d, r.into_inner()),
        )
        .await
        .map(detailed)
        .map(Response::new)
    }

    async fn pull(&self, r: Request<api::PullRequest>) -> R<Self::PullStream> {
        guard::call(&self.d, "pull", None, images::pull(&self.d, r.into_inner()))
            .await
            .map(detailed)
            .map(Response::new)
    }
    async fn import(&self, r: Request<api::ImportRequest>) -> R<api::ImportResponse> {
        guard::call(
            &self.d,
            "import",
            None,
            images::import(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn list_images(&self, _: Request<api::ListImagesRequest>) -> R<api::ListImagesResponse> {
        guard::call(&self.d, "images", None, images::list(&self.d))
            .await
            .map(Response::new)
    }
    async fn remove_image(
        &self,
        r: Request<api::RemoveImageRequest>,
    ) -> R<api::RemoveImageResponse> {
        guard::call(
            &self.d,
            "remove",
            None,
            images::remove(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn create(&self, r: Request<api::CreateRequest>) -> R<api::CreateResponse> {
        let mut req = r.into_inner();
        let id = containers::name(req.spec.as_mut());
        guard::call(
            &self.d,
            "create",
            id.as_deref(),
            containers::create(&self.d, req),
        )
        .await
        .map(Response::new)
    }
    async fn start(&self, r: Request<api::ContainerRef>) -> R<api::StartResponse> {
        guard::call(
            &self.d,
            "start",
            None,
            containers::start(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn stop(&self, r: Request<api::StopRequest>) -> R<api::StopResponse> {
        guard::call(
            &self.d,
            "stop",
            None,
            containers::stop(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn delete(&self, r: Request<api::DeleteRequest>) -> R<api::DeleteResponse> {
        guard::call(
            &self.d,
            "delete",
            None,
            containers::delete(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn run(&self, r: Request<api::RunRequest>) -> R<Self::RunStream> {
        let mut req = r.into_inner();
        let id = containers::name(req.spec.as_mut());
        guard::call(&self.d, "run", id.as_deref(), containers::run(&self.d, req))
            .await
            .map(detailed)
            .map(Response::new)
    }
    async fn wait(&self, r: Request<api::ContainerRef>) -> R<api::Exit> {
        guard::call(
            &self.d,
            "wait",
            None,
            containers::wait(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn list(&self, r: Request<api::ListRequest>) -> R<api::ListResponse> {
        guard::call(
            &self.d,
            "list",
            None,
            containers::list(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn inspect(&self, r: Request<api::ContainerRef>) -> R<api::ContainerDetail> {
        guard::call(
            &self.d,
            "inspect",
            None,
            containers::inspect(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn logs(&self, r: Request<api::LogsRequest>) -> R<Self::LogsStream> {
        guard::call(
            &self.d,
            "logs",
            None,
            observe::logs(&self.d, r.into_inner()),
        )
        .await
        .map(detailed)
        .map(Response::new)
    }
    async fn exec(&self, r: Request<api::ExecRequest>) -> R<api::ExecResponse> {
        guard::call(
            &self.d,
            "exec",
            None,
            observe::exec(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn events(&self, r: Request<api::EventsRequest>) -> R<Self::EventsStream> {
        let s = observe::events(&self.d, r.into_inner())
            .await
            .map_err(|e| e.into_status(&self.d))?;
        Ok(Response::new(detailed(until_stopping(&self.d, s))))
    }
    async fn stats(&self, r: Request<api::ContainerRef>) -> R<api::Stats> {
        guard::call(
            &self.d,
            "stats",
            None,
            observe::stats(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn info(&self, _: Request<api::InfoRequest>) -> R<api::InfoResponse> {
        observe::info(&self.d)
            .await
            .map(Response::new)
            .map_err(|e| e.into_status(&self.d))
    }
    async fn kill(&self, r: Request<api::KillRequest>) -> R<api::KillResponse> {
        guard::call(
            &self.d,
            "kill",
            None,
            everyday::kill(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn restart(&self, r: Request<api::RestartRequest>) -> R<api::StartResponse> {
        guard::call(
            &self.d,
            "restart",
            None,
            everyday::restart(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn top(&self, r: Request<api::ContainerRef>) -> R<api::TopResponse> {
        guard::call(&self.d, "top", None, everyday::top(&self.d, r.into_inner()))
            .await
            .map(Response::new)
    }
    async fn prune_containers(&self, r: Request<api::PruneRequest>) -> R<api::PruneResponse> {
        guard::call(
            &self.d,
            "prune containers",
            None,
            everyday::prune_containers(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
    async fn prune_images(&self, r: Request<api::PruneRequest>) -> R<api::PruneResponse> {
        guard::call(
            &self.d,
            "prune images",
            None,
            everyday::prune_images(&self.d, r.into_inner()),
        )
        .await
        .map(Response::new)
    }
}

/// Serve the API on `listener` until `stop` fires; calls in flight may finish.
pub async fn serve(
    d: Daemon,
    listener: UnixListener,
    stop: oneshot::Receiver<()>,
) -> anyhow::Result<()> {
    tonic::transport::Server::builder()
        .add_service(NodeServer::new(Api { d }))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), async {
            let _ = stop.await;
        })
        .await?;
    Ok(())
}

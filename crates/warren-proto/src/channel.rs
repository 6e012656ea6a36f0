//! A tonic channel over containerd's unix socket.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};
use tower::service_fn;

use crate::Error;

/// The largest message either side may send: containerd's server default (16 MiB) and what
/// its Go client uses. tonic's own default (4 MiB) is too small for large `List` replies.
pub const MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// containerd ignores `:authority`; tonic needs some URI to build requests against.
fn endpoint() -> Endpoint {
    Endpoint::from_static("http://containerd.invalid")
        .connect_timeout(CONNECT_TIMEOUT)
        // Keep-alive pings notice a daemon that died or hung under an idle connection.
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(20))
        .keep_alive_while_idle(true)
        .tcp_nodelay(true)
}

fn connector(
    path: PathBuf,
) -> impl tower::Service<
    Uri,
    Response = TokioIo<UnixStream>,
    Error = std::io::Error,
    Future = impl Send + 'static,
> + Clone
       + Send
       + 'static {
    service_fn(move |_: Uri| {
        let path = path.clone();
        async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
    })
}

/// Connect to the containerd gRPC socket at `path` now, so that a missing or dead daemon is
/// reported at once. The channel reconnects by itself if the daemon restarts later.
pub async fn connect(path: impl AsRef<Path>) -> Result<Channel, Error> {
    let path = path.as_ref().to_path_buf();
    if !path.exists() {
        return Err(Error::NoSocket { path });
    }
    endpoint()
        .connect_with_connector(connector(path.clone()))
        .await
        .map_err(|source| Error::Connect { path, source })
}

/// A channel to `path` that connects on first use (and again after any failure): for
/// long-lived handles that must survive the daemon being down when they are created.
pub fn connect_lazy(path: impl AsRef<Path>) -> Channel {
    endpoint().connect_with_connector_lazy(connector(path.as_ref().to_path_buf()))
}

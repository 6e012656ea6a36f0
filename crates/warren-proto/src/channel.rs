//! A tonic channel over containerd's unix socket.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};
use tower::service_fn;

use crate::Error;

/// The largest message either side may send: containerd's server default (16 MiB) and what
/// its Go client uses. tonic's own default (4 MiB) is too small for large `List` replies.
pub const MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// The longest unix socket path the kernel accepts (`sun_path` is 108 bytes, NUL included).
pub const MAX_SOCKET_PATH_LEN: usize = 107;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The keep-alive ping interval: longer than the shortest interval containerd's gRPC server
/// tolerates. containerd (1.6, 1.7 and 2.x alike) builds its server without a keep-alive
/// enforcement policy, so grpc-go's defaults apply: a ping that comes less than 5 minutes
/// (`MinTime`) after the previous one, or any ping on a connection with no open stream
/// within 2 hours of the last, is a "strike"; after 3 strikes the server sends GOAWAY
/// (`too_many_pings`) and closes the connection, killing every stream on it. Pings every
/// 10 s therefore tore the connection down after about 40 s. hyper sends a ping only after
/// this long without reading anything, so pings are always at least this far apart.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(330);
/// How long a ping may go unanswered before the connection counts as dead.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// containerd ignores `:authority`; tonic needs some URI to build requests against.
///
/// Keep-alive pings are sent only while a call is open (a stream or a pending `Tasks.Wait`),
/// never on an idle connection (grpc-go counts those as strikes too). A daemon that dies
/// closes the unix socket, which every call notices at once; the pings are for one that
/// hangs under a long call, noticed within about 6 minutes (a supervised daemon is
/// health-checked far sooner).
fn endpoint() -> Endpoint {
    Endpoint::from_static("http://containerd.invalid")
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(false)
}

/// How many connections a channel has opened to the daemon: 1 for a channel that never
/// lost its connection, one more for every reconnect. Cheap to clone; clones share the count.
#[derive(Clone, Debug, Default)]
pub struct ConnectionCounter(Arc<AtomicU64>);

impl ConnectionCounter {
    /// Connections opened so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Opens a new connection to `path` each time tonic asks for one (first use and every
/// reconnect). I/O errors name the socket, so failed calls on a lazy channel say where they
/// tried to go.
fn connector(
    path: PathBuf,
    counter: ConnectionCounter,
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
        let counter = counter.clone();
        async move {
            match UnixStream::connect(&path).await {
                Ok(stream) => {
                    let n = counter.0.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::debug!(socket = %path.display(), connection = n, "connected to containerd");
                    Ok(TokioIo::new(stream))
                }
                Err(e) => Err(std::io::Error::new(
                    e.kind(),
                    format!("containerd socket {}: {e}", path.display()),
                )),
            }
        }
    })
}

fn check_length(path: &Path) -> Result<(), Error> {
    let len = path.as_os_str().as_bytes().len();
    if len > MAX_SOCKET_PATH_LEN {
        return Err(Error::SocketPathTooLong {
            path: path.to_path_buf(),
            len,
            max: MAX_SOCKET_PATH_LEN,
        });
    }
    Ok(())
}

/// Connect to the containerd gRPC socket at `path` now, so that a missing or dead daemon is
/// reported at once (within 5 s at worst). The channel reconnects by itself when a later call
/// finds the connection broken, e.g. after the daemon restarted.
///
/// The channel is cheap to clone; clones share the connection. Wrap it in
/// [`Clients`](crate::Clients) to get clients with a namespace and containerd's 16 MiB limits.
pub async fn connect(path: impl AsRef<Path>) -> Result<Channel, Error> {
    let path = path.as_ref().to_path_buf();
    check_length(&path)?;
    if let Err(e) = tokio::fs::symlink_metadata(&path).await {
        if e.kind() == std::io::ErrorKind::NotFound {
            return Err(Error::NoSocket { path });
        }
    }
    endpoint()
        .connect_with_connector(connector(path.clone(), ConnectionCounter::default()))
        .await
        .map_err(|source| Error::Connect { path, source })
}

/// A channel to `path` that connects on first use, and again on the next call after any
/// failure: for long-lived handles that must survive the daemon being down when they are
/// created or restarting later. Calls made while the daemon is unreachable fail with
/// UNAVAILABLE (or UNKNOWN for a connection that broke mid-call) naming the socket path;
/// retrying idempotent calls is the caller's choice.
///
/// A path longer than [`MAX_SOCKET_PATH_LEN`] can never connect; this is logged here and
/// every call reports it.
pub fn connect_lazy(path: impl AsRef<Path>) -> Channel {
    connect_lazy_counted(path, ConnectionCounter::default())
}

/// [`connect_lazy`], counting the connections the channel opens in `counter` (to tell a
/// connection that stayed up from one that broke and was made again).
pub fn connect_lazy_counted(path: impl AsRef<Path>, counter: ConnectionCounter) -> Channel {
    let path = path.as_ref().to_path_buf();
    if let Err(e) = check_length(&path) {
        tracing::warn!("{e}");
    }
    endpoint().connect_with_connector_lazy(connector(path, counter))
}

//! File work that may block (fsync, mkdir on a slow disk) runs off the async runtime.

use crate::Error;

/// Run `f` on tokio's blocking pool.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(Error::io(
            "file work on the blocking pool",
            "",
            std::io::Error::other(e),
        ))
    })
}

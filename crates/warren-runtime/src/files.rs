//! File work the async runtime must not block on, and the private directories containers
//! and their networks keep their files in. A leaf: containers and networking both use it.

use std::io;
use std::path::{Path, PathBuf};

use crate::RuntimeError;

/// Create a container's directory (and its parents) if missing and make it root's alone
/// (0700): its logs hold whatever the container printed. Blocking.
pub(crate) fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Run blocking file work off the async runtime, mapping errors to [`RuntimeError::Io`].
pub(crate) async fn blocking<T: Send + 'static>(
    op: &'static str,
    path: PathBuf,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T, RuntimeError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(RuntimeError::Io { op, path, source }),
        Err(source) => Err(RuntimeError::Task { op, source }),
    }
}

//! An exclusive lock on the state dir: two supervisors on one daemon fail fast instead of
//! fighting over its socket and database.

use std::fs::File;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::Error;

/// Held for as long as the supervisor lives; released by the kernel if we die.
#[derive(Debug)]
pub(crate) struct StateLock {
    _lock: Flock<File>,
}

/// Take the lock at `path` without waiting.
pub(crate) fn acquire(path: &Path) -> Result<StateLock, Error> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("opening lock file", path, e))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(StateLock { _lock: lock }),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err(Error::Locked {
            path: path.to_path_buf(),
        }),
        Err((_, e)) => Err(Error::io("locking", path, e.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_fast() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = acquire(&path).unwrap();
        assert!(matches!(acquire(&path), Err(Error::Locked { .. })));
        drop(first);
        acquire(&path).unwrap();
    }
}

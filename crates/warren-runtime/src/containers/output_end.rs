//! The exact end of a container's output, for `attach`, an attached run and `logs -f`.
//!
//! The shim keeps the write ends of the pipes it hands the logger until the task is
//! deleted, so the logger sees no end of file when the container's process exits. It does
//! not need one: once containerd reports the exit, every process of the container has
//! exited (the kernel ends a PID namespace's other processes before its init's exit is
//! reported; without a namespace of its own the shim kills them all first), so what they
//! wrote is in the pipes. A client that saw the exit says so to the logger
//! ([`frame::EXITED`]); the logger reads the pipes until they are empty, logs and sends what
//! was there, answers every client [`frame::ENDED`] and closes their connections. No quiet
//! period is waited for, and nothing written before the exit is cut.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::logger::attach::{short_path, SOCKET};
use crate::logger::frame;

/// The pid of the logger that writes the log in container folder `dir`, as it wrote it in
/// its lock file; `None` if no logger wrote one (none started yet, or an old one).
pub(crate) async fn logger_pid(dir: &Path) -> Option<u32> {
    let text = tokio::fs::read_to_string(dir.join(crate::logger::LOCK_FILE))
        .await
        .ok()?;
    text.trim().parse().ok()
}

/// Tell the logger in container folder `dir` that the container's process has exited, and
/// wait until it answered: then the log file holds everything the container wrote, and
/// every attached client has been sent all of it. `logger` names the logger meant (an
/// earlier task's claim must not end the next task's output); `None` means whichever
/// logger answers.
///
/// Returns at once when no logger listens (it ended with its pipes: the task was deleted).
/// A logger that is not the one named closes the connection unanswered: the one named is
/// gone, so its output is complete too.
pub(crate) async fn claim_exit(dir: &Path, logger: Option<u32>) {
    let Ok((_dir_fd, path)) = short_path(dir, SOCKET) else {
        return;
    };
    let Ok(mut stream) = tokio::net::UnixStream::connect(&path).await else {
        return;
    };
    let pid = match logger {
        Some(pid) => pid,
        None => match stream.peer_cred().ok().and_then(|c| c.pid()) {
            Some(pid) => pid as u32,
            None => return,
        },
    };
    let mut claim = Vec::with_capacity(9);
    frame::encode(frame::EXITED, &pid.to_be_bytes(), &mut claim);
    if stream.write_all(&claim).await.is_err() {
        return;
    }
    // The logger sends this connection the output too, until its answer: read and drop it
    // (not reading would hold the container's output back).
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

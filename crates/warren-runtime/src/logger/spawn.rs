//! Starting a logger from the runtime, for the one case the shim cannot start it: a stdin
//! without a terminal (containerd's shim connects no stdin to a task whose output goes to a
//! `binary://` logger). The logger then reads the FIFOs the shim writes, in a session of its
//! own, so it lives on when this process ends, exactly like one the shim starts.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use super::Spec;

/// Start `binary logger <spec>` detached and wait until it is ready (its FIFOs and attach
/// socket are open). Returns its pid.
pub(crate) async fn spawn(binary: &Path, spec: &Spec) -> std::io::Result<u32> {
    let (ready_r, ready_w): (OwnedFd, OwnedFd) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
    let mut cmd = tokio::process::Command::new(binary);
    cmd.arg("logger")
        .arg(spec.to_arg())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let w = ready_w.as_raw_fd();
    // SAFETY: between fork and exec only async-signal-safe calls are made (setsid, dup2),
    // on descriptors this process owns; nothing is allocated.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::dup2(w, 5) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    drop(ready_w);
    // Dropped, not awaited: tokio reaps it if it ends while this process runs; otherwise
    // init does.
    drop(child);
    let ready = tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::from(ready_r);
        let mut byte = [0u8; 1];
        file.read(&mut byte)
    });
    match tokio::time::timeout(Duration::from_secs(10), ready).await {
        Ok(Ok(Ok(_))) => Ok(pid),
        Ok(Ok(Err(e))) => Err(e),
        _ => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            Err(std::io::Error::other(
                "the logger did not get ready within 10 s",
            ))
        }
    }
}

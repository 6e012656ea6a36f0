//! pidfds: a handle on one process that a reused pid can never alias.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use nix::sys::signal::Signal;
use tokio::io::unix::AsyncFd;

use crate::Error;

/// Open a pidfd for `pid` and register it with tokio (it turns readable when `pid` exits).
pub(crate) fn open(pid: i32) -> Result<AsyncFd<Arc<OwnedFd>>, Error> {
    // SAFETY: pidfd_open takes plain integers; a non-negative result is a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(Error::io(
            "pidfd_open",
            format!("/proc/{pid}"),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: `fd` was just returned by pidfd_open and is owned by nobody else.
    let owned = Arc::new(unsafe { OwnedFd::from_raw_fd(fd as i32) });
    // SAFETY: the AsyncFd owns the only registration of this fd, which stays open (the Arc
    // keeps it) for as long as the AsyncFd exists.
    unsafe { AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE) }
        .map_err(|e| Error::io("watching pidfd", format!("/proc/{pid}"), e.into()))
}

/// `pidfd_send_signal`: signal exactly the process the pidfd was opened for.
pub(crate) fn send_signal(pidfd: &OwnedFd, signal: Signal) -> std::io::Result<()> {
    // SAFETY: plain integers and a null siginfo, as the man page allows.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

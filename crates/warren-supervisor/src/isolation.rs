//! How the daemon's process is set apart from ours: its own session, no descriptors or
//! systemd protocol variables of ours, and (managed) death with our process.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// True for variables that must not reach containerd: systemd's notify, socket-activation
/// and watchdog protocols would make it talk to *our* service manager as if it were the
/// service.
pub(crate) fn scrubbed(key: &OsStr) -> bool {
    let key = key.as_encoded_bytes();
    key == b"NOTIFY_SOCKET" || key.starts_with(b"LISTEN_") || key.starts_with(b"WATCHDOG_")
}

/// Remove what must not be inherited from `cmd`'s environment.
pub(crate) fn scrub_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os().filter(|(k, _)| scrubbed(k)) {
        cmd.env_remove(key);
    }
}

/// Run the child in a session of its own (so no terminal or process-group signal of ours
/// reaches it), with our descriptors closed at exec; `die_with_us` adds `PR_SET_PDEATHSIG`.
pub(crate) fn set_apart(cmd: &mut Command, die_with_us: bool) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls; it allocates nothing and touches no parent state.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            close_inherited_fds_on_exec();
            if die_with_us {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // We may have died between fork and prctl: then no signal will come.
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
            }
            Ok(())
        });
    }
}

/// Mark every descriptor above stderr close-on-exec, in the forked child. Whatever our
/// process holds without that flag (systemd's socket-activation fds, a build jobserver's
/// pipe, a caller's files) must not live on in containerd, let alone in the shims it starts,
/// which outlive everything. std's own exec-error pipe is already close-on-exec, so it keeps
/// working. Only async-signal-safe system calls.
fn close_inherited_fds_on_exec() {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: plain integers; close_range (Linux 5.11+) only changes descriptor flags here.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if rc == 0 {
        return;
    }
    // Older kernels: one fcntl per possible descriptor.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur.min(1 << 20) as libc::c_int
    } else {
        4096
    };
    for fd in 3..max {
        // SAFETY: F_SETFD on a descriptor that may not exist just fails with EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_systemd_protocol_variables() {
        for k in ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "WATCHDOG_USEC"] {
            assert!(scrubbed(OsStr::new(k)), "{k}");
        }
        for k in ["PATH", "HOME", "XLISTEN_FDS"] {
            assert!(!scrubbed(OsStr::new(k)), "{k}");
        }
    }
}

//! The logger process that containerd's shim starts for a container (its `binary://`
//! log URI): it reads the container's stdout and stderr from the pipes the shim hands it
//! (fds 3 and 4), writes them as CRI records to the container's log file, and signals that
//! it is ready by closing fd 5. It runs until both pipes are closed: the shim starts it with
//! the task and keeps it, so the container's output never depends on warrend or any other
//! client being alive.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::attach::Taps;
use super::cri::{self, Encoder};
use super::file::LogFile;
use super::frame;
use super::Spec;

/// The shim's file descriptors: stdout and stderr read ends, and the ready pipe.
const STDOUT_FD: RawFd = 3;
const STDERR_FD: RawFd = 4;
const READY_FD: RawFd = 5;

/// The lock file a logger holds while it writes a container's log: a new logger (the
/// container started again) waits for the last one to finish.
pub const LOCK_FILE: &str = "logger.lock";

/// `fd` as an owned file if it is open.
fn take_fd(fd: RawFd) -> Option<OwnedFd> {
    // SAFETY: F_GETFD only asks whether `fd` is open; it changes nothing.
    let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0;
    // SAFETY: the shim hands these descriptors to this process, which owns them from here
    // on; nothing else in this process uses them.
    open.then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Hold the container's logger lock, waiting (at most 10 s) for an earlier logger of the
/// same container to finish writing. `None` if it could not be had: the logger writes
/// anyway (losing order beats losing output).
fn lock(dir: &Path) -> io::Result<Option<Flock<File>>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(dir.join(LOCK_FILE))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => return Ok(Some(locked)),
            Err((f, _)) if Instant::now() < deadline => {
                file = f;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => return Ok(None),
        }
    }
}

/// Run the logger for `spec` until the container's output ends.
pub fn run(spec: &Spec) -> io::Result<()> {
    // The shim asks the logger to stop when the task is deleted, after it closed its own
    // ends of the pipes: what is still in them is read to the end first.
    // SAFETY: ignoring a signal changes no memory; it only sets this process's disposition.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let dir = spec
        .path
        .parent()
        .ok_or_else(|| io::Error::other("the log path has no folder"))?;
    let _lock = lock(dir)?;
    let mut log = LogFile::open(spec.path.clone(), spec.max_bytes, spec.max_files)?;
    let mut streams: Vec<(File, Encoder, u8)> = if spec.fifos {
        // Started by the runtime: the output comes through the container's FIFOs, which the
        // shim writes (and closes at the process's exit).
        let open = |name: &str| -> io::Result<File> {
            let (_dir_fd, path) = super::attach::short_path(dir, name)?;
            Ok(File::from(nix::fcntl::open(
                path.as_str(),
                nix::fcntl::OFlag::O_RDONLY
                    | nix::fcntl::OFlag::O_NONBLOCK
                    | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )?))
        };
        vec![
            (
                open(super::attach::STDOUT_FIFO)?,
                Encoder::new("stdout"),
                frame::STDOUT,
            ),
            (
                open(super::attach::STDERR_FIFO)?,
                Encoder::new("stderr"),
                frame::STDERR,
            ),
        ]
    } else {
        [
            (STDOUT_FD, "stdout", frame::STDOUT),
            (STDERR_FD, "stderr", frame::STDERR),
        ]
        .into_iter()
        .filter_map(|(fd, name, kind)| {
            take_fd(fd).map(|f| (File::from(f), Encoder::new(name), kind))
        })
        .collect()
    };
    // Containerd that attach get the output as it is read; without the socket the logger
    // still logs (a client then cannot attach).
    let mut taps = match Taps::bind(dir, spec.stdin) {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!(
                "warren logger {}: no attach socket: {e}",
                spec.path.display()
            );
            None
        }
    };
    // Ready: the shim (or the runtime) goes on once this is closed.
    drop(take_fd(READY_FD));
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(128 * 1024);
    while !streams.is_empty() {
        // The container's pipes are read only while every client has taken its output.
        let read_pipes = taps.as_ref().is_none_or(Taps::drained);
        let (ready_pipes, ready_taps) = {
            let mut fds: Vec<PollFd<'_>> = Vec::new();
            if read_pipes {
                fds.extend(
                    streams
                        .iter()
                        .map(|(f, _, _)| PollFd::new(f.as_fd(), PollFlags::POLLIN)),
                );
            }
            let pipes = fds.len();
            if let Some(t) = &taps {
                fds.extend(t.interest().into_iter().map(|(fd, f)| PollFd::new(fd, f)));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let ready: Vec<bool> = fds
                .iter()
                .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            let (a, b) = ready.split_at(pipes);
            (a.to_vec(), b.to_vec())
        };
        if let Some(t) = taps.as_mut() {
            t.handle(&ready_taps);
        }
        let mut ended = Vec::new();
        for (i, (file, enc, kind)) in streams.iter_mut().enumerate() {
            if !ready_pipes.get(i).copied().unwrap_or(false) {
                continue;
            }
            let n = match file.read(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if e.kind() == io::ErrorKind::Interrupted
                        || e.kind() == io::ErrorKind::WouldBlock =>
                {
                    continue
                }
                Err(_) => 0,
            };
            let time = cri::now();
            out.clear();
            if n == 0 {
                enc.finish(&time, &mut out);
                ended.push(i);
            } else {
                enc.feed(&buf[..n], &time, &mut out);
                if spec.tty {
                    enc.flush_partial(&time, &mut out);
                }
                if let Some(t) = taps.as_mut() {
                    t.broadcast(*kind, &buf[..n]);
                }
            }
            if !out.is_empty() {
                log.write_records(&out)?;
            }
        }
        for i in ended.into_iter().rev() {
            streams.remove(i);
        }
    }
    if let Some(t) = taps {
        t.finish();
    }
    Ok(())
}

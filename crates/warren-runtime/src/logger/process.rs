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
pub(crate) const LOCK_FILE: &str = "logger.lock";

/// `fd` as an owned file if it is open.
fn take_fd(fd: RawFd) -> Option<OwnedFd> {
    // SAFETY: F_GETFD only asks whether `fd` is open; it changes nothing.
    let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0;
    // SAFETY: the shim hands these descriptors to this process, which owns them from here
    // on; nothing else in this process uses them.
    open.then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Hold the container's logger lock, waiting (at most 10 s) for an earlier logger of the
/// same container to finish writing, and write this process's pid in it (clients name the
/// logger they mean by its pid, see [`frame::EXITED`]). `None` if it could not be had: the
/// logger writes anyway (losing order beats losing output).
fn lock(dir: &Path) -> io::Result<Option<Flock<File>>> {
    use std::io::Write;
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
            Ok(mut locked) => {
                // Best effort: without it a follower names no logger and asks whichever
                // one answers.
                let _ = locked
                    .set_len(0)
                    .and_then(|()| write!(locked, "{}", std::process::id()));
                return Ok(Some(locked));
            }
            Err((f, _)) if Instant::now() < deadline => {
                file = f;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => return Ok(None),
        }
    }
}

/// One output stream the logger reads.
struct Pipe {
    file: File,
    enc: Encoder,
    kind: u8,
    /// Its end of file comes when the container's output ends (FIFOs the shim closes after
    /// copying; the shim's terminal copy). Otherwise (the pipes the shim hands over, whose
    /// write ends it keeps until the task is deleted) the output has ended once the
    /// process has exited and the pipe is empty: every other writer was in the container
    /// and is gone by then.
    eof_is_end: bool,
}

/// The streams of `spec`: the FIFOs beside the log, or the pipes the shim handed over.
fn pipes(spec: &Spec, dir: &Path) -> io::Result<Vec<Pipe>> {
    let nonblocking = |fd: OwnedFd| -> io::Result<File> {
        let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFL)?;
        let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(flags))?;
        Ok(File::from(fd))
    };
    if spec.fifos {
        // Started by the runtime: the output comes through the container's FIFOs, which the
        // shim writes (and closes once the process's output has ended).
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
        return Ok(vec![
            Pipe {
                file: open(super::attach::STDOUT_FIFO)?,
                enc: Encoder::new("stdout"),
                kind: frame::STDOUT,
                eof_is_end: true,
            },
            Pipe {
                file: open(super::attach::STDERR_FIFO)?,
                enc: Encoder::new("stderr"),
                kind: frame::STDERR,
                eof_is_end: true,
            },
        ]);
    }
    // With a terminal the shim copies the terminal into the stdout pipe and closes it when
    // the terminal closes; the stderr pipe is never written.
    [
        (STDOUT_FD, "stdout", frame::STDOUT, spec.tty),
        (STDERR_FD, "stderr", frame::STDERR, false),
    ]
    .into_iter()
    .filter_map(|(fd, name, kind, eof_is_end)| take_fd(fd).map(|f| (f, name, kind, eof_is_end)))
    .map(|(fd, name, kind, eof_is_end)| {
        Ok(Pipe {
            file: nonblocking(fd)?,
            enc: Encoder::new(name),
            kind,
            eof_is_end,
        })
    })
    .collect()
}

/// Run the logger for `spec` until the container's output ends.
pub(super) fn run(spec: &Spec) -> io::Result<()> {
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
    // Never fails: a log that cannot be written drops records and tries again.
    let mut log = LogFile::open(spec.path.clone(), spec.max_bytes, spec.max_files);
    let mut streams = pipes(spec, dir)?;
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
        // A claimed exit is answered once the pipes that stay open are empty: look without
        // waiting. Streams whose end of file is the end are waited for as usual.
        let answer_exit = read_pipes
            && taps.as_ref().is_some_and(Taps::exit_claimed)
            && streams.iter().all(|p| !p.eof_is_end);
        let (ready_pipes, ready_taps) = {
            let mut fds: Vec<PollFd<'_>> = Vec::new();
            if read_pipes {
                fds.extend(
                    streams
                        .iter()
                        .map(|p| PollFd::new(p.file.as_fd(), PollFlags::POLLIN)),
                );
            }
            let pipes = fds.len();
            if let Some(t) = &taps {
                fds.extend(t.interest().into_iter().map(|(fd, f)| PollFd::new(fd, f)));
            }
            let timeout = if answer_exit {
                PollTimeout::ZERO
            } else {
                PollTimeout::NONE
            };
            match poll(&mut fds, timeout) {
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
        if answer_exit && !ready_pipes.iter().any(|r| *r) {
            // Empty, and every writer but the shim gone: all the output is logged and
            // queued for the clients.
            if let Some(t) = taps.as_mut() {
                t.end_all();
            }
        }
        let mut ended = Vec::new();
        for (i, p) in streams.iter_mut().enumerate() {
            if !ready_pipes.get(i).copied().unwrap_or(false) {
                continue;
            }
            let n = match p.file.read(&mut buf) {
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
                p.enc.finish(&time, &mut out);
                ended.push(i);
            } else {
                p.enc.feed(&buf[..n], &time, &mut out);
                if spec.tty {
                    p.enc.flush_partial(&time, &mut out);
                }
                if let Some(t) = taps.as_mut() {
                    t.broadcast(p.kind, &buf[..n]);
                }
            }
            if !out.is_empty() {
                log.write_records(&out);
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

//! The logger's attach socket: clients (`attach`, `run -it`) connect to receive the
//! container's output as it is read, and to send bytes to its stdin.
//!
//! Backpressure is end to end: while any client still has output queued, the logger stops
//! reading the container's pipes, so a client that stops reading slows the container's
//! writes (as `docker attach` does) and nothing piles up in memory; a client that goes away
//! releases the container at once. Stdin bytes wait until the container's stdin FIFO takes
//! them, and the client is not read meanwhile.
//!
//! The socket lives in the container's folder (root's alone). It is bound and connected
//! through `/proc/self/fd/<folder>/attach.sock`, so its path never hits the 108-byte limit of
//! unix socket addresses, however deep the state folder is.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use super::frame::{self, Decoder};

/// The attach socket's name in the container's folder.
pub(crate) const SOCKET: &str = "attach.sock";
/// The stdin FIFO's name in the container's folder (containers with stdin only).
pub(crate) const STDIN_FIFO: &str = "init-stdin";
/// The stdout FIFO a logger the runtime starts reads (stdin without a terminal).
pub(crate) const STDOUT_FIFO: &str = "init-stdout";
/// The stderr FIFO a logger the runtime starts reads.
pub(crate) const STDERR_FIFO: &str = "init-stderr";

/// The most output queued for one client before the logger stops reading the container.
const QUEUE: usize = 256 * 1024;

/// `<dir>/<name>` as a short path through an `O_PATH` handle of `dir` (kept in the result).
pub(crate) fn short_path(dir: &Path, name: &str) -> io::Result<(OwnedFd, String)> {
    let fd = open(
        dir,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let path = format!("/proc/self/fd/{}/{name}", fd.as_raw_fd());
    Ok((fd, path))
}

/// One attached client.
struct Client {
    stream: UnixStream,
    /// Output frames not written yet.
    out: Vec<u8>,
    /// Stdin bytes the FIFO has not taken yet.
    stdin: Vec<u8>,
    frames: Decoder,
    /// It sent everything it will (it shut down its side): output still goes to it.
    done_sending: bool,
    gone: bool,
    /// The output has ended: the connection closes once `out` is written.
    closing: bool,
}

impl Client {
    /// Queue the end of output; the connection closes once it is written.
    fn end(&mut self) {
        if !self.closing {
            frame::encode(frame::ENDED, &[], &mut self.out);
            self.closing = true;
        }
    }
}

/// The listening socket and the attached clients.
pub(crate) struct Taps {
    listener: UnixListener,
    clients: Vec<Client>,
    stdin: Option<File>,
    /// A client asked to close stdin: done once its earlier bytes are in the FIFO.
    close_stdin: bool,
    /// A client said the container's process exited; not answered yet.
    exit_claimed: bool,
    /// The output has ended ([`end_all`](Self::end_all)): clients that connect from now on
    /// are told so at once.
    ended: bool,
}

impl Taps {
    /// Listen in `dir`, replacing a socket left by an earlier run; hold the stdin FIFO
    /// (when the container has one) open for writing, so the container's stdin stays open
    /// between clients until the runtime closes it.
    pub(crate) fn bind(dir: &Path, stdin: bool) -> io::Result<Taps> {
        let (_dir_fd, path) = short_path(dir, SOCKET)?;
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        listener.set_nonblocking(true)?;
        let stdin = if stdin {
            // Read-write: opening a FIFO that way never waits for the other end.
            let (_dir_fd, fifo) = short_path(dir, STDIN_FIFO)?;
            Some(File::from(open(
                fifo.as_str(),
                OFlag::O_RDWR | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?))
        } else {
            None
        };
        Ok(Taps {
            listener,
            clients: Vec::new(),
            stdin,
            close_stdin: false,
            exit_claimed: false,
            ended: false,
        })
    }

    /// A client said the container's process has exited, and it has not been answered yet.
    pub(crate) fn exit_claimed(&self) -> bool {
        self.exit_claimed
    }

    /// The container's output has ended: every client gets [`frame::ENDED`] after what is
    /// queued for it, then its connection closes; so does every client that connects later.
    pub(crate) fn end_all(&mut self) {
        self.exit_claimed = false;
        self.ended = true;
        for c in &mut self.clients {
            c.end();
        }
    }

    /// True when every client has taken all of its output: the container may be read.
    pub(crate) fn drained(&self) -> bool {
        self.clients.iter().all(|c| c.out.len() < QUEUE)
    }

    /// Queue `data` of `kind` (stdout or stderr) for every client.
    pub(crate) fn broadcast(&mut self, kind: u8, data: &[u8]) {
        for c in &mut self.clients {
            frame::encode(kind, data, &mut c.out);
        }
    }

    /// The descriptors to poll, with the events each waits for, in a stable order that
    /// [`handle`](Self::handle) takes back.
    pub(crate) fn interest(&self) -> Vec<(BorrowedFd<'_>, nix::poll::PollFlags)> {
        use nix::poll::PollFlags;
        let mut v = vec![(self.listener.as_fd(), PollFlags::POLLIN)];
        for c in &self.clients {
            let mut f = PollFlags::empty();
            if c.stdin.is_empty() && !c.done_sending {
                f |= PollFlags::POLLIN;
            }
            if !c.out.is_empty() {
                f |= PollFlags::POLLOUT;
            }
            v.push((c.stream.as_fd(), f));
        }
        if let Some(s) = &self.stdin {
            if self.clients.iter().any(|c| !c.stdin.is_empty()) {
                v.push((s.as_fd(), PollFlags::POLLOUT));
            }
        }
        v
    }

    /// Act on what poll reported for the descriptors of [`interest`](Self::interest) (`ready`
    /// in the same order): accept clients, write their output, read their stdin, feed the
    /// FIFO. Containerd that went away are dropped.
    pub(crate) fn handle(&mut self, ready: &[bool]) {
        if ready.first().copied().unwrap_or(false) {
            while let Ok((stream, _)) = self.listener.accept() {
                if stream.set_nonblocking(true).is_ok() {
                    let mut c = Client {
                        stream,
                        out: Vec::new(),
                        stdin: Vec::new(),
                        frames: Decoder::default(),
                        done_sending: false,
                        gone: false,
                        closing: false,
                    };
                    if self.ended {
                        c.end();
                    }
                    self.clients.push(c);
                }
            }
        }
        let has_stdin = self.stdin.is_some();
        let mut close_stdin = false;
        let mut exit_claimed = false;
        let mut buf = [0u8; 16 * 1024];
        for (i, c) in self.clients.iter_mut().enumerate() {
            if !ready.get(i + 1).copied().unwrap_or(false) {
                continue;
            }
            if !c.out.is_empty() {
                match c.stream.write(&c.out) {
                    Ok(n) => {
                        c.out.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => c.gone = true,
                }
            }
            if c.stdin.is_empty() && !c.gone && !c.done_sending {
                match c.stream.read(&mut buf) {
                    Ok(0) => c.done_sending = true,
                    Ok(n) => {
                        c.frames.push(&buf[..n]);
                        loop {
                            match c.frames.next_frame() {
                                Ok(Some((frame::STDIN, data))) if has_stdin => {
                                    c.stdin.extend_from_slice(&data)
                                }
                                Ok(Some((frame::STDIN_CLOSE, _))) => close_stdin = true,
                                Ok(Some((frame::EXITED, pid))) => {
                                    if pid == std::process::id().to_be_bytes() {
                                        exit_claimed = true;
                                    } else {
                                        // About another logger's container (an earlier
                                        // task's): closed unanswered.
                                        c.gone = true;
                                        break;
                                    }
                                }
                                Ok(Some(_)) => {}
                                Ok(None) => break,
                                Err(_) => {
                                    c.gone = true;
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => c.gone = true,
                }
            }
        }
        self.close_stdin |= close_stdin;
        if exit_claimed && self.ended {
            // Answered already: the claimant has its ENDED queued (it connected after).
        } else {
            self.exit_claimed |= exit_claimed;
        }
        self.feed_stdin();
        // Closed once every byte sent before is in: the process reads them, then
        // end-of-file (the runtime also has the shim drop its own end, CloseIO).
        if self.close_stdin && self.clients.iter().all(|c| c.stdin.is_empty()) {
            self.stdin = None;
        }
        // Gone, or ended with everything written: closed.
        self.clients
            .retain(|c| !(c.gone || (c.closing && c.out.is_empty())));
    }

    /// Move queued stdin bytes into the FIFO as far as it takes them.
    fn feed_stdin(&mut self) {
        let Some(fifo) = self.stdin.as_mut() else {
            return;
        };
        for c in &mut self.clients {
            while !c.stdin.is_empty() {
                match fifo.write(&c.stdin) {
                    Ok(n) => {
                        c.stdin.drain(..n);
                    }
                    Err(_) => break,
                }
            }
        }
    }

    /// The output ended: give every client what is queued and [`frame::ENDED`] (a few
    /// seconds at most), then close their connections.
    pub(crate) fn finish(mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        for c in &mut self.clients {
            c.end();
            let _ = c.stream.set_nonblocking(false);
            let _ = c
                .stream
                .set_write_timeout(Some(std::time::Duration::from_secs(2)));
            if std::time::Instant::now() < deadline {
                let _ = c.stream.write_all(&c.out);
            }
        }
    }
}

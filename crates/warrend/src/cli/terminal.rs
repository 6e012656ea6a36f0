//! The local terminal for interactive sessions: its size, raw mode (restored on every way
//! out), stdin read on the tokio reactor, and Docker's detach keys.

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

use nix::sys::termios::{self, SetArg, Termios};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, Interest};

/// The detach key sequence (`ctrl-p,ctrl-q` by default) as the bytes a terminal sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachKeys(pub Vec<u8>);

impl Default for DetachKeys {
    fn default() -> Self {
        DetachKeys(vec![16, 17])
    }
}

/// Docker's `--detach-keys` syntax: comma-separated keys, each `ctrl-<letter>` (or
/// `ctrl-@`, `ctrl-[`, `ctrl-\`, `ctrl-]`, `ctrl-^`, `ctrl-_`) or one plain character.
pub fn parse_detach_keys(s: &str) -> Result<DetachKeys, String> {
    let mut out = Vec::new();
    if s.is_empty() {
        // No sequence: every byte reaches the process.
        return Ok(DetachKeys(out));
    }
    for key in s.split(',') {
        let key = key.trim();
        let byte = match key.strip_prefix("ctrl-") {
            Some(c) if c.len() == 1 => {
                let c = c.as_bytes()[0].to_ascii_lowercase();
                match c {
                    b'a'..=b'z' => c - b'a' + 1,
                    b'@' => 0,
                    b'[' => 27,
                    b'\\' => 28,
                    b']' => 29,
                    b'^' => 30,
                    b'_' => 31,
                    _ => return Err(format!("{key:?} is not a control key")),
                }
            }
            Some(_) => return Err(format!("{key:?} is not a control key")),
            None if key.len() == 1 => key.as_bytes()[0],
            None => {
                return Err(format!(
                    "{key:?}: keys are ctrl-<letter> or single characters, comma-separated"
                ))
            }
        };
        out.push(byte);
    }
    if out.is_empty() {
        return Err("no detach keys given".into());
    }
    Ok(DetachKeys(out))
}

/// The local terminal's size, `(columns, rows)`, if stdout or stdin is a terminal.
pub fn size() -> Option<(u16, u16)> {
    fn of(fd: std::os::fd::BorrowedFd<'_>) -> Option<(u16, u16)> {
        let mut ws = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        use std::os::fd::AsRawFd;
        // SAFETY: TIOCGWINSZ fills the winsize struct passed by pointer; the descriptor is
        // borrowed for the call.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
        (r == 0 && ws.ws_col > 0).then_some((ws.ws_col, ws.ws_row))
    }
    of(std::io::stdout().as_fd()).or_else(|| of(std::io::stdin().as_fd()))
}

/// True if stdin is a terminal (`-t` needs one, as with Docker).
pub fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// The local terminal in raw mode (keys go to the container as typed, nothing is echoed
/// locally); restored when dropped.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Switch stdin's terminal to raw mode.
    pub fn enter() -> std::io::Result<RawMode> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd())?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// The local stdin of a session, read without a thread where it can be: each keystroke is
/// read by the task that forwards it, as soon as epoll reports it, instead of by a read on
/// tokio's blocking pool handed back to that task (a thread hand-over per keystroke).
///
/// A terminal or an anonymous pipe is opened anew through `/proc/self/fd/0`: another open
/// file description of the same terminal or pipe, this process's alone, opened
/// non-blocking and read once the reactor reports it readable. Not `O_NONBLOCK` set on
/// fd 0 or a dup of it: that flag belongs to the open file description, which is shared
/// with the shell that started this process and whatever else reads the terminal. While it
/// is set, their reads fail with `EAGAIN` (many programs give up on it), and no guard can
/// clear it after a `SIGKILL`, nor while a stop (`SIGSTOP`, or a `SIGTSTP` sent with `kill`)
/// hands the terminal back to the shell. A private description has nothing to restore: it
/// goes away with the process.
///
/// Anything else is read as before, on the blocking pool: a regular file or `/dev/null`
/// (cannot be polled), a socket (cannot be opened through `/proc`), a named FIFO (opened
/// non-blocking after its writer left, Linux would never report its end), or a terminal or
/// pipe that cannot be opened again (permissions, no `/proc`).
pub enum Stdin {
    /// A private non-blocking description of stdin's terminal or pipe, on the reactor.
    Polled(AsyncFd<File>),
    /// Stdin itself, read on tokio's blocking pool.
    Blocking(tokio::io::Stdin),
}

impl Stdin {
    /// This process's stdin, polled if it can be. Within a tokio runtime.
    pub fn open() -> Stdin {
        match polled(io::stdin().as_fd()) {
            Some(fd) => Stdin::Polled(fd),
            None => Stdin::Blocking(tokio::io::stdin()),
        }
    }

    /// Read what is there, waiting for something: the number of bytes, 0 at the end (a
    /// pipe's writers all closed, Ctrl-D on a terminal in cooked mode, a hung-up terminal).
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stdin::Blocking(stdin) => stdin.read(buf).await,
            Stdin::Polled(fd) => loop {
                let mut ready = fd.readable().await?;
                match ready.try_io(|f| f.get_ref().read(buf)) {
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Ok(read) => return read,
                    // Not readable after all (try_io cleared the readiness): wait again.
                    Err(_would_block) => continue,
                }
            },
        }
    }
}

/// `fd` opened anew, non-blocking and on the reactor, if it is a terminal or an anonymous
/// pipe and can be opened again (see [`Stdin`]); `None` otherwise.
fn polled(fd: BorrowedFd<'_>) -> Option<AsyncFd<File>> {
    let file = match reopen(fd) {
        Ok(Some(file)) => file,
        Ok(None) => return None,
        Err(e) => {
            tracing::debug!(error = %e, "stdin cannot be opened again; read on the blocking pool");
            return None;
        }
    };
    // SAFETY: the `File` owns its descriptor, which stays open and the same (the `File` is
    // never replaced: only `get_ref` is used) until the `AsyncFd` drops it.
    match unsafe { AsyncFd::register_with_interest(file, Interest::READABLE) } {
        Ok(fd) => Some(fd),
        Err(e) => {
            tracing::debug!(error = %e, "stdin cannot be polled; read on the blocking pool");
            None
        }
    }
}

/// A new open file description of what `fd` is, opened non-blocking through
/// `/proc/self/fd`, if `fd` is a terminal or an anonymous pipe; `Ok(None)` for anything else.
fn reopen(fd: BorrowedFd<'_>) -> io::Result<Option<File>> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let anonymous_pipe = || {
        std::fs::read_link(&link)
            .is_ok_and(|target| target.as_os_str().as_encoded_bytes().starts_with(b"pipe:["))
    };
    if !fd.is_terminal() && !anonymous_pipe() {
        return Ok(None);
    }
    // O_NOCTTY: a terminal opened here never becomes this process's controlling terminal
    // (it already is, or must not be). The link leads to the file itself, not to a path.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&link)?;
    let (was, is) = (nix::sys::stat::fstat(fd)?, file.metadata()?);
    if (was.st_dev, was.st_ino, was.st_rdev) != (is.dev(), is.ino(), is.rdev()) {
        return Err(io::Error::other(format!("{link} led to another file")));
    }
    Ok(Some(file))
}

/// Finds the detach sequence in what is typed, across reads.
#[derive(Debug)]
pub struct DetachScanner {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachScanner {
    /// A scanner for `keys`.
    pub fn new(keys: &DetachKeys) -> DetachScanner {
        DetachScanner {
            keys: keys.0.clone(),
            matched: 0,
        }
    }

    /// Feed typed bytes: what to send on, and whether the sequence was completed (the
    /// bytes of the sequence itself are never sent; a partial match that fails is sent
    /// late, in order).
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        if self.keys.is_empty() {
            return (input.to_vec(), false);
        }
        let mut send = Vec::with_capacity(input.len());
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (send, true);
                }
            } else {
                send.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    send.push(b);
                }
            }
        }
        (send, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_as_docker_writes_them() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap().0, vec![16, 17]);
        assert_eq!(parse_detach_keys("ctrl-a,x").unwrap().0, vec![1, b'x']);
        let off = parse_detach_keys("").unwrap();
        assert_eq!(
            DetachScanner::new(&off).feed(b"\x10\x11"),
            (b"\x10\x11".to_vec(), false)
        );
        for bad in [",", "ctrl-", "ctrl-pq", "alt-x", "xy"] {
            assert!(parse_detach_keys(bad).is_err(), "{bad}");
        }
    }

    fn nonblocking(fd: BorrowedFd<'_>) -> bool {
        // SAFETY: F_GETFL on a descriptor borrowed for the call.
        let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
        assert!(flags >= 0);
        flags & libc::O_NONBLOCK != 0
    }

    async fn read_with_patience(stdin: &mut Stdin) -> Vec<u8> {
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), stdin.read(&mut buf))
            .await
            .expect("a read within 5 s")
            .unwrap();
        buf[..n].to_vec()
    }

    #[tokio::test]
    async fn a_terminal_is_read_on_the_reactor_and_its_flags_are_left_alone() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let mut stdin = Stdin::Polled(polled(pty.slave.as_fd()).expect("a terminal is polled"));
        let Stdin::Polled(fd) = &stdin else {
            unreachable!()
        };
        assert!(nonblocking(fd.get_ref().as_fd()));
        // The shared description (the shell's) stays blocking.
        assert!(!nonblocking(pty.slave.as_fd()));
        let mut master = File::from(pty.master);
        std::io::Write::write_all(&mut master, b"typed\n").unwrap();
        assert_eq!(read_with_patience(&mut stdin).await, b"typed\n");
    }

    #[tokio::test]
    async fn a_pipe_whose_writer_already_left_reads_to_its_end() {
        let (r, w) = nix::unistd::pipe().unwrap();
        std::io::Write::write_all(&mut File::from(w), b"piped").unwrap();
        let mut stdin = Stdin::Polled(polled(r.as_fd()).expect("a pipe is polled"));
        assert!(!nonblocking(r.as_fd()));
        assert_eq!(read_with_patience(&mut stdin).await, b"piped");
        assert_eq!(read_with_patience(&mut stdin).await, b"");
    }

    #[test]
    fn files_named_fifos_and_dev_null_are_not_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("input")).unwrap();
        assert!(reopen(file.as_fd()).unwrap().is_none());
        let path = dir.path().join("fifo");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let fifo = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        assert!(reopen(fifo.as_fd()).unwrap().is_none());
        let null = File::open("/dev/null").unwrap();
        assert!(reopen(null.as_fd()).unwrap().is_none());
    }

    #[test]
    fn the_sequence_is_found_across_reads_and_never_sent() {
        let keys = parse_detach_keys("ctrl-p,ctrl-q").unwrap();
        let mut s = DetachScanner::new(&keys);
        assert_eq!(s.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(s.feed(b"x"), (b"\x10x".to_vec(), false));
        assert_eq!(s.feed(b"\x10\x10"), (b"\x10".to_vec(), false));
        assert_eq!(s.feed(b"\x11rest"), (vec![], true));
    }
}

//! The local terminal for interactive sessions: its size, raw mode (restored on every way
//! out), and Docker's detach keys.

use std::io::IsTerminal;
use std::os::fd::AsFd;

use nix::sys::termios::{self, SetArg, Termios};

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

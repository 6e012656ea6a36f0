//! `cargo xtask bench keystroke`: how long one keystroke takes to come back in an
//! interactive terminal session, the latency a person feels typing into `exec -it`.
//!
//! Each command runs under a pseudo-terminal of the bench's (its controlling terminal, as in
//! a real shell) with `cat` in the container: the container's terminal echoes every byte
//! typed (the tty line discipline, `cat` itself only sees whole lines). The bench writes
//! one letter to the pty master and times until that letter comes back on it: the CLI
//! reading its raw-mode terminal, the path to the container's terminal, the echo, and the
//! whole way back. Three sessions, open side by side and typed into in turn, one
//! keystroke every ~20 ms:
//!
//! 1. `warrend exec -it kb cat`: CLI, the node API's `Attach` gRPC stream, warrend, the
//!    exec's FIFOs, the shim, the container's pty, and back the same way;
//! 2. `ctr tasks exec -t --exec-id ID kb cat` on the same managed containerd, namespace
//!    and container: ctr's own FIFOs straight to the shim, the baseline;
//! 3. `warrend run -it --rm IMAGE cat`: a new container, attached through the shim's
//!    logger rather than an exec's FIFOs.
//!
//! N keystrokes each (the first argument), after a warm-up that is not counted; median and
//! p90, and at the end one `summary:` line per warrend path (see
//! `warren_tests::bench_summary`): its median against ctr's, goal <= 1.1. Runs the binary of
//! `WARREN_WARREND_BIN` (the xtask passes the release build).

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warren_tests::bench_summary::{print_all, Summary};
use warren_tests::deps;
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::warrend::{binary, Warrend};

/// A warrend session's median round trip / ctr's.
const GOAL: f64 = 1.1;
/// Pause between keystrokes: a fast typist, and every path idle again before the next.
const PAUSE: Duration = Duration::from_millis(20);
/// Keystrokes per session before the counted ones.
const WARM_UP: usize = 20;
/// Keystrokes between two Enters, which keep the container's line buffer short.
const LINE: usize = 60;
/// Longest wait for anything to come back.
const PATIENCE: Duration = Duration::from_secs(30);

/// One command in a pseudo-terminal of the bench's.
struct Session {
    name: &'static str,
    master: std::fs::File,
    child: Child,
    /// Letters typed since the last Enter.
    typed: usize,
    /// What came back, for the message when something goes wrong.
    screen: Vec<u8>,
}

impl Session {
    fn spawn(name: &'static str, program: &Path, args: &[&OsStr]) -> Session {
        let pty = nix::pty::openpty(None, None).expect("a pty");
        let ws = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads the struct passed by pointer; the descriptor is open.
        assert_eq!(
            unsafe { libc::ioctl(pty.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) },
            0
        );
        let slave: OwnedFd = pty.slave;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: spawning {}: {e}", program.display()));
        let mut s = Session {
            name,
            master: std::fs::File::from(pty.master),
            child,
            typed: 0,
            screen: Vec::new(),
        };
        s.wait_until_up();
        s
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen).into_owned()
    }

    /// Wait up to `limit` for output; whether there is some.
    fn readable(&self, limit: Duration) -> bool {
        let mut p = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = limit.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one pollfd, on the stack, for the call's duration.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
        n > 0
    }

    /// Read what is there (after `readable`); panics once the command has gone.
    fn read_some(&mut self, buf: &mut [u8]) -> usize {
        match self.master.read(buf) {
            Ok(n) if n > 0 => {
                self.screen.extend_from_slice(&buf[..n]);
                n
            }
            other => panic!(
                "{}: the terminal closed ({other:?}); exit {:?}; the screen: {:?}",
                self.name,
                self.child.try_wait(),
                self.screen()
            ),
        }
    }

    /// Read until `done` says the bytes seen so far (since the call) are enough.
    fn read_until(&mut self, what: &str, mut done: impl FnMut(&[u8]) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        let mut buf = [0u8; 4096];
        let mut got = Vec::new();
        while !done(&got) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero() && self.readable(left),
                "{}: no {what} within {PATIENCE:?}; the screen: {:?}",
                self.name,
                self.screen()
            );
            let n = self.read_some(&mut buf);
            got.extend_from_slice(&buf[..n]);
        }
    }

    /// Throw away whatever output is waiting.
    fn drain(&mut self) {
        let mut buf = [0u8; 4096];
        while self.readable(Duration::ZERO) {
            self.read_some(&mut buf);
        }
    }

    fn type_bytes(&mut self, keys: &[u8]) {
        self.master
            .write_all(keys)
            .unwrap_or_else(|e| panic!("{}: typing: {e}", self.name));
    }

    /// The CLI has put its terminal in raw mode (so no echo comes from the local one),
    /// and a letter typed now comes back from the container's terminal.
    fn wait_until_up(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let t = nix::sys::termios::tcgetattr(&self.master).expect("tcgetattr");
            if !t.local_flags.contains(nix::sys::termios::LocalFlags::ECHO) {
                break;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.drain_quietly();
                panic!("{}: exited with {status}: {:?}", self.name, self.screen());
            }
            assert!(
                Instant::now() < deadline,
                "{}: the terminal never went raw; the screen: {:?}",
                self.name,
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        self.type_bytes(b"x");
        self.typed += 1;
        self.read_until("first echo", |got| got.contains(&b'x'));
    }

    fn drain_quietly(&mut self) {
        let mut buf = [0u8; 4096];
        while self.readable(Duration::ZERO) {
            match self.master.read(&mut buf) {
                Ok(n) if n > 0 => self.screen.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
    }

    /// Enter: the echoed line end, then `cat`'s copy of the line.
    fn enter(&mut self) {
        self.drain();
        self.type_bytes(b"\r");
        self.read_until("line back from cat", |got| {
            got.iter().filter(|&&b| b == b'\n').count() >= 2
        });
        self.typed = 0;
    }

    /// Type `key` and time until it comes back.
    fn keystroke(&mut self, key: u8) -> Duration {
        if self.typed >= LINE {
            self.enter();
        }
        self.drain();
        let mut buf = [0u8; 4096];
        let t = Instant::now();
        self.type_bytes(&[key]);
        loop {
            let left = PATIENCE.saturating_sub(t.elapsed());
            assert!(
                !left.is_zero() && self.readable(left),
                "{}: {:?} never came back; the screen: {:?}",
                self.name,
                key as char,
                self.screen()
            );
            let n = self.read_some(&mut buf);
            if buf[..n].contains(&key) {
                self.typed += 1;
                return t.elapsed();
            }
        }
    }

    /// End `cat` (Enter, Ctrl-D) and wait for the command to exit 0.
    fn finish(mut self) {
        self.enter();
        self.type_bytes(b"\x04");
        let deadline = Instant::now() + PATIENCE;
        loop {
            self.drain_quietly();
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "{}: exited with {status}; the screen: {:?}",
                    self.name,
                    self.screen()
                );
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{}: did not exit after Ctrl-D; the screen: {:?}",
                    self.name,
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median and p90 of `v`.
fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let n = v.len();
    (v[n / 2], v[(n * 9 / 10).min(n - 1)])
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
        .max(1);
    let line = deps::line();

    let reg = Registry::start();
    let image = format!("{}/bench/busybox:kb", reg.addr());
    tokio::runtime::Runtime::new()
        .expect("a tokio runtime")
        .block_on(push(&image, &[busybox_layer()], &["sh"]));

    let mut w = Warrend::start(Some(&reg.addr()));
    w.ok(&["pull", "-q", &image]);
    w.ok(&[
        "run",
        "-d",
        "--name",
        "kb",
        "--network",
        "none",
        &image,
        "sleep",
        "3600",
    ]);
    let address = w.containerd_socket();
    let ns = w.namespace.clone();
    let warrend = binary();
    let ctr = deps::containerd_bin_dir().join("ctr");
    let socket = w.socket();
    let os = |s: &'static str| OsStr::new(s);

    let mut sessions = vec![
        Session::spawn(
            "warrend exec -it",
            &warrend,
            &[
                os("--socket"),
                socket.as_os_str(),
                os("exec"),
                os("-it"),
                os("kb"),
                os("cat"),
            ],
        ),
        Session::spawn(
            "ctr exec -t",
            &ctr,
            &[
                os("--address"),
                address.as_os_str(),
                os("-n"),
                OsStr::new(&ns),
                os("tasks"),
                os("exec"),
                os("-t"),
                os("--exec-id"),
                os("kb-ctr"),
                os("kb"),
                os("cat"),
            ],
        ),
        Session::spawn(
            "warrend run -it",
            &warrend,
            &[
                os("--socket"),
                socket.as_os_str(),
                os("run"),
                os("-it"),
                os("--rm"),
                os("--network"),
                os("none"),
                OsStr::new(&image),
                os("cat"),
            ],
        ),
    ];

    let k = sessions.len();
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); k];
    let letters = b"abcdefghijklmnopqrstuvwyz";
    for i in 0..WARM_UP + runs {
        let key = letters[i % letters.len()];
        // In a rotating order, so no path always goes first.
        for turn in 0..k {
            let s = (i + turn) % k;
            let took = sessions[s].keystroke(key);
            if i >= WARM_UP {
                times[s].push(took);
            }
            std::thread::sleep(PAUSE);
        }
    }
    for s in sessions {
        s.finish();
    }

    w.ok(&["rm", "-f", "kb"]);
    let ps = w.json(&["ps", "-a"]);
    assert_eq!(
        ps,
        serde_json::Value::Array(vec![]),
        "containers left behind"
    );

    let mut it = times.into_iter().map(stats);
    let (exec, ctr) = (it.next().unwrap(), it.next().unwrap());
    let run = it.next().unwrap();
    let ratio = |a: Duration| a.as_secs_f64() / ctr.0.as_secs_f64();
    println!(
        "containerd {line}: keystroke round trip, median of {runs}: warrend exec -it {:.2} ms (p90 {:.2}), ctr exec -t {:.2} ms (p90 {:.2}), ratio {:.2}; warrend run -it {:.2} ms (p90 {:.2}), ratio {:.2}",
        ms(exec.0),
        ms(exec.1),
        ms(ctr.0),
        ms(ctr.1),
        ratio(exec.0),
        ms(run.0),
        ms(run.1),
        ratio(run.0),
    );

    let summary = |figure: &str, d: Duration| {
        Summary::time("keystroke", figure, &line, d)
            .anchor_time(ctr.0)
            .at_most(GOAL)
    };
    print_all(&[summary("exec_it", exec.0), summary("run_it", run.0)]);

    let status = w.terminate(Duration::from_secs(30));
    assert!(status.success(), "warrend exited with {status}");
    drop(w);
    drop(reg);
}

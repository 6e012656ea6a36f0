//! `run -it`, `exec -it`, `attach` and `run -i` through the CLI, as a person types them: in
//! a real pseudo-terminal the test drives (typing, resizing, detaching with Ctrl-P Ctrl-Q,
//! attaching again, exit codes), with pipes, and a client that stops reading.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use warren_tests::images::{busybox_layer, push};
use warren_tests::registry::Registry;
use warren_tests::require_root;
use warren_tests::warrend::{binary, Warrend};

/// The CLI running in a pseudo-terminal of the test's: its controlling terminal, so it
/// gets SIGWINCH when the test resizes it.
struct Pty {
    master: std::fs::File,
    child: Child,
    seen: Arc<Mutex<Vec<u8>>>,
}

fn set_size(fd: &impl AsRawFd, cols: u16, rows: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads the struct passed by pointer; the descriptor is open.
    assert_eq!(
        unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) },
        0
    );
}

impl Pty {
    fn spawn(w: &Warrend, args: &[&str], cols: u16, rows: u16) -> Pty {
        let pty = nix::pty::openpty(None, None).unwrap();
        set_size(&pty.master, cols, rows);
        let slave: OwnedFd = pty.slave;
        let mut cmd = Command::new(binary());
        cmd.arg("--socket").arg(w.socket()).args(args);
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
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
        let child = cmd.spawn().unwrap();
        let master = std::fs::File::from(pty.master);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, store) = (master.try_clone().unwrap(), seen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                store.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            master,
            child,
            seen,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).to_string()
    }

    /// Wait until the screen shows `want` (counting from `from` bytes in).
    fn expect(&self, want: &str, from: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            {
                let seen = self.seen.lock().unwrap();
                let text = String::from_utf8_lossy(&seen[from.min(seen.len())..]).to_string();
                if let Some(i) = text.find(want) {
                    return from + i + want.len();
                }
            }
            assert!(
                Instant::now() < deadline,
                "never saw {want:?}; the screen: {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn typ(&mut self, keys: &[u8]) {
        self.master.write_all(keys).unwrap();
    }

    fn resize(&self, cols: u16, rows: u16) {
        set_size(&self.master, cols, rows);
    }

    fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "the CLI did not exit: {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The terminal is back in cooked mode (echo and line editing on).
    fn restored(&self) -> bool {
        let t = nix::sys::termios::tcgetattr(&self.master).unwrap();
        use nix::sys::termios::LocalFlags;
        t.local_flags
            .contains(LocalFlags::ECHO | LocalFlags::ICANON)
    }
}

async fn setup(tag: &str) -> (Registry, String, Warrend) {
    let registry = Registry::start();
    let image = format!("{}/warren/busybox:{tag}", registry.addr());
    push(&image, &[busybox_layer()], &["sh"]).await;
    let w = Warrend::start(Some(&registry.addr()));
    w.ok(&["pull", "-q", &image]);
    (registry, image, w)
}

fn running(w: &Warrend, id: &str) -> bool {
    let ps: Value = w.json(&["ps"]);
    ps.as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == id && c["state"] == "running")
}

#[tokio::test]
async fn run_it_resize_detach_attach_and_exec_it_in_a_terminal() {
    require_root!();
    let (_registry, image, w) = setup("pty").await;

    let mut t = Pty::spawn(
        &w,
        &[
            "run",
            "-it",
            "--name",
            "t1",
            "--network",
            "none",
            &image,
            "sh",
        ],
        100,
        30,
    );
    let at = t.expect("# ", 0);
    t.typ(b"stty size\r");
    let at = t.expect("30 100", at);
    // A resize of the local terminal reaches the container's.
    t.resize(120, 40);
    std::thread::sleep(Duration::from_millis(300));
    t.typ(b"stty size\r");
    let at = t.expect("40 120", at);
    // Ctrl-P Ctrl-Q: the CLI leaves, the shell runs on, the terminal is itself again.
    t.typ(b"\x10\x11");
    assert_eq!(t.exit_code(), 0, "{:?}", t.text());
    t.expect("read escape sequence", at);
    assert!(t.restored(), "raw mode left behind");
    assert!(running(&w, "t1"));

    // Attach again, type, exit with a code.
    let mut a = Pty::spawn(&w, &["attach", "t1"], 100, 30);
    std::thread::sleep(Duration::from_millis(500));
    a.typ(b"echo back$((40+2))\r");
    let at = a.expect("back42", 0);
    a.typ(b"exit 3\r");
    assert_eq!(a.exit_code(), 3, "{:?}", a.text());
    let _ = at;
    assert!(a.restored());

    // exec -it into another container.
    w.ok(&[
        "run",
        "-d",
        "--name",
        "bg",
        "--network",
        "none",
        &image,
        "sleep",
        "600",
    ]);
    let mut e = Pty::spawn(&w, &["exec", "-it", "bg", "sh"], 90, 20);
    let at = e.expect("# ", 0);
    e.typ(b"stty size; echo $((6*7))\r");
    let at = e.expect("20 90", at);
    e.expect("42", at);
    e.typ(b"exit 4\r");
    assert_eq!(e.exit_code(), 4, "{:?}", e.text());
    assert!(e.restored());
    w.ok(&["rm", "-f", "t1", "bg"]);
}

#[tokio::test]
async fn pipes_without_a_terminal_and_a_client_that_stops_reading() {
    require_root!();
    let (_registry, image, w) = setup("pipe").await;
    // echo hi | warrend run -i img cat
    let mut c = Command::new(binary())
        .arg("--socket")
        .arg(w.socket())
        .args(["run", "-i", "--rm", "--network", "none", &image, "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b"hi\n").unwrap();
    let out = c.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    // A large input through `cat`: stdin and output flow at once, neither waits for the
    // other (cat stops reading while its output is not read).
    let big: Vec<u8> = (0..16_000_000u32).map(|i| b'a' + (i % 23) as u8).collect();
    let mut c = Command::new(binary())
        .arg("--socket")
        .arg(w.socket())
        .args(["run", "-i", "--rm", "--network", "none", &image, "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        stdin.write_all(&big).unwrap();
        big
    });
    let mut got = Vec::new();
    c.stdout.take().unwrap().read_to_end(&mut got).unwrap();
    let big = feeder.join().unwrap();
    assert_eq!(c.wait().unwrap().code(), Some(0));
    assert!(
        got == big,
        "cat gave back {} of {} bytes",
        got.len(),
        big.len()
    );
    // -t without a terminal is refused, as Docker does.
    let out = w.cli(&["run", "-t", "--rm", "--network", "none", &image, "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a TTY"));

    // 50 MB written while the client reads nothing for 5 s: warrend does not grow, and
    // the container is held back rather than the output piling up.
    let total: u64 = 50_000_000;
    let script = format!("read go; head -c {total} /dev/zero; echo; echo end");
    let mut c = Command::new(binary())
        .arg("--socket")
        .arg(w.socket())
        .args([
            "run",
            "-i",
            "--name",
            "flood",
            "--network",
            "none",
            &image,
            "sh",
            "-c",
            &script,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let rss = |pid: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    };
    std::thread::sleep(Duration::from_secs(1));
    let before = rss(w.pid());
    stdin.write_all(b"go\n").unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let during = rss(w.pid());
    let dir = std::path::PathBuf::from(
        w.json(&["inspect", "flood"])[0]["log_dir"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let logged: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("container.log"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    // Now read it all.
    let mut got = Vec::new();
    c.stdout.take().unwrap().read_to_end(&mut got).unwrap();
    let status = c.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(got.len() as u64, total + 5, "all of it arrived");
    assert!(got.ends_with(b"\nend\n"));
    assert!(
        during < before + 16 * 1024,
        "warrend grew from {before} kB to {during} kB while the client did not read"
    );
    assert!(
        logged < total / 2,
        "the container was not held back: {logged} bytes logged while nobody read"
    );
    eprintln!("flood: warrend RSS {before} kB -> {during} kB; {logged} bytes logged while held");
    w.ok(&["rm", "-f", "flood"]);
}

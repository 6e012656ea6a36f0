//! A real registry (Debian's `docker-registry`) on 127.0.0.1, private to one test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::deps;

/// A running registry; stopped and its storage removed on drop.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

/// Ports handed to registries come from 20000..32000: below Linux's ephemeral range
/// (32768..), so no outgoing connection's source port can take one between the check
/// here and the registry's own bind, and a process-wide counter keeps two registries of
/// one test binary from being handed the same port.
fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::process::id() * 389;
    loop {
        let port = 20000 + ((base + NEXT.fetch_add(1, Ordering::Relaxed)) % 12000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Whether process `pid` holds the socket listening on 127.0.0.1:`port`. A registry that
/// answers on our port could be another test's if a bind raced; this tells them apart.
fn listens(pid: u32, port: u16) -> bool {
    let local = format!("0100007F:{port:04X}");
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let inode = table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"0A")).then(|| f.get(9).copied())?
    });
    let Some(inode) = inode else {
        return false;
    };
    let want = format!("socket:[{inode}]");
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .any(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.as_os_str() == want.as_str()))
        })
        .unwrap_or(false)
}

fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1)?.parse().ok()
}

impl Registry {
    /// Start a plain-HTTP registry on a free loopback port.
    pub fn start() -> Registry {
        Registry::start_with(None)
    }

    /// Start one that wants HTTP basic auth as `user`/`password` (htpasswd, bcrypt).
    pub fn start_with_auth(user: &str, password: &str) -> Registry {
        Registry::start_with(Some((user, password)))
    }

    fn start_with(auth: Option<(&str, &str)>) -> Registry {
        for _ in 0..5 {
            if let Some(reg) = Registry::spawn_on(free_port(), auth) {
                return reg;
            }
        }
        panic!("the registry did not start on any of 5 ports");
    }

    /// Run a registry on `port`. `None` if it did not come up there as the process holding
    /// the port (it lost a race for the port, or failed); it is stopped and removed then.
    fn spawn_on(port: u16, auth: Option<(&str, &str)>) -> Option<Registry> {
        let dir = tempfile::Builder::new()
            .prefix("wreg-")
            .tempdir_in("/tmp")
            .unwrap();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = auth {
            let hash = bcrypt::hash(password, 4).expect("bcrypt");
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).unwrap();
            config += &format!(
                "auth:\n  htpasswd:\n    realm: warren-test\n    path: {}\n",
                htpasswd.display()
            );
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(deps::require(deps::tools_bin_dir().join("docker-registry")))
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut reg = Registry { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if matches!(get_status(port, "/v2/"), Some(200 | 401)) && listens(reg.child.id(), port)
            {
                return Some(reg);
            }
            if Instant::now() > deadline || matches!(reg.child.try_wait(), Ok(Some(_))) {
                eprintln!("registry did not come up on port {port}: {}", reg.log());
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The registry process's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's log (access log included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// How many blob downloads (`GET .../blobs/...`) the registry has served. The registry
    /// logs a request once its handler returns, which can be a moment after the client has
    /// read the last byte: wait until the log has been still for 100 ms.
    pub fn blob_gets(&self) -> usize {
        self.settle();
        self.log()
            .lines()
            .filter(|l| l.contains("\"GET /v2/") && l.contains("/blobs/"))
            .count()
    }

    /// Wait (up to 2 s) until the log stops growing for 100 ms.
    pub fn settle(&self) {
        let path = self.dir.path().join("registry.log");
        let len = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut last = len();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            let now = len();
            if now == last {
                break;
            }
            last = now;
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! A real registry (Debian's `docker-registry`) on 127.0.0.1, private to one test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::deps;

/// A running registry; stopped and its storage removed on drop.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
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
        let dir = tempfile::Builder::new()
            .prefix("wreg-")
            .tempdir_in("/tmp")
            .unwrap();
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        let config = match auth {
            None => config,
            Some((user, password)) => {
                let hash = bcrypt::hash(password, 4).expect("bcrypt");
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{user}:{hash}\n")).unwrap();
                format!(
                    "{config}auth:\n  htpasswd:\n    realm: warren-test\n    path: {}\n",
                    htpasswd.display()
                )
            }
        };
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
        let reg = Registry { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !matches!(get_status(port, "/v2/"), Some(200 | 401)) {
            assert!(
                Instant::now() < deadline,
                "registry did not start: {}",
                reg.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        reg
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

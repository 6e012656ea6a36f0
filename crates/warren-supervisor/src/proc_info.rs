//! Who a pid really is, from /proc: so that a pid file is never trusted on its own (a reused
//! pid, a thread id or a zombie must not be adopted, let alone signalled).

use std::path::{Path, PathBuf};

/// A process's identity: enough to tell it from a later process reusing its pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub pid: i32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start_time: u64,
    pub boot_id: String,
    pub exe: PathBuf,
    pub args: Vec<String>,
}

/// The kernel's boot id; changes on every boot.
pub(crate) fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Read the identity of a live, non-zombie, thread-group-leader process.
pub(crate) fn identity(pid: i32) -> Option<Identity> {
    if pid <= 0 {
        return None;
    }
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // Fields after the `(comm)` part; comm may contain spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let state = *fields.first()?;
    if state == "Z" || state == "X" {
        return None;
    }
    // A thread id also has a /proc entry; only the leader's Tgid equals its pid.
    let status = std::fs::read_to_string(dir.join("status")).ok()?;
    let tgid: i32 = status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))?
        .trim()
        .parse()
        .ok()?;
    if tgid != pid {
        return None;
    }
    let start_time = fields.get(19)?.parse().ok()?;
    let exe = std::fs::read_link(dir.join("exe")).ok()?;
    let args = std::fs::read(dir.join("cmdline"))
        .ok()?
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).to_string())
        .collect();
    Some(Identity {
        pid,
        start_time,
        boot_id: boot_id(),
        exe,
        args,
    })
}

/// If `id` runs `binary` with `--config <config>`: `Some(false)`, or `Some(true)` if the
/// binary has been replaced on disk since it started (the kernel then shows the old inode
/// as `<path> (deleted)`); `None` if it is some other program.
pub(crate) fn runs(id: &Identity, binary: &Path, config: &Path) -> Option<bool> {
    let config = config.to_string_lossy();
    let has_config = id
        .args
        .windows(2)
        .any(|w| w[0] == "--config" && w[1] == config.as_ref());
    if !has_config {
        return None;
    }
    if id.exe == binary {
        return Some(false);
    }
    let mut replaced = binary.as_os_str().to_owned();
    replaced.push(" (deleted)");
    (id.exe.as_os_str() == replaced).then_some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ourselves_and_rejects_threads() {
        let me = identity(std::process::id() as i32).unwrap();
        assert!(me.start_time > 0);
        assert!(!me.boot_id.is_empty());
        // A second thread's id is not a process.
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            tx.send(nix::unistd::gettid().as_raw()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
        });
        let tid = rx.recv().unwrap();
        assert!(identity(tid).is_none());
        t.join().unwrap();
        assert!(identity(0).is_none());
    }

    #[test]
    fn rejects_zombies() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Not reaped yet: a zombie once it has exited.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while identity(pid).is_some() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        assert!(stat.contains(") Z "), "{stat}");
        assert!(identity(pid).is_none());
        child.wait().unwrap();
    }

    #[test]
    fn recognises_our_daemon_and_an_upgraded_binary() {
        let id = Identity {
            pid: 1,
            start_time: 1,
            boot_id: "b".into(),
            exe: "/bin/containerd".into(),
            args: vec!["containerd".into(), "--config".into(), "/s/c.toml".into()],
        };
        let (bin, cfg) = (Path::new("/bin/containerd"), Path::new("/s/c.toml"));
        assert_eq!(runs(&id, bin, cfg), Some(false));
        assert_eq!(runs(&id, bin, Path::new("/other.toml")), None);
        assert_eq!(runs(&id, Path::new("/bin/sleep"), cfg), None);
        let upgraded = Identity {
            exe: "/bin/containerd (deleted)".into(),
            ..id
        };
        assert_eq!(runs(&upgraded, bin, cfg), Some(true));
    }
}

//! Who a pid really is, from /proc: so that a pid file is never trusted on its own (a reused
//! pid, a thread id or a zombie must not be adopted, let alone signalled).

use std::path::{Path, PathBuf};

/// A process's identity: enough to tell it from a later process reusing its pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub pid: i32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start_time: u64,
    pub boot_id: String,
    pub exe: PathBuf,
    pub args: Vec<String>,
}

/// The kernel's boot id; changes on every boot.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Read the identity of a live, non-zombie, thread-group-leader process.
pub fn identity(pid: i32) -> Option<Identity> {
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

/// True if `id` runs `binary` with `--config <config>`.
pub fn runs(id: &Identity, binary: &Path, config: &Path) -> bool {
    let config = config.to_string_lossy();
    let has_config = id
        .args
        .windows(2)
        .any(|w| w[0] == "--config" && w[1] == config.as_ref());
    id.exe == binary && has_config
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
}

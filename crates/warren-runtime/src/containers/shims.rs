//! Shim processes on this host, found through `/proc`: which daemon, namespace and id each
//! serves, and the unix sockets it listens on.
//!
//! Why: when containerd dies after starting a container's shim but before it has recorded
//! the shim's address (inside Tasks.Create), containerd 2.x cleans the bundle up on restart
//! but never learns of the running shim, which then idles forever beside a socket file.
//! [`ContainerdRuntime::start_container`](crate::ContainerdRuntime::start_container) uses
//! this module to remove such an orphan after it has undone an interrupted start; test
//! harnesses and node agents can use it to clean up after a daemon they tore down.

use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A running containerd shim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shim {
    /// Its process id.
    pub pid: u32,
    /// The containerd namespace it serves (`-namespace`).
    pub namespace: String,
    /// The container (or shim group) id (`-id`).
    pub id: String,
    /// The containerd socket it reports to (`-address`).
    pub address: PathBuf,
    /// The filesystem unix sockets it listens on (its ttrpc socket).
    pub sockets: Vec<PathBuf>,
}

/// Where containerd's shims put their sockets (`/run/containerd/s/<hash>`, whatever the
/// daemon's own state folder): the only place [`kill`] removes a socket file from.
pub const SOCKET_DIR: &str = "/run/containerd/s";

/// Every containerd shim of this host that this process can see. Blocking: it reads
/// `/proc`; call it from `spawn_blocking` in async code.
///
/// A process's command line is its own to write, and `/proc/net/unix` names the path a
/// socket was bound to, not the file there now: a container with the host's network could
/// pose as a shim. So a process counts only if its executable is a `containerd-shim*` and
/// it shares this process's mount and PID namespaces (a container never does).
pub fn list() -> Vec<Shim> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut shims: Vec<Shim> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let shim = parse_cmdline(pid, &cmdline)?;
            is_host_shim(pid).then_some(shim)
        })
        .collect();
    if !shims.is_empty() {
        let listening = listening_unix_sockets();
        for shim in &mut shims {
            shim.sockets = socket_inodes(shim.pid)
                .iter()
                .filter_map(|inode| listening.get(inode).cloned())
                .collect();
        }
    }
    shims
}

/// SIGKILL `shim`, wait (up to 2 s) until it is gone, and remove its socket files. Only for
/// a shim that no daemon uses any more: a task it still runs would lose its supervisor.
/// Blocking.
pub fn kill(shim: &Shim) {
    let pid = nix::unistd::Pid::from_raw(shim.pid as i32);
    if nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).is_ok() {
        let deadline = Instant::now() + Duration::from_secs(2);
        while alive(shim.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    for socket in &shim.sockets {
        let is_socket = std::fs::symlink_metadata(socket).is_ok_and(|m| m.file_type().is_socket());
        if is_socket && socket.parent() == Some(Path::new(SOCKET_DIR)) {
            let _ = std::fs::remove_file(socket);
        }
    }
}

/// True if `pid` runs a `containerd-shim*` executable in this process's mount and PID
/// namespaces.
fn is_host_shim(pid: u32) -> bool {
    let shim_exe = std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| {
        exe.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("containerd-shim"))
    });
    let same = |ns: &str| {
        let of =
            |p: &str| std::fs::metadata(format!("/proc/{p}/ns/{ns}")).map(|m| (m.dev(), m.ino()));
        matches!((of(&pid.to_string()), of("self")), (Ok(a), Ok(b)) if a == b)
    };
    shim_exe && same("mnt") && same("pid")
}

/// The shim behind one `/proc/<pid>/cmdline`, if it is one: the program's file name starts
/// with `containerd-shim` and it has `-namespace`, `-id` and `-address`.
fn parse_cmdline(pid: u32, cmdline: &[u8]) -> Option<Shim> {
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let program = Path::new(args.first()?).file_name()?.to_str()?;
    if !program.starts_with("containerd-shim") {
        return None;
    }
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    Some(Shim {
        pid,
        namespace: flag("-namespace")?,
        id: flag("-id")?,
        address: PathBuf::from(flag("-address")?),
        sockets: Vec::new(),
    })
}

/// The socket inodes among `pid`'s open files.
fn socket_inodes(pid: u32) -> Vec<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            target
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// Listening unix sockets with a filesystem path, by inode, from `/proc/net/unix`.
fn listening_unix_sockets() -> HashMap<u64, PathBuf> {
    std::fs::read_to_string("/proc/net/unix")
        .map(|text| parse_net_unix(&text))
        .unwrap_or_default()
}

/// `/proc/net/unix`: `Num RefCount Protocol Flags Type St Inode Path`; a listening socket
/// has flag `__SO_ACCEPTCON` (0x10000); abstract ones (path starting with `@`) are skipped.
fn parse_net_unix(text: &str) -> HashMap<u64, PathBuf> {
    const SO_ACCEPTCON: u32 = 0x10000;
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let flags = u32::from_str_radix(fields.get(3)?, 16).ok()?;
            let inode = fields.get(6)?.parse().ok()?;
            let path = fields.get(7)?;
            (flags & SO_ACCEPTCON != 0 && path.starts_with('/')).then(|| (inode, path.into()))
        })
        .collect()
}

/// True while `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_command_lines() {
        let line = b"/opt/c/bin/containerd-shim-runc-v2\0-namespace\0ns1\0-id\0web\0-address\0/run/c.sock\0";
        let shim = parse_cmdline(7, line).unwrap();
        assert_eq!(
            (shim.pid, shim.namespace.as_str(), shim.id.as_str()),
            (7, "ns1", "web")
        );
        assert_eq!(shim.address, Path::new("/run/c.sock"));
        // Not a shim; a shim without its flags (e.g. `containerd-shim-runc-v2 delete`).
        assert_eq!(
            parse_cmdline(1, b"/usr/bin/containerd\0--config\0x\0"),
            None
        );
        assert_eq!(
            parse_cmdline(1, b"containerd-shim-runc-v2\0-id\0web\0delete\0"),
            None
        );
    }

    #[test]
    fn listening_sockets_with_paths() {
        let text = "Num       RefCount Protocol Flags    Type St Inode Path\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 9299635 /run/containerd/s/ab12\n\
            0000000000000000: 00000003 00000000 00000000 0001 03 9299700 /run/containerd/s/ab12\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 9299701 @/containerd-shim/x.sock\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 9299702\n";
        let got = parse_net_unix(text);
        assert_eq!(got.len(), 1);
        assert_eq!(got[&9299635], PathBuf::from("/run/containerd/s/ab12"));
    }

    #[test]
    fn this_process_is_alive_and_no_shim() {
        let me = std::process::id();
        assert!(alive(me));
        assert!(list().iter().all(|s| s.pid != me));
    }
}

//! Container stdio copied in this process (the [`LogDriver::InProcess`] fallback, and the
//! output of execs): FIFOs the shim writes into, the copiers that turn them into the
//! container's log file (the same CRI records and rotation as the shim's logger), and
//! temporary mounts.
//!
//! Each FIFO is read by plain blocking reads on a detached thread of its own (see
//! [`on_thread`]): simple, immune to the edge cases of polling a FIFO that was opened before
//! its writer, and never holding up the shutdown of the caller's tokio runtime while a
//! container runs on. If this process goes away, the shim keeps the FIFOs open and the
//! container blocks once a pipe (64 KiB) is full; [`reattach_logs`] picks them up again.
//! The default, [`LogDriver::Shim`], has none of this.
//!
//! [`LogDriver::InProcess`]: crate::LogDriver::InProcess
//! [`LogDriver::Shim`]: crate::LogDriver::Shim
//!
//! [`reattach_logs`]: crate::ContainerdRuntime::reattach_logs

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

use super::Settings;
use crate::files::{blocking, private_dir};
use crate::RuntimeError;

use crate::logger::cri::{self, Encoder};
use crate::logger::file::LogFile;
pub(crate) use crate::logger::LOG_FILE;

/// The copiers running in this process, by container id: each one's task, and a flag that
/// turns true once both of its streams are at their end.
#[derive(Default)]
pub(crate) struct Copiers(Mutex<HashMap<String, Copier>>);

type Copier = (JoinHandle<()>, tokio::sync::watch::Receiver<bool>);

impl Copiers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Copier>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True if a copier for `id` is running.
    pub(crate) fn active(&self, id: &str) -> bool {
        self.lock().get(id).is_some_and(|(h, _)| !h.is_finished())
    }

    /// Resolves once `id`'s copier (if this process runs one) has read its FIFOs to their
    /// end: the shim closes them once the process's output has ended, so the log then
    /// holds all of it.
    pub(crate) async fn ended(&self, id: &str) {
        let done = self.lock().get(id).map(|(_, done)| done.clone());
        if let Some(mut done) = done {
            // An error means the copier is gone, which is an end too.
            let _ = done.wait_for(|d| *d).await;
        }
    }

    fn insert(&self, id: &str, handle: Copier) {
        let mut map = self.lock();
        map.retain(|_, (h, _)| !h.is_finished());
        if let Some((old, _)) = map.insert(id.to_string(), handle) {
            old.abort();
        }
    }

    /// Wait (bounded) for `id`'s copier to drain its FIFOs after the task is gone, so the
    /// log holds everything the process wrote.
    pub(crate) async fn drain(&self, id: &str) {
        let handle = self.lock().remove(id).map(|(h, _)| h);
        if let Some(mut handle) = handle {
            if tokio::time::timeout(std::time::Duration::from_secs(2), &mut handle)
                .await
                .is_err()
            {
                handle.abort();
            }
        }
    }
}

/// The paths of one process's stdio FIFOs.
#[derive(Debug, Clone)]
pub(crate) struct Fifos {
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Fifos {
    /// The FIFO paths of process `name` (`init` or an exec id) in container dir `dir`.
    pub(crate) fn at(dir: &Path, name: &str) -> Fifos {
        Fifos {
            stdout: dir.join(format!("{name}-stdout")),
            stderr: dir.join(format!("{name}-stderr")),
        }
    }

    /// Create both FIFOs (mode 0600), replacing leftovers of an earlier run.
    pub(crate) async fn create(&self) -> Result<(), RuntimeError> {
        let this = self.clone();
        blocking("creating stdio FIFOs", self.stdout.clone(), move || {
            if let Some(dir) = this.stdout.parent() {
                private_dir(dir)?;
            }
            for p in [&this.stdout, &this.stderr] {
                fresh_fifo(p)?;
            }
            Ok(())
        })
        .await
    }

    /// Open the read ends, without waiting for a writer. Call before Tasks.Create or
    /// Tasks.Exec: the shim opens the write ends and waits for a reader. Read only once
    /// that call returned, through [`without_nonblock`].
    pub(crate) fn open(&self) -> Result<(File, File), RuntimeError> {
        let open = |p: &Path| {
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(p)
                .map_err(|source| RuntimeError::Io {
                    op: "opening stdio FIFO",
                    path: p.to_path_buf(),
                    source,
                })
        };
        Ok((open(&self.stdout)?, open(&self.stderr)?))
    }

    /// Remove both FIFOs (missing is fine).
    pub(crate) async fn remove(&self) {
        let _ = tokio::fs::remove_file(&self.stdout).await;
        let _ = tokio::fs::remove_file(&self.stderr).await;
    }
}

/// Create the FIFO `path` (mode 0600), replacing a leftover. Blocking.
pub(crate) fn fresh_fifo(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .map_err(io::Error::from)
}

/// Run `f` on a detached thread of its own and receive its result.
///
/// For reads that block as long as a container runs: on tokio's blocking pool they would
/// keep the caller's runtime from shutting down (it waits for blocking tasks), and they
/// would hold pool threads for hours. If the thread cannot be created, the receiver reports
/// a closed channel at once and the failure is logged.
pub(crate) fn on_thread<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> tokio::sync::oneshot::Receiver<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        tracing::warn!(thread = name, error = %e, "cannot start a thread; output is dropped");
    }
    rx
}

/// Make a FIFO end opened with `O_NONBLOCK` blocking again, now that its other side is
/// there: reads wait for data and return end-of-file once every writer closed; writes wait
/// while the FIFO is full.
pub(crate) fn without_nonblock(file: File) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with plain integer arguments.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

/// Start copying the init process's FIFOs of container `id` into its log file: one
/// blocking-pool thread per stream, until the shim closes the FIFO.
pub(crate) async fn start_copier(
    copiers: &Copiers,
    settings: &Settings,
    id: &str,
    (out, err): (File, File),
) -> Result<(), RuntimeError> {
    let path = settings.dir(id).join(LOG_FILE);
    let settings = settings.clone();
    let log = blocking("opening the container log", path.clone(), move || {
        Ok(LogFile::open(
            path,
            settings.log_max_bytes,
            settings.log_max_files,
        ))
    })
    .await?;
    let log = Arc::new(Mutex::new(log));
    let spawn = |file: File, stream: &'static str| {
        let (log, id) = (log.clone(), id.to_string());
        on_thread("warren-log-copy", move || {
            copy_stream(file, stream, &log, &id)
        })
    };
    let (a, b) = (spawn(out, "stdout"), spawn(err, "stderr"));
    let (done_tx, done) = tokio::sync::watch::channel(false);
    copiers.insert(
        id,
        (
            tokio::spawn(async move {
                let _ = a.await;
                let _ = b.await;
                let _ = done_tx.send(true);
            }),
            done,
        ),
    );
    Ok(())
}

fn copy_stream(from: File, stream: &'static str, log: &Mutex<LogFile>, id: &str) {
    let mut from = match without_nonblock(from) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(container = %id, stream, error = %e, "cannot read container output");
            return;
        }
    };
    let mut encoder = Encoder::new(stream);
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(128 * 1024);
    loop {
        let n = match from.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(container = %id, stream, error = %e, "reading container output failed");
                0
            }
        };
        out.clear();
        let time = cri::now();
        if n == 0 {
            encoder.finish(&time, &mut out);
        } else {
            encoder.feed(&buf[..n], &time, &mut out);
        }
        if !out.is_empty() {
            let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
            let dropped = log.dropped();
            log.write_records(&out);
            if dropped == 0 && log.dropped() > 0 {
                tracing::warn!(container = %id, "cannot write the container log; output dropped until it can");
            }
        }
        if n == 0 {
            return;
        }
    }
}

/// Mount `mounts` read-only on a temporary directory, run `f` on it, unmount. Blocking.
pub(crate) fn with_mounted<T>(
    mounts: &[warren_proto::containerd::types::Mount],
    f: impl FnOnce(&Path) -> T,
) -> Result<T, RuntimeError> {
    use nix::mount::{mount, umount2, MntFlags, MsFlags};
    let io_err = |op: &'static str, path: &Path, e: io::Error| RuntimeError::Io {
        op,
        path: path.to_path_buf(),
        source: e,
    };
    let Some(m) = mounts.first() else {
        return Err(RuntimeError::Io {
            op: "mounting a snapshot view",
            path: std::path::PathBuf::new(),
            source: io::Error::other("the snapshotter returned no mounts"),
        });
    };
    let dir = tempfile::Builder::new()
        .prefix("warren-view-")
        .tempdir()
        .map_err(|e| io_err("creating a mount point", Path::new("/tmp"), e))?;
    // The image's files are the image's: a device node in it must never open the host's
    // device, nor a setuid file run, while the view is mounted.
    let safe = MsFlags::MS_RDONLY | MsFlags::MS_NODEV | MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
    let (flags, data) = if m.r#type == "bind" {
        (MsFlags::MS_BIND | MsFlags::MS_REC | safe, String::new())
    } else {
        let opts: Vec<&str> = m
            .options
            .iter()
            .map(String::as_str)
            .filter(|o| *o != "ro")
            .collect();
        (safe, opts.join(","))
    };
    mount(
        Some(m.source.as_str()),
        dir.path(),
        Some(m.r#type.as_str()),
        flags,
        Some(data.as_str()),
    )
    .map_err(|e| io_err("mounting a snapshot view", dir.path(), e.into()))?;
    if m.r#type == "bind" {
        // A bind mount takes its flags only on a remount.
        let remount = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | safe;
        if let Err(e) = mount(
            None::<&str>,
            dir.path(),
            None::<&str>,
            remount,
            None::<&str>,
        ) {
            let _ = umount2(dir.path(), MntFlags::MNT_DETACH);
            return Err(io_err(
                "making a snapshot view read-only",
                dir.path(),
                e.into(),
            ));
        }
    }
    let out = f(dir.path());
    if let Err(e) = umount2(dir.path(), MntFlags::MNT_DETACH) {
        tracing::warn!(path = %dir.path().display(), error = %e, "unmounting a snapshot view failed");
    }
    Ok(out)
}

//! `container_logs`: the lines of a container's log files, with `tail` and `follow`.
//!
//! The files are in the CRI log format (`<RFC 3339 time> <stream> <P|F> <text>`), one
//! record per line; records tagged `P` are parts of a longer line and are joined here.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use futures::{Stream, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::io::LOG_FILE;
use crate::container_id::not_found;
use crate::{ContainerdRuntime, RuntimeError};

/// How much of a log file one read takes: tokio reads files on its blocking pool, one task
/// per read, so reads must be large for a follower to keep up with a fast writer.
const READ_BUFFER: usize = 256 * 1024;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl LogStream {
    /// `stdout` or `stderr`.
    pub fn as_str(&self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }
}

/// One line a container wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When the runtime read it.
    pub time: Option<SystemTime>,
    /// stdout or stderr.
    pub stream: LogStream,
    /// The line, without its newline (lossily decoded as UTF-8).
    pub text: String,
}

/// What `container_logs` returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct LogOptions {
    /// Only the last `n` lines written so far (then, with `follow`, everything new).
    pub tail: Option<usize>,
    /// Keep the stream open for new lines until the container's process exits.
    pub follow: bool,
}

/// Joins partial records into lines.
#[derive(Default)]
struct Parser {
    pending: Option<(LogStream, Option<SystemTime>, String)>,
}

impl Parser {
    /// Feed one record; returns a line when one is complete. Malformed records are skipped.
    fn feed(&mut self, record: &str) -> Option<LogLine> {
        let mut parts = record.splitn(4, ' ');
        let time = parts.next()?;
        let stream = match parts.next()? {
            "stdout" => LogStream::Stdout,
            "stderr" => LogStream::Stderr,
            _ => return None,
        };
        let tag = parts.next()?;
        let text = parts.next().unwrap_or("");
        let time = chrono::DateTime::parse_from_rfc3339(time)
            .ok()
            .map(SystemTime::from);
        let mut joined = match self.pending.take() {
            Some((s, t, mut acc)) if s == stream => {
                acc.push_str(text);
                (s, t, acc)
            }
            _ => (stream, time, text.to_string()),
        };
        if tag == "P" {
            self.pending = Some(joined);
            return None;
        }
        Some(LogLine {
            time: joined.1,
            stream: joined.0,
            text: std::mem::take(&mut joined.2),
        })
    }
}

/// The log files of a container dir opened together, oldest first: the rotated ones, and
/// the current one if there is one. Opening them one by one while the logger rotates would
/// shift the names under the reader (a file read twice, another skipped), so a set counts
/// only if, once all are open, every name still leads to the file opened under it; then
/// rotations no longer matter (an open file stays readable when renamed or removed).
fn open_all(dir: &Path) -> (Vec<std::fs::File>, Option<std::fs::File>) {
    let open = |paths: &[PathBuf]| -> Vec<(PathBuf, std::fs::File, u64)> {
        paths
            .iter()
            .filter_map(|p| {
                let f = std::fs::File::open(p).ok()?;
                let ino = f.metadata().ok()?.ino();
                Some((p.clone(), f, ino))
            })
            .collect()
    };
    let mut set = Vec::new();
    // A writer rotating many times a second settles between two looks well before this.
    for _ in 0..1000 {
        let listed = files(dir);
        set = open(&listed);
        // The same names as before (no file rotated in or out), each still the file opened
        // under it, or still missing (the current file between a rotation and its first
        // record).
        let same = files(dir) == listed
            && listed.iter().all(|p| {
                let now = std::fs::metadata(p).map(|m| m.ino()).ok();
                now == set.iter().find(|(q, _, _)| q == p).map(|(_, _, ino)| *ino)
            });
        if same {
            break;
        }
    }
    let current = dir.join(LOG_FILE);
    let mut earlier = Vec::with_capacity(set.len());
    let mut last = None;
    for (p, f, _) in set {
        if p == current {
            last = Some(f);
        } else {
            earlier.push(f);
        }
    }
    (earlier, last)
}

/// The log files of a container dir, oldest first.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<(usize, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name
                .strip_prefix(LOG_FILE)?
                .strip_prefix('.')?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    rotated.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    out.push(dir.join(LOG_FILE));
    out
}

impl ContainerdRuntime {
    /// The folder of container `id`'s files on this host: its log files (`container.log`,
    /// rotated to `container.log.1`, ...) and, for bridge containers, its network state.
    pub fn container_dir(&self, id: &str) -> Result<std::path::PathBuf, RuntimeError> {
        crate::containers::check_id(id)?;
        Ok(self.inner.containers.dir(id))
    }

    /// The lines container `id` wrote to stdout and stderr, in order, each tagged with its
    /// stream. With `follow`, the stream stays open for new lines and ends once the
    /// container's process has exited and its output is all read.
    ///
    /// ```no_run
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// use futures::StreamExt;
    /// use warren_runtime::LogOptions;
    /// let options = LogOptions::default().tail(10).follow(true);
    /// let mut lines = rt.container_logs("web-1", &options).await?;
    /// while let Some(line) = lines.next().await {
    ///     let line = line?;
    ///     println!("{} {}", line.stream.as_str(), line.text);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn container_logs(
        &self,
        id: &str,
        options: &LogOptions,
    ) -> Result<
        impl Stream<Item = Result<LogLine, RuntimeError>> + Send + Unpin + 'static,
        RuntimeError,
    > {
        crate::containers::check_id(id)?;
        if self.container_record(id).await?.is_none() {
            return Err(not_found(id));
        }
        let dir = self.inner.containers.dir(id);
        let (tx, rx) = mpsc::channel(256);
        let rt = self.clone();
        let id = id.to_string();
        let options = *options;
        tokio::spawn(async move {
            if let Err(e) = rt.send_logs(&id, &dir, options, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
    }

    async fn send_logs(
        &self,
        id: &str,
        dir: &Path,
        options: LogOptions,
        tx: &mpsc::Sender<Result<LogLine, RuntimeError>>,
    ) -> Result<(), RuntimeError> {
        let mut parser = Parser::default();
        if !options.follow {
            self.settle_exited(id, dir).await;
        }
        // Watched before anything is read, so no change after the first read is missed.
        let mut changes = if options.follow {
            Some(changes(dir))
        } else {
            None
        };
        let dir_owned = dir.to_path_buf();
        let (earlier, current) = tokio::task::spawn_blocking(move || open_all(&dir_owned))
            .await
            .unwrap_or_default();
        // Everything before the current file, kept only as far as the tail needs.
        let mut lines = std::collections::VecDeque::new();
        let keep = options.tail.unwrap_or(usize::MAX);
        let push = |line: LogLine, lines: &mut std::collections::VecDeque<LogLine>| {
            if keep == 0 {
                return;
            }
            if lines.len() == keep {
                lines.pop_front();
            }
            lines.push_back(line);
        };
        for file in earlier {
            let mut text = String::new();
            let mut reader = BufReader::with_capacity(READ_BUFFER, tokio::fs::File::from_std(file));
            while reader.read_line(&mut text).await.unwrap_or(0) > 0 {
                if let Some(l) = parser.feed(text.trim_end_matches('\n')) {
                    push(l, &mut lines);
                }
                text.clear();
            }
        }
        let current_path = dir.join(LOG_FILE);
        let Some(file) = current.map(tokio::fs::File::from_std) else {
            for l in lines {
                if tx.send(Ok(l)).await.is_err() {
                    return Ok(());
                }
            }
            return Ok(());
        };
        let mut ino = file.metadata().await.map(|m| m.ino()).unwrap_or(0);
        let mut reader = BufReader::with_capacity(READ_BUFFER, file);
        let mut record = String::new();
        // The current file up to its end so far.
        loop {
            record.clear();
            let n = reader.read_line(&mut record).await.unwrap_or(0);
            if n == 0 || !record.ends_with('\n') {
                break;
            }
            if let Some(l) = parser.feed(record.trim_end_matches('\n')) {
                push(l, &mut lines);
            }
        }
        for l in lines {
            if tx.send(Ok(l)).await.is_err() {
                return Ok(());
            }
        }
        if !options.follow {
            return Ok(());
        }
        // Follow: new records as they land (woken by inotify, not a timer); a rotation
        // switches to the new file after the old one is read to its end.
        let Some(changes) = changes.as_mut() else {
            return Ok(());
        };
        let mut carry = record.clone();
        // The logger this follow will tell about the exit (named now: by the time of the
        // exit a restarted container may have the next one).
        let logger = super::output_end::logger_pid(dir).await;
        let exited = self.exited(id);
        tokio::pin!(exited);
        // Once true, the logger (or this process's copier) has written everything: the
        // follow ends at the end of the files.
        let mut complete = false;
        loop {
            let mut chunk = String::new();
            let n = reader.read_line(&mut chunk).await.unwrap_or(0);
            if n > 0 {
                carry.push_str(&chunk);
                if carry.ends_with('\n') {
                    if let Some(l) = parser.feed(carry.trim_end_matches('\n')) {
                        if tx.send(Ok(l)).await.is_err() {
                            return Ok(());
                        }
                    }
                    carry.clear();
                }
                continue;
            }
            // Rotated away: go on with the file written after ours (several rotations may
            // have happened since the last look; the next one is not always the current).
            if tokio::fs::metadata(&current_path)
                .await
                .map(|m| m.ino())
                .ok()
                != Some(ino)
            {
                if let Some((f, next_ino)) = open_next(dir, ino).await {
                    // What was appended to ours between its end and the rename.
                    let mut rest = String::new();
                    while reader.read_line(&mut rest).await.unwrap_or(0) > 0 {}
                    carry.push_str(&rest);
                    let complete = carry.rfind('\n').map(|i| i + 1).unwrap_or(0);
                    for r in carry[..complete].lines() {
                        if let Some(l) = parser.feed(r) {
                            if tx.send(Ok(l)).await.is_err() {
                                return Ok(());
                            }
                        }
                    }
                    carry.drain(..complete);
                    ino = next_ino;
                    reader = BufReader::with_capacity(READ_BUFFER, f);
                    continue;
                }
            }
            if complete {
                return Ok(());
            }
            tokio::select! {
                _ = changes.next() => {}
                _ = &mut exited => {
                    self.inner.copiers.ended(id).await;
                    super::output_end::claim_exit(dir, logger).await;
                    complete = true;
                }
                _ = tx.closed() => return Ok(()),
            }
        }
    }

    /// If container `id`'s process has exited but its logger still runs (the task is not
    /// deleted yet), have the logger write what is left in the pipes first: the log of an
    /// exited container then holds all of its output, as `wait` or `inspect` promised.
    async fn settle_exited(&self, id: &str, dir: &Path) {
        let stopped = matches!(
            self.task(id).await,
            Ok(Some(p)) if super::status::state_of(p.status) == super::ContainerState::Stopped
        );
        if stopped {
            let logger = super::output_end::logger_pid(dir).await;
            super::output_end::claim_exit(dir, logger).await;
        }
    }

    /// Resolves once container `id` has no running process (at once if it has none): the
    /// wait is containerd's, no polling. A daemon restart only delays it.
    pub(crate) async fn exited(&self, id: &str) {
        loop {
            match self.wait_task(id).await {
                Ok(_) => return,
                Err(e) if e.is_missing_object() => return,
                Err(e) => {
                    tracing::debug!(container = %id, error = %e, "output: waiting for the exit again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// Open the log file written after the one with inode `ino`. The logger may rotate again
/// while we look (each rotation renames every file one place down), so a choice counts only
/// if the file opened is the one chosen and a second look chooses it too.
async fn open_next(dir: &Path, ino: u64) -> Option<(tokio::fs::File, u64)> {
    let look = || {
        let dir = dir.to_path_buf();
        async move {
            tokio::task::spawn_blocking(move || next_after(&dir, ino))
                .await
                .ok()
                .flatten()
        }
    };
    for _ in 0..50 {
        let (path, next_ino) = look().await?;
        let Ok(f) = tokio::fs::File::open(&path).await else {
            continue;
        };
        let opened = f.metadata().await.map(|m| m.ino()).ok();
        if opened == Some(next_ino) && look().await.map(|n| n.1) == Some(next_ino) {
            return Some((f, next_ino));
        }
    }
    None
}

/// The log file written after the one with inode `ino` (oldest first: `.N` … `.1`, then the
/// current one), with its inode; if `ino` is gone (rotated out), the oldest file left.
fn next_after(dir: &Path, ino: u64) -> Option<(PathBuf, u64)> {
    let with_ino: Vec<(PathBuf, u64)> = files(dir)
        .into_iter()
        .filter_map(|p| std::fs::metadata(&p).ok().map(|m| (p, m.ino())))
        .collect();
    match with_ino.iter().position(|(_, i)| *i == ino) {
        Some(at) => with_ino.get(at + 1).cloned(),
        None => with_ino.first().cloned(),
    }
}

/// Changes in the container's log folder (writes, new and renamed files), as a stream;
/// one that never yields if the folder cannot be watched.
fn changes(dir: &Path) -> futures::stream::BoxStream<'static, ()> {
    use futures::StreamExt;
    use inotify::{Inotify, WatchMask};
    let watched = Inotify::init().and_then(|inotify| {
        inotify.watches().add(
            dir,
            WatchMask::MODIFY | WatchMask::CREATE | WatchMask::MOVED_TO | WatchMask::CLOSE_WRITE,
        )?;
        inotify.into_event_stream(vec![0u8; 4096])
    });
    match watched {
        Ok(events) => events.map(|_| ()).boxed(),
        Err(e) => {
            tracing::debug!(dir = %dir.display(), error = %e, "log follow without inotify");
            futures::stream::pending().boxed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_joins_partials_and_skips_junk() {
        let mut p = Parser::default();
        assert!(p.feed("garbage").is_none());
        let l = p
            .feed("2026-01-01T00:00:00.5Z stdout F hello world")
            .unwrap();
        assert_eq!(l.text, "hello world");
        assert_eq!(l.stream, LogStream::Stdout);
        assert!(l.time.is_some());
        assert!(p.feed("2026-01-01T00:00:01Z stderr P abc").is_none());
        let l = p.feed("2026-01-01T00:00:01Z stderr F def").unwrap();
        assert_eq!((l.stream, l.text.as_str()), (LogStream::Stderr, "abcdef"));
        let l = p.feed("2026-01-01T00:00:01Z stdout F ").unwrap();
        assert_eq!(l.text, "");
    }
}

//! An exec'd process's FIFOs on the tokio reactor: its stdout and stderr read, and its stdin
//! written, as the kernel reports them ready, without a thread each.
//!
//! Why: a keystroke typed into `exec -it` crosses the stdin FIFO and comes back through the
//! stdout FIFO. With a thread per FIFO every crossing was a hand-over between threads (a
//! blocking read, a channel, a wake-up on the runtime), which made the echo about twice as
//! slow as ctr's. Here the task that wants the bytes reads them itself.
//!
//! # Opening order
//!
//! The read ends are opened `O_RDONLY | O_NONBLOCK` before Tasks.Exec (see
//! [`Fifos::open`](super::io::Fifos::open): the shim's open of a write end waits for a
//! reader) and made [`pipe::Receiver`]s by [`reader`] only once Tasks.Start returned, when
//! the shim holds the write ends.
//!
//! - Not `O_RDWR`, although that is the usual cure for a FIFO opened before its writer: a
//!   read end that is itself a writer never reads end-of-file, and the end of both FIFOs is
//!   what ends an exec's output (its exit does not: its last bytes may still be in the FIFO,
//!   and children may write after it).
//! - Not registered before Start: a read of a FIFO that has no writer returns end-of-file
//!   at once, so reads must not start before the shim's writer exists. Registering after
//!   Start is enough on its own; besides, tokio only reads once the reactor reported
//!   readiness, and Linux withholds the hangup of a read end opened non-blocking before any
//!   writer until a writer has come (fs/pipe.c, `fifo_open`), so even an early registration
//!   would not see a spurious end.
//! - A process that ended before the registration is no problem: its writer came and went,
//!   so the hangup is reported, and the reads return the bytes left in the FIFO, then
//!   end-of-file.
//!
//! The stdin write end is opened after Start, `O_WRONLY | O_NONBLOCK` ([`writer`]): it fails
//! at once (`ENXIO`) if the shim has no reader, instead of waiting for one. A write waits
//! (on the reactor) while the FIFO is full, so a process that does not read its stdin slows
//! the writer down and nothing piles up here.

use std::fs::File;
use std::io;
use std::path::Path;

use futures::Stream;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::task::JoinHandle;

use crate::RuntimeError;

/// The most read from a FIFO at once: a pipe's default capacity is 64 KiB, so this takes
/// half of a full one per read.
pub(crate) const CHUNK: usize = 32 * 1024;

fn io_error(op: &'static str, path: &Path, source: io::Error) -> RuntimeError {
    RuntimeError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Register the read end `file` of the FIFO at `path` (opened by
/// [`Fifos::open`](super::io::Fifos::open)) with the reactor. Call once the shim holds the
/// write end (after Tasks.Start), within a tokio runtime.
pub(crate) fn reader(file: File, path: &Path) -> Result<pipe::Receiver, RuntimeError> {
    pipe::Receiver::from_file(file).map_err(|e| io_error("reading an exec's output FIFO", path, e))
}

/// Open the write end of an exec's stdin FIFO at `path`, registered with the reactor. The
/// shim must have opened the read end (it does in Tasks.Start); if it has not, this fails at
/// once with `ENXIO` instead of waiting for a reader. Within a tokio runtime.
///
/// Open it before anything is written or closed: while it is open the shim's reader cannot
/// see end-of-file, so a close of stdin that comes right after a write never overtakes the
/// bytes.
pub(crate) fn writer(path: &Path) -> Result<pipe::Sender, RuntimeError> {
    // Opening a FIFO non-blocking never waits, so this is fine on the runtime's threads.
    pipe::OpenOptions::new()
        .open_sender(path)
        .map_err(|e| io_error("opening an exec's stdin FIFO", path, e))
}

/// Read `rx` until `buf` holds something or the FIFO ended: the number of bytes read, 0 at
/// end-of-file. A read error other than an interruption counts as the end (logged at
/// debug): the shim has gone, and with it everything it would have written.
pub(crate) async fn read_some(rx: &mut pipe::Receiver, buf: &mut [u8]) -> usize {
    loop {
        match rx.read(buf).await {
            Ok(n) => return n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::debug!(error = %e, "reading an exec's output FIFO failed; taken as its end");
                return 0;
            }
        }
    }
}

/// What is written into `rx`, chunk by chunk as it is read, until its end. Nothing is read
/// ahead: the FIFO is read only while the stream is polled, so a consumer that does not
/// poll holds the writer back once the FIFO is full.
pub(crate) fn chunks(rx: pipe::Receiver) -> impl Stream<Item = Vec<u8>> + Send + 'static {
    futures::stream::unfold((rx, vec![0u8; CHUNK]), |(mut rx, mut buf)| async move {
        match read_some(&mut rx, &mut buf).await {
            0 => None,
            n => Some((buf[..n].to_vec(), (rx, buf))),
        }
    })
}

/// A spawned task that is aborted when this is dropped: readers that must not outlive the
/// exec they read for (its caller gave up, or a child of the process holds the FIFO open
/// long after the exit).
pub(crate) struct AbortOnDrop<T>(pub(crate) JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;

    fn fifo_in(dir: &Path, name: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        crate::containers::io::fresh_fifo(&path).unwrap();
        path
    }

    /// The read end as `Fifos::open` opens it: before any writer.
    fn early_read_end(path: &Path) -> File {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap()
    }

    #[tokio::test]
    async fn a_read_end_opened_before_its_writer_waits_for_it_then_reads_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = fifo_in(dir.path(), "out");
        let early = early_read_end(&path);
        // Registered before any writer: no spurious end while there is none.
        let mut out = Box::pin(chunks(reader(early, &path).unwrap()));
        let nothing = tokio::time::timeout(Duration::from_millis(200), out.next()).await;
        assert!(nothing.is_err(), "an end before any writer: {nothing:?}");
        let mut w = pipe::OpenOptions::new().open_sender(&path).unwrap();
        w.write_all(b"hello").await.unwrap();
        assert_eq!(out.next().await, Some(b"hello".to_vec()));
        w.write_all(b" world").await.unwrap();
        drop(w);
        let rest: Vec<Vec<u8>> = out.collect().await;
        assert_eq!(rest.concat(), b" world");
    }

    #[tokio::test]
    async fn a_writer_that_came_and_went_before_the_registration_leaves_its_bytes_then_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = fifo_in(dir.path(), "out");
        let early = early_read_end(&path);
        let mut w = pipe::OpenOptions::new().open_sender(&path).unwrap();
        w.write_all(b"last words").await.unwrap();
        drop(w);
        let got = tokio::time::timeout(
            Duration::from_secs(5),
            chunks(reader(early, &path).unwrap()).collect::<Vec<_>>(),
        )
        .await
        .expect("the end is seen");
        assert_eq!(got.concat(), b"last words");
    }

    #[tokio::test]
    async fn a_stdin_writer_needs_a_reader_and_waits_while_the_fifo_is_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = fifo_in(dir.path(), "in");
        let err = writer(&path).expect_err("no reader yet");
        assert!(err.to_string().contains("stdin FIFO"), "{err}");
        let mut r = reader(early_read_end(&path), &path).unwrap();
        let mut w = writer(&path).unwrap();
        // More than the FIFO holds: the write waits until the reader takes some.
        let big = vec![7u8; 1024 * 1024];
        let write = tokio::spawn(async move {
            w.write_all(&big).await.unwrap();
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!write.is_finished(), "a full FIFO did not hold the writer");
        let mut total = 0;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = read_some(&mut r, &mut buf).await;
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|b| *b == 7));
            total += n;
        }
        write.await.unwrap();
        assert_eq!(total, 1024 * 1024);
    }

    #[tokio::test]
    async fn a_dropped_guard_aborts_its_task() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let guard = AbortOnDrop(tokio::spawn(async move {
            let _tx = tx;
            std::future::pending::<()>().await
        }));
        drop(guard);
        // The task (and the sender it holds) is gone.
        assert!(tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .expect("aborted")
            .is_err());
    }
}

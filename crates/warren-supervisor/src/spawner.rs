//! One long-lived thread that forks every daemon.
//!
//! A managed daemon gets `PR_SET_PDEATHSIG = SIGKILL`, so that it dies with a supervisor that
//! is itself killed (shims live: the setting is not inherited across fork). The kernel sends
//! that signal when the *thread* that forked the child exits, not the process: forking from
//! a tokio worker or blocking-pool thread (which exit when idle or when their runtime ends)
//! would kill the daemon at a random moment. This thread never exits, so the signal fires
//! only when the whole process is gone.

use std::io;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::OnceLock;

use tokio::sync::oneshot;

struct Job {
    command: Command,
    reply: oneshot::Sender<io::Result<Child>>,
}

fn thread() -> Option<&'static mpsc::Sender<Job>> {
    static SPAWNER: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("containerd-spawner".into())
                .spawn(move || {
                    for mut job in rx {
                        // The caller gave up (its future was dropped) while we forked: no one
                        // will ever watch this daemon, so it must not live on.
                        if let Err(Ok(mut orphan)) = job.reply.send(job.command.spawn()) {
                            let _ = orphan.kill();
                            let _ = orphan.wait();
                        }
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Spawn `command` from the spawner thread.
pub(crate) async fn spawn(command: Command) -> io::Result<Child> {
    let (reply, rx) = oneshot::channel();
    thread()
        .ok_or_else(|| io::Error::other("cannot start the containerd-spawner thread"))?
        .send(Job { command, reply })
        .map_err(|_| io::Error::other("the containerd-spawner thread is gone"))?;
    rx.await
        .map_err(|_| io::Error::other("the containerd-spawner thread dropped the request"))?
}

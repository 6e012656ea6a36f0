//! `run -i/-t`, `exec -i/-t` and `attach`: the local terminal (or pipes) connected to a
//! process in a container through the node API's `Attach` stream.
//!
//! With a terminal: raw mode while attached (restored on every way out: the process's exit,
//! a detach, an error, SIGTERM or SIGHUP), window-size changes sent as they happen
//! (SIGWINCH), and the detach keys (Ctrl-P Ctrl-Q unless `--detach-keys` says otherwise).
//! Without one, stdin's end closes the process's stdin. The exit code is the process's.

use std::io::Write;

use anyhow::anyhow;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use warren_client::Node;
use warren_proto::warren::node::v1 as api;

use super::exit::Exit;
use super::terminal::{self, DetachKeys, DetachScanner, RawMode, Stdin};

/// How a session was set up.
pub struct Session {
    /// The first input: run, exec or attach.
    pub first: api::attach_input::Input,
    /// The process has a terminal: raw mode, resizes, detach keys.
    pub tty: bool,
    /// Local stdin goes to the process.
    pub stdin: bool,
    /// The detach sequence.
    pub detach_keys: DetachKeys,
    /// The exit code when the daemon refuses the session (125 for run, 126 for exec).
    pub refused_code: u8,
}

fn input(i: api::attach_input::Input) -> api::AttachInput {
    api::AttachInput { input: Some(i) }
}

/// `-t` needs a terminal on stdin, as Docker's does.
pub fn check_tty(tty: bool) -> anyhow::Result<()> {
    if tty && !terminal::stdin_is_tty() {
        return Err(anyhow::Error::new(Exit {
            code: 1,
            message: "the input device is not a TTY: drop -t, or run this from a terminal".into(),
        }));
    }
    Ok(())
}

/// Run the session; the process's exit code (0 after a detach).
pub async fn run(node: &Node, s: Session) -> anyhow::Result<u8> {
    check_tty(s.tty)?;
    let (tx, rx) = mpsc::channel::<api::AttachInput>(16);
    tx.send(input(s.first)).await?;
    let mut outputs = match node.attach(ReceiverStream::new(rx)).await {
        Ok(r) => r,
        Err(e) => return Err(Exit::refused(s.refused_code, e)),
    };
    // From here on the local terminal is raw; the guard restores it however this ends.
    let _raw = if s.tty {
        Some(RawMode::enter().map_err(|e| anyhow!("cannot put the terminal in raw mode: {e}"))?)
    } else {
        None
    };
    if s.tty {
        if let Some((cols, rows)) = terminal::size() {
            let _ = tx
                .send(input(api::attach_input::Input::Resize(api::TerminalSize {
                    cols: cols.into(),
                    rows: rows.into(),
                })))
                .await;
        }
        tokio::spawn(forward_resizes(tx.clone()));
    }
    if s.stdin {
        tokio::spawn(forward_stdin(tx.clone(), s.tty.then_some(s.detach_keys)));
    }
    let mut stop = signals()?;
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    loop {
        let msg = tokio::select! {
            m = outputs.next() => m,
            code = stop.recv() => return Ok(code.unwrap_or(1)),
        };
        let Some(o) = msg.transpose()? else {
            return Ok(0);
        };
        use api::attach_output::Output;
        match o.output {
            Some(Output::Stdout(b)) => {
                stdout.write_all(&b)?;
                stdout.flush()?;
            }
            Some(Output::Stderr(b)) => {
                stderr.write_all(&b)?;
                stderr.flush()?;
            }
            Some(Output::Exit(e)) => return Ok(e.code.min(255) as u8),
            Some(Output::Detached(_)) => {
                if s.tty {
                    // The terminal is raw: end the line by hand.
                    let _ = write!(stderr, "\r\nread escape sequence\r\n");
                }
                return Ok(0);
            }
            Some(Output::Id(_)) | None => {}
        }
    }
}

/// SIGTERM, SIGHUP and SIGINT end the session (the container runs on), with the shell's
/// exit code for the signal; the terminal is restored on the way out.
fn signals() -> anyhow::Result<mpsc::Receiver<u8>> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = mpsc::channel(1);
    for (kind, code) in [
        (SignalKind::terminate(), 143),
        (SignalKind::hangup(), 129),
        (SignalKind::interrupt(), 130),
    ] {
        let mut s = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            if s.recv().await.is_some() {
                let _ = tx.send(code).await;
            }
        });
    }
    Ok(rx)
}

/// Send the terminal's new size after every SIGWINCH.
async fn forward_resizes(tx: mpsc::Sender<api::AttachInput>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut winch) = signal(SignalKind::window_change()) else {
        return;
    };
    while winch.recv().await.is_some() {
        if let Some((cols, rows)) = terminal::size() {
            let resize = api::TerminalSize {
                cols: cols.into(),
                rows: rows.into(),
            };
            if tx
                .send(input(api::attach_input::Input::Resize(resize)))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// Send what is typed (or piped in); the detach keys (with a terminal) end the session,
/// the end of stdin closes the process's stdin. A terminal or pipe is read on the reactor
/// (see [`Stdin`]).
async fn forward_stdin(tx: mpsc::Sender<api::AttachInput>, detach: Option<DetachKeys>) {
    let mut stdin = Stdin::open();
    let mut scanner = detach.as_ref().map(DetachScanner::new);
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match stdin.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx
                    .send(input(api::attach_input::Input::CloseStdin(true)))
                    .await;
                return;
            }
            Ok(n) => n,
        };
        let (send, detached) = match scanner.as_mut() {
            Some(s) => s.feed(&buf[..n]),
            None => (buf[..n].to_vec(), false),
        };
        if !send.is_empty()
            && tx
                .send(input(api::attach_input::Input::Stdin(send)))
                .await
                .is_err()
        {
            return;
        }
        if detached {
            let _ = tx.send(input(api::attach_input::Input::Detach(true))).await;
            return;
        }
    }
}

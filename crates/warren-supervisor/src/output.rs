//! The daemon's output: forwarded line by line to `tracing`, appended to a log file if
//! asked, and the last lines kept for start-up errors.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};

const TAIL_LINES: usize = 40;

/// The last lines the daemon printed.
#[derive(Clone, Debug, Default)]
pub struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, line: String) {
        if let Ok(mut t) = self.0.lock() {
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
    }

    /// The kept lines, oldest first.
    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Fill from the end of a log file (for daemons whose output went to a file).
    pub fn load_file(&self, path: &std::path::Path) {
        if let Ok(text) = std::fs::read_to_string(path) {
            let lines: Vec<&str> = text.lines().collect();
            for l in &lines[lines.len().saturating_sub(TAIL_LINES)..] {
                self.push(l.to_string());
            }
        }
    }
}

/// Forward `reader` until EOF.
pub fn forward<R>(reader: R, stream: &'static str, tail: Tail, log_file: Option<PathBuf>)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut file = match log_file {
            Some(p) => tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .await
                .ok(),
            None => None,
        };
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::info!(target: "containerd", stream, "{line}");
            if let Some(f) = file.as_mut() {
                let _ = f.write_all(line.as_bytes()).await;
                let _ = f.write_all(b"\n").await;
            }
            tail.push(line);
        }
    });
}

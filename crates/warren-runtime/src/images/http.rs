//! Waiting for and reading registry answers within limits: every wait (for an answer's
//! headers, for the next bytes of a body) ends at the idle timeout or the pull's deadline,
//! whichever comes first, and every body read whole has a cap.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::time::Instant;

use super::limits::{ERROR_MESSAGE_BYTES, MAX_ERROR_BODY_BYTES};
use super::registry::{CONNECT_TIMEOUT_SETTING, READ_TIMEOUT_SETTING};
use crate::RuntimeError;

/// Where the pull deadline is set, for error messages.
pub(crate) const DEADLINE_SETTING: &str = "PullOptions::deadline";

/// The time limits of one pull's registry requests.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    /// The longest silence: no answer, or no byte of a body, for this long.
    pub idle: Duration,
    /// The connect timeout the HTTP client was built with (for messages).
    pub connect: Duration,
    /// When the whole pull must be over, and the deadline as given.
    pub deadline: Option<(Instant, Duration)>,
}

/// Why a wait ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The registry said nothing for the idle timeout.
    Idle(Duration),
    /// The pull's deadline passed.
    Deadline(Duration),
}

/// Why a request or a read failed below the HTTP status level.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A time limit was reached.
    Stop(Stop),
    /// No connection within the connect timeout.
    Connect(Duration),
    /// The connection failed or broke.
    Broken(reqwest::Error),
}

impl Failure {
    /// The typed error for this failure while doing `op` with `registry`.
    pub(crate) fn into_error(self, op: &'static str, registry: &str) -> RuntimeError {
        let timeout = |what: String, setting| RuntimeError::RegistryTimeout {
            op,
            registry: registry.to_string(),
            what,
            setting,
        };
        match self {
            Failure::Stop(Stop::Idle(d)) => {
                timeout(format!("no byte for {}", secs(d)), READ_TIMEOUT_SETTING)
            }
            Failure::Stop(Stop::Deadline(d)) => timeout(
                format!("the pull ran past its deadline of {}", secs(d)),
                DEADLINE_SETTING,
            ),
            Failure::Connect(d) => timeout(
                format!("no connection within {}", secs(d)),
                CONNECT_TIMEOUT_SETTING,
            ),
            Failure::Broken(e) => RuntimeError::RegistryUnreachable {
                op,
                registry: registry.to_string(),
                message: error_chain(&e),
                source: Some(Box::new(e)),
            },
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

impl Clock {
    /// Wait for `fut` no longer than the idle timeout, and not past the deadline.
    pub(crate) async fn wait<F: Future>(&self, fut: F) -> Result<F::Output, Stop> {
        let idle_end = Instant::now() + self.idle;
        let (end, stop) = match self.deadline {
            Some((at, total)) if at < idle_end => (at, Stop::Deadline(total)),
            _ => (idle_end, Stop::Idle(self.idle)),
        };
        tokio::time::timeout_at(end, fut).await.map_err(|_| stop)
    }

    /// `Err` once the deadline has passed.
    pub(crate) fn check_deadline(&self) -> Result<(), Stop> {
        match self.deadline {
            Some((at, total)) if Instant::now() >= at => Err(Stop::Deadline(total)),
            _ => Ok(()),
        }
    }

    /// Send `request` and wait for the answer's headers within the limits.
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Result<Response, Failure> {
        match self.wait(request.send()).await {
            Err(stop) => Err(Failure::Stop(stop)),
            // No total timeout is set on the client: a timeout before the headers is the
            // connect timeout.
            Ok(Err(e)) if e.is_timeout() => Err(Failure::Connect(self.connect)),
            Ok(Err(e)) => Err(Failure::Broken(e)),
            Ok(Ok(r)) => Ok(Response {
                status: r.status(),
                headers: r.headers().clone(),
                url: r.url().to_string(),
                content_length: r.content_length(),
                body: Box::pin(r.bytes_stream()),
            }),
        }
    }
}

/// A body as it arrives.
pub(crate) type BodyStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// An answer whose headers arrived; its body is read through [`Response::next`].
pub(crate) struct Response {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub url: String,
    pub content_length: Option<u64>,
    body: BodyStream,
}

/// Why a capped read failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The body is longer than the cap (declared so, or sent so).
    Over,
    /// A limit or the connection failed first.
    Failed(Failure),
}

impl Response {
    /// The next piece of the body (`None` at its end), waiting no longer than the clock
    /// allows.
    pub(crate) async fn next(&mut self, clock: &Clock) -> Result<Option<Bytes>, Failure> {
        match clock.wait(self.body.next()).await {
            Err(stop) => Err(Failure::Stop(stop)),
            Ok(None) => Ok(None),
            Ok(Some(Ok(b))) => Ok(Some(b)),
            Ok(Some(Err(e))) => Err(Failure::Broken(e)),
        }
    }

    /// The whole body, if it is at most `cap` bytes; refused (unread) when its declared
    /// length is over the cap, and as soon as more than `cap` bytes arrived otherwise.
    pub(crate) async fn read_capped(
        mut self,
        clock: &Clock,
        cap: u64,
    ) -> Result<Vec<u8>, ReadError> {
        if self.content_length.is_some_and(|l| l > cap) {
            return Err(ReadError::Over);
        }
        let mut out = Vec::new();
        while let Some(chunk) = self.next(clock).await.map_err(ReadError::Failed)? {
            if (out.len() + chunk.len()) as u64 > cap {
                return Err(ReadError::Over);
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// What an error answer says, for a message: at most [`MAX_ERROR_BODY_BYTES`] of its
    /// body are read (within the clock's limits), and its first [`ERROR_MESSAGE_BYTES`]
    /// are kept. Never fails: a body that stalls or breaks gives what came before.
    pub(crate) async fn error_text(mut self, clock: &Clock) -> String {
        let mut kept = Vec::new();
        let mut read = 0u64;
        while read < MAX_ERROR_BODY_BYTES {
            let Ok(Some(chunk)) = self.next(clock).await else {
                break;
            };
            read += chunk.len() as u64;
            let room = ERROR_MESSAGE_BYTES.saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..room.min(chunk.len())]);
        }
        let text = String::from_utf8_lossy(&kept);
        let text = text.trim();
        let cut = if read > kept.len() as u64 { "…" } else { "" };
        format!("{} answered {}: {text}{cut}", self.url, self.status)
    }
}

/// An error and its sources on one line (reqwest's own message hides the cause).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

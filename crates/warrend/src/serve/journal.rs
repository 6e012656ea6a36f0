//! warrend's event history: every container event (containerd's task events and warrend's
//! own restart and health decisions) gets a cursor (an epoch and a sequence number) and is
//! kept in a bounded ring, so a client that reconnects can resume exactly where it left off.
//!
//! One task reads containerd's events for the whole daemon; each `Events` call reads the
//! ring, then the live feed. Appending to the ring and publishing happen under one lock, and
//! a subscriber copies its backlog and subscribes under the same lock, so between the two
//! nothing is lost or seen twice. A subscriber that falls behind the live feed catches up
//! from the ring; one that falls behind the ring is told so (OUT_OF_RANGE).
//!
//! The epoch changes when warrend starts and whenever containerd's event stream breaks
//! (events of the gap are lost, so every cursor from before must be refused).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::broadcast;
use tonic::Status;
use warren_proto::warren::node::v1 as api;

use super::Daemon;

/// How many events the live feed buffers per subscriber before it must catch up from the ring.
const FEED: usize = 1024;

/// The history's state; shared by the recorder and every subscriber.
struct Ring {
    epoch: String,
    /// Sequence of the newest event (0: none yet in this epoch).
    last: u64,
    events: VecDeque<api::Event>,
    capacity: usize,
}

/// A handle on the event history; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    ring: Arc<Mutex<Ring>>,
    feed: broadcast::Sender<Live>,
}

/// What the live feed carries: the next event, or the news that the epoch ended.
#[derive(Clone, Debug)]
enum Live {
    Event(api::Event),
    EpochEnded,
}

/// Why a cursor cannot be resumed from.
fn out_of_range(why: String) -> Status {
    Status::out_of_range(format!(
        "{why}: events may have been missed; list the containers again and subscribe without a cursor"
    ))
}

/// A fresh epoch name: 16 random hex digits.
fn new_epoch() -> String {
    format!("{:016x}", rand::random::<u64>())
}

impl Journal {
    /// An empty history keeping the last `capacity` events (at least 1).
    pub fn new(capacity: usize) -> Journal {
        let (feed, _) = broadcast::channel(FEED);
        Journal {
            ring: Arc::new(Mutex::new(Ring {
                epoch: new_epoch(),
                last: 0,
                events: VecDeque::new(),
                capacity: capacity.max(1),
            })),
            feed,
        }
    }

    /// Give `event` the next cursor, keep it, and send it to every subscriber.
    pub fn record(&self, mut event: api::Event) {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.last += 1;
        // Kept without the epoch (the same for every event of the ring; added when read).
        event.cursor = Some(api::EventCursor {
            epoch: String::new(),
            sequence: ring.last,
        });
        if ring.events.len() == ring.capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(event.clone());
        if let Some(c) = event.cursor.as_mut() {
            c.epoch = ring.epoch.clone();
        }
        let _ = self.feed.send(Live::Event(event));
    }

    /// Start a new epoch: every cursor given so far becomes unusable, and live
    /// subscribers are ended with OUT_OF_RANGE (they may have missed events).
    pub fn new_epoch(&self) {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.epoch = new_epoch();
        ring.last = 0;
        ring.events.clear();
        let _ = self.feed.send(Live::EpochEnded);
    }

    /// Events after `after` (every event from now on without it), then live ones, as a
    /// channel; the channel ends with an error when the subscriber can no longer be given
    /// every event.
    pub fn subscribe(
        &self,
        after: Option<&api::EventCursor>,
    ) -> Result<tokio::sync::mpsc::Receiver<Result<api::Event, Status>>, Status> {
        let (backlog, feed, epoch, mut next) = {
            let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
            let backlog = match after {
                None => Vec::new(),
                Some(c) => ring.since(c)?,
            };
            (
                backlog,
                self.feed.subscribe(),
                ring.epoch.clone(),
                ring.last + 1,
            )
        };
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let journal = self.clone();
        tokio::spawn(async move {
            for e in backlog {
                if tx.send(Ok(e)).await.is_err() {
                    return;
                }
            }
            journal.follow(feed, epoch, &mut next, tx).await;
        });
        Ok(rx)
    }

    /// Forward the live feed from sequence `next` on; catch up from the ring after a lag.
    async fn follow(
        &self,
        mut feed: broadcast::Receiver<Live>,
        epoch: String,
        next: &mut u64,
        tx: tokio::sync::mpsc::Sender<Result<api::Event, Status>>,
    ) {
        loop {
            let live = tokio::select! {
                live = feed.recv() => live,
                _ = tx.closed() => return,
            };
            let events = match live {
                Ok(Live::Event(e)) => vec![e],
                Ok(Live::EpochEnded) => {
                    let _ = tx
                        .send(Err(out_of_range(
                            "containerd's event stream broke and was opened again".into(),
                        )))
                        .await;
                    return;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let cursor = api::EventCursor {
                        epoch: epoch.clone(),
                        sequence: *next - 1,
                    };
                    let caught = {
                        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
                        ring.since(&cursor)
                    };
                    // The feed's buffer now starts at or before the ring's end; the sequence
                    // check below drops what the ring already gave.
                    match caught {
                        Ok(events) => events,
                        Err(s) => {
                            let _ = tx.send(Err(s)).await;
                            return;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            for e in events {
                let seq = e.cursor.as_ref().map_or(0, |c| c.sequence);
                if seq < *next {
                    continue;
                }
                *next = seq + 1;
                if tx.send(Ok(e)).await.is_err() {
                    return;
                }
            }
        }
    }

    /// The current epoch and the newest sequence (for tests and `info`).
    #[cfg(test)]
    fn head(&self) -> (String, u64) {
        let ring = self.ring.lock().unwrap();
        (ring.epoch.clone(), ring.last)
    }
}

impl Ring {
    /// The events after `c`, or why they cannot be had.
    fn since(&self, c: &api::EventCursor) -> Result<Vec<api::Event>, Status> {
        if c.epoch != self.epoch {
            return Err(out_of_range(format!(
                "the cursor is from event epoch {:?}, and warrend's history is now epoch {:?} (warrend restarted, or containerd's event stream broke)",
                c.epoch, self.epoch
            )));
        }
        if c.sequence > self.last {
            return Err(Status::invalid_argument(format!(
                "after.sequence: {} is beyond the newest event ({}) of epoch {}",
                c.sequence, self.last, self.epoch
            )));
        }
        let oldest = self.last + 1 - self.events.len() as u64;
        if c.sequence + 1 < oldest {
            return Err(out_of_range(format!(
                "the cursor's event {} is older than the {} events warrend keeps (the oldest is {})",
                c.sequence,
                self.events.len(),
                oldest
            )));
        }
        let skip = (c.sequence + 1 - oldest) as usize;
        let with_epoch = |e: &api::Event| {
            let mut e = e.clone();
            if let Some(c) = e.cursor.as_mut() {
                c.epoch = self.epoch.clone();
            }
            e
        };
        Ok(self.events.iter().skip(skip).map(with_epoch).collect())
    }
}

/// Record containerd's events of the namespace for the daemon's life; when the stream
/// breaks, open it again (waiting a little longer each time) in a new epoch.
pub async fn record_containerd(d: Daemon) {
    let mut wait = Duration::from_millis(100);
    let mut first = true;
    loop {
        match d.rt.events().await {
            Ok(mut events) => {
                if !first {
                    d.journal.new_epoch();
                    tracing::info!("containerd's event stream is open again, in a new event epoch");
                }
                wait = Duration::from_millis(100);
                while let Some(e) = events.next().await {
                    match e {
                        Ok(e) => d.journal.record(super::convert::container_event(e)),
                        Err(e) => {
                            tracing::warn!(error = %e, "containerd's event stream broke");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot subscribe to containerd's events"),
        }
        first = false;
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> api::Event {
        api::Event {
            container_id: id.into(),
            kind: api::EventKind::Started.into(),
            ..Default::default()
        }
    }

    fn cursor(j: &Journal, sequence: u64) -> api::EventCursor {
        api::EventCursor {
            epoch: j.head().0,
            sequence,
        }
    }

    async fn take(
        rx: &mut tokio::sync::mpsc::Receiver<Result<api::Event, Status>>,
        n: usize,
    ) -> Vec<u64> {
        let mut out = Vec::new();
        for _ in 0..n {
            let e = rx.recv().await.unwrap().unwrap();
            out.push(e.cursor.unwrap().sequence);
        }
        out
    }

    #[tokio::test]
    async fn resume_gives_every_event_after_the_cursor_then_live_ones() {
        let j = Journal::new(100);
        for i in 0..10 {
            j.record(event(&format!("c{i}")));
        }
        let mut rx = j.subscribe(Some(&cursor(&j, 4))).unwrap();
        j.record(event("late"));
        assert_eq!(take(&mut rx, 7).await, (5..=11).collect::<Vec<_>>());
        // Backlog and live events alike carry the epoch.
        let mut rx = j.subscribe(Some(&cursor(&j, 10))).unwrap();
        j.record(event("later"));
        for _ in 0..2 {
            let e = rx.recv().await.unwrap().unwrap();
            assert_eq!(e.cursor.unwrap().epoch, j.head().0);
        }
    }

    #[tokio::test]
    async fn without_a_cursor_only_new_events_come() {
        let j = Journal::new(100);
        j.record(event("old"));
        let mut rx = j.subscribe(None).unwrap();
        j.record(event("new"));
        assert_eq!(take(&mut rx, 1).await, vec![2]);
    }

    #[tokio::test]
    async fn an_evicted_a_foreign_or_a_future_cursor_is_refused() {
        let j = Journal::new(5);
        for _ in 0..10 {
            j.record(event("c"));
        }
        // 6..=10 are kept: resuming after 5 works, after 4 would miss 5.
        assert!(j.subscribe(Some(&cursor(&j, 5))).is_ok());
        let e = j.subscribe(Some(&cursor(&j, 4))).unwrap_err();
        assert_eq!(e.code(), tonic::Code::OutOfRange, "{e:?}");
        let other = api::EventCursor {
            epoch: "0000000000000000".into(),
            sequence: 7,
        };
        assert_eq!(
            j.subscribe(Some(&other)).unwrap_err().code(),
            tonic::Code::OutOfRange
        );
        assert_eq!(
            j.subscribe(Some(&cursor(&j, 11))).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }

    #[tokio::test]
    async fn a_new_epoch_ends_live_streams_and_old_cursors() {
        let j = Journal::new(10);
        j.record(event("a"));
        let old = cursor(&j, 1);
        let mut rx = j.subscribe(None).unwrap();
        j.new_epoch();
        let e = rx.recv().await.unwrap().unwrap_err();
        assert_eq!(e.code(), tonic::Code::OutOfRange);
        assert_eq!(
            j.subscribe(Some(&old)).unwrap_err().code(),
            tonic::Code::OutOfRange
        );
        j.record(event("b"));
        assert_eq!(j.head().1, 1);
    }

    #[tokio::test]
    async fn a_subscriber_that_lags_the_feed_catches_up_from_the_ring_in_order() {
        let j = Journal::new(FEED * 4);
        let mut rx = j.subscribe(None).unwrap();
        // More than the feed buffers, before the subscriber reads anything.
        for _ in 0..FEED * 2 {
            j.record(event("burst"));
        }
        let got = take(&mut rx, FEED * 2).await;
        assert_eq!(got, (1..=(FEED as u64 * 2)).collect::<Vec<_>>());
    }
}

//! [`Node::watch`]: the node's events as one endless stream that survives reconnects and
//! warrend restarts, and says when events may have been missed, as an informer needs.

use std::time::Duration;

use futures::{Stream, StreamExt};
use warren_proto::warren::node::v1 as api;

use crate::node::Items;
use crate::{ErrorKind, Node};

/// What a watch yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Watched {
    /// The next event, in order, none twice.
    Event(api::Event),
    /// Events may have been missed (warrend restarted, or the cursor fell out of the
    /// history it keeps): list what you track again; the watch goes on with new events.
    Resync,
}

struct State {
    node: Node,
    cursor: Option<api::EventCursor>,
    stream: Option<Items<api::Event>>,
    wait: Duration,
}

const FIRST_WAIT: Duration = Duration::from_millis(100);
const LONGEST_WAIT: Duration = Duration::from_secs(5);

impl State {
    async fn next(&mut self) -> Watched {
        loop {
            let Some(stream) = self.stream.as_mut() else {
                match self.node.events(self.cursor.clone()).await {
                    Ok(s) => {
                        self.stream = Some(s);
                        continue;
                    }
                    Err(e)
                        if e.kind() == ErrorKind::EventsMissed
                            || e.kind() == ErrorKind::InvalidInput =>
                    {
                        tracing::debug!(error = %e, "the event cursor cannot be resumed from");
                        self.cursor = None;
                        return Watched::Resync;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, wait = ?self.wait, "events: warrend does not answer; trying again");
                        tokio::time::sleep(self.wait).await;
                        self.wait = (self.wait * 2).min(LONGEST_WAIT);
                        continue;
                    }
                }
            };
            match stream.next().await {
                Some(Ok(e)) => {
                    self.wait = FIRST_WAIT;
                    if e.cursor.is_some() {
                        self.cursor = e.cursor.clone();
                    }
                    return Watched::Event(e);
                }
                Some(Err(e)) if e.kind() == ErrorKind::EventsMissed => {
                    self.stream = None;
                    self.cursor = None;
                    return Watched::Resync;
                }
                // The stream broke or ended (warrend stopping): resume from the cursor.
                Some(Err(_)) | None => {
                    self.stream = None;
                    tokio::time::sleep(self.wait).await;
                    self.wait = (self.wait * 2).min(LONGEST_WAIT);
                }
            }
        }
    }
}

impl Node {
    /// The node's events after `after` (from now on without it), endlessly: when the
    /// connection breaks or warrend restarts, the watch reconnects (waiting up to 5 s between
    /// tries) and resumes after the last event it gave. When it cannot, it yields
    /// [`Watched::Resync`] and goes on with new events. Drop the stream to stop.
    pub fn watch(&self, after: Option<api::EventCursor>) -> impl Stream<Item = Watched> + Send {
        let state = State {
            node: self.clone(),
            cursor: after,
            stream: None,
            wait: FIRST_WAIT,
        };
        futures::stream::unfold(state, |mut s| async move {
            let next = s.next().await;
            Some((next, s))
        })
    }
}

//! The Events service: subscribing to what happens in the daemon, and publishing.

use warren_proto::containerd::services::events::v1::{PublishRequest, SubscribeRequest};
use warren_proto::containerd::types::Envelope;

use super::Replies;
use crate::RuntimeError;

super::rpcs!(Events, events {
    /// Publish one event. Made once.
    once publish(PublishRequest) -> () = "Events.Publish";
});

impl Events<'_> {
    /// Subscribe to the events the filters match. containerd answers (and this returns)
    /// only once the first event arrives; retried while the daemon restarts.
    pub(crate) async fn subscribe(
        &self,
        req: SubscribeRequest,
    ) -> Result<Replies<Envelope>, RuntimeError> {
        let op = "Events.Subscribe";
        self.0
            .retrying(op, req, |c, r| async move { c.events().subscribe(r).await })
            .await
            .map(|inner| Replies::new(op, inner))
    }
}

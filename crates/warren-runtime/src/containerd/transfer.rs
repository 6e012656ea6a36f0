//! The Transfer service (server-side pulls) and the Streaming service whose streams carry a
//! transfer's progress and credentials.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use warren_proto::any;
use warren_proto::containerd::services::streaming::v1::StreamInit;
use warren_proto::containerd::services::transfer::v1::TransferRequest;

use super::{protocol_error, Replies};
use crate::RuntimeError;

super::rpcs!(Transfer, transfer {
    /// Run one transfer in the daemon (e.g. registry to image store), answering when it is
    /// done. Made once.
    once transfer(TransferRequest) -> () = "Transfer.Transfer";
});

impl super::Containerd {
    /// Open a Streaming stream named `<prefix>-<random>`, acknowledged by the daemon: its id
    /// (to name in a transfer), our sending half and the daemon's messages.
    pub(crate) async fn open_stream(
        &self,
        prefix: &str,
    ) -> Result<
        (
            String,
            mpsc::Sender<prost_types::Any>,
            Replies<prost_types::Any>,
        ),
        RuntimeError,
    > {
        let op = "Streaming.Stream";
        let id = format!("{prefix}-{:016x}", rand::random::<u64>());
        let (tx, rx) = mpsc::channel(4);
        tx.send(any::pack(&StreamInit { id: id.clone() }))
            .await
            .map_err(|_| protocol_error(op, "stream closed"))?;
        let inbound = self
            .once(op, ReceiverStream::new(rx), |c, r| async move {
                c.streaming().stream(r).await
            })
            .await?;
        let mut inbound = Replies::new(op, inbound);
        // The daemon acknowledges the stream before it is usable.
        inbound.next().await.transpose()?;
        Ok((id, tx, inbound))
    }
}

//! `warrend wait`: wait for containers to exit; prints each one's exit code.

use warren_client::Node;

use crate::cli::ids::{each_line, IdsArgs};

/// `warrend wait`: each container's exit code, in the order given.
pub async fn wait(node: &Node, a: IdsArgs) -> anyhow::Result<u8> {
    each_line(a.ids, |id| async move {
        node.wait(id).await.map(|e| e.code.to_string())
    })
    .await
}

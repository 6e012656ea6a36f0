//! `warrend start`: start containers.

use warren_client::Node;

use crate::cli::ids::{each, IdsArgs};

/// `warrend start`.
pub async fn start(node: &Node, a: IdsArgs) -> anyhow::Result<u8> {
    each(a.ids, |id| async move { node.start(id).await.map(|_| ()) }).await
}

//! `warrend rm`: remove containers.

use clap::Args;
use warren_client::Node;

use crate::cli::ids::each;

/// Options of `rm`.
#[derive(Args)]
pub struct RmArgs {
    /// Kill and remove running containers too.
    #[arg(short, long)]
    pub force: bool,
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `warrend rm`.
pub async fn remove(node: &Node, a: RmArgs) -> anyhow::Result<u8> {
    each(a.ids, |id| node.delete(id, a.force)).await
}

//! `warrend container prune`: remove every stopped and created container.

use clap::Subcommand;
use warren_client::Node;

use crate::cli::prune::{prune, PruneArgs, Pruned};

/// `warrend container ...`.
#[derive(Subcommand)]
pub enum ContainerCommand {
    /// Remove every stopped and created container.
    Prune(PruneArgs),
}

/// `warrend container prune`.
pub async fn container(node: &Node, cmd: ContainerCommand, json: bool) -> anyhow::Result<u8> {
    let ContainerCommand::Prune(a) = cmd;
    prune(node, Pruned::Containers, a.force, a.filter, json).await
}

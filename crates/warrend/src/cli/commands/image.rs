//! `warrend image prune`: remove every image no container (running or not) was created from.

use clap::{Args, Subcommand};
use warren_client::Node;

use crate::cli::prune::{prune, PruneArgs, Pruned};

/// Options of `image prune`.
#[derive(Args)]
pub struct ImagePruneArgs {
    /// Accepted for Docker's sake: every image warrend keeps has a name, so there are no
    /// dangling ones; `image prune` always removes every image no container uses.
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub prune: PruneArgs,
}

/// `warrend image ...`.
#[derive(Subcommand)]
pub enum ImageCommand {
    /// Remove every image no container (running or not) was created from.
    Prune(ImagePruneArgs),
}

/// `warrend image prune`.
pub async fn image(node: &Node, cmd: ImageCommand, json: bool) -> anyhow::Result<u8> {
    let ImageCommand::Prune(a) = cmd;
    prune(node, Pruned::Images, a.prune.force, a.prune.filter, json).await
}

//! `warrend stop`: stop containers (stop signal, then SIGKILL after the timeout).

use clap::Args;
use warren_client::Node;

use crate::cli::ids::each;

/// Options of `stop`.
#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait after the stop signal before SIGKILL (default 10; 0 kills at once).
    #[arg(short, long)]
    pub time: Option<u32>,
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `warrend stop`.
pub async fn stop(node: &Node, a: StopArgs) -> anyhow::Result<u8> {
    let timeout = a.time.map(|s| std::time::Duration::from_secs(s.into()));
    each(a.ids, |id| node.stop(id, timeout)).await
}

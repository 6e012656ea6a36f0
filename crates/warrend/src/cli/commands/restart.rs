//! `warrend restart`: stop containers (stop signal, then SIGKILL after the timeout) and start
//! them again.

use clap::Args;
use warren_client::Node;

use crate::cli::ids::each_line;

/// Options of `restart`.
#[derive(Args)]
pub struct RestartArgs {
    /// Seconds to wait after the stop signal before SIGKILL (default 10; 0 kills at once).
    #[arg(short, long, visible_alias = "timeout")]
    pub time: Option<u32>,
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `warrend restart`.
pub async fn restart(node: &Node, a: RestartArgs) -> anyhow::Result<u8> {
    let timeout = a.time.map(|s| std::time::Duration::from_secs(s.into()));
    each_line(a.ids, |id| async move {
        node.restart(id.clone(), timeout).await.map(|_| id)
    })
    .await
}

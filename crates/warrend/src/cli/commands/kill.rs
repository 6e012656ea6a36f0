//! `warrend kill`: send a signal to containers (SIGKILL by default).

use clap::Args;
use warren_client::Node;

use crate::cli::ids::each_line;
use crate::cli::value_parsers::check_signal;

/// Options of `kill`.
#[derive(Args)]
pub struct KillArgs {
    /// The signal: a name with or without SIG (HUP, SIGTERM, RTMIN+3) or a number.
    /// SIGKILL, or the container's stop signal, ends it for good: its restart policy does
    /// not start it again.
    #[arg(short, long, default_value = "KILL", value_parser = check_signal)]
    pub signal: String,
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `warrend kill`.
pub async fn kill(node: &Node, a: KillArgs) -> anyhow::Result<u8> {
    let signal = a.signal.as_str();
    each_line(a.ids, |id| async move {
        node.kill(id.clone(), signal).await.map(|()| id)
    })
    .await
}

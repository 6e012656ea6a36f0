//! `warrend top`: a running container's processes, with host pids.

use clap::Args;
use warren_client::Node;

use crate::cli::json;
use crate::cli::output::{print_json, table};

/// Options of `top`.
#[derive(Args)]
pub struct TopArgs {
    /// The container.
    pub id: String,
}

/// `warrend top`: the container's processes with their host pids.
pub async fn top(node: &Node, a: TopArgs, json: bool) -> anyhow::Result<u8> {
    let list = node.top(a.id).await?;
    if json {
        print_json(&list.iter().map(json::Process::from).collect::<Vec<_>>());
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            let user = if p.user.is_empty() {
                p.uid.to_string()
            } else {
                p.user.clone()
            };
            vec![
                user,
                p.pid.to_string(),
                p.ppid.to_string(),
                p.command.clone(),
            ]
        })
        .collect();
    table(&["USER", "PID", "PPID", "COMMAND"], &rows);
    Ok(0)
}

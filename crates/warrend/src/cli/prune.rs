//! The prunes (`container prune`, `image prune`): their flags, the confirmation, the call
//! and what they print, as Docker's do.

use std::io::IsTerminal;
use std::time::SystemTime;

use anyhow::{anyhow, bail};
use clap::Args;
use tokio::io::AsyncBufReadExt;
use warren_client::Node;
use warren_proto::warren::node::v1 as api;

use super::json;
use super::output::{bytes, print_json};
use super::time_arg;

/// `--filter` of a prune: only `until=TIME`.
fn until_filter(s: &str) -> Result<SystemTime, String> {
    let Some(value) = s.strip_prefix("until=") else {
        return Err(format!(
            "{s:?} is not a supported filter: the one filter is until=DURATION|RFC3339|UNIX-SECONDS"
        ));
    };
    time_arg::parse(value)
}

/// Options of the prunes.
#[derive(Args)]
pub struct PruneArgs {
    /// Only what was created before a time: `until=24h`, `until=2026-01-02T15:04:05Z`.
    #[arg(long, value_name = "until=TIME", value_parser = until_filter)]
    pub filter: Option<SystemTime>,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(short, long)]
    pub force: bool,
}

/// Ask before a prune: yes with `-f`; else only a person at a terminal can say yes.
async fn confirmed(force: bool, what: &str) -> anyhow::Result<bool> {
    if force {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("not removing {what} without confirmation: stdin is not a terminal, so give -f/--force to prune without asking");
    }
    eprint!("This removes {what}. Are you sure? [y/N] ");
    let mut answer = String::new();
    tokio::io::BufReader::new(tokio::io::stdin())
        .read_line(&mut answer)
        .await?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

fn print_pruned(title: &str, r: &api::PruneResponse, show_bytes: bool, json: bool) {
    if json {
        print_json(&json::Pruned::from(r));
        return;
    }
    if !r.removed.is_empty() {
        println!("{title}:");
        for id in &r.removed {
            println!("{id}");
        }
        println!();
    }
    if show_bytes {
        println!("Total reclaimed space: {}", bytes(r.bytes_reclaimed));
    }
}

/// What a prune removes.
#[derive(Clone, Copy)]
pub(super) enum Pruned {
    Containers,
    Images,
}

/// Confirm, prune and print, as `docker container prune` and `docker image prune` do.
pub(super) async fn prune(
    node: &Node,
    what: Pruned,
    force: bool,
    until: Option<SystemTime>,
    json: bool,
) -> anyhow::Result<u8> {
    let (warning, title) = match what {
        Pruned::Containers => ("every stopped and created container", "Deleted Containers"),
        Pruned::Images => ("every image no container uses", "Deleted Images"),
    };
    if !confirmed(force, warning).await? {
        return Ok(1);
    }
    let r = match what {
        Pruned::Containers => node.prune_containers(until).await,
        Pruned::Images => node.prune_images(until).await,
    }
    .map_err(|e| anyhow!("{}", e.status_message()))?;
    print_pruned(title, &r, matches!(what, Pruned::Images), json);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_filters_are_checked_before_anything_is_sent() {
        assert!(until_filter("until=10m").is_ok());
        assert!(until_filter("label=x")
            .unwrap_err()
            .contains("not a supported filter"));
        assert!(until_filter("until=soon")
            .unwrap_err()
            .contains("not a time"));
    }
}

//! `warrend logs`: show a container's output.

use clap::Args;
use futures::{FutureExt, StreamExt};
use warren_client::Node;
use warren_proto::warren::node::v1 as api;

use crate::cli::log_lines::LinesOut;

/// Options of `logs`.
#[derive(Args)]
pub struct LogsArgs {
    /// Keep printing new output until the container's process ends.
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    pub tail: Option<u32>,
    /// Prefix each line with when it was written.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Only lines written since a time: a duration back from now (10m, 1h30m), an RFC
    /// 3339 time or Unix seconds.
    #[arg(long, value_name = "TIME", value_parser = crate::cli::time_arg::parse)]
    pub since: Option<std::time::SystemTime>,
    /// Only lines written before a time (same forms as --since); a follow ends then.
    #[arg(long, value_name = "TIME", value_parser = crate::cli::time_arg::parse)]
    pub until: Option<std::time::SystemTime>,
    /// The container.
    pub id: String,
}

/// `warrend logs`.
pub async fn logs(node: &Node, a: LogsArgs, json: bool) -> anyhow::Result<u8> {
    let mut stream = node
        .logs(api::LogsRequest {
            id: a.id,
            tail: a.tail.unwrap_or(0),
            follow: a.follow,
            since: a.since.map(crate::cli::time_arg::timestamp),
            until: a.until.map(crate::cli::time_arg::timestamp),
        })
        .await?;
    if a.tail == Some(0) {
        return Ok(0);
    }
    let mut out = LinesOut::default();
    loop {
        // Buffered while lines keep coming; written out as soon as none is waiting.
        let next = match stream.next().now_or_never() {
            Some(next) => next,
            None => {
                out.flush();
                stream.next().await
            }
        };
        match next.transpose()? {
            Some(l) => out.line(&l, a.timestamps, json),
            None => break,
        }
    }
    out.flush();
    Ok(0)
}

//! `warrend events`: follow container events (containerd's and warrend's restart decisions).

use clap::Args;
use futures::StreamExt;
use warren_client::Node;
use warren_proto::warren::node::v1 as api;

use crate::cli::json;
use crate::cli::output::print_json;

/// Options of `events`.
#[derive(Args)]
pub struct EventsArgs {
    /// Resume after this event: the `cursor` (EPOCH:SEQUENCE) of the last event seen.
    #[arg(long, value_name = "EPOCH:SEQUENCE", value_parser = cursor)]
    pub after: Option<api::EventCursor>,
}

fn cursor(s: &str) -> Result<api::EventCursor, String> {
    let bad = || format!("{s:?} is not an event cursor: EPOCH:SEQUENCE, as `events` prints it");
    let (epoch, seq) = s.split_once(':').ok_or_else(bad)?;
    let sequence = seq.parse().map_err(|_| bad())?;
    if epoch.is_empty() {
        return Err(bad());
    }
    Ok(api::EventCursor {
        epoch: epoch.to_string(),
        sequence,
    })
}

/// `warrend events`: one line per event until interrupted.
pub async fn events(node: &Node, a: EventsArgs) -> anyhow::Result<u8> {
    let mut stream = node.events(a.after).await?;
    while let Some(e) = stream.next().await.transpose()? {
        print_json(&json::Event::from(&e));
    }
    Ok(0)
}

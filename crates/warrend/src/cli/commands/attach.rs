//! `warrend attach`: attach the local terminal (or stdin and stdout) to a running container.

use clap::Args;
use warren_client::Node;
use warren_proto::warren::node::v1 as api;

/// Options of `attach`.
#[derive(Args)]
pub struct AttachArgs {
    /// Do not attach stdin (output only).
    #[arg(long)]
    pub no_stdin: bool,
    /// The keys that detach, e.g. `ctrl-p,ctrl-q` (the default).
    #[arg(long, value_name = "KEYS", default_value = "ctrl-p,ctrl-q", value_parser = crate::cli::terminal::parse_detach_keys)]
    pub detach_keys: crate::cli::terminal::DetachKeys,
    /// The container.
    pub id: String,
}

/// `warrend attach`: a terminal container in raw mode if the local stdin is a terminal,
/// else stdin and output as pipes; the exit code is the container's (0 after a detach).
pub async fn attach(node: &Node, a: AttachArgs) -> anyhow::Result<u8> {
    let detail = node.inspect(a.id.clone()).await?;
    crate::cli::interactive::run(
        node,
        crate::cli::interactive::Session {
            first: api::attach_input::Input::Attach(api::ContainerRef { id: a.id }),
            tty: detail.tty,
            stdin: detail.open_stdin && !a.no_stdin,
            detach_keys: a.detach_keys,
            refused_code: 1,
        },
    )
    .await
}

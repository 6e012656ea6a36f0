//! `warrend create`: create a container without starting it.

use clap::Args;
use warren_client::Node;

use crate::cli::container_args::ContainerArgs;
use crate::cli::json;
use crate::cli::output::print_json;

/// Options of `create`.
#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub container: ContainerArgs,
}

/// `warrend create`: prints the id.
pub async fn create(node: &Node, a: CreateArgs, json: bool) -> anyhow::Result<u8> {
    let spec = a.container.spec().map_err(anyhow::Error::msg)?;
    let id = node.create(spec).await?;
    if json {
        print_json(&json::Created { id: &id });
    } else {
        println!("{id}");
    }
    Ok(0)
}

//! `warrend rmi`: remove images.

use clap::Args;
use warren_client::Node;

/// Options of `rmi`.
#[derive(Args)]
pub struct RmiArgs {
    /// Images to remove.
    #[arg(required = true)]
    pub references: Vec<String>,
}

/// `warrend rmi`.
pub async fn remove(node: &Node, a: RmiArgs) -> anyhow::Result<u8> {
    let mut failed = false;
    for r in a.references {
        match node.remove_image(r.clone()).await {
            Ok(()) => println!("{r}"),
            Err(e) => {
                eprintln!("warrend: {r}: {}", e.status_message());
                failed = true;
            }
        }
    }
    Ok(failed as u8)
}

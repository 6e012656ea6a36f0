//! `warrend inspect`: show everything about containers (JSON).

use warren_client::Node;

use crate::cli::ids::IdsArgs;
use crate::cli::json;

/// `warrend inspect`: a JSON array, as `docker inspect` prints.
pub async fn inspect(node: &Node, a: IdsArgs) -> anyhow::Result<u8> {
    let mut found = Vec::new();
    let mut failed = false;
    for id in a.ids {
        match node.inspect(id.clone()).await {
            Ok(d) => found.push(d),
            Err(e) => {
                eprintln!("warrend: {id}: {}", e.status_message());
                failed = true;
            }
        }
    }
    let out: Vec<json::Inspect> = found.iter().map(json::Inspect::from).collect();
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(failed as u8)
}

//! `warrend images`: list images.

use warren_client::Node;

use crate::cli::json;
use crate::cli::output::{bytes, print_json, short, table};

/// `warrend images`.
pub async fn list(node: &Node, json: bool) -> anyhow::Result<u8> {
    let images = node.images().await?;
    if json {
        print_json(&images.iter().map(json::Image::from).collect::<Vec<_>>());
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = images
        .iter()
        .map(|i| {
            vec![
                i.name.clone(),
                short(&i.digest).to_string(),
                bytes(i.size.max(0) as u64),
            ]
        })
        .collect();
    table(&["NAME", "DIGEST", "SIZE"], &rows);
    Ok(0)
}

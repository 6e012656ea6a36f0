//! `cargo xtask api-snapshot`: write the node API's snapshot
//! (`crates/warren-proto/api/warren.node.v1.txt`) from the protos as they are now, say how it
//! differs from the one it replaces, and print the CHANGELOG.md line the new one needs; and
//! write its reference (`docs/node-api.md`) from the protos' comments.

use std::path::Path;

use anyhow::{Context, Result};
use warren_proto::compat::{breaking_changes, node_api_reference, Snapshot, SNAPSHOT_PATH};

pub fn run(ws: &Path) -> Result<()> {
    let docs = ws.join("docs/node-api.md");
    let reference = node_api_reference();
    if std::fs::read_to_string(&docs).ok().as_deref() != Some(reference.as_str()) {
        std::fs::write(&docs, &reference).with_context(|| format!("writing {}", docs.display()))?;
        eprintln!("xtask: wrote docs/node-api.md");
    }
    let relative = Path::new("crates/warren-proto").join(SNAPSHOT_PATH);
    let path = ws.join(&relative);
    let current = Snapshot::node_api();
    let text = current.render();
    let previous = std::fs::read_to_string(&path).ok();
    match previous.as_deref().map(Snapshot::parse) {
        None => eprintln!("xtask: no snapshot yet at {}", relative.display()),
        Some(Err(e)) => eprintln!("xtask: the old snapshot does not parse ({e}); replacing it"),
        Some(Ok(old)) if old == current => {
            eprintln!("xtask: the node API is unchanged since the snapshot");
        }
        Some(Ok(old)) => {
            let breaks = breaking_changes(&old, &current);
            if breaks.is_empty() {
                eprintln!("xtask: the node API only gained elements since the snapshot");
            } else {
                eprintln!("xtask: breaking changes since the snapshot:");
                for line in &breaks {
                    eprintln!("  {line}");
                }
            }
        }
    }
    if previous.as_deref() != Some(text.as_str()) {
        let dir = path.parent().context("the snapshot path has a parent")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("xtask: wrote {}", relative.display());
    }

    let fingerprint = current.fingerprint();
    println!("fingerprint {fingerprint}");
    let changelog = std::fs::read_to_string(ws.join("CHANGELOG.md")).unwrap_or_default();
    if changelog.lines().any(|l| l.contains(&fingerprint)) {
        println!("CHANGELOG.md already names it");
    } else {
        println!("add this line to CHANGELOG.md under `## Unreleased`, saying what changed:");
        println!("- Node API snapshot `{fingerprint}`: WHAT CHANGED, AND WHAT CLIENTS MUST DO");
    }
    Ok(())
}

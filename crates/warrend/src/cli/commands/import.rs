//! `warrend import`: import an OCI layout or `docker save` tarball.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::ProgressBar;
use warren_client::Node;

use crate::cli::json;
use crate::cli::output::print_json;

/// Options of `import`.
#[derive(Args)]
pub struct ImportArgs {
    /// The archive: an OCI image layout or `docker save` tarball on this node.
    pub path: std::path::PathBuf,
}

/// `warrend import`.
pub async fn import(node: &Node, a: ImportArgs, json: bool) -> anyhow::Result<u8> {
    let path =
        std::path::absolute(&a.path).with_context(|| format!("resolving {}", a.path.display()))?;
    if !path.is_file() {
        anyhow::bail!("{} is not a file", path.display());
    }
    let spinner = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    spinner.set_message(format!("importing {}", path.display()));
    spinner.enable_steady_tick(Duration::from_millis(100));
    let result = node.import(path.display().to_string()).await;
    spinner.finish_and_clear();
    let images = result?;
    if json {
        print_json(&images.iter().map(json::Image::from).collect::<Vec<_>>());
    } else {
        for i in &images {
            println!("{} {}", i.name, i.digest);
        }
    }
    Ok(0)
}

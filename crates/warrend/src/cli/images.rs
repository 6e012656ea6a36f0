//! `pull`, `import`, `images`, `rmi`.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use futures::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use warren_client::Node;
use warren_client::Word;
use warren_proto::warren::node::v1 as api;

use super::json;
use super::output::{bytes, print_json, table};

/// Options of `pull`.
#[derive(Args)]
pub struct PullArgs {
    /// The image, e.g. `busybox` or `registry.local:5000/app@sha256:...`.
    pub reference: String,
    /// Where the pull runs: auto, client (warren talks to the registry) or server
    /// (containerd's Transfer service, 2.x only).
    #[arg(long, default_value = "auto", value_parser = parse_pull_mode)]
    pub mode: api::PullMode,
    /// No progress bars.
    #[arg(short, long)]
    pub quiet: bool,
}

fn parse_pull_mode(s: &str) -> Result<api::PullMode, String> {
    match s {
        "auto" => Ok(api::PullMode::Auto),
        "client" => Ok(api::PullMode::Client),
        "server" => Ok(api::PullMode::Server),
        _ => Err("one of auto, client or server".into()),
    }
}

/// Options of `import`.
#[derive(Args)]
pub struct ImportArgs {
    /// The archive: an OCI image layout or `docker save` tarball on this node.
    pub path: std::path::PathBuf,
}

/// Options of `rmi`.
#[derive(Args)]
pub struct RmiArgs {
    /// Images to remove.
    #[arg(required = true)]
    pub references: Vec<String>,
}

fn short(digest: &str) -> &str {
    let hex = digest.split(':').nth(1).unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

/// Per-layer progress bars on stderr (hidden when stderr is not a terminal).
struct Bars {
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
    style: ProgressStyle,
}

impl Bars {
    fn new(quiet: bool) -> Bars {
        let multi = MultiProgress::new();
        if quiet {
            multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        Bars {
            multi,
            bars: HashMap::new(),
            style: ProgressStyle::with_template(
                "{prefix} {bar:30} {bytes:>10}/{total_bytes:<10} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        }
    }

    fn update(&mut self, l: &api::LayerProgress) {
        let bar = self.bars.entry(l.digest.clone()).or_insert_with(|| {
            let b = self.multi.add(ProgressBar::new(l.total));
            b.set_style(self.style.clone());
            b.set_prefix(short(&l.digest).to_string());
            b
        });
        match l.phase().word() {
            "resolved" => bar.set_message("waiting"),
            "downloading" => {
                bar.set_length(l.total);
                bar.set_position(l.done);
                bar.set_message("downloading");
            }
            "cached" => {
                bar.set_position(bar.length().unwrap_or(0));
                bar.set_message("already present");
            }
            "downloaded" => {
                bar.set_position(bar.length().unwrap_or(0));
                bar.set_message("downloaded");
            }
            "unpacked" => bar.finish_with_message("unpacked"),
            _ => {}
        }
    }

    fn finish(&self) {
        for b in self.bars.values() {
            if !b.is_finished() {
                b.finish();
            }
        }
    }
}

/// `warrend pull`.
pub async fn pull(node: &Node, a: PullArgs, json: bool) -> anyhow::Result<u8> {
    let mut stream = node
        .pull(api::PullRequest {
            reference: a.reference.clone(),
            mode: a.mode as i32,
        })
        .await?;
    let mut bars = Bars::new(a.quiet || json);
    let mut done = None;
    while let Some(event) = stream.next().await.transpose()? {
        match event.event {
            Some(api::pull_event::Event::Layer(l)) => bars.update(&l),
            Some(api::pull_event::Event::Done(i)) => done = Some(i),
            None => {}
        }
    }
    bars.finish();
    let image = done.context("the pull ended without naming the image")?;
    if json {
        print_json(&json::Image::from(&image));
    } else {
        println!("{} {}", image.name, image.digest);
    }
    Ok(0)
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

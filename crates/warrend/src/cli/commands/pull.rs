//! `warrend pull`: pull an image, with a progress bar per layer.

use std::collections::HashMap;

use anyhow::Context;
use clap::Args;
use futures::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use warren_client::Node;
use warren_client::Word;
use warren_proto::warren::node::v1 as api;

use crate::cli::json;
use crate::cli::output::{print_json, short};

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

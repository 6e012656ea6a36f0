//! `warrend ps`: list containers.

use clap::Args;
use warren_client::Node;

use crate::cli::json;
use crate::cli::output::{ago, print_json, status, table};

/// Options of `ps`.
#[derive(Args)]
pub struct PsArgs {
    /// Also created and stopped containers.
    #[arg(short, long)]
    pub all: bool,
    /// Print the ids only.
    #[arg(short, long)]
    pub quiet: bool,
    /// Only containers whose labels match (repeatable, all must hold): `label=KEY`,
    /// `label=KEY=VALUE` or `label=KEY!=VALUE`.
    #[arg(short, long = "filter", value_name = "label=SELECTOR", value_parser = label_filter)]
    pub filter: Vec<String>,
}

/// A `ps --filter`: only `label=...` is known; the selector itself is checked by warrend.
fn label_filter(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some(("label", sel)) if !sel.is_empty() => Ok(sel.to_string()),
        _ => Err(format!(
            "{s:?}: the filter is label=KEY, label=KEY=VALUE or label=KEY!=VALUE"
        )),
    }
}

/// `warrend ps`.
pub async fn ps(node: &Node, a: PsArgs, json: bool) -> anyhow::Result<u8> {
    let selector: Vec<&str> = a.filter.iter().map(String::as_str).collect();
    let list = node.list(a.all, &selector).await?;
    if json {
        print_json(&list.iter().map(json::Summary::from).collect::<Vec<_>>());
    } else if a.quiet {
        for s in &list {
            println!("{}", s.id);
        }
    } else {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|s| {
                vec![
                    s.id.clone(),
                    s.image.clone(),
                    status(s),
                    if s.pid > 0 {
                        s.pid.to_string()
                    } else {
                        String::new()
                    },
                    s.ip.clone(),
                    format!(
                        "{} ({})",
                        warren_client::restart_text(s.restart.as_ref()),
                        s.restart_count
                    ),
                    ago(&s.created_at),
                ]
            })
            .collect();
        table(
            &["ID", "IMAGE", "STATUS", "PID", "IP", "RESTART", "CREATED"],
            &rows,
        );
    }
    Ok(0)
}

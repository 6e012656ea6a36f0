//! warrend: Warren's node daemon and CLI.
//!
//! The daemon and its container commands land with their own issue; today the binary offers
//! `warrend probe`, which starts a private containerd through `warren-supervisor`, talks to it
//! through `warren-proto` and shuts it down: the smoke run of a fresh node.

mod probe;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "warrend", version, about = "Warren's node daemon and CLI")]
struct Cli {
    /// Log filter (tracing's env-filter syntax), e.g. `info` or `warren_supervisor=debug`.
    #[arg(long, env = "WARREN_LOG", default_value = "warn", global = true)]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a private containerd in a temporary directory, print what it reports through
    /// Warren's bindings, and shut it down.
    Probe(probe::ProbeArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Probe(args) => probe::run(args).await,
    }
}

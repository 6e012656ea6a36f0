//! The client commands: each talks to a running `warrend serve` over its API socket.

mod commands;
mod container_args;
mod exit;
mod health_args;
mod ids;
mod interactive;
mod json;
mod log_lines;
mod output;
mod prune;
mod run_flags;
mod terminal;
mod time_arg;
mod value_parsers;

use std::path::Path;

use clap::Subcommand;
use warren_client::Node;

use commands::{
    attach, container, create, events, exec, image, images, import, info, inspect, kill, logs,
    port, ps, pull, restart, rm, rmi, run, start, stats, stop, top, wait,
};
use exit::Exit;

/// The client commands of the binary.
#[derive(Subcommand)]
pub enum Command {
    /// Pull an image, with a progress bar per layer.
    Pull(pull::PullArgs),
    /// Import an OCI layout or `docker save` tarball.
    Import(import::ImportArgs),
    /// List images.
    Images,
    /// Remove images.
    Rmi(rmi::RmiArgs),
    /// Create and start a container; attached (the default) it prints the output and exits
    /// with the container's exit code.
    Run(run::RunArgs),
    /// Create a container without starting it.
    Create(create::CreateArgs),
    /// Start containers.
    Start(ids::IdsArgs),
    /// Stop containers (stop signal, then SIGKILL after the timeout).
    Stop(stop::StopArgs),
    /// Remove containers.
    Rm(rm::RmArgs),
    /// List containers.
    Ps(ps::PsArgs),
    /// Show a container's output.
    Logs(logs::LogsArgs),
    /// Run a command in a running container; exits with the command's exit code.
    Exec(exec::ExecArgs),
    /// Attach the local terminal (or stdin and stdout) to a running container.
    Attach(attach::AttachArgs),
    /// Show everything about containers (JSON).
    Inspect(ids::IdsArgs),
    /// CPU, memory and pids of running containers.
    Stats(stats::StatsArgs),
    /// Follow container events (containerd's and warrend's restart decisions).
    Events(events::EventsArgs),
    /// The daemon: versions, containerd, namespace.
    Info,
    /// Send a signal to containers (SIGKILL by default).
    Kill(kill::KillArgs),
    /// Stop containers (stop signal, then SIGKILL after the timeout) and start them again.
    Restart(restart::RestartArgs),
    /// Wait for containers to exit; prints each one's exit code.
    Wait(ids::IdsArgs),
    /// A running container's processes, with host pids.
    Top(top::TopArgs),
    /// A container's published ports.
    Port(port::PortArgs),
    /// Container commands: `container prune`.
    #[command(subcommand)]
    Container(container::ContainerCommand),
    /// Image commands: `image prune`.
    #[command(subcommand)]
    Image(image::ImageCommand),
}

/// Exit code for a client error: the one an [`Exit`] carries, else 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    e.downcast_ref::<Exit>().map(|x| x.code).unwrap_or(1)
}

/// Connect to the daemon, explaining the usual failures.
pub async fn connect(socket: &Path) -> anyhow::Result<Node> {
    Ok(Node::connect(socket).await?)
}

/// Run one client command; the result is the process's exit code.
pub async fn run(command: Command, socket: &Path, json: bool) -> anyhow::Result<u8> {
    let node = connect(socket).await?;
    let node = &node;
    match command {
        Command::Pull(a) => pull::pull(node, a, json).await,
        Command::Import(a) => import::import(node, a, json).await,
        Command::Images => images::list(node, json).await,
        Command::Rmi(a) => rmi::remove(node, a).await,
        Command::Run(a) => run::run(node, a, json).await,
        Command::Create(a) => create::create(node, a, json).await,
        Command::Start(a) => start::start(node, a).await,
        Command::Stop(a) => stop::stop(node, a).await,
        Command::Rm(a) => rm::remove(node, a).await,
        Command::Ps(a) => ps::ps(node, a, json).await,
        Command::Logs(a) => logs::logs(node, a, json).await,
        Command::Exec(a) => exec::exec(node, a, json).await,
        Command::Attach(a) => attach::attach(node, a).await,
        Command::Inspect(a) => inspect::inspect(node, a).await,
        Command::Stats(a) => stats::stats(node, a, json).await,
        Command::Events(a) => events::events(node, a).await,
        Command::Info => info::info(node, json).await,
        Command::Kill(a) => kill::kill(node, a).await,
        Command::Restart(a) => restart::restart(node, a).await,
        Command::Wait(a) => wait::wait(node, a).await,
        Command::Top(a) => top::top(node, a, json).await,
        Command::Port(a) => port::port(node, a, json).await,
        Command::Container(cmd) => container::container(node, cmd, json).await,
        Command::Image(cmd) => image::image(node, cmd, json).await,
    }
}

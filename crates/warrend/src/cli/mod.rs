//! The client commands: each talks to a running `warrend serve` over its API socket.

mod args;
mod containers;
mod everyday;
mod health_args;
mod images;
mod interactive;
mod output;
mod run_flags;
mod stats;
mod terminal;
mod time_arg;

use std::path::Path;

use anyhow::anyhow;
use clap::Subcommand;

pub use args::ContainerArgs;

/// The client commands of the binary.
#[derive(Subcommand)]
pub enum Command {
    /// Pull an image, with a progress bar per layer.
    Pull(images::PullArgs),
    /// Import an OCI layout or `docker save` tarball.
    Import(images::ImportArgs),
    /// List images.
    Images,
    /// Remove images.
    Rmi(images::RmiArgs),
    /// Create and start a container; attached (the default) it prints the output and exits
    /// with the container's exit code.
    Run(containers::RunArgs),
    /// Create a container without starting it.
    Create(containers::CreateArgs),
    /// Start containers.
    Start(containers::IdsArgs),
    /// Stop containers (stop signal, then SIGKILL after the timeout).
    Stop(containers::StopArgs),
    /// Remove containers.
    Rm(containers::RmArgs),
    /// List containers.
    Ps(containers::PsArgs),
    /// Show a container's output.
    Logs(containers::LogsArgs),
    /// Run a command in a running container; exits with the command's exit code.
    Exec(containers::ExecArgs),
    /// Attach the local terminal (or stdin and stdout) to a running container.
    Attach(containers::AttachArgs),
    /// Show everything about containers (JSON).
    Inspect(containers::IdsArgs),
    /// CPU, memory and pids of running containers.
    Stats(stats::StatsArgs),
    /// Follow container events (containerd's and warrend's restart decisions).
    Events(containers::EventsArgs),
    /// The daemon: versions, containerd, namespace.
    Info,
    /// Send a signal to containers (SIGKILL by default).
    Kill(everyday::KillArgs),
    /// Stop containers (stop signal, then SIGKILL after the timeout) and start them again.
    Restart(everyday::RestartArgs),
    /// Wait for containers to exit; prints each one's exit code.
    Wait(containers::IdsArgs),
    /// A running container's processes, with host pids.
    Top(everyday::TopArgs),
    /// A container's published ports.
    Port(everyday::PortArgs),
    /// Container commands: `container prune`.
    #[command(subcommand)]
    Container(everyday::ContainerCommand),
    /// Image commands: `image prune`.
    #[command(subcommand)]
    Image(everyday::ImageCommand),
}

/// Exit code for a client error: the one an [`Exit`] carries, else 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    e.downcast_ref::<Exit>().map(|x| x.code).unwrap_or(1)
}

/// An error that ends the process with a given code (125 when `run` failed before the
/// container ran, 126 when `exec` could not run the command, as Docker does).
#[derive(Debug)]
pub struct Exit {
    /// The process exit code.
    pub code: u8,
    /// What went wrong.
    pub message: String,
}

impl Exit {
    /// The daemon refused: its message, with `code`.
    pub fn refused(code: u8, s: tonic::Status) -> anyhow::Error {
        anyhow::Error::new(Exit {
            code,
            message: api_error(s).to_string(),
        })
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// A gRPC error as a message a person can act on (warren-client's reading of it).
pub fn api_error(s: tonic::Status) -> anyhow::Error {
    anyhow!(warren_client::ClientError::from(s))
}

/// Connect to the daemon, explaining the usual failures.
pub async fn connect(socket: &Path) -> anyhow::Result<warren_client::Node> {
    Ok(warren_client::Node::connect(socket).await?)
}

/// Run one client command; the result is the process's exit code.
pub async fn run(command: Command, socket: &Path, json: bool) -> anyhow::Result<u8> {
    let node = connect(socket).await?;
    let mut c = node.grpc();
    match command {
        Command::Pull(a) => images::pull(&mut c, a, json).await,
        Command::Import(a) => images::import(&mut c, a, json).await,
        Command::Images => images::list(&mut c, json).await,
        Command::Rmi(a) => images::remove(&mut c, a).await,
        Command::Run(a) => containers::run(&mut c, a, json).await,
        Command::Create(a) => containers::create(&mut c, a, json).await,
        Command::Start(a) => containers::start(&mut c, a).await,
        Command::Stop(a) => containers::stop(&mut c, a).await,
        Command::Rm(a) => containers::remove(&mut c, a).await,
        Command::Ps(a) => containers::ps(&node, a, json).await,
        Command::Logs(a) => containers::logs(&mut c, a, json).await,
        Command::Exec(a) => containers::exec(&mut c, a, json).await,
        Command::Attach(a) => containers::attach(&mut c, a).await,
        Command::Inspect(a) => containers::inspect(&mut c, a).await,
        Command::Stats(a) => stats::stats(&mut c, a, json).await,
        Command::Events(a) => containers::events(&node, a).await,
        Command::Info => containers::info(&node, json).await,
        Command::Kill(a) => everyday::kill(&mut c, a).await,
        Command::Restart(a) => everyday::restart(&mut c, a).await,
        Command::Wait(a) => everyday::wait(&mut c, a).await,
        Command::Top(a) => everyday::top(&mut c, a, json).await,
        Command::Port(a) => everyday::port(&mut c, a, json).await,
        Command::Container(cmd) => everyday::container(&mut c, cmd, json).await,
        Command::Image(cmd) => everyday::image(&mut c, cmd, json).await,
    }
}

//! warrend: Warren's node daemon and its CLI, in one binary.
//!
//! `warrend serve` runs the daemon (a managed or attached containerd, the node API on a unix
//! socket, `/healthz` and `/metrics` on loopback HTTP, restart policies). Every other
//! command is a client of that socket, with flags a Docker user already knows.

// The CLI's doc comments are its help text, in Docker's `SRC:DST[:ro]` notation, which
// rustdoc would otherwise read as links.
#![allow(rustdoc::broken_intra_doc_links)]

mod cli;
mod config;
mod deps;
mod probe;
mod serve;
/// The container spec model the CLI builds and the daemon reads (warren-client's).
use warren_client::spec;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The API socket the CLI talks to when none is given.
pub const DEFAULT_SOCKET: &str = "/run/warren/warrend.sock";

#[derive(Parser)]
#[command(name = "warrend", version, about = "Warren's node daemon and CLI")]
struct Cli {
    /// Log filter (tracing's env-filter syntax), e.g. `debug` or `warren_runtime=debug`
    /// [default: info for serve, warn otherwise].
    #[arg(long, env = "WARREN_LOG", global = true)]
    log: Option<String>,
    /// The daemon's API socket [default: /run/warren/warrend.sock; for serve,
    /// api.socket or STATE_DIR/warrend.sock].
    #[arg(long, env = "WARREN_SOCKET", global = true)]
    socket: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the flag structs does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the node daemon.
    Serve(serve::ServeArgs),
    /// Start a private containerd in a temporary directory, print what it reports through
    /// Warren's bindings, and shut it down.
    Probe(probe::ProbeArgs),
    /// The container log writer containerd's shim runs (`warrend logger SPEC`); never run by
    /// hand. Handled before anything else starts (see `main`).
    #[command(hide = true)]
    Logger {
        /// Where the log goes and how it is bounded.
        spec: String,
    },
    #[command(flatten)]
    Client(cli::Command),
}

fn main() -> ExitCode {
    // The shim's logger: a plain loop over two pipes, one per container. It must stay
    // small (no async runtime, no threads), so it is dispatched before anything starts.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("logger") {
        return ExitCode::from(warren_runtime::logger::main(&args).clamp(0, 255) as u8);
    }
    if args.first().map(String::as_str) == Some("serve") {
        tune_allocator();
    }
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => {
            let code = runtime.block_on(run());
            // A read of the local stdin may still be blocked on its thread (an interactive
            // session that ended): do not wait for it.
            runtime.shutdown_background();
            code
        }
        Err(e) => {
            eprintln!("warrend: cannot start the async runtime: {e}");
            ExitCode::from(1)
        }
    }
}

/// glibc's malloc set for a long-lived daemon whose heap is small but whose threads come and
/// go (tokio's workers and blocking pool): two arenas rather than up to eight per core, and
/// freed memory at the top of a heap given back at once rather than after its threshold has
/// grown to tens of MiB. Measured with `cargo xtask bench warrend` on containerd 2.1: the
/// heap after the bench's 62 runs went from 4.0 to 2.8 MiB, with run times unchanged.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets malloc's parameters; it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 0);
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let default_log = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            cli.log.as_deref().unwrap_or(default_log),
        ))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Serve(args) => match args.resolve(cli.socket) {
            Ok(config) => serve::run(config).await.map(|()| 0),
            Err(e) => Err(e),
        },
        Command::Probe(args) => probe::run(args).await.map(|()| 0),
        Command::Logger { .. } => Ok(2),
        Command::Client(command) => {
            let socket = cli.socket.unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
            cli::run(command, &socket, cli.json).await
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("warrend: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}

//! Pull an image, run a command in it with limits, print its log and exit code, and clean
//! up: the whole life of a container with warren-runtime alone.
//!
//! ```text
//! cargo run -p warren-runtime --example run -- /run/containerd/containerd.sock \
//!     docker.io/library/busybox:latest echo hello
//! ```
//!
//! Plain-HTTP registries other than loopback ones are named in `WARREN_PLAIN_HTTP`
//! (`registry.lan:5000,other:5000`); `WARREN_NAMESPACE` and `WARREN_STATE_DIR` replace the
//! runtime's defaults (`warren`, `/var/lib/warren/runtime`). The example's exit code is the
//! container's.

use std::time::Duration;

use futures::StreamExt;
use warren_runtime::{
    ContainerRequest, ContainerdRuntime, ErrorKind, LogOptions, PullOptions, RegistryOptions,
    Resources, RuntimeError, RuntimeOptions,
};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(socket), Some(image)) = (args.next(), args.next()) else {
        eprintln!("usage: run SOCKET IMAGE [COMMAND...]");
        std::process::exit(2);
    };
    let cmd: Vec<String> = args.collect();
    match run(&socket, &image, cmd).await {
        Ok(code) => std::process::exit(code as i32),
        Err(e) => {
            // The kind says what to do about it; the message says what went wrong.
            let hint = match e.kind() {
                ErrorKind::InvalidInput => "fix the arguments",
                ErrorKind::NotFound => "check the image name",
                ErrorKind::Unavailable => "is containerd running at that socket?",
                _ => "see the message",
            };
            eprintln!("error: {e} ({hint})");
            std::process::exit(1);
        }
    }
}

async fn run(socket: &str, image: &str, cmd: Vec<String>) -> Result<u32, RuntimeError> {
    let mut registry = RegistryOptions::default();
    if let Ok(hosts) = std::env::var("WARREN_PLAIN_HTTP") {
        registry.plain_http = hosts.split(',').map(str::to_string).collect();
    }
    let mut options = RuntimeOptions::default().socket(socket).registry(registry);
    if let Ok(namespace) = std::env::var("WARREN_NAMESPACE") {
        options.namespace = namespace;
    }
    if let Some(dir) = std::env::var_os("WARREN_STATE_DIR") {
        options.state_dir = dir.into();
    }
    let runtime = ContainerdRuntime::with_options(options)?;

    let pulled = runtime.pull_image(image, &PullOptions::default()).await?;
    println!("pulled {} ({})", pulled.name, pulled.digest);

    // Half a core, 64 MiB, 64 processes.
    let limits = Resources::default()
        .cpus(0.5)
        .memory_bytes(64 << 20)
        .pids(64);
    let mut request =
        ContainerRequest::new(format!("example-{}", std::process::id()), &pulled.name)
            .resources(limits);
    request.cmd = (!cmd.is_empty()).then_some(cmd);

    let id = runtime.run_container(&request).await?;
    let exit = runtime.wait_container(&id).await;
    let mut lines = runtime.container_logs(&id, &LogOptions::default()).await?;
    while let Some(line) = lines.next().await {
        let line = line?;
        println!("{}: {}", line.stream.as_str(), line.text);
    }
    // Clean up whatever the wait said.
    runtime.stop_container(&id, Duration::from_secs(10)).await?;
    runtime.delete_container(&id).await?;
    let exit = exit?;
    println!("exit code {} (OOM-killed: {})", exit.code, exit.oom_killed);
    Ok(exit.code)
}

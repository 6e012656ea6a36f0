//! `warrend run`: create and start a container; attached (the default) it prints the output
//! and exits with the container's exit code.

use std::io::Write;

use clap::Args;
use futures::StreamExt;
use warren_client::Node;
use warren_proto::warren::node::v1 as api;

use crate::cli::container_args::ContainerArgs;
use crate::cli::exit::Exit;
use crate::cli::json;
use crate::cli::log_lines::print_line;
use crate::cli::output::print_json;

/// Options of `run`.
#[derive(Args)]
pub struct RunArgs {
    /// Start it and print its id (do not wait for it).
    #[arg(short, long)]
    pub detach: bool,
    /// Delete the container once it has exited.
    #[arg(long)]
    pub rm: bool,
    #[command(flatten)]
    pub container: ContainerArgs,
}

/// `warrend run`: the exit code is the container's (125 if it could not be run).
pub async fn run(node: &Node, a: RunArgs, json: bool) -> anyhow::Result<u8> {
    let spec = a
        .container
        .spec()
        .map_err(|message| Exit { code: 125, message })?;
    let interactive = a.container.interactive || a.container.tty;
    if interactive && !a.detach {
        crate::cli::interactive::check_tty(a.container.tty)?;
        let first = api::attach_input::Input::Run(Box::new(api::RunRequest {
            spec: Some(spec),
            remove: a.rm,
            attach: true,
        }));
        return crate::cli::interactive::run(
            node,
            crate::cli::interactive::Session {
                first,
                tty: a.container.tty,
                stdin: a.container.interactive,
                detach_keys: a.container.detach_keys.clone(),
                refused_code: 125,
            },
        )
        .await;
    }
    let request = api::RunRequest {
        spec: Some(spec),
        remove: a.rm,
        attach: !a.detach,
    };
    let mut stream = match node.run(request).await {
        Ok(s) => s,
        Err(e) => return Err(Exit::refused(125, e)),
    };
    let mut id = String::new();
    while let Some(event) = stream.next().await.transpose()? {
        match event.event {
            Some(api::run_event::Event::Id(i)) => id = i,
            Some(api::run_event::Event::Started(s)) if a.detach => {
                if json {
                    print_json(&json::Started {
                        id: &id,
                        pid: s.pid,
                    });
                } else {
                    println!("{id}");
                }
            }
            Some(api::run_event::Event::Line(l)) => print_line(&l, false, json),
            Some(api::run_event::Event::Exit(e)) => {
                let _ = std::io::stdout().flush();
                if json {
                    print_json(&json::Exited {
                        exit: json::Exit::from(&e),
                        id: &id,
                    });
                }
                if e.oom_killed {
                    eprintln!("warrend: container {id} was killed for using too much memory");
                }
                // Keep reading: with --rm the stream ends once the container is removed.
                while stream.next().await.transpose()?.is_some() {}
                return Ok(e.code.min(255) as u8);
            }
            _ => {}
        }
    }
    Ok(0)
}

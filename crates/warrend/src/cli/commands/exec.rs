//! `warrend exec`: run a command in a running container; exits with the command's exit code.

use std::io::Write;

use clap::Args;
use warren_client::Node;
use warren_proto::warren::node::v1 as api;

use crate::cli::exit::Exit;
use crate::cli::json;
use crate::cli::output::print_json;

/// Options of `exec`.
#[derive(Args)]
pub struct ExecArgs {
    /// Set an environment variable (NAME=value).
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Working directory.
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Run as this user: uid, uid:gid, name or name:group (names from the container's
    /// /etc/passwd and /etc/group).
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Attach stdin (`-i`).
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give the command a terminal (`-t`; the local stdin must be one).
    #[arg(short = 't', long)]
    pub tty: bool,
    /// The keys that detach, e.g. `ctrl-p,ctrl-q` (the default).
    #[arg(long, value_name = "KEYS", default_value = "ctrl-p,ctrl-q", value_parser = crate::cli::terminal::parse_detach_keys)]
    pub detach_keys: crate::cli::terminal::DetachKeys,
    /// The container.
    pub id: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `warrend exec`: the exit code is the command's.
pub async fn exec(node: &Node, a: ExecArgs, json: bool) -> anyhow::Result<u8> {
    if a.interactive || a.tty {
        crate::cli::interactive::check_tty(a.tty)?;
        let console_size = if a.tty {
            crate::cli::terminal::size().map(|(cols, rows)| api::TerminalSize {
                cols: cols.into(),
                rows: rows.into(),
            })
        } else {
            None
        };
        let first = api::attach_input::Input::Exec(api::ExecRequest {
            id: a.id,
            args: a.command,
            env: a.env,
            working_dir: a.workdir.unwrap_or_default(),
            user: a.user.unwrap_or_default(),
            tty: a.tty,
            stdin: a.interactive,
            console_size,
        });
        return crate::cli::interactive::run(
            node,
            crate::cli::interactive::Session {
                first,
                tty: a.tty,
                stdin: a.interactive,
                detach_keys: a.detach_keys,
                refused_code: 126,
            },
        )
        .await;
    }
    let out = node
        .exec(api::ExecRequest {
            id: a.id,
            args: a.command,
            env: a.env,
            working_dir: a.workdir.unwrap_or_default(),
            user: a.user.unwrap_or_default(),
            ..Default::default()
        })
        .await
        .map_err(|e| Exit::refused(126, e))?;
    if json {
        print_json(&json::ExecOutput::from(&out));
    } else {
        std::io::stdout().write_all(&out.stdout)?;
        std::io::stderr().write_all(&out.stderr)?;
        if out.truncated {
            eprintln!(
                "warrend: the command wrote more than 16 MiB to a stream; the rest was dropped \
                 (use exec -i for output this large)"
            );
        }
    }
    Ok(out.exit_code.min(255) as u8)
}

//! Container commands: run, create, start, stop, rm, ps, logs, exec, inspect, events,
//! info (stats: `stats.rs`).

use std::io::Write;

use clap::Args;
use futures::{FutureExt, StreamExt};
use warren_client::Word;
use warren_client::{ClientError, Node};
use warren_proto::warren::node::v1 as api;

use super::container_args::ContainerArgs;
use super::exit::Exit;
use super::json;
use super::output::{ago, json_line, print_json, rfc3339, status, table};

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

/// Options of `create`.
#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub container: ContainerArgs,
}

/// One or more containers.
#[derive(Args)]
pub struct IdsArgs {
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// Options of `stop`.
#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait after the stop signal before SIGKILL (default 10; 0 kills at once).
    #[arg(short, long)]
    pub time: Option<u32>,
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// Options of `rm`.
#[derive(Args)]
pub struct RmArgs {
    /// Kill and remove running containers too.
    #[arg(short, long)]
    pub force: bool,
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

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

/// Options of `events`.
#[derive(Args)]
pub struct EventsArgs {
    /// Resume after this event: the `cursor` (EPOCH:SEQUENCE) of the last event seen.
    #[arg(long, value_name = "EPOCH:SEQUENCE", value_parser = cursor)]
    pub after: Option<api::EventCursor>,
}

fn cursor(s: &str) -> Result<api::EventCursor, String> {
    let bad = || format!("{s:?} is not an event cursor: EPOCH:SEQUENCE, as `events` prints it");
    let (epoch, seq) = s.split_once(':').ok_or_else(bad)?;
    let sequence = seq.parse().map_err(|_| bad())?;
    if epoch.is_empty() {
        return Err(bad());
    }
    Ok(api::EventCursor {
        epoch: epoch.to_string(),
        sequence,
    })
}

/// Options of `logs`.
#[derive(Args)]
pub struct LogsArgs {
    /// Keep printing new output until the container's process ends.
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    pub tail: Option<u32>,
    /// Prefix each line with when it was written.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Only lines written since a time: a duration back from now (10m, 1h30m), an RFC
    /// 3339 time or Unix seconds.
    #[arg(long, value_name = "TIME", value_parser = super::time_arg::parse)]
    pub since: Option<std::time::SystemTime>,
    /// Only lines written before a time (same forms as --since); a follow ends then.
    #[arg(long, value_name = "TIME", value_parser = super::time_arg::parse)]
    pub until: Option<std::time::SystemTime>,
    /// The container.
    pub id: String,
}

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
    #[arg(long, value_name = "KEYS", default_value = "ctrl-p,ctrl-q", value_parser = super::terminal::parse_detach_keys)]
    pub detach_keys: super::terminal::DetachKeys,
    /// The container.
    pub id: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Options of `attach`.
#[derive(Args)]
pub struct AttachArgs {
    /// Do not attach stdin (output only).
    #[arg(long)]
    pub no_stdin: bool,
    /// The keys that detach, e.g. `ctrl-p,ctrl-q` (the default).
    #[arg(long, value_name = "KEYS", default_value = "ctrl-p,ctrl-q", value_parser = super::terminal::parse_detach_keys)]
    pub detach_keys: super::terminal::DetachKeys,
    /// The container.
    pub id: String,
}

/// `warrend attach`: a terminal container in raw mode if the local stdin is a terminal,
/// else stdin and output as pipes; the exit code is the container's (0 after a detach).
pub async fn attach(node: &Node, a: AttachArgs) -> anyhow::Result<u8> {
    let detail = node.inspect(a.id.clone()).await?;
    super::interactive::run(
        node,
        super::interactive::Session {
            first: api::attach_input::Input::Attach(api::ContainerRef { id: a.id }),
            tty: detail.tty,
            stdin: detail.open_stdin && !a.no_stdin,
            detach_keys: a.detach_keys,
            refused_code: 1,
        },
    )
    .await
}

fn print_line(l: &api::LogLine, timestamps: bool, json: bool) {
    let mut out = LinesOut::default();
    out.line(l, timestamps, json);
    out.flush();
}

/// Log lines to stdout and stderr, buffered: a burst of lines costs a few writes, not one
/// per line. The order across the two streams is kept (a switch flushes the other one).
#[derive(Default)]
struct LinesOut {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl LinesOut {
    fn line(&mut self, l: &api::LogLine, timestamps: bool, json: bool) {
        use std::io::Write as _;
        let stream = l.stream().word();
        let (buf, other_is) = if stream == "stderr" && !json {
            (&mut self.stderr, "stdout")
        } else {
            (&mut self.stdout, "stderr")
        };
        if json {
            let _ = writeln!(buf, "{}", json_line(&json::LogLine::from(l)));
        } else if timestamps {
            let _ = writeln!(buf, "{} {}", rfc3339(&l.time), l.text);
        } else {
            buf.extend_from_slice(l.text.as_bytes());
            buf.push(b'\n');
        }
        let switched = if other_is == "stdout" {
            !self.stdout.is_empty()
        } else {
            !self.stderr.is_empty()
        };
        if switched || self.stdout.len() + self.stderr.len() > 64 * 1024 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        use std::io::Write as _;
        // Whichever was written first goes first: at most one holds lines older than the
        // other's newest (a switch flushes).
        for (buf, err) in [(&mut self.stdout, false), (&mut self.stderr, true)] {
            if buf.is_empty() {
                continue;
            }
            let _ = if err {
                std::io::stderr().write_all(buf)
            } else {
                std::io::stdout().write_all(buf)
            };
            buf.clear();
        }
    }
}

/// `warrend run`: the exit code is the container's (125 if it could not be run).
pub async fn run(node: &Node, a: RunArgs, json: bool) -> anyhow::Result<u8> {
    let spec = a
        .container
        .spec()
        .map_err(|message| Exit { code: 125, message })?;
    let interactive = a.container.interactive || a.container.tty;
    if interactive && !a.detach {
        super::interactive::check_tty(a.container.tty)?;
        let first = api::attach_input::Input::Run(Box::new(api::RunRequest {
            spec: Some(spec),
            remove: a.rm,
            attach: true,
        }));
        return super::interactive::run(
            node,
            super::interactive::Session {
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

/// `warrend create`: prints the id.
pub async fn create(node: &Node, a: CreateArgs, json: bool) -> anyhow::Result<u8> {
    let spec = a.container.spec().map_err(anyhow::Error::msg)?;
    let id = node.create(spec).await?;
    if json {
        print_json(&json::Created { id: &id });
    } else {
        println!("{id}");
    }
    Ok(0)
}

/// Run `f` for each id; print the ids that succeeded, the errors of the others; exit 1 if
/// any failed.
async fn each<F, Fut>(ids: Vec<String>, mut f: F) -> anyhow::Result<u8>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), ClientError>>,
{
    let mut failed = false;
    for id in ids {
        match f(id.clone()).await {
            Ok(()) => println!("{id}"),
            Err(e) => {
                eprintln!("warrend: {id}: {}", e.status_message());
                failed = true;
            }
        }
    }
    Ok(failed as u8)
}

/// `warrend start`.
pub async fn start(node: &Node, a: IdsArgs) -> anyhow::Result<u8> {
    each(a.ids, |id| async move { node.start(id).await.map(|_| ()) }).await
}

/// `warrend stop`.
pub async fn stop(node: &Node, a: StopArgs) -> anyhow::Result<u8> {
    let timeout = a.time.map(|s| std::time::Duration::from_secs(s.into()));
    each(a.ids, |id| node.stop(id, timeout)).await
}

/// `warrend rm`.
pub async fn remove(node: &Node, a: RmArgs) -> anyhow::Result<u8> {
    each(a.ids, |id| node.delete(id, a.force)).await
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

/// `warrend logs`.
pub async fn logs(node: &Node, a: LogsArgs, json: bool) -> anyhow::Result<u8> {
    let mut stream = node
        .logs(api::LogsRequest {
            id: a.id,
            tail: a.tail.unwrap_or(0),
            follow: a.follow,
            since: a.since.map(super::time_arg::timestamp),
            until: a.until.map(super::time_arg::timestamp),
        })
        .await?;
    if a.tail == Some(0) {
        return Ok(0);
    }
    let mut out = LinesOut::default();
    loop {
        // Buffered while lines keep coming; written out as soon as none is waiting.
        let next = match stream.next().now_or_never() {
            Some(next) => next,
            None => {
                out.flush();
                stream.next().await
            }
        };
        match next.transpose()? {
            Some(l) => out.line(&l, a.timestamps, json),
            None => break,
        }
    }
    out.flush();
    Ok(0)
}

/// `warrend exec`: the exit code is the command's.
pub async fn exec(node: &Node, a: ExecArgs, json: bool) -> anyhow::Result<u8> {
    if a.interactive || a.tty {
        super::interactive::check_tty(a.tty)?;
        let console_size = if a.tty {
            super::terminal::size().map(|(cols, rows)| api::TerminalSize {
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
        return super::interactive::run(
            node,
            super::interactive::Session {
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

/// `warrend inspect`: a JSON array, as `docker inspect` prints.
pub async fn inspect(node: &Node, a: IdsArgs) -> anyhow::Result<u8> {
    let mut found = Vec::new();
    let mut failed = false;
    for id in a.ids {
        match node.inspect(id.clone()).await {
            Ok(d) => found.push(d),
            Err(e) => {
                eprintln!("warrend: {id}: {}", e.status_message());
                failed = true;
            }
        }
    }
    let out: Vec<json::Inspect> = found.iter().map(json::Inspect::from).collect();
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(failed as u8)
}

/// `warrend events`: one line per event until interrupted.
pub async fn events(node: &Node, a: EventsArgs) -> anyhow::Result<u8> {
    let mut stream = node.events(a.after).await?;
    while let Some(e) = stream.next().await.transpose()? {
        print_json(&json::Event::from(&e));
    }
    Ok(0)
}

/// `warrend info`.
pub async fn info(node: &Node, json: bool) -> anyhow::Result<u8> {
    let i = node.info().await?;
    if json {
        print_json(&json::Info::from(&i));
    } else {
        println!("warrend:            {}", i.warrend_version);
        println!("containerd:         {}", i.containerd_version);
        println!("containerd address: {}", i.containerd_address);
        println!("managed:            {}", i.containerd_managed);
        println!("namespace:          {}", i.namespace);
        println!("running:            {}", i.containers_running);
        println!("runc:               {}", i.runc_version);
        println!(
            "cgroups:            {} ({})",
            i.cgroup_version, i.cgroup_driver
        );
        println!("node:               {}", i.node_name);
        let mut labels: Vec<_> = i.node_labels.iter().collect();
        labels.sort();
        for (k, v) in labels {
            println!("  label:            {k}={v}");
        }
        for (what, r) in [("capacity", &i.capacity), ("allocatable", &i.allocatable)] {
            if let Some(r) = r {
                println!(
                    "{:<20}{} CPUs, {} memory, {} pids",
                    format!("{what}:"),
                    r.cpus,
                    super::output::bytes(r.memory_bytes),
                    r.pids
                );
            }
        }
        println!("node API:           {}", i.api_version);
    }
    Ok(0)
}

//! `cargo xtask demo`: the README's main command. From a fresh machine to a running container
//! in one step: fetch containerd (done by the caller), build warrend and a busybox image,
//! start `warrend serve` with a managed containerd in a temporary directory, import the
//! image, run a container with CPU and memory limits, show ps / logs / stats, stop and remove
//! it, and shut everything down.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::run::status;

/// The demo's own network, so it never touches a bridge the node uses.
const BRIDGE: &str = "warrendemo0";
const SUBNET: &str = "10.199.0.0/24";

struct Demo {
    warrend: PathBuf,
    socket: PathBuf,
    dir: PathBuf,
    serve: Option<Child>,
}

impl Demo {
    /// Print and run `warrend ARGS`; fail if it fails.
    fn step(&self, args: &[&str]) -> Result<()> {
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    a.to_string()
                }
            })
            .collect();
        println!("\n$ warrend {}", shown.join(" "));
        status(
            Command::new(&self.warrend)
                .arg("--socket")
                .arg(&self.socket)
                .args(args),
        )
    }

    /// Print and run `printf INPUT | warrend ARGS`; fail if it fails.
    fn step_with_stdin(&self, input: &str, args: &[&str]) -> Result<()> {
        use std::io::Write;
        println!(
            "\n$ printf {input:?} | warrend {}",
            args.join(" ").replace('\n', "\\n")
        );
        let mut child = Command::new(&self.warrend)
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input.as_bytes())?;
        let exit = child.wait()?;
        anyhow::ensure!(exit.success(), "warrend {} failed: {exit}", args.join(" "));
        Ok(())
    }

    fn wait_until_serving(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ok = Command::new(&self.warrend)
                .arg("--socket")
                .arg(&self.socket)
                .arg("info")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Ok(());
            }
            if let Some(Ok(Some(st))) = self.serve.as_mut().map(Child::try_wait) {
                bail!(
                    "warrend serve exited ({st}); its log:\n{}",
                    std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("warrend did not answer within 60 s")
    }

    /// SIGTERM warrend and wait for it (it stops its managed containerd).
    fn shut_down(&mut self) {
        if let Some(mut child) = self.serve.take() {
            println!(
                "\n$ kill -TERM {}   # warrend stops serving and shuts containerd down",
                child.id()
            );
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(st)) = child.try_wait() {
                    println!("warrend exited: {st}");
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.shut_down();
        let _ = Command::new("ip")
            .args(["link", "del", BRIDGE])
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Run the demo against the newest line of `lines`.
pub fn run(workspace: &Path, deps: &Path, lines: &[String]) -> Result<()> {
    let line = lines.last().context("no containerd line selected")?;
    if !crate::host::is_root() {
        bail!("the demo runs containers: run it as root");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: building warrend and the busybox test image");
    status(
        Command::new(&cargo)
            .current_dir(workspace)
            .args(["build", "--quiet", "-p", "warrend"]),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let dir = PathBuf::from(format!("/tmp/warren-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let images = dir.join("images");
    status(
        Command::new(&cargo)
            .current_dir(workspace)
            .args([
                "run",
                "--quiet",
                "-p",
                "warren-tests",
                "--bin",
                "warren-build-images",
                "--",
            ])
            .arg(&images)
            .stdout(Stdio::null()),
    )?;

    let mut demo = Demo {
        warrend: target.join("debug/warrend"),
        socket: dir.join("warrend.sock"),
        dir: dir.clone(),
        serve: None,
    };
    let log = std::fs::File::create(dir.join("serve.log"))?;
    let serve = Command::new(&demo.warrend)
        .arg("serve")
        .arg("--socket")
        .arg(&demo.socket)
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--containerd-bin-dir")
        .arg(deps.join(format!("containerd-{line}/bin")))
        .arg("--runc-bin-dir")
        .arg(deps.join("tools/bin"))
        .arg("--cni-bin-dir")
        .arg(deps.join("cni/bin"))
        .args([
            "--bridge",
            BRIDGE,
            "--subnet",
            SUBNET,
            "--http-address",
            "127.0.0.1:0",
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting warrend serve")?;
    println!(
        "$ warrend serve --root {0}/root --state-dir {0}/state ...   # with its own containerd {line}",
        dir.display()
    );
    demo.serve = Some(serve);
    demo.wait_until_serving()?;

    let archive = images.join("busybox.tar");
    let image = "warren.test/busybox:v1";
    demo.step(&["info"])?;
    demo.step(&["import", &archive.display().to_string()])?;
    demo.step(&["images"])?;
    demo.step(&[
        "run", "-d", "--name", "demo", "--cpus", "0.5", "--memory", "64m", image, "sh", "-c",
        "echo hello from a Warren container; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done",
    ])?;
    std::thread::sleep(Duration::from_millis(2200));
    demo.step(&["ps"])?;
    demo.step(&["logs", "demo"])?;
    demo.step(&["stats", "demo"])?;
    demo.step(&[
        "exec",
        "demo",
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ])
    .or_else(|_| demo.step(&["exec", "demo", "cat", "/sys/fs/cgroup/memory.max"]))?;
    // Commands piped into a shell in the container: stdin without a terminal.
    demo.step_with_stdin(
        "echo I am $(id -un) in $(hostname)\nls /run | wc -l\n",
        &["exec", "-i", "demo", "sh"],
    )?;
    demo.step(&["stop", "-t", "2", "demo"])?;
    demo.step(&["rm", "demo"])?;
    demo.step(&[
        "run",
        "--rm",
        "--network",
        "none",
        image,
        "echo",
        "one-shot container, removed after it exits",
    ])?;
    demo.step(&["ps", "-a"])?;
    demo.shut_down();
    println!("\ndemo done: containerd {line}, warrend, a limited container, all cleaned up");
    Ok(())
}

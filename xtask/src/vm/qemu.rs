//! One boot: qemu (bookworm's, run from its unpacked tree through that tree's own dynamic
//! loader) with TCG, since KVM does not work on these hosts; the serial console on qemu's
//! stdout; a deadline after which qemu is killed.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::console::{Console, Summary};
use super::image::Image;

/// The kernel command line: cgroup v2 only, as a production host boots.
pub const CMDLINE: &str = "console=ttyS0 quiet loglevel=3 panic=-1 \
     cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1";

/// How the guest is sized.
pub struct Machine {
    pub cpus: u32,
    pub memory_mib: u32,
}

/// How a boot ended.
pub struct Outcome {
    pub status: Option<ExitStatus>,
    pub timed_out: bool,
    pub wall: Duration,
    pub console: Summary,
}

/// The qemu command for `image` with `job` as the second disk.
pub fn command(image: &Image, job: &Path, m: &Machine) -> Command {
    let tree = &image.qemu_tree;
    let libs = format!(
        "{}:{}",
        tree.join("lib/x86_64-linux-gnu").display(),
        tree.join("usr/lib/x86_64-linux-gnu").display()
    );
    let mut cmd = Command::new(tree.join("lib64/ld-linux-x86-64.so.2"));
    cmd.arg("--library-path")
        .arg(libs)
        .arg(tree.join("usr/bin/qemu-system-x86_64"))
        // Its accelerator and device modules.
        .env(
            "QEMU_MODULE_DIR",
            tree.join("usr/lib/x86_64-linux-gnu/qemu"),
        );
    for fw in ["usr/share/qemu", "usr/share/seabios", "usr/lib/ipxe/qemu"] {
        cmd.arg("-L").arg(tree.join(fw));
    }
    cmd.args([
        "-machine",
        "q35",
        "-accel",
        "tcg,thread=multi",
        "-cpu",
        "max",
        "-smp",
        &m.cpus.to_string(),
        "-m",
        &format!("{}M", m.memory_mib),
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        "-serial",
        "stdio",
        "-monitor",
        "none",
        "-nic",
        "none",
    ]);
    cmd.arg("-kernel")
        .arg(&image.kernel)
        .arg("-initrd")
        .arg(&image.initrd)
        .arg("-append")
        .arg(CMDLINE);
    // The root disk stays pristine: the guest's writes go to a throwaway overlay.
    cmd.arg("-drive").arg(format!(
        "file={},if=virtio,format=raw,snapshot=on,cache=unsafe",
        image.root.display()
    ));
    cmd.arg("-drive")
        .arg(format!("file={},if=virtio,format=raw", job.display()));
    cmd
}

/// Boot, follow the console into `console_log`, and stop at the guest's poweroff or the
/// deadline.
pub fn boot(
    image: &Image,
    job: &Path,
    m: &Machine,
    timeout: Duration,
    console_log: &Path,
) -> Result<Outcome> {
    let log = std::fs::File::create(console_log)?;
    let t0 = Instant::now();
    let mut child = command(image, job, m)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting qemu")?;
    let stdout = child.stdout.take().context("qemu's stdout")?;
    let reader = std::thread::spawn(move || {
        let mut c = Console::new(t0, std::io::stdout(), log);
        c.follow(stdout);
        c.summary
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if t0.elapsed() > timeout {
            eprintln!(
                "\nxtask: the guest ran past {} minutes: killing qemu",
                timeout.as_secs() / 60
            );
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let wall = t0.elapsed();
    let console = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the console reader panicked"))?;
    Ok(Outcome {
        status,
        timed_out,
        wall,
        console,
    })
}

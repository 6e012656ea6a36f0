//! The container flags `run` and `create` share, named as Docker names them, and their
//! parsing into a `ContainerSpec`. Values are checked here so a typo fails before the
//! daemon is asked (the daemon checks again).

use std::collections::HashMap;

use clap::Args;
use warren_proto::warren::node::v1 as api;

/// What a container runs and with which limits.
#[derive(Args, Debug, Clone, Default)]
pub struct ContainerArgs {
    /// The container's name (its id); default: 12 random hex digits.
    #[arg(long)]
    pub name: Option<String>,
    /// Set an environment variable (NAME=value).
    #[arg(short = 'e', long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Bind-mount a host path: SRC:DST[:ro].
    #[arg(short = 'v', long = "volume", value_name = "SRC:DST[:ro]", value_parser = parse_volume)]
    pub volumes: Vec<api::Volume>,
    /// CPU limit in CPUs, e.g. 0.5.
    #[arg(long, value_parser = parse_cpus)]
    pub cpus: Option<f64>,
    /// Memory limit: bytes or a number with b, k, m, g (binary units), e.g. 64m.
    #[arg(short = 'm', long, value_parser = parse_bytes)]
    pub memory: Option<i64>,
    /// Most processes the container may have.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub pids_limit: Option<i64>,
    /// A host folder of secrets, mounted read-only at /run/secrets.
    #[arg(long)]
    pub secret_dir: Option<String>,
    /// Restart policy: no, on-failure[:max], always.
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Publish a port: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp].
    #[arg(short = 'p', long = "publish", value_name = "PORT")]
    pub ports: Vec<String>,
    /// Network: bridge (the default), none, host or a network namespace path.
    #[arg(long)]
    pub network: Option<String>,
    /// Replace the image's entrypoint ("" clears it).
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// User: uid, uid:gid, name or name:group.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Hostname (default: the container's id).
    #[arg(long)]
    pub hostname: Option<String>,
    /// Set a label (KEY=value).
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Mount the image's filesystem read-only.
    #[arg(long)]
    pub read_only: bool,
    /// Signal that asks the container to stop (e.g. SIGINT).
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// When to pull the image: missing, always, never.
    #[arg(long, default_value = "missing", value_parser = ["missing", "always", "never"])]
    pub pull: String,
    /// Security options: seccomp=unconfined, seccomp=PROFILE.json (read here and sent),
    /// no-new-privileges=false.
    #[arg(long = "security-opt", value_name = "OPT", value_parser = parse_security_opt)]
    pub security_opt: Vec<String>,
    /// Add a capability (e.g. NET_ADMIN), or ALL.
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a capability (e.g. NET_RAW), or ALL.
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Give the container the host: every capability and device, no seccomp filter.
    /// Dangerous: for trusted system tools only.
    #[arg(long)]
    pub privileged: bool,
    /// Keep stdin open and attach it (`-i`).
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give the container a terminal (`-t`; the local stdin must be one).
    #[arg(short = 't', long)]
    pub tty: bool,
    /// The keys that detach from the container, e.g. `ctrl-p,ctrl-q` (the default).
    #[arg(long, value_name = "KEYS", default_value = "ctrl-p,ctrl-q", value_parser = super::terminal::parse_detach_keys)]
    pub detach_keys: super::terminal::DetachKeys,
    /// The OOM killer's preference for the container, -1000 to 1000 (default 0).
    #[arg(long, value_parser = clap::value_parser!(i32).range(-1000..=1000), allow_negative_numbers = true)]
    pub oom_score_adj: Option<i32>,
    /// Share one containerd shim with the other containers of this group (saves about
    /// 4 MiB per container; killing the shim ends them all).
    #[arg(long, value_name = "NAME")]
    pub shim_group: Option<String>,
    /// Resources, devices, kernel parameters, names and files.
    #[command(flatten)]
    pub run_flags: super::run_flags::RunFlags,
    /// Health checks.
    #[command(flatten)]
    pub health: super::health_args::HealthArgs,
    /// The image.
    pub image: String,
    /// The command and its arguments (default: the image's).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

impl ContainerArgs {
    /// The API's container spec.
    pub fn spec(&self) -> api::ContainerSpec {
        let entrypoint = self.entrypoint.as_ref().map(|e| {
            if e.is_empty() {
                vec![]
            } else {
                vec![e.clone()]
            }
        });
        let mut spec = api::ContainerSpec {
            id: self.name.clone().unwrap_or_default(),
            image: self.image.clone(),
            pull: self.pull.clone(),
            has_entrypoint: entrypoint.is_some(),
            entrypoint: entrypoint.unwrap_or_default(),
            cmd: self.command.clone(),
            env: self.env.clone(),
            working_dir: self.workdir.clone().unwrap_or_default(),
            user: self.user.clone().unwrap_or_default(),
            hostname: self.hostname.clone().unwrap_or_default(),
            cpus: self.cpus.unwrap_or(0.0),
            memory_bytes: self.memory.unwrap_or(0),
            pids_limit: self.pids_limit.unwrap_or(0),
            secret_dir: self.secret_dir.clone().unwrap_or_default(),
            volumes: self.volumes.clone(),
            network: self.network.clone().unwrap_or_default(),
            ports: self.ports.clone(),
            restart: self.restart.clone(),
            labels: self.labels.iter().cloned().collect::<HashMap<_, _>>(),
            read_only: self.read_only,
            stop_signal: self.stop_signal.clone().unwrap_or_default(),
            security_opt: self.security_opt.clone(),
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            privileged: self.privileged,
            oom_score_adj: self.oom_score_adj.unwrap_or(0),
            tty: self.tty,
            open_stdin: self.interactive,
            console_size: if self.tty {
                super::terminal::size().map(|(cols, rows)| api::TerminalSize {
                    cols: cols.into(),
                    rows: rows.into(),
                })
            } else {
                None
            },
            shim_group: self.shim_group.clone().unwrap_or_default(),
            ..self.health.fields()
        };
        self.run_flags.fill(&mut spec);
        spec
    }
}

/// A `--security-opt`; `seccomp=FILE` becomes `seccomp=<the file's JSON>`, read here (as
/// Docker's CLI does), so the daemon never opens a path a client names.
pub fn parse_security_opt(s: &str) -> Result<String, String> {
    let Some(path) = s
        .strip_prefix("seccomp=")
        .or_else(|| s.strip_prefix("seccomp:"))
    else {
        return Ok(s.to_string());
    };
    if path == "unconfined" || path == "default" {
        return Ok(format!("seccomp={path}"));
    }
    let limit = warren_spec::seccomp::MAX_PROFILE_BYTES;
    let meta = std::fs::metadata(path).map_err(|e| format!("seccomp profile {path}: {e}"))?;
    if !meta.is_file() || meta.len() > limit {
        return Err(format!(
            "seccomp profile {path}: must be a regular file of at most {limit} bytes"
        ));
    }
    let json = std::fs::read_to_string(path).map_err(|e| format!("seccomp profile {path}: {e}"))?;
    if !json.trim_start().starts_with('{') {
        return Err(format!("seccomp profile {path}: not a JSON object"));
    }
    Ok(format!("seccomp={json}"))
}

/// `SRC:DST[:ro|:rw]` with absolute paths.
pub fn parse_volume(s: &str) -> Result<api::Volume, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let (source, destination, read_only) = match parts[..] {
        [src, dst] => (src, dst, false),
        [src, dst, "ro"] => (src, dst, true),
        [src, dst, "rw"] => (src, dst, false),
        _ => return Err("expected SRC:DST or SRC:DST:ro".into()),
    };
    if !source.starts_with('/') || !destination.starts_with('/') {
        return Err("both paths must be absolute".into());
    }
    Ok(api::Volume {
        source: source.into(),
        destination: destination.into(),
        read_only,
    })
}

fn parse_cpus(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err("expected a positive number of CPUs, e.g. 0.5 or 2".into()),
    }
}

/// Bytes with Docker's units: `1024`, `512k`, `64m`, `1g` (also `64MiB`, `64mb`).
pub fn parse_bytes(s: &str) -> Result<i64, String> {
    let bad = || format!("expected a size such as 67108864, 512k, 64m or 1g, not {s:?}");
    let lower = s.trim().to_ascii_lowercase();
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &lower[digits.len()..];
    let mult: i64 = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    let n: f64 = digits.parse().map_err(|_| bad())?;
    let v = n * mult as f64;
    if !(v >= 1.0 && v < i64::MAX as f64) {
        return Err(bad());
    }
    Ok(v as i64)
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.into(), v.into())),
        _ => Err("expected KEY=value".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("512k").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1000").unwrap(), 1000);
        for bad in ["", "m", "-1m", "12x", "0"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn volumes_need_absolute_paths() {
        let v = parse_volume("/srv/data:/data:ro").unwrap();
        assert!(v.read_only && v.destination == "/data");
        assert!(parse_volume("data:/data").is_err());
        assert!(parse_volume("/a:/b:rx").is_err());
    }
}

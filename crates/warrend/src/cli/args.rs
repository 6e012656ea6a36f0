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
    /// Memory limit: bytes or a number with b, k, m, g, t, p (binary units), e.g. 64m or 1.5g.
    #[arg(short = 'm', long, value_parser = parse_size_flag)]
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
    /// Signal that asks the container to stop (e.g. SIGINT, QUIT, RTMIN+3 or 15).
    #[arg(long, value_parser = check_signal)]
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

/// A size flag (`--memory`, `--memory-reservation`, `--shm-size`, `--memory-swap`) in
/// Docker's units, read by [`warren_spec::units::parse_bytes`] like every size Warren takes:
/// `1024`, `512k`, `64m`, `1.5g`, `64MiB`. At least 1 byte, since 0 would mean "not set" to
/// the daemon, and at most `i64::MAX`, the API's field.
pub fn parse_size_flag(s: &str) -> Result<i64, String> {
    let bytes = warren_spec::units::parse_bytes(s).map_err(|e| e.to_string())?;
    match i64::try_from(bytes) {
        Ok(0) => Err(format!(
            "{s:?} is 0 bytes: give at least 1 byte, or leave the flag out for its default"
        )),
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(format!("{s:?} is too large: at most {} bytes", i64::MAX)),
    }
}

/// A signal flag (`--stop-signal`, `kill -s`), checked by [`warren_spec::units::parse_signal`]
/// before anything is sent, and sent as given (the daemon reads it the same way).
pub fn check_signal(s: &str) -> Result<String, warren_spec::UnitError> {
    warren_spec::units::parse_signal(s)?;
    Ok(s.to_string())
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
        assert_eq!(parse_size_flag("64m").unwrap(), 64 << 20);
        assert_eq!(parse_size_flag("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size_flag("512k").unwrap(), 512 << 10);
        assert_eq!(parse_size_flag("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size_flag("1000").unwrap(), 1000);
        assert_eq!(parse_size_flag("1.5g").unwrap(), 1_610_612_736);
        assert_eq!(parse_size_flag("1p").unwrap(), 1 << 50);
        for (bad, why) in [
            ("", "is empty"),
            ("m", "number is missing"),
            ("-1m", "negative"),
            ("12x", "unknown unit \"x\""),
            ("0", "at least 1 byte"),
            ("0.5", "at least 1 byte"),
            ("8e", "unknown unit"),
            ("1.2.3", "number is missing or malformed"),
            ("9223372036854775808", "at most 9223372036854775807 bytes"),
            ("18446744073709551616", "too large"),
        ] {
            let e = parse_size_flag(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[derive(clap::Parser)]
    struct Run {
        #[command(flatten)]
        args: ContainerArgs,
    }

    #[test]
    fn size_and_signal_flags_are_read_as_docker_reads_them() {
        use clap::Parser;
        let r = Run::try_parse_from([
            "run",
            "--memory",
            "1.5g",
            "--shm-size",
            "64MiB",
            "--stop-signal",
            "sigrtmin+3",
            "img",
        ])
        .unwrap();
        let spec = r.args.spec();
        assert_eq!(spec.memory_bytes, 1_610_612_736);
        assert_eq!(spec.shm_size_bytes, 64 << 20);
        assert_eq!(spec.stop_signal, "sigrtmin+3");
        for (flag, value, why) in [
            ("--memory", "12x", "unknown unit"),
            ("--memory-reservation", "0", "at least 1 byte"),
            ("--shm-size", "-1m", "negative"),
            ("--stop-signal", "SIGNOPE", "is not a signal"),
        ] {
            let e = Run::try_parse_from(["run", &format!("{flag}={value}"), "img"])
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains(flag) && e.contains(why), "{flag} {value}: {e}");
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

//! The container flags `run` and `create` share, named as Docker names them. Each flag's
//! value parser returns the library type it stands for (`Volume`, `PortMapping`, `Policy`,
//! `Seccomp`, ...), parsed by that type's own parser, and the flags together make a
//! [`NodeSpec`], which [`crate::spec`] turns into the API's `ContainerSpec`: a flag is read
//! once, and a typo fails before the daemon is asked.

use std::path::PathBuf;

use clap::Args;
use warren_proto::warren::node::v1 as api;
use warren_runtime::{NetworkMode, PortMapping, PullPolicy};
use warren_spec::{Seccomp, Volume};

use super::value_parsers::{check_signal, parse_size_flag};
use crate::spec::{NetworkChoice, NodeSpec, Policy};

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
    pub volumes: Vec<Volume>,
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
    #[arg(long, value_parser = parse_absolute)]
    pub secret_dir: Option<PathBuf>,
    /// Restart policy: no, on-failure[:max], always.
    #[arg(long, default_value = "no", value_parser = parse_restart)]
    pub restart: Policy,
    /// Publish a port: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp].
    #[arg(short = 'p', long = "publish", value_name = "PORT", value_parser = parse_port)]
    pub ports: Vec<PortMapping>,
    /// Network: bridge (the default), none, host or a network namespace path.
    #[arg(long, value_parser = parse_network)]
    pub network: Option<NetworkMode>,
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
    #[arg(long, default_value = "missing", value_parser = parse_pull)]
    pub pull: PullPolicy,
    /// Security options: seccomp=unconfined, seccomp=PROFILE.json (read here and sent),
    /// no-new-privileges=false.
    #[arg(long = "security-opt", value_name = "OPT", value_parser = parse_security_opt)]
    pub security_opt: Vec<SecurityOpt>,
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
    /// The container these flags describe, as the API's spec; an error (naming the flags)
    /// when they contradict each other.
    pub fn spec(&self) -> Result<api::ContainerSpec, String> {
        Ok(api::ContainerSpec::from(&self.node_spec()?))
    }

    /// The container these flags describe.
    pub fn node_spec(&self) -> Result<NodeSpec, String> {
        let mut r = warren_runtime::ContainerRequest::new(
            self.name.clone().unwrap_or_default(),
            self.image.clone(),
        );
        r.pull = self.pull;
        r.entrypoint = self.entrypoint.as_ref().map(|e| {
            if e.is_empty() {
                vec![]
            } else {
                vec![e.clone()]
            }
        });
        r.cmd = (!self.command.is_empty()).then(|| self.command.clone());
        r.env = self.env.clone();
        r.working_dir = self.workdir.clone();
        r.user = self.user.clone();
        r.hostname = self.hostname.clone();
        r.resources.cpus = self.cpus;
        r.resources.memory_bytes = self.memory;
        r.resources.pids = self.pids_limit;
        r.mounts.secrets_dir = self.secret_dir.clone();
        r.mounts.volumes = self.volumes.clone();
        r.labels = self.labels.iter().cloned().collect();
        r.readonly_rootfs = self.read_only;
        r.stop_signal = self.stop_signal.clone();
        let mut security = warren_spec::Security::default()
            .cap_add(self.cap_add.clone())
            .cap_drop(self.cap_drop.clone())
            .privileged(self.privileged)
            .oom_score_adj(self.oom_score_adj.unwrap_or(0));
        for opt in &self.security_opt {
            match opt {
                SecurityOpt::Seccomp(s) => security.seccomp = s.clone(),
                SecurityOpt::NoNewPrivileges(no) => security.allow_new_privileges = !no,
                SecurityOpt::Unsupported(opt) => {
                    return Err(format!("invalid security-opt {opt:?}: {SECURITY_OPTS}"))
                }
            }
        }
        r.security = security;
        r.tty = self.tty;
        r.open_stdin = self.interactive;
        r.console_size = if self.tty {
            super::terminal::size()
        } else {
            None
        };
        r.shim_group = self.shim_group.clone();
        let (health, restart_on_unhealthy) = self.health.overrides();
        r.health = health;
        let network = match &self.network {
            None => NetworkChoice::NodeDefault {
                ports: self.ports.clone(),
            },
            Some(NetworkMode::Bridge { .. }) => NetworkChoice::Mode(NetworkMode::Bridge {
                ports: self.ports.clone(),
            }),
            Some(_) if !self.ports.is_empty() => return Err(
                "--publish: ports can only be published with the bridge network (--network bridge)"
                    .into(),
            ),
            Some(other) => NetworkChoice::Mode(other.clone()),
        };
        let mut spec = NodeSpec {
            request: r,
            network,
            restart: self.restart,
            restart_on_unhealthy,
        };
        self.run_flags.fill(&mut spec.request);
        Ok(spec)
    }
}

/// A `--security-opt`, read.
#[derive(Debug, Clone, PartialEq)]
pub enum SecurityOpt {
    /// `seccomp=unconfined`, `seccomp=default` or `seccomp=FILE` (the file's JSON).
    Seccomp(Seccomp),
    /// `no-new-privileges[=true|false]`.
    NoNewPrivileges(bool),
    /// An option Docker has and Warren does not (AppArmor, SELinux, ...): refused when the
    /// spec is made, as the daemon refused it before (exit 125 from `run`).
    Unsupported(String),
}

const SECURITY_OPTS: &str = "seccomp=unconfined, seccomp=<profile file>, \
     no-new-privileges[=true|false] (AppArmor and SELinux options are not supported)";

/// A `--security-opt`; `seccomp=FILE` is read here (as Docker's CLI does) and sent as the
/// profile's JSON, so the daemon never opens a path a client names.
pub fn parse_security_opt(s: &str) -> Result<SecurityOpt, String> {
    // Docker takes `key=value` and the older `key:value`.
    let (key, value) = match s.split_once(['=', ':']) {
        Some((k, v)) => (k, Some(v)),
        None => (s, None),
    };
    match (key, value) {
        ("seccomp", Some("unconfined")) => Ok(SecurityOpt::Seccomp(Seccomp::Unconfined)),
        ("seccomp", Some("default")) => Ok(SecurityOpt::Seccomp(Seccomp::Default)),
        ("seccomp", Some(path)) => read_seccomp_profile(path).map(SecurityOpt::Seccomp),
        ("no-new-privileges", None | Some("true")) => Ok(SecurityOpt::NoNewPrivileges(true)),
        ("no-new-privileges", Some("false")) => Ok(SecurityOpt::NoNewPrivileges(false)),
        ("seccomp", None) | ("no-new-privileges", Some(_)) => Err(SECURITY_OPTS.into()),
        _ => Ok(SecurityOpt::Unsupported(s.to_string())),
    }
}

fn read_seccomp_profile(path: &str) -> Result<Seccomp, String> {
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
    Ok(Seccomp::Json(json))
}

fn parse_restart(s: &str) -> Result<Policy, String> {
    s.parse()
}

fn parse_port(s: &str) -> Result<PortMapping, String> {
    s.parse().map_err(|e: warren_spec::SpecError| e.to_string())
}

fn parse_pull(s: &str) -> Result<PullPolicy, String> {
    match s {
        "missing" => Ok(PullPolicy::IfMissing),
        "always" => Ok(PullPolicy::Always),
        "never" => Ok(PullPolicy::Never),
        _ => Err("one of missing, always or never".into()),
    }
}

/// `bridge`, `none`, `host` or the absolute path of a network namespace.
fn parse_network(s: &str) -> Result<NetworkMode, String> {
    match s {
        "bridge" => Ok(NetworkMode::Bridge { ports: vec![] }),
        "none" => Ok(NetworkMode::None),
        "host" => Ok(NetworkMode::Host),
        p if p.starts_with('/') => Ok(NetworkMode::Join(PathBuf::from(p))),
        _ => Err("bridge, none, host or the absolute path of a network namespace".into()),
    }
}

fn parse_absolute(s: &str) -> Result<PathBuf, String> {
    if s.starts_with('/') {
        Ok(PathBuf::from(s))
    } else {
        Err("an absolute path".into())
    }
}

/// `SRC:DST[:ro|:rw]` with absolute paths.
pub fn parse_volume(s: &str) -> Result<Volume, String> {
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
    Ok(Volume::new(source, destination).read_only(read_only))
}

fn parse_cpus(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err("expected a positive number of CPUs, e.g. 0.5 or 2".into()),
    }
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
        let spec = r.args.node_spec().unwrap().request;
        assert_eq!(spec.resources.memory_bytes, Some(1_610_612_736));
        assert_eq!(spec.mounts.shm_size_bytes, Some(64 << 20));
        assert_eq!(spec.stop_signal.as_deref(), Some("sigrtmin+3"));
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
    fn every_flag_is_parsed_once_into_the_library_type_and_reaches_the_api_intact() {
        use clap::Parser;
        let r = Run::try_parse_from([
            "run",
            "--name",
            "web",
            "-e",
            "A=1",
            "-v",
            "/srv:/data:ro",
            "--cpus",
            "0.5",
            "-m",
            "64m",
            "--pids-limit",
            "50",
            "--restart",
            "on-failure:3",
            "-p",
            "127.0.0.1:8080:80",
            "-p",
            "5353:53/udp",
            "--network",
            "bridge",
            "--entrypoint",
            "",
            "-w",
            "/app",
            "-u",
            "1000:1000",
            "--hostname",
            "h",
            "-l",
            "app=web",
            "--read-only",
            "--stop-signal",
            "INT",
            "--pull",
            "never",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "no-new-privileges=false",
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "ALL",
            "--oom-score-adj",
            "-10",
            "--memory-swap",
            "-1",
            "--cpu-shares",
            "512",
            "--ulimit",
            "nofile=100:200",
            "--tmpfs",
            "/run:size=1.5g",
            "--shm-size",
            "1g",
            "--sysctl",
            "net.core.somaxconn=1024",
            "--add-host",
            "db:10.0.0.5",
            "--dns",
            "192.0.2.53",
            "--health-cmd",
            "true",
            "--health-interval",
            "500ms",
            "--restart-on-unhealthy",
            "img",
            "sh",
            "-c",
            "x",
        ])
        .unwrap();
        let spec = r.args.node_spec().unwrap();
        let req = &spec.request;
        assert_eq!(req.entrypoint, Some(vec![]));
        assert_eq!(
            req.cmd.as_deref(),
            Some(&["sh".to_string(), "-c".into(), "x".into()][..])
        );
        assert_eq!(req.pull, PullPolicy::Never);
        assert_eq!(spec.restart, Policy::OnFailure(Some(3)));
        assert!(spec.restart_on_unhealthy);
        assert_eq!(spec.network.ports().len(), 2);
        assert_eq!(req.security.seccomp, Seccomp::Unconfined);
        assert!(req.security.allow_new_privileges);
        // One size parser: the tmpfs size takes what --memory takes.
        assert_eq!(req.mounts.tmpfs[0].size_bytes, Some(1_610_612_736));
        assert_eq!(req.resources.memory_swap_bytes, Some(-1));
        assert_eq!(
            req.health.interval,
            Some(std::time::Duration::from_millis(500))
        );
        let wire = r.args.spec().unwrap();
        assert_eq!(NodeSpec::try_from(&wire).unwrap(), spec);

        // Ports need the bridge; options Warren lacks are refused when the spec is made.
        let r = Run::try_parse_from(["run", "--network", "none", "-p", "80:80", "img"]).unwrap();
        assert!(r.args.spec().unwrap_err().contains("--publish"));
        let r = Run::try_parse_from(["run", "--security-opt", "apparmor=x", "img"]).unwrap();
        assert!(r.args.spec().unwrap_err().contains("security-opt"));
        for (flag, value) in [
            ("--restart", "maybe"),
            ("-p", "80"),
            ("--network", "weird"),
            ("--pull", "sometimes"),
            ("--secret-dir", "relative"),
        ] {
            let e = Run::try_parse_from(["run", flag, value, "img"])
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("invalid value"), "{flag} {value}: {e}");
        }
    }

    #[test]
    fn volumes_need_absolute_paths() {
        let v = parse_volume("/srv/data:/data:ro").unwrap();
        assert!(v.read_only && v.destination == std::path::Path::new("/data"));
        assert!(parse_volume("data:/data").is_err());
        assert!(parse_volume("/a:/b:rx").is_err());
    }
}

//! The `run`/`create` flags for resources, devices, kernel parameters, names and files,
//! named and read as Docker's, each by the parser of the library type it becomes (a typo
//! fails before the daemon is asked). `--env-file` and `--label-file` are read here, on the
//! client, as Docker's CLI does.

use clap::Args;
use warren_runtime::{ContainerRequest, HostEntry};
use warren_spec::{Device, Tmpfs, Ulimit};

use super::value_parsers::parse_size_flag;

/// Resources, devices, kernel parameters, names and files.
#[derive(Args, Debug, Clone, Default)]
pub struct RunFlags {
    /// Memory plus swap (`--memory` is needed); -1: unlimited swap. Default: no swap.
    #[arg(long, value_name = "SIZE", value_parser = parse_swap, allow_negative_numbers = true)]
    pub memory_swap: Option<i64>,
    /// Soft memory limit (at most `--memory`), e.g. 32m.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_flag)]
    pub memory_reservation: Option<i64>,
    /// CPUs the container may run on, e.g. 0-1,3.
    #[arg(long, value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// Relative CPU weight, 2 to 262144 (1024 is one CPU's worth).
    #[arg(long, value_name = "WEIGHT", value_parser = clap::value_parser!(u64).range(2..=262_144))]
    pub cpu_shares: Option<u64>,
    /// A process limit: NAME=SOFT[:HARD], e.g. nofile=1024:2048 (any of Docker's names).
    #[arg(long = "ulimit", value_name = "NAME=SOFT[:HARD]", value_parser = parse::<Ulimit>)]
    pub ulimits: Vec<Ulimit>,
    /// A host device: HOST[:CONTAINER][:PERMISSIONS], e.g. /dev/fuse or /dev/sda:/dev/xvda:r.
    #[arg(long = "device", value_name = "DEVICE", value_parser = parse::<Device>)]
    pub devices: Vec<Device>,
    /// A tmpfs: DEST[:OPTIONS], e.g. /run:size=64m,mode=1777 (default noexec,nosuid,nodev).
    #[arg(long = "tmpfs", value_name = "DEST[:OPTIONS]", value_parser = parse::<Tmpfs>)]
    pub tmpfs: Vec<Tmpfs>,
    /// Size of /dev/shm, e.g. 256m (default 64m).
    #[arg(long, value_name = "SIZE", value_parser = parse_size_flag)]
    pub shm_size: Option<i64>,
    /// A namespaced kernel parameter: KEY=VALUE, e.g. net.core.somaxconn=1024.
    #[arg(long = "sysctl", value_name = "KEY=VALUE", value_parser = parse_sysctl)]
    pub sysctls: Vec<(String, String)>,
    /// An extra /etc/hosts entry: NAME:IP or NAME:host-gateway.
    #[arg(long = "add-host", value_name = "NAME:IP", value_parser = parse::<HostEntry>)]
    pub add_hosts: Vec<HostEntry>,
    /// A DNS server (IP address).
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<std::net::IpAddr>,
    /// A DNS search domain.
    #[arg(long = "dns-search", value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// A resolver option, e.g. ndots:2.
    #[arg(long = "dns-option", value_name = "OPTION")]
    pub dns_options: Vec<String>,
    /// The container's NIS domain name.
    #[arg(long, value_name = "NAME")]
    pub domainname: Option<String>,
    /// Read environment variables from a file (NAME=value or NAME lines; # comments).
    #[arg(long = "env-file", value_name = "FILE", value_parser = read_env_file)]
    pub env_files: Vec<Lines>,
    /// Read labels from a file (KEY=value lines; # comments).
    #[arg(long = "label-file", value_name = "FILE", value_parser = read_label_file)]
    pub label_files: Vec<Lines>,
}

/// The entries a file gave, in order.
#[derive(Debug, Clone, Default)]
pub struct Lines(pub Vec<String>);

impl RunFlags {
    /// Put these flags into `r`: file entries first, so `-e` and `-l` win over them.
    pub fn fill(&self, r: &mut ContainerRequest) {
        r.resources.memory_swap_bytes = self.memory_swap;
        r.resources.memory_reservation_bytes = self.memory_reservation;
        r.resources.cpuset = self.cpuset_cpus.clone();
        r.resources.cpu_shares = self.cpu_shares;
        r.ulimits = self.ulimits.clone();
        r.devices = self.devices.clone();
        r.mounts.tmpfs = self.tmpfs.clone();
        r.mounts.shm_size_bytes = self.shm_size.map(|s| s.unsigned_abs());
        r.sysctls = self.sysctls.iter().cloned().collect();
        r.extra_hosts = self.add_hosts.clone();
        r.dns.servers = self.dns.clone();
        r.dns.search = self.dns_search.clone();
        r.dns.options = self.dns_options.clone();
        r.domainname = self.domainname.clone();
        let mut env: Vec<String> = self.env_files.iter().flat_map(|f| f.0.clone()).collect();
        env.append(&mut r.env);
        r.env = env;
        for line in self.label_files.iter().flat_map(|f| &f.0) {
            let (k, v) = line.split_once('=').unwrap_or((line, ""));
            r.labels
                .entry(k.to_string())
                .or_insert_with(|| v.to_string());
        }
    }
}

/// A value read by the library type's own parser (Docker's syntax).
fn parse<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| e.to_string())
}

fn parse_swap(s: &str) -> Result<i64, String> {
    if s.trim() == "-1" {
        return Ok(-1);
    }
    parse_size_flag(s)
}

fn parse_sysctl(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.into(), v.into())),
        _ => Err("expected KEY=VALUE, e.g. net.core.somaxconn=1024".into()),
    }
}

/// The meaningful lines of a small text file: trimmed at the start, without blank lines and
/// `#` comments.
fn read_lines(path: &str) -> Result<Vec<String>, String> {
    const LIMIT: u64 = 1 << 20;
    let meta = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
    if !meta.is_file() || meta.len() > LIMIT {
        return Err(format!(
            "{path}: must be a regular file of at most {LIMIT} bytes"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(text
        .lines()
        .map(|l| l.trim_start().trim_end_matches('\r'))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

/// Docker's env file: `NAME=value` lines, or `NAME` alone for this shell's value (skipped
/// when unset).
fn read_env_file(path: &str) -> Result<Lines, String> {
    let mut out = Vec::new();
    for line in read_lines(path)? {
        let name = line.split_once('=').map_or(line.as_str(), |(n, _)| n);
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!(
                "{path}: {line:?}: a variable name may not be empty or contain spaces"
            ));
        }
        if line.contains('=') {
            out.push(line);
        } else if let Ok(v) = std::env::var(&line) {
            out.push(format!("{line}={v}"));
        }
    }
    Ok(Lines(out))
}

fn read_label_file(path: &str) -> Result<Lines, String> {
    let lines = read_lines(path)?;
    if let Some(bad) = lines.iter().find(|l| l.starts_with('=')) {
        return Err(format!("{path}: {bad:?}: a label needs a key"));
    }
    Ok(Lines(lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_is_a_size_or_minus_one() {
        assert_eq!(parse_swap("-1").unwrap(), -1);
        assert_eq!(parse_swap("1.5g").unwrap(), 1_610_612_736);
        assert_eq!(parse_swap("128MiB").unwrap(), 128 << 20);
        assert!(parse_swap("-2").unwrap_err().contains("negative"));
        assert!(parse_swap("0").unwrap_err().contains("at least 1 byte"));
    }

    #[test]
    fn env_and_label_files_read_as_docker_reads_them() {
        let d = tempfile::tempdir().unwrap();
        let env = d.path().join("env");
        std::fs::write(
            &env,
            "# a comment\n\nA=1\n  B=two words\nPATH\nWARREN_SURELY_UNSET\n",
        )
        .unwrap();
        let got = read_env_file(env.to_str().unwrap()).unwrap().0;
        assert_eq!(got[..2], ["A=1", "B=two words"]);
        assert!(got[2].starts_with("PATH="));
        assert_eq!(got.len(), 3);
        std::fs::write(&env, "BAD NAME=1\n").unwrap();
        assert!(read_env_file(env.to_str().unwrap()).is_err());
        assert!(read_env_file("/nonexistent").is_err());

        let labels = d.path().join("labels");
        std::fs::write(&labels, "tier=web\n# x\nflag\n").unwrap();
        let flags = RunFlags {
            label_files: vec![read_label_file(labels.to_str().unwrap()).unwrap()],
            env_files: vec![Lines(vec!["A=file".into()])],
            ..Default::default()
        };
        let mut spec = ContainerRequest::new("c", "img").env(["A=flag"]);
        spec.labels.insert("tier".into(), "db".into());
        flags.fill(&mut spec);
        assert_eq!(spec.env, ["A=file", "A=flag"]);
        assert_eq!(spec.labels["tier"], "db");
        assert_eq!(spec.labels["flag"], "");
    }
}

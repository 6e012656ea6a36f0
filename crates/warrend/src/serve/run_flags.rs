//! The run flags for resources, devices, kernel parameters and names (Docker's
//! `--memory-swap`, `--cpu-shares`, `--ulimit`, `--device`, `--tmpfs`, `--shm-size`,
//! `--sysctl`, `--add-host`, `--dns*`, `--domainname`), from a `ContainerSpec` into a
//! `ContainerRequest`. Each is parsed by the library type that owns it, so the CLI and the
//! daemon read Docker's syntax the same way; a bad value is InvalidArgument naming the flag.

use std::net::IpAddr;

use tonic::Status;
use warren_proto::warren::node::v1 as api;
use warren_runtime::ContainerRequest;

use super::convert::invalid;

/// Fill `req` from the spec's flags of this group.
pub fn apply(spec: &api::ContainerSpec, req: &mut ContainerRequest) -> Result<(), Status> {
    let r = &mut req.resources;
    r.memory_swap_bytes = match spec.memory_swap_bytes {
        0 => None,
        v => Some(v),
    };
    r.memory_reservation_bytes = match spec.memory_reservation_bytes {
        0 => None,
        v if v > 0 => Some(v),
        v => {
            return Err(invalid(
                "memory-reservation",
                v,
                "a positive size (0: none)",
            ))
        }
    };
    r.cpuset = (!spec.cpuset_cpus.is_empty()).then(|| spec.cpuset_cpus.clone());
    r.cpu_shares = (spec.cpu_shares != 0).then_some(spec.cpu_shares);
    req.ulimits = parse_all(&spec.ulimits, "ulimit")?;
    req.devices = parse_all(&spec.devices, "device")?;
    let tmpfs: Vec<warren_spec::Tmpfs> = parse_all(&spec.tmpfs, "tmpfs")?;
    req.mounts.tmpfs.extend(tmpfs);
    req.mounts.shm_size_bytes = match spec.shm_size_bytes {
        0 => None,
        v if v > 0 => Some(v as u64),
        v => return Err(invalid("shm-size", v, "a positive size (0: 64 MiB)")),
    };
    req.sysctls = spec
        .sysctls
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    req.extra_hosts = parse_all(&spec.add_hosts, "add-host")?;
    req.dns.servers = spec
        .dns
        .iter()
        .map(|s| {
            s.parse::<IpAddr>()
                .map_err(|_| invalid("dns", s, "an IPv4 or IPv6 address"))
        })
        .collect::<Result<_, _>>()?;
    req.dns.search = spec.dns_search.clone();
    req.dns.options = spec.dns_options.clone();
    req.domainname = (!spec.domainname.is_empty()).then(|| spec.domainname.clone());
    Ok(())
}

/// Parse every value with `T`'s Docker-syntax parser; the first bad one names `flag`.
fn parse_all<T>(values: &[String], flag: &str) -> Result<Vec<T>, Status>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    values
        .iter()
        .map(|v| {
            v.parse::<T>()
                .map_err(|e| Status::invalid_argument(format!("--{flag} {v:?}: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_syntax_carries_over_and_bad_values_name_the_flag() {
        let spec = api::ContainerSpec {
            memory_swap_bytes: -1,
            cpu_shares: 512,
            ulimits: vec!["nofile=100:200".into()],
            tmpfs: vec!["/run:size=1m".into()],
            add_hosts: vec!["db:10.0.0.5".into()],
            dns: vec!["192.0.2.53".into()],
            ..Default::default()
        };
        let mut req = ContainerRequest::default();
        apply(&spec, &mut req).unwrap();
        assert_eq!(req.resources.memory_swap_bytes, Some(-1));
        assert_eq!(req.ulimits[0].soft, 100);
        assert_eq!(req.mounts.tmpfs[0].size_bytes, Some(1 << 20));
        assert_eq!(req.extra_hosts[0].name, "db");
        for (bad, flag) in [
            (
                api::ContainerSpec {
                    ulimits: vec!["nofile".into()],
                    ..Default::default()
                },
                "ulimit",
            ),
            (
                api::ContainerSpec {
                    devices: vec!["dev/x".into()],
                    ..Default::default()
                },
                "device",
            ),
            (
                api::ContainerSpec {
                    tmpfs: vec!["/a:bogus".into()],
                    ..Default::default()
                },
                "tmpfs",
            ),
            (
                api::ContainerSpec {
                    add_hosts: vec!["db".into()],
                    ..Default::default()
                },
                "add-host",
            ),
            (
                api::ContainerSpec {
                    dns: vec!["ns1".into()],
                    ..Default::default()
                },
                "dns",
            ),
            (
                api::ContainerSpec {
                    shm_size_bytes: -1,
                    ..Default::default()
                },
                "shm-size",
            ),
        ] {
            let e = apply(&bad, &mut ContainerRequest::default()).unwrap_err();
            assert!(e.message().contains(flag), "{flag}: {}", e.message());
        }
    }
}

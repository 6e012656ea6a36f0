//! One model of a container spec, for the CLI and the daemon alike: a [`NodeSpec`] is
//! warren-runtime's [`ContainerRequest`] plus what warrend itself adds (the restart policy,
//! the node's default network). The node API's `ContainerSpec` is converted to it in
//! `from_api` (checking every field, naming the one at fault) and from it in `to_api`; no
//! other code maps one to the other. The CLI's flags parse into library types and build a
//! `NodeSpec`, so a flag is read once, by the same parser the library uses.

mod from_api;
mod policy;
mod to_api;

#[cfg(test)]
mod roundtrip;

pub use from_api::{api_duration, FieldError};
pub use policy::Policy;
pub use to_api::restart_policy;

use warren_spec::container::ContainerRequest;
use warren_spec::network::{NetworkMode, PortMapping};

/// A container as the node API describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeSpec {
    /// What the library creates. `id` empty: the daemon picks one. `labels` are the user's
    /// (warrend adds its own when it creates the container). `network` is not read: the
    /// network is [`NodeSpec::network`].
    pub request: ContainerRequest,
    /// Which network, and the ports published on it.
    pub network: NetworkChoice,
    /// What warrend does when the container exits.
    pub restart: Policy,
    /// Kill the container when it turns unhealthy, so that its on-failure policy restarts it.
    pub restart_on_unhealthy: bool,
}

/// A container's network as a client asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkChoice {
    /// The node's default network (`[network] default`), with these ports published when
    /// that is the bridge.
    NodeDefault {
        /// Published ports.
        ports: Vec<PortMapping>,
    },
    /// This network.
    Mode(NetworkMode),
}

impl Default for NetworkChoice {
    fn default() -> Self {
        NetworkChoice::NodeDefault { ports: Vec::new() }
    }
}

impl NetworkChoice {
    /// The network mode, with `default` (`bridge`, `none` or `host`) for the node's
    /// default; an error if ports are published on a network other than the bridge.
    pub fn resolve(&self, default: &str) -> Result<NetworkMode, FieldError> {
        match self {
            NetworkChoice::Mode(m) => Ok(m.clone()),
            NetworkChoice::NodeDefault { ports } => match default {
                "bridge" => Ok(NetworkMode::Bridge {
                    ports: ports.clone(),
                }),
                _ if !ports.is_empty() => Err(FieldError::new(
                    "spec.network.node_default.ports",
                    ports.len(),
                    format!(
                        "ports can only be published on the bridge network, and this node's \
                         default network is {default}"
                    ),
                )),
                "host" => Ok(NetworkMode::Host),
                _ => Ok(NetworkMode::None),
            },
        }
    }

    /// The name warrend shows and records for this network: `bridge`, `none`, `host`, a
    /// namespace path, or `default` resolved to the node's.
    pub fn name(&self, default: &str) -> String {
        match self {
            NetworkChoice::NodeDefault { .. } => default.to_string(),
            NetworkChoice::Mode(NetworkMode::Bridge { .. }) => "bridge".into(),
            NetworkChoice::Mode(NetworkMode::None) => "none".into(),
            NetworkChoice::Mode(NetworkMode::Host) => "host".into(),
            NetworkChoice::Mode(NetworkMode::Join(p)) => p.display().to_string(),
        }
    }

    /// The published ports.
    pub fn ports(&self) -> &[PortMapping] {
        match self {
            NetworkChoice::NodeDefault { ports }
            | NetworkChoice::Mode(NetworkMode::Bridge { ports }) => ports,
            NetworkChoice::Mode(_) => &[],
        }
    }
}

/// A terminal dimension as the runtime takes it.
pub fn clamp16(v: u32) -> u16 {
    v.min(u32::from(u16::MAX)) as u16
}

/// A published port in Docker's syntax (`[HOST_IP:]HOST_PORT:CONTAINER_PORT[/udp]`, TCP
/// without a suffix as most people write it), as warrend records it on the container and
/// `inspect` shows it.
pub fn port_text(p: &PortMapping) -> String {
    let proto = match p.protocol {
        warren_spec::network::Protocol::Udp => "/udp",
        _ => "",
    };
    match p.host_ip {
        Some(std::net::IpAddr::V6(ip)) => {
            format!("[{ip}]:{}:{}{proto}", p.host_port, p.container_port)
        }
        Some(ip) => format!("{ip}:{}:{}{proto}", p.host_port, p.container_port),
        None => format!("{}:{}{proto}", p.host_port, p.container_port),
    }
}

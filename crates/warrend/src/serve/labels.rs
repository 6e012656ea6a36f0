//! The labels warrend keeps on the containers it creates (all under `warrend.`): its
//! restart policy, network, ports, `--rm`, health options and the spec digest. A leaf:
//! the API, restart policies and health checks all read them.

/// Every warrend label starts with this; requests may not set them.
pub const PREFIX: &str = "warrend.";
/// The restart policy (`no`, `on-failure[:max]`, `always`).
pub const RESTART: &str = "warrend.restart";
/// The network mode as given (`bridge`, `none`, `host` or a namespace path).
pub const NETWORK: &str = "warrend.network";
/// Published ports, comma-separated in Docker syntax.
pub const PORTS: &str = "warrend.ports";
/// `true`: delete the container once it has exited (`run --rm`).
pub const REMOVE: &str = "warrend.remove";
/// The digest of the node API spec a container was created from: a second `Create`
/// with the same id is answered by comparing it.
pub const SPEC_DIGEST: &str = "warrend.spec-digest";
/// `true`: kill the container when it becomes unhealthy (`--restart-on-unhealthy`).
pub const RESTART_ON_UNHEALTHY: &str = "warrend.restart-on-unhealthy";

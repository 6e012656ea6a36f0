//! `create_container`: validate, find or pull the image, build the spec, prepare the rootfs
//! snapshot and record the container, the way containerd's own client does (under a lease,
//! with the standard fields and labels, so `ctr containers info` shows a normal container).

use std::collections::HashMap;

use crate::containerd::Containerd;
use warren_proto::any;
use warren_proto::containerd::runc::v1::Options as RuncOptions;
use warren_proto::containerd::services::containers::v1::{
    container::Runtime, Container, CreateContainerRequest, DeleteContainerRequest,
    GetContainerRequest,
};
use warren_proto::containerd::services::snapshots::v1::{
    PrepareSnapshotRequest, RemoveSnapshotRequest, ViewSnapshotRequest,
};
use warren_spec::{BuildContext, ContainerSpec, ImageConfig, SpecRequest};

use super::labels;
use super::{ContainerRequest, PullPolicy, RUNTIME_NAME};
use crate::error::{found, warn_unless_missing};
use crate::images::lease::Lease;
use crate::images::reference;
use crate::images::Image;
use crate::network::files::{self, NetworkFiles};
use crate::network::{HostAddress, NetworkMode};
use crate::undo::Undo;
use crate::{ContainerdRuntime, ErrorKind, PullOptions, RuntimeError};

impl ContainerdRuntime {
    /// Create a container (not started): the image is pulled if the namespace lacks it
    /// (see [`PullPolicy`]), the OCI spec is generated with warren-spec from the image's
    /// config and the request, the rootfs snapshot is prepared and the container recorded.
    /// Returns its id.
    ///
    /// Bad input (id, limits, mounts, env, user, labels, reference) is refused before
    /// anything is pulled or created. If a later step fails, the earlier ones are undone.
    ///
    /// ```no_run
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// use warren_runtime::{ContainerRequest, Resources};
    /// let request = ContainerRequest::new("web-1", "busybox")
    ///     .cmd(["httpd", "-f"])
    ///     .resources(Resources::default().cpus(0.5).memory_bytes(64 << 20));
    /// let id = rt.create_container(&request).await?;
    /// rt.start_container(&id).await?;
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(level = "debug", skip_all, fields(id = %req.id))]
    pub async fn create_container(&self, req: &ContainerRequest) -> Result<String, RuntimeError> {
        self.validate_request(req)?;
        if self.container_record(&req.id).await?.is_some() {
            return Err(self.already_exists(&req.id));
        }
        let extra_hosts = self.extra_hosts(req)?;
        let image = self.image_for(req).await?;
        let files = NetworkFiles {
            // The spec's default hostname: the id's first 63 characters.
            hostname: (req.hostname.clone()).unwrap_or_else(|| req.id.chars().take(63).collect()),
            domainname: req.domainname.clone(),
            dns: req.dns.clone(),
            extra_hosts,
            host_network: req.network == NetworkMode::Host,
            ..Default::default()
        };
        let mut undo = Undo::new("create");
        let dir = self.inner.containers.dir(&req.id);
        match &req.network {
            NetworkMode::Bridge { ports } => {
                // network_up undoes its own steps when it fails.
                self.network_up(&req.id, files, ports).await?;
                let (rt, id) = (self.clone(), req.id.clone());
                undo.push("take the network down", async move {
                    rt.undo_network(&id).await
                });
            }
            _ if own_network_files(req) => {
                undo.push("remove the container's directory", async move {
                    let _ = tokio::fs::remove_dir_all(&dir).await;
                });
                let written = self.write_network_files(&req.id, files).await;
                undo.check(written).await?;
            }
            _ => {}
        }
        let result = self.create_with_image(req, &image, &mut undo).await;
        undo.check(result).await?;
        undo.commit();
        Ok(req.id.clone())
    }

    /// The steps after the image (and the network) are there: spec, lease, snapshot and
    /// record, the lease released (synchronously collected on failure).
    async fn create_with_image(
        &self,
        req: &ContainerRequest,
        image: &Image,
        undo: &mut Undo,
    ) -> Result<(), RuntimeError> {
        let spec = self.build_spec(req, image).await?;
        let record = self.record(req, image, &spec)?;
        let lease = Lease::create(self, "create").await?;
        let result = self
            .prepare_and_record(&lease.clients, req, image, record, undo)
            .await;
        lease.release(result.is_err()).await;
        result
    }

    /// The request's extra hosts with `host-gateway` resolved to the bridge's gateway.
    fn extra_hosts(
        &self,
        req: &ContainerRequest,
    ) -> Result<Vec<(String, std::net::IpAddr)>, RuntimeError> {
        req.extra_hosts
            .iter()
            .map(|e| {
                e.validate()
                    .map_err(|e| RuntimeError::of_request_check(&req.id, e))?;
                let ip = match e.address {
                    HostAddress::Ip(ip) => ip,
                    HostAddress::HostGateway => self.host_gateway()?,
                };
                Ok((e.name.clone(), ip))
            })
            .collect()
    }

    /// Everything that can be checked without the image: the spec is built once with a
    /// stand-in image config, so limits, mounts, env, ids and the hostname are validated
    /// by the same code that builds the real spec.
    fn validate_request(&self, req: &ContainerRequest) -> Result<(), RuntimeError> {
        reference::normalize(&req.image)?;
        super::health::validate(req)?;
        if let Some(group) = &req.shim_group {
            warren_proto::namespace::validate_identifier("shim group", group)?;
        }
        if let NetworkMode::Bridge { ports } = &req.network {
            crate::network::check_ports(ports)?;
        }
        req.dns
            .validate()
            .map_err(|e| RuntimeError::of_request_check(&req.id, e))?;
        self.extra_hosts(req)?;
        for (key, value) in &req.labels {
            let bad_key = key.starts_with(labels::RESERVED_PREFIX)
                || key.is_empty()
                || !key.bytes().all(|b| b.is_ascii_graphic())
                || key.contains('=');
            if bad_key || value.contains('\0') || key.len() + value.len() > labels::MAX_LABEL_BYTES
            {
                return Err(RuntimeError::InvalidRequest {
                    field: "label",
                    value: format!("{key}={value}"),
                    allowed: format!(
                        "a key of printable ASCII without spaces or '=', not starting with {}, \
                         a value without NUL bytes, {} bytes at most together",
                        labels::RESERVED_PREFIX,
                        labels::MAX_LABEL_BYTES
                    ),
                });
            }
        }
        let stand_in = ImageConfig {
            cmd: vec!["/stand-in".into()],
            ..Default::default()
        };
        if let NetworkMode::Join(path) = &req.network {
            if !path.exists() {
                return Err(RuntimeError::InvalidRequest {
                    field: "network namespace",
                    value: path.display().to_string(),
                    allowed: "the path of an existing network namespace".into(),
                });
            }
        }
        let mut spec_req = self.spec_request(req, stand_in, false);
        if spec_req.user.as_deref().is_some_and(names_a_user) {
            // Names are checked against the image's files in the real build.
            spec_req.user = None;
        }
        spec_req
            .build(&BuildContext::host())
            .map(|_| ())
            .map_err(|source| RuntimeError::Spec {
                id: req.id.clone(),
                source,
            })
    }

    /// The spec request for `req`. With `network_ready`, a bridge container's namespace,
    /// hosts and resolv.conf exist and are used (unless the request gives its own files).
    pub(crate) fn spec_request(
        &self,
        req: &ContainerRequest,
        mut image: ImageConfig,
        network_ready: bool,
    ) -> SpecRequest {
        let mut mounts = req.mounts.clone();
        let network = match &req.network {
            NetworkMode::None | NetworkMode::Host | NetworkMode::Join(_) => {
                if network_ready {
                    let dir = self.inner.containers.dir(&req.id);
                    if !req.extra_hosts.is_empty() {
                        mounts.hosts = mounts.hosts.or_else(|| Some(dir.join(files::HOSTS)));
                    }
                    if !req.dns.is_empty() {
                        mounts.resolv_conf = mounts
                            .resolv_conf
                            .or_else(|| Some(dir.join(files::RESOLV_CONF)));
                    }
                }
                match &req.network {
                    NetworkMode::Host => warren_spec::Network::Host,
                    NetworkMode::Join(path) => warren_spec::Network::Path(path.clone()),
                    _ => warren_spec::Network::New,
                }
            }
            NetworkMode::Bridge { .. } => {
                if network_ready {
                    let dir = self.inner.containers.dir(&req.id);
                    mounts.hosts = mounts.hosts.or_else(|| Some(dir.join("hosts")));
                    mounts.resolv_conf =
                        mounts.resolv_conf.or_else(|| Some(dir.join("resolv.conf")));
                }
                warren_spec::Network::Own(self.netns_path(&req.id))
            }
        };
        if req.stop_signal.is_some() {
            image.stop_signal = req.stop_signal.clone();
        }
        let mut spec = SpecRequest::default();
        spec.id = req.id.clone();
        spec.namespace = Some(self.namespace().to_string());
        spec.image = image;
        spec.entrypoint = req.entrypoint.clone();
        spec.cmd = req.cmd.clone();
        spec.env = req.env.clone();
        spec.working_dir = req.working_dir.clone();
        spec.user = req.user.clone();
        spec.hostname = req.hostname.clone();
        spec.resources = req.resources.clone();
        spec.mounts = mounts;
        spec.network = network;
        spec.readonly_rootfs = req.readonly_rootfs;
        spec.terminal = req.tty;
        spec.console_size = req.console_size;
        spec.security = req.security.clone();
        spec.ulimits = req.ulimits.clone();
        spec.devices = req.devices.clone();
        spec.sysctls = req.sysctls.clone();
        spec.domainname = req.domainname.clone();
        spec.annotations = req
            .shim_group
            .iter()
            .map(|g| (labels::SHIM_GROUP_ANNOTATION.to_string(), g.clone()))
            .collect();
        spec
    }

    async fn image_for(&self, req: &ContainerRequest) -> Result<Image, RuntimeError> {
        let options = PullOptions::default();
        let pull = || self.pull_image(&req.image, &options);
        match req.pull {
            PullPolicy::Always => pull().await,
            PullPolicy::Never => self.get_image(&req.image).await,
            PullPolicy::IfMissing => match self.get_image(&req.image).await {
                Err(RuntimeError::NotFound { .. }) => pull().await,
                other => other,
            },
        }
    }

    /// The real spec. A user given by name is looked up in the image's own files, through a
    /// read-only view of its top snapshot mounted for the moment of the build.
    async fn build_spec(
        &self,
        req: &ContainerRequest,
        image: &Image,
    ) -> Result<ContainerSpec, RuntimeError> {
        let spec_req = self.spec_request(req, image.config.clone(), true);
        let user = spec_req.user.as_deref().or(image.config.user.as_deref());
        let spec_err = |source| RuntimeError::Spec {
            id: req.id.clone(),
            source,
        };
        if !user.is_some_and(names_a_user) {
            return spec_req.build(&BuildContext::host()).map_err(spec_err);
        }
        let lease = Lease::create(self, "user-view").await?;
        let view = format!("{}-user-view-{:08x}", req.id, rand::random::<u32>());
        let result = async {
            let mounts = lease
                .clients
                .snapshots()
                .view(ViewSnapshotRequest {
                    snapshotter: self.inner.snapshotter.clone(),
                    key: view.clone(),
                    parent: image.top_chain_id.clone(),
                    ..Default::default()
                })
                .await?
                .mounts;
            let built = tokio::task::spawn_blocking(move || {
                super::io::with_mounted(&mounts, |root| {
                    spec_req.build(&BuildContext::host().with_rootfs(root))
                })
            })
            .await
            .map_err(|e| RuntimeError::Task {
                op: "mounting the image to look up its users",
                source: e,
            })??;
            built.map_err(spec_err)
        }
        .await;
        lease.release(true).await;
        result
    }

    /// The container record, as ctr writes it: runtime runc v2 with our runc options, the
    /// spec, the snapshot, the image name and its stop signal label.
    fn record(
        &self,
        req: &ContainerRequest,
        image: &Image,
        spec: &ContainerSpec,
    ) -> Result<Container, RuntimeError> {
        let json = spec.to_json().map_err(|source| RuntimeError::Spec {
            id: req.id.clone(),
            source,
        })?;
        let mut labels: HashMap<String, String> = req.labels.clone().into_iter().collect();
        labels.insert(labels::STOP_SIGNAL.into(), signal_name(spec.stop_signal));
        labels.insert(labels::SECCOMP.into(), req.security.seccomp_kind().into());
        labels.insert(
            labels::PRIVILEGED.into(),
            req.security.privileged.to_string(),
        );
        super::health::add_label(&mut labels, req, image)?;
        for (key, on) in [(labels::TTY, req.tty), (labels::STDIN, req.open_stdin)] {
            if on {
                labels.insert(key.into(), "true".into());
            }
        }
        Ok(Container {
            id: req.id.clone(),
            labels,
            image: image.name.clone(),
            runtime: Some(Runtime {
                name: RUNTIME_NAME.into(),
                options: Some(any::pack(&self.runc_options())),
            }),
            spec: Some(any::pack_json(any::SPEC_TYPE_URL, json)),
            snapshotter: self.inner.snapshotter.clone(),
            snapshot_key: req.id.clone(),
            ..Default::default()
        })
    }

    pub(crate) fn runc_options(&self) -> RuncOptions {
        let s = &self.inner.containers;
        RuncOptions {
            binary_name: s
                .runc_binary
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            root: s
                .runc_root
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    /// Prepare the snapshot, then record the container, pushing the undo of each on
    /// `undo` (the snapshot is removed if the record fails). Both are done under `clients`'
    /// lease, so a crash in between leaves only what the lease's removal lets the garbage
    /// collector take.
    async fn prepare_and_record(
        &self,
        clients: &Containerd,
        req: &ContainerRequest,
        image: &Image,
        record: Container,
        undo: &mut Undo,
    ) -> Result<(), RuntimeError> {
        let prepared = clients
            .snapshots()
            .prepare(PrepareSnapshotRequest {
                snapshotter: self.inner.snapshotter.clone(),
                key: req.id.clone(),
                parent: image.top_chain_id.clone(),
                ..Default::default()
            })
            .await;
        match prepared {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(self.already_exists(&req.id))
            }
            Err(e) => return Err(e),
        }
        let (rt, id) = (self.clone(), req.id.clone());
        undo.push("remove the snapshot", async move {
            rt.remove_snapshot(&id).await
        });
        // A record the daemon writes after we stop waiting is removed once it answers;
        // one that already existed belongs to someone else and stays.
        let (rt, id, clients) = (self.clone(), req.id.clone(), clients.clone());
        let created = undo
            .finish(
                "delete the container record",
                async move {
                    clients
                        .containers()
                        .create(CreateContainerRequest {
                            container: Some(record),
                        })
                        .await
                },
                |r| !matches!(r, Err(e) if e.kind() == ErrorKind::AlreadyExists),
                async move { rt.forget_record(&id).await },
            )
            .await;
        if let Err(e) = created {
            tracing::debug!(id = %req.id, error = %e, "container record failed; removing its snapshot");
            let e = if e.kind() == ErrorKind::AlreadyExists {
                self.already_exists(&req.id)
            } else {
                e
            };
            return undo.check(Err(e)).await;
        }
        Ok(())
    }

    pub(crate) fn already_exists(&self, id: &str) -> RuntimeError {
        RuntimeError::AlreadyExists {
            id: id.to_string(),
            namespace: self.namespace().to_string(),
        }
    }

    /// The container record, or `None` if there is none.
    pub(crate) async fn container_record(
        &self,
        id: &str,
    ) -> Result<Option<Container>, RuntimeError> {
        let result = self
            .containerd()
            .containers()
            .get(GetContainerRequest { id: id.to_string() })
            .await;
        Ok(found(result)?.and_then(|r| r.container))
    }

    /// Remove the snapshot `key` as part of an undo: a failure is only logged.
    pub(crate) async fn remove_snapshot(&self, key: &str) {
        warn_unless_missing(self.try_remove_snapshot(key).await, "remove snapshot", key);
    }

    /// Remove the snapshot `key` (waiting out a daemon restart; missing is fine).
    pub(crate) async fn try_remove_snapshot(&self, key: &str) -> Result<(), RuntimeError> {
        let snapshotter = self.inner.snapshotter.clone();
        let result = self
            .containerd()
            .snapshots()
            .remove(RemoveSnapshotRequest {
                snapshotter: snapshotter.clone(),
                key: key.to_string(),
            })
            .await;
        found(result).map(|_| ())
    }

    /// Delete the container record as part of an undo: a failure is only logged.
    pub(crate) async fn forget_record(&self, id: &str) {
        warn_unless_missing(
            self.try_forget_record(id).await,
            "delete container record",
            id,
        );
    }

    /// Delete the container record (waiting out a daemon restart; missing is fine).
    pub(crate) async fn try_forget_record(&self, id: &str) -> Result<(), RuntimeError> {
        let result = self
            .containerd()
            .containers()
            .delete(DeleteContainerRequest { id: id.to_string() })
            .await;
        found(result).map(|_| ())
    }
}

/// True if a user spec (`user`, `user:group`) names someone rather than giving numbers.
/// A container off the bridge gets its own hosts or resolv.conf only when the request has
/// entries or DNS settings for them.
fn own_network_files(req: &ContainerRequest) -> bool {
    !matches!(req.network, NetworkMode::Bridge { .. })
        && (!req.extra_hosts.is_empty() || !req.dns.is_empty())
}

fn names_a_user(spec: &str) -> bool {
    spec.split(':')
        .any(|part| !part.is_empty() && part.parse::<u32>().is_err())
}

/// `SIGTERM` for 15; the number itself for signals without a name (real-time ones).
pub(crate) fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| signal.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        assert!(names_a_user("nobody"));
        assert!(names_a_user("1000:staff"));
        assert!(!names_a_user("1000"));
        assert!(!names_a_user("1000:1000"));
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(3), "SIGQUIT");
        assert_eq!(signal_name(40), "40");
    }
}

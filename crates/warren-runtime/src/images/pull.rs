//! Client-side pull, as containerd's Go client does it: resolve, store every blob under a
//! lease with GC labels, unpack, record the image, release the lease.

use std::collections::HashMap;

use crate::containerd::Containerd;
use oci_client::Reference;
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use warren_proto::containerd::services::content::v1::InfoRequest;
use warren_proto::containerd::services::images::v1::GetImageRequest;
use warren_proto::containerd::services::snapshots::v1::StatSnapshotRequest;
use warren_proto::containerd::types::Descriptor;

use super::download::{declared_size, fetch_config};
use super::http::Failure;
use super::lease::Lease;
use super::limits::MAX_CONFIG_BYTES;
use super::manifest_fetch::{Fetched, ManifestFetcher, MANIFEST_TYPES};
use super::platform::Platform;
use super::progress::{ProgressSink, PullProgress};
use super::reference::{image_name, normalize};
use super::{record, schedule, unpack, Image};
use crate::containerd::content;
use crate::{ContainerdRuntime, PullMode, RuntimeError};

/// How many layers may download at once by default (containerd's Go client's default).
pub const DEFAULT_MAX_CONCURRENT_DOWNLOADS: usize = 3;

/// Options of a pull.
#[derive(Debug, Clone, Default, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct PullOptions {
    /// The platform to pull from a multi-platform image (default: this host's).
    pub platform: Option<Platform>,
    /// Client-side, server-side (containerd's Transfer service) or whichever is faster
    /// here (the default).
    pub mode: super::PullMode,
    /// At most this many layers download at once in a client-side pull (default
    /// [`DEFAULT_MAX_CONCURRENT_DOWNLOADS`]). Downloads start in layer order, and more than
    /// one runs at once only while the data comes in slowly (below 48 MiB/s together), so
    /// the lowest layer is in the store early and its unpack overlaps the other downloads.
    /// Server-side pulls use containerd's own setting (the transfer plugin's
    /// `max_concurrent_downloads`).
    pub max_concurrent_downloads: Option<usize>,
    /// The whole pull must be over within this time (default: no deadline; each registry
    /// request still has the connect and idle-read timeouts of
    /// [`RegistryOptions`](crate::RegistryOptions)). Checked at every wait for the
    /// registry and between layers; a pull past it fails with
    /// [`RuntimeError::RegistryTimeout`] and leaves nothing behind.
    pub deadline: Option<std::time::Duration>,
    /// This pull's per-layer unpacked size cap (default: the runtime's
    /// [`DiskLimits::max_layer_unpacked_bytes`](crate::images::DiskLimits)).
    pub max_layer_unpacked_bytes: Option<u64>,
    /// This pull's per-image unpacked size cap (default: the runtime's
    /// [`DiskLimits::max_image_unpacked_bytes`](crate::images::DiskLimits)).
    pub max_image_unpacked_bytes: Option<u64>,
}

/// The media type of a manifest or index, from its `mediaType` field or its shape.
pub(crate) fn media_type(json: &serde_json::Value) -> String {
    match json.get("mediaType").and_then(|m| m.as_str()) {
        Some(m) => m.to_string(),
        None if json.get("manifests").is_some() => MANIFEST_TYPES[0].to_string(),
        None => MANIFEST_TYPES[2].to_string(),
    }
}

pub(crate) fn bad(r: &Reference, reason: impl Into<String>) -> RuntimeError {
    RuntimeError::BadImage {
        reference: r.whole(),
        reason: reason.into(),
    }
}

/// A containerd descriptor for an OCI one (annotations dropped: containerd's client does not
/// carry them into child descriptors either).
pub(crate) fn descriptor(d: &oci_spec::image::Descriptor) -> Descriptor {
    Descriptor {
        media_type: d.media_type().to_string(),
        digest: d.digest().to_string(),
        size: d.size() as i64,
        annotations: HashMap::new(),
    }
}

/// GC references of an index to all its manifests (every platform, fetched or not).
pub(crate) fn index_labels(index: &ImageIndex) -> HashMap<String, String> {
    index
        .manifests()
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                format!("containerd.io/gc.ref.content.m.{i}"),
                m.digest().to_string(),
            )
        })
        .collect()
}

/// GC references of a manifest to its config and layers.
pub(crate) fn manifest_labels(manifest: &ImageManifest) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = HashMap::new();
    labels.insert(
        "containerd.io/gc.ref.content.config".into(),
        manifest.config().digest().to_string(),
    );
    for (i, l) in manifest.layers().iter().enumerate() {
        labels.insert(
            format!("containerd.io/gc.ref.content.l.{i}"),
            l.digest().to_string(),
        );
    }
    labels
}

/// Store a small blob held in memory, making sure it carries `labels` even if it was there.
pub(crate) async fn store_bytes(
    clients: &Containerd,
    kind: &str,
    desc: &Descriptor,
    bytes: &[u8],
    labels: HashMap<String, String>,
) -> Result<(), RuntimeError> {
    let reference = format!("{kind}-{}", desc.digest);
    let written = content::store(clients, &reference, &desc.digest, bytes, labels.clone()).await?;
    if !written {
        // Already there (maybe from another pull): make sure it carries our GC references.
        content::label(clients, &desc.digest, labels).await?;
    }
    Ok(())
}

impl ContainerdRuntime {
    /// Pull `reference` (normalised: `busybox` is `docker.io/library/busybox:latest`) into
    /// this namespace and unpack it. A pull of an image that is already complete makes no
    /// blob requests; two concurrent pulls of one image through this handle (or its clones)
    /// do the work once. A malformed reference fails before anything is created; a failed
    /// pull leaves no lease, blob, ingest or snapshot behind.
    ///
    /// ```no_run
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// let image = rt.pull_image("busybox", &Default::default()).await?;
    /// assert_eq!(image.name, "docker.io/library/busybox:latest");
    /// # Ok(()) }
    /// ```
    pub async fn pull_image(
        &self,
        reference: &str,
        options: &PullOptions,
    ) -> Result<Image, RuntimeError> {
        self.pull_reporting(reference, options, &ProgressSink::default())
            .await
    }

    /// The pull of [`pull_image`](Self::pull_image), reporting progress to `progress`.
    pub(crate) async fn pull_reporting(
        &self,
        reference: &str,
        options: &PullOptions,
        progress: &ProgressSink,
    ) -> Result<Image, RuntimeError> {
        let r = normalize(reference)?;
        if options.max_concurrent_downloads == Some(0) {
            return Err(RuntimeError::InvalidRequest {
                field: "max_concurrent_downloads",
                value: "0".into(),
                allowed: "at least 1, or None for the default (3)".into(),
            });
        }
        let lock = self.pull_lock(&image_name(&r));
        let _pulling = lock.lock().await;
        for (field, cap) in [
            ("max_layer_unpacked_bytes", options.max_layer_unpacked_bytes),
            ("max_image_unpacked_bytes", options.max_image_unpacked_bytes),
        ] {
            if cap == Some(0) {
                return Err(RuntimeError::InvalidRequest {
                    field,
                    value: "0".into(),
                    allowed: "at least 1 byte, or None for the runtime's".into(),
                });
            }
        }
        let fetcher = ManifestFetcher::new(self, &r, options.deadline).await?;
        let Fetched {
            bytes: root_bytes,
            digest: root_digest,
        } = fetcher.fetch(&r, "resolving").await?;
        let platform = options.platform.clone().unwrap_or_else(Platform::host);
        if let Some(image) = self.already_complete(&r, &root_digest, &platform).await? {
            progress.send(PullProgress::Done {
                name: image.name.clone(),
            });
            return Ok(image);
        }
        let free = self.free_space().await;
        free.check(&format!("pulling {}", r.whole()))?;
        if self.pull_server_side(options).await? {
            let pulled = self
                .transfer_pull(&r, options, progress, &fetcher, &root_bytes)
                .await;
            match pulled {
                // We fetched the root ourselves, so the image exists: a "not found" from the
                // daemon is about its own objects (seen rarely on 2.1 with several namespaces
                // pulling the same blobs at once). In Auto mode the client-side pull, which
                // needs none of them, takes over.
                Err(RuntimeError::UnknownImage { message, .. })
                    if options.mode == PullMode::Auto =>
                {
                    tracing::warn!(
                        reference = %r.whole(),
                        %message,
                        "the server-side pull lost an object of its own; pulling client-side"
                    );
                }
                done => return done,
            }
        }
        let lease = Lease::create(self, "pull").await?;
        let result = self
            .pull_under(
                &r,
                (options, progress),
                &fetcher,
                &lease.clients,
                &root_bytes,
                (root_digest, free),
            )
            .await;
        lease.release(result.is_err()).await;
        result
    }

    /// The image, if its record already points at `root_digest` and it is unpacked for
    /// `platform` (the config carries the snapshot label and the top snapshot exists): then
    /// a pull has nothing to do, and does it with a handful of reads.
    async fn already_complete(
        &self,
        r: &Reference,
        root_digest: &str,
        platform: &Platform,
    ) -> Result<Option<Image>, RuntimeError> {
        let clients = self.containerd();
        let name = image_name(r);
        let get = GetImageRequest { name: name.clone() };
        let Ok(record) = clients.images().get(get).await else {
            return Ok(None);
        };
        let Some(target) = record.image.and_then(|i| i.target) else {
            return Ok(None);
        };
        if target.digest != root_digest {
            return Ok(None);
        }
        let Ok(super::config::Resolved {
            config,
            config_digest,
            size,
            healthcheck,
        }) = super::config::resolve_config(clients, &name, &target, platform).await
        else {
            return Ok(None);
        };
        let top = unpack::chain_ids(config.rootfs().diff_ids())
            .last()
            .cloned()
            .unwrap_or_default();
        let snapshotter = &self.inner.snapshotter;
        let labelled = clients
            .content()
            .info(InfoRequest {
                digest: config_digest,
            })
            .await
            .ok()
            .and_then(|i| i.info)
            .and_then(|i| {
                i.labels
                    .get(&format!("containerd.io/gc.ref.snapshot.{snapshotter}"))
                    .cloned()
            })
            == Some(top.clone());
        let unpacked = labelled
            && clients
                .snapshots()
                .stat(StatSnapshotRequest {
                    snapshotter: snapshotter.clone(),
                    key: top.clone(),
                })
                .await
                .is_ok();
        Ok(unpacked.then(|| Image {
            name,
            digest: target.digest,
            media_type: target.media_type,
            config: warren_spec::ImageConfig {
                healthcheck,
                ..super::config::run_config(&config, None)
            },
            top_chain_id: top,
            size,
        }))
    }

    async fn pull_under(
        &self,
        r: &Reference,
        (options, progress): (&PullOptions, &ProgressSink),
        fetcher: &ManifestFetcher,
        clients: &Containerd,
        root_bytes: &[u8],
        (root_digest, free): (String, super::disk::FreeSpace),
    ) -> Result<Image, RuntimeError> {
        let session = fetcher.session();
        let root_json: serde_json::Value = serde_json::from_slice(root_bytes)
            .map_err(|e| bad(r, format!("manifest is not JSON: {e}")))?;
        let root = Descriptor {
            media_type: media_type(&root_json),
            digest: root_digest.clone(),
            size: root_bytes.len() as i64,
            annotations: HashMap::new(),
        };
        let platform = options.platform.clone().unwrap_or_else(Platform::host);
        let root_bytes = root_bytes.to_vec();

        // An index: store it with a GC reference to every manifest, then follow ours.
        let (manifest_bytes, manifest_desc) = if super::is_index(&root.media_type) {
            let index: ImageIndex = serde_json::from_slice(&root_bytes)
                .map_err(|e| bad(r, format!("bad index: {e}")))?;
            let chosen = platform.choose(index.manifests()).ok_or_else(|| {
                RuntimeError::NoMatchingPlatform {
                    reference: r.whole(),
                    platform: platform.to_string(),
                    available: Platform::list(index.manifests()),
                }
            })?;
            store_bytes(clients, "index", &root, &root_bytes, index_labels(&index)).await?;
            let desc = descriptor(chosen);
            let by_digest = Reference::with_digest(
                r.registry().to_string(),
                r.repository().to_string(),
                desc.digest.clone(),
            );
            let fetched = fetcher.fetch(&by_digest, "fetching manifest").await?;
            (fetched.bytes, desc)
        } else {
            (root_bytes.to_vec(), root.clone())
        };
        let manifest: ImageManifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| bad(r, format!("bad manifest: {e}")))?;
        store_bytes(
            clients,
            "manifest",
            &manifest_desc,
            &manifest_bytes,
            manifest_labels(&manifest),
        )
        .await?;

        // Every blob declares its size, or none is requested.
        let config_d = descriptor(manifest.config());
        let layers: Vec<Descriptor> = manifest.layers().iter().map(descriptor).collect();
        declared_size(r, "config", &config_d)?;
        for layer in &layers {
            declared_size(r, "layer", layer)?;
        }

        // The config: small, needed for the diff IDs; read locally when we have it.
        let config_bytes = if content::exists(clients, &config_d.digest).await? {
            super::config::read_blob(clients, &config_d.digest, "config", MAX_CONFIG_BYTES).await?
        } else {
            fetch_config(session, r, &config_d).await?
        };
        let config: ImageConfiguration = serde_json::from_slice(&config_bytes)
            .map_err(|e| bad(r, format!("bad config: {e}")))?;
        store_bytes(clients, "config", &config_d, &config_bytes, HashMap::new()).await?;

        // Layers download in parallel (bounded) in tasks of their own, and are unpacked in
        // order as soon as each has arrived: unpacking overlaps the remaining downloads.
        let diff_ids: Vec<String> = config.rootfs().diff_ids().to_vec();
        if layers.len() != diff_ids.len() {
            return Err(bad(
                r,
                format!(
                    "{} layers but {} diff ids in the config",
                    layers.len(),
                    diff_ids.len()
                ),
            ));
        }
        let chains = unpack::chain_ids(&diff_ids);
        progress.send(PullProgress::Resolved {
            layers: layers.iter().map(|l| (l.digest.clone(), l.size)).collect(),
        });
        let received = schedule::Received::default();
        let plan = std::sync::Arc::new(super::stream_unpack::Plan {
            snapshotter: self.inner.snapshotter.clone(),
            how: self.inner.layer_unpack,
            diff_ids: diff_ids.clone(),
            chains: chains.clone(),
            budget: super::unpacked::UnpackBudget::new(
                &r.whole(),
                options
                    .max_layer_unpacked_bytes
                    .unwrap_or(self.inner.disk.max_layer_unpacked_bytes),
                options
                    .max_image_unpacked_bytes
                    .unwrap_or(self.inner.disk.max_image_unpacked_bytes),
                free,
            ),
        });
        let budget = plan.budget.clone();
        let mut downloads = {
            let (clients, session, r, progress, layers) = (
                clients.clone(),
                session.clone(),
                r.clone(),
                progress.clone(),
                layers.clone(),
            );
            let reference = r.whole();
            schedule::start(
                layers.len(),
                options
                    .max_concurrent_downloads
                    .unwrap_or(DEFAULT_MAX_CONCURRENT_DOWNLOADS),
                received.clone(),
                move |i| {
                    let (clients, session, r, progress, layer, received, plan) = (
                        clients.clone(),
                        session.clone(),
                        r.clone(),
                        progress.clone(),
                        layers[i].clone(),
                        received.clone(),
                        plan.clone(),
                    );
                    async move {
                        super::stream_unpack::fetch_and_apply(
                            &clients, &session, &r, &layer, &progress, &received, &plan, i,
                        )
                        .await
                    }
                },
                move |m| RuntimeError::BadImage {
                    reference: reference.clone(),
                    reason: m,
                },
            )
        };
        let snapshotter = &self.inner.snapshotter;
        for (i, layer) in layers.iter().enumerate() {
            downloads.wait_for(i).await?;
            session
                .clock
                .check_deadline()
                .map_err(|stop| Failure::Stop(stop).into_error("unpacking", &session.registry))?;
            unpack::unpack_layer(
                clients,
                snapshotter,
                self.inner.layer_unpack,
                &r.whole(),
                i,
                layer,
                &diff_ids,
                &chains,
                &budget,
            )
            .await?;
            progress.send(PullProgress::Unpacked {
                digest: layer.digest.clone(),
            });
        }
        drop(downloads);
        let top =
            unpack::label_unpacked(clients, snapshotter, &layers, &diff_ids, &config_d.digest)
                .await?;

        let name = image_name(r);
        record::record(clients, &name, &root).await?;
        progress.send(PullProgress::Done { name: name.clone() });
        let index_size = if super::is_index(&root.media_type) {
            root.size.max(0) as u64
        } else {
            0
        };
        Ok(Image {
            name,
            size: index_size + super::config::manifest_size(manifest_desc.size, &manifest),
            digest: root.digest,
            media_type: root.media_type,
            config: super::config::run_config(&config, Some(&config_bytes)),
            top_chain_id: top,
        })
    }
}

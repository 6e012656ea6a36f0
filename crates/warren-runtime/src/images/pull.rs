//! Client-side pull, as containerd's Go client does it: resolve, store every blob under a
//! lease with GC labels, unpack, record the image, release the lease.

use std::collections::HashMap;

use std::sync::Arc;

use futures::TryStreamExt;
use oci_client::Reference;
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use tokio::sync::Semaphore;
use warren_proto::containerd::services::images::v1::{
    CreateImageRequest, Image as ImageRecord, UpdateImageRequest,
};
use warren_proto::containerd::types::Descriptor;
use warren_proto::Clients;

use super::lease::Lease;
use super::platform::Platform;
use super::progress::{ProgressSink, PullProgress, REPORT_EVERY};
use super::registry::{image_name, normalize};
use super::{content, unpack, Image};
use crate::{ContainerdRuntime, RuntimeError};

const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// How many layers download at once.
const PARALLEL_LAYERS: usize = 3;

/// Options of a pull.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// The platform to pull from a multi-platform image (default: this host's).
    pub platform: Option<Platform>,
    /// Where to send progress events (default: nowhere).
    pub progress: Option<tokio::sync::mpsc::UnboundedSender<PullProgress>>,
}

fn media_type(json: &serde_json::Value) -> String {
    match json.get("mediaType").and_then(|m| m.as_str()) {
        Some(m) => m.to_string(),
        None if json.get("manifests").is_some() => MANIFEST_TYPES[0].to_string(),
        None => MANIFEST_TYPES[2].to_string(),
    }
}

fn is_index(media_type: &str) -> bool {
    media_type.ends_with("index.v1+json") || media_type.ends_with("manifest.list.v2+json")
}

fn registry_err(op: &'static str, r: &Reference, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Registry {
        op,
        reference: r.whole(),
        message: e.to_string(),
    }
}

fn bad(r: &Reference, reason: impl Into<String>) -> RuntimeError {
    RuntimeError::BadImage {
        reference: r.whole(),
        reason: reason.into(),
    }
}

impl ContainerdRuntime {
    /// Pull `reference` (normalised: `busybox` is `docker.io/library/busybox:latest`) into
    /// this namespace and unpack it. A pull of an image that is already complete makes no
    /// blob requests.
    pub async fn pull_image(
        &self,
        reference: &str,
        options: &PullOptions,
    ) -> Result<Image, RuntimeError> {
        let r = normalize(reference)?;
        let lock = self.pull_lock(&image_name(&r));
        let _pulling = lock.lock().await;
        let base = self.clients().clone();
        let lease = Lease::create(&base, "pull").await?;
        let result = self.pull_under(&r, options, &lease.clients).await;
        lease.release(&base).await;
        result
    }

    async fn pull_under(
        &self,
        r: &Reference,
        options: &PullOptions,
        clients: &Clients,
    ) -> Result<Image, RuntimeError> {
        let registry = self.registry_client(r);
        let auth = self.inner.registry.auth(r);
        let (root_bytes, root_digest) = registry
            .pull_manifest_raw(r, &auth, MANIFEST_TYPES)
            .await
            .map_err(|e| registry_err("resolving", r, e))?;
        let root_json: serde_json::Value = serde_json::from_slice(&root_bytes)
            .map_err(|e| bad(r, format!("manifest is not JSON: {e}")))?;
        let root = Descriptor {
            media_type: media_type(&root_json),
            digest: root_digest.clone(),
            size: root_bytes.len() as i64,
            annotations: HashMap::new(),
        };
        let platform = options.platform.clone().unwrap_or_else(Platform::host);

        // An index: store it with a GC reference to every manifest, then follow ours.
        let (manifest_bytes, manifest_desc) = if is_index(&root.media_type) {
            let index: ImageIndex = serde_json::from_slice(&root_bytes)
                .map_err(|e| bad(r, format!("bad index: {e}")))?;
            let chosen = platform.choose(index.manifests()).ok_or_else(|| {
                RuntimeError::NoMatchingPlatform {
                    reference: r.whole(),
                    platform: platform.to_string(),
                    available: Platform::list(index.manifests()),
                }
            })?;
            let labels = index
                .manifests()
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    (
                        format!("containerd.io/gc.ref.content.m.{i}"),
                        m.digest().to_string(),
                    )
                })
                .collect();
            store_bytes(clients, "index", &root, root_bytes.to_vec(), labels).await?;
            let digest = chosen.digest().to_string();
            let by_digest = Reference::with_digest(
                r.registry().to_string(),
                r.repository().to_string(),
                digest.clone(),
            );
            let (bytes, _) = registry
                .pull_manifest_raw(&by_digest, &auth, MANIFEST_TYPES)
                .await
                .map_err(|e| registry_err("fetching manifest", r, e))?;
            let desc = Descriptor {
                media_type: chosen.media_type().to_string(),
                digest,
                size: chosen.size() as i64,
                annotations: HashMap::new(),
            };
            (bytes.to_vec(), desc)
        } else {
            (root_bytes.to_vec(), root.clone())
        };
        let manifest: ImageManifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| bad(r, format!("bad manifest: {e}")))?;
        let config_desc = manifest.config();
        let mut labels: HashMap<String, String> = HashMap::new();
        labels.insert(
            "containerd.io/gc.ref.content.config".into(),
            config_desc.digest().to_string(),
        );
        for (i, l) in manifest.layers().iter().enumerate() {
            labels.insert(
                format!("containerd.io/gc.ref.content.l.{i}"),
                l.digest().to_string(),
            );
        }
        store_bytes(clients, "manifest", &manifest_desc, manifest_bytes, labels).await?;

        // The config: small, needed for the diff IDs; read locally when we have it.
        let config_bytes = if content::exists(clients, config_desc.digest().as_ref()).await? {
            super::config::read_blob(clients, config_desc.digest().as_ref()).await?
        } else {
            let mut bytes = Vec::new();
            registry
                .pull_blob(r, config_desc.digest().as_ref(), &mut bytes)
                .await
                .map_err(|e| registry_err("fetching config", r, e))?;
            bytes
        };
        let config: ImageConfiguration = serde_json::from_slice(&config_bytes)
            .map_err(|e| bad(r, format!("bad config: {e}")))?;
        let config_d = Descriptor {
            media_type: config_desc.media_type().to_string(),
            digest: config_desc.digest().to_string(),
            size: config_desc.size() as i64,
            annotations: HashMap::new(),
        };
        store_bytes(clients, "config", &config_d, config_bytes, HashMap::new()).await?;

        // Layers download in parallel (bounded) in tasks of their own, and are unpacked in
        // order as soon as each has arrived: unpacking overlaps the remaining downloads.
        let layers: Vec<Descriptor> = manifest
            .layers()
            .iter()
            .map(|l| Descriptor {
                media_type: l.media_type().to_string(),
                digest: l.digest().to_string(),
                size: l.size() as i64,
                annotations: HashMap::new(),
            })
            .collect();
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
        let progress = ProgressSink(options.progress.clone());
        progress.send(PullProgress::Resolved {
            layers: layers.iter().map(|l| (l.digest.clone(), l.size)).collect(),
        });
        let permits = Arc::new(Semaphore::new(PARALLEL_LAYERS));
        let downloads: Vec<_> = layers
            .iter()
            .cloned()
            .map(|layer| {
                let (clients, registry, r, permits, progress) = (
                    clients.clone(),
                    registry.clone(),
                    r.clone(),
                    permits.clone(),
                    progress.clone(),
                );
                AbortOnDrop(tokio::spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    fetch_layer(&clients, &registry, &r, &layer, &progress).await
                }))
            })
            .collect();
        let snapshotter = &self.inner.snapshotter;
        for (i, mut download) in downloads.into_iter().enumerate() {
            (&mut download.0)
                .await
                .map_err(|e| bad(r, format!("layer download task failed: {e}")))??;
            unpack::unpack_layer(
                clients,
                snapshotter,
                &r.whole(),
                i,
                &layers[i],
                &diff_ids,
                &chains,
            )
            .await?;
            progress.send(PullProgress::Unpacked {
                digest: layers[i].digest.clone(),
            });
        }
        let top = chains.last().cloned().unwrap_or_default();
        for (layer, diff) in layers.iter().zip(&diff_ids) {
            let l = [("containerd.io/uncompressed".to_string(), diff.clone())].into();
            content::label(clients, &layer.digest, l).await?;
        }
        let snap = [(
            format!("containerd.io/gc.ref.snapshot.{snapshotter}"),
            top.clone(),
        )]
        .into();
        content::label(clients, &config_d.digest, snap).await?;

        let name = image_name(r);
        record(clients, &name, &root).await?;
        progress.send(PullProgress::Done { name: name.clone() });
        Ok(Image {
            name,
            target: root,
            config: super::config::run_config(&config),
            top_chain_id: top,
        })
    }
}

/// Aborts a spawned download when the pull fails or is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Download one layer into the content store, unless it is there already.
async fn fetch_layer(
    clients: &Clients,
    registry: &oci_client::Client,
    r: &Reference,
    layer: &Descriptor,
    progress: &ProgressSink,
) -> Result<(), RuntimeError> {
    let digest = layer.digest.clone();
    if content::exists(clients, &digest).await? {
        progress.send(PullProgress::Downloaded {
            digest,
            cached: true,
        });
        return Ok(());
    }
    let blob = registry
        .pull_blob_stream(r, layer.digest.as_str())
        .await
        .map_err(|e| registry_err("fetching layer", r, e))?;
    let total = layer.size.max(0) as u64;
    let (mut done, mut reported) = (0u64, 0u64);
    let counted = blob.stream.map_err(|e| e.to_string()).inspect_ok(|chunk| {
        done += chunk.len() as u64;
        if done - reported >= REPORT_EVERY || done == total {
            reported = done;
            progress.send(PullProgress::Downloading {
                digest: digest.clone(),
                done,
                total,
            });
        }
    });
    content::write(
        clients,
        &format!("layer-{}", layer.digest),
        &layer.digest,
        layer.size,
        HashMap::new(),
        Box::pin(counted),
    )
    .await?;
    progress.send(PullProgress::Downloaded {
        digest: layer.digest.clone(),
        cached: false,
    });
    Ok(())
}

/// Store a small blob we already hold in memory.
async fn store_bytes(
    clients: &Clients,
    kind: &str,
    desc: &Descriptor,
    bytes: Vec<u8>,
    labels: HashMap<String, String>,
) -> Result<(), RuntimeError> {
    let written = content::write(
        clients,
        &format!("{kind}-{}", desc.digest),
        &desc.digest,
        desc.size,
        labels.clone(),
        futures::stream::iter([Ok::<_, std::convert::Infallible>(bytes::Bytes::from(bytes))]),
    )
    .await?;
    if !written {
        // Already there (maybe from another pull): make sure it carries our GC references.
        content::label(clients, &desc.digest, labels).await?;
    }
    Ok(())
}

/// Create the image record, or point an existing one at `target`.
async fn record(clients: &Clients, name: &str, target: &Descriptor) -> Result<(), RuntimeError> {
    let image = ImageRecord {
        name: name.to_string(),
        target: Some(target.clone()),
        ..Default::default()
    };
    for _ in 0..3 {
        match clients
            .images()
            .create(CreateImageRequest {
                image: Some(image.clone()),
                ..Default::default()
            })
            .await
        {
            Ok(_) => return Ok(()),
            Err(s) if s.code() == tonic::Code::AlreadyExists => {}
            Err(s) => return Err(RuntimeError::daemon("Images.Create", s)),
        }
        match clients
            .images()
            .update(UpdateImageRequest {
                image: Some(image.clone()),
                ..Default::default()
            })
            .await
        {
            Ok(_) => return Ok(()),
            Err(s) if s.code() == tonic::Code::NotFound => continue,
            Err(s) => return Err(RuntimeError::daemon("Images.Update", s)),
        }
    }
    Err(RuntimeError::daemon(
        "Images.Create",
        tonic::Status::aborted("image record kept changing"),
    ))
}

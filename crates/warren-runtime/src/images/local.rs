//! Unpacking an image whose blobs are all in the content store already (an import, or a
//! re-unpack): walk index → manifest → config, label the GC references, unpack the layers.

use crate::containerd::Containerd;
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use warren_proto::containerd::types::Descriptor;

use super::config::read_blob;
use super::limits::{MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES};
use super::platform::Platform;
use super::pull::{descriptor, index_labels, manifest_labels};
use super::{is_index, unpack};
use crate::containerd::content;
use crate::RuntimeError;

/// Unpack `target` of image `name` for `platform` within `budget`; returns its config and
/// top chain ID.
pub(super) async fn unpack_stored(
    clients: &Containerd,
    (snapshotter, how): (&str, unpack::LayerUnpack),
    name: &str,
    target: &Descriptor,
    platform: &Platform,
    budget: &super::unpacked::UnpackBudget,
) -> Result<(ImageConfiguration, String, u64), RuntimeError> {
    let bad = |reason: String| RuntimeError::BadImage {
        reference: name.to_string(),
        reason,
    };
    let read = |digest: String, what: &'static str| async move {
        let limit = if what == "config" {
            MAX_CONFIG_BYTES
        } else {
            MAX_MANIFEST_BYTES
        };
        read_blob(clients, &digest, what, limit)
            .await
            .map_err(|e| match e {
                e if e.is_missing_object() => RuntimeError::BadImage {
                    reference: name.to_string(),
                    reason: format!("its {what} {digest} is missing"),
                },
                e => e,
            })
    };
    let mut desc = target.clone();
    let mut indexes_size = 0;
    // Nested indexes are legal; two levels are plenty.
    for _ in 0..2 {
        if !is_index(&desc.media_type) {
            break;
        }
        let index: ImageIndex = serde_json::from_slice(&read(desc.digest.clone(), "index").await?)
            .map_err(|e| bad(format!("bad index: {e}")))?;
        content::label(clients, &desc.digest, index_labels(&index)).await?;
        let chosen =
            platform
                .choose(index.manifests())
                .ok_or_else(|| RuntimeError::NoMatchingPlatform {
                    reference: name.to_string(),
                    platform: platform.to_string(),
                    available: Platform::list(index.manifests()),
                })?;
        indexes_size += desc.size.max(0) as u64;
        desc = descriptor(chosen);
    }
    let manifest: ImageManifest =
        serde_json::from_slice(&read(desc.digest.clone(), "manifest").await?)
            .map_err(|e| bad(format!("bad manifest: {e}")))?;
    content::label(clients, &desc.digest, manifest_labels(&manifest)).await?;
    let config_digest = manifest.config().digest().to_string();
    let config: ImageConfiguration =
        serde_json::from_slice(&read(config_digest.clone(), "config").await?)
            .map_err(|e| bad(format!("bad config: {e}")))?;
    let layers: Vec<Descriptor> = manifest.layers().iter().map(descriptor).collect();
    let diff_ids = config.rootfs().diff_ids().to_vec();
    if layers.len() != diff_ids.len() {
        return Err(bad(format!(
            "{} layers but {} diff ids in the config",
            layers.len(),
            diff_ids.len()
        )));
    }
    let chains = unpack::chain_ids(&diff_ids);
    for (i, layer) in layers.iter().enumerate() {
        if !content::exists(clients, &layer.digest).await? {
            return Err(bad(format!("its layer {} is missing", layer.digest)));
        }
        unpack::unpack_layer(
            clients,
            snapshotter,
            how,
            name,
            i,
            layer,
            &diff_ids,
            &chains,
            budget,
        )
        .await?;
    }
    let top =
        unpack::label_unpacked(clients, snapshotter, &layers, &diff_ids, &config_digest).await?;
    let size = indexes_size + super::config::manifest_size(desc.size, &manifest);
    Ok((config, top, size))
}

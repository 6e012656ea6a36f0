//! An image's run configuration, read back from the content store.

use crate::containerd::Containerd;
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use warren_proto::containerd::services::content::v1::ReadContentRequest;
use warren_proto::containerd::types::Descriptor;

use super::limits::{MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES};
use super::platform::Platform;
use crate::RuntimeError;

/// The part of an image config that says how to run it; `raw` is the config's JSON, read
/// for Docker's `Healthcheck` (which the OCI type drops).
pub(super) fn run_config(
    config: &ImageConfiguration,
    raw: Option<&[u8]>,
) -> warren_spec::ImageConfig {
    let mut out: warren_spec::ImageConfig = config
        .config()
        .as_ref()
        .map(warren_spec::ImageConfig::from)
        .unwrap_or_default();
    out.healthcheck = raw.and_then(warren_spec::health::ImageHealthcheck::from_config_json);
    out
}

/// Read a whole blob (a manifest, index or config, named by `what`) of at most `limit`
/// bytes; a bigger one is refused after reading one byte more than the limit.
pub(super) async fn read_blob(
    clients: &Containerd,
    digest: &str,
    what: &'static str,
    limit: u64,
) -> Result<Vec<u8>, RuntimeError> {
    let out = read_prefix(clients, digest, limit as i64 + 1).await?;
    if out.len() as u64 > limit {
        return Err(RuntimeError::TooLarge {
            what,
            subject: digest.to_string(),
            limit,
            detail: " (in the content store)".into(),
        });
    }
    Ok(out)
}

/// An image's config, found through its index and manifest.
pub(super) struct Resolved {
    /// The parsed config.
    pub config: ImageConfiguration,
    /// Its digest.
    pub config_digest: String,
    /// See [`crate::Image::size`].
    pub size: u64,
    /// Docker's `Healthcheck` of the config, if any.
    pub healthcheck: Option<warren_spec::health::ImageHealthcheck>,
}

/// The config, layers and manifest bytes of one platform's manifest, as stored (layers
/// compressed); the caller adds the index, if any.
pub(super) fn manifest_size(manifest_bytes: i64, manifest: &ImageManifest) -> u64 {
    let blobs: u64 = std::iter::once(manifest.config().size())
        .chain(manifest.layers().iter().map(|l| l.size()))
        .sum();
    blobs + manifest_bytes.max(0) as u64
}

/// From an image's target, through index and manifest, to its config and config digest.
pub(super) async fn resolve_config(
    clients: &Containerd,
    name: &str,
    target: &Descriptor,
    platform: &Platform,
) -> Result<Resolved, RuntimeError> {
    let bad = |reason: String| RuntimeError::BadImage {
        reference: name.to_string(),
        reason,
    };
    let mut digest = target.digest.clone();
    let mut size = 0;
    let mut manifest_bytes = target.size;
    if super::is_index(&target.media_type) {
        let index: ImageIndex = serde_json::from_slice(
            &read_blob(clients, &digest, "index", MAX_MANIFEST_BYTES).await?,
        )
        .map_err(|e| bad(format!("bad index: {e}")))?;
        let chosen = platform
            .choose(index.manifests())
            .ok_or_else(|| bad("no manifest for this host's platform".into()))?;
        digest = chosen.digest().to_string();
        size += target.size.max(0) as u64;
        manifest_bytes = chosen.size() as i64;
    }
    let manifest: ImageManifest =
        serde_json::from_slice(&read_blob(clients, &digest, "manifest", MAX_MANIFEST_BYTES).await?)
            .map_err(|e| bad(format!("bad manifest: {e}")))?;
    let config_digest = manifest.config().digest().to_string();
    let raw = read_blob(clients, &config_digest, "config", MAX_CONFIG_BYTES).await?;
    let config: ImageConfiguration =
        serde_json::from_slice(&raw).map_err(|e| bad(format!("bad config: {e}")))?;
    Ok(Resolved {
        config,
        config_digest,
        healthcheck: warren_spec::health::ImageHealthcheck::from_config_json(&raw),
        size: size + manifest_size(manifest_bytes, &manifest),
    })
}

/// The first `n` bytes of a blob (fewer if it is shorter).
pub(super) async fn read_prefix(
    clients: &Containerd,
    digest: &str,
    n: i64,
) -> Result<Vec<u8>, RuntimeError> {
    let mut stream = clients
        .content()
        .read(ReadContentRequest {
            digest: digest.to_string(),
            offset: 0,
            size: n,
        })
        .await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend(chunk?.data);
    }
    out.truncate(n.max(0) as usize);
    Ok(out)
}

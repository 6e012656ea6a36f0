//! An image's run configuration, read back from the content store.

use futures::StreamExt;
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use warren_proto::containerd::services::content::v1::ReadContentRequest;
use warren_proto::Clients;

use super::platform::Platform;
use crate::RuntimeError;

/// The part of an image config that says how to run it.
pub fn run_config(config: &ImageConfiguration) -> warren_spec::ImageConfig {
    config
        .config()
        .as_ref()
        .map(warren_spec::ImageConfig::from)
        .unwrap_or_default()
}

/// Read a whole blob.
pub async fn read_blob(clients: &Clients, digest: &str) -> Result<Vec<u8>, RuntimeError> {
    let mut stream = clients
        .content()
        .read(ReadContentRequest {
            digest: digest.to_string(),
            offset: 0,
            size: 0,
        })
        .await
        .map_err(|s| RuntimeError::daemon("Content.Read", s))?
        .into_inner();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend(
            chunk
                .map_err(|s| RuntimeError::daemon("Content.Read", s))?
                .data,
        );
    }
    Ok(out)
}

/// From an image's target, through index and manifest, to its config and config digest.
pub async fn resolve_config(
    clients: &Clients,
    name: &str,
    target_digest: &str,
    target_media_type: &str,
    platform: &Platform,
) -> Result<(ImageConfiguration, String, Vec<String>), RuntimeError> {
    let bad = |reason: String| RuntimeError::BadImage {
        reference: name.to_string(),
        reason,
    };
    let mut digest = target_digest.to_string();
    if super::is_index(target_media_type) {
        let index: ImageIndex = serde_json::from_slice(&read_blob(clients, &digest).await?)
            .map_err(|e| bad(format!("bad index: {e}")))?;
        let chosen = platform
            .choose(index.manifests())
            .ok_or_else(|| bad("no manifest for this host's platform".into()))?;
        digest = chosen.digest().to_string();
    }
    let manifest: ImageManifest = serde_json::from_slice(&read_blob(clients, &digest).await?)
        .map_err(|e| bad(format!("bad manifest: {e}")))?;
    let config_digest = manifest.config().digest().to_string();
    let config: ImageConfiguration =
        serde_json::from_slice(&read_blob(clients, &config_digest).await?)
            .map_err(|e| bad(format!("bad config: {e}")))?;
    let layers = manifest
        .layers()
        .iter()
        .map(|l| l.digest().to_string())
        .collect();
    Ok((config, config_digest, layers))
}

/// The first `n` bytes of a blob (fewer if it is shorter).
pub async fn read_prefix(clients: &Clients, digest: &str, n: i64) -> Result<Vec<u8>, RuntimeError> {
    let mut stream = clients
        .content()
        .read(ReadContentRequest {
            digest: digest.to_string(),
            offset: 0,
            size: n,
        })
        .await
        .map_err(|s| RuntimeError::daemon("Content.Read", s))?
        .into_inner();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend(
            chunk
                .map_err(|s| RuntimeError::daemon("Content.Read", s))?
                .data,
        );
    }
    out.truncate(n.max(0) as usize);
    Ok(out)
}

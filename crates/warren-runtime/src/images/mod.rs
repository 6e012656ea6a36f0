//! Images: pull from registries, list, inspect and remove.

mod codec;
mod config;
mod disk;
mod download;
// Not wired into the pull yet: the streaming unpack (#22) comes next.
pub(crate) mod apply;
mod http;
mod import;
pub(crate) mod lease;
pub mod limits;
mod local;
mod manifest_fetch;
pub(crate) mod platform;
mod progress;
mod pull;
mod pull_stream;
mod record;
pub(crate) mod reference;
pub(crate) mod registry;
#[cfg(test)]
mod registry_bounds_tests;
mod schedule;
mod session;
mod stream_unpack;
mod token;
mod transfer;
mod unpack;
mod unpacked;

pub use disk::DiskLimits;
pub use import::ImportOptions;
pub use platform::Platform;
pub use progress::PullProgress;
pub use pull::{PullOptions, DEFAULT_MAX_CONCURRENT_DOWNLOADS};
pub use pull_stream::{PullEvent, PullStream};
pub use registry::RegistryOptions;
pub use transfer::PullMode;
pub(crate) use unpack::chain_ids;
pub use unpack::LayerUnpack;

use warren_proto::containerd::services::images::v1::{
    DeleteImageRequest, GetImageRequest, ListImagesRequest,
};

use crate::{ContainerdRuntime, RuntimeError};

/// An image in this namespace, with how to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The fully qualified reference it was pulled as.
    pub name: String,
    /// The digest of its root: the manifest, or the index of a multi-platform image
    /// (`sha256:...`; what `ctr images ls` shows as DIGEST).
    pub digest: String,
    /// The media type of its root (an OCI or Docker manifest or index).
    pub media_type: String,
    /// Entrypoint, cmd, env, working dir, user, stop signal, labels.
    pub config: warren_spec::ImageConfig,
    /// The chain ID of its top layer: the parent of a container's snapshot.
    pub top_chain_id: String,
    /// Bytes its blobs take in the content store for the platform in use: the index (if
    /// any), the platform's manifest, the config and the layers as stored (compressed).
    /// The same count as `ctr images ls`'s SIZE.
    pub size: u64,
}

/// True for an OCI image index or a Docker manifest list.
pub(crate) fn is_index(media_type: &str) -> bool {
    media_type.ends_with("index.v1+json") || media_type.ends_with("manifest.list.v2+json")
}

impl ContainerdRuntime {
    /// The names of the images in this namespace, sorted.
    ///
    /// ```no_run
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// for name in rt.list_images().await? {
    ///     println!("{name}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_images(&self) -> Result<Vec<String>, RuntimeError> {
        let reply = self
            .containerd()
            .images()
            .list(ListImagesRequest::default())
            .await?;
        let mut names: Vec<String> = reply.images.into_iter().map(|i| i.name).collect();
        names.sort();
        Ok(names)
    }

    /// One image, with its run configuration (entrypoint, cmd, env, working dir, user, stop
    /// signal, labels) and the top snapshot a container's rootfs is prepared from.
    /// `NotFound` if this namespace has no such image.
    ///
    /// ```no_run
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// let image = rt.get_image("busybox").await?;
    /// println!("{:?} {:?}", image.config.entrypoint, image.config.cmd);
    /// # Ok(()) }
    /// ```
    pub async fn get_image(&self, reference: &str) -> Result<Image, RuntimeError> {
        let name = reference::image_name(&reference::normalize(reference)?);
        let record = self
            .containerd()
            .images()
            .get(GetImageRequest { name: name.clone() })
            .await
            .map_err(|e| match e {
                e if e.is_missing_object() => RuntimeError::NotFound {
                    kind: "image",
                    id: name.clone(),
                },
                e => e,
            })?
            .image
            .ok_or(RuntimeError::NotFound {
                kind: "image",
                id: name.clone(),
            })?;
        let target = record.target.unwrap_or_default();
        let resolved = config::resolve_config(
            self.containerd(),
            &name,
            &target,
            &platform::Platform::host(),
        )
        .await?;
        let diff_ids = resolved.config.rootfs().diff_ids().to_vec();
        Ok(Image {
            name,
            digest: target.digest,
            media_type: target.media_type,
            config: warren_spec::ImageConfig {
                healthcheck: resolved.healthcheck.clone(),
                ..config::run_config(&resolved.config, None)
            },
            top_chain_id: chain_ids(&diff_ids).last().cloned().unwrap_or_default(),
            size: resolved.size,
        })
    }

    /// Remove an image record; its content and snapshots are freed by containerd's garbage
    /// collector (synchronously, before this returns). Removing a missing image succeeds.
    ///
    /// ```no_run
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// rt.remove_image("busybox").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_image(&self, reference: &str) -> Result<(), RuntimeError> {
        let name = reference::image_name(&reference::normalize(reference)?);
        let result = self
            .containerd()
            .images()
            .delete(DeleteImageRequest {
                name,
                sync: true,
                target: None,
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.is_missing_object() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

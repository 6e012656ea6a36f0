//! What a pull or an import may do to the disk: how far its layers may unpack, and how much
//! free space it leaves on the file system holding containerd's content and snapshots.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;

use warren_proto::containerd::services::introspection::v1::PluginsRequest;

use super::limits::{
    DEFAULT_MAX_IMAGE_UNPACKED_BYTES, DEFAULT_MAX_LAYER_UNPACKED_BYTES, DEFAULT_MIN_FREE_BYTES,
};
use crate::{ContainerdRuntime, RuntimeError};

/// Where the free-space floor is set, for error messages.
pub(crate) const MIN_FREE_SETTING: &str =
    "DiskLimits::min_free_bytes; warrend: registry.min_free_bytes";

/// Disk limits of pulls and imports (in [`RuntimeOptions::disk`](crate::RuntimeOptions)).
#[derive(Debug, Clone, PartialEq, Eq, derive_setters::Setters)]
#[non_exhaustive]
#[setters(strip_option)]
pub struct DiskLimits {
    /// The most bytes one layer may unpack (decompress) to (default 64 GiB): a small
    /// compressed layer that expands without end (a "bomb") is stopped at this many
    /// bytes, not when the disk is full. Per pull: [`PullOptions`](crate::PullOptions).
    pub max_layer_unpacked_bytes: u64,
    /// The most bytes all layers of one image may unpack to together (default 64 GiB).
    pub max_image_unpacked_bytes: u64,
    /// Pulls and imports stop with [`RuntimeError::LowDiskSpace`] when less than this is
    /// free on the file system of containerd's content store or snapshots (default 1 GiB;
    /// 0 turns the check off). Checked before a pull, between layers and every 64 MiB
    /// written, so the node keeps room for its containers and logs.
    pub min_free_bytes: u64,
    /// The directory whose file system is checked for free space. Default: the content
    /// store's and the snapshotter's roots as containerd reports them (Introspection),
    /// where this process can see them; set it when containerd's paths are not visible
    /// here (warrend sets its managed containerd's root).
    #[setters(into)]
    pub free_space_path: Option<PathBuf>,
}

impl Default for DiskLimits {
    fn default() -> Self {
        DiskLimits {
            max_layer_unpacked_bytes: DEFAULT_MAX_LAYER_UNPACKED_BYTES,
            max_image_unpacked_bytes: DEFAULT_MAX_IMAGE_UNPACKED_BYTES,
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            free_space_path: None,
        }
    }
}

impl DiskLimits {
    /// Refuse caps of zero (no layer could unpack).
    pub(crate) fn validate(&self) -> Result<(), RuntimeError> {
        for (field, value) in [
            ("max_layer_unpacked_bytes", self.max_layer_unpacked_bytes),
            ("max_image_unpacked_bytes", self.max_image_unpacked_bytes),
        ] {
            if value == 0 {
                return Err(RuntimeError::InvalidRequest {
                    field,
                    value: "0".into(),
                    allowed: "at least 1 byte".into(),
                });
            }
        }
        Ok(())
    }
}

/// The directories a pull fills, and the free space it must leave there.
#[derive(Debug, Clone, Default)]
pub(crate) struct FreeSpace {
    paths: Arc<Vec<PathBuf>>,
    floor: u64,
}

/// Bytes available to this process on `path`'s file system.
pub(crate) fn available(path: &std::path::Path) -> std::io::Result<u64> {
    let s = nix::sys::statvfs::statvfs(path).map_err(std::io::Error::from)?;
    Ok((s.blocks_available() as u64).saturating_mul(s.fragment_size() as u64))
}

impl FreeSpace {
    /// A check of `paths` against `floor` (0: no check).
    pub(crate) fn new(paths: Vec<PathBuf>, floor: u64) -> FreeSpace {
        FreeSpace {
            paths: Arc::new(paths),
            floor,
        }
    }

    /// `Err(LowDiskSpace)` if any checked file system has less than the floor free; `what`
    /// says what was under way. A path that cannot be checked is skipped.
    pub(crate) fn check(&self, what: &str) -> Result<(), RuntimeError> {
        if self.floor == 0 {
            return Ok(());
        }
        for path in self.paths.iter() {
            match available(path) {
                Ok(free) if free < self.floor => {
                    return Err(RuntimeError::LowDiskSpace {
                        what: what.to_string(),
                        path: path.to_path_buf(),
                        free,
                        floor: self.floor,
                        setting: MIN_FREE_SETTING,
                    })
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(path = %path.display(), error = %e, "free space not checked")
                }
            }
        }
        Ok(())
    }
}

impl ContainerdRuntime {
    /// The free-space check of this handle's pulls and imports.
    pub(crate) async fn free_space(&self) -> FreeSpace {
        let limits = &self.inner.disk;
        if limits.min_free_bytes == 0 {
            return FreeSpace::default();
        }
        if let Some(p) = &limits.free_space_path {
            return FreeSpace::new(vec![p.clone()], limits.min_free_bytes);
        }
        let found = self
            .inner
            .store_paths
            .get_or_try_init(|| self.store_paths())
            .await;
        match found {
            Ok(paths) => FreeSpace::new(paths.clone(), limits.min_free_bytes),
            Err(e) => {
                tracing::debug!(error = %e, "containerd's paths are unknown: free space not checked");
                FreeSpace::default()
            }
        }
    }

    /// The roots of containerd's content store and of our snapshotter, as its plugins
    /// export them, that exist here, one per file system.
    async fn store_paths(&self) -> Result<Vec<PathBuf>, RuntimeError> {
        let plugins = self
            .containerd()
            .introspection()
            .plugins(PluginsRequest::default())
            .await?
            .plugins;
        let mut out: Vec<(u64, PathBuf)> = Vec::new();
        for p in plugins {
            let wanted = p.r#type == "io.containerd.content.v1"
                || (p.r#type == "io.containerd.snapshotter.v1" && p.id == self.inner.snapshotter);
            let Some(root) = p.exports.get("root").filter(|_| wanted) else {
                continue;
            };
            let path = PathBuf::from(root);
            if let Ok(m) = std::fs::metadata(&path) {
                if !out.iter().any(|(dev, _)| *dev == m.dev()) {
                    out.push((m.dev(), path));
                }
            }
        }
        Ok(out.into_iter().map(|(_, p)| p).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_above_the_free_space_is_refused_with_the_numbers() {
        let dir = std::env::temp_dir();
        let free = available(&dir).unwrap();
        FreeSpace::new(vec![dir.clone()], 1)
            .check("testing")
            .unwrap();
        let err = FreeSpace::new(vec![dir.clone()], free + (1 << 40))
            .check("pulling x")
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::LimitExceeded);
        let text = err.to_string();
        assert!(text.contains("registry.min_free_bytes"), "{text}");
        assert!(text.contains(&dir.display().to_string()), "{text}");
        FreeSpace::new(vec![dir], 0).check("off").unwrap();
    }
}

//! How much Warren reads of what a registry or an archive controls. Every blob a pull or an
//! import holds in memory has a cap, and a layer is never taken past the size its
//! descriptor declares: a hostile or broken source can make a pull fail, never make this
//! process (or the content store) grow without bound.

/// The largest manifest or index read: 4 MiB, the size containerd reads at most when it
/// resolves a manifest and the one the distribution spec asks registries to accept.
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// The largest image config read: 8 MiB (real configs hold a few kilobytes; thousands of
/// history entries stay far below this).
pub const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

/// The largest table-of-contents file of an image archive (`index.json`, `manifest.json`,
/// `oci-layout`, `repositories`) read: 4 MiB, as for manifests.
pub const MAX_ARCHIVE_METADATA_BYTES: u64 = MAX_MANIFEST_BYTES;

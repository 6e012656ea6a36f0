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

/// The largest token-service answer read: 64 KiB. A bearer token and its JSON wrapping
/// take a few kilobytes; a token service that sends more is refused before it fills memory.
pub const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// The most of a registry's error answer (a non-2xx status) read: 64 KiB, so a registry
/// that answers 500 with an endless body cannot grow this process; the rest is dropped.
pub const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// How much of an error answer is quoted in the error message: its first 512 bytes.
pub const ERROR_MESSAGE_BYTES: usize = 512;

/// How long a connection to a registry (TCP and TLS) may take by default: 30 s
/// ([`RegistryOptions::connect_timeout`](crate::RegistryOptions::connect_timeout)).
pub const DEFAULT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a registry may stay silent by default while Warren waits for its answer or the
/// next bytes of a body: 60 s
/// ([`RegistryOptions::read_timeout`](crate::RegistryOptions::read_timeout)). An idle
/// timeout, not a total one: a large layer that arrives slowly but steadily never hits it.
pub const DEFAULT_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The most bytes one layer may unpack (decompress) to by default: 64 GiB
/// ([`DiskLimits::max_layer_unpacked_bytes`](crate::images::DiskLimits::max_layer_unpacked_bytes)).
pub const DEFAULT_MAX_LAYER_UNPACKED_BYTES: u64 = 64 << 30;

/// The most bytes all layers of one image may unpack to by default: 64 GiB
/// ([`DiskLimits::max_image_unpacked_bytes`](crate::images::DiskLimits::max_image_unpacked_bytes)).
pub const DEFAULT_MAX_IMAGE_UNPACKED_BYTES: u64 = 64 << 30;

/// The free space a pull or import leaves on containerd's file system by default: 1 GiB
/// ([`DiskLimits::min_free_bytes`](crate::images::DiskLimits::min_free_bytes)).
pub const DEFAULT_MIN_FREE_BYTES: u64 = 1 << 30;

/// How many bytes a download or an unpack writes between two free-space checks: 64 MiB.
pub const FREE_SPACE_CHECK_EVERY: u64 = 64 << 20;

// The tar reader's own limits are defined beside it; they are a part of this list.
pub use crate::tar_stream::{MAX_TAR_ENTRIES, MAX_TAR_EXTENSION_BYTES, MAX_TAR_EXTENSION_SIZE};

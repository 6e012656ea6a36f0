//! A bounded tar entry reader, for image layers (the applier) and image archives (import).
//!
//! The `tar` crate's `Archive::entries()` reads every PAX header and GNU long name or link
//! into memory whatever size it declares (a 16 MB gzip layer can declare a 16 GiB header),
//! expands GNU sparse maps, and refuses a stream that ends right after its last entry's
//! data. This reader instead:
//!
//! - reads the 512-byte headers itself (`tar::Header` only decodes their fields), folding
//!   PAX local (`x`) records, GNU long names (`L`) and long links (`K`) into the entry that
//!   follows; PAX global headers (`g`) are checked and ignored, as containerd ignores them;
//! - reads each extension's body only if its header declares at most
//!   [`TarLimits::max_extension_size`] (1 MiB, Go's cap), and counts them against
//!   [`TarLimits::max_extension_bytes`]; entries are capped by [`TarLimits::max_entries`];
//! - refuses sparse entries (GNU type `S`, PAX `GNU.sparse.*`) before reading their map;
//! - ends a stream as Go's archive/tar does: at an entry boundary, with or without the
//!   padding of the last entry's data and with or without the end-of-archive blocks, the
//!   stream is complete ([`End`] says which way it ended); inside a header, an extension's
//!   body or an entry's data, it is cut ([`TarError::Cut`]). A zero block followed by a
//!   second ends it; what comes after is not read.

mod block;
mod entry;
pub(crate) mod error;
mod pax;
mod reader;

pub(crate) use entry::EntryInfo;
pub(crate) use error::{limit_exceeded, TarError};
pub(crate) use reader::{End, TarStream};

/// The most entries one tar stream (a layer, an image archive) may hold: 1,000,000. Real
/// layers hold up to a few hundred thousand files; a stream of empty headers past this is
/// refused instead of being read for ever.
pub const MAX_TAR_ENTRIES: u64 = 1_000_000;

/// The most bytes of extension headers one tar stream may hold: 64 MiB, counting each PAX
/// (`x`, `g`) and GNU long name or link (`L`, `K`) header block and its body. Plain entry
/// headers are bounded by [`MAX_TAR_ENTRIES`]; this bounds the headers that yield no entry
/// (a stream of global headers) and the extension records parsed in all.
pub const MAX_TAR_EXTENSION_BYTES: u64 = 64 * 1024 * 1024;

/// The largest single extension header body (PAX records, a GNU long name or link): 1 MiB,
/// the cap of Go's `archive/tar` (what containerd and Docker read with). A header that
/// declares more is refused before a byte of its body is read or allocated.
pub const MAX_TAR_EXTENSION_SIZE: u64 = 1024 * 1024;

/// How much of a tar stream's metadata is read before it is refused with
/// [`TarError::Limit`]: what a hostile layer or archive can make Warren parse and hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TarLimits {
    /// Entries in the stream (extension headers not counted).
    pub max_entries: u64,
    /// Bytes of extension headers (header blocks and bodies) in the whole stream.
    pub max_extension_bytes: u64,
    /// Bytes of one extension header's body; also the most held in memory at once per kind
    /// of extension.
    pub max_extension_size: u64,
}

impl Default for TarLimits {
    /// [`MAX_TAR_ENTRIES`], [`MAX_TAR_EXTENSION_BYTES`], [`MAX_TAR_EXTENSION_SIZE`].
    fn default() -> Self {
        TarLimits {
            max_entries: MAX_TAR_ENTRIES,
            max_extension_bytes: MAX_TAR_EXTENSION_BYTES,
            max_extension_size: MAX_TAR_EXTENSION_SIZE,
        }
    }
}

#[cfg(test)]
mod tests;

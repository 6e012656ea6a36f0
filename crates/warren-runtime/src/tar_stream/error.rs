//! Why a tar stream could not be read, and how that reads as a [`RuntimeError`].

use crate::RuntimeError;

/// The limit names a [`TarError::Limit`] carries.
pub(crate) mod limit {
    /// [`TarLimits::max_entries`](super::super::TarLimits::max_entries).
    pub(crate) const ENTRIES: &str = "tar entry count limit";
    /// [`TarLimits::max_extension_bytes`](super::super::TarLimits::max_extension_bytes).
    pub(crate) const EXTENSION_BYTES: &str = "per-stream tar extension header bytes limit";
    /// [`TarLimits::max_extension_size`](super::super::TarLimits::max_extension_size).
    pub(crate) const EXTENSION_SIZE: &str = "tar extension header size limit";
}

/// What went wrong reading a tar stream. Entries are named by their path, or by their index
/// (`#0` is the first) when no name was read yet.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TarError {
    /// The input itself failed (a decompressor, the network, a file).
    #[error("reading the tar stream: {0}")]
    Io(#[source] std::io::Error),
    /// The stream ended inside an entry: inside its header, an extension header's body or
    /// its data (before the size it declares). A stream may end only between entries.
    #[error("the tar stream is cut inside entry {entry} ({part})")]
    Cut {
        /// The entry.
        entry: String,
        /// Where it ends: `its header`, `its extension header`, `its data`...
        part: &'static str,
    },
    /// A header that is not a valid tar header: wrong checksum, unreadable numbers, broken
    /// PAX records, a zero block followed by a header.
    #[error("tar entry {entry}: invalid header: {reason}")]
    Header {
        /// The entry.
        entry: String,
        /// What is wrong.
        reason: String,
    },
    /// One of the [`TarLimits`](super::TarLimits) was reached; nothing past it was read.
    #[error("tar entry {entry} reaches {found}, over the {limit} of {value}")]
    Limit {
        /// Which limit (one of [`limit`]'s names).
        limit: &'static str,
        /// Its value.
        value: u64,
        /// What the stream has or declares.
        found: u64,
        /// The entry.
        entry: String,
    },
    /// A sparse file (GNU type `S`, or PAX `GNU.sparse.*` records): not supported, refused
    /// before its map is read.
    #[error("tar entry {entry}: sparse files are not supported")]
    Sparse {
        /// The entry.
        entry: String,
    },
}

impl TarError {
    /// The error as a [`RuntimeError`] about `subject` (a layer, an archive): a limit is
    /// [`RuntimeError::LimitExceeded`], anything else what `other` makes of the message.
    pub(crate) fn into_runtime(
        self,
        subject: String,
        other: impl FnOnce(String) -> RuntimeError,
    ) -> RuntimeError {
        match self {
            TarError::Limit {
                limit,
                value,
                found,
                entry,
            } => limit_exceeded(subject, limit, value, found, &entry),
            e => other(e.to_string()),
        }
    }
}

/// The [`RuntimeError`] of a tar limit reached at `entry` of `subject`.
pub(crate) fn limit_exceeded(
    subject: String,
    limit: &'static str,
    value: u64,
    found: u64,
    entry: &str,
) -> RuntimeError {
    let setting = match limit {
        limit::ENTRIES => "images::limits::MAX_TAR_ENTRIES",
        limit::EXTENSION_BYTES => "images::limits::MAX_TAR_EXTENSION_BYTES",
        _ => "images::limits::MAX_TAR_EXTENSION_SIZE",
    };
    RuntimeError::LimitExceeded {
        subject,
        what: format!("tar entry {entry} reaches {found}"),
        limit,
        value: value.to_string(),
        setting,
    }
}

pub(super) fn cut(entry: String, part: &'static str) -> TarError {
    TarError::Cut { entry, part }
}

pub(super) fn invalid(entry: String, reason: String) -> TarError {
    TarError::Header { entry, reason }
}

pub(super) fn over(limit: &'static str, value: u64, found: u64, entry: String) -> TarError {
    TarError::Limit {
        limit,
        value,
        found,
        entry,
    }
}

//! Pull progress, as events a CLI can turn into one progress bar per layer.

use tokio::sync::mpsc::UnboundedSender;

use super::PullEvent;
use crate::RuntimeError;

/// One step of a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PullProgress {
    /// The image is resolved: these layers (digest, compressed size) will be pulled.
    Resolved {
        /// Each layer's digest and compressed size in bytes, bottom layer first.
        layers: Vec<(String, i64)>,
    },
    /// Bytes of one layer downloaded so far.
    Downloading {
        /// The layer's digest.
        digest: String,
        /// Bytes downloaded.
        done: u64,
        /// The layer's compressed size.
        total: u64,
    },
    /// A layer is in the content store.
    Downloaded {
        /// The layer's digest.
        digest: String,
        /// It was there already; nothing was downloaded.
        cached: bool,
    },
    /// A layer is unpacked into its snapshot.
    Unpacked {
        /// The layer's digest.
        digest: String,
    },
    /// The image record is written: the pull is complete.
    Done {
        /// The image's full name.
        name: String,
    },
}

/// Where a pull reports progress: the channel behind a [`super::PullStream`], or nowhere.
/// A receiver that went away is fine: the pull goes on.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProgressSink(pub(crate) Option<UnboundedSender<Result<PullEvent, RuntimeError>>>);

impl ProgressSink {
    pub(crate) fn send(&self, event: PullProgress) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(Ok(PullEvent::Progress(event)));
        }
    }
}

/// Report at most every this many bytes per layer.
pub(crate) const REPORT_EVERY: u64 = 256 * 1024;

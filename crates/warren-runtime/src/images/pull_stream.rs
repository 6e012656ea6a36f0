//! `pull_image_stream`: a pull as a stream of progress that ends with the image.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;

use super::progress::ProgressSink;
use super::{Image, PullOptions, PullProgress};
use crate::{ContainerdRuntime, RuntimeError};

/// One item of a [`PullStream`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PullEvent {
    /// A step of the pull: layers resolved, bytes downloaded, a layer unpacked.
    Progress(PullProgress),
    /// The pull is complete: the last item of a successful pull.
    Pulled(Box<Image>),
}

/// A pull under way: progress events in order, then [`PullEvent::Pulled`] with the image,
/// or one `Err` with what went wrong; then the stream ends.
///
/// The pull runs on its own task: dropping the stream does not cancel it (a pull is
/// undone or finished, never left half-way), and a later pull of the same image finds the
/// work done. Events wait in memory until they are read; a pull makes a few per layer and
/// one per 256 KiB downloaded, so a slow reader costs little.
#[derive(Debug)]
pub struct PullStream {
    rx: mpsc::UnboundedReceiver<Result<PullEvent, RuntimeError>>,
}

impl Stream for PullStream {
    type Item = Result<PullEvent, RuntimeError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl PullStream {
    /// Read the stream to its end, giving each progress event to `on_progress`; the image,
    /// or the pull's error.
    pub async fn finish(
        mut self,
        mut on_progress: impl FnMut(PullProgress),
    ) -> Result<Image, RuntimeError> {
        while let Some(item) = self.rx.recv().await {
            match item? {
                PullEvent::Progress(p) => on_progress(p),
                PullEvent::Pulled(image) => return Ok(*image),
            }
        }
        Err(RuntimeError::Interrupted {
            op: "pull",
            message: "the pull's task ended without a result".into(),
            source: None,
        })
    }
}

impl ContainerdRuntime {
    /// Pull `reference` as [`pull_image`](Self::pull_image) does, reporting as it goes: the
    /// stream yields [`PullEvent::Progress`] for each step (the layers, their bytes, each
    /// unpack) and ends with [`PullEvent::Pulled`], or with the error. Must be called
    /// within a tokio runtime.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use warren_runtime::{PullEvent, PullOptions, PullProgress};
    /// # async fn f(rt: warren_runtime::ContainerdRuntime) -> Result<(), warren_runtime::RuntimeError> {
    /// let mut pull = rt.pull_image_stream("busybox", &PullOptions::default());
    /// while let Some(event) = pull.next().await {
    ///     match event? {
    ///         PullEvent::Progress(PullProgress::Downloading { digest, done, total, .. }) => {
    ///             println!("{digest}: {done}/{total}")
    ///         }
    ///         PullEvent::Pulled(image) => println!("pulled {}", image.name),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pull_image_stream(&self, reference: &str, options: &PullOptions) -> PullStream {
        let (tx, rx) = mpsc::unbounded_channel();
        let runtime = self.clone();
        let reference = reference.to_string();
        let options = options.clone();
        tokio::spawn(async move {
            let sink = ProgressSink(Some(tx.clone()));
            let result = runtime.pull_reporting(&reference, &options, &sink).await;
            let _ = tx.send(result.map(|image| PullEvent::Pulled(Box::new(image))));
        });
        PullStream { rx }
    }
}

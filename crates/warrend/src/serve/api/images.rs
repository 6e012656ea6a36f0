//! Image calls: pull (with a progress stream), import, list, remove.

use std::path::Path;
use std::time::Instant;

use futures::StreamExt;
use tokio::sync::mpsc;
use tonic::Status;
use warren_proto::warren::node::v1 as api;
use warren_runtime::{ImportOptions, PullEvent, PullMode, PullOptions, PullProgress};

use super::Stream;
use crate::serve::errors::{status, ApiError};
use crate::serve::{convert, Daemon};

fn layer(digest: &str, done: u64, total: u64, phase: api::LayerPhase) -> api::PullEvent {
    api::PullEvent {
        event: Some(api::pull_event::Event::Layer(api::LayerProgress {
            digest: digest.to_string(),
            done,
            total,
            phase: phase.into(),
        })),
    }
}

fn progress_event(p: PullProgress) -> Vec<api::PullEvent> {
    match p {
        PullProgress::Resolved { layers } => layers
            .iter()
            .map(|(d, size)| layer(d, 0, (*size).max(0) as u64, api::LayerPhase::Resolved))
            .collect(),
        PullProgress::Downloading {
            digest,
            done,
            total,
        } => {
            vec![layer(&digest, done, total, api::LayerPhase::Downloading)]
        }
        PullProgress::Downloaded { digest, cached } => {
            vec![layer(
                &digest,
                0,
                0,
                if cached {
                    api::LayerPhase::Cached
                } else {
                    api::LayerPhase::Downloaded
                },
            )]
        }
        PullProgress::Unpacked { digest } => vec![layer(&digest, 0, 0, api::LayerPhase::Unpacked)],
        _ => vec![],
    }
}

/// Pull `reference`; the stream carries layer progress and ends with the image. The pull
/// goes on if the client leaves (a second pull then finds the content in place).
pub async fn pull(d: &Daemon, req: api::PullRequest) -> Result<Stream<api::PullEvent>, ApiError> {
    let mode = match api::PullMode::try_from(req.mode) {
        Ok(api::PullMode::Unspecified | api::PullMode::Auto) => PullMode::Auto,
        Ok(api::PullMode::Client) => PullMode::Client,
        Ok(api::PullMode::Server) => PullMode::Server,
        Err(_) => {
            return Err(
                crate::serve::convert::field_error(crate::spec::FieldError::new(
                    "mode",
                    req.mode,
                    "unknown value; one of PULL_MODE_AUTO, PULL_MODE_CLIENT, PULL_MODE_SERVER",
                ))
                .into(),
            )
        }
    };
    let (tx, rx) = mpsc::channel(64);
    let d = d.clone();
    let mut options = PullOptions::default().mode(mode);
    options.max_concurrent_downloads = d.config.registry.max_concurrent_downloads;
    let start = Instant::now();
    let mut pull = d.rt.pull_image_stream(&req.reference, &options);
    tokio::spawn(async move {
        while let Some(item) = pull.next().await {
            match item {
                Ok(PullEvent::Progress(p)) => {
                    for e in progress_event(p) {
                        let _ = tx.send(Ok(e)).await;
                    }
                }
                Ok(PullEvent::Pulled(image)) => {
                    d.metrics
                        .pull_duration
                        .observe(start.elapsed().as_secs_f64());
                    let done = api::pull_event::Event::Done(convert::image(&image));
                    let _ = tx.send(Ok(api::PullEvent { event: Some(done) })).await;
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Err(status(&d, "pull", e))).await;
                }
            }
        }
        crate::serve::trim_heap();
    });
    Ok(super::stream(rx))
}

/// Import an archive on the node.
pub async fn import(d: &Daemon, req: api::ImportRequest) -> Result<api::ImportResponse, ApiError> {
    if !Path::new(&req.path).is_absolute() {
        return Err(Status::invalid_argument(format!(
            "invalid path {:?}: the absolute path of an archive on the node",
            req.path
        ))
        .into());
    }
    let images =
        d.rt.import_archive(&req.path, &ImportOptions::default())
            .await
            .map_err(ApiError::runtime("import"))?;
    crate::serve::trim_heap();
    Ok(api::ImportResponse {
        images: images.iter().map(convert::image).collect(),
    })
}

/// Every image of the namespace.
pub async fn list(d: &Daemon) -> Result<api::ListImagesResponse, ApiError> {
    let names =
        d.rt.list_images()
            .await
            .map_err(ApiError::runtime("list images"))?;
    let images = futures::future::join_all(names.iter().map(|n| d.rt.get_image(n))).await;
    Ok(api::ListImagesResponse {
        // An image removed meanwhile, or one whose content is incomplete, is left out.
        images: images.iter().flatten().map(convert::image).collect(),
    })
}

/// Remove an image (its content and snapshots go with the next GC).
pub async fn remove(
    d: &Daemon,
    req: api::RemoveImageRequest,
) -> Result<api::RemoveImageResponse, ApiError> {
    d.rt.remove_image(&req.reference)
        .await
        .map_err(ApiError::runtime("remove image"))?;
    Ok(api::RemoveImageResponse {})
}

//! Image records: the named roots that keep an image's content and snapshots alive.

use warren_proto::containerd::services::images::v1::{
    CreateImageRequest, Image as ImageRecord, UpdateImageRequest,
};
use warren_proto::containerd::types::Descriptor;
use warren_proto::Clients;

use crate::RuntimeError;

/// Create the image record `name` → `target`, or point an existing one at `target`
/// (ALREADY_EXISTS → Update; Update NOT_FOUND, as when it was deleted meanwhile → Create).
pub async fn record(
    clients: &Clients,
    name: &str,
    target: &Descriptor,
) -> Result<(), RuntimeError> {
    let image = ImageRecord {
        name: name.to_string(),
        target: Some(target.clone()),
        ..Default::default()
    };
    for _ in 0..3 {
        let create = CreateImageRequest {
            image: Some(image.clone()),
            ..Default::default()
        };
        match clients.images().create(create).await {
            Ok(_) => return Ok(()),
            Err(s) if s.code() == tonic::Code::AlreadyExists => {}
            Err(s) => return Err(RuntimeError::daemon("Images.Create", s)),
        }
        let update = UpdateImageRequest {
            image: Some(image.clone()),
            ..Default::default()
        };
        match clients.images().update(update).await {
            Ok(_) => return Ok(()),
            Err(s) if s.code() == tonic::Code::NotFound => continue,
            Err(s) => return Err(RuntimeError::daemon("Images.Update", s)),
        }
    }
    Err(RuntimeError::daemon(
        "Images.Create",
        tonic::Status::aborted("image record kept changing"),
    ))
}

//! Image records: the named roots that keep an image's content and snapshots alive.

use crate::containerd::Containerd;
use warren_proto::containerd::services::images::v1::{
    CreateImageRequest, Image as ImageRecord, UpdateImageRequest,
};
use warren_proto::containerd::types::Descriptor;

use crate::{ErrorKind, RuntimeError};

/// Create the image record `name` → `target`, or point an existing one at `target`
/// (ALREADY_EXISTS → Update; Update NOT_FOUND, as when it was deleted meanwhile → Create).
pub(super) async fn record(
    clients: &Containerd,
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
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let update = UpdateImageRequest {
            image: Some(image.clone()),
            ..Default::default()
        };
        match clients.images().update(update).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_missing_object() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(RuntimeError::Daemon {
        op: "Images.Create",
        kind: ErrorKind::WrongState,
        message: "image record kept changing".into(),
        source: None,
    })
}

//! The Images service: image records (a name and its target descriptor).

use warren_proto::containerd::services::images::v1::*;

super::rpcs!(Images, images {
    /// One image record.
    retrying get(GetImageRequest) -> GetImageResponse = "Images.Get";
    /// Every image record of the namespace (optionally filtered).
    retrying list(ListImagesRequest) -> ListImagesResponse = "Images.List";
    /// Record a new image. Made once.
    once create(CreateImageRequest) -> CreateImageResponse = "Images.Create";
    /// Change an image record. Made once.
    once update(UpdateImageRequest) -> UpdateImageResponse = "Images.Update";
    /// Remove an image record (its content goes with the next GC).
    retrying delete(DeleteImageRequest) -> () = "Images.Delete";
});

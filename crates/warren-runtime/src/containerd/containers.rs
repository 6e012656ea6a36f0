//! The Containers service: container records (metadata; the process is a task).

use warren_proto::containerd::services::containers::v1::*;

super::rpcs!(Containers, containers {
    /// One container record.
    retrying get(GetContainerRequest) -> GetContainerResponse = "Containers.Get";
    /// Every container record of the namespace (optionally filtered).
    retrying list(ListContainersRequest) -> ListContainersResponse = "Containers.List";
    /// Record a new container. Made once.
    once create(CreateContainerRequest) -> CreateContainerResponse = "Containers.Create";
    /// Change the fields of a record that the update mask names.
    retrying update(UpdateContainerRequest) -> UpdateContainerResponse = "Containers.Update";
    /// Remove a record.
    retrying delete(DeleteContainerRequest) -> () = "Containers.Delete";
});

//! The Leases service: what keeps content and snapshots from containerd's GC while they are
//! being made.

use warren_proto::containerd::services::leases::v1::*;

super::rpcs!(Leases, leases {
    /// Create a lease (an id that exists already is refused as AlreadyExists).
    retrying create(CreateRequest) -> CreateResponse = "Leases.Create";
    /// Delete a lease (with `sync`, after the GC ran).
    retrying delete(DeleteRequest) -> () = "Leases.Delete";
});

//! The Diff service: applying a layer to a snapshot.

use warren_proto::containerd::services::diff::v1::*;

super::rpcs!(Diff, diff {
    /// Unpack a stored layer into the mounts of an active snapshot; answers with the
    /// descriptor of what was applied (its diff ID). Made once.
    once apply(ApplyRequest) -> ApplyResponse = "Diff.Apply";
});

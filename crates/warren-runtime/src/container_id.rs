//! A container's id: the check every operation makes before the id is used for anything,
//! and the error for one that does not exist. A leaf: containers and networking both use it.

use crate::RuntimeError;

/// Refuse an id containerd would refuse (letters, digits and single `.`, `_`, `-`; at most
/// 76 characters) before it is used for anything, a path under the state directory above
/// all: `../x` must never name a file outside it.
pub(crate) fn check_id(id: &str) -> Result<(), RuntimeError> {
    warren_proto::namespace::validate_identifier("container id", id)?;
    Ok(())
}

/// The error for container `id` that does not exist.
pub(crate) fn not_found(id: &str) -> RuntimeError {
    RuntimeError::NotFound {
        kind: "container",
        id: id.to_string(),
    }
}

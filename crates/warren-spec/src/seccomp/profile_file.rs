//! Reading a profile file safely: a path from a user may name a FIFO (whose open would wait
//! for a writer forever), a device, a directory or a huge file; none of these may hang or
//! exhaust the daemon.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::SpecError;

/// The largest profile file read, in bytes (1 MiB). Docker's default profile is about 20 KiB;
/// anything much bigger is a mistake, and is refused before it is read.
pub const MAX_PROFILE_BYTES: u64 = 1024 * 1024;

/// The contents of the regular file at `path`, at most [`MAX_PROFILE_BYTES`] long.
///
/// It is opened with `O_NONBLOCK` (a FIFO opens at once instead of waiting for a writer) and
/// `O_NOCTTY` (a terminal does not become the daemon's), then its type and size are checked
/// on the open file (`fstat`), so what is checked is what is read.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, SpecError> {
    let error = |reason: String| SpecError::SeccompProfile {
        path: path.to_path_buf(),
        reason,
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| error(format!("cannot open it: {e}")))?;
    let metadata = file
        .metadata()
        .map_err(|e| error(format!("cannot stat it: {e}")))?;
    if !metadata.is_file() {
        return Err(error(format!(
            "it is {}; a profile must be a regular file",
            crate::rootfs_file::describe(metadata.file_type())
        )));
    }
    if metadata.len() > MAX_PROFILE_BYTES {
        return Err(too_big(path, metadata.len()));
    }
    read_capped(file, metadata.len()).map_err(|e| match e {
        Capped::TooBig(len) => too_big(path, len),
        Capped::Io(e) => error(format!("cannot read it: {e}")),
    })
}

enum Capped {
    TooBig(u64),
    Io(std::io::Error),
}

/// Reads to the end, but never more than one byte past the cap (the file may grow after the
/// size check).
fn read_capped(file: File, expected: u64) -> Result<Vec<u8>, Capped> {
    let mut bytes = Vec::with_capacity(expected as usize);
    file.take(MAX_PROFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(Capped::Io)?;
    let len = bytes.len() as u64;
    if len > MAX_PROFILE_BYTES {
        return Err(Capped::TooBig(len));
    }
    Ok(bytes)
}

fn too_big(path: &Path, len: u64) -> SpecError {
    SpecError::SeccompProfile {
        path: path.to_path_buf(),
        reason: format!(
            "it is {len} bytes or more; a profile may be at most {MAX_PROFILE_BYTES} bytes (1 MiB)"
        ),
    }
}

//! Checks shared by every part of a request. Each returns a [`SpecError`] naming the field,
//! the value and what is allowed.

use std::path::{Component, Path};

use crate::SpecError;

/// No NUL bytes: they would silently truncate the value in the kernel's C strings.
pub(crate) fn no_nul(field: &'static str, value: &str) -> Result<(), SpecError> {
    if value.contains('\0') {
        return Err(SpecError::value(field, value, "contains a NUL byte"));
    }
    Ok(())
}

/// An absolute path without `..` components or NUL bytes.
pub(crate) fn absolute(field: &'static str, path: &Path) -> Result<(), SpecError> {
    let text = path.to_string_lossy();
    if text.contains('\0') {
        return Err(SpecError::path(field, path, "contains a NUL byte"));
    }
    if !path.is_absolute() {
        return Err(SpecError::path(field, path, "must be an absolute path"));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(SpecError::path(field, path, "must not contain `..`"));
    }
    Ok(())
}

/// Where nothing may be mounted over: the kernel filesystems the runtime sets up.
const SHADOW_FORBIDDEN: &[&str] = &["/proc", "/sys", "/dev"];

/// A mount destination: absolute, clean, not `/`, not over `/proc`, `/sys` or `/dev`.
pub(crate) fn destination(field: &'static str, path: &Path) -> Result<(), SpecError> {
    absolute(field, path)?;
    if path == Path::new("/") {
        return Err(SpecError::path(
            field,
            path,
            "must not be the container's root",
        ));
    }
    for forbidden in SHADOW_FORBIDDEN {
        if path.starts_with(forbidden) {
            return Err(SpecError::path(
                field,
                path,
                format!("must not shadow {forbidden} or anything under it"),
            ));
        }
    }
    Ok(())
}

/// containerd's identifier rule for ids: alphanumeric runs joined by single `.`, `_` or `-`,
/// at most 76 characters.
pub(crate) fn identifier(field: &'static str, value: &str) -> Result<(), SpecError> {
    let ok = !value.is_empty()
        && value.len() <= 76
        && value
            .split(['.', '_', '-'])
            .all(|run| !run.is_empty() && run.chars().all(|c| c.is_ascii_alphanumeric()));
    if !ok {
        return Err(SpecError::value(
            field,
            value,
            "letters and digits joined by single '.', '_' or '-', at most 76 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert!(destination("volume", Path::new("/data")).is_ok());
        for bad in [
            "data",
            "/a/../b",
            "/",
            "/proc",
            "/proc/sys",
            "/sys",
            "/dev/shm",
            "/x\0y",
        ] {
            assert!(destination("volume", Path::new(bad)).is_err(), "{bad}");
        }
        assert!(destination("volume", Path::new("/procfs")).is_ok());
    }

    #[test]
    fn identifiers() {
        assert!(identifier("id", "web-1.a_b").is_ok());
        for bad in ["", "-a", "a--b", "a/b", "ä"] {
            assert!(identifier("id", bad).is_err(), "{bad}");
        }
    }
}

//! The names a layer may use: relative paths that stay inside the snapshot.

use std::path::{Component, Path, PathBuf};

use super::ApplyError;

/// `name` as a path relative to the snapshot root: a leading `/` or `./` is dropped,
/// repeated and trailing slashes and `.` components are ignored. A `..` component is
/// refused, wherever it is: containerd clamps it at the root, which hides a hostile or broken
/// layer; no honest layer writer produces one.
pub(crate) fn relative(name: &Path) -> Result<PathBuf, ApplyError> {
    let mut out = PathBuf::new();
    for c in name.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                return Err(ApplyError::UnsafeName {
                    name: name.to_path_buf(),
                    reason: "it has a `..` component",
                })
            }
            Component::Prefix(_) => {
                return Err(ApplyError::UnsafeName {
                    name: name.to_path_buf(),
                    reason: "it has a path prefix",
                })
            }
        }
    }
    Ok(out)
}

/// The parent (possibly empty: the root) and the last component of a non-empty relative
/// path.
pub(crate) fn split(rel: &Path) -> (&Path, &std::ffi::OsStr) {
    let base = rel
        .file_name()
        .expect("a relative path with a last component");
    (rel.parent().unwrap_or(Path::new("")), base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_relative_and_dot_dot_is_refused() {
        for (name, want) in [
            ("a/b", "a/b"),
            ("/a/b/", "a/b"),
            ("./a//./b", "a/b"),
            ("./", ""),
            ("/", ""),
        ] {
            assert_eq!(
                relative(Path::new(name)).unwrap(),
                Path::new(want),
                "{name}"
            );
        }
        for name in ["../x", "a/../../x", "a/..", ".."] {
            let err = relative(Path::new(name)).unwrap_err();
            assert!(err.to_string().contains("`..`"), "{name}: {err}");
        }
    }

    #[test]
    fn split_gives_parent_and_base() {
        assert_eq!(split(Path::new("a/b/c")), (Path::new("a/b"), "c".as_ref()));
        assert_eq!(split(Path::new("c")), (Path::new(""), "c".as_ref()));
    }
}

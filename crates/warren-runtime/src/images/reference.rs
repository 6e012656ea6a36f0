//! Image references, normalised the way users expect (`busybox` is
//! `docker.io/library/busybox:latest`), and the image-record names containerd and `ctr` use.

use oci_client::Reference;

use crate::RuntimeError;

/// Normalise a reference the way users expect: `busybox` → `docker.io/library/busybox:latest`.
pub fn normalize(reference: &str) -> Result<Reference, RuntimeError> {
    let bad = |reason: String| RuntimeError::InvalidReference {
        reference: reference.to_string(),
        reason,
    };
    if reference.is_empty() || reference.contains(char::is_whitespace) || reference.contains('\0') {
        return Err(bad("must be non-empty, without spaces or NUL bytes".into()));
    }
    reference.parse::<Reference>().map_err(|e| {
        bad(format!(
            "{e}; expected [host[:port]/]name[:tag][@sha256:digest]"
        ))
    })
}

/// The name an image record gets: the fully qualified reference.
pub fn image_name(reference: &Reference) -> String {
    let registry = match reference.registry() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        r => r,
    };
    let mut name = format!("{registry}/{}", reference.repository());
    if let Some(tag) = reference.tag() {
        name.push(':');
        name.push_str(tag);
    }
    if let Some(d) = reference.digest() {
        name.push('@');
        name.push_str(d);
    }
    if reference.tag().is_none() && reference.digest().is_none() {
        name.push_str(":latest");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        let n = |r| image_name(&normalize(r).unwrap());
        assert_eq!(n("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(n("library/busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(
            n("127.0.0.1:5000/warren/busybox:v1"),
            "127.0.0.1:5000/warren/busybox:v1"
        );
        let d = format!("127.0.0.1:5000/x@sha256:{}", "a".repeat(64));
        assert_eq!(n(&d), d);
        for bad in ["", "a b", "UPPER/Case", "x:y:z:w", "x@sha256:short"] {
            assert!(normalize(bad).is_err(), "{bad}");
        }
    }
}

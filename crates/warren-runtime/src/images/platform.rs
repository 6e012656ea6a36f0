//! Choosing a manifest from a multi-platform image.

use std::fmt;

use oci_spec::image::Descriptor;

/// An OCI platform: os, architecture and optional variant (e.g. `linux/arm64/v8`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// The operating system, e.g. `linux`.
    pub os: String,
    /// The CPU architecture in OCI's names, e.g. `amd64`, `arm64`.
    pub architecture: String,
    /// The architecture's variant, e.g. `v8` for `arm64`, `v7` for `arm`.
    pub variant: Option<String>,
}

impl Platform {
    /// This host's platform, in OCI's names (`x86_64` is `amd64`, `aarch64` is `arm64`).
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// The first manifest of `manifests` for this platform (a variant, when we name one,
    /// must match too).
    pub fn choose<'a>(&self, manifests: &'a [Descriptor]) -> Option<&'a Descriptor> {
        manifests.iter().find(|m| {
            m.platform().as_ref().is_some_and(|p| {
                p.os().to_string() == self.os
                    && p.architecture().to_string() == self.architecture
                    && match &self.variant {
                        None => true,
                        Some(v) => p.variant().as_deref() == Some(v.as_str()),
                    }
            })
        })
    }

    /// The platforms of `manifests`, for error messages.
    pub fn list(manifests: &[Descriptor]) -> String {
        let names: Vec<String> = manifests
            .iter()
            .filter_map(|m| m.platform().as_ref())
            .map(|p| format!("{}/{}", p.os(), p.architecture()))
            .collect();
        if names.is_empty() {
            "no platforms".into()
        } else {
            names.join(", ")
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

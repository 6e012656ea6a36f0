//! Talking to registries through `oci-client`: references, protocol and credentials.

use std::collections::BTreeMap;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::RuntimeError;

/// Per-registry settings.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Registries (`host[:port]`) spoken to over plain HTTP. Loopback registries on a port
    /// other than 443 are always plain HTTP, as containerd does.
    pub plain_http: Vec<String>,
    /// Basic-auth credentials per registry host (`host[:port]` → (user, password)); they are
    /// also used to obtain bearer tokens.
    pub credentials: BTreeMap<String, (String, String)>,
}

impl RegistryOptions {
    /// A client for `reference`'s registry: plain HTTP where configured, and (as containerd
    /// does) for a loopback registry on a port other than 443.
    pub(crate) fn client(&self, reference: &Reference) -> Client {
        let mut http: Vec<String> = self.plain_http.clone();
        let registry = reference.registry();
        let (host, port) = match registry.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p)),
            _ => (registry, None),
        };
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        if loopback && port.is_some_and(|p| p != "443") {
            http.push(registry.to_string());
        }
        Client::new(ClientConfig {
            protocol: ClientProtocol::HttpsExcept(http),
            ..Default::default()
        })
    }

    pub(crate) fn auth(&self, reference: &Reference) -> RegistryAuth {
        match self.credentials.get(reference.registry()) {
            Some((u, p)) => RegistryAuth::Basic(u.clone(), p.clone()),
            None => RegistryAuth::Anonymous,
        }
    }
}

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

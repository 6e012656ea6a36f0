//! Fetching manifests and indexes with a size cap.
//!
//! `oci-client` reads a manifest response whole, however long it is, so a registry that
//! never ends its response would grow this process without bound. Manifests are therefore
//! fetched through our own [`Session`] and read at most [`MAX_MANIFEST_BYTES`] (plus one
//! to notice more).

use std::time::Duration;

use oci_client::Reference;
use sha2::{Digest, Sha256};

use super::http::{Clock, ReadError};
use super::limits::MAX_MANIFEST_BYTES;
use super::session::Session;
use crate::{ContainerdRuntime, RuntimeError};

/// What we accept when resolving a reference: every manifest and index type we can pull.
pub(crate) const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// A manifest (or index) as the registry sent it.
pub(crate) struct Fetched {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Their sha256 digest (checked against the one asked for, or the registry's
    /// `Docker-Content-Digest`).
    pub digest: String,
}

/// Fetches the manifests of one repository through one authorized session.
pub(crate) struct ManifestFetcher {
    session: std::sync::Arc<Session>,
}

impl ManifestFetcher {
    /// Authorize against `r`'s repository for pulling; every request of the pull must be
    /// over by `deadline` from now, when given.
    pub(crate) async fn new(
        rt: &ContainerdRuntime,
        r: &Reference,
        deadline: Option<Duration>,
    ) -> Result<Self, RuntimeError> {
        let options = &rt.inner.registry;
        let clock = Clock {
            idle: options.read_timeout,
            connect: options.connect_timeout,
            deadline: deadline.map(|d| (tokio::time::Instant::now() + d, d)),
        };
        let session = Session::open(rt, r, clock).await?;
        Ok(ManifestFetcher {
            session: std::sync::Arc::new(session),
        })
    }

    /// The session, for the pull's blob requests.
    pub(crate) fn session(&self) -> &std::sync::Arc<Session> {
        &self.session
    }

    /// The manifest `r` names (by its digest if it has one, else by its tag), read at most
    /// [`MAX_MANIFEST_BYTES`]; for a digest reference, its bytes must hash to that digest.
    pub(crate) async fn fetch(
        &self,
        r: &Reference,
        op: &'static str,
    ) -> Result<Fetched, RuntimeError> {
        let target = r.digest().or(r.tag()).unwrap_or("latest");
        let s = &self.session;
        let accept = MANIFEST_TYPES.join(", ");
        let response = s
            .get(op, &format!("manifests/{target}"), Some(&accept), None)
            .await
            .map_err(|e| match e {
                RuntimeError::UnknownImage {
                    message, source, ..
                } => RuntimeError::UnknownImage {
                    reference: r.whole(),
                    message,
                    source,
                },
                e => e,
            })?;
        let announced = response
            .headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let declared = response.content_length;
        let bytes = response
            .read_capped(&s.clock, MAX_MANIFEST_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::Over => RuntimeError::TooLarge {
                    what: "manifest",
                    subject: r.whole(),
                    limit: MAX_MANIFEST_BYTES,
                    detail: match declared.filter(|l| *l > MAX_MANIFEST_BYTES) {
                        Some(len) => format!(" (the registry declares {len} bytes)"),
                        None => String::new(),
                    },
                },
                ReadError::Failed(f) => f.into_error(op, &s.registry),
            })?;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        let expected = r.digest().map(str::to_string).or(announced);
        if let Some(expected) = expected.filter(|e| e.starts_with("sha256:")) {
            if expected != digest {
                return Err(RuntimeError::DigestMismatch {
                    reference: r.whole(),
                    digest: expected,
                    message: format!("the manifest's bytes hash to {digest}"),
                    source: None,
                });
            }
        }
        Ok(Fetched { bytes, digest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_registry_that_is_not_there_is_unreachable() {
        let rt = ContainerdRuntime::new("/nonexistent/containerd.sock").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = crate::images::reference::normalize(&format!("127.0.0.1:{port}/a/b:c")).unwrap();
        let err = match ManifestFetcher::new(&rt, &r, None).await {
            Ok(f) => f.fetch(&r, "resolving").await.err().unwrap(),
            Err(e) => e,
        };
        assert!(
            matches!(err, RuntimeError::RegistryUnreachable { .. }),
            "{err:?}"
        );
    }
}

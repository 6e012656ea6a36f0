//! Fetching manifests and indexes with a size cap.
//!
//! `oci-client` reads a manifest response whole, however long it is, so a registry that
//! never ends its response would grow this process without bound. Manifests are therefore
//! fetched here, with the same client's authentication (`Client::auth` gives the bearer
//! token, or nothing for basic-auth registries, which get our credentials directly) and
//! read at most [`MAX_MANIFEST_BYTES`] (plus one to notice more).

use std::sync::OnceLock;

use futures::StreamExt;
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use sha2::{Digest, Sha256};

use super::limits::MAX_MANIFEST_BYTES;
use super::pull::MANIFEST_TYPES;
use super::registry::classify;
use crate::{ContainerdRuntime, RuntimeError};

/// A manifest (or index) as the registry sent it.
pub(crate) struct Fetched {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Their sha256 digest (checked against the one asked for, or the registry's
    /// `Docker-Content-Digest`).
    pub digest: String,
}

/// Fetches the manifests of one repository with one authorization.
pub(crate) struct ManifestFetcher {
    http: reqwest::Client,
    scheme: &'static str,
    authorization: Authorization,
}

/// How requests are authorized.
enum Authorization {
    None,
    Bearer(String),
    Basic(String, String),
}

/// One HTTP client for every manifest fetch of this process: building one (TLS roots, a
/// connection pool) costs tens of milliseconds.
fn http() -> Result<reqwest::Client, RuntimeError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c.clone());
    }
    let client = reqwest::Client::builder()
        .user_agent(concat!("warren-runtime/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| RuntimeError::Registry {
            op: "setting up the registry client",
            reference: String::new(),
            message: e.to_string(),
        })?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

impl ManifestFetcher {
    /// Authorize against `r`'s repository for pulling.
    pub async fn new(rt: &ContainerdRuntime, r: &Reference) -> Result<Self, RuntimeError> {
        let registry = rt.registry_client(r);
        let auth = rt.inner.registry.auth(r);
        let token = registry
            .auth(r, &auth, RegistryOperation::Pull)
            .await
            .map_err(|e| classify("authorizing", r, e))?;
        let authorization = match (token, auth) {
            (Some(token), _) => Authorization::Bearer(token),
            (None, RegistryAuth::Basic(user, password)) => Authorization::Basic(user, password),
            (None, _) => Authorization::None,
        };
        Ok(ManifestFetcher {
            http: http()?,
            scheme: if rt.inner.registry.is_plain_http(r) {
                "http"
            } else {
                "https"
            },
            authorization,
        })
    }

    /// The manifest `r` names (by its digest if it has one, else by its tag), read at most
    /// [`MAX_MANIFEST_BYTES`]; for a digest reference, its bytes must hash to that digest.
    pub async fn fetch(&self, r: &Reference, op: &'static str) -> Result<Fetched, RuntimeError> {
        let target = r.digest().or(r.tag()).unwrap_or("latest");
        let url = format!(
            "{}://{}/v2/{}/manifests/{target}",
            self.scheme,
            r.resolve_registry(),
            r.repository()
        );
        let mut request = self
            .http
            .get(&url)
            .header(reqwest::header::ACCEPT, MANIFEST_TYPES.join(", "));
        request = match &self.authorization {
            Authorization::None => request,
            Authorization::Bearer(token) => request.bearer_auth(token),
            Authorization::Basic(user, password) => request.basic_auth(user, Some(password)),
        };
        let unreachable = |e: reqwest::Error| RuntimeError::RegistryUnreachable {
            op,
            registry: r.registry().to_string(),
            message: error_chain(&e),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        if !status.is_success() {
            let reason = format!("{url} answered {status}");
            return Err(match status.as_u16() {
                401 | 403 => RuntimeError::Unauthorized {
                    op,
                    registry: r.registry().to_string(),
                    message: reason,
                },
                404 => RuntimeError::UnknownImage {
                    reference: r.whole(),
                    message: reason,
                },
                _ => RuntimeError::Registry {
                    op,
                    reference: r.whole(),
                    message: reason,
                },
            });
        }
        let too_large = |detail: String| RuntimeError::TooLarge {
            what: "manifest",
            subject: r.whole(),
            limit: MAX_MANIFEST_BYTES,
            detail,
        };
        if let Some(len) = response
            .content_length()
            .filter(|l| *l > MAX_MANIFEST_BYTES)
        {
            return Err(too_large(format!(" (the registry declares {len} bytes)")));
        }
        let announced = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = response.bytes_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(unreachable)?;
            if (bytes.len() + chunk.len()) as u64 > MAX_MANIFEST_BYTES {
                return Err(too_large(String::new()));
            }
            bytes.extend_from_slice(&chunk);
        }
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        let expected = r.digest().map(str::to_string).or(announced);
        if let Some(expected) = expected.filter(|e| e.starts_with("sha256:")) {
            if expected != digest {
                return Err(RuntimeError::DigestMismatch {
                    reference: r.whole(),
                    digest: expected,
                    message: format!("the manifest's bytes hash to {digest}"),
                });
            }
        }
        Ok(Fetched { bytes, digest })
    }
}

/// An error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
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
        let err = match ManifestFetcher::new(&rt, &r).await {
            Ok(f) => f.fetch(&r, "resolving").await.err().unwrap(),
            Err(e) => e,
        };
        assert!(
            matches!(err, RuntimeError::RegistryUnreachable { .. }),
            "{err:?}"
        );
    }
}
